#!/usr/bin/env bash
# What the column profiles cost ml_clean on the reference delivery table
# (197,428 rows): runs with and without profiles, interleaved, medians and
# their ratio.
#
#   bash bench/profiles.sh               # 5 runs of each
#   bash bench/profiles.sh --repeat 3
#
# Builds and installs the extension and starts a throwaway cluster; the
# table comes from ../shared/bench/make_deliveries.py (see bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need python3-pandas python3-psycopg2
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/profiles.py "$@"
