-- Change capture and refresh against hostile roles (doc/privileges.md):
-- mallory has the default rights only, eve owns a schema, alice owns her CRM
-- tables and the model cs_pipe. Every attack below made its role superuser,
-- wrote into another model's change log or leaked an identity before the
-- capture became a C trigger and refresh ran as the model's owner.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
DROP ROLE IF EXISTS regress_cs_alice;
DROP ROLE IF EXISTS regress_cs_eve;
DROP ROLE IF EXISTS regress_cs_mallory;
CREATE ROLE regress_cs_alice;
CREATE ROLE regress_cs_eve;
CREATE ROLE regress_cs_mallory;
CREATE SCHEMA cs_alice AUTHORIZATION regress_cs_alice;
CREATE SCHEMA cs_eve AUTHORIZATION regress_cs_eve;
-- Who is superuser, at the end of each attack.
CREATE VIEW pg_temp.supers AS
SELECT string_agg(rolname, ', ' ORDER BY rolname) FILTER (WHERE rolsuper) AS superusers_among_them
  FROM pg_roles WHERE rolname IN ('regress_cs_alice', 'regress_cs_eve', 'regress_cs_mallory');

-- alice's CRM: 20 leads, software every third; events without decay, so a
-- lead's score is 10 (software) + 30 per demo + 1 per view.
SET ROLE regress_cs_alice;
CREATE TABLE cs_alice.leads (id bigint PRIMARY KEY, industry text);
CREATE TABLE cs_alice.events (lead_id bigint, kind text, at timestamptz);
INSERT INTO cs_alice.leads SELECT g, CASE WHEN g % 3 = 0 THEN 'software' ELSE 'retail' END FROM generate_series(1, 20) g;
INSERT INTO cs_alice.events SELECT 1 + g % 20, CASE WHEN g % 4 = 0 THEN 'demo' ELSE 'view' END, '2024-03-01+00'
  FROM generate_series(1, 50) g;
INSERT INTO lead_scoring.model (name, spec) VALUES ('cs_pipe', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"demo": {"points": 30}, "view": {"points": 1}}, "decay": {"kind": "none"}},
  "source": {"leads": {"table": "cs_alice.leads", "id": "id"},
             "events": {"table": "cs_alice.events", "lead_id": "lead_id", "type": "kind", "time": "at"},
             "target": "cs_alice.ranking"}}');
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00') AS leads;
-- The ranking against plain SQL over the same rows: the number of leads whose
-- score differs.
CREATE FUNCTION cs_alice.wrong_scores() RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM cs_alice.leads l
  FULL JOIN cs_alice.ranking r ON r.lead_id = l.id
 WHERE r.score IS DISTINCT FROM
       (CASE WHEN l.industry = 'software' THEN 10 ELSE 0 END)
       + coalesce((SELECT sum(CASE e.kind WHEN 'demo' THEN 30 WHEN 'view' THEN 1 ELSE 0 END)
                     FROM cs_alice.events e WHERE e.lead_id = l.id AND e.at <= '2024-03-10+00'), 0)
$$;
SELECT cs_alice.wrong_scores();
RESET ROLE;
SELECT count(*) AS change_rows FROM lead_scoring.change_log WHERE model = 'cs_pipe';

-- 1. A pg_temp view named new_rows and a pg_temp function, with the capture
-- attached to a temporary table without transition tables: the old PL/pgSQL
-- function read the view as the extension owner, and evil() ran as superuser.
SET ROLE regress_cs_mallory;
CREATE FUNCTION pg_temp.evil() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'ALTER ROLE regress_cs_mallory SUPERUSER'; RETURN 1; END $$;
CREATE TEMP TABLE t (lead_id bigint);
CREATE TEMP VIEW new_rows AS SELECT pg_temp.evil() AS lead_id;
CREATE TRIGGER x AFTER INSERT ON pg_temp.t FOR EACH STATEMENT
    EXECUTE FUNCTION lead_scoring._capture_changes('cs_pipe', 'lead_id');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pg_temp.t VALUES (1);
