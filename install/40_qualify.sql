-- Qualification, doc/qualify.md: total score, grade, stage, disqualification,
-- BANT, email engagement rating, and the event_flags aggregate that tells which
-- event types a lead has (for stage and disqualify rules) in one pass.
-- Name forms are STABLE (they read lead_scoring.model), spec forms IMMUTABLE.

CREATE FUNCTION lead_scoring.score(model text, fit float8, activity float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_score' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.score(model jsonb, fit float8, activity float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'ls_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.score(text, float8, float8) IS
    'Total score clamp(weights.fit * fit + weights.activity * activity, score.min, score.max) (named model)';
COMMENT ON FUNCTION lead_scoring.score(jsonb, float8, float8) IS
    'Total score clamp(weights.fit * fit + weights.activity * activity, score.min, score.max) (model spec)';

CREATE FUNCTION lead_scoring.grade(model text, fit float8) RETURNS text
    AS 'MODULE_PATHNAME', 'ls_grade' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.grade(model jsonb, fit float8) RETURNS text
    AS 'MODULE_PATHNAME', 'ls_grade' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.grade(text, float8) IS
    'The first grade whose min_fit <= fit, NULL if none (named model)';
COMMENT ON FUNCTION lead_scoring.grade(jsonb, float8) IS
    'The first grade whose min_fit <= fit, NULL if none (model spec)';

-- Not STRICT: a NULL event_types means "no events" (a lead with no events in a
-- LEFT JOIN); any other NULL argument gives NULL.
CREATE FUNCTION lead_scoring.stage(model text, score float8, fit float8, activity float8,
                                   event_types text[] DEFAULT '{}') RETURNS text
    AS 'MODULE_PATHNAME', 'ls_stage' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring.stage(model jsonb, score float8, fit float8, activity float8,
                                   event_types text[] DEFAULT '{}') RETURNS text
    AS 'MODULE_PATHNAME', 'ls_stage' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring.stage(model text, score float8, fit float8, activity float8,
                                   event_types text[], attributes jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'ls_stage' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring.stage(model jsonb, score float8, fit float8, activity float8,
                                   event_types text[], attributes jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'ls_stage' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.stage(text, float8, float8, float8, text[]) IS
    'Lifecycle stage: first stages entry whose conditions hold, else default_stage; ''disqualified'' when event_types has a disqualify.events type (named model)';
COMMENT ON FUNCTION lead_scoring.stage(jsonb, float8, float8, float8, text[]) IS
    'Lifecycle stage: first stages entry whose conditions hold, else default_stage; ''disqualified'' when event_types has a disqualify.events type (model spec)';
COMMENT ON FUNCTION lead_scoring.stage(text, float8, float8, float8, text[], jsonb) IS
    'Lifecycle stage, ''disqualified'' when a disqualify rule matches the attributes or a disqualify event is present (named model)';
COMMENT ON FUNCTION lead_scoring.stage(jsonb, float8, float8, float8, text[], jsonb) IS
    'Lifecycle stage, ''disqualified'' when a disqualify rule matches the attributes or a disqualify event is present (model spec)';

CREATE FUNCTION lead_scoring.disqualified(model text, attributes jsonb, event_types text[] DEFAULT '{}') RETURNS boolean
    AS 'MODULE_PATHNAME', 'ls_disqualified' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring.disqualified(model jsonb, attributes jsonb, event_types text[] DEFAULT '{}') RETURNS boolean
    AS 'MODULE_PATHNAME', 'ls_disqualified' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.disqualified(text, jsonb, text[]) IS
    'True when a disqualify rule matches the attributes or event_types has a disqualify.events type (named model)';
COMMENT ON FUNCTION lead_scoring.disqualified(jsonb, jsonb, text[]) IS
    'True when a disqualify rule matches the attributes or event_types has a disqualify.events type (model spec)';

CREATE TYPE lead_scoring.bant_result AS (
    budget boolean, authority boolean, need boolean, timeline boolean, met integer, qualified boolean);
COMMENT ON TYPE lead_scoring.bant_result IS
    'BANT qualification: each criterion true/false, NULL when the model does not define it; met = criteria true; qualified = met >= qualify_at';

CREATE FUNCTION lead_scoring.bant(model text, attributes jsonb) RETURNS lead_scoring.bant_result
    AS 'MODULE_PATHNAME', 'ls_bant' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring.bant(model jsonb, attributes jsonb) RETURNS lead_scoring.bant_result
    AS 'MODULE_PATHNAME', 'ls_bant' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.bant(text, jsonb) IS 'BANT qualification of a lead''s attributes (named model)';
COMMENT ON FUNCTION lead_scoring.bant(jsonb, jsonb) IS 'BANT qualification of a lead''s attributes (model spec)';

CREATE FUNCTION lead_scoring.engagement_rating(sent integer, opened integer, last_open timestamptz,
                                               as_of timestamptz, inactive_after interval DEFAULT '60 days')
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ls_engagement_rating' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.engagement_rating(integer, integer, timestamptz, timestamptz, interval) IS
    'Email engagement 0-5: 0 if never opened or as_of - last_open > inactive_after, else by opened/sent (>= 0.8: 5, 0.6: 4, 0.4: 3, 0.2: 2, else 1); NULL if opened > 0 with unknown last_open';

-- event_flags: which of the event types named by stages and disqualify.events a
-- group (lead) has at least one counted event of; sorted text[].
CREATE FUNCTION lead_scoring._event_flags_trans(internal, text, text, timestamptz, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_event_flags_trans' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._event_flags_trans(internal, jsonb, text, timestamptz, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_event_flags_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._event_flags_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_event_flags_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lead_scoring._event_flags_serial(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ls_event_flags_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._event_flags_deserial(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'ls_event_flags_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_scoring._event_flags_final(internal) RETURNS text[]
    AS 'MODULE_PATHNAME', 'ls_event_flags_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring._event_flags_trans(internal, text, text, timestamptz, timestamptz) IS 'Internal: event_flags transition';
COMMENT ON FUNCTION lead_scoring._event_flags_trans(internal, jsonb, text, timestamptz, timestamptz) IS 'Internal: event_flags transition';
COMMENT ON FUNCTION lead_scoring._event_flags_combine(internal, internal) IS 'Internal: event_flags combine';
COMMENT ON FUNCTION lead_scoring._event_flags_serial(internal) IS 'Internal: event_flags serialize';
COMMENT ON FUNCTION lead_scoring._event_flags_deserial(bytea, internal) IS 'Internal: event_flags deserialize';
COMMENT ON FUNCTION lead_scoring._event_flags_final(internal) IS 'Internal: event_flags final';

-- SSPACE: the state header (32 bytes) plus room for four type entries (64 bytes).
CREATE AGGREGATE lead_scoring.event_flags(model text, event_type text, occurred_at timestamptz, as_of timestamptz) (
    SFUNC = lead_scoring._event_flags_trans, STYPE = internal, SSPACE = 96,
    FINALFUNC = lead_scoring._event_flags_final,
    COMBINEFUNC = lead_scoring._event_flags_combine,
    SERIALFUNC = lead_scoring._event_flags_serial, DESERIALFUNC = lead_scoring._event_flags_deserial,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_scoring.event_flags(model jsonb, event_type text, occurred_at timestamptz, as_of timestamptz) (
    SFUNC = lead_scoring._event_flags_trans, STYPE = internal, SSPACE = 96,
    FINALFUNC = lead_scoring._event_flags_final,
    COMBINEFUNC = lead_scoring._event_flags_combine,
    SERIALFUNC = lead_scoring._event_flags_serial, DESERIALFUNC = lead_scoring._event_flags_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE lead_scoring.event_flags(text, text, timestamptz, timestamptz) IS
    'Sorted event types, among those the model''s stages and disqualify.events name, with at least one counted event (age >= 0, inside activity.window) (named model)';
COMMENT ON AGGREGATE lead_scoring.event_flags(jsonb, text, timestamptz, timestamptz) IS
    'Sorted event types, among those the model''s stages and disqualify.events name, with at least one counted event (age >= 0, inside activity.window) (model spec)';
