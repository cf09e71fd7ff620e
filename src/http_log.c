/*
 * http_log: the access log line of a request (json or combined).
 *
 * Every client-supplied field is escaped (JSON string escaping, or
 * Apache's for combined) and capped at a length of its own; the caps and
 * the fixed text together stay under the buffer, so a line is never cut:
 * a field too long loses the end of its content (never half an escape)
 * and is still closed.
 *
 * A json line names the linger outcome, which is known only when the
 * lingering close ends, long after the answer.  Such a line is kept with
 * its connection (conn->logline: the text before the linger fields, a
 * NUL, the text after) and finished by the linger thread, which writes it
 * into a ring of its own.  Combined lines have no linger field and are
 * written at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "http_internal.h"
#include "linger.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"

#define LOGLINE_MAX	16384
#define LOGCAP_METHOD	256
#define LOGCAP_TARGET	8192
#define LOGCAP_HEADER	1024	/* User-Agent, Referer */
#define LOGCAP_OURS	256	/* our own text: ids, names, time */

struct logline {
	char	buf[LOGLINE_MAX];
	size_t	len;
	int	json;
};

static void
ll_raw(struct logline *l, const char *s)
{
	size_t	n = strlen(s);

	if (n > sizeof(l->buf) - 1 - l->len)
		n = sizeof(l->buf) - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

/* The escaped content of one field, at most cap bytes. */
static void
ll_esc(struct logline *l, const char *s, size_t n, size_t cap)
{
	size_t	room = sizeof(l->buf) - l->len;

	if (cap + 1 < room)
		room = cap + 1;
	if (l->json)
		escape_json(l->buf + l->len, room, s, n);
	else
		escape_log(l->buf + l->len, room, s, n);
	l->len += strlen(l->buf + l->len);
}

static void
ll_name(struct logline *l, const char *name)
{
	ll_raw(l, l->len > 1 ? ",\"" : "\"");
	ll_raw(l, name);
	ll_raw(l, "\":");
}

/* A JSON member "name":"value", or a combined field "value" ("-" if none). */
static void
ll_field(struct logline *l, const char *name, const char *s, size_t n,
    size_t cap)
{
	if (l->json) {
		ll_name(l, name);
		ll_raw(l, "\"");
	} else
		ll_raw(l, " \"");
	if (s == NULL || (!l->json && n == 0))
		ll_raw(l, l->json ? "" : "-");
	else
		ll_esc(l, s, n, cap);
	ll_raw(l, "\"");
}

static void
ll_str(struct logline *l, const char *name, const char *s, size_t cap)
{
	ll_field(l, name, s, s != NULL ? strlen(s) : 0, cap);
}

/* A JSON member with a value written as is (number, true, null). */
static void
ll_bare(struct logline *l, const char *name, const char *v)
{
	ll_name(l, name);
	ll_raw(l, v);
}

static void
ll_num(struct logline *l, const char *name, unsigned long long v)
{
	char	num[32];

	snprintf(num, sizeof(num), "%llu", v);
	ll_bare(l, name, num);
}

/* The target as logged: the query is "?-" unless log_query says so. */
static void
ll_target(struct logline *l, const struct logreq *lr, int log_query)
{
	const char	*q = NULL;
	size_t		 n = lr->targetlen;
	size_t		 cap = LOGCAP_TARGET - 2;

	if (!log_query && lr->target != NULL &&
	    (q = memchr(lr->target, '?', n)) != NULL)
		n = (size_t)(q - lr->target);
	if (l->json) {
		ll_name(l, "target");
		ll_raw(l, "\"");
	}
	if (lr->target == NULL)
		ll_raw(l, l->json ? "" : "-");
	else
		ll_esc(l, lr->target, n, q != NULL ? cap : LOGCAP_TARGET);
	if (q != NULL)
		ll_raw(l, "?-");
	if (l->json)
		ll_raw(l, "\"");
}

static void
now_rfc3339(char *ts, size_t len)
{
	struct timespec	 now;
	struct tm	 tm;
	size_t		 n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, len - n, ".%03dZ", (int)(now.tv_nsec / 1000000));
}

/* Up to (not including) the linger fields. */
static void
json_head(struct logline *l, const struct logreq *lr, const struct answer *a,
    int log_query)
{
	char	ts[48], peer[64];

	now_rfc3339(ts, sizeof(ts));
	netaddr_str(&lr->peer, peer, sizeof(peer));
	ll_raw(l, "{");
	ll_str(l, "time", ts, LOGCAP_OURS);
	ll_str(l, "request_id", a->request_id, LOGCAP_OURS);
	ll_str(l, "client", a->client, LOGCAP_OURS);
	ll_str(l, "peer", lr->has_peer ? peer : "", LOGCAP_OURS);
	ll_str(l, "method", lr->method, LOGCAP_METHOD);
	ll_target(l, lr, log_query);
	ll_str(l, "proto", lr->proto, LOGCAP_OURS);
	ll_num(l, "status", (unsigned long long)a->status);
	ll_str(l, "reason", select_reason_name(a->reason), LOGCAP_OURS);
	ll_str(l, "region", a->region ? a->region : "", LOGCAP_OURS);
	ll_str(l, "country", a->country, LOGCAP_OURS);
	ll_str(l, "server", a->server_id ? a->server_id : "", LOGCAP_OURS);
	if (lr->chunked)
		ll_bare(l, "body", "\"chunked\"");
	else
		ll_num(l, "body", lr->length);
	ll_bare(l, "expect", lr->expect ? "true" : "false");
}

