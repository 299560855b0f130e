/*
 * api_keys.c
 *	  API keys of the HTTP endpoint: ml_create_api_key, ml_revoke_api_key,
 *	  and the check of a key a request presents.
 *
 * A key is "mlk_<prefix>_<secret>": 6 random bytes as 12 hex digits (the
 * public part, how a request finds its row) and 32 random bytes in
 * base64url. Only the SHA-256 of the whole key is stored; it is shown once,
 * when created. The secret has 256 random bits, so a plain hash needs no
 * salt or stretching, and a lookup by prefix plus one constant-time
 * comparison of the hashes decides.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/http.h"
#include "core/catalog.h"

#define KEY_TAG			"mlk_"
#define PREFIX_BYTES	6
#define PREFIX_CHARS	(2 * PREFIX_BYTES)
#define SECRET_BYTES	32
#define LABEL_MAX		200
#define MAX_EXPIRY_YEARS 100

PG_FUNCTION_INFO_V1(ml_create_api_key);
PG_FUNCTION_INFO_V1(ml_revoke_api_key);
PG_FUNCTION_INFO_V1(ml_revoke_api_key_prefix);

/* SHA-256 of the key, through PostgreSQL's cryptohash (OpenSSL when built with it). */
static bytea *
key_hash(const char *key)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	bytea	   *out = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) key, strlen(key)) < 0 ||
		pg_cryptohash_final(ctx, (uint8 *) VARDATA(out), PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *why = ctx ? pg_cryptohash_error(ctx) : "out of memory";

		pg_cryptohash_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the SHA-256 of an API key: %s", why)));
	}
	pg_cryptohash_free(ctx);
	SET_VARSIZE(out, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	return out;
}

static void
random_bytes(uint8 *buf, size_t len)
{
	if (!pg_strong_random(buf, len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for an API key")));
}

/* A new key: "mlk_" + 12 hex digits + "_" + 43 base64url characters. */
static char *
new_key(char *prefix)
{
	uint8		pbytes[PREFIX_BYTES];
	uint8		secret[SECRET_BYTES];
	char		b64[64];
	int			n;
	StringInfoData key;

	random_bytes(pbytes, sizeof(pbytes));
	random_bytes(secret, sizeof(secret));
	for (int i = 0; i < PREFIX_BYTES; i++)
		snprintf(prefix + 2 * i, 3, "%02x", pbytes[i]);
	n = pg_b64_encode((const char *) secret, sizeof(secret), b64, sizeof(b64) - 1);
	if (n < 0)
		elog(ERROR, "could not encode an API key");
	initStringInfo(&key);
	appendStringInfo(&key, "%s%s_", KEY_TAG, prefix);
	for (int i = 0; i < n; i++)
	{
		char		c = b64[i];

		if (c == '=')
			break;
		appendStringInfoChar(&key, c == '+' ? '-' : c == '/' ? '_' : c);
	}
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(b64, sizeof(b64));
	return key.data;
}

/*
 * The prefix of a key ("mlk_<prefix>_..."), or of a bare prefix, into out
 * (PREFIX_CHARS + 1 bytes); false if it has neither form.
 */
static bool
parse_prefix(const char *s, bool bare_ok, char *out)
{
	const char *p = s;

	if (strncmp(s, KEY_TAG, strlen(KEY_TAG)) == 0)
		p = s + strlen(KEY_TAG);
	else if (!bare_ok)
		return false;
	for (int i = 0; i < PREFIX_CHARS; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	if (p == s ? p[PREFIX_CHARS] != '\0' : p[PREFIX_CHARS] != '_')
		return false;
	memcpy(out, p, PREFIX_CHARS);
	out[PREFIX_CHARS] = '\0';
	return true;
}

/*
 * Keys act as their consumer, so a key for a role that can do more than a
 * plain consumer (an analyst, engineer or admin) may be made only by a role
 * that has that role's privileges itself; never for a superuser.
 */
static void
check_consumer(MlScope *scope, Oid consumer, const char *name)
{
	static const char *const stronger[] = {"ml_analyst", "ml_engineer", "ml_admin"};
	Oid			ml_consumer = get_role_oid("ml_consumer", false);

	if (superuser_arg(consumer))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" is a superuser; API keys never act as a superuser", name)));
	if (!has_privs_of_role(consumer, ml_consumer))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" is not a member of ml_consumer", name),
				 errhint("GRANT ml_consumer TO %s, then create the key.", quote_identifier(name))));
	for (int i = 0; i < (int) lengthof(stronger); i++)
	{
		Oid			r = get_role_oid(stronger[i], false);

		if (has_privs_of_role(consumer, r) && !has_privs_of_role(scope->caller, consumer))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to create an API key for role \"%s\"", name),
					 errdetail("Role \"%s\" is a member of %s; only roles with its privileges may create keys that act as it.",
							   name, stronger[i])));
	}
}

