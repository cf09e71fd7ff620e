/*
 * redis_conn: url parsing (the password never in a message), and live
 * connections to redis-server processes this test starts itself on free
 * loopback ports in a temp dir: AUTH, SELECT, the command timeout
 * against a SIGSTOPped server, connection refused, a unix socket, and
 * Sentinel (a master, its replica and two sentinels, one of which names
 * the replica as master so that the ROLE check must skip it), and reads
 * that prefer the url's server (REDIS_READ) unless ROLE says its data
 * may be old (a replica of a closed port).  ROLE replies are also parsed
 * from hand-made replies.  Without redis-server the live tests are
 * skipped; without Sentinel support, the Sentinel tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "redis_conn.h"

#define LEN(a)		(sizeof(a) / sizeof((a)[0]))
/* SECRET must never appear in a message. */
#define SECRET		"SeCrEt"
#define PASSWORD	"x"		/* of the live servers */

/* ---- helpers */

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
parse(const char *url, struct redis_target *t, char *err, size_t errlen)
{
	err[0] = '\0';
	return redis_target_parse(url, NULL, NULL, 2.0, t, err, errlen);
}

/* ---- parsing */

static void
test_parse_good(void **state)
{
	static const struct {
		const char	*url;
		int		 is_unix;
		const char	*host;
		int		 port;
		const char	*path;
		const char	*user;
		const char	*password;
		int		 db;
	} good[] = {
		{ "redis://host", 0, "host", 6379, NULL, NULL, NULL, 0 },
		{ "REDIS://Host.example", 0, "Host.example", 6379, NULL, NULL,
		    NULL, 0 },
		{ "redis://host/", 0, "host", 6379, NULL, NULL, NULL, 0 },
		{ "redis://host:6380/2", 0, "host", 6380, NULL, NULL, NULL,
		    2 },
		{ "redis://:secret@host:6379/0", 0, "host", 6379, NULL, NULL,
		    "secret", 0 },
		{ "redis://user:secret@host/1", 0, "host", 6379, NULL, "user",
		    "secret", 1 },
		{ "redis://[::1]:6379", 0, "::1", 6379, NULL, NULL, NULL, 0 },
		{ "redis://[::1]", 0, "::1", 6379, NULL, NULL, NULL, 0 },
		{ "redis://[fe80::1%eth0]:7000/5", 0, "fe80::1%eth0", 7000,
		    NULL, NULL, NULL, 5 },
		{ "redis://10.0.0.1:1/1023", 0, "10.0.0.1", 1, NULL, NULL,
		    NULL, 1023 },
		{ "redis://127.0.0.1:65535/015", 0, "127.0.0.1", 65535, NULL,
		    NULL, NULL, 15 },
		/* Percent-decoding; the userinfo ends at the last '@'. */
		{ "redis://u%40x:p%3Aa%2Fs%25s@h", 0, "h", 6379, NULL, "u@x",
		    "p:a/s%s", 0 },
		{ "redis://:p@ss/w:rd@h:1/2", 0, "h", 1, NULL, NULL,
		    "p@ss/w:rd", 2 },
		{ "unix:/run/redis/redis.sock", 1, NULL, 0,
		    "/run/redis/redis.sock", NULL, NULL, 0 },
		{ "unix:///run/redis.sock", 1, NULL, 0, "/run/redis.sock",
		    NULL, NULL, 0 },
		{ "UNIX:/path?db=3", 1, NULL, 0, "/path", NULL, NULL, 3 },
		{ "unix:/path?password=x", 1, NULL, 0, "/path", NULL, "x", 0 },
		{ "unix:/p?db=7&user=ro&password=a%26b", 1, NULL, 0, "/p",
		    "ro", "a&b", 7 },
		{ "unix:/p?&db=1&", 1, NULL, 0, "/p", NULL, NULL, 1 },
	};
	struct redis_target	t;
	char			err[256];
	size_t			i;

	(void)state;
	for (i = 0; i < LEN(good); i++) {
		if (parse(good[i].url, &t, err, sizeof(err)) != 0)
			fail_msg("%s: %s", good[i].url, err);
		assert_int_equal(t.is_unix, good[i].is_unix);
		if (good[i].host != NULL) {
			assert_non_null(t.host);
			assert_string_equal(t.host, good[i].host);
			assert_int_equal(t.port, good[i].port);
			assert_null(t.path);
		} else {
			assert_null(t.host);
			assert_string_equal(t.path, good[i].path);
		}
		if (good[i].user != NULL)
			assert_string_equal(t.user, good[i].user);
		else
			assert_null(t.user);
		if (good[i].password != NULL)
			assert_string_equal(t.password, good[i].password);
		else
			assert_null(t.password);
		assert_int_equal(t.db, good[i].db);
		assert_int_equal(t.sentinels.n, 0);
		assert_null(t.master);
		assert_true(t.timeout == 2.0);
		redis_target_free(&t);
		assert_null(t.host);
		redis_target_free(&t);	/* twice is harmless */
	}
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char	*url;
		const char	*says;	/* in the message */
	} bad[] = {
		{ "rediss://:" SECRET "@host", "no TLS" },
		{ "http://host", "redis://" },
		{ "host:6379", "redis://" },
		{ "", "empty" },
		{ "redis://", "empty host" },
		{ "redis://:" SECRET "@", "empty host" },
		{ "redis://:" SECRET "@:6379", "empty host" },
		{ "redis:///0", "empty host" },
		{ "redis://host:0", "port" },
		{ "redis://host:65536", "port" },
		{ "redis://host:", "port" },
		{ "redis://host:-1", "port" },
		{ "redis://host:+80", "port" },
		{ "redis://host:80x", "port" },
		{ "redis://:" SECRET ":" SECRET, "empty host" },
		{ "redis://host/1024", "db" },
		{ "redis://host/-1", "db" },
		{ "redis://host/x", "db" },
		{ "redis://host/1/2", "db" },
		{ "redis://host/0?password=" SECRET, "query" },
		{ "redis://host#x", "query" },
		{ "redis://ho st", "host" },
		{ "redis://ho%41st", "host" },
		{ "redis://::1:6379", "empty host" },
		{ "redis://[::1", "[" },
		{ "redis://[zz::1]", "host" },
		{ "redis://[1.2.3.4]", "host" },
		{ "redis://" SECRET "@host", "[user]:password" },
		{ "redis://user:@host", "empty password" },
		{ "redis://:" SECRET "%4@host", "escape" },
		{ "redis://:" SECRET "%zz@host", "escape" },
		{ "redis://:" SECRET "%00@host", "escape" },
		{ "unix:", "absolute" },
		{ "unix:relative.sock", "absolute" },
		{ "unix://host/run/redis.sock", "no host" },
		{ "unix:/p?db=16x", "db" },
		{ "unix:/p?db=1&db=2", "db" },
		{ "unix:/p?password=" SECRET "&password=" SECRET, "password" },
		{ "unix:/p?password=", "password" },
		{ "unix:/p?user=u", "needs a password" },
		{ "unix:/p?pass=" SECRET, "unknown" },
		{ "unix:/p?" SECRET, "name=value" },
		{ "unix:/p?password=" SECRET "%g0", "escape" },
		{ "unix:/a b", "bad byte" },
		{ "unix:/a#b", "bad byte" },
	};
	struct redis_target	t;
	char			err[256], longpath[200];
	size_t			i;

	(void)state;
	for (i = 0; i < LEN(bad); i++) {
		memset(&t, 0x5a, sizeof(t));
		if (parse(bad[i].url, &t, err, sizeof(err)) != -1)
			fail_msg("%s accepted", bad[i].url);
		if (strstr(err, bad[i].says) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].url,
			    err, bad[i].says);
		if (strstr(err, SECRET) != NULL)
			fail_msg("%s: the message shows the secret: %s",
			    bad[i].url, err);
		/* Left clean: freeing is harmless. */
		assert_null(t.host);
		assert_null(t.password);
		assert_null(t.path);
		redis_target_free(&t);
	}
	/* sun_path holds 107 bytes and a NUL. */
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:/", 6);
	longpath[5 + 107] = '\0';
	assert_int_equal(parse(longpath, &t, err, sizeof(err)), 0);
	redis_target_free(&t);
	longpath[5 + 107] = 'a';
	longpath[5 + 108] = '\0';
	assert_int_equal(parse(longpath, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer"));
}

static void
test_parse_sentinels(void **state)
{
	struct strlist		 s = { NULL, 0 };
	struct redis_target	 t;
	char			 err[256];
	double			 bad_timeouts[] = {
		0, -1, 1e9, NAN, INFINITY
	};
	size_t			 i;

	(void)state;
	assert_int_equal(strlist_push(&s, "10.0.0.1:26379"), 0);
	assert_int_equal(strlist_push(&s, "[::1]:26380"), 0);
	assert_int_equal(strlist_push(&s, "sentinel.example:26381"), 0);
	assert_int_equal(redis_target_parse("redis://:" SECRET "@replica:6379",
	    &s, "mymaster", 0.5, &t, err, sizeof(err)), 0);
	assert_int_equal(t.sentinels.n, 3);
	assert_string_equal(t.sentinels.v[1], "[::1]:26380");
	assert_string_equal(t.master, "mymaster");
	assert_string_equal(t.host, "replica");
	assert_true(t.timeout == 0.5);
	redis_target_free(&t);

	/* Sentinels need a master, and a master needs sentinels. */
	assert_int_equal(redis_target_parse("redis://h", &s, NULL, 1, &t, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "master"));
	assert_int_equal(redis_target_parse("redis://h", &s, "", 1, &t, err,
	    sizeof(err)), -1);
	assert_int_equal(redis_target_parse("redis://h", NULL, "m", 1, &t,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sentinels"));
	assert_int_equal(redis_target_parse("redis://h", &s, "m y", 1, &t,
	    err, sizeof(err)), -1);

	/* Bad items are named (they hold no secret). */
	assert_int_equal(strlist_push(&s, "nohost"), 0);
	assert_int_equal(redis_target_parse("redis://:" SECRET "@h", &s, "m",
	    1, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"nohost\""));
	assert_null(strstr(err, SECRET));
	assert_int_equal(t.sentinels.n, 0);
	strlist_free(&s);
	assert_int_equal(strlist_push(&s, "h:0"), 0);
	assert_int_equal(redis_target_parse("redis://h", &s, "m", 1, &t, err,
	    sizeof(err)), -1);
	strlist_free(&s);
	assert_int_equal(strlist_push(&s, ":26379"), 0);
	assert_int_equal(redis_target_parse("redis://h", &s, "m", 1, &t, err,
	    sizeof(err)), -1);
	strlist_free(&s);

	for (i = 0; i < LEN(bad_timeouts); i++) {
		assert_int_equal(redis_target_parse("redis://h", NULL, NULL,
		    bad_timeouts[i], &t, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "timeout"));
	}
}

/* ---- ROLE replies */

static redisReply
text(const char *s)
{
	redisReply	r;

	memset(&r, 0, sizeof(r));
	r.type = REDIS_REPLY_STRING;
	r.str = (char *)s;
	r.len = strlen(s);
	return r;
}

static redisReply
number(long long v)
{
	redisReply	r;

	memset(&r, 0, sizeof(r));
	r.type = REDIS_REPLY_INTEGER;
	r.integer = v;
	return r;
}

static redisReply
array(redisReply **e, size_t n)
{
	redisReply	r;

	memset(&r, 0, sizeof(r));
	r.type = REDIS_REPLY_ARRAY;
	r.element = e;
	r.elements = n;
	return r;
}

/* ["slave", host, port, state, offset], as Redis 7 answers on a replica. */
static enum redis_role
replica_role(const char *word, const char *state, const char **name,
    const char **link)
{
	redisReply	 e[5], *ep[5], r;
	size_t		 i;

	e[0] = text(word);
	e[1] = text("10.0.0.5");
	e[2] = number(6379);
	e[3] = text(state);
	e[4] = number(-1);
	for (i = 0; i < LEN(e); i++)
		ep[i] = &e[i];
	r = array(ep, LEN(ep));
	return redis_role_parse(&r, name, link);
}

static void
test_role_parse(void **state)
{
	const char	*stale[] = { "connect", "connecting", "handshake",
	    "sync", "none", "" };
	const char	*name, *link;
	redisReply	 e[4], *ep[4], r;
	size_t		 i;

	(void)state;
	/* ["master", offset, [replicas]]: only the first element counts. */
	e[0] = text("master");
	e[1] = number(42);
	e[2] = array(NULL, 0);
	for (i = 0; i < 3; i++)
		ep[i] = &e[i];
	r = array(ep, 3);
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_MASTER);
	assert_string_equal(name, "master");
	assert_null(link);
	e[0].type = REDIS_REPLY_STATUS;		/* either string type */
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_MASTER);

	/* A replica is readable only with its master link up. */
	assert_int_equal(replica_role("slave", "connected", &name, &link),
	    REDIS_ROLE_REPLICA);
	assert_string_equal(name, "slave");
	assert_string_equal(link, "connected");
	assert_int_equal(replica_role("replica", "connected", &name, &link),
	    REDIS_ROLE_REPLICA);
	for (i = 0; i < LEN(stale); i++) {
		assert_int_equal(replica_role("slave", stale[i], &name,
		    &link), REDIS_ROLE_STALE);
		assert_string_equal(link, stale[i]);
	}
	assert_int_equal(replica_role("slave", "Connected", &name, &link),
	    REDIS_ROLE_STALE);

	/* A sentinel, or a role this code does not know. */
	e[0] = text("sentinel");
	e[1] = array(NULL, 0);
	r = array(ep, 2);
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_OTHER);
	assert_string_equal(name, "sentinel");
	e[0] = text("");
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_OTHER);

	/* Not a ROLE reply. */
	assert_int_equal(redis_role_parse(NULL, &name, &link),
	    REDIS_ROLE_BAD);
	assert_null(name);
	r = array(ep, 0);
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_BAD);
	r = text("master");
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_BAD);
	e[0] = number(1);
	r = array(ep, 1);
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_BAD);
	e[0].type = REDIS_REPLY_NIL;
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_BAD);
	e[0] = text("master");
	e[0].type = REDIS_REPLY_ERROR;
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_BAD);

	/* A replica's reply cut short, or its state not a string. */
	e[0] = text("slave");
	e[1] = text("10.0.0.5");
	e[2] = number(6379);
	e[3] = number(0);
	for (i = 1; i < 4; i++) {
		ep[i] = &e[i];
		r = array(ep, i);
		assert_int_equal(redis_role_parse(&r, &name, &link),
		    REDIS_ROLE_BAD);
	}
	r = array(ep, 4);
	assert_int_equal(redis_role_parse(&r, &name, &link),
	    REDIS_ROLE_BAD);
	assert_null(link);
}

