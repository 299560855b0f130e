#!/usr/bin/env bash
# KNN with option "distance": "nan_euclidean" gives scikit-learn's
# KNNImputer fills (Debian /usr/bin/python3, python3-sklearn) on a real
# table with gaps in every column: scikit-learn's diabetes data, 15 % of
# every column hidden at random, each column filled on its own (ml_impute
# fills later columns from earlier fills; KNNImputer from the gaps), the
# table standardised for KNNImputer as pg_mlops standardises its inputs
# (observed mean, sample standard deviation). Prints TAP; run with prove
# inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
db=mlops_knn_sklearn
dropdb --if-exists "$db" 2>/dev/null || true
createdb "$db"
trap 'dropdb --if-exists "$db" 2>/dev/null || true' EXIT
KNN_DB=$db /usr/bin/python3 - <<'PY'
import os
import warnings

import numpy as np
import psycopg2
from sklearn.datasets import load_diabetes
from sklearn.impute import KNNImputer

conn = psycopg2.connect(dbname=os.environ["KNN_DB"])
conn.autocommit = True
cur = conn.cursor()
cur.execute("SET client_min_messages = warning; CREATE EXTENSION pg_mlops")

d = load_diabetes(as_frame=True).frame.drop(columns=["sex"])   # sex: two levels, a vote, not a mean
cols = list(d.columns)
X = d.values.astype(float)
rng = np.random.default_rng(3)
hidden = np.zeros(X.shape, dtype=bool)
for j in range(X.shape[1]):
    hidden[rng.choice(len(X), size=int(round(0.15 * len(X))), replace=False), j] = True
M = np.where(hidden, np.nan, X)

cur.execute("CREATE TABLE kd (rid int PRIMARY KEY, " + ", ".join(f'"{c}" float8' for c in cols) + ")")
cur.executemany("INSERT INTO kd VALUES (" + ", ".join(["%s"] * (len(cols) + 1)) + ")",
                [[i] + [None if np.isnan(v) else float(v) for v in row] for i, row in enumerate(M)])

mean = np.nanmean(M, axis=0)
sd = np.nanstd(M, axis=0, ddof=1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    Z = KNNImputer(n_neighbors=5).fit_transform((M - mean) / sd) * sd + mean

tests = []
for j, c in enumerate(cols):
    cur.execute("DROP TABLE IF EXISTS kd_out")
    cur.execute("SELECT filled, method FROM ml_impute('kd', ARRAY[%s], 'knn', "
                "'{\"k\": 5, \"distance\": \"nan_euclidean\", \"roles\": {\"rid\": \"identifier\"}}', "
                "into_table => 'kd_out')", (c,))
    filled, method = cur.fetchone()
    cur.execute(f'SELECT rid, "{c}" FROM kd_out ORDER BY rid')
    got = np.array([v for _, v in cur.fetchall()], dtype=float)
    rows = hidden[:, j]
    diff = np.max(np.abs(got[rows] - Z[rows, j]) / sd[j])
    tests.append((f"{c}: {filled} fills ({method}) equal KNNImputer's, largest difference {diff:.1e} sd",
                  filled == rows.sum() and diff < 1e-9))
    # and the gaps were all that changed
    tests.append((f"{c}: observed cells unchanged", np.array_equal(got[~rows], X[~rows, j])))

print(f"1..{len(tests)}")
for i, (name, ok) in enumerate(tests, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
PY
