-- The evaluation and report functions read a model's sources and ranking as
-- the model's owner, inside a security-restricted operation, whoever calls
-- them (doc/privileges.md). eve owns a model whose conversions table and
-- ranking are views that call her function eo.f(); f() records who runs it,
-- tries to make eve a superuser and changes a setting. A superuser then calls
-- every function: f() must run as eve, eve must stay an ordinary role, and the
-- setting must come back. A member of eve's role gets the same results as
-- plain SQL over the same tables; a role without eve's privileges gets 42501.
SET extra_float_digits = 0;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

DROP ROLE IF EXISTS regress_eo_eve;
DROP ROLE IF EXISTS regress_eo_mate;
DROP ROLE IF EXISTS regress_eo_bob;
CREATE ROLE regress_eo_eve;
CREATE ROLE regress_eo_mate IN ROLE regress_eo_eve;
CREATE ROLE regress_eo_bob;
CREATE SCHEMA eo AUTHORIZATION regress_eo_eve;
GRANT USAGE ON SCHEMA eo TO regress_eo_bob;

SET ROLE regress_eo_eve;
CREATE TABLE eo.calls (who name, escalated boolean);
-- 200 leads, gold and basic; conversions on distinct days, more often gold.
CREATE TABLE eo.leads AS
SELECT i AS id, CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'basic' END AS tier FROM generate_series(1, 200) i;
CREATE TABLE eo.deals_t AS
SELECT id AS lead_id, timestamptz '2025-01-01 00:00+00' + id * interval '1 day' AS won_at
FROM eo.leads WHERE (tier = 'gold' AND id % 2 = 0) OR id % 7 = 0;
CREATE TABLE eo.ranking_t AS
SELECT id AS lead_id, CASE WHEN tier = 'gold' THEN 10.0 ELSE 0.0 END::float8 + (id % 4) AS score,
       'new'::text AS stage, false AS disqualified, timestamptz '2024-12-01 00:00+00' AS as_of
FROM eo.leads;
CREATE FUNCTION eo.f() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_catalog.set_config('eo.marker', current_user, false);
    BEGIN
        ALTER ROLE regress_eo_eve SUPERUSER;
        INSERT INTO eo.calls VALUES (current_user, true);
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO eo.calls VALUES (current_user, false);
    END;
    RETURN true;
END $$;
CREATE VIEW eo.deals AS SELECT d.lead_id, d.won_at FROM eo.deals_t d WHERE eo.f();
CREATE VIEW eo.ranking AS SELECT r.* FROM eo.ranking_t r WHERE eo.f();
INSERT INTO lead_scoring.model (name, spec) VALUES ('eo_m', '{
  "fit": {"rules": [{"field": "tier", "eq": "gold", "points": 10}]},
  "source": {"leads": {"table": "eo.leads", "id": "id"},
             "conversions": {"table": "eo.deals", "lead_id": "lead_id", "time": "won_at"},
             "target": "eo.ranking"}}');
SELECT name, owner FROM lead_scoring.model WHERE name = 'eo_m';
RESET ROLE;

-- What f() saw during the last call; then forget it.
CREATE FUNCTION pg_temp.f_ran() RETURNS TABLE (f_ran_as text, escalated boolean, eve_is_superuser boolean,
                                               marker text, current_user_after text)
LANGUAGE sql AS $$
    SELECT string_agg(DISTINCT c.who::text, ','), bool_or(c.escalated),
           (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = 'regress_eo_eve'),
           current_setting('eo.marker', true), current_user::text
    FROM eo.calls c $$;

-- A superuser calls each function.
SET eo.marker = 'caller''s';
SELECT count(*) > 0 AS evaluated FROM lead_scoring.evaluate('eo_m');
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;
SELECT count(*) > 0 AS lifted FROM lead_scoring.attribute_lift('eo_m', 'tier');
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;
SELECT s.as_of AS split_as_of FROM lead_scoring.evaluation_split('eo_m') s;
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;
SELECT (lead_scoring.suggest_model('eo_m') ? 'spec') AS suggested;
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;
SELECT length(lead_scoring.report('eo_m')) > 1000 AS reported;
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;
SELECT sum(h.converted + h.not_converted) AS histogram_leads FROM lead_scoring.score_histogram('eo_m') h;
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;
SELECT count(*) > 0 AS gains FROM lead_scoring.gains_curve('eo_m');
SELECT count(*) > 0 AS deciles FROM lead_scoring.decile_conversion('eo_m');
SELECT sum(f.leads) AS funnel_leads FROM lead_scoring.stage_funnel('eo_m') f;
SELECT count(*) > 0 AS fit_lifts FROM lead_scoring.fit_attribute_lift('eo_m');
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;
-- So does the internal function the charts share, called directly.
SELECT count(*) AS population FROM lead_scoring._eval_population('eo_m', NULL, NULL);
SELECT * FROM pg_temp.f_ran();
TRUNCATE eo.calls;

