/*
 * fleet_rec: the value grammars of SPEC section 3, the validation of a
 * server hash against a real config (loaded from a temp INI file), the
 * url policy it implies, and key names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet_rec.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))

static char	tmpdir[] = "/tmp/g307-fleet_rec-XXXXXX";

/* With Redis: https only, allowed_hosts, a public name that is allowed. */
static struct config	*cfg_redis;
/* The same with allow_http = yes. */
static struct config	*cfg_http;
/* The static fleet: no allowed_hosts. */
static struct config	*cfg_static;

static const char *
fixture_db(void)
{
	static char	path[1024];
	const char	*d = getenv("GEO307_FIXTURES");

	snprintf(path, sizeof(path), "%s/test-city.mmdb", d ? d :
	    "tests/fixtures");
	return path;
}

static struct config *
load(const char *name, const char *body)
{
	struct config	*cfg;
	char		 path[1100], err[1024];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[geoip]\ndatabase = %s\n"
	    "[listen]\npublic_names = upload.example.com\n"
	    "[region eu]\nlocation = 53.35, -6.26\ncontinents = EU AF\n"
	    "fallback = us\n"
	    "[region us]\nlocation = 38.9, -77.0\ncontinents = NA SA\n"
	    "default = yes\n"
	    "%s", fixture_db(), body);
	fclose(f);
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("config_load %s: %s", name, err);
	unlink(path);
	return cfg;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	cfg_redis = load("redis.conf",
	    "[redis]\nurl = redis://127.0.0.1:6379/0\n"
	    "[redirect]\nallowed_hosts = *.example.com, up.example.org, "
	    "10.0.0.0/8\n");
	cfg_http = load("http.conf",
	    "[redis]\nurl = redis://127.0.0.1:6379/0\n"
	    "[redirect]\nallowed_hosts = *.example.com\nallow_http = yes\n");
	cfg_static = load("static.conf",
	    "[server eu-1]\nurl = https://eu-1.example.net\nregion = eu\n");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	config_free(cfg_redis);
	config_free(cfg_http);
	config_free(cfg_static);
	rmdir(tmpdir);
	return 0;
}

/* ---- value grammars */

static void
test_load(void **state)
{
	static const struct {
		const char	*s;
		double		 v;
	} good[] = {
		{ "0", 0 }, { "0.5", 0.5 }, { "0.123456", 0.123456 },
		{ "0.0", 0 }, { "0.000001", 0.000001 },
		{ "0.999999", 0.999999 },
		{ "0.05", 0.05 }, { "1", 1 }, { "1.0", 1 }, { "1.000000", 1 },
	};
	static const char *const bad[] = {
		"0.1234567", "1.5", "1.000001", "1.0000000", "-0", ".5", "01",
		"", " 0.5", "0.5\n", "0.5 ", "0.", "1.", "2", "+0.5", "0,5",
		"0.5e0", "1e0", "0x1", "00", "0..5", "0.-5", "nan", "inf",
		"10", "0.5.", "1.00a",
	};
	double	v;
	size_t	i;

	(void)state;
	for (i = 0; i < LEN(good); i++) {
		v = -1;
		if (fleet_rec_load(good[i].s, &v) != 0)
			fail_msg("load \"%s\" refused", good[i].s);
		/* Exact: the same double strtod() gives in the C locale. */
		assert_true(v == strtod(good[i].s, NULL));
		assert_true(v == good[i].v);
	}
	for (i = 0; i < LEN(bad); i++)
		if (fleet_rec_load(bad[i], &v) != -1)
			fail_msg("load \"%s\" accepted", bad[i]);
	assert_int_equal(fleet_rec_load(NULL, &v), -1);
	assert_int_equal(fleet_rec_load("0.25", NULL), 0);
}

