-- The catalog and the API exist as designed.
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(56);

SELECT has_schema('mlops');
SELECT tables_are('mlops', ARRAY['projects', 'project_members', 'recipes', 'models',
    'deployments', 'jobs', 'job_runs', 'reports', 'audit_log', 'trials', 'workflows', 'job_run_steps',
    'scoring_log', 'drift_policies', 'drift_alerts', 'column_profiles',
    'exposures', 'api_usage', 'api_keys']);
SELECT columns_are('mlops', 'projects', ARRAY['id', 'name', 'description', 'owner',
    'relation_schema', 'relation_name', 'target', 'task', 'created_at', 'updated_at', 'owner_oid']);
SELECT columns_are('mlops', 'models', ARRAY['id', 'project_id', 'version', 'algorithm',
    'hyperparameters', 'metrics', 'payload', 'payload_format', 'training_relation',
    'row_count', 'data_fingerprint', 'recipe_id', 'status', 'created_by', 'created_at',
    'features', 'training', 'ready_comment', 'profile', 'created_by_oid', 'training_relid']);
SELECT columns_are('mlops', 'recipes', ARRAY['id', 'name', 'project_id', 'source_schema',
    'source_name', 'kind', 'options', 'steps', 'report', 'format_version', 'created_by',
    'created_at', 'holds_rows', 'source_relid', 'created_by_oid']);
SELECT columns_are('mlops', 'deployments', ARRAY['id', 'project_id', 'model_id', 'version',
    'from_version', 'action', 'deployed_by', 'deployed_at', 'reason', 'metrics']);
SELECT columns_are('mlops', 'jobs', ARRAY['id', 'project_id', 'name', 'kind', 'schedule',
    'command', 'owner', 'active', 'max_retries', 'timeout', 'created_at',
    'options', 'backoff', 'statement_timeout', 'next_run_at']);
SELECT columns_are('mlops', 'exposures', ARRAY['project_id', 'consumer', 'rows_per_day',
    'calls_per_second', 'created_by', 'created_at', 'updated_at', 'consumer_oid']);
SELECT columns_are('mlops', 'api_usage', ARRAY['project_id', 'consumer', 'day', 'calls', 'rows',
    'errors', 'latency_histogram', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'flushed_at', 'consumer_oid']);
SELECT columns_are('mlops', 'api_keys', ARRAY['id', 'prefix', 'hash', 'consumer', 'label',
    'created_by', 'created_at', 'expires_at', 'revoked_at', 'last_used_at', 'consumer_oid', 'created_by_oid']);
SELECT columns_are('mlops', 'job_runs', ARRAY['id', 'job_id', 'attempt', 'status', 'pid',
    'started_at', 'finished_at', 'message', 'trigger', 'requested_by', 'due_at',
    'rows_processed', 'progress', 'log', 'sqlstate', 'cancel_requested', 'from_start', 'resumed_from',
    'requested_by_oid']);
SELECT columns_are('mlops', 'workflows', ARRAY['id', 'project_id', 'name', 'steps', 'auto_deploy',
    'auto_deploy_allowed_by', 'auto_deploy_allowed_at', 'created_by', 'created_at', 'created_by_oid']);
SELECT columns_are('mlops', 'job_run_steps', ARRAY['run_id', 'step_no', 'workflow_id', 'kind', 'status',
    'started_at', 'finished_at', 'message', 'details']);
SELECT columns_are('mlops', 'reports', ARRAY['id', 'project_id', 'model_id', 'recipe_id',
    'name', 'kind', 'content', 'html', 'published', 'created_by', 'created_at',
    'version', 'title', 'built_from', 'published_at', 'published_by', 'created_by_oid']);
SELECT columns_are('mlops', 'column_profiles', ARRAY['id', 'recipe_id', 'project_id',
    'relation_schema', 'relation_name', 'relation_oid', 'column_name', 'phase', 'kind', 'type',
    'rows', 'missing', 'distinct_values', 'outliers', 'non_finite', 'min', 'max', 'mean',
    'histogram', 'sample_rows', 'output_schema', 'output_name', 'in_output', 'profiled_at']);
SELECT columns_are('mlops', 'trials', ARRAY['id', 'project_id', 'model_id', 'version', 'trial',
    'rung', 'algorithm', 'hyperparameters', 'train_rows', 'fraction', 'metric', 'fold_scores',
    'score', 'fit_seconds', 'status', 'error', 'chosen']);
SELECT columns_are('mlops', 'audit_log', ARRAY['id', 'at', 'actor', 'action', 'object_type',
    'object_name', 'project_id', 'details', 'actor_oid']);
SELECT col_type_is('mlops'::name, 'models'::name, 'payload'::name, 'bytea', 'model payloads are bytea');
SELECT col_is_unique('mlops'::name, 'projects'::name, ARRAY['name']::name[], 'project names are unique');
SELECT col_is_unique('mlops'::name, 'models'::name, ARRAY['project_id', 'version']::name[], 'one row per project and version');
SELECT fk_ok('mlops', 'models', 'project_id', 'mlops', 'projects', 'id');
SELECT fk_ok('mlops', 'deployments', 'model_id', 'mlops', 'models', 'id');
SELECT fk_ok('mlops', 'job_runs', 'job_id', 'mlops', 'jobs', 'id');

