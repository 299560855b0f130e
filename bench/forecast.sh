#!/usr/bin/env bash
# Per-series forecasting against a statsmodels loop in the same run (see
# bench/forecast.py for what is measured):
#
#   bash bench/forecast.sh                       # 1,000 series, median of 7, statsmodels on 200
#   bash bench/forecast.sh --sm-series 1000      # the full statsmodels loop
#
# Builds and installs the extension, starts a throwaway cluster, prints the
# timings and sMAPE side by side with their ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need python3-numpy python3-statsmodels
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/forecast.py "$@"
