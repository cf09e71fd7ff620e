/*
 * Server selection (SPEC 2.3-2.6, 2.8).  Shares are checked statistically
 * with a fixed seed: over N draws a server with probability p gets
 * N p +- 5 sd (sd = sqrt(N p (1 - p))), the binomial bound, so a correct
 * picker fails with probability below 1e-6 per check and, with the seed
 * fixed, never.
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

#include "select.h"

#define N	200000
#define NOW	1000.0

#define SPEC_LAST		double since;		/* routable_since */
#define SPEC_SET_LAST(sv, sp)	((sv)->routable_since = (sp)->since)
#include "fleet_fixture.h"

static struct select_params params = { 0.10, 0 };

static int
setup(void **state)
{
	struct config	cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	return fleet_fixture_setup(&cfg);
}

struct tally {
	size_t	count[64];	/* by server index */
	size_t	by_region[NREG];
	size_t	fallback, spilled, failopen, fail;
};

static void
run(const struct fleet *f, uint32_t home, const struct select_params *p,
    size_t n, uint64_t seed, struct tally *t)
{
	struct select_result	res;
	struct rng		rng;
	size_t			i, idx;

	memset(t, 0, sizeof(*t));
	rng_seed(&rng, seed);
	for (i = 0; i < n; i++) {
		if (select_server(f, home, p, NOW, &rng, &res) != 0) {
			assert_null(res.server);
			t->fail++;
			continue;
		}
		assert_non_null(res.server);
		idx = (size_t)(res.server - f->servers);
		assert_true(idx < f->nservers && idx < 64);
		assert_int_equal(res.region, res.server->region);
		t->count[idx]++;
		t->by_region[res.region]++;
		t->fallback += res.fallback != 0;
		t->spilled += res.spilled != 0;
		t->failopen += res.failopen != 0;
		/* Invariants of every answer. */
		assert_int_equal(res.server->state, SERVER_UP);
		assert_true(res.server->weight > 0);
		assert_false(f->regions[res.region].drained);
		assert_int_equal(res.fallback, res.region != home);
		if (res.spilled)
			assert_true(res.fallback);
	}
}

/* count out of n matches probability p within 5 binomial sd. */
static void
expect_share(size_t count, size_t n, double p, const char *what)
{
	double	mean = n * p, sd = sqrt(n * p * (1 - p));

	if (p <= 0 || p >= 1) {
		if (count != (p <= 0 ? 0 : n))
			fail_msg("%s: %zu of %zu, want %s", what, count, n,
			    p <= 0 ? "none" : "all");
		return;
	}
	if (fabs((double)count - mean) > 5 * sd)
		fail_msg("%s: %zu of %zu (%.4f), want %.4f +- %.4f", what,
		    count, n, (double)count / n, p, 5 * sd / n);
}

static void
test_shares_by_weight(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 0, 0 },
		{ "a2", A, 300, 0, SERVER_UP, 0, 0 },
		{ "a3", A, 600, 0, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &params, N, 1, &t);
	assert_int_equal(t.fail + t.fallback + t.failopen, 0);
	expect_share(t.count[0], N, 0.1, "a1");
	expect_share(t.count[1], N, 0.3, "a2");
	expect_share(t.count[2], N, 0.6, "a3");
	expect_share(t.count[3], N, 0, "b1");
	fleet_free(f);
}

static void
test_shares_by_load(void **state)
{
	/* Effective 50, 100, 50 (and a1's report says load 0.5). */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.5, SERVER_UP, 0, 0 },
		{ "a2", A, 100, 0, SERVER_UP, 0, 0 },
		{ "a3", A, 200, 0.75, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	assert_true(fabs(select_headroom(f, A, &params, NOW) - 0.5) < 1e-12);
	run(f, A, &params, N, 2, &t);
	assert_int_equal(t.fail + t.fallback, 0);
	expect_share(t.count[0], N, 0.25, "a1");
	expect_share(t.count[1], N, 0.5, "a2");
	expect_share(t.count[2], N, 0.25, "a3");
	fleet_free(f);
}

