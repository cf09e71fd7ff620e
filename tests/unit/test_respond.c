/*
 * respond(): the whole answer to a request, decided from a request view,
 * against a real config file and the project's GeoIP fixture database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "respond.h"

#include "../fake_input.h"

static char	tmpdir[] = "/tmp/g307-respond-XXXXXX";

static const char *
fixture_db(void)
{
	static char	path[1024];
	const char	*d = getenv("GEO307_FIXTURES");

	snprintf(path, sizeof(path), "%s/test-city.mmdb", d ? d :
	    "tests/fixtures");
	return path;
}

static struct runtime *
load(const char *extra, const char *servers)
{
	struct runtime	*rt;
	const char	*what;
	char		 path[1100], err[1024];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[geoip]\ndatabase = %s\n"
	    "[trust]\nproxies = 127.0.0.1/32\n"
	    "[redirect]\nretry_after = 30\n"
	    "[region eu]\nlocation = 53.35, -6.26\ncountries = GB IE\n"
	    "continents = EU AF\nfallback = us\n"
	    "[region us]\nlocation = 38.9, -77.0\ncontinents = NA SA\n"
	    "default = yes\n"
	    "[region ap]\nlocation = 1.35, 103.8\ncontinents = AS OC\n"
	    "%s\n%s\n", fixture_db(), extra, servers ? servers :
	    "[server eu-1]\nurl = https://eu-1.up.example.net/u\nregion = eu\n"
	    "[server us-1]\nurl = https://us-1.up.example.net\nregion = us\n"
	    "[server ap-1]\nurl = https://ap-1.up.example.net\nregion = ap\n");
	fclose(f);
	rt = runtime_load(path, err, sizeof(err), &what);
	if (rt == NULL)
		fail_msg("runtime_load: %s", err);
	return rt;
}

static void
view(struct request_view *rv, struct fake_req *fr, const char *method,
    const char *peer, const char *target)
{
	memset(rv, 0, sizeof(*rv));
	rv->method = method;
	rv->target = target;
	rv->targetlen = target ? strlen(target) : 0;
	assert_int_equal(netaddr_parse(peer, &rv->peer), 0);
	rv->header = fake_header;
	rv->ctx = fr;
	rv->header_bytes = 100;
	rv->now = 1000;
}

static const char *
hdr(const struct answer *a, const char *name)
{
	size_t	i;

	for (i = 0; i < a->nheaders; i++)
		if (strcasecmp(a->headers[i].name, name) == 0)
			return a->headers[i].value;
	return NULL;
}

static void
run(const struct runtime *rt, struct request_view *rv, int early,
    struct answer *a)
{
	struct rng	rng;

	rng_seed(&rng, 7);
	respond(rt, rv, early, &rng, a);
	/* Every answer, whatever it is, carries these two. */
	assert_string_equal(hdr(a, "Cache-Control"), "no-store");
	assert_int_equal(strlen(hdr(a, "X-Request-Id")), REQUEST_ID_LEN);
}