RESET ROLE;
SELECT * FROM pg_temp.supers;
-- The function refuses such a trigger by itself too (here attached by a
-- superuser, as a restore or a hand-made trigger would): no transition tables.
CREATE TRIGGER ls_cs_pipe_ins AFTER INSERT ON pg_temp.t FOR EACH STATEMENT
    EXECUTE FUNCTION lead_scoring._capture_changes('cs_pipe', 'lead_id');
SET ROLE regress_cs_mallory;
INSERT INTO pg_temp.t VALUES (2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM pg_temp.supers;
DROP TRIGGER ls_cs_pipe_ins ON pg_temp.t;
-- and a direct call is not a trigger call
SELECT lead_scoring._capture_changes();
\echo :LAST_ERROR_SQLSTATE

-- 2. A lead-id column of eve's own composite type with eve's own cast to text:
-- the old function's ::pg_catalog.text ran the cast as the extension owner.
SET ROLE regress_cs_eve;
CREATE TYPE cs_eve.lid AS (v bigint);
CREATE FUNCTION cs_eve.lid_text(cs_eve.lid) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'ALTER ROLE regress_cs_eve SUPERUSER'; RETURN ($1).v::text; END $$;
CREATE CAST (cs_eve.lid AS text) WITH FUNCTION cs_eve.lid_text(cs_eve.lid);
CREATE TABLE cs_eve.t (lead_id cs_eve.lid);
INSERT INTO lead_scoring.model (name, spec) VALUES ('cs_eve_cast', '{"source": {"leads": {"table": "cs_eve.t", "id": "lead_id"}}}');
CREATE TRIGGER ls_cs_eve_cast_ins AFTER INSERT ON cs_eve.t REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes('cs_eve_cast', 'lead_id');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO cs_eve.t VALUES (ROW(1));
RESET ROLE;
SELECT * FROM pg_temp.supers;
-- Attached by a superuser, the trigger is refused for the column's type: the
-- id is never converted by a cast.
CREATE TRIGGER ls_cs_eve_cast_ins AFTER INSERT ON cs_eve.t REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes('cs_eve_cast', 'lead_id');
SET ROLE regress_cs_eve;
INSERT INTO cs_eve.t VALUES (ROW(2));
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM pg_temp.supers;
DROP TRIGGER ls_cs_eve_cast_ins ON cs_eve.t;

-- 3. The capture on mallory's own table with alice's model name: the old
-- function appended whatever mallory wrote to cs_pipe's change log (and a
-- TRUNCATE forced a full refresh).
SET ROLE regress_cs_mallory;
CREATE TEMP TABLE m3 (lead_id bigint);
CREATE TRIGGER ls_cs_pipe_ins AFTER INSERT ON pg_temp.m3 REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes('cs_pipe', 'lead_id');
\echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER ls_cs_pipe_trunc AFTER TRUNCATE ON pg_temp.m3
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes('cs_pipe', 'lead_id');
INSERT INTO pg_temp.m3 SELECT g FROM generate_series(1, 100) g;
TRUNCATE pg_temp.m3;
RESET ROLE;
SELECT count(*) AS change_rows FROM lead_scoring.change_log WHERE model = 'cs_pipe';
-- Attached by a superuser, both are refused: cs_pipe does not map pg_temp.m3.
CREATE TRIGGER ls_cs_pipe_ins AFTER INSERT ON pg_temp.m3 REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes('cs_pipe', 'lead_id');
CREATE TRIGGER ls_cs_pipe_trunc AFTER TRUNCATE ON pg_temp.m3
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes('cs_pipe', 'lead_id');
CREATE TRIGGER ls_cs_nope_del AFTER DELETE ON pg_temp.m3 REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes('cs_nope', 'lead_id');
-- (The errors name the temporary schema, pg_temp_<backend number>, which
-- differs between runs and PostgreSQL versions: pg_temp.refused prints them
-- with that number masked.)
CREATE FUNCTION pg_temp.refused(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'not refused';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'pg_temp_[0-9]+', 'pg_temp_N', 'g');
END $$;
SET ROLE regress_cs_mallory;
SELECT pg_temp.refused('INSERT INTO pg_temp.m3 SELECT g FROM generate_series(1, 100) g');
SELECT pg_temp.refused('TRUNCATE pg_temp.m3');
SELECT pg_temp.refused('DELETE FROM pg_temp.m3');
RESET ROLE;
SELECT count(*) AS change_rows FROM lead_scoring.change_log WHERE model = 'cs_pipe';
DROP TABLE pg_temp.m3, pg_temp.t;
DROP VIEW pg_temp.new_rows;
-- Nobody but the extension owner may execute the capture function.
SELECT grantee FROM information_schema.routine_privileges
 WHERE routine_schema = 'lead_scoring' AND routine_name = '_capture_changes' AND grantee <> current_user;

