/*
 * The one routing decision (route.c): a property test over random fleet
 * states (the probabilities an explanation shows are the shares real
 * draws get, within 5 binomial sd), affinity (rendezvous hashing: shares
 * by static weight, what a drain, a load swing, a removal and an addition
 * move), embedded affinity keys, address families and the path-segment
 * key.  Seeds are fixed: a correct decision never fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "route.h"

#define NOW	1000.0
#define NKEYS	10000
#define MAXS	64

#define SPEC_LAST		unsigned families;	/* 0: both */
#define SPEC_SET_LAST(sv, sp)	((sv)->families = (sp)->families)
#include "fleet_fixture.h"

static struct config	cfg;
static struct runtime	rt;

static int
setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&rt, 0, sizeof(rt));
	rt.cfg = &cfg;
	if (fleet_fixture_setup(&cfg) != 0)
		return -1;
	rt.rm = rm;
	rt.sel.spill_below = 0.10;
	return 0;
}

static void
input(struct route_input *in, const char *ip, int home, const char *key)
{
	memset(in, 0, sizeof(*in));
	assert_int_equal(netaddr_parse(ip, &in->client), 0);
	in->synthetic_region = home;
	in->now = NOW;
	if (key != NULL) {
		in->key = key;
		in->keylen = strlen(key);
	}
}

/* count out of n matches probability p within 5 binomial sd. */
static void
expect_share(size_t count, size_t n, double p, const char *what)
{
	double	mean = n * p, sd = sqrt(n * p * (1 - p));

	if (p <= 1e-12 || p >= 1 - 1e-12) {
		if (count != (p <= 1e-12 ? 0 : n))
			fail_msg("%s: %zu of %zu, want %s", what, count, n,
			    p <= 1e-12 ? "none" : "all");
		return;
	}
	if (fabs((double)count - mean) > 5 * sd)
		fail_msg("%s: %zu of %zu (%.4f), want %.4f +- %.4f", what,
		    count, n, (double)count / n, p, 5 * sd / n);
}

/* --- the property test -------------------------------------------- */

static double
pick_load(struct rng *r)
{
	double	x = rng_double(r);

	if (x < 0.2)
		return 1;
	if (x < 0.4)
		return 0.9 + 0.1 * rng_double(r);
	return floor(rng_double(r) * 1e6) / 1e6;
}

static struct fleet *
random_fleet(struct rng *r, struct spec *sp, char ids[][8], size_t *np)
{
	struct fleet	*f;
	size_t		 i, n = 1 + rng_next(r) % 12;

	for (i = 0; i < n; i++) {
		snprintf(ids[i], 8, "s%zu", i);
		sp[i].id = ids[i];
		sp[i].region = (uint32_t)(rng_next(r) % NREG);
		sp[i].weight = rng_double(r) < 0.1 ? 0 :
		    (uint32_t)(1 + rng_next(r) % 500);
		sp[i].load = pick_load(r);
		sp[i].state = rng_double(r) < 0.8 ? SERVER_UP :
		    rng_double(r) < 0.5 ? SERVER_DRAIN : SERVER_DOWN;
		sp[i].stale = rng_double(r) < 0.15;
		sp[i].families = rng_double(r) < 0.7 ? 0 :
		    rng_double(r) < 0.5 ? FLEET_FAMILY_4 : FLEET_FAMILY_6;
	}
	f = mk(sp, n);
	for (i = 0; i < NREG; i++)
		f->regions[i].drained = rng_double(r) < 0.15;
	if (rng_double(r) < 0.1)
		f->fresh_until = 0;	/* a reporting outage: fail-open */
	f->maintenance = rng_double(r) < 0.03;
	*np = n;
	return f;
}

/* The invariants of one decision and its candidate list. */
static size_t
check_decision(const struct fleet *f, const struct route_decision *d,
    struct select_candidate *cand)
{
	size_t	i, n;
	double	sum = 0;

