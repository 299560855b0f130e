#!/usr/bin/env bash
# Models survive an upgrade: versions trained by the previous release's
# library and catalog (0.3.0, built from git history) score the same after
# the library is replaced by the current build and ALTER EXTENSION pg_mlops
# UPDATE: predictions and probabilities to the last digit, ml_score,
# ml_evaluate, PMML (but its Application version), forecasts; deployments
# stay; ml_rollback to an old version scores; a new version trains and deploys.
#
# Nothing of the system-wide install is touched (other tests and the suite's
# cluster hold its pg_mlops.so mapped): each build is installed with DESTDIR
# into a private root beside a copy of PostgreSQL's postgres binary and links
# to its share and lib files (PostgreSQL finds share and pkglib relative to
# its executable), and a private cluster (initdb in a temporary directory,
# unix socket only, run as postgres when root) is started on the old root,
# stopped, and started on the new one.
#
# Prints TAP (run with prove; it needs no other cluster; UPGRADE_MODELS_KEEP=1
# keeps the temporary directory: builds, recorded answers, server log). Without the 0.3.0
# commit in the repository (no git checkout, a shallow clone) it is skipped,
# loudly. About a minute on 2 cores, most of it building 0.3.0 (two from a
# clean clone, where this tree is built too).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
here=$repo/test/upgrade_models
release=cbc71bd      # the 0.3.0 release: its extension/src/*.sql are pg_mlops--0.3.0.sql
release_version=0.3.0

skip() {
  echo "# ################################################################" >&2
  echo "# upgrade_models.sh SKIPPED: $*" >&2
  echo "# ################################################################" >&2
  echo "1..0 # SKIP $*"
  exit 0
}
command -v git >/dev/null || skip "git is not installed: the $release_version library cannot be built from history"
[ "$(git -C "$repo" rev-parse --show-toplevel 2>/dev/null)" = "$repo" ] ||
  skip "$repo is not a git checkout: the $release_version library cannot be built from history"
git -C "$repo" cat-file -e "$release^{commit}" 2>/dev/null ||
  skip "commit $release ($release_version) is not in the repository (a shallow clone?): fetch the history to run it"

started=$SECONDS
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
check() { local name=$1; shift; if "$@"; then ok 0 "$name"; else ok 1 "$name"; fi; }
bail() { echo "Bail out! $*"; finished=1; exit 1; }
# show N: the first N lines of stdin as TAP comments, cut to 300 characters
# (never fails: head closing the pipe early is no error of the test)
show() { sed 's/^/# /' | cut -c1-300 | head -"$1" || true; }

pg_config=${PG_CONFIG:-pg_config}
bindir=$("$pg_config" --bindir)
sharedir=$("$pg_config" --sharedir)
pkglibdir=$("$pg_config" --pkglibdir)
current=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$repo/pg_mlops.control")

umask 022
tmp=$(mktemp -d -p /tmp pg_mlops_upgrade_models.XXXXXX)
chmod 755 "$tmp"
data=$tmp/data
run_as=()
if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); fi
server_up=
finished=
cleanup() {
  [ -n "$finished" ] || echo "Bail out! upgrade_models.sh stopped early (a command failed; UPGRADE_MODELS_KEEP=1 keeps $tmp)"
  if [ -n "$server_up" ]; then
    "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "${UPGRADE_MODELS_KEEP:-}" ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# Builds: the nested makes must not inherit the suite's make (jobserver).
unset MAKEFLAGS MAKELEVEL MFLAGS
build() {  # $1 source dir, $2 DESTDIR
  make -C "$1" -s -j2 with_llvm=no PG_CONFIG="$pg_config" >"$tmp/build.log" 2>&1 &&
    make -C "$1" -s install with_llvm=no PG_CONFIG="$pg_config" DESTDIR="$2" >>"$tmp/build.log" 2>&1 ||
    { tail -30 "$tmp/build.log" | show 30; bail "building $1 failed"; }
}
# A private root: the installed build, a copy of postgres, links to the rest.
private_root() {
  local root=$1 f
  mkdir -p "$root$bindir" "$root$sharedir/extension" "$root$pkglibdir"
  cp "$bindir/postgres" "$root$bindir/postgres"
  for f in "$sharedir"/*; do [ "${f##*/}" = extension ] || ln -s "$f" "$root$sharedir/"; done
  for f in "$sharedir"/extension/*; do
    case ${f##*/} in pg_mlops[.-]*) ;; *) ln -s "$f" "$root$sharedir/extension/" ;; esac
  done
  for f in "$pkglibdir"/*; do
    case ${f##*/} in pg_mlops.so|bitcode) ;; *) ln -s "$f" "$root$pkglibdir/" ;; esac
  done
}

