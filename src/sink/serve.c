/*
 * The sink's HTTP side.  Every request gets a context from the URI log
 * callback (the only place libmicrohttpd shows the target as sent, query
 * included: tokens are signed over it).  The body is fed to a SHA-256 as
 * it arrives and dropped, so memory stays flat whatever the size; the
 * answer is queued only once the body is in, which keeps keep-alive and
 * lets libmicrohttpd send 100 Continue to clients that ask for it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <microhttpd.h>

#include "sink.h"

#define SINK_MEMORY_LIMIT	(256 * 1024)	/* bigger reads, fewer calls */
#define SINK_CONN_LIMIT		4000
#define SINK_IDLE_TIMEOUT	120

struct upload {
	char			*target;	/* raw, as sent */
	int			 started;	/* the handler ran once */
	int			 counted;	/* in in_flight */
	gnutls_hash_hd_t	 hash;
	uint64_t		 bytes;
};

void
sink_log(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "geo307-sink: %s\n", buf);
}

double
sink_load(struct sink *s)
{
	double	l = (double)atomic_load(&s->in_flight) / s->capacity;

	return l > 1 ? 1 : l;
}

static void *
uri_logged(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct upload	*u = calloc(1, sizeof(*u));

	(void)cls;
	(void)c;
	if (u != NULL && (u->target = strdup(uri != NULL ? uri : "")) == NULL) {
		free(u);
		u = NULL;
	}
	return u;
}

static void
completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct sink	*s = cls;
	struct upload	*u = *req_cls;

	(void)c;
	(void)toe;
	if (u == NULL)
		return;
	if (u->hash != NULL)
		gnutls_hash_deinit(u->hash, NULL);
	if (u->counted)
		atomic_fetch_sub(&s->in_flight, 1);
	free(u->target);
	free(u);
	*req_cls = NULL;
}

static enum MHD_Result
answer_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	struct MHD_Response	*r;
	char			*text = json_dumps(j, JSON_COMPACT);
	enum MHD_Result		 rc;

	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, "Content-Type",
	    "application/json") == MHD_NO ||
	    MHD_add_response_header(r, "Cache-Control", "no-store") == MHD_NO) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static void
count_method(struct sink *s, const char *method, uint64_t bytes)
{
	unsigned	i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nmethods; i++)
		if (strcmp(s->methods[i].name, method) == 0)
			break;
	if (i == s->nmethods && i < SINK_METHODS_MAX) {
		snprintf(s->methods[i].name, sizeof(s->methods[i].name), "%s",
		    method);
		s->nmethods++;
	}
	if (i < s->nmethods) {
		s->methods[i].requests++;
		s->methods[i].bytes += bytes;
	}
	pthread_mutex_unlock(&s->lock);
}

static json_t *
stats_json(struct sink *s)
{
	json_t		*j = json_object(), *req = json_object(),
			*bytes = json_object();
	uint64_t	 tr = 0, tb = 0;
	unsigned	 i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nmethods; i++) {
		json_object_set_new(req, s->methods[i].name,
		    json_integer((json_int_t)s->methods[i].requests));
		json_object_set_new(bytes, s->methods[i].name,
		    json_integer((json_int_t)s->methods[i].bytes));
		tr += s->methods[i].requests;
		tb += s->methods[i].bytes;
	}
	pthread_mutex_unlock(&s->lock);
	json_object_set_new(j, "server", json_string(s->id));
	json_object_set_new(j, "requests", req);
	json_object_set_new(j, "bytes", bytes);
	json_object_set_new(j, "total_requests", json_integer((json_int_t)tr));
	json_object_set_new(j, "total_bytes", json_integer((json_int_t)tb));
	json_object_set_new(j, "in_flight",
	    json_integer(atomic_load(&s->in_flight)));
	json_object_set_new(j, "rejected",
	    json_integer((json_int_t)atomic_load(&s->rejected)));
	json_object_set_new(j, "reports",
	    json_integer((json_int_t)atomic_load(&s->reports)));
	json_object_set_new(j, "load", json_real(sink_load(s)));
	return j;
}

/* The sink's own paths: stats and the agent's probe; 0 = not one. */
static int
internal_path(const struct upload *u, const char *method)
{
	return strcmp(method, "GET") == 0 &&
	    (strcmp(u->target, SINK_STATS_PATH) == 0 ||
	    strcmp(u->target, SINK_PROBE_PATH) == 0);
}

