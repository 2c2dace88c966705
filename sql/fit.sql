-- Fit scoring (doc/foundation.md#fit-scoring): jsonb, text-literal and row forms, name and spec
-- forms, fit_breakdown, errors. Expected scores are computed by hand from the
-- rules (comments show the sums) or by a plain-SQL CASE over the same data.
SET client_min_messages = warning;
\i sql/include/lib.sql

INSERT INTO lead_scoring.model(name, spec) VALUES ('fit_demo', '{
  "fit": {"rules": [
    {"field": "industry",     "in": ["software", "saas"],       "points": 20, "label": "target industry"},
    {"field": "title",        "matches": "^(vp|chief|head)",     "points": 15, "label": "senior title"},
    {"field": "employees",    "between": [50, 5000],            "points": 10},
    {"field": "employees",    "gt": 5000,                       "points": 5},
    {"field": "country",      "eq": "DE",                       "points": 5},
    {"field": "email_domain", "in": ["gmail.com", "yahoo.com"], "points": -25, "label": "free mail"},
    {"field": "revenue",      "gte": 1000000,                   "points": 10},
    {"field": "budget",       "exists": false,                  "points": -5},
    {"field": "active",       "eq": true,                       "points": 3},
    {"field": "signup_date",  "matches": "^2024-",              "points": 2},
    {"field": "segment",      "contains": "enterprise",         "points": 8}
  ], "min": -20, "max": 60},
  "source": {"leads": {"table": "fit_leads", "id": "id", "properties": "props"}}}');

-- jsonb form, hand-computed
SELECT lead_scoring.fit_score('fit_demo', '{}'::jsonb) AS "no budget: -5",
       lead_scoring.fit_score('fit_demo', '{"industry": "SaaS", "budget": 1}'::jsonb) AS "20",
       lead_scoring.fit_score('fit_demo', '{"industry": "software", "title": "VP Sales", "employees": 200,
            "country": "de", "revenue": "2e6", "budget": null, "active": true}'::jsonb)
            AS "20+15+10+5+10-5+3 = 58",
       lead_scoring.fit_score('fit_demo', '{"industry": "software", "title": "Chief of Staff", "employees": "6000",
            "country": "DE", "revenue": 1000000, "budget": 5, "active": "TRUE", "segment": "Enterprise"}'::jsonb)
            AS "20+15+5+5+10+3+8 = 66 -> 60",
       lead_scoring.fit_score('fit_demo', '{"email_domain": "GMAIL.COM", "employees": [1], "active": 1}'::jsonb)
            AS "-25-5 = -30 -> -20",
       lead_scoring.fit_score('fit_demo', '{"employees": " 5e3 ", "title": {"vp": 1}, "budget": {}}'::jsonb)
            AS "between inclusive: 10";

-- text-literal form (an untyped literal resolves to the text overload)
SELECT lead_scoring.fit_score('fit_demo', '{"industry": "software"}') AS "20-5 = 15",
       lead_scoring.fit_score('fit_demo', '{"industry": "software"}'::text) AS "15 again",
       lead_scoring.fit_score('fit_demo', '{"industry": "software"}'::varchar) AS "varchar: 15";

-- name form and spec form agree, in every input form
WITH s AS (SELECT spec FROM lead_scoring.model WHERE name = 'fit_demo'),
     a(attrs) AS (VALUES ('{}'::jsonb), ('{"industry": "SAAS", "title": "head of sales", "budget": 0}'),
                  ('{"email_domain": "yahoo.com", "employees": 49.999}'), ('{"employees": 5000.0001, "segment": "x"}'))
SELECT a.attrs, lead_scoring.fit_score('fit_demo', a.attrs) AS by_name,
       lead_scoring.fit_score(s.spec, a.attrs) = lead_scoring.fit_score('fit_demo', a.attrs) AS spec_jsonb_same,
       lead_scoring.fit_score(s.spec, a.attrs::text) = lead_scoring.fit_score('fit_demo', a.attrs) AS spec_text_same,
       lead_scoring.fit_score('fit_demo', a.attrs::text) = lead_scoring.fit_score('fit_demo', a.attrs) AS name_text_same
  FROM a, s;

-- fit_breakdown: every matched rule, in rule order, with field, label and points
SELECT lead_scoring.fit_breakdown('fit_demo', '{"industry": "SOFTWARE", "email_domain": "gmail.com"}'::jsonb)
     = '[{"rule": 0, "field": "industry", "label": "target industry", "points": 20},
         {"rule": 5, "field": "email_domain", "label": "free mail", "points": -25},
         {"rule": 7, "field": "budget", "label": null, "points": -5}]'::jsonb AS breakdown_as_expected;
