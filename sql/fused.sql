-- The fused GROUP BY path of activity_score (src/pg/activity_fused_plan.cpp, activity_fused_exec.cpp). It
-- must give what the aggregate gives: by hand, against the formula of doc/activity.md in
-- plain SQL, and bitwise against the aggregate (the path turned off).
SET extra_float_digits = 0;
-- The planner hook exists once the library is loaded (this server does not
-- preload it).
LOAD 'lead_scoring';
\set as_of '''2024-03-01 00:00:00+00'''
\i sql/include/lib.sql

-- A query's plan as JSON; with_analyze: with what its nodes did.
CREATE FUNCTION pg_temp.plan(q text, with_analyze boolean DEFAULT false) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE p jsonb;
BEGIN
  EXECUTE CASE WHEN with_analyze THEN 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) '
               ELSE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' END || q INTO p;
  RETURN p->0->'Plan';
END $$;
-- The batches the fused node used, NULL if it is not at the top of the plan.
CREATE FUNCTION pg_temp.batches(q text) RETURNS int LANGUAGE sql
  AS $$ SELECT (pg_temp.plan(q, true)->>'Batches')::int $$;

---------------------------------------------------------------- by hand
-- demo 10 (cap 15), webinar 4, anything else 0.5; half-life 10 days; window 30 days.
-- Whole half-lives are exact: 10 · 2^0, 2^-1, 2^-2 = 10, 5, 2.5.
\set spec '''{"activity": {"events": {"demo": {"points": 10, "cap": 15}, "webinar": {"points": 4}, "*": {"points": 0.5}}, "decay": {"kind": "exponential", "half_life": "10 days"}, "window": "30 days"}}'''
CREATE TABLE fz(lead bigint, tp text, t timestamptz);
INSERT INTO fz VALUES
  -- lead 1: demo 10 + 5 + 2.5 = 17.5, capped 15; webinar 10 days 2; 'other' now 0.5 → 17.5
  (1, 'demo', :as_of), (1, 'demo', timestamptz :as_of - interval '10 days'),
  (1, 'demo', timestamptz :as_of - interval '20 days'), (1, 'webinar', timestamptz :as_of - interval '10 days'),
  (1, 'other', :as_of),
  -- lead 2: beyond the window, in the future, NULL type, NULL time, ±infinity: ignored;
  -- webinar now 4 → 4
  (2, 'demo', timestamptz :as_of - interval '40 days'), (2, 'demo', timestamptz :as_of + interval '1 day'),
  (2, NULL, :as_of), (2, 'demo', NULL), (2, 'demo', 'infinity'), (2, 'demo', '-infinity'), (2, 'webinar', :as_of),
  -- lead 3: a 5,000-byte type, stored compressed, is read detoasted: '*' now 0.5
  (3, repeat('y', 5000), :as_of),
  -- the largest bigint key: 'x' 10 days 0.25
  (9223372036854775807, 'x', timestamptz :as_of - interval '10 days'),
  -- a group with nothing that counts: 0
  (-5, NULL, :as_of),
  -- the NULL key is a group: webinar 20 days 1
  (NULL, 'webinar', timestamptz :as_of - interval '20 days');
ANALYZE fz;
SELECT pg_temp.plan_has(format('SELECT lead, lead_scoring.activity_score(%L::jsonb, tp, t, %L) FROM fz GROUP BY lead', :spec, :as_of),
                        'ActivityScoreAggregate') AS fused;
SELECT lead, score, expected, score = expected AS ok
FROM (SELECT lead, lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) AS score FROM fz GROUP BY lead) q
JOIN (VALUES (1::bigint, 17.5::float8), (2, 4), (3, 0.5), (9223372036854775807, 0.25), (-5, 0), (NULL, 1)) AS x(k, expected)
  ON k IS NOT DISTINCT FROM lead
ORDER BY lead NULLS LAST;
-- The compressed type matched by name (7 points), so a type read without
-- detoasting would score 0.
CREATE TABLE fzl AS SELECT * FROM fz WHERE lead = 3;
SELECT pg_column_compression(tp) IS NOT NULL AS compressed FROM fzl;
SET plan_cache_mode = force_generic_plan;
PREPARE long_type(jsonb) AS
  SELECT lead, lead_scoring.activity_score($1, tp, t, '2024-03-01 00:00:00+00') AS score FROM fzl GROUP BY lead;
