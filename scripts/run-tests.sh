#!/usr/bin/env bash
# The test suite, run inside a throwaway cluster (scripts/cluster.sh):
# pg_regress (sql/ + expected/), pgTAP (test/*.sql via pg_prove), and the
# scripted scenarios (test/*.sh, TAP output, via prove).
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

echo "== pg_regress"
make -s installcheck 2>&1 | grep -v '^ALTER DATABASE$' | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || { status=1; head -300 regression.diffs 2>/dev/null; }

echo "== pgTAP"
dropdb --if-exists mlops_tap 2>/dev/null
createdb mlops_tap
psql -X -q -v ON_ERROR_STOP=1 -d mlops_tap -c "SET client_min_messages = warning" \
  -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION pg_mlops" || status=1
pg_prove -d mlops_tap test/*.sql 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== scripted scenarios"
prove -v test/*.sh 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# One closing line over all three layers: pg_regress files, TAP assertions.
sum() { awk '{ s += $1 } END { print s + 0 }'; }
passed=$(( $(grep -cE '^test +[a-z0-9_]+ +\.\.\. ok' "$log") +
           $(grep -oE 'Tests=[0-9]+' "$log" | cut -d= -f2 | sum) ))
failed=$(( $(grep -cE '\.\.\. FAILED' "$log") +
           $(grep -oE 'Failed: [0-9]+' "$log" | cut -d' ' -f2 | sum) ))
[ $status -eq 0 ] || [ $failed -gt 0 ] || failed=1
echo "tests: $passed passed, $failed failed"
exit $status
