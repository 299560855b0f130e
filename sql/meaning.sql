-- Issue 6: results that mean what they say.
SET ROLE regress_alice;

-- 1. outliers are found before imputation, on observed values: the gaps are
-- filled from the ordinary values (not from means polluted by the huge ones),
-- filled cells are never winsorized, NaN and Infinity are kept
CREATE TABLE mo (id int, g text, v float8);
INSERT INTO mo SELECT i, (ARRAY['a', 'b'])[i % 2 + 1],
       CASE WHEN i % 10 = 0 THEN NULL ELSE 10 + (i % 7) END
FROM generate_series(1, 60) i;
UPDATE mo SET v = 1e9 WHERE id IN (1, 2, 3);
INSERT INTO mo VALUES (61, 'a', 'NaN'), (62, 'b', 'Infinity'), (63, 'a', '-Infinity');
SELECT column_name, actions FROM ml_clean('mo', '{"missing": {"method": "mean"}, "encode": false}',
                                          into_table => 'mo_clean') WHERE column_name = 'v';
SELECT m.id, m.v AS before, c.v AS after FROM mo m JOIN mo_clean c USING (id)
WHERE m.v IS NULL OR m.id <= 3 OR m.id > 60 ORDER BY m.id;
-- flag and delete never touch filled cells either
SELECT actions FROM ml_clean('mo', '{"missing": {"method": "mean"}, "outliers": {"action": "flag"}, "encode": false}',
              into_table => 'mo_flag') WHERE column_name = 'v';
SELECT count(*) FILTER (WHERE v_outlier) AS flagged, count(*) FILTER (WHERE v_outlier AND v = 13) AS filled_flagged
FROM mo_flag;
SELECT actions FROM ml_clean('mo', '{"missing": {"method": "mean"}, "outliers": {"action": "delete"}, "encode": false}',
              into_table => 'mo_del') WHERE column_name = 'v';
SELECT count(*) AS kept, count(*) FILTER (WHERE id % 10 = 0) AS filled_kept FROM mo_del;
-- per-group bounds
SELECT column_name, actions FROM ml_clean('mo', '{"missing": {"method": "mean"}, "outliers": {"by": "g"}, "encode": false}',
                                          into_table => 'mo_by') WHERE column_name = 'v';
SELECT max(v) FILTER (WHERE v < 'Infinity') AS max_finite, count(*) FILTER (WHERE v IN ('NaN', 'Infinity', '-Infinity')) AS kept_special FROM mo_by;
-- a recipe replays the same
SELECT count(*) FROM ml_apply_recipe((SELECT max(id) FROM mlops.recipes), 'mo', into_table => 'mo_rep');
SELECT count(*) AS differences FROM (SELECT id, v FROM mo_by EXCEPT SELECT id, v FROM mo_rep) d;

-- 3. a float column of distinct whole numbers is a measurement, not a key
CREATE TABLE mf (id int, w float8, t text, y float8);
INSERT INTO mf SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 3 END,
       CASE WHEN i % 6 = 0 THEN NULL ELSE md5((i % 30)::text) END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE i END
FROM generate_series(1, 40) i;
ALTER TABLE mf ADD COLUMN k int;
UPDATE mf SET k = CASE WHEN id % 8 = 0 THEN NULL ELSE id + 1000 END;
-- skipped columns are listed with the reason
SELECT column_name, filled > 0 AS filled, method LIKE 'skipped%' AS skipped,
       CASE WHEN method LIKE 'skipped%' THEN method END AS why
FROM ml_impute('mf', options => '{"target": "y", "methods": {"w": "mean"}}') ORDER BY column_name;

-- 5. a step's columns and skip lists must name existing columns
SELECT regress_try($$SELECT * FROM ml_clean('mo', '{"outliers": {"columns": ["nosuch"]}}', into_table => 'mo_x')$$);
SELECT regress_try($$SELECT * FROM ml_clean('mo', '{"encode": {"skip": ["nosuch"]}}', into_table => 'mo_x')$$);
SELECT regress_try($$SELECT * FROM ml_clean('mo', '{"missing": {"columns": ["v", "nope"]}}', into_table => 'mo_x')$$);