static void
test_full_excluded(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 1, SERVER_UP, 0, 0 },
		{ "a2", A, 100, 0.2, SERVER_UP, 0, 0 },
		{ "a3", A, 1000, 1, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &params, N, 3, &t);
	expect_share(t.count[0], N, 0, "a1");
	expect_share(t.count[1], N, 1, "a2");
	expect_share(t.count[2], N, 0, "a3");
	fleet_free(f);
}

static void
test_all_full_floor(void **state)
{
	/* Nothing to spill to (B and C have no server): stays home. */
	const struct spec	sp[] = {
		{ "a1", A, 100, 1, SERVER_UP, 0, 0 },
		{ "a2", A, 300, 1, SERVER_UP, 0, 0 },
		{ "d1", D, 100, 0, SERVER_UP, 0, 0 },
	};
	struct select_params	 nospill = { 0, 0 };
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	assert_true(select_headroom(f, A, &params, NOW) == 0);
	run(f, A, &params, N, 4, &t);
	assert_int_equal(t.fail + t.fallback + t.spilled, 0);
	expect_share(t.count[0], N, 0.25, "a1");
	expect_share(t.count[1], N, 0.75, "a2");
	/* The same with spill off. */
	run(f, A, &nospill, N, 5, &t);
	expect_share(t.count[0], N, 0.25, "a1");
	expect_share(t.count[1], N, 0.75, "a2");
	fleet_free(f);
}

static void
test_floor_mixes_with_room(void **state)
{
	/* All >= 1 but one reported just below 1 would not be: 0.99 < 1. */
	const struct spec	sp[] = {
		{ "a1", A, 100, 1, SERVER_UP, 0, 0 },
		{ "a2", A, 100, 0.995, SERVER_UP, 0, 0 },
	};
	struct select_params	 nospill = { 0, 0 };
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	/* a2 has load < 1: a1 is excluded, whatever a2's room. */
	run(f, A, &nospill, N / 10, 6, &t);
	expect_share(t.count[0], N / 10, 0, "a1");
	fleet_free(f);
}

static void
test_spill_fraction(void **state)
{
	/*
	 * A's headroom 0.04 < 0.10: (0.10 - 0.04) / 0.10 = 60% spills.  B,
	 * first on the list, has 0.05: skipped.  C has room: takes it.
	 */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.96, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0.95, SERVER_UP, 0, 0 },
		{ "c1", C, 100, 0, SERVER_UP, 0, 0 },
		{ "c2", C, 300, 0.5, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	assert_true(fabs(select_headroom(f, A, &params, NOW) - 0.04) < 1e-12);
	run(f, A, &params, N, 7, &t);
	assert_int_equal(t.fail + t.failopen, 0);
	expect_share(t.count[0], N, 0.4, "a1 (stays)");
	expect_share(t.count[1], N, 0, "b1 (no headroom)");
	expect_share(t.by_region[C], N, 0.6, "spill to C");
	assert_int_equal(t.spilled, t.by_region[C]);
	assert_int_equal(t.fallback, t.by_region[C]);
	/* Within C, the usual weights: 100 vs 150. */
	expect_share(t.count[2], t.by_region[C], 0.4, "c1 in C");
	fleet_free(f);
}

static void
test_spill_to_first_with_headroom(void **state)
{
	/* Both fallbacks have room: the first on the list gets it all. */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.98, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0.5, SERVER_UP, 0, 0 },
		{ "c1", C, 100, 0, SERVER_UP, 0, 0 },
	};
	struct select_params	 sp25 = { 0.25, 0 };
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &params, N, 8, &t);
	/* (0.10 - 0.02) / 0.10 = 80%. */
	expect_share(t.by_region[B], N, 0.8, "spill to B");
	expect_share(t.by_region[C], N, 0, "C");
	/* A higher threshold: (0.25 - 0.02) / 0.25 = 92%. */
	run(f, A, &sp25, N, 9, &t);
	expect_share(t.by_region[B], N, 0.92, "spill to B at 0.25");
	fleet_free(f);
}

