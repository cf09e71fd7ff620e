/*
 * The routing decision as JSON (route.h): the admin /route and
 * `geo307ctl explain --json` print exactly this, so the two can be
 * compared field by field.  Dump it with ROUTE_JSON_FLAGS: numbers at 6
 * significant digits (51.5142, never 51.514200000000002).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet_rec.h"
#include "route.h"

static json_t *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
candidate_json(const struct runtime *rt, const struct fleet *f,
    const struct route_decision *d, const struct select_candidate *c)
{
	const struct fleet_server	*s = c->server;

	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:b, s:f, s:f}",
	    "id", s->id,
	    "region", rt->rm->regions[s->region].name,
	    "url", s->base,
	    "weight", (json_int_t)s->weight,
	    "state", fleet_rec_state_name(s->state),
	    "load", s->has_report ? json_real(s->load) : json_null(),
	    "fresh", fleet_server_fresh(f, s, d->now),
	    "effective_weight", c->effective_weight,
	    "probability", c->probability);
}

static json_t *
candidates_json(const struct runtime *rt, const struct fleet *f,
    const struct route_decision *d)
{
	struct select_candidate	 one, *all;
	json_t			*arr = json_array();
	size_t			 i, n;

	if (arr == NULL)
		return NULL;
	n = route_candidates(f, d, &one, 1);
	if (n == 0)
		return arr;
	if ((all = calloc(n, sizeof(*all))) == NULL) {
		json_decref(arr);
		return NULL;
	}
	n = route_candidates(f, d, all, n);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, candidate_json(rt, f, d, &all[i]));
	free(all);
	return arr;
}

static json_t *
spill_json(const struct runtime *rt, const struct route_decision *d)
{
	if (!d->plan.spilling)
		return json_null();
	return json_pack("{s:f, s:f, s:o}", "headroom", d->plan.headroom,
	    "fraction", d->plan.fraction, "to", d->plan.nparts == 2 ?
	    json_string(rt->rm->regions[d->plan.region[1]].name) :
	    json_null());
}

static json_t *
affinity_json(const struct runtime *rt, const struct route_input *in,
    const struct route_decision *d)
{
	if (d->affinity == ROUTE_AFFINITY_OFF)
		return json_null();
	return json_pack("{s:o, s:s, s:s}", "key", in->key != NULL ?
	    json_stringn(in->key, in->keylen) : json_null(),
	    "mode", rt->cfg->affinity.mode != NULL ? rt->cfg->affinity.mode :
	    "hash", "result", route_affinity_name(d->affinity));
}

static json_t *
location_json(const struct route_decision *d, double v)
{
	return d->geo.has_location ? json_real(v) : json_null();
}

json_t *
route_json(const struct runtime *rt, const struct fleet *f,
    const struct route_input *in, const struct route_decision *d)
{
	char	ip[INET6_ADDRSTRLEN];

	return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:s, "
	    "s:o, s:b, s:b, s:o, s:o, s:o, s:o}",
	    "ip", netaddr_str(&in->client, ip, sizeof(ip)),
	    "family", d->family == FLEET_FAMILY_6 ? 6 : 4,
	    "country", str_or_null(d->geo.country),
	    "continent", str_or_null(d->geo.continent),
	    "latitude", location_json(d, d->geo.lat),
	    "longitude", location_json(d, d->geo.lon),
	    "home_region", rt->rm->regions[d->home].name,
	    "rule", region_rule_name(d->rule),
	    "region", rt->rm->regions[d->region].name,
	    "reason", select_reason_name(d->reason),
	    "spill", spill_json(rt, d),
	    "failopen", d->plan.failopen,
	    "maintenance", d->maintenance,
	    "affinity", affinity_json(rt, in, d),
	    "candidates", candidates_json(rt, f, d),
	    "server", d->server != NULL ? json_pack("{s:s, s:s}", "id",
	    d->server->id, "url", d->server->base) : json_null(),
	    "fleet_version", f != NULL ? json_integer((json_int_t)
	    d->fleet_version) : json_null());
}
