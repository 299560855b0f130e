-- Row-level security: an analyst sees and changes only projects they own
-- or belong to; engineers and admins see all; consumers see none.
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(12);

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

SET LOCAL ROLE tap_ann;
SELECT lives_ok($$SELECT ml_add_member('ann''s project', 'tap_ben')$$, 'the owner shares it');
SET LOCAL ROLE tap_ben;
SELECT results_eq($$SELECT name FROM ml_projects$$, ARRAY['ann''s project'],
                  'a member sees the project');
SELECT lives_ok($$SELECT ml_update_project('ann''s project', description => 'shared')$$,
                'a member changes it');

SET LOCAL ROLE tap_eng;
SELECT results_eq($$SELECT name FROM ml_projects$$, ARRAY['ann''s project'],
                  'an engineer sees every project');
SELECT throws_ok($$SELECT ml_update_project('ann''s project', description => 'x')$$,
                 '42501', NULL, 'but cannot change its definition');

SET LOCAL ROLE tap_con;
SELECT throws_ok($$SELECT * FROM mlops.projects$$, '42501', NULL,
                 'a consumer cannot read the project catalog');

RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
