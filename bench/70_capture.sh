# Section of bench/run.sh: what the change capture costs the CRM's writers.
# Single-row INSERTs into an events table, CAPTURE_CLIENTS pgbench clients for
# CAPTURE_SECONDS each, into identical tables:
#   none     no trigger (the floor)
#   capture  the change-capture triggers refresh installs (C, src/pg/capture.cpp;
#            AFTER ... FOR EACH STATEMENT with transition tables)
#   plpgsql  the PL/pgSQL SECURITY DEFINER trigger used before (a copy, writing
#            to a copy of the change log), for comparison
#   noop     a statement trigger with a transition table that does nothing
#            (PL/pgSQL): what PostgreSQL's statement-trigger machinery costs
#   nooprow  an AFTER ... FOR EACH ROW trigger that does nothing (PL/pgSQL):
#            the floor of a row-level capture (one was tried: it cost single-row
#            inserts as much as the statement capture, and more in bulk;
#            doc/privileges.md has the figures)
# Then bulk loads (CAPTURE_BULK rows, default 1,000,000, in one statement) into
# none / capture: INSERT ... SELECT with lead ids cycling over 100,000 leads,
# the same sorted by lead (10 rows per lead), and COPY FROM a file of the
# cycling rows. Reported: wall time, server CPU and the change rows appended
# (one per distinct lead and statement), median of CAPTURE_ROUNDS.
# Rounds alternate the tables (CAPTURE_ROUNDS); every run starts from empty
# tables and change logs. Reported: tps, and the server's CPU time per insert
# (all server processes, read from /proc), which other load on the machine
# does not distort the way it distorts tps; bench.result keeps the median CPU
# per insert (ms column, so "x floor" is the cost ratio) and the median tps.
# Alone: BENCH_SECTIONS=70_capture make bench (needs no generated data).
CAPTURE_CLIENTS=${CAPTURE_CLIENTS:-4}
CAPTURE_SECONDS=${CAPTURE_SECONDS:-10}
CAPTURE_ROUNDS=${CAPTURE_ROUNDS:-3}
# Some of the tables only, e.g. CAPTURE_TABLES="none capture".
CAPTURE_TABLES=${CAPTURE_TABLES:-none noop nooprow capture plpgsql}
PGBENCH="$("${PG_CONFIG:-pg_config}" --bindir)/pgbench"

bench_psql <<'SQL'
DELETE FROM lead_scoring.model WHERE name = 'bench_capture';
DROP SCHEMA IF EXISTS bench_capture CASCADE;
CREATE SCHEMA bench_capture;
CREATE TABLE bench_capture.leads (id bigint PRIMARY KEY);
INSERT INTO bench_capture.leads SELECT generate_series(1, 100000);
CREATE TABLE bench_capture.events_none (lead_id bigint, event_type text, occurred_at timestamptz);
CREATE TABLE bench_capture.events_capture (LIKE bench_capture.events_none);
CREATE TABLE bench_capture.events_plpgsql (LIKE bench_capture.events_none);
CREATE TABLE bench_capture.events_noop (LIKE bench_capture.events_none);
CREATE TABLE bench_capture.events_nooprow (LIKE bench_capture.events_none);
CREATE FUNCTION bench_capture.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER noop_ins AFTER INSERT ON bench_capture.events_noop REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bench_capture.noop();
CREATE TRIGGER noop_ins AFTER INSERT ON bench_capture.events_nooprow
    FOR EACH ROW EXECUTE FUNCTION bench_capture.noop();
