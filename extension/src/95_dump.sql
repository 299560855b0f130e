-- pg_dump keeps the rows of every catalog table and the sequences behind them.
SELECT pg_catalog.pg_extension_config_dump('mlops.projects', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.projects_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.project_members', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.recipes', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.recipes_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.models', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.models_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.jobs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.job_runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.reports', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.reports_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.audit_log_id_seq', '');
