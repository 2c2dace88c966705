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
        -- to_regclass returns NULL for a syntax error since PostgreSQL 16
        PERFORM pg_catalog.parse_ident(name);
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
        -- Text values are grouped case-insensitively, as every rule compares them
        -- ('CFO' and 'cfo' are one value); the label is the group's first spelling.
        grouped := 'SELECT CASE WHEN pg_catalog.min(v) IS NULL THEN 1 ELSE 0 END::float8 * 1e18 - count(*) AS ord,
                           pg_catalog.min(v) AS value,
                           count(*) AS leads, count(*) FILTER (WHERE y) AS converted FROM l GROUP BY pg_catalog.lower(v)';
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

-- suggest_model(model) ---------------------------------------------------------
-- Learns points from won/lost history: features are each fit rule's indicator
-- and each event type's decayed event count (DESIGN §4 weights), capped where
-- the current spec's cap is reached; labels are conversions after the feature
-- date. Time-based split: the model is trained on features as of train_as_of
-- with conversions in [train_as_of, holdout_as_of) and evaluated on features
-- as of holdout_as_of with conversions from holdout_as_of on; leads converted
-- before a period's date, or not yet known then (no event yet), are left out
-- of it. Feature set and l2 are chosen on a validation split inside the
-- training period, never on the holdout.

-- Total score (DESIGN §5) from the fit score and per-slot decayed counts, where
-- slots are `types` followed by the wildcard slot.
CREATE FUNCTION lead_scoring._suggest_score(spec jsonb, fit float8, types text[], counts float8[]) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    WITH slot AS (
        SELECT coalesce(spec->'activity'->'events'->(types[i]), spec->'activity'->'events'->'*') AS ev, counts[i] AS c
        FROM generate_subscripts(types, 1) i
        UNION ALL
        SELECT spec->'activity'->'events'->'*', counts[cardinality(types) + 1]
    ), act AS (
        SELECT coalesce(sum(CASE WHEN ev ? 'cap' THEN greatest(-(ev->>'cap')::float8, least((ev->>'cap')::float8, p))
                                 ELSE p END), 0) AS a
        FROM (SELECT ev, coalesce((ev->>'points')::float8, 0) * coalesce(c, 0) AS p FROM slot) s
    ), clamped AS (
        SELECT greatest(coalesce((spec->'activity'->>'min')::float8, '-Infinity'),
                        least(coalesce((spec->'activity'->>'max')::float8, 'Infinity'), a)) AS a
        FROM act
    )
    SELECT greatest(coalesce((spec->'score'->>'min')::float8, '-Infinity'),
                    least(coalesce((spec->'score'->>'max')::float8, 'Infinity'),
                          coalesce((spec->'weights'->>'fit')::float8, 1) * fit
                          + coalesce((spec->'weights'->>'activity')::float8, 1) * a))
    FROM clamped $$;
COMMENT ON FUNCTION lead_scoring._suggest_score(jsonb, float8, text[], float8[]) IS
    'Internal: total score from a fit score and per-event-type decayed counts under a spec (caps, clamps, weights)';

-- Σ a[i]·b[i] over the common length (the score of a linear spec).
CREATE FUNCTION lead_scoring._suggest_dot(a float8[], b float8[]) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(sum(a[i] * b[i]), 0) FROM generate_subscripts(a, 1) i $$;
COMMENT ON FUNCTION lead_scoring._suggest_dot(float8[], float8[]) IS
    'Internal: dot product of two float8 arrays (the score of learned points over their features)';

-- Learned coefficients as readable integer points: round(coef × k), k putting
-- the largest |coef| at `scale` points (10 points per doubling of the odds
-- when scale is NULL or 0). Returns {"k": k, "points": [...]}.
CREATE FUNCTION lead_scoring._suggest_points(coef float8[], scale float8) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    WITH m AS (SELECT max(abs(c)) AS cm FROM unnest(coef) c),
    k AS (SELECT CASE WHEN coalesce(scale, 0) > 0 AND cm > 0 THEN scale / cm ELSE 10 / ln(2) END AS k FROM m)
    SELECT jsonb_build_object('k', k.k, 'points',
               coalesce((SELECT jsonb_agg(round(c * k.k)::float8 ORDER BY i)
                         FROM unnest(coef) WITH ORDINALITY u(c, i)), '[]'))
    FROM k $$;
