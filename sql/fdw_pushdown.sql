-- postgres_fdw pushdown (doc/fdw.md): with events hash-partitioned over
-- postgres_fdw foreign tables whose server lists `extensions 'lead_scoring'`,
-- and enable_partitionwise_aggregate on, the spec form of activity_score (and
-- an IMMUTABLE fit_score in WHERE / aggregates / ORDER BY) is sent to each
-- shard as Remote SQL. The "shards" are plain tables in schema fdw_shard of
-- this same database, reached through a loopback server. Plans are checked by
-- counting EXPLAIN lines, results against hand sums and against the same
-- aggregate computed locally over the shard tables.
SET client_min_messages = warning;
SET extra_float_digits = 0;
CREATE EXTENSION postgres_fdw;
DO $d$ BEGIN
    EXECUTE format('CREATE SERVER fdw_loopback FOREIGN DATA WRAPPER postgres_fdw '
                   'OPTIONS (host %L, port %L, dbname %L, extensions %L)',
                   coalesce(nullif(btrim(split_part(current_setting('unix_socket_directories'), ',', 1)), ''),
                            'localhost'),
                   current_setting('port'), current_database(), 'lead_scoring');
END $d$;
CREATE USER MAPPING FOR CURRENT_USER SERVER fdw_loopback;

-- The lines of EXPLAIN (VERBOSE, COSTS OFF) of a query.
CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        RETURN NEXT l;
    END LOOP;
END $$;
-- How many foreign scans a plan has, how many of them send `pattern` in their
-- Remote SQL, and whether any aggregation or filtering is left to the local node.
CREATE FUNCTION pg_temp.pushed(q text, pattern text)
    RETURNS TABLE (remote_scans bigint, pushed bigint, local_agg boolean, local_filter boolean)
    LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE l ~ '^\s*Remote SQL: '),
           count(*) FILTER (WHERE l ~ ('^\s*Remote SQL: .*' || pattern)),
           coalesce(bool_or(l ~ '^\s*(->\s*)?(Partial |Finalize )?(Hash|Group|Mixed)?Aggregate'), false),
           coalesce(bool_or(l ~ '^\s*Filter: '), false)
    FROM pg_temp.plan(q) AS l
$$;

---------------------------------------------------------------- the shards
-- Three shards, each a local table in fdw_shard; `events` is hash-partitioned
-- on lead_id over foreign tables pointing at them, so a lead's events are all on
-- one shard and GROUP BY lead_id can be done wholly on each shard.
CREATE SCHEMA fdw_shard;
CREATE TABLE fdw_shard.events_0 (lead_id int, event_type text, occurred_at timestamptz);
CREATE TABLE fdw_shard.events_1 (LIKE fdw_shard.events_0);
CREATE TABLE fdw_shard.events_2 (LIKE fdw_shard.events_0);
CREATE TABLE fdw_events (lead_id int, event_type text, occurred_at timestamptz) PARTITION BY HASH (lead_id);
CREATE FOREIGN TABLE fdw_events_0 PARTITION OF fdw_events FOR VALUES WITH (MODULUS 3, REMAINDER 0)
    SERVER fdw_loopback OPTIONS (schema_name 'fdw_shard', table_name 'events_0');
CREATE FOREIGN TABLE fdw_events_1 PARTITION OF fdw_events FOR VALUES WITH (MODULUS 3, REMAINDER 1)
    SERVER fdw_loopback OPTIONS (schema_name 'fdw_shard', table_name 'events_1');
CREATE FOREIGN TABLE fdw_events_2 PARTITION OF fdw_events FOR VALUES WITH (MODULUS 3, REMAINDER 2)
    SERVER fdw_loopback OPTIONS (schema_name 'fdw_shard', table_name 'events_2');

