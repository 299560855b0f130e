#!/usr/bin/python3
"""Tree learners against scikit-learn and XGBoost, same rows, same run.

Runs inside a cluster made by scripts/cluster.sh (PG* variables set), on 2
threads everywhere (OMP_NUM_THREADS=2 for scikit-learn, n_jobs=2 for
XGBoost, pg_mlops' default of min(cores, 2)).

Regression, the reference delivery table (../shared/bench/make_deliveries.py,
seed 2022): rows with a delivery time, target = seconds from created_at to
actual_delivery_time, every fifth row held out. pg_mlops is timed end to
end (ml_train: reading the table, encoding, the fit, scoring the held-out
rows, storing the version); scikit-learn's HistGradientBoostingRegressor
(max_iter=100, max_depth=6) and XGBoost (hist, 100 trees, depth 6) are timed
fitting the same rows already in memory, with hour and day of week of
created_at and the category as codes.

Classification, scikit-learn's bundled breast_cancer, wine and digits (a
seeded quarter held out): ml_train 'gbdt' against
HistGradientBoostingClassifier (defaults, max_iter=100), accuracy and ROC
AUC (macro one-vs-rest) on the held-out rows, and fit time.

    bash bench/train_gbdt.sh [--reps 3] [--skip-deliveries] [--skip-classification]
"""
import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.metrics import accuracy_score, roc_auc_score  # noqa: E402

try:
    import xgboost as xgb  # noqa: E402
except ImportError:  # python3-xgboost is optional
    xgb = None

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.environ.get("MAKE_DELIVERIES") or os.path.normpath(
    os.path.join(HERE, "..", "..", "shared", "bench", "make_deliveries.py"))

DDL = """
DROP TABLE IF EXISTS deliveries CASCADE;
CREATE TABLE deliveries (rid bigint GENERATED ALWAYS AS IDENTITY, market_id float8,
  created_at timestamp, actual_delivery_time timestamp, store_id int,
  store_primary_category text, order_protocol float8, total_items int, subtotal int,
  num_distinct_items int, min_item_price int, max_item_price int,
  total_onshift_partners float8, total_busy_partners float8, total_outstanding_orders float8,
  estimated_order_place_duration int, estimated_store_to_consumer_driving_duration float8);
CREATE OR REPLACE FUNCTION bench_time(sql text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp();
BEGIN EXECUTE sql; RETURN extract(epoch FROM clock_timestamp() - t); END $$;
"""

# the training relation: the target derived, its source column left out
ETA = """
DROP TABLE IF EXISTS eta CASCADE;
CREATE TABLE eta AS
SELECT rid, market_id, created_at, store_id, store_primary_category, order_protocol,
       total_items, subtotal, num_distinct_items, min_item_price, max_item_price,
       total_onshift_partners, total_busy_partners, total_outstanding_orders,
       estimated_order_place_duration, estimated_store_to_consumer_driving_duration,
       extract(epoch FROM actual_delivery_time - created_at)::float8 AS eta_s,
       row_number() OVER (ORDER BY rid) % 5 = 0 AS held_out
FROM deliveries WHERE actual_delivery_time IS NOT NULL;
ALTER TABLE eta ADD PRIMARY KEY (rid);
"""


def psql(sql, stdin=None):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr}\n{sql}")
    return out.stdout.strip()


def ml_train_timed(project, hp, options):
    """Wall time of ml_train inside the server, and the version's metrics."""
    q = (f"SELECT bench_time($q$SELECT * FROM ml_train('{project}', 'gbdt', '{hp}', '{options}')$q$)")
    secs = float(psql(q))
    row = psql(f"SELECT m.metrics::text || chr(9) || (m.training->>'fit_seconds') FROM mlops.models m "
               f"JOIN mlops.projects p ON p.id = m.project_id "
               f"WHERE p.name = '{project}' ORDER BY m.version DESC LIMIT 1")
    metrics, fit = row.split("\t")
    m = json.loads(metrics)
    m["fit_seconds"] = float(fit)
    return secs, m


def timed_fit(model, X, y):
    t = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - t