SELECT lead_scoring.fit_breakdown('fit_demo', '{"industry": "Software", "title": "VP", "budget": 1}'::jsonb);
SELECT lead_scoring.fit_breakdown('{}'::jsonb, '{"a": 1}'::jsonb) AS no_rules,
       lead_scoring.fit_breakdown('fit_demo', '{"budget": 1}'::jsonb) AS nothing_matched;
-- the breakdown's points add up to the unclamped score
WITH a(attrs) AS (VALUES ('{"industry": "saas", "title": "VP", "employees": 100, "budget": 1}'::jsonb),
                         ('{"email_domain": "gmail.com", "country": "de"}'))
SELECT (SELECT sum((e->>'points')::float8) FROM jsonb_array_elements(lead_scoring.fit_breakdown('fit_demo', attrs)) e)
       AS breakdown_sum, lead_scoring.fit_score('fit_demo', attrs) AS score
  FROM a;

-- Row form: columns are the fields; fields that are not columns come from the
-- jsonb properties column named in source.leads.properties.
CREATE TABLE fit_leads (
    id          int PRIMARY KEY,
    industry    text,
    title       varchar(100),
    country     char(4),
    employees   int,
    revenue     numeric,
    active      bool,
    budget      jsonb,
    signup_date date,
    props       jsonb
);
INSERT INTO fit_leads VALUES
 -- 20+15+10+5+10+3+2+8 = 73 -> 60 (email_domain and segment from props)
 (1, 'Software', 'VP Sales', 'DE', 200, 2000000, true, '50000', '2024-03-01',
     '{"email_domain": "acme.com", "segment": "Enterprise EMEA"}'),
 -- -25 (props) -5 (budget NULL) = -30 -> -20
 (2, 'Retail', 'intern', 'US', 10, 5000, false, NULL, '2023-12-31', '{"email_domain": "GMAIL.COM"}'),
 -- 20+15+5+5 (char(4) 'de  ' is 'de') +2 = 47; budget is an object: it exists
 (3, 'SaaS', 'Head of IT', 'de', 6000, NULL, NULL, '{"amount": 1}', '2024-01-15', NULL),
 -- the industry column wins over props even when NULL: only -5
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"industry": "software", "segment": "smb"}'),
 -- 20+15+10-25+3+2+8 = 33 (revenue 999999.99 < 1e6)
 (5, 'software', 'Chief Revenue Officer', 'FR', 50, 999999.99, true, '"10k"', '2024-12-31',
     '{"email_domain": "yahoo.com", "segment": "enterprise", "revenue": 5000000}');
SELECT l.id, lead_scoring.fit_score('fit_demo', l) AS by_name,
       lead_scoring.fit_score((SELECT spec FROM lead_scoring.model WHERE name = 'fit_demo'), l) AS by_spec,
       e.expected
  FROM fit_leads l JOIN (VALUES (1, 60), (2, -20), (3, 47), (4, -5), (5, 33)) e(id, expected) USING (id)
 ORDER BY l.id;
