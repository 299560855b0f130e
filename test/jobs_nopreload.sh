#!/usr/bin/env bash
# Without pg_mlops in shared_preload_libraries there is no launcher: every
# job function says so and how to enable it, while the rest of the
# extension works. Starts its own cluster without the preload (nested
# pg_virtualenv). Prints TAP; run with prove in scripts/cluster.sh.
set -uo pipefail
echo "1..2"
# its own port (pg_virtualenv would reuse the outer cluster's PGPORT)
out=$(PGPORT=$((5600 + $$ % 300)) pg_virtualenv -t -v 15 -o "lc_messages=C" bash -c '
  psql -X -q -At -d postgres -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" \
       -c "CREATE ROLE np_eng IN ROLE ml_engineer" -c "CREATE TABLE t AS SELECT 1.0::float8 AS x, 2.0::float8 AS y" \
       -c "SET ROLE np_eng" -c "SELECT count(*) FROM ml_projects"
  for call in "ml_schedule('"'"'p'"'"', '"'"'train'"'"', '"'"'@daily'"'"')" "ml_run_now(1)" "ml_cancel(1)" \
              "ml_unschedule(1)" "ml_alter_job(1, '"'"'{}'"'"')"; do
    psql -X -q -d postgres -c "SET ROLE np_eng" -c "SELECT $call" 2>&1 || true
  done' 2>&1)
n=$(grep -c 'ERROR:  pg_mlops jobs need the pg_mlops library in shared_preload_libraries' <<<"$out" || true)
if [ "$n" = 5 ]; then echo "ok 1 - all five job functions refuse without the preload"; else
  echo "not ok 1 - $n of 5 refused:"; sed 's/^/# /' <<<"$out"; fi
if grep -q 'HINT:  Add pg_mlops to shared_preload_libraries' <<<"$out" && grep -qx '0' <<<"$out"; then
  echo "ok 2 - with a hint on how to enable it; the rest of the extension works"
else echo "not ok 2 - no hint, or the extension does not work without the preload"; fi
