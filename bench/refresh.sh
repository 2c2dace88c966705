#!/usr/bin/env bash
# Benchmark of lead_scoring.refresh (DESIGN §8) against the plain-SQL pipeline a
# user would write today, on LEADS leads and EVENTS events (hash-based random).
#
#   PGHOST=... PGPORT=... [LEADS=1000000] [EVENTS=10000000] [NEW_EVENTS=10000] bash bench/refresh.sh
#
# Prints, median of RUNS (3) measured in one run:
#   floor         bare GROUP BY lead_id over the events (count only)
#   plain/extract CREATE TABLE AS: per-type decayed sums (extract(epoch ...), numeric),
#                 caps, fit CASE, joined to leads, rank() window
#   plain/float8  the same with date_part (float8 arithmetic)
#   full refresh  lead_scoring.refresh(model, as_of, true)
#   incremental   lead_scoring.refresh(model, as_of') after NEW_EVENTS new events on 1% of the leads
#   VmHWM         peak memory of the refreshing backend (/proc/self/status via pg_read_file),
#                 with RssShmem: how much of it is shared buffers the backend touched
# Needs a superuser (pg_read_file) and the extension installed. Leaves schema
# bench_rank behind unless KEEP=0.
set -euo pipefail
LEADS=${LEADS:-1000000}
EVENTS=${EVENTS:-10000000}
NEW_EVENTS=${NEW_EVENTS:-10000}
RUNS=${RUNS:-3}
KEEP=${KEEP:-0}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
AS_OF="2024-06-01 00:00+00"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() {  # timeit <sql>: seconds for one psql call running it
  local t0 t1
  t0=$(now); "${PSQL[@]}" -c "$1" >/dev/null; t1=$(now)
  echo "$t1 - $t0" | bc
}

echo "# lead_scoring refresh benchmark: LEADS=$LEADS EVENTS=$EVENTS NEW_EVENTS=$NEW_EVENTS RUNS=$RUNS"
"${PSQL[@]}" <<SQL
CREATE EXTENSION IF NOT EXISTS lead_scoring;
DROP SCHEMA IF EXISTS bench_rank CASCADE;
DELETE FROM lead_scoring.model WHERE name = 'bench_rank';
DROP TABLE IF EXISTS lead_scoring.ranking_bench_rank, lead_scoring_state.bench_rank;
DELETE FROM lead_scoring.refresh_state WHERE model = 'bench_rank';
DELETE FROM lead_scoring.change_log WHERE model = 'bench_rank';
CREATE SCHEMA bench_rank;
CREATE TABLE bench_rank.leads AS
  SELECT g::bigint AS id,
         (ARRAY['software', 'retail', 'finance', 'gov'])[1 + abs(hashint8(g)) % 4] AS industry,
         (abs(hashint8(g * 7)) % 5000)::int AS employees,
         jsonb_build_object('country', (ARRAY['US', 'CA', 'FR', 'DE', 'GB'])[1 + abs(hashint8(g * 13)) % 5]) AS props
  FROM generate_series(1, $LEADS) g;
ALTER TABLE bench_rank.leads ADD PRIMARY KEY (id);
CREATE TABLE bench_rank.events AS
  SELECT (1 + abs(hashint8(g)) % $LEADS)::bigint AS lead_id,
         (ARRAY['page_view', 'page_view', 'page_view', 'email_open', 'pricing', 'download', 'webinar', 'demo_request'])
             [1 + abs(hashint8(g * 31)) % 8] AS event_type,
         timestamptz '$AS_OF' - (abs(hashint8(g * 17)) % (365 * 86400)) * interval '1 second' AS occurred_at
  FROM generate_series(1, $EVENTS) g;
