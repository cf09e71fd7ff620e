/*
 * fleet_raw: the fleet records as read from Redis (or its cache file),
 * before validation, and the step that turns them into an immutable
 * fleet for one runtime.  Keeping the raw strings means a SIGHUP that
 * changes the regions or allowed_hosts re-validates the same records.
 */
#ifndef GEO307_FLEET_RAW_H
#define GEO307_FLEET_RAW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fleet.h"
#include "runtime.h"

struct raw_server {
	char	 *id;
	char	**fields;
	char	**values;
	size_t	  n;
	char	 *load;		/* the load key's value; NULL = no report */
};

struct raw_fleet {
	uint64_t		 version;
	int			 has_version;	/* P version exists */
	int			 bad_version;	/* but is not a number */
	int			 bad_regions;	/* P regions is not a hash */
	struct raw_server	*servers;
	size_t			 nservers;
	char			**rnames;	/* P regions: field */
	char			**rstates;	/* and value */
	size_t			 nregions;
	char			*maintenance;	/* NULL = off */
	time_t			 taken_wall;
	double			 taken_mono;
	enum fleet_source	 source;
	/* The change feed's entry for this version; "" = unknown. */
	char			 feed_id[48];
};

/*
 * What building remembers from one fleet to the next: which bad records
 * were already logged and counted (once per id, field and value), and
 * since when each server is routable (slow start).  Used by one thread
 * at a time (the caller serialises).
 */
struct fleet_memory;

struct fleet_memory *fleet_raw_memory_new(void);
void		 fleet_raw_memory_free(struct fleet_memory *m);

void		 fleet_raw_free(struct raw_fleet *raw);
/* One server's fields, values and load freed (its id kept). */
void		 fleet_raw_server_clear(struct raw_server *rs);
/* P regions and P maintenance freed. */
void		 fleet_raw_tail_clear(struct raw_fleet *raw);
/*
 * Validate raw against rt (regions, url policy) and build a fleet for
 * rt's region map; stale_after sets how long its reports count as fresh.
 * Bad records are skipped, logged once and counted.  NULL only on
 * allocation failure.
 */
struct fleet	*fleet_raw_build(const struct raw_fleet *raw,
		    const struct runtime *rt, struct fleet_memory *mem);

/*
 * The cache file: JSON, written to a temporary file, fsync'd, renamed;
 * fleet_raw_save is fleet_raw_encode (the text, malloc'd) then
 * fleet_raw_write.
 */
char		*fleet_raw_encode(const struct raw_fleet *raw);
int		 fleet_raw_write(const char *text, const char *path, char *err,
		    size_t errlen);
int		 fleet_raw_save(const struct raw_fleet *raw, const char *path,
		    char *err, size_t errlen);
/*
 * Read a cache no older than max_age seconds.  NULL with a message when
 * it is missing, unreadable, malformed or too old.
 */
struct raw_fleet *fleet_raw_load(const char *path, double max_age,
		    char *err, size_t errlen);

#endif
