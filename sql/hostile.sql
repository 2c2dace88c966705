-- Bad-input catalogue (doc/errors.md, doc/hardening.md): every hostile input
-- gives a result or an ERROR with a precise SQLSTATE, never a crash.
\i sql/include/lib.sql
CREATE TEMP TABLE spec(name text PRIMARY KEY, s jsonb);

-- 1. Non-finite numbers. JSON (and so jsonb) cannot express NaN or Infinity:
SELECT pg_temp.err($$SELECT '{"fit": {"rules": [{"field": "a", "eq": 1, "points": NaN}]}}'::jsonb::text$$);
SELECT pg_temp.err($$SELECT '{"points": Infinity}'::jsonb::text$$);
SELECT pg_temp.err($$SELECT '{"points": -Infinity}'::jsonb::text$$);
-- but 1e400 is valid JSON and a valid numeric; as a float8 it is out of range:
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "eq": 1, "points": 1e400}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "eq": 1, "points": 1}], "max": -1e400}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "between": [-1e400, 0], "points": 1}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "in": [1, 2, 1e-400], "points": 1}]}}')$$);
-- 1e-400 underflows to 0 (finite, accepted above); as a string operand it is
-- not a number, so it compares as text.
-- Attribute values beyond float8: a JSON number 1e400 is +Infinity (numeric to
-- float8), the string "1e400" is not a number (float8in refuses it too);
-- the strings "NaN"/"Infinity" are not numbers either: lead data that says
-- "Infinity" is text, and must not pass every gt/gte predicate.
INSERT INTO spec VALUES ('gt1', '{"fit": {"rules": [{"field": "a", "gt": 1, "points": 1}, {"field": "a", "lt": 1, "points": 2}, {"field": "a", "neq": 5, "points": 4}]}}');
SELECT v, lead_scoring.fit_score((SELECT s FROM spec WHERE name = 'gt1'), jsonb_build_object('a', v::jsonb)) AS score
FROM (VALUES ('1e400'), ('-1e400'), ('"1e400"'), ('"Infinity"'), ('"-inf"'), ('"NaN"'), ('1e-400'), ('"1e308"')) t(v);
-- Row form: float8 and numeric columns holding NaN and infinities.
CREATE TEMP TABLE nums(a float8, b numeric);
INSERT INTO nums VALUES ('NaN', 'NaN'), ('Infinity', 'Infinity'), ('-Infinity', '-Infinity');
SELECT a, b, lead_scoring.fit_score((SELECT s FROM spec WHERE name = 'gt1'), n) AS score_a,
       lead_scoring.fit_score(replace((SELECT s FROM spec WHERE name = 'gt1')::text, '"a"', '"b"')::jsonb, n) AS score_b
FROM nums n ORDER BY a;

-- 2. Sums beyond float8. Two rules of 1e308 would add up to Infinity (and with
-- two of -1e308 to Infinity - Infinity = NaN): the spec is refused, so every
-- fit score is finite.
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "exists": true, "points": 1e308}, {"field": "b", "exists": true, "points": 1e308}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "exists": true, "points": -1e308}, {"field": "b", "exists": true, "points": -1e308}]}}')$$);
-- 8e307 + 8e307 = 1.6e308 is below float8's maximum (about 1.797e308): accepted.
SELECT lead_scoring.fit_score('{"fit": {"rules": [{"field": "a", "exists": true, "points": 8e307}, {"field": "b", "exists": true, "points": 8e307}, {"field": "c", "exists": true, "points": -1e308}]}}'::jsonb,
                              '{"a": 1, "b": 1}') = 1.6e308::float8 AS sum_is_1_6e308,
       lead_scoring.fit_score('{"fit": {"rules": [{"field": "a", "exists": true, "points": 8e307}, {"field": "b", "exists": true, "points": 8e307}, {"field": "c", "exists": true, "points": -1e308}]}}'::jsonb,
                              '{"a": 1, "b": 1, "c": 1}') = (8e307::float8 + 8e307::float8 - 1e308::float8) AS with_negative;
