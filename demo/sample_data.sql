-- A small delivery table with gaps, made in SQL so the demo needs no file:
-- partner counts depend on market and hour of day, market on store.
CREATE TABLE IF NOT EXISTS deliveries AS
SELECT g AS id,
       CASE WHEN g % 97 = 0 THEN NULL ELSE (s % 6) + 1 END AS market_id,
       s AS store_id,
       ts AS created_at,
       (ARRAY['pizza', 'thai', 'burger', 'sushi', 'salad'])[s % 5 + 1] AS category,
       CASE WHEN g % 7 = 0 THEN NULL
            ELSE round(((s % 6) + 1) * 8 * (0.5 + exp(-((extract(hour FROM ts) - 19) ^ 2) / 6.0))
                       + (g * 7919 % 11) - 5) END AS total_onshift_partners,
       1 + g % 5 AS total_items,
       round(900 + 300 * random() + 40 * (1 + g % 5))::integer AS duration_s
FROM generate_series(1, 5000) g,
     LATERAL (SELECT (g * 31) % 200 AS s,
                     timestamptz '2024-03-01' + (g * 7) * interval '1 minute' AS ts) x;
