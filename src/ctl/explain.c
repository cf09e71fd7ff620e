/*
 * explain IP [--json]: what a router with this config would do for a
 * client at IP with the fleet Redis holds right now, like the daemon's
 * admin /route.  The same code decides: runtime_load (config, GeoIP
 * database, region map), raw_fleet_build (each record through
 * fleetrec_server, then fleet_build; bad records are skipped and logged
 * as a router logs them), geodb_lookup, regionmap_home, select_server
 * and select_candidates.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "geo.h"
#include "rawfleet.h"
#include "region.h"
#include "rng.h"
#include "runtime.h"
#include "select.h"

#define MAX_CAND	256

struct decision {
	struct geo_result	 g;
	enum region_rule	 rule;
	uint32_t		 home;
	struct select_result	 res;
	int			 picked;
	struct select_candidate	 cand[MAX_CAND];
	size_t			 ncand;
	const char		*reason;
};

/*
 * The records as the daemon's Redis source holds them, handed over (the
 * strings move; rs keeps nothing to free twice).
 */
static struct raw_fleet *
to_raw(struct ctl_records *rs)
{
	struct raw_fleet	*raw;
	struct raw_server	*sv;
	struct ctl_record	*r;
	size_t			 i;

	if ((raw = calloc(1, sizeof(*raw))) == NULL ||
	    (raw->servers = calloc(rs->n + 1, sizeof(*raw->servers))) == NULL) {
		free(raw);
		return NULL;
	}
	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		if (!r->id_ok)
			continue;	/* never read: the daemon skips it too */
		sv = &raw->servers[raw->nservers++];
		sv->id = r->id;
		sv->fields = r->fields;
		sv->values = r->values;
		sv->n = r->n;
		sv->load = r->load;
		r->id = r->load = NULL;
		r->fields = r->values = NULL;
		r->n = 0;
	}
	raw->rnames = rs->rnames;
	raw->rstates = rs->rstates;
	raw->nregions = rs->nregions;
	raw->maintenance = rs->maintenance_value;
	rs->rnames = rs->rstates = NULL;
	rs->nregions = 0;
	rs->maintenance_value = NULL;
	raw->version = rs->version;
	raw->source = FLEET_REDIS;
	raw->taken_wall = time(NULL);
	raw->taken_mono = mono_now();
	return raw;
}

static void
decide(const struct runtime *rt, const struct fleet *f,
    const struct netaddr *a, struct decision *d)
{
	struct rng	rng;
	double		now = mono_now();

	memset(d, 0, sizeof(*d));
	if (rt->cfg->selection.has_seed)
		rng_seed(&rng, rt->cfg->selection.seed);
	else if (rng_seed_random(&rng) != 0)
		rng_seed(&rng, (uint64_t)now);
	geodb_lookup(rt->geo, a, &d->g);
	d->home = regionmap_home(rt->rm, &d->g, &d->rule);
	d->reason = "none";
	if (f->maintenance ||
	    select_server(f, d->home, &rt->sel, now, &rng, &d->res) != 0)
		return;
	d->picked = 1;
	d->ncand = select_candidates(f, d->res.region, &rt->sel, now,
	    d->res.failopen, d->cand, MAX_CAND);
	if (d->ncand > MAX_CAND)
		d->ncand = MAX_CAND;
	d->reason = reason_name(d->res.fallback ? REASON_FALLBACK :
	    d->rule == RULE_DEFAULT ? REASON_DEFAULT : REASON_GEO);
}

static void
print_text(const struct netaddr *a, const struct regionmap *rm,
    const struct fleet *f, const struct decision *d)
{
	const struct fleet_server *s;
	char	 ip[INET6_ADDRSTRLEN], load[16];
	size_t	 i, w = 2;

	printf("%-11s %s\n", "ip", netaddr_str(a, ip, sizeof(ip)));
	printf("%-11s %s\n", "country", d->g.country[0] ? d->g.country : "-");
	printf("%-11s %s\n", "continent", d->g.continent[0] ?
	    d->g.continent : "-");
	if (d->g.has_location)
		printf("%-11s %.4f, %.4f (%s)\n", "location", d->g.lat,
		    d->g.lon, d->g.location_from_db ? "database" :
		    "country centroid");
	else
		printf("%-11s -\n", "location");
	printf("%-11s %s (rule %s)\n", "region", rm->regions[d->home].name,
	    region_rule_name(d->rule));
	printf("%-11s version %" PRIu64 ", %zu servers\n", "fleet", f->version,
	    f->nservers);
	if (f->maintenance) {
		printf("%-11s on: every request gets 503, Retry-After %.0f\n",
		    "maintenance", f->maintenance_retry);
	}
	printf("%-11s %s%s\n", "reason", d->reason, d->picked &&
	    d->res.failopen ? " (fail-open: every report is stale)" : "");
	if (!d->picked) {
		printf("%-11s none: 503\n", "server");
		return;
	}
	for (i = 0; i < d->ncand; i++)
		if (strlen(d->cand[i].server->id) > w)
			w = strlen(d->cand[i].server->id);
	printf("candidates in %s:\n", rm->regions[d->res.region].name);
	printf("  %-*s  %7s  %8s  %9s  %11s  %s\n", (int)w, "ID", "WEIGHT",
	    "LOAD", "EFFECTIVE", "PROBABILITY", "URL");
	for (i = 0; i < d->ncand; i++) {
		s = d->cand[i].server;
		if (s->has_report)
			snprintf(load, sizeof(load), "%.6g", s->load);
		else
			snprintf(load, sizeof(load), "stale");
		printf("  %-*s  %7" PRIu32 "  %8s  %9.6g  %10.2f%%  %s\n",
		    (int)w, s->id, s->weight, load,
		    d->cand[i].effective_weight,
		    100 * d->cand[i].probability, s->base);
	}
	printf("%-11s %s %s\n", "server", d->res.server->id,
	    d->res.server->base);
}

