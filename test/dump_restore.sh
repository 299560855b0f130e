#!/usr/bin/env bash
# pg_dump -> pg_restore into a new database: every catalog row comes back,
# and the restored catalog keeps working. Prints TAP; run with prove inside
# a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
src=mlops_dump_src
dst=mlops_dump_dst
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

dropdb --if-exists "$src" 2>/dev/null; dropdb --if-exists "$dst" 2>/dev/null
createdb "$src"
q -d "$src" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dump_ann') THEN
    CREATE ROLE dump_ann IN ROLE ml_analyst;
    CREATE ROLE dump_eng IN ROLE ml_engineer;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dump_cons') THEN
    CREATE ROLE dump_cons IN ROLE ml_consumer;
  END IF;
END $$;
CREATE TABLE sales (amount numeric, region text, "Odd ""name""" text);
GRANT SELECT ON sales TO ml_analyst;
SET ROLE dump_ann;
SELECT ml_create_project('forecast', 'sales', 'amount', description => 'weekly');
SELECT ml_create_project('région « x »', 'sales', 'Odd "name"', 'classification');
SELECT ml_add_member('forecast', 'dump_eng');
RESET ROLE;
INSERT INTO mlops.recipes (name, project_id, kind, steps, created_by)
SELECT 'r1', id, 'impute', '[{"column": "amount", "fill": 1.5}]', 'dump_ann'
FROM mlops.projects WHERE name = 'forecast';
INSERT INTO mlops.column_profiles (recipe_id, project_id, relation_schema, relation_name, relation_oid,
                                   column_name, phase, kind, type, rows, missing, distinct_values,
                                   outliers, min, max, mean, histogram)
SELECT r.id, r.project_id, 'public', 'sales', 'sales'::regclass, 'amount', ph, 'numeric', 'numeric',
       10, 2, 7, 1, 0.5, 9.5, 4.25, '{"edges": [0.5, 9.5], "counts": [8], "below": 0, "above": 0, "non_finite": 0}'
FROM mlops.recipes r, unnest(ARRAY['before', 'after']) ph WHERE r.name = 'r1';
INSERT INTO mlops.models (project_id, version, algorithm, payload, recipe_id, created_by)
SELECT p.id, v, 'linear', '\x4d4c4f5001'::bytea, r.id, 'dump_ann'
FROM mlops.projects p, mlops.recipes r, generate_series(1, 2) v WHERE p.name = 'forecast';
SET ROLE dump_ann;
SELECT ml_mark_ready('forecast', 1);
SELECT ml_mark_ready('forecast', 2);
SET ROLE dump_eng;
SELECT ml_deploy('forecast', 1, 'go');
SELECT ml_deploy('forecast', 2);
SELECT ml_expose('forecast', 'dump_cons', '{"rows_per_day": 100}');
SELECT length(ml_create_api_key('dump_eng', 'restored keys keep working'));
RESET ROLE;
INSERT INTO mlops.api_usage (project_id, consumer, consumer_oid, day, calls, rows, errors, latency_histogram, latency_p50_ms)
SELECT id, 'dump_cons', 'dump_cons'::regrole, '2026-12-01', 3, 30, 1, array_fill(1::bigint, ARRAY[96]), 0.5
FROM mlops.projects WHERE name = 'forecast';
INSERT INTO mlops.jobs (project_id, name, kind, schedule, owner)
SELECT id, 'nightly', 'train', '0 3 * * *', 'dump_eng' FROM mlops.projects WHERE name = 'forecast';
INSERT INTO mlops.job_runs (job_id, status, message) SELECT id, 'succeeded', 'ok' FROM mlops.jobs;
INSERT INTO mlops.workflows (project_id, name, steps, created_by)
SELECT id, 'retrain', '[{"kind": "train"}, {"kind": "gate", "metric": "rmse", "margin": 0}]', 'dump_eng'
FROM mlops.projects WHERE name = 'forecast';
INSERT INTO mlops.job_run_steps (run_id, step_no, workflow_id, kind, status, details)
SELECT r.id, 1, w.id, 'train', 'succeeded', '{"version": 1}' FROM mlops.job_runs r, mlops.workflows w;
INSERT INTO mlops.reports (project_id, name, kind, version, content, created_by)
SELECT id, 'eval', 'evaluation', 1, '{"rmse": 1.25}', 'dump_ann' FROM mlops.projects WHERE name = 'forecast';
INSERT INTO mlops.trials (project_id, model_id, version, trial, rung, algorithm, hyperparameters,
                          train_rows, fraction, metric, fold_scores, score, fit_seconds, status, error, chosen)
