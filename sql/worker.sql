-- Owner checks on lead_scoring.model (the worker refreshes as the owner) and
-- the worker_status view (empty here: pg_regress servers don't preload us).
CREATE ROLE regress_ls_alice;
CREATE ROLE regress_ls_bob;
CREATE ROLE regress_ls_team;
GRANT regress_ls_team TO regress_ls_alice;
GRANT INSERT, UPDATE ON lead_scoring.model TO regress_ls_alice;

SET ROLE regress_ls_alice;
-- her own model, and one for a role she belongs to: fine
INSERT INTO lead_scoring.model (name, spec) VALUES ('w_alice', '{}');
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('w_team', '{}', 'regress_ls_team');
-- naming someone else the owner: refused, and nothing is written
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('w_bob', '{}', 'regress_ls_bob');
UPDATE lead_scoring.model SET owner = 'regress_ls_bob' WHERE name = 'w_alice';
-- other columns stay editable without the check
UPDATE lead_scoring.model SET refresh_interval = '5 minutes' WHERE name = 'w_team';
RESET ROLE;
SELECT name, owner, refresh_interval FROM lead_scoring.model WHERE name LIKE 'w\_%' ORDER BY name;

-- a superuser may give a model to anyone
UPDATE lead_scoring.model SET owner = 'regress_ls_bob' WHERE name = 'w_alice';
SELECT name, owner FROM lead_scoring.model WHERE name = 'w_alice';

SELECT count(*) FROM lead_scoring.worker_status;

DELETE FROM lead_scoring.model WHERE name LIKE 'w\_%';
REVOKE ALL ON lead_scoring.model FROM regress_ls_alice;
DROP ROLE regress_ls_alice, regress_ls_bob, regress_ls_team;
