#!/usr/bin/env bash
# The chain on a wide small table: 400 rows, 3 numeric columns with 15 %
# gaps and N text columns of 10 levels with 15 % gaps (default 30), each a
# one-hot input of the numeric members and, up to ML_CHAIN_MAX_INDICATORS,
# a chain member through its levels' indicators. Prints the wall time of
# ml_impute with method 'chain' and with 'auto' (into a new table), and the
# method the first numeric column got. Builds, installs and runs in a
# throwaway cluster.
#
#   flock /tmp/pg_mlops.lock bash bench/chain_wide.sh [categories]
set -euo pipefail
cd "$(dirname "$0")/.."
ncat=${1:-30}
case "$ncat" in ''|*[!0-9]*) echo "usage: $0 [categories]" >&2; exit 2 ;; esac
make -s all install >/dev/null
exec bash scripts/cluster.sh bash -c '
set -euo pipefail
db=mlops_bench_chain_wide
dropdb --if-exists $db 2>/dev/null; createdb $db
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -v ncat='"$ncat"' >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
SELECT setseed(0.3);
CREATE TABLE wide AS
SELECT i AS id,
       CASE WHEN random() < 0.15 THEN NULL ELSE random() * 10 + (i % 7) END AS x1,
       CASE WHEN random() < 0.15 THEN NULL ELSE random() * 5 + (i % 3) END AS x2,
       CASE WHEN random() < 0.15 THEN NULL ELSE random() END AS x3
FROM generate_series(1, 400) i;
SELECT format(\$\$ALTER TABLE wide ADD COLUMN c%s text\$\$, c) FROM generate_series(1, :ncat) c \gexec
SELECT format(\$\$UPDATE wide SET c%s = CASE WHEN random() < 0.15 THEN NULL
              ELSE \$q\$L\$q\$ || ((id * %s + floor(random() * 3)::int) %% 10) END\$\$, c, c)
FROM generate_series(1, :ncat) c \gexec
SQL
for method in chain auto; do
  out=$(q -c "SET client_min_messages = warning" -c "\\timing on" \
    -c "SELECT method FROM ml_impute(\$\$wide\$\$, method => \$\$$method\$\$, options => \$\${\"roles\": {\"id\": \"identifier\"}}\$\$, into_table => \$\$w_$method\$\$) WHERE column_name = \$\$x1\$\$")
  ms=$(echo "$out" | grep -oE "Time: [0-9.]+" | tail -1 | cut -d" " -f2)
  printf "%-6s %8.2f s  x1: %s\n" "$method" "$(awk "BEGIN{print $ms / 1000}")" "$(echo "$out" | grep -v "^Time" | head -1)"
done
dropdb $db
'
