/*
 * Deterministic mutation test of the input parsers: seed inputs are
 * mutated (byte flips, inserts of syntax bytes, deletions, duplications,
 * splices) with a fixed PRNG seed for a bounded number of rounds and fed
 * to each parser.  Nothing is asserted about the answers beyond what the
 * API promises (a result or a clean error); the point is that bad input
 * never crashes, hangs or trips ASan/UBSan/LSan in the sanitizer build.
 * The coverage-guided harnesses in tests/fuzz/ go much further; this one
 * keeps `make check` exercising bad input.  GEO307_MUTATE_ROUNDS scales
 * the rounds (default 1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clientip.h"
#include "config.h"
#include "escape.h"
#include "fleet_rec.h"
#include "netaddr.h"
#include "fleet_raw.h"
#include "redis_conn.h"
#include "respond.h"
#include "rng.h"
#include "url.h"

#include "../fake_input.h"
#include "../fuzz/fuzz_runtime.h"

#define LEN(a)		(sizeof(a) / sizeof((a)[0]))
#define MUT_MAX		2048

static char		 tmpdir[] = "/tmp/g307-mutate-XXXXXX";
static struct runtime	*rt;
static unsigned		 scale = 1;

/* ---- the mutator */

struct mut {
	struct rng	 rng;
	const char	*const *seeds;
	size_t		 nseeds;
	uint8_t		 buf[MUT_MAX];
	size_t		 len;
};

static uint64_t
pick(struct mut *m, uint64_t n)
{
	return n ? rng_next(&m->rng) % n : 0;
}

static uint8_t
syntax_byte(struct mut *m)
{
	static const char	interesting[] = ",;=\"[]:/%@?#\\ \t\n.*-_0123"
				    "456789fF";
	static const uint8_t	raw[] = { 0x00, 0x7f, 0x80, 0xff, 0x01 };
	uint64_t		r = pick(m, 10);

	if (r < 7)
		return (uint8_t)interesting[pick(m, sizeof(interesting) - 1)];
	if (r < 8)
		return raw[pick(m, LEN(raw))];
	return (uint8_t)pick(m, 256);
}

static void
mutate_once(struct mut *m)
{
	const char	*s;
	size_t		 at, n, i, slen;

	at = pick(m, m->len + 1);
	switch (pick(m, 7)) {
	case 0:		/* flip a byte */
		if (m->len > 0)
			m->buf[pick(m, m->len)] ^= (uint8_t)(1 << pick(m, 8));
		break;
	case 1:		/* replace a byte */
		if (m->len > 0)
			m->buf[pick(m, m->len)] = syntax_byte(m);
		break;
	case 2:		/* insert a few bytes */
		n = 1 + pick(m, 4);
		if (m->len + n > MUT_MAX)
			break;
		memmove(m->buf + at + n, m->buf + at, m->len - at);
		for (i = 0; i < n; i++)
			m->buf[at + i] = syntax_byte(m);
		m->len += n;
		break;
	case 3:		/* delete a range */
		n = pick(m, m->len - at + 1);
		memmove(m->buf + at, m->buf + at + n, m->len - at - n);
		m->len -= n;
		break;
	case 4:		/* duplicate a range (long values, repeated items) */
		n = pick(m, m->len - at + 1);
		for (i = 0; i < 1 + pick(m, 8) && m->len + n <= MUT_MAX; i++) {
			memmove(m->buf + at + n, m->buf + at, m->len - at);
			m->len += n;
		}
		break;
	case 5:		/* splice in a piece of another seed */
		s = m->seeds[pick(m, m->nseeds)];
		slen = strlen(s);
		i = pick(m, slen + 1);
		n = pick(m, slen - i + 1);
		if (m->len + n > MUT_MAX)
			break;
		memmove(m->buf + at + n, m->buf + at, m->len - at);
		memcpy(m->buf + at, s + i, n);
		m->len += n;
		break;
	case 6:		/* truncate */
		m->len = at;
		break;
	}
}

/* The next input: a seed with 1..8 mutations. */
static void
next_input(struct mut *m)
{
	const char	*s = m->seeds[pick(m, m->nseeds)];
	uint64_t	 i, n = 1 + pick(m, 8);

	m->len = strlen(s);
	if (m->len > MUT_MAX)
		m->len = MUT_MAX;
	memcpy(m->buf, s, m->len);
	for (i = 0; i < n; i++)
		mutate_once(m);
}

