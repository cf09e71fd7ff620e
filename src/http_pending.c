/*
 * The acceptor's PROXY protocol headers (http.c describes the module).
 * With [listen] proxy_protocol, a socket accepted from a peer inside
 * [trust] proxies is not handed to libmicrohttpd until its header is in:
 * its source address then becomes the connection's peer, so the per-IP
 * limit, the trust walk, the linger and the access log all see the
 * client, and TLS (libmicrohttpd's) starts after the header.
 *
 * Nothing here blocks the acceptor.  The header usually arrives with the
 * connection, so it is peeked at right after accept; only a socket whose
 * header is not in yet goes into a bounded table of pending sockets that
 * the acceptor's epoll watches (edge-triggered: a peek consumes nothing,
 * so a level-triggered socket holding half a header would wake the loop
 * forever).  Each peek reads the bytes so far without consuming them;
 * when they hold a whole header, exactly its length is read, so the
 * first HTTP or TLS byte stays in the socket for libmicrohttpd.
 *
 * Pending sockets all get the same deadline (header_timeout), so the
 * table keeps them in a list in arrival order: the head is the next to
 * expire, and also the one closed to make room when the table is full.
 * A header that is malformed, or cut short by the peer's FIN or reset,
 * or late, closes the socket without an answer, as the specification
 * asks ("abort the connection as soon as possible").
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "epoch.h"
#include "http_internal.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "proxyproto.h"
#include "runtime.h"

#define PENDING_MAX	1024	/* sockets waiting for their header */
#define PEEK_FIRST	256	/* any v1 line; a v2 with small TLVs */
#define NIL		UINT32_MAX

struct pending {
	int			 fd;		/* -1: free */
	uint32_t		 listener;
	double			 deadline;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	uint32_t		 prev, next;	/* arrival order, or free list */
};

struct pending_table {
	struct pending	*v;
	uint32_t	 cap;
	uint32_t	 head, tail;	/* oldest, newest */
	uint32_t	 free;
	double		 warned;
	uint8_t		 buf[PROXYPROTO_MAX];	/* the acceptor's peeks */
};

int
http_pending_new(struct http_server *srv)
{
	struct pending_table	*t;
	uint32_t		 k;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->cap = srv->max_conns < PENDING_MAX ? srv->max_conns : PENDING_MAX;
	if ((t->v = calloc(t->cap, sizeof(*t->v))) == NULL) {
		free(t);
		return -1;
	}
	for (k = 0; k < t->cap; k++) {
		t->v[k].fd = -1;
		t->v[k].next = k + 1 < t->cap ? k + 1 : NIL;
	}
	t->free = 0;
	t->head = t->tail = NIL;
	srv->pending = t;
	return 0;
}

/* The acceptor has stopped: close what still waits. */
void
http_pending_free(struct http_server *srv)
{
	struct pending_table	*t = srv->pending;
	uint32_t		 k;

	if (t == NULL)
		return;
	for (k = 0; k < t->cap; k++)
		if (t->v[k].fd >= 0)
			close(t->v[k].fd);
	free(t->v);
	free(t);
	srv->pending = NULL;
}

