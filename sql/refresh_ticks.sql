-- Rankings v2 (doc/rank.md): ticks, write only what changed, idle refreshes,
-- the _ranked view, incremental == full across ticks, updating a 0.1.0 ranking.
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE SCHEMA tk;
CREATE TABLE tk.leads (id int PRIMARY KEY, tier text);
CREATE TABLE tk.events (id serial PRIMARY KEY, lead_id int, kind text, at timestamptz);
CREATE INDEX ON tk.events (lead_id);
CREATE TABLE tk.orders (lead_id int, at timestamptz, amount numeric);
CREATE INDEX ON tk.orders (lead_id);
INSERT INTO tk.leads SELECT g, CASE WHEN g % 3 = 0 THEN 'gold' WHEN g % 3 = 1 THEN 'silver' END FROM generate_series(1, 12) g;

-- refresh.tick: an interval of at least one second, without months or years.
CREATE FUNCTION pg_temp.try_tick(t jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_scoring.validate_model(jsonb_build_object('refresh', jsonb_build_object('tick', t)));
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT t, pg_temp.try_tick(t) FROM (VALUES ('"1 hour"'::jsonb), ('"15 minutes"'), ('"1 day"'), ('"2 weeks"'), ('"1 s"'),
    ('"1 month"'), ('"1 year"'), ('"500 ms"'), ('"0 s"'), ('"-1 hour"'), ('"soon"'), ('3600')) v(t);
SELECT pg_temp.try_tick(NULL) AS null_tick;
DO $$ BEGIN PERFORM lead_scoring.validate_model('{"refresh": {"every": "1 hour"}}'); EXCEPTION WHEN OTHERS THEN RAISE WARNING '%: %', SQLSTATE, SQLERRM; END $$;

-- ---------------------------------------------------------------- ticks by hand
-- Linear decay over 10 hours, 1-hour ticks. A refresh at 10:30 scores at the
-- tick start 10:00: an event at 09:00 weighs 1 - 1/10 = 0.9, one at 10:00 and one
-- at 10:15 (inside the tick) weigh 1, one at 10:45 (after as_of) does not count.
INSERT INTO tk.events (lead_id, kind, at) VALUES
  (1, 'visit', '2024-03-10 09:00+00'), (1, 'visit', '2024-03-10 10:00+00'),
  (1, 'visit', '2024-03-10 10:15+00'), (1, 'visit', '2024-03-10 10:45+00'),
  (2, 'visit', '2024-03-10 09:59:59+00'), (3, 'demo', '2024-03-10 00:00+00');
INSERT INTO lead_scoring.model (name, spec) VALUES ('tk', '{
  "fit": {"rules": [{"field": "tier", "eq": "gold", "points": 10}, {"field": "tier", "eq": "silver", "points": 5}]},
  "activity": {"events": {"visit": {"points": 10}, "demo": {"points": 20}}, "decay": {"kind": "linear", "lifetime": "10 hours"}},
  "stages": [{"stage": "hot", "min_score": 25}],
  "refresh": {"tick": "1 hour"},
  "source": {"leads": {"table": "tk.leads", "id": "id"},
             "events": {"table": "tk.events", "lead_id": "lead_id", "type": "kind", "time": "at"},
             "orders": {"table": "tk.orders", "lead_id": "lead_id", "time": "at", "amount": "amount"},
             "target": "tk.ranking"}}');
SELECT lead_scoring.refresh('tk', '2024-03-10 10:30+00') AS written;
SELECT lead_id, activity, round((10 * (0.9 + 1 + 1))::numeric, 9) = round(activity::numeric, 9) AS lead1_by_hand,
       as_of FROM tk.ranking WHERE lead_id = 1;
-- 09:59:59 is one second before the tick start: weight 1 - 1/36000
SELECT round(activity::numeric, 9) = round(10 * (1 - 1 / 36000.0), 9) AS lead2_by_hand FROM tk.ranking WHERE lead_id = 2;
-- 10 hours before the tick: weight 0
SELECT activity AS lead3_activity FROM tk.ranking WHERE lead_id = 3;
SELECT tick_start, next_due, qualified FROM lead_scoring.refresh_state WHERE model = 'tk';

-- Within the tick, as_of passes 10:45: lead 1's event becomes due (next_due) and
-- only lead 1 is recomputed, at weight 1; as_of of the row is the tick start.
SELECT lead_scoring.refresh('tk', '2024-03-10 10:50+00') AS written;
SELECT mode, changed_leads, rows_written FROM lead_scoring.refresh_log WHERE model = 'tk' ORDER BY id DESC LIMIT 1;
SELECT round(activity::numeric, 9) = round((10 * (0.9 + 3))::numeric, 9) AS lead1_by_hand, as_of FROM tk.ranking WHERE lead_id = 1;
SELECT tick_start, next_due FROM lead_scoring.refresh_state WHERE model = 'tk';

-- ---------------------------------------------------------------- write only what changed
-- One new event on one lead: one ranking row updated, nothing else written to it.
-- (pg_stat_xact_user_tables may still hold counts of earlier transactions of
-- this session: the refresh's writes are the difference across it)
CREATE FUNCTION pg_temp.writes(t regclass) RETURNS TABLE (ins bigint, upd bigint, del bigint) LANGUAGE sql AS $$
  SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0), coalesce(sum(n_tup_del), 0)
  FROM pg_stat_xact_user_tables WHERE relid = t $$;
BEGIN;
INSERT INTO tk.events (lead_id, kind, at) VALUES (5, 'visit', '2024-03-10 10:20+00');
SELECT ins AS i0, upd AS u0, del AS d0 FROM pg_temp.writes('tk.ranking') \gset
SELECT lead_scoring.refresh('tk', '2024-03-10 10:55+00') AS written;
SELECT ins - :i0 AS inserted, upd - :u0 AS updated, del - :d0 AS deleted FROM pg_temp.writes('tk.ranking');
COMMIT;
SELECT mode, changed_leads, rows_written FROM lead_scoring.refresh_log WHERE model = 'tk' ORDER BY id DESC LIMIT 1;
-- An event that changes nothing (an unscored type two ticks ago... still zero
-- points): the lead is recomputed, no ranking row changes.
BEGIN;
INSERT INTO tk.events (lead_id, kind, at) VALUES (6, 'newsletter', '2024-03-10 08:00+00');
SELECT ins AS i0, upd AS u0, del AS d0 FROM pg_temp.writes('tk.ranking') \gset
SELECT lead_scoring.refresh('tk', '2024-03-10 10:56+00') AS written;
SELECT ins - :i0 AS inserted, upd - :u0 AS updated, del - :d0 AS deleted FROM pg_temp.writes('tk.ranking');
COMMIT;
-- Idle: nothing in the change log, same tick, nothing due. No ranking row, no
-- log row, no state row; no transaction id even (nothing at all was written).
SELECT count(*) AS log_rows FROM lead_scoring.refresh_log WHERE model = 'tk' \gset
BEGIN;
SELECT ins + upd + del AS w0 FROM pg_temp.writes('tk.ranking') \gset
SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) AS b0 FROM pg_stat_xact_user_tables WHERE schemaname IN ('lead_scoring', 'lead_scoring_state') \gset
SELECT lead_scoring.refresh('tk', '2024-03-10 10:59+00') AS written;
SELECT ins + upd + del - :w0 AS ranking_writes FROM pg_temp.writes('tk.ranking');
SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) - :b0 AS bookkeeping_writes FROM pg_stat_xact_user_tables WHERE schemaname IN ('lead_scoring', 'lead_scoring_state');
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid;
COMMIT;
SELECT count(*) - :log_rows AS new_log_rows FROM lead_scoring.refresh_log WHERE model = 'tk';

