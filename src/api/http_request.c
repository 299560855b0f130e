/*
 * http_request.c
 *	  One request to the endpoint: the route, the key, the body, and the
 *	  prediction through the SQL API as the key's consumer role.
 *
 * A predict request is one transaction: the key is checked as the
 * worker's own role, then the worker becomes the consumer
 * (SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION: nothing
 * it runs can SET ROLE out of it or leave anything in the session)
 * and runs ml_predict on every row in ONE statement, so the consumer's
 * grants, exposures, quotas and metering apply exactly as in SQL. Any
 * error aborts the transaction and becomes a status and a JSON body; no
 * error ever leaves this file.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/timeout.h"

#include "core/log_text.h"
#include "api/http.h"
#include "api/usage.h"
#include "core/catalog.h"
#include "model/deployed.h"

#define PREDICT_PREFIX	"/v1/projects/"
#define PREDICT_SUFFIX	"/predict"
#define PROJECT_MAX		1000
/* a redeploy between reading the version and scoring: score again */
#define SCORE_ATTEMPTS	3

typedef enum Stage
{
	STAGE_PATH,					/* the project name into the server's encoding */
	STAGE_AUTH,
	STAGE_BODY,
	STAGE_SCORE
} Stage;

typedef struct Predict
{
	const MlHttpRequest *req;
	char	   *project;
	const char *key;
	const char *output;			/* "value" (default), "label" or "proba" */
	MemoryContext cxt;			/* the request's: what outlives its transaction */
	/* filled while it runs */
	Stage		stage;
	int			version;
	char	   *predictions;
	bool		refused;		/* the response is already set */
} Predict;

static volatile sig_atomic_t timed_out = false;
static TimeoutId request_timeout = MAX_TIMEOUTS;

