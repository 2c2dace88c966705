#!/usr/bin/env bash
# `make bench`: performance of lead_scoring beside the plain SQL a user writes
# today and beside the floor (a bare scan / GROUP BY). Not a test: nothing here
# asserts a time.
#
#   PG_CONFIG=... make bench                       # 1M leads, 10M events
#   BENCH_LEADS=200000 BENCH_EVENTS=2000000 make bench
#   BENCH_SECTIONS="70_capture" make bench          # some sections only
#
# Starts a throwaway server (scripts/pg_tmp.sh; shared_buffers 4GB, work_mem
# 256MB, max_parallel_workers_per_gather 0 unless a measurement sets it; the
# background worker preloaded with naptime 30 s, for bench/refresh.sh), with
# the extension as installed for $PG_CONFIG. BENCH_KEEP=1 leaves the server
# running and prints how to reach it; run again with those PG* variables and
# BENCH_REUSE=1 to reuse it and its data (rebuilt only when the sizes differ).
#
# Layout: bench/00_setup.sql (helpers), then every bench/NN_*.sh section in
# order, each sourced with bench/lib.sh's helpers (bench_sql, bench_time); a
# section may keep its SQL beside it as bench/NN_*.sql. Results go to
# bench.result and are printed as one table at the end.
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
          "shared_preload_libraries = 'lead_scoring'" "lead_scoring.database = 'postgres'" "lead_scoring.naptime = '30s'")"
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
echo "Median of 3 runs, ms. x floor = time / the section's floor; x ours = time / lead_scoring's time."
bench_psql -P footer=off -c "
SELECT r.section, r.layout, r.workers AS w, r.label AS query, round(r.ms::numeric) AS ms,
       round((r.ms / f.ms)::numeric, 2) AS \"x floor\", round((r.ms / o.ms)::numeric, 2) AS \"x ours\",
       r.plan, r.checksum
FROM bench.result r
LEFT JOIN bench.result f ON f.section = r.section AND f.layout = r.layout AND f.workers = r.workers AND f.label LIKE 'floor%'
LEFT JOIN bench.result o ON o.section = r.section AND o.layout = r.layout AND o.workers = r.workers AND o.label LIKE 'ours%'
ORDER BY r.id"
