#!/usr/bin/env bash
# Metering overhead: the same pgbench invocation scoring the deployed model
# as an engineer (direct access: not metered) and as a consumer through an
# exposure (metered; then also under a rows_per_day quota, charged row by
# row), for a single-row call and a 1,000-row SELECT. Rounds alternate the
# roles so a noisy neighbour hits both; prints tps and the ratio
# metered / unmetered per round, the median ratio, and the ratio of the
# best runs (the least disturbed by other processes on a shared machine). Then the per-row cost
# without the client: one statement over 300,000 rows per role, best of
# seven. Run inside a throwaway cluster (the preload is needed for metering):
#   flock /tmp/pg_mlops.lock sh -c 'make -s install && bash scripts/cluster.sh bash bench/metering.sh'
# SECS (default 2) per run, ROUNDS (default 9).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-2}
rounds=${ROUNDS:-9}
. test/lib/api.bash
api_roles mbench
d=mlops_bench_metering
api_db $d
qd $d >/dev/null <<SQL
CREATE TABLE houses1000 AS SELECT * FROM houses CROSS JOIN generate_series(1, 4) LIMIT 1000;
CREATE TABLE houses300k AS SELECT h.* FROM houses h CROSS JOIN generate_series(1, 1000);
GRANT SELECT ON houses1000, houses300k TO ml_engineer, ml_consumer;
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
  : >"$tmp/r_$s"; : >"$tmp/q_$s"; : >"$tmp/be_$s"; : >"$tmp/bc_$s"; : >"$tmp/bk_$s"
  for r in $(seq "$rounds"); do
    # alternate the order: a neighbour's burst does not always hit the same role
    if [ $((r % 2)) = 1 ]; then
      e=$(tps $eng "$tmp/$s.sql"); c=$(tps $cons "$tmp/$s.sql"); k=$(tps $cons2 "$tmp/$s.sql")
    else
      k=$(tps $cons2 "$tmp/$s.sql"); c=$(tps $cons "$tmp/$s.sql"); e=$(tps $eng "$tmp/$s.sql")
    fi
    ratio=$(awk -v c="$c" -v e="$e" 'BEGIN { printf "%.3f", c / e }')
    qratio=$(awk -v c="$k" -v e="$e" 'BEGIN { printf "%.3f", c / e }')
    echo "$ratio" >>"$tmp/r_$s"; echo "$qratio" >>"$tmp/q_$s"
    echo "$e" >>"$tmp/be_$s"; echo "$c" >>"$tmp/bc_$s"; echo "$k" >>"$tmp/bk_$s"
    echo "$s row(s), round $r: engineer $e tps | consumer (metered) $c tps, ratio $ratio | consumer under a quota $k tps, ratio $qratio"
  done
  be=$(sort -g "$tmp/be_$s" | tail -1); bc=$(sort -g "$tmp/bc_$s" | tail -1); bk=$(sort -g "$tmp/bk_$s" | tail -1)
  echo "$s row(s): median ratio metered/unmetered $(median <"$tmp/r_$s"), under a quota $(median <"$tmp/q_$s");" \
       "best runs: engineer $be tps, metered $bc ($(awk -v a="$bc" -v b="$be" 'BEGIN { printf "%.3f", a / b }')), under a quota $bk ($(awk -v a="$bk" -v b="$be" 'BEGIN { printf "%.3f", a / b }'))"
done
best() {  # role: the fastest of seven 300,000-row statements, in ms
  { echo "SET ROLE $1;"; echo '\timing on'
    for _ in 1 2 3 4 5 6 7; do echo "SELECT sum(ml_predict('homes', h)) FROM houses300k h;"; done; } |
    psql -X -q -d $d 2>&1 | awk '/^Time:/ { t = $2 + 0; if (b == "" || t < b) b = t } END { printf "%.1f", b }'
}
# interleaved, so a disturbance hits the three alike; the best of each
: >"$tmp/te"; : >"$tmp/tc"; : >"$tmp/tk"
for _ in 1 2 3; do best $eng >>"$tmp/te"; echo >>"$tmp/te"; best $cons >>"$tmp/tc"; echo >>"$tmp/tc"
                   best $cons2 >>"$tmp/tk"; echo >>"$tmp/tk"; done
be=$(sort -g "$tmp/te" | head -1); bc=$(sort -g "$tmp/tc" | head -1); bk=$(sort -g "$tmp/tk" | head -1)
echo "300,000 rows in one statement, best of 21: engineer $be ms | consumer (metered) $bc ms ($(awk -v a="$bc" -v b="$be" 'BEGIN { printf "%+.1f %%", 100 * (a / b - 1) }')) | under a quota $bk ms ($(awk -v a="$bk" -v b="$be" 'BEGIN { printf "%+.1f %%", 100 * (a / b - 1) }'))"
qd $d -c "SET ROLE $eng" -F ' ' -c "SELECT 'usage:', consumer, calls, rows, errors, latency_p50_ms, latency_p99_ms FROM ml_api_usage ORDER BY consumer"
