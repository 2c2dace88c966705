-- lead_scoring.refresh: source resolution (doc/rank.md, "Sources: resolved,
-- checked, quoted"). Every bad source is a clear ERROR and changes nothing; lead
-- ids of type int, bigint, text, uuid; the target's indexes serve "top N", "one
-- lead", "one stage"; privileges.
SET client_min_messages = notice;
CREATE SCHEMA src;
CREATE TABLE src.leads (id int PRIMARY KEY, industry text);
CREATE TABLE src.events (lead_id int, kind text, at timestamptz, n int);
CREATE TABLE src.victim (x int);
INSERT INTO src.victim VALUES (1);
INSERT INTO src.leads SELECT g, CASE WHEN g % 3 = 0 THEN 'software' ELSE 'retail' END FROM generate_series(1, 12000) g;  -- more than one 10000-row batch
INSERT INTO src.events SELECT 1 + (g * 7919) % 12000, CASE WHEN g % 5 = 0 THEN 'demo' ELSE 'view' END,
                              '2024-01-01 00:00+00'::timestamptz + g * interval '1 minute', g
FROM generate_series(1, 20000) g;
INSERT INTO lead_scoring.model (name, spec) VALUES ('src', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"view": {"points": 1}, "demo": {"points": 20}}},
  "stages": [{"stage": "hot", "min_score": 40}, {"stage": "warm", "min_score": 20}],
  "source": {"leads": {"table": "src.leads", "id": "id"},
             "events": {"table": "src.events", "lead_id": "lead_id", "type": "kind", "time": "at"}}}');
SELECT lead_scoring.refresh('src', '2024-02-01 00:00+00') AS leads_written;
ANALYZE lead_scoring.ranking_src;

-- The three reader queries are index scans (12000 rows: a plan choice, not forced):
-- some plan node scans one of the ranking's indexes.
\i sql/include/lib.sql
\set uses_index '''(Index|Index Only|Bitmap Index) Scan (using|on) ranking_src_'''
SELECT pg_temp.plan_has('SELECT * FROM lead_scoring.ranking_src_ranked WHERE rank <= 10', :uses_index) AS top_n,
       pg_temp.plan_has('SELECT * FROM lead_scoring.ranking_src WHERE lead_id = 42', :uses_index) AS one_lead,
       pg_temp.plan_has('SELECT * FROM lead_scoring.ranking_src WHERE stage = ''hot'' ORDER BY score DESC', :uses_index) AS one_stage;

