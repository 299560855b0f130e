#!/usr/bin/env bash
# Damaged catalog rows read by the run workers: each job's stored command
# (mlops.jobs.command) or workflow steps (mlops.workflows.steps) is altered
# as a superuser would after a bad restore -- a wrong JSON type, a missing
# key, a huge number, nested garbage -- and the job is run. Every run must
# end failed, with a clear message and our SQLSTATE recorded in the run
# row (XX001 data corrupted for a value of the wrong type, or the error a
# missing value gives), never an internal error or an error from SQL or
# JSON the worker built (22P02, 22003, 42601...); the run is recorded once
# (no worker that fails to start and is started again), and the server
# stays up. Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jtamp

q >/dev/null <<SQL
SET client_min_messages = warning;
GRANT ml_analyst TO $eng;
SET ROLE $ana;
SELECT ml_add_member('homes', '$eng');
SELECT DISTINCT recipe_id FROM ml_impute('houses', into_table => 'houses_imp');
SET ROLE $eng;
SELECT ml_create_workflow('homes', 'wf', '[{"kind": "train", "algorithm": "linear"}, {"kind": "gate", "margin": 0.1}]');
SQL
recipe=$(q -c "SELECT max(id) FROM mlops.recipes")

# case: kind ~ SQL that damages job :job (and its workflow) ~ the endings allowed (status/SQLSTATE)
cases=$(cat <<'CASES'
train ~ UPDATE mlops.jobs SET command = '"x"' WHERE id = :job ~ failed/XX001
train ~ UPDATE mlops.jobs SET command = '[1, 2]' WHERE id = :job ~ failed/XX001
train ~ UPDATE mlops.jobs SET command = command || '{"algorithm": 1}' WHERE id = :job ~ failed/XX001
train ~ UPDATE mlops.jobs SET command = command || '{"algorithm": {"a": [1]}}' WHERE id = :job ~ failed/XX001
train ~ UPDATE mlops.jobs SET command = command || '{"options": "x"}' WHERE id = :job ~ failed/XX001
train ~ UPDATE mlops.jobs SET command = command || '{"options": [1]}' WHERE id = :job ~ failed/XX001
train ~ UPDATE mlops.jobs SET command = command || '{"hyperparams": 1e400}' WHERE id = :job ~ failed/XX001
train ~ UPDATE mlops.jobs SET command = command || '{"hyperparams": null}' WHERE id = :job ~ succeeded/-
train ~ UPDATE mlops.jobs SET command = command || '{"options": {"folds": 1e400}}' WHERE id = :job ~ failed/22023
score ~ UPDATE mlops.jobs SET command = command - 'relation' WHERE id = :job ~ failed/22023
score ~ UPDATE mlops.jobs SET command = command || '{"relation": 5}' WHERE id = :job ~ failed/XX001
score ~ UPDATE mlops.jobs SET command = command || '{"relation": ""}' WHERE id = :job ~ failed/XX001
score ~ UPDATE mlops.jobs SET command = command || '{"into_table": "a.b.c.d"}' WHERE id = :job ~ failed/XX001
score ~ UPDATE mlops.jobs SET command = command || '{"into_table": "\"unterminated"}' WHERE id = :job ~ failed/XX001
score ~ UPDATE mlops.jobs SET command = command || '{"relation": "nosuch_table"}' WHERE id = :job ~ failed/42P01
score ~ UPDATE mlops.jobs SET command = command || '{"mode": {"x": [[[1]]]}}' WHERE id = :job ~ failed/XX001
score ~ UPDATE mlops.jobs SET command = command || '{"mode": "sideways"}' WHERE id = :job ~ failed/XX001
score ~ UPDATE mlops.jobs SET project_id = NULL WHERE id = :job ~ failed/42704
score ~ UPDATE mlops.jobs SET timeout = '178000000 years', statement_timeout = NULL WHERE id = :job ~ succeeded/-
score ~ UPDATE mlops.jobs SET timeout = '-178000000 years', statement_timeout = '-1 day' WHERE id = :job ~ succeeded/-
clean ~ UPDATE mlops.jobs SET command = command || '{"recipe": "x"}' WHERE id = :job ~ failed/XX001
clean ~ UPDATE mlops.jobs SET command = command || '{"recipe": 1e30}' WHERE id = :job ~ failed/XX001
clean ~ UPDATE mlops.jobs SET command = command || '{"recipe": 1.5}' WHERE id = :job ~ failed/XX001
clean ~ UPDATE mlops.jobs SET command = command || '{"recipe": -1}' WHERE id = :job ~ failed/XX001
clean ~ UPDATE mlops.jobs SET command = command - 'recipe' WHERE id = :job ~ failed/22023
report ~ UPDATE mlops.jobs SET command = command || '{"kind": 5}' WHERE id = :job ~ failed/XX001
report ~ UPDATE mlops.jobs SET command = command || '{"publish": "yes"}' WHERE id = :job ~ failed/XX001
report ~ UPDATE mlops.jobs SET command = command || '{"options": true}' WHERE id = :job ~ failed/XX001
workflow ~ UPDATE mlops.jobs SET command = command || '{"workflow": [1]}' WHERE id = :job ~ failed/XX001 failed/42704
workflow ~ UPDATE mlops.jobs SET command = command - 'workflow' WHERE id = :job ~ failed/42704
workflow ~ UPDATE mlops.workflows SET steps = '[null]' ~ failed/22023
workflow ~ UPDATE mlops.workflows SET steps = '[]' ~ failed/22023
workflow ~ UPDATE mlops.workflows SET steps = '[{"kind": 1}]' ~ failed/22023
workflow ~ UPDATE mlops.workflows SET steps = '[{"kind": "train", "algorithm": "linear", "options": "x"}]' ~ failed/22023
workflow ~ UPDATE mlops.workflows SET steps = '[{"kind": "train", "algorithm": "linear"}, {"kind": "gate", "margin": 1e400}]' ~ failed/22023
workflow ~ UPDATE mlops.workflows SET steps = '[{"kind": "train", "algorithm": "linear"}, {"kind": "score"}]' ~ failed/22023
workflow ~ UPDATE mlops.workflows SET steps = '[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]' ~ failed/22023
workflow ~ UPDATE mlops.workflows SET steps = (SELECT jsonb_agg('{"kind": "train", "algorithm": "linear"}'::jsonb) FROM generate_series(1, 5000)) ~ failed/22023 failed/54000
train ~ ALTER TABLE mlops.jobs ALTER command DROP NOT NULL; UPDATE mlops.jobs SET command = NULL WHERE id = :job ~ failed/XX001
CASES
)
echo "1..$(( $(wc -l <<<"$cases") + 1 ))"

