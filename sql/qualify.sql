-- Qualification (doc/qualify.md): score, grade, stage, disqualified,
-- engagement_rating, event_flags. Every expectation is computed by hand from
-- the formulas and written in the test; the output is mostly "t".
\set VERBOSITY terse
SET client_min_messages = warning;
SET jit = off;  -- JIT compilation would only slow these small queries down
\i sql/include/lib.sql

INSERT INTO lead_scoring.model(name, spec) VALUES ('qual', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 30}]},
  "activity": {"events": {"page_view": {"points": 1}, "demo_request": {"points": 20}}, "window": "90 days"},
  "disqualify": {"rules": [{"field": "email", "matches": "@competitor\\.com$"}, {"field": "status", "eq": "invalid"}],
                 "events": ["complaint", "bounce"]},
  "weights": {"fit": 0.5, "activity": 2},
  "score": {"min": 0, "max": 100},
  "grades": [{"grade": "A", "min_fit": 75}, {"grade": "B", "min_fit": 50}, {"grade": "C", "min_fit": 25}],
  "stages": [{"stage": "SQL", "min_score": 80, "event": "demo_request"},
             {"stage": "MQL3", "min_score": 60},
             {"stage": "MQL2", "min_score": 30, "min_activity": 5},
             {"stage": "MQL1", "min_fit": 40},
             {"stage": "webinar", "event": "webinar"}],
  "default_stage": "cold"
}');
INSERT INTO lead_scoring.model(name, spec) VALUES ('qual2', '{}');
-- The same spec, to check the IMMUTABLE spec form against the name form.
CREATE TEMP TABLE spec AS SELECT spec AS s FROM lead_scoring.model WHERE name = 'qual';

-- score = clamp(0.5 F + 2 A, 0, 100)
SELECT lead_scoring.score('qual', 40, 10) = 40 AS weighted,
       lead_scoring.score('qual', 100, 100) = 100 AS clamped_max,
       lead_scoring.score('qual', -100, 0) = 0 AS clamped_min,
       lead_scoring.score('{}'::jsonb, 12.5, -3) = 9.5 AS defaults,
       lead_scoring.score('qual', NULL, 1) IS NULL AS strict;

-- grade: first entry with min_fit <= F
SELECT lead_scoring.grade('qual', 75) = 'A' AS exactly_at_a,
       lead_scoring.grade('qual', 74.999) = 'B' AS just_below_a,
       lead_scoring.grade('qual', 25) = 'C' AS exactly_at_c,
       lead_scoring.grade('qual', 24.9) IS NULL AS no_grade,
       lead_scoring.grade('{}'::jsonb, 1e9) IS NULL AS no_grades;

-- stage: ordered first match, all given conditions
SELECT lead_scoring.stage('qual', 80, 0, 0, '{demo_request}') = 'SQL' AS score_exactly_80_with_event,
       lead_scoring.stage('qual', 80, 0, 0) = 'MQL3' AS without_event,
       lead_scoring.stage('qual', 79.99, 0, 0, '{demo_request}') = 'MQL3' AS below_80,
       lead_scoring.stage('qual', 30, 0, 5) = 'MQL2' AS score_and_activity,
       lead_scoring.stage('qual', 30, 0, 4.99) = 'cold' AS activity_short,
       lead_scoring.stage('qual', 30, 40, 4.99) = 'MQL1' AS fit_exactly_40,
       lead_scoring.stage('qual', 0, 0, 0, '{webinar}') = 'webinar' AS event_only_rule,
       lead_scoring.stage('qual', 0, 0, 0, '{page_view,NULL,other}') = 'cold' AS default_stage,
       lead_scoring.stage('qual', 0, 0, 0, NULL) = 'cold' AS null_events_are_none,
       lead_scoring.stage('qual', NULL, 0, 0) IS NULL AS null_score,
       lead_scoring.stage('{}'::jsonb, 1, 1, 1) = 'new' AS default_default_stage;
