/*
 * http_server.c
 *	  The HTTP endpoint's settings and background workers, on libmicrohttpd.
 *
 * Off by default: the workers are registered only when pg_mlops is in
 * shared_preload_libraries and pg_mlops.http_port is set, never during a
 * binary upgrade, and start once recovery has finished. Each worker is
 * connected to pg_mlops.http_database as the bootstrap superuser (it reads
 * the keys; each request runs as its key's consumer, http_request.c).
 *
 * PostgreSQL is not thread-safe, so libmicrohttpd never gets a thread: its
 * daemons run in "external polling" mode with epoll (MHD_USE_EPOLL without
 * MHD_USE_INTERNAL_POLLING_THREAD), and the worker waits on the daemons'
 * epoll descriptors and its latch in one WaitEventSet, then lets each
 * daemon run; every callback runs here, in the worker's own thread. One
 * daemon per listen address; several workers share the port with
 * SO_REUSEPORT, each answering one request at a time.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "core/log_text.h"
#include "api/http.h"

#define MAX_DAEMONS		16
#define MAX_CONNECTIONS	256

int			ml_http_port = 0;
int			ml_http_workers = 1;
char	   *ml_http_listen_addresses = NULL;
char	   *ml_http_database = NULL;
int			ml_http_max_body = 1024 * 1024;
int			ml_http_timeout = 10000;
char	   *ml_http_ssl_cert_file = NULL;
char	   *ml_http_ssl_key_file = NULL;

/* What MHD keeps per connection: the body read so far (malloc'ed: MHD owns the lifetime). */
typedef struct Conn
{
	char	   *body;
	size_t		len;
	size_t		cap;
	bool		too_large;
} Conn;

static struct MHD_Daemon *daemons[MAX_DAEMONS];
static int	ndaemons = 0;
static MemoryContext request_cxt = NULL;

static bool
check_addresses(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitGUCList(copy, ',', &names);

	(void) extra;
	(void) source;
	if (!ok)
		GUC_check_errdetail("List syntax is invalid: a comma-separated list of host names or addresses is expected.");
	else if (list_length(names) == 0)
	{
		GUC_check_errdetail("At least one address is needed; set pg_mlops.http_port to 0 to turn the endpoint off.");
		ok = false;
	}
	list_free(names);
	pfree(copy);
	return ok;
}

/*
 * Every setting is PGC_SIGHUP, none PGC_POSTMASTER: a library loaded
 * without the preload may not define PGC_POSTMASTER settings (a backend
 * that tried would exit). The port and the number of workers are read when
 * the workers are registered, the others when a worker starts (a new
 * http_database at a reload makes the workers restart on it); only
 * http_max_body and http_timeout take effect at a reload.
 */
void
MlHttpInit(void)
{
	BackgroundWorker w;

	DefineCustomIntVariable("pg_mlops.http_port",
							"TCP port of the HTTP endpoint (0: off).",
							NULL, &ml_http_port, 0, 0, 65535,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.http_workers",
							"Background workers serving the HTTP endpoint, sharing its port.",
							NULL, &ml_http_workers, 1, 1, 32,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_mlops.http_listen_addresses",
							   "Addresses the HTTP endpoint listens on (comma-separated; localhost, * or addresses).",
							   NULL, &ml_http_listen_addresses, "localhost",
							   PGC_SIGHUP, GUC_LIST_INPUT, check_addresses, NULL, NULL);
	DefineCustomStringVariable("pg_mlops.http_database",
							   "Database whose API keys and projects the HTTP endpoint serves.",
							   NULL, &ml_http_database, "postgres",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.http_max_body",
							"Largest request body the HTTP endpoint accepts (larger: 413).",
							NULL, &ml_http_max_body, 1024 * 1024, 1024, 256 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.http_timeout",
							"Time limit of one HTTP request's statement (504), and of an idle or slow connection.",
							NULL, &ml_http_timeout, 10000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_mlops.http_ssl_cert_file",
							   "PEM certificate of the HTTP endpoint; with http_ssl_key_file it serves HTTPS only.",
							   NULL, &ml_http_ssl_cert_file, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_mlops.http_ssl_key_file",
							   "PEM private key of the HTTP endpoint's certificate.",
							   NULL, &ml_http_ssl_key_file, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade || ml_http_port == 0)
		return;

	for (int i = 0; i < ml_http_workers; i++)
	{
		memset(&w, 0, sizeof(w));
		w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		w.bgw_start_time = BgWorkerStart_RecoveryFinished;
		/* short: a worker exits to follow a new http_database */
		w.bgw_restart_time = 1;
		snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_mlops");
		snprintf(w.bgw_function_name, BGW_MAXLEN, "ml_http_main");
		snprintf(w.bgw_name, BGW_MAXLEN, ML_HTTP_TYPE " %d", i + 1);
		snprintf(w.bgw_type, BGW_MAXLEN, ML_HTTP_TYPE);
		w.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&w);
	}
}