static void
mut_init(struct mut *m, uint64_t seed, const char *const *seeds, size_t n)
{
	rng_seed(&m->rng, seed);
	m->seeds = seeds;
	m->nseeds = n;
	m->len = 0;
}

/* A NUL-terminated heap copy of exactly len + 1 bytes (ASan sees overreads). */
static char *
cstr(const struct mut *m)
{
	char	*s = malloc(m->len + 1);

	assert_non_null(s);
	memcpy(s, m->buf, m->len);
	s[m->len] = '\0';
	return s;
}

/* An exact-size heap copy, not terminated. */
static char *
bytes(const struct mut *m)
{
	char	*s = malloc(m->len ? m->len : 1);

	assert_non_null(s);
	memcpy(s, m->buf, m->len);
	return s;
}

static const char *
write_file(const char *name, const struct mut *m)
{
	static char	path[1100];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(m->buf, 1, m->len, f), m->len);
	fclose(f);
	return path;
}

/* ---- targets */

static void
test_target_and_location(void **state)
{
	static const char *const seeds[] = { "/upload?x=1", "/a//b/../c?q=%2F+x",
	    "/", "/.geo307/lookup/x", "http://evil/x", "*" };
	static char	 loc[LOCATION_MAX + 1];
	struct mut	 m;
	char		*t;
	int		 i;

	(void)state;
	mut_init(&m, 1, seeds, LEN(seeds));
	for (i = 0; i < 20000 * (int)scale; i++) {
		next_input(&m);
		t = bytes(&m);
		if (url_target_check(t, m.len) == 200)
			assert_true(url_location_build(loc, sizeof(loc),
			    "https://a.example/u", 19, t, m.len) ==
			    (int)m.len + 19);
		free(t);
	}
}

static void
test_server_url(void **state)
{
	static const char *const seeds[] = {
	    "https://eu-1.up.example.net:8443/u/", "http://192.0.2.5:80",
	    "https://[2001:db8::1]:443/x", "https://[::ffff:1.2.3.4]",
	    "https://user@h.example", "https://h.example/p?q#f",
	    "https://0x7f.1", "https://a-.b", "https://redirect.example:8080" };
	struct host_patterns	 hp;
	struct strlist		 pub = { 0 };
	struct url_policy	 pol;
	struct server_url	 u;
	const char		*why;
	struct mut		 m;
	char			*s;
	int			 i;

	(void)state;
	assert_int_equal(url_host_patterns_parse("*.example.net 192.0.2.0/24 "
	    "2001:db8::/32 h.example", &hp), 0);
	assert_int_equal(strlist_push(&pub, "redirect.example"), 0);
	mut_init(&m, 2, seeds, LEN(seeds));
	for (i = 0; i < 20000 * (int)scale; i++) {
		next_input(&m);
		s = cstr(&m);
		pol.allowed_hosts = (i & 1) ? &hp : NULL;
		pol.public_names = &pub;
		pol.allow_http = i & 2;
		if (url_server_parse(s, &pol, &u, &why) == 0) {
			assert_int_equal(strlen(u.base), u.baselen);
			url_server_free(&u);
		} else
			assert_non_null(why);
		free(s);
	}
	url_host_patterns_free(&hp);
	strlist_free(&pub);
}

static void
test_host_patterns(void **state)
{
	static const char *const seeds[] = { "*.example.com a.b 10.0.0.0/8",
	    "::1/128, *.x.y", "h.example", "::ffff:10.0.0.0/104" };
	struct host_patterns	 hp;
	struct mut		 m;
	char			*s;
	int			 i;

	(void)state;
	mut_init(&m, 3, seeds, LEN(seeds));
	for (i = 0; i < 20000 * (int)scale; i++) {
		next_input(&m);
		s = cstr(&m);
		if (url_host_patterns_parse(s, &hp) == 0) {
			(void)url_host_patterns_match(&hp, "a.x.y");
			(void)url_host_patterns_match(&hp, "10.1.2.3");
			(void)url_host_patterns_match(&hp, s);
			url_host_patterns_free(&hp);
		}
		free(s);
	}
}

