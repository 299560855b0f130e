#!/usr/bin/python3
"""ml_train 'auto' (the search) against the best single algorithm, same rows, same run.

Runs inside a cluster made by scripts/cluster.sh (PG* variables set), on 2
threads everywhere. The reference delivery table (../shared/bench/
make_deliveries.py, seed 2022), built as in bench/train_gbdt.py: rows with a
delivery time, target = seconds from created_at to actual_delivery_time,
every fifth row held out (holdout_column). Compared on the held-out rows:

  - ml_train('eta', 'auto', '{}', '{"holdout_column": "held_out", "budget_s": B}')
    (its search validates on a holdout of the training rows only)
  - ml_train 'gbdt' with 100 trees, depth 6 (the best single algorithm of
    bench/train_gbdt.sh)
  - scikit-learn HistGradientBoostingRegressor(max_iter=100, max_depth=6) and
    XGBoost (hist, 100 trees, depth 6) fitted on the same rows in memory

    bash bench/auto.sh [--budget 60] [--seed 42]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_gbdt as tg  # noqa: E402  (the table, its DDL, psql)

try:
    import xgboost as xgb  # noqa: E402
except ImportError:
    xgb = None


def load():
    """The delivery table in the server, and the same rows for the anchors."""
    work = tempfile.mkdtemp(prefix="auto_")
    csv = os.path.join(work, "deliveries.csv")
    subprocess.run([sys.executable, tg.GEN, csv, "--seed", "2022"], check=True, capture_output=True)
    tg.psql("CREATE EXTENSION IF NOT EXISTS pg_mlops")
    tg.psql(tg.DDL)
    df = pd.read_csv(csv)
    with open(csv) as f:
        tg.psql(f"COPY deliveries ({', '.join(df.columns)}) FROM STDIN CSV HEADER", stdin=f.read())
    tg.psql(tg.ETA)
    tg.psql("VACUUM ANALYZE eta")
    tg.psql("SELECT ml_create_project('eta', 'eta', 'eta_s', 'regression')")
    df = df[df["actual_delivery_time"].notna()].reset_index(drop=True)
    created = pd.to_datetime(df["created_at"])
    y = (pd.to_datetime(df["actual_delivery_time"]) - created).dt.total_seconds().to_numpy()
    X = df.drop(columns=["created_at", "actual_delivery_time"]).copy()
    codes = pd.Categorical(X["store_primary_category"]).codes.astype(float)
    codes[codes < 0] = np.nan
    X["store_primary_category"] = codes
    X["created_hour"] = created.dt.hour.astype(float)
    X["created_dow"] = created.dt.dayofweek.astype(float)
    return X.astype(float), y


def ml_train(algorithm, hp, options):
    q = ("SELECT bench_time($q$SELECT * FROM ml_train('eta', '%s', '%s', '%s')$q$)"
         % (algorithm, hp, options))
    secs = float(tg.psql(q))
    m = json.loads(tg.psql("SELECT m.metrics::text FROM mlops.models m JOIN mlops.projects p "
                           "ON p.id = m.project_id WHERE p.name = 'eta' ORDER BY m.version DESC LIMIT 1"))
    return secs, m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    if not os.path.exists(tg.GEN):
        sys.exit(f"{tg.GEN} not found (set MAKE_DELIVERIES)")
    X, y = load()
    test = (np.arange(len(X)) + 1) % 5 == 0
    cat = [c == "store_primary_category" for c in X.columns]

    def rmse(pred):
        return float(np.sqrt(np.mean((pred - y[test]) ** 2)))

    print(f"# reference delivery table: {len(X)} rows with a delivery time, {int((~test).sum())} train, "
          f"{int(test.sum())} held out; 2 threads each")
    rows = []
    secs, m = ml_train("gbdt", '{"n_estimators": 100, "max_depth": 6}', '{"holdout_column": "held_out"}')
    rows.append(("pg_mlops ml_train gbdt 100 trees depth 6", secs, m["rmse"]))
    hgb = HistGradientBoostingRegressor(max_iter=100, max_depth=6, categorical_features=cat, random_state=0)
    t = time.perf_counter()
    hgb.fit(X[~test], y[~test])
    rows.append(("scikit-learn HistGradientBoosting (fit)", time.perf_counter() - t, rmse(hgb.predict(X[test]))))
    if xgb is not None:
        xg = xgb.XGBRegressor(n_estimators=100, max_depth=6, tree_method="hist", n_jobs=2)
        t = time.perf_counter()
        xg.fit(X[~test], y[~test])
        rows.append(("XGBoost hist (fit)", time.perf_counter() - t, rmse(xg.predict(X[test]))))
    opts = json.dumps({"holdout_column": "held_out", "budget_s": args.budget, "seed": args.seed})
    secs, m = ml_train("auto", "{}", opts)
    s = m["search"]
    rows.append((f"pg_mlops ml_train auto, budget_s {args.budget:g}", secs, m["rmse"]))

    print(f"{'method':<46} {'seconds':>8} {'test RMSE':>10}")
    for name, sec, e in rows:
        print(f"{name:<46} {sec:8.2f} {e:10.2f}")
    w = s["winner"]
    print(f"# auto: {s['configurations']} configurations, {s['trials']} trials in {s['rungs_run']} of "
          f"{s['rungs']} rungs ({s['completed']} completed, {s['pruned']} pruned, {s['failed']} failed, "
          f"{s['skipped']} skipped for the budget), "
          f"validation {s['validation']}, search {s['seconds']:.1f} s, budget exhausted: "
          f"{str(s['budget_exhausted']).lower()}")
    print(f"# winner: trial {w['trial']} (rung {w['rung']}) {w['algorithm']} "
          f"{json.dumps(w['hyperparameters'], sort_keys=True)}, validation RMSE {w['cv_score']:.2f}")
    best_single = min(e for name, _, e in rows[:-1])
    auto = rows[-1][2]
    print(f"# RMSE ratio auto / best single algorithm: {auto / best_single:.4f} (bar: <= 1)")
    print("# trials (rung, algorithm, rows, validation RMSE, status, seconds):")
    out = tg.psql("SELECT string_agg(format('%s %s %s %s %s %s %s', trial, rung, algorithm, train_rows, "
                  "round(score::numeric, 2), status, round(fit_seconds::numeric, 2)), E'\\n' "
                  "ORDER BY rung, trial) FROM ml_trials WHERE project = 'eta' AND "
                  "version = (SELECT max(version) FROM ml_trials WHERE project = 'eta')")
    for line in out.splitlines():
        print("#   " + line)


if __name__ == "__main__":
    main()
