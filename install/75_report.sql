-- Pictures of a model's evaluation (doc/report.md): the series a chart needs,
-- as functions (any time split) and views (every model the caller may see, at
-- its ranking's as_of), and report(), one self-contained HTML page drawn from
-- the same series. Each function is a wrapper (ls_as_model_owner) that runs
-- its body _<name> as the model's owner, for callers with the owner's
-- privileges only (doc/privileges.md); the views are security_invoker, so a
-- BI tool's role sees only the models whose owner's privileges it has.

CREATE FUNCTION lead_scoring._score_histogram(model text, converted_since timestamptz DEFAULT NULL,
                                             converted_before timestamptz DEFAULT NULL, bins int DEFAULT 20)
    RETURNS TABLE (bin int, bin_low float8, bin_high float8, converted bigint, not_converted bigint)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF bins IS NULL OR bins < 1 OR bins > 1000 THEN
        RAISE EXCEPTION 'bins must be between 1 and 1000, got %', bins USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH p AS (
        SELECT e.score, e.converted AS y FROM lead_scoring._eval_population(model, converted_since, converted_before) e
        WHERE NOT e.disqualified AND e.score IS NOT NULL
    ), r AS (
        SELECT min(p.score) AS lo, max(p.score) AS hi, CASE WHEN min(p.score) = max(p.score) THEN 1 ELSE bins END AS k FROM p
    ), g AS (
        SELECT CASE WHEN r.k = 1 THEN 1 ELSE least(r.k, width_bucket(p.score, r.lo, r.hi, r.k)) END AS b, p.y
        FROM p, r
    )
    SELECT i, r.lo + (r.hi - r.lo) * (i - 1) / r.k, CASE WHEN i = r.k THEN r.hi ELSE r.lo + (r.hi - r.lo) * i / r.k END,
           count(g.y) FILTER (WHERE g.y), count(g.y) FILTER (WHERE NOT g.y)
    FROM r CROSS JOIN LATERAL generate_series(1, r.k) i LEFT JOIN g ON g.b = i
    WHERE r.lo IS NOT NULL
    GROUP BY i, r.lo, r.hi, r.k
    ORDER BY i;
END $$;
COMMENT ON FUNCTION lead_scoring._score_histogram(text, timestamptz, timestamptz, int) IS
    'Internal: the body of score_histogram, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.score_histogram(model text, converted_since timestamptz DEFAULT NULL,
                                             converted_before timestamptz DEFAULT NULL, bins int DEFAULT 20)
    RETURNS TABLE (bin int, bin_low float8, bin_high float8, converted bigint, not_converted bigint)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.score_histogram(text, timestamptz, timestamptz, int) IS
    'Score distribution of a model''s evaluated, non-disqualified leads in equal-width bins between the lowest and highest score (width_bucket; the highest score is in the last bin), converted vs not converted (time split of evaluation_split)';
REVOKE ALL ON FUNCTION lead_scoring._score_histogram(text, timestamptz, timestamptz, int) FROM PUBLIC;

