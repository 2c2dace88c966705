-- Each formula has one implementation (src/core): refresh's ranking, the
-- aggregates, decay() and suggest_model's scoring agree BITWISE on one data
-- set (float8send compared), and suggest_model's holdout AUC of the current
-- model is evaluate's AUC over the ranking refresh wrote at the same date.
-- The as_of, 2024-03-07 00:00 UTC, is 138 x 64 days after 2000-01-01: with a
-- half-life of 1 day it is a decay landmark (doc/rank.md), where refresh
-- weights every event at as_of itself and does not rescale. Named types are
-- capped and only "*" is not, so every lead's uncapped events add up in row
-- order in refresh and in the aggregate alike.
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
\set as_of '''2024-03-07 00:00+00'''
CREATE SCHEMA fa;
CREATE TABLE fa.leads (id int PRIMARY KEY, industry text);
CREATE TABLE fa.events (lead_id int, kind text, at timestamptz);
CREATE TABLE fa.deals (lead_id int, won_at timestamptz);
INSERT INTO fa.leads SELECT i, CASE WHEN i % 3 = 0 THEN 'software' ELSE 'retail' END FROM generate_series(1, 400) i;
-- 1 to 6 events a lead over the 60 days before as_of (to the microsecond),
-- and some after it (not counted yet).
INSERT INTO fa.events
SELECT i, (ARRAY['view', 'demo', 'other_a', 'other_b', 'view', 'other_a'])[j],
       timestamptz :as_of - ((i::bigint * 7919 + j * 104729) * 1000003 % (60 * 86400000000::bigint)) * interval '1 microsecond'
FROM generate_series(1, 400) i, generate_series(1, 6) j WHERE j <= 1 + i % 6;
INSERT INTO fa.events SELECT i, 'demo', timestamptz :as_of + i * interval '1 hour' FROM generate_series(1, 40) i;
-- Conversions from 20 days before as_of to 30 days after, never at it; more
-- often for software leads.
INSERT INTO fa.deals
SELECT i, timestamptz :as_of - interval '20 days' + ((i::bigint * 7919) % (50 * 86400)) * interval '1 second' + interval '0.5 seconds'
FROM generate_series(1, 400) i WHERE (i % 3 = 0 AND i % 2 = 0) OR i % 6 = 5 OR i % 11 = 0;
INSERT INTO lead_scoring.model (name, spec) VALUES ('fa', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 15}]},
  "activity": {"events": {"view": {"points": 2, "cap": 3}, "demo": {"points": 20, "cap": 25}, "*": {"points": 0.5}},
               "decay": {"kind": "exponential", "half_life": "1 day"}},
  "source": {"leads": {"table": "fa.leads", "id": "id"},
             "events": {"table": "fa.events", "lead_id": "lead_id", "type": "kind", "time": "at"},
             "conversions": {"table": "fa.deals", "lead_id": "lead_id", "time": "won_at"}}}');
SELECT lead_scoring.refresh('fa', :as_of, "full" => true) AS leads_written;

-- The aggregate over each lead's events in table order (the order refresh
-- reads them), with a hash aggregate and with ORDER BY ctid.
SET enable_sort = off;
CREATE TEMP TABLE agg AS
SELECT lead_id, lead_scoring.activity_score('fa', kind, at, :as_of) AS act
FROM fa.events GROUP BY lead_id;
RESET enable_sort;
CREATE TEMP TABLE agg_ordered AS
SELECT lead_id, lead_scoring.activity_score('fa', kind, at, :as_of ORDER BY ctid) AS act
FROM fa.events GROUP BY lead_id;
CREATE TEMP TABLE bd AS
SELECT lead_id, (lead_scoring.activity_breakdown('fa', kind, at, :as_of ORDER BY ctid)->>'total')::float8 AS total
FROM fa.events GROUP BY lead_id;

SELECT count(*) AS leads,
       count(*) FILTER (WHERE float8send(r.activity) = float8send(a.act)) AS activity_bitwise_aggregate,
       count(*) FILTER (WHERE float8send(r.activity) = float8send(o.act)) AS activity_bitwise_ordered,
       count(*) FILTER (WHERE float8send(r.activity) = float8send(b.total)) AS activity_bitwise_breakdown,
       count(*) FILTER (WHERE float8send(r.fit) = float8send(lead_scoring.fit_score('fa', l))) AS fit_bitwise,
       count(*) FILTER (WHERE float8send(r.score) = float8send(lead_scoring.score('fa', lead_scoring.fit_score('fa', l), a.act)))
           AS score_bitwise,
       count(*) FILTER (WHERE r.activity <> 0) AS with_activity
FROM lead_scoring.ranking_fa r JOIN fa.leads l ON l.id = r.lead_id
JOIN agg a ON a.lead_id = r.lead_id JOIN agg_ordered o ON o.lead_id = r.lead_id JOIN bd b ON b.lead_id = r.lead_id;

-- decay() is the aggregates' weight: one event each, 2 points, no cap.
SELECT count(*) AS events, count(*) FILTER (WHERE float8send(d) = float8send(a)) AS decay_bitwise
FROM fa.events e,
     LATERAL (SELECT lead_scoring.decay(2, e.at, :as_of, '1 day') AS d,
                     (SELECT lead_scoring.activity_score('{"activity": {"events": {"*": {"points": 2}},
                                                            "decay": {"kind": "exponential", "half_life": "1 day"}}}'::jsonb,
                                                         v.k, v.t, :as_of)
                        FROM (VALUES (e.kind, e.at)) v(k, t)) AS a) x
WHERE e.at <= :as_of;
-- By hand: 2 points 1, 2 and 3 half-lives old, and half a half-life.
SELECT lead_scoring.decay(2, timestamptz :as_of - interval '1 day', :as_of, '1 day') AS one_half_life,
       lead_scoring.decay(2, timestamptz :as_of - interval '3 days', :as_of, '1 day') AS three,
       abs(lead_scoring.decay(2, timestamptz :as_of - interval '12 hours', :as_of, '1 day') - sqrt(2::float8)) < 1e-15 AS half;

-- suggest_model's holdout AUC of the current model, scored by the aggregates
-- at as_of, is evaluate's AUC over the ranking refresh wrote at as_of.
CREATE TEMP TABLE s AS
SELECT lead_scoring.suggest_model('fa', train_as_of => timestamptz :as_of - interval '20 days', holdout_as_of => :as_of) AS r;
SELECT (r->'holdout'->>'leads')::int AS holdout_leads,
       float8send((r->'holdout_auc'->>'current')::float8)
           = float8send((SELECT e.auc FROM lead_scoring.evaluate('fa', converted_since => :as_of) e WHERE e.kind = 'overall'))
           AS holdout_auc_is_evaluates,
       (SELECT e.leads FROM lead_scoring.evaluate('fa', converted_since => :as_of) e WHERE e.kind = 'overall')
           = (r->'holdout'->>'leads')::int AS same_population
FROM s;

DELETE FROM lead_scoring.model WHERE name = 'fa';
DROP SCHEMA fa CASCADE;
