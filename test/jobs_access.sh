#!/usr/bin/env bash
# Who may do what with jobs: analysts cannot schedule, but run their own
# projects' train and clean jobs on demand (not score jobs, not other
# projects'); consumers see nothing of jobs; a job's runs are visible to
# its owner only. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jacc
echo "1..14"
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

# Engineers own retraining: the engineer's train job (run above on the
# analyst's request) trained a version as the engineer, who is neither an
# analyst nor a member of the project but may read its rows
check "an engineer's train job retrains as the engineer (run $run: $(run_end "$run"))" \
  test "$(q -c "SELECT m.created_by FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
                WHERE p.name = 'homes' ORDER BY m.version DESC LIMIT 1")" = "$eng"
# ... and never with rights the engineer lacks: rows only the analyst may read
q >/dev/null <<SQL
CREATE TABLE secret_houses AS SELECT * FROM houses;
GRANT SELECT ON secret_houses TO $ana;
SQL
as $ana -c "SELECT ml_create_project('secret', 'secret_houses', 'y')" >/dev/null
secret_job=$(as $eng -c "SELECT ml_schedule('secret', 'train', '@yearly', '{\"algorithm\": \"linear\"}')")
secret_run=$(as $eng -c "SELECT ml_run_now($secret_job)")
secret_status=$(run_end "$secret_run")
check "an engineer's train job on rows the engineer may not read fails with that error ($secret_status)" \
  test "$secret_status $(q -c "SELECT sqlstate || ' ' || (message LIKE '%permission denied for table secret_houses%')
                             || ' ' || (SELECT count(*) FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
                                        WHERE p.name = 'secret') FROM mlops.job_runs WHERE id = $secret_run")" \
       = "failed 42501 true 0"

# Analysts cancel the runs they asked for, and only those
ana_run=$(as $ana -c "SELECT ml_run_now($tjob)")
check "the analyst cancels its own run" \
  grep -qE '^(t|f)$' <<<"$(try $ana -c "SELECT ml_cancel($ana_run)")"
eng_run=$(as $eng -c "SELECT ml_run_now($tjob)")
q -c "CREATE ROLE ${prefix}_out2 IN ROLE ml_analyst" >/dev/null
cancel_out=$(try $ana -c "SELECT ml_cancel($eng_run)"; try ${prefix}_out2 -c "SELECT ml_cancel($ana_run)")
q -c "DROP ROLE ${prefix}_out2" >/dev/null
check "but not the engineer's run, nor another analyst the analyst's run" \
  test "$(grep -c 'does not exist' <<<"$cancel_out")" = 2
run_end "$eng_run" >/dev/null

# ml_run_now does not queue without bound: a slow score job (6 s a run; runs
# of one job never overlap, so at most one is running), five requests at once
slow_job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slow_houses\", \"into_table\": \"slow_scored\"}')")
queue_out=$(for _ in 1 2 3 4 5; do try $eng -c "SELECT ml_run_now($slow_job)"; done)
check "more than pg_mlops.job_max_queued_runs (3) waiting runs of a job are refused" \
  grep -q "job $slow_job already has 3 runs waiting to start" <<<"$queue_out"
check "and at most 3 runs of it are queued" \
  test "$(as $eng -c "SELECT count(*) FILTER (WHERE status = 'queued') <= 3 FROM ml_job_runs WHERE job = $slow_job")" = t
as $eng -c "SELECT ml_unschedule($slow_job)" >/dev/null
# ... also from a REPEATABLE READ transaction whose snapshot predates the
# runs another session queued meanwhile (it counts the latest committed runs)
rr_job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slow_houses\", \"into_table\": \"slow_scored_rr\"}')")
rr_out=$(q 2>&1 <<SQL || true
SET ROLE $eng;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM mlops.job_runs WHERE job_id = $rr_job;
\\! for i in 1 2 3 4 5; do psql -X -q -d "$db" -At -c "SET ROLE $eng" -c "SELECT ml_run_now($rr_job)" >/dev/null 2>&1; done
SELECT ml_run_now($rr_job);
COMMIT;
SQL
)
check "a repeatable-read caller whose snapshot predates 3 queued runs is refused too" \
  grep -q "job $rr_job already has 3 runs waiting to start" <<<"$rr_out"
as $eng -c "SELECT ml_unschedule($rr_job)" >/dev/null
