-- Row-level security of the relations the catalog aggregates (0.3.0).
-- Column profiles and model, cleaning and drift reports hold counts, means,
-- ranges and histograms over every row their builder could read; a reader
-- whose row-level security on that relation is narrower would learn about
-- rows hidden from it. The policies of those rows show them, besides their
-- builder, only to readers for whom row-level security filters nothing on
-- the relation (src/core/row_security.c; docs/bi.md, docs/reports.md).
CREATE FUNCTION mlops.rows_unrestricted(relid oid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_rows_unrestricted'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.rows_unrestricted(oid) IS
    'whether row-level security filters no row of a relation (or of those a view reads) for the calling role';
REVOKE ALL ON FUNCTION mlops.rows_unrestricted(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.rows_unrestricted(oid) TO ml_analyst, ml_engineer;
