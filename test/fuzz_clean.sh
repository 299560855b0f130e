#!/usr/bin/env bash
# Randomized robustness test of the cleaning functions (test/fuzz_clean.py):
# seeded, bounded calls of ml_impute, ml_clean, ml_apply_recipe and
# ml_import_csv; fails on a server crash, an internal error, or an error
# from SQL/JSON we built. Prints TAP; run with prove inside a throwaway
# cluster (scripts/cluster.sh). FUZZ_CALLS (300) and FUZZ_SEED (1) override.
# Runs when FUZZ=1 (make test sets it; make test FUZZ=0 leaves it out).
set -euo pipefail
if [ "${FUZZ:-0}" != 1 ]; then
  echo "1..0 # SKIP fuzz test off (run with FUZZ=1)"
  exit 0
fi
export FUZZ_DB=mlops_fuzz
dropdb --if-exists "$FUZZ_DB" 2>/dev/null; createdb "$FUZZ_DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$FUZZ_DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" \
  -c "CREATE DOMAIN fuzz_d62 AS numeric(6,2)" \
  -c "CREATE DOMAIN fuzz_pct AS int CHECK (VALUE BETWEEN 0 AND 100)" \
  -c "CREATE DOMAIN fuzz_even AS numeric(6,1) CHECK (VALUE % 2 = 0)" \
  -c "CREATE DOMAIN fuzz_early AS date CHECK (VALUE < '2024-01-10')"
status=0
/usr/bin/python3 "$(dirname "$0")/fuzz_clean.py" || status=$?
dropdb --if-exists "$FUZZ_DB" 2>/dev/null || true
exit $status
