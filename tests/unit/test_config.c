/*
 * Config loading (SPEC section 6): every key, the defaults, relative
 * paths, and for each kind of bad input the exact file:line it names.
 * Files are written into a fresh temporary directory.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

/* The smallest valid tail: one default region and one server. */
#define BASE \
	"[region eu]\n" \
	"default = yes\n" \
	"[server s1]\n" \
	"url = https://s1.example.com\n" \
	"region = eu\n"

static char	tmpdir[PATH_MAX / 2];
static char	path[PATH_MAX];		/* tmpdir/t.conf */

static void
write_file(const char *p, const char *text, size_t len)
{
	FILE	*f;

	if ((f = fopen(p, "w")) == NULL)
		fail_msg("fopen %s", p);
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0)
		fail_msg("write %s", p);
}

static struct config *
load(const char *text, char *err, size_t errlen)
{
	write_file(path, text, strlen(text));
	return config_load(path, err, errlen);
}

static struct config *
load_ok(const char *text)
{
	struct config	*cfg;
	char		 err[1024];

	if ((cfg = load(text, err, sizeof(err))) == NULL)
		fail_msg("config_load failed: %s", err);
	return cfg;
}

/* err must be "path:line: " (or "path: " for line 0) followed by want. */
static void
check_err(const char *err, int line, const char *want, int exact)
{
	char	prefix[PATH_MAX + 32];
	size_t	plen;

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	plen = strlen(prefix);
	if (strncmp(err, prefix, plen) != 0 ||
	    (exact && strcmp(err + plen, want) != 0) ||
	    (!exact && strstr(err + plen, want) == NULL))
		fail_msg("got '%s'\nwant '%s%s'%s", err, prefix, want,
		    exact ? "" : "...");
}

static void
expect_err(const char *text, int line, const char *want)
{
	struct config	*cfg;
	char		 err[1024];

	if ((cfg = load(text, err, sizeof(err))) != NULL) {
		config_free(cfg);
		fail_msg("loaded; expected line %d: %s", line, want);
	}
	check_err(err, line, want, 0);
}

static void
expect_exact(const char *text, int line, const char *want)
{
	struct config	*cfg;
	char		 err[1024];

	if ((cfg = load(text, err, sizeof(err))) != NULL) {
		config_free(cfg);
		fail_msg("loaded; expected line %d: %s", line, want);
	}
	check_err(err, line, want, 1);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
group_setup(void **state)
{
	const char	*t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static char *
in_dir(const char *rel)
{
	static char	buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", tmpdir, rel) >=
	    sizeof(buf))
		fail_msg("path too long");
	return buf;
}

static unsigned
port_of(const struct listen_addr *a)
{
	if (a->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)
		    &a->sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)
	    &a->sa)->sin6_port);
}

static const char full_conf[] =
	"; every key, none at its default\n"
	"[listen]\n"
	"address = 127.0.0.1:8080, [::1]:8080\n"
	"public_names = Upload.Example.com 192.0.2.10\n"
	"threads = 4\n"
	"max_connections = 5000\n"
	"per_ip_connections = 0\n"
	"header_timeout = 2.5\n"
	"keepalive_timeout = 30\n"
	"max_header_bytes = 32K\n"
	"health_path = /healthz\n"
	"shutdown_delay = 1.5\n"
	"shutdown_grace = 20\n"
	"tls_cert = tls/cert.pem\n"
	"tls_key = /etc/geo307/key.pem\n"
	"[linger]\n"
	"max_bytes = 1G\n"
	"idle = 5\n"
	"max_time = 60.5\n"
	"max_connections = 100\n"
	"per_ip = 4\n"
	"[admin]\n"
	"address = [::1]:9999\n"
	"allow = 10.0.0.0/8 ::1\n"
	"[geoip]\n"
	"database = ../geo/City.mmdb\n"
	"[redis]\n"
	"url = redis://10.0.0.5:6379/2\n"
	"sentinels = 10.0.0.6:26379, s2.example.com:26379\n"
	"master = mymaster\n"
	"prefix = up:\n"
	"refresh = 0.5\n"
	"full_resync = 30\n"
	"stale_after = 20\n"
	"cache_file = ./fleet.cache\n"
	"cache_max_age = 3600\n"
	"[redirect]\n"
	"status = 308\n"
	"retry_after = 12\n"
	"allowed_hosts = *.up.example.com, eu.example.net 10.1.0.0/16\n"
	"allow_http = yes\n"
	"[selection]\n"
	"spill_below = 0.25\n"
	"slow_start = 30\n"
	"seed = 18446744073709551615\n"
	"[trust]\n"
	"proxies = 127.0.0.1/32, 10.0.0.0/8\n"
	"header = X-Real-IP\n"
	"[synthetic]\n"
	"tokens = tok-one tok-two\n"
	"[lookup]\n"
	"prefix = /.geo307/lookup\n"
	"[cors]\n"
	"allow_origins = https://App.example.com, http://localhost:3000\n"
	"allow_methods = GET POST\n"
	"allow_headers = Content-Type,Upload-Id\n"
	"max_age = 120\n"
	"[affinity]\n"
	"header = Upload-Id\n"
	"mode = embedded\n"
	"path_segment = 2\n"
	"[log]\n"
	"access = logs/access.log\n"
	"format = combined\n"
	"log_query = yes\n"
	"[metrics]\n"
	"per_server = off\n"
	"[region eu-west]\n"
	"location = 53.35, -6.26\n"
	"countries = gb, IE\n"
	"continents = eu af\n"
	"fallback = us-east\n"
	"default = no\n"
	"[region us-east]\n"
	"location = 39.04,-77.49\n"
	"default = yes\n";