static void
test_weight(void **state)
{
	static const struct {
		const char	*s;
		uint32_t	 v;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "100", 100 }, { "1000000", 1000000 },
		{ "007", 7 }, { "0001000000", 1000000 },
	};
	static const char *const bad[] = {
		"", "-1", "+1", "1000001", "4294967296", "99999999999999999999",
		" 1", "1 ", "1.0", "1e3", "0x10", "ten", "1\n",
	};
	uint32_t	v;
	size_t		i;

	(void)state;
	for (i = 0; i < LEN(good); i++) {
		v = 12345;
		if (fleet_rec_weight(good[i].s, &v) != 0)
			fail_msg("weight \"%s\" refused", good[i].s);
		assert_int_equal(v, good[i].v);
	}
	for (i = 0; i < LEN(bad); i++)
		if (fleet_rec_weight(bad[i], &v) != -1)
			fail_msg("weight \"%s\" accepted", bad[i]);
	assert_int_equal(fleet_rec_weight(NULL, &v), -1);
}

static void
test_state(void **state)
{
	static const char *const bad[] = {
		"", "UP", "Up", "up ", " up", "drained", "dow", "maintenance",
		"0", "up\n",
	};
	enum server_state	st;
	size_t			i;

	(void)state;
	assert_int_equal(fleet_rec_state("up", &st), 0);
	assert_int_equal(st, SERVER_UP);
	assert_int_equal(fleet_rec_state("drain", &st), 0);
	assert_int_equal(st, SERVER_DRAIN);
	assert_int_equal(fleet_rec_state("down", &st), 0);
	assert_int_equal(st, SERVER_DOWN);
	for (i = 0; i < LEN(bad); i++)
		if (fleet_rec_state(bad[i], &st) != -1)
			fail_msg("state \"%s\" accepted", bad[i]);
	assert_int_equal(fleet_rec_state(NULL, &st), -1);
	assert_string_equal(fleet_rec_state_name(SERVER_UP), "up");
	assert_string_equal(fleet_rec_state_name(SERVER_DRAIN), "drain");
	assert_string_equal(fleet_rec_state_name(SERVER_DOWN), "down");
	/* Names and grammar agree both ways. */
	for (i = SERVER_UP; i <= SERVER_DOWN; i++) {
		assert_int_equal(fleet_rec_state(fleet_rec_state_name(i), &st), 0);
		assert_int_equal(st, i);
	}
}

