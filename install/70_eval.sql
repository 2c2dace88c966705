-- Evaluation (DESIGN.md §9): ROC AUC, logistic regression, evaluate(),
-- attribute_lift(). See doc/eval.md.

-- auc(score, converted) ------------------------------------------------------
CREATE FUNCTION lead_scoring._auc_trans(internal, float8, boolean) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_auc_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._auc_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_auc_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._auc_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ls_auc_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._auc_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_auc_deserialize' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._auc_final(internal) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_auc_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring._auc_trans(internal, float8, boolean) IS 'Internal: transition function of auc';
COMMENT ON FUNCTION lead_scoring._auc_combine(internal, internal) IS 'Internal: combine function of auc';
COMMENT ON FUNCTION lead_scoring._auc_serialize(internal) IS 'Internal: serialization function of auc';
COMMENT ON FUNCTION lead_scoring._auc_deserialize(bytea, internal) IS 'Internal: deserialization function of auc';
COMMENT ON FUNCTION lead_scoring._auc_final(internal) IS 'Internal: final function of auc';

-- SSPACE: the initial 1024 (score, pos, neg) entries of 24 bytes.
CREATE AGGREGATE lead_scoring.auc(score float8, converted boolean) (
    SFUNC = lead_scoring._auc_trans,
    STYPE = internal,
    SSPACE = 24640,
    FINALFUNC = lead_scoring._auc_final,
    COMBINEFUNC = lead_scoring._auc_combine,
    SERIALFUNC = lead_scoring._auc_serialize,
    DESERIALFUNC = lead_scoring._auc_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE lead_scoring.auc(float8, boolean) IS
    'Exact ROC AUC: P(score of a converted row > score of a non-converted row), ties count 1/2; NULL when a class is empty; rows with NULL score or outcome are skipped; NaN scores are an error';

-- logistic_fit(features, label, l2) -------------------------------------------
CREATE FUNCTION lead_scoring._logistic_trans(internal, float8[], boolean, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_logistic_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._logistic_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_logistic_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._logistic_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ls_logistic_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._logistic_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_logistic_deserialize' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._logistic_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_logistic_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring._logistic_trans(internal, float8[], boolean, float8) IS 'Internal: transition function of logistic_fit';
COMMENT ON FUNCTION lead_scoring._logistic_combine(internal, internal) IS 'Internal: combine function of logistic_fit';
COMMENT ON FUNCTION lead_scoring._logistic_serialize(internal) IS 'Internal: serialization function of logistic_fit';
COMMENT ON FUNCTION lead_scoring._logistic_deserialize(bytea, internal) IS 'Internal: deserialization function of logistic_fit';
COMMENT ON FUNCTION lead_scoring._logistic_final(internal) IS 'Internal: final function of logistic_fit (Newton iterations)';

CREATE FUNCTION lead_scoring._logistic_trans(internal, float8[], boolean) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_logistic_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring._logistic_trans(internal, float8[], boolean) IS 'Internal: transition function of logistic_fit with l2 = 1';

-- The state keeps the rows: SSPACE is the initial 256 rows of a 10-feature fit.
-- CREATE AGGREGATE has no argument defaults: the two-argument form is l2 = 1.0.
CREATE AGGREGATE lead_scoring.logistic_fit(features float8[], label boolean, l2 float8) (
    SFUNC = lead_scoring._logistic_trans,
    STYPE = internal,
    SSPACE = 22600,
    FINALFUNC = lead_scoring._logistic_final,
    COMBINEFUNC = lead_scoring._logistic_combine,
    SERIALFUNC = lead_scoring._logistic_serialize,
    DESERIALFUNC = lead_scoring._logistic_deserialize,
    PARALLEL = SAFE
);
CREATE AGGREGATE lead_scoring.logistic_fit(features float8[], label boolean) (
    SFUNC = lead_scoring._logistic_trans,
    STYPE = internal,
    SSPACE = 22600,
    FINALFUNC = lead_scoring._logistic_final,
    COMBINEFUNC = lead_scoring._logistic_combine,
    SERIALFUNC = lead_scoring._logistic_serialize,
    DESERIALFUNC = lead_scoring._logistic_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE lead_scoring.logistic_fit(float8[], boolean, float8) IS
    'L2-regularised logistic regression (intercept unpenalised) by Newton''s method: {"intercept", "coef", "iterations", "converged", "log_loss", "gradient_norm", "rows", "l2"}';
COMMENT ON AGGREGATE lead_scoring.logistic_fit(float8[], boolean) IS
    'logistic_fit(features, label, l2 => 1.0)';

-- evaluate(model) and attribute_lift(model, field) ----------------------------
-- Both read the tables the model's "source" names (DESIGN.md §8). Every name is
-- resolved to a regclass or a checked column and quoted with %I/%s; names are
-- resolved with search_path = pg_catalog, pg_temp, so source tables must be
-- schema-qualified.

CREATE FUNCTION lead_scoring._eval_spec(model text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s jsonb;
BEGIN
    IF model IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT m.spec INTO s FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead scoring model "%" does not exist', model USING ERRCODE = '22023';
    END IF;
    IF s->'source' IS NULL THEN
        RAISE EXCEPTION 'lead scoring model "%" has no "source" mapping (DESIGN §8)', model USING ERRCODE = '22023';
    END IF;
    RETURN s;
END $$;
COMMENT ON FUNCTION lead_scoring._eval_spec(text) IS 'Internal: the spec of a model that has a source mapping, or an ERROR';

-- The relation a spec path names, or ERROR 42P01 naming that path.
CREATE FUNCTION lead_scoring._eval_relation(name text, path text) RETURNS regclass
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r regclass;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'model spec has no table at %', path USING ERRCODE = '22023';
    END IF;
    BEGIN
        r := pg_catalog.to_regclass(name);
    EXCEPTION WHEN OTHERS THEN  -- a malformed name such as 'a.b.c.d'
        RAISE EXCEPTION 'invalid table name "%" at %', name, path USING ERRCODE = '42602';
    END;
    IF r IS NULL THEN
        RAISE EXCEPTION 'table "%" named at % does not exist', name, path
            USING ERRCODE = '42P01',
                  HINT = 'Names are resolved with search_path = pg_catalog, pg_temp: schema-qualify them.';
    END IF;
    RETURN r;
END $$;
COMMENT ON FUNCTION lead_scoring._eval_relation(text, text) IS 'Internal: resolves a table named in a model spec, or raises an ERROR naming the JSON path';

-- The column a spec path names, or ERROR 42703; returns its type.
CREATE FUNCTION lead_scoring._eval_column(rel regclass, col text, path text) RETURNS regtype
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t regtype;
BEGIN
    SELECT a.atttypid INTO t FROM pg_catalog.pg_attribute a
    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attname OPERATOR(pg_catalog.=) col
      AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" named at % does not exist in %', col, path, rel USING ERRCODE = '42703';
    END IF;
    RETURN t;
END $$;
COMMENT ON FUNCTION lead_scoring._eval_column(regclass, text, text) IS 'Internal: checks a column named in a model spec and returns its type';

-- SQL (a WHERE condition over alias c) selecting the conversions in [since, until).
CREATE FUNCTION lead_scoring._eval_conversions(spec jsonb, since timestamptz, until timestamptz) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    conv jsonb := spec->'source'->'conversions';
    rel regclass;
    lead_col text;
    time_col text;
BEGIN
    IF conv IS NULL THEN
        RAISE EXCEPTION 'the model has no conversions table at $.source.conversions' USING ERRCODE = '22023';
    END IF;
    rel := lead_scoring._eval_relation(conv->>'table', '$.source.conversions.table');
    lead_col := conv->>'lead_id';
    PERFORM lead_scoring._eval_column(rel, lead_col, '$.source.conversions.lead_id');
    time_col := conv->>'time';
    IF time_col IS NULL THEN
        IF since IS NOT NULL OR until IS NOT NULL THEN
            RAISE EXCEPTION 'converted_since/converted_before need a conversion time: the model has no $.source.conversions.time'
                USING ERRCODE = '22023';
        END IF;
        RETURN format('SELECT c.%I FROM %s c', lead_col, rel);
    END IF;
    PERFORM lead_scoring._eval_column(rel, time_col, '$.source.conversions.time');
    RETURN format('SELECT c.%1$I FROM %2$s c WHERE ($1 IS NULL OR c.%3$I >= $1) AND ($2 IS NULL OR c.%3$I < $2)',
                  lead_col, rel, time_col);
END $$;
COMMENT ON FUNCTION lead_scoring._eval_conversions(jsonb, timestamptz, timestamptz) IS
    'Internal: a query returning the lead ids converted in [since, until), built from the model''s conversions mapping';

CREATE FUNCTION lead_scoring.evaluate(model text, converted_since timestamptz DEFAULT NULL,
                                      converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (kind text, bucket text, leads bigint, converted bigint, conversion_rate float8,
                   lift float8, auc float8, min_score float8, max_score float8)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    spec jsonb := lead_scoring._eval_spec(model);
    ranking regclass;
    conv_sql text;
BEGIN
    ranking := lead_scoring._eval_relation(coalesce(spec->'source'->>'target',
                                                    'lead_scoring.' || quote_ident('ranking_' || model)),
                                           '$.source.target');
    PERFORM lead_scoring._eval_column(ranking, c, '$.source.target')
    FROM unnest(ARRAY['lead_id', 'score', 'stage', 'disqualified']) c;
    conv_sql := lead_scoring._eval_conversions(spec, converted_since, converted_before);
    RETURN QUERY EXECUTE format($q$
        WITH r AS (
            SELECT t.score::float8 AS score, t.stage::text AS stage, coalesce(t.disqualified, false) AS dq,
                   coalesce(t.lead_id IN (%1$s), false) AS y
            FROM %2$s t
        ), base AS (
            SELECT count(*) AS n, count(*) FILTER (WHERE y) AS k,
                   (count(*) FILTER (WHERE y))::float8 / NULLIF(count(*), 0) AS rate
            FROM r
        ), ranked AS (
            SELECT score, y, rank() OVER (ORDER BY score DESC) AS rk, count(*) OVER () AS m
            FROM r WHERE NOT dq AND score IS NOT NULL
        ), stage_order AS (
            SELECT e.v->>'stage' AS stage, e.o FROM jsonb_array_elements($3->'stages') WITH ORDINALITY e(v, o)
        ), rows AS (
            SELECT 0 AS grp, 0::bigint AS ord, 'overall'::text AS kind, 'all'::text AS bucket,
                   b.n AS leads, b.k AS converted,
                   (SELECT lead_scoring.auc(score, y) FROM r WHERE NOT dq) AS auc,
                   (SELECT min(score) FROM r) AS min_score, (SELECT max(score) FROM r) AS max_score
            FROM base b
            UNION ALL
            SELECT 1, coalesce((SELECT so.o FROM stage_order so WHERE so.stage = r.stage LIMIT 1),
                               CASE WHEN r.stage = 'disqualified' THEN 1000001 ELSE 1000000 END),
                   'stage', coalesce(r.stage, '(none)'), count(*), count(*) FILTER (WHERE y), NULL,
                   min(score), max(score)
            FROM r GROUP BY r.stage
            UNION ALL
            SELECT 2, d, 'decile', d::text, count(*), count(*) FILTER (WHERE y), NULL, min(score), max(score)
            FROM (SELECT (rk - 1) * 10 / m + 1 AS d, score, y FROM ranked) x GROUP BY d
        )
        SELECT rows.kind, rows.bucket, rows.leads, rows.converted,
               rows.converted::float8 / NULLIF(rows.leads, 0),
               (rows.converted::float8 / NULLIF(rows.leads, 0)) / NULLIF(base.rate, 0),
               rows.auc, rows.min_score, rows.max_score
        FROM rows, base
        ORDER BY rows.grp, rows.ord, rows.bucket
    $q$, conv_sql, ranking) USING converted_since, converted_before, spec;
END $$;
COMMENT ON FUNCTION lead_scoring.evaluate(text, timestamptz, timestamptz) IS
    'Conversion rate and lift over the base rate per stage and per score decile (1 = top) of the model''s ranking, plus the overall row with the ROC AUC of the score over non-disqualified leads; conversions optionally restricted to [converted_since, converted_before)';

CREATE FUNCTION lead_scoring.attribute_lift(model text, field text, converted_since timestamptz DEFAULT NULL,
                                            converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (value text, leads bigint, converted bigint, rate float8, lift float8,
                   ci_low float8, ci_high float8)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    spec jsonb := lead_scoring._eval_spec(model);
    src jsonb := spec->'source'->'leads';
    rel regclass;
    id_col text := src->>'id';
    props_col text := src->>'properties';
    col_type regtype;
    expr text;         -- the field's value as text, over alias t
    num_expr text;     -- the field's value as float8 when the field is numeric
    is_num boolean;
    conv_sql text;
    n_distinct bigint;
    grouped text;      -- a query over l(v, x, y) giving (ord, value, leads, converted)
BEGIN
    IF field IS NULL THEN
        RAISE EXCEPTION 'field must not be NULL' USING ERRCODE = '22004';
    END IF;
    rel := lead_scoring._eval_relation(src->>'table', '$.source.leads.table');
    PERFORM lead_scoring._eval_column(rel, id_col, '$.source.leads.id');
    conv_sql := lead_scoring._eval_conversions(spec, converted_since, converted_before);
    SELECT a.atttypid::regtype INTO col_type FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attname = field AND a.attnum > 0 AND NOT a.attisdropped;
    IF FOUND THEN
        expr := format('t.%I::text', field);
        IF (SELECT typcategory FROM pg_type WHERE oid = col_type) = 'N' THEN
            num_expr := format('t.%I::float8', field);
        END IF;
    ELSIF props_col IS NOT NULL THEN
        PERFORM lead_scoring._eval_column(rel, props_col, '$.source.leads.properties');
        expr := format('t.%I ->> %L', props_col, field);
        -- A property is numeric when every present, non-null value is a JSON number.
        EXECUTE format('SELECT bool_and(jsonb_typeof(t.%1$I -> %2$L) = ''number'') FROM %3$s t '
                       'WHERE jsonb_typeof(t.%1$I -> %2$L) <> ''null''', props_col, field, rel)
            INTO is_num;
        IF is_num THEN
            num_expr := format('CASE WHEN jsonb_typeof(t.%1$I -> %2$L) = ''number'' THEN (t.%1$I -> %2$L)::float8 END',
                               props_col, field);
        END IF;
    ELSE
        RAISE EXCEPTION 'field "%" is not a column of % and the model maps no properties column', field, rel
            USING ERRCODE = '42703';
    END IF;

    IF num_expr IS NOT NULL THEN
        EXECUTE format('SELECT count(DISTINCT %s) FROM %s t', num_expr, rel) INTO n_distinct;
    END IF;
    IF num_expr IS NULL THEN
        -- Categories, the largest first; NULL (missing) last.
        grouped := 'SELECT CASE WHEN v IS NULL THEN 1 ELSE 0 END::float8 * 1e18 - count(*) AS ord, v AS value,
                           count(*) AS leads, count(*) FILTER (WHERE y) AS converted FROM l GROUP BY v';
    ELSIF n_distinct <= 10 THEN
        -- Few numeric values: one row each, in numeric order.
        grouped := 'SELECT coalesce(x, ''Infinity''), min(v), count(*), count(*) FILTER (WHERE y) FROM l GROUP BY x';
    ELSE
        -- Deciles: breaks at percentile_disc(0.1 .. 0.9) of the values; bucket k
        -- holds breaks[k] <= x < breaks[k+1]; labelled "min .. max" of its values.
        grouped := 'SELECT coalesce(b, 1e9), CASE WHEN b IS NULL THEN NULL ELSE min(x)::text || '' .. '' || max(x)::text END,
                           count(*), count(*) FILTER (WHERE y)
                    FROM (SELECT width_bucket(x, (SELECT array_agg(DISTINCT q ORDER BY q) FROM unnest(
                                 (SELECT percentile_disc(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
                                         WITHIN GROUP (ORDER BY x) FROM l)) q)) AS b, x, y
                          FROM l) d
                    GROUP BY b';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH l AS MATERIALIZED (
            SELECT %1$s AS v, %2$s AS x, coalesce(t.%3$I IN (%4$s), false) AS y FROM %5$s t
        ), g(ord, value, leads, converted) AS (%6$s),
        base AS (SELECT (count(*) FILTER (WHERE y))::float8 / NULLIF(count(*), 0) AS rate FROM l)
        SELECT g.value, g.leads, g.converted, w.p, w.p / NULLIF(base.rate, 0),
               (w.p + w.z2 / (2 * g.leads) - w.half) / (1 + w.z2 / g.leads),
               (w.p + w.z2 / (2 * g.leads) + w.half) / (1 + w.z2 / g.leads)
        FROM g, base,
             LATERAL (SELECT g.converted::float8 / g.leads AS p, 1.959963984540054::float8 ^ 2 AS z2) p0,
             LATERAL (SELECT p0.p, p0.z2,
                             1.959963984540054 * sqrt(p0.p * (1 - p0.p) / g.leads + p0.z2 / (4.0 * g.leads * g.leads)) AS half) w
        ORDER BY g.ord, g.value
    $q$, expr, coalesce(num_expr, 'NULL::float8'), id_col, conv_sql, rel, grouped)
    USING converted_since, converted_before;
END $$;
COMMENT ON FUNCTION lead_scoring.attribute_lift(text, text, timestamptz, timestamptz) IS
    'Conversion rate, lift over the base rate and Wilson 95% interval per value of a lead field (a column of the leads table, else a key of its properties jsonb); numeric fields with more than 10 distinct values are bucketed at their deciles';
