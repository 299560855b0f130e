#!/usr/bin/python3
"""Scale benchmark: ml_clean on 1, 3 and 10 million delivery rows with the
default maintenance_work_mem, reporting wall time, time per row against the
smallest size, and the backend's peak private memory (RssAnon, polled from
/proc every 50 ms: heap and anonymous maps, not shared buffers or libraries).

The table is the reference delivery table repeated (with fresh row ids),
so every size keeps the same structure and share of missing cells.
With --profile (on by default) the call also reports progress at every
step (pg_mlops.progress_interval = 1 ms), and for each NOTICE the backend's
RssAnon at that moment and its peak since the previous one are printed:
the memory profile by phase (imputed column, filled chunk).

Runs inside a cluster made by scripts/cluster.sh (bench/run.sh --scale).
"""
import argparse
import os
import subprocess
import sys
import threading
import time

from deliveries import DDL, GEN, GEN_ABSENT, HERE, psql  # noqa: F401


def rss_anon(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,3000000,10000000")
    ap.add_argument("--no-profile", action="store_true", help="peak memory only, no per-phase profile")
    args = ap.parse_args()
    csv = os.path.join(HERE, "data", "deliveries_197428_2022.csv")
    if not os.path.exists(csv) and not os.path.exists(GEN):
        print(GEN_ABSENT)
        return
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
        env = dict(os.environ)
        if not args.no_profile:
            env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c pg_mlops.progress_interval=1").strip()
        proc = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c",
             "SELECT bench_time($q$SELECT * FROM ml_clean('big', into_table => 'big_clean')$q$)"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        state = {"pid": None, "peak": 0, "since": 0, "start": 0}
        phases, errs = [], []

        def notices():
            # each progress NOTICE: RssAnon now and the peak since the previous one
            for line in proc.stderr:
                errs.append(line)
                if "NOTICE:" in line and state["pid"]:
                    now = rss_anon(state["pid"])
                    phases.append((line.split("NOTICE:", 1)[1].strip(), now, max(state["since"], now)))
                    state["since"] = now
        reader = threading.Thread(target=notices, daemon=True)
        reader.start()
        while proc.poll() is None:
            if state["pid"] is None:
                found = psql("SELECT pid FROM pg_stat_activity WHERE query LIKE '%bench_time($q$SELECT * FROM ml_clean%' "
                             "AND pid <> pg_backend_pid()").split()
                state["pid"] = int(found[0]) if found else None
                if state["pid"]:
                    state["start"] = rss_anon(state["pid"])
            if state["pid"]:
                now = rss_anon(state["pid"])
                state["peak"] = max(state["peak"], now)
                state["since"] = max(state["since"], now)
            time.sleep(0.05)
        out = proc.stdout.read()
        reader.join()
        if proc.returncode != 0:
            sys.exit("".join(errs))
        peak = state["peak"]
        secs = float(out.split()[0])
        private_mb = peak / 1024
        per_row = secs / n * 1e6
        base = base or per_row
        print(f"{n:>10} {secs:>9.1f} {per_row:>8.2f} {per_row / base:>8.2f}x {private_mb:>16.0f}", flush=True)
        if phases:
            print(f"#   memory profile ({n} rows): RssAnon MB at the first poll {state['start'] / 1024:.0f}; "
                  f"at each progress report, now / peak since the previous report")
            chunks = [(now, since) for msg, now, since in phases if msg.startswith("filled a chunk")]
            for msg, now, since in phases:
                if not msg.startswith("filled a chunk"):
                    print(f"#     {now / 1024:6.0f} / {since / 1024:6.0f}  {msg}")
            if chunks:       # one line for all chunks: there are thousands at 10M rows
                print(f"#     {min(c[0] for c in chunks) / 1024:.0f}-{max(c[0] for c in chunks) / 1024:.0f} / "
                      f"{max(c[1] for c in chunks) / 1024:.0f}  {len(chunks)} chunks filled "
                      f"(RssAnon after each: min-max / peak)")


if __name__ == "__main__":
    main()
