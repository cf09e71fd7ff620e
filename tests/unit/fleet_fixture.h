/*
 * The fleet fixture of test_select and test_route: four regions and their
 * region map, and mk(), a fleet built from a list of server specs.
 *
 * A lists explicit fallbacks B then C; B and C compute theirs (every
 * other region by distance); D lists only C, so B and A are "rest".
 *
 * The two tests' specs differ in their last field, the seventh value of
 * each (positional) initializer: test_select gives a server's
 * routable_since, test_route its address families.  So the test defines,
 * before including this file,
 *   SPEC_LAST			the declaration of that field, and
 *   SPEC_SET_LAST(sv, sp)	how mk() copies it from spec sp into the
 *				fleet_server sv.
 */
#ifndef GEO307_TESTS_FLEET_FIXTURE_H
#define GEO307_TESTS_FLEET_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "fleet.h"
#include "region.h"

#if !defined(SPEC_LAST) || !defined(SPEC_SET_LAST)
#error "define SPEC_LAST and SPEC_SET_LAST before including fleet_fixture.h"
#endif

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define SL(a)	{ (a), LEN(a) }
#define NOSL	{ NULL, 0 }

enum { A, B, C, D, NREG };

static char *a_fb[] = { "eu-central", "us-east" };
static char *d_fb[] = { "us-east" };

static struct region_conf regions[NREG] = {
	{ "eu-west", 1, 53.35, -6.26, NOSL, NOSL, SL(a_fb), 0, 1 },
	{ "eu-central", 1, 50.11, 8.68, NOSL, NOSL, NOSL, 0, 2 },
	{ "us-east", 1, 39.04, -77.49, NOSL, NOSL, NOSL, 1, 3 },
	{ "ap-south", 1, 1.35, 103.82, NOSL, NOSL, SL(d_fb), 0, 4 },
};

struct spec {
	const char		*id;
	uint32_t		 region;
	uint32_t		 weight;
	double			 load;
	enum server_state	 state;
	int			 stale;		/* no load report */
	SPEC_LAST
};

/* The region map of regions[], which mk() builds fleets on. */
static struct regionmap	*rm;

/*
 * cfg (zeroed by the caller) gets regions[] with C the default, and rm is
 * built on it: 0, or -1 with the error printed.
 */
static int
fleet_fixture_setup(struct config *cfg)
{
	char	err[256];

	cfg->regions = regions;
	cfg->nregions = NREG;
	cfg->default_region = C;
	if ((rm = region_map_build(cfg, err, sizeof(err))) == NULL) {
		print_error("regionmap_build: %s\n", err);
		return -1;
	}
	return 0;
}

/* The group teardown: rm freed. */
static int
fleet_fixture_teardown(void **state)
{
	(void)state;
	region_map_free(rm);
	return 0;
}

static struct fleet *
mk(const struct spec *sp, size_t n)
{
	struct fleet_server	*sv;
	struct fleet		*f;
	char			 buf[128];
	size_t			 i;

	assert_non_null(sv = calloc(n ? n : 1, sizeof(*sv)));
	for (i = 0; i < n; i++) {
		snprintf(sv[i].id, sizeof(sv[i].id), "%s", sp[i].id);
		snprintf(buf, sizeof(buf), "https://%s.example.com", sp[i].id);
		sv[i].base = strdup(buf);
		sv[i].baselen = strlen(buf);
		sv[i].region = sp[i].region;
		sv[i].weight = sp[i].weight;
		sv[i].load = sp[i].load;
		sv[i].state = sp[i].state;
		sv[i].has_report = !sp[i].stale;
		SPEC_SET_LAST(&sv[i], &sp[i]);
	}
	assert_non_null(f = fleet_build(sv, n, rm));
	return f;
}

#endif
