/*
 * metrics: counters for /metrics in Prometheus text format.  Request
 * threads write only to their own block (relaxed atomics, no sharing of
 * cache lines); a scrape sums the blocks.
 */
#ifndef GEO307_METRICS_H
#define GEO307_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "fleet.h"
#include "select.h"

enum linger_outcome {
	LINGER_EOF,		/* the client finished and closed */
	LINGER_RESET,		/* the client reset */
	LINGER_BYTES,		/* max_bytes discarded */
	LINGER_IDLE,		/* no byte for idle seconds */
	LINGER_TIME,		/* max_time reached */
	LINGER_REFUSED,		/* over max_connections or per_ip: no linger */
	LINGER__COUNT
};

/* Connections answered 503 at accept, before their request. */
enum conn_refusal {
	REFUSE_PER_IP,		/* over per_ip_connections */
	REFUSE_FULL,		/* max_connections, nothing to evict */
	REFUSE__COUNT
};

/* Connections closed to make room when the table was nearly full. */
enum conn_eviction {
	EVICT_IDLE,		/* idle keep-alive */
	EVICT_SLOW_HEADER,	/* header still coming after a while */
	EVICT__COUNT
};

/* geo307_proxy_protocol_total{result}: the acceptor's PROXY headers. */
enum proxy_metric {
	PPM_OK,			/* a client address read */
	PPM_LOCAL,		/* a header without one: the real peer stands */
	PPM_MALFORMED,		/* not a header, or the peer left mid-way */
	PPM_TIMEOUT,		/* not complete within header_timeout */
	PPM_UNTRUSTED,		/* peer outside [trust] proxies: plain */
	PPM__COUNT
};

enum clientip_metric {
	CIP_PEER, CIP_HEADER, CIP_MALFORMED, CIP__COUNT
};

#define METRICS_MAX_REGIONS	64	/* more share the label "other" */
#define METRICS_MAX_SERVERS	16384

/*
 * Label ids.  Interning takes a lock and is done when a config or fleet
 * is loaded, never per request; ids are stable for the process lifetime.
 */
int	metrics_region_label(const char *name);
int	metrics_server_label(const char *id);

/* Request path: per-thread counters, no sharing. */
void	metrics_request(int status, enum reason r, int region_label,
	    double seconds);
void	metrics_redirect(int server_label);
void	metrics_synthetic(void);
void	metrics_clientip(enum clientip_metric src);
void	metrics_failopen(void);
/* geo307_affinity_total: 0 none, 1 hit, 2 miss (enum route_affinity). */
void	metrics_affinity(int result);
void	metrics_spill(int from_label, int to_label);

/* Slow path: global atomics. */
void	metrics_reload(const char *what, int ok);	/* config geoip tls */
/* A fleet record skipped; reason as in geo307_fleet_rejected_records_total. */
void	metrics_rejected(const char *reason);
void	metrics_set_redis_up(int up);
int	metrics_redis_up(void);
/* A change message absorbed by a full read already due (coalescing). */
void	metrics_redis_change_coalesced(void);

struct metrics_gauges {
	double		fleet_age_seconds;
	unsigned long	fleet_servers;
	unsigned long long fleet_version;
	unsigned long long geoip_build_epoch;
	int		redis_up;		/* -1: no Redis configured */
	int		per_server;		/* [metrics] per_server */
	const struct fleet *fleet;		/* in use, or NULL */
	double		now;			/* clock_mono() */
};

/* The families read at scrape time (metrics_proc.c). */
void	metrics_render_state(FILE *f, const struct metrics_gauges *g);
/* A config and database loaded: at start and at each good reload. */
void	metrics_reload_succeeded(void);

/* The whole /metrics page, malloc'd; NULL on allocation failure. */
char	*metrics_render(const struct metrics_gauges *g, size_t *len);

/* geo307_failopen_total now (main's watch logs when it moves). */
unsigned long long metrics_failopen_count(void);
/* For tests: the current value of a linger outcome counter. */
unsigned long long metrics_linger_count(enum linger_outcome o);

/* Lingering: called from the linger thread and the connection path. */
void	metrics_linger_outcome(enum linger_outcome o);
void	metrics_linger_active(long delta);
void	metrics_discarded_bytes(uint64_t n);

/* The acceptor and the connection table. */
void	metrics_conn_refused(enum conn_refusal why);
void	metrics_conn_evicted(enum conn_eviction kind);
void	metrics_proxy_protocol(enum proxy_metric result);

#endif
