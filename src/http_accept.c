/*
 * The http module's acceptor (http.c describes the module).  geo307
 * accepts the public sockets itself, in one thread, and hands each one to
 * libmicrohttpd with MHD_add_connection, so that the connection limits
 * apply before a single byte of a request is read:
 *
 * - per_ip_connections: the extra connection is answered at once with a
 *   503, Retry-After and Connection: close, written here before its
 *   request arrives, and then closed with a lingering close (never a
 *   silent close, never a slot held for its header to trickle in);
 * - max_connections: when the table is nearly full, idle keep-alive
 *   connections are evicted, then a header in progress from an address
 *   that holds more connections than the newcomer's (http_conn.c
 *   chooses); only when nothing can be evicted does the newcomer get the
 *   503.
 *
 * With [listen] proxy_protocol, a trusted peer's socket first waits here
 * for its PROXY header (http_pending.c), and the limits then apply to
 * the client address the header carries.
 *
 * libmicrohttpd's own limits (CONNECTION_LIMIT, PER_IP_CONNECTION_LIMIT)
 * close silently, so its connection limit is set above ours and never
 * reached.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "conntrack.h"
#include "epoch.h"
#include "http_internal.h"
#include "linger.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "rng.h"
#include "runtime.h"

#define ACCEPT_BATCH	64		/* per listener per wakeup */
#define STOP_TAG	UINT32_MAX	/* epoll tag of the stop eventfd */
#define EVENTS_MAX	64		/* per epoll_wait */
#define REFUSAL_MAX	2048

static const char *
no_header(void *ctx, const char *name, char *buf, size_t bufsz, int *count)
{
	(void)ctx;
	(void)name;
	(void)buf;
	(void)bufsz;
	if (count != NULL)
		*count = 0;
	return NULL;
}

/*
 * The 503 of an over-limit connection, as respond() decides it (one
 * implementation of the answer), written out as HTTP/1.1 bytes.  0 if it
 * does not fit (it always does: a short text and a few headers).
 */
static size_t
refusal_bytes(struct http_server *srv, const struct netaddr *peer,
    char *buf, size_t len)
{
	const struct runtime	*rt;
	struct request_view	 rv;
	struct answer		 a;
	size_t			 i, n;
	int			 w;

	memset(&rv, 0, sizeof(rv));
	rv.method = "GET";
	rv.peer = *peer;
	rv.header = no_header;
	rv.over_limit = 1;
	rv.now = clock_mono();
	epoch_enter();
	rt = runtime_current();
	respond(rt, &rv, 0, &srv->accept_rng, &a);
	epoch_exit();
	w = snprintf(buf, len, "HTTP/1.1 %d Service Unavailable\r\n",
	    a.status);
	n = w > 0 ? (size_t)w : len;
	for (i = 0; i < a.nheaders && n < len; i++) {
		w = snprintf(buf + n, len - n, "%s: %s\r\n",
		    a.headers[i].name, a.headers[i].value);
		n += w > 0 ? (size_t)w : len;
	}
	if (n < len) {
		w = snprintf(buf + n, len - n, "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		    a.content_type ? a.content_type : "text/plain",
		    a.bodylen);
		n += w > 0 ? (size_t)w : len;
	}
	if (n + a.bodylen <= len) {
		memcpy(buf + n, a.body, a.bodylen);
		n += a.bodylen;
	} else
		n = 0;
	metrics_request(a.status, a.reason, -1, clock_mono() - rv.now);
	respond_answer_free(&a);
	return n;
}

/*
 * Answer 503 and close without reading the request: the answer goes out
 * first (the socket's buffer is empty, it fits), then our FIN, then the
 * linger reads what the client still sends so that it reads the 503
 * rather than a reset.  The per-IP count (acquired by the caller) lives
 * on while the socket lingers.
 */
static void
refuse(struct http_server *srv, int fd, uint64_t key,
    const struct netaddr *peer, enum conn_refusal why)
{
	char		 buf[REFUSAL_MAX];
	size_t		 n;
	struct conn	*cn;

	metrics_conn_refused(why);
	if ((n = refusal_bytes(srv, peer, buf, sizeof(buf))) > 0)
		(void)send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	if ((cn = calloc(1, sizeof(*cn))) != NULL &&
	    linger_reserve(srv->linger, key) == 0) {
		cn->srv = srv;
		cn->ipkey = key;
		linger_adopt(srv->linger, fd, key, http_conn_release, cn);
		return;
	}
	free(cn);
	close(fd);
	conntrack_release(srv->ct, key);
}

/* Room for one more connection, evicting to make it if need be. */
static int
room_for_one(struct http_server *srv, unsigned mine)
{
	unsigned	open = atomic_load(&srv->open);
	unsigned	evicting = atomic_load(&srv->evicting);
	unsigned	live = open > evicting ? open - evicting : 0;

	if (live < srv->evict_at)
		return 1;
	/* Nearly full: evict a few, and admit this one if below the top. */
	if (http_conn_evict(srv, 1 + srv->max_conns / 256, mine) > 0)
		return 1;
	return live < srv->max_conns;
}

