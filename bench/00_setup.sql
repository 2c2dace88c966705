-- The one timer every section uses (bench/lib.sh's bench_time calls it) and
-- the result table.
CREATE EXTENSION IF NOT EXISTS lead_scoring;
-- Where installed, says how much of a run's WAL is full-page images.
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_walinspect') THEN CREATE EXTENSION IF NOT EXISTS pg_walinspect; END IF;
END $$;
CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.result;
-- ms: median wall time inside the server; wal: median WAL bytes per run
-- (wal_from / wal_to: each run's WAL; wal_fpi: the median bytes of full-page
-- images in it, filled in by bench.fpi);
-- hwm_kb / shmem_kb: the backend's peak resident memory (VmHWM) after its runs,
-- and how much of its resident memory is shared buffers it touched (RssShmem).
CREATE TABLE bench.result(id serial, section text, layout text, workers int, label text,
                          ms float8, runs float8[], checksum text, plan text,
                          wal float8, wal_runs float8[], hwm_kb bigint, shmem_kb bigint,
                          wal_from pg_lsn[], wal_to pg_lsn[], wal_fpi float8);

-- Runs q n times, each after setup (untimed; NULL: none), each in its own
-- transaction; records the median wall time (the commit included: what a
-- caller waits for), the median WAL inserted meanwhile (by anyone: the
-- sections keep the server otherwise quiet), the backend's memory, and q's
-- value (q returns one value, so the planner cannot skip work; a statement
-- that returns nothing, e.g. CREATE TABLE AS, records 'done'). The plan column
-- says whether workers and the fused activity_score node were used, and
-- whether the plan reads an index or sorts.
-- A procedure, so it can commit between runs; call it outside a transaction.
CREATE OR REPLACE PROCEDURE bench.record(section text, layout text, workers int, label text, q text,
                                         n int DEFAULT 3, setup text DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz; t1 timestamptz; lsn0 pg_lsn; lsn1 pg_lsn; v text; l text; st text;
  times float8[] := '{}'; wals float8[] := '{}'; froms pg_lsn[] := '{}'; tos pg_lsn[] := '{}'; plan text := 'serial'; fused boolean := false; access text[] := '{}';
  returns_rows boolean := q ~* '^\s*(select|with|values|table)\M';
BEGIN
  IF returns_rows THEN
    FOR l IN EXECUTE 'EXPLAIN ' || q LOOP
      IF l LIKE '%Workers Planned%' THEN plan := 'parallel'; END IF;
      IF l LIKE '%ActivityScoreAggregate%' THEN fused := true; END IF;
      IF l LIKE '%Index Only Scan%' THEN access := array_append(array_remove(access, 'index only scan'), 'index only scan');
      ELSIF l LIKE '%Index Scan%' THEN access := array_append(array_remove(access, 'index scan'), 'index scan');
      ELSIF l ~ '\mSort Key\M' THEN access := array_append(array_remove(access, 'sort'), 'sort'); END IF;
    END LOOP;
  ELSE
    plan := 'statement';
  END IF;
  IF fused THEN plan := plan || ', fused'; END IF;
  IF access <> '{}' THEN plan := plan || ', ' || array_to_string(access, ', '); END IF;
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
    froms := froms || lsn0;
    tos := tos || lsn1;
  END LOOP;
  st := pg_read_file('/proc/self/status');
  INSERT INTO bench.result(section, layout, workers, label, ms, runs, checksum, plan, wal, wal_runs, hwm_kb, shmem_kb, wal_from, wal_to)
  VALUES (section, layout, workers, label,
          (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x), times, v, plan,
          (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(wals) x), wals,
          (regexp_match(st, 'VmHWM:\s+(\d+) kB'))[1]::bigint, (regexp_match(st, 'RssShmem:\s+(\d+) kB'))[1]::bigint, froms, tos);
END $$;

-- Fills in wal_fpi of result row id from pg_walinspect (when installed), once
-- the runs' WAL is flushed; NULL when the WAL is gone or not readable.
CREATE OR REPLACE FUNCTION bench.fpi(row_id int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE r bench.result; f float8[] := '{}'; x float8;
BEGIN
  SELECT * INTO r FROM bench.result WHERE id = row_id;
  IF to_regprocedure('pg_get_wal_stats(pg_lsn, pg_lsn, boolean)') IS NULL OR r.wal_from IS NULL THEN RETURN NULL; END IF;
  FOR i IN 1..cardinality(r.wal_from) LOOP
    IF r.wal_to[i] = r.wal_from[i] THEN f := f || 0::float8; CONTINUE; END IF;
    WHILE pg_current_wal_flush_lsn() < r.wal_to[i] LOOP PERFORM pg_sleep(0.05); END LOOP;
    BEGIN
      EXECUTE 'SELECT sum(fpi_size)::float8 FROM pg_get_wal_stats($1, $2)' INTO x USING r.wal_from[i], r.wal_to[i];
    EXCEPTION WHEN OTHERS THEN
      RETURN NULL;
    END;
    f := f || coalesce(x, 0);
  END LOOP;
  UPDATE bench.result SET wal_fpi = (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(f) v) WHERE id = row_id;
  RETURN (SELECT wal_fpi FROM bench.result WHERE id = row_id);
END $$;