/* Cancel the statement the way statement_timeout does, remembering why. */
static void
request_timeout_handler(void)
{
	timed_out = true;
	kill(MyProcPid, SIGINT);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX-decode a path segment; NULL if badly encoded or holding a NUL. */
static char *
url_decode(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%')
		{
			int			hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int			lo = i + 2 < len ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return NULL;
			out[n] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[n] = s[i];
		if (out[n] == '\0')
			return NULL;
		n++;
	}
	out[n] = '\0';
	return out;
}

/* The project of "/v1/projects/{name}/predict", or NULL for another path. */
static bool
match_predict(const char *path, char **project, bool *bad)
{
	size_t		plen = strlen(PREDICT_PREFIX);
	size_t		slen = strlen(PREDICT_SUFFIX);
	size_t		len = strlen(path);
	const char *name;
	size_t		nlen;

	*bad = false;
	if (len <= plen + slen || strncmp(path, PREDICT_PREFIX, plen) != 0 ||
		strcmp(path + len - slen, PREDICT_SUFFIX) != 0)
		return false;
	name = path + plen;
	nlen = len - plen - slen;
	if (memchr(name, '/', nlen) != NULL)
		return false;
	*project = url_decode(name, nlen);
	/* UTF-8, as URLs are; converted to the server's encoding in the transaction */
	if (*project == NULL || **project == '\0' || strlen(*project) > PROJECT_MAX ||
		!pg_verify_mbstr(PG_UTF8, *project, strlen(*project), true))
		*bad = true;
	return true;
}

/* The rows of {"rows": [{...}, ...]} as a jsonb array; a 400 otherwise. */
static Datum
parse_rows(Predict *p, MlHttpResponse *resp)
{
	char	   *text = pnstrdup(p->req->body ? p->req->body : "", p->req->body_len);
	Jsonb	   *doc;
	JsonbValue *rows;
	JsonbContainer *arr;
	uint32		n;

	if (strlen(text) != p->req->body_len)
	{
		MlHttpError(resp, 400, "22P02", "the request body holds a NUL byte");
		p->refused = true;
		return (Datum) 0;
	}
	/*
	 * JSON travels as UTF-8; the server's input functions trust their text
	 * to be valid in its own encoding (a character it cannot represent: 400).
	 */
	if (!pg_verify_mbstr(PG_UTF8, text, p->req->body_len, true))
	{
		MlHttpError(resp, 400, "22021", "the request body is not valid UTF-8");
		p->refused = true;
		return (Datum) 0;
	}
	text = pg_any_to_server(text, p->req->body_len, PG_UTF8);
	doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	rows = JB_ROOT_IS_OBJECT(doc) && !JB_ROOT_IS_SCALAR(doc) ?
		getKeyJsonValueFromContainer(&doc->root, "rows", 4, NULL) : NULL;
	if (rows == NULL || rows->type != jbvBinary || !JsonContainerIsArray(rows->val.binary.data))
	{
		MlHttpError(resp, 400, "22023", "the request body must be an object with an array \"rows\"");
		p->refused = true;
		return (Datum) 0;
	}
	arr = rows->val.binary.data;
	n = JsonContainerSize(arr);
	for (uint32 i = 0; i < n; i++)
	{
		JsonbValue *row = getIthJsonbValueFromContainer(arr, i);

		if (row->type != jbvBinary || !JsonContainerIsObject(row->val.binary.data))
		{
			MlHttpError(resp, 400, "22023",
						psprintf("row %u of \"rows\" is not an object of column values", i + 1));
			p->refused = true;
			return (Datum) 0;
		}
	}
	return JsonbPGetDatum(JsonbValueToJsonb(rows));
}

/* The extension's schema, quoted; NULL when it is not installed here. */
static char *
extension_schema(void)
{
	static SPIPlanPtr plan = NULL;

	MlSpiExecCached(&plan, "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
					"WHERE e.extname OPERATOR(pg_catalog.=) 'pg_mlops'", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Who the key acts as, checked now (a role changes after its key was made). */
static Oid
authenticate(Predict *p, MlHttpResponse *resp)
{
	static const char *const why[] = {
		[ML_KEY_MALFORMED] = "the API key is malformed",
		[ML_KEY_UNKNOWN] = "the API key is not valid",
		[ML_KEY_REVOKED] = "the API key has been revoked",
		[ML_KEY_EXPIRED] = "the API key has expired",
	};
	Oid			role = InvalidOid;
	MlKeyCheck	check = MlApiKeyAuthenticate(p->key, &role);

	if (check != ML_KEY_OK)
	{
		MlHttpError(resp, 401, "28000", why[check]);
		resp->www_authenticate = true;
		p->refused = true;
		return InvalidOid;
	}
	/* by OID: a role re-created under the name of the key's is not the key's */
	if (!OidIsValid(role) || !SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
	{
		MlHttpError(resp, 401, "28000", "the API key's role no longer exists");
		resp->www_authenticate = true;
		p->refused = true;
		return InvalidOid;
	}
	if (superuser_arg(role) || !has_privs_of_role(role, get_role_oid("ml_consumer", false)))
	{
		MlHttpError(resp, 403, "42501", "the API key's role is not a consumer");
		p->refused = true;
		return InvalidOid;
	}
	return role;
}

/*
 * Score every row in one statement as the consumer. The version comes from
 * the same cached model ml_predict scores with (model/deployed.c): when no
 * flush of the cache happened during the statement, every row was scored
 * by that version; when one did (a redeploy), score again.
 */
static void
score(Predict *p, const char *ext, Datum rows)
{
	static const char *const fns[] = {"ml_predict", "ml_predict_label", "ml_predict_proba"};
	static SPIPlanPtr plans[lengthof(fns)];
	static char *plan_ext = NULL;	/* the schema the plans were made for */
	Oid			types[2] = {TEXTOID, JSONBOID};
	Datum		values[2] = {CStringGetTextDatum(p->project), rows};

	if (plan_ext == NULL || strcmp(plan_ext, ext) != 0)
	{
		for (int i = 0; i < (int) lengthof(fns); i++)
		{
			if (plans[i])
				SPI_freeplan(plans[i]);
			plans[i] = NULL;
		}
		if (plan_ext)
			pfree(plan_ext);
		plan_ext = MemoryContextStrdup(TopMemoryContext, ext);
	}

	for (int attempt = 1;; attempt++)
	{
		MlDeployed *e = MlDeployedGet(p->project, 0);
		uint64		gen = MlDeployedGeneration;
		bool		classifier = e->trained->task == ML_TASK_BINARY ||
			e->trained->task == ML_TASK_MULTICLASS;
		int			fn = strcmp(p->output, "proba") == 0 ? 2 :
			strcmp(p->output, "label") == 0 || (classifier && strcmp(p->output, "value") != 0) ? 1 : 0;
		bool		isnull;

		p->version = e->version;
		MlSpiExecCached(&plans[fn],
						psprintf("SELECT COALESCE(pg_catalog.jsonb_agg(%s.%s($1, r.value) ORDER BY r.n), "
								 "'[]'::pg_catalog.jsonb)::pg_catalog.text "
								 "FROM pg_catalog.jsonb_array_elements($2) WITH ORDINALITY r(value, n)",
								 ext, fns[fn]),
						2, types, values, NULL, SPI_OK_SELECT);
		if (SPI_processed != 1)
			elog(ERROR, "the scoring statement returned %llu rows", (unsigned long long) SPI_processed);
		/* SPI's memory goes at SPI_finish: the answer is copied out */
		p->predictions = MemoryContextStrdup(p->cxt,
											 TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
																			   SPI_tuptable->tupdesc, 1, &isnull)));
		if (gen == MlDeployedGeneration)
			return;
		if (attempt == SCORE_ATTEMPTS)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("the deployed model of project \"%s\" changed while scoring", p->project),
					 errhint("Retry the request.")));
	}
}