CREATE FUNCTION lead_scoring._gains_curve(model text, converted_since timestamptz DEFAULT NULL,
                                         converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (point int, leads bigint, conversions bigint, leads_share float8, conversions_share float8,
                   min_score float8)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH p AS (
        SELECT e.score, e.converted AS y FROM lead_scoring._eval_population(model, converted_since, converted_before) e
        WHERE NOT e.disqualified AND e.score IS NOT NULL
    ), g AS (
        SELECT p.score, count(*) AS n, count(*) FILTER (WHERE p.y) AS k FROM p GROUP BY p.score
    ), c AS (
        SELECT g.score, sum(g.n) OVER w AS cn, sum(g.k) OVER w AS ck FROM g
        WINDOW w AS (ORDER BY g.score DESC ROWS UNBOUNDED PRECEDING)
    ), c2 AS (
        SELECT c.*, lag(c.cn, 1, 0::numeric) OVER (ORDER BY c.score DESC) AS prev,
               row_number() OVER (ORDER BY c.score DESC) AS rn FROM c
    ), t AS (SELECT sum(g.n) AS nn, sum(g.k) AS kk FROM g)
    SELECT 0, 0::bigint, 0::bigint, 0::float8, CASE WHEN t.kk > 0 THEN 0::float8 END, NULL::float8 FROM t WHERE t.nn > 0
    UNION ALL
    -- Ties stay together (a tie cannot be split by the score); one point per
    -- percent of leads is enough to draw the curve exactly at those points.
    SELECT (row_number() OVER (ORDER BY c2.score DESC))::int, c2.cn::bigint, c2.ck::bigint, (c2.cn / t.nn)::float8,
           (c2.ck / NULLIF(t.kk, 0))::float8, c2.score
    FROM c2, t
    WHERE floor(c2.cn * 100 / t.nn) > floor(c2.prev * 100 / t.nn) OR c2.cn = t.nn
    ORDER BY 1;
END $$;
COMMENT ON FUNCTION lead_scoring._gains_curve(text, timestamptz, timestamptz) IS
    'Internal: the body of gains_curve, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.gains_curve(model text, converted_since timestamptz DEFAULT NULL,
                                         converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (point int, leads bigint, conversions bigint, leads_share float8, conversions_share float8,
                   min_score float8)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.gains_curve(text, timestamptz, timestamptz) IS
    'Cumulative gains of a model''s ranking: working the leads in score order (ties together), the share of leads worked and of conversions captured, one point per percent of leads; random = the diagonal (time split of evaluation_split)';
REVOKE ALL ON FUNCTION lead_scoring._gains_curve(text, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION lead_scoring._decile_conversion(model text, converted_since timestamptz DEFAULT NULL,
                                               converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (decile int, leads bigint, converted bigint, conversion_rate float8, base_rate float8, lift float8,
                   min_score float8, max_score float8)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.bucket::int, e.leads, e.converted, e.conversion_rate, o.conversion_rate, e.lift, e.min_score, e.max_score
    FROM lead_scoring.evaluate($1, $2, $3) e,
         (SELECT x.conversion_rate FROM lead_scoring.evaluate($1, $2, $3) x WHERE x.kind = 'overall') o
    WHERE e.kind = 'decile'
    ORDER BY 1 $$;
COMMENT ON FUNCTION lead_scoring._decile_conversion(text, timestamptz, timestamptz) IS
    'Internal: the body of decile_conversion, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.decile_conversion(model text, converted_since timestamptz DEFAULT NULL,
                                               converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (decile int, leads bigint, converted bigint, conversion_rate float8, base_rate float8, lift float8,
                   min_score float8, max_score float8)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.decile_conversion(text, timestamptz, timestamptz) IS
    'Conversion rate per score decile (1 = top 10 %) of a model''s ranking against the base rate (evaluate''s decile rows)';
REVOKE ALL ON FUNCTION lead_scoring._decile_conversion(text, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION lead_scoring._stage_funnel(model text, converted_since timestamptz DEFAULT NULL,
                                          converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (stage text, "position" int, leads bigint, reached bigint, to_next_stage float8, converted bigint,
                   conversion_rate float8)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH p AS (
        SELECT e.stage, e.converted AS y FROM lead_scoring._eval_population($1, $2, $3) e
    ), so AS (
        SELECT s.v->>'stage' AS stage, (jsonb_array_length(sp.spec->'stages') - s.o + 1)::int AS pos
        FROM (SELECT lead_scoring._eval_spec($1) AS spec) sp,
             jsonb_array_elements(coalesce(sp.spec->'stages', '[]')) WITH ORDINALITY s(v, o)
    ), st AS (
        SELECT coalesce(p.stage, '(none)') AS stage,
               CASE WHEN p.stage = 'disqualified' THEN -1
                    ELSE coalesce((SELECT max(so.pos) FROM so WHERE so.stage = p.stage), 0) END AS pos,
               count(*) AS n, count(*) FILTER (WHERE p.y) AS k
        FROM p GROUP BY 1, 2
    ), r AS (
        SELECT st.*, CASE WHEN st.pos >= 0 THEN
                   (sum(st.n) FILTER (WHERE st.pos >= 0) OVER (ORDER BY st.pos DESC ROWS UNBOUNDED PRECEDING))::bigint END AS reached
        FROM st
    )
    SELECT r.stage, r.pos, r.n, r.reached,
           CASE WHEN r.pos >= 0 THEN (lag(r.reached) OVER (ORDER BY r.pos DESC))::float8 / NULLIF(r.reached, 0) END,
           r.k, r.k::float8 / NULLIF(r.n, 0)
    FROM r
    ORDER BY r.pos < 0, r.pos $$;
COMMENT ON FUNCTION lead_scoring._stage_funnel(text, timestamptz, timestamptz) IS
    'Internal: the body of stage_funnel, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.stage_funnel(model text, converted_since timestamptz DEFAULT NULL,
                                          converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (stage text, "position" int, leads bigint, reached bigint, to_next_stage float8, converted bigint,
                   conversion_rate float8)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.stage_funnel(text, timestamptz, timestamptz) IS
    'The funnel of a model''s evaluated leads: leads per stage (position 0 = default stage, higher = further down the funnel, -1 = disqualified), reached (this stage or further), to_next_stage (share of those that reached the next stage), converted and conversion_rate (to won)';
REVOKE ALL ON FUNCTION lead_scoring._stage_funnel(text, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION lead_scoring._stage_flow(model text, since timestamptz DEFAULT NULL, before timestamptz DEFAULT NULL)
    RETURNS TABLE (week_start timestamptz, stage text, entered bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    -- Weeks start on Monday 00:00 UTC, whatever the session's time zone.
    SELECT date_bin('7 days', h.changed_at, timestamptz '2001-01-01 00:00+00'), h.to_stage, count(*)
    FROM lead_scoring.stage_history h
    WHERE h.model = $1 AND ($2 IS NULL OR h.changed_at >= $2) AND ($3 IS NULL OR h.changed_at < $3)
    GROUP BY 1, 2
    ORDER BY 1, 2 $$;
COMMENT ON FUNCTION lead_scoring._stage_flow(text, timestamptz, timestamptz) IS
    'Internal: the body of stage_flow, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.stage_flow(model text, since timestamptz DEFAULT NULL, before timestamptz DEFAULT NULL)
    RETURNS TABLE (week_start timestamptz, stage text, entered bigint)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.stage_flow(text, timestamptz, timestamptz) IS
    'Leads entering each stage per week (Monday 00:00 UTC) from lead_scoring.stage_history, optionally for changes in [since, before)';
REVOKE ALL ON FUNCTION lead_scoring._stage_flow(text, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION lead_scoring._fit_attribute_lift(model text, converted_since timestamptz DEFAULT NULL,
                                                converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (field text, value text, leads bigint, converted bigint, rate float8, lift float8,
                   ci_low float8, ci_high float8)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f text;
    t timestamptz;
BEGIN
    -- The evaluation's split, so the lifts describe the same leads as the other charts.
    SELECT s.as_of INTO t FROM lead_scoring.evaluation_split(model, converted_since, converted_before) s;
    FOR f IN SELECT DISTINCT r->>'field' FROM jsonb_array_elements(coalesce(lead_scoring._eval_spec(model)->'fit'->'rules', '[]')) r
             WHERE r->>'field' IS NOT NULL ORDER BY 1 LOOP
        RETURN QUERY SELECT f, a.value, a.leads, a.converted, a.rate, a.lift, a.ci_low, a.ci_high
                     FROM lead_scoring.attribute_lift(model, f, t, converted_before) a;
    END LOOP;
END $$;
COMMENT ON FUNCTION lead_scoring._fit_attribute_lift(text, timestamptz, timestamptz) IS
    'Internal: the body of fit_attribute_lift, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.fit_attribute_lift(model text, converted_since timestamptz DEFAULT NULL,
                                                converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (field text, value text, leads bigint, converted bigint, rate float8, lift float8,
                   ci_low float8, ci_high float8)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.fit_attribute_lift(text, timestamptz, timestamptz) IS
    'attribute_lift for every field the model''s fit rules use, with the time split of evaluation_split';
REVOKE ALL ON FUNCTION lead_scoring._fit_attribute_lift(text, timestamptz, timestamptz) FROM PUBLIC;

-- Views: every model the caller may see (a member of its owner role) that has
-- been refreshed and maps conversions, at its ranking's as_of.
CREATE VIEW lead_scoring.chart_score_histogram WITH (security_invoker = true) AS
SELECT m.name AS model, h.bin, h.bin_low, h.bin_high, h.converted, h.not_converted
FROM lead_scoring.model m CROSS JOIN LATERAL lead_scoring.score_histogram(m.name) h
WHERE pg_catalog.pg_has_role(m.owner, 'USAGE') AND m.spec->'source' ? 'conversions'
  AND EXISTS (SELECT FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) m.name);
CREATE VIEW lead_scoring.chart_gains WITH (security_invoker = true) AS
SELECT m.name AS model, g.point, g.leads, g.conversions, g.leads_share, g.conversions_share, g.min_score
FROM lead_scoring.model m CROSS JOIN LATERAL lead_scoring.gains_curve(m.name) g
WHERE pg_catalog.pg_has_role(m.owner, 'USAGE') AND m.spec->'source' ? 'conversions'
  AND EXISTS (SELECT FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) m.name);
CREATE VIEW lead_scoring.chart_deciles WITH (security_invoker = true) AS
SELECT m.name AS model, d.decile, d.leads, d.converted, d.conversion_rate, d.base_rate, d.lift, d.min_score, d.max_score
FROM lead_scoring.model m CROSS JOIN LATERAL lead_scoring.decile_conversion(m.name) d
WHERE pg_catalog.pg_has_role(m.owner, 'USAGE') AND m.spec->'source' ? 'conversions'
  AND EXISTS (SELECT FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) m.name);
CREATE VIEW lead_scoring.chart_funnel WITH (security_invoker = true) AS
SELECT m.name AS model, f.stage, f."position", f.leads, f.reached, f.to_next_stage, f.converted, f.conversion_rate
FROM lead_scoring.model m CROSS JOIN LATERAL lead_scoring.stage_funnel(m.name) f
WHERE pg_catalog.pg_has_role(m.owner, 'USAGE') AND m.spec->'source' ? 'conversions'
  AND EXISTS (SELECT FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) m.name);
CREATE VIEW lead_scoring.chart_stage_flow WITH (security_invoker = true) AS
SELECT m.name AS model, f.week_start, f.stage, f.entered
FROM lead_scoring.model m CROSS JOIN LATERAL lead_scoring.stage_flow(m.name) f
WHERE pg_catalog.pg_has_role(m.owner, 'USAGE');
CREATE VIEW lead_scoring.chart_attribute_lift WITH (security_invoker = true) AS
SELECT m.name AS model, a.field, a.value, a.leads, a.converted, a.rate, a.lift, a.ci_low, a.ci_high
FROM lead_scoring.model m CROSS JOIN LATERAL lead_scoring.fit_attribute_lift(m.name) a
WHERE pg_catalog.pg_has_role(m.owner, 'USAGE') AND m.spec->'source' ? 'conversions'
  AND EXISTS (SELECT FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) m.name);

COMMENT ON VIEW lead_scoring.chart_score_histogram IS
    'Score distribution per model, converted vs not converted, at each ranking''s as_of (a bar chart: x = bin, two series); see score_histogram() for another time split';
COMMENT ON COLUMN lead_scoring.chart_score_histogram.model IS 'Model name';
COMMENT ON COLUMN lead_scoring.chart_score_histogram.bin IS 'Bin number, 1 = lowest scores';
COMMENT ON COLUMN lead_scoring.chart_score_histogram.bin_low IS 'Lowest score of the bin (inclusive)';
COMMENT ON COLUMN lead_scoring.chart_score_histogram.bin_high IS 'Highest score of the bin (exclusive, inclusive for the last bin)';
COMMENT ON COLUMN lead_scoring.chart_score_histogram.converted IS 'Leads in the bin that converted after as_of';
COMMENT ON COLUMN lead_scoring.chart_score_histogram.not_converted IS 'Leads in the bin that did not convert';

COMMENT ON VIEW lead_scoring.chart_gains IS
    'Cumulative gains curve per model at each ranking''s as_of (a line chart: x = leads_share, y = conversions_share; the diagonal is random)';
COMMENT ON COLUMN lead_scoring.chart_gains.model IS 'Model name';
COMMENT ON COLUMN lead_scoring.chart_gains.point IS 'Point number along the curve, 0 = origin';
COMMENT ON COLUMN lead_scoring.chart_gains.leads IS 'Leads worked, best scores first';
COMMENT ON COLUMN lead_scoring.chart_gains.conversions IS 'Conversions among the leads worked';
COMMENT ON COLUMN lead_scoring.chart_gains.leads_share IS 'Share of all leads worked (0 to 1)';
COMMENT ON COLUMN lead_scoring.chart_gains.conversions_share IS 'Share of all conversions captured (0 to 1; NULL when nobody converted)';
COMMENT ON COLUMN lead_scoring.chart_gains.min_score IS 'Lowest score among the leads worked';

COMMENT ON VIEW lead_scoring.chart_deciles IS
    'Conversion rate per score decile per model at each ranking''s as_of, with the base rate (a bar chart with a reference line)';
COMMENT ON COLUMN lead_scoring.chart_deciles.model IS 'Model name';
COMMENT ON COLUMN lead_scoring.chart_deciles.decile IS 'Score decile, 1 = the top 10 % of scores';
COMMENT ON COLUMN lead_scoring.chart_deciles.leads IS 'Leads in the decile';
COMMENT ON COLUMN lead_scoring.chart_deciles.converted IS 'Leads in the decile that converted';
COMMENT ON COLUMN lead_scoring.chart_deciles.conversion_rate IS 'converted / leads';
COMMENT ON COLUMN lead_scoring.chart_deciles.base_rate IS 'Conversion rate over all evaluated leads';
COMMENT ON COLUMN lead_scoring.chart_deciles.lift IS 'conversion_rate / base_rate';
COMMENT ON COLUMN lead_scoring.chart_deciles.min_score IS 'Lowest score in the decile';
COMMENT ON COLUMN lead_scoring.chart_deciles.max_score IS 'Highest score in the decile';

COMMENT ON VIEW lead_scoring.chart_funnel IS
    'The funnel per model at each ranking''s as_of: leads per stage, share reaching the next stage, conversion to won (a funnel or bar chart ordered by position)';
COMMENT ON COLUMN lead_scoring.chart_funnel.model IS 'Model name';
COMMENT ON COLUMN lead_scoring.chart_funnel.stage IS 'Stage name';
COMMENT ON COLUMN lead_scoring.chart_funnel."position" IS '0 = default stage, higher = further down the funnel, -1 = disqualified';
COMMENT ON COLUMN lead_scoring.chart_funnel.leads IS 'Leads at this stage';
COMMENT ON COLUMN lead_scoring.chart_funnel.reached IS 'Leads at this stage or further down the funnel';
COMMENT ON COLUMN lead_scoring.chart_funnel.to_next_stage IS 'Share of the leads that reached this stage that also reached the next one';
COMMENT ON COLUMN lead_scoring.chart_funnel.converted IS 'Leads at this stage that converted';
COMMENT ON COLUMN lead_scoring.chart_funnel.conversion_rate IS 'converted / leads: conversion to won';

COMMENT ON VIEW lead_scoring.chart_stage_flow IS
    'Leads entering each stage per week per model, from stage_history (a stacked bar chart: x = week_start, series = stage)';
COMMENT ON COLUMN lead_scoring.chart_stage_flow.model IS 'Model name';
COMMENT ON COLUMN lead_scoring.chart_stage_flow.week_start IS 'Monday 00:00 UTC starting the week';
COMMENT ON COLUMN lead_scoring.chart_stage_flow.stage IS 'Stage entered';
COMMENT ON COLUMN lead_scoring.chart_stage_flow.entered IS 'Stage changes into this stage found by refreshes that week';

COMMENT ON VIEW lead_scoring.chart_attribute_lift IS
    'Conversion rate and lift per value of every field the model''s fit rules use, with Wilson 95 % intervals, at each ranking''s as_of';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.model IS 'Model name';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.field IS 'Lead field a fit rule uses';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.value IS 'Value (or "min .. max" decile of a numeric field); NULL = missing';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.leads IS 'Leads with this value';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.converted IS 'Leads with this value that converted';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.rate IS 'converted / leads';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.lift IS 'rate / base rate';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.ci_low IS 'Wilson 95 % interval of the rate, lower end';
COMMENT ON COLUMN lead_scoring.chart_attribute_lift.ci_high IS 'Wilson 95 % interval of the rate, upper end';

GRANT SELECT ON lead_scoring.chart_score_histogram, lead_scoring.chart_gains, lead_scoring.chart_deciles,
    lead_scoring.chart_funnel, lead_scoring.chart_stage_flow, lead_scoring.chart_attribute_lift TO PUBLIC;

CREATE FUNCTION lead_scoring._report(model text, converted_since timestamptz DEFAULT NULL,
                                    converted_before timestamptz DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'ls_report'
    LANGUAGE C STABLE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION lead_scoring._report(text, timestamptz, timestamptz) IS
    'Internal: the body of report, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.report(model text, converted_since timestamptz DEFAULT NULL,
                                    converted_before timestamptz DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.report(text, timestamptz, timestamptz) IS
    'One self-contained HTML page (inline SVG, no script) picturing a model''s evaluation: score distribution, cumulative gains with the AUC, conversion per decile, funnel, stage movement per week, attribute lift; time split of evaluation_split, stated in its header';
REVOKE ALL ON FUNCTION lead_scoring._report(text, timestamptz, timestamptz) FROM PUBLIC;