SELECT pg_temp.plan_has('EXECUTE long_type(''{}'')', 'ActivityScoreAggregate') AS fused;
EXECUTE long_type(jsonb_build_object('activity', jsonb_build_object('events',
                  jsonb_build_object(repeat('y', 5000), jsonb_build_object('points', 7)))));
DEALLOCATE long_type;
RESET plan_cache_mode;
-- int and smallint keys; a varchar type and a domain over text (relabelled to text).
CREATE DOMAIN pg_temp.evtype AS text;
CREATE TABLE fz4 AS SELECT lead::int AS lead, tp::varchar(20) AS tp, t FROM fz WHERE lead < 1000;
CREATE TABLE fz2 AS SELECT lead::smallint AS lead, tp::pg_temp.evtype AS tp, t FROM fz WHERE lead < 1000;
SELECT pg_temp.plan_has(format('SELECT lead, lead_scoring.activity_score(%L::jsonb, tp, t, %L) FROM fz4 GROUP BY lead', :spec, :as_of),
                        'ActivityScoreAggregate') AS int_fused,
       pg_temp.plan_has(format('SELECT lead, lead_scoring.activity_score(%L::jsonb, tp, t, %L) FROM fz2 GROUP BY lead', :spec, :as_of),
                        'ActivityScoreAggregate') AS smallint_fused;
SELECT a.lead, a.score AS int_key, b.score AS smallint_key
FROM (SELECT lead, lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) AS score FROM fz4 GROUP BY lead) a
JOIN (SELECT lead, lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) AS score FROM fz2 GROUP BY lead) b USING (lead)
ORDER BY lead;

------------------------------------------- against plain SQL and the aggregate
-- 60,000 events over 700 leads, types and times from a hash of the row number.
CREATE TABLE fe(id int, lead_id bigint, event_type text, occurred_at timestamptz);
INSERT INTO fe SELECT * FROM pg_temp.hashed_events(60000, 700);
ANALYZE fe;
\set big '''{"activity": {"events": {"demo": {"points": 10, "cap": 25}, "unsubscribe": {"points": -7, "cap": 12}, "webinar": {"points": 4}, "*": {"points": 0.5}}, "decay": {"kind": "exponential", "half_life": "30 days"}, "window": "80 days", "min": -10, "max": 60}}'''
INSERT INTO lead_scoring.model(name, spec) VALUES ('fused_big', :big);
-- The formula of doc/activity.md in plain SQL, in one GROUP BY level: per type the sum of
-- points · 2^(-age/half-life) over 0 ≤ age ≤ 80 days, capped; then clamped.
CREATE TEMP TABLE expected AS
SELECT lead_id,
       greatest(-10, least(60,
         greatest(-25, least(25, coalesce(sum(10 * w) FILTER (WHERE event_type = 'demo'), 0)))
         + greatest(-12, least(12, coalesce(sum(-7 * w) FILTER (WHERE event_type = 'unsubscribe'), 0)))
         + coalesce(sum(4 * w) FILTER (WHERE event_type = 'webinar'), 0)
         + coalesce(sum(0.5 * w) FILTER (WHERE event_type NOT IN ('demo', 'unsubscribe', 'webinar')), 0))) AS score
FROM (SELECT lead_id, event_type, age,
             CASE WHEN age >= 0 AND age <= 80 * 86400 THEN 2 ^ (-age / (30 * 86400.0)) END AS w
      FROM (SELECT lead_id, event_type,
                   extract(epoch FROM timestamptz '2024-03-01 00:00+00' - occurred_at)::float8 AS age FROM fe) e) x
GROUP BY lead_id;

