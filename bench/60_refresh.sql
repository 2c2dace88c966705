-- Section 60's objects: the ranking model over the generated data, the
-- clock its refreshes run at, and the worker-latency probe.
DELETE FROM lead_scoring.model WHERE name = 'bench_rank';
DO $$ BEGIN
  IF to_regclass('lead_scoring.ranking_bench_rank') IS NOT NULL THEN PERFORM lead_scoring.drop_refresh_state('bench_rank'); END IF;
END $$;
DROP VIEW IF EXISTS lead_scoring.ranking_bench_rank_ranked;
DROP TABLE IF EXISTS lead_scoring.ranking_bench_rank;
DROP SCHEMA IF EXISTS bench_rank CASCADE;
CREATE SCHEMA bench_rank;
-- The refresh writes into its own copy of the time-ordered events (an event
-- log grows in time order), indexed on the lead id as the refresh wants.
CREATE TABLE bench_rank.events AS SELECT * FROM bench.events_time;
CREATE INDEX ON bench_rank.events (lead_id);
VACUUM ANALYZE bench_rank.events;
-- Every timed refresh runs at bench_rank.clock's instant, which the untimed
-- setup of each run moves on.
CREATE TABLE bench_rank.clock(t timestamptz NOT NULL);
INSERT INTO bench_rank.clock VALUES (:as_of);

INSERT INTO lead_scoring.model (name, spec) VALUES ('bench_rank', '{
  "fit": {"rules": [
    {"field": "industry", "in": ["software", "saas"], "points": 20},
    {"field": "employees", "between": [50, 1000], "points": 15},
    {"field": "employees", "gt": 1000, "points": 5},
    {"field": "country", "in": ["us", "ca", "gb"], "points": 10},
    {"field": "title", "contains": "director", "points": 15},
    {"field": "title", "eq": "student", "points": -20},
    {"field": "email", "matches": "@(gmail|yahoo)\\.com$", "points": -10}]},
  "activity": {"events": {"page_view": {"points": 1, "cap": 10}, "email_open": {"points": 1, "cap": 5},
    "email_click": {"points": 3}, "pricing_page": {"points": 5}, "download": {"points": 8}, "webinar": {"points": 10},
    "demo_request": {"points": 25, "cap": 50}, "unsubscribe": {"points": -15, "cap": 15}, "bounce": {"points": -10},
    "*": {"points": 0.5}}, "decay": {"kind": "exponential", "half_life": "30 days"}},
  "stages": [{"stage": "SQL", "min_score": 80, "event": "demo_request"}, {"stage": "MQL", "min_score": 40}],
  "source": {"leads": {"table": "bench.leads", "id": "id", "properties": "attributes"},
             "events": {"table": "bench_rank.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}');

-- Event -> visible in the ranking, with the background worker refreshing the
-- model: n times, wait a random fraction of a second (so the event lands at a
-- random moment of the worker's cycle), insert one event for a lead not
-- touched before, commit, then poll the lead's row every 10 ms (a fresh
-- snapshot each time) until its score has moved by the event's 5 points (at
-- weight 1 within the tick: nothing else moves it). Records each latency
-- from the commit in ms (NULL: not visible after timeout_s).
CREATE OR REPLACE PROCEDURE bench_rank.event_latency(n int, leads int, ranked regclass, timeout_s float8 DEFAULT 30)
LANGUAGE plpgsql AS $$
DECLARE lead int; old float8; cur float8; t0 timestamptz; waited interval; lat float8[] := '{}';
BEGIN
  FOR i IN 1..n LOOP
    lead := 1 + (i * 7919 + 104729) % leads;
    EXECUTE format('SELECT score FROM %s WHERE lead_id = $1', ranked) INTO old USING lead;
    PERFORM pg_sleep(random());
    COMMIT;
    INSERT INTO bench_rank.events VALUES (lead, 'pricing_page', now());
    COMMIT;
    t0 := clock_timestamp();
    LOOP
      EXECUTE format('SELECT score FROM %s WHERE lead_id = $1', ranked) INTO cur USING lead;
      COMMIT;
      waited := clock_timestamp() - t0;
      EXIT WHEN cur > old + 4.5 OR waited > make_interval(secs => timeout_s);
      PERFORM pg_sleep(0.01);
    END LOOP;
    lat := lat || CASE WHEN cur > old + 4.5 THEN (extract(epoch FROM waited) * 1000)::float8 END;
    RAISE NOTICE 'event % on lead %: %', i, lead, coalesce(round(lat[i]::numeric) || ' ms', 'not visible after ' || timeout_s || ' s');
  END LOOP;
  INSERT INTO bench.result(section, layout, workers, label, ms, runs, checksum, plan)
  SELECT 'rankings', 'worker', 0, 'event -> visible, median', percentile_cont(0.5) WITHIN GROUP (ORDER BY x), lat,
         count(x) || ' of ' || n || ' seen', 'naptime 1 s'
  FROM unnest(lat) x
  UNION ALL
  SELECT 'rankings', 'worker', 0, 'event -> visible, p95',
         CASE WHEN count(x) = n THEN percentile_cont(0.95) WITHIN GROUP (ORDER BY x) END, lat,
         'max ' || round(max(x)::numeric) || ' ms', 'naptime 1 s'
  FROM unnest(lat) x;
END $$;
