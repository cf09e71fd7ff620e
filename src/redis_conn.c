/*
 * redis_conn: ready connections to the Redis that holds the fleet, for
 * the daemon and geo307ctl: timeouts, AUTH and SELECT, the master asked
 * of the sentinels, ROLE checks, and the server reads go to.  The url
 * and sentinels are parsed in redis_target.c.
 *
 * Every context this file hands out has answered a command: AUTH,
 * SELECT, ROLE, or failing those a PING.  Without that, a server that is
 * stopped but whose kernel still completes the TCP handshake would look
 * connected until the first real command timed out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "redis_conn.h"
#include "redis_conn_internal.h"

/* Where a context goes, for messages: "host:port", "[v6]:port", "unix:/p". */
struct endpoint {
	const char	*host;
	int		 port;
	const char	*path;		/* non-NULL: unix socket */
	char		 label[REDIS_NODE_MAX];
};
/* Room for "[" host "]:" port, or "unix:" path, and the NUL. */
_Static_assert(REDIS_NODE_MAX >= HOST_MAX + PATH_MAX_UNIX + 16,
    "REDIS_NODE_MAX too small for an endpoint label");

static void
endpoint_init(struct endpoint *e, const char *host, int port,
    const char *path)
{
	e->host = host;
	e->port = port;
	e->path = path;
	if (path != NULL)
		snprintf(e->label, sizeof(e->label), "unix:%s", path);
	else if (strchr(host, ':') != NULL)
		snprintf(e->label, sizeof(e->label), "[%s]:%d", host, port);
	else
		snprintf(e->label, sizeof(e->label), "%s:%d", host, port);
}

static struct timeval
tv_of(double s)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	/* A zero timeval means "no timeout" to setsockopt. */
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1;
	return tv;
}

/*
 * hiredis's error text, made readable: a read or connect that ran into
 * SO_RCVTIMEO or the connect deadline says "timeout" (hiredis reports
 * strerror(EAGAIN) resp. ETIMEDOUT), the rest is strerror() or
 * gai_strerror() text with its first letter lowered.
 */
