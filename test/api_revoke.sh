#!/usr/bin/env bash
# Exposure changes reach every backend at its next statement: a long-lived
# consumer session that has scored (its model cached) is refused right
# after another session revokes the exposure, sees new limits right after
# a re-exposure, and an application role loses the exposure it had
# through a membership as soon as the membership is revoked. Prints TAP;
# run with prove inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
. "$(dirname "$0")/lib/api.bash"
api_roles arev
d=mlops_api_revoke
api_db $d
tmp=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$tmp"; api_teardown' EXIT
qd $d -c "GRANT $cons TO $cons2" -c "SET ROLE $eng" -c "SELECT ml_expose('homes', '$cons')" >/dev/null
echo "1..4"

# Session B: one psql reading from a fifo, each answer in its own file.
mkfifo "$tmp/in"
psql -X -q -At -d $d <"$tmp/in" >/dev/null 2>"$tmp/err" &
exec 3>"$tmp/in"
k=0
ask() {  # ask ROLE: score one row in session B as ROLE; "ok" or the error in $answer
  k=$((k + 1))
  printf '%s\n' "\\o $tmp/out$k" "SET ROLE $1;" \
    "SELECT CASE WHEN regress_score() THEN 'ok' END;" "RESET ROLE;" "\\o $tmp/flush$k" >&3
  for _ in $(seq 1 100); do [ -e "$tmp/flush$k" ] && break; sleep 0.1; done
  answer=$(cat "$tmp/out$k" 2>/dev/null || true)
}
qd $d >/dev/null <<'SQL'
CREATE FUNCTION regress_score() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_predict('homes', '{"x1": 1, "x2": 2}'::jsonb);
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '%', SQLERRM;
    RETURN false;
END
$$;
SQL
printf '%s\n' "\\set QUIET on" "SET client_min_messages = notice;" >&3
ask $cons; a1=$answer
ask $cons; a2=$answer
qd $d -c "SET ROLE $eng" -c "SELECT ml_revoke_exposure('homes', '$cons')" >/dev/null
ask $cons; a3=$answer
check "scoring twice, then refused at the next statement after the revocation in another session" \
  test "$a1/$a2/$a3" = "ok/ok/"
grep -q "project \"homes\" does not exist" "$tmp/err" && ok 0 "the refusal: the project does not exist for the role" \
  || ok 1 "the refusal: the project does not exist for the role ($(tail -1 "$tmp/err"))"
: >"$tmp/err"
qd $d -c "SET ROLE $eng" -c "SELECT ml_expose('homes', '$cons', '{\"rows_per_day\": 3}')" >/dev/null
ask $cons; b1=$answer
ask $cons; b2=$answer
check "re-exposed with a quota of 3 rows (2 used today): the next statement scores, the one after is over quota" \
  sh -c "test '$b1/$b2' = 'ok/' && grep -q 'rows_per_day is 3' '$tmp/err'"
qd $d -c "SET ROLE $eng" -c "SELECT ml_expose('homes', '$cons')" >/dev/null
ask $cons2; c1=$answer
qd $d -c "REVOKE $cons FROM $cons2" >/dev/null
ask $cons2; c2=$answer
check "a member scores through the consumer's exposure until the membership is revoked" test "$c1/$c2" = "ok/"
