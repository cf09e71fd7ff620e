/*
 * redis_conn: reaching the Redis that holds the fleet, for the daemon and
 * for geo307ctl.  hiredis 0.14 has no TLS, no automatic reconnect and no
 * read timeout unless one is set (and redisReconnect drops it), so every
 * connection made here is a fresh redisContext with connect and command
 * timeouts and TCP keepalive set, authenticated and on the right db.
 * With Sentinel, the master is asked of the sentinels in order and then
 * checked with ROLE before it is used; reads may prefer the url's own
 * server (a local replica) when ROLE says its data is live.
 *
 * Two files: src/redis_target.c parses the url and sentinels (pure),
 * src/redis_conn.c connects.
 */
#ifndef GEO307_REDISCONN_H
#define GEO307_REDISCONN_H

#include <stdarg.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "strlist.h"

struct redis_target {
	int		 is_unix;
	char		*host;		/* TCP host, or NULL */
	int		 port;
	char		*path;		/* unix socket path, or NULL */
	char		*user;		/* ACL user, or NULL (default user) */
	char		*password;	/* or NULL */
	int		 db;
	struct strlist	 sentinels;	/* "host:port" items; empty = none */
	char		*master;	/* Sentinel master name, or NULL */
	double		 timeout;	/* connect and command timeout, s */
};

/*
 * "redis://[[user]:password@]host[:port][/db]", "unix:/path[?db=N]" (also
 * "unix:///path").  With sentinels+master the url names the server reads
 * prefer (e.g. a local replica, see REDIS_READ); writes go to the master
 * Sentinel names, never to the url.  0 on success, -1 with a message (no
 * part of the url is ever echoed: it may hold the password).  A unix
 * url takes its credentials as "?user=U&password=P"; user and password
 * are percent-decoded in both forms; db is 0..1023.
 */
int	redis_target_parse(const char *url, const struct strlist *sentinels,
	    const char *master, double timeout, struct redis_target *out,
	    char *err, size_t errlen);
/* A [redis] sentinels item, host:port, as redis_target_parse reads it. */
int	redis_target_sentinel_valid(const char *item);
void	redis_target_free(struct redis_target *t);

/*
 * Which server redis_connect goes to.  Without sentinels every mode is
 * the url's server, unchecked (a plain Redis has no one else to ask).
 */
enum redis_want {
	REDIS_URL_NODE,		/* the url's server, whatever its role */
	REDIS_MASTER,		/* the master Sentinel names, ROLE-checked */
	REDIS_READ,		/* the url's server if ROLE says master, or
				   replica with its master link up; failing
				   that, REDIS_MASTER */
};

/* Long enough for "[v6%zone]:port" and "unix:" plus a socket path. */
#define REDIS_NODE_MAX	384

/*
 * Where redis_connect went, for logs (never a credential): node is
 * "host:port", "[v6]:port" or "unix:/path"; fallback says REDIS_READ
 * passed over the url's server, for the reason in why.
 */
struct redis_where {
	char	node[REDIS_NODE_MAX];
	int	fallback;
	char	why[512];
};

/*
 * A ready connection: TCP or unix, to the server want names, AUTH and
 * SELECT done, command timeout and keepalive set.  where (may be NULL)
 * says which server it is.  NULL with a message on failure.
 */
redisContext *redis_connect(const struct redis_target *t,
	    enum redis_want want, struct redis_where *where, char *err,
	    size_t errlen);

/*
 * Is the server behind c, once chosen by REDIS_READ, still fit for
 * reads (ROLE: master, or replica with its link up)?  0, or -1 with a
 * message; node is where->node, for the message.
 */
int	redis_still_readable(redisContext *c, const char *node, char *err,
	    size_t errlen);

/* What ROLE said (redis_role_parse). */
enum redis_role {
	REDIS_ROLE_BAD,		/* not a ROLE reply */
	REDIS_ROLE_MASTER,
	REDIS_ROLE_REPLICA,	/* master link "connected" */
	REDIS_ROLE_STALE,	/* a replica whose master link is not up */
	REDIS_ROLE_OTHER,	/* e.g. a sentinel */
};

/*
 * Classify a ROLE reply: ["master", ...], ["slave", host, port, link
 * state, offset], ["sentinel", ...].  *name and *link (NULL when the
 * reply has none) point into r, for messages.
 */
enum redis_role	redis_role_parse(const redisReply *r, const char **name,
	    const char **link);

/*
 * Bounds on what one reply may cost, so that a broken or hostile server
 * cannot make a router allocate without limit (hiredis trusts every
 * length it reads: "*2147483647" was a 16 GB calloc).  Both are ten
 * four to ten times what a fleet of 100,000 servers needs: its largest replies are
 * SMEMBERS and MGET of 100,000 items, about 7 MB with 63-byte ids.
 *
 * ELEMENTS_MAX: the elements of all arrays of one reply together,
 * refused before anything is allocated for them.  BYTES_MAX: the bytes
 * read from the socket while one reply is still incomplete (a bulk
 * string's length is only checked once all of it arrived).
 */
#define REDISCONN_ELEMENTS_MAX	1000000
#define REDISCONN_BYTES_MAX	(32UL << 20)

/*
 * Every read of a reply goes through these, never through hiredis's own
 * redisCommand/redisGetReply: they enforce the bounds on contexts that
 * redis_connect hands out (and on any given to redis_conn_bound).  After
 * a failure (NULL, or REDIS_ERR) the context is dead, c->errstr says
 * why, and the caller must drop it: replies still pipelined behind the
 * failed one would be taken for the answers to later commands.
 */
void	 redis_conn_bound(redisContext *c);
void	 redis_conn_bound_reader(redisReader *r);
int	 redis_conn_get_reply(redisContext *c, void **reply);
redisReply *redis_conn_command(redisContext *c, const char *fmt, ...);
redisReply *redis_conn_vcommand(redisContext *c, const char *fmt,
	    va_list ap);
redisReply *redis_conn_command_argv(redisContext *c, int argc,
	    const char **argv);
/* The non-blocking pair, for the subscriber's poll() loop. */
int	 redis_conn_read(redisContext *c);
int	 redis_conn_reply_from_reader(redisContext *c, void **reply);

/* "host:port" of the master Sentinel names, for logs; -1 on failure. */
int	redis_sentinel_master(const struct redis_target *t, char *host,
	    size_t hostlen, int *port, char *err, size_t errlen);

#endif
