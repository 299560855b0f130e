# Shared by test/http.sh and bench/http.sh (sourced): a database with a
# trained and deployed project, and the endpoint switched on in the
# throwaway cluster of scripts/cluster.sh by ALTER SYSTEM and a restart
# (http_off switches it off again the same way).
db=mlops_http
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" -At "$@"; }
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
check() { local name=$1; shift; if "$@"; then ok 0 "$name"; else ok 1 "$name"; fi; }

# a free TCP port on loopback (the kernel picks it)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

restart() {
  local started datadir log
  started=$(psql -X -At -d postgres -c "SELECT pg_postmaster_start_time()")
  datadir=$(psql -X -At -d postgres -c "SHOW data_directory")
  # keep logging where pg_virtualenv's cluster logs, if it is that cluster
  log=$(find "$(dirname "$(dirname "$(dirname "$datadir")")")" -maxdepth 2 -path '*/log/postgresql-*.log' 2>/dev/null | head -1 || true)
  # the server log, for checks of what is written there (empty: not found)
  server_log=$log
  # as root (CI), as the cluster's owner; otherwise the caller owns it
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u "$(stat -c %U "$datadir")" --)
  "${as[@]}" "$(pg_config --bindir)/pg_ctl" -D "$datadir" -m fast -w \
    ${log:+-l "$log"} restart >/dev/null 2>&1 || true
  for _ in $(seq 300); do
    [ "$(psql -X -At -d postgres -c "SELECT pg_postmaster_start_time() > '$started'" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  echo "# the server did not come back"
}

# http_on PORT [setting=value ...]: the endpoint on PORT serving $db
http_on() {
  local port=$1 kv
  shift
  psql -X -q -d postgres -c "ALTER SYSTEM SET pg_mlops.http_port = $port" \
    -c "ALTER SYSTEM SET pg_mlops.http_database = '$db'" >/dev/null
  for kv in "$@"; do
    psql -X -q -d postgres -c "ALTER SYSTEM SET pg_mlops.${kv%%=*} = '${kv#*=}'" >/dev/null
  done
  restart
  # up once /healthz answers (over TLS when a certificate is set)
  for _ in $(seq 100); do
    curl -sk -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    curl -sk -o /dev/null "https://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "# the endpoint did not come up on port $port"
}

http_off() {
  psql -X -q -d postgres -c "ALTER SYSTEM RESET pg_mlops.http_port" \
    -c "ALTER SYSTEM RESET pg_mlops.http_database" -c "ALTER SYSTEM RESET pg_mlops.http_workers" \
    -c "ALTER SYSTEM RESET pg_mlops.http_timeout" -c "ALTER SYSTEM RESET pg_mlops.http_max_body" \
    -c "ALTER SYSTEM RESET pg_mlops.http_ssl_cert_file" -c "ALTER SYSTEM RESET pg_mlops.http_ssl_key_file" \
    -c "ALTER SYSTEM RESET pg_mlops.api_usage_entries" >/dev/null
  restart
}

# roles prefixed with $1: an engineer, an analyst, a consumer with no grants
http_setup() {
  prefix=$1
  eng=${prefix}_eng ana=${prefix}_ana cons=${prefix}_cons
  dropdb --if-exists --force "$db" 2>/dev/null || true
  for r in $eng $ana $cons; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
  createdb "$db"
  q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
CREATE ROLE $eng LOGIN IN ROLE ml_engineer;
CREATE ROLE $ana LOGIN IN ROLE ml_analyst, ml_consumer;
CREATE ROLE $cons LOGIN IN ROLE ml_consumer;
CREATE TABLE houses AS
SELECT i AS id, (i % 17)::float8 AS x1, (i % 5)::float8 AS x2,
       3 * (i % 17) + 2 * (i % 5) + (i % 3) * 0.1 AS y
FROM generate_series(1, 300) i;
GRANT SELECT ON houses TO ml_analyst, ml_engineer;
SET ROLE $ana;
SELECT ml_create_project('homes', 'houses', 'y');
SELECT version FROM ml_train('homes', 'linear');
SELECT ml_mark_ready('homes', 1);
SELECT version FROM ml_train('homes', 'ridge', '{"alpha": 1000}');
SELECT ml_mark_ready('homes', 2);
SET ROLE $eng;
SELECT ml_deploy('homes', 1);
SQL
}

http_teardown() {
  dropdb --if-exists --force "$db" 2>/dev/null || true
  for r in $eng $ana $cons ${cons}_re; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
  # test/http.sh's consumers filling the usage table
  for i in $(seq 0 99); do echo "DROP ROLE IF EXISTS ${cons}_re_$i;"; done | psql -X -q -d postgres >/dev/null 2>&1 || true
}
