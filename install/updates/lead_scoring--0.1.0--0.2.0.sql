-- lead_scoring 0.1.0 -> 0.2.0: rankings v2 (doc/rank.md).
\echo Use "ALTER EXTENSION lead_scoring UPDATE TO '0.2.0'" to load this file. \quit

ALTER TABLE lead_scoring.refresh_log ADD COLUMN rows_written bigint;
ALTER TABLE lead_scoring.refresh_state ADD COLUMN tick_start timestamptz, ADD COLUMN next_due timestamptz;

-- The model table's comment names the doc page that now holds the spec.
COMMENT ON TABLE lead_scoring.model IS 'Lead scoring models: a name and a JSON spec (see doc/foundation.md)';

-- One source resolver (refresh's, src/pg/resolve.cpp) for the evaluation
-- functions too: _eval_relation / _eval_column replaced.
CREATE FUNCTION lead_scoring._resolve_relation(name text, path text) RETURNS regclass
    AS 'MODULE_PATHNAME', 'ls_resolve_relation' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring._resolve_relation(text, text) IS
    'Internal: the table or view a model spec names at path, resolved as refresh resolves it, or refresh''s ERROR naming the path';
CREATE FUNCTION lead_scoring._resolve_column(name text, path text, col text, col_path text) RETURNS regtype
    AS 'MODULE_PATHNAME', 'ls_resolve_column' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring._resolve_column(text, text, text, text) IS
    'Internal: the type of column col (spec path col_path) of the table a model spec names at path, resolved as refresh resolves it, or refresh''s ERROR';
CREATE FUNCTION lead_scoring._resolve_sources(model text) RETURNS void
    AS 'MODULE_PATHNAME', 'ls_resolve_sources' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring._resolve_sources(text) IS
    'Internal: every check refresh makes of a model''s source tables, columns and their types, with refresh''s ERRORs';
-- Their bodies, which now call it.
CREATE OR REPLACE FUNCTION lead_scoring._eval_spec(model text) RETURNS jsonb
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
        RAISE EXCEPTION 'lead scoring model "%" has no "source" mapping (doc/rank.md)', model USING ERRCODE = '22023';
    END IF;
    -- A bad source is reported as refresh reports it, before anything else.
    PERFORM lead_scoring._resolve_sources(model);
    RETURN s;
END $$;
CREATE OR REPLACE FUNCTION lead_scoring._eval_ranking(model text, spec jsonb) RETURNS regclass
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := coalesce(spec->'source'->>'target', 'lead_scoring.' || pg_catalog.quote_ident('ranking_' || model));
    r regclass;
BEGIN
    BEGIN
        r := lead_scoring._resolve_relation(name, '$.source.target');
    EXCEPTION WHEN undefined_table THEN
        IF NOT EXISTS (SELECT FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) _eval_ranking.model) THEN
            RAISE EXCEPTION 'lead scoring model "%" has not been refreshed yet: its ranking % does not exist', model, name
                USING ERRCODE = '55000', HINT = pg_catalog.format('Run SELECT lead_scoring.refresh(%L); first.', model);
        END IF;
        RAISE;
    END;
    PERFORM lead_scoring._resolve_column(name, '$.source.target', c, '$.source.target')
    FROM pg_catalog.unnest(ARRAY['lead_id', 'score', 'stage', 'disqualified']) c;
    RETURN r;
