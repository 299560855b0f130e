#!/usr/bin/env bash
# Version numbering under repeatable read: a trainer whose snapshot predates
# another trainer's commit must fail with a serialization failure (40001,
# retry), never a duplicate key (23505) from the INSERT we built. Prints TAP;
# run with prove inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
db=mlops_version_race
tmp=$(mktemp -d)
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
cleanup() {
  exec 3>&- 2>/dev/null || true
  dropdb --if-exists "$db" 2>/dev/null || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS vr_ana" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cleanup; tmp=$(mktemp -d)
createdb "$db"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
CREATE ROLE vr_ana LOGIN IN ROLE ml_analyst;
CREATE TABLE h AS SELECT (g % 11)::float8 AS a, (g % 7)::float8 AS b, 1 + 2 * (g % 11) - 3 * (g % 7) + 0.0 AS y
FROM generate_series(1, 50) g;
GRANT SELECT ON h TO ml_analyst;
SET ROLE vr_ana;
SELECT ml_create_project('p', 'h', 'y');
SELECT version FROM ml_train('p', 'linear');
SQL
echo "1..2"

# Session A: a repeatable-read transaction whose snapshot is taken now.
mkfifo "$tmp/in"
psql -X -q -At -v VERBOSITY=verbose -d "$db" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
exec 3>"$tmp/in"
wait_for() { for _ in $(seq 1 300); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
printf '%s\n' "\\set VERBOSITY verbose" "SET ROLE vr_ana;" "BEGIN ISOLATION LEVEL REPEATABLE READ;" \
  "SELECT count(*) FROM ml_models;" "\\o $tmp/ready" "SELECT 1;" "\\o" >&3
wait_for "$tmp/ready"
# Session B trains version 2 and commits.
v2=$(q -c "SET ROLE vr_ana" -c "SELECT version FROM ml_train('p', 'linear')")
# Session A trains with its old snapshot.
printf '%s\n' "SELECT version FROM ml_train('p', 'linear');" "ROLLBACK;" "\\o $tmp/done" "SELECT 1;" "\\q" >&3
exec 3>&-
wait_for "$tmp/done" || true
wait
if grep -q '40001' "$tmp/err" && ! grep -q '23505' "$tmp/err"; then
  echo "ok 1 - a stale repeatable-read trainer gets a serialization failure (40001)"
else
  echo "not ok 1 - session A: $(cat "$tmp/err")"
fi
versions=$(q -c "SELECT string_agg(version::text, ',' ORDER BY version) FROM mlops.models")
if [ "$v2" = "2" ] && [ "$versions" = "1,2" ]; then
  echo "ok 2 - versions stay 1 and 2"
else
  echo "not ok 2 - B trained '$v2', versions '$versions'"
fi