static void
test_region_state(void **state)
{
	static const char *const bad[] = {
		"", "down", "UP", "Drain", "drain ", "1", "yes",
	};
	int	d = -1;
	size_t	i;

	(void)state;
	assert_int_equal(fleet_rec_region_state("up", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(fleet_rec_region_state("drain", &d), 0);
	assert_int_equal(d, 1);
	for (i = 0; i < LEN(bad); i++)
		if (fleet_rec_region_state(bad[i], &d) != -1)
			fail_msg("region state \"%s\" accepted", bad[i]);
	assert_int_equal(fleet_rec_region_state(NULL, &d), -1);
}

/* P version: the counter INCR keeps, read the same by router and CLI. */
static void
test_version(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1.0", "0x10", "9223372036854775808",
		"18446744073709551615",
	};
	uint64_t	v;
	size_t		i;

	(void)state;
	assert_int_equal(fleet_rec_version("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(fleet_rec_version("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		assert_int_equal(fleet_rec_version(bad[i], &v), -1);
		assert_true(v == 42);
	}
}

static void
test_maintenance(void **state)
{
	static const char *const bad[] = {
		"", "0", "86401", "-1", "+30", "30s", "1.5", " 30", "30 ",
		"1e3", "on", "99999999999999999999999",
	};
	double	v;
	size_t	i;

	(void)state;
	assert_int_equal(fleet_rec_maintenance("1", &v), 0);
	assert_true(v == 1);
	assert_int_equal(fleet_rec_maintenance("300", &v), 0);
	assert_true(v == 300);
	assert_int_equal(fleet_rec_maintenance("86400", &v), 0);
	assert_true(v == 86400);
	assert_int_equal(fleet_rec_maintenance("060", &v), 0);
	assert_true(v == 60);
	for (i = 0; i < LEN(bad); i++)
		if (fleet_rec_maintenance(bad[i], &v) != -1)
			fail_msg("maintenance \"%s\" accepted", bad[i]);
	assert_int_equal(fleet_rec_maintenance(NULL, &v), -1);
}

static void
test_reason_names(void **state)
{
	static const char *const want[REJECT__COUNT] = {
		"id", "url", "region", "weight", "state", "load", "missing",
		"field",
	};
	int	i;

	(void)state;
	for (i = 0; i < REJECT__COUNT; i++)
		assert_string_equal(fleet_rec_reject_reason_name(i), want[i]);
	assert_string_equal(fleet_rec_reject_reason_name(REJECT__COUNT), "unknown");
}

/* ---- server hashes */

/* Run fleet_rec_server on "f1", "v1", "f2", "v2", ..., NULL. */
static int
server(const struct config *cfg, const char *id, struct server_record *r,
    struct reject *rej, ...)
{
	const char	*fields[16], *values[16], *f;
	va_list		 ap;
	size_t		 n = 0;

	va_start(ap, rej);
	while ((f = va_arg(ap, const char *)) != NULL) {
		assert_true(n < LEN(fields));
		fields[n] = f;
		values[n++] = va_arg(ap, const char *);
	}
	va_end(ap);
	return fleet_rec_server(cfg, id, fields, values, n, r, rej);
}

static void
test_server_defaults(void **state)
{
	struct server_record	r;
	struct reject		rej;

	(void)state;
	assert_int_equal(server(cfg_redis, "eu-1", &r, &rej,
	    "url", "https://EU-1.Example.com/up/", "region", "eu", NULL), 0);
	assert_string_equal(r.id, "eu-1");
	assert_string_equal(r.region, "eu");
	assert_int_equal(r.weight, 100);
	assert_int_equal(r.state, SERVER_UP);
	assert_string_equal(r.url.base, "https://eu-1.example.com/up");
	assert_string_equal(r.url.host, "eu-1.example.com");
	assert_true(r.url.https);
	fleet_rec_record_free(&r);
	assert_null(r.url.base);
	fleet_rec_record_free(&r);		/* twice is harmless */
}

static void
test_server_all_fields(void **state)
{
	struct server_record	r;
	struct reject		rej;
	const char		*fam[] = { "4", "6", "4 6" };
	size_t			i;

	(void)state;
	assert_int_equal(server(cfg_redis, "us.east_1-a", &r, &rej,
	    "state", "drain", "weight", "0", "region", "us",
	    "url", "https://10.1.2.3:8443", "families", "4 6", NULL), 0);
	assert_string_equal(r.id, "us.east_1-a");
	assert_string_equal(r.region, "us");
	assert_int_equal(r.weight, 0);
	assert_int_equal(r.state, SERVER_DRAIN);
	assert_string_equal(r.url.base, "https://10.1.2.3:8443");
	assert_int_equal(r.url.port, 8443);
	fleet_rec_record_free(&r);

	assert_int_equal(server(cfg_redis, "x", &r, &rej,
	    "url", "https://up.example.org", "region", "eu",
	    "weight", "1000000", "state", "down", NULL), 0);
	assert_int_equal(r.weight, 1000000);
	assert_int_equal(r.state, SERVER_DOWN);
	fleet_rec_record_free(&r);

	for (i = 0; i < LEN(fam); i++) {
		assert_int_equal(server(cfg_redis, "x", &r, &rej,
		    "url", "https://up.example.org", "region", "eu",
		    "families", fam[i], NULL), 0);
		fleet_rec_record_free(&r);
	}
}

static void
test_reject_id(void **state)
{
	static const char *const bad[] = {
		"", "-eu", ".eu", "_eu", "eu 1", "eu/1", "eu:1", "\xc3\xa9u",
		"a23456789012345678901234567890"
		    "1234567890123456789012345678901234",
	};
	struct server_record	r;
	struct reject		rej;
	size_t			i;

	(void)state;
	for (i = 0; i < LEN(bad); i++) {
		if (server(cfg_redis, bad[i], &r, &rej, "url",
		    "https://a.example.com", "region", "eu", NULL) != -1)
			fail_msg("id \"%s\" accepted", bad[i]);
		assert_int_equal(rej.reason, REJECT_ID);
		assert_string_equal(rej.field, "id");
		assert_ptr_equal(rej.value, bad[i]);
	}
	assert_int_equal(server(cfg_redis, NULL, &r, &rej, "url",
	    "https://a.example.com", "region", "eu", NULL), -1);
	assert_int_equal(rej.reason, REJECT_ID);
	/* 63 characters is the longest id. */
	assert_int_equal(server(cfg_redis,
	    "a23456789012345678901234567890123456789012345678901234567890123",
	    &r, &rej, "url", "https://a.example.com", "region", "eu", NULL),
	    0);
	assert_int_equal(strlen(r.id), 63);
	fleet_rec_record_free(&r);
}

static void
test_reject_missing(void **state)
{
	struct server_record	r;
	struct reject		rej;

	(void)state;
	assert_int_equal(server(cfg_redis, "a", &r, &rej,
	    "region", "eu", NULL), -1);
	assert_int_equal(rej.reason, REJECT_MISSING);
	assert_string_equal(rej.field, "url");
	assert_null(rej.value);

	assert_int_equal(server(cfg_redis, "a", &r, &rej,
	    "url", "https://a.example.com", "weight", "5", NULL), -1);
	assert_int_equal(rej.reason, REJECT_MISSING);
	assert_string_equal(rej.field, "region");

	/* An empty hash (a server in the set whose hash is gone). */
	assert_int_equal(fleet_rec_server(cfg_redis, "a", NULL, NULL, 0, &r,
	    &rej), -1);
	assert_int_equal(rej.reason, REJECT_MISSING);
	assert_string_equal(rej.field, "url");
}

static void
test_reject_url(void **state)
{
	static const char *const bad[] = {
		"http://a.example.com",		/* no allow_http */
		"https://evil.example.net",		/* foreign */
		"https://example.com.evil.net",
		"https://11.0.0.1",		/* outside the CIDR */
		"https://upload.example.com",	/* a public name */
		"https://UPLOAD.example.com/x",
		"https://u:p@a.example.com",
		"https://a.example.com/?q=1",
		"https://a.example.com/#f",
		"https://a.example.com:0",
		"https://a.example.com:65536",
		"ftp://a.example.com",
		"a.example.com",
		"",
		"https://",
		"https://a.example.com/ x",
	};
	struct server_record	r;
	struct reject		rej;
	size_t			i;

	(void)state;
	for (i = 0; i < LEN(bad); i++) {
		if (server(cfg_redis, "a", &r, &rej, "region", "eu", "url",
		    bad[i], NULL) != -1)
			fail_msg("url \"%s\" accepted", bad[i]);
		assert_int_equal(rej.reason, REJECT_URL);
		assert_string_equal(rej.field, "url");
		assert_ptr_equal(rej.value, bad[i]);
		assert_null(r.url.base);	/* nothing to free */
	}
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "region", "eu",
	    "url", "https://10.200.0.1/base", NULL), 0);
	fleet_rec_record_free(&r);
}