	n = route_candidates(f, d, cand, MAXS);
	if (d->server == NULL) {
		assert_int_equal(n, 0);
		return 0;
	}
	assert_true(n >= 1 && n <= MAXS);
	for (i = 0; i < n; i++) {
		assert_int_equal(cand[i].server->state, SERVER_UP);
		assert_true(cand[i].server->families & d->family);
		assert_false(f->regions[cand[i].server->region].drained);
		sum += cand[i].probability;
	}
	assert_true(fabs(sum - 1) < 1e-9);
	assert_int_equal(d->server->region, d->region);
	if (d->spilled)
		assert_int_equal(d->region, d->plan.region[1]);
	return n;
}

static void
draws_match(const struct fleet *f, const struct route_input *in,
    const struct select_candidate *cand, size_t n, struct rng *r)
{
	struct route_decision	d;
	size_t			count[MAXS] = { 0 }, i, k, draws = 20000;
	char			what[64];

	for (k = 0; k < draws; k++) {
		assert_int_equal(route_decide(&rt, f, in, r, &d), 0);
		for (i = 0; i < n && cand[i].server != d.server; i++)
			;
		if (i == n)
			fail_msg("drew %s, not a candidate", d.server->id);
		count[i]++;
	}
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%s", cand[i].server->id);
		expect_share(count[i], draws, cand[i].probability, what);
	}
}

static void
test_property(void **state)
{
	struct select_candidate	cand[MAXS];
	struct route_decision	d;
	struct route_input	in;
	struct spec		sp[16];
	struct fleet		*f;
	struct rng		r;
	char			ids[16][8];
	size_t			i, n, nsrv, checked = 0, routed = 0;

	(void)state;
	rng_seed(&r, 307);
	for (i = 0; i < 3000; i++) {
		f = random_fleet(&r, sp, ids, &nsrv);
		input(&in, rng_double(&r) < 0.5 ? "192.0.2.1" : "2001:db8::1",
		    (int)(rng_next(&r) % NREG), NULL);
		if (route_decide(&rt, f, &in, &r, &d) != 0) {
			assert_null(d.server);
			/* Only a family filter can leave more than this. */
			if (!f->maintenance && f->regions != NULL) {
				in.family = FLEET_FAMILY_ANY;
				if (route_decide(&rt, f, &in, &r, &d) != 0)
					assert_int_equal(fleet_routable(f,
					    NOW), 0);
			}
			fleet_free(f);
			continue;
		}
		routed++;
		n = check_decision(f, &d, cand);
		/* A sample of states gets real draws against the numbers. */
		if (n > 1 && checked < 60 && i % 5 == 0) {
			draws_match(f, &in, cand, n, &r);
			checked++;
		}
		fleet_free(f);
	}
	assert_true(routed > 1000 && checked >= 50);
}

/* --- affinity ------------------------------------------------------ */

static char	keys[NKEYS][16];

static void
assign(const struct fleet *f, const char *ip, int home,
    const struct fleet_server **out)
{
	struct route_decision	d;
	struct route_input	in;
	struct rng		r;
	size_t			i;

	rng_seed(&r, 1);
	for (i = 0; i < NKEYS; i++) {
		input(&in, ip, home, keys[i]);
		assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
		assert_int_equal(d.affinity, ROUTE_AFFINITY_HIT);
		assert_int_equal(d.reason, REASON_AFFINITY);
		out[i] = d.server;
	}
}

static struct fleet *
ten(struct spec *sp, char ids[][8], size_t n, uint32_t extra_weight)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		snprintf(ids[i], 8, "h%zu", i);
		sp[i] = (struct spec){ ids[i], A, (uint32_t)(100 * (i + 1)),
		    0.3, SERVER_UP, 0, 0 };
	}
	if (extra_weight)
		sp[n - 1].weight = extra_weight;
	return mk(sp, n);
}

