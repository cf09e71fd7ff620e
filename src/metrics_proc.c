/*
 * metrics_proc: the families of /metrics that are read at scrape time
 * rather than counted: the build, the process (named as the Prometheus
 * client libraries name them, so stock dashboards work), the fleet's
 * maintenance flag and per-server routability, the last good reload and
 * the access log lines dropped.
 */
#include <dirent.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "log.h"
#include "metrics.h"

static _Atomic long long	last_reload_ok;	/* Unix seconds, 0 = never */

void
metrics_reload_succeeded(void)
{
	atomic_store(&last_reload_ok, (long long)time(NULL));
}

static void
header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static long
open_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own descriptor */
}

static double
resident_bytes(void)
{
	FILE		*f;
	unsigned long	 size, rss;
	int		 n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return -1;
	n = fscanf(f, "%lu %lu", &size, &rss);
	fclose(f);
	return n == 2 ? (double)rss * (double)sysconf(_SC_PAGESIZE) : -1;
}

static void
render_process(FILE *f)
{
	struct rusage	ru;
	double		cpu = 0, rss = resident_bytes();
	long		fds = open_fds();

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	header(f, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.");
	fprintf(f, "process_cpu_seconds_total %.6f\n", cpu);
	header(f, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.");
	if (rss >= 0)
		fprintf(f, "process_resident_memory_bytes %.0f\n", rss);
	header(f, "process_open_fds", "gauge",
	    "Number of open file descriptors.");
	if (fds >= 0)
		fprintf(f, "process_open_fds %ld\n", fds);
}

/* As fleet_routable() counts: stale servers only when nothing is fresh. */
static void
render_routable(FILE *f, const struct fleet *fl, double now)
{
	const struct fleet_server	*s;
	size_t				 i;
	int				 any_fresh = 0, ok;

	header(f, "geo307_server_routable", "gauge",
	    "1 when the server could take a new upload now.");
	if (fl == NULL)
		return;
	for (i = 0; i < fl->nservers && !any_fresh; i++)
		any_fresh = fleet_server_fresh(fl, &fl->servers[i], now);
	for (i = 0; i < fl->nservers; i++) {
		s = &fl->servers[fl->by_id[i]];
		ok = s->state == SERVER_UP && s->weight > 0 &&
		    s->region < fl->nregions &&
		    !fl->regions[s->region].drained &&
		    (fleet_server_fresh(fl, s, now) || !any_fresh);
		fprintf(f, "geo307_server_routable{server=\"%s\"} %d\n", s->id,
		    ok);
	}
}

void
metrics_render_state(FILE *f, const struct metrics_gauges *g)
{
	long long	t = atomic_load(&last_reload_ok);

	header(f, "geo307_build_info", "gauge",
	    "Always 1; the version is the label.");
	fprintf(f, "geo307_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	render_process(f);
	header(f, "geo307_maintenance", "gauge",
	    "1 while the fleet is in maintenance (every request 503).");
	fprintf(f, "geo307_maintenance %d\n", g->fleet != NULL &&
	    g->fleet->maintenance);
	if (g->per_server)
		render_routable(f, g->fleet, g->now);
	header(f, "geo307_last_reload_success_timestamp_seconds", "gauge",
	    "When the config and database last loaded (start or reload).");
	fprintf(f, "geo307_last_reload_success_timestamp_seconds %lld\n", t);
	header(f, "geo307_log_dropped_total", "counter",
	    "Access log lines dropped because the writer fell behind.");
	fprintf(f, "geo307_log_dropped_total %lu\n", log_access_dropped());
}
