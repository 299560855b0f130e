#!/usr/bin/env bash
# Lock order between ml_unschedule and the writers of a job's runs: the
# job's row first, then its runs'. ml_unschedule locks the job, signals the
# job's run workers, then deletes the job (ON DELETE CASCADE deletes the
# runs); a cancelled worker recording its run, or an ml_cancel, that locked
# the run before waiting for the job deadlocked with it. Here a session
# holds the job's row as ml_unschedule does before its DELETE, while an
# ml_cancel and the cancelled worker wait: neither may hold the run, and the
# DELETE completes. No timing: each step waits until the one before is in
# its lock wait. Then a project is dropped (ml_drop_project: ON DELETE
# CASCADE to its jobs and their runs) while one of its train runs is in
# progress, in a transaction held open until the run's worker waits or ends:
# neither may deadlock, the worker ends without recording anything for the
# removed run, and the server stays up.
# Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jlock
echo "1..10"
work=$(mktemp -d)
trap 'rm -rf "$work"; jobs_teardown' EXIT

here=$(cd "$(dirname "$0")" && pwd)
# a score run that lasts (a minute, interruptible) until it is cancelled
q -c "CREATE VIEW slowest_houses AS SELECT id, slow(x1) AS x1, x2, y FROM houses, generate_series(1, 10) g" \
  -c "GRANT SELECT ON slowest_houses TO ml_engineer" >/dev/null
# a job of project $1, kind $2, options $3, and its run once its worker runs it
start_run() {
  job=$(as $eng -c "SELECT ml_schedule('$1', '$2', '@yearly', '$3')")
  run=$(as $eng -c "SELECT ml_run_now($job)")
  wait_for "SELECT status = 'running' AND pid IS NOT NULL FROM mlops.job_runs WHERE id = $run" 30 || true
  wpid=$(q -c "SELECT pid FROM mlops.job_runs WHERE id = $run")
}
start_run homes score '{"relation": "slowest_houses", "into_table": "slow_scored"}'

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

# a project dropped while one of its runs is in progress: a train run on a
# slow view (6 s of reading), dropped by its owner in a transaction held open
q >/dev/null <<SQL
GRANT ml_analyst TO $eng;
GRANT SELECT ON slow_houses TO ml_analyst;
SET ROLE $ana;
SELECT ml_create_project('slowp', 'slow_houses', 'y');
SELECT ml_add_member('slowp', '$eng');
SQL
start_run slowp train '{"algorithm": "linear"}'
# in the dropping session's \! shell: the worker, once it has read the rows,
# waits for the dropped project (its model's foreign key), or has ended
cat >"$work/drop_steps.sh" <<EOF
. "$here/lib/jobs.bash"
wait_for "SELECT COALESCE(bool_or(wait_event_type = 'Lock'), true) FROM pg_stat_activity WHERE pid = $wpid" 60 \
  && echo waited >"$work/drop_worker" || echo "the worker neither waited nor ended" >"$work/drop_worker"
EOF
drop_out=$(q 2>&1 <<SQL || true
BEGIN;
SET LOCAL ROLE $ana;
SELECT ml_drop_project('slowp');
\\! bash "$work/drop_steps.sh"
COMMIT;
SQL
)
check "the drop of a project with a run in progress completes, without a deadlock ($(tr '\n' ' ' <<<"$drop_out"))" \
  test -z "$drop_out"
check "the run's worker waits for the drop or ends ($(cat "$work/drop_worker"))" \
  test "$(cat "$work/drop_worker")" = waited
wait_for "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $wpid" 60 || true
check "the worker ends, and records nothing for the removed run" \
  test "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $wpid")/$(q -c "SELECT count(*) FROM mlops.job_runs")" = "0/0"
check "the project's jobs and models are gone" \
  test "$(q -c "SELECT (SELECT count(*) FROM mlops.jobs) + (SELECT count(*) FROM mlops.models WHERE project_id NOT IN (SELECT id FROM mlops.projects))")" = 0
check "the server is up, the other project still there" \
  test "$(q -c "SELECT count(*) FROM mlops.projects WHERE name = 'homes'")" = 1
