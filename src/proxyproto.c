/*
 * proxyproto: the PROXY protocol header parser (proxyproto.h says what
 * it is for).  Strict where HAProxy's specification says "must": v1 is
 * one line of printable US-ASCII ending in CRLF within 107 bytes, single
 * spaces, canonical addresses of the announced family, ports without
 * leading zeroes; v2 has the 12-byte signature, version 2, command LOCAL
 * or PROXY, a known family, and an address block that fits its length.
 * TLVs are not interpreted, but their framing must fit the header, as
 * HAProxy's own receiver demands; the CRC32C TLV is not checked (the
 * specification makes that optional for a receiver).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxyproto.h"

static const char	v1_sig[] = "PROXY ";
static const uint8_t	v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

#define V1_TOKENS	6	/* PROXY TCPx src dst sport dport */

/* A decimal port, 0..65535, no sign and no leading zero. */
static int
v1_port(const char *s, uint16_t *out)
{
	unsigned long	v = 0;
	size_t		i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/*
 * The addresses of a TCP4 or TCP6 line.  inet_pton takes exactly the
 * canonical forms the specification allows (for IPv4: four decimal
 * numbers, no leading zeroes); the destination must parse too, though
 * only the source is used.
 */
static int
v1_addrs(char **tok, int v6, struct proxyproto *pp)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&pp->src;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&pp->src;
	uint8_t			 dst[16];
	uint16_t		 sport, dport;

	memset(&pp->src, 0, sizeof(pp->src));
	if (v1_port(tok[4], &sport) != 0 || v1_port(tok[5], &dport) != 0)
		return -1;
	if (v6) {
		if (inet_pton(AF_INET6, tok[2], &sin6->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, tok[3], dst) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(sport);
		pp->srclen = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, tok[2], &sin->sin_addr) != 1 ||
		    inet_pton(AF_INET, tok[3], dst) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(sport);
		pp->srclen = sizeof(*sin);
	}
	return 0;
}

/* The line without its CRLF: llen < PROXYPROTO_V1_MAX - 1 bytes. */
static enum proxyproto_status
v1_line(const uint8_t *buf, size_t llen, struct proxyproto *pp)
{
	char	 line[PROXYPROTO_V1_MAX + 1], *tok[V1_TOKENS], *p;
	int	 ntok = 0;

	memcpy(line, buf, llen);
	line[llen] = '\0';
	/* UNKNOWN: whatever follows is to be ignored. */
	if (strcmp(line, "PROXY UNKNOWN") == 0 ||
	    strncmp(line, "PROXY UNKNOWN ", 14) == 0) {
		pp->local = 1;
		return PROXYPROTO_DONE;
	}
	/* Exactly one space between fields: an empty field is an error. */
	for (p = line; ntok < V1_TOKENS; ntok++) {
		tok[ntok] = p;
		if ((p = strchr(p, ' ')) == NULL) {
			ntok++;
			break;
		}
		*p++ = '\0';
	}
	if (p != NULL || ntok != V1_TOKENS)
		return PROXYPROTO_BAD;
	if (strcmp(tok[1], "TCP4") != 0 && strcmp(tok[1], "TCP6") != 0)
		return PROXYPROTO_BAD;
	if (v1_addrs(tok, tok[1][3] == '6', pp) != 0)
		return PROXYPROTO_BAD;
	return PROXYPROTO_DONE;
}

static enum proxyproto_status
v1_parse(const uint8_t *buf, size_t n, struct proxyproto *pp)
{
	size_t	i;

	pp->version = 1;
	for (i = 0; i < n && i < PROXYPROTO_V1_MAX; i++) {
		if (i < sizeof(v1_sig) - 1 && buf[i] != (uint8_t)v1_sig[i])
			return PROXYPROTO_BAD;
		if (buf[i] == '\r') {
			/* A lone CR or LF never ends the line. */
			if (i + 2 > PROXYPROTO_V1_MAX)
				return PROXYPROTO_BAD;
			if (i + 1 == n) {
				pp->want = i + 2;
				return PROXYPROTO_MORE;
			}
			if (buf[i + 1] != '\n')
				return PROXYPROTO_BAD;
			pp->len = i + 2;
			return v1_line(buf, i, pp);
		}
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return PROXYPROTO_BAD;
	}
	if (n >= PROXYPROTO_V1_MAX)
		return PROXYPROTO_BAD;
	pp->want = PROXYPROTO_V1_MAX;
	return PROXYPROTO_MORE;
}