static void
test_redirect_default(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &fr, "POST", "127.0.0.1", "/upload?x=1");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_string_equal(hdr(&a, "Location"),
	    "https://us-1.up.example.net/upload?x=1");
	assert_string_equal(hdr(&a, "X-Upload-Server"), "us-1");
	assert_string_equal(hdr(&a, "X-Redirect-Reason"), "default");
	assert_string_equal(a.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(a.body,
	    "href=\"https://us-1.up.example.net/upload?x=1\""));
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_redirect_geo_trusted_xff(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { { "X-Forwarded-For" },
				    { "10.9.9.9, 81.2.69.142" }, 1 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &fr, "PUT", "127.0.0.1", "/a//b/../c?q=%2F+x");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_string_equal(hdr(&a, "Location"),
	    "https://eu-1.up.example.net/u/a//b/../c?q=%2F+x");
	assert_string_equal(hdr(&a, "X-Redirect-Reason"), "geo");
	assert_int_equal(a.cip, CLIENTIP_HEADER);
	respond_answer_free(&a);
	/* The same header from an untrusted peer is ignored. */
	view(&rv, &fr, "PUT", "192.0.2.1", "/x");
	run(rt, &rv, 0, &a);
	assert_string_equal(hdr(&a, "X-Upload-Server"), "us-1");
	assert_int_equal(a.cip, CLIENTIP_PEER);
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_bad_targets(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;
	static char		 longt[TARGET_MAX + 2];
	const char		*bad[] = { "http://evil/x", "*", "@evil/x",
				    "/a\tb", "/a#b", "/\x7f", "/\x80" };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		view(&rv, &fr, "GET", "127.0.0.1", bad[i]);
		run(rt, &rv, 0, &a);
		assert_int_equal(a.status, 400);
		assert_null(hdr(&a, "Location"));
		respond_answer_free(&a);
	}
	view(&rv, &fr, "GET", "127.0.0.1", NULL);
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 400);
	respond_answer_free(&a);
	memset(longt, 'a', TARGET_MAX + 1);
	longt[0] = '/';
	view(&rv, &fr, "GET", "127.0.0.1", longt);
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 414);
	respond_answer_free(&a);
	longt[TARGET_MAX] = '\0';	/* exactly 4096: fine */
	view(&rv, &fr, "GET", "127.0.0.1", longt);
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_location_too_long(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;
	struct fleet		*f = (struct fleet *)runtime_fleet(rt);
	struct fleet_server	*s;
	static char		 target[4097];
	size_t			 i;

	(void)state;
	/*
	 * A base path this long cannot be written in the config (libinih
	 * lines are short) but can come from Redis: give one by hand.
	 */
	for (i = 0; i < f->nservers; i++) {
		s = &f->servers[i];
		free(s->base);
		s->base = malloc(4400);
		memset(s->base, 'p', 4399);
		memcpy(s->base, "https://x.example/", 18);
		s->base[4399] = '\0';
		s->baselen = 4399;
	}
	memset(target, 'b', 4096);
	target[0] = '/';
	view(&rv, &fr, "GET", "127.0.0.1", target);
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 414);
	assert_null(hdr(&a, "Location"));
	respond_answer_free(&a);
	target[8192 - 4399] = '\0';		/* exactly 8192 bytes: fine */
	view(&rv, &fr, "GET", "127.0.0.1", target);
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_int_equal(strlen(hdr(&a, "Location")), 8192);
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_early_errors_close(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;
	int			 v;

	(void)state;
	view(&rv, &fr, "POST", "127.0.0.1", "/u");
	run(rt, &rv, 417, &a);
	assert_int_equal(a.status, 417);
	assert_true(a.close);
	respond_answer_free(&a);
	/*
	 * max_header_bytes bounds the fields: "POST /u HTTP/1.1\r\n" (18)
	 * and the final CRLF (2) do not count.
	 */
	rv.header_bytes = 16 * 1024 + 18 + 2 + 1;
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 431);
	respond_answer_free(&a);
	rv.header_bytes = 16 * 1024 + 18 + 2;
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	respond_answer_free(&a);
	/* At most 16K / HEADER_LINE_BYTES field lines (64). */
	assert_int_equal(respond_header_lines_max(16 * 1024), 64);
	assert_int_equal(respond_header_lines_max(2 * 1024), 64);
	assert_int_equal(respond_header_lines_max(64 * 1024), 256);
	rv.header_bytes = 100;
	rv.header_lines = respond_header_lines_max(16 * 1024);
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	respond_answer_free(&a);
	rv.header_lines++;
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 431);
	assert_true(a.close);
	respond_answer_free(&a);
	rv.header_lines = 0;
	rv.over_limit = 1;
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 503);
	assert_true(a.close);
	v = atoi(hdr(&a, "Retry-After"));
	assert_in_range(v, 15, 45);
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_retry_after_jitter_spread(void **state)
{
	struct runtime		*rt;
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;
	struct rng		 rng;
	int			 i, v, lo = 1000, hi = 0;

	(void)state;
	rt = load("", "[server us-1]\nurl = https://us-1.up.example.net\n"
	    "region = us\nweight = 0\n");
	rng_seed(&rng, 3);
	view(&rv, &fr, "GET", "127.0.0.1", "/u");
	for (i = 0; i < 500; i++) {
		respond(rt, &rv, 0, &rng, &a);
		assert_int_equal(a.status, 503);
		v = atoi(hdr(&a, "Retry-After"));
		assert_in_range(v, 15, 45);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		respond_answer_free(&a);
	}
	/* Jittered, not constant: both ends of the range get reached. */
	assert_true(lo <= 17 && hi >= 43);
	runtime_free(rt);
}

