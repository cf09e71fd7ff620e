/*
 * netaddr: IP addresses and CIDR blocks.  All parsing goes through
 * inet_pton, so what we accept is exactly what libc accepts: no octal or
 * leading-zero IPv4 octets, no short forms, no zone ids, no resolver.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "strlist.h"

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int
addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Store a 16-byte IPv6 address, unwrapping ::ffff:a.b.c.d.  1 if mapped. */
static int
set_v6(struct netaddr *out, const uint8_t a[16])
{
	memset(out, 0, sizeof(*out));
	if (memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		out->family = AF_INET;
		memcpy(out->addr, a + 12, 4);
		return 1;
	}
	out->family = AF_INET6;
	memcpy(out->addr, a, 16);
	return 0;
}

static void
set_v4(struct netaddr *out, const uint8_t a[4])
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	memcpy(out->addr, a, 4);
}

/* Parse a terminated string; *mapped tells whether it was ::ffff:v4. */
static int
parse_text(const char *s, struct netaddr *out, int *mapped)
{
	uint8_t	buf[16];

	*mapped = 0;
	if (inet_pton(AF_INET, s, buf) == 1) {
		set_v4(out, buf);
		return 0;
	}
	/* glibc refuses "%zone" already; say so explicitly all the same. */
	if (strchr(s, '%') != NULL || inet_pton(AF_INET6, s, buf) != 1)
		return -1;
	*mapped = set_v6(out, buf);
	return 0;
}

static int
parse_text_n(const char *s, size_t len, struct netaddr *out, int *mapped)
{
	char	buf[INET6_ADDRSTRLEN];

	if (s == NULL || len == 0 || len >= sizeof(buf) ||
	    memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return parse_text(buf, out, mapped);
}

int
netaddr_parse(const char *s, struct netaddr *out)
{
	int	mapped;

	if (s == NULL || out == NULL)
		return -1;
	return parse_text(s, out, &mapped);
}

int
netaddr_parse_n(const char *s, size_t len, struct netaddr *out)
{
	int	mapped;

	if (out == NULL)
		return -1;
	return parse_text_n(s, len, out, &mapped);
}

int
netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa == NULL || out == NULL)
		return -1;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		set_v4(out, (const uint8_t *)&sin->sin_addr);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		set_v6(out, sin6->sin6_addr.s6_addr);
		return 0;
	default:
		return -1;
	}
}

socklen_t
netaddr_to_sockaddr(const struct netaddr *a, struct sockaddr_storage *out)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	if (a == NULL || out == NULL)
		return 0;
	memset(out, 0, sizeof(*out));
	switch (a->family) {
	case AF_INET:
		sin = (struct sockaddr_in *)(void *)out;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->addr, 4);
		return sizeof(*sin);
	case AF_INET6:
		sin6 = (struct sockaddr_in6 *)(void *)out;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->addr, 16);
		return sizeof(*sin6);
	default:
		return 0;
	}
}

/* Never NULL, so it can go straight into a printf: "" on failure. */
/*
 * inet_ntop's dotted quad without its sprintf (twice per request): the
 * same text, and "" when len is too small, as inet_ntop fails then.
 */
static const char *
ipv4_str(const unsigned char *b, char *buf, size_t len)
{
	char	tmp[16], *o = tmp;
	int	i;
	size_t	n;

	for (i = 0; i < 4; i++) {
		if (b[i] >= 100)
			*o++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*o++ = (char)('0' + b[i] / 10 % 10);
		*o++ = (char)('0' + b[i] % 10);
		*o++ = i < 3 ? '.' : '\0';
	}
	n = (size_t)(o - tmp);
	if (n > len)
		return buf;
	memcpy(buf, tmp, n);
	return buf;
}

const char *
netaddr_str(const struct netaddr *a, char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return "";
	buf[0] = '\0';
	if (a != NULL && a->family == AF_INET)
		return ipv4_str(a->addr, buf, len);
	if (a == NULL || addr_len(a->family) == 0 ||
	    inet_ntop(a->family, a->addr, buf, len) == NULL) {
		buf[0] = '\0';
		return buf;
	}
	return buf;
}

int
netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	int	n;

	if (a == NULL || b == NULL || a->family != b->family ||
	    (n = addr_len(a->family)) == 0)
		return 0;
	return memcmp(a->addr, b->addr, n) == 0;
}

/* Decimal digits only, at most maxdigits of them; -1 otherwise. */
static long
parse_digits(const char *s, size_t len, size_t maxdigits)
{
	long	v = 0;
	size_t	i;

	if (len == 0 || len > maxdigits)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void
mask_host_bits(struct netaddr *a, int prefix)
{
	int	i, n = addr_len(a->family);

	for (i = 0; i < n; i++) {
		if (prefix >= 8)
			prefix -= 8;
		else {
			a->addr[i] &= (uint8_t)(0xff00 >> prefix);
			prefix = 0;
		}
	}
}

/*
 * A v4-mapped network (::ffff:10.0.0.0/104) is stored as the IPv4 block
 * it covers (10.0.0.0/8), since mapped peers are stored as IPv4.  Such a
 * block shorter than /96 would reach outside the mapped range: refused.
 */
int
netaddr_cidr_parse(const char *s, struct cidr *out)
{
	const char	*slash;
	size_t		 alen;
	long		 prefix;
	int		 mapped, max;

	if (s == NULL || out == NULL)
		return -1;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	memset(out, 0, sizeof(*out));
	if (parse_text_n(s, alen, &out->net, &mapped) == -1)
		return -1;
	max = out->net.family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		out->prefix = max;
		return 0;
	}
	prefix = parse_digits(slash + 1, strlen(slash + 1), 3);
	/* Below /96 (or a bad prefix) goes negative and is refused. */
	if (mapped)
		prefix -= 96;
	if (prefix < 0 || prefix > max)
		return -1;
	out->prefix = (int)prefix;
	mask_host_bits(&out->net, out->prefix);
	return 0;
}