/* MHD's own messages go to the server log (never raising: MHD's stack is below us). */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char		buf[512];

	(void) cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* MHD ends its messages with a newline; any other is escaped, not cut */
	if (buf[0] != '\0' && buf[strlen(buf) - 1] == '\n')
		buf[strlen(buf) - 1] = '\0';
	PG_TRY();
	{
		ereport(LOG, (errmsg("pg_mlops http: %s", MlLogText(buf))));
	}
	PG_CATCH();
	{
		FlushErrorState();
	}
	PG_END_TRY();
}

/* The path stays %-encoded: http_request.c decodes the project name itself. */
static size_t
keep_escapes(void *cls, struct MHD_Connection *c, char *s)
{
	(void) cls;
	(void) c;
	return strlen(s);
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
				  enum MHD_RequestTerminationCode toe)
{
	Conn	   *conn = *con_cls;

	(void) cls;
	(void) c;
	(void) toe;
	if (conn == NULL)
		return;
	free(conn->body);
	free(conn);
	*con_cls = NULL;
}

static enum MHD_Result
send_response(struct MHD_Connection *c, MlHttpResponse *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char		retry[16];

	r = MHD_create_response_from_buffer(resp->body.len, resp->body.data, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (resp->www_authenticate)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"pg_mlops\"");
	if (resp->allow)
		MHD_add_response_header(r, "Allow", resp->allow);
	if (resp->retry_after > 0)
	{
		snprintf(retry, sizeof(retry), "%d", resp->retry_after);
		MHD_add_response_header(r, "Retry-After", retry);
	}
	ret = MHD_queue_response(c, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A response built outside MlHttpHandle (too large, or our own failure). */
static enum MHD_Result
send_error(struct MHD_Connection *c, int status, const char *code, const char *message)
{
	MlHttpResponse resp;
	volatile enum MHD_Result ret = MHD_NO;
	MemoryContext old = MemoryContextSwitchTo(request_cxt);

	PG_TRY();
	{
		MlHttpInitResponse(&resp);
		MlHttpError(&resp, status, code, message);
		ret = send_response(c, &resp);
	}
	PG_CATCH();
	{
		FlushErrorState();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(request_cxt);
	return ret;
}

/* Append a piece of the body, or note that the body is over the limit. */
static void
append_body(Conn *conn, const char *data, size_t size)
{
	if (conn->too_large || conn->len + size > (size_t) ml_http_max_body)
	{
		conn->too_large = true;
		return;
	}
	if (conn->len + size + 1 > conn->cap)
	{
		size_t		cap = Max(conn->cap * 2, conn->len + size + 1);
		char	   *body = realloc(conn->body, Min(cap, (size_t) ml_http_max_body + 1));

		if (body == NULL)
		{
			conn->too_large = true;
			return;
		}
		conn->body = body;
		conn->cap = Min(cap, (size_t) ml_http_max_body + 1);
	}
	memcpy(conn->body + conn->len, data, size);
	conn->len += size;
}

/* The whole request is in: answer it, inside PostgreSQL's error handling. */
static enum MHD_Result
answer(struct MHD_Connection *c, const char *url, const char *method, Conn *conn)
{
	MlHttpRequest req;
	MlHttpResponse resp;
	volatile enum MHD_Result ret = MHD_NO;
	volatile bool failed = false;
	MemoryContext old = MemoryContextSwitchTo(request_cxt);

	req.method = method;
	req.path = url;
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	req.output = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "output");
	req.body = conn->body;
	req.body_len = conn->len;
	PG_TRY();
	{
		MlHttpInitResponse(&resp);
		MlHttpHandle(&req, &resp);
		ret = send_response(c, &resp);
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		failed = true;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(request_cxt);
	if (failed)
		return send_error(c, 500, "XX000", "internal error");
	return ret;
}

/*
 * MHD's access handler: first call with the headers, then once per piece
 * of the body, then once more when the request is complete.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	Conn	   *conn = *con_cls;

	(void) cls;
	(void) version;
	if (conn == NULL)
	{
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		conn = calloc(1, sizeof(Conn));
		if (conn == NULL)
			return MHD_NO;
		*con_cls = conn;
		/* refused before reading it (no 100 Continue is sent) */
		if (cl != NULL && strtoull(cl, NULL, 10) > (unsigned long long) ml_http_max_body)
			return send_error(c, 413, "54000", "the request body is larger than pg_mlops.http_max_body");
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		append_body(conn, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (conn->too_large)
		return send_error(c, 413, "54000", "the request body is larger than pg_mlops.http_max_body");
	return answer(c, url, method, conn);
}

/* A PEM file's contents, for MHD's in-memory certificate options. */
static char *
read_pem(const char *path, const char *setting)
{
	FILE	   *f = AllocateFile(path, "r");
	StringInfoData buf;
	char		chunk[4096];
	size_t		n;

	if (f == NULL)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("pg_mlops http: could not open %s \"%s\": %m", setting, path)));
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryStringInfo(&buf, chunk, n);
	FreeFile(f);
	explicit_bzero(chunk, sizeof(chunk));
	return buf.data;
}

/* Start one daemon on one address; false (and a WARNING) if it cannot bind. */
static bool
start_daemon(const struct sockaddr *sa, const char *addr, const char *cert, const char *key)
{
	unsigned int flags = MHD_USE_ERROR_LOG | MHD_USE_EPOLL;
	unsigned int timeout_s = (unsigned int) Max(1, (ml_http_timeout + 999) / 1000);
	struct MHD_Daemon *d;

	if (ndaemons == MAX_DAEMONS)
	{
		ereport(WARNING, (errmsg("pg_mlops http: more than %d listen addresses, \"%s\" left out",
								 MAX_DAEMONS, addr)));
		return false;
	}
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cert)
		flags |= MHD_USE_TLS;
	{
		/* the logger first, so that MHD's own messages go to it too */
		struct MHD_OptionItem ops[] = {
			{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) mhd_log, NULL},
			{MHD_OPTION_SOCK_ADDR, 0, (void *) sa},
			{MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
			{MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, NULL},
			{MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS, NULL},
			{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) request_completed, NULL},
			{MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t) keep_escapes, NULL},
			/* without TLS the list ends here */
			{cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *) cert},
			{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) key},
			{MHD_OPTION_END, 0, NULL}
		};

		d = MHD_start_daemon(flags, (uint16_t) ml_http_port, NULL, NULL, on_request, NULL,
							 MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	}
	if (d == NULL)
	{
		ereport(WARNING,
				(errmsg("pg_mlops http: could not listen on %s port %d", addr, ml_http_port),
				 errhint("Check that the address exists and that no other program uses the port.")));
		return false;
	}
	daemons[ndaemons++] = d;
	return true;
}

