/*
 * fleet_log: every change of the fleet in use, logged once at info from
 * whichever thread puts it in use (source, version, servers routable, and what changed:
 * servers added, removed, state or weight changed, regions drained).
 * It is called where a fleet is put in use (runtime_publish and
 * runtime_swap_fleet), not polled, so no short-lived snapshot is missed;
 * it keeps a summary of the last one and compares, so the diff is
 * computed in one place whichever source (config, cache, Redis) the
 * snapshot came from.
 */
#ifndef GEO307_FLEET_LOG_H
#define GEO307_FLEET_LOG_H

#include <stddef.h>

struct fleet;

/*
 * A fleet was put in use (f must stay valid during the call): log it and
 * send STATUS= when it differs from the last one noted.  Any thread.
 */
void	fleet_log_note(const struct fleet *f);
/* The last STATUS= line ("fleet from redis, version 7, ..."). */
void	fleet_log_status(char *buf, size_t len);
/* Forget the last summary (at exit). */
void	fleet_log_reset(void);

#endif