-- ---------------------------------------------------------------- incremental == full
-- After each change: refresh incrementally, keep the view, refresh fully at the
-- same as_of, compare every column of <target>_ranked but changed_at and as_of
-- (EXCEPT ALL both ways); rank and percentile included.
CREATE TEMP TABLE inc AS SELECT * FROM tk.ranking_ranked WITH NO DATA;
CREATE FUNCTION pg_temp.check(as_of timestamptz) RETURNS TABLE (mode text, diff bigint) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_scoring.refresh('tk', as_of);
    SELECT l.mode INTO mode FROM lead_scoring.refresh_log l WHERE l.model = 'tk' ORDER BY l.id DESC LIMIT 1;
    TRUNCATE inc;
    INSERT INTO inc SELECT * FROM tk.ranking_ranked;
    PERFORM lead_scoring.refresh('tk', as_of, true);
    SELECT count(*) INTO diff FROM (
        (SELECT lead_id, round(score::numeric, 9), round(fit::numeric, 9), round(activity::numeric, 9), grade, stage,
                disqualified, rfm_code, rfm_segment, rank, round(percentile::numeric, 9) FROM inc
         EXCEPT ALL
         SELECT lead_id, round(score::numeric, 9), round(fit::numeric, 9), round(activity::numeric, 9), grade, stage,
                disqualified, rfm_code, rfm_segment, rank, round(percentile::numeric, 9) FROM tk.ranking_ranked)
        UNION ALL
        (SELECT lead_id, round(score::numeric, 9), round(fit::numeric, 9), round(activity::numeric, 9), grade, stage,
                disqualified, rfm_code, rfm_segment, rank, round(percentile::numeric, 9) FROM tk.ranking_ranked
         EXCEPT ALL
         SELECT lead_id, round(score::numeric, 9), round(fit::numeric, 9), round(activity::numeric, 9), grade, stage,
                disqualified, rfm_code, rfm_segment, rank, round(percentile::numeric, 9) FROM inc)) d;
    RETURN NEXT;
