/* Region map: home-region rules (SPEC 2.2), fallback orders, distances. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "countries.h"
#include "region.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define SL(a)	{ (a), LEN(a) }
#define NOSL	{ NULL, 0 }

/*
 * File order: eu-west, eu-central, us-east, us-west, nowhere, ap-south.
 * "nowhere" has no location and comes before ap-south in the file, so
 * that "regions without a location rank last" is visible.
 */
enum { EUW, EUC, USE, USW, NOWHERE, APS, NREG };

static char *euw_c[] = { "GB", "IE" };
static char *euw_k[] = { "EU", "AF" };
static char *euw_f[] = { "us-east" };
static char *euc_c[] = { "DE" };
static char *euc_k[] = { "EU" };
static char *use_c[] = { "US", "CA" };
static char *use_k[] = { "NA", "SA" };
static char *usw_k[] = { "NA" };
static char *now_k[] = { "AN", "OC" };
static char *aps_k[] = { "AS", "OC" };

static struct region_conf regions[NREG] = {
	{ "eu-west", 1, 53.35, -6.26, SL(euw_c), SL(euw_k), SL(euw_f), 0, 1 },
	{ "eu-central", 1, 50.11, 8.68, SL(euc_c), SL(euc_k), NOSL, 0, 2 },
	{ "us-east", 1, 39.04, -77.49, SL(use_c), SL(use_k), NOSL, 1, 3 },
	{ "us-west", 1, 45.6, -121.2, NOSL, SL(usw_k), NOSL, 0, 4 },
	{ "nowhere", 0, 0, 0, NOSL, SL(now_k), NOSL, 0, 5 },
	{ "ap-south", 1, 1.35, 103.82, NOSL, SL(aps_k), NOSL, 0, 6 },
};

static void
make_config(struct config *cfg, struct region_conf *r, size_t n, size_t def)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->regions = r;
	cfg->nregions = n;
	cfg->default_region = def;
}

static int
setup(void **state)
{
	struct config	 cfg;
	char		 err[256];

	make_config(&cfg, regions, NREG, USE);
	*state = region_map_build(&cfg, err, sizeof(err));
	if (*state == NULL)
		print_error("regionmap_build: %s\n", err);
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	region_map_free(*state);
	return 0;
}

static struct geo_result
geo(const char *country, const char *continent, int has_loc, double lat,
    double lon)
{
	struct geo_result	g;

	memset(&g, 0, sizeof(g));
	g.found = 1;
	snprintf(g.country, sizeof(g.country), "%s", country);
	snprintf(g.continent, sizeof(g.continent), "%s", continent);
	g.has_location = has_loc;
	g.lat = lat;
	g.lon = lon;
	return g;
}

static void
expect_home(const struct regionmap *rm, struct geo_result g, uint32_t want,
    enum region_rule want_rule)
{
	enum region_rule	rule = RULE_SYNTHETIC;
	uint32_t		got;

	got = region_map_home(rm, &g, &rule);
	assert_string_equal(rm->regions[got].name, rm->regions[want].name);
	assert_string_equal(region_rule_name(rule),
	    region_rule_name(want_rule));
}

static void
test_build_tables(void **state)
{
	const struct regionmap	*rm = *state;

	assert_int_equal(rm->n, NREG);
	assert_int_equal(rm->default_region, USE);
	assert_string_equal(rm->regions[APS].name, "ap-south");
	assert_int_equal(rm->by_country[('G' - 'A') * 26 + 'B' - 'A'], EUW);
	assert_int_equal(rm->by_country[('D' - 'A') * 26 + 'E' - 'A'], EUC);
	assert_int_equal(rm->by_country[('C' - 'A') * 26 + 'A' - 'A'], USE);
	assert_int_equal(rm->by_country[('F' - 'A') * 26 + 'R' - 'A'], -1);
	/* EU: eu-west, eu-central in file order. */
	assert_int_equal(rm->nby_continent[region_continent_index("EU")], 2);
	assert_int_equal(rm->by_continent[region_continent_index("EU")][0], EUW);
	assert_int_equal(rm->by_continent[region_continent_index("EU")][1], EUC);
	assert_int_equal(rm->nby_continent[region_continent_index("OC")], 2);
	assert_int_equal(rm->by_continent[region_continent_index("OC")][0], NOWHERE);
	assert_int_equal(rm->by_continent[region_continent_index("OC")][1], APS);
	assert_int_equal(rm->nby_continent[region_continent_index("AF")], 1);
	assert_int_equal(region_map_find(rm, "us-west"), USW);
	assert_int_equal(region_map_find(rm, "mars"), -1);
	assert_int_equal(region_map_find(rm, ""), -1);
}