static void
test_full(void **state)
{
	struct config		*c;
	const struct region_conf *r;
	char			 want[PATH_MAX + 64];

	(void)state;
	c = load_ok(full_conf);
	assert_string_equal(c->path, path);
	assert_int_equal(c->listen.naddrs, 2);
	assert_string_equal(c->listen.addrs[0].text, "127.0.0.1:8080");
	assert_int_equal(c->listen.addrs[0].sa.ss_family, AF_INET);
	assert_int_equal(port_of(&c->listen.addrs[0]), 8080);
	assert_string_equal(c->listen.addrs[1].text, "[::1]:8080");
	assert_int_equal(c->listen.addrs[1].sa.ss_family, AF_INET6);
	assert_int_equal(c->listen.public_names.n, 2);
	assert_string_equal(c->listen.public_names.v[0], "upload.example.com");
	assert_string_equal(c->listen.public_names.v[1], "192.0.2.10");
	assert_int_equal(c->listen.threads, 4);
	assert_int_equal(c->listen.max_connections, 5000);
	assert_int_equal(c->listen.per_ip_connections, 0);
	assert_true(c->listen.header_timeout == 2.5);
	assert_true(c->listen.keepalive_timeout == 30);
	assert_int_equal(c->listen.max_header_bytes, 32768);
	assert_string_equal(c->listen.health_path, "/healthz");
	assert_true(c->listen.shutdown_delay == 1.5);
	assert_true(c->listen.shutdown_grace == 20);
	snprintf(want, sizeof(want), "%s/tls/cert.pem", tmpdir);
	assert_string_equal(c->listen.tls_cert, want);
	assert_string_equal(c->listen.tls_key, "/etc/geo307/key.pem");

	assert_int_equal(c->linger.max_bytes, UINT64_C(1) << 30);
	assert_true(c->linger.idle == 5);
	assert_true(c->linger.max_time == 60.5);
	assert_int_equal(c->linger.max_connections, 100);
	assert_int_equal(c->linger.per_ip, 4);

	assert_true(c->admin.enabled);
	assert_string_equal(c->admin.addr.text, "[::1]:9999");
	assert_int_equal(port_of(&c->admin.addr), 9999);
	assert_int_equal(c->admin.allow.n, 2);
	assert_int_equal(c->admin.allow.v[0].prefix, 8);
	assert_int_equal(c->admin.allow.v[1].prefix, 128);

	snprintf(want, sizeof(want), "%s/../geo/City.mmdb", tmpdir);
	assert_string_equal(c->geoip.database, want);

	assert_string_equal(c->redis.url, "redis://10.0.0.5:6379/2");
	assert_int_equal(c->redis.sentinels.n, 2);
	assert_string_equal(c->redis.sentinels.v[1], "s2.example.com:26379");
	assert_string_equal(c->redis.master, "mymaster");
	assert_string_equal(c->redis.prefix, "up:");
	assert_true(c->redis.refresh == 0.5);
	assert_true(c->redis.full_resync == 30);
	assert_true(c->redis.stale_after == 20);
	snprintf(want, sizeof(want), "%s/fleet.cache", tmpdir);
	assert_string_equal(c->redis.cache_file, want);
	assert_true(c->redis.cache_max_age == 3600);

	assert_int_equal(c->redirect.status, 308);
	assert_true(c->redirect.retry_after == 12);
	assert_true(c->redirect.has_allowed_hosts);
	assert_int_equal(c->redirect.allowed_hosts.suffixes.n, 1);
	assert_string_equal(c->redirect.allowed_hosts.suffixes.v[0],
	    ".up.example.com");
	assert_int_equal(c->redirect.allowed_hosts.names.n, 1);
	assert_int_equal(c->redirect.allowed_hosts.cidrs.n, 1);
	assert_true(c->redirect.allow_http);

	assert_true(c->selection.spill_below == 0.25);
	assert_true(c->selection.slow_start == 30);
	assert_true(c->selection.has_seed);
	assert_true(c->selection.seed == UINT64_MAX);

	assert_int_equal(c->trust.proxies.n, 2);
	assert_string_equal(c->trust.header, "x-real-ip");
	assert_int_equal(c->trust.kind, TRUST_SINGLE);
	assert_int_equal(c->synthetic.tokens.n, 2);
	assert_string_equal(c->synthetic.tokens.v[1], "tok-two");
	assert_string_equal(c->lookup.prefix, "/.geo307/lookup");

	assert_int_equal(c->cors.allow_origins.n, 2);
	assert_string_equal(c->cors.allow_origins.v[0],
	    "https://app.example.com");
	assert_string_equal(c->cors.allow_origins.v[1],
	    "http://localhost:3000");
	assert_string_equal(c->cors.allow_methods, "GET, POST");
	assert_string_equal(c->cors.allow_headers, "Content-Type, Upload-Id");
	assert_int_equal(c->cors.max_age, 120);

	assert_string_equal(c->affinity.header, "upload-id");
	assert_string_equal(c->affinity.mode, "embedded");
	assert_int_equal(c->affinity.path_segment, 2);

	snprintf(want, sizeof(want), "%s/logs/access.log", tmpdir);
	assert_string_equal(c->log.access, want);
	assert_int_equal(c->log.format_json, 0);
	assert_int_equal(c->log.log_query, 1);
	assert_int_equal(c->metrics.per_server, 0);

	assert_int_equal(c->nregions, 2);
	assert_int_equal(c->nservers, 0);
	assert_int_equal(c->default_region, 1);
	r = &c->regions[0];
	assert_string_equal(r->name, "eu-west");
	assert_int_equal(r->line, 68);
	assert_true(r->has_location);
	assert_true(r->lat == 53.35 && r->lon == -6.26);
	assert_int_equal(r->countries.n, 2);
	assert_string_equal(r->countries.v[0], "GB");
	assert_string_equal(r->countries.v[1], "IE");
	assert_int_equal(r->continents.n, 2);
	assert_string_equal(r->continents.v[0], "EU");
	assert_string_equal(r->continents.v[1], "AF");
	assert_int_equal(r->fallback.n, 1);
	assert_string_equal(r->fallback.v[0], "us-east");
	assert_false(r->is_default);
	assert_true(c->regions[1].is_default);
	assert_true(c->regions[1].lon == -77.49);
	assert_int_equal(config_region_index(c, "us-east"), 1);
	assert_int_equal(config_region_index(c, "eu-west"), 0);
	assert_int_equal(config_region_index(c, "US-EAST"), -1);
	config_free(c);
}

static void
test_defaults(void **state)
{
	struct config	*c;

	(void)state;
	c = load_ok(BASE);
	assert_int_equal(c->listen.naddrs, 1);
	assert_string_equal(c->listen.addrs[0].text, "0.0.0.0:8307");
	assert_int_equal(port_of(&c->listen.addrs[0]), 8307);
	assert_int_equal(c->listen.public_names.n, 0);
	assert_int_equal(c->listen.threads, 0);
	assert_int_equal(c->listen.max_connections, 10000);
	assert_int_equal(c->listen.per_ip_connections, 256);
	assert_true(c->listen.header_timeout == 10);
	assert_true(c->listen.keepalive_timeout == 75);
	assert_int_equal(c->listen.max_header_bytes, 16384);
	assert_null(c->listen.health_path);
	assert_true(c->listen.shutdown_delay == 0);
	assert_true(c->listen.shutdown_grace == 10);
	assert_null(c->listen.tls_cert);
	assert_null(c->listen.tls_key);
	assert_int_equal(c->linger.max_bytes, 256 << 20);
	assert_true(c->linger.idle == 10);
	assert_true(c->linger.max_time == 300);
	assert_int_equal(c->linger.max_connections, 10000);
	assert_int_equal(c->linger.per_ip, 16);
	assert_true(c->admin.enabled);
	assert_string_equal(c->admin.addr.text, "127.0.0.1:9307");
	assert_int_equal(c->admin.allow.n, 2);
	assert_string_equal(c->geoip.database,
	    "/var/lib/GeoIP/GeoLite2-City.mmdb");
	assert_null(c->redis.url);
	assert_int_equal(c->redis.sentinels.n, 0);
	assert_null(c->redis.master);
	assert_string_equal(c->redis.prefix, "geo307:");
	assert_true(c->redis.refresh == 1);
	assert_true(c->redis.full_resync == 10);
	assert_true(c->redis.stale_after == 15);
	assert_string_equal(c->redis.cache_file, "/var/lib/geo307/fleet.cache");
	assert_true(c->redis.cache_max_age == 86400);
	assert_int_equal(c->redirect.status, 307);
	assert_true(c->redirect.retry_after == 30);
	assert_false(c->redirect.has_allowed_hosts);
	assert_false(c->redirect.allow_http);
	assert_true(c->selection.spill_below == 0.10);
	assert_true(c->selection.slow_start == 0);
	assert_false(c->selection.has_seed);
	assert_int_equal(c->trust.proxies.n, 0);
	assert_string_equal(c->trust.header, "x-forwarded-for");
	assert_int_equal(c->trust.kind, TRUST_XFF);
	assert_int_equal(c->synthetic.tokens.n, 0);
	assert_null(c->lookup.prefix);
	assert_int_equal(c->cors.allow_origins.n, 0);
	assert_string_equal(c->cors.allow_methods,
	    "GET, HEAD, POST, PUT, PATCH, DELETE");
	assert_string_equal(c->cors.allow_headers, "Content-Type, Upload-Id, "
	    "Upload-Length, Upload-Offset, Upload-Metadata, Tus-Resumable");
	assert_int_equal(c->cors.max_age, 600);
	assert_null(c->affinity.header);
	assert_string_equal(c->affinity.mode, "hash");
	assert_int_equal(c->affinity.path_segment, 0);
	assert_string_equal(c->log.access, "stdout");
	assert_int_equal(c->log.format_json, 1);
	assert_int_equal(c->log.log_query, 0);
	assert_int_equal(c->metrics.per_server, 1);
	assert_int_equal(c->nregions, 1);
	assert_false(c->regions[0].has_location);
	assert_int_equal(c->regions[0].line, 1);
	assert_int_equal(c->default_region, 0);
	assert_int_equal(c->nservers, 1);
	assert_string_equal(c->servers[0].id, "s1");
	assert_string_equal(c->servers[0].url, "https://s1.example.com");
	assert_string_equal(c->servers[0].region, "eu");
	assert_int_equal(c->servers[0].weight, 100);
	assert_int_equal(c->servers[0].line, 3);
	config_free(c);
}