-- a disqualifying event makes the stage 'disqualified'; attributes overload
SELECT lead_scoring.stage('qual', 99, 99, 99, '{demo_request,complaint}') = 'disqualified' AS by_event,
       lead_scoring.stage('qual', 99, 99, 99, '{demo_request}', '{"email": "Ann@Competitor.com"}') = 'disqualified' AS by_rule,
       lead_scoring.stage('qual', 99, 99, 99, '{demo_request}', '{"email": "ann@example.com"}') = 'SQL' AS not_disqualified,
       lead_scoring.stage('qual', 99, 99, 99, NULL, '{"status": "INVALID"}') = 'disqualified' AS rule_without_events;

-- disqualified
SELECT lead_scoring.disqualified('qual', '{"email": "bob@competitor.com"}') AS competitor,
       lead_scoring.disqualified('qual', '{"status": "invalid"}') AS invalid,
       NOT lead_scoring.disqualified('qual', '{"email": "bob@example.com", "status": "ok"}') AS clean,
       lead_scoring.disqualified('qual', '{}', '{bounce}') AS bounce,
       NOT lead_scoring.disqualified('qual', '{}', '{demo_request, page_view}') AS other_events,
       NOT lead_scoring.disqualified('qual', '{}', NULL) AS null_events,
       lead_scoring.disqualified('qual', NULL) IS NULL AS null_attributes;

-- name form and spec form agree on a grid of inputs
SELECT count(*) AS cases,
       count(*) FILTER (WHERE lead_scoring.score('qual', f, a) = lead_scoring.score(s, f, a)
                          AND lead_scoring.grade('qual', f) IS NOT DISTINCT FROM lead_scoring.grade(s, f)
                          AND lead_scoring.stage('qual', f + a, f, a, ev) = lead_scoring.stage(s, f + a, f, a, ev)
                          AND lead_scoring.disqualified('qual', '{}', ev) = lead_scoring.disqualified(s, '{}', ev)) AS same
FROM spec, generate_series(0, 100, 10) f, generate_series(0, 20, 5) a,
     unnest(ARRAY['{}', '{demo_request}', '{complaint}', '{webinar,page_view}']::text[]) evs,
     LATERAL (SELECT evs::text[] AS ev) e;

-- engagement_rating: ratio thresholds, inactivity, errors
SELECT lead_scoring.engagement_rating(5, 4, '2026-01-10+00', '2026-01-20+00') = 5 AS ratio_exactly_08,
       lead_scoring.engagement_rating(1000000, 799999, '2026-01-10+00', '2026-01-20+00') = 4 AS just_below_08,
       lead_scoring.engagement_rating(5, 3, '2026-01-10+00', '2026-01-20+00') = 4 AS ratio_06,
       lead_scoring.engagement_rating(5, 2, '2026-01-10+00', '2026-01-20+00') = 3 AS ratio_04,
       lead_scoring.engagement_rating(5, 1, '2026-01-10+00', '2026-01-20+00') = 2 AS ratio_02,
       lead_scoring.engagement_rating(100, 19, '2026-01-10+00', '2026-01-20+00') = 1 AS ratio_019,
       lead_scoring.engagement_rating(10, 0, NULL, '2026-01-20+00') = 0 AS never_opened;
-- 2026-01-01 + 60 days = 2026-03-02 (31 + 28 + 1 days)
SELECT lead_scoring.engagement_rating(5, 5, '2026-01-01+00', '2026-03-02+00') = 5 AS exactly_60_days,
       lead_scoring.engagement_rating(5, 5, '2026-01-01+00', '2026-03-02 00:00:00.000001+00') = 0 AS one_microsecond_more,
       lead_scoring.engagement_rating(5, 5, '2026-01-01+00', '2026-01-31+00', '30 days') = 5 AS custom_exactly,
       lead_scoring.engagement_rating(5, 5, '2026-01-01+00', '2026-01-31 00:00:01+00', '30 days') = 0 AS custom_past,
       lead_scoring.engagement_rating(5, 5, '2026-01-01+00', '2026-03-01+00', '2 months') = 5 AS months_are_30_days,
       lead_scoring.engagement_rating(5, 5, '2026-01-01+00', '2026-03-03+00', '2 months') = 0 AS months_past,
       lead_scoring.engagement_rating(5, 5, '2026-02-01+00', '2026-01-01+00') = 5 AS open_after_as_of,
       lead_scoring.engagement_rating(5, 5, '-infinity', '2026-01-01+00') = 0 AS open_at_minus_infinity,
       lead_scoring.engagement_rating(5, 2, NULL, '2026-01-01+00') IS NULL AS opened_but_unknown_last_open,
       lead_scoring.engagement_rating(NULL, 2, '2026-01-01+00', '2026-01-01+00') IS NULL AS null_sent;
