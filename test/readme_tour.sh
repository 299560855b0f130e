#!/usr/bin/env bash
# The README's "A five-minute tour" runs as written: its first ```sql block
# is fed verbatim to psql -v ON_ERROR_STOP=1, as a superuser, in a fresh
# database. Prints TAP; run with prove inside a throwaway cluster
# (scripts/cluster.sh). The roles the tour creates are cluster-wide, so
# they are dropped before (left over from an aborted run) and after.
set -euo pipefail
cd "$(dirname "$0")/.."
db=mlops_readme_tour
tour=$(mktemp); out=$(mktemp)

# The first ```sql block after the tour's heading, fences excluded.
awk '/^## A five-minute tour/ { in_tour = 1; next }
     in_tour && /^## / { exit }
     in_tour && !in_block && /^```sql/ { in_block = 1; next }
     in_block && /^```/ { exit }
     in_block { print }' README.md > "$tour"
roles=$(grep -oiE '^CREATE ROLE [a-z_][a-z0-9_]*' "$tour" | awk '{ print $3 }' || true)

drop_all() {
  dropdb --if-exists "$db" 2>/dev/null || true
  for r in $roles; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS \"$r\"" 2>/dev/null || true; done
}
trap 'drop_all; rm -f "$tour" "$out"' EXIT
drop_all
createdb "$db"

echo "1..3"
statements=$(grep -cE ';[[:space:]]*(--.*)?$|\\gset' "$tour" || true)
if [ "$statements" -ge 10 ] && grep -q 'CREATE EXTENSION pg_mlops' "$tour"; then
  echo "ok 1 - README.md has the tour's sql block ($statements statements, roles: $(echo $roles))"
else
  echo "not ok 1 - no tour block found under '## A five-minute tour' in README.md"
fi

if psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$tour" >"$out" 2>&1; then
  echo "ok 2 - the tour runs verbatim, top to bottom, with ON_ERROR_STOP"
else
  echo "not ok 2 - the tour stops with an error:"
  grep -n -B2 -A3 'ERROR' "$out" | sed 's/^/# /' | head -40
fi

# A sanity check that it really ran: every step left its trace in the audit.
actions=$(psql -X -At -d "$db" -c "SELECT string_agg(DISTINCT action, ',' ORDER BY action) FROM mlops.audit_log" 2>/dev/null || true)
if ! grep -q 'ERROR' "$out" && [ -n "$actions" ]; then
  echo "ok 3 - no ERROR in the tour's output; audited actions: $actions"
else
  echo "not ok 3 - output has an ERROR or nothing was audited ('$actions')"
fi
