-- search_path attacks: a schema placed first in search_path holds hostile
-- look-alikes of the operators and functions our code uses. None of them
-- may ever run, neither while the extension is created nor when any ml_*
-- function is called.
RESET ROLE;
CREATE SCHEMA evil;
CREATE TABLE evil.calls (what text);
GRANT ALL ON SCHEMA evil TO PUBLIC;
GRANT ALL ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.trap(text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO evil.calls VALUES ($1) $$;

-- Hostile operators for every type pair our queries compare.
CREATE FUNCTION evil.eq_text(text, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('=(text,text)'); SELECT $1::bytea = $2::bytea $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq_text);
CREATE FUNCTION evil.eq_name(name, name) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('=(name,name)'); SELECT $1::text::bytea = $2::text::bytea $$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.eq_name);
CREATE FUNCTION evil.eq_int8(bigint, bigint) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('=(bigint,bigint)'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.eq_int8);
CREATE FUNCTION evil.eq_int4(integer, integer) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('=(integer,integer)'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.eq_int4);
CREATE FUNCTION evil.ne_int4(integer, integer) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('<>(integer,integer)'); SELECT $1 OPERATOR(pg_catalog.<>) $2 $$;
CREATE OPERATOR evil.<> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.ne_int4);
-- Hostile functions with the names of ones we call.
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT evil.trap('now()'); SELECT pg_catalog.now() $$;
CREATE FUNCTION evil.format(text, name, name) RETURNS text LANGUAGE sql
    AS $$ SELECT evil.trap('format()'); SELECT 'x' $$;
CREATE FUNCTION evil.jsonb_object(text[]) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT evil.trap('jsonb_object()'); SELECT '{}'::jsonb $$;
CREATE FUNCTION evil.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('pg_has_role()'); SELECT true $$;
CREATE FUNCTION evil.max(integer) RETURNS integer LANGUAGE sql
    AS $$ SELECT evil.trap('max()'); SELECT 1 $$;

-- ... and of the ones the cleaning engine's generated SQL uses.
CREATE FUNCTION evil.ne_tid(tid, tid) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('<>(tid,tid)'); SELECT true $$;
CREATE OPERATOR evil.<> (LEFTARG = tid, RIGHTARG = tid, FUNCTION = evil.ne_tid);
CREATE FUNCTION evil.eq_tid(tid, tid) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.trap('=(tid,tid)'); SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = tid, RIGHTARG = tid, FUNCTION = evil.eq_tid);
CREATE FUNCTION evil.unnest(tid[]) RETURNS SETOF tid LANGUAGE sql
    AS $$ SELECT evil.trap('unnest()'); SELECT NULL::tid $$;
CREATE FUNCTION evil.date_part(text, timestamp) RETURNS double precision LANGUAGE sql
    AS $$ SELECT evil.trap('date_part()'); SELECT 0::float8 $$;
CREATE FUNCTION evil.array_position(text[], text) RETURNS integer LANGUAGE sql
    AS $$ SELECT evil.trap('array_position()'); SELECT 1 $$;
CREATE FUNCTION evil.round(double precision) RETURNS double precision LANGUAGE sql
    AS $$ SELECT evil.trap('round()'); SELECT 0::float8 $$;

-- The traps work: a query under the hostile search_path falls into them.
SET search_path = evil, pg_catalog, public;
SELECT 'a'::text = 'a'::text AS trapped;
SELECT what FROM calls;
DELETE FROM calls;

-- Re-create the extension under the hostile search_path.
DROP EXTENSION pg_mlops;
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops SCHEMA public;
RESET client_min_messages;

-- Call every ml_* function under the hostile search_path, as each role.
SET ROLE regress_alice;
SELECT public.ml_create_project('sec', 'public.orders', 'amount') > 0 AS created;
SELECT public.ml_update_project('sec', description => 'd', task => 'regression');
SELECT public.ml_add_member('sec', 'regress_bob');
SELECT public.ml_remove_member('sec', 'regress_bob');
SELECT count(*) AS visible FROM public.ml_projects;
RESET ROLE;
INSERT INTO mlops.models (project_id, version, algorithm, created_by)
SELECT id, v, 'linear', 'regress_alice' FROM mlops.projects, generate_series(1, 2) v;
SET ROLE regress_alice;
SELECT public.ml_mark_ready('sec', 1);
SELECT public.ml_mark_ready('sec', 2);
SET ROLE regress_eve;
SELECT public.ml_deploy('sec', 1);
SELECT public.ml_deploy('sec');
SELECT public.ml_rollback('sec');
SELECT public.ml_drop_project('sec', force => true);
SET ROLE regress_bob;
SELECT count(*) AS visible FROM public.ml_audit;
-- the cleaning engine, under the same search_path
SET ROLE regress_alice;
CREATE TABLE public.sec_data AS
SELECT i AS id, (ARRAY['a', 'b'])[i % 2 + 1] AS k, CASE WHEN i % 5 OPERATOR(pg_catalog.=) 0 THEN NULL ELSE i % 7 END::float8 AS v,
       '2024-01-01'::timestamp + i * interval '1 hour' AS t
FROM pg_catalog.generate_series(1, 60) i;
SELECT pg_catalog.count(*) AS imputed FROM public.ml_impute('public.sec_data', into_table => 'public.sec_i');
SELECT pg_catalog.count(*) AS cleaned FROM public.ml_clean('public.sec_data', into_table => 'public.sec_c');
SELECT pg_catalog.max(recipe_id) AS rid FROM public.ml_cleaning_report \gset
SELECT pg_catalog.count(*) AS applied FROM public.ml_apply_recipe(:rid, 'public.sec_data', into_table => 'public.sec_a');
SELECT pg_catalog.count(*) AS imported_rejects FROM public.ml_import_csv('public.sec_csv', data => E'a,b\n1,x\n');
SELECT pg_catalog.count(*) AS in_place FROM public.ml_impute('public.sec_data');
RESET ROLE;

-- Not one hostile object ran.
SELECT count(*) AS hostile_calls FROM evil.calls;
SELECT what, count(*) FROM evil.calls GROUP BY 1 ORDER BY 1;
RESET search_path;
DROP SCHEMA evil CASCADE;
