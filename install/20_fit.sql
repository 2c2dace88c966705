-- Fit (demographic) scoring, doc/foundation.md. Every function has a name form
-- (STABLE: reads lead_scoring.model) and a spec form (IMMUTABLE, pushable to
-- shards). The text overloads exist so an untyped literal such as
-- fit_score('m', '{"industry": "Software"}') resolves (it would otherwise be
-- ambiguous between jsonb and the anyelement row form); the text is parsed as JSON.

CREATE FUNCTION lead_scoring.fit_score(model text, attributes jsonb) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_fit_score' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_score(model jsonb, attributes jsonb) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_fit_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_score(model text, attributes text) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_fit_score_text' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_score(model jsonb, attributes text) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_fit_score_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_score(model text, lead anyelement) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_fit_score_row' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_score(model jsonb, lead anyelement) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_fit_score_row' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION lead_scoring.fit_score(text, jsonb) IS 'Fit score of a lead''s attributes under the named model';
COMMENT ON FUNCTION lead_scoring.fit_score(jsonb, jsonb) IS 'Fit score of a lead''s attributes under a model spec';
COMMENT ON FUNCTION lead_scoring.fit_score(text, text) IS 'Fit score of attributes given as JSON text (named model)';
COMMENT ON FUNCTION lead_scoring.fit_score(jsonb, text) IS 'Fit score of attributes given as JSON text (model spec)';
COMMENT ON FUNCTION lead_scoring.fit_score(text, anyelement) IS 'Fit score of a table row (columns are the fields; named model)';
COMMENT ON FUNCTION lead_scoring.fit_score(jsonb, anyelement) IS 'Fit score of a table row (columns are the fields; model spec)';

CREATE FUNCTION lead_scoring.fit_breakdown(model text, attributes jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_fit_breakdown' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_breakdown(model jsonb, attributes jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_fit_breakdown' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.fit_breakdown(text, jsonb) IS
    'The fit rules a lead matches: [{rule, field, label, points}] (named model)';
COMMENT ON FUNCTION lead_scoring.fit_breakdown(jsonb, jsonb) IS
    'The fit rules a lead matches: [{rule, field, label, points}] (model spec)';
-- As for fit_score: the text forms keep an untyped literal resolving now that a
-- row form exists.
CREATE FUNCTION lead_scoring.fit_breakdown(model text, attributes text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_fit_breakdown_text' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_breakdown(model jsonb, attributes text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_fit_breakdown_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.fit_breakdown(text, text) IS 'The fit rules matched by attributes given as JSON text (named model)';
COMMENT ON FUNCTION lead_scoring.fit_breakdown(jsonb, text) IS 'The fit rules matched by attributes given as JSON text (model spec)';
CREATE FUNCTION lead_scoring.fit_breakdown(model text, lead anyelement) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_fit_breakdown_row' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.fit_breakdown(model jsonb, lead anyelement) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_fit_breakdown_row' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.fit_breakdown(text, anyelement) IS
    'The fit rules a table row matches (columns are the fields, then the model''s source.leads.properties): [{rule, field, label, points}] (named model)';
COMMENT ON FUNCTION lead_scoring.fit_breakdown(jsonb, anyelement) IS
    'The fit rules a table row matches (columns are the fields, then the model''s source.leads.properties): [{rule, field, label, points}] (model spec)';
