/*
 * The answer to one request, in the order SPEC section 1 implies: errors
 * found by the HTTP layer, the per-IP limit, the request-target, CORS
 * preflight, the health path, maintenance, then routing (lookup or
 * redirect).  Everything here reads the runtime and the request view
 * only, so it is tested without a socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <strings.h>
#include <time.h>

#include "escape.h"
#include "metrics.h"
#include "respond.h"
#include "route.h"
#include "token.h"

/* What request_view.header returns for a header larger than buf. */
const char	respond_header_overflow[] = ",";

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void
add_header(struct answer *a, const char *name, const char *value)
{
	if (a->nheaders < ANSWER_MAX_HEADERS) {
		a->headers[a->nheaders].name = name;
		a->headers[a->nheaders].value = value;
		a->nheaders++;
	}
}

static void
set_text(struct answer *a, int status, const char *text)
{
	a->status = status;
	a->content_type = "text/plain; charset=utf-8";
	free(a->body);
	if (asprintf(&a->body, "%s\n", text) < 0)
		a->body = NULL;
	a->bodylen = a->body ? strlen(a->body) : 0;
}

static void
set_error(struct answer *a, int status)
{
	set_text(a, status, status_text(status));
	a->reason = REASON_NONE;
}

/* Retry-After: exactly n seconds (maintenance: the operator's value). */
static void
set_retry_after_exact(struct answer *a, double n)
{
	snprintf(a->retry_after, sizeof(a->retry_after), "%.0f", n);
	add_header(a, "Retry-After", a->retry_after);
}

/*
 * Retry-After: N jittered uniformly in [N/2, 3N/2], so that clients told
 * to come back do not all come back in the same second.  The header takes
 * whole seconds: draw uniformly among the integers of the interval (a
 * rounded continuous draw would give its two ends half the weight).
 */
static void
set_retry_after(struct answer *a, double n, struct rng *rng)
{
	double		lo = ceil(n / 2), hi = floor(n * 3 / 2);
	uint64_t	span, v;

	if (hi < lo)
		hi = lo;
	span = (uint64_t)(hi - lo) + 1;
	v = (uint64_t)(rng_double(rng) * (double)span);
	if (v >= span)
		v = span - 1;
	snprintf(a->retry_after, sizeof(a->retry_after), "%.0f",
	    lo + (double)v);
	add_header(a, "Retry-After", a->retry_after);
}

int
respond_token_matches(const struct strlist *tokens, const char *p)
{
	size_t		 i, j, plen, tlen;
	unsigned char	 diff;
	int		 match = 0;

	if (p == NULL)
		return 0;
	plen = strlen(p);
	/* Compare against every token in full: no early exit, no length leak
	 * beyond "which length". */
	for (i = 0; i < tokens->n; i++) {
		tlen = strlen(tokens->v[i]);
		diff = tlen != plen;
		for (j = 0; j < tlen; j++)
			diff |= (unsigned char)tokens->v[i][j] ^
			    (unsigned char)(j < plen ? p[j] : 0);
		match |= diff == 0;
	}
	return match;
}

static void
request_id(const struct runtime *rt, const struct request_view *rv,
    struct rng *rng, struct answer *a)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*v;
	char			 buf[160];
	uint64_t		 r;
	size_t			 i, n;
	int			 count;

	if (netaddr_cidr_list_contains(&rt->cfg->trust.proxies, &rv->peer) &&
	    (v = rv->header(rv->ctx, "x-request-id", buf, sizeof(buf),
	    &count)) != NULL && count == 1) {
		n = strlen(v);
		for (i = 0; i < n; i++)
			if (!(isalnum((unsigned char)v[i]) || v[i] == '.' ||
			    v[i] == '_' || v[i] == ':' || v[i] == '-'))
				break;
		if (n > 0 && n <= REQUEST_ID_LEN && i == n) {
			memcpy(a->request_id, v, n + 1);
			return;
		}
	}
	for (i = 0; i < REQUEST_ID_LEN; i += 16) {
		r = rng_next(rng);
		for (n = 0; n < 16; n++, r >>= 4)
			a->request_id[i + n] = hex[r & 15];
	}
	a->request_id[REQUEST_ID_LEN] = '\0';
}

