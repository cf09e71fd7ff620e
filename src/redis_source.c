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
 *
 * This file holds the refresh thread, publishing (the fleet swapped
 * into the runtime, the cache file), and start, stop and --check;
 * redis_read.c reads the keys, redis_subscriber.c is the subscriber
 * thread.
 */
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
#include "log.h"
#include "metrics.h"
#include "fleet_raw.h"
#include "redis_source.h"
#include "redis_source_internal.h"
#include "redis_conn.h"

#define CMD_TIMEOUT	1.0		/* seconds, every command */
#define RECHECK_MIN	1.0		/* seconds, see redis_recheck_every() */
#define PACE_BURST	5.0		/* full reads, see pace_fill() */
#define MESSAGE_GAP	0.005		/* seconds between message rounds */

struct pace {
	double	tokens;			/* full reads that may start now */
	double	at;			/* clock_mono() of the last fill */
};

char *
redis_key(const struct redis_source *src, const char *suffix, const char *id)
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
double
redis_recheck_every(const struct redis_source *src)
{
	return src->full_resync > RECHECK_MIN ? src->full_resync :
	    RECHECK_MIN;
}

double
redis_backoff_next(double b)
{
	b *= 2;
	return b > BACKOFF_MAX ? BACKOFF_MAX : b;
}

/* Wait on the condition until clock_mono() reaches t (caller locks). */
static void
wait_until(struct redis_source *src, double t)
{
	struct timespec	ts;
	double		secs = t - clock_mono();

	if (secs <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&src->wake, &src->lock, &ts);
}

/*
 * Full reads asked for by change messages (a message whose version the
 * feed does not cover, or one without a version bump), paced by a token
 * bucket: a
 * burst of up to PACE_BURST changes is read at once (one operator change
 * reaches serving in milliseconds), beyond that one full read per
 * refresh interval, whatever the message rate: a PUBLISH flood once
 * cost a full read, 10,000 HGETALLs, per message.  The messages in
 * between are coalesced into the next read.
 */
static void
pace_fill(struct pace *p, double refresh, double now)
{
	p->tokens = refresh > 0 ? p->tokens + (now - p->at) / refresh :
	    PACE_BURST;
	if (p->tokens > PACE_BURST)
		p->tokens = PACE_BURST;
	p->at = now;
}

/* When the next message-driven full read may start. */
static double
pace_ready(struct pace *p, double refresh)
{
	double	now = clock_mono();

	pace_fill(p, refresh, now);
	return p->tokens >= 1 ? now : now + (1 - p->tokens) * refresh;
}

static void
pace_take(struct pace *p, double refresh)
{
	pace_fill(p, refresh, clock_mono());
	p->tokens = p->tokens >= 1 ? p->tokens - 1 : 0;
}

/*
 * Sleep for secs; a change message cuts it short, but not before
 * earliest (message rounds are at most one per MESSAGE_GAP: a flood
 * coalesces).  Returns 1 when stopping.
 */
static int
nap(struct redis_source *src, double secs, double earliest)
{
	double	until = clock_mono() + secs, now;
	int	stop;

	pthread_mutex_lock(&src->lock);
	while (!src->stopping && (now = clock_mono()) < until &&
	    !(src->full_wanted && now >= earliest))
		wait_until(src, src->full_wanted && earliest < until ?
		    earliest : until);
	stop = src->stopping;
	pthread_mutex_unlock(&src->lock);
	return stop;
}

/* --- publishing ---------------------------------------------------- */

struct fleet *
redis_source_fleet(struct redis_source *src, const struct runtime *rt)
{
	struct fleet	*f = NULL;

	pthread_mutex_lock(&src->lock);
	if (src->raw != NULL)
		f = fleet_raw_build(src->raw, rt, src->mem);
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
	/*
	 * Only the refresh thread (this one) replaces src->raw, so it may
	 * read it without the lock, and the write and fsync of a large cache
	 * do not hold up a SIGHUP's redis_source_fleet().
	 */
	rc = src->raw ? fleet_raw_save(src->raw, src->cache_file, err,
	    sizeof(err)) : 0;
	if (rc != 0)
		log_warn("fleet cache: %s", err);
}

