-- Failed calls change nothing. Each failing call is its own top-level
-- statement (psql shows the ERROR, the transaction is PostgreSQL's own);
-- the next statement then checks, from outside the failed call, that the
-- source rows (md5 of the ordered rows, so a changed cell or an added column
-- shows), an existing into_table, the recipe and audit catalogs and the set
-- of relations are as they were, and that no output table was left behind.
SET ROLE regress_alice;
CREATE TABLE u_src (id int, a float8, b float8, c text, z float8, t timestamp);
INSERT INTO u_src
SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE i * 1.25 END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE i % 7 END,
       CASE WHEN i % 6 = 0 THEN NULL ELSE (ARRAY['p', 'q', 'r'])[i % 3 + 1] END,
       NULL, '2024-01-01'::timestamp + i * interval '1 hour'
FROM generate_series(1, 40) i;
CREATE TABLE u_exists (id int, note text);
INSERT INTO u_exists VALUES (1, 'keep me');
-- a table with a column u_src lacks (w), and the recipes fitted on it
CREATE TABLE u_other (id int, a float8, w float8);
INSERT INTO u_other SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE i END, i % 2 FROM generate_series(1, 30) i;
UPDATE u_other SET w = NULL WHERE id % 7 = 0;
SELECT DISTINCT recipe_id AS other_clean FROM ml_clean('u_other', '{"outliers": false}', into_table => 'u_other_c') \gset
SELECT DISTINCT recipe_id AS other_impute FROM ml_impute('u_other', '{a,w}', 'mean', into_table => 'u_other_i') \gset
-- and one fitted on u_src itself
SELECT DISTINCT recipe_id AS own_recipe FROM ml_clean('u_src', '{"outliers": false}', into_table => 'u_src_c') \gset
RESET ROLE;

-- The state, read as the superuser (no row-level security in the way),
-- and the baseline every check compares with.
CREATE FUNCTION u_state(OUT source text, OUT existing text, OUT recipes bigint,
                        OUT audit bigint, OUT relations bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT (SELECT md5(string_agg(s::text, '|' ORDER BY s.id)) FROM u_src s),
           (SELECT md5(string_agg(e::text, '|' ORDER BY e.id)) FROM u_exists e),
           (SELECT count(*) FROM mlops.recipes),
           (SELECT count(*) FROM mlops.audit_log),
           (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)
$$;
CREATE TABLE u_base AS SELECT * FROM u_state();
CREATE FUNCTION u_check(OUT source_same bool, OUT into_table_same bool, OUT recipes_same bool,
                        OUT audit_same bool, OUT relations_same bool, OUT no_output bool)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT s.source = b.source, s.existing = b.existing, s.recipes = b.recipes,
           s.audit = b.audit, s.relations = b.relations, to_regclass('public.u_out') IS NULL
    FROM u_state() s, u_base b
$$;
SELECT count(*) FILTER (WHERE a IS NULL) AS a_gaps, count(*) FILTER (WHERE b IS NULL) AS b_gaps,
       count(*) FILTER (WHERE c IS NULL) AS c_gaps, count(*) FILTER (WHERE z IS NULL) AS z_gaps
FROM u_src;
SELECT * FROM u_check();
SET ROLE regress_alice;

-- ml_impute, in place
SELECT * FROM ml_impute('u_src', '{nope}');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', NULL, 'magic');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', NULL, 'mean', '{"kk": 3}');
SELECT * FROM u_check();
-- a (and b) are filled first, then z (nothing observed) fails: they must
-- not stay filled
SELECT * FROM ml_impute('u_src', '{a,z}', 'mean');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{a,b,z}', 'median');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{a}', 'constant', '{"value": "abc"}');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{c}', 'mean');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', NULL, 'locf');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{a}', 'knn', '{"k": 0}');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{a}', 'learned', '{"hidden": 0}');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{a}', 'regression', '{"holdout": 2}');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{a}', 'groupwise', '{"by": ["nope"]}');
SELECT * FROM u_check();
-- ml_impute into a new table: none is left behind, an existing one is kept
SELECT * FROM ml_impute('u_src', '{a,z}', 'mean', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', NULL, 'magic', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', '{a}', 'interpolate', '{"time_column": "nope"}', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', into_table => 'u_exists');
SELECT * FROM u_check();
SELECT * FROM ml_impute('u_src', into_table => 'u_src');
SELECT * FROM u_check();

-- ml_clean, in place and into a new table
SELECT * FROM ml_clean('u_src', '{"bogus": 1}');
SELECT * FROM u_check();
SELECT * FROM ml_clean('u_src', '{"roles": {"a": "boss"}}');
SELECT * FROM u_check();
SELECT * FROM ml_clean('u_src', '{"missing": {"method": "magic"}}', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_clean('u_src', '{"missing": {"method": "mean", "columns": ["a", "z"]}}');
SELECT * FROM u_check();
SELECT * FROM ml_clean('u_src', '{"missing": {"method": "mean", "columns": ["a", "z"]}}', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_clean('u_src', '{"outliers": {"action": "explode"}}', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_clean('u_src', '{"encode": {"method": "nope"}}', into_table => 'u_out');
SELECT * FROM u_check();
-- (not here: ml_clean with '{"target": "nope"}' succeeds today, ignoring
-- the unknown target column; reported as a bug, it should fail with
-- 'column "nope" ... does not exist')
SELECT * FROM ml_clean('u_src', into_table => 'u_exists');
SELECT * FROM u_check();

-- ml_apply_recipe: recipes fitted on another table (column w missing here:
-- a is filled by the recipe before w is looked up), a recipe that does not
-- exist, an into_table that exists
SELECT * FROM ml_apply_recipe(:other_impute, 'u_src');
SELECT * FROM u_check();
SELECT * FROM ml_apply_recipe(:other_clean, 'u_src');
SELECT * FROM u_check();
SELECT * FROM ml_apply_recipe(:other_clean, 'u_src', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_apply_recipe(999999, 'u_src');
SELECT * FROM u_check();
SELECT * FROM ml_apply_recipe(999999, 'u_src', into_table => 'u_out');
SELECT * FROM u_check();
SELECT * FROM ml_apply_recipe(:own_recipe, 'u_src', into_table => 'u_exists');
SELECT * FROM u_check();

-- ml_import_csv: bad options, bad data, existing tables
SELECT * FROM ml_import_csv('u_out');
SELECT * FROM u_check();
SELECT * FROM ml_import_csv('u_out', '/etc/hostname');
SELECT * FROM u_check();
SELECT * FROM ml_import_csv('u_out', data => E'a,b\n1,2\n', options => '{"delimiter": "ab"}');
SELECT * FROM u_check();
SELECT * FROM ml_import_csv('u_out', data => E'a,b\n1,2\n', options => '{"types": {"a": "polygon"}}');
SELECT * FROM u_check();
SELECT * FROM ml_import_csv('u_out', data => E'a,b\n1,2\n', options => '{"sep": ","}');
SELECT * FROM u_check();
SELECT * FROM ml_import_csv('u_out', data => '');
SELECT * FROM u_check();
SELECT * FROM ml_import_csv('u_exists', data => E'id,note\n2,new\n');
SELECT * FROM u_check();
SELECT * FROM ml_import_csv('u_src', data => E'id,a\n2,3\n');
SELECT * FROM u_check();
RESET ROLE;
