/*
 * select: the pure heart of geo307 (SPEC section 2, items 3-6 and 8).
 * Given a snapshot, a home region, the time and a PRNG, choose a server.
 * No I/O, no locks, no allocation.
 */
#ifndef GEO307_SELECT_H
#define GEO307_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "fleet.h"
#include "rng.h"

enum reason {
	REASON_GEO,
	REASON_DEFAULT,
	REASON_FALLBACK,
	REASON_AFFINITY,
	REASON_SYNTHETIC,
	REASON_NONE,		/* 503: nothing routable, maintenance, error */
	REASON__COUNT
};

struct select_result {
	const struct fleet_server *server;	/* NULL: nothing routable */
	uint32_t	region;		/* the chosen server's region */
	int		fallback;	/* left home (drain, no candidate, spill) */
	int		spilled;	/* of which: a spill fraction */
	int		failopen;	/* every up server stale: weight alone */
};

/* One candidate with its effective weight, for /route. */
struct select_candidate {
	const struct fleet_server *server;
	double		effective_weight;
	double		probability;
};

/*
 * Choose for home region `home`.  spill_below as configured.  Returns 0
 * with res->server set, or -1 when nothing is routable (503): no server
 * up with weight > 0 in a region that is not drained, which is exactly
 * when fleet_routable() is 0.  The path is home, then home's fallback
 * list; only when nothing on it is fresh but something elsewhere is,
 * the other regions by distance (region.rest); when nothing anywhere is
 * fresh, the same path on weight alone (res->failopen).
 */
struct select_params {
	double		spill_below;	/* [selection] spill_below */
	double		slow_start;	/* seconds; 0 = off */
	unsigned	families;	/* the client's FLEET_FAMILY_*; 0 = any */
};

/*
 * What select_server() decides before its draw, so that an explanation
 * (/route, geo307ctl explain) shows the very numbers the draw uses: at
 * most two parts, the region that serves and, while home spills, the
 * region that takes the spill fraction.
 */
#define SELECT_PARTS	2
struct select_plan {
	size_t		nparts;		/* 0: nothing routable */
	uint32_t	region[SELECT_PARTS];
	double		share[SELECT_PARTS];	/* sum to 1 */
	double		total[SELECT_PARTS];	/* effective weight sums */
	int		full[SELECT_PARTS];	/* every candidate at load 1 */
	uint32_t	home;
	int		fallback;	/* part 0 is not home */
	int		failopen;	/* every up server stale: weight alone */
	int		spilling;	/* home's H < spill_below */
	double		headroom;	/* home's H; -1: home not looked at */
	double		fraction;	/* share spilled to region[1] (0: none) */
};

int	select_plan(const struct fleet *f, uint32_t home,
	    const struct select_params *p, double now,
	    struct select_plan *plan);
/* One draw from a plan; *part (if not NULL) gets the part drawn. */
const struct fleet_server *select_draw(const struct fleet *f,
	    const struct select_plan *plan, const struct select_params *p,
	    double now, struct rng *rng, size_t *part);
/*
 * Every server a plan can draw, with its effective weight and its
 * probability (share x weight / total: they sum to 1).  Fills up to max
 * entries, returns how many there are.
 */
size_t	select_plan_candidates(const struct fleet *f,
	    const struct select_plan *plan, const struct select_params *p,
	    double now, struct select_candidate *out, size_t max);

/* select_plan, then select_draw. */
int	select_server(const struct fleet *f, uint32_t home,
	    const struct select_params *p, double now, struct rng *rng,
	    struct select_result *res);

/* Region headroom H over fresh candidates; -1 if it has none. */
double	select_headroom(const struct fleet *f, uint32_t region,
	    const struct select_params *p, double now);

/*
 * The candidates of a region as the picker sees them (for /route):
 * fills up to max entries, returns how many there are.  A server at load
 * >= 1 next to one with room is listed with effective weight 0.  Pass
 * res.failopen from select_server() to see the fail-open weights.
 */
size_t	select_candidates(const struct fleet *f, uint32_t region,
	    const struct select_params *p, double now, int failopen,
	    struct select_candidate *out, size_t max);

const char *select_reason_name(enum reason r);

#endif
