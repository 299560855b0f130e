#!/usr/bin/env bash
# A job runs on its schedule, in its own worker, as the role that owns it:
# the table it writes belongs to that role, every row is stamped with the
# model version and the run; a train job adds a version; NOTIFY tells
# when a run ends. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jsched
echo "1..9"

job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '1 second',
                   '{\"relation\": \"houses\", \"into_table\": \"scored\", \"mode\": \"replace\"}')")
check "a score job due every second is scheduled (job $job)" test -n "$job"
check "it runs on its own within a few seconds" \
  wait_for "SELECT count(*) >= 2 FROM mlops.job_runs WHERE job_id = $job AND status = 'succeeded'" 15
check "the table it writes is owned by the job's owner" \
  test "$(q -c "SELECT tableowner FROM pg_tables WHERE tablename = 'scored'")" = "$eng"
last=$(q -c "SELECT max(id) FROM mlops.job_runs WHERE job_id = $job AND status = 'succeeded'")
got=$(q -c "SELECT count(*) || ' ' || count(DISTINCT run_id) || ' ' || min(model_version) FROM scored")
check "replace: 300 rows, all from one run, model version 1 ($got)" test "${got% *}" = "300 1" -a "${got##* }" = 1
check "rows processed and a step log are recorded" \
  test "$(q -c "SELECT rows_processed = 300 AND jsonb_array_length(log) = 1 AND log->0->>'status' = 'succeeded'
                FROM mlops.job_runs WHERE id = $last")" = t
# a figure, not an assertion: how late scheduled runs start (poll 200 ms here)
echo "# start - due over $(q -c "SELECT count(*) || ' scheduled runs: mean ' ||
        round(avg(extract(epoch FROM started_at - due_at))::numeric, 3) || ' s, max ' ||
        round(max(extract(epoch FROM started_at - due_at))::numeric, 3) || ' s'
        FROM mlops.job_runs WHERE job_id = $job AND trigger = 'schedule' AND started_at IS NOT NULL")"
as $eng -c "SELECT ml_unschedule($job)" >/dev/null

# a train job: run now, as its owner; the run's end is notified. Training
# needs the analyst's rights on the project: its owner has them here.
q -c "GRANT ml_analyst TO $eng" >/dev/null
as $ana -c "SELECT ml_add_member('homes', '$eng')" >/dev/null
tjob=$(as $eng -c "SELECT ml_schedule('homes', 'train', '@daily', '{\"algorithm\": \"linear\"}')")
out=$(mktemp)
( psql -X -q -d "$db" -c "LISTEN ml_job_runs" -c "SELECT pg_sleep(8)" >"$out" 2>&1 ) &
sleep 0.5
run=$(as $eng -c "SELECT ml_run_now($tjob)")
check "a train job run now trains version 2 as its owner" \
  wait_for "SELECT EXISTS (SELECT 1 FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
                          WHERE p.name = 'homes' AND m.version = 2 AND m.created_by = '$eng')
            AND (SELECT status = 'succeeded' FROM mlops.job_runs WHERE id = $run)" 15
wait
check "the end of the run is notified on channel ml_job_runs" \
  grep -q "\"run\": $run, \"status\": \"succeeded\"" "$out"
rm -f "$out"

# a clean job: the analyst's recipe, re-applied by the engineer's job, run
# on demand by the analyst (it runs as the job's owner all the same)
as $ana -c "SELECT count(*) FROM ml_clean('houses', '{}', into_table => 'houses_clean')" >/dev/null
recipe=$(q -c "SELECT max(id) FROM mlops.recipes")
cjob=$(as $eng -c "SELECT ml_schedule('homes', 'clean', '@yearly',
        '{\"relation\": \"houses\", \"recipe\": $recipe, \"into_table\": \"houses_again\", \"mode\": \"replace\"}')")
run=$(as $ana -c "SELECT ml_run_now($cjob)")
check "a clean job run on demand by the analyst succeeds ($(run_end $run))" \
  test "$(q -c "SELECT status || ' ' || rows_processed FROM mlops.job_runs WHERE id = $run")" = "succeeded 300"
check "its output is owned by the job's owner, not the analyst" \
  test "$(q -c "SELECT tableowner FROM pg_tables WHERE tablename = 'houses_again'")" = "$eng"
