/*
 * The redirect phase: one thread, one epoll, --connections keep-alive
 * connections, raw HTTP/1.1.  A connection carries one request at a
 * time (no pipelining: a router's latency is per request).  Requests
 * that are due while every connection is busy wait in order and keep
 * their scheduled start, so the wait is part of their latency.  The
 * wake-up for the next start is epoll_pwait2's nanosecond timeout:
 * a millisecond tick would add up to 1 ms of false latency.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include "load.h"
#include "parse.h"
#include "rng.h"

#define RBUF		16384
#define WBUF		2048
#define HDR_MAX		128

enum cstate { C_FREE, C_CONNECTING, C_BUSY };

struct conn {
	int		fd;		/* -1: not connected */
	enum cstate	state;
	uint64_t	sched, sent;	/* ns */
	size_t		ip;
	unsigned	reqs;		/* answered on this fd */
	int		retried;
	int		wout;		/* EPOLLOUT asked */
	char		w[WBUF];
	size_t		wlen, woff;
	char		r[RBUF];
	size_t		rlen;
	int		head;		/* head parsed */
	int		status, close_after;
	long long	body_left;	/* -1: until EOF */
	char		server[64];
	char		*location;
};

struct run {
	const struct load_opts	*o;
	const struct load_target *t;
	struct load_pool	*p;
	struct load_stats	*st;
	struct rng		 rng;
	int			 ep;
	struct conn		*c;
	unsigned		*free;		/* stack of free conns */
	unsigned		 nfree, busy;
	uint64_t		 t0, total, issued;
	double			 period;	/* ns */
	uint64_t		 last_issue, done;
};

