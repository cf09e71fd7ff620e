/*
 * redis_subscriber: the subscriber thread of the Redis source (see
 * redis_source.c for both threads).  It holds SUBSCRIBE P changed and
 * only asks the refresh thread for a full read; with Sentinel it
 * follows the server the refresh thread reads from.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "fleet.h"
#include "fleet_rec.h"
#include "metrics.h"
#include "redis_source_internal.h"

/* A message already covered by a full read still to come is counted. */
static void
want_full(struct redis_source *src)
{
	pthread_mutex_lock(&src->lock);
	if (src->full_wanted)
		metrics_redis_change_coalesced();
	src->full_wanted = 1;
	pthread_cond_broadcast(&src->wake);
	pthread_mutex_unlock(&src->lock);
}

/* The refresh thread changed servers: follow it unless already there. */
static int
moved_away(struct redis_source *src, const struct redis_where *w)
{
	uint64_t	n;
	int		moved;

	(void)!read(src->movefd, &n, sizeof(n));
	pthread_mutex_lock(&src->lock);
	moved = strcmp(src->node, w->node) != 0;
	pthread_mutex_unlock(&src->lock);
	return moved;
}

/* A PING a second per router is nothing to Redis; refresh if longer. */
static double
ping_every(const struct redis_source *src)
{
	return src->refresh > 1.0 ? src->refresh : 1.0;
}

/* Milliseconds until the earlier of a and b (0 = none), -1 = forever. */
static int
wait_ms(double a, double b)
{
	double	t, now;

	if (a == 0 && b == 0)
		return -1;
	t = a == 0 ? b : b == 0 ? a : a < b ? a : b;
	if ((now = clock_mono()) >= t)
		return 0;
	return (int)((t - now) * 1000) + 1;
}

/*
 * Wait for a message, the stop eventfd, or a reason to choose the
 * server again; -1 on error, stop, or move.  The connection has no read
 * timeout (messages come when they come), so one is kept here: the
 * answer to SUBSCRIBE, and the rest of a reply begun, must arrive within
 * the command timeout, or the server is taken for stuck and left.  A
 * PING every refresh (at least a second) finds a connection that went silent (a
 * proxy or a server that stopped forwarding): its "pong" is due in time.
 */
static int
listen_changes(struct redis_source *src, redisContext *c,
    const struct redis_where *w)
{
	struct pollfd	 p[3];
	void		*reply;
	redisReply	*r;
	double		 until = clock_mono() + redis_recheck_every(src), due = 0;
	double		 ping = clock_mono() + ping_every(src);
	int		 n, ms, subscribed = 0, pinged = 0;

	p[0].fd = c->fd;
	p[0].events = POLLIN;
	p[1].fd = src->stopfd;
	p[1].events = POLLIN;
	p[2].fd = src->movefd;
	p[2].events = POLLIN;
	for (;;) {
		/* Replies already buffered first, then the socket. */
		while (redis_conn_reply_from_reader(c, &reply) == REDIS_OK &&
		    reply != NULL) {
			r = reply;
			n = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    (strcmp(r->element[0]->str, "message") == 0 ||
			    strcmp(r->element[0]->str, "subscribe") == 0 ||
			    strcmp(r->element[0]->str, "pong") == 0);
			if (n && strcmp(r->element[0]->str, "pong") == 0) {
				freeReplyObject(r);
				pinged = 0;
				continue;
			}
			freeReplyObject(r);
			/*
			 * An error (e.g. SUBSCRIBE refused) or anything but a
			 * pub/sub push: not subscribed, or not to a Redis.
			 */
			if (!n)
				return -1;
			subscribed = 1;
			due = 0;
			want_full(src);
		}
		if (c->err)
			return -1;
		if (subscribed && !pinged && clock_mono() >= ping) {
			if (redisAppendCommand(c, "PING") != REDIS_OK ||
			    redisBufferWrite(c, &(int){ 0 }) != REDIS_OK)
				return -1;
			pinged = 1;
			ping = clock_mono() + ping_every(src);
		}
		if (!subscribed || pinged || c->reader->pos < c->reader->len) {
			if (due == 0)
				due = clock_mono() + src->target.timeout;
		} else
			due = 0;
		if ((ms = wait_ms(w->fallback ? until : 0, due)) == 0)
			return -1;
		if (subscribed && !pinged && (ms < 0 || ms > (int)((ping -
		    clock_mono()) * 1000) + 1))
			ms = (int)((ping - clock_mono()) * 1000) + 1;
		if ((n = poll(p, 3, ms)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			continue;
		if (p[1].revents)
			return -1;
		if (p[2].revents && moved_away(src, w))
			return -1;
		if (p[0].revents && redis_conn_read(c) != REDIS_OK)
			return -1;
	}
}

void *
redis_subscribe_main(void *arg)
{
	struct redis_source	*src = arg;
	struct redis_where	 where;
	redisContext		*c;
	char			 err[512], *k, node[REDIS_NODE_MAX] = "";
	double			 backoff = BACKOFF_MIN;

	k = redis_key(src, KEY_CHANGED, NULL);
	for (;;) {
		if ((c = redis_connect(&src->target, REDIS_READ, &where, err,
		    sizeof(err))) != NULL) {
			if (src->target.sentinels.n > 0 &&
			    strcmp(node, where.node) != 0) {
				redis_log_node("subscribed on", &where);
				snprintf(node, sizeof(node), "%s", where.node);
			}
			/* No read timeout: the poll() below does the waiting. */
			redisSetTimeout(c, (struct timeval){ 0, 0 });
			if (redisAppendCommand(c, "SUBSCRIBE %s", k) ==
			    REDIS_OK && redisBufferWrite(c, &(int){ 0 }) ==
			    REDIS_OK) {
				backoff = BACKOFF_MIN;
				(void)listen_changes(src, c, &where);
			}
			redisFree(c);
		}
		/* The refresher's condition is not ours: poll the stop fd. */
		if (poll(&(struct pollfd){ src->stopfd, POLLIN, 0 }, 1,
		    (int)(backoff * 1000)) != 0)
			break;
		backoff = redis_backoff_next(backoff);
	}
	free(k);
	return NULL;
}
