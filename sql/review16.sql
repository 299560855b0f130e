-- review16: text columns of zoned times declared datetime (fills written
-- in ISO whatever the DateStyle; out-of-range instants filled, not kept).
\set VERBOSITY sqlstate
SET client_min_messages = warning;
-- A fill in a text column is written in ISO with its offset in digits:
-- DateStyle SQL wrote "01/01/2024 11:30:00 IST" in Asia/Kolkata, which the
-- parser reads as Israel's time (3.5 hours off), and LMT, which it does
-- not read at all (ml_clean's cast left the cell NULL).
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, MDY';
CREATE TABLE r16z (id int, t text);
INSERT INTO r16z VALUES (1, '2024-01-01 10:00:00+05'), (2, '2024-01-01T05:00:00Z'),
    (3, '2024-01-01 08:00:00+00'), (4, NULL);
SELECT filled FROM ml_impute('r16z', '{t}', 'mean',
    '{"roles": {"t": "datetime", "id": "identifier"}}', into_table => 'r16z_mean');
SELECT id, t, mlops.try_cast_timestamptz(t) AT TIME ZONE 'UTC' AS utc FROM r16z_mean ORDER BY id;
SELECT count(*) FROM ml_clean('r16z',
    '{"roles": {"t": "datetime", "id": "identifier"}, "missing": {"method": "mean"}, "outliers": false}', 'r16z_clean');
SELECT id, t AT TIME ZONE 'UTC' AS utc FROM r16z_clean ORDER BY id;
SET TimeZone = 'Europe/Paris';
CREATE TABLE r16old (id int, t text);
INSERT INTO r16old VALUES (1, '1800-01-01 00:00:00+00'), (2, '1800-01-03 00:00:00+00'), (3, NULL);
SELECT count(*) FROM ml_clean('r16old',
    '{"roles": {"t": "datetime", "id": "identifier"}, "missing": {"method": "mean"}, "outliers": false}', 'r16old_clean');
SELECT id, t AT TIME ZONE 'UTC' AS utc FROM r16old_clean ORDER BY id;
-- times without zones: the fill's day and month are not in DateStyle's order
SET DateStyle = 'SQL, DMY';
CREATE TABLE r16p (id int, t text);
INSERT INTO r16p VALUES (1, '2024-01-02 00:00:00'), (2, '2024-01-04 00:00:00'), (3, NULL);
SELECT filled FROM ml_impute('r16p', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
    into_table => 'r16p_mean');
SELECT t FROM r16p_mean WHERE id = 3;
RESET DateStyle;
-- A zoned text whose instant is beyond timestamptz's range (its wall time
-- within timestamp's) is missing to the fit and filled: the write kept it
-- (it asked try_cast_timestamp whether the text parses), so ml_impute
-- counted it filled and ml_clean's cast then left it NULL.
SET TimeZone = 'UTC';
CREATE TABLE r16r (id int, t text);
INSERT INTO r16r VALUES (1, '294276-12-31 23:00:00-05'), (2, '2024-01-01 00:00:00+00'), (3, NULL),
    (4, '4714-11-24 03:00:00+05 BC');
SELECT filled FROM ml_impute('r16r', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
    into_table => 'r16r_mean');
SELECT id, t FROM r16r_mean ORDER BY id;
SELECT count(*) FROM ml_clean('r16r',
    '{"roles": {"t": "datetime", "id": "identifier"}, "missing": {"method": "mean"}, "outliers": false, "datetime": false}', 'r16r_clean');
SELECT id, t FROM r16r_clean ORDER BY id;
-- A recipe reads new rows' times as the run read them: fitted on zoned
-- texts (its cast to timestamptz) and applied to texts without zones, the
-- median fill 05:00Z was written without its offset and read in the
-- session's zone (10:00Z in New York); fitted on wall times (its cast to
-- timestamp) and applied to zoned texts, the fill 05:00 was written with
-- Kolkata's offset and cut to 10:30.
SET TimeZone = 'UTC';
CREATE TABLE r16fz (id int, t text);
INSERT INTO r16fz VALUES (1, '2024-01-01 10:00:00+05'), (2, '2024-01-01T05:00:00Z'),
    (3, '2024-01-01 08:00:00+00'), (4, NULL);
