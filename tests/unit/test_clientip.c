/* Unit tests for clientip: which address a request comes from. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "clientip.h"

struct fixture {
	struct cidr_list	proxies;
	struct netaddr		proxy_peer;	/* trusted */
	struct netaddr		client_peer;	/* not trusted */
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    netaddr_cidr_list_parse("127.0.0.1/32, 10.0.0.0/8, 2001:db8:ffff::/48",
	    &f->proxies, NULL) != 0 ||
	    netaddr_parse("10.0.0.1", &f->proxy_peer) != 0 ||
	    netaddr_parse("198.51.100.1", &f->client_peer) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	netaddr_cidr_list_free(&f->proxies);
	free(f);
	return 0;
}

/* Resolve from the trusted peer; check source and resulting address. */
static void
check(const struct fixture *f, const char *hdr, enum trust_header_kind kind,
    enum clientip_source want_src, const char *want_ip)
{
	struct netaddr		out, want;
	enum clientip_source	src;
	char			got[INET6_ADDRSTRLEN];

	src = clientip_resolve(&f->proxy_peer, hdr, kind, &f->proxies, &out);
	netaddr_str(&out, got, sizeof(got));
	if (src != want_src)
		fail_msg("\"%s\": source %d, want %d (ip %s)", hdr, src,
		    want_src, got);
	assert_int_equal(netaddr_parse(want_ip, &want), 0);
	if (!netaddr_equal(&out, &want))
		fail_msg("\"%s\": got %s, want %s", hdr, got, want_ip);
}

#define XFF(h, s, ip)	check(*state, h, TRUST_XFF, s, ip)
#define FWD(h, s, ip)	check(*state, h, TRUST_FORWARDED, s, ip)
#define ONE(h, s, ip)	check(*state, h, TRUST_SINGLE, s, ip)

static void
test_untrusted_peer_ignores_header(void **state)
{
	struct fixture	*f = *state;
	struct netaddr	 out;

	assert_int_equal(clientip_resolve(&f->client_peer, "203.0.113.9",
	    TRUST_XFF, &f->proxies, &out), CLIENTIP_PEER);
	assert_true(netaddr_equal(&out, &f->client_peer));
	assert_int_equal(clientip_resolve(&f->client_peer, "garbage",
	    TRUST_FORWARDED, &f->proxies, &out), CLIENTIP_PEER);
	assert_true(netaddr_equal(&out, &f->client_peer));
}

static void
test_no_proxies_configured_means_peer(void **state)
{
	struct fixture		*f = *state;
	struct cidr_list	 none = { NULL, 0 };
	struct netaddr		 out;

	assert_int_equal(clientip_resolve(&f->proxy_peer, "203.0.113.9",
	    TRUST_XFF, &none, &out), CLIENTIP_PEER);
	assert_true(netaddr_equal(&out, &f->proxy_peer));
	assert_int_equal(clientip_resolve(&f->proxy_peer, "203.0.113.9",
	    TRUST_XFF, NULL, &out), CLIENTIP_PEER);
	assert_true(netaddr_equal(&out, &f->proxy_peer));
}

static void
test_absent_or_blank_header_means_peer(void **state)
{
	struct fixture	*f = *state;
	struct netaddr	 out;

	assert_int_equal(clientip_resolve(&f->proxy_peer, NULL, TRUST_XFF,
	    &f->proxies, &out), CLIENTIP_PEER);
	assert_true(netaddr_equal(&out, &f->proxy_peer));
	assert_int_equal(clientip_resolve(&f->proxy_peer, "", TRUST_XFF,
	    &f->proxies, &out), CLIENTIP_PEER);
	assert_int_equal(clientip_resolve(&f->proxy_peer, " \t ",
	    TRUST_FORWARDED, &f->proxies, &out), CLIENTIP_PEER);
	assert_true(netaddr_equal(&out, &f->proxy_peer));
}

static void
test_xff_single_untrusted_entry(void **state)
{
	XFF("203.0.113.9", CLIENTIP_HEADER, "203.0.113.9");
	XFF("  203.0.113.9\t", CLIENTIP_HEADER, "203.0.113.9");
	XFF("2001:db8::1", CLIENTIP_HEADER, "2001:db8::1");
}