-- Model: demo 10, visit 2 capped at 3, any other type 1; half-life 10 days;
-- as_of 2024-03-01 00:00+00, so an event 0/10/20 days old weighs 1, 1/2, 1/4.
--   lead 1: demo 0d (10) + demo 10d (5)                      = 15
--   lead 2: visit 0d ×3 (6, capped at 3) + demo 20d (2.5)    = 5.5
--   lead 3: webinar 10d ("*": 0.5)                            = 0.5
--   lead 4: demo 20d (2.5) + visit 10d (1)                    = 3.5
--   lead 5: demo 2024-03-10, in the future (ignored)          = 0
--   lead 6: visit 10d (1) + visit 20d (0.5)                   = 1.5
\set spec '''{"activity": {"events": {"demo": {"points": 10}, "visit": {"points": 2, "cap": 3}, "*": {"points": 1}}, "decay": {"kind": "exponential", "half_life": "10 days"}}}''::jsonb'
\set as_of 'timestamptz ''2024-03-01 00:00:00+00'''
INSERT INTO fdw_events VALUES
    (1, 'demo', '2024-03-01 00:00+00'), (1, 'demo', '2024-02-20 00:00+00'),
    (2, 'visit', '2024-03-01 00:00+00'), (2, 'visit', '2024-03-01 00:00+00'), (2, 'visit', '2024-03-01 00:00+00'),
    (2, 'demo', '2024-02-10 00:00+00'),
    (3, 'webinar', '2024-02-20 00:00+00'),
    (4, 'demo', '2024-02-10 00:00+00'), (4, 'visit', '2024-02-20 00:00+00'),
    (5, 'demo', '2024-03-10 00:00+00'),
    (6, 'visit', '2024-02-20 00:00+00'), (6, 'visit', '2024-02-10 00:00+00');
-- The rows went through the foreign tables into the shards; every shard has some.
SELECT 'events_0' AS shard, count(*) AS n, array_agg(DISTINCT lead_id) AS leads FROM fdw_shard.events_0
UNION ALL SELECT 'events_1', count(*), array_agg(DISTINCT lead_id) FROM fdw_shard.events_1
UNION ALL SELECT 'events_2', count(*), array_agg(DISTINCT lead_id) FROM fdw_shard.events_2;

-------------------------------------------------- activity_score, spec form
SET enable_partitionwise_aggregate = on;
-- GROUP BY lead_id: every shard runs the whole aggregate; nothing is aggregated locally.
\set act 'SELECT lead_id, lead_scoring.activity_score(' :spec ', event_type, occurred_at, ' :as_of ') FROM fdw_events GROUP BY lead_id'
SELECT * FROM pg_temp.pushed(:'act', 'lead_scoring\.activity_score\(''\{.*\}''::jsonb, event_type, occurred_at, ''[^'']+''::timestamp with time zone\) FROM fdw_shard\.events_[0-2] GROUP BY 1');
-- The Remote SQL sent to one shard, as it reads:
SELECT btrim(l) AS remote_sql FROM pg_temp.plan(:'act') AS l
WHERE l ~ 'Remote SQL: .*events_0';
-- The pushed-down scores (the query above, as a sub-select that stays pushed
-- down) against the hand sums ...
\set act_check 'SELECT s.lead_id, s.score, e.expected, s.score = e.expected AS ok FROM (' :act ') AS s(lead_id, score) JOIN (VALUES (1, 15.0::float8), (2, 5.5), (3, 0.5), (4, 3.5), (5, 0), (6, 1.5)) AS e(lead_id, expected) USING (lead_id) ORDER BY lead_id'
SELECT remote_scans, pushed, local_agg FROM pg_temp.pushed(:'act_check', 'activity_score');
:act_check;
-- ... and against the same aggregate run locally over the shard tables (not through the FDW).
SELECT count(*) AS leads, bool_and(abs(p.score - l.score) <= 1e-9 * greatest(1, abs(l.score))) AS equal
FROM (:act) AS p(lead_id, score)
FULL JOIN (SELECT lead_id, lead_scoring.activity_score(:spec, event_type, occurred_at, :as_of) AS score
           FROM (TABLE fdw_shard.events_0 UNION ALL TABLE fdw_shard.events_1 UNION ALL TABLE fdw_shard.events_2) AS e
           GROUP BY lead_id) AS l USING (lead_id);

-- activity_breakdown, spec form, is pushed the same way and agrees with the local one.
\set bd 'SELECT lead_id, lead_scoring.activity_breakdown(' :spec ', event_type, occurred_at, ' :as_of ') FROM fdw_events GROUP BY lead_id'
SELECT * FROM pg_temp.pushed(:'bd', 'lead_scoring\.activity_breakdown\(''\{.*\}''::jsonb');
SELECT lead_id, lead_scoring.activity_breakdown(:spec, event_type, occurred_at, :as_of) AS breakdown
FROM fdw_events WHERE lead_id IN (2, 4) GROUP BY lead_id ORDER BY lead_id;
SELECT count(*) AS leads, bool_and(p.b = l.b) AS equal FROM (:bd) AS p(lead_id, b)
    JOIN (SELECT lead_id, lead_scoring.activity_breakdown(:spec, event_type, occurred_at, :as_of) AS b
          FROM (TABLE fdw_shard.events_0 UNION ALL TABLE fdw_shard.events_1 UNION ALL TABLE fdw_shard.events_2) e
          GROUP BY lead_id) AS l USING (lead_id);