-- Two aggregates (by spec and by name) and an expression over them, in one node.
\set q 'SELECT lead_id, lead_scoring.activity_score(''{"activity": {"events": {"demo": {"points": 10, "cap": 25}, "unsubscribe": {"points": -7, "cap": 12}, "webinar": {"points": 4}, "*": {"points": 0.5}}, "decay": {"kind": "exponential", "half_life": "30 days"}, "window": "80 days", "min": -10, "max": 60}}''::jsonb, event_type, occurred_at, ''2024-03-01 00:00:00+00'') AS by_spec, round(lead_scoring.activity_score(''fused_big'', event_type, occurred_at, ''2024-03-01 00:00:00+00'')::numeric, 6) AS by_name_rounded, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, ''2024-03-01 00:00:00+00'') AS by_name FROM fe GROUP BY lead_id'
SELECT pg_temp.plan_has(:'q', 'ActivityScoreAggregate') AS fused;
CREATE TEMP TABLE fused AS :q;
SET lead_scoring.enable_fused_aggregate = off;
SELECT pg_temp.plan_has(:'q', 'ActivityScoreAggregate') AS fused_when_off;
CREATE TEMP TABLE agg AS :q;
RESET lead_scoring.enable_fused_aggregate;
SELECT count(*) AS leads,
       bool_and(f.by_spec = a.by_spec AND f.by_name = a.by_name AND f.by_name_rounded = a.by_name_rounded) AS bitwise_aggregate,
       bool_and(f.by_spec = f.by_name) AS spec_is_name,
       bool_and(abs(f.by_spec - x.score) <= 1e-9 * greatest(1, abs(x.score))) AS matches_plain_sql
FROM fused f JOIN agg a USING (lead_id) JOIN expected x USING (lead_id);

-- as_of from a stable function, a key left out of the output, ORDER BY and LIMIT over the node.
SELECT pg_temp.plan_has('SELECT lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) AS s FROM fe GROUP BY lead_id ORDER BY s DESC LIMIT 3',
                        'ActivityScoreAggregate') AS fused_now;
SELECT s, s = (SELECT max(by_name) FROM agg) AS is_max
FROM (SELECT lead_scoring.activity_score('fused_big', event_type, occurred_at, timestamptz '2024-02-01 00:00+00' + interval '29 days') AS s
      FROM fe GROUP BY lead_id ORDER BY s DESC LIMIT 1) q;

