/*
 * Prometheus counters.  Every request thread owns a block of counters it
 * alone writes (relaxed atomic adds on its own cache lines, so there is no
 * contention and no torn read); /metrics sums the blocks.  Blocks live as
 * long as the process: there are few threads and they are long-lived.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "select.h"

#define NREG		(METRICS_MAX_REGIONS + 1)	/* + "other"/none */
#define REGION_NONE	METRICS_MAX_REGIONS
#define SERVER_OTHER	METRICS_MAX_SERVERS

static const int statuses[] = {
	200, 204, 307, 308, 400, 403, 404, 405, 414, 417, 431, 500, 503
};
#define NSTATUS		(sizeof(statuses) / sizeof(statuses[0]) + 1)

static const double buckets[] = {
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.1, 1
};
#define NBUCKET		(sizeof(buckets) / sizeof(buckets[0]))

typedef _Atomic unsigned long long counter;

struct mblock {
	struct mblock	*next;
	counter		 requests[NSTATUS][REASON__COUNT][NREG];
	counter		 redirects[METRICS_MAX_SERVERS + 1];
	counter		 synthetic;
	counter		 clientip[CIP__COUNT];
	counter		 failopen;
	counter		 affinity[3];
	counter		 spill[NREG][NREG];
	counter		 hist[NBUCKET + 1];
	counter		 hist_sum_ns;
};

static _Atomic(struct mblock *)	 blocks;
static _Thread_local struct mblock *my_block;

static pthread_mutex_t	 label_lock = PTHREAD_MUTEX_INITIALIZER;
static char		*region_names[METRICS_MAX_REGIONS];
static atomic_int	 nregion_names;
static char		*server_names[METRICS_MAX_SERVERS];
static atomic_int	 nserver_names;

static counter		 linger_outcomes[LINGER__COUNT];
static _Atomic long	 linger_active;
static counter		 discarded;
static counter		 refused[REFUSE__COUNT];
static counter		 evicted[EVICT__COUNT];
static const char	*refuse_names[REFUSE__COUNT] = { "per_ip", "full" };
static const char	*evict_names[EVICT__COUNT] = { "idle", "slow_header" };
static counter		 proxied[PPM__COUNT];
static const char	*proxy_names[PPM__COUNT] = {
	"ok", "local", "malformed", "timeout", "untrusted"
};
/* reload_total{what,result}: what = config, geoip, tls */
static const char	*reload_what[] = { "config", "geoip", "tls" };
static counter		 reloads[3][2];

#define NREJECT		16
static const char	*reject_names[NREJECT];
static counter		 rejects[NREJECT];
static atomic_int	 redis_up;
static counter		 changes_coalesced;

static const char *linger_names[LINGER__COUNT] = {
	"eof", "reset", "bytes", "idle", "time", "refused"
};
static const char *cip_names[CIP__COUNT] = { "peer", "header", "malformed" };

static struct mblock *
block(void)
{
	struct mblock	*b, *head;

	if ((b = my_block) != NULL)
		return b;
	/* Big but mostly untouched: calloc gives zero pages lazily. */
	if ((b = calloc(1, sizeof(*b))) == NULL)
		abort();
	head = atomic_load(&blocks);
	do {
		b->next = head;
	} while (!atomic_compare_exchange_weak(&blocks, &head, b));
	return my_block = b;
}