static void
test_xff_walks_right_to_left_skipping_trusted(void **state)
{
	/* Rightmost untrusted wins; a forged left part is never reached. */
	XFF("1.1.1.1, 203.0.113.9, 10.1.1.1, 127.0.0.1", CLIENTIP_HEADER,
	    "203.0.113.9");
	XFF("1.1.1.1, 203.0.113.9", CLIENTIP_HEADER, "203.0.113.9");
	XFF("203.0.113.9,10.2.2.2", CLIENTIP_HEADER, "203.0.113.9");
	/* Trusted entries left of the answer do not matter. */
	XFF("10.9.9.9, 203.0.113.9, 10.1.1.1", CLIENTIP_HEADER,
	    "203.0.113.9");
}

static void
test_xff_all_trusted_takes_leftmost(void **state)
{
	XFF("10.3.3.3, 10.2.2.2, 127.0.0.1", CLIENTIP_HEADER, "10.3.3.3");
	XFF("10.3.3.3", CLIENTIP_HEADER, "10.3.3.3");
	XFF("2001:db8:ffff::5, 10.2.2.2", CLIENTIP_HEADER,
	    "2001:db8:ffff::5");
}

static void
test_xff_ports_and_brackets(void **state)
{
	XFF("192.0.2.7:5678", CLIENTIP_HEADER, "192.0.2.7");
	XFF("[2001:db8::1]", CLIENTIP_HEADER, "2001:db8::1");
	XFF("[2001:db8::1]:80", CLIENTIP_HEADER, "2001:db8::1");
	XFF("\"192.0.2.7\"", CLIENTIP_HEADER, "192.0.2.7");
	XFF("\"[2001:db8::1]:443\"", CLIENTIP_HEADER, "2001:db8::1");
	XFF("192.0.2.7:0, 10.0.0.9:65535", CLIENTIP_HEADER, "192.0.2.7");
	/* A trusted proxy written with a port is still trusted. */
	XFF("192.0.2.7, 10.0.0.9:1234, [2001:db8:ffff::1]:9",
	    CLIENTIP_HEADER, "192.0.2.7");
}

static void
test_xff_v4_mapped_normalised(void **state)
{
	struct fixture	*f = *state;
	struct netaddr	 out;

	XFF("::ffff:192.0.2.8", CLIENTIP_HEADER, "192.0.2.8");
	/* A mapped trusted proxy is trusted by its IPv4 block. */
	XFF("192.0.2.8, [::ffff:10.4.4.4]:80", CLIENTIP_HEADER, "192.0.2.8");
	assert_int_equal(clientip_resolve(&f->proxy_peer, "::ffff:192.0.2.8",
	    TRUST_XFF, &f->proxies, &out), CLIENTIP_HEADER);
	assert_int_equal(out.family, AF_INET);
}

static void
test_xff_joined_header_lines(void **state)
{
	/* Two lines "1.1.1.1, 203.0.113.9" and "10.0.0.7" joined in order. */
	XFF("1.1.1.1, 203.0.113.9, 10.0.0.7", CLIENTIP_HEADER,
	    "203.0.113.9");
	XFF("10.0.0.8, 10.0.0.7", CLIENTIP_HEADER, "10.0.0.8");
}

static void
test_xff_malformed_ends_walk(void **state)
{
	/* Rightmost is garbage: nothing accepted, the peer stands. */
	XFF("203.0.113.9, garbage", CLIENTIP_MALFORMED, "10.0.0.1");
	/* Garbage in the middle: the last accepted (trusted) one stands. */
	XFF("203.0.113.9, garbage, 10.5.5.5", CLIENTIP_MALFORMED, "10.5.5.5");
	XFF("203.0.113.9, unknown, 10.6.6.6, 10.5.5.5", CLIENTIP_MALFORMED,
	    "10.6.6.6");
	/* Trusted entries left of the garbage are not "accepted". */
	XFF("10.9.9.9, garbage, 10.5.5.5", CLIENTIP_MALFORMED, "10.5.5.5");
	XFF("10.9.9.9, garbage, 10.8.8.8, junk, 10.5.5.5", CLIENTIP_MALFORMED,
	    "10.5.5.5");
	XFF("10.9.9.9, 10.8.8.8, junk", CLIENTIP_MALFORMED, "10.0.0.1");
	/* Garbage left of the first untrusted entry is never reached. */
	XFF("garbage, 203.0.113.9, 10.5.5.5", CLIENTIP_HEADER, "203.0.113.9");
	XFF("garbage, 203.0.113.9", CLIENTIP_HEADER, "203.0.113.9");
}

