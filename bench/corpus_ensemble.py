#!/usr/bin/python3
"""Real tables: would averaging auto's fills with nan-Euclidean KNN close the corpus gap?

A design measured before it is built (nothing here is in the extension). On
the corpus of bench/corpus.py (same tables, same MCAR masks, same scores,
scikit-learn's KNNImputer and IterativeImputer as anchors, shared through
corpus.py's --anchor-cache), every table and mask is filled three ways by
ml_impute: `auto`, `knn` with {"distance": "nan_euclidean"} (KNNImputer's
distance) and `chain`. Then, cell by cell on the numeric columns:

  auto          auto's fills (what the extension does today)
  knn, chain    the two single methods
  auto+knn      the average of auto's and KNN's fills
  gate G        auto+knn where KNN looks no worse than auto on the table,
                auto elsewhere: the masked table is masked once more
                (15 % of each column's observed cells, two seeds), filled
                by auto and by KNN, both scored on those cells (nRMSE
                averaged over numeric columns); auto+knn when
                KNN's score / auto's < G

The gate costs two more fills by each method per table: affordable on the
small tables where it matters (--max-rows). Prints, per table, every ratio
to best(KNN, Iterative), and a summary line per variant in corpus.py's form.

Runs inside a cluster made by scripts/cluster.sh:
  bash scripts/cluster.sh /usr/bin/python3 bench/corpus_ensemble.py --anchor-cache FILE
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

METHODS = {"auto": ("auto", {}), "knn": ("knn", {"distance": "nan_euclidean"}), "chain": ("chain", {})}
GATES = (1.05, 1.1, 1.2)


def fill(pg, name, masked, cats, method, extra):
    """ml_impute into a new table; returns the filled frame in masked's row order."""
    t, out = f"ens_{name}", f"ens_{name}_out"
    cols = ", ".join(f'"{c}" {"text" if c in cats else "float8"}' for c in masked.columns)
    buf = io.StringIO()
    masked.to_csv(buf, index=True, index_label="rid", header=False)
    buf.seek(0)
    roles = {"rid": "identifier", **{c: "categorical" for c in cats}}
    with pg.conn.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{t}", "{out}"')
        cur.execute(f'CREATE TABLE "{t}" (rid int PRIMARY KEY, {cols})')
        cur.copy_expert(f'COPY "{t}" FROM STDIN CSV', buf)
        cur.execute("SELECT count(*) FROM ml_impute(%s::regclass, method => %s, options => %s::jsonb, "
                    "into_table => %s)", (f'"{t}"', method, json.dumps({"roles": roles, **extra}), out))
        res = io.StringIO()
        cur.copy_expert(f'COPY (SELECT * FROM "{out}" ORDER BY rid) TO STDOUT CSV HEADER', res)
        cur.execute(f'DROP TABLE "{t}", "{out}"')
    res.seek(0)
    return pd.read_csv(res, dtype={c: str for c in cats}).set_index("rid").reindex(masked.index)


def inner_masks(masked, rng, frac):
    """Hide frac of the rows' cells more in every column, among its observed cells."""
    hidden, again = {}, masked.copy()
    for c in masked.columns:
        obs = np.flatnonzero(masked[c].notna().values)
        k = min(max(1, int(round(frac * len(masked)))), len(obs) - 2) if len(obs) > 3 else 0
        hidden[c] = np.sort(rng.choice(obs, size=k, replace=False)) if k > 0 else np.array([], int)
        again.iloc[hidden[c], again.columns.get_loc(c)] = np.nan
    return again, hidden


def nrmse(filled, truth, hidden, cats):
    """corpus.score's numeric figure, over the cells in hidden (truth: the masked table)."""
    v = []
    for c, rows in hidden.items():
        if c in cats or len(rows) == 0:
            continue
        true = truth[c].values[rows].astype(float)
        got = filled[c].values[rows].astype(float)
        sd = np.std(true) or np.nanstd(truth[c].values.astype(float))
        if sd > 0:
            v.append(np.sqrt(np.mean((got - true) ** 2)) / sd if np.isfinite(got).all() else np.inf)
    return float(np.mean(v)) if v else np.nan


