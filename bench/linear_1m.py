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
ap.add_argument("--mode", choices=("all", "scanners"), default="all",
                help="all: the plans below, best of --repeat; scanners: 1 against 2 scanning "
                     "workers (leader only combines), median of --repeat alternated runs")
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


def scanners():
    """The same parallel plan (planned for 2 workers, the leader not
    scanning), run with 1 and then 2 workers allowed at execution
    (max_parallel_workers): 1 against 2 scanning processes, nothing else
    different. The serial plan (the leader alone scans, no Gather) beside
    them. Runs alternate, so a slow spell of the shared machine hits every
    configuration alike; the median of --repeat is reported."""
    configs = (("serial plan, 1 scanner", 0, 8, "on"),
               ("1 worker, leader only combines", 2, 1, "off"),
               ("2 workers, leader only combines", 2, 2, "off"))
    print(f"\nmedian of {a.repeat} alternated wall times (warm cache), 2 cores:")
    for name, q in queries.items():
        times = {c[0]: [] for c in configs}
        for rep in range(a.repeat + 1):     # the first round warms the cache, not counted
            for label, per_gather, max_workers, leader in configs:
                cur.execute(f"SET max_parallel_workers_per_gather = {per_gather}")
                cur.execute(f"SET max_parallel_workers = {max_workers}")
                cur.execute(f"SET parallel_leader_participation = {leader}")
                if rep == 0:
                    cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + q)
                    plan = [r[0].strip().removeprefix("-> ").strip() for r in cur.fetchall()]
                    want = "no Gather" if per_gather == 0 else f"Workers Launched: {max_workers}"
                    got = [l.split(" (")[0] for l in plan
                           if l.startswith(("Workers", "Gather", "Partial", "Finalize"))]
                    ok = ("Gather" not in " ".join(plan)) if per_gather == 0 else want in got
                    print(f"  plan, {name}, {label}: {'; '.join(got) or 'serial'}"
                          f"{'' if ok else '  (NOT AS WANTED: ' + want + ')'}")
                    cur.execute(q)
                    continue
                t = time.perf_counter()
                cur.execute(q)
                cur.fetchone()
                times[label].append(time.perf_counter() - t)
        for label, *_ in configs:
            ts = sorted(times[label])
            print(f"  ml_gram_agg + ml_linear_solve, {name:24s} {label:32s}: median {np.median(ts):6.3f} s"
                  f"  (min {ts[0]:.3f}, max {ts[-1]:.3f}, n={len(ts)})")
        one = np.median(times[configs[1][0]])
        two = np.median(times[configs[2][0]])
        print(f"  {name}: 2 scanning workers / 1 scanning worker = {two / one:.2f} "
              f"({'faster' if two < one else 'not faster'})")
    cur.execute("RESET max_parallel_workers")
    cur.execute("DROP TABLE lin1m_arr, lin1m_cols")


if a.mode == "scanners":
    scanners()
    raise SystemExit(0)


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