/* A relative config path: paths still come out absolute. */
static void
test_relative_paths(void **state)
{
	struct config	*c;
	char		 cwd[PATH_MAX], err[1024], want[PATH_MAX + 64];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(mkdir(in_dir("sub"), 0700), 0);
	write_file(in_dir("sub/r.conf"), "[geoip]\ndatabase = ./././x.mmdb\n"
	    "[log]\naccess = off\n" BASE, strlen("[geoip]\ndatabase = "
	    "./././x.mmdb\n[log]\naccess = off\n" BASE));
	assert_int_equal(chdir(tmpdir), 0);
	c = config_load("sub/r.conf", err, sizeof(err));
	if (c == NULL) {
		assert_int_equal(chdir(cwd), 0);
		fail_msg("%s", err);
	}
	snprintf(want, sizeof(want), "%s/sub/x.mmdb", tmpdir);
	assert_string_equal(c->geoip.database, want);
	assert_null(c->log.access);
	assert_string_equal(c->path, "sub/r.conf");
	config_free(c);

	/* The config in the working directory itself. */
	assert_int_equal(chdir(in_dir("sub")), 0);
	c = config_load("r.conf", err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->geoip.database, want);
	config_free(c);
}

/* [redirect] after [server], [region] after [server]: still checked. */
static void
test_order_does_not_matter(void **state)
{
	struct config	*c;

	(void)state;
	c = load_ok("[server s1]\n"
	    "region = late\n"
	    "url = https://s1.up.example.com\n"
	    "[region late]\n"
	    "default = yes\n"
	    "[redirect]\n"
	    "allowed_hosts = *.up.example.com\n");
	assert_int_equal(c->nservers, 1);
	config_free(c);
	expect_exact("[server s1]\n"
	    "region = late\n"
	    "url = https://s1.other.example.com\n"
	    "[region late]\n"
	    "default = yes\n"
	    "[redirect]\n"
	    "allowed_hosts = *.up.example.com\n", 3,
	    "[server s1] url: bad url \"https://s1.other.example.com\" "
	    "(host not in [redirect] allowed_hosts)");
}

static void
test_missing_file(void **state)
{
	char	err[1024], want[PATH_MAX + 64];

	(void)state;
	snprintf(want, sizeof(want), "%s: No such file or directory",
	    in_dir("nope.conf"));
	assert_null(config_load(in_dir("nope.conf"), err, sizeof(err)));
	assert_string_equal(err, want);
	snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
	assert_null(config_load(tmpdir, err, sizeof(err)));
	assert_string_equal(err, want);
}

static void
test_unknown_section(void **state)
{
	(void)state;
	expect_exact(BASE "[bogus]\nx = 1\n", 6, "unknown section [bogus]");
	/* Even when empty: inih alone would never mention it. */
	expect_exact(BASE "\n[Listen]\n", 7, "unknown section [Listen]");
}

static void
test_unknown_key(void **state)
{
	(void)state;
	expect_exact("[listen]\nadress = 1.2.3.4:80\n" BASE, 2,
	    "[listen] unknown key \"adress\" (did you mean \"address\"?)");
	expect_exact(BASE "weigth = 3\n", 6, "[server s1] unknown key "
	    "\"weigth\" (did you mean \"weight\"?)");
	/* Nothing close: no guess. */
	expect_exact("[listen]\nbogus = 1\n" BASE, 2,
	    "[listen] unknown key \"bogus\"");
}

static void
test_duplicate_key(void **state)
{
	(void)state;
	expect_exact("[listen]\nthreads = 1\n; again\nthreads = 2\n" BASE, 4,
	    "[listen] duplicate key \"threads\" (first at line 2)");
	expect_exact(BASE "region = eu\n", 6,
	    "[server s1] duplicate key \"region\" (first at line 5)");
}

/*
 * Found by fuzzing: thousands of one-line [region] sections (a 1 MiB
 * file holds some 30,000) made loading take minutes and gigabytes (the
 * region map is n * n).  REGIONS_MAX of them load; one more is an error
 * that names its line, and a file far over it fails as fast.
 */
static void
test_too_many_regions(void **state)
{
	struct config	*cfg;
	char		*text, *p, err[1024];
	size_t		 size = 40 * 30000 + 256;
	int		 i;

	(void)state;
	text = malloc(size);
	assert_non_null(text);
	p = text + sprintf(text, BASE);
	for (i = 1; i < REGIONS_MAX; i++)
		p += sprintf(p, "[region r%d]\n", i);
	cfg = load_ok(text);
	assert_int_equal(cfg->nregions, REGIONS_MAX);
	config_free(cfg);
	/* BASE is 5 lines; region r1 is on line 6, r1024 on line 1029. */
	p += sprintf(p, "[region r%d]\n", REGIONS_MAX);
	expect_exact(text, 5 + REGIONS_MAX, "[region r1024]: more than 1024 "
	    "[region] sections");
	for (i = REGIONS_MAX + 1; i < 30000; i++)
		p += sprintf(p, "[region r%d]\n", i);
	assert_true((size_t)(p - text) < size);
	assert_null(cfg = load(text, err, sizeof(err)));
	check_err(err, 5 + REGIONS_MAX, "more than 1024 [region]", 0);
	free(text);
}

static void
test_duplicate_sections(void **state)
{
	(void)state;
	expect_exact("[listen]\n[log]\n[listen]\n" BASE, 3,
	    "duplicate section [listen] (first at line 1)");
	expect_exact(BASE "[region eu]\n", 6,
	    "duplicate [region eu] (first at line 1)");
	expect_exact(BASE "[server s1]\nurl = https://x.example.com\n"
	    "region = eu\n", 6, "duplicate [server s1] (first at line 3)");
}

static void
test_bad_duration(void **state)
{
	static const char *bad[] = {
		"10s", "-1", "nan", "inf", "1e3", "0x10", "", "1.", ".5",
		"1,5", "+1", "1 2", "3601", "0", "0.0"
	};
	char	text[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[listen]\n\nheader_timeout = %s\n"
		    BASE, bad[i]);
		expect_err(text, 3, "[listen] header_timeout: bad duration \"");
	}
	expect_exact("[linger]\nmax_time = 10m\n" BASE, 2, "[linger] "
	    "max_time: bad duration \"10m\" (seconds, like 10 or 0.5; more "
	    "than 0, at most 86400)");
	/* 0 is fine where it means "off". */
	expect_err("[listen]\nshutdown_delay = 0\nshutdown_grace = -0\n" BASE,
	    3, "[listen] shutdown_grace: bad duration \"-0\"");
}

static void
test_bad_size(void **state)
{
	static const char *bad[] = { "16KB", "-1K", "2M", "1023", "K", "16 K",
	    "99999999999999999999" };
	char	text[256];
	size_t	i;

	(void)state;
	expect_exact("[listen]\nmax_header_bytes = 16Q\n" BASE, 2,
	    "[listen] max_header_bytes: bad size \"16Q\" (bytes with an "
	    "optional K, M or G; 1024..1048576)");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[listen]\nmax_header_bytes = "
		    "%s\n" BASE, bad[i]);
		expect_err(text, 2, "[listen] max_header_bytes: bad size");
	}
}