static void
json_tail(struct logline *l, const struct logreq *lr)
{
	ll_num(l, "duration_us", (unsigned long long)(lr->duration * 1e6));
	ll_str(l, "user_agent", lr->user_agent ? lr->user_agent : "",
	    LOGCAP_HEADER);
	ll_raw(l, "}");
}

/* Apache's combined format, then request id, server, reason, region. */
static void
log_combined(struct logline *l, const struct logreq *lr,
    const struct answer *a, int log_query)
{
	char		 ts[64], num[48];
	time_t		 now = time(NULL);
	struct tm	 tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	ll_esc(l, a->client, strlen(a->client), LOGCAP_OURS);
	ll_raw(l, " - - [");
	ll_raw(l, ts);
	ll_raw(l, "] \"");
	ll_esc(l, lr->method, strlen(lr->method), LOGCAP_METHOD);
	ll_raw(l, " ");
	ll_target(l, lr, log_query);
	ll_raw(l, " ");
	ll_esc(l, lr->proto ? lr->proto : "-",
	    lr->proto ? strlen(lr->proto) : 1, LOGCAP_OURS);
	if (a->bodylen > 0)
		snprintf(num, sizeof(num), "\" %d %zu", a->status, a->bodylen);
	else
		snprintf(num, sizeof(num), "\" %d -", a->status);
	ll_raw(l, num);
	ll_str(l, NULL, lr->referer, LOGCAP_HEADER);
	ll_str(l, NULL, lr->user_agent, LOGCAP_HEADER);
	ll_str(l, NULL, a->request_id, LOGCAP_OURS);
	ll_str(l, NULL, a->server_id, LOGCAP_OURS);
	ll_str(l, NULL, select_reason_name(a->reason), LOGCAP_OURS);
	ll_str(l, NULL, a->region, LOGCAP_OURS);
}

static const char *const linger_names[] = {
	[LINGER_EOF] = "eof", [LINGER_RESET] = "reset",
	[LINGER_BYTES] = "bytes", [LINGER_IDLE] = "idle",
	[LINGER_TIME] = "time", [LINGER_REFUSED] = "refused"
};

static void
ll_linger(struct logline *l, int outcome, uint64_t bytes)
{
	char	v[24];

	if (outcome < 0 || outcome >= LINGER__COUNT)
		ll_bare(l, "linger", "null");
	else {
		snprintf(v, sizeof(v), "\"%s\"", linger_names[outcome]);
		ll_bare(l, "linger", v);
	}
	ll_num(l, "linger_bytes", bytes);
}

/*
 * The line of one request.  With cn lingering (cn->dupfd set) a json
 * line waits in cn->logline for http_log_linger_done().
 */
void
http_log(const struct config *cfg, struct conn *cn, const struct logreq *lr,
    const struct answer *a)
{
	static _Thread_local struct logline	 l;
	size_t					 head;

	if (!log_access_enabled() || (a->health && !cfg->log.log_health))
		return;
	l.len = 0;
	l.buf[0] = '\0';
	l.json = cfg->log.format_json;
	if (!l.json) {
		log_combined(&l, lr, a, cfg->log.log_query);
		log_access_write(l.buf, l.len);
		return;
	}
	json_head(&l, lr, a, cfg->log.log_query);
	if (cn != NULL && cn->dupfd >= 0 && cn->logline == NULL) {
		/* head NUL tail: the linger fields go between. */
		head = l.len;
		json_tail(&l, lr);
		if ((cn->logline = malloc(l.len + 2)) != NULL) {
			memcpy(cn->logline, l.buf, head);
			cn->logline[head] = '\0';
			memcpy(cn->logline + head + 1, l.buf + head,
			    l.len - head + 1);
			return;
		}
		l.len = head;
		l.buf[head] = '\0';
	}
	ll_linger(&l, lr->linger_refused ? LINGER_REFUSED : -1, 0);
	json_tail(&l, lr);
	log_access_write(l.buf, l.len);
}

/* The lingering close of cn ended (the linger thread, or at once). */
void
http_log_linger_done(struct conn *cn, int outcome, uint64_t bytes)
{
	static _Thread_local struct logline	 l;
	size_t					 head;

	if (cn->logline == NULL)
		return;
	head = strlen(cn->logline);
	l.json = 1;
	l.len = 0;
	l.buf[0] = '\0';
	ll_raw(&l, cn->logline);
	ll_linger(&l, outcome, bytes);
	ll_raw(&l, cn->logline + head + 1);
	log_access_write(l.buf, l.len);
	free(cn->logline);
	cn->logline = NULL;
}