-- fit_breakdown's row form reads the same fields: rules matched by hand from
-- the rows above (rule numbers are 0-based positions in fit_demo's rules).
SELECT l.id,
       lead_scoring.fit_breakdown('fit_demo', l) = e.expected::jsonb AS by_name,
       lead_scoring.fit_breakdown((SELECT spec FROM lead_scoring.model WHERE name = 'fit_demo'), l)
           = e.expected::jsonb AS by_spec
  FROM fit_leads l JOIN (VALUES
    -- industry, title, employees 200, country DE, revenue 2e6, active, 2024 signup, props segment
    (1, '[{"rule": 0, "field": "industry", "label": "target industry", "points": 20},
          {"rule": 1, "field": "title", "label": "senior title", "points": 15},
          {"rule": 2, "field": "employees", "label": null, "points": 10},
          {"rule": 4, "field": "country", "label": null, "points": 5},
          {"rule": 6, "field": "revenue", "label": null, "points": 10},
          {"rule": 8, "field": "active", "label": null, "points": 3},
          {"rule": 9, "field": "signup_date", "label": null, "points": 2},
          {"rule": 10, "field": "segment", "label": null, "points": 8}]'),
    -- props email GMAIL.COM, budget NULL
    (2, '[{"rule": 5, "field": "email_domain", "label": "free mail", "points": -25},
          {"rule": 7, "field": "budget", "label": null, "points": -5}]'),
    -- the NULL industry column wins over props: only the missing budget
    (4, '[{"rule": 7, "field": "budget", "label": null, "points": -5}]')) e(id, expected) USING (id)
 ORDER BY l.id;
SELECT lead_scoring.fit_breakdown('fit_demo', r) AS "record: industry, no budget"
  FROM (SELECT 'software'::text AS industry) r;
-- an untyped literal still resolves (to the text form)
SELECT lead_scoring.fit_breakdown('fit_demo', '{"budget": 1, "country": "de"}') AS "text literal: country",
       lead_scoring.fit_breakdown('{"fit": {"rules": [{"field": "a", "eq": 1, "points": 2}]}}'::jsonb, '{"a": 1}')
           AS "spec and text: a";
-- The row form reads dates the same whatever DateStyle says (pg_regress runs
-- with "Postgres, MDY"), and agrees with the jsonb form of the same lead.
SET DateStyle = 'German';
SELECT l.id, lead_scoring.fit_score('fit_demo', l) AS row_form,
       lead_scoring.fit_score('fit_demo',
           coalesce(l.props, '{}') || (to_jsonb(l) - 'props') || jsonb_build_object('country', rtrim(l.country)))
           AS jsonb_form
  FROM fit_leads l ORDER BY l.id;
RESET DateStyle;
-- a table without a properties column, and an anonymous record
CREATE TABLE fit_plain (industry text, employees numeric, budget int);
INSERT INTO fit_plain VALUES ('SAAS', 5000.5, 1), ('software', 50, NULL);
SELECT lead_scoring.fit_score('fit_demo', p) AS "25, then 20+10-5 = 25" FROM fit_plain p;
SELECT lead_scoring.fit_score('fit_demo', r) AS "record: 20 -5"
  FROM (SELECT 'software'::text AS industry) r;
SELECT lead_scoring.fit_breakdown('fit_demo', p) AS "industry, employees 5000.5 > 5000"
  FROM fit_plain p WHERE p.budget = 1;
-- dropped columns are not fields; columns added later read their default
CREATE TABLE fit_altered (a int, junk text, b text);
INSERT INTO fit_altered VALUES (1, 'x', 'software');
ALTER TABLE fit_altered DROP COLUMN junk;
ALTER TABLE fit_altered ADD COLUMN c int DEFAULT 7;
SELECT lead_scoring.fit_score('{"fit": {"rules": [{"field": "b", "eq": "SOFTWARE", "points": 1},
           {"field": "c", "eq": 7, "points": 10}, {"field": "junk", "exists": false, "points": 100}]}}'::jsonb, t)
       AS "111"
  FROM fit_altered t;
