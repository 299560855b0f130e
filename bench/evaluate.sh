#!/usr/bin/env bash
# ml_evaluate's cost against scoring the same rows in SQL, in the same
# invocation: ROWS rows (default 200000) x 6 columns, a gbdt of 50 trees.
#   ml_evaluate              : every metric of the task
#   ml_score                 : the same rows scored into a new table (anchor)
#   SQL RMSE over ml_predict : per-row scoring plus an aggregate (anchor)
#   ml_evaluate + permutation: 5 shuffles per source column (5 columns)
# Run under the shared lock inside a throwaway cluster:
#   flock /tmp/pg_mlops.lock sh -c 'make -s install && bash scripts/cluster.sh bash bench/evaluate.sh'
set -euo pipefail
rows=${ROWS:-200000}
db=mlops_bench_evaluate
dropdb --if-exists "$db" 2>/dev/null || true
createdb "$db"
trap 'dropdb --if-exists "$db" 2>/dev/null || true' EXIT
q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
CREATE TABLE t AS SELECT g AS id, sin(g) AS x1, (g % 17)::float8 AS x2, cos(g * 0.7) AS x3,
       (ARRAY['a', 'b', 'c', 'd'])[g % 4 + 1] AS k, date '2020-01-01' + (g % 900) AS d,
       3 * sin(g) + 0.2 * (g % 17) + (g % 4) + sin(g * 7.7) AS y
FROM generate_series(1, $rows) g;
ANALYZE t;
SELECT ml_create_project('p', 't', 'y');
SELECT version FROM ml_train('p', 'gbdt', '{"n_estimators": 50}');
SELECT ml_mark_ready('p', 1);
SELECT ml_deploy('p', 1);
SQL
time_of() {  # median of 3 runs, seconds
  for _ in 1 2 3; do
    q -c "DROP TABLE IF EXISTS s" >/dev/null
    local t0 t1
    t0=$(date +%s.%N); q -c "$1" >/dev/null; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
  done | sort -n | sed -n 2p
}
ev=$(time_of "SELECT ml_evaluate('p', 1, 't')")
sc=$(time_of "SELECT ml_score('p', 't', 's')")
sq=$(time_of "SELECT sqrt(avg((ml_predict('p', t) - y) ^ 2)) FROM t")
pi=$(time_of "SELECT ml_evaluate('p', 1, 't', '{\"permutation_importance\": true}')")
printf 'rows %s\n' "$rows"
printf '%-34s %8.3f s  %5.2fx ml_score  %5.2fx SQL RMSE\n' "ml_evaluate" "$ev" "$(echo "$ev / $sc" | bc -l)" "$(echo "$ev / $sq" | bc -l)"
printf '%-34s %8.3f s\n' "ml_score (anchor)" "$sc"
printf '%-34s %8.3f s\n' "SQL RMSE over ml_predict (anchor)" "$sq"
printf '%-34s %8.3f s  %5.2fx ml_evaluate (25 extra scorings)\n' "ml_evaluate + permutation (5x5)" "$pi" "$(echo "$pi / $ev" | bc -l)"