-- Huge numbers as attributes and bounds.
SELECT lead_scoring.fit_score('{"fit": {"rules": [{"field": "n", "between": [-1.7976931348623157e308, 1.7976931348623157e308], "points": 1}, {"field": "n", "eq": 12345678901234567890, "points": 2}]}}'::jsonb,
                              '{"n": 12345678901234567890}') AS huge_integer;

-- 3. Empty and 1 MB strings, as attribute values and in contains / matches / eq.
INSERT INTO spec VALUES ('str', '{"fit": {"rules": [{"field": "a", "contains": "needle", "points": 1}, {"field": "a", "matches": "ne+dle$", "points": 2}, {"field": "a", "eq": "", "points": 4}, {"field": "a", "contains": "", "points": 8}, {"field": "a", "exists": true, "points": 16}]}}');
SELECT label, lead_scoring.fit_score((SELECT s FROM spec WHERE name = 'str'), jsonb_build_object('a', v)) AS score
FROM (VALUES ('empty', ''), ('1 MB', repeat('x', 1048576)), ('1 MB + needle', repeat('X', 1048576) || 'NEEDLE'),
             ('1 MB non-ASCII + needle', repeat('Ä', 524288) || 'needle')) t(label, v);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "matches": "", "points": 1}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "", "eq": 1, "points": 1}]}}')$$);
-- A 1 MB operand: contains works, a 1 MB regular expression is too large.
SELECT lead_scoring.fit_score(jsonb_build_object('fit', jsonb_build_object('rules', jsonb_build_array(
           jsonb_build_object('field', 'a', 'contains', repeat('y', 1048576), 'points', 1)))),
       jsonb_build_object('a', 'z' || repeat('Y', 1048576))) AS contains_1mb;
SELECT pg_temp.err($$SELECT lead_scoring.validate_model(jsonb_build_object('fit', jsonb_build_object('rules', jsonb_build_array(
           jsonb_build_object('field', 'a', 'matches', repeat('y', 1048576), 'points', 1)))))$$);

-- 4. Deeply nested JSON (10,000 levels), as a spec and as attributes.
SELECT pg_temp.err($$SELECT lead_scoring.validate_model(('{"fit": ' || repeat('[', 10000) || repeat(']', 10000) || '}')::jsonb)$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model((repeat('{"fit": ', 10000) || '1' || repeat('}', 10000))::jsonb)$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model(('{"description": ' || repeat('[', 10000) || repeat(']', 10000) || '}')::jsonb)$$);
-- An array or object is present (exists) but equal to no scalar.
SELECT lead_scoring.fit_score('{"fit": {"rules": [{"field": "a", "exists": true, "points": 1}, {"field": "a", "eq": "x", "points": 2}, {"field": "a", "neq": "x", "points": 4}, {"field": "a", "contains": "[", "points": 8}]}}'::jsonb,
                              ('{"a": ' || repeat('[', 10000) || repeat(']', 10000) || '}')::jsonb) AS nested_array,
       lead_scoring.fit_score('{"fit": {"rules": [{"field": "a", "exists": true, "points": 1}]}}'::jsonb,
                              (repeat('{"a": ', 10000) || '1' || repeat('}', 10000))::jsonb) AS nested_object;

-- 6. NULL everywhere. Every function is STRICT: a NULL argument gives NULL.
SELECT lead_scoring.validate_model(NULL) IS NULL AS validate_null,
       lead_scoring.fit_score(NULL::jsonb, '{}'::jsonb) IS NULL AS spec_null,
       lead_scoring.fit_score('{}'::jsonb, NULL::jsonb) IS NULL AS attrs_null,
       lead_scoring.fit_score(NULL::text, '{}'::jsonb) IS NULL AS name_null,
       lead_scoring.fit_breakdown('{}'::jsonb, NULL::jsonb) IS NULL AS breakdown_null;
