-- lead_scoring.refresh and float8 (doc/rank.md, "Precision"): scores never
-- become NaN or Infinity, a refresh never hangs on one, stored decayed sums are
-- rebuilt before their weights can overflow, and incremental equals full
-- exactly (EXCEPT ALL on the unrounded ranking).
SET client_min_messages = warning;
CREATE SCHEMA num;
CREATE TABLE num.leads (id int PRIMARY KEY, industry text);
CREATE TABLE num.events (id serial PRIMARY KEY, lead_id int, kind text, at timestamptz);
INSERT INTO num.leads SELECT g, CASE WHEN g % 3 = 0 THEN 'software' END FROM generate_series(1, 50) g;
INSERT INTO num.events (lead_id, kind, at)
SELECT 1 + (g * 7) % 50, (ARRAY['view', 'demo', 'mail'])[1 + g % 3],
       '2024-01-01 00:00+00'::timestamptz + g * interval '37 minutes'
FROM generate_series(1, 400) g;

-- 1. Points of 1e308 and -1e308 are each finite, but two events of a lead add
-- up to Infinity, and Infinity - Infinity is NaN (the ranking's tie loop used
-- to spin on it forever, deaf to cancel). Now: an error, the ranking unchanged.
INSERT INTO lead_scoring.model (name, spec) VALUES ('num_huge', '{
  "activity": {"events": {"view": {"points": 1e308}, "demo": {"points": -1e308}}},
  "source": {"leads": {"table": "num.leads", "id": "id"},
             "events": {"table": "num.events", "lead_id": "lead_id", "type": "kind", "time": "at"}}}');
SET statement_timeout = '60s';   -- a regression would fail here, not hang the suite
\set VERBOSITY sqlstate
SELECT lead_scoring.refresh('num_huge', '2024-02-01 00:00+00');
\set VERBOSITY default
SELECT lead_scoring.refresh('num_huge', '2024-02-01 00:00+00');
-- positive points only: several views of a lead add up to Infinity: an error too
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{activity,events}', '{"view": {"points": 1e308}}') WHERE name = 'num_huge';
\set VERBOSITY sqlstate
SELECT lead_scoring.refresh('num_huge', '2024-02-01 00:00+00');
\set VERBOSITY default
-- capped: the cap applies per type, the sums stay finite: a ranking
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{activity,events}', '{"view": {"points": 1e300, "cap": 5}, "demo": {"points": -1e300, "cap": 7}}') WHERE name = 'num_huge';
SELECT lead_scoring.refresh('num_huge', '2024-02-01 00:00+00');
SELECT count(*) AS leads, count(*) FILTER (WHERE score::text IN ('NaN', 'Infinity', '-Infinity')) AS non_finite,
       min(activity) AS min_activity, max(activity) AS max_activity
FROM lead_scoring.ranking_num_huge;
RESET statement_timeout;

-- 2. Exponential decay with a 1-hour half-life, refreshed incrementally for
-- 1,100 half-lives (45.8 days) without a full refresh: the old scheme weighted new
-- events at the last full refresh's time, 2^1100 = Infinity, times a rescale
-- factor of 2^-1100 = 0: NaN. Now the sums are rebuilt on a landmark every 64
-- half-lives: scores stay finite and equal a full refresh's, bit for bit.
INSERT INTO lead_scoring.model (name, spec) VALUES ('num_decay', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]},
  "activity": {"events": {"view": {"points": 1}, "demo": {"points": 25, "cap": 60}, "*": {"points": 0.5}},
               "decay": {"kind": "exponential", "half_life": "1 hour"}},
  "source": {"leads": {"table": "num.leads", "id": "id"},
             "events": {"table": "num.events", "lead_id": "lead_id", "type": "kind", "time": "at"}}}');
