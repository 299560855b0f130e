#!/usr/bin/python3
"""Per-series forecasting: ml_forecast_train against a statsmodels loop.

Runs inside a cluster made by scripts/cluster.sh (PG* variables set).

Data (seeded, --seed 2026): --series synthetic daily series (default 1,000)
of 730 points, each level + linear trend + weekly and yearly sines + noise
with sd 5 % of the level; the last 28 days of every series are held out.
The first 702 days are loaded into a table (store int, day date, y float8).

pg_mlops: ml_forecast_train(project, 'day', '{store}') with workers 1 and 2
(median of --reps, 1 and 2 alternated), timed in the server (clock_timestamp around the call):
reading the table, grouping, fitting, storing the version; the version's
own load_seconds / fit_seconds split that time (with 2 workers a thread
fits the series already read while the backend reads on, so fit_seconds
is the fitting left after the read). Then ml_forecast(28) for
every series, compared with the held-out days.

statsmodels (Debian python3-statsmodels): ExponentialSmoothing(trend='add',
seasonal='add', seasonal_periods=7).fit() and .forecast(28) in a Python
loop on one core (OPENBLAS/OMP threads 1), on the first --sm-series series
(default 200, a fifth: the full loop takes about 90 s) and extrapolated to
all of them linearly (the series are alike, so the time per series is);
pass --sm-series 1000 for the full loop.

sMAPE = mean over the held-out days of 200 |f - y| / (|f| + |y|), in %.

    bash bench/forecast.sh [--series 1000] [--reps 7] [--sm-series 200]
"""
import argparse
import io
import json
import os
import subprocess
import sys
import time

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"

import numpy as np  # noqa: E402
import warnings  # noqa: E402

from statsmodels.tsa.holtwinters import ExponentialSmoothing  # noqa: E402

DAYS = 730
HOLD = 28
START = np.datetime64("2023-01-01")


def psql(sql, stdin=None):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("psql failed: " + r.stderr)
    return r.stdout.strip()


def make_series(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS, dtype=float)
    level = rng.uniform(50, 150, n)[:, None]
    slope = rng.uniform(-0.0005, 0.001, n)[:, None] * level
    wk = rng.uniform(0.05, 0.2, n)[:, None] * level
    yr = rng.uniform(0.05, 0.2, n)[:, None] * level
    pw = rng.uniform(0, 2 * np.pi, n)[:, None]
    py = rng.uniform(0, 2 * np.pi, n)[:, None]
    y = (level + slope * t + wk * np.sin(2 * np.pi * t / 7 + pw)
         + yr * np.sin(2 * np.pi * t / 365.25 + py)
         + rng.normal(0, 1, (n, DAYS)) * 0.05 * level)
    return y


def smape(f, y):
    return float(np.mean(200 * np.abs(f - y) / (np.abs(f) + np.abs(y))))


def load(y):
    n = y.shape[0]
    train = DAYS - HOLD
    days = [str(START + np.timedelta64(d, "D")) for d in range(train)]
    buf = io.StringIO()
    for s in range(n):
        row = y[s]
        for d in range(train):
            buf.write("%d\t%s\t%.6f\n" % (s, days[d], row[d]))
    psql("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mlops; "
         "DROP TABLE IF EXISTS bench_fc; "
         "CREATE TABLE bench_fc (store int, day date, y float8); "
         "SELECT ml_drop_project(name, true) FROM mlops.projects WHERE name = 'bench_fc'; "
         "CREATE OR REPLACE FUNCTION bench_time(sql text) RETURNS float8 LANGUAGE plpgsql AS $$ "
         "DECLARE t timestamptz := clock_timestamp(); "
         "BEGIN EXECUTE sql; RETURN extract(epoch FROM clock_timestamp() - t); END $$")
    psql("\\copy bench_fc FROM STDIN", stdin=buf.getvalue())
    psql("VACUUM ANALYZE bench_fc")
    psql("SELECT ml_create_project('bench_fc', 'bench_fc', 'y', 'forecast')")


