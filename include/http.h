/*
 * http: the public listener on libmicrohttpd.  It owns the sockets, the
 * per-connection state (per-IP counts, the whole-header deadline, the
 * socket duplicate for the lingering close) and turns each request into a
 * request_view for respond().
 */
#ifndef GEO307_HTTP_H
#define GEO307_HTTP_H

#include "config.h"
#include "linger.h"
#include "runtime.h"

struct http_server;

/*
 * Bind every [listen] address (SO_REUSEPORT) and start serving.  Settings
 * of [listen] are read here once: changing them needs a restart.  With
 * TLS, each handshake takes the certificate of the runtime in use (so
 * SIGHUP changes it); rt's is kept for a runtime that has none.
 */
struct http_server *http_start(const struct runtime *rt, struct linger *lg,
		    char *err, size_t errlen);
/* Close connections whose header is overdue (call a few times a second). */
void		 http_sweep(struct http_server *srv);
/* SIGTERM: health answers "draining" from now on. */
void		 http_set_draining(struct http_server *srv);
/* Stop accepting; connections in flight go on. */
void		 http_quiesce(struct http_server *srv);
/* Hand-over: new connections to this process (service_steer_here). */
int		 http_steer_here(struct http_server *srv, char *err,
		    size_t errlen);
/* Open connections (lingering ones are the linger module's). */
unsigned	 http_connections(struct http_server *srv);
/* Requests received and not yet answered. */
unsigned	 http_inflight(struct http_server *srv);
/* Stop libmicrohttpd: no more requests.  Connections handed to the
 * linger still refer to srv, so free it only after linger_stop(). */
void		 http_stop(struct http_server *srv);
void		 http_free(struct http_server *srv);

#endif
