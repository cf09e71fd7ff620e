/*
 * The Redis source.  Two threads, each with its own connection (a
 * hiredis context is not thread-safe):
 *
 * - the refresh thread, every `refresh` seconds: GET P version and one
 *   MGET of every load key, pipelined; when the version moved, a
 *   "changed" message came, or `full_resync` passed: SMEMBERS P servers,
 *   one HGETALL per server (pipelined), HGETALL P regions, GET P
 *   maintenance.  Then it builds a fleet for the runtime in use and swaps
 *   it in.  Requests never wait for any of it.
 * - the subscriber thread holds SUBSCRIBE P changed.  Messages only ask
 *   the refresh thread for a full read, so a burst of changes costs one
 *   read (coalesced).  Messages sent while it was disconnected are lost:
 *   every (re)subscribe asks for a full read too.
 *
 * Redis down or slow: every command has a timeout; the refresh thread
 * drops the connection, keeps the last snapshot (its reports go stale
 * after stale_after, then selection fails open by weight), and reconnects
 * with capped exponential backoff.
 *
 * With Sentinel, both threads connect with REDIS_READ: the url's server
 * (e.g. a local replica) while ROLE says its data is live, else the
 * master.  The refresh thread asks again every full_resync seconds (a
 * replica may lose its master; one that was passed over may be back);
 * when its server changes it logs it and wakes the subscriber, which
 * follows.  A subscriber that fell back to the master also tries the
 * url's server again every full_resync seconds.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "epoch.h"
#include "fleetrec.h"
#include "log.h"
#include "metrics.h"
#include "rawfleet.h"
#include "redis_source.h"
#include "redisconn.h"

#define BACKOFF_MIN	0.1
#define BACKOFF_MAX	5.0
#define CMD_TIMEOUT	1.0		/* seconds, every command */
#define RECHECK_MIN	1.0		/* seconds, see recheck_every() */

struct redis_source {
	struct redis_target	 target;
	char			*prefix;
	double			 refresh;
	double			 full_resync;
	char			*cache_file;

	pthread_mutex_t		 lock;		/* raw, mem, wake, node */
	pthread_cond_t		 wake;
	struct raw_fleet	*raw;		/* latest records, or NULL */
	struct fleet_memory	*mem;
	int			 full_wanted;
	int			 stopping;

	pthread_t		 refresher, subscriber;
	int			 stopfd;	/* eventfd: wakes the subscriber */
	int			 movefd;	/* eventfd: node changed */
	char			 node[REDIS_NODE_MAX];	/* read from */
	int			 warned_version, warned_regions, warned_empty;
	atomic_int		 up;
};

static char *
key(const struct redis_source *src, const char *suffix, const char *id)
{
	char	*k;

	if (asprintf(&k, "%s%s%s", src->prefix, suffix, id ? id : "") < 0)
		return NULL;
	return k;
}

/*
 * With Sentinel, how often a thread chooses its server again: each
 * full_resync, but never in a loop (full_resync may be 0).
 */
static double
recheck_every(const struct redis_source *src)
{
	return src->full_resync > RECHECK_MIN ? src->full_resync :
	    RECHECK_MIN;
}

static double
backoff_next(double b)
{
	b *= 2;
	return b > BACKOFF_MAX ? BACKOFF_MAX : b;
}

/* Sleep on the condition for up to secs; returns 1 when stopping. */
static int
nap(struct redis_source *src, double secs)
{
	struct timespec	ts;
	int		stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&src->lock);
	if (!src->stopping && !src->full_wanted)
		pthread_cond_timedwait(&src->wake, &src->lock, &ts);
	stop = src->stopping;
	pthread_mutex_unlock(&src->lock);
	return stop;
}

/* --- reading ------------------------------------------------------- */

static int
reply_ok(redisReply *r, int type)
{
	return r != NULL && r->type == type;
}

/* GET P version: nil is version 0. */
static int
parse_version(redisReply *r, uint64_t *v)
{
	char	*end;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_NIL) {
		*v = 0;
		return 0;
	}
	if (r->type != REDIS_REPLY_STRING)
		return -1;
	errno = 0;
	*v = strtoull(r->str, &end, 10);
	return errno || *end != '\0' || end == r->str ? -1 : 0;
}

/*
 * One MGET of the load keys of ids[0..n); the values into loads[] (NULL
 * for a missing key).  The command is appended, not sent.
 */
