-- ml_score block by block (pg_mlops.score_block_rows): a 25,000-row input
-- over many blocks gives exactly the per-row ml_predict answers (NULLs,
-- categories, unseen levels, dates), in the input's order, with the column
-- types of a CREATE TABLE AS; as the caller (ownership, row-level
-- security); a failure in a late block leaves no table; an output table an
-- event trigger changed is written row by row through INSERT.
CREATE TABLE sb_train (
    id    integer,
    x     float8,
    n     numeric(8, 2),
    zone  text,
    day   date,
    flag  boolean,
    y     float8,
    label text
);
INSERT INTO sb_train
SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 13 % 101) / 3.0 END,
       (g % 50) * 1.25, CASE WHEN g % 11 = 0 THEN NULL ELSE (ARRAY['n', 's', 'e', 'w'])[g % 4 + 1] END,
       date '2024-01-01' + g % 400, g % 3 = 0,
       (g * 13 % 101) / 3.0 - 2 * (g % 50) + (g % 4) * 5 + (g * 7919 % 100) / 10.0,
       (ARRAY['lo', 'mid', 'hi'])[(g * 13 % 101) % 3 + 1]
FROM generate_series(1, 3000) g;
-- rows to score: 25,000, some levels the models never saw, NULLs in every column
CREATE TABLE sb_fresh AS
SELECT g AS id, CASE WHEN g % 9 = 0 THEN NULL ELSE (g * 17 % 103) / 3.0 END AS x,
       CASE WHEN g % 13 = 0 THEN NULL ELSE ((g % 60) * 1.25)::numeric(8, 2) END AS n,
       CASE WHEN g % 10 = 0 THEN NULL WHEN g % 97 = 0 THEN 'unseen' ELSE (ARRAY['n', 's', 'e', 'w'])[g % 4 + 1] END AS zone,
       CASE WHEN g % 17 = 0 THEN NULL ELSE date '2024-01-01' + g % 500 END AS day,
       CASE WHEN g % 19 = 0 THEN NULL ELSE g % 3 = 0 END AS flag,
       0::float8 AS y, NULL::text AS label
FROM generate_series(1, 25000) g;
GRANT SELECT ON sb_train, sb_fresh TO ml_analyst, ml_engineer;
SET pg_mlops.progress_interval = 0;         -- no timing-dependent NOTICEs

SET ROLE regress_alice;
SELECT ml_create_project('sb_lin', 'sb_train', 'y') > 0 AS created;
SELECT version FROM ml_train('sb_lin', 'linear', options => '{"exclude": ["id", "label"]}');
SELECT ml_create_project('sb_gb', 'sb_train', 'y') > 0 AS created;
SELECT version FROM ml_train('sb_gb', 'gbdt', '{"n_estimators": 20, "max_depth": 4}',
                             '{"exclude": ["id", "label"]}');
SELECT ml_create_project('sb_cls', 'sb_train', 'label', 'classification') > 0 AS created;
SELECT version FROM ml_train('sb_cls', 'gbdt', '{"n_estimators": 10, "max_depth": 3}',
                             '{"exclude": ["id", "y"]}');
SELECT ml_create_project('sb_log', 'sb_train', 'label', 'classification') > 0 AS created;
SELECT version FROM ml_train('sb_log', 'logistic', options => '{"exclude": ["id", "y"]}');
SELECT ml_mark_ready(p, 1) FROM unnest(ARRAY['sb_lin', 'sb_gb', 'sb_cls', 'sb_log']) p;
SET ROLE regress_eve;
SELECT ml_deploy(p, 1) FROM unnest(ARRAY['sb_lin', 'sb_gb', 'sb_cls', 'sb_log']) p;

SET ROLE regress_alice;
SHOW pg_mlops.score_block_rows;
SET pg_mlops.score_block_rows = 1000;
SELECT ml_score('sb_lin', 'sb_fresh', 'sb_out_lin');
SET pg_mlops.score_block_rows = 7777;       -- a last block that is not full
SELECT ml_score('sb_gb', 'sb_fresh', 'sb_out_gb');
SELECT ml_score('sb_cls', 'sb_fresh', 'sb_out_cls');
SET pg_mlops.score_block_rows = 1;
SELECT ml_score('sb_log', 'sb_fresh', 'sb_out_log');
RESET pg_mlops.score_block_rows;
-- every prediction equals the per-row one, bit for bit
SELECT count(*) AS rows,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('sb_lin', f)) AS differ
FROM sb_fresh f JOIN sb_out_lin o USING (id);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('sb_gb', f)) AS differ
FROM sb_fresh f JOIN sb_out_gb o USING (id);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict_label('sb_cls', f)
                           OR o.probabilities IS DISTINCT FROM ml_predict_proba('sb_cls', f)) AS differ,
       count(DISTINCT o.prediction) AS labels