-- 2. in place, rows are changed, never deleted and re-inserted: a child
-- row of an ON DELETE CASCADE foreign key survives, DELETE/INSERT row
-- triggers never fire, identity and generated columns work
CREATE TABLE mp (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, city text,
                 amount float8, twice float8 GENERATED ALWAYS AS (amount * 2) STORED,
                 n float8);
INSERT INTO mp (city, amount, n)
SELECT (ARRAY['Paris', 'Lyon'])[i % 2 + 1], CASE WHEN i % 5 = 0 THEN NULL ELSE i END, i % 3
FROM generate_series(1, 30) i;
CREATE TABLE mp_child (id int PRIMARY KEY, parent int REFERENCES mp ON DELETE CASCADE);
INSERT INTO mp_child VALUES (1, 5), (2, 10);
CREATE TABLE mp_log (op text);
CREATE FUNCTION mp_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.mp_log VALUES (TG_OP); RETURN NULL; END $$;
CREATE TRIGGER mp_count AFTER INSERT OR DELETE OR UPDATE ON mp FOR EACH ROW EXECUTE FUNCTION mp_count();
SELECT column_name, actions, new_columns FROM ml_clean('mp', '{"missing": {"method": "mean"}}') ORDER BY column_name;
SELECT count(*) AS children FROM mp_child;
SELECT op, count(*) FROM mp_log GROUP BY op ORDER BY op;
SELECT column_name, data_type, is_identity, is_generated FROM information_schema.columns
WHERE table_name = 'mp' ORDER BY ordinal_position;
SELECT id, amount, twice, n, "city_Paris" FROM mp WHERE id IN (4, 5, 6) ORDER BY id;
INSERT INTO mp (amount, n, "city_Paris", "city_Lyon") VALUES (1.5, 2, 1, 0) RETURNING id, twice;
-- a plain key referenced ON DELETE CASCADE: the children survive the clean
CREATE TABLE mq (id int PRIMARY KEY, v float8);
INSERT INTO mq SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE i END FROM generate_series(1, 20) i;
CREATE TABLE mq_child (id int PRIMARY KEY, parent int REFERENCES mq ON DELETE CASCADE);
INSERT INTO mq_child VALUES (1, 4), (2, 7);
SELECT count(*) AS columns FROM ml_clean('mq', '{"missing": {"method": "mean"}}');
SELECT count(*) AS children, count(*) FILTER (WHERE v IS NULL) AS gaps FROM mq_child JOIN mq ON mq.id = parent;
-- rows to delete while another table references this one: refused
INSERT INTO mp (amount, n, "city_Paris", "city_Lyon")
SELECT amount, n, "city_Paris", "city_Lyon" FROM mp WHERE id = 1;
SELECT regress_try($$SELECT * FROM ml_clean('mp', '{"duplicates": {"keys": ["amount", "n"]}}')$$);
SELECT count(*) AS rows_unchanged FROM mp;
-- without a reference the removed rows are exactly what is deleted
DROP TABLE mp_child;
DELETE FROM mp_log;
SELECT count(*) FROM ml_clean('mp', '{"duplicates": {"keys": ["amount", "n"]}}');
SELECT op, count(*) FROM mp_log GROUP BY op ORDER BY op;
SELECT count(*) AS rows_left FROM mp;

-- 6. fills of a float column of whole numbers keep their fractions unless
-- asked to round; integer columns stay integers
CREATE TABLE mr (id int, f float8, i int);
INSERT INTO mr VALUES (1, 1, 1), (2, 2, 2), (3, NULL, NULL), (4, 2, 2);
SELECT column_name, filled FROM ml_impute('mr', '{f,i}', 'mean', into_table => 'mr_a') ORDER BY 1;
SELECT id, f, i FROM mr_a WHERE id = 3;
SELECT column_name, filled FROM ml_impute('mr', '{f,i}', 'mean', '{"round": true}', into_table => 'mr_b') ORDER BY 1;
SELECT id, f, i FROM mr_b WHERE id = 3;
-- ml_clean: the fractional fill keeps the column a float (no integer cast)
SELECT column_name, actions FROM ml_clean('mr', '{"missing": {"method": "mean"}}', into_table => 'mr_c') ORDER BY 1;
SELECT id, f, i, pg_typeof(f) FROM mr_c WHERE id = 3;
SELECT column_name, actions FROM ml_clean('mr', '{"missing": {"method": "mean", "round": true}}', into_table => 'mr_d') ORDER BY 1;
SELECT id, f, i, pg_typeof(f) FROM mr_d WHERE id = 3;

