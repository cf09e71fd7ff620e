/*
 * fleet_raw: raw Redis records to a fleet (validation, region drains,
 * maintenance, freshness, slow start, rejected records counted once) and
 * the cache file round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <time.h>

#include "metrics.h"
#include "rng.h"
#include "../fleet_raw_oracle.h"
#include "fleet_raw.h"
#include "select.h"

static char	tmpdir[] = "/tmp/g307-fleet_raw-XXXXXX";

static struct runtime *
load_runtime(void)
{
	struct runtime	*rt;
	const char	*what, *d = getenv("GEO307_FIXTURES");
	char		 path[1100], err[1024];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/r.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[geoip]\ndatabase = %s/test-city.mmdb\n"
	    "[redis]\nurl = redis://127.0.0.1:1/0\nstale_after = 15\n"
	    "[redirect]\nallowed_hosts = *.up.example.net\n"
	    "[region eu]\nlocation = 53.35, -6.26\ncontinents = EU\n"
	    "[region us]\nlocation = 38.9, -77.0\ndefault = yes\n",
	    d ? d : "tests/fixtures");
	fclose(f);
	if ((rt = runtime_load(path, err, sizeof(err), &what)) == NULL)
		fail_msg("%s", err);
	return rt;
}

/* A raw server from "field=value" strings. */
static void
add_server(struct raw_fleet *raw, const char *id, const char *load, ...)
{
	struct raw_server	*rs;
	const char		*fv;
	va_list			 ap;

	raw->servers = realloc(raw->servers, (raw->nservers + 1) *
	    sizeof(*raw->servers));
	rs = &raw->servers[raw->nservers++];
	memset(rs, 0, sizeof(*rs));
	rs->id = strdup(id);
	rs->load = load ? strdup(load) : NULL;
	va_start(ap, load);
	while ((fv = va_arg(ap, const char *)) != NULL) {
		const char *eq = strchr(fv, '=');

		rs->fields = realloc(rs->fields, (rs->n + 1) * sizeof(char *));
		rs->values = realloc(rs->values, (rs->n + 1) * sizeof(char *));
		rs->fields[rs->n] = strndup(fv, eq - fv);
		rs->values[rs->n] = strdup(eq + 1);
		rs->n++;
	}
	va_end(ap);
}

static struct raw_fleet *
sample(void)
{
	struct raw_fleet	*raw = calloc(1, sizeof(*raw));

	raw->version = 42;
	raw->source = FLEET_REDIS;
	raw->taken_wall = time(NULL);
	raw->taken_mono = clock_mono();
	add_server(raw, "eu-1", "0.25", "url=https://eu-1.up.example.net",
	    "region=eu", "weight=200", NULL);
	add_server(raw, "us-1", NULL, "url=https://us-1.up.example.net/b",
	    "region=us", "state=drain", NULL);
	add_server(raw, "bad-url", "0", "url=https://evil.example.com",
	    "region=eu", NULL);
	add_server(raw, "bad-region", "0", "url=https://x.up.example.net",
	    "region=mars", NULL);
	add_server(raw, "eu-2", "1.5", "url=https://eu-2.up.example.net",
	    "region=eu", NULL);
	raw->rnames = calloc(2, sizeof(char *));
	raw->rstates = calloc(2, sizeof(char *));
	raw->rnames[0] = strdup("us");
	raw->rstates[0] = strdup("drain");
	raw->nregions = 1;
	raw->maintenance = strdup("20");
	return raw;
}

static const struct fleet_server *
find(const struct fleet *f, const char *id)
{
	size_t	i;

	for (i = 0; i < f->nservers; i++)
		if (strcmp(f->servers[i].id, id) == 0)
			return &f->servers[i];
	return NULL;
}

