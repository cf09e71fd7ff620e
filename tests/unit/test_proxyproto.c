/*
 * proxyproto: v1 TCP4/TCP6/UNKNOWN, v2 PROXY/LOCAL with and without
 * TLVs, every prefix of a valid header asking for more (and never for
 * fewer bytes than it has), the exact length consumed with HTTP bytes
 * behind it, and the malformed cases: signatures, lone CR/LF, a line over
 * 107 bytes, non-canonical addresses and ports, bad versions, commands,
 * families, short address blocks and TLVs that overrun the header.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxyproto.h"

static const uint8_t SIG[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

static enum proxyproto_status
parse_str(const char *s, struct proxyproto *pp)
{
	return proxyproto_parse((const uint8_t *)s, strlen(s), pp);
}

static const char *
src_str(const struct proxyproto *pp, char *buf, size_t len)
{
	const struct sockaddr_in	*sin = (const void *)&pp->src;
	const struct sockaddr_in6	*sin6 = (const void *)&pp->src;

	if (pp->src.ss_family == AF_INET)
		return inet_ntop(AF_INET, &sin->sin_addr, buf, len);
	if (pp->src.ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len);
	return "none";
}

static unsigned
src_port(const struct proxyproto *pp)
{
	const struct sockaddr_in	*sin = (const void *)&pp->src;
	const struct sockaddr_in6	*sin6 = (const void *)&pp->src;

	return ntohs(pp->src.ss_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port);
}

/* Every proper prefix asks for more, and for more than it has. */
static void
assert_prefixes_want_more(const uint8_t *h, size_t len)
{
	struct proxyproto	pp;
	size_t			i;

	for (i = 0; i < len; i++) {
		assert_int_equal(proxyproto_parse(h, i, &pp), PROXYPROTO_MORE);
		assert_true(pp.want > i);
		assert_true(pp.want <= PROXYPROTO_MAX);
	}
}

static void
test_v1_tcp4(void **state)
{
	const char		*h = "PROXY TCP4 81.2.69.160 10.0.0.1 56324 443"
				    "\r\nGET / HTTP/1.1\r\n\r\n";
	struct proxyproto	 pp;
	char			 buf[64];

	(void)state;
	assert_int_equal(parse_str(h, &pp), PROXYPROTO_DONE);
	assert_int_equal(pp.version, 1);
	assert_false(pp.local);
	/* Exactly the line: the HTTP request after it is not ours. */
	assert_int_equal(pp.len, strlen("PROXY TCP4 81.2.69.160 10.0.0.1 "
	    "56324 443\r\n"));
	assert_string_equal(src_str(&pp, buf, sizeof(buf)), "81.2.69.160");
	assert_int_equal(src_port(&pp), 56324);
	assert_int_equal(pp.srclen, sizeof(struct sockaddr_in));
	assert_prefixes_want_more((const uint8_t *)h, pp.len);
}

