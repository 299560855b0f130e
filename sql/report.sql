-- Reports: ml_report builds a self-contained HTML document of a project
-- (kinds model, cleaning, drift, jobs) as the caller, stored as the next
-- version of its kind with what it was built from; ml_publish_report makes
-- it readable by consumers through ml_published_reports. The HTML is not
-- printed: checks on it are (test/report_render.sh parses and renders it).
CREATE TABLE rp_houses AS
SELECT g AS id, (g % 7)::float8 AS a, (g % 5)::float8 AS b,
       (ARRAY['x', 'y', 'z'])[g % 3 + 1] AS c,
       1 + 2 * (g % 7) - 3 * (g % 5) + ((g * 37) % 11) / 10.0 AS y
FROM generate_series(1, 300) g;
CREATE TABLE rp_flowers AS
SELECT g AS id, (g % 13)::float8 AS a, (g % 4)::float8 AS b,
       CASE WHEN (g % 13) + (g * 7) % 5 > 8 THEN 'big' WHEN g % 3 = 0 THEN 'mid' ELSE 'small' END AS kind
FROM generate_series(1, 300) g;
CREATE TABLE rp_dirty AS
SELECT g AS id, CASE WHEN g % 9 = 0 THEN NULL ELSE (g % 40)::float8 + CASE WHEN g % 97 = 0 THEN 900 ELSE 0 END END AS a,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue'])[g % 3 + 1] END AS color,
       (g % 7)::float8 AS y
FROM generate_series(1, 400) g;
GRANT SELECT ON rp_houses, rp_flowers, rp_dirty TO ml_analyst, ml_engineer;
-- report checks without the document itself
CREATE FUNCTION rp_check(id bigint) RETURNS TABLE (kind text, version int, doctype boolean,
    charts int, inline_svg int, scripts int, title text)
LANGUAGE sql AS $$
    SELECT r.kind, r.version, r.html LIKE '<!DOCTYPE html>%',
           (length(r.html) - length(replace(r.html, 'data:image/svg+xml;base64,', ''))) / 26,
           (length(r.html) - length(replace(r.html, '<svg', ''))) / 4,
           (length(r.html) - length(replace(lower(r.html), '<script', ''))) / 7,
           r.title
    FROM mlops.reports r WHERE r.id = $1
$$;

SET ROLE regress_alice;
SELECT ml_create_project('rp_houses', 'rp_houses', 'y') > 0 AS created;
SELECT version FROM ml_train('rp_houses', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_create_project('rp_flowers', 'rp_flowers', 'kind', 'classification') > 0 AS created;
SELECT version FROM ml_train('rp_flowers', 'logistic', options => '{"exclude": ["id"]}');

-- A model report of a regression: metrics, residual plot, importance.
SELECT ml_report('rp_houses') AS houses_1 \gset
SELECT * FROM rp_check(:houses_1);
SELECT version, model_version, built_from->'rows_sampled' AS sampled, built_from->'relation' AS relation,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(content) k) AS content_keys,
       content->'residuals'->'points' AS points,
       round((content->'metrics_sample'->>'rmse')::numeric, 2) < 1 AS rmse_small,
       html_bytes > 1000 AS has_html, published
FROM ml_reports WHERE id = :houses_1;
-- The next one is version 2; options are kept in built_from.
SELECT ml_report('rp_houses', 'model', '{"sample_rows": 50, "seed": 7, "inline_svg": true}') AS houses_2 \gset
SELECT * FROM rp_check(:houses_2);
SELECT version, built_from->'rows_sampled' AS sampled, built_from->'options' AS options
FROM ml_reports WHERE id = :houses_2;

-- A classifier: confusion matrix, calibration, importance.
SELECT ml_report('rp_flowers', options => '{"calibration_bins": 5, "title": "Flowers <b>&amp;</b>"}') AS flowers_1 \gset
SELECT * FROM rp_check(:flowers_1);
SELECT jsonb_array_length(content->'confusion'->'labels') AS classes,
       (SELECT sum(x::int) FROM jsonb_array_elements(content->'confusion'->'counts') r,
                                jsonb_array_elements_text(r) x) AS confusion_total,
       jsonb_array_length(content->'calibration') <= 5 AS bins,
       content ? 'importance' AS importance
FROM ml_reports WHERE id = :flowers_1;
-- the title is text, escaped in the document
SELECT position('Flowers &lt;b&gt;&amp;amp;&lt;/b&gt;' IN html) > 0 AS escaped,
       position('<b>&amp;</b>' IN html) = 0 AS no_markup
FROM mlops.reports WHERE id = :flowers_1;
-- a version asked for; permutation importance measured on the sample
SELECT ml_report('rp_flowers', 'model', '{"version": 1, "permutation_importance": true, "sample_rows": 100}') AS flowers_2 \gset
SELECT version, content->>'importance_source' LIKE 'permutation importance on the sample%' AS permuted
FROM ml_reports WHERE id = :flowers_2;

