#!/usr/bin/env bash
# The HTTP endpoint: status codes for every kind of bad request (none
# reaches the data), predictions equal to ml_predict's, slow clients,
# TLS, and a redeploy while requests keep coming. Switches the endpoint on
# in the throwaway cluster of scripts/cluster.sh (ALTER SYSTEM + restart,
# a free port) and off again at the end. Prints TAP; run with prove in
# scripts/cluster.sh.
set -euo pipefail
. "$(dirname "$0")/lib/http.bash"
tmp=$(mktemp -d)
trap 'http_teardown; http_off; rm -rf "$tmp"' EXIT
http_setup htest
port=$(free_port)
url=http://127.0.0.1:$port
echo "1..58"
workers() { psql -X -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops http'"; }
check "off by default: no HTTP worker runs" test "$(workers)" = 0
http_on "$port" http_workers=2 http_timeout=2000 http_max_body=4096
check "with pg_mlops.http_port and http_workers = 2: two workers" test "$(workers)" = 2

# call METHOD PATH [KEY] [BODY]: "status body" of a request
call() {
  local method=$1 path=$2 key=${3:-} body=${4:-} auth=()
  [ -n "$key" ] && auth=(-H "Authorization: Bearer $key")
  curl -s -o "$tmp/body" -w '%{http_code}' -X "$method" "${auth[@]}" \
    -H 'Content-Type: application/json' ${body:+--data-binary "$body"} "$url$path" || true
  printf ' '
  cat "$tmp/body"
}
status() { call "$@" | cut -d' ' -f1; }

rows='{"rows": [{"x1": 1, "x2": 2}, {"x1": 16, "x2": 0}, {"x1": 3.5, "x2": null}]}'
sql_rows="'$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["rows"]))' "$rows")'"
key_eng=$(q -c "SET ROLE $eng" -c "SELECT ml_create_api_key('$eng', 'test')")
key_ana=$(q -c "SELECT ml_create_api_key('$ana', 'an analyst acting as a consumer')")
key_cons=$(q -c "SET ROLE $eng" -c "SELECT ml_create_api_key('$cons', 'no grants')")

r=$(call GET /healthz)
check "GET /healthz answers 200 ok without a key" test "$r" = '200 {"status": "ok"}'

expected=$(q -c "SET ROLE $eng" \
  -c "SELECT jsonb_build_object('model_version', 1, 'predictions', jsonb_agg(ml_predict('homes', r) ORDER BY n))::text
      FROM jsonb_array_elements($sql_rows) WITH ORDINALITY t(r, n)")
r=$(call POST /v1/projects/homes/predict "$key_eng" "$rows")
got=$(q -c "SELECT '${r#* }'::jsonb::text" 2>/dev/null || echo invalid)
check "a good predict answers 200" test "${r%% *}" = 200
check "its predictions equal ml_predict's in SQL, with the deployed version" test "$got" = "$expected"
echo "# $got"

r=$(curl -s -D - -o /dev/null -X POST --data-binary "$rows" "$url/v1/projects/homes/predict")
check "no key: 401" grep -q '^HTTP/1.1 401' <<<"$r"
check "no key: WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' <<<"$r"
wrong="${key_eng%?}x"
[ "$wrong" = "$key_eng" ] && wrong="${key_eng%?}y"
check "a key with a wrong secret: 401" test "$(status POST /v1/projects/homes/predict "$wrong" "$rows")" = 401
check "a malformed key: 401" test "$(status POST /v1/projects/homes/predict "not-a-key" "$rows")" = 401
check "Basic instead of Bearer: 401" test "$(curl -s -o /dev/null -w '%{http_code}' -u a:b -X POST \
  --data-binary "$rows" "$url/v1/projects/homes/predict")" = 401

key_rev=$(q -c "SELECT ml_create_api_key('$eng', 'to revoke')")
check "a fresh key works" test "$(status POST /v1/projects/homes/predict "$key_rev" "$rows")" = 200
q -c "SELECT ml_revoke_api_key('${key_rev}')" >/dev/null
check "a revoked key: 401" test "$(status POST /v1/projects/homes/predict "$key_rev" "$rows")" = 401
key_exp=$(q -c "SELECT ml_create_api_key('$eng', 'expires', '1 millisecond')")
sleep 0.05
check "an expired key: 401" test "$(status POST /v1/projects/homes/predict "$key_exp" "$rows")" = 401

# A consumer without an exposure learns nothing: the project "does not
# exist" for it, exactly as an unknown one.
r=$(call POST /v1/projects/homes/predict "$key_cons" "$rows")
r0=$(call POST /v1/projects/nosuch/predict "$key_cons" "$rows")
check "a consumer without exposure: 404, as for no such project" \
  test "${r%% *} $(sed 's/homes/X/' <<<"${r#* }")" = "404 $(sed 's/nosuch/X/' <<<"${r0#* }")"
check "and no data in the answer" bash -c '! grep -q predictions <<<"$1"' _ "$r"
echo "# $r"
# Exposed, with a quota of 5 rows a day: scored as in SQL, metered, limited.
q -c "SET ROLE $eng" -c "SELECT ml_expose('homes', '$cons', '{\"rows_per_day\": 5}')" >/dev/null
r=$(call POST /v1/projects/homes/predict "$key_cons" "$rows")
check "an exposed consumer's key: 200 with the same predictions" \
  test "${r%% *} $(q -c "SELECT '${r#* }'::jsonb::text" 2>/dev/null)" = "200 $expected"
h=$(curl -s -D - -o "$tmp/body" -X POST -H "Authorization: Bearer $key_cons" --data-binary "$rows" "$url/v1/projects/homes/predict")
check "over the consumer's daily quota: 429 with Retry-After" \
  bash -c 'grep -q "^HTTP/1.1 429" <<<"$1" && grep -qi "^Retry-After: [0-9]" <<<"$1"' _ "$h"
echo "# $(cat "$tmp/body")"
usage=$(q -c "SELECT calls || ' calls, ' || rows || ' rows, ' || errors || ' errors' FROM ml_api_usage
               WHERE consumer = '$cons' AND project = 'homes'")
echo "# usage: $usage"
check "both calls are metered for the consumer as in SQL, the refused one as an error" \
  bash -c 'grep -q "^2 calls, .* 1 errors$" <<<"$1"' _ "$usage"
r1=$(call POST /v1/projects/nosuch/predict "$key_ana" "$rows")
q >/dev/null <<SQL
CREATE ROLE ${prefix}_other IN ROLE ml_analyst;
CREATE TABLE other_houses AS SELECT * FROM houses;
GRANT SELECT ON other_houses TO ${prefix}_other;
SET ROLE ${prefix}_other;
SELECT ml_create_project('hidden', 'other_houses', 'y');
SQL
r2=$(call POST /v1/projects/hidden/predict "$key_ana" "$rows")
check "an unknown project: 404" test "${r1%% *}" = 404
check "a project the key's role cannot see: the same 404" \
  test "$(sed 's/nosuch/X/' <<<"$r1")" = "$(sed 's/hidden/X/' <<<"$r2")"
q -c "DROP OWNED BY ${prefix}_other" -c "DELETE FROM mlops.projects WHERE name = 'hidden'" -c "DROP ROLE ${prefix}_other" >/dev/null
check "a project without a deployed model: 409" test "$(
  q -c "SET ROLE $ana" -c "SELECT ml_create_project('undeployed', 'houses', 'y')" >/dev/null
  status POST /v1/projects/undeployed/predict "$key_eng" "$rows")" = 409
check "a project name with an escaped slash is one name (404, not a route)" \
  test "$(status POST /v1/projects/ho%2Fmes/predict "$key_eng" "$rows")" = 404
check "a badly escaped project name: 400" test "$(status POST /v1/projects/ho%zzmes/predict "$key_eng" "$rows")" = 400

q >/dev/null <<SQL
SET ROLE $ana;
SELECT ml_create_project('we"ird näme/%', 'houses', 'y');
SELECT version FROM ml_train('we"ird näme/%', 'linear');
SELECT ml_mark_ready('we"ird näme/%', 1);
SET ROLE $eng;
SELECT ml_deploy('we"ird näme/%', 1);
SQL
r=$(call POST "/v1/projects/we%22ird%20n%C3%A4me%2F%25/predict" "$key_eng" "$rows")
check "a project name with quotes, a space, UTF-8, a slash and a percent, encoded: 200" \
  test "${r%% *} $(q -c "SELECT '${r#* }'::jsonb::text" 2>/dev/null)" = "200 $expected"
# A 5xx is logged with the project's name: a name holding a newline (from
# the URL path) forged a log line of its own. Escaped now (\n), one line.
q >/dev/null <<SQL
SET ROLE $ana;
SELECT ml_create_project(E'evil\\nLOG:  forged line', 'houses', 'y');
SELECT version FROM ml_train(E'evil\\nLOG:  forged line', 'linear');
SELECT ml_mark_ready(E'evil\\nLOG:  forged line', 1);
SET ROLE $eng;
SELECT ml_deploy(E'evil\\nLOG:  forged line', 1);
RESET ROLE;
-- a damaged payload: XX001 when the request loads it, a 500
UPDATE mlops.models SET payload = substring(payload FROM 1 FOR 20)
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = E'evil\\nLOG:  forged line');
SQL
log_from=$( { [ -n "${server_log:-}" ] && stat -c %s "$server_log"; } 2>/dev/null || echo 0)
check "a project whose stored model is damaged: 500" \
  test "$(status POST "/v1/projects/evil%0ALOG:%20%20forged%20line/predict" "$key_eng" "$rows")" = 500
if [ -n "${server_log:-}" ] && [ -r "$server_log" ]; then
  # what the request wrote (PostgreSQL indents a message's further lines
  # with a tab in this log; syslog takes each as a message of its own)
  for _ in $(seq 50); do tail -c +$((log_from + 1)) "$server_log" | grep -qF 'forged line' && break; sleep 0.1; done
  tail -c +$((log_from + 1)) "$server_log" > "$tmp/log"
  check "its log line escapes the name's newline: one line, no forged one" \
    bash -c 'grep -qF "request for project \"evil\\nLOG:  forged line\" failed" "$1" &&
             ! grep -qE "^[[:space:]]*LOG:  forged line" "$1"' _ "$tmp/log"
else
  n=$((n + 1)); echo "ok $n - # skip the server log was not found"
fi

q >/dev/null <<SQL
CREATE TABLE sizes AS SELECT x1, x2, CASE WHEN y > 30 THEN 'big' ELSE 'small' END AS size FROM houses;
GRANT SELECT ON sizes TO ml_analyst;
SET ROLE $ana;
SELECT ml_create_project('sizes', 'sizes', 'size', 'classification');
SELECT version FROM ml_train('sizes', 'logistic');
SELECT ml_mark_ready('sizes', 1);
SET ROLE $eng;
SELECT ml_deploy('sizes', 1);
SQL
sql_as() { q -c "SET ROLE $eng" -c "SELECT jsonb_agg($1('sizes', r) ORDER BY n)::text FROM jsonb_array_elements($sql_rows) WITH ORDINALITY t(r, n)"; }
r=$(call POST /v1/projects/sizes/predict "$key_eng" "$rows")
check "a classifier answers its labels, as ml_predict_label" \
  test "${r%% *} $(q -c "SELECT ('${r#* }'::jsonb->'predictions')::text")" = "200 $(sql_as ml_predict_label)"
r=$(call POST "/v1/projects/sizes/predict?output=proba" "$key_eng" "$rows")
check "?output=proba answers the probabilities, as ml_predict_proba" \
  test "${r%% *} $(q -c "SELECT ('${r#* }'::jsonb->'predictions')::text")" = "200 $(sql_as ml_predict_proba)"
check "?output=nonsense: 400" test "$(status POST "/v1/projects/sizes/predict?output=nonsense" "$key_eng" "$rows")" = 400
check "?output=proba on a regression: 422" test "$(status POST "/v1/projects/homes/predict?output=proba" "$key_eng" "$rows")" = 422
check "malformed JSON: 400" test "$(status POST /v1/projects/homes/predict "$key_eng" '{"rows": [')" = 400
check "a body without rows: 400" test "$(status POST /v1/projects/homes/predict "$key_eng" '{"row": []}')" = 400
check "a row that is not an object: 400" test "$(status POST /v1/projects/homes/predict "$key_eng" '{"rows": [1]}')" = 400
big=$(python3 -c 'import json; print(json.dumps({"rows": [{"x1": i, "x2": 1} for i in range(1000)]}))')
check "a body over pg_mlops.http_max_body: 413" test "$(status POST /v1/projects/homes/predict "$key_eng" "$big")" = 413
check "the same, chunked (no Content-Length): 413" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $key_eng" -H 'Transfer-Encoding: chunked' --data-binary "$big" \
  "$url/v1/projects/homes/predict")" = 413
psql -X -q -d postgres -c "ALTER SYSTEM SET pg_mlops.http_max_body = '64kB'" -c "SELECT pg_reload_conf()" >/dev/null
ok_after=""
for _ in $(seq 50); do  # each worker reads the file at its next wake-up
  ok_after=$(status POST /v1/projects/homes/predict "$key_eng" "$big")$(status POST /v1/projects/homes/predict "$key_eng" "$big")
  [ "$ok_after" = 200200 ] && break
  sleep 0.1
done
check "pg_mlops.http_max_body raised by a reload: the same body is scored" test "$ok_after" = 200200
# Bodies that parse badly for other reasons than syntax, or hold values the
# model cannot read: a 4xx naming the problem, and the workers live on.
py_body() { python3 -c "$1" >"$tmp/req"; curl -s -o "$tmp/body" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $key_eng" --data-binary @"$tmp/req" "$url/v1/projects/homes/predict" || true
  printf ' '; cat "$tmp/body"; }
r=$(py_body 'print("{\"rows\": [{\"x1\": " + "[" * 30000 + "]" * 30000 + "}]}")')
check "a body nested 30000 deep: 400 saying so" test "$r" = \
  '400 {"error": {"code": "54001", "message": "the request body is nested too deeply"}}'
r=$(py_body 'print("{\"rows\": [{\"x1\": 1e1000000}]}")')
check "a number beyond numeric: 400 naming it" grep -q '^400 .*"22003".*value overflows numeric format' <<<"$r"
r=$(py_body 'print("{\"rows\": [{\"x1\": 1e400, \"x2\": 1}]}")')
check "a number beyond double precision: 422, a short message without its digits" \
  bash -c '[[ $1 == "422 "*"22003"*"out of the range of double precision"* ]] && [ ${#1} -lt 400 ]' _ "$r"
for v in '"abc"' '[1, 2]' '{"a": 1}' 'true'; do
  r=$(py_body "print('{\"rows\": [{\"x1\": $v, \"x2\": 1}]}')")
  check "a row value of the wrong type ($v): 422 42804 naming the key" \
    grep -q '^422 .*"42804".*key \\"x1\\" must be a number' <<<"$r"
done
r=$(py_body 'import sys; sys.stdout.buffer.write(b"{\"rows\": [{\"x1\": \"\xff\xfe\"}]}")')
check "a body that is not UTF-8: 400 22021" test "$r" = \
  '400 {"error": {"code": "22021", "message": "the request body is not valid UTF-8"}}'
check "after the hostile bodies both workers still serve" test "$(workers)$(status GET /healthz)" = 2200
psql -X -q -d postgres -c "ALTER SYSTEM SET pg_mlops.http_max_body = 4096" -c "SELECT pg_reload_conf()" >/dev/null
pids=$(psql -X -At -d postgres -c "SELECT string_agg(pid::text, ' ' ORDER BY pid) FROM pg_stat_activity WHERE backend_type = 'pg_mlops http'")
psql -X -q -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pg_mlops http'" >/dev/null
sleep 0.2
check "a cancel between requests leaves the workers serving" test "$(status GET /healthz)$(psql -X -At -d postgres \
  -c "SELECT string_agg(pid::text, ' ' ORDER BY pid) FROM pg_stat_activity WHERE backend_type = 'pg_mlops http'")" = "200$pids"
check "GET on predict: 405" test "$(status GET /v1/projects/homes/predict "$key_eng")" = 405
check "an unknown path: 404" test "$(status GET /v2/nothing)" = 404

# A slow client: headers, then nothing. Others are served meanwhile, and
# the connection is closed by the server's connection timeout (2 s here).
python3 - "$port" >"$tmp/slow" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/projects/homes/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"rows\"")
s.settimeout(30)
start = time.time()
try:
    data = s.recv(1024)
    print("closed" if data == b"" or b" 408 " in data or b" 400 " in data else "answered " + repr(data[:40]))
except (ConnectionResetError, socket.timeout) as e:
    print("reset" if isinstance(e, ConnectionResetError) else "never closed")
PY
slow=$!
sleep 0.3
check "while a client stalls, others are served" \
  test "$(status POST /v1/projects/homes/predict "$key_eng" "$rows")" = 200
wait $slow || true
check "the stalled connection is closed by the server" grep -qE '^(closed|reset)$' "$tmp/slow"

# The statement's time limit: the key's row is locked by another session,
# so the request waits until pg_mlops.http_timeout cancels it.
q -c "UPDATE mlops.api_keys SET last_used_at = NULL WHERE consumer = '$eng' AND label = 'test'"
q -c "BEGIN" -c "SELECT 1 FROM mlops.api_keys WHERE consumer = '$eng' AND label = 'test' FOR UPDATE" \
  -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null &
locker=$!
sleep 0.3
check "a request over pg_mlops.http_timeout: 504" \
  test "$(status POST /v1/projects/homes/predict "$key_eng" "$rows")" = 504
wait $locker || true

# Redeploys while requests keep coming: every answer is 200 and its
# predictions are those of the version it names.
v1=$(q -c "SET ROLE $eng" -c "SELECT ml_deploy('homes', 1)" -c "SELECT jsonb_agg(ml_predict('homes', r))::text FROM jsonb_array_elements($sql_rows) r")
v2=$(q -c "SET ROLE $eng" -c "SELECT ml_deploy('homes', 2)" -c "SELECT jsonb_agg(ml_predict('homes', r))::text FROM jsonb_array_elements($sql_rows) r")
v1=${v1##*$'\n'} v2=${v2##*$'\n'}
(
  for i in $(seq 20); do
    q -c "SET ROLE $eng" -c "SELECT ml_deploy('homes', $(( i % 2 + 1 )))" >/dev/null
    sleep 0.05
  done
) &
deployer=$!
for i in $(seq 60); do call POST /v1/projects/homes/predict "$key_eng" "$rows"; echo; done >"$tmp/redeploy"
wait $deployer
bad=$(python3 - "$tmp/redeploy" "$v1" "$v2" <<'PY'
import json, sys
expected = {1: json.loads(sys.argv[2]), 2: json.loads(sys.argv[3])}
bad = 0
for line in open(sys.argv[1]):
    status, _, body = line.strip().partition(" ")
    if status != "200":
        bad += 1
        continue
    doc = json.loads(body)
    if doc["predictions"] != expected[doc["model_version"]]:
        bad += 1
print(bad)
print("# versions answered:", sorted({json.loads(l.partition(" ")[2])["model_version"]
      for l in open(sys.argv[1]) if l.startswith("200 ")}), file=sys.stderr)
PY
)
check "60 requests during 20 redeploys: all 200, each with its version's predictions" test "$bad" = 0

# A key and an exposure belong to their role by OID: the role dropped and
# re-created under its name (and exposed again) does not get the old key.
re=${cons}_re
q -c "CREATE ROLE $re LOGIN IN ROLE ml_consumer" -c "SET ROLE $eng" \
  -c "SELECT ml_expose('homes', '$re')" >/dev/null
key_re=$(q -c "SET ROLE $eng" -c "SELECT ml_create_api_key('$re', 'to outlive its role')")
check "a key of an exposed consumer: 200" test "$(status POST /v1/projects/homes/predict "$key_re" "$rows")" = 200
q -c "DROP ROLE $re" -c "CREATE ROLE $re LOGIN IN ROLE ml_consumer" -c "SET ROLE $eng" \
  -c "SELECT ml_expose('homes', '$re')" >/dev/null
r=$(call POST /v1/projects/homes/predict "$key_re" "$rows")
check "its role dropped and re-created under the name: the old key answers 401" test "$r" = \
  "401 {\"error\": {\"code\": \"28000\", \"message\": \"the API key's role no longer exists\"}}"
key_re2=$(q -c "SET ROLE $eng" -c "SELECT ml_create_api_key('$re', 'the new role')")
check "the new role's own key: 200" test "$(status POST /v1/projects/homes/predict "$key_re2" "$rows")" = 200

# A full usage table is the server's limit, not the consumer's: 503 with a
# Retry-After until the next UTC midnight (when past days' entries go).
http_on "$port" api_usage_entries=100
# 100 consumers of the project score once in SQL: every entry is of today
python3 -c '
import sys
r = sys.argv[1]
for i in range(100):
    print("CREATE ROLE %s_%d IN ROLE ml_consumer; SET ROLE %s;" % (r, i, sys.argv[2]))
    print("SELECT ml_expose(\x27homes\x27, \x27%s_%d\x27); RESET ROLE; SET ROLE %s_%d;" % (r, i, r, i))
    print("SELECT ml_predict(\x27homes\x27, \x27{\"x1\": 1, \"x2\": 1}\x27::jsonb); RESET ROLE;")
' "$re" "$eng" | q >/dev/null 2>&1 || true
q -c "DROP ROLE $re" -c "CREATE ROLE $re LOGIN IN ROLE ml_consumer" -c "SET ROLE $eng" \
  -c "SELECT ml_expose('homes', '$re')" >/dev/null
key_re3=$(q -c "SET ROLE $eng" -c "SELECT ml_create_api_key('$re', 'a third role of the name')")
h=$(curl -s -D - -o "$tmp/body" -X POST -H "Authorization: Bearer $key_re3" --data-binary "$rows" \
  "$url/v1/projects/homes/predict" || true)
check "a full usage table: 503 with Retry-After until midnight, 53000 naming the setting" \
  bash -c 'grep -q "^HTTP/1.1 503" <<<"$1" && grep -qiE "^Retry-After: [0-9]{2,}" <<<"$1" &&
           grep -q "\"53000\".*API usage entries are in use" "$2"' _ "$h" "$tmp/body"
q -c "DROP ROLE $re" -c "DELETE FROM mlops.api_keys WHERE consumer = '$re'" >/dev/null 2>&1 || true
for i in $(seq 0 99); do echo "DROP ROLE IF EXISTS ${re}_$i;"; done | q >/dev/null 2>&1 || true

# TLS: a self-signed certificate made here, read by the server's owner.
datadir=$(psql -X -At -d postgres -c "SHOW data_directory")
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$datadir/http_test.key" -out "$datadir/http_test.crt" >/dev/null 2>&1
chown "$(stat -c %U "$datadir")" "$datadir/http_test.key" "$datadir/http_test.crt"
chmod 600 "$datadir/http_test.key"
http_on "$port" http_ssl_cert_file="$datadir/http_test.crt" http_ssl_key_file="$datadir/http_test.key"
check "over TLS: a good predict answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' \
  --cacert "$datadir/http_test.crt" -X POST -H "Authorization: Bearer $key_eng" --data-binary "$rows" \
  "https://localhost:$port/v1/projects/homes/predict")" = 200
check "plain HTTP on the TLS port gets no answer" \
  bash -c '[ "$(curl -s -m 3 -o /dev/null -w "%{http_code}" "$1/healthz")" != 200 ]' _ "$url"
