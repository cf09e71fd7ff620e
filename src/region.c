/*
 * The region map (SPEC section 2.2).  Everything that can be worked out
 * from the [region] sections alone is worked out here, once per config
 * load: the country table, the continent lists and each region's
 * fallback order.  region_map_home() then only does table look-ups and, at
 * worst, one distance per region.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "countries.h"
#include "region.h"

#define EARTH_RADIUS_KM	6371.0
#define PI		3.14159265358979323846

static const char *const continent_codes[7] = {
	"AF", "AN", "AS", "EU", "NA", "OC", "SA"
};

int
region_continent_index(const char *code)
{
	int	i;

	if (code == NULL || code[0] == '\0' || code[1] == '\0' ||
	    code[2] != '\0')
		return -1;
	for (i = 0; i < 7; i++)
		if (toupper((unsigned char)code[0]) == continent_codes[i][0] &&
		    toupper((unsigned char)code[1]) == continent_codes[i][1])
			return i;
	return -1;
}

static double
deg2rad(double d)
{
	return d * (PI / 180.0);
}

static void	nearest_by_country(struct regionmap *rm);

/* A point on the unit sphere, for nearest-region comparisons. */
static void
unit_vector(double lat, double lon, double u[3])
{
	double	a = deg2rad(lat), b = deg2rad(lon);

	u[0] = cos(a) * cos(b);
	u[1] = cos(a) * sin(b);
	u[2] = sin(a);
}

double
region_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	double	dlat, dlon, a;

	dlat = deg2rad(lat2 - lat1);
	dlon = deg2rad(lon2 - lon1);
	a = sin(dlat / 2) * sin(dlat / 2) +
	    cos(deg2rad(lat1)) * cos(deg2rad(lat2)) *
	    sin(dlon / 2) * sin(dlon / 2);
	/* Rounding can push a a hair outside [0, 1] near the antipodes. */
	if (a < 0)
		a = 0;
	if (a > 1)
		a = 1;
	return 2 * EARTH_RADIUS_KM * atan2(sqrt(a), sqrt(1 - a));
}

const char *
region_rule_name(enum region_rule r)
{
	switch (r) {
	case RULE_COUNTRY:
		return "country";
	case RULE_CONTINENT:
		return "continent";
	case RULE_NEAREST:
		return "nearest";
	case RULE_DEFAULT:
		return "default";
	case RULE_SYNTHETIC:
		return "synthetic";
	}
	return "unknown";
}

