-- Drift: every trained version records a training profile; every ml_score
-- batch logs its rows on the profile's bins; ml_drift compares the window's
-- rows with the profile (PSI, missing rates); thresholds raise alerts (one
-- per feature and version within the window) and can start a retrain job.
-- Deterministic: every table is a formula of generate_series.
SET pg_mlops.progress_interval = 0;
SHOW pg_mlops.drift_window;
SHOW pg_mlops.drift_psi_threshold;
SHOW pg_mlops.drift_missing_threshold;
SHOW pg_mlops.drift_log_retention;

-- x1 uniform on 0 .. 9.9, x2 with 5 % missing, color of three levels
CREATE TABLE dr_train AS
SELECT g AS id, (g % 100) / 10.0 AS x1,
       CASE WHEN g % 20 = 0 THEN NULL ELSE (g * 37 % 101) / 10.0 END AS x2,
       (ARRAY['red', 'green', 'blue'])[g % 3 + 1] AS color,
       2 * ((g % 100) / 10.0) + (g * 37 % 101) / 20.0 + (g % 3) AS y
FROM generate_series(1, 5000) g;
-- the same distribution, other rows
CREATE TABLE dr_same AS
SELECT g AS id, (g % 100) / 10.0 AS x1,
       CASE WHEN g % 20 = 0 THEN NULL ELSE (g * 37 % 101) / 10.0 END AS x2,
       (ARRAY['red', 'green', 'blue'])[g % 3 + 1] AS color
FROM generate_series(5001, 7000) g;
-- x1's mean shifted by 5, x2 missing in 40 % of rows, color with a new level
CREATE TABLE dr_shift AS
SELECT g AS id, 5 + (g % 100) / 10.0 AS x1,
       CASE WHEN g % 5 < 2 THEN NULL ELSE (g * 37 % 101) / 10.0 END AS x2,
       (ARRAY['red', 'green', 'purple'])[g % 3 + 1] AS color
FROM generate_series(7001, 13000) g;
-- only x2 shifted (its missing rate), the rest as trained
CREATE TABLE dr_missing AS
SELECT g AS id, (g % 100) / 10.0 AS x1,
       CASE WHEN g % 2 = 0 THEN NULL ELSE (g * 37 % 101) / 10.0 END AS x2,
       (ARRAY['red', 'green', 'blue'])[g % 3 + 1] AS color
FROM generate_series(1, 3000) g;
GRANT SELECT ON dr_train, dr_same, dr_shift, dr_missing TO ml_analyst, ml_engineer;

