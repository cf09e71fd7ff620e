/*
 * main_internal: the daemon program's own files (main.c, main_check.c,
 * main_reload.c); not part of libgeo307.a.
 */
#ifndef GEO307_MAIN_INTERNAL_H
#define GEO307_MAIN_INTERNAL_H

#include <time.h>

#include "config.h"
#include "linger.h"
#include "redis_source.h"
#include "tlsid.h"

/* main_check.c: geo307 --check; 0 ok, 1 not. */
int	main_check(const char *path, int replace);
/* Which certificate serves, and a warning when it has expired. */
void	main_log_tls(const struct tls_identity *id);

/* main_reload.c */
void	main_linger_limits(const struct config *cfg, struct linger_limits *lim);
/*
 * Reload the config from path (or, with geo_only, the GeoIP database
 * alone) and publish it: 0 when the new runtime serves, -1 when the
 * running one was kept.  why goes into the log line.
 */
int	main_reload(const char *path, struct linger *lg,
	    struct redis_source *src, const char *why, int geo_only);
/* Seconds between GeoIP mtime checks (GEO307_GEOIP_CHECK_INTERVAL). */
double	main_geoip_interval(void);
/* After a failed reload: the database file's mtime, not to be retried. */
void	main_geoip_refused(struct timespec *refused);
/* Reload the database when its file changed (and was not refused). */
void	main_geoip_watch(const char *path, struct linger *lg,
	    struct redis_source *src, struct timespec *refused);

/*
 * Routing on weight alone because every report is stale is logged: the
 * request path only counts, and this watch, run from the signal loop,
 * turns the counter's movement into a line when fail-open starts, one
 * a minute while it lasts, and one when it ends.
 */
struct main_failopen {
	unsigned long long	last, at_start;
	double			last_moved, last_said;
	int			active;
};

void	main_failopen_watch(struct main_failopen *w, double now);

#endif
