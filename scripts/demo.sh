#!/usr/bin/env bash
# The analyst-to-engineer flow on sample data, on a throwaway cluster
# (run through `make demo`). Each step prints what it does and what the
# database answers.
set -euo pipefail
cd "$(dirname "$0")/.."
createdb mlops_demo
psql -X -v ON_ERROR_STOP=1 -d mlops_demo -f demo/demo.sql
dropdb mlops_demo
