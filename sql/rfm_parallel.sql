-- rfm_breaks in a forced parallel plan: Partial Aggregate in the plan (checked
-- as a boolean over EXPLAIN), and the same result as the serial plan.
SET client_min_messages = warning;
SET jit = off;  -- JIT compilation would only slow these small queries down
\i sql/include/lib.sql

CREATE TABLE rfm_par(id int, r float8, f float8, m float8);
INSERT INTO rfm_par SELECT i, (i * 7919) % 365, (i * 31) % 17, CASE WHEN i % 11 = 0 THEN NULL ELSE ((i::bigint * 104729) % 10007) / 3.0 END
FROM generate_series(1, 30000) i;
ALTER TABLE rfm_par SET (parallel_workers = 2);
ANALYZE rfm_par;

:force_parallel  -- the workers' states are serialized and combined

SELECT pg_temp.plan_has('SELECT lead_scoring.rfm_breaks(r, f, m) FROM rfm_par', 'Partial Aggregate') AS partial_aggregate,
       pg_temp.plan_has('SELECT lead_scoring.rfm_breaks(r, f, m, 4) FROM rfm_par', 'Partial Aggregate') AS partial_aggregate_4;
SELECT lead_scoring.rfm_breaks(r, f, m)::text AS par5, lead_scoring.rfm_breaks(r, f, m, 3)::text AS par3 FROM rfm_par \gset

RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT pg_temp.plan_has('SELECT lead_scoring.rfm_breaks(r, f, m) FROM rfm_par', 'Partial') AS serial_has_partial;
SELECT :'par5'::jsonb = s.b5 AS same_5, :'par3'::jsonb = s.b3 AS same_3,
       pg_temp.cuts(:'par5'::jsonb, 'recency') = s.pr AND pg_temp.cuts(:'par5'::jsonb, 'monetary') = s.pm
           AS equals_percentile_disc
FROM (SELECT lead_scoring.rfm_breaks(r, f, m) AS b5, lead_scoring.rfm_breaks(r, f, m, 3) AS b3,
                  percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY r) AS pr,
                  percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY m) AS pm
           FROM rfm_par) s;
DROP TABLE rfm_par;
