-- Memory (doc/hardening.md): scoring 200,000 rows again and again in one
-- backend must not grow it. PostgreSQL memory is measured with
-- pg_backend_memory_contexts; C++ heap memory (models, regular expressions)
-- is not visible there, so the backend's resident size (VmRSS of
-- /proc/self/status, read by the backend itself) is checked too.
CREATE FUNCTION pg_temp.ctx_bytes() RETURNS bigint LANGUAGE sql AS
$$ SELECT sum(total_bytes)::bigint FROM pg_catalog.pg_backend_memory_contexts $$;
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql AS
$$ SELECT (regexp_match(pg_catalog.pg_read_file('/proc/self/status'), 'VmRSS:\s+(\d+)'))[1]::bigint $$;

CREATE TEMP TABLE leads AS
SELECT i AS id, CASE WHEN i % 3 = 0 THEN 'Software' ELSE 'Retail' END AS industry, i % 500 AS employees,
       'user' || i || CASE WHEN i % 4 = 0 THEN '@gmail.com' ELSE '@example.com' END AS email
FROM generate_series(1, 200000) i;
CREATE TEMP TABLE attrs AS SELECT id, to_jsonb(l) - 'id' AS a FROM leads l;
INSERT INTO lead_scoring.model(name, spec) VALUES ('mem', '{"fit": {"rules": [
    {"field": "industry", "eq": "software", "points": 10},
    {"field": "employees", "between": [50, 200], "points": 5},
    {"field": "email", "matches": "@(gmail|yahoo)\\.com$", "points": -7, "label": "free mail"}]}}');

-- One pass: fit_score by name over 200,000 rows as jsonb and as table rows,
-- the spec, text and breakdown forms over 20,000, a model edit (the name cache drops and recompiles it), and 200
-- errors raised from C++ and caught in PL/pgSQL.
CREATE FUNCTION pg_temp.pass() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE total float8 := 0; x float8;
BEGIN
    SELECT sum(lead_scoring.fit_score('mem', a)) INTO x FROM attrs; total := total + x;
    SELECT sum(lead_scoring.fit_score((SELECT spec FROM lead_scoring.model WHERE name = 'mem'), a)) INTO x
    FROM attrs WHERE id <= 20000;
    total := total + x;
    SELECT sum(lead_scoring.fit_score('mem', l)) INTO x FROM leads l; total := total + x;
    SELECT sum(lead_scoring.fit_score('mem', a::text)) INTO x FROM attrs WHERE id <= 20000; total := total + x;
    SELECT sum(jsonb_array_length(lead_scoring.fit_breakdown('mem', a))) INTO x FROM attrs WHERE id <= 20000;
    total := total + x;
    UPDATE lead_scoring.model SET description = 'touched' WHERE name = 'mem';
    FOR i IN 1..200 LOOP
        BEGIN
            PERFORM lead_scoring.fit_score(jsonb_build_object('fit', jsonb_build_object('rules',
                jsonb_build_array(jsonb_build_object('field', 'a', 'eq', 1, 'points', 'p' || i)))), '{}'::jsonb);
        EXCEPTION WHEN invalid_parameter_value THEN NULL;
        END;
    END LOOP;
    RETURN total;
END $$;

-- The scores themselves (and a warm-up pass: caches, plans), against plain SQL
-- over the same rows: the two 200,000-row sums are the plain-SQL sum, the three
-- 20,000-row ones twice the plain-SQL sum and the count of matched rules.
WITH expect AS (
    SELECT sum(10 * (industry = 'Software')::int + 5 * (employees BETWEEN 50 AND 200)::int
               - 7 * (email ~ '@(gmail|yahoo)\.com$')::int) AS s200k,
           sum(10 * (industry = 'Software')::int + 5 * (employees BETWEEN 50 AND 200)::int
               - 7 * (email ~ '@(gmail|yahoo)\.com$')::int) FILTER (WHERE id <= 20000) AS s20k,
           sum((industry = 'Software')::int + (employees BETWEEN 50 AND 200)::int
               + (email ~ '@(gmail|yahoo)\.com$')::int) FILTER (WHERE id <= 20000) AS n20k
    FROM leads)
SELECT pg_temp.pass() = 2 * s200k + 2 * s20k + n20k AS scores_right FROM expect;

-- Measure, run two more passes, measure again.
SELECT pg_temp.ctx_bytes() AS ctx0, pg_temp.rss_kb() AS rss0 \gset
SELECT pg_temp.pass() > 0 AS pass1;
SELECT pg_temp.pass() > 0 AS pass2;
SELECT pg_temp.ctx_bytes() AS ctx1, pg_temp.rss_kb() AS rss1 \gset
-- PostgreSQL memory: no growth beyond 64 kB; resident size: beyond 2 MB
-- (a leak of 4 bytes per call would be over 3 MB after these two passes).
SELECT :ctx1 - :ctx0 < 65536 AS contexts_do_not_grow, :rss1 - :rss0 < 2048 AS rss_does_not_grow;
DELETE FROM lead_scoring.model WHERE name = 'mem';