def pg_train_once(workers):
    secs = float(psql("SELECT bench_time($q$SELECT ml_forecast_train('bench_fc', 'day', "
                      "'{store}', '{\"workers\": %d}')$q$)" % workers))
    m = json.loads(psql("SELECT metrics FROM ml_models WHERE project = 'bench_fc' "
                        "ORDER BY version DESC LIMIT 1"))
    v = int(psql("SELECT max(version) FROM ml_models WHERE project = 'bench_fc'"))
    return (secs, m, v)


def pg_train(reps):
    """1 and 2 workers alternated (so a change in the machine's load hits
    both alike); the median run of each by wall time."""
    runs = {1: [], 2: []}
    for _ in range(reps):
        for w in (1, 2):
            runs[w].append(pg_train_once(w))
    med = {}
    for w in (1, 2):
        r = sorted(runs[w], key=lambda x: x[0])
        med[w] = r[len(r) // 2]
        print("workers %d, wall s of each run: %s" % (w, " ".join("%.3f" % x[0] for x in runs[w])))
    return med[1], med[2]


def pg_forecast(version, n):
    t0 = time.perf_counter()
    out = psql("SELECT (series->>'store')::int, (ts::date - '%s'::date), forecast "
               "FROM ml_forecast('bench_fc', %d, %d)" % (START, HOLD, version))
    secs = time.perf_counter() - t0
    f = np.full((n, HOLD), np.nan)
    for line in out.splitlines():
        s, d, v = line.split("|")
        f[int(s), int(d) - (DAYS - HOLD)] = float(v)
    return f, secs


def sm_loop(y, k):
    f = np.empty((k, HOLD))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in range(k):
            m = ExponentialSmoothing(y[s, :DAYS - HOLD], trend="add", seasonal="add",
                                     seasonal_periods=7).fit()
            f[s] = m.forecast(HOLD)
    return f, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--sm-series", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    n = a.series
    k = min(a.sm_series, n)
    y = make_series(n, a.seed)
    held = y[:, DAYS - HOLD:]
    load(y)

    w1, w2 = pg_train(a.reps)
    f, fc_secs = pg_forecast(w2[2], n)
    if np.isnan(f).any():
        sys.exit("ml_forecast left series or days out")
    sm_f, sm_secs = sm_loop(y, k)
    sm_all = sm_secs * n / k

    pg_smape = smape(f, held)
    pg_smape_k = smape(f[:k], held[:k])
    sm_smape = smape(sm_f, held[:k])
    print("forecasting: %d series x %d days (last %d held out), seed %d" % (n, DAYS, HOLD, a.seed))
    print("%-46s %9s %9s %9s" % ("", "wall s", "load s", "fit s"))
    for name, r in (("pg_mlops ml_forecast_train, 1 worker", w1),
                    ("pg_mlops ml_forecast_train, 2 workers", w2)):
        print("%-46s %9.3f %9.3f %9.3f" % (name, r[0], r[1]["load_seconds"], r[1]["fit_seconds"]))
    print("%-46s %9.3f" % ("pg_mlops ml_forecast(28), all series", fc_secs))
    print("%-46s %9.3f   (%d series measured: %.3f s, %.1f ms/series)"
          % ("statsmodels ExponentialSmoothing loop, 1 core", sm_all, k, sm_secs, 1000 * sm_secs / k))
    print()
    print("speed-up 2 workers vs 1, whole call:   %.2fx" % (w1[0] / w2[0]))
    print("fitting left after the read: %.3f s (1 worker), %.3f s (2 workers: one thread fits "
          "while the backend reads)" % (w1[1]["fit_seconds"], w2[1]["fit_seconds"]))
    print("pg_mlops (2 workers) vs statsmodels:   %.1fx faster%s"
          % (sm_all / w2[0], "" if k == n else " (statsmodels extrapolated from %d series)" % k))
    print("pg_mlops train + forecast vs statsmodels fit + forecast: %.1fx faster"
          % (sm_all / (w2[0] + fc_secs)))
    print("sMAPE on the held-out %d days: pg_mlops %.2f %% (all %d series), %.2f %% (first %d); "
          "statsmodels %.2f %% (first %d)" % (HOLD, pg_smape, n, pg_smape_k, k, sm_smape, k))
    print("series fitted: %d, with weekly %d, with yearly %d" %
          (w2[1]["fitted"], w2[1]["with_weekly"], w2[1]["with_yearly"]))


if __name__ == "__main__":
    main()
