#!/usr/bin/python3
"""Imputation/cleaning benchmark: pg_mlops against scikit-learn, same cells.

Runs inside a cluster made by scripts/cluster.sh (PG* variables set). For
every method it reports wall time and, per column, the normalised RMSE
(RMSE of the filled cells / standard deviation of their true values, so
filling with the column mean scores about 1.0) or the exact-match rate for
categorical columns, against the true values the generator hid.
"""
import argparse
import io
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "..", "shared", "bench", "make_deliveries.py")
NUMERIC = ["total_onshift_partners", "total_busy_partners", "total_outstanding_orders",
           "estimated_store_to_consumer_driving_duration"]
CATEGORICAL = ["market_id", "order_protocol", "store_primary_category"]
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


def psql(sql, stdin=None):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr}\n{sql}")
    return out.stdout


def fetch(table, cols):
    sql = f"COPY (SELECT rid - 1 AS row, {', '.join(cols)} FROM {table}) TO STDOUT CSV HEADER"
    return pd.read_csv(io.StringIO(psql(sql))).set_index("row")


def score(filled, truth):
    """Per column: nRMSE (numeric) or exact-match rate (categorical)."""
    res = {}
    for col in NUMERIC + CATEGORICAL:
        t = truth[truth.column == col]
        if t.empty or col not in filled:
            continue
        got = filled.loc[t.row.values, col]
        if col in NUMERIC:
            true = t.value.astype(float).values
            est = pd.to_numeric(got, errors="coerce").values
            err = np.sqrt(np.nanmean((est - true) ** 2)) / np.std(true)
            res[col] = ("nrmse", err if np.isfinite(est).all() else float("nan"))
        else:
            if col == "store_primary_category":
                match = got.astype(str).values == t.value.astype(str).values
            else:
                match = pd.to_numeric(got, errors="coerce").values == t.value.astype(float).values
            res[col] = ("exact", match.mean())
    return res


def run_pg(method, options="{}"):
    psql("DROP TABLE IF EXISTS imp_out")
    secs = float(psql(f"SELECT bench_time($q$SELECT * FROM ml_impute('deliveries', method => "
                      f"'{method}', options => '{options}', into_table => 'imp_out')$q$)"))
    return secs, fetch("imp_out", NUMERIC + CATEGORICAL)