static void
test_bad_bool(void **state)
{
	struct config	*c;

	(void)state;
	expect_exact("[redirect]\nallow_http = maybe\n" BASE, 2,
	    "[redirect] allow_http: bad boolean \"maybe\" (yes, no, true, "
	    "false, on, off, 1 or 0)");
	c = load_ok("[log]\nlog_query = TRUE\n[metrics]\nper_server = 0\n"
	    BASE);
	assert_int_equal(c->log.log_query, 1);
	assert_int_equal(c->metrics.per_server, 0);
	config_free(c);
}

static void
test_bad_int(void **state)
{
	(void)state;
	expect_exact("[listen]\nthreads = -1\n" BASE, 2,
	    "[listen] threads: bad integer \"-1\" (0..1024)");
	expect_err("[listen]\nthreads = 1025\n" BASE, 2,
	    "[listen] threads: bad integer \"1025\"");
	expect_err("[listen]\nthreads = 4x\n" BASE, 2, "bad integer \"4x\"");
	expect_err("[listen]\nmax_connections = 0\n" BASE, 2,
	    "[listen] max_connections: bad integer \"0\" (1..1000000)");
	expect_err("[cors]\nmax_age = 99999999999999999999999\n" BASE, 2,
	    "[cors] max_age: bad integer");
	expect_err("[affinity]\npath_segment = -2\n" BASE, 2,
	    "[affinity] path_segment: bad integer \"-2\"");
}

static void
test_bad_cidr(void **state)
{
	(void)state;
	/* The bad item is on a continuation line: that line is named. */
	expect_exact("[trust]\nproxies = 10.0.0.0/8,\n    192.168.0.0/33\n"
	    BASE, 3, "[trust] proxies: bad address or CIDR \"192.168.0.0/33\" "
	    "(like 10.0.0.0/8 or ::1/128)");
	expect_err("[admin]\nallow = localhost\n" BASE, 2,
	    "[admin] allow: bad address or CIDR \"localhost\"");
}

static void
test_bad_address(void **state)
{
	static const char *bad[] = { "localhost:8307", "[::1]", "127.0.0.1",
	    "1.2.3.4:70000", "::1:80", "[1.2.3.4]:80" };
	char	text[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[listen]\naddress = 127.0.0.1:1 "
		    "%s\n" BASE, bad[i]);
		expect_err(text, 2, "[listen] address: bad address \"");
	}
	expect_exact("[admin]\naddress = 9307\n" BASE, 2, "[admin] address: "
	    "bad address \"9307\" (IP:port, [IPv6]:port or *:port; no host "
	    "names)");
	expect_err("[listen]\naddress = 127.0.0.1:80 127.0.0.1:80\n" BASE, 2,
	    "[listen] address: address listed twice \"127.0.0.1:80\"");
	expect_err("[listen]\naddress =\n" BASE, 2,
	    "[listen] address: must not be empty");
}

static void
test_bad_names(void **state)
{
	char	text[512], name[80];

	(void)state;
	expect_exact("[region e%u]\ndefault = yes\n", 1, "[region e%u]: bad "
	    "name \"e%u\" (letters, digits, '.', '_', '-', not first; at most "
	    "63)");
	expect_err(BASE "[server -s2]\n", 6, "[server -s2]: bad name");
	expect_exact(BASE "[region]\n", 6, "[region] needs a name: "
	    "[region NAME]");
	expect_exact("[listen main]\n" BASE, 1, "[listen main]: [listen] "
	    "takes no name");
	/* 63 bytes is the limit; inih alone would cut names at 49. */
	memset(name, 'a', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), BASE "[server %s]\n", name);
	expect_err(text, 6, "bad name");
	name[63] = '\0';
	snprintf(text, sizeof(text), BASE "[server %s]\nurl = https://x.e.com\n"
	    "region = eu\n", name);
	{
		struct config *c = load_ok(text);

		assert_string_equal(c->servers[1].id, name);
		config_free(c);
	}
}

static void
test_country_in_two_regions(void **state)
{
	(void)state;
	expect_exact("[region a]\n"
	    "countries = FR DE\n"
	    "[region b]\n"
	    "countries = IT\n"
	    "    es de\n"
	    BASE, 5, "[region b] countries: \"DE\" is also in [region a] at "
	    "line 2");
	expect_err("[region a]\ncountries = FR\n[region eu]\ndefault = yes\n"
	    "countries = fr\n[server s1]\nurl = https://s1.example.com\n"
	    "region = eu\n", 5,
	    "[region eu] countries: \"FR\" is also in [region a] at line 2");
}

static void
test_countries_and_continents(void **state)
{
	struct config	*c;

	(void)state;
	c = load_ok("[region x]\ncountries = gb,ie\ncontinents = Eu\n" BASE);
	assert_string_equal(c->regions[0].countries.v[1], "IE");
	assert_string_equal(c->regions[0].continents.v[0], "EU");
	config_free(c);
	expect_exact("[region x]\ncountries = GBR\n" BASE, 2,
	    "[region x] countries: bad country \"GBR\" (ISO 3166 alpha-2, "
	    "like GB)");
	expect_err("[region x]\ncountries = G1\n" BASE, 2, "bad country \"G1\"");
	expect_err("[region x]\ncountries = GB gb\n" BASE, 2,
	    "country listed twice \"GB\"");
	expect_exact("[region x]\ncontinents = EU EUR\n" BASE, 2,
	    "[region x] continents: bad continent \"EUR\" (AF AN AS EU NA OC "
	    "SA)");
}

static void
test_zero_defaults(void **state)
{
	(void)state;
	expect_exact("[region a]\n[region b]\ndefault = no\n"
	    "[server s1]\nurl = https://s1.example.com\nregion = a\n", 0,
	    "no region has \"default = yes\" (exactly one must: it serves "
	    "clients whose location is unknown)");
	expect_exact("[server s1]\nurl = https://s1.example.com\nregion = a\n",
	    0, "no [region] sections: at least one is needed");
}

static void
test_two_defaults(void **state)
{
	(void)state;
	expect_exact(BASE "[region b]\n; comment\ndefault = on\n", 8,
	    "[region b] default: a second default region; [region eu] says so "
	    "at line 2 (exactly one may)");
}

static void
test_fallback(void **state)
{
	struct config	*c;

	(void)state;
	/* A fallback may name a region defined further down. */
	c = load_ok("[region a]\nfallback = eu\n" BASE);
	assert_string_equal(c->regions[0].fallback.v[0], "eu");
	config_free(c);
	expect_exact("[region a]\nfallback = eu,\n  nowhere\n" BASE, 3,
	    "[region a] fallback: unknown region \"nowhere\"");
	expect_exact("[region a]\nfallback = a\n" BASE, 2, "[region a] "
	    "fallback: a region cannot fall back to itself \"a\"");
	expect_err("[region a]\nfallback = eu eu\n" BASE, 2,
	    "region listed twice \"eu\"");
}

static void
test_server_with_redis(void **state)
{
	(void)state;
	expect_exact("[redis]\nurl = redis://127.0.0.1:6379/0\n[redirect]\n"
	    "allowed_hosts = *.example.com\n" BASE, 7, "[server s1]: [server] "
	    "sections cannot be used with a [redis] url (line 2): the fleet "
	    "comes from one or the other");
}

static void
test_nothing_to_route_to(void **state)
{
	(void)state;
	expect_exact("[region eu]\ndefault = yes\n", 0,
	    "nothing to route to: add [server] sections or a [redis] url");
}

