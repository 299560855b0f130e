#!/usr/bin/env bash
# Review 3 attacks on the scheduler: an owner that lost ml_engineer, an
# owner that became a superuser, cron steps on a single number, and
# schedules that are never due. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jrev
echo "1..4"
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
