/*
 * clientip: the client address behind trusted proxies (SPEC section 1).
 *
 * The walk is defined right to left, but it is computed in one left to
 * right pass with no allocation: the answer only depends on the rightmost
 * entry that is unparsable or untrusted (the "stop") and on the entry just
 * right of it, so we remember those two as we go.  Every entry right of
 * the stop is, by definition, a parsable trusted address.
 */
#include <string.h>
#include <strings.h>

#include "clientip.h"
#include "netaddr.h"

#define NODE_MAX	64	/* longest for= value we unquote */

enum stop_kind {
	STOP_NONE,		/* every entry so far trusted */
	STOP_UNTRUSTED,		/* the answer is that entry */
	STOP_BAD		/* the walk ended on an unparsable entry */
};

struct walk {
	const struct cidr_list	*proxies;
	enum stop_kind		 stop;
	struct netaddr		 stop_addr;	/* STOP_UNTRUSTED */
	/*
	 * The first trusted entry after the last unparsable one (or from
	 * the start): the leftmost when nothing stopped the walk, the last
	 * address accepted when an unparsable entry did.
	 */
	int			 have_next;
	struct netaddr		 next;
};

static void
walk_bad(struct walk *w)
{
	w->stop = STOP_BAD;
	w->have_next = 0;
}

static void
walk_addr(struct walk *w, const struct netaddr *a)
{
	if (!netaddr_cidr_list_contains(w->proxies, a)) {
		w->stop = STOP_UNTRUSTED;
		w->stop_addr = *a;
		return;
	}
	if (!w->have_next) {
		w->next = *a;
		w->have_next = 1;
	}
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_ows(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_ows((*s)[*len - 1]))
		(*len)--;
}

/* A port after an address: digits, or RFC 7239's obfuscated "_x". */
static int
port_ok(const char *s, size_t len, int allow_obf)
{
	size_t	i;
	long	v = 0;
	char	c;

	if (len == 0)
		return 0;
	if (allow_obf && s[0] == '_') {
		for (i = 1; i < len; i++) {
			c = s[i];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			    c == '-'))
				return 0;
		}
		return len > 1;
	}
	if (len > 5)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535;
}

/*
 * One address as proxies write it: "1.2.3.4", "1.2.3.4:5678",
 * "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80".  A bare IPv6
 * address takes no port: its last group would be ambiguous.
 */
static int
parse_node(const char *s, size_t len, int forwarded, struct netaddr *out)
{
	const char	*close, *colon;

	if (len > 0 && s[0] == '[') {
		if ((close = memchr(s, ']', len)) == NULL ||
		    memchr(s + 1, ':', close - s - 1) == NULL ||
		    netaddr_parse_n(s + 1, close - s - 1, out) == -1)
			return -1;
		colon = close + 1;
		if (colon == s + len)
			return 0;
		if (*colon != ':' ||
		    !port_ok(colon + 1, s + len - colon - 1, forwarded))
			return -1;
		return 0;
	}
	colon = memchr(s, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', s + len - colon - 1) ==
	    NULL) {
		if (!port_ok(colon + 1, s + len - colon - 1, forwarded))
			return -1;
		len = colon - s;
	}
	return netaddr_parse_n(s, len, out);
}

/* An X-Forwarded-For entry, or the whole of a single-address header. */
static int
parse_xff_entry(const char *s, size_t len, struct netaddr *out)
{
	trim(&s, &len);
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	return parse_node(s, len, 0, out);
}

/*
 * The end of the item starting at s, stopping at sep outside quoted
 * strings (RFC 9110 quoted-string, backslash escapes).
 */
static const char *
item_end(const char *s, const char *end, char sep)
{
	int	quoted = 0;

	for (; s < end; s++) {
		if (quoted && *s == '\\' && s + 1 < end)
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == sep)
			break;
	}
	return s;
}

/*
 * Unquote an RFC 9110 quoted-string into buf; -1 if malformed or too
 * long.  With buf NULL only the syntax is checked, at any length.
 */
