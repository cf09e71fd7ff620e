/*
 * The admin listener: a small libmicrohttpd daemon of its own, so that
 * scrapes and health checks never queue behind uploads.  [admin] is read
 * once at start; changing it needs a restart.
 *
 * A balancer pulls a router whose /healthz does not answer, so nothing on
 * this port may starve it (issue 6: 70 slowloris sockets took all 64
 * slots of the one thread, whose idle timer every byte restarted; a 14 MB
 * /fleet held that thread for 1.57 s):
 * - a pool of ADMIN_THREADS threads: a busy one does not accept, another
 *   does, so one slow answer never delays a new health check;
 * - a whole-request deadline: a request (header and any body) must be in
 *   ADMIN_REQUEST_TIME after the accept or after the previous answer on
 *   the connection; a sweeper thread shuts overdue sockets down, since
 *   libmicrohttpd's own timeout restarts at every byte;
 * - ADMIN_MAX_CONN connections, ADMIN_PER_IP from one address: slowloris
 *   from one host cannot take every slot;
 * - /fleet streamed from a copy (admin_fleet.c), ADMIN_FLEET_STREAMS at
 *   a time, so its size costs neither a thread nor a reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "admin.h"
#include "admin_internal.h"
#include "epoch.h"
#include "fleet.h"
#include "log.h"
#include "metrics.h"
#include "fleet_rec.h"
#include "region.h"
#include "route.h"
#include "runtime.h"
#include "select.h"
#include "service.h"

#define ADMIN_THREADS		4
#define ADMIN_MAX_CONN		256	/* split between the threads */
#define ADMIN_PER_IP		16
#define ADMIN_REQUEST_TIME	5.0	/* seconds for a whole request */
#define ADMIN_IDLE_TIMEOUT	10U	/* seconds without progress */
#define ADMIN_FLEET_STREAMS	4	/* /fleet answers at a time */
#define ADMIN_SWEEP_NS		(100 * 1000 * 1000)

/* One connection, for the request deadline. */
struct aconn {
	struct aconn	*prev, *next;
	int		 fd;
	double		 due;		/* 0: answering, no deadline */
	int		 killed;
};

struct admin {
	struct MHD_Daemon	*daemon;
	struct cidr_list	 allow;
	atomic_int		 draining;
	atomic_int		 fleet_streams;
	pthread_mutex_t		 lock;		/* conns, stopping */
	pthread_cond_t		 wake;
	struct aconn		*conns;
	int			 stopping;
	pthread_t		 sweeper;
	int			 have_sweeper;
};

static enum MHD_Result
allowed(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct admin	*ad = cls;
	struct netaddr	 a;

	(void)len;
	return netaddr_from_sockaddr(sa, &a) == 0 &&
	    netaddr_cidr_list_contains(&ad->allow, &a) ? MHD_YES : MHD_NO;
}

static enum MHD_Result
reply(struct MHD_Connection *c, int status, const char *type, char *body,
    size_t len)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, int status, const char *text)
{
	char	*b;

	if (asprintf(&b, "%s\n", text) < 0)
		return MHD_NO;
	return reply(c, status, "text/plain; charset=utf-8", b, strlen(b));
}

static enum MHD_Result
reply_json(struct MHD_Connection *c, int status, json_t *j)
{
	char	*s = json_dumps(j, ROUTE_JSON_FLAGS);

	json_decref(j);
	if (s == NULL)
		return MHD_NO;
	return reply(c, status, "application/json", s, strlen(s));
}