/*
 * Uniform over the whole seconds of [N/2, 3N/2]: with N = 30, each of
 * 15..45 comes up about 1/31 of the time, the two ends included (a
 * rounded continuous draw gives them half as often).
 */
static void
test_retry_after_uniform(void **state)
{
	struct runtime		*rt;
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;
	struct rng		 rng;
	int			 i, v, seen[46] = { 0 };
	const int		 n = 31000;

	(void)state;
	rt = load("", "[server us-1]\nurl = https://us-1.up.example.net\n"
	    "region = us\nweight = 0\n");
	rng_seed(&rng, 11);
	view(&rv, &fr, "GET", "127.0.0.1", "/u");
	for (i = 0; i < n; i++) {
		respond(rt, &rv, 0, &rng, &a);
		v = atoi(hdr(&a, "Retry-After"));
		assert_in_range(v, 15, 45);
		seen[v]++;
		respond_answer_free(&a);
	}
	/* Expected 1000 each; sd ~31, so +-170 is far outside chance. */
	for (v = 15; v <= 45; v++)
		if (seen[v] < 830 || seen[v] > 1170)
			fail_msg("Retry-After %d came %d times of %d", v,
			    seen[v], n);
	runtime_free(rt);
}

static void
test_lookup_json(void **state)
{
	struct runtime		*rt = load("[lookup]\nprefix = /.geo307/lookup\n",
				    NULL);
	struct fake_req		 fr = { { "X-Forwarded-For" },
				    { "2001:218::1" }, 1 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &fr, "GET", "127.0.0.1", "/.geo307/lookup/upload?x=1");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.content_type, "application/json");
	assert_null(hdr(&a, "Location"));
	assert_non_null(strstr(a.body, "\"location\":\"https://ap-1.up."
	    "example.net/upload?x=1\""));
	assert_non_null(strstr(a.body, "\"server\":\"ap-1\""));
	assert_non_null(strstr(a.body, "\"region\":\"ap\""));
	assert_non_null(strstr(a.body, "\"reason\":\"geo\""));
	respond_answer_free(&a);
	/* POST under the prefix is an ordinary redirect. */
	view(&rv, &fr, "POST", "127.0.0.1", "/.geo307/lookup/upload");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_string_equal(hdr(&a, "Location"),
	    "https://ap-1.up.example.net/.geo307/lookup/upload");
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_cors(void **state)
{
	struct runtime		*rt = load("[cors]\nallow_origins = "
				    "https://app.example.com\nmax_age = 77\n",
				    NULL);
	struct fake_req		 pre = { { "Origin",
				    "Access-Control-Request-Method" },
				    { "https://app.example.com", "POST" }, 2 };
	struct fake_req		 other = { { "Origin",
				    "Access-Control-Request-Method" },
				    { "https://evil.example", "POST" }, 2 };
	struct fake_req		 plain = { { "Origin" },
				    { "https://app.example.com" }, 1 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &pre, "OPTIONS", "127.0.0.1", "/upload");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 204);
	assert_string_equal(hdr(&a, "Access-Control-Allow-Origin"),
	    "https://app.example.com");
	assert_string_equal(hdr(&a, "Access-Control-Max-Age"), "77");
	assert_non_null(hdr(&a, "Access-Control-Allow-Methods"));
	assert_string_equal(hdr(&a, "Vary"), "Origin");
	respond_answer_free(&a);
	view(&rv, &other, "OPTIONS", "127.0.0.1", "/upload");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 204);
	assert_null(hdr(&a, "Access-Control-Allow-Origin"));
	respond_answer_free(&a);
	view(&rv, &plain, "POST", "127.0.0.1", "/upload");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_string_equal(hdr(&a, "Access-Control-Expose-Headers"),
	    "X-Upload-Server, X-Redirect-Reason, X-Request-Id");
	respond_answer_free(&a);
	runtime_free(rt);
}

