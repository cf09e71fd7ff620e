/*
 * Fleet snapshots.  A snapshot is built completely, then published; from
 * then on nobody writes to it, so request threads read it without locks.
 * Every source (the [server] sections here, Redis and its cache
 * elsewhere) fills an array of fleet_server and hands it to fleet_build().
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "fleet_rec.h"
#include "metrics.h"
#include "url.h"

#include <xxhash.h>

const char *
fleet_server_why(const struct fleet *f, const struct fleet_server *s,
    double now)
{
	if (s->state == SERVER_DOWN)
		return "down";
	if (s->state == SERVER_DRAIN)
		return "drain";
	if (s->weight == 0)
		return "weight 0";
	if (f->regions[s->region].drained)
		return "region drained";
	if (!s->has_report)
		return "no load report";
	if (!fleet_server_fresh(f, s, now))
		return "stale report";
	if (s->load >= 1)
		return "load 1";
	return "candidate";
}

const char *
fleet_source_name(enum fleet_source s)
{
	switch (s) {
	case FLEET_CONFIG:
		return "config";
	case FLEET_REDIS:
		return "redis";
	case FLEET_CACHE:
		return "cache";
	}
	return "unknown";
}

static void
free_servers(struct fleet_server *servers, size_t n)
{
	size_t	i;

	if (servers == NULL)
		return;
	for (i = 0; i < n; i++)
		free(servers[i].base);
	free(servers);
}

void
fleet_free(struct fleet *f)
{
	size_t	i;

	if (f == NULL)
		return;
	free_servers(f->servers, f->nservers);
	for (i = 0; f->regions != NULL && i < f->nregions; i++)
		free(f->regions[i].servers);
	free(f->regions);
	free(f->by_id);
	free(f);
}

static const struct fleet	*sort_fleet;	/* qsort has no context */

static int
by_id_cmp(const void *a, const void *b)
{
	return strcmp(sort_fleet->servers[*(const uint32_t *)a].id,
	    sort_fleet->servers[*(const uint32_t *)b].id);
}

/* Sources build snapshots in one thread each; qsort runs under a lock. */
static pthread_mutex_t	sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int
index_ids(struct fleet *f)
{
	size_t	i;

	if ((f->by_id = calloc(f->nservers + 1, sizeof(*f->by_id))) == NULL)
		return -1;
	for (i = 0; i < f->nservers; i++)
		f->by_id[i] = (uint32_t)i;
	pthread_mutex_lock(&sort_lock);
	sort_fleet = f;
	qsort(f->by_id, f->nservers, sizeof(*f->by_id), by_id_cmp);
	sort_fleet = NULL;
	pthread_mutex_unlock(&sort_lock);
	return 0;
}