static int
append_mget(redisContext *c, struct redis_source *src, char **ids, size_t n)
{
	const char	**argv;
	char		**keys;
	size_t		 i;
	int		 rc = -1;

	argv = calloc(n + 1, sizeof(*argv));
	keys = calloc(n + 1, sizeof(*keys));
	if (argv == NULL || keys == NULL)
		goto out;
	argv[0] = "MGET";
	for (i = 0; i < n; i++)
		if ((argv[i + 1] = keys[i] = key(src, KEY_LOAD, ids[i])) ==
		    NULL)
			goto out;
	rc = redisAppendCommandArgv(c, (int)n + 1, argv, NULL) == REDIS_OK ?
	    0 : -1;
out:
	for (i = 0; keys != NULL && i < n; i++)
		free(keys[i]);
	free(keys);
	free(argv);
	return rc;
}

static int
take_loads(redisReply *r, struct raw_fleet *raw)
{
	size_t	i;

	if (!reply_ok(r, REDIS_REPLY_ARRAY) || r->elements != raw->nservers)
		return -1;
	for (i = 0; i < raw->nservers; i++) {
		free(raw->servers[i].load);
		raw->servers[i].load = NULL;
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    (raw->servers[i].load = strdup(r->element[i]->str)) ==
		    NULL)
			return -1;
	}
	return 0;
}

static int
take_hash(redisReply *r, char ***fields, char ***values, size_t *n)
{
	size_t	i, m;

	if (!reply_ok(r, REDIS_REPLY_ARRAY) || r->elements % 2 != 0)
		return -1;
	m = r->elements / 2;
	*fields = calloc(m + 1, sizeof(char *));
	*values = calloc(m + 1, sizeof(char *));
	if (*fields == NULL || *values == NULL)
		return -1;
	for (i = 0; i < m; i++) {
		if (r->element[2 * i]->type != REDIS_REPLY_STRING ||
		    r->element[2 * i + 1]->type != REDIS_REPLY_STRING)
			return -1;
		(*fields)[i] = strdup(r->element[2 * i]->str);
		(*values)[i] = strdup(r->element[2 * i + 1]->str);
		*n = i + 1;
		if ((*fields)[i] == NULL || (*values)[i] == NULL)
			return -1;
	}
	return 0;
}

static int
get_reply(redisContext *c, redisReply **r)
{
	void	*p = NULL;

	if (redisGetReply(c, &p) != REDIS_OK) {
		*r = NULL;
		return -1;
	}
	*r = p;
	return 0;
}

/* A server key that is not a hash: a record with one impossible field. */
static int
wrong_type(struct raw_server *rs, redisReply *r)
{
	rs->fields = calloc(2, sizeof(char *));
	rs->values = calloc(2, sizeof(char *));
	if (rs->fields == NULL || rs->values == NULL)
		return -1;
	rs->fields[0] = strdup("(type)");
	rs->values[0] = strdup(r->type == REDIS_REPLY_ERROR && r->str ?
	    r->str : "not a hash");
	rs->n = 1;
	return rs->fields[0] && rs->values[0] ? 0 : -1;
}

