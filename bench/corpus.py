#!/usr/bin/python3
"""Imputation on real tables: pg_mlops ml_impute auto against scikit-learn.

The corpus is the tables that ship with Debian packages: statsmodels'
datasets (python3-statsmodels), scikit-learn's bundled ones
(python3-sklearn) and R's `datasets` package (r-base-core, exported with
Rscript write.csv; left out with a note when Rscript is missing). Nothing
is downloaded.

For every table and seed, 15 % of the cells of every column are hidden
completely at random (MCAR, the same count in each column). The table with
the gaps goes into PostgreSQL and is filled by
    SELECT * FROM ml_impute('t', options => '{"roles": {"rid": "identifier"}}',
                            into_table => 't_out')
(method auto; `rid` is the row number the filled rows are matched by,
declared an identifier so it is never a feature). On exactly the same
cells scikit-learn fills the table: SimpleImputer (mean / most frequent),
KNNImputer(), IterativeImputer() with default settings, and
IterativeImputer(ExtraTreesRegressor) (the MissForest idea) as a strong
anchor. The model-based anchors see the table standardised (StandardScaler
fitted on the observed values, inverse-transformed afterwards), with every
categorical column one-hot encoded (a hidden category is NaN in all its
indicator columns; the filled category is the indicator with the largest
value). With one-hot columns the chained imputers fill a hidden category
poorly (its indicators are all missing together and predict each other back
towards the column shares), so on tables with categorical columns they run a
second time with the categories as integer codes 0..k-1 (filled value
rounded and clipped to a level), reported beside the one-hot figures.

Scores, per table averaged over the seeds: nRMSE per numeric column (RMSE
over the hidden cells / standard deviation of their true values; filling
with the mean scores about 1.0) averaged over the table's numeric columns,
and the exact-match rate over the hidden cells of the categorical columns.
pg_mlops seconds are the whole SQL call (reading the table, writing the
new one); scikit-learn seconds are the in-memory fit_transform only.

Runs inside a cluster made by scripts/cluster.sh: bash bench/run.sh --corpus.
"""
import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

STATSMODELS = ["macrodata", "longley", "grunfeld", "stackloss", "spector", "statecrime", "engel",
               "copper", "cpunish", "scotland", "committee", "ccard", "heart", "anes96", "fair",
               "star98", "modechoice", "elnino"]
SKLEARN = ["iris", "linnerud", "diabetes", "wine", "breast_cancer"]
# R's datasets (stackloss, longley and iris are already in from statsmodels / scikit-learn)
R_TABLES = ["mtcars", "airquality", "swiss", "LifeCycleSavings", "USArrests", "trees", "attitude",
            "quakes", "faithful", "rock", "beaver1", "ToothGrowth", "warpbreaks", "CO2", "esoph",
            "ChickWeight", "OrchardSprays"]
# indicator / class columns that the tables' documentation describes as categories
# but that ship as numbers
DECLARED_CATEGORICAL = {"spector": ["grade", "psi"], "ccard": ["ownrent"], "cpunish": ["south"],
                        "heart": ["censors"], "anes96": ["vote"], "modechoice": ["mode", "choice"],
                        "mtcars": ["vs", "am"]}
# a respondent id is not a value to impute
DROP = {"modechoice": ["individual"]}


def snake(name):
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    return s or "col"


def tidy(name, df):
    """Column names as identifiers, complete rows, no constant columns; numeric
    columns float, categorical ones text. Returns (frame, categorical names)."""
    df = df.copy()
    names, seen = [], set()
    for c in df.columns:
        s = snake(c)
        while s in seen or s == "rid":
            s += "_"
        seen.add(s)
        names.append(s)
    df.columns = names
    df = df.drop(columns=[c for c in DROP.get(name, []) if c in df.columns])
    df = df.dropna().reset_index(drop=True)     # airquality: the rows R ships with gaps
    df = df[[c for c in df.columns if df[c].nunique() > 1]]
    cats = [c for c in df.columns
            if not pd.api.types.is_numeric_dtype(df[c]) or c in DECLARED_CATEGORICAL.get(name, [])]
    for c in df.columns:
        if c in cats:
            v = df[c]
            if pd.api.types.is_float_dtype(v) and (v == v.round()).all():
                v = v.astype("int64")
            df[c] = v.astype(str)
        else:
            df[c] = df[c].astype(float)
    return df, cats


