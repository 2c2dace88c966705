-- Search-path hijacking (doc/privileges.md). An ordinary role
-- with CREATE on public plants look-alike functions, operators and tables in
-- public and pg_temp and puts pg_catalog LAST on its search_path; every
-- extension function that runs SQL internally must give the same results as
-- before. Results are kept in a temporary table and compared at the end.
SET extra_float_digits = 0;
SET client_min_messages = warning;
-- Errors are shown with their SQLSTATE (psql's LAST_ERROR_SQLSTATE).
\set SHOW_CONTEXT never

DROP ROLE IF EXISTS regress_ls_mallory;
CREATE ROLE regress_ls_mallory;
GRANT CREATE ON SCHEMA public TO regress_ls_mallory;
CREATE SCHEMA hijack_crm AUTHORIZATION regress_ls_mallory;
CREATE SCHEMA hijack_sample AUTHORIZATION regress_ls_mallory;

\set spec '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 20}, {"field": "company_size", "gte": 200, "points": 10}, {"field": "plan_interest", "eq": "enterprise", "points": 15}, {"field": "email", "matches": "@(gmail|yahoo)[.]com$", "points": -10}]}, "activity": {"events": {"demo_request": {"points": 30}, "pricing_page": {"points": 10, "cap": 30}, "*": {"points": 1}}, "decay": {"kind": "exponential", "half_life": "30 days"}}, "grades": [{"grade": "A", "min_fit": 30}, {"grade": "B", "min_fit": 15}], "stages": [{"stage": "SQL", "min_score": 40, "event": "demo_request"}, {"stage": "MQL", "min_score": 20}], "disqualify": {"rules": [{"field": "email", "contains": "scorewise"}]}, "source": {"leads": {"table": "hijack_crm.leads", "id": "id", "properties": "props"}, "events": {"table": "hijack_crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}, "conversions": {"table": "hijack_crm.deals", "lead_id": "lead_id", "time": "won_at"}, "target": "hijack_crm.ranking"}}'

SET ROLE regress_ls_mallory;
CREATE TEMP TABLE hj_results (phase text, what text, val jsonb);

-- 1. Reference results, search_path as usual.
SELECT lead_scoring.generate_sample_crm('hijack_crm', 300, 4) - 'schema' AS sample;
INSERT INTO lead_scoring.model (name, spec) VALUES ('hj_plain', :'spec');
CREATE TABLE hijack_crm.ranking AS
SELECT l.id AS lead_id, lead_scoring.fit_score('hj_plain', l) AS score,
       lead_scoring.stage('hj_plain', lead_scoring.fit_score('hj_plain', l), 0, 0) AS stage,
       false AS disqualified
  FROM hijack_crm.leads l;
-- The calls, as statements for \gexec with {phase} and {model} filled in (built
-- now, before the traps exist).
CREATE TEMP TABLE hj_calls (ord int, sql text);
INSERT INTO hj_calls VALUES
 (1, $$INSERT INTO hj_results SELECT '{phase}', 'fit_score', jsonb_agg(lead_scoring.fit_score('{model}', (to_jsonb(l) - 'props') || l.props) ORDER BY l.id)
       FROM hijack_crm.leads l$$),
 (2, $$INSERT INTO hj_results SELECT '{phase}', 'fit_score_row', jsonb_agg(lead_scoring.fit_score('{model}', l) ORDER BY l.id)
       FROM hijack_crm.leads l$$),
 (3, $$INSERT INTO hj_results SELECT '{phase}', 'fit_breakdown', jsonb_agg(lead_scoring.fit_breakdown('{model}', (to_jsonb(l) - 'props') || l.props) ORDER BY l.id)
       FROM hijack_crm.leads l$$),
 (4, $$INSERT INTO hj_results SELECT '{phase}', 'qualify',
       jsonb_agg(jsonb_build_array(lead_scoring.grade('{model}', f), lead_scoring.score('{model}', f, 25),
                                   lead_scoring.stage('{model}', f + 25, f, 25, ARRAY['demo_request']),
                                   lead_scoring.disqualified('{model}', (to_jsonb(l) - 'props') || l.props)) ORDER BY l.id)
       FROM hijack_crm.leads l, LATERAL (SELECT lead_scoring.fit_score('{model}', l) AS f) s$$),
 (5, $$INSERT INTO hj_results SELECT '{phase}', 'evaluate', jsonb_agg(to_jsonb(e)) FROM lead_scoring.evaluate('{model}') e$$),
 (6, $$INSERT INTO hj_results SELECT '{phase}', 'attribute_lift column', jsonb_agg(to_jsonb(a))
       FROM lead_scoring.attribute_lift('{model}', 'industry') a$$),
 (7, $$INSERT INTO hj_results SELECT '{phase}', 'attribute_lift property', jsonb_agg(to_jsonb(a))
       FROM lead_scoring.attribute_lift('{model}', 'plan_interest') a$$),
 (8, $$INSERT INTO hj_results SELECT '{phase}', 'suggest_model', lead_scoring.suggest_model('{model}')$$);
CREATE TEMP TABLE hj_run AS
SELECT ph.phase, c.ord, replace(replace(c.sql, '{phase}', ph.phase), '{model}', ph.model) AS sql
  FROM hj_calls c, (VALUES ('plain', 'hj_plain'), ('hijacked', 'hj_hijacked')) ph(phase, model);
SELECT sql FROM hj_run WHERE phase = 'plain' ORDER BY ord \gexec

-- 2. The traps, planted by an ordinary role.
-- Operator functions that raise, so a query that uses one cannot go unnoticed.
DO $do$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('hj_raise_tt', 'text, text', 'boolean', 'text operator'),
        ('hj_raise_cat', 'text, text', 'text', '||'),
        ('hj_raise_jt', 'jsonb, text', 'text', 'jsonb ->>'),
        ('hj_raise_jj', 'jsonb, text', 'jsonb', 'jsonb ->'),
        ('hj_raise_jq', 'jsonb, text', 'boolean', 'jsonb ?'),
        ('hj_raise_bb', 'bigint, bigint', 'boolean', 'bigint ='),
        ('hj_raise_ff', 'float8, float8', 'float8', 'float8 arithmetic')) v(fn, args, ret, what)
    LOOP
        EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L', r.fn, r.args, r.ret,
                       format('BEGIN RAISE EXCEPTION %L; END', 'hijacked: ' || r.what));
    END LOOP;