/* ---- live servers */

struct proc {
	pid_t	pid;
	int	port;
};

static struct {
	int		have_redis;
	int		have_sentinel;
	const char	*why_not;
	char		dir[64];
	char		sock[128];
	struct proc	a;	/* master, requirepass, unix socket too */
	struct proc	b;	/* replica of a */
	struct proc	stale;	/* replica of closed_port: link down */
	struct proc	s1;	/* sentinel naming b as master "m" */
	struct proc	s2;	/* sentinel monitoring a as "m" */
	int		closed_port;
} live;

/*
 * Claim port for this process against the other test programs that run
 * in parallel (make -j2 check): as g307test.py's free_port(), a lock on
 * $TMPDIR/geo307-test-ports/PORT, held until exit.  0: someone has it.
 */
static int
claim_port(int port)
{
	const char	*tmp = getenv("TMPDIR");
	char		 path[512];
	int		 fd;

	snprintf(path, sizeof(path), "%s/geo307-test-ports",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	(void)mkdir(path, 0700);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%d",
	    port);
	if ((fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600)) == -1)
		return 1;		/* no shared directory: take it */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return errno != EWOULDBLOCK;
	}
	return 1;			/* fd stays open: the lock lasts */
}

/* A port nothing listens on right now, and no other test was given. */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, port, tries;

	for (tries = 0; tries < 100; tries++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return -1;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
			close(fd);
			return -1;
		}
		port = ntohs(sin.sin_port);
		close(fd);
		if (claim_port(port))
			return port;
	}
	return -1;
}

