-- ml_impute on bad input: a clear error (or a documented fallback) and
-- nothing changed.
SET ROLE regress_alice;
CREATE TABLE e_empty (a float8, b text);
SELECT * FROM ml_impute('e_empty');
CREATE TABLE e_allnull (a float8, b float8);
INSERT INTO e_allnull VALUES (1, NULL), (2, NULL), (NULL, NULL);
-- auto: a column with nothing observed is left alone, with a notice
SELECT column_name, filled, method FROM ml_impute('e_allnull');
SELECT a, b FROM e_allnull ORDER BY a;
-- explicit: an error, and column a (filled first) is not changed either
UPDATE e_allnull SET a = NULL WHERE a > 1;
SELECT regress_try($$SELECT * FROM ml_impute('e_allnull', '{a,b}', 'mean')$$);
SELECT count(*) FILTER (WHERE a IS NULL) AS a_gaps_unchanged FROM e_allnull;
-- a constant column, and one row
CREATE TABLE e_const (a float8, b float8);
INSERT INTO e_const VALUES (5, 1), (5, NULL), (5, 3);
SELECT column_name, filled, method FROM ml_impute('e_const');
SELECT b FROM e_const ORDER BY b;
CREATE TABLE e_one (a float8);
INSERT INTO e_one VALUES (NULL);
SELECT column_name, filled, method FROM ml_impute('e_one');
-- NaN and Infinity are values, not gaps: they are kept and never learned from
CREATE TABLE e_nan (a float8);
INSERT INTO e_nan VALUES (1), (3), ('NaN'), ('Infinity'), (NULL);
SELECT column_name, filled, method FROM ml_impute('e_nan', NULL, 'mean');
SELECT a FROM e_nan ORDER BY a;
-- a 10,000-level categorical
CREATE TABLE e_levels AS SELECT i, 'level ' || (i % 10000) AS c FROM generate_series(1, 30000) i;
UPDATE e_levels SET c = NULL WHERE i % 1000 = 0;
SELECT column_name, filled, method FROM ml_impute('e_levels', '{c}', 'mode');
-- wrong arguments, on a table with gaps that must stay as they are
CREATE TABLE e_gaps (a float8, b float8, c text);
INSERT INTO e_gaps VALUES (1, NULL, 'x'), (NULL, 2, 'y'), (3, 4, NULL), (5, 6, 'x');
SELECT regress_try($$SELECT * FROM ml_impute(NULL)$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', '{nope}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'magic')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'mean', '{"kk": 3}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'knn', '{"k": 0}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'constant')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'locf')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'groupwise')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', '{a}', 'constant', '{"value": "abc"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'groupwise', '{"by": ["a", "b", "c"]}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', '{a}', 'groupwise', '{"by": ["a"]}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', '{a}', 'regression', '{"holdout": 2}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_levels', '{c}', 'mean')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'mean', '"x"')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_gaps', NULL, 'mean', '{"roles": {"a": "boss"}}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('e_const', into_table => 'e_one')$$);
SELECT count(*) FILTER (WHERE a IS NULL OR b IS NULL OR c IS NULL) AS e_gaps_unchanged FROM e_gaps;
CREATE VIEW e_view AS SELECT * FROM e_gaps;
SELECT regress_try($$SELECT * FROM ml_impute('e_view')$$);
SELECT column_name, filled FROM ml_impute('e_view', into_table => 'e_from_view');
SELECT count(*) FILTER (WHERE b IS NULL) AS gaps FROM e_from_view;
-- hostile identifiers: quoted, mixed case, semicolons, non-ASCII
CREATE TABLE "Imp; DROP TABLE e_const; --" ("Val ""x""" float8, "Grüße" text);
INSERT INTO "Imp; DROP TABLE e_const; --" VALUES (1, 'a'), (NULL, 'a'), (3, NULL), (5, 'b');
SELECT column_name, filled, method FROM ml_impute('"Imp; DROP TABLE e_const; --"', NULL, 'mean')
ORDER BY 1;
SELECT column_name, filled FROM ml_impute('"Imp; DROP TABLE e_const; --"', NULL, 'mode',
                                          into_table => 'public."Out ""1"""') ORDER BY 1;
SELECT * FROM "Out ""1""" ORDER BY 1;
SELECT count(*) AS e_const_rows FROM e_const;
-- roles: engineers and consumers cannot clean
SET ROLE regress_eve;
SELECT regress_try($$SELECT * FROM ml_impute('e_const')$$);
SET ROLE regress_carl;
SELECT regress_try($$SELECT * FROM ml_impute('e_const')$$);
-- an analyst without UPDATE on the table
RESET ROLE;
CREATE TABLE e_readonly (a float8);
INSERT INTO e_readonly VALUES (1), (NULL);
GRANT SELECT ON e_readonly TO regress_bob;
SET ROLE regress_bob;
SELECT regress_try($$SELECT * FROM ml_impute('e_readonly')$$);
SELECT column_name, filled FROM ml_impute('e_readonly', into_table => 'bob_copy');
RESET ROLE;
