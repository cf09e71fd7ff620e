/*
 * The end of a run: shares per region and per server beside the
 * router's prediction, latency percentiles for both phases, errors by
 * kind; the same as JSON for scripts (latencies in milliseconds).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "load.h"

static const double	qs[] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const qnames[] = { "p50", "p90", "p99", "p99.9" };

struct region_sum {
	char		name[64];
	uint64_t	count;
	double		predicted;
};

const char *
load_err_name(enum load_err e)
{
	static const char *const n[] = { "connect", "reset", "timeout",
	    "status", "body", "other" };

	return (unsigned)e < ERR__COUNT ? n[e] : "?";
}

void
load_log(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "geo307-load: %s\n", buf);
}

static int
by_region(const void *a, const void *b)
{
	const struct load_server *x = a, *y = b;
	int	c = strcmp(x->region, y->region);

	return c != 0 ? c : strcmp(x->id, y->id);
}

static uint64_t
routed_total(const struct load_stats *st)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < st->nservers; i++)
		n += st->servers[i].count;
	return n;
}

/* Servers sorted by region; regions summed into r (returns how many). */
static size_t
regions(struct load_stats *st, struct region_sum *r)
{
	size_t	i, n = 0;

	qsort(st->servers, st->nservers, sizeof(st->servers[0]), by_region);
	for (i = 0; i < st->nservers; i++) {
		if (n == 0 || strcmp(r[n - 1].name, st->servers[i].region) != 0) {
			memset(&r[n], 0, sizeof(r[n]));
			snprintf(r[n++].name, sizeof(r[0].name), "%s",
			    st->servers[i].region);
		}
		r[n - 1].count += st->servers[i].count;
		r[n - 1].predicted += st->servers[i].predicted;
	}
	return n;
}

static void
print_pred(const struct load_stats *st, double p)
{
	if (st->predicted)
		printf("  %9.4f\n", p);
	else
		printf("  %9s\n", "-");
}

static void
print_shares(struct load_stats *st, struct region_sum *r, size_t nr)
{
	uint64_t	tot = routed_total(st);
	double		d = tot > 0 ? (double)tot : 1;
	size_t		i;

	printf("\n%-16s %10s %9s  %9s\n", "region", "requests", "observed",
	    "predicted");
	for (i = 0; i < nr; i++) {
		printf("%-16s %10llu %9.4f", r[i].name[0] ? r[i].name : "?",
		    (unsigned long long)r[i].count, r[i].count / d);
		print_pred(st, r[i].predicted);
	}
	printf("\n%-16s %-12s %10s %9s  %9s\n", "server", "region", "requests",
	    "observed", "predicted");
	for (i = 0; i < st->nservers; i++) {
		printf("%-16s %-12s %10llu %9.4f", st->servers[i].id,
		    st->servers[i].region[0] ? st->servers[i].region : "?",
		    (unsigned long long)st->servers[i].count,
		    st->servers[i].count / d);
		print_pred(st, st->servers[i].predicted);
	}
}

static void
print_latency(const char *name, const struct load_phase *ph)
{
	int	i;

	printf("%-10s %8llu", name, (unsigned long long)ph->lat.count);
	for (i = 0; i < 4; i++)
		printf(" %9.3f", histo_quantile(&ph->lat, qs[i]) / 1e6);
	printf(" %9.3f\n", histo_quantile(&ph->lat, 1) / 1e6);
}

static void
print_errors(const char *name, const struct load_phase *ph)
{
	int	i;

	printf("%-10s", name);
	for (i = 0; i < ERR__COUNT; i++)
		printf(" %8llu", (unsigned long long)ph->err[i]);
	printf("\n");
}

static void
print_statuses(const char *name, const struct load_phase *ph)
{
	int	i;

	printf("%s answers:", name);
	for (i = 100; i < LOAD_STATUS_MAX; i++)
		if (ph->status[i] != 0)
			printf(" %d:%llu", i, (unsigned long long)ph->status[i]);
	printf("\n");
}

