-- Privileges (doc/privileges.md, doc/foundation.md#models, doc/rank.md): row-level security on
-- lead_scoring.model, invoker rights of every function that reads tables.
-- Two ordinary roles, alice and bob, and a team role alice belongs to.
SET extra_float_digits = 0;
SET client_min_messages = warning;
-- Errors are shown with their SQLSTATE (psql's LAST_ERROR_SQLSTATE).
\set SHOW_CONTEXT never

DROP ROLE IF EXISTS regress_ls_alice;
DROP ROLE IF EXISTS regress_ls_bob;
DROP ROLE IF EXISTS regress_ls_team;
DROP ROLE IF EXISTS regress_ls_super;
DROP ROLE IF EXISTS regress_ls_gone;
CREATE ROLE regress_ls_alice;
CREATE ROLE regress_ls_bob;
CREATE ROLE regress_ls_team;
CREATE ROLE regress_ls_super SUPERUSER;
GRANT regress_ls_team TO regress_ls_alice;

-- The table's security settings and grants as installed.
SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = 'lead_scoring.model'::regclass;
SELECT p.polname, p.polcmd, pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
  FROM pg_catalog.pg_policy p WHERE p.polrelid = 'lead_scoring.model'::regclass ORDER BY p.polname;
SELECT privilege_type FROM information_schema.role_table_grants
 WHERE table_schema = 'lead_scoring' AND table_name = 'model' AND grantee = 'PUBLIC' ORDER BY 1;
-- Nobody but the owner can create objects in the extension's schema.
SELECT pg_catalog.has_schema_privilege('regress_ls_bob', 'lead_scoring', 'CREATE') AS bob_may_create_in_lead_scoring;

-- alice creates models: one of her own, one owned by her team.
SET ROLE regress_ls_alice;
INSERT INTO lead_scoring.model (name, spec) VALUES
    ('priv_a', '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]}}');
INSERT INTO lead_scoring.model (name, spec, owner) VALUES
    ('priv_team', '{"fit": {"rules": [{"field": "industry", "eq": "retail", "points": 5}]}}', 'regress_ls_team');
SELECT name, owner FROM lead_scoring.model WHERE name LIKE 'priv\_%' ORDER BY name;
-- She scores by name; an edit is seen by the next call (the cache invalidation
-- trigger runs for an ordinary role).
SELECT lead_scoring.fit_score('priv_a', '{"industry": "Software"}'::jsonb) AS alice_score_10;
UPDATE lead_scoring.model SET spec = '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 12}]}}'
 WHERE name = 'priv_a';
SELECT lead_scoring.fit_score('priv_a', '{"industry": "Software"}'::jsonb) AS alice_score_12;
-- A bad spec still names the JSON path of the problem.
UPDATE lead_scoring.model SET spec = '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": "12"}]}}'
 WHERE name = 'priv_a';
\echo :LAST_ERROR_SQLSTATE
-- She cannot give a model to a role she is not a member of: not to bob, not to a
-- superuser. (Owner errors are shown as SQLSTATE only: the worker's owner-check
-- trigger, when present, raises them first with its own wording.)
\set VERBOSITY sqlstate
UPDATE lead_scoring.model SET owner = 'regress_ls_bob' WHERE name = 'priv_a';
UPDATE lead_scoring.model SET owner = 'regress_ls_super' WHERE name = 'priv_a';
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('priv_a_super', '{}', 'regress_ls_super');
\set VERBOSITY default
-- Re-owning between roles she is a member of is fine (and back).
UPDATE lead_scoring.model SET owner = 'regress_ls_team' WHERE name = 'priv_a';
UPDATE lead_scoring.model SET owner = 'regress_ls_alice' WHERE name = 'priv_a';
RESET ROLE;

-- bob sees every model and may score with it by name (specs are configuration).
SET ROLE regress_ls_bob;
SELECT name, owner FROM lead_scoring.model WHERE name LIKE 'priv\_%' ORDER BY name;
SELECT lead_scoring.fit_score('priv_a', '{"industry": "Software"}'::jsonb) AS bob_score_12;
-- He cannot change, re-own or delete alice's models: no row matches...
WITH u AS (UPDATE lead_scoring.model SET spec = '{}' WHERE name = 'priv_a' RETURNING 1)
SELECT count(*) AS spec_updated FROM u;
WITH u AS (UPDATE lead_scoring.model SET owner = 'regress_ls_bob' WHERE name = 'priv_a' RETURNING 1)
SELECT count(*) AS reowned FROM u;
WITH u AS (UPDATE lead_scoring.model SET enabled = false, refresh_interval = '1 second'
           WHERE name LIKE 'priv\_%' RETURNING 1)
SELECT count(*) AS rescheduled FROM u;
WITH d AS (DELETE FROM lead_scoring.model WHERE name IN ('priv_a', 'priv_team') RETURNING 1)
SELECT count(*) AS deleted FROM d;
-- ...an upsert onto her model is an error...
INSERT INTO lead_scoring.model (name, spec) VALUES ('priv_a', '{}')
    ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec;
\echo :LAST_ERROR_SQLSTATE
-- ...and TRUNCATE (which row-level security would not filter) is not granted.
TRUNCATE lead_scoring.model;
\echo :LAST_ERROR_SQLSTATE
-- He cannot create a model owned by alice, by her team or by a superuser: the
-- worker would refresh it with their rights.
\set VERBOSITY sqlstate
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('priv_b_as_alice', '{}', 'regress_ls_alice');
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('priv_b_as_team', '{}', 'regress_ls_team');
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('priv_b_as_super', '{}', 'regress_ls_super');
-- His own model: fine, owner defaults to him; re-owning it to alice is refused.
INSERT INTO lead_scoring.model (name, spec) VALUES ('priv_b', '{}');
UPDATE lead_scoring.model SET owner = 'regress_ls_alice' WHERE name = 'priv_b';
\set VERBOSITY default
RESET ROLE;

-- Nothing of alice's changed (checked as the superuser, who sees every row).
SELECT name, owner, spec, enabled, refresh_interval FROM lead_scoring.model WHERE name LIKE 'priv\_%' ORDER BY name;

-- alice may edit and delete what her team owns; bob's model is out of her reach.
SET ROLE regress_ls_alice;
UPDATE lead_scoring.model SET description = 'team model' WHERE name = 'priv_team';
WITH d AS (DELETE FROM lead_scoring.model WHERE name = 'priv_b' RETURNING 1)
SELECT count(*) AS deleted FROM d;
RESET ROLE;
SELECT name, owner, description FROM lead_scoring.model WHERE name LIKE 'priv\_%' ORDER BY name;

-- Functions that read the model's source tables read them as the model's
-- owner, for callers with the owner's privileges. alice owns the model, bob
-- is no member of her role.
CREATE SCHEMA priv_crm;
CREATE TABLE priv_crm.leads (id int PRIMARY KEY, industry text, props jsonb);
INSERT INTO priv_crm.leads SELECT i, (ARRAY['Software', 'Retail'])[i % 2 + 1], '{}' FROM generate_series(1, 20) i;
CREATE TABLE priv_crm.deals (lead_id int, won_at timestamptz);
INSERT INTO priv_crm.deals SELECT i, timestamptz '2026-01-01 00:00+00' + i * interval '1 day'
  FROM generate_series(1, 20) i WHERE i % 3 = 0;
CREATE TABLE priv_crm.ranking (lead_id int, score float8, stage text, disqualified boolean);
INSERT INTO priv_crm.ranking SELECT id, CASE WHEN industry = 'Software' THEN 10 ELSE 0 END, 'new', false FROM priv_crm.leads;
GRANT USAGE ON SCHEMA priv_crm TO regress_ls_alice, regress_ls_bob;
GRANT SELECT ON ALL TABLES IN SCHEMA priv_crm TO regress_ls_alice;
SET ROLE regress_ls_alice;
UPDATE lead_scoring.model SET spec = spec || '{"source": {
    "leads": {"table": "priv_crm.leads", "id": "id", "properties": "props"},
    "conversions": {"table": "priv_crm.deals", "lead_id": "lead_id", "time": "won_at"},
    "target": "priv_crm.ranking"}}' WHERE name = 'priv_a';
