/*
 * linger: read and discard what clients still send after an early answer,
 * so that closing their socket does not send a TCP reset that could wipe
 * the answer before they read it (RFC 9112 section 9.6).
 *
 * One thread owns an epoll set and every lingering socket.  Other threads
 * talk to it only through a mutex-protected hand-off queue and an eventfd;
 * that mutex also makes linger_reserve's two checks (total and per client)
 * one atomic step.  It is taken only for requests with a body.
 *
 * Deadlines live in a binary min-heap keyed by a lower bound of each
 * socket's real deadline, min(last byte + idle, adoption + max_time).
 * Reading data only moves the real deadline later, so the heap is not
 * touched per read: when the root's key comes due, the real deadline is
 * recomputed and the root either expires or sinks with its new key.  A
 * busy socket thus costs O(log n) once per idle period, not per recv.
 *
 * The descriptors we get are duplicates of sockets libmicrohttpd has shut
 * down for writing; they share file status flags with libmicrohttpd's
 * descriptor, so O_NONBLOCK is never touched: every recv is MSG_DONTWAIT.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conntrack.h"
#include "linger.h"
#include "log.h"
#include "metrics.h"

#define LINGER_BUFSZ	(64 * 1024)
#define LINGER_EVENTS	256
/*
 * recv calls per socket per wake-up.  Epoll is level-triggered, so a fast
 * sender is simply served again on the next round; the bound keeps one
 * client pushing 256 MB over loopback from starving the others' timers.
 */
#define LINGER_BURST	16
#define NOT_IN_HEAP	SIZE_MAX
#define NS		1000000000LL

struct lsock {
	struct lsock	*next;		/* hand-off queue */
	int		 fd;
	int		 registered;	/* in the epoll set */
	uint64_t	 ipkey;
	void		(*done)(void *);
	void		*arg;
	uint64_t	 bytes;		/* discarded so far */
	uint64_t	 max_bytes;
	int64_t		 idle;		/* ns */
	int64_t		 last;		/* last byte, or adoption; ns */
	int64_t		 end;		/* adoption + max_time; ns */
	int64_t		 key;		/* heap key, <= the real deadline */
	size_t		 hidx;
};

struct linger_state {
	pthread_mutex_t		 lock;	/* lim, queue, stopping, grace_end */
	struct linger_limits	 lim;
	struct lsock		*queue;
	int			 stopping;
	int64_t			 grace_end;
	/* Reservations plus lingering sockets, per client key. */
	struct conntrack	*ct;
	atomic_uint		 active;
	int			 epfd;
	int			 evfd;
	pthread_t		 thread;
	/* Below: the linger thread's alone. */
	struct lsock		**heap;
	size_t			 nheap;
	size_t			 heapcap;
	char			*buf;
};

static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* Seconds to ns; bounded so that now + result cannot overflow. */
static int64_t
sec_ns(double s)
{
	if (!(s > 0))			/* also NaN */
		return 0;
	if (s > 1e9)			/* 31 years is "never" */
		s = 1e9;
	return (int64_t)(s * NS);
}

static int64_t
deadline(const struct lsock *ls)
{
	int64_t	t = ls->last + ls->idle;

	return t < ls->end ? t : ls->end;
}

/* --- the heap (linger thread only) ---------------------------------- */

static void
heap_set(struct linger_state *l, size_t i, struct lsock *ls)
{
	l->heap[i] = ls;
	ls->hidx = i;
}

static void
heap_up(struct linger_state *l, size_t i)
{
	struct lsock	*ls = l->heap[i];
	size_t		 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (l->heap[p]->key <= ls->key)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, ls);
}

static void
heap_down(struct linger_state *l, size_t i)
{
	struct lsock	*ls = l->heap[i];
	size_t		 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->key < l->heap[c]->key)
			c++;
		if (l->heap[c]->key >= ls->key)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, ls);
}

/* Room for one more; done before epoll_ctl so a push cannot fail. */
static int
heap_reserve(struct linger_state *l)
{
	struct lsock	**h;
	size_t		  cap;

	if (l->nheap < l->heapcap)
		return 0;
	cap = l->heapcap ? l->heapcap * 2 : 64;
	if ((h = reallocarray(l->heap, cap, sizeof(*h))) == NULL)
		return -1;
	l->heap = h;
	l->heapcap = cap;
	return 0;
}

