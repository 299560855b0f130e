-- A KNN recipe carries reference rows of its source: it is shown only to
-- its creator and to roles that may read the source relation. Engineers
-- see every project, admins every recipe, but neither learns source rows
-- they cannot SELECT.
SET ROLE regress_alice;
CREATE TABLE ra_secret (id int, a float8, b float8);
INSERT INTO ra_secret SELECT i, i * 1.5, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 3.25 END
FROM generate_series(1, 40) i;
SELECT ml_create_project('ra project', 'ra_secret', 'a', 'regression') > 0 AS created;
SELECT DISTINCT recipe_id AS knn_recipe
FROM ml_impute('ra_secret', '{b}', 'knn', into_table => 'ra_knn') \gset
SELECT DISTINCT recipe_id AS mean_recipe
FROM ml_impute('ra_secret', '{b}', 'mean', into_table => 'ra_mean') \gset
-- the creator sees both; the KNN one is flagged as holding rows
SELECT id = :knn_recipe AS is_knn, holds_rows FROM mlops.recipes
WHERE id IN (:knn_recipe, :mean_recipe) ORDER BY id;
RESET ROLE;

-- an engineer and an admin, without SELECT on the source: the mean recipe
-- only; the KNN recipe cannot be read or applied
SET ROLE regress_eve;
SELECT count(*) FILTER (WHERE id = :knn_recipe) AS knn_seen,
       count(*) FILTER (WHERE id = :mean_recipe) AS mean_seen
FROM mlops.recipes;
SELECT count(*) AS reference_rows_seen FROM mlops.recipes WHERE steps::text LIKE '%reference_y%';
RESET ROLE;
SET ROLE regress_adam;
SELECT count(*) FILTER (WHERE id = :knn_recipe) AS knn_seen,
       count(*) FILTER (WHERE id = :mean_recipe) AS mean_seen
FROM mlops.recipes;
RESET ROLE;

-- granted SELECT on the source, the admin sees it
GRANT SELECT ON ra_secret TO regress_adam;
SET ROLE regress_adam;
SELECT count(*) AS knn_seen FROM mlops.recipes WHERE id = :knn_recipe;
RESET ROLE;
REVOKE SELECT ON ra_secret FROM regress_adam;

-- a dropped source: nobody but the creator sees the rows
SET ROLE regress_alice;
DROP TABLE ra_knn, ra_mean;
SELECT ml_drop_project('ra project');
DROP TABLE ra_secret;
SELECT count(*) AS knn_seen_by_creator FROM mlops.recipes WHERE id = :knn_recipe;
RESET ROLE;
SET ROLE regress_adam;
SELECT count(*) AS knn_seen FROM mlops.recipes WHERE id = :knn_recipe;
RESET ROLE;

-- a table re-created under the dropped source's name is another relation:
-- it does not unlock the rows, even for a role that may read it
SET ROLE regress_alice;
CREATE TABLE ra_secret (id int, a float8, b float8);
GRANT SELECT ON ra_secret TO regress_adam;
RESET ROLE;
SET ROLE regress_adam;
SELECT count(*) AS knn_seen_after_recreate FROM mlops.recipes WHERE id = :knn_recipe;
RESET ROLE;
SET ROLE regress_alice;
DROP TABLE ra_secret;
RESET ROLE;
