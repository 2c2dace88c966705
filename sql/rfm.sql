-- RFM (doc/qualify.md#rfm-cut-points). rfm_breaks is checked against PostgreSQL's own
-- percentile_disc on the same data; rfm against counts and a CASE written here
-- from the default segment map of doc/qualify.md.
\set VERBOSITY terse
SET client_min_messages = warning;
SET jit = off;  -- JIT compilation would only slow these small queries down
\i sql/include/lib.sql

CREATE TEMP TABLE d(grp text, r float8, f float8, m float8);
SELECT setseed(0.42);
INSERT INTO d SELECT 'ties', i % 3, CASE WHEN i % 10 < 7 THEN 1 ELSE i % 4 END, floor(i / 100) FROM generate_series(1, 1000) i;
INSERT INTO d SELECT 'nulls', CASE WHEN i % 3 = 0 THEN NULL ELSE i END, CASE WHEN i % 5 = 0 THEN NULL ELSE i % 7 END,
                     CASE WHEN i % 2 = 0 THEN NULL ELSE i * 1.5 END FROM generate_series(1, 97) i;
INSERT INTO d VALUES ('single', 12.5, 3, 99.99);
INSERT INTO d SELECT 'equal', 7, 7, 7 FROM generate_series(1, 50);
INSERT INTO d SELECT 'random', round((random() * 365)::numeric, 2), floor(random() * random() * 40), random() * 10000 - 100
              FROM generate_series(1, 1000);
INSERT INTO d SELECT 'no_money', i, i, NULL FROM generate_series(1, 9) i;
INSERT INTO d VALUES ('two', 1, 1, 1), ('two', 2, 2, 2), ('neg', -5, 0, -1e6), ('neg', -0.5, 0, 1e-9), ('neg', 3, 0, 0);

-- Each group and bin count: rfm_breaks against percentile_disc(k/b).
SELECT grp, bins, count AS n,
       pg_temp.cuts(b, 'recency') IS NOT DISTINCT FROM pr
   AND pg_temp.cuts(b, 'frequency') IS NOT DISTINCT FROM pf
   AND pg_temp.cuts(b, 'monetary') IS NOT DISTINCT FROM pm
   AND (b ->> 'bins')::int = bins AS same_as_percentile_disc
FROM (SELECT grp, bins, count(*),
             lead_scoring.rfm_breaks(r, f, m, bins) AS b,
             percentile_disc(ARRAY(SELECT k::float8 / bins FROM generate_series(1, bins - 1) k)) WITHIN GROUP (ORDER BY r) AS pr,
             percentile_disc(ARRAY(SELECT k::float8 / bins FROM generate_series(1, bins - 1) k)) WITHIN GROUP (ORDER BY f) AS pf,
             percentile_disc(ARRAY(SELECT k::float8 / bins FROM generate_series(1, bins - 1) k)) WITHIN GROUP (ORDER BY m) AS pm
      FROM d, (VALUES (2), (3), (4), (5), (7), (100)) v(bins)
      GROUP BY grp, bins) x
ORDER BY grp, bins;
-- The default (5 bins) against the literal fractions users write.
SELECT grp,
       pg_temp.cuts(b, 'recency') IS NOT DISTINCT FROM percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY r)
   AND pg_temp.cuts(b, 'frequency') IS NOT DISTINCT FROM percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY f)
   AND pg_temp.cuts(b, 'monetary') IS NOT DISTINCT FROM percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY m)
       AS same
FROM (SELECT grp, lead_scoring.rfm_breaks(r, f, m) OVER (PARTITION BY grp) AS b, r, f, m FROM d) x
GROUP BY grp, b ORDER BY grp;
-- Hand-computed: 1..10 gives rows 2, 4, 6, 8; one row gives that value four times.
SELECT lead_scoring.rfm_breaks(i, 11 - i, i * 10) FROM generate_series(1, 10) i;
SELECT lead_scoring.rfm_breaks(r, f, m) FROM d WHERE grp = 'single';
SELECT lead_scoring.rfm_breaks(r, f, m, 3) FROM d WHERE grp = 'no_money';
SELECT lead_scoring.rfm_breaks(r, f, m) IS NULL AS no_rows_is_null FROM d WHERE false;

