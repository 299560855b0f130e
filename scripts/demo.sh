#!/usr/bin/env bash
# The analyst-to-engineer flow on sample data, on a throwaway cluster
# (run through `make demo`): clean, train, compare, mark ready, deploy,
# predict, a scheduled retrain and batch score (run once now by the job
# launcher, which scripts/cluster.sh has serve database mlops_demo), and a
# forecast, a published report and a row scored over HTTP (the endpoint
# switched on for the demo's database). Each step prints what it does and what the database answers.
set -euo pipefail
cd "$(dirname "$0")/.."
# the demo ends with a row scored over HTTP: the endpoint on, serving mlops_demo
. test/lib/http.bash
db=mlops_demo
dropdb --force --if-exists mlops_demo 2>/dev/null || true
createdb mlops_demo
http_on "$(free_port)"
trap 'http_off' EXIT
psql -X -v ON_ERROR_STOP=1 -d mlops_demo -f demo/demo.sql
dropdb --force mlops_demo
psql -X -q -d postgres -c "DROP ROLE IF EXISTS demo_shop" || true
