-- A text column of times naming zones, declared datetime (options.roles):
-- read as the instants they name (timestamp without time zone dropped the
-- zones, so 10:00+05 and 05:00Z, one instant, read as five hours apart),
-- filled with instants written with their offset, and cast by ml_clean to
-- timestamp with time zone (mlops.try_cast_timestamptz).
\set VERBOSITY sqlstate
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT s, mlops.try_cast_timestamptz(s) AS instant
FROM unnest(ARRAY['2024-01-01 10:00:00+05', '2024-01-01T05:00:00Z', '2024-01-01 05:00 Europe/Paris',
                  '2024-01-01 05:00', 'not a time', '2024-01-01 c5a880faf6', '294276-12-31 23:00:00-05',
                  '4714-11-24 00:00:00+00 BC', '']) s;
-- three instants: 05:00Z, 05:00Z, 08:00Z; their mean is 06:00Z
CREATE TABLE dz (id int, t text, v float8);
INSERT INTO dz VALUES (1, '2024-01-01 10:00:00+05', 1), (2, '2024-01-01T05:00:00Z', 2),
    (3, '2024-01-01 08:00:00+00', 3), (4, NULL, 4), (5, 'unknown', 5);
SELECT column_name, filled FROM ml_impute('dz', '{t}', 'mean',
    '{"roles": {"t": "datetime", "id": "identifier"}}', into_table => 'dz_mean');
SELECT id, t, t::timestamptz AS instant FROM dz_mean ORDER BY id;
-- a constant names its own zone
SELECT filled FROM ml_impute('dz', '{t}', 'constant',
    '{"value": "2024-03-01 12:00:00-03", "roles": {"t": "datetime", "id": "identifier"}}', into_table => 'dz_const');
SELECT t::timestamptz AS instant FROM dz_const WHERE id = 4;
-- ml_clean casts the column to timestamp with time zone; the recipe replays it
SELECT DISTINCT recipe_id AS dz_recipe FROM ml_clean('dz',
    '{"roles": {"t": "datetime", "id": "identifier"}, "missing": {"method": "median"}, "outliers": false}', 'dz_clean') \gset
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'dz_clean'::regclass AND attname = 't';
SELECT id, t FROM dz_clean ORDER BY id;
SELECT s ->> 'to' AS cast_to FROM mlops.recipes, jsonb_array_elements(steps) s
WHERE id = :dz_recipe AND s ->> 'step' = 'cast';
SELECT count(*) FROM ml_apply_recipe(:dz_recipe, 'dz', 'dz_again');
SELECT count(*) AS differ FROM dz_clean c JOIN dz_again a USING (id) WHERE c.t IS DISTINCT FROM a.t;
-- times without zones read as before (timestamp without time zone)
CREATE TABLE dz_plain AS SELECT id, replace(replace(replace(t, '+05', ''), 'Z', ''), '+00', '') AS t, v FROM dz;
SELECT filled FROM ml_impute('dz_plain', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
    into_table => 'dz_plain_mean');
SELECT t FROM dz_plain_mean WHERE id = 4;
DROP TABLE dz, dz_mean, dz_const, dz_clean, dz_again, dz_plain, dz_plain_mean;
RESET TimeZone;
RESET client_min_messages;
