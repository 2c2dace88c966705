-- lead_scoring.refresh (doc/rank.md): a small CRM whose ranking is checked against
-- a plain-SQL pipeline written from the formulas (fit by CASE, activity by the
-- decay formula, rank() and percent_rank() windows, RFM by percentile_disc).
-- Rank and percentile are read from the view ranking_crm_ranked (rankings v2).
SET client_min_messages = warning;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id bigint PRIMARY KEY, industry text, employees int, email text, props jsonb);
CREATE TABLE crm.events (id serial PRIMARY KEY, lead_id bigint, event_type text, occurred_at timestamptz);
CREATE TABLE crm.orders (lead_id bigint, ordered_at timestamptz, amount numeric);
CREATE TABLE crm.deals (lead_id bigint, won_at timestamptz);

INSERT INTO crm.leads VALUES
 (1, 'Software', 250, 'ann@acme.com',      '{"country": "US"}'),
 (2, 'Retail',    20, 'bob@gmail.com',     '{"country": "FR"}'),
 (3, 'software',  90, 'cy@corp.ca',        '{"country": "CA"}'),
 (4, 'Gov',      500, 'dee@state.gov',     '{}'),
 (5, 'Software',  10, 'eve@competitor.com', '{"country": "US"}'),
 (6, NULL,      NULL, NULL,                 NULL),
 (7, 'Retail',   150, 'fay@shop.com',      '{"country": "us"}'),
 (8, 'Software', 100, 'gus@gmail.com',     '{"country": "DE"}');
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES
 (1, 'page_view',    '2024-03-01 10:00+00'), (1, 'page_view', '2024-03-02 10:00+00'),
 (1, 'demo_request', '2024-03-05 09:00+00'), (1, 'pricing',   '2024-02-20 12:00+00'),
 (2, 'page_view',    '2024-03-09 00:00+00'), (2, 'webinar',   '2024-03-01 00:00+00'),
 (3, 'pricing',      '2024-03-08 00:00+00'), (3, 'pricing',   '2024-03-07 00:00+00'),
 (3, 'page_view',    '2024-04-01 00:00+00'),                   -- in the future at as_of
 (4, 'complaint',    '2024-02-01 00:00+00'), (4, 'demo_request', '2024-03-01 00:00+00'),
 (5, 'demo_request', '2024-03-03 00:00+00'),
 (7, 'page_view',    '2024-03-01 00:00+00'), (7, 'page_view', '2024-03-01 01:00+00'),
 (7, 'page_view',    '2024-03-01 02:00+00'), (7, 'page_view', '2024-03-01 03:00+00'),
 (7, 'page_view',    '2024-03-01 04:00+00'), (7, 'page_view', '2024-03-01 05:00+00'),
 (7, 'page_view',    '2024-03-01 06:00+00'), (7, 'pricing',   '2024-03-09 00:00+00'),
 (8, 'demo_request', '2024-01-01 00:00+00'), (8, NULL,        '2024-03-01 00:00+00'),
 (99, 'page_view',   '2024-03-01 00:00+00');                    -- no such lead
INSERT INTO crm.orders VALUES
 (1, '2024-01-10+00', 100), (1, '2024-02-10+00', 250), (2, '2023-11-01+00', 40),
 (3, '2024-03-01+00', 900), (3, '2023-06-01+00', 80), (3, '2023-09-01+00', 60),
 (7, '2023-12-24+00', 15), (8, '2024-02-28+00', 500);
INSERT INTO crm.deals VALUES (1, '2024-03-08+00'), (7, '2024-03-09+00'), (3, '2024-05-01+00');

