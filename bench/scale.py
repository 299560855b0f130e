#!/usr/bin/python3
"""Scale benchmark: ml_clean on 1, 3 and 10 million delivery rows with the
default maintenance_work_mem, reporting wall time, time per row against the
smallest size, and the backend's peak resident memory (VmHWM).

The table is the reference delivery table repeated (with fresh row ids),
so every size keeps the same structure and share of missing cells.
Runs inside a cluster made by scripts/cluster.sh (bench/run.sh --scale).
"""
import argparse
import os
import subprocess
import sys

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
    print(f"{'rows':>10} {'seconds':>9} {'us/row':>8} {'vs first':>9} {'private peak MB':>16}")
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
        # one session: the call, then that backend's peak resident memory
        # less the shared buffers it touched (VmHWM - RssShmem, from /proc)
        out = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"],
            input="SELECT bench_time($q$SELECT * FROM ml_clean('big', into_table => 'big_clean')$q$);\n"
                  "SELECT pg_read_file('/proc/self/status');\n",
            capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(out.stderr)
        secs = float(out.stdout.split()[0])
        status = dict(line.split(":", 1) for line in out.stdout.splitlines()[1:] if ":" in line)
        kb = lambda k: int(status.get(k, "0 kB").split()[0])  # noqa: E731
        private_mb = (kb("VmHWM") - kb("RssShmem")) / 1024
        per_row = secs / n * 1e6
        base = base or per_row
        print(f"{n:>10} {secs:>9.1f} {per_row:>8.2f} {per_row / base:>8.2f}x {private_mb:>16.0f}", flush=True)


if __name__ == "__main__":
    main()
