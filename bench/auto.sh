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
exec bash scripts/cluster.sh /usr/bin/python3 bench/auto.py "$@"
