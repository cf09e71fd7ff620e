/*
 * The public listener.  libmicrohttpd parses HTTP; this file feeds it
 * sockets, tracks connections, and applies what LIBRARY-NOTES measured:
 *
 * - the raw request-target comes from the URI log callback (the handler's
 *   url is decoded and loses the query);
 * - a request with a body is answered on the first handler call, so MHD
 *   never reads the body and never sends 100 Continue; a bodiless request
 *   is answered on the second call, which keeps the connection alive;
 * - MHD resets a connection it closes with body bytes unread, so before
 *   such an early answer we keep a duplicate of the socket and hand it to
 *   the linger thread when MHD reports the connection closed;
 * - MHD's own timeout restarts at every byte, so the whole-header deadline
 *   is enforced here by a sweep that shuts overdue sockets down;
 * - MHD's per-IP limit closes silently, so the count is kept here and the
 *   extra connection gets a 503.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/tcp.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "conntrack.h"
#include "epoch.h"
#include "escape.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "rng.h"
#include "runtime.h"
#include "tlsid.h"

#define MAX_LISTEN	8
#define MHD_POOL_MALLOC_MAX	(32 * 1024)	/* larger pools are mmap()ed */

/*
 * Where a connection is, for the whole-header deadline.  Request threads
 * only store these; the sweep (one thread) reads them and owns the rx_*
 * fields.
 */
enum conn_phase {
	PHASE_HEADER,		/* reading a request's header */
	PHASE_ANSWERED,		/* header complete: no deadline */
	PHASE_IDLE		/* keep-alive, between requests */
};

/*
 * The sweep looks at each connection once every probe_every sweeps (a
 * tenth of header_timeout, sweeps coming every 100 ms, at most
 * PROBE_EVERY_MAX), walking one of probe_every lists each time.  A
 * connection costs the sweep a walk step and, when idle, a
 * getsockopt(TCP_INFO), under the lock that accepts and closes wait for:
 * 8,000 idle keep-alive connections all looked at every sweep cost 170 ms
 * of CPU per second.  The price is precision: a header deadline is
 * enforced up to a tenth of header_timeout late.
 */
#define PROBE_EVERY_MAX	10

struct conn {
	struct http_server	*srv;
	struct conn		*prev, *next;
	struct netaddr		 peer;
	uint64_t		 ipkey;
	int			 fd;
	int			 dupfd;		/* for the linger, or -1 */
	int			 over_limit;
	double			 accepted;
	atomic_int		 phase;
	atomic_uint		 completed;	/* requests completed */
	_Atomic double		 line_at;	/* request line arrived */
	/* The sweep's own: first byte of the next keep-alive request. */
	unsigned		 rx_gen;
	uint64_t		 rx_mark;
	double			 rx_first;
	unsigned		 slot;		/* which sweep looks at it */
	int			 killed;
	struct tls_identity	*tls;		/* this handshake's, or NULL */
};

struct req {
	char		*target;	/* raw, as sent; NULL if MHD had none */
	size_t		 targetlen;
	double		 start;
	int		 seen;		/* the first handler call happened */
	int		 has_body;
	int		 early_status;
	int		 bad_target;	/* bytes MHD's string hides (NUL) */
	const char	*raw;		/* MHD's pointer to the target */
	struct http_server *srv;	/* counted in srv->inflight */
};

struct http_server {
	struct MHD_Daemon	*daemons[MAX_LISTEN];
	int			 fds[MAX_LISTEN];
	int			 quiesced[MAX_LISTEN];
	size_t			 n;
	struct linger		*linger;
	struct conntrack	*ct;
	unsigned		 per_ip;
	double			 header_timeout;
	pthread_mutex_t		 lock;		/* conns list */
	struct conn		*conns[PROBE_EVERY_MAX];	/* by slot */
	unsigned		 nconns;
	unsigned		 sweeps;	/* under lock */
	unsigned		 probe_every;	/* sweeps between probes */
	atomic_int		 draining;
	atomic_uint		 inflight;	/* requests not yet completed */
	/* Served when the runtime in use has none (TLS was switched off
	 * by a reload, which needs a restart to take effect). */
	struct tls_identity	*tls;
};

