-- lead_scoring.suggest_model(model) (doc/eval.md) on a synthetic CRM whose
-- hand-set points are wrong: the suggestion validates, can be inserted, and
-- its holdout AUC is at least the current model's. Every AUC it reports is
-- checked against the extension's public scoring functions over the same
-- leads, and its output names what it learned.
SET extra_float_digits = 0;
-- Errors are shown with their SQLSTATE (psql's LAST_ERROR_SQLSTATE).
\set SHOW_CONTEXT never
-- A deterministic pseudo-random number in [0, 1) per (i, salt).
CREATE FUNCTION pg_temp.u(i int, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE AS
    $$ SELECT (abs(hashint4(i * 7919 + salt)) % 100000) / 100000.0 $$;

CREATE SCHEMA crm2;
-- Lead i becomes "ready" at t_i; its events happen in the two weeks before;
-- software companies and leads that request a demo convert at t_i + 5 days.
-- The gold tier, which the hand model rewards, makes no difference. tier is a
-- char(8) column: refresh reads it as fit_score's row form does ('gold', not
-- 'gold    '), and so must suggest_model.
CREATE TABLE crm2.leads AS
SELECT i AS id, CASE WHEN pg_temp.u(i, 1) < 0.35 THEN 'Software' ELSE 'Retail' END AS industry,
       jsonb_build_object('country', CASE WHEN pg_temp.u(i, 2) < 0.5 THEN 'US' ELSE 'DE' END) AS props,
       timestamptz '2025-01-01 00:00+00' + (pg_temp.u(i, 3) * 365) * interval '1 day' AS t,
       (CASE WHEN pg_temp.u(i, 4) < 0.3 THEN 'gold' ELSE 'basic' END)::char(8) AS tier
FROM generate_series(1, 800) i;
CREATE TABLE crm2.events AS
SELECT l.id AS lead_id, ty AS event_type, l.t - (pg_temp.u(l.id, 10 + n) * 14) * interval '1 day' AS occurred_at
FROM crm2.leads l,
     LATERAL (VALUES ('demo_request', 0.3), ('page_view', 0.9), ('page_view', 0.6), ('newsletter', 0.7), ('webinar', 0.4))
             v(ty, p) , generate_series(1, 1) n
WHERE pg_temp.u(l.id, length(ty) * 31 + (p * 100)::int) < p;
CREATE TABLE crm2.deals AS
SELECT l.id AS lead_id, l.t + interval '5 days' AS won_at
FROM crm2.leads l
WHERE -2.2 + 1.8 * (l.industry = 'Software')::int
      + 2.5 * (EXISTS (SELECT 1 FROM crm2.events e WHERE e.lead_id = l.id AND e.event_type = 'demo_request'))::int
      + 0.5 * (EXISTS (SELECT 1 FROM crm2.events e WHERE e.lead_id = l.id AND e.event_type = 'page_view'))::int
      > 4 * (pg_temp.u(l.id, 99) - 0.5);
-- A site tracker switched on in July 2025 (after the training date, before the
-- holdout date, both checked below): bursts of 8 to 17 site visits from a
-- quarter of the leads that never convert. In training every lead has 0 of
-- them, so their learned points are 0; "*" is worth points in the hand model.
INSERT INTO crm2.events
SELECT l.id, 'site_visit', timestamptz '2025-07-01 00:00+00' + pg_temp.u(l.id * 100 + n, 6) * 60 * interval '1 day'
FROM crm2.leads l, generate_series(1, 17) n
WHERE pg_temp.u(l.id, 5) < 0.25 AND n <= 8 + (pg_temp.u(l.id, 7) * 10)::int
  AND NOT EXISTS (SELECT 1 FROM crm2.deals d WHERE d.lead_id = l.id);
SELECT count(*) AS leads, (SELECT count(*) FROM crm2.deals) AS deals,
       (SELECT count(*) FROM crm2.events) AS events,
       (SELECT count(*) FROM crm2.events WHERE event_type = 'site_visit') AS site_visits
FROM crm2.leads;

-- Hand-set points that overvalue the country and the newsletter.
INSERT INTO lead_scoring.model (name, spec) VALUES ('hand', '{
  "description": "hand-set points, spring 2025",
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 5, "label": "software"},
                    {"field": "country", "eq": "us", "points": 30, "label": "US"},
                    {"field": "industry", "eq": "mining", "points": 10, "label": "never matches"},
                    {"field": "tier", "eq": "gold", "points": 10, "label": "gold tier"}]},
  "activity": {"events": {"demo_request": {"points": 5}, "page_view": {"points": 10, "cap": 15},
                          "newsletter": {"points": 20}, "site_visit": {"points": 1}, "*": {"points": 3}},
               "decay": {"kind": "exponential", "half_life": "30 days"}},
  "stages": [{"stage": "SQL", "min_score": 40}],
  "source": {"leads": {"table": "crm2.leads", "id": "id", "properties": "props"},
             "events": {"table": "crm2.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
             "conversions": {"table": "crm2.deals", "lead_id": "lead_id", "time": "won_at"}}
}');