static void
test_clientip(void **state)
{
	static const char *const seeds[] = {
	    "10.9.9.9, 81.2.69.142, 10.0.0.1", "\"[2001:db8::1]:80\", 1.2.3.4",
	    "for=192.0.2.60;proto=http;by=203.0.113.43, "
	    "for=\"[2001:db8:cafe::17]:4711\"",
	    "for=\"_hidden\", for=unknown;;proto=https, FOR=10.0.0.2",
	    "for=\"\\\"a\\\\b\"", " ::ffff:1.2.3.4 ", "1.2.3.4:65535",
	    "," };
	static const enum trust_header_kind kinds[] = { TRUST_XFF,
	    TRUST_FORWARDED, TRUST_SINGLE };
	struct cidr		 pv[2];
	struct cidr_list	 proxies = { pv, 2 };
	struct netaddr		 peer, out;
	struct mut		 m;
	char			*s, buf[64];
	int			 i;

	(void)state;
	assert_int_equal(netaddr_parse("127.0.0.1", &peer), 0);
	assert_int_equal(netaddr_cidr_parse("127.0.0.0/8", &pv[0]), 0);
	assert_int_equal(netaddr_cidr_parse("10.0.0.0/8", &pv[1]), 0);
	mut_init(&m, 4, seeds, LEN(seeds));
	for (i = 0; i < 30000 * (int)scale; i++) {
		next_input(&m);
		s = cstr(&m);
		(void)clientip_resolve(&peer, s, kinds[i % 3], &proxies, &out);
		assert_true(out.family == AF_INET || out.family == AF_INET6);
		(void)netaddr_str(&out, buf, sizeof(buf));
		free(s);
	}
}

static void
test_netaddr(void **state)
{
	static const char *const seeds[] = { "10.0.0.0/8, ::1/128 fe80::/10",
	    "::ffff:1.2.3.4/120", "[::1]:8080", "*:80", "1.2.3.4:0",
	    "2001:db8::1" };
	struct sockaddr_storage	 ss;
	struct cidr_list	 l;
	struct netaddr		 a;
	struct cidr		 c;
	socklen_t		 sl;
	struct mut		 m;
	size_t			 bad;
	char			*s, *b;
	int			 i;

	(void)state;
	mut_init(&m, 5, seeds, LEN(seeds));
	for (i = 0; i < 20000 * (int)scale; i++) {
		next_input(&m);
		s = cstr(&m);
		b = bytes(&m);
		(void)netaddr_parse(s, &a);
		(void)netaddr_parse_n(b, m.len, &a);
		if (netaddr_cidr_parse(s, &c) == 0)
			assert_true(c.prefix >= 0 && c.prefix <= 128);
		if (netaddr_cidr_list_parse(s, &l, &bad) == 0)
			netaddr_cidr_list_free(&l);
		(void)netaddr_parse_hostport(s, &ss, &sl);
		free(b);
		free(s);
	}
}

static void
test_escape(void **state)
{
	static const char *const seeds[] = { "<a href=\"x\">&'", "\"\\\n\x7f\xc3",
	    "plain" };
	struct mut	 m;
	size_t		 need, dsz;
	char		*src, *dst;
	int		 i;

	(void)state;
	mut_init(&m, 6, seeds, LEN(seeds));
	for (i = 0; i < 20000 * (int)scale; i++) {
		next_input(&m);
		src = bytes(&m);
		need = (i & 1) ? escape_json(NULL, 0, src, m.len) :
		    escape_html(NULL, 0, src, m.len);
		dsz = pick(&m, need + 2);
		dst = malloc(dsz ? dsz : 1);
		assert_non_null(dst);
		assert_int_equal((i & 1) ? escape_json(dst, dsz, src, m.len) :
		    escape_html(dst, dsz, src, m.len), need);
		free(dst);
		free(src);
	}
}