static void
heap_push(struct linger_state *l, struct lsock *ls)
{
	heap_set(l, l->nheap++, ls);
	heap_up(l, ls->hidx);
}

static void
heap_remove(struct linger_state *l, struct lsock *ls)
{
	struct lsock	*last;
	size_t		 i = ls->hidx;

	last = l->heap[--l->nheap];
	if (i < l->nheap) {
		heap_set(l, i, last);
		heap_up(l, i);
		heap_down(l, last->hidx);
	}
	ls->hidx = NOT_IN_HEAP;
}

/* --- one socket ------------------------------------------------------ */

static void
wake(struct linger_state *l)
{
	uint64_t	one = 1;

	/* Only EINTR is possible: the counter cannot reach its maximum. */
	while (write(l->evfd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

/* What done() may ask about (linger_last_outcome). */
static _Thread_local int	done_outcome = -1;
static _Thread_local uint64_t	done_bytes;

static void
call_done(void (*done)(void *), void *arg, int o, uint64_t bytes)
{
	if (done == NULL)
		return;
	done_outcome = o;
	done_bytes = bytes;
	done(arg);
	done_outcome = -1;
	done_bytes = 0;
}

void
linger_last_outcome(int *outcome, uint64_t *bytes)
{
	*outcome = done_outcome;
	*bytes = done_bytes;
}

/* The end of a lingering socket, from whatever cause. */
static void
lsock_finish(struct linger_state *l, struct lsock *ls, enum linger_outcome o)
{
	if (ls->hidx != NOT_IN_HEAP)
		heap_remove(l, ls);
	/*
	 * Deregister explicitly: if libmicrohttpd still held its descriptor
	 * for this socket, close() alone would leave the registration alive
	 * and a later event would point at freed memory.
	 */
	if (ls->registered)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, ls->fd, NULL);
	close(ls->fd);
	metrics_linger_outcome(o);
	metrics_linger_active(-1);
	atomic_fetch_sub(&l->active, 1);
	conntrack_release(l->ct, ls->ipkey);
	call_done(ls->done, ls->arg, o, ls->bytes);
	free(ls);
}

/*
 * max_bytes has been discarded.  A client that sent exactly that much and
 * closed finished normally; otherwise closing now resets it, and that is
 * the point: its body is too big to wait for.
 */
static enum linger_outcome
at_limit(int fd)
{
	char	c;
	ssize_t	r;

	do
		r = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return LINGER_EOF;
	if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		return LINGER_RESET;
	return LINGER_BYTES;
}

static void
lsock_start(struct linger_state *l, struct lsock *ls)
{
	struct epoll_event	ev;

	ls->hidx = NOT_IN_HEAP;
	ls->registered = 0;
	if (ls->max_bytes == 0) {
		lsock_finish(l, ls, at_limit(ls->fd));
		return;
	}
	if (heap_reserve(l) == -1) {
		log_err("linger: out of memory");
		lsock_finish(l, ls, LINGER_RESET);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = ls;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, ls->fd, &ev) == -1) {
		log_err("linger: epoll_ctl: %s", strerror(errno));
		lsock_finish(l, ls, LINGER_RESET);
		return;
	}
	ls->registered = 1;
	heap_push(l, ls);
}

static void
lsock_read(struct linger_state *l, struct lsock *ls, int64_t now)
{
	uint64_t	got = 0, room;
	ssize_t		r;
	int		i, o = -1;

	for (i = 0; o == -1; i++) {
		if ((room = ls->max_bytes - ls->bytes) == 0) {
			o = at_limit(ls->fd);
			break;
		}
		if (i == LINGER_BURST)
			break;
		/* Never read past max_bytes: "discard at most" is exact. */
		r = recv(ls->fd, l->buf, room < LINGER_BUFSZ ? room :
		    LINGER_BUFSZ, MSG_DONTWAIT);
		if (r > 0) {
			ls->bytes += (uint64_t)r;
			got += (uint64_t)r;
		} else if (r == 0)
			o = LINGER_EOF;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		else
			o = LINGER_RESET;
	}
	if (got > 0) {
		ls->last = now;
		metrics_discarded_bytes(got);
	}
	if (o != -1)
		lsock_finish(l, ls, (enum linger_outcome)o);
}

/* Expire what is due; refresh the keys of sockets that got data since. */
static void
expire(struct linger_state *l, int64_t now)
{
	struct lsock	*ls;
	int64_t		 t;

	while (l->nheap > 0 && (ls = l->heap[0])->key <= now) {
		if ((t = deadline(ls)) > now) {
			ls->key = t;
			heap_down(l, 0);
			continue;
		}
		lsock_finish(l, ls, ls->end <= now ? LINGER_TIME : LINGER_IDLE);
	}
}

static int
timeout_ms(int64_t when, int64_t now)
{
	int64_t	ms;

	if (when <= now)
		return 0;
	/* Round up: waking a little early would only spin. */
	ms = (when - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void *
linger_main(void *arg)
{
	struct linger_state	*l = arg;
	struct epoll_event	 ev[LINGER_EVENTS];
	struct lsock		*q, *next;
	int64_t			 now, grace_end = 0;
	uint64_t		 cnt;
	int			 i, n, timeout, stopping = 0;

	for (;;) {
		now = now_ns();
		timeout = -1;
		if (l->nheap > 0)
			timeout = timeout_ms(l->heap[0]->key, now);
		if (stopping && (timeout == -1 || grace_end < l->heap[0]->key))
			timeout = timeout_ms(grace_end, now);
		n = epoll_wait(l->epfd, ev, LINGER_EVENTS, timeout);
		if (n == -1) {
			/* Anything but EINTR means our own state is broken. */
			if (errno != EINTR) {
				log_err("linger: epoll_wait: %s",
				    strerror(errno));
				abort();
			}
			n = 0;
		}
		now = now_ns();
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr != NULL) {
				lsock_read(l, ev[i].data.ptr, now);
				continue;
			}
			(void)read(l->evfd, &cnt, sizeof(cnt));
			pthread_mutex_lock(&l->lock);
			q = l->queue;
			l->queue = NULL;
			stopping = l->stopping;
			grace_end = l->grace_end;
			pthread_mutex_unlock(&l->lock);
			for (; q != NULL; q = next) {
				next = q->next;
				lsock_start(l, q);
			}
		}
		expire(l, now);
		if (stopping) {
			if (now >= grace_end)
				while (l->nheap > 0)
					lsock_finish(l, l->heap[0],
					    LINGER_TIME);
			/*
			 * stopping was read in the same critical section that
			 * emptied the queue, and linger_adopt never queues once
			 * it is set: nothing can arrive any more.
			 */
			if (l->nheap == 0)
				break;
		}
	}
	return NULL;
}

/* --- the API --------------------------------------------------------- */

/*
 * The header's handle type is "struct linger", which is also POSIX's
 * SO_LINGER structure in <sys/socket.h> (and so in microhttpd.h).  Every
 * file that sees both agrees it is that two-int structure, so the handle
 * is used only as an opaque pointer and our state has its own tag.
 */
static struct linger_state *
lstate(struct linger *h)
{
	return (struct linger_state *)(void *)h;
}

static void
linger_free(struct linger_state *l)
{
	if (l->epfd != -1)
		close(l->epfd);
	if (l->evfd != -1)
		close(l->evfd);
	conntrack_free(l->ct);
	pthread_mutex_destroy(&l->lock);
	free(l->heap);
	free(l->buf);
	free(l);
}

struct linger *
linger_start(const struct linger_limits *lim, char *err, size_t errlen)
{
	struct linger_state	*l;
	struct epoll_event	 ev;
	sigset_t		 all, old;
	const char		*what;
	int			 e;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "linger: out of memory");
		return NULL;
	}
	l->lim = *lim;
	l->epfd = l->evfd = -1;
	atomic_init(&l->active, 0);
	if ((e = pthread_mutex_init(&l->lock, NULL)) != 0) {
		snprintf(err, errlen, "linger: mutex: %s", strerror(e));
		free(l);
		return NULL;
	}
	what = "out of memory";
	e = ENOMEM;
	if ((l->ct = conntrack_new()) == NULL ||
	    (l->buf = malloc(LINGER_BUFSZ)) == NULL)
		goto fail;
	what = "epoll_create1";
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		goto fail_errno;
	what = "eventfd";
	if ((l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto fail_errno;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;		/* the socket events carry an lsock */
	what = "epoll_ctl";
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) == -1)
		goto fail_errno;
	/* Signals belong to the main thread's sigwait, never to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&l->thread, NULL, linger_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	what = "pthread_create";
	if (e != 0)
		goto fail;
	return (struct linger *)(void *)l;

fail_errno:
	e = errno;
fail:
	snprintf(err, errlen, "linger: %s: %s", what, strerror(e));
	linger_free(l);
	return NULL;
}

void
linger_set_limits(struct linger *h, const struct linger_limits *lim)
{
	struct linger_state	*l = lstate(h);

	/*
	 * No wake-up needed: the thread never reads lim.  Adoptions copy
	 * the byte and time bounds, reservations read the counts.
	 */
	pthread_mutex_lock(&l->lock);
	l->lim = *lim;
	pthread_mutex_unlock(&l->lock);
}

