#!/usr/bin/env bash
# ml_train 'auto' against the best single algorithm and the scikit-learn /
# XGBoost anchors in the same run (see bench/auto.py):
#
#   bash bench/auto.sh                 # budget_s 60
#   bash bench/auto.sh --budget 30 --seed 7
#
# Builds and installs the extension, starts a throwaway cluster, prints the
# test RMSE of each and the ratio of auto's to the best single algorithm's.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need python3-pandas python3-sklearn python3-xgboost
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/auto.py "$@"