static void
test_xff_empty_entries_are_malformed(void **state)
{
	XFF("203.0.113.9,,10.5.5.5", CLIENTIP_MALFORMED, "10.5.5.5");
	XFF("203.0.113.9, ", CLIENTIP_MALFORMED, "10.0.0.1");
	XFF(",203.0.113.9", CLIENTIP_HEADER, "203.0.113.9");
	XFF(",10.5.5.5", CLIENTIP_MALFORMED, "10.5.5.5");
	XFF(",", CLIENTIP_MALFORMED, "10.0.0.1");
}

static void
test_xff_garbage_forms(void **state)
{
	static const char *bad[] = {
		"garbage", "1.2.3", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:x",
		"[2001:db8::1", "[1.2.3.4]", "[2001:db8::1]x", "2001:db8::1]",
		"\"1.2.3.4", "1.2.3.4 5.6.7.8", "fe80::1%eth0", "01.2.3.4",
		"_hidden", "unknown", "1.2.3.4:_obf", "\"\"", "\"",
	};
	struct fixture	*f = *state;
	struct netaddr	 out;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (clientip_resolve(&f->proxy_peer, bad[i], TRUST_XFF,
		    &f->proxies, &out) != CLIENTIP_MALFORMED)
			fail_msg("\"%s\" not malformed", bad[i]);
		assert_true(netaddr_equal(&out, &f->proxy_peer));
	}
}

static void
test_forwarded_basic_and_quoted(void **state)
{
	FWD("for=192.0.2.60", CLIENTIP_HEADER, "192.0.2.60");
	FWD("For=192.0.2.60;proto=https;by=203.0.113.43", CLIENTIP_HEADER,
	    "192.0.2.60");
	FWD("for=\"[2001:db8:cafe::17]:4711\"", CLIENTIP_HEADER,
	    "2001:db8:cafe::17");
	FWD("for=\"192.0.2.43:47011\"", CLIENTIP_HEADER, "192.0.2.43");
	FWD("proto=https; FOR=\"[2001:db8::9]\" ;by=_x", CLIENTIP_HEADER,
	    "2001:db8::9");
	/* Escapes inside the quoted string are undone. */
	FWD("for=\"192.0.2.\\60\"", CLIENTIP_HEADER, "192.0.2.60");
	/* Obfuscated ports keep the address. */
	FWD("for=\"[2001:db8::9]:_port1\"", CLIENTIP_HEADER, "2001:db8::9");
	/* Lenient: a proxy that forgot the quotes. */
	FWD("for=192.0.2.43:47011", CLIENTIP_HEADER, "192.0.2.43");
}

static void
test_forwarded_multiple_elements_walk(void **state)
{
	FWD("for=192.0.2.43, for=198.51.100.17;by=10.0.0.2, for=10.0.0.3",
	    CLIENTIP_HEADER, "198.51.100.17");
	FWD("for=10.7.7.7;proto=http, for=\"[2001:db8:ffff::2]\"",
	    CLIENTIP_HEADER, "10.7.7.7");
	/* A comma inside a quoted value does not split elements. */
	FWD("for=192.0.2.1;host=\"a,b\", for=10.0.0.3", CLIENTIP_HEADER,
	    "192.0.2.1");
	/* Nor does one after an escaped quote inside the quoted value. */
	FWD("for=192.0.2.1;host=\"x\\\",y\", for=10.0.0.3", CLIENTIP_HEADER,
	    "192.0.2.1");
	/* Long values of other parameters are fine. */
	FWD("for=192.0.2.1;host=\"averyveryveryveryveryveryveryveryveryvery"
	    "veryveryveryveryveryverylong.example.com\"", CLIENTIP_HEADER,
	    "192.0.2.1");
}