const struct fleet_server *
fleet_find(const struct fleet *f, const char *id, size_t len)
{
	size_t				 lo = 0, hi, mid;
	const struct fleet_server	*s;
	int				 c;

	if (f == NULL || f->by_id == NULL || len > NAME_MAX_LEN)
		return NULL;
	hi = f->nservers;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		s = &f->servers[f->by_id[mid]];
		if ((c = strncmp(s->id, id, len)) == 0 && s->id[len] != '\0')
			c = 1;
		if (c == 0)
			return s;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct fleet *
fleet_build(struct fleet_server *servers, size_t n,
    const struct regionmap *rm)
{
	struct fleet	*f;
	size_t		 i, r;

	if (rm == NULL || (n > 0 && servers == NULL)) {
		free_servers(servers, n);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (servers[i].region >= rm->n) {
			free_servers(servers, n);
			return NULL;
		}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		free_servers(servers, n);
		return NULL;
	}
	f->servers = servers;
	f->nservers = n;
	f->rm = rm;
	f->source = FLEET_CONFIG;
	f->version = 0;
	f->fresh_until = INFINITY;
	f->taken_wall = time(NULL);
	f->taken_mono = clock_mono();
	if ((f->regions = calloc(rm->n ? rm->n : 1, sizeof(*f->regions))) ==
	    NULL)
		goto fail;
	f->nregions = rm->n;

	/* Count, size exactly, fill: servers keep their array order. */
	for (i = 0; i < n; i++)
		f->regions[servers[i].region].n++;
	for (r = 0; r < f->nregions; r++) {
		if (f->regions[r].n == 0)
			continue;
		f->regions[r].servers = calloc(f->regions[r].n,
		    sizeof(*f->regions[r].servers));
		if (f->regions[r].servers == NULL)
			goto fail;
		f->regions[r].n = 0;
	}
	for (i = 0; i < n; i++) {
		r = servers[i].region;
		f->regions[r].servers[f->regions[r].n++] = (uint32_t)i;
		/* Interning takes a lock: here, never per request. */
		servers[i].label = metrics_server_label(servers[i].id);
		if ((servers[i].families & FLEET_FAMILY_ANY) == 0)
			servers[i].families = FLEET_FAMILY_ANY;
		servers[i].id_hash = XXH64(servers[i].id,
		    strlen(servers[i].id), 0);
	}
	if (index_ids(f) != 0)
		goto fail;
	return f;

fail:
	fleet_free(f);
	return NULL;
}

/* One [server] through fleet_rec_server, the one validator of records. */
static int
server_of_conf(const struct config *cfg, const struct regionmap *rm,
    const struct server_conf *sc, struct fleet_server *s, char *err,
    size_t errlen)
{
	struct server_record	 rec;
	struct reject		 rej;
	const char		*fields[4], *values[4];
	char			 wbuf[16];
	size_t			 n;
	int			 idx;

	n = fleet_rec_conf_fields(sc, fields, values, wbuf);
	if (fleet_rec_server(cfg, sc->id, fields, values, n, &rec, &rej) != 0 ||
	    (idx = region_map_find(rm, rec.region)) < 0) {
		/* Not reached after config_load: it ran the same check. */
		snprintf(err, errlen, "%s:%d: server %s: bad %s \"%.100s\"%s%s%s",
		    cfg->path ? cfg->path : "config", sc->line, sc->id,
		    rej.field ? rej.field : "region",
		    rej.value ? rej.value : sc->region, rej.why ? " (" : "",
		    rej.why ? rej.why : "", rej.why ? ")" : "");
		return -1;
	}
	snprintf(s->id, sizeof(s->id), "%s", rec.id);
	/*
	 * The snapshot owns its own copy: the config (and its parsed URLs)
	 * may be freed on reload while this fleet still serves.
	 */
	s->base = strdup(rec.url.base);
	s->baselen = rec.url.baselen;
	s->region = (uint32_t)idx;
	s->weight = rec.weight;
	s->state = rec.state;
	s->families = rec.families;
	fleet_rec_record_free(&rec);
	if (s->base == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* No Redis: every server counts as fresh with load 0 (SPEC 3). */
	s->has_report = 1;
	s->load = 0;
	/* At start nothing ramps; a reload carries the clocks over. */
	s->routable_since = 0;
	return 0;
}

struct fleet *
fleet_from_config(const struct config *cfg, const struct regionmap *rm,
    char *err, size_t errlen)
{
	struct fleet_server	*servers;
	struct fleet		*f;
	size_t			 i, n = cfg->nservers;

	if ((servers = calloc(n ? n : 1, sizeof(*servers))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (server_of_conf(cfg, rm, &cfg->servers[i], &servers[i], err,
		    errlen) != 0) {
			free_servers(servers, n);
			return NULL;
		}
	if ((f = fleet_build(servers, n, rm)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->source = FLEET_CONFIG;
	f->fresh_until = INFINITY;
	return f;
}

int
fleet_server_fresh(const struct fleet *f, const struct fleet_server *s,
    double now)
{
	return s->has_report && now < f->fresh_until;
}

/*
 * Routable as slow start sees it.  A report counts when the server has
 * one, whatever the snapshot's age (fleet_raw.c says why); the static
 * fleet always has one.
 */
static int
server_routable(const struct fleet *f, const struct fleet_server *s)
{
	return s->state == SERVER_UP && s->weight > 0 && s->has_report &&
	    s->region < f->nregions && !f->regions[s->region].drained;
}

void
fleet_carry_routable(struct fleet *nf, const struct fleet *of, double now)
{
	const struct fleet_server	*o;
	struct fleet_server		*s;
	size_t				 i, j;

	if (nf == NULL || of == NULL)
		return;
	for (i = 0; i < nf->nservers; i++) {
		s = &nf->servers[i];
		if (!server_routable(nf, s))
			continue;
		/*
		 * Reloads mostly keep the order of the [server] sections:
		 * look at the same index first, so the usual case is linear.
		 */
		o = NULL;
		if (i < of->nservers && strcmp(of->servers[i].id, s->id) == 0)
			o = &of->servers[i];
		for (j = 0; o == NULL && j < of->nservers; j++)
			if (strcmp(of->servers[j].id, s->id) == 0)
				o = &of->servers[j];
		s->routable_since = o != NULL && server_routable(of, o) ?
		    o->routable_since : now;
	}
}

size_t
fleet_routable(const struct fleet *f, double now)
{
	const struct fleet_server	*s;
	size_t				 i, fresh = 0, stale = 0;

	if (f == NULL)
		return 0;
	for (i = 0; i < f->nservers; i++) {
		s = &f->servers[i];
		if (s->state != SERVER_UP || s->weight == 0 ||
		    s->region >= f->nregions || f->regions[s->region].drained)
			continue;
		if (fleet_server_fresh(f, s, now))
			fresh++;
		else
			stale++;
	}
	/* Stale servers serve only when nothing is fresh (fail-open). */
	return fresh > 0 ? fresh : stale;
}

/*
 * The fleet's state for health checks.  These are answers, not faults
 * of this instance: a balancer that pulled every router during a
 * maintenance would turn the intended 503 + Retry-After into connection
 * errors.  "stale": something is routable, but only on reports older
 * than stale_after (Redis or the agents silent), i.e. fail-open.
 */
const char *
fleet_health(const struct fleet *f, double now)
{
	const struct fleet_server	*s;
	size_t				 i, fresh = 0, stale = 0;

	if (f->maintenance)
		return "maintenance";
	for (i = 0; i < f->nservers; i++) {
		s = &f->servers[i];
		if (s->state != SERVER_UP || s->weight == 0 ||
		    s->region >= f->nregions || f->regions[s->region].drained)
			continue;
		if (fleet_server_fresh(f, s, now))
			fresh++;
		else
			stale++;
	}
	if (fresh > 0)
		return "ok";
	return stale > 0 ? "stale" : "nothing routable";
}