CREATE INDEX ON bench_rank.events (lead_id);
VACUUM ANALYZE bench_rank.leads, bench_rank.events;
INSERT INTO lead_scoring.model (name, spec) VALUES ('bench_rank', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 20},
                    {"field": "employees", "gte": 1000, "points": 15},
                    {"field": "country", "in": ["US", "CA"], "points": 10}]},
  "activity": {"events": {"page_view": {"points": 1, "cap": 20}, "email_open": {"points": 2, "cap": 20},
                          "pricing": {"points": 10}, "download": {"points": 8}, "webinar": {"points": 12},
                          "demo_request": {"points": 30}},
               "decay": {"kind": "exponential", "half_life": "30 days"}},
  "stages": [{"stage": "SQL", "min_score": 80, "event": "demo_request"}, {"stage": "MQL", "min_score": 40}],
  "source": {"leads": {"table": "bench_rank.leads", "id": "id", "properties": "props"},
             "events": {"table": "bench_rank.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}');
SQL
"${PSQL[@]}" -c "SELECT 'events table: ' || pg_size_pretty(pg_total_relation_size('bench_rank.events'))"

# The plain-SQL pipeline: $1 = the age expression in seconds.
plain_sql() {
  cat <<SQL
DROP TABLE IF EXISTS bench_rank.plain;
CREATE TABLE bench_rank.plain AS
WITH pts(t, p, cap) AS (VALUES ('page_view', 1.0::float8, 20.0::float8), ('email_open', 2, 20), ('pricing', 10, NULL),
                               ('download', 8, NULL), ('webinar', 12, NULL), ('demo_request', 30, NULL)),
per_type AS (
  SELECT e.lead_id, e.event_type, sum(pts.p * power(2::float8, -($1) / (30 * 86400))) AS s, max(pts.cap) AS cap
  FROM bench_rank.events e JOIN pts ON pts.t = e.event_type
  WHERE e.occurred_at <= timestamptz '$AS_OF'
  GROUP BY e.lead_id, e.event_type),
act AS (
  SELECT lead_id, sum(CASE WHEN cap IS NULL THEN s ELSE least(cap, s) END) AS activity,
         bool_or(event_type = 'demo_request') AS demo
  FROM per_type GROUP BY lead_id),
scored AS (
  SELECT l.id AS lead_id,
         (CASE WHEN lower(l.industry) = 'software' THEN 20 ELSE 0 END
        + CASE WHEN l.employees >= 1000 THEN 15 ELSE 0 END
        + CASE WHEN lower(l.props->>'country') IN ('us', 'ca') THEN 10 ELSE 0 END)::float8 AS fit,
         coalesce(a.activity, 0) AS activity, coalesce(a.demo, false) AS demo
  FROM bench_rank.leads l LEFT JOIN act a ON a.lead_id = l.id)
SELECT lead_id, fit + activity AS score, fit, activity,
       CASE WHEN fit + activity >= 80 AND demo THEN 'SQL' WHEN fit + activity >= 40 THEN 'MQL' ELSE 'new' END AS stage,
       rank() OVER (ORDER BY fit + activity DESC) AS rank
FROM scored;
SQL
}
EXTRACT_AGE="extract(epoch FROM timestamptz '$AS_OF' - e.occurred_at)::float8"
FLOAT_AGE="date_part('epoch', timestamptz '$AS_OF' - e.occurred_at)"

declare -A T
for r in $(seq 1 "$RUNS"); do
  T[floor]+="$(timeit "SELECT sum(c) FROM (SELECT lead_id, count(*) AS c FROM bench_rank.events GROUP BY lead_id) s")"$'\n'
  T[plain_extract]+="$(timeit "$(plain_sql "$EXTRACT_AGE")")"$'\n'
  T[plain_float8]+="$(timeit "$(plain_sql "$FLOAT_AGE")")"$'\n'
  T[full]+="$(timeit "SELECT lead_scoring.refresh('bench_rank', '$AS_OF', true)")"$'\n'
done
# Same numbers? (scores of the plain pipeline vs the refresh, 1e-9 relative)
"${PSQL[@]}" -c "SELECT 'plain vs refresh: ' || count(*) || ' leads, ' ||
  count(*) FILTER (WHERE abs(p.score - r.score) > 1e-9 * greatest(1, abs(r.score)) OR p.stage <> r.stage OR p.rank <> r.rank)
  || ' differ' FROM bench_rank.plain p JOIN lead_scoring.ranking_bench_rank r USING (lead_id)"

# Peak memory of a backend doing one full refresh.
HWM=$("${PSQL[@]}" <<SQL | tail -1
SELECT lead_scoring.refresh('bench_rank', '$AS_OF', true);
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+ kB)'))[1] || ' (of which shared buffers touched, RssShmem: ' || (regexp_match(pg_read_file('/proc/self/status'), 'RssShmem:\s+(\d+ kB)'))[1] || ')';
SQL
)
BASE=$("${PSQL[@]}" -c "SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+ kB)'))[1]")

# Incremental: NEW_EVENTS events on 1% of the leads, as_of one minute later each run.
for r in $(seq 1 "$RUNS"); do
  "${PSQL[@]}" -c "INSERT INTO bench_rank.events
    SELECT (1 + abs(hashint8(g * 101 + $r)) % greatest(1, $LEADS / 100) * 100)::bigint, 'pricing',
           timestamptz '$AS_OF' + interval '$r minutes' - interval '1 second'
    FROM generate_series(1, $NEW_EVENTS) g"
  T[incremental]+="$(timeit "SELECT lead_scoring.refresh('bench_rank', timestamptz '$AS_OF' + interval '$r minutes')")"$'\n'
done
"${PSQL[@]}" -c "SELECT 'last incremental: mode ' || mode || ', ' || changed_leads || ' leads recomputed, ' || events_read || ' events read'
  FROM lead_scoring.refresh_log WHERE model = 'bench_rank' ORDER BY id DESC LIMIT 1"
INC_HWM=$("${PSQL[@]}" <<SQL | tail -1
INSERT INTO bench_rank.events SELECT 100, 'pricing', timestamptz '$AS_OF' + interval '9 minutes';
SELECT lead_scoring.refresh('bench_rank', timestamptz '$AS_OF' + interval '10 minutes');
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+ kB)'))[1] || ' (of which shared buffers touched, RssShmem: ' || (regexp_match(pg_read_file('/proc/self/status'), 'RssShmem:\s+(\d+ kB)'))[1] || ')';
SQL
)