static void
test_redis(void **state)
{
	struct config	*c;

	(void)state;
	expect_exact("[region eu]\ndefault = yes\n[redis]\n"
	    "url = redis://10.0.0.1:6379\n", 4, "[redis] url: [redirect] "
	    "allowed_hosts is required with Redis (server URLs in Redis must "
	    "match it)");
	c = load_ok("[region eu]\ndefault = yes\n[redis]\n"
	    "url = unix:/run/redis/redis.sock\n[redirect]\n"
	    "allowed_hosts = 10.0.0.0/8\n");
	assert_string_equal(c->redis.url, "unix:/run/redis/redis.sock");
	assert_int_equal(c->nservers, 0);
	config_free(c);
	expect_err("[redis]\nurl = rediss://r.example.com\n" BASE, 2,
	    "[redis] url: bad url (rediss:// is not supported: hiredis 0.14 "
	    "has no TLS");
	/* A url may hold a password: it is never quoted back. */
	{
		struct config	*c2;
		char		 e2[1024];

		c2 = load("[redis]\nurl = redis://:hunter2@127.0.0.1:99999/0\n"
		    BASE, e2, sizeof(e2));
		assert_null(c2);
		check_err(e2, 2, "[redis] url: bad url (bad port", 0);
		assert_null(strstr(e2, "hunter2"));
	}
	/* What the router's parser refuses is refused here, at the line. */
	expect_err("[redis]\nurl = redis://r.example.com/99999\n" BASE, 2,
	    "[redis] url: bad url (bad db");
	expect_err("[redis]\nurl = unix:/run/r.sock?db=x\n" BASE, 2,
	    "[redis] url: bad url (");
	expect_err("[redis]\nurl = http://r.example.com\n" BASE, 2,
	    "[redis] url: bad url");
	expect_exact("[redis]\nrefresh = 5\nfull_resync = 2\n" BASE, 3,
	    "[redis] full_resync: shorter than refresh");
}

static void
test_sentinels(void **state)
{
	(void)state;
	expect_exact("[redis]\nsentinels = 10.0.0.1:26379\n" BASE, 2,
	    "[redis] sentinels: needs [redis] master too");
	expect_exact("[redis]\nmaster = m\n" BASE, 2,
	    "[redis] master: needs [redis] sentinels too");
	expect_err("[redis]\nsentinels = 10.0.0.1\n" BASE, 2,
	    "[redis] sentinels: bad address \"10.0.0.1\" (host:port)");
	expect_err("[redis]\nsentinels = s:26379\nmaster = m\n" BASE, 2,
	    "[redis] sentinels: needs [redis] url too");
}

static void
test_server_url_scheme(void **state)
{
	struct config	*c;

	(void)state;
	expect_exact("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = http://s1.example.com\nregion = eu\n", 4,
	    "[server s1] url: bad url \"http://s1.example.com\" (https:// "
	    "only (http:// needs [redirect] allow_http = yes))");
	expect_err("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = ftp://s1.example.com\nregion = eu\n", 4,
	    "[server s1] url: bad url \"ftp://s1.example.com\" (https://");
	c = load_ok("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = http://s1.example.com\nregion = eu\n[redirect]\n"
	    "allow_http = yes\n");
	config_free(c);
	expect_err("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = https://u:p@s1.example.com\nregion = eu\n", 4,
	    "(no user:password@ allowed)");
	expect_err("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = https://s1.example.com/?a=1\nregion = eu\n", 4,
	    "(no query allowed)");
}

static void
test_server_host_not_allowed(void **state)
{
	(void)state;
	expect_exact("[redirect]\nallowed_hosts = *.upload.example.com "
	    "10.0.0.0/8\n[region eu]\ndefault = yes\n[server s1]\n"
	    "url = https://s1.evil.example.com\nregion = eu\n", 6,
	    "[server s1] url: bad url \"https://s1.evil.example.com\" (host "
	    "not in [redirect] allowed_hosts)");
	expect_exact("[redirect]\nallowed_hosts = upload.example.com, "
	    "*example.com\n" BASE, 2, "[redirect] allowed_hosts: bad host "
	    "pattern \"*example.com\" (a name, *.suffix or a CIDR)");
}

static void
test_server_loop(void **state)
{
	(void)state;
	expect_exact("[listen]\npublic_names = upload.example.com\n"
	    "[region eu]\ndefault = yes\n[server s1]\n"
	    "url = https://UPLOAD.example.com/x\nregion = eu\n", 6,
	    "[server s1] url: bad url \"https://UPLOAD.example.com/x\" (host "
	    "is one of [listen] public_names: a redirect loop)");
	expect_err("[listen]\npublic_names = upload.example.com/x\n" BASE, 2,
	    "[listen] public_names: bad host name \"upload.example.com/x\"");
}

static void
test_server_missing_keys(void **state)
{
	(void)state;
	expect_exact("[region eu]\ndefault = yes\n\n[server s1]\nregion = eu\n",
	    4, "[server s1] missing required key \"url\"");
	expect_exact("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = https://s1.example.com\n", 3, "[server s1] missing "
	    "required key \"region\"");
	expect_exact("[region eu]\ndefault = yes\n[server s1]\nurl =\n"
	    "region = eu\n", 4, "[server s1] url: must not be empty (an "
	    "https:// URL)");
}

static void
test_server_unknown_region(void **state)
{
	(void)state;
	expect_exact("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = https://s1.example.com\nregion = us\n", 5,
	    "[server s1] region: unknown region \"us\"");
	expect_err("[region eu]\ndefault = yes\n[server s1]\n"
	    "url = https://s1.example.com\nregion = u s\n", 5,
	    "[server s1] region: bad region name \"u s\"");
}

static void
test_weight(void **state)
{
	struct config	*c;

	(void)state;
	expect_exact(BASE "weight = 1000001\n", 6,
	    "[server s1] weight: bad integer \"1000001\" (0..1000000)");
	c = load_ok(BASE "weight = 0\n");
	assert_int_equal(c->servers[0].weight, 0);
	config_free(c);
	c = load_ok(BASE "weight = 1000000\n");
	assert_int_equal(c->servers[0].weight, 1000000);
	config_free(c);
}

static void
test_status(void **state)
{
	(void)state;
	expect_exact("[redirect]\nstatus = 302\n" BASE, 2,
	    "[redirect] status: bad status \"302\" (307 or 308)");
	expect_err("[redirect]\nstatus = 0307\n" BASE, 2, "bad status");
}

static void
test_location(void **state)
{
	static const char *bad[] = { "91, 0", "0", "a, b", "0, 181",
	    "1, 2, 3", "-90.5, 0", "1e1, 0" };
	struct config	*c;
	char		 text[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[region x]\nlocation = %s\n" BASE,
		    bad[i]);
		expect_err(text, 2, "[region x] location: bad location \"");
	}
	c = load_ok("[region x]\nlocation = -90 180\n" BASE);
	assert_true(c->regions[0].lat == -90 && c->regions[0].lon == 180);
	config_free(c);
}

static void
test_trust_header(void **state)
{
	static const struct {
		const char		*in, *out;
		enum trust_header_kind	 kind;
	} cases[] = {
		{ "Forwarded", "forwarded", TRUST_FORWARDED },
		{ "X-Forwarded-For", "x-forwarded-for", TRUST_XFF },
		{ "X-Original-Forwarded-For", "x-original-forwarded-for",
		    TRUST_XFF },
		{ "x-real-ip", "x-real-ip", TRUST_SINGLE },
		{ "CF-Connecting-IP", "cf-connecting-ip", TRUST_SINGLE },
	};
	struct config	*c;
	char		 text[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[trust]\nheader = %s\n" BASE,
		    cases[i].in);
		c = load_ok(text);
		assert_string_equal(c->trust.header, cases[i].out);
		assert_int_equal(c->trust.kind, cases[i].kind);
		config_free(c);
	}
	expect_exact("[trust]\nheader = x real ip\n" BASE, 2, "[trust] header: "
	    "bad header name \"x real ip\" (an HTTP token like "
	    "x-forwarded-for)");
	expect_err("[trust]\nheader =\n" BASE, 2,
	    "[trust] header: must not be empty");
}