END $do$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hj_raise_tt);
CREATE OPERATOR public.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hj_raise_tt);
CREATE OPERATOR public.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hj_raise_tt);
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hj_raise_cat);
CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.hj_raise_jt);
CREATE OPERATOR public.-> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.hj_raise_jj);
CREATE OPERATOR public.? (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.hj_raise_jq);
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.hj_raise_bb);
CREATE OPERATOR public.* (LEFTARG = float8, RIGHTARG = float8, FUNCTION = public.hj_raise_ff);
CREATE OPERATOR public./ (LEFTARG = float8, RIGHTARG = float8, FUNCTION = public.hj_raise_ff);
-- Look-alike functions: wrong answers or errors.
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'hijacked: format'; END $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'hijacked: format'; END $$;
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE sql AS $$ SELECT 'pg_class'::regclass $$;
CREATE FUNCTION public.jsonb_array_elements(jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT '"hijacked"'::jsonb $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT timestamptz '1999-01-01 00:00+00' $$;
CREATE FUNCTION public.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
-- Look-alike tables in public and in pg_temp (searched first for tables).
CREATE TABLE public.model (name text, spec jsonb, owner regrole);
INSERT INTO public.model VALUES ('hj_hijacked', '{"fit": {"rules": [{"field": "industry", "exists": true, "points": 1000}]}}', 'regress_ls_mallory');
CREATE TABLE public.pg_attribute (attrelid oid, attname name, atttypid oid, attnum int2, attisdropped boolean);
CREATE TEMP TABLE model (name text, spec jsonb, owner regrole);
INSERT INTO pg_temp.model SELECT * FROM public.model;
CREATE TEMP TABLE pg_attribute (attrelid oid, attname name, atttypid oid, attnum int2, attisdropped boolean);
CREATE TEMP TABLE leads (id bigint);
CREATE FUNCTION pg_temp.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
CREATE FUNCTION pg_temp.format(text, text) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'hijacked: format'; END $$;

SET search_path = public, pg_catalog;
-- The traps are live: plain SQL falls into them.
SELECT lower('ABC') AS plain_lower;
SELECT 'a'::text = 'a'::text AS plain_equals;
SELECT '{"a": 1}'::jsonb ->> 'a' AS plain_arrow;
SELECT count(*) AS rows_in_unqualified_model FROM model;

-- 3. The same calls under the traps, with a model created now (so the
-- per-backend cache must read it through SPI under this search_path).
INSERT INTO lead_scoring.model (name, spec) VALUES ('hj_hijacked', :'spec');
UPDATE lead_scoring.model SET refresh_interval = '1 hour' WHERE name OPERATOR(pg_catalog.=) 'hj_hijacked';
SELECT sql FROM hj_run WHERE phase OPERATOR(pg_catalog.=) 'hijacked' ORDER BY ord \gexec
SELECT lead_scoring.generate_sample_crm('hijack_sample', 300, 4) - 'schema' AS sample;
-- Errors are still the extension's own, with their JSON path.
INSERT INTO lead_scoring.model (name, spec) VALUES ('hj_bad', '{"fit": {"rules": [{"field": "a", "eq": 1}]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.fit_score('hj_missing', '{}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
-- Neither the owner check (trigger) nor the row-level security policy behind it
-- is fooled by public.pg_has_role: no model may be given to the bootstrap superuser.
INSERT INTO lead_scoring.model (name, spec, owner) SELECT 'hj_escalate', '{}', 10::oid::regrole;
\echo :LAST_ERROR_SQLSTATE
-- Nothing can be planted in the extension's own schema.
CREATE FUNCTION lead_scoring.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
\echo :LAST_ERROR_SQLSTATE
RESET search_path;

-- 4. Compare (search_path reset: pg_catalog first again).
SELECT h.what, p.val = h.val AS same,
       CASE WHEN jsonb_typeof(p.val) = 'array' THEN jsonb_array_length(p.val) END AS entries
  FROM hj_results p JOIN hj_results h ON h.what = p.what AND h.phase = 'hijacked'
 WHERE p.phase = 'plain' ORDER BY p.what;
-- The results are not empty or trivial: fit scores as plain SQL computes them
-- (industry 20, size 10, enterprise interest 15, free mail -10).
SELECT (SELECT val FROM hj_results WHERE phase = 'hijacked' AND what = 'fit_score')
     = (SELECT jsonb_agg(to_jsonb((CASE WHEN lower(l.industry) = 'software' THEN 20 ELSE 0 END
                                  + CASE WHEN l.company_size >= 200 THEN 10 ELSE 0 END
                                  + CASE WHEN l.props->>'plan_interest' = 'enterprise' THEN 15 ELSE 0 END
                                  + CASE WHEN l.email ~ '@(gmail|yahoo)[.]com$' THEN -10 ELSE 0 END)::float8) ORDER BY l.id)
          FROM hijack_crm.leads l) AS fit_scores_match_plain_sql;
SELECT (SELECT val->'holdout_auc' FROM hj_results WHERE phase = 'hijacked' AND what = 'suggest_model') ?& ARRAY['current', 'suggested']
       AS suggest_model_has_auc;
SELECT updated_at > timestamptz '2000-01-01 00:00+00' AS touch_used_real_now
  FROM lead_scoring.model WHERE name = 'hj_hijacked';
-- generate_sample_crm wrote the same tables under the traps.
SELECT (SELECT count(*) FROM (TABLE hijack_crm.leads EXCEPT ALL TABLE hijack_sample.leads) d)
     + (SELECT count(*) FROM (TABLE hijack_sample.leads EXCEPT ALL TABLE hijack_crm.leads) d)
     + (SELECT count(*) FROM (TABLE hijack_crm.events EXCEPT ALL TABLE hijack_sample.events) d)
     + (SELECT count(*) FROM (TABLE hijack_sample.events EXCEPT ALL TABLE hijack_crm.events) d)
     + (SELECT count(*) FROM (TABLE hijack_crm.orders EXCEPT ALL TABLE hijack_sample.orders) d)
     + (SELECT count(*) FROM (TABLE hijack_sample.orders EXCEPT ALL TABLE hijack_crm.orders) d)
     + (SELECT count(*) FROM (TABLE hijack_crm.deals EXCEPT ALL TABLE hijack_sample.deals) d)
     + (SELECT count(*) FROM (TABLE hijack_sample.deals EXCEPT ALL TABLE hijack_crm.deals) d) AS sample_rows_differing;

-- 5. Hostile identifiers in a model's source are resolved and quoted, never
-- pasted: quotes, semicolons, comments, dollar quotes, Unicode.
CREATE TABLE hijack_crm.victim (x int);
CREATE TABLE hijack_crm."lea""ds; DROP TABLE hijack_crm.victim; --" (
    "i""d); DROP TABLE hijack_crm.victim; --" int, "Ïndustrie 業種" text, "p'rops" jsonb);
INSERT INTO hijack_crm."lea""ds; DROP TABLE hijack_crm.victim; --"
SELECT i, (ARRAY['Logiciel', 'Détail', NULL])[i % 3 + 1], jsonb_build_object('x''); DROP', i % 2) FROM generate_series(1, 30) i;
CREATE TABLE hijack_crm."de'als" ("lead id" int, "won at)" timestamptz);
INSERT INTO hijack_crm."de'als" SELECT i, timestamptz '2026-01-01 00:00+00' FROM generate_series(1, 30) i WHERE i % 4 = 0;
CREATE TABLE hijack_crm."rank$$ing" (lead_id int, score float8, stage text, disqualified boolean);
INSERT INTO hijack_crm."rank$$ing" SELECT i, i % 7, 'new', false FROM generate_series(1, 30) i;
INSERT INTO lead_scoring.model (name, spec) VALUES ('hj_hostile', $j${"source": {
    "leads": {"table": "hijack_crm.\"lea\"\"ds; DROP TABLE hijack_crm.victim; --\"",
              "id": "i\"d); DROP TABLE hijack_crm.victim; --", "properties": "p'rops"},
    "conversions": {"table": "hijack_crm.\"de'als\"", "lead_id": "lead id", "time": "won at)"},
    "target": "hijack_crm.\"rank$$ing\""}}$j$);
SELECT kind, bucket, leads, converted FROM lead_scoring.evaluate('hj_hostile') WHERE kind <> 'decile';
SELECT value, leads, converted FROM lead_scoring.attribute_lift('hj_hostile', 'Ïndustrie 業種');
SELECT value, leads, converted FROM lead_scoring.attribute_lift('hj_hostile', $$x'); DROP$$);
SELECT value, leads, converted FROM lead_scoring.attribute_lift('hj_hostile', $$x'); DROP TABLE hijack_crm.victim; --$$);
-- the same by plain SQL
SELECT l."Ïndustrie 業種", count(*), count(d."lead id")
  FROM hijack_crm."lea""ds; DROP TABLE hijack_crm.victim; --" l
  LEFT JOIN hijack_crm."de'als" d ON d."lead id" = l."i""d); DROP TABLE hijack_crm.victim; --"
 GROUP BY 1 ORDER BY 2 DESC, 1;
-- Names that do not resolve are errors naming the JSON path, not SQL.
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,leads,table}', '"hijack_crm.leads; DROP TABLE hijack_crm.victim"')
 WHERE name = 'hj_hostile';
SELECT * FROM lead_scoring.attribute_lift('hj_hostile', 'x');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,leads,table}', '"hijack_crm.leads) t; DROP TABLE hijack_crm.victim; --"')
 WHERE name = 'hj_hostile';
SELECT * FROM lead_scoring.attribute_lift('hj_hostile', 'x');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,leads,table}', to_jsonb('hijack_crm.' || repeat('ł', 100)))
 WHERE name = 'hj_hostile';
SELECT * FROM lead_scoring.attribute_lift('hj_hostile', 'x');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,leads,table}', '"hijack_crm.leads"')
 WHERE name = 'hj_hostile';
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,leads,id}', to_jsonb(repeat('i', 100)))
 WHERE name = 'hj_hostile';
SELECT * FROM lead_scoring.attribute_lift('hj_hostile', 'x');
\echo :LAST_ERROR_SQLSTATE
-- pg_catalog tricks: catalogue tables are read with the caller's rights.
UPDATE lead_scoring.model SET spec = jsonb_set(jsonb_set(spec, '{source,leads,table}', '"pg_authid"'), '{source,leads,id}', '"oid"')
 WHERE name = 'hj_hostile';
SELECT * FROM lead_scoring.attribute_lift('hj_hostile', 'rolname');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS victim_still_there FROM hijack_crm.victim;
RESET ROLE;

-- Clean up.
DELETE FROM lead_scoring.model WHERE name LIKE 'hj\_%';
DROP OWNED BY regress_ls_mallory;
DROP SCHEMA IF EXISTS hijack_crm CASCADE;
DROP SCHEMA IF EXISTS hijack_sample CASCADE;
DROP ROLE regress_ls_mallory;
