/*
 * route: the one routing decision of SPEC section 2.  The redirect, the
 * JSON lookup, the admin /route and `geo307ctl explain` all call
 * route_decide(), so an explanation can never disagree with what a
 * request gets: the client's location and home region, maintenance,
 * affinity, the selection plan (serving region, spill, fail-open) and
 * one draw from it.  Pure like select.c: no I/O, no locks, no
 * allocation; the caller holds the runtime (an epoch, or its own).
 */
#ifndef GEO307_ROUTE_H
#define GEO307_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fleet.h"
#include "geo.h"
#include "netaddr.h"
#include "region.h"
#include "rng.h"
#include "runtime.h"
#include "select.h"

enum route_affinity {
	ROUTE_AFFINITY_NONE,		/* affinity on, no key in the request */
	ROUTE_AFFINITY_HIT,
	ROUTE_AFFINITY_MISS,		/* a key, but no server for it */
	ROUTE_AFFINITY_OFF,		/* [affinity] not configured */
	ROUTE_AFFINITY__COUNT
};

struct route_input {
	struct netaddr	 client;	/* after the trust walk, synthetic IP */
	int		 synthetic_region;	/* region index; -1: none */
	const char	*key;		/* affinity key (not NUL-terminated) */
	size_t		 keylen;
	unsigned	 family;	/* FLEET_FAMILY_4/6; 0: the client's */
	double		 now;		/* monotonic */
};

struct route_decision {
	struct geo_result	 geo;
	unsigned		 family;	/* FLEET_FAMILY_4 or _6 */
	uint32_t		 home;
	enum region_rule	 rule;
	int			 nofleet;	/* no snapshot yet: 503 */
	int			 maintenance;	/* P maintenance: 503 */
	double			 maintenance_retry;
	enum route_affinity	 affinity;
	struct select_params	 sel;		/* rt->sel, with the family */
	struct select_plan	 plan;		/* nparts 0 on an affinity hit */
	const struct fleet_server *server;	/* the draw; NULL: 503 */
	uint32_t		 region;	/* the region that serves */
	int			 spilled;	/* drawn from the spill part */
	enum reason		 reason;
	uint64_t		 fleet_version;
	double			 now;		/* in->now, for the candidates */
};

/* Decide for in with fleet f (NULL: none yet).  0, or -1 for a 503. */
int		 route_decide(const struct runtime *rt, const struct fleet *f,
		    const struct route_input *in, struct rng *rng,
		    struct route_decision *d);
/*
 * Every server the decision could have drawn, with probabilities that
 * sum to 1 (an affinity hit: its server alone).  As select_plan_candidates.
 */
size_t		 route_candidates(const struct fleet *f,
		    const struct route_decision *d, struct select_candidate *out,
		    size_t max);
/*
 * The affinity key of a request: the [affinity] header's value, or the
 * path_segment-th segment of the raw target (query excluded).  NULL when
 * affinity is off or the request carries none.
 */
const char	*route_key_from_target(const struct config *cfg,
		    const char *target, size_t len, size_t *keylen);
const char	*route_affinity_name(enum route_affinity a);

/*
 * The decision as the /route JSON of the README (route_json.c), with
 * numbers at 6 significant digits: the admin /route and geo307ctl
 * explain --json print this.  NULL on allocation failure.
 */
json_t		*route_json(const struct runtime *rt, const struct fleet *f,
		    const struct route_input *in,
		    const struct route_decision *d);
/* json_dumps flags for it: compact, numbers at 6 significant digits. */
#define ROUTE_JSON_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(6))

#endif