END $$;
CREATE OR REPLACE FUNCTION lead_scoring._eval_split_sql(spec jsonb, id_col text, as_of timestamptz,
                                             OUT population text, OUT converted text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    conv jsonb := spec->'source'->'conversions';
    leads jsonb := spec->'source'->'leads';
    conv_rel regclass;
    leads_rel regclass;
BEGIN
    conv_rel := lead_scoring._resolve_relation(conv->>'table', '$.source.conversions.table');
    PERFORM lead_scoring._resolve_column(conv->>'table', '$.source.conversions.table', conv->>'lead_id',
                                         '$.source.conversions.lead_id');
    population := 'true';
    IF conv->>'time' IS NULL THEN
        converted := pg_catalog.format('EXISTS (SELECT FROM %s c WHERE c.%I = t.%I)', conv_rel, conv->>'lead_id', id_col);
        RETURN;
    END IF;
    PERFORM lead_scoring._resolve_column(conv->>'table', '$.source.conversions.table', conv->>'time',
                                         '$.source.conversions.time');
    converted := pg_catalog.format('EXISTS (SELECT FROM %1$s c WHERE c.%2$I = t.%3$I AND ($1 IS NULL OR c.%4$I > $1) '
                                   'AND ($2 IS NULL OR c.%4$I < $2))', conv_rel, conv->>'lead_id', id_col, conv->>'time');
    IF as_of IS NULL THEN
        RETURN;
    END IF;
    population := pg_catalog.format('NOT EXISTS (SELECT FROM %1$s c WHERE c.%2$I = t.%3$I AND c.%4$I <= $1)',
                                    conv_rel, conv->>'lead_id', id_col, conv->>'time');
    IF leads ? 'created' THEN
        leads_rel := lead_scoring._resolve_relation(leads->>'table', '$.source.leads.table');
        PERFORM lead_scoring._resolve_column(leads->>'table', '$.source.leads.table', c, p)
        FROM (VALUES (leads->>'id', '$.source.leads.id'), (leads->>'created', '$.source.leads.created')) v(c, p);
        population := population || pg_catalog.format(
            ' AND EXISTS (SELECT FROM %1$s l WHERE l.%2$I = t.%3$I AND l.%4$I <= $1)',
            leads_rel, leads->>'id', id_col, leads->>'created');
    END IF;
END $$;
CREATE OR REPLACE FUNCTION lead_scoring._attribute_lift(model text, field text, converted_since timestamptz DEFAULT NULL,
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
    split record;      -- _eval_split_sql's conditions
    n_distinct bigint;
    grouped text;      -- a query over l(v, x, y) giving (ord, value, leads, converted)
BEGIN
    IF field IS NULL THEN
        RAISE EXCEPTION 'field must not be NULL' USING ERRCODE = '22004';
    END IF;
    rel := lead_scoring._resolve_relation(src->>'table', '$.source.leads.table');
    PERFORM lead_scoring._resolve_column(src->>'table', '$.source.leads.table', id_col, '$.source.leads.id');
    IF spec->'source'->'conversions' IS NULL THEN
        RAISE EXCEPTION 'the model has no conversions table at $.source.conversions' USING ERRCODE = '22023';
    END IF;
    IF spec->'source'->'conversions'->>'time' IS NULL AND (converted_since IS NOT NULL OR converted_before IS NOT NULL) THEN
        RAISE EXCEPTION 'converted_since/converted_before need a conversion time: the model has no $.source.conversions.time'
            USING ERRCODE = '22023';
    END IF;
    IF converted_before <= converted_since THEN
        RAISE EXCEPTION 'converted_before (%) must be later than converted_since (%)', converted_before, converted_since
            USING ERRCODE = '22023';
    END IF;
    -- converted_since is the split's as_of; without it, every lead and every conversion count.
    split := lead_scoring._eval_split_sql(spec, id_col, converted_since);
    SELECT a.atttypid::regtype INTO col_type FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attname = field AND a.attnum > 0 AND NOT a.attisdropped;
    IF FOUND THEN
        expr := format('t.%I::text', field);
        IF (SELECT typcategory FROM pg_type WHERE oid = col_type) = 'N' THEN
            num_expr := format('t.%I::float8', field);
        END IF;
    ELSIF props_col IS NOT NULL THEN
        PERFORM lead_scoring._resolve_column(src->>'table', '$.source.leads.table', props_col, '$.source.leads.properties');
        EXECUTE format('SELECT EXISTS (SELECT FROM %s t WHERE t.%I ? %L)', rel, props_col, field) INTO is_num;
        IF NOT is_num THEN
            -- A typo would otherwise be one "missing" group covering every lead.
            RAISE EXCEPTION 'field "%" is neither a column of % nor a key of its properties column "%" in any lead',
                field, rel, props_col USING ERRCODE = '42703';
        END IF;
        is_num := NULL;
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
            SELECT %1$s AS v, %2$s AS x, %3$s AS y FROM %5$s t WHERE %4$s
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
    $q$, expr, coalesce(num_expr, 'NULL::float8'), split.converted, split.population, rel, grouped)
    USING converted_since, converted_before;
END $$;
CREATE OR REPLACE FUNCTION lead_scoring._suggest_model(model text, l2 float8 DEFAULT 1.0,
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
    ev_lead text := src->'events'->>'lead_id';
    ev_type text := src->'events'->>'type';
    ev_time text := src->'events'->>'time';
    types text[];
    has_wild boolean := coalesce(spec->'activity'->'events' ? '*', false);
    nrules int := coalesce(jsonb_array_length(spec->'fit'->'rules'), 0);
    nfeat int;
    capc float8[];          -- per event type: the count at which the current cap is reached
    unit_spec jsonb;        -- every event worth 1 point: activity_breakdown's raw sums are decayed counts
    counts_sql text;
    known_sql text;         -- per lead: its first event, or no rows without an events source
    score_sql text;         -- the AUC of spec $1 over period $2 scored as of $3
    id_type text;
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
    description text;
BEGIN
    IF l2 IS NULL OR NOT (l2 >= 0) OR l2 = 'Infinity' THEN
        RAISE EXCEPTION 'suggest_model: l2 must be a finite number >= 0' USING ERRCODE = '22023';
    END IF;
    leads_rel := lead_scoring._resolve_relation(src->'leads'->>'table', '$.source.leads.table');
    PERFORM lead_scoring._resolve_column(src->'leads'->>'table', '$.source.leads.table', id_col, '$.source.leads.id');
    IF props_col IS NOT NULL THEN
        PERFORM lead_scoring._resolve_column(src->'leads'->>'table', '$.source.leads.table', props_col,
                                             '$.source.leads.properties');
    END IF;
    IF src->'conversions' IS NULL OR conv_time IS NULL THEN
        RAISE EXCEPTION 'suggest_model needs conversion times: the model has no $.source.conversions.time'
            USING ERRCODE = '22023';
    END IF;
    conv_rel := lead_scoring._resolve_relation(src->'conversions'->>'table', '$.source.conversions.table');
    PERFORM lead_scoring._resolve_column(src->'conversions'->>'table', '$.source.conversions.table', c, p)
    FROM (VALUES (conv_lead, '$.source.conversions.lead_id'), (conv_time, '$.source.conversions.time')) v(c, p);

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

    -- Features: the fit rules in spec order, the spec's named event types in
    -- name order, then "*" (every other type) when the spec has it.
    SELECT coalesce(array_agg(t ORDER BY t), '{}') INTO types
    FROM jsonb_object_keys(coalesce(spec->'activity'->'events', '{}')) t WHERE t <> '*';
    -- A capped type's feature is its decayed count capped where the current
    -- cap is reached (cap / |points|): the new spec keeps the cap at that count,
    -- so its score is exactly the linear function that was learned.
    capc := ARRAY(SELECT CASE WHEN ev ? 'cap' AND coalesce((ev->>'points')::float8, 0) <> 0
                              THEN (ev->>'cap')::float8 / abs((ev->>'points')::float8)
                              ELSE 'Infinity'::float8 END
                  FROM unnest(types) WITH ORDINALITY u(t, i),
                       LATERAL (SELECT spec->'activity'->'events'->t AS ev) e ORDER BY i);
    nfeat := nrules + cardinality(types) + CASE WHEN has_wild THEN 1 ELSE 0 END;
    unit_spec := jsonb_build_object('activity', jsonb_strip_nulls(jsonb_build_object(
                     'events', '{"*": {"points": 1}}'::jsonb,
                     'decay', spec->'activity'->'decay', 'window', spec->'activity'->'window')));
    IF src ? 'events' AND spec ? 'activity' THEN
        ev_rel := lead_scoring._resolve_relation(src->'events'->>'table', '$.source.events.table');
        PERFORM lead_scoring._resolve_column(src->'events'->>'table', '$.source.events.table', c, p)
        FROM (VALUES (ev_lead, '$.source.events.lead_id'), (ev_type, '$.source.events.type'),
                     (ev_time, '$.source.events.time')) v(c, p);
        -- per period and lead: each event type's decayed count as of the period's date
        counts_sql := format($q$
            SELECT p.period, e.%1$I AS lead_id,
                   lead_scoring.activity_breakdown($10, e.%2$I::text, e.%3$I, p.as_of)->'types' AS b
            FROM period p JOIN %4$s e ON e.%3$I <= p.as_of
            GROUP BY 1, 2$q$, ev_lead, ev_type, ev_time, ev_rel);
        -- a lead is known from its first event (of any type) on
        known_sql := format('SELECT e.%1$I AS lead_id, min(e.%2$I) AS first_at FROM %3$s e GROUP BY 1',
                            ev_lead, ev_time, ev_rel);
        score_sql := format($q$
            SELECT lead_scoring.auc(lead_scoring.score($1, lead_scoring.fit_score($1, ls_lead), a.act), a.y)
            FROM (SELECT s.lead_id, s.y, lead_scoring.activity_score($1, e.%1$I::text, e.%2$I, $3) AS act
                  FROM pg_temp._ls_suggest s LEFT JOIN %3$s e ON e.%4$I = s.lead_id AND e.%2$I <= $3
                  WHERE s.period = $2 GROUP BY s.lead_id, s.y) a
            JOIN %5$s ls_lead ON ls_lead.%6$I = a.lead_id$q$, ev_type, ev_time, ev_rel, ev_lead, leads_rel, id_col);
    ELSE
        -- no events: empty sets whose lead_id has the leads' id type
        SELECT format_type(a.atttypid, a.atttypmod) INTO id_type FROM pg_attribute a
        WHERE a.attrelid = leads_rel AND a.attname OPERATOR(pg_catalog.=) id_col;
        counts_sql := format('SELECT NULL::int AS period, NULL::%s AS lead_id, NULL::jsonb AS b WHERE false', id_type);
        known_sql := format('SELECT NULL::%s AS lead_id, NULL::timestamptz AS first_at WHERE false', id_type);
        -- a lead without events: activity_score over no counted event (0, clamped)
        score_sql := format($q$
            SELECT lead_scoring.auc(lead_scoring.score($1, lead_scoring.fit_score($1, ls_lead), a.act), a.y)
            FROM (SELECT s.lead_id, s.y, lead_scoring.activity_score($1, NULL::text, NULL::timestamptz, $3) AS act
                  FROM pg_temp._ls_suggest s WHERE s.period = $2 GROUP BY s.lead_id, s.y) a
            JOIN %1$s ls_lead ON ls_lead.%2$I = a.lead_id$q$, leads_rel, id_col);
    END IF;

    IF pg_catalog.to_regclass('pg_temp._ls_suggest') IS NOT NULL THEN
        DROP TABLE pg_temp._ls_suggest;
    END IF;
    -- Created by the extension: this body runs in a security-restricted
    -- operation, where CREATE TEMP TABLE is refused.
    PERFORM lead_scoring._suggest_work_table(
        lead_scoring._resolve_column(src->'leads'->>'table', '$.source.leads.table', id_col, '$.source.leads.id'));
    -- period 0: training (features as of train_as_of; y = converted before
    -- valid_as_of, y_train = converted before holdout_as_of); 1: validation
    -- (features as of valid_as_of, y = converted before holdout_as_of);
    -- 2: holdout (features as of holdout_as_of, y = converted later).
    -- One row per lead and period: features as of the period's date, label =
    -- first conversion inside the period; leads converted earlier are left out,
    -- and so are leads not yet known then (no event on or before the date, when
    -- the model maps events): today's leads table also holds leads that
    -- arrived later, and scoring them as of a date before they existed would
    -- teach and test the model on a population no ranking ever held.
    -- The fit indicators come from fit_breakdown's row form, which reads a
    -- lead's row as refresh does (columns, then the properties column).
    EXECUTE format($q$
        INSERT INTO pg_temp._ls_suggest (period, lead_id, y, y_train, x)
        WITH period(period, as_of, until, until_train) AS
            (VALUES (0, $1, $7, $5), (1, $7, $5, $5), (2, $5, NULL::timestamptz, NULL::timestamptz)),
        conv AS (SELECT c.%1$I AS lead_id, min(c.%2$I) AS first_at FROM %3$s c GROUP BY 1),
        cnt AS (%6$s),
        known AS (%7$s),
        l AS (
            SELECT p.period, ls_lead.%4$I AS lead_id,
                   coalesce(cv.first_at >= p.as_of AND (p.until IS NULL OR cv.first_at < p.until), false) AS y,
                   coalesce(cv.first_at >= p.as_of AND (p.until_train IS NULL OR cv.first_at < p.until_train), false) AS y_train,
                   ARRAY(SELECT (r->>'rule')::int FROM jsonb_array_elements(lead_scoring.fit_breakdown($4, ls_lead)) r) AS matched
            FROM period p CROSS JOIN %5$s ls_lead LEFT JOIN conv cv ON cv.lead_id = ls_lead.%4$I
            WHERE (cv.first_at IS NULL OR cv.first_at >= p.as_of)
              AND (NOT $9 OR EXISTS (SELECT FROM known k WHERE k.lead_id = ls_lead.%4$I AND k.first_at <= p.as_of))
        )
        SELECT l.period, l.lead_id, l.y, l.y_train,
               ARRAY(SELECT CASE WHEN i - 1 = ANY (l.matched) THEN 1 ELSE 0 END::float8
                     FROM generate_series(1, $6) i ORDER BY i)
               || ARRAY(SELECT least(coalesce((cnt.b->($2[j])->>'raw')::float8, 0), $8[j])
                        FROM generate_subscripts($2, 1) j ORDER BY j)
               || CASE WHEN $3 THEN ARRAY[(SELECT coalesce(sum((v->>'raw')::float8), 0)
                                           FROM jsonb_each(cnt.b) t(ty, v) WHERE ty <> ALL ($2))]
                       ELSE '{}'::float8[] END AS x
        FROM l LEFT JOIN cnt ON cnt.period = l.period AND cnt.lead_id = l.lead_id
    $q$, conv_lead, conv_time, conv_rel, id_col, leads_rel, counts_sql, known_sql)
    USING train_as_of, types, has_wild, spec, holdout_as_of, nrules, valid_as_of, capc, ev_rel IS NOT NULL,
          unit_spec;

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
    description := format('Points learned by lead_scoring.suggest_model from conversions '
                          'from %s to %s; review the stage thresholds against them',
                          to_char(train_as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                          to_char(holdout_as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));

    -- Model selection, honest about time: each candidate (all features, fit
    -- rules only, activity only; l2, 10·l2, 100·l2) is fitted on the first half
    -- of the training period, rounded to points, made a spec and scored on the
    -- second half (the validation period) by the scoring functions; so is the
    -- current spec. The best candidate is refitted on the whole training
    -- period; when none beats the current spec on validation, the current spec
    -- is kept.
    l2s := CASE WHEN l2 = 0 THEN ARRAY[0::float8] ELSE ARRAY[l2, 10 * l2, 100 * l2] END;
    best := jsonb_build_object('features', 'all', 'l2', l2, 'lo', 1, 'hi', nfeat);
    IF inner_k > 0 AND inner_k < inner_n AND val_k > 0 AND val_k < val_n THEN
        EXECUTE score_sql INTO cur_val_auc USING spec, 1, valid_as_of;
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
                EXECUTE score_sql INTO cand_auc
                    USING lead_scoring._suggest_spec(spec, pts, types, capc, description), 1, valid_as_of;
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
    new_spec := CASE WHEN keep_current THEN spec ELSE lead_scoring._suggest_spec(spec, pts, types, capc, description) END;
    PERFORM lead_scoring.validate_model(new_spec);

    EXECUTE score_sql INTO auc_cur USING spec, 2, holdout_as_of;
    EXECUTE score_sql INTO auc_new USING new_spec, 2, holdout_as_of;
    DROP TABLE pg_temp._ls_suggest;

    cand := lead_scoring._suggest_features(spec, types, coef, pts, lo, hi);
    RETURN jsonb_build_object(
        'spec', new_spec,
        'holdout_auc', jsonb_build_object('current', auc_cur, 'suggested', auc_new),
        'features', cand,
        'dropped_rules', CASE WHEN keep_current THEN '[]' ELSE coalesce((
            SELECT jsonb_agg(jsonb_build_object('rule', i - 1, 'field', r->'field', 'label', r->'label',
                                                'points', r->'points', 'coef', coef[i]) ORDER BY i)
            FROM jsonb_array_elements(coalesce(spec->'fit'->'rules', '[]')) WITH ORDINALITY e(r, i)
            WHERE pts[i] = 0), '[]') END,
        'dropped_events', CASE WHEN keep_current THEN '[]' ELSE coalesce((
            SELECT jsonb_agg(f->'event_type' ORDER BY f->>'event_type')
            FROM jsonb_array_elements(cand) f WHERE f ? 'event_type' AND (f->>'points')::float8 = 0), '[]') END,
        'relabelled_rules', CASE WHEN keep_current THEN '[]' ELSE coalesce((
            SELECT jsonb_agg(f ORDER BY ord) FROM jsonb_array_elements(cand) WITH ORDINALITY e(f, ord)
            WHERE f ? 'sign_flipped' AND f ? 'field'), '[]') END,
        'kept_current', keep_current,
        'points_per_logit', k,
        'selection', jsonb_build_object('validation_as_of', valid_as_of,
                                        'chosen', best - ARRAY['lo', 'hi'],
                                        'current_validation_auc', cur_val_auc,
                                        'candidates', candidates),
        'train', jsonb_build_object('as_of', train_as_of, 'until', holdout_as_of, 'leads', train_n, 'converted', train_k),
        'holdout', jsonb_build_object('as_of', holdout_as_of, 'leads', hold_n, 'converted', hold_k),
        -- the coefficients named: only the chosen feature set was fitted
        'fit', (fit - 'coef') || jsonb_build_object('coef', coalesce((
            SELECT jsonb_agg(jsonb_build_object('feature', f->'feature', 'coef', f->'coef') ORDER BY ord)
            FROM jsonb_array_elements(cand) WITH ORDINALITY e(f, ord) WHERE ord BETWEEN lo AND hi), '[]')));
END $$;
COMMENT ON FUNCTION lead_scoring._eval_spec(text) IS 'Internal: the spec of a model whose source mapping refresh accepts, or an ERROR';
DROP FUNCTION lead_scoring._eval_relation(text, text);
DROP FUNCTION lead_scoring._eval_column(regclass, text, text);

-- Rankings v2 (doc/rank.md): the count of qualified leads the _ranked views
-- read, and the RFM cut points kept between refreshes. A ranking table of 0.1.0
-- is updated by its model's next refresh (rank and percentile dropped,
-- refreshed_at renamed changed_at, the _ranked view created), which is full.
ALTER TABLE lead_scoring.refresh_state ADD COLUMN qualified bigint, ADD COLUMN rfm_breaks float8[];
COMMENT ON TABLE lead_scoring.refresh_log IS
    'One row per lead_scoring.refresh call that wrote something (and per failed background refresh); rows older than lead_scoring.log_retention are deleted by refresh';
COMMENT ON FUNCTION lead_scoring.refresh(text, timestamptz, boolean) IS
    'Brings the ranking of a model in its target table up to date at as_of, writing only the rows that changed (doc/rank.md); returns the ranking rows inserted, updated or deleted, NULL when skipped because another refresh of the model is running';
