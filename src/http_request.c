/*
 * The http module's requests (http.c describes the module): from the raw
 * request-target to a queued response, applying what LIBRARY-NOTES
 * measured about requests:
 *
 * - the raw request-target comes from the URI log callback (the handler's
 *   url is decoded and loses the query);
 * - a request with a body is answered on the first handler call, so MHD
 *   never reads the body and never sends 100 Continue; a bodiless request
 *   is answered on the second call, which keeps the connection alive.
 *
 * Also here: the Content-Length and Transfer-Encoding examination, the
 * header lookup of request_view, the per-thread rng, the access log line
 * and the request metrics.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "epoch.h"
#include "escape.h"
#include "http_internal.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "rng.h"
#include "runtime.h"

struct req {
	char		*target;	/* raw, as sent; NULL if MHD had none */
	size_t		 targetlen;
	double		 start;
	int		 seen;		/* the first handler call happened */
	int		 has_body;
	int		 expect100;	/* Expect: 100-continue */
	int		 chunked;	/* Transfer-Encoding */
	unsigned long long length;	/* declared Content-Length */
	size_t		 lines;		/* field lines */
	int		 early_status;
	int		 bad_target;	/* bytes MHD's string hides (NUL) */
	const char	*raw;		/* MHD's pointer to the target */
	const char	*version;	/* MHD's, valid in the handler only */
	struct http_server *srv;	/* counted in srv->inflight */
};

static _Thread_local struct rng		 t_rng;
static _Thread_local const void		*t_rng_rt;
static atomic_uint			 thread_counter;

void *
http_request_uri_logged(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_server	*srv = cls;
	struct conn		*cn;
	struct req		*rq;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->start = clock_mono();
	rq->srv = srv;
	atomic_fetch_add(&srv->inflight, 1);
	if (uri != NULL) {
		rq->targetlen = strlen(uri);
		rq->target = strdup(uri);
	}
	rq->raw = uri;
	if ((cn = http_conn_of(c)) != NULL) {
		atomic_store(&cn->line_at, rq->start);
		atomic_store(&cn->phase, PHASE_HEADER);
	}
	return rq;
}

void
http_request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req	*rq = *req_cls;

	struct conn	*cn = http_conn_of(c);

	(void)cls;
	(void)toe;
	if (cn != NULL) {
		atomic_store(&cn->idle_at, clock_mono());
		atomic_store(&cn->phase, PHASE_IDLE);
		atomic_fetch_add(&cn->completed, 1);
	}
	if (rq != NULL) {
		if (rq->srv != NULL)
			atomic_fetch_sub(&rq->srv->inflight, 1);
		free(rq->target);
		free(rq);
		*req_cls = NULL;
	}
}

struct body_scan {
	int		 cl_count;
	int		 cl_bad;
	unsigned long long cl;
	int		 te;
	int		 expect_bad;
	int		 expect100;
};

static int
parse_content_length(const char *v, unsigned long long *out)
{
	unsigned long long	n = 0;

	if (*v == '\0')
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > (~0ULL - 9) / 10)
			return -1;
		n = n * 10 + (*v - '0');
	}
	*out = n;
	return 0;
}

static enum MHD_Result
scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct body_scan	*bs = cls;
	unsigned long long	 n;

	(void)kind;
	if (strcasecmp(key, "content-length") == 0) {
		if (value == NULL || parse_content_length(value, &n) != 0 ||
		    (bs->cl_count > 0 && n != bs->cl))
			bs->cl_bad = 1;
		else
			bs->cl = n;
		bs->cl_count++;
	} else if (strcasecmp(key, "transfer-encoding") == 0)
		bs->te = 1;
	else if (strcasecmp(key, "expect") == 0) {
		if (value == NULL || strcasecmp(value, "100-continue") != 0)
			bs->expect_bad = 1;
		else
			bs->expect100 = 1;
	}
	return MHD_YES;
}