-- incremental == full: keep the ranking, refresh fully at the same as_of, compare
-- every column but refreshed_at, unrounded.
CREATE FUNCTION num.diff(model text, as_of timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('CREATE TEMP TABLE inc AS SELECT lead_id, score, fit, activity, grade, stage, disqualified, rank, '
                   'percentile, rfm_code, rfm_segment, as_of FROM lead_scoring.%I', 'ranking_' || model || '_ranked');
    PERFORM lead_scoring.refresh(model, as_of, true);
    EXECUTE format('SELECT count(*) FROM ((TABLE inc EXCEPT ALL SELECT lead_id, score, fit, activity, grade, stage, '
                   'disqualified, rank, percentile, rfm_code, rfm_segment, as_of FROM lead_scoring.%1$I) UNION ALL '
                   '(SELECT lead_id, score, fit, activity, grade, stage, disqualified, rank, percentile, rfm_code, '
                   'rfm_segment, as_of FROM lead_scoring.%1$I EXCEPT ALL TABLE inc)) d', 'ranking_' || model || '_ranked') INTO n;
    DROP TABLE inc;
    RETURN n;
END $$;
SELECT lead_scoring.refresh('num_decay', '2024-01-02 00:00+00', true);
-- events keep arriving; incremental refreshes every 10 hours, 1,100 hours in all
DO $$
DECLARE t timestamptz := '2024-01-02 00:00+00';
BEGIN
    FOR i IN 1..110 LOOP
        t := t + interval '10 hours';
        INSERT INTO num.events (lead_id, kind, at) VALUES (1 + i % 50, (ARRAY['view', 'demo', 'call'])[1 + i % 3], t - interval '1 hour');
        IF i % 7 = 0 THEN DELETE FROM num.events WHERE id = (SELECT min(id) FROM num.events WHERE lead_id = 1 + i % 50); END IF;
        IF i % 11 = 0 THEN UPDATE num.leads SET industry = 'software' WHERE id = i % 50 + 1; END IF;
        PERFORM lead_scoring.refresh('num_decay', t);
    END LOOP;
END $$;
SELECT count(*) FILTER (WHERE mode = 'incremental') AS incremental, count(*) FILTER (WHERE mode = 'full') AS full,
       string_agg(DISTINCT reason, '; ') AS reasons
FROM lead_scoring.refresh_log WHERE model = 'num_decay' AND as_of > '2024-01-02 00:00+00';
SELECT count(*) AS leads, count(*) FILTER (WHERE score::text IN ('NaN', 'Infinity', '-Infinity')) AS non_finite,
       count(*) FILTER (WHERE activity > 0) AS active
FROM lead_scoring.ranking_num_decay;
SELECT num.diff('num_decay', '2024-02-16 20:00+00') AS incremental_vs_full;
-- The activity of one lead by hand: the decayed sum over its events at as_of.
SELECT round(r.activity::numeric, 9) = round(e.view + least(e.demo, 60) + e.other, 9) AS by_hand, r.activity > 0.2 AS recent
FROM lead_scoring.ranking_num_decay r,
     LATERAL (SELECT coalesce(sum(power(2, -extract(epoch FROM '2024-02-16 20:00+00' - at) / 3600)) FILTER (WHERE kind = 'view'), 0)::numeric AS view,
                     coalesce(sum(25 * power(2, -extract(epoch FROM '2024-02-16 20:00+00' - at) / 3600)) FILTER (WHERE kind = 'demo'), 0)::numeric AS demo,
                     coalesce(sum(0.5 * power(2, -extract(epoch FROM '2024-02-16 20:00+00' - at) / 3600)) FILTER (WHERE kind NOT IN ('view', 'demo')), 0)::numeric AS other
              FROM num.events WHERE lead_id = r.lead_id AND at <= '2024-02-16 20:00+00') e
WHERE r.lead_id = 11;

-- 3. Within one landmark, incremental == full bit for bit after inserts, updates
-- and deletes of events and leads (30-day half-life).
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{activity,decay,half_life}', '"30 days"') WHERE name = 'num_decay';
SELECT lead_scoring.refresh('num_decay', '2024-02-18 00:00+00');
INSERT INTO num.events (lead_id, kind, at) SELECT g, 'demo', '2024-02-18 01:00+00' FROM generate_series(1, 50, 4) g;
UPDATE num.events SET kind = 'view' WHERE id % 9 = 0;
DELETE FROM num.events WHERE id % 13 = 0;
INSERT INTO num.leads VALUES (51, 'software');
DELETE FROM num.leads WHERE id = 2;
SELECT lead_scoring.refresh('num_decay', '2024-02-19 07:30+00');
SELECT mode FROM lead_scoring.refresh_log WHERE model = 'num_decay' ORDER BY id DESC LIMIT 1;
SELECT num.diff('num_decay', '2024-02-19 07:30+00') AS incremental_vs_full;

\i sql/include/lib.sql
CALL pg_temp.drop_models('num_huge', 'num_decay');
DROP SCHEMA num CASCADE;
