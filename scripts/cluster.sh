#!/usr/bin/env bash
# Run a command against a throwaway local PostgreSQL cluster that preloads
# pg_mlops (pg_virtualenv creates it, exports PGHOST/PGPORT/PGUSER/PGPASSWORD
# and removes it afterwards). The job launcher serves the databases of the
# test/jobs_*.sh scenarios (mlops_jobs), the README tour (mlops_readme_tour)
# and the demo (mlops_demo), and polls often so their runs start quickly.
set -euo pipefail
exec pg_virtualenv -t -v 15 \
  -o "shared_preload_libraries=pg_mlops" \
  -o "max_worker_processes=16" \
  -o "lc_messages=C" \
  -o "pg_mlops.job_databases=mlops_jobs,mlops_readme_tour,mlops_demo" \
  -o "pg_mlops.job_poll_interval=200ms" \
  "$@"