static void
test_redis_target(void **state)
{
	static const char *const seeds[] = {
	    "redis://user:p%40ss@127.0.0.1:6379/2", "redis://:pw@[::1%eth0]:6380",
	    "unix:///run/redis.sock?db=3&user=u&password=p%25",
	    "unix:/tmp/r.sock", "rediss://x", "redis://h/1023" };
	struct redis_target	 t;
	struct strlist		 sent = { 0 };
	struct mut		 m;
	char			*s, err[256];
	int			 i;

	(void)state;
	mut_init(&m, 7, seeds, LEN(seeds));
	for (i = 0; i < 20000 * (int)scale; i++) {
		next_input(&m);
		s = cstr(&m);
		/* The same text as a url, and as a Sentinel address. */
		if (redis_target_parse(s, NULL, NULL, 1.0, &t, err,
		    sizeof(err)) == 0)
			redis_target_free(&t);
		assert_int_equal(strlist_push(&sent, s), 0);
		if (redis_target_parse("redis://127.0.0.1", &sent, "m", 1.0,
		    &t, err, sizeof(err)) == 0)
			redis_target_free(&t);
		strlist_free(&sent);
		free(s);
	}
}

/* A server hash as "id\nfield=value\n...". */
static void
test_fleet_rec(void **state)
{
	static const char *const seeds[] = {
	    "eu-1\nurl=https://eu-9.up.example.net/u\nregion=eu\nweight=100\n"
	    "state=up\nfamilies=4 6",
	    "x\nurl=http://192.0.2.5:80\nregion=us\nstate=drain\nweight=0",
	    "y\nurl=https://a.up.example.net\nregion=ap\nweight=007\nwieght=1",
	    "z\nurl\nregion=eu" };
	struct mut		 m;
	const char		*why;
	char			*s;
	int			 i, valid = 0;

	(void)state;
	mut_init(&m, 8, seeds, LEN(seeds));
	for (i = 0; i < 20000 * (int)scale; i++) {
		next_input(&m);
		s = cstr(&m);
		/* Valid, or rejected for a reason that has a name. */
		if ((why = fake_record_check(rt->cfg, s)) == NULL)
			valid++;
		else
			assert_true(*why != '\0');
		free(s);
	}
	/* The mutations keep some records valid: both paths were run. */
	assert_true(valid > 0 && valid < 20000 * (int)scale);
}

static void
test_config(void **state)
{
	static const char *const seeds[] = {
	    "[listen]\naddress = 127.0.0.1:8080, [::1]:8080\n"
	    "public_names = redirect.example\nheader_timeout = 10.5\n"
	    "max_header_bytes = 8K\n"
	    "[trust]\nproxies = 10.0.0.0/8\nheader = forwarded\n"
	    "[redirect]\nstatus = 308\nallowed_hosts = *.up.example.net\n"
	    "[cors]\nallow_origins = https://a.example\n"
	    "[region eu]\nlocation = 53.35, -6.26\ncountries = GB IE\n"
	    "  FR DE\ncontinents = EU\nfallback = us\n"
	    "[region us]\ndefault = yes\n"
	    "[server a]\nurl = https://a.up.example.net/x\nregion = eu\n"
	    "weight = 50 ; comment\n",
	    "[redis]\nurl = redis://127.0.0.1:6379/0\n"
	    "sentinels = 10.0.0.1:26379 [::1]:26379\nmaster = m\n"
	    "[redirect]\nallowed_hosts = *.x.example 192.0.2.0/24\n"
	    "[region r]\ndefault = on\n[selection]\nseed = 42\n"
	    "[admin]\naddress = 127.0.0.1:9307\nallow = 127.0.0.1/32\n",
	    "\xef\xbb\xbf# c\n[log]\naccess = off\n[region  x ]\ndefault=1\n"
	    "[server s]\nurl: https://s.example\nregion=x\n" };
	struct config	*cfg;
	struct mut	 m;
	char		 err[1024];
	int		 i;

	(void)state;
	mut_init(&m, 9, seeds, LEN(seeds));
	for (i = 0; i < 2000 * (int)scale; i++) {
		next_input(&m);
		cfg = config_load(write_file("c.conf", &m), err, sizeof(err));
		if (cfg == NULL)
			assert_true(err[0] != '\0');
		config_free(cfg);
	}
}