/*
 * RFC 9112 section 5: a field name is a token, and obs-fold is rejected.
 * libmicrohttpd 0.9.75 accepts both and hides what it did:
 *
 * - the name is whatever precedes the first ':', spaces included, so
 *   "Transfer-Encoding : chunked" has the name "Transfer-Encoding ";
 * - a line starting with SP or HT is appended to the previous field's
 *   *name* (process_broken_line reallocates the name, which lands in a
 *   new pool block outside the header bytes, and zeroes the original), so
 *   "Content-Length:\r\n 5" becomes a field "Content-Length5" with an
 *   empty value;
 * - a NUL inside a value cuts it short.
 *
 * MHD parses the header in place: its bytes stay in the read buffer from
 * the method on (header_size of them), each CR and LF that ends a line
 * and the ':' of each field replaced by NUL.  So every field, in arrival
 * order, must sit right after the previous line: its name 1 (LF) or 2
 * (CRLF) bytes after the end of the previous value (the request line's
 * version for the first), and the blank line must end the header
 * exactly.  Anything else is a fold or a NUL: 400.
 */
struct field_scan {
	const char	*at;		/* end of the previous line's text */
	size_t		 lines;
	int		 bad;
};

/* RFC 9110 tchar: DIGIT, ALPHA and "!#$%&'*+-.^_`|~"; a table, not strchr. */
static const unsigned char tchar[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

static int
is_tchar(unsigned char c)
{
	return tchar[c];
}

/* The byte after a line's text: where the next line starts, or NULL. */
static const char *
next_line(const char *end)
{
	if (end[0] != '\0')
		return NULL;
	return end[1] == '\0' ? end + 2 : end + 1;
}

static enum MHD_Result
scan_field(void *cls, enum MHD_ValueKind kind, const char *key,
    size_t key_size, const char *value, size_t value_size)
{
	struct field_scan	*fs = cls;
	const char		*at;
	size_t			 i;

	(void)kind;
	if ((at = next_line(fs->at)) != key)
		goto bad;
	if (key_size == 0 || value == NULL || value < key + key_size)
		goto bad;
	for (i = 0; i < key_size; i++)
		if (!is_tchar((unsigned char)key[i]))
			goto bad;
	for (i = 0; i < value_size; i++)
		if (((unsigned char)value[i] < 0x20 && value[i] != '\t') ||
		    value[i] == 0x7f)
			goto bad;
	fs->at = value + value_size;
	fs->lines++;
	return MHD_YES;
bad:
	fs->bad = 1;
	return MHD_NO;
}

static int
fields_malformed(struct MHD_Connection *c, const char *method,
    const char *version, size_t *lines)
{
	const union MHD_ConnectionInfo	*ci;
	struct field_scan		 fs;
	const char			*end, *at;

	if (method == NULL || version == NULL || (ci =
	    MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE)) == NULL)
		return 0;
	end = method + ci->header_size;
	if (version < method || version >= end)
		return 0;	/* not MHD's buffer: nothing to compare */
	fs.at = version + strlen(version);
	fs.bad = 0;
	fs.lines = 0;
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_field, &fs);
	*lines = fs.lines;
	if (fs.bad)
		return 1;
	/* The blank line ends the header. */
	if ((at = next_line(fs.at)) == NULL || (at != end && at + 1 != end &&
	    at + 2 != end))
		return 1;
	return 0;
}

/* SPEC section 1, "has a body". */
static void
examine_body(struct MHD_Connection *c, struct req *rq, const char *method,
    const char *version)
{
	struct body_scan	bs = { 0 };

	if (fields_malformed(c, method, version, &rq->lines)) {
		/* A hidden body may follow: nothing after it is a request. */
		rq->early_status = 400;
		rq->has_body = 1;
		return;
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &bs);
	rq->has_body = bs.te || (bs.cl_count > 0 && !bs.cl_bad && bs.cl > 0);
	rq->expect100 = bs.expect100;
	rq->chunked = bs.te;
	rq->length = bs.cl_count > 0 && !bs.cl_bad ? bs.cl : 0;
	if (bs.cl_bad || (bs.te && bs.cl_count > 0)) {
		rq->early_status = 400;
		rq->has_body = 1;	/* whatever follows is not a request */
	} else if (bs.expect_bad)
		rq->early_status = 417;
}

struct header_join {
	const char	*name;
	char		*buf;
	size_t		 size, len;
	int		 count;
	int		 overflow;
};

