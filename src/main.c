/*
 * geo307: the daemon.  main() loads the runtime, starts the listeners and
 * then spends its life in one signal loop: every other thread has the
 * signals blocked, so reloads and shutdown happen here, in order, with no
 * async-signal-safety puzzles.  What a reload does is main_reload.c;
 * --check is main_check.c.
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
#include "fleet_log.h"
#include "http.h"
#include "linger.h"
#include "log.h"
#include "main_internal.h"
#include "metrics.h"
#include "redis_source.h"
#include "runtime.h"
#include "service.h"
#include "tlsid.h"

#define TICK_NS		(100 * 1000 * 1000)	/* header sweep period */

static void
usage(FILE *f)
{
	fprintf(f, "usage: geo307 -c FILE [--check] [--replace]\n"
	    "       geo307 --print-keys | --version\n");
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
	fleet_log_reset();
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
	main_linger_limits(rt->cfg, &lim);
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
	struct main_failopen	fw = { 0 };
	int			sig;

	geo_every = main_geoip_interval();
	next_geo_check = clock_mono() + geo_every;
	for (;;) {
		sig = wait_signal(&d->set);
		http_sweep(d->http);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			service_notify_reloading();
			if (main_reload(d->path, d->lg, d->src, "SIGHUP", 0) != 0)
				main_geoip_refused(&geo_refused);
			service_notify("READY=1");
		} else if (sig == SIGUSR1)
			log_access_reopen();
		t = clock_mono();
		main_failopen_watch(&fw, t);
		take_pidfile(d);
		if (t >= next_geo_check) {
			next_geo_check = t + geo_every;
			main_geoip_watch(d->path, d->lg, d->src, &geo_refused);
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
	fleet_log_reset();
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
		main_log_tls(rt->tls);
	log_serving(rt->cfg);
	fleet_log_status(status, sizeof(status));
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
	return do_check ? main_check(path, replace) : serve(path, replace);
}
