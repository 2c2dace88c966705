-- lead_scoring.model and validate_model (doc/foundation.md#models).
-- Errors are shown as SQLSTATE: message through pg_temp.try, so the expected
-- output pins both the code and the JSON path.
SET client_min_messages = warning;
\i sql/include/lib.sql

-- The table's shape: defaults and constraints.
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
 WHERE a.attrelid = 'lead_scoring.model'::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;

-- validate_model on good specs
SELECT lead_scoring.validate_model('{}');
SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]}}');
SELECT lead_scoring.validate_model('{"activity": {"events": {"demo_request": {"points": 50, "cap": 100}, "*": {"points": 1}},
    "decay": {"kind": "linear", "lifetime": "1.5 years"}, "window": "@ 400 days"},
    "stages": [{"stage": "SQL", "min_score": 80, "event": "demo_request"}], "default_stage": "cold"}');
-- STRICT: NULL in, NULL out
SELECT lead_scoring.validate_model(NULL) IS NULL AS null_is_null;

-- validate_model on bad specs: SQLSTATE 22023 and the JSON path of the problem
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('[]')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "eq": 1, "points": 1}, {"field": "a", "eq": 1, "points": 1}, {"field": "a", "between": [1, "x"], "points": 1}]}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"activity": {"events": {"demo_request": {"points": "50"}}}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"activity": {"events": {"page view": {"points": 1, "cap": -2}}}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"stages": [{"stage": "SQL", "min_score": "80"}]}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "eq": 1, "gt": 0, "points": 1}]}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "points": 1}]}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "matches": "(", "points": 1}]}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"activity": {"decay": {"kind": "exponential", "half_life": "1 fortnight"}}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"rfm": {"bins": 3, "segments": [{"segment": "X", "f": [1, 4]}]}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"source": {"leads": {"table": "crm.leads"}}}')$$);
SELECT pg_temp.try($$SELECT lead_scoring.validate_model('{"fit": {}, "weight": {}}')$$);
-- the server is still here after all of these, and a plain ERROR reads well too
SELECT lead_scoring.validate_model('{"score": {"min": 10, "max": 0}}');
SELECT 1 AS still_running;

-- Model names: [a-z_][a-z0-9_]{0,47}
SELECT n, pg_temp.try(format('INSERT INTO lead_scoring.model(name, spec) VALUES (%L, %L)', n, '{}')) AS result
  FROM (VALUES ('m1'), ('_x'), ('a_b_9'), (repeat('n', 48)), (repeat('n', 49)), ('9lives'), ('Upper'),
               ('with space'), ('dash-ed'), (''), (E'nl\n'), ('é')) AS t(n);
SELECT name, length(name) FROM lead_scoring.model ORDER BY name;
DELETE FROM lead_scoring.model;

-- Spec validation on INSERT and UPDATE
SELECT pg_temp.try($$INSERT INTO lead_scoring.model(name, spec) VALUES ('bad', '{"fit": {"rules": [{"field": "x", "in": [], "points": 1}]}}')$$);
SELECT pg_temp.try($$INSERT INTO lead_scoring.model(name, spec) VALUES ('bad', NULL)$$);
SELECT pg_temp.try($$INSERT INTO lead_scoring.model(name, spec, refresh_interval) VALUES ('bad', '{}', '-1 hour')$$);
INSERT INTO lead_scoring.model(name, spec) VALUES
    ('m', '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]}}');
SELECT pg_temp.try($$UPDATE lead_scoring.model SET spec = '{"fit": {"rules": [{"field": "industry", "eq": "software"}]}}' WHERE name = 'm'$$);
SELECT pg_temp.try($$INSERT INTO lead_scoring.model(name, spec) VALUES ('m', '{}')$$);
-- defaults: the owner is the inserting role, enabled, no refresh interval
SELECT name, owner = current_user::regrole AS owner_is_me, enabled, refresh_interval,
       created_at = updated_at AS untouched
  FROM lead_scoring.model;