FROM sb_fresh f JOIN sb_out_cls o USING (id);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict_label('sb_log', f)
                           OR o.probabilities IS DISTINCT FROM ml_predict_proba('sb_log', f)) AS differ,
       count(DISTINCT o.prediction) AS labels
FROM sb_fresh f JOIN sb_out_log o USING (id);
-- wide rows: a block is cut at about work_mem of rows
CREATE VIEW sb_wide AS SELECT f.*, repeat(md5(f.id::text), 40) AS pad FROM sb_fresh f;
SET work_mem = '64kB';
SELECT ml_score('sb_lin', 'sb_wide', 'sb_out_wide');
RESET work_mem;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE w.prediction IS DISTINCT FROM o.prediction OR length(w.pad) <> 1280) AS differ
FROM sb_out_wide w JOIN sb_out_lin o USING (id);
-- the input columns unchanged (NULLs included), in the input's order
SELECT count(*) FILTER (WHERE (o.id, o.x, o.n, o.zone, o.day, o.flag, o.y, o.label)
                              IS DISTINCT FROM (f.id, f.x, f.n, f.zone, f.day, f.flag, f.y, f.label)) AS changed,
       count(*) FILTER (WHERE o.model_version IS DISTINCT FROM 1) AS other_version
FROM sb_fresh f JOIN sb_out_gb o USING (id);
SELECT count(*) FILTER (WHERE id <> rn) AS out_of_order
FROM (SELECT id, row_number() OVER () AS rn FROM sb_out_lin) s;
-- the columns and types of a CREATE TABLE AS; owned by the caller
SELECT c.relname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) AS columns,
       pg_get_userbyid(c.relowner) AS owner
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relname IN ('sb_out_lin', 'sb_out_cls') GROUP BY c.relname, c.relowner ORDER BY 1;

-- a failure in a late block: no table left behind
CREATE VIEW sb_late_fail AS
SELECT id, x, n, zone, day, flag, CASE WHEN id = 24000 THEN 1 / (id - id) ELSE 0 END::float8 AS y
FROM sb_fresh;
SET pg_mlops.score_block_rows = 5000;
SELECT regress_try($$SELECT ml_score('sb_lin', 'sb_late_fail', 'sb_out_fail')$$);
SELECT to_regclass('sb_out_fail') IS NULL AS no_table;
RESET pg_mlops.score_block_rows;
SELECT regress_try($$SET pg_mlops.score_block_rows = 0$$);
RESET ROLE;

-- row-level security on the input applies to the caller
CREATE TABLE sb_rls AS SELECT * FROM sb_fresh;
ALTER TABLE sb_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY sb_even ON sb_rls FOR SELECT TO ml_analyst USING (id % 2 = 0);
GRANT SELECT ON sb_rls TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_score('sb_lin', 'sb_rls', 'sb_out_rls');
SELECT count(*) FILTER (WHERE id % 2 = 1) AS odd_rows FROM sb_out_rls;
RESET ROLE;

-- an event trigger adds an index and a row trigger to every new table:
-- ml_score then writes through INSERT, which keeps both up to date
CREATE SEQUENCE sb_seen;
GRANT USAGE, SELECT ON SEQUENCE sb_seen TO PUBLIC;
CREATE FUNCTION sb_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM nextval('public.sb_seen'); RETURN NEW; END $$;
CREATE FUNCTION sb_decorate() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE AS' LOOP
        EXECUTE format('CREATE INDEX ON %s (id)', r.object_identity);
        EXECUTE format('CREATE TRIGGER sb_count AFTER INSERT ON %s FOR EACH ROW EXECUTE FUNCTION public.sb_count()',
                       r.object_identity);
    END LOOP;
END $$;
CREATE EVENT TRIGGER sb_decorate ON ddl_command_end WHEN TAG IN ('CREATE TABLE AS') EXECUTE FUNCTION sb_decorate();
SET ROLE regress_alice;
SET pg_mlops.score_block_rows = 4000;
SELECT ml_score('sb_cls', 'sb_fresh', 'sb_out_decorated');
RESET pg_mlops.score_block_rows;
RESET ROLE;
DROP EVENT TRIGGER sb_decorate;
SELECT last_value AS trigger_fired FROM sb_seen;
SET enable_seqscan = off;
SELECT count(*) AS indexed FROM sb_out_decorated WHERE id BETWEEN 1 AND 25000;
RESET enable_seqscan;
SELECT count(*) FILTER (WHERE (d.*)::text IS DISTINCT FROM (o.*)::text) AS differ
FROM sb_out_decorated d JOIN sb_out_cls o USING (id);

DROP TABLE sb_out_lin, sb_out_gb, sb_out_cls, sb_out_log, sb_out_rls, sb_out_decorated, sb_rls;
DROP SEQUENCE sb_seen;
DROP TABLE sb_out_wide;
DROP VIEW sb_late_fail, sb_wide;
DROP FUNCTION sb_count(), sb_decorate();
RESET pg_mlops.progress_interval;
