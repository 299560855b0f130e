-- review19: CSV import review (malformed quoting's recovery, domains in
-- option "types"): a malformed first record without a header, the kept
-- rest of a malformed line, domains named in a workflow's import.
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- 1. Without a header, the first record set the column count even when its
-- quoting was malformed (cut short at the bad quote: 2 fields of 3), and
-- every good record after it was rejected ("expected 2 fields, found 3").
-- An unusable record neither counts the columns nor widens their types.
SELECT * FROM ml_import_csv('r19a', data => E'1,"a"x,3\n4,5,6\n7,8,9\n', options => '{"header": false}');
SELECT * FROM r19a ORDER BY 1;
-- only unusable records: each a rejected line (not "no columns")
SELECT * FROM ml_import_csv('r19b', data => E'"a"x,1\n"b"y,2\n', options => '{"header": false}');
SELECT count(*) FROM r19b;
-- the same in delimiter detection: the malformed first record's fields
-- (2, cut short) were the count the others were held to, the semicolon
-- lost, and every line was imported whole into one text column, none
-- rejected
SELECT * FROM ml_import_csv('r19e', data => E'1;"a"x;3\n4;5;6\n7;8;9\n', options => '{"header": false}');
SELECT * FROM r19e ORDER BY 1;

-- 2. The rest of a malformed line kept in the content: cut at 1,000 bytes
-- inside a two-byte character, it ended with a '?' the input did not have;
-- a tab after the closing quote came back as a space.
SELECT line, length(content) AS chars, right(content, 2) = 'éé' AS whole_chars
FROM ml_import_csv('r19c', data => E'a,b\n"x"' || repeat('é', 700) || E',2\n1,2\n');
SELECT line, content = E'x"\t"y",2' AS tab_kept
FROM ml_import_csv('r19d', data => E'a,b\n"x"\t"y",2\n1,2\n');

-- 3. A workflow stored its import's options as given: a domain named
-- without its schema in "types" resolved when the job ran, in the job's
-- session (the owner's default search_path, not the definer's), where
-- another role's domain of that name could stand, its CHECK run as the
-- workflow's owner. The domain is resolved when the workflow is defined.
CREATE SCHEMA r19s;
GRANT USAGE ON SCHEMA r19s TO PUBLIC;
CREATE DOMAIN r19s.r19_pct AS integer CHECK (VALUE BETWEEN 0 AND 100);
SET ROLE regress_alice;
SELECT ml_create_project('r19_p', 'orders', 'amount') > 0 AS created;
SET search_path = r19s, public;
SELECT ml_create_workflow('r19_p', 'r19 import', '[{"kind": "import", "path": "/tmp/r19.csv",
    "into_table": "public.r19_in", "options": {"header": true, "null": ["NA"],
    "types": {"p": "r19_pct", "q": "integer"}}}]') > 0 AS created;
RESET search_path;
SELECT steps -> 0 -> 'options' AS options FROM ml_workflows WHERE name = 'r19 import';
-- a temporary domain is refused (a run's session cannot see it, and
-- another session's temporary schema of that name could hold another's)
CREATE DOMAIN pg_temp.r19_tmp AS integer CHECK (VALUE > 0);
SELECT regress_try($$SELECT ml_create_workflow('r19_p', 'r19 temp', '[{"kind": "import", "path": "/tmp/r19.csv",
    "into_table": "public.r19_in2", "options": {"types": {"p": "r19_tmp"}}}]')$$);
SELECT ml_drop_project('r19_p');
RESET ROLE;
DROP SCHEMA r19s CASCADE;

-- 4. A domain in a schema the caller may not use was "unsupported column
-- type" (the lookup's permission error taken for no domain): now the
-- permission error itself, 42501.
CREATE SCHEMA r19h;
CREATE DOMAIN r19h.r19_hidden AS integer CHECK (VALUE > 0);
SET ROLE regress_alice;
SELECT regress_try($$SELECT * FROM ml_import_csv('r19e', data => E'p\n1\n', options => '{"types": {"p": "r19h.r19_hidden"}}')$$);
RESET ROLE;
DROP SCHEMA r19h CASCADE;
