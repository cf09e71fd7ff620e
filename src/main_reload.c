/*
 * main_reload: what the signal loop runs besides signals: a reload (on
 * SIGHUP, or of the GeoIP database alone when its file changes), and
 * the fail-open log.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "linger.h"
#include "log.h"
#include "main_internal.h"
#include "metrics.h"
#include "parse.h"
#include "redis_source.h"
#include "runtime.h"

#define GEOIP_CHECK	60.0			/* seconds between mtime checks */
#define FAILOPEN_QUIET	10.0	/* no fail-open for this long: ended */
#define FAILOPEN_REMIND	60.0

/* [linger] as the linger module takes it. */
void
main_linger_limits(const struct config *cfg, struct linger_limits *lim)
{
	lim->max_bytes = cfg->linger.max_bytes;
	lim->idle = cfg->linger.idle;
	lim->max_time = cfg->linger.max_time;
	lim->max_connections = cfg->linger.max_connections;
	lim->per_ip = cfg->linger.per_ip;
}

/*
 * What a SIGHUP changed, key by key; a key read only at start kept its
 * running value (config_load_over), so it is said to need a restart.
 */
static void
log_changes(const struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->changed.n; i++)
		log_info("reload: %s", cfg->changed.v[i]);
	for (i = 0; i < cfg->restart.n; i++)
		log_warn("reload: %s changed: needs restart (the running "
		    "value stays in force)", cfg->restart.v[i]);
}

/* 0 when the new runtime serves, -1 when the old one was kept. */
int
main_reload(const char *path, struct linger *lg, struct redis_source *src,
    const char *why, int geo_only)
{
	const struct runtime	*old;
	struct runtime		*rt;
	struct linger_limits	 lim;
	const char		*what;
	char			 err[1024];

	/* Only this thread publishes, so reading old here is safe. */
	old = runtime_current();
	rt = geo_only ? runtime_load_geoip(old, err, sizeof(err), &what) :
	    runtime_load_over(path, old->cfg, err, sizeof(err), &what);
	if (rt == NULL) {
		log_err("reload (%s) failed, keeping the running config: %s",
		    why, err);
		metrics_reload(what, 0);
		return -1;
	}
	log_changes(rt->cfg);
	runtime_carry_slow_start(rt, old);
	main_linger_limits(rt->cfg, &lim);
	linger_set_limits(lg, &lim);
	/* The new runtime gets its fleet before anyone can see it. */
	if (src != NULL && rt->cfg->redis.url != NULL)
		atomic_store(&rt->fleet, redis_source_fleet(src, rt));
	runtime_publish(rt);
	metrics_reload("geoip", 1);
	metrics_reload_succeeded();
	if (geo_only) {
		log_info("reloaded the GeoIP database only (%s); the config "
		    "file is read on SIGHUP", why);
		return 0;
	}
	metrics_reload("config", 1);
	if (rt->tls != NULL) {
		metrics_reload("tls", 1);
		main_log_tls(rt->tls);
	}
	log_info("reloaded (%s): %s", why, path);
	return 0;
}

/*
 * Seconds between GeoIP mtime checks: 60, or GEO307_GEOIP_CHECK_INTERVAL
 * (tests use it to reach this path in seconds rather than minutes).
 */
double
main_geoip_interval(void)
{
	const char	*e = getenv("GEO307_GEOIP_CHECK_INTERVAL");
	double		 v;

	if (e == NULL || *e == '\0')
		return GEOIP_CHECK;
	if (parse_duration(e, &v) == -1 || !(v >= 0.1 && v <= 86400)) {
		log_warn("GEO307_GEOIP_CHECK_INTERVAL=%s: not 0.1..86400 "
		    "seconds, using %.0f", e, GEOIP_CHECK);
		return GEOIP_CHECK;
	}
	return v;
}

/*
 * A reload failed: remember the GeoIP file's mtime, so that the mtime
 * check does not try (and count and log) the same file again every
 * interval.  Its next change is tried.
 */
void
main_geoip_refused(struct timespec *refused)
{
	struct timespec	ts;

	if (runtime_geoip_changed(runtime_current(), &ts))
		*refused = ts;
}

void
main_geoip_watch(const char *path, struct linger *lg, struct redis_source *src,
    struct timespec *refused)
{
	struct timespec	ts;

	if (!runtime_geoip_changed(runtime_current(), &ts) ||
	    (ts.tv_sec == refused->tv_sec && ts.tv_nsec == refused->tv_nsec))
		return;
	if (main_reload(path, lg, src, "GeoIP file changed", 1) != 0)
		*refused = ts;
}

/* Fail-open, from the counter's movement (see main_internal.h). */
void
main_failopen_watch(struct main_failopen *w, double now)
{
	unsigned long long	n = metrics_failopen_count();

	if (n != w->last) {
		if (!w->active) {
			log_warn("fail-open: every up server's load report "
			    "is stale; routing on weight alone");
			w->active = 1;
			w->at_start = w->last;
			w->last_said = now;
		} else if (now - w->last_said >= FAILOPEN_REMIND) {
			log_warn("fail-open goes on: %llu requests routed on "
			    "weight alone so far", n - w->at_start);
			w->last_said = now;
		}
		w->last = n;
		w->last_moved = now;
	} else if (w->active && now - w->last_moved >= FAILOPEN_QUIET) {
		log_info("fail-open ended: %llu requests were routed on "
		    "weight alone", n - w->at_start);
		w->active = 0;
	}
}