-- The identity is given back when the owner's code fails, also when the
-- caller catches the error.
DO $$
BEGIN
    PERFORM * FROM lead_scoring.evaluate('eo_m', NULL, timestamptz '1900-01-01 00:00+00');
EXCEPTION WHEN invalid_parameter_value THEN
    NULL;
END $$;
SELECT current_user = session_user AS identity_restored;

-- A member of eve's role: the results of plain SQL over the same tables, and
-- f() still runs as eve (the model's owner), not as the member.
GRANT SELECT ON eo.leads, eo.deals_t, eo.ranking_t TO regress_eo_mate;
SET ROLE regress_eo_mate;
SELECT kind, bucket, leads, converted FROM lead_scoring.evaluate('eo_m') WHERE kind <> 'decile' ORDER BY 1, 2;
SELECT count(*) AS leads, count(*) FILTER (WHERE d.lead_id IS NOT NULL AND d.won_at > r.as_of) AS converted
FROM eo.ranking_t r LEFT JOIN eo.deals_t d ON d.lead_id = r.lead_id;
SELECT value, leads, converted FROM lead_scoring.attribute_lift('eo_m', 'tier') ORDER BY 1;
SELECT l.tier, count(*), count(d.lead_id) FROM eo.leads l LEFT JOIN eo.deals_t d ON d.lead_id = l.id GROUP BY 1 ORDER BY 1;
SELECT * FROM pg_temp.f_ran();
RESET ROLE;
TRUNCATE eo.calls;

-- A role without eve's privileges is refused, before any of her code runs.
SET ROLE regress_eo_bob;
SELECT * FROM lead_scoring.evaluate('eo_m');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.attribute_lift('eo_m', 'tier');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.evaluation_split('eo_m');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.suggest_model('eo_m');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.report('eo_m');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.score_histogram('eo_m');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.stage_flow('eo_m');
\echo :LAST_ERROR_SQLSTATE
-- The chart views list only models whose owner's privileges the caller has.
SELECT count(*) AS bob_charts FROM lead_scoring.chart_gains WHERE model = 'eo_m';
-- The bodies cannot be called directly (they would run with the caller's
-- rights), and the work table helper only inside suggest_model.
SELECT lead_scoring._evaluate('eo_m', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring._suggest_work_table('int'::regtype);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT lead_scoring._suggest_work_table('int'::regtype);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS calls_by_refused_callers FROM eo.calls;
-- Unknown and NULL models.
SELECT * FROM lead_scoring.evaluate('eo_none');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.evaluate(NULL);
\echo :LAST_ERROR_SQLSTATE
-- A model whose owner was dropped (owner is a regrole: no dependency) is
-- refused, not run as a role that no longer exists.
DROP ROLE IF EXISTS regress_eo_gone;
CREATE ROLE regress_eo_gone;
INSERT INTO lead_scoring.model (name, spec, owner)
SELECT 'eo_gone', spec, 'regress_eo_gone' FROM lead_scoring.model WHERE name = 'eo_m';
DROP ROLE regress_eo_gone;
-- (the message names the role's OID, which varies: shown as SQLSTATE only)
\set VERBOSITY sqlstate
SELECT * FROM lead_scoring.evaluate('eo_gone');
\set VERBOSITY default
DELETE FROM lead_scoring.model WHERE name = 'eo_gone';

-- Every public function that reads a model's sources is bound to the wrapper,
-- and each has its internal body, callable by nobody but the extension owner.
SELECT p.proname, p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AS is_c,
       i.proname AS body, has_function_privilege('public', i.oid, 'EXECUTE') AS body_public
FROM pg_proc p LEFT JOIN pg_proc i ON i.pronamespace = p.pronamespace AND i.proname = '_' || p.proname
                                  AND i.proargtypes = p.proargtypes
WHERE p.pronamespace = 'lead_scoring'::regnamespace AND p.prosrc = 'ls_as_model_owner'
ORDER BY 1;

RESET eo.marker;
DELETE FROM lead_scoring.model WHERE name = 'eo_m';
DROP SCHEMA eo CASCADE;
DROP ROLE regress_eo_mate;
DROP ROLE regress_eo_bob;
DROP ROLE regress_eo_eve;