static void
test_build(void **state)
{
	struct runtime			*rt = load_runtime();
	struct raw_fleet		*raw = sample();
	struct fleet_memory		*m = fleet_raw_memory_new();
	struct fleet			*f;
	const struct fleet_server	*s;

	(void)state;
	f = fleet_raw_build(raw, rt, m);
	assert_non_null(f);
	assert_int_equal(f->nservers, 3);	/* bad-url, bad-region out */
	assert_int_equal(f->version, 42);
	assert_int_equal(f->source, FLEET_REDIS);
	s = find(f, "eu-1");
	assert_non_null(s);
	assert_int_equal(s->weight, 200);
	assert_true(s->has_report);
	assert_float_equal(s->load, 0.25, 1e-9);
	assert_string_equal(s->base, "https://eu-1.up.example.net");
	s = find(f, "us-1");
	assert_int_equal(s->state, SERVER_DRAIN);
	assert_false(s->has_report);		/* no load key: stale */
	assert_string_equal(s->base, "https://us-1.up.example.net/b");
	s = find(f, "eu-2");
	assert_false(s->has_report);		/* bad load: no report */
	assert_true(f->regions[config_region_index(rt->cfg, "us")].drained);
	assert_false(f->regions[config_region_index(rt->cfg, "eu")].drained);
	assert_true(f->maintenance);
	assert_float_equal(f->maintenance_retry, 20, 1e-9);
	/* (cmocka's float assert casts its operand: compute first) */
	assert_true(fabs(f->fresh_until - raw->taken_mono - 15) < 1e-6);
	/* Everything in the first fleet is "routable since long ago". */
	assert_true(find(f, "eu-1")->routable_since == 0);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

static unsigned long long
rejected(const char *reason)
{
	struct metrics_gauges	 g = { .redis_up = -1 };
	unsigned long long	 v = 0;
	char			*page, *p, pat[128];
	size_t			 len;

	page = metrics_render(&g, &len);
	snprintf(pat, sizeof(pat),
	    "geo307_fleet_rejected_records_total{reason=\"%s\"} ", reason);
	if ((p = strstr(page, pat)) != NULL)
		v = strtoull(p + strlen(pat), NULL, 10);
	free(page);
	return v;
}

static void
test_rejects_counted_once(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = sample();
	struct fleet_memory	*m = fleet_raw_memory_new();
	unsigned long long	 url0 = rejected("url");
	unsigned long long	 reg0 = rejected("region");
	unsigned long long	 load0 = rejected("load");
	int			 i;

	(void)state;
	for (i = 0; i < 3; i++)
		fleet_free(fleet_raw_build(raw, rt, m));
	assert_int_equal(rejected("url") - url0, 1);
	assert_int_equal(rejected("region") - reg0, 1);
	assert_int_equal(rejected("load") - load0, 1);
	/* A new bad value for the same server is a new rejection. */
	free(raw->servers[2].values[0]);
	raw->servers[2].values[0] = strdup("http://eu-9.up.example.net");
	fleet_free(fleet_raw_build(raw, rt, m));
	assert_int_equal(rejected("url") - url0, 2);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * Found while fuzzing: rejected ids, field names and values went into the
 * log raw, so a newline in one (Redis content, or a cache file) wrote a
 * line of its own choosing.  Everything from the records is escaped now.
 */
static void
test_reject_log_escaped(void **state)
{
	static const char	 forged[] = "2026-01-01T00:00:00Z geo307[1] "
				    "error: forged";
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = calloc(1, sizeof(*raw));
	struct fleet_memory	*m = fleet_raw_memory_new();
	char			 path[1100], id[128], buf[8192], *p;
	ssize_t			 n;
	int			 fd, saved, lines = 0;

	(void)state;
	raw->taken_mono = clock_mono();
	raw->taken_wall = time(NULL);
	snprintf(id, sizeof(id), "bad\n%s", forged);
	add_server(raw, id, NULL, "url=https://x.up.example.net",
	    "region=eu", NULL);
	add_server(raw, "s1", NULL, "url=https://x.example.com\n\"x\"",
	    "region=eu", NULL);
	add_server(raw, "s2", NULL, "url=https://x.up.example.net",
	    "region=eu", "wei\rght=\x1b[31m", NULL);
	raw->maintenance = strdup("soon\nforged");
	snprintf(path, sizeof(path), "%s/log", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fleet_free(fleet_raw_build(raw, rt, m));
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	buf[n] = '\0';
	for (p = buf; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 4);	/* three servers, maintenance */
	assert_null(strstr(buf, "\n2026-01-01"));
	assert_null(strchr(buf, '\r'));
	assert_null(strchr(buf, '\x1b'));
	assert_non_null(strstr(buf, "server bad\\x0a2026-01-01T00:00:00Z"));
	assert_non_null(strstr(buf, "url \"https://x.example.com\\x0a"
	    "\\\"x\\\"\" (url)"));
	assert_non_null(strstr(buf, "wei\\x0dght \"\\x1b[31m\" (field)"));
	assert_non_null(strstr(buf, "value \"soon\\x0aforged\""));
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

static void
test_slow_start_since(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = sample();
	struct fleet_memory	*m = fleet_raw_memory_new();
	struct fleet		*f;
	double			 t0;

	(void)state;
	fleet_free(fleet_raw_build(raw, rt, m));	/* first: long ago */
	/* us-1 goes from drain (in a drained region) to up, reporting. */
	free(raw->servers[1].values[2]);
	raw->servers[1].values[2] = strdup("up");
	free(raw->rstates[0]);
	raw->rstates[0] = strdup("up");
	free(raw->servers[1].load);
	raw->servers[1].load = strdup("0");
	t0 = clock_mono();
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "us-1")->routable_since >= t0);
	assert_true(find(f, "eu-1")->routable_since == 0);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * Effective weight of id in its region at time now, as /route shows it;
 * -1 when it is not a candidate.
 */
static double
eff(const struct fleet *f, const char *id, double slow_start, double now,
    int failopen)
{
	struct select_params	 p = { 0, slow_start };
	struct select_candidate	 c[8];
	const struct fleet_server *s = find(f, id);
	size_t			 i, n;

	assert_non_null(s);
	n = select_candidates(f, s->region, &p, now, failopen, c, 8);
	for (i = 0; i < n && i < 8; i++)
		if (c[i].server == s)
			return c[i].effective_weight;
	return -1;
}

static void
set_load(struct raw_fleet *raw, size_t i, const char *load)
{
	free(raw->servers[i].load);
	raw->servers[i].load = load ? strdup(load) : NULL;
}

/*
 * SPEC 2.3/2.4: a fresh report is part of being routable.  eu-1's load
 * key expires (stale), then comes back: it ramps from then on.
 */
static void
test_slow_start_stale_report(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = sample();
	struct fleet_memory	*m = fleet_raw_memory_new();
	struct fleet		*f;
	double			 t0, t1, since;

	(void)state;
	f = fleet_raw_build(raw, rt, m);	/* first: long ago */
	assert_true(eff(f, "eu-1", 20, clock_mono(), 0) == 150);	/* 200 x .75 */
	fleet_free(f);
	set_load(raw, 0, NULL);			/* load:eu-1 expired */
	f = fleet_raw_build(raw, rt, m);
	assert_true(eff(f, "eu-1", 20, clock_mono(), 0) == -1);
	fleet_free(f);
	set_load(raw, 0, "0.25");		/* reporting again */
	raw->taken_mono = t0 = clock_mono();
	f = fleet_raw_build(raw, rt, m);
	t1 = clock_mono();
	since = find(f, "eu-1")->routable_since;
	assert_true(since >= t0 && since <= t1);
	/* Times past stale_after: keep the snapshot fresh for the look. */
	f->fresh_until = INFINITY;
	assert_true(fabs(eff(f, "eu-1", 20, since, 0) - 0.15) < 1e-9);
	assert_true(fabs(eff(f, "eu-1", 20, since + 5, 0) - 37.5) < 1e-9);
	assert_true(fabs(eff(f, "eu-1", 20, since + 10, 0) - 75) < 1e-9);
	assert_true(eff(f, "eu-1", 20, since + 20, 0) == 150);
	assert_true(eff(f, "eu-1", 0, since, 0) == 150);	/* off */
	fleet_free(f);
	/* Still fresh at the next build: the clock goes on. */
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "eu-1")->routable_since == since);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * A Redis outage is the router going blind, not the servers leaving:
 * a build from a snapshot older than stale_after (a reload during the
 * outage) and the first build when Redis answers again reset no ramp.
 * Fail-open in the meantime keeps ramping a server on its clock.
 */
static void
test_slow_start_outage(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = sample();
	struct fleet_memory	*m = fleet_raw_memory_new();
	struct fleet		*f;
	double			 now, since;

	(void)state;
	fleet_free(fleet_raw_build(raw, rt, m));
	/* us-1 becomes routable: up, in a region no longer drained. */
	free(raw->servers[1].values[2]);
	raw->servers[1].values[2] = strdup("up");
	free(raw->rstates[0]);
	raw->rstates[0] = strdup("up");
	set_load(raw, 1, "0");
	f = fleet_raw_build(raw, rt, m);
	since = find(f, "us-1")->routable_since;
	assert_true(since > 0);
	fleet_free(f);
	/* Redis down for 100 s; SIGHUP rebuilds from the old records. */
	now = clock_mono();
	raw->taken_mono = now - 100;
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "eu-1")->routable_since == 0);
	assert_true(find(f, "us-1")->routable_since == since);
	assert_int_equal(fleet_routable(f, now), 3);	/* all stale */
	/* Fail-open: weight alone, but us-1 still ramps on its clock. */
	assert_true(eff(f, "us-1", 20, since + 5, 0) == -1);
	assert_true(fabs(eff(f, "us-1", 20, since + 5, 1) - 25) < 1e-9);
	assert_true(eff(f, "eu-1", 20, since + 5, 1) == 200);
	fleet_free(f);
	/* Redis answers again, the load keys are still there. */
	raw->taken_mono = clock_mono();
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "eu-1")->routable_since == 0);
	assert_true(find(f, "us-1")->routable_since == since);
	assert_true(eff(f, "eu-1", 20, clock_mono(), 0) == 150);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * A server every report of which went stale keeps the start of its last
 * routable period, so fail-open (every report stale) gives it its ramp
 * as it was, not a fresh one and not its whole weight at once.
 */
