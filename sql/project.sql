-- Project life cycle: create, read, update, share, unshare, drop; every
-- change audited.
SET ROLE regress_alice;
SELECT ml_create_project('churn', 'orders', 'amount') > 0 AS created;
SELECT ml_create_project('late orders', 'public.orders', 'late', 'classification',
                         description => 'which orders arrive late');
SELECT name, owner, relation, target, task, description, members, models, deployed_version
FROM ml_projects ORDER BY name;

-- Another analyst sees nothing of alice's projects (row-level security).
SET ROLE regress_bob;
SELECT count(*) AS bob_sees FROM ml_projects;
SELECT count(*) AS bob_sees_rows FROM mlops.projects;
SELECT regress_try($$SELECT ml_update_project('churn', description => 'mine now')$$);

-- Sharing: alice adds bob, who can then see and change the project.
SET ROLE regress_alice;
SELECT ml_add_member('churn', 'regress_bob');
SELECT ml_add_member('churn', 'regress_bob');
SET ROLE regress_bob;
SELECT name, members FROM ml_projects;
SELECT ml_update_project('churn', description => 'predict the amount');
-- Members change a project, but do not manage its membership or drop it.
SELECT regress_try($$SELECT ml_add_member('churn', 'regress_carl')$$);
SELECT regress_try($$SELECT ml_drop_project('churn')$$);

-- Updates: rename, new target, new task.
SET ROLE regress_alice;
SELECT ml_update_project('churn', new_name => 'order value');
SELECT ml_update_project('order value', target => 'category', task => 'classification');
SELECT name, target, task, description FROM ml_projects ORDER BY name;
SELECT ml_remove_member('order value', 'regress_bob');
SET ROLE regress_bob;
SELECT count(*) AS bob_sees_after_removal FROM ml_projects;

-- Engineers and admins see every project; engineers change none.
SET ROLE regress_eve;
SELECT name FROM ml_projects ORDER BY name;
SELECT regress_try($$SELECT ml_update_project('order value', description => 'x')$$);
SET ROLE regress_adam;
SELECT name FROM ml_projects ORDER BY name;
SELECT ml_add_member('late orders', 'regress_bob');
SELECT ml_remove_member('late orders', 'regress_bob');

-- Drop by the owner.
SET ROLE regress_alice;
SELECT ml_drop_project('late orders');
SELECT name FROM ml_projects ORDER BY name;

-- The audit trail: every change above, by whom, with its arguments.
RESET ROLE;
SELECT actor, action, object_type, object_name, details
FROM mlops.audit_log ORDER BY id;
-- Each role sees only its own acts; admins see all.
SET ROLE regress_bob;
SELECT actor, action FROM ml_audit ORDER BY id;
RESET ROLE;
SELECT count(*) AS audit_total FROM mlops.audit_log \gset
SET ROLE regress_adam;
SELECT count(*) = :audit_total AS admin_sees_all FROM ml_audit;
RESET ROLE;
SELECT ml_drop_project('order value');
