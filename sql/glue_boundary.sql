-- The C++/PostgreSQL boundary (doc/hardening.md, "Error boundary"): the
-- aggregates' support functions called outside an aggregate are refused with
-- one message and one SQLSTATE, 0A000 (feature not supported), whichever
-- aggregate they belong to. They are declared here with bytea in place of
-- internal, which SQL cannot pass, pointing at the extension's own symbols.
CREATE SCHEMA glue_test;
CREATE FUNCTION glue_test.activity_combine(bytea, bytea) RETURNS bytea
    AS '$libdir/lead_scoring', 'ls_activity_combine' LANGUAGE C;
CREATE FUNCTION glue_test.rfm_breaks_combine(bytea, bytea) RETURNS bytea
    AS '$libdir/lead_scoring', 'ls_rfm_breaks_combine' LANGUAGE C;
CREATE FUNCTION glue_test.rfm_breaks_trans(bytea, float8, float8, float8) RETURNS bytea
    AS '$libdir/lead_scoring', 'ls_rfm_breaks_trans' LANGUAGE C;
CREATE FUNCTION glue_test.event_flags_combine(bytea, bytea) RETURNS bytea
    AS '$libdir/lead_scoring', 'ls_event_flags_combine' LANGUAGE C;
CREATE FUNCTION glue_test.event_flags_trans(bytea, text, text, timestamptz, timestamptz) RETURNS bytea
    AS '$libdir/lead_scoring', 'ls_event_flags_trans' LANGUAGE C;

SELECT glue_test.activity_combine(NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT glue_test.rfm_breaks_combine(NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT glue_test.rfm_breaks_trans(NULL, 1, 2, 3);
\echo :LAST_ERROR_SQLSTATE
SELECT glue_test.event_flags_combine(NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT glue_test.event_flags_trans(NULL, 'm', 'page_view', '2024-01-01 00:00:00+00', '2024-02-01 00:00:00+00');
\echo :LAST_ERROR_SQLSTATE

DROP SCHEMA glue_test CASCADE;
