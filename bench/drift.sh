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
q >/dev/null <<SQL
CREATE TABLE s AS
SELECT i AS id, (i * 7 % 101) / 3.0 AS a, (i * 13 % 97)::float8 AS b,
       (ARRAY['\''n'\'', '\''s'\'', '\''e'\'', '\''w'\''])[i % 4 + 1] AS region,
       CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 50)::float8 END AS c,
       timestamp '\''2024-01-01'\'' + i * interval '\''7 minutes'\'' AS at,
       (i % 3 = 0) AS flag,
       3 * ((i * 7 % 101) / 3.0) - 2 * (i * 13 % 97) + (i % 50) + (i * 7919 % 100) / 10.0 AS y
FROM generate_series(1, $rows) i;
ANALYZE s;
SELECT ml_create_project('\''lin'\'', '\''s'\'', '\''y'\'');
SELECT ml_create_project('\''gb'\'', '\''s'\'', '\''y'\'');
SELECT version FROM ml_train('\''lin'\'', '\''linear'\'');
SELECT version FROM ml_train('\''gb'\'', '\''gbdt'\'', '\''{"n_estimators": 100, "max_depth": 6}'\'');
SELECT ml_mark_ready('\''lin'\'', 1); SELECT ml_deploy('\''lin'\'', 1);
SELECT ml_mark_ready('\''gb'\'', 1); SELECT ml_deploy('\''gb'\'', 1);
SQL
time_of() {  # wall time (ms) of a statement after a setup statement, in a fresh session
  q -c "$1" -c "\\timing on" -c "$2" 2>&1 | grep -oE "Time: [0-9.]+" | tail -1 | awk "{print \$2}"
}
min() { awk "BEGIN{a=$1; b=$2; print (b < a ? b : a)}"; }
printf "rows: %s\n" "$rows"
for p in lin gb; do
  on=""; off=""
  for _ in 1 2 3 4 5; do
    q -c "DROP TABLE IF EXISTS o"
    t=$(time_of "SET pg_mlops.drift_log_scoring = off" "SELECT ml_score('\''$p'\'', '\''s'\'', '\''o'\'')")
    off=$([ -z "$off" ] && echo "$t" || min "$off" "$t")
    q -c "DROP TABLE IF EXISTS o"
    t=$(time_of "SET pg_mlops.drift_log_scoring = on" "SELECT ml_score('\''$p'\'', '\''s'\'', '\''o'\'')")
    on=$([ -z "$on" ] && echo "$t" || min "$on" "$t")
  done
  printf "%-44s %9s ms\n" "ml_score ($p), drift_log_scoring off" "$off"
  printf "%-44s %9s ms   ratio %.3f\n" "ml_score ($p), drift_log_scoring on" "$on" "$(awk "BEGIN{print $on/$off}")"
done
for p in lin gb; do
  on=""; off=""
  for _ in 1 2 3 4 5; do
    t=$(time_of "SET pg_mlops.drift_sample_rows = 0" "SELECT sum(ml_predict('\''$p'\'', s)) FROM s")
    off=$([ -z "$off" ] && echo "$t" || min "$off" "$t")
    t=$(time_of "SET pg_mlops.drift_sample_rows = 10" "SELECT sum(ml_predict('\''$p'\'', s)) FROM s")
    on=$([ -z "$on" ] && echo "$t" || min "$on" "$t")
  done
  printf "%-44s %9s ms\n" "ml_predict ($p), drift_sample_rows 0" "$off"
  printf "%-44s %9s ms   ratio %.3f\n" "ml_predict ($p), drift_sample_rows 10" "$on" "$(awk "BEGIN{print $on/$off}")"
done
q -At -c "SELECT source, count(*), sum(rows) FROM mlops.scoring_log GROUP BY 1 ORDER BY 1"
dropdb $db
'
