/* Fleet snapshots: per-region tables, ownership, freshness, routability. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fleet.h"
#include "select.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define SL(a)	{ (a), LEN(a) }
#define NOSL	{ NULL, 0 }

enum { EU, US, AP, NREG };

static struct region_conf regions[NREG] = {
	{ "eu", 1, 53.35, -6.26, NOSL, NOSL, NOSL, 0, 1 },
	{ "us", 1, 39.04, -77.49, NOSL, NOSL, NOSL, 1, 2 },
	{ "ap", 1, 1.35, 103.82, NOSL, NOSL, NOSL, 0, 3 },
};

static struct regionmap *
make_map(void)
{
	struct regionmap	*rm;
	struct config		 cfg;
	char			 err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regions;
	cfg.nregions = NREG;
	cfg.default_region = US;
	rm = region_map_build(&cfg, err, sizeof(err));
	if (rm == NULL)
		fail_msg("regionmap_build: %s", err);
	return rm;
}

static int
setup(void **state)
{
	*state = make_map();
	return 0;
}

static int
teardown(void **state)
{
	region_map_free(*state);
	return 0;
}

static void
set_server(struct fleet_server *s, const char *id, uint32_t region,
    uint32_t weight)
{
	char	buf[128];

	memset(s, 0, sizeof(*s));
	strcpy(s->id, id);
	snprintf(buf, sizeof(buf), "https://%s.example.com", id);
	s->base = strdup(buf);
	s->baselen = strlen(buf);
	s->region = region;
	s->weight = weight;
	s->state = SERVER_UP;
	s->has_report = 1;
}

static void
test_build_tables(void **state)
{
	const struct regionmap	*rm = *state;
	struct fleet_server	*sv;
	struct fleet		*f;

	sv = calloc(4, sizeof(*sv));
	set_server(&sv[0], "eu-1", EU, 100);
	set_server(&sv[1], "ap-1", AP, 100);
	set_server(&sv[2], "eu-2", EU, 50);
	set_server(&sv[3], "us-1", US, 10);
	assert_non_null(f = fleet_build(sv, 4, rm));
	assert_ptr_equal(f->servers, sv);
	assert_int_equal(f->nservers, 4);
	assert_ptr_equal(f->rm, rm);
	assert_int_equal(f->nregions, NREG);
	/* Server order is kept within each region. */
	assert_int_equal(f->regions[EU].n, 2);
	assert_int_equal(f->regions[EU].servers[0], 0);
	assert_int_equal(f->regions[EU].servers[1], 2);
	assert_int_equal(f->regions[US].n, 1);
	assert_int_equal(f->regions[US].servers[0], 3);
	assert_int_equal(f->regions[AP].n, 1);
	assert_int_equal(f->regions[AP].servers[0], 1);
	assert_false(f->regions[EU].drained);
	/* Defaults a Redis source would override. */
	assert_int_equal(f->source, FLEET_CONFIG);
	assert_true(isinf(f->fresh_until) && f->fresh_until > 0);
	assert_true(f->taken_wall > 0);
	assert_true(f->taken_mono > 0);
	/* Labels interned at build time, distinct per id. */
	assert_true(sv[0].label >= 0);
	assert_true(sv[0].label != sv[1].label);
	fleet_free(f);
}

static void
test_build_empty_region(void **state)
{
	const struct regionmap	*rm = *state;
	struct fleet_server	*sv;
	struct fleet		*f;

	sv = calloc(1, sizeof(*sv));
	set_server(&sv[0], "us-1", US, 100);
	assert_non_null(f = fleet_build(sv, 1, rm));
	assert_int_equal(f->regions[EU].n, 0);
	assert_int_equal(f->regions[AP].n, 0);
	fleet_free(f);

	/* No servers at all is a valid (if useless) snapshot. */
	assert_non_null(f = fleet_build(NULL, 0, rm));
	assert_int_equal(f->nservers, 0);
	assert_int_equal(fleet_routable(f, clock_mono()), 0);
	fleet_free(f);
	fleet_free(NULL);
}

