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
bash scripts/deps.sh
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
need() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
need python3-pandas python3-sklearn python3-xgboost
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/train_gbdt.py "$@"