/*
 * CORS, step one: is this a preflight, and is its Origin allowed?  An
 * allowed origin gets Allow-Origin and Vary on every answer, errors
 * included: a browser hides from page scripts any response without them,
 * a 503's Retry-After as much as a 307's X-Upload-Server.
 */
static int
cors_origin(const struct runtime *rt, const struct request_view *rv,
    struct answer *a, int *preflight)
{
	const struct config	*cfg = rt->cfg;
	const char		*origin;
	char			 buf[sizeof(a->origin)], acrm[64];
	int			 count;

	*preflight = 0;
	if (cfg->cors.allow_origins.n == 0 ||
	    (origin = rv->header(rv->ctx, "origin", buf, sizeof(buf),
	    &count)) == NULL || origin == respond_header_overflow || count != 1)
		return 0;
	/*
	 * Only its presence matters, but not in buf: an Origin longer than
	 * 300 bytes used to be overwritten by it (and then compared and
	 * echoed so).
	 */
	*preflight = strcmp(rv->method, "OPTIONS") == 0 &&
	    rv->header(rv->ctx, "access-control-request-method", acrm,
	    sizeof(acrm), NULL) != NULL;
	if (!strlist_contains(&cfg->cors.allow_origins, origin) &&
	    !strlist_contains(&cfg->cors.allow_origins, "*"))
		return 0;
	snprintf(a->origin, sizeof(a->origin), "%s", origin);
	add_header(a, "Access-Control-Allow-Origin", a->origin);
	add_header(a, "Vary", "Origin");
	return 1;
}

/* CORS, step two, once the answer is known: what else may the page see. */
static void
cors_finish(const struct runtime *rt, struct answer *a, int preflight)
{
	const struct config	*cfg = rt->cfg;

	if (preflight && a->status == 204) {
		add_header(a, "Access-Control-Allow-Methods",
		    cfg->cors.allow_methods);
		add_header(a, "Access-Control-Allow-Headers",
		    cfg->cors.allow_headers);
		snprintf(a->max_age, sizeof(a->max_age), "%u",
		    cfg->cors.max_age);
		add_header(a, "Access-Control-Max-Age", a->max_age);
	} else
		add_header(a, "Access-Control-Expose-Headers",
		    "X-Upload-Server, X-Redirect-Reason, X-Request-Id");
}

/* The path part of a target equals p (the query is ignored). */
static int
path_is(const char *target, size_t len, const char *p)
{
	size_t	plen = strlen(p);

	return len >= plen && memcmp(target, p, plen) == 0 &&
	    (len == plen || target[plen] == '?');
}

