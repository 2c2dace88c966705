# Section 40: rfm_breaks and rfm + stage + grade per lead, beside the
# plain-SQL way (three percentile_disc sorts; a CASE over the cut points) and
# the floor (a bare scan of the same columns). QUALIFY_LEADS rows (default
# BENCH_LEADS) of synthetic RFM inputs, fit, activity, score and event flags.
# Serial plans on both sides, so the comparison is of the work per row.
QUALIFY_LEADS=${QUALIFY_LEADS:-$BENCH_LEADS}
bench_psql -v n="$QUALIFY_LEADS" <<'SQL'
DROP TABLE IF EXISTS bench.qualify_leads, bench.qualify_breaks, bench.qualify_cuts;
DELETE FROM lead_scoring.model WHERE name = 'bench_qualify';
INSERT INTO lead_scoring.model(name, spec) VALUES ('bench_qualify', '{
  "disqualify": {"events": ["complaint"]},
  "grades": [{"grade": "A", "min_fit": 75}, {"grade": "B", "min_fit": 50}, {"grade": "C", "min_fit": 25}],
  "stages": [{"stage": "SQL", "min_score": 80, "event": "demo_request"}, {"stage": "MQL3", "min_score": 60},
             {"stage": "MQL2", "min_score": 30, "min_activity": 5}, {"stage": "MQL1", "min_fit": 40}]}');
SELECT setseed(0.5) \g /dev/null
CREATE TABLE bench.qualify_leads AS
SELECT i AS id,
       floor(random() * 730)::float8 AS recency,
       (1 + floor(random() * random() * 30))::float8 AS frequency,
       round((random() * random() * 5000)::numeric, 2)::float8 AS monetary,
       floor(random() * 100)::float8 AS fit,
       floor(random() * 60)::float8 AS activity,
       (CASE WHEN i % 50 = 0 THEN '{complaint}' WHEN i % 7 = 0 THEN '{demo_request}' ELSE '{}' END)::text[] AS types
FROM generate_series(1, :n) i;
ALTER TABLE bench.qualify_leads ADD COLUMN score float8;
UPDATE bench.qualify_leads SET score = fit * 0.6 + activity;
VACUUM ANALYZE bench.qualify_leads;
CREATE TABLE bench.qualify_breaks AS SELECT lead_scoring.rfm_breaks(recency, frequency, monetary) AS b FROM bench.qualify_leads;
-- The same cut points as columns, for the plain-SQL CASE.
CREATE TABLE bench.qualify_cuts AS
SELECT (b->'recency'->>0)::float8 r1, (b->'recency'->>1)::float8 r2, (b->'recency'->>2)::float8 r3, (b->'recency'->>3)::float8 r4,
       (b->'frequency'->>0)::float8 f1, (b->'frequency'->>1)::float8 f2, (b->'frequency'->>2)::float8 f3, (b->'frequency'->>3)::float8 f4,
       (b->'monetary'->>0)::float8 m1, (b->'monetary'->>1)::float8 m2, (b->'monetary'->>2)::float8 m3, (b->'monetary'->>3)::float8 m4
FROM bench.qualify_breaks;
ANALYZE bench.qualify_breaks, bench.qualify_cuts;
SQL

# Same answers first (not timed): the plain-SQL ways and the functions agree.
bench_psql -At <<'SQL' | sed 's/^/  check: /'
SELECT 'rfm_breaks = percentile_disc: ' || (
  (SELECT ARRAY(SELECT jsonb_array_elements_text(b->'recency')::float8) FROM bench.qualify_breaks)
    = (SELECT percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY recency) FROM bench.qualify_leads));
SELECT 'leads where functions and CASE disagree: ' || count(*) FROM (
  SELECT (lead_scoring.rfm(recency, frequency, monetary, (SELECT b FROM bench.qualify_breaks))).code AS code,
         5 - ((recency > r1)::int + (recency > r2)::int + (recency > r3)::int + (recency > r4)::int) AS r,
         1 + (frequency > f1)::int + (frequency > f2)::int + (frequency > f3)::int + (frequency > f4)::int AS f,
         1 + (monetary > m1)::int + (monetary > m2)::int + (monetary > m3)::int + (monetary > m4)::int AS m
  FROM bench.qualify_leads, bench.qualify_cuts WHERE id % 100 = 0) x
