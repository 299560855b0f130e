-- API keys of the HTTP endpoint (test/http.sh serves them): who may make
-- and revoke them, what is stored (a prefix and a hash, never the key),
-- what the ml_api_keys view shows, and the audit trail.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_app, "regress app ""q""", regress_cana;
CREATE ROLE regress_app IN ROLE ml_consumer;
CREATE ROLE "regress app ""q""" IN ROLE ml_consumer;
CREATE ROLE regress_cana IN ROLE ml_consumer, ml_analyst;
RESET client_min_messages;

SET ROLE regress_eve;
CREATE TEMP TABLE made AS SELECT ml_create_api_key('regress_app', 'web shop') AS k;
SELECT k ~ '^mlk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$' AS well_formed, length(k) FROM made;
-- stored: the prefix and SHA-256 of the whole key, nothing else of it
RESET ROLE;
SELECT a.prefix = substr(m.k, 5, 12) AS prefix_is_public_part,
       a.hash = sha256(convert_to(m.k, 'UTF8')) AS hash_is_sha256,
       a.consumer, a.label, a.created_by, a.expires_at IS NULL AS no_expiry
FROM mlops.api_keys a, made m;
SET ROLE regress_eve;
SELECT consumer, label, created_by, active, revoked_at IS NULL AS not_revoked FROM ml_api_keys;
SELECT regress_try($$SELECT hash FROM mlops.api_keys$$);
-- a hostile role name, a label, an expiry
SELECT length(ml_create_api_key('"regress app ""q"""', E'it''s "mine"', '1 day')) AS len;
SELECT consumer, label, expires_at > now() + '23 hours' AS expires_tomorrow FROM ml_api_keys ORDER BY id;

-- argument errors
SELECT regress_try($$SELECT ml_create_api_key(NULL)$$);
SELECT regress_try($$SELECT ml_create_api_key('regress_nobody')$$);
SELECT regress_try($$SELECT ml_create_api_key('regress_carl', NULL, '0')$$);
SELECT regress_try($$SELECT ml_create_api_key('regress_carl', NULL, '-1 day')$$);
SELECT regress_try($$SELECT ml_create_api_key('regress_carl', repeat('x', 201))$$);
SELECT regress_try($$SELECT ml_create_api_key(0)$$);
-- keys act as their consumer: none for a superuser, none for a stronger
-- role the creator does not have the privileges of
SELECT regress_try($$SELECT ml_create_api_key(current_user::regrole)$$) AS own_key_ok;
SELECT regress_try($$SELECT ml_create_api_key('regress_cana')$$);
SELECT regress_try($$SELECT ml_create_api_key('regress_adam')$$);
RESET ROLE;
SELECT regress_try($$SELECT ml_create_api_key(current_user::regrole)$$);
-- only engineers and admins
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_create_api_key('regress_app')$$);
SELECT regress_try($$SELECT ml_revoke_api_key(1)$$);
SET ROLE regress_carl;
SELECT regress_try($$SELECT count(*) FROM ml_api_keys$$);

-- revoking: by id, by prefix or the whole key; twice is false
SET ROLE regress_eve;
SELECT ml_revoke_api_key((SELECT min(id) FROM ml_api_keys)) AS revoked;
SELECT ml_revoke_api_key((SELECT min(id) FROM ml_api_keys)) AS again;
SELECT ml_revoke_api_key((SELECT k FROM made)) AS by_key_again;
SELECT ml_revoke_api_key((SELECT prefix FROM ml_api_keys ORDER BY id DESC LIMIT 1)) AS by_prefix;
SELECT consumer, active FROM ml_api_keys ORDER BY id;
SELECT regress_try($$SELECT ml_revoke_api_key(0)$$);
SELECT regress_try($$SELECT ml_revoke_api_key('0123456789ab')$$);
SELECT regress_try($$SELECT ml_revoke_api_key('nope')$$);
SELECT regress_try($$SELECT ml_revoke_api_key('mlk_secret_part_not_echoed')$$);
SELECT regress_try($$SELECT ml_revoke_api_key(NULL::bigint)$$);
-- another engineer sees and revokes none of them; an admin sees all
SET ROLE regress_adam;
SELECT count(*) AS admin_sees FROM ml_api_keys;
RESET ROLE;
CREATE ROLE regress_eve2 IN ROLE ml_engineer;
SELECT max(id) AS last_key FROM mlops.api_keys \gset
SET ROLE regress_eve2;
SELECT count(*) AS other_engineer_sees FROM ml_api_keys;
SELECT regress_try('SELECT ml_revoke_api_key(' || :last_key || ')') ~ '^42704: API key [0-9]+ does not exist' AS hidden;
RESET ROLE;
SELECT action, object_type, details ?& ARRAY['consumer', 'id'] OR action = 'revoke_api_key' AS has_details
FROM mlops.audit_log WHERE object_type = 'api_key' ORDER BY id;
DELETE FROM mlops.api_keys;
DROP ROLE regress_eve2, regress_app, "regress app ""q""", regress_cana;
