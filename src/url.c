/*
 * url: the request-target rule, the Location we build, upload-server URLs
 * and the allowed_hosts patterns they must match.  Everything here decides
 * what may follow "Location: ", so it is strict: anything unusual is
 * refused rather than repaired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "netaddr.h"
#include "strlist.h"
#include "url.h"

/* Bytes allowed in a request-target and in a server URL. */
static int
is_visible(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}


static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * A target longer than TARGET_MAX is 414 whatever its bytes: the length
 * is the first thing we know, and a client that sent 5000 bytes of junk
 * learns the more useful fact.  The empty target and NULL are 400.
 */
int
url_target_check(const char *target, size_t len)
{
	size_t	i;

	if (target == NULL || len == 0)
		return 400;
	if (len > TARGET_MAX)
		return 414;
	if (target[0] != '/')
		return 400;
	for (i = 1; i < len; i++)
		if (!is_visible((unsigned char)target[i]) || target[i] == '#')
			return 400;
	return 200;
}

int
url_location_build(char *buf, size_t bufsz, const char *base, size_t baselen,
    const char *target, size_t targetlen)
{
	size_t	total;

	if (buf == NULL || baselen > LOCATION_MAX ||
	    targetlen > LOCATION_MAX - baselen)
		return -1;
	total = baselen + targetlen;
	if (total >= bufsz)
		return -1;
	if (baselen > 0)
		memcpy(buf, base, baselen);
	if (targetlen > 0)
		memcpy(buf + baselen, target, targetlen);
	buf[total] = '\0';
	return (int)total;
}

/* s is an IPv4 dotted quad (inet_pton rules), not any other spelling. */
static int
is_ipv4_literal(const char *s, size_t len)
{
	struct netaddr	a;

	return memchr(s, ':', len) == NULL &&
	    netaddr_parse_n(s, len, &a) == 0 && a.family == AF_INET;
}

/* s is IPv6 text (as found between brackets); mapped forms included. */
static int
is_ipv6_literal(const char *s, size_t len)
{
	struct netaddr	a;

	return memchr(s, ':', len) != NULL && netaddr_parse_n(s, len, &a) == 0;
}

/*
 * A last label that looks like a number makes browsers (WHATWG URL) read
 * the whole host as an IPv4 address ("1.2.3" is 1.2.0.3, "0x7f.1" is
 * 127.0.0.1): such names are never plain DNS names.
 */
static int
label_is_numeric(const char *s, size_t len)
{
	size_t	i;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < len; i++)
			if (!is_hex(s[i]))
				return 0;
		return 1;
	}
	for (i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

/*
 * A DNS host name: letters, digits, hyphens and dots; labels of 1..63
 * bytes that neither start nor end with a hyphen; at most 253 bytes; no
 * trailing dot; not a number in disguise.
 */
static int
dns_name_valid(const char *s, size_t len)
{
	size_t	i, lstart = 0;
	char	c;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		c = i < len ? s[i] : '.';
		if (c == '.') {
			if (i == lstart || i - lstart > 63 ||
			    s[lstart] == '-' || s[i - 1] == '-')
				return 0;
			if (i == len)
				return !label_is_numeric(s + lstart, i - lstart);
			lstart = i + 1;
		} else if (!is_alnum(c) && c != '-')
			return 0;
	}
	return 0;
}

static char *
strndup_lower(const char *s, size_t len)
{
	char	*p;
	size_t	 i;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		p[i] = to_lower(s[i]);
	p[len] = '\0';
	return p;
}

