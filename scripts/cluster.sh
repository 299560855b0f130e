#!/usr/bin/env bash
# Run a command against a throwaway local PostgreSQL cluster that preloads
# pg_mlops (pg_virtualenv creates it, exports PGHOST/PGPORT/PGUSER/PGPASSWORD
# and removes it afterwards).
set -euo pipefail
exec pg_virtualenv -t -v 15 \
  -o "shared_preload_libraries=pg_mlops" \
  -o "max_worker_processes=16" \
  -o "lc_messages=C" \
  "$@"
