-- The forecaster's time split of evaluate / attribute_lift / evaluation_split
-- (doc/eval.md) on six hand-made leads whose outcome is worked out by hand.
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, region text, created_at timestamptz);
CREATE TABLE crm.deals (lead_id int, won_at timestamptz);
-- lead 1: converted before the ranking's as_of (2026-01-10)       -> left out
-- lead 2: converted after it                                     -> converted
-- lead 3: never converted                                        -> not converted
-- lead 4: created after as_of, converted after                   -> left out (did not exist)
-- lead 5: converted on 2026-02-15                                -> converted, or not before 2026-02-01
-- lead 6: converted exactly at as_of ("by T")                    -> left out
INSERT INTO crm.leads VALUES
    (1, 'north', '2026-01-01 00:00+00'), (2, 'north', '2026-01-01 00:00+00'), (3, 'north', '2026-01-01 00:00+00'),
    (4, 'north', '2026-01-12 00:00+00'), (5, 'south', '2026-01-02 00:00+00'), (6, 'north', '2026-01-03 00:00+00');
INSERT INTO crm.deals VALUES
    (1, '2026-01-05 00:00+00'), (2, '2026-01-15 00:00+00'), (4, '2026-01-20 00:00+00'),
    (5, '2026-02-15 00:00+00'), (6, '2026-01-10 00:00+00');

INSERT INTO lead_scoring.model (name, spec) VALUES ('splitm', '{
  "stages": [{"stage": "hot", "min_score": 55}],
  "source": {"leads": {"table": "crm.leads", "id": "id", "created": "created_at"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id", "time": "won_at"}}}');
CREATE TABLE lead_scoring.ranking_splitm (lead_id int, score float8, stage text, disqualified boolean, as_of timestamptz);
INSERT INTO lead_scoring.ranking_splitm VALUES
    (1, 90, 'hot', false, '2026-01-10 00:00+00'), (2, 80, 'hot', false, '2026-01-10 00:00+00'),
    (3, 10, 'new', false, '2026-01-10 00:00+00'), (4, 70, 'hot', false, '2026-01-10 00:00+00'),
    (5, 50, 'new', false, '2026-01-10 00:00+00'), (6, 60, 'hot', false, '2026-01-10 00:00+00');

-- Default as_of = the ranking's: population {2, 3, 5}, converted {2, 5}; AUC 1.
SELECT as_of AT TIME ZONE 'UTC' AS as_of, ranking_as_of AT TIME ZONE 'UTC' AS ranking_as_of, outcome_before, split
FROM lead_scoring.evaluation_split('splitm');
SELECT kind, bucket, leads, converted, auc FROM lead_scoring.evaluate('splitm') WHERE kind IN ('overall', 'stage');
-- Outcome window closed at 2026-02-01: lead 5 converted too late, {2} against {3, 5}.
SELECT kind, bucket, leads, converted, auc
FROM lead_scoring.evaluate('splitm', converted_before => '2026-02-01 00:00+00') WHERE kind = 'overall';
-- A later as_of: existing at 2026-01-16 and not converted by then: {3, 4, 5}, converted {4, 5}.
SELECT kind, bucket, leads, converted, auc
FROM lead_scoring.evaluate('splitm', '2026-01-16 00:00+00') WHERE kind = 'overall';
-- Before the ranking's as_of the scores would have seen the future: refused.
SELECT * FROM lead_scoring.evaluate('splitm', '2026-01-05 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.evaluate('splitm', converted_before => '2026-01-10 00:00+00');
\echo :LAST_ERROR_SQLSTATE
-- attribute_lift with as_of 2026-01-10: north {2 converted, 3}, south {5 converted}.
SELECT value, leads, converted FROM lead_scoring.attribute_lift('splitm', 'region', '2026-01-10 00:00+00');
-- Without as_of: every lead, every conversion: north 5 leads 4 converted, south 1/1.
SELECT value, leads, converted FROM lead_scoring.attribute_lift('splitm', 'region');
SELECT * FROM lead_scoring.attribute_lift('splitm', 'no_such_field');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.attribute_lift('splitm', 'region', '2026-01-10 00:00+00', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE

-- Without source.leads.created, every lead of the ranking counts as existing
-- (lead 4 is back) and the split says so.
UPDATE lead_scoring.model SET spec = spec #- '{source,leads,created}' WHERE name = 'splitm';
SELECT split FROM lead_scoring.evaluation_split('splitm');
SELECT leads, converted FROM lead_scoring.evaluate('splitm') WHERE kind = 'overall';

-- Before the first refresh: the model says it has not been refreshed.
INSERT INTO lead_scoring.model (name, spec) VALUES ('splitr', '{
  "fit": {"rules": [{"field": "region", "eq": "north", "points": 10}]},
  "source": {"leads": {"table": "crm.leads", "id": "id", "created": "created_at"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id", "time": "won_at"}}}');
SELECT * FROM lead_scoring.evaluate('splitr');
\echo :LAST_ERROR_SQLSTATE
-- A refresh dates the ranking; evaluate then splits at that as_of.
SELECT lead_scoring.refresh('splitr', '2026-01-10 00:00+00') AS written;
SELECT as_of AT TIME ZONE 'UTC' AS as_of FROM lead_scoring.evaluation_split('splitr');
SELECT leads, converted FROM lead_scoring.evaluate('splitr') WHERE kind = 'overall';
-- created must be a time.
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,leads,created}', '"region"') WHERE name = 'splitr';
SELECT lead_scoring.refresh('splitr', '2026-01-11 00:00+00');
\echo :LAST_ERROR_SQLSTATE

SELECT lead_scoring.drop_refresh_state('splitr');
-- Leave no trace for the suites after this one.
DELETE FROM lead_scoring.refresh_log WHERE model = 'splitr';
DELETE FROM lead_scoring.stage_history WHERE model = 'splitr';
DELETE FROM lead_scoring.model WHERE name IN ('splitm', 'splitr');
DROP TABLE lead_scoring.ranking_splitm, lead_scoring.ranking_splitr CASCADE;
DROP SCHEMA crm CASCADE;