-- JSON null: a null field is missing for every predicate except exists: false.
SELECT lead_scoring.fit_score('{"fit": {"rules": [{"field": "a", "exists": false, "points": 1}, {"field": "a", "neq": "x", "points": 2}, {"field": "a", "not_in": ["x"], "points": 4}, {"field": "a", "lte": 0, "points": 8}]}}'::jsonb,
                              '{"a": null}') AS json_null;
SELECT pg_temp.err($$SELECT lead_scoring.fit_score('{}'::jsonb, 'null'::jsonb)$$);
SELECT pg_temp.err($$SELECT lead_scoring.fit_score('{}'::jsonb, '[1]'::jsonb)$$);
SELECT pg_temp.err($$SELECT lead_scoring.fit_score('{}'::jsonb, '"text"'::text)$$);
SELECT pg_temp.err($$SELECT lead_scoring.fit_score('{}'::jsonb, '{"a": '::text)$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('null')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": null}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": null, "eq": 1, "points": 1}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "eq": 1, "points": null}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "eq": null, "points": 1}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "in": [null], "points": 1}]}}')$$);
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"activity": {"window": null}}')$$);
SELECT pg_temp.err($$INSERT INTO lead_scoring.model(name, spec) VALUES ('m', NULL) RETURNING name$$);
SELECT pg_temp.err($$INSERT INTO lead_scoring.model(name, spec) VALUES (NULL, '{}') RETURNING name$$);

