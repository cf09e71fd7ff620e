/*
 * geo307: the daemon.  main() loads the runtime, starts the listeners and
 * then spends its life in one signal loop: every other thread has the
 * signals blocked, so reloads and shutdown happen here, in order, with no
 * async-signal-safety puzzles.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "epoch.h"
#include "fleetlog.h"
#include "http.h"
#include "linger.h"
#include "log.h"
#include "metrics.h"
#include "parse.h"
#include "redis_source.h"
#include "runtime.h"
#include "service.h"
#include "tlsid.h"

#define TICK_NS		(100 * 1000 * 1000)	/* header sweep period */
#define GEOIP_CHECK	60.0			/* seconds between mtime checks */

static void
usage(FILE *f)
{
	fprintf(f, "usage: geo307 -c FILE [--check] [--replace]\n"
	    "       geo307 --print-keys | --version\n");
}

static void
linger_limits_of(const struct config *cfg, struct linger_limits *lim)
{
	lim->max_bytes = cfg->linger.max_bytes;
	lim->idle = cfg->linger.idle;
	lim->max_time = cfg->linger.max_time;
	lim->max_connections = cfg->linger.max_connections;
	lim->per_ip = cfg->linger.per_ip;
}

/* Enough descriptors for every connection, lingering ones included. */
static int
raise_nofile(const struct config *cfg, char *err, size_t errlen)
{
	struct rlimit	rl;
	rlim_t		want, hard;

	want = (rlim_t)cfg->listen.max_connections +
	    cfg->linger.max_connections + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		/* Only root may raise the hard limit; try, then explain. */
		hard = rl.rlim_max;
		rl.rlim_max = rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return 0;
		snprintf(err, errlen, "RLIMIT_NOFILE: need %llu descriptors "
		    "for max_connections + linger.max_connections + 64, the "
		    "hard limit is %llu (%s): raise it or lower the limits",
		    (unsigned long long)want, (unsigned long long)hard,
		    strerror(errno));
		return -1;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		snprintf(err, errlen, "RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Say which certificate serves, and shout when it has expired. */
static void
log_tls(const struct tls_identity *id)
{
	time_t		exp = tlsid_expires(id);
	struct tm	tm;
	char		when[32] = "unknown";

	if (exp != (time_t)-1 && gmtime_r(&exp, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (exp != (time_t)-1 && exp < time(NULL))
		log_warn("TLS certificate %s EXPIRED at %s",
		    tlsid_subject(id), when);
	else
		log_info("TLS certificate %s, valid until %s",
		    tlsid_subject(id), when);
}

/* --check: can a file this process will write be written? */
static void
check_writable(const char *what, const char *path, int *bad)
{
	char	*dir, *slash;

	if (path == NULL || strcmp(path, "stdout") == 0)
		return;
	if (access(path, F_OK) == 0) {
		if (access(path, W_OK) != 0) {
			printf("error: %s %s: not writable: %s\n", what, path,
			    strerror(errno));
			*bad = 1;
		}
		return;
	}
	if ((dir = strdup(path)) == NULL)
		return;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK | X_OK) != 0) {
		printf("error: %s %s: directory %s: %s\n", what, path, dir,
		    strerror(errno));
		*bad = 1;
	}
	free(dir);
}

/*
 * What start would hit beyond the config and the database: files it
 * writes, and addresses someone else holds (only a warning: the holder
 * may be the instance a --replace takes over, or gone by then).
 */
static int
check_service(const struct config *cfg, int replace)
{
	char	err[256];
	size_t	i;
	int	bad = 0;

	check_writable("[log] access", cfg->log.access, &bad);
	check_writable("[redis] cache_file", cfg->redis.url != NULL ?
	    cfg->redis.cache_file : NULL, &bad);
	check_writable("[service] pid_file", cfg->service.pid_file, &bad);
	if (replace)
		return bad;
	for (i = 0; i < cfg->listen.naddrs; i++)
		if (service_addr_free((struct sockaddr *)
		    &cfg->listen.addrs[i].sa, cfg->listen.addrs[i].salen,
		    cfg->listen.addrs[i].text, err, sizeof(err)) != 0)
			printf("warning: %s (a start would refuse; "
			    "--replace hands over)\n", err);
	if (cfg->admin.enabled && service_addr_free((struct sockaddr *)
	    &cfg->admin.addr.sa, cfg->admin.addr.salen, cfg->admin.addr.text,
	    err, sizeof(err)) != 0)
		printf("warning: %s (a start would refuse; --replace hands "
		    "over)\n", err);
	return bad;
}

static int
check(const char *path, int replace)
{
	struct runtime	*rt;
	const char	*what;
	char		 err[1024];
	int		 rc = 0;

	if ((rt = runtime_load(path, err, sizeof(err), &what)) == NULL) {
		log_err("%s", err);
		return 1;
	}
	printf("%s: ok: %zu regions, %zu static servers; GeoIP %s (%s, "
	    "built %llu)\n", path, rt->cfg->nregions, rt->cfg->nservers,
	    geo_path(rt->geo), geo_type(rt->geo),
	    (unsigned long long)geo_build_epoch(rt->geo));
	if (rt->tls != NULL)
		log_tls(rt->tls);
	if (check_service(rt->cfg, replace) != 0)
		rc = -1;
	if (rt->cfg->redis.url != NULL) {
		/* Records the config would reject are logged on stderr. */
		if (redis_source_check(rt, err, sizeof(err)) < 0)
			rc = -1;
		printf("%s\n", err);
	}
	runtime_free(rt);
	return rc < 0 ? 1 : 0;
}

/*
 * SPEC 2.6: routing on weight alone because every report is stale must be
 * logged.  The request path only counts (no I/O there); this watch, run
 * from the signal loop, turns the counter's movement into log lines: one
 * when fail-open starts, one a minute while it lasts, one when it ends.
 */
struct failopen_watch {
	unsigned long long	last, at_start;
	double			last_moved, last_said;
	int			active;
};

#define FAILOPEN_QUIET	10.0	/* no fail-open for this long: ended */
#define FAILOPEN_REMIND	60.0

static void
failopen_watch(struct failopen_watch *w, double now)
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
static int
reload(const char *path, struct linger *lg, struct redis_source *src,
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
	linger_limits_of(rt->cfg, &lim);
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
		log_tls(rt->tls);
	}
	log_info("reloaded (%s): %s", why, path);
	return 0;
}

/*
 * Seconds between GeoIP mtime checks: 60, or GEO307_GEOIP_CHECK_INTERVAL
 * (tests use it to reach this path in seconds rather than minutes).
 */
static double
geoip_check_interval(void)
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
static void
geoip_refused(struct timespec *refused)
{
	struct timespec	ts;

	if (runtime_geoip_changed(runtime_current(), &ts))
		*refused = ts;
}

static void
geoip_watch(const char *path, struct linger *lg, struct redis_source *src,
    struct timespec *refused)
{
	struct timespec	ts;

	if (!runtime_geoip_changed(runtime_current(), &ts) ||
	    (ts.tv_sec == refused->tv_sec && ts.tv_nsec == refused->tv_nsec))
		return;
	if (reload(path, lg, src, "GeoIP file changed", 1) != 0)
		*refused = ts;
}

static double
remaining(double deadline)
{
	double	r = deadline - clock_mono();

	return r > 0 ? r : 0;
}

static int
wait_signal(const sigset_t *set)
{
	struct timespec	ts = { 0, TICK_NS };
	int		sig;

	sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

/* The start-up line: every public listen address. */
static void
log_serving(const struct config *cfg)
{
	char	addrs[1024];
	size_t	i, n = 0;
	int	w;

	addrs[0] = '\0';
	for (i = 0; i < cfg->listen.naddrs && n < sizeof(addrs); i++) {
		w = snprintf(addrs + n, sizeof(addrs) - n, "%s%s",
		    i > 0 ? ", " : "", cfg->listen.addrs[i].text);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	log_info("serving on %s (%zu regions, %zu servers)", addrs,
	    cfg->nregions, cfg->nservers);
}

/* Everything serve() brings up, so that start, loop and stop are apart. */
struct daemon {
	const char		*path;
	int			 replace;
	struct pidfile		 pf;
	struct linger		*lg;
	struct http_server	*http;
	struct admin		*ad;
	struct redis_source	*src;
	sigset_t		 set;
};

/*
 * A second instance must not start beside the first by accident: with
 * SO_REUSEPORT it would silently share the ports.  So, unless this is a
 * hand-over, probe every address with a plain bind first.
 */
static int
addresses_free(const struct config *cfg, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < cfg->listen.naddrs; i++)
		if (service_addr_free((struct sockaddr *)
		    &cfg->listen.addrs[i].sa, cfg->listen.addrs[i].salen,
		    cfg->listen.addrs[i].text, err, errlen) != 0)
			return -1;
	if (cfg->admin.enabled && service_addr_free((struct sockaddr *)
	    &cfg->admin.addr.sa, cfg->admin.addr.salen, cfg->admin.addr.text,
	    err, errlen) != 0)
		return -1;
	return 0;
}

static void
start_undo(struct daemon *d)
{
	if (d->ad != NULL)
		admin_stop(d->ad);
	if (d->http != NULL)
		http_stop(d->http);
	if (d->lg != NULL)
		linger_stop(d->lg, 0);
	if (d->http != NULL)
		http_free(d->http);
	redis_source_stop(d->src);
	runtime_publish(NULL);
	log_access_stop();
	service_pidfile_close(&d->pf);
	fleetlog_reset();
}

/* Load, lock, bind, serve: 0, or -1 with everything undone. */
static int
start(struct daemon *d, struct runtime *rt, char *err, size_t errlen)
{
	struct linger_limits	lim;

	if (service_pidfile_open(&d->pf, rt->cfg->service.pid_file, d->replace, err,
	    errlen) != 0) {
		runtime_free(rt);
		return -1;
	}
	if ((!d->replace && addresses_free(rt->cfg, err, errlen) != 0) ||
	    raise_nofile(rt->cfg, err, errlen) != 0 ||
	    log_access_start(rt->cfg->log.access, err, errlen) != 0) {
		runtime_free(rt);
		start_undo(d);
		return -1;
	}
	linger_limits_of(rt->cfg, &lim);
	if ((d->lg = linger_start(&lim, err, errlen)) == NULL) {
		runtime_free(rt);
		start_undo(d);
		return -1;
	}
	if (rt->cfg->redis.url != NULL) {
		if ((d->src = redis_source_start(rt->cfg, err, errlen)) ==
		    NULL) {
			runtime_free(rt);
			start_undo(d);
			return -1;
		}
		/* A young cache routes until Redis answers. */
		atomic_store(&rt->fleet, redis_source_fleet(d->src, rt));
	}
	runtime_publish(rt);
	err[0] = '\0';
	if ((d->http = http_start(rt, d->lg, err, errlen)) == NULL ||
	    ((d->ad = admin_start(rt->cfg, err, errlen)) == NULL &&
	    err[0] != '\0')) {
		start_undo(d);
		return -1;
	}
	return 0;
}

/* Hand-over: the old instance is told to go once this one serves. */
static void
replace_old(struct daemon *d)
{
	char	err[256] = "the admin listener";

	if (d->pf.fd < 0 || d->pf.locked)
		return;
	if (http_steer_here(d->http, err, sizeof(err)) != 0 ||
	    admin_steer_here(d->ad) != 0)
		log_warn("hand-over: cannot steer new connections here (%s): "
		    "the old instance may reset a few as it stops", err);
	if (kill(d->pf.holder, SIGTERM) == 0)
		log_info("hand-over: serving; sent SIGTERM to PID %ld",
		    (long)d->pf.holder);
	else
		log_warn("hand-over: PID %ld: %s", (long)d->pf.holder,
		    strerror(errno));
}

static void
take_pidfile(struct daemon *d)
{
	if (d->pf.fd < 0 || d->pf.locked)
		return;
	if (service_pidfile_try_take(&d->pf))
		log_info("hand-over: PID %ld let the pid file %s go; it is "
		    "ours now", (long)d->pf.holder, d->pf.path);
}

static void
run(struct daemon *d)
{
	double			next_geo_check, geo_every, t;
	struct timespec		geo_refused = { 0, 0 };
	struct failopen_watch	fw = { 0 };
	int			sig;

	geo_every = geoip_check_interval();
	next_geo_check = clock_mono() + geo_every;
	for (;;) {
		sig = wait_signal(&d->set);
		http_sweep(d->http);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			service_notify_reloading();
			if (reload(d->path, d->lg, d->src, "SIGHUP", 0) != 0)
				geoip_refused(&geo_refused);
			service_notify("READY=1");
		} else if (sig == SIGUSR1)
			log_access_reopen();
		t = clock_mono();
		failopen_watch(&fw, t);
		take_pidfile(d);
		if (t >= next_geo_check) {
			next_geo_check = t + geo_every;
			geoip_watch(d->path, d->lg, d->src, &geo_refused);
		}
	}
}

/* SIGTERM: say "draining", keep serving, then stop accepting. */
static void
stop(struct daemon *d)
{
	const struct runtime	*rt = runtime_current();
	double			 t, grace_end;
	int			 sig;

	service_notify("STOPPING=1");
	log_info("shutting down: draining for %.1fs, grace %.1fs",
	    rt->cfg->listen.shutdown_delay, rt->cfg->listen.shutdown_grace);
	http_set_draining(d->http);
	admin_set_draining(d->ad);
	t = clock_mono() + rt->cfg->listen.shutdown_delay;
	while (remaining(t) > 0) {
		sig = wait_signal(&d->set);
		http_sweep(d->http);
		if (sig == SIGTERM || sig == SIGINT)
			break;		/* a second signal: no more delay */
	}
	grace_end = clock_mono() + rt->cfg->listen.shutdown_grace;
	http_quiesce(d->http);
	while (http_inflight(d->http) > 0 && remaining(grace_end) > 0) {
		(void)wait_signal(&d->set);
		http_sweep(d->http);
	}
	http_stop(d->http);
	linger_stop(d->lg, remaining(grace_end));
	http_free(d->http);
	admin_stop(d->ad);
	redis_source_stop(d->src);
	log_access_stop();
	runtime_publish(NULL);
	fleetlog_reset();
	log_info("stopped");
	/* Last: a successor takes the lock only when all is let go. */
	service_pidfile_close(&d->pf);
}

static int
serve(const char *path, int replace)
{
	struct daemon	 d;
	struct runtime	*rt;
	const char	*what;
	char		 err[1024], status[256];

	memset(&d, 0, sizeof(d));
	d.pf.fd = -1;
	d.path = path;
	d.replace = replace;
	sigemptyset(&d.set);
	sigaddset(&d.set, SIGTERM);
	sigaddset(&d.set, SIGINT);
	sigaddset(&d.set, SIGHUP);
	sigaddset(&d.set, SIGUSR1);
	/* Threads started from here on inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &d.set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((rt = runtime_load(path, err, sizeof(err), &what)) == NULL) {
		log_err("%s", err);
		return 1;
	}
	if (replace && rt->cfg->service.pid_file == NULL) {
		log_err("--replace needs [service] pid_file: it names the "
		    "instance to replace");
		runtime_free(rt);
		return 1;
	}
	if (start(&d, rt, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return 1;
	}
	rt = (struct runtime *)runtime_current();
	metrics_reload_succeeded();
	if (rt->tls != NULL)
		log_tls(rt->tls);
	log_serving(rt->cfg);
	fleetlog_status(status, sizeof(status));
	service_notify("READY=1\nMAINPID=%ld\nSTATUS=%s", (long)getpid(),
	    status);
	replace_old(&d);
	run(&d);
	stop(&d);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "print-keys", no_argument, NULL, 'K' },
		{ "replace", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = NULL;
	int		 ch, do_check = 0, replace = 0;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			do_check = 1;
			break;
		case 'R':
			replace = 1;
			break;
		case 'V':
			printf("geo307 %s\n", PACKAGE_VERSION);
			return 0;
		case 'K':
			/* The key list for the man page: see config.h. */
			config_print_keys(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	return do_check ? check(path, replace) : serve(path, replace);
}