CREATE TEMP TABLE s AS SELECT lead_scoring.suggest_model('hand') AS r;
SELECT (r->'holdout_auc'->>'suggested')::float8 >= (r->'holdout_auc'->>'current')::float8 AS suggested_at_least_current,
       (r->'holdout_auc'->>'suggested')::float8 > 0.75 AS suggested_is_good,
       lead_scoring.validate_model(r->'spec') AS spec_valid,
       (r->'fit'->>'converged')::boolean AS converged,
       r->'dropped_rules' @> '[{"rule": 2}]' AS never_matching_rule_dropped,
       NOT r->'dropped_rules' @> '[{"rule": 0}]' AS software_kept,
       NOT r->'dropped_rules' @> '[{"rule": 3}]' AS gold_tier_kept,
       r->'spec'->'activity'->'events'->'demo_request'->'points' > r->'spec'->'activity'->'events'->'newsletter'->'points'
           OR NOT r->'spec'->'activity'->'events' ? 'newsletter' AS demo_beats_newsletter,
       r->'spec'->'source' = (SELECT spec->'source' FROM lead_scoring.model WHERE name = 'hand') AS source_kept
FROM s;
-- What it found (for the reader; the assertions are above and below).
SELECT round((r->'holdout_auc'->>'current')::numeric, 3) AS auc_current,
       round((r->'holdout_auc'->>'suggested')::numeric, 3) AS auc_suggested,
       jsonb_path_query_array(r->'dropped_rules', '$[*].label') AS dropped_rules, r->'dropped_events' AS dropped_events,
       r->'spec'->'fit'->'rules' AS rules, r->'spec'->'activity'->'events' AS events
FROM s;
-- The split: 40% and 70% quantiles of the conversion times; the site visits
-- all fall between the training and the holdout dates.
SELECT (r->'train'->>'as_of')::timestamptz = (SELECT percentile_disc(0.4) WITHIN GROUP (ORDER BY won_at) FROM crm2.deals) AS train_date_ok,
       (r->'holdout'->>'as_of')::timestamptz = (SELECT percentile_disc(0.7) WITHIN GROUP (ORDER BY won_at) FROM crm2.deals) AS holdout_date_ok,
       (SELECT min(occurred_at) > (r->'train'->>'as_of')::timestamptz AND max(occurred_at) < (r->'holdout'->>'as_of')::timestamptz
          FROM crm2.events WHERE event_type = 'site_visit') AS site_visits_after_training
FROM s;

-- A type whose learned points are 0 scores 0 in the suggested spec, though
-- the spec keeps "*" with points (it would otherwise score as "*"): one site
-- visit now, and 17 of them, activity_score of the spec itself.
SELECT (r->'spec'->'activity'->'events'->'*'->>'points')::float8 <> 0 AS wildcard_has_points,
       r->'dropped_events' ? 'site_visit' AS site_visit_listed_as_dropped,
       (SELECT lead_scoring.activity_score(q.spec, 'site_visit', timestamptz '2025-09-01 00:00+00',
                                           timestamptz '2025-09-01 00:00+00')
          FROM (SELECT r->'spec' AS spec FROM s) q) AS one_visit,
       (SELECT lead_scoring.activity_score(q.spec, 'site_visit', timestamptz '2025-09-01 00:00+00' - n * interval '1 hour',
                                           timestamptz '2025-09-01 00:00+00')
          FROM generate_series(1, 17) n, (SELECT r->'spec' AS spec FROM s) q) AS seventeen_visits
