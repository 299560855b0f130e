-- Row-level security: an analyst sees and changes only projects they own
-- or belong to; engineers and admins see all; consumers see none.
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(19);

CREATE ROLE tap_ann IN ROLE ml_analyst;
CREATE ROLE tap_ben IN ROLE ml_analyst;
CREATE ROLE tap_eng IN ROLE ml_engineer;
CREATE ROLE tap_con IN ROLE ml_consumer;
CREATE TABLE tap_sales (amount numeric, region text);
GRANT SELECT ON tap_sales TO ml_analyst;

SET LOCAL ROLE tap_ann;
SELECT lives_ok($$SELECT ml_create_project('ann''s project', 'tap_sales', 'amount')$$,
                'an analyst creates a project');
SELECT results_eq($$SELECT name FROM ml_projects$$, ARRAY['ann''s project'],
                  'the owner sees the project');

SET LOCAL ROLE tap_ben;
SELECT is_empty($$SELECT * FROM ml_projects$$, 'another analyst does not see it in ml_projects');
SELECT is_empty($$SELECT * FROM mlops.projects$$, 'nor in the catalog table');
SELECT is_empty($$SELECT * FROM mlops.audit_log$$, 'nor its audit rows');
SELECT throws_ok($$SELECT ml_update_project('ann''s project', description => 'x')$$,
                 '42704', NULL, 'and cannot change it: it does not exist for him');

-- Nor can he learn anything about it through the access function of the
-- policies: it answers for the caller only, and a hidden project is
-- answered like a missing one (0.1.0 answered for any role it was given).
RESET ROLE;
SELECT id AS ann_id FROM mlops.projects WHERE name = 'ann''s project' \gset
SET LOCAL ROLE tap_ben;
SELECT is(mlops.project_access(:ann_id), NULL,
          'the access function tells an analyst nothing about a project hidden from him');
SELECT is(mlops.project_access(-1), NULL, 'exactly as about a project that does not exist');
SELECT throws_ok(format('SELECT mlops.project_access(%s, %L)', :ann_id, 'tap_ann'), '42883', NULL,
                 'nor can he ask how another role reaches a project');
SET LOCAL ROLE tap_ann;
SELECT is(mlops.project_access(:ann_id), 'owner', 'the owner is told she owns it');

SET LOCAL ROLE tap_ann;
SELECT lives_ok($$SELECT ml_add_member('ann''s project', 'tap_ben')$$, 'the owner shares it');
SET LOCAL ROLE tap_ben;
SELECT results_eq($$SELECT name FROM ml_projects$$, ARRAY['ann''s project'],
                  'a member sees the project');
SELECT lives_ok($$SELECT ml_update_project('ann''s project', description => 'shared')$$,
                'a member changes it');
SELECT is(mlops.project_access(:ann_id), 'member', 'a member is told he is a member');

SET LOCAL ROLE tap_eng;
SELECT results_eq($$SELECT name FROM ml_projects$$, ARRAY['ann''s project'],
                  'an engineer sees every project');
SELECT is(mlops.project_access(:ann_id), 'engineer', 'an engineer is told he sees it as an engineer');
SELECT throws_ok($$SELECT ml_update_project('ann''s project', description => 'x')$$,
                 '42501', NULL, 'but cannot change its definition');

SET LOCAL ROLE tap_con;
-- (ml_published_reports asks it for its reader, so consumers may call it)
SELECT is(mlops.project_access(:ann_id), NULL,
          'the access function tells a consumer nothing about a project it cannot see');
SELECT throws_ok($$SELECT * FROM mlops.projects$$, '42501', NULL,
                 'a consumer cannot read the project catalog');

RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