/* The transaction of a predict request; errors propagate to run_predict. */
static void
predict_in_transaction(Predict *p, MlHttpResponse *resp)
{
	char	   *ext;
	Oid			role;
	Datum		rows;
	Oid			save_userid;
	int			save_sec;
	int			nestlevel;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	p->stage = STAGE_PATH;
	p->project = pg_any_to_server(p->project, strlen(p->project), PG_UTF8);
	p->stage = STAGE_AUTH;
	ext = extension_schema();
	if (ext == NULL)
	{
		MlHttpError(resp, 503, "55000", "pg_mlops is not installed in the endpoint's database");
		p->refused = true;
		return;
	}
	role = authenticate(p, resp);
	if (!OidIsValid(role))
		return;
	p->stage = STAGE_BODY;
	rows = parse_rows(p, resp);
	if (p->refused)
		return;
	p->stage = STAGE_SCORE;

	/*
	 * As the consumer, restricted as a maintenance command is: nothing it
	 * runs may SET ROLE, make temporary objects or prepare statements in the
	 * superuser's session, and every setting it changes (even a session-level
	 * set_config) is undone before the session is the worker's again. An
	 * error undoes both with the transaction.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(role, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	nestlevel = NewGUCNestLevel();
	score(p, ext, rows);
	AtEOXact_GUC(false, nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * An error while the body was parsed is the client's: 400 naming the
 * problem (too deep, a number beyond numeric, bad syntax), except a server
 * out of memory (503, retry later).
 */
static void
body_error_response(ErrorData *edata, MlHttpResponse *resp)
{
	const char *code = unpack_sql_state(edata->sqlerrcode);

	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INSUFFICIENT_RESOURCES ||
		ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION)
	{
		MlHttpError(resp, 503, code, "the server is out of resources to read the request body");
		resp->retry_after = 1;
	}
	else if (edata->sqlerrcode == ERRCODE_STATEMENT_TOO_COMPLEX)
		MlHttpError(resp, 400, code, "the request body is nested too deeply");
	else if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_DATA_EXCEPTION)
		MlHttpError(resp, 400, code, psprintf("the request body is not valid JSON: %s", edata->message));
	else
		MlHttpError(resp, 400, code, psprintf("the request body could not be read: %s", edata->message));
}

