#!/usr/bin/env bash
# mlops.try_cast_timestamp on month-name and ISO dates against
# pandas.to_datetime (bench/timestamp_words.py), in a throwaway cluster.
#
#   flock /tmp/pg_mlops.lock bash bench/timestamp_words.sh [cells]   # default 250000
set -euo pipefail
cd "$(dirname "$0")/.."
make -s all install >/dev/null
exec bash scripts/cluster.sh /usr/bin/python3 bench/timestamp_words.py "${1:-250000}"
