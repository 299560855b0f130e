#!/usr/bin/env bash
# A server restart in the middle of a run loses no job and no finished
# run; the interrupted run is marked failed by the launcher when the server
# is back, and retried because its job allows it. Restarts the throwaway
# cluster of scripts/cluster.sh (pg_ctl restart on its data directory, as
# the cluster's owner; the postmaster's recorded options are kept).
# Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jrest
echo "1..4"

fast=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"out_f\"}')")
done_run=$(as $eng -c "SELECT ml_run_now($fast)")
[ "$(run_end $done_run)" = succeeded ] || echo "# the first run did not succeed"
job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slow_houses\",
        \"into_table\": \"out_r\", \"retries\": 1, \"backoff\": \"1 second\"}')")
run=$(as $eng -c "SELECT ml_run_now($job)")
wait_for "SELECT status = 'running' FROM mlops.job_runs WHERE id = $run" 15 || true
jobs_before=$(q -c "SELECT count(*) FROM mlops.jobs")
started=$(q -c "SELECT pg_postmaster_start_time()")
datadir=$(q -c "SHOW data_directory")
runuser -u "$(stat -c %U "$datadir")" -- "$(pg_config --bindir)/pg_ctl" -D "$datadir" -m fast -w restart \
  >/dev/null 2>&1 || true
for _ in $(seq 300); do
  [ "$(q -c "SELECT pg_postmaster_start_time() > '$started'" 2>/dev/null)" = t ] && break
  sleep 0.1
done
echo "# server restarted: $(q -c "SELECT pg_postmaster_start_time() > '$started'")"

check "the jobs are all there after the restart" test "$(q -c "SELECT count(*) FROM mlops.jobs")" = "$jobs_before"
check "the finished run is kept as it was" \
  test "$(q -c "SELECT status || ' ' || rows_processed FROM mlops.job_runs WHERE id = $done_run")" = "succeeded 300"
check "the interrupted run is marked failed" test "$(run_end $run 20)" = failed
check "and retried (attempt 2 queued or running)" \
  wait_for "SELECT EXISTS (SELECT 1 FROM mlops.job_runs WHERE job_id = $job AND attempt = 2)" 20
as $eng -c "SELECT ml_unschedule($job)" >/dev/null