/* Ownership is taken even on failure: ASan's leak check runs at exit. */
static void
test_build_bad_region(void **state)
{
	const struct regionmap	*rm = *state;
	struct fleet_server	*sv;

	sv = calloc(2, sizeof(*sv));
	set_server(&sv[0], "eu-1", EU, 100);
	set_server(&sv[1], "xx-1", NREG, 100);
	assert_null(fleet_build(sv, 2, rm));

	sv = calloc(1, sizeof(*sv));
	set_server(&sv[0], "xx-2", 1000, 100);
	assert_null(fleet_build(sv, 1, rm));

	sv = calloc(1, sizeof(*sv));
	set_server(&sv[0], "eu-1", EU, 100);
	assert_null(fleet_build(sv, 1, NULL));
}

static void
test_fresh(void **state)
{
	const struct regionmap	*rm = *state;
	struct fleet_server	*sv;
	struct fleet		*f;

	sv = calloc(2, sizeof(*sv));
	set_server(&sv[0], "eu-1", EU, 100);
	set_server(&sv[1], "eu-2", EU, 100);
	sv[1].has_report = 0;
	assert_non_null(f = fleet_build(sv, 2, rm));
	assert_true(fleet_server_fresh(f, &sv[0], 1e9));
	assert_false(fleet_server_fresh(f, &sv[1], 0));
	f->fresh_until = 100;
	assert_true(fleet_server_fresh(f, &sv[0], 99.5));
	assert_false(fleet_server_fresh(f, &sv[0], 100));
	assert_false(fleet_server_fresh(f, &sv[0], 150));
	fleet_free(f);
}

static void
test_routable(void **state)
{
	const struct regionmap	*rm = *state;
	struct fleet_server	*sv;
	struct fleet		*f;

	sv = calloc(7, sizeof(*sv));
	set_server(&sv[0], "eu-1", EU, 100);
	set_server(&sv[1], "eu-2", EU, 0);		/* weight 0 */
	set_server(&sv[2], "eu-3", EU, 100);
	sv[2].state = SERVER_DRAIN;
	set_server(&sv[3], "eu-4", EU, 100);
	sv[3].state = SERVER_DOWN;
	set_server(&sv[4], "us-1", US, 100);
	sv[4].has_report = 0;				/* stale */
	set_server(&sv[5], "us-2", US, 100);
	sv[5].load = 1;					/* full counts */
	set_server(&sv[6], "ap-1", AP, 100);
	assert_non_null(f = fleet_build(sv, 7, rm));
	/* Fresh ones only while any is fresh. */
	assert_int_equal(fleet_routable(f, 10), 3);
	f->regions[AP].drained = 1;
	assert_int_equal(fleet_routable(f, 10), 2);
	/* All stale: selection fails open, so they count, us-1 too. */
	f->fresh_until = 5;
	assert_int_equal(fleet_routable(f, 10), 3);
	f->regions[EU].drained = 1;
	f->regions[US].drained = 1;
	assert_int_equal(fleet_routable(f, 10), 0);
	assert_int_equal(fleet_routable(NULL, 10), 0);
	fleet_free(f);
}

/* One [server] section, as the config parser would fill it. */
static void
conf_server(struct server_conf *sc, const char *id, const char *url,
    const char *region, uint32_t weight)
{
	snprintf(sc->id, sizeof(sc->id), "%s", id);
	sc->url = (char *)url;
	snprintf(sc->region, sizeof(sc->region), "%s", region);
	sc->weight = weight;
}

