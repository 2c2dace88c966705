-- BANT (doc/qualify.md#bant): each criterion a RULE without points; undefined
-- criteria are NULL and not counted; qualified = met >= qualify_at.
\set VERBOSITY terse
SET client_min_messages = warning;
SET jit = off;  -- JIT compilation would only slow these small queries down
\i sql/include/lib.sql

INSERT INTO lead_scoring.model(name, spec) VALUES ('bant_b', '{
  "bant": {"budget": {"field": "budget", "gte": 10000},
           "authority": {"field": "title", "in": ["CTO", "CEO", "VP Engineering"]},
           "need": {"field": "pain", "exists": true},
           "timeline": {"field": "months_to_buy", "lte": 3}}
}'), ('bant_b2', '{"bant": {"budget": {"field": "budget", "gt": 0}, "need": {"field": "need", "eq": true}, "qualify_at": 1}}'),
     ('bant_none', '{}');
CREATE TEMP TABLE spec AS SELECT name, spec AS s FROM lead_scoring.model;

-- Hand-computed rows: (attributes, budget, authority, need, timeline, met, qualified) for model b (qualify_at 3).
CREATE TEMP TABLE cases(id int, attrs jsonb, budget bool, authority bool, need bool, timeline bool, met int, qualified bool);
INSERT INTO cases VALUES
  (1, '{"budget": 10000, "title": "cto", "pain": "slow reports", "months_to_buy": 3}', true, true, true, true, 4, true),
  (2, '{"budget": "9999.5", "title": "CEO", "pain": null, "months_to_buy": "2"}', false, true, false, true, 2, false),
  (3, '{"budget": "20000", "title": "intern", "pain": ["x"], "months_to_buy": 1}', true, false, true, true, 3, true),
  (4, '{}', false, false, false, false, 0, false),
  (5, '{"budget": "lots", "title": "VP ENGINEERING", "pain": 0, "months_to_buy": 3.01}', false, true, true, false, 2, false);
SELECT c.id, (r).budget IS NOT DISTINCT FROM c.budget AND (r).authority IS NOT DISTINCT FROM c.authority
             AND (r).need IS NOT DISTINCT FROM c.need AND (r).timeline IS NOT DISTINCT FROM c.timeline
             AND (r).met = c.met AND (r).qualified = c.qualified AS as_computed,
       r = lead_scoring.bant(s.s, c.attrs) AS same_by_spec
FROM cases c CROSS JOIN LATERAL (SELECT lead_scoring.bant('bant_b', c.attrs) AS r) x JOIN spec s ON s.name = 'bant_b'
ORDER BY c.id;

-- Undefined criteria are NULL and not counted; qualify_at 1.
SELECT (r).budget AND (r).need AND (r).authority IS NULL AND (r).timeline IS NULL AND (r).met = 2 AND (r).qualified AS two_defined
FROM (SELECT lead_scoring.bant('bant_b2', '{"budget": 1, "need": true}') AS r) x;
SELECT (r).budget = false AND (r).need = false AND (r).met = 0 AND NOT (r).qualified AS none_met
FROM (SELECT lead_scoring.bant('bant_b2', '{"budget": 0, "need": false}') AS r) x;
-- No bant key: every criterion NULL, met 0, not qualified (default qualify_at 3).
SELECT * FROM lead_scoring.bant('bant_none', '{"budget": 1}');
SELECT * FROM lead_scoring.bant('{"bant": {"qualify_at": 0}}'::jsonb, '{}');
SELECT lead_scoring.bant('bant_b', NULL) IS NULL AS strict;

SELECT pg_temp.err($q$SELECT lead_scoring.bant('bant_b', '"text"')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.bant('{"bant": {"budget": {"field": "b", "gte": 1, "points": 5}}}'::jsonb, '{}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.bant('{"bant": {"qualify_at": 5}}'::jsonb, '{}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.bant('{"bant": {"money": {"field": "b", "gte": 1}}}'::jsonb, '{}')$q$);
SELECT pg_temp.err($q$SELECT lead_scoring.bant('missing', '{}')$q$);
