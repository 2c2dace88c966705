-- Bad-input catalogue, part 2 (doc/hardening.md): the documented spec limits.
-- Slower than the other suites (a 100,000-rule spec is about 4 MB of JSON).
\i sql/include/lib.sql
CREATE TEMP TABLE spec(name text PRIMARY KEY, s jsonb);

-- 100,000 rules (the documented limit, kMaxRules) work; one more is refused
-- before any rule is compiled. "matches" rules have a limit of 1,000.
INSERT INTO spec SELECT 'r100k', jsonb_build_object('fit', jsonb_build_object('rules',
    jsonb_agg(jsonb_build_object('field', 'f' || (i % 1000), 'gte', i, 'points', 1)))) FROM generate_series(1, 100000) i;
-- f7 = 100000 matches the rules with i % 1000 = 7 and i <= 100000: 100 of them.
SELECT lead_scoring.fit_score(s, '{"f7": 100000}') AS score_100k, lead_scoring.fit_score(s, '{}') AS score_none
FROM spec WHERE name = 'r100k';
SELECT pg_temp.err($$SELECT lead_scoring.validate_model(s || jsonb_build_object('fit', jsonb_build_object('rules', s->'fit'->'rules' || '[{"field": "x", "eq": 1, "points": 1}]'))) FROM spec WHERE name = 'r100k'$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model(jsonb_build_object('fit', jsonb_build_object('rules',
    jsonb_agg(jsonb_build_object('field', 'f', 'matches', '^x' || i || '$', 'points', 1))))) FROM generate_series(1, 1001) i$$);

-- The same spec as a stored model (validated by the CHECK constraint, scored by name).
INSERT INTO lead_scoring.model(name, spec) SELECT 'big', s FROM spec WHERE name = 'r100k';
SELECT lead_scoring.fit_score('big', '{"f7": 100000, "f8": 8}'::jsonb) AS by_name;  -- 100 + 1 (f8 >= 8)
DELETE FROM lead_scoring.model WHERE name = 'big';