static void
test_from_config(void **state)
{
	const struct regionmap	*rm = *state;
	static char		*pub[] = { "upload.example.com" };
	struct server_conf	 sc[3];
	struct config		 cfg;
	struct fleet		*f;
	char			 err[256];

	memset(&cfg, 0, sizeof(cfg));
	memset(sc, 0, sizeof(sc));
	cfg.regions = regions;
	cfg.nregions = NREG;
	cfg.default_region = US;
	cfg.listen.public_names = (struct strlist)SL(pub);
	conf_server(&sc[0], "eu-1", "https://eu-1.upload.example.com/up/", "eu", 100);
	conf_server(&sc[1], "ap-1", "https://ap-1.upload.example.com:8443", "ap", 0);
	conf_server(&sc[2], "eu-2", "https://eu-2.upload.example.com", "eu", 1000000);
	cfg.servers = sc;
	cfg.nservers = 3;

	assert_non_null(f = fleet_from_config(&cfg, rm, err, sizeof(err)));
	assert_int_equal(f->nservers, 3);
	assert_string_equal(fleet_source_name(f->source), "config");
	assert_true(f->version == 0);
	assert_true(isinf(f->fresh_until));
	assert_false(f->maintenance);
	assert_string_equal(f->servers[0].id, "eu-1");
	assert_string_equal(f->servers[0].base,
	    "https://eu-1.upload.example.com/up");
	assert_int_equal(f->servers[0].baselen,
	    strlen("https://eu-1.upload.example.com/up"));
	assert_int_equal(f->servers[0].region, EU);
	assert_int_equal(f->servers[0].weight, 100);
	assert_int_equal(f->servers[0].state, SERVER_UP);
	assert_true(f->servers[0].has_report);
	assert_true(f->servers[0].load == 0);
	assert_true(f->servers[0].routable_since == 0);
	assert_string_equal(f->servers[1].base,
	    "https://ap-1.upload.example.com:8443");
	assert_int_equal(f->servers[1].region, AP);
	assert_int_equal(f->servers[1].weight, 0);
	assert_int_equal(f->servers[2].weight, 1000000);
	assert_int_equal(f->regions[EU].n, 2);
	assert_int_equal(f->regions[US].n, 0);
	assert_true(fleet_server_fresh(f, &f->servers[0], clock_mono() + 1e6));
	assert_int_equal(fleet_routable(f, clock_mono()), 2);
	/* The fleet owns its strings: the config's may go first. */
	assert_ptr_not_equal(f->servers[0].base, sc[0].url);
	fleet_free(f);
}

static void
test_from_config_errors(void **state)
{
	const struct regionmap	*rm = *state;
	static char		*pub[] = { "upload.example.com" };
	static char		*allowed[] = { "eu-1.upload.example.com" };
	struct server_conf	 sc[2];
	struct config		 cfg;
	char			 err[256];

	memset(&cfg, 0, sizeof(cfg));
	memset(sc, 0, sizeof(sc));
	cfg.path = "geo307.conf";
	cfg.regions = regions;
	cfg.nregions = NREG;
	cfg.default_region = US;
	cfg.listen.public_names = (struct strlist)SL(pub);
	conf_server(&sc[0], "eu-1", "https://eu-1.upload.example.com", "eu", 100);
	strcpy(sc[1].id, "bad");
	strcpy(sc[1].region, "eu");
	sc[1].weight = 100;
	sc[1].line = 77;
	cfg.servers = sc;
	cfg.nservers = 2;

	/* Errors after a good server: the good one must not leak. */
	sc[1].url = "http://bad.upload.example.com";
	assert_null(fleet_from_config(&cfg, rm, err, sizeof(err)));
	assert_non_null(strstr(err, "geo307.conf:77: server bad"));
	/* ... unless allow_http. */
	cfg.redirect.allow_http = 1;
	fleet_free(fleet_from_config(&cfg, rm, err, sizeof(err)));

	/* Our own public name: a redirect loop. */
	sc[1].url = "https://upload.example.com";
	assert_null(fleet_from_config(&cfg, rm, err, sizeof(err)));
	assert_non_null(strstr(err, "server bad"));

	/* allowed_hosts only counts when it was configured. */
	sc[1].url = "https://other.example.net";
	cfg.redirect.allowed_hosts.names = (struct strlist)SL(allowed);
	fleet_free(fleet_from_config(&cfg, rm, err, sizeof(err)));
	cfg.redirect.has_allowed_hosts = 1;
	assert_null(fleet_from_config(&cfg, rm, err, sizeof(err)));
	assert_non_null(strstr(err, "server bad"));
	cfg.redirect.has_allowed_hosts = 0;

	sc[1].url = "https://bad.upload.example.com";
	strcpy(sc[1].region, "mars");
	assert_null(fleet_from_config(&cfg, rm, err, sizeof(err)));
	assert_non_null(strstr(err, "mars"));
}

/* Effective weight of server i of f at time now; -1: not a candidate. */
static double
eff(const struct fleet *f, size_t i, double slow_start, double now)
{
	struct select_params	p = { 0, slow_start };
	struct select_candidate	c[8];
	size_t			k, n;

	n = select_candidates(f, f->servers[i].region, &p, now, 0, c, 8);
	for (k = 0; k < n && k < 8; k++)
		if (c[k].server == &f->servers[i])
			return c[k].effective_weight;
	return -1;
}

