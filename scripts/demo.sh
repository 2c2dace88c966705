#!/usr/bin/env bash
# The main job, end to end: build and install lead_scoring, start a throwaway
# PostgreSQL server, generate a sample CRM (20,000 leads, 300,000 events), create
# a scoring model named 'demo' and print the ten best leads with their fit and
# activity scores and why they scored so; then evaluate the model on a
# back-test and write the HTML report (report.html, or DEMO_REPORT).
#
#   bash scripts/demo.sh            # server is stopped at the end
#   bash scripts/demo.sh --keep     # leave the server running to explore
#   PG_CONFIG=/path/to/pg_config bash scripts/demo.sh
set -euo pipefail

cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-pg_config}
KEEP=0
[[ ${1:-} == --keep ]] && KEEP=1
# The sample CRM's "now": the current UTC hour, so that the background worker,
# which refreshes as of now(), sees the same recent activity (DEMO_AS_OF to pin it).
AS_OF=${DEMO_AS_OF:-$(date -u '+%Y-%m-%d %H:00:00+00')}

PGTMP=""
stop_server() { if [[ -n "$PGTMP" ]]; then scripts/pg_tmp.sh stop "$PGTMP" || true; PGTMP=""; fi; }
# --keep leaves the server running only after a successful run.
on_exit() { local st=$?; if [[ $KEEP -eq 1 && -n "$PGTMP" && $st -eq 0 ]]; then return; fi; stop_server; }
trap on_exit EXIT
trap 'echo "demo.sh: interrupted" >&2; KEEP=0; exit 130' INT TERM

echo "== dependencies"
bash scripts/deps.sh

echo "== build and install ($PG_CONFIG)"
make -s -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" install

echo "== throwaway server"
# With the background worker: it refreshes every model whose refresh_interval has passed.
eval "$(scripts/pg_tmp.sh start "shared_preload_libraries = 'lead_scoring'" \
        "lead_scoring.database = 'postgres'" "lead_scoring.naptime = 1")"
PGTMP=$LS_PGTMP
PSQL=("$("$PG_CONFIG" --bindir)/psql" -X -q -v ON_ERROR_STOP=1 -v as_of="$AS_OF")
echo "server on port $PGPORT"

echo "== sample CRM: lead_scoring.generate_sample_crm('crm', 20000, 15, 0.42, '$AS_OF')"
"${PSQL[@]}" -At <<'SQL'
CREATE EXTENSION lead_scoring;
\timing on
SELECT lead_scoring.generate_sample_crm('crm', 20000, 15, 0.42, :'as_of');
SQL

# Which parts of the SQL API this build has (some are still being merged).
have() { "${PSQL[@]}" -At -c "SELECT $1 IS NOT NULL"; }
missing=()
[[ $(have "to_regclass('lead_scoring.model')") == t ]] || missing+=("table lead_scoring.model")
for f in "fit_score(text,jsonb)" "fit_breakdown(text,jsonb)" \
         "activity_score(text,text,timestamptz,timestamptz)" "activity_breakdown(text,text,timestamptz,timestamptz)"; do
  [[ $(have "to_regprocedure('lead_scoring.$f')") == t ]] || missing+=("lead_scoring.$f")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo
  echo "demo.sh: this build of lead_scoring lacks:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  echo "demo.sh: the sample data was generated, but the scoring part of the demo needs these (doc/foundation.md, doc/activity.md)." >&2
  exit 1
fi

echo "== model 'demo' (scripts/demo_model.json)"
"${PSQL[@]}" <<'SQL'
\set spec `cat scripts/demo_model.json`
INSERT INTO lead_scoring.model (name, description, spec) VALUES ('demo',
  'Demo model for the sample CRM: firmographic fit plus decaying activity', :'spec');
SQL
echo "inserted"

echo "== top 10 leads as of $AS_OF (score = fit + activity; disqualified leads left out)"
"${PSQL[@]}" <<'SQL'
-- One pass over the events qualifies every lead: activity, and the event types
-- the stage and disqualify rules need; fit from the lead's columns and props.
CREATE TEMP TABLE scored AS
SELECT l.id, q.fit, q.activity, q.score,
       lead_scoring.grade('demo', q.fit) AS grade,
       lead_scoring.stage('demo', q.score, q.fit, q.activity, q.flags, q.attrs) AS stage
  FROM crm.leads l
  LEFT JOIN (SELECT e.lead_id,
                    lead_scoring.activity_score('demo', e.event_type, e.occurred_at, :'as_of') AS activity,
                    lead_scoring.event_flags('demo', e.event_type, e.occurred_at, :'as_of') AS flags
               FROM crm.events e
              GROUP BY e.lead_id) a ON a.lead_id = l.id
  CROSS JOIN LATERAL (SELECT to_jsonb(l) - 'props' || coalesce(l.props, '{}') AS attrs) j
  CROSS JOIN LATERAL (SELECT f.fit, coalesce(a.activity, 0) AS activity, coalesce(a.flags, '{}') AS flags, j.attrs,
                             lead_scoring.score('demo', f.fit, coalesce(a.activity, 0)) AS score
                        FROM (SELECT lead_scoring.fit_score('demo', j.attrs) AS fit) f) q;