-- One total over all leads (no GROUP BY lead_id) needs a partial aggregate per
-- shard and a combine step; postgres_fdw in PostgreSQL 15 does not push partial
-- aggregates, so the shards send rows and the aggregation is local (same result).
\set act_total 'SELECT lead_scoring.activity_score(' :spec ', event_type, occurred_at, ' :as_of ') FROM fdw_events'
SELECT * FROM pg_temp.pushed(:'act_total', 'activity_score');
SELECT lead_scoring.activity_score(:spec, event_type, occurred_at, :as_of) AS "all events: cap 3 on visit = 10+5+2.5+3+0.5+2.5+0.5"
FROM fdw_events;

-- Without `extensions 'lead_scoring'` nothing of ours is shipped: the shards
-- send rows and the scores are computed locally (and are the same).
ALTER SERVER fdw_loopback OPTIONS (DROP extensions);
SELECT * FROM pg_temp.pushed(:'act', 'activity_score');
SELECT array_agg(score ORDER BY lead_id) AS scores FROM
    (SELECT lead_id, lead_scoring.activity_score(:spec, event_type, occurred_at, :as_of) AS score
     FROM fdw_events GROUP BY lead_id) AS s;
ALTER SERVER fdw_loopback OPTIONS (ADD extensions 'lead_scoring');

-------------------------------------------------- activity_score, name form
-- The name form is shipped too: PostgreSQL marks every aggregate IMMUTABLE in
-- pg_proc whatever its transition function is, so postgres_fdw sees nothing
-- mutable. The shard then looks the name up in ITS OWN lead_scoring.model. Shown
-- here with an edit the shard cannot see yet: inside a transaction that changes
-- the model (uncommitted), the pushed-down name form still scores with the old
-- spec, while the same aggregate run locally sees the new one. Use the spec form
-- with shards.
INSERT INTO lead_scoring.model(name, spec) VALUES ('fdw_activity', :spec);
\set act_name 'SELECT lead_id, lead_scoring.activity_score(\'fdw_activity\', event_type, occurred_at, ' :as_of ') FROM fdw_events GROUP BY lead_id'
SELECT * FROM pg_temp.pushed(:'act_name', 'lead_scoring\.activity_score\(''fdw_activity''::text');
BEGIN;
UPDATE lead_scoring.model SET spec = '{"activity": {"events": {"demo": {"points": 100}}}}' WHERE name = 'fdw_activity';
-- Old spec on the shards: 15, 5.5, 0.5, 3.5, 0, 1.5 as above. New spec (demo 100,
-- no decay, other types 0), run locally: 200, 100, 0, 100, 0 (future), 0.
SELECT (SELECT array_agg(score ORDER BY lead_id) FROM (:act_name) AS s(lead_id, score)) AS "pushed: shard's model",
       (SELECT array_agg(score ORDER BY lead_id) FROM
           (SELECT lead_id, lead_scoring.activity_score('fdw_activity', event_type, occurred_at, :as_of)
            FROM (TABLE fdw_shard.events_0 UNION ALL TABLE fdw_shard.events_1 UNION ALL TABLE fdw_shard.events_2) e
            GROUP BY lead_id) AS s(lead_id, score)) AS "local: this session's model";
ROLLBACK;

-------------------------------------------------------------------- fit_score
-- A foreign (unpartitioned) leads table. industry Software 30, employees ≥ 100 20.
-- attrs_text holds the same JSON as attrs, as text.
CREATE TABLE fdw_shard.leads (lead_id int, industry text, employees int, attrs jsonb, attrs_text text);
CREATE FOREIGN TABLE fdw_leads (lead_id int, industry text, employees int, attrs jsonb, attrs_text text)
    SERVER fdw_loopback OPTIONS (schema_name 'fdw_shard', table_name 'leads');
INSERT INTO fdw_leads (lead_id, industry, employees, attrs) VALUES
    (1, 'Software', 500, '{"industry": "Software", "employees": 500}'),  -- 30 + 20 = 50
    (2, 'Software', 10,  '{"industry": "software", "employees": 10}'),   -- 30
    (3, 'Retail',   200, '{"industry": "Retail", "employees": 200}'),    -- 20
    (4, 'Retail',   5,   '{"industry": "Retail", "employees": 5}');      -- 0
