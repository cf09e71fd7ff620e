/*
 * The public listener.  libmicrohttpd parses HTTP; the http module feeds
 * it sockets, tracks connections, and applies what LIBRARY-NOTES
 * measured.  It is five files:
 *
 * - http.c (this one): the listen sockets, the daemons and their
 *   options, the TLS certificate callback, quiesce and stop;
 * - http_accept.c: the accept thread, which applies the connection
 *   limits before a request is read and hands sockets to the daemons;
 * - http_pending.c: the accept thread's sockets that still owe their
 *   PROXY protocol header ([listen] proxy_protocol);
 * - http_conn.c: per-connection state, the per-IP count, the socket
 *   duplicate for the linger, the whole-header deadline sweep;
 * - http_request.c: each request, from the raw request-target to the
 *   queued response, the access log line and the metrics.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "conntrack.h"
#include "epoch.h"
#include "http.h"
#include "service.h"
#include "http_internal.h"
#include "log.h"
#include "respond.h"
#include "runtime.h"
#include "tlsid.h"

#define MHD_POOL_MALLOC_MAX	(32 * 1024)	/* larger pools are mmap()ed */

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
		cn->tls = tlsid_ref(rt != NULL && rt->tls != NULL ?
		    rt->tls : cn->srv->tls);
		epoch_exit();
	}
	tlsid_get(cn->tls, pcert, npcert, key);
	return 0;
}

/*
 * The per-connection pool.  libmicrohttpd 0.9.75 keeps in it the request
 * line and the header bytes (the read buffer, from the front: half the
 * pool at the start of each request, grown when the header needs more)
 * and, from the back, one record (struct MHD_HTTP_Header, 64 bytes
 * aligned) per field line and per query argument.  When either runs out
 * it answers a bare 431 itself, without no-store or X-Request-Id.  So the
 * pool holds what respond() accepts (max_header_bytes of fields in at
 * most respond_header_lines_max() lines, a TARGET_MAX target) plus
 * POOL_EXTRA records, for query arguments and for lines just over the
 * limit, so those get geo307's own 431 (a header of short lines gets it
 * up to about 250 lines: the read buffer then needs little).  At the
 * default 16K this is 32 KiB: libmicrohttpd mmap()s larger pools (one
 * mmap and munmap per connection, measured 81 against 19 us of CPU per
 * new connection at 84 KiB) and zeroes the whole pool before each
 * keep-alive request.
 */
#define MHD_RECORD	64	/* a field line's record in the pool */
#define POOL_EXTRA	32	/* records beyond the line limit */
#define POOL_REPLY	2048	/* the response head, written from the pool */
#define POOL_GROW	2048	/* the read buffer grows in steps */

static size_t
pool_size(size_t max_header_bytes)
{
	size_t	back, front, mem;

	back = (respond_header_lines_max(max_header_bytes) + POOL_EXTRA) *
	    MHD_RECORD + POOL_REPLY;
	front = TARGET_MAX + 64 + max_header_bytes + POOL_GROW;
	/* The first half goes to the read buffer whatever it holds. */
	mem = 2 * back > front + back ? 2 * back : front + back;
	mem = (mem + 4095) & ~(size_t)4095;
	return mem < MHD_POOL_MALLOC_MAX ? MHD_POOL_MALLOC_MAX : mem;
}

/* Listener i: its socket and its libmicrohttpd daemon (no listen socket:
 * the acceptor hands connections over). */
