#!/usr/bin/env bash
# ml_export_pmml: every exportable algorithm on every task it supports
# (regression, binary, multiclass), trained on rows with NULLs, a text
# category (a quote and a backslash in two of its levels, a non-ASCII one)
# and a boolean. Each export must validate against the PMML 4.4 schema
# (test/pmml/pmml-4-4.xsd, JPMML's), and a PMML evaluator written for the
# test (test/pmml/evaluate.py, standard library only) must give, on the
# training rows plus rows with unseen levels and all-NULL rows, the
# predictions of ml_predict (score_value) and the probabilities of
# ml_predict_proba (score_proba) to 1e-9 relative. Prints TAP; run with
# prove inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
db=mlops_pmml
tmp=$(mktemp -d)
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
cleanup() {
  dropdb --if-exists "$db" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
dropdb --if-exists "$db" 2>/dev/null || true
createdb -E UTF8 -T template0 "$db"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
-- Deterministic "real-ish" rows: two numbers with gaps, a category with
-- gaps, a boolean; targets driven by all of them plus noise.
CREATE TABLE pm AS
SELECT g AS id,
       CASE WHEN g % 13 = 0 THEN NULL ELSE round((10 * sin(g * 0.7) + g * 0.05)::numeric, 3) END AS a,
       CASE WHEN g % 17 = 0 THEN NULL ELSE (cos(g * 1.3) * 5)::float8 END AS b,
       CASE WHEN g % 11 = 0 THEN NULL
            ELSE (ARRAY['red', 'green', 'blue', 'sky "blue"', 'back\slash', 'grün'])[1 + (g * 7) % 6] END AS c,
       g % 3 = 0 AS flag
FROM generate_series(1, 240) g;
ALTER TABLE pm ADD COLUMN score float8;
UPDATE pm SET score = coalesce(a, 2)::float8 * 0.8 - coalesce(b, -1) * 1.1
    + CASE c WHEN 'red' THEN 3 WHEN 'green' THEN -2 WHEN 'back\slash' THEN 1.5 WHEN 'grün' THEN -4 ELSE 0 END
    + CASE WHEN flag THEN 2 ELSE 0 END + sin(id * 3.1);
ALTER TABLE pm ADD COLUMN y float8, ADD COLUMN yb text, ADD COLUMN ym text;
UPDATE pm SET y = score + 10,
              yb = CASE WHEN score > 1 THEN 'yes' ELSE 'no' END,
              ym = CASE WHEN score < -2 THEN 'lo' WHEN score < 4 THEN 'mid' ELSE 'hi' END;
-- Rows to score: the training rows, unseen levels, NULL everywhere.
CREATE TABLE pm_score AS SELECT id, a, b, c, flag FROM pm;
INSERT INTO pm_score VALUES (1001, 3.5, 1.25, 'purple', true), (1002, NULL, NULL, NULL, NULL),
    (1003, -8, 4, 'RED', false), (1004, 1e6, -1e6, 'blue', NULL);
SELECT ml_create_project('pm_reg', 'pm', 'y', 'regression');
SELECT ml_create_project('pm_bin', 'pm', 'yb', 'classification');
SELECT ml_create_project('pm_multi', 'pm', 'ym', 'classification');
SQL

cases=(
  "pm_reg linear {}"
  "pm_reg ridge {\"alpha\":2}"
  "pm_reg lasso {\"alpha\":0.05}"
  "pm_reg elastic_net {\"alpha\":0.05,\"l1_ratio\":0.3}"
  "pm_reg gbdt {\"n_estimators\":25,\"max_depth\":3}"
  "pm_reg random_forest {\"n_estimators\":8,\"max_depth\":6}"
  "pm_bin logistic {}"
  "pm_bin gbdt {\"n_estimators\":20,\"max_depth\":3}"
  "pm_bin random_forest {\"n_estimators\":8,\"max_depth\":6}"
  "pm_multi logistic {\"C\":0.5}"
  "pm_multi gbdt {\"n_estimators\":15,\"max_depth\":3}"
  "pm_multi random_forest {\"n_estimators\":8}"
)
echo "1..$(( ${#cases[@]} * 2 + 1 ))"
n=0
paths=""
opts='{"features": ["a", "b", "c", "flag"]}'
for c in "${cases[@]}"; do
  read -r project alg hp <<<"$c"
  version=$(q -c "SELECT version FROM ml_train('$project', '$alg', '$hp', '$opts')")
  name="$alg on $project (version $version)"
  q -c "SELECT ml_export_pmml('$project', $version)" >"$tmp/m.pmml"
  n=$((n + 1))
  if out=$(xmllint --noout --schema test/pmml/pmml-4-4.xsd "$tmp/m.pmml" 2>&1); then
    echo "ok $n - $name: valid PMML 4.4 ($(wc -c <"$tmp/m.pmml") bytes)"
  else
    echo "not ok $n - $name: $(echo "$out" | head -3)"
  fi
  # the inputs as the model's type output prints them (a boolean as t / f)
  if [ "$project" = pm_reg ]; then
    answer="'pred', mlops.score_value('$project', m.id, s)"
  else
    answer="'label', mlops.score_label('$project', m.id, s), 'proba', mlops.score_proba('$project', m.id, s)"
  fi
  q >"$tmp/rows.json" <<SQL
SELECT json_agg(json_build_object('a', s.a, 'b', s.b, 'c', s.c,
                                  'flag', CASE WHEN s.flag THEN 't' WHEN NOT s.flag THEN 'f' END,
                                  $answer) ORDER BY s.id)
FROM pm_score s, mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name = '$project' AND m.version = $version;
SQL
  n=$((n + 1))
  if out=$(/usr/bin/python3 test/pmml/evaluate.py "$tmp/m.pmml" "$tmp/rows.json" 2>&1); then
    echo "ok $n - $name: the PMML evaluator gives the database's predictions ($out)"
    case $alg in gbdt | random_forest) paths="$paths $out" ;; esac
  else
    echo "not ok $n - $name: $out"
  fi
done

# The tree exports must have sent missing values down defaultChild, tested
# a level set (SimpleSetPredicate) and, for a set holding the level with a
# backslash, equal / notEqual terms: else the data did not test them.
n=$((n + 1))
sum() { tr ' ' '\n' | grep "^$1=" | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }'; }
d=$(echo "$paths" | sum missing_routed); s=$(echo "$paths" | sum set_tests); e=$(echo "$paths" | sum equal_tests)
if [ "$d" -gt 0 ] && [ "$s" -gt 0 ] && [ "$e" -gt 0 ]; then
  echo "ok $n - tree exports took every path: $d missing routed, $s set tests, $e equal tests"
else
  echo "not ok $n - tree exports: $d missing routed, $s set tests, $e equal tests"
fi
