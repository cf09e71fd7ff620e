/*
 * fleet: an immutable snapshot of the upload servers, their state, weight
 * and last load report, grouped by region for selection.  A source (the
 * static [server] sections today, Redis or its cache later) builds one and
 * publishes it; requests only ever read a published snapshot.
 */
#ifndef GEO307_FLEET_H
#define GEO307_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "region.h"

enum server_state {
	SERVER_UP,
	SERVER_DRAIN,		/* no new uploads; affinity still served */
	SERVER_DOWN		/* nothing */
};

/* Address families a server takes ([server] / P server:<id> families). */
#define FLEET_FAMILY_4		0x1
#define FLEET_FAMILY_6		0x2
#define FLEET_FAMILY_ANY	(FLEET_FAMILY_4 | FLEET_FAMILY_6)

enum fleet_source {
	FLEET_CONFIG,
	FLEET_REDIS,
	FLEET_CACHE
};

struct fleet_server {
	char			 id[NAME_MAX_LEN + 1];
	char			*base;		/* Location prefix, no trailing '/' */
	size_t			 baselen;
	uint32_t		 region;	/* index in the region map */
	uint32_t		 weight;
	enum server_state	 state;
	unsigned		 families;	/* FLEET_FAMILY_* bits */
	uint64_t		 id_hash;	/* of id, seeds affinity hashing */
	int			 has_report;	/* a load report was present */
	double			 load;		/* 0..1 when has_report */
	/*
	 * Monotonic time the server last became routable (up, weight > 0,
	 * region not drained, report fresh), for slow start; 0 = long ago
	 * (servers seen at start).  A server not routable now keeps the
	 * start of its last routable period.
	 */
	double			 routable_since;
	int			 label;		/* metrics_server_label(id) */
};

struct fleet_region {
	uint32_t	*servers;	/* indices into fleet.servers */
	size_t		 n;
	int		 drained;	/* P regions says drain */
};

struct fleet {
	enum fleet_source	 source;
	uint64_t		 version;
	time_t			 taken_wall;	/* when built, for /fleet */
	double			 taken_mono;	/* CLOCK_MONOTONIC seconds */
	/*
	 * Reports count as fresh until this monotonic time: +inf for the
	 * static fleet, taken_mono + stale_after for Redis data, so a
	 * snapshot kept through a Redis outage goes stale on schedule.
	 */
	double			 fresh_until;
	int			 maintenance;	/* every request: 503 */
	double			 maintenance_retry;	/* 0: not given */
	struct fleet_server	*servers;
	size_t			 nservers;
	uint32_t		*by_id;		/* server indices sorted by id */
	struct fleet_region	*regions;	/* parallel to regionmap */
	size_t			 nregions;
	const struct regionmap	*rm;		/* the map indices refer to */
};

/*
 * The static fleet from [server] sections: every server up, fresh, load 0.
 * NULL with a message on failure.
 */
struct fleet	*fleet_from_config(const struct config *cfg,
		    const struct regionmap *rm, char *err, size_t errlen);
/*
 * Build the per-region tables once servers[] is filled (used by every
 * source).  Takes ownership of servers (and of each base) in every case:
 * on failure they are freed.  NULL on allocation failure or when a
 * server's region is not an index of rm.  Fills each server's metrics
 * label, and sets source FLEET_CONFIG, version 0, fresh_until +inf and
 * taken_wall/taken_mono to now: a Redis or cache source overrides them.
 */
struct fleet	*fleet_build(struct fleet_server *servers, size_t n,
		    const struct regionmap *rm);
void		 fleet_free(struct fleet *f);
/* The server with this id (len bytes, not NUL-terminated), or NULL. */
const struct fleet_server *fleet_find(const struct fleet *f, const char *id,
		    size_t len);
int		 fleet_server_fresh(const struct fleet *f,
		    const struct fleet_server *s, double now);
/*
 * Slow start across a reload of the static fleet: a server of nf that
 * was routable in of keeps its routable_since; one that is new, or
 * newly routable (weight 0 before), starts its ramp at now.  nf must not
 * be published yet; of may be NULL (nothing to carry).
 */
void		 fleet_carry_routable(struct fleet *nf, const struct fleet *of,
		    double now);
/*
 * Number of servers that could take a new upload right now: up, weight
 * > 0, in a region that is not drained, and fresh; when none of those is
 * fresh, the stale ones (selection then fails open on them).  Non-zero
 * exactly when select_server() can answer.
 */
size_t		 fleet_routable(const struct fleet *f, double now);
/*
 * Why s is or is not a candidate for a new upload now, for /fleet:
 * "candidate", or the first reason it is not ("down", "drain",
 * "weight 0", "region drained", "no load report", "stale report",
 * "load 1").  The address family is the client's, so not here.
 */
const char	*fleet_server_why(const struct fleet *f,
		    const struct fleet_server *s, double now);
const char	*fleet_source_name(enum fleet_source s);
/* "ok", "maintenance", "nothing routable" or "stale" (see fleet.c). */
const char	*fleet_health(const struct fleet *f, double now);

#endif