def r_export(names):
    """Write R's datasets as CSV (once) and return {name: DataFrame}."""
    rdir = os.path.join(DATA, "r")
    want = [n for n in names if not os.path.exists(os.path.join(rdir, n + ".csv"))]
    if want:
        if not shutil.which("Rscript"):
            print("# Rscript not found (apt-get install r-base-core): R's datasets left out")
            return {}
        os.makedirs(rdir, exist_ok=True)
        # the table, and beside it the names of its factor columns (categorical)
        code = "; ".join(f'd <- as.data.frame({n}); write.csv(d, "{os.path.join(rdir, n + ".csv")}", row.names = FALSE); '
                         f'writeLines(names(d)[sapply(d, is.factor)], "{os.path.join(rdir, n + ".factors")}")'
                         for n in want)
        subprocess.run(["Rscript", "--vanilla", "-e", code], check=True, capture_output=True)
    out = {}
    for n in names:
        with open(os.path.join(rdir, n + ".factors")) as f:
            factors = [line.strip() for line in f if line.strip()]
        out[n] = pd.read_csv(os.path.join(rdir, n + ".csv"), dtype={c: str for c in factors})
    return out


def load_corpus(only=None):
    tables = []

    def add(source, name, frame):
        if only and name not in only:
            return
        df, cats = tidy(name, frame)
        tables.append((source, name, df, cats))

    try:
        import statsmodels.api as sm
        for n in STATSMODELS:
            add("statsmodels", n, getattr(sm.datasets, n).load_pandas().data)
    except ImportError:
        print("# statsmodels not importable (apt-get install python3-statsmodels): its datasets left out")
    from sklearn import datasets as skd
    for n in SKLEARN:
        b = getattr(skd, "load_" + n)(as_frame=True)
        frame = b.frame.copy()
        if n == "linnerud":
            frame = pd.concat([b.data, b.target], axis=1)
        elif n in ("iris", "wine", "breast_cancer"):
            frame["target"] = [str(b.target_names[i]) for i in b.target]
        add("scikit-learn", n, frame)
    for n, frame in r_export(R_TABLES).items():
        add("R datasets", n.lower(), frame)
    return tables


def mask(df, seed, frac):
    """MCAR: the same share of cells hidden in every column, chosen at random."""
    rng = np.random.default_rng(seed)
    n = len(df)
    k = max(1, int(round(frac * n)))
    return {c: np.sort(rng.choice(n, size=k, replace=False)) for c in df.columns}


def score(filled, df, hidden, cats):
    nrmse, hits, total = [], 0, 0
    for c, rows in hidden.items():
        true = df[c].values[rows]
        got = filled[c].values[rows]
        if c in cats:
            hits += int((got.astype(str) == true.astype(str)).sum())
            total += len(rows)
        else:
            got = got.astype(float)
            sd = np.std(true)
            if sd == 0:                       # all hidden cells hold one value
                sd = np.std(df[c].values)
            nrmse.append(np.sqrt(np.mean((got - true) ** 2)) / sd if np.isfinite(got).all() else np.nan)
    return (float(np.mean(nrmse)) if nrmse else np.nan), (hits / total if total else np.nan)


# ---------------------------------------------------------------- PostgreSQL