static int
find_exe(const char *name, char *buf, size_t len)
{
	const char	*path = getenv("PATH"), *p, *colon;
	size_t		 n;

	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = colon) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		n = (size_t)(colon - p);
		if (n > 0 && (size_t)snprintf(buf, len, "%.*s/%s", (int)n, p,
		    name) < len && access(buf, X_OK) == 0)
			return 0;
		if (*colon == ':')
			colon++;
	}
	return -1;
}

/*
 * fork + exec, output to /dev/null (the servers log to files in the temp
 * dir), and killed with us if this test dies before its teardown.
 */
static pid_t
spawn(char *const argv[])
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	execv(argv[0], argv);
	_exit(127);
}

/* Wait until pid accepts connections on port; -1 if it exits or stalls. */
static int
wait_port(pid_t pid, int port)
{
	struct sockaddr_in	sin;
	double			until = now() + 5;
	int			fd, rc, status;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	while (now() < until) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return -1;
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
		if (rc == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

static void
stop(struct proc *p)
{
	double	until;
	int	status;

	if (p->pid <= 0)
		return;
	kill(p->pid, SIGCONT);
	kill(p->pid, SIGTERM);
	for (until = now() + 3; now() < until; usleep(10000))
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return;
		}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
}

static int
start_redis(const char *exe, struct proc *p, const char *name,
    const char *extra1, const char *extra2)
{
	char	port[16], log[128], replicaof[64];
	char	*argv[32];
	int	n = 0;

	if ((p->port = free_port()) == -1)
		return -1;
	snprintf(port, sizeof(port), "%d", p->port);
	snprintf(log, sizeof(log), "%s/%s.log", live.dir, name);
	argv[n++] = (char *)exe;
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--save";
	argv[n++] = "";
	argv[n++] = "--appendonly";
	argv[n++] = "no";
	argv[n++] = "--requirepass";
	argv[n++] = PASSWORD;
	argv[n++] = "--dir";
	argv[n++] = live.dir;
	argv[n++] = "--logfile";
	argv[n++] = log;
	argv[n++] = "--daemonize";
	argv[n++] = "no";
	argv[n++] = "--repl-diskless-sync-delay";
	argv[n++] = "0";
	if (extra1 != NULL) {		/* the unix socket */
		argv[n++] = "--unixsocket";
		argv[n++] = (char *)extra1;
		argv[n++] = "--unixsocketperm";
		argv[n++] = "700";
	}
	if (extra2 != NULL) {		/* replica of port extra2 */
		snprintf(replicaof, sizeof(replicaof), "127.0.0.1 %s", extra2);
		argv[n++] = "--replicaof";
		argv[n++] = replicaof;
		argv[n++] = "--masterauth";
		argv[n++] = PASSWORD;
	}
	argv[n] = NULL;
	if ((p->pid = spawn(argv)) == -1)
		return -1;
	if (wait_port(p->pid, p->port) == -1) {
		stop(p);
		return -1;
	}
	return 0;
}

static int
start_sentinel(const char *exe, int is_sentinel_exe, struct proc *p,
    const char *name, int master_port)
{
	char	conf[128];
	char	*argv[8];
	FILE	*f;
	int	n = 0;

	if ((p->port = free_port()) == -1)
		return -1;
	snprintf(conf, sizeof(conf), "%s/%s.conf", live.dir, name);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	/* Sentinel rewrites this file: it must be writable, and its own. */
	fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s/%s.log\n"
	    "daemonize no\n"
	    "sentinel monitor m 127.0.0.1 %d 1\n"
	    "sentinel auth-pass m " PASSWORD "\n"
	    "sentinel down-after-milliseconds m 60000\n",
	    p->port, live.dir, live.dir, name, master_port);
	fclose(f);
	argv[n++] = (char *)exe;
	argv[n++] = conf;
	if (!is_sentinel_exe)
		argv[n++] = "--sentinel";
	argv[n] = NULL;
	if ((p->pid = spawn(argv)) == -1)
		return -1;
	if (wait_port(p->pid, p->port) == -1) {
		stop(p);
		return -1;
	}
	return 0;
}

