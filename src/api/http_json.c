/*
 * http_json.c
 *	  The endpoint's JSON bodies and the HTTP status of an SQLSTATE.
 *
 * Every text that came from a request or an error message goes through
 * escape_json; the predictions are the text of a jsonb value the server
 * built. Nothing is spliced by hand.
 */
#include "postgres.h"

#include "utils/elog.h"
#include "utils/json.h"

#include "api/http.h"

void
MlHttpInitResponse(MlHttpResponse *resp)
{
	memset(resp, 0, sizeof(*resp));
	initStringInfo(&resp->body);
	resp->status = 500;
}

/* {"error": {"code": "...", "message": "..."}} */
void
MlHttpError(MlHttpResponse *resp, int status, const char *code, const char *message)
{
	resetStringInfo(&resp->body);
	resp->status = status;
	appendStringInfoString(&resp->body, "{\"error\": {\"code\": ");
	escape_json(&resp->body, code);
	appendStringInfoString(&resp->body, ", \"message\": ");
	escape_json(&resp->body, message);
	appendStringInfoString(&resp->body, "}}");
}

/*
 * The status of an error raised while scoring, by SQLSTATE. The class
 * decides unless one code says more: what a client sent (22, 42) is its
 * fault, a missing or hidden project is 404 whichever it is, a project
 * without a deployed model is a conflict, over a quota or rate is 429; a
 * request beyond a program limit (class 54: too deep, too large) is the
 * client's too (422); the server's resources (class 53, such as a full
 * usage table) are 503.
 */
int
MlHttpStatusOf(int sqlerrcode, int *retry_after)
{
	*retry_after = 0;
	switch (sqlerrcode)
	{
		case ERRCODE_INSUFFICIENT_PRIVILEGE:
			return 403;
		case ERRCODE_UNDEFINED_OBJECT:
			return 404;
		case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE:
			return 409;
		case ERRCODE_CONFIGURATION_LIMIT_EXCEEDED:
			*retry_after = 1;
			return 429;
		case ERRCODE_QUERY_CANCELED:
			return 504;
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
		case ERRCODE_T_R_DEADLOCK_DETECTED:
		case ERRCODE_LOCK_NOT_AVAILABLE:
			*retry_after = 1;
			return 503;
	}
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			return 422;
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OPERATOR_INTERVENTION:
			*retry_after = 1;
			return 503;
	}
	return 500;
}

/* {"model_version": n, "predictions": [...]} */
void
MlHttpPredictions(MlHttpResponse *resp, int version, const char *predictions)
{
	resetStringInfo(&resp->body);
	resp->status = 200;
	appendStringInfo(&resp->body, "{\"model_version\": %d, \"predictions\": %s}",
					 version, predictions);
}