COMMENT ON FUNCTION lead_scoring._suggest_points(float8[], float8) IS
    'Internal: rescales logistic coefficients to integer points (largest effect = scale points)';

CREATE FUNCTION lead_scoring.suggest_model(model text, l2 float8 DEFAULT 1.0,
                                           train_as_of timestamptz DEFAULT NULL,
                                           holdout_as_of timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    spec jsonb := lead_scoring._eval_spec(model);
    src jsonb := spec->'source';
    leads_rel regclass;
    id_col text := src->'leads'->>'id';
    props_col text := src->'leads'->>'properties';
    conv_rel regclass;
    conv_lead text := src->'conversions'->>'lead_id';
    conv_time text := src->'conversions'->>'time';
    ev_rel regclass;
    types text[];
    has_wild boolean := coalesce(spec->'activity'->'events' ? '*', false);
    nrules int := coalesce(jsonb_array_length(spec->'fit'->'rules'), 0);
    nfeat int;
    capc float8[];          -- per activity slot: the count at which the current cap is reached
    attrs_sql text;
    counts_sql text;
    known_sql text;         -- per lead: its first event, or no rows without an events source
    id_type text;
    decay_kind text;
    decay_secs float8;
    window_secs float8;
    valid_as_of timestamptz;
    fit jsonb;
    coef float8[];
    k float8;
    cur_max float8;
    new_spec jsonb;
    pts float8[];
    auc_cur float8;
    auc_new float8;
    train_n bigint; train_k bigint; hold_n bigint; hold_k bigint;
    inner_n bigint; inner_k bigint; val_n bigint; val_k bigint;
    -- model selection on the validation period (inside the training period)
    grp text;
    lo int; hi int;
    lam float8;
    l2s float8[];
    cand jsonb;
    cand_auc float8;
    candidates jsonb := '[]';
    best jsonb;
    best_auc float8;
    cur_val_auc float8;
    keep_current boolean := false;
BEGIN
    IF l2 IS NULL OR NOT (l2 >= 0) OR l2 = 'Infinity' THEN
        RAISE EXCEPTION 'suggest_model: l2 must be a finite number >= 0' USING ERRCODE = '22023';
    END IF;
    leads_rel := lead_scoring._eval_relation(src->'leads'->>'table', '$.source.leads.table');
    PERFORM lead_scoring._eval_column(leads_rel, id_col, '$.source.leads.id');
    IF src->'conversions' IS NULL OR conv_time IS NULL THEN
        RAISE EXCEPTION 'suggest_model needs conversion times: the model has no $.source.conversions.time'
            USING ERRCODE = '22023';
    END IF;
    conv_rel := lead_scoring._eval_relation(src->'conversions'->>'table', '$.source.conversions.table');
    PERFORM lead_scoring._eval_column(conv_rel, conv_lead, '$.source.conversions.lead_id');
    PERFORM lead_scoring._eval_column(conv_rel, conv_time, '$.source.conversions.time');

    -- Split dates: by default the 40% and 70% quantiles of the conversion times.
    IF train_as_of IS NULL AND holdout_as_of IS NULL THEN
        EXECUTE format('SELECT percentile_disc(0.4) WITHIN GROUP (ORDER BY c.%1$I), '
                       'percentile_disc(0.7) WITHIN GROUP (ORDER BY c.%1$I) FROM %2$s c', conv_time, conv_rel)
            INTO train_as_of, holdout_as_of;
        IF train_as_of IS NULL OR train_as_of >= holdout_as_of THEN
            RAISE EXCEPTION 'suggest_model: too few distinct conversion times to split history into train and holdout periods'
                USING ERRCODE = '22023';
        END IF;
    ELSIF train_as_of IS NULL OR holdout_as_of IS NULL OR train_as_of >= holdout_as_of THEN
        RAISE EXCEPTION 'suggest_model: give both train_as_of and holdout_as_of, train_as_of first' USING ERRCODE = '22023';
    END IF;
    -- The validation date splits the training period in two (the median
    -- conversion time inside it, else its midpoint): candidates are fitted on
    -- [train_as_of, valid_as_of) and compared on [valid_as_of, holdout_as_of),
    -- so nothing is chosen by looking at the holdout period.
    EXECUTE format('SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY c.%1$I) FROM %2$s c '
                   'WHERE c.%1$I > $1 AND c.%1$I < $2', conv_time, conv_rel)
        INTO valid_as_of USING train_as_of, holdout_as_of;
    IF valid_as_of IS NULL THEN
        valid_as_of := train_as_of + (holdout_as_of - train_as_of) / 2;
    END IF;

    -- Event types: the spec's named types in name order, then the wildcard slot.
    SELECT coalesce(array_agg(t ORDER BY t), '{}') INTO types
    FROM jsonb_object_keys(coalesce(spec->'activity'->'events', '{}')) t WHERE t <> '*';
    -- A capped type's feature is its decayed count capped where the current
    -- cap is reached (cap / |points|): the new spec keeps the cap at that count,
    -- so its score is exactly the linear function that was learned.
    capc := ARRAY(SELECT CASE WHEN ev ? 'cap' AND coalesce((ev->>'points')::float8, 0) <> 0
                              THEN (ev->>'cap')::float8 / abs((ev->>'points')::float8)
                              ELSE 'Infinity'::float8 END
                  FROM unnest(types) WITH ORDINALITY u(t, i),
                       LATERAL (SELECT spec->'activity'->'events'->t AS ev) e ORDER BY i)
            || 'Infinity'::float8;
    nfeat := nrules + cardinality(types) + 1;
    IF src ? 'events' AND spec ? 'activity' THEN
        ev_rel := lead_scoring._eval_relation(src->'events'->>'table', '$.source.events.table');
        PERFORM lead_scoring._eval_column(ev_rel, src->'events'->>'lead_id', '$.source.events.lead_id');
        PERFORM lead_scoring._eval_column(ev_rel, src->'events'->>'type', '$.source.events.type');
        PERFORM lead_scoring._eval_column(ev_rel, src->'events'->>'time', '$.source.events.time');
        -- per period, lead and slot: the decayed event count as of the period's
        -- date, DESIGN §4 weights (decay kind $10, its interval $11 and the
        -- window $12 in seconds; events older than the window do not count)
        decay_kind := coalesce(spec->'activity'->'decay'->>'kind', 'none');
        decay_secs := extract(epoch FROM (spec->'activity'->'decay'->>CASE decay_kind WHEN 'exponential' THEN 'half_life'
                                          WHEN 'linear' THEN 'lifetime' ELSE 'expire_after' END)::interval)::float8;
        window_secs := extract(epoch FROM (spec->'activity'->>'window')::interval)::float8;
        counts_sql := format($q$
            SELECT p.period, x.lead_id, jsonb_object_agg(x.slot, x.w) AS o
            FROM period p,
                 LATERAL (SELECT e.%1$I AS lead_id,
                                 coalesce(array_position($2, e.%2$I::text), CASE WHEN $3 THEN cardinality($2) + 1 END) AS slot,
                                 sum(CASE WHEN $12 IS NOT NULL AND a.age > $12 THEN NULL
                                          WHEN $10 = 'exponential' THEN 2 ^ (-a.age / $11)
                                          WHEN $10 = 'linear' THEN greatest(0, 1 - a.age / $11)
                                          WHEN $10 = 'step' THEN CASE WHEN a.age < $11 THEN 1 ELSE 0 END
                                          ELSE 1 END) AS w
                          FROM %4$s e CROSS JOIN LATERAL (SELECT extract(epoch FROM p.as_of - e.%3$I)::float8 AS age) a
                          WHERE e.%3$I <= p.as_of AND e.%2$I IS NOT NULL GROUP BY 1, 2) x
            WHERE x.slot IS NOT NULL AND x.w IS NOT NULL
            GROUP BY 1, 2$q$, src->'events'->>'lead_id', src->'events'->>'type', src->'events'->>'time', ev_rel);
        -- a lead is known from its first event (of any type) on
        known_sql := format('SELECT e.%1$I AS lead_id, min(e.%2$I) AS first_at FROM %3$s e GROUP BY 1',
                            src->'events'->>'lead_id', src->'events'->>'time', ev_rel);
    ELSE
        -- no events: empty sets whose lead_id has the leads' id type
        SELECT format_type(a.atttypid, a.atttypmod) INTO id_type FROM pg_attribute a
        WHERE a.attrelid = leads_rel AND a.attname OPERATOR(pg_catalog.=) id_col;
        counts_sql := format('SELECT NULL::int AS period, NULL::%s AS lead_id, NULL::jsonb AS o WHERE false', id_type);
        known_sql := format('SELECT NULL::%s AS lead_id, NULL::timestamptz AS first_at WHERE false', id_type);
    END IF;
    IF props_col IS NOT NULL THEN
        PERFORM lead_scoring._eval_column(leads_rel, props_col, '$.source.leads.properties');
        attrs_sql := format('coalesce(ls_lead.%1$I, ''{}'') || (to_jsonb(ls_lead) - %1$L)', props_col);
    ELSE
        attrs_sql := 'to_jsonb(ls_lead)';
    END IF;

    IF pg_catalog.to_regclass('pg_temp._ls_suggest') IS NOT NULL THEN
        DROP TABLE pg_temp._ls_suggest;
    END IF;
    -- period 0: training (features as of train_as_of; y = converted before
    -- valid_as_of, y_train = converted before holdout_as_of); 1: validation
    -- (features as of valid_as_of, y = converted before holdout_as_of);
    -- 2: holdout (features as of holdout_as_of, y = converted later).
    CREATE TEMP TABLE _ls_suggest (period int, attrs jsonb, counts float8[], x float8[], y boolean, y_train boolean);
    -- One row per lead and period: features as of the period's date, label =
    -- first conversion inside the period; leads converted earlier are left out,
    -- and so are leads not yet known then (no event on or before the date, when
    -- the model maps events): today's leads table also holds leads that
    -- arrived later, and scoring them as of a date before they existed would
    -- teach and test the model on a population no ranking ever held.
    EXECUTE format($q$
        WITH period(period, as_of, until, until_train) AS
            (VALUES (0, $1, $7, $5), (1, $7, $5, $5), (2, $5, NULL::timestamptz, NULL::timestamptz)),
        conv AS (SELECT c.%1$I AS lead_id, min(c.%2$I) AS first_at FROM %3$s c GROUP BY 1),
        cnt AS (%7$s),
        known AS (%8$s),
        l AS (
            SELECT p.period, ls_lead.%4$I AS lead_id, %5$s AS attrs,
                   coalesce(cv.first_at >= p.as_of AND (p.until IS NULL OR cv.first_at < p.until), false) AS y,
                   coalesce(cv.first_at >= p.as_of AND (p.until_train IS NULL OR cv.first_at < p.until_train), false) AS y_train
            FROM period p CROSS JOIN %6$s ls_lead LEFT JOIN conv cv ON cv.lead_id = ls_lead.%4$I
            WHERE (cv.first_at IS NULL OR cv.first_at >= p.as_of)
              AND (NOT $9 OR EXISTS (SELECT FROM known k WHERE k.lead_id = ls_lead.%4$I AND k.first_at <= p.as_of))
        )
        INSERT INTO pg_temp._ls_suggest
        SELECT l.period, l.attrs, c.counts,
               ARRAY(SELECT CASE WHEN i - 1 = ANY (b.matched) THEN 1 ELSE 0 END::float8
                     FROM generate_series(1, $6) i ORDER BY i)
               || ARRAY(SELECT least(c.counts[s], $8[s]) FROM generate_subscripts(c.counts, 1) s ORDER BY s),
               l.y, l.y_train
        FROM l
        LEFT JOIN cnt ON cnt.period = l.period AND cnt.lead_id = l.lead_id
        CROSS JOIN LATERAL (SELECT ARRAY(SELECT (r->>'rule')::int
                                         FROM jsonb_array_elements(lead_scoring.fit_breakdown($4, l.attrs)) r) AS matched) b
        CROSS JOIN LATERAL (SELECT ARRAY(SELECT coalesce((cnt.o->>s::text)::float8, 0)
                                         FROM generate_series(1, cardinality($2) + 1) s) AS counts) c
    $q$, conv_lead, conv_time, conv_rel, id_col, attrs_sql, leads_rel, counts_sql, known_sql)
    USING train_as_of, types, has_wild, spec, holdout_as_of, nrules, valid_as_of, capc, ev_rel IS NOT NULL,
          decay_kind, decay_secs, window_secs;

    SELECT count(*) FILTER (WHERE period = 0), count(*) FILTER (WHERE period = 0 AND y_train),
           count(*) FILTER (WHERE period = 2), count(*) FILTER (WHERE period = 2 AND y),
           count(*) FILTER (WHERE period = 0 AND y),
           count(*) FILTER (WHERE period = 1), count(*) FILTER (WHERE period = 1 AND y)
    INTO train_n, train_k, hold_n, hold_k, inner_k, val_n, val_k FROM pg_temp._ls_suggest;
    inner_n := train_n;
    IF train_k = 0 OR train_k = train_n THEN
        RAISE EXCEPTION 'suggest_model: the training period (% to %) needs both converted and unconverted leads',
            train_as_of, holdout_as_of USING ERRCODE = '22023';
    END IF;

    -- Points on the current spec's scale: the largest learned effect gets as
    -- many points as the current spec's largest |points| (10 points per
    -- doubling of the odds when the spec has none).
    SELECT max(abs(p)) INTO cur_max FROM (
        SELECT (r->>'points')::float8 AS p FROM jsonb_array_elements(coalesce(spec->'fit'->'rules', '[]')) r
        UNION ALL
        SELECT (v->>'points')::float8 FROM jsonb_each(coalesce(spec->'activity'->'events', '{}')) e(t, v)) q;

    -- Model selection, honest about time: each candidate (all features, fit
    -- rules only, activity only; l2, 10·l2, 100·l2) is fitted on the first half
    -- of the training period, rounded to points, and scored on the second half
    -- (the validation period); so is the current spec. The best candidate is
    -- refitted on the whole training period; when none beats the current spec
    -- on validation, the current spec is kept.
    l2s := CASE WHEN l2 = 0 THEN ARRAY[0::float8] ELSE ARRAY[l2, 10 * l2, 100 * l2] END;
    best := jsonb_build_object('features', 'all', 'l2', l2, 'lo', 1, 'hi', nfeat);
    IF inner_k > 0 AND inner_k < inner_n AND val_k > 0 AND val_k < val_n THEN
        SELECT lead_scoring.auc(lead_scoring._suggest_score(spec, lead_scoring.fit_score(spec, attrs), types, counts), y)
        INTO cur_val_auc FROM pg_temp._ls_suggest WHERE period = 1;
        best_auc := NULL;
        FOREACH grp IN ARRAY ARRAY['all', 'fit', 'activity'] LOOP
            lo := CASE grp WHEN 'activity' THEN nrules + 1 ELSE 1 END;
            hi := CASE grp WHEN 'fit' THEN nrules ELSE nfeat END;
            CONTINUE WHEN lo > hi OR (grp <> 'all' AND (nrules = 0 OR nrules = nfeat));
            FOREACH lam IN ARRAY l2s LOOP
                SELECT lead_scoring.logistic_fit(x[lo:hi], y, lam) INTO fit FROM pg_temp._ls_suggest WHERE period = 0;
                coef := array_fill(0::float8, ARRAY[lo - 1])
                        || ARRAY(SELECT c::float8 FROM jsonb_array_elements_text(fit->'coef') WITH ORDINALITY e(c, i) ORDER BY i)
                        || array_fill(0::float8, ARRAY[nfeat - hi]);
                pts := ARRAY(SELECT p::float8 FROM jsonb_array_elements_text(
                                 lead_scoring._suggest_points(coef, cur_max)->'points') WITH ORDINALITY e(p, i) ORDER BY i);
                SELECT lead_scoring.auc(lead_scoring._suggest_dot(pts, x), y) INTO cand_auc
                FROM pg_temp._ls_suggest WHERE period = 1;
                cand := jsonb_build_object('features', grp, 'l2', lam, 'validation_auc', cand_auc);
                candidates := candidates || cand;
                IF best_auc IS NULL OR cand_auc > best_auc THEN
                    best_auc := cand_auc;
                    best := cand || jsonb_build_object('lo', lo, 'hi', hi);
                END IF;
            END LOOP;
        END LOOP;
        keep_current := cur_val_auc > best_auc;
    END IF;

    -- The chosen candidate, refitted on the whole training period.
    lo := (best->>'lo')::int;
    hi := (best->>'hi')::int;
    SELECT lead_scoring.logistic_fit(x[lo:hi], y_train, (best->>'l2')::float8) INTO fit
    FROM pg_temp._ls_suggest WHERE period = 0;
    coef := array_fill(0::float8, ARRAY[lo - 1])
            || ARRAY(SELECT c::float8 FROM jsonb_array_elements_text(fit->'coef') WITH ORDINALITY e(c, i) ORDER BY i)
            || array_fill(0::float8, ARRAY[nfeat - hi]);
    cand := lead_scoring._suggest_points(coef, cur_max);
    k := (cand->>'k')::float8;
    pts := ARRAY(SELECT p::float8 FROM jsonb_array_elements_text(cand->'points') WITH ORDINALITY e(p, i) ORDER BY i);

    IF keep_current THEN
        new_spec := spec;
    ELSE
        -- The suggested spec: learned points; rules and event types worth 0
        -- points dropped; a capped type keeps its cap at the same count; fit,
        -- activity and score clamps and the weights removed (they were tuned to
        -- the old points); everything else (decay, window, disqualify, grades,
        -- stages, source) kept. Its score is then exactly Σ points × features.
        new_spec := ((((spec #- '{fit,min}'::text[]) #- '{fit,max}'::text[]) #- '{activity,min}'::text[])
                     #- '{activity,max}'::text[]) - ARRAY['score', 'weights'];
        IF spec ? 'fit' THEN
            new_spec := jsonb_set(new_spec, '{fit,rules}', coalesce((
                SELECT jsonb_agg(jsonb_set(r, '{points}', to_jsonb(pts[i])) ORDER BY i)
                FROM jsonb_array_elements(spec->'fit'->'rules') WITH ORDINALITY e(r, i)
                WHERE pts[i] <> 0), '[]'));
        END IF;
        IF spec->'activity' ? 'events' THEN
            new_spec := jsonb_set(new_spec, '{activity,events}', coalesce((
                SELECT jsonb_object_agg(t, (spec->'activity'->'events'->t) - 'cap' || jsonb_build_object('points', p)
                                           || CASE WHEN c < 'Infinity' THEN jsonb_build_object('cap', abs(p) * c)
                                                   ELSE '{}' END)
                FROM (SELECT types[j] AS t, pts[nrules + j] AS p, capc[j] AS c FROM generate_subscripts(types, 1) j
                      UNION ALL SELECT '*', pts[nfeat], 'Infinity' WHERE has_wild) q
                WHERE p <> 0), '{}'));
        END IF;
    END IF;
    PERFORM lead_scoring.validate_model(new_spec);

    SELECT lead_scoring.auc(lead_scoring._suggest_score(spec, lead_scoring.fit_score(spec, attrs), types, counts), y),
           lead_scoring.auc(lead_scoring._suggest_score(new_spec, lead_scoring.fit_score(new_spec, attrs), types, counts), y)
    INTO auc_cur, auc_new
    FROM pg_temp._ls_suggest WHERE period = 2;
    DROP TABLE pg_temp._ls_suggest;

    RETURN jsonb_build_object(
        'spec', new_spec,
        'holdout_auc', jsonb_build_object('current', auc_cur, 'suggested', auc_new),
        'dropped_rules', CASE WHEN keep_current THEN '[]' ELSE coalesce((
            SELECT jsonb_agg(jsonb_build_object('rule', i - 1, 'field', r->'field', 'label', r->'label',
                                                'points', r->'points', 'coef', coef[i]) ORDER BY i)
            FROM jsonb_array_elements(coalesce(spec->'fit'->'rules', '[]')) WITH ORDINALITY e(r, i)
            WHERE pts[i] = 0), '[]') END,
        'dropped_events', CASE WHEN keep_current THEN '[]' ELSE coalesce((
            SELECT jsonb_agg(t ORDER BY t)
            FROM (SELECT types[j] AS t, pts[nrules + j] AS p FROM generate_subscripts(types, 1) j
                  UNION ALL SELECT '*', pts[nfeat] WHERE has_wild) q
            WHERE p = 0), '[]') END,
        'kept_current', keep_current,
        'points_per_logit', k,
        'selection', jsonb_build_object('validation_as_of', valid_as_of,
                                        'chosen', best - ARRAY['lo', 'hi'],
                                        'current_validation_auc', cur_val_auc,
                                        'candidates', candidates),
        'train', jsonb_build_object('as_of', train_as_of, 'until', holdout_as_of, 'leads', train_n, 'converted', train_k),
        'holdout', jsonb_build_object('as_of', holdout_as_of, 'leads', hold_n, 'converted', hold_k),
        'fit', fit);
END $$;
COMMENT ON FUNCTION lead_scoring.suggest_model(text, float8, timestamptz, timestamptz) IS
    'Learns points from won/lost history (logistic regression on fit-rule indicators and capped decayed event counts; feature set and l2 chosen on a validation split inside the training period; time-based train/holdout split): {"spec": insertable spec, "holdout_auc": {"current", "suggested"}, "dropped_rules", "dropped_events", "kept_current", "selection", "fit", ...}';