static void
test_slow_start_failopen_stale(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = sample();
	struct fleet_memory	*m = fleet_raw_memory_new();
	struct fleet		*f;
	double			 since;

	(void)state;
	set_load(raw, 0, NULL);
	fleet_free(fleet_raw_build(raw, rt, m));
	set_load(raw, 0, "0");
	f = fleet_raw_build(raw, rt, m);
	since = find(f, "eu-1")->routable_since;
	assert_true(since > 0);
	fleet_free(f);
	set_load(raw, 0, NULL);			/* every report stale */
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "eu-1")->routable_since == since);
	assert_true(fabs(eff(f, "eu-1", 20, since + 5, 1) - 50) < 1e-9);
	assert_true(eff(f, "eu-1", 20, since + 30, 1) == 200);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * A server that leaves the fleet (removed from P servers, or its record
 * rejected) and comes back is a server becoming routable.
 */
static void
test_slow_start_readded(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = sample();
	struct fleet_memory	*m = fleet_raw_memory_new();
	struct fleet		*f;
	double			 t0, since;
	char			*url;

	(void)state;
	set_load(raw, 4, "0");			/* eu-2 reports, last */
	fleet_free(fleet_raw_build(raw, rt, m));
	raw->nservers--;			/* eu-2 removed */
	fleet_free(fleet_raw_build(raw, rt, m));
	raw->nservers++;			/* and added back */
	url = raw->servers[0].values[0];	/* eu-1's url goes bad */
	raw->servers[0].values[0] = strdup("https://evil.example.com");
	f = fleet_raw_build(raw, rt, m);
	assert_null(find(f, "eu-1"));
	assert_true(find(f, "eu-2")->routable_since > 0);
	fleet_free(f);
	free(raw->servers[0].values[0]);
	raw->servers[0].values[0] = url;
	t0 = clock_mono();
	f = fleet_raw_build(raw, rt, m);
	since = find(f, "eu-1")->routable_since;
	assert_true(since >= t0);
	assert_true(fabs(eff(f, "eu-1", 20, since + 2, 0) - 15) < 1e-9);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * Routing from a cache file at start: its reports are old news, so a
 * server without one there does not ramp when Redis shows it reporting.
 * From Redis, the same server was stale and does ramp.
 */
static void
test_slow_start_cache(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = sample();
	struct fleet_memory	*m = fleet_raw_memory_new();
	struct fleet		*f;

	(void)state;
	raw->source = FLEET_CACHE;
	set_load(raw, 4, NULL);			/* eu-2: none in the cache */
	fleet_free(fleet_raw_build(raw, rt, m));
	raw->source = FLEET_REDIS;
	set_load(raw, 4, "0");
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "eu-2")->routable_since == 0);
	fleet_free(f);
	fleet_raw_memory_free(m);

	m = fleet_raw_memory_new();
	set_load(raw, 4, NULL);
	fleet_free(fleet_raw_build(raw, rt, m));
	set_load(raw, 4, "0");
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "eu-2")->routable_since > 0);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * Ids that come and go (servers replaced under new names) never fill the
 * memory: 40,000 distinct ids over 10 builds, more than it has slots.
 * Servers present all along keep their clocks through the compaction;
 * one forgotten by it ramps when it comes back.
 */