static void
test_forwarded_unknown_obfuscated_and_missing_for(void **state)
{
	FWD("for=unknown", CLIENTIP_MALFORMED, "10.0.0.1");
	FWD("for=_hidden, for=10.0.0.3", CLIENTIP_MALFORMED, "10.0.0.3");
	FWD("for=192.0.2.1, for=\"_gazonk\"", CLIENTIP_MALFORMED, "10.0.0.1");
	/* An element without for= cannot be placed: the walk ends. */
	FWD("for=192.0.2.1, proto=https;by=10.0.0.2, for=10.0.0.3",
	    CLIENTIP_MALFORMED, "10.0.0.3");
	FWD("proto=https", CLIENTIP_MALFORMED, "10.0.0.1");
}

static void
test_forwarded_syntax_errors(void **state)
{
	static const char *bad[] = {
		"for=", "for", "=192.0.2.1", "for=192.0.2.1;for=192.0.2.2",
		"for=\"192.0.2.1", "for=\"192.0.2.1\"x", "for=2001:db8::1]",
		"for=\"[2001:db8::1]:\"", "for=192.0.2.1;proto",
		"for=192.0.2.1;host=\"unterminated", "for=\"\\\"",
		"for=\"a\"\"b\"", "for=192.0.2.1;x=a\"b",
	};
	struct fixture	*f = *state;
	struct netaddr	 out;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (clientip_resolve(&f->proxy_peer, bad[i], TRUST_FORWARDED,
		    &f->proxies, &out) != CLIENTIP_MALFORMED)
			fail_msg("\"%s\" not malformed", bad[i]);
		assert_true(netaddr_equal(&out, &f->proxy_peer));
	}
	/* Empty pairs are allowed by RFC 7239. */
	FWD("for=192.0.2.1;;proto=https;", CLIENTIP_HEADER, "192.0.2.1");
}

static void
test_single_header_x_real_ip(void **state)
{
	ONE("203.0.113.50", CLIENTIP_HEADER, "203.0.113.50");
	ONE(" 203.0.113.50 ", CLIENTIP_HEADER, "203.0.113.50");
	ONE("[2001:db8::50]:8080", CLIENTIP_HEADER, "2001:db8::50");
	ONE("203.0.113.50:8080", CLIENTIP_HEADER, "203.0.113.50");
	/* A trusted address alone is the leftmost of a list of one. */
	ONE("10.8.8.8", CLIENTIP_HEADER, "10.8.8.8");
	/* Two header lines joined: not one address. */
	ONE("203.0.113.50, 203.0.113.51", CLIENTIP_MALFORMED, "10.0.0.1");
	ONE("garbage", CLIENTIP_MALFORMED, "10.0.0.1");
}

static void
test_ipv6_trusted_peer(void **state)
{
	struct fixture	*f = *state;
	struct netaddr	 peer, out, want;

	assert_int_equal(netaddr_parse("2001:db8:ffff:1::1", &peer), 0);
	assert_int_equal(clientip_resolve(&peer, "2001:db8:1::77",
	    TRUST_XFF, &f->proxies, &out), CLIENTIP_HEADER);
	netaddr_parse("2001:db8:1::77", &want);
	assert_true(netaddr_equal(&out, &want));
	/* Same /48 prefix bytes but another /48: not trusted. */
	assert_int_equal(netaddr_parse("2001:db8:fffe::1", &peer), 0);
	assert_int_equal(clientip_resolve(&peer, "2001:db8:1::77",
	    TRUST_XFF, &f->proxies, &out), CLIENTIP_PEER);
	assert_true(netaddr_equal(&out, &peer));
}

static char *
repeat_list(const char *item, size_t count, const char *last)
{
	size_t	 ilen = strlen(item), i;
	char	*s, *p;

	if ((s = malloc(count * (ilen + 2) + strlen(last) + 1)) == NULL)
		fail();
	for (p = s, i = 0; i < count; i++) {
		memcpy(p, item, ilen);
		p += ilen;
		*p++ = ',';
		*p++ = ' ';
	}
	strcpy(p, last);
	return s;
}

