#!/usr/bin/env bash
# The scoring cache never serves a stale model: a session that scored a
# project keeps scoring, and after another session deploys, rolls back or
# removes a member, its very next statement uses the new state; so do the
# recipe fills a cached model keeps read (features_replay.c). Prints TAP;
# run with prove inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
db=mlops_scoring_cache
tmp=$(mktemp -d)
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
cleanup() {
  exec 3>&- 2>/dev/null || true
  dropdb --if-exists "$db" 2>/dev/null || true
  for r in sc_ana sc_bob sc_eng; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cleanup; tmp=$(mktemp -d)
createdb "$db"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
CREATE ROLE sc_ana LOGIN IN ROLE ml_analyst;
CREATE ROLE sc_bob LOGIN IN ROLE ml_analyst;
CREATE ROLE sc_eng LOGIN IN ROLE ml_engineer;
CREATE TABLE h AS SELECT g AS id, (g % 11)::float8 AS a, (g % 7)::float8 AS b,
       1 + 2 * (g % 11) - 3 * (g % 7) + 0.0 AS y FROM generate_series(1, 200) g;
GRANT SELECT ON h TO ml_analyst;
SET ROLE sc_ana;
SELECT ml_create_project('p', 'h', 'y');
SELECT ml_add_member('p', 'sc_bob');
SELECT version FROM ml_train('p', 'linear');
SELECT version FROM ml_train('p', 'ridge', '{"alpha": 1000}');
SELECT ml_mark_ready('p', 1);
SELECT ml_mark_ready('p', 2);
SET ROLE sc_eng;
SELECT ml_deploy('p', 1);
RESET ROLE;
-- p2: versions whose recipes fill x from the row (its group; a regression)
CREATE TABLE h2 AS SELECT g AS id, (ARRAY['a', 'b', 'c'])[g % 3 + 1] AS k,
       CASE WHEN g % 5 = 0 THEN NULL ELSE (g % 3) * 4 + (g * 17 % 11) / 5.0 END AS x,
       (g % 3) * 8 + (g * 7 % 5) / 3.0 AS z,
       3 * ((g % 3) * 4 + (g * 17 % 11) / 5.0) + (g * 29 % 13) / 6.0 AS y
FROM generate_series(1, 240) g;
GRANT SELECT ON h2 TO ml_analyst, ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_analyst;  -- into_table
SET ROLE sc_ana;
SELECT ml_create_project('p2', 'h2', 'y');
SELECT count(*) FROM ml_impute('h2', ARRAY['x'], 'groupwise', '{"by": ["k"]}', into_table => 'h2_gw');
SELECT version FROM ml_train('p2', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb,
       'recipe', (SELECT max(id) FROM mlops.recipes)));
SELECT count(*) FROM ml_impute('h2', ARRAY['x'], 'regression', '{"exclude_features": ["id", "y"]}',
                               into_table => 'h2_rg');
SELECT version FROM ml_train('p2', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb,
       'recipe', (SELECT max(id) FROM mlops.recipes)));
SELECT ml_mark_ready('p2', 1);
SELECT ml_mark_ready('p2', 2);
SET ROLE sc_eng;
SELECT ml_deploy('p2', 1);
SQL
echo "1..5"

