/*
 * redis_source_internal: private to the Redis source.  Only
 * src/redis_source.c, src/redis_read.c, src/redis_feed.c and
 * src/redis_subscriber.c include it; everything else uses redis_source.h.
 *
 * What the three files share: the source's state, which both threads
 * and --check's stand-in use, and the functions one file lends the
 * others.  Those keep their short names: they are global only so that
 * the files of this module can reach each other.
 */
#ifndef GEO307_REDIS_SOURCE_INTERNAL_H
#define GEO307_REDIS_SOURCE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "fleet_raw.h"
#include "redis_conn.h"

#define BACKOFF_MIN	0.1
#define BACKOFF_MAX	5.0

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

/* redis_source.c */
char	*redis_key(const struct redis_source *src, const char *suffix,
	    const char *id);
double	 redis_recheck_every(const struct redis_source *src);
double	 redis_backoff_next(double b);
void	 redis_log_node(const char *doing, const struct redis_where *w);

/* redis_read.c */
struct raw_fleet *redis_read_full(redisContext *c, struct redis_source *src,
	    char *err, size_t errlen);
int	 redis_read_loads(redisContext *c, struct redis_source *src,
	    uint64_t *version, char *err, size_t errlen);
int	 redis_read_version(redisContext *c, struct redis_source *src,
	    uint64_t *version, char *err, size_t errlen);
void	 redis_warn_raw(struct redis_source *src, const struct raw_fleet *raw);
/* Reply helpers the feed shares (redis_read.c says what each does). */
int	 redis_answer_kind(const redisReply *r, int type, int nil_ok);
int	 redis_parse_version(redisReply *r, uint64_t *v);
int	 redis_take_hash(redisReply *r, char ***fields, char ***values, size_t *n);
int	 redis_get_reply(redisContext *c, redisReply **r);
int	 redis_take_server(redisReply *r, struct raw_server *rs);
int	 redis_send_tail(redisContext *c, struct redis_source *src);
int	 redis_take_tail(redisContext *c, struct raw_fleet *raw,
	    redisReply **rp);

/* redis_feed.c: the change feed (P changes) */
int	 redis_feed_tail(redisContext *c, struct redis_source *src,
	    struct raw_fleet *raw, char *err, size_t errlen);
int	 redis_feed_catch_up(redisContext *c, struct redis_source *src,
	    uint64_t want, char *err, size_t errlen);

/* redis_subscriber.c: the subscriber thread */
void	*redis_subscribe_main(void *arg);

#endif