/* Every address a listen entry names: "localhost" is 127.0.0.1 and ::1, "*" every interface. */
static void
start_entry(const char *entry, const char *cert, const char *key)
{
	struct addrinfo hints = {0};
	struct addrinfo *res;
	int			rc;

	if (strcmp(entry, "localhost") == 0)
	{
		start_entry("127.0.0.1", cert, key);
		start_entry("::1", cert, key);
		return;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(strcmp(entry, "*") == 0 ? NULL : entry, "0", &hints, &res);
	if (rc != 0)
	{
		ereport(WARNING,
				(errmsg("pg_mlops http: could not resolve listen address \"%s\": %s", entry, gai_strerror(rc))));
		return;
	}
	for (struct addrinfo *a = res; a; a = a->ai_next)
	{
		char		host[NI_MAXHOST];

		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			strlcpy(host, entry, sizeof(host));
		if (a->ai_family == AF_INET)
			((struct sockaddr_in *) a->ai_addr)->sin_port = htons((uint16_t) ml_http_port);
		else
			((struct sockaddr_in6 *) a->ai_addr)->sin6_port = htons((uint16_t) ml_http_port);
		(void) start_daemon(a->ai_addr, host, cert, key);
	}
	freeaddrinfo(res);
}

static void
start_daemons(void)
{
	char	   *copy = pstrdup(ml_http_listen_addresses);
	List	   *names;
	ListCell   *lc;
	char	   *cert = NULL;
	char	   *key = NULL;

	if (*ml_http_ssl_cert_file || *ml_http_ssl_key_file)
	{
		if (!*ml_http_ssl_cert_file || !*ml_http_ssl_key_file)
			ereport(FATAL,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("pg_mlops http: both pg_mlops.http_ssl_cert_file and pg_mlops.http_ssl_key_file must be set for TLS")));
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			ereport(FATAL,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("pg_mlops http: this libmicrohttpd has no TLS support")));
		cert = read_pem(ml_http_ssl_cert_file, "pg_mlops.http_ssl_cert_file");
		key = read_pem(ml_http_ssl_key_file, "pg_mlops.http_ssl_key_file");
	}
	if (!SplitGUCList(copy, ',', &names))
		elog(FATAL, "pg_mlops http: invalid pg_mlops.http_listen_addresses");
	foreach(lc, names)
		start_entry((char *) lfirst(lc), cert, key);
	if (key)
		explicit_bzero(key, strlen(key));
	if (ndaemons == 0)
		ereport(FATAL,
				(errmsg("pg_mlops http: could not listen on any of \"%s\" port %d",
						ml_http_listen_addresses, ml_http_port)));
}

