-- Tables larger than maintenance_work_mem: fitted on a sample, filled
-- chunk by chunk, duplicates removed in SQL. Same answers, bounded memory.
SET ROLE regress_alice;
CREATE TABLE lg AS
SELECT i AS id, (ARRAY['x', 'y', 'z'])[i % 3 + 1] AS k, ((i % 3) * 10 + (i % 5))::float8 AS v,
       i % 5 AS w
FROM generate_series(1, 30000) i;
UPDATE lg SET v = NULL WHERE id % 10 = 0;
INSERT INTO lg SELECT * FROM lg WHERE id <= 50;          -- 50 duplicates
RESET ROLE;
VACUUM ANALYZE lg;
SET ROLE regress_alice;
SET maintenance_work_mem = '1MB';
SELECT column_name, filled FROM ml_impute('lg', '{v}', into_table => 'lg_imputed');
SELECT count(*) AS rows, count(*) FILTER (WHERE v IS NULL) AS gaps,
       count(*) FILTER (WHERE v <> (id % 3) * 10 + (id % 5)) AS wrong FROM lg_imputed;
SELECT count(*) FILTER (WHERE v IS NULL) AS source_gaps FROM lg;
SELECT column_name, nulls_before, nulls_after, new_columns
FROM ml_clean('lg', '{"indicators": true, "outliers": false}', into_table => 'lg_clean');
SELECT count(*) AS rows, count(*) FILTER (WHERE v IS NULL) AS gaps,
       count(*) FILTER (WHERE v_was_missing) AS flagged FROM lg_clean;
-- twice in one transaction (working copies do not linger)
BEGIN;
SELECT count(*) FROM ml_clean('lg', '{"outliers": false}', into_table => 'lg_t1');
SELECT count(*) FROM ml_clean('lg', '{"outliers": false}', into_table => 'lg_t2');
ROLLBACK;
-- in place, too
SELECT column_name, filled FROM ml_impute('lg', '{v}');
SELECT count(*) FILTER (WHERE v IS NULL) AS gaps_left FROM lg;
RESET maintenance_work_mem;
RESET ROLE;
