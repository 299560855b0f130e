-- Column profiles (0.3.0): what every column of a cleaned relation looked
-- like before and after ml_clean / ml_impute, written by the C code
-- (src/clean/profile.c) in the transaction that stores the recipe, from the
-- frame already in memory. ml_data_quality (78_bi.sql) and the cleaning
-- report read them.
--
-- histogram: numeric and datetime columns {"edges": [21 numbers], "counts":
-- [20 numbers], "non_finite": n} (equal-width bins over the finite values of
-- both phases of one run, datetimes in epoch seconds; NaN and +-Infinity are
-- counted in non_finite, in no bin); categorical and text columns
-- {"levels": [up to 20 texts, most frequent first], "counts": [...],
-- "other": n}; NULL for identifiers.
CREATE TABLE mlops.column_profiles (
    id              bigserial PRIMARY KEY,
    recipe_id       bigint NOT NULL REFERENCES mlops.recipes (id) ON DELETE CASCADE,
    project_id      bigint REFERENCES mlops.projects (id) ON DELETE SET NULL,
    relation_schema name NOT NULL,
    relation_name   name NOT NULL,
    -- the profiled relation's OID when profiled: a relation dropped and
    -- re-created under the same name is another one (policy profile_visible)
    relation_oid    oid,
    column_name     name NOT NULL,
    phase           text NOT NULL CHECK (phase IN ('before', 'after')),
    kind            text NOT NULL
                    CHECK (kind IN ('numeric', 'categorical', 'datetime', 'text', 'identifier')),
    type            text,
    rows            bigint NOT NULL,
    missing         bigint NOT NULL,
    distinct_values bigint,
    outliers        bigint,
    non_finite      bigint NOT NULL DEFAULT 0,
    min             double precision,
    max             double precision,
    mean            double precision,
    histogram       jsonb,
    -- rows the distribution figures (distinct_values, outliers, min, max,
    -- mean, histogram) were computed on when a large relation was sampled;
    -- NULL when computed on every row
    sample_rows     bigint,
    -- where the cleaned rows went: into_table, or the relation itself
    output_schema   name,
    output_name     name,
    -- 'after' rows: whether the column is in the output under its name
    -- (false: the encoding replaced it; its 'after' figures are then its
    -- values after fills and outlier treatment, just before encoding)
    in_output       boolean,
    profiled_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (recipe_id, column_name, phase)
);
COMMENT ON TABLE mlops.column_profiles IS
    'per cleaning run and column: rows, missing, distinct, outliers, range and histogram before and after';
CREATE INDEX column_profiles_relation ON mlops.column_profiles (relation_schema, relation_name, column_name);

-- min/max, levels and histograms reveal the data: a profile is shown to
-- roles that may see its recipe (policy recipe_visible) and that may read
-- the column of the relation it describes (by OID, still under its name)
-- with no row-level security filtering that relation for them
-- (mlops.rows_unrestricted: the figures cover every row the cleaning read),
-- or that ran the cleaning.
ALTER TABLE mlops.column_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profile_visible ON mlops.column_profiles FOR SELECT
    USING (EXISTS (SELECT 1 FROM mlops.recipes r
                   WHERE r.id OPERATOR(pg_catalog.=) recipe_id
                     AND (r.created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
                          OR (relation_oid IS NOT NULL
                              AND (SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace WHERE pn.nspname OPERATOR(pg_catalog.=) relation_schema AND pc.relname OPERATOR(pg_catalog.=) relation_name)::pg_catalog.oid
                                  OPERATOR(pg_catalog.=) relation_oid
                              AND COALESCE(mlops.rows_unrestricted(relation_oid), false)
                              AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                          WHERE a.attrelid OPERATOR(pg_catalog.=) relation_oid
                                            AND a.attname OPERATOR(pg_catalog.=) column_name
                                            AND NOT a.attisdropped
                                            AND COALESCE(pg_catalog.has_column_privilege(relation_oid, a.attnum, 'SELECT'), false))))));
REVOKE ALL ON mlops.column_profiles FROM PUBLIC;
REVOKE ALL ON SEQUENCE mlops.column_profiles_id_seq FROM PUBLIC;
GRANT SELECT ON mlops.column_profiles TO ml_analyst, ml_engineer;
SELECT pg_catalog.pg_extension_config_dump('mlops.column_profiles', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.column_profiles_id_seq', '');
