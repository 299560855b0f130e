#!/usr/bin/env bash
# Tree learners against scikit-learn and XGBoost in the same run (see
# bench/train_gbdt.py for what is measured):
#
#   bash bench/train_gbdt.sh                     # deliveries + classification, best of 3
#   bash bench/train_gbdt.sh --reps 5 --skip-classification
#
# Builds and installs the extension, starts a throwaway cluster, prints the
# timings and errors side by side with their ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need python3-pandas python3-sklearn python3-xgboost
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/train_gbdt.py "$@"
