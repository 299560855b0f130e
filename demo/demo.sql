-- pg_mlops demo: an analyst prepares a project, an engineer takes over.
\pset footer off
\set QUIET 1
\echo '== set-up (DBA): the extension, one analyst, one engineer, sample data'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_mlops;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_analyst') THEN
    CREATE ROLE demo_analyst LOGIN IN ROLE ml_analyst;
    CREATE ROLE demo_engineer LOGIN IN ROLE ml_engineer;
  END IF;
END $$;
RESET client_min_messages;
\ir sample_data.sql
GRANT SELECT, INSERT, UPDATE, DELETE ON deliveries TO ml_analyst;
GRANT CREATE ON SCHEMA public TO ml_analyst;
SELECT count(*) AS delivery_rows,
       count(*) FILTER (WHERE total_onshift_partners IS NULL) AS missing_onshift,
       count(*) FILTER (WHERE market_id IS NULL) AS missing_market
FROM deliveries;

\echo
\echo '== analyst: create a project on the deliveries table'
SET ROLE demo_analyst;
SELECT ml_create_project('delivery time', 'deliveries', 'duration_s', 'regression',
                         description => 'predict delivery duration in seconds') AS project_id;
SELECT name, owner, relation, target, task FROM ml_projects;

\ir demo_clean.sql

\echo
\echo '== engineer: sees the project, cannot change its definition'
SET ROLE demo_engineer;
SELECT name, owner, deployed_version FROM ml_projects;
\set ON_ERROR_STOP 0
SELECT ml_update_project('delivery time', target => 'market_id');
\set ON_ERROR_STOP 1

\echo
\echo '== engineer: the same recipe on tomorrow''s rows (new stores, new gaps), no refitting'
RESET ROLE;
CREATE TABLE deliveries_tomorrow AS
SELECT id + 100000 AS id, CASE WHEN id % 5 = 0 THEN NULL ELSE market_id END AS market_id,
       store_id + 7 AS store_id, created_at + interval '1 day' AS created_at,
       CASE WHEN id % 3 = 0 THEN 'ramen' ELSE category END AS category,
       CASE WHEN id % 4 = 0 THEN NULL ELSE total_onshift_partners END AS total_onshift_partners,
       total_items, duration_s
FROM deliveries WHERE id <= 200;
GRANT SELECT ON deliveries_tomorrow TO ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_engineer;
SET ROLE demo_engineer;
SELECT column_name, nulls_before, nulls_after, actions
FROM ml_apply_recipe(:clean_recipe, 'deliveries_tomorrow', into_table => 'tomorrow_clean');
SELECT count(*) AS rows, count(*) FILTER (WHERE total_onshift_partners IS NULL) AS gaps_left
FROM tomorrow_clean;

\echo
\echo '== audit trail (as superuser)'
RESET ROLE;
SELECT actor, action, object_name, details FROM ml_audit ORDER BY id;
