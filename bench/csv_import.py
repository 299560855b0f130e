#!/usr/bin/python3
"""CSV import speed: ml_import_csv against pandas.read_csv on the same file.

A generated file (seeded): an id, a double, an integer count, a timestamp,
a category and a free-text column, ROWS rows; one cell in a thousand of the
double column is "-Infinity" (--inf-share) and one in a hundred of each column is empty.
pandas reads it with its defaults (the timestamp column parsed as dates);
ml_import_csv infers the types, writes the table and reports rejected
lines. Best of three runs each, in the same invocation.

Runs inside a cluster made by scripts/cluster.sh:
  bash scripts/cluster.sh /usr/bin/python3 bench/csv_import.py --rows 1000000
"""
import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd
import psycopg2


def make_file(path, rows, seed, inf_share):
    rng = np.random.default_rng(seed)
    x = rng.normal(100, 15, rows).round(4).astype(str)
    x[rng.random(rows) < inf_share] = "-Infinity"
    cols = {
        "id": np.arange(1, rows + 1).astype(str),
        "x": x,
        "n": rng.integers(0, 50, rows).astype(str),
        "ts": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 365, rows), unit="s"))
        .strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "cat": rng.choice(["north", "south", "east", "west"], rows),
        "note": np.char.add("order ", rng.integers(0, 10 ** 6, rows).astype(str)),
    }
    for c, v in cols.items():
        if c != "id":
            v = v.astype(object)
            v[rng.random(rows) < 0.01] = ""
            cols[c] = v
    pd.DataFrame(cols).to_csv(path, index=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--inf-share", type=float, default=0.001,
                    help="share of the double column's cells that are -Infinity (0: none)")
    args = ap.parse_args()
    fd, path = tempfile.mkstemp(suffix=".csv", dir="/tmp")
    os.close(fd)
    make_file(path, args.rows, args.seed, args.inf_share)
    os.chmod(path, 0o644)
    size = os.path.getsize(path) / 1e6
    pd_best = min(timeit(lambda: pd.read_csv(path, parse_dates=["ts"])) for _ in range(3))
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mlops")

    def pg():
        cur.execute("DROP TABLE IF EXISTS bench_csv")
        cur.execute("SELECT count(*) FROM ml_import_csv('bench_csv', path => %s)", (path,))
        return cur.fetchone()[0]
    pg_best = min(timeit(pg) for _ in range(3))
    rejected = pg()
    cur.execute("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
                "FROM information_schema.columns WHERE table_name = 'bench_csv'")
    types = cur.fetchone()[0]
    os.unlink(path)
    print(f"# {args.rows} rows, {size:.1f} MB; columns as imported: {types}; {rejected} lines rejected")
    print(f"pandas.read_csv           {pd_best:7.2f} s")
    print(f"ml_import_csv (to table)  {pg_best:7.2f} s   {pg_best / pd_best:.2f}x pandas")


def timeit(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