-- 4. The real triggers: installed by refresh, ENABLE ALWAYS, and they capture
-- a writer's changes (one id per lead, whatever the rows).
SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname LIKE 'ls\_cs\_pipe\_%' ORDER BY 1, 2;
GRANT USAGE ON SCHEMA cs_alice TO regress_cs_mallory;
GRANT INSERT, UPDATE ON cs_alice.events TO regress_cs_mallory;
SET ROLE regress_cs_mallory;
INSERT INTO cs_alice.events VALUES (3, 'demo', '2024-03-05+00'), (3, 'view', '2024-03-05+00'), (4, 'demo', '2024-03-05+00');
SELECT count(*) FROM lead_scoring.change_log;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT lead_id FROM lead_scoring.change_log WHERE model = 'cs_pipe' ORDER BY lead_id;
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00') AS leads;
SELECT mode, changed_leads FROM lead_scoring.refresh_log WHERE model = 'cs_pipe' ORDER BY id DESC LIMIT 1;
SELECT cs_alice.wrong_scores();

-- 5. Replicated rows: a subscriber (or session_replication_role = replica)
-- fires only ALWAYS triggers; the change is captured.
SET session_replication_role = replica;
INSERT INTO cs_alice.events VALUES (5, 'demo', '2024-03-06+00');
RESET session_replication_role;
SELECT lead_id FROM lead_scoring.change_log WHERE model = 'cs_pipe' ORDER BY lead_id;
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00') AS leads;
SELECT mode, changed_leads FROM lead_scoring.refresh_log WHERE model = 'cs_pipe' ORDER BY id DESC LIMIT 1;
SELECT cs_alice.wrong_scores();
-- A trigger the table's owner disabled (or re-enabled for origin rows only)
-- is seen at the next refresh, which is full and says why.
SET ROLE regress_cs_alice;
ALTER TABLE cs_alice.events DISABLE TRIGGER ls_cs_pipe_ins;
INSERT INTO cs_alice.events VALUES (6, 'demo', '2024-03-06+00');
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00') AS leads;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'cs_pipe' ORDER BY id DESC LIMIT 1;
SELECT cs_alice.wrong_scores();
ALTER TABLE cs_alice.events ENABLE TRIGGER ls_cs_pipe_upd;
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00') AS leads;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'cs_pipe' ORDER BY id DESC LIMIT 1;
SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname LIKE 'ls\_cs\_pipe\_%' AND t.tgenabled <> 'A';
RESET ROLE;

