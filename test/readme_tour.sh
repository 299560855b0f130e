#!/usr/bin/env bash
# The README's "A five-minute tour" runs as written: its ```sql blocks are
# fed verbatim, in order, to one psql -v ON_ERROR_STOP=1 session, as a
# superuser, in a fresh database that pg_mlops.job_databases lists
# (scripts/cluster.sh). Between two blocks the test waits until the job runs
# the tour queued have ended (the text between the blocks says so). Prints
# TAP; run with prove inside a throwaway cluster. The roles the tour creates
# are cluster-wide, so they are dropped before (left over from an aborted
# run) and after.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/http.bash
db=mlops_readme_tour
tour=$(mktemp); out=$(mktemp)

# Between blocks: wait (as superuser, then back to the tour's role) until no
# due run is queued or running; a minute without that is an error.
wait_runs='SELECT current_user AS tour_role \gset
RESET ROLE;
DO $$ BEGIN
  FOR i IN 1..600 LOOP
    IF NOT EXISTS (SELECT 1 FROM mlops.job_runs
                   WHERE status IN ($q$queued$q$, $q$running$q$) AND due_at <= clock_timestamp()) THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RAISE EXCEPTION $q$the job runs of the tour did not end within a minute$q$;
END $$;
SET ROLE :"tour_role";'

# Every ```sql block after the tour's heading, fences excluded, the wait
# between two blocks.
awk -v wait="$wait_runs" '
     /^## A five-minute tour/ { in_tour = 1; next }
     in_tour && /^## / { exit }
     in_tour && !in_block && /^```sql/ { in_block = 1; if (blocks++) print wait; next }
     in_block && /^```/ { in_block = 0; next }
     in_block { print }' README.md > "$tour"
roles=$(grep -oiE '^CREATE ROLE [a-z_][a-z0-9_]*' "$tour" | awk '{ print $3 }' || true)

drop_all() {
  dropdb --force --if-exists "$db" 2>/dev/null || true
  for r in $roles; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS \"$r\"" 2>/dev/null || true; done
}
trap 'drop_all; http_off; rm -f "$tour" "$out"' EXIT
drop_all
createdb "$db"
# the tour ends with a row scored over HTTP: the endpoint on, serving $db
http_on "$(free_port)"

echo "1..6"
statements=$(grep -cE ';[[:space:]]*(--.*)?$|\\gset' "$tour" || true)
blocks=$(awk '/^## A five-minute tour/ { t = 1; next } t && /^## / { exit } t && /^```sql/ { n++ } END { print n + 0 }' README.md)
if [ "$statements" -ge 10 ] && grep -q 'CREATE EXTENSION pg_mlops' "$tour"; then
  echo "ok 1 - README.md has the tour's sql blocks ($blocks blocks, $statements statements, roles: $(echo $roles))"
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

# The jobs the tour scheduled and ran now really ran, and succeeded.
runs=$(psql -X -At -d "$db" -c "SELECT count(*) || ' runs: ' || coalesce(string_agg(DISTINCT j.kind || ' ' || r.status, ', '), '')
                                 || CASE WHEN bool_and(r.status = 'succeeded') THEN '' ELSE ' (NOT ALL SUCCEEDED)' END
                                FROM mlops.job_runs r JOIN mlops.jobs j ON j.id = r.job_id" 2>/dev/null || true)
if [ -n "$runs" ] && ! echo "$runs" | grep -qE '^0 runs|NOT ALL'; then
  echo "ok 4 - the tour's job runs succeeded ($runs)"
else
  echo "not ok 4 - the tour's job runs: '$runs'"
  psql -X -d "$db" -c "SELECT id, job_id, status, sqlstate, message FROM mlops.job_runs" 2>&1 | sed 's/^/# /'
fi

# The row scored over HTTP came back, and the consumer read the published report.
if grep -E '"model_version": *[0-9]+' "$out" | grep -qE '"predictions": *\[ *-?[0-9]'; then
  echo "ok 5 - the tour's HTTP request answered: $(grep -m1 '"model_version"' "$out")"
else
  echo "not ok 5 - no prediction from the HTTP endpoint in the tour's output"
  grep -n 'curl\|error\|model_version' "$out" | sed 's/^/# /' | head -10
fi
usage=$(psql -X -At -d "$db" -c "SELECT string_agg(consumer || ' ' || calls || ' calls ' || rows || ' rows', ', ')
                                 FROM ml_api_usage" 2>/dev/null || true)
published=$(psql -X -At -d "$db" -c "SELECT count(*) FROM mlops.reports WHERE published" 2>/dev/null || true)
if [ "$published" = 1 ] && echo "$usage" | grep -q '^shop 2 calls 2 rows'; then
  echo "ok 6 - one report published; the consumer's calls metered ($usage)"
else
  echo "not ok 6 - published reports: '$published', usage: '$usage'"
fi