-- alice: results, checked against plain SQL over the same tables.
SELECT kind, bucket, leads, converted FROM lead_scoring.evaluate('priv_a') WHERE kind <> 'decile';
SELECT count(*) AS leads, count(d.lead_id) AS converted FROM priv_crm.leads l LEFT JOIN priv_crm.deals d ON d.lead_id = l.id;
SELECT value, leads, converted FROM lead_scoring.attribute_lift('priv_a', 'industry');
SELECT l.industry, count(*), count(d.lead_id) FROM priv_crm.leads l LEFT JOIN priv_crm.deals d ON d.lead_id = l.id
 GROUP BY 1 ORDER BY 1;
RESET ROLE;
-- bob: permission denied (42501), not a result and not a leak.
SET ROLE regress_ls_bob;
SELECT * FROM lead_scoring.evaluate('priv_a');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.attribute_lift('priv_a', 'industry');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.suggest_model('priv_a');
\echo :LAST_ERROR_SQLSTATE
-- generate_sample_crm writes only where the caller may: not into alice's tables'
-- schema, but into a schema of his own (without CREATE on the database).
SELECT lead_scoring.generate_sample_crm('priv_crm', 5, 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
CREATE SCHEMA priv_bob AUTHORIZATION regress_ls_bob;
SET ROLE regress_ls_bob;
SELECT lead_scoring.generate_sample_crm('priv_bob', 5, 1)->>'leads' AS bob_sample_leads;
SELECT count(*) AS leads FROM priv_bob.leads;
RESET ROLE;

-- A model whose owner role was dropped (regrole records no dependency): the
-- policies see no member, so other users' writes still work and nobody but a
-- superuser can take the model over; the superuser re-owns (or deletes) it.
CREATE ROLE regress_ls_gone;
SET ROLE regress_ls_gone;
INSERT INTO lead_scoring.model (name, spec) VALUES ('priv_orphan', '{}');
RESET ROLE;
DROP ROLE regress_ls_gone;
SET ROLE regress_ls_alice;
SET enable_indexscan = off;  -- scan past the orphan
SET enable_bitmapscan = off;
WITH u AS (UPDATE lead_scoring.model SET description = 'still editable' WHERE name = 'priv_team' RETURNING 1)
SELECT count(*) AS team_updated FROM u;
WITH u AS (UPDATE lead_scoring.model SET owner = 'regress_ls_alice' WHERE name = 'priv_orphan' RETURNING 1)
SELECT count(*) AS orphan_taken FROM u;
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET ROLE;
SELECT owner::text ~ '^[0-9]+$' AS owner_shows_as_oid FROM lead_scoring.model WHERE name = 'priv_orphan';
UPDATE lead_scoring.model SET owner = 'regress_ls_alice' WHERE name = 'priv_orphan';
SELECT name, owner FROM lead_scoring.model WHERE name = 'priv_orphan';

-- Function audit. No function runs with its definer's rights (the code that
-- switches identity is listed in doc/privileges.md).
SELECT p.oid::regprocedure AS security_definer
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_depend d
    ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'lead_scoring')
   AND p.prosecdef;