static void
rm_dir(const char *dir)
{
	struct dirent	*de;
	char		 path[512];
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int
group_setup(void **state)
{
	char	exe[512], sexe[512], aport[16], cport[16];
	int	sentinel_exe;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(live.dir, sizeof(live.dir), "/tmp/g307-rc-XXXXXX");
	if (mkdtemp(live.dir) == NULL)
		return -1;
	snprintf(live.sock, sizeof(live.sock), "%s/a.sock", live.dir);
	live.closed_port = free_port();
	if (find_exe("redis-server", exe, sizeof(exe)) == -1) {
		live.why_not = "redis-server not installed";
		return 0;
	}
	if (start_redis(exe, &live.a, "a", live.sock, NULL) == -1) {
		live.why_not = "redis-server did not start";
		return 0;
	}
	live.have_redis = 1;

	/* redis-sentinel (its own package), or redis-server --sentinel. */
	sentinel_exe = find_exe("redis-sentinel", sexe, sizeof(sexe)) == 0;
	if (!sentinel_exe)
		snprintf(sexe, sizeof(sexe), "%s", exe);
	snprintf(aport, sizeof(aport), "%d", live.a.port);
	snprintf(cport, sizeof(cport), "%d", live.closed_port);
	if (start_redis(exe, &live.b, "b", NULL, aport) == 0 &&
	    start_redis(exe, &live.stale, "stale", NULL, cport) == 0 &&
	    start_sentinel(sexe, sentinel_exe, &live.s1, "s1",
	    live.b.port) == 0 &&
	    start_sentinel(sexe, sentinel_exe, &live.s2, "s2",
	    live.a.port) == 0)
		live.have_sentinel = 1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	stop(&live.s2);
	stop(&live.s1);
	stop(&live.stale);
	stop(&live.b);
	stop(&live.a);
	rm_dir(live.dir);
	return 0;
}

#define NEED_REDIS() do {						\
	if (!live.have_redis) {						\
		print_message("skipped: %s\n", live.why_not);		\
		skip();							\
	}								\
} while (0)

