# Section 50: the evaluation aggregates (doc/eval.md).
#   auc(score, converted) over AUC_ROWS rows (default BENCH_EVENTS) beside the
#   plain-SQL rank-sum (Mann-Whitney U) a user writes today, in two forms, and
#   the floor (a bare scan consuming the same columns);
#   logistic_fit(features, label) over FIT_ROWS rows (default BENCH_LEADS) x
#   FIT_FEATURES features (default 20): time and Newton iterations, beside a
#   bare scan. AUC_ROWS=0 or FIT_ROWS=0 skips that part.
AUC_ROWS=${AUC_ROWS:-$BENCH_EVENTS}
FIT_ROWS=${FIT_ROWS:-$BENCH_LEADS}
FIT_FEATURES=${FIT_FEATURES:-20}

if ((AUC_ROWS > 0)); then
  bench_psql -v n="$AUC_ROWS" <<'SQL'
DROP TABLE IF EXISTS bench.eval_auc;
SELECT setseed(0.42) \g /dev/null
-- Scores with ties (about 100,000 distinct values), conversion more likely at high scores.
CREATE UNLOGGED TABLE bench.eval_auc AS
SELECT s AS score, random() < 0.05 + s / 1500 AS converted
FROM (SELECT floor(random() * 100000) / 100 AS s FROM generate_series(1, :n)) g;
VACUUM ANALYZE bench.eval_auc;
SQL
  bench_time eval auc 0 "floor: scan, count and sum" \
    "SELECT count(*) FILTER (WHERE converted) + sum(score) FROM bench.eval_auc"
  bench_time eval auc 0 "ours: auc(score, converted)" \
    "SELECT lead_scoring.auc(score, converted) FROM bench.eval_auc"
  bench_time eval auc 0 "plain SQL: rank-sum, rank() over all rows" \
    "SELECT ((sum(r) FILTER (WHERE converted) - np * (np + 1) / 2.0) / (np * nn))::float8
     FROM (SELECT converted, rank() OVER (ORDER BY score) + (count(*) OVER (PARTITION BY score) - 1) / 2.0 AS r,
                  count(*) FILTER (WHERE converted) OVER () AS np, count(*) FILTER (WHERE NOT converted) OVER () AS nn
           FROM bench.eval_auc) x
     GROUP BY np, nn"
  bench_time eval auc 0 "plain SQL: rank-sum over GROUP BY score" \
    "SELECT (sum(p * (below + n / 2.0)) / (sum(p) * sum(n)))::float8
     FROM (SELECT p, n, coalesce(sum(n) OVER (ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS below
           FROM (SELECT score, count(*) FILTER (WHERE converted) AS p, count(*) FILTER (WHERE NOT converted) AS n
                 FROM bench.eval_auc GROUP BY score) g) w"
  bench_psql -c "DROP TABLE bench.eval_auc"
fi

if ((FIT_ROWS > 0)); then
  bench_psql -v n="$FIT_ROWS" -v d="$FIT_FEATURES" <<'SQL'
DROP TABLE IF EXISTS bench.eval_fit;
SELECT setseed(0.43) \g /dev/null
-- Features: standard-normal-ish columns; labels from a known logistic model.
CREATE UNLOGGED TABLE bench.eval_fit AS
SELECT x, random() < 1 / (1 + exp(-(0.3 + (SELECT sum(x[j] * (j % 5 - 2) / 4.0) FROM generate_series(1, :d) j)))) AS y
FROM (SELECT ARRAY(SELECT (random() + random() + random() - 1.5) * 2 FROM generate_series(1, :d) WHERE i > 0) AS x
      FROM generate_series(1, :n) i) g;
VACUUM ANALYZE bench.eval_fit;
SQL
  bench_time eval fit 0 "floor: scan, sum of the first feature" "SELECT sum(x[1]) FROM bench.eval_fit"
  # The value recorded: iterations, convergence and the first coefficients.
  bench_time eval fit 0 "ours: logistic_fit(x, y, 1.0)" \
    "SELECT jsonb_build_object('iterations', r->'iterations', 'converged', r->'converged',
                               'gradient_norm', r->'gradient_norm', 'coef_1_to_5', jsonb_path_query_array(r, '\$.coef[0 to 4]'))
     FROM (SELECT lead_scoring.logistic_fit(x, y, 1.0) AS r FROM bench.eval_fit) f"
  bench_psql -c "DROP TABLE bench.eval_fit"
fi
