/*
 * linger on real loopback sockets.  Each server side is handed over the
 * way the HTTP code does it: answer, shutdown(SHUT_WR), duplicate, close
 * the original, adopt the duplicate.  Outcomes are read from the metrics
 * counters as differences, since the counters are process-wide.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "linger.h"
#include "metrics.h"

#define ANSWER	"HTTP/1.1 307 Temporary Redirect\r\n" \
		"Location: https://eu-1.example/upload\r\n" \
		"Connection: close\r\nContent-Length: 0\r\n\r\n"
#define ANSWER_LEN	(sizeof(ANSWER) - 1)

struct done_rec {
	atomic_int		calls;
	_Atomic int64_t		when;		/* ns, of the first call */
};

static atomic_int	all_done;

/* --- helpers --------------------------------------------------------- */

static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double
since(int64_t t0)
{
	return (double)(now_ns() - t0) / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
on_done(void *arg)
{
	struct done_rec	*r = arg;

	if (atomic_fetch_add(&r->calls, 1) == 0)
		atomic_store(&r->when, now_ns());
	atomic_fetch_add(&all_done, 1);
}

/* Poll until r's done has run; 0 on time-out. */
static int
wait_done(struct done_rec *r, double limit)
{
	int64_t	t0 = now_ns();

	while (atomic_load(&r->calls) == 0) {
		if (since(t0) > limit)
			return 0;
		sleep_s(0.002);
	}
	return 1;
}

static void
timeouts(int fd, double s)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
	    sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
}

