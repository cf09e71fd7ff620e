/*
 * explain IP [--key K] [--family 4|6] [--json]: what a router with this
 * config would do for a client at IP with the fleet Redis holds right
 * now, exactly as the daemon's admin /route says it: the same code
 * decides (runtime_load: config, GeoIP database, region map;
 * fleet_raw_build: each record through fleet_rec_server, bad records
 * skipped and logged as a router logs them; route_decide) and the same
 * code writes the JSON (route_json).
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
#include "fleet_raw.h"
#include "region.h"
#include "rng.h"
#include "runtime.h"
#include "route.h"
#include "select.h"

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
	raw->taken_mono = clock_mono();
	return raw;
}

static void
decide(const struct runtime *rt, const struct fleet *f,
    const struct route_input *in, struct route_decision *d)
{
	struct rng	rng;

	if (rt->cfg->selection.has_seed)
		rng_seed(&rng, rt->cfg->selection.seed);
	else if (rng_seed_random(&rng) != 0)
		rng_seed(&rng, (uint64_t)in->now);
	(void)route_decide(rt, f, in, &rng, d);
}

static void
print_candidates(const struct runtime *rt, const struct fleet *f,
    const struct route_decision *d)
{
	struct select_candidate	*cand;
	const struct fleet_server *s;
	char			 load[16];
	size_t			 i, n, w = 2;

	n = route_candidates(f, d, NULL, 0);
	if (n == 0 || (cand = calloc(n, sizeof(*cand))) == NULL)
		return;
	n = route_candidates(f, d, cand, n);
	for (i = 0; i < n; i++)
		if (strlen(cand[i].server->id) > w)
			w = strlen(cand[i].server->id);
	printf("candidates:\n");
	printf("  %-*s  %-12s  %7s  %8s  %9s  %11s  %s\n", (int)w, "ID",
	    "REGION", "WEIGHT", "LOAD", "EFFECTIVE", "PROBABILITY", "URL");
	for (i = 0; i < n; i++) {
		s = cand[i].server;
		if (!s->has_report)
			snprintf(load, sizeof(load), "none");
		else if (!fleet_server_fresh(f, s, d->now))
			snprintf(load, sizeof(load), "%.6g!", s->load);
		else
			snprintf(load, sizeof(load), "%.6g", s->load);
		printf("  %-*s  %-12s  %7" PRIu32 "  %8s  %9.6g  %10.4g%%  %s\n",
		    (int)w, s->id, rt->rm->regions[s->region].name, s->weight,
		    load, cand[i].effective_weight,
		    100 * cand[i].probability, s->base);
	}
	free(cand);
}

static void
print_text(const struct runtime *rt, const struct fleet *f,
    const struct route_input *in, const struct route_decision *d)
{
	const struct regionmap	*rm = rt->rm;
	char			 ip[INET6_ADDRSTRLEN];

	printf("%-11s %s (IPv%d)\n", "ip", netaddr_str(&in->client, ip,
	    sizeof(ip)), d->family == FLEET_FAMILY_6 ? 6 : 4);
	printf("%-11s %s\n", "country", d->geo.country[0] ? d->geo.country :
	    "-");
	printf("%-11s %s\n", "continent", d->geo.continent[0] ?
	    d->geo.continent : "-");
	if (d->geo.has_location)
		printf("%-11s %.6g, %.6g (%s)\n", "location", d->geo.lat,
		    d->geo.lon, d->geo.location_from_db ? "database" :
		    "country centroid");
	else
		printf("%-11s -\n", "location");
	printf("%-11s %s (rule %s)\n", "home", rm->regions[d->home].name,
	    region_rule_name(d->rule));
	printf("%-11s version %" PRIu64 ", %zu servers\n", "fleet",
	    f->version, f->nservers);
	if (d->maintenance)
		printf("%-11s on: every request gets 503, Retry-After %.0f\n",
		    "maintenance", d->maintenance_retry);
	if (d->affinity != ROUTE_AFFINITY_OFF)
		printf("%-11s %s (%s)\n", "affinity",
		    route_affinity_name(d->affinity),
		    rt->cfg->affinity.mode ? rt->cfg->affinity.mode : "hash");
	if (d->plan.spilling)
		printf("%-11s headroom %.6g: %.6g%% to %s\n", "spill",
		    d->plan.headroom, 100 * d->plan.fraction,
		    d->plan.nparts == 2 ? rm->regions[d->plan.region[1]].name :
		    "nowhere (no region with headroom)");
	printf("%-11s %s%s\n", "reason", select_reason_name(d->reason),
	    d->plan.failopen ? " (fail-open: every report is stale)" : "");
	if (d->server == NULL) {
		printf("%-11s none: 503\n", "server");
		return;
	}
	printf("%-11s %s\n", "region", rm->regions[d->region].name);
	print_candidates(rt, f, d);
	printf("%-11s %s %s\n", "server", d->server->id, d->server->base);
}

/* --key K, --family 4|6 and the IP into in; a CTL_* code. */
static int
explain_args(int *argc, char **argv, struct route_input *in)
{
	const char	*key, *fam;
	char		*p;
	int		 rc;

	memset(in, 0, sizeof(*in));
	in->synthetic_region = -1;
	in->now = clock_mono();
	if (ctl_option(argc, argv, "--key", &key) != 0 ||
	    ctl_option(argc, argv, "--family", &fam) != 0)
		return ctl_usage_of(argv[0]);
	ctl_dashdash(argc, argv);
	if (*argc != 2)
		return ctl_usage_of(argv[0]);
	if (fam != NULL && strcmp(fam, "4") != 0 && strcmp(fam, "6") != 0)
		return ctl_err(CTL_FAIL, "--family takes 4 or 6");
	if (fam != NULL)
		in->family = fam[0] == '4' ? FLEET_FAMILY_4 : FLEET_FAMILY_6;
	if (key != NULL && key[0] != '\0') {
		in->key = key;
		in->keylen = strlen(key);
	}
	if (netaddr_parse(argv[1], &in->client) != 0) {
		p = ctl_printable(argv[1]);
		rc = ctl_err(CTL_FAIL, "bad IP address \"%s\"", p ? p : "");
		free(p);
		return rc;
	}
	return CTL_OK;
}