static enum MHD_Result
answer_internal(struct sink *s, struct MHD_Connection *c,
    const struct upload *u)
{
	json_t	*j;

	if (strcmp(u->target, SINK_STATS_PATH) == 0)
		return answer_json(c, MHD_HTTP_OK, stats_json(s));
	j = json_object();
	if (atomic_load(&s->unhealthy)) {
		json_object_set_new(j, "status", json_string("unhealthy"));
		return answer_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, j);
	}
	json_object_set_new(j, "status", json_string("ok"));
	return answer_json(c, MHD_HTTP_OK, j);
}

/* 1 when the token is missing or bad; *tr says why. */
static int
token_bad(struct sink *s, const struct upload *u, const char *method,
    enum token_result *tr)
{
	if (s->keys.n == 0)
		return 0;
	*tr = token_verify(&s->keys, s->id, method, u->target, s->base,
	    (int64_t)time(NULL));
	return *tr != TOKEN_OK;
}

static enum MHD_Result
answer_forbidden(struct sink *s, struct MHD_Connection *c,
    enum token_result tr)
{
	json_t	*j = json_object();

	atomic_fetch_add(&s->rejected, 1);
	json_object_set_new(j, "server", json_string(s->id));
	json_object_set_new(j, "error", json_string("bad token"));
	json_object_set_new(j, "token", json_string(token_result_name(tr)));
	return answer_json(c, MHD_HTTP_FORBIDDEN, j);
}

/*
 * A client that asked "Expect: 100-continue" with a bad token is
 * refused before it sends the body: libmicrohttpd then sends no 100
 * Continue and closes.  Without Expect the body is read first, since an
 * early answer there ends in a reset that can eat the 403.
 */
static int
refuse_early(struct sink *s, struct MHD_Connection *c, const struct upload *u,
    const char *method, enum token_result *tr)
{
	const char	*e = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_EXPECT);

	return e != NULL && strcasecmp(e, "100-continue") == 0 &&
	    token_bad(s, u, method, tr);
}

static enum MHD_Result
answer_upload(struct sink *s, struct MHD_Connection *c, struct upload *u,
    const char *method)
{
	uint8_t			d[32];
	char			hex[65];
	enum token_result	tr;
	json_t			*j;
	int			i;

	if (token_bad(s, u, method, &tr))
		return answer_forbidden(s, c, tr);
	j = json_object();
	gnutls_hash_deinit(u->hash, d);
	u->hash = NULL;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	count_method(s, method, u->bytes);
	json_object_set_new(j, "server", json_string(s->id));
	json_object_set_new(j, "method", json_string(method));
	json_object_set_new(j, "target", json_string(u->target));
	json_object_set_new(j, "bytes", json_integer((json_int_t)u->bytes));
	json_object_set_new(j, "sha256", json_string(hex));
	return answer_json(c, MHD_HTTP_CREATED, j);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **req_cls)
{
	struct sink		*s = cls;
	struct upload		*u = *req_cls;
	enum token_result	 tr;

	(void)url;
	(void)version;
	if (u == NULL)
		return MHD_NO;		/* out of memory in uri_logged */
	if (!u->started) {
		/* Nothing queued on the first call: keep-alive, 100 Continue. */
		u->started = 1;
		if (internal_path(u, method))
			return MHD_YES;
		if (refuse_early(s, c, u, method, &tr))
			return answer_forbidden(s, c, tr);
		if (gnutls_hash_init(&u->hash, GNUTLS_DIG_SHA256) < 0)
			return MHD_NO;
		u->counted = 1;
		atomic_fetch_add(&s->in_flight, 1);
		return MHD_YES;
	}
	if (*size > 0) {
		if (u->hash != NULL)
			gnutls_hash(u->hash, data, *size);
		u->bytes += *size;
		*size = 0;
		return MHD_YES;
	}
	if (u->hash == NULL)
		return answer_internal(s, c, u);
	return answer_upload(s, c, u, method);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	sink_log("%s", buf);
}

int
sink_serve_start(struct sink *s, char *err, size_t errlen)
{
	unsigned	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	if (s->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr,
	    MHD_OPTION_THREAD_POOL_SIZE, s->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)SINK_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SINK_IDLE_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SINK_MEMORY_LIMIT,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_logged, s,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	    MHD_OPTION_END);
	if (s->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s (in use? bad "
		    "address?)", s->listen);
		return -1;
	}
	return 0;
}

void
sink_serve_stop(struct sink *s)
{
	if (s->mhd != NULL)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
}
