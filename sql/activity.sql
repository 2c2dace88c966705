-- Activity scoring with decay (doc/activity.md). Every expected value is worked
-- out by hand in a comment or recomputed with plain SQL from the formula of doc/activity.md.
SET extra_float_digits = 0;
\set as_of '''2024-03-01 00:00:00+00'''

-- A one-event score: an event of `tp` that is `age` old under `spec`.
CREATE FUNCTION pg_temp.one(spec jsonb, tp text, age interval) RETURNS float8
    LANGUAGE sql AS $$
    SELECT lead_scoring.activity_score(spec, tp, timestamptz '2024-03-01 00:00:00+00' - age,
                                       timestamptz '2024-03-01 00:00:00+00')
$$;

--------------------------------------------------------------------- decay()
-- 10 · 2^(-age/hl): 30 days old with a 30-day half-life = 5; 60 days = 2.5; 0 days = 10.
SELECT lead_scoring.decay(10, '2024-01-31 00:00+00', :as_of, '30 days') AS five,
       lead_scoring.decay(10, '2024-01-01 00:00+00', :as_of, '30 days') AS two_and_a_half,
       lead_scoring.decay(10, :as_of, :as_of, '30 days') AS ten;
-- A future event and infinite timestamps give 0.
SELECT lead_scoring.decay(10, '2024-03-02 00:00+00', :as_of, '30 days') AS future,
       lead_scoring.decay(10, '-infinity', :as_of, '30 days') AS minus_inf,
       lead_scoring.decay(10, '2024-01-01 00:00+00', 'infinity', '30 days') AS as_of_inf;
-- Months and years count as extract(epoch from interval) does: 1 mon = 30 days,
-- 1 year = 365.25 days; compared with the formula in plain SQL.
SELECT bool_and(abs(lead_scoring.decay(7, t, :as_of, hl)
                    - 7 * 2 ^ (-extract(epoch FROM timestamptz :as_of - t)::float8 / extract(epoch FROM hl)::float8))
                <= 1e-12 * 7) AS matches_formula
FROM (VALUES (timestamptz '2023-03-01 00:00+00', interval '1 year'), ('2024-01-01 00:00+00', '1 mon'),
             ('2023-11-11 11:11:11.5+00', '1 year 2 mons 3 days 04:05:06.7'), ('2024-02-29 23:00+00', '90 minutes'))
     AS v(t, hl);
SELECT lead_scoring.decay(10, '2024-01-01 00:00+00', :as_of, '0 days');
SELECT lead_scoring.decay(10, '2024-01-01 00:00+00', :as_of, '-1 day');
SELECT lead_scoring.decay(10, '2024-01-01 00:00+00', :as_of, '1 mon -30 days');
SELECT lead_scoring.decay(NULL, '2024-01-01 00:00+00', :as_of, '1 day') IS NULL AS strict;

--------------------------------------------------------- each decay kind
-- points 8. exponential hl 10d: age 0 → 8, 10d → 4, 20d → 2, 30d → 1.
-- linear lifetime 10d: 0 → 8, 5d → 4, 10d → 0 (1 - 1), 20d → 0 (max(0, -1)).
-- step expire_after 10d: 0 → 8, 9d 23:59:59 → 8, 10d → 0 (not age < 10d), 20d → 0.
-- none: 8 at any age.
SELECT kind, age, pg_temp.one(spec, 'visit', age) AS got, expected,
       pg_temp.one(spec, 'visit', age) = expected AS ok