/*
 * Connect to the url tmpl with its "%d" replaced by port (by hand: a
 * non-literal printf format is what -Wformat-nonliteral is there for).
 */
static void
fill_url(const char *tmpl, int port, char *url, size_t len)
{
	const char	*pd;

	pd = strstr(tmpl, "%d");
	assert_non_null(pd);
	snprintf(url, len, "%.*s%d%s", (int)(pd - tmpl), tmpl, port, pd + 2);
}

static redisContext *
connect_url(const char *tmpl, int port, double timeout, char *err,
    size_t errlen)
{
	struct redis_target	 t;
	redisContext		*c;
	char			 url[256];

	fill_url(tmpl, port, url, sizeof(url));
	if (redis_target_parse(url, NULL, NULL, timeout, &t, err,
	    errlen) == -1)
		fail_msg("%s: %s", url, err);
	err[0] = '\0';
	c = redis_connect(&t, REDIS_URL_NODE, NULL, err, errlen);
	redis_target_free(&t);
	return c;
}

static void
expect_reply(redisContext *c, const char *want, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (want == NULL)
		assert_int_equal(r->type, REDIS_REPLY_NIL);
	else {
		if (r->type != REDIS_REPLY_STRING &&
		    r->type != REDIS_REPLY_STATUS)
			fail_msg("%s: reply type %d", fmt, r->type);
		assert_string_equal(r->str, want);
	}
	freeReplyObject(r);
}

