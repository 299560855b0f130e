-- Model registry hand-over: analysts mark ready, engineers deploy and roll
-- back; a project with a deployed model is only dropped by force, and only
-- by an engineer or admin. (Training arrives in a later release; the model
-- rows here are inserted directly by the superuser.)
SET ROLE regress_alice;
SELECT ml_create_project('fraud', 'orders', 'late', 'classification') > 0 AS created;
RESET ROLE;
INSERT INTO mlops.models (project_id, version, algorithm, created_by)
SELECT id, v, 'logistic', 'regress_alice' FROM mlops.projects, generate_series(1, 3) v
WHERE name = 'fraud';

-- Deploying needs a ready version.
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_deploy('fraud')$$);
SELECT regress_try($$SELECT ml_deploy('fraud', 1)$$);
-- Engineers cannot mark ready (that is the analyst's hand-over).
SELECT regress_try($$SELECT ml_mark_ready('fraud', 1)$$);

SET ROLE regress_alice;
SELECT ml_mark_ready('fraud', 1);
SELECT ml_mark_ready('fraud', 2);
SELECT regress_try($$SELECT ml_mark_ready('fraud', 2)$$);
SELECT regress_try($$SELECT ml_mark_ready('fraud', 9)$$);
-- Analysts cannot deploy.
SELECT regress_try($$SELECT ml_deploy('fraud', 1)$$);

SET ROLE regress_eve;
SELECT ml_deploy('fraud', 1, 'first release');
SELECT ml_deploy('fraud', reason => 'latest ready');
SELECT ml_deploy('fraud', 2);
SELECT version, status FROM mlops.models ORDER BY version;
SELECT ml_rollback('fraud', 'v2 misbehaves');
SELECT version, status FROM mlops.models ORDER BY version;
SELECT deployed_version FROM ml_projects WHERE name = 'fraud';
SELECT version, from_version, action, deployed_by, reason FROM mlops.deployments ORDER BY id;

-- Dropping a project whose model is deployed.
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_drop_project('fraud')$$);
SELECT regress_try($$SELECT ml_drop_project('fraud', force => true)$$);
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_drop_project('fraud')$$);
SELECT ml_drop_project('fraud', force => true);
RESET ROLE;
SELECT count(*) AS projects, (SELECT count(*) FROM mlops.models) AS models,
       (SELECT count(*) FROM mlops.deployments) AS deployments
FROM mlops.projects;
SELECT action, details->>'force' AS force, details->>'deployed_version' AS deployed
FROM mlops.audit_log WHERE action = 'drop_project' AND object_name = 'fraud';

-- Rollback with nothing to roll back to.
SET ROLE regress_alice;
SELECT ml_create_project('solo', 'orders', 'amount') > 0 AS created;
RESET ROLE;
INSERT INTO mlops.models (project_id, version, algorithm, created_by)
SELECT id, 1, 'linear', 'regress_alice' FROM mlops.projects WHERE name = 'solo';
SET ROLE regress_alice;
SELECT ml_mark_ready('solo', 1);
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_rollback('solo')$$);
SELECT ml_deploy('solo');
SELECT regress_try($$SELECT ml_rollback('solo')$$);
-- An admin can force the drop too.
SET ROLE regress_adam;
SELECT ml_drop_project('solo', force => true);
RESET ROLE;
