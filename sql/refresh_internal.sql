-- Internal per-model tables cannot be pinned, and DROP EXTENSION says what it
-- would leave behind (doc/rank.md, "Removing a model").
--
-- 1. Any role could pin a model's state table with a view (privileges are
-- checked when a view is read, not when it is created), and every full refresh
-- of the model (which recreates that table) and drop_refresh_state failed.
-- The state tables now live in schema lead_scoring_state, on which no other role
-- has USAGE: they cannot even be named.
SET client_min_messages = warning;
CREATE ROLE regress_ls_pin_owner;
CREATE ROLE regress_ls_pin_mallory;
CREATE SCHEMA pin AUTHORIZATION regress_ls_pin_owner;
CREATE TABLE pin.leads (id int PRIMARY KEY, industry text);
CREATE TABLE pin.events (lead_id int, kind text, at timestamptz);
INSERT INTO pin.leads SELECT g, 'software' FROM generate_series(1, 5) g;
INSERT INTO pin.events SELECT g, 'view', '2024-03-01 00:00+00' FROM generate_series(1, 5) g;
ALTER TABLE pin.leads OWNER TO regress_ls_pin_owner;
ALTER TABLE pin.events OWNER TO regress_ls_pin_owner;
SET ROLE regress_ls_pin_owner;
INSERT INTO lead_scoring.model (name, spec) VALUES ('pin', '{
  "activity": {"events": {"view": {"points": 1}}},
  "source": {"leads": {"table": "pin.leads", "id": "id"},
             "events": {"table": "pin.events", "lead_id": "lead_id", "type": "kind", "time": "at"}}}');
SELECT lead_scoring.refresh('pin', '2024-03-10 00:00+00');
RESET ROLE;

-- mallory finds the state table through refresh_state (readable by everyone)
-- and tries to pin it.
SET ROLE regress_ls_pin_mallory;
DO $$
DECLARE t text := (SELECT state_table::regclass::text FROM lead_scoring.refresh_state WHERE model = 'pin');
BEGIN
    EXECUTE format('CREATE TEMP VIEW pin_view AS SELECT * FROM %s', t);
    RAISE WARNING 'pinned %', t;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'cannot pin: % (%)', SQLERRM, SQLSTATE;
END $$;
SELECT count(*) AS readable FROM lead_scoring_state.pin;
RESET ROLE;

-- Full refreshes and drop_refresh_state still work.
SET ROLE regress_ls_pin_owner;
SELECT lead_scoring.refresh('pin', '2024-03-10 00:00+00', true) AS full_refresh;
SELECT lead_scoring.refresh('pin', '2024-03-11 00:00+00', true) AS full_refresh_again;
RESET ROLE;
\i sql/include/lib.sql
CALL pg_temp.drop_models('pin');
SELECT to_regclass('lead_scoring_state.pin') AS state_table_dropped;

DROP SCHEMA pin CASCADE;
DROP ROLE regress_ls_pin_owner, regress_ls_pin_mallory;

-- 2. DROP EXTENSION ... CASCADE used to leave lead_scoring.ranking_<model> and
-- lead_scoring._state_<model> behind in schema lead_scoring (created by CREATE
-- EXTENSION, but not part of the extension), and plain DROP EXTENSION did not
-- name them. Now both depend on the extension: DROP EXTENSION names them and
-- refuses; with CASCADE they go too. A target the user named
-- ($.source.target) is the user's table: it stays.
\set regress_db :DBNAME
CREATE DATABASE lead_scoring_dropext;
\c lead_scoring_dropext
SET client_min_messages = warning;
CREATE EXTENSION lead_scoring;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY);
INSERT INTO crm.leads SELECT generate_series(1, 3);
INSERT INTO lead_scoring.model (name, spec) VALUES
  ('dflt', '{"fit": {"rules": []}, "source": {"leads": {"table": "crm.leads", "id": "id"}}}'),
  ('own', '{"fit": {"rules": []}, "source": {"leads": {"table": "crm.leads", "id": "id"}, "target": "crm.own_ranking"}}');
SELECT lead_scoring.refresh('dflt'), lead_scoring.refresh('own');
DO $$
DECLARE d text;
BEGIN
    DROP EXTENSION lead_scoring;
EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE WARNING 'refused; names the ranking: %, the state: %',
        d LIKE '%table lead_scoring.ranking_dflt depends on extension lead_scoring%',
        d LIKE '%table lead_scoring_state.dflt depends on schema lead_scoring_state%';
END $$;
DROP EXTENSION lead_scoring CASCADE;
SELECT to_regclass('lead_scoring.ranking_dflt') AS ranking, to_regclass('lead_scoring_state.dflt') AS state,
       to_regclass('crm.own_ranking') IS NOT NULL AS user_target_kept,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('lead_scoring', 'lead_scoring_state')) AS left_in_schemas;
\c :regress_db
DROP DATABASE lead_scoring_dropext;