-- Bad sources: each is an ERROR with its SQLSTATE, and nothing changes.
CREATE TEMP TABLE before AS SELECT * FROM lead_scoring.ranking_src;
CREATE TEMP TABLE log_before AS SELECT count(*) AS n FROM lead_scoring.refresh_log;
CREATE FUNCTION pg_temp.try_source(path text[], val jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE old jsonb;
BEGIN
    SELECT spec INTO old FROM lead_scoring.model WHERE name = 'src';
    UPDATE lead_scoring.model SET spec = jsonb_set(spec, path, val) WHERE name = 'src';
    BEGIN
        PERFORM lead_scoring.refresh('src', '2024-02-02 00:00+00');
        UPDATE lead_scoring.model SET spec = old WHERE name = 'src';
        RETURN 'no error';
    EXCEPTION WHEN OTHERS THEN
        UPDATE lead_scoring.model SET spec = old WHERE name = 'src';
        RETURN SQLSTATE || ': ' || SQLERRM;
    END;
END $$;
SELECT pg_temp.try_source('{source,leads,table}', '"src.nope"') AS missing_table;
SELECT pg_temp.try_source('{source,leads,table}', '"nope.leads"') AS missing_schema;
SELECT pg_temp.try_source('{source,events,table}', '"src.leads; DROP TABLE src.victim"') AS injection_table;
SELECT pg_temp.try_source('{source,events,table}', '"\"a\"\"b\""') AS quoted_quote_table;
SELECT pg_temp.try_source('{source,events,table}', '"src.events\"; DROP TABLE src.victim; --"') AS injection_quote;
SELECT pg_temp.try_source('{source,events,type}', '"nope"') AS missing_column;
SELECT pg_temp.try_source('{source,events,type}', '"kind; DROP TABLE src.victim"') AS injection_column;
SELECT pg_temp.try_source('{source,events,type}', '"\"a\"\"b\""') AS quoted_quote_column;
SELECT pg_temp.try_source('{source,events,type}', '"n"') AS type_not_text;
SELECT pg_temp.try_source('{source,events,time}', '"n"') AS time_not_timestamptz;
SELECT pg_temp.try_source('{source,events,lead_id}', '"kind"') AS lead_id_type_mismatch;
SELECT pg_temp.try_source('{source,leads,table}', '"pg_catalog.pg_class"') AS system_table_without_id;
SELECT pg_temp.try_source('{source,target}', '"src.victim"') AS target_with_wrong_columns;
SELECT pg_temp.try_source('{source,target}', '"nope.t"') AS target_missing_schema;
SELECT pg_temp.try_source('{source,target}', '"src.t; DROP TABLE src.victim"') AS target_injection;
-- nothing changed: the ranking, the log, the victim table
SELECT (SELECT count(*) FROM (SELECT * FROM before EXCEPT ALL SELECT * FROM lead_scoring.ranking_src) a)
     + (SELECT count(*) FROM (SELECT * FROM lead_scoring.ranking_src EXCEPT ALL SELECT * FROM before) b) AS ranking_diff,
       (SELECT count(*) FROM lead_scoring.refresh_log) - (SELECT n FROM log_before) AS new_log_rows,
       (SELECT count(*) FROM src.victim) AS victim_rows;
SELECT lead_scoring.refresh('nope') AS unknown_model;
SELECT lead_scoring.refresh('src', 'infinity') AS infinite_as_of;
INSERT INTO lead_scoring.model (name, spec) VALUES ('nosource', '{}');
SELECT lead_scoring.refresh('nosource') AS no_source;

-- lead_id types: int (above), bigint (refresh.sql), text and uuid; a custom target.
CREATE TABLE src.tleads (code text PRIMARY KEY, attrs jsonb);
CREATE TABLE src.tevents (code text, t text, at timestamptz);
INSERT INTO src.tleads VALUES ('a-1', '{"industry": "Software"}'), ('b''2', '{}'), ('c"3', NULL);
INSERT INTO src.tevents VALUES ('a-1', 'view', '2024-01-01+00'), ('c"3', 'demo', '2024-01-02+00'), ('zz', 'demo', '2024-01-02+00');
INSERT INTO lead_scoring.model (name, spec) VALUES ('txt', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"view": {"points": 1}, "demo": {"points": 20}}},
  "source": {"leads": {"table": "src.tleads", "id": "code", "properties": "attrs"},
             "events": {"table": "src.tevents", "lead_id": "code", "type": "t", "time": "at"},
             "target": "src.\"Txt Ranking\""}}');
SELECT lead_scoring.refresh('txt', '2024-02-01 00:00+00');
SELECT lead_id, score, fit, activity, rank, stage FROM src."Txt Ranking_ranked" ORDER BY rank;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'src."Txt Ranking"'::regclass AND attname = 'lead_id';
INSERT INTO src.tevents VALUES ('b''2', 'demo', '2024-01-03+00');
SELECT lead_scoring.refresh('txt', '2024-02-01 00:00+00');
SELECT lead_id, score, rank FROM src."Txt Ranking_ranked" ORDER BY rank, lead_id;
SELECT mode FROM lead_scoring.refresh_log WHERE model = 'txt' ORDER BY id DESC LIMIT 1;

CREATE TABLE src.uleads (id uuid PRIMARY KEY, industry text);
CREATE TABLE src.uevents (lead uuid, t text, at timestamptz);
INSERT INTO src.uleads VALUES ('00000000-0000-0000-0000-000000000001', 'software'), ('00000000-0000-0000-0000-000000000002', 'x');
INSERT INTO src.uevents VALUES ('00000000-0000-0000-0000-000000000002', 'demo', '2024-01-01+00');
INSERT INTO lead_scoring.model (name, spec) VALUES ('uu', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"demo": {"points": 20}}},
  "source": {"leads": {"table": "src.uleads", "id": "id"},
             "events": {"table": "src.uevents", "lead_id": "lead", "type": "t", "time": "at"}}}');
SELECT lead_scoring.refresh('uu', '2024-02-01 00:00+00');
SELECT lead_id, score, rank FROM lead_scoring.ranking_uu_ranked ORDER BY rank;
UPDATE src.uevents SET lead = '00000000-0000-0000-0000-000000000001';
SELECT lead_scoring.refresh('uu', '2024-02-01 00:00+00');
SELECT lead_id, score, rank FROM lead_scoring.ranking_uu_ranked ORDER BY rank;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'lead_scoring.ranking_uu'::regclass AND attname = 'lead_id';