command_for() {
  case $1 in
    train) echo '{"algorithm": "linear"}' ;;
    score) echo '{"relation": "houses", "into_table": "scored_out"}' ;;
    clean) echo "{\"recipe\": $recipe, \"relation\": \"houses\", \"into_table\": \"cleaned_out\"}" ;;
    report) echo '{"kind": "model", "publish": true}' ;;
    workflow) echo '{"workflow": "wf"}' ;;
  esac
}

while IFS='~' read -r kind damage allowed; do
  kind=${kind% } damage=${damage# } damage=${damage% } allowed=${allowed# }
  job=$(as $eng -c "SELECT ml_schedule('homes', '$kind', '@yearly', '$(command_for "$kind")')")
  q -c "${damage//:job/$job}" >/dev/null
  run=$(as $eng -c "SELECT ml_run_now($job)")
  status=$(run_end "$run")
  got=$(q -c "SELECT count(*) || ' ' || string_agg(status || ' ' || COALESCE(sqlstate, '-') || ' ' ||
                     COALESCE(message, '-'), '; ') FROM mlops.job_runs WHERE job_id = $job")
  ending=$(q -c "SELECT status || '/' || COALESCE(sqlstate, '-') FROM mlops.job_runs WHERE id = $run")
  good=1
  [ "${got%% *}" = 1 ] || good=0
  grep -qF -- " $ending " <<<" $allowed " || good=0
  check "$kind job after: ${damage//:job/$job} -> $got" test $good = 1
  # the damaged workflow is restored for the next case
  q -c "UPDATE mlops.workflows SET steps = '[{\"kind\": \"train\", \"algorithm\": \"linear\"}, {\"kind\": \"gate\", \"margin\": 0.1}]'" >/dev/null
  as $eng -c "SELECT ml_unschedule($job)" >/dev/null
done <<<"$cases"

check "the server is up and no run is left queued or running" \
  test "$(q -c "SELECT count(*) FROM mlops.job_runs WHERE status IN ('queued', 'running')")" = 0
