/*
 * geo: what libmaxminddb knows about an address.  The database is mmap'd
 * once and shared by every thread; it is closed only when the runtime
 * that owns it is retired (see epoch.h), never under a reader's feet.
 */
#ifndef GEO307_GEO_H
#define GEO307_GEO_H

#include <stdint.h>

#include "netaddr.h"

struct geo_result {
	int	found;			/* the address is in the database */
	char	country[3];		/* ISO alpha-2 or "" */
	char	continent[3];		/* AF AN AS EU NA OC SA or "" */
	int	has_location;		/* from the DB, or the country centroid */
	int	location_from_db;
	double	lat, lon;
};

struct geodb;

/* Open and sanity-check path.  NULL with a message in err on failure. */
struct geodb	*geo_open(const char *path, char *err, size_t errlen);
void		 geo_close(struct geodb *db);
/* Fill *out; country centroid filled in when the DB has no location. */
void		 geo_lookup(const struct geodb *db, const struct netaddr *a,
		    struct geo_result *out);
uint64_t	 geo_build_epoch(const struct geodb *db);
const char	*geo_type(const struct geodb *db);
const char	*geo_path(const struct geodb *db);

#endif