static void
test_no_spill_without_headroom(void **state)
{
	/* D has room, but is not on A's list: fallback is not "anywhere". */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.99, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0.95, SERVER_UP, 0, 0 },
		{ "c1", C, 100, 0.999, SERVER_UP, 0, 0 },
		{ "d1", D, 100, 0, SERVER_UP, 0, 0 },
	};
	struct select_params	 off = { 0, 0 };
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &params, N, 10, &t);
	assert_int_equal(t.count[0], N);
	assert_int_equal(t.fallback + t.spilled, 0);
	/* spill_below = 0 turns spilling off: home keeps everything. */
	f->servers[1].load = 0;
	run(f, A, &off, N, 11, &t);
	assert_int_equal(t.count[0], N);
	fleet_free(f);
}

static void
test_spill_skips_drained(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 1, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0, SERVER_UP, 0, 0 },
		{ "c1", C, 100, 0, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	f->regions[B].drained = 1;
	run(f, A, &params, N / 10, 12, &t);
	/* H = 0: everything spills, past drained B to C. */
	assert_int_equal(t.by_region[C], N / 10);
	assert_int_equal(t.spilled, N / 10);
	fleet_free(f);
}

static void
test_drained_home(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0, SERVER_UP, 0, 0 },
		{ "b2", B, 100, 0, SERVER_UP, 0, 0 },
		{ "c1", C, 100, 0, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	f->regions[A].drained = 1;
	run(f, A, &params, N, 13, &t);
	assert_int_equal(t.count[0], 0);
	assert_int_equal(t.by_region[B], N);
	assert_int_equal(t.fallback, N);
	assert_int_equal(t.spilled + t.failopen, 0);
	expect_share(t.count[1], N, 0.5, "b1");
	/* A drained fallback is skipped. */
	f->regions[B].drained = 1;
	run(f, A, &params, N / 10, 14, &t);
	assert_int_equal(t.by_region[C], N / 10);
	/* Drained C as home goes down its computed list: A is nearest. */
	f->regions[A].drained = 0;
	f->regions[C].drained = 1;
	run(f, C, &params, N / 10, 15, &t);
	assert_int_equal(t.by_region[A], N / 10);
	fleet_free(f);
}

static void
test_no_candidate_at_home(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_DOWN, 0, 0 },
		{ "a2", A, 0, 0, SERVER_UP, 0, 0 },
		{ "a3", A, 100, 0, SERVER_DRAIN, 0, 0 },
		{ "c1", C, 100, 0, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	/* B is empty: skipped; C is next on A's list. */
	run(f, A, &params, N / 10, 16, &t);
	assert_int_equal(t.count[3], N / 10);
	assert_int_equal(t.fallback, N / 10);
	assert_int_equal(t.spilled, 0);
	assert_true(select_headroom(f, A, &params, NOW) == -1);
	fleet_free(f);
}

static void
test_stale_skipped(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 1, 0 },
		{ "a2", A, 100, 0.5, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &params, N / 10, 17, &t);
	assert_int_equal(t.count[1], N / 10);
	assert_int_equal(t.failopen, 0);
	/* Home only stale: the fresh one on the path wins. */
	f->servers[1].has_report = 0;
	run(f, A, &params, N / 10, 18, &t);
	assert_int_equal(t.count[2], N / 10);
	assert_int_equal(t.fallback, N / 10);
	assert_int_equal(t.failopen, 0);
	fleet_free(f);
}

static void
test_all_stale_failopen(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.9, SERVER_UP, 0, 0 },
		{ "a2", A, 300, 1, SERVER_UP, 1, 0 },
		{ "a3", A, 100, 0, SERVER_DOWN, 0, 0 },
		{ "b1", B, 100, 0, SERVER_UP, 1, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	/* The snapshot went stale (Redis gone longer than stale_after). */
	f->fresh_until = NOW - 1;
	assert_true(select_headroom(f, A, &params, NOW) == -1);
	run(f, A, &params, N, 19, &t);
	assert_int_equal(t.failopen, N);
	assert_int_equal(t.fallback + t.spilled + t.fail, 0);
	/* Weight alone: load 0.9 and load 1 do not matter. */
	expect_share(t.count[0], N, 0.25, "a1");
	expect_share(t.count[1], N, 0.75, "a2");
	/* Home has nothing up: fail open down the path. */
	f->servers[0].state = SERVER_DOWN;
	f->servers[1].state = SERVER_DRAIN;
	run(f, A, &params, N / 10, 20, &t);
	assert_int_equal(t.count[3], N / 10);
	assert_int_equal(t.failopen, N / 10);
	assert_int_equal(t.fallback, N / 10);
	fleet_free(f);
}

