#!/usr/bin/env bash
# Imputation and cleaning benchmark on the reference delivery table, with
# scikit-learn beside it in the same run:
#
#   bash bench/run.sh                      # full table (197,428 rows), seed 2022
#   bash bench/run.sh --rows 50000 --seed 7
#   bash bench/run.sh --scale --sizes 1000000,3000000,10000000
#
# Builds and installs the extension, starts a throwaway cluster, generates
# the table and its hidden true values with ../shared/bench/make_deliveries.py,
# and prints wall times and accuracy side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
for p in python3-pandas python3-sklearn; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { apt-get update -qq && apt-get install -y -qq "$p" >/dev/null; }
done
make -s all install >/dev/null
if [ "${1:-}" = "--scale" ]; then
  shift
  exec bash scripts/cluster.sh /usr/bin/python3 bench/scale.py "$@"
fi
exec bash scripts/cluster.sh /usr/bin/python3 bench/deliveries.py "$@"
