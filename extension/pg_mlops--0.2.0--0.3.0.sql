-- pg_mlops 0.2.0 -> 0.3.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.3.0'" to load this file. \quit

-- Each change of 0.3.0 appends its own section below, in the order of the
-- install sources (extension/src/*.sql) it mirrors.

-- Linear fits as a parallel aggregate (extension/src/60_training_aggregates.sql).
CREATE FUNCTION mlops.ml_gram_sfunc(internal, float8, float8[]) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_sfunc' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_combine(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_serialize(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'ml_gram_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_deserialize(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE AGGREGATE mlops.ml_gram_agg(y float8, x float8[]) (
    SFUNC = mlops.ml_gram_sfunc,
    STYPE = internal,
    FINALFUNC = mlops.ml_gram_serialize,
    COMBINEFUNC = mlops.ml_gram_combine,
    SERIALFUNC = mlops.ml_gram_serialize,
    DESERIALFUNC = mlops.ml_gram_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlops.ml_gram_agg(float8, float8[]) IS
    'centred moments of (x, y) for a linear fit (parallel); solve with mlops.ml_linear_solve';
CREATE FUNCTION mlops.ml_linear_solve(state bytea, alpha float8 DEFAULT 0,
                                      fit_intercept boolean DEFAULT true) RETURNS float8[]
AS 'MODULE_PATHNAME', 'ml_linear_solve' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.ml_linear_solve(bytea, float8, boolean) IS
    '{intercept, coef_1, ..., coef_p} of least squares (alpha 0) or ridge on a mlops.ml_gram_agg state';
REVOKE ALL ON FUNCTION mlops.ml_gram_sfunc(internal, float8, float8[]),
    mlops.ml_gram_combine(internal, internal), mlops.ml_gram_serialize(internal),
    mlops.ml_gram_deserialize(bytea, internal), mlops.ml_gram_agg(float8, float8[]),
    mlops.ml_linear_solve(bytea, float8, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.ml_gram_agg(float8, float8[]),
    mlops.ml_linear_solve(bytea, float8, boolean) TO ml_analyst, ml_engineer;
