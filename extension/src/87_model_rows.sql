-- Model versions under row-level security (0.3.0, review 5). A version's
-- metrics, training profile, row counts and payload are aggregates of the
-- training rows its trainer could read; a reader whose row-level security
-- on the training relation is narrower would learn about rows hidden from
-- it. So, as column profiles and reports, a version is shown to project
-- readers only when row-level security filters nothing of its training
-- relation for them (mlops.rows_unrestricted), or to its trainer (by OID).
-- Deployments, trials and drift alerts of a hidden version (its metrics,
-- scores and PSI) are hidden with it; ml_drift leaves it out and
-- ml_check_drift refuses it (src/model/drift.c). Scoring is unaffected
-- (scores are what readers are given).
ALTER TABLE mlops.models ADD COLUMN created_by_oid oid;
COMMENT ON COLUMN mlops.models.created_by_oid IS
    'the OID of the role that trained the version (it sees it whatever the training relation''s row-level security)';
-- The training relation by OID (0.4.0): the rule follows the relation the
-- version was trained on, so renaming it (or its schema) and putting an
-- unrestricted relation under the old name shows nothing. Its name still
-- counts too: a version is shown only when row-level security filters
-- nothing for the reader on the relation of that OID and on the relation
-- now under the name (each, when there is one). So a catalog restored by
-- pg_dump into another database, where relation OIDs differ, is judged by
-- name as before; a stale OID that now names another relation can only
-- hide more. A dropped training relation filters nothing (its rows and its
-- policies are gone): the version is shown to the project's readers unless
-- a relation created since under its name filters rows for them. Versions
-- trained before 0.4.0 got the OID of the relation under their name at
-- the upgrade (NULL when none: judged by name alone).
ALTER TABLE mlops.models ADD COLUMN training_relid oid;
COMMENT ON COLUMN mlops.models.training_relid IS
    'the OID of the relation the version was trained on (NULL: trained before 0.4.0 on a relation gone at the upgrade)';
DROP POLICY project_visible ON mlops.models;
CREATE POLICY project_visible ON mlops.models FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
                OR ((training_relid IS NULL
                     OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) training_relid)
                     OR mlops.rows_unrestricted(training_relid))
                    AND COALESCE(mlops.rows_unrestricted(
                           -- by the catalog, not to_regclass, which raises for a schema the reader may not use
                           (SELECT c.oid FROM pg_catalog.pg_class c
                            JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                            CROSS JOIN LATERAL pg_catalog.parse_ident(training_relation) i(part)
                            WHERE n.nspname OPERATOR(pg_catalog.=) i.part[1]
                              AND c.relname OPERATOR(pg_catalog.=) i.part[2])), true))));
-- Whether the calling role sees a model version (mlops.models' policy
-- above; true for no version). The rows of a version's deployments,
-- trials, drift alerts and model or drift reports (its metrics, scores and
-- PSI) are shown with the version only. SECURITY INVOKER: it reads
-- mlops.models as the reader, under the reader's policy, so it answers
-- for the caller only and tells nothing a SELECT on mlops.models would not.
CREATE FUNCTION mlops.model_visible(model_id bigint)
RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT model_visible.model_id IS NULL
           OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_visible.model_id);
END;
COMMENT ON FUNCTION mlops.model_visible(bigint) IS
    'whether the calling role sees a model version (mlops.models'' row-level security); true for NULL';
REVOKE ALL ON FUNCTION mlops.model_visible(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.model_visible(bigint) TO ml_analyst, ml_engineer;
DROP POLICY project_visible ON mlops.deployments;
CREATE POLICY project_visible ON mlops.deployments FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL AND mlops.model_visible(model_id));
DROP POLICY project_visible ON mlops.trials;
CREATE POLICY project_visible ON mlops.trials FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL AND mlops.model_visible(model_id));
DROP POLICY project_visible ON mlops.drift_alerts;
CREATE POLICY project_visible ON mlops.drift_alerts FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL AND mlops.model_visible(model_id));
-- A model or drift report shows its version's stored metrics and training
-- shares too: it is hidden with the version (the project's relation may
-- have been repointed since the version was trained on another).
DROP POLICY project_visible ON mlops.reports;
CREATE POLICY project_visible ON mlops.reports FOR SELECT
    USING (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR (mlops.project_access(project_id) IS NOT NULL
               AND (kind OPERATOR(pg_catalog.<>) ALL (ARRAY['model', 'cleaning', 'drift'])
                    OR (kind OPERATOR(pg_catalog.=) ANY (ARRAY['model', 'drift'])
                        AND mlops.model_visible(model_id)
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
