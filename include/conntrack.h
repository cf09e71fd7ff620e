/*
 * conntrack: connection counts per client key (netaddr_limit_key: the /32
 * or /64), for per_ip_connections and linger per_ip.  Touched when a
 * connection opens and closes, never per request.
 */
#ifndef GEO307_CONNTRACK_H
#define GEO307_CONNTRACK_H

#include <stdint.h>

struct conntrack;

struct conntrack *conntrack_new(void);
void	conntrack_free(struct conntrack *ct);
/*
 * One more connection under key; returns the count including it.
 * UINT_MAX means it could not be counted (out of memory): treat it as
 * over any limit, and do not call conntrack_release for it.
 */
unsigned conntrack_acquire(struct conntrack *ct, uint64_t key);
/* One connection under key fewer; the entry goes when it reaches 0. */
void	conntrack_release(struct conntrack *ct, uint64_t key);
unsigned conntrack_count(struct conntrack *ct, uint64_t key);
/* Total over all keys. */
unsigned conntrack_total(struct conntrack *ct);

#endif