static const char *
ctx_error(const redisContext *c, char *buf, size_t len)
{
	if (c->err == REDIS_ERR_IO && (strcmp(c->errstr,
	    strerror(EAGAIN)) == 0 || strcmp(c->errstr,
	    strerror(ETIMEDOUT)) == 0 || strcmp(c->errstr,
	    strerror(EINPROGRESS)) == 0))
		return "timeout";
	if (c->err == REDIS_ERR_EOF)
		return "connection closed by the server";
	if (c->errstr[0] == '\0')
		return "I/O error";
	snprintf(buf, len, "%s", c->errstr);
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/*
 * One command; NULL with a message on an I/O error or an error reply.
 * The message names the command (argv[0]) but never its arguments,
 * which for AUTH are the credentials.
 */
static redisReply *
command(redisContext *c, const char *label, int argc, const char **argv,
    char *err, size_t errlen)
{
	redisReply	*r;
	char		 buf[128];

	r = redis_conn_command_argv(c, argc, argv);
	if (r == NULL) {
		redis_errf(err, errlen, "redis %s: %s: %s", label, argv[0],
		    ctx_error(c, buf, sizeof(buf)));
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		redis_errf(err, errlen, "redis %s: %s failed: %.200s", label,
		    argv[0], r->str != NULL ? r->str : "");
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Context with connect and command timeouts and keepalive; no commands. */
static redisContext *
open_raw(const struct endpoint *e, double timeout, char *err, size_t errlen)
{
	redisContext	*c;
	struct timeval	 tv = tv_of(timeout);
	char		 buf[128];

	if (e->path != NULL)
		c = redisConnectUnixWithTimeout(e->path, tv);
	else
		c = redisConnectWithTimeout(e->host, e->port, tv);
	if (c == NULL) {
		redis_errf(err, errlen, "redis %s: out of memory", e->label);
		return NULL;
	}
	if (c->err) {
		redis_errf(err, errlen, "redis %s: %s", e->label,
		    ctx_error(c, buf, sizeof(buf)));
		redisFree(c);
		return NULL;
	}
	/*
	 * redisConnectWithTimeout bounds only the connect; without this a
	 * server that stops answering blocks the caller forever.
	 */
	if (redisSetTimeout(c, tv) != REDIS_OK ||
	    (e->path == NULL && redisEnableKeepAlive(c) != REDIS_OK)) {
		redis_errf(err, errlen, "redis %s: %s", e->label,
		    ctx_error(c, buf, sizeof(buf)));
		redisFree(c);
		return NULL;
	}
	/* Every reply read on it is bounded (redis_conn_reply.c). */
	redis_conn_bound(c);
	return c;
}

static int
is_text(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_STATUS) && r->str != NULL;
}

enum redis_role
redis_role_parse(const redisReply *r, const char **name, const char **link)
{
	*name = *link = NULL;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
	    !is_text(r->element[0]))
		return REDIS_ROLE_BAD;
	*name = r->element[0]->str;
	if (strcmp(*name, "master") == 0)
		return REDIS_ROLE_MASTER;
	/* Redis 5..7 say "slave"; accept the newer word as well. */
	if (strcmp(*name, "slave") != 0 && strcmp(*name, "replica") != 0)
		return REDIS_ROLE_OTHER;
	if (r->elements < 4 || !is_text(r->element[3]))
		return REDIS_ROLE_BAD;
	*link = r->element[3]->str;
	/*
	 * "connect", "connecting", "handshake", "sync": the replica has
	 * lost its master or not loaded its data yet, so what it serves
	 * may be arbitrarily old.
	 */
	return strcmp(*link, "connected") == 0 ? REDIS_ROLE_REPLICA :
	    REDIS_ROLE_STALE;
}

/* What a connection's ROLE must be: unchecked, master, or readable. */
enum role_need {
	NEED_ANY,
	NEED_MASTER,
	NEED_READABLE,
};

/* Does ROLE say what need asks for?  0, or -1 with a message. */
static int
check_role(redisContext *c, const char *label, enum role_need need,
    char *err, size_t errlen)
{
	const char	*argv[] = { "ROLE" };
	const char	*name, *link;
	redisReply	*r;
	enum redis_role	 role;
	int		 rc = 0;

	if (need == NEED_ANY)
		return 0;
	if ((r = command(c, label, 1, argv, err, errlen)) == NULL)
		return -1;
	role = redis_role_parse(r, &name, &link);
	if (role == REDIS_ROLE_BAD)
		rc = redis_errf(err, errlen, "redis %s: ROLE: unexpected reply",
		    label);
	else if (need == NEED_MASTER && role != REDIS_ROLE_MASTER)
		rc = redis_errf(err, errlen, "redis %s: ROLE says \"%.40s\", not "
		    "master", label, name);
	else if (role == REDIS_ROLE_STALE)
		rc = redis_errf(err, errlen, "redis %s: ROLE says \"%.40s\" with "
		    "its master link \"%.40s\": its data may be old", label,
		    name, link);
	else if (role == REDIS_ROLE_OTHER)
		rc = redis_errf(err, errlen, "redis %s: ROLE says \"%.40s\", not "
		    "a data server", label, name);
	freeReplyObject(r);
	return rc;
}

int
redis_still_readable(redisContext *c, const char *node, char *err,
    size_t errlen)
{
	if (c == NULL || c->err)
		return redis_errf(err, errlen, "redis %s: connection lost", node);
	return check_role(c, node, NEED_READABLE, err, errlen);
}

/* A data connection: AUTH, SELECT, ROLE when asked, PING if none ran. */
static redisContext *
open_data(const struct redis_target *t, const struct endpoint *e,
    enum role_need need, char *err, size_t errlen)
{
	redisContext	*c;
	redisReply	*r;
	const char	*argv[3];
	char		 db[16];
	int		 argc, asked = 0;

	if ((c = open_raw(e, t->timeout, err, errlen)) == NULL)
		return NULL;
	if (t->password != NULL) {
		argc = 0;
		argv[argc++] = "AUTH";
		if (t->user != NULL)
			argv[argc++] = t->user;
		argv[argc++] = t->password;
		if ((r = command(c, e->label, argc, argv, err, errlen)) == NULL)
			goto fail;
		freeReplyObject(r);
		asked = 1;
	}
	if (t->db != 0) {
		snprintf(db, sizeof(db), "%d", t->db);
		argv[0] = "SELECT";
		argv[1] = db;
		if ((r = command(c, e->label, 2, argv, err, errlen)) == NULL)
			goto fail;
		freeReplyObject(r);
		asked = 1;
	}
	if (need != NEED_ANY) {
		if (check_role(c, e->label, need, err, errlen) == -1)
			goto fail;
		asked = 1;
	}
	if (!asked) {
		argv[0] = "PING";
		if ((r = command(c, e->label, 1, argv, err, errlen)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	return c;
fail:
	redisFree(c);
	return NULL;
}

/*
 * Ask sentinel i where the master is.  Sentinels are reached without
 * AUTH: the url's credentials are the data servers', and a sentinel's
 * own requirepass has no place in the config (yet).
 */
static int
ask_sentinel(const struct redis_target *t, size_t i, char *host,
    size_t hostlen, int *port, char *err, size_t errlen)
{
	struct endpoint	 e;
	redisContext	*c;
	redisReply	*r;
	const char	*argv[3];
	char		 shost[HOST_MAX + 1];
	long		 v;
	int		 sport, rc = -1;

	if (redis_split_hostport(t->sentinels.v[i], shost, sizeof(shost),
	    &sport) == -1)
		return redis_errf(err, errlen, "redis sentinel \"%.300s\": bad "
		    "address", t->sentinels.v[i]);
	endpoint_init(&e, shost, sport, NULL);
	if ((c = open_raw(&e, t->timeout, err, errlen)) == NULL)
		return -1;
	argv[0] = "SENTINEL";
	argv[1] = "get-master-addr-by-name";
	argv[2] = t->master;
	if ((r = command(c, e.label, 3, argv, err, errlen)) == NULL) {
		redisFree(c);
		return -1;
	}
	if (r->type == REDIS_REPLY_NIL)
		redis_errf(err, errlen, "redis sentinel %s: no master called "
		    "\"%.128s\"", e.label, t->master);
	else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 || r->element[0]->len >= hostlen ||
	    r->element[0]->len > HOST_MAX ||
	    !redis_host_valid(r->element[0]->str, r->element[0]->len,
	    strchr(r->element[0]->str, ':') != NULL) ||
	    redis_parse_num(r->element[1]->str, r->element[1]->len, 1, 65535,
	    &v) == -1)
		redis_errf(err, errlen, "redis sentinel %s: unexpected answer to "
		    "get-master-addr-by-name", e.label);
	else {
		memcpy(host, r->element[0]->str, r->element[0]->len);
		host[r->element[0]->len] = '\0';
		*port = (int)v;
		rc = 0;
	}
	freeReplyObject(r);
	redisFree(c);
	return rc;
}

int
redis_sentinel_master(const struct redis_target *t, char *host,
    size_t hostlen, int *port, char *err, size_t errlen)
{
	char	last[512];
	size_t	i;

	if (t == NULL || t->sentinels.n == 0 || t->master == NULL)
		return redis_errf(err, errlen, "redis: no sentinels configured");
	last[0] = '\0';
	for (i = 0; i < t->sentinels.n; i++)
		if (ask_sentinel(t, i, host, hostlen, port, last,
		    sizeof(last)) == 0)
			return 0;
	return redis_errf(err, errlen, "redis master \"%.128s\": no sentinel "
	    "answered (%zu tried; last: %s)", t->master, t->sentinels.n,
	    last);
}

static void
where_set(struct redis_where *w, const struct endpoint *e)
{
	if (w != NULL)
		snprintf(w->node, sizeof(w->node), "%s", e->label);
}

/*
 * Sentinels in order: one that is down, does not know the master, or
 * names a server that is not (or no longer) master is skipped, e.g. a
 * sentinel partitioned away during a failover.
 */
static redisContext *
open_master(const struct redis_target *t, struct redis_where *where,
    char *err, size_t errlen)
{
	struct endpoint	 e;
	redisContext	*c;
	char		 host[HOST_MAX + 1], last[512];
	size_t		 i;
	int		 port;

	last[0] = '\0';
	for (i = 0; i < t->sentinels.n; i++) {
		if (ask_sentinel(t, i, host, sizeof(host), &port, last,
		    sizeof(last)) == -1)
			continue;
		endpoint_init(&e, host, port, NULL);
		if ((c = open_data(t, &e, NEED_MASTER, last,
		    sizeof(last))) != NULL) {
			where_set(where, &e);
			return c;
		}
	}
	redis_errf(err, errlen, "redis master \"%.128s\": no sentinel named a "
	    "usable master (%zu tried; last: %s)", t->master,
	    t->sentinels.n, last);
	return NULL;
}

redisContext *
redis_connect(const struct redis_target *t, enum redis_want want,
    struct redis_where *where, char *err, size_t errlen)
{
	struct endpoint	 e;
	redisContext	*c;
	char		 skip[512], merr[512];

	if (where != NULL)
		memset(where, 0, sizeof(*where));
	if (t == NULL || (t->is_unix ? t->path == NULL : t->host == NULL)) {
		redis_errf(err, errlen, "redis: no target");
		return NULL;
	}
	endpoint_init(&e, t->host, t->port, t->is_unix ? t->path : NULL);
	if (t->sentinels.n == 0 || want == REDIS_URL_NODE) {
		if ((c = open_data(t, &e, NEED_ANY, err, errlen)) != NULL)
			where_set(where, &e);
		return c;
	}
	if (want == REDIS_MASTER)
		return open_master(t, where, err, errlen);
	/*
	 * REDIS_READ: the url's own server first (a local replica spares
	 * the master and the network), the master when that one is down,
	 * slow, or holds data that may be old.
	 */
	if ((c = open_data(t, &e, NEED_READABLE, skip,
	    sizeof(skip))) != NULL) {
		where_set(where, &e);
		return c;
	}
	if ((c = open_master(t, where, merr, sizeof(merr))) != NULL) {
		if (where != NULL) {
			where->fallback = 1;
			snprintf(where->why, sizeof(where->why), "%s", skip);
		}
		return c;
	}
	redis_errf(err, errlen, "%.240s; %s", skip, merr);
	return NULL;
}
