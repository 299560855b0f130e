#!/usr/bin/env bash
# Imputation and cleaning benchmark on the reference delivery table, with
# scikit-learn beside it in the same run:
#
#   bash bench/run.sh                      # full table (197,428 rows), seed 2022
#   bash bench/run.sh --rows 50000 --seed 7
#   bash bench/run.sh --pg-only            # no scikit-learn anchors: pg_mlops rows, ml_clean time
#   bash bench/run.sh --scale --sizes 1000000,3000000,10000000
#   bash bench/run.sh --corpus             # real tables shipped with Debian packages
#   bash bench/run.sh --corpus --seeds 1 --only iris,mtcars
#
# Builds and installs the extension, starts a throwaway cluster, and prints
# wall times and accuracy side by side. The delivery table and its hidden
# true values come from ../shared/bench/make_deliveries.py (not part of this
# repository); --corpus needs only Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need python3-pandas python3-sklearn python3-psycopg2
if [ "${1:-}" = "--corpus" ]; then
  need python3-statsmodels
  # R's datasets are optional: without Rscript the corpus leaves them out
  need r-base-core || echo "bench: r-base-core not installable, R's datasets left out" >&2
fi
make -s all install >/dev/null
case "${1:-}" in
  --scale) shift; exec bash scripts/cluster.sh /usr/bin/python3 bench/scale.py "$@" ;;
  --corpus) shift; exec bash scripts/cluster.sh /usr/bin/python3 bench/corpus.py "$@" ;;
esac
exec bash scripts/cluster.sh /usr/bin/python3 bench/deliveries.py "$@"