SELECT pg_temp.err($q$SELECT lead_scoring.engagement_rating(0, 0, NULL, '2026-01-01+00')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.engagement_rating(-3, 0, NULL, '2026-01-01+00')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.engagement_rating(5, -1, NULL, '2026-01-01+00')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.engagement_rating(5, 6, '2026-01-01+00', '2026-01-01+00')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.engagement_rating(5, 1, '2026-01-01+00', '2026-01-01+00', '-1 day')$q$);

-- event_flags: counted events (age >= 0, age <= 90 days) of the types stages
-- and disqualify.events name, sorted
CREATE TEMP TABLE ev(lead int, t text, at timestamptz);
INSERT INTO ev VALUES
  (1, 'demo_request', '2026-03-01+00'), (1, 'page_view', '2026-03-01+00'), (1, 'webinar', '2026-02-01+00'),
  (2, 'complaint', '2026-04-02+00'),              -- in the future: not counted
  (2, 'demo_request', '2025-12-01+00'),           -- 121 days old: outside the window
  (2, 'bounce', '2026-01-01+00'),                 -- exactly 90 days: counted
  (3, NULL, '2026-03-01+00'), (3, 'webinar', NULL),
  (4, 'webinar', '2026-03-31+00'), (4, 'webinar', '2026-03-30+00'), (4, 'complaint', '2026-04-01+00');
SELECT lead, lead_scoring.event_flags('qual', t, at, '2026-04-01+00') AS flags,
       lead_scoring.event_flags('qual', t, at, '2026-04-01+00') = lead_scoring.event_flags(s, t, at, '2026-04-01+00') AS same_by_spec
FROM ev, spec GROUP BY lead ORDER BY lead;
SELECT lead_scoring.event_flags('qual', t, at, '2026-04-01+00') = '{}' AS no_rows_is_empty FROM ev WHERE false;
-- whole table in one query: stage from the flags
SELECT lead, lead_scoring.stage('qual', 90, 0, 0, lead_scoring.event_flags('qual', t, at, '2026-04-01+00')) AS stage
FROM ev GROUP BY lead ORDER BY lead;
-- errors
SELECT pg_temp.err($q$SELECT lead_scoring.event_flags('qual', t, at, CASE WHEN lead = 1 THEN '2026-04-01+00' ELSE '2026-04-02+00' END::timestamptz) FROM ev$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.event_flags(CASE WHEN lead = 1 THEN 'qual' ELSE 'qual2' END, t, at, '2026-04-01+00') FROM ev$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.event_flags(NULL::text, t, at, '2026-04-01+00') FROM ev$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.event_flags('qual', t, at, NULL) FROM ev$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.stage('nope', 1, 1, 1)$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.grade('{"grades": [{"grade": "A"}]}'::jsonb, 1)$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.disqualified('qual', '[1, 2]')$q$);
-- garbage given to the deserializer: ERROR, never a crash
CREATE FUNCTION pg_temp.ef_deserial(bytea, bigint) RETURNS bigint
    AS '$libdir/lead_scoring', 'ls_event_flags_deserial' LANGUAGE C STRICT;
SELECT pg_temp.err($q$SELECT pg_temp.ef_deserial('\x00'::bytea, 0)$q$);
SELECT pg_temp.err($q$SELECT pg_temp.ef_deserial('\x4645534c000000000000000000000000000000000000000005000000'::bytea, 0)$q$);
SELECT pg_temp.err($q$SELECT pg_temp.ef_deserial('\x4645534c0000000000000000000000000000000000000000010000000900000061'::bytea, 0)$q$);
