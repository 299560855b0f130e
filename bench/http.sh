#!/usr/bin/env bash
# The HTTP endpoint against the same predictions through SQL, on loopback:
# one closed-loop Python client (bench/http_client.py) POSTs to
# /v1/projects/homes/predict or runs the statement the endpoint runs
# (ml_predict over the same jsonb rows, as the same role, psycopg2), with
# the same concurrency and duration; wrk gives the endpoint's figures
# without Python's client overhead. (pgbench's per-transaction log times
# are too coarse at these rates for percentiles.) The endpoint is also
# measured with an exposed consumer's key (metered through the exposure). Bounded: DURATION seconds per run (default
# 10), CLIENTS connections (default 4), 1 row and 100 rows per call.
# Prints requests/s and latency p50/p95/p99 (ms) for each and the ratios.
# Builds, installs and runs in a throwaway cluster (scripts/cluster.sh).
#
#   bash bench/http.sh [duration] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10} clients=${2:-4}
make -s all install >/dev/null
exec bash scripts/cluster.sh bash -c '
set -euo pipefail
duration='"$duration"' clients='"$clients"'
. test/lib/http.bash
tmp=$(mktemp -d)
trap "http_teardown; http_off; rm -rf $tmp" EXIT
http_setup hbench
port=$(free_port)
http_on "$port" http_workers="$clients"
export MLK_KEY=$(q -c "SELECT ml_create_api_key('\''$eng'\'', '\''bench'\'')")
# a consumer that scores through an exposure (metered, no limits)
q -c "SET ROLE $eng" -c "SELECT ml_expose('\''homes'\'', '\''$cons'\'')" >/dev/null
cons_key=$(q -c "SELECT ml_create_api_key('\''$cons'\'', '\''bench'\'')")
printf "%-38s %10s %9s %9s %9s %7s\n" "" "calls/s" "p50 ms" "p95 ms" "p99 ms" "errors"
row() { printf "%-38s %10.1f %9.3f %9.3f %9.3f %7s\n" "$@"; }
ratio() { printf "%-38s %10.2f %9.2f %9.2f %9.2f\n" "$1" "$(awk "BEGIN{print $2/$7}")" \
  "$(awk "BEGIN{print $3/$8}")" "$(awk "BEGIN{print $4/$9}")" "$(awk "BEGIN{print $5/${10}}")"; }
for nrows in 1 100; do
  export MLK_BODY=$(python3 -c "import json; print(json.dumps({\"rows\": [{\"x1\": i % 17, \"x2\": i % 5} for i in range($nrows)]}))")
  url="http://127.0.0.1:$port/v1/projects/homes/predict"
  # warm-ups load the model into every backend'\''s cache
  wrk -t2 -c"$clients" -d2s -s bench/http_predict.lua "$url" >/dev/null
  PGDATABASE=$db /usr/bin/python3 bench/http_client.py sql "$eng" "$MLK_BODY" "$clients" 2 >/dev/null
  read -r _ _ w_rps w50 w95 w99 w_bad < <(wrk -t2 -c"$clients" -d"${duration}s" -s bench/http_predict.lua "$url" | grep "^RESULT")
  read -r _ h_rps h50 h95 h99 h_bad < <(/usr/bin/python3 bench/http_client.py http "$port" "$MLK_KEY" "$MLK_BODY" "$clients" "$duration")
  read -r _ s_rps s50 s95 s99 s_bad < <(PGDATABASE=$db /usr/bin/python3 bench/http_client.py sql "$eng" "$MLK_BODY" "$clients" "$duration")
  read -r _ _ c_rps c50 c95 c99 c_bad < <(MLK_KEY=$cons_key wrk -t2 -c"$clients" -d"${duration}s" \
    -s bench/http_predict.lua "$url" | grep "^RESULT")
  echo "-- $nrows row(s) a call, $clients clients, ${duration} s each"
  row "HTTP, wrk (C client)" "$w_rps" "$w50" "$w95" "$w99" "$w_bad"
  row "HTTP, wrk, exposed consumer (metered)" "$c_rps" "$c50" "$c95" "$c99" "$c_bad"
  row "HTTP, Python client" "$h_rps" "$h50" "$h95" "$h99" "$h_bad"
  row "SQL, Python client (psycopg2)" "$s_rps" "$s50" "$s95" "$s99" "$s_bad"
  ratio "ratio HTTP / SQL (same Python client)" "$h_rps" "$h50" "$h95" "$h99" x "$s_rps" "$s50" "$s95" "$s99"
done
'
