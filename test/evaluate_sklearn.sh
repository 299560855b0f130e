#!/usr/bin/env bash
# ml_evaluate's metrics agree with scikit-learn's (sklearn.metrics, Debian
# /usr/bin/python3) on the same predictions, to 1e-9: the predictions are
# read back row by row (mlops.score_value / score_proba with the version
# pinned), the metrics recomputed in Python and compared with the jsonb.
# Cases: regression with zero targets and NULL targets, binary, multiclass,
# multiclass with a class the rows never have (macro means over the classes
# that occur or are predicted) and unseen labels. Prints TAP; run with prove
# inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
db=mlops_evaluate_sklearn
tmp=$(mktemp -d)
trap 'dropdb --if-exists "$db" 2>/dev/null || true; rm -rf "$tmp"' EXIT
dropdb --if-exists "$db" 2>/dev/null || true
createdb "$db"
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
-- regression: noisy, some zero targets, a NULL target
CREATE TABLE r_train AS SELECT g AS id, sin(g) AS x1, (g % 9)::float8 AS x2, (ARRAY['u', 'v', 'w'])[g % 3 + 1] AS k,
       round((3 * sin(g) + 0.5 * (g % 9) + (g % 3) + sin(g * 7.7))::numeric, 1)::float8 AS y
FROM generate_series(1, 400) g;
CREATE TABLE r_new AS SELECT g AS id, sin(g) AS x1, (g % 9)::float8 AS x2, (ARRAY['u', 'v', 'w'])[g % 3 + 1] AS k,
       CASE WHEN g % 37 = 0 THEN NULL ELSE round((3 * sin(g) + 0.5 * (g % 9) + (g % 3) + sin(g * 7.7))::numeric, 1)::float8 END AS y
FROM generate_series(401, 700) g;
-- binary and multiclass with overlapping classes (probabilities away from 0 and 1)
CREATE TABLE b_train AS SELECT g AS id, sin(g) AS x1, cos(g * 1.3) AS x2,
       CASE WHEN sin(g) + cos(g * 1.3) + sin(g * 5.1) > 0 THEN 'yes' ELSE 'no' END AS label
FROM generate_series(1, 400) g;
CREATE TABLE b_new AS SELECT g AS id, sin(g) AS x1, cos(g * 1.3) AS x2,
       CASE WHEN sin(g) + cos(g * 1.3) + sin(g * 5.1) > 0 THEN 'yes' ELSE 'no' END AS label
FROM generate_series(401, 700) g;
CREATE TABLE m_train AS SELECT g AS id, sin(g) AS x1, cos(g * 1.3) AS x2,
       (ARRAY['a', 'b', 'c'])[1 + (floor((sin(g) + cos(g * 1.3) + sin(g * 5.1) + 3) * 0.5)::int % 3)] AS label
FROM generate_series(1, 400) g;
CREATE TABLE m_new AS SELECT g AS id, sin(g) AS x1, cos(g * 1.3) AS x2,
       (ARRAY['a', 'b', 'c'])[1 + (floor((sin(g) + cos(g * 1.3) + sin(g * 5.1) + 3) * 0.5)::int % 3)] AS label
FROM generate_series(401, 700) g;
-- without class c, with labels never seen
CREATE TABLE m_partial AS SELECT * FROM m_new WHERE label <> 'c';
UPDATE m_partial SET label = 'zz' WHERE id % 23 = 0;
SELECT ml_create_project('r', 'r_train', 'y');
SELECT ml_create_project('b', 'b_train', 'label', 'classification');
SELECT ml_create_project('m', 'm_train', 'label', 'classification');
SELECT version FROM ml_train('r', 'ridge');
SELECT version FROM ml_train('r', 'gbdt', '{"n_estimators": 30}');
SELECT version FROM ml_train('b', 'logistic', '{"C": 0.5}');
SELECT version FROM ml_train('m', 'gbdt', '{"n_estimators": 20, "max_depth": 3}');
SQL