static void
test_continent_index(void **state)
{
	(void)state;
	assert_int_equal(region_continent_index("AF"), 0);
	assert_int_equal(region_continent_index("AN"), 1);
	assert_int_equal(region_continent_index("AS"), 2);
	assert_int_equal(region_continent_index("EU"), 3);
	assert_int_equal(region_continent_index("NA"), 4);
	assert_int_equal(region_continent_index("OC"), 5);
	assert_int_equal(region_continent_index("SA"), 6);
	assert_int_equal(region_continent_index(""), -1);
	assert_int_equal(region_continent_index("E"), -1);
	assert_int_equal(region_continent_index("EUR"), -1);
	assert_int_equal(region_continent_index("XX"), -1);
	assert_int_equal(region_continent_index(NULL), -1);
}

static void
test_rule_country(void **state)
{
	const struct regionmap	*rm = *state;

	expect_home(rm, geo("GB", "EU", 1, 51.5, -0.13), EUW, RULE_COUNTRY);
	expect_home(rm, geo("DE", "EU", 0, 0, 0), EUC, RULE_COUNTRY);
	/* The country wins over a location that is nearer elsewhere. */
	expect_home(rm, geo("US", "NA", 1, 45.5, -122.6), USE, RULE_COUNTRY);
	expect_home(rm, geo("CA", "", 0, 0, 0), USE, RULE_COUNTRY);
}

static void
test_rule_continent_nearest(void **state)
{
	const struct regionmap	*rm = *state;

	/* Paris: Frankfurt 478 km, Dublin 781 km. */
	expect_home(rm, geo("FR", "EU", 1, 48.86, 2.35), EUC, RULE_CONTINENT);
	/* Los Angeles (MX is listed nowhere): us-west 1309, us-east 3652. */
	expect_home(rm, geo("MX", "NA", 1, 34.05, -118.24), USW,
	    RULE_CONTINENT);
	/* Sydney: nowhere is first in the file but has no location. */
	expect_home(rm, geo("AU", "OC", 1, -33.87, 151.21), APS,
	    RULE_CONTINENT);
	/* Cairo is in Africa: only eu-west lists AF, far or not. */
	expect_home(rm, geo("EG", "AF", 1, 30.04, 31.24), EUW, RULE_CONTINENT);
}

static void
test_rule_continent_first_in_file(void **state)
{
	const struct regionmap	*rm = *state;

	expect_home(rm, geo("FR", "EU", 0, 0, 0), EUW, RULE_CONTINENT);
	expect_home(rm, geo("", "NA", 0, 0, 0), USE, RULE_CONTINENT);
	expect_home(rm, geo("AU", "OC", 0, 0, 0), NOWHERE, RULE_CONTINENT);
	/* A location, but no listed region has one: first in the file. */
	expect_home(rm, geo("AQ", "AN", 1, -75, 0), NOWHERE, RULE_CONTINENT);
}

static void
test_rule_nearest(void **state)
{
	const struct regionmap	*rm = *state;

	/* No continent known: Cairo is nearest to Frankfurt overall. */
	expect_home(rm, geo("EG", "", 1, 30.04, 31.24), EUC, RULE_NEAREST);
	/* Tokyo with a bogus continent code. */
	expect_home(rm, geo("", "XX", 1, 35.68, 139.69), APS, RULE_NEAREST);
	expect_home(rm, geo("", "", 1, 34.05, -118.24), USW, RULE_NEAREST);
}

static void
test_rule_default(void **state)
{
	const struct regionmap	*rm = *state;
	enum region_rule	 rule = RULE_COUNTRY;

	expect_home(rm, geo("", "", 0, 0, 0), USE, RULE_DEFAULT);
	expect_home(rm, geo("ZZ", "", 0, 0, 0), USE, RULE_DEFAULT);
	assert_int_equal(region_map_home(rm, NULL, &rule), USE);
	assert_int_equal(rule, RULE_DEFAULT);
	/* rule may be NULL. */
	assert_int_equal(region_map_home(rm, NULL, NULL), USE);
}

static void
test_rule_names(void **state)
{
	(void)state;
	assert_string_equal(region_rule_name(RULE_COUNTRY), "country");
	assert_string_equal(region_rule_name(RULE_CONTINENT), "continent");
	assert_string_equal(region_rule_name(RULE_NEAREST), "nearest");
	assert_string_equal(region_rule_name(RULE_DEFAULT), "default");
	assert_string_equal(region_rule_name(RULE_SYNTHETIC), "synthetic");
}

static void
expect_list(const uint32_t *got, size_t ngot, const uint32_t *want,
    size_t nwant)
{
	size_t	i;

	assert_int_equal(ngot, nwant);
	for (i = 0; i < nwant; i++)
		assert_int_equal(got[i], want[i]);
}