END $$;
-- inserts within the tick
INSERT INTO tk.events (lead_id, kind, at) VALUES (7, 'demo', '2024-03-10 10:01+00'), (8, 'visit', '2024-03-10 12:00+00');
SELECT * FROM pg_temp.check('2024-03-10 10:58+00');
-- a new tick (linear decay: from the events); lead 8's event is due at 12:00
SELECT * FROM pg_temp.check('2024-03-10 12:30+00');
-- updates and deletes
UPDATE tk.events SET kind = 'demo' WHERE lead_id = 2;
DELETE FROM tk.events WHERE lead_id = 7;
UPDATE tk.leads SET tier = 'gold' WHERE id = 4;
INSERT INTO tk.leads VALUES (13, 'gold');
DELETE FROM tk.leads WHERE id = 12;
SELECT * FROM pg_temp.check('2024-03-10 12:40+00');
-- orders: the first orders create the RFM cut points, more orders move them
INSERT INTO tk.orders SELECT g, '2024-03-01 00:00+00'::timestamptz + g * interval '1 day', 10 * g FROM generate_series(1, 10) g;
SELECT * FROM pg_temp.check('2024-03-10 12:45+00');
SELECT count(rfm_code) AS with_rfm FROM tk.ranking;
INSERT INTO tk.orders VALUES (1, '2024-03-10 12:00+00', 5000), (1, '2024-03-10 12:10+00', 5000), (2, '2024-03-09 00:00+00', 900);
SELECT * FROM pg_temp.check('2024-03-10 12:50+00');
-- an order inside the tick counts at the tick start: recency 0 days
INSERT INTO tk.orders VALUES (3, '2024-03-10 12:55+00', 1);
SELECT * FROM pg_temp.check('2024-03-10 12:56+00');
-- TRUNCATE of a source: full
TRUNCATE tk.orders;
SELECT * FROM pg_temp.check('2024-03-10 12:57+00');
SELECT count(rfm_code) AS with_rfm FROM tk.ranking;

-- The same with step decay and with a window, refreshed incrementally within a tick.
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{activity,decay}', '{"kind": "step", "expire_after": "2 hours"}') WHERE name = 'tk';
SELECT * FROM pg_temp.check('2024-03-10 13:05+00');
INSERT INTO tk.events (lead_id, kind, at) VALUES (9, 'visit', '2024-03-10 11:00+00'), (10, 'visit', '2024-03-10 10:59+00'),
                                                 (11, 'visit', '2024-03-10 13:01+00');
SELECT * FROM pg_temp.check('2024-03-10 13:10+00');
-- step: an event exactly 2 hours before the tick start no longer counts, one inside the tick does
SELECT lead_id, activity FROM tk.ranking WHERE lead_id IN (9, 10, 11) ORDER BY lead_id;
UPDATE lead_scoring.model SET spec = jsonb_set(jsonb_set(spec, '{activity,decay}', '{"kind": "none"}'), '{activity,window}', '"3 hours"') WHERE name = 'tk';
SELECT * FROM pg_temp.check('2024-03-10 13:20+00');
INSERT INTO tk.events (lead_id, kind, at) VALUES (9, 'visit', '2024-03-10 10:00+00'), (10, 'visit', '2024-03-10 13:15+00');
SELECT * FROM pg_temp.check('2024-03-10 13:25+00');
-- window of 3 hours at the tick start 13:00: 10:00 counts, 09:59:59 does not
SELECT lead_id, activity FROM tk.ranking WHERE lead_id IN (2, 9, 10) ORDER BY lead_id;
SELECT * FROM pg_temp.check('2024-03-10 14:00+00');  -- new tick: window from the events