/* Say which server a thread uses, and why not the url's own. */
void
redis_log_node(const char *doing, const struct redis_where *w)
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
	redis_log_node("reading from", w);
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

/* The refresh thread's own state between rounds. */
struct refresher {
	redisContext		*c;
	struct redis_where	 where;
	double			 backoff, next_full, next_check;
	struct pace		 pace;
	double			 last_round;	/* clock_mono() it started */
	int			 was_up;		/* -1: not yet known */
};

/*
 * A full read a change message asks for: now when the pace allows, else
 * it is due when it does (the round at that time makes it).
 */
static int
paced_full(struct redis_source *src, struct refresher *rf)
{
	double	at = pace_ready(&rf->pace, src->refresh);

	/* pace_ready says "now" with its own clock reading: not later. */
	if (at <= clock_mono()) {
		pace_take(&rf->pace, src->refresh);
		return 1;
	}
	if (at < rf->next_full)
		rf->next_full = at;
	return 0;
}

/* A ready context on the node reads should go to, or -1. */
static int
refresh_connect(struct redis_source *src, struct refresher *rf, char *err,
    size_t errlen)
{
	if (rf->c != NULL && clock_mono() >= rf->next_check &&
	    !node_still_right(src, rf->c, &rf->where)) {
		redisFree(rf->c);
		rf->c = NULL;
	}
	if (rf->c != NULL)
		return 0;
	if ((rf->c = redis_connect(&src->target, REDIS_READ, &rf->where, err,
	    errlen)) == NULL)
		return -1;
	note_node(src, &rf->where);
	rf->next_check = clock_mono() + redis_recheck_every(src);
	return 0;
}

/*
 * A full read swapped in as the source's records; *save says whether the
 * cache file is due.  No version and no servers while the records had
 * some: a flushed or restarted Redis, not an operator's choice (removing
 * every server still leaves the version), so the snapshot and the cache
 * stay.
 */
static int
refresh_full(struct redis_source *src, struct refresher *rf, int *save,
    char *err, size_t errlen)
{
	struct raw_fleet	*raw, *old;

	if ((raw = redis_read_full(rf->c, src, err, errlen)) == NULL)
		return -1;
	if (redis_feed_tail(rf->c, src, raw, err, errlen) != 0) {
		fleet_raw_free(raw);
		return -1;
	}
	raw->taken_wall = time(NULL);
	raw->taken_mono = clock_mono();
	redis_warn_raw(src, raw);
	rf->next_full = clock_mono() + src->full_resync;
	pthread_mutex_lock(&src->lock);
	if (!raw->has_version && raw->nservers == 0 && src->raw != NULL &&
	    src->raw->nservers > 0) {
		pthread_mutex_unlock(&src->lock);
		fleet_raw_free(raw);
		return 0;
	}
	old = src->raw;
	src->raw = raw;
	pthread_mutex_unlock(&src->lock);
	*save = old == NULL || old->version != raw->version ||
	    old->source != FLEET_REDIS;
	fleet_raw_free(old);
	return 0;
}

/*
 * One round.  On the timer, the cheap poll (version and loads); on a
 * change message, the version alone.  When the version moved, the change
 * feed names the servers to re-read.  A full read instead: at start,
 * every full_resync, when the feed does not cover a change, and when a
 * message came without a version bump (message-driven full reads are
 * paced).  Then publish.  0 served (*full says how), -1 with err.
 */
static int
refresh_once(struct redis_source *src, struct refresher *rf, int *full,
    char *err, size_t errlen)
{
	uint64_t	version, have;
	int		save = 0, fed, message;

	rf->last_round = clock_mono();
	if (refresh_connect(src, rf, err, errlen) != 0)
		return -1;
	pthread_mutex_lock(&src->lock);
	message = src->full_wanted;
	*full = src->raw == NULL || src->raw->source != FLEET_REDIS ||
	    clock_mono() >= rf->next_full;
	src->full_wanted = 0;
	have = src->raw ? src->raw->version : 0;
	pthread_mutex_unlock(&src->lock);
	if (!*full) {
		if ((message ? redis_read_version(rf->c, src, &version, err, errlen) :
		    redis_read_loads(rf->c, src, &version, err, errlen)) != 0)
			return -1;
		if (version != have) {
			if ((fed = redis_feed_catch_up(rf->c, src, version, err,
			    errlen)) < 0)
				return -1;
			save = fed == 0;
			*full = fed == 1 && (!message || paced_full(src, rf));
		} else if (message)
			*full = paced_full(src, rf);
		/* A message that gets no full read of its own: coalesced. */
		if (message && !*full)
			metrics_redis_change_coalesced();
	}
	if (*full && refresh_full(src, rf, &save, err, errlen) != 0)
		return -1;
	publish(src);
	/* Serve first: the cache's fsync is not the change's latency. */
	if (save)
		save_cache(src);
	return 0;
}