static int
start_daemon(struct http_server *srv, const struct listen_addr *la,
    size_t i, unsigned threads, unsigned limit, size_t mem,
    unsigned timeout, char *err, size_t errlen)
{
	struct MHD_OptionItem	tls[2];
	unsigned		flags;

	tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
	    (void *)tls_certificate };
	tls[1] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	if ((srv->fds[i] = listen_socket(la, err, errlen)) < 0)
		return -1;
	srv->n = i + 1;
	if ((srv->labels[i] = strdup(la->text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
	if (la->sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (srv->tls != NULL)
		flags |= MHD_USE_TLS;
	else
		tls[0].option = MHD_OPTION_END;
	srv->daemons[i] = MHD_start_daemon(flags, 0, NULL, NULL,
	    http_request_handle, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0,
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
	    MHD_OPTION_URI_LOG_CALLBACK, http_request_uri_logged, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, http_request_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, srv,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
	if (srv->daemons[i] == NULL) {
		snprintf(err, errlen, "listen %s: libmicrohttpd refused to "
		    "start", la->text);
		return -1;
	}
	return 0;
}

struct http_server *
http_start(const struct runtime *rt, struct linger *lg, char *err,
    size_t errlen)
{
	const struct config	*cfg = rt->cfg;
	struct http_server	*srv;
	unsigned		 threads, limit, timeout;
	size_t			 i, mem;

	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    (srv->ct = conntrack_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(srv);
		return NULL;
	}
	pthread_mutex_init(&srv->lock, NULL);
	srv->epfd = srv->stopfd = -1;
	srv->linger = lg;
	srv->per_ip = cfg->listen.per_ip_connections;
	srv->header_timeout = cfg->listen.header_timeout;
	srv->proxy_protocol = cfg->listen.proxy_protocol;
	/* Sweeps come every 100 ms: a tenth of header_timeout in sweeps. */
	srv->probe_every = (unsigned)fmin(fmax(floor(srv->header_timeout),
	    1), PROBE_EVERY_MAX);
	threads = cfg->listen.threads ? cfg->listen.threads : ncpu();
	if (cfg->listen.naddrs > LISTEN_MAX) {
		snprintf(err, errlen, "more than %d listen addresses",
		    LISTEN_MAX);
		goto fail;
	}
	/*
	 * The acceptor enforces max_connections over all listeners; MHD's
	 * own limit (which closes silently) is set out of its way: the
	 * whole limit per daemon, plus room for connections being evicted.
	 */
	srv->max_conns = cfg->listen.max_connections;
	srv->evict_at = srv->max_conns - srv->max_conns / 16;
	limit = srv->max_conns + srv->max_conns / 4 + threads + 64;
	mem = pool_size(cfg->listen.max_header_bytes);
	timeout = (unsigned)ceil(cfg->listen.keepalive_timeout);
	srv->tls = tlsid_ref(rt->tls);
	for (i = 0; i < cfg->listen.naddrs; i++)
		if (start_daemon(srv, &cfg->listen.addrs[i], i, threads, limit,
		    mem, timeout, err, errlen) != 0)
			goto fail;
	if (http_accept_start(srv, err, errlen) != 0)
		goto fail;
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
		if (srv->quiesced[i])
			continue;
		srv->quiesced[i] = 1;
		http_accept_quiesce(srv, i);
		/*
		 * The acceptor may still be in accept4 on it until
		 * accept_stop, so it is closed there; shut it down so the
		 * kernel stops queueing connections that nobody would
		 * accept (SO_REUSEPORT sends them to the new process).
		 */
		shutdown(srv->fds[i], SHUT_RDWR);
	}
}

int
http_steer_here(struct http_server *srv, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < srv->n; i++)
		if (service_steer_here(srv->fds[i]) != 0) {
			snprintf(err, errlen, "SO_ATTACH_REUSEPORT_CBPF: %s",
			    strerror(errno));
			return -1;
		}
	return 0;
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
	/* First no more sockets, then no more requests. */
	http_accept_stop(srv);
	for (i = 0; i < srv->n; i++) {
		if (srv->daemons[i] != NULL)
			MHD_stop_daemon(srv->daemons[i]);
		if (srv->fds[i] >= 0)
			close(srv->fds[i]);
		srv->daemons[i] = NULL;
		srv->fds[i] = -1;
	}
	srv->n = 0;
}

void
http_free(struct http_server *srv)
{
	size_t	i;

	if (srv == NULL)
		return;
	http_stop(srv);
	for (i = 0; i < LISTEN_MAX; i++)
		free(srv->labels[i]);
	conntrack_free(srv->ct);
	tlsid_unref(srv->tls);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
