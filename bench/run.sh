#!/usr/bin/env bash
# `make bench`: performance of lead_scoring beside the plain SQL a user writes
# today and beside the floor (a bare scan / GROUP BY of the same table), all
# measured in one run. Not a test: nothing here asserts a time.
#
#   PG_CONFIG=... make bench                       # 1M leads, 10M events
#   BENCH_LEADS=200000 BENCH_EVENTS=2000000 make bench
#   BENCH_SECTIONS="60_refresh 70_capture" make bench   # some sections only
#
# Starts a throwaway server (scripts/pg_tmp.sh; shared_buffers 4GB, work_mem
# 256MB, jit off, full_page_writes on so WAL figures are a production
# server's, max_parallel_workers_per_gather 0 unless a measurement sets it;
# the background worker preloaded with naptime 1 s for bench/60_refresh.sh's
# event-to-ranking latency), with the extension as installed for $PG_CONFIG.
# BENCH_KEEP=1 leaves the server running and prints how to reach it; run again
# with those PG* variables and BENCH_REUSE=1 to reuse it and its data
# (rebuilt only when the sizes differ).
#
# Layout: bench/00_setup.sql (the timer, bench.record, and the result table),
# then every bench/NN_*.sh section in order, each sourced with bench/lib.sh's
# helpers (bench_psql, bench_sql, bench_time: the one timer, inside the
# server); a section may keep its SQL beside it as bench/NN_*.sql. Results go
# to bench.result and are printed as one table at the end.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
export BENCH_DIR
export BENCH_LEADS=${BENCH_LEADS:-1000000}
export BENCH_EVENTS=${BENCH_EVENTS:-10000000}
export BENCH_AS_OF=${BENCH_AS_OF:-2024-06-01 00:00:00+00}
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

if [[ "${BENCH_REUSE:-0}" == 1 && -n "${PGHOST:-}" ]]; then
  echo "reusing the server at $PGHOST:$PGPORT"
else
  eval "$("$ROOT/scripts/pg_tmp.sh" start "shared_buffers = '4GB'" "work_mem = '256MB'" \
          "max_parallel_workers_per_gather = 0" "max_parallel_workers = 8" "jit = off" \
          "full_page_writes = on" \
          "shared_preload_libraries = 'lead_scoring'" "lead_scoring.database = 'postgres'" "lead_scoring.naptime = 1")"
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "server kept: export PGHOST='$PGHOST' PGPORT='$PGPORT' PGUSER='$PGUSER' PGDATABASE='$PGDATABASE' BENCH_REUSE=1"
    echo "stop it with: scripts/pg_tmp.sh stop '$LS_PGTMP'"
  else
    trap '"$ROOT/scripts/pg_tmp.sh" stop "$LS_PGTMP"' EXIT
  fi
fi

bench_psql -f "$BENCH_DIR/00_setup.sql"
echo "lead_scoring benchmark: $BENCH_LEADS leads, $BENCH_EVENTS events, as_of $BENCH_AS_OF"
for section in "$BENCH_DIR"/[0-9][0-9]_*.sh; do
  # BENCH_SECTIONS="70_capture ...": only those sections.
  [[ -n "${BENCH_SECTIONS:-}" && " $BENCH_SECTIONS " != *" $(basename "$section" .sh) "* ]] && continue
  echo "== $(basename "$section" .sh)"
  # shellcheck disable=SC1090
  source "$section"
done

echo
echo "Median of the runs (n), ms, timed inside the server. x floor = time / the section's floor; x ours = time / lead_scoring's time."
echo "WAL: median bytes inserted per run (of it FPI: full-page images, pg_walinspect); peak mem: the session's VmHWM (of it shared buf: RssShmem, shared buffers it touched)."
bench_psql -P footer=off -c "
SELECT r.section, r.layout, r.workers AS w, r.label AS query, cardinality(r.runs) AS n,
       round(r.ms::numeric, CASE WHEN r.ms < 100 THEN 1 ELSE 0 END) AS ms,
       round((r.ms / f.ms)::numeric, 2) AS \"x floor\", round((r.ms / o.ms)::numeric, 2) AS \"x ours\",
       pg_size_pretty(r.wal::bigint) AS wal, pg_size_pretty(r.wal_fpi::bigint) AS \"of it FPI\", pg_size_pretty(r.hwm_kb * 1024) AS \"peak mem\",
       pg_size_pretty(r.shmem_kb * 1024) AS \"of it shared buf\", r.plan, left(r.checksum, 60) AS value
FROM bench.result r
LEFT JOIN LATERAL (SELECT * FROM bench.result f WHERE f.section = r.section AND f.layout = r.layout AND f.workers = r.workers
                   AND f.label LIKE 'floor%' ORDER BY f.id LIMIT 1) f ON true
LEFT JOIN LATERAL (SELECT * FROM bench.result o WHERE o.section = r.section AND o.layout = r.layout AND o.workers = r.workers
                   AND o.label LIKE 'ours%' ORDER BY o.id LIMIT 1) o ON true
ORDER BY r.id"
