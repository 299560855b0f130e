"""Linear regression, 1M x 20: pg_mlops' parallel aggregate against
scikit-learn's LinearRegression on the same data (run by linear_1m.sh)."""
import argparse
import io
import time

import numpy as np
import psycopg2
from sklearn.linear_model import LinearRegression

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=1_000_000)
ap.add_argument("--features", type=int, default=20)
ap.add_argument("--repeat", type=int, default=5)
ap.add_argument("--seed", type=int, default=2022)
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
n, p = a.rows, a.features
X = rng.normal(size=(n, p)) * rng.uniform(0.5, 20, size=p) + rng.uniform(-5, 5, size=p)
beta = rng.uniform(-3, 3, size=p)
y = 4.0 + X @ beta + rng.normal(scale=2.0, size=n)

conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("SET client_min_messages = warning")
cur.execute("CREATE EXTENSION IF NOT EXISTS pg_mlops")
cols = ", ".join(f"x{j + 1} float8" for j in range(p))
t0 = time.perf_counter()
arr_buf = io.StringIO()
col_buf = io.StringIO()
for i in range(n):
    r = [repr(v) for v in X[i]]
    arr_buf.write(f"{y[i]!r}\t{{{','.join(r)}}}\n")
    col_buf.write(f"{y[i]!r}\t" + "\t".join(r) + "\n")
for table, ddl, buf in (("lin1m_arr", "y float8, x float8[]", arr_buf),
                        ("lin1m_cols", f"y float8, {cols}", col_buf)):
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute(f"CREATE TABLE {table} ({ddl})")
    buf.seek(0)
    cur.copy_expert(f"COPY {table} FROM STDIN", buf)
    cur.execute(f"VACUUM ANALYZE {table}")
cur.execute("SELECT pg_size_pretty(pg_relation_size('lin1m_arr')), "
            "pg_size_pretty(pg_relation_size('lin1m_cols'))")
sizes = cur.fetchone()
print(f"{n} rows x {p} features: lin1m_arr (y, x float8[]) {sizes[0]}, "
      f"lin1m_cols (y, x1..x{p}) {sizes[1]}; loaded in {time.perf_counter() - t0:.1f} s")

arr = "ARRAY[" + ", ".join(f"x{j + 1}" for j in range(p)) + "]"
queries = {
    "lin1m_arr, x": "SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, x)) FROM lin1m_arr",
    f"lin1m_cols, ARRAY[x1..x{p}]": f"SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, {arr})) FROM lin1m_cols",
}


def best(fn):
    ts = []
    out = None
    for _ in range(a.repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return min(ts), out


print(f"\nbest of {a.repeat} wall times (warm cache), 2 cores:")
coefs = {}
for name, q in queries.items():
    for workers, leader in ((0, "on"), (1, "on"), (2, "on"), (1, "off"), (2, "off")):
        cur.execute(f"SET max_parallel_workers_per_gather = {workers}")
        cur.execute(f"SET parallel_leader_participation = {leader}")
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + q)
        plan = "\n".join(r[0] for r in cur.fetchall())
        launched = [l.strip() for l in plan.splitlines() if "Workers Launched" in l]

        def run():
            cur.execute(q)
            return np.array(cur.fetchone()[0])
        t, c = best(run)
        coefs[(name, workers, leader)] = c
        how = "serial plan" if "Gather" not in plan else \
            f"{launched[0] if launched else 'no worker launched'}, leader {'scans too' if leader == 'on' else 'only combines'}"
        print(f"  ml_gram_agg + ml_linear_solve, {name:24s} {workers} workers: {t:6.3f} s  ({how})")

lr = LinearRegression()
t, _ = best(lambda: lr.fit(X, y))
print(f"  scikit-learn LinearRegression().fit(X, y), in memory          : {t:6.3f} s")

ref = np.concatenate([[lr.intercept_], lr.coef_])
for k, c in coefs.items():
    rel = np.max(np.abs(c - ref) / np.maximum(np.abs(ref), 1e-300))
    print(f"  max relative coefficient difference to scikit-learn, {k[0]}, {k[1]} workers, "
          f"leader {k[2]}: {rel:.1e}")
cur.execute("DROP TABLE lin1m_arr, lin1m_cols")
