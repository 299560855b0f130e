#!/usr/bin/env bash
# API usage and the day's quota survive a clean server restart: in a
# database the scheduler serves (mlops_jobs: usage written to
# mlops.api_usage by the dispatch pass before the restart) and in one it
# does not serve (usage only in shared memory: saved to a file at
# shutdown, read back at start). Prints TAP; run with prove in
# scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/api.bash"
api_roles arest
served=mlops_jobs unserved=mlops_api_unserved
echo "1..13"

score() { qd "$1" -c "SET ROLE $cons" -c "SELECT count(ml_predict('homes', h)) FROM houses h WHERE id <= $2" 2>&1 || true; }
usage() { qd "$1" -c "SET ROLE $cons" -c "SELECT calls || ' ' || rows || ' ' || errors FROM ml_api_usage"; }

for d in $served $unserved; do
  api_db $d
  qd $d -c "SET ROLE $eng" -c "SELECT ml_expose('homes', '$cons', '{\"rows_per_day\": 50}')" >/dev/null
  score $d 30 >/dev/null
  score $d 5 >/dev/null
done
# wait_for reads $db, the served database
check "the served database's usage is written to the catalog" wait_for "SELECT rows = 35 FROM mlops.api_usage" 20
check "the unserved database's usage is in shared memory only" \
  test "$(qd $unserved -c "SELECT count(*) FROM mlops.api_usage")/$(usage $unserved)" = "0/2 35 0"

api_restart
echo "# server restarted"
check "usage in the served database after the restart" test "$(usage $served)" = "2 35 0"
check "usage in the unserved database after the restart (from the shutdown file)" test "$(usage $unserved)" = "2 35 0"
for d in $served $unserved; do
  out=$(score $d 15)
  check "$d: the day's rows are still counted: 15 more fit" test "$out" = 15
  out=$(score $d 1)
  check "$d: and the 51st row is refused" grep -q "daily row quota of role \"$cons\" on project \"homes\" exceeded: rows_per_day is 50" <<<"$out"
done

# A damaged usage file is not trusted: here every record's day's rows are
# changed (a quota would be lifted or exhausted); the CRC refuses the file,
# so the unserved database's usage is lost, as after a crash, not corrupted.
corrupt_usage_file() {
  python3 - "$datadir/pg_stat/pg_mlops_api_usage.stat" <<'PY'
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
magic, version, size = struct.unpack_from('<III', data, 0)
n, = struct.unpack_from('<i', data, 12)
for i in range(n):
    # the top byte of the record's rows, right after its 88-byte key
    data[16 + i * size + 88 + 6] ^= 0x01
open(path, 'wb').write(bytes(data))
PY
}
check "the server restarts over a damaged usage file" api_stop_start corrupt_usage_file
check "the damaged file's counts are not loaded" test "$(usage $unserved)" = ""
check "the served database's usage comes back from the catalog" \
  test "$(usage $served | cut -d' ' -f3)" = "$(qd $served -c "SELECT errors FROM mlops.api_usage")"

# The table's size is a hard limit: past it, scoring through a new exposure
# fails with 53000, never taking the shared memory's slack (which the lock
# table needs). Up to 130 consumers, each scoring once through its exposure.
qd postgres -c "ALTER SYSTEM SET pg_mlops.api_usage_entries = 100" >/dev/null
api_restart
{
  echo "SET client_min_messages = warning;"
  for i in $(seq 130); do
    echo "DROP ROLE IF EXISTS ${prefix}_m$i; CREATE ROLE ${prefix}_m$i; GRANT ml_consumer TO ${prefix}_m$i;"
    echo "SET ROLE $eng; SELECT ml_expose('homes', '${prefix}_m$i'); RESET ROLE;"
  done
} | qd $served >/dev/null
out=$(for i in $(seq 130); do
  echo "SET ROLE ${prefix}_m$i; SELECT 'ok' FROM houses h WHERE id = 1 AND ml_predict('homes', h) IS NOT NULL; RESET ROLE;"
done | psql -X -q -At -d $served 2>&1 || true)
check "past pg_mlops.api_usage_entries, a clear error" \
  grep -q "too many consumers and projects metered today: all 100 API usage entries are in use" <<<"$out"
check "and never more than 100 entries" test "$(grep -c '^ok$' <<<"$out")" -le 100
qd postgres -c "ALTER SYSTEM RESET pg_mlops.api_usage_entries" >/dev/null
api_restart
for i in $(seq 130); do echo "DROP ROLE IF EXISTS ${prefix}_m$i;"; done | psql -X -q -d postgres >/dev/null 2>&1 || true