-- Internal trigger functions are not executable by PUBLIC: nobody needs to
-- attach them (a trigger fires whatever its function's grants).
SELECT p.oid::regprocedure AS trigger_function_granted_to_public
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_depend d
    ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'lead_scoring')
   AND p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype
   AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE');
-- Every SQL or PL/pgSQL function pins its search_path to pg_catalog, pg_temp.
SELECT p.oid::regprocedure AS unpinned_search_path
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_depend d
    ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'lead_scoring')
   AND l.lanname IN ('sql', 'plpgsql')
   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false);

-- Tables with per-model data readable by PUBLIC are filtered by row-level
-- security (refresh's history tables, when this build has them; 95_privileges_late.sql).
SELECT c.oid::regclass AS public_table_without_row_security
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'lead_scoring'::regnamespace AND c.relkind = 'r'
   AND c.relname IN ('model', 'refresh_log', 'stage_history') AND NOT c.relrowsecurity;

-- Clean up.
DROP SCHEMA priv_crm CASCADE;
DROP SCHEMA priv_bob CASCADE;
DELETE FROM lead_scoring.model WHERE name LIKE 'priv\_%';
DROP ROLE regress_ls_alice;
DROP ROLE regress_ls_bob;
DROP ROLE regress_ls_team;
DROP ROLE regress_ls_super;