SET ROLE regress_alice;
SELECT ml_create_project('dr', 'dr_train', 'y') > 0 AS created;
SELECT version FROM ml_train('dr', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('dr', 1);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('dr', 1);

-- the profile: one entry per input, numeric deciles, the top levels and "other"
SELECT f->>'name' AS feature, f->>'kind' AS kind, jsonb_array_length(f->'shares') AS bins,
       round((f->>'missing_rate')::numeric, 3) AS missing_rate,
       f->'levels' AS levels
FROM mlops.models m, jsonb_array_elements(m.profile->'features') f
WHERE m.project_id = (SELECT id FROM mlops.projects WHERE name = 'dr');
SELECT profile->'prediction'->>'kind' AS prediction_kind,
       jsonb_array_length(profile->'prediction'->'shares') AS prediction_bins,
       (profile->>'rows')::int AS rows
FROM mlops.models WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr');

-- nothing scored yet: a row per feature and the prediction, no shares
SELECT project, version, feature, psi, round(missing_rate_train::numeric, 3) AS missing_train,
       missing_rate_scored, rows_scored, drifted,
       CASE WHEN feature = '(prediction)' THEN cardinality(bin_labels)::text ELSE bin_labels::text END AS bins,
       scored_share
FROM ml_drift WHERE project = 'dr' ORDER BY feature;

-- a batch of the training distribution: logged, no drift
SET ROLE regress_alice;
SELECT ml_score('dr', 'dr_same', 'dr_out_same');
SELECT version, relation, rows, role, source,
       features->'x1'->'counts' AS x1_counts, features->'color' AS color,
       jsonb_array_length(prediction->'counts') AS prediction_bins
FROM mlops.scoring_log WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr');
SELECT feature, round(psi::numeric, 3) AS psi, round(missing_rate_scored::numeric, 3) AS missing_scored,
       rows_scored, drifted, window_end - window_start AS window
FROM ml_drift WHERE project = 'dr' ORDER BY feature;
SELECT count(*) AS alerts FROM ml_drift_alerts WHERE project = 'dr';

-- a shifted batch: x1, x2 (missing), color (a new level) and the prediction drift
SELECT ml_score('dr', 'dr_shift', 'dr_out_shift');
SELECT feature, round(psi::numeric, 2) AS psi, round(missing_rate_train::numeric, 3) AS missing_train,
       round(missing_rate_scored::numeric, 3) AS missing_scored, rows_scored, drifted
FROM ml_drift WHERE project = 'dr' ORDER BY feature;
SELECT bin_labels, train_share, array(SELECT round(s::numeric, 3) FROM unnest(scored_share) s) AS scored
FROM ml_drift WHERE project = 'dr' AND feature = 'color';
SELECT project, version, feature, round(psi::numeric, 2) AS psi, round(missing_change::numeric, 3) AS missing_change,
       rows, raised_by, retrain_job, retrain_note
FROM ml_drift_alerts WHERE project = 'dr' ORDER BY feature;
-- checked again within the window: the same drift, no second alert
SELECT feature, drifted, alert IS NOT NULL AS new_alert FROM ml_check_drift('dr') ORDER BY feature;
SELECT count(*) AS alerts FROM ml_drift_alerts WHERE project = 'dr';
-- the audit trail has the alert
SELECT action, object_type, details->>'features' AS features FROM ml_audit
WHERE action = 'drift_alert' AND project_id = (SELECT id FROM mlops.projects WHERE name = 'dr') ORDER BY at;

-- policies: every option checked
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"psy": 1}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '[1, 2]')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', NULL)$$);
SELECT regress_try($$SELECT ml_set_drift_policy(NULL, '{}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"psi": 0}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"psi": "high"}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"psi": 1e400}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"missing_rate": 1.5}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"min_rows": 1.5}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"min_rows": -1}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"retrain_job": 7}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"retrain_job": "no such job"}')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('no such project', '{}')$$);
SELECT ml_set_drift_policy('dr', '{"psi": 50, "missing_rate": 0.5}');
-- with those thresholds only x2's missing rate is left... and not over 0.5
SELECT feature, drifted FROM ml_drift WHERE project = 'dr' ORDER BY feature;
SELECT ml_set_drift_policy('dr', '{"psi": null, "min_rows": 1000000}');
SELECT bool_or(drifted) AS any_drifted FROM ml_drift WHERE project = 'dr';
SELECT ml_set_drift_policy('dr', '{"missing_rate": null, "min_rows": null}');
SELECT options FROM mlops.drift_policies;

-- access: another analyst sees neither the drift nor the alerts, nor the project
RESET ROLE;
SET ROLE regress_bob;
SELECT count(*) AS drift_rows FROM ml_drift;
SELECT count(*) AS alerts FROM ml_drift_alerts;
SELECT count(*) AS log_rows FROM mlops.scoring_log;
SELECT regress_try($$SELECT * FROM ml_check_drift('dr')$$);
SELECT regress_try($$SELECT ml_set_drift_policy('dr', '{"psi": 1}')$$);
RESET ROLE;
SET ROLE regress_nobody;
SELECT regress_try($$SELECT count(*) FROM ml_drift$$);
SELECT regress_try($$SELECT count(*) FROM ml_drift_alerts$$);
SELECT regress_try($$SELECT * FROM ml_check_drift('dr')$$);
RESET ROLE;
-- an engineer sees every project's drift
SET ROLE regress_eve;
SELECT count(*) AS drift_rows FROM ml_drift WHERE project = 'dr';
RESET ROLE;

