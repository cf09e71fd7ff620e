/*
 * The http module's connections (http.c describes the module).  Each
 * connection libmicrohttpd accepts gets a struct conn here, and this file
 * applies what LIBRARY-NOTES measured about connections:
 *
 * - MHD resets a connection it closes with body bytes unread, so before
 *   such an early answer we keep a duplicate of the socket and hand it to
 *   the linger thread when MHD reports the connection closed;
 * - MHD's own timeout restarts at every byte, so the whole-header deadline
 *   is enforced here by a sweep that shuts overdue sockets down;
 * - MHD's per-IP limit closes silently, so the count is kept here and the
 *   extra connection gets a 503 (http_request.c answers it at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/tcp.h>

#include <microhttpd.h>

#include "conntrack.h"
#include "epoch.h"
#include "http_internal.h"
#include "linger.h"
#include "log.h"
#include "runtime.h"
#include "tlsid.h"

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

void
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

struct conn *
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
void
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
