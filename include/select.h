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
	double	spill_below;	/* [selection] spill_below */
	double	slow_start;	/* seconds; 0 = off */
};

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

const char *reason_name(enum reason r);

#endif