-- the retrain job: a second project, a train job and a score job of eve's
SET ROLE regress_alice;
SELECT ml_create_project('dr_re', 'dr_train', 'y') > 0 AS created;
SELECT version FROM ml_train('dr_re', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('dr_re', 1);
RESET ROLE;
SET client_min_messages = error;            -- the launcher does not serve this database
SET ROLE regress_eve;
SELECT ml_deploy('dr_re', 1);
SELECT ml_schedule('dr_re', 'train', '@daily', '{"name": "dr_re retrain"}') > 0 AS scheduled;
SELECT ml_schedule('dr_re', 'score', '@daily',
                   '{"name": "dr_re score", "relation": "dr_same", "into_table": "dr_re_scored"}') > 0 AS scheduled;
SELECT ml_schedule('dr', 'train', '@daily', '{"name": "dr retrain"}') > 0 AS scheduled;
-- a job of another project, then the score job (alice may not run it)
SELECT regress_try($$SELECT ml_set_drift_policy('dr_re', '{"retrain_job": "dr retrain"}')$$);
SELECT ml_set_drift_policy('dr_re', '{"retrain_job": "dr_re score"}');
RESET ROLE;
-- alice may not name eve's score job, nor see that it exists
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_set_drift_policy('dr_re', '{"retrain_job": "dr_re score"}')$$);
-- alice's shifted batch raises the alerts; starting the score job as alice is refused
SELECT ml_score('dr_re', 'dr_missing', 'dr_re_out1');
SELECT feature, retrain_job, retrain_run IS NULL AS no_run, regexp_replace(retrain_note, '[0-9]+', 'N') AS note
FROM ml_drift_alerts WHERE project = 'dr_re' ORDER BY feature;
RESET ROLE;
-- the train job, which the project's owner may run: queued by the alert
DELETE FROM mlops.drift_alerts WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re');
SET ROLE regress_alice;
SELECT ml_set_drift_policy('dr_re', '{"retrain_job": "dr_re retrain"}');
SELECT feature, alert IS NOT NULL AS new_alert FROM ml_check_drift('dr_re') WHERE drifted ORDER BY feature;
SELECT feature, retrain_job, retrain_run IS NOT NULL AS queued, retrain_note ~ '^run [0-9]+ queued$' AS noted
FROM ml_drift_alerts WHERE project = 'dr_re' ORDER BY feature;
RESET ROLE;
SELECT r.trigger, r.status, r.requested_by FROM mlops.job_runs r JOIN mlops.jobs j ON j.id = r.job_id
WHERE j.name = 'dr_re retrain';
RESET client_min_messages;

-- a version without a profile (trained before 0.3.0): said clearly, scoring still logs
UPDATE mlops.models SET profile = NULL
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re');
SET ROLE regress_alice;
SELECT regress_try($$SELECT * FROM ml_check_drift('dr_re')$$);
SELECT count(*) AS drift_rows FROM ml_drift WHERE project = 'dr_re';
SELECT ml_score('dr_re', 'dr_same', 'dr_re_out2');
SELECT rows, features IS NULL AS no_features FROM mlops.scoring_log
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re') ORDER BY id DESC LIMIT 1;
RESET ROLE;

-- stored data is untrusted: a malformed profile is a clear error, never a crash
CREATE TABLE dr_profiles (n int, p jsonb);
INSERT INTO dr_profiles VALUES
  (1, '[]'),
  (2, '{"format": 2, "rows": 1, "features": []}'),
  (3, '{"format": 1, "rows": 1}'),
  (4, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "numeric", "edges": [3, 1], "shares": [0.5, 0.25, 0.25], "missing_rate": 0}]}'),
  (5, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "numeric", "edges": [1], "shares": [1], "missing_rate": 0}]}'),
  (6, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "numeric", "edges": [1], "shares": [0.5, 0.7], "missing_rate": 0}]}'),
  (7, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "numeric", "edges": ["a"], "shares": [0.5, 0.5], "missing_rate": 0}]}'),
  (8, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "text", "shares": [1], "missing_rate": 0}]}'),
  (9, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "numeric", "edges": [], "shares": [1], "missing_rate": 2}]}'),
  (10, '{"format": 1, "rows": 1, "features": [{"name": "nope", "kind": "numeric", "edges": [], "shares": [1], "missing_rate": 0}]}'),
  (11, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "category", "levels": [1], "shares": [1, 0], "missing_rate": 0}]}'),
  (12, '{"format": 1, "rows": 1, "features": [{"name": "color", "kind": "numeric", "edges": [], "shares": [1], "missing_rate": 0}]}'),
  (13, '{"format": 1, "rows": 1, "features": [], "prediction": {"name": "p", "kind": "class", "levels": ["a"], "shares": [1], "missing_rate": 0}}'),
  (14, '{"format": 1, "rows": 1, "features": [{"name": "x1", "kind": "numeric", "edges": [], "shares": [1], "missing_rate": 0}, {"name": "x1", "kind": "numeric", "edges": [], "shares": [1], "missing_rate": 0}]}'),
  (15, '{"format": 1, "rows": 1, "features": [5]}');
CREATE FUNCTION dr_try_profile(k int) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mlops.models SET profile = (SELECT p FROM dr_profiles WHERE n = k)
    WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re');
    RETURN NEXT k || ' check: ' || regress_try($q$SELECT * FROM ml_check_drift('dr_re')$q$);
    RETURN NEXT k || ' score: ' || regress_try(format($q$SELECT ml_score('dr_re', 'dr_same', %L)$q$, 'dr_re_bad' || k));
END $$;
SELECT regexp_replace(dr_try_profile(n), 'row [0-9]+', 'row N') FROM dr_profiles ORDER BY n;
-- a malformed scoring log row, too
UPDATE mlops.models m SET profile = o.profile FROM mlops.models o
WHERE m.project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re')
  AND o.project_id = (SELECT id FROM mlops.projects WHERE name = 'dr');