/* Every answer to an allowed origin, errors too, carries CORS headers. */
static void
expect_cors(const struct answer *a, int status)
{
	assert_int_equal(a->status, status);
	assert_string_equal(hdr(a, "Access-Control-Allow-Origin"),
	    "https://app.example.com");
	assert_string_equal(hdr(a, "Vary"), "Origin");
	assert_string_equal(hdr(a, "Access-Control-Expose-Headers"),
	    "X-Upload-Server, X-Redirect-Reason, X-Request-Id");
	assert_null(hdr(a, "Access-Control-Allow-Methods"));
	assert_string_equal(hdr(a, "Cache-Control"), "no-store");
}

/*
 * Found reading respond() while fuzzing it: the preflight's
 * Access-Control-Request-Method was fetched into the Origin's own buffer
 * at offset 300, and the echo kept 255 bytes, so a long Origin (with
 * allow_origins = *) came back cut or overwritten.  One longer than the
 * buffer is no Origin at all (never echoed as the overflow marker).
 */
static void
test_cors_long_origin(void **state)
{
	struct runtime		*rt = load("[cors]\nallow_origins = *\n", NULL);
	static char		 origin[420], huge[700];
	struct fake_req		 pre = { { "Origin",
				    "Access-Control-Request-Method" },
				    { origin, "POST" }, 2 };
	struct fake_req		 big = { { "Origin" }, { huge }, 1 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	memset(origin, 'a', sizeof(origin) - 1);
	memcpy(origin, "https://", 8);
	memset(huge, 'b', sizeof(huge) - 1);
	memcpy(huge, "https://", 8);
	view(&rv, &pre, "OPTIONS", "127.0.0.1", "/u");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 204);
	assert_string_equal(hdr(&a, "Access-Control-Allow-Origin"), origin);
	respond_answer_free(&a);
	view(&rv, &big, "POST", "127.0.0.1", "/u");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_null(hdr(&a, "Access-Control-Allow-Origin"));
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_cors_errors(void **state)
{
	struct runtime		*rt = load("[cors]\nallow_origins = "
				    "https://app.example.com\n", NULL);
	struct runtime		*none = load("[cors]\nallow_origins = "
				    "https://app.example.com\n",
				    "[server us-1]\nurl = https://us-1.up."
				    "example.net\nregion = us\nweight = 0\n");
	struct fake_req		 plain = { { "Origin" },
				    { "https://app.example.com" }, 1 };
	struct fake_req		 pre = { { "Origin",
				    "Access-Control-Request-Method" },
				    { "https://app.example.com", "POST" }, 2 };
	struct fake_req		 evil = { { "Origin" },
				    { "https://evil.example" }, 1 };
	struct request_view	 rv;
	struct answer		 a;
	char			 longt[TARGET_MAX + 2];

	(void)state;
	view(&rv, &plain, "POST", "127.0.0.1", "/a#b");
	run(rt, &rv, 0, &a);
	expect_cors(&a, 400);
	respond_answer_free(&a);
	view(&rv, &plain, "POST", "127.0.0.1", "/u");
	run(rt, &rv, 417, &a);
	expect_cors(&a, 417);
	respond_answer_free(&a);
	memset(longt, 'a', sizeof(longt) - 1);
	longt[0] = '/';
	longt[sizeof(longt) - 1] = '\0';
	view(&rv, &plain, "GET", "127.0.0.1", longt);
	run(rt, &rv, 0, &a);
	expect_cors(&a, 414);
	respond_answer_free(&a);
	view(&rv, &plain, "GET", "127.0.0.1", "/u");
	rv.header_bytes = 64 * 1024;
	run(rt, &rv, 0, &a);
	expect_cors(&a, 431);
	respond_answer_free(&a);
	view(&rv, &plain, "GET", "127.0.0.1", "/u");
	rv.over_limit = 1;
	run(rt, &rv, 0, &a);
	expect_cors(&a, 503);
	assert_non_null(hdr(&a, "Retry-After"));
	respond_answer_free(&a);
	view(&rv, &plain, "GET", "127.0.0.1", "/u");
	run(none, &rv, 0, &a);
	expect_cors(&a, 503);
	respond_answer_free(&a);
	/* A preflight with a bad target is an error, not a preflight. */
	view(&rv, &pre, "OPTIONS", "127.0.0.1", "/a b");
	run(rt, &rv, 0, &a);
	expect_cors(&a, 400);
	respond_answer_free(&a);
	/* Another origin's errors: no CORS headers at all. */
	view(&rv, &evil, "POST", "127.0.0.1", "/a#b");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 400);
	assert_null(hdr(&a, "Access-Control-Allow-Origin"));
	assert_null(hdr(&a, "Access-Control-Expose-Headers"));
	assert_null(hdr(&a, "Vary"));
	respond_answer_free(&a);
	runtime_free(rt);
	runtime_free(none);
}

