-- The large-table path (fitted on a sample, filled chunk by chunk) agrees
-- with the in-memory one: one table, cleaned with the default
-- maintenance_work_mem and with 1MB (its frame then exceeds three quarters
-- of the budget, MlFrameTooLarge). The recipe of a sampled run has a
-- "sample" step (rows fitted on, of how many), which proves the path taken.
SET ROLE regress_alice;
-- v: group mean (k) plus a noise of mean 0, u: no structure, c: red half
-- the time (the mode), then 1/3 blue and 1/6 green; 40 duplicate rows
CREATE TABLE lc AS
SELECT i AS id, (ARRAY['x', 'y', 'z'])[i % 3 + 1] AS k,
       ((i % 3) * 10.5 + ((i::bigint * 7919) % 11 - 5) * 0.1)::float8 AS v,
       (((i::bigint * 104729) % 1000) / 100.0)::float8 AS u,
       CASE WHEN i % 2 = 0 THEN 'red' WHEN i % 3 = 0 THEN 'green' ELSE 'blue' END AS c
FROM generate_series(1, 30000) i;
UPDATE lc SET v = NULL WHERE id % 10 = 1;
UPDATE lc SET u = NULL WHERE id % 7 = 2;
UPDATE lc SET c = NULL WHERE id % 9 = 4;
INSERT INTO lc SELECT * FROM lc WHERE id <= 40;           -- 40 duplicates
RESET ROLE;
VACUUM ANALYZE lc;
SET ROLE regress_alice;

\set opts '{"outliers": false, "polish": false, "encode": false, "missing": {"methods": {"v": "groupwise", "u": "mean", "c": "mode"}, "by": ["k"]}}'
-- (the counts in the report are masked: the two paths count differently,
-- see below)
SELECT column_name, nulls_after, regexp_replace(actions, '\d+', 'N') AS actions
FROM ml_clean('lc', :'opts', into_table => 'lc_mem') ORDER BY 1;
SET maintenance_work_mem = '1MB';
SELECT column_name, nulls_after, regexp_replace(actions, '\d+', 'N') AS actions
FROM ml_clean('lc', :'opts', into_table => 'lc_big') ORDER BY 1;
RESET maintenance_work_mem;

-- the path each run took: only the second has a sample step, of every
-- (distinct) row, fitted on fewer
SELECT s->>'step' AS step, (s->>'rows')::bigint < (s->>'of')::bigint AS fewer_rows,
       (s->>'of')::bigint AS of_rows
FROM (SELECT steps FROM mlops.recipes WHERE source_name = 'lc' ORDER BY id) r,
     jsonb_array_elements(r.steps) s
WHERE s->>'step' IN ('sample', 'duplicates');

-- same columns, same rows
SELECT array_agg(column_name::text ORDER BY column_name) AS columns
FROM information_schema.columns WHERE table_name = 'lc_mem';
SELECT (SELECT array_agg(column_name::text ORDER BY column_name)
        FROM information_schema.columns WHERE table_name = 'lc_mem') =
       (SELECT array_agg(column_name::text ORDER BY column_name)
        FROM information_schema.columns WHERE table_name = 'lc_big') AS same_columns;
SELECT (SELECT count(*) FROM lc_mem) AS mem_rows, (SELECT count(*) FROM lc_big) AS big_rows,
       (SELECT count(*) FROM lc_mem m FULL JOIN lc_big b USING (id)
        WHERE m.id IS NULL OR b.id IS NULL) AS unmatched_ids;
-- cells that were not missing are identical; fills agree: the groupwise
-- and mean fills within 0.1 (the noise is +-0.5, the groups 10.5 apart),
-- the mode fill exactly (group means within 0.25: the sample is small at 1MB, so
-- its group-wise fills shrink further towards the global mean)
SELECT count(*) AS rows, count(*) FILTER (WHERE m.k IS DISTINCT FROM b.k) AS k_differ,
       count(*) FILTER (WHERE s.v IS NOT NULL AND m.v IS DISTINCT FROM b.v) AS v_observed_differ,
       count(*) FILTER (WHERE s.v IS NULL AND abs(m.v - b.v) >= 0.25) AS v_fills_apart,
       count(*) FILTER (WHERE s.v IS NULL AND (m.v IS NULL OR b.v IS NULL)) AS v_unfilled,
       count(*) FILTER (WHERE s.u IS NOT NULL AND m.u IS DISTINCT FROM b.u) AS u_observed_differ,
       count(*) FILTER (WHERE s.u IS NULL AND abs(m.u - b.u) >= 0.1) AS u_fills_apart,
       count(*) FILTER (WHERE s.c IS NOT NULL AND m.c IS DISTINCT FROM b.c) AS c_observed_differ,
       count(*) FILTER (WHERE s.c IS NULL AND m.c IS DISTINCT FROM b.c) AS c_fills_differ,
       count(*) FILTER (WHERE s.c IS NULL AND m.c IS NULL) AS c_unfilled
FROM (SELECT DISTINCT * FROM lc) s JOIN lc_mem m USING (id) JOIN lc_big b USING (id);
-- and the fills are the right ones: v its group's mean (0, 10.5, 21),
-- u the overall mean (5.0), c the most frequent level (red)
SELECT m.k, round(avg(m.v)::numeric, 1) AS mem_v_fill, round(avg(b.v)::numeric, 1) AS big_v_fill
FROM lc s JOIN lc_mem m USING (id) JOIN lc_big b USING (id)
WHERE s.id > 40 AND s.v IS NULL GROUP BY m.k ORDER BY m.k;
SELECT round(avg(m.u)::numeric, 1) AS mem_u_fill, round(avg(b.u)::numeric, 1) AS big_u_fill
FROM lc s JOIN lc_mem m USING (id) JOIN lc_big b USING (id) WHERE s.id > 40 AND s.u IS NULL;
SELECT string_agg(DISTINCT m.c, ',') AS mem_c_fill, string_agg(DISTINCT b.c, ',') AS big_c_fill
FROM lc s JOIN lc_mem m USING (id) JOIN lc_big b USING (id) WHERE s.id > 40 AND s.c IS NULL;

-- Not pinned here, reported: the two paths count differently when
-- duplicates are removed. In memory, u reports nulls_before 4292 (the
-- source's gaps, duplicates included: right) and "filled 4292" (wrong: the
-- output has 4286 filled cells, the other 6 were in dropped duplicates);
-- the sampled path reports nulls_before 4286 (wrong: the source has 4292)
-- and filled 4286 (right).
RESET ROLE;
