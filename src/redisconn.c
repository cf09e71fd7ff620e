/*
 * redisconn: Redis urls and ready connections for the daemon and
 * geo307ctl.
 *
 * Urls:
 *	redis://[[user]:password@]host[:port][/db]
 *	unix:/path[?db=N][&user=U][&password=P]	(also unix:///path)
 *
 * The user and password are percent-decoded (so a password may hold
 * '@', ':', '/' or '%' as %40, %3A, %2F, %25); the userinfo ends at the
 * last '@', so an unencoded '@' or '/' in a password works too.  A
 * userinfo without ':' is refused rather than guessed at (redis-py reads
 * it as a user name, other clients as a password).  A unix socket has no
 * authority to carry a password, so it takes one as a query parameter,
 * like redis-py does.  Error messages never quote any part of the url:
 * whatever was mistyped may be, or may contain, the password.
 *
 * Every context this file hands out has answered a command: AUTH,
 * SELECT, ROLE, or failing those a PING.  Without that, a server that is
 * stopped but whose kernel still completes the TCP handshake would look
 * connected until the first real command timed out.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sys/un.h>

#include "redisconn.h"

#define DEFAULT_PORT	6379
/* Redis has 16 dbs unless "databases" is raised: allow what it may hold. */
#define DB_MAX		1023
#define HOST_MAX	253
#define PATH_MAX_UNIX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define TIMEOUT_MAX	3600.0

static int
errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ASCII only, whatever the locale. */
static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Digits only, no sign, value in lo..hi. */
static int
parse_num(const char *s, size_t len, long lo, long hi, long *out)
{
	long	v = 0;
	size_t	i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/*
 * A host name or IPv4 address as hiredis hands it to getaddrinfo(), or
 * (bracketed in the url, bare here) an IPv6 address with an optional
 * %zone.  Only a syntax check: resolution happens at connect time.
 */
static int
host_valid(const char *s, size_t len, int v6)
{
	size_t	i;
	int	colons = 0, zone = 0;

	if (len == 0 || len > HOST_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (v6 && zone) {
			if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' &&
			    s[i] != '-')
				return 0;
		} else if (v6) {
			if (s[i] == ':')
				colons++;
			else if (s[i] == '%' && i > 0 && i + 1 < len)
				zone = 1;
			else if (hexval(s[i]) < 0 && s[i] != '.')
				return 0;
		} else if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	}
	return !v6 || colons >= 2;
}

/*
 * Percent-decode s[0..len) into a new string.  0, -1 on a bad escape or
 * a decoded NUL, -2 when out of memory.
 */