static void
test_stale_one_fresh_elsewhere(void **state)
{
	/* Fresh snapshot, but only B's server has a report. */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 1, 0 },
		{ "b1", B, 100, 0.99, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &params, N / 10, 21, &t);
	assert_int_equal(t.count[1], N / 10);
	assert_int_equal(t.failopen, 0);
	fleet_free(f);
}

static void
test_fresh_off_explicit_path(void **state)
{
	/*
	 * D's list names only C.  D and C are stale, A and B are fresh: the
	 * path is extended by distance from D (B, then A), not failed open.
	 */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0.5, SERVER_UP, 0, 0 },
		{ "c1", C, 100, 0, SERVER_UP, 1, 0 },
		{ "d1", D, 100, 0, SERVER_UP, 1, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	assert_int_equal(rm->regions[D].nrest, 2);
	assert_int_equal(rm->regions[D].rest[0], B);
	run(f, D, &params, N / 10, 22, &t);
	assert_int_equal(t.count[1], N / 10);
	assert_int_equal(t.failopen + t.spilled, 0);
	assert_int_equal(t.fallback, N / 10);
	/* B drained: A is next. */
	f->regions[B].drained = 1;
	run(f, D, &params, N / 10, 23, &t);
	assert_int_equal(t.count[0], N / 10);
	/* C fresh again: the configured path comes first. */
	f->servers[2].has_report = 1;
	run(f, D, &params, N / 10, 24, &t);
	assert_int_equal(t.count[2], N / 10);
	/*
	 * Nothing on D's path at all (no server up there) but A: not a 503,
	 * even though A is on neither D's list nor D.
	 */
	f->servers[2].state = SERVER_DOWN;
	f->servers[3].state = SERVER_DOWN;
	run(f, D, &params, N / 10, 25, &t);
	assert_int_equal(t.count[0], N / 10);
	/* ... and the same when everything is stale (fail-open). */
	f->fresh_until = NOW;
	run(f, D, &params, N / 10, 26, &t);
	assert_int_equal(t.count[0], N / 10);
	assert_int_equal(t.failopen, N / 10);
	fleet_free(f);
}

static void
test_never_weight0_down_drain(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 0, 0, SERVER_UP, 0, 0 },
		{ "a2", A, 1000, 0, SERVER_DOWN, 0, 0 },
		{ "a3", A, 1000, 0, SERVER_DRAIN, 0, 0 },
		{ "a4", A, 1, 0, SERVER_UP, 0, 0 },
		{ "b1", B, 0, 0, SERVER_UP, 1, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &params, N / 10, 27, &t);
	assert_int_equal(t.count[3], N / 10);
	/* In fail-open too. */
	f->fresh_until = 0;
	run(f, A, &params, N / 10, 28, &t);
	assert_int_equal(t.count[3], N / 10);
	assert_int_equal(t.failopen, N / 10);
	fleet_free(f);
}

static void
test_nothing_routable(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 0, 0, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0, SERVER_DOWN, 0, 0 },
		{ "c1", C, 100, 0, SERVER_DRAIN, 0, 0 },
		{ "d1", D, 100, 0, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct select_result	 res;
	struct rng		 rng;
	uint32_t		 h;

	(void)state;
	rng_seed(&rng, 29);
	/* d1 lives in a drained region. */
	f->regions[D].drained = 1;
	for (h = 0; h < NREG; h++) {
		assert_int_equal(select_server(f, h, &params, NOW, &rng,
		    &res), -1);
		assert_null(res.server);
	}
	assert_int_equal(fleet_routable(f, NOW), 0);
	/* Undrain D: every home reaches d1. */
	f->regions[D].drained = 0;
	for (h = 0; h < NREG; h++) {
		assert_int_equal(select_server(f, h, &params, NOW, &rng,
		    &res), 0);
		assert_string_equal(res.server->id, "d1");
	}
	/* A bad home index, an empty fleet. */
	assert_int_equal(select_server(f, NREG, &params, NOW, &rng, &res),
	    -1);
	fleet_free(f);
	f = mk(NULL, 0);
	assert_int_equal(select_server(f, A, &params, NOW, &rng, &res), -1);
	fleet_free(f);
	assert_int_equal(select_server(NULL, A, &params, NOW, &rng, &res), -1);
}