static void
set_redirect_body(struct answer *a, int lookup, const char *region)
{
	size_t	 need;
	char	*esc;

	if (lookup) {
		char	loc[LOCATION_MAX * 6 + 1];

		escape_json(loc, sizeof(loc), a->location, strlen(a->location));
		a->content_type = "application/json";
		if (asprintf(&a->body, "{\"location\":\"%s\",\"server\":\"%s\","
		    "\"reason\":\"%s\",\"region\":\"%s\",\"request_id\":\"%s\"}"
		    "\n", loc, a->server_id, select_reason_name(a->reason), region,
		    a->request_id) < 0)
			a->body = NULL;
	} else {
		/*
		 * The page, pieced together in one allocation (it was an
		 * asprintf of the escaped location, twice, a third of the
		 * user CPU of building the answer).
		 */
		static const char p0[] = "<!DOCTYPE html>\n<html><head><title>";
		static const char p1[] = "</title></head>\n<body><p>The upload "
		    "goes to <a href=\"";
		static const char p2[] = "\">";
		static const char p3[] = "</a>.</p></body></html>\n";
		const char	*st = status_text(a->status);
		size_t		 llen = strlen(a->location), slen = strlen(st);
		char		 code[8], *o;
		int		 clen;

		clen = snprintf(code, sizeof(code), "%d ", a->status);
		if (clen < 0 || (size_t)clen >= sizeof(code))
			return;
		need = escape_html(NULL, 0, a->location, llen);
		if ((esc = malloc(sizeof(p0) + clen + slen + sizeof(p1) +
		    2 * need + sizeof(p2) + sizeof(p3))) == NULL)
			return;
		a->content_type = "text/html; charset=utf-8";
		o = esc;
		memcpy(o, p0, sizeof(p0) - 1), o += sizeof(p0) - 1;
		memcpy(o, code, clen), o += clen;
		memcpy(o, st, slen), o += slen;
		memcpy(o, p1, sizeof(p1) - 1), o += sizeof(p1) - 1;
		escape_html(o, need + 1, a->location, llen), o += need;
		memcpy(o, p2, sizeof(p2) - 1), o += sizeof(p2) - 1;
		memcpy(o, o - (sizeof(p2) - 1) - need, need), o += need;
		memcpy(o, p3, sizeof(p3)), o += sizeof(p3) - 1;
		a->body = esc;
		a->bodylen = (size_t)(o - esc);
		return;
	}
	a->bodylen = a->body ? strlen(a->body) : 0;
}

/*
 * Who is the client, and what does it ask for: the trust walk, the
 * synthetic overrides, the affinity key; into in for route_decide().
 * kbuf holds a header key.
 */
static void
route_input_of(const struct runtime *rt, const struct request_view *rv,
    const char *target, size_t targetlen, struct answer *a,
    struct route_input *in, char *kbuf, size_t kbuflen)
{
	const struct config	*cfg = rt->cfg;
	struct netaddr		 forced;
	const char		*h, *tok;
	char			 buf[4096], tbuf[256], *big = NULL;
	int			 r;

	memset(in, 0, sizeof(*in));
	in->synthetic_region = -1;
	in->now = rv->now;
	h = NULL;
	if (netaddr_cidr_list_contains(&cfg->trust.proxies, &rv->peer)) {
		h = rv->header(rv->ctx, cfg->trust.header, buf, sizeof(buf),
		    NULL);
		/*
		 * A long proxy chain is rare but legitimate: the header is
		 * within max_header_bytes, so that much always holds it.
		 */
		if (h == respond_header_overflow && (big =
		    malloc(cfg->listen.max_header_bytes + 1)) != NULL)
			h = rv->header(rv->ctx, cfg->trust.header, big,
			    cfg->listen.max_header_bytes + 1, NULL);
	}
	a->cip = clientip_resolve(&rv->peer, h, cfg->trust.kind,
	    &cfg->trust.proxies, &in->client);
	free(big);

	if (cfg->synthetic.tokens.n > 0 &&
	    (tok = rv->header(rv->ctx, "x-synthetic-token", tbuf,
	    sizeof(tbuf), NULL)) != NULL &&
	    respond_token_matches(&cfg->synthetic.tokens, tok)) {
		a->synthetic = 1;
		if ((h = rv->header(rv->ctx, "x-synthetic-region", buf,
		    sizeof(buf), NULL)) != NULL &&
		    (r = region_map_find(rt->rm, h)) >= 0)
			in->synthetic_region = r;
		if ((h = rv->header(rv->ctx, "x-synthetic-client-ip", buf,
		    sizeof(buf), NULL)) != NULL &&
		    netaddr_parse(h, &forced) == 0)
			in->client = forced;
	}
	netaddr_str(&in->client, a->client, sizeof(a->client));
	if (cfg->affinity.header != NULL) {
		h = rv->header(rv->ctx, cfg->affinity.header, kbuf, kbuflen,
		    NULL);
		if (h != NULL && h != respond_header_overflow) {
			in->key = h;
			in->keylen = strlen(h);
		}
	} else
		in->key = route_key_from_target(cfg, target, targetlen,
		    &in->keylen);
}

