
-- Forecasting (0.3.0): projects of task 'forecast', one Prophet-style
-- model per series stored as one version (algorithm 'prophet_ridge').
ALTER TABLE mlops.projects DROP CONSTRAINT projects_task_check;
ALTER TABLE mlops.projects ADD CONSTRAINT projects_task_check
    CHECK (task IN ('regression', 'classification', 'forecast'));

CREATE FUNCTION @extschema@.ml_forecast_train(
    project text,
    time_column text,
    series_by text[] DEFAULT NULL,
    options jsonb DEFAULT '{}')
RETURNS TABLE (version integer, series bigint, metrics jsonb)
AS 'MODULE_PATHNAME', 'ml_forecast_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb) IS
    'fit one trend + seasonality model per series of a forecast project and store them as a new version';

CREATE FUNCTION @extschema@.ml_forecast(project text, horizon integer, version integer DEFAULT NULL)
RETURNS TABLE (series jsonb, ts timestamptz, forecast double precision,
               lower double precision, upper double precision)
AS 'MODULE_PATHNAME', 'ml_forecast'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION @extschema@.ml_forecast(text, integer, integer) IS
    'the next horizon steps of every series, with an interval, from the deployed (or a given) version';

REVOKE ALL ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb),
    @extschema@.ml_forecast(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb) TO ml_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.ml_forecast(text, integer, integer) TO ml_analyst, ml_engineer;
