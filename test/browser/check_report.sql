-- Run by test/browser/report.sh against the demo's server with :dom = the DOM
-- Chromium built from report.html. Prints the name of every failed check
-- (nothing when all pass). The header is checked against plain SQL over the
-- demo's tables; each chart's marks against the chart function it is drawn
-- from (which sql/report.sql checks against plain SQL).
CREATE TEMP TABLE dom AS SELECT :'dom'::text AS html;
-- Each chart's markup: the DOM cut at every </svg>.
CREATE TEMP TABLE charts AS
SELECT (regexp_match(part, 'data-chart="([a-z_]+)"'))[1] AS chart, part
FROM dom, LATERAL regexp_split_to_table(html, '</svg>') part
WHERE part ~ 'data-chart="';
\i sql/include/lib.sql
SELECT split_part(as_of::text, '+', 1) AS t FROM lead_scoring.evaluation_split('demo_backtest') \gset
CREATE TEMP TABLE pop AS
SELECT l.id, EXISTS (SELECT FROM crm.deals d WHERE d.lead_id = l.id AND d.won_at > s.as_of) AS y
FROM crm.leads l, lead_scoring.evaluation_split('demo_backtest') s
WHERE l.created_at <= s.as_of AND NOT EXISTS (SELECT FROM crm.deals d WHERE d.lead_id = l.id AND d.won_at <= s.as_of);

SELECT check_name FROM (VALUES
  ('six charts', (SELECT count(DISTINCT chart) FROM charts) = 6),
  ('every chart drawn with data-values',
   (SELECT bool_and(part ~ 'data-value="[^"]+"') FROM charts) AND (SELECT count(*) FROM charts) = 6),
  ('header: leads and conversions = plain SQL',
   (SELECT (regexp_match(html, 'data-leads="(\d+)" data-converted="(\d+)"'))::bigint[] FROM dom)
     = ARRAY[(SELECT count(*) FROM pop), (SELECT count(*) FILTER (WHERE y) FROM pop)]),
  ('header says the split', (SELECT html ~ 'Scores as of [0-9-]+ [0-9:]+ UTC; conversions after that up to now \([0-9-]+ [0-9:]+ UTC\)' FROM dom)),
  ('header: AUC = evaluate',
   (SELECT abs((regexp_match(html, 'data-auc="([^"]*)"'))[1]::float8 - e.auc) < 1e-9
    FROM dom, lead_scoring.evaluate('demo_backtest') e WHERE e.kind = 'overall')),
  ('histogram = score_histogram',
   (SELECT pg_temp.vals(part, 'bar converted')::bigint[] FROM charts WHERE chart = 'score_histogram')
     = (SELECT array_agg(converted ORDER BY bin) FROM lead_scoring.score_histogram('demo_backtest'))
   AND (SELECT pg_temp.vals(part, 'bar not-converted')::bigint[] FROM charts WHERE chart = 'score_histogram')
     = (SELECT array_agg(not_converted ORDER BY bin) FROM lead_scoring.score_histogram('demo_backtest'))),
  ('gains = gains_curve',
   (SELECT pg_temp.vals(part, 'point', 'data-leads')::bigint[] FROM charts WHERE chart = 'gains')
     = (SELECT array_agg(leads ORDER BY point) FROM lead_scoring.gains_curve('demo_backtest'))
   AND (SELECT pg_temp.vals(part, 'point', 'data-conversions')::bigint[] FROM charts WHERE chart = 'gains')
     = (SELECT array_agg(conversions ORDER BY point) FROM lead_scoring.gains_curve('demo_backtest'))),
  ('deciles = decile_conversion',
   (SELECT bool_and(abs(v - r) < 1e-9) AND count(*) = count(v) AND count(*) = count(r)
    FROM unnest((SELECT pg_temp.vals(part, 'bar decile')::float8[] FROM charts WHERE chart = 'deciles'),
                (SELECT array_agg(conversion_rate ORDER BY decile) FROM lead_scoring.decile_conversion('demo_backtest'))) u(v, r))),
  ('funnel = stage_funnel',
   (SELECT pg_temp.vals(part, 'bar stage')::bigint[] FROM charts WHERE chart = 'funnel')
     = (SELECT array_agg(leads ORDER BY "position" < 0, "position") FROM lead_scoring.stage_funnel('demo_backtest'))),
  ('stage flow = stage_history',
   (SELECT sum(v) FROM charts, unnest(pg_temp.vals(part, 'bar flow')::bigint[]) v WHERE chart = 'stage_flow')
     = (SELECT count(*) FROM lead_scoring.stage_history WHERE model = 'demo_backtest')),
  ('attribute lift = fit_attribute_lift',
   (SELECT count(*) = 12 AND bool_and(EXISTS (SELECT FROM lead_scoring.fit_attribute_lift('demo_backtest') a
                                               WHERE abs(a.lift - v) < 1e-9))
    FROM charts, unnest(pg_temp.vals(part, 'point lift')::float8[]) v WHERE chart = 'attribute_lift')),
  ('nothing to fetch, no script',
   (SELECT html !~* '<script|src="http|href="http|url\(' FROM dom))
) c(check_name, ok)
WHERE ok IS DISTINCT FROM true;
