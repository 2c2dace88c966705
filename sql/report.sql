-- lead_scoring.report() and the chart series (doc/report.md): every series
-- against plain SQL over the same tables, the page's data-values against the
-- same SQL, labels escaped, comments on every view column, errors.
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

SELECT lead_scoring.generate_sample_crm('crm', 1500, 10, 0.42, '2026-06-01 00:00+00') IS NOT NULL AS generated;
-- Lead data is user input: a hostile job title and a hostile industry.
UPDATE crm.leads SET job_title = '<script>alert(1)</script>' WHERE id IN (SELECT id FROM crm.leads ORDER BY id LIMIT 40);
UPDATE crm.leads SET industry = '"><img src=x onerror=alert(2)>' WHERE id IN (SELECT id FROM crm.leads ORDER BY id DESC LIMIT 40);
INSERT INTO lead_scoring.model (name, spec) VALUES ('rep', '{
  "fit": {"rules": [
    {"field": "job_title", "matches": "^(ceo|cto|cfo|founder|vp )", "points": 20},
    {"field": "industry", "in": ["Software", "Finance"], "points": 10}]},
  "activity": {"events": {"page_view": {"points": 1, "cap": 15}, "pricing_page": {"points": 5, "cap": 25},
                          "demo_request": {"points": 25, "cap": 50}, "complaint": {"points": -30}},
               "decay": {"kind": "exponential", "half_life": "30 days"}},
  "disqualify": {"events": ["complaint"]},
  "stages": [{"stage": "SQL", "min_score": 60}, {"stage": "MQL", "min_score": 30}],
  "source": {"leads": {"table": "crm.leads", "id": "id", "properties": "props", "created": "created_at"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id", "time": "won_at"}}}');

-- Before the first refresh.
SELECT lead_scoring.report('rep');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows_before_refresh FROM lead_scoring.chart_deciles WHERE model = 'rep';

-- Weekly refreshes up to 2026-01-01 fill stage_history; the ranking is then as of 2026-01-01.
SELECT format('SELECT lead_scoring.refresh(%L, %L) IS NOT NULL AS refreshed', 'rep',
              timestamptz '2026-01-01 00:00+00' - w * interval '7 days')
FROM generate_series(4, 0, -1) w \gexec

-- The evaluation population by hand: leads created by 2026-01-01 and not
-- converted by then; outcome: a deal after it.
CREATE TEMP TABLE pop AS
SELECT r.lead_id, r.score, r.stage, r.disqualified,
       EXISTS (SELECT FROM crm.deals d WHERE d.lead_id = r.lead_id AND d.won_at > '2026-01-01 00:00+00') AS y
FROM lead_scoring.ranking_rep r JOIN crm.leads l ON l.id = r.lead_id
WHERE l.created_at <= '2026-01-01 00:00+00'
  AND NOT EXISTS (SELECT FROM crm.deals d WHERE d.lead_id = r.lead_id AND d.won_at <= '2026-01-01 00:00+00');
SELECT count(*) > 1000 AS enough_leads, count(*) FILTER (WHERE y) >= 20 AS enough_conversions FROM pop;

-- score_histogram = width buckets of the scores, by hand.
SELECT count(*) AS histogram_mismatches FROM (
    (SELECT bin, converted, not_converted FROM lead_scoring.score_histogram('rep') WHERE converted + not_converted > 0
     EXCEPT
     SELECT least(20, width_bucket(score, lo, hi, 20)), count(*) FILTER (WHERE y), count(*) FILTER (WHERE NOT y)
     FROM pop, (SELECT min(score) lo, max(score) hi FROM pop WHERE NOT disqualified) b
     WHERE NOT disqualified GROUP BY 1)
    UNION ALL
    SELECT bin, 0, 0 FROM lead_scoring.score_histogram('rep') WHERE bin NOT BETWEEN 1 AND 20) d;
SELECT count(*) AS bins, sum(converted + not_converted) = (SELECT count(*) FROM pop WHERE NOT disqualified) AS all_counted
FROM lead_scoring.score_histogram('rep');

-- gains_curve: each point is (leads with score >= its min_score, conversions among them).
SELECT count(*) AS gains_mismatches FROM lead_scoring.gains_curve('rep') g
WHERE g.point > 0
  AND (g.leads <> (SELECT count(*) FROM pop WHERE NOT disqualified AND score >= g.min_score)
       OR g.conversions <> (SELECT count(*) FROM pop WHERE NOT disqualified AND score >= g.min_score AND y));
SELECT min(point) = 0 AS starts_at_origin, max(leads_share) = 1 AND max(conversions_share) = 1 AS ends_at_all,
       count(*) <= 102 AS at_most_one_point_per_percent
FROM lead_scoring.gains_curve('rep');

-- decile_conversion = deciles by hand (rank over score, tied scores share a
-- decile, so some deciles can be empty).
CREATE TEMP TABLE dec AS
SELECT 1 + (rank() OVER (ORDER BY score DESC) - 1) * 10 / count(*) OVER () AS decile, y FROM pop WHERE NOT disqualified;
SELECT count(*) AS decile_mismatches FROM (
    SELECT decile, leads, converted FROM lead_scoring.decile_conversion('rep')
    EXCEPT SELECT decile, count(*), count(*) FILTER (WHERE y) FROM dec GROUP BY decile) d;
SELECT bool_and(abs(base_rate - (SELECT avg(y::int) FROM pop)) < 1e-12) AS base_rate_ok FROM lead_scoring.decile_conversion('rep');

-- stage_funnel: leads per stage, reached = this stage or further, to won.
SELECT stage, "position", leads, reached, round(to_next_stage::numeric, 4) AS to_next_stage,
       converted = (SELECT count(*) FILTER (WHERE y) FROM pop WHERE pop.stage = f.stage) AS converted_ok
FROM lead_scoring.stage_funnel('rep') f;
SELECT count(*) AS funnel_mismatches FROM (
    SELECT stage, leads FROM lead_scoring.stage_funnel('rep') EXCEPT SELECT stage, count(*) FROM pop GROUP BY stage) d;

-- stage_flow = stage_history by week.
SELECT count(*) AS flow_mismatches FROM (
    (SELECT week_start, stage, entered FROM lead_scoring.stage_flow('rep')
     EXCEPT
     SELECT date_trunc('week', changed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', to_stage, count(*)
     FROM lead_scoring.stage_history WHERE model = 'rep' GROUP BY 1, 2)) d;
SELECT count(*) > 0 AS flow_has_rows FROM lead_scoring.stage_flow('rep');

-- fit_attribute_lift: the fit fields, each at the evaluation's as_of.
SELECT DISTINCT field FROM lead_scoring.fit_attribute_lift('rep') ORDER BY 1;
SELECT count(*) AS lift_mismatches FROM (
    SELECT value, leads, converted FROM lead_scoring.fit_attribute_lift('rep') WHERE field = 'industry'
    EXCEPT
    SELECT min(l.industry), count(*), count(*) FILTER (WHERE EXISTS (SELECT FROM crm.deals d WHERE d.lead_id = l.id AND d.won_at > '2026-01-01 00:00+00'))
    FROM crm.leads l
    WHERE l.created_at <= '2026-01-01 00:00+00'
      AND NOT EXISTS (SELECT FROM crm.deals d WHERE d.lead_id = l.id AND d.won_at <= '2026-01-01 00:00+00')
    GROUP BY lower(l.industry)) d;

-- The views give the functions' rows for the refreshed model.
SELECT (SELECT count(*) FROM lead_scoring.chart_score_histogram WHERE model = 'rep') = (SELECT count(*) FROM lead_scoring.score_histogram('rep')) AS hist_view,
       (SELECT count(*) FROM lead_scoring.chart_gains WHERE model = 'rep') = (SELECT count(*) FROM lead_scoring.gains_curve('rep')) AS gains_view,
       (SELECT count(*) FROM lead_scoring.chart_deciles WHERE model = 'rep') = (SELECT count(DISTINCT decile) FROM dec) AS deciles_view,
       (SELECT count(*) FROM lead_scoring.chart_funnel WHERE model = 'rep') = (SELECT count(DISTINCT stage) FROM pop) AS funnel_view,
       (SELECT count(*) FROM lead_scoring.chart_stage_flow WHERE model = 'rep') = (SELECT count(*) FROM lead_scoring.stage_flow('rep')) AS flow_view,
       (SELECT count(*) FROM lead_scoring.chart_attribute_lift WHERE model = 'rep') = (SELECT count(*) FROM lead_scoring.fit_attribute_lift('rep')) AS lift_view;
-- A BI tool's catalog explains every view column and every chart function.
SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE n.nspname = 'lead_scoring' AND c.relname LIKE 'chart\_%' AND col_description(c.oid, a.attnum) IS NULL;
SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'lead_scoring'::regnamespace
  AND p.proname IN ('report', 'evaluation_split', 'score_histogram', 'gains_curve', 'decile_conversion', 'stage_funnel',
                    'stage_flow', 'fit_attribute_lift') AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT count(*) AS commented_views FROM pg_class c
WHERE c.relnamespace = 'lead_scoring'::regnamespace AND c.relname LIKE 'chart\_%' AND obj_description(c.oid, 'pg_class') IS NOT NULL;

-- The page: every chart's data-values equal the SQL above.
CREATE TEMP TABLE page AS SELECT lead_scoring.report('rep') AS html;
\i sql/include/lib.sql
SELECT pg_temp.vals(html, 'bar converted')::bigint[] = (SELECT array_agg(converted ORDER BY bin) FROM lead_scoring.score_histogram('rep'))
       AND pg_temp.vals(html, 'bar not-converted')::bigint[] = (SELECT array_agg(not_converted ORDER BY bin) FROM lead_scoring.score_histogram('rep'))
       AS histogram_drawn_as_sql,
       pg_temp.vals(html, 'point', 'data-leads')::bigint[] = (SELECT array_agg(leads ORDER BY point) FROM lead_scoring.gains_curve('rep'))
       AND pg_temp.vals(html, 'point', 'data-conversions')::bigint[] = (SELECT array_agg(conversions ORDER BY point) FROM lead_scoring.gains_curve('rep'))
       AS gains_drawn_as_sql,
       (SELECT bool_and(abs(v::float8 - r) < 1e-9) FROM unnest(pg_temp.vals(html, 'bar decile')::float8[],
                (SELECT array_agg(avg ORDER BY decile) FROM (SELECT decile, avg(y::int)::float8 AS avg FROM dec GROUP BY decile) q)) u(v, r))
       AND cardinality(pg_temp.vals(html, 'bar decile')) = (SELECT count(DISTINCT decile) FROM dec) AS deciles_drawn_as_sql,
       pg_temp.vals(html, 'bar stage')::bigint[] = (SELECT array_agg(n ORDER BY pos < 0, pos) FROM (
           SELECT stage, count(*) AS n, CASE stage WHEN 'disqualified' THEN -1 WHEN 'MQL' THEN 1 WHEN 'SQL' THEN 2 ELSE 0 END AS pos
           FROM pop GROUP BY stage) s) AS funnel_drawn_as_sql,
       pg_temp.vals(html, 'bar flow')::bigint[] <@ (SELECT array_agg(entered) FROM lead_scoring.stage_flow('rep'))
       AND (SELECT sum(v) FROM unnest(pg_temp.vals(html, 'bar flow')::bigint[]) v) = (SELECT count(*) FROM lead_scoring.stage_history WHERE model = 'rep')
       AS flow_drawn_as_sql,
       cardinality(pg_temp.vals(html, 'point lift')) = 12 AS twelve_lifts
FROM page;
-- Each lift point is its value's lift.
SELECT count(*) AS lift_points_off FROM page,
       regexp_matches(html, 'class="point lift"[^>]*data-field="([^"]*)" data-item="([^"]*)" data-missing="([a-z]*)" data-value="([^"]*)"', 'g') m
WHERE NOT EXISTS (SELECT FROM lead_scoring.fit_attribute_lift('rep') a
                  WHERE a.field = m[1] AND abs(a.lift - m[4]::float8) < 1e-9
                    AND (CASE WHEN m[3] = 'true' THEN a.value IS NULL
                              ELSE replace(replace(replace(replace(replace(m[2], '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#39;', ''''), '&amp;', '&') = a.value END));
SELECT (regexp_match(html, 'data-leads="(\d+)" data-converted="(\d+)"'))::bigint[] = ARRAY[(SELECT count(*) FROM pop), (SELECT count(*) FILTER (WHERE y) FROM pop)] AS header_counts,
       abs((regexp_match(html, 'data-auc="([^"]*)"'))[1]::float8 - (SELECT lead_scoring.auc(score, y) FROM pop WHERE NOT disqualified)) < 1e-9 AS header_auc,
       html LIKE '%Scores as of 2026-01-01 00:00 UTC; conversions after that up to now (%' AS header_says_split
FROM page;
-- Hostile labels are text: no tag but the page's own.
SELECT html NOT LIKE '%<script%' AS no_script, html NOT LIKE '%<img%' AS no_img,
       html LIKE '%&lt;script&gt;alert(1)&lt;/script&gt;%' AS title_as_text,
       (SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) FROM regexp_matches(html, '<([a-zA-Z]+)', 'g') m) AS tags
FROM page;

-- Another split: as of 2026-01-01, deals before 2026-03-01 only.
SELECT (regexp_match(lead_scoring.report('rep', '2026-01-01 00:00+00', '2026-03-01 00:00+00'), 'data-converted="(\d+)"'))[1]::bigint
       = (SELECT count(*) FROM pop WHERE lead_id IN (SELECT lead_id FROM crm.deals WHERE won_at < '2026-03-01 00:00+00')) AS window_counts;

-- Nobody converted yet (as of the sample's end): one class; the page says so.
CREATE TEMP TABLE page0 AS SELECT lead_scoring.report('rep', '2026-06-01 00:00+00') AS html;
SELECT html LIKE '%data-converted="0"%' AS no_conversions,
       html LIKE '%Nobody converted in the outcome window: no gains to show%' AS gains_says_so,
       html LIKE '%data-auc=""%' AS no_auc,
       cardinality(pg_temp.vals(html, 'bar not-converted')) = 20 AS histogram_still_drawn
FROM page0;

-- Another role: the views show it no model it has no rights to (no error, no
-- rows), report() is refused by the tables' own grants (42501, a permission
-- problem: bob has no USAGE on schema crm), and the views run
-- with the reader's rights (security_invoker), never their owner's.
CREATE ROLE regress_ls_rep_bob;
SET ROLE regress_ls_rep_bob;
SELECT (SELECT count(*) FROM lead_scoring.chart_deciles) + (SELECT count(*) FROM lead_scoring.chart_gains)
       + (SELECT count(*) FROM lead_scoring.chart_funnel) + (SELECT count(*) FROM lead_scoring.chart_stage_flow)
       + (SELECT count(*) FROM lead_scoring.chart_score_histogram) + (SELECT count(*) FROM lead_scoring.chart_attribute_lift) AS rows_bob_sees;
SELECT lead_scoring.report('rep');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_ls_rep_bob;
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'lead_scoring'::regnamespace AND c.relname LIKE 'chart\_%'
  AND NOT coalesce(c.reloptions @> '{security_invoker=true}', false);

-- Errors.
SELECT lead_scoring.report(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.report('rep', '2025-12-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_scoring.score_histogram('rep', bins => 0);
\echo :LAST_ERROR_SQLSTATE

-- Leave no trace for the suites after this one.
CALL pg_temp.drop_models('rep');
DROP SCHEMA crm CASCADE;
