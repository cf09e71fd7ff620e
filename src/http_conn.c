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
 * - MHD's limits close silently, so the acceptor (http_accept.c) counts
 *   connections per IP and in total; when the table is nearly full it
 *   asks http_conn_evict() here for room, and the header deadline shrinks.
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
#include "metrics.h"
#include "runtime.h"
#include "tlsid.h"

/*
 * Eviction and the shrinking header deadline under pressure.  When the
 * table is full, a connection whose header is still coming is evicted
 * only for a newcomer from an address that holds fewer connections than
 * the victim's: one host's slow connections then cannot starve another
 * host, whatever their rate.  EVICT_SAMPLE bounds the candidates looked
 * at per eviction (each costs a count lookup).
 */
#define EVICT_SAMPLE		64
#define PRESSURE_FROM		0.5	/* fill where the deadline shrinks */
#define PRESSURE_MIN		0.1	/* the deadline's factor when full */

void
http_conn_release(void *arg)
{
	struct conn	*cn = arg;
	uint64_t	 bytes;
	int		 outcome;

	/* A json line waiting for its linger outcome is finished now. */
	linger_last_outcome(&outcome, &bytes);
	if (cn->logline != NULL)
		http_log_linger_done(cn, outcome, bytes);
	conntrack_release(cn->srv->ct, cn->ipkey);
	tlsid_unref(cn->tls);
	free(cn);
}

static void
conn_started(struct http_server *srv, struct MHD_Connection *c, void **sctx)
{
	const union MHD_ConnectionInfo	*ci;
	struct conn			*cn;

	if ((cn = calloc(1, sizeof(*cn))) == NULL) {
		/* Not tracked: give its counts back now. */
		struct netaddr	peer;

		memset(&peer, 0, sizeof(peer));
		if ((ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS)) != NULL)
			(void)netaddr_from_sockaddr(ci->client_addr, &peer);
		conntrack_release(srv->ct, netaddr_limit_key(&peer));
		atomic_fetch_sub(&srv->open, 1);
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
	/* The acceptor counted it under the same key. */
	cn->ipkey = netaddr_limit_key(&cn->peer);
	cn->accepted = clock_mono();
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
	atomic_fetch_sub(&srv->open, 1);
	if (cn->evicted)
		atomic_fetch_sub(&srv->evicting, 1);
	if (cn->dupfd >= 0)
		/* The socket (and its per-IP count) lives on in the linger. */
		linger_adopt(srv->linger, cn->dupfd, cn->ipkey, http_conn_release,
		    cn);
	else
		http_conn_release(cn);
}

