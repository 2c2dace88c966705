-- lead_scoring.suggest_model on the sample CRM (generate_sample_crm) with the
-- demo model of scripts/demo.sh: the suggestion's holdout AUC is at least the
-- hand-set model's, both AUCs agree with the score computed by the
-- extension's own scoring functions, and the suggested spec validates, can be
-- inserted and refreshed.
SET extra_float_digits = 0;
SELECT lead_scoring.generate_sample_crm('crm_sg', 3000, 12, 0.42, '2026-01-01 00:00:00+00') ->> 'leads' AS leads;

-- The demo model of scripts/demo.sh, its source pointed at crm_sg.
INSERT INTO lead_scoring.model (name, description, spec) VALUES ('demo_sg',
  'Demo model for the sample CRM: firmographic fit plus decaying activity',
  $spec$
  {
    "fit": {
      "rules": [
        {"field": "industry", "in": ["Software", "Finance", "Healthcare"], "points": 15, "label": "target industry"},
        {"field": "industry", "in": ["Government", "Education", "Nonprofit"], "points": -5, "label": "low-fit industry"},
        {"field": "job_title", "matches": "^(ceo|cto|cfo|founder|vp )", "points": 20, "label": "executive"},
        {"field": "job_title", "matches": "(director|head of)", "points": 12, "label": "director"},
        {"field": "job_title", "contains": "manager", "points": 6, "label": "manager"},
        {"field": "job_title", "in": ["student", "intern"], "points": -15, "label": "student or intern"},
        {"field": "company_size", "between": [50, 5000], "points": 15, "label": "mid-market company"},
        {"field": "company_size", "gt": 5000, "points": 10, "label": "enterprise company"},
        {"field": "company_size", "lt": 10, "points": -5, "label": "very small company"},
        {"field": "country", "in": ["US", "CA", "GB", "DE", "FR", "NL"], "points": 10, "label": "served country"},
        {"field": "email", "matches": "@(gmail|yahoo|hotmail|outlook|icloud|aol|protonmail|gmx|mail|qq)\\.", "points": -10, "label": "free-mail address"},
        {"field": "plan_interest", "eq": "enterprise", "points": 5, "label": "wants the enterprise plan"}
      ],
      "min": 0, "max": 100
    },
    "activity": {
      "events": {
        "page_view":    {"points": 1,   "cap": 15},
        "pricing_page": {"points": 5,   "cap": 25},
        "download":     {"points": 4,   "cap": 16},
        "email_open":   {"points": 0.5, "cap": 5},
        "email_click":  {"points": 2,   "cap": 10},
        "webinar":      {"points": 6,   "cap": 18},
        "form_submit":  {"points": 5,   "cap": 15},
        "demo_request": {"points": 25,  "cap": 50},
        "unsubscribe":  {"points": -10},
        "email_bounce": {"points": -5},
        "complaint":    {"points": -30}
      },
      "decay": {"kind": "exponential", "half_life": "30 days"},
      "min": 0, "max": 100
    },
    "disqualify": {
      "rules": [{"field": "email", "matches": "@(leadrival\\.com|scorewise\\.io|funnelforge\\.com)$", "label": "competitor"},
                {"field": "email", "exists": false}],
      "events": ["complaint"]
    },
    "grades": [{"grade": "A", "min_fit": 60}, {"grade": "B", "min_fit": 40}, {"grade": "C", "min_fit": 20}, {"grade": "D", "min_fit": 0}],
    "stages": [{"stage": "SQL",  "min_score": 110, "event": "demo_request"},
               {"stage": "MQL3", "min_score": 80},
               {"stage": "MQL2", "min_score": 50},
               {"stage": "MQL1", "min_fit": 40}],
    "source": {
      "leads":       {"table": "crm_sg.leads", "id": "id", "properties": "props"},
      "events":      {"table": "crm_sg.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
      "orders":      {"table": "crm_sg.orders", "lead_id": "lead_id", "time": "ordered_at", "amount": "amount"},
      "conversions": {"table": "crm_sg.deals", "lead_id": "lead_id", "time": "won_at"}
    }
  }
  $spec$);
SELECT lead_scoring.refresh('demo_sg', '2026-01-01 00:00:00+00') AS ranked;

CREATE TEMP TABLE s AS SELECT lead_scoring.suggest_model('demo_sg') AS r;
SELECT (r->'holdout_auc'->>'suggested')::float8 >= (r->'holdout_auc'->>'current')::float8 AS suggested_at_least_current,
       lead_scoring.validate_model(r->'spec') AS spec_valid,
       (r->'fit'->>'converged')::boolean AS converged,
       r->'spec'->'source' = (SELECT spec->'source' FROM lead_scoring.model WHERE name = 'demo_sg') AS source_kept,
       (r->'selection'->'chosen'->>'validation_auc')::float8
           = (SELECT max((c->>'validation_auc')::float8) FROM jsonb_array_elements(r->'selection'->'candidates') c)
           AS chose_best_on_validation,
       (r->'train'->>'as_of')::timestamptz < (r->'selection'->>'validation_as_of')::timestamptz
           AND (r->'selection'->>'validation_as_of')::timestamptz < (r->'holdout'->>'as_of')::timestamptz
           AS validation_inside_training
FROM s;

-- The suggestion can be inserted as a model and refreshed.
INSERT INTO lead_scoring.model (name, spec) SELECT 'demo_sg_learned', r->'spec' FROM s;
SELECT lead_scoring.refresh('demo_sg_learned', '2026-01-01 00:00:00+00') = (SELECT count(*) FROM crm_sg.leads) AS refreshed_all;

-- Both holdout AUCs recomputed with the extension's scoring functions (fit_score
-- of the lead's row, as refresh reads it; activity_score; score: caps, clamps
-- and weights) of the two models over the holdout leads: known by the holdout
-- date (an event on or before it), not converted before it; label = converted
-- on or after it. (Leads without events before the date have activity 0: the
-- demo spec's activity.min is 0.)
CREATE TEMP TABLE h AS SELECT (r->'holdout'->>'as_of')::timestamptz AS d FROM s;
CREATE TEMP TABLE pop AS
SELECT l.id,
       EXISTS (SELECT 1 FROM crm_sg.deals dl WHERE dl.lead_id = l.id AND dl.won_at >= h.d) AS y
FROM crm_sg.leads l, h
WHERE EXISTS (SELECT 1 FROM crm_sg.events e WHERE e.lead_id = l.id AND e.occurred_at <= h.d)
  AND NOT EXISTS (SELECT 1 FROM crm_sg.deals dl WHERE dl.lead_id = l.id AND dl.won_at < h.d);
CREATE TEMP TABLE act AS
SELECT e.lead_id, lead_scoring.activity_score('demo_sg', e.event_type, e.occurred_at, h.d) AS cur,
       lead_scoring.activity_score('demo_sg_learned', e.event_type, e.occurred_at, h.d) AS sug
FROM crm_sg.events e, h WHERE e.occurred_at <= h.d GROUP BY e.lead_id;
WITH scored AS (
    SELECT p.y, lead_scoring.score('demo_sg', lead_scoring.fit_score('demo_sg', l), coalesce(a.cur, 0)) AS cur,
           lead_scoring.score('demo_sg_learned', lead_scoring.fit_score('demo_sg_learned', l), coalesce(a.sug, 0)) AS sug
    FROM pop p JOIN crm_sg.leads l ON l.id = p.id LEFT JOIN act a ON a.lead_id = p.id
)
SELECT count(*) = (SELECT (r->'holdout'->>'leads')::bigint FROM s) AS holdout_size_matches,
       abs(lead_scoring.auc(cur, y) - (SELECT (r->'holdout_auc'->>'current')::float8 FROM s)) < 1e-9 AS current_auc_matches,
       abs(lead_scoring.auc(sug, y) - (SELECT (r->'holdout_auc'->>'suggested')::float8 FROM s)) < 1e-9 AS suggested_auc_matches
FROM scored;

-- Named output: one entry per feature (12 rules, then the 11 event types in
-- name order; the spec has no "*"), each with its current points; an event
-- type the suggestion drops scores 0 in it.
SELECT jsonb_array_length(r->'features') AS features,
       (SELECT bool_and(f->>'feature' = '$.fit.rules[' || (o - 1) || ']'
                        AND f->'current_points' = (SELECT spec FROM lead_scoring.model WHERE name = 'demo_sg')->'fit'->'rules'->(o::int - 1)->'points')
          FROM jsonb_array_elements(r->'features') WITH ORDINALITY e(f, o) WHERE o <= 12) AS rules_named,
       (SELECT array_agg(f->>'event_type' ORDER BY o) = ARRAY(SELECT t FROM jsonb_object_keys(
                   (SELECT spec FROM lead_scoring.model WHERE name = 'demo_sg')->'activity'->'events') t ORDER BY t)
          FROM jsonb_array_elements(r->'features') WITH ORDINALITY e(f, o) WHERE o > 12) AS event_types_named,
       (SELECT coalesce(bool_and(a = 0), true)
          FROM jsonb_array_elements_text(r->'dropped_events') t,
               LATERAL (SELECT lead_scoring.activity_score(q.spec, q.t, '2026-01-01 00:00+00', '2026-01-01 00:00+00') AS a
                        FROM (SELECT r->'spec' AS spec, t) q) x)
           AS dropped_types_score_0
FROM s;

-- What it found (for the reader; the assertions are above).
SELECT round((r->'holdout_auc'->>'current')::numeric, 3) AS auc_current,
       round((r->'holdout_auc'->>'suggested')::numeric, 3) AS auc_suggested,
       r->'kept_current' AS kept_current, r->'selection'->'chosen'->>'features' AS features,
       r->'selection'->'chosen'->'l2' AS l2
FROM s;

-- Leave nothing behind for the suites that follow (refresh state, log, rankings).
SELECT count(lead_scoring.drop_refresh_state(m)) AS dropped FROM unnest(ARRAY['demo_sg', 'demo_sg_learned']) m;
DELETE FROM lead_scoring.refresh_log WHERE model IN ('demo_sg', 'demo_sg_learned');
DELETE FROM lead_scoring.stage_history WHERE model IN ('demo_sg', 'demo_sg_learned');
DROP TABLE lead_scoring.ranking_demo_sg, lead_scoring.ranking_demo_sg_learned CASCADE;
DELETE FROM lead_scoring.model WHERE name IN ('demo_sg', 'demo_sg_learned');
DROP SCHEMA crm_sg CASCADE;