/* Everything: the server set, each hash, regions, maintenance, loads. */
static struct raw_fleet *
read_full(redisContext *c, struct redis_source *src, char *err,
    size_t errlen)
{
	struct raw_fleet	*raw;
	redisReply		*r = NULL, *ids = NULL;
	char			*k;
	size_t			 i, n;

	if ((raw = calloc(1, sizeof(*raw))) == NULL)
		return NULL;
	k = key(src, KEY_VERSION, NULL);
	r = redisCommand(c, "GET %s", k);
	free(k);
	if (r == NULL)
		goto fail;
	/* A version that is not a number is an operator's mistake, not an
	 * outage: read on (full_resync still catches changes). */
	raw->has_version = r->type != REDIS_REPLY_NIL;
	if (parse_version(r, &raw->version) != 0) {
		raw->bad_version = 1;
		raw->version = 0;
	}
	freeReplyObject(r);
	k = key(src, KEY_SERVERS, NULL);
	ids = redisCommand(c, "SMEMBERS %s", k);
	free(k);
	if (!reply_ok(ids, REDIS_REPLY_ARRAY))
		goto fail;
	n = ids->elements;
	if ((raw->servers = calloc(n + 1, sizeof(*raw->servers))) == NULL)
		goto fail;
	/* Pipelined: one round trip for all of it (LIBRARY-NOTES). */
	for (i = 0; i < n; i++) {
		if (ids->element[i]->type != REDIS_REPLY_STRING ||
		    (raw->servers[i].id = strdup(ids->element[i]->str)) ==
		    NULL)
			goto fail;
		raw->nservers = i + 1;
		k = key(src, KEY_SERVER, raw->servers[i].id);
		redisAppendCommand(c, "HGETALL %s", k);
		free(k);
	}
	k = key(src, KEY_REGIONS, NULL);
	redisAppendCommand(c, "HGETALL %s", k);
	free(k);
	k = key(src, KEY_MAINT, NULL);
	redisAppendCommand(c, "GET %s", k);
	free(k);
	if (n > 0) {
		char	**idv = calloc(n + 1, sizeof(char *));

		if (idv == NULL)
			goto fail;
		for (i = 0; i < n; i++)
			idv[i] = raw->servers[i].id;
		i = append_mget(c, src, idv, n);
		free(idv);
		if (i != 0)
			goto fail;
	}
	/*
	 * One key of the wrong type is one bad record, never a failed
	 * read: the rest of the fleet must go on updating.
	 */
	for (i = 0; i < n; i++) {
		if (get_reply(c, &r) != 0)
			goto fail;
		if (r->type == REDIS_REPLY_ARRAY) {
			if (take_hash(r, &raw->servers[i].fields,
			    &raw->servers[i].values, &raw->servers[i].n) != 0)
				goto fail;
		} else if (wrong_type(&raw->servers[i], r) != 0)
			goto fail;
		freeReplyObject(r);
	}
	if (get_reply(c, &r) != 0)
		goto fail;
	if (r->type == REDIS_REPLY_ARRAY) {
		if (take_hash(r, &raw->rnames, &raw->rstates,
		    &raw->nregions) != 0)
			goto fail;
	} else
		raw->bad_regions = 1;
	freeReplyObject(r);
	if (get_reply(c, &r) != 0)
		goto fail;
	if (r->type == REDIS_REPLY_STRING)
		raw->maintenance = strdup(r->str);
	else if (r->type != REDIS_REPLY_NIL)	/* present, but no string */
		raw->maintenance = strdup("(not a string)");
	if (r->type != REDIS_REPLY_NIL && raw->maintenance == NULL)
		goto fail;
	freeReplyObject(r);
	r = NULL;
	if (n > 0 && (get_reply(c, &r) != 0 || take_loads(r, raw) != 0))
		goto fail;
	freeReplyObject(r);
	freeReplyObject(ids);
	raw->source = FLEET_REDIS;
	return raw;
fail:
	snprintf(err, errlen, "%s", c->err ? c->errstr :
	    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str :
	    "unexpected reply");
	freeReplyObject(r);
	freeReplyObject(ids);
	raw_fleet_free(raw);
	return NULL;
}

/*
 * The cheap poll: version and loads in one round trip.  Loads go into
 * raw in place (under the lock); *version gets the current version.
 */
