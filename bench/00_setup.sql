-- The one timer every section uses (bench/lib.sh's bench_time calls it) and
-- the result table.
CREATE EXTENSION IF NOT EXISTS lead_scoring;
CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.result;
-- ms: median wall time inside the server; wal: median WAL bytes per run;
-- hwm_kb / shmem_kb: the backend's peak resident memory (VmHWM) after its runs,
-- and how much of its resident memory is shared buffers it touched (RssShmem).
CREATE TABLE bench.result(id serial, section text, layout text, workers int, label text,
                          ms float8, runs float8[], checksum text, plan text,
                          wal float8, wal_runs float8[], hwm_kb bigint, shmem_kb bigint);

-- Runs q n times, each after setup (untimed; NULL: none), each in its own
-- transaction; records the median wall time (the commit included: what a
-- caller waits for), the median WAL inserted meanwhile (by anyone: the
-- sections keep the server otherwise quiet), the backend's memory, and q's
-- value (q returns one value, so the planner cannot skip work; a statement
-- that returns nothing, e.g. CREATE TABLE AS, records 'done'). The plan column
-- says whether workers and the fused activity_score node were used.
-- A procedure, so it can commit between runs; call it outside a transaction.
CREATE OR REPLACE PROCEDURE bench.record(section text, layout text, workers int, label text, q text,
                                         n int DEFAULT 3, setup text DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz; t1 timestamptz; lsn0 pg_lsn; lsn1 pg_lsn; v text; l text; st text;
  times float8[] := '{}'; wals float8[] := '{}'; plan text := 'serial'; fused boolean := false;
  returns_rows boolean := q ~* '^\s*(select|with|values|table)\M';
BEGIN
  IF returns_rows THEN
    FOR l IN EXECUTE 'EXPLAIN ' || q LOOP
      IF l LIKE '%Workers Planned%' THEN plan := 'parallel'; END IF;
      IF l LIKE '%ActivityScoreAggregate%' THEN fused := true; END IF;
    END LOOP;
  ELSE
    plan := 'statement';
  END IF;
  IF fused THEN plan := plan || ', fused'; END IF;
  FOR i IN 1..n LOOP
    IF setup IS NOT NULL THEN EXECUTE setup; END IF;
    COMMIT;
    lsn0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    IF returns_rows THEN EXECUTE q INTO v; ELSE EXECUTE q; v := 'done'; END IF;
    COMMIT;
    t1 := clock_timestamp();
    lsn1 := pg_current_wal_insert_lsn();
    times := times || (extract(epoch FROM t1 - t0) * 1000)::float8;
    wals := wals || (lsn1 - lsn0)::float8;
  END LOOP;
  st := pg_read_file('/proc/self/status');
  INSERT INTO bench.result(section, layout, workers, label, ms, runs, checksum, plan, wal, wal_runs, hwm_kb, shmem_kb)
  VALUES (section, layout, workers, label,
          (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x), times, v, plan,
          (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(wals) x), wals,
          (regexp_match(st, 'VmHWM:\s+(\d+) kB'))[1]::bigint, (regexp_match(st, 'RssShmem:\s+(\d+) kB'))[1]::bigint);
END $$;