int
netaddr_cidr_contains(const struct cidr *c, const struct netaddr *a)
{
	int	full, rest;

	if (c == NULL || a == NULL || c->net.family != a->family ||
	    addr_len(a->family) == 0)
		return 0;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->net.addr, a->addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->net.addr[full] ^ a->addr[full]) &
	    (uint8_t)(0xff00 >> rest)) == 0;
}

int
netaddr_cidr_list_contains(const struct cidr_list *l, const struct netaddr *a)
{
	size_t	i;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (netaddr_cidr_contains(&l->v[i], a))
			return 1;
	return 0;
}

int
netaddr_cidr_list_equal(const struct cidr_list *a, const struct cidr_list *b)
{
	size_t	i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->v[i].prefix != b->v[i].prefix ||
		    !netaddr_equal(&a->v[i].net, &b->v[i].net))
			return 0;
	return 1;
}

int
netaddr_cidr_list_push(struct cidr_list *l, const struct cidr *c)
{
	struct cidr	*v;

	if (l == NULL || c == NULL ||
	    l->n >= ((size_t)-1) / sizeof(*v) - 1 ||
	    (v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL)
		return -1;
	v[l->n++] = *c;
	l->v = v;
	return 0;
}

int
netaddr_cidr_list_parse(const char *s, struct cidr_list *out, size_t *bad)
{
	struct strlist	items;
	struct cidr	c;
	size_t		i;

	if (out == NULL)
		return -1;
	out->v = NULL;
	out->n = 0;
	if (strlist_split(s, &items) == -1) {
		if (bad != NULL)
			*bad = SIZE_MAX;
		return -1;
	}
	for (i = 0; i < items.n; i++) {
		if (netaddr_cidr_parse(items.v[i], &c) == -1) {
			if (bad != NULL)
				*bad = i;
			goto fail;
		}
		if (netaddr_cidr_list_push(out, &c) == -1) {
			if (bad != NULL)
				*bad = SIZE_MAX;
			goto fail;
		}
	}
	strlist_free(&items);
	return 0;
fail:
	strlist_free(&items);
	netaddr_cidr_list_free(out);
	return -1;
}

void
netaddr_cidr_list_free(struct cidr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * IPv4 keys live in ff00::/8 (IPv6 multicast), which is never the source
 * of a TCP connection, so no real IPv6 peer's /64 can collide with them.
 */
#define LIMIT_KEY_V4_TAG	(UINT64_C(0xff) << 56)

uint64_t
netaddr_limit_key(const struct netaddr *a)
{
	uint64_t	k = 0;
	int		i;

	if (a == NULL)
		return 0;
	switch (a->family) {
	case AF_INET:
		for (i = 0; i < 4; i++)
			k = k << 8 | a->addr[i];
		return LIMIT_KEY_V4_TAG | k;
	case AF_INET6:
		for (i = 0; i < 8; i++)
			k = k << 8 | a->addr[i];
		return k;
	default:
		return 0;
	}
}

/* Host names are not accepted: binding must not depend on the resolver. */
int
netaddr_parse_hostport(const char *s, struct sockaddr_storage *out,
    socklen_t *outlen)
{
	const char	*host, *colon;
	size_t		 hlen;
	long		 port;
	struct netaddr	 a;
	socklen_t	 len;

	if (s == NULL || out == NULL)
		return -1;
	if (s[0] == '[') {
		host = s + 1;
		if ((colon = strchr(host, ']')) == NULL)
			return -1;
		hlen = colon - host;
		if (*++colon != ':')
			return -1;
		/* Brackets are for IPv6 only: "[1.2.3.4]" is refused. */
		if (memchr(host, ':', hlen) == NULL)
			return -1;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hlen = colon - host;
		/* An unbracketed IPv6 address would swallow the port. */
		if (memchr(host, ':', hlen) != NULL)
			return -1;
	}
	if ((port = parse_digits(colon + 1, strlen(colon + 1), 5)) < 0 ||
	    port > 65535)
		return -1;
	if (hlen == 1 && host[0] == '*') {
		memset(&a, 0, sizeof(a));
		a.family = AF_INET;
	} else if (netaddr_parse_n(host, hlen, &a) == -1)
		return -1;
	if ((len = netaddr_to_sockaddr(&a, out)) == 0)
		return -1;
	if (a.family == AF_INET)
		((struct sockaddr_in *)(void *)out)->sin_port =
		    htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)(void *)out)->sin6_port =
		    htons((uint16_t)port);
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

/*
 * Whether two bound addresses take the same connections (one being the
 * wildcard counts).  With SO_REUSEPORT, an admin socket on a public
 * address would not fail to bind: the kernel would share the public
 * connections with it.
 */
int
netaddr_overlap(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	static const uint8_t		 any6[16];
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)(const void *)a;
		b4 = (const struct sockaddr_in *)(const void *)b;
		return a4->sin_port == b4->sin_port &&
		    (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == 0 || b4->sin_addr.s_addr == 0);
	}
	a6 = (const struct sockaddr_in6 *)(const void *)a;
	b6 = (const struct sockaddr_in6 *)(const void *)b;
	return a6->sin6_port == b6->sin6_port &&
	    (memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0 ||
	    memcmp(&a6->sin6_addr, any6, 16) == 0 ||
	    memcmp(&b6->sin6_addr, any6, 16) == 0);
}
