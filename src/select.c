/*
 * Server selection (SPEC section 2, items 3-6 and 8).  Pure: the snapshot,
 * the home region, the time and a per-thread PRNG go in, a server comes
 * out.  No I/O, no locks, no allocation, and O(servers on the regions
 * looked at) per request: a region is summed in one pass and, if chosen,
 * walked in a second, so regions of any size need no scratch space.
 *
 * The order of preference for home region h:
 *
 *  1. h itself, unless drained, when it has a fresh candidate; a share
 *     of (spill_below - H) / spill_below of the uploads spills to the
 *     first region of h's fallback list whose own headroom is at least
 *     spill_below (none: they stay home);
 *  2. the first region on h's fallback list (drained ones skipped) with
 *     a fresh candidate;
 *  3. only if no region on that path has one but some region elsewhere
 *     does (an explicit fallback list need not name every region): the
 *     remaining regions, nearest to h first (region.rest);
 *  4. fail-open, when no candidate anywhere is fresh: the same path
 *     again, on weight alone, ignoring load and freshness;
 *  5. nothing: -1, the caller answers 503.
 *
 * Step 3 is a decision the SPEC leaves open: "load never causes a 503"
 * and "stale reports get no uploads while a fresh one exists", taken
 * together, mean that a fresh server off the path beats both a 503 and
 * failing open onto stale servers.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "select.h"

/*
 * Slow start never quite reaches zero: a region whose only candidates
 * are all ramping up would otherwise have nothing to pick from and push
 * its uploads elsewhere (or to a 503) for no reason.  Next to a server at
 * full weight, 1/1000 of a weight is no traffic to speak of.
 */
#define SLOW_START_FLOOR	0.001
/* SPEC 2.4: when every candidate is full, weight x max(1 - load, 0.01). */
#define FULL_FLOOR		0.01

const char *
select_reason_name(enum reason r)
{
	switch (r) {
	case REASON_GEO:
		return "geo";
	case REASON_DEFAULT:
		return "default";
	case REASON_FALLBACK:
		return "fallback";
	case REASON_AFFINITY:
		return "affinity";
	case REASON_SYNTHETIC:
		return "synthetic";
	case REASON_NONE:
	case REASON__COUNT:
		break;
	}
	return "none";
}

/*
 * What a pass over a region needs to know besides the server: worked out
 * once per call, so that the per-server loops stay tight (a region may
 * hold thousands of servers and is walked up to twice per request).
 */
struct ctx {
	const struct fleet	*f;
	unsigned		 families;	/* the client's FLEET_FAMILY_* */
	double			 now;
	double			 slow_start;	/* 0 = off */
	int			 failopen;	/* weight alone */
	int			 fresh;		/* the snapshot is fresh */
};

static void
ctx_init(struct ctx *c, const struct fleet *f, const struct select_params *p,
    double now, int failopen)
{
	c->f = f;
	c->families = p != NULL && (p->families & FLEET_FAMILY_ANY) ?
	    p->families : FLEET_FAMILY_ANY;
	c->now = now;
	c->slow_start = p != NULL && p->slow_start > 0 ? p->slow_start : 0;
	c->failopen = failopen;
	/* Freshness ends for the whole snapshot at once (fleet.h). */
	c->fresh = now < f->fresh_until;
}

/* Load as validated is in [0, 1]; make sure arithmetic never sees worse. */
static inline double
clamp_load(double l)
{
	if (isnan(l) || l > 1)
		return 1;
	if (l < 0)
		return 0;
	return l;
}

/*
 * SPEC 2.3: up, weight > 0 and fresh; in fail-open, freshness no longer
 * counts.  Same test as fleet_server_fresh(), with the snapshot-wide
 * half done once in ctx_init().
 */
static inline int
is_candidate(const struct ctx *c, const struct fleet_server *s)
{
	if (s->state != SERVER_UP || s->weight == 0 ||
	    (s->families & c->families) == 0)
		return 0;
	return c->failopen || (c->fresh && s->has_report);
}