static void
inc(counter *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/*
 * Names to ids: an open-addressing table per label kind, so that
 * interning 10,000 server ids on every fleet rebuild stays cheap.
 */
#define INTERN_SLOTS	(2 * METRICS_MAX_SERVERS)	/* power of two */

struct interner {
	char		**names;	/* by id */
	atomic_int	 *count;
	int		  max;
	int		  slot[INTERN_SLOTS];	/* id + 1, 0 = empty */
};

static uint32_t
name_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int
intern(struct interner *in, const char *name)
{
	uint32_t	 i;
	int		 id = in->max, n;

	pthread_mutex_lock(&label_lock);
	for (i = name_hash(name) & (INTERN_SLOTS - 1); in->slot[i] != 0;
	    i = (i + 1) & (INTERN_SLOTS - 1))
		if (strcmp(in->names[in->slot[i] - 1], name) == 0) {
			id = in->slot[i] - 1;
			goto out;
		}
	n = atomic_load(in->count);
	if (n < in->max && (in->names[n] = strdup(name)) != NULL) {
		in->slot[i] = n + 1;
		id = n;
		atomic_store(in->count, n + 1);
	}
out:
	pthread_mutex_unlock(&label_lock);
	return id;
}

static struct interner region_interner = {
	region_names, &nregion_names, METRICS_MAX_REGIONS, { 0 }
};
static struct interner server_interner = {
	server_names, &nserver_names, METRICS_MAX_SERVERS, { 0 }
};

int
metrics_region_label(const char *name)
{
	return intern(&region_interner, name);
}

int
metrics_server_label(const char *id)
{
	return intern(&server_interner, id);
}

static size_t
status_index(int status)
{
	size_t	i;

	for (i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

static int
clamp_label(int l, int max)
{
	return l < 0 || l > max ? max : l;
}

void
metrics_request(int status, enum reason r, int region, double seconds)
{
	struct mblock	*b = block();
	size_t		 i;

	if ((unsigned)r >= REASON__COUNT)
		r = REASON_NONE;
	inc(&b->requests[status_index(status)][r][clamp_label(region,
	    REGION_NONE)], 1);
	for (i = 0; i < NBUCKET && seconds > buckets[i]; i++)
		;
	inc(&b->hist[i], 1);
	inc(&b->hist_sum_ns, (unsigned long long)(seconds * 1e9));
}

void
metrics_redirect(int server)
{
	inc(&block()->redirects[clamp_label(server, SERVER_OTHER)], 1);
}

void
metrics_affinity(int result)
{
	if (result >= 0 && result < 3)
		inc(&block()->affinity[result], 1);
}

void
metrics_synthetic(void)
{
	inc(&block()->synthetic, 1);
}

void
metrics_clientip(enum clientip_metric src)
{
	if ((unsigned)src < CIP__COUNT)
		inc(&block()->clientip[src], 1);
}

void
metrics_failopen(void)
{
	inc(&block()->failopen, 1);
}

void
metrics_spill(int from, int to)
{
	inc(&block()->spill[clamp_label(from, REGION_NONE)]
	    [clamp_label(to, REGION_NONE)], 1);
}

void
metrics_reload(const char *what, int ok)
{
	size_t	i;

	for (i = 0; i < 3; i++)
		if (strcmp(what, reload_what[i]) == 0)
			inc(&reloads[i][ok ? 0 : 1], 1);
}

void
metrics_rejected(const char *reason)
{
	size_t	i;

	pthread_mutex_lock(&label_lock);
	for (i = 0; i < NREJECT; i++) {
		if (reject_names[i] == NULL)
			reject_names[i] = reason;	/* static strings */
		if (strcmp(reject_names[i], reason) == 0)
			break;
	}
	pthread_mutex_unlock(&label_lock);
	if (i < NREJECT)
		inc(&rejects[i], 1);
}

void
metrics_set_redis_up(int up)
{
	atomic_store(&redis_up, up);
}

int
metrics_redis_up(void)
{
	return atomic_load(&redis_up);
}

void
metrics_redis_change_coalesced(void)
{
	inc(&changes_coalesced, 1);
}

void
metrics_linger_outcome(enum linger_outcome o)
{
	if ((unsigned)o < LINGER__COUNT)
		inc(&linger_outcomes[o], 1);
}

void
metrics_linger_active(long delta)
{
	atomic_fetch_add(&linger_active, delta);
}

void
metrics_discarded_bytes(uint64_t n)
{
	inc(&discarded, n);
}

void
metrics_conn_refused(enum conn_refusal why)
{
	if ((unsigned)why < REFUSE__COUNT)
		inc(&refused[why], 1);
}

void
metrics_conn_evicted(enum conn_eviction kind)
{
	if ((unsigned)kind < EVICT__COUNT)
		inc(&evicted[kind], 1);
}

void
metrics_proxy_protocol(enum proxy_metric result)
{
	if ((unsigned)result < PPM__COUNT)
		inc(&proxied[result], 1);
}

unsigned long long
metrics_linger_count(enum linger_outcome o)
{
	return atomic_load(&linger_outcomes[o]);
}

/* --- rendering ----------------------------------------------------- */

#define SUM(expr) do {							\
	struct mblock *b_;						\
	v = 0;								\
	for (b_ = atomic_load(&blocks); b_ != NULL; b_ = b_->next)	\
		v += atomic_load_explicit(&b_->expr, memory_order_relaxed); \
} while (0)

unsigned long long
metrics_failopen_count(void)
{
	unsigned long long	v;

	SUM(failopen);
	return v;
}

static void
header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *
region_name(int i)
{
	return i < atomic_load(&nregion_names) ? region_names[i] : "none";
}

static void
render_requests(FILE *f)
{
	unsigned long long	 v;
	size_t			 s, r, g;
	char			 st[8];

	header(f, "geo307_requests_total", "counter",
	    "Requests answered on the public listener.");
	for (s = 0; s < NSTATUS; s++)
		for (r = 0; r < REASON__COUNT; r++)
			for (g = 0; g < NREG; g++) {
				SUM(requests[s][r][g]);
				if (v == 0)
					continue;
				if (s < NSTATUS - 1)
					snprintf(st, sizeof(st), "%d",
					    statuses[s]);
				else
					strcpy(st, "other");
				fprintf(f, "geo307_requests_total{status=\"%s\","
				    "reason=\"%s\",region=\"%s\"} %llu\n", st,
				    select_reason_name(r), region_name(g), v);
			}
}

static void
render_redirects(FILE *f, int per_server)
{
	unsigned long long	 v, total = 0;
	int			 i, n = atomic_load(&nserver_names);

	header(f, "geo307_redirects_total", "counter",
	    "Redirects sent, by upload server.");
	for (i = 0; i <= SERVER_OTHER; i++) {
		if (i >= n && i != SERVER_OTHER)
			continue;
		SUM(redirects[i]);
		if (!per_server) {
			total += v;
			continue;
		}
		if (v > 0)
			fprintf(f, "geo307_redirects_total{server=\"%s\"} %llu\n",
			    i == SERVER_OTHER ? "other" : server_names[i], v);
	}
	if (!per_server)
		fprintf(f, "geo307_redirects_total %llu\n", total);
}

static void
render_histogram(FILE *f)
{
	unsigned long long	 v, cum = 0;
	size_t			 i;

	header(f, "geo307_request_duration_seconds", "histogram",
	    "Time from the request line to the queued answer.");
	for (i = 0; i <= NBUCKET; i++) {
		SUM(hist[i]);
		cum += v;
		if (i < NBUCKET)
			fprintf(f, "geo307_request_duration_seconds_bucket"
			    "{le=\"%g\"} %llu\n", buckets[i], cum);
		else
			fprintf(f, "geo307_request_duration_seconds_bucket"
			    "{le=\"+Inf\"} %llu\n", cum);
	}
	SUM(hist_sum_ns);
	fprintf(f, "geo307_request_duration_seconds_sum %.9f\n", v / 1e9);
	fprintf(f, "geo307_request_duration_seconds_count %llu\n", cum);
}
/* A counter family with one label: name{label="names[i]"} c[i]. */
static void
labelled(FILE *f, const char *name, const char *label,
    const char *const *names, counter *c, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, names[i],
		    atomic_load(&c[i]));
}

/* The per-thread counters of the request path, summed. */
static void
render_request_path(FILE *f)
{
	static const char	*aff[] = { "none", "hit", "miss" };
	unsigned long long	 v;
	size_t			 i, j;

	header(f, "geo307_synthetic_requests_total", "counter",
	    "Requests that carried a valid synthetic token.");
	SUM(synthetic);
	fprintf(f, "geo307_synthetic_requests_total %llu\n", v);
	header(f, "geo307_client_ip_total", "counter",
	    "Where the client address came from.");
	for (i = 0; i < CIP__COUNT; i++) {
		SUM(clientip[i]);
		fprintf(f, "geo307_client_ip_total{source=\"%s\"} %llu\n",
		    cip_names[i], v);
	}
	header(f, "geo307_failopen_total", "counter",
	    "Requests routed on weight alone because every report was stale.");
	SUM(failopen);
	fprintf(f, "geo307_failopen_total %llu\n", v);
	header(f, "geo307_affinity_total", "counter",
	    "Requests with affinity on, by whether their key found a server.");
	for (i = 0; i < 3; i++) {
		SUM(affinity[i]);
		fprintf(f, "geo307_affinity_total{result=\"%s\"} %llu\n",
		    aff[i], v);
	}
	header(f, "geo307_spill_total", "counter",
	    "Uploads spilled from a region short of headroom.");
	for (i = 0; i < NREG; i++)
		for (j = 0; j < NREG; j++) {
			SUM(spill[i][j]);
			if (v > 0)
				fprintf(f, "geo307_spill_total{from=\"%s\","
				    "to=\"%s\"} %llu\n", region_name(i),
				    region_name(j), v);
		}
}

/* Connections: lingering, refused and evicted, PROXY headers. */
static void
render_connections(FILE *f)
{
	header(f, "geo307_linger_connections", "gauge",
	    "Connections lingering after an early answer.");
	fprintf(f, "geo307_linger_connections %ld\n",
	    atomic_load(&linger_active));
	header(f, "geo307_linger_total", "counter",
	    "Lingering closes, by how they ended.");
	labelled(f, "geo307_linger_total", "outcome", linger_names,
	    linger_outcomes, LINGER__COUNT);
	header(f, "geo307_discarded_body_bytes_total", "counter",
	    "Request body bytes read and thrown away.");
	fprintf(f, "geo307_discarded_body_bytes_total %llu\n",
	    atomic_load(&discarded));
	header(f, "geo307_connections_refused_total", "counter",
	    "Connections answered 503 at accept, by limit.");
	labelled(f, "geo307_connections_refused_total", "reason",
	    refuse_names, refused, REFUSE__COUNT);
	header(f, "geo307_connections_evicted_total", "counter",
	    "Connections closed to make room in a full table, by kind.");
	labelled(f, "geo307_connections_evicted_total", "kind", evict_names,
	    evicted, EVICT__COUNT);
	header(f, "geo307_proxy_protocol_total", "counter",
	    "PROXY protocol headers at accept, by result.");
	labelled(f, "geo307_proxy_protocol_total", "result", proxy_names,
	    proxied, PPM__COUNT);
}

/* Reloads, the fleet in use and its Redis source. */
static void
render_fleet(FILE *f, const struct metrics_gauges *g)
{
	size_t	i, j;

	header(f, "geo307_reload_total", "counter",
	    "Reloads, by what was reloaded and the result.");
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++)
			fprintf(f, "geo307_reload_total{what=\"%s\","
			    "result=\"%s\"} %llu\n", reload_what[i],
			    j == 0 ? "ok" : "error",
			    atomic_load(&reloads[i][j]));
	header(f, "geo307_fleet_servers", "gauge",
	    "Servers in the snapshot in use.");
	fprintf(f, "geo307_fleet_servers %lu\n", g->fleet_servers);
	header(f, "geo307_fleet_version", "gauge",
	    "Version of the snapshot in use.");
	fprintf(f, "geo307_fleet_version %llu\n", g->fleet_version);
	header(f, "geo307_fleet_age_seconds", "gauge",
	    "Age of the snapshot in use.");
	fprintf(f, "geo307_fleet_age_seconds %.3f\n", g->fleet_age_seconds);
	header(f, "geo307_geoip_build_epoch_seconds", "gauge",
	    "Build time of the GeoIP database in use.");
	fprintf(f, "geo307_geoip_build_epoch_seconds %llu\n",
	    g->geoip_build_epoch);
	/*
	 * Without Redis there is nothing to be up: the family is declared
	 * (every contract name is on the page) but has no sample, so an
	 * alert on geo307_redis_up == 0 never fires for a static fleet.
	 */
	header(f, "geo307_redis_up", "gauge",
	    "1 when the last Redis refresh succeeded (no sample without Redis).");
	if (g->redis_up >= 0)
		fprintf(f, "geo307_redis_up %d\n", g->redis_up);
	header(f, "geo307_redis_changes_coalesced_total", "counter",
	    "Change messages that caused no full read of their own.");
	fprintf(f, "geo307_redis_changes_coalesced_total %llu\n",
	    atomic_load(&changes_coalesced));
	header(f, "geo307_fleet_rejected_records_total", "counter",
	    "Fleet records skipped because they failed validation.");
	pthread_mutex_lock(&label_lock);
	for (i = 0; i < NREJECT && reject_names[i] != NULL; i++)
		fprintf(f, "geo307_fleet_rejected_records_total{reason=\"%s\"} "
		    "%llu\n", reject_names[i], atomic_load(&rejects[i]));
	pthread_mutex_unlock(&label_lock);
}

char *
metrics_render(const struct metrics_gauges *g, size_t *len)
{
	FILE	*f;
	char	*buf = NULL;

	if ((f = open_memstream(&buf, len)) == NULL)
		return NULL;
	render_requests(f);
	render_redirects(f, g->per_server);
	render_request_path(f);
	render_histogram(f);
	render_connections(f);
	render_fleet(f, g);
	metrics_render_state(f, g);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
