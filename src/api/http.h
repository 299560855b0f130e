/*
 * http.h
 *	  API keys and the HTTP endpoint: what the files of src/api/ share.
 */
#ifndef ML_HTTP_H
#define ML_HTTP_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* what pg_stat_activity.backend_type says for the endpoint's workers */
#define ML_HTTP_TYPE	"pg_mlops http"

/* settings (http_server.c) */
extern int	ml_http_port;
extern int	ml_http_workers;
extern char *ml_http_listen_addresses;
extern char *ml_http_database;
extern int	ml_http_max_body;
extern int	ml_http_timeout;
extern char *ml_http_ssl_cert_file;
extern char *ml_http_ssl_key_file;

extern void MlHttpInit(void);
extern PGDLLEXPORT void ml_http_main(Datum arg);

/* how a key checked out (api_keys.c) */
typedef enum MlKeyCheck
{
	ML_KEY_OK = 0,
	ML_KEY_MALFORMED,			/* not of the form mlk_<prefix>_<secret> */
	ML_KEY_UNKNOWN,				/* no such prefix, or the secret differs */
	ML_KEY_REVOKED,
	ML_KEY_EXPIRED
} MlKeyCheck;

extern MlKeyCheck MlApiKeyAuthenticate(const char *key, Oid *consumer);

/* one request to the endpoint, as the server hands it over (http_request.c) */
typedef struct MlHttpRequest
{
	const char *method;
	const char *path;			/* still URL-encoded */
	const char *authorization;	/* the header, or NULL */
	const char *output;			/* ?output=..., or NULL */
	const char *body;
	size_t		body_len;
} MlHttpRequest;

typedef struct MlHttpResponse
{
	int			status;
	StringInfoData body;		/* JSON */
	int			retry_after;	/* seconds, 0: no Retry-After header */
	bool		www_authenticate;
	const char *allow;			/* Allow header of a 405, or NULL */
} MlHttpResponse;

extern void MlHttpHandle(const MlHttpRequest *req, MlHttpResponse *resp);
extern void MlHttpInitResponse(MlHttpResponse *resp);

/* JSON bodies (http_json.c) */
extern void MlHttpError(MlHttpResponse *resp, int status, const char *code, const char *message);
extern int	MlHttpStatusOf(int sqlerrcode, int *retry_after);
extern void MlHttpPredictions(MlHttpResponse *resp, int version, const char *predictions);

#endif							/* ML_HTTP_H */