# Session B: one long-lived psql reading from a fifo; each answer goes to its
# own file (\o closes, so flushes, the previous one).
mkfifo "$tmp/in"
psql -X -q -At -d "$db" <"$tmp/in" >/dev/null 2>"$tmp/err" &
exec 3>"$tmp/in"
n=0
score_p="round(ml_predict('p', '{\"a\": 10, \"b\": 1}'::jsonb)::numeric, 6)"
ask() {  # ask ROLE [EXPR]: score one row in session B as ROLE; the answer in $answer
  n=$((n + 1))
  printf '%s\n' "\\o $tmp/out$n" "SET ROLE $1;" \
    "SELECT coalesce((SELECT ${2:-$score_p}::text), 'null');" \
    "RESET ROLE;" "\\o $tmp/flush$n" >&3
  for _ in $(seq 1 100); do [ -e "$tmp/flush$n" ] && break; sleep 0.1; done
  answer=$(cat "$tmp/out$n" 2>/dev/null || true)
}
ask sc_eng; v1=$answer
q -c "SET ROLE sc_eng" -c "SELECT ml_deploy('p', 2)" >/dev/null
ask sc_eng; v2=$answer
fresh=$(q -c "SET ROLE sc_eng" -c "SELECT round(ml_predict('p', '{\"a\": 10, \"b\": 1}'::jsonb)::numeric, 6)")
if [ "$v1" = "18.000000" ] && [ "$v2" = "$fresh" ] && [ "$v2" != "$v1" ]; then
  echo "ok 1 - after ml_deploy in another session the next statement scores the new version ($v1 -> $v2)"
else
  echo "not ok 1 - v1 '$v1', after deploy '$v2', fresh session '$fresh': $(cat "$tmp/err")"
fi
q -c "SET ROLE sc_eng" -c "SELECT ml_rollback('p')" >/dev/null
ask sc_eng; v3=$answer
if [ "$v3" = "$v1" ]; then echo "ok 2 - and after ml_rollback the old one again"; else echo "not ok 2 - '$v3'"; fi
ask sc_bob; v4=$answer
q -c "SET ROLE sc_ana" -c "SELECT ml_remove_member('p', 'sc_bob')" >/dev/null
ask sc_bob; v5=$answer
if [ "$v4" = "$v1" ] && [ -z "$v5" ] && grep -q 'project "p" does not exist' "$tmp/err"; then
  echo "ok 3 - a member removed in another session can no longer score from the cache"
else
  echo "not ok 3 - before '$v4', after '$v5': $(cat "$tmp/err")"
fi
q -c "SET ROLE sc_ana" -c "SELECT ml_add_member('p', 'sc_bob')" >/dev/null
q -c "REVOKE ml_analyst FROM sc_bob" >/dev/null
: >"$tmp/err"
ask sc_bob; v6=$answer
if [ -z "$v6" ] && grep -q 'permission denied' "$tmp/err"; then
  echo "ok 4 - a role that loses ml_analyst cannot score either"
else
  echo "not ok 4 - '$v6': $(cat "$tmp/err")"
fi
# p2: rows with x NULL (one per key), each scored 3 times in one statement
# and twice over: the version deployed now, whatever session B read before
score_p2="(SELECT string_agg(DISTINCT round(ml_predict('p2', r)::numeric, 6)::text || '@' || r.id, ' ' ORDER BY round(ml_predict('p2', r)::numeric, 6)::text || '@' || r.id) FROM h2 r, generate_series(1, 3) WHERE r.id IN (5, 10, 15))"
fresh_p2() { q -c "SET ROLE sc_eng" -c "SELECT ${score_p2}"; }
ask sc_eng "$score_p2"; w1=$answer; ask sc_eng "$score_p2"; w1b=$answer; f1=$(fresh_p2)
q -c "SET ROLE sc_eng" -c "SELECT ml_deploy('p2', 2)" >/dev/null
ask sc_eng "$score_p2"; w2=$answer; f2=$(fresh_p2)
q -c "SET ROLE sc_eng" -c "SELECT ml_rollback('p2')" >/dev/null
ask sc_eng "$score_p2"; w3=$answer
if [ "$w1" = "$f1" ] && [ "$w1b" = "$w1" ] && [ "$w2" = "$f2" ] && [ "$w2" != "$w1" ] && [ "$w3" = "$w1" ] &&
   [ "$(echo "$w1" | wc -w)" = 3 ]; then
  echo "ok 5 - a cached recipe's fills follow a deploy and a rollback in another session ($w1 -> $w2 -> $w3)"
else
  echo "not ok 5 - '$w1' '$w1b' (fresh '$f1'), after deploy '$w2' (fresh '$f2'), after rollback '$w3': $(cat "$tmp/err")"
fi
printf '\\q\n' >&3
exec 3>&-
wait