RESET ROLE;

-- generated columns are never imputed: skipped with the reason, in place and
-- into a new table; in place their values follow the filled inputs
SET ROLE regress_alice;
CREATE TABLE mg (id int, x float8, g float8 GENERATED ALWAYS AS (CASE WHEN x > 5 THEN x * 2 END) STORED);
INSERT INTO mg (id, x) SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 10 END FROM generate_series(1, 40) i;
SELECT column_name, filled, method FROM ml_impute('mg', into_table => 'mg_i') ORDER BY 1;
SELECT column_name, filled, method FROM ml_impute('mg') ORDER BY 1;
SELECT count(*) FILTER (WHERE x IS NULL) AS x_gaps, count(*) FILTER (WHERE g IS DISTINCT FROM CASE WHEN x > 5 THEN x * 2 END) AS g_wrong FROM mg;
SELECT regress_try($$SELECT * FROM ml_impute('mg', '{g}')$$);
UPDATE mg SET x = NULL WHERE id % 4 = 0;
SELECT column_name, nulls_before, nulls_after, actions FROM ml_clean('mg', '{"polish": false}') ORDER BY 1;
RESET ROLE;

-- options.target must name a column of the relation
SET ROLE regress_alice;
SELECT regress_try($$SELECT * FROM ml_clean('mg', '{"target": "nosuch"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('mg', options => '{"target": "nosuch"}')$$);
-- user options are finite numbers: the strings "NaN"/"Infinity" are for stored recipes only
SELECT regress_try($$SELECT * FROM ml_clean('mg', '{"outliers": {"k": "Infinity"}}', into_table => 'mg_k')$$);
SELECT regress_try($$SELECT * FROM ml_impute('mg', options => '{"holdout": "NaN"}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('mg', '{"encode": {"max_levels": 1e300}}', into_table => 'mg_e')$$);
RESET ROLE;

-- a constant: the input function's verdict is about the constant; any other
-- error (here one a domain's check function raises) goes on as it was raised
SET ROLE regress_alice;
CREATE FUNCTION regress_boom(int) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN IF $1 = 13 THEN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001'; END IF; RETURN $1 > 0; END$$;
CREATE DOMAIN regress_dint AS int CHECK (regress_boom(VALUE));
CREATE TABLE mdom (id int, v regress_dint);
INSERT INTO mdom VALUES (1, 5), (2, NULL), (3, 7);
SELECT regress_try($$SELECT * FROM ml_impute('mdom', '{v}', 'constant', '{"value": "13"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('mdom', '{v}', 'constant', '{"value": "-1"}')$$);
RESET ROLE;

-- a table never analyzed (reltuples -1) larger than the budget takes the
-- sampled path (its size estimated from its pages), not an out-of-memory error
SET ROLE regress_alice;
BEGIN;
CREATE TABLE mna AS SELECT i AS id, (i % 3)::float8 AS k, CASE WHEN i % 10 = 0 THEN NULL ELSE (i % 3) * 10.0 END AS v
FROM generate_series(1, 40000) i;
SELECT reltuples < 0 AS never_analyzed FROM pg_class WHERE oid = 'mna'::regclass;
SET LOCAL maintenance_work_mem = '1MB';
SELECT column_name, filled FROM ml_impute('mna', '{v}', into_table => 'mna_i');
SELECT count(*) FILTER (WHERE v IS NULL) AS gaps FROM mna_i;
COMMIT;
RESET ROLE;
