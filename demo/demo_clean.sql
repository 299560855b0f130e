\echo
\echo '== analyst: impute the gaps (auto picks a method per column and reports its held-out error)'
SELECT column_name, filled, method, metric, round(estimated_error::numeric, 3) AS error
FROM ml_impute('deliveries', into_table => 'deliveries_filled');

\echo
\echo '== analyst: the whole cleaning pipeline into a new table'
SELECT column_name, nulls_before, nulls_after, actions, new_columns
FROM ml_clean('deliveries', into_table => 'deliveries_clean');
SELECT recipe_id AS clean_recipe FROM ml_cleaning_report ORDER BY recipe_id DESC LIMIT 1 \gset
\echo
\echo '== the cleaning report, kept as a view for people and BI tools'
SELECT column_name, column_kind, nulls_before, filled, fill_method, outliers, encoding
FROM ml_cleaning_report WHERE recipe_id = :clean_recipe ORDER BY column_name;
