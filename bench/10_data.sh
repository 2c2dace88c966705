# Section 10: the data set (no timings). BENCH_LEADS leads and BENCH_EVENTS
# events over 400 days before BENCH_AS_OF, from plain generate_series with
# hash-based pseudo-randomness; reused when the tables already have those sizes.
# Two layouts of the same events: bench.events_time (time order, as an event log
# grows) and bench.events_lead (clustered by lead).
have=""
if [[ $(bench_psql -At -c "SELECT to_regclass('bench.events_lead') IS NOT NULL AND to_regclass('bench.leads') IS NOT NULL
                            AND to_regclass('bench.events_time') IS NOT NULL") == t ]]; then
  have=$(bench_psql -At -c "SELECT (SELECT count(*) FROM bench.leads) || ' ' || (SELECT count(*) FROM bench.events_lead)")
fi
if [[ "$have" == "$BENCH_LEADS $BENCH_EVENTS" ]]; then
  echo "  reusing data: $BENCH_LEADS leads, $BENCH_EVENTS events"
else
  echo "  building data: $BENCH_LEADS leads, $BENCH_EVENTS events"
  bench_sql "$BENCH_DIR/10_data.sql"
fi