-- Errors: every one clear, nothing stored.
SELECT count(*) AS reports_before FROM mlops.reports \gset
SELECT regress_try($$SELECT ml_report('rp_houses', 'summary')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '{"versoin": 1}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '{"version": 9}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '{"version": 0}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '{"sample_rows": 5}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '{"sample_rows": "many"}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '{"inline_svg": 3}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '{"title": ""}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '[1, 2]')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'model', '"x"')$$);
SELECT regress_try($$SELECT ml_report(NULL)$$);
SELECT regress_try($$SELECT ml_report('rp_houses', NULL)$$);
SELECT regress_try($$SELECT ml_report('no_such_project')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'cleaning')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'cleaning', '{"recipe": 999999}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'drift')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'drift', '{"psi_threshold": -1}')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'jobs')$$);
SELECT regress_try($$SELECT ml_report('rp_houses', 'jobs', '{"days": 0}')$$);
SELECT count(*) - :reports_before AS stored_by_errors FROM mlops.reports;
SELECT ml_report('rp_houses', 'model', NULL) > 0 AS null_options_are_none;

-- A project without versions has nothing to report on.
SELECT ml_create_project('rp_empty', 'rp_houses', 'y') > 0 AS created;
SELECT regress_try($$SELECT ml_report('rp_empty')$$);

-- Cleaning: the recipe's steps and counts, histograms before and after.
SELECT ml_create_project('rp "dirty" <p>', 'rp_dirty', 'y') > 0 AS created;
SELECT count(*) AS columns FROM ml_clean('rp_dirty', into_table => 'rp_dirty_clean');
SELECT ml_report('rp "dirty" <p>', 'cleaning') AS dirty_1 \gset
SELECT * FROM rp_check(:dirty_1);
SELECT built_from->'recipe_id' = to_jsonb(recipe_id) AS recipe_kept, (built_from->>'profiles')::int > 0 AS profiles,
       built_from->'histograms' AS histograms, content->'steps' AS steps,
       content->'columns'->'a'->'missing_before' AS a_missing_before,
       content->'columns'->'a'->'missing_after' AS a_missing_after,
       jsonb_array_length(content->'histograms'->'a'->'before') AS a_bins,
       content->'histograms'->'color'->'levels' AS color_levels
FROM ml_reports WHERE id = :dirty_1;
SELECT position('rp &quot;dirty&quot; &lt;p&gt;' IN html) > 0 OR position('rp "dirty" &lt;p&gt;' IN html) > 0 AS name_escaped
FROM mlops.reports WHERE id = :dirty_1;
SELECT ml_report('rp "dirty" <p>', 'cleaning', '{"columns": 1}') AS dirty_2 \gset
SELECT version, built_from->'histograms' AS histograms FROM ml_reports WHERE id = :dirty_2;
-- Values closer together than a tick step can move a double near them
-- (1.7e9 and the next double up): the axes still end (they once looped
-- until the server ran out of memory).
CREATE TABLE rp_narrow AS
SELECT g AS id, 1.7e9::float8 + (g % 2) * 2.384185791015625e-07 AS a, (g % 3)::float8 + 0.5 AS b,
       (g % 7)::float8 AS y
FROM generate_series(1, 200) g;
UPDATE rp_narrow SET a = NULL WHERE id % 10 = 0;
SELECT ml_create_project('rp_narrow', 'rp_narrow', 'y') > 0 AS created;
SELECT count(*) > 0 AS cleaned FROM ml_clean('rp_narrow', into_table => 'rp_narrow_clean');
SELECT ml_report('rp_narrow', 'cleaning') AS narrow_1 \gset
SELECT kind, version, doctype, scripts FROM rp_check(:narrow_1);

-- Jobs: only engineers (who own jobs) read runs.
SELECT regress_try($$SELECT ml_report('rp_houses', 'jobs')$$);
SET ROLE regress_eve;
SELECT ml_report('rp_houses', 'jobs', '{"days": 7}') AS jobs_1 \gset
SELECT * FROM rp_check(:jobs_1);
SELECT content->'runs' AS runs, content->'status_counts'->'failed' AS failed, built_from->'job_runs' AS run_ids
FROM ml_reports WHERE id = :jobs_1;

-- Who may build, see and publish.
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_report('rp_houses')$$);
SELECT count(*) AS bob_sees FROM ml_reports;
SELECT regress_try($format$SELECT ml_publish_report($format$ || :houses_1 || ')');
SET ROLE regress_carl;
SELECT regress_try($$SELECT ml_report('rp_houses')$$);
SELECT regress_try($$SELECT count(*) FROM ml_reports$$);
SELECT count(*) AS carl_sees_published FROM ml_published_reports;
SET ROLE regress_nobody;
SELECT regress_try($$SELECT ml_report('rp_houses')$$);
SELECT regress_try($$SELECT count(*) FROM ml_published_reports$$);
SET ROLE regress_alice;
SELECT regress_try($format$SELECT ml_publish_report($format$ || :houses_1 || ')');
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_publish_report(NULL)$$);
SELECT regress_try($$SELECT ml_publish_report(-1)$$);
SELECT ml_publish_report(:houses_1);
SELECT project, kind, version, title, published_by, published_at IS NOT NULL AS dated,
       position('<!DOCTYPE html>' IN html) = 1 AS html
FROM ml_published_reports ORDER BY report;
-- a consumer reads the published reports of a project exposed to it
SET ROLE regress_carl;
SELECT count(*) AS carl_before_exposure FROM ml_published_reports;
SET ROLE regress_eve;
SELECT ml_expose('rp_houses', 'regress_carl') IS NOT NULL AS exposed;
SET ROLE regress_carl;
SELECT project, kind, version, title FROM ml_published_reports;
SET ROLE regress_eve;
SELECT ml_publish_report(:houses_1, false);
SET ROLE regress_carl;
SELECT count(*) AS carl_after_withdrawal FROM ml_published_reports;
SET ROLE regress_eve;
SELECT ml_revoke_exposure('rp_houses', 'regress_carl') IS NOT NULL AS revoked;
SELECT published, published_at, published_by FROM ml_reports WHERE id = :houses_1;
-- a hostile function in a query over the view sees only what the filter passes
SET ROLE regress_alice;
SELECT ml_report('rp_flowers') AS flowers_3 \gset
RESET ROLE;
CREATE FUNCTION rp_leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN RAISE NOTICE 'leaked: %', $1; RETURN true; END $$;
GRANT EXECUTE ON FUNCTION rp_leak(text) TO regress_carl;
SET ROLE regress_carl;
SELECT count(*) AS carl_leak FROM ml_published_reports WHERE rp_leak(title);
RESET ROLE;

-- The audit trail.
SELECT actor, action, object_type, object_name, details->>'kind' AS kind, details->>'version' AS version,
       details ? 'report' AS has_report
FROM mlops.audit_log WHERE object_type = 'report' ORDER BY id;

-- A report job: the command holds the report's kind, options and publish.
SET ROLE regress_eve;
SELECT ml_schedule('rp_houses', 'report', '@daily',
                   '{"kind": "model", "options": {"sample_rows": 100}, "publish": true, "name": "rp nightly"}') AS rjob \gset
SELECT name, kind, command FROM ml_jobs WHERE id = :rjob;
SELECT ml_alter_job(:rjob, '{"kind": "cleaning", "publish": false}');
SELECT command FROM ml_jobs WHERE id = :rjob;
SELECT regress_try($$SELECT ml_schedule('rp_houses', 'report', '@daily', '{"kind": "summary"}')$$);
SELECT regress_try($$SELECT ml_schedule('rp_houses', 'report', '@daily', '{"publish": "yes"}')$$);
SELECT regress_try($$SELECT ml_schedule('rp_houses', 'report', '@daily', '{"options": [1]}')$$);
SELECT regress_try($$SELECT ml_schedule('rp_houses', 'report', '@daily', '{"relation": "rp_houses"}')$$);
SELECT ml_unschedule(:rjob);
RESET ROLE;

-- Model and cleaning reports show the rows they were built from: a member
-- of the project who may not read its relation does not see them (the
-- column profiles they copy are hidden from him too); granted SELECT, he does.
SET ROLE regress_alice;
CREATE TABLE rp_secret AS
SELECT g AS id, CASE WHEN g % 9 = 0 THEN NULL ELSE (g % 40)::float8 END AS a, (g % 7)::float8 AS y
FROM generate_series(1, 200) g;
SELECT ml_create_project('rp_secret', 'rp_secret', 'y') > 0 AS created;
SELECT version FROM ml_train('rp_secret', 'linear', options => '{"exclude": ["id"]}');
SELECT count(*) > 0 AS cleaned FROM ml_clean('rp_secret', into_table => 'rp_secret_clean');
SELECT ml_report('rp_secret') > 0 AS model_report, ml_report('rp_secret', 'cleaning') > 0 AS cleaning_report;
SELECT ml_add_member('rp_secret', 'regress_bob');
SET ROLE regress_bob;
SELECT count(*) AS bob_sees_secret_reports FROM ml_reports WHERE project = 'rp_secret';
SELECT count(*) AS bob_sees_secret_profiles FROM mlops.column_profiles WHERE relation_name = 'rp_secret';
SET ROLE regress_alice;
GRANT SELECT ON rp_secret TO regress_bob;
SET ROLE regress_bob;
SELECT kind FROM ml_reports WHERE project = 'rp_secret' ORDER BY kind;
SET ROLE regress_alice;
SELECT ml_drop_project('rp_secret');
DROP TABLE rp_secret, rp_secret_clean;
RESET ROLE;