INSERT INTO lead_scoring.model (name, spec) VALUES ('bench_capture', '{
  "activity": {"events": {"page_view": {"points": 1}}},
  "source": {"leads": {"table": "bench_capture.leads", "id": "id"},
             "events": {"table": "bench_capture.events_capture", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}');
SELECT lead_scoring.refresh('bench_capture') \g /dev/null

-- The trigger function this extension shipped before the C capture, verbatim
-- but for the change log it writes (a copy of lead_scoring.change_log).
CREATE TABLE bench_capture.change_log (model text NOT NULL, lead_id text);
CREATE INDEX ON bench_capture.change_log (model);
CREATE FUNCTION bench_capture.old_capture() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO bench_capture.change_log (model, lead_id) VALUES (TG_ARGV[0], NULL);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('INSERT INTO bench_capture.change_log (model, lead_id) '
                       'SELECT DISTINCT $1, n.%1$I::pg_catalog.text FROM new_rows n WHERE n.%1$I IS NOT NULL',
                       TG_ARGV[1]) USING TG_ARGV[0];
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('INSERT INTO bench_capture.change_log (model, lead_id) '
                       'SELECT DISTINCT $1, o.%1$I::pg_catalog.text FROM old_rows o WHERE o.%1$I IS NOT NULL',
                       TG_ARGV[1]) USING TG_ARGV[0];
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER old_ins AFTER INSERT ON bench_capture.events_plpgsql REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bench_capture.old_capture('bench_capture', 'lead_id');
CREATE TRIGGER old_upd AFTER UPDATE ON bench_capture.events_plpgsql REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bench_capture.old_capture('bench_capture', 'lead_id');
CREATE TRIGGER old_del AFTER DELETE ON bench_capture.events_plpgsql REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bench_capture.old_capture('bench_capture', 'lead_id');
SQL

# CPU seconds of the server so far: the postmaster with its reaped children
# (backends that exited) and its live children. Counts the work the inserts
# cost whatever else runs on the machine, which wall-clock tps does not.
capture_server_cpu() {
  local pm ticks=0 f
  pm=$(ps -o ppid= -p "$(bench_psql -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")" | tr -d ' ')
  read -r -a f <<<"$(sed 's/^.*) //' "/proc/$pm/stat")"
  ticks=$((f[11] + f[12] + f[13] + f[14]))  # utime stime cutime cstime
  for c in $(pgrep -P "$pm"); do
    read -r -a f <<<"$(sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null)" || continue
    ticks=$((ticks + f[11] + f[12]))
  done
  echo "$ticks $(getconf CLK_TCK)" | awk '{printf "%.2f", $1 / $2}'
}

capture_run() {  # capture_run TABLE -> "tps cpu_us_per_insert"
  local script out cpu0 cpu1
  script=$(mktemp)
  printf '\\set id random(1, 100000)\nINSERT INTO bench_capture.%s (lead_id, event_type, occurred_at) VALUES (:id, '"'"'page_view'"'"', now());\n' "$1" >"$script"
  bench_psql -c "TRUNCATE bench_capture.$1; TRUNCATE lead_scoring.change_log, bench_capture.change_log; CHECKPOINT"
  cpu0=$(capture_server_cpu)
  out=$("$PGBENCH" -n -M prepared -c "$CAPTURE_CLIENTS" -j "$CAPTURE_CLIENTS" -T "$CAPTURE_SECONDS" -f "$script" 2>/dev/null)
  cpu1=$(capture_server_cpu)
  rm -f "$script"
  awk -v c0="$cpu0" -v c1="$cpu1" '
    /^number of transactions actually processed/ { n = $NF }
    /^tps = .*without initial connection time/ { tps = $3 }
    END { printf "%.0f %.1f", tps, (c1 - c0) * 1e6 / n }' <<<"$out"
}

declare -A capture_tps=() capture_cpu=()
for ((round = 1; round <= CAPTURE_ROUNDS; round++)); do
  for t in $CAPTURE_TABLES; do
    read -r tps cpu <<<"$(capture_run "events_$t")"
    capture_tps[$t]="${capture_tps[$t]:-} $tps"
    capture_cpu[$t]="${capture_cpu[$t]:-} $cpu"
    printf '  round %d  %-16s %8s tps  %7s us server CPU per insert\n' "$round" "events_$t" "$tps" "$cpu"
  done
done

for t in $CAPTURE_TABLES; do
  label=$(case $t in none) echo "floor: no trigger" ;; noop) echo "no-op statement trigger" ;;
          nooprow) echo "no-op row trigger" ;; capture) echo "ours: C capture" ;;
          plpgsql) echo "PL/pgSQL capture (before)" ;; esac)
  # ms: the median server CPU per insert (so "x floor" is the CPU cost
  # ratio); checksum: the median tps.
  # shellcheck disable=SC2086
  bench_psql -v label="$label" -v cpu="{$(echo ${capture_cpu[$t]} | tr ' ' ',')}" \
    -v tps="{$(echo ${capture_tps[$t]} | tr ' ' ',')}" -v clients="$CAPTURE_CLIENTS" <<'SQL'