mkdir -p "$tmp/old"
git -C "$repo" archive "$release" | tar -x -C "$tmp/old" || bail "git archive $release failed"
build "$tmp/old" "$tmp/oldroot"
private_root "$tmp/oldroot"
built_old=$((SECONDS - started))
build "$repo" "$tmp/newroot"
private_root "$tmp/newroot"
ok 0 "built $release_version (commit $release) in ${built_old}s and this tree ($current), each installed in a private root"

# The private cluster: unix socket in $tmp only, the extension preloaded as
# scripts/cluster.sh does.
mkdir -p "$data" "$tmp/sock"
[ ${#run_as[@]} = 0 ] || chown postgres "$data" "$tmp/sock"
chmod 700 "$data"
"${run_as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C \
  >"$tmp/initdb.log" 2>&1 || { show 20 <"$tmp/initdb.log"; bail "initdb failed"; }
export PGHOST=$tmp/sock PGPORT=5432 PGUSER=postgres PGDATABASE=mlops_upgrade_models
unset PGPASSWORD PGSERVICE PGOPTIONS PGSSLMODE
# (one line: pg_ctl hands the options to a shell command line)
server_options="-k $tmp/sock -p $PGPORT -c listen_addresses= -c shared_preload_libraries=pg_mlops"
server_options+=" -c lc_messages=C -c jit=off -c fsync=off -c max_worker_processes=16"
start() {  # $1 root
  "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -p "$1$bindir/postgres" -l "$data/server.log" -w -t 120 \
    -o "$server_options" start >/dev/null ||
    { tail -20 "$data/server.log" | show 20; bail "the server on $1 did not start"; }
  server_up=1
}
stop() {
  "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  server_up=
}
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
# Which files the running server uses: its paths (the pg_config view: what
# the server derived from its executable's place), the pg_mlops.so the
# postmaster has mapped (preloaded), the control file it reads.
runs_from() {  # $1 root, $2 the default version its control file must give
  local paths pid maps
  paths=$(q -c "SELECT string_agg(setting, ' ' ORDER BY name) FROM pg_config
                WHERE name IN ('BINDIR', 'PKGLIBDIR', 'SHAREDIR')")
  [ "$paths" = "$1$bindir $1$pkglibdir $1$sharedir" ] || { echo "# paths: $paths"; return 1; }
  pid=$(head -1 "$data/postmaster.pid")
  maps=$(grep -o '/[^ ]*pg_mlops\.so' "/proc/$pid/maps" | sort -u)
  [ "$maps" = "$1$pkglibdir/pg_mlops.so" ] || { echo "# pg_mlops.so mapped: $maps"; return 1; }
  [ "$(q -c "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_mlops'")" = "$2" ]
}

# Every answer of every version, deploying each in turn (the last deployed
# stays live), then each version's ml_evaluate and PMML.
record_versions() {
  q <<'SQL'
SET client_min_messages = warning;
SET ROLE um_eng;
SELECT format('SELECT ''deploy|%s|'' || ml_deploy(%L, %s)', project, project, version),
       format('SELECT um_deployed(%L)', project)
FROM ml_models ORDER BY project, version
\gexec
SELECT um_version(project, version) FROM ml_models ORDER BY project, version;
SQL
}
record_deployed() {
  q -c "SET ROLE um_eng" -c "SELECT um_deployed(name) FROM ml_projects ORDER BY name"
}
# Who is deployed, every version's status, the deployment history.
record_state() {
  q <<'SQL'
SELECT 'status|' || project || '|' || version || '|' || status FROM ml_models ORDER BY project, version;
SELECT 'deployments|' || count(*) || '|' || md5(string_agg(concat_ws(';', id, project_id, model_id, version,
       from_version, action, deployed_by, deployed_at, reason, metrics), '|' ORDER BY id))
FROM mlops.deployments;
SQL
}
# Every PMML document, to files named project_version.xml in $1.
export_pmml() {
  local p v
  mkdir -p "$1"
  while IFS='|' read -r p v; do
    q -c "SET ROLE um_eng" -c "SELECT ml_export_pmml('$p', $v)" >"$1/${p}_$v.xml" 2>/dev/null ||
      rm -f "$1/${p}_$v.xml"
  done < <(q -c "SELECT project, version FROM ml_models ORDER BY 1, 2")
}

# 0.3.0: train, record.
start "$tmp/oldroot"
q -d postgres -c "CREATE DATABASE mlops_upgrade_models" >/dev/null
q -f "$here/train.sql" >"$tmp/train.log" 2>&1 || { tail -20 "$tmp/train.log" | show 20; bail "training on $release_version failed"; }
q -f "$here/record.sql" >/dev/null
record_versions >"$tmp/old.versions"
# Deploy some older versions again, so what is live is not just the newest.
q -c "SET ROLE um_eng" -c "SELECT ml_deploy('reg', 5, 'gbdt after all')" -c "SELECT ml_deploy('bin', 2)" >/dev/null
record_deployed >"$tmp/old.deployed"
record_state >"$tmp/old.state"
q -c "SELECT p.name || '|' || d.from_version FROM mlops.projects p
      JOIN LATERAL (SELECT from_version FROM mlops.deployments WHERE project_id = p.id ORDER BY id DESC LIMIT 1) d ON true
      ORDER BY p.name" >"$tmp/old.rollback"
export_pmml "$tmp/pmml.old"
check "the $release_version server runs from its private root (paths, pg_mlops.so mapped, default version $release_version)" \
  runs_from "$tmp/oldroot" "$release_version"
learners=$(q -c "SELECT string_agg(DISTINCT algorithm, ',' ORDER BY algorithm) FROM ml_models")
versions=$(q -c "SELECT count(*) FROM ml_models")
grouped=$(q -c "SELECT count(*) FROM ml_models WHERE training ? 'group_by'")
[ "$learners" = "elastic_net,gbdt,kmeans,lasso,linear,logistic,naive_bayes,prophet_ridge,random_forest,ridge" ] &&
  [ "$grouped" = 3 ] && [ "$(wc -l <"$tmp/old.rollback")" = 5 ] &&
  ok 0 "$release_version trained $versions versions ($learners; $grouped grouped), each deployed in turn and recorded" ||
  ok 1 "$release_version trained: $learners ($versions versions, $grouped grouped)"
stop

# The current build on the same data directory, the catalog still 0.3.0.
start "$tmp/newroot"
record_deployed >"$tmp/new.deployed.before_update"
check "the current server runs from its private root (paths, pg_mlops.so mapped, default version $current)" \
  runs_from "$tmp/newroot" "$current"
if [ "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlops'")" = "$release_version" ] &&
   diff "$tmp/old.deployed" "$tmp/new.deployed.before_update" >"$tmp/diff"; then
  ok 0 "before ALTER EXTENSION UPDATE the new library scores the deployed versions on the $release_version catalog as before"
else
  ok 1 "the new library on the $release_version catalog scores differently (< $release_version, > new):"
  show 20 <"$tmp/diff"
fi

q -c "ALTER EXTENSION pg_mlops UPDATE" >"$tmp/alter.log" 2>&1 || show 10 <"$tmp/alter.log"
got=$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlops'")
[ "$got" = "$current" ] && ok 0 "ALTER EXTENSION pg_mlops UPDATE: $release_version -> $current" ||
  ok 1 "version after ALTER EXTENSION UPDATE: $got, expected $current"

record_state >"$tmp/new.state"
diff "$tmp/old.state" "$tmp/new.state" >"$tmp/diff" &&
  ok 0 "deployed versions, every version's status and the deployment history unchanged" ||
  { ok 1 "the catalog's deployments changed:"; show 20 <"$tmp/diff"; }

record_deployed >"$tmp/new.deployed"
if diff "$tmp/old.deployed" "$tmp/new.deployed" >"$tmp/diff"; then
  ok 0 "the deployed versions score identically: ml_predict, ml_predict_label, ml_predict_proba (row and jsonb), ml_score, ml_forecast"
else
  ok 1 "the deployed versions score differently after the upgrade (< before, > after):"
  show 20 <"$tmp/diff"
fi

# ml_rollback: the version live before the current one, an old version.
rolled=$(q -c "SET ROLE um_eng" -c "SELECT name || '|' || ml_rollback(name, 'after the upgrade') FROM ml_projects ORDER BY name")
record_deployed >"$tmp/new.rolled"
if [ "$rolled" = "$(cat "$tmp/old.rollback")" ] &&
   [ -z "$(grep -vxF -f "$tmp/old.versions" "$tmp/new.rolled")" ]; then
  ok 0 "ml_rollback goes back to the version live before ($(paste -sd' ' <<<"$rolled")); it scores as it did on $release_version"
else
  ok 1 "ml_rollback: got '$(paste -sd' ' <<<"$rolled")', expected '$(paste -sd' ' "$tmp/old.rollback")'; lines not seen before:"
  show 10 < <(grep -vxF -f "$tmp/old.versions" "$tmp/new.rolled")
fi

# Every version, deployed in turn again: each one's answers as before.
record_versions >"$tmp/new.versions"
export_pmml "$tmp/pmml.new"
while IFS='|' read -r p v algo; do
  key="^[a-z_]+\|$p\|$v\|"
  old_lines=$(grep -E "$key" "$tmp/old.versions" | grep -v '^pmml_app|' || true)
  new_lines=$(grep -E "$key" "$tmp/new.versions" | grep -v '^pmml_app|' || true)
  what=$(grep -E "$key" "$tmp/old.versions" | cut -d'|' -f1 | grep -vE '^(deploy|deployed|algorithm|pmml_app)$' |
         sort -u | paste -sd' ' || true)
  pmml_note=
  if [ -f "$tmp/pmml.old/${p}_$v.xml" ]; then
    old_app=$(grep -E "^pmml_app\|$p\|$v\|" "$tmp/old.versions" | cut -d'|' -f4 || true)
    new_app=$(grep -E "^pmml_app\|$p\|$v\|" "$tmp/new.versions" | cut -d'|' -f4 || true)
    pmml_note=" (PMML Application version $old_app -> $new_app)"
    [ "$old_app" = "$release_version" ] && [ "$new_app" = "$current" ] || new_lines+=" [PMML Application version $new_app]"
    sed "s/<Application name=\"pg_mlops\" version=\"$current\"\/>/<Application name=\"pg_mlops\" version=\"$release_version\"\/>/" \
      "$tmp/pmml.new/${p}_$v.xml" 2>/dev/null | cmp -s - "$tmp/pmml.old/${p}_$v.xml" ||
      new_lines+=" [PMML document differs]"
  fi
  if [ -n "$old_lines" ] && [ "$old_lines" = "$new_lines" ]; then
    ok 0 "$p version $v ($algo): identical $what$pmml_note"
  else
    ok 1 "$p version $v ($algo) answers differently (- $release_version, + $current):"
    show 12 < <(diff <(echo "$old_lines") <(echo "$new_lines"))
  fi
done < <(q -c "SELECT project, version, algorithm FROM ml_models ORDER BY 1, 2")

xsd=$repo/test/pmml/pmml-4-4.xsd
exported=$(find "$tmp/pmml.new" -name '*.xml' | sort)
if [ -f "$xsd" ] && command -v xmllint >/dev/null; then
  # shellcheck disable=SC2086
  if out=$(xmllint --noout --schema "$xsd" $exported 2>&1); then
    ok 0 "the $(wc -w <<<"$exported") PMML documents of old versions validate against PMML 4.4 after the upgrade"
  else
    ok 1 "PMML of old versions invalid after the upgrade:"; show 10 <<<"$out"
  fi
else
  echo "# (no $xsd or no xmllint: the PMML documents are compared, not validated)"
fi

# New versions after the upgrade, numbered after the old ones: a model, a
# grouped one and a forecast train, are handed over, deploy and score.
new=$(q 2>&1 <<'SQL'
SET client_min_messages = warning;
SET ROLE um_ana;
SELECT 'train|' || version FROM ml_train('reg', 'gbdt', '{"n_estimators": 12}', '{"exclude": ["id", "yb", "ym", "at"]}');
SELECT 'groups|' || version FROM ml_train_groups('multi', ARRAY['cat'], 'gbdt', '{"n_estimators": 5}',
                                                 '{"exclude": ["id", "y", "yb", "at"], "workers": 2}');
SELECT 'forecast|' || version FROM ml_forecast_train('fc', 'day', ARRAY['store'], '{"workers": 2}');
SELECT ml_mark_ready(project, max(version), 'after the upgrade') FROM ml_models
WHERE project IN ('reg', 'multi', 'fc') GROUP BY project;
SET ROLE um_eng;
SELECT 'deployed|' || string_agg(ml_deploy(name)::text, ',' ORDER BY name) FROM ml_projects
WHERE name IN ('reg', 'multi', 'fc');
SELECT 'predict|' || count(ml_predict('reg', t)) || ',' || count(ml_predict_proba('multi', t)) FROM um_probe t;
SELECT 'score|' || ml_score('reg', 'obs', 'um_after_reg') || ',' || ml_score('multi', 'obs', 'um_after_multi');
SELECT 'evaluate|' || (ml_evaluate('reg', (SELECT max(version) FROM ml_models WHERE project = 'reg'), 'obs')
                       ->> 'rows_scored');
SELECT 'forecast_rows|' || count(*) FROM ml_forecast('fc', 7);
SQL
) || true
v_reg=$(( $(grep -c '^algorithm|reg|' "$tmp/old.versions") + 1 ))
v_multi=$(( $(grep -c '^algorithm|multi|' "$tmp/old.versions") + 1 ))
v_fc=$(( $(grep -c '^algorithm|fc|' "$tmp/old.versions") + 1 ))
probes=$(q -c "SELECT count(*) FROM um_probe")
expected="train|$v_reg groups|$v_multi forecast|$v_fc deployed|$v_fc,$v_multi,$v_reg predict|$probes,$probes"
expected+=" score|400,400 evaluate|379 forecast_rows|14"
if [ "$(grep -v '^$' <<<"$new" | paste -sd' ')" = "$expected" ]; then
  ok 0 "after the upgrade ml_train, ml_train_groups and ml_forecast_train make versions $v_reg, $v_multi, $v_fc; they deploy and score"
else
  ok 1 "training after the upgrade: got '$(grep -v '^$' <<<"$new" | paste -sd' ')', expected '$expected'"
fi

# The new version's PMML names this release and is valid PMML 4.4.
q -c "SELECT ml_export_pmml('reg', $v_reg)" >"$tmp/new_version.xml" 2>&1 || true
if grep -q "<Application name=\"pg_mlops\" version=\"$current\"/>" "$tmp/new_version.xml" &&
   { [ ! -f "$xsd" ] || ! command -v xmllint >/dev/null ||
     xmllint --noout --schema "$xsd" "$tmp/new_version.xml" >/dev/null 2>&1; }; then
  ok 0 "the PMML of reg version $v_reg names pg_mlops $current and validates"
else
  ok 1 "the PMML of reg version $v_reg:"; show 5 <"$tmp/new_version.xml"
fi

if grep -E 'PANIC|terminated by signal|server process .* was terminated' "$data/server.log" >"$tmp/crash"; then
  ok 1 "the server log shows a crash:"; show 5 <"$tmp/crash"
else
  ok 0 "no backend crashed on either library"
fi
echo "1..$n"
finished=1
echo "# upgrade_models.sh: $((SECONDS - started))s (building $release_version: ${built_old}s)"
