#!/usr/bin/env bash
# ml_predict's per-row cost with a recipe's model-based fills replayed
# (features_replay.c): a linear model trained with a groupwise, a regression
# and a chain recipe, scored on rows whose x is never NULL (the fast path)
# and on rows whose x is always NULL (the recipe's steps run on a one-row
# frame), against the same model trained with {"recipe": "none"}. Builds,
# installs and runs in a throwaway cluster; best of 3 wall times from psql's
# \timing, per row.
#
#   flock /tmp/pg_mlops.lock bash bench/replay.sh [rows]   # default 20000 scored rows
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-20000}
make -s all install >/dev/null
exec bash scripts/cluster.sh bash -c '
set -euo pipefail
rows='"$rows"'
db=mlops_bench_replay
dropdb --if-exists $db 2>/dev/null; createdb $db
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" >/dev/null
q -v rows=$rows >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE t AS
SELECT i AS id, (ARRAY[\$\$a\$\$, \$\$b\$\$, \$\$c\$\$, \$\$d\$\$])[i % 4 + 1] AS g,
       CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 4) * 3 + (i * 17 % 11) / 5.0 END AS x,
       (i % 4) * 6 + (i * 7 % 5) / 3.0 AS z, i % 7 AS n,
       3 * ((i % 4) * 3 + (i * 17 % 11) / 5.0) - (i % 7) + (i * 29 % 13) / 6.0 AS y
FROM generate_series(1, 5000) i;
CREATE TABLE s_full AS SELECT i AS id, (ARRAY[\$\$a\$\$, \$\$b\$\$, \$\$c\$\$, \$\$d\$\$])[i % 4 + 1] AS g,
       (i % 4) * 3 + (i * 17 % 11) / 5.0 AS x, (i % 4) * 6 + (i * 7 % 5) / 3.0 AS z, i % 7 AS n
FROM generate_series(1, :rows) i;
CREATE TABLE s_null AS SELECT id, g, NULL::float8 AS x, z, n FROM s_full;
SELECT ml_create_project(\$\$p_none\$\$, \$\$t\$\$, \$\$y\$\$);
SELECT version FROM ml_train(\$\$p_none\$\$, \$\$linear\$\$, options => \$\${"exclude": ["id"], "recipe": "none"}\$\$);
SELECT ml_mark_ready(\$\$p_none\$\$, 1); SELECT ml_deploy(\$\$p_none\$\$, 1);
SELECT count(*) FROM ml_impute(\$\$t\$\$, ARRAY[\$\$x\$\$], \$\$groupwise\$\$, \$\${"by": ["g"]}\$\$, into_table => \$\$t_gw\$\$);
SELECT ml_create_project(\$\$p_gw\$\$, \$\$t\$\$, \$\$y\$\$);
SELECT version FROM ml_train(\$\$p_gw\$\$, \$\$linear\$\$, options => jsonb_build_object(\$\$exclude\$\$, \$\$["id"]\$\$::jsonb, \$\$recipe\$\$, (SELECT max(id) FROM mlops.recipes)));
SELECT ml_mark_ready(\$\$p_gw\$\$, 1); SELECT ml_deploy(\$\$p_gw\$\$, 1);
SELECT count(*) FROM ml_impute(\$\$t\$\$, ARRAY[\$\$x\$\$], \$\$regression\$\$, \$\${"exclude_features": ["id", "y"]}\$\$, into_table => \$\$t_rg\$\$);
SELECT ml_create_project(\$\$p_rg\$\$, \$\$t\$\$, \$\$y\$\$);
SELECT version FROM ml_train(\$\$p_rg\$\$, \$\$linear\$\$, options => jsonb_build_object(\$\$exclude\$\$, \$\$["id"]\$\$::jsonb, \$\$recipe\$\$, (SELECT max(id) FROM mlops.recipes)));
SELECT ml_mark_ready(\$\$p_rg\$\$, 1); SELECT ml_deploy(\$\$p_rg\$\$, 1);
SELECT count(*) FROM ml_impute(\$\$t\$\$, ARRAY[\$\$x\$\$, \$\$z\$\$], \$\$chain\$\$, \$\${"exclude_features": ["id", "y"]}\$\$, into_table => \$\$t_ch\$\$);
SELECT ml_create_project(\$\$p_ch\$\$, \$\$t\$\$, \$\$y\$\$);
SELECT version FROM ml_train(\$\$p_ch\$\$, \$\$linear\$\$, options => jsonb_build_object(\$\$exclude\$\$, \$\$["id"]\$\$::jsonb, \$\$recipe\$\$, (SELECT max(id) FROM mlops.recipes)));
SELECT ml_mark_ready(\$\$p_ch\$\$, 1); SELECT ml_deploy(\$\$p_ch\$\$, 1);
ANALYZE s_full; ANALYZE s_null;
SQL
best() {  # best of 3 wall times (ms), each in a fresh session after a warm-up call
  local b=""
  for _ in 1 2 3; do
    t=$(q -c "$1" -c "\\timing on" -c "$2" 2>&1 | grep -oE "Time: [0-9.]+" | tail -1 | awk "{print \$2}")
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
  done
  echo "$b"
}
printf "scored rows: %s; us per row (best of 3)\n" "$rows"
printf "%-8s %18s %18s %18s %18s\n" "model" "ml_predict, no NULL" "ml_predict, NULL x" \
  "ml_score, no NULL" "ml_score, NULL x"
for p in p_none p_gw p_rg p_ch; do
  warm="SELECT ml_predict('\''$p'\'', s) FROM s_full s LIMIT 1"
  f=$(best "$warm" "SELECT sum(ml_predict('\''$p'\'', s)) FROM s_full s")
  n=$(best "$warm" "SELECT sum(ml_predict('\''$p'\'', s)) FROM s_null s")
  sf=$(best "DROP TABLE IF EXISTS o" "SELECT ml_score('\''$p'\'', '\''s_full'\'', '\''o'\'')")
  sn=$(best "DROP TABLE IF EXISTS o" "SELECT ml_score('\''$p'\'', '\''s_null'\'', '\''o'\'')")
  printf "%-8s %18.2f %18.2f %18.2f %18.2f\n" "$p" "$(awk "BEGIN{print $f*1000/$rows}")" \
    "$(awk "BEGIN{print $n*1000/$rows}")" "$(awk "BEGIN{print $sf*1000/$rows}")" \
    "$(awk "BEGIN{print $sn*1000/$rows}")"
done
'
