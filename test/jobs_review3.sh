#!/usr/bin/env bash
# Review 3 attacks on the scheduler: an owner that lost ml_engineer, an
# owner that became a superuser, cron steps on a single number, and
# schedules that are never due. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jrev
psql -X -q -d postgres -c "DROP ROLE IF EXISTS jrev_tmp" 2>/dev/null || true
echo "1..6"
try() { as "$@" 2>&1 || true; }

# an engineer who is also an analyst schedules a train job, then loses ml_engineer
q -c "GRANT ml_analyst TO $eng" >/dev/null
as $eng -c "SELECT ml_create_project('mine', 'houses', 'y')" >/dev/null
job=$(as $eng -c "SELECT ml_schedule('mine', 'train', '@yearly', '{\"algorithm\": \"linear\"}')")
q -c "REVOKE ml_engineer FROM $eng" >/dev/null
run=$(q -c "SELECT ml_run_now($job)")
got=$(run_end $run)/$(q -c "SELECT sqlstate FROM mlops.job_runs WHERE id = $run")
check "a job whose owner lost ml_engineer does not run ($got)" test "$got" = failed/42501
check "and trained nothing" test "$(q -c "SELECT count(*) FROM mlops.models")" = 1
q -c "GRANT ml_engineer TO $eng" >/dev/null

# "5/10" is not "5" (cron implementations read it as 5-59/10, or reject it)
out=$(try $eng -c "SELECT ml_schedule('homes', 'train', '5/10 * * * *')")
check "a step on a single number is refused, not read as that number" grep -q 'invalid schedule' <<<"$out"

# a schedule that is never due is refused at once (and the launcher does not spin)
out=$(try $eng -c "SELECT ml_schedule('homes', 'train', '0 0 30 2 *')")
check "Feb 30 is never due" grep -q 'never due' <<<"$out"

# the owner is dropped and another role created under its name: the job does not run as it
q -c "CREATE ROLE ${prefix}_tmp LOGIN IN ROLE ml_engineer" >/dev/null
tjob=$(as ${prefix}_tmp -c "SELECT ml_schedule('homes', 'train', '@yearly', '{\"algorithm\": \"linear\"}')")
as ${prefix}_tmp -c "SELECT ml_alter_job($tjob, '{\"retries\": 1}')" >/dev/null
check "the owner's OID is kept, not shown among the options" \
  test "$(q -c "SELECT (command ? 'owner_oid') AND NOT (options ? 'owner_oid') FROM mlops.jobs WHERE id = $tjob")" = t
q -c "DROP ROLE ${prefix}_tmp" >/dev/null
q -c "CREATE ROLE ${prefix}_tmp LOGIN IN ROLE ml_engineer" >/dev/null
run=$(q -c "SELECT ml_run_now($tjob)")
got=$(run_end $run)/$(q -c "SELECT sqlstate FROM mlops.job_runs WHERE id = $run")
q -c "DROP ROLE ${prefix}_tmp" >/dev/null
check "a new role under the dropped owner's name does not inherit its job ($got)" test "$got" = failed/28000
