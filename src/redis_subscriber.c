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
#include "fleetrec.h"
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

/*
 * Wait for a message, the stop eventfd, or a reason to choose the
 * server again; -1 on error, stop, or move.
 */
static int
listen_changes(struct redis_source *src, redisContext *c,
    const struct redis_where *w)
{
	struct pollfd	 p[3];
	void		*reply;
	redisReply	*r;
	double		 until = mono_now() + recheck_every(src);
	int		 n, ms = -1;

	p[0].fd = c->fd;
	p[0].events = POLLIN;
	p[1].fd = src->stopfd;
	p[1].events = POLLIN;
	p[2].fd = src->movefd;
	p[2].events = POLLIN;
	for (;;) {
		/* Replies already buffered first, then the socket. */
		while (redisconn_reply_from_reader(c, &reply) == REDIS_OK &&
		    reply != NULL) {
			r = reply;
			if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    (strcmp(r->element[0]->str, "message") == 0 ||
			    strcmp(r->element[0]->str, "subscribe") == 0))
				want_full(src);
			freeReplyObject(r);
		}
		if (c->err)
			return -1;
		/* On the fallback, try the url's server again in a while. */
		if (w->fallback && (ms = (int)((until - mono_now()) *
		    1000)) <= 0)
			return -1;
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
		if (p[0].revents && redisconn_read(c) != REDIS_OK)
			return -1;
	}
}

void *
subscribe_main(void *arg)
{
	struct redis_source	*src = arg;
	struct redis_where	 where;
	redisContext		*c;
	char			 err[512], *k, node[REDIS_NODE_MAX] = "";
	double			 backoff = BACKOFF_MIN;

	k = key(src, KEY_CHANGED, NULL);
	for (;;) {
		if ((c = redis_connect(&src->target, REDIS_READ, &where, err,
		    sizeof(err))) != NULL) {
			if (src->target.sentinels.n > 0 &&
			    strcmp(node, where.node) != 0) {
				log_node("subscribed on", &where);
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
		backoff = backoff_next(backoff);
	}
	free(k);
	return NULL;
}
