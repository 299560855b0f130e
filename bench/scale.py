#!/usr/bin/python3
"""Scale benchmark: ml_clean on 1, 3 and 10 million delivery rows with the
default maintenance_work_mem, reporting wall time, time per row against the
smallest size, and the backend's peak private memory (RssAnon, polled from
/proc every 50 ms: heap and anonymous maps, not shared buffers or libraries).

The table is the reference delivery table repeated (with fresh row ids),
so every size keeps the same structure and share of missing cells.
Runs inside a cluster made by scripts/cluster.sh (bench/run.sh --scale).
"""
import argparse
import os
import subprocess
import sys
import time

from deliveries import DDL, GEN, HERE, psql  # noqa: F401


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,3000000,10000000")
    args = ap.parse_args()
    csv = os.path.join(HERE, "data", "deliveries_197428_2022.csv")
    if not os.path.exists(csv):
        os.makedirs(os.path.dirname(csv), exist_ok=True)
        subprocess.run([sys.executable, GEN, csv], check=True)
    psql("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mlops;" + DDL)
    with open(csv) as f:
        header = f.readline().strip()
        psql(f"COPY deliveries ({header}) FROM STDIN CSV", stdin=f.read())
    mwm = psql("SHOW maintenance_work_mem").strip()
    print(f"# ml_clean (auto, into a new table), maintenance_work_mem = {mwm}")
    print(f"{'rows':>10} {'seconds':>9} {'us/row':>8} {'vs first':>9} {'peak RssAnon MB':>16}")
    base = None
    for n in [int(s) for s in args.sizes.split(",")]:
        psql("DROP TABLE IF EXISTS big, big_clean")
        cols = header
        # each copy of the reference table is shifted by a month, so no row repeats
        shifted = ", ".join(f"{c} + (g - 1) * interval '31 days' AS {c}"
                            if c in ("created_at", "actual_delivery_time") else c
                            for c in cols.split(","))
        psql(f"CREATE TABLE big AS SELECT {shifted} FROM deliveries, "
             f"generate_series(1, {(n + 197427) // 197428}) g LIMIT {n}")
        psql("VACUUM ANALYZE big")
        # the call in one session; meanwhile another polls that backend's
        # private (anonymous) resident memory in /proc and keeps the peak
        proc = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c",
             "SELECT bench_time($q$SELECT * FROM ml_clean('big', into_table => 'big_clean')$q$)"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pid, peak = None, 0
        while proc.poll() is None:
            if pid is None:
                found = psql("SELECT pid FROM pg_stat_activity WHERE query LIKE '%bench_time($q$SELECT * FROM ml_clean%' "
                             "AND pid <> pg_backend_pid()").split()
                pid = int(found[0]) if found else None
            if pid:
                try:
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("RssAnon"):
                                peak = max(peak, int(line.split()[1]))
                except OSError:
                    pass
            time.sleep(0.05)
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(err)
        secs = float(out.split()[0])
        private_mb = peak / 1024
        per_row = secs / n * 1e6
        base = base or per_row
        print(f"{n:>10} {secs:>9.1f} {per_row:>8.2f} {per_row / base:>8.2f}x {private_mb:>16.0f}", flush=True)


if __name__ == "__main__":
    main()
