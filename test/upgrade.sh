#!/usr/bin/env bash
# Upgrade from 0.1.0: a catalog filled by 0.1.0 survives ALTER EXTENSION
# pg_mlops UPDATE row for row, keeps working, and the upgraded extension is
# the same as a fresh install of the current version (every member object,
# its definition, grants, comments, policies, indexes, constraints, config
# dump registrations), so an upgrade statement that is missing is caught.
# Prints TAP; run with prove inside a throwaway cluster (scripts/cluster.sh).
set -euo pipefail
old=mlops_upgrade_old
new=mlops_upgrade_new
roles="up_ann up_ben up_cy up_eng"
tmp=$(mktemp -d)
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
drop_all() {
  dropdb --if-exists "$old" 2>/dev/null || true
  dropdb --if-exists "$new" 2>/dev/null || true
  for r in $roles; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null || true; done
}
trap 'drop_all; rm -rf "$tmp"' EXIT
drop_all
createdb "$old"
createdb "$new"
version=$(q -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_mlops'")

# 0.1.0, filled through its own API where it has one, by hand where not
# (models cannot be trained yet).
q -d "$old" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops VERSION '0.1.0';
CREATE ROLE up_ann IN ROLE ml_analyst;
CREATE ROLE up_ben IN ROLE ml_analyst;
CREATE ROLE up_cy IN ROLE ml_analyst;
CREATE ROLE up_eng IN ROLE ml_engineer;
CREATE TABLE sales AS
SELECT i AS id, CASE WHEN i % 7 = 0 THEN NULL ELSE 10 + (i % 13) * 1.5 END AS amount,
       (ARRAY['north', 'south', 'east'])[i % 3 + 1] AS region,
       CASE WHEN i % 5 = 0 THEN NULL ELSE i % 4 END::float8 AS qty
FROM generate_series(1, 60) i;
GRANT SELECT, UPDATE ON sales TO ml_analyst;
GRANT CREATE ON SCHEMA public TO ml_analyst;
SET ROLE up_ann;
SELECT ml_create_project('forecast', 'sales', 'amount', description => 'weekly');
SELECT ml_create_project('région « x »', 'sales', 'region', 'classification');
SELECT ml_add_member('forecast', 'up_ben');
-- (polish off: its never-failing integer casts are 0.2.0 SQL functions, so
-- the new library's polish step needs ALTER EXTENSION UPDATE first)
SELECT count(*) FROM ml_clean('sales', '{"polish": false}', into_table => 'sales_clean');
SELECT count(*) FROM ml_impute('sales', into_table => 'sales_filled');
SELECT count(*) FROM ml_import_csv('orders', data => E'id,amount\n1,9.5\n2,NA\n');
RESET ROLE;
INSERT INTO mlops.models (project_id, version, algorithm, payload, recipe_id, created_by)
SELECT p.id, v, 'linear', '\x4d4c4f5001'::bytea, (SELECT min(id) FROM mlops.recipes), 'up_ann'
FROM mlops.projects p, generate_series(1, 2) v WHERE p.name = 'forecast';
SET ROLE up_ann;
SELECT ml_mark_ready('forecast', 1);
SELECT ml_mark_ready('forecast', 2);
SET ROLE up_eng;
SELECT ml_deploy('forecast', 1, 'go');
SELECT ml_deploy('forecast', 2);
RESET ROLE;
INSERT INTO mlops.jobs (project_id, name, kind, schedule, owner)
SELECT id, 'nightly', 'train', '0 3 * * *', 'up_eng' FROM mlops.projects WHERE name = 'forecast';
INSERT INTO mlops.job_runs (job_id, status, message) SELECT id, 'succeeded', 'ok' FROM mlops.jobs;
INSERT INTO mlops.reports (project_id, name, kind, content, created_by)
SELECT id, 'eval', 'evaluation', '{"rmse": 1.25}', 'up_ann' FROM mlops.projects WHERE name = 'forecast';
SQL
q -d "$new" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_mlops" >/dev/null

tables=$(q -d "$old" -c "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
                         WHERE relnamespace = 'mlops'::regnamespace AND relkind = 'r'")
# Rows and an md5 over the columns a table had in 0.1.0, so a column that a
# later version adds does not count as a change of the old rows.
declare -A cols
for t in $tables; do
  cols[$t]=$(q -d "$old" -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                             WHERE attrelid = 'mlops.$t'::regclass AND attnum > 0 AND NOT attisdropped")
done
# 0.3.0 pins a job to its owner's OID inside command (owner_oid): the rest is unchanged
unpinned="command - 'owner_oid' AS command"
cols[jobs]=${cols[jobs]/command/$unpinned}
digest() {
  q -d "$1" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '-')
                FROM (SELECT ${cols[$2]} FROM mlops.$2) r"
}
sequences() {  # $2: the names to show (those the old catalog had), default all
  q -d "$1" -c "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename)
                FROM pg_sequences WHERE schemaname = 'mlops'
                AND ('${2:-}' = '' OR sequencename = ANY (string_to_array('${2:-}', ',')))"
}
declare -A before
for t in $tables; do before[$t]=$(digest "$old" "$t"); done
seq_before=$(sequences "$old")
seq_names=$(q -d "$old" -c "SELECT string_agg(sequencename, ',') FROM pg_sequences WHERE schemaname = 'mlops'")

# Every member object of the extension, one line each (plus its columns,
# constraints, indexes, triggers, policies), with definitions and grants
# in a form that does not depend on OIDs or on the order things were done.
describe() {
  q -d "$1" <<'SQL'
WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'pg_mlops'),
members AS (
  SELECT d.classid, d.objid FROM pg_depend d, ext
  WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT c.* FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid),
acl(obj, acl) AS (
  SELECT obj, CASE WHEN acl IS NULL THEN 'default' ELSE
    (SELECT coalesce(string_agg(item, ',' ORDER BY item), 'none')
     FROM (SELECT coalesce(g.rolname, 'PUBLIC') || '=' || a.privilege_type
                  || CASE WHEN a.is_grantable THEN '*' ELSE '' END
           FROM aclexplode(acl) a LEFT JOIN pg_roles g ON g.oid = a.grantee) i(item)) END
  FROM (SELECT p.oid::regprocedure::text, p.proacl FROM members m JOIN pg_proc p
          ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
        UNION ALL SELECT oid::regclass::text, relacl FROM rels
        UNION ALL SELECT n.nspname::text, n.nspacl FROM members m JOIN pg_namespace n
          ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid) x(obj, acl))
SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
UNION ALL
SELECT 'extension schema=' || extnamespace::regnamespace || ' relocatable=' || extrelocatable
       || ' config=' || coalesce((SELECT string_agg(c::regclass::text || ':' || coalesce(w, ''), ','
                                                  ORDER BY c::regclass::text)
                                  FROM unnest(extconfig, extcondition) u(c, w)), '')
FROM ext
UNION ALL
SELECT 'acl ' || obj || ' ' || acl FROM acl
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' owner=' || p.proowner::regrole || E'\n'
       || CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END
       || E'\ncomment=' || coalesce(obj_description(p.oid, 'pg_proc'), '')
FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' kind=' || c.relkind::text || ' owner=' || c.relowner::regrole
       || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
       || ' options=' || coalesce(c.reloptions::text, '')
       || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
       || CASE WHEN c.relkind = 'v' THEN E'\n' || pg_get_viewdef(c.oid) ELSE '' END
FROM rels c
UNION ALL
SELECT 'column ' || c.oid::regclass || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
       || ' ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
       || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
       || ' collation=' || coalesce(nullif(a.attcollation, 0)::regcollation::text, '')
       || ' acl=' || coalesce(a.attacl::text, '')
       || ' comment=' || coalesce(col_description(c.oid, a.attnum), '')
FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
WHERE c.relkind IN ('r', 'v', 'p', 'f', 'm')
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass || ' ' || quote_ident(co.conname) || ' '
       || pg_get_constraintdef(co.oid)
FROM rels c JOIN pg_constraint co ON co.conrelid = c.oid
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
FROM rels c JOIN pg_index i ON i.indrelid = c.oid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
FROM rels c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'policy ' || p.schemaname || '.' || p.tablename || ' ' || quote_ident(p.policyname)
       || ' ' || p.permissive || ' ' || p.cmd || ' to=' || p.roles::text
       || ' using=' || coalesce(p.qual, '') || ' check=' || coalesce(p.with_check, '')
FROM pg_policies p JOIN rels c ON c.relname = p.tablename AND c.relnamespace::regnamespace::text = p.schemaname
UNION ALL
SELECT 'sequence ' || s.seqrelid::regclass || ' ' || s.seqtypid::regtype || ' start=' || s.seqstart
       || ' inc=' || s.seqincrement || ' min=' || s.seqmin || ' max=' || s.seqmax
       || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle
       || ' owned_by=' || coalesce((SELECT d.refobjid::regclass || '.' || quote_ident(a.attname)
                                    FROM pg_depend d JOIN pg_attribute a
                                      ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                                      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')), '')
FROM rels c JOIN pg_sequence s ON s.seqrelid = c.oid
ORDER BY 1;
SQL
}

q -d "$old" -c "ALTER EXTENSION pg_mlops UPDATE" >/dev/null

n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
set -- $tables
echo "1..$(($# + 7))"

got=$(q -d "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlops'")
[ "$got" = "$version" ] && ok 0 "ALTER EXTENSION UPDATE goes from 0.1.0 to the default version $version" \
                        || ok 1 "version after the update: '$got', default '$version'"

for t in $tables; do
  after=$(digest "$old" "$t")
  if [ "${before[$t]}" = "$after" ] && [ "${after%% *}" -gt 0 ]; then
    ok 0 "mlops.$t: its ${after%% *} 0.1.0 rows are unchanged"
  else
    ok 1 "mlops.$t: before '${before[$t]}', after '$after'"
  fi
done
seq_after=$(sequences "$old" "$seq_names")
[ "$seq_before" = "$seq_after" ] && ok 0 "catalog sequences unchanged" \
                                 || ok 1 "sequences: $seq_before vs $seq_after"

# The upgraded extension is a fresh install.
describe "$old" > "$tmp/upgraded"
describe "$new" > "$tmp/fresh"
if diff -u "$tmp/fresh" "$tmp/upgraded" > "$tmp/diff"; then
  ok 0 "the upgraded extension equals a fresh $version install ($(grep -c '^member ' "$tmp/fresh") member objects)"
else
  ok 1 "the upgraded extension differs from a fresh $version install (- fresh, + upgraded):"
  grep -E '^[-+][^-+]' "$tmp/diff" | head -60 | sed 's/^/# /'
fi

# The old catalog keeps working through the current API.
api() { q -d "$old" -c "SET ROLE $1" -c "$2" 2>&1; }
if api up_ann "SELECT ml_update_project('forecast', description => 'after the upgrade')" >/dev/null &&
   api up_ben "SELECT ml_update_project('forecast', description => 'by a member')" >/dev/null &&
   [ "$(api up_ann "SELECT mlops.project_access(id) FROM mlops.projects WHERE name = 'forecast'")" = owner ] &&
   [ "$(api up_ben "SELECT mlops.project_access(id) FROM mlops.projects WHERE name = 'forecast'")" = member ] &&
   [[ "$(api up_ann "SELECT count(*) > 0 FROM ml_apply_recipe((SELECT min(id) FROM mlops.recipes
                                                              WHERE kind = 'clean'), 'sales', 'sales_again')")" = t ]]; then
  ok 0 "owner and member change the old project; the access function and an old recipe work"
else
  ok 1 "the API fails on the upgraded catalog"
fi
if [ "$(api up_cy "SELECT count(*) FROM ml_projects")" = 0 ] &&
   [ "$(api up_eng "SELECT string_agg(name, ',' ORDER BY name) FROM ml_projects")" = "forecast,région « x »" ] &&
   [ "$(api up_eng "SELECT ml_rollback('forecast', 'after the upgrade')")" = 1 ]; then
  ok 0 "row-level security holds after the upgrade; an engineer rolls back a 0.1.0 deployment"
else
  ok 1 "visibility or rollback wrong after the upgrade"
fi
hidden=$(q -d "$old" -c "SELECT id FROM mlops.projects WHERE name = 'forecast'")
probe=$(api up_cy "SELECT mlops.project_access($hidden, 'up_ann')" || true)
if [ -z "$(api up_cy "SELECT mlops.project_access($hidden)")" ] &&
   grep -q 'function mlops.project_access(integer, unknown) does not exist' <<<"$probe"; then
  ok 0 "0.1.0's access function for any role is gone: an outsider learns nothing"
else
  ok 1 "an outsider can still ask about a hidden project or another role"
fi
# Jobs of 0.1.0 and 0.2.0 are pinned to their owner's OID at the upgrade
# (NULL-free: "0" when the owner no longer existed), so a role re-created
# under the owner's name neither sees nor runs them.
pinned=$(q -d "$old" -c "SELECT bool_and(j.command ->> 'owner_oid' = r.oid::text)
                         FROM mlops.jobs j JOIN pg_roles r ON r.rolname = j.owner")
q -d "$old" -c "DROP ROLE up_eng" -c "CREATE ROLE up_eng IN ROLE ml_engineer" >/dev/null 2>&1 ||
  q -d "$old" -c "REASSIGN OWNED BY up_eng TO postgres" -c "DROP OWNED BY up_eng" -c "DROP ROLE up_eng" \
    -c "CREATE ROLE up_eng IN ROLE ml_engineer" >/dev/null
if [ "$pinned" = t ] && [ "$(api up_eng "SELECT count(*) FROM ml_jobs")" = 0 ]; then
  ok 0 "old jobs pinned to their owner's OID: a re-created owner name sees none"
else
  ok 1 "old jobs not pinned by OID (pinned '$pinned', seen $(api up_eng "SELECT count(*) FROM ml_jobs"))"
fi
