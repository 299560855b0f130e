-- mlops.ml_gram_agg / mlops.ml_linear_solve: linear fits as a parallel
-- aggregate. Exact on an exact system, equal to PostgreSQL's own
-- regr_slope / regr_intercept, the same (to 1e-9 relative) with and without
-- parallel workers, and clear errors on bad rows and bad states.
SET extra_float_digits = 0;

-- An exact system: y = 3 + 2 x1 - 0.5 x2 + 0.25 x3.
CREATE TABLE lin_exact AS
SELECT ARRAY[i::float8, (i * i) % 17, sqrt(i)] AS x,
       3 + 2 * i - 0.5 * ((i * i) % 17) + 0.25 * sqrt(i) AS y
FROM generate_series(1, 50) i;
SELECT array_agg(round(c::numeric, 9) ORDER BY o) AS coef
FROM unnest(mlops.ml_linear_solve((SELECT mlops.ml_gram_agg(y, x) FROM lin_exact)))
     WITH ORDINALITY u(c, o);
-- without an intercept the same system needs one: fitted as a column of ones
SELECT array_agg(round(c::numeric, 9) ORDER BY o) AS coef
FROM unnest(mlops.ml_linear_solve(
    (SELECT mlops.ml_gram_agg(y, 1 || x) FROM lin_exact), fit_intercept => false))
     WITH ORDINALITY u(c, o);

-- A noisy table large enough for a parallel plan.
CREATE TABLE lin_big AS
SELECT ARRAY[sin(i), cos(i * 0.7) * 10, (i % 101) / 50.0, ln(i), (i % 7)::float8] AS x,
       1.5 + 2 * sin(i) - 0.3 * cos(i * 0.7) * 10 + 0.8 * (i % 101) / 50.0
           + 0.1 * ln(i) + 0.05 * (i % 7) + sin(i * 12.9898) * 0.5 AS y,
       sin(i) AS x1
FROM generate_series(1, 60000) i;
ANALYZE lin_big;

-- One feature: the same as regr_slope / regr_intercept (to 1e-9 relative).
SELECT abs(s[1] - regr_intercept(y, x1)) <= 1e-9 * abs(regr_intercept(y, x1)) AS intercept_same,
       abs(s[2] - regr_slope(y, x1)) <= 1e-9 * abs(regr_slope(y, x1)) AS slope_same
FROM (SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, ARRAY[x1])) AS s FROM lin_big) f, lin_big
GROUP BY s;
-- ridge on one feature: slope = Sxy / (Sxx + alpha)
SELECT abs(s[2] - covar_pop(y, x1) * count(*) / (var_pop(x1) * count(*) + 500))
       <= 1e-9 * abs(s[2]) AS ridge_slope_same
FROM (SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, ARRAY[x1]), 500) AS s FROM lin_big) f, lin_big
GROUP BY s;
-- no intercept on one feature: slope = sum(xy) / sum(x^2)
SELECT abs(s[1]) = 0 AS no_intercept,
       abs(s[2] - sum(x1 * y) / sum(x1 * x1)) <= 1e-9 * abs(s[2]) AS slope_same
FROM (SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, ARRAY[x1]), 0, false) AS s FROM lin_big) f, lin_big
GROUP BY s;

-- Serial plan.
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT mlops.ml_gram_agg(y, x) FROM lin_big;
CREATE TEMP TABLE fit_serial AS
SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, x)) AS c,
       mlops.ml_linear_solve(mlops.ml_gram_agg(y, x), 10) AS r FROM lin_big;

-- Parallel plan, forced: workers scan parts of the table and the leader
-- combines their deserialized states.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT mlops.ml_gram_agg(y, x) FROM lin_big;
CREATE TEMP TABLE fit_parallel AS
SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, x)) AS c,
       mlops.ml_linear_solve(mlops.ml_gram_agg(y, x), 10) AS r FROM lin_big;
-- the same coefficients whatever the plan, to 1e-9 relative
SELECT max(abs(s.c[i] - p.c[i]) / greatest(abs(s.c[i]), 1e-300)) <= 1e-9 AS ols_same,
       max(abs(s.r[i] - p.r[i]) / greatest(abs(s.r[i]), 1e-300)) <= 1e-9 AS ridge_same,
       count(*) AS coefficients
