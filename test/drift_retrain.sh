#!/usr/bin/env bash
# Drift to retrain, end to end with the scheduler: a shifted batch scored by
# the project's analyst raises alerts, the policy's train job is started
# through ml_run_now as that analyst, the launcher runs it as the job's
# owner and version 2 is trained; when the scorer may not run the job, the
# alerts say the retrain was not started and why; the alert's NOTIFY carries only its id. Prints TAP; run with prove in
# scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup drt
echo "1..6"
q >/dev/null <<SQL
CREATE TABLE houses_shift AS
SELECT i AS id, 40 + (i % 17)::float8 AS x1, CASE WHEN i % 2 = 0 THEN NULL ELSE (i % 5)::float8 END AS x2,
       0::float8 AS y
FROM generate_series(1, 600) i;
GRANT SELECT ON houses_shift TO ml_analyst, ml_engineer;
-- training needs the analyst's rights on the project: the job's owner has them
GRANT ml_analyst TO $eng;
SQL
as $ana -c "SELECT ml_add_member('homes', '$eng')" >/dev/null
job=$(as $eng -c "SELECT ml_schedule('homes', 'train', '@yearly', '{\"name\": \"homes retrain\", \"algorithm\": \"linear\"}')")
as $ana -c "SELECT ml_set_drift_policy('homes', '{\"retrain_job\": \"homes retrain\"}')" >/dev/null

out=$(mktemp)
( psql -X -q -d "$db" -c "LISTEN ml_drift_alerts" -c "SELECT pg_sleep(4)" >"$out" 2>&1 ) &
sleep 0.5
as $ana -c "SELECT ml_score('homes', 'houses_shift', 'scored_shift')" >/dev/null
check "the shifted batch raised alerts for x1, x2 and the prediction" \
  test "$(q -c "SELECT string_agg(feature, ',' ORDER BY feature) FROM mlops.drift_alerts")" = "(prediction),x1,x2"
run=$(q -c "SELECT DISTINCT retrain_run FROM mlops.drift_alerts")
check "the alerts started one run of the retrain job, requested by the analyst (run $run)" \
  test "$(q -c "SELECT job_id || ' ' || trigger || ' ' || requested_by FROM mlops.job_runs WHERE id = '$run'")" = "$job manual $ana"
check "the launcher ran it as the job's owner: version 2" \
  wait_for "SELECT EXISTS (SELECT 1 FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
                          WHERE p.name = 'homes' AND m.version = 2 AND m.created_by = '$eng'
                            AND m.profile IS NOT NULL)
            AND (SELECT status = 'succeeded' FROM mlops.job_runs WHERE id = $run)" 20
wait
ids=$(q -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM mlops.drift_alerts")
got=$(grep -oE 'payload "[^"]*"' "$out" | sed 's/payload "\(.*\)"/\1/' | sort -n | tr '\n' ' ' | sed 's/ $//')
check "each alert was notified on ml_drift_alerts with its id only ($got)" test "$got" = "$ids"
rm -f "$out"

# a scorer that may not run the job: the project's analyst may run its
# train jobs, not the engineer's score job the policy now names
sjob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"name\": \"homes rescore\", \"relation\": \"houses\", \"into_table\": \"rescored\"}')")
as $eng -c "SELECT ml_set_drift_policy('homes', '{\"retrain_job\": \"homes rescore\"}')" >/dev/null
q -c "DELETE FROM mlops.drift_alerts" >/dev/null
as $ana -c "SELECT ml_score('homes', 'houses_shift', 'scored_shift2')" >/dev/null
note=$(q -c "SELECT DISTINCT retrain_note FROM mlops.drift_alerts")
check "a scorer who may not run the job: alerts say the retrain was not started and why" \
  test "$note" = "retrain not started: permission denied to run job $sjob (SQLSTATE 42501)"
check "and no run of it was queued" \
  test "$(q -c "SELECT count(*) FROM mlops.job_runs WHERE job_id = $sjob")" = 0