DROP TABLE fit_altered;
-- timestamptz columns are read in UTC whatever TimeZone says; infinite dates as 'infinity'
SET TimeZone = 'Asia/Tokyo';
SELECT lead_scoring.fit_score('{"fit": {"rules": [
           {"field": "seen", "matches": "^2024-03-01T23:30:00", "points": 1},
           {"field": "since", "eq": "infinity", "points": 10},
           {"field": "day", "eq": "2024-02-29", "points": 100}]}}'::jsonb, r) AS "111"
  FROM (SELECT '2024-03-01 23:30:00+00'::timestamptz AS seen, 'infinity'::date AS since,
               '2024-02-29 12:00'::timestamp::date AS day) r;
RESET TimeZone;

-- Errors
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('fit_demo', '[1, 2]'::jsonb)$$) AS array_attrs;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('fit_demo', '5')$$) AS scalar_text;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('fit_demo', '"x"'::jsonb)$$) AS string_attrs;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('fit_demo', 'not json')$$) AS bad_json_text;
SELECT pg_temp.try($$SELECT lead_scoring.fit_breakdown('fit_demo', 'null'::jsonb)$$) AS breakdown_null_json;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('fit_demo', 5)$$) AS int_row;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('fit_demo', true)$$) AS bool_row;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('fit_demo', ARRAY[1])$$) AS array_row;
SELECT pg_temp.try($$SELECT lead_scoring.fit_breakdown('fit_demo', 5)$$) AS breakdown_int_row;
SELECT pg_temp.try($$SELECT lead_scoring.fit_breakdown('no_such_model', l) FROM fit_leads l$$) AS breakdown_unknown_model_row;
SELECT pg_temp.try($$SELECT lead_scoring.fit_breakdown('fit_demo', 'not json')$$) AS breakdown_bad_json_text;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('no_such_model', '{}'::jsonb)$$) AS unknown_model;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('no_such_model', l) FROM fit_leads l$$) AS unknown_model_row;
SELECT pg_temp.try($$SELECT lead_scoring.fit_breakdown('no_such_model', '{}'::jsonb)$$) AS unknown_model_breakdown;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('{"fit": {"rules": [{"field": "a"}]}}'::jsonb, '{}'::jsonb)$$) AS bad_spec;
SELECT pg_temp.try($$SELECT lead_scoring.fit_score('{"fit": {"rules": []}}', '{}')$$) AS spec_without_cast;
SELECT lead_scoring.fit_score('fit_demo', '{"industry": "software"}'::jsonb) AS still_fine;

-- 1000 generated leads: fit_score equals a plain-SQL CASE written here.
INSERT INTO lead_scoring.model(name, spec) VALUES ('fit_gen', '{"fit": {"rules": [
    {"field": "industry",     "in": ["software", "saas"],     "points": 20},
    {"field": "industry",     "eq": "ärzte",                  "points": 1},
    {"field": "title",        "matches": "^(vp|chief|head)",   "points": 15},
    {"field": "employees",    "between": [50, 5000],          "points": 10},
    {"field": "employees",    "gt": 5000,                     "points": 5},
    {"field": "country",      "eq": "DE",                     "points": 5},
    {"field": "country",      "neq": "us",                    "points": 1},
    {"field": "email_domain", "in": ["gmail.com", "yahoo.com"], "points": -25},
    {"field": "email_domain", "not_in": ["acme.com"],         "points": -1},
    {"field": "title",        "contains": "of",               "points": 2},
    {"field": "budget",       "exists": false,                "points": -5},
    {"field": "budget",       "lt": 100,                      "points": -3}
  ], "min": -20, "max": 40}}');