static void
test_slow_start_many_ids(void **state)
{
	struct runtime		*rt = load_runtime();
	struct raw_fleet	*raw = calloc(1, sizeof(*raw));
	struct fleet_memory	*m = fleet_raw_memory_new();
	struct fleet		*f;
	char			 id[32], u[96];
	double			 since;
	size_t			 i, b, per = 4000;

	(void)state;
	raw->source = FLEET_REDIS;
	add_server(raw, "keep", "0", "url=https://keep.up.example.net",
	    "region=eu", NULL);
	add_server(raw, "late", "0", "url=https://late.up.example.net",
	    "region=eu", NULL);
	for (i = 0; i < per; i++) {
		snprintf(id, sizeof(id), "x%zu", i);
		snprintf(u, sizeof(u), "url=https://%s.up.example.net", id);
		add_server(raw, id, "0", u, "region=us", NULL);
	}
	f = fleet_raw_build(raw, rt, m);	/* first: long ago */
	assert_true(find(f, "late")->routable_since == 0);
	fleet_free(f);
	raw->servers[1].id[0] = 'L';		/* "late" leaves */
	for (b = 1; b < 10; b++) {
		for (i = 2; i < raw->nservers; i++) {
			snprintf(id, sizeof(id), "x%zu", b * per + i);
			free(raw->servers[i].id);
			raw->servers[i].id = strdup(id);
		}
		raw->taken_mono = clock_mono();
		f = fleet_raw_build(raw, rt, m);
		assert_int_equal(f->nservers, per + 2);
		assert_true(find(f, "keep")->routable_since == 0);
		since = f->servers[2].routable_since;
		assert_true(since > 0);
		fleet_free(f);
	}
	raw->servers[1].id[0] = 'l';		/* back, long forgotten */
	f = fleet_raw_build(raw, rt, m);
	assert_true(find(f, "late")->routable_since > 0);
	assert_true(find(f, "keep")->routable_since == 0);
	fleet_free(f);
	fleet_raw_memory_free(m);
	fleet_raw_free(raw);
	runtime_free(rt);
}

