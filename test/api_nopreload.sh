#!/usr/bin/env bash
# Without pg_mlops in shared_preload_libraries there is no shared memory to
# meter or limit in: scoring through an exposure fails and says why (never
# silently unmetered), while members and engineers score as before and
# exposures can still be managed. Starts its own cluster without the
# preload (nested pg_virtualenv). Prints TAP; run with prove in
# scripts/cluster.sh.
set -uo pipefail
echo "1..3"
out=$(PGPORT=$((5600 + $$ % 300)) pg_virtualenv -t -v 15 -o "lc_messages=C" bash -c '
  psql -X -q -At -d postgres <<"SQL" 2>&1
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
CREATE ROLE npa_eng IN ROLE ml_engineer;
CREATE ROLE npa_ana IN ROLE ml_analyst;
CREATE ROLE npa_cons IN ROLE ml_consumer;
CREATE TABLE t AS SELECT g::float8 AS x, 2.0 * g + g % 3 AS y FROM generate_series(1, 20) g;
GRANT SELECT ON t TO ml_analyst;
SET ROLE npa_ana;
SELECT ml_create_project($$p$$, $$t$$, $$y$$) > 0;
SELECT version FROM ml_train($$p$$, $$linear$$);
SELECT ml_mark_ready($$p$$, 1);
SET ROLE npa_eng;
SELECT ml_deploy($$p$$, 1);
SELECT ml_expose($$p$$, $$npa_cons$$, $${"rows_per_day": 5}$$);
SELECT $$engineer $$ || round(ml_predict($$p$$, $${"x": 3}$$::jsonb)::numeric, 1);
SELECT $$exposures $$ || count(*) FROM ml_exposures;
SET ROLE npa_cons;
SELECT ml_predict($$p$$, $${"x": 3}$$::jsonb);
SQL' 2>&1)
if grep -q 'ERROR:  project "p" can be scored through an exposure only when pg_mlops is in shared_preload_libraries' <<<"$out"; then
  echo "ok 1 - scoring through an exposure refuses without the preload"
else echo "not ok 1 - no clear refusal:"; sed 's/^/# /' <<<"$out"; fi
if grep -q 'HINT:  Add pg_mlops to shared_preload_libraries' <<<"$out"; then
  echo "ok 2 - with a hint on how to enable it"
else echo "not ok 2 - no hint"; fi
if grep -qE "^engineer [0-9]+[.][0-9]$" <<<"$out" && grep -qx 'exposures 1' <<<"$out"; then
  echo "ok 3 - engineers still score, and exposures are managed, without the preload"
else echo "not ok 3 - direct scoring or ml_expose failed:"; sed 's/^/# /' <<<"$out"; fi
