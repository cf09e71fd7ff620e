/*
 * region: the region map built from the [region] sections.  It answers
 * "which region is home for this location" (SPEC section 2.2) and holds
 * each region's fallback order.  Immutable once built.
 */
#ifndef GEO307_REGION_H
#define GEO307_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "geo.h"

enum region_rule {
	RULE_COUNTRY,		/* listed in a region's countries */
	RULE_CONTINENT,		/* listed in a region's continents */
	RULE_NEAREST,		/* nearest region to the known location */
	RULE_DEFAULT,		/* nothing known: the default region */
	RULE_SYNTHETIC		/* forced by X-Synthetic-Region */
};

struct region {
	char		 name[NAME_MAX_LEN + 1];
	int		 has_location;
	double		 lat, lon;
	double		 unit[3];	/* lat, lon on the unit sphere */
	uint32_t	*fallback;	/* region indices, in order */
	size_t		 nfallback;
	/*
	 * The regions on neither the fallback list nor this one, in the
	 * order a computed list would give them (empty when the list was
	 * computed: it already holds every other region).  The selection
	 * path is extended with them only when nothing on it can serve, so
	 * that an explicit list never turns into a 503 while a server
	 * elsewhere could take the upload (SPEC 2.6 and 2.8).
	 */
	uint32_t	*rest;
	size_t		 nrest;
};

struct regionmap {
	struct region	*regions;
	size_t		 n;
	uint32_t	 default_region;
	int16_t		 by_country[26 * 26];	/* region index or -1 */
	/* per continent (index from region_continent_index()): candidates in file order */
	uint32_t	*by_continent[7];
	size_t		 nby_continent[7];
	/*
	 * The nearest region to each country's centroid, worked out at
	 * build time for databases that know countries but no locations:
	 * of every region, and of its continent's regions (-1: none).
	 */
	int16_t		 near_all[26 * 26];
	int16_t		 near_cont[26 * 26];
};

/* Build from a validated config.  NULL with a message on failure. */
struct regionmap *region_map_build(const struct config *cfg, char *err,
		    size_t errlen);
void		 region_map_free(struct regionmap *rm);
/* The home region for a lookup result, and the rule that matched. */
uint32_t	 region_map_home(const struct regionmap *rm,
		    const struct geo_result *g, enum region_rule *rule);
int		 region_map_find(const struct regionmap *rm, const char *name);
const char	*region_rule_name(enum region_rule r);
/* 0..6 for AF AN AS EU NA OC SA, or -1. */
int		 region_continent_index(const char *code);
/* Great-circle distance in km (haversine on a 6371 km sphere). */
double		 region_distance_km(double lat1, double lon1, double lat2,
		    double lon2);

#endif