-- A model edited mid-session is seen by the next statement.
SELECT lead_scoring.fit_score('m', '{"industry": "Software"}');
UPDATE lead_scoring.model
   SET spec = '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 25}]}}' WHERE name = 'm';
SELECT lead_scoring.fit_score('m', '{"industry": "Software"}');
-- inside a transaction, and back after ROLLBACK
BEGIN;
SELECT lead_scoring.fit_score('m', '{"industry": "Software"}');
UPDATE lead_scoring.model
   SET spec = '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 7}]}}' WHERE name = 'm';
SELECT lead_scoring.fit_score('m', '{"industry": "Software"}');
ROLLBACK;
SELECT lead_scoring.fit_score('m', '{"industry": "Software"}');
-- the same in one PL/pgSQL function: each statement sees the current row
CREATE FUNCTION pg_temp.edit_and_score() RETURNS text LANGUAGE plpgsql AS $$
DECLARE a float8; b float8;
BEGIN
    a := lead_scoring.fit_score('m', '{"industry": "Software"}'::jsonb);
    UPDATE lead_scoring.model
       SET spec = '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 3}]}}' WHERE name = 'm';
    b := lead_scoring.fit_score('m', '{"industry": "Software"}'::jsonb);
    RETURN a || ' then ' || b;
END $$;
SELECT pg_temp.edit_and_score();
-- renamed and deleted models
UPDATE lead_scoring.model SET name = 'm2' WHERE name = 'm';
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('m', '{"industry": "Software"}')$$);
SELECT lead_scoring.fit_score('m2', '{"industry": "Software"}');
DELETE FROM lead_scoring.model WHERE name = 'm2';
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('m2', '{"industry": "Software"}')$$);
INSERT INTO lead_scoring.model(name, spec) VALUES ('m2', '{"fit": {"rules": [{"field": "x", "exists": true, "points": 1}]}}');
SELECT lead_scoring.fit_score('m2', '{"industry": "Software"}'), lead_scoring.fit_score('m2', '{"x": null}'),
       lead_scoring.fit_score('m2', '{"x": 0}');
TRUNCATE lead_scoring.model;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('m2', '{}')$$);

-- STRICT everywhere: a NULL argument gives NULL
SELECT lead_scoring.fit_score(NULL::text, '{}'::jsonb) IS NULL AS a,
       lead_scoring.fit_score('{}'::jsonb, NULL::jsonb) IS NULL AS b,
       lead_scoring.fit_breakdown(NULL::text, '{}'::jsonb) IS NULL AS c;

-- Every object has a comment.
SELECT p.oid::regprocedure AS function
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'lead_scoring')
   AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL;

-- DROP EXTENSION and CREATE EXTENSION again in the same session: the cache
-- does not serve models of the dropped table. This runs in a database of its
-- own, so that objects other suites leave in the shared regression database
-- cannot make DROP EXTENSION fail.
\set regress_db :DBNAME
CREATE DATABASE lead_scoring_reinstall;
\c lead_scoring_reinstall
SET client_min_messages = warning;
CREATE EXTENSION lead_scoring;
INSERT INTO lead_scoring.model(name, spec) VALUES ('m3', '{"fit": {"rules": [{"field": "a", "exists": true, "points": 5}]}}');
SELECT lead_scoring.fit_score('m3', '{"a": 1}');
DROP EXTENSION lead_scoring;
SELECT to_regclass('lead_scoring.model') AS model_table_gone;
CREATE EXTENSION lead_scoring;
\set VERBOSITY terse
SELECT lead_scoring.fit_score('m3', '{"a": 1}');
\set VERBOSITY default
INSERT INTO lead_scoring.model(name, spec) VALUES ('m3', '{"fit": {"rules": [{"field": "a", "exists": true, "points": 6}]}}');
SELECT lead_scoring.fit_score('m3', '{"a": 1}');
\c :regress_db
DROP DATABASE lead_scoring_reinstall;