-- 7. Regular expressions: invalid, huge, pathological, unsupported.
SELECT left(p, 24) AS pattern, length(p), pg_temp.err(format($$SELECT lead_scoring.validate_model(jsonb_build_object('fit', jsonb_build_object('rules', jsonb_build_array(jsonb_build_object('field', 'a', 'matches', %L, 'points', 1)))))$$, p))
FROM (VALUES ('(a'), ('a)'), ('[z-a]'), ('a{2,1}'), ('a**'), ('((a{100}){100}){100}'), ('(a)\1'), ('(?<=a)b'), ('\'),
             (repeat('(', 1000) || repeat(')', 1000)), (repeat('(', 100000) || 'a' || repeat(')', 100000)),
             (repeat('(?:', 10000) || 'a' || repeat(')*', 10000)), (repeat('a|', 100000) || 'b')) t(p);
-- Exponential for a backtracking engine, linear for RE2: 100,000 characters.
SELECT lead_scoring.fit_score('{"fit": {"rules": [{"field": "a", "matches": "^(x+x+)+y$", "points": 1}, {"field": "a", "matches": "(a|aa)*b", "points": 2}, {"field": "a", "matches": "^(x|x)*$", "points": 4}]}}'::jsonb,
                              jsonb_build_object('a', repeat('x', 100000))) AS pathological;

-- 8. Hostile identifiers: field names are JSON keys or column names, never SQL.
INSERT INTO spec VALUES ('ident', '{"fit": {"rules": [{"field": "a\"; DROP TABLE spec; --", "eq": "x", "points": 1}, {"field": "Robert''); DROP TABLE students;--", "exists": true, "points": 2}, {"field": "ünï €", "eq": 1, "points": 4}]}}');
SELECT lead_scoring.fit_score(s, '{"a\"; DROP TABLE spec; --": "X", "Robert''); DROP TABLE students;--": 0, "ünï €": "1"}') AS jsonb_form
FROM spec WHERE name = 'ident';
CREATE TEMP TABLE "hostile; row"("a""; DROP TABLE spec; --" text, "Robert'); DROP TABLE students;--" int, "ünï €" numeric);
INSERT INTO "hostile; row" VALUES ('x', NULL, 1);
SELECT lead_scoring.fit_score(s, h) AS row_form FROM spec, "hostile; row" h WHERE name = 'ident';
SELECT count(*) AS spec_table_survived FROM spec;
-- Model names: the name format is checked; lookups are parameterized.
SELECT pg_temp.err($$INSERT INTO lead_scoring.model(name, spec) VALUES ('x''; DROP TABLE spec; --', '{}') RETURNING name$$);
SELECT pg_temp.err($$SELECT lead_scoring.fit_score('x''; DROP TABLE spec; --'::text, '{}'::jsonb)$$);
SELECT pg_temp.err($$SELECT lead_scoring.fit_score('x'' OR ''1''=''1'::text, '{}'::jsonb)$$);
SELECT pg_temp.err(format($$SELECT lead_scoring.fit_score(%L::text, '{}'::jsonb)$$, repeat('n', 10000)));
-- Unknown keys with quotes are reported at a quoted path.
SELECT pg_temp.err($$SELECT lead_scoring.validate_model('{"fit": {"rules": [{"field": "a", "eq": 1, "points": 1, "x\"y;z": 1}]}}')$$);

-- 9. Intervals in a spec: PostgreSQL syntax, finite and positive.
SELECT w, pg_temp.err(format($$SELECT lead_scoring.validate_model(jsonb_build_object('activity', jsonb_build_object('window', %L::text)))$$, w))
FROM (VALUES ('1 mon'), ('@ 1 year 2 mons'), ('0 days'), ('-1 day'), ('1 day ago'), ('P1D'), (''), ('1 fortnight'),
             ('999999999999999 millennium'), ('178956970 years 7 mons'), ('178956970 years 8 mons'), ('1e400 days')) t(w);

-- 10. Row form with two call sites, and with the model changing from row to
-- row (the column map is rebuilt per change). The row map's tuple descriptor
-- used to be copied into the per-row memory context: the second call site then
-- read freed memory (a crash). Checked against plain SQL.
CREATE TEMP TABLE leads AS
SELECT i AS id, (i % 7)::float8 AS size, CASE WHEN i % 3 = 0 THEN 'Software' ELSE 'Retail' END AS industry
FROM generate_series(1, 2000) i;
SELECT sum(lead_scoring.fit_score(CASE WHEN id % 2 = 0 THEN '{"fit": {"rules": [{"field": "size", "gte": 3, "points": 1}]}}'::jsonb
                                       ELSE '{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]}}'::jsonb END, l))
       = sum(CASE WHEN id % 2 = 0 THEN (size >= 3)::int ELSE 10 * (industry = 'Software')::int END) AS alternating_ok,
       sum(lead_scoring.fit_score('{"fit": {"rules": [{"field": "size", "gte": 3, "points": 1}]}}'::jsonb, l)
           + lead_scoring.fit_score('{"fit": {"rules": [{"field": "industry", "eq": "software", "points": 10}]}}'::jsonb, l))
       = sum((size >= 3)::int + 10 * (industry = 'Software')::int) AS two_sites_ok
FROM leads l;

-- 11. Long messages are cut at 2 kB at a character boundary: cut inside a
-- UTF-8 sequence, the message was invalid text (a client in another encoding
-- then got "invalid byte sequence" instead of the error).
DO $$
BEGIN
    PERFORM lead_scoring.validate_model(jsonb_build_object('x' || repeat('é', 1500), 1));
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'long message: % bytes, ends with "...": %, valid UTF-8: %', octet_length(SQLERRM),
        right(SQLERRM, 3) = '...', convert_from(convert_to(SQLERRM, 'UTF8'), 'UTF8') = SQLERRM;
END $$;
-- A LATIN1 client gets the error itself (22023), not 22021 from converting it.
SET client_encoding = 'LATIN1';
\set VERBOSITY sqlstate
SELECT lead_scoring.validate_model(jsonb_build_object('x' || repeat(chr(233), 1500), 1));
\set VERBOSITY default
RESET client_encoding;