-- Row-level security on every catalog table.
SELECT is(
    (SELECT array_agg(relname::text ORDER BY relname) FROM pg_class
     WHERE relnamespace = 'mlops'::regnamespace AND relkind = 'r' AND NOT relrowsecurity),
    NULL, 'row-level security is enabled on every catalog table');
SELECT policies_are('mlops', 'projects', ARRAY['project_visible']);
SELECT policies_are('mlops', 'audit_log', ARRAY['audit_visible']);

-- Every catalog table and sequence is kept by pg_dump.
SELECT set_eq(
    $$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'pg_mlops'$$,
    $$SELECT oid::regclass::text FROM pg_class
      WHERE relnamespace = 'mlops'::regnamespace AND relkind IN ('r', 'S')$$,
    'every catalog table and sequence is registered with pg_extension_config_dump');

-- The API.
SELECT has_function('public', 'ml_create_project', ARRAY['text', 'regclass', 'text', 'text', 'text']);
SELECT function_returns('public', 'ml_create_project', ARRAY['text', 'regclass', 'text', 'text', 'text'], 'bigint');
SELECT has_function('public', 'ml_update_project', ARRAY['text', 'text', 'regclass', 'text', 'text', 'text']);
SELECT has_function('public', 'ml_drop_project', ARRAY['text', 'boolean']);
SELECT has_function('public', 'ml_add_member', ARRAY['text', 'regrole']);
SELECT has_function('public', 'ml_remove_member', ARRAY['text', 'regrole']);
SELECT has_function('public', 'ml_mark_ready', ARRAY['text', 'integer', 'text']);
SELECT has_function('public', 'ml_deploy', ARRAY['text', 'integer', 'text']);
SELECT function_returns('public', 'ml_deploy', ARRAY['text', 'integer', 'text'], 'integer');
SELECT has_function('public', 'ml_rollback', ARRAY['text', 'text']);
SELECT has_view('public', 'ml_projects', 'the ml_projects view exists');
SELECT has_view('public', 'ml_audit', 'the ml_audit view exists');
SELECT has_view('public', 'ml_cleaning_report', 'the ml_cleaning_report view exists');
SELECT has_view('public', 'ml_trials', 'the ml_trials view exists');
SELECT has_view('public', 'ml_leaderboard', 'the ml_leaderboard view exists');
SELECT has_view('public', 'ml_data_quality', 'the ml_data_quality view exists');
SELECT has_view('public', 'ml_deployments', 'the ml_deployments view exists');
SELECT has_view('public', 'ml_job_history', 'the ml_job_history view exists');
SELECT has_function('public', 'ml_impute', ARRAY['regclass', 'text[]', 'text', 'jsonb', 'text']);
SELECT has_function('public', 'ml_clean', ARRAY['regclass', 'jsonb', 'text']);
SELECT has_function('mlops', 'project_access', ARRAY['bigint'],
    'the access function used by the policies takes a project only');
SELECT hasnt_function('mlops', 'project_access', ARRAY['bigint', 'name'],
    'there is no access function that answers for any role');
SELECT isnt_definer('mlops', 'project_access', ARRAY['bigint'],
    'the access function runs as its caller');
SELECT has_function('mlops', 'model_visible', ARRAY['bigint'],
    'one function decides whether the reader sees a model version, for every policy of its rows');
SELECT isnt_definer('mlops', 'model_visible', ARRAY['bigint'],
    'the model visibility function runs as its caller (under mlops.models'' policy)');
SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
           JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
           JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_mlops'
           WHERE p.prosecdef),
          NULL, 'no function of the extension is SECURITY DEFINER');
-- SECURITY DEFINER only with a pinned search_path.
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
     JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
     JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_mlops'
     WHERE p.prosecdef AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
    NULL, 'every SECURITY DEFINER function pins search_path');
SELECT ok((SELECT bool_and(rolname IS NOT NULL) FROM unnest(ARRAY['ml_analyst', 'ml_engineer',
    'ml_admin', 'ml_consumer']) r LEFT JOIN pg_roles ON rolname = r), 'the four group roles exist');
SELECT ok(pg_has_role('ml_admin', 'ml_analyst', 'USAGE') AND pg_has_role('ml_admin', 'ml_engineer', 'USAGE')
          AND pg_has_role('ml_engineer', 'ml_consumer', 'USAGE')
          AND NOT pg_has_role('ml_analyst', 'ml_engineer', 'USAGE')
          AND NOT pg_has_role('ml_consumer', 'ml_analyst', 'USAGE'),
          'role hierarchy: admin > analyst, engineer; engineer > consumer');

SELECT * FROM finish();
ROLLBACK;
