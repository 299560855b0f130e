-- pg_mlops 0.1.0 -> 0.2.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.2.0'" to load this file. \quit

-- Casts that never fail, also for whole numbers beyond the integer ranges
-- (the polish step and recipes replayed on new data).
CREATE FUNCTION mlops.try_cast_bigint(text) RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_try_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.try_round_int8(numeric) RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_try_round_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.try_round_int4(numeric) RETURNS integer
AS 'MODULE_PATHNAME', 'ml_try_round_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION mlops.try_cast_bigint(text), mlops.try_round_int8(numeric),
    mlops.try_round_int4(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.try_cast_bigint(text), mlops.try_round_int8(numeric),
    mlops.try_round_int4(numeric) TO ml_analyst, ml_engineer;