WHERE code IS DISTINCT FROM r::text || f::text || m::text;
SQL

bench_time qualify breaks 0 "floor: bare scan of the three columns" \
  "SELECT sum(recency) + sum(frequency) + sum(monetary) FROM bench.qualify_leads"
bench_time qualify breaks 0 "ours: rfm_breaks (one pass)" \
  "SELECT lead_scoring.rfm_breaks(recency, frequency, monetary) FROM bench.qualify_leads"
bench_time qualify breaks 0 "plain SQL: 3 x percentile_disc" \
  "SELECT (percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY recency))::text
       || (percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY frequency))::text
       || (percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY monetary))::text FROM bench.qualify_leads"
bench_time qualify codes 0 "floor: bare scan of the six columns" \
  "SELECT sum(recency + frequency + monetary + fit + activity + score) + sum(cardinality(types)) FROM bench.qualify_leads"
bench_time qualify codes 0 "ours: rfm + stage + grade" \
  "SELECT sum(length((x).code)) + count((x).segment) + sum(length(st)) + count(g)
   FROM (SELECT lead_scoring.rfm(recency, frequency, monetary, (SELECT b FROM bench.qualify_breaks)) AS x,
                lead_scoring.stage('bench_qualify', score, fit, activity, types) AS st,
                lead_scoring.grade('bench_qualify', fit) AS g FROM bench.qualify_leads OFFSET 0) s"
bench_time qualify codes 0 "plain SQL: CASE for rfm + stage + grade" \
  "SELECT sum(length(code)) + count(seg) + sum(length(st)) + count(g) FROM (
     SELECT r::text || f::text || m::text AS code,
            CASE WHEN r = 5 AND f >= 4 THEN 'Champions' WHEN r IN (3, 4) AND f >= 4 THEN 'Loyal Customers'
                 WHEN r >= 4 AND f IN (2, 3) THEN 'Potential Loyalists' WHEN r = 5 AND f = 1 THEN 'New Customers'
                 WHEN r = 4 AND f = 1 THEN 'Promising' WHEN r = 3 AND f = 3 THEN 'Need Attention'
                 WHEN r = 3 AND f <= 2 THEN 'About to Sleep' WHEN r <= 2 AND f = 5 THEN 'Can''t Lose'
                 WHEN r <= 2 AND f IN (3, 4) THEN 'At Risk' WHEN r <= 2 AND f <= 2 THEN 'Hibernating' END AS seg,
            CASE WHEN 'complaint' = ANY (types) THEN 'disqualified' WHEN score >= 80 AND 'demo_request' = ANY (types) THEN 'SQL'
                 WHEN score >= 60 THEN 'MQL3' WHEN score >= 30 AND activity >= 5 THEN 'MQL2' WHEN fit >= 40 THEN 'MQL1'
                 ELSE 'new' END AS st,
            CASE WHEN fit >= 75 THEN 'A' WHEN fit >= 50 THEN 'B' WHEN fit >= 25 THEN 'C' END AS g
     FROM (SELECT l.*, 5 - ((recency > r1)::int + (recency > r2)::int + (recency > r3)::int + (recency > r4)::int) AS r,
                  1 + (frequency > f1)::int + (frequency > f2)::int + (frequency > f3)::int + (frequency > f4)::int AS f,
                  1 + (monetary > m1)::int + (monetary > m2)::int + (monetary > m3)::int + (monetary > m4)::int AS m
           FROM bench.qualify_leads l, bench.qualify_cuts c) x) y"

bench_psql -c "DROP TABLE bench.qualify_leads, bench.qualify_breaks, bench.qualify_cuts;
               DELETE FROM lead_scoring.model WHERE name = 'bench_qualify'"