def deliveries(reps):
    if not os.path.exists(GEN):
        print(f"# {GEN} not found (set MAKE_DELIVERIES): delivery benchmark skipped")
        return
    work = tempfile.mkdtemp(prefix="train_gbdt_")
    csv = os.path.join(work, "deliveries.csv")
    subprocess.run([sys.executable, GEN, csv, "--seed", "2022"], check=True, capture_output=True)
    psql(DDL)
    df = pd.read_csv(csv)
    cols = ", ".join(df.columns)
    with open(csv) as f:
        psql(f"COPY deliveries ({cols}) FROM STDIN CSV HEADER", stdin=f.read())
    psql(ETA)
    psql("VACUUM ANALYZE eta")
    psql("SELECT ml_create_project('eta', 'eta', 'eta_s', 'regression')")

    # the same rows for scikit-learn and XGBoost
    df = df[df["actual_delivery_time"].notna()].reset_index(drop=True)
    created = pd.to_datetime(df["created_at"])
    y = (pd.to_datetime(df["actual_delivery_time"]) - created).dt.total_seconds().to_numpy()
    X = df.drop(columns=["created_at", "actual_delivery_time"]).copy()
    codes = pd.Categorical(X["store_primary_category"]).codes.astype(float)
    codes[codes < 0] = np.nan
    X["store_primary_category"] = codes
    X["created_hour"] = created.dt.hour.astype(float)
    X["created_dow"] = created.dt.dayofweek.astype(float)
    X = X.astype(float)
    test = (np.arange(len(X)) + 1) % 5 == 0
    cat = [c == "store_primary_category" for c in X.columns]

    def rmse(pred):
        return float(np.sqrt(np.mean((pred - y[test]) ** 2)))

    print(f"# reference delivery table: {len(X)} rows with a delivery time, {int((~test).sum())} train, "
          f"{int(test.sum())} held out; 2 threads each")
    print(f"{'rep':>3} {'method':<44} {'seconds':>8} {'test RMSE':>10}")
    rows = []
    for rep in range(1, reps + 1):
        secs, m = ml_train_timed("eta", '{"n_estimators": 100, "max_depth": 6}',
                                 '{"holdout_column": "held_out"}')
        rows.append(("pg_mlops ml_train gbdt (end to end)", rep, secs, m["rmse"]))
        print(f"# ml_train {secs:.3f} s, of which encoding, fit and scoring the held-out rows "
              f"{m['fit_seconds']:.3f} s")
        hgb = HistGradientBoostingRegressor(max_iter=100, max_depth=6, categorical_features=cat,
                                            random_state=0)
        secs = timed_fit(hgb, X[~test], y[~test])
        rows.append(("scikit-learn HistGradientBoosting (fit)", rep, secs, rmse(hgb.predict(X[test]))))
        if xgb is not None:
            xg = xgb.XGBRegressor(n_estimators=100, max_depth=6, tree_method="hist", n_jobs=2)
            secs = timed_fit(xg, X[~test], y[~test])
            rows.append(("XGBoost hist (fit)", rep, secs, rmse(xg.predict(X[test]))))
        for name, r, s, e in rows[-(3 if xgb is not None else 2):]:
            print(f"{r:>3} {name:<44} {s:8.3f} {e:10.2f}")
    best = {}
    for name, _, s, e in rows:
        b = best.setdefault(name, [s, e])
        b[0] = min(b[0], s)
        b[1] = e
    ours = best["pg_mlops ml_train gbdt (end to end)"]
    others = {k: v for k, v in best.items() if not k.startswith("pg_mlops")}
    fastest = min(v[0] for v in others.values())
    most_accurate = min(v[1] for v in others.values())
    print(f"# best of {reps}: pg_mlops {ours[0]:.3f} s, RMSE {ours[1]:.2f}; "
          + "; ".join(f"{k} {v[0]:.3f} s, RMSE {v[1]:.2f}" for k, v in others.items()))
    print(f"# time ratio pg_mlops / fastest other: {ours[0] / fastest:.2f} "
          f"(< 1 is faster); RMSE ratio pg_mlops / best other: {ours[1] / most_accurate:.4f} "
          f"(bar: <= 1.01)")


def classification(reps):
    print("# classification: scikit-learn's bundled tables, a seeded quarter held out; "
          "ml_train 'gbdt' (defaults) vs HistGradientBoostingClassifier (defaults)")
    print(f"{'table':<14} {'method':<30} {'seconds':>8} {'accuracy':>9} {'ROC AUC':>8}")
    for name, loader in [("breast_cancer", datasets.load_breast_cancer), ("wine", datasets.load_wine),
                         ("digits", datasets.load_digits)]:
        data = loader()
        X = pd.DataFrame(data.data, columns=[f"f{j}" for j in range(data.data.shape[1])])
        y = data.target
        rng = np.random.default_rng(2024)
        test = rng.random(len(X)) < 0.25
        table = f"cls_{name}"
        cols = ", ".join(f"{c} float8" for c in X.columns)
        psql(f"DROP TABLE IF EXISTS {table} CASCADE; CREATE TABLE {table} (rid int PRIMARY KEY, {cols}, "
             f"label text, held_out boolean)")
        out = X.copy()
        out.insert(0, "rid", np.arange(len(X)))
        out["label"] = ["c%02d" % v for v in y]
        out["held_out"] = test
        buf = io.StringIO()
        out.to_csv(buf, index=False)
        psql(f"COPY {table} FROM STDIN CSV HEADER", stdin=buf.getvalue())
        psql(f"SELECT ml_create_project('{table}', '{table}', 'label', 'classification')")
        ours = []
        theirs = []
        for _ in range(reps):
            secs, m = ml_train_timed(table, "{}", '{"holdout_column": "held_out"}')
            ours.append((secs, m["accuracy"], m["roc_auc"]))
            clf = HistGradientBoostingClassifier(random_state=0)
            secs = timed_fit(clf, X[~test], y[~test])
            proba = clf.predict_proba(X[test])
            auc = (roc_auc_score(y[test], proba[:, 1]) if proba.shape[1] == 2 else
                   roc_auc_score(y[test], proba, multi_class="ovr", average="macro"))
            theirs.append((secs, accuracy_score(y[test], clf.predict(X[test])), auc))
        o = (min(r[0] for r in ours), ours[-1][1], ours[-1][2])
        t = (min(r[0] for r in theirs), theirs[-1][1], theirs[-1][2])
        print(f"{name:<14} {'pg_mlops ml_train (end to end)':<30} {o[0]:8.3f} {o[1]:9.4f} {o[2]:8.4f}")
        print(f"{name:<14} {'HistGradientBoosting (fit)':<30} {t[0]:8.3f} {t[1]:9.4f} {t[2]:8.4f}")
        print(f"# {name}: time ratio {o[0] / t[0]:.2f}, accuracy ratio {o[1] / t[1]:.4f}, "
              f"ROC AUC ratio {o[2] / t[2]:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-deliveries", action="store_true")
    ap.add_argument("--skip-classification", action="store_true")
    args = ap.parse_args()
    psql("CREATE EXTENSION IF NOT EXISTS pg_mlops")
    psql(DDL)
    if not args.skip_deliveries:
        deliveries(args.reps)
    if not args.skip_classification:
        classification(args.reps)


if __name__ == "__main__":
    main()