CREATE TABLE fit_gen AS
SELECT i AS id,
       (ARRAY['Software', 'retail', 'SAAS', NULL, 'Ärzte', 'ÄRZTE', 'saas '])[1 + i % 7] AS industry,
       CASE WHEN i % 9 = 0 THEN NULL
            ELSE (ARRAY['VP Sales', 'chief of staff', 'Engineer', 'head of ops', ' vp', 'Vice President'])[1 + i % 6]
       END AS title,
       CASE WHEN i % 10 = 0 THEN NULL ELSE (i * 37) % 9000 END AS employees,
       (ARRAY['DE', 'de', 'US', NULL, 'De', 'us'])[1 + i % 6] AS country,
       (ARRAY['acme.com', 'gmail.com', 'YAHOO.COM', NULL, 'ACME.COM'])[1 + i % 5] AS email_domain,
       CASE WHEN i % 8 = 0 THEN NULL ELSE (i * 13) % 500 END AS budget
  FROM generate_series(1, 1000) i;
-- jsonb attributes: NULL columns become JSON null, except budget which is left
-- out (missing); every third employees count is a padded numeric string.
ALTER TABLE fit_gen ADD COLUMN attrs jsonb;
UPDATE fit_gen SET attrs =
    jsonb_build_object('industry', industry, 'title', title, 'country', country, 'email_domain', email_domain,
                       'employees', CASE WHEN id % 3 = 0 THEN to_jsonb(' ' || employees || ' ') ELSE to_jsonb(employees) END)
    || CASE WHEN budget IS NULL THEN '{}' ELSE jsonb_build_object('budget', budget) END;
CREATE VIEW fit_gen_expected AS
SELECT g.*, greatest(-20, least(40,
         CASE WHEN industry IN ('Software', 'SAAS') THEN 20 ELSE 0 END
       + CASE WHEN industry IN ('Ärzte', 'ÄRZTE') THEN 1 ELSE 0 END
       + CASE WHEN title ~* '^(vp|chief|head)' THEN 15 ELSE 0 END
       + CASE WHEN employees BETWEEN 50 AND 5000 THEN 10 ELSE 0 END
       + CASE WHEN employees > 5000 THEN 5 ELSE 0 END
       + CASE WHEN upper(country) = 'DE' THEN 5 ELSE 0 END
       + CASE WHEN upper(country) <> 'US' THEN 1 ELSE 0 END
       + CASE WHEN lower(email_domain) IN ('gmail.com', 'yahoo.com') THEN -25 ELSE 0 END
       + CASE WHEN lower(email_domain) NOT IN ('acme.com') THEN -1 ELSE 0 END
       + CASE WHEN strpos(lower(title), 'of') > 0 THEN 2 ELSE 0 END
       + CASE WHEN budget IS NULL THEN -5 ELSE 0 END
       + CASE WHEN budget < 100 THEN -3 ELSE 0 END)) AS expected
  FROM fit_gen g;
SELECT count(*) AS leads,
       count(DISTINCT expected) AS distinct_scores,
       count(*) FILTER (WHERE expected IN (-20, 40)) AS clamped,
       count(*) FILTER (WHERE lead_scoring.fit_score('fit_gen', e.attrs) = expected) AS jsonb_by_name,
       count(*) FILTER (WHERE lead_scoring.fit_score(m.spec, e.attrs) = expected) AS jsonb_by_spec,
       count(*) FILTER (WHERE lead_scoring.fit_score('fit_gen', e.attrs::text) = expected) AS text_by_name,
       count(*) FILTER (WHERE lead_scoring.fit_score('fit_gen', f) = expected) AS row_by_name,
       count(*) FILTER (WHERE lead_scoring.fit_score(m.spec, f) = expected) AS row_by_spec
  FROM fit_gen_expected e JOIN fit_gen f USING (id), lead_scoring.model m
 WHERE m.name = 'fit_gen';
-- the same through fit_breakdown: its points add up to the unclamped CASE sum
SELECT count(*) FILTER (WHERE greatest(-20, least(40, coalesce(
         (SELECT sum((x->>'points')::float8) FROM jsonb_array_elements(lead_scoring.fit_breakdown('fit_gen', attrs)) x),
         0))) = expected) AS breakdown_matches
  FROM fit_gen_expected;

DROP VIEW fit_gen_expected;
DROP TABLE fit_gen, fit_leads, fit_plain;
DELETE FROM lead_scoring.model;