/*
 * A proxy chain longer than a small buffer is still walked: the header is
 * within max_header_bytes, and that much is what respond() makes room for.
 */
static void
test_long_trusted_chain(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { { "X-Forwarded-For" }, { NULL }, 1 };
	struct request_view	 rv;
	struct answer		 a;
	char			*chain, *p;
	int			 i;

	(void)state;
	/* The client (GB -> eu), then 600 trusted hops: ~7 KB. */
	assert_non_null(chain = malloc(16 * 1024));
	p = chain + sprintf(chain, "81.2.69.142");
	for (i = 0; i < 600; i++)
		p += sprintf(p, ", 127.0.0.1");
	assert_true(p - chain > 4096);
	fr.values[0] = chain;
	view(&rv, &fr, "GET", "127.0.0.1", "/u");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_string_equal(a.client, "81.2.69.142");
	assert_string_equal(hdr(&a, "X-Upload-Server"), "eu-1");
	respond_answer_free(&a);
	free(chain);
	runtime_free(rt);
}

static void
test_health_path(void **state)
{
	struct runtime		*rt = load("[listen]\nhealth_path = /healthz\n",
				    NULL);
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &fr, "GET", "127.0.0.1", "/healthz");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 200);
	respond_answer_free(&a);
	rv.draining = 1;
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 503);
	assert_string_equal(a.body, "draining\n");
	respond_answer_free(&a);
	view(&rv, &fr, "GET", "127.0.0.1", "/healthzz");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_synthetic(void **state)
{
	struct runtime		*rt = load("[synthetic]\ntokens = s3cret other\n",
				    NULL);
	struct fake_req		 region = { { "X-Synthetic-Token",
				    "X-Synthetic-Region" }, { "s3cret", "ap" },
				    2 };
	struct fake_req		 ip = { { "X-Synthetic-Token",
				    "X-Synthetic-Client-IP" },
				    { "other", "81.2.69.142" }, 2 };
	struct fake_req		 wrong = { { "X-Synthetic-Token",
				    "X-Synthetic-Region" }, { "s3cre", "ap" },
				    2 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &region, "POST", "192.0.2.7", "/u");
	run(rt, &rv, 0, &a);
	assert_string_equal(hdr(&a, "X-Upload-Server"), "ap-1");
	assert_string_equal(hdr(&a, "X-Redirect-Reason"), "synthetic");
	assert_true(a.synthetic);
	respond_answer_free(&a);
	view(&rv, &ip, "POST", "192.0.2.7", "/u");
	run(rt, &rv, 0, &a);
	assert_string_equal(hdr(&a, "X-Upload-Server"), "eu-1");
	assert_string_equal(hdr(&a, "X-Redirect-Reason"), "geo");
	respond_answer_free(&a);
	view(&rv, &wrong, "POST", "192.0.2.7", "/u");
	run(rt, &rv, 0, &a);
	assert_string_equal(hdr(&a, "X-Upload-Server"), "us-1");
	assert_false(a.synthetic);
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_request_id_from_trusted_proxy(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { { "X-Request-Id" }, { "abc-123" }, 1 };
	struct fake_req		 bad = { { "X-Request-Id" }, { "a b" }, 1 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &fr, "GET", "127.0.0.1", "/u");
	respond(rt, &rv, 0, &(struct rng){ { 1, 2, 3, 4 } }, &a);
	assert_string_equal(hdr(&a, "X-Request-Id"), "abc-123");
	respond_answer_free(&a);
	view(&rv, &fr, "GET", "192.0.2.1", "/u");
	run(rt, &rv, 0, &a);
	assert_string_not_equal(hdr(&a, "X-Request-Id"), "abc-123");
	respond_answer_free(&a);
	view(&rv, &bad, "GET", "127.0.0.1", "/u");
	run(rt, &rv, 0, &a);
	assert_string_not_equal(hdr(&a, "X-Request-Id"), "a b");
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_html_body_escaped(void **state)
{
	struct runtime		*rt = load("", NULL);
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;

	(void)state;
	view(&rv, &fr, "GET", "127.0.0.1", "/<script>\"'&");
	run(rt, &rv, 0, &a);
	assert_int_equal(a.status, 307);
	assert_string_equal(hdr(&a, "Location"),
	    "https://us-1.up.example.net/<script>\"'&");
	assert_null(strstr(a.body, "<script>"));
	assert_non_null(strstr(a.body, "&lt;script&gt;&quot;"));
	respond_answer_free(&a);
	runtime_free(rt);
}

static void
test_token_matches(void **state)
{
	struct strlist	t = { 0 };

	(void)state;
	strlist_split("alpha beta", &t);
	assert_true(respond_token_matches(&t, "alpha"));
	assert_true(respond_token_matches(&t, "beta"));
	assert_false(respond_token_matches(&t, "alph"));
	assert_false(respond_token_matches(&t, "alphaa"));
	assert_false(respond_token_matches(&t, ""));
	assert_false(respond_token_matches(&t, NULL));
	strlist_free(&t);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char	path[1100];

	(void)state;
	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_default),
		cmocka_unit_test(test_redirect_geo_trusted_xff),
		cmocka_unit_test(test_bad_targets),
		cmocka_unit_test(test_location_too_long),
		cmocka_unit_test(test_early_errors_close),
		cmocka_unit_test(test_retry_after_jitter_spread),
		cmocka_unit_test(test_lookup_json),
		cmocka_unit_test(test_cors),
		cmocka_unit_test(test_cors_errors),
		cmocka_unit_test(test_cors_long_origin),
		cmocka_unit_test(test_long_trusted_chain),
		cmocka_unit_test(test_retry_after_uniform),
		cmocka_unit_test(test_health_path),
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_request_id_from_trusted_proxy),
		cmocka_unit_test(test_html_body_escaped),
		cmocka_unit_test(test_token_matches),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
