#!/usr/bin/env bash
# A running job run reports its progress as it goes: ml_job_runs shows the
# fraction done and the rows processed while the run's transaction is still
# open (the worker's shared-memory slot), then the final values. Prints TAP;
# run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jprog
echo "1..5"

# samples "status progress rows" of a run every 50 ms until it ends
watch_run() {
  local run=$1 line
  for _ in $(seq 600); do
    line=$(as $eng -c "SELECT status || ' ' || COALESCE(progress::text, '-') || ' ' || COALESCE(rows_processed::text, '-')
                       FROM ml_job_runs WHERE run = $run")
    echo "$line"
    case $line in queued*|running*) sleep 0.05 ;; *) return 0 ;; esac
  done
}

# an auto search with a 3 s budget: the search's share grows with the budget spent
tjob=$(as $eng -c "SELECT ml_schedule('homes', 'train', '@yearly', '{\"algorithm\": \"auto\", \"options\": {\"budget_s\": 3}}')")
trun=$(as $eng -c "SELECT ml_run_now($tjob)")
samples=$(watch_run "$trun")
check "a train run shows a fraction strictly between 0 and 1 while it runs" \
  awk '$1 == "running" && $2 != "-" && $2 > 0 && $2 < 1 { found = 1 } END { exit !found }' <<<"$samples"
check "and the rows it read (300) while it runs" \
  awk '$1 == "running" && $3 == 300 { found = 1 } END { exit !found }' <<<"$samples"
check "its fraction never goes back while it runs" \
  awk '$1 == "running" && $2 != "-" { if ($2 + 0 < last) bad = 1; last = $2 + 0 } END { exit bad }' <<<"$samples"
check "it ends succeeded with progress 1" test "$(tail -1 <<<"$samples" | cut -d' ' -f1,2)" = "succeeded 1"

# a score run over a slow view (20 ms a row) in blocks of 10 rows: the rows
# scored so far show while it runs
q -c "ALTER ROLE $eng SET pg_mlops.score_block_rows = 10" >/dev/null
sjob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"slow_houses\", \"into_table\": \"slow_scored\"}')")
srun=$(as $eng -c "SELECT ml_run_now($sjob)")
samples=$(watch_run "$srun")
check "a score run shows the rows scored so far (between 0 and 300) while it runs" \
  awk '$1 == "running" && $3 != "-" && $3 > 0 && $3 < 300 { found = 1 } END { exit !found }' <<<"$samples"