-- Exponential decay: a new tick rescales the stored sums, except for leads
-- scored with an event moved to the last tick start (15:20 counted as 15:00
-- within the 15:00 tick): at 16:00 it weighs by its own age, from its rows.
UPDATE lead_scoring.model SET spec = jsonb_set(spec #- '{activity,window}', '{activity,decay}', '{"kind": "exponential", "half_life": "1 hour"}') WHERE name = 'tk';
SELECT * FROM pg_temp.check('2024-03-10 15:10+00');
INSERT INTO tk.events (lead_id, kind, at) VALUES (5, 'visit', '2024-03-10 15:20+00');
SELECT * FROM pg_temp.check('2024-03-10 15:30+00');
-- (lead 5 also has a visit at 10:20)
SELECT round(activity::numeric, 9) = round((10 * power(2, -280 / 60.0) + 10)::numeric, 9) AS lead5_at_15 FROM tk.ranking WHERE lead_id = 5;
SELECT * FROM pg_temp.check('2024-03-10 16:05+00');
SELECT round(activity::numeric, 9) = round((10 * power(2, -340 / 60.0) + 10 * power(2, -40 / 60.0))::numeric, 9) AS lead5_at_16
FROM tk.ranking WHERE lead_id = 5;

-- A source without an index on its lead id column: the incremental refresh
-- says so (NOTICE, and refresh_log.reason), as it scans that table.
DROP INDEX tk.events_lead_id_idx;
INSERT INTO tk.events (lead_id, kind, at) VALUES (4, 'visit', '2024-03-10 16:07+00');
SET client_min_messages = notice;
SELECT lead_scoring.refresh('tk', '2024-03-10 16:20+00') AS written;
SET client_min_messages = warning;
SELECT mode, reason FROM lead_scoring.refresh_log WHERE model = 'tk' ORDER BY id DESC LIMIT 1;
CREATE INDEX ON tk.events (lead_id);

-- ---------------------------------------------------------------- the _ranked view
-- rank and percentile equal rank() and percent_rank() computed by hand over the
-- table; disqualified leads have neither. Ties share a rank.
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{disqualify}', '{"rules": [{"field": "tier", "eq": "silver"}]}') WHERE name = 'tk';
SELECT lead_scoring.refresh('tk', '2024-03-10 16:20+00') IS NOT NULL AS refreshed;
SELECT count(*) AS leads, count(rank) AS ranked, count(*) - count(DISTINCT rank) - count(*) FILTER (WHERE disqualified) + 1 AS tied
FROM tk.ranking_ranked;
SELECT count(*) AS mismatches FROM tk.ranking_ranked v
LEFT JOIN (SELECT lead_id, rank() OVER (ORDER BY score DESC) AS rk, percent_rank() OVER (ORDER BY score) AS pr
           FROM tk.ranking WHERE NOT disqualified) h USING (lead_id)
WHERE v.rank IS DISTINCT FROM h.rk OR v.percentile IS DISTINCT FROM h.pr
   OR (v.disqualified AND (v.rank IS NOT NULL OR v.percentile IS NOT NULL));
-- WHERE rank <= N stops after N rows of the index on score (the window's run
-- condition); the planner is told to use the index it picks on a large table.
-- Asserted on the plan's lines, whose layout differs between majors.
\i sql/include/lib.sql
SET enable_seqscan = off;
SET enable_bitmapscan = off;
\set rankq 'SELECT lead_id, rank FROM tk.ranking_ranked WHERE rank <= 3'
SELECT pg_temp.plan_has(:'rankq', 'Run Condition: \(rank\(\) OVER') AS run_condition,
       pg_temp.plan_has(:'rankq', 'Index Scan using ranking_score_idx on ranking t') AS walks_score_index,
       NOT pg_temp.plan_has(:'rankq', 'Sort') AS no_sort;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT lead_id, score, rank FROM tk.ranking_ranked WHERE rank <= 3 ORDER BY rank, lead_id;
-- one lead's rank without the window over every lead: 1 + the qualified leads scoring higher
SELECT v.rank = (SELECT 1 + count(*) FROM tk.ranking h WHERE NOT h.disqualified AND h.score > r.score) AS one_lead_rank
FROM tk.ranking r JOIN tk.ranking_ranked v USING (lead_id) WHERE r.lead_id IN (3, 9, 13);

-- ---------------------------------------------------------------- a 0.1.0 ranking
-- A target with 0.1.0's layout (rank, percentile, refreshed_at) is updated by
-- the next refresh, unless an object of the user depends on rank or percentile.
CREATE TABLE tk.old_ranking (lead_id int PRIMARY KEY, score float8 NOT NULL, fit float8 NOT NULL, activity float8 NOT NULL,
    grade text, stage text NOT NULL, disqualified boolean NOT NULL, rank bigint, percentile float8, rfm_code text,
    rfm_segment text, as_of timestamptz NOT NULL, refreshed_at timestamptz NOT NULL);
CREATE INDEX ON tk.old_ranking (rank);
INSERT INTO tk.old_ranking VALUES (1, 1, 1, 0, NULL, 'new', false, 1, 1, NULL, NULL, now(), now());
CREATE VIEW tk.top AS SELECT lead_id FROM tk.old_ranking WHERE rank <= 10;
INSERT INTO lead_scoring.model (name, spec)
SELECT 'tk_old', jsonb_set(spec, '{source,target}', '"tk.old_ranking"') FROM lead_scoring.model WHERE name = 'tk';
\set VERBOSITY default
SELECT lead_scoring.refresh('tk_old', '2024-03-10 16:20+00');
\set VERBOSITY terse
DROP VIEW tk.top;
SELECT lead_scoring.refresh('tk_old', '2024-03-10 16:20+00') > 0 AS written;
SELECT a.attname FROM pg_attribute a WHERE a.attrelid = 'tk.old_ranking'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum;
SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = 'tk.old_ranking'::regclass ORDER BY 1;
SELECT count(*) AS differences FROM (
    (SELECT lead_id, score, stage, rank FROM tk.old_ranking_ranked EXCEPT ALL SELECT lead_id, score, stage, rank FROM tk.ranking_ranked)
    UNION ALL
    (SELECT lead_id, score, stage, rank FROM tk.ranking_ranked EXCEPT ALL SELECT lead_id, score, stage, rank FROM tk.old_ranking_ranked)) d;

SELECT lead_scoring.drop_refresh_state('tk'), lead_scoring.drop_refresh_state('tk_old');
DELETE FROM lead_scoring.model WHERE name IN ('tk', 'tk_old');
DELETE FROM lead_scoring.refresh_log WHERE model IN ('tk', 'tk_old');
DELETE FROM lead_scoring.stage_history WHERE model IN ('tk', 'tk_old');
DROP SCHEMA tk CASCADE;

-- ---------------------------------------------------------------- a 0.1.0 database
-- The 0.2.0 library refuses to refresh until ALTER EXTENSION ... UPDATE has run
-- (55000, with the hint), then updates the 0.1.0 ranking on its first refresh.
\set regress_db :DBNAME
CREATE DATABASE lead_scoring_v010;
\c lead_scoring_v010
SET client_min_messages = warning;
CREATE EXTENSION lead_scoring VERSION '0.1.0';
CREATE TABLE leads (id int PRIMARY KEY, tier text);
INSERT INTO leads SELECT g, CASE WHEN g % 2 = 0 THEN 'gold' END FROM generate_series(1, 6) g;
-- the ranking as 0.1.0's refresh left it
CREATE TABLE lead_scoring.ranking_v1 (lead_id int PRIMARY KEY, score float8 NOT NULL, fit float8 NOT NULL,
    activity float8 NOT NULL, grade text, stage text NOT NULL, disqualified boolean NOT NULL, rank bigint,
    percentile float8, rfm_code text, rfm_segment text, as_of timestamptz NOT NULL, refreshed_at timestamptz NOT NULL);
INSERT INTO lead_scoring.ranking_v1 SELECT id, 0, 0, 0, NULL, 'new', false, 1, 0, NULL, NULL, now(), now() FROM leads;
INSERT INTO lead_scoring.model (name, spec) VALUES ('v1', '{"fit": {"rules": [{"field": "tier", "eq": "gold", "points": 10}]},
  "source": {"leads": {"table": "public.leads", "id": "id"}}}');
\set VERBOSITY default
SELECT lead_scoring.refresh('v1', '2024-03-10+00');
\set VERBOSITY terse
ALTER EXTENSION lead_scoring UPDATE;
SELECT lead_scoring.refresh('v1', '2024-03-10+00') AS written;
SELECT lead_id, score, rank, percentile FROM lead_scoring.ranking_v1_ranked ORDER BY lead_id;
\c :regress_db
DROP DATABASE lead_scoring_v010;