# case NAME PROJECT VERSION RELATION KIND: the evaluation and the pinned predictions.
cases=()
case_() {
  local name=$1 project=$2 version=$3 rel=$4 kind=$5 id
  id=$(q -c "SELECT m.id FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
             WHERE p.name = '$project' AND m.version = $version")
  q -c "SELECT ml_evaluate('$project', $version, '$rel')" >"$tmp/$name.json"
  if [ "$kind" = regression ]; then
    q -F, -c "SELECT y, mlops.score_value('$project', $id, t) FROM $rel t WHERE y IS NOT NULL ORDER BY id" >"$tmp/$name.csv"
  else
    q -F'|' -c "SELECT label, mlops.score_proba('$project', $id, t) FROM $rel t WHERE label IS NOT NULL ORDER BY id" >"$tmp/$name.csv"
  fi
  cases+=("$name:$kind")
}
case_ ridge r 1 r_new regression
case_ gbdt_reg r 2 r_new regression
case_ logistic b 1 b_new classification
case_ gbdt_multi m 1 m_new classification
case_ partial m 1 m_partial classification

/usr/bin/python3 - "$tmp" "${cases[@]}" <<'PY'
import json, math, sys, warnings
import numpy as np
from sklearn import metrics as M
warnings.filterwarnings("ignore")
tmp, cases = sys.argv[1], sys.argv[2:]
checks = []

def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))

def check(name, what, got, want):
    ok = close(got, want) if not isinstance(want, list) else got == want
    checks.append((ok, f"{name}: {what} {got!r} == scikit-learn {want!r}"))

for c in cases:
    name, kind = c.split(":")
    e = json.load(open(f"{tmp}/{name}.json"))
    if kind == "regression":
        d = np.loadtxt(f"{tmp}/{name}.csv", delimiter=",", ndmin=2)
        y, p = d[:, 0], d[:, 1]
        nz = y != 0
        check(name, "rows_scored", e["rows_scored"], float(len(y)))
        check(name, "rmse", e["rmse"], math.sqrt(M.mean_squared_error(y, p)))
        check(name, "mae", e["mae"], M.mean_absolute_error(y, p))
        check(name, "r2", e["r2"], M.r2_score(y, p))
        check(name, "mape (non-zero targets)", e["mape"], M.mean_absolute_percentage_error(y[nz], p[nz]))
        check(name, "mape_zero_targets", e["mape_zero_targets"], float((~nz).sum()))
        continue
    classes = e["classes"]
    labels, probs = [], []
    for line in open(f"{tmp}/{name}.csv"):
        label, proba = line.rstrip("\n").split("|", 1)
        labels.append(label)
        probs.append(json.loads(proba))
    unseen = sum(l not in classes for l in labels)
    keep = [i for i, l in enumerate(labels) if l in classes]
    y = np.array([classes.index(labels[i]) for i in keep])
    P = np.array([[probs[i][k] for k in classes] for i in keep])
    pred = P.argmax(axis=1)
    k = len(classes)
    check(name, "rows_unseen_label", e["rows_unseen_label"], float(unseen))
    check(name, "accuracy", e["accuracy"], M.accuracy_score(y, pred))
    check(name, "balanced_accuracy", e["balanced_accuracy"], M.balanced_accuracy_score(y, pred))
    for m in ("precision", "recall", "f1"):
        f = getattr(M, f"{m}_score")
        check(name, m, e[m], f(y, pred, average="macro", zero_division=0))
    check(name, "log_loss", e["log_loss"], M.log_loss(y, P, labels=list(range(k))))
    check(name, "confusion_matrix", e["confusion_matrix"], M.confusion_matrix(y, pred, labels=list(range(k))).tolist())
    if len(set(y)) == k:
        want = M.roc_auc_score(y, P[:, 1]) if k == 2 else M.roc_auc_score(y, P, multi_class="ovr", average="macro")
        check(name, "roc_auc", e["roc_auc"], want)
print(f"1..{len(checks)}")
for i, (ok, text) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {text}")
PY
