# Shared by the test/api_*.sh scenarios (sourced, not a test itself): TAP
# helpers from jobs.bash, roles prefixed with the scenario's name, and
# api_db DB: a database with a deployed linear model on "houses" (project
# "homes"), exposed to the consumer role by the engineer.
. "$(dirname "${BASH_SOURCE[0]}")/jobs.bash"

api_roles() {
  prefix=$1
  eng=${prefix}_eng ana=${prefix}_ana cons=${prefix}_cons cons2=${prefix}_cons2
  api_dbs=()
  trap api_teardown EXIT
  for r in $eng $ana $cons $cons2; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
  psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
CREATE ROLE $eng LOGIN;
CREATE ROLE $ana LOGIN;
CREATE ROLE $cons LOGIN;
CREATE ROLE $cons2 LOGIN;
SQL
}

api_db() {
  local d=$1
  api_dbs+=("$d")
  dropdb --if-exists --force "$d" 2>/dev/null || true
  createdb "$d"
  psql -X -q -v ON_ERROR_STOP=1 -d "$d" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
GRANT ml_engineer TO $eng;
GRANT ml_analyst TO $ana;
GRANT ml_consumer TO $cons, $cons2;
CREATE TABLE houses AS
SELECT i AS id, (i % 17)::float8 AS x1, (i % 5)::float8 AS x2,
       3 * (i % 17) + 2 * (i % 5) + (i % 3) * 0.1 AS y
FROM generate_series(1, 300) i;
GRANT SELECT ON houses TO ml_analyst, ml_engineer, ml_consumer;
SET ROLE $ana;
SELECT ml_create_project('homes', 'houses', 'y');
SELECT version FROM ml_train('homes', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('homes', 1);
SET ROLE $eng;
SELECT ml_deploy('homes', 1);
SQL
}

# qd DB ...: psql on another database
qd() { local d=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -d "$d" -At "$@"; }

api_teardown() {
  for d in "${api_dbs[@]}"; do dropdb --if-exists --force "$d" 2>/dev/null || true; done
  for r in $eng $ana $cons $cons2; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
}

# restart the throwaway cluster (as test/jobs_restart.sh does) and wait for it
api_restart() {
  local started datadir
  started=$(qd postgres -c "SELECT pg_postmaster_start_time()")
  datadir=$(qd postgres -c "SHOW data_directory")
  runuser -u "$(stat -c %U "$datadir")" -- "$(pg_config --bindir)/pg_ctl" -D "$datadir" -m fast -w restart \
    >/dev/null 2>&1 || true
  for _ in $(seq 300); do
    [ "$(qd postgres -c "SELECT pg_postmaster_start_time() > '$started'" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  return 1
}

# stop the throwaway cluster cleanly, run "$@" (with $datadir set), start it again
api_stop_start() {
  local started
  started=$(qd postgres -c "SELECT pg_postmaster_start_time()")
  datadir=$(qd postgres -c "SHOW data_directory")
  local owner opts rc=0; owner=$(stat -c %U "$datadir")
  # the server's own command line (its config_file), as pg_ctl restart reuses it
  opts=$(sed 's/^[^ ]* //' "$datadir/postmaster.opts")
  runuser -u "$owner" -- "$(pg_config --bindir)/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
  "$@" || rc=1
  runuser -u "$owner" -- "$(pg_config --bindir)/pg_ctl" -D "$datadir" -o "$opts" -l "$datadir/restart.log" -w start >/dev/null 2>&1 || true
  for _ in $(seq 300); do
    [ "$(qd postgres -c "SELECT pg_postmaster_start_time() > '$started'" 2>/dev/null)" = t ] && return $rc
    sleep 0.1
  done
  return 1
}
