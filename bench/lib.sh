# Shared helpers for bench/run.sh and its sections (sourced, not run).
#   bench_psql [psql args...]   psql on the benchmark server, stop on error, quiet
#   bench_sql FILE              runs a section's SQL file with the bench variables
#   bench_time SECTION LAYOUT WORKERS LABEL QUERY [SETTINGS]
#                               the one timer: bench.record (bench/00_setup.sql)
#                               times QUERY inside the server, median of
#                               BENCH_N runs (default 3), in a fresh session
#                               (so its memory figure is that of QUERY alone),
#                               into bench.result. SETTINGS (SQL, e.g.
#                               "SET lead_scoring.enable_fused_aggregate = off")
#                               runs first in the session; BENCH_SETUP (SQL)
#                               runs untimed before each run.
#   bench_once QUERY            prints the ms of one run of QUERY by the same
#                               timer, recording nothing (for sections that
#                               aggregate runs their own way)
# Variables every section sees (psql :vars and env): BENCH_LEADS, BENCH_EVENTS,
# BENCH_AS_OF.

bench_psql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

bench_sql() {
  bench_psql -v leads="$BENCH_LEADS" -v events="$BENCH_EVENTS" -v as_of="'$BENCH_AS_OF'" -f "$1"
}

bench_time() {
  local section=$1 layout=$2 workers=$3 label=$4 query=$5 pre=()
  [[ -n ${6:-} ]] && pre=(-c "$6")
  bench_psql -v section="$section" -v layout="$layout" -v workers="$workers" -v label="$label" \
    -v query="$query" -v n="${BENCH_N:-3}" -v setup="${BENCH_SETUP:-}" "${pre[@]}" -f - >/dev/null <<'SQL'
SET max_parallel_workers_per_gather = :workers;
-- With workers, make the planner use them even where it would not bother.
SELECT set_config('parallel_setup_cost', '0', false), set_config('parallel_tuple_cost', '0', false) WHERE :workers > 0;
CALL bench.record(:'section', :'layout', :workers, :'label', :'query', :n, nullif(:'setup', ''));
SQL
  bench_psql -At -c "SELECT format('  %-10s %-8s w=%s %-44s %10s ms %12s WAL%s %9s VmHWM  %s', section, layout, workers, label,
                                   round(ms::numeric, 1), pg_size_pretty(wal::bigint),
                                   CASE WHEN wal > 0 THEN ' (FPI ' || pg_size_pretty(bench.fpi(id)::bigint) || ')' ELSE '' END,
                                   pg_size_pretty(hwm_kb * 1024), plan)
                     FROM bench.result ORDER BY id DESC LIMIT 1"
}

bench_once() {
  bench_psql -At -v query="$1" <<'SQL'
CALL bench.record('_once', '', 0, '', :'query', 1);
DELETE FROM bench.result WHERE section = '_once' RETURNING round(ms);
SQL
}