static int
pct_decode(const char *s, size_t len, char **out)
{
	char	*d;
	size_t	 i, j;
	int	 hi, lo;

	if ((d = malloc(len + 1)) == NULL)
		return -2;
	for (i = j = 0; i < len; i++) {
		if (s[i] != '%') {
			d[j++] = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(d);
			return -1;
		}
		hi = hexval(s[i + 1]);
		lo = hexval(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(d);
			return -1;
		}
		d[j++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[j] = '\0';
	*out = d;
	return 0;
}

static char *
dupn(const char *s, size_t len)
{
	char	*d;

	if ((d = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Decode one credential; the message never shows the value. */
static int
credential(const char *s, size_t len, const char *what, char **out,
    char *err, size_t errlen)
{
	int	rc;

	if ((rc = pct_decode(s, len, out)) == -2)
		return errf(err, errlen, "redis url: out of memory");
	if (rc == -1)
		return errf(err, errlen, "redis url: bad %%-escape in the %s",
		    what);
	return 0;
}

/* "[user]:password" (the part before the last '@'). */
static int
parse_userinfo(const char *s, size_t len, struct redis_target *t,
    char *err, size_t errlen)
{
	const char	*colon;

	if ((colon = memchr(s, ':', len)) == NULL)
		return errf(err, errlen, "redis url: the part before '@' "
		    "must be [user]:password (percent-encode ':', '@' and "
		    "'%%' in them)");
	if (colon > s && credential(s, (size_t)(colon - s), "user",
	    &t->user, err, errlen) == -1)
		return -1;
	if (colon + 1 == s + len)
		return errf(err, errlen, "redis url: empty password after "
		    "':'");
	return credential(colon + 1, (size_t)(s + len - colon - 1),
	    "password", &t->password, err, errlen);
}

/* Everything after "redis://". */
static int
parse_tcp(const char *s, struct redis_target *t, char *err, size_t errlen)
{
	const char	*at, *h, *hend, *p, *slash;
	long		 v;
	int		 v6 = 0;

	if ((at = strrchr(s, '@')) != NULL) {
		if (parse_userinfo(s, (size_t)(at - s), t, err, errlen) == -1)
			return -1;
		s = at + 1;
	}
	if (strpbrk(s, "?#") != NULL)
		return errf(err, errlen, "redis url: no query or fragment in "
		    "a redis:// url (the db goes in the path, the password "
		    "in [user]:password@)");
	slash = strchr(s, '/');
	if (slash == NULL)
		slash = s + strlen(s);
	if (s[0] == '[') {
		h = s + 1;
		if ((hend = memchr(h, ']', (size_t)(slash - h))) == NULL)
			return errf(err, errlen, "redis url: unclosed '[' in "
			    "the host");
		p = hend + 1;
		v6 = 1;
	} else {
		h = s;
		if ((hend = memchr(h, ':', (size_t)(slash - h))) == NULL)
			hend = slash;
		p = hend;
	}
	if (hend == h)
		return errf(err, errlen, "redis url: empty host");
	if (!host_valid(h, (size_t)(hend - h), v6))
		return errf(err, errlen, "redis url: bad host");
	if ((t->host = dupn(h, (size_t)(hend - h))) == NULL)
		return errf(err, errlen, "redis url: out of memory");
	t->port = DEFAULT_PORT;
	if (p < slash) {
		if (*p != ':' || parse_num(p + 1, (size_t)(slash - p - 1), 1,
		    65535, &v) == -1)
			return errf(err, errlen, "redis url: bad port "
			    "(1..65535)");
		t->port = (int)v;
	}
	if (*slash == '/' && slash[1] != '\0') {
		if (parse_num(slash + 1, strlen(slash + 1), 0, DB_MAX,
		    &v) == -1)
			return errf(err, errlen, "redis url: bad db (0..%d)",
			    DB_MAX);
		t->db = (int)v;
	}
	return 0;
}

/* Query of a unix: url: db, user, password; each at most once. */
static int
parse_unix_query(const char *q, struct redis_target *t, char *err,
    size_t errlen)
{
	const char	*item, *end, *eq;
	long		 v;
	int		 seen_db = 0;

	for (item = q; *item != '\0'; item = *end ? end + 1 : end) {
		end = strchr(item, '&');
		if (end == NULL)
			end = item + strlen(item);
		if (end == item)
			continue;
		eq = memchr(item, '=', (size_t)(end - item));
		if (eq == NULL)
			return errf(err, errlen, "redis url: unix: parameters "
			    "are name=value");
		if (eq - item == 2 && strncmp(item, "db", 2) == 0) {
			if (seen_db++ || parse_num(eq + 1,
			    (size_t)(end - eq - 1), 0, DB_MAX, &v) == -1)
				return errf(err, errlen, "redis url: bad or "
				    "repeated db (0..%d)", DB_MAX);
			t->db = (int)v;
		} else if (eq - item == 4 && strncmp(item, "user", 4) == 0) {
			if (t->user != NULL || eq + 1 == end)
				return errf(err, errlen, "redis url: empty or "
				    "repeated user");
			if (credential(eq + 1, (size_t)(end - eq - 1), "user",
			    &t->user, err, errlen) == -1)
				return -1;
		} else if (eq - item == 8 &&
		    strncmp(item, "password", 8) == 0) {
			if (t->password != NULL || eq + 1 == end)
				return errf(err, errlen, "redis url: empty or "
				    "repeated password");
			if (credential(eq + 1, (size_t)(end - eq - 1),
			    "password", &t->password, err, errlen) == -1)
				return -1;
		} else
			return errf(err, errlen, "redis url: unknown unix: "
			    "parameter (db, user and password are known)");
	}
	if (t->user != NULL && t->password == NULL)
		return errf(err, errlen, "redis url: user needs a password");
	return 0;
}

/* Everything after "unix:". */
static int
parse_unix(const char *s, struct redis_target *t, char *err, size_t errlen)
{
	const char	*q;
	size_t		 len, i;

	if (s[0] == '/' && s[1] == '/') {
		if (s[2] != '/')
			return errf(err, errlen, "redis url: unix:/path or "
			    "unix:///path (no host part)");
		s += 2;
	}
	if (s[0] != '/')
		return errf(err, errlen, "redis url: unix: needs an absolute "
		    "path");
	q = strchr(s, '?');
	len = q != NULL ? (size_t)(q - s) : strlen(s);
	if (len > PATH_MAX_UNIX)
		return errf(err, errlen, "redis url: unix socket path longer "
		    "than %zu bytes", PATH_MAX_UNIX);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 ||
		    (unsigned char)s[i] > 0x7e || s[i] == '#')
			return errf(err, errlen, "redis url: bad byte in the "
			    "unix socket path");
	t->is_unix = 1;
	if ((t->path = dupn(s, len)) == NULL)
		return errf(err, errlen, "redis url: out of memory");
	return q != NULL ? parse_unix_query(q + 1, t, err, errlen) : 0;
}

/*
 * "host:port" or "[v6]:port" into host (bare) and port.  The host is
 * checked like a url's; 0 or -1.
 */
static int
split_hostport(const char *item, char *host, size_t hostlen, int *port)
{
	const char	*colon, *h, *hend;
	long		 v;
	int		 v6 = 0;

	if ((colon = strrchr(item, ':')) == NULL ||
	    parse_num(colon + 1, strlen(colon + 1), 1, 65535, &v) == -1)
		return -1;
	h = item;
	hend = colon;
	if (h[0] == '[') {
		if (hend - h < 2 || hend[-1] != ']')
			return -1;
		h++;
		hend--;
		v6 = 1;
	} else if (memchr(h, ':', (size_t)(hend - h)) != NULL)
		v6 = 1;		/* "::1:26379", as config.c accepts it */
	if (!host_valid(h, (size_t)(hend - h), v6) ||
	    (size_t)(hend - h) >= hostlen)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (int)v;
	return 0;
}

int
redis_target_parse(const char *url, const struct strlist *sentinels,
    const char *master, double timeout, struct redis_target *out,
    char *err, size_t errlen)
{
	char	 host[HOST_MAX + 1];
	size_t	 i;
	int	 port, rc;

	if (out == NULL)
		return errf(err, errlen, "redis url: no target");
	memset(out, 0, sizeof(*out));
	if (url == NULL || url[0] == '\0')
		return errf(err, errlen, "redis url: empty");
	if (!isfinite(timeout) || timeout <= 0 || timeout > TIMEOUT_MAX)
		return errf(err, errlen, "redis timeout: must be above 0 and "
		    "at most %g s", TIMEOUT_MAX);
	out->timeout = timeout;
	if (strncasecmp(url, "redis://", 8) == 0)
		rc = parse_tcp(url + 8, out, err, errlen);
	else if (strncasecmp(url, "unix:", 5) == 0)
		rc = parse_unix(url + 5, out, err, errlen);
	else if (strncasecmp(url, "rediss://", 9) == 0)
		rc = errf(err, errlen, "redis url: rediss:// is not "
		    "supported: hiredis 0.14 has no TLS: keep Redis on a "
		    "private network or behind stunnel");
	else
		rc = errf(err, errlen, "redis url: redis://[[user]:password@]"
		    "host[:port][/db] or unix:/path[?db=N&password=P] only");
	for (i = 0; rc == 0 && sentinels != NULL && i < sentinels->n; i++) {
		if (split_hostport(sentinels->v[i], host, sizeof(host),
		    &port) == -1)
			rc = errf(err, errlen, "redis sentinels: bad address "
			    "\"%.300s\" (host:port)", sentinels->v[i]);
		else if (strlist_push(&out->sentinels, sentinels->v[i]) == -1)
			rc = errf(err, errlen, "redis url: out of memory");
	}
	if (rc == 0 && out->sentinels.n > 0 &&
	    (master == NULL || master[0] == '\0'))
		rc = errf(err, errlen, "redis sentinels: need a master name");
	if (rc == 0 && out->sentinels.n == 0 && master != NULL &&
	    master[0] != '\0')
		rc = errf(err, errlen, "redis master: needs sentinels");
	if (rc == 0 && out->sentinels.n > 0) {
		for (i = 0; master[i] != '\0' && rc == 0; i++)
			if ((unsigned char)master[i] < 0x21 ||
			    (unsigned char)master[i] > 0x7e)
				rc = errf(err, errlen, "redis master: bad "
				    "name");
		if (rc == 0 && (out->master = strdup(master)) == NULL)
			rc = errf(err, errlen, "redis url: out of memory");
	}
	if (rc == -1)
		redis_target_free(out);
	return rc;
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	/* Keep the secret out of freed heap (core files, reuse). */
	explicit_bzero(s, strlen(s));
	free(s);
}

void
redis_target_free(struct redis_target *t)
{
	if (t == NULL)
		return;
	free(t->host);
	free(t->path);
	wipe_free(t->user);
	wipe_free(t->password);
	strlist_free(&t->sentinels);
	free(t->master);
	memset(t, 0, sizeof(*t));
}

/* ---- connecting */

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

	r = redisCommandArgv(c, argc, argv, NULL);
	if (r == NULL) {
		errf(err, errlen, "redis %s: %s: %s", label, argv[0],
		    ctx_error(c, buf, sizeof(buf)));
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		errf(err, errlen, "redis %s: %s failed: %.200s", label,
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
		errf(err, errlen, "redis %s: out of memory", e->label);
		return NULL;
	}
	if (c->err) {
		errf(err, errlen, "redis %s: %s", e->label,
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
		errf(err, errlen, "redis %s: %s", e->label,
		    ctx_error(c, buf, sizeof(buf)));
		redisFree(c);
		return NULL;
	}
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
		rc = errf(err, errlen, "redis %s: ROLE: unexpected reply",
		    label);
	else if (need == NEED_MASTER && role != REDIS_ROLE_MASTER)
		rc = errf(err, errlen, "redis %s: ROLE says \"%.40s\", not "
		    "master", label, name);
	else if (role == REDIS_ROLE_STALE)
		rc = errf(err, errlen, "redis %s: ROLE says \"%.40s\" with "
		    "its master link \"%.40s\": its data may be old", label,
		    name, link);
	else if (role == REDIS_ROLE_OTHER)
		rc = errf(err, errlen, "redis %s: ROLE says \"%.40s\", not "
		    "a data server", label, name);
	freeReplyObject(r);
	return rc;
}

int
redis_still_readable(redisContext *c, const char *node, char *err,
    size_t errlen)
{
	if (c == NULL || c->err)
		return errf(err, errlen, "redis %s: connection lost", node);
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

	if (split_hostport(t->sentinels.v[i], shost, sizeof(shost),
	    &sport) == -1)
		return errf(err, errlen, "redis sentinel \"%.300s\": bad "
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
		errf(err, errlen, "redis sentinel %s: no master called "
		    "\"%.128s\"", e.label, t->master);
	else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 || r->element[0]->len >= hostlen ||
	    r->element[0]->len > HOST_MAX ||
	    !host_valid(r->element[0]->str, r->element[0]->len,
	    strchr(r->element[0]->str, ':') != NULL) ||
	    parse_num(r->element[1]->str, r->element[1]->len, 1, 65535,
	    &v) == -1)
		errf(err, errlen, "redis sentinel %s: unexpected answer to "
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
		return errf(err, errlen, "redis: no sentinels configured");
	last[0] = '\0';
	for (i = 0; i < t->sentinels.n; i++)
		if (ask_sentinel(t, i, host, hostlen, port, last,
		    sizeof(last)) == 0)
			return 0;
	return errf(err, errlen, "redis master \"%.128s\": no sentinel "
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
	errf(err, errlen, "redis master \"%.128s\": no sentinel named a "
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
		errf(err, errlen, "redis: no target");
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
	errf(err, errlen, "%.240s; %s", skip, merr);
	return NULL;
}
