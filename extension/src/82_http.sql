-- API keys and the HTTP endpoint (0.3.0). The endpoint is a background
-- worker (src/api/http_server.c), off unless pg_mlops.http_port is set; it
-- authenticates a request's key against mlops.api_keys and scores as the
-- key's consumer role through ml_predict (docs/http.md).

CREATE TABLE mlops.api_keys (
    id           bigserial PRIMARY KEY,
    prefix       text NOT NULL UNIQUE CHECK (prefix OPERATOR(pg_catalog.~) '^[0-9a-f]{12}$'),
    hash         bytea NOT NULL CHECK (pg_catalog.length(hash) OPERATOR(pg_catalog.=) 32),
    consumer     name NOT NULL,
    label        text,
    created_by   name NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    consumer_oid oid NOT NULL,
    created_by_oid oid
);
COMMENT ON TABLE mlops.api_keys IS 'API keys of the HTTP endpoint: a public prefix and the SHA-256 of the key, never the key';
COMMENT ON COLUMN mlops.api_keys.prefix IS 'the public part of the key (mlk_<prefix>_<secret>), how a request finds its row';
COMMENT ON COLUMN mlops.api_keys.hash IS 'SHA-256 of the whole key';
COMMENT ON COLUMN mlops.api_keys.consumer IS 'the role requests with this key run as';
COMMENT ON COLUMN mlops.api_keys.consumer_oid IS 'the OID of that role: a role dropped and re-created under the name is another role, and the key answers 401';
COMMENT ON COLUMN mlops.api_keys.created_by_oid IS 'the OID of the role that made the key (NULL: it no longer existed at the upgrade)';
COMMENT ON COLUMN mlops.api_keys.last_used_at IS 'the last request that used the key (updated at most once a minute)';

ALTER TABLE mlops.api_keys ENABLE ROW LEVEL SECURITY;
-- Keys are shown to their creator, to roles that act as their consumer,
-- and to admins; the hash column is granted to nobody.
CREATE POLICY api_key_visible ON mlops.api_keys FOR SELECT
    USING (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE')
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                      WHERE r.oid OPERATOR(pg_catalog.=) consumer_oid
                        AND pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'USAGE')));

CREATE FUNCTION @extschema@.ml_create_api_key(consumer regrole, label text DEFAULT NULL,
                                             expires_in interval DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_create_api_key'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_create_api_key(regrole, text, interval) IS
    'a new API key for a consumer role, returned once (only its hash is stored)';

CREATE FUNCTION @extschema@.ml_revoke_api_key(key_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_revoke_api_key'
LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.ml_revoke_api_key(prefix text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_revoke_api_key_prefix'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_revoke_api_key(bigint) IS
    'revoke an API key by id; false if it was already revoked';
COMMENT ON FUNCTION @extschema@.ml_revoke_api_key(text) IS
    'revoke an API key by its prefix (or the whole key); false if it was already revoked';

CREATE VIEW @extschema@.ml_api_keys WITH (security_invoker = true) AS
SELECT k.id, k.prefix, k.consumer, k.label, k.created_by, k.created_at, k.expires_at,
       k.revoked_at, k.last_used_at,
       (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())) AS active
FROM mlops.api_keys k;
COMMENT ON VIEW @extschema@.ml_api_keys IS 'API keys the current role created or acts as (admins: all), without their hashes';

REVOKE ALL ON FUNCTION @extschema@.ml_create_api_key(regrole, text, interval),
    @extschema@.ml_revoke_api_key(bigint), @extschema@.ml_revoke_api_key(text) FROM PUBLIC;
REVOKE ALL ON mlops.api_keys, @extschema@.ml_api_keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE mlops.api_keys_id_seq FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_create_api_key(regrole, text, interval),
    @extschema@.ml_revoke_api_key(bigint), @extschema@.ml_revoke_api_key(text) TO ml_engineer;
GRANT SELECT (id, prefix, consumer, label, created_by, created_at, expires_at, revoked_at, last_used_at, consumer_oid,
               created_by_oid)
    ON mlops.api_keys TO ml_engineer;
GRANT SELECT ON @extschema@.ml_api_keys TO ml_engineer;

SELECT pg_catalog.pg_extension_config_dump('mlops.api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.api_keys_id_seq', '');
