/*
 * redisconn: reaching the Redis that holds the fleet, for the daemon and
 * for geo307ctl.  hiredis 0.14 has no TLS, no automatic reconnect and no
 * read timeout unless one is set (and redisReconnect drops it), so every
 * connection made here is a fresh redisContext with connect and command
 * timeouts and TCP keepalive set, authenticated and on the right db.
 * With Sentinel, the master is asked of the sentinels in order and then
 * checked with ROLE before it is used.
 */
#ifndef GEO307_REDISCONN_H
#define GEO307_REDISCONN_H

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
 * "unix:///path"), and with sentinels+master the url names the server
 * for want_master = 0 only (e.g. a local replica): the master comes from
 * Sentinel, never from the url.  0 on success, -1 with a message (no
 * part of the url is ever echoed: it may hold the password).  A unix
 * url takes its credentials as "?user=U&password=P"; user and password
 * are percent-decoded in both forms; db is 0..1023.
 */
int	redis_target_parse(const char *url, const struct strlist *sentinels,
	    const char *master, double timeout, struct redis_target *out,
	    char *err, size_t errlen);
void	redis_target_free(struct redis_target *t);

/*
 * A ready connection: TCP or unix, resolved through Sentinel when one is
 * configured (want_master: the master, checked with ROLE; otherwise the
 * url's own server, e.g. a local replica for reads), AUTH and SELECT done,
 * command timeout and keepalive set.  NULL with a message on failure.
 */
redisContext *redis_connect(const struct redis_target *t, int want_master,
	    char *err, size_t errlen);

/* "host:port" of the master Sentinel names, for logs; -1 on failure. */
int	redis_sentinel_master(const struct redis_target *t, char *host,
	    size_t hostlen, int *port, char *err, size_t errlen);

#endif