/* How an error of the request's transaction answers the client. */
static void
error_response(Predict *p, ErrorData *edata, MlHttpResponse *resp)
{
	const char *code = unpack_sql_state(edata->sqlerrcode);
	int			status;

	if (timed_out)
	{
		MlHttpError(resp, 504, "57014",
					psprintf("the request exceeded pg_mlops.http_timeout (%d ms)", ml_http_timeout));
		return;
	}
	if (p->stage == STAGE_BODY)
	{
		body_error_response(edata, resp);
		return;
	}
	/* a name the database's encoding cannot hold names no project */
	if (p->stage == STAGE_PATH)
	{
		MlHttpError(resp, 404, "42704", "project does not exist");
		return;
	}
	status = p->stage == STAGE_SCORE ? MlHttpStatusOf(edata->sqlerrcode, &resp->retry_after) : 500;
	if (status >= 500 && status != 503)
	{
		/* the server log has it; the client gets no internals */
		ereport(LOG,
				(errmsg("pg_mlops http: request for project %s failed: %s",
						MlLogQuote(p->project), MlLogText(edata->message))));
		MlHttpError(resp, status, code, "internal error");
		return;
	}
	/*
	 * A daily quota resets at the next UTC midnight, a rate limit within the
	 * second; a full usage table frees entries (those of past days) only
	 * after midnight too.
	 */
	if ((edata->sqlerrcode == ERRCODE_CONFIGURATION_LIMIT_EXCEEDED &&
		 strncmp(edata->message, "daily", 5) == 0) ||
		(edata->sqlerrcode == ERRCODE_INSUFFICIENT_RESOURCES &&
		 strncmp(edata->message, ML_USAGE_FULL_MESSAGE, strlen(ML_USAGE_FULL_MESSAGE)) == 0))
		resp->retry_after = (int) (SECS_PER_DAY - (GetCurrentTimestamp() / USECS_PER_SEC) % SECS_PER_DAY);
	MlHttpError(resp, status, code, edata->message);
	resp->status = status;
}

static void
run_predict(Predict *p, MlHttpResponse *resp)
{
	MemoryContext cxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;

	p->cxt = cxt;
	if (request_timeout == MAX_TIMEOUTS)
		request_timeout = RegisterTimeout(USER_TIMEOUT, request_timeout_handler);
	timed_out = false;
	QueryCancelPending = false;
	pgstat_report_activity(STATE_RUNNING, "pg_mlops http: predict");
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (ml_http_timeout > 0)
		enable_timeout_after(request_timeout, ml_http_timeout);
	PG_TRY();
	{
		predict_in_transaction(p, resp);
		disable_timeout(request_timeout, false);
		PopActiveSnapshot();
		if (p->refused)
			AbortCurrentTransaction();
		else
			CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		disable_timeout(request_timeout, false);
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	if (edata != NULL)
		error_response(p, edata, resp);
	else if (!p->refused)
		MlHttpPredictions(resp, p->version, p->predictions);
	/* a timer that fired after the statement must not cancel the next one */
	timed_out = false;
	QueryCancelPending = false;
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* "Bearer <key>": the key, or NULL. */
static const char *
bearer(const char *authorization)
{
	if (authorization == NULL || pg_strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	return *authorization ? authorization : NULL;
}

/*
 * Answer one request. Called by the server with a memory context that is
 * reset after the response is sent; never raises an error.
 */
void
MlHttpHandle(const MlHttpRequest *req, MlHttpResponse *resp)
{
	Predict		p = {0};
	bool		bad;

	p.req = req;
	if (strcmp(req->path, "/healthz") == 0)
	{
		if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		{
			MlHttpError(resp, 405, "405", "use GET for /healthz");
			resp->allow = "GET, HEAD";
			return;
		}
		resp->status = 200;
		appendStringInfoString(&resp->body, "{\"status\": \"ok\"}");
		return;
	}
	if (!match_predict(req->path, &p.project, &bad))
	{
		MlHttpError(resp, 404, "404", "no such endpoint: use POST /v1/projects/{name}/predict");
		return;
	}
	if (strcmp(req->method, "POST") != 0)
	{
		MlHttpError(resp, 405, "405", "use POST to predict");
		resp->allow = "POST";
		return;
	}
	p.key = bearer(req->authorization);
	if (p.key == NULL)
	{
		MlHttpError(resp, 401, "28000", "an API key is required: send Authorization: Bearer <key>");
		resp->www_authenticate = true;
		return;
	}
	if (bad)
	{
		MlHttpError(resp, 400, "42602", "the project name in the path is not validly encoded");
		return;
	}
	p.output = req->output ? req->output : "";
	if (*p.output && strcmp(p.output, "value") != 0 && strcmp(p.output, "label") != 0 &&
		strcmp(p.output, "proba") != 0)
	{
		MlHttpError(resp, 400, "22023", "output must be value, label or proba");
		return;
	}
	run_predict(&p, resp);
}