static void
require_engineer(MlScope *scope, const char *what)
{
	if (!MlCallerHasRole(scope, "ml_engineer"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("API keys are managed by ml_engineer and ml_admin members.")));
}

/* ml_create_api_key(consumer regrole, label text, expires_in interval) -> text */
Datum
ml_create_api_key(PG_FUNCTION_ARGS)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MlScope		scope;
	Oid			consumer;
	char	   *name;
	char	   *label = NULL;
	char		prefix[PREFIX_CHARS + 1];
	char	   *key;
	text	   *result;
	Oid			types[8] = {TEXTOID, BYTEAOID, NAMEOID, TEXTOID, NAMEOID, INTERVALOID, OIDOID, OIDOID};
	Datum		values[8];
	char		nulls[8] = "        ";
	const char *akeys[4] = {"consumer", "label", "expires_in", "id"};
	const char *avals[4];

	MlRequireArg(fcinfo, 0, "consumer");
	consumer = PG_GETARG_OID(0);
	MlScopeEnter(&scope);
	require_engineer(&scope, "create API keys");
	name = GetUserNameFromId(consumer, true);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", consumer)));
	check_consumer(&scope, consumer, name);
	if (!PG_ARGISNULL(1))
	{
		label = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (strlen(label) > LABEL_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the label of an API key is at most %d bytes long", LABEL_MAX)));
	}
	if (!PG_ARGISNULL(2))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(2);
		Interval	zero = {0};
		Interval	most = {0};

		most.month = MAX_EXPIRY_YEARS * MONTHS_PER_YEAR;
		if (DatumGetBool(DirectFunctionCall2(interval_le, IntervalPGetDatum(iv),
											 IntervalPGetDatum(&zero))) ||
			DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(iv),
											 IntervalPGetDatum(&most))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_in must be a positive interval of at most %d years", MAX_EXPIRY_YEARS),
					 errhint("Pass NULL for a key that does not expire.")));
		values[5] = IntervalPGetDatum(iv);
	}
	else
		nulls[5] = 'n';

	key = new_key(prefix);
	values[0] = CStringGetTextDatum(prefix);
	values[1] = PointerGetDatum(key_hash(key));
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(name));
	if (label)
		values[3] = CStringGetTextDatum(label);
	else
		nulls[3] = 'n';
	values[4] = DirectFunctionCall1(namein, CStringGetDatum(scope.caller_name));
	values[6] = ObjectIdGetDatum(consumer);
	values[7] = ObjectIdGetDatum(scope.caller);
	MlScopeAsOwner(&scope);
	MlSpiExec("INSERT INTO mlops.api_keys (prefix, hash, consumer, label, created_by, expires_at, consumer_oid, "
			  "  created_by_oid) "
			  "VALUES ($1, $2, $3, $4, $5, pg_catalog.now() OPERATOR(pg_catalog.+) $6, $7, $8) "
			  "RETURNING id::pg_catalog.text, expires_at::pg_catalog.text",
			  8, types, values, nulls, SPI_OK_INSERT_RETURNING);
	avals[0] = name;
	avals[1] = label;
	avals[2] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	avals[3] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	MlAudit(&scope, "create_api_key", "api_key", prefix, 0, 4, akeys, avals);
	result = (text *) MemoryContextAlloc(callercxt, VARHDRSZ + strlen(key));
	SET_VARSIZE(result, VARHDRSZ + strlen(key));
	memcpy(VARDATA(result), key, strlen(key));
	explicit_bzero(key, strlen(key));
	MlScopeExit(&scope);
	PG_RETURN_TEXT_P(result);
}

/*
 * Revoke the key the caller can see (row-level security shows a key to its
 * creator, to roles acting as its consumer and to admins, exactly those who
 * may revoke it) found by id or by prefix.
 */