/* Weight after slow start (SPEC 2.4): 0 -> weight over S seconds. */
static inline double
ramped(const struct ctx *c, const struct fleet_server *s)
{
	double	x;

	if (c->slow_start == 0 || s->routable_since <= 0)
		return (double)s->weight;
	x = (c->now - s->routable_since) / c->slow_start;
	if (!(x >= SLOW_START_FLOOR))	/* also a clock that went back */
		x = SLOW_START_FLOOR;
	else if (x > 1)
		x = 1;
	return (double)s->weight * x;
}

/*
 * Effective weight.  `full` tells whether every candidate of the region
 * has load >= 1 (the 0.01 floor applies); otherwise servers at load >= 1
 * get nothing.  Fail-open uses the weight alone (slow start still
 * applies: a server that just came back must not take a flood).
 */
static inline double
effective(const struct ctx *c, const struct fleet_server *s, int full)
{
	double	l, room;

	if (c->failopen)
		return ramped(c, s);
	l = clamp_load(s->load);
	room = 1 - l;
	if (full)
		room = room > FULL_FLOOR ? room : FULL_FLOOR;
	else if (room <= 0)
		return 0;
	return ramped(c, s) * room;
}

/* What one pass over a region's candidates learns. */
struct sums {
	size_t	n;		/* candidates */
	size_t	nbelow;		/* of which load < 1 (all, in fail-open) */
	double	weight;		/* sum of weight */
	double	room;		/* sum of weight x (1 - load) */
	double	eff_below;	/* total effective weight if not full */
	double	eff_full;	/* total effective weight if all full */
};

static void
region_sums(const struct ctx *c, uint32_t r, struct sums *out)
{
	const struct fleet_region	*fr = &c->f->regions[r];
	const struct fleet_server	*servers = c->f->servers, *s;
	size_t				 i;
	double				 l, w, room;

	memset(out, 0, sizeof(*out));
	if (!c->failopen && !c->fresh)
		return;
	for (i = 0; i < fr->n; i++) {
		s = &servers[fr->servers[i]];
		if (!is_candidate(c, s))
			continue;
		out->n++;
		out->weight += s->weight;
		w = ramped(c, s);
		if (c->failopen) {
			out->nbelow++;
			out->eff_below += w;
			continue;
		}
		l = clamp_load(s->load);
		room = 1 - l;
		out->room += s->weight * room;
		if (room > 0) {
			out->nbelow++;
			out->eff_below += w * room;
		}
		out->eff_full += w * (room > FULL_FLOOR ? room : FULL_FLOOR);
	}
}

static inline int
sums_full(const struct sums *sm)
{
	return sm->nbelow == 0;
}

static inline double
sums_total(const struct sums *sm)
{
	return sums_full(sm) ? sm->eff_full : sm->eff_below;
}

static double
sums_headroom(const struct sums *sm)
{
	if (sm->n == 0 || !(sm->weight > 0))
		return -1;
	return sm->room / sm->weight;
}

/*
 * The second pass: walk the candidates until the random point falls in
 * one.  Rounding can leave the point just past the last one; then the
 * last candidate with a positive weight takes it.
 */
static const struct fleet_server *
pick(const struct ctx *c, uint32_t r, double total, int full,
    struct rng *rng)
{
	const struct fleet_region	*fr = &c->f->regions[r];
	const struct fleet_server	*servers = c->f->servers, *s;
	const struct fleet_server	*last = NULL;
	double				 x, w;
	size_t				 i;

	x = rng_double(rng) * total;
	for (i = 0; i < fr->n; i++) {
		s = &servers[fr->servers[i]];
		if (!is_candidate(c, s))
			continue;
		if ((w = effective(c, s, full)) <= 0)
			continue;
		last = s;
		if (x < w)
			return s;
		x -= w;
	}
	return last;
}

static int
usable(const struct fleet *f, uint32_t r)
{
	return r < f->nregions && !f->regions[r].drained;
}