FROM (VALUES
  ('exponential', '{"kind": "exponential", "half_life": "10 days"}', interval '0', 8.0::float8),
  ('exponential', '{"kind": "exponential", "half_life": "10 days"}', '10 days', 4),
  ('exponential', '{"kind": "exponential", "half_life": "10 days"}', '20 days', 2),
  ('exponential', '{"kind": "exponential", "half_life": "10 days"}', '30 days', 1),
  ('linear', '{"kind": "linear", "lifetime": "10 days"}', '0', 8),
  ('linear', '{"kind": "linear", "lifetime": "10 days"}', '5 days', 4),
  ('linear', '{"kind": "linear", "lifetime": "10 days"}', '10 days', 0),
  ('linear', '{"kind": "linear", "lifetime": "10 days"}', '20 days', 0),
  ('step', '{"kind": "step", "expire_after": "10 days"}', '0', 8),
  ('step', '{"kind": "step", "expire_after": "10 days"}', '9 days 23:59:59', 8),
  ('step', '{"kind": "step", "expire_after": "10 days"}', '10 days', 0),
  ('step', '{"kind": "step", "expire_after": "10 days"}', '20 days', 0),
  ('none', '{"kind": "none"}', '0', 8),
  ('none', '{"kind": "none"}', '3650 days', 8)
) AS c(kind, decay, age, expected),
LATERAL (SELECT jsonb_build_object('activity', jsonb_build_object(
           'events', '{"visit": {"points": 8}}'::jsonb, 'decay', c.decay::jsonb)) AS spec) s
ORDER BY kind, age;
-- No decay key means none; a model without an activity section scores 0.
SELECT pg_temp.one('{"fit": {"rules": []}}', 'visit', '1 day') AS zero;
SELECT pg_temp.one('{"activity": {"events": {"visit": {"points": 8}}}}', 'visit', '1000 days') AS eight;