static void
test_reject_region(void **state)
{
	static const char *const bad[] = {
		"ap", "EU", "eu ", "", "-eu", "eu-west",
	};
	struct server_record	r;
	struct reject		rej;
	size_t			i;

	(void)state;
	for (i = 0; i < LEN(bad); i++) {
		if (server(cfg_redis, "a", &r, &rej, "url",
		    "https://a.example.com", "region", bad[i], NULL) != -1)
			fail_msg("region \"%s\" accepted", bad[i]);
		assert_int_equal(rej.reason, REJECT_REGION);
		assert_string_equal(rej.field, "region");
		assert_ptr_equal(rej.value, bad[i]);
		assert_null(r.url.base);	/* freed on the way out */
	}
}

static void
test_reject_weight_state(void **state)
{
	struct server_record	r;
	struct reject		rej;
	const char		*w = "1000001", *s = "Up";

	(void)state;
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url",
	    "https://a.example.com", "region", "eu", "weight", w, NULL), -1);
	assert_int_equal(rej.reason, REJECT_WEIGHT);
	assert_string_equal(rej.field, "weight");
	assert_ptr_equal(rej.value, w);
	assert_null(r.url.base);

	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url",
	    "https://a.example.com", "region", "eu", "weight", "", NULL), -1);
	assert_int_equal(rej.reason, REJECT_WEIGHT);

	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url",
	    "https://a.example.com", "region", "eu", "state", s, NULL), -1);
	assert_int_equal(rej.reason, REJECT_STATE);
	assert_string_equal(rej.field, "state");
	assert_ptr_equal(rej.value, s);
	assert_null(r.url.base);
}

