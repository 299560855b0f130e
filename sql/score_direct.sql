-- ml_score reads a plain table the caller may read whole by a table scan,
-- and everything else through a cursor as the caller (the DEBUG1 line says
-- which): both give the rows SELECT s.* would, with the same privileges
-- and row-level security. Fixed-width columns only and fewer than 8,192
-- rows, so the DEBUG1 lines are only the reader's.
CREATE TABLE sd_t AS
SELECT g AS id, (g % 37)::float8 AS x, g % 5 AS k, (3 * (g % 37) - 2 * (g % 5))::float8 AS y
FROM generate_series(1, 2000) g;
GRANT SELECT ON sd_t TO ml_analyst;
SET pg_mlops.progress_interval = 0;
SET ROLE regress_alice;
SELECT ml_create_project('sd_p', 'sd_t', 'y') > 0 AS created;
SELECT version FROM ml_train('sd_p', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('sd_p', 1);
SET ROLE regress_eve;
SELECT ml_deploy('sd_p', 1);
RESET ROLE;

-- the tables to score, one per case
CREATE TABLE sd_plain AS SELECT id, x, k, 0::float8 AS y FROM sd_t;
CREATE TABLE sd_rls AS SELECT * FROM sd_plain;
ALTER TABLE sd_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY sd_even ON sd_rls FOR SELECT TO ml_analyst USING (id % 2 = 0);
CREATE TABLE sd_cols AS SELECT * FROM sd_plain;
CREATE TABLE sd_allcols AS SELECT * FROM sd_plain;
CREATE TABLE sd_parent AS SELECT * FROM sd_plain WHERE id <= 1000;
CREATE TABLE sd_child () INHERITS (sd_parent);
INSERT INTO sd_child SELECT * FROM sd_plain WHERE id > 1000;
CREATE TABLE sd_parted (id int, x float8, k int, y float8) PARTITION BY RANGE (id);
CREATE TABLE sd_part1 PARTITION OF sd_parted FOR VALUES FROM (1) TO (1001);
CREATE TABLE sd_part2 PARTITION OF sd_parted FOR VALUES FROM (1001) TO (2001);
INSERT INTO sd_parted SELECT * FROM sd_plain;
CREATE TABLE sd_dropped AS SELECT id, 1::int AS gone, x, k, y FROM sd_plain;
ALTER TABLE sd_dropped DROP COLUMN gone;
CREATE TABLE sd_added AS SELECT id, x, y FROM sd_plain;
ALTER TABLE sd_added ADD COLUMN k int NOT NULL DEFAULT 3;   -- a missing value, not stored in the rows
CREATE VIEW sd_view AS SELECT * FROM sd_plain WHERE id <= 1500;
CREATE TABLE sd_none AS SELECT * FROM sd_plain;
GRANT SELECT ON sd_plain, sd_rls, sd_parent, sd_parted, sd_part1, sd_dropped, sd_added, sd_view TO ml_analyst;
GRANT SELECT (id, x) ON sd_cols TO ml_analyst;
GRANT SELECT (id, x, k, y) ON sd_allcols TO ml_analyst;

SET ROLE regress_alice;
SET client_min_messages = debug1;
SELECT ml_score('sd_p', 'sd_plain', 'sd_o_plain');
SELECT ml_score('sd_p', 'sd_rls', 'sd_o_rls');
SELECT regress_try($$SELECT ml_score('sd_p', 'sd_cols', 'sd_o_cols')$$);
SELECT ml_score('sd_p', 'sd_allcols', 'sd_o_allcols');
SELECT ml_score('sd_p', 'sd_parent', 'sd_o_parent');
SELECT ml_score('sd_p', 'sd_parted', 'sd_o_parted');
SELECT ml_score('sd_p', 'sd_part1', 'sd_o_part1');
SELECT ml_score('sd_p', 'sd_dropped', 'sd_o_dropped');
SELECT ml_score('sd_p', 'sd_added', 'sd_o_added');
SELECT ml_score('sd_p', 'sd_view', 'sd_o_view');
SELECT regress_try($$SELECT ml_score('sd_p', 'sd_none', 'sd_o_none')$$);
-- rows changed earlier in the same transaction are seen, as by a new statement
RESET ROLE;
BEGIN;
DELETE FROM sd_plain WHERE id > 1900;
UPDATE sd_plain SET x = x + 1 WHERE id <= 5;
SET LOCAL ROLE regress_alice;
SELECT ml_score('sd_p', 'sd_plain', 'sd_o_xact');
SELECT count(*) AS rows, count(*) FILTER (WHERE o.x <> p.x OR o.prediction IS DISTINCT FROM ml_predict('sd_p', p)) AS differ
FROM sd_o_xact o JOIN sd_plain p USING (id);
ROLLBACK;
SET ROLE regress_alice;
RESET client_min_messages;
-- the row-level security policy applied: only even ids
SELECT count(*) AS rows, count(*) FILTER (WHERE id % 2 = 1) AS odd_rows FROM sd_o_rls;
-- every output row equals the plain table's scored row (the added column's default included)
SELECT s.name, count(*) AS rows,
       count(*) FILTER (WHERE (s.id, s.x, s.k, s.prediction, s.model_version)
                              IS DISTINCT FROM (p.id, p.x, p.k, p.prediction, p.model_version)) AS differ
FROM (SELECT 'allcols' AS name, id, x, k, prediction, model_version FROM sd_o_allcols
      UNION ALL SELECT 'parent', id, x, k, prediction, model_version FROM sd_o_parent
      UNION ALL SELECT 'parted', id, x, k, prediction, model_version FROM sd_o_parted
      UNION ALL SELECT 'part1', id, x, k, prediction, model_version FROM sd_o_part1
      UNION ALL SELECT 'dropped', id, x, k, prediction, model_version FROM sd_o_dropped
      UNION ALL SELECT 'view', id, x, k, prediction, model_version FROM sd_o_view) s
     JOIN sd_o_plain p USING (id)
GROUP BY s.name ORDER BY s.name;
SELECT count(*) AS rows, count(*) FILTER (WHERE o.k <> 3) AS not_default,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('sd_p', a)) AS differ
FROM sd_o_added o JOIN sd_added a USING (id);
SELECT count(*) AS rows, count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('sd_p', p)) AS differ
FROM sd_o_plain o JOIN sd_plain p USING (id);
-- the output's columns: the relation's (not its dropped one), then ours
SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) AS columns
FROM pg_attribute a WHERE a.attrelid = 'sd_o_dropped'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
-- the scoring log counted every call's rows
RESET ROLE;
SELECT relation, rows FROM mlops.scoring_log l JOIN mlops.projects p ON p.id = l.project_id
WHERE p.name = 'sd_p' ORDER BY l.id;

DROP TABLE sd_o_plain, sd_o_rls, sd_o_allcols, sd_o_parent, sd_o_parted, sd_o_part1, sd_o_dropped,
           sd_o_added, sd_o_view;
DROP VIEW sd_view;
DROP TABLE sd_plain, sd_rls, sd_cols, sd_allcols, sd_child, sd_parent, sd_parted, sd_dropped, sd_added, sd_none;
RESET pg_mlops.progress_interval;
