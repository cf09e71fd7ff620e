/*
 * fleetlog: every change of the fleet in use, logged once at info from
 * the signal loop (source, version, servers routable, and what changed:
 * servers added, removed, state or weight changed, regions drained).
 * The fleet sources swap snapshots in silently; this keeps a summary of
 * the last one seen and compares, so the diff is computed in one place
 * whichever source (config, cache, Redis) the snapshot came from.
 */
#ifndef GEO307_FLEETLOG_H
#define GEO307_FLEETLOG_H

#include <stddef.h>

struct fleetlog;

struct fleetlog	*fleetlog_new(void);
void		 fleetlog_free(struct fleetlog *fl);
/*
 * Look at the fleet in use (call outside an epoch: it enters one).
 * Returns 1 when it changed since the last call and writes a one-line
 * summary ("redis version 7, 3 of 4 servers routable") to status.
 */
int		 fleetlog_check(struct fleetlog *fl, char *status,
		    size_t statuslen);

#endif
