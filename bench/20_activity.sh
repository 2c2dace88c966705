# Section 20: activity_score grouped by lead, in both layouts, serial and with
# 2 parallel workers, beside the floor (count(*) GROUP BY lead) and the plain
# SQL a user writes today (per-type sums with exp() decay, caps by a second
# GROUP BY level), with numeric extract() and with float8 date_part().
# The server preloads the library, so the planner may run activity_score's
# GROUP BY as the fused node (the plan column says "fused"); "fused off" is
# the same query as a HashAggregate of the aggregate.
ACT_SPEC='{"activity": {"events": {"page_view": {"points": 1, "cap": 10}, "email_open": {"points": 1, "cap": 5},
  "email_click": {"points": 3}, "pricing_page": {"points": 5}, "download": {"points": 8}, "webinar": {"points": 10},
  "demo_request": {"points": 25, "cap": 50}, "unsubscribe": {"points": -15, "cap": 15}, "bounce": {"points": -10},
  "*": {"points": 0.5}}, "decay": {"kind": "exponential", "half_life": "30 days"}, "window": "365 days"}}'
bench_psql -c "INSERT INTO lead_scoring.model(name, spec) VALUES ('bench_act', '$ACT_SPEC') ON CONFLICT (name) DO UPDATE SET spec = excluded.spec"
bench_psql -c "ALTER TABLE bench.events_time SET (parallel_workers = 2); ALTER TABLE bench.events_lead SET (parallel_workers = 2)"

act_plain() {  # $1 table, $2 age expression, $3 points cast
  local t=$1 age=$2 cast=$3
  cat <<SQL
SELECT sum(a) FROM (
  SELECT lead_id, sum(CASE event_type WHEN 'page_view' THEN least(10, greatest(-10, s))
                                      WHEN 'email_open' THEN least(5, greatest(-5, s))
                                      WHEN 'demo_request' THEN least(50, greatest(-50, s))
                                      WHEN 'unsubscribe' THEN least(15, greatest(-15, s)) ELSE s END) AS a
  FROM (SELECT lead_id, event_type,
               sum((CASE event_type WHEN 'page_view' THEN 1 WHEN 'email_open' THEN 1 WHEN 'email_click' THEN 3
                      WHEN 'pricing_page' THEN 5 WHEN 'download' THEN 8 WHEN 'webinar' THEN 10
                      WHEN 'demo_request' THEN 25 WHEN 'unsubscribe' THEN -15 WHEN 'bounce' THEN -10 ELSE 0.5 END)$cast
                   * exp(-ln(2) * $age / 2592000)) AS s
        FROM $t
        WHERE occurred_at <= '$BENCH_AS_OF' AND occurred_at >= timestamptz '$BENCH_AS_OF' - interval '365 days'
        GROUP BY lead_id, event_type) t
  GROUP BY lead_id) u
SQL
}

for layout in time lead; do
  t=bench.events_$layout
  for w in 0 2; do
    bench_time activity "$layout" $w "floor: count(*) GROUP BY lead" \
      "SELECT sum(c) FROM (SELECT lead_id, count(*) AS c FROM $t GROUP BY lead_id) q"
    bench_time activity "$layout" $w "ours: activity_score (spec)" \
      "SELECT sum(s) FROM (SELECT lead_id, lead_scoring.activity_score('$ACT_SPEC'::jsonb, event_type, occurred_at, '$BENCH_AS_OF') AS s FROM $t GROUP BY lead_id) q"
    bench_time activity "$layout" $w "activity_score (name)" \
      "SELECT sum(s) FROM (SELECT lead_id, lead_scoring.activity_score('bench_act', event_type, occurred_at, '$BENCH_AS_OF') AS s FROM $t GROUP BY lead_id) q"
    bench_time activity "$layout" $w "activity_score (spec), fused off" \
      "SELECT sum(s) FROM (SELECT lead_id, lead_scoring.activity_score('$ACT_SPEC'::jsonb, event_type, occurred_at, '$BENCH_AS_OF') AS s FROM $t GROUP BY lead_id) q" \
      "SET lead_scoring.enable_fused_aggregate = off"
    bench_time activity "$layout" $w "plain SQL, extract (numeric)" \
      "$(act_plain "$t" "extract(epoch FROM timestamptz '$BENCH_AS_OF' - occurred_at)" "")"
    bench_time activity "$layout" $w "plain SQL, float8 date_part" \
      "$(act_plain "$t" "date_part('epoch', timestamptz '$BENCH_AS_OF' - occurred_at)" "::float8")"
  done
done