-------------------------------------------- caps, "*", window, clamps
CREATE TEMP TABLE ev(lead int, tp text, t timestamptz);
INSERT INTO ev VALUES
  -- lead 1: three demo (10 each, cap 15 → 15), two unsubscribe (-10 each, cap 15 → -15),
  --         one webinar (uncapped 4), two other types ("*" = 1 each → 2). Total 15 - 15 + 4 + 2 = 6.
  (1, 'demo', '2024-02-01 00:00+00'), (1, 'demo', '2024-02-02 00:00+00'), (1, 'demo', '2024-02-03 00:00+00'),
  (1, 'unsubscribe', '2024-02-01 00:00+00'), (1, 'unsubscribe', '2024-02-05 00:00+00'),
  (1, 'webinar', '2024-02-10 00:00+00'), (1, 'page_view', '2024-02-10 00:00+00'), (1, 'download', '2024-02-11 00:00+00'),
  -- lead 2: one unsubscribe (-10, inside the cap) and one demo (10): 0; plus ignored rows: a
  --         future demo, a NULL type, a NULL time, an event at -infinity.
  (2, 'unsubscribe', '2024-02-01 00:00+00'), (2, 'demo', '2024-02-01 00:00+00'), (2, 'demo', '2024-03-05 00:00+00'),
  (2, NULL, '2024-02-01 00:00+00'), (2, 'demo', NULL), (2, 'demo', '-infinity'), (2, 'demo', 'infinity'),
  -- lead 3: window 60 days: exactly 60 days old counts (10), 60 days + 1 s does not. Total 10.
  (3, 'demo', '2024-01-01 00:00+00'), (3, 'webinar', '2023-12-31 23:59:59+00'),
  -- lead 4: only ignored events (future, NULL): 0.
  (4, 'demo', '2024-04-01 00:00+00'), (4, NULL, NULL),
  -- lead 5: many webinars: 12 · 4 = 48 (uncapped).
  (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00'),
  (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00'),
  (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00'),
  (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00'), (5, 'webinar', '2024-02-01 00:00+00');
\set spec '''{"activity": {"events": {"demo": {"points": 10, "cap": 15}, "unsubscribe": {"points": -10, "cap": 15}, "webinar": {"points": 4}, "*": {"points": 1}}, "window": "60 days"}}'''
SELECT lead, lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) AS got,
       CASE lead WHEN 1 THEN 6 WHEN 2 THEN 0 WHEN 3 THEN 10 WHEN 4 THEN 0 WHEN 5 THEN 48 END AS expected
FROM ev GROUP BY lead ORDER BY lead;

-- Clamps: min -5, max 20 (lead 5: 48 → 20). With min 3, a lead with only ignored
-- events (lead 4) gets 3, and lead 2 (0) gets 3 too.
\set clamped '''{"activity": {"events": {"demo": {"points": 10, "cap": 15}, "unsubscribe": {"points": -10, "cap": 15}, "webinar": {"points": 4}, "*": {"points": 1}}, "window": "60 days", "min": 3, "max": 20}}'''
SELECT lead, lead_scoring.activity_score(:clamped::jsonb, tp, t, :as_of) AS got,
       CASE lead WHEN 1 THEN 6 WHEN 2 THEN 3 WHEN 3 THEN 10 WHEN 4 THEN 3 WHEN 5 THEN 20 END AS expected
FROM ev GROUP BY lead ORDER BY lead;
-- Negative totals clamp at min: -10 → -5.
SELECT pg_temp.one('{"activity": {"events": {"bounce": {"points": -10}}, "min": -5}}', 'bounce', '1 day') AS minus_five;

-- A LEFT JOIN with no events: the group's only row has NULL type and time → 0 (clamped: 3).
SELECT l.id, lead_scoring.activity_score(:clamped::jsonb, e.tp, e.t, :as_of)
FROM (VALUES (4), (99)) AS l(id) LEFT JOIN ev e ON e.lead = l.id GROUP BY l.id ORDER BY l.id;
-- No rows at all: NULL, like sum().
SELECT lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) IS NULL AS no_rows FROM ev WHERE false;

-- Types only named in disqualify.events or stages: their points are "*" points, else 0.
SELECT lead_scoring.activity_score('{"activity": {"events": {"*": {"points": 2}}}, "disqualify": {"events": ["complaint"]},
                                     "stages": [{"stage": "SQL", "event": "demo"}]}'::jsonb, tp, t, :as_of) AS four,
       lead_scoring.activity_score('{"disqualify": {"events": ["complaint"]},
                                     "stages": [{"stage": "SQL", "event": "demo"}]}'::jsonb, tp, t, :as_of) AS zero
FROM (VALUES ('complaint', timestamptz '2024-02-01 00:00+00'), ('demo', '2024-02-01 00:00+00')) AS v(tp, t);

--------------------------------------------------------- breakdown
-- Lead 1 by hand: demo count 3 raw 30 capped 15; unsubscribe 2, -20, -15; webinar 1, 4, 4;
-- page_view and download (wildcard, listed by name) 1, 1, 1 each; total 6.
SELECT lead_scoring.activity_breakdown(:spec::jsonb, tp, t, :as_of) FROM ev WHERE lead = 1;
-- Lead 2: the ignored rows are not counted.
SELECT lead_scoring.activity_breakdown(:spec::jsonb, tp, t, :as_of) FROM ev WHERE lead = 2;
-- Only ignored events: no types, total 0 (clamped: 3).
SELECT lead_scoring.activity_breakdown(:clamped::jsonb, tp, t, :as_of) FROM ev WHERE lead = 4;
-- Types named only in disqualify/stages are listed with their count.
SELECT lead_scoring.activity_breakdown('{"disqualify": {"events": ["complaint"]}}'::jsonb, 'complaint',
                                       '2024-02-01 00:00+00', :as_of);

------------------------------------------------------------- errors
-- model and as_of must be the same on every row of a group; NULL model/as_of.
SELECT lead_scoring.activity_score(m::jsonb, 'demo', '2024-02-01 00:00+00', :as_of)
FROM (VALUES ('{"activity": {"events": {"demo": {"points": 1}}}}'), ('{"activity": {"events": {"demo": {"points": 2}}}}')) AS v(m);
SELECT lead_scoring.activity_score(:spec::jsonb, 'demo', '2024-02-01 00:00+00', a)
FROM (VALUES (timestamptz '2024-03-01 00:00+00'), ('2024-03-02 00:00+00')) AS v(a);
SELECT lead_scoring.activity_breakdown(:spec::jsonb, 'demo', '2024-02-01 00:00+00', a)
FROM (VALUES (timestamptz '2024-03-01 00:00+00'), ('2024-03-02 00:00+00')) AS v(a);
SELECT lead_scoring.activity_score(NULL::jsonb, 'demo', '2024-02-01 00:00+00', :as_of);
SELECT lead_scoring.activity_score(:spec::jsonb, 'demo', '2024-02-01 00:00+00', NULL);
SELECT lead_scoring.activity_score('no_such_model', 'demo', '2024-02-01 00:00+00', :as_of);
SELECT lead_scoring.activity_score('{"activity": {"decay": {"kind": "fast"}}}'::jsonb, 'demo', '2024-02-01 00:00+00', :as_of);
-- The same spec on every row, as a column (not a constant): fine.
SELECT lead_scoring.activity_score(m::jsonb, 'demo', '2024-02-01 00:00+00', :as_of) AS two
FROM (VALUES ('{"activity": {"events": {"demo": {"points": 1}}}}'), ('{"activity": {"events": {"demo": {"points": 1}}}}')) AS v(m);

-- A prepared statement with a generic plan (model and as_of are extern Params):
-- lead 1 = 6, lead 3 = 10 as above.
PREPARE act_p(jsonb, timestamptz) AS
  SELECT lead, lead_scoring.activity_score($1, tp, t, $2) FROM ev WHERE lead IN (1, 3) GROUP BY lead ORDER BY lead;
SET plan_cache_mode = force_generic_plan;
EXECUTE act_p(:spec, :as_of);
EXECUTE act_p(:spec, :as_of);
RESET plan_cache_mode;
DEALLOCATE act_p;

-- Garbage serialized states are rejected (XX001), never trusted. The deserialize
-- function is reached through a test-only declaration that needs no internal argument.
CREATE FUNCTION pg_temp.deser(bytea, int) RETURNS void
    AS '$libdir/lead_scoring', 'ls_activity_deserialize' LANGUAGE C STRICT;
\set VERBOSITY sqlstate
SELECT pg_temp.deser('\x', 0);
SELECT pg_temp.deser('\x0102030405060708', 0);
-- A well-formed state with one uncapped slot ("LSA2", flags, n = 1, fingerprint,
-- as_of, min, max, cap = +inf, one accumulator)...
SELECT pg_temp.deser(('\x3241534c' || '00000000' || '01000000' || repeat('00', 8 * 4) || '000000000000f07f'
                      || repeat('00', 8))::bytea, 0) IS NOT NULL AS well_formed;
-- ...a capped slot (cap 0) has its own accumulator besides the shared one...
SELECT pg_temp.deser(('\x3241534c' || '00000000' || '01000000' || repeat('00', 8 * 7))::bytea, 0) IS NOT NULL AS capped;
SELECT pg_temp.deser(('\x3241534c' || '00000000' || '01000000' || repeat('00', 8 * 6))::bytea, 0);
-- ...and any truncation, trailing byte, bad count, flag or version is an error.
SELECT pg_temp.deser(('\x3241534c' || '00000000' || '01000000' || repeat('00', 8 * 7 - 1))::bytea, 0);
SELECT pg_temp.deser(('\x3241534c' || '00000000' || '01000000' || repeat('00', 8 * 7 + 1))::bytea, 0);
SELECT pg_temp.deser(('\x3241534c' || '00000000' || 'ffffff7f' || repeat('00', 8 * 7))::bytea, 0);
SELECT pg_temp.deser(('\x3241534c' || '07000000' || '01000000' || repeat('00', 8 * 7))::bytea, 0);
SELECT pg_temp.deser(('\x3141534c' || '00000000' || '01000000' || repeat('00', 8 * 7))::bytea, 0);
-- A breakdown state (two capped slots: caps, 3 accumulators, raw, counts, one
-- slot name, no wildcard types): well formed with an empty name, an error when
-- the name's length runs past the end.
SELECT pg_temp.deser(('\x3241534c' || '01000000' || '02000000' || repeat('00', 8 * 4 + 8 * 2 + 8 * 3 + 8 * 2 * 2)
                      || '00000000' || '00000000')::bytea, 0) IS NOT NULL AS breakdown_well_formed;
SELECT pg_temp.deser(('\x3241534c' || '01000000' || '02000000' || repeat('00', 8 * 4 + 8 * 2 + 8 * 3 + 8 * 2 * 2)
                      || 'ffffffff')::bytea, 0);
\set VERBOSITY default

---------------------------------------------- name form = spec form
INSERT INTO lead_scoring.model(name, spec) VALUES ('act', :spec::jsonb);
SELECT lead, lead_scoring.activity_score('act', tp, t, :as_of) AS by_name,
       lead_scoring.activity_score(:spec::jsonb, tp, t, :as_of) AS by_spec,
       lead_scoring.activity_breakdown('act', tp, t, :as_of)
         = lead_scoring.activity_breakdown(:spec::jsonb, tp, t, :as_of) AS same_breakdown
FROM ev GROUP BY lead ORDER BY lead;
-- Edited in this session: the next statement sees the new points (demo 10 → 1, cap 15:
-- lead 1 = 3 - 15 + 4 + 2 = -6, lead 3 = 1).
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{activity,events,demo,points}', '1') WHERE name = 'act';
SELECT lead, lead_scoring.activity_score('act', tp, t, :as_of) FROM ev WHERE lead IN (1, 3) GROUP BY lead ORDER BY lead;

------------------------------- against plain SQL, serial and parallel
-- 50,000 events over 500 leads; types and times from a hash of the row number.
CREATE TABLE act_events(lead_id int, event_type text, occurred_at timestamptz);
\i sql/include/lib.sql
INSERT INTO act_events SELECT lead_id, event_type, occurred_at FROM pg_temp.hashed_events(50000, 500);
ANALYZE act_events;
\set big '''{"activity": {"events": {"demo": {"points": 10, "cap": 25}, "unsubscribe": {"points": -7, "cap": 12}, "webinar": {"points": 4}, "*": {"points": 0.5}}, "decay": {"kind": "exponential", "half_life": "30 days"}, "window": "80 days", "min": -10, "max": 60}}'''
-- The formula of doc/activity.md in plain SQL: per type sums of points · 2^(-age/hl) for
-- 0 ≤ age ≤ window, capped, summed, clamped. Other types share the uncapped "*" group.
CREATE TEMP TABLE expected AS
WITH e AS (
  SELECT lead_id, CASE WHEN event_type IN ('demo', 'unsubscribe', 'webinar') THEN event_type ELSE '*' END AS slot,
         extract(epoch FROM timestamptz '2024-03-01 00:00+00' - occurred_at)::float8 AS age
  FROM act_events),
s AS (
  SELECT lead_id, slot, sum(CASE slot WHEN 'demo' THEN 10 WHEN 'unsubscribe' THEN -7 WHEN 'webinar' THEN 4 ELSE 0.5 END
                            * 2 ^ (-age / (30 * 86400.0))) AS st
  FROM e WHERE age >= 0 AND age <= 80 * 86400 GROUP BY lead_id, slot),
c AS (
  SELECT lead_id, sum(CASE slot WHEN 'demo' THEN greatest(-25, least(25, st))
                                WHEN 'unsubscribe' THEN greatest(-12, least(12, st)) ELSE st END) AS a
  FROM s GROUP BY lead_id)
SELECT l.lead_id, greatest(-10, least(60, coalesce(c.a, 0))) AS score
FROM (SELECT DISTINCT lead_id FROM act_events) l LEFT JOIN c USING (lead_id);

CREATE TEMP TABLE serial AS
SELECT lead_id, lead_scoring.activity_score(:big::jsonb, event_type, occurred_at, :as_of) AS score,
       lead_scoring.activity_breakdown(:big::jsonb, event_type, occurred_at, :as_of) AS bd
FROM act_events GROUP BY lead_id;
SELECT count(*) AS leads,
       bool_and(abs(s.score - x.score) <= 1e-9 * greatest(1, abs(x.score))) AS serial_matches_plain_sql
FROM serial s JOIN expected x USING (lead_id);
-- The breakdown's total is the score exactly (same summation); its capped
-- per-type points add up to it (wildcard types split by name: rounding only).
SELECT bool_and((bd->>'total')::float8 = score) AS total_is_score,
       bool_and(abs(greatest(-10, least(60, (SELECT sum((v->>'capped')::float8) FROM jsonb_each(bd->'types') AS j(k, v))))
                    - score) <= 1e-12 * greatest(1, abs(score))) AS capped_add_up
FROM serial;
-- A constant model and as_of take the fast path after the first row; from a
-- column they take the general one on every row. Same arithmetic: same bits.
CREATE TEMP TABLE act_args AS SELECT :big::jsonb AS spec, timestamptz :as_of AS as_of;
SELECT count(*) AS leads, bool_and(g.score = s.score) AS fast_is_general
FROM serial s
JOIN (SELECT lead_id, lead_scoring.activity_score(a.spec, event_type, occurred_at, a.as_of) AS score
      FROM act_events, act_args a GROUP BY lead_id) g USING (lead_id);
-- Rows the fast path leaves to the general one, in one group after a first
-- row: ±infinity (ignored), an age beyond int64 microseconds (298,699 years:
-- weight 1 without decay, 0 with), a NULL type and a future event (ignored).
-- By hand: no decay 4 · 2 = 8; half-life 1 day 2 + 2·2^-1 + 2·2^-3 + 0 = 3.25.
SELECT lead_scoring.activity_score('{"activity": {"events": {"visit": {"points": 2}}}}'::jsonb,
                                   tp, t, '294000-01-01 00:00+00') AS no_decay,
       lead_scoring.activity_score('{"activity": {"events": {"visit": {"points": 2}},
                                     "decay": {"kind": "exponential", "half_life": "1 day"}}}'::jsonb,
                                   tp, t, '294000-01-01 00:00+00') AS half_life_1_day