static void
test_fallback_explicit(void **state)
{
	const struct regionmap	*rm = *state;
	const struct region	*r = &rm->regions[EUW];
	/* The rest by distance from Dublin, the location-less one last. */
	const uint32_t		 fb[] = { USE };
	const uint32_t		 rest[] = { EUC, USW, APS, NOWHERE };

	expect_list(r->fallback, r->nfallback, fb, LEN(fb));
	expect_list(r->rest, r->nrest, rest, LEN(rest));
}

static void
test_fallback_by_distance(void **state)
{
	const struct regionmap	*rm = *state;
	const uint32_t		 euc[] = { EUW, USE, USW, APS, NOWHERE };
	const uint32_t		 use[] = { USW, EUW, EUC, APS, NOWHERE };
	const uint32_t		 aps[] = { EUC, EUW, USW, USE, NOWHERE };
	/* No location of its own: file order. */
	const uint32_t		 now[] = { EUW, EUC, USE, USW, APS };

	expect_list(rm->regions[EUC].fallback, rm->regions[EUC].nfallback,
	    euc, LEN(euc));
	assert_int_equal(rm->regions[EUC].nrest, 0);
	expect_list(rm->regions[USE].fallback, rm->regions[USE].nfallback,
	    use, LEN(use));
	expect_list(rm->regions[APS].fallback, rm->regions[APS].nfallback,
	    aps, LEN(aps));
	expect_list(rm->regions[NOWHERE].fallback,
	    rm->regions[NOWHERE].nfallback, now, LEN(now));
	assert_int_equal(rm->regions[NOWHERE].nrest, 0);
}

static void
test_distance(void **state)
{
	double	d;

	(void)state;
	/* Dublin - Ashburn, Virginia: about 5,470 km. */
	d = region_distance_km(53.35, -6.26, 39.04, -77.49);
	assert_true(fabs(d - 5470) < 5470 * 0.01);
	/* Symmetric. */
	assert_true(fabs(d - region_distance_km(39.04, -77.49, 53.35, -6.26)) <
	    1e-9);
	/* Antipodes: half the circumference, pi x 6371. */
	d = region_distance_km(0, 0, 0, 180);
	assert_true(fabs(d - 20015.1) < 1);
	d = region_distance_km(90, 0, -90, 0);
	assert_true(fabs(d - 20015.1) < 1);
	d = region_distance_km(40.4168, -3.7038, -40.4168, 176.2962);
	assert_false(isnan(d));
	assert_true(fabs(d - 20015.1) < 1);
	assert_true(region_distance_km(53.35, -6.26, 53.35, -6.26) == 0);
	assert_true(region_distance_km(0, 0, 0, 0) == 0);
	/* Across the date line the short way round: 2 degrees of equator. */
	d = region_distance_km(0, 179, 0, -179);
	assert_true(fabs(d - 222.39) < 0.5);
}

