#!/usr/bin/env bash
# Metering overhead: the same pgbench invocation scoring the deployed model
# as an engineer (direct access: not metered) and as a consumer through an
# exposure (metered; then also under a rows_per_day quota, charged row by
# row), for a single-row call and a 1,000-row SELECT. Rounds alternate the
# roles so a noisy neighbour hits both; prints tps and the ratio
# metered / unmetered per round and the median. Run inside a throwaway
# cluster (the preload is needed for metering):
#   flock /tmp/pg_mlops.lock sh -c 'make -s install && bash scripts/cluster.sh bash bench/metering.sh'
# SECS (default 5) per run, ROUNDS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-5}
rounds=${ROUNDS:-3}
. test/lib/api.bash
api_roles mbench
d=mlops_bench_metering
api_db $d
qd $d >/dev/null <<SQL
CREATE TABLE houses1000 AS SELECT * FROM houses CROSS JOIN generate_series(1, 4) LIMIT 1000;
GRANT SELECT ON houses1000 TO ml_engineer, ml_consumer;
SET ROLE $eng;
SELECT ml_expose('homes', '$cons');
SELECT ml_expose('homes', '$cons2', '{"rows_per_day": 1000000000000}');
SQL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; api_teardown' EXIT
echo "SELECT ml_predict('homes', '{\"x1\": 3, \"x2\": 1}'::jsonb);" >"$tmp/one.sql"
echo "SELECT sum(ml_predict('homes', h)) FROM houses1000 h;" >"$tmp/thousand.sql"

tps() {  # role script
  PGOPTIONS="-c role=$1" pgbench -n -M prepared -c 1 -T "$secs" -f "$2" "$d" 2>/dev/null |
    awk '/^tps/ { printf "%.1f", $3 }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for s in one thousand; do
  : >"$tmp/r_$s" ; : >"$tmp/q_$s"
  for r in $(seq "$rounds"); do
    e=$(tps $eng "$tmp/$s.sql"); c=$(tps $cons "$tmp/$s.sql"); k=$(tps $cons2 "$tmp/$s.sql")
    ratio=$(awk -v c="$c" -v e="$e" 'BEGIN { printf "%.3f", c / e }')
    qratio=$(awk -v c="$k" -v e="$e" 'BEGIN { printf "%.3f", c / e }')
    echo "$ratio" >>"$tmp/r_$s"; echo "$qratio" >>"$tmp/q_$s"
    echo "$s row(s), round $r: engineer $e tps | consumer (metered) $c tps, ratio $ratio | consumer under a quota $k tps, ratio $qratio"
  done
  echo "$s row(s): median ratio metered/unmetered $(median <"$tmp/r_$s"), under a quota $(median <"$tmp/q_$s")"
done
qd $d -c "SET ROLE $eng" -F ' ' -c "SELECT 'usage:', consumer, calls, rows, errors, latency_p50_ms, latency_p99_ms FROM ml_api_usage ORDER BY consumer"