static bool
revoke_key(int64 id, const char *prefix, const char *given)
{
	MlScope		scope;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(id), CStringGetTextDatum(prefix ? prefix : "")};
	char		nulls[2] = {prefix ? 'n' : ' ', prefix ? ' ' : 'n'};
	const char *akeys[1] = {"id"};
	const char *avals[1];
	char	   *found_prefix;
	bool		done;

	MlScopeEnter(&scope);
	require_engineer(&scope, "revoke API keys");
	MlSpiExec("SELECT id, prefix FROM mlops.api_keys "
			  "WHERE id OPERATOR(pg_catalog.=) $1 OR prefix OPERATOR(pg_catalog.=) $2",
			  2, types, values, nulls, SPI_OK_SELECT);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("API key %s does not exist", given),
				 errhint("Keys you created or act as are listed in the ml_api_keys view.")));
	avals[0] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	found_prefix = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	values[0] = DirectFunctionCall1(int8in, CStringGetDatum(avals[0]));
	MlScopeAsOwner(&scope);
	MlSpiExec("UPDATE mlops.api_keys SET revoked_at = pg_catalog.now() "
			  "WHERE id OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL",
			  1, types, values, NULL, SPI_OK_UPDATE);
	done = SPI_processed == 1;
	if (done)
		MlAudit(&scope, "revoke_api_key", "api_key", found_prefix, 0, 1, akeys, avals);
	MlScopeExit(&scope);
	return done;
}

/* ml_revoke_api_key(key_id bigint) -> boolean */
Datum
ml_revoke_api_key(PG_FUNCTION_ARGS)
{
	int64		id;

	MlRequireArg(fcinfo, 0, "key_id");
	id = PG_GETARG_INT64(0);
	PG_RETURN_BOOL(revoke_key(id, NULL, psprintf("%lld", (long long) id)));
}

/* ml_revoke_api_key(prefix text) -> boolean: the prefix or the whole key */
Datum
ml_revoke_api_key_prefix(PG_FUNCTION_ARGS)
{
	char	   *given = MlTextArg(fcinfo, 0, "prefix");
	char		prefix[PREFIX_CHARS + 1];

	if (!parse_prefix(given, true, prefix))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is neither an API key nor the prefix of one",
						strncmp(given, KEY_TAG, strlen(KEY_TAG)) == 0 ? "mlk_..." : given),
				 errhint("A prefix is 12 hexadecimal digits, as in the ml_api_keys view.")));
	PG_RETURN_BOOL(revoke_key(0, prefix, prefix));
}

/*
 * The check of a key presented to the endpoint, inside the request's
 * transaction, as the worker's own (superuser) role, SPI connected. On
 * success *consumer is the key's role, by the OID it was made for (a role
 * dropped and re-created under the name is another role: the caller finds
 * no role of that OID), and the key's last use is recorded, at most once
 * a minute so a busy key does not write every call.
 */
MlKeyCheck
MlApiKeyAuthenticate(const char *key, Oid *consumer)
{
	char		prefix[PREFIX_CHARS + 1];
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bytea	   *stored;
	bytea	   *given;
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	int64		id;
	static SPIPlanPtr find_plan = NULL;
	static SPIPlanPtr used_plan = NULL;

	if (strlen(key) > 256 || !parse_prefix(key, false, prefix))
		return ML_KEY_MALFORMED;
	/* hashed whether or not the prefix exists: the time taken tells nothing of it */
	given = key_hash(key);
	values[0] = CStringGetTextDatum(prefix);
	MlSpiExecCached(&find_plan, "SELECT id, hash, consumer_oid, revoked_at IS NOT NULL, "
					"  COALESCE(expires_at OPERATOR(pg_catalog.<=) pg_catalog.now(), false) "
					"FROM mlops.api_keys WHERE prefix OPERATOR(pg_catalog.=) $1",
					1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return ML_KEY_UNKNOWN;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	stored = (bytea *) DatumGetPointer(SPI_getbinval(tup, desc, 2, &isnull));
	if (!isnull)
		stored = DatumGetByteaPP(PointerGetDatum(stored));
	/* stored data is validated: a hash of another length never matches */
	if (isnull || VARSIZE_ANY_EXHDR(stored) != PG_SHA256_DIGEST_LENGTH ||
		timingsafe_bcmp(VARDATA_ANY(stored), VARDATA(given), PG_SHA256_DIGEST_LENGTH) != 0)
		return ML_KEY_UNKNOWN;
	if (DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)))
		return ML_KEY_REVOKED;
	if (DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)))
		return ML_KEY_EXPIRED;
	id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	*consumer = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	if (isnull)
		return ML_KEY_UNKNOWN;
	{
		Oid			utypes[1] = {INT8OID};
		Datum		uvalues[1] = {Int64GetDatum(id)};

		MlSpiExecCached(&used_plan, "UPDATE mlops.api_keys SET last_used_at = pg_catalog.now() "
						"WHERE id OPERATOR(pg_catalog.=) $1 AND (last_used_at IS NULL "
						"  OR last_used_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) '1 minute'::pg_catalog.interval))",
						1, utypes, uvalues, NULL, SPI_OK_UPDATE);
	}
	return ML_KEY_OK;
}
