/*
 * The sink's agent: every report_every seconds (a third of the TTL it
 * sets) it probes its own listener over TCP, as a health check from
 * outside would, and only when the probe got a 200 writes
 * SET P load:ID <load> EX ttl.  A failing probe writes nothing, so the
 * key expires and routers see the report go stale: the point of the
 * probe is that a wedged server stops attracting uploads by itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "fleet_rec.h"
#include "redis_conn.h"
#include "sink.h"

static pthread_t	 reporter;
static int		 stop_pipe[2] = { -1, -1 };
static redisContext	*rc;
static struct redis_target target;

void
sink_load_format(double load, char *buf, size_t len)
{
	long	micro;

	if (!(load > 0))
		load = 0;
	micro = lround(load * 1e6);
	if (micro >= 1000000 || micro <= 0) {
		snprintf(buf, len, micro > 0 ? "1" : "0");
		return;
	}
	snprintf(buf, len, "0.%06ld", micro);
	/* "0.250000" -> "0.25": the schema allows 1..6 decimals. */
	while (strlen(buf) > 3 && buf[strlen(buf) - 1] == '0')
		buf[strlen(buf) - 1] = '\0';
}

/* The address to probe: a wildcard listener is probed on loopback. */
static void
probe_addr(const struct sink *s, struct sockaddr_storage *a)
{
	*a = s->addr;
	if (a->ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)a;

		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)a;

		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
}

/* GET /.sink/probe on our own listener: 1 when it answered 200 in time. */
static int
probe(const struct sink *s, int timeout_ms)
{
	static const char req[] = "GET " SINK_PROBE_PATH " HTTP/1.1\r\n"
	    "Host: probe\r\nConnection: close\r\n\r\n";
	struct sockaddr_storage	 a;
	struct timeval		 tv;
	char			 buf[64];
	ssize_t			 n;
	size_t			 got = 0;
	int			 fd, ok;

	probe_addr(s, &a);
	if ((fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ok = connect(fd, (struct sockaddr *)&a, s->addrlen) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1);
	while (ok && got < 12 && (n = read(fd, buf + got,
	    sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return ok && got >= 12 && strncmp(buf + 8, " 200", 4) == 0 &&
	    strncmp(buf, "HTTP/1.", 7) == 0;
}

static int
connect_redis(char *err, size_t errlen)
{
	if (rc != NULL)
		return 0;
	rc = redis_connect(&target, REDIS_MASTER, NULL, err, errlen);
	return rc != NULL ? 0 : -1;
}

static int
report_once(struct sink *s, unsigned ttl)
{
	char		 key[256], val[16], ttls[16], err[512];
	const char	*argv[5] = { "SET", key, val, "EX", ttls };
	redisReply	*r;
	int		 ok;

	if (fleet_rec_key(key, sizeof(key), s->prefix, KEY_LOAD, s->id) == -1)
		return -1;
	sink_load_format(sink_load(s), val, sizeof(val));
	snprintf(ttls, sizeof(ttls), "%u", ttl);
	if (connect_redis(err, sizeof(err)) == -1) {
		sink_log("redis: %s", err);
		return -1;
	}
	r = redis_conn_command_argv(rc, 5, argv);
	ok = r != NULL && r->type == REDIS_REPLY_STATUS;
	if (!ok)
		sink_log("redis: SET %s failed: %s", key, r != NULL &&
		    r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
	if (r != NULL)
		freeReplyObject(r);
	if (r == NULL) {		/* the context is dead: a new one next time */
		redisFree(rc);
		rc = NULL;
	}
	if (ok)
		atomic_fetch_add(&s->reports, 1);
	return ok ? 0 : -1;
}

static void *
report_loop(void *arg)
{
	struct sink	*s = arg;
	unsigned	 ttl = (unsigned)ceil(s->report_every * 3);
	int		 ms = (int)(s->report_every * 1000), healthy = 1, up;
	struct pollfd	 p = { stop_pipe[0], POLLIN, 0 };

	for (;;) {
		up = probe(s, ms < 2000 ? ms : 2000);
		if (up)
			report_once(s, ttl);
		if (up != healthy)
			sink_log(up ? "probe ok again: reporting load" :
			    "probe of %s failed: not reporting (the report "
			    "goes stale)", s->listen);
		healthy = up;
		if (poll(&p, 1, ms) != 0)
			break;
	}
	return NULL;
}

int
sink_report_check(struct sink *s, char *err, size_t errlen)
{
	struct strlist	no = { NULL, 0 };
	char		e[512];

	if (redis_target_parse(s->redis_url, &no, NULL, 2.0, &target, e,
	    sizeof(e)) == -1) {
		snprintf(err, errlen, "bad --redis: %s", e);
		return -1;
	}
	if (connect_redis(e, sizeof(e)) == -1) {
		snprintf(err, errlen, "cannot reach Redis: %s", e);
		return -1;
	}
	return 0;
}

int
sink_report_start(struct sink *s, char *err, size_t errlen)
{
	if (pipe2(stop_pipe, O_CLOEXEC) == -1 ||
	    (errno = pthread_create(&reporter, NULL, report_loop, s)) != 0) {
		snprintf(err, errlen, "reporter: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
sink_report_stop(void)
{
	if (stop_pipe[1] == -1)
		return;
	close(stop_pipe[1]);
	pthread_join(reporter, NULL);
	close(stop_pipe[0]);
	stop_pipe[0] = stop_pipe[1] = -1;
	if (rc != NULL)
		redisFree(rc);
	rc = NULL;
	redis_target_free(&target);
}