static void
test_reject_field(void **state)
{
	static const char *const fam_bad[] = {
		"", "4,6", "46", "6 4", "4  6", " 4", "4 6 ", "5", "ipv4",
	};
	struct server_record	r;
	struct reject		rej;
	const char		*typo = "wieght";
	size_t			i;

	(void)state;
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url",
	    "https://a.example.com", "region", "eu", typo, "5", NULL), -1);
	assert_int_equal(rej.reason, REJECT_FIELD);
	assert_ptr_equal(rej.field, typo);
	assert_string_equal(rej.value, "5");

	/* Field names are case-sensitive. */
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "URL",
	    "https://a.example.com", "region", "eu", NULL), -1);
	assert_int_equal(rej.reason, REJECT_FIELD);
	assert_string_equal(rej.field, "URL");

	/* A repeated field (not possible in a Redis hash, but in an array). */
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url",
	    "https://a.example.com", "region", "eu", "region", "us", NULL),
	    -1);
	assert_int_equal(rej.reason, REJECT_FIELD);
	assert_string_equal(rej.field, "region");
	assert_string_equal(rej.value, "us");

	for (i = 0; i < LEN(fam_bad); i++) {
		if (server(cfg_redis, "a", &r, &rej, "url",
		    "https://a.example.com", "region", "eu", "families",
		    fam_bad[i], NULL) != -1)
			fail_msg("families \"%s\" accepted", fam_bad[i]);
		assert_int_equal(rej.reason, REJECT_FIELD);
		assert_string_equal(rej.field, "families");
		assert_ptr_equal(rej.value, fam_bad[i]);
		assert_null(r.url.base);
	}
}

/* Several faults: always the same one wins, whatever the field order. */
static void
test_reject_order(void **state)
{
	struct server_record	r;
	struct reject		rej;

	(void)state;
	/* Bad id beats everything. */
	assert_int_equal(server(cfg_redis, "-", &r, &rej, "junk", "1",
	    "url", "ftp://x", NULL), -1);
	assert_int_equal(rej.reason, REJECT_ID);
	/* An unknown field beats a missing one and bad values. */
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "weight", "x",
	    "junk", "1", NULL), -1);
	assert_int_equal(rej.reason, REJECT_FIELD);
	/* Missing beats bad values. */
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "weight", "x",
	    "url", "ftp://x", NULL), -1);
	assert_int_equal(rej.reason, REJECT_MISSING);
	/* Then url, region, weight, state. */
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "state", "x",
	    "weight", "x", "region", "zz", "url", "ftp://x", NULL), -1);
	assert_int_equal(rej.reason, REJECT_URL);
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "state", "x",
	    "weight", "x", "region", "zz", "url", "https://a.example.com",
	    NULL), -1);
	assert_int_equal(rej.reason, REJECT_REGION);
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "state", "x",
	    "weight", "x", "region", "eu", "url", "https://a.example.com",
	    NULL), -1);
	assert_int_equal(rej.reason, REJECT_WEIGHT);
}

static void
test_null_values(void **state)
{
	struct server_record	r;
	struct reject		rej;

	(void)state;
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url", NULL,
	    "region", "eu", NULL), -1);
	assert_int_equal(rej.reason, REJECT_URL);
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url",
	    "https://a.example.com", "region", NULL, NULL), -1);
	assert_int_equal(rej.reason, REJECT_REGION);
	assert_int_equal(server(cfg_redis, "a", &r, &rej, "url",
	    "https://a.example.com", "region", "eu", "weight", NULL, NULL),
	    -1);
	assert_int_equal(rej.reason, REJECT_WEIGHT);
	assert_null(r.url.base);
}

/* ---- url policy */