INSERT INTO bench.result (section, layout, workers, label, ms, runs, checksum, plan)
SELECT 'capture', 'pgbench', :clients, :'label',
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(:'cpu'::float8[]) x) / 1000,
       :'cpu'::float8[],
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(:'tps'::float8[]) x) || ' tps',
       'single-row INSERT, server CPU'
SQL
done
bench_psql -At -c "
SELECT format('  %-26s %7s us server CPU per insert (median), %s %% vs no trigger; median %s',
              r.label, round((r.ms * 1000)::numeric, 1), round((100 * (r.ms / f.ms - 1))::numeric, 1), r.checksum)
  FROM bench.result r JOIN bench.result f ON f.section = 'capture' AND f.layout = 'pgbench' AND f.label LIKE 'floor%'
 WHERE r.section = 'capture' AND r.layout = 'pgbench' ORDER BY r.id"

# Bulk loads: one statement of CAPTURE_BULK rows (0: none).
CAPTURE_BULK=${CAPTURE_BULK:-1000000}
if ((CAPTURE_BULK > 0)); then
capture_file=$(bench_psql -At -c "SHOW data_directory")/bench_capture.copy
bench_psql -c "COPY (SELECT 1 + g % 100000, 'page_view', now() FROM generate_series(1, $CAPTURE_BULK) g) TO '$capture_file'"
capture_bulk() {  # capture_bulk TABLE KIND -> "ms cpu_s change_rows"
  local sql ms cpu0 cpu1
  case $2 in
    cycle) sql="INSERT INTO bench_capture.$1 SELECT 1 + g % 100000, 'page_view', now() FROM generate_series(1, $CAPTURE_BULK) g" ;;
    sorted) sql="INSERT INTO bench_capture.$1 SELECT 1 + g / 10, 'page_view', now() FROM generate_series(0, $CAPTURE_BULK - 1) g" ;;
    copy) sql="COPY bench_capture.$1 FROM '$capture_file'" ;;
  esac
  bench_psql -c "TRUNCATE bench_capture.$1; TRUNCATE lead_scoring.change_log; CHECKPOINT"
  cpu0=$(capture_server_cpu)
  ms=$(bench_once "$sql")
  cpu1=$(capture_server_cpu)
  echo "$ms $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }') $(bench_psql -At -c "SELECT count(*) FROM lead_scoring.change_log")"
}
declare -A bulk_ms=() bulk_cpu=() bulk_rows=()
for ((round = 1; round <= CAPTURE_ROUNDS; round++)); do
  for kind in cycle sorted copy; do
    for t in none capture; do
      read -r ms cpu rows <<<"$(capture_bulk "events_$t" $kind)"
      bulk_ms[$kind.$t]="${bulk_ms[$kind.$t]:-} $ms"
      bulk_cpu[$kind.$t]="${bulk_cpu[$kind.$t]:-} $cpu"
      bulk_rows[$kind.$t]=$rows
      printf '  round %d  %-6s %-16s %7s ms  %6s s server CPU  %8s change rows\n' "$round" "$kind" "events_$t" "$ms" "$cpu" "$rows"
    done
  done
done
rm -f "$capture_file"
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for kind in cycle sorted copy; do
  for t in none capture; do
    label=$(case $t in none) echo "floor: no trigger" ;; capture) echo "ours: C capture" ;; esac)
    # shellcheck disable=SC2086
    bench_psql -v label="$label" -v layout="bulk $kind" -v ms="$(median ${bulk_ms[$kind.$t]})" \
      -v runs="{$(echo ${bulk_ms[$kind.$t]} | tr ' ' ',')}" -v cpu="$(median ${bulk_cpu[$kind.$t]})" \
      -v rows="${bulk_rows[$kind.$t]}" -v n="$CAPTURE_BULK" <<'SQL'
INSERT INTO bench.result (section, layout, workers, label, ms, runs, checksum, plan)
VALUES ('capture', :'layout', 1, :'label', :ms, :'runs', :'rows' || ' change rows', :n || ' rows, ' || :'cpu' || ' s server CPU');
SQL
  done
done
fi

bench_psql -c "DELETE FROM lead_scoring.model WHERE name = 'bench_capture'; DROP SCHEMA bench_capture CASCADE;
               SELECT lead_scoring.drop_refresh_state('bench_capture')" >/dev/null
