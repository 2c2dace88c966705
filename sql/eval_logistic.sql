-- lead_scoring.logistic_fit(features, label, l2): L2-regularised logistic
-- regression (doc/eval.md), checked against optima derived by hand.
SET extra_float_digits = 0;
-- Errors are shown with their SQLSTATE (psql's LAST_ERROR_SQLSTATE).
\set SHOW_CONTEXT never
\i sql/include/lib.sql

-- 1. Symmetric one-feature design: x = +1 has a = 9 converted and c = 4 not,
-- x = -1 has 4 converted and 9 not. By symmetry b = 0, and setting the
-- derivative in w to zero gives (a + c) tanh(w/2) + l2 w = a - c, solved here
-- by bisection.
CREATE FUNCTION pg_temp.sym_w(a float8, c float8, l2 float8) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE lo float8 := -50; hi float8 := 50; mid float8;
BEGIN
    FOR k IN 1..200 LOOP
        mid := (lo + hi) / 2;
        IF (a + c) * tanh(mid / 2) + l2 * mid - (a - c) > 0 THEN hi := mid; ELSE lo := mid; END IF;
    END LOOP;
    RETURN (lo + hi) / 2;
END $$;
CREATE TEMP TABLE sym AS
SELECT x::float8 AS x, y FROM (VALUES (1, true, 9), (1, false, 4), (-1, true, 4), (-1, false, 9)) v(x, y, k),
     generate_series(1, k);
SELECT l2, (f->>'converged')::boolean AS converged,
       abs((f->>'intercept')::float8) < 1e-9 AS intercept_zero,
       abs((f->'coef'->>0)::float8 - pg_temp.sym_w(9, 4, l2)) < 1e-9 AS coef_matches,
       (f->>'gradient_norm')::float8 < 1e-6 AS small_gradient
FROM (VALUES (0.0::float8), (0.5), (1), (5)) l(l2),
     LATERAL (SELECT lead_scoring.logistic_fit(ARRAY[x], y, l2) AS f FROM sym) s
ORDER BY l2;
-- The two-argument form is l2 = 1.
SELECT lead_scoring.logistic_fit(ARRAY[x], y) = lead_scoring.logistic_fit(ARRAY[x], y, 1.0) AS default_l2_is_1 FROM sym;

-- 2. Unpenalised binary feature: the fit reproduces the log-odds of each group.
-- x = 0: 2 of 10 convert; x = 1: 6 of 8 convert. log_loss is the mean
-- binomial log loss of those rates.
CREATE TEMP TABLE bin AS
SELECT x::float8 AS x, y FROM (VALUES (0, true, 2), (0, false, 8), (1, true, 6), (1, false, 2)) v(x, y, k),
     generate_series(1, k);
SELECT abs((f->>'intercept')::float8 - ln(2.0 / 8)) < 1e-9 AS intercept_ok,
       abs((f->'coef'->>0)::float8 - (ln(6.0 / 2) - ln(2.0 / 8))) < 1e-9 AS coef_ok,
       abs((f->>'log_loss')::float8
           + (2 * ln(0.2) + 8 * ln(0.8) + 6 * ln(0.75) + 2 * ln(0.25)) / 18) < 1e-12 AS log_loss_ok,
       f->'rows' AS rows, f->'l2' AS l2, f->'converged' AS converged
FROM (SELECT lead_scoring.logistic_fit(ARRAY[x], y, 0) AS f FROM bin) s;
-- An empty features array fits the intercept alone: logit(8 / 18).
SELECT abs((lead_scoring.logistic_fit('{}'::float8[], y, 0)->>'intercept')::float8 - ln(8.0 / 10)) < 1e-9 AS intercept_only
FROM bin;

-- 3. Separable data without a penalty: the optimum is at infinity. The fit
-- stops (gradient below 1e-6 with a large coefficient, or converged = false
-- after 100 iterations) with a near-zero loss; with a penalty it is finite.
CREATE TEMP TABLE sep AS SELECT i::float8 AS x, i > 10 AS y FROM generate_series(1, 20) i;
SELECT (f->>'iterations')::int <= 100 AS stopped,
       NOT (f->>'converged')::boolean OR (f->'coef'->>0)::float8 > 5 AS diverging_or_flagged,
       (f->>'log_loss')::float8 < 1e-3 AS tiny_loss
FROM (SELECT lead_scoring.logistic_fit(ARRAY[x], y, 0) AS f FROM sep) s;
SELECT (f->>'converged')::boolean AS converged, (f->'coef'->>0)::float8 BETWEEN 0 AND 5 AS moderate
FROM (SELECT lead_scoring.logistic_fit(ARRAY[x], y, 1) AS f FROM sep) s;

-- 4. A duplicated column: with l2 > 0 the optimum is unique and symmetric, so
-- both copies get the same coefficient.
CREATE TABLE eval_logit_t AS
SELECT i, x, z, w, (0.8 * x - 0.5 * z + 0.3 * w + e) > 0 AS y
FROM (SELECT i, sin(i * 1.3) * 2 AS x, cos(i * 0.7) * 3 AS z, ((i * 37) % 11)::float8 AS w,
             sin(i * 12.9898) * 1.5 AS e
      FROM generate_series(1, 3000) i) s;
SELECT abs((f->'coef'->>0)::float8 - (f->'coef'->>1)::float8) < 1e-9 AS equal_coefficients,
       (f->>'converged')::boolean AS converged
FROM (SELECT lead_scoring.logistic_fit(ARRAY[x, x, z], y, 1) AS f FROM eval_logit_t) s;

-- 5. Regularisation path: the coefficient norm shrinks as l2 grows.
WITH path AS (
    SELECT l2, (SELECT sqrt(sum(c::float8 ^ 2)) FROM jsonb_array_elements_text(f->'coef') c) AS norm
    FROM (VALUES (0.0::float8), (0.1), (1), (10), (100), (1000), (10000)) l(l2),
         LATERAL (SELECT lead_scoring.logistic_fit(ARRAY[x, z, w], y, l2) AS f FROM eval_logit_t) s
)
SELECT bool_and(norm < prev) AS monotone, count(*) AS steps
FROM (SELECT norm, lag(norm) OVER (ORDER BY l2) AS prev FROM path) p WHERE prev IS NOT NULL;

-- 6. NULL features or labels skip the row; no rows gives NULL.
-- (A NULL element inside the array is an error, see 8.)
SELECT lead_scoring.logistic_fit(f, y, 0) = (SELECT lead_scoring.logistic_fit(ARRAY[x], y, 0) FROM bin) AS nulls_skipped
FROM (SELECT ARRAY[x], y FROM bin UNION ALL VALUES ('{5}'::float8[], NULL), (NULL, true)) s(f, y);
SELECT lead_scoring.logistic_fit(ARRAY[x], y) IS NULL AS empty FROM bin WHERE false;

-- 7. Serial and forced parallel plans agree.
ANALYZE eval_logit_t;
CREATE TEMP TABLE serial_fit AS SELECT lead_scoring.logistic_fit(ARRAY[x, z, w], y, 0.5) AS f FROM eval_logit_t;
:force_parallel
EXPLAIN (COSTS OFF) SELECT lead_scoring.logistic_fit(ARRAY[x, z, w], y, 0.5) FROM eval_logit_t;
SELECT abs((p.f->>'intercept')::float8 - (s.f->>'intercept')::float8) < 1e-9
       AND abs((p.f->'coef'->>0)::float8 - (s.f->'coef'->>0)::float8) < 1e-9
       AND abs((p.f->'coef'->>1)::float8 - (s.f->'coef'->>1)::float8) < 1e-9
       AND abs((p.f->'coef'->>2)::float8 - (s.f->'coef'->>2)::float8) < 1e-9
       AND p.f->'rows' = s.f->'rows' AS parallel_equals_serial
FROM (SELECT lead_scoring.logistic_fit(ARRAY[x, z, w], y, 0.5) AS f FROM eval_logit_t) p, serial_fit s;
:reset_parallel

-- 8. Bad input.
SELECT lead_scoring.logistic_fit(ARRAY[1, NULL]::float8[], true);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(f, y) FROM (VALUES ('{1,2}'::float8[], true), ('{1}', false)) v(f, y);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit('{{1,2},{3,4}}'::float8[], true);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(ARRAY[1, 'NaN']::float8[], true);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(ARRAY[1, 'Infinity']::float8[], true);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(ARRAY[1]::float8[], true, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(ARRAY[1]::float8[], true, 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(ARRAY[1]::float8[], true, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(ARRAY[x], true, x) FROM (VALUES (1.0::float8), (2)) v(x);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_scoring.logistic_fit(array_fill(1.0::float8, ARRAY[1001]), true);
\echo :LAST_ERROR_SQLSTATE
-- finite features whose column mean overflows float8 (2^1023 twice): 22023, not NaN
SELECT lead_scoring.logistic_fit(ARRAY[x], y)
FROM (VALUES (8.98846567431158e307::float8, false), (8.98846567431158e307, true), (1.5, false), (0, true)) v(x, y);
\echo :LAST_ERROR_SQLSTATE

-- 9. Deserializing garbage is an error (XX001), never a crash (reached through a
-- bytea-typed alias of the C entry point: no SQL value has type internal).
CREATE SCHEMA eval_logit_test;
CREATE FUNCTION eval_logit_test.deserialize(bytea, bytea) RETURNS bytea
    AS '$libdir/lead_scoring', 'ls_logistic_deserialize' LANGUAGE C;
SELECT eval_logit_test.deserialize('\xdeadbeef', NULL);
\echo :LAST_ERROR_SQLSTATE
-- header "LSL1", d = 1, l2 = 0, n = 1, then a row whose label is 2
SELECT eval_logit_test.deserialize('\x4c534c31010000000000000000000000' || '\x0100000000000000'::bytea
    || '\x000000000000f03f0000000000000040'::bytea, NULL);
\echo :LAST_ERROR_SQLSTATE
-- the same with label 1 but one byte short
SELECT eval_logit_test.deserialize('\x4c534c31010000000000000000000000' || '\x0100000000000000'::bytea
    || '\x000000000000f03f000000000000f0'::bytea, NULL);
\echo :LAST_ERROR_SQLSTATE
-- well-formed: refused only because it is not called by an aggregate
SELECT eval_logit_test.deserialize('\x4c534c31010000000000000000000000' || '\x0100000000000000'::bytea
    || '\x000000000000f03f000000000000f03f'::bytea, NULL);
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA eval_logit_test CASCADE;

DROP TABLE eval_logit_t;