/*
 * Apply the limits to the connection's peer (sa: the socket's, or the
 * one its PROXY header names) and hand it to listener i's daemon.
 */
void
http_accept_handover(struct http_server *srv, size_t i, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct netaddr	peer;
	uint64_t	key;
	unsigned	count;

	memset(&peer, 0, sizeof(peer));
	(void)netaddr_from_sockaddr(sa, &peer);
	key = netaddr_limit_key(&peer);
	if ((count = conntrack_acquire(srv->ct, key)) == UINT_MAX) {
		close(fd);		/* out of memory: nothing to count it */
		return;
	}
	if (srv->per_ip > 0 && count > srv->per_ip) {
		refuse(srv, fd, key, &peer, REFUSE_PER_IP);
		return;
	}
	if (!room_for_one(srv, count)) {
		refuse(srv, fd, key, &peer, REFUSE_FULL);
		return;
	}
	atomic_fetch_add(&srv->open, 1);
	/*
	 * From here the connection's count is released when MHD says it
	 * closed (http_conn.c).  MHD closes the socket itself when it
	 * fails; a failure after it queued the socket to a worker (out of
	 * memory for the connection's pool) would lose the count.
	 */
	if (MHD_add_connection(srv->daemons[i], fd, sa, salen) != MHD_YES) {
		atomic_fetch_sub(&srv->open, 1);
		conntrack_release(srv->ct, key);
		log_warn("listen %s: libmicrohttpd refused a connection: %s",
		    srv->labels[i], strerror(errno));
	}
}

/* Out of descriptors: say so at most once a second and back off. */
static void
accept_failed(struct http_server *srv, size_t i, int err)
{
	double	now = clock_mono();

	if (now - srv->accept_warned >= 1) {
		srv->accept_warned = now;
		log_err("listen %s: accept: %s", srv->labels[i],
		    strerror(err));
	}
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
		usleep(10000);
}

static void
accept_batch(struct http_server *srv, size_t i)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, n;

	for (n = 0; n < ACCEPT_BATCH; n++) {
		len = sizeof(ss);
		fd = accept4(srv->fds[i], (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO || errno == EPERM)
				continue;
			accept_failed(srv, i, errno);
			return;
		}
		if (srv->pending != NULL)
			http_pending_accepted(srv, i, fd, (struct sockaddr *)&ss,
			    len);
		else
			http_accept_handover(srv, i, fd, (struct sockaddr *)&ss,
			    len);
	}
}

static void *
acceptor(void *arg)
{
	struct http_server	*srv = arg;
	struct epoll_event	 ev[EVENTS_MAX];
	uint32_t		 tag;
	int			 n, k;

	for (;;) {
		n = epoll_wait(srv->epfd, ev, EVENTS_MAX,
		    http_pending_wait_ms(srv));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("accept: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (k = 0; k < n; k++) {
			tag = ev[k].data.u32;
			if (tag == STOP_TAG)
				return NULL;
			if (tag & PENDING_TAG)
				http_pending_readable(srv, tag & ~PENDING_TAG,
				    ev[k].events);
			else
				accept_batch(srv, tag);
		}
		if (srv->pending != NULL)
			http_pending_expire(srv);
	}
}

int
http_accept_start(struct http_server *srv, char *err, size_t errlen)
{
	struct epoll_event	ev;
	size_t			i;

	if (rng_seed_random(&srv->accept_rng) != 0)
		rng_seed(&srv->accept_rng, (uint64_t)(uintptr_t)srv);
	if (srv->proxy_protocol && http_pending_new(srv) != 0) {
		snprintf(err, errlen, "accept thread: out of memory");
		return -1;
	}
	if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = STOP_TAG;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stopfd, &ev) != 0)
		goto fail;
	for (i = 0; i < srv->n; i++) {
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->fds[i], &ev) != 0)
			goto fail;
	}
	if ((errno = pthread_create(&srv->acceptor, NULL, acceptor, srv)) !=
	    0)
		goto fail;
	srv->accepting = 1;
	return 0;
fail:
	snprintf(err, errlen, "accept thread: %s", strerror(errno));
	return -1;
}

void
http_accept_quiesce(struct http_server *srv, size_t i)
{
	(void)epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->fds[i], NULL);
}

void
http_accept_stop(struct http_server *srv)
{
	uint64_t	one = 1;

	if (srv->accepting) {
		(void)write(srv->stopfd, &one, sizeof(one));
		pthread_join(srv->acceptor, NULL);
		srv->accepting = 0;
	}
	http_pending_free(srv);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->stopfd >= 0)
		close(srv->stopfd);
	srv->epfd = srv->stopfd = -1;
}
