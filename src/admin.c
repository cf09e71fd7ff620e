/*
 * The admin listener: a small libmicrohttpd daemon of its own (one
 * thread, poll), so that scrapes and health checks never queue behind
 * uploads.  [admin] is read once at start; changing it needs a restart.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "admin.h"
#include "epoch.h"
#include "fleet.h"
#include "log.h"
#include "metrics.h"
#include "fleetrec.h"
#include "region.h"
#include "route.h"
#include "runtime.h"
#include "select.h"

struct admin {
	struct MHD_Daemon	*daemon;
	struct cidr_list	 allow;
	atomic_int		 draining;
};

static enum MHD_Result
allowed(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct admin	*ad = cls;
	struct netaddr	 a;

	(void)len;
	return netaddr_from_sockaddr(sa, &a) == 0 &&
	    cidr_list_contains(&ad->allow, &a) ? MHD_YES : MHD_NO;
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
	if (f->maintenance)
		return reply_text(c, 503, "maintenance");
	if (fleet_routable(f, mono_now()) == 0)
		return reply_text(c, 503, "no routable upload server");
	return reply_text(c, 200, "ok");
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
		g.fleet_age_seconds = mono_now() - f->taken_mono;
	}
	g.geoip_build_epoch = rt->geo ? geodb_build_epoch(rt->geo) : 0;
	g.redis_up = rt->cfg->redis.url ? metrics_redis_up() : -1;
	g.per_server = rt->cfg->metrics.per_server;
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
	in.now = mono_now();
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

/* Why a server is or is not a candidate for a new upload right now. */
static const char *
why(const struct fleet *f, const struct fleet_server *s, double now)
{
	if (s->state == SERVER_DOWN)
		return "down";
	if (s->state == SERVER_DRAIN)
		return "drain";
	if (s->weight == 0)
		return "weight 0";
	if (f->regions[s->region].drained)
		return "region drained";
	if (!s->has_report)
		return "no load report";
	if (!fleet_server_fresh(f, s, now))
		return "stale report";
	if (s->load >= 1)
		return "load 1";
	return "candidate";
}

static const char *
state_name(enum server_state s)
{
	return s == SERVER_UP ? "up" : s == SERVER_DRAIN ? "drain" : "down";
}

static enum MHD_Result
fleet(struct MHD_Connection *c, const struct runtime *rt)
{
	const struct fleet	*f = runtime_fleet(rt);
	const struct fleet_server *s;
	json_t			*j, *arr;
	size_t			 i;
	double			 now = mono_now();

	if (f == NULL)
		return reply_text(c, 503, "no fleet snapshot");
	arr = json_array();
	for (i = 0; i < f->nservers; i++) {
		s = &f->servers[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, "
		    "s:s, s:s, s:o, s:b, s:b, s:s}", "id", s->id,
		    "url", s->base,
		    "region", rt->rm->regions[s->region].name,
		    "weight", (json_int_t)s->weight,
		    "state", state_name(s->state),
		    "families", fleetrec_families_name(s->families),
		    "load", s->has_report ? json_real(s->load) : json_null(),
		    "fresh", fleet_server_fresh(f, s, now),
		    "candidate", strcmp(why(f, s, now), "candidate") == 0,
		    "why", why(f, s, now)));
	}
	j = json_pack("{s:s, s:I, s:f, s:I, s:b, s:o}",
	    "source", fleet_source_name(f->source),
	    "version", (json_int_t)f->version,
	    "age", now - f->taken_mono,
	    "taken_at", (json_int_t)f->taken_wall,
	    "maintenance", f->maintenance,
	    "servers", arr);
	return reply_json(c, 200, j);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct admin		*ad = cls;
	const struct runtime	*rt;
	enum MHD_Result		 ret;

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
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, 405, "method not allowed");
	epoch_enter();
	rt = runtime_current();
	if (strcmp(url, "/healthz") == 0)
		ret = healthz(ad, c, rt);
	else if (strcmp(url, "/metrics") == 0)
		ret = metrics(c, rt);
	else if (strcmp(url, "/route") == 0)
		ret = route(c, rt);
	else if (strcmp(url, "/fleet") == 0)
		ret = fleet(c, rt);
	else
		ret = reply_text(c, 404, "not found");
	epoch_exit();
	return ret;
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
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    MHD_USE_ERROR_LOG;
	if (cfg->admin.addr.sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	ad->daemon = MHD_start_daemon(flags, 0, allowed, ad, handle, ad,
	    MHD_OPTION_SOCK_ADDR, &cfg->admin.addr.sa,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10U,
	    MHD_OPTION_CONNECTION_LIMIT, 64U,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U,
	    MHD_OPTION_END);
	if (ad->daemon == NULL) {
		snprintf(err, errlen, "admin listener %s: cannot start",
		    cfg->admin.addr.text);
		free(ad->allow.v);
		free(ad);
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

void
admin_stop(struct admin *ad)
{
	if (ad == NULL)
		return;
	MHD_stop_daemon(ad->daemon);
	free(ad->allow.v);
	free(ad);
}