static void
test_live_ping(void **state)
{
	redisContext	*c;
	char		 err[512];

	(void)state;
	NEED_REDIS();
	c = connect_url("redis://:" PASSWORD "@127.0.0.1:%d", live.a.port, 2,
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("connect: %s", err);
	expect_reply(c, "PONG", "PING");
	redisFree(c);

	/* The ACL form, user "default". */
	c = connect_url("redis://default:" PASSWORD "@127.0.0.1:%d/0",
	    live.a.port, 2, err, sizeof(err));
	if (c == NULL)
		fail_msg("connect as default: %s", err);
	expect_reply(c, "PONG", "PING");
	redisFree(c);

	/* A name, not an address. */
	c = connect_url("redis://:" PASSWORD "@localhost:%d", live.a.port, 2,
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("connect to localhost: %s", err);
	redisFree(c);
}

static void
test_live_unix(void **state)
{
	struct redis_target	 t;
	redisContext		*c;
	char			 url[256], err[512];

	(void)state;
	NEED_REDIS();
	snprintf(url, sizeof(url), "unix://%s?db=2&password=" PASSWORD,
	    live.sock);
	assert_int_equal(redis_target_parse(url, NULL, NULL, 2, &t, err,
	    sizeof(err)), 0);
	c = redis_connect(&t, REDIS_URL_NODE, NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("connect %s: %s", url, err);
	assert_int_equal(c->connection_type, REDIS_CONN_UNIX);
	expect_reply(c, "OK", "SET unixkey here");
	redisFree(c);
	redis_target_free(&t);

	/* It landed in db 2. */
	c = connect_url("redis://:" PASSWORD "@127.0.0.1:%d/2", live.a.port,
	    2, err, sizeof(err));
	assert_non_null(c);
	expect_reply(c, "here", "GET unixkey");
	redisFree(c);

	/* A socket that is not there. */
	snprintf(url, sizeof(url), "unix:%s/none.sock", live.dir);
	assert_int_equal(redis_target_parse(url, NULL, NULL, 2, &t, err,
	    sizeof(err)), 0);
	assert_null(redis_connect(&t, REDIS_URL_NODE, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "none.sock"));
	assert_non_null(strstr(err, "no such file"));
	redis_target_free(&t);
}

static void
test_live_auth(void **state)
{
	redisContext	*c;
	char		 err[512], label[64];

	(void)state;
	NEED_REDIS();
	snprintf(label, sizeof(label), "redis 127.0.0.1:%d: ", live.a.port);
	c = connect_url("redis://:" SECRET "@127.0.0.1:%d", live.a.port, 2,
	    err, sizeof(err));
	assert_null(c);
	print_message("wrong password: %s\n", err);
	assert_non_null(strstr(err, label));
	assert_non_null(strstr(err, "AUTH failed"));
	assert_non_null(strstr(err, "WRONGPASS"));
	assert_null(strstr(err, SECRET));

	c = connect_url("redis://nobody:" SECRET "@127.0.0.1:%d", live.a.port,
	    2, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "AUTH failed"));
	assert_null(strstr(err, SECRET));

	/* No password at all: the PING at connect time finds out. */
	c = connect_url("redis://127.0.0.1:%d", live.a.port, 2, err,
	    sizeof(err));
	assert_null(c);
	print_message("no password: %s\n", err);
	assert_non_null(strstr(err, "PING failed: NOAUTH"));
}

static void
test_live_select(void **state)
{
	redisContext	*c0, *c3;
	char		 err[512];

	(void)state;
	NEED_REDIS();
	c3 = connect_url("redis://:" PASSWORD "@127.0.0.1:%d/3", live.a.port,
	    2, err, sizeof(err));
	if (c3 == NULL)
		fail_msg("db 3: %s", err);
	c0 = connect_url("redis://:" PASSWORD "@127.0.0.1:%d", live.a.port,
	    2, err, sizeof(err));
	if (c0 == NULL)
		fail_msg("db 0: %s", err);
	expect_reply(c3, "OK", "SET selkey three");
	expect_reply(c3, "three", "GET selkey");
	expect_reply(c0, NULL, "GET selkey");
	expect_reply(c0, "OK", "SELECT 3");
	expect_reply(c0, "three", "GET selkey");
	redisFree(c0);
	redisFree(c3);

	/* A db the server does not have (16 by default). */
	c3 = connect_url("redis://:" PASSWORD "@127.0.0.1:%d/1023",
	    live.a.port, 2, err, sizeof(err));
	assert_null(c3);
	assert_non_null(strstr(err, "SELECT failed"));
}

/* A stopped server: commands fail within about the timeout. */
static void
test_live_timeout(void **state)
{
	redisContext	*c;
	redisReply	*r;
	double		 t0, dt;
	char		 err[512];

	(void)state;
	NEED_REDIS();
	c = connect_url("redis://:" PASSWORD "@127.0.0.1:%d", live.a.port,
	    0.3, err, sizeof(err));
	if (c == NULL)
		fail_msg("connect: %s", err);
	assert_int_equal(kill(live.a.pid, SIGSTOP), 0);

	t0 = now();
	r = redisCommand(c, "PING");
	dt = now() - t0;
	print_message("command on a stopped server failed after %.3f s: %s\n",
	    dt, c->errstr);
	assert_null(r);
	assert_true(dt >= 0.25 && dt < 1.5);
	redisFree(c);

	/* Connecting: the kernel still accepts, AUTH then times out. */
	t0 = now();
	c = connect_url("redis://:" PASSWORD "@127.0.0.1:%d", live.a.port,
	    0.3, err, sizeof(err));
	dt = now() - t0;
	kill(live.a.pid, SIGCONT);
	print_message("connect to a stopped server: %.3f s: %s\n", dt, err);
	assert_null(c);
	assert_true(dt < 1.5);
	assert_non_null(strstr(err, "AUTH: timeout"));

	/* And it serves again. */
	c = connect_url("redis://:" PASSWORD "@127.0.0.1:%d", live.a.port, 2,
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("after SIGCONT: %s", err);
	expect_reply(c, "PONG", "PING");
	redisFree(c);
}

static void
test_live_refused(void **state)
{
	redisContext	*c;
	double		 t0;
	char		 err[512], want[128];

	(void)state;
	NEED_REDIS();
	t0 = now();
	c = connect_url("redis://:" SECRET "@127.0.0.1:%d", live.closed_port,
	    2, err, sizeof(err));
	assert_null(c);
	assert_true(now() - t0 < 1);
	snprintf(want, sizeof(want), "redis 127.0.0.1:%d: connection refused",
	    live.closed_port);
	assert_string_equal(err, want);

	c = connect_url("redis://[::1]:%d", live.closed_port, 2, err,
	    sizeof(err));
	assert_null(c);
	snprintf(want, sizeof(want), "redis [::1]:%d: ", live.closed_port);
	print_message("IPv6: %s\n", err);
	assert_non_null(strstr(err, want));
}

static void
test_live_sentinel(void **state)
{
	struct strlist		 s = { NULL, 0 };
	struct redis_target	 t;
	redisContext		*c;
	redisReply		*r;
	char			 item[64], url[128], err[1024], host[256];
	int			 port;

	(void)state;
	NEED_REDIS();
	if (!live.have_sentinel) {
		print_message("skipped: no redis-sentinel or redis-server "
		    "--sentinel\n");
		skip();
	}
	/* A dead sentinel, one that names the replica, the right one. */
	snprintf(item, sizeof(item), "127.0.0.1:%d", live.closed_port);
	assert_int_equal(strlist_push(&s, item), 0);
	snprintf(item, sizeof(item), "127.0.0.1:%d", live.s1.port);
	assert_int_equal(strlist_push(&s, item), 0);
	snprintf(item, sizeof(item), "127.0.0.1:%d", live.s2.port);
	assert_int_equal(strlist_push(&s, item), 0);
	/* The url names the replica: a router's local copy for reads. */
	snprintf(url, sizeof(url), "redis://:" PASSWORD "@127.0.0.1:%d/1",
	    live.b.port);
	assert_int_equal(redis_target_parse(url, &s, "m", 2, &t, err,
	    sizeof(err)), 0);
	strlist_free(&s);

	c = redis_connect(&t, REDIS_MASTER, NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("REDIS_MASTER: %s", err);
	assert_int_equal(c->tcp.port, live.a.port);
	r = redisCommand(c, "ROLE");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_string_equal(r->element[0]->str, "master");
	freeReplyObject(r);
	expect_reply(c, "OK", "SET sentkey 1");	/* writable, in db 1 */
	redisFree(c);

	/* REDIS_URL_NODE: the url's own server, the replica. */
	c = redis_connect(&t, REDIS_URL_NODE, NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("replica: %s", err);
	assert_int_equal(c->tcp.port, live.b.port);
	r = redisCommand(c, "ROLE");
	assert_non_null(r);
	assert_string_equal(r->element[0]->str, "slave");
	freeReplyObject(r);
	redisFree(c);

	/* Resolve only: the first sentinel that answers (s1, wrongly). */
	assert_int_equal(redis_sentinel_master(&t, host, sizeof(host), &port,
	    err, sizeof(err)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, live.b.port);
	redis_target_free(&t);

	/* Only the sentinel that names the replica: no master. */
	snprintf(item, sizeof(item), "127.0.0.1:%d", live.s1.port);
	assert_int_equal(strlist_push(&s, item), 0);
	assert_int_equal(redis_target_parse(url, &s, "m", 2, &t, err,
	    sizeof(err)), 0);
	assert_null(redis_connect(&t, REDIS_MASTER, NULL, err,
	    sizeof(err)));
	print_message("replica only: %s\n", err);
	assert_non_null(strstr(err, "ROLE says \"slave\""));
	redis_target_free(&t);
	strlist_free(&s);

	/* A master name no sentinel knows. */
	snprintf(item, sizeof(item), "127.0.0.1:%d", live.s2.port);
	assert_int_equal(strlist_push(&s, item), 0);
	assert_int_equal(redis_target_parse(url, &s, "other", 2, &t, err,
	    sizeof(err)), 0);
	assert_null(redis_connect(&t, REDIS_MASTER, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "no master called \"other\""));
	assert_int_equal(redis_sentinel_master(&t, host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	redis_target_free(&t);
	strlist_free(&s);

	/* Only dead sentinels. */
	snprintf(item, sizeof(item), "127.0.0.1:%d", live.closed_port);
	assert_int_equal(strlist_push(&s, item), 0);
	assert_int_equal(redis_target_parse(url, &s, "m", 2, &t, err,
	    sizeof(err)), 0);
	assert_null(redis_connect(&t, REDIS_MASTER, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "connection refused"));
	redis_target_free(&t);
	strlist_free(&s);
}

#define URL	"redis://:" PASSWORD "@127.0.0.1:%d"

/* Does ROLE at port say its master link is up? */
static int
link_up(int port)
{
	redisContext	*c;
	redisReply	*r;
	char		 err[256];
	int		 up = 0;

	if ((c = connect_url(URL, port, 1, err, sizeof(err))) == NULL)
		return 0;
	if ((r = redisCommand(c, "ROLE")) != NULL) {
		up = r->type == REDIS_REPLY_ARRAY && r->elements >= 4 &&
		    r->element[3]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[3]->str, "connected") == 0;
		freeReplyObject(r);
	}
	redisFree(c);
	return up;
}

/* A target: tmpl with its "%d" = port, sentinels at sp[0..n), "m". */
static void
target_at(const char *tmpl, int port, const int *sp, size_t n,
    struct redis_target *t)
{
	struct strlist	 s = { NULL, 0 };
	char		 url[256], item[64], err[512];
	size_t		 i;

	fill_url(tmpl, port, url, sizeof(url));
	for (i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "127.0.0.1:%d", sp[i]);
		assert_int_equal(strlist_push(&s, item), 0);
	}
	if (redis_target_parse(url, &s, "m", 2, t, err, sizeof(err)) == -1)
		fail_msg("%s: %s", url, err);
	strlist_free(&s);
}

/* REDIS_READ: the port it reached, or 0 with the message in err. */
static int
read_port(const char *tmpl, int port, const int *sp, size_t n,
    struct redis_where *w, char *err, size_t errlen)
{
	struct redis_target	 t;
	redisContext		*c;
	int			 got = 0;

	target_at(tmpl, port, sp, n, &t);
	err[0] = '\0';
	if ((c = redis_connect(&t, REDIS_READ, w, err, errlen)) != NULL) {
		got = c->tcp.port;
		redisFree(c);
	}
	redis_target_free(&t);
	return got;
}

static void
assert_node(const struct redis_where *w, int port)
{
	char	want[64];

	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	assert_string_equal(w->node, want);
}

/*
 * REDIS_READ: the url's server while ROLE says its data is live (master,
 * or replica with its link up), else the master Sentinel names.
 */
static void
test_live_read(void **state)
{
	struct redis_target	 t;
	struct redis_where	 w;
	redisContext		*c;
	const int		 good[] = { live.closed_port, live.s2.port };
	const int		 dead[] = { live.closed_port };
	double			 until;
	char			 err[1024];

	(void)state;
	NEED_REDIS();
	if (!live.have_sentinel) {
		print_message("skipped: no redis-sentinel or redis-server "
		    "--sentinel\n");
		skip();
	}
	for (until = now() + 10; !link_up(live.b.port) && now() < until;)
		usleep(20000);
	assert_true(link_up(live.b.port));

	/* A replica in sync, and a master: each read where it is. */
	assert_int_equal(read_port(URL, live.b.port, good, LEN(good), &w,
	    err, sizeof(err)), live.b.port);
	assert_node(&w, live.b.port);
	assert_false(w.fallback);
	assert_string_equal(w.why, "");
	assert_int_equal(read_port(URL, live.a.port, good, LEN(good), &w,
	    err, sizeof(err)), live.a.port);
	assert_false(w.fallback);

	/* A replica that lost its master: the master, and why. */
	assert_int_equal(read_port(URL, live.stale.port, good, LEN(good), &w,
	    err, sizeof(err)), live.a.port);
	assert_node(&w, live.a.port);
	assert_true(w.fallback);
	print_message("stale replica: %s\n", w.why);
	assert_non_null(strstr(w.why, "with its master link \"connect"));
	assert_non_null(strstr(w.why, "its data may be old"));

	/* The url's server down: the master. */
	assert_int_equal(read_port(URL, live.closed_port, good, LEN(good),
	    &w, err, sizeof(err)), live.a.port);
	assert_true(w.fallback);
	assert_non_null(strstr(w.why, "connection refused"));

	/* Both refused: both reasons, never the password. */
	assert_int_equal(read_port("redis://:" SECRET "@127.0.0.1:%d",
	    live.b.port, good, LEN(good), &w, err, sizeof(err)), 0);
	print_message("wrong password: %s\n", err);
	assert_non_null(strstr(err, "AUTH failed"));
	assert_non_null(strstr(err, "no sentinel named a usable master"));
	assert_null(strstr(err, SECRET));

	/*
	 * Every sentinel dead: reads still go to a live url server (the
	 * bug this mode fixes), never to a stale one; writes need Sentinel.
	 */
	assert_int_equal(read_port(URL, live.b.port, dead, LEN(dead), &w,
	    err, sizeof(err)), live.b.port);
	assert_false(w.fallback);
	assert_int_equal(read_port(URL, live.a.port, dead, LEN(dead), &w,
	    err, sizeof(err)), live.a.port);
	assert_int_equal(read_port(URL, live.stale.port, dead, LEN(dead), &w,
	    err, sizeof(err)), 0);
	print_message("stale replica, dead sentinel: %s\n", err);
	assert_non_null(strstr(err, "its data may be old"));
	assert_non_null(strstr(err, "connection refused"));
	target_at(URL, live.a.port, dead, LEN(dead), &t);
	assert_null(redis_connect(&t, REDIS_MASTER, &w, err, sizeof(err)));
	redis_target_free(&t);

	/* A connection in use, checked again in place. */
	target_at(URL, live.b.port, good, LEN(good), &t);
	c = redis_connect(&t, REDIS_READ, &w, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(redis_still_readable(c, w.node, err, sizeof(err)), 0);
	redisFree(c);
	redis_target_free(&t);
	target_at(URL, live.stale.port, good, LEN(good), &t);
	c = redis_connect(&t, REDIS_URL_NODE, &w, err, sizeof(err));
	assert_non_null(c);
	assert_node(&w, live.stale.port);
	assert_int_equal(redis_still_readable(c, w.node, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "its data may be old"));
	redisFree(c);
	redis_target_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_sentinels),
		cmocka_unit_test(test_role_parse),
		cmocka_unit_test(test_live_ping),
		cmocka_unit_test(test_live_unix),
		cmocka_unit_test(test_live_auth),
		cmocka_unit_test(test_live_select),
		cmocka_unit_test(test_live_timeout),
		cmocka_unit_test(test_live_refused),
		cmocka_unit_test(test_live_sentinel),
		cmocka_unit_test(test_live_read),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
