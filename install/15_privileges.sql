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