-- 6. A superuser refreshes alice's model: it runs as alice, so a trigger alice
-- planted on her ranking table sees alice, not the superuser.
SET ROLE regress_cs_alice;
CREATE TABLE cs_alice.seen (who text);
CREATE FUNCTION cs_alice.note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO cs_alice.seen VALUES (current_user); RETURN NULL; END $$;
CREATE TRIGGER note AFTER INSERT ON cs_alice.ranking FOR EACH STATEMENT EXECUTE FUNCTION cs_alice.note();
RESET ROLE;
-- (emptied first: a refresh writes only rows that changed, so it inserts every row)
DELETE FROM cs_alice.ranking;
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00', true) AS leads;
SELECT who FROM cs_alice.seen;
-- the owner's code runs as the owner, without the right to change identity
CREATE OR REPLACE FUNCTION cs_alice.note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN SET ROLE NONE; INSERT INTO cs_alice.seen VALUES (current_user); RETURN NULL; END $$;
DELETE FROM cs_alice.ranking;
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00', true) AS leads;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER note ON cs_alice.ranking;
-- and a caller without the owner's privileges may not refresh at all
SET ROLE regress_cs_mallory;
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 7. Nested refreshes: a trigger on one owner's ranking table calls the other
-- owner's SECURITY DEFINER function, which refreshes that owner's model (or
-- fails to, and catches the error). The session ends as it started.
SET ROLE regress_cs_eve;
CREATE TABLE cs_eve.leads (id bigint PRIMARY KEY, industry text);
INSERT INTO cs_eve.leads SELECT g, 'software' FROM generate_series(1, 5) g;
INSERT INTO lead_scoring.model (name, spec) VALUES ('cs_eve_m', '{"source": {"leads": {"table": "cs_eve.leads", "id": "id"}, "target": "cs_eve.ranking"}}');
INSERT INTO lead_scoring.model (name, spec) VALUES ('cs_eve_broken', '{"source": {"leads": {"table": "cs_eve.nope", "id": "id"}}}');
RESET ROLE;
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('cs_alice_broken', '{"source": {"leads": {"table": "cs_alice.nope", "id": "id"}}}', 'regress_cs_alice');
-- hook(): refreshes its owner's model ('ok') or its broken one ('fail', caught).
CREATE FUNCTION cs_alice.hook(what text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF what = 'ok' THEN PERFORM lead_scoring.refresh('cs_pipe', '2024-03-10+00');
    ELSE BEGIN PERFORM lead_scoring.refresh('cs_alice_broken'); EXCEPTION WHEN undefined_table THEN NULL; END;
    END IF;
END $$;
CREATE FUNCTION cs_eve.hook(what text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF what = 'ok' THEN PERFORM lead_scoring.refresh('cs_eve_m', '2024-03-10+00');
    ELSE BEGIN PERFORM lead_scoring.refresh('cs_eve_broken'); EXCEPTION WHEN undefined_table THEN NULL; END;
    END IF;
END $$;
ALTER FUNCTION cs_alice.hook(text) OWNER TO regress_cs_alice;
ALTER FUNCTION cs_eve.hook(text) OWNER TO regress_cs_eve;
GRANT USAGE ON SCHEMA cs_alice TO regress_cs_eve;
GRANT USAGE ON SCHEMA cs_eve TO regress_cs_alice;
GRANT EXECUTE ON FUNCTION cs_alice.hook(text) TO regress_cs_eve;
GRANT EXECUTE ON FUNCTION cs_eve.hook(text) TO regress_cs_alice;
-- call_hook(): the ranking trigger; TG_ARGV = (whose hook, what).
CREATE FUNCTION public.cs_call_hook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'alice' THEN PERFORM cs_alice.hook(TG_ARGV[1]); ELSE PERFORM cs_eve.hook(TG_ARGV[1]); END IF;
    RETURN NULL;
END $$;
SET ROLE regress_cs_eve;
SELECT lead_scoring.refresh('cs_eve_m', '2024-03-10+00') AS leads;  -- creates cs_eve.ranking
RESET ROLE;
CREATE FUNCTION pg_temp.nest(refresher text, model text, hook_owner text, what text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    target text := CASE model WHEN 'cs_pipe' THEN 'cs_alice.ranking' ELSE 'cs_eve.ranking' END;
    r text;
BEGIN
    EXECUTE format('CREATE TRIGGER hook AFTER INSERT ON %s FOR EACH STATEMENT EXECUTE FUNCTION public.cs_call_hook(%L, %L)',
                   target, hook_owner, what);
    EXECUTE format('SET SESSION AUTHORIZATION %I', refresher);
    PERFORM lead_scoring.refresh(model, '2024-03-10+00', true);
    r := current_user || ' | ' || session_user;
    RESET SESSION AUTHORIZATION;
    EXECUTE format('DROP TRIGGER hook ON %s', target);
    RETURN r;
END $$;
SELECT pg_temp.nest('regress_cs_eve', 'cs_eve_m', 'alice', 'ok') AS eve_nests_alice_ok,
       pg_temp.nest('regress_cs_eve', 'cs_eve_m', 'alice', 'fail') AS eve_nests_alice_failing,
       pg_temp.nest('regress_cs_alice', 'cs_pipe', 'eve', 'ok') AS alice_nests_eve_ok,
       pg_temp.nest('regress_cs_alice', 'cs_pipe', 'eve', 'fail') AS alice_nests_eve_failing;
SELECT model, count(*) FILTER (WHERE status = 'ok') AS ok_refreshes FROM lead_scoring.refresh_log
 WHERE model IN ('cs_pipe', 'cs_eve_m') GROUP BY 1 ORDER BY 1;

-- 8. A model whose owner may read a table but not put triggers on it: every
-- refresh is full, and the log says which privilege is missing.
GRANT SELECT ON cs_alice.leads TO regress_cs_eve;
SET ROLE regress_cs_eve;
INSERT INTO lead_scoring.model (name, spec) VALUES ('cs_eve_reads', '{"source": {"leads": {"table": "cs_alice.leads", "id": "id"}, "target": "cs_eve.ranking2"}}');
SELECT lead_scoring.refresh('cs_eve_reads', '2024-03-10+00') AS leads;
SELECT lead_scoring.refresh('cs_eve_reads', '2024-03-10+00') AS leads;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'cs_eve_reads' ORDER BY id;
RESET ROLE;

-- 9. Clean-up after the user: a model whose source moves leaves no trigger on
-- the old table, and a deleted model leaves none at all.
SET ROLE regress_cs_alice;
CREATE TABLE cs_alice.events2 (lead_id bigint, kind text, at timestamptz);
CREATE TABLE cs_alice.events3 (lead_id bigint, kind text, at timestamptz);
INSERT INTO lead_scoring.model (name, spec) VALUES ('cs_move', '{"source": {"leads": {"table": "cs_alice.leads", "id": "id"},
  "events": {"table": "cs_alice.events2", "lead_id": "lead_id", "type": "kind", "time": "at"}, "target": "cs_alice.ranking_move"}}');
SELECT lead_scoring.refresh('cs_move', '2024-03-10+00') AS leads;
CREATE VIEW pg_temp.move_triggers AS
SELECT substring(t.tgname FROM '^ls_(.*)_[a-z]+$') AS model, c.relname, count(*) AS triggers
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname LIKE 'ls\_cs\_move%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM pg_temp.move_triggers;
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,events,table}', '"cs_alice.events3"') WHERE name = 'cs_move';
SELECT * FROM pg_temp.move_triggers;
INSERT INTO cs_alice.events2 VALUES (1, 'demo', '2024-03-01+00');  -- no trigger left to refuse it
SELECT lead_scoring.refresh('cs_move', '2024-03-10+00') AS leads;
SELECT * FROM pg_temp.move_triggers;
UPDATE lead_scoring.model SET name = 'cs_moved' WHERE name = 'cs_move';
SELECT * FROM pg_temp.move_triggers;
SELECT lead_scoring.refresh('cs_moved', '2024-03-10+00') AS leads;
SELECT * FROM pg_temp.move_triggers;
DELETE FROM lead_scoring.model WHERE name = 'cs_moved';
SELECT * FROM pg_temp.move_triggers;
SELECT count(*) AS triggers_of_deleted_models FROM pg_trigger t
 WHERE t.tgfoid = 'lead_scoring._capture_changes()'::regprocedure
   AND NOT EXISTS (SELECT FROM lead_scoring.model m WHERE t.tgname LIKE 'ls\_' || m.name || '\_%');
-- cs_pipe's triggers on the same table are untouched
SELECT count(*) AS cs_pipe_triggers FROM pg_trigger WHERE tgname LIKE 'ls\_cs\_pipe\_%';
-- A source table renamed away (and replaced): the model maps the new table, the
-- old table's triggers refuse writes until the next refresh removes them.
INSERT INTO lead_scoring.model (name, spec) VALUES ('cs_ren', '{"source": {"leads": {"table": "cs_alice.leads", "id": "id"},
  "events": {"table": "cs_alice.events3", "lead_id": "lead_id", "type": "kind", "time": "at"}, "target": "cs_alice.ranking_ren"}}');