SELECT DISTINCT recipe_id AS r16_zoned FROM ml_clean('r16fz',
    '{"roles": {"t": "datetime", "id": "identifier"}, "missing": {"method": "median"}, "outliers": false, "datetime": false}',
    'r16fz_clean') \gset
SELECT id, t FROM r16fz_clean WHERE id = 4;
CREATE TABLE r16an (id int, t text);
INSERT INTO r16an VALUES (1, '2024-01-01 05:00:00'), (2, NULL);
SET TimeZone = 'America/New_York';
SELECT count(*) FROM ml_apply_recipe(:r16_zoned, 'r16an', 'r16an_out');
SELECT id, t AT TIME ZONE 'UTC' AS utc FROM r16an_out ORDER BY id;
SET TimeZone = 'Asia/Kolkata';
CREATE TABLE r16fp (id int, t text);
INSERT INTO r16fp VALUES (1, '2024-01-01 05:00:00'), (2, '2024-01-01 07:00:00'), (3, '2024-01-01 06:00:00'), (4, NULL);
SELECT DISTINCT recipe_id AS r16_wall FROM ml_clean('r16fp',
    '{"roles": {"t": "datetime", "id": "identifier"}, "missing": {"method": "median"}, "outliers": false, "datetime": false}',
    'r16fp_clean') \gset
SELECT id, t FROM r16fp_clean WHERE id = 4;
CREATE TABLE r16az (id int, t text);
INSERT INTO r16az VALUES (1, '2024-01-01 05:00:00+00'), (2, NULL);
SELECT count(*) FROM ml_apply_recipe(:r16_wall, 'r16az', 'r16az_out');
SELECT id, t FROM r16az_out ORDER BY id;
DROP TABLE r16fz, r16fz_clean, r16an, r16an_out, r16fp, r16fp_clean, r16az, r16az_out;
-- A table larger than maintenance_work_mem: its chunks (the rows missing
-- t, naming no zone) are read as the sample was, with zones: the fill was
-- written without its offset, a wall time of UTC read back in Kolkata
-- 5.5 hours early.
SET TimeZone = 'Asia/Kolkata';
CREATE TABLE r16lg AS
SELECT i AS id, CASE WHEN i % 10 <> 0 THEN '2024-01-01 10:00:00+05' END AS t, (i % 7)::float8 AS v
FROM generate_series(1, 30000) i;
SET maintenance_work_mem = '1MB';
SELECT filled FROM ml_impute('r16lg', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
    into_table => 'r16lg_mean');
RESET maintenance_work_mem;
SELECT t, t::timestamptz AT TIME ZONE 'UTC' AS utc, count(*) FROM r16lg_mean WHERE id % 10 = 0 GROUP BY t;
-- and its chunks take the texts that do not read as times, gaps as in
-- memory (they were left as they were: "unknown" kept, counted filled)
CREATE TABLE r16lu AS
SELECT i AS id, CASE WHEN i % 10 = 0 THEN 'unknown' WHEN i % 10 = 5 THEN NULL
                     ELSE '2024-01-01 10:00:00+05' END AS t, (i % 7)::float8 AS v
FROM generate_series(1, 30000) i;
SET maintenance_work_mem = '1MB';
SELECT filled FROM ml_impute('r16lu', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
    into_table => 'r16lu_mean');
RESET maintenance_work_mem;
SELECT t, count(*) FROM r16lu_mean GROUP BY t ORDER BY t;
DROP TABLE r16lg, r16lg_mean, r16lu, r16lu_mean;
DROP TABLE r16z, r16z_mean, r16z_clean, r16old, r16old_clean, r16p, r16p_mean, r16r, r16r_mean, r16r_clean;
RESET TimeZone;
RESET client_min_messages;