static json_t *
to_json(const struct netaddr *a, const struct regionmap *rm,
    const struct fleet *f, const struct decision *d)
{
	const struct fleet_server *s;
	json_t	*j, *arr;
	char	 ip[INET6_ADDRSTRLEN];
	size_t	 i;

	j = json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s, s:I, s:b}",
	    "ip", netaddr_str(a, ip, sizeof(ip)),
	    "country", d->g.country[0] ? d->g.country : NULL,
	    "continent", d->g.continent[0] ? d->g.continent : NULL,
	    "region", rm->regions[d->home].name,
	    "rule", region_rule_name(d->rule),
	    "reason", d->reason,
	    "version", (json_int_t)f->version,
	    "maintenance", f->maintenance);
	if (j == NULL || (arr = json_array()) == NULL) {
		json_decref(j);
		return NULL;
	}
	json_object_set_new(j, "latitude", d->g.has_location ?
	    json_real(d->g.lat) : json_null());
	json_object_set_new(j, "longitude", d->g.has_location ?
	    json_real(d->g.lon) : json_null());
	for (i = 0; i < d->ncand; i++) {
		s = d->cand[i].server;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o, "
		    "s:f, s:f}", "id", s->id, "url", s->base,
		    "weight", (json_int_t)s->weight,
		    "load", s->has_report ? json_real(s->load) : json_null(),
		    "effective_weight", d->cand[i].effective_weight,
		    "probability", d->cand[i].probability));
	}
	json_object_set_new(j, "candidates", arr);
	json_object_set_new(j, "server", d->picked ? json_pack("{s:s, s:s}",
	    "id", d->res.server->id, "url", d->res.server->base) :
	    json_null());
	return j;
}

int
cmd_explain(struct ctl *c, int argc, char **argv)
{
	struct ctl_records	 rs;
	struct decision		 d;
	struct netaddr		 a;
	struct runtime		*rt;
	struct raw_fleet	*raw;
	struct fleet_memory	*mem = NULL;
	struct fleet		*f = NULL;
	const char		*what;
	json_t			*j;
	char			 err[1024], *p, *s;
	int			 json, rc;

	json = ctl_flag(&argc, argv, "--json");
	ctl_dashdash(&argc, argv);
	if (argc != 2)
		return ctl_usage_of(argv[0]);
	if (netaddr_parse(argv[1], &a) != 0) {
		p = ctl_printable(argv[1]);
		rc = ctl_err(CTL_USAGE, "bad IP address \"%s\"", p ? p : "");
		free(p);
		return rc;
	}
	if (c->cfgpath == NULL)
		return ctl_err(CTL_USAGE, "explain needs -c CONFIG (its "
		    "regions, url policy and [geoip] database)");
	/* What a router builds from this file: config, database, regions. */
	if ((rt = runtime_load(c->cfgpath, err, sizeof(err), &what)) == NULL)
		return ctl_err(strcmp(what, "geoip") == 0 ? CTL_FAIL :
		    CTL_USAGE, "%s", err);
	if ((rc = ctl_connect(c)) != CTL_OK ||
	    (rc = ctl_fetch_all(c, &rs)) != CTL_OK)
		goto out;
	raw = to_raw(&rs);
	ctl_records_free(&rs);
	if (raw == NULL || (mem = fleet_memory_new()) == NULL ||
	    (f = raw_fleet_build(raw, rt, mem)) == NULL) {
		raw_fleet_free(raw);
		rc = ctl_err(CTL_FAIL, "out of memory");
		goto out;
	}
	raw_fleet_free(raw);
	decide(rt, f, &a, &d);
	if (json) {
		if ((j = to_json(&a, rt->rm, f, &d)) == NULL ||
		    (s = json_dumps(j, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))) == NULL)
			rc = ctl_err(CTL_FAIL, "out of memory");
		else {
			puts(s);
			free(s);
		}
		json_decref(j);
	} else
		print_text(&a, rt->rm, f, &d);
out:
	fleet_free(f);
	fleet_memory_free(mem);
	runtime_free(rt);
	return rc;
}