# The floor of writing a ranking: the same 1M rows, rewritten by plain SQL.
#   rewrite     DELETE + INSERT into a copy of the target with the same 3 indexes
#               (what any refresh that keeps readers unblocked and MVCC-safe must do)
#   materialize CREATE TABLE AS + the 3 CREATE INDEX (the cheapest materialization
#               there is, ignoring readers)
"${PSQL[@]}" <<SQL
DROP TABLE IF EXISTS bench_rank.rows, bench_rank.rewrite;
CREATE TABLE bench_rank.rows AS SELECT * FROM lead_scoring.ranking_bench_rank ORDER BY rank;
CREATE TABLE bench_rank.rewrite (LIKE lead_scoring.ranking_bench_rank INCLUDING INDEXES);
INSERT INTO bench_rank.rewrite SELECT * FROM bench_rank.rows;
VACUUM ANALYZE bench_rank.rows, bench_rank.rewrite;
SQL
for r in $(seq 1 "$RUNS"); do
  T[rewrite]+="$(timeit "BEGIN; DELETE FROM bench_rank.rewrite; INSERT INTO bench_rank.rewrite SELECT * FROM bench_rank.rows; COMMIT")"$'\n'
  T[materialize]+="$(timeit "DROP TABLE IF EXISTS bench_rank.mat; CREATE TABLE bench_rank.mat AS SELECT * FROM bench_rank.rows;
    ALTER TABLE bench_rank.mat ADD PRIMARY KEY (lead_id); CREATE INDEX ON bench_rank.mat (rank); CREATE INDEX ON bench_rank.mat (stage, rank)")"$'\n'
