-- Review of hostile CSV input and timestamp texts (attack4): words after a
-- date that PostgreSQL 15's date parser takes for a zone name, zones that
-- timestamp would drop, codes with leading zeros, system column names in
-- a header, records too wide for a table row.
\set VERBOSITY sqlstate
SET client_min_messages = notice;
SET TimeZone = 'UTC';

-- 1. A word after a date that names no zone ("2024-01-01 c5a880faf6", a
-- hash) made DecodeDateTime raise 22023 "time zone not recognized": the
-- never-failing cast raised it, ml_clean's polish step on such a column
-- failed, and so did ml_import_csv. Now such a text is not a timestamp;
-- dates that begin with a word ("jan-02-2024") still are.
SELECT s, mlops.try_cast_timestamp(s) AS ts
FROM unnest(ARRAY['2024-01-01 c5a880faf6', 'jan-02-2024', '2024-01-02 10:00 foo/bar',
                  '2024-01-02 10:00 America/New_York', 'Jan 2 2024 c5', 'A1234']) s;
CREATE TABLE r14_pol (id int, s text);
INSERT INTO r14_pol SELECT g, CASE WHEN g % 2 = 0 THEN '2024-01-01 c5a880faf6' ELSE '2024-01-02' END
FROM generate_series(1, 20) g;
SELECT column_name, kind FROM ml_clean('r14_pol', '{"roles": {"id": "identifier"}}', 'r14_pol_out');
SELECT * FROM ml_import_csv('r14_hash', data => E'code\n2024-01-01 c5a880faf6\n2024-01-02 x\n');
SELECT atttypid::regtype FROM pg_attribute WHERE attrelid = 'r14_hash'::regclass AND attname = 'code';

-- 2. A zone in a cell: timestamp without time zone dropped it, so two
-- instants five hours apart were imported as one time, without a word.
-- A zone in the sample makes the column timestamp with time zone; a
-- column declared timestamp (or date) refuses a zoned cell.
SELECT * FROM ml_import_csv('r14_tz', data => E't\n2024-01-01T10:00:00+05:00\n2024-01-01T10:00:00Z\n2024-01-01 10:00\n');
SELECT atttypid::regtype FROM pg_attribute WHERE attrelid = 'r14_tz'::regclass AND attname = 't';
SELECT t FROM r14_tz ORDER BY t;
SELECT * FROM ml_import_csv('r14_tz2', data => E't\n2024-01-01 10:00\n2024-01-01 10:00+05\n',
                            options => '{"infer_rows": 1}');
SELECT * FROM ml_import_csv('r14_tz3', data => E't,d\n2024-01-01 10:00+05,2024-01-01\n2024-01-01,2024-01-01 00:00+05\n',
                            options => '{"types": {"t": "timestamp", "d": "date"}}');
SELECT * FROM ml_import_csv('r14_tz4', data => E't\n2024-01-01 10:00+05\n294276-12-31 23:00-05\n',
                            options => '{"types": {"t": "timestamptz"}}');
SELECT t FROM r14_tz4;

-- 3. Codes with leading zeros ("01234", a ZIP code) were inferred as
-- bigint and lost their zeros; they stay text, as frames read them.
SELECT * FROM ml_import_csv('r14_zip', data => E'zip,n,f\n01234,1,0.5\n00501,2,1.5\n');
SELECT attname, atttypid::regtype FROM pg_attribute
WHERE attrelid = 'r14_zip'::regclass AND attnum > 0 ORDER BY attnum;
SELECT zip FROM r14_zip ORDER BY zip;

-- 4. A header naming a system column ("xmin", "ctid") failed the import
-- with 42701 from our CREATE TABLE; such a name is taken, as a duplicate is.
SELECT * FROM ml_import_csv('r14_sys', data => E'xmin,ctid,a,tableoid\n1,2,3,4\n');
SELECT attname FROM pg_attribute WHERE attrelid = 'r14_sys'::regclass AND attnum > 0 ORDER BY attnum;

-- 5. A record too wide for a table row (1024 bigints: 8216 bytes) failed
-- the whole import with 54000 "row is too big" from our INSERT; it is
-- rejected with its line, and a narrower record of the same file (NULLs
-- take no room) imported. 400 long texts fit, TOAST moving them out.
SELECT line, reason FROM ml_import_csv('r14_wide',
    data => (SELECT string_agg('c' || g, ',') FROM generate_series(1, 1024) g) || E'\n' ||
            (SELECT string_agg(g::text, ',') FROM generate_series(1, 1024) g) || E'\n' ||
            (SELECT string_agg(CASE WHEN g <= 100 THEN '' ELSE g::text END, ',') FROM generate_series(1, 1024) g) || E'\n');