static void
test_slow_start(void **state)
{
	/* a1 became routable 50 s ago, S = 100: half its weight. */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 0, NOW - 50 },
		{ "a2", A, 100, 0, SERVER_UP, 0, 0 },
		{ "a3", A, 200, 0.5, SERVER_UP, 0, NOW - 200 },
	};
	struct select_params	 ss = { 0.10, 100 };
	struct select_candidate	 cand[3];
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &ss, N, 30, &t);
	expect_share(t.count[0], N, 0.2, "a1 at S/2");
	expect_share(t.count[1], N, 0.4, "a2");
	expect_share(t.count[2], N, 0.4, "a3 past S");
	assert_int_equal(select_candidates(f, A, &ss, NOW, 0, cand, 3), 3);
	assert_true(fabs(cand[0].effective_weight - 50) < 1e-9);
	/* Headroom ignores slow start: it is about load. */
	assert_true(fabs(select_headroom(f, A, &ss, NOW) - 300.0 / 400) <
	    1e-12);
	/* Off: plain effective weights, 100 : 100 : 200 x 0.5. */
	run(f, A, &params, N, 31, &t);
	expect_share(t.count[0], N, 1.0 / 3, "a1, slow start off");
	fleet_free(f);
}

static void
test_slow_start_floor(void **state)
{
	/* A region whose only server just came up still takes traffic. */
	const struct spec	sp[] = {
		{ "a1", A, 100, 0, SERVER_UP, 0, NOW },
		{ "b1", B, 100, 0, SERVER_UP, 0, 0 },
	};
	struct select_params	 ss = { 0.10, 60 };
	struct select_candidate	 cand[1];
	struct fleet		*f = mk(sp, LEN(sp));
	struct tally		 t;

	(void)state;
	run(f, A, &ss, N / 10, 32, &t);
	assert_int_equal(t.count[0], N / 10);
	assert_int_equal(select_candidates(f, A, &ss, NOW, 0, cand, 1), 1);
	assert_true(cand[0].effective_weight > 0);
	assert_true(cand[0].effective_weight <= 0.1 + 1e-12);
	assert_true(fabs(cand[0].probability - 1) < 1e-12);
	/* A clock that went backwards counts as just started. */
	f->servers[0].routable_since = NOW + 10;
	run(f, A, &ss, N / 10, 33, &t);
	assert_int_equal(t.count[0], N / 10);
	fleet_free(f);
}

static void
test_candidates(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.5, SERVER_UP, 0, 0 },
		{ "a2", A, 100, 1, SERVER_UP, 0, 0 },
		{ "a3", A, 0, 0, SERVER_UP, 0, 0 },
		{ "a4", A, 300, 0, SERVER_UP, 0, 0 },
		{ "a5", A, 100, 0, SERVER_UP, 1, 0 },
		{ "a6", A, 100, 0, SERVER_DOWN, 0, 0 },
	};
	struct select_candidate	 c[8];
	struct fleet		*f = mk(sp, LEN(sp));
	double			 sum = 0;
	size_t			 n, i;

	(void)state;
	/* a1, a2 (load 1: listed, weight 0), a4. */
	n = select_candidates(f, A, &params, NOW, 0, c, LEN(c));
	assert_int_equal(n, 3);
	assert_string_equal(c[0].server->id, "a1");
	assert_string_equal(c[1].server->id, "a2");
	assert_string_equal(c[2].server->id, "a4");
	assert_true(fabs(c[0].effective_weight - 50) < 1e-9);
	assert_true(c[1].effective_weight == 0 && c[1].probability == 0);
	assert_true(fabs(c[2].effective_weight - 300) < 1e-9);
	for (i = 0; i < n; i++)
		sum += c[i].probability;
	assert_true(fabs(sum - 1) < 1e-12);
	assert_true(fabs(c[0].probability - 50.0 / 350) < 1e-12);
	/* max limits what is written, not what is counted. */
	memset(c, 0, sizeof(c));
	assert_int_equal(select_candidates(f, A, &params, NOW, 0, c, 1), 3);
	assert_non_null(c[0].server);
	assert_null(c[1].server);
	assert_int_equal(select_candidates(f, A, &params, NOW, 0, NULL, 0), 3);
	/* Fail-open view: weight alone, stale a5 included. */
	n = select_candidates(f, A, &params, NOW, 1, c, LEN(c));
	assert_int_equal(n, 4);
	assert_true(fabs(c[1].effective_weight - 100) < 1e-9);
	assert_true(fabs(c[3].probability - 100.0 / 600) < 1e-12);
	/* Every candidate at load 1: the floor shows. */
	f->servers[0].load = 1;
	f->servers[3].load = 1;
	n = select_candidates(f, A, &params, NOW, 0, c, LEN(c));
	assert_int_equal(n, 3);
	assert_true(fabs(c[0].effective_weight - 1) < 1e-9);
	assert_true(fabs(c[2].effective_weight - 3) < 1e-9);
	assert_int_equal(select_candidates(f, B, &params, NOW, 0, c, 8), 0);
	assert_int_equal(select_candidates(f, NREG, &params, NOW, 0, c, 8), 0);
	fleet_free(f);
}