/* Is there a fresh candidate in any region that is not drained? */
static int
any_fresh(const struct ctx *c)
{
	const struct fleet_server	*s;
	size_t				 i;

	if (!c->fresh)
		return 0;
	for (i = 0; i < c->f->nservers; i++) {
		s = &c->f->servers[i];
		if (usable(c->f, s->region) && is_candidate(c, s))
			return 1;
	}
	return 0;
}

/* Region r serves the whole plan (one part). */
static int
plan_one(const struct ctx *c, uint32_t r, struct select_plan *pl)
{
	struct sums	sm;

	if (!usable(c->f, r))
		return -1;
	region_sums(c, r, &sm);
	if (sm.n == 0 || !(sums_total(&sm) > 0))
		return -1;
	pl->nparts = 1;
	pl->region[0] = r;
	pl->share[0] = 1;
	pl->total[0] = sums_total(&sm);
	pl->full[0] = sums_full(&sm);
	pl->fallback = r != pl->home;
	pl->failopen = c->failopen;
	return 0;
}

/* Steps 2-4 of the comment at the top: everything after home. */
static int
plan_down_the_path(const struct fleet *f, const struct select_params *p,
    double now, struct select_plan *pl)
{
	const struct region	*hr = &f->rm->regions[pl->home];
	struct ctx		 c;
	size_t			 i;

	ctx_init(&c, f, p, now, 0);
	for (i = 0; i < hr->nfallback; i++)
		if (hr->fallback[i] != pl->home &&
		    plan_one(&c, hr->fallback[i], pl) == 0)
			return 0;
	if (any_fresh(&c)) {
		for (i = 0; i < hr->nrest; i++)
			if (hr->rest[i] != pl->home &&
			    plan_one(&c, hr->rest[i], pl) == 0)
				return 0;
		/* Not reached: any_fresh() found one in some region. */
		return -1;
	}
	ctx_init(&c, f, p, now, 1);
	if (plan_one(&c, pl->home, pl) == 0)
		return 0;
	for (i = 0; i < hr->nfallback; i++)
		if (plan_one(&c, hr->fallback[i], pl) == 0)
			return 0;
	for (i = 0; i < hr->nrest; i++)
		if (plan_one(&c, hr->rest[i], pl) == 0)
			return 0;
	return -1;
}

/*
 * Home has a fresh candidate but H < spill_below: the first region of
 * its fallback list with headroom of its own takes the spill fraction.
 */
static void
plan_spill(const struct ctx *c, double sb, struct select_plan *pl)
{
	const struct region	*hr = &c->f->rm->regions[pl->home];
	struct sums		 fs;
	size_t			 i;
	uint32_t		 r;

	pl->spilling = 1;
	for (i = 0; i < hr->nfallback; i++) {
		r = hr->fallback[i];
		if (r == pl->home || !usable(c->f, r))
			continue;
		region_sums(c, r, &fs);
		if (fs.n == 0 || !(sums_total(&fs) > 0) ||
		    sums_headroom(&fs) < sb)
			continue;
		pl->fraction = (sb - pl->headroom) / sb;
		pl->nparts = 2;
		pl->region[1] = r;
		pl->share[1] = pl->fraction;
		pl->share[0] = 1 - pl->fraction;
		pl->total[1] = sums_total(&fs);
		pl->full[1] = sums_full(&fs);
		return;
	}
	/* Nowhere with headroom: better home than nowhere. */
}

int
select_plan(const struct fleet *f, uint32_t home,
    const struct select_params *p, double now, struct select_plan *pl)
{
	struct sums	hs;
	struct ctx	c;
	double		sb;

	memset(pl, 0, sizeof(*pl));
	pl->home = home;
	pl->headroom = -1;
	if (f == NULL || f->rm == NULL || home >= f->nregions ||
	    home >= f->rm->n)
		return -1;
	sb = p != NULL ? p->spill_below : 0;
	ctx_init(&c, f, p, now, 0);
	if (!usable(f, home))
		return plan_down_the_path(f, p, now, pl);
	region_sums(&c, home, &hs);
	if (hs.n == 0 || !(sums_total(&hs) > 0))
		return plan_down_the_path(f, p, now, pl);
	pl->nparts = 1;
	pl->region[0] = home;
	pl->share[0] = 1;
	pl->total[0] = sums_total(&hs);
	pl->full[0] = sums_full(&hs);
	pl->headroom = sums_headroom(&hs);
	if (sb > 0 && pl->headroom < sb)
		plan_spill(&c, sb, pl);
	return 0;
}