def sklearn_numeric(df, kind):
    """scikit-learn on the numeric view of the table (as AutoClean and most users feed it)."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
    num = df.drop(columns=["store_primary_category"]).copy()
    for c in ("created_at", "actual_delivery_time"):
        num[c] = pd.to_datetime(num[c]).astype("int64") // 10**9
    cols = list(num.columns)
    t0 = time.time()
    if kind == "SimpleImputer(mean)":
        out = SimpleImputer(strategy="mean").fit_transform(num)
    elif kind == "SimpleImputer(most_frequent)":
        out = SimpleImputer(strategy="most_frequent").fit_transform(num)
    elif kind == "KNNImputer(k=5)":
        mu, sd = num.mean(), num.std()
        out = KNNImputer(n_neighbors=5).fit_transform((num - mu) / sd) * sd.values + mu.values
    else:
        out = IterativeImputer(max_iter=10, random_state=0).fit_transform(num)
    secs = time.time() - t0
    filled = pd.DataFrame(out, columns=cols, index=df.index)
    cat = df["store_primary_category"].fillna(df["store_primary_category"].mode()[0])
    filled["store_primary_category"] = cat
    for c in ("market_id", "order_protocol"):
        filled[c] = filled[c].round()
    return secs, filled


def fmt(res):
    cells = []
    for col in NUMERIC + CATEGORICAL:
        if col in res:
            kind, v = res[col]
            cells.append(f"{v:6.3f}" if kind == "nrmse" else f"{100 * v:5.1f}%")
        else:
            cells.append("     -")
    return "  ".join(cells)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=197428)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--skip-knn", action="store_true", help="leave out scikit-learn's KNNImputer (slow)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of ml_clean to time")
    args = ap.parse_args()

    work = os.path.join(HERE, "data")
    os.makedirs(work, exist_ok=True)
    csv = os.path.join(work, f"deliveries_{args.rows}_{args.seed}.csv")
    truth_csv = csv.replace(".csv", "_truth.csv")
    if not os.path.exists(truth_csv):
        subprocess.run([sys.executable, GEN, csv, "--rows", str(args.rows), "--seed", str(args.seed),
                        "--truth", truth_csv], check=True)
    truth = pd.read_csv(truth_csv)
    df = pd.read_csv(csv)

    psql("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mlops;" + DDL)
    cols = ", ".join(df.columns)
    with open(csv) as f:
        psql(f"COPY deliveries ({cols}) FROM STDIN CSV HEADER", stdin=f.read())
    psql("VACUUM ANALYZE deliveries")

    print(f"# deliveries: {len(df)} rows, {int(df.isna().sum().sum())} missing cells, seed {args.seed}")
    head = "  ".join(f"{c[:6]:>6}" for c in NUMERIC + CATEGORICAL)
    print(f"{'method':34} {'seconds':>8}  {head}")
    print("# nRMSE for onshift/busy/outstanding/driving (lower is better); exact % for market/protocol/category")
    rows = []
    for method, opts in [("auto", "{}"), ("mean", "{}"), ("median", "{}"), ("mode", "{}"),
                         ("regression", "{}"), ("knn", '{"k": 5}'), ("mice", "{}"), ("learned", "{}")]:
        secs, filled = run_pg(method, opts)
        res = score(filled, truth)
        rows.append((f"pg_mlops ml_impute {method}", secs, res))
        print(f"{'pg_mlops ml_impute ' + method:34} {secs:8.2f}  {fmt(res)}", flush=True)
    anchors = ["SimpleImputer(mean)", "SimpleImputer(most_frequent)", "IterativeImputer"]
    if not args.skip_knn:
        anchors.append("KNNImputer(k=5)")
    best = {}
    for kind in anchors:
        secs, filled = sklearn_numeric(df, kind)
        res = score(filled, truth)
        rows.append((f"scikit-learn {kind}", secs, res))
        print(f"{'scikit-learn ' + kind:34} {secs:8.2f}  {fmt(res)}", flush=True)
        for col, (k, v) in res.items():
            if col not in best or ((v < best[col][1]) if k == "nrmse" else (v > best[col][1])):
                best[col] = (k, v, kind)

    auto = rows[0][2]
    print("\n# auto against the best scikit-learn imputer per column "
          "(nRMSE: lower is better; exact: higher is better; 'same' = within 0.5%, noise level)")
    for col, (k, v, kind) in best.items():
        a = auto[col][1]
        if k == "nrmse":
            verdict = "better" if a < v * 0.995 else "same" if a <= v * 1.005 else "WORSE"
        else:
            verdict = "better" if a > v + 0.005 else "same" if a >= v - 0.005 else "WORSE"
        print(f"{col:46} {k:5} auto {a:7.3f}  best scikit-learn {v:7.3f} ({kind})  {verdict}")

    times = []
    for _ in range(args.repeat):
        psql("DROP TABLE IF EXISTS clean_out")
        times.append(float(psql("SELECT bench_time($q$SELECT * FROM ml_clean('deliveries', "
                                "into_table => 'clean_out')$q$)")))
    times.sort()
    sk_fast = min(s for name, s, _ in rows if name.startswith("scikit-learn IterativeImputer"))
    print(f"\n# full ml_clean (auto, into a new table): median {times[len(times) // 2]:.2f} s "
          f"over {args.repeat} runs (min {times[0]:.2f}); ml_impute auto {rows[0][1]:.2f} s; "
          f"IterativeImputer {sk_fast:.2f} s = {sk_fast / rows[0][1]:.1f}x ml_impute auto")


if __name__ == "__main__":
    main()