UPDATE mlops.scoring_log SET features = '{"x1": {"counts": [1, 2], "missing": 0}}'
WHERE id = (SELECT max(id) FROM mlops.scoring_log WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re'));
SELECT regexp_replace(regress_try($$SELECT * FROM ml_check_drift('dr_re')$$), 'row [0-9]+', 'row N');
UPDATE mlops.scoring_log SET features = '{"x1": {"counts": [1, 2, 3, 4, 5, 6, 7, 8, 9, -10], "missing": 0}}'
WHERE id = (SELECT max(id) FROM mlops.scoring_log WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re'));
SELECT regexp_replace(regress_try($$SELECT * FROM ml_check_drift('dr_re')$$), 'row [0-9]+', 'row N');
UPDATE mlops.scoring_log SET features = '[]'
WHERE id = (SELECT max(id) FROM mlops.scoring_log WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re'));
SELECT regexp_replace(regress_try($$SELECT * FROM ml_check_drift('dr_re')$$), 'row [0-9]+', 'row N');
-- a malformed stored policy
UPDATE mlops.drift_policies SET options = '{"psi": -1}'
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re');
SELECT regexp_replace(regress_try($$SELECT ml_set_drift_policy('dr_re', '{}')$$), 'project [0-9]+', 'project N');
DELETE FROM mlops.scoring_log
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re');
DELETE FROM mlops.drift_policies
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'dr_re');

-- a project with no deployed version
SET ROLE regress_alice;
SELECT ml_create_project('dr_none', 'dr_train', 'y') > 0 AS created;
SELECT regress_try($$SELECT * FROM ml_check_drift('dr_none')$$);
-- a classifier's prediction row: class shares
SELECT ml_create_project('dr_cls', 'dr_train', 'color', 'classification') > 0 AS created;
SELECT version FROM ml_train('dr_cls', 'logistic', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('dr_cls', 1);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('dr_cls', 1);
SELECT feature, bin_labels, array(SELECT round(s::numeric, 2) FROM unnest(train_share) s) AS train
FROM ml_drift WHERE project = 'dr_cls' AND feature = '(prediction)';
RESET ROLE;

-- ml_predict: with pg_mlops.drift_sample_rows = 7, one row in seven is counted
-- in backend memory and written at commit (read-only and aborted
-- transactions write nothing)
SHOW pg_mlops.drift_sample_rows;
SET pg_mlops.drift_sample_rows = 7;
SET ROLE regress_alice;
SELECT count(ml_predict_label('dr_cls', t)) FROM dr_train t;
SELECT source, rows, role, relation FROM mlops.scoring_log WHERE source = 'ml_predict';
BEGIN READ ONLY;
SELECT count(ml_predict_label('dr_cls', t)) FROM dr_train t;
COMMIT;
BEGIN;
SELECT count(ml_predict_label('dr_cls', to_jsonb(t))) FROM dr_train t;
ROLLBACK;
SELECT count(ml_predict_label('dr_cls', to_jsonb(t))) FROM dr_train t WHERE id <= 1000;
SELECT source, rows FROM mlops.scoring_log WHERE source = 'ml_predict' ORDER BY id;
SELECT feature, rows_scored, round(psi::numeric, 3) AS psi, drifted
FROM ml_drift WHERE project = 'dr_cls' ORDER BY feature;
RESET ROLE;
RESET pg_mlops.drift_sample_rows;

-- hostile names: a project whose name has quotes and spaces, a job name too
SET ROLE regress_alice;
SELECT ml_create_project('dr "q''" x', 'dr_train', 'y') > 0 AS created;
SELECT version FROM ml_train('dr "q''" x', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('dr "q''" x', 1);
RESET ROLE;
SET client_min_messages = error;
SET ROLE regress_eve;
SELECT ml_deploy('dr "q''" x', 1);
SELECT ml_schedule('dr "q''" x', 'train', '@daily', '{"name": "dr \"q''\"; DROP TABLE dr_train; --"}') > 0 AS scheduled;
SELECT ml_set_drift_policy('dr "q''" x', '{"retrain_job": "dr \"q''\"; DROP TABLE dr_train; --"}');
RESET ROLE;
SET ROLE regress_alice;
SELECT ml_score('dr "q''" x', 'dr_shift', '"dr ""q''"" out"');
SELECT feature, retrain_job, retrain_note ~ '^run [0-9]+ queued$' AS queued
FROM ml_drift_alerts WHERE project = 'dr "q''" x' ORDER BY feature;
SELECT count(*) AS feature_rows FROM ml_check_drift('dr "q''" x');
RESET ROLE;
RESET client_min_messages;
SELECT count(*) AS train_rows FROM dr_train;
