-- auto's blend: on a small table whose numeric columns all have gaps, a
-- column's fills are the average of the chain's and of its own model's
-- (auto's pick among the per-column candidates), where the blend scored
-- no worse out of fold. The data are not whole numbers, so the fills
-- printed to six places are the model's own values.
SET ROLE regress_alice;
CREATE TABLE ib_src AS
SELECT i AS id, ((i * 37) % 41) / 7.0 AS a,
       0.5 * ((i * 37) % 41) / 7.0 + ((i * 13) % 11) / 10.0 AS b,
       (((i * 37) % 41) / 7.0) ^ 2 / 10 - ((i * 7) % 5) / 4.0 AS c
FROM generate_series(1, 40) i;
UPDATE ib_src SET a = NULL WHERE id % 6 = 1;
UPDATE ib_src SET b = NULL WHERE id % 7 = 3;
UPDATE ib_src SET c = NULL WHERE id % 5 = 2;
SELECT column_name, filled, regexp_replace(method, ' \(.*', '') AS method, metric
FROM ml_impute('ib_src', options => '{"roles": {"id": "identifier"}}', into_table => 'ib_out')
ORDER BY 1;
SELECT o.id, CASE WHEN s.a IS NULL THEN round(o.a::numeric, 6) END AS a,
       CASE WHEN s.b IS NULL THEN round(o.b::numeric, 6) END AS b,
       CASE WHEN s.c IS NULL THEN round(o.c::numeric, 6) END AS c
FROM ib_out o JOIN ib_src s USING (id)
WHERE s.a IS NULL OR s.b IS NULL OR s.c IS NULL
ORDER BY o.id;