static _Thread_local struct rng		 t_rng;
static _Thread_local const void		*t_rng_rt;
static atomic_uint			 thread_counter;

/* --- connections --------------------------------------------------- */

static void
conn_release(void *arg)
{
	struct conn	*cn = arg;

	conntrack_release(cn->srv->ct, cn->ipkey);
	tls_identity_unref(cn->tls);
	free(cn);
}

static void
conn_started(struct http_server *srv, struct MHD_Connection *c, void **sctx)
{
	const union MHD_ConnectionInfo	*ci;
	struct conn			*cn;
	unsigned			 count;

	if ((cn = calloc(1, sizeof(*cn))) == NULL) {
		*sctx = NULL;
		return;
	}
	cn->srv = srv;
	cn->dupfd = -1;
	cn->fd = -1;
	if ((ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS)) != NULL)
		(void)netaddr_from_sockaddr(ci->client_addr, &cn->peer);
	if ((ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL)
		cn->fd = ci->connect_fd;
	cn->ipkey = netaddr_limit_key(&cn->peer);
	count = conntrack_acquire(srv->ct, cn->ipkey);
	cn->over_limit = srv->per_ip > 0 && count > srv->per_ip;
	cn->accepted = mono_now();
	cn->rx_gen = ~0u;
	cn->slot = (unsigned)cn->fd % srv->probe_every;
	atomic_store(&cn->phase, PHASE_HEADER);
	pthread_mutex_lock(&srv->lock);
	cn->next = srv->conns[cn->slot];
	if (cn->next)
		cn->next->prev = cn;
	srv->conns[cn->slot] = cn;
	srv->nconns++;
	pthread_mutex_unlock(&srv->lock);
	*sctx = cn;
}

static void
conn_closed(struct http_server *srv, struct conn *cn)
{
	pthread_mutex_lock(&srv->lock);
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		srv->conns[cn->slot] = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	srv->nconns--;
	pthread_mutex_unlock(&srv->lock);
	if (cn->dupfd >= 0)
		/* The socket (and its per-IP count) lives on in the linger. */
		linger_adopt(srv->linger, cn->dupfd, cn->ipkey, conn_release,
		    cn);
	else
		conn_release(cn);
}

static void
notify_connection(void *cls, struct MHD_Connection *c, void **sctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct http_server	*srv = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		conn_started(srv, c, sctx);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *sctx != NULL) {
		conn_closed(srv, *sctx);
		*sctx = NULL;
	}
}

static struct conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/*
 * Before answering a request whose body we will not read: keep a
 * duplicate of the socket so that MHD's close does not reset it.
 */
