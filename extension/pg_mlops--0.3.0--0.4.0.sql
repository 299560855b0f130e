-- pg_mlops 0.3.0 -> 0.4.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.4.0'" to load this file. \quit

-- Each change of 0.4.0 appends its own section below, in the order of the
-- install sources (extension/src/*.sql) it mirrors.

-- 73_jobs_role_oids.sql: the role that asked for a run, and a workflow's creator, by OID.
-- The role that asked for a run, by OID (0.4.0). An analyst may cancel the
-- runs it asked for with ml_run_now (ml_cancel, src/jobs/jobs_api.c); that
-- is decided by the role's OID, so a role dropped and re-created under the
-- same name is another role and cancels none of the old one's runs.
-- requested_by stays, for display. Runs asked for before 0.4.0 got the OID
-- of the role of that name at the upgrade, NULL when none existed then
-- (only the job's owner or an admin cancels those). Scheduled runs and
-- retries have neither.
ALTER TABLE mlops.job_runs ADD COLUMN requested_by_oid oid;
COMMENT ON COLUMN mlops.job_runs.requested_by_oid IS
    'the OID of the role that asked for the run with ml_run_now (NULL: scheduled, a retry, or its role no longer existed at the upgrade to 0.4.0)';
UPDATE mlops.job_runs r SET requested_by_oid = u.oid
FROM pg_catalog.pg_roles u
WHERE u.rolname OPERATOR(pg_catalog.=) r.requested_by;
-- A workflow's creator by OID too (0.4.0): a job runs a workflow only when
-- its creator has the privileges of the job's owner (src/jobs/workflow.c),
-- so a role re-created under the name of a dropped creator did not write
-- its steps and does not vouch for them. created_by stays, for display.
-- Workflows of before 0.4.0 got the OID of the role of that name at the
-- upgrade; NULL when none existed then (no job runs them: re-create the
-- workflow as the job's owner).
ALTER TABLE mlops.workflows ADD COLUMN created_by_oid oid;
COMMENT ON COLUMN mlops.workflows.created_by_oid IS
    'the OID of the role that created the workflow (NULL: it no longer existed at the upgrade to 0.4.0)';
UPDATE mlops.workflows w SET created_by_oid = u.oid
FROM pg_catalog.pg_roles u
WHERE u.rolname OPERATOR(pg_catalog.=) w.created_by;

-- 87_model_rows.sql: the training relation by OID; mlops.model_visible for
-- the policies of deployments, trials, drift alerts and reports.
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
UPDATE mlops.models m SET training_relid = c.oid
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE pg_catalog.format('%I.%I', n.nspname, c.relname) OPERATOR(pg_catalog.=) m.training_relation;
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

-- A metric of a metrics object as a number: NULL when absent or not a
-- number (a JSON null, as non-finite metrics are stored), and NULL for a
-- number double precision cannot hold (a damaged row: 1e400 would be an
-- out-of-range error in every view and report that reads it).
CREATE OR REPLACE FUNCTION mlops.metric_value(metrics jsonb, key text)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN pg_catalog.jsonb_typeof(metrics OPERATOR(pg_catalog.->) key) OPERATOR(pg_catalog.=) 'number'
            THEN CASE WHEN pg_catalog.abs((metrics OPERATOR(pg_catalog.->) key)::pg_catalog.numeric)
                           OPERATOR(pg_catalog.<=) 1.7976931348623157e308
                           AND (pg_catalog.abs((metrics OPERATOR(pg_catalog.->) key)::pg_catalog.numeric)
                                OPERATOR(pg_catalog.>=) 4.9406564584124654e-324
                                OR (metrics OPERATOR(pg_catalog.->) key)::pg_catalog.numeric OPERATOR(pg_catalog.=) 0)
                      THEN (metrics OPERATOR(pg_catalog.->>) key)::pg_catalog.float8 END END;

-- A count of a cleaning report's element as bigint: NULL when absent or not
-- a whole number (a damaged row: the view reads every recipe, and one such
-- element must not make it fail for every reader).
CREATE FUNCTION mlops.report_count(element jsonb, key text)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN (element OPERATOR(pg_catalog.->>) key) OPERATOR(pg_catalog.~) '^-?[0-9]{1,18}$'
            THEN (element OPERATOR(pg_catalog.->>) key)::pg_catalog.int8 END;
COMMENT ON FUNCTION mlops.report_count(jsonb, text) IS
    'a count of a cleaning report element as bigint; NULL when absent or not a whole number';
REVOKE ALL ON FUNCTION mlops.report_count(jsonb, text) FROM PUBLIC;
-- the view calls it as its reader
GRANT EXECUTE ON FUNCTION mlops.report_count(jsonb, text) TO ml_analyst, ml_engineer;

-- A statistic of a cleaning report's element as double precision: a JSON
-- number (NULL beyond double precision, as mlops.metric_value), or one of
-- the strings NaN, Infinity and -Infinity the report writes for those
-- values; NULL for anything else.
CREATE FUNCTION mlops.report_number(element jsonb, key text)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN (element OPERATOR(pg_catalog.->>) key) OPERATOR(pg_catalog.=) ANY ('{NaN,Infinity,-Infinity}'::pg_catalog.text[])
                 AND pg_catalog.jsonb_typeof(element OPERATOR(pg_catalog.->) key) OPERATOR(pg_catalog.=) 'string'
            THEN (element OPERATOR(pg_catalog.->>) key)::pg_catalog.float8
            ELSE mlops.metric_value(element, key) END;
COMMENT ON FUNCTION mlops.report_number(jsonb, text) IS
    'a statistic of a cleaning report element as double precision (NaN and infinities as the report writes them); NULL when unreadable';
REVOKE ALL ON FUNCTION mlops.report_number(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.report_number(jsonb, text) TO ml_analyst, ml_engineer;

CREATE OR REPLACE VIEW @extschema@.ml_cleaning_report WITH (security_invoker = true) AS
SELECT r.id AS recipe_id, r.kind, r.created_by, r.created_at,
       pg_catalog.format('%I.%I', r.source_schema, r.source_name) AS relation,
       x."column" AS column_name, x.kind AS column_kind, x.nulls_before, x.filled, x.fill_method,
       x.fill_error, x.outliers, x.outlier_action, x.encoding, x."cast", x.new_columns,
       x.dropped, x.nulls_after, x.mean_before, x.mean_after, x.min_before, x.min_after,
       x.max_before, x.max_after
FROM mlops.recipes r
CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(
    CASE WHEN pg_catalog.jsonb_typeof(r.report) OPERATOR(pg_catalog.=) 'array' THEN r.report ELSE '[]' END) e
CROSS JOIN LATERAL (SELECT
    e OPERATOR(pg_catalog.->>) 'column' AS "column", e OPERATOR(pg_catalog.->>) 'kind' AS kind,
    mlops.report_count(e, 'nulls_before') AS nulls_before, mlops.report_count(e, 'filled') AS filled,
    e OPERATOR(pg_catalog.->>) 'fill_method' AS fill_method, mlops.report_number(e, 'fill_error') AS fill_error,
    mlops.report_count(e, 'outliers') AS outliers, e OPERATOR(pg_catalog.->>) 'outlier_action' AS outlier_action,
    e OPERATOR(pg_catalog.->>) 'encoding' AS encoding, e OPERATOR(pg_catalog.->>) 'cast' AS "cast",
    e OPERATOR(pg_catalog.->>) 'new_columns' AS new_columns,
    CASE WHEN pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) 'dropped') OPERATOR(pg_catalog.=) 'boolean'
         THEN (e OPERATOR(pg_catalog.->>) 'dropped')::pg_catalog.bool END AS dropped,
    mlops.report_count(e, 'nulls_after') AS nulls_after,
    mlops.report_number(e, 'mean_before') AS mean_before, mlops.report_number(e, 'mean_after') AS mean_after,
    mlops.report_number(e, 'min_before') AS min_before, mlops.report_number(e, 'min_after') AS min_after,
    mlops.report_number(e, 'max_before') AS max_before, mlops.report_number(e, 'max_after') AS max_after
    WHERE pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.=) 'object') x
WHERE r.kind OPERATOR(pg_catalog.=) 'clean';

-- ml_job_runs: an infinite start or end (an altered row) has no duration;
-- subtracting it failed the view (and ml_job_history) for every reader.
-- Nor has a span too long for an interval, which would wrap.
CREATE OR REPLACE VIEW @extschema@.ml_job_runs WITH (security_invoker = true) AS
SELECT r.id AS run, r.job_id AS job, j.name AS job_name, p.name AS project, j.kind,
       r.attempt, r.status, r.trigger, r.requested_by, r.due_at, r.started_at, r.finished_at,
       -- an infinite time (an altered row) has no duration: subtracting it
       -- would fail the view for every reader; nor has a span past what an
       -- interval holds (2^63 microseconds, about 292,000 years), which
       -- PostgreSQL 15 would wrap into a wrong one
       CASE WHEN pg_catalog.isfinite(r.started_at) AND pg_catalog.isfinite(r.finished_at)
                 AND pg_catalog.abs(EXTRACT(epoch FROM r.finished_at) OPERATOR(pg_catalog.-)
                                    EXTRACT(epoch FROM r.started_at))
                     OPERATOR(pg_catalog.<) 9223372036854::pg_catalog.numeric
            THEN r.finished_at OPERATOR(pg_catalog.-) r.started_at END AS duration,
       COALESCE(l.rows_processed, r.rows_processed) AS rows_processed,
       COALESCE(l.progress, r.progress) AS progress, r.sqlstate, r.message, r.log, r.pid
FROM mlops.job_runs r
JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id
LEFT JOIN LATERAL mlops.job_run_live(CASE WHEN r.status OPERATOR(pg_catalog.=) 'running' THEN r.id END) l ON true;

-- The instant a timestamp text names, or NULL: a text column of zoned times
-- declared datetime is cast to it (timestamp without time zone dropped the
-- zones: instants hours apart became one time).
CREATE FUNCTION mlops.try_cast_timestamptz(text) RETURNS timestamptz
AS 'MODULE_PATHNAME', 'ml_try_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION mlops.try_cast_timestamptz(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.try_cast_timestamptz(text) TO ml_analyst, ml_engineer;
