-- Helpers shared by every section: timing (median of 3 in one session) and the
-- result table.
CREATE EXTENSION IF NOT EXISTS lead_scoring;
CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.result;
CREATE TABLE bench.result(id serial, section text, layout text, workers int, label text,
                          ms float8, runs float8[], checksum text, plan text);

-- Runs q (which returns one value) n times; returns the median wall time in ms
-- and records the value, so every timed query's result is consumed. The plan
-- column says whether workers and the fused activity_score node were used.
CREATE OR REPLACE FUNCTION bench.record(section text, layout text, workers int, label text, q text, n int DEFAULT 3)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz; v text; times float8[] := '{}'; med float8; l text; plan text := 'serial'; fused boolean := false;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN ' || q LOOP
    IF l LIKE '%Workers Planned%' THEN plan := 'parallel'; END IF;
    IF l LIKE '%ActivityScoreAggregate%' THEN fused := true; END IF;
  END LOOP;
  IF fused THEN plan := plan || ', fused'; END IF;
  FOR i IN 1..n LOOP
    t0 := clock_timestamp();
    EXECUTE q INTO v;
    times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
  END LOOP;
  SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) INTO med FROM unnest(times) AS x;
  INSERT INTO bench.result(section, layout, workers, label, ms, runs, checksum, plan)
  VALUES (section, layout, workers, label, med, times, v, plan);
  RETURN med;
END $$;
