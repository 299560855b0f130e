#!/usr/bin/env bash
# Many-models on the delivery table: ml_train_groups with 1 and 2 workers
# against a scikit-learn loop over the same markets (bench/train_groups.py).
#
#   bash bench/train_groups.sh [--rows N]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need python3-pandas python3-sklearn
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/train_groups.py "$@"
