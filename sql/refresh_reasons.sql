-- lead_scoring.refresh: what the leaderboard and errors say (doc/rank.md).
SET client_min_messages = warning;
CREATE SCHEMA rs;
CREATE TABLE rs.leads (id int PRIMARY KEY, industry text);
CREATE TABLE rs.events (lead_id int, kind text, at timestamptz);
INSERT INTO rs.leads VALUES (1, 'software'), (2, 'retail'), (3, NULL);
INSERT INTO rs.events VALUES
  (1, 'demo', '2024-03-01 00:00+00'), (1, 'page_view', '2024-03-02 00:00+00'), (1, 'page_view', '2024-03-03 00:00+00'),
  (1, 'webinar', '2024-03-04 00:00+00'), (2, 'page_view', '2024-03-05 00:00+00'), (3, 'demo', '2024-03-05 00:00+00');

-- 1. leaderboard.reasons names the real event types that "*" scored, as
-- activity_breakdown does, with the same points.
INSERT INTO lead_scoring.model (name, spec) VALUES ('rs', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 5, "label": "software"}]},
  "activity": {"events": {"demo": {"points": 10}, "*": {"points": 1.5}}, "decay": {"kind": "none"}},
  "source": {"leads": {"table": "rs.leads", "id": "id"},
             "events": {"table": "rs.events", "lead_id": "lead_id", "type": "kind", "time": "at"}}}');
SELECT lead_scoring.refresh('rs', '2024-03-10 00:00+00');
SELECT lead_id, rank, reasons FROM lead_scoring.leaderboard WHERE model = 'rs' ORDER BY rank, lead_id;
-- every lead: the reasons' activity equals activity_breakdown's capped points per type
SELECT l.lead_id, l.reasons->'activity' = (
         SELECT jsonb_object_agg(t.key, t.value->'capped')
         FROM (SELECT lead_scoring.activity_breakdown('rs', e.kind, e.at, '2024-03-10 00:00+00') AS b
               FROM rs.events e WHERE e.lead_id = l.lead_id::int) x,
              jsonb_each(x.b->'types') t) AS same_as_breakdown
FROM lead_scoring.leaderboard l WHERE l.model = 'rs' ORDER BY l.lead_id;

-- 2. A fit or disqualify rule field that is neither a column of the leads
-- table nor readable from a mapped properties column: 22023 naming the rule,
-- not a 0 for every lead.
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{fit,rules}',
  '[{"field": "industry", "eq": "software", "points": 5}, {"field": "country", "eq": "US", "points": 7}]') WHERE name = 'rs';
SELECT lead_scoring.refresh('rs', '2024-03-10 00:00+00');
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{disqualify}', '{"rules": [{"field": "spam_flag", "eq": true}]}')
  #- '{fit,rules,1}' WHERE name = 'rs';
SELECT lead_scoring.refresh('rs', '2024-03-10 00:00+00');
-- with a properties column the field may be in it: accepted
ALTER TABLE rs.leads ADD COLUMN props jsonb;
UPDATE rs.leads SET props = '{"spam_flag": true}' WHERE id = 3;
UPDATE lead_scoring.model SET spec = jsonb_set(spec, '{source,leads,properties}', '"props"') WHERE name = 'rs';
SELECT lead_scoring.refresh('rs', '2024-03-10 00:00+00');
SELECT lead_id, disqualified FROM lead_scoring.ranking_rs ORDER BY lead_id;

-- 3. An owner without USAGE on a source schema: a permission error (42501), not
-- "invalid table name".
CREATE ROLE regress_ls_rs_owner;
CREATE SCHEMA rs_private;
CREATE TABLE rs_private.leads (id int PRIMARY KEY);
INSERT INTO lead_scoring.model (name, spec, owner) VALUES ('rs_priv', '{
  "fit": {"rules": []}, "source": {"leads": {"table": "rs_private.leads", "id": "id"}}}', 'regress_ls_rs_owner');
SET ROLE regress_ls_rs_owner;
\set VERBOSITY sqlstate
SELECT lead_scoring.refresh('rs_priv');
\set VERBOSITY default
SELECT lead_scoring.refresh('rs_priv');
RESET ROLE;

\i sql/include/lib.sql
CALL pg_temp.drop_models('rs');
DELETE FROM lead_scoring.model WHERE name = 'rs_priv';
DELETE FROM lead_scoring.refresh_log WHERE model = 'rs_priv';
DROP SCHEMA rs CASCADE;
DROP SCHEMA rs_private CASCADE;
DROP ROLE regress_ls_rs_owner;
