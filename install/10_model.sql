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
COMMENT ON TABLE lead_scoring.model IS 'Lead scoring models: a name and a JSON spec (see doc/foundation.md)';

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
