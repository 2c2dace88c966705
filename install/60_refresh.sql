-- Materialized rankings (doc/rank.md): refresh (full and incremental), its log,
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
    status        text NOT NULL CONSTRAINT refresh_log_status CHECK (status IN ('ok', 'error', 'skipped')),  -- 'skipped': 0.1.0 only
    error         text,
    as_of         timestamptz,
    reason        text,      -- why a full refresh was done (first run, spec changed, decay, ...)
    changed_leads bigint,    -- leads recomputed from their rows
    rows_written  bigint     -- ranking rows inserted, updated or deleted
);
CREATE INDEX refresh_log_model_started ON lead_scoring.refresh_log (model, started_at);
COMMENT ON TABLE lead_scoring.refresh_log IS
    'One row per lead_scoring.refresh call that wrote something (and per failed background refresh); rows older than lead_scoring.log_retention are deleted by refresh';
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
    owner        oid NOT NULL,         -- the model's owner at that refresh (see drop_refresh_state)
    tick_start   timestamptz,          -- the tick the ranking was scored at (doc/rank.md)
    next_due     timestamptz,          -- earliest source row time after as_of (it starts to count then), NULL: none
    qualified    bigint,               -- non-disqualified rows of the ranking (the _ranked view's percentile)
    rfm_breaks   float8[]              -- the RFM cut points of the ranking (NULL: no lead has orders)
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
    'Brings the ranking of a model in its target table up to date at as_of, writing only the rows that changed (doc/rank.md); returns the ranking rows inserted, updated or deleted, NULL when skipped because another refresh of the model is running';

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