static void
test_affinity_hash(void **state)
{
	static const struct fleet_server *before[NKEYS], *after[NKEYS];
	struct spec	 sp[11];
	char		 ids[11][8];
	struct fleet	*f, *g;
	size_t		 i, j, moved, count[10] = { 0 };
	double		 total = 0;

	(void)state;
	cfg.affinity.header = "Upload-Id";
	for (i = 0; i < NKEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
	f = ten(sp, ids, 10, 0);
	assign(f, "192.0.2.1", A, before);
	for (i = 0; i < NKEYS; i++)
		count[before[i] - f->servers]++;
	for (i = 0; i < 10; i++)
		total += f->servers[i].weight;
	for (i = 0; i < 10; i++)
		expect_share(count[i], NKEYS, f->servers[i].weight / total,
		    f->servers[i].id);

	/* A drain and a load swing (and stale reports) move nothing. */
	f->servers[3].state = SERVER_DRAIN;
	for (i = 0; i < 10; i++) {
		f->servers[i].load = i % 2 ? 1 : 0.01;
		f->servers[i].has_report = i % 3 != 0;
	}
	f->regions[A].drained = 1;
	assign(f, "192.0.2.1", A, after);
	for (i = 0, moved = 0; i < NKEYS; i++)
		moved += before[i]->id != after[i]->id &&
		    strcmp(before[i]->id, after[i]->id) != 0;
	assert_int_equal(moved, 0);

	/* Removing h4 (down, or gone) moves exactly h4's keys. */
	f->servers[4].state = SERVER_DOWN;
	assign(f, "192.0.2.1", A, after);
	for (i = 0, moved = 0; i < NKEYS; i++) {
		if (strcmp(before[i]->id, "h4") == 0)
			assert_string_not_equal(after[i]->id, "h4");
		else
			assert_string_equal(after[i]->id, before[i]->id);
		moved += strcmp(before[i]->id, after[i]->id) != 0;
	}
	assert_int_equal(moved, count[4]);
	print_message("# removing h4 (weight 500 of 5500) moved %zu of %d keys "
	    "(%.2f%%), all of them h4's\n", moved, NKEYS, 100.0 * moved / NKEYS);
	fleet_free(f);

	/* Adding h10 (weight 550) takes about its share, all onto it. */
	f = ten(sp, ids, 10, 0);
	assign(f, "192.0.2.1", A, before);
	g = ten(sp, ids, 11, 550);
	assign(g, "192.0.2.1", A, after);
	for (i = 0, moved = 0; i < NKEYS; i++) {
		if (strcmp(before[i]->id, after[i]->id) == 0)
			continue;
		assert_string_equal(after[i]->id, "h10");
		moved++;
	}
	expect_share(moved, NKEYS, 550 / (total + 550), "moved to h10");
	print_message("# adding h10 (weight 550, %.2f%% of the new total) moved "
	    "%zu of %d keys (%.2f%%), all onto h10; a drain and a load swing "
	    "moved 0\n", 100 * 550 / (total + 550), moved, NKEYS,
	    100.0 * moved / NKEYS);
	for (j = 0; j < 11; j++)
		if (strcmp(g->servers[j].id, "h10") == 0)
			assert_int_equal(g->servers[j].weight, 550);
	fleet_free(f);
	fleet_free(g);
	cfg.affinity.header = NULL;
}

static void
test_affinity_embedded(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 0, 0 },
		{ "c1", C, 100, 0, SERVER_UP, 0, 0 },
		{ "c2", C, 0, 0, SERVER_DRAIN, 0, 0 },
		{ "c6", C, 100, 0, SERVER_UP, 0, FLEET_FAMILY_6 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct route_decision	 d;
	struct route_input	 in;
	struct rng		 r;

	(void)state;
	cfg.affinity.header = "Upload-Id";
	cfg.affinity.mode = "embedded";
	rng_seed(&r, 2);
	/* Another region's server, and a drained one at weight 0. */
	input(&in, "192.0.2.1", A, "c1.0123");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_HIT);
	assert_string_equal(d.server->id, "c1");
	assert_int_equal(d.reason, REASON_AFFINITY);
	input(&in, "192.0.2.1", A, "c2.x");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_string_equal(d.server->id, "c2");
	/* Down, unknown, no dot, wrong family: a miss, then selection. */
	f->servers[1].state = SERVER_DOWN;
	input(&in, "192.0.2.1", A, "c1.0123");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_MISS);
	assert_string_equal(d.server->id, "a1");
	assert_int_equal(d.reason, REASON_SYNTHETIC);
	input(&in, "192.0.2.1", A, "zz.1");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_MISS);
	input(&in, "192.0.2.1", A, "c1");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_MISS);
	input(&in, "192.0.2.1", A, "c6.1");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_MISS);
	input(&in, "2001:db8::1", A, "c6.1");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_HIT);
	/* No key: none. */
	input(&in, "192.0.2.1", A, NULL);
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_NONE);
	cfg.affinity.header = NULL;
	cfg.affinity.mode = NULL;
	input(&in, "192.0.2.1", A, "c1.0123");
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_int_equal(d.affinity, ROUTE_AFFINITY_OFF);
	fleet_free(f);
}