static void
test_url_paths(void **state)
{
	static const char *bad[] = { "/", "lookup", "/lookup/", "/a b",
	    "/a?b", "/a#b" };
	struct config	*c;
	char		 text[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[lookup]\nprefix = %s\n" BASE,
		    bad[i]);
		expect_err(text, 2, "[lookup] prefix: bad path \"");
		snprintf(text, sizeof(text), "[listen]\nhealth_path = %s\n"
		    BASE, bad[i]);
		expect_err(text, 2, "[listen] health_path: bad path \"");
	}
	c = load_ok("[lookup]\nprefix = /a/b\n[listen]\nhealth_path = /h\n"
	    BASE);
	assert_string_equal(c->lookup.prefix, "/a/b");
	assert_string_equal(c->listen.health_path, "/h");
	config_free(c);
}

static void
test_continuation_lines(void **state)
{
	struct config	*c;

	(void)state;
	/* Lists continue on indented lines; comment lines may sit between. */
	c = load_ok("[trust]\n"
	    "proxies = 10.0.0.0/8,\n"
	    "\t172.16.0.0/12 ; office\n"
	    "    ; the VPN\n"
	    "    192.168.0.0/16\n"
	    "header = x-forwarded-for\n" BASE);
	assert_int_equal(c->trust.proxies.n, 3);
	assert_int_equal(c->trust.proxies.v[2].prefix, 16);
	config_free(c);
	/* Indented keys are keys, not continuations. */
	c = load_ok("[region eu]\n"
	    "    countries = GB IE\n"
	    "    continents = EU\n"
	    "    default = yes\n"
	    "[server s1]\n"
	    "  url = https://s1.example.com\n"
	    "  region = eu\n");
	assert_int_equal(c->regions[0].countries.n, 2);
	assert_int_equal(c->regions[0].continents.n, 1);
	assert_true(c->regions[0].is_default);
	config_free(c);
	/* Only lists continue. */
	expect_exact("[listen]\nheader_timeout = 10\n  20\n" BASE, 3,
	    "[listen] header_timeout: only lists may continue on an indented "
	    "line");
	/* A blank line ends a value. */
	expect_err("[trust]\nproxies = 10.0.0.0/8\n\n    192.168.0.0/16\n"
	    BASE, 4, "syntax error: an indented line continues a list only "
	    "directly below it");
}

/*
 * inih's line buffer is 200 bytes: longer lines must neither be split
 * nor refused.  The integration tests use a 4.3 KB server URL.
 */
static void
test_long_lines(void **state)
{
	struct config	*c;
	char		 text[8192], url[4400], *p;
	int		 i;

	(void)state;
	p = text + sprintf(text, "[synthetic]\ntokens =");
	for (i = 0; i < 25; i++)
		p += sprintf(p, " token-%02d", i);
	sprintf(p, " ; %0200d\n%s", 0, BASE "weight = 7\n");
	c = load_ok(text);
	assert_int_equal(c->synthetic.tokens.n, 25);
	assert_string_equal(c->synthetic.tokens.v[24], "token-24");
	/* The lines after it are still counted and read. */
	assert_int_equal(c->servers[0].line, 5);
	assert_int_equal(c->servers[0].weight, 7);
	config_free(c);

	snprintf(url, sizeof(url), "https://long.example.com/%04300d", 0);
	snprintf(text, sizeof(text), "[region eu]\ndefault = yes\n"
	    "[server s1]\nurl = %s\nregion = eu\n", url);
	c = load_ok(text);
	assert_string_equal(c->servers[0].url, url);
	config_free(c);

	/* The same list over continuation lines. */
	p = text + sprintf(text, "[synthetic]\ntokens =");
	for (i = 0; i < 20; i++)
		p += sprintf(p, "%s token-%02d", i % 5 == 0 ? "\n   " : "", i);
	sprintf(p, "\n%s", BASE);
	c = load_ok(text);
	assert_int_equal(c->synthetic.tokens.n, 20);
	assert_string_equal(c->synthetic.tokens.v[19], "token-19");
	config_free(c);

	/* A long line with no '=' is still a syntax error, at its line. */
	snprintf(text, sizeof(text), "[listen]\n\n%0300d\n" BASE, 0);
	expect_exact(text, 3, "syntax error: expected \"key = value\", "
	    "\"[section]\" or a comment");
	/* And a long value is checked like any other. */
	memset(url, '9', 300);
	url[300] = '\0';
	snprintf(text, sizeof(text), "[listen]\nthreads = %s\n" BASE, url);
	expect_err(text, 2, "[listen] threads: bad integer \"999");
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	expect_exact("[listen]\nthreads 4\n" BASE, 2, "syntax error: expected "
	    "\"key = value\", \"[section]\" or a comment");
	expect_exact("threads = 4\n" BASE, 1, "key \"threads\" before any "
	    "[section]");
	expect_exact("[listen\n" BASE, 1, "bad section header \"[listen\" "
	    "(expected [section] or [section name])");
	expect_err("[listen] x\n" BASE, 1, "bad section header");
	expect_err("[ ]\n" BASE, 1, "bad section header");
}

static void
test_comments_bom_crlf(void **state)
{
	static const char text[] =
	    "\xef\xbb\xbf; comment\r\n"
	    "# another\r\n"
	    "[listen] ; inline\r\n"
	    "threads = 3 ; inline\r\n"
	    "[redis]\r\n"
	    "prefix = a;b\r\n"
	    "[region eu]\r\ndefault = yes\r\n"
	    "[server s1]\r\nurl = https://s1.example.com\r\nregion = eu\r\n";
	struct config	*c;

	(void)state;
	c = load_ok(text);
	assert_int_equal(c->listen.threads, 3);
	/* ';' without a blank before it is not a comment (inih's rule). */
	assert_string_equal(c->redis.prefix, "a;b");
	config_free(c);
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "[listen]\nthreads = 1\x00\n" BASE;
	char	err[1024];

	(void)state;
	write_file(path, text, sizeof(text) - 1);
	assert_null(config_load(path, err, sizeof(err)));
	check_err(err, 2, "NUL byte", 0);
}

static void
test_tls_pair(void **state)
{
	(void)state;
	expect_exact("[listen]\ntls_cert = c.pem\n" BASE, 2,
	    "[listen] tls_cert: needs tls_key too (both or neither)");
	expect_exact("[listen]\n\ntls_key = k.pem\n" BASE, 3,
	    "[listen] tls_key: needs tls_cert too (both or neither)");
}

static void
test_admin(void **state)
{
	struct config	*c;

	(void)state;
	c = load_ok("[admin]\naddress =\n" BASE);
	assert_false(c->admin.enabled);
	config_free(c);
	expect_exact("[listen]\naddress = 0.0.0.0:8307\n[admin]\n"
	    "address = 127.0.0.1:8307\n" BASE, 4, "[admin] address: "
	    "\"127.0.0.1:8307\" overlaps [listen] address \"0.0.0.0:8307\" "
	    "(admin pages would be public)");
	/* Another port, or the other family, is fine. */
	c = load_ok("[listen]\naddress = [::]:8307\n[admin]\n"
	    "address = 127.0.0.1:8307\n" BASE);
	config_free(c);
}

static void
test_selection(void **state)
{
	struct config	*c;

	(void)state;
	expect_exact("[selection]\nspill_below = 1.0\n" BASE, 2, "[selection] "
	    "spill_below: bad fraction \"1.0\" (at least 0 and less than 1, "
	    "like 0.10)");
	expect_err("[selection]\nspill_below = -0.1\n" BASE, 2,
	    "bad fraction");
	expect_err("[selection]\nseed = 18446744073709551616\n" BASE, 2,
	    "[selection] seed: bad seed");
	c = load_ok("[selection]\nspill_below = 0\nseed = 0\n" BASE);
	assert_true(c->selection.spill_below == 0);
	assert_true(c->selection.has_seed);
	assert_true(c->selection.seed == 0);
	config_free(c);
}

