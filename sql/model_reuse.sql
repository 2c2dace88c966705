-- A model name that changes hands (doc/privileges.md, "Reusing a model name"):
-- eve's deleted model leaves its default ranking table, owned by her and with
-- her trigger on it; a later model of the same name must not write into it, and
-- must not see any of the old model's rows. Renaming a model removes its rows
-- the same way. A model's owner may drop its refresh state; nobody else may.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
DROP ROLE IF EXISTS regress_mr_alice;
DROP ROLE IF EXISTS regress_mr_eve;
DROP ROLE IF EXISTS regress_mr_mallory;
CREATE ROLE regress_mr_alice;
CREATE ROLE regress_mr_eve;
CREATE ROLE regress_mr_mallory;
CREATE SCHEMA mr_alice AUTHORIZATION regress_mr_alice;
CREATE SCHEMA mr_eve AUTHORIZATION regress_mr_eve;

-- Rows keyed to a model name, in every table refresh keeps by name, read as
-- whoever calls it (the public ones) or as superuser (all).
CREATE FUNCTION pg_temp.rows_of(m text) RETURNS TABLE (tbl text, n bigint) LANGUAGE sql AS $$
SELECT 'refresh_state', count(*) FROM lead_scoring.refresh_state WHERE model = m UNION ALL
SELECT 'refresh_log', count(*) FROM lead_scoring.refresh_log WHERE model = m UNION ALL
SELECT 'stage_history', count(*) FROM lead_scoring.stage_history WHERE model = m UNION ALL
SELECT 'leaderboard_entries', count(*) FROM lead_scoring.leaderboard_entries WHERE model = m UNION ALL
SELECT 'funnel_counts', count(*) FROM lead_scoring.funnel_counts WHERE model = m UNION ALL
SELECT 'change_log', count(*) FROM lead_scoring.change_log WHERE model = m UNION ALL
SELECT 'state table', count(*) FROM pg_class WHERE relname = m AND relnamespace = 'lead_scoring_state'::regnamespace UNION ALL
SELECT 'capture triggers', count(*) FROM pg_trigger WHERE tgname::text LIKE 'ls\_' || m || '\_%'
$$;
GRANT EXECUTE ON FUNCTION pg_temp.rows_of(text) TO PUBLIC;

-- eve's CRM: leads 1..6, lead 1..3 software (10 points), demos 30 points, no
-- decay; SQL from 30 points.
SET ROLE regress_mr_eve;
CREATE TABLE mr_eve.leads (id bigint PRIMARY KEY, industry text);
CREATE TABLE mr_eve.events (lead_id bigint, kind text, at timestamptz);
INSERT INTO mr_eve.leads SELECT g, CASE WHEN g <= 3 THEN 'software' ELSE 'retail' END FROM generate_series(1, 6) g;
INSERT INTO mr_eve.events VALUES (1, 'demo', '2024-03-01+00'), (4, 'demo', '2024-03-01+00');
CREATE TABLE mr_eve.trace (who text);
GRANT INSERT ON mr_eve.trace TO PUBLIC;
CREATE FUNCTION mr_eve.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'eve''s trigger ran as %', current_user;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE regress_mr_eve SUPERUSER';
    END IF;
    RETURN NULL;
END $$;
GRANT EXECUTE ON FUNCTION mr_eve.escalate() TO PUBLIC;
INSERT INTO lead_scoring.model (name, spec) VALUES ('main', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"demo": {"points": 30}}, "decay": {"kind": "none"}},
  "stages": [{"stage": "SQL", "min_score": 30}],
  "source": {"leads": {"table": "mr_eve.leads", "id": "id"},
             "events": {"table": "mr_eve.events", "lead_id": "lead_id", "type": "kind", "time": "at"}}}');
SELECT lead_scoring.refresh('main', '2024-03-10+00') AS leads;
-- lead 2 gets a demo: one stage change (to SQL), one change_log row
INSERT INTO mr_eve.events VALUES (2, 'demo', '2024-03-11+00');
SELECT lead_scoring.refresh('main', '2024-03-12+00') AS leads;
INSERT INTO mr_eve.events VALUES (3, 'demo', '2024-03-13+00');
SELECT pg_catalog.pg_get_userbyid(relowner) AS ranking_owner FROM pg_class WHERE oid = 'lead_scoring.ranking_main'::regclass;
CREATE TRIGGER zz AFTER INSERT ON lead_scoring.ranking_main FOR EACH STATEMENT EXECUTE FUNCTION mr_eve.escalate();
GRANT ALL ON lead_scoring.ranking_main TO PUBLIC;
RESET ROLE;
SELECT * FROM pg_temp.rows_of('main');
SET ROLE regress_mr_eve;
DELETE FROM lead_scoring.model WHERE name = 'main';
RESET ROLE;
-- Everything keyed to the name is gone with the model; its ranking table stays.
SELECT * FROM pg_temp.rows_of('main');
SELECT count(*) AS eve_ranking_rows FROM lead_scoring.ranking_main;

