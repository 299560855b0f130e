
-- Reports (0.3.0): self-contained HTML documents of a project (kinds model,
-- cleaning, drift, jobs), built by ml_report as the caller, stored
-- versioned per project and kind with what they were built from, and
-- published to consumers by engineers (src/report/).
-- The table exists since 0.1.0 (20_catalog.sql); 0.3.0 adds what reports need.
ALTER TABLE mlops.reports DROP CONSTRAINT reports_kind_check;
ALTER TABLE mlops.reports
    ADD CONSTRAINT reports_kind_check
        CHECK (kind IN ('model', 'cleaning', 'drift', 'jobs', 'evaluation', 'custom')),
    ADD COLUMN version integer CHECK (version > 0),
    ADD COLUMN title text,
    ADD COLUMN built_from jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN published_at timestamptz,
    ADD COLUMN published_by name,
    ADD COLUMN created_by_oid oid;
-- Rows written before 0.3.0 get versions in the order they were made.
UPDATE mlops.reports r SET version = n.v, title = r.name
FROM (SELECT id, pg_catalog.row_number() OVER (PARTITION BY project_id, kind ORDER BY id) AS v
      FROM mlops.reports) n
WHERE n.id OPERATOR(pg_catalog.=) r.id;
ALTER TABLE mlops.reports ALTER COLUMN version SET NOT NULL;
CREATE UNIQUE INDEX reports_version ON mlops.reports (project_id, kind, version);
COMMENT ON COLUMN mlops.reports.created_by_oid IS 'the OID of the role that built the report (its builder sees it whatever the relation''s row-level security)';
COMMENT ON COLUMN mlops.reports.version IS 'version of the report, numbered per project and kind from 1';
COMMENT ON COLUMN mlops.reports.built_from IS 'what the report was built from: model id and version, recipe id, row counts, job run ids, window, options';
COMMENT ON COLUMN mlops.reports.content IS 'the numbers the report shows, as JSON';
COMMENT ON COLUMN mlops.reports.html IS 'the report: one self-contained HTML5 document (inline CSS and SVG, no script)';

CREATE FUNCTION @extschema@.ml_report(project text, kind text DEFAULT 'model', options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_report(text, text, jsonb) IS
    'build a report of a project (model, cleaning, drift or jobs) as the caller; stores the next version, returns its id';

CREATE FUNCTION @extschema@.ml_publish_report(report bigint, published boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_publish_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_publish_report(bigint, boolean) IS
    'publish a report to the project''s consumers (ml_published_reports), or withdraw it (published false); engineers';

-- Analysts and engineers: every report of the projects they can see
-- (row-level security on mlops.reports), without the document.
CREATE VIEW @extschema@.ml_reports WITH (security_invoker = true) AS
SELECT r.id, p.name AS project, r.kind, r.version, r.title, r.published, r.published_at, r.published_by,
       m.version AS model_version, r.recipe_id, r.built_from, r.content,
       pg_catalog.octet_length(r.html) AS html_bytes, r.created_by, r.created_at
FROM mlops.reports r
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) r.project_id
LEFT JOIN mlops.models m ON m.id OPERATOR(pg_catalog.=) r.model_id;
COMMENT ON VIEW @extschema@.ml_reports IS 'reports of the projects the current role can see: kind, version, what they were built from (no html)';

-- Consumers (and everyone who can see the project): published reports,
-- with the document. Not security_invoker: consumers have no right on
-- mlops.reports, so the view reads it as its owner and filters for the
-- reader (CURRENT_USER and project_access() answer for the reader);
-- security_barrier keeps a reader's own functions from seeing rows before
-- the filter has removed them.
-- Consumers a project is exposed to (ml_expose, mlops.project_exposed)
-- read its published reports; so do the roles that can see the project.
CREATE VIEW @extschema@.ml_published_reports WITH (security_barrier = true) AS
SELECT p.name AS project, r.kind, r.version, r.title, r.html, r.published_at, r.published_by,
       r.id AS report, r.created_at
FROM mlops.reports r
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) r.project_id
WHERE r.published
  AND (mlops.project_access(r.project_id) IS NOT NULL
       OR mlops.project_exposed(r.project_id));
COMMENT ON VIEW @extschema@.ml_published_reports IS 'published reports the current role may read: of the projects it can see or that are exposed to it';

REVOKE ALL ON FUNCTION @extschema@.ml_report(text, text, jsonb),
    @extschema@.ml_publish_report(bigint, boolean) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_reports, @extschema@.ml_published_reports FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_report(text, text, jsonb) TO ml_analyst, ml_engineer;
GRANT EXECUTE ON FUNCTION @extschema@.ml_publish_report(bigint, boolean) TO ml_engineer;
GRANT SELECT ON @extschema@.ml_reports TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_published_reports TO ml_analyst, ml_engineer, ml_consumer;
-- The view asks project_access() for the reader, who needs to run it.
GRANT EXECUTE ON FUNCTION mlops.project_access(bigint) TO ml_consumer;

-- Model, cleaning and drift reports show the data they were built from
-- (sampled rows' residuals and classes, column ranges, levels and
-- histograms, the training rows' shares per bin): besides their builder,
-- only roles that may read that relation see them (the project's relation;
-- a cleaning report's recipe's, by OID still under its name, as
-- recipe_visible), and only when no row-level security filters that
-- relation for them (mlops.rows_unrestricted: the figures cover every row
-- the builder could read). Jobs reports stay visible to whoever can see the
-- project; consumers read published reports through the view.
DROP POLICY project_visible ON mlops.reports;
CREATE POLICY project_visible ON mlops.reports FOR SELECT
    USING (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR (mlops.project_access(project_id) IS NOT NULL
               AND (kind OPERATOR(pg_catalog.<>) ALL (ARRAY['model', 'cleaning', 'drift'])
                    OR (kind OPERATOR(pg_catalog.=) ANY (ARRAY['model', 'drift'])
                        AND EXISTS (SELECT 1 FROM mlops.projects p
                                    CROSS JOIN LATERAL pg_catalog.to_regclass(pg_catalog.format('%I.%I', p.relation_schema, p.relation_name)) s(rel)
                                    WHERE p.id OPERATOR(pg_catalog.=) project_id
                                      AND COALESCE(pg_catalog.has_table_privilege(s.rel, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(s.rel), false)))
                    OR (kind OPERATOR(pg_catalog.=) 'cleaning'
                        AND EXISTS (SELECT 1 FROM mlops.recipes c
                                    WHERE c.id OPERATOR(pg_catalog.=) recipe_id
                                      AND c.source_relid IS NOT NULL
                                      AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', c.source_schema, c.source_name))::pg_catalog.oid
                                          OPERATOR(pg_catalog.=) c.source_relid
                                      AND COALESCE(pg_catalog.has_table_privilege(c.source_relid, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(c.source_relid), false))))));
