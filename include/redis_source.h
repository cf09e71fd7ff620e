/*
 * redis_source: the fleet from Redis (SPEC section 3).  One thread polls
 * (version and every load key each `refresh`; the server hashes, regions
 * and maintenance when the version moves, on a "changed" message, or
 * every `full_resync`), a second holds the SUBSCRIBE connection.  Records
 * are kept as read, validated against the runtime in use, and turned
 * into an immutable fleet that is swapped into the runtime; requests
 * never wait on any of this.  Each new version is also written to the
 * cache file, which a start with Redis down routes from.
 */
#ifndef GEO307_REDIS_SOURCE_H
#define GEO307_REDIS_SOURCE_H

#include <stddef.h>

#include "fleet.h"
#include "runtime.h"

struct redis_source;

/*
 * Read the cache file (if young enough) and start the threads.  Settings
 * of [redis] are taken from cfg once (the url needs a restart; refresh
 * and friends too, for now).  NULL with a message on failure.
 */
struct redis_source *redis_source_start(const struct config *cfg,
		    char *err, size_t errlen);
void		 redis_source_stop(struct redis_source *src);

/*
 * A fleet for rt from the latest records (Redis or cache), validated
 * against rt's config and region map; NULL when there are none yet.  For
 * a reload: the new runtime gets its fleet before it is published.
 */
struct fleet	*redis_source_fleet(struct redis_source *src,
		    const struct runtime *rt);

/*
 * --check: read the live records once and log those the config would
 * reject.  0 with a summary in msg; 1 when Redis could not be read (msg
 * says why); -1 on a bad url.
 */
int		 redis_source_check(const struct runtime *rt, char *msg,
		    size_t msglen);

/* 1 when the last refresh succeeded. */
int		 redis_source_up(struct redis_source *src);

#endif