class Pg:
    def __init__(self):
        self.conn = psycopg2.connect("")      # PG* variables from scripts/cluster.sh
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mlops")
            cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_mlops'")
            self.version = cur.fetchone()[0]

    def impute(self, name, masked, cats, method="auto"):
        t, out = f"corpus_{name}", f"corpus_{name}_out"
        cols = ", ".join(f'"{c}" {"text" if c in cats else "float8"}' for c in masked.columns)
        buf = io.StringIO()
        masked.to_csv(buf, index=True, index_label="rid", header=False)
        buf.seek(0)
        with self.conn.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{t}", "{out}"')
            cur.execute(f'CREATE TABLE "{t}" (rid int PRIMARY KEY, {cols})')
            cur.copy_expert(f'COPY "{t}" FROM STDIN CSV', buf)
            cur.execute(f'VACUUM ANALYZE "{t}"')
            # The categories are declared: a text column of numbers ('0'/'1', R
            # factors with numeric labels) is otherwise read as numbers (cleaning.md,
            # "Text holding numbers") and filled with fractional values, never a level.
            roles = {"rid": "identifier", **{c: "categorical" for c in cats}}
            t0 = time.perf_counter()
            cur.execute("SELECT column_name, filled, method FROM ml_impute(%s::regclass, method => %s, "
                        "options => %s::jsonb, into_table => %s)",
                        (f'"{t}"', method, json.dumps({"roles": roles}), out))
            report = cur.fetchall()
            secs = time.perf_counter() - t0
            res = io.StringIO()
            cur.copy_expert(f'COPY (SELECT * FROM "{out}" ORDER BY rid) TO STDOUT CSV HEADER', res)
            cur.execute(f'DROP TABLE "{t}", "{out}"')
        res.seek(0)
        filled = pd.read_csv(res, dtype={c: str for c in cats}).set_index("rid")
        return secs, filled, {c: m for c, _, m in report}


# ---------------------------------------------------------------- scikit-learn