const struct fleet_server *
select_draw(const struct fleet *f, const struct select_plan *pl,
    const struct select_params *p, double now, struct rng *rng,
    size_t *part)
{
	struct ctx	c;
	size_t		k = 0;

	if (pl->nparts == 0)
		return NULL;
	/* One draw decides whether this upload is part of the spill. */
	if (pl->nparts == 2 && rng_double(rng) < pl->share[1])
		k = 1;
	if (part != NULL)
		*part = k;
	ctx_init(&c, f, p, now, pl->failopen);
	return pick(&c, pl->region[k], pl->total[k], pl->full[k], rng);
}

int
select_server(const struct fleet *f, uint32_t home,
    const struct select_params *p, double now, struct rng *rng,
    struct select_result *res)
{
	struct select_plan	pl;
	size_t			part;

	res->server = NULL;
	res->region = home;
	res->fallback = res->spilled = res->failopen = 0;
	if (select_plan(f, home, p, now, &pl) != 0 ||
	    (res->server = select_draw(f, &pl, p, now, rng, &part)) == NULL)
		return -1;
	res->region = pl.region[part];
	res->fallback = res->region != home;
	res->spilled = part == 1;
	res->failopen = pl.failopen;
	return 0;
}

double
select_headroom(const struct fleet *f, uint32_t region,
    const struct select_params *p, double now)
{
	struct sums	sm;
	struct ctx	c;

	if (f == NULL || region >= f->nregions)
		return -1;
	ctx_init(&c, f, p, now, 0);
	region_sums(&c, region, &sm);
	return sums_headroom(&sm);
}

size_t
select_candidates(const struct fleet *f, uint32_t region,
    const struct select_params *p, double now, int failopen,
    struct select_candidate *out, size_t max)
{
	const struct fleet_region	*fr;
	const struct fleet_server	*s;
	struct sums			 sm;
	struct ctx			 c;
	double				 total, w;
	size_t				 i, k = 0;
	int				 full;

	if (f == NULL || region >= f->nregions)
		return 0;
	ctx_init(&c, f, p, now, failopen != 0);
	fr = &f->regions[region];
	region_sums(&c, region, &sm);
	total = sums_total(&sm);
	full = sums_full(&sm);
	for (i = 0; i < fr->n; i++) {
		s = &f->servers[fr->servers[i]];
		if (!is_candidate(&c, s))
			continue;
		if (k < max && out != NULL) {
			w = effective(&c, s, full);
			out[k].server = s;
			out[k].effective_weight = w;
			out[k].probability = total > 0 ? w / total : 0;
		}
		k++;
	}
	return k;
}

size_t
select_plan_candidates(const struct fleet *f, const struct select_plan *pl,
    const struct select_params *p, double now, struct select_candidate *out,
    size_t max)
{
	const struct fleet_region	*fr;
	const struct fleet_server	*s;
	struct ctx			 c;
	size_t				 i, k = 0, part;
	double				 w;

	ctx_init(&c, f, p, now, pl->failopen);
	for (part = 0; part < pl->nparts; part++) {
		fr = &f->regions[pl->region[part]];
		for (i = 0; i < fr->n; i++) {
			s = &f->servers[fr->servers[i]];
			if (!is_candidate(&c, s))
				continue;
			if (k < max && out != NULL) {
				w = effective(&c, s, pl->full[part]);
				out[k].server = s;
				out[k].effective_weight = w;
				out[k].probability = pl->total[part] > 0 ?
				    pl->share[part] * w / pl->total[part] : 0;
			}
			k++;
		}
	}
	return k;
}
