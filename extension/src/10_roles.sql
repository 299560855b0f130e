-- Group roles are cluster-wide: they may already exist because the
-- extension was created in another database of the same cluster, so
-- create only the missing ones and never drop them with the extension.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ml_consumer', 'ml_analyst', 'ml_engineer', 'ml_admin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- Engineers expose scoring, so they can score themselves; admins can
    -- act as analysts and engineers.
    IF NOT pg_catalog.pg_has_role('ml_engineer', 'ml_consumer', 'MEMBER') THEN
        GRANT ml_consumer TO ml_engineer;
    END IF;
    IF NOT pg_catalog.pg_has_role('ml_admin', 'ml_analyst', 'MEMBER') THEN
        GRANT ml_analyst TO ml_admin;
    END IF;
    IF NOT pg_catalog.pg_has_role('ml_admin', 'ml_engineer', 'MEMBER') THEN
        GRANT ml_engineer TO ml_admin;
    END IF;
END
$roles$;
