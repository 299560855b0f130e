#!/usr/bin/python3
"""Many-models: one gradient-boosting model per market of the reference
delivery table (../shared/bench/make_deliveries.py), side by side in one run:

  * ml_train_groups with 1 and with 2 background workers (per-group fits
    only: fallback 'error', one tree thread per fit), and
  * a Python loop of scikit-learn HistGradientBoostingRegressor fits over
    the same markets (one thread), on the same 80/20 split sizes.

Prints wall times, the pooled test RMSE of each, and the ratios. Runs inside
a cluster made by scripts/cluster.sh (bash bench/train_groups.sh).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train_gbdt import DDL, GEN, psql  # noqa: E402

# market as an integer key; the target derived, its source left out
ETA = """
DROP TABLE IF EXISTS eta_groups CASCADE;
CREATE TABLE eta_groups AS
SELECT rid, market_id::int AS market, created_at, store_primary_category, order_protocol,
       total_items, subtotal, num_distinct_items, min_item_price, max_item_price,
       total_onshift_partners, total_busy_partners, total_outstanding_orders,
       estimated_order_place_duration, estimated_store_to_consumer_driving_duration,
       extract(epoch FROM actual_delivery_time - created_at)::float8 AS eta_s
FROM deliveries WHERE actual_delivery_time IS NOT NULL;
"""
HP = {"n_estimators": 100, "max_depth": 6}


def train_groups(workers):
    hp = '{"n_estimators": 100, "max_depth": 6, "n_threads": 1}'
    opts = f'{{"exclude": ["rid"], "fallback": "error", "workers": {workers}}}'
    secs = float(psql("SELECT bench_time($q$SELECT * FROM ml_train_groups('eta_groups', "
                      f"ARRAY['market'], 'gbdt', '{hp}', '{opts}')$q$)"))
    row = psql("SELECT (m.metrics->>'rmse') || ' ' || (m.metrics->>'groups') || ' ' || "
               "(m.metrics->>'workers') FROM mlops.models m JOIN mlops.projects p "
               "ON p.id = m.project_id WHERE p.name = 'eta_groups' ORDER BY m.version DESC LIMIT 1")
    rmse, groups, started = row.split()
    return secs, float(rmse), int(groups), int(started)


def sklearn_loop(df, y):
    rng = np.random.default_rng(42)
    t = time.perf_counter()
    sq, n = 0.0, 0
    X = df.drop(columns=["market"])
    for _, idx in df.groupby("market", dropna=False).indices.items():
        idx = rng.permutation(idx)
        ntest = int(np.ceil(len(idx) * 0.2))
        test, train = idx[:ntest], idx[ntest:]
        m = HistGradientBoostingRegressor(max_iter=HP["n_estimators"], max_depth=HP["max_depth"],
                                          random_state=0)
        m.fit(X.iloc[train], y[train])
        sq += float(np.sum((m.predict(X.iloc[test]) - y[test]) ** 2))
        n += ntest
    return time.perf_counter() - t, (sq / n) ** 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=0, help="rows of the generated table (0: all)")
    args = ap.parse_args()
    if not os.path.exists(GEN):
        sys.exit(f"# {GEN} not found (set MAKE_DELIVERIES): benchmark skipped")
    work = tempfile.mkdtemp(prefix="train_groups_")
    csv = os.path.join(work, "deliveries.csv")
    cmd = [sys.executable, GEN, csv, "--seed", "2022"] + (["--rows", str(args.rows)] if args.rows else [])
    subprocess.run(cmd, check=True, capture_output=True)
    psql("CREATE EXTENSION IF NOT EXISTS pg_mlops")
    psql(DDL)
    raw = pd.read_csv(csv)
    with open(csv) as f:
        psql(f"COPY deliveries ({', '.join(raw.columns)}) FROM STDIN CSV HEADER", stdin=f.read())
    psql(ETA)
    psql("VACUUM ANALYZE eta_groups")
    psql("SELECT ml_create_project('eta_groups', 'eta_groups', 'eta_s', 'regression')")

    raw = raw[raw["actual_delivery_time"].notna()].reset_index(drop=True)
    created = pd.to_datetime(raw["created_at"])
    y = (pd.to_datetime(raw["actual_delivery_time"]) - created).dt.total_seconds().to_numpy()
    df = raw.drop(columns=["created_at", "actual_delivery_time", "store_id"]).copy()
    codes = pd.Categorical(df["store_primary_category"]).codes.astype(float)
    codes[codes < 0] = np.nan
    df["store_primary_category"] = codes
    df["created_hour"] = created.dt.hour.astype(float)
    df["created_dow"] = created.dt.dayofweek.astype(float)
    df = df.rename(columns={"market_id": "market"}).astype(float)

    s1, e1, groups, w1 = train_groups(1)
    s2, e2, _, w2 = train_groups(2)
    sk, ek = sklearn_loop(df, y)
    print(f"# reference delivery table: {len(df)} rows with a delivery time, {groups} markets "
          f"(NULL market its own group); gbdt 100 trees depth 6 per market, 20% of each held out")
    print(f"{'method':<48} {'seconds':>8} {'test RMSE':>10}")
    print(f"{'pg_mlops ml_train_groups, 1 worker':<48} {s1:8.3f} {e1:10.2f}   (workers started: {w1})")
    print(f"{'pg_mlops ml_train_groups, 2 workers':<48} {s2:8.3f} {e2:10.2f}   (workers started: {w2})")
    print(f"{'scikit-learn HistGradientBoosting loop (1 thread)':<48} {sk:8.3f} {ek:10.2f}")
    print(f"# speed-up 2 workers / 1 worker: {s1 / s2:.2f}x; sklearn loop / ml_train_groups: "
          f"{sk / s1:.2f}x (1 worker), {sk / s2:.2f}x (2 workers); "
          f"RMSE ratio pg_mlops / sklearn: {e2 / ek:.4f}")


if __name__ == "__main__":
    main()
