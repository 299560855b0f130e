-- Review 9: the cached replay of a recipe's fill steps (features_replay.c),
-- the chain's categorical members, the blend's weight and the fills kept
-- as the column holds them. Errors are shown by SQLSTATE (and our own
-- message where it names the damage), so the expected output is stable.
SET client_min_messages = warning;
CREATE FUNCTION r9_try(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
BEGIN
    EXECUTE cmd;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
    RETURN SQLSTATE || ': ' || regexp_replace(msg, 'recipe \d+', 'recipe N', 'g');
END
$$;

-- 1. A numeric fill at the edge of double precision: kept as the column
-- holds it, float8 to numeric's 15 digits rounds 1.7976931348623157e308
-- past the largest double; reading that back with numeric_float8 failed the
-- whole ml_impute ("... is out of range for type double precision", with
-- all 309 digits). Fixed on main by 1701350 (found by this review too):
-- such a fill is left missing and counted out of range.
CREATE TABLE r9_big (id int, x numeric, y numeric(400, 0));
INSERT INTO r9_big VALUES (1, 1.7976931348623157e308, 1.7976931348623157e308),
                          (2, 1.7976931348623157e308, 1.7976931348623157e308), (3, NULL, NULL);
SELECT column_name, method, filled
FROM ml_impute('r9_big', ARRAY['x', 'y'], 'median', into_table => 'r9_big_out') ORDER BY 1;
SELECT id, x > 1.79e308 AS x_big, y > 1.79e308 AS y_big FROM r9_big_out ORDER BY id;