done

printf '%-34s %10s\n' "step (median of $RUNS)" "seconds"
for k in floor plain_extract plain_float8 full incremental rewrite materialize; do
  printf '%-34s %10.3f\n' "$k" "$(printf '%s' "${T[$k]}" | grep -v '^$' | median)"
done
echo "VmHWM fresh backend: $BASE; after a full refresh: $HWM; after an incremental refresh: $INC_HWM"
# The worker: how long until a new event shows in the ranking when the
# background worker refreshes the model every naptime (needs the server started
# with shared_preload_libraries = 'lead_scoring' and this database in
# lead_scoring.database, as bench/run.sh does). Each sample inserts one event
# at a random moment of the worker's cycle and polls the lead's row.
WORKER=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker' AND datname = current_database()")
if [[ "$WORKER" -ge 1 ]]; then
  NAP=$("${PSQL[@]}" -c "SELECT extract(epoch FROM current_setting('lead_scoring.naptime')::interval)::int")
  "${PSQL[@]}" -c "UPDATE lead_scoring.model SET refresh_interval = make_interval(secs => $NAP), enabled = true WHERE name = 'bench_rank'"
  FIRST=$("${PSQL[@]}" -c "SELECT coalesce(max(id), 0) FROM lead_scoring.refresh_log")
  for _ in $(seq 1 1200); do
    [[ $("${PSQL[@]}" -c "SELECT count(*) FROM lead_scoring.refresh_log WHERE model = 'bench_rank' AND status = 'ok' AND id > $FIRST") -ge 1 ]] && break
    sleep 0.5
  done
  echo "worker (naptime ${NAP} s): first refresh done; new events, each on one lead at a random moment:"
  for r in $(seq 1 "$RUNS"); do
    sleep $((RANDOM % NAP)).$((RANDOM % 10))
    LEAD=$((1 + (r * 7919) % LEADS))
    BEFORE=$("${PSQL[@]}" -c "SELECT activity FROM lead_scoring.ranking_bench_rank WHERE lead_id = $LEAD")
    t0=$(now)
    "${PSQL[@]}" -c "INSERT INTO bench_rank.events VALUES ($LEAD, 'demo_request', now())"
    for _ in $(seq 1 6000); do
      [[ $("${PSQL[@]}" -c "SELECT activity > $BEFORE + 15 FROM lead_scoring.ranking_bench_rank WHERE lead_id = $LEAD") == t ]] && break
      sleep 0.1
    done
    t1=$(now)
    "${PSQL[@]}" -c "SELECT format('  event %s: visible after %s s; the refresh that showed it: %s, %s s, recomputed %s leads; naptime + that refresh = %s s',
        $r, round(($t1 - $t0)::numeric, 1), mode, round(extract(epoch FROM finished_at - started_at)::numeric, 1), changed_leads,
        round(($NAP + extract(epoch FROM finished_at - started_at))::numeric, 1))
      FROM lead_scoring.refresh_log WHERE model = 'bench_rank' AND status = 'ok' ORDER BY id DESC LIMIT 1"
  done
  "${PSQL[@]}" -c "UPDATE lead_scoring.model SET refresh_interval = NULL WHERE name = 'bench_rank'"
else
  echo "worker latency: skipped (no lead_scoring worker for this database; see bench/run.sh)"
fi

if [[ "$KEEP" == 0 ]]; then
  "${PSQL[@]}" <<SQL
DROP SCHEMA bench_rank CASCADE;
DELETE FROM lead_scoring.model WHERE name = 'bench_rank';
DROP TABLE IF EXISTS lead_scoring.ranking_bench_rank, lead_scoring_state.bench_rank;
DELETE FROM lead_scoring.refresh_state WHERE model = 'bench_rank';
DELETE FROM lead_scoring.change_log WHERE model = 'bench_rank';
SQL
fi
