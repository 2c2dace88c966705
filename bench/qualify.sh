#!/usr/bin/env bash
# Qualification and RFM benchmark (DESIGN.md §5, §7), runnable alone:
#   QUALIFY_LEADS=1000000 bash bench/qualify.sh        (against $PGHOST/$PGPORT/$PGDATABASE)
# Needs the lead_scoring extension installed in the server. Builds its own
# tables (bench_qualify_*), times every query 3 times in one psql session and
# prints the median beside the plain-SQL way and the floor (a bare scan).
# Serial plans (max_parallel_workers_per_gather = 0) on both sides, so the
# comparison is of the work per row, not of the number of cores; jit = off,
# because JIT compilation (about 0.5 s here) would only slow the plain-SQL CASE.
set -euo pipefail

N=${QUALIFY_LEADS:-1000000}
RUNS=3
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

"${PSQL[@]}" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_scoring;
DROP TABLE IF EXISTS bench_qualify_leads, bench_qualify_breaks, bench_qualify_cuts;
DELETE FROM lead_scoring.model WHERE name = 'bench_qualify';
INSERT INTO lead_scoring.model(name, spec) VALUES ('bench_qualify', '{
  "disqualify": {"events": ["complaint"]},
  "grades": [{"grade": "A", "min_fit": 75}, {"grade": "B", "min_fit": 50}, {"grade": "C", "min_fit": 25}],
  "stages": [{"stage": "SQL", "min_score": 80, "event": "demo_request"}, {"stage": "MQL3", "min_score": 60},
             {"stage": "MQL2", "min_score": 30, "min_activity": 5}, {"stage": "MQL1", "min_fit": 40}]}');
SELECT setseed(0.5) \gset
-- One row per lead: RFM inputs, fit, activity, score and the flags event_flags() gives.
CREATE TABLE bench_qualify_leads AS
SELECT i AS id,
       floor(random() * 730)::float8 AS recency,
       (1 + floor(random() * random() * 30))::float8 AS frequency,
       round((random() * random() * 5000)::numeric, 2)::float8 AS monetary,
       floor(random() * 100)::float8 AS fit,
       floor(random() * 60)::float8 AS activity,
       (CASE WHEN i % 50 = 0 THEN '{complaint}' WHEN i % 7 = 0 THEN '{demo_request}' ELSE '{}' END)::text[] AS types
FROM generate_series(1, $N) i;
ALTER TABLE bench_qualify_leads ADD COLUMN score float8;
UPDATE bench_qualify_leads SET score = fit * 0.6 + activity;
VACUUM ANALYZE bench_qualify_leads;
CREATE TABLE bench_qualify_breaks AS SELECT lead_scoring.rfm_breaks(recency, frequency, monetary) AS b FROM bench_qualify_leads;
-- The same cut points as columns, for the plain-SQL CASE.
CREATE TABLE bench_qualify_cuts AS
SELECT (b->'recency'->>0)::float8 r1, (b->'recency'->>1)::float8 r2, (b->'recency'->>2)::float8 r3, (b->'recency'->>3)::float8 r4,
       (b->'frequency'->>0)::float8 f1, (b->'frequency'->>1)::float8 f2, (b->'frequency'->>2)::float8 f3, (b->'frequency'->>3)::float8 f4,
       (b->'monetary'->>0)::float8 m1, (b->'monetary'->>1)::float8 m2, (b->'monetary'->>2)::float8 m3, (b->'monetary'->>3)::float8 m4
FROM bench_qualify_breaks;
ANALYZE bench_qualify_breaks;
ANALYZE bench_qualify_cuts;
SQL

