-- ml_import_csv: libcsv parsing, type inference, NULL markers, rejected
-- lines with their line numbers, server files only for those allowed.
SET ROLE regress_alice;
SELECT * FROM ml_import_csv('csv1', data => $csv$id,price,ok,seen,name,"Odd ""col"""
1,9.5,true,2024-01-02 10:00:00,"Smith, Jane",x
2,10,false,2024-01-03,plain,y
3,NA,yes,,"multi
line",z
4,11.25,no,2024-01-05 08:30,NULL,w
5,oops,true,2024-01-06,extra,v,surplus
$csv$, options => '{"infer_rows": 4}');
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'csv1' ORDER BY ordinal_position;
SELECT * FROM csv1 ORDER BY id;

-- a value that does not fit the type inferred from the first rows
SELECT * FROM ml_import_csv('csv2', data => E'a;b\n1;x\n2;y\nthree;z\n4;\n', options => '{"delimiter": ";", "infer_rows": 2}');
SELECT * FROM csv2 ORDER BY a;

-- no header, empty and duplicate header names, declared types
SELECT * FROM ml_import_csv('csv3', data => E'1,2\n3,4\n', options => '{"header": false}');
SELECT column_name FROM information_schema.columns WHERE table_name = 'csv3' ORDER BY ordinal_position;
SELECT * FROM ml_import_csv('csv4', data => E'x,,x\n1,2,3\n', options => '{"types": {"x": "numeric"}}');
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'csv4' ORDER BY ordinal_position;

-- a UTF-8 byte order mark is not part of the first column's name
SELECT * FROM ml_import_csv('csv_bom', data => E'\xEF\xBB\xBFid,x\n1,2\n');
SELECT column_name FROM information_schema.columns WHERE table_name = 'csv_bom' ORDER BY ordinal_position;

-- the delimiter is detected when not given: semicolon, tab, pipe
SELECT * FROM ml_import_csv('csv_semi', data => E'name;note\n"Smith, J";"a;b"\nx;y\n');
SELECT * FROM csv_semi ORDER BY name;
SELECT * FROM ml_import_csv('csv_tab', data => E'a\tb\tc\n1\t\t3\n4\t5\t6\n');
SELECT * FROM csv_tab ORDER BY a;
SELECT * FROM ml_import_csv('csv_pipe', data => E'a|b\n1|x\n2|y\n');
SELECT * FROM csv_pipe ORDER BY a;
-- quoted fields are respected: the semicolons are inside quotes, comma it is
SELECT * FROM ml_import_csv('csv_quoted', data => E'"a;b;c",d\n"x;y;z",4\n"p;q;r",8\n');
SELECT * FROM csv_quoted ORDER BY d;

-- decimal comma: the delimiter cannot be a comma then, semicolon is detected
SELECT * FROM ml_import_csv('csv_dec', data => E'x;name\n1,5;"Smith, J"\n-0,25;plain\n3;x\n', options => '{"decimal": ","}');
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'csv_dec' ORDER BY ordinal_position;
SELECT * FROM csv_dec ORDER BY x;

-- cells out of their column's range, bad timestamps: rejected lines, never an aborted import
SELECT * FROM ml_import_csv('csv_range', data => E'id,v,n,t\n1,1.5,7,2024-01-02\n2,1e400,8,2024-01-03\n3,2.5,99999999999999999999,2024-01-04\n4,3.5,9,2024-01-05 foo/bar\n5,1e-400,10,2024-02-30\n6,4.5,11,2024-01-06\n', options => '{"infer_rows": 1}');
SELECT * FROM csv_range ORDER BY id;
SELECT * FROM ml_import_csv('csv_declared', data => E'a,b\n1,1.5\n3000000000,2\n2,1e5000\n', options => '{"types": {"a": "integer", "b": "numeric"}}');
SELECT * FROM csv_declared ORDER BY a;
-- a declared date takes dates to 5874897 AD (beyond timestamp's range, which
-- refused them), and refuses a time of day or a zone, which date would drop
-- without a word (10:30 on January 2nd became January 2nd)
SELECT * FROM ml_import_csv('csv_dates', data => E'd\n2024-01-02\n300000-01-01\n2024-01-02 10:30\n2024-01-02 00:00:00\n5874898-01-01\n2024-01-02+05\nsoon\n',
                            options => '{"types": {"d": "date"}}');
SELECT d FROM csv_dates ORDER BY d;
-- a text column whose sample holds a time-zone-like word, and integers beyond bigint
SELECT * FROM ml_import_csv('csv_texty', data => E'a,big\n2024-01-02 foo/bar,99999999999999999999\nplain,12345678901234567890123\n');
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'csv_texty' ORDER BY ordinal_position;

-- line numbers count blank lines and CRLF line ends
SELECT * FROM ml_import_csv('csv_lines', data => E'a,b\n\n1,2\n\r\nx,y,z\n');
SELECT * FROM ml_import_csv('csv_crlf', data => E'a,b\r\n1,2\r\nx,y,z\r\n');

-- an import that fails leaves no table behind
SELECT regress_try($$SELECT * FROM ml_import_csv('csv_fail', data => E'a,b\n1,2\n3,"x\n4,5\n', options => '{"infer_rows": 1}')$$);
SELECT to_regclass('csv_fail') IS NULL AS no_table;

-- errors
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', '/etc/hostname')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv1', data => 'a')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"delimiter": "ab"}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"types": {"a": "polygon"}}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => '')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"sep": ","}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"decimal": ",,"}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"decimal": ";"}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"decimal": ",", "delimiter": ","}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"delimiter": "\""}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"delimiter": "\n"}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"header": "yes"}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"null": 5}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"infer_rows": 0}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"infer_rows": 2.5}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"infer_rows": 1e300}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => E'a\n1\n', options => '{"types": {"b": "text"}}')$$);
SELECT to_regclass('csv5') IS NULL AS no_table;
RESET ROLE;

-- a server file, for a role PostgreSQL lets read server files
COPY (SELECT i, i * 1.5 AS half FROM generate_series(1, 3) i) TO '/tmp/pg_mlops_regress.csv' CSV HEADER;
SELECT * FROM ml_import_csv('csv_file', '/tmp/pg_mlops_regress.csv');
SELECT * FROM csv_file ORDER BY i;

-- a file whose bytes are not valid in the database encoding: rejected lines, shown with '?'
COPY (SELECT 'café' AS name UNION ALL SELECT 'plain') TO '/tmp/pg_mlops_regress_latin1.csv' WITH (FORMAT csv, HEADER, ENCODING 'LATIN1');
SELECT * FROM ml_import_csv('csv_latin1', '/tmp/pg_mlops_regress_latin1.csv');
SELECT * FROM csv_latin1;
