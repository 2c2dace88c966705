# Section 60: rankings (doc/rank.md, doc/worker.md) on the generated data
# (BENCH_LEADS leads, a copy of bench.events_time indexed on lead_id), a model
# with 7 fit rules, 10 event types (4 capped), exponential decay, 2 stages,
# the default tick (1 hour). Measures, each case in a fresh session (for its
# peak memory) with autovacuum off (so WAL is the refresh's alone):
#   floor          a bare GROUP BY lead_id over the events
#   plain SQL      CREATE TABLE AS of the ranking a user writes today (per-type
#                  decayed sums, caps, fit CASE, stage, rank()); checked to
#                  agree with the refresh lead by lead
#   full refresh   the first (every row written), then again with nothing
#                  changed: refresh(model, as_of, full => true)
#   1 lead         one new event, refresh within the tick
#   10k events     RANK_NEW_EVENTS (10,000) new events on 1% of the leads, an
#                  incremental refresh, then the same again refreshed in full
#   idle           nothing changed, same tick
#   new tick       as_of in the next tick: everyone rescored
#   reads          top 100 from <target>_ranked; one lead's rank
#   worker         event -> visible with the worker at naptime 1 s and the
#                  model's refresh_interval 1 s, RANK_SAMPLES (25) events
# and prints the targets of the rankings-v2 design with met / not met.
RANK_NEW_EVENTS=${RANK_NEW_EVENTS:-10000}
RANK_SAMPLES=${RANK_SAMPLES:-25}
TARGET=lead_scoring.ranking_bench_rank
bench_psql -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
bench_sql "$BENCH_DIR/60_refresh.sql"
bench_psql -c "DELETE FROM bench.result WHERE section = 'rankings'"

plain_sql() {  # the user's pipeline at $1
  cat <<SQL
CREATE TABLE bench_rank.plain AS
WITH per_type AS (
  SELECT lead_id, event_type,
         sum(CASE event_type WHEN 'page_view' THEN 1 WHEN 'email_open' THEN 1 WHEN 'email_click' THEN 3
               WHEN 'pricing_page' THEN 5 WHEN 'download' THEN 8 WHEN 'webinar' THEN 10
               WHEN 'demo_request' THEN 25 WHEN 'unsubscribe' THEN -15 WHEN 'bounce' THEN -10 ELSE 0.5 END
             * power(2::float8, -date_part('epoch', timestamptz '$1' - occurred_at) / (30 * 86400))) AS s
  FROM bench_rank.events WHERE occurred_at <= timestamptz '$1'
  GROUP BY lead_id, event_type),
act AS (
  SELECT lead_id, sum(CASE event_type WHEN 'page_view' THEN least(10, greatest(-10, s))
                                      WHEN 'email_open' THEN least(5, greatest(-5, s))
                                      WHEN 'demo_request' THEN least(50, greatest(-50, s))
                                      WHEN 'unsubscribe' THEN least(15, greatest(-15, s)) ELSE s END) AS activity,
         bool_or(event_type = 'demo_request') AS demo
  FROM per_type GROUP BY lead_id),
scored AS (
  SELECT l.id AS lead_id,
         (CASE WHEN lower(l.industry) IN ('software', 'saas') THEN 20 ELSE 0 END
        + CASE WHEN l.employees BETWEEN 50 AND 1000 THEN 15 ELSE 0 END
        + CASE WHEN l.employees > 1000 THEN 5 ELSE 0 END
        + CASE WHEN lower(l.country) IN ('us', 'ca', 'gb') THEN 10 ELSE 0 END
        + CASE WHEN strpos(lower(l.title), 'director') > 0 THEN 15 ELSE 0 END
        + CASE WHEN lower(l.title) = 'student' THEN -20 ELSE 0 END
        + CASE WHEN l.email ~* '@(gmail|yahoo)\.com\$' THEN -10 ELSE 0 END)::float8 AS fit,
         coalesce(a.activity, 0) AS activity, coalesce(a.demo, false) AS demo
  FROM bench.leads l LEFT JOIN act a ON a.lead_id = l.id)
SELECT lead_id, fit + activity AS score, fit, activity,
       CASE WHEN fit + activity >= 80 AND demo THEN 'SQL' WHEN fit + activity >= 40 THEN 'MQL' ELSE 'new' END AS stage,
       rank() OVER (ORDER BY fit + activity DESC) AS rank
FROM scored
SQL
}
# Untimed setups: move the clock on (within the tick) and add events just
# before it. $1: how many events, on leads drawn from 1 in 100.
CLOCK="(SELECT t FROM bench_rank.clock)"
new_events() {
  echo "UPDATE bench_rank.clock SET t = t + interval '1 minute';
        INSERT INTO bench_rank.events
        SELECT (1 + abs(hashint8(g * 101 + extract(epoch FROM c.t)::bigint)) % greatest(1, $BENCH_LEADS / 100) * 100)::int,
               'pricing_page', c.t - interval '1 second'
        FROM bench_rank.clock c, generate_series(1, $1) g"
}
REFRESH="SELECT lead_scoring.refresh('bench_rank', $CLOCK)"