UPDATE fdw_leads SET attrs_text = attrs::text;
\set fit '''{"fit": {"rules": [{"field": "industry", "eq": "Software", "points": 30}, {"field": "employees", "gte": 100, "points": 20}]}}''::jsonb'
INSERT INTO lead_scoring.model(name, spec) VALUES ('fdw_fit', :fit);

-- Spec form (IMMUTABLE) in WHERE: the filter runs on the shard.
\set fit_where 'SELECT lead_id FROM fdw_leads WHERE lead_scoring.fit_score(' :fit ', attrs) >= 30'
SELECT * FROM pg_temp.pushed(:'fit_where', 'WHERE .*lead_scoring\.fit_score\(''\{.*\}''::jsonb, attrs\)');
SELECT lead_id FROM fdw_leads WHERE lead_scoring.fit_score(:fit, attrs) >= 30 ORDER BY lead_id;
-- In an aggregate (the whole aggregate goes to the shard) and in ORDER BY.
\set fit_sum 'SELECT sum(lead_scoring.fit_score(' :fit ', attrs)) FROM fdw_leads'
SELECT * FROM pg_temp.pushed(:'fit_sum', 'SELECT sum\(lead_scoring\.fit_score\(');
SELECT sum(lead_scoring.fit_score(:fit, attrs)) AS "50 + 30 + 20 + 0 = 100" FROM fdw_leads;
\set fit_order 'SELECT lead_id, lead_scoring.fit_score(' :fit ', attrs) FROM fdw_leads ORDER BY 2 DESC'
SELECT * FROM pg_temp.pushed(:'fit_order', 'ORDER BY lead_scoring\.fit_score\(');
SELECT lead_id, lead_scoring.fit_score(:fit, attrs) AS score, expected,
       lead_scoring.fit_score(:fit, attrs) = expected AS ok
FROM fdw_leads JOIN (VALUES (1, 50.0::float8), (2, 30), (3, 20), (4, 0)) AS e(lead_id, expected) USING (lead_id)
ORDER BY lead_id;
-- The text-attributes overload with a spec is IMMUTABLE too and is shipped for a
-- text column. (An expression such as attrs::text is not: postgres_fdw never
-- ships an I/O conversion cast, whatever the function around it.)
\set fit_text 'SELECT lead_id FROM fdw_leads WHERE lead_scoring.fit_score(' :fit ', attrs_text) >= 30'
SELECT * FROM pg_temp.pushed(:'fit_text', 'WHERE .*lead_scoring\.fit_score\(''\{.*\}''::jsonb, attrs_text\)');
SELECT array_agg(lead_id ORDER BY lead_id) AS "1, 2" FROM fdw_leads WHERE lead_scoring.fit_score(:fit, attrs_text) >= 30;

-- Name form (STABLE: it reads lead_scoring.model, which may differ on a shard)
-- is never shipped: the shard sends rows, the filter runs locally, same answer.
\set fit_name 'SELECT lead_id FROM fdw_leads WHERE lead_scoring.fit_score(\'fdw_fit\', attrs) >= 30'
SELECT * FROM pg_temp.pushed(:'fit_name', 'fit_score');
SELECT array_agg(lead_id ORDER BY lead_id) AS "1, 2" FROM fdw_leads WHERE lead_scoring.fit_score('fdw_fit', attrs) >= 30;
-- An untyped spec literal resolves to the name form (text is the preferred
-- type), so it is not shipped either: write the spec with ::jsonb.
\set fit_untyped 'SELECT lead_id FROM fdw_leads WHERE lead_scoring.fit_score(\'{"fit": {"rules": []}}\', attrs) >= 30'
SELECT * FROM pg_temp.pushed(:'fit_untyped', 'fit_score');
-- The row form (whole row of the foreign table) is not shipped: the row type is
-- not part of a listed extension, and a shard would only see an anonymous ROW().
-- Computed locally from the fetched columns, it scores the same.
\set fit_row 'SELECT lead_id FROM fdw_leads l WHERE lead_scoring.fit_score(' :fit ', l) >= 30'
SELECT * FROM pg_temp.pushed(:'fit_row', 'fit_score');
SELECT lead_id, lead_scoring.fit_score(:fit, l) AS row_form, lead_scoring.fit_score(:fit, attrs) AS jsonb_form
FROM fdw_leads l ORDER BY lead_id;

RESET enable_partitionwise_aggregate;
DELETE FROM lead_scoring.model WHERE name IN ('fdw_activity', 'fdw_fit');
DROP TABLE fdw_events;
DROP FOREIGN TABLE fdw_leads;
DROP SCHEMA fdw_shard CASCADE;
DROP SERVER fdw_loopback CASCADE;
DROP EXTENSION postgres_fdw;
