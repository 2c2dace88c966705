-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION lead_scoring" to load this file. \quit
-- Models (doc/foundation.md): named JSON specs, validated on write.

CREATE FUNCTION lead_scoring.validate_model(spec jsonb) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ls_validate_model'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_scoring.validate_model(jsonb) IS
    'Returns true for a valid model spec; otherwise raises ERROR 22023 naming the JSON path of the first problem';

CREATE TABLE lead_scoring.model (
    name             text PRIMARY KEY
                     CONSTRAINT model_name_format CHECK (name OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]{0,47}$'),
    spec             jsonb NOT NULL CONSTRAINT model_spec_valid CHECK (lead_scoring.validate_model(spec)),
    owner            regrole NOT NULL DEFAULT current_user::regrole,
    refresh_interval interval CONSTRAINT model_refresh_interval_positive CHECK (refresh_interval > interval '0'),
    enabled          boolean NOT NULL DEFAULT true,
    description      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lead_scoring.model IS 'Lead scoring models: a name and a JSON spec (see README "Model spec")';

-- User models are configuration: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('lead_scoring.model', '');

CREATE FUNCTION lead_scoring._model_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ls_model_changed' LANGUAGE C;
COMMENT ON FUNCTION lead_scoring._model_changed() IS
    'Internal: tells every backend to drop its cached compiled models';

CREATE TRIGGER model_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_scoring.model
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._model_changed();

CREATE FUNCTION lead_scoring._model_touch() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
COMMENT ON FUNCTION lead_scoring._model_touch() IS
    'Internal: sets lead_scoring.model.updated_at on every update';
CREATE TRIGGER model_touch BEFORE UPDATE ON lead_scoring.model
    FOR EACH ROW EXECUTE FUNCTION lead_scoring._model_touch();

GRANT USAGE ON SCHEMA lead_scoring TO PUBLIC;
GRANT SELECT ON lead_scoring.model TO PUBLIC;
-- Who may write which model (doc/foundation.md, doc/rank.md, doc/privileges.md).
--
-- The background worker refreshes a model with its owner's rights: whoever can
-- name a role as a model's owner, or edit a model a role owns, could make the
-- worker read tables as that role. So a model may be created, edited, re-owned
-- or deleted only by a member of its owner role (superusers are members of every
-- role). Row-level security enforces it for everyone but superusers:
--   * SELECT: every model is visible to everyone. A spec is configuration, not
--     data (the data stays behind the source tables' own grants), and scoring by
--     name (fit_score('m', ...)) must work for every analyst a model is shared
--     with. Visibility to all also keeps the per-backend model cache sound: a
--     spec cached by one role is one every role may read.
--   * INSERT: only with an owner the current user is a member of.
--   * UPDATE: only rows whose owner the current user is a member of, and only to
--     an owner the current user is a member of (so no re-owning to a superuser).
--     Other rows are not matched: UPDATE and DELETE report 0 rows;
--     INSERT ... ON CONFLICT DO UPDATE on someone else's model raises 42501.
--   * DELETE: only rows whose owner the current user is a member of.
-- pg_has_role(..., 'MEMBER') is true for direct and indirect members, with or
-- without INHERIT: a member can SET ROLE to the owner anyway, so giving a model
-- to such a role grants nothing new.
-- Policies are stored parsed (OIDs, not names): search_path cannot redirect them.

ALTER TABLE lead_scoring.model ENABLE ROW LEVEL SECURITY;
-- The table owner (the superuser who ran CREATE EXTENSION) is bound too, should
-- the table ever be owned by a role that is not a superuser.
ALTER TABLE lead_scoring.model FORCE ROW LEVEL SECURITY;

CREATE POLICY model_select ON lead_scoring.model FOR SELECT TO PUBLIC
    USING (true);
CREATE POLICY model_insert ON lead_scoring.model FOR INSERT TO PUBLIC
    WITH CHECK (pg_catalog.pg_has_role(CURRENT_USER, owner::pg_catalog.oid, 'MEMBER'));
CREATE POLICY model_update ON lead_scoring.model FOR UPDATE TO PUBLIC
    USING (pg_catalog.pg_has_role(CURRENT_USER, owner::pg_catalog.oid, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(CURRENT_USER, owner::pg_catalog.oid, 'MEMBER'));
CREATE POLICY model_delete ON lead_scoring.model FOR DELETE TO PUBLIC
    USING (pg_catalog.pg_has_role(CURRENT_USER, owner::pg_catalog.oid, 'MEMBER'));
COMMENT ON POLICY model_select ON lead_scoring.model IS 'Every model is visible to everyone (specs are configuration; scoring by name must work for all)';
COMMENT ON POLICY model_insert ON lead_scoring.model IS 'A model may be created only with an owner the current user is a member of';
COMMENT ON POLICY model_update ON lead_scoring.model IS 'Only members of a model''s owner may edit it, and only to an owner they are members of';
COMMENT ON POLICY model_delete ON lead_scoring.model IS 'Only members of a model''s owner may delete it';

-- Everyone may manage models of their own (the policies above decide which
-- rows). TRUNCATE, which ignores row-level security, REFERENCES and TRIGGER stay
-- with the table owner. An administrator who wants only some roles to define
-- models revokes these from PUBLIC and grants them to those roles; pg_dump keeps
-- such changes.
GRANT SELECT, INSERT, UPDATE, DELETE ON lead_scoring.model TO PUBLIC;
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
-- Materialized rankings, doc/rank.md: refresh (full and incremental), its log,
-- stage history and the change capture that makes incremental refreshes exact.
--
-- Bookkeeping tables below are written only by lead_scoring.refresh (switching
-- to the extension owner for those statements; sources and the target are read
-- and written as the model's owner, whoever calls it) and by the change-capture
-- trigger function.

CREATE TABLE lead_scoring.refresh_log (
    id            bigserial PRIMARY KEY,
    model         text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    -- NULL: unknown (a refresh that failed before choosing, logged by the background worker)
    mode          text CONSTRAINT refresh_log_mode CHECK (mode IN ('full', 'incremental')),
    leads         bigint,
    events_read   bigint,
    status        text NOT NULL CONSTRAINT refresh_log_status CHECK (status IN ('ok', 'error', 'skipped')),
    error         text,
    as_of         timestamptz,
    reason        text,      -- why a full refresh was done (first run, spec changed, decay, ...)
    changed_leads bigint     -- incremental: leads recomputed from their rows
);
CREATE INDEX refresh_log_model_started ON lead_scoring.refresh_log (model, started_at);
COMMENT ON TABLE lead_scoring.refresh_log IS
    'One row per lead_scoring.refresh call (and per failed background refresh); rows older than lead_scoring.log_retention are deleted by refresh';
GRANT SELECT ON lead_scoring.refresh_log TO PUBLIC;

CREATE TABLE lead_scoring.stage_history (
    lead_id    text NOT NULL,
    model      text NOT NULL,
    from_stage text,          -- NULL: the lead was not in the previous ranking
    to_stage   text NOT NULL,
    changed_at timestamptz NOT NULL  -- the as_of of the refresh that found the change
);
CREATE INDEX stage_history_model_changed ON lead_scoring.stage_history (model, changed_at);
CREATE INDEX stage_history_lead ON lead_scoring.stage_history (model, lead_id);
COMMENT ON TABLE lead_scoring.stage_history IS
    'One row per stage change found by a refresh (MQL -> SQL movement); not written by a model''s first refresh';
GRANT SELECT ON lead_scoring.stage_history TO PUBLIC;

-- Lead ids whose rows changed since the last refresh, appended by statement-level
-- AFTER triggers on the source tables. Insert-only: concurrent writers never touch
-- a shared row. A refresh consumes exactly the rows its snapshot sees
-- (DELETE ... RETURNING); rows of transactions still in flight stay for the next
-- refresh. lead_id NULL means "everything" (TRUNCATE of a source table).
CREATE TABLE lead_scoring.change_log (
    model   text NOT NULL,
    lead_id text
);
-- No index: every write to a source table appends here, and an index insertion
-- cost the writers as much as the row itself (bench/70_capture.sh); a refresh
-- consumes the rows of its model in one pass anyway.
COMMENT ON TABLE lead_scoring.change_log IS
    'Internal: lead ids changed since the last refresh, per model (written by change-capture triggers)';
-- Nobody but the extension owner reads or writes it directly; the capture
-- triggers append as the extension owner (_capture_changes below).
REVOKE ALL ON lead_scoring.change_log FROM PUBLIC;

-- Per-model refresh state tables (lead_scoring_state.<model>), written and read
-- only by refresh as the extension owner. No other role has USAGE on the schema:
-- a table nobody can name cannot be read, nor pinned by someone's view against
-- the DROP a full refresh does. The schema belongs to the extension: DROP
-- EXTENSION names the state tables, and with CASCADE drops them.
CREATE SCHEMA lead_scoring_state;
REVOKE ALL ON SCHEMA lead_scoring_state FROM PUBLIC;
COMMENT ON SCHEMA lead_scoring_state IS 'Internal: per-model refresh state of lead_scoring (no access for other roles)';

-- What the last refresh of each model was based on: a refresh is incremental
-- only when the spec, the resolved sources and the target are unchanged.
CREATE TABLE lead_scoring.refresh_state (
    model        text PRIMARY KEY,
    spec         jsonb NOT NULL,
    sources      text NOT NULL,       -- resolved relation OIDs, columns and types
    target       oid NOT NULL,
    state_table  oid NOT NULL,
    ref_time     timestamptz NOT NULL, -- the per-lead sums are weighted at this time
    as_of        timestamptz NOT NULL, -- as_of of the last refresh
    capture      boolean NOT NULL,     -- change-capture triggers were in place
    refreshed_at timestamptz NOT NULL,
    owner        oid NOT NULL          -- the model's owner at that refresh (see drop_refresh_state)
);
COMMENT ON TABLE lead_scoring.refresh_state IS 'Internal: the basis of each model''s last refresh';
GRANT SELECT ON lead_scoring.refresh_state TO PUBLIC;

-- Top leads of every model with their reasons (written by refresh; the view
-- lead_scoring.leaderboard reads it).
CREATE TABLE lead_scoring.leaderboard_entries (
    model       text NOT NULL,
    lead_id     text NOT NULL,
    rank        bigint NOT NULL,
    score       float8 NOT NULL,
    fit         float8 NOT NULL,
    activity    float8 NOT NULL,
    grade       text,
    stage       text NOT NULL,
    reasons     jsonb NOT NULL,
    as_of       timestamptz NOT NULL,
    PRIMARY KEY (model, lead_id)
);
CREATE INDEX leaderboard_entries_rank ON lead_scoring.leaderboard_entries (rank, score DESC);
COMMENT ON TABLE lead_scoring.leaderboard_entries IS
    'Internal: the lead_scoring.leaderboard_size best leads of each model and why (read lead_scoring.leaderboard)';

-- Leads per stage of every model (written by refresh; read lead_scoring.funnel).
CREATE TABLE lead_scoring.funnel_counts (
    model     text NOT NULL,
    stage     text NOT NULL,
    position  int NOT NULL,    -- 0 = default stage, higher = further down the funnel; -1 = disqualified
    leads     bigint NOT NULL,
    converted bigint,          -- leads with a conversion; NULL when conversions are not mapped
    as_of     timestamptz NOT NULL,
    PRIMARY KEY (model, stage)
);
COMMENT ON TABLE lead_scoring.funnel_counts IS 'Internal: leads per stage per model (read lead_scoring.funnel)';

CREATE FUNCTION lead_scoring.refresh(model text, as_of timestamptz DEFAULT now(), "full" boolean DEFAULT false)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ls_refresh'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    -- synchronize_seqscans off: every scan reads a lead's rows in physical
    -- order, so sums come out bit for bit as in the last full refresh (doc/rank.md).
    SET search_path = pg_catalog, pg_temp SET synchronize_seqscans = off;
COMMENT ON FUNCTION lead_scoring.refresh(text, timestamptz, boolean) IS
    'Materializes the ranking of a model into its target table (incremental when possible); returns the leads written, NULL when skipped because another refresh of the model is running';

-- Change capture (src/pg/capture.cpp). A C trigger function, not SECURITY
-- DEFINER: it reads the lead ids from the statement's transition tables itself
-- (no relation is looked up by name), converts them with the built-in output
-- function of an accepted type, and only its append to change_log, a fixed
-- statement with bound parameters, runs as the extension owner inside a
-- security-restricted operation. It refuses (42501) to run as anything but a
-- trigger refresh would install: named after its model and event, statement
-- level, AFTER, with transition tables, on a table the model maps.
CREATE FUNCTION lead_scoring._capture_changes() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ls_capture_changes' LANGUAGE C;
COMMENT ON FUNCTION lead_scoring._capture_changes() IS
    'Internal trigger (installed by refresh on each source table): appends changed lead ids to lead_scoring.change_log';
-- Not granted to anyone: refresh creates the triggers as the extension owner
-- (after checking that the model's owner has the TRIGGER privilege on the
-- table), and a trigger fires whatever its function's grants.
REVOKE ALL ON FUNCTION lead_scoring._capture_changes() FROM PUBLIC;

-- Editing, renaming or deleting a model removes the capture triggers it no
-- longer needs (they would refuse every write to their table).
CREATE FUNCTION lead_scoring._model_capture_cleanup() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ls_model_capture_cleanup' LANGUAGE C;
COMMENT ON FUNCTION lead_scoring._model_capture_cleanup() IS
    'Internal trigger on lead_scoring.model: drops change-capture triggers of deleted models and of tables a model no longer maps';
REVOKE ALL ON FUNCTION lead_scoring._model_capture_cleanup() FROM PUBLIC;
CREATE TRIGGER model_capture_cleanup
    AFTER UPDATE OR DELETE OR TRUNCATE ON lead_scoring.model
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._model_capture_cleanup();

-- User history survives pg_dump (the rest is rebuilt by the next, full, refresh).
SELECT pg_catalog.pg_extension_config_dump('lead_scoring.stage_history', '');
SELECT pg_catalog.pg_extension_config_dump('lead_scoring.refresh_log', '');
SELECT pg_catalog.pg_extension_config_dump('lead_scoring.refresh_log_id_seq', '');

-- A deleted or renamed model takes everything refresh keyed to its name with
-- it, in the same statement: its per-lead state, capture triggers and rows in
-- refresh_state, change_log, leaderboard_entries, funnel_counts, refresh_log and
-- stage_history (a later model of that name starts afresh). Its ranking table,
-- the user's data, stays; refresh adopts an existing table only when the
-- model's owner owns it (doc/privileges.md).
CREATE FUNCTION lead_scoring._model_forget() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ls_model_forget' LANGUAGE C;
COMMENT ON FUNCTION lead_scoring._model_forget() IS
    'Internal trigger on lead_scoring.model: removes the refresh state, bookkeeping rows and capture triggers of deleted and renamed models (not their ranking tables)';
REVOKE ALL ON FUNCTION lead_scoring._model_forget() FROM PUBLIC;
CREATE TRIGGER model_forget_delete
    AFTER DELETE ON lead_scoring.model
    FOR EACH ROW EXECUTE FUNCTION lead_scoring._model_forget();
CREATE TRIGGER model_forget_rename
    AFTER UPDATE ON lead_scoring.model
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION lead_scoring._model_forget();
CREATE TRIGGER model_forget_truncate
    AFTER TRUNCATE ON lead_scoring.model
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._model_forget();

-- Removing a model's refresh machinery by hand: its change-capture triggers,
-- per-lead state and leaderboard/funnel rows (the next refresh is a full one).
-- For a model's owner or a member; for a deleted model's leftovers, the owner
-- its last refresh recorded, or a superuser. C, not SECURITY DEFINER: the
-- check is made as the caller, and only fixed statements with the name bound
-- run as the extension owner.
CREATE FUNCTION lead_scoring.drop_refresh_state(model text) RETURNS void
    AS 'MODULE_PATHNAME', 'ls_drop_refresh_state'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION lead_scoring.drop_refresh_state(text) IS
    'Drops a model''s change-capture triggers, per-lead refresh state and leaderboard/funnel rows (its owner or a member may; for a deleted model''s leftovers, also its refresh_log and stage_history rows: the owner its last refresh ran as, or a superuser); the ranking table is kept';
GRANT EXECUTE ON FUNCTION lead_scoring.drop_refresh_state(text) TO PUBLIC;
-- The background worker (doc/worker.md; the worker itself is C: src/pg/worker.cpp).

-- A model's time limit in the worker: one slow model (a source that sleeps, a
-- lock it waits for) must not hold the single worker and starve the others.
-- NULL: lead_scoring.refresh_timeout (default 5 min). Manual refresh() calls
-- are bounded by the session's own statement_timeout instead.
ALTER TABLE lead_scoring.model ADD COLUMN refresh_timeout interval
    CONSTRAINT model_refresh_timeout_positive CHECK (refresh_timeout > interval '0');
COMMENT ON COLUMN lead_scoring.model.refresh_timeout IS
    'Time limit of this model''s refresh by the background worker (NULL: lead_scoring.refresh_timeout); over it the refresh is canceled, logged as failed, and retried at its next refresh_interval';

-- The worker refreshes a model as its owner. Whoever may write
-- lead_scoring.model must not be able to borrow someone else's rights by
-- naming them the owner: only a member of a role (or a superuser) may give it
-- a model.
CREATE FUNCTION lead_scoring._model_owner_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.owner OPERATOR(pg_catalog.=) OLD.owner THEN
        RETURN NEW;
    END IF;
    IF NOT pg_catalog.pg_has_role(current_user, NEW.owner::oid, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to make role % the owner of model "%"', NEW.owner, NEW.name
            USING ERRCODE = '42501',
                  HINT = 'Models are refreshed with their owner''s rights; only members of a role can give it a model.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION lead_scoring._model_owner_check() IS
    'Internal: only a member of a role may make it the owner of a model (the worker refreshes with the owner''s rights)';

CREATE TRIGGER model_owner_check BEFORE INSERT OR UPDATE OF owner ON lead_scoring.model
    FOR EACH ROW EXECUTE FUNCTION lead_scoring._model_owner_check();

-- What the launcher and the per-database workers are doing right now.
CREATE VIEW lead_scoring.worker_status AS
SELECT a.pid,
       CASE a.backend_type WHEN 'lead_scoring launcher' THEN 'launcher' ELSE 'worker' END AS kind,
       a.datname AS database,
       a.backend_start AS started_at,
       a.state,
       a.wait_event_type,
       a.wait_event,
       a.query AS activity
FROM pg_catalog.pg_stat_activity AS a
WHERE a.backend_type OPERATOR(pg_catalog.=) ANY (ARRAY['lead_scoring launcher', 'lead_scoring worker']);
COMMENT ON VIEW lead_scoring.worker_status IS
    'The lead_scoring background processes (needs shared_preload_libraries = ''lead_scoring''): one launcher, one worker per database in lead_scoring.database; activity says what each is doing (visible to superusers and pg_read_all_stats)';
-- Evaluation (doc/eval.md): ROC AUC, logistic regression, evaluate(),
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
-- Both read the tables the model's "source" names (doc/rank.md). Every name is
-- resolved to a regclass or a checked column and quoted with %I/%s; names are
-- resolved with search_path = pg_catalog, pg_temp, so source tables must be
-- schema-qualified.
-- evaluation_split, evaluate, attribute_lift and suggest_model are wrappers
-- (ls_as_model_owner, src/pg/as_owner.cpp) that run their bodies _<name> as
-- the model's owner inside a security-restricted operation, for callers with
-- the owner's privileges only (doc/privileges.md). The bodies keep invoker
-- rights and are executable by nobody else.

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
        RAISE EXCEPTION 'lead scoring model "%" has no "source" mapping (doc/rank.md)', model USING ERRCODE = '22023';
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
    EXCEPTION
        WHEN insufficient_privilege THEN  -- no USAGE on its schema: a permission problem, not a bad name
            RAISE EXCEPTION '% (table "%" named at %)', SQLERRM, name, path USING ERRCODE = '42501';
        WHEN OTHERS THEN  -- a malformed name such as 'a.b.c.d'
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

-- The time split (doc/eval.md, "The time split"). A forecaster scores at T and
-- waits: the population is the leads that existed at T and had not converted
-- by T, the outcome a conversion after T (and before converted_before). Scores
-- must not have seen anything after T, so T is never before the ranking's as_of.

-- The ranking a model's evaluation reads (source.target, default
-- lead_scoring.ranking_<model>) with the columns evaluation needs. A model
-- that was never refreshed is told so, whatever its target is called.
CREATE FUNCTION lead_scoring._eval_ranking(model text, spec jsonb) RETURNS regclass
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := coalesce(spec->'source'->>'target', 'lead_scoring.' || pg_catalog.quote_ident('ranking_' || model));
    r regclass;
BEGIN
    BEGIN
        r := lead_scoring._eval_relation(name, '$.source.target');
    EXCEPTION WHEN undefined_table THEN
        IF NOT EXISTS (SELECT FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) _eval_ranking.model) THEN
            RAISE EXCEPTION 'lead scoring model "%" has not been refreshed yet: its ranking % does not exist', model, name
                USING ERRCODE = '55000', HINT = pg_catalog.format('Run SELECT lead_scoring.refresh(%L); first.', model);
        END IF;
        RAISE;
    END;
    PERFORM lead_scoring._eval_column(r, c, '$.source.target')
    FROM pg_catalog.unnest(ARRAY['lead_id', 'score', 'stage', 'disqualified']) c;
    RETURN r;
END $$;
COMMENT ON FUNCTION lead_scoring._eval_ranking(text, jsonb) IS
    'Internal: the ranking table a model''s evaluation reads, or an ERROR saying the model has not been refreshed yet';

CREATE FUNCTION lead_scoring._evaluation_split(model text, converted_since timestamptz DEFAULT NULL,
                                              converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (as_of timestamptz, ranking_as_of timestamptz, outcome_before timestamptz, split text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    spec jsonb := lead_scoring._eval_spec(model);
    ranking regclass := lead_scoring._eval_ranking(model, spec);
    r_as_of timestamptz;
    t timestamptz;
BEGIN
    IF spec->'source'->'conversions' IS NULL THEN
        RAISE EXCEPTION 'the model has no conversions table at $.source.conversions' USING ERRCODE = '22023';
    END IF;
    -- The ranking's scores saw everything up to the as_of of its last refresh;
    -- a ranking filled by other means is dated by its rows.
    SELECT s.as_of INTO r_as_of FROM lead_scoring.refresh_state s
    WHERE s.model OPERATOR(pg_catalog.=) _evaluation_split.model AND s.target OPERATOR(pg_catalog.=) ranking::oid;
    IF NOT FOUND AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid OPERATOR(pg_catalog.=) ranking AND a.attname OPERATOR(pg_catalog.=) 'as_of'
                               AND NOT a.attisdropped) THEN
        EXECUTE pg_catalog.format('SELECT pg_catalog.max(t.as_of)::timestamptz FROM %s t', ranking) INTO r_as_of;
    END IF;
    IF spec->'source'->'conversions'->>'time' IS NULL THEN
        IF converted_since IS NOT NULL OR converted_before IS NOT NULL THEN
            RAISE EXCEPTION 'converted_since/converted_before need a conversion time: the model has no $.source.conversions.time'
                USING ERRCODE = '22023';
        END IF;
        RETURN QUERY SELECT NULL::timestamptz, r_as_of, NULL::timestamptz,
            'no time split (the model maps no $.source.conversions.time): every lead of the ranking, any conversion'::text;
        RETURN;
    END IF;
    t := coalesce(converted_since, r_as_of);
    IF converted_since OPERATOR(pg_catalog.<) r_as_of THEN
        RAISE EXCEPTION 'converted_since (%) is before the ranking''s as_of (%): its scores saw what happened after converted_since',
            converted_since, r_as_of
            USING ERRCODE = '22023',
                  HINT = pg_catalog.format('Score the leads as of that time first: SELECT lead_scoring.refresh(%L, as_of => %L, "full" => true);',
                                           model, converted_since);
    END IF;
    IF converted_before OPERATOR(pg_catalog.<=) t THEN
        RAISE EXCEPTION 'converted_before (%) must be later than the evaluation''s as_of (%)', converted_before, t
            USING ERRCODE = '22023';
    END IF;
    IF t IS NULL THEN
        RETURN QUERY SELECT NULL::timestamptz, r_as_of, converted_before,
            'no time split (the ranking has no as_of): every lead of the ranking, any conversion'::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT t, r_as_of, converted_before,
        ('leads that existed at as_of and had not converted by then'
         || CASE WHEN spec->'source'->'leads' ? 'created' THEN '' ELSE ' (every lead of the ranking counts as existing: the model maps no $.source.leads.created)' END
         || '; outcome: a conversion after as_of'
         || CASE WHEN converted_before IS NULL THEN ', to date' ELSE ' and before outcome_before' END)::text;
END $$;
COMMENT ON FUNCTION lead_scoring._evaluation_split(text, timestamptz, timestamptz) IS
    'Internal: the body of evaluation_split, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.evaluation_split(model text, converted_since timestamptz DEFAULT NULL,
                                              converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (as_of timestamptz, ranking_as_of timestamptz, outcome_before timestamptz, split text)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.evaluation_split(text, timestamptz, timestamptz) IS
    'The time split evaluate, attribute_lift and report use: as_of T (converted_since, default the ranking''s as_of), the ranking''s as_of, the end of the outcome window and a sentence saying who is counted; population = leads that existed at T and had not converted by T, outcome = a conversion in (T, converted_before)';
REVOKE ALL ON FUNCTION lead_scoring._evaluation_split(text, timestamptz, timestamptz) FROM PUBLIC;

-- SQL for the split over a table aliased t whose lead id column is id_col:
-- `population` (a condition: the lead is counted) and `converted` (a
-- condition: the outcome), both with $1 = as_of and $2 = converted_before.
CREATE FUNCTION lead_scoring._eval_split_sql(spec jsonb, id_col text, as_of timestamptz,
                                             OUT population text, OUT converted text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    conv jsonb := spec->'source'->'conversions';
    leads jsonb := spec->'source'->'leads';
    conv_rel regclass;
    leads_rel regclass;
BEGIN
    conv_rel := lead_scoring._eval_relation(conv->>'table', '$.source.conversions.table');
    PERFORM lead_scoring._eval_column(conv_rel, conv->>'lead_id', '$.source.conversions.lead_id');
    population := 'true';
    IF conv->>'time' IS NULL THEN
        converted := pg_catalog.format('EXISTS (SELECT FROM %s c WHERE c.%I = t.%I)', conv_rel, conv->>'lead_id', id_col);
        RETURN;
    END IF;
    PERFORM lead_scoring._eval_column(conv_rel, conv->>'time', '$.source.conversions.time');
    converted := pg_catalog.format('EXISTS (SELECT FROM %1$s c WHERE c.%2$I = t.%3$I AND ($1 IS NULL OR c.%4$I > $1) '
                                   'AND ($2 IS NULL OR c.%4$I < $2))', conv_rel, conv->>'lead_id', id_col, conv->>'time');
    IF as_of IS NULL THEN
        RETURN;
    END IF;
    population := pg_catalog.format('NOT EXISTS (SELECT FROM %1$s c WHERE c.%2$I = t.%3$I AND c.%4$I <= $1)',
                                    conv_rel, conv->>'lead_id', id_col, conv->>'time');
    IF leads ? 'created' THEN
        leads_rel := lead_scoring._eval_relation(leads->>'table', '$.source.leads.table');
        PERFORM lead_scoring._eval_column(leads_rel, leads->>'id', '$.source.leads.id');
        PERFORM lead_scoring._eval_column(leads_rel, leads->>'created', '$.source.leads.created');
        population := population || pg_catalog.format(
            ' AND EXISTS (SELECT FROM %1$s l WHERE l.%2$I = t.%3$I AND l.%4$I <= $1)',
            leads_rel, leads->>'id', id_col, leads->>'created');
    END IF;
END $$;
COMMENT ON FUNCTION lead_scoring._eval_split_sql(jsonb, text, timestamptz) IS
    'Internal: SQL conditions for the time split (who is counted, who converted) over a table aliased t';

-- Every lead of the evaluation's population with its score and outcome.
CREATE FUNCTION lead_scoring.__eval_population(model text, converted_since timestamptz, converted_before timestamptz)
    RETURNS TABLE (lead_id text, score float8, stage text, disqualified boolean, converted boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    spec jsonb := lead_scoring._eval_spec(model);
    ranking regclass := lead_scoring._eval_ranking(model, spec);
    t timestamptz;
    q record;
BEGIN
    SELECT s.as_of INTO t FROM lead_scoring.evaluation_split(model, converted_since, converted_before) s;
    q := lead_scoring._eval_split_sql(spec, 'lead_id', t);
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT t.lead_id::text, t.score::float8, t.stage::text, coalesce(t.disqualified, false), %s FROM %s t WHERE %s',
        q.converted, ranking, q.population) USING t, converted_before;
END $$;
COMMENT ON FUNCTION lead_scoring.__eval_population(text, timestamptz, timestamptz) IS
    'Internal: the body of _eval_population, run by it as the model''s owner (doc/privileges.md)';
REVOKE ALL ON FUNCTION lead_scoring.__eval_population(text, timestamptz, timestamptz) FROM PUBLIC;
-- Internal, yet it reads the sources: run as the owner like the public functions.
CREATE FUNCTION lead_scoring._eval_population(model text, converted_since timestamptz, converted_before timestamptz)
    RETURNS TABLE (lead_id text, score float8, stage text, disqualified boolean, converted boolean)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring._eval_population(text, timestamptz, timestamptz) IS
    'Internal: the leads of an evaluation (time split applied) with score, stage, disqualified and outcome';

CREATE FUNCTION lead_scoring._evaluate(model text, converted_since timestamptz DEFAULT NULL,
                                      converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (kind text, bucket text, leads bigint, converted bigint, conversion_rate float8,
                   lift float8, auc float8, min_score float8, max_score float8)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    spec jsonb := lead_scoring._eval_spec(model);
BEGIN
    RETURN QUERY EXECUTE $q$
        WITH r AS MATERIALIZED (
            SELECT p.score, p.stage, p.disqualified AS dq, p.converted AS y
            FROM lead_scoring._eval_population($1, $2, $3) p
        ), base AS (
            SELECT count(*) AS n, count(*) FILTER (WHERE y) AS k,
                   (count(*) FILTER (WHERE y))::float8 / NULLIF(count(*), 0) AS rate
            FROM r
        ), ranked AS (
            SELECT score, y, rank() OVER (ORDER BY score DESC) AS rk, count(*) OVER () AS m
            FROM r WHERE NOT dq AND score IS NOT NULL
        ), stage_order AS (
            SELECT e.v->>'stage' AS stage, e.o FROM jsonb_array_elements($4->'stages') WITH ORDINALITY e(v, o)
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
    $q$ USING model, converted_since, converted_before, spec;
END $$;
COMMENT ON FUNCTION lead_scoring._evaluate(text, timestamptz, timestamptz) IS
    'Internal: the body of evaluate, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.evaluate(model text, converted_since timestamptz DEFAULT NULL,
                                      converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (kind text, bucket text, leads bigint, converted bigint, conversion_rate float8,
                   lift float8, auc float8, min_score float8, max_score float8)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.evaluate(text, timestamptz, timestamptz) IS
    'Conversion rate and lift over the base rate per stage and per score decile (1 = top) of the model''s ranking, plus the overall row with the ROC AUC of the score over non-disqualified leads; time split at as_of = converted_since (default: the ranking''s as_of): leads that existed then and had not converted, outcome = a conversion after it and before converted_before (see evaluation_split)';
REVOKE ALL ON FUNCTION lead_scoring._evaluate(text, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION lead_scoring._attribute_lift(model text, field text, converted_since timestamptz DEFAULT NULL,
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
    rel := lead_scoring._eval_relation(src->>'table', '$.source.leads.table');
    PERFORM lead_scoring._eval_column(rel, id_col, '$.source.leads.id');
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
        PERFORM lead_scoring._eval_column(rel, props_col, '$.source.leads.properties');
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
COMMENT ON FUNCTION lead_scoring._attribute_lift(text, text, timestamptz, timestamptz) IS
    'Internal: the body of attribute_lift, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.attribute_lift(model text, field text, converted_since timestamptz DEFAULT NULL,
                                            converted_before timestamptz DEFAULT NULL)
    RETURNS TABLE (value text, leads bigint, converted bigint, rate float8, lift float8,
                   ci_low float8, ci_high float8)
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C STABLE;
COMMENT ON FUNCTION lead_scoring.attribute_lift(text, text, timestamptz, timestamptz) IS
    'Conversion rate, lift over the base rate and Wilson 95% interval per value of a lead field (a column of the leads table, else a key of its properties jsonb); numeric fields with more than 10 distinct values are bucketed at their deciles; with converted_since, the time split of evaluation_split: leads that existed then and had not converted, outcome = a conversion after it and before converted_before';
REVOKE ALL ON FUNCTION lead_scoring._attribute_lift(text, text, timestamptz, timestamptz) FROM PUBLIC;

-- suggest_model(model) ---------------------------------------------------------
-- Learns points from won/lost history: features are each fit rule's indicator
-- and each event type's decayed event count, capped where the current spec's
-- cap is reached; labels are conversions after the feature date. Time-based
-- split: the model is trained on features as of train_as_of with conversions
-- in [train_as_of, holdout_as_of) and evaluated on features as of
-- holdout_as_of with conversions from holdout_as_of on; leads converted before
-- a period's date, or not yet known then (no event yet), are left out of it.
-- Feature set and l2 are chosen on a validation split inside the training
-- period, never on the holdout. Features and every AUC reported come from the
-- extension's own scoring functions (fit_breakdown, activity_breakdown,
-- fit_score, activity_score, score), never from a re-implementation here:
-- what is reported is what refresh will rank by. See doc/eval.md.

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

-- The JSON path of an event type's entry, spelled as spec errors spell it.
CREATE FUNCTION lead_scoring._suggest_event_path(event_type text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '$.activity.events.' OPERATOR(pg_catalog.||)
           CASE WHEN event_type OPERATOR(pg_catalog.~) '^[A-Za-z_][A-Za-z0-9_]*$' THEN event_type
                ELSE '"' OPERATOR(pg_catalog.||)
                     pg_catalog.replace(pg_catalog.replace(event_type, '\', '\\'), '"', '\"')
                     OPERATOR(pg_catalog.||) '"' END $$;
COMMENT ON FUNCTION lead_scoring._suggest_event_path(text) IS
    'Internal: the JSON path naming an event type''s entry of activity.events';

-- The spec with learned points: features are the fit rules, then `types`, then
-- "*" when the spec has it; pts holds their points in that order. capc[j] is
-- the count at which types[j]'s current cap is reached (Infinity: no cap).
-- - a rule worth 0 points is dropped; a rule whose points change sign loses
--   its label (it described the old direction);
-- - an event type worth 0 points is dropped when nothing else would score it,
--   but kept as {"points": 0} when the spec has a "*" worth points: dropped,
--   it would score "*"'s points instead of the 0 that was learned;
-- - a capped type keeps its cap at the same count: cap = |points| × capc;
-- - fit, activity and score clamps and the weights are removed (they were
--   tuned to the old points), the description is replaced; decay, window,
--   disqualify, grades, stages and source are kept.
-- Its score is then exactly Σ points × features.
CREATE FUNCTION lead_scoring._suggest_spec(spec jsonb, pts float8[], types text[], capc float8[],
                                           description text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    nrules int := coalesce(jsonb_array_length(spec->'fit'->'rules'), 0);
    has_wild boolean := coalesce(spec->'activity'->'events' ? '*', false);
    wild float8 := CASE WHEN has_wild THEN pts[nrules + cardinality(types) + 1] END;
    s jsonb;
BEGIN
    s := ((((spec #- '{fit,min}'::text[]) #- '{fit,max}'::text[]) #- '{activity,min}'::text[])
          #- '{activity,max}'::text[]) - ARRAY['score', 'weights', 'description'];
    s := s || jsonb_build_object('description', description);
    IF spec ? 'fit' THEN
        s := jsonb_set(s, '{fit,rules}', coalesce((
            SELECT jsonb_agg(CASE WHEN (r->>'points')::float8 * pts[i] < 0 THEN r - 'label' ELSE r END
                             || jsonb_build_object('points', pts[i]) ORDER BY i)
            FROM jsonb_array_elements(coalesce(spec->'fit'->'rules', '[]')) WITH ORDINALITY e(r, i)
            WHERE pts[i] <> 0), '[]'));
    END IF;
    IF spec->'activity' ? 'events' THEN
        s := jsonb_set(s, '{activity,events}', coalesce((
            SELECT jsonb_object_agg(t, jsonb_build_object('points', p)
                                       || CASE WHEN c < 'Infinity' AND p <> 0 THEN jsonb_build_object('cap', abs(p) * c)
                                               ELSE '{}' END)
            FROM (SELECT types[j] AS t, pts[nrules + j] AS p, capc[j] AS c FROM generate_subscripts(types, 1) j
                  UNION ALL SELECT '*', wild, 'Infinity' WHERE has_wild) q
            WHERE p <> 0 OR (t <> '*' AND coalesce(wild, 0) <> 0)), '{}'));
    END IF;
    RETURN s;
END $$;
COMMENT ON FUNCTION lead_scoring._suggest_spec(jsonb, float8[], text[], float8[], text) IS
    'Internal: a spec whose points are the learned ones (see suggest_model in doc/eval.md)';

-- One entry per feature, in feature order: what it is (the JSON path of its
-- rule or event type, with field and label or event type), its current and
-- suggested points and its coefficient (NULL when the chosen feature set left
-- it out).
CREATE FUNCTION lead_scoring._suggest_features(spec jsonb, types text[], coef float8[], pts float8[],
                                               lo int, hi int) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    WITH f(i, o) AS (
        SELECT i, jsonb_build_object('feature', '$.fit.rules[' || (i - 1) || ']', 'field', r->'field',
                                     'label', r->'label', 'current_points', r->'points')
                  || CASE WHEN (r->>'points')::float8 * pts[i] < 0 THEN '{"sign_flipped": true}'::jsonb ELSE '{}'::jsonb END
        FROM jsonb_array_elements(coalesce(spec->'fit'->'rules', '[]')) WITH ORDINALITY e(r, i)
        UNION ALL
        SELECT jsonb_array_length(coalesce(spec->'fit'->'rules', '[]')) + j,
               jsonb_build_object('feature', lead_scoring._suggest_event_path(t), 'event_type', t,
                                  'current_points', spec->'activity'->'events'->t->'points')
        FROM unnest(types || CASE WHEN coalesce(spec->'activity'->'events' ? '*', false) THEN ARRAY['*'] ELSE '{}' END)
             WITH ORDINALITY u(t, j)
    )
    SELECT coalesce(jsonb_agg(f.o || jsonb_build_object('points', pts[f.i],
                                                        'coef', CASE WHEN f.i BETWEEN lo AND hi THEN coef[f.i] END)
                              ORDER BY f.i), '[]')
    FROM f $$;
COMMENT ON FUNCTION lead_scoring._suggest_features(jsonb, text[], float8[], float8[], int, int) IS
    'Internal: suggest_model''s named list of features with their current and learned points';

-- The work table of suggest_model: pg_temp._ls_suggest (period, lead_id, y,
-- y_train, x), dropped at commit at the latest. Only suggest_model's body, as
-- the model's owner, may create it (src/pg/as_owner.cpp).
CREATE FUNCTION lead_scoring._suggest_work_table(id_type regtype) RETURNS void
    AS 'MODULE_PATHNAME', 'ls_suggest_work_table' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION lead_scoring._suggest_work_table(regtype) IS
    'Internal: creates suggest_model''s temporary work table inside its security-restricted operation';

CREATE FUNCTION lead_scoring._suggest_model(model text, l2 float8 DEFAULT 1.0,
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
    leads_rel := lead_scoring._eval_relation(src->'leads'->>'table', '$.source.leads.table');
    PERFORM lead_scoring._eval_column(leads_rel, id_col, '$.source.leads.id');
    IF props_col IS NOT NULL THEN
        PERFORM lead_scoring._eval_column(leads_rel, props_col, '$.source.leads.properties');
    END IF;
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
        ev_rel := lead_scoring._eval_relation(src->'events'->>'table', '$.source.events.table');
        PERFORM lead_scoring._eval_column(ev_rel, ev_lead, '$.source.events.lead_id');
        PERFORM lead_scoring._eval_column(ev_rel, ev_type, '$.source.events.type');
        PERFORM lead_scoring._eval_column(ev_rel, ev_time, '$.source.events.time');
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
    PERFORM lead_scoring._suggest_work_table(lead_scoring._eval_column(leads_rel, id_col, '$.source.leads.id'));
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
COMMENT ON FUNCTION lead_scoring._suggest_model(text, float8, timestamptz, timestamptz) IS
    'Internal: the body of suggest_model, run by it as the model''s owner (doc/privileges.md)';
CREATE FUNCTION lead_scoring.suggest_model(model text, l2 float8 DEFAULT 1.0,
                                           train_as_of timestamptz DEFAULT NULL,
                                           holdout_as_of timestamptz DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ls_as_model_owner' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION lead_scoring.suggest_model(text, float8, timestamptz, timestamptz) IS
    'Learns points from won/lost history (logistic regression on fit-rule indicators and capped decayed event counts; feature set and l2 chosen on a validation split inside the training period; time-based train/holdout split), every AUC scored by the extension''s scoring functions: {"spec": insertable spec, "holdout_auc": {"current", "suggested"}, "features": [{"feature", "current_points", "points", "coef", ...}], "dropped_rules", "dropped_events", "relabelled_rules", "kept_current", "selection", "fit", ...}';
REVOKE ALL ON FUNCTION lead_scoring._suggest_model(text, float8, timestamptz, timestamptz) FROM PUBLIC;
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
-- BI views over the rankings (doc/rank.md). Both read small central tables that
-- every refresh rewrites in the same transaction as the ranking itself, so they
-- always match the rankings readers see, whatever each model's lead_id type.
-- Both hold every model's rows and filter them by the model's owner, so both
-- are security barriers: a caller's own quals (a cheap function of theirs, a
-- cast that fails and quotes its input) run only on rows the filter kept.

CREATE VIEW lead_scoring.leaderboard WITH (security_barrier) AS
SELECT e.model, e.lead_id, e.rank, e.score, e.fit, e.activity, e.grade, e.stage, e.reasons, e.as_of
FROM lead_scoring.leaderboard_entries e
-- the view runs with its owner's rights: show a model's leads only to members of its owner role
WHERE EXISTS (SELECT FROM lead_scoring.model m
              WHERE m.name OPERATOR(pg_catalog.=) e.model AND pg_catalog.pg_has_role(m.owner, 'USAGE'));
COMMENT ON VIEW lead_scoring.leaderboard IS
    'The best leads of every model (top lead_scoring.leaderboard_size per model at its last refresh) with their reasons: matched fit rules and activity points per event type';

CREATE VIEW lead_scoring.funnel WITH (security_barrier) AS
SELECT f.model, f.stage, f.position, f.leads,
       -- leads at this stage or further down the funnel
       CASE WHEN f.position OPERATOR(pg_catalog.>=) 0 THEN
           pg_catalog.sum(f.leads) FILTER (WHERE f.position OPERATOR(pg_catalog.>=) 0)
               OVER (PARTITION BY f.model ORDER BY f.position DESC ROWS UNBOUNDED PRECEDING)::bigint END AS reached,
       -- share of the leads that reached this stage that also reached the next one
       CASE WHEN f.position OPERATOR(pg_catalog.>=) 0 THEN
           (pg_catalog.sum(f.leads) FILTER (WHERE f.position OPERATOR(pg_catalog.>=) 0)
                OVER (PARTITION BY f.model ORDER BY f.position DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))::float8
           OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(f.leads) FILTER (WHERE f.position OPERATOR(pg_catalog.>=) 0)
                OVER (PARTITION BY f.model ORDER BY f.position DESC ROWS UNBOUNDED PRECEDING), 0)::float8 END AS to_next_stage,
       f.converted,
       f.converted::float8 OPERATOR(pg_catalog./) NULLIF(f.leads, 0)::float8 AS conversion_rate,
       f.as_of
FROM lead_scoring.funnel_counts f
WHERE EXISTS (SELECT FROM lead_scoring.model m
              WHERE m.name OPERATOR(pg_catalog.=) f.model AND pg_catalog.pg_has_role(m.owner, 'USAGE'));
COMMENT ON VIEW lead_scoring.funnel IS
    'Leads per stage per model at its last refresh: reached (this stage or further), to_next_stage (share that got further), converted and conversion_rate (when source.conversions is mapped)';

GRANT SELECT ON lead_scoring.leaderboard, lead_scoring.funnel TO PUBLIC;
-- Sample CRM data (README "Sample data"): a deterministic, set-based generator of
-- leads, events, orders and deals for demos, tests and benchmarks.
--
-- Determinism: every value is a pure function of (seed, row key). A row's random
-- numbers come from pg_catalog.hashint8extended(key, stream_seed), where each
-- stream_seed is itself hashint8extended(stream_number, hash(seed)). Nothing
-- depends on random(), on row order or on the plan, so the same arguments give
-- byte-identical tables on every run, with any number of workers. (PostgreSQL
-- keeps these hash functions stable across versions because hash partitioning
-- depends on them; results could differ only on a big-endian machine.)

CREATE FUNCTION lead_scoring.generate_sample_crm(
    target_schema   text        DEFAULT 'crm',
    leads           int         DEFAULT 20000,
    events_per_lead float8      DEFAULT 15,
    seed            float8      DEFAULT 0.42,
    as_of           timestamptz DEFAULT '2026-01-01 00:00:00+00')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $fn$
DECLARE
    s            text;     -- quoted schema name
    base         bigint;   -- hash of the seed
    total_events bigint;
    n_leads      bigint;
    n_events     bigint;
    n_orders     bigint;
    n_deals      bigint;
    q            text;
    -- value lists, repeated by weight so that a uniform pick is a weighted pick
    industries   text[];
    titles       text[];
    countries    text[];
    sources      text[];
    first_names  text[] := ARRAY['james','mary','john','patricia','robert','jennifer','michael','linda',
                                 'david','elizabeth','william','barbara','richard','susan','joseph','jessica',
                                 'thomas','sarah','charles','karen','daniel','nancy','matthew','lisa',
                                 'anna','lukas','sophie','pierre','camille','raj','priya','wei','yuki',
                                 'carlos','ana','lars','emma','noah','olivia','mohammed','fatima','ivan'];
    last_names   text[] := ARRAY['smith','johnson','williams','brown','jones','garcia','miller','davis',
                                 'rodriguez','martinez','hernandez','lopez','wilson','anderson','taylor','thomas',
                                 'moore','martin','jackson','lee','white','harris','clark','lewis','walker',
                                 'mueller','schmidt','schneider','dubois','laurent','patel','sharma','wang',
                                 'li','tanaka','sato','silva','santos','jansen','de vries','nilsson','kowalski'];
    freemail     text[] := ARRAY['gmail.com','gmail.com','gmail.com','gmail.com','yahoo.com','yahoo.com',
                                 'hotmail.com','outlook.com','outlook.com','icloud.com','gmx.de','aol.com',
                                 'protonmail.com','mail.ru','qq.com'];
    competitors  text[] := ARRAY['leadrival.com','scorewise.io','funnelforge.com'];
    syllables    text[] := ARRAY['acme','nova','blue','peak','data','cloud','bright','quant','hyper','green',
                                 'iron','swift','omni','terra','vertex','lumen','core','nimbus','atlas','pixel',
                                 'zen','rapid','stellar','north','delta','echo','fusion','orbit','prime','sigma',
                                 'river','solar','apex','cobalt','matrix','vista','harbor','summit','beacon','flux'];
    suffixes     text[] := ARRAY['Inc','Inc','Inc','LLC','LLC','Ltd','GmbH','SA','Corp','Group','Labs',
                                 'Systems','Technologies','Partners','Solutions'];
BEGIN
    IF target_schema IS NULL OR leads IS NULL OR events_per_lead IS NULL OR seed IS NULL OR as_of IS NULL THEN
        RAISE EXCEPTION 'generate_sample_crm: arguments must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF leads < 0 THEN
        RAISE EXCEPTION 'generate_sample_crm: leads must be >= 0, got %', leads USING ERRCODE = '22023';
    END IF;
    IF events_per_lead < 0 OR events_per_lead IN ('Infinity'::float8, 'NaN'::float8) THEN
        RAISE EXCEPTION 'generate_sample_crm: events_per_lead must be a finite number >= 0, got %', events_per_lead
            USING ERRCODE = '22023';
    END IF;
    IF seed IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) THEN
        RAISE EXCEPTION 'generate_sample_crm: seed must be finite' USING ERRCODE = '22023';
    END IF;
    IF as_of IN ('infinity'::timestamptz, '-infinity'::timestamptz) THEN
        RAISE EXCEPTION 'generate_sample_crm: as_of must be finite' USING ERRCODE = '22023';
    END IF;
    IF target_schema IN ('lead_scoring', 'pg_catalog', 'information_schema', 'pg_toast')
       OR target_schema LIKE 'pg\_temp%' OR target_schema LIKE 'pg\_toast%' THEN
        RAISE EXCEPTION 'generate_sample_crm: refusing to write sample tables into schema "%"', target_schema
            USING ERRCODE = '42939', HINT = 'Use a schema of your own, e.g. ''crm''.';
    END IF;

    s := format('%I', target_schema);
    base := hashtextextended(encode(float8send(seed), 'hex'), 0);
    total_events := round(leads::float8 * events_per_lead)::bigint;

    SELECT array_agg(v ORDER BY o, n) INTO industries
      FROM unnest(ARRAY['Software','Finance','Healthcare','Retail','Manufacturing','Education','Government',
                        'Media','Telecommunications','Energy','Consulting','Nonprofit', NULL],
                  ARRAY[22, 12, 11, 10, 10, 8, 5, 5, 4, 3, 6, 2, 2]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;
    SELECT array_agg(v ORDER BY o, n) INTO titles
      FROM unnest(ARRAY['CEO','CTO','CFO','Founder','VP Sales','VP Marketing','VP Engineering',
                        'Director of Marketing','Director of Sales','Head of Operations','IT Director',
                        'Manager','Marketing Manager','Sales Manager','Engineer','Software Engineer',
                        'Analyst','Consultant','Student','Intern', NULL],
                  ARRAY[3, 3, 2, 3, 4, 4, 3, 6, 5, 4, 4, 13, 8, 7, 9, 8, 8, 4, 4, 3, 3]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;
    SELECT array_agg(v ORDER BY o, n) INTO countries
      FROM unnest(ARRAY['US','GB','DE','FR','CA','IN','BR','AU','NL','ES', NULL],
                  ARRAY[30, 10, 10, 7, 7, 10, 6, 5, 5, 5, 5]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;
    SELECT array_agg(v ORDER BY o, n) INTO sources
      FROM unnest(ARRAY['organic_search','paid_search','referral','webinar','event','outbound','partner','social'],
                  ARRAY[28, 18, 10, 10, 8, 12, 6, 8]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;

    -- CREATE SCHEMA checks CREATE on the database even when the schema exists:
    -- only create it when missing, so a user may fill a schema of their own.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) target_schema) THEN
        EXECUTE format('CREATE SCHEMA %s', s);
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %1$s.events, %1$s.orders, %1$s.deals, %1$s.leads', s);

    EXECUTE format($ddl$
        CREATE TABLE %1$s.leads (
            id             bigint PRIMARY KEY,
            email          text,
            company        text,
            industry       text,
            job_title      text,
            company_size   int,
            country        text,
            annual_revenue numeric,
            budget         numeric,
            created_at     timestamptz,
            props          jsonb);
        CREATE TABLE %1$s.events (
            id          bigserial PRIMARY KEY,
            lead_id     bigint NOT NULL,
            event_type  text NOT NULL,
            occurred_at timestamptz NOT NULL);
        CREATE TABLE %1$s.orders (
            id         bigserial PRIMARY KEY,
            lead_id    bigint,
            ordered_at timestamptz,
            amount     numeric);
        CREATE TABLE %1$s.deals (
            lead_id bigint,
            won_at  timestamptz)
        $ddl$, s);

    -- Macro U(k, expr): the k-th uniform [0,1) stream evaluated at integer key expr.
    -- The stream seed folds to a constant at plan time.

    -- Leads. A company (shared by about three leads) fixes industry, size, country
    -- and revenue; a lead fixes person, e-mail, title and properties. "intent",
    -- the latent buying intent that also drives events and deals, is
    -- power(U(20, id), 1.7) and is never stored.
    q := $q$
    INSERT INTO {s}.leads
    SELECT id,
           CASE WHEN u_mail < 0.02 THEN NULL
                WHEN u_mail < 0.04 THEN (ARRAY[first || '.' || last || '@',
                                               first || ' ' || last || '@' || cdomain,
                                               first || '.' || last || '.' || cdomain,
                                               'n/a',
                                               first || '@@' || cdomain])[1 + floor(u_mail2 * 5)::int]
                WHEN u_mail < 0.055 THEN first || '.' || last || '@' || $9[1 + floor(u_mail2 * cardinality($9))::int]
                WHEN u_mail < 0.26 THEN first || '.' || last || (floor(u_mail2 * 100))::int || '@'
                                        || $8[1 + floor(u_mail3 * cardinality($8))::int]
                WHEN u_mail2 < 0.5 THEN first || '.' || last || '@' || cdomain
                ELSE left(first, 1) || last || '@' || cdomain
           END,
           company, industry,
           CASE WHEN u_case < 0.05 THEN lower(title) ELSE title END,
           company_size, country,
           CASE WHEN company_size IS NULL OR u_rev_null < 0.15 THEN NULL
                ELSE round((company_size::float8 * 120000 * exp((u_rev - 0.5) * 2))::numeric, -3) END,
           CASE WHEN u_budget_null < 0.45 THEN NULL
                ELSE round((1000 * exp(u_budget * 3 + intent * 2) * (1 + ln(coalesce(company_size, 10)) / 3))::numeric, -2) END,
           $1 - created_secs * interval '1 second',
           jsonb_strip_nulls(jsonb_build_object(
               'lead_source', $12[1 + floor(u_source * cardinality($12))::int],
               'plan_interest', CASE WHEN company_size >= 1000 AND u_plan < 0.6 THEN 'enterprise'
                                     WHEN u_plan < 0.45 THEN 'starter'
                                     WHEN u_plan < 0.85 THEN 'pro'
                                     ELSE 'enterprise' END,
               'newsletter', u_news < 0.35,
               'seats', CASE WHEN u_seats < 0.3 THEN NULL
                             ELSE greatest(1, round(coalesce(company_size, 5) * (0.02 + 0.2 * u_seats)))::int END,
               'timeline', CASE WHEN u_time < 0.3 THEN NULL
                                WHEN intent + 0.3 * u_time > 0.65 THEN 'this_quarter'
                                WHEN intent + 0.3 * u_time > 0.45 THEN 'next_quarter'
                                WHEN intent + 0.3 * u_time > 0.3 THEN 'this_year'
                                ELSE 'no_plans' END))
      FROM (
        SELECT p.*,
               initcap(syl1 || syl2 || syl3) || ' ' || $11[1 + floor(U(34, cno) * cardinality($11))::int] AS company,
               syl1 || syl2 || syl3 || (ARRAY['.com','.com','.com','.io','.net','.co'])[1 + floor(U(35, cno) * 6)::int] AS cdomain
          FROM (
            SELECT g.id, c.cno,
                   power(U(20, g.id), 1.7) AS intent,
                   $3[1 + floor(U(40, c.cno) * cardinality($3))::int] AS industry,
                   CASE WHEN U(41, c.cno) < 0.04 THEN NULL
                        ELSE least(50000, greatest(1, floor(exp(power(U(42, c.cno), 2.2) * ln(50000.0)))))::int END AS company_size,
                   $5[1 + floor(U(43, c.cno) * cardinality($5))::int] AS country,
                   U(44, c.cno) AS u_rev,
                   $10[1 + floor(U(31, c.cno) * cardinality($10))::int] AS syl1,
                   $10[1 + floor(U(32, c.cno) * cardinality($10))::int] AS syl2,
                   CASE WHEN U(33, c.cno) < 0.5 THEN '' ELSE $10[1 + floor(U(36, c.cno) * cardinality($10))::int] END AS syl3,
                   $4[1 + floor(U(2, g.id) * cardinality($4))::int] AS title,
                   $6[1 + floor(U(8, g.id) * cardinality($6))::int] AS first,
                   $7[1 + floor(U(9, g.id) * cardinality($7))::int] AS last,
                   U(3, g.id) AS u_case,
                   U(10, g.id) AS u_mail, U(11, g.id) AS u_mail2, U(12, g.id) AS u_mail3,
                   U(13, g.id) AS u_rev_null, U(14, g.id) AS u_budget_null, U(22, g.id) AS u_budget,
                   floor(U(15, g.id) * 63072000)::bigint AS created_secs,
                   U(16, g.id) AS u_source, U(17, g.id) AS u_plan, U(18, g.id) AS u_news,
                   U(19, g.id) AS u_seats, U(21, g.id) AS u_time
              FROM generate_series(1::bigint, $2) AS g(id),
                   LATERAL (SELECT floor(power(U(7, g.id), 1.3) * greatest(1, $2 / 3))::bigint AS cno) AS c
          ) p
      ) l
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_leads = ROW_COUNT;

    -- Deals: conversion probability rises with latent intent and with fit
    -- (seniority, industry, company size); bad e-mails, competitors and
    -- students/interns almost never convert.
    q := $q$
    INSERT INTO {s}.deals (lead_id, won_at)
    SELECT id, created_at + floor(U(51, id) * extract(epoch FROM $1 - created_at)::float8) * interval '1 second'
      FROM (
        SELECT l.id, l.created_at,
               CASE WHEN l.email IS NULL OR l.email !~ '^[^@ ]+@[^@ ]+\.[^@ ]+$'
                         OR split_part(l.email, '@', 2) = ANY ($9)
                         OR l.job_title ~* '^(student|intern)$'
                    THEN 0.003
                    ELSE 0.003 + 0.30 * power(U(20, l.id), 1.7 * 1.3)
                         + 0.07 * (0.5 * CASE WHEN l.job_title ~* '^(ceo|cto|cfo|founder|vp )' THEN 1.0
                                              WHEN l.job_title ~* '(director|head)' THEN 0.7
                                              WHEN l.job_title ~* 'manager' THEN 0.4
                                              ELSE 0.2 END
                                   + CASE WHEN l.industry IN ('Software','Finance','Healthcare') THEN 0.3
                                          WHEN l.industry IN ('Government','Education','Nonprofit') THEN 0.0
                                          ELSE 0.15 END
                                   + CASE WHEN l.company_size BETWEEN 50 AND 5000 THEN 0.2
                                          WHEN l.company_size > 5000 THEN 0.15
                                          ELSE 0.05 END)
               END AS p
          FROM {s}.leads l
      ) c
     WHERE U(50, id) < p
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_deals = ROW_COUNT;

    -- Orders (for RFM): every converted lead buys 1..13 times after winning,
    -- and about 4% of the others buy once or twice (self-serve).
    q := $q$
    INSERT INTO {s}.orders (id, lead_id, ordered_at, amount)
    SELECT row_number() OVER (ORDER BY c.lead_id, k.k), c.lead_id,
           c.start_at + floor(U(71, c.lead_id * 16 + k.k) * c.span) * interval '1 second',
           round((c.scale * (0.5 + U(73, c.lead_id * 16 + k.k)))::numeric, 2)
      FROM (
        SELECT l.id AS lead_id,
               coalesce(d.won_at, l.created_at) AS start_at,
               extract(epoch FROM $1 - coalesce(d.won_at, l.created_at))::float8 AS span,
               CASE WHEN d.lead_id IS NOT NULL THEN 1 + floor(power(U(70, l.id), 2) * 13)
                    ELSE 1 + floor(U(70, l.id) * 2) END::int AS n,
               50 * exp(U(74, l.id) * 3) * (1 + ln(coalesce(l.company_size, 10)) / 4) AS scale
          FROM {s}.leads l LEFT JOIN {s}.deals d ON d.lead_id = l.id
         WHERE d.lead_id IS NOT NULL OR U(72, l.id) < 0.04
      ) c,
      generate_series(1, c.n) AS k(k)
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_orders = ROW_COUNT;

    -- Events: exactly round(leads * events_per_lead) rows. Each lead gets a share
    -- proportional to 0.25 + 2.5 * intent (cumulative split, so the total is
    -- exact); event types and recency shift with intent. Events fall between
    -- greatest(created_at, as_of - 365 days) and as_of, never in the future.
    q := $q$
    INSERT INTO {s}.events (id, lead_id, event_type, occurred_at)
    SELECT e.id, b.id,
           CASE WHEN r < 40 THEN 'page_view'
                WHEN r < 62 THEN 'email_open'
                WHEN r < 68 + 6 * i THEN 'email_click'
                WHEN r < 71 + 11 * i THEN 'download'
                WHEN r < 72 + 25 * i THEN 'pricing_page'
                WHEN r < 74 + 29 * i THEN 'webinar'
                WHEN r < 76 + 33 * i THEN 'form_submit'
                WHEN r < 76.3 + 33 * i + 5 * i * i THEN 'demo_request'
                WHEN r < 77.5 + 31.8 * i + 5 * i * i THEN 'unsubscribe'
                WHEN r < 78.1 + 31.8 * i + 5 * i * i THEN 'email_bounce'
                ELSE 'complaint' END,
           $1 - floor(b.span * power(U(61, e.id), 1 + 3 * i)) * interval '1 second'
      FROM (
        SELECT id, i, span,
               coalesce(floor($13 * lag(cum) OVER (ORDER BY id) / tot), 0)::bigint AS e0,
               CASE WHEN id = $2 THEN $13 ELSE floor($13 * cum / tot)::bigint END AS e1
          FROM (
            SELECT id, i, span,
                   sum(0.25 + 2.5 * i) OVER (ORDER BY id) AS cum,
                   sum(0.25 + 2.5 * i) OVER () AS tot
              FROM (
                SELECT g.id, power(U(20, g.id), 1.7) AS i,
                       least(floor(U(15, g.id) * 63072000), 31536000)::float8 AS span
                  FROM generate_series(1::bigint, $2) AS g(id)
              ) a
          ) w
      ) b,
      generate_series(b.e0 + 1, b.e1) AS e(id),
      LATERAL (SELECT U(60, e.id) * (78.25 + 31.65 * b.i + 5 * b.i * b.i) AS r) AS rr
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_events = ROW_COUNT;

    EXECUTE format($ddl$
        SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(%1$L, 'id'), greatest(%2$s, 1), %2$s > 0);
        SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(%3$L, 'id'), greatest(%4$s, 1), %4$s > 0);
        CREATE INDEX ON %5$s.events (lead_id);
        CREATE INDEX ON %5$s.orders (lead_id);
        CREATE INDEX ON %5$s.deals (lead_id);
        $ddl$, s || '.events', n_events, s || '.orders', n_orders, s);
    EXECUTE format('ANALYZE %1$s.leads, %1$s.events, %1$s.orders, %1$s.deals', s);

    q := format('generated by lead_scoring.generate_sample_crm(%L, %s, %s, %s, %L)',
                target_schema, leads, events_per_lead, seed, as_of);
    EXECUTE format('COMMENT ON TABLE %s.leads IS %L', s, 'Sample leads ' || q);
    EXECUTE format('COMMENT ON TABLE %s.events IS %L', s, 'Sample lead activity events ' || q);
    EXECUTE format('COMMENT ON TABLE %s.orders IS %L', s, 'Sample orders ' || q);
    EXECUTE format('COMMENT ON TABLE %s.deals IS %L', s, 'Sample won deals (conversions) ' || q);

    RETURN jsonb_build_object(
        'schema', target_schema,
        'leads', n_leads,
        'events', n_events,
        'orders', n_orders,
        'deals', n_deals,
        'conversion_rate', CASE WHEN n_leads > 0 THEN round(n_deals::numeric / n_leads, 4) END,
        'seed', seed,
        'as_of', as_of);
END
$fn$;

COMMENT ON FUNCTION lead_scoring.generate_sample_crm(text, int, float8, float8, timestamptz) IS
    'Creates (drops first) deterministic sample tables leads, events, orders and deals in target_schema; returns their row counts. Same arguments give identical data (hash-based, plan-independent).';

-- Internal: expands the U(k, key) macro and the {s} schema placeholder of a
-- generate_sample_crm query. U(k, key) becomes a uniform float8 in [0, 1) from
-- the low 53 bits of hashint8extended(key, hashint8extended(k, base)).
CREATE FUNCTION lead_scoring._sample_expand(q text, s text, base bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT pg_catalog.replace(
             pg_catalog.regexp_replace(q, 'U\((\d+), *([^()]+)\)',
               '((pg_catalog.hashint8extended((\2)::int8, pg_catalog.hashint8extended(\1, ' || base
               || ')) OPERATOR(pg_catalog.&) 9007199254740991)::float8 OPERATOR(pg_catalog./) 9007199254740992.0)', 'g'),
             '{s}', s)
$fn$;
COMMENT ON FUNCTION lead_scoring._sample_expand(text, text, bigint) IS
    'Internal to generate_sample_crm: expands its U(stream, key) random-number macro and schema placeholder';
-- Privileges that depend on objects of later files (doc/privileges.md).
--
-- Refresh's history tables hold per-model data that the model's source-table
-- grants protect: stage_history has lead ids and their stages, and
-- refresh_log.error carries error messages, which can quote source values
-- ("invalid input syntax for type integer: ...", "Key (email)=(...)"). Show a
-- model's rows only to roles with the privileges of its owner, the rule of
-- lead_scoring.leaderboard and lead_scoring.funnel. Rows of deleted models are
-- then visible to superusers only. The tables are written by refresh (as the
-- extension owner) and by the background worker (a superuser), whom row-level
-- security does not bind. Each table is handled only if this build has it.
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['refresh_log', 'stage_history'] LOOP
        IF pg_catalog.to_regclass('lead_scoring.' OPERATOR(pg_catalog.||) t) IS NOT NULL THEN
            EXECUTE pg_catalog.format('ALTER TABLE lead_scoring.%I ENABLE ROW LEVEL SECURITY', t);
            EXECUTE pg_catalog.format(
                'CREATE POLICY %I ON lead_scoring.%I FOR SELECT TO PUBLIC USING ('
                'EXISTS (SELECT FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) %I.model '
                'AND pg_catalog.pg_has_role(m.owner::pg_catalog.oid, ''USAGE'')))',
                t OPERATOR(pg_catalog.||) '_owner_only', t, t);
            EXECUTE pg_catalog.format(
                'COMMENT ON POLICY %I ON lead_scoring.%I IS %L',
                t OPERATOR(pg_catalog.||) '_owner_only', t,
                'A model''s rows are visible to roles with the privileges of the model''s owner');
        END IF;
    END LOOP;
END
$do$;

-- Internal trigger functions are executable by nobody but the extension owner:
-- a trigger fires whatever its function's grants, so the triggers on
-- lead_scoring.model and the change-capture triggers refresh creates (as the
-- extension owner) work, while nobody can attach these functions to a table of
-- their own.
DO $do$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['_model_changed()', '_model_touch()', '_model_owner_check()',
                             '_capture_changes()', '_model_capture_cleanup()'] LOOP
        IF pg_catalog.to_regprocedure('lead_scoring.' OPERATOR(pg_catalog.||) f) IS NOT NULL THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION lead_scoring.%s FROM PUBLIC', f);
        END IF;
    END LOOP;
END
$do$;