# name|query; each query's result is consumed (a sum or a jsonb) so nothing is skipped.
QUERIES=(
"floor: bare scan of the three columns|SELECT sum(recency) + sum(frequency) + sum(monetary) FROM bench_qualify_leads"
"rfm_breaks (one pass)|SELECT lead_scoring.rfm_breaks(recency, frequency, monetary) FROM bench_qualify_leads"
"plain SQL: 3 x percentile_disc|SELECT percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY recency), percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY frequency), percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY monetary) FROM bench_qualify_leads"
"floor: bare scan of the six columns|SELECT sum(recency + frequency + monetary + fit + activity + score) + sum(cardinality(types)) FROM bench_qualify_leads"
"rfm + stage + grade (lead_scoring)|SELECT sum(length((x).code)) + count((x).segment) + sum(length(st)) + count(g) FROM (SELECT lead_scoring.rfm(recency, frequency, monetary, (SELECT b FROM bench_qualify_breaks)) AS x, lead_scoring.stage('bench_qualify', score, fit, activity, types) AS st, lead_scoring.grade('bench_qualify', fit) AS g FROM bench_qualify_leads OFFSET 0) s"
"plain SQL: CASE for rfm + stage + grade|SELECT sum(length(code)) + count(seg) + sum(length(st)) + count(g) FROM (SELECT r::text || f::text || m::text AS code, CASE WHEN r = 5 AND f >= 4 THEN 'Champions' WHEN r IN (3, 4) AND f >= 4 THEN 'Loyal Customers' WHEN r >= 4 AND f IN (2, 3) THEN 'Potential Loyalists' WHEN r = 5 AND f = 1 THEN 'New Customers' WHEN r = 4 AND f = 1 THEN 'Promising' WHEN r = 3 AND f = 3 THEN 'Need Attention' WHEN r = 3 AND f <= 2 THEN 'About to Sleep' WHEN r <= 2 AND f = 5 THEN 'Can''t Lose' WHEN r <= 2 AND f IN (3, 4) THEN 'At Risk' WHEN r <= 2 AND f <= 2 THEN 'Hibernating' END AS seg, CASE WHEN 'complaint' = ANY (types) THEN 'disqualified' WHEN score >= 80 AND 'demo_request' = ANY (types) THEN 'SQL' WHEN score >= 60 THEN 'MQL3' WHEN score >= 30 AND activity >= 5 THEN 'MQL2' WHEN fit >= 40 THEN 'MQL1' ELSE 'new' END AS st, CASE WHEN fit >= 75 THEN 'A' WHEN fit >= 50 THEN 'B' WHEN fit >= 25 THEN 'C' END AS g FROM (SELECT l.*, 5 - ((recency > r1)::int + (recency > r2)::int + (recency > r3)::int + (recency > r4)::int) AS r, 1 + (frequency > f1)::int + (frequency > f2)::int + (frequency > f3)::int + (frequency > f4)::int AS f, 1 + (monetary > m1)::int + (monetary > m2)::int + (monetary > m3)::int + (monetary > m4)::int AS m FROM bench_qualify_leads l, bench_qualify_cuts c) x) y"
)

# Same answers first (not timed): the plain-SQL CASE and the functions agree lead by lead.
"${PSQL[@]}" -At <<'SQL' | sed 's/^/check: /'
SELECT 'rfm_breaks = percentile_disc: ' || (
  (SELECT ARRAY(SELECT jsonb_array_elements_text(b->'recency')::float8) FROM bench_qualify_breaks)
    = (SELECT percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY recency) FROM bench_qualify_leads));
SELECT 'leads where functions and CASE disagree: ' || count(*) FROM (
  SELECT (lead_scoring.rfm(recency, frequency, monetary, (SELECT b FROM bench_qualify_breaks))).code AS code,
         5 - ((recency > r1)::int + (recency > r2)::int + (recency > r3)::int + (recency > r4)::int) AS r,
         1 + (frequency > f1)::int + (frequency > f2)::int + (frequency > f3)::int + (frequency > f4)::int AS f,
         1 + (monetary > m1)::int + (monetary > m2)::int + (monetary > m3)::int + (monetary > m4)::int AS m
  FROM bench_qualify_leads, bench_qualify_cuts WHERE id % 100 = 0) x
WHERE code IS DISTINCT FROM r::text || f::text || m::text;
SQL

script=$(mktemp)
trap 'rm -f "$script"' EXIT
{
  echo "SET max_parallel_workers_per_gather = 0;"
  echo "SET jit = off;"
  echo "\\timing on"
  for q in "${QUERIES[@]}"; do
    for _ in $(seq 1 "$RUNS"); do
      echo "\\echo @@ ${q%%|*}"
      echo "${q#*|} \\g /dev/null"
    done
  done
} >"$script"

printf '\nqualify benchmark: %s leads, median of %s runs (ms), serial plans, jit off\n' "$N" "$RUNS"
"${PSQL[@]}" -f "$script" | awk '
  /^@@ / { name = substr($0, 4); next }
  /^Time: / { t[name] = t[name] " " $2; if (!(name in seen)) { order[++n] = name; seen[name] = 1 } }
  END {
    printf "%-42s %12s\n", "query", "median ms"
    for (i = 1; i <= n; i++) {
      k = split(t[order[i]], a, " ")
      # median of k values (k = 3): sort numerically
      for (x = 1; x <= k; x++) for (y = x + 1; y <= k; y++) if (a[y] + 0 < a[x] + 0) { tmp = a[x]; a[x] = a[y]; a[y] = tmp }
      med[i] = a[int((k + 1) / 2)]
      printf "%-42s %12.1f\n", order[i], med[i]
    }
    printf "\nrfm_breaks speed-up over 3 x percentile_disc: %.2fx\n", med[3] / med[2]
    printf "rfm + stage + grade vs plain-SQL CASE: %.2fx the time of the CASE\n", med[5] / med[6]
  }'

if [[ -z "${KEEP:-}" ]]; then
  "${PSQL[@]}" -c "DROP TABLE bench_qualify_leads, bench_qualify_breaks, bench_qualify_cuts; DELETE FROM lead_scoring.model WHERE name = 'bench_qualify';"
fi