CREATE TEMP TABLE top10 AS
SELECT rank() OVER (ORDER BY s.score DESC, s.id) AS rank, s.*
  FROM scored s
 WHERE s.stage <> 'disqualified'
 ORDER BY s.score DESC, s.id
 LIMIT 10;

SELECT t.rank, l.id, l.email, l.company, l.job_title, l.industry, l.company_size AS size, l.country,
       round(t.fit::numeric, 1) AS fit, round(t.activity::numeric, 1) AS activity,
       round(t.score::numeric, 1) AS score, t.grade, t.stage,
       EXISTS (SELECT 1 FROM crm.deals d WHERE d.lead_id = l.id) AS won
  FROM top10 t JOIN crm.leads l ON l.id = t.id
 ORDER BY t.rank;

\echo 'Leads per stage (disqualified: competitor or missing e-mail, or a complaint):'
SELECT stage, count(*) AS leads FROM scored GROUP BY stage ORDER BY min(CASE stage WHEN 'SQL' THEN 1 WHEN 'MQL3' THEN 2 WHEN 'MQL2' THEN 3 WHEN 'MQL1' THEN 4 WHEN 'new' THEN 5 ELSE 6 END);

\echo 'Why: matched fit rules (lead_scoring.fit_breakdown) and activity points per event type (lead_scoring.activity_breakdown)'
SELECT t.rank, l.id,
       (SELECT string_agg(coalesce(r->>'label', r->>'field') || ' ' || CASE WHEN (r->>'points')::float8 >= 0 THEN '+' ELSE '' END || (r->>'points'), ', ')
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(fb) = 'array' THEN fb ELSE '[]' END) r) AS fit_why,
       (SELECT string_agg(k || ' x' || (v->>'count') || ' ' || to_char((v->>'capped')::numeric, 'FMS990.0')
                          || CASE WHEN (v->>'capped') <> (v->>'raw') THEN ' (capped)' ELSE '' END,
                          ', ' ORDER BY (v->>'capped')::float8 DESC)
          FROM jsonb_each(ab->'types') AS x(k, v)) AS activity_why
  FROM top10 t
  JOIN crm.leads l ON l.id = t.id
  CROSS JOIN LATERAL (SELECT lead_scoring.fit_breakdown('demo', to_jsonb(l) - 'props' || coalesce(l.props, '{}')) AS fb) f
  CROSS JOIN LATERAL (SELECT lead_scoring.activity_breakdown('demo', e.event_type, e.occurred_at, :'as_of') AS ab
                        FROM crm.events e WHERE e.lead_id = t.id) a
 ORDER BY t.rank;

\echo 'Does the score find the buyers? Conversion rate (crm.deals) by score decile:'
SELECT decile, count(*) AS leads, round(avg(won::int), 3) AS conversion_rate
  FROM (SELECT ntile(10) OVER (ORDER BY s.score DESC, s.id) AS decile,
               EXISTS (SELECT 1 FROM crm.deals d WHERE d.lead_id = s.id) AS won
          FROM scored s) x
 GROUP BY decile ORDER BY decile;
SQL


echo "== the background worker keeps lead_scoring.ranking_demo fresh (naptime 1 s)"
"${PSQL[@]}" <<'SQL'
UPDATE lead_scoring.model SET refresh_interval = '1 second' WHERE name = 'demo';
\echo 'refresh_interval = 1 second; waiting for the first refresh ...'
DO $$
BEGIN
  FOR i IN 1..240 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM lead_scoring.refresh_log WHERE model = 'demo' AND status = 'ok');
    PERFORM pg_sleep(0.5);
  END LOOP;
END $$;
SELECT mode, leads, rows_written, events_read, round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
  FROM lead_scoring.refresh_log WHERE model = 'demo' AND status = 'ok' ORDER BY id LIMIT 1;
\echo 'The funnel (lead_scoring.funnel):'
SELECT stage, leads FROM lead_scoring.funnel WHERE model = 'demo' ORDER BY leads;
-- A lead near the bottom of the ranking (rank and percentile are read from the
-- view lead_scoring.ranking_demo_ranked; the table stores per-lead values only).
SELECT r.lead_id AS mover, r.rank AS rank_before,
       format('Lead %s is ranked %s of %s (percentile %s, stage %s, score %s). It now requests a demo:',
              r.lead_id, r.rank, (SELECT count(*) FROM lead_scoring.ranking_demo_ranked WHERE rank IS NOT NULL),
              round(r.percentile::numeric, 3), r.stage, round(r.score::numeric, 1)) AS line
  FROM lead_scoring.ranking_demo_ranked r WHERE r.percentile <= 0.1 ORDER BY r.rank, r.lead_id LIMIT 1 \gset
