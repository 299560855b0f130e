#!/usr/bin/env bash
# Who may do what with jobs: analysts cannot schedule, but run their own
# projects' train and clean jobs on demand (not score jobs, not other
# projects'); consumers see nothing of jobs; a job's runs are visible to
# its owner only. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jacc
echo "1..7"
try() { as "$@" 2>&1 || true; }

check "an analyst cannot schedule" \
  grep -q 'permission denied for function ml_schedule' <<<"$(try $ana -c "SELECT ml_schedule('homes', 'train', '@daily')")"
tjob=$(as $eng -c "SELECT ml_schedule('homes', 'train', '@yearly', '{\"algorithm\": \"linear\"}')")
sjob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"s\"}')")
run=$(try $ana -c "SELECT ml_run_now($tjob)")
check "the project's analyst runs its train job on demand (run $run)" \
  test "$(q -c "SELECT trigger || ' ' || requested_by FROM mlops.job_runs WHERE id = '$run'")" = "manual $ana"
check "but not its score job" \
  grep -q "permission denied to run job $sjob" <<<"$(try $ana -c "SELECT ml_run_now($sjob)")"
q -c "CREATE ROLE ${prefix}_out IN ROLE ml_analyst" >/dev/null
out=$(try ${prefix}_out -c "SELECT ml_run_now($tjob)")
q -c "DROP ROLE ${prefix}_out" >/dev/null
check "an analyst outside the project: the job does not exist" grep -q "job $tjob does not exist" <<<"$out"
cons_out=$(try $cons -c "SELECT count(*) FROM ml_job_runs"; try $cons -c "SELECT count(*) FROM ml_jobs";
           try $cons -c "SELECT count(*) FROM mlops.jobs"; try $cons -c "SELECT ml_run_now($tjob)";
           try $cons -c "SELECT ml_cancel($run)")
check "a consumer sees nothing of jobs (views, tables and functions are denied)" \
  test "$(grep -c 'permission denied' <<<"$cons_out")" = 5
q -c "CREATE ROLE ${prefix}_eng2 IN ROLE ml_engineer" >/dev/null
other=$(as ${prefix}_eng2 -c "SELECT count(*) FROM ml_jobs" -c "SELECT count(*) FROM ml_job_runs"; try ${prefix}_eng2 -c "SELECT ml_cancel($run)")
q -c "DROP ROLE ${prefix}_eng2" >/dev/null
check "another engineer sees none of the jobs or runs, and cannot cancel" \
  test "$(tr '\n' ' ' <<<"$other" | sed 's/ERROR:.*does not exist.*/missing/')" = "0 0 missing"
check "the owner sees its jobs and their runs" \
  test "$(as $eng -c "SELECT count(*) FROM ml_jobs" -c "SELECT count(*) >= 1 FROM ml_job_runs" | tr '\n' ' ')" = "2 t "
