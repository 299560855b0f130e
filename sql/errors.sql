-- Bad input: clear errors with proper SQLSTATEs, and nothing changes.
SET ROLE regress_alice;
SELECT ml_create_project('keep', 'orders', 'amount') > 0 AS created;
RESET ROLE;
SELECT regress_catalog_digest() AS before \gset
SET ROLE regress_alice;

-- unknown relation (regclass input) and unknown column
SELECT regress_try($$SELECT ml_create_project('x', 'no_such_table', 'amount')$$);
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'no_such_column')$$);
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'Amount')$$);
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'ctid')$$);
-- duplicate name
SELECT regress_try($$SELECT ml_create_project('keep', 'orders', 'amount')$$);
-- bad task, task/type mismatch, empty and NULL arguments
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'amount', 'clustering')$$);
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'category', 'regression')$$);
SELECT regress_try($$SELECT ml_create_project('', 'orders', 'amount')$$);
SELECT regress_try($$SELECT ml_create_project(NULL, 'orders', 'amount')$$);
SELECT regress_try($$SELECT ml_create_project('x', NULL, 'amount')$$);
SELECT regress_try($$SELECT ml_create_project('x', 'orders', NULL)$$);
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'amount', NULL)$$);
-- a relation the caller cannot read, and one that is not a table
RESET ROLE;
CREATE TABLE secret (v numeric);
CREATE SEQUENCE some_seq;
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_create_project('x', 'secret', 'v')$$);
SELECT regress_try($$SELECT ml_create_project('x', 'some_seq', 'last_value')$$);
-- unknown project, and a project hidden by row-level security
SELECT regress_try($$SELECT ml_update_project('nope', description => 'd')$$);
SELECT regress_try($$SELECT ml_drop_project('nope')$$);
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_drop_project('keep')$$);
SELECT regress_try($$SELECT ml_add_member('keep', 'regress_bob')$$);
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_update_project('keep', new_name => '')$$);
SELECT regress_try($$SELECT ml_update_project('keep', target => 'nope')$$);
SELECT regress_try($$SELECT ml_remove_member('keep', 'regress_bob')$$);
SELECT regress_try($$SELECT ml_add_member('keep', 'no_such_role')$$);
SELECT regress_try($$SELECT ml_mark_ready('keep', NULL)$$);
-- the source relation disappears from under the project
RESET ROLE;
CREATE TABLE gone (y numeric);
GRANT SELECT ON gone TO regress_alice;
SET ROLE regress_alice;
SELECT ml_create_project('orphan', 'gone', 'y') > 0 AS created;
RESET ROLE;
DROP TABLE gone;
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_update_project('orphan', target => 'y')$$);
SELECT ml_update_project('orphan', relation => 'orders', target => 'amount');
SELECT ml_drop_project('orphan');

-- roles without the right group get permission errors, PUBLIC nothing
SET ROLE regress_carl;
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'amount')$$);
SELECT regress_try($$SELECT * FROM ml_projects$$);
SELECT regress_try($$SELECT * FROM mlops.projects$$);
SET ROLE regress_nobody;
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'amount')$$);
SELECT regress_try($$SELECT * FROM mlops.audit_log$$);
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_create_project('x', 'orders', 'amount')$$);
-- engineers must not write the catalog directly either
SELECT regress_try($$UPDATE mlops.projects SET target = 'late'$$);
SELECT regress_try($$INSERT INTO mlops.audit_log (actor, action, object_type) VALUES ('x', 'y', 'z')$$);

RESET ROLE;
-- the orphan project's create/update/drop are the only new audit rows
SELECT action FROM mlops.audit_log WHERE object_name = 'orphan' ORDER BY id;
DELETE FROM mlops.audit_log WHERE object_name = 'orphan';
SELECT regress_catalog_digest() = :'before' AS catalog_unchanged;
SELECT ml_drop_project('keep');