static void
test_headroom(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.5, SERVER_UP, 0, 0 },
		{ "a2", A, 300, 1, SERVER_UP, 0, 0 },
		{ "a3", A, 500, 0, SERVER_UP, 1, 0 },		/* stale */
		{ "a4", A, 500, 0, SERVER_DOWN, 0, 0 },
		{ "b1", B, 100, 0, SERVER_UP, 1, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));

	(void)state;
	/* (100 x 0.5 + 300 x 0) / 400 */
	assert_true(fabs(select_headroom(f, A, &params, NOW) - 0.125) < 1e-12);
	assert_true(select_headroom(f, B, &params, NOW) == -1);
	assert_true(select_headroom(f, C, &params, NOW) == -1);
	assert_true(select_headroom(f, NREG, &params, NOW) == -1);
	fleet_free(f);
}

static void
test_deterministic(void **state)
{
	const struct spec	sp[] = {
		{ "a1", A, 100, 0.3, SERVER_UP, 0, 0 },
		{ "a2", A, 100, 0.93, SERVER_UP, 0, 0 },
		{ "b1", B, 100, 0, SERVER_UP, 0, 0 },
	};
	struct fleet		*f = mk(sp, LEN(sp));
	struct select_result	 r1, r2;
	struct rng		 g1, g2;
	int			 i;

	(void)state;
	rng_seed(&g1, 99);
	rng_seed(&g2, 99);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(select_server(f, A, &params, NOW, &g1, &r1), 0);
		assert_int_equal(select_server(f, A, &params, NOW, &g2, &r2), 0);
		assert_ptr_equal(r1.server, r2.server);
		assert_int_equal(r1.spilled, r2.spilled);
	}
	fleet_free(f);
}

/* 10,000 servers in one region: linear, no scratch space, right shares. */
static void
test_large_region(void **state)
{
	struct fleet_server	*sv;
	struct fleet		*f;
	struct select_result	 res;
	struct rng		 rng;
	size_t			 i, n = 10000, heavy = 0, draws = 4000;

	(void)state;
	assert_non_null(sv = calloc(n, sizeof(*sv)));
	for (i = 0; i < n; i++) {
		snprintf(sv[i].id, sizeof(sv[i].id), "s%zu", i);
		sv[i].base = strdup("https://x.example.com");
		sv[i].baselen = strlen(sv[i].base);
		sv[i].region = A;
		/* The upper half weighs three times as much. */
		sv[i].weight = i < n / 2 ? 100 : 300;
		sv[i].state = SERVER_UP;
		sv[i].has_report = 1;
	}
	assert_non_null(f = fleet_build(sv, n, rm));
	rng_seed(&rng, 34);
	for (i = 0; i < draws; i++) {
		assert_int_equal(select_server(f, A, &params, NOW, &rng, &res),
		    0);
		heavy += (size_t)(res.server - f->servers) >= n / 2;
	}
	expect_share(heavy, draws, 0.75, "heavy half");
	fleet_free(f);
}

