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

-- errors
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', '/etc/hostname')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv1', data => 'a')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"delimiter": "ab"}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"types": {"a": "polygon"}}')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => '')$$);
SELECT regress_try($$SELECT * FROM ml_import_csv('csv5', data => 'a', options => '{"sep": ","}')$$);
RESET ROLE;

-- a server file, for a role PostgreSQL lets read server files
COPY (SELECT i, i * 1.5 AS half FROM generate_series(1, 3) i) TO '/tmp/pg_mlops_regress.csv' CSV HEADER;
SELECT * FROM ml_import_csv('csv_file', '/tmp/pg_mlops_regress.csv');
SELECT * FROM csv_file ORDER BY i;