void
http_conn_notify(void *cls, struct MHD_Connection *c, void **sctx,
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
http_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/*
 * Before answering a request whose body we will not read: keep a
 * duplicate of the socket so that MHD's close does not reset it.
 */
int
http_conn_keep_for_linger(struct conn *cn)
{
	if (cn == NULL || cn->fd < 0)
		return -1;
	if (cn->dupfd >= 0)
		return 1;
	if (linger_reserve(cn->srv->linger, cn->ipkey) != 0)
		return 0;
	if ((cn->dupfd = fcntl(cn->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		log_warn("linger: dup: %s", strerror(errno));
		linger_unreserve(cn->srv->linger, cn->ipkey);
		return -1;
	}
	return 1;
}

/*
 * The factor the header deadline is multiplied by: 1 while the table is
 * at most half full, then down linearly to PRESSURE_MIN when full, so
 * that slow headers give their slots back sooner the fewer are left.
 */
double
http_conn_pressure(const struct http_server *srv)
{
	double	fill, f;

	if (srv->max_conns == 0)
		return 1;
	fill = (double)atomic_load(&srv->open) / srv->max_conns;
	if (fill <= PRESSURE_FROM)
		return 1;
	f = 1 - (1 - PRESSURE_MIN) * (fill - PRESSURE_FROM) /
	    (1 - PRESSURE_FROM);
	return f < PRESSURE_MIN ? PRESSURE_MIN : f;
}

static void
evict(struct http_server *srv, struct conn *cn, enum conn_eviction kind)
{
	/* As the sweep does: MHD sees the EOF and closes the connection. */
	cn->killed = 1;
	cn->evicted = 1;
	atomic_fetch_add(&srv->evicting, 1);
	shutdown(cn->fd, SHUT_RDWR);
	metrics_conn_evicted(kind);
}

/* Idle between requests, and no byte of the next one seen yet. */
static int
is_idle(const struct conn *cn)
{
	return atomic_load(&cn->phase) == PHASE_IDLE &&
	    !(cn->rx_gen == atomic_load(&cn->completed) && cn->rx_first > 0);
}

static int
is_header(const struct conn *cn)
{
	return atomic_load(&cn->phase) != PHASE_ANSWERED && !is_idle(cn);
}

/* Idle keep-alive connections, up to want, from the cursor's list on. */
static unsigned
evict_idle(struct http_server *srv, unsigned want)
{
	struct conn	*cn;
	unsigned	 i, slot, got = 0;

	for (i = 0; i < srv->probe_every && got < want; i++) {
		slot = (srv->evict_cursor + i) % srv->probe_every;
		for (cn = srv->conns[slot]; cn != NULL && got < want;
		    cn = cn->next)
			if (!cn->killed && cn->fd >= 0 && is_idle(cn)) {
				evict(srv, cn, EVICT_IDLE);
				got++;
			}
	}
	return got;
}

/*
 * A header in progress from the address holding the most connections
 * among EVICT_SAMPLE candidates, if it holds more than mine.
 */
static unsigned
evict_heaviest(struct http_server *srv, unsigned mine)
{
	struct conn	*cn, *victim = NULL;
	unsigned	 i, slot, seen = 0, n, most = mine;

	for (i = 0; i < srv->probe_every && seen < EVICT_SAMPLE; i++) {
		slot = (srv->evict_cursor + i) % srv->probe_every;
		for (cn = srv->conns[slot]; cn != NULL && seen < EVICT_SAMPLE;
		    cn = cn->next) {
			if (cn->killed || cn->fd < 0 || !is_header(cn))
				continue;
			seen++;
			if ((n = conntrack_count(srv->ct, cn->ipkey)) > most) {
				most = n;
				victim = cn;
			}
		}
	}
	if (victim == NULL)
		return 0;
	evict(srv, victim, EVICT_SLOW_HEADER);
	return 1;
}

/*
 * The table is nearly full: shut down connections that hold a slot and
 * give nothing, so a newcomer from an address holding mine connections
 * (itself included) gets one.  Idle keep-alive ones first, up to want (a
 * client reopens them), else one header in progress (evict_heaviest).
 * Returns how many.  Only ever called when the table is nearly full.
 */
unsigned
http_conn_evict(struct http_server *srv, unsigned want, unsigned mine)
{
	unsigned	got;

	pthread_mutex_lock(&srv->lock);
	if ((got = evict_idle(srv, want)) == 0)
		got = evict_heaviest(srv, mine);
	srv->evict_cursor++;
	pthread_mutex_unlock(&srv->lock);
	return got;
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
header_due(struct conn *cn, double now, double timeout)
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
		return cn->rx_first ? cn->rx_first + timeout : 0;
	default:
		if (gen == 0)
			return cn->accepted + timeout;
		if (cn->rx_gen == gen && cn->rx_first > 0)
			return cn->rx_first + timeout;
		return atomic_load(&cn->line_at) + timeout;
	}
}

void
http_sweep(struct http_server *srv)
{
	struct conn	*cn;
	double		 now = clock_mono(), due;
	double		 timeout = srv->header_timeout * http_conn_pressure(srv);
	unsigned	 slot;

	pthread_mutex_lock(&srv->lock);
	slot = srv->sweeps++ % srv->probe_every;
	for (cn = srv->conns[slot]; cn != NULL; cn = cn->next) {
		if (cn->killed || cn->fd < 0)
			continue;
		due = header_due(cn, now, timeout);
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