/*
 * fleet_raw_encode writes the cache's JSON itself; the oracle is what the
 * jansson objects it replaced gave (strings that are not UTF-8 left out,
 * as json_string() refuses them): equal as JSON on random fleets whose
 * strings hold quotes, backslashes, control bytes, UTF-8 and bytes that
 * are not UTF-8.
 */
static char *
random_string(struct rng *r)
{
	static const char *const bits[] = { "a", "Z", "9", "\"", "\\", "\n",
	    "\t", "\x01", "\x1f", "\x7f", "/", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82",
	    " ", "{", "}", ",", ":" };
	char	buf[256] = "";
	size_t	n = rng_next(r) % 8, i;

	for (i = 0; i < n; i++)
		strcat(buf, bits[rng_next(r) % (sizeof(bits) / sizeof(bits[0]))]);
	return strdup(buf);
}

static struct raw_fleet *
random_raw(struct rng *r, size_t k)
{
	struct raw_fleet	*raw = calloc(1, sizeof(*raw));
	struct raw_server	*rs;
	size_t			 i, j;
	char			 id[32];

	raw->version = rng_next(r) >> 1;
	raw->taken_wall = (time_t)(rng_next(r) % 2000000000);
	raw->nservers = 1 + rng_next(r) % 6;
	raw->servers = calloc(raw->nservers, sizeof(*raw->servers));
	for (i = 0; i < raw->nservers; i++) {
		rs = &raw->servers[i];
		/* Distinct ids; now and then one that is not UTF-8. */
		snprintf(id, sizeof(id), "%s%zu-%zu", rng_next(r) % 5 ? "s" :
		    "\xfe", k, i);
		rs->id = strdup(id);
		rs->n = rng_next(r) % 4;
		rs->fields = calloc(rs->n + 1, sizeof(char *));
		rs->values = calloc(rs->n + 1, sizeof(char *));
		for (j = 0; j < rs->n; j++) {
			snprintf(id, sizeof(id), "f%zu", j);
			rs->fields[j] = rng_next(r) % 6 ? strdup(id) :
			    random_string(r);
			rs->values[j] = random_string(r);
		}
		rs->load = rng_next(r) % 3 ? random_string(r) : NULL;
	}
	raw->nregions = rng_next(r) % 3;
	raw->rnames = calloc(raw->nregions + 1, sizeof(char *));
	raw->rstates = calloc(raw->nregions + 1, sizeof(char *));
	for (i = 0; i < raw->nregions; i++) {
		snprintf(id, sizeof(id), "r%zu", i);
		raw->rnames[i] = strdup(id);
		raw->rstates[i] = random_string(r);
	}
	raw->maintenance = rng_next(r) % 2 ? strdup("30") : NULL;
	return raw;
}

