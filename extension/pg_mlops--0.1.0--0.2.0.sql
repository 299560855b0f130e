-- pg_mlops 0.1.0 -> 0.2.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.2.0'" to load this file. \quit
