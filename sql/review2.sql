-- Review of the 0.3.0 additions (forecast payloads, scoring, evaluation,
-- export): corrupted payloads are "data corrupted", non-finite inputs and
-- other roles' data are handled.
SET client_min_messages = warning;
CREATE TABLE rv_fc AS
SELECT (ARRAY['a', 'b'])[i % 2 + 1] AS s, '2024-01-01'::date + i / 2 AS day,
       (i % 7)::float8 + i * 0.1 AS v
FROM generate_series(0, 200) i;
-- non-finite values and times in a series
INSERT INTO rv_fc VALUES ('a', '2025-01-01', 'NaN'), ('a', '2025-01-02', 'Infinity'),
                         ('b', 'infinity', 1), ('b', '-infinity', 1);
GRANT SELECT ON rv_fc TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('rv_fc', 'rv_fc', 'v', 'forecast') > 0 AS created;
SELECT version, metrics->'fitted' AS fitted, metrics->'skipped' AS skipped,
       metrics->'rows_without_value' AS no_value, metrics->'rows_without_time' AS no_time
FROM ml_forecast_train('rv_fc', 'day', ARRAY['s'], '{"workers": 2}');
SELECT count(*), bool_and(forecast < 'Infinity' AND forecast > '-Infinity') AS finite
FROM ml_forecast('rv_fc', 3, 1);
RESET ROLE;
DELETE FROM rv_fc WHERE NOT isfinite(day) OR v IN ('NaN', 'Infinity');
SET ROLE regress_alice;
SELECT version, metrics->'fitted' AS fitted
FROM ml_forecast_train('rv_fc', 'day', ARRAY['s'], '{"workers": 2}');
SELECT count(*) FROM ml_forecast('rv_fc', 3, 1);
-- another analyst learns nothing of the project
SET ROLE regress_bob;
SELECT regress_try($$SELECT count(*) FROM ml_forecast('rv_fc', 3, 1)$$);
SELECT regress_try($$SELECT ml_export_pmml('rv_fc', 1)$$);
RESET ROLE;

-- a series key edited into invalid JSON is a corrupted payload (XX001),
-- not jsonb's syntax error
UPDATE mlops.models m
SET payload = overlay(payload PLACING '['::bytea FROM position('{"s"'::bytea IN payload))
FROM mlops.projects p WHERE p.id = m.project_id AND p.name = 'rv_fc';
SELECT regress_try($$SELECT count(*) FROM ml_forecast('rv_fc', 3, 1)$$);

-- ml_score reads the relation as the caller: row-level security of the
-- input holds on the bulk-written output too
CREATE TABLE rv_rls (id int, a float8, y float8, owner_name text);
INSERT INTO rv_rls SELECT i, i % 5, 2 * (i % 5) + sin(i), CASE WHEN i % 2 = 0 THEN 'regress_alice' ELSE 'x' END
FROM generate_series(1, 40) i;
ALTER TABLE rv_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY rv_mine ON rv_rls FOR SELECT USING (owner_name = current_user);
GRANT SELECT ON rv_rls TO ml_analyst;
CREATE TABLE rv_train AS SELECT i AS id, (i % 5)::float8 AS a, 2.0 * (i % 5) + sin(i) AS y FROM generate_series(1, 50) i;
GRANT SELECT ON rv_train TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('rv_lin', 'rv_train', 'y') > 0 AS created;
SELECT version FROM ml_train('rv_lin', 'linear', '{}', '{"features": ["a"]}');
SELECT ml_mark_ready('rv_lin', 1) IS NOT NULL AS ready;
SET ROLE regress_eve;
SELECT ml_deploy('rv_lin', 1) IS NOT NULL AS deployed;
SET ROLE regress_alice;
SELECT ml_score('rv_lin', 'rv_rls', 'rv_scored');
SELECT count(*), bool_and(owner_name = 'regress_alice') AS only_mine FROM rv_scored;
SELECT (ml_evaluate('rv_lin', 1, 'rv_rls'))->'rows' AS rows;
-- a relation the caller cannot read
RESET ROLE;
CREATE TABLE rv_secret AS SELECT * FROM rv_train;
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_evaluate('rv_lin', 1, 'rv_secret')$$);
SELECT regress_try($$SELECT ml_score('rv_lin', 'rv_secret', 'rv_secret_out')$$);
SELECT to_regclass('rv_secret_out') IS NULL AS nothing_left;
-- bob cannot evaluate or export alice's project
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_evaluate('rv_lin', 1, 'rv_train')$$);
SELECT regress_try($$SELECT ml_export_pmml('rv_lin', 1)$$);
SELECT count(*) FROM ml_trials WHERE project = 'rv_lin';
RESET ROLE;

-- an event trigger that adds a trigger to every new table: ml_score's
-- rows then go through INSERT, so the trigger sees each of them
CREATE TABLE rv_seen (n int);
GRANT INSERT ON rv_seen TO PUBLIC;
CREATE FUNCTION rv_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.rv_seen VALUES (1); RETURN NEW; END $$;
CREATE FUNCTION rv_add_trigger() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE o record;
BEGIN
  FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE AS' LOOP
    EXECUTE format('CREATE TRIGGER rv_t BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION public.rv_count()', o.object_identity);
  END LOOP;
END $$;
CREATE EVENT TRIGGER rv_et ON ddl_command_end EXECUTE FUNCTION rv_add_trigger();
SET ROLE regress_alice;
SELECT ml_score('rv_lin', 'rv_train', 'rv_scored2');
RESET ROLE;
DROP EVENT TRIGGER rv_et;
SELECT count(*) AS rows_seen_by_trigger FROM rv_seen;