/* The events to wait for: the latch, the postmaster, every daemon's epoll descriptor. */
static WaitEventSet *
wait_set(void)
{
	WaitEventSet *set = CreateWaitEventSet(TopMemoryContext, ndaemons + 2);

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < ndaemons; i++)
	{
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemons[i], MHD_DAEMON_INFO_EPOLL_FD);

		if (info == NULL)
			elog(FATAL, "pg_mlops http: the daemon has no epoll descriptor");
		AddWaitEventToSet(set, WL_SOCKET_READABLE, info->epoll_fd, NULL, NULL);
	}
	return set;
}

static long
next_timeout(void)
{
	long		ms = 1000;

	for (int i = 0; i < ndaemons; i++)
	{
		MHD_UNSIGNED_LONG_LONG t;

		if (MHD_get_timeout(daemons[i], &t) == MHD_YES && (long) Min(t, 1000) < ms)
			ms = (long) Min(t, 1000);
	}
	return ms;
}

void
ml_http_main(Datum main_arg)
{
	WaitEventSet *set;
	WaitEvent	events[MAX_DAEMONS + 2];
	char	   *served;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(ml_http_database, NULL, 0);
	served = MemoryContextStrdup(TopMemoryContext, ml_http_database);
	pgstat_report_appname(ML_HTTP_TYPE);
	/* nothing the consumer put in a search_path can capture our statements */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION);
	request_cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops http request",
										ALLOCSET_DEFAULT_SIZES);
	start_daemons();
	set = wait_set();
	ereport(LOG,
			(errmsg("pg_mlops http worker %d serving database \"%s\" on %s port %d%s",
					DatumGetInt32(main_arg) + 1, ml_http_database, ml_http_listen_addresses,
					ml_http_port, *ml_http_ssl_cert_file ? " (TLS)" : "")));

	for (;;)
	{
		/* a cancel between requests cancels nothing (a statement's is handled in http_request.c) */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/*
			 * A backend cannot change database: exit, and the postmaster
			 * starts the worker again (bgw_restart_time) on the new one.
			 */
			if (strcmp(served, ml_http_database) != 0)
			{
				ereport(LOG,
						(errmsg("pg_mlops http worker %d restarting to serve database \"%s\"",
								DatumGetInt32(main_arg) + 1, ml_http_database)));
				proc_exit(1);
			}
		}
		(void) WaitEventSetWait(set, next_timeout(), events, lengthof(events), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < ndaemons; i++)
			(void) MHD_run(daemons[i]);
	}
}