def average(masked, a, b, cats):
    out = masked.copy()
    for c in masked.columns:
        if c not in cats:
            out[c] = (a[c].astype(float) + b[c].astype(float)) / 2
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-rows", type=int, default=1000, help="tables with more rows are left out")
    ap.add_argument("--only", help="comma-separated table names")
    ap.add_argument("--anchor-cache", help="corpus.py's anchor cache (read and extended)")
    ap.add_argument("--gate-seed", type=int, default=1000,
                    help="the gate's masks are drawn with seed gate-seed + the mask's seed")
    args = ap.parse_args()
    cache = {}
    if args.anchor_cache and os.path.exists(args.anchor_cache):
        with open(args.anchor_cache) as f:
            cache = json.load(f)
    slot0 = cache.setdefault("frac=0.15,et=0", {})
    pg = corpus.Pg()
    variants = list(METHODS) + ["auto+knn"] + [f"gate {g}" for g in GATES]
    rows = []
    t0 = time.perf_counter()
    for _, name, df, cats in corpus.load_corpus(set(args.only.split(",")) if args.only else None):
        if len(df) > args.max_rows:
            continue
        per = {v: [] for v in variants}
        anchors = {"KNN": [], "Iterative": []}
        for seed in range(args.seeds):
            hidden = corpus.mask(df, seed, 0.15)
            masked = df.copy()
            for c, r in hidden.items():
                masked.loc[r, c] = np.nan
            got = {k: fill(pg, name, masked, cats, m, x) for k, (m, x) in METHODS.items()}
            got["auto+knn"] = average(masked, got["auto"], got["knn"], cats)
            rng = np.random.default_rng(args.gate_seed + seed)
            est = {"auto": [], "knn": []}
            for _ in range(2):
                again, ih = inner_masks(masked, rng, 0.15)
                for k in est:
                    est[k].append(nrmse(fill(pg, name, again, cats, *METHODS[k]), masked, ih, cats))
            ratio = np.mean(est["knn"]) / np.mean(est["auto"])
            for g in GATES:
                got[f"gate {g}"] = got["auto+knn"] if ratio < g else got["auto"]
            for v in variants:
                per[v].append(corpus.score(got[v], df, hidden, cats)[0])
            slot = slot0.setdefault(name, {}).setdefault(str(seed), {})
            for kind in anchors:
                if kind not in slot:
                    s, f = corpus.sklearn_fill(kind, masked, cats, 0)
                    slot[kind] = [s, *corpus.score(f, df, hidden, cats)]
                anchors[kind].append(slot[kind][1])
        best = min(np.mean(anchors["KNN"]), np.mean(anchors["Iterative"]))
        row = {"name": name, **{v: float(np.mean(per[v])) / best for v in variants}}
        rows.append(row)
        print(f"{name:18} " + " ".join(f"{v} {row[v]:.3f}" for v in variants), flush=True)
    print(f"\n# pg_mlops {pg.version}, {len(rows)} tables of at most {args.max_rows} rows, "
          f"{args.seeds} masks, {time.perf_counter() - t0:.0f} s; ratio to best(KNN, Iterative)")
    for v in variants:
        r = np.array([row[v] for row in rows])
        worse = [f"{row['name']} {row[v]:.3f}" for row in rows if row[v] > 1]
        print(f"{v:10} worse on {int((r > 1).sum())} of {len(r)} (more than 5 % on "
              f"{int((r > 1.05).sum())}), geometric mean {np.exp(np.mean(np.log(r))):.3f}; "
              f"worse: {', '.join(worse)}")
    if args.anchor_cache:
        with open(args.anchor_cache, "w") as f:
            json.dump(cache, f)


if __name__ == "__main__":
    main()