/*
 * With [redirect] sign_keys: the g307 token after the Location's query,
 * over the raw target as the client sent it.  A lookup's token is signed
 * for POST, the upload the lookup prepares.  -1 when it does not fit.
 */
static int
sign_location(const struct runtime *rt, const struct request_view *rv,
    const struct fleet_server *s, const char *target, size_t targetlen,
    int lookup, struct answer *a)
{
	char	suffix[TOKEN_SUFFIX_MAX], *raw;
	size_t	len = strlen(a->location);
	int	rc;

	if (rt->sign.n == 0)
		return 0;
	if ((raw = strndup(target, targetlen)) == NULL)
		return -1;
	rc = token_sign(&rt->sign, s->id, (int64_t)time(NULL) +
	    (int64_t)rt->cfg->redirect.sign_ttl, lookup ? "POST" : rv->method,
	    raw, suffix, sizeof(suffix));
	free(raw);
	if (rc != 0 || len + strlen(suffix) >= sizeof(a->location))
		return -1;
	memcpy(a->location + len, suffix, strlen(suffix) + 1);
	return 0;
}

static void
route_failed(const struct runtime *rt, const struct route_decision *d,
    struct rng *rng, struct answer *a)
{
	set_error(a, 503);
	/* The operator said when to come back: say exactly that. */
	if (d->maintenance && d->maintenance_retry > 0)
		set_retry_after_exact(a, d->maintenance_retry);
	else
		set_retry_after(a, rt->cfg->redirect.retry_after, rng);
}

static void
route(const struct runtime *rt, const struct request_view *rv,
    const char *target, size_t targetlen, int lookup, struct rng *rng,
    struct answer *a)
{
	const struct config	*cfg = rt->cfg;
	const struct fleet_server *s;
	struct route_input	 in;
	struct route_decision	 d;
	char			 kbuf[512];

	route_input_of(rt, rv, target, targetlen, a, &in, kbuf, sizeof(kbuf));
	if (route_decide(rt, runtime_fleet(rt), &in, rng, &d) != 0) {
		memcpy(a->country, d.geo.country, sizeof(a->country));
		a->region_label = rt->region_labels[d.home];
		a->region = rt->rm->regions[d.home].name;
		route_failed(rt, &d, rng, a);
		return;
	}
	if (d.affinity != ROUTE_AFFINITY_OFF)
		metrics_affinity(d.affinity);
	memcpy(a->country, d.geo.country, sizeof(a->country));
	s = d.server;
	a->server_id = s->id;
	a->server_label = s->label;
	a->region_label = rt->region_labels[d.region];
	a->region = rt->rm->regions[d.region].name;
	a->failopen = d.plan.failopen;
	if (d.spilled) {
		a->spill_from = rt->region_labels[d.home];
		a->spill_to = rt->region_labels[d.region];
	}
	a->reason = d.reason;
	if (url_location_build(a->location, sizeof(a->location), s->base,
	    s->baselen, target, targetlen) < 0 ||
	    sign_location(rt, rv, s, target, targetlen, lookup, a) != 0) {
		a->server_label = -1;
		set_error(a, 414);
		return;
	}
	a->status = lookup ? 200 : cfg->redirect.status;
	if (!lookup) {
		add_header(a, "Location", a->location);
		add_header(a, "X-Upload-Server", a->server_id);
		add_header(a, "X-Redirect-Reason", select_reason_name(a->reason));
	}
	set_redirect_body(a, lookup, rt->rm->regions[d.region].name);
}