-- alice's CRM: leads 101..103, 101 software.
SET ROLE regress_mr_alice;
CREATE TABLE mr_alice.leads (id bigint PRIMARY KEY, industry text);
INSERT INTO mr_alice.leads VALUES (101, 'software'), (102, 'retail'), (103, 'retail');
INSERT INTO lead_scoring.model (name, spec) VALUES ('main', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "stages": [{"stage": "SQL", "min_score": 30}],
  "source": {"leads": {"table": "mr_alice.leads", "id": "id"}}}');
-- alice's model would write into eve's table: refused, eve's trigger never runs
SELECT lead_scoring.refresh('main', '2024-03-20+00') AS leads;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the same for a superuser's model (the worker would run it as superuser)
UPDATE lead_scoring.model SET owner = current_user::regrole WHERE name = 'main';
SELECT lead_scoring.refresh('main', '2024-03-20+00') AS leads;
\echo :LAST_ERROR_SQLSTATE
SELECT rolsuper AS eve_is_superuser FROM pg_roles WHERE rolname = 'regress_mr_eve';
UPDATE lead_scoring.model SET owner = 'regress_mr_alice' WHERE name = 'main';
-- once eve drops her table, alice's model makes its own
SET ROLE regress_mr_eve;
DROP TABLE lead_scoring.ranking_main CASCADE;
SET ROLE regress_mr_alice;
SELECT lead_scoring.refresh('main', '2024-03-20+00') AS leads;
SELECT pg_catalog.pg_get_userbyid(relowner) AS ranking_owner FROM pg_class WHERE oid = 'lead_scoring.ranking_main'::regclass;
-- alice's model sees only its own rows: 3 leads, 1 refresh, no stage change
-- (a first refresh records none), stages SQL and the default one.
SELECT lead_id, rank, score FROM lead_scoring.leaderboard WHERE model = 'main' ORDER BY rank, lead_id;
SELECT stage, leads FROM lead_scoring.funnel WHERE model = 'main' ORDER BY position;
SELECT mode, reason, leads FROM lead_scoring.refresh_log WHERE model = 'main';
SELECT count(*) AS stage_changes FROM lead_scoring.stage_history WHERE model = 'main';
RESET ROLE;
SELECT * FROM pg_temp.rows_of('main');
SELECT count(*) AS eve_leads_anywhere FROM (
    SELECT lead_id FROM lead_scoring.leaderboard_entries WHERE model = 'main' UNION ALL
    SELECT lead_id FROM lead_scoring.stage_history WHERE model = 'main' UNION ALL
    SELECT lead_id::text FROM lead_scoring.ranking_main) x
 WHERE x.lead_id::bigint < 100;

-- drop_refresh_state: mallory may not drop alice's; alice may.
SET ROLE regress_mr_mallory;
SELECT lead_scoring.drop_refresh_state('main');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_mr_alice;
SELECT lead_scoring.drop_refresh_state('main');
-- a live model keeps its history (refresh_log); its next refresh is full
RESET ROLE;
SELECT * FROM pg_temp.rows_of('main') WHERE n <> 0;
SET ROLE regress_mr_alice;
SELECT lead_scoring.refresh('main', '2024-03-21+00') AS leads;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'main' ORDER BY id;
RESET ROLE;
-- A deleted model's leftovers (as left by versions that kept them): only the
-- owner its last refresh recorded, or a superuser.
INSERT INTO lead_scoring.refresh_state (model, spec, sources, target, state_table, ref_time, as_of, capture, refreshed_at, owner)
VALUES ('mr_gone', '{}', '', 0, 0, now(), now(), false, now(), 'regress_mr_eve'::regrole);
INSERT INTO lead_scoring.refresh_log (model, status) VALUES ('mr_gone', 'ok');
SET ROLE regress_mr_mallory;
SELECT lead_scoring.drop_refresh_state('mr_gone');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_mr_eve;
SELECT lead_scoring.drop_refresh_state('mr_gone');
RESET ROLE;
SELECT * FROM pg_temp.rows_of('mr_gone') WHERE n <> 0;

