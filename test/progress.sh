#!/usr/bin/env bash
# Long calls report progress and honour cancellation. Prints TAP; run with
# prove inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
db=mlops_progress
dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" \
  -c "CREATE TABLE t AS SELECT i, (i % 7)::float8 AS a, (i % 5)::text AS b, (i % 11)::float8 AS c
      FROM generate_series(1, 50000) i" \
  -c "UPDATE t SET a = NULL WHERE i % 3 = 0" -c "UPDATE t SET c = NULL WHERE i % 4 = 0"
echo "1..4"

out=$(q -c "SET pg_mlops.progress_interval = '1ms'" -c "SELECT count(*) FROM ml_impute('t', into_table => 't2')" 2>&1)
if grep -q 'NOTICE:  imputed column "' <<<"$out"; then echo "ok 1 - progress NOTICEs at the interval"; else echo "not ok 1 - no progress NOTICE: $out"; fi

out=$(q -c "SET pg_mlops.progress_interval = 0" -c "SELECT count(*) FROM ml_impute('t', into_table => 't3')" 2>&1)
if ! grep -q 'NOTICE' <<<"$out"; then echo "ok 2 - no NOTICE when progress_interval is 0"; else echo "not ok 2 - $out"; fi

before=$(q -At -c "SELECT count(*) FILTER (WHERE a IS NULL) || '/' || count(*) FROM t")
out=$(q -c "SET statement_timeout = '50ms'" -c "SELECT count(*) FROM ml_clean('t')" 2>&1 || true)
after=$(q -At -c "SELECT count(*) FILTER (WHERE a IS NULL) || '/' || count(*) FROM t")
if grep -q 'canceling statement due to statement timeout' <<<"$out"; then
  echo "ok 3 - a cancelled call stops with PostgreSQL's cancel error"
else
  echo "not ok 3 - not cancelled: $out"
fi
if [ "$before" = "$after" ] && [ -z "$(q -At -c "SELECT 1 FROM pg_class WHERE relname ~ '^ml_clean_(src_)?[0-9]+$'")" ]; then
  echo "ok 4 - and leaves the table as it was ($after)"
else
  echo "not ok 4 - table changed: $before -> $after"
fi
dropdb "$db"