-- try_source's edits unmapped src.leads and src.events for a while, which
-- removed the model's capture triggers there: this refresh puts them back.
SELECT lead_scoring.refresh('src', '2024-02-01 00:00+00') AS leads_written;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'src' ORDER BY id DESC LIMIT 1;
-- Privileges. Only the model's owner (or a member) may refresh it. Writers of the
-- CRM tables need no right on change_log: the capture trigger appends for them
-- (as the extension owner), and they cannot read or write change_log themselves.
CREATE ROLE regress_ls_writer;
CREATE ROLE regress_ls_other;
GRANT USAGE ON SCHEMA src TO regress_ls_writer, regress_ls_other;
GRANT INSERT, UPDATE, DELETE, SELECT ON src.events TO regress_ls_writer;
SET ROLE regress_ls_writer;
INSERT INTO src.events VALUES (7, 'demo', '2024-01-20+00', 0);
DELETE FROM src.events WHERE lead_id = 8;
SELECT count(*) FROM lead_scoring.change_log;
INSERT INTO lead_scoring.change_log VALUES ('src', '1');
RESET ROLE;
SELECT lead_id FROM lead_scoring.change_log WHERE model = 'src' ORDER BY lead_id::int;
SET ROLE regress_ls_other;
DO $$ BEGIN PERFORM lead_scoring.refresh('src', '2024-02-01 00:00+00');
EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'not the owner: % (%)', SQLSTATE, split_part(SQLERRM, ':', 1); END $$;
RESET ROLE;
-- a role that owns a model but cannot read its source gets the source's error
ALTER TABLE src.leads OWNER TO regress_ls_other;
UPDATE lead_scoring.model SET owner = 'regress_ls_other' WHERE name = 'src';
GRANT regress_ls_other TO CURRENT_USER;
SET ROLE regress_ls_other;
-- (first its target, still the old owner's, is refused: doc/privileges.md)
SELECT lead_scoring.refresh('src', '2024-02-01 00:00+00');
RESET ROLE;
ALTER TABLE lead_scoring.ranking_src OWNER TO regress_ls_other;
SET ROLE regress_ls_other;
SELECT lead_scoring.refresh('src', '2024-02-01 00:00+00');
RESET ROLE;
ALTER TABLE lead_scoring.ranking_src OWNER TO CURRENT_USER;
ALTER TABLE src.leads OWNER TO CURRENT_USER;
UPDATE lead_scoring.model SET owner = CURRENT_USER::regrole WHERE name = 'src';
SELECT lead_scoring.refresh('src', '2024-02-01 00:00+00') AS leads_written;
SELECT mode, changed_leads FROM lead_scoring.refresh_log WHERE model = 'src' ORDER BY id DESC LIMIT 1;
-- the leaderboard view shows a model's leads only to members of its owner role
SET ROLE regress_ls_other;
SELECT count(*) AS visible_leaderboard_rows FROM lead_scoring.leaderboard WHERE model IN ('src', 'txt', 'uu');
RESET ROLE;
SELECT count(DISTINCT model) AS models_on_leaderboard FROM lead_scoring.leaderboard WHERE model IN ('src', 'txt', 'uu');

-- the default target belongs to the model's owner, even when a superuser refreshes it
-- (the refresh runs as the owner, who must be able to read the source)
GRANT SELECT ON src.tleads TO regress_ls_other;
INSERT INTO lead_scoring.model (name, spec, owner)
VALUES ('own', '{"source": {"leads": {"table": "src.tleads", "id": "code"}}}', 'regress_ls_other');
SELECT lead_scoring.refresh('own', '2024-02-01 00:00+00') AS leads_written;
SELECT pg_get_userbyid(relowner) AS ranking_owner FROM pg_class WHERE oid = 'lead_scoring.ranking_own'::regclass;
-- so is its _ranked view: owned by the extension owner it would read the table
-- past the owner's row-level security for anyone it were granted to
SELECT pg_get_userbyid(relowner) AS ranked_view_owner FROM pg_class WHERE oid = 'lead_scoring.ranking_own_ranked'::regclass;
CALL pg_temp.drop_models('own');
DROP SCHEMA src CASCADE;
DELETE FROM lead_scoring.model WHERE name IN ('src', 'txt', 'uu', 'nosource');
REVOKE regress_ls_other FROM CURRENT_USER;
DROP ROLE regress_ls_writer;
DROP ROLE regress_ls_other;
