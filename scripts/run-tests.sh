#!/usr/bin/env bash
# The test suite, run inside a throwaway cluster (scripts/cluster.sh):
# pg_regress (sql/ + expected/), pgTAP (test/*.sql via pg_prove), and the
# scripted scenarios (test/*.sh, TAP output, via prove).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

echo "== pg_regress"
make -s installcheck || { status=1; cat regression.diffs 2>/dev/null | head -200; }

echo "== pgTAP"
dropdb --if-exists mlops_tap
createdb mlops_tap
psql -X -q -v ON_ERROR_STOP=1 -d mlops_tap \
  -c "SET client_min_messages = warning" \
  -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION pg_mlops" || status=1
pg_prove -d mlops_tap test/*.sql || status=1

echo "== scripted scenarios"
prove test/*.sh || status=1

exit $status