\echo :line
SELECT set_config('demo.mover', :'mover', false), set_config('demo.rank_before', :'rank_before', false) \g /dev/null
SELECT clock_timestamp() AS t0 \gset
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES (:mover, 'demo_request', now());
-- Poll until the worker has moved it (each statement of the loop sees what
-- has been committed by then).
DO $$
BEGIN
  FOR i IN 1..1200 LOOP
    EXIT WHEN (SELECT rank FROM lead_scoring.ranking_demo_ranked WHERE lead_id = current_setting('demo.mover')::int)
              IS DISTINCT FROM current_setting('demo.rank_before')::bigint;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT format('Its rank changed %s s after the event (the worker saw it at its next check, refreshed, committed):',
              round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2)) AS line \gset
\echo :line
SELECT r.lead_id, :rank_before AS rank_before, r.rank, round(r.percentile::numeric, 3) AS percentile, r.stage,
       round(r.score::numeric, 1) AS score
  FROM lead_scoring.ranking_demo_ranked r WHERE r.lead_id = :mover;
\echo 'The refresh that carried it (lead_scoring.refresh_log): it wrote only the rows that changed'
SELECT l.mode, l.changed_leads, l.rows_written,
       (SELECT count(*) FROM lead_scoring.ranking_demo) AS ranking_rows, l.events_read,
       round(extract(epoch FROM l.finished_at - l.started_at)::numeric * 1000, 1) AS refresh_ms
  FROM lead_scoring.refresh_log l
 WHERE l.model = 'demo' AND l.status = 'ok' AND l.started_at >= :'t0'::timestamptz
 ORDER BY l.id LIMIT 1;
SQL


echo "== back-test: the demo model scored 90 days ago, and what happened since"
# An honest evaluation scores the leads as they were at a past time T and
# counts the conversions after T (doc/eval.md, "The time split"). The model
# 'demo_backtest' is the demo model refreshed weekly up to T = as_of - 90 days
# (the refreshes fill lead_scoring.stage_history); the worker leaves it alone.
BACKTEST_AS_OF=$("${PSQL[@]}" -At <<<"SELECT (:'as_of'::timestamptz - interval '90 days')::text")
"${PSQL[@]}" -v t="$BACKTEST_AS_OF" <<'SQL'
INSERT INTO lead_scoring.model (name, description, spec)
SELECT 'demo_backtest', 'The demo model, scored 90 days back to see how its ranking did since',
       jsonb_set(spec, '{source,leads,created}', '"created_at"')
  FROM lead_scoring.model WHERE name = 'demo';
\o /dev/null
SELECT format('SELECT lead_scoring.refresh(%L, %L)', 'demo_backtest', :'t'::timestamptz - w * interval '7 days')
  FROM generate_series(12, 0, -1) w \gexec
\o
SQL
echo "refreshed weekly up to $BACKTEST_AS_OF"

echo "== is the scoring any good? lead_scoring.evaluate / attribute_lift / suggest_model"
"${PSQL[@]}" -v t="$BACKTEST_AS_OF" <<'SQL'
\echo 'Who is counted (lead_scoring.evaluation_split):'
SELECT as_of, split FROM lead_scoring.evaluation_split('demo_backtest');
\echo 'Conversion per stage and per score decile, lift over the base rate, ROC AUC (lead_scoring.evaluate):'
SELECT kind, bucket, leads, converted, round(conversion_rate::numeric, 3) AS rate, round(lift::numeric, 2) AS lift,
       round(auc::numeric, 3) AS auc
  FROM lead_scoring.evaluate('demo_backtest') WHERE kind IN ('overall', 'stage');
\echo 'Which attributes make the difference (lead_scoring.attribute_lift(''demo_backtest'', ''job_title'', as_of)):'
SELECT value, leads, converted, round(rate::numeric, 3) AS rate, round(lift::numeric, 2) AS lift,
       round(ci_low::numeric, 3) AS ci_low, round(ci_high::numeric, 3) AS ci_high
  FROM lead_scoring.attribute_lift('demo_backtest', 'job_title', :'t') ORDER BY lift DESC NULLS LAST;
\echo 'Points learned from won/lost history, holdout AUC beside the current model (lead_scoring.suggest_model):'
SELECT round((s->'holdout_auc'->>'current')::numeric, 3) AS holdout_auc_current,
       round((s->'holdout_auc'->>'suggested')::numeric, 3) AS holdout_auc_suggested,
       s->'kept_current' AS kept_current,
       (SELECT string_agg(r->>'label', ', ') FROM jsonb_array_elements(s->'dropped_rules') r) AS dropped_rules,
       s->'dropped_events' AS dropped_events
  FROM lead_scoring.suggest_model('demo') s;
SQL

echo "== the report: lead_scoring.report('demo_backtest')"
REPORT=${DEMO_REPORT:-$PWD/report.html}
"${PSQL[@]}" -At -o "$REPORT" -c "SELECT lead_scoring.report('demo_backtest')"
echo "report written to $REPORT (open it in a browser; it prints on A4 landscape)"

if [[ $KEEP -eq 1 ]]; then
  echo
  echo "Server left running. Connect with:"
  echo "  export PGHOST='$PGHOST' PGPORT='$PGPORT' PGUSER=postgres PGDATABASE=postgres; psql"
  echo "Stop it with:"
  echo "  PG_CONFIG='$PG_CONFIG' scripts/pg_tmp.sh stop '$PGTMP'"
fi