SELECT p.id, m.id, 1, t, 1, 'linear', '{"alpha": 0}', 10, 1, 'rmse',
       CASE WHEN t = 1 THEN '{1.5, 2.5}'::float8[] END, CASE WHEN t = 1 THEN 2 END, 0.01,
       CASE WHEN t = 1 THEN 'completed' ELSE 'failed' END, CASE WHEN t = 2 THEN '22023: no' END, t = 1
FROM mlops.projects p JOIN mlops.models m ON m.project_id = p.id AND m.version = 1,
     generate_series(1, 2) t WHERE p.name = 'forecast';
-- drift (0.3.0): a scoring log row, a policy, an alert
INSERT INTO mlops.scoring_log (project_id, model_id, version, relation, rows, role, features, prediction)
SELECT p.id, m.id, 1, 'public.sales', 10, 'dump_ann', '{"region": {"counts": [4, 6], "missing": 0}}',
       '{"counts": [10], "missing": 0}'
FROM mlops.projects p JOIN mlops.models m ON m.project_id = p.id AND m.version = 1 WHERE p.name = 'forecast';
INSERT INTO mlops.drift_policies (project_id, options, updated_by)
SELECT id, '{"psi": 0.3}', 'dump_eng' FROM mlops.projects WHERE name = 'forecast';
INSERT INTO mlops.drift_alerts (project_id, model_id, version, feature, psi, missing_rate_train,
                                missing_rate_scored, missing_change, rows, window_start, window_end,
                                psi_threshold, missing_threshold, raised_by, retrain_note)
SELECT p.id, m.id, 1, 'region', 0.5, 0, 0.25, 0.25, 10, '2026-01-01', '2026-01-02', 0.2, 0.1, 'dump_ann',
       'retrain not started: no job'
FROM mlops.projects p JOIN mlops.models m ON m.project_id = p.id AND m.version = 1 WHERE p.name = 'forecast';
SQL

tables=$(q -d "$src" -c "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
                         WHERE relnamespace = 'mlops'::regnamespace AND relkind = 'r'")
digest() {  # rows and an md5 of every row of one catalog table
  q -d "$1" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-')
                FROM mlops.$2 t"
}
sequences() {
  q -d "$1" -c "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename)
                FROM pg_sequences WHERE schemaname = 'mlops'"
}

pg_dump -Fc -d "$src" -f "$dump"
createdb "$dst"
pg_restore --exit-on-error -d "$dst" "$dump"

n=0
set -- $tables
echo "1..$(($# + 3))"
for t in "$@"; do
  n=$((n + 1))
  before=$(digest "$src" "$t"); after=$(digest "$dst" "$t")
  if [ "$before" = "$after" ] && [ "${before%% *}" -gt 0 ]; then
    echo "ok $n - mlops.$t: ${before%% *} rows restored identically"
  else
    echo "not ok $n - mlops.$t: before '$before', after '$after'"
  fi
done
n=$((n + 1))
if [ "$(sequences "$src")" = "$(sequences "$dst")" ]; then
  echo "ok $n - catalog sequences restored"
else
  echo "not ok $n - sequences: $(sequences "$src") vs $(sequences "$dst")"
fi
n=$((n + 1))
deployed=$(q -d "$dst" -c "SELECT deployed_version FROM ml_projects WHERE name = 'forecast'")
[ "$deployed" = 2 ] && echo "ok $n - ml_projects reads the restored catalog" \
                    || echo "not ok $n - deployed_version after restore: '$deployed'"
n=$((n + 1))
if q -d "$dst" -c "SET ROLE dump_ann; SELECT ml_create_project('after restore', 'sales', 'amount')" >/dev/null 2>&1 &&
   q -d "$dst" -c "SET ROLE dump_eng; SELECT ml_rollback('forecast')" >/dev/null 2>&1; then
  echo "ok $n - the restored catalog keeps working (new ids, rollback)"
else
  echo "not ok $n - API calls fail after restore"
fi
dropdb "$src"; dropdb "$dst"