/* Too many large answers at once: come back in a second. */
static enum MHD_Result
reply_busy(struct MHD_Connection *c)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	static const char	 busy[] = "busy\n";

	r = MHD_create_response_from_buffer(sizeof(busy) - 1, (void *)busy,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Retry-After", "1");
	ret = MHD_queue_response(c, 503, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
healthz(struct admin *ad, struct MHD_Connection *c, const struct runtime *rt)
{
	const struct fleet	*f = runtime_fleet(rt);

	if (atomic_load(&ad->draining))
		return reply_text(c, 503, "draining");
	if (rt->geo == NULL)
		return reply_text(c, 503, "no GeoIP database");
	if (f == NULL)
		return reply_text(c, 503, "no fleet snapshot");
	return reply_text(c, 200, fleet_health(f, clock_mono()));
}

static enum MHD_Result
metrics(struct MHD_Connection *c, const struct runtime *rt)
{
	const struct fleet	*f = runtime_fleet(rt);
	struct metrics_gauges	 g = { 0 };
	char			*page;
	size_t			 len;

	if (f != NULL) {
		g.fleet_servers = f->nservers;
		g.fleet_version = f->version;
		g.fleet_age_seconds = clock_mono() - f->taken_mono;
	}
	g.geoip_build_epoch = rt->geo ? geo_build_epoch(rt->geo) : 0;
	g.redis_up = rt->cfg->redis.url ? metrics_redis_up() : -1;
	g.per_server = rt->cfg->metrics.per_server;
	g.fleet = f;
	g.now = clock_mono();
	if ((page = metrics_render(&g, &len)) == NULL)
		return MHD_NO;
	return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", page,
	    len);
}

/*
 * /route?ip=IP[&key=K][&family=4|6]: the decision for that address, from
 * route_decide() as a request gets it, explained (route_json).
 */
static enum MHD_Result
route(struct MHD_Connection *c, const struct runtime *rt)
{
	const struct fleet	*f = runtime_fleet(rt);
	struct route_input	 in;
	struct route_decision	 d;
	struct rng		 rng;
	const char		*ip, *fam, *key;

	memset(&in, 0, sizeof(in));
	in.synthetic_region = -1;
	in.now = clock_mono();
	ip = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ip");
	fam = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "family");
	key = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
	if (ip == NULL || netaddr_parse(ip, &in.client) != 0 ||
	    (fam != NULL && strcmp(fam, "4") != 0 && strcmp(fam, "6") != 0))
		return reply_text(c, 400, "usage: /route?ip=ADDRESS"
		    "[&key=KEY][&family=4|6]");
	if (fam != NULL)
		in.family = fam[0] == '4' ? FLEET_FAMILY_4 : FLEET_FAMILY_6;
	if (key != NULL && key[0] != '\0') {
		in.key = key;
		in.keylen = strlen(key);
	}
	if (rng_seed_random(&rng) != 0)
		rng_seed(&rng, (uint64_t)in.now);
	(void)route_decide(rt, f, &in, &rng, &d);
	return reply_json(c, 200, route_json(rt, f, &in, &d));
}

static void
fleet_stream_released(void *arg)
{
	struct admin	*ad = arg;

	atomic_fetch_sub(&ad->fleet_streams, 1);
}

static enum MHD_Result
fleet(struct admin *ad, struct MHD_Connection *c, const struct runtime *rt)
{
	const struct fleet	*f = runtime_fleet(rt);
	struct fleet_stream	*fs;
	struct MHD_Response	*r;
	enum MHD_Result		 ret;

	if (f == NULL)
		return reply_text(c, 503, "no fleet snapshot");
	/* Each answer holds a copy of the fleet: bound the memory. */
	if (atomic_fetch_add(&ad->fleet_streams, 1) >= ADMIN_FLEET_STREAMS) {
		atomic_fetch_sub(&ad->fleet_streams, 1);
		return reply_busy(c);
	}
	if ((fs = admin_fleet_stream_new(f, clock_mono())) == NULL) {
		atomic_fetch_sub(&ad->fleet_streams, 1);
		return reply_text(c, 503, "out of memory");
	}
	admin_fleet_stream_on_free(fs, fleet_stream_released, ad);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
	    admin_fleet_stream_read, fs, admin_fleet_stream_free);
	if (r == NULL) {
		admin_fleet_stream_free(fs);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static struct aconn *
aconn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* due: the time the next request must be in by, or 0 for none. */
static void
set_due(struct admin *ad, struct MHD_Connection *c, double due)
{
	struct aconn	*cn = aconn_of(c);

	if (cn == NULL)
		return;
	pthread_mutex_lock(&ad->lock);
	cn->due = due;
	pthread_mutex_unlock(&ad->lock);
}

static enum MHD_Result
route_request(struct admin *ad, struct MHD_Connection *c, const char *url)
{
	const struct runtime	*rt;
	enum MHD_Result		 ret;

	epoch_enter();
	rt = runtime_current();
	if (strcmp(url, "/healthz") == 0)
		ret = healthz(ad, c, rt);
	else if (strcmp(url, "/metrics") == 0)
		ret = metrics(c, rt);
	else if (strcmp(url, "/route") == 0)
		ret = route(c, rt);
	else if (strcmp(url, "/fleet") == 0)
		ret = fleet(ad, c, rt);
	else
		ret = reply_text(c, 404, "not found");
	epoch_exit();
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct admin	*ad = cls;

	(void)version;
	(void)upload_data;
	if (*req_cls == NULL) {
		*req_cls = ad;		/* answer on the second call */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* The request is in: answering has no deadline but MHD's timeout. */
	set_due(ad, c, 0);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, 405, "method not allowed");
	return route_request(ad, c, url);
}

/* The answer is out: the next request on the connection has its time. */
static void
completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)req_cls;
	(void)toe;
	set_due(cls, c, clock_mono() + ADMIN_REQUEST_TIME);
}