static void
test_families(void **state)
{
	const struct spec	sp[] = {
		{ "a4", A, 100, 0, SERVER_UP, 0, FLEET_FAMILY_4 },
		{ "a6", A, 100, 0, SERVER_UP, 0, FLEET_FAMILY_6 },
		{ "a46", A, 100, 0, SERVER_UP, 0, 0 },
		{ "b6", B, 100, 0, SERVER_UP, 0, FLEET_FAMILY_6 },
		{ "c4", C, 100, 0, SERVER_UP, 0, FLEET_FAMILY_4 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct route_decision	 d;
	struct route_input	 in;
	struct rng		 r;
	size_t			 i;

	(void)state;
	rng_seed(&r, 3);
	for (i = 0; i < 2000; i++) {
		input(&in, i % 3 == 0 ? "192.0.2.1" : i % 3 == 1 ?
		    "::ffff:192.0.2.1" : "2001:db8::1", A, NULL);
		assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
		if (i % 3 == 2) {
			assert_int_equal(d.family, FLEET_FAMILY_6);
			assert_string_not_equal(d.server->id, "a4");
		} else {
			assert_int_equal(d.family, FLEET_FAMILY_4);
			assert_string_not_equal(d.server->id, "a6");
		}
	}
	/* A region the filter empties falls back (A lists B, then C). */
	f->servers[0].state = SERVER_DOWN;
	f->servers[2].state = SERVER_DOWN;
	input(&in, "192.0.2.1", A, NULL);
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_string_equal(d.server->id, "c4");
	assert_int_equal(d.reason, REASON_FALLBACK);
	input(&in, "2001:db8::1", A, NULL);
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_string_equal(d.server->id, "a6");
	/* Forced family (/route&family=6) for an IPv4 address. */
	input(&in, "192.0.2.1", A, NULL);
	in.family = FLEET_FAMILY_6;
	assert_int_equal(route_decide(&rt, f, &in, &r, &d), 0);
	assert_string_equal(d.server->id, "a6");
	fleet_free(f);
}

static void
test_path_segment(void **state)
{
	const char	*k;
	size_t		 len = 0;
	struct config	 c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.affinity.path_segment = 2;
	k = route_key_from_target(&c, "/files/abc123/part?x=1", 22, &len);
	assert_non_null(k);
	assert_int_equal(len, 6);
	assert_memory_equal(k, "abc123", 6);
	k = route_key_from_target(&c, "/files/abc?x=/y", 15, &len);
	assert_non_null(k);
	assert_int_equal(len, 3);
	assert_null(route_key_from_target(&c, "/files", 6, &len));
	assert_null(route_key_from_target(&c, "/files//x", 9, &len));
	assert_null(route_key_from_target(&c, "/files?a/b/c", 12, &len));
	c.affinity.path_segment = 1;
	k = route_key_from_target(&c, "/k1", 3, &len);
	assert_non_null(k);
	assert_int_equal(len, 2);
	c.affinity.path_segment = 0;
	assert_null(route_key_from_target(&c, "/k1", 3, &len));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_affinity_hash),
		cmocka_unit_test(test_affinity_embedded),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_path_segment),
	};

	return cmocka_run_group_tests(tests, setup, fleet_fixture_teardown);
}