int
cmd_explain(struct ctl *c, int argc, char **argv)
{
	struct ctl_records	 rs;
	struct route_input	 in;
	struct route_decision	 d;
	struct runtime		*rt;
	struct raw_fleet	*raw;
	struct fleet_memory	*mem = NULL;
	struct fleet		*f = NULL;
	const char		*what;
	json_t			*j;
	char			 err[1024], *s;
	int			 json, rc;

	json = ctl_flag(&argc, argv, "--json");
	if ((rc = explain_args(&argc, argv, &in)) != CTL_OK)
		return rc;
	if (c->cfgpath == NULL)
		return ctl_err(CTL_USAGE, "explain needs -c CONFIG (its "
		    "regions, url policy and [geoip] database)");
	/* What a router builds from this file: config, database, regions. */
	if ((rt = runtime_load(c->cfgpath, err, sizeof(err), &what)) == NULL)
		return ctl_err(CTL_FAIL, "%s", err);
	if ((rc = ctl_connect(c)) != CTL_OK ||
	    (rc = ctl_fetch_all(c, &rs)) != CTL_OK)
		goto out;
	raw = to_raw(&rs);
	ctl_records_free(&rs);
	if (raw == NULL || (mem = fleet_raw_memory_new()) == NULL ||
	    (f = fleet_raw_build(raw, rt, mem)) == NULL) {
		fleet_raw_free(raw);
		rc = ctl_err(CTL_FAIL, "out of memory");
		goto out;
	}
	fleet_raw_free(raw);
	decide(rt, f, &in, &d);
	if (json) {
		if ((j = route_json(rt, f, &in, &d)) == NULL ||
		    (s = json_dumps(j, ROUTE_JSON_FLAGS)) == NULL)
			rc = ctl_err(CTL_FAIL, "out of memory");
		else {
			puts(s);
			free(s);
		}
		json_decref(j);
	} else
		print_text(rt, f, &in, &d);
out:
	fleet_free(f);
	fleet_raw_memory_free(mem);
	runtime_free(rt);
	return rc;
}
