# Shared by the test/jobs_*.sh scenarios (sourced, not a test itself).
# The cluster (scripts/cluster.sh) serves database mlops_jobs with a short
# poll interval. Each scenario starts from a fresh database and its own
# roles, prefixed with its name, and removes them at the end.
db=mlops_jobs
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" -At "$@"; }
# as a role (the roles can log in: runs connect as them)
as() { local r=$1; shift; q -c "SET ROLE $r" "$@"; }
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
check() { local name=$1; shift; if "$@"; then ok 0 "$name"; else ok 1 "$name"; fi; }

# wait_for SQL SECONDS: until the query returns t (false after SECONDS)
wait_for() {
  local sql=$1 secs=${2:-20} end
  end=$(awk -v s="$secs" 'BEGIN { srand(); print srand() + s }')
  while :; do
    [ "$(q -c "$sql" 2>/dev/null)" = t ] && return 0
    [ "$(awk 'BEGIN { srand(); print srand() }')" -ge "$end" ] && return 1
    sleep 0.1
  done
}

jobs_setup() {
  prefix=$1
  eng=${prefix}_eng ana=${prefix}_ana cons=${prefix}_cons
  trap jobs_teardown EXIT
  dropdb --if-exists --force "$db" 2>/dev/null || true
  for r in $eng $ana $cons; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
  createdb "$db"
  q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
CREATE ROLE $eng LOGIN IN ROLE ml_engineer;
CREATE ROLE $ana LOGIN IN ROLE ml_analyst;
CREATE ROLE $cons LOGIN IN ROLE ml_consumer;
CREATE TABLE houses AS
SELECT i AS id, (i % 17)::float8 AS x1, (i % 5)::float8 AS x2,
       3 * (i % 17) + 2 * (i % 5) + (i % 3) * 0.1 AS y
FROM generate_series(1, 300) i;
GRANT SELECT ON houses TO ml_analyst, ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_analyst, ml_engineer;
-- a slow relation: 20 ms a row, 6 s in all, interruptible (pg_sleep)
CREATE FUNCTION slow(v float8) RETURNS float8 LANGUAGE sql VOLATILE
    AS 'SELECT pg_sleep(0.02); SELECT v';
CREATE VIEW slow_houses AS SELECT id, slow(x1) AS x1, x2, y FROM houses;
CREATE VIEW slow_small AS SELECT * FROM slow_houses WHERE id <= 40;
GRANT SELECT ON slow_houses, slow_small TO ml_engineer;
SET ROLE $ana;
SELECT ml_create_project('homes', 'houses', 'y');
SELECT version FROM ml_train('homes', 'linear');
SELECT ml_mark_ready('homes', 1);
SET ROLE $eng;
SELECT ml_deploy('homes', 1);
SQL
}

# the run's status once it is not queued/running any more (waits up to 30 s)
run_end() {
  wait_for "SELECT status NOT IN ('queued', 'running') FROM mlops.job_runs WHERE id = $1" "${2:-30}" || true
  q -c "SELECT status FROM mlops.job_runs WHERE id = $1"
}

jobs_teardown() {
  dropdb --if-exists --force "$db" 2>/dev/null || true
  for r in $eng $ana $cons; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
}
