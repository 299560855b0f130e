#!/usr/bin/env bash
# Scoring cost: ml_score against a plain CREATE TABLE AS of the same rows,
# and ml_predict's cost per row against a trivial SQL function over the same
# rows, for a linear model and a gbdt (100 trees, depth 6). Builds, installs
# and runs in a throwaway cluster; prints best-of-3 wall times from psql's
# \timing and the ratios.
#
#   bash bench/score.sh [rows]        # default 200000 rows x 8 columns
#   CHECKPOINT_FIRST=1 bash bench/score.sh   # a CHECKPOINT before every timed run
#       (anchor and ml_score alike), so that none shares the machine with a
#       checkpoint that the WAL of the runs before it triggered
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
export CHECKPOINT_FIRST=${CHECKPOINT_FIRST:-0}
make -s all install >/dev/null
exec bash scripts/cluster.sh bash -c '
set -euo pipefail
rows='"$rows"'
db=mlops_bench_score
dropdb --if-exists $db 2>/dev/null; createdb $db
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" >/dev/null
q -v rows=$rows -f bench/score_table.sql >/dev/null
q >/dev/null <<SQL
CREATE FUNCTION trivial(p text, r s) RETURNS float8 LANGUAGE sql STABLE AS '\''SELECT r.a'\'';
SQL
best() {  # best of 3 wall times (ms) of a statement, run in a fresh session each time
  local b="" ck="SELECT 1"
  [ "$CHECKPOINT_FIRST" = 1 ] && ck=CHECKPOINT
  for _ in 1 2 3; do
    t=$(q -c "$1" -c "$ck" -c "\\timing on" -c "$2" 2>&1 | grep -oE "Time: [0-9.]+" | tail -1 | awk "{print \$2}")
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
  done
  echo "$b"
}
ctas=$(best "DROP TABLE IF EXISTS o" "CREATE TABLE o AS SELECT * FROM s")
printf "rows: %s\n" "$rows"
printf "%-46s %9s ms\n" "CREATE TABLE AS SELECT * FROM s" "$ctas"
for p in lin gb; do
  sc=$(best "DROP TABLE IF EXISTS o" "SELECT ml_score('\''$p'\'', '\''s'\'', '\''o'\'')")
  printf "%-46s %9s ms   ratio %.2f\n" "ml_score ($p)" "$sc" "$(awk "BEGIN{print $sc/$ctas}")"
done
triv=$(best "SELECT 1" "SELECT sum(trivial('\''x'\'', s)) FROM s")
printf "%-46s %9s ms\n" "sum(trivial SQL function(row))" "$triv"
for p in lin gb; do
  pr=$(best "SELECT 1" "SELECT sum(ml_predict('\''$p'\'', s)) FROM s")
  printf "%-46s %9s ms   %.2f us/row over the trivial function\n" "sum(ml_predict($p, row))" "$pr" \
    "$(awk "BEGIN{print ($pr-$triv)*1000/$rows}")"
done
dropdb $db
'
