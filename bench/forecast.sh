#!/usr/bin/env bash
# Per-series forecasting against a statsmodels loop in the same run (see
# bench/forecast.py for what is measured):
#
#   bash bench/forecast.sh                       # 1,000 series, best of 3, statsmodels on 200
#   bash bench/forecast.sh --sm-series 1000      # the full statsmodels loop
#
# Builds and installs the extension, starts a throwaway cluster, prints the
# timings and sMAPE side by side with their ratios.
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
need python3-numpy python3-statsmodels
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/forecast.py "$@"