/* Decimal port 1..65535, digits only. */
static long
parse_port(const char *s, size_t len)
{
	long	v = 0;
	size_t	i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* The pieces of a server URL, pointing into the caller's string. */
struct url_parts {
	int		 https;
	const char	*host;
	size_t		 hostlen;
	int		 bracketed;
	long		 port;		/* 0 = none given */
	const char	*path;		/* "" or "/..." without trailing '/' */
	size_t		 pathlen;
};

static const char *
split_authority(const char *auth, size_t len, struct url_parts *u)
{
	const char	*close, *colon, *end = auth + len;

	if (len > 0 && auth[0] == '[') {
		if ((close = memchr(auth, ']', len)) == NULL)
			return "host";
		u->host = auth + 1;
		u->hostlen = close - u->host;
		u->bracketed = 1;
		if (!is_ipv6_literal(u->host, u->hostlen))
			return "host";
		colon = close + 1;
		if (colon < end && *colon != ':')
			return "host";
	} else {
		colon = memchr(auth, ':', len);
		u->host = auth;
		u->hostlen = (colon != NULL ? colon : end) - auth;
		if (!is_ipv4_literal(u->host, u->hostlen) &&
		    !dns_name_valid(u->host, u->hostlen))
			return "host";
	}
	if (colon != NULL && colon < end &&
	    (u->port = parse_port(colon + 1, end - colon - 1)) == -1)
		return "port";
	return NULL;
}

static const char *
split_url(const char *s, int allow_http, struct url_parts *u)
{
	const char	*rest, *auth_end;
	size_t		 len, i, q;

	memset(u, 0, sizeof(*u));
	if (s == NULL || (len = strlen(s)) == 0 || len > LOCATION_MAX)
		return "syntax";
	for (i = 0; i < len; i++)
		if (!is_visible((unsigned char)s[i]))
			return "syntax";
	if (strncasecmp(s, "https://", 8) == 0) {
		u->https = 1;
		rest = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0 && allow_http)
		rest = s + 7;
	else
		return "scheme";
	auth_end = rest + strcspn(rest, "/?#");
	/* '@' is only userinfo in the authority; "/@x" is a fine path. */
	if (memchr(rest, '@', auth_end - rest) != NULL)
		return "userinfo";
	u->path = auth_end;
	q = strcspn(u->path, "?#");
	if (u->path[q] == '?')
		return "query";
	if (u->path[q] == '#')
		return "fragment";
	u->pathlen = q;
	while (u->pathlen > 0 && u->path[u->pathlen - 1] == '/')
		u->pathlen--;
	return split_authority(rest, auth_end - rest, u);
}

/* The host part of a public_names item: brackets and any port removed. */
static void
name_host(const char *name, const char **h, size_t *hlen)
{
	const char	*close, *colon;

	*h = name;
	*hlen = strlen(name);
	if (name[0] == '[' && (close = strchr(name, ']')) != NULL) {
		*h = name + 1;
		*hlen = close - *h;
	} else if ((colon = strchr(name, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL)
		*hlen = colon - name;
}

/*
 * Is host one of our own names?  Ports do not matter: a server at our
 * name on another port is most likely us behind another listener.  IP
 * literals compare as addresses, so "::1" equals "0:0::1".
 */
static int
host_is_public(const struct strlist *names, const char *host)
{
	struct netaddr	 a, b;
	const char	*h;
	size_t		 hlen, i;
	int		 host_ip;

	if (names == NULL)
		return 0;
	host_ip = netaddr_parse(host, &a) == 0;
	for (i = 0; i < names->n; i++) {
		name_host(names->v[i], &h, &hlen);
		if (hlen == strlen(host) && strncasecmp(h, host, hlen) == 0)
			return 1;
		if (host_ip && netaddr_parse_n(h, hlen, &b) == 0 &&
		    netaddr_equal(&a, &b))
			return 1;
	}
	return 0;
}

static const char *
build_url(const struct url_parts *p, struct server_url *out)
{
	size_t	 sz;
	char	 port[8] = "";
	int	 n;

	if ((out->host = strndup_lower(p->host, p->hostlen)) == NULL)
		return "syntax";
	if (p->port != 0)
		snprintf(port, sizeof(port), ":%ld", p->port);
	sz = 8 + 2 + p->hostlen + sizeof(port) + p->pathlen + 1;
	if ((out->base = malloc(sz)) == NULL)
		return "syntax";
	n = snprintf(out->base, sz, "%s%s%s%s%s%.*s",
	    p->https ? "https://" : "http://", p->bracketed ? "[" : "",
	    out->host, p->bracketed ? "]" : "", port,
	    (int)p->pathlen, p->path);
	if (n < 0 || (size_t)n >= sz)
		return "syntax";
	out->baselen = n;
	out->https = p->https;
	out->port = (int)p->port;
	return NULL;
}

int
url_server_parse(const char *s, const struct url_policy *pol,
    struct server_url *out, const char **why)
{
	struct url_parts	 p;
	const char		*reason;

	if (why != NULL)
		*why = NULL;
	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	reason = split_url(s, pol != NULL && pol->allow_http, &p);
	if (reason == NULL)
		reason = build_url(&p, out);
	if (reason == NULL && pol != NULL &&
	    host_is_public(pol->public_names, out->host))
		reason = "loop";
	if (reason == NULL && pol != NULL && pol->allowed_hosts != NULL &&
	    !url_host_patterns_match(pol->allowed_hosts, out->host))
		reason = "not_allowed";
	if (reason != NULL) {
		url_server_free(out);
		if (why != NULL)
			*why = reason;
		return -1;
	}
	return 0;
}

void
url_server_free(struct server_url *u)
{
	if (u == NULL)
		return;
	free(u->base);
	free(u->host);
	memset(u, 0, sizeof(*u));
}

/* One allowed_hosts item into out; -1 if it is none of the three kinds. */
static int
host_pattern_add(struct host_patterns *out, const char *item)
{
	struct cidr	 c;
	char		*low;
	int		 rc;

	if (netaddr_cidr_parse(item, &c) == 0)
		return netaddr_cidr_list_push(&out->cidrs, &c);
	if (item[0] == '*' && item[1] == '.') {
		if (!dns_name_valid(item + 2, strlen(item + 2)))
			return -1;
		/* Keep the dot: "*.example.com" must not match "example.com". */
		if ((low = strndup_lower(item + 1, strlen(item + 1))) == NULL)
			return -1;
		rc = strlist_push(&out->suffixes, low);
	} else {
		if (!dns_name_valid(item, strlen(item)) ||
		    (low = strndup_lower(item, strlen(item))) == NULL)
			return -1;
		rc = strlist_push(&out->names, low);
	}
	free(low);
	return rc;
}

int
url_host_patterns_parse(const char *s, struct host_patterns *out)
{
	struct strlist	items;
	size_t		i;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (strlist_split(s, &items) == -1)
		return -1;
	for (i = 0; i < items.n; i++) {
		if (host_pattern_add(out, items.v[i]) == -1) {
			strlist_free(&items);
			url_host_patterns_free(out);
			return -1;
		}
	}
	strlist_free(&items);
	return 0;
}

/* IP literals match only CIDRs; names match exact names and suffixes. */
int
url_host_patterns_match(const struct host_patterns *p, const char *host)
{
	struct netaddr	a;
	size_t		i, hlen, slen;

	if (p == NULL || host == NULL || host[0] == '\0')
		return 0;
	if (netaddr_parse(host, &a) == 0)
		return netaddr_cidr_list_contains(&p->cidrs, &a);
	if (strlist_contains_ci(&p->names, host))
		return 1;
	hlen = strlen(host);
	for (i = 0; i < p->suffixes.n; i++) {
		slen = strlen(p->suffixes.v[i]);
		if (hlen > slen &&
		    strcasecmp(host + hlen - slen, p->suffixes.v[i]) == 0)
			return 1;
	}
	return 0;
}

void
url_host_patterns_free(struct host_patterns *p)
{
	if (p == NULL)
		return;
	strlist_free(&p->names);
	strlist_free(&p->suffixes);
	netaddr_cidr_list_free(&p->cidrs);
}

/* host[:port] as a server URL would have it: a name or an address. */
int
url_host_valid(const char *s)
{
	struct server_url	 u;
	const char		*why;
	char			*url;
	int			 ok;

	if (s[0] == '\0' || strpbrk(s, "/?#@") != NULL ||
	    asprintf(&url, "https://%s", s) == -1)
		return 0;
	ok = url_server_parse(url, NULL, &u, &why) == 0;
	url_server_free(&u);
	free(url);
	return ok;
}

/*
 * "*" or scheme://host[:port] (lower-cased by the caller: browsers send
 * Origin in lower case and respond.c compares bytes).
 */
int
url_origin_valid(const char *s)
{
	if (strcmp(s, "*") == 0)
		return 1;
	if (strncmp(s, "https://", 8) == 0)
		return url_host_valid(s + 8);
	if (strncmp(s, "http://", 7) == 0)
		return url_host_valid(s + 7);
	return 0;
}

/* What url_server_parse's reason means to an operator. */
const char *
url_why_text(const char *why)
{
	static const struct {
		const char	*why, *text;
	} reasons[] = {
		{ "scheme", "https:// only (http:// needs [redirect] "
		    "allow_http = yes)" },
		{ "host", "bad host" },
		{ "userinfo", "no user:password@ allowed" },
		{ "query", "no query allowed" },
		{ "fragment", "no fragment allowed" },
		{ "port", "bad port" },
		{ "not_allowed", "host not in [redirect] allowed_hosts" },
		{ "loop", "host is one of [listen] public_names: a redirect "
		    "loop" },
		{ "syntax", "not a URL" },
	};
	size_t	i;

	for (i = 0; why != NULL && i < sizeof(reasons) / sizeof(reasons[0]);
	    i++)
		if (strcmp(reasons[i].why, why) == 0)
			return reasons[i].text;
	return why != NULL ? why : "not a URL";
}

int
url_host_patterns_valid(const char *s)
{
	struct host_patterns	hp;

	if (url_host_patterns_parse(s, &hp) == -1)
		return 0;
	url_host_patterns_free(&hp);
	return 1;
}
