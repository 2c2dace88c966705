#!/usr/bin/env bash
# Benchmark of the evaluation aggregates (DESIGN.md §9, doc/eval.md):
#   * auc(score, converted) over AUC_ROWS rows (default 10,000,000) beside the
#     plain-SQL rank-sum (Mann-Whitney U) a user writes today, in two forms, and
#     beside the floor (a bare scan consuming the same columns);
#   * logistic_fit(features, label) over FIT_ROWS rows (default 1,000,000) x
#     FIT_FEATURES features (default 20): time and Newton iterations.
# Each query runs 3 times in one session; the median is printed.
# Uses the server in PGHOST/PGPORT if set, else starts a throwaway one
# (scripts/pg_tmp.sh, honours PG_CONFIG) and installs nothing: the extension
# must already be installed for that PG_CONFIG.
#   bash bench/eval.sh                      # full size
#   AUC_ROWS=1000000 FIT_ROWS=100000 bash bench/eval.sh
#   AUC_ROWS=0 bash bench/eval.sh           # logistic_fit only (FIT_ROWS=0: auc only)
set -euo pipefail
cd "$(dirname "$0")/.."

AUC_ROWS=${AUC_ROWS:-10000000}
FIT_ROWS=${FIT_ROWS:-1000000}
FIT_FEATURES=${FIT_FEATURES:-20}

started=""
if [[ -z "${PGHOST:-}" ]]; then
  eval "$(scripts/pg_tmp.sh start "shared_buffers = '1GB'" "work_mem = '256MB'" "max_parallel_workers_per_gather = 2")"
  started=$LS_PGTMP
  trap 'scripts/pg_tmp.sh stop "$started"' EXIT
fi

run_auc=$([[ $AUC_ROWS -gt 0 ]] && echo true || echo false)
run_fit=$([[ $FIT_ROWS -gt 0 ]] && echo true || echo false)

psql -X -q -v ON_ERROR_STOP=1 -v run_auc="$run_auc" -v run_fit="$run_fit" <<SQL
CREATE EXTENSION IF NOT EXISTS lead_scoring;
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_eval_auc, bench_eval_fit;

-- Median of 3 runs of a query, in milliseconds (the result is consumed).
CREATE FUNCTION pg_temp.median_ms(q text, OUT ms float8, OUT result text) LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; runs float8[] := '{}';
BEGIN
    FOR k IN 1..3 LOOP
        t0 := clock_timestamp();
        EXECUTE q INTO result;
        runs := runs || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r) INTO ms FROM unnest(runs) r;
END \$\$;

\if :run_auc
SELECT setseed(0.42) \g /dev/null
-- Scores with ties (about 100,000 distinct values), conversion more likely at high scores.
CREATE UNLOGGED TABLE bench_eval_auc AS
SELECT s AS score, random() < 0.05 + s / 1500 AS converted
FROM (SELECT floor(random() * 100000) / 100 AS s FROM generate_series(1, ${AUC_ROWS})) g;
VACUUM ANALYZE bench_eval_auc;

\echo
\echo auc over ${AUC_ROWS} rows (median of 3, ms)
SELECT 'floor: scan, count and sum' AS what, round(ms::numeric) AS ms, result FROM pg_temp.median_ms(
  \$q\$SELECT count(*) FILTER (WHERE converted) + sum(score) FROM bench_eval_auc\$q\$)
UNION ALL
SELECT 'lead_scoring.auc(score, converted)', round(ms::numeric), result FROM pg_temp.median_ms(
  \$q\$SELECT lead_scoring.auc(score, converted) FROM bench_eval_auc\$q\$)
UNION ALL
SELECT 'plain SQL: rank-sum with rank() over all rows', round(ms::numeric), result FROM pg_temp.median_ms(\$q\$
  SELECT ((sum(r) FILTER (WHERE converted) - np * (np + 1) / 2.0) / (np * nn))::float8
  FROM (SELECT converted, rank() OVER (ORDER BY score) + (count(*) OVER (PARTITION BY score) - 1) / 2.0 AS r,
               count(*) FILTER (WHERE converted) OVER () AS np, count(*) FILTER (WHERE NOT converted) OVER () AS nn
        FROM bench_eval_auc) x
  GROUP BY np, nn\$q\$)
UNION ALL
SELECT 'plain SQL: rank-sum over GROUP BY score', round(ms::numeric), result FROM pg_temp.median_ms(\$q\$
  SELECT (sum(p * (below + n / 2.0)) / (sum(p) * sum(n)))::float8
  FROM (SELECT p, n, coalesce(sum(n) OVER (ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS below
        FROM (SELECT score, count(*) FILTER (WHERE converted) AS p, count(*) FILTER (WHERE NOT converted) AS n
              FROM bench_eval_auc GROUP BY score) g) w\$q\$);

DROP TABLE bench_eval_auc;
\endif

\if :run_fit
SELECT setseed(0.43) \g /dev/null

-- Features: standard-normal-ish columns; labels from a known logistic model.
CREATE UNLOGGED TABLE bench_eval_fit AS
SELECT x, random() < 1 / (1 + exp(-(0.3 + (SELECT sum(x[j] * (j % 5 - 2) / 4.0) FROM generate_series(1, ${FIT_FEATURES}) j)))) AS y
FROM (SELECT ARRAY(SELECT (random() + random() + random() - 1.5) * 2 FROM generate_series(1, ${FIT_FEATURES}) WHERE i > 0) AS x
      FROM generate_series(1, ${FIT_ROWS}) i) g;
VACUUM ANALYZE bench_eval_fit;

\echo
\echo logistic_fit over ${FIT_ROWS} rows x ${FIT_FEATURES} features (median of 3, ms)
SELECT 'floor: scan, sum of first feature' AS what, round(ms::numeric) AS ms, result FROM pg_temp.median_ms(
  \$q\$SELECT sum(x[1]) FROM bench_eval_fit\$q\$)
UNION ALL
SELECT 'lead_scoring.logistic_fit(x, y, 1.0)', round(ms::numeric),
       jsonb_build_object('iterations', r->'iterations', 'converged', r->'converged', 'gradient_norm', r->'gradient_norm',
                          'coef_1_to_5', jsonb_path_query_array(r, '\$.coef[0 to 4]'))::text
FROM pg_temp.median_ms(\$q\$SELECT lead_scoring.logistic_fit(x, y, 1.0) FROM bench_eval_fit\$q\$) m,
     LATERAL (SELECT m.result::jsonb AS r) j;

DROP TABLE bench_eval_fit;
\endif
SQL
