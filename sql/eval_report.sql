-- lead_scoring.evaluate(model) and attribute_lift(model, field) (doc/eval.md)
-- over a ranking table built by hand with the columns of doc/rank.md,
-- checked against plain SQL over the same tables.
SET extra_float_digits = 0;
-- Errors are shown with their SQLSTATE (psql's LAST_ERROR_SQLSTATE).
\set SHOW_CONTEXT never

CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, industry text, employees int, props jsonb);
INSERT INTO crm.leads
SELECT i, (ARRAY['Software', 'Retail', 'Finance', NULL])[i % 4 + 1], (i * 37) % 500,
       jsonb_build_object('country', (ARRAY['US', 'DE', 'FR'])[i % 3 + 1], 'visits', (i * 7) % 23,
                          'plan', CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 2)::text END,
                          'tier', CASE WHEN i % 9 = 0 THEN NULL ELSE i % 3 + 1 END,
                          'title', (ARRAY['CFO', 'cfo', 'Cfo', 'VP Sales'])[i % 4 + 1])
FROM generate_series(1, 120) i;
CREATE TABLE crm.deals (lead_id int, won_at timestamptz);
INSERT INTO crm.deals
SELECT i, timestamptz '2026-01-01 00:00+00' + (i % 20) * interval '1 day'
FROM generate_series(1, 120) i WHERE (i * 13) % 7 < 2 + i / 40 OR i % 11 = 0;
INSERT INTO crm.deals VALUES (11, '2026-03-01 00:00+00'), (999, '2026-01-05 00:00+00');  -- a second deal; an unknown lead

