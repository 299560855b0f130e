"""Column profiles' cost inside ml_clean on the reference delivery table.

Times full ml_clean (auto, into a new table) with the profiles written
(mlops.column_profiles present) and without (the table renamed away, which
makes the library skip them, as for a catalog older than 0.3.0), runs
interleaved, and prints the medians and their ratio. Run by
bench/profiles.sh inside a throwaway cluster.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deliveries import load_deliveries, psql  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=197428)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each variant")
    args = ap.parse_args()
    if load_deliveries(args.rows, args.seed) is None:
        return

    def run(profiles):
        if not profiles:
            psql("ALTER TABLE mlops.column_profiles RENAME TO column_profiles_off")
        psql("DROP TABLE IF EXISTS clean_out")
        secs = float(psql("SELECT bench_time($q$SELECT * FROM ml_clean('deliveries', "
                          "into_table => 'clean_out')$q$)"))
        if not profiles:
            psql("ALTER TABLE mlops.column_profiles_off RENAME TO column_profiles")
        return secs

    run(True)  # warm-up: caches, the first plan
    on, off = [], []
    for i in range(args.repeat):
        for profiles in ((True, False) if i % 2 == 0 else (False, True)):
            (on if profiles else off).append(run(profiles))
    on.sort()
    off.sort()
    m_on, m_off = on[len(on) // 2], off[len(off) // 2]
    rows = psql("SELECT count(*) FROM mlops.column_profiles").strip()
    print(f"# ml_clean on deliveries ({args.rows} rows), {args.repeat} runs each, interleaved")
    print(f"with profiles     median {m_on:.3f} s (min {on[0]:.3f})")
    print(f"without profiles  median {m_off:.3f} s (min {off[0]:.3f})")
    print(f"ratio with/without: {m_on / m_off:.3f} (medians), {on[0] / off[0]:.3f} (minima); "
          f"{rows} profile rows written")


if __name__ == "__main__":
    main()
