#!/usr/bin/python3
"""mlops.try_cast_timestamp against pandas.to_datetime on the same strings.

The never-failing cast (used by the polish step, the CSV import's type
guess and ml_clean's casts) on dates written with a month name
("jan-02-2024": PostgreSQL's date parser asks pg_tzset whether the word is
a zone name, which rescans the zone directory for a word naming none;
casts.c keeps the words found to name none, per backend) and on ISO dates.
The SQL side is one statement over generate_series, timed by the client
(one round trip), pandas in memory; best of 3. Run inside scripts/cluster.sh.
"""
import sys
import time

import pandas as pd
import psycopg2

n = int(sys.argv[1]) if len(sys.argv) > 1 else 250000
conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mlops")


def sql_ms(expr):
    """One statement over n cells; its wall time seen by the client (one round trip)."""
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        cur.execute(f"SELECT count({expr}) FROM generate_series(1, {n}) i")
        cur.fetchone()
        ms = (time.perf_counter() - t0) * 1000
        best = ms if best is None or ms < best else best
    return best


def pandas_ms(strings, fmt):
    best = None
    s = pd.Series(strings)
    for _ in range(3):
        t0 = time.perf_counter()
        pd.to_datetime(s, format=fmt, errors="coerce")
        ms = (time.perf_counter() - t0) * 1000
        best = ms if best is None or ms < best else best
    return best


words = sql_ms("mlops.try_cast_timestamp('jan-0' || (i % 9 + 1) || '-2024')")
iso = sql_ms("mlops.try_cast_timestamp('2024-01-0' || (i % 9 + 1))")
pw = pandas_ms([f"jan-0{i % 9 + 1}-2024" for i in range(1, n + 1)], "%b-%d-%Y")
pi = pandas_ms([f"2024-01-0{i % 9 + 1}" for i in range(1, n + 1)], "%Y-%m-%d")
print(f"# {n} cells, best of 3")
print(f"month-name dates: try_cast_timestamp {words:.0f} ms, pandas.to_datetime {pw:.0f} ms, ratio {words / pw:.2f}")
print(f"ISO dates:        try_cast_timestamp {iso:.0f} ms, pandas.to_datetime {pi:.0f} ms, ratio {iso / pi:.2f}")