static void
expect_build_error(struct region_conf *r, size_t n, size_t def,
    const char *needle)
{
	struct regionmap	*rm;
	struct config		 cfg;
	char			 err[256] = "";

	make_config(&cfg, r, n, def);
	rm = region_map_build(&cfg, err, sizeof(err));
	assert_null(rm);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void
test_build_errors(void **state)
{
	static char		*bad_f[] = { "mars" };
	static char		*self_f[] = { "a" };
	static char		*dup_f[] = { "b", "b" };
	static char		*gb[] = { "GB" };
	static char		*bad_c[] = { "G1" };
	static char		*bad_k[] = { "EURO" };
	struct region_conf	 r[2];
	struct config		 cfg;
	char			 err[256];

	(void)state;
	memset(r, 0, sizeof(r));
	strcpy(r[0].name, "a");
	strcpy(r[1].name, "b");
	r[0].is_default = 1;

	r[0].fallback = (struct strlist)SL(bad_f);
	expect_build_error(r, 2, 0, "mars");
	r[0].fallback = (struct strlist)SL(self_f);
	expect_build_error(r, 2, 0, "itself");
	r[0].fallback = (struct strlist)SL(dup_f);
	expect_build_error(r, 2, 0, "twice");
	r[0].fallback = (struct strlist)NOSL;

	r[0].countries = (struct strlist)SL(gb);
	r[1].countries = (struct strlist)SL(gb);
	expect_build_error(r, 2, 0, "GB");
	r[1].countries = (struct strlist)SL(bad_c);
	expect_build_error(r, 2, 0, "G1");
	r[1].countries = (struct strlist)NOSL;
	r[1].continents = (struct strlist)SL(bad_k);
	expect_build_error(r, 2, 0, "EURO");
	r[1].continents = (struct strlist)NOSL;

	strcpy(r[1].name, "a");
	expect_build_error(r, 2, 0, "twice");
	strcpy(r[1].name, "b");

	expect_build_error(r, 2, 5, "default");
	expect_build_error(r, 0, 0, "region");

	/* The file:line form when the config has a path. */
	make_config(&cfg, r, 2, 0);
	cfg.path = "/etc/geo307.conf";
	r[1].line = 42;
	r[1].fallback = (struct strlist)SL(bad_f);
	assert_null(region_map_build(&cfg, err, sizeof(err)));
	assert_string_equal(err,
	    "/etc/geo307.conf:42: region b: fallback mars: no such region");
	r[1].fallback = (struct strlist)NOSL;

	/* And the fixed one builds. */
	make_config(&cfg, r, 2, 1);
	region_map_free(region_map_build(&cfg, err, sizeof(err)));
	region_map_free(NULL);
}

static void
test_single_region(void **state)
{
	struct region_conf	 r;
	struct regionmap	*rm;
	struct config		 cfg;
	char			 err[256];

	(void)state;
	memset(&r, 0, sizeof(r));
	strcpy(r.name, "only");
	r.is_default = 1;
	make_config(&cfg, &r, 1, 0);
	assert_non_null(rm = region_map_build(&cfg, err, sizeof(err)));
	assert_int_equal(rm->regions[0].nfallback, 0);
	assert_int_equal(rm->regions[0].nrest, 0);
	/* A location but no region with one: the default. */
	expect_home(rm, geo("FR", "EU", 1, 48.86, 2.35), 0, RULE_DEFAULT);
	region_map_free(rm);
}

/* The nearest of list (NULL: all) by haversine: the slow reference. */
static int
brute_nearest(const struct regionmap *rm, const uint32_t *list, size_t n,
    double lat, double lon)
{
	double	best = INFINITY, d;
	size_t	i;
	int	found = -1;

	for (i = 0; i < n; i++) {
		const struct region *r = &rm->regions[list ? list[i] : i];

		if (!r->has_location)
			continue;
		d = region_distance_km(lat, lon, r->lat, r->lon);
		if (d < best) {
			best = d;
			found = list ? (int)list[i] : (int)i;
		}
	}
	return found;
}

/*
 * No trigonometry beyond a sine and cosine per request: the dot-product
 * nearest and the build-time per-country tables pick what haversine
 * picks, for every country centroid and for 20,000 random points.
 */
static void
test_nearest_tables(void **state)
{
	const struct regionmap	*rm = *state;
	struct geo_result	 g;
	enum region_rule	 rule;
	uint32_t		 got;
	unsigned		 i, seed = 307;
	int			 ci, want;
	double			 lat, lon;

	for (i = 0; i < countries_table_len; i++) {
		const struct country_info *c = &countries_table[i];

		g = geo("", "", 1, c->lat, c->lon);
		memcpy(g.country, c->code, 3);
		/* Not a country of any region: continent or nearest rule. */
		if (rm->by_country[(c->code[0] - 'A') * 26 + c->code[1] -
		    'A'] >= 0)
			continue;
		memcpy(g.continent, c->continent, 3);
		ci = region_continent_index(c->continent);
		if (ci >= 0 && rm->nby_continent[ci] > 0) {
			want = brute_nearest(rm, rm->by_continent[ci],
			    rm->nby_continent[ci], c->lat, c->lon);
			if (want < 0)	/* none has a location: the first */
				want = (int)rm->by_continent[ci][0];
		} else if ((want = brute_nearest(rm, NULL, rm->n, c->lat,
		    c->lon)) < 0)
			want = (int)rm->default_region;
		got = region_map_home(rm, &g, &rule);
		if ((int)got != want) {
			print_error("%s: %s, want %s\n", c->code,
			    rm->regions[got].name, rm->regions[want].name);
			fail();
		}
	}
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		lat = (double)(seed % 1800000) / 10000 - 90;
		seed = seed * 1103515245u + 12345u;
		lon = (double)(seed % 3600000) / 10000 - 180;
		g = geo("", "", 1, lat, lon);
		g.location_from_db = 1;
		got = region_map_home(rm, &g, &rule);
		assert_int_equal(rule, RULE_NEAREST);
		assert_int_equal((int)got, brute_nearest(rm, NULL, rm->n, lat,
		    lon));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_tables),
		cmocka_unit_test(test_continent_index),
		cmocka_unit_test(test_rule_country),
		cmocka_unit_test(test_rule_continent_nearest),
		cmocka_unit_test(test_rule_continent_first_in_file),
		cmocka_unit_test(test_rule_nearest),
		cmocka_unit_test(test_rule_default),
		cmocka_unit_test(test_rule_names),
		cmocka_unit_test(test_fallback_explicit),
		cmocka_unit_test(test_fallback_by_distance),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_single_region),
		cmocka_unit_test(test_nearest_tables),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