static void
conn_notify(void *cls, struct MHD_Connection *c, void **sctx,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo	*ci;
	struct admin			*ad = cls;
	struct aconn			*cn;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((cn = calloc(1, sizeof(*cn))) == NULL) {
			*sctx = NULL;	/* untracked: MHD's timeout only */
			return;
		}
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		cn->fd = ci ? ci->connect_fd : -1;
		cn->due = clock_mono() + ADMIN_REQUEST_TIME;
		pthread_mutex_lock(&ad->lock);
		if ((cn->next = ad->conns) != NULL)
			cn->next->prev = cn;
		ad->conns = cn;
		pthread_mutex_unlock(&ad->lock);
		*sctx = cn;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED &&
	    (cn = *sctx) != NULL) {
		/* MHD closes the descriptor after this: unlink it first. */
		pthread_mutex_lock(&ad->lock);
		if (cn->prev)
			cn->prev->next = cn->next;
		else
			ad->conns = cn->next;
		if (cn->next)
			cn->next->prev = cn->prev;
		pthread_mutex_unlock(&ad->lock);
		free(cn);
		*sctx = NULL;
	}
}

/*
 * Shut down connections whose request is overdue; libmicrohttpd sees the
 * EOF and closes them.  A shutdown, not a close: the descriptor stays
 * MHD's.
 */
static void *
sweeper(void *arg)
{
	struct admin	*ad = arg;
	struct aconn	*cn;
	struct timespec	 ts;
	double		 now;

	pthread_mutex_lock(&ad->lock);
	while (!ad->stopping) {
		now = clock_mono();
		for (cn = ad->conns; cn != NULL; cn = cn->next)
			if (!cn->killed && cn->fd >= 0 && cn->due > 0 &&
			    now > cn->due) {
				cn->killed = 1;
				shutdown(cn->fd, SHUT_RDWR);
			}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += ADMIN_SWEEP_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&ad->wake, &ad->lock, &ts);
	}
	pthread_mutex_unlock(&ad->lock);
	return NULL;
}

static int
sweeper_start(struct admin *ad)
{
	pthread_condattr_t	ca;

	pthread_mutex_init(&ad->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ad->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&ad->sweeper, NULL, sweeper, ad) != 0)
		return -1;
	ad->have_sweeper = 1;
	return 0;
}

static void
sweeper_stop(struct admin *ad)
{
	if (ad->have_sweeper) {
		pthread_mutex_lock(&ad->lock);
		ad->stopping = 1;
		pthread_cond_signal(&ad->wake);
		pthread_mutex_unlock(&ad->lock);
		pthread_join(ad->sweeper, NULL);
		ad->have_sweeper = 0;
	}
	pthread_cond_destroy(&ad->wake);
	pthread_mutex_destroy(&ad->lock);
}

static void
admin_free(struct admin *ad)
{
	sweeper_stop(ad);
	free(ad->allow.v);
	free(ad);
}

struct admin *
admin_start(const struct config *cfg, char *err, size_t errlen)
{
	struct admin	*ad;
	size_t		 i;
	unsigned	 flags;

	if (!cfg->admin.enabled)
		return NULL;
	if ((ad = calloc(1, sizeof(*ad))) == NULL ||
	    (ad->allow.v = calloc(cfg->admin.allow.n + 1,
	    sizeof(struct cidr))) == NULL) {
		free(ad);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < cfg->admin.allow.n; i++)
		ad->allow.v[i] = cfg->admin.allow.v[i];
	ad->allow.n = cfg->admin.allow.n;
	if (sweeper_start(ad) != 0) {
		snprintf(err, errlen, "admin listener: cannot start a thread");
		admin_free(ad);
		return NULL;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (cfg->admin.addr.sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	ad->daemon = MHD_start_daemon(flags, 0, allowed, ad, handle, ad,
	    MHD_OPTION_SOCK_ADDR, &cfg->admin.addr.sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)ADMIN_THREADS,
	    MHD_OPTION_CONNECTION_TIMEOUT, ADMIN_IDLE_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)ADMIN_MAX_CONN,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)ADMIN_PER_IP,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_notify, ad,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, ad,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U,
	    MHD_OPTION_END);
	if (ad->daemon == NULL) {
		snprintf(err, errlen, "admin listener %s: cannot start",
		    cfg->admin.addr.text);
		admin_free(ad);
		return NULL;
	}
	return ad;
}

void
admin_set_draining(struct admin *ad)
{
	if (ad != NULL)
		atomic_store(&ad->draining, 1);
}

int
admin_steer_here(struct admin *ad)
{
	const union MHD_DaemonInfo	*di;

	if (ad == NULL)
		return 0;
	if ((di = MHD_get_daemon_info(ad->daemon,
	    MHD_DAEMON_INFO_LISTEN_FD)) == NULL)
		return -1;
	return service_steer_here(di->listen_fd);
}

void
admin_stop(struct admin *ad)
{
	if (ad == NULL)
		return;
	/* MHD first: its close notifications still touch the list. */
	MHD_stop_daemon(ad->daemon);
	admin_free(ad);
}