SELECT count(*) FROM r14_wide;
SELECT line, reason FROM ml_import_csv('r14_wide2',
    data => (SELECT string_agg('c' || g, ',') FROM generate_series(1, 500) g) || E'\n' ||
            (SELECT string_agg(repeat('x', 100), ',') FROM generate_series(1, 500) g) || E'\n' ||
            (SELECT string_agg(CASE WHEN g <= 100 THEN '' ELSE repeat('y', 100) END, ',') FROM generate_series(1, 500) g) || E'\n');
SELECT count(*) FROM r14_wide2;

-- 6. A class label holding a C0 control character (E'\x01', an escape
-- E'\x1b'): libxml2 wrote it into the charts as it is, and XML 1.0 has no
-- such character, so every chart naming the label was an SVG that does
-- not parse, an image never drawn. It becomes U+FFFD.
CREATE TABLE r14_lab AS
SELECT i AS id, (i % 13)::float8 AS a, (i % 4)::float8 AS b,
       CASE WHEN i % 3 = 0 THEN E'ctl\x01<x>' WHEN i % 3 = 1 THEN E'esc\x1b' ELSE 'plain' END AS lab
FROM generate_series(1, 300) i;
SELECT ml_create_project('r14_lab', 'r14_lab', 'lab', 'classification') > 0 AS created;
SELECT version FROM ml_train('r14_lab', 'logistic', options => '{"exclude": ["id"]}');
SELECT ml_report('r14_lab', 'model') AS r14_rep \gset
SELECT count(*) > 0 AS charts, bool_and(xml_is_well_formed_document(svg)) AS well_formed,
       bool_and(strpos(svg, E'\x01') = 0) AS no_control, bool_or(strpos(svg, 'ctl' || chr(65533) || '&lt;x&gt;') > 0) AS replaced
FROM (SELECT convert_from(decode(m[1], 'base64'), 'UTF8') AS svg
      FROM mlops.reports, regexp_matches(html, 'data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)', 'g') m
      WHERE id = :r14_rep) c;

-- 7. The polish step cast a text column of timestamps to timestamp even
-- when they named zones: instants five hours apart became one time. Such
-- a column stays text.
CREATE TABLE r14_zoned (id int, at text, plain text);
INSERT INTO r14_zoned SELECT g, '2024-01-01T10:00:00' || CASE WHEN g % 2 = 0 THEN '+05:00' ELSE 'Z' END,
       '2024-01-0' || (g % 9 + 1) FROM generate_series(1, 20) g;
SELECT column_name, actions FROM ml_clean('r14_zoned', '{"roles": {"id": "identifier"}, "encode": false}', 'r14_zoned_out')
ORDER BY column_name;
SELECT attname, atttypid::regtype FROM pg_attribute
WHERE attrelid = 'r14_zoned_out'::regclass AND attname IN ('at', 'plain') ORDER BY attname;
SELECT count(DISTINCT at) AS instants FROM r14_zoned_out;

-- 8. 1,024 equal names in a header: each column tried every suffix
-- against every name before it (about a second); now hashed. The names
-- are as before: the first free suffix of their base.
SELECT count(*) FROM ml_import_csv('r14_same', data => (SELECT string_agg(CASE WHEN g = 5 THEN 'a_3' ELSE 'a' END, ',')
    FROM generate_series(1, 1024) g) || E'\n1' || repeat(',1', 1023) || E'\n');
SELECT string_agg(attname, ' ' ORDER BY attnum) FILTER (WHERE attnum <= 7) AS first,
       max(attname) FILTER (WHERE attnum = 1024) AS last, count(DISTINCT attname) AS distinct_names
FROM pg_attribute WHERE attrelid = 'r14_same'::regclass AND attnum > 0;

-- 9. Whole numbers double precision cannot hold were rounded without a
-- word: ids beyond bigint became doubles (neighbours collided), and a
-- bigint beyond 2^53 in a column with a fraction read as its neighbour.
-- Such columns are numeric; a double column refuses such a cell later on.
SELECT * FROM ml_import_csv('r14_big', data => E'id,mixed,small\n12345678901234567890123,9007199254740993,1\n12345678901234567890124,1.5,2.5\n');
SELECT attname, atttypid::regtype FROM pg_attribute
WHERE attrelid = 'r14_big'::regclass AND attnum > 0 ORDER BY attnum;
SELECT id, mixed FROM r14_big ORDER BY id;
SELECT * FROM ml_import_csv('r14_big2', data => E'f\n1.5\n9007199254740993\n9007199254740992\n100000000000000000000\n',
                            options => '{"infer_rows": 1}');
SELECT f FROM r14_big2 ORDER BY f;