bench_time rankings build 0 "floor: count(*) GROUP BY lead_id" \
  "SELECT sum(c) FROM (SELECT lead_id, count(*) AS c FROM bench_rank.events GROUP BY lead_id) q"
BENCH_SETUP="DROP TABLE IF EXISTS bench_rank.plain" \
  bench_time rankings build 0 "plain SQL: CREATE TABLE AS ... rank()" "$(plain_sql "$BENCH_AS_OF")"
BENCH_N=1 bench_time rankings build 0 "first full refresh (writes every row)" "SELECT lead_scoring.refresh('bench_rank', $CLOCK, true)"
BENCH_N=3 bench_time rankings build 0 "ours: full refresh, nothing changed" \
  "SELECT lead_scoring.refresh('bench_rank', $CLOCK, true)"
# The view that ranks (v2), or the table where rank is stored.
RANKED=$(bench_psql -At -c "SELECT coalesce(to_regclass('${TARGET}_ranked'), '$TARGET'::regclass)")
bench_psql -At -c "SELECT 'check: plain SQL vs refresh: ' || count(*) || ' leads, ' || count(*) FILTER (
      WHERE abs(p.score - r.score) > 1e-9 * greatest(1, abs(r.score)) OR p.stage <> r.stage OR p.rank <> r.rank) || ' differ'
    FROM bench_rank.plain p JOIN $RANKED r USING (lead_id)" | sed 's/^/  /'

bench_psql -c "CHECKPOINT"
bench_psql -c "$(new_events 1)" -c "$REFRESH" >/dev/null  # warm-up
BENCH_N=5 BENCH_SETUP="$(new_events 1)" bench_time rankings "1 lead" 0 "ours: refresh, 1 new event" "$REFRESH"

bench_psql -c "CHECKPOINT"
BENCH_SETUP="$(new_events "$RANK_NEW_EVENTS")" bench_time rankings "1%" 0 "ours: refresh, $RANK_NEW_EVENTS events on 1%" "$REFRESH"
bench_psql -c "CHECKPOINT"
BENCH_SETUP="$(new_events "$RANK_NEW_EVENTS")" bench_time rankings "1%" 0 "full refresh, $RANK_NEW_EVENTS events on 1%" \
  "SELECT lead_scoring.refresh('bench_rank', $CLOCK, true)"

bench_psql -c "CHECKPOINT"
LOG0=$(bench_psql -At -c "SELECT count(*) FROM lead_scoring.refresh_log")
BENCH_N=5 BENCH_SETUP="UPDATE bench_rank.clock SET t = t + interval '1 minute'" \
  bench_time rankings idle 0 "ours: refresh, nothing changed" "$REFRESH"
IDLE_LOG=$(( $(bench_psql -At -c "SELECT count(*) FROM lead_scoring.refresh_log") - LOG0 ))
echo "  idle refreshes: $IDLE_LOG refresh_log rows written"

