#!/usr/bin/env bash
# Linear regression on a 1,000,000 x 20 table: the parallel aggregate
# mlops.ml_gram_agg + mlops.ml_linear_solve with 0, 1 and 2 parallel
# workers, and scikit-learn's LinearRegression on the same rows in memory,
# in the same run:
#
#   bash bench/linear_1m.sh                  # 1,000,000 rows, 20 features
#   bash bench/linear_1m.sh --rows 200000 --repeat 5
#   bash bench/linear_1m.sh --mode scanners --repeat 7
#                                            # 1 against 2 scanning workers, the
#                                            # leader only combining (median of
#                                            # 7 alternated runs)
#
# Builds and installs the extension (holding /tmp/pg_mlops.lock, as every
# install on this machine must) and runs in a throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/python3 >/dev/null
/usr/bin/python3 -c 'import sklearn, psycopg2, numpy' 2>/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends python3-sklearn python3-psycopg2 python3-numpy >/dev/null
}
exec flock /tmp/pg_mlops.lock sh -c 'make -s all install >/dev/null &&
  bash scripts/cluster.sh /usr/bin/python3 bench/linear_1m.py "$@"' sh "$@"
