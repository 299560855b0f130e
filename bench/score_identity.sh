#!/usr/bin/env bash
# Bit-identity of tree scoring across two builds: trains gbdt (regression,
# binary, multiclass) and random_forest (regression, classification) on
# 6,000 rows with NULLs and a text category, and writes to OUTFILE every
# stored version's payload md5 and held-out metrics, every ml_score output
# and every per-row ml_predict / ml_predict_proba, in float8's exact text.
# Training is deterministic, so two builds that score alike write the same
# file. Run it once per build, each in its own cluster (the library is
# preloaded), then cmp the files:
#
#   (cd OLD && make -s install) && bash scripts/cluster.sh bash bench/score_identity.sh /tmp/old.txt
#   make -s install && bash scripts/cluster.sh bash bench/score_identity.sh /tmp/new.txt
#   cmp /tmp/old.txt /tmp/new.txt
set -euo pipefail
out=$1
db=mlops_score_identity
dropdb --if-exists $db 2>/dev/null; createdb $db
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" >/dev/null
q >/dev/null <<'SQL'
CREATE TABLE t AS
SELECT g AS id, CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 13 % 101) / 3.0 END AS x,
       (g * 31 % 97)::float8 AS b,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (ARRAY['n','s','e','w','ne','sw'])[g % 6 + 1] END AS zone,
       timestamp '2024-01-01' + g * interval '7 minutes' AS at,
       g % 3 = 0 AS flag,
       (g * 13 % 101) / 3.0 - 2 * (g % 50) + (g % 4) * 5 + (g * 7919 % 100) / 10.0 AS y,
       (ARRAY['lo','mid','hi'])[(g * 13 % 101) % 3 + 1] AS label3,
       (g * 7 % 10 < 4) AS label2
FROM generate_series(1, 6000) g;
SELECT ml_create_project('gr', 't', 'y');
SELECT ml_create_project('gb', 't', 'label2', 'classification');
SELECT ml_create_project('gm', 't', 'label3', 'classification');
SELECT ml_create_project('fr', 't', 'y');
SELECT ml_create_project('fc', 't', 'label3', 'classification');
SELECT version FROM ml_train('gr', 'gbdt', '{"n_estimators": 60, "max_depth": 6}', '{"exclude": ["id","label3","label2"]}');
SELECT version FROM ml_train('gb', 'gbdt', '{"n_estimators": 30, "max_depth": 5}', '{"exclude": ["id","label3","y"]}');
SELECT version FROM ml_train('gm', 'gbdt', '{"n_estimators": 20, "max_leaf_nodes": 20}', '{"exclude": ["id","label2","y"]}');
SELECT version FROM ml_train('fr', 'random_forest', '{"n_estimators": 20}', '{"exclude": ["id","label3","label2"]}');
SELECT version FROM ml_train('fc', 'random_forest', '{"n_estimators": 15, "max_depth": 10}', '{"exclude": ["id","label2","y"]}');
SELECT ml_mark_ready(p, 1), ml_deploy(p, 1) FROM unnest(ARRAY['gr','gb','gm','fr','fc']) p;
SQL
{
  q -c "SELECT project_id, version, md5(payload), metrics FROM mlops.models ORDER BY 1, 2"
  for p in gr gb gm fr fc; do
    q -c "SELECT ml_score('$p', 't', 'o_$p')" >/dev/null
    q -c "SELECT id, prediction, probabilities FROM o_$p ORDER BY id" 2>/dev/null || q -c "SELECT id, prediction FROM o_$p ORDER BY id"
  done
  for p in gr fr; do q -c "SELECT id, ml_predict('$p', t) FROM t ORDER BY id"; done
  for p in gb gm fc; do q -c "SELECT id, ml_predict_proba('$p', t) FROM t ORDER BY id"; done
} > "$out"
dropdb $db
