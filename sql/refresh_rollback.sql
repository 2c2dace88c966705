-- A refresh that fails after consuming the change log rolls the consume back
-- with everything else (doc/rank.md, "Nothing lost"): the changes it had taken
-- are recomputed by the next refresh, which is still incremental. Both an
-- uncaught error and one caught in a subtransaction (an EXCEPTION block).
SET client_min_messages = warning;
\set VERBOSITY terse
CREATE SCHEMA rb;
CREATE TABLE rb.leads (id int PRIMARY KEY);
CREATE TABLE rb.events (lead_id int, kind text, at timestamptz);
INSERT INTO rb.leads SELECT generate_series(1, 5);
INSERT INTO rb.events VALUES (1, 'view', '2024-03-01 00:00+00'), (2, 'demo', '2024-03-01 00:00+00');
INSERT INTO lead_scoring.model (name, spec) VALUES ('rb', '{
  "activity": {"events": {"view": {"points": 1}, "demo": {"points": 25}}, "decay": {"kind": "none"}},
  "source": {"leads": {"table": "rb.leads", "id": "id"},
             "events": {"table": "rb.events", "lead_id": "lead_id", "type": "kind", "time": "at"}}}');
SELECT lead_scoring.refresh('rb', '2024-03-10 00:00+00');

-- activity by plain SQL (decay none: the sum of points) against the ranking
CREATE VIEW rb.wrong AS
SELECT r.lead_id, r.activity, coalesce(e.pts, 0) AS expected
FROM lead_scoring.ranking_rb r
LEFT JOIN (SELECT lead_id, sum(CASE kind WHEN 'demo' THEN 25 ELSE 1 END)::float8 AS pts
           FROM rb.events GROUP BY lead_id) e ON e.lead_id = r.lead_id
WHERE r.activity IS DISTINCT FROM coalesce(e.pts, 0);

-- A trigger on the ranking makes the refresh fail after it consumed the change
-- rows (it writes only changed rows: the trigger fires on any write).
CREATE FUNCTION rb.boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ranking write refused'; END $$;
CREATE TRIGGER boom AFTER INSERT OR UPDATE OR DELETE ON lead_scoring.ranking_rb FOR EACH STATEMENT EXECUTE FUNCTION rb.boom();

INSERT INTO rb.events VALUES (3, 'demo', '2024-03-02 00:00+00');
SELECT lead_scoring.refresh('rb', '2024-03-10 00:00+00');            -- fails
INSERT INTO rb.events VALUES (4, 'demo', '2024-03-02 00:00+00');
DO $$
BEGIN
    PERFORM lead_scoring.refresh('rb', '2024-03-10 00:00+00');
EXCEPTION WHEN raise_exception THEN
    RAISE WARNING 'caught: %', SQLERRM;
END $$;
DELETE FROM rb.events WHERE lead_id = 1;
BEGIN;
SAVEPOINT s;
SELECT lead_scoring.refresh('rb', '2024-03-10 00:00+00');            -- fails inside a savepoint
ROLLBACK TO SAVEPOINT s;
COMMIT;

DROP TRIGGER boom ON lead_scoring.ranking_rb;
SELECT lead_scoring.refresh('rb', '2024-03-10 00:00+00');
-- incremental, the three leads whose changes the failed refreshes had consumed
SELECT mode, changed_leads, reason FROM lead_scoring.refresh_log WHERE model = 'rb' ORDER BY id DESC LIMIT 1;
SELECT * FROM rb.wrong;                                              -- no row
SELECT lead_id, activity FROM lead_scoring.ranking_rb ORDER BY lead_id;

\i sql/include/lib.sql
CALL pg_temp.drop_models('rb');
DROP SCHEMA rb CASCADE;
