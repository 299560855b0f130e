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
