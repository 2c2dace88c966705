-- Stage names are unique in a spec: a stage's funnel position is its index, so
-- a repeated name is rejected with 22023 naming the path of the second entry.
SET client_min_messages = warning;
\i sql/include/lib.sql

SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"stages": [{"stage": "SQL", "min_score": 80},
    {"stage": "MQL", "min_score": 40}, {"stage": "SQL", "min_score": 20}]}')$$) AS duplicate;
SELECT pg_temp.try($$INSERT INTO lead_scoring.model(name, spec) VALUES ('dup',
    '{"stages": [{"stage": "MQL", "min_fit": 10}, {"stage": "MQL", "min_score": 5}]}')$$) AS duplicate_insert;
-- names are compared exactly, as stages are reported
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"stages": [{"stage": "SQL", "min_score": 80},
    {"stage": "sql", "min_score": 40}]}')$$) AS differing_case;
SELECT count(*) AS no_model FROM lead_scoring.model WHERE name = 'dup';