static void
test_v1_tcp6_and_limits(void **state)
{
	/* The longest line the specification allows for TCP6: 104. */
	const char	*h6 = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
			    "ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			    "65535 65535\r\n";
	/* The worst case, 107 bytes: still valid. */
	const char	*unk = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:"
			    "ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			    "65535 65535\r\n";
	struct proxyproto pp;
	char		 buf[64], big[200];

	(void)state;
	assert_int_equal(strlen(h6), 104);
	assert_int_equal(parse_str(h6, &pp), PROXYPROTO_DONE);
	assert_string_equal(src_str(&pp, buf, sizeof(buf)),
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(src_port(&pp), 65535);
	assert_int_equal(parse_str("PROXY TCP6 2001:db8::1 ::1 1 0\r\n", &pp),
	    PROXYPROTO_DONE);
	assert_string_equal(src_str(&pp, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(strlen(unk), 107);
	assert_int_equal(parse_str(unk, &pp), PROXYPROTO_DONE);
	assert_true(pp.local);
	assert_int_equal(pp.len, 107);
	assert_int_equal(parse_str("PROXY UNKNOWN\r\n", &pp), PROXYPROTO_DONE);
	assert_true(pp.local);
	assert_false(pp.v2_local);
	assert_int_equal(pp.len, 15);
	/* 108 bytes with CRLF, or 107 without one: too long. */
	memset(big, 0, sizeof(big));
	snprintf(big, sizeof(big), "PROXY UNKNOWN %092d\r\n", 0);
	assert_int_equal(strlen(big), 108);
	assert_int_equal(parse_str(big, &pp), PROXYPROTO_BAD);
	big[106] = 'x';
	assert_int_equal(proxyproto_parse((uint8_t *)big, 107, &pp),
	    PROXYPROTO_BAD);
	assert_int_equal(proxyproto_parse((uint8_t *)big, 106, &pp),
	    PROXYPROTO_MORE);
	assert_int_equal(pp.want, 107);
}

static void
test_v1_malformed(void **state)
{
	static const char *bad[] = {
		"GET / HTTP/1.1\r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n",	/* leading zero */
		"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
		"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",	/* wrong family */
		"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.x 1 2\r\n",	/* destination too */
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",	/* port: leading 0 */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",	/* lone LF */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",	/* lone CR */
		"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",	/* control byte */
		"PROXY\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	};
	struct proxyproto	pp;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_str(bad[i], &pp) != PROXYPROTO_BAD)
			fail_msg("accepted: %s", bad[i]);
	}
	/* Rejected at the first byte that cannot be a header. */
	assert_int_equal(parse_str("G", &pp), PROXYPROTO_BAD);
	assert_int_equal(parse_str("PROXX", &pp), PROXYPROTO_BAD);
	assert_int_equal(parse_str("PROX", &pp), PROXYPROTO_MORE);
	assert_int_equal(parse_str("PROXY TCP4 1.2\n", &pp), PROXYPROTO_BAD);
}

/* A v2 header: fixed part, then body (addresses and TLVs). */
static size_t
v2(uint8_t *out, uint8_t vc, uint8_t fam, const uint8_t *body, size_t blen)
{
	memcpy(out, SIG, 12);
	out[12] = vc;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	memcpy(out + 16, body, blen);
	return 16 + blen;
}

static void
test_v2_proxy(void **state)
{
	uint8_t			h[512], body[256];
	struct proxyproto	pp;
	char			buf[64];
	size_t			n;

	(void)state;
	/* TCP4 127.0.0.2:4660 -> 10.0.0.1:443, then "GET". */
	memcpy(body, "\x7f\x00\x00\x02\x0a\x00\x00\x01\x12\x34\x01\xbb", 12);
	n = v2(h, 0x21, 0x11, body, 12);
	memcpy(h + n, "GET", 3);
	assert_int_equal(proxyproto_parse(h, n + 3, &pp), PROXYPROTO_DONE);
	assert_int_equal(pp.version, 2);
	assert_int_equal(pp.len, 28);
	assert_false(pp.local);
	assert_string_equal(src_str(&pp, buf, sizeof(buf)), "127.0.0.2");
	assert_int_equal(src_port(&pp), 0x1234);
	assert_prefixes_want_more(h, n);
	/* Once the fixed part is in, it asks for exactly the header. */
	assert_int_equal(proxyproto_parse(h, 16, &pp), PROXYPROTO_MORE);
	assert_int_equal(pp.want, 28);

	/* TCP6 with TLVs: NOOP (empty), AUTHORITY, and AWS's 0xEA. */
	memset(body, 0, sizeof(body));
	body[15] = 1;				/* ::1 */
	body[31] = 2;				/* ::2 */
	body[32] = 0xab;
	body[33] = 0xcd;
	memcpy(body + 36, "\x04\x00\x00" "\x02\x00\x04" "host"
	    "\xea\x00\x05" "\x01vpce", 3 + 7 + 8);
	n = v2(h, 0x21, 0x21, body, 36 + 18);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_DONE);
	assert_int_equal(pp.len, 16 + 54);
	assert_string_equal(src_str(&pp, buf, sizeof(buf)), "::1");
	assert_int_equal(src_port(&pp), 0xabcd);
	assert_int_equal(pp.srclen, sizeof(struct sockaddr_in6));
	/* A TLV one byte longer than what is left: malformed. */
	h[16 + 36 + 3 + 7 + 2] = 6;
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
	/* Two stray bytes after the addresses (not a whole TLV). */
	n = v2(h, 0x21, 0x21, body, 38);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
}

static void
test_v2_local_and_unspec(void **state)
{
	uint8_t			h[512], body[216];
	struct proxyproto	pp;
	size_t			n;

	(void)state;
	memset(body, 0, sizeof(body));
	n = v2(h, 0x20, 0x00, body, 0);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_DONE);
	assert_true(pp.local);
	assert_true(pp.v2_local);
	assert_int_equal(pp.len, 16);
	/* LOCAL with an address block: skipped by its length, ignored. */
	n = v2(h, 0x20, 0x11, body, 12);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_DONE);
	assert_true(pp.v2_local);
	assert_int_equal(pp.len, 28);
	/* PROXY with UNSPEC, UDP or UNIX: valid, the real peer stands. */
	n = v2(h, 0x21, 0x00, body, 0);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_DONE);
	assert_true(pp.local);
	assert_false(pp.v2_local);
	n = v2(h, 0x21, 0x31, body, 216);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_DONE);
	assert_true(pp.local);
	n = v2(h, 0x21, 0x12, body, 12);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_DONE);
	assert_true(pp.local);
}

static void
test_v2_malformed(void **state)
{
	uint8_t			h[512], body[64];
	struct proxyproto	pp;
	size_t			n;

	(void)state;
	memset(body, 0, sizeof(body));
	n = v2(h, 0x21, 0x11, body, 12);
	h[7] = 'X';				/* signature */
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
	/* Caught as soon as the bad byte is in. */
	assert_int_equal(proxyproto_parse(h, 8, &pp), PROXYPROTO_BAD);
	assert_int_equal(proxyproto_parse(h, 7, &pp), PROXYPROTO_MORE);
	n = v2(h, 0x11, 0x11, body, 12);	/* version 1 in binary */
	assert_int_equal(proxyproto_parse(h, 13, &pp), PROXYPROTO_BAD);
	n = v2(h, 0x22, 0x11, body, 12);	/* command 2 */
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
	n = v2(h, 0x21, 0x41, body, 12);	/* family 4 */
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
	n = v2(h, 0x21, 0x13, body, 12);	/* transport 3 */
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
	n = v2(h, 0x21, 0x11, body, 11);	/* address block too short */
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
	n = v2(h, 0x21, 0x21, body, 35);
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_BAD);
	/* The largest length announced: it waits for all of it. */
	n = v2(h, 0x21, 0x11, body, 12);
	h[14] = h[15] = 0xff;
	assert_int_equal(proxyproto_parse(h, n, &pp), PROXYPROTO_MORE);
	assert_int_equal(pp.want, PROXYPROTO_MAX);
	assert_int_equal(proxyproto_parse(h, 0, &pp), PROXYPROTO_MORE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6_and_limits),
		cmocka_unit_test(test_v1_malformed),
		cmocka_unit_test(test_v2_proxy),
		cmocka_unit_test(test_v2_local_and_unspec),
		cmocka_unit_test(test_v2_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