-- rfm over the 5x5 R x F grid. Values sit exactly on cut points (a value equal
-- to c_k is not above it) or beyond the last one.
CREATE TEMP TABLE br AS SELECT '{"bins": 5, "recency": [10, 20, 30, 40], "frequency": [1, 2, 3, 5],
                                 "monetary": [100, 200, 300, 400]}'::jsonb AS b;
CREATE TEMP TABLE grid AS
SELECT rec, freq, mon FROM unnest(ARRAY[10, 20, 30, 40, 41]::float8[]) rec,
                           unnest(ARRAY[1, 2, 3, 5, 6]::float8[]) freq,
                           unnest(ARRAY[0, 250]::float8[]) mon;
SELECT count(*) AS cells,
       count(*) FILTER (WHERE (x).r = er AND (x).f = ef AND (x).m = em AND (x).code = er::text || ef || em
                          AND (x).segment = CASE
                              WHEN er = 5 AND ef >= 4 THEN 'Champions'
                              WHEN er IN (3, 4) AND ef >= 4 THEN 'Loyal Customers'
                              WHEN er >= 4 AND ef IN (2, 3) THEN 'Potential Loyalists'
                              WHEN er = 5 AND ef = 1 THEN 'New Customers'
                              WHEN er = 4 AND ef = 1 THEN 'Promising'
                              WHEN er = 3 AND ef = 3 THEN 'Need Attention'
                              WHEN er = 3 AND ef <= 2 THEN 'About to Sleep'
                              WHEN er <= 2 AND ef = 5 THEN 'Can''t Lose'
                              WHEN er <= 2 AND ef IN (3, 4) THEN 'At Risk'
                              WHEN er <= 2 AND ef <= 2 THEN 'Hibernating' END) AS as_expected,
       count(DISTINCT (er, ef)) AS rf_cells
FROM (SELECT lead_scoring.rfm(rec, freq, mon, b) AS x,
             5 - (SELECT count(*) FROM jsonb_array_elements_text(b -> 'recency') c WHERE rec > c::float8) AS er,
             1 + (SELECT count(*) FROM jsonb_array_elements_text(b -> 'frequency') c WHERE freq > c::float8) AS ef,
             1 + (SELECT count(*) FROM jsonb_array_elements_text(b -> 'monetary') c WHERE mon > c::float8) AS em
      FROM grid, br) y;
SELECT * FROM lead_scoring.rfm(10, 5, 400.5, (SELECT b FROM br));
SELECT * FROM lead_scoring.rfm(41, 6, 0, (SELECT b FROM br));

-- Breaks that change from row to row are honoured (the per-call-site cache is keyed by value).
SELECT string_agg((lead_scoring.rfm(5, 5, 5, b)).code, ' ' ORDER BY i) AS codes
FROM (SELECT i, CASE WHEN i % 2 = 0 THEN '{"bins": 3, "recency": [1, 2], "frequency": [1, 2], "monetary": [1, 2]}'
                     ELSE '{"bins": 3, "recency": [10, 20], "frequency": [10, 20], "monetary": [10, 20]}' END::jsonb AS b
      FROM generate_series(1, 6) i) x;

-- One query: breaks from the whole table, then every row scored (scalar subquery).
SELECT count(*) AS leads, count(*) FILTER (WHERE (x).code IS NOT NULL) AS scored,
       count(DISTINCT (x).segment) > 3 AS several_segments
FROM (SELECT lead_scoring.rfm(r, f, m, (SELECT lead_scoring.rfm_breaks(r, f, m) FROM d WHERE grp = 'random')) AS x
      FROM d WHERE grp = 'random') y;

-- Other bin counts: no default segment map.
SELECT * FROM lead_scoring.rfm(5, 5, 5, '{"bins": 3, "recency": [1, 2], "frequency": [1, 2], "monetary": [10, 20]}');
-- A dimension without data (null): no scores.
SELECT * FROM lead_scoring.rfm(5, 5, 5, '{"bins": 3, "recency": [1, 2], "frequency": [1, 2], "monetary": null}');