FROM (VALUES ('visit', timestamptz '294000-01-01 00:00+00'),
             ('visit', timestamptz '294000-01-01 00:00+00' - interval '1 day'),
             ('visit', timestamptz '294000-01-01 00:00+00' - interval '3 days'),
             ('visit', timestamptz '4700-01-01 00:00+00 BC'),
             ('visit', timestamptz 'infinity'), ('visit', timestamptz '-infinity'),
             (NULL, timestamptz '294000-01-01 00:00+00'),
             ('visit', timestamptz '294000-01-01 00:00+00' + interval '1 day')) AS e(tp, t);
-- With integer points and no decay, the sum of the capped points is exact.
SELECT bool_and((SELECT sum((v->>'capped')::float8) FROM jsonb_each(bd->'types') AS j(k, v)) = score) AS exact
FROM (SELECT lead_id, lead_scoring.activity_score(:spec::jsonb, event_type, occurred_at, :as_of) AS score,
             lead_scoring.activity_breakdown(:spec::jsonb, event_type, occurred_at, :as_of) AS bd
      FROM act_events GROUP BY lead_id) q;

CREATE TEMP TABLE serial_total AS
SELECT lead_scoring.activity_score(:big::jsonb, event_type, occurred_at, :as_of) AS s FROM act_events;

