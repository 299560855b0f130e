-- Shared set-up for the pg_regress suite: the extension, one login role per
-- pg_mlops group role, sample tables, and two helpers.
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
-- No timing-dependent progress NOTICEs in any test's output: a slow machine
-- must not change what a test prints (each test file is a new session).
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET pg_mlops.progress_interval = 0', current_database()); END $$;

DROP ROLE IF EXISTS regress_alice, regress_bob, regress_eve, regress_adam,
                    regress_carl, regress_nobody;
CREATE ROLE regress_alice LOGIN IN ROLE ml_analyst;   -- analyst
CREATE ROLE regress_bob LOGIN IN ROLE ml_analyst;     -- another analyst
CREATE ROLE regress_eve LOGIN IN ROLE ml_engineer;    -- engineer
CREATE ROLE regress_adam LOGIN IN ROLE ml_admin;      -- admin
CREATE ROLE regress_carl LOGIN IN ROLE ml_consumer;   -- consumer
CREATE ROLE regress_nobody LOGIN;                     -- PUBLIC only
RESET client_min_messages;

CREATE TABLE orders (
    id        integer PRIMARY KEY,
    amount    numeric,
    late      boolean,
    category  text,
    placed_at timestamptz
);
INSERT INTO orders
SELECT g, g * 1.5, g % 3 = 0, (ARRAY['a', 'b', 'c'])[g % 3 + 1],
       '2024-01-01'::timestamptz + g * interval '1 hour'
FROM generate_series(1, 20) g;
GRANT SELECT ON orders TO ml_analyst;
GRANT CREATE ON SCHEMA public TO ml_analyst;

-- Run a statement and show its outcome with the SQLSTATE, so the expected
-- output pins the error code as well as the message.
CREATE FUNCTION regress_try(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hint text;
BEGIN
    EXECUTE cmd;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN st || ': ' || msg
        || coalesce(nullif(' DETAIL: ' || det, ' DETAIL: '), '')
        || coalesce(nullif(' HINT: ' || hint, ' HINT: '), '');
END
$$;

-- A digest of every catalog row, to show that failed calls change nothing.
CREATE FUNCTION regress_catalog_digest() RETURNS text
LANGUAGE sql AS $$
    SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
        SELECT 'p' || p::text AS t FROM mlops.projects p
        UNION ALL SELECT 'm' || m::text FROM mlops.project_members m
        UNION ALL SELECT 'o' || o::text FROM mlops.models o
        UNION ALL SELECT 'd' || d::text FROM mlops.deployments d
        UNION ALL SELECT 'a' || a::text FROM mlops.audit_log a
        UNION ALL SELECT 'r' || r::text FROM mlops.recipes r
        UNION ALL SELECT 'x' || (t.project_id, t.version, t.trial, t.rung, t.status)::text
                  FROM mlops.trials t
    ) s
$$;
