-- pg_mlops 0.3.0 -> 0.4.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.4.0'" to load this file. \quit

-- Each change of 0.4.0 appends its own section below, in the order of the
-- install sources (extension/src/*.sql) it mirrors.