-- plan_has (sql/include/lib.sql) scans EXPLAIN text, so the test survives
-- plan changes.
:force_parallel
ALTER TABLE act_events SET (parallel_workers = 2);
-- Partial states across workers are what this tests; the fused GROUP BY node
-- (fused.sql), cheaper still, would take the grouped queries.
SET lead_scoring.enable_fused_aggregate = off;
SELECT pg_temp.plan_has(format('SELECT lead_id, lead_scoring.activity_score(%L::jsonb, event_type, occurred_at, %L) FROM act_events GROUP BY lead_id', :spec, :as_of), 'Partial') AS grouped_partial,
       pg_temp.plan_has(format('SELECT lead_scoring.activity_breakdown(%L, event_type, occurred_at, %L) FROM act_events', 'act', :as_of), 'Partial Aggregate') AS ungrouped_partial;
SELECT count(*) AS leads,
       bool_and(abs(p.score - s.score) <= 1e-9 * greatest(1, abs(s.score))) AS parallel_matches_serial,
       bool_and(abs((p.bd->>'total')::float8 - s.score) <= 1e-9 * greatest(1, abs(s.score))) AS breakdown_total,
       bool_and((SELECT bool_and((p.bd->'types'->k->>'count') = (s.bd->'types'->k->>'count'))
                 FROM jsonb_object_keys(s.bd->'types') AS k)) AS same_counts