/* TLVs between off and end: each one's length must fit. */
static int
v2_tlvs_fit(const uint8_t *buf, size_t off, size_t end)
{
	size_t	l;

	while (off < end) {
		if (end - off < 3)
			return -1;
		l = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (end - off - 3 < l)
			return -1;
		off += 3 + l;
	}
	return 0;
}

/* A PROXY command's address block, the header being complete. */
static enum proxyproto_status
v2_proxy(const uint8_t *buf, size_t total, struct proxyproto *pp)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&pp->src;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&pp->src;
	size_t			 alen = total - PROXYPROTO_V2_FIXED;
	const uint8_t		*a = buf + PROXYPROTO_V2_FIXED;

	memset(&pp->src, 0, sizeof(pp->src));
	switch (buf[13]) {
	case 0x11:		/* TCP over IPv4 */
		if (alen < 12)
			return PROXYPROTO_BAD;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, a + 8, 2);
		pp->srclen = sizeof(*sin);
		return v2_tlvs_fit(buf, PROXYPROTO_V2_FIXED + 12, total) ?
		    PROXYPROTO_BAD : PROXYPROTO_DONE;
	case 0x21:		/* TCP over IPv6 */
		if (alen < 36)
			return PROXYPROTO_BAD;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, a + 32, 2);
		pp->srclen = sizeof(*sin6);
		return v2_tlvs_fit(buf, PROXYPROTO_V2_FIXED + 36, total) ?
		    PROXYPROTO_BAD : PROXYPROTO_DONE;
	case 0x00: case 0x12: case 0x22: case 0x31: case 0x32:
		/*
		 * UNSPEC, UDP and UNIX: valid, but no TCP client address;
		 * the specification has a receiver fall back to UNSPEC,
		 * i.e. the real endpoints.
		 */
		pp->local = 1;
		return PROXYPROTO_DONE;
	default:
		return PROXYPROTO_BAD;
	}
}

static enum proxyproto_status
v2_parse(const uint8_t *buf, size_t n, struct proxyproto *pp)
{
	size_t	total;

	pp->version = 2;
	if (memcmp(buf, v2_sig, n < sizeof(v2_sig) ? n : sizeof(v2_sig)) != 0)
		return PROXYPROTO_BAD;
	/* Version 2, command LOCAL (0) or PROXY (1): nothing else. */
	if (n > 12 && buf[12] != 0x20 && buf[12] != 0x21)
		return PROXYPROTO_BAD;
	if (n < PROXYPROTO_V2_FIXED) {
		pp->want = PROXYPROTO_V2_FIXED;
		return PROXYPROTO_MORE;
	}
	total = PROXYPROTO_V2_FIXED + ((size_t)buf[14] << 8 | buf[15]);
	if (n < total) {
		pp->want = total;
		return PROXYPROTO_MORE;
	}
	pp->len = total;
	if (buf[12] == 0x20) {
		/* LOCAL: the family and the block are to be ignored. */
		pp->local = pp->v2_local = 1;
		return PROXYPROTO_DONE;
	}
	return v2_proxy(buf, total, pp);
}

enum proxyproto_status
proxyproto_parse(const uint8_t *buf, size_t n, struct proxyproto *pp)
{
	memset(pp, 0, sizeof(*pp));
	if (n == 0) {
		pp->want = 1;
		return PROXYPROTO_MORE;
	}
	if (buf[0] == v2_sig[0])
		return v2_parse(buf, n, pp);
	if (buf[0] == (uint8_t)v1_sig[0])
		return v1_parse(buf, n, pp);
	return PROXYPROTO_BAD;
}