static int
unquote(const char *s, size_t len, char *buf, size_t bufsz, size_t *outlen)
{
	size_t	i, n = 0;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return -1;
	for (i = 1; i < len - 1; i++) {
		if (s[i] == '"')
			return -1;
		if (s[i] == '\\' && ++i == len - 1)
			return -1;
		if (buf != NULL) {
			if (n + 1 >= bufsz)
				return -1;
			buf[n] = s[i];
		}
		n++;
	}
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

/*
 * A Forwarded value: a quoted string, or bare text.  RFC 7239 wants
 * IPv6 and ports quoted; proxies that forget are trusted all the same,
 * so bare "for=1.2.3.4:80" is read too.  With buf NULL only the syntax
 * is checked (the values of by=, host=, proto= may be long).
 */
static int
forwarded_value(const char *v, size_t vlen, char *buf, size_t bufsz,
    size_t *outlen)
{
	if (vlen > 0 && v[0] == '"')
		return unquote(v, vlen, buf, bufsz, outlen);
	if (vlen == 0 || memchr(v, '"', vlen) != NULL)
		return -1;
	if (buf == NULL)
		return 0;
	if (vlen >= bufsz)
		return -1;
	memcpy(buf, v, vlen);
	*outlen = vlen;
	return 0;
}

/*
 * The for= address of one Forwarded element.  An element without for=,
 * with two of them, or with a pair that does not parse is unparsable:
 * we cannot tell which hop it speaks for.
 */
static int
parse_forwarded_element(const char *s, size_t len, struct netaddr *out)
{
	const char	*end = s + len, *pend, *eq, *pair, *val;
	char		 buf[NODE_MAX + 1];
	size_t		 plen, vlen, blen;
	int		 found = 0;

	for (pair = s;; pair = pend + 1) {
		pend = item_end(pair, end, ';');
		plen = pend - pair;
		trim(&pair, &plen);
		/* RFC 7239 allows empty pairs ("for=x;;proto=https"). */
		if (plen > 0) {
			if ((eq = memchr(pair, '=', plen)) == NULL ||
			    eq == pair)
				return -1;
			val = eq + 1;
			vlen = pair + plen - val;
			if (eq - pair != 3 || strncasecmp(pair, "for", 3) != 0) {
				if (forwarded_value(val, vlen, NULL, 0,
				    NULL) == -1)
					return -1;
			} else if (found++ ||
			    forwarded_value(val, vlen, buf, sizeof(buf),
			    &blen) == -1 ||
			    parse_node(buf, blen, 1, out) == -1)
				return -1;
		}
		if (pend == end)
			break;
	}
	return found ? 0 : -1;
}

static void
walk_list(struct walk *w, const char *h, enum trust_header_kind kind)
{
	const char	*end = h + strlen(h), *p, *e;
	struct netaddr	 a;
	int		 rc;

	for (p = h;; p = e + 1) {
		if (kind == TRUST_FORWARDED) {
			e = item_end(p, end, ',');
			rc = parse_forwarded_element(p, e - p, &a);
		} else {
			if ((e = memchr(p, ',', end - p)) == NULL)
				e = end;
			rc = parse_xff_entry(p, e - p, &a);
		}
		if (rc == -1)
			walk_bad(w);
		else
			walk_addr(w, &a);
		if (e == end)
			break;
	}
}

static int
blank(const char *s)
{
	while (is_ows(*s))
		s++;
	return *s == '\0';
}

/*
 * A header of only spaces counts as absent.  TRUST_SINGLE reads the
 * whole value as one address: two lines of X-Real-IP (joined "a, b") are
 * malformed, not a list.
 */
enum clientip_source
clientip_resolve(const struct netaddr *peer, const char *header,
    enum trust_header_kind kind, const struct cidr_list *proxies,
    struct netaddr *out)
{
	struct walk	w;
	struct netaddr	a;

	if (peer == NULL) {
		memset(out, 0, sizeof(*out));
		return CLIENTIP_PEER;
	}
	*out = *peer;
	if (header == NULL || blank(header) ||
	    !netaddr_cidr_list_contains(proxies, peer))
		return CLIENTIP_PEER;
	memset(&w, 0, sizeof(w));
	w.proxies = proxies;
	if (kind == TRUST_SINGLE) {
		if (parse_xff_entry(header, strlen(header), &a) == -1)
			walk_bad(&w);
		else
			walk_addr(&w, &a);
	} else
		walk_list(&w, header, kind);
	switch (w.stop) {
	case STOP_NONE:
		/* All trusted: next is the first entry, the leftmost. */
		*out = w.next;
		return CLIENTIP_HEADER;
	case STOP_UNTRUSTED:
		*out = w.stop_addr;
		return CLIENTIP_HEADER;
	default:
		if (w.have_next)
			*out = w.next;
		return CLIENTIP_MALFORMED;
	}
}
