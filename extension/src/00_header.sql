-- pg_mlops install script, generated from extension/src/*.sql by the Makefile.
-- Do not edit the generated file; edit the sources and rebuild.

\echo Use "CREATE EXTENSION pg_mlops" to load this file. \quit

-- The SQL API (ml_* functions and views) lives in the extension schema
-- (@extschema@, normally public) so analysts can call ml_impute('orders')
-- without a prefix; the catalog lives in its own schema "mlops".
CREATE SCHEMA mlops;
COMMENT ON SCHEMA mlops IS 'pg_mlops catalog: projects, recipes, models, deployments, jobs, reports, audit log';
REVOKE ALL ON SCHEMA mlops FROM PUBLIC;