uint64_t
load_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
load_target_parse(const char *url, struct load_target *t, char *err,
    size_t errlen)
{
	const char	*h, *slash, *colon;
	struct addrinfo	 hints, *res;
	char		 port[8];
	int		 rc;

	memset(t, 0, sizeof(*t));
	if (strncmp(url, "http://", 7) != 0) {
		snprintf(err, errlen, "--url must start with http:// (the "
		    "redirect phase speaks plain HTTP/1.1)");
		return -1;
	}
	h = url + 7;
	slash = h + strcspn(h, "/?");
	if (slash == h || (size_t)(slash - h) >= sizeof(t->host)) {
		snprintf(err, errlen, "bad host in --url");
		return -1;
	}
	snprintf(t->hostport, sizeof(t->hostport), "%.*s", (int)(slash - h), h);
	t->port = 80;
	colon = h[0] == '[' ? strchr(h, ']') : h;
	colon = colon != NULL ? memchr(colon, ':', (size_t)(slash - colon)) : NULL;
	if (colon != NULL) {
		char			digits[8];
		unsigned long long	p;

		snprintf(digits, sizeof(digits), "%.*s",
		    (int)(slash - colon - 1), colon + 1);
		if ((size_t)(slash - colon - 1) >= sizeof(digits) ||
		    parse_uint(digits, 65535, &p) == -1 || p == 0) {
			snprintf(err, errlen, "bad port in --url");
			return -1;
		}
		t->port = (int)p;
	}
	if (h[0] == '[')
		snprintf(t->host, sizeof(t->host), "%.*s",
		    (int)(strchr(h, ']') - h - 1), h + 1);
	else
		snprintf(t->host, sizeof(t->host), "%.*s",
		    (int)((colon != NULL ? colon : slash) - h), h);
	if (t->port <= 0 || t->port > 65535) {
		snprintf(err, errlen, "bad port in --url");
		return -1;
	}
	if (asprintf(&t->target, "%s%s", *slash == '?' ? "/" : "",
	    *slash == '\0' ? "/" : slash) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", t->port);
	if ((rc = getaddrinfo(t->host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", t->host,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* One blocking connect before the run: an unreachable target is an error. */
int
load_target_probe(const struct load_target *t, char *err, size_t errlen)
{
	int	fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || connect(fd, (const struct sockaddr *)&t->addr,
	    t->addrlen) == -1) {
		snprintf(err, errlen, "cannot connect to %s: %s", t->hostport,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

struct load_server *
load_server_find(struct load_stats *st, const char *id, size_t len)
{
	size_t	i;

	if (len >= sizeof(st->servers[0].id))
		len = sizeof(st->servers[0].id) - 1;
	for (i = 0; i < st->nservers; i++)
		if (strncmp(st->servers[i].id, id, len) == 0 &&
		    st->servers[i].id[len] == '\0')
			return &st->servers[i];
	if (st->nservers == LOAD_SERVERS_MAX)
		return NULL;
	memcpy(st->servers[i].id, id, len);
	st->servers[i].id[len] = '\0';
	st->servers[i].predicted = -1;
	return &st->servers[st->nservers++];
}

static void
conn_close(struct run *r, struct conn *c)
{
	if (c->fd != -1) {
		epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->reqs = 0;
}

/* The request for c->ip into c->w. */
static void
build_request(struct run *r, struct conn *c)
{
	const struct load_opts	*o = r->o;
	const char		*ip = c->ip != SIZE_MAX ? r->p->v[c->ip].text : NULL;
	int			 n;

	n = snprintf(c->w, sizeof(c->w), "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: geo307-load\r\n", o->method, r->t->target,
	    r->t->hostport);
	if (ip != NULL && o->synthetic)
		n += snprintf(c->w + n, sizeof(c->w) - n, "X-Synthetic-Token: "
		    "%s\r\nX-Synthetic-Client-IP: %s\r\n", o->token, ip);
	else if (ip != NULL)
		n += snprintf(c->w + n, sizeof(c->w) - n,
		    "X-Forwarded-For: %s\r\n", ip);
	if (o->expect && o->body > 0)
		n += snprintf(c->w + n, sizeof(c->w) - n, "Content-Length: "
		    "%llu\r\nExpect: 100-continue\r\n",
		    (unsigned long long)o->body);
	else if (strcmp(o->method, "GET") != 0 && strcmp(o->method,
	    "HEAD") != 0)
		n += snprintf(c->w + n, sizeof(c->w) - n,
		    "Content-Length: 0\r\n");
	n += snprintf(c->w + n, sizeof(c->w) - n, "\r\n");
	c->wlen = (size_t)n < sizeof(c->w) ? (size_t)n : sizeof(c->w) - 1;
	c->woff = 0;
}

static void	finish(struct run *r, struct conn *c, int err);

static void
want_write(struct run *r, struct conn *c, int on)
{
	c->wout = on;
	struct epoll_event	ev = { EPOLLIN | EPOLLRDHUP |
	    (on ? EPOLLOUT : 0), { .u32 = (uint32_t)(c - r->c) } };

	epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
try_write(struct run *r, struct conn *c)
{
	ssize_t	n;

	while (c->woff < c->wlen) {
		n = write(c->fd, c->w + c->woff, c->wlen - c->woff);
		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EAGAIN) {
			want_write(r, c, 1);
			return;
		}
		finish(r, c, ERR_RESET);
		return;
	}
	if (c->wout)
		want_write(r, c, 0);
	c->state = C_BUSY;
}

static int
conn_open(struct run *r, struct conn *c)
{
	struct epoll_event	ev = { EPOLLIN | EPOLLOUT | EPOLLRDHUP,
	    { .u32 = (uint32_t)(c - r->c) } };
	int			one = 1;

	c->fd = socket(r->t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&r->t->addr,
	    r->t->addrlen) == -1 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->wout = 1;
	c->state = C_CONNECTING;
	return 0;
}

/* Send (or re-send) the request held in c. */
static void
conn_send(struct run *r, struct conn *c)
{
	c->rlen = 0;
	c->head = 0;
	c->woff = 0;
	c->sent = load_now_ns();
	if (c->fd == -1) {
		if (conn_open(r, c) == -1)
			finish(r, c, ERR_CONNECT);
		return;		/* written once connected */
	}
	c->state = C_BUSY;
	try_write(r, c);
}

static void
start(struct run *r, struct conn *c)
{
	uint64_t	seq = r->issued++;

	c->sched = r->t0 + (uint64_t)((double)seq * r->period);
	c->ip = load_pool_pick(r->p, rng_double(&r->rng), rng_double(&r->rng));
	if (c->ip != SIZE_MAX)
		r->p->v[c->ip].sent++;
	c->retried = 0;
	r->last_issue = load_now_ns();
	r->busy++;
	build_request(r, c);
	conn_send(r, c);
}

/* The request in c is over: answered (err < 0) or failed. */
static void
finish(struct run *r, struct conn *c, int err)
{
	struct load_phase	*ph = &r->st->redirect;
	struct load_server	*s;
	uint64_t		 now = load_now_ns();

	ph->requests++;
	if (err >= 0) {
		ph->err[err]++;
		conn_close(r, c);
	} else {
		ph->answered++;
		ph->status[c->status]++;
		histo_record(&ph->lat, now - c->sched);
		if (c->status == 307 || c->status == 308) {
			if (c->ip != SIZE_MAX)
				r->p->v[c->ip].routed++;
			if (c->server[0] != '\0' && (s = load_server_find(r->st,
			    c->server, strlen(c->server))) != NULL)
				s->count++;
			if (r->o->follow && c->location != NULL)
				load_follow_push(c->location, c->server);
		} else
			ph->err[ERR_STATUS]++;
		c->reqs++;
		if (c->close_after)
			conn_close(r, c);
	}
	free(c->location);
	c->location = NULL;
	c->state = C_FREE;
	r->busy--;
	r->done++;
	r->free[r->nfree++] = (unsigned)(c - r->c);
}

static void
header_copy(char *dst, size_t dlen, const char *v, size_t vlen)
{
	if (vlen >= dlen)
		vlen = dlen - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

/* The head in c->r[0 .. len): status and the headers we need. */
static int
parse_head(struct run *r, struct conn *c, size_t len)
{
	const char	*p = c->r, *end = c->r + len, *eol, *colon, *v;
	size_t		 nlen, vlen;

	if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0)
		return -1;
	c->status = atoi(p + 9);
	if (c->status < 100 || c->status >= LOAD_STATUS_MAX)
		return -1;
	c->close_after = p[7] == '0';
	c->body_left = -1;
	c->server[0] = '\0';
	if (c->status < 200 || c->status == 204 || c->status == 304 ||
	    strcmp(r->o->method, "HEAD") == 0)
		c->body_left = 0;
	for (p = (const char *)memchr(p, '\n', len) + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL || eol - p <= 1)
			break;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL)
			continue;
		nlen = (size_t)(colon - p);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		vlen = (size_t)(eol - v);
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
			vlen--;
		if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0 &&
		    c->body_left != 0)
			c->body_left = atoll(v);
		else if (nlen == 10 && strncasecmp(p, "connection", 10) == 0 &&
		    vlen == 5 && strncasecmp(v, "close", 5) == 0)
			c->close_after = 1;
		else if (nlen == 15 && strncasecmp(p, "x-upload-server",
		    15) == 0)
			header_copy(c->server, sizeof(c->server), v, vlen);
		else if (nlen == 8 && strncasecmp(p, "location", 8) == 0 &&
		    r->o->follow && c->location == NULL)
			c->location = strndup(v, vlen);
	}
	if (c->body_left < 0)
		c->close_after = 1;
	return 0;
}

/* Consume what is buffered; 1 when the response is complete. */
static int
consume(struct run *r, struct conn *c)
{
	char	*e;
	size_t	 hl, take;

	for (;;) {
		if (!c->head) {
			if ((e = memmem(c->r, c->rlen, "\r\n\r\n", 4)) == NULL) {
				if (c->rlen == sizeof(c->r))
					return -1;	/* head too long */
				return 0;
			}
			hl = (size_t)(e - c->r) + 4;
			if (parse_head(r, c, hl) == -1)
				return -1;
			memmove(c->r, c->r + hl, c->rlen - hl);
			c->rlen -= hl;
			if (c->status < 200) {	/* interim: 100 Continue */
				free(c->location);
				c->location = NULL;
				continue;
			}
			c->head = 1;
		}
		if (c->body_left < 0) {		/* until EOF */
			c->rlen = 0;
			return 0;
		}
		take = c->rlen < (size_t)c->body_left ? c->rlen :
		    (size_t)c->body_left;
		c->body_left -= (long long)take;
		memmove(c->r, c->r + take, c->rlen - take);
		c->rlen -= take;
		return c->body_left == 0;
	}
}

/* EOF or error on c while a request was out. */
static void
conn_lost(struct run *r, struct conn *c, int rst)
{
	int	fresh = c->reqs == 0;

	if (c->head && c->body_left < 0 && !rst) {	/* body until EOF */
		c->close_after = 1;
		finish(r, c, -1);
		return;
	}
	conn_close(r, c);
	/* A keep-alive connection the server closed as we reused it. */
	if (!fresh && !c->head && c->rlen == 0 && !c->retried) {
		c->retried = 1;
		conn_send(r, c);
		return;
	}
	finish(r, c, c->state == C_CONNECTING ? ERR_CONNECT : ERR_RESET);
}

static void
on_readable(struct run *r, struct conn *c)
{
	ssize_t	n;
	int	rc;

	for (;;) {
		n = read(c->fd, c->r + c->rlen, sizeof(c->r) - c->rlen);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (c->state == C_FREE)	/* idle keep-alive closed */
				conn_close(r, c);
			else
				conn_lost(r, c, n < 0);
			return;
		}
		if (c->state == C_FREE)
			continue;		/* stray bytes: ignore */
		c->rlen += (size_t)n;
		if ((rc = consume(r, c)) == -1) {
			finish(r, c, ERR_OTHER);
			return;
		}
		if (rc == 1) {
			finish(r, c, -1);
			return;
		}
	}
}

static void
on_event(struct run *r, struct conn *c, uint32_t ev)
{
	int		soerr = 0;
	socklen_t	len = sizeof(soerr);

	if (c->fd == -1)
		return;
	if (c->state == C_CONNECTING && (ev & (EPOLLOUT | EPOLLERR))) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		if (soerr != 0) {
			finish(r, c, ERR_CONNECT);
			return;
		}
		try_write(r, c);
		return;
	}
	if (ev & EPOLLOUT)
		try_write(r, c);
	if (c->fd != -1 && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
		on_readable(r, c);
}

/* Requests out longer than --timeout fail; checked every 10 ms. */
static void
check_timeouts(struct run *r, uint64_t now)
{
	uint64_t	limit = (uint64_t)(r->o->timeout * 1e9);
	unsigned	i;

	for (i = 0; i < r->o->connections; i++)
		if (r->c[i].state != C_FREE && now > r->c[i].sent &&
		    now - r->c[i].sent > limit)
			finish(r, &r->c[i], ERR_TIMEOUT);
}

static void
progress(struct run *r, uint64_t now)
{
	const struct load_phase	*ph = &r->st->redirect;
	char			 line[512];
	int			 n, i;
	double			 secs = (double)(now - r->t0) / 1e9;

	n = snprintf(line, sizeof(line), "[%5.1fs] started %llu (%.0f/s)",
	    secs, (unsigned long long)r->issued, secs > 0 ? r->issued / secs :
	    0);
	for (i = 100; i < LOAD_STATUS_MAX && n < 400; i++)
		if (ph->status[i] != 0)
			n += snprintf(line + n, sizeof(line) - n, " %d:%llu", i,
			    (unsigned long long)ph->status[i]);
	n += snprintf(line + n, sizeof(line) - n, " p99 %.2f ms",
	    histo_quantile(&ph->lat, 0.99) / 1e6);
	for (i = 0; i < ERR__COUNT && n < 480; i++)
		if (ph->err[i] != 0 && i != ERR_STATUS)
			n += snprintf(line + n, sizeof(line) - n, " %s:%llu",
			    load_err_name(i), (unsigned long long)ph->err[i]);
	if (r->o->follow)
		snprintf(line + n, sizeof(line) - n, " uploads %llu",
		    (unsigned long long)load_follow_active());
	fprintf(stderr, "\r%s\033[K", line);
}

/* How long to sleep: until the next start, a timeout check, or forever. */
static void
wait_events(struct run *r, uint64_t now, uint64_t due_at)
{
	struct epoll_event	ev[256];
	struct timespec		ts;
	uint64_t		wait = 10000000;	/* timeout checks */
	int			n, i;

	if (r->issued < r->total && r->nfree > 0 && due_at > now &&
	    due_at - now < wait)
		wait = due_at - now;
	else if (r->issued < r->total && r->nfree > 0)
		wait = 0;
	ts.tv_sec = (time_t)(wait / 1000000000ULL);
	ts.tv_nsec = (long)(wait % 1000000000ULL);
	n = epoll_pwait2(r->ep, ev, 256, &ts, NULL);
	for (i = 0; i < n; i++)
		on_event(r, &r->c[ev[i].data.u32], ev[i].events);
}

static int
run_setup(struct run *r)
{
	unsigned	i, n = r->o->connections;

	if ((r->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (r->c = calloc(n, sizeof(*r->c))) == NULL ||
	    (r->free = calloc(n, sizeof(*r->free))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		r->c[i].fd = -1;
		r->free[n - 1 - i] = i;
	}
	r->nfree = n;
	if (r->o->seed != 0)
		rng_seed(&r->rng, r->o->seed);
	else
		rng_seed_random(&r->rng);
	r->period = 1e9 / r->o->rate;
	r->total = (uint64_t)(r->o->rate * r->o->duration + 0.5);
	return 0;
}

/*
 * Open every connection before the clock starts, as wrk does: a burst
 * of connects can overflow a small listen backlog, and a SYN retried
 * after a second would show as a stall of the server.  Connections that
 * fail here are opened again when a request needs them.
 */
static void
preconnect(struct run *r)
{
	struct epoll_event	ev[64];
	uint64_t		until = load_now_ns() + 3000000000ULL;
	unsigned		i, pending = 0;
	int			n, k, soerr;
	socklen_t		len;

	for (i = 0; i < r->o->connections; i++)
		if (conn_open(r, &r->c[i]) == 0)
			pending++;
	while (pending > 0 && load_now_ns() < until &&
	    (n = epoll_wait(r->ep, ev, 64, 100)) >= 0)
		for (k = 0; k < n; k++) {
			struct conn *c = &r->c[ev[k].data.u32];

			if (c->state != C_CONNECTING)
				continue;
			soerr = 0;
			len = sizeof(soerr);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
			if (soerr != 0 || (ev[k].events & (EPOLLERR | EPOLLHUP)))
				conn_close(r, c);
			else
				want_write(r, c, 0);
			c->state = C_FREE;
			pending--;
		}
	for (i = 0; i < r->o->connections; i++)
		if (r->c[i].state == C_CONNECTING) {
			conn_close(r, &r->c[i]);
			r->c[i].state = C_FREE;
		}
}

int
load_run(const struct load_opts *o, const struct load_target *t,
    struct load_pool *p, struct load_stats *st)
{
	struct run	r = { .o = o, .t = t, .p = p, .st = st };
	uint64_t	now, due, due_at, next_tick, next_check = 0;
	unsigned	i;

	if (run_setup(&r) == -1)
		return -1;
	preconnect(&r);
	st->asked = r.total;
	r.t0 = load_now_ns();
	next_tick = r.t0 + 1000000000ULL;
	for (;;) {
		now = load_now_ns();
		due = now < r.t0 ? 0 : (uint64_t)((double)(now - r.t0) /
		    r.period) + 1;
		if (due > r.total)
			due = r.total;
		while (r.issued < due && r.nfree > 0)
			start(&r, &r.c[r.free[--r.nfree]]);
		if (r.issued == r.total && r.busy == 0)
			break;
		if (now >= next_check) {
			check_timeouts(&r, now);
			next_check = now + 10000000;
		}
		if (now >= next_tick && !o->quiet) {
			progress(&r, now);
			next_tick += 1000000000ULL;
		}
		due_at = r.t0 + (uint64_t)((double)r.issued * r.period);
		wait_events(&r, load_now_ns(), due_at);
	}
	if (!o->quiet)
		fprintf(stderr, "\r\033[K");
	st->issued = r.issued;
	st->send_seconds = (double)(r.last_issue - r.t0) / 1e9 +
	    r.period / 1e9;
	st->elapsed = (double)(load_now_ns() - r.t0) / 1e9;
	for (i = 0; i < o->connections; i++)
		conn_close(&r, &r.c[i]);
	close(r.ep);
	free(r.c);
	free(r.free);
	return 0;
}