------------------------------------------------------- left to HashAggregate
-- Anything the node does not do keeps PostgreSQL's own plan.
SELECT name, pg_temp.plan_has(q, 'ActivityScoreAggregate') AS fused
FROM (VALUES
  ('having', 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY lead_id HAVING count(*) > 1'),
  ('filter', 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FILTER (WHERE id > 5) FROM fe GROUP BY lead_id'),
  ('distinct', 'SELECT lead_id, lead_scoring.activity_score(DISTINCT ''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY lead_id'),
  ('another aggregate', 'SELECT lead_id, count(*), lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY lead_id'),
  ('two keys', 'SELECT lead_id, event_type, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY lead_id, event_type'),
  ('text key', 'SELECT event_type, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY event_type'),
  ('expression key', 'SELECT lead_id % 7, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY lead_id % 7'),
  ('volatile as_of', 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, clock_timestamp()) FROM fe GROUP BY lead_id'),
  ('as_of per row', 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, occurred_at) FROM fe GROUP BY lead_id'),
  ('type expression', 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', lower(event_type), occurred_at, now()) FROM fe GROUP BY lead_id'),
  ('grouping sets', 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY ROLLUP (lead_id)'),
  ('NULL model', 'SELECT lead_id, lead_scoring.activity_score(NULL::text, event_type, occurred_at, now()) FROM fe GROUP BY lead_id')
) AS v(name, q);

------------------------------------------ errors: as the aggregate, when it
-- Parameters in a generic plan are evaluated when the scan starts; a NULL or
-- unknown model raises the aggregate's error at the first row, and no rows
-- raise nothing.
SET plan_cache_mode = force_generic_plan;
PREPARE fp(text, timestamptz, int) AS
  SELECT lead_id, lead_scoring.activity_score($1, event_type, occurred_at, $2) AS s FROM fe WHERE id <= $3 GROUP BY lead_id;
SELECT pg_temp.plan_has('EXECUTE fp(''fused_big'', now(), 10)', 'ActivityScoreAggregate') AS fused_generic;
\set VERBOSITY sqlstate
EXECUTE fp('fused_big', NULL, 10);
EXECUTE fp(NULL, :as_of, 10);
EXECUTE fp('no_such_model', :as_of, 10);
\set VERBOSITY default
EXECUTE fp('no_such_model', :as_of, 0);
CREATE TEMP TABLE generic AS EXECUTE fp('fused_big', :as_of, 60000);
SELECT count(*) AS leads, bool_and(s = by_name) AS same FROM generic JOIN agg USING (lead_id);
DEALLOCATE fp;
RESET plan_cache_mode;

---------------------------------------------------------- EXECUTE rights
-- Checked as for the aggregate: without EXECUTE on activity_score the query
-- fails the same way with the node as without it (42501).
SELECT pg_temp.plan_has('SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, now()) FROM fe GROUP BY lead_id',
                        'ActivityScoreAggregate') AS fused;
REVOKE EXECUTE ON FUNCTION lead_scoring.activity_score(text, text, timestamptz, timestamptz) FROM PUBLIC;
CREATE ROLE regress_ls_fused_reader;
GRANT USAGE ON SCHEMA lead_scoring TO regress_ls_fused_reader;
GRANT SELECT ON fe TO regress_ls_fused_reader;
SET ROLE regress_ls_fused_reader;
SELECT lead_id, lead_scoring.activity_score('fused_big', event_type, occurred_at, now()) FROM fe GROUP BY lead_id;
SET lead_scoring.enable_fused_aggregate = off;
SELECT lead_id, lead_scoring.activity_score('fused_big', event_type, occurred_at, now()) FROM fe GROUP BY lead_id;
RESET lead_scoring.enable_fused_aggregate;
RESET ROLE;
GRANT EXECUTE ON FUNCTION lead_scoring.activity_score(text, text, timestamptz, timestamptz) TO PUBLIC;
REVOKE ALL ON fe FROM regress_ls_fused_reader;
REVOKE ALL ON SCHEMA lead_scoring FROM regress_ls_fused_reader;
DROP ROLE regress_ls_fused_reader;

---------------------------------------------------------- past hash_mem
-- Statistics that say 2 leads, while the table has 3,001 (NULL included): the
-- planner picks the node, which then runs out of hash_mem, sets rows aside
-- and returns the groups in several batches. Same scores, bitwise.
CREATE TABLE fskew(lead_id int, event_type text, occurred_at timestamptz) WITH (autovacuum_enabled = false);
INSERT INTO fskew SELECT g % 2, 'webinar', '2024-02-01' FROM generate_series(1, 10000) g;
ANALYZE fskew;
DELETE FROM fskew;
INSERT INTO fskew
SELECT g % 3000, (ARRAY['demo', 'webinar', 'x'])[1 + g % 3], timestamptz '2024-03-01' - (g % 50) * interval '1 day'
FROM generate_series(1, 12000) g;
INSERT INTO fskew VALUES (NULL, 'demo', '2024-02-20'), (NULL, 'x', '2024-02-25');
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
\set qs 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, ''2024-03-01 00:00:00+00'') AS s FROM fskew GROUP BY lead_id'
SELECT pg_temp.batches(:'qs') > 1 AS several_batches;
CREATE TEMP TABLE skew_fused AS :qs;
SET lead_scoring.enable_fused_aggregate = off;
CREATE TEMP TABLE skew_agg AS :qs;
RESET lead_scoring.enable_fused_aggregate;
RESET work_mem;
RESET hash_mem_multiplier;
SELECT (SELECT count(*) FROM skew_fused) AS groups,
       (SELECT count(*) FROM skew_fused f JOIN skew_agg a ON f.lead_id IS NOT DISTINCT FROM a.lead_id AND f.s = a.s) AS same;

---------------------------------------------------------- parallel input
-- The node itself runs in the leader; below it a Gather may read the table
-- with workers. Rows then arrive in another order, so compare with the formula.
ALTER TABLE fe SET (parallel_workers = 2);
BEGIN;
SELECT set_config(name, value, true) IS NOT NULL AS set
FROM (VALUES ('parallel_setup_cost', '0'), ('parallel_tuple_cost', '0'), ('min_parallel_table_scan_size', '0'),
             ('max_parallel_workers_per_gather', '2'), ('parallel_leader_participation', 'off')) AS v(name, value);
\set qp 'SELECT lead_id, lead_scoring.activity_score(''fused_big'', event_type, occurred_at, ''2024-03-01 00:00:00+00'') AS s FROM fe GROUP BY lead_id'
SELECT pg_temp.plan_has(:'qp', 'ActivityScoreAggregate') AS fused, pg_temp.plan_has(:'qp', 'Gather') AS gather;
CREATE TEMP TABLE par AS :qp;
COMMIT;
SELECT count(*) AS leads, bool_and(abs(p.s - x.score) <= 1e-9 * greatest(1, abs(x.score))) AS matches_plain_sql
FROM par p JOIN expected x USING (lead_id);
ALTER TABLE fe RESET (parallel_workers);

-------------------------------------------------------------- rescans
-- as_of from the outer row (a parameter that changes): the node is rescanned
-- and re-reads as_of each time.
-- The model too: odd rows use another model, whose name may sit at the same
-- address as the last one's.
INSERT INTO lead_scoring.model(name, spec)
VALUES ('fused_alt', '{"activity": {"events": {"webinar": {"points": 9, "cap": 20}}, "decay": {"kind": "linear", "lifetime": "60 days"}}}');
CREATE TABLE fouter AS
SELECT g AS id, timestamptz '2024-03-01' - g * interval '9 days' AS as_of,
       CASE WHEN g % 2 = 0 THEN 'fused_big' ELSE 'fused_alt' END AS model
FROM generate_series(0, 5) g;
\set qr 'SELECT o.id, (SELECT array_agg(q.s ORDER BY q.lead_id) FROM (SELECT lead_id, lead_scoring.activity_score(o.model, event_type, occurred_at, o.as_of) AS s FROM fe GROUP BY lead_id) q) AS scores FROM fouter o'
SELECT pg_temp.plan_has(:'qr', 'ActivityScoreAggregate') AS fused;
CREATE TEMP TABLE re_fused AS :qr;
SET lead_scoring.enable_fused_aggregate = off;
CREATE TEMP TABLE re_agg AS :qr;
RESET lead_scoring.enable_fused_aggregate;
SELECT count(*) AS outer_rows, bool_and(f.scores = a.scores) AS same,
       count(DISTINCT f.scores) AS distinct_as_of
FROM re_fused f JOIN re_agg a USING (id);

-------------------------------------------------- a ranking over the node
\set qw 'SELECT lead_id, rank() OVER (ORDER BY lead_scoring.activity_score(''fused_big'', event_type, occurred_at, ''2024-03-01 00:00:00+00'') DESC, lead_id) AS r FROM fe GROUP BY lead_id'
SELECT pg_temp.plan_has(:'qw', 'ActivityScoreAggregate') AS fused;
CREATE TEMP TABLE rank_fused AS :qw;
SELECT count(*) AS leads,
       bool_and(f.r = x.r) AS same_ranks
FROM rank_fused f JOIN (SELECT lead_id, rank() OVER (ORDER BY by_name DESC, lead_id) AS r FROM agg) x USING (lead_id);

-------------------------------------------------------------- cursors
BEGIN;
DECLARE c CURSOR FOR SELECT lead, lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) FROM fz GROUP BY lead;
FETCH 2 FROM c;
FETCH ALL FROM c;
CLOSE c;
-- Backwards needs a Materialize above the node.
DECLARE s SCROLL CURSOR FOR SELECT lead, lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) AS score FROM fz GROUP BY lead;
FETCH 3 FROM s;
FETCH PRIOR FROM s;
COMMIT;

DELETE FROM lead_scoring.model WHERE name IN ('fused_big', 'fused_alt');
DROP TABLE fz, fzl, fz4, fz2, fe, fskew, fouter;