/* Out of the list and the epoll set, back on the free list. */
static void
slot_release(struct http_server *srv, uint32_t k)
{
	struct pending_table	*t = srv->pending;
	struct pending		*p = &t->v[k];

	(void)epoll_ctl(srv->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	if (p->prev != NIL)
		t->v[p->prev].next = p->next;
	else
		t->head = p->next;
	if (p->next != NIL)
		t->v[p->next].prev = p->prev;
	else
		t->tail = p->prev;
	p->fd = -1;
	p->next = t->free;
	t->free = k;
}

/* The oldest pending socket, given up on: late, or making room. */
static void
expire_head(struct http_server *srv)
{
	struct pending_table	*t = srv->pending;
	int			 fd = t->v[t->head].fd;

	slot_release(srv, t->head);
	close(fd);
	metrics_proxy_protocol(PPM_TIMEOUT);
}

static int
peer_trusted(const struct sockaddr *sa)
{
	const struct runtime	*rt;
	struct netaddr		 a;
	int			 yes;

	if (netaddr_from_sockaddr(sa, &a) != 0)
		return 0;
	epoch_enter();
	rt = runtime_current();
	yes = rt != NULL && netaddr_cidr_list_contains(&rt->cfg->trust.proxies, &a);
	epoch_exit();
	return yes;
}

/*
 * Peek at what the socket holds.  MORE also when nothing has come yet;
 * BAD when the peer closed or reset with the header incomplete (bytes
 * still queued are seen first: the caller then learns of the FIN from
 * epoll).  A v2 header longer than the first peek is peeked again whole.
 */
static enum proxyproto_status
peek_header(struct pending_table *t, int fd, struct proxyproto *pp)
{
	enum proxyproto_status	r;
	size_t			size = PEEK_FIRST;
	ssize_t			n;

	for (;;) {
		n = recv(fd, t->buf, size, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			memset(pp, 0, sizeof(*pp));
			return PROXYPROTO_MORE;
		}
		if (n <= 0)
			return PROXYPROTO_BAD;
		r = proxyproto_parse(t->buf, (size_t)n, pp);
		if (r != PROXYPROTO_MORE || (size_t)n < size ||
		    pp->want <= size)
			return r;
		size = pp->want;
	}
}

/* A complete header: consume exactly it, then hand the socket over. */
static void
finish(struct http_server *srv, enum proxyproto_status r,
    const struct proxyproto *pp, int fd, size_t i,
    const struct sockaddr *sa, socklen_t salen)
{
	if (r == PROXYPROTO_DONE && recv(fd, srv->pending->buf, pp->len,
	    MSG_DONTWAIT) != (ssize_t)pp->len)
		r = PROXYPROTO_BAD;	/* it was there a moment ago */
	if (r != PROXYPROTO_DONE) {
		metrics_proxy_protocol(PPM_MALFORMED);
		close(fd);
		return;
	}
	if (pp->local) {
		metrics_proxy_protocol(PPM_LOCAL);
		http_accept_handover(srv, i, fd, sa, salen);
	} else {
		metrics_proxy_protocol(PPM_OK);
		http_accept_handover(srv, i, fd, (const struct sockaddr *)&pp->src,
		    pp->srclen);
	}
}

/* Wait for the rest of the header in the table. */
static void
park(struct http_server *srv, size_t i, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct pending_table	*t = srv->pending;
	struct epoll_event	 ev;
	struct pending		*p;
	uint32_t		 k;

	if (t->free == NIL)
		expire_head(srv);
	k = t->free;
	p = &t->v[k];
	t->free = p->next;
	p->fd = fd;
	p->listener = (uint32_t)i;
	p->deadline = clock_mono() + srv->header_timeout;
	memcpy(&p->peer, sa, salen);
	p->peerlen = salen;
	p->next = NIL;
	p->prev = t->tail;
	if (t->tail != NIL)
		t->v[t->tail].next = k;
	else
		t->head = k;
	t->tail = k;
	memset(&ev, 0, sizeof(ev));
	/* Adding an fd that is already readable reports it at once. */
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	ev.data.u32 = PENDING_TAG | k;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		if (clock_mono() - t->warned >= 1) {
			t->warned = clock_mono();
			log_warn("proxy protocol: epoll: %s", strerror(errno));
		}
		slot_release(srv, k);
		close(fd);
	}
}

/* A socket just accepted, with [listen] proxy_protocol on. */
void
http_pending_accepted(struct http_server *srv, size_t i, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct proxyproto	pp;
	enum proxyproto_status	r;

	if (!peer_trusted(sa)) {
		metrics_proxy_protocol(PPM_UNTRUSTED);
		http_accept_handover(srv, i, fd, sa, salen);
		return;
	}
	if ((r = peek_header(srv->pending, fd, &pp)) != PROXYPROTO_MORE)
		finish(srv, r, &pp, fd, i, sa, salen);
	else
		park(srv, i, fd, sa, salen);
}

/* epoll reports bytes (or the end) on pending socket k. */
void
http_pending_readable(struct http_server *srv, uint32_t k, uint32_t events)
{
	struct pending_table	*t = srv->pending;
	struct sockaddr_storage	 ss;
	struct proxyproto	 pp;
	enum proxyproto_status	 r;
	socklen_t		 sslen;
	size_t			 i;
	int			 fd;

	if (k >= t->cap || (fd = t->v[k].fd) < 0)
		return;			/* expired earlier in this batch */
	r = peek_header(t, fd, &pp);
	if (r == PROXYPROTO_MORE &&
	    !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	if (r == PROXYPROTO_MORE)
		r = PROXYPROTO_BAD;	/* the peer stopped short */
	i = t->v[k].listener;
	ss = t->v[k].peer;
	sslen = t->v[k].peerlen;
	slot_release(srv, k);
	finish(srv, r, &pp, fd, i, (const struct sockaddr *)&ss, sslen);
}

/* Milliseconds until the next deadline, or -1 with nothing pending. */
int
http_pending_wait_ms(struct http_server *srv)
{
	struct pending_table	*t = srv->pending;
	double			 left;

	if (t == NULL || t->head == NIL)
		return -1;
	left = t->v[t->head].deadline - clock_mono();
	return left <= 0 ? 0 : (int)ceil(left * 1000);
}

void
http_pending_expire(struct http_server *srv)
{
	struct pending_table	*t = srv->pending;
	double			 now = clock_mono();

	while (t->head != NIL && t->v[t->head].deadline <= now)
		expire_head(srv);
}
