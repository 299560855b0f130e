#!/usr/bin/env bash
# Every SQL function of the extension is in the reference (docs/*.md): the
# functions are read from the catalog (pg_depend on the extension), those
# named ml_*, less the support functions of the extension's aggregates (the
# aggregate itself is what users call). A name counts as documented when it
# appears as a whole word in some docs/*.md. Prints TAP; run with prove
# inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
db=mlops_docs_reference
trap 'dropdb --force --if-exists "$db" 2>/dev/null || true' EXIT
dropdb --force --if-exists "$db" 2>/dev/null || true
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops"

names=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SELECT DISTINCT p.proname
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
WHERE e.extname = 'pg_mlops' AND d.deptype = 'e' AND p.proname LIKE 'ml\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_aggregate a
                  WHERE p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                                  a.aggserialfn, a.aggdeserialfn))
ORDER BY 1
SQL
)
count=$(echo "$names" | grep -c . || true)
echo "1..$((count + 1))"
if [ "$count" -ge 20 ]; then
  echo "ok 1 - the extension has $count ml_* functions (from pg_depend)"
else
  echo "not ok 1 - only $count ml_* functions found in pg_depend"
fi
n=1
for f in $names; do
  n=$((n + 1))
  if pages=$(grep -lw -- "$f" docs/*.md); then
    echo "ok $n - $f is documented ($(echo $pages | sed 's|docs/||g'))"
  else
    echo "not ok $n - $f is in no docs/*.md page"
  fi
done