-- A custom map from the model's rfm.segments (name and spec forms agree).
INSERT INTO lead_scoring.model(name, spec) VALUES
  ('rfm_rfm3', '{"rfm": {"bins": 3, "segments": [{"segment": "best", "r": 3, "f": [2, 3]},
                                             {"segment": "big spender", "m": 3}, {"segment": "rest"}]}}'),
  ('rfm_plain', '{}');
CREATE TEMP TABLE b3 AS SELECT '{"bins": 3, "recency": [7, 30], "frequency": [1, 4], "monetary": [50, 500]}'::jsonb AS b;
SELECT rec, freq, mon, (x).code, (x).segment,
       x = lead_scoring.rfm(rec, freq, mon, b, (SELECT spec FROM lead_scoring.model WHERE name = 'rfm_rfm3')) AS same_by_spec
FROM b3, (VALUES (1, 2, 0), (8, 4, 501), (100, 0, 0), (7, 5, 50)) v(rec, freq, mon),
     LATERAL (SELECT lead_scoring.rfm(rec, freq, mon, b, 'rfm_rfm3') AS x) y
ORDER BY rec;
-- A model without rfm.segments: the default map (b = 5).
SELECT (lead_scoring.rfm(10, 6, 0, b, 'rfm_plain')).segment FROM br;

-- Errors
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, b, 'rfm_rfm3') FROM br$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '[1, 2]')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"recency": [1,2,3,4], "frequency": [1,2,3,4], "monetary": [1,2,3,4]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 1, "recency": [], "frequency": [], "monetary": []}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 2.5, "recency": [1], "frequency": [1], "monetary": [1]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": "5", "recency": [1], "frequency": [1], "monetary": [1]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 2, "recency": [1], "frequency": [1]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 3, "recency": [1], "frequency": [1, 2], "monetary": [1, 2]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 3, "recency": [1, "2"], "frequency": [1, 2], "monetary": [1, 2]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 3, "recency": [1, 2], "frequency": [3, 2], "monetary": [1, 2]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 3, "recency": {"a": 1}, "frequency": [1, 2], "monetary": [1, 2]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 2, "recency": [1], "frequency": [1], "monetary": [1], "extra": 0}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm('NaN', 1, 1, '{"bins": 2, "recency": [1], "frequency": [1], "monetary": [1]}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 2, "recency": [1], "frequency": [1], "monetary": [1]}', 'nope')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm(1, 1, 1, '{"bins": 2, "recency": [1], "frequency": [1], "monetary": [1]}', '{"rfm": {"segments": [{"segment": "x", "r": 9}]}}'::jsonb)$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm_breaks(r, f, m, 1) FROM d$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm_breaks(r, f, m, 101) FROM d$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm_breaks(r, f, m, NULL) FROM d$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm_breaks(r, f, m, CASE WHEN r > 100 THEN 4 ELSE 5 END) FROM d$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm_breaks('NaN', 1, 1)$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.rfm_breaks(1, 1, '-Infinity')$q$);
-- Garbage given to the deserializer: ERROR XX001, never a crash.
CREATE FUNCTION pg_temp.rfm_deserial(bytea, bigint) RETURNS bigint
    AS '$libdir/lead_scoring', 'ls_rfm_breaks_deserial' LANGUAGE C STRICT;
SELECT pg_temp.err($q$SELECT pg_temp.rfm_deserial('\x00'::bytea, 0)$q$);
SELECT pg_temp.err($q$SELECT pg_temp.rfm_deserial('\x4d52534c05000000010000000000000000000000000000000000000000000000'::bytea, 0)$q$);
SELECT pg_temp.err($q$SELECT pg_temp.rfm_deserial('\x4d52534c0500000001000000000000000000000000000000000000000000000000000000000000f07f'::bytea, 0)$q$);
SELECT pg_temp.err($q$SELECT pg_temp.rfm_deserial('\x4d52534cff00000000000000000000000000000000000000000000000000000000'::bytea, 0)$q$);
