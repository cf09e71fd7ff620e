/*
 * Unit tests for url: the request-target rule (SPEC section 1), the
 * Location bound, server URLs and allowed_hosts patterns (section 3).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "strlist.h"
#include "url.h"

#define TC(lit)	url_target_check(lit, sizeof(lit) - 1)

/* ---- request-target ---------------------------------------------- */

static void
test_target_spec_examples_accepted(void **state)
{
	(void)state;
	assert_int_equal(TC("/upload?x=1"), 200);
	assert_int_equal(TC("/a//b/../c?q=%2F+x"), 200);
	assert_int_equal(TC("/%00"), 200);
	assert_int_equal(TC("/"), 200);
	/* Every visible byte but '#' is fine, '@', '\\' and '?' included. */
	assert_int_equal(TC("/!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), 200);
	assert_int_equal(TC("//evil.example/x"), 200);
}

static void
test_target_must_start_with_slash(void **state)
{
	(void)state;
	assert_int_equal(TC("upload"), 400);
	assert_int_equal(TC("http://evil/x"), 400);	/* absolute-form */
	assert_int_equal(TC("*"), 400);			/* asterisk-form */
	assert_int_equal(TC("@evil/x"), 400);
	assert_int_equal(TC(".evil.example/x"), 400);
	assert_int_equal(TC("evil.example:443"), 400);	/* authority-form */
	assert_int_equal(TC("#frag"), 400);
	assert_int_equal(TC(" /x"), 400);
	assert_int_equal(TC("?x=1"), 400);
}

static void
test_target_null_and_empty(void **state)
{
	(void)state;
	assert_int_equal(url_target_check(NULL, 0), 400);
	assert_int_equal(url_target_check(NULL, 5), 400);
	assert_int_equal(url_target_check("/x", 0), 400);
}

static void
test_target_rejects_bad_bytes(void **state)
{
	(void)state;
	assert_int_equal(TC("/a b"), 400);
	assert_int_equal(TC("/a\tb"), 400);
	assert_int_equal(TC("/a\x7f"), 400);
	assert_int_equal(TC("/a\x80"), 400);
	assert_int_equal(TC("/\xc3\xa9t\xc3\xa9"), 400);	/* raw UTF-8 */
	assert_int_equal(TC("/\xff"), 400);
	assert_int_equal(TC("/a#frag"), 400);
	assert_int_equal(TC("/a\rb"), 400);
	assert_int_equal(TC("/a\nLocation: x"), 400);
	assert_int_equal(TC("/a\x01"), 400);
	/* A NUL inside len is a bad byte, not an end. */
	assert_int_equal(url_target_check("/a\0b", 4), 400);
	/* The last byte is checked too. */
	assert_int_equal(TC("/abc "), 400);
}

static char *
make_target(size_t len, char fill)
{
	char	*t;

	if ((t = malloc(len + 1)) == NULL)
		fail();
	memset(t, fill, len);
	t[0] = '/';
	t[len] = '\0';
	return t;
}

static void
test_target_length_4096_vs_4097(void **state)
{
	char	*t;

	(void)state;
	t = make_target(4096, 'a');
	assert_int_equal(url_target_check(t, 4096), 200);
	free(t);
	t = make_target(4097, 'a');
	assert_int_equal(url_target_check(t, 4097), 414);
	free(t);
	t = make_target(100000, 'a');
	assert_int_equal(url_target_check(t, 100000), 414);
	free(t);
}

static void
test_target_overlong_is_414_even_with_bad_bytes(void **state)
{
	char	*t;

	(void)state;
	t = make_target(4097, ' ');
	t[0] = 'h';
	assert_int_equal(url_target_check(t, 4097), 414);
	free(t);
	/* At the limit the byte rule still applies. */
	t = make_target(4096, 'a');
	t[4095] = ' ';
	assert_int_equal(url_target_check(t, 4096), 400);
	free(t);
}

/* ---- Location --------------------------------------------------- */

static void
test_location_byte_for_byte(void **state)
{
	char		 buf[LOCATION_MAX + 1];
	const char	*base = "https://eu-1.upload.example.com/up";
	const char	*t = "/a//b/../c?q=%2F+x";
	int		 n;

	(void)state;
	n = url_location_build(buf, sizeof(buf), base, strlen(base), t, strlen(t));
	assert_int_equal(n, strlen(base) + strlen(t));
	assert_string_equal(buf,
	    "https://eu-1.upload.example.com/up/a//b/../c?q=%2F+x");
	n = url_location_build(buf, sizeof(buf), "https://h", 9, "/%00", 4);
	assert_int_equal(n, 13);
	assert_string_equal(buf, "https://h/%00");
}

static void
test_location_8k_bound(void **state)
{
	char	*buf, *base, *t;
	size_t	 bufsz = LOCATION_MAX + 1;

	(void)state;
	buf = malloc(bufsz);
	base = make_target(LOCATION_MAX, 'b');
	t = make_target(TARGET_MAX, 't');
	/* Exactly 8192 bytes: allowed. */
	assert_int_equal(url_location_build(buf, bufsz, base, LOCATION_MAX - 4096,
	    t, 4096), LOCATION_MAX);
	assert_int_equal(strlen(buf), LOCATION_MAX);
	assert_memory_equal(buf + LOCATION_MAX - 4096, t, 4096);
	/* 8193: over the bound even though the buffer could be bigger. */
	assert_int_equal(url_location_build(buf, bufsz, base, LOCATION_MAX - 4095,
	    t, 4096), -1);
	assert_int_equal(url_location_build(buf, bufsz, base, LOCATION_MAX, t, 1),
	    -1);
	assert_int_equal(url_location_build(buf, bufsz, base, (size_t)-1, t, 2),
	    -1);
	assert_int_equal(url_location_build(buf, bufsz, base, 2, t, (size_t)-1),
	    -1);
	free(buf);
	free(base);
	free(t);
}

static void
test_location_small_buffer(void **state)
{
	char	buf[10];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	/* 9 bytes + NUL fit in 10; 10 bytes do not. */
	assert_int_equal(url_location_build(buf, sizeof(buf), "https://h", 9,
	    "", 0), 9);
	assert_string_equal(buf, "https://h");
	assert_int_equal(url_location_build(buf, sizeof(buf), "https://h", 9,
	    "/", 1), -1);
	assert_int_equal(url_location_build(buf, 0, "", 0, "", 0), -1);
	assert_int_equal(url_location_build(NULL, 10, "a", 1, "/", 1), -1);
}

/* ---- server URLs ------------------------------------------------ */

static const char *
url_why(const char *s, const struct url_policy *pol)
{
	struct server_url	 u;
	const char		*why = "unset";

	if (url_server_parse(s, pol, &u, &why) == 0) {
		assert_null(why);
		url_server_free(&u);
		return "ok";
	}
	assert_non_null(why);
	assert_null(u.base);
	assert_null(u.host);
	return why;
}

static void
assert_url(const char *s, const struct url_policy *pol, const char *base,
    const char *host, int https, int port)
{
	struct server_url	 u;
	const char		*why = NULL;

	if (url_server_parse(s, pol, &u, &why) != 0)
		fail_msg("\"%s\" refused: %s", s, why);
	assert_string_equal(u.base, base);
	assert_int_equal(u.baselen, strlen(base));
	assert_string_equal(u.host, host);
	assert_int_equal(u.https, https);
	assert_int_equal(u.port, port);
	url_server_free(&u);
	assert_null(u.base);
}

static void
test_server_url_basic_forms(void **state)
{
	(void)state;
	assert_url("https://eu-1.upload.example.com", NULL,
	    "https://eu-1.upload.example.com", "eu-1.upload.example.com",
	    1, 0);
	assert_url("https://eu-1.example.com:8443/up/v1", NULL,
	    "https://eu-1.example.com:8443/up/v1", "eu-1.example.com", 1,
	    8443);
	assert_url("https://192.0.2.10:9000", NULL, "https://192.0.2.10:9000",
	    "192.0.2.10", 1, 9000);
	assert_url("https://[2001:DB8::1]:443/x", NULL,
	    "https://[2001:db8::1]:443/x", "2001:db8::1", 1, 443);
	assert_url("https://[::1]", NULL, "https://[::1]", "::1", 1, 0);
}

static void
test_server_url_lowercases_scheme_and_host_not_path(void **state)
{
	(void)state;
	assert_url("HTTPS://EU-1.Example.COM/Up/V1", NULL,
	    "https://eu-1.example.com/Up/V1", "eu-1.example.com", 1, 0);
}

static void
test_server_url_trailing_slash_removed(void **state)
{
	(void)state;
	assert_url("https://h.example/", NULL, "https://h.example",
	    "h.example", 1, 0);
	assert_url("https://h.example/base/", NULL, "https://h.example/base",
	    "h.example", 1, 0);
	assert_url("https://h.example:8443//", NULL,
	    "https://h.example:8443", "h.example", 1, 8443);
	/* Only the trailing ones: inner "//" is the operator's business. */
	assert_url("https://h.example/a//b/", NULL, "https://h.example/a//b",
	    "h.example", 1, 0);
}

static void
test_server_url_path_bytes(void **state)
{
	(void)state;
	assert_url("https://h.example/@user/%2F;v=1", NULL,
	    "https://h.example/@user/%2F;v=1", "h.example", 1, 0);
	assert_string_equal(url_why("https://h.example/a b", NULL), "syntax");
	assert_string_equal(url_why("https://h.example/\xc3\xa9", NULL),
	    "syntax");
}

static void
test_server_url_scheme(void **state)
{
	struct url_policy	pol = { NULL, NULL, 0 };

	(void)state;
	assert_string_equal(url_why("http://h.example", &pol), "scheme");
	assert_string_equal(url_why("http://h.example", NULL), "scheme");
	assert_string_equal(url_why("ftp://h.example", &pol), "scheme");
	assert_string_equal(url_why("https:/h.example", &pol), "scheme");
	assert_string_equal(url_why("h.example", &pol), "scheme");
	assert_string_equal(url_why("//h.example", &pol), "scheme");
	assert_string_equal(url_why("httpss://h.example", &pol), "scheme");
	pol.allow_http = 1;
	assert_url("HTTP://h.example:80/u", &pol, "http://h.example:80/u",
	    "h.example", 0, 80);
	assert_url("https://h.example", &pol, "https://h.example",
	    "h.example", 1, 0);
}

static void
test_server_url_userinfo_query_fragment(void **state)
{
	(void)state;
	assert_string_equal(url_why("https://user@h.example", NULL),
	    "userinfo");
	assert_string_equal(url_why("https://user:pw@h.example/x", NULL),
	    "userinfo");
	assert_string_equal(url_why("https://h.example@evil.example", NULL),
	    "userinfo");
	assert_string_equal(url_why("https://@h.example", NULL), "userinfo");
	assert_string_equal(url_why("https://h.example?x=1", NULL), "query");
	assert_string_equal(url_why("https://h.example/up?x=1", NULL),
	    "query");
	assert_string_equal(url_why("https://h.example/up?", NULL), "query");
	assert_string_equal(url_why("https://h.example#f", NULL), "fragment");
	assert_string_equal(url_why("https://h.example/up#", NULL),
	    "fragment");
}

static void
test_server_url_bad_hosts(void **state)
{
	static const char *bad[] = {
		"https://", "https:///x", "https://:443", "https://h_x.example",
		"https://-h.example", "https://h-.example", "https://h..example",
		"https://h.example.", "https://.h.example", "https://[::1",
		"https://[1.2.3.4]", "https://[::1]x", "https://[fe80::1%25eth0]",
		"https://2001:db8::1", "https://1.2.3", "https://256.1.1.1",
		"https://01.2.3.4", "https://0x7f.1", "https://h.example.123",
		"https://h\\.example", "https://*.example.com",
	};
	char	long_label[128], long_name[300];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcmp(url_why(bad[i], NULL), "host") != 0)
			fail_msg("\"%s\": %s", bad[i], url_why(bad[i], NULL));

	/* Labels up to 63 bytes, names up to 253. */
	memset(long_label, 'a', sizeof(long_label));
	snprintf(long_name, sizeof(long_name), "https://%.63s.example",
	    long_label);
	assert_string_equal(url_why(long_name, NULL), "ok");
	snprintf(long_name, sizeof(long_name), "https://%.64s.example",
	    long_label);
	assert_string_equal(url_why(long_name, NULL), "host");
	/* 4 x 63 + 3 dots = 255 > 253. */
	snprintf(long_name, sizeof(long_name), "https://%.63s.%.63s.%.63s.%.63s",
	    long_label, long_label, long_label, long_label);
	assert_string_equal(url_why(long_name, NULL), "host");
	/* 3 x 63 + 61 + 3 dots = 253: the limit. */
	snprintf(long_name, sizeof(long_name), "https://%.63s.%.63s.%.63s.%.61s",
	    long_label, long_label, long_label, long_label);
	assert_string_equal(url_why(long_name, NULL), "ok");
}

static void
test_server_url_ports(void **state)
{
	(void)state;
	assert_string_equal(url_why("https://h.example:0", NULL), "port");
	assert_string_equal(url_why("https://h.example:65536", NULL), "port");
	assert_string_equal(url_why("https://h.example:", NULL), "port");
	assert_string_equal(url_why("https://h.example:/x", NULL), "port");
	assert_string_equal(url_why("https://h.example:-1", NULL), "port");
	assert_string_equal(url_why("https://h.example:+443", NULL), "port");
	assert_string_equal(url_why("https://h.example:443x", NULL), "port");
	assert_string_equal(url_why("https://h.example:1:2", NULL), "port");
	assert_string_equal(url_why("https://[::1]:", NULL), "port");
	assert_string_equal(url_why("https://[::1]:99999", NULL), "port");
	assert_url("https://h.example:65535", NULL, "https://h.example:65535",
	    "h.example", 1, 65535);
	assert_url("https://h.example:1", NULL, "https://h.example:1",
	    "h.example", 1, 1);
}

static void
test_server_url_whitespace_and_control(void **state)
{
	(void)state;
	assert_string_equal(url_why(" https://h.example", NULL), "syntax");
	assert_string_equal(url_why("https://h.example ", NULL), "syntax");
	assert_string_equal(url_why("https://h.exa\tmple", NULL), "syntax");
	assert_string_equal(url_why("https://h.example/\r\nX: y", NULL),
	    "syntax");
	assert_string_equal(url_why("https://h.example/\x7f", NULL), "syntax");
	assert_string_equal(url_why("", NULL), "syntax");
	assert_string_equal(url_why(NULL, NULL), "syntax");
}

static void
test_server_url_base_longer_than_location_max(void **state)
{
	char	*s;
	size_t	 len = LOCATION_MAX + 1;

	(void)state;
	s = malloc(len + 1);
	memset(s, 'p', len);
	memcpy(s, "https://h.example/", 18);
	s[len] = '\0';
	assert_string_equal(url_why(s, NULL), "syntax");
	s[LOCATION_MAX] = '\0';
	assert_string_equal(url_why(s, NULL), "ok");
	free(s);
}

static void
test_server_url_loop_public_names(void **state)
{
	struct strlist		names;
	struct url_policy	pol = { NULL, &names, 0 };

	(void)state;
	assert_int_equal(strlist_split(
	    "Upload.Example.com, edge.example.com:8307 [2001:db8::80] 192.0.2.1"
	    " 2001:db8::81", &names), 0);
	assert_string_equal(url_why("https://upload.example.com", &pol),
	    "loop");
	assert_string_equal(url_why("https://UPLOAD.example.com:8443/x", &pol),
	    "loop");
	assert_string_equal(url_why("https://edge.example.com", &pol), "loop");
	assert_string_equal(url_why("https://edge.example.com:9000", &pol),
	    "loop");
	assert_string_equal(url_why("https://[2001:db8:0::80]:443", &pol),
	    "loop");
	assert_string_equal(url_why("https://192.0.2.1", &pol), "loop");
	/* An unbracketed IPv6 public name has no port to strip. */
	assert_string_equal(url_why("https://[2001:db8::81]", &pol), "loop");
	assert_string_equal(url_why("https://[::ffff:192.0.2.1]", &pol),
	    "loop");
	/* Neighbours are not us. */
	assert_string_equal(url_why("https://eu.upload.example.com", &pol),
	    "ok");
	assert_string_equal(url_why("https://upload.example.co", &pol), "ok");
	assert_string_equal(url_why("https://192.0.2.11", &pol), "ok");
	strlist_free(&names);
}

static void
test_server_url_allowed_hosts(void **state)
{
	struct host_patterns	hp;
	struct strlist		names;
	struct url_policy	pol = { &hp, NULL, 0 };

	(void)state;
	assert_int_equal(url_host_patterns_parse(
	    "*.upload.example.com, cdn.example.net 10.0.0.0/8", &hp), 0);
	assert_string_equal(url_why("https://eu-1.upload.example.com", &pol),
	    "ok");
	assert_string_equal(url_why("https://upload.example.com", &pol),
	    "not_allowed");
	assert_string_equal(url_why("https://evil.example.org", &pol),
	    "not_allowed");
	assert_string_equal(url_why("https://CDN.example.net:444/x", &pol),
	    "ok");
	assert_string_equal(url_why("https://10.20.30.40:8443", &pol), "ok");
	assert_string_equal(url_why("https://11.0.0.1", &pol),
	    "not_allowed");
	assert_string_equal(url_why("https://[::ffff:10.1.1.1]", &pol), "ok");
	assert_string_equal(url_why("https://[2001:db8::1]", &pol),
	    "not_allowed");
	/* A public name inside the allowed set is still a loop. */
	assert_int_equal(strlist_split("eu-1.upload.example.com", &names), 0);
	pol.public_names = &names;
	assert_string_equal(url_why("https://eu-1.upload.example.com", &pol),
	    "loop");
	assert_string_equal(url_why("https://us-1.upload.example.com", &pol),
	    "ok");
	strlist_free(&names);
	url_host_patterns_free(&hp);
}

static void
test_server_url_why_may_be_null(void **state)
{
	struct server_url	u;

	(void)state;
	assert_int_equal(url_server_parse("ftp://x", NULL, &u, NULL), -1);
	assert_int_equal(url_server_parse("https://x.example", NULL, &u, NULL),
	    0);
	url_server_free(&u);
	url_server_free(&u);
}

/* ---- allowed_hosts patterns ------------------------------------- */

static void
test_host_patterns_parse_kinds(void **state)
{
	struct host_patterns	hp;

	(void)state;
	assert_int_equal(url_host_patterns_parse(
	    "A.Example, *.Up.Example.com 192.0.2.0/24,2001:db8::/32 ::1",
	    &hp), 0);
	assert_int_equal(hp.names.n, 1);
	assert_string_equal(hp.names.v[0], "a.example");
	assert_int_equal(hp.suffixes.n, 1);
	assert_string_equal(hp.suffixes.v[0], ".up.example.com");
	assert_int_equal(hp.cidrs.n, 3);
	assert_int_equal(hp.cidrs.v[2].prefix, 128);
	url_host_patterns_free(&hp);
	assert_int_equal(hp.names.n, 0);
	assert_int_equal(hp.cidrs.n, 0);
}

static void
test_host_patterns_parse_rejects(void **state)
{
	static const char *bad[] = {
		"*", "*.", "*example.com", "a.*.example.com", "**.example.com",
		"h_x.example", "10.0.0.0/33", "1.2.3", "[::1]", "-a.example",
		"a.example, *.", "good.example bad_one",
	};
	struct host_patterns	hp;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (url_host_patterns_parse(bad[i], &hp) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		/* Left empty: nothing to free, nothing matches. */
		assert_int_equal(hp.names.n + hp.suffixes.n + hp.cidrs.n, 0);
	}
	assert_int_equal(url_host_patterns_parse("", &hp), 0);
	assert_false(url_host_patterns_match(&hp, "a.example"));
	url_host_patterns_free(&hp);
}

static void
test_host_patterns_match_suffix_not_apex(void **state)
{
	struct host_patterns	hp;

	(void)state;
	assert_int_equal(url_host_patterns_parse("*.example.com", &hp), 0);
	assert_true(url_host_patterns_match(&hp, "a.example.com"));
	assert_true(url_host_patterns_match(&hp, "a.b.example.com"));
	assert_true(url_host_patterns_match(&hp, "A.Example.COM"));
	assert_false(url_host_patterns_match(&hp, "example.com"));
	assert_false(url_host_patterns_match(&hp, ".example.com"));
	assert_false(url_host_patterns_match(&hp, "aexample.com"));
	assert_false(url_host_patterns_match(&hp, "example.com.evil"));
	assert_false(url_host_patterns_match(&hp, ""));
	assert_false(url_host_patterns_match(&hp, NULL));
	assert_false(url_host_patterns_match(NULL, "a.example.com"));
	url_host_patterns_free(&hp);
}

static void
test_host_patterns_match_exact_and_cidr(void **state)
{
	struct host_patterns	hp;

	(void)state;
	assert_int_equal(url_host_patterns_parse(
	    "upload.example.com 10.0.0.0/8 2001:db8::/32", &hp), 0);
	assert_true(url_host_patterns_match(&hp, "upload.example.com"));
	assert_true(url_host_patterns_match(&hp, "UPLOAD.example.com"));
	assert_false(url_host_patterns_match(&hp, "a.upload.example.com"));
	assert_false(url_host_patterns_match(&hp, "upload.example.co"));
	assert_true(url_host_patterns_match(&hp, "10.255.255.255"));
	assert_false(url_host_patterns_match(&hp, "11.0.0.0"));
	assert_true(url_host_patterns_match(&hp, "2001:db8:1::1"));
	assert_false(url_host_patterns_match(&hp, "2001:db9::1"));
	assert_true(url_host_patterns_match(&hp, "::ffff:10.0.0.1"));
	url_host_patterns_free(&hp);
}

static void
test_host_and_origin(void **state)
{
	static const char *const hosts[] = { "upload.example.com",
	    "up.example.com:8443", "10.0.0.1", "[::1]:8443" };
	static const char *const bad_hosts[] = { "", "up.example.com/x",
	    "u@up.example.com", "up.example.com?x", "up.example.com:99999",
	    "up..example.com", "up example.com" };
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		assert_true(url_host_valid(hosts[i]));
	for (i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++)
		assert_false(url_host_valid(bad_hosts[i]));
	assert_true(url_origin_valid("*"));
	assert_true(url_origin_valid("https://app.example.com"));
	assert_true(url_origin_valid("http://localhost:3000"));
	assert_false(url_origin_valid("https://app.example.com/"));
	assert_false(url_origin_valid("ftp://app.example.com"));
	assert_false(url_origin_valid("app.example.com"));
	assert_false(url_origin_valid("https://"));
}

static void
test_why_text(void **state)
{
	static const char *const whys[] = { "scheme", "host", "userinfo",
	    "query", "fragment", "port", "not_allowed", "loop", "syntax" };
	size_t	i;

	(void)state;
	/* Every reason the parser gives has words of its own. */
	for (i = 0; i < sizeof(whys) / sizeof(whys[0]); i++)
		assert_string_not_equal(url_why_text(whys[i]), whys[i]);
	assert_non_null(strstr(url_why_text("loop"), "public_names"));
	assert_string_equal(url_why_text("new_reason"), "new_reason");
	assert_string_equal(url_why_text(NULL), "not a URL");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_spec_examples_accepted),
		cmocka_unit_test(test_target_must_start_with_slash),
		cmocka_unit_test(test_target_null_and_empty),
		cmocka_unit_test(test_target_rejects_bad_bytes),
		cmocka_unit_test(test_target_length_4096_vs_4097),
		cmocka_unit_test(test_target_overlong_is_414_even_with_bad_bytes),
		cmocka_unit_test(test_location_byte_for_byte),
		cmocka_unit_test(test_location_8k_bound),
		cmocka_unit_test(test_location_small_buffer),
		cmocka_unit_test(test_server_url_basic_forms),
		cmocka_unit_test(test_server_url_lowercases_scheme_and_host_not_path),
		cmocka_unit_test(test_server_url_trailing_slash_removed),
		cmocka_unit_test(test_server_url_path_bytes),
		cmocka_unit_test(test_server_url_scheme),
		cmocka_unit_test(test_server_url_userinfo_query_fragment),
		cmocka_unit_test(test_server_url_bad_hosts),
		cmocka_unit_test(test_server_url_ports),
		cmocka_unit_test(test_server_url_whitespace_and_control),
		cmocka_unit_test(test_server_url_base_longer_than_location_max),
		cmocka_unit_test(test_server_url_loop_public_names),
		cmocka_unit_test(test_server_url_allowed_hosts),
		cmocka_unit_test(test_server_url_why_may_be_null),
		cmocka_unit_test(test_host_patterns_parse_kinds),
		cmocka_unit_test(test_host_patterns_parse_rejects),
		cmocka_unit_test(test_host_patterns_match_suffix_not_apex),
		cmocka_unit_test(test_host_patterns_match_exact_and_cidr),
		cmocka_unit_test(test_host_and_origin),
		cmocka_unit_test(test_why_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