bench_psql -c "CHECKPOINT"
BENCH_SETUP="UPDATE bench_rank.clock SET t = t + interval '1 hour'" \
  bench_time rankings "new tick" 0 "ours: refresh at the next tick" "$REFRESH"
NEWTICK_LOG=$(bench_psql -At -c "SELECT format('%s rows written, %s changed leads, mode %s', rows_written, changed_leads, mode)
                                 FROM lead_scoring.refresh_log WHERE model = 'bench_rank' ORDER BY id DESC LIMIT 1")
echo "  new tick: $NEWTICK_LOG"

# Reads, after a VACUUM (what autovacuum would do after these refreshes).
bench_psql -c "VACUUM ANALYZE $TARGET, bench_rank.plain"
LEAD=$(bench_psql -At -c "SELECT lead_id FROM $TARGET ORDER BY score DESC OFFSET $BENCH_LEADS / 2 LIMIT 1")
BENCH_N=5 bench_time rankings "top 100" 0 "floor: count(*) of the target" "SELECT count(*) FROM $TARGET"
BENCH_N=5 bench_time rankings "top 100" 0 "ours: top 100 from ${RANKED#lead_scoring.}" \
  "SELECT md5(string_agg(r::text, ',')) FROM (SELECT * FROM $RANKED WHERE rank <= 100) r"
BENCH_N=5 bench_time rankings "top 100" 0 "the table: ORDER BY score DESC LIMIT 100" \
  "SELECT md5(string_agg(r::text, ',')) FROM (SELECT * FROM $TARGET WHERE NOT disqualified ORDER BY score DESC LIMIT 100) r"
BENCH_N=5 bench_time rankings "top 100" 0 "plain SQL: rank <= 100 of its table" \
  "SELECT md5(string_agg(r::text, ',')) FROM (SELECT * FROM bench_rank.plain WHERE rank <= 100) r"
if [[ $RANKED == "$TARGET" ]]; then
  ONE_RANK="SELECT rank FROM $TARGET WHERE lead_id = $LEAD"
else
  # doc/rank.md: one lead's rank is 1 + the number of ranked leads scoring
  # higher, an index-only count over (score DESC) WHERE NOT disqualified.
  ONE_RANK="SELECT 1 + count(*) FROM $TARGET r WHERE NOT r.disqualified
              AND r.score > (SELECT s.score FROM $TARGET s WHERE s.lead_id = $LEAD)"
  BENCH_N=5 bench_time rankings "one rank" 0 "one lead's rank from the view (slow way)" \
    "SELECT rank FROM $RANKED WHERE lead_id = $LEAD"
fi
BENCH_N=5 bench_time rankings "one rank" 0 "ours: one lead's rank (median lead)" "$ONE_RANK"

# Exactness after all those incremental refreshes (not timed): a full refresh
# at the same instant must find the same values, lead for lead.
bench_psql -At <<SQL | sed 's/^/  /'
CREATE TEMP TABLE before AS SELECT lead_id, score, fit, activity, stage, disqualified FROM $TARGET;
SELECT lead_scoring.refresh('bench_rank', $CLOCK, true) \g /dev/null
SELECT 'check: incremental vs full at the same as_of: ' || count(*) || ' leads, ' || count(*) FILTER (
      WHERE n.lead_id IS NULL OR b.lead_id IS NULL OR abs(n.score - b.score) > 1e-9 * greatest(1, abs(n.score))
         OR n.stage IS DISTINCT FROM b.stage OR n.disqualified IS DISTINCT FROM b.disqualified) || ' differ'
FROM before b FULL JOIN $TARGET n USING (lead_id);
SQL

# The worker: bring the ranking to the current tick first (as a refresh at
# now() would), away from a tick boundary, then let the worker keep it fresh.
WORKER_PID=$(bench_psql -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker' AND datname = current_database()")
if [[ -n $WORKER_PID ]]; then
  # The refresh to the current tick and the samples (~1.5 s each) must not
  # straddle a tick boundary: wait it out if it is closer than that.
  need=$((RANK_SAMPLES * 2 + 180))
  left=$(bench_psql -At -c "SELECT floor(extract(epoch FROM date_bin('1 hour', now(), '1970-01-01') + interval '1 hour' - now()))")
  if ((left < need)); then echo "  waiting ${left} s for the next tick"; sleep $((left + 2)); fi
  bench_psql -c "SELECT lead_scoring.refresh('bench_rank')" >/dev/null
  LOG0=$(bench_psql -At -c "SELECT coalesce(max(id), 0) FROM lead_scoring.refresh_log")
  bench_psql -c "UPDATE lead_scoring.model SET refresh_interval = '1 second' WHERE name = 'bench_rank'"
  sleep 3
  bench_psql -c "SET client_min_messages = notice" -c "CALL bench_rank.event_latency($RANK_SAMPLES, $BENCH_LEADS, '$RANKED')" 2>&1 |
    sed 's/^NOTICE:  /  /'
  bench_psql -c "UPDATE lead_scoring.model SET refresh_interval = NULL WHERE name = 'bench_rank'"
  WORKER_LOG=$(bench_psql -At -c "SELECT format('%s refreshes logged, rows written per refresh: median %s, max %s; refresh time median %s ms',
        count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY rows_written), max(rows_written),
        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) * 1000)::numeric, 1))
      FROM lead_scoring.refresh_log WHERE model = 'bench_rank' AND id > $LOG0")
  WORKER_HWM=$(bench_psql -At -c "SELECT (regexp_match(pg_read_file('/proc/$WORKER_PID/status'), 'VmHWM:\s+(\d+) kB'))[1]")
  bench_psql -c "UPDATE bench.result SET hwm_kb = $WORKER_HWM WHERE section = 'rankings' AND layout = 'worker'"
  echo "  worker: $WORKER_LOG"