static void
test_cache_encode_as_jansson(void **state)
{
	struct raw_fleet	*raw;
	struct rng		 r;
	json_error_t		 jerr;
	json_t			*want, *got;
	char			*text;
	size_t			 k, left_out = 0;

	(void)state;
	rng_seed(&r, 307);
	for (k = 0; k < 3000; k++) {
		raw = random_raw(&r, k);
		want = oracle(raw);
		assert_non_null(want);
		assert_non_null(text = fleet_raw_encode(raw));
		assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
		if ((got = json_loads(text, 0, &jerr)) == NULL)
			fail_msg("round %zu: %s in %s", k, jerr.text, text);
		if (!json_equal(want, got)) {
			char *w = json_dumps(want, JSON_COMPACT);

			fail_msg("round %zu:\n want %s\n got  %s", k, w, text);
		}
		left_out += json_object_size(json_object_get(got, "servers")) <
		    raw->nservers;
		json_decref(want);
		json_decref(got);
		free(text);
		fleet_raw_free(raw);
	}
	/* The rule that leaves strings out was exercised, not only passed. */
	assert_true(left_out > 100);
}

static void
test_cache_round_trip(void **state)
{
	struct raw_fleet	*raw = sample(), *back;
	char			 path[1100], err[512];
	struct stat		 st;
	size_t			 i;

	(void)state;
	snprintf(path, sizeof(path), "%s/fleet.cache", tmpdir);
	assert_int_equal(fleet_raw_save(raw, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	back = fleet_raw_load(path, 60, err, sizeof(err));
	if (back == NULL)
		fail_msg("%s", err);
	assert_int_equal(back->source, FLEET_CACHE);
	assert_int_equal(back->version, 42);
	assert_int_equal(back->nservers, raw->nservers);
	for (i = 0; i < back->nservers; i++)
		if (strcmp(back->servers[i].id, "eu-1") == 0)
			assert_string_equal(back->servers[i].load, "0.25");
	assert_string_equal(back->maintenance, "20");
	assert_int_equal(back->nregions, 1);
	fleet_raw_free(back);
	/* Too old for cache_max_age. */
	raw->taken_wall -= 100;
	assert_int_equal(fleet_raw_save(raw, path, err, sizeof(err)), 0);
	assert_null(fleet_raw_load(path, 60, err, sizeof(err)));
	assert_non_null(strstr(err, "cache_max_age"));
	/* Garbage. */
	FILE *f = fopen(path, "w");
	fputs("{\"format\": 2}", f);
	fclose(f);
	assert_null(fleet_raw_load(path, 60, err, sizeof(err)));
	assert_non_null(strstr(err, "not a geo307 fleet cache"));
	unlink(path);
	fleet_raw_free(raw);
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
	snprintf(path, sizeof(path), "%s/r.conf", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_rejects_counted_once),
		cmocka_unit_test(test_reject_log_escaped),
		cmocka_unit_test(test_slow_start_since),
		cmocka_unit_test(test_slow_start_stale_report),
		cmocka_unit_test(test_slow_start_outage),
		cmocka_unit_test(test_slow_start_failopen_stale),
		cmocka_unit_test(test_slow_start_readded),
		cmocka_unit_test(test_slow_start_cache),
		cmocka_unit_test(test_slow_start_many_ids),
		cmocka_unit_test(test_cache_encode_as_jansson),
		cmocka_unit_test(test_cache_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
