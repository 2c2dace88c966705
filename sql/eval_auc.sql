-- lead_scoring.auc(score, converted): exact ROC AUC (doc/eval.md), checked
-- against a brute-force pairwise count and the rank-sum formula in plain SQL.
SET extra_float_digits = 0;
-- Errors are shown with their SQLSTATE (psql's LAST_ERROR_SQLSTATE).
\set SHOW_CONTEXT never
\i sql/include/lib.sql

-- A few hundred rows with many ties, in 4 groups; group 3 has no converted
-- rows and group 4 only converted rows.
CREATE TABLE eval_auc_t AS
SELECT i, (i % 4) + 1 AS g,
       ((i * 7919) % 23)::float8 / 2 AS s,
       CASE WHEN i % 4 = 2 THEN false
            WHEN i % 4 = 3 THEN true
            ELSE ((i * i * 31 + 7) % 5 < 2 + (i * 7919) % 23 / 8) END AS y
FROM generate_series(1, 400) i;
-- NULL scores and outcomes are skipped.
INSERT INTO eval_auc_t VALUES (401, 1, NULL, true), (402, 1, 3, NULL), (403, 2, NULL, NULL);

CREATE TEMP VIEW brute AS
SELECT p.g, sum(CASE WHEN p.s > n.s THEN 1 WHEN p.s = n.s THEN 0.5 ELSE 0 END)::float8 / count(*) AS auc
FROM eval_auc_t p JOIN eval_auc_t n ON p.g = n.g
WHERE p.y AND NOT n.y AND p.s IS NOT NULL AND n.s IS NOT NULL
GROUP BY p.g;

-- Whole table (groups pooled) against brute force.
SELECT abs(lead_scoring.auc(s, y) - (
         SELECT sum(CASE WHEN p.s > n.s THEN 1 WHEN p.s = n.s THEN 0.5 ELSE 0 END)::float8 / count(*)
         FROM eval_auc_t p, eval_auc_t n
         WHERE p.y AND NOT n.y AND p.s IS NOT NULL AND n.s IS NOT NULL)) < 1e-12 AS pooled_matches
FROM eval_auc_t;

-- Per group: groups 3 and 4 have one empty class, so NULL on both sides.
SELECT t.g, count(*) AS n, a.auc IS NULL AS is_null,
       (a.auc IS NULL AND b.auc IS NULL) OR abs(a.auc - b.auc) < 1e-12 AS matches
FROM eval_auc_t t
JOIN (SELECT g, lead_scoring.auc(s, y) AS auc FROM eval_auc_t GROUP BY g) a USING (g)
LEFT JOIN brute b USING (g)
GROUP BY t.g, a.auc, b.auc ORDER BY t.g;

-- Hand-computed cases.
SELECT lead_scoring.auc(s, y) FROM (VALUES (1, true), (2, false), (3, true), (1, false)) v(s, y);  -- 2.5/4
SELECT lead_scoring.auc(s, y) FROM (VALUES (5, true), (5, false), (5, true)) v(s, y);               -- all tied
SELECT lead_scoring.auc(s, y) FROM (VALUES (1::float8, false), (2, true), ('Infinity', true), ('-Infinity', false)) v(s, y);
SELECT lead_scoring.auc(s, y) FROM (VALUES (2, false), (1, true)) v(s, y);
SELECT lead_scoring.auc(s, y) IS NULL AS empty FROM (VALUES (1::float8, true)) v(s, y) WHERE false;
SELECT lead_scoring.auc(s, y) IS NULL AS only_nulls FROM (VALUES (NULL::float8, true), (1, NULL)) v(s, y);
SELECT lead_scoring.auc(s, y) IS NULL AS one_class FROM (VALUES (1, true), (2, true)) v(s, y);

-- NaN is not a score.
SELECT lead_scoring.auc(s, y) FROM (VALUES (1::float8, true), ('NaN', false)) v(s, y);
\echo :LAST_ERROR_SQLSTATE

-- More distinct scores than the initial state holds (growth and compaction),
-- against the rank-sum (Mann-Whitney U) formula, serial and forced parallel.
CREATE TABLE eval_auc_big AS
SELECT i, ((i * 104729) % 30011)::float8 / 7 AS s, (i * 31 + (i * 104729) % 30011 / 1000) % 3 = 0 AS y
FROM generate_series(1, 40000::bigint) i;
ANALYZE eval_auc_big;
CREATE TEMP VIEW ranksum AS
WITH r AS (
    SELECT y, rank() OVER (ORDER BY s) + (count(*) OVER (PARTITION BY s) - 1) / 2.0 AS avg_rank FROM eval_auc_big
)
SELECT ((sum(avg_rank) FILTER (WHERE y) - count(*) FILTER (WHERE y) * (count(*) FILTER (WHERE y) + 1) / 2.0)
        / (count(*) FILTER (WHERE y) * count(*) FILTER (WHERE NOT y)))::float8 AS auc
FROM r;
CREATE TEMP TABLE serial_auc AS SELECT lead_scoring.auc(s, y) AS auc FROM eval_auc_big;
SELECT abs(s.auc - r.auc) < 1e-12 AS matches_ranksum FROM serial_auc s, ranksum r;

:force_parallel
EXPLAIN (COSTS OFF) SELECT lead_scoring.auc(s, y) FROM eval_auc_big;
SELECT lead_scoring.auc(s, y) = (SELECT auc FROM serial_auc) AS parallel_equals_serial FROM eval_auc_big;
:reset_parallel

-- Deserializing garbage is an error (XX001), never a crash. The C entry point
-- is reached through a bytea-typed alias because no SQL value has type internal.
CREATE SCHEMA eval_auc_test;
CREATE FUNCTION eval_auc_test.deserialize(bytea, bytea) RETURNS bytea
    AS '$libdir/lead_scoring', 'ls_auc_deserialize' LANGUAGE C;
SELECT eval_auc_test.deserialize('\xdeadbeef', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT eval_auc_test.deserialize('\x4c534131000000000100000000000000', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT eval_auc_test.deserialize('\x4c534131000000000100000000000000' || '\x000000000000000000000000000000000000000000000000'::bytea, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT eval_auc_test.deserialize('\x4c534132000000000000000000000000', NULL);
\echo :LAST_ERROR_SQLSTATE
-- Well-formed bytes outside an aggregate: refused after the check.
SELECT eval_auc_test.deserialize('\x4c534131000000000000000000000000', NULL);
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA eval_auc_test CASCADE;

DROP VIEW brute, ranksum;
DROP TABLE eval_auc_t, eval_auc_big;
