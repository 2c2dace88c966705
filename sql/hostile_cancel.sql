-- Cancellation (doc/hardening.md): a long fit_score scan stops at
-- statement_timeout with SQLSTATE 57014, and the backend (with its model
-- cache) keeps working afterwards.
INSERT INTO lead_scoring.model(name, spec) VALUES ('cancel_me',
    '{"fit": {"rules": [{"field": "n", "gt": 10, "points": 1}, {"field": "s", "matches": "x+y", "points": 2}]}}');
\set VERBOSITY sqlstate
CREATE TEMP TABLE lead_row(n int, s text);
SET statement_timeout = '200ms';
-- 20 million rows would take far longer than 200 ms.
SELECT sum(lead_scoring.fit_score('{"fit": {"rules": [{"field": "n", "gt": 10, "points": 1}]}}'::jsonb,
                                  jsonb_build_object('n', i)))
FROM (SELECT generate_series(1, 20000000) AS i) s;
SELECT sum(lead_scoring.fit_score('cancel_me', jsonb_build_object('n', i, 's', 'xxy')))
FROM (SELECT generate_series(1, 20000000) AS i) s;
SELECT sum(lead_scoring.fit_score('cancel_me', ROW(i, 'xy')::lead_row))
FROM (SELECT generate_series(1, 20000000) AS i) s;
RESET statement_timeout;
\set VERBOSITY default
-- Still working, same answers as before: n = 11 > 10 (1) and s matches (2).
SELECT lead_scoring.fit_score('cancel_me', '{"n": 11, "s": "axxyb"}'::jsonb) AS by_name,
       lead_scoring.fit_score((SELECT spec FROM lead_scoring.model WHERE name = 'cancel_me'), '{"n": 11, "s": "axxyb"}'::jsonb) AS by_spec;
DELETE FROM lead_scoring.model WHERE name = 'cancel_me';
