-- RFM, doc/qualify.md: exact percentile_disc cut points (rfm_breaks) and per-lead
-- R, F, M scores, code and segment (rfm).

CREATE TYPE lead_scoring.rfm_score AS (r integer, f integer, m integer, code text, segment text);
COMMENT ON TYPE lead_scoring.rfm_score IS
    'RFM scores 1..bins (r: most recent = bins), code = r||f||m, segment (NULL when no map applies)';

CREATE FUNCTION lead_scoring._rfm_breaks_trans(internal, float8, float8, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_rfm_breaks_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._rfm_breaks_trans(internal, float8, float8, float8, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_rfm_breaks_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._rfm_breaks_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_rfm_breaks_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._rfm_breaks_serial(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ls_rfm_breaks_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._rfm_breaks_deserial(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_rfm_breaks_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._rfm_breaks_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_rfm_breaks_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring._rfm_breaks_trans(internal, float8, float8, float8) IS 'Internal: rfm_breaks transition';
COMMENT ON FUNCTION lead_scoring._rfm_breaks_trans(internal, float8, float8, float8, integer) IS 'Internal: rfm_breaks transition';
COMMENT ON FUNCTION lead_scoring._rfm_breaks_combine(internal, internal) IS 'Internal: rfm_breaks combine';
COMMENT ON FUNCTION lead_scoring._rfm_breaks_serial(internal) IS 'Internal: rfm_breaks serialize';
COMMENT ON FUNCTION lead_scoring._rfm_breaks_deserial(bytea, internal) IS 'Internal: rfm_breaks deserialize';
COMMENT ON FUNCTION lead_scoring._rfm_breaks_final(internal) IS 'Internal: rfm_breaks final';

-- Aggregates take no DEFAULT arguments: rfm_breaks(r, f, m) is the bins = 5 form.
-- SSPACE: the state header plus the first 64-value block of each dimension; a
-- group holding N rows needs 24 * N bytes more.
CREATE AGGREGATE lead_scoring.rfm_breaks(recency float8, frequency float8, monetary float8) (
    SFUNC = lead_scoring._rfm_breaks_trans, STYPE = internal, SSPACE = 1600,
    FINALFUNC = lead_scoring._rfm_breaks_final,
    COMBINEFUNC = lead_scoring._rfm_breaks_combine,
    SERIALFUNC = lead_scoring._rfm_breaks_serial, DESERIALFUNC = lead_scoring._rfm_breaks_deserial,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_scoring.rfm_breaks(recency float8, frequency float8, monetary float8, bins integer) (
    SFUNC = lead_scoring._rfm_breaks_trans, STYPE = internal, SSPACE = 1600,
    FINALFUNC = lead_scoring._rfm_breaks_final,
    COMBINEFUNC = lead_scoring._rfm_breaks_combine,
    SERIALFUNC = lead_scoring._rfm_breaks_serial, DESERIALFUNC = lead_scoring._rfm_breaks_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE lead_scoring.rfm_breaks(float8, float8, float8) IS
    'RFM cut points: {"bins": 5, "recency": [c1..c4], "frequency": [...], "monetary": [...]}, c_k = percentile_disc(k/5) of the non-NULL values';
COMMENT ON AGGREGATE lead_scoring.rfm_breaks(float8, float8, float8, integer) IS
    'RFM cut points: {"bins": b, "recency": [c1..c(b-1)], "frequency": [...], "monetary": [...]}, c_k = percentile_disc(k/b) of the non-NULL values; b in 2..100';

CREATE FUNCTION lead_scoring.rfm(recency float8, frequency float8, monetary float8, breaks jsonb)
    RETURNS lead_scoring.rfm_score
    AS 'MODULE_PATHNAME', 'ls_rfm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.rfm(recency float8, frequency float8, monetary float8, breaks jsonb, model text)
    RETURNS lead_scoring.rfm_score
    AS 'MODULE_PATHNAME', 'ls_rfm' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.rfm(recency float8, frequency float8, monetary float8, breaks jsonb, model jsonb)
    RETURNS lead_scoring.rfm_score
    AS 'MODULE_PATHNAME', 'ls_rfm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.rfm(float8, float8, float8, jsonb) IS
    'RFM scores, code and default segment (bins = 5) of one lead against rfm_breaks() cut points';
COMMENT ON FUNCTION lead_scoring.rfm(float8, float8, float8, jsonb, text) IS
    'RFM scores, code and segment using the named model''s rfm.segments (default map when it has none)';
COMMENT ON FUNCTION lead_scoring.rfm(float8, float8, float8, jsonb, jsonb) IS
    'RFM scores, code and segment using the model spec''s rfm.segments (default map when it has none)';
