-- Privileges that depend on objects of later files (doc/privileges.md).
--
-- Refresh's history tables hold per-model data that the model's source-table
-- grants protect: stage_history has lead ids and their stages, and
-- refresh_log.error carries error messages, which can quote source values
-- ("invalid input syntax for type integer: ...", "Key (email)=(...)"). Show a
-- model's rows only to roles with the privileges of its owner, the rule of
-- lead_scoring.leaderboard and lead_scoring.funnel. Rows of deleted models are
-- then visible to superusers only. The tables are written by refresh (as the
-- extension owner) and by the background worker (a superuser), whom row-level
-- security does not bind. Each table is handled only if this build has it.
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['refresh_log', 'stage_history'] LOOP
        IF pg_catalog.to_regclass('lead_scoring.' OPERATOR(pg_catalog.||) t) IS NOT NULL THEN
            EXECUTE pg_catalog.format('ALTER TABLE lead_scoring.%I ENABLE ROW LEVEL SECURITY', t);
            EXECUTE pg_catalog.format(
                'CREATE POLICY %I ON lead_scoring.%I FOR SELECT TO PUBLIC USING ('
                'EXISTS (SELECT FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) %I.model '
                'AND pg_catalog.pg_has_role(m.owner::pg_catalog.oid, ''USAGE'')))',
                t OPERATOR(pg_catalog.||) '_owner_only', t, t);
            EXECUTE pg_catalog.format(
                'COMMENT ON POLICY %I ON lead_scoring.%I IS %L',
                t OPERATOR(pg_catalog.||) '_owner_only', t,
                'A model''s rows are visible to roles with the privileges of the model''s owner');
        END IF;
    END LOOP;
END
$do$;

-- Internal trigger functions are executable by nobody but the extension owner:
-- a trigger fires whatever its function's grants, so the triggers on
-- lead_scoring.model and the change-capture triggers refresh creates (as the
-- extension owner) work, while nobody can attach these functions to a table of
-- their own.
DO $do$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['_model_changed()', '_model_touch()', '_model_owner_check()',
                             '_capture_changes()', '_model_capture_cleanup()'] LOOP
        IF pg_catalog.to_regprocedure('lead_scoring.' OPERATOR(pg_catalog.||) f) IS NOT NULL THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION lead_scoring.%s FROM PUBLIC', f);
        END IF;
    END LOOP;
END
$do$;
