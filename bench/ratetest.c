/*
 * An open-loop (fixed-rate) HTTP/1.1 load generator for bench/: wrk2's
 * idea without wrk2 (not in Debian).  CONNS keep-alive connections, one
 * request in flight on each; connection i sends its k-th request at
 * t0 + (k * CONNS + i) / RATE whether or not the server kept up, and a
 * request's latency runs from that scheduled time (not from when it
 * could be sent) to the end of its response, so a stall is counted for
 * every request it delays (no coordinated omission).  X-Forwarded-For
 * rotates over the same 5 addresses as bench/compare.  One thread,
 * epoll with nanosecond timeouts (epoll_pwait2).
 *
 *   ratetest -r RATE [-c CONNS] [-d SECONDS] [-w WARMUP] port [path]
 *
 * Prints sent, answered, the achieved rate and latency percentiles in
 * microseconds over the answers after the warm-up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_US		2000000		/* 1 us buckets up to 2 s */

static const char *ips[] = { "81.2.69.142", "216.160.83.56",
    "175.16.199.1", "200.160.2.3", "1.1.1.1" };

struct cn {
	int		fd;
	int		busy;
	int64_t		due;		/* next scheduled send, ns */
	int64_t		sched;		/* the one in flight */
	uint64_t	k;
	char		buf[8192];
	size_t		len;
};

static uint32_t	*hist;
static uint64_t	 over, nlat, sent, answered, errors;
static int64_t	 maxlat;
static int	 port;
static char	 reqs[5][512];
static size_t	 reqlen[5];

static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
dial(int ep, struct cn *c)
{
	struct sockaddr_in	sin;
	struct epoll_event	ev;
	int			one = 1;

	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(c->fd);
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->busy = 0;
	c->len = 0;
	return 0;
}

/* The response in buf is complete: head and Content-Length body. */
static int
complete(struct cn *c)
{
	char		*end, *cl;
	size_t		 head, body = 0;

	c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
	if ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
		return 0;
	head = (size_t)(end - c->buf) + 4;
	if ((cl = strcasestr(c->buf, "\r\nContent-Length:")) != NULL &&
	    cl < end)
		body = strtoul(cl + 17, NULL, 10);
	return c->len >= head + body;
}

static void
record(int64_t ns)
{
	int64_t	us = ns / 1000;

	if (us > maxlat)
		maxlat = us;
	if (us < HIST_US)
		hist[us]++;
	else
		over++;
	nlat++;
}

static int64_t
pct(double p)
{
	uint64_t	want = (uint64_t)(p * (double)nlat), seen = 0;
	int64_t		i;

	for (i = 0; i < HIST_US; i++)
		if ((seen += hist[i]) > want)
			return i;
	return maxlat;
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[256];
	struct timespec		 to;
	struct cn		*cs, *c;
	const char		*path = "/upload?x=1";
	double			 rate = 0, secs = 10, warm = 1;
	int64_t			 t0, tend, twarm, now, next, interval;
	int			 conns = 50, ep, i, n, o;
	ssize_t			 r;

	while ((o = getopt(argc, argv, "r:c:d:w:")) != -1)
		switch (o) {
		case 'r': rate = atof(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		default: goto usage;
		}
	if (optind >= argc || rate <= 0 || conns < 1)
		goto usage;
	port = atoi(argv[optind]);
	if (optind + 1 < argc)
		path = argv[optind + 1];
	for (i = 0; i < 5; i++)
		reqlen[i] = (size_t)snprintf(reqs[i], sizeof(reqs[i]),
		    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		    "X-Forwarded-For: %s\r\n\r\n", path, port, ips[i]);
	if ((hist = calloc(HIST_US, sizeof(*hist))) == NULL ||
	    (cs = calloc(conns, sizeof(*cs))) == NULL ||
	    (ep = epoll_create1(0)) < 0)
		return 1;
	interval = (int64_t)(1e9 * conns / rate);
	t0 = now_ns() + 10000000;
	for (i = 0; i < conns; i++) {
		if (dial(ep, &cs[i]) != 0) {
			perror("ratetest: connect");
			return 1;
		}
		cs[i].due = t0 + (int64_t)(1e9 * i / rate);
	}
	twarm = t0 + (int64_t)(warm * 1e9);
	tend = t0 + (int64_t)((warm + secs) * 1e9);
	for (;;) {
		now = now_ns();
		if (now >= tend)
			break;
		next = tend;
		for (i = 0; i < conns; i++) {
			c = &cs[i];
			if (!c->busy && c->due <= now) {
				const char *q = reqs[(c->k + i) % 5];
				size_t	    ql = reqlen[(c->k + i) % 5];

				c->sched = c->due;
				c->due += interval;
				c->k++;
				c->busy = 1;
				c->len = 0;
				if (write(c->fd, q, ql) != (ssize_t)ql) {
					errors++;
					close(c->fd);
					if (dial(ep, c) != 0)
						return 1;
					continue;
				}
				sent++;
			}
			if (!c->busy && c->due < next)
				next = c->due;
		}
		next -= now_ns();
		if (next < 0)
			next = 0;
		to.tv_sec = next / 1000000000;
		to.tv_nsec = next % 1000000000;
		n = epoll_pwait2(ep, evs, 256, &to, NULL);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			r = read(c->fd, c->buf + c->len,
			    sizeof(c->buf) - 1 - c->len);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				errors++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				if (dial(ep, c) != 0)
					return 1;
				continue;
			}
			c->len += (size_t)r;
			if (c->busy && complete(c)) {
				now = now_ns();
				c->busy = 0;
				answered++;
				if (c->sched >= twarm)
					record(now - c->sched);
			}
		}
	}
	printf("rate %.0f/s target, %d connections, %.0f s (+%.0f s warm-up): "
	    "sent %llu, answered %llu (%.0f/s), errors %llu\n", rate, conns,
	    secs, warm, (unsigned long long)sent, (unsigned long long)answered,
	    answered / (secs + warm), (unsigned long long)errors);
	printf("latency us: p50 %lld p90 %lld p99 %lld p99.9 %lld max %lld "
	    "(%llu measured, %llu over 2 s)\n", (long long)pct(0.5),
	    (long long)pct(0.9), (long long)pct(0.99), (long long)pct(0.999),
	    (long long)maxlat, (unsigned long long)nlat,
	    (unsigned long long)over);
	return 0;
usage:
	fprintf(stderr, "usage: ratetest -r RATE [-c CONNS] [-d SECONDS] "
	    "[-w WARMUP] port [path]\n");
	return 2;
}