int
region_map_find(const struct regionmap *rm, const char *name)
{
	size_t	i;

	if (rm == NULL || name == NULL)
		return -1;
	for (i = 0; i < rm->n; i++)
		if (strcmp(rm->regions[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
region_map_free(struct regionmap *rm)
{
	size_t	i;

	if (rm == NULL)
		return;
	for (i = 0; rm->regions != NULL && i < rm->n; i++) {
		free(rm->regions[i].fallback);
		free(rm->regions[i].rest);
	}
	free(rm->regions);
	for (i = 0; i < 7; i++)
		free(rm->by_continent[i]);
	free(rm);
}

static void __attribute__((format(printf, 5, 6)))
region_err(char *err, size_t errlen, const struct config *cfg,
    const struct region_conf *rc, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rc != NULL && cfg->path != NULL)
		snprintf(err, errlen, "%s:%d: region %s: %s", cfg->path,
		    rc->line, rc->name, msg);
	else if (rc != NULL)
		snprintf(err, errlen, "region %s: %s", rc->name, msg);
	else if (cfg->path != NULL)
		snprintf(err, errlen, "%s: %s", cfg->path, msg);
	else
		snprintf(err, errlen, "%s", msg);
}

/* Country "GB" -> 0..675, or -1 if not two letters. */
static int
country_slot(const char *c)
{
	int	a, b;

	if (c == NULL || c[0] == '\0' || c[1] == '\0' || c[2] != '\0')
		return -1;
	a = toupper((unsigned char)c[0]);
	b = toupper((unsigned char)c[1]);
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return -1;
	return (a - 'A') * 26 + (b - 'A');
}

struct by_dist {
	double		d;
	uint32_t	idx;
};

static int
by_dist_cmp(const void *a, const void *b)
{
	const struct by_dist	*x = a, *y = b;

	if (x->d < y->d)
		return -1;
	if (x->d > y->d)
		return 1;
	/* Equal distance: file order, so that the result is predictable. */
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Every region but `from`, nearest first.  Regions without a location go
 * last in file order; if `from` has no location there is no distance to
 * speak of and the order is the file's.  tmp holds rm->n entries.
 */
static size_t
order_by_distance(const struct regionmap *rm, uint32_t from,
    struct by_dist *tmp)
{
	const struct region	*o = &rm->regions[from];
	const struct region	*r;
	size_t			 i, k = 0;

	for (i = 0; i < rm->n; i++) {
		if (i == from)
			continue;
		r = &rm->regions[i];
		tmp[k].idx = (uint32_t)i;
		if (!o->has_location)
			tmp[k].d = 0;
		else if (!r->has_location)
			tmp[k].d = INFINITY;
		else
			tmp[k].d = region_distance_km(o->lat, o->lon, r->lat,
			    r->lon);
		k++;
	}
	qsort(tmp, k, sizeof(*tmp), by_dist_cmp);
	return k;
}

static int
list_has(const uint32_t *v, size_t n, uint32_t x)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static int
build_fallback(struct regionmap *rm, const struct config *cfg, uint32_t i,
    struct by_dist *tmp, char *err, size_t errlen)
{
	const struct region_conf	*rc = &cfg->regions[i];
	struct region			*r = &rm->regions[i];
	size_t				 j, k, nd;
	int				 idx;

	/* rm->n >= 1; one spare slot keeps calloc away from size 0. */
	if ((r->fallback = calloc(rm->n, sizeof(*r->fallback))) == NULL ||
	    (r->rest = calloc(rm->n, sizeof(*r->rest))) == NULL) {
		region_err(err, errlen, cfg, rc, "out of memory");
		return -1;
	}
	for (j = 0; j < rc->fallback.n; j++) {
		idx = region_map_find(rm, rc->fallback.v[j]);
		if (idx < 0) {
			region_err(err, errlen, cfg, rc,
			    "fallback %s: no such region", rc->fallback.v[j]);
			return -1;
		}
		if ((uint32_t)idx == i) {
			region_err(err, errlen, cfg, rc,
			    "fallback lists the region itself");
			return -1;
		}
		if (list_has(r->fallback, r->nfallback, (uint32_t)idx)) {
			region_err(err, errlen, cfg, rc,
			    "fallback lists %s twice", rc->fallback.v[j]);
			return -1;
		}
		r->fallback[r->nfallback++] = (uint32_t)idx;
	}
	nd = order_by_distance(rm, i, tmp);
	for (k = 0; k < nd; k++) {
		if (rc->fallback.n == 0)
			r->fallback[r->nfallback++] = tmp[k].idx;
		else if (!list_has(r->fallback, r->nfallback, tmp[k].idx))
			r->rest[r->nrest++] = tmp[k].idx;
	}
	return 0;
}

/* Names, locations and unit vectors, in file order. */
static int
build_regions(struct regionmap *rm, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct region_conf	*rc;
	size_t				 i;

	for (i = 0; i < rm->n; i++) {
		rc = &cfg->regions[i];
		if (strlen(rc->name) > NAME_MAX_LEN || rc->name[0] == '\0') {
			region_err(err, errlen, cfg, rc, "bad name");
			return -1;
		}
		if (region_map_find(rm, rc->name) >= 0) {
			region_err(err, errlen, cfg, rc, "defined twice");
			return -1;
		}
		memcpy(rm->regions[i].name, rc->name, strlen(rc->name) + 1);
		rm->regions[i].has_location = rc->has_location;
		rm->regions[i].lat = rc->lat;
		rm->regions[i].lon = rc->lon;
		unit_vector(rc->lat, rc->lon, rm->regions[i].unit);
	}
	return 0;
}

/* Each listed country to its region; a country in two is an error. */
static int
build_countries(struct regionmap *rm, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct region_conf	*rc;
	size_t				 i, j;
	int				 slot;

	for (i = 0; i < 26 * 26; i++)
		rm->by_country[i] = -1;
	for (i = 0; i < rm->n; i++) {
		rc = &cfg->regions[i];
		for (j = 0; j < rc->countries.n; j++) {
			if ((slot = country_slot(rc->countries.v[j])) < 0) {
				region_err(err, errlen, cfg, rc,
				    "bad country code %s", rc->countries.v[j]);
				return -1;
			}
			if (rm->by_country[slot] >= 0 &&
			    rm->by_country[slot] != (int16_t)i) {
				region_err(err, errlen, cfg, rc,
				    "country %s is also in region %s",
				    rc->countries.v[j],
				    rm->regions[rm->by_country[slot]].name);
				return -1;
			}
			rm->by_country[slot] = (int16_t)i;
		}
	}
	return 0;
}

/* Continent lists keep file order: "the first in the file" wins. */
static int
build_continents(struct regionmap *rm, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct region_conf	*rc;
	size_t				 i, j;
	int				 ci;

	for (i = 0; i < rm->n; i++) {
		rc = &cfg->regions[i];
		for (j = 0; j < rc->continents.n; j++) {
			if ((ci = region_continent_index(rc->continents.v[j])) < 0) {
				region_err(err, errlen, cfg, rc,
				    "bad continent code %s",
				    rc->continents.v[j]);
				return -1;
			}
			if (rm->by_continent[ci] == NULL &&
			    (rm->by_continent[ci] = calloc(rm->n,
			    sizeof(uint32_t))) == NULL) {
				region_err(err, errlen, cfg, NULL,
				    "out of memory");
				return -1;
			}
			if (!list_has(rm->by_continent[ci],
			    rm->nby_continent[ci], (uint32_t)i))
				rm->by_continent[ci][rm->nby_continent[ci]++] =
				    (uint32_t)i;
		}
	}
	return 0;
}

static int
check_conf(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg == NULL) {
		snprintf(err, errlen, "no configuration");
		return -1;
	}
	if (cfg->nregions == 0) {
		region_err(err, errlen, cfg, NULL, "no [region] sections");
		return -1;
	}
	/* by_country holds int16_t indices. */
	if (cfg->nregions > INT16_MAX) {
		region_err(err, errlen, cfg, NULL, "too many regions");
		return -1;
	}
	if (cfg->default_region >= cfg->nregions) {
		region_err(err, errlen, cfg, NULL, "no default region");
		return -1;
	}
	return 0;
}

struct regionmap *
region_map_build(const struct config *cfg, char *err, size_t errlen)
{
	struct regionmap	*rm = NULL;
	struct by_dist		*tmp = NULL;
	size_t			 i;

	if (check_conf(cfg, err, errlen) != 0)
		return NULL;
	if ((rm = calloc(1, sizeof(*rm))) == NULL ||
	    (rm->regions = calloc(cfg->nregions, sizeof(*rm->regions))) ==
	    NULL || (tmp = calloc(cfg->nregions, sizeof(*tmp))) == NULL) {
		region_err(err, errlen, cfg, NULL, "out of memory");
		goto fail;
	}
	rm->n = cfg->nregions;
	rm->default_region = (uint32_t)cfg->default_region;
	if (build_regions(rm, cfg, err, errlen) != 0 ||
	    build_countries(rm, cfg, err, errlen) != 0 ||
	    build_continents(rm, cfg, err, errlen) != 0)
		goto fail;
	for (i = 0; i < rm->n; i++)
		if (build_fallback(rm, cfg, (uint32_t)i, tmp, err, errlen) != 0)
			goto fail;
	nearest_by_country(rm);
	free(tmp);
	return rm;
fail:
	free(tmp);
	region_map_free(rm);
	return NULL;
}

/*
 * The nearest of the listed regions that have a location; ties go to the
 * earlier one in the file.  Returns -1 if none of them has a location.
 * Nearest on the sphere is largest dot product of unit vectors (the
 * cosine of the central angle falls as the distance grows), so a request
 * costs a sine and a cosine of its own coordinates and no atan2.
 */
static int
nearest_of(const struct regionmap *rm, const uint32_t *list, size_t n,
    double lat, double lon)
{
	const struct region	*r;
	double			 best = -INFINITY, d, u[3];
	size_t			 i;
	uint32_t		 idx;
	int			 found = -1;

	unit_vector(lat, lon, u);
	for (i = 0; i < n; i++) {
		idx = list != NULL ? list[i] : (uint32_t)i;
		r = &rm->regions[idx];
		if (!r->has_location)
			continue;
		d = u[0] * r->unit[0] + u[1] * r->unit[1] + u[2] * r->unit[2];
		if (found < 0 || d > best) {
			best = d;
			found = (int)idx;
		}
	}
	return found;
}

/* Every country's centroid against the regions, once (near_all/_cont). */
static void
nearest_by_country(struct regionmap *rm)
{
	const struct country_info	*c;
	unsigned			 i;
	int				 slot, ci;

	for (i = 0; i < 26 * 26; i++)
		rm->near_all[i] = rm->near_cont[i] = -1;
	for (i = 0; i < countries_table_len; i++) {
		c = &countries_table[i];
		if ((slot = country_slot(c->code)) < 0)
			continue;
		rm->near_all[slot] = (int16_t)nearest_of(rm, NULL, rm->n,
		    c->lat, c->lon);
		if ((ci = region_continent_index(c->continent)) >= 0 &&
		    rm->nby_continent[ci] > 0)
			rm->near_cont[slot] = (int16_t)nearest_of(rm,
			    rm->by_continent[ci], rm->nby_continent[ci],
			    c->lat, c->lon);
	}
}

/*
 * The nearest region to g's location, from the build-time tables when
 * the location is its country's centroid (and, for the continent rule,
 * the continent is the country's own).
 */
static int
nearest_for(const struct regionmap *rm, const struct geo_result *g, int ci)
{
	const struct country_info	*c;
	int				 slot;

	if (!g->location_from_db && (slot = country_slot(g->country)) >= 0 &&
	    (c = countries_find(g->country)) != NULL && c->lat == g->lat &&
	    c->lon == g->lon) {
		if (ci < 0)
			return rm->near_all[slot];
		if (region_continent_index(c->continent) == ci)
			return rm->near_cont[slot];
	}
	if (ci < 0)
		return nearest_of(rm, NULL, rm->n, g->lat, g->lon);
	return nearest_of(rm, rm->by_continent[ci], rm->nby_continent[ci],
	    g->lat, g->lon);
}

uint32_t
region_map_home(const struct regionmap *rm, const struct geo_result *g,
    enum region_rule *rule)
{
	enum region_rule	 dummy;
	int			 slot, ci, idx;

	if (rule == NULL)
		rule = &dummy;
	if (g != NULL && (slot = country_slot(g->country)) >= 0 &&
	    rm->by_country[slot] >= 0) {
		*rule = RULE_COUNTRY;
		return (uint32_t)rm->by_country[slot];
	}
	if (g != NULL && (ci = region_continent_index(g->continent)) >= 0 &&
	    rm->nby_continent[ci] > 0) {
		*rule = RULE_CONTINENT;
		idx = -1;
		if (g->has_location)
			idx = nearest_for(rm, g, ci);
		/* No location, or none of them has one: the first listed. */
		return idx >= 0 ? (uint32_t)idx : rm->by_continent[ci][0];
	}
	if (g != NULL && g->has_location &&
	    (idx = nearest_for(rm, g, -1)) >= 0) {
		*rule = RULE_NEAREST;
		return (uint32_t)idx;
	}
	*rule = RULE_DEFAULT;
	return rm->default_region;
}
