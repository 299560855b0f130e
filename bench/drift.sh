#!/usr/bin/env bash
# Drift logging cost: ml_score with the scoring log (each block's rows
# counted on the training profile's bins, one mlops.scoring_log row, the
# window's drift checked) against the same ml_score with
# pg_mlops.drift_log_scoring off, for a linear model and a gbdt (100 trees,
# depth 6); and ml_predict with pg_mlops.drift_sample_rows = 10 against 0.
# Same table and invocation; best of 5 wall times from psql's \timing,
# alternating on and off; prints the ratios.
#
#   bash bench/drift.sh [rows]        # default 200000 rows x 8 columns
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
make -s all install >/dev/null
exec bash scripts/cluster.sh bash -c '
set -euo pipefail
rows='"$rows"'
db=mlops_bench_drift
dropdb --if-exists $db 2>/dev/null; createdb $db
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" >/dev/null
q -v rows=$rows -f bench/score_table.sql >/dev/null
time_of() {  # wall time (ms) of a statement after a setup statement, in a fresh session
  q -c "$1" -c "\\timing on" -c "$2" 2>&1 | grep -oE "Time: [0-9.]+" | tail -1 | awk "{print \$2}"
}
min() { awk "BEGIN{a=$1; b=$2; print (b < a ? b : a)}"; }
printf "rows: %s\n" "$rows"
# compare LABEL SETTING OFF ON STATEMENT [CLEANUP]: best of 5 with the setting off and on
compare() {
  local label=$1 setting=$2 v_off=$3 v_on=$4 stmt=$5 cleanup=${6:-} on="" off="" t
  for _ in 1 2 3 4 5; do
    if [ -n "$cleanup" ]; then q -c "$cleanup"; fi
    t=$(time_of "SET $setting = $v_off" "$stmt")
    off=$([ -z "$off" ] && echo "$t" || min "$off" "$t")
    if [ -n "$cleanup" ]; then q -c "$cleanup"; fi
    t=$(time_of "SET $setting = $v_on" "$stmt")
    on=$([ -z "$on" ] && echo "$t" || min "$on" "$t")
  done
  printf "%-52s %9s ms\n" "$label, $setting $v_off" "$off"
  printf "%-52s %9s ms   ratio %.3f\n" "$label, $setting $v_on" "$on" "$(awk "BEGIN{print $on/$off}")"
}
for p in lin gb; do
  compare "ml_score ($p)" pg_mlops.drift_log_scoring off on \
    "SELECT ml_score('\''$p'\'', '\''s'\'', '\''o'\'')" "DROP TABLE IF EXISTS o"
done
for p in lin gb; do
  compare "ml_predict ($p)" pg_mlops.drift_sample_rows 0 10 "SELECT sum(ml_predict('\''$p'\'', s)) FROM s"
done
q -At -c "SELECT source, count(*), sum(rows) FROM mlops.scoring_log GROUP BY 1 ORDER BY 1"
dropdb $db
'