static void
test_log(void **state)
{
	(void)state;
	expect_exact("[log]\nformat = text\n" BASE, 2,
	    "[log] format: bad format \"text\" (json or combined)");
	expect_err("[log]\naccess = stderr\n" BASE, 2,
	    "[log] access: bad value \"stderr\"");
	expect_err("[log]\naccess = a\tb\n" BASE, 2,
	    "[log] access: bad value \"a\\x09b\" (control characters)");
	expect_err("[log]\naccess =\n" BASE, 2,
	    "[log] access: must not be empty");
	expect_err("[affinity]\nmode = sticky\n" BASE, 2,
	    "[affinity] mode: bad mode \"sticky\" (hash or embedded)");
}

static void
test_cors_and_tokens(void **state)
{
	struct config	*c;
	char		 err[1024];

	(void)state;
	expect_err("[cors]\nallow_origins = example.com\n" BASE, 2,
	    "[cors] allow_origins: bad origin \"example.com\"");
	expect_err("[cors]\nallow_origins = https://a.example.com/app\n" BASE,
	    2, "bad origin");
	expect_err("[cors]\nallow_methods = GET, P(ST\n" BASE, 2,
	    "[cors] allow_methods: bad name \"P(ST\"");
	c = load_ok("[cors]\nallow_origins = *\nallow_headers =\n" BASE);
	assert_string_equal(c->cors.allow_origins.v[0], "*");
	assert_string_equal(c->cors.allow_headers, "");
	config_free(c);
	/* A bad token is never echoed: the message names the line only. */
	assert_null(load("[synthetic]\ntokens = good s\x01" "cret\n" BASE, err,
	    sizeof(err)));
	check_err(err, 2, "[synthetic] tokens: bad token", 0);
	assert_null(strstr(err, "cret"));
}

/* The shipped demo config must load (GEO307_SRCDIR from make check). */
static void
test_demo_conf(void **state)
{
	struct config	*c;
	const char	*src = getenv("GEO307_SRCDIR");
	char		 p[PATH_MAX], err[1024];
	int		 i;

	(void)state;
	snprintf(p, sizeof(p), "%s/data/demo.conf",
	    src != NULL ? src : ".");
	if (access(p, R_OK) != 0)
		skip();
	if ((c = config_load(p, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->listen.addrs[0].text, "127.0.0.1:8307");
	assert_string_equal(c->admin.addr.text, "127.0.0.1:9307");
	assert_non_null(strstr(c->geoip.database, "/data/geoip-country.mmdb"));
	assert_int_equal(c->geoip.database[0], '/');
	assert_int_equal(c->trust.kind, TRUST_XFF);
	assert_string_equal(c->lookup.prefix, "/.geo307/lookup");
	assert_string_equal(c->listen.health_path, "/healthz");
	assert_null(c->redis.url);
	assert_true(c->nregions >= 4);
	assert_true(c->nservers >= 2 * c->nregions);
	i = config_region_index(c, "us-east");
	assert_true(i >= 0);
	assert_int_equal(c->default_region, (size_t)i);
	config_free(c);
}


/* The grammar at the top of src/config_read.c, rule by rule. */
static void
test_grammar(void **state)
{
	struct config	*c;
	char		 text[1024], name[64];

	(void)state;
	c = load_ok("# hash comment\n"
	    "; semicolon comment\n"
	    "   ; indented comment\n"
	    "[listen]   # after a header\n"
	    "threads: 2\n"			/* ':' separates too */
	    "[redis]\n"
	    "prefix = a#b ; '#' inline is data, ';' after a blank is not\n"
	    "[synthetic]\n"
	    "tokens =x;y\n"			/* no blank before ';' */
	    "[ trust ]\n"			/* blanks inside brackets */
	    "proxies =\n"			/* an empty first line */
	    "  10.0.0.0/8\n"			/* ...continued */
	    "\t; comment between\n"
	    "  192.168.0.0/16, ::1\n"
	    "  header = x-real-ip\n"		/* indented "name =": a key */
	    BASE);
	assert_int_equal(c->listen.threads, 2);
	assert_string_equal(c->redis.prefix, "a#b");
	assert_string_equal(c->synthetic.tokens.v[0], "x;y");
	assert_int_equal(c->trust.proxies.n, 3);
	assert_string_equal(c->trust.header, "x-real-ip");
	config_free(c);
	/* No quoting: quotes are bytes of the value. */
	c = load_ok("[redis]\nprefix = \"p\"\n[lookup]\nprefix = /a ;b\n" BASE);
	assert_string_equal(c->redis.prefix, "\"p\"");
	assert_string_equal(c->lookup.prefix, "/a");
	config_free(c);
	/* Bad lines name their line. */
	expect_exact(BASE "\n\njust words\n", 8, "syntax error: expected "
	    "\"key = value\", \"[section]\" or a comment");
	expect_exact(BASE "; = in a comment\nx ; = y\n", 7, "syntax error: "
	    "expected \"key = value\", \"[section]\" or a comment");
	expect_exact("[listen]]\n" BASE, 1, "bad section header \"[listen]]\" "
	    "(expected [section] or [section name])");
	expect_exact("  threads = 1\n" BASE, 1, "key \"threads\" before any "
	    "[section]");
	/* A section name of 63 bytes, a server URL line far over 200. */
	memset(name, 's', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text), "[region eu]\ndefault = yes\n[server %s]\n"
	    "url = https://s.example.com/%0400d\nregion = eu\n", name, 7);
	c = load_ok(text);
	assert_string_equal(c->servers[0].id, name);
	assert_int_equal(strlen(c->servers[0].url), 22 + 400);
	config_free(c);
	/* A 300-byte key name is just an unknown key, at its line. */
	snprintf(text, sizeof(text), "[listen]\n%0300d = 1\n" BASE, 0);
	expect_err(text, 2, "[listen] unknown key \"000");
}

/* Every type driver at its bounds: the width comes from the field. */
static void
test_drivers(void **state)
{
	static const struct {
		const char	*text;
		int		 ok;
	} cases[] = {
		{ "[listen]\nthreads = 1024\n", 1 },
		{ "[listen]\nthreads = 1025\n", 0 },
		{ "[listen]\nmax_header_bytes = 1024\n", 1 },
		{ "[listen]\nmax_header_bytes = 1M\n", 1 },
		{ "[listen]\nmax_header_bytes = 1025K\n", 0 },
		{ "[linger]\nmax_bytes = 1024G\n", 1 },
		{ "[linger]\nmax_bytes = 1025G\n", 0 },
		{ "[listen]\nheader_timeout = 3600\n", 1 },
		{ "[listen]\nheader_timeout = 3600.001\n", 0 },
		{ "[listen]\nheader_timeout = 0.001\n", 1 },
		{ "[listen]\nshutdown_delay = 0\n", 1 },
		{ "[selection]\nspill_below = 0.999\n", 1 },
		{ "[cors]\nmax_age = 86400\n", 1 },
		{ "[cors]\nmax_age = 86401\n", 0 },
		{ "[affinity]\npath_segment = 64\n", 1 },
		{ "[affinity]\npath_segment = 65\n", 0 },
		{ "[redis]\nprefix = 0123456789012345678901234567890123456789"
		    "012345678901234567890123\n", 1 },
		{ "[redis]\nprefix = 0123456789012345678901234567890123456789"
		    "0123456789012345678901234\n", 0 },
		{ "[redirect]\nstatus = 308\n", 1 },
		{ "[redirect]\nstatus = 309\n", 0 },
		{ "[log]\nformat = combined\n", 1 },
		{ "[log]\nformat = Combined\n", 0 },
		{ "[metrics]\nper_server = Off\n", 1 },
	};
	struct config	*c;
	char		 text[512], err[1024];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s" BASE, cases[i].text);
		c = load(text, err, sizeof(err));
		if ((c != NULL) != cases[i].ok)
			fail_msg("case %zu %s: %s", i, cases[i].ok ?
			    "refused" : "accepted", c != NULL ? text : err);
		config_free(c);
	}
	c = load_ok("[linger]\nmax_bytes = 1024G\n[listen]\nmax_header_bytes = "
	    "1M\n[affinity]\npath_segment = 64\n[region x]\n[server s2]\n"
	    "url = https://s2.example.com\nregion = x\nweight = 1000000\n"
	    BASE);
	assert_true(c->linger.max_bytes == UINT64_C(1) << 40);
	assert_int_equal(c->listen.max_header_bytes, 1 << 20);
	assert_int_equal(c->affinity.path_segment, 64);
	assert_int_equal(c->servers[0].weight, 1000000);
	config_free(c);
	expect_exact("[server s1]\nweight = 1000001\n", 2, "[server s1] "
	    "weight: bad integer \"1000001\" (0..1000000)");
}

