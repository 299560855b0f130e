-- Model versions under row-level security (0.3.0, review 5). A version's
-- metrics, training profile, row counts and payload are aggregates of the
-- training rows its trainer could read; a reader whose row-level security
-- on the training relation is narrower would learn about rows hidden from
-- it. So, as column profiles and reports, a version is shown to project
-- readers only when row-level security filters nothing of its training
-- relation for them (mlops.rows_unrestricted), or to its trainer (by OID).
-- A training relation that no longer resolves under its name filters
-- nothing. Deployments, trials and drift alerts of a hidden version (its
-- metrics, scores and PSI) are hidden with it; ml_drift leaves it out and
-- ml_check_drift refuses it (src/model/drift.c). Scoring is unaffected
-- (scores are what readers are given).
ALTER TABLE mlops.models ADD COLUMN created_by_oid oid;
COMMENT ON COLUMN mlops.models.created_by_oid IS
    'the OID of the role that trained the version (it sees it whatever the training relation''s row-level security)';
DROP POLICY project_visible ON mlops.models;
CREATE POLICY project_visible ON mlops.models FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
                OR COALESCE(mlops.rows_unrestricted(
                       -- by the catalog, not to_regclass, which raises for a schema the reader may not use
                       (SELECT c.oid FROM pg_catalog.pg_class c
                        JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                        CROSS JOIN LATERAL pg_catalog.parse_ident(training_relation) i(part)
                        WHERE n.nspname OPERATOR(pg_catalog.=) i.part[1]
                          AND c.relname OPERATOR(pg_catalog.=) i.part[2])), true)));
DROP POLICY project_visible ON mlops.deployments;
CREATE POLICY project_visible ON mlops.deployments FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (model_id IS NULL
                OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id)));
DROP POLICY project_visible ON mlops.trials;
CREATE POLICY project_visible ON mlops.trials FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (model_id IS NULL
                OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id)));
DROP POLICY project_visible ON mlops.drift_alerts;
CREATE POLICY project_visible ON mlops.drift_alerts FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (model_id IS NULL
                OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id)));
-- A model or drift report shows its version's stored metrics and training
-- shares too: it is hidden with the version (the project's relation may
-- have been repointed since the version was trained on another).
DROP POLICY project_visible ON mlops.reports;
CREATE POLICY project_visible ON mlops.reports FOR SELECT
    USING (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR (mlops.project_access(project_id) IS NOT NULL
               AND (kind OPERATOR(pg_catalog.<>) ALL (ARRAY['model', 'cleaning', 'drift'])
                    OR (kind OPERATOR(pg_catalog.=) ANY (ARRAY['model', 'drift'])
                        AND (model_id IS NULL
                             OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id))
                        AND EXISTS (SELECT 1 FROM mlops.projects p
                                    CROSS JOIN LATERAL (SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace WHERE pn.nspname OPERATOR(pg_catalog.=) p.relation_schema AND pc.relname OPERATOR(pg_catalog.=) p.relation_name) s(rel)
                                    WHERE p.id OPERATOR(pg_catalog.=) project_id
                                      AND COALESCE(pg_catalog.has_table_privilege(s.rel, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(s.rel), false)))
                    OR (kind OPERATOR(pg_catalog.=) 'cleaning'
                        AND EXISTS (SELECT 1 FROM mlops.recipes c
                                    WHERE c.id OPERATOR(pg_catalog.=) recipe_id
                                      AND c.source_relid IS NOT NULL
                                      AND (SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace WHERE pn.nspname OPERATOR(pg_catalog.=) c.source_schema AND pc.relname OPERATOR(pg_catalog.=) c.source_name)::pg_catalog.oid
                                          OPERATOR(pg_catalog.=) c.source_relid
                                      AND COALESCE(pg_catalog.has_table_privilege(c.source_relid, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(c.source_relid), false))))));
