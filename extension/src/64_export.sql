
-- Export: a stored model version as a PMML 4.4 document.
CREATE FUNCTION @extschema@.ml_export_pmml(project text, version integer)
RETURNS xml
AS 'MODULE_PATHNAME', 'ml_export_pmml'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.ml_export_pmml(text, integer) IS
    'a model version as a PMML 4.4 document (linear, ridge, lasso, elastic_net, logistic, gbdt, random_forest)';
REVOKE ALL ON FUNCTION @extschema@.ml_export_pmml(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_export_pmml(text, integer) TO ml_analyst, ml_engineer;