static int
read_loads(redisContext *c, struct redis_source *src, uint64_t *version,
    char *err, size_t errlen)
{
	redisReply	*r = NULL;
	char		*k, **ids = NULL;
	size_t		 i, n = 0;
	int		 rc = -1;

	pthread_mutex_lock(&src->lock);
	if (src->raw != NULL && (n = src->raw->nservers) > 0) {
		if ((ids = calloc(n, sizeof(char *))) == NULL) {
			pthread_mutex_unlock(&src->lock);
			return -1;
		}
		for (i = 0; i < n; i++)
			ids[i] = strdup(src->raw->servers[i].id);
	}
	pthread_mutex_unlock(&src->lock);
	k = key(src, KEY_VERSION, NULL);
	redisAppendCommand(c, "GET %s", k);
	free(k);
	if (n > 0 && append_mget(c, src, ids, n) != 0)
		goto out;
	if (get_reply(c, &r) != 0)
		goto out;
	if (parse_version(r, version) != 0)
		*version = 0;		/* as read_full does: see warn_raw */
	freeReplyObject(r);
	r = NULL;
	if (n > 0) {
		if (get_reply(c, &r) != 0)
			goto out;
		pthread_mutex_lock(&src->lock);
		/* Only if the set of servers did not change meanwhile. */
		if (src->raw != NULL && src->raw->nservers == n)
			(void)take_loads(r, src->raw);
		if (src->raw != NULL)
			src->raw->taken_mono = mono_now();
		pthread_mutex_unlock(&src->lock);
	} else {
		pthread_mutex_lock(&src->lock);
		if (src->raw != NULL)
			src->raw->taken_mono = mono_now();
		pthread_mutex_unlock(&src->lock);
	}
	rc = 0;
out:
	if (rc != 0)
		snprintf(err, errlen, "%s", c->err ? c->errstr :
		    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
	freeReplyObject(r);
	for (i = 0; ids != NULL && i < n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

/* Say once what is wrong with the keys around the records. */
static void
warn_raw(struct redis_source *src, const struct raw_fleet *raw)
{
	if (raw->bad_version && !src->warned_version)
		log_warn("redis: %s%s is not a number: changes are seen at "
		    "full_resync only", src->prefix, KEY_VERSION);
	if (raw->bad_regions && !src->warned_regions)
		log_warn("redis: %s%s is not a hash: no region is drained",
		    src->prefix, KEY_REGIONS);
	if (!raw->has_version && raw->nservers == 0 && !src->warned_empty)
		log_warn("redis: no %s%s and no servers: an empty or flushed "
		    "Redis; keeping the last snapshot if there is one",
		    src->prefix, KEY_VERSION);
	src->warned_version = raw->bad_version;
	src->warned_regions = raw->bad_regions;
	src->warned_empty = !raw->has_version && raw->nservers == 0;
}

/* --- publishing ---------------------------------------------------- */

struct fleet *
redis_source_fleet(struct redis_source *src, const struct runtime *rt)
{
	struct fleet	*f = NULL;

	pthread_mutex_lock(&src->lock);
	if (src->raw != NULL)
		f = raw_fleet_build(src->raw, rt, src->mem);
	pthread_mutex_unlock(&src->lock);
	return f;
}

/* Build a fleet for the runtime in use and swap it in. */
static void
publish(struct redis_source *src)
{
	struct runtime	*rt;
	struct fleet	*f, *old = NULL;

	epoch_enter();
	if ((rt = (struct runtime *)runtime_current()) != NULL &&
	    (f = redis_source_fleet(src, rt)) != NULL)
		old = runtime_swap_fleet(rt, f);
	epoch_exit();
	if (old != NULL) {
		epoch_wait();
		fleet_free(old);
	}
}

static void
save_cache(struct redis_source *src)
{
	char	err[512];
	int	rc;

	if (src->cache_file == NULL)
		return;
	pthread_mutex_lock(&src->lock);
	rc = src->raw ? raw_fleet_save(src->raw, src->cache_file, err,
	    sizeof(err)) : 0;
	pthread_mutex_unlock(&src->lock);
	if (rc != 0)
		log_warn("fleet cache: %s", err);
}

/* Say which server a thread uses, and why not the url's own. */
static void
log_node(const char *doing, const struct redis_where *w)
{
	if (w->fallback)
		log_warn("redis: %s %s, the master Sentinel names; not the "
		    "[redis] url's server: %s", doing, w->node, w->why);
	else
		log_info("redis: %s %s, the [redis] url's server", doing,
		    w->node);
}

/*
 * With Sentinel, log the server the refresh thread reads from whenever
 * it changes, and wake the subscriber so that it follows.
 */
static void
note_node(struct redis_source *src, const struct redis_where *w)
{
	uint64_t	one = 1;
	int		moved;

	if (src->target.sentinels.n == 0)
		return;
	pthread_mutex_lock(&src->lock);
	if ((moved = strcmp(src->node, w->node) != 0))
		snprintf(src->node, sizeof(src->node), "%s", w->node);
	pthread_mutex_unlock(&src->lock);
	if (!moved)
		return;
	log_node("reading from", w);
	(void)!write(src->movefd, &one, sizeof(one));
}

/*
 * With Sentinel, is c still the server to read from?  The url's server
 * must still pass ROLE (a replica that lost its master serves old data);
 * a fallback to the master is given up so that the next connect tries
 * the url's server first, e.g. a local replica that came back.
 */
static int
node_still_right(struct redis_source *src, redisContext *c,
    const struct redis_where *w)
{
	char	err[512];

	if (src->target.sentinels.n == 0)
		return 1;
	if (w->fallback)
		return 0;
	if (redis_still_readable(c, w->node, err, sizeof(err)) == 0)
		return 1;
	log_warn("redis: %s; choosing the server again", err);
	return 0;
}

static void *
refresh_main(void *arg)
{
	struct redis_source	*src = arg;
	struct raw_fleet	*raw, *old;
	redisContext		*c = NULL;
	struct redis_where	 where;
	uint64_t		 version, have;
	double			 backoff = BACKOFF_MIN, next_full = 0, wait;
	double			 next_check = 0;
	char			 err[512];
	int			 full, was_up = -1;

	for (;;) {
		if (c != NULL && mono_now() >= next_check &&
		    !node_still_right(src, c, &where)) {
			redisFree(c);
			c = NULL;
		}
		if (c == NULL) {
			if ((c = redis_connect(&src->target, REDIS_READ,
			    &where, err, sizeof(err))) == NULL)
				goto down;
			note_node(src, &where);
			next_check = mono_now() + recheck_every(src);
		}
		pthread_mutex_lock(&src->lock);
		full = src->full_wanted || src->raw == NULL ||
		    src->raw->source != FLEET_REDIS || mono_now() >= next_full;
		src->full_wanted = 0;
		have = src->raw ? src->raw->version : 0;
		pthread_mutex_unlock(&src->lock);
		if (!full) {
			if (read_loads(c, src, &version, err, sizeof(err)) != 0)
				goto down;
			full = version != have;
		}
		if (full) {
			if ((raw = read_full(c, src, err, sizeof(err))) == NULL)
				goto down;
			raw->taken_wall = time(NULL);
			raw->taken_mono = mono_now();
			warn_raw(src, raw);
			pthread_mutex_lock(&src->lock);
			if (!raw->has_version && raw->nservers == 0 &&
			    src->raw != NULL && src->raw->nservers > 0) {
				/*
				 * No version and no servers: a flushed or
				 * restarted Redis, not an operator's choice
				 * (removing every server still leaves the
				 * version).  Keep the snapshot and the cache.
				 */
				pthread_mutex_unlock(&src->lock);
				raw_fleet_free(raw);
				next_full = mono_now() + src->full_resync;
				goto served;
			}
			old = src->raw;
			src->raw = raw;
			pthread_mutex_unlock(&src->lock);
			if (old == NULL || old->version != raw->version ||
			    old->source != FLEET_REDIS)
				save_cache(src);
			raw_fleet_free(old);
			next_full = mono_now() + src->full_resync;
		}
served:
		publish(src);
		if (was_up != 1)
			log_info("redis: up (%s)", full ? "full read" : "loads");
		was_up = 1;
		atomic_store(&src->up, 1);
		metrics_set_redis_up(1);
		backoff = BACKOFF_MIN;
		wait = src->refresh;
		goto sleep;
down:
		if (c != NULL) {
			redisFree(c);
			c = NULL;
		}
		if (was_up != 0)
			log_warn("redis: %s; serving the last snapshot, "
			    "retrying", err);
		was_up = 0;
		atomic_store(&src->up, 0);
		metrics_set_redis_up(0);
		/*
		 * The snapshot in use stays; its reports go stale on their
		 * own (fresh_until), and selection then fails open.
		 */
		wait = backoff;
		backoff = backoff_next(backoff);
sleep:
		if (nap(src, wait))
			break;
	}
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/* --- the subscriber ------------------------------------------------ */

static void
want_full(struct redis_source *src)
{
	pthread_mutex_lock(&src->lock);
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
		while (redisGetReplyFromReader(c, &reply) == REDIS_OK &&
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
		if (p[0].revents && redisBufferRead(c) != REDIS_OK)
			return -1;
	}
}

static void *
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

/* --- start and stop ------------------------------------------------ */

struct redis_source *
redis_source_start(const struct config *cfg, char *err, size_t errlen)
{
	struct redis_source	*src;
	char			 cerr[512];

	if ((src = calloc(1, sizeof(*src))) == NULL ||
	    (src->mem = fleet_memory_new()) == NULL) {
		free(src);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&src->lock, NULL);
	pthread_cond_init(&src->wake, NULL);
	src->stopfd = src->movefd = -1;
	if (redis_target_parse(cfg->redis.url, &cfg->redis.sentinels,
	    cfg->redis.master, CMD_TIMEOUT, &src->target, err, errlen) != 0)
		goto fail;
	src->prefix = strdup(cfg->redis.prefix);
	src->refresh = cfg->redis.refresh;
	src->full_resync = cfg->redis.full_resync;
	if (cfg->redis.cache_file != NULL)
		src->cache_file = strdup(cfg->redis.cache_file);
	if (src->prefix == NULL ||
	    (cfg->redis.cache_file != NULL && src->cache_file == NULL) ||
	    (src->stopfd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    (src->movefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "out of resources");
		goto fail;
	}
	/* Until Redis answers, a young enough cache stands in (SPEC 3). */
	if (src->cache_file != NULL) {
		if ((src->raw = raw_fleet_load(src->cache_file,
		    cfg->redis.cache_max_age, cerr, sizeof(cerr))) != NULL)
			log_info("fleet cache: version %llu from %s",
			    (unsigned long long)src->raw->version,
			    src->cache_file);
		else if (access(src->cache_file, F_OK) == 0)
			log_warn("fleet cache not used: %s", cerr);
	}
	if (pthread_create(&src->refresher, NULL, refresh_main, src) != 0) {
		snprintf(err, errlen, "redis: cannot start a thread");
		goto fail;
	}
	if (pthread_create(&src->subscriber, NULL, subscribe_main, src) !=
	    0) {
		snprintf(err, errlen, "redis: cannot start a thread");
		pthread_mutex_lock(&src->lock);
		src->stopping = 1;
		pthread_cond_broadcast(&src->wake);
		pthread_mutex_unlock(&src->lock);
		pthread_join(src->refresher, NULL);
		goto fail;
	}
	return src;
fail:
	if (src->stopfd >= 0)
		close(src->stopfd);
	if (src->movefd >= 0)
		close(src->movefd);
	redis_target_free(&src->target);
	raw_fleet_free(src->raw);
	fleet_memory_free(src->mem);
	free(src->prefix);
	free(src->cache_file);
	free(src);
	return NULL;
}

void
redis_source_stop(struct redis_source *src)
{
	uint64_t	one = 1;

	if (src == NULL)
		return;
	pthread_mutex_lock(&src->lock);
	src->stopping = 1;
	pthread_cond_broadcast(&src->wake);
	pthread_mutex_unlock(&src->lock);
	(void)!write(src->stopfd, &one, sizeof(one));
	pthread_join(src->refresher, NULL);
	pthread_join(src->subscriber, NULL);
	close(src->stopfd);
	close(src->movefd);
	redis_target_free(&src->target);
	raw_fleet_free(src->raw);
	fleet_memory_free(src->mem);
	free(src->prefix);
	free(src->cache_file);
	free(src);
}

int
redis_source_check(const struct runtime *rt, char *msg, size_t msglen)
{
	struct redis_source	 tmp;
	struct raw_fleet	*raw;
	struct fleet_memory	*mem;
	struct fleet		*f;
	redisContext		*c;
	char			 err[512];

	memset(&tmp, 0, sizeof(tmp));
	tmp.prefix = rt->cfg->redis.prefix;
	if (redis_target_parse(rt->cfg->redis.url, &rt->cfg->redis.sentinels,
	    rt->cfg->redis.master, CMD_TIMEOUT, &tmp.target, msg, msglen) != 0)
		return -1;
	c = redis_connect(&tmp.target, REDIS_READ, NULL, err, sizeof(err));
	redis_target_free(&tmp.target);
	if (c == NULL) {
		snprintf(msg, msglen, "redis not checked: %s", err);
		return 1;
	}
	raw = read_full(c, &tmp, err, sizeof(err));
	redisFree(c);
	if (raw == NULL) {
		snprintf(msg, msglen, "redis not checked: %s", err);
		return 1;
	}
	/* Building logs every record the config would reject. */
	raw->taken_mono = mono_now();
	if ((mem = fleet_memory_new()) == NULL ||
	    (f = raw_fleet_build(raw, rt, mem)) == NULL) {
		fleet_memory_free(mem);
		raw_fleet_free(raw);
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	snprintf(msg, msglen, "redis: version %llu, %zu of %zu servers valid",
	    (unsigned long long)raw->version, f->nservers, raw->nservers);
	fleet_free(f);
	fleet_memory_free(mem);
	raw_fleet_free(raw);
	return 0;
}

int
redis_source_up(struct redis_source *src)
{
	return atomic_load(&src->up);
}