FROM (SELECT lead_id, lead_scoring.activity_score(:big::jsonb, event_type, occurred_at, :as_of) AS score,
             lead_scoring.activity_breakdown(:big::jsonb, event_type, occurred_at, :as_of) AS bd
      FROM act_events GROUP BY lead_id) p JOIN serial s USING (lead_id);
-- Ungrouped (one group of 50,000 rows split between workers), by name and by spec.
UPDATE lead_scoring.model SET spec = :big::jsonb WHERE name = 'act';
SELECT abs(p - s) <= 1e-9 * greatest(1, abs(s)) AS ungrouped_matches,
       abs(pn - s) <= 1e-9 * greatest(1, abs(s)) AS by_name_matches,
       abs((bd->>'total')::float8 - s) <= 1e-9 * greatest(1, abs(s)) AS breakdown_matches,
       (bd->'types'->'page_view'->>'count')::int = (SELECT count(*) FROM act_events WHERE event_type = 'page_view'
           AND occurred_at <= timestamptz :as_of AND occurred_at >= timestamptz :as_of - interval '80 days') AS wildcard_count
FROM (SELECT lead_scoring.activity_score(:big::jsonb, event_type, occurred_at, :as_of) AS p,
             lead_scoring.activity_score('act', event_type, occurred_at, :as_of) AS pn,
             lead_scoring.activity_breakdown('act', event_type, occurred_at, :as_of) AS bd
      FROM act_events) par,
     serial_total;
