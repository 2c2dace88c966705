-- TEST-ONLY stand-in for lead_scoring.refresh() and lead_scoring.refresh_log
-- (install/60_refresh.sql), so the worker's TAP tests run before that code is
-- merged. Each object is created only when the extension does not provide it;
-- once the real ones exist this file does nothing.
--
-- Like the real refresh: it runs as the caller (so it can read only what the
-- caller may read), fails when the source leads table is gone, and writes its
-- own 'ok' row to refresh_log inside its transaction.
DO $do$
BEGIN
    IF pg_catalog.to_regclass('lead_scoring.refresh_log') IS NULL THEN
        CREATE TABLE lead_scoring.refresh_log (
            id          bigserial PRIMARY KEY,
            model       text NOT NULL,
            started_at  timestamptz NOT NULL,
            finished_at timestamptz,
            mode        text,
            leads       bigint,
            events_read bigint,
            status      text NOT NULL CHECK (status IN ('ok', 'error', 'skipped')),
            error       text
        );
        CREATE INDEX ON lead_scoring.refresh_log (model, started_at);
        GRANT SELECT ON lead_scoring.refresh_log TO PUBLIC;
    END IF;

    IF pg_catalog.to_regprocedure('lead_scoring.refresh(text,timestamptz,boolean)') IS NULL THEN
        CREATE FUNCTION lead_scoring._stub_log(model text, started timestamptz, leads bigint) RETURNS void
            LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            INSERT INTO lead_scoring.refresh_log (model, started_at, finished_at, mode, leads, events_read, status)
            VALUES ($1, $2, clock_timestamp(), 'full', $3, 0, 'ok')
        $$;
        CREATE FUNCTION lead_scoring.refresh(model text, as_of timestamptz DEFAULT now(),
                                             "full" boolean DEFAULT false) RETURNS bigint
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            started timestamptz := clock_timestamp();
            s jsonb;
            n bigint;
        BEGIN
            SELECT m.spec INTO s FROM lead_scoring.model AS m WHERE m.name = refresh.model;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'model "%" does not exist', refresh.model USING ERRCODE = '22023';
            END IF;
            EXECUTE format('SELECT count(*) FROM %s', (s #>> '{source,leads,table}')::regclass) INTO n;
            PERFORM lead_scoring._stub_log(refresh.model, started, n);
            RETURN n;
        END
        $$;
    END IF;
END
$do$;
