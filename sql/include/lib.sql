\set lib_echo :ECHO \set ECHO none
-- Functions, fixtures and settings shared by the regression suites (and
-- test/browser/check_report.sql). A suite that needs them runs
-- \i sql/include/lib.sql (pg_regress feeds psql the suite on stdin, so the
-- path is relative to the directory make runs in). This file is not a suite:
-- pg_regress discovers sql/*.sql only. Its lines are not echoed, so that each
-- expected output shows the include, not another copy of these definitions.

-- err(q): runs the query q and shows 'ok: <first column of its first row>'
-- (NULL as NULL) or '<SQLSTATE>: <message>'. Messages are cut at 200
-- characters: some hostile inputs are echoed back in them at full length.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE q INTO r;
    RETURN 'ok: ' || coalesce(r, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || left(SQLERRM, 200);
END $$;

-- try(s): err for a statement that returns no rows (EXECUTE ... INTO refuses
-- those): 'ok' or '<SQLSTATE>: <message>'.
CREATE FUNCTION pg_temp.try(s text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE s;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || left(SQLERRM, 200);
END $$;

-- plan_has(q, pattern): whether a line of EXPLAIN (COSTS OFF) q matches the
-- regular expression pattern.
CREATE FUNCTION pg_temp.plan_has(q text, pattern text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF line ~ pattern THEN RETURN true; END IF;
    END LOOP;
    RETURN false;
END $$;

-- cuts(b, dim): one dimension of an rfm_breaks value as float8[] (NULL where
-- the dimension is JSON null).
CREATE FUNCTION pg_temp.cuts(b jsonb, dim text) RETURNS float8[] LANGUAGE sql AS $$
    SELECT CASE WHEN jsonb_typeof(b -> dim) = 'array'
                THEN ARRAY(SELECT e::float8 FROM jsonb_array_elements_text(b -> dim) e) END $$;

-- vals(html, cls, a): the values of attribute a (data-value by default) of the
-- elements of class cls in the report page html, in page order.
CREATE FUNCTION pg_temp.vals(html text, cls text, a text DEFAULT 'data-value') RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(m[1] ORDER BY o), '{}')
    FROM regexp_matches(html, 'class="' || cls || '"[^>]*? ' || a || '="([^"]*)"', 'g') WITH ORDINALITY x(m, o) $$;

-- hashed_events(n, leads): n events over leads leads (lead_id = i % leads),
-- their types (six) and times (up to ~93 days before 2024-03-01 00:00+00; every
-- 97th moved 3 days later) from a hash of the row number i.
CREATE FUNCTION pg_temp.hashed_events(n int, leads int)
    RETURNS TABLE (i int, lead_id int, event_type text, occurred_at timestamptz) LANGUAGE sql AS $$
SELECT g, g % leads, (ARRAY['demo', 'unsubscribe', 'webinar', 'page_view', 'download', 'pricing'])[1 + abs(hashint4(g)) % 6],
       timestamptz '2024-03-01 00:00+00' - (abs(hashint4(g + 7)) % 8000000) * interval '1 second'
         + CASE WHEN g % 97 = 0 THEN interval '3 days' ELSE interval '0' END
FROM generate_series(1, n) AS g $$;

-- drop_models(names...): leaves no trace of the named models for the suites
-- that follow: refresh state and capture triggers, refresh_log and
-- stage_history rows, the model rows and their ranking tables (with what
-- depends on them).
CREATE PROCEDURE pg_temp.drop_models(VARIADIC names text[]) LANGUAGE plpgsql AS $$
DECLARE m text;
BEGIN
    FOREACH m IN ARRAY names LOOP
        PERFORM lead_scoring.drop_refresh_state(m);
        DELETE FROM lead_scoring.refresh_log WHERE model = m;
        DELETE FROM lead_scoring.stage_history WHERE model = m;
        DELETE FROM lead_scoring.model WHERE name = m;
        EXECUTE format('DROP TABLE lead_scoring.%I CASCADE', 'ranking_' || m);
    END LOOP;
END $$;

-- :force_parallel makes the planner use two parallel workers wherever it can,
-- with the leader out of the scan (so partial states really are serialized and
-- combined across processes); :reset_parallel puts the defaults back.
\set force_parallel 'SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off;'
\set reset_parallel 'RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather; RESET parallel_leader_participation;'
\set ECHO :lib_echo
