#!/usr/bin/env bash
# Lock order between ml_unschedule and the writers of a job's runs: the
# job's row first, then its runs'. ml_unschedule locks the job, signals the
# job's run workers, then deletes the job (ON DELETE CASCADE deletes the
# runs); a cancelled worker recording its run, or an ml_cancel, that locked
# the run before waiting for the job deadlocked with it. Here a session
# holds the job's row as ml_unschedule does before its DELETE, while an
# ml_cancel and the cancelled worker wait: neither may hold the run, and the
# DELETE completes. No timing: each step waits until the one before is in
# its lock wait. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jlock
echo "1..5"
work=$(mktemp -d)
trap 'rm -rf "$work"; jobs_teardown' EXIT

here=$(cd "$(dirname "$0")" && pwd)
# a score run that lasts (a minute, interruptible) until it is cancelled
q -c "CREATE VIEW slowest_houses AS SELECT id, slow(x1) AS x1, x2, y FROM houses, generate_series(1, 10) g" \
  -c "GRANT SELECT ON slowest_houses TO ml_engineer" >/dev/null
job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slowest_houses\", \"into_table\": \"slow_scored\"}')")
run=$(as $eng -c "SELECT ml_run_now($job)")
wait_for "SELECT status = 'running' AND pid IS NOT NULL FROM mlops.job_runs WHERE id = $run" 30 || true
wpid=$(q -c "SELECT pid FROM mlops.job_runs WHERE id = $run")

# in the holding session's \! shell: a backend waiting for a lock, then
# whether the run's row is free (no one holds it while waiting for the job)
cat >"$work/steps.sh" <<EOF
. "$here/lib/jobs.bash"
run_free() { q -c "SELECT 'free' FROM mlops.job_runs WHERE id = $run FOR UPDATE NOWAIT" 2>&1 | tr '\n' ' '; }
waiting() { wait_for "SELECT COALESCE(bool_or(wait_event_type = 'Lock'), false) FROM pg_stat_activity WHERE \$1" 30; }
( psql -X -q -d "$db" -At -c "SET ROLE $eng" -c "SELECT ml_cancel($run)" >"$work/cancel.out" 2>&1; echo done >>"$work/cancel.out" ) &
waiting "query = 'SELECT ml_cancel($run)'" && run_free >"$work/cancel_free" || echo "ml_cancel did not wait" >"$work/cancel_free"
q -c "SELECT pg_cancel_backend($wpid)" >/dev/null
waiting "pid = $wpid" && run_free >"$work/worker_free" || echo "the worker did not wait" >"$work/worker_free"
EOF
unschedule_out=$(q 2>&1 <<SQL || true
BEGIN;
SELECT 1 FROM mlops.jobs WHERE id = $job FOR UPDATE;
\\! bash "$work/steps.sh"
DELETE FROM mlops.jobs WHERE id = $job;
COMMIT;
SQL
)
check "ml_cancel waits for the job's row before it locks the run ($(cat "$work/cancel_free"))" \
  test "$(cat "$work/cancel_free")" = "free "
check "a cancelled run's worker waits for the job's row before it writes the run ($(cat "$work/worker_free"))" \
  test "$(cat "$work/worker_free")" = "free "
check "the unschedule's delete of the job and its runs completes ($(tr '\n' ' ' <<<"$unschedule_out"))" \
  test "$(tr '\n' ' ' <<<"$unschedule_out")$(q -c "SELECT count(*) FROM mlops.job_runs WHERE job_id = $job")" = "1 0"
wait_for "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $wpid" 30 || true
check "the worker ends, and records nothing for the removed run" \
  test "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $wpid")/$(q -c "SELECT count(*) FROM mlops.job_runs")" = "0/0"
wait_for "SELECT count(*) = 0 FROM pg_stat_activity WHERE query = 'SELECT ml_cancel($run)'" 30 || true
check "the waiting ml_cancel finds the run gone" \
  grep -q "run $run does not exist" "$work/cancel.out"
