/*
 * The one routing decision (SPEC section 2; route.h says who calls it).
 * In order:
 *
 *  1. where the client is (geo_lookup) and its home region
 *     (region_map_home, or the X-Synthetic-Region override);
 *  2. no snapshot, or maintenance: 503;
 *  3. affinity (when configured and the request has a key): hash mode
 *     takes the home region's servers that are up or drain, weight 0
 *     counted as 1, load and freshness ignored, by weighted rendezvous
 *     hashing (score = w / -ln(u), u uniform from xxHash64 of the key
 *     seeded with the server's id hash), so that a drain or a load swing
 *     never moves a key and a removed server moves only its own keys;
 *     embedded mode takes "<server-id>." at the start of the key, in any
 *     region, unless that server is down.  A miss falls through;
 *  4. the selection plan (select_plan) and one draw from it.
 *
 * Where the SPEC left room: affinity also honours the address family (a
 * server that cannot take the client's family is a miss, since the client
 * could not reach it), and a drained region still serves its affinity
 * keys (a drain stops new uploads, not resumed ones).
 */
#include <math.h>
#include <string.h>

#include <xxhash.h>

#include "route.h"

const char *
route_affinity_name(enum route_affinity a)
{
	switch (a) {
	case ROUTE_AFFINITY_HIT:
		return "hit";
	case ROUTE_AFFINITY_MISS:
		return "miss";
	case ROUTE_AFFINITY_NONE:
		return "none";
	default:
		return "off";
	}
}

static int
serves_family(const struct fleet_server *s, unsigned family)
{
	return (s->families & family) != 0;
}

/* u in (0, 1) from 64 hash bits, never 0 or 1 (log must stay finite). */
static double
unit_of(uint64_t h)
{
	return ((double)(h >> 11) + 0.5) * 0x1p-53;
}

static const struct fleet_server *
affinity_hash(const struct fleet *f, uint32_t home, unsigned family,
    const char *key, size_t len)
{
	const struct fleet_region	*fr = &f->regions[home];
	const struct fleet_server	*s, *best = NULL;
	double				 score, top = -1;
	size_t				 i;

	for (i = 0; i < fr->n; i++) {
		s = &f->servers[fr->servers[i]];
		if (s->state == SERVER_DOWN || !serves_family(s, family))
			continue;
		score = (s->weight ? (double)s->weight : 1) /
		    -log(unit_of(XXH64(key, len, s->id_hash)));
		if (score > top) {
			top = score;
			best = s;
		}
	}
	return best;
}

static const struct fleet_server *
affinity_embedded(const struct fleet *f, unsigned family, const char *key,
    size_t len)
{
	const struct fleet_server	*s;
	const char			*dot = memchr(key, '.', len);

	if (dot == NULL || dot == key)
		return NULL;
	if ((s = fleet_find(f, key, (size_t)(dot - key))) == NULL ||
	    s->state == SERVER_DOWN || !serves_family(s, family))
		return NULL;
	return s;
}

static void
affinity(const struct runtime *rt, const struct fleet *f,
    const struct route_input *in, struct route_decision *d)
{
	const struct config	*cfg = rt->cfg;
	const struct fleet_server *s;

	if (cfg->affinity.header == NULL && cfg->affinity.path_segment <= 0) {
		d->affinity = ROUTE_AFFINITY_OFF;
		return;
	}
	if (in->key == NULL || in->keylen == 0) {
		d->affinity = ROUTE_AFFINITY_NONE;
		return;
	}
	if (cfg->affinity.mode != NULL &&
	    strcmp(cfg->affinity.mode, "embedded") == 0)
		s = affinity_embedded(f, d->family, in->key, in->keylen);
	else
		s = d->home < f->nregions ? affinity_hash(f, d->home,
		    d->family, in->key, in->keylen) : NULL;
	d->affinity = s != NULL ? ROUTE_AFFINITY_HIT : ROUTE_AFFINITY_MISS;
	if (s != NULL) {
		d->server = s;
		d->region = s->region;
		d->reason = REASON_AFFINITY;
	}
}

static enum reason
reason_of(const struct route_decision *d)
{
	if (d->region != d->home)
		return REASON_FALLBACK;
	if (d->rule == RULE_SYNTHETIC)
		return REASON_SYNTHETIC;
	if (d->rule == RULE_DEFAULT)
		return REASON_DEFAULT;
	return REASON_GEO;
}

static void
locate(const struct runtime *rt, const struct route_input *in,
    struct route_decision *d)
{
	d->family = in->family ? in->family : in->client.family == AF_INET6 ?
	    FLEET_FAMILY_6 : FLEET_FAMILY_4;
	geo_lookup(rt->geo, &in->client, &d->geo);
	if (in->synthetic_region >= 0 &&
	    (size_t)in->synthetic_region < rt->rm->n) {
		d->rule = RULE_SYNTHETIC;
		d->home = (uint32_t)in->synthetic_region;
	} else
		d->home = region_map_home(rt->rm, &d->geo, &d->rule);
	d->region = d->home;
}

int
route_decide(const struct runtime *rt, const struct fleet *f,
    const struct route_input *in, struct rng *rng, struct route_decision *d)
{
	size_t	part = 0;

	memset(d, 0, sizeof(*d));
	d->reason = REASON_NONE;
	d->now = in->now;
	d->sel = rt->sel;
	locate(rt, in, d);
	d->sel.families = d->family;
	if (f == NULL) {
		d->nofleet = 1;
		return -1;
	}
	d->fleet_version = f->version;
	if (f->maintenance) {
		d->maintenance = 1;
		d->maintenance_retry = f->maintenance_retry;
		return -1;
	}
	affinity(rt, f, in, d);
	if (d->server != NULL)
		return 0;
	if (select_plan(f, d->home, &d->sel, in->now, &d->plan) != 0 ||
	    (d->server = select_draw(f, &d->plan, &d->sel, in->now, rng,
	    &part)) == NULL)
		return -1;
	d->region = d->plan.region[part];
	d->spilled = part == 1;
	d->reason = reason_of(d);
	return 0;
}

size_t
route_candidates(const struct fleet *f, const struct route_decision *d,
    struct select_candidate *out, size_t max)
{
	if (f == NULL || d->nofleet || d->maintenance)
		return 0;
	if (d->affinity == ROUTE_AFFINITY_HIT) {
		if (max > 0 && out != NULL) {
			out[0].server = d->server;
			out[0].effective_weight = d->server->weight;
			out[0].probability = 1;
		}
		return 1;
	}
	return select_plan_candidates(f, &d->plan, &d->sel, d->now, out,
	    max);
}

const char *
route_key_from_target(const struct config *cfg, const char *target,
    size_t len, size_t *keylen)
{
	const char	*p, *end, *seg;
	int		 n;

	if (cfg->affinity.path_segment <= 0 || target == NULL || len == 0 ||
	    target[0] != '/')
		return NULL;
	if ((end = memchr(target, '?', len)) == NULL)
		end = target + len;
	p = target + 1;
	for (n = 1; ; n++) {
		seg = p;
		while (p < end && *p != '/')
			p++;
		if (n == cfg->affinity.path_segment) {
			*keylen = (size_t)(p - seg);
			return *keylen > 0 ? seg : NULL;
		}
		if (p >= end)
			return NULL;
		p++;
	}
}
