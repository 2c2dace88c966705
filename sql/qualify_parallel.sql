-- event_flags in a forced parallel GROUP BY: partial aggregation in the plan
-- and the same flags per lead as the serial plan.
SET client_min_messages = warning;
SET jit = off;  -- JIT compilation would only slow these small queries down
\i sql/include/lib.sql

INSERT INTO lead_scoring.model(name, spec) VALUES ('qual_par', '{
  "activity": {"events": {"page_view": {"points": 1}}, "window": "30 days"},
  "disqualify": {"events": ["complaint"]},
  "stages": [{"stage": "SQL", "event": "demo_request"}, {"stage": "engaged", "event": "webinar"}]}');
CREATE TABLE ev_par(lead int, t text, at timestamptz);
INSERT INTO ev_par
SELECT i % 500, (ARRAY['page_view', 'demo_request', 'webinar', 'complaint', 'other'])[1 + (i * 7) % 5],
       '2026-01-31+00'::timestamptz - ((i * 13) % 40) * interval '1 day'
FROM generate_series(1, 20000) i;
ALTER TABLE ev_par SET (parallel_workers = 2);
ANALYZE ev_par;

:force_parallel
SET enable_hashagg = off;  -- a sorted plan is cheap to force and shows the same partial step

-- flags per lead, folded into one text so that psql can keep it for the comparison
\set q_flags 'SELECT string_agg(lead || \':\' || fl::text, \',\' ORDER BY lead) FROM (SELECT lead, lead_scoring.event_flags(\'qual_par\', t, at, \'2026-02-01+00\') AS fl FROM ev_par GROUP BY lead) x'
SELECT pg_temp.plan_has(:'q_flags', 'Partial (Group|Hash)?Aggregate') AS partial_group_by,
       pg_temp.plan_has($$SELECT lead_scoring.event_flags('qual_par', t, at, '2026-02-01+00') FROM ev_par$$,
                        'Partial Aggregate') AS partial_whole_table;
SELECT (:q_flags) AS par_flags \gset
SELECT lead_scoring.event_flags('qual_par', t, at, '2026-02-01+00')::text AS par_all FROM ev_par \gset

RESET parallel_leader_participation;
RESET enable_hashagg;
SET max_parallel_workers_per_gather = 0;
-- Serial, and an independent plain-SQL computation of the same flags.
SELECT pg_temp.plan_has(:'q_flags', 'Partial') AS serial_has_partial;
CREATE TEMP TABLE ser AS
SELECT lead, lead_scoring.event_flags('qual_par', t, at, '2026-02-01+00') AS fl FROM ev_par GROUP BY lead;
CREATE TEMP TABLE plain AS
SELECT l.lead, coalesce(u.fl, '{}') AS fl
FROM (SELECT DISTINCT lead FROM ev_par) l
LEFT JOIN (SELECT lead, array_agg(DISTINCT t COLLATE "C" ORDER BY t COLLATE "C") AS fl FROM ev_par
           WHERE t IN ('demo_request', 'webinar', 'complaint')
             AND at <= '2026-02-01+00' AND at >= '2026-02-01+00'::timestamptz - interval '30 days'
           GROUP BY lead) u USING (lead);
SELECT (SELECT count(*) FROM ser) AS leads,
       :'par_flags' = (:q_flags) AS parallel_equals_serial,
       NOT EXISTS (SELECT * FROM ser FULL JOIN plain USING (lead) WHERE ser.fl IS DISTINCT FROM plain.fl) AS serial_equals_plain_sql,
       (:'par_all')::text[] = '{complaint,demo_request,webinar}' AS whole_table;
DROP TABLE ev_par;