FROM fit_serial s, fit_parallel p, generate_series(1, 6) i;
-- and near the generating coefficients
SELECT array_agg(round(u.v::numeric, 2) ORDER BY o) AS coef
FROM fit_parallel p, unnest(p.c) WITH ORDINALITY u(v, o);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- Rows whose y or x is NULL are skipped; no rows give NULL.
SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, x)) AS coef
FROM (VALUES (1.0, ARRAY[1.0::float8]), (NULL, ARRAY[5.0]), (3.0, NULL),
             (3.0, ARRAY[2.0]), (5.0, ARRAY[3.0])) v(y, x);
SELECT mlops.ml_gram_agg(y, x) IS NULL AS empty FROM lin_exact WHERE false;
-- A constant feature gets 0; collinear features share the weight, finite.
SELECT array_agg(round(c::numeric, 9) ORDER BY o) AS coef
FROM unnest(mlops.ml_linear_solve((SELECT mlops.ml_gram_agg(y, ARRAY[x[1], 7.0, x[1] * 2])
                                   FROM lin_exact WHERE x[1] <= 10))) WITH ORDINALITY u(c, o);
-- Intercept only (no feature).
SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, '{}'::float8[])) AS coef
FROM (VALUES (1.0::float8), (2.0), (6.0)) v(y);

-- Bad rows.
SELECT regress_try($$SELECT mlops.ml_gram_agg(y, x) FROM (VALUES (1.0, ARRAY[1.0::float8, 2]), (2.0, ARRAY[1.0::float8])) v(y, x)$$);
SELECT regress_try($$SELECT mlops.ml_gram_agg(1, ARRAY[1.0::float8, NULL])$$);
SELECT regress_try($$SELECT mlops.ml_gram_agg('NaN', ARRAY[1.0::float8])$$);
SELECT regress_try($$SELECT mlops.ml_gram_agg(1, ARRAY[1.0::float8, 'Infinity'])$$);
SELECT regress_try($$SELECT mlops.ml_gram_agg(1, ARRAY[[1.0::float8, 2], [3, 4]])$$);
-- finite values whose squares overflow
SELECT regress_try($$SELECT mlops.ml_gram_agg(y, ARRAY[1.0::float8]) FROM (VALUES (1e200::float8), (-1e200)) v(y)$$);
SELECT regress_try($$SELECT mlops.ml_gram_agg(1, ARRAY[x]) FROM (VALUES (1e200::float8), (-1e200)) v(x)$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(1, ARRAY[1e308::float8]), 0, false)$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, x), -1) FROM lin_exact$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, x), 'NaN') FROM lin_exact$$);
-- Bad states: never trusted.
SELECT regress_try($$SELECT mlops.ml_linear_solve('\x00'::bytea)$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(overlay((SELECT mlops.ml_gram_agg(y, x) FROM lin_exact) placing '\x00'::bytea from 1))$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(substr((SELECT mlops.ml_gram_agg(y, x) FROM lin_exact), 1, 40))$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(overlay((SELECT mlops.ml_gram_agg(y, x) FROM lin_exact) placing '\x7fffffff'::bytea from 9))$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(overlay((SELECT mlops.ml_gram_agg(y, x) FROM lin_exact) placing '\xfff8000000000000'::bytea from 21))$$);
SELECT regress_try($$SELECT mlops.ml_linear_solve(overlay((SELECT mlops.ml_gram_agg(y, x) FROM lin_exact) placing '\x8000000000000000'::bytea from 13))$$);

-- Who may call them: analysts and engineers, not consumers or PUBLIC.
GRANT SELECT ON lin_exact TO PUBLIC;
SET ROLE regress_alice;
SELECT array_length(mlops.ml_linear_solve(mlops.ml_gram_agg(y, x)), 1) AS analyst FROM lin_exact;
SET ROLE regress_eve;
SELECT array_length(mlops.ml_linear_solve(mlops.ml_gram_agg(y, x)), 1) AS engineer FROM lin_exact;
SET ROLE regress_carl;
SELECT regress_try($$SELECT mlops.ml_gram_agg(y, x) FROM lin_exact$$);
SET ROLE regress_nobody;
SELECT regress_try($$SELECT mlops.ml_linear_solve('\x00'::bytea)$$);
RESET ROLE;
DROP TABLE lin_exact, lin_big;