-- Workers see a differing as_of within one group too.
SELECT lead_scoring.activity_score(:big::jsonb, event_type, occurred_at,
                                   CASE WHEN lead_id = 250 THEN timestamptz '2024-03-02 00:00+00' ELSE :as_of END)
FROM act_events;
-- ...and a differing model (caught in a worker or when the leader combines).
\set VERBOSITY terse
SELECT lead_scoring.activity_score(CASE WHEN lead_id < 250 THEN :big::jsonb ELSE :spec::jsonb END,
                                   event_type, occurred_at, :as_of)
FROM act_events;
\set VERBOSITY default
-- Many wildcard types in one breakdown, through workers: counts per type equal
-- plain SQL's (the breakdown's own map grows past its first size).
SELECT bool_and((bd->'types'->tp->>'count')::bigint = n) AS wildcard_counts, count(*) AS types
FROM (SELECT lead_scoring.activity_breakdown('{"activity": {"events": {"*": {"points": 1}}}}'::jsonb,
                                             event_type || (lead_id % 20), occurred_at, :as_of) AS bd
      FROM act_events) b,
     (SELECT event_type || (lead_id % 20) AS tp, count(*) AS n FROM act_events
      WHERE occurred_at <= timestamptz :as_of GROUP BY 1) x;
RESET ALL;
DROP TABLE act_events;
DELETE FROM lead_scoring.model WHERE name = 'act';
