-- DROP EXTENSION removes everything it created (roles stay: they are
-- cluster-wide), CREATE EXTENSION works again, and the extension can be
-- created in a second database of the same cluster.
RESET ROLE;
DROP EXTENSION pg_mlops;
SELECT count(*) AS mlops_schema FROM pg_namespace WHERE nspname = 'mlops';
SELECT count(*) AS ml_functions FROM pg_proc WHERE proname LIKE 'ml\_%';
SELECT count(*) AS ml_views FROM pg_class WHERE relname LIKE 'ml\_%';
SELECT rolname FROM pg_roles WHERE rolname LIKE 'ml\_%' ORDER BY rolname;

SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
RESET client_min_messages;
SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_mlops';
SELECT count(*) AS projects FROM ml_projects;

-- A second database of the same cluster: the roles already exist.
CREATE DATABASE regress_mlops_second;
\c regress_mlops_second
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
RESET client_min_messages;
CREATE TABLE t (y numeric);
GRANT SELECT ON t TO regress_alice;
SET ROLE regress_alice;
SELECT ml_create_project('second', 't', 'y') > 0 AS created;
RESET ROLE;
DROP EXTENSION pg_mlops;
\c contrib_regression
DROP DATABASE regress_mlops_second;
-- dropping it in one database leaves the other working
SET ROLE regress_alice;
SELECT ml_create_project('still works', 'orders', 'amount') > 0 AS created;
SELECT ml_drop_project('still works');
RESET ROLE;
