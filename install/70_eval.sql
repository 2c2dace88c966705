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
