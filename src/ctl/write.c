/*
 * Operator changes (SPEC section 3): optimistic, atomic, announced.
 *
 *	WATCH P version [keys the change depends on]
 *	GET P version			-> v (nil = 0)
 *	(the command's checks, e.g. that the server exists)
 *	MULTI
 *	the change
 *	INCR P version
 *	XADD P changes MAXLEN ~ 100000 * version v+1 ids <id,...>
 *	PUBLISH P changed v+1
 *	EXEC				nil: someone else wrote; again
 *					after a jittered, growing pause
 *
 * so a router that sees version v+1 sees the change, reads in the feed
 * which servers it touched (and re-reads only those), and every change
 * is announced exactly once with the version it made.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

int
ctl_queue(struct ctl *c, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;
	int		 ok;

	va_start(ap, fmt);
	r = ctl_vcommand(c, fmt, ap);
	va_end(ap);
	if (r == NULL)
		return -1;
	ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "QUEUED") == 0;
	freeReplyObject(r);
	if (!ok) {
		ctl_err(CTL_REDIS, "redis: command not queued in MULTI");
		return -1;
	}
	c->queued++;
	return 0;
}

int
ctl_exists(struct ctl *c, const char *suffix, const char *id, int *exists)
{
	redisReply	*r;
	char		 k[CTL_KEY_MAX];

	if (ctl_key(c, k, sizeof(k), suffix, id) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if ((r = ctl_command(c, "EXISTS %s", k)) == NULL)
		return CTL_REDIS;
	if (r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		return ctl_err(CTL_REDIS, "redis: EXISTS: unexpected reply");
	}
	*exists = r->integer > 0;
	freeReplyObject(r);
	return CTL_OK;
}

/* GET P version: nil is 0; anything but a counter is an error. */
static int
read_version(struct ctl *c, const char *key, uint64_t *v)
{
	redisReply	*r;
	int		 rc = CTL_OK;

	if ((r = ctl_command(c, "GET %s", key)) == NULL)
		return CTL_REDIS;
	*v = 0;
	/* The router's rule, and room for one INCR. */
	if (r->type == REDIS_REPLY_STRING) {
		if (fleet_rec_version(r->str, v) == -1 || *v == INT64_MAX) {
			char	*p = ctl_printable(r->str);

			rc = ctl_err(CTL_FAIL, "%s holds \"%.40s\", not a "
			    "version counter", key, p != NULL ? p : "");
			free(p);
		}
	} else if (r->type != REDIS_REPLY_NIL)
		rc = ctl_err(CTL_REDIS, "redis: GET %s: unexpected reply", key);
	freeReplyObject(r);
	return rc;
}

static int
watch(struct ctl *c, const struct ctl_change *ch, const char *vkey)
{
	const char	*argv[4];
	redisReply	*r;
	size_t		 i, argc = 0;
	int		 rc;

	argv[argc++] = "WATCH";
	argv[argc++] = vkey;
	for (i = 0; i < ch->nwatch && argc < 4; i++)
		argv[argc++] = ch->watch[i];
	r = redis_conn_command_argv(c->rc, (int)argc, argv);
	rc = ctl_reply_error(c, r, "WATCH");
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

/* MULTI: from here on commands are queued. 1 on success. */
static int
begin(struct ctl *c)
{
	redisReply	*r;

	c->queued = 0;
	if ((r = ctl_command(c, "MULTI")) == NULL)
		return 0;
	freeReplyObject(r);
	return 1;
}

static void
discard(struct ctl *c, const char *cmd)
{
	redisReply	*r;

	if ((r = redis_conn_command(c->rc, "%s", cmd)) != NULL)
		freeReplyObject(r);
}

/*
 * EXEC's answer: nil when a watched key moved (-1 then), an array of
 * the replies otherwise; an error inside is a failed change.
 */
static int
exec(struct ctl *c, uint64_t *version)
{
	redisReply	*r, *e;
	size_t		 i;
	int		 rc = CTL_OK;
	char		*msg;

	if ((r = ctl_command(c, "EXEC")) == NULL)
		return CTL_REDIS;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != c->queued) {
		freeReplyObject(r);
		return ctl_err(CTL_REDIS, "redis: EXEC: unexpected reply");
	}
	for (i = 0; i < r->elements && rc == CTL_OK; i++) {
		e = r->element[i];
		if (e->type == REDIS_REPLY_ERROR) {
			msg = ctl_printable(e->str);
			rc = ctl_err(CTL_REDIS, "redis: EXEC: %s (the change "
			    "may be partly applied)", msg ? msg : "error");
			free(msg);
		}
	}
	/* INCR comes before XADD and PUBLISH: its value is the version. */
	e = r->element[r->elements - 3];
	if (rc == CTL_OK && e->type == REDIS_REPLY_INTEGER)
		*version = (uint64_t)e->integer;
	freeReplyObject(r);
	return rc;
}

/*
 * Another writer won the race for P version.  Wait a random time in
 * [0, 2^attempt * CTL_RETRY_BASE) before the next try: writers that
 * collided spread out instead of colliding again in lockstep.
 */
static void
pause_before_retry(int attempt)
{
	struct timespec	ts;
	uint32_t	r;
	double		s;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)getpid() * 2654435761u + (uint32_t)attempt;
	s = (double)r / 4294967296.0 * CTL_RETRY_BASE * (double)(1 << attempt);
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

int
ctl_write(struct ctl *c, const struct ctl_change *ch, uint64_t *version)
{
	char		 vkey[CTL_KEY_MAX], chan[CTL_KEY_MAX], feed[CTL_KEY_MAX];
	char		 next[24];
	uint64_t	 v;
	int		 attempt, rc;

	if (ctl_key(c, vkey, sizeof(vkey), KEY_VERSION, NULL) == -1 ||
	    ctl_key(c, chan, sizeof(chan), KEY_CHANGED, NULL) == -1 ||
	    ctl_key(c, feed, sizeof(feed), KEY_CHANGES, NULL) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	for (attempt = 0; attempt <= CTL_RETRIES; attempt++) {
		if ((rc = watch(c, ch, vkey)) != CTL_OK ||
		    (rc = read_version(c, vkey, &v)) != CTL_OK)
			return rc;
		/* CTL_NOOP: *version is the one that stays. */
		*version = v;
		if (ch->check != NULL && (rc = ch->check(c, ch->arg)) != 0) {
			discard(c, "UNWATCH");
			return rc;
		}
		*version = v + 1;
		snprintf(next, sizeof(next), "%" PRIu64, v + 1);
		if (!begin(c) || ch->queue(c, ch->arg) == -1 ||
		    ctl_queue(c, "INCR %s", vkey) == -1 ||
		    ctl_queue(c, "XADD %s MAXLEN ~ %d * version %s ids %s", feed,
		    FEED_MAXLEN, next, ch->ids != NULL ? ch->ids : "") == -1 ||
		    ctl_queue(c, "PUBLISH %s %s", chan, next) == -1) {
			if (c->rc->err == 0)
				discard(c, "DISCARD");
			return CTL_REDIS;
		}
		if ((rc = exec(c, version)) != -1)
			return rc;
		if (attempt < CTL_RETRIES)
			pause_before_retry(attempt);
	}
	return ctl_err(CTL_REDIS, "the fleet kept changing under this write "
	    "(%d attempts): try again", CTL_RETRIES + 1);
}
