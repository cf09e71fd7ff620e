/*
 * redis_target: the [redis] url and sentinels, parsed into a struct
 * redis_target for the daemon and geo307ctl.  Pure: no I/O.  Connecting
 * is redis_conn.c's.
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
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "redis_conn.h"
#include "redis_conn_internal.h"

#define DEFAULT_PORT	6379
/* Redis has 16 dbs unless "databases" is raised: allow what it may hold. */
#define DB_MAX		1023
#define TIMEOUT_MAX	3600.0

int
redis_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
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
int
redis_parse_num(const char *s, size_t len, long lo, long hi, long *out)
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
int
redis_host_valid(const char *s, size_t len, int v6)
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
		return redis_errf(err, errlen, "redis url: out of memory");
	if (rc == -1)
		return redis_errf(err, errlen, "redis url: bad %%-escape in the %s",
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
		return redis_errf(err, errlen, "redis url: the part before '@' "
		    "must be [user]:password (percent-encode ':', '@' and "
		    "'%%' in them)");
	if (colon > s && credential(s, (size_t)(colon - s), "user",
	    &t->user, err, errlen) == -1)
		return -1;
	if (colon + 1 == s + len)
		return redis_errf(err, errlen, "redis url: empty password after "
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
		return redis_errf(err, errlen, "redis url: no query or fragment in "
		    "a redis:// url (the db goes in the path, the password "
		    "in [user]:password@)");
	slash = strchr(s, '/');
	if (slash == NULL)
		slash = s + strlen(s);
	if (s[0] == '[') {
		h = s + 1;
		if ((hend = memchr(h, ']', (size_t)(slash - h))) == NULL)
			return redis_errf(err, errlen, "redis url: unclosed '[' in "
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
		return redis_errf(err, errlen, "redis url: empty host");
	if (!redis_host_valid(h, (size_t)(hend - h), v6))
		return redis_errf(err, errlen, "redis url: bad host");
	if ((t->host = dupn(h, (size_t)(hend - h))) == NULL)
		return redis_errf(err, errlen, "redis url: out of memory");
	t->port = DEFAULT_PORT;
	if (p < slash) {
		if (*p != ':' || redis_parse_num(p + 1, (size_t)(slash - p - 1), 1,
		    65535, &v) == -1)
			return redis_errf(err, errlen, "redis url: bad port "
			    "(1..65535)");
		t->port = (int)v;
	}
	if (*slash == '/' && slash[1] != '\0') {
		if (redis_parse_num(slash + 1, strlen(slash + 1), 0, DB_MAX,
		    &v) == -1)
			return redis_errf(err, errlen, "redis url: bad db (0..%d)",
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
			return redis_errf(err, errlen, "redis url: unix: parameters "
			    "are name=value");
		if (eq - item == 2 && strncmp(item, "db", 2) == 0) {
			if (seen_db++ || redis_parse_num(eq + 1,
			    (size_t)(end - eq - 1), 0, DB_MAX, &v) == -1)
				return redis_errf(err, errlen, "redis url: bad or "
				    "repeated db (0..%d)", DB_MAX);
			t->db = (int)v;
		} else if (eq - item == 4 && strncmp(item, "user", 4) == 0) {
			if (t->user != NULL || eq + 1 == end)
				return redis_errf(err, errlen, "redis url: empty or "
				    "repeated user");
			if (credential(eq + 1, (size_t)(end - eq - 1), "user",
			    &t->user, err, errlen) == -1)
				return -1;
		} else if (eq - item == 8 &&
		    strncmp(item, "password", 8) == 0) {
			if (t->password != NULL || eq + 1 == end)
				return redis_errf(err, errlen, "redis url: empty or "
				    "repeated password");
			if (credential(eq + 1, (size_t)(end - eq - 1),
			    "password", &t->password, err, errlen) == -1)
				return -1;
		} else
			return redis_errf(err, errlen, "redis url: unknown unix: "
			    "parameter (db, user and password are known)");
	}
	if (t->user != NULL && t->password == NULL)
		return redis_errf(err, errlen, "redis url: user needs a password");
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
			return redis_errf(err, errlen, "redis url: unix:/path or "
			    "unix:///path (no host part)");
		s += 2;
	}
	if (s[0] != '/')
		return redis_errf(err, errlen, "redis url: unix: needs an absolute "
		    "path");
	q = strchr(s, '?');
	len = q != NULL ? (size_t)(q - s) : strlen(s);
	if (len > PATH_MAX_UNIX)
		return redis_errf(err, errlen, "redis url: unix socket path longer "
		    "than %zu bytes", PATH_MAX_UNIX);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 ||
		    (unsigned char)s[i] > 0x7e || s[i] == '#')
			return redis_errf(err, errlen, "redis url: bad byte in the "
			    "unix socket path");
	t->is_unix = 1;
	if ((t->path = dupn(s, len)) == NULL)
		return redis_errf(err, errlen, "redis url: out of memory");
	return q != NULL ? parse_unix_query(q + 1, t, err, errlen) : 0;
}

/*
 * "host:port" or "[v6]:port" into host (bare) and port.  The host is
 * checked like a url's; 0 or -1.
 */
int
redis_split_hostport(const char *item, char *host, size_t hostlen, int *port)
{
	const char	*colon, *h, *hend;
	long		 v;
	int		 v6 = 0;

	if ((colon = strrchr(item, ':')) == NULL ||
	    redis_parse_num(colon + 1, strlen(colon + 1), 1, 65535, &v) == -1)
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
		v6 = 1;		/* "::1:26379": the last ':' ends the host */
	if (!redis_host_valid(h, (size_t)(hend - h), v6) ||
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
		return redis_errf(err, errlen, "redis url: no target");
	memset(out, 0, sizeof(*out));
	if (url == NULL || url[0] == '\0')
		return redis_errf(err, errlen, "redis url: empty");
	if (!isfinite(timeout) || timeout <= 0 || timeout > TIMEOUT_MAX)
		return redis_errf(err, errlen, "redis timeout: must be above 0 and "
		    "at most %g s", TIMEOUT_MAX);
	out->timeout = timeout;
	if (strncasecmp(url, "redis://", 8) == 0)
		rc = parse_tcp(url + 8, out, err, errlen);
	else if (strncasecmp(url, "unix:", 5) == 0)
		rc = parse_unix(url + 5, out, err, errlen);
	else if (strncasecmp(url, "rediss://", 9) == 0)
		rc = redis_errf(err, errlen, "redis url: rediss:// is not "
		    "supported: hiredis 0.14 has no TLS: keep Redis on a "
		    "private network or behind stunnel");
	else
		rc = redis_errf(err, errlen, "redis url: redis://[[user]:password@]"
		    "host[:port][/db] or unix:/path[?db=N&password=P] only");
	for (i = 0; rc == 0 && sentinels != NULL && i < sentinels->n; i++) {
		if (redis_split_hostport(sentinels->v[i], host, sizeof(host),
		    &port) == -1)
			rc = redis_errf(err, errlen, "redis sentinels: bad address "
			    "\"%.300s\" (host:port)", sentinels->v[i]);
		else if (strlist_push(&out->sentinels, sentinels->v[i]) == -1)
			rc = redis_errf(err, errlen, "redis url: out of memory");
	}
	if (rc == 0 && out->sentinels.n > 0 &&
	    (master == NULL || master[0] == '\0'))
		rc = redis_errf(err, errlen, "redis sentinels: need a master name");
	if (rc == 0 && out->sentinels.n == 0 && master != NULL &&
	    master[0] != '\0')
		rc = redis_errf(err, errlen, "redis master: needs sentinels");
	if (rc == 0 && out->sentinels.n > 0) {
		for (i = 0; master[i] != '\0' && rc == 0; i++)
			if ((unsigned char)master[i] < 0x21 ||
			    (unsigned char)master[i] > 0x7e)
				rc = redis_errf(err, errlen, "redis master: bad "
				    "name");
		if (rc == 0 && (out->master = strdup(master)) == NULL)
			rc = redis_errf(err, errlen, "redis url: out of memory");
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

int
redis_target_sentinel_valid(const char *item)
{
	char	host[HOST_MAX + 1];
	int	port;

	return redis_split_hostport(item, host, sizeof(host), &port) == 0;
}
