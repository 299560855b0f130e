#!/usr/bin/env bash
# Runs that do not succeed: a worker terminated mid-way (pg_terminate_backend)
# is marked failed and retried after its backoff; a timeout fires; a job
# whose owner lost a privilege fails with that privilege's error and
# writes nothing. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jfail
echo "1..8"

# terminated mid-way, then retried after 2 s
job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slow_houses\",
        \"into_table\": \"out_t\", \"retries\": 2, \"backoff\": \"2 seconds\"}')")
run=$(as $eng -c "SELECT ml_run_now($job)")
wait_for "SELECT status = 'running' FROM mlops.job_runs WHERE id = $run" 15 || true
sleep 0.5
q -c "SELECT pg_terminate_backend(pid) FROM mlops.job_runs WHERE id = $run" >/dev/null
check "a terminated run is marked failed" test "$(run_end $run)" = failed
retry=$(q -c "SELECT id FROM mlops.job_runs WHERE job_id = $job AND attempt = 2")
check "attempt 2 is queued as a retry, due 2 s after the failure" \
  test "$(q -c "SELECT r.trigger = 'retry' AND r.due_at >= f.finished_at + interval '1.9 seconds'
                FROM mlops.job_runs r, mlops.job_runs f WHERE r.id = '$retry' AND f.id = $run")" = t
check "attempt 2 starts after the backoff" \
  wait_for "SELECT r.status = 'running' AND r.started_at >= f.finished_at + interval '2 seconds'
            FROM mlops.job_runs r, mlops.job_runs f WHERE r.id = '$retry' AND f.id = $run" 15
as $eng -c "SELECT ml_cancel($retry)" >/dev/null
check "a cancelled attempt is not retried" \
  test "$(run_end $retry)/$(q -c "SELECT count(*) FROM mlops.job_runs WHERE job_id = $job")" = cancelled/2
check "nothing was written by the interrupted runs" test "$(q -c "SELECT to_regclass('out_t') IS NULL")" = t

# a timeout
job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slow_houses\",
        \"into_table\": \"out_t\", \"timeout\": \"1 second\"}')")
run=$(as $eng -c "SELECT ml_run_now($job)")
check "a run past its timeout is timed_out (SQLSTATE 57014)" \
  test "$(run_end $run)/$(q -c "SELECT sqlstate || ' ' || (finished_at - started_at < interval '3 seconds')
                               FROM mlops.job_runs WHERE id = $run")" = "timed_out/57014 true"

# the owner loses a privilege: the run fails with that privilege's error
job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"out_p\"}')")
q -c "REVOKE SELECT ON houses FROM ml_engineer" >/dev/null
run=$(as $eng -c "SELECT ml_run_now($job)")
got=$(run_end $run)/$(q -c "SELECT sqlstate || ' ' || message FROM mlops.job_runs WHERE id = $run")
check "the owner without SELECT: failed with 42501 permission denied ($got)" \
  grep -q '^failed/42501 permission denied for table houses' <<<"$got"
check "and wrote nothing" test "$(q -c "SELECT to_regclass('out_p') IS NULL")" = t
