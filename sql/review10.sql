-- Fills kept as the column holds them (src/clean/fills.c: fits_type,
-- numeric_as_stored) at the edges of the types: a fill that the column
-- cannot hold, or that the frame could not read back, is left missing and
-- counted (a notice), never an error from the conversions or from the
-- statement that writes the fills, never a substitute value.
\set VERBOSITY sqlstate
SET client_min_messages = notice;

-- 1. A fill from 1.797693134862315e308 up is 1.79769313486232e308 once held
-- as numeric (15 digits), past the double range: numeric_float8 failed
-- with 22003 quoting all 309 digits. Now the cell stays missing, counted.
CREATE TABLE r10_big (id int, f numeric, k numeric(1000,-10), s numeric(1000,-1000));
INSERT INTO r10_big VALUES
  (1, 1.7976931348623157e308, 1.7976931348623157e308, 1), (2, 1.7976931348623157e308, 1.7976931348623157e308, 2),
  (3, 1.7976931348623157e308, 1.7976931348623157e308, 3), (4, NULL, NULL, NULL);
SELECT regress_try($$SELECT * FROM ml_impute('r10_big', '{f,k,s}', 'constant',
    '{"value": 1.7976931348623157e308, "roles": {"id": "identifier"}}', into_table => 'r10_big_c')$$) AS constant_dbl_max;
SELECT f, k, s FROM r10_big_c WHERE id = 4;
SELECT regress_try($$SELECT * FROM ml_impute('r10_big', '{f,k}', 'mode',
    '{"roles": {"id": "identifier"}}', into_table => 'r10_big_m')$$) AS mode_dbl_max;
SELECT f IS NULL AS f_missing, k IS NULL AS k_missing FROM r10_big_m WHERE id = 4;
-- just below: 1.79769313486231e308 is held and read back
SELECT column_name, filled FROM ml_impute('r10_big', '{f}', 'constant',
    '{"value": 1.79769313486231e308, "roles": {"id": "identifier"}}', into_table => 'r10_big_b') ORDER BY 1;
SELECT f = 1.79769313486231e308 AS held FROM r10_big_b WHERE id = 4;

-- 2. "round": a fill of 4.5e307 in a column whose values use one place was
-- rounded as rint(v * 10) / 10, Infinity, and written so (the cell held
-- Infinity in both float8 and numeric). A value from 2^52 up is whole.
CREATE TABLE r10_round (id int, x float8, n numeric, r real);
INSERT INTO r10_round VALUES (1, 9e307, 9e307, 3e38), (2, 9e307, 9e307, 3e38), (3, 0.5, 0.5, 0.5), (4, NULL, NULL, NULL),
  (5, 0.25, 0.25, 0.25);
SELECT column_name, filled FROM ml_impute('r10_round', NULL, 'median',
    '{"round": true, "roles": {"id": "identifier"}}', into_table => 'r10_round_m') ORDER BY 1;
SELECT x, n::float8 AS n, r FROM r10_round_m WHERE id = 4;
