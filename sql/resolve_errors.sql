-- One source resolver: refresh, evaluate, attribute_lift and suggest_model
-- resolve a model's source tables and columns with the same code
-- (lead_scoring._resolve_*), so every bad source gives the same SQLSTATE and
-- message in all four. Unqualified names are in schema public whatever the
-- search_path. The internal resolver functions run with the caller's rights:
-- a caller learns nothing about a schema it has no USAGE on.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
DROP ROLE IF EXISTS regress_rs_owner;
DROP ROLE IF EXISTS regress_rs_other;
CREATE ROLE regress_rs_owner;
CREATE ROLE regress_rs_other;
CREATE SCHEMA rs AUTHORIZATION regress_rs_owner;
CREATE SCHEMA rs_hidden;  -- nobody but the superuser has USAGE on it
CREATE TABLE rs_hidden.leads (id int, secret_column text);
CREATE TABLE public.rs_public_leads (id int, industry text);

SET ROLE regress_rs_owner;
CREATE TABLE rs.leads (id int PRIMARY KEY, industry text);
CREATE TABLE rs.events (lead_id int, kind text, at timestamptz);
CREATE TABLE rs.deals (lead_id int, won_at timestamptz);
CREATE TABLE rs.victim (x int);
INSERT INTO rs.victim VALUES (1);
INSERT INTO rs.leads SELECT g, CASE WHEN g % 3 = 0 THEN 'software' ELSE 'retail' END FROM generate_series(1, 60) g;
INSERT INTO rs.events SELECT 1 + g % 60, CASE WHEN g % 4 = 0 THEN 'demo' ELSE 'view' END,
                             timestamptz '2024-01-01 00:00+00' + g * interval '7 hours' FROM generate_series(1, 400) g;
INSERT INTO rs.deals SELECT g, timestamptz '2024-01-10 00:00+00' + g * interval '1 day' FROM generate_series(1, 60) g WHERE g % 3 = 0 OR g % 7 = 0;
INSERT INTO lead_scoring.model (name, spec) VALUES ('rs', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"view": {"points": 1}, "demo": {"points": 20}}},
  "source": {"leads": {"table": "rs.leads", "id": "id"},
             "events": {"table": "rs.events", "lead_id": "lead_id", "type": "kind", "time": "at"},
             "conversions": {"table": "rs.deals", "lead_id": "lead_id", "time": "won_at"}}}');
RESET ROLE;

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The error each function gives with spec path `path` set to `val`.
CREATE FUNCTION pg_temp.walk(path text[], val jsonb) RETURNS TABLE (fn text, error text) LANGUAGE plpgsql AS $$
DECLARE
    old jsonb;
BEGIN
    SELECT spec INTO old FROM lead_scoring.model WHERE name = 'rs';
    UPDATE lead_scoring.model SET spec = jsonb_set(spec, path, val) WHERE name = 'rs';
    RETURN QUERY VALUES
        ('refresh', pg_temp.err($q$SELECT lead_scoring.refresh('rs', '2024-03-01 00:00+00')$q$)),
        ('evaluate', pg_temp.err($q$SELECT count(*) FROM lead_scoring.evaluate('rs')$q$)),
        ('attribute_lift', pg_temp.err($q$SELECT count(*) FROM lead_scoring.attribute_lift('rs', 'industry')$q$)),
        ('suggest_model', pg_temp.err($q$SELECT lead_scoring.suggest_model('rs')$q$));
    UPDATE lead_scoring.model SET spec = old WHERE name = 'rs';
END $$;

-- One row per bad input: whether the four functions agree, and the error.
SELECT w.bad, count(DISTINCT e.error) = 1 AS identical_in_all_four, min(e.error) AS error
FROM (VALUES
    (1, 'malformed name', '{source,leads,table}'::text[], '"rs.leads; DROP TABLE rs.victim"'::jsonb),
    (2, 'missing table', '{source,events,table}', '"rs.nope"'),
    (3, 'missing column', '{source,events,type}', '"nope"'),
    (4, 'wrong type', '{source,events,time}', '"kind"'),
    (5, 'no privilege', '{source,leads,table}', '"rs_hidden.leads"'),
    (6, 'unqualified name', '{source,leads,table}', '"leads"')) w(n, bad, path, val),
    LATERAL pg_temp.walk(w.path, w.val) e
GROUP BY w.n, w.bad ORDER BY w.n;
SELECT count(*) AS victim_still_there FROM rs.victim;

-- An unqualified name is in schema public, whatever the search_path.
SELECT lead_scoring._resolve_relation('rs_public_leads', '$.source.leads.table') AS in_public;
SET search_path = rs, public;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_relation('leads', '$.source.leads.table')$q$) AS not_rs_leads;
RESET search_path;
SELECT lead_scoring._resolve_column('rs.leads', '$.source.leads.table', 'industry', '$.fit.rules[0].field') AS column_type;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_relation(NULL, '$.source.orders.table')$q$) AS no_table;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_column('rs.leads', '$.source.leads.table', NULL, '$.source.leads.id')$q$) AS no_column;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_relation('pg_class', NULL)$q$) AS no_path;

-- With the caller's rights: a role without USAGE on rs_hidden gets the same
-- 42501 for a table that exists and one that does not (no existence oracle),
-- and no column type; nor does it borrow a model owner's rights.
SET ROLE regress_rs_other;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_relation('rs_hidden.leads', '$.x')$q$) AS existing;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_relation('rs_hidden.nope', '$.x')$q$) AS missing;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_column('rs_hidden.leads', '$.x', 'secret_column', '$.y')$q$) AS column_type;
SELECT pg_temp.err($q$SELECT lead_scoring._resolve_sources('rs')$q$) AS owners_sources;
RESET ROLE;

DELETE FROM lead_scoring.model WHERE name = 'rs';
DROP SCHEMA rs CASCADE;
DROP SCHEMA rs_hidden CASCADE;
DROP TABLE public.rs_public_leads;
DROP ROLE regress_rs_owner;
DROP ROLE regress_rs_other;
