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
