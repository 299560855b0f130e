#!/usr/bin/env bash
# A cancelled run stops within a second and is recorded as cancelled; two
# runs of one job never overlap, whether the schedule or ml_run_now
# queues them. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jcanc
echo "1..4"

job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slow_houses\", \"into_table\": \"out_c\"}')")
run=$(as $eng -c "SELECT ml_run_now($job)")
wait_for "SELECT status = 'running' FROM mlops.job_runs WHERE id = $run" 15 || true
sleep 1
at=$(q -c "SELECT clock_timestamp()")
as $eng -c "SELECT ml_cancel($run)" >/dev/null
status=$(run_end $run 5)
secs=$(q -c "SELECT round(extract(epoch FROM finished_at - '$at'::timestamptz)::numeric, 3) FROM mlops.job_runs WHERE id = $run")
check "the run is cancelled" test "$status" = cancelled
check "it stopped ${secs} s after ml_cancel (bound 1 s)" awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }'

# overlap: a job due every second whose run takes about a second, plus
# runs queued by hand; the runs' spans must not intersect
job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '1 second', '{\"relation\": \"slow_small\",
        \"into_table\": \"out_o\", \"mode\": \"replace\"}')")
as $eng -c "SELECT ml_run_now($job)" -c "SELECT ml_run_now($job)" >/dev/null
wait_for "SELECT count(*) >= 4 FROM mlops.job_runs WHERE job_id = $job AND status = 'succeeded'" 30 || true
as $eng -c "SELECT ml_alter_job($job, '{\"active\": false}')" >/dev/null
wait_for "SELECT count(*) = 0 FROM mlops.job_runs WHERE job_id = $job AND status IN ('queued', 'running')" 30 || true
runs=$(q -c "SELECT count(*) FROM mlops.job_runs WHERE job_id = $job AND status = 'succeeded'")
check "$runs runs of the job succeeded" test "$runs" -ge 4
check "no two of them overlapped" \
  test "$(q -c "SELECT count(*) FROM mlops.job_runs a JOIN mlops.job_runs b
                ON a.job_id = b.job_id AND a.id < b.id
                WHERE a.job_id = $job AND a.started_at IS NOT NULL AND b.started_at IS NOT NULL
                  AND tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)")" = 0