INSERT INTO lead_scoring.model (name, spec) VALUES ('crm', '{
  "fit": {"rules": [
     {"field": "industry", "eq": "software", "points": 20, "label": "software"},
     {"field": "country", "in": ["US", "CA"], "points": 10},
     {"field": "employees", "gte": 100, "points": 15},
     {"field": "email", "matches": "@gmail\\.com$", "points": -10, "label": "free mail"}]},
  "activity": {"events": {"page_view": {"points": 1, "cap": 5}, "pricing": {"points": 5},
                          "demo_request": {"points": 30}, "*": {"points": 0.5}},
               "decay": {"kind": "exponential", "half_life": "30 days"}},
  "disqualify": {"rules": [{"field": "email", "contains": "@competitor."}], "events": ["complaint"]},
  "grades": [{"grade": "A", "min_fit": 30}, {"grade": "B", "min_fit": 15}, {"grade": "C", "min_fit": 0}],
  "stages": [{"stage": "SQL", "min_score": 50, "event": "demo_request"},
             {"stage": "MQL", "min_score": 25}, {"stage": "MQL1", "min_fit": 20}],
  "source": {"leads": {"table": "crm.leads", "id": "id", "properties": "props"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
             "orders": {"table": "crm.orders", "lead_id": "lead_id", "time": "ordered_at", "amount": "amount"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id", "time": "won_at"}}}');

SELECT lead_scoring.refresh('crm', '2024-03-10 00:00+00') AS leads_written;

-- The plain-SQL pipeline, from the formulas of doc/foundation.md (fit),
-- doc/activity.md and doc/qualify.md (score, grade, stage, disqualification, RFM).
CREATE FUNCTION pg_temp.expected(as_of timestamptz) RETURNS TABLE (
    lead_id bigint, score float8, fit float8, activity float8, grade text, stage text, disqualified boolean,
    rank bigint, percentile float8, rfm_code text) LANGUAGE sql AS $$
WITH pts(t, p, cap) AS (VALUES ('page_view', 1.0::float8, 5.0::float8), ('pricing', 5, NULL),
                               ('demo_request', 30, NULL)),
ev AS (
    SELECT e.lead_id, e.event_type AS t,
           extract(epoch FROM as_of - e.occurred_at)::float8 AS age
    FROM crm.events e WHERE e.event_type IS NOT NULL AND e.occurred_at IS NOT NULL),
per_type AS (
    SELECT ev.lead_id, ev.t, count(*) AS n,
           sum(coalesce(pts.p, 0.5) * power(2::float8, -ev.age / (30 * 86400))) AS s, max(pts.cap) AS cap
    FROM ev LEFT JOIN pts ON pts.t = ev.t WHERE ev.age >= 0 GROUP BY ev.lead_id, ev.t),
act AS (
    SELECT per_type.lead_id,
           sum(CASE WHEN cap IS NULL THEN s ELSE greatest(-cap, least(cap, s)) END) AS activity,
           bool_or(t = 'demo_request') AS demo, bool_or(t = 'complaint') AS complaint
    FROM per_type GROUP BY per_type.lead_id),
f AS (
    SELECT l.id,
           (CASE WHEN lower(l.industry) = 'software' THEN 20 ELSE 0 END
          + CASE WHEN lower(l.props->>'country') IN ('us', 'ca') THEN 10 ELSE 0 END
          + CASE WHEN l.employees >= 100 THEN 15 ELSE 0 END
          + CASE WHEN l.email ~* '@gmail\.com$' THEN -10 ELSE 0 END)::float8 AS fit,
           coalesce(l.email ILIKE '%@competitor.%', false) AS rule_dq
    FROM crm.leads l),
s AS (
    SELECT f.id, f.fit, coalesce(a.activity, 0) AS activity, f.fit + coalesce(a.activity, 0) AS score,
           f.rule_dq OR coalesce(a.complaint, false) AS dq, coalesce(a.demo, false) AS demo
    FROM f LEFT JOIN act a ON a.lead_id = f.id),
r AS (
    SELECT s.*, rank() OVER w AS rnk, percent_rank() OVER (ORDER BY score) AS pct
    FROM s WHERE NOT dq WINDOW w AS (ORDER BY score DESC)),
o AS (
    SELECT o.lead_id, extract(epoch FROM as_of - max(o.ordered_at))::float8 / 86400 AS rec,
           count(*)::float8 AS fr, sum(o.amount)::float8 AS mo
    FROM crm.orders o JOIN crm.leads l ON l.id = o.lead_id WHERE o.ordered_at <= as_of GROUP BY o.lead_id),
br AS (
    SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY rec) AS rb,
           percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY fr) AS fb,
           percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY mo) AS mb FROM o),
rfm AS (
    SELECT o.lead_id,
           (5 - (SELECT count(*) FROM unnest(br.rb) c WHERE o.rec > c))::text
        || (1 + (SELECT count(*) FROM unnest(br.fb) c WHERE o.fr > c))::text
        || (1 + (SELECT count(*) FROM unnest(br.mb) c WHERE o.mo > c))::text AS code
    FROM o, br)
SELECT s.id, s.score, s.fit, s.activity,
       CASE WHEN s.fit >= 30 THEN 'A' WHEN s.fit >= 15 THEN 'B' WHEN s.fit >= 0 THEN 'C' END,
       CASE WHEN s.dq THEN 'disqualified' WHEN s.score >= 50 AND s.demo THEN 'SQL' WHEN s.score >= 25 THEN 'MQL'
            WHEN s.fit >= 20 THEN 'MQL1' ELSE 'new' END,
       s.dq, r.rnk, r.pct, rfm.code
FROM s LEFT JOIN r ON r.id = s.id LEFT JOIN rfm ON rfm.lead_id = s.id
$$;

CREATE FUNCTION pg_temp.rounded_ranking() RETURNS TABLE (lead_id bigint, score numeric, fit numeric, activity numeric,
    grade text, stage text, disqualified boolean, rank bigint, percentile numeric, rfm_code text)
LANGUAGE sql AS $$
SELECT lead_id, round(score::numeric, 9), round(fit::numeric, 9), round(activity::numeric, 9), grade, stage,
       disqualified, rank, round(percentile::numeric, 9), rfm_code FROM lead_scoring.ranking_crm_ranked $$;
CREATE FUNCTION pg_temp.rounded_expected(as_of timestamptz) RETURNS TABLE (lead_id bigint, score numeric, fit numeric,
    activity numeric, grade text, stage text, disqualified boolean, rank bigint, percentile numeric, rfm_code text)
LANGUAGE sql AS $$
SELECT lead_id, round(score::numeric, 9), round(fit::numeric, 9), round(activity::numeric, 9), grade, stage,
       disqualified, rank, round(percentile::numeric, 9), rfm_code FROM pg_temp.expected(as_of) $$;

-- Refresh output equals the plain-SQL pipeline (EXCEPT ALL both ways: no rows).
SELECT 'ranking - expected' AS diff, * FROM (SELECT * FROM pg_temp.rounded_ranking()
    EXCEPT ALL SELECT * FROM pg_temp.rounded_expected('2024-03-10 00:00+00')) d
UNION ALL
SELECT 'expected - ranking', * FROM (SELECT * FROM pg_temp.rounded_expected('2024-03-10 00:00+00')
    EXCEPT ALL SELECT * FROM pg_temp.rounded_ranking()) d;

-- Hand-checked: lead 7 has 7 page views about 9 days old (sum 7 * ~0.81 > 5: capped
-- at 5 after decay) and a pricing visit a day old: 5 * 2^(-1/30) = 4.8858, so
-- activity 9.8858, fit 15 (employees) + 10 (country "us"); lead 6 has nothing;
-- lead 4 complained, lead 5 is a competitor: both disqualified with no rank.
SELECT lead_id, round(score::numeric, 4) AS score, fit, round(activity::numeric, 4) AS activity, grade, stage,
       disqualified, rank, round(percentile::numeric, 4) AS percentile, rfm_code, rfm_segment, as_of
FROM lead_scoring.ranking_crm_ranked ORDER BY rank NULLS LAST, lead_id;
SELECT round((5 + 5 * power(2, -1 / 30.0))::numeric, 9) = round(activity::numeric, 9) AS lead7_activity_by_hand,
       fit = 25 AS lead7_fit_by_hand
FROM lead_scoring.ranking_crm WHERE lead_id = 7;

-- The target's shape: lead_id keeps the source id's type; indexes for top N,
-- one lead, one stage.
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a WHERE a.attrelid = 'lead_scoring.ranking_crm'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
WHERE i.indrelid = 'lead_scoring.ranking_crm'::regclass ORDER BY 1;

-- Log, stage history (none on a first refresh), funnel and leaderboard.
SELECT model, mode, leads, events_read, status, reason, changed_leads, as_of FROM lead_scoring.refresh_log ORDER BY id;
SELECT count(*) AS history_rows FROM lead_scoring.stage_history;
SELECT model, stage, position, leads, reached, round(to_next_stage::numeric, 4) AS to_next, converted,
       round(conversion_rate::numeric, 4) AS rate
FROM lead_scoring.funnel ORDER BY position DESC;
SELECT lead_id, rank, stage, reasons->'fit' AS fit_reasons, jsonb_object_keys(reasons->'activity') AS activity_types
FROM lead_scoring.leaderboard WHERE model = 'crm' AND rank = 1;

-- ---------------------------------------------------------------- incremental
-- Inserts, updates and deletes of events, leads and orders; each incremental
-- refresh must equal a full refresh exactly (and the plain SQL).
CREATE TEMP TABLE inc AS SELECT * FROM lead_scoring.ranking_crm_ranked WITH NO DATA;
CREATE FUNCTION pg_temp.check_incremental(as_of timestamptz, compare_sql boolean DEFAULT true) RETURNS TABLE (mode text, changed bigint, diff bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_scoring.refresh('crm', as_of);
    SELECT l.mode, l.changed_leads INTO mode, changed FROM lead_scoring.refresh_log l ORDER BY l.id DESC LIMIT 1;
    TRUNCATE inc;
    INSERT INTO inc SELECT * FROM lead_scoring.ranking_crm_ranked;
    PERFORM lead_scoring.refresh('crm', as_of, true);
    SELECT count(*) INTO diff FROM (
        (SELECT lead_id, round(score::numeric, 9), round(activity::numeric, 9), fit, grade, stage, disqualified, rank,
                round(percentile::numeric, 9), rfm_code, rfm_segment FROM inc
         EXCEPT ALL
         SELECT lead_id, round(score::numeric, 9), round(activity::numeric, 9), fit, grade, stage, disqualified, rank,
                round(percentile::numeric, 9), rfm_code, rfm_segment FROM lead_scoring.ranking_crm_ranked)
        UNION ALL
        (SELECT lead_id, round(score::numeric, 9), round(activity::numeric, 9), fit, grade, stage, disqualified, rank,
                round(percentile::numeric, 9), rfm_code, rfm_segment FROM lead_scoring.ranking_crm_ranked
         EXCEPT ALL
         SELECT lead_id, round(score::numeric, 9), round(activity::numeric, 9), fit, grade, stage, disqualified, rank,
                round(percentile::numeric, 9), rfm_code, rfm_segment FROM inc)) d;
    IF NOT compare_sql THEN RETURN NEXT; RETURN; END IF;  -- the SQL pipeline above is for exponential decay
    diff := diff + (SELECT count(*) FROM (
        (SELECT * FROM pg_temp.rounded_ranking() EXCEPT ALL SELECT * FROM pg_temp.rounded_expected(as_of))
        UNION ALL
        (SELECT * FROM pg_temp.rounded_expected(as_of) EXCEPT ALL SELECT * FROM pg_temp.rounded_ranking())) x);
    RETURN NEXT;
END $$;

-- new events (lead 6 gets a demo request, lead 2 a pricing visit), same as_of
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES
 (6, 'demo_request', '2024-03-09 12:00+00'), (2, 'pricing', '2024-03-09 18:00+00');
SELECT count(DISTINCT lead_id) AS change_rows FROM lead_scoring.change_log;
SELECT * FROM pg_temp.check_incremental('2024-03-10 00:00+00');
-- a later as_of: exponential decay rescales; lead 3's future page view becomes current
SELECT * FROM pg_temp.check_incremental('2024-04-02 00:00+00');
-- updates and deletes of events
UPDATE crm.events SET event_type = 'complaint' WHERE lead_id = 2 AND event_type = 'webinar';
DELETE FROM crm.events WHERE lead_id = 1 AND event_type = 'demo_request';
UPDATE crm.events SET lead_id = 8 WHERE lead_id = 7 AND event_type = 'pricing';
SELECT * FROM pg_temp.check_incremental('2024-04-02 00:00+00');
-- leads: insert, update (fit changes), delete
INSERT INTO crm.leads VALUES (9, 'Software', 1000, 'new@big.com', '{"country": "CA"}');
UPDATE crm.leads SET employees = 5 WHERE id = 1;
DELETE FROM crm.leads WHERE id = 6;
SELECT * FROM pg_temp.check_incremental('2024-04-03 00:00+00');
-- orders: RFM breaks are global, recomputed from the per-lead state
INSERT INTO crm.orders VALUES (9, '2024-04-01+00', 5000), (2, '2024-03-20+00', 10);
DELETE FROM crm.orders WHERE lead_id = 3 AND amount = 900;
UPDATE crm.orders SET amount = 1 WHERE lead_id = 8;
SELECT * FROM pg_temp.check_incremental('2024-04-03 00:00+00');
-- TRUNCATE of a source table forces a full refresh
TRUNCATE crm.deals;
SELECT lead_scoring.refresh('crm', '2024-04-03 00:00+00') IS NOT NULL AS refreshed;
SELECT mode, reason FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1;
-- as_of going back: full
SELECT lead_scoring.refresh('crm', '2024-04-01 00:00+00') IS NOT NULL AS refreshed;
SELECT mode, reason FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1;
-- a changed spec: full
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{activity,events,pricing,points}', '6') WHERE name = 'crm';
SELECT lead_scoring.refresh('crm', '2024-04-01 00:00+00') IS NOT NULL AS refreshed;
SELECT mode, reason FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1;
-- stage changes found by the refreshes since the first
SELECT lead_id, from_stage, to_stage, changed_at FROM lead_scoring.stage_history
ORDER BY changed_at, lead_id::int, to_stage;
-- a new column named like a fit field (read from props until now) changes every
-- lead's attributes without changing a row: full
ALTER TABLE crm.leads ADD COLUMN country text;
SELECT lead_scoring.refresh('crm', '2024-04-01 00:00+00') IS NOT NULL AS refreshed;
SELECT mode, reason FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1;
ALTER TABLE crm.leads DROP COLUMN country;
SELECT lead_scoring.refresh('crm', '2024-04-01 00:00+00') IS NOT NULL AS refreshed;
-- a dropped trigger is put back (self-healing) and that refresh is full
DROP TRIGGER ls_crm_ins ON crm.events;
SELECT lead_scoring.refresh('crm', '2024-04-01 00:00+00') IS NOT NULL AS refreshed;
SELECT mode, reason FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'crm.events'::regclass ORDER BY 1;

-- linear decay at a new tick is recomputed from the events: full, with the reason
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{activity,decay}', '{"kind": "linear", "lifetime": "90 days"}')
WHERE name = 'crm';
SELECT lead_scoring.refresh('crm', '2024-04-01 00:00+00') IS NOT NULL AS refreshed;
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES (3, 'pricing', '2024-03-30 00:00+00');
SELECT * FROM pg_temp.check_incremental('2024-04-01 00:00+00', false);
SELECT lead_scoring.refresh('crm', '2024-04-02 00:00+00') IS NOT NULL AS refreshed;
SELECT mode, reason FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1;

-- retention: lead_scoring.log_retention bounds the log (a refresh that writes
-- deletes its model's older rows; an idle one writes nothing at all)
SET lead_scoring.log_retention = 0;
SELECT lead_scoring.refresh('crm', '2024-04-02 00:00+00') AS idle_rows_written;
SELECT count(*) > 1 AS log_rows_kept FROM lead_scoring.refresh_log WHERE model = 'crm';
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES (2, 'pricing', '2024-04-01 12:00+00');
SELECT lead_scoring.refresh('crm', '2024-04-02 00:00+00') IS NOT NULL AS refreshed;
SELECT count(*) AS log_rows FROM lead_scoring.refresh_log WHERE model = 'crm';
RESET lead_scoring.log_retention;

-- drop_refresh_state removes the triggers, state and bookkeeping of a model
SELECT lead_scoring.drop_refresh_state('crm');
SELECT count(*) AS capture_triggers FROM pg_trigger
WHERE tgfoid = 'lead_scoring._capture_changes()'::regprocedure AND tgname LIKE 'ls\_crm\_%';
SELECT to_regclass('lead_scoring_state.crm') AS state_table,
       (SELECT count(*) FROM lead_scoring.refresh_state WHERE model = 'crm') AS state_rows,
       (SELECT count(*) FROM lead_scoring.ranking_crm) > 0 AS ranking_kept;
-- the next refresh starts over (full) and puts the triggers back
SELECT lead_scoring.refresh('crm', '2024-04-02 00:00+00') IS NOT NULL AS refreshed;
SELECT mode, reason FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1;