INSERT INTO lead_scoring.model (name, spec) VALUES ('evalm', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 20}]},
  "stages": [{"stage": "SQL", "min_score": 80}, {"stage": "MQL", "min_score": 40}],
  "source": {"leads": {"table": "crm.leads", "id": "id", "properties": "props"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id", "time": "won_at"}}
}');
-- The ranking table refresh() would write (doc/rank.md), filled by hand.
CREATE TABLE lead_scoring.ranking_evalm (
    lead_id int, score float8, fit float8, activity float8, grade text, stage text, disqualified boolean,
    rank bigint, percentile float8, rfm_code text, rfm_segment text, as_of timestamptz, refreshed_at timestamptz);
INSERT INTO lead_scoring.ranking_evalm (lead_id, score, fit, activity, stage, disqualified, as_of, refreshed_at)
SELECT id, s, s / 2, s / 2,
       CASE WHEN id % 13 = 0 THEN 'disqualified' WHEN s >= 80 THEN 'SQL' WHEN s >= 40 THEN 'MQL' ELSE 'new' END,
       id % 13 = 0, '2025-12-31 00:00+00', '2025-12-31 00:00+00'
FROM (SELECT id, ((id * 53) % 100 + (id % 7) * 3 + CASE WHEN id IN (SELECT lead_id FROM crm.deals) THEN 15 ELSE 0 END)::float8 AS s
      FROM crm.leads) x;
UPDATE lead_scoring.ranking_evalm r SET rank = k.rk
FROM (SELECT lead_id, rank() OVER (ORDER BY score DESC) AS rk FROM lead_scoring.ranking_evalm WHERE NOT disqualified) k
WHERE r.lead_id = k.lead_id;

SELECT kind, bucket, leads, converted, round(conversion_rate::numeric, 4) AS rate, round(lift::numeric, 3) AS lift,
       round(auc::numeric, 4) AS auc, min_score, max_score
FROM lead_scoring.evaluate('evalm');

-- The same numbers in plain SQL.
CREATE TEMP VIEW lab AS
SELECT r.*, r.lead_id IN (SELECT lead_id FROM crm.deals) AS y FROM lead_scoring.ranking_evalm r;
CREATE TEMP VIEW expected_eval AS
WITH base AS (SELECT avg(y::int::float8) AS rate FROM lab)
SELECT 'overall' AS kind, 'all' AS bucket, count(*) AS leads, count(*) FILTER (WHERE y) AS converted,
       (SELECT sum(CASE WHEN p.score > n.score THEN 1 WHEN p.score = n.score THEN 0.5 ELSE 0 END)::float8 / count(*)
        FROM lab p, lab n WHERE p.y AND NOT n.y AND NOT p.disqualified AND NOT n.disqualified) AS auc
FROM lab
UNION ALL
SELECT 'stage', stage, count(*), count(*) FILTER (WHERE y), NULL FROM lab GROUP BY stage
UNION ALL
SELECT 'decile', d::text, count(*), count(*) FILTER (WHERE y), NULL
FROM (SELECT y, 1 + floor((rank() OVER (ORDER BY score DESC) - 1) * 10.0 / count(*) OVER ())::int AS d
      FROM lab WHERE NOT disqualified) x
GROUP BY d;
CREATE TEMP VIEW got_eval AS
SELECT kind, bucket, leads, converted, auc, conversion_rate, lift FROM lead_scoring.evaluate('evalm');
-- Counts and AUC agree both ways; rates and lifts follow from the counts.
SELECT count(*) AS mismatches FROM (
    (SELECT kind, bucket, leads, converted, round(auc::numeric, 12) FROM got_eval
     EXCEPT SELECT kind, bucket, leads, converted, round(auc::numeric, 12) FROM expected_eval)
    UNION ALL
    (SELECT kind, bucket, leads, converted, round(auc::numeric, 12) FROM expected_eval
     EXCEPT SELECT kind, bucket, leads, converted, round(auc::numeric, 12) FROM got_eval)) d;
SELECT bool_and(abs(conversion_rate - converted::float8 / leads) < 1e-12
                AND abs(lift - (converted::float8 / leads) / (SELECT avg(y::int::float8) FROM lab)) < 1e-12) AS rates_ok
FROM got_eval;

-- The time split at as_of 2026-01-10 (after the ranking's as_of): leads that
-- converted on or before it are left out; the outcome is a conversion after it
-- and before 2026-02-01.
SELECT count(*) AS mismatches FROM (
    (SELECT bucket, leads, converted FROM lead_scoring.evaluate('evalm', '2026-01-10 00:00+00', '2026-02-01 00:00+00')
     WHERE kind = 'stage'
     EXCEPT
     SELECT stage, count(*),
            count(*) FILTER (WHERE lead_id IN (SELECT lead_id FROM crm.deals
                                               WHERE won_at > '2026-01-10 00:00+00' AND won_at < '2026-02-01 00:00+00'))
     FROM lead_scoring.ranking_evalm
     WHERE lead_id NOT IN (SELECT lead_id FROM crm.deals WHERE won_at <= '2026-01-10 00:00+00')
     GROUP BY stage)
    UNION ALL
    (SELECT stage, count(*),
            count(*) FILTER (WHERE lead_id IN (SELECT lead_id FROM crm.deals
                                               WHERE won_at > '2026-01-10 00:00+00' AND won_at < '2026-02-01 00:00+00'))
     FROM lead_scoring.ranking_evalm
     WHERE lead_id NOT IN (SELECT lead_id FROM crm.deals WHERE won_at <= '2026-01-10 00:00+00')
     GROUP BY stage
     EXCEPT
     SELECT bucket, leads, converted FROM lead_scoring.evaluate('evalm', '2026-01-10 00:00+00', '2026-02-01 00:00+00')
     WHERE kind = 'stage')) d;

-- attribute_lift: a text column, a numeric column (deciles), a jsonb text
-- property with missing values, a jsonb numeric property (few values: one row each).
CREATE TEMP VIEW llab AS
SELECT l.*, l.id IN (SELECT lead_id FROM crm.deals) AS y FROM crm.leads l;
CREATE FUNCTION pg_temp.wilson(k bigint, n bigint, lo OUT float8, hi OUT float8) LANGUAGE sql AS $$
    SELECT (p + z * z / (2 * n) - z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n),
           (p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    FROM (SELECT k::float8 / n AS p, 1.959963984540054::float8 AS z) s $$;

SELECT value, leads, converted, round(rate::numeric, 4) AS rate, round(lift::numeric, 3) AS lift,
       round(ci_low::numeric, 4) AS ci_low, round(ci_high::numeric, 4) AS ci_high
FROM lead_scoring.attribute_lift('evalm', 'industry');
SELECT count(*) AS mismatches FROM (
    SELECT value, leads, converted, round(rate::numeric, 12), round(lift::numeric, 12), round(ci_low::numeric, 12), round(ci_high::numeric, 12)
    FROM lead_scoring.attribute_lift('evalm', 'industry')
    EXCEPT
    SELECT industry, count(*), count(*) FILTER (WHERE y), round((count(*) FILTER (WHERE y))::numeric / count(*), 12),
           round(((count(*) FILTER (WHERE y))::float8 / count(*) / (SELECT avg(y::int::float8) FROM llab))::numeric, 12),
           round((pg_temp.wilson(count(*) FILTER (WHERE y), count(*))).lo::numeric, 12),
           round((pg_temp.wilson(count(*) FILTER (WHERE y), count(*))).hi::numeric, 12)
    FROM llab GROUP BY industry) d;
-- Text values group case-insensitively, as the rules compare them: 'CFO', 'cfo'
-- and 'Cfo' are one value (labelled with its first spelling in C order).
SELECT count(*) AS rows, sum(leads) AS leads FROM lead_scoring.attribute_lift('evalm', 'title');
SELECT count(*) AS mismatches FROM (
    SELECT value, leads, converted FROM lead_scoring.attribute_lift('evalm', 'title')
    EXCEPT
    SELECT min(props->>'title' COLLATE "C"), count(*), count(*) FILTER (WHERE y) FROM llab GROUP BY lower(props->>'title')) d;

SELECT value, leads, converted, round(rate::numeric, 4) AS rate FROM lead_scoring.attribute_lift('evalm', 'employees');
SELECT count(*) AS mismatches FROM (
    SELECT leads, converted FROM lead_scoring.attribute_lift('evalm', 'employees')
    EXCEPT
    SELECT count(*), count(*) FILTER (WHERE y)
    FROM (SELECT y, (SELECT count(*) FROM unnest(b) q WHERE q <= employees) AS bucket
          FROM llab, (SELECT array_agg(DISTINCT q) AS b FROM unnest((SELECT percentile_disc(ARRAY[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]) WITHIN GROUP (ORDER BY employees) FROM crm.leads)) q) br) x
    GROUP BY bucket) d;

SELECT value, leads, converted, round(rate::numeric, 4) AS rate, round(lift::numeric, 3) AS lift
FROM lead_scoring.attribute_lift('evalm', 'plan');
SELECT count(*) AS mismatches FROM (
    SELECT value, leads, converted FROM lead_scoring.attribute_lift('evalm', 'plan')
    EXCEPT SELECT props->>'plan', count(*), count(*) FILTER (WHERE y) FROM llab GROUP BY 1) d;
SELECT value, leads, converted FROM lead_scoring.attribute_lift('evalm', 'country');
-- A numeric property with 3 values (and JSON nulls): one row per value, in numeric order.
SELECT value, leads, converted FROM lead_scoring.attribute_lift('evalm', 'tier');
SELECT count(*) AS mismatches FROM (
    SELECT value, leads, converted FROM lead_scoring.attribute_lift('evalm', 'tier')
    EXCEPT SELECT props->>'tier', count(*), count(*) FILTER (WHERE y) FROM llab GROUP BY 1) d;
SELECT value, leads, converted FROM lead_scoring.attribute_lift('evalm', 'visits') LIMIT 3;
SELECT count(*) AS visit_buckets FROM lead_scoring.attribute_lift('evalm', 'visits');
-- A field that is neither a column nor a property of any lead is a typo: an error naming it.
SELECT value, leads FROM lead_scoring.attribute_lift('evalm', 'no_such_property');
\echo :LAST_ERROR_SQLSTATE

-- Bad names and arguments: clear errors, nothing injected.
SELECT * FROM lead_scoring.evaluate('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.evaluate(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.attribute_lift('evalm', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO lead_scoring.model (name, spec) VALUES ('evalm_bad', '{
  "source": {"leads": {"table": "crm.leads; DROP TABLE crm.leads", "id": "id"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id"}}}');
SELECT * FROM lead_scoring.evaluate('evalm_bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.attribute_lift('evalm_bad', 'industry');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_scoring.model SET spec = '{
  "source": {"leads": {"table": "crm.leads", "id": "id\"; --"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id"}, "target": "crm.nope"}}' WHERE name = 'evalm_bad';
SELECT * FROM lead_scoring.evaluate('evalm_bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.attribute_lift('evalm_bad', 'industry');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.evaluate('evalm_bad', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_scoring.model SET spec = '{
  "source": {"leads": {"table": "crm.leads", "id": "id"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id"}, "target": "lead_scoring.ranking_evalm"}}' WHERE name = 'evalm_bad';
SELECT * FROM lead_scoring.evaluate('evalm_bad', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.attribute_lift('evalm_bad', 'country');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS leads_still_there FROM crm.leads;

DELETE FROM lead_scoring.model WHERE name IN ('evalm', 'evalm_bad');
DROP TABLE lead_scoring.ranking_evalm CASCADE;
DROP SCHEMA crm CASCADE;