-- Another role cannot even name the state table to pin it with a view (no
-- USAGE on lead_scoring_state); the delete drops it with CASCADE regardless.
SET ROLE regress_mr_mallory;
CREATE TEMP VIEW pin AS SELECT * FROM lead_scoring_state.main;
SET ROLE regress_mr_alice;
DELETE FROM lead_scoring.model WHERE name = 'main';
SELECT count(*) AS alice_ranking_rows FROM lead_scoring.ranking_main;
DROP TABLE lead_scoring.ranking_main CASCADE;
RESET ROLE;
SELECT * FROM pg_temp.rows_of('main') WHERE n <> 0;

-- Renaming: eve's 'mr_old' (two refreshes, a stage change) becomes 'mr_new'.
-- Its rows are removed, not moved: 'mr_new' starts with a full refresh, and a
-- new 'mr_old' of alice's sees nothing of eve's.
SET ROLE regress_mr_eve;
INSERT INTO lead_scoring.model (name, spec) VALUES ('mr_old', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"demo": {"points": 30}}, "decay": {"kind": "none"}},
  "stages": [{"stage": "SQL", "min_score": 30}],
  "source": {"leads": {"table": "mr_eve.leads", "id": "id"},
             "events": {"table": "mr_eve.events", "lead_id": "lead_id", "type": "kind", "time": "at"},
             "target": "mr_eve.ranking"}}');
SELECT lead_scoring.refresh('mr_old', '2024-03-12+00') AS leads;
SELECT lead_scoring.refresh('mr_old', '2024-03-14+00') AS leads;
INSERT INTO mr_eve.events VALUES (5, 'demo', '2024-03-15+00');
RESET ROLE;
SELECT * FROM pg_temp.rows_of('mr_old') WHERE n <> 0;
SET ROLE regress_mr_eve;
UPDATE lead_scoring.model SET name = 'mr_new' WHERE name = 'mr_old';
RESET ROLE;
SELECT * FROM pg_temp.rows_of('mr_old') WHERE n <> 0;
SELECT * FROM pg_temp.rows_of('mr_new') WHERE n <> 0;
SET ROLE regress_mr_alice;
INSERT INTO lead_scoring.model (name, spec) VALUES ('mr_old', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "source": {"leads": {"table": "mr_alice.leads", "id": "id"}, "target": "mr_alice.ranking"}}');
SELECT lead_scoring.refresh('mr_old', '2024-03-20+00') AS leads;
SELECT count(*) AS log_rows, count(*) FILTER (WHERE reason = 'first refresh') AS first FROM lead_scoring.refresh_log WHERE model = 'mr_old';
SELECT count(*) AS history_rows FROM lead_scoring.stage_history WHERE model = 'mr_old';
SET ROLE regress_mr_eve;
SELECT lead_scoring.refresh('mr_new', '2024-03-20+00') AS leads;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'mr_new';
RESET ROLE;

-- Deleting and creating a name in one statement: the new model starts afresh
-- (the capture triggers stay: the new model maps the same tables, and they are
-- the ones its refresh would install).
SET ROLE regress_mr_eve;
WITH d AS (DELETE FROM lead_scoring.model WHERE name = 'mr_new' RETURNING spec)
INSERT INTO lead_scoring.model (name, spec) SELECT 'mr_new', spec FROM d;
RESET ROLE;
SELECT * FROM pg_temp.rows_of('mr_new') WHERE n <> 0;

-- TRUNCATE of lead_scoring.model (its owner only) forgets every name.
BEGIN;
TRUNCATE lead_scoring.model;
SELECT count(*) AS rows_left FROM pg_temp.rows_of('mr_old') r WHERE n <> 0;
ROLLBACK;

-- Clean up.
DELETE FROM lead_scoring.model WHERE name IN ('main', 'mr_old', 'mr_new');
SELECT * FROM pg_temp.rows_of('mr_old') WHERE n <> 0;
DROP SCHEMA mr_alice CASCADE;
DROP SCHEMA mr_eve CASCADE;
DROP OWNED BY regress_mr_alice, regress_mr_eve, regress_mr_mallory;
DROP ROLE regress_mr_alice;
DROP ROLE regress_mr_eve;
DROP ROLE regress_mr_mallory;