/*
 * SIGHUP with a static fleet: servers already routable keep their slow
 * start clock, new ones and ones whose weight went 0 -> >0 ramp from the
 * reload.  At start (nothing to carry from) nothing ramps.
 */
static void
test_carry_routable(void **state)
{
	const struct regionmap	*rm = *state;
	struct server_conf	 sc[3], sc2[4];
	struct config		 cfg;
	struct fleet		*f0, *f1, *f2;
	char			 err[256];

	memset(&cfg, 0, sizeof(cfg));
	memset(sc, 0, sizeof(sc));
	cfg.regions = regions;
	cfg.nregions = NREG;
	cfg.default_region = US;
	conf_server(&sc[0], "eu-1", "https://eu-1.upload.example.com", "eu", 100);
	conf_server(&sc[1], "ap-1", "https://ap-1.upload.example.com", "ap", 0);
	conf_server(&sc[2], "us-1", "https://us-1.upload.example.com", "us", 100);
	cfg.servers = sc;
	cfg.nservers = 3;
	/* Start: every server routable since long ago. */
	assert_non_null(f0 = fleet_from_config(&cfg, rm, err, sizeof(err)));
	fleet_carry_routable(f0, NULL, 1000);
	assert_true(f0->servers[0].routable_since == 0);
	assert_true(eff(f0, 0, 60, 1000) == 100);

	/*
	 * The reload at 1000: us-1 gone, eu-2 new (weight 300), ap-1
	 * weight 0 -> 50, and the sections in another order.
	 */
	memset(sc2, 0, sizeof(sc2));
	sc2[0] = sc[1];
	sc2[0].weight = 50;
	conf_server(&sc2[1], "eu-2", "https://eu-2.upload.example.com", "eu", 300);
	sc2[2] = sc[0];
	conf_server(&sc2[3], "us-2", "https://us-2.upload.example.com", "us", 0);
	cfg.servers = sc2;
	cfg.nservers = 4;
	assert_non_null(f1 = fleet_from_config(&cfg, rm, err, sizeof(err)));
	fleet_carry_routable(f1, f0, 1000);
	assert_string_equal(f1->servers[2].id, "eu-1");
	assert_true(f1->servers[2].routable_since == 0);
	assert_true(f1->servers[1].routable_since == 1000);	/* eu-2 */
	assert_true(f1->servers[0].routable_since == 1000);	/* ap-1 */
	assert_true(eff(f1, 2, 60, 1000) == 100);
	assert_true(fabs(eff(f1, 1, 60, 1000) - 0.3) < 1e-9);	/* floor */
	assert_true(fabs(eff(f1, 1, 60, 1015) - 75) < 1e-9);
	assert_true(fabs(eff(f1, 1, 60, 1030) - 150) < 1e-9);
	assert_true(eff(f1, 1, 60, 1060) == 300);
	assert_true(fabs(eff(f1, 0, 60, 1030) - 25) < 1e-9);
	assert_true(eff(f1, 3, 60, 1030) == -1);		/* weight 0 */
	assert_true(eff(f1, 1, 0, 1000) == 300);		/* off */

	/* The next reload at 1030 (say the GeoIP file changed): no reset. */
	assert_non_null(f2 = fleet_from_config(&cfg, rm, err, sizeof(err)));
	fleet_carry_routable(f2, f1, 1030);
	assert_true(f2->servers[0].routable_since == 1000);
	assert_true(f2->servers[1].routable_since == 1000);
	assert_true(f2->servers[2].routable_since == 0);
	assert_true(fabs(eff(f2, 1, 60, 1030) - 150) < 1e-9);
	fleet_free(f2);
	fleet_free(f1);
	fleet_free(f0);
}

static void
test_mono_and_names(void **state)
{
	double	a, b;

	(void)state;
	a = clock_mono();
	b = clock_mono();
	assert_true(a > 0 && b >= a);
	assert_string_equal(fleet_source_name(FLEET_CONFIG), "config");
	assert_string_equal(fleet_source_name(FLEET_REDIS), "redis");
	assert_string_equal(fleet_source_name(FLEET_CACHE), "cache");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_tables),
		cmocka_unit_test(test_build_empty_region),
		cmocka_unit_test(test_build_bad_region),
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_routable),
		cmocka_unit_test(test_from_config),
		cmocka_unit_test(test_from_config_errors),
		cmocka_unit_test(test_carry_routable),
		cmocka_unit_test(test_mono_and_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