/*
 * Bytes of header fields: the request line ("METHOD SP target SP
 * HTTP/1.x CRLF") and the blank line that ends the header are not fields.
 */
static size_t
field_bytes(const struct request_view *rv)
{
	size_t	line = strlen(rv->method) + 1 + rv->targetlen + 1 + 8 + 2 + 2;

	return rv->header_bytes > line ? rv->header_bytes - line : 0;
}

static void
decide(const struct runtime *rt, const struct request_view *rv,
    int early_status, int preflight, struct rng *rng, struct answer *a)
{
	const struct config	*cfg = rt->cfg;
	const struct fleet	*f;
	const char		*t = rv->target;
	size_t			 tlen = rv->targetlen, plen;
	int			 st;

	if (early_status != 0) {
		set_error(a, early_status);
		a->close = 1;
		return;
	}
	if (rv->over_limit) {
		set_text(a, 503, "too many connections from your address");
		set_retry_after(a, cfg->redirect.retry_after, rng);
		a->close = 1;
		return;
	}
	/*
	 * A long target is 414 whatever else is wrong with it, and it does
	 * not count against max_header_bytes (that bounds the header
	 * fields, which the request line is not part of).
	 */
	st = url_target_check(t, tlen);
	if (st == 414) {
		set_error(a, st);
		return;
	}
	if (field_bytes(rv) > cfg->listen.max_header_bytes ||
	    rv->header_lines > respond_header_lines_max(
	    cfg->listen.max_header_bytes)) {
		set_error(a, 431);
		a->close = 1;
		return;
	}
	if (st != 200) {
		set_error(a, st);
		return;
	}
	if (preflight) {
		a->status = 204;
		return;
	}
	if (cfg->listen.health_path != NULL &&
	    path_is(t, tlen, cfg->listen.health_path)) {
		/* The admin /healthz answers, from the same state. */
		if (rv->draining)
			set_text(a, 503, "draining");
		else if (rt->geo == NULL)
			set_text(a, 503, "no GeoIP database");
		else if ((f = runtime_fleet(rt)) == NULL)
			set_text(a, 503, "no fleet snapshot");
		else
			set_text(a, 200, fleet_health(f, rv->now));
		a->health = 1;
		return;
	}
	if (cfg->lookup.prefix != NULL &&
	    (strcmp(rv->method, "GET") == 0 ||
	    strcmp(rv->method, "HEAD") == 0) &&
	    tlen > (plen = strlen(cfg->lookup.prefix)) &&
	    memcmp(t, cfg->lookup.prefix, plen) == 0 && t[plen] == '/') {
		route(rt, rv, t + plen, tlen - plen, 1, rng, a);
		return;
	}
	route(rt, rv, t, tlen, 0, rng, a);
}

void
respond(const struct runtime *rt, const struct request_view *rv,
    int early_status, struct rng *rng, struct answer *a)
{
	int	allowed, preflight;

	memset(a, 0, offsetof(struct answer, location));
	a->location[0] = '\0';
	a->reason = REASON_NONE;
	a->region_label = a->server_label = -1;
	a->spill_from = a->spill_to = -1;
	a->cip = CLIENTIP_PEER;
	netaddr_str(&rv->peer, a->client, sizeof(a->client));
	request_id(rt, rv, rng, a);
	add_header(a, "X-Request-Id", a->request_id);
	add_header(a, "Cache-Control", "no-store");
	a->close = rv->has_body;
	allowed = cors_origin(rt, rv, a, &preflight);
	decide(rt, rv, early_status, preflight, rng, a);
	if (allowed)
		cors_finish(rt, a, preflight);
}

size_t
respond_header_lines_max(size_t max_header_bytes)
{
	size_t	n = max_header_bytes / HEADER_LINE_BYTES;

	return n > HEADER_LINES_MIN ? n : HEADER_LINES_MIN;
}

void
respond_answer_free(struct answer *a)
{
	free(a->body);
	a->body = NULL;
}