def sklearn_fill(kind, masked, cats, et_trees, codes=False):
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
    from sklearn.preprocessing import StandardScaler

    nums = [c for c in masked.columns if c not in cats]
    if kind == "mean":
        t0 = time.perf_counter()
        out = masked.copy()
        if nums:
            out[nums] = SimpleImputer(strategy="mean").fit_transform(masked[nums])
        if cats:
            out[cats] = SimpleImputer(strategy="most_frequent").fit_transform(masked[cats].astype(object))
        return time.perf_counter() - t0, out
    parts, groups, coded = [masked[nums]], {}, {}
    for c in cats if codes else []:
        # integer codes 0..k-1 (the filled value rounded and clipped to a level)
        levels = sorted(masked[c].dropna().unique())
        coded[c] = levels
        parts.append(masked[c].map({v: float(i) for i, v in enumerate(levels)}).rename(c))
    for c in cats if not codes else []:
        # one-hot: a hidden category is NaN in every indicator of its column
        d = pd.get_dummies(masked[c], prefix=c, prefix_sep="\x1f").astype(float)
        d[masked[c].isna()] = np.nan
        groups[c] = list(d.columns)
        parts.append(d)
    X = pd.concat(parts, axis=1)
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    if kind == "KNN":
        imp = KNNImputer()
    elif kind == "Iterative":
        imp = IterativeImputer(random_state=0)
    else:
        imp = IterativeImputer(estimator=ExtraTreesRegressor(n_estimators=et_trees, random_state=0),
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        Zf = imp.fit_transform(Z)
        secs = time.perf_counter() - t0
    F = pd.DataFrame(scaler.inverse_transform(Zf), columns=X.columns, index=masked.index)
    out = masked.copy()
    out[nums] = F[nums]
    for c, g in groups.items():
        out[c] = [s.split("\x1f", 1)[1] for s in F[g].idxmax(axis=1)]
    for c, levels in coded.items():
        idx = np.clip(np.rint(F[c].values), 0, len(levels) - 1).astype(int)
        out[c] = [levels[i] for i in idx]
    return secs, out


# ---------------------------------------------------------------- report

def short(method):
    """'groupwise by a, b' -> 'groupwise'; 'regression on x, y' -> 'regression'."""
    return re.split(r"[ (:]", method.strip(), 1)[0] if method else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="masks per table (seeds 0..n-1)")
    ap.add_argument("--frac", type=float, default=0.15, help="share of each column's cells hidden")
    ap.add_argument("--et-trees", type=int, default=30,
                    help="trees in IterativeImputer(ExtraTreesRegressor); 0 leaves that anchor out")
    ap.add_argument("--no-codes", action="store_true",
                    help="leave out the second run of the chained imputers with categories as codes")
    ap.add_argument("--only", help="comma-separated table names")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("--anchor-cache",
                    help="JSON file of scikit-learn's figures per table, seed and anchor, read and "
                         "extended (they do not depend on pg_mlops: a re-run reuses them)")
    ap.add_argument("--method", default="auto",
                    help="ml_impute method in the 'auto' column (to compare one method, e.g. chain)")
    args = ap.parse_args()

    only = set(args.only.split(",")) if args.only else None
    tables = load_corpus(only)
    pg = Pg()
    anchors = ["mean", "KNN", "Iterative"] + (["ExtraTrees"] if args.et_trees > 0 else [])
    coded = [k + " codes" for k in anchors if k in ("Iterative", "ExtraTrees")] if not args.no_codes else []
    methods = ["auto"] + anchors + coded
    results = []
    cache = {}
    if args.anchor_cache and os.path.exists(args.anchor_cache):
        with open(args.anchor_cache) as f:
            cache = json.load(f)
    # the masks and the anchors' settings are the key: another --frac or tree count is another entry
    ckey = f"frac={args.frac},et={args.et_trees}"
    for source, name, df, cats in tables:
        acc = {m: {"nrmse": [], "cat": [], "secs": []} for m in methods}
        picked = {}
        for seed in range(args.seeds):
            hidden = mask(df, seed, args.frac)
            masked = df.copy()
            for c, rows in hidden.items():
                masked.loc[rows, c] = np.nan
            try:
                secs, filled, report = pg.impute(name, masked, cats, args.method)
                filled = filled.reindex(df.index)
                nr, ca = score(filled, df, hidden, cats)
            except psycopg2.Error as e:
                secs, nr, ca, report = np.nan, np.nan, np.nan, {}
                print(f"# {name} seed {seed}: ml_impute failed: {e.pgerror or e}".rstrip(), file=sys.stderr)
            acc["auto"]["secs"].append(secs)
            acc["auto"]["nrmse"].append(nr)
            acc["auto"]["cat"].append(ca)
            for c, m in report.items():
                picked.setdefault(c, []).append(m)
            for kind in anchors + (coded if cats else []):
                slot = cache.setdefault(ckey, {}).setdefault(name, {}).setdefault(str(seed), {})
                if kind not in slot:
                    s, f = sklearn_fill(kind.split()[0], masked, cats, args.et_trees,
                                        codes=kind.endswith("codes"))
                    slot[kind] = [s, *score(f, df, hidden, cats)]
                s, nr, ca = slot[kind]
                acc[kind]["secs"].append(s)
                acc[kind]["nrmse"].append(nr)
                acc[kind]["cat"].append(ca)
        row = {"source": source, "name": name, "rows": len(df), "cols": df.shape[1],
               "numeric": df.shape[1] - len(cats), "categorical": len(cats), "picked": picked,
               "per_seed": {m: acc[m]["nrmse"] for m in methods}}
        for m in methods:
            for key in ("nrmse", "cat", "secs"):
                v = np.array(acc[m][key], dtype=float)
                row[f"{m}_{key}"] = float(np.mean(v)) if len(v) and np.isfinite(v).all() else float("nan")
        best = min(row["KNN_nrmse"], row["Iterative_nrmse"])
        row["ratio"] = row["auto_nrmse"] / best if best > 0 else float("nan")
        results.append(row)
        print(f"# {name:18} done: auto {row['auto_nrmse']:.3f}, best(KNN, Iterative) {best:.3f}",
              file=sys.stderr, flush=True)

    # -- the table (markdown, ready for BENCHMARKS.md)
    print(f"\n# pg_mlops {pg.version}, {len(results)} tables, {args.seeds} MCAR masks each "
          f"({100 * args.frac:.0f} % of every column), nRMSE averaged over numeric columns and masks")
    head = ["dataset", "rows×cols", "auto nRMSE", "auto s", "mean", "KNN", "KNN s",
            "Iterative", "Iter. s"]
    if "ExtraTrees" in anchors:
        head += [f"Iter.(ExtraTrees {args.et_trees})", "ET s"]
    head += ["auto / best(KNN, Iter.)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for r in results:
        cells = [f"{r['name']}", f"{r['rows']}×{r['cols']}", f"{r['auto_nrmse']:.3f}", f"{r['auto_secs']:.2f}",
                 f"{r['mean_nrmse']:.3f}", f"{r['KNN_nrmse']:.3f}", f"{r['KNN_secs']:.2f}",
                 f"{r['Iterative_nrmse']:.3f}", f"{r['Iterative_secs']:.2f}"]
        if "ExtraTrees" in anchors:
            cells += [f"{r['ExtraTrees_nrmse']:.3f}", f"{r['ExtraTrees_secs']:.2f}"]
        ratio = r["ratio"]
        cells += [f"**{ratio:.2f}**" if ratio > 1 else f"{ratio:.2f}"]
        print("| " + " | ".join(cells) + " |")
    ratios = np.array([r["ratio"] for r in results])
    ok = np.isfinite(ratios)
    worse = int((ratios[ok] > 1).sum())
    print(f"\nauto is worse than best(KNN, Iterative) on {worse} of {int(ok.sum())} tables "
          f"(more than 5 % worse on {int((ratios[ok] > 1.05).sum())}); geometric mean of the ratio "
          f"{np.exp(np.mean(np.log(ratios[ok]))):.3f}" + ("" if ok.all() else
          f"; {int((~ok).sum())} tables without a figure (ml_impute failed)"))
    if "ExtraTrees" in anchors:
        et = np.array([r["auto_nrmse"] / r["ExtraTrees_nrmse"] for r in results])
        eok = np.isfinite(et)
        print(f"auto is worse than IterativeImputer(ExtraTrees) on {int((et[eok] > 1).sum())} of "
              f"{int(eok.sum())} tables; geometric mean of auto / ExtraTrees {np.exp(np.mean(np.log(et[eok]))):.3f}")

    cat_rows = [r for r in results if r["categorical"]]
    if cat_rows:
        print("\n# categorical columns: exact-match rate over the hidden cells "
              "(one-hot unless 'codes'; mean = most frequent)")
        head = ["dataset", "categorical columns", "auto"] + anchors + coded
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---", "---:"] + ["---:"] * (len(head) - 2)) + "|")
        for r in cat_rows:
            print("| " + " | ".join([r["name"], str(r["categorical"])] +
                                    [f"{100 * r[m + '_cat']:.1f} %" for m in ["auto"] + anchors + coded]) + " |")

    print("\n# what auto picked (ml_impute's method column; per column, over the masks)")
    for r in results:
        counts = {}
        for c, ms in r["picked"].items():
            for m in ms:
                counts[short(m)] = counts.get(short(m), 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        print(f"{r['name']:18} {summary}")
        for c, ms in r["picked"].items():
            uniq = sorted(set(ms), key=ms.index)
            print(f"    {c:24} {' | '.join(uniq)}")
    if args.anchor_cache:
        with open(args.anchor_cache, "w") as f:
            json.dump(cache, f)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