static void
test_very_long_headers(void **state)
{
	struct fixture	*f = *state;
	struct netaddr	 out, want;
	char		*h;

	/* 20000 forged entries left of the real client: never reached. */
	h = repeat_list("1.2.3.4", 20000, "203.0.113.9, 10.0.0.2");
	assert_int_equal(clientip_resolve(&f->proxy_peer, h, TRUST_XFF,
	    &f->proxies, &out), CLIENTIP_HEADER);
	netaddr_parse("203.0.113.9", &want);
	assert_true(netaddr_equal(&out, &want));
	free(h);

	/* 20000 trusted hops: the leftmost, no hop limit, no allocation. */
	h = repeat_list("10.1.2.3", 20000, "10.0.0.2");
	assert_int_equal(clientip_resolve(&f->proxy_peer, h, TRUST_XFF,
	    &f->proxies, &out), CLIENTIP_HEADER);
	netaddr_parse("10.1.2.3", &want);
	assert_true(netaddr_equal(&out, &want));
	free(h);

	/* One huge entry: unparsable, no overflow. */
	if ((h = malloc(100001)) == NULL)
		fail();
	memset(h, '1', 100000);
	h[100000] = '\0';
	assert_int_equal(clientip_resolve(&f->proxy_peer, h, TRUST_XFF,
	    &f->proxies, &out), CLIENTIP_MALFORMED);
	assert_int_equal(clientip_resolve(&f->proxy_peer, h, TRUST_SINGLE,
	    &f->proxies, &out), CLIENTIP_MALFORMED);
	h[0] = '"';
	h[99999] = '"';
	memcpy(h + 1, "for=", 4);
	assert_int_equal(clientip_resolve(&f->proxy_peer, h, TRUST_FORWARDED,
	    &f->proxies, &out), CLIENTIP_MALFORMED);
	memcpy(h, "for=\"", 5);
	assert_int_equal(clientip_resolve(&f->proxy_peer, h, TRUST_FORWARDED,
	    &f->proxies, &out), CLIENTIP_MALFORMED);
	assert_true(netaddr_equal(&out, &f->proxy_peer));
	free(h);

	h = repeat_list("for=10.1.1.1;proto=https", 5000,
	    "for=\"[2001:db8::abc]:1\";by=10.0.0.2, for=10.0.0.3");
	assert_int_equal(clientip_resolve(&f->proxy_peer, h, TRUST_FORWARDED,
	    &f->proxies, &out), CLIENTIP_HEADER);
	netaddr_parse("2001:db8::abc", &want);
	assert_true(netaddr_equal(&out, &want));
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_untrusted_peer_ignores_header),
		cmocka_unit_test(test_no_proxies_configured_means_peer),
		cmocka_unit_test(test_absent_or_blank_header_means_peer),
		cmocka_unit_test(test_xff_single_untrusted_entry),
		cmocka_unit_test(test_xff_walks_right_to_left_skipping_trusted),
		cmocka_unit_test(test_xff_all_trusted_takes_leftmost),
		cmocka_unit_test(test_xff_ports_and_brackets),
		cmocka_unit_test(test_xff_v4_mapped_normalised),
		cmocka_unit_test(test_xff_joined_header_lines),
		cmocka_unit_test(test_xff_malformed_ends_walk),
		cmocka_unit_test(test_xff_empty_entries_are_malformed),
		cmocka_unit_test(test_xff_garbage_forms),
		cmocka_unit_test(test_forwarded_basic_and_quoted),
		cmocka_unit_test(test_forwarded_multiple_elements_walk),
		cmocka_unit_test(test_forwarded_unknown_obfuscated_and_missing_for),
		cmocka_unit_test(test_forwarded_syntax_errors),
		cmocka_unit_test(test_single_header_x_real_ip),
		cmocka_unit_test(test_ipv6_trusted_peer),
		cmocka_unit_test(test_very_long_headers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