/*
 * Random small fleets: select_server() answers exactly when
 * fleet_routable() says something is routable, only ever with an up,
 * weighted server in an undrained region, and with a fresh one whenever
 * one exists anywhere.
 */
static void
test_random_fleets(void **state)
{
	struct fleet_server	*sv;
	struct fleet		*f;
	struct select_result	 res;
	struct rng		 g, pick;
	size_t			 i, n, k, fresh;
	uint32_t		 h;
	int			 round;

	(void)state;
	rng_seed(&g, 35);
	rng_seed(&pick, 36);
	for (round = 0; round < 2000; round++) {
		n = rng_next(&g) % 8;
		assert_non_null(sv = calloc(n ? n : 1, sizeof(*sv)));
		for (i = 0; i < n; i++) {
			snprintf(sv[i].id, sizeof(sv[i].id), "r%zu", i);
			sv[i].region = (uint32_t)(rng_next(&g) % NREG);
			sv[i].weight = (uint32_t)(rng_next(&g) % 3) * 50;
			sv[i].state = (enum server_state)(rng_next(&g) % 3);
			sv[i].has_report = rng_next(&g) % 4 != 0;
			sv[i].load = (double)(rng_next(&g) % 5) / 4;
		}
		assert_non_null(f = fleet_build(sv, n, rm));
		for (h = 0; h < NREG; h++)
			f->regions[h].drained = rng_next(&g) % 4 == 0;
		if (rng_next(&g) % 5 == 0)
			f->fresh_until = NOW;
		fresh = 0;
		for (i = 0; i < n; i++)
			fresh += sv[i].state == SERVER_UP && sv[i].weight > 0 &&
			    !f->regions[sv[i].region].drained &&
			    fleet_server_fresh(f, &sv[i], NOW);
		for (h = 0; h < NREG; h++) {
			for (k = 0; k < 4; k++) {
				if (select_server(f, h, &params, NOW, &pick,
				    &res) != 0) {
					assert_int_equal(fleet_routable(f,
					    NOW), 0);
					continue;
				}
				assert_true(fleet_routable(f, NOW) > 0);
				assert_int_equal(res.server->state, SERVER_UP);
				assert_true(res.server->weight > 0);
				assert_false(f->regions[res.region].drained);
				assert_int_equal(res.failopen, fresh == 0);
				if (fresh > 0)
					assert_true(fleet_server_fresh(f,
					    res.server, NOW));
			}
		}
		fleet_free(f);
	}
}

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(select_reason_name(REASON_GEO), "geo");
	assert_string_equal(select_reason_name(REASON_DEFAULT), "default");
	assert_string_equal(select_reason_name(REASON_FALLBACK), "fallback");
	assert_string_equal(select_reason_name(REASON_AFFINITY), "affinity");
	assert_string_equal(select_reason_name(REASON_SYNTHETIC), "synthetic");
	assert_string_equal(select_reason_name(REASON_NONE), "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_by_weight),
		cmocka_unit_test(test_shares_by_load),
		cmocka_unit_test(test_full_excluded),
		cmocka_unit_test(test_all_full_floor),
		cmocka_unit_test(test_floor_mixes_with_room),
		cmocka_unit_test(test_spill_fraction),
		cmocka_unit_test(test_spill_to_first_with_headroom),
		cmocka_unit_test(test_no_spill_without_headroom),
		cmocka_unit_test(test_spill_skips_drained),
		cmocka_unit_test(test_drained_home),
		cmocka_unit_test(test_no_candidate_at_home),
		cmocka_unit_test(test_stale_skipped),
		cmocka_unit_test(test_all_stale_failopen),
		cmocka_unit_test(test_stale_one_fresh_elsewhere),
		cmocka_unit_test(test_fresh_off_explicit_path),
		cmocka_unit_test(test_never_weight0_down_drain),
		cmocka_unit_test(test_nothing_routable),
		cmocka_unit_test(test_slow_start),
		cmocka_unit_test(test_slow_start_floor),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_headroom),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_large_region),
		cmocka_unit_test(test_random_fleets),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, setup, fleet_fixture_teardown);
}
