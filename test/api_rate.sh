#!/usr/bin/env bash
# calls_per_second at the boundary: with a limit of 3, three calls begun in
# one second succeed and the fourth is refused (53400, naming the limit and
# the next second); the next second admits calls again. A call is a
# statement: one statement over 100 rows is one call. Statements are
# aligned to the start of a second, and the check is made only on rounds
# whose statements all began in the same second (a round split by a slow
# moment is retried), so nothing depends on speed. Then two sessions race
# for a daily row quota: together they never get more than it.
# Prints TAP; run with prove in scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/api.bash"
api_roles arate
d=mlops_api_rate
api_db $d
echo "1..8"

qd $d >/dev/null <<SQL
SET client_min_messages = warning;
-- one call; its statement's second, then ok or the SQLSTATE and hint
CREATE FUNCTION rate_call(n integer DEFAULT 1) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE st text; hint text; c bigint;
BEGIN
    SELECT count(ml_predict('homes', h)) INTO c FROM houses h WHERE id <= n;
    RETURN floor(extract(epoch FROM statement_timestamp()))::bigint || ' ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, hint = PG_EXCEPTION_HINT;
    RETURN floor(extract(epoch FROM statement_timestamp()))::bigint || ' ' || st || ' ' || hint;
END
\$\$;
SET ROLE $eng;
SELECT ml_expose('homes', '$cons', '{"calls_per_second": 3}');
SQL

# A round: wait for the next second, then five statements in one session.
round() {
  qd $d <<SQL
SET ROLE $cons;
SELECT pg_sleep(1.02 - extract(epoch FROM clock_timestamp()) % 1);
SELECT rate_call(100);
SELECT rate_call();
SELECT rate_call();
SELECT rate_call();
SELECT rate_call();
SQL
}
for attempt in 1 2 3 4 5; do
  out=$(round | grep -v '^$')
  secs=$(awk '{ print $1 }' <<<"$out" | sort -u | wc -l)
  [ "$secs" = 1 ] && break
  echo "# round $attempt spanned two seconds; again"
done
sec=$(head -1 <<<"$out" | awk '{ print $1 }')
results=$(awk '{ print $2 }' <<<"$out" | tr '\n' ' ')
check "three calls in one second succeed (the first over 100 rows), the fourth and fifth are refused" \
  test "$results" = "ok ok ok 53400 53400 "
reset=$(qd $d -c "SELECT to_char(to_timestamp($sec + 1) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'")
check "the refusal says when the limit resets: the next second ($reset)" \
  grep -q "The limit resets at $reset." <<<"$out"
msg=$(qd $d -c "SET ROLE $cons" -c "SELECT pg_sleep(1.02 - extract(epoch FROM clock_timestamp()) % 1)" \
        -c "SELECT rate_call()" | tail -1)
check "the next second admits calls again" test "$(awk '{ print $2 }' <<<"$msg")" = ok
usage=$(qd $d -c "SET ROLE $eng" -c "SELECT calls || ' ' || rows || ' ' || errors FROM ml_api_usage")
check "refused calls are counted as calls and errors, not rows (calls rows errors: $usage)" \
  test "$(awk '{ print $3 }' <<<"$usage")" -ge 2

# Two sessions race for 500 rows a day, 7 rows a statement.
qd $d -c "SET ROLE $eng" -c "SELECT ml_expose('homes', '$cons2', '{\"rows_per_day\": 500}')" >/dev/null
race() {
  for _ in $(seq 60); do echo "SELECT count(ml_predict('homes', h)) FROM houses h WHERE id <= 7;"; done |
    psql -X -q -At -d $d -c "SET ROLE $cons2" -f - 2>&1 || true
}
tmp=$(mktemp -d)
race >"$tmp/a" & race >"$tmp/b" & wait
a=$(grep -cx 7 "$tmp/a" || true) b=$(grep -cx 7 "$tmp/b" || true)
echo "# session a: $a statements of 7 rows, session b: $b"
check "both sessions scored" test "$a" -gt 0 -a "$b" -gt 0
check "together they got at most the quota ($(( (a + b) * 7 )) <= 500 rows)" test $(( (a + b) * 7 )) -le 500
rows=$(qd $d -c "SET ROLE $eng" -c "SELECT rows FROM ml_api_usage WHERE consumer = '$cons2'")
check "and the quota is used exactly, never overshot ($rows rows charged)" test "$rows" = 500
rm -rf "$tmp"

# A real client: pandas read_sql over psycopg2 gets numbers as numbers.
dtypes=$(DB=$d ROLE=$eng /usr/bin/python3 - <<'PY' 2>&1
import os, warnings
import pandas as pd, psycopg2
warnings.simplefilter("ignore")
conn = psycopg2.connect(dbname=os.environ["DB"])
conn.cursor().execute("SET ROLE " + os.environ["ROLE"])
df = pd.read_sql("SELECT * FROM ml_api_usage ORDER BY consumer", conn)
print(" ".join("%s:%s" % (c, df[c].dtype) for c in df.columns), len(df))
PY
) || true
echo "$dtypes" | sed "s|^|# |"
check "pandas reads ml_api_usage with integer counts and float latencies" \
  test "$dtypes" = "consumer:object project:object day:object calls:int64 rows:int64 errors:int64 latency_p50_ms:float64 latency_p95_ms:float64 latency_p99_ms:float64 2"
