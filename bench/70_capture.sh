# Section of bench/run.sh: what the change capture costs the CRM's writers.
# Single-row INSERTs into an events table, CAPTURE_CLIENTS pgbench clients for
# CAPTURE_SECONDS each, into three identical tables:
#   none     no trigger (the floor)
#   capture  the change-capture triggers refresh installs (C, src/pg/capture.cpp)
#   plpgsql  the PL/pgSQL SECURITY DEFINER trigger used before (a copy, writing
#            to a copy of the change log), for comparison
# Rounds alternate the tables (CAPTURE_ROUNDS, median tps each); every run
# starts from empty tables and change logs. Recorded in bench.result as mean
# latency, so "x floor" is the slowdown; the overhead is printed in percent.
# Alone: BENCH_SECTIONS=70_capture make bench (needs no generated data).
CAPTURE_CLIENTS=${CAPTURE_CLIENTS:-4}
CAPTURE_SECONDS=${CAPTURE_SECONDS:-10}
CAPTURE_ROUNDS=${CAPTURE_ROUNDS:-3}
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
INSERT INTO lead_scoring.model (name, spec) VALUES ('bench_capture', '{
  "activity": {"events": {"page_view": {"points": 1}}},
  "source": {"leads": {"table": "bench_capture.leads", "id": "id"},
             "events": {"table": "bench_capture.events_capture", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}');
SELECT lead_scoring.refresh('bench_capture');

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

capture_run() {  # capture_run TABLE -> tps
  local script
  script=$(mktemp)
  printf '\\set id random(1, 100000)\nINSERT INTO bench_capture.%s (lead_id, event_type, occurred_at) VALUES (:id, '"'"'page_view'"'"', now());\n' "$1" >"$script"
  bench_psql -c "TRUNCATE bench_capture.$1; TRUNCATE lead_scoring.change_log, bench_capture.change_log; CHECKPOINT"
  "$PGBENCH" -n -M prepared -c "$CAPTURE_CLIENTS" -j "$CAPTURE_CLIENTS" -T "$CAPTURE_SECONDS" -f "$script" 2>/dev/null \
    | sed -n 's/^tps = \([0-9.]*\) .*without initial connection time.*/\1/p'
  rm -f "$script"
}

declare -A capture_tps=()
for ((round = 1; round <= CAPTURE_ROUNDS; round++)); do
  for t in none capture plpgsql; do
    tps=$(capture_run "events_$t")
    capture_tps[$t]="${capture_tps[$t]:-} $tps"
    echo "  round $round  events_$t  $tps tps"
  done
done

for t in none capture plpgsql; do
  label=$(case $t in none) echo "floor: no trigger" ;; capture) echo "ours: C capture" ;; plpgsql) echo "PL/pgSQL capture (before)" ;; esac)
  # shellcheck disable=SC2086
  bench_psql -v label="$label" -v runs="{$(echo ${capture_tps[$t]} | tr ' ' ',')}" -v clients="$CAPTURE_CLIENTS" <<'SQL'
INSERT INTO bench.result (section, layout, workers, label, ms, runs, checksum, plan)
SELECT 'capture', 'pgbench', :clients, :'label',
       1000.0 * :clients / percentile_disc(0.5) WITHIN GROUP (ORDER BY tps), :'runs'::float8[],
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY tps)) || ' tps', 'single-row INSERT'
  FROM unnest(:'runs'::float8[]) tps;
SQL
done
bench_psql -At -c "
SELECT format('  %-26s %8s tps  %6s %% fewer than without triggers', r.label, round(1000.0 * r.workers / r.ms),
              round((100 * (1 - f.ms / r.ms))::numeric, 1))
  FROM bench.result r JOIN bench.result f ON f.section = 'capture' AND f.label LIKE 'floor%'
 WHERE r.section = 'capture' ORDER BY r.id"
bench_psql -c "DELETE FROM lead_scoring.model WHERE name = 'bench_capture'; DROP SCHEMA bench_capture CASCADE;
               SELECT lead_scoring.drop_refresh_state('bench_capture')" >/dev/null
