#!/usr/bin/env bash
# Workflows: train -> evaluate -> gate -> deploy -> score runs end to end as
# the job's owner; the deploy step is refused until an engineer allows it;
# a gate rejection (the new version is worse) keeps the deployed version
# and skips the later steps; a failing step, once fixed, resumes with
# ml_run_now from the failed step (the train step is not redone), and
# ml_run_now(job, true) starts again from the first step; a worker
# terminated in the middle of a step leaves it failed, and the retry
# resumes at that step. Prints TAP; run
# with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup jwf
echo "1..36"

# the workflow's owner trains and marks ready: an engineer who is also an
# analyst and a member of the project
q -c "GRANT ml_analyst TO $eng" >/dev/null
as $ana -c "SELECT ml_add_member('homes', '$eng')" >/dev/null
versions() { q -c "SELECT count(*) FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id WHERE p.name = 'homes'"; }
deployed() { q -c "SELECT version FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
                   WHERE p.name = 'homes' AND status = 'deployed'"; }
steps() { q -c "SELECT string_agg(kind || ':' || status, ' ' ORDER BY step) FROM ml_job_run_steps WHERE run = $1"; }
# noise on the target, and back: versions trained on noisy rows are worse
noisy() { q -c "UPDATE houses SET y = 3 * x1 + 2 * x2 + (id % 3) * 0.1 + ((id * 7919) % 100 - 50) / 5.0" >/dev/null; }
clean() { q -c "UPDATE houses SET y = 3 * x1 + 2 * x2 + (id % 3) * 0.1" >/dev/null; }
# a workflow $1 of one import step (source $2: "path" or "relation" in JSON)
# into table $3, scheduled yearly: prints the job's id
import_job() {
  as $eng -c "SELECT ml_create_workflow('homes', '$1', '[{\"kind\": \"import\", $2, \"into_table\": \"$3\"}]')" >/dev/null
  as $eng -c "SELECT ml_schedule('homes', 'workflow', '@yearly', '{\"workflow\": \"$1\"}')"
}
q >/dev/null <<SQL
CREATE TABLE houses_eval AS SELECT * FROM houses WHERE id % 4 = 0;
GRANT SELECT ON houses_eval TO ml_engineer;
SQL
# the deployed version 2 learned from noisy rows
noisy
as $ana -c "SELECT version FROM ml_train('homes', 'linear')" >/dev/null
as $ana -c "SELECT ml_mark_ready('homes', 2)" >/dev/null
as $eng -c "SELECT ml_deploy('homes', 2)" >/dev/null
clean

wf=$(as $eng -c "SELECT ml_create_workflow('homes', 'retrain', '[
    {\"kind\": \"train\", \"algorithm\": \"linear\"},
    {\"kind\": \"evaluate\", \"relation\": \"houses_eval\"},
    {\"kind\": \"gate\", \"metric\": \"rmse\", \"margin\": \"5%\"},
    {\"kind\": \"deploy\"},
    {\"kind\": \"score\", \"relation\": \"houses\", \"into_table\": \"scored\", \"mode\": \"replace\"}]')")
job=$(as $eng -c "SELECT ml_schedule('homes', 'workflow', '@yearly', '{\"workflow\": \"retrain\"}')")

# 1. auto-deploy not allowed: the gate marks version 3 ready, deploy is refused
run=$(as $eng -c "SELECT ml_run_now($job)")
check "a workflow run succeeds ($(run_end $run): $(q -c "SELECT log->-1->>'detail' FROM ml_job_runs WHERE run = $run"))" \
  test "$(q -c "SELECT status FROM ml_job_runs WHERE run = $run")" = succeeded
check "every step is a row of the run's log: $(steps $run)" \
  test "$(steps $run)" = "train:succeeded evaluate:succeeded gate:succeeded deploy:refused score:succeeded"
check "the gate compared the new version with the deployed one on the evaluate step's rows" \
  test "$(q -c "SELECT details->>'version' || ' ' || (details->>'deployed_version') || ' ' || (details->>'source')
                FROM ml_job_run_steps WHERE run = $run AND kind = 'gate'")" = "3 2 evaluate"
check "without an engineer's permission nothing is deployed: version 3 is ready, 2 still deployed" \
  test "$(q -c "SELECT status FROM mlops.models WHERE version = 3")/$(deployed)" = "ready/2"
check "the score step ran as the owner with the deployed version (table owner, model_version)" \
  test "$(q -c "SELECT tableowner FROM pg_tables WHERE tablename = 'scored'")/$(q -c "SELECT min(model_version) || ' ' || count(*) FROM scored")" = "$eng/2 300"

# 2. only engineers allow automatic deployment; then train -> deploy -> score end to end
got=$(as $ana -c "SELECT ml_allow_auto_deploy('homes', 'retrain', true)" 2>&1 || true)
check "an analyst cannot allow automatic deployment" grep -q "permission denied for function ml_allow_auto_deploy" <<<"$got"
as $eng -c "SELECT ml_allow_auto_deploy('homes', 'retrain', true)" >/dev/null
run=$(as $eng -c "SELECT ml_run_now($job)")
run_end $run >/dev/null
check "allowed: version 4 passes the gate and is deployed, then scores ($(steps $run))" \
  test "$(steps $run)/$(deployed)/$(q -c "SELECT min(model_version) || ' ' || max(run_id) FROM scored")" = \
       "train:succeeded evaluate:succeeded gate:succeeded deploy:succeeded score:succeeded/4/4 $run"
check "the deployment names the workflow and its run" \
  test "$(q -c "SELECT deployed_by || ' ' || reason FROM mlops.deployments ORDER BY id DESC LIMIT 1")" = \
       "$eng workflow \"retrain\", run $run"

# 3. a worse version is rejected: the deployed version stays, later steps are skipped
noisy
run=$(as $eng -c "SELECT ml_run_now($job)")
check "a gate rejection ends the run succeeded ($(run_end $run))" \
  test "$(q -c "SELECT status FROM ml_job_runs WHERE run = $run")" = succeeded
check "the gate is rejected, deploy and score skipped: $(steps $run)" \
  test "$(steps $run)" = "train:succeeded evaluate:succeeded gate:rejected deploy:skipped score:skipped"
check "version 5 stays trained; version 4 stays deployed" \
  test "$(q -c "SELECT status FROM mlops.models WHERE version = 5")/$(deployed)" = "trained/4"
clean

# 4. a failing step: the owner cannot create the score step's table; fixed,
# ml_run_now resumes from the failed step without training again
q >/dev/null <<SQL
CREATE SCHEMA locked;
GRANT USAGE ON SCHEMA locked TO ml_engineer;
SQL
as $eng -c "SELECT ml_create_workflow('homes', 'nightly', '[
    {\"kind\": \"train\", \"algorithm\": \"linear\"},
    {\"kind\": \"score\", \"relation\": \"houses\", \"into_table\": \"locked.scores\"}]')" >/dev/null
njob=$(as $eng -c "SELECT ml_schedule('homes', 'workflow', '@yearly', '{\"workflow\": \"nightly\"}')")
run=$(as $eng -c "SELECT ml_run_now($njob)")
got="$(run_end $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")/$(steps $run)"
check "the score step fails with the owner's privilege error ($got)" \
  test "$got" = "failed/42501/train:succeeded score:failed"
before=$(versions)
q -c "GRANT CREATE ON SCHEMA locked TO $eng" >/dev/null
run2=$(as $eng -c "SELECT ml_run_now($njob)")
got="$(run_end $run2)/$(steps $run2)/$(q -c "SELECT resumed_from FROM mlops.job_runs WHERE id = $run2")"
check "ml_run_now resumes from the failed step ($got)" \
  test "$got" = "succeeded/train:carried score:succeeded/$run"
check "the train step was not redone: still $before versions, the carried step names its run" \
  test "$(versions)/$(q -c "SELECT details->>'from_run' FROM ml_job_run_steps WHERE run = $run2 AND step = 1")" = "$before/$run"
check "the table is written by the resumed run, as the owner" \
  test "$(q -c "SELECT tableowner FROM pg_tables WHERE schemaname = 'locked'")/$(q -c "SELECT count(*) FROM locked.scores")" = "$eng/300"
run3=$(as $eng -c "SELECT ml_run_now($njob, true)")
run_end $run3 >/dev/null
check "ml_run_now(job, true) starts from the first step: one more version ($(steps $run3))" \
  test "$(versions)/$(steps $run3)" = "$((before + 1))/train:succeeded score:succeeded"

# 5. a worker terminated in the middle of a step: the step shows failed,
# the retry resumes at it
as $eng -c "SELECT ml_create_workflow('homes', 'slow', '[
    {\"kind\": \"train\", \"algorithm\": \"linear\"},
    {\"kind\": \"score\", \"relation\": \"slow_houses\", \"into_table\": \"slow_scores\"}]')" >/dev/null
sjob=$(as $eng -c "SELECT ml_schedule('homes', 'workflow', '@yearly', '{\"workflow\": \"slow\", \"retries\": 1, \"backoff\": \"1 second\"}')")
run=$(as $eng -c "SELECT ml_run_now($sjob)")
wait_for "SELECT EXISTS (SELECT 1 FROM mlops.job_run_steps WHERE run_id = $run AND step_no = 2 AND status = 'running')" 20 || true
sleep 0.5
before=$(versions)
q -c "SELECT pg_terminate_backend(pid) FROM mlops.job_runs WHERE id = $run" >/dev/null
check "terminated during its score step: the run failed, the step shows failed ($(run_end $run)/$(steps $run))" \
  test "$(steps $run)" = "train:succeeded score:failed"
retry=$(q -c "SELECT id FROM mlops.job_runs WHERE job_id = $sjob AND attempt = 2")
got="$(run_end "${retry:-0}" 40)/$(steps "${retry:-0}")"
check "the retry resumes at the score step ($got)" test "$got" = "succeeded/train:carried score:succeeded"
check "and trained nothing again ($before versions)" test "$(versions)" = "$before"

# 6. the data steps: a CSV file and a relation imported, a recipe re-applied,
# a fresh cleaning; a report step without ml_report installed fails clearly
csv=$(mktemp /tmp/jwf_XXXXXX.csv)
printf 'id,x1,x2,y\n1,1,2,7\n2,2,1,8\n3,x,1,9\n' >"$csv"
chmod 644 "$csv"
q -c "GRANT pg_read_server_files TO $eng" >/dev/null
as $ana -c "SELECT count(*) FROM ml_clean('houses', '{}', into_table => 'houses_cleaned')" >/dev/null
recipe=$(q -c "SELECT max(id) FROM mlops.recipes")
as $eng -c "SELECT ml_create_workflow('homes', 'data', '[
    {\"kind\": \"import\", \"path\": \"$csv\", \"into_table\": \"from_csv\", \"mode\": \"replace\"},
    {\"kind\": \"import\", \"relation\": \"houses\", \"into_table\": \"staged\", \"mode\": \"replace\"},
    {\"kind\": \"clean\", \"relation\": \"staged\", \"recipe\": $recipe, \"into_table\": \"staged_clean\", \"mode\": \"replace\"},
    {\"kind\": \"clean\", \"relation\": \"staged\", \"options\": {}, \"into_table\": \"staged_fresh\", \"mode\": \"replace\"},
    {\"kind\": \"report\", \"report\": \"cleaning\"}]')" >/dev/null
djob=$(as $eng -c "SELECT ml_schedule('homes', 'workflow', '@yearly', '{\"workflow\": \"data\"}')")
run=$(as $eng -c "SELECT ml_run_now($djob)")
run_end $run >/dev/null
if [ "$(q -c "SELECT to_regprocedure('ml_report(text, text, jsonb)') IS NULL")" = t ]; then
  check "without ml_report the report step fails with 0A000 ($(steps $run))" \
    test "$(steps $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")" = \
         "import:succeeded import:succeeded clean:succeeded clean:succeeded report:failed/0A000"
else
  check "the report step builds a report ($(steps $run))" \
    test "$(steps $run)" = "import:succeeded import:succeeded clean:succeeded clean:succeeded report:succeeded"
fi
check "the CSV file's 3 rows were imported ($(q -c "SELECT details FROM ml_job_run_steps WHERE run = $run AND step = 1"))" \
  test "$(q -c "SELECT count(*) FROM from_csv")/$(q -c "SELECT details->>'rows' FROM ml_job_run_steps WHERE run = $run AND step = 1")" = "3/3"
check "the relation was copied and cleaned twice, as the owner" \
  test "$(q -c "SELECT string_agg(tablename || ':' || tableowner, ' ' ORDER BY tablename) FROM pg_tables
                WHERE tablename IN ('staged', 'staged_clean', 'staged_fresh')")" = \
       "staged:$eng staged_clean:$eng staged_fresh:$eng"
check "each wrote 300 rows" \
  test "$(q -c "SELECT string_agg(details->>'rows', ' ' ORDER BY step) FROM ml_job_run_steps WHERE run = $run AND step BETWEEN 2 AND 4")" = "300 300 300"
rm -f "$csv"

# 6b. an import appends by column name, never by position: a file whose
# columns come in another order lands in the right columns; one whose column
# now reads as another type (a fraction for a bigint column) fails the step
# saying which (42804), where the assignment cast rounded it without a word
csv2=$(mktemp /tmp/jwf_XXXXXX.csv)
printf 'id,x1,x2,y\n1,1,2,7\n' >"$csv2"
chmod 644 "$csv2"
ajob=$(import_job append "\"path\": \"$csv2\"" appended)
run=$(as $eng -c "SELECT ml_run_now($ajob)")
run_end $run >/dev/null
printf 'y,x2,x1,id\n9,5,4,2\n' >"$csv2"
run=$(as $eng -c "SELECT ml_run_now($ajob)")
got="$(run_end $run)/$(q -c "SELECT string_agg(id || ':' || x1 || ':' || x2 || ':' || y, ' ' ORDER BY id) FROM appended")"
check "a file with its columns in another order is appended by name ($got)" test "$got" = "succeeded/1:1:2:7 2:4:5:9"
printf 'id,x1,x2,y\n3,2.7,1,1\n' >"$csv2"
run=$(as $eng -c "SELECT ml_run_now($ajob)")
got="$(run_end $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT count(*) FROM appended")"
check "a fraction for a bigint column fails the import step, nothing rounded ($got)" test "$got" = "failed/42804/2"
rm -f "$csv2"
# a table's column of a domain: the file's column is imported again declared
# of the domain, whose CHECK rejects lines (was 42804 for every file, and no
# way to declare a domain in the CSV options)
q >/dev/null <<SQL
CREATE DOMAIN jwf_pct AS integer CHECK (VALUE BETWEEN 0 AND 100);
CREATE TABLE pcts (id bigint, p jwf_pct);
GRANT SELECT, INSERT ON pcts TO $eng;
SQL
csv3=$(mktemp /tmp/jwf_XXXXXX.csv)
printf 'id,p\n1,50\n2,150\n3,7\n4,-1\n' >"$csv3"
chmod 644 "$csv3"
djob=$(import_job pcts "\"path\": \"$csv3\"" pcts)
run=$(as $eng -c "SELECT ml_run_now($djob)")
got="$(run_end $run)/$(q -c "SELECT string_agg(id || ':' || p, ' ' ORDER BY id) FROM pcts")/$(q -c "SELECT details->>'rejected_lines' FROM ml_job_run_steps WHERE run = $run AND step = 1")"
check "a domain column of the table: the values its CHECK refuses are rejected lines ($got)" test "$got" = "succeeded/1:50 3:7/2"
rm -f "$csv3"
# a relation of no columns appends rows of defaults (was 42601 from our own
# "INSERT INTO appended () SELECT  FROM ...")
q >/dev/null <<SQL
CREATE TABLE nocols ();
INSERT INTO nocols DEFAULT VALUES;
GRANT SELECT ON nocols TO ml_engineer;
SQL
zjob=$(import_job nocols '"relation": "nocols"' appended)
run=$(as $eng -c "SELECT ml_run_now($zjob)")
got="$(run_end $run)/$(q -c "SELECT coalesce(sqlstate, '') FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT count(*) FROM appended")"
check "a relation of no columns appends rows of defaults ($got)" test "$got" = "succeeded//3"

# 6c. a score job appends by column name as well: into a table whose
# columns are in another order (reversed) the rows land in their columns,
# where the positional append failed (42804 from our INSERT) or, with
# types that fit, put values in the wrong columns; a table without the
# run's stamp fails the step saying so
cols=$(q -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum DESC) FROM pg_attribute
             WHERE attrelid = 'scored'::regclass AND attnum > 0 AND NOT attisdropped")
q >/dev/null <<SQL
CREATE TABLE scored_rev AS SELECT $cols FROM scored WITH NO DATA;
ALTER TABLE scored_rev OWNER TO $eng;
CREATE TABLE scored_nostamp AS SELECT * FROM scored WITH NO DATA;
ALTER TABLE scored_nostamp DROP COLUMN run_id;
ALTER TABLE scored_nostamp OWNER TO $eng;
SQL
rjob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"scored_rev\"}')")
run=$(as $eng -c "SELECT ml_run_now($rjob)")
got="$(run_end $run)/$(q -c "SELECT count(*) FROM scored_rev")/$(q -c "SELECT count(*) FROM scored_rev s JOIN houses h USING (id)
     WHERE s.run_id = $run AND s.x1 = h.x1 AND s.y = h.y AND abs(s.prediction - ml_predict('homes', h)) < 1e-9")"
check "a score job appends into reordered columns by name ($got)" test "$got" = "succeeded/$(q -c "SELECT count(*) FROM houses")/$(q -c "SELECT count(*) FROM houses")"
njob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"scored_nostamp\"}')")
run=$(as $eng -c "SELECT ml_run_now($njob)")
got="$(run_end $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT count(*) FROM scored_nostamp")"
check "a table without run_id fails the score job, nothing written ($got)" test "$got" = "failed/42703/0"
q -c "CREATE TABLE houses_rid AS SELECT *, 7 AS run_id FROM houses; GRANT SELECT ON houses_rid TO ml_engineer" >/dev/null
ijob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses_rid\", \"into_table\": \"scored_rid\"}')")
run=$(as $eng -c "SELECT ml_run_now($ijob)")
got="$(run_end $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT to_regclass('scored_rid') IS NULL")"
check "a relation with its own run_id fails the score job, no table made ($got)" test "$got" = "failed/42701/t"

# 6d. a table whose column takes no value (generated, or an identity
# GENERATED ALWAYS) fails the score job naming it, before writing (was
# 428C9 from our INSERT, after mode replace had emptied the table)
q >/dev/null <<SQL
CREATE TABLE scored_gen AS SELECT * FROM scored;
ALTER TABLE scored_gen DROP COLUMN x1;
ALTER TABLE scored_gen ADD COLUMN x1 float8 GENERATED ALWAYS AS (x2 * 2) STORED;
ALTER TABLE scored_gen OWNER TO $eng;
CREATE TABLE scored_ident AS SELECT * FROM scored WITH NO DATA;
ALTER TABLE scored_ident DROP COLUMN run_id;
ALTER TABLE scored_ident ADD COLUMN run_id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE scored_ident OWNER TO $eng;
SQL
before=$(q -c "SELECT count(*) FROM scored_gen")
gjob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"scored_gen\", \"mode\": \"replace\"}')")
run=$(as $eng -c "SELECT ml_run_now($gjob)")
got="$(run_end $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT position('generated column' IN message) > 0 FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT count(*) FROM scored_gen")"
check "a generated column of the table fails the score job saying so, its rows kept ($got)" test "$got" = "failed/428C9/t/$before"
gjob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"scored_ident\"}')")
run=$(as $eng -c "SELECT ml_run_now($gjob)")
got="$(run_end $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT position('generated column' IN message) > 0 FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT count(*) FROM scored_ident")"
check "an identity run_id fails the score job saying so ($got)" test "$got" = "failed/428C9/t/0"

# 6e. an into_table that is not a table (a view, here with mode replace)
# fails the score job saying so (was 42809 from our TRUNCATE)
q >/dev/null <<SQL
CREATE TABLE scored_base AS SELECT * FROM scored WITH NO DATA;
CREATE VIEW scored_view AS SELECT * FROM scored_base;
ALTER TABLE scored_base OWNER TO $eng;
ALTER VIEW scored_view OWNER TO $eng;
SQL
vjob=$(as $eng -c "SELECT ml_schedule('homes', 'score', '@yearly', '{\"relation\": \"houses\", \"into_table\": \"scored_view\", \"mode\": \"replace\"}')")
run=$(as $eng -c "SELECT ml_run_now($vjob)")
got="$(run_end $run)/$(q -c "SELECT sqlstate FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT position('is not a table' IN message) > 0 FROM ml_job_runs WHERE run = $run")/$(q -c "SELECT count(*) FROM scored_base")"
check "a view as into_table fails the score job saying so ($got)" test "$got" = "failed/42809/t/0"

# 7. hostile identifiers run as well as they are stored: quoted, never spliced
q >/dev/null <<'SQL'
CREATE SCHEMA "Wf; DROP TABLE houses; --";
CREATE TABLE "Wf; DROP TABLE houses; --"."Rows ""In""" AS SELECT * FROM houses;
GRANT USAGE, CREATE ON SCHEMA "Wf; DROP TABLE houses; --" TO ml_engineer;
GRANT SELECT ON "Wf; DROP TABLE houses; --"."Rows ""In""" TO ml_engineer;
SQL
hjob=$(q <<SQL
SET ROLE $eng;
SELECT ml_create_workflow('homes', \$\$w'); DROP TABLE houses; --\$\$, \$\$[
    {"kind": "score", "relation": "\\"Wf; DROP TABLE houses; --\\".\\"Rows \\"\\"In\\"\\"\\"",
     "into_table": "\\"Wf; DROP TABLE houses; --\\".\\"Out \\"\\"put\\"\\"\\""}]\$\$) IS NULL;
SELECT ml_schedule('homes', 'workflow', '@yearly',
                   jsonb_build_object('workflow', \$\$w'); DROP TABLE houses; --\$\$));
SQL
)
hjob=${hjob##*$'\n'}
run=$(as $eng -c "SELECT ml_run_now($hjob)")
got="$(run_end $run)/$(q -c "SELECT count(*) FROM \"Wf; DROP TABLE houses; --\".\"Out \"\"put\"\"\"")/$(q -c "SELECT count(*) FROM houses")"
check "a workflow over hostile names scores into its hostile table, houses intact ($got)" test "$got" = "succeeded/300/300"

# 8. nothing deployed yet: the gate passes (nothing to compare with), the first version goes live
as $ana -c "SELECT ml_create_project('fresh', 'houses', 'y')" >/dev/null
as $ana -c "SELECT ml_add_member('fresh', '$eng')" >/dev/null
as $eng -c "SELECT ml_create_workflow('fresh', 'first', '[{\"kind\": \"train\", \"algorithm\": \"linear\"},
    {\"kind\": \"evaluate\", \"relation\": \"houses_eval\"}, {\"kind\": \"gate\"}, {\"kind\": \"deploy\"}]')" >/dev/null
as $eng -c "SELECT ml_allow_auto_deploy('fresh', 'first')" >/dev/null
fjob=$(as $eng -c "SELECT ml_schedule('fresh', 'workflow', '@yearly', '{\"workflow\": \"first\"}')")
run=$(as $eng -c "SELECT ml_run_now($fjob)")
got="$(run_end $run)/$(steps $run)/$(q -c "SELECT version FROM ml_models WHERE project = 'fresh' AND status = 'deployed'")"
check "nothing deployed: the gate passes and version 1 is deployed ($got)" \
  test "$got" = "succeeded/train:succeeded evaluate:succeeded gate:succeeded deploy:succeeded/1"

# 9. a report step that publishes: the report is built and published by the job's owner
as $eng -c "SELECT ml_create_workflow('fresh', 'publish', '[{\"kind\": \"report\", \"report\": \"model\", \"publish\": true}]')" >/dev/null
pjob=$(as $eng -c "SELECT ml_schedule('fresh', 'workflow', '@yearly', '{\"workflow\": \"publish\"}')")
run=$(as $eng -c "SELECT ml_run_now($pjob)")
got="$(run_end $run)/$(steps $run)/$(q -c "SELECT count(*) || ' ' || min(published_by) FROM ml_published_reports WHERE project = 'fresh'")"
check "a report step with publish builds and publishes the report ($got)" \
  test "$got" = "succeeded/report:succeeded/1 $eng"