SELECT lead_scoring.refresh('cs_ren', '2024-03-10+00') AS leads;
ALTER TABLE cs_alice.events3 RENAME TO events3_old;
CREATE TABLE cs_alice.events3 (lead_id bigint, kind text, at timestamptz);
INSERT INTO cs_alice.events3_old VALUES (1, 'demo', '2024-03-01+00');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.refresh('cs_ren', '2024-03-10+00') AS leads;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'cs_ren' ORDER BY id DESC LIMIT 1;
INSERT INTO cs_alice.events3_old VALUES (1, 'demo', '2024-03-01+00');
SELECT c.relname, count(*) AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname LIKE 'ls\_cs\_ren\_%' GROUP BY 1 ORDER BY 1;
RESET ROLE;

-- 10. The capture writes change_log rows directly; a change_log that gained a
-- column with a default (a later version's layout) gets them through SQL.
ALTER TABLE lead_scoring.change_log ADD COLUMN noted_at timestamptz NOT NULL DEFAULT now();
INSERT INTO cs_alice.events VALUES (7, 'demo', '2024-03-07+00'), (8, 'demo', '2024-03-07+00');
SELECT lead_id, noted_at > now() - interval '1 hour' AS defaulted FROM lead_scoring.change_log WHERE model = 'cs_pipe' ORDER BY lead_id;
ALTER TABLE lead_scoring.change_log DROP COLUMN noted_at;
-- (and one with an index keeps it up to date)
CREATE INDEX cl_model ON lead_scoring.change_log (model);
INSERT INTO cs_alice.events VALUES (9, 'view', '2024-03-07+00');
SET enable_seqscan = off;
SELECT lead_id FROM lead_scoring.change_log WHERE model = 'cs_pipe' ORDER BY lead_id;
RESET enable_seqscan;
DROP INDEX lead_scoring.cl_model;
SELECT lead_scoring.refresh('cs_pipe', '2024-03-10+00') AS leads;
SELECT mode, changed_leads FROM lead_scoring.refresh_log WHERE model = 'cs_pipe' ORDER BY id DESC LIMIT 1;
SELECT cs_alice.wrong_scores();

-- Clean up.
DELETE FROM lead_scoring.model WHERE name LIKE 'cs\_%';
SELECT count(lead_scoring.drop_refresh_state(m)) AS dropped
  FROM unnest(ARRAY['cs_pipe', 'cs_eve_m', 'cs_eve_reads', 'cs_move', 'cs_moved', 'cs_ren']) m;
DELETE FROM lead_scoring.refresh_log WHERE model LIKE 'cs\_%';
DELETE FROM lead_scoring.stage_history WHERE model LIKE 'cs\_%';
DROP FUNCTION public.cs_call_hook();
DROP SCHEMA cs_alice CASCADE;
DROP SCHEMA cs_eve CASCADE;
DROP OWNED BY regress_cs_alice, regress_cs_eve, regress_cs_mallory;
DROP ROLE regress_cs_alice;
DROP ROLE regress_cs_eve;
DROP ROLE regress_cs_mallory;