FROM s;

-- Both holdout AUCs recomputed here with the public scoring functions over the
-- holdout leads, chosen independently: known by the holdout date (an event on
-- or before it), not converted before it; label = converted on or after it;
-- score = score(spec, fit_score(spec, lead row), activity_score(spec, its
-- events as of the holdout date)), as refresh scores.
CREATE TEMP TABLE pop AS
SELECT l.id, EXISTS (SELECT 1 FROM crm2.deals dl WHERE dl.lead_id = l.id AND dl.won_at >= h.d) AS y
FROM crm2.leads l, (SELECT (r->'holdout'->>'as_of')::timestamptz AS d FROM s) h
WHERE EXISTS (SELECT 1 FROM crm2.events e WHERE e.lead_id = l.id AND e.occurred_at <= h.d)
  AND NOT EXISTS (SELECT 1 FROM crm2.deals dl WHERE dl.lead_id = l.id AND dl.won_at < h.d);
WITH specs(which, spec) AS (
    SELECT 'current', (SELECT spec FROM lead_scoring.model WHERE name = 'hand') UNION ALL
    SELECT 'suggested', r->'spec' FROM s
), scored AS (
    SELECT sp.which, p.y,
           lead_scoring.score(sp.spec, lead_scoring.fit_score(sp.spec, l),
               (SELECT lead_scoring.activity_score(sp.spec, e.event_type, e.occurred_at, h.d)
                  FROM crm2.events e WHERE e.lead_id = p.id AND e.occurred_at <= h.d)) AS score
    FROM specs sp CROSS JOIN pop p JOIN crm2.leads l ON l.id = p.id,
         (SELECT (r->'holdout'->>'as_of')::timestamptz AS d FROM s) h
)
SELECT which, count(*) = (SELECT (r->'holdout'->>'leads')::bigint FROM s) AS holdout_size_matches,
       abs(lead_scoring.auc(score, y) - (SELECT (r->'holdout_auc'->>which)::float8 FROM s)) < 1e-9 AS auc_matches
FROM scored GROUP BY which ORDER BY which;

-- The current model's holdout AUC once more, in plain SQL: fit rules by hand
-- (the char(8) tier compared trimmed, as the rules see it) + 2^(-age/30 days)
-- decayed points with the page_view cap; pairs counted by hand.
WITH h AS (SELECT (r->'holdout'->>'as_of')::timestamptz AS d FROM s),
lab AS (
    SELECT p.id, p.y, CASE WHEN l.industry = 'Software' THEN 5 ELSE 0 END + CASE WHEN l.props->>'country' = 'US' THEN 30 ELSE 0 END
                      + CASE WHEN rtrim(l.tier) = 'gold' THEN 10 ELSE 0 END AS fit
    FROM pop p JOIN crm2.leads l ON l.id = p.id
), act AS (
    SELECT e.lead_id, e.event_type,
           sum(CASE e.event_type WHEN 'demo_request' THEN 5 WHEN 'page_view' THEN 10 WHEN 'newsletter' THEN 20
                                 WHEN 'site_visit' THEN 1 ELSE 3 END
               * 2 ^ (-(extract(epoch FROM h.d) - extract(epoch FROM e.occurred_at)) / (30 * 86400))) AS p
    FROM crm2.events e CROSS JOIN h WHERE e.occurred_at <= h.d GROUP BY 1, 2
), score AS (
    SELECT lab.id, lab.y, lab.fit + coalesce(sum(CASE WHEN a.event_type = 'page_view' THEN least(a.p, 15) ELSE a.p END), 0) AS sc
    FROM lab LEFT JOIN act a ON a.lead_id = lab.id GROUP BY lab.id, lab.y, lab.fit
)
SELECT abs((SELECT sum(CASE WHEN p.sc > n.sc THEN 1 WHEN p.sc = n.sc THEN 0.5 ELSE 0 END)::float8 / count(*)
            FROM score p, score n WHERE p.y AND NOT n.y)
           - (r->'holdout_auc'->>'current')::float8) < 1e-9 AS current_auc_matches_plain_sql
FROM s;