/* A connected loopback pair; its own listener, so threads cannot mix. */
static void
tcp_pair(int *cli, int *srv)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			lfd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*cli >= 0);
	assert_int_equal(connect(*cli, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	*srv = accept(lfd, NULL, NULL);
	assert_true(*srv >= 0);
	close(lfd);
	timeouts(*cli, 3);
}

/*
 * What the HTTP code does after an early answer: MHD writes it, shuts
 * down writing and closes its descriptor; we keep a duplicate.  With
 * keep_orig the original stays open (MHD not done with it yet).
 */
static int
early_answer(int srv, int keep_orig)
{
	int	dup;

	assert_int_equal(send(srv, ANSWER, ANSWER_LEN, MSG_NOSIGNAL),
	    (ssize_t)ANSWER_LEN);
	assert_int_equal(shutdown(srv, SHUT_WR), 0);
	dup = fcntl(srv, F_DUPFD_CLOEXEC, 0);
	assert_true(dup >= 0);
	if (!keep_orig)
		close(srv);
	return dup;
}

/* Send n bytes; returns bytes sent, *err = errno of a failure or 0. */
static size_t
send_n(int fd, size_t n, int *err)
{
	static const char	chunk[65536];
	size_t			sent = 0, want;
	ssize_t			r;

	*err = 0;
	while (sent < n) {
		want = n - sent < sizeof(chunk) ? n - sent : sizeof(chunk);
		if ((r = send(fd, chunk, want, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			*err = errno;
			break;
		}
		sent += (size_t)r;
	}
	return sent;
}

/*
 * Read to the end: the answer, then EOF (0) and not a reset.  Returns the
 * bytes read; *err = 0 for a clean EOF, else errno.
 */
static size_t
read_all(int fd, char *buf, size_t cap, int *err)
{
	size_t	got = 0;
	ssize_t	r;

	for (;;) {
		r = recv(fd, buf + got, cap - got, 0);
		if (r > 0) {
			got += (size_t)r;
			if (got == cap)
				break;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		*err = r == 0 ? 0 : errno;
		return got;
	}
	*err = 0;
	return got;
}

static void
expect_answer_then_eof(int cli)
{
	char	buf[1024];
	size_t	n;
	int	err;

	n = read_all(cli, buf, sizeof(buf), &err);
	assert_int_equal(err, 0);		/* not ECONNRESET */
	assert_int_equal(n, ANSWER_LEN);
	assert_memory_equal(buf, ANSWER, ANSWER_LEN);
}

static int
count_fds(void)
{
	DIR	*d;
	int	 n = 0;

	assert_non_null(d = opendir("/proc/self/fd"));
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

struct snap {
	unsigned long long	v[LINGER__COUNT];
};

static void
snap_take(struct snap *s)
{
	int	i;

	for (i = 0; i < LINGER__COUNT; i++)
		s->v[i] = metrics_linger_count((enum linger_outcome)i);
}

/* Assert the outcome counters moved by exactly d[] since s. */
static void
snap_expect(const struct snap *s, unsigned eof, unsigned reset,
    unsigned bytes, unsigned idle, unsigned time, unsigned refused)
{
	unsigned	d[LINGER__COUNT];
	int		i;

	d[LINGER_EOF] = eof;
	d[LINGER_RESET] = reset;
	d[LINGER_BYTES] = bytes;
	d[LINGER_IDLE] = idle;
	d[LINGER_TIME] = time;
	d[LINGER_REFUSED] = refused;
	for (i = 0; i < LINGER__COUNT; i++)
		assert_int_equal(metrics_linger_count((enum linger_outcome)i) -
		    s->v[i], d[i]);
}

static struct linger *
start(uint64_t max_bytes, double idle, double max_time, unsigned maxconn,
    unsigned per_ip)
{
	struct linger_limits	 lim;
	struct linger		*l;
	char			 err[256];

	lim.max_bytes = max_bytes;
	lim.idle = idle;
	lim.max_time = max_time;
	lim.max_connections = maxconn;
	lim.per_ip = per_ip;
	l = linger_start(&lim, err, sizeof(err));
	if (l == NULL)
		fail_msg("linger_start: %s", err);
	return l;
}

/* --- tests ----------------------------------------------------------- */

/*
 * The case the module exists for: a client that writes its whole body
 * before reading gets the answer and a clean EOF, no reset.
 */
static void
test_body_then_eof(void **state)
{
	struct linger	*l;
	struct done_rec	 r = { 0 };
	struct snap	 s;
	int		 cli, srv, fd, err, fds;

	(void)state;
	fds = count_fds();
	snap_take(&s);
	l = start(64 << 20, 5, 10, 100, 10);
	tcp_pair(&cli, &srv);
	assert_int_equal(linger_reserve(l, 1), 0);
	fd = early_answer(srv, 0);
	linger_adopt(l, fd, 1, on_done, &r);
	assert_int_equal(send_n(cli, 1 << 20, &err), 1 << 20);
	assert_int_equal(err, 0);
	assert_int_equal(shutdown(cli, SHUT_WR), 0);
	assert_true(wait_done(&r, 3));
	/* Closed on our side before the client reads: still no reset. */
	expect_answer_then_eof(cli);
	assert_int_equal(atomic_load(&r.calls), 1);
	assert_int_equal(linger_active(l), 0);
	snap_expect(&s, 1, 0, 0, 0, 0, 0);
	close(cli);
	linger_stop(l, 1);
	assert_int_equal(atomic_load(&r.calls), 1);
	assert_int_equal(count_fds(), fds);
}

/* Past max_bytes the socket is closed under the sender: it gets a reset. */
static void
test_max_bytes(void **state)
{
	struct linger	*l;
	struct done_rec	 r = { 0 };
	struct snap	 s;
	size_t		 sent;
	int		 cli, srv, fd, err;

	(void)state;
	snap_take(&s);
	l = start(256 << 10, 5, 10, 100, 10);
	tcp_pair(&cli, &srv);
	assert_int_equal(linger_reserve(l, 1), 0);
	fd = early_answer(srv, 0);
	linger_adopt(l, fd, 1, on_done, &r);
	sent = send_n(cli, 64 << 20, &err);
	assert_true(err == ECONNRESET || err == EPIPE);
	assert_true(sent < (64 << 20));
	assert_true(wait_done(&r, 3));
	snap_expect(&s, 0, 0, 1, 0, 0, 0);
	close(cli);
	linger_stop(l, 1);
	assert_int_equal(atomic_load(&r.calls), 1);
}

/*
 * A body of exactly max_bytes is fine: whether we see the FIN first (EOF)
 * or stop at the bound (BYTES), nothing is left unread, so no reset.
 */
static void
test_exactly_max_bytes(void **state)
{
	struct linger	*l;
	struct done_rec	 r = { 0 };
	struct snap	 s;
	int		 cli, srv, fd, err;

	(void)state;
	snap_take(&s);
	l = start(300000, 5, 10, 100, 10);
	tcp_pair(&cli, &srv);
	assert_int_equal(linger_reserve(l, 1), 0);
	fd = early_answer(srv, 0);
	linger_adopt(l, fd, 1, on_done, &r);
	assert_int_equal(send_n(cli, 300000, &err), 300000);
	assert_int_equal(shutdown(cli, SHUT_WR), 0);
	assert_true(wait_done(&r, 3));
	expect_answer_then_eof(cli);
	assert_int_equal(metrics_linger_count(LINGER_EOF) - s.v[LINGER_EOF] +
	    metrics_linger_count(LINGER_BYTES) - s.v[LINGER_BYTES], 1);
	close(cli);
	linger_stop(l, 1);
}

/* idle counts from the last byte, not from adoption. */
static void
test_idle(void **state)
{
	struct linger	*l;
	struct done_rec	 r = { 0 };
	struct snap	 s;
	int64_t		 t0, last;
	double		 after;
	int		 cli, srv, fd, err, i;

	(void)state;
	snap_take(&s);
	/* idle 0.5 s, a byte batch every 0.12 s: margin for a loaded CI. */
	l = start(1 << 20, 0.5, 5, 100, 10);
	tcp_pair(&cli, &srv);
	assert_int_equal(linger_reserve(l, 1), 0);
	fd = early_answer(srv, 0);
	t0 = now_ns();
	linger_adopt(l, fd, 1, on_done, &r);
	last = t0;
	for (i = 0; i < 3; i++) {
		assert_int_equal(send_n(cli, 1000, &err), 1000);
		last = now_ns();
		sleep_s(0.12);
		assert_int_equal(atomic_load(&r.calls), 0);
	}
	assert_true(wait_done(&r, 2));
	after = (double)(atomic_load(&r.when) - last) / 1e9;
	assert_true(after >= 0.49);
	assert_true(after < 1.5);
	/* Sends at 0, 0.12, 0.24 s: not 0.5 s after adoption. */
	assert_true((double)(atomic_load(&r.when) - t0) / 1e9 >= 0.7);
	snap_expect(&s, 0, 0, 0, 1, 0, 0);
	expect_answer_then_eof(cli);
	close(cli);
	linger_stop(l, 1);
}

/* A client trickling bytes is never idle but still hits max_time. */
static void
test_max_time(void **state)
{
	struct linger	*l;
	struct done_rec	 r = { 0 };
	struct snap	 s;
	int64_t		 t0;
	double		 took;
	int		 cli, srv, fd, err;

	(void)state;
	snap_take(&s);
	l = start(1 << 20, 0.2, 0.4, 100, 10);
	tcp_pair(&cli, &srv);
	assert_int_equal(linger_reserve(l, 1), 0);
	fd = early_answer(srv, 0);
	t0 = now_ns();
	linger_adopt(l, fd, 1, on_done, &r);
	while (atomic_load(&r.calls) == 0 && since(t0) < 2) {
		(void)send_n(cli, 1, &err);
		sleep_s(0.05);
	}
	assert_int_equal(atomic_load(&r.calls), 1);
	took = (double)(atomic_load(&r.when) - t0) / 1e9;
	assert_true(took >= 0.39);
	assert_true(took < 0.8);
	snap_expect(&s, 0, 0, 0, 0, 1, 0);
	close(cli);
	linger_stop(l, 1);
}

/* A reset from the client ends lingering with LINGER_RESET. */
static void
test_client_reset(void **state)
{
	struct linger	*l;
	struct done_rec	 r = { 0 };
	struct snap	 s;
	struct linger	 so;
	int		 cli, srv, fd, err;

	(void)state;
	snap_take(&s);
	l = start(1 << 20, 5, 10, 100, 10);
	tcp_pair(&cli, &srv);
	assert_int_equal(linger_reserve(l, 1), 0);
	fd = early_answer(srv, 0);
	linger_adopt(l, fd, 1, on_done, &r);
	assert_int_equal(send_n(cli, 1000, &err), 1000);
	/*
	 * SO_LINGER 0 makes close() send a RST.  Note the name: this is
	 * POSIX's struct linger, the same tag as linger.h's opaque handle.
	 */
	so.l_onoff = 1;
	so.l_linger = 0;
	assert_int_equal(setsockopt(cli, SOL_SOCKET, SO_LINGER, &so,
	    sizeof(so)), 0);
	close(cli);
	assert_true(wait_done(&r, 3));
	snap_expect(&s, 0, 1, 0, 0, 0, 0);
	linger_stop(l, 1);
}

static void
test_reserve(void **state)
{
	struct linger		*l;
	struct linger_limits	 lim;
	struct done_rec		 r = { 0 };
	struct snap		 s;
	int			 i, cli, srv, fd;

	(void)state;
	snap_take(&s);
	l = start(1 << 20, 5, 10, 3, 2);
	assert_int_equal(linger_reserve(l, 1), 0);
	assert_int_equal(linger_reserve(l, 1), 0);
	assert_int_equal(linger_reserve(l, 1), -1);	/* per_ip */
	assert_int_equal(linger_reserve(l, 2), 0);
	assert_int_equal(linger_reserve(l, 3), -1);	/* total */
	snap_expect(&s, 0, 0, 0, 0, 0, 2);
	linger_unreserve(l, 1);
	assert_int_equal(linger_reserve(l, 3), 0);
	assert_int_equal(linger_reserve(l, 2), -1);
	linger_unreserve(l, 1);
	linger_unreserve(l, 2);
	linger_unreserve(l, 3);

	/* per_ip 0 is no per-client bound; max_connections still holds. */
	lim.max_bytes = 1 << 20;
	lim.idle = 5;
	lim.max_time = 10;
	lim.max_connections = 5;
	lim.per_ip = 0;
	linger_set_limits(l, &lim);
	for (i = 0; i < 5; i++)
		assert_int_equal(linger_reserve(l, 7), 0);
	assert_int_equal(linger_reserve(l, 7), -1);
	for (i = 0; i < 5; i++)
		linger_unreserve(l, 7);

	/* A lingering socket holds its slot until done. */
	lim.max_connections = 1;
	linger_set_limits(l, &lim);
	tcp_pair(&cli, &srv);
	assert_int_equal(linger_reserve(l, 9), 0);
	fd = early_answer(srv, 0);
	linger_adopt(l, fd, 9, on_done, &r);
	assert_int_equal(linger_reserve(l, 10), -1);
	assert_int_equal(shutdown(cli, SHUT_WR), 0);
	assert_true(wait_done(&r, 3));
	assert_int_equal(linger_reserve(l, 10), 0);
	close(cli);
	linger_unreserve(l, 10);

	/* max_connections 0: never linger. */
	lim.max_connections = 0;
	linger_set_limits(l, &lim);
	assert_int_equal(linger_reserve(l, 11), -1);
	snap_expect(&s, 1, 0, 0, 0, 0, 6);
	linger_stop(l, 1);
}

/* New limits apply to new adoptions; older sockets keep their bounds. */
static void
test_set_limits(void **state)
{
	struct linger		*l;
	struct linger_limits	 lim;
	struct done_rec		 ra = { 0 }, rb = { 0 };
	struct snap		 s;
	int			 ca, sa, cb, sb;

	(void)state;
	snap_take(&s);
	l = start(1 << 20, 0.2, 10, 100, 10);
	tcp_pair(&ca, &sa);
	assert_int_equal(linger_reserve(l, 1), 0);
	linger_adopt(l, early_answer(sa, 0), 1, on_done, &ra);
	lim.max_bytes = 1 << 20;
	lim.idle = 10;
	lim.max_time = 10;
	lim.max_connections = 100;
	lim.per_ip = 10;
	linger_set_limits(l, &lim);
	tcp_pair(&cb, &sb);
	assert_int_equal(linger_reserve(l, 1), 0);
	linger_adopt(l, early_answer(sb, 0), 1, on_done, &rb);
	assert_true(wait_done(&ra, 2));
	sleep_s(0.1);
	assert_int_equal(atomic_load(&rb.calls), 0);
	assert_int_equal(linger_active(l), 1);
	linger_stop(l, 0);
	assert_int_equal(atomic_load(&rb.calls), 1);
	snap_expect(&s, 0, 0, 0, 1, 1, 0);
	close(ca);
	close(cb);
}

/*
 * The original descriptor may still be open when we close ours; our
 * epoll registration must go with our close (ASan catches the stale
 * event otherwise), and O_NONBLOCK, shared with the original, must stay
 * as it was.
 */
static void
test_original_open(void **state)
{
	struct linger	*l;
	struct done_rec	 r = { 0 }, r2 = { 0 };
	int		 cli, srv, cli2, srv2, fd, flags, err;

	(void)state;
	l = start(1 << 20, 0.1, 10, 100, 10);
	tcp_pair(&cli, &srv);
	flags = fcntl(srv, F_GETFL);
	assert_int_equal(linger_reserve(l, 1), 0);
	fd = early_answer(srv, 1);
	linger_adopt(l, fd, 1, on_done, &r);
	assert_int_equal(send_n(cli, 5000, &err), 5000);
	assert_true(wait_done(&r, 2));
	assert_int_equal(fcntl(srv, F_GETFL), flags);
	/* Keep the thread busy with another socket while srv gets data. */
	tcp_pair(&cli2, &srv2);
	assert_int_equal(linger_reserve(l, 2), 0);
	linger_adopt(l, early_answer(srv2, 0), 2, on_done, &r2);
	assert_int_equal(send_n(cli, 5000, &err), 5000);
	sleep_s(0.05);
	close(cli2);
	assert_true(wait_done(&r2, 2));
	close(srv);
	close(cli);
	linger_stop(l, 1);
	assert_int_equal(atomic_load(&r.calls), 1);
}

/* Stop closes what is left after grace; each done runs exactly once. */
static void
test_stop_grace(void **state)
{
	struct linger	*l;
	struct done_rec	 r[5];
	struct snap	 s;
	int64_t		 t0;
	double		 took;
	int		 cli[5], srv, i, fds;

	(void)state;
	fds = count_fds();
	snap_take(&s);
	memset(r, 0, sizeof(r));
	l = start(1 << 20, 10, 10, 100, 10);
	for (i = 0; i < 5; i++) {
		tcp_pair(&cli[i], &srv);
		assert_int_equal(linger_reserve(l, (uint64_t)i), 0);
		linger_adopt(l, early_answer(srv, 0), (uint64_t)i, on_done,
		    &r[i]);
	}
	sleep_s(0.02);
	assert_int_equal(linger_active(l), 5);
	t0 = now_ns();
	linger_stop(l, 0.3);
	took = since(t0);
	assert_true(took >= 0.29);
	assert_true(took < 0.7);
	for (i = 0; i < 5; i++) {
		assert_int_equal(atomic_load(&r[i].calls), 1);
		expect_answer_then_eof(cli[i]);
		close(cli[i]);
	}
	snap_expect(&s, 0, 0, 0, 0, 5, 0);
	assert_int_equal(count_fds(), fds);
}

struct closer {
	int	fd[2];
	double	after;
};

/* Finish sending, not close: closing with our answer unread is a RST. */
static void *
finish_later(void *arg)
{
	struct closer	*c = arg;

	sleep_s(c->after);
	shutdown(c->fd[0], SHUT_WR);
	shutdown(c->fd[1], SHUT_WR);
	return NULL;
}

/* Sockets that finish during grace let stop return early. */
static void
test_stop_early(void **state)
{
	struct linger	*l;
	struct done_rec	 r[2];
	struct closer	 c;
	struct snap	 s;
	pthread_t	 t;
	int64_t		 t0;
	int		 srv, i;

	(void)state;
	snap_take(&s);
	memset(r, 0, sizeof(r));
	l = start(1 << 20, 10, 10, 100, 10);
	for (i = 0; i < 2; i++) {
		tcp_pair(&c.fd[i], &srv);
		assert_int_equal(linger_reserve(l, 5), 0);
		linger_adopt(l, early_answer(srv, 0), 5, on_done, &r[i]);
	}
	c.after = 0.1;
	assert_int_equal(pthread_create(&t, NULL, finish_later, &c), 0);
	t0 = now_ns();
	linger_stop(l, 3);
	assert_true(since(t0) < 1);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&r[0].calls), 1);
	assert_int_equal(atomic_load(&r[1].calls), 1);
	snap_expect(&s, 2, 0, 0, 0, 0, 0);
	for (i = 0; i < 2; i++) {
		expect_answer_then_eof(c.fd[i]);
		close(c.fd[i]);
	}
}

/* An adoption racing with stop: closed at once, done called at once. */
struct late {
	struct linger	*l;
	struct done_rec	 r;		/* first: on_done's argument */
	struct done_rec	 late_r;
	int		 fd;
	int		 late_calls_seen;
	int		 reserve_rc;
};

static void
adopt_from_done(void *arg)
{
	struct late	*x = arg;

	on_done(&x->r);
	linger_adopt(x->l, x->fd, 8, on_done, &x->late_r);
	/* Synchronous: stop has begun. */
	x->late_calls_seen = atomic_load(&x->late_r.calls);
	x->reserve_rc = linger_reserve(x->l, 9);
}

static void
test_adopt_during_stop(void **state)
{
	struct late	 x;
	struct snap	 s;
	int		 ca, sa, cb, sb;

	(void)state;
	snap_take(&s);
	memset(&x, 0, sizeof(x));
	x.l = start(1 << 20, 10, 10, 100, 10);
	tcp_pair(&ca, &sa);
	tcp_pair(&cb, &sb);
	assert_int_equal(linger_reserve(x.l, 8), 0);
	assert_int_equal(linger_reserve(x.l, 8), 0);
	x.fd = early_answer(sb, 0);
	linger_adopt(x.l, early_answer(sa, 0), 8, adopt_from_done, &x);
	sleep_s(0.02);
	linger_stop(x.l, 0);
	assert_int_equal(atomic_load(&x.r.calls), 1);
	assert_int_equal(x.late_calls_seen, 1);
	assert_int_equal(atomic_load(&x.late_r.calls), 1);
	/* Reserving while stopping is refused. */
	assert_int_equal(x.reserve_rc, -1);
	snap_expect(&s, 0, 0, 0, 0, 2, 1);
	expect_answer_then_eof(ca);
	expect_answer_then_eof(cb);
	close(ca);
	close(cb);
}

#define NTHREAD		4
#define PERTHREAD	50

struct worker {
	struct linger	*l;
	struct done_rec	 r[PERTHREAD];
	int		 cli[PERTHREAD];
	unsigned	 id;
};

static void *
adopter(void *arg)
{
	struct worker	*w = arg;
	int		 i, srv, fd, e;
	size_t		 n;

	for (i = 0; i < PERTHREAD; i++) {
		tcp_pair(&w->cli[i], &srv);
		if (linger_reserve(w->l, w->id * 4 + (unsigned)i % 4) != 0)
			abort();
		fd = early_answer(srv, 0);
		linger_adopt(w->l, fd, w->id * 4 + (unsigned)i % 4, on_done,
		    &w->r[i]);
		n = send_n(w->cli[i], 4096 * (size_t)(i + 1), &e);
		if (n != 4096 * (size_t)(i + 1) || e != 0)
			abort();
		shutdown(w->cli[i], SHUT_WR);
	}
	return NULL;
}

static void
test_concurrent(void **state)
{
	static struct worker	 w[NTHREAD];
	pthread_t		 t[NTHREAD];
	struct snap		 s;
	struct linger		*l;
	int64_t			 t0;
	int			 i, j, fds;

	(void)state;
	fds = count_fds();
	snap_take(&s);
	atomic_store(&all_done, 0);
	memset(w, 0, sizeof(w));
	l = start(1 << 20, 5, 10, 1000, 100);
	for (i = 0; i < NTHREAD; i++) {
		w[i].l = l;
		w[i].id = (unsigned)i;
		assert_int_equal(pthread_create(&t[i], NULL, adopter, &w[i]),
		    0);
	}
	for (i = 0; i < NTHREAD; i++)
		pthread_join(t[i], NULL);
	t0 = now_ns();
	while (atomic_load(&all_done) < NTHREAD * PERTHREAD && since(t0) < 3)
		sleep_s(0.005);
	assert_int_equal(atomic_load(&all_done), NTHREAD * PERTHREAD);
	assert_int_equal(linger_active(l), 0);
	for (i = 0; i < NTHREAD; i++)
		for (j = 0; j < PERTHREAD; j++) {
			assert_int_equal(atomic_load(&w[i].r[j].calls), 1);
			expect_answer_then_eof(w[i].cli[j]);
			close(w[i].cli[j]);
		}
	linger_stop(l, 1);
	snap_expect(&s, NTHREAD * PERTHREAD, 0, 0, 0, 0, 0);
	assert_int_equal(count_fds(), fds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_then_eof),
		cmocka_unit_test(test_max_bytes),
		cmocka_unit_test(test_exactly_max_bytes),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_max_time),
		cmocka_unit_test(test_client_reset),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_set_limits),
		cmocka_unit_test(test_original_open),
		cmocka_unit_test(test_stop_grace),
		cmocka_unit_test(test_stop_early),
		cmocka_unit_test(test_adopt_during_stop),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