static void
test_url_policy(void **state)
{
	struct server_record	 r;
	struct reject		 rej;
	struct url_policy	 pol;
	struct server_url	 u;
	const char		*why;

	(void)state;
	fleet_rec_url_policy(cfg_redis, &pol);
	assert_ptr_equal(pol.allowed_hosts, &cfg_redis->redirect.allowed_hosts);
	assert_ptr_equal(pol.public_names, &cfg_redis->listen.public_names);
	assert_int_equal(pol.allow_http, 0);
	/* Each rule, with the reason it fails for. */
	assert_int_equal(url_server_parse("https://evil.example.net", &pol,
	    &u, &why), -1);
	assert_string_equal(why, "not_allowed");
	assert_int_equal(url_server_parse("https://upload.example.com", &pol,
	    &u, &why), -1);
	assert_string_equal(why, "loop");
	assert_int_equal(url_server_parse("http://a.example.com", &pol,
	    &u, &why), -1);
	assert_string_equal(why, "scheme");

	/* allow_http = yes: http passes, the host rules still hold. */
	fleet_rec_url_policy(cfg_http, &pol);
	assert_int_equal(pol.allow_http, 1);
	assert_int_equal(server(cfg_http, "a", &r, &rej, "url",
	    "http://a.example.com:8080/u", "region", "eu", NULL), 0);
	assert_false(r.url.https);
	assert_string_equal(r.url.base, "http://a.example.com:8080/u");
	fleet_rec_record_free(&r);
	assert_int_equal(server(cfg_http, "a", &r, &rej, "url",
	    "http://up.example.org", "region", "eu", NULL), -1);
	assert_int_equal(rej.reason, REJECT_URL);
	assert_int_equal(server(cfg_http, "a", &r, &rej, "url",
	    "http://upload.example.com", "region", "eu", NULL), -1);
	assert_int_equal(rej.reason, REJECT_URL);

	/* No allowed_hosts (static fleet): any host but a public name. */
	fleet_rec_url_policy(cfg_static, &pol);
	assert_null(pol.allowed_hosts);
	assert_int_equal(pol.allow_http, 0);
	assert_int_equal(server(cfg_static, "a", &r, &rej, "url",
	    "https://anything.example.net", "region", "eu", NULL), 0);
	fleet_rec_record_free(&r);
	assert_int_equal(server(cfg_static, "a", &r, &rej, "url",
	    "https://upload.example.com", "region", "eu", NULL), -1);
	assert_int_equal(rej.reason, REJECT_URL);
}

/* ---- keys */

static void
test_key(void **state)
{
	char	buf[64], small[12];

	(void)state;
	assert_int_equal(fleet_rec_key(buf, sizeof(buf), "geo307:",
	    KEY_SERVERS, NULL), 0);
	assert_string_equal(buf, "geo307:servers");
	assert_int_equal(fleet_rec_key(buf, sizeof(buf), "geo307:",
	    KEY_SERVER, "eu-1"), 0);
	assert_string_equal(buf, "geo307:server:eu-1");
	assert_int_equal(fleet_rec_key(buf, sizeof(buf), "p:", KEY_LOAD,
	    "eu-1"), 0);
	assert_string_equal(buf, "p:load:eu-1");
	assert_int_equal(fleet_rec_key(buf, sizeof(buf), "", KEY_VERSION,
	    NULL), 0);
	assert_string_equal(buf, "version");
	assert_int_equal(fleet_rec_key(buf, sizeof(buf), NULL, KEY_CHANGED,
	    NULL), 0);
	assert_string_equal(buf, "changed");
	assert_int_equal(fleet_rec_key(buf, sizeof(buf), "geo307:",
	    KEY_REGIONS, NULL), 0);
	assert_string_equal(buf, "geo307:regions");
	assert_int_equal(fleet_rec_key(buf, sizeof(buf), "geo307:",
	    KEY_MAINT, NULL), 0);
	assert_string_equal(buf, "geo307:maintenance");

	/* Exactly fitting, and one byte short. */
	assert_int_equal(fleet_rec_key(small, sizeof(small), "g:", KEY_LOAD,
	    "abcd"), 0);
	assert_string_equal(small, "g:load:abcd");
	assert_int_equal(fleet_rec_key(small, sizeof(small), "g:", KEY_LOAD,
	    "abcde"), -1);
	assert_string_equal(small, "");
	assert_int_equal(fleet_rec_key(small, 0, "g:", KEY_LOAD, "a"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_weight),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_region_state),
		cmocka_unit_test(test_maintenance),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_server_defaults),
		cmocka_unit_test(test_server_all_fields),
		cmocka_unit_test(test_reject_id),
		cmocka_unit_test(test_reject_missing),
		cmocka_unit_test(test_reject_url),
		cmocka_unit_test(test_reject_region),
		cmocka_unit_test(test_reject_weight_state),
		cmocka_unit_test(test_reject_field),
		cmocka_unit_test(test_reject_order),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_url_policy),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
