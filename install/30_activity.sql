-- Activity (behavioural) scoring with decay, doc/activity.md.

CREATE FUNCTION lead_scoring.decay(points float8, occurred_at timestamptz, as_of timestamptz, half_life interval)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_decay' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.decay(float8, timestamptz, timestamptz, interval) IS
    'points * 2^(-age / half_life), age = seconds from occurred_at to as_of; 0 for a future event or an infinite timestamp';

-- Support functions of the aggregates. The transition functions are not strict:
-- a NULL model or as_of is an ERROR, a NULL event type or time is ignored.
CREATE FUNCTION lead_scoring._activity_score_trans(internal, text, text, timestamptz, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_activity_trans_name' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_score_trans(internal, jsonb, text, timestamptz, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_activity_trans_spec' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_breakdown_trans(internal, text, text, timestamptz, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_activity_bd_trans_name' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_breakdown_trans(internal, jsonb, text, timestamptz, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_activity_bd_trans_spec' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_activity_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ls_activity_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_activity_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_score_final(internal) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_activity_score_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._activity_breakdown_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_activity_breakdown_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION lead_scoring._activity_score_trans(internal, text, text, timestamptz, timestamptz) IS
    'Internal: transition function of activity_score (named model)';
COMMENT ON FUNCTION lead_scoring._activity_score_trans(internal, jsonb, text, timestamptz, timestamptz) IS
    'Internal: transition function of activity_score (model spec)';
COMMENT ON FUNCTION lead_scoring._activity_breakdown_trans(internal, text, text, timestamptz, timestamptz) IS
    'Internal: transition function of activity_breakdown (named model)';
COMMENT ON FUNCTION lead_scoring._activity_breakdown_trans(internal, jsonb, text, timestamptz, timestamptz) IS
    'Internal: transition function of activity_breakdown (model spec)';
COMMENT ON FUNCTION lead_scoring._activity_combine(internal, internal) IS
    'Internal: combines two partial activity aggregate states';
COMMENT ON FUNCTION lead_scoring._activity_serialize(internal) IS
    'Internal: serializes an activity aggregate state for a parallel worker';
COMMENT ON FUNCTION lead_scoring._activity_deserialize(bytea, internal) IS
    'Internal: rebuilds a serialized activity aggregate state';
COMMENT ON FUNCTION lead_scoring._activity_score_final(internal) IS
    'Internal: final function of activity_score';
COMMENT ON FUNCTION lead_scoring._activity_breakdown_final(internal) IS
    'Internal: final function of activity_breakdown';

-- SSPACE: the state of a model with up to 12 capped event types (a 24-byte
-- header, one double per capped type and one for all the others: at most a
-- 128-byte chunk plus its 16-byte header; most models need less); the
-- breakdown adds a raw sum and a count per type and its wildcard map.
CREATE AGGREGATE lead_scoring.activity_score(model text, event_type text, occurred_at timestamptz, as_of timestamptz) (
    SFUNC = lead_scoring._activity_score_trans, STYPE = internal, SSPACE = 144,
    FINALFUNC = lead_scoring._activity_score_final,
    COMBINEFUNC = lead_scoring._activity_combine,
    SERIALFUNC = lead_scoring._activity_serialize, DESERIALFUNC = lead_scoring._activity_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_scoring.activity_score(model jsonb, event_type text, occurred_at timestamptz, as_of timestamptz) (
    SFUNC = lead_scoring._activity_score_trans, STYPE = internal, SSPACE = 144,
    FINALFUNC = lead_scoring._activity_score_final,
    COMBINEFUNC = lead_scoring._activity_combine,
    SERIALFUNC = lead_scoring._activity_serialize, DESERIALFUNC = lead_scoring._activity_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_scoring.activity_breakdown(model text, event_type text, occurred_at timestamptz, as_of timestamptz) (
    SFUNC = lead_scoring._activity_breakdown_trans, STYPE = internal, SSPACE = 400,
    FINALFUNC = lead_scoring._activity_breakdown_final,
    COMBINEFUNC = lead_scoring._activity_combine,
    SERIALFUNC = lead_scoring._activity_serialize, DESERIALFUNC = lead_scoring._activity_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_scoring.activity_breakdown(model jsonb, event_type text, occurred_at timestamptz, as_of timestamptz) (
    SFUNC = lead_scoring._activity_breakdown_trans, STYPE = internal, SSPACE = 400,
    FINALFUNC = lead_scoring._activity_breakdown_final,
    COMBINEFUNC = lead_scoring._activity_combine,
    SERIALFUNC = lead_scoring._activity_serialize, DESERIALFUNC = lead_scoring._activity_deserialize,
    PARALLEL = SAFE);

COMMENT ON AGGREGATE lead_scoring.activity_score(text, text, timestamptz, timestamptz) IS
    'Activity score of a lead''s events under the named model: decayed points per type, capped, summed, clamped';
COMMENT ON AGGREGATE lead_scoring.activity_score(jsonb, text, timestamptz, timestamptz) IS
    'Activity score of a lead''s events under a model spec: decayed points per type, capped, summed, clamped';
COMMENT ON AGGREGATE lead_scoring.activity_breakdown(text, text, timestamptz, timestamptz) IS
    'Activity score per event type: {"total": A, "types": {type: {count, raw, capped}}} (named model)';
COMMENT ON AGGREGATE lead_scoring.activity_breakdown(jsonb, text, timestamptz, timestamptz) IS
    'Activity score per event type: {"total": A, "types": {type: {count, raw, capped}}} (model spec)';