static enum MHD_Result
join_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct header_join	*hj = cls;
	size_t			 vlen;

	(void)kind;
	if (strcasecmp(key, hj->name) != 0 || value == NULL)
		return MHD_YES;
	vlen = strlen(value);
	if (hj->len + vlen + 3 > hj->size) {
		hj->overflow = 1;
		return MHD_NO;
	}
	if (hj->count++ > 0) {
		memcpy(hj->buf + hj->len, ", ", 2);
		hj->len += 2;
	}
	memcpy(hj->buf + hj->len, value, vlen);
	hj->len += vlen;
	hj->buf[hj->len] = '\0';
	return MHD_YES;
}

/* request_view.header for MHD: every line of a header, joined. */
static const char *
mhd_header(void *ctx, const char *name, char *buf, size_t size, int *count)
{
	struct header_join	hj = { name, buf, size, 0, 0, 0 };

	if (size == 0)
		return NULL;
	buf[0] = '\0';
	MHD_get_connection_values(ctx, MHD_HEADER_KIND, join_header, &hj);
	if (count != NULL)
		*count = hj.count;
	/*
	 * A header too long for buf is never truncated: the caller gets
	 * respond_header_overflow and may ask again with a larger buf.
	 */
	if (hj.count == 0 || hj.overflow)
		return hj.overflow ? respond_header_overflow : NULL;
	return buf;
}

static struct rng *
thread_rng(const struct runtime *rt)
{
	unsigned	idx;

	if (t_rng_rt == rt)
		return &t_rng;
	if (rt->cfg->selection.has_seed) {
		/* [selection] seed: deterministic per thread, for tests. */
		idx = atomic_fetch_add(&thread_counter, 1);
		rng_seed(&t_rng, rt->cfg->selection.seed +
		    0x9e3779b97f4a7c15ULL * idx);
	} else if (t_rng_rt == NULL && rng_seed_random(&t_rng) != 0)
		rng_seed(&t_rng, (uint64_t)time(NULL) ^ (uintptr_t)&t_rng);
	t_rng_rt = rt;
	return &t_rng;
}

/* The access log line of an answered request (http_log.c). */
static void
access_log(const struct runtime *rt, struct MHD_Connection *c,
    struct conn *cn, const char *method, const struct req *rq,
    const struct answer *a, double dur, int linger)
{
	struct logreq	lr;

	if (!log_access_enabled() || rq->target == NULL)
		return;
	memset(&lr, 0, sizeof(lr));
	lr.method = method;
	lr.target = rq->target;
	lr.targetlen = rq->targetlen;
	lr.proto = rq->version;
	lr.user_agent = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "User-Agent");
	lr.referer = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Referer");
	if (cn != NULL) {
		lr.peer = cn->peer;
		lr.has_peer = 1;
	}
	lr.chunked = rq->chunked;
	lr.length = rq->length;
	lr.expect = rq->expect100;
	lr.linger_refused = linger == 0;
	lr.duration = dur;
	http_log(rt->cfg, cn, &lr, a);
}

static void
count(const struct answer *a, double dur)
{
	metrics_request(a->status, a->reason, a->region_label, dur);
	if (a->server_label >= 0 && (a->status == 307 || a->status == 308))
		metrics_redirect(a->server_label);
	metrics_clientip((enum clientip_metric)a->cip);
	if (a->synthetic)
		metrics_synthetic();
	if (a->failopen)
		metrics_failopen();
	if (a->spill_from >= 0)
		metrics_spill(a->spill_from, a->spill_to);
}

/*
 * The Date header, formatted once a second per thread.  libmicrohttpd
 * adds its own only when the response has none, and builds it with
 * gmtime_r on every response: glibc's gmtime_r takes a process-wide lock
 * (tzset_lock in __tz_convert) that every request thread then shares.
 */
