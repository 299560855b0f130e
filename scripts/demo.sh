#!/usr/bin/env bash
# The analyst-to-engineer flow on sample data, on a throwaway cluster
# (run through `make demo`): clean, train, compare, mark ready, deploy,
# predict, a scheduled retrain and batch score (run once now by the job
# launcher, which scripts/cluster.sh has serve database mlops_demo), and a
# forecast. Each step prints what it does and what the database answers.
set -euo pipefail
cd "$(dirname "$0")/.."
dropdb --force --if-exists mlops_demo 2>/dev/null || true
createdb mlops_demo
psql -X -v ON_ERROR_STOP=1 -d mlops_demo -f demo/demo.sql
dropdb --force mlops_demo
