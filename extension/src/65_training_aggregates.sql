-- Linear fits as a parallel aggregate (0.3.0). mlops.ml_gram_agg(y, x)
-- accumulates the centred moments of (x, y) with combine and serial
-- functions, so parallel workers share the scan; mlops.ml_linear_solve turns
-- the state into {intercept, coef_1, ..., coef_p}: least squares (alpha 0)
-- or ridge, scikit-learn's LinearRegression / Ridge(alpha).
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