int
linger_reserve(struct linger *h, uint64_t ipkey)
{
	struct linger_state	*l = lstate(h);
	int			 ok = 0;

	/* Under l->lock, so the total and per-client checks are one step. */
	pthread_mutex_lock(&l->lock);
	if (!l->stopping &&
	    conntrack_total(l->ct) < l->lim.max_connections &&
	    (l->lim.per_ip == 0 ||
	    conntrack_count(l->ct, ipkey) < l->lim.per_ip) &&
	    conntrack_acquire(l->ct, ipkey) != UINT_MAX)
		ok = 1;
	pthread_mutex_unlock(&l->lock);
	if (!ok) {
		metrics_linger_outcome(LINGER_REFUSED);
		return -1;
	}
	return 0;
}

void
linger_unreserve(struct linger *h, uint64_t ipkey)
{
	struct linger_state	*l = lstate(h);

	/* Only ever lowers the counts: no need for l->lock. */
	conntrack_release(l->ct, ipkey);
}

void
linger_adopt(struct linger *h, int fd, uint64_t ipkey,
    void (*done)(void *), void *arg)
{
	struct linger_state	*l = lstate(h);
	struct lsock		*ls;
	enum linger_outcome	 o = LINGER_TIME;
	int64_t			 now = now_ns();
	int			 first = 0, take = 0;

	ls = calloc(1, sizeof(*ls));
	pthread_mutex_lock(&l->lock);
	if (ls != NULL && !l->stopping) {
		ls->fd = fd;
		ls->ipkey = ipkey;
		ls->done = done;
		ls->arg = arg;
		/* Bounds are fixed now: a SIGHUP does not move them. */
		ls->max_bytes = l->lim.max_bytes;
		ls->idle = sec_ns(l->lim.idle);
		ls->last = now;
		ls->end = now + sec_ns(l->lim.max_time);
		ls->key = deadline(ls);
		first = l->queue == NULL;
		ls->next = l->queue;
		l->queue = ls;
		/* Before unlocking, so the thread's -1 cannot come first. */
		atomic_fetch_add(&l->active, 1);
		metrics_linger_active(1);
		take = 1;
	} else if (ls == NULL)
		o = LINGER_REFUSED;
	pthread_mutex_unlock(&l->lock);
	if (take) {
		/* A non-empty queue already has a wake-up on its way. */
		if (first)
			wake(l);
		return;
	}
	/*
	 * Stopping (or no memory): no lingering.  Counted as LINGER_TIME
	 * when stopping, as if the grace period were already over.
	 */
	free(ls);
	close(fd);
	metrics_linger_outcome(o);
	conntrack_release(l->ct, ipkey);
	call_done(done, arg, o, 0);
}

unsigned
linger_active(struct linger *h)
{
	return atomic_load(&lstate(h)->active);
}

void
linger_stop(struct linger *h, double grace)
{
	struct linger_state	*l = lstate(h);

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	l->grace_end = now_ns() + sec_ns(grace);
	pthread_mutex_unlock(&l->lock);
	wake(l);
	pthread_join(l->thread, NULL);
	linger_free(l);
}