void
load_report_text(const struct load_opts *o, struct load_stats *st)
{
	struct region_sum	*r = calloc(LOAD_SERVERS_MAX, sizeof(*r));
	size_t			 nr = r != NULL ? regions(st, r) : 0;
	int			 i;

	printf("%s %s: %llu of %llu requests started in %.2f s: %.1f/s "
	    "(asked %.1f/s)\n", o->method, o->url,
	    (unsigned long long)st->issued, (unsigned long long)st->asked,
	    st->send_seconds, st->send_seconds > 0 ? st->issued /
	    st->send_seconds : 0, o->rate);
	print_statuses("redirect", &st->redirect);
	if (o->follow)
		print_statuses("upload", &st->upload);
	if (r != NULL)
		print_shares(st, r, nr);
	printf("\n%-10s %8s", "latency ms", "count");
	for (i = 0; i < 4; i++)
		printf(" %9s", qnames[i]);
	printf(" %9s\n", "max");
	print_latency("redirect", &st->redirect);
	if (o->follow)
		print_latency("upload", &st->upload);
	printf("\n%-10s", "errors");
	for (i = 0; i < ERR__COUNT; i++)
		printf(" %8s", load_err_name(i));
	printf("\n");
	print_errors("redirect", &st->redirect);
	if (o->follow) {
		print_errors("upload", &st->upload);
		printf("upload body: %llu bytes, sha256 %s\n",
		    (unsigned long long)o->body, st->upload_sha256);
	}
	fflush(stdout);
	free(r);
}

static json_t *
phase_json(const struct load_phase *ph)
{
	json_t	*j = json_object(), *lat = json_object(), *st = json_object(),
		*err = json_object();
	char	 k[8];
	int	 i;

	for (i = 0; i < 4; i++)
		json_object_set_new(lat, qnames[i],
		    json_real(histo_quantile(&ph->lat, qs[i]) / 1e6));
	json_object_set_new(lat, "max", json_real(histo_quantile(&ph->lat,
	    1) / 1e6));
	json_object_set_new(lat, "count", json_integer((json_int_t)ph->lat.count));
	for (i = 100; i < LOAD_STATUS_MAX; i++)
		if (ph->status[i] != 0) {
			snprintf(k, sizeof(k), "%d", i);
			json_object_set_new(st, k,
			    json_integer((json_int_t)ph->status[i]));
		}
	for (i = 0; i < ERR__COUNT; i++)
		json_object_set_new(err, load_err_name(i),
		    json_integer((json_int_t)ph->err[i]));
	json_object_set_new(j, "requests", json_integer((json_int_t)ph->requests));
	json_object_set_new(j, "answered", json_integer((json_int_t)ph->answered));
	json_object_set_new(j, "status", st);
	json_object_set_new(j, "errors", err);
	json_object_set_new(j, "latency_ms", lat);
	return j;
}

static json_t *
shares_json(struct load_stats *st, int by_server)
{
	struct region_sum	*r = calloc(LOAD_SERVERS_MAX, sizeof(*r));
	json_t			*j = json_object(), *e;
	double			 d = routed_total(st) ? routed_total(st) : 1;
	size_t			 i, nr = r != NULL ? regions(st, r) : 0;

	for (i = 0; i < (by_server ? st->nservers : nr); i++) {
		const struct load_server *s = &st->servers[i];

		e = json_object();
		json_object_set_new(e, "requests", json_integer((json_int_t)
		    (by_server ? s->count : r[i].count)));
		json_object_set_new(e, "observed", json_real((by_server ?
		    s->count : r[i].count) / d));
		json_object_set_new(e, "predicted", st->predicted ?
		    json_real(by_server ? s->predicted : r[i].predicted) :
		    json_null());
		if (by_server)
			json_object_set_new(e, "region", json_string(s->region));
		json_object_set_new(j, by_server ? s->id : r[i].name, e);
	}
	free(r);
	return j;
}

int
load_report_json(const struct load_opts *o, struct load_stats *st,
    const char *path, char *err, size_t errlen)
{
	json_t	*j = json_object();
	int	 rc;

	json_object_set_new(j, "url", json_string(o->url));
	json_object_set_new(j, "method", json_string(o->method));
	json_object_set_new(j, "asked_rate", json_real(o->rate));
	json_object_set_new(j, "asked", json_integer((json_int_t)st->asked));
	json_object_set_new(j, "started", json_integer((json_int_t)st->issued));
	json_object_set_new(j, "achieved_rate", json_real(st->send_seconds >
	    0 ? st->issued / st->send_seconds : 0));
	json_object_set_new(j, "elapsed", json_real(st->elapsed));
	json_object_set_new(j, "redirect", phase_json(&st->redirect));
	if (o->follow) {
		json_object_set_new(j, "upload", phase_json(&st->upload));
		json_object_set_new(j, "upload_bytes",
		    json_integer((json_int_t)o->body));
		json_object_set_new(j, "upload_sha256",
		    json_string(st->upload_sha256));
	}
	json_object_set_new(j, "regions", shares_json(st, 0));
	json_object_set_new(j, "servers", shares_json(st, 1));
	rc = json_dump_file(j, path, JSON_INDENT(1) | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(6));
	json_decref(j);
	if (rc != 0)
		snprintf(err, errlen, "cannot write --json %s", path);
	return rc == 0 ? 0 : -1;
}