static void
test_did_you_mean(void **state)
{
	(void)state;
	expect_exact("[affinity]\nmode = hsah\n" BASE, 2, "[affinity] mode: "
	    "bad mode \"hsah\" (hash or embedded; did you mean \"hash\"?)");
	expect_exact("[log]\nformat = jsno\n" BASE, 2, "[log] format: bad "
	    "format \"jsno\" (json or combined; did you mean \"json\"?)");
	expect_exact("[redirect]\nallow_http = tru\n" BASE, 2, "[redirect] "
	    "allow_http: bad boolean \"tru\" (yes, no, true, false, on, off, 1 "
	    "or 0; did you mean \"true\"?)");
	/* A status is not a typo of another. */
	expect_exact("[redirect]\nstatus = 306\n" BASE, 2,
	    "[redirect] status: bad status \"306\" (307 or 308)");
	expect_exact("[cors]\nmax_agee = 1\n" BASE, 2, "[cors] unknown key "
	    "\"max_agee\" (did you mean \"max_age\"?)");
	expect_exact("[region eu2]\ncontinent = EU\n" BASE, 2, "[region eu2] "
	    "unknown key \"continent\" (did you mean \"continents\"?)");
}

/* ISO 3166 only: "UK" is the United Kingdom's reserved alias. */
static void
test_iso_countries(void **state)
{
	(void)state;
	expect_exact("[region x]\ncountries = IE UK\n" BASE, 2, "[region x] "
	    "countries: bad country \"UK\" (not an ISO 3166 code; did you mean "
	    "\"GB\"?)");
	expect_exact("[region x]\ncountries = XX\n" BASE, 2, "[region x] "
	    "countries: bad country \"XX\" (not an ISO 3166 code)");
	expect_err("[region x]\ncountries = uk\n" BASE, 2, "did you mean "
	    "\"GB\"");
}

/* A reload over a running config: restart-only keys keep their value. */
static void
test_reload_over(void **state)
{
	struct config	*old, *c;
	char		 err[1024];

	(void)state;
	old = load_ok("[listen]\nmax_header_bytes = 16K\n[admin]\n"
	    "allow = ::1\n" BASE);
	write_file(path, "[listen]\nmax_header_bytes = 64K\n[admin]\n"
	    "allow = 10.0.0.0/8\n[cors]\nmax_age = 60\n[log]\naccess = off\n"
	    BASE "weight = 5\n[server s2]\nurl = https://s2.example.com\n"
	    "region = eu\n", strlen("[listen]\nmax_header_bytes = 64K\n"
	    "[admin]\nallow = 10.0.0.0/8\n[cors]\nmax_age = 60\n[log]\n"
	    "access = off\n" BASE "weight = 5\n[server s2]\n"
	    "url = https://s2.example.com\nregion = eu\n"));
	if ((c = config_load_over(path, old, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->listen.max_header_bytes, 16384);
	assert_int_equal(c->admin.allow.n, 1);
	assert_int_equal(c->admin.allow.v[0].prefix, 128);
	assert_string_equal(c->log.access, "stdout");
	assert_int_equal(c->cors.max_age, 60);
	assert_int_equal(c->servers[0].weight, 5);
	assert_int_equal(c->restart.n, 3);
	assert_string_equal(c->restart.v[0], "[listen] max_header_bytes");
	assert_string_equal(c->restart.v[1], "[admin] allow");
	assert_string_equal(c->restart.v[2], "[log] access");
	assert_int_equal(c->changed.n, 3);
	assert_string_equal(c->changed.v[0], "[cors] max_age changed");
	assert_string_equal(c->changed.v[1], "[server s1] weight changed");
	assert_string_equal(c->changed.v[2], "[server s2] added");
	config_free(c);
	/*
	 * The same file over what runs now: nothing new applies, and the
	 * restart-only keys still differ from what runs, so say it again.
	 */
	assert_non_null(c = config_load_over(path, old, err, sizeof(err)));
	config_free(old);
	old = c;
	assert_non_null(c = config_load_over(path, old, err, sizeof(err)));
	assert_int_equal(c->changed.n, 0);
	assert_int_equal(c->restart.n, 3);
	config_free(c);
	config_free(old);
}

/* The key list for the man page: six TAB-separated fields a line. */
static void
test_print_keys(void **state)
{
	FILE	*f;
	char	 line[512], *p;
	int	 n = 0, tabs, found = 0;

	(void)state;
	assert_non_null(f = tmpfile());
	config_print_keys(f);
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		for (tabs = 0, p = line; *p != '\0'; p++)
			tabs += *p == '\t';
		assert_int_equal(tabs, 5);
		n++;
		found += strncmp(line, "listen\tmax_header_bytes\tsize\t16K\t"
		    "restart\t", 34) == 0;
		found += strncmp(line, "log\tformat\tjson|combined\tjson\tlive\t",
		    35) == 0;
		found += strncmp(line, "server NAME\turl\turl\t(required)\t"
		    "live\t", 35) == 0;
	}
	fclose(f);
	assert_int_equal(found, 3);
	assert_true(n > 50);
}

/* [server] families, and every [server] through the record validator. */
static void
test_server_families(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = load_ok(BASE "families = 6\n");
	assert_string_equal(cfg->servers[0].families, "6");
	config_free(cfg);
	cfg = load_ok(BASE);
	assert_string_equal(cfg->servers[0].families, "4 6");
	config_free(cfg);
	expect_err(BASE "families = 5\n", 6, "families");
	expect_err(BASE "families = 6 4\n", 6, "families");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_order_does_not_matter),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_duplicate_sections),
		cmocka_unit_test(test_too_many_regions),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_bad_bool),
		cmocka_unit_test(test_bad_int),
		cmocka_unit_test(test_bad_cidr),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_country_in_two_regions),
		cmocka_unit_test(test_countries_and_continents),
		cmocka_unit_test(test_zero_defaults),
		cmocka_unit_test(test_two_defaults),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_server_with_redis),
		cmocka_unit_test(test_nothing_to_route_to),
		cmocka_unit_test(test_redis),
		cmocka_unit_test(test_sentinels),
		cmocka_unit_test(test_server_url_scheme),
		cmocka_unit_test(test_server_host_not_allowed),
		cmocka_unit_test(test_server_loop),
		cmocka_unit_test(test_server_missing_keys),
		cmocka_unit_test(test_server_unknown_region),
		cmocka_unit_test(test_weight),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_location),
		cmocka_unit_test(test_trust_header),
		cmocka_unit_test(test_url_paths),
		cmocka_unit_test(test_continuation_lines),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_comments_bom_crlf),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_tls_pair),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_cors_and_tokens),
		cmocka_unit_test(test_demo_conf),
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_drivers),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_iso_countries),
		cmocka_unit_test(test_reload_over),
		cmocka_unit_test(test_print_keys),
		cmocka_unit_test(test_server_families),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
