-- The extension's views over every model's rows (leaderboard, funnel) and the
-- row-level-security tables (refresh_log, stage_history) show a model's rows
-- only to members of its owner. A caller's own quals must not run on the other
-- rows first: neither a failing cast (the error message quotes the row) nor a
-- cheap function of the caller's (it sees every row it is called on). The
-- views are security barriers; row-level security is one by construction.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

DROP ROLE IF EXISTS regress_lsb_alice;
DROP ROLE IF EXISTS regress_lsb_mallory;
CREATE ROLE regress_lsb_alice;
CREATE ROLE regress_lsb_mallory;   -- default rights only (CONNECT, TEMP)

-- alice's CRM and model, refreshed: 3 leads, 2 stages.
CREATE SCHEMA vb_crm AUTHORIZATION regress_lsb_alice;
SET ROLE regress_lsb_alice;
CREATE TABLE vb_crm.leads (id int PRIMARY KEY, industry text, email text);
INSERT INTO vb_crm.leads VALUES (1, 'Software', 'ceo@secret-customer.example'), (2, 'Retail', 'x@y.example'),
                                (3, 'Software', 'cfo@other.example');
INSERT INTO lead_scoring.model (name, spec) VALUES ('vb_pipeline', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 30, "label": "top secret segment"}]},
  "stages": [{"stage": "SQL", "min_score": 20}],
  "source": {"leads": {"table": "vb_crm.leads", "id": "id"}}}');
SELECT lead_scoring.refresh('vb_pipeline', '2026-01-01 00:00+00') AS ranked;
-- a second refresh moves lead 2 from new to SQL: one stage_history row
UPDATE vb_crm.leads SET industry = 'software' WHERE id = 2;
SELECT lead_scoring.refresh('vb_pipeline', '2026-01-02 00:00+00') AS ranked_again;
-- what alice sees
SELECT lead_id, rank, score, stage, reasons FROM lead_scoring.leaderboard WHERE model = 'vb_pipeline' ORDER BY rank, lead_id;
SELECT stage, position, leads, reached FROM lead_scoring.funnel WHERE model = 'vb_pipeline' ORDER BY position;
SELECT count(*) AS alice_log_rows FROM lead_scoring.refresh_log WHERE model = 'vb_pipeline';
SELECT lead_id, from_stage, to_stage FROM lead_scoring.stage_history WHERE model = 'vb_pipeline';
RESET ROLE;

-- The views are declared security barriers.
SELECT c.oid::regclass AS view, coalesce('security_barrier=true' = ANY (c.reloptions), false) AS security_barrier
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'lead_scoring'::regnamespace AND c.relkind = 'v'
   AND c.relname IN ('leaderboard', 'funnel')
 ORDER BY 1;

SET client_min_messages = notice;   -- a leak would show as a NOTICE
SET ROLE regress_lsb_mallory;
-- Plainly, mallory sees none of alice's rows.
SELECT (SELECT count(*) FROM lead_scoring.leaderboard WHERE model = 'vb_pipeline') AS leaderboard,
       (SELECT count(*) FROM lead_scoring.funnel WHERE model = 'vb_pipeline') AS funnel,
       (SELECT count(*) FROM lead_scoring.refresh_log WHERE model = 'vb_pipeline') AS refresh_log,
       (SELECT count(*) FROM lead_scoring.stage_history WHERE model = 'vb_pipeline') AS stage_history;

-- Trick 1: a cast that fails on the row it is evaluated on would quote that
-- row in the error. Each query returns no row and no error.
SELECT * FROM lead_scoring.leaderboard
 WHERE model = 'vb_pipeline' AND rank = 1 AND (lead_id || ' / ' || score || ' / ' || reasons)::int = 0;
SELECT * FROM lead_scoring.funnel
 WHERE model = 'vb_pipeline' AND (stage || ' / ' || leads)::int = 0;
SELECT * FROM lead_scoring.refresh_log
 WHERE model = 'vb_pipeline' AND (model || ' / ' || leads)::int = 0;
SELECT * FROM lead_scoring.stage_history
 WHERE model = 'vb_pipeline' AND (lead_id || ' / ' || to_stage)::int = 0;
-- on the funnel, a qual on the model column alone is pushed below its window
-- functions: it too must wait for the owner filter
SELECT * FROM lead_scoring.funnel WHERE (model || ' is a model')::int = 0;

-- Trick 2: a function of mallory's, so cheap that the planner would run it
-- before the owner filter, prints every row it is called on. No NOTICE.
CREATE FUNCTION pg_temp.peek(variadic v text[]) RETURNS boolean
    LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    RAISE NOTICE 'leaked: %', v;
    RETURN true;
END $$;
SELECT count(*) AS leaderboard_rows FROM lead_scoring.leaderboard
 WHERE pg_temp.peek(model, lead_id, score::text, reasons::text);
SELECT count(*) AS funnel_rows FROM lead_scoring.funnel WHERE pg_temp.peek(model, stage, leads::text);
SELECT count(*) AS funnel_rows FROM lead_scoring.funnel WHERE pg_temp.peek(model);
SELECT count(*) AS refresh_log_rows FROM lead_scoring.refresh_log WHERE pg_temp.peek(model);
SELECT count(*) AS stage_history_rows FROM lead_scoring.stage_history WHERE pg_temp.peek(model, lead_id, to_stage);
DROP FUNCTION pg_temp.peek(text[]);
RESET ROLE;
SET client_min_messages = warning;

-- Clean up.
SELECT lead_scoring.drop_refresh_state('vb_pipeline') IS NOT NULL AS dropped_state;
DELETE FROM lead_scoring.refresh_log WHERE model = 'vb_pipeline';
DELETE FROM lead_scoring.stage_history WHERE model = 'vb_pipeline';
DELETE FROM lead_scoring.model WHERE name = 'vb_pipeline';
DROP TABLE lead_scoring.ranking_vb_pipeline CASCADE;
DROP SCHEMA vb_crm CASCADE;
DROP ROLE regress_lsb_alice;
DROP ROLE regress_lsb_mallory;
