#!/usr/bin/python3
"""Where ml_train 'gbdt' spends its time on the reference delivery table.

Runs inside a cluster made by scripts/cluster.sh. Loads the table as
bench/train_gbdt.py does, trains once to warm the caches, then trains again
(--reps times) with the phase timings of the debug log (client_min_messages
= debug1) printed, and with --perf FILE under `perf record -g` attached to
the backend (then `perf report -i FILE`).

    bash scripts/cluster.sh /usr/bin/python3 bench/profile_gbdt.py [--perf /tmp/x.data]
"""
import argparse
import os
import signal
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_gbdt as tg  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perf", help="perf.data file to record the timed runs into")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--csv", help="deliveries CSV already generated (seed 2022)")
    ap.add_argument("--hp", default='{"n_estimators": 100, "max_depth": 6}')
    args = ap.parse_args()
    csv = args.csv
    if not csv:
        csv = "/tmp/profile_gbdt_deliveries.csv"
        subprocess.run([sys.executable, tg.GEN, csv, "--seed", "2022"], check=True, capture_output=True)
    tg.psql("CREATE EXTENSION IF NOT EXISTS pg_mlops")
    tg.psql(tg.DDL)
    with open(csv) as f:
        cols = f.readline().strip()
        f.seek(0)
        tg.psql(f"COPY deliveries ({cols}) FROM STDIN CSV HEADER", stdin=f.read())
    tg.psql(tg.ETA)
    tg.psql("VACUUM ANALYZE eta")
    tg.psql("SELECT ml_create_project('eta', 'eta', 'eta_s', 'regression')")

    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    sql = ("SELECT version, metrics->>'rmse' FROM ml_train('eta', 'gbdt', %s, "
           "'{\"holdout_column\": \"held_out\"}')")
    cur.execute(sql, (args.hp,))   # warm-up
    cur.execute("SET client_min_messages = debug1")
    perf = None
    if args.perf:
        perf = subprocess.Popen(["perf", "record", "-g", "-F", "2000", "-p", str(pid), "-o", args.perf],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    for _ in range(args.reps):
        del conn.notices[:]
        t = time.perf_counter()
        cur.execute(sql, (args.hp,))
        secs = time.perf_counter() - t
        v, rmse = cur.fetchone()
        print(f"ml_train {secs:.3f} s, version {v}, rmse {rmse}")
        for n in conn.notices:
            if "ml_mlops timing" in n or "timing" in n:
                print("  " + n.strip())
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    conn.close()


if __name__ == "__main__":
    main()