-- Usable by a person. Every coefficient is named: the fitted features are the
-- rules ($.fit.rules[i]), then the event types in name order, then "*".
SELECT jsonb_path_query_array(r->'fit'->'coef', '$[*].feature')
           = '["$.fit.rules[0]", "$.fit.rules[1]", "$.fit.rules[2]", "$.fit.rules[3]",
               "$.activity.events.demo_request", "$.activity.events.newsletter", "$.activity.events.page_view",
               "$.activity.events.site_visit", "$.activity.events.\"*\""]'::jsonb
           OR r->'selection'->'chosen'->>'features' <> 'all' AS coef_named,
       jsonb_array_length(r->'features') = 9 AS every_feature_listed,
       (SELECT bool_and(f->'points' = coalesce(
                  (SELECT x->'points' FROM jsonb_array_elements(r->'spec'->'fit'->'rules') x
                    WHERE x - 'points' - 'label' = ((h.spec->'fit'->'rules'->(ix.i)) - 'points' - 'label')),
                  '0'))
          FROM jsonb_array_elements(r->'features') WITH ORDINALITY e(f, ord),
               LATERAL (SELECT (substring(f->>'feature' FROM '\[(\d+)\]'))::int AS i) ix,
               (SELECT spec FROM lead_scoring.model WHERE name = 'hand') h
         WHERE f->>'feature' LIKE '$.fit.rules[%') AS rule_points_match_spec
FROM s;
-- An event type's feature name is the path spec errors give for it.
CREATE FUNCTION pg_temp.spec_error(spec jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_scoring.validate_model(spec);
    RETURN NULL;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN SQLERRM;
END $$;
SELECT t, lead_scoring._suggest_event_path(t) AS feature,
       pg_temp.spec_error(jsonb_build_object('activity', jsonb_build_object('events',
           jsonb_build_object(t, '{"points": "x"}'::jsonb))))
         = 'invalid model spec at ' || lead_scoring._suggest_event_path(t) || '.points: expected a number, got string'
         AS same_as_spec_error
FROM unnest(ARRAY['page_view', '*', 'page view', 'say "hi"', 'back\slash', '9lives']) t;
-- A rule whose points changed sign keeps no label (it described the old
-- direction): matched to the hand rule by field and predicate.
SELECT h.r->>'label' AS hand_label, (h.r->>'points')::float8 AS hand_points, (x->>'points')::float8 AS suggested_points,
       x ? 'label' AS keeps_label,
       EXISTS (SELECT 1 FROM jsonb_array_elements(s.r->'relabelled_rules') f WHERE f->>'label' = h.r->>'label') AS listed
FROM s, (SELECT r FROM lead_scoring.model m, jsonb_array_elements(m.spec->'fit'->'rules') r WHERE m.name = 'hand') h,
     jsonb_array_elements(s.r->'spec'->'fit'->'rules') x
WHERE x - 'points' - 'label' = h.r - 'points' - 'label'
ORDER BY hand_label;
-- The old model's description is not copied: the suggestion says where it came from.
SELECT r->'spec'->>'description' IS DISTINCT FROM 'hand-set points, spring 2025' AS description_not_copied,
       r->'spec'->>'description' = format('Points learned by lead_scoring.suggest_model from conversions from %s to %s; '
                                          'review the stage thresholds against them',
                                          to_char((r->'train'->>'as_of')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                          to_char((r->'holdout'->>'as_of')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           AS description_says_origin
FROM s;

-- The suggestion can be inserted as a model.
INSERT INTO lead_scoring.model (name, spec) SELECT 'suggested', r->'spec' FROM s;
SELECT count(*) AS inserted FROM lead_scoring.model WHERE name = 'suggested';

-- Errors.
SELECT lead_scoring.suggest_model('hand', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.suggest_model('hand', 1, '2025-06-01 00:00+00', '2025-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.suggest_model('hand', 1, '2030-06-01 00:00+00', '2031-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_scoring.model SET spec = spec #- '{source,conversions,time}' WHERE name = 'suggested';
SELECT lead_scoring.suggest_model('suggested');
\echo :LAST_ERROR_SQLSTATE

DELETE FROM lead_scoring.model WHERE name IN ('hand', 'suggested');
DROP SCHEMA crm2 CASCADE;
