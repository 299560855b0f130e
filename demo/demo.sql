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
\echo '== audit trail (as superuser)'
RESET ROLE;
SELECT actor, action, object_name, details FROM ml_audit ORDER BY id;