/* Say a state change once; the wait until the next round. */
static double
refresh_up(struct redis_source *src, struct refresher *rf, int full)
{
	if (rf->was_up != 1)
		log_info("redis: up (%s)", full ? "full read" : "loads");
	rf->was_up = 1;
	atomic_store(&src->up, 1);
	metrics_set_redis_up(1);
	rf->backoff = BACKOFF_MIN;
	return src->refresh;
}

/*
 * The snapshot in use stays; its reports go stale on their own
 * (fresh_until), and selection then fails open.  A context that failed
 * is dropped: replies left unread would be taken for the next ones.
 */
static double
refresh_down(struct redis_source *src, struct refresher *rf,
    const char *err)
{
	double	wait = rf->backoff;

	if (rf->c != NULL) {
		redisFree(rf->c);
		rf->c = NULL;
	}
	if (rf->was_up != 0)
		log_warn("redis: %s; serving the last snapshot, retrying", err);
	rf->was_up = 0;
	atomic_store(&src->up, 0);
	metrics_set_redis_up(0);
	rf->backoff = redis_backoff_next(rf->backoff);
	return wait;
}

static void *
refresh_main(void *arg)
{
	struct redis_source	*src = arg;
	struct refresher	 rf;
	char			 err[512];
	double			 wait;
	int			 full;

	memset(&rf, 0, sizeof(rf));
	rf.backoff = BACKOFF_MIN;
	rf.pace = (struct pace){ PACE_BURST, clock_mono() };
	rf.was_up = -1;
	do {
		full = 0;
		if (refresh_once(src, &rf, &full, err, sizeof(err)) == 0)
			wait = refresh_up(src, &rf, full);
		else
			wait = refresh_down(src, &rf, err);
	} while (!nap(src, wait, rf.last_round + MESSAGE_GAP));
	if (rf.c != NULL)
		redisFree(rf.c);
	return NULL;
}

/* --- start and stop ------------------------------------------------ */

struct redis_source *
redis_source_start(const struct config *cfg, char *err, size_t errlen)
{
	struct redis_source	*src;
	char			 cerr[512];

	if ((src = calloc(1, sizeof(*src))) == NULL ||
	    (src->mem = fleet_raw_memory_new()) == NULL) {
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
		if ((src->raw = fleet_raw_load(src->cache_file,
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
	if (pthread_create(&src->subscriber, NULL, redis_subscribe_main, src) !=
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
	fleet_raw_free(src->raw);
	fleet_raw_memory_free(src->mem);
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
	fleet_raw_free(src->raw);
	fleet_raw_memory_free(src->mem);
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
	raw = redis_read_full(c, &tmp, err, sizeof(err));
	redisFree(c);
	if (raw == NULL) {
		snprintf(msg, msglen, "redis not checked: %s", err);
		return 1;
	}
	/* Building logs every record the config would reject. */
	raw->taken_mono = clock_mono();
	if ((mem = fleet_raw_memory_new()) == NULL ||
	    (f = fleet_raw_build(raw, rt, mem)) == NULL) {
		fleet_raw_memory_free(mem);
		fleet_raw_free(raw);
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	snprintf(msg, msglen, "redis: version %llu, %zu of %zu servers valid",
	    (unsigned long long)raw->version, f->nservers, raw->nservers);
	fleet_free(f);
	fleet_raw_memory_free(mem);
	fleet_raw_free(raw);
	return 0;
}

int
redis_source_up(struct redis_source *src)
{
	return atomic_load(&src->up);
}
