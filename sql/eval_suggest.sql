-- lead_scoring.suggest_model(model) (DESIGN.md §9) on a synthetic CRM whose
-- hand-set points are wrong: the suggestion validates, can be inserted, and
-- its holdout AUC is at least the current model's.
SET extra_float_digits = 0;
-- Errors are shown with their SQLSTATE (psql's LAST_ERROR_SQLSTATE).
\set SHOW_CONTEXT never
-- A deterministic pseudo-random number in [0, 1) per (i, salt).
CREATE FUNCTION pg_temp.u(i int, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE AS
    $$ SELECT (abs(hashint4(i * 7919 + salt)) % 100000) / 100000.0 $$;

CREATE SCHEMA crm2;
-- Lead i becomes "ready" at t_i; its events happen in the two weeks before;
-- software companies and leads that request a demo convert at t_i + 5 days.
CREATE TABLE crm2.leads AS
SELECT i AS id, CASE WHEN pg_temp.u(i, 1) < 0.35 THEN 'Software' ELSE 'Retail' END AS industry,
       jsonb_build_object('country', CASE WHEN pg_temp.u(i, 2) < 0.5 THEN 'US' ELSE 'DE' END) AS props,
       timestamptz '2025-01-01 00:00+00' + (pg_temp.u(i, 3) * 365) * interval '1 day' AS t
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
SELECT count(*) AS leads, (SELECT count(*) FROM crm2.deals) AS deals, (SELECT count(*) FROM crm2.events) AS events
FROM crm2.leads;

-- Hand-set points that overvalue the country and the newsletter.
INSERT INTO lead_scoring.model (name, spec) VALUES ('hand', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 5, "label": "software"},
                    {"field": "country", "eq": "us", "points": 30, "label": "US"},
                    {"field": "industry", "eq": "mining", "points": 10, "label": "never matches"}]},
  "activity": {"events": {"demo_request": {"points": 5}, "page_view": {"points": 10, "cap": 15},
                          "newsletter": {"points": 20}, "*": {"points": 1}},
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
       r->'spec'->'activity'->'events'->'demo_request'->'points' > r->'spec'->'activity'->'events'->'newsletter'->'points'
           OR NOT r->'spec'->'activity'->'events' ? 'newsletter' AS demo_beats_newsletter,
       r->'spec'->'source' = (SELECT spec->'source' FROM lead_scoring.model WHERE name = 'hand') AS source_kept
FROM s;
-- What it found (for the reader; the assertions are above).
SELECT round((r->'holdout_auc'->>'current')::numeric, 3) AS auc_current,
       round((r->'holdout_auc'->>'suggested')::numeric, 3) AS auc_suggested,
       jsonb_path_query_array(r->'dropped_rules', '$[*].label') AS dropped_rules, r->'dropped_events' AS dropped_events,
       r->'spec'->'fit'->'rules' AS rules, r->'spec'->'activity'->'events' AS events
FROM s;
-- The split: 40% and 70% quantiles of the conversion times.
SELECT (r->'train'->>'as_of')::timestamptz = (SELECT percentile_disc(0.4) WITHIN GROUP (ORDER BY won_at) FROM crm2.deals) AS train_date_ok,
       (r->'holdout'->>'as_of')::timestamptz = (SELECT percentile_disc(0.7) WITHIN GROUP (ORDER BY won_at) FROM crm2.deals) AS holdout_date_ok
FROM s;

-- The current model's holdout AUC, recomputed in plain SQL: leads known by
-- the holdout date (an event on or before it) and not converted before it,
-- scored as of that date (fit rules +
-- 2^(-age/30 days) decayed points with the page_view cap), label = converted after.
WITH h AS (SELECT (r->'holdout'->>'as_of')::timestamptz AS d FROM s),
lab AS (
    SELECT l.id, coalesce(min(dl.won_at) >= h.d, false) AS y,
           lead_scoring.fit_score('hand', l.props || jsonb_build_object('industry', l.industry)) AS fit
    FROM crm2.leads l CROSS JOIN h LEFT JOIN crm2.deals dl ON dl.lead_id = l.id
    WHERE EXISTS (SELECT 1 FROM crm2.events e WHERE e.lead_id = l.id AND e.occurred_at <= h.d)
    GROUP BY l.id, l.props, l.industry, h.d HAVING min(dl.won_at) IS NULL OR min(dl.won_at) >= h.d
), act AS (
    SELECT e.lead_id, e.event_type,
           sum(CASE e.event_type WHEN 'demo_request' THEN 5 WHEN 'page_view' THEN 10 WHEN 'newsletter' THEN 20 ELSE 1 END
               * 2 ^ (-(extract(epoch FROM h.d) - extract(epoch FROM e.occurred_at)) / (30 * 86400))) AS p
    FROM crm2.events e CROSS JOIN h WHERE e.occurred_at <= h.d GROUP BY 1, 2
), score AS (
    SELECT lab.id, lab.y, lab.fit + coalesce(sum(CASE WHEN a.event_type = 'page_view' THEN least(a.p, 15) ELSE a.p END), 0) AS sc
    FROM lab LEFT JOIN act a ON a.lead_id = lab.id GROUP BY lab.id, lab.y, lab.fit
)
SELECT abs((SELECT sum(CASE WHEN p.sc > n.sc THEN 1 WHEN p.sc = n.sc THEN 0.5 ELSE 0 END)::float8 / count(*)
            FROM score p, score n WHERE p.y AND NOT n.y)
           - (r->'holdout_auc'->>'current')::float8) < 1e-9 AS current_auc_matches,
       (SELECT count(*) FROM score) = (r->'holdout'->>'leads')::bigint AS holdout_size_matches
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