static void
test_cache_file(void **state)
{
	static char	 s1[600], s2[200];
	const char	*seeds[] = { s1, s2 };
	struct fleet_memory *mem = fleet_raw_memory_new();
	struct raw_fleet *raw;
	struct fleet	*f;
	struct mut	 m;
	char		 err[1024];
	long		 now = (long)time(NULL);
	int		 i;

	(void)state;
	snprintf(s1, sizeof(s1), "{\"format\":1,\"version\":7,\"taken\":%ld,"
	    "\"servers\":{\"eu-1\":{\"url\":\"https://eu-1.up.example.net/u\","
	    "\"region\":\"eu\",\"weight\":\"5\"},\"b\":{\"url\":"
	    "\"https://b.up.example.net\",\"region\":\"us\",\"state\":"
	    "\"drain\"}},\"loads\":{\"eu-1\":\"0.25\",\"b\":\"1.0\"},"
	    "\"regions\":{\"eu\":\"up\",\"us\":\"drain\"},"
	    "\"maintenance\":\"30\"}", now);
	snprintf(s2, sizeof(s2), "{\"format\":1,\"version\":-1,\"taken\":%ld,"
	    "\"servers\":{\"x\":{}},\"loads\":{\"x\":1},\"regions\":{\"\":1}}",
	    now);
	assert_non_null(mem);
	mut_init(&m, 10, seeds, LEN(seeds));
	for (i = 0; i < 2000 * (int)scale; i++) {
		next_input(&m);
		raw = fleet_raw_load(write_file("cache.json", &m), 1e12, err,
		    sizeof(err));
		if (raw == NULL) {
			assert_true(err[0] != '\0');
			continue;
		}
		if ((f = fleet_raw_build(raw, rt, mem)) != NULL)
			fleet_free(f);
		fleet_raw_free(raw);
	}
	fleet_raw_memory_free(mem);
}

/* A request as "METHOD\nTARGET\nName: value\n...". */
static void
test_respond(void **state)
{
	static const char *const seeds[] = {
	    "POST\n/upload?x=1\nX-Forwarded-For: 10.9.9.9, 81.2.69.142\n"
	    "Origin: https://app.example.com\nX-Request-Id: abc-1",
	    "OPTIONS\n/u\nOrigin: https://app.example.com\n"
	    "Access-Control-Request-Method: POST",
	    "GET\n/.geo307/lookup/x?ip=1\nX-Forwarded-For: 81.2.69.142",
	    "POST\n/u\nX-Synthetic-Token: s3cret\nX-Synthetic-Region: ap\n"
	    "X-Synthetic-Client-IP: 81.2.69.142", "GET\n/healthz\n" };
	static const char *const peers[] = { "127.0.0.1", "192.0.2.1",
	    "2001:db8::5" };
	struct fake_req		 fr;
	struct request_view	 rv;
	struct answer		 a;
	struct rng		 rng;
	struct mut		 m;
	char			*s;
	int			 i;

	(void)state;
	rng_seed(&rng, 11);
	mut_init(&m, 11, seeds, LEN(seeds));
	for (i = 0; i < 5000 * (int)scale; i++) {
		next_input(&m);
		s = cstr(&m);
		memset(&rv, 0, sizeof(rv));
		fake_request_parse(s, &rv, &fr);
		assert_int_equal(netaddr_parse(peers[i % 3], &rv.peer), 0);
		rv.header_bytes = m.len;
		rv.has_body = i & 4;
		rv.now = 1000;
		respond(rt, &rv, 0, &rng, &a);
		assert_true(a.status >= 200 && a.status <= 599);
		respond_answer_free(&a);
		free(s);
	}
}

/* ---- setup */

static int
setup(void **state)
{
	const char	*r = getenv("GEO307_MUTATE_ROUNDS");

	(void)state;
	if (r != NULL && atoi(r) > 0)
		scale = (unsigned)atoi(r);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* The libFuzzer harnesses' runtime: the same config for both. */
	rt = fuzz_runtime("x-forwarded-for");
	return 0;
}

static int
teardown(void **state)
{
	char	path[1100];

	(void)state;
	runtime_free(rt);
	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cache.json", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_and_location),
		cmocka_unit_test(test_server_url),
		cmocka_unit_test(test_host_patterns),
		cmocka_unit_test(test_clientip),
		cmocka_unit_test(test_netaddr),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_redis_target),
		cmocka_unit_test(test_fleet_rec),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_cache_file),
		cmocka_unit_test(test_respond),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