else
  echo "  worker latency: skipped (no lead_scoring worker for this database; bench/run.sh preloads it)"
fi
bench_psql -c "ALTER SYSTEM RESET autovacuum" -c "SELECT pg_reload_conf()" >/dev/null

# The targets of the rankings-v2 design beside the figures (v1: README's
# figures before it, 1M leads, naptime 30 s).
echo
echo "Rankings: $BENCH_LEADS leads, $BENCH_EVENTS events; idle: $IDLE_LOG log rows; new tick: $NEWTICK_LOG"
bench_psql -v idle_log="$IDLE_LOG" -P footer=off <<'SQL'
WITH r AS (SELECT * FROM bench.result WHERE section = 'rankings'),
v(k, ms, wal, hwm, fpi) AS (SELECT label, ms, wal, hwm_kb, wal_fpi FROM r),
t(n, what, figure, target, met) AS (VALUES
  (0, 'beside them: plain SQL, every lead recomputed (CREATE TABLE AS)',
      (SELECT round(ms) || ' ms, ' || pg_size_pretty(wal::bigint) || ' WAL' FROM v WHERE k LIKE 'plain SQL: CREATE TABLE AS%'), '', NULL),
  (0, 'beside them: floor, count(*) GROUP BY lead_id over the events',
      (SELECT round(ms) || ' ms' FROM v WHERE k LIKE 'floor: count(*) GROUP BY%'), '', NULL),
  (1, 'event -> visible (worker, naptime 1 s), median',
      (SELECT round(ms) || ' ms' FROM v WHERE k = 'event -> visible, median'), 'v1: 32-38 s at naptime 30 s', NULL::boolean),
  (2, 'event -> visible, p95',
      (SELECT coalesce(round(ms) || ' ms', 'some not seen') FROM v WHERE k = 'event -> visible, p95'), '<= 2 s',
      (SELECT ms <= 2000 FROM v WHERE k = 'event -> visible, p95')),
  (3, 'refresh, 1 changed lead: time', (SELECT round(ms::numeric, 1) || ' ms' FROM v WHERE k LIKE 'ours: refresh, 1 new event'), '<= 20 ms',
      (SELECT ms <= 20 FROM v WHERE k LIKE 'ours: refresh, 1 new event')),
  (4, 'refresh, 1 changed lead: WAL', (SELECT pg_size_pretty(wal::bigint) || coalesce(' (full-page images ' || pg_size_pretty(fpi::bigint) || ')', '')
                                         FROM v WHERE k LIKE 'ours: refresh, 1 new event'), '<= 64 kB',
      (SELECT wal <= 65536 FROM v WHERE k LIKE 'ours: refresh, 1 new event')),
  (5, '10k events on 1%: incremental vs full, time',
      (SELECT round(i.ms) || ' ms vs ' || round(f.ms) || ' ms: ' || round((f.ms / i.ms)::numeric, 1) || 'x'
         FROM v i, v f WHERE i.k LIKE 'ours: refresh, % events on 1%%' AND f.k LIKE 'full refresh, % events on 1%%'), '>= 20x faster',
      (SELECT f.ms / i.ms >= 20 FROM v i, v f WHERE i.k LIKE 'ours: refresh, % events on 1%%' AND f.k LIKE 'full refresh, % events on 1%%')),
  (6, '10k events on 1%: incremental vs full, WAL',
      (SELECT pg_size_pretty(i.wal::bigint) || ' vs ' || pg_size_pretty(f.wal::bigint) || ': ' || round((100 * i.wal / nullif(f.wal, 0))::numeric, 1) || ' %'
         FROM v i, v f WHERE i.k LIKE 'ours: refresh, % events on 1%%' AND f.k LIKE 'full refresh, % events on 1%%'), '<= 5 %',
      (SELECT i.wal <= 0.05 * f.wal FROM v i, v f WHERE i.k LIKE 'ours: refresh, % events on 1%%' AND f.k LIKE 'full refresh, % events on 1%%')),
  (7, 'idle refresh: time', (SELECT round(ms::numeric, 2) || ' ms' FROM v WHERE k = 'ours: refresh, nothing changed'), '<= 5 ms',
      (SELECT ms <= 5 FROM v WHERE k = 'ours: refresh, nothing changed')),
  (8, 'idle refresh: WAL, refresh_log rows', (SELECT wal || ' bytes, ' || :idle_log || ' rows' FROM v WHERE k = 'ours: refresh, nothing changed'),
      '0 bytes, 0 rows', (SELECT wal = 0 AND :idle_log = 0 FROM v WHERE k = 'ours: refresh, nothing changed')),
  (9, 'new tick (everyone rescored): time', (SELECT round(ms) || ' ms' FROM v WHERE k = 'ours: refresh at the next tick'),
      '<= 15.8 s (v1 full refresh)', (SELECT ms <= 15800 FROM v WHERE k = 'ours: refresh at the next tick')),
  (10, 'top 100 from _ranked', (SELECT round(ms::numeric, 1) || ' ms' FROM v WHERE k LIKE 'ours: top 100%'), '<= 50 ms',
      (SELECT ms <= 50 FROM v WHERE k LIKE 'ours: top 100%')),
  (11, 'one lead''s rank (median lead)', (SELECT round(ms::numeric, 1) || ' ms' FROM v WHERE k LIKE 'ours: one lead%'), 'say how and how fast', NULL))
SELECT what AS "target", figure, target AS "goal", CASE met WHEN true THEN 'met' WHEN false THEN 'NOT met' ELSE '' END AS "met?"
FROM t ORDER BY n, what;

SELECT r.layout AS "case", r.label AS "query", round(r.ms::numeric, 1) AS ms, cardinality(r.runs) AS n,
       pg_size_pretty(r.wal::bigint) AS wal, pg_size_pretty(r.wal_fpi::bigint) AS "of it FPI", pg_size_pretty(r.hwm_kb * 1024) AS "peak mem (VmHWM)",
       pg_size_pretty(r.shmem_kb * 1024) AS "of it shared buf", r.checksum AS "value"
FROM bench.result r WHERE r.section = 'rankings' ORDER BY r.id;
SQL