static void
conn_keep_for_linger(struct conn *cn)
{
	if (cn == NULL || cn->fd < 0 || cn->dupfd >= 0)
		return;
	if (linger_reserve(cn->srv->linger, cn->ipkey) != 0)
		return;
	if ((cn->dupfd = fcntl(cn->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		log_warn("linger: dup: %s", strerror(errno));
		linger_unreserve(cn->srv->linger, cn->ipkey);
	}
}

static uint64_t
bytes_received(int fd)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_bytes_received;
}

/*
 * When is this connection's header due?  The first request's header is
 * due header_timeout after the accept.  A later one's is due
 * header_timeout after its first byte: libmicrohttpd reads the bytes
 * before anyone sees them, so the sweep notices the first byte by the
 * socket's received-byte count moving while the connection is idle.
 * 0 = no deadline.
 */
static double
header_due(struct http_server *srv, struct conn *cn, double now)
{
	unsigned	gen = atomic_load(&cn->completed);
	uint64_t	rx;

	switch (atomic_load(&cn->phase)) {
	case PHASE_ANSWERED:
		return 0;
	case PHASE_IDLE:
		if (cn->rx_gen != gen) {
			cn->rx_gen = gen;
			cn->rx_mark = bytes_received(cn->fd);
			cn->rx_first = 0;
		} else if (cn->rx_first == 0 &&
		    (rx = bytes_received(cn->fd)) > cn->rx_mark)
			cn->rx_first = now;
		return cn->rx_first ? cn->rx_first + srv->header_timeout : 0;
	default:
		if (gen == 0)
			return cn->accepted + srv->header_timeout;
		if (cn->rx_gen == gen && cn->rx_first > 0)
			return cn->rx_first + srv->header_timeout;
		return atomic_load(&cn->line_at) + srv->header_timeout;
	}
}

void
http_sweep(struct http_server *srv)
{
	struct conn	*cn;
	double		 now = mono_now(), due;
	unsigned	 slot;

	pthread_mutex_lock(&srv->lock);
	slot = srv->sweeps++ % srv->probe_every;
	for (cn = srv->conns[slot]; cn != NULL; cn = cn->next) {
		if (cn->killed || cn->fd < 0)
			continue;
		due = header_due(srv, cn, now);
		if (due > 0 && now > due) {
			/* MHD sees the EOF and closes the connection. */
			cn->killed = 1;
			shutdown(cn->fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

unsigned
http_connections(struct http_server *srv)
{
	unsigned	n;

	pthread_mutex_lock(&srv->lock);
	n = srv->nconns;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* --- requests ------------------------------------------------------ */

static void *
uri_logged(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_server	*srv = cls;
	struct conn		*cn;
	struct req		*rq;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->start = mono_now();
	rq->srv = srv;
	atomic_fetch_add(&srv->inflight, 1);
	if (uri != NULL) {
		rq->targetlen = strlen(uri);
		rq->target = strdup(uri);
	}
	rq->raw = uri;
	if ((cn = conn_of(c)) != NULL) {
		atomic_store(&cn->line_at, rq->start);
		atomic_store(&cn->phase, PHASE_HEADER);
	}
	return rq;
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req	*rq = *req_cls;

	struct conn	*cn = conn_of(c);

	(void)cls;
	(void)toe;
	if (cn != NULL) {
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
	else if (strcasecmp(key, "expect") == 0 &&
	    (value == NULL || strcasecmp(value, "100-continue") != 0))
		bs->expect_bad = 1;
	return MHD_YES;
}

/* SPEC section 1, "has a body". */
static void
examine_body(struct MHD_Connection *c, struct req *rq)
{
	struct body_scan	bs = { 0 };

	MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &bs);
	rq->has_body = bs.te || (bs.cl_count > 0 && !bs.cl_bad && bs.cl > 0);
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
	 * header_overflow and may ask again with a larger buf.
	 */
	if (hj.count == 0 || hj.overflow)
		return hj.overflow ? header_overflow : NULL;
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

static void
access_log(const struct runtime *rt, const char *method, const struct req *rq,
    const struct answer *a, double dur)
{
	char		 line[2048], tgt[1024], ts[40];
	struct timespec	 now;
	struct tm	 tm;
	size_t		 tlen = rq->targetlen;
	const char	*q;
	int		 n;

	if (!accesslog_enabled() || rq->target == NULL)
		return;
	if (!rt->cfg->log.log_query && (q = memchr(rq->target, '?', tlen)))
		tlen = q - rq->target;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	if (rt->cfg->log.format_json) {
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		json_escape(tgt, sizeof(tgt), rq->target, tlen);
		n = snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\","
		    "\"client\":\"%s\",\"method\":\"%s\",\"target\":\"%s\","
		    "\"status\":%d,\"server\":\"%s\",\"reason\":\"%s\","
		    "\"request_id\":\"%s\",\"duration_us\":%.0f}", ts,
		    now.tv_nsec / 1000000, a->client, method, tgt, a->status,
		    a->server_id ? a->server_id : "", reason_name(a->reason),
		    a->request_id, dur * 1e6);
	} else {
		strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S +0000", &tm);
		n = snprintf(line, sizeof(line), "%s - - [%s] \"%s %.*s\" %d "
		    "%zu \"%s\" \"%s\"", a->client, ts, method, (int)tlen,
		    rq->target, a->status, a->bodylen,
		    a->server_id ? a->server_id : "-", a->request_id);
	}
	if (n > 0)
		accesslog_write(line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
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

static struct MHD_Response *
build_response(const struct answer *a)
{
	struct MHD_Response	*r;
	size_t			 i;

	r = MHD_create_response_from_buffer(a->bodylen, a->body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return NULL;
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
	rv.has_body = rq->has_body;
	rv.over_limit = cn != NULL && cn->over_limit;
	rv.draining = atomic_load(&srv->draining);
	rv.now = mono_now();

	if (rq->has_body)
		conn_keep_for_linger(cn);

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
	dur = mono_now() - rq->start;
	count(&a, dur);
	access_log(rt, method, rq, &a, dur);
	epoch_exit();
	answer_free(&a);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http_server	*srv = cls;
	struct conn		*cn = conn_of(c);
	struct req		*rq = *req_cls;

	(void)url;
	(void)upload_data;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->start = mono_now();
		*req_cls = rq;
	}
	if (!rq->seen) {
		rq->seen = 1;
		if (cn != NULL)		/* the header is in */
			atomic_store(&cn->phase, PHASE_ANSWERED);
		examine_body(c, rq);
		/*
		 * A NUL in the request-target cuts the string MHD hands us;
		 * the version then does not follow the target directly.
		 */
		if (rq->raw != NULL && version != NULL &&
		    version != rq->raw + rq->targetlen + 1)
			rq->bad_target = 1;
		/*
		 * Answer now what has a body (MHD then reads none of it and
		 * sends no 100 Continue) or must close anyway.  Answer the
		 * rest on the next call, which keeps the connection alive.
		 */
		if (rq->has_body || rq->early_status != 0 ||
		    (cn != NULL && cn->over_limit))
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

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_info("libmicrohttpd: %s", buf);
}

/* --- sockets and daemons ------------------------------------------- */

static int
listen_socket(const struct listen_addr *la, char *err, size_t errlen)
{
	int	fd, one = 1;

	if ((fd = socket(la->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0)
		goto fail;
	/* A new process can bind before the old one stops (SPEC 5). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (la->sa.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&la->sa, la->salen) != 0 ||
	    listen(fd, 1024) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen %s: %s", la->text, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static unsigned
ncpu(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

/*
 * GnuTLS asks for the certificate during each handshake: hand it the
 * identity of the runtime in use, so SIGHUP can change certificates.
 * The connection keeps a reference, since GnuTLS goes on using it after
 * we return and the runtime may be replaced meanwhile.
 */
static int
tls_certificate(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *npcert, gnutls_privkey_t *key)
{
	struct MHD_Connection		*c;
	const union MHD_ConnectionInfo	*ci;
	const struct runtime		*rt;
	struct conn			*cn;

	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if ((c = gnutls_session_get_ptr(session)) == NULL ||
	    (ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT)) == NULL ||
	    (cn = ci->socket_context) == NULL)
		return -1;		/* no state to hold it: fail */
	if (cn->tls == NULL) {
		epoch_enter();
		rt = runtime_current();
		cn->tls = tls_identity_ref(rt != NULL && rt->tls != NULL ?
		    rt->tls : cn->srv->tls);
		epoch_exit();
	}
	tls_identity_get(cn->tls, pcert, npcert, key);
	return 0;
}

struct http_server *
http_start(const struct runtime *rt, struct linger *lg, char *err,
    size_t errlen)
{
	const struct config	*cfg = rt->cfg;
	struct http_server	*srv;
	unsigned		 threads, flags, limit, timeout;
	size_t			 i, mem;
	struct MHD_OptionItem	 tls[2];

	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    (srv->ct = conntrack_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(srv);
		return NULL;
	}
	pthread_mutex_init(&srv->lock, NULL);
	srv->linger = lg;
	srv->per_ip = cfg->listen.per_ip_connections;
	srv->header_timeout = cfg->listen.header_timeout;
	/* Sweeps come every 100 ms: a tenth of header_timeout in sweeps. */
	srv->probe_every = (unsigned)fmin(fmax(floor(srv->header_timeout),
	    1), PROBE_EVERY_MAX);
	threads = cfg->listen.threads ? cfg->listen.threads : ncpu();
	if (cfg->listen.naddrs > MAX_LISTEN) {
		snprintf(err, errlen, "more than %d listen addresses",
		    MAX_LISTEN);
		goto fail;
	}
	limit = cfg->listen.max_connections / cfg->listen.naddrs;
	if (limit < threads)
		limit = threads;
	/*
	 * The pool holds the request line and the header (MHD keeps them in
	 * its read buffer); the size limit itself is checked in respond() so
	 * it gets a proper 431.  Stay at or under 32 KiB when the limits
	 * allow: libmicrohttpd mmap()s larger pools, one mmap and munmap per
	 * connection, which made a new connection 10x dearer (measured).
	 */
	mem = cfg->listen.max_header_bytes + TARGET_MAX + 8192;
	if (mem < MHD_POOL_MALLOC_MAX)
		mem = MHD_POOL_MALLOC_MAX;
	timeout = (unsigned)ceil(cfg->listen.keepalive_timeout);
	srv->tls = tls_identity_ref(rt->tls);
	tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
	    (void *)tls_certificate };
	tls[1] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	for (i = 0; i < cfg->listen.naddrs; i++) {
		if ((srv->fds[i] = listen_socket(&cfg->listen.addrs[i], err,
		    errlen)) < 0)
			goto fail;
		srv->n = i + 1;
		flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		    MHD_USE_ITC | MHD_USE_ERROR_LOG;
		if (cfg->listen.addrs[i].sa.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		if (srv->tls != NULL)
			flags |= MHD_USE_TLS;
		else
			tls[0].option = MHD_OPTION_END;
		srv->daemons[i] = MHD_start_daemon(flags, 0, NULL, NULL,
		    handle, srv,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_LISTEN_SOCKET, srv->fds[i],
		    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0,
		    MHD_OPTION_CONNECTION_LIMIT, limit,
		    MHD_OPTION_CONNECTION_TIMEOUT, timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
		    MHD_OPTION_URI_LOG_CALLBACK, uri_logged, srv,
		    MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv,
		    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv,
		    MHD_OPTION_ARRAY, tls,
		    MHD_OPTION_END);
		if (srv->daemons[i] == NULL) {
			snprintf(err, errlen, "listen %s: libmicrohttpd "
			    "refused to start", cfg->listen.addrs[i].text);
			goto fail;
		}
	}
	return srv;
fail:
	http_free(srv);
	return NULL;
}

void
http_set_draining(struct http_server *srv)
{
	atomic_store(&srv->draining, 1);
}

void
http_quiesce(struct http_server *srv)
{
	size_t	i;

	for (i = 0; i < srv->n; i++) {
		if (srv->daemons[i] == NULL || srv->quiesced[i])
			continue;
		if (MHD_quiesce_daemon(srv->daemons[i]) == srv->fds[i]) {
			srv->quiesced[i] = 1;
			/*
			 * MHD's threads may still hold the descriptor until
			 * MHD_stop_daemon, so it cannot be closed yet; shut
			 * it down so the kernel stops queueing connections
			 * that nobody would accept (SO_REUSEPORT sends them
			 * to the new process instead).
			 */
			shutdown(srv->fds[i], SHUT_RDWR);
		}
	}
}

unsigned
http_inflight(struct http_server *srv)
{
	return atomic_load(&srv->inflight);
}

void
http_stop(struct http_server *srv)
{
	size_t	i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->n; i++) {
		/* MHD closes the listen socket it still owns. */
		if (srv->daemons[i] != NULL)
			MHD_stop_daemon(srv->daemons[i]);
		if (srv->daemons[i] == NULL || srv->quiesced[i])
			close(srv->fds[i]);
		srv->daemons[i] = NULL;
	}
	srv->n = 0;
}

void
http_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	http_stop(srv);
	conntrack_free(srv->ct);
	tls_identity_unref(srv->tls);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
