/*
 * redis_conn_internal: private to the redis_conn module.  Only
 * src/redis_target.c and src/redis_conn.c include it; everything else uses
 * redis_conn.h.
 *
 * redis_target.c lends redis_conn.c its message helper and the checks a
 * sentinel's address and answer go through, so that a host named by a
 * sentinel is held to the same rules as one in the url.  The functions
 * keep their short names: they are global only so that the two files
 * can reach each other.
 */
#ifndef GEO307_REDISCONN_INTERNAL_H
#define GEO307_REDISCONN_INTERNAL_H

#include <stddef.h>
#include <sys/un.h>

#define HOST_MAX	253
#define PATH_MAX_UNIX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* Format into err (if any); always -1. */
int	redis_errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	redis_parse_num(const char *s, size_t len, long lo, long hi, long *out);
int	redis_host_valid(const char *s, size_t len, int v6);
int	redis_split_hostport(const char *item, char *host, size_t hostlen,
	    int *port);

#endif