static const char *
date_header(void)
{
	static _Thread_local time_t	sec = (time_t)-1;
	static _Thread_local char	buf[40];
	time_t				now = time(NULL);
	struct tm			tm;

	if (now != sec) {
		if (gmtime_r(&now, &tm) == NULL || strftime(buf, sizeof(buf),
		    "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
			return NULL;
		sec = now;
	}
	return buf;
}

static struct MHD_Response *
build_response(const struct answer *a)
{
	struct MHD_Response	*r;
	const char		*date;
	size_t			 i;

	r = MHD_create_response_from_buffer(a->bodylen, a->body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return NULL;
	/* Without it, libmicrohttpd adds its own: not worth a 500. */
	if ((date = date_header()) != NULL)
		(void)MHD_add_response_header(r, "Date", date);
	for (i = 0; i < a->nheaders; i++)
		if (MHD_add_response_header(r, a->headers[i].name,
		    a->headers[i].value) != MHD_YES)
			goto fail;
	if (a->content_type != NULL && MHD_add_response_header(r,
	    "Content-Type", a->content_type) != MHD_YES)
		goto fail;
	if (a->close && MHD_add_response_header(r, "Connection", "close") !=
	    MHD_YES)
		goto fail;
	return r;
fail:
	/* Every header value was validated; this is a bug, not input. */
	MHD_destroy_response(r);
	return NULL;
}

static enum MHD_Result
answer_request(struct http_server *srv, struct MHD_Connection *c,
    struct conn *cn, struct req *rq, const char *method)
{
	const union MHD_ConnectionInfo	*ci;
	const struct runtime		*rt;
	struct MHD_Response		*r;
	struct request_view		 rv;
	struct answer			 a;
	enum MHD_Result			 ret;
	double				 dur;
	int				 linger;

	memset(&rv, 0, sizeof(rv));
	rv.method = method;
	rv.target = rq->bad_target ? NULL : rq->target;
	rv.targetlen = rq->bad_target ? 0 : rq->targetlen;
	if (cn != NULL)
		rv.peer = cn->peer;
	rv.header = mhd_header;
	rv.ctx = c;
	if ((ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE)) != NULL)
		rv.header_bytes = ci->header_size;
	rv.header_lines = rq->lines;
	/*
	 * An Expect: 100-continue request is answered on the first call
	 * (below), bodiless or not: MHD closes such a connection, so it
	 * lingers like one with a body.
	 */
	rv.has_body = rq->has_body || rq->expect100;
	rv.draining = atomic_load(&srv->draining);
	rv.now = clock_mono();

	linger = rv.has_body ? http_conn_keep_for_linger(cn) : -1;

	epoch_enter();
	rt = runtime_current();
	respond(rt, &rv, rq->early_status, thread_rng(rt), &a);
	if ((r = build_response(&a)) == NULL) {
		log_err("cannot build a %d response", a.status);
		a.status = 500;
		a.close = 1;
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Cache-Control", "no-store");
		MHD_add_response_header(r, "Connection", "close");
	}
	ret = MHD_queue_response(c, a.status, r);
	MHD_destroy_response(r);
	dur = clock_mono() - rq->start;
	count(&a, dur);
	access_log(rt, c, cn, method, rq, &a, dur, linger);
	epoch_exit();
	respond_answer_free(&a);
	return ret;
}

enum MHD_Result
http_request_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http_server	*srv = cls;
	struct conn		*cn = http_conn_of(c);
	struct req		*rq = *req_cls;

	(void)url;
	(void)upload_data;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->start = clock_mono();
		*req_cls = rq;
	}
	rq->version = version;
	if (!rq->seen) {
		rq->seen = 1;
		if (cn != NULL)		/* the header is in */
			atomic_store(&cn->phase, PHASE_ANSWERED);
		examine_body(c, rq, method, version);
		/*
		 * A NUL in the request-target cuts the string MHD hands us;
		 * the version then does not follow the target directly.
		 */
		if (rq->raw != NULL && version != NULL &&
		    version != rq->raw + rq->targetlen + 1)
			rq->bad_target = 1;
		/*
		 * Answer now what has a body (MHD then reads none of it and
		 * sends no 100 Continue) or must close anyway.  So is any
		 * request with Expect: 100-continue: MHD sends 100 Continue
		 * when the first call queues nothing, even with no body, and
		 * then fails the request if more bytes follow.  Answer the
		 * rest on the next call, which keeps the connection alive.
		 */
		if (rq->has_body || rq->expect100 || rq->early_status != 0)
			return answer_request(srv, c, cn, rq, method);
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		/* Not reached: a request with a body was answered above. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	return answer_request(srv, c, cn, rq, method);
}
