/*
 * http_internal: private to the http module.  Only src/http.c,
 * src/http_conn.c and src/http_request.c include it; everything else
 * uses http.h.
 *
 * What the three files share: the server (struct http_server), the
 * per-connection state (struct conn) that http_conn.c keeps, the request
 * path reads and the TLS callback hangs its identity on, and the
 * callbacks that http_start() hands libmicrohttpd.  Those functions keep
 * their short names: they are global only so that the files of this
 * module can reach each other.  A request's state (struct req) stays in
 * http_request.c, the only file that uses it.
 */
#ifndef GEO307_HTTP_INTERNAL_H
#define GEO307_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "conntrack.h"
#include "http.h"
#include "linger.h"
#include "netaddr.h"
#include "rng.h"
#include "tlsid.h"

/*
 * Where a connection is, for the whole-header deadline.  Request threads
 * only store these; the sweep (one thread) reads them and owns the rx_*
 * fields.
 */
enum conn_phase {
	PHASE_HEADER,		/* reading a request's header */
	PHASE_ANSWERED,		/* header complete: no deadline */
	PHASE_IDLE		/* keep-alive, between requests */
};

/*
 * The sweep looks at each connection once every probe_every sweeps (a
 * tenth of header_timeout, sweeps coming every 100 ms, at most
 * PROBE_EVERY_MAX), walking one of probe_every lists each time.  A
 * connection costs the sweep a walk step and, when idle, a
 * getsockopt(TCP_INFO), under the lock that accepts and closes wait for:
 * 8,000 idle keep-alive connections all looked at every sweep cost 170 ms
 * of CPU per second.  The price is precision: a header deadline is
 * enforced up to a tenth of header_timeout late.
 */
#define PROBE_EVERY_MAX	10

struct conn {
	struct http_server	*srv;
	struct conn		*prev, *next;
	struct netaddr		 peer;
	uint64_t		 ipkey;
	int			 fd;
	int			 dupfd;		/* for the linger, or -1 */
	int			 evicted;	/* counted in srv->evicting */
	double			 accepted;
	atomic_int		 phase;
	atomic_uint		 completed;	/* requests completed */
	_Atomic double		 idle_at;	/* last answer completed */
	_Atomic double		 line_at;	/* request line arrived */
	/* The sweep's own: first byte of the next keep-alive request. */
	unsigned		 rx_gen;
	uint64_t		 rx_mark;
	double			 rx_first;
	unsigned		 slot;		/* which sweep looks at it */
	int			 killed;
	struct tls_identity	*tls;		/* this handshake's, or NULL */
	char			*logline;	/* json line awaiting its linger */
};

struct http_server {
	struct MHD_Daemon	*daemons[LISTEN_MAX];
	int			 fds[LISTEN_MAX];
	int			 quiesced[LISTEN_MAX];
	size_t			 n;
	char			*labels[LISTEN_MAX];	/* for messages */
	struct linger		*linger;
	/* The acceptor (http_accept.c). */
	int			 epfd, stopfd;
	pthread_t		 acceptor;
	int			 accepting;
	struct rng		 accept_rng;
	double			 accept_warned;
	atomic_uint		 open;		/* handed to MHD, not closed */
	atomic_uint		 evicting;	/* shut down, not yet closed */
	unsigned		 max_conns;	/* [listen] max_connections */
	unsigned		 evict_at;	/* nearly full: evict from here */
	struct conntrack	*ct;
	unsigned		 per_ip;
	double			 header_timeout;
	/* [listen] proxy_protocol: sockets waiting for their header. */
	int			 proxy_protocol;
	struct pending_table	*pending;	/* the acceptor's own */
	pthread_mutex_t		 lock;		/* conns list */
	struct conn		*conns[PROBE_EVERY_MAX];	/* by slot */
	unsigned		 nconns;
	unsigned		 sweeps;	/* under lock */
	unsigned		 evict_cursor;	/* under lock */
	unsigned		 probe_every;	/* sweeps between probes */
	atomic_int		 draining;
	atomic_uint		 inflight;	/* requests not yet completed */
	/* Served when the runtime in use has none (TLS was switched off
	 * by a reload, which needs a restart to take effect). */
	struct tls_identity	*tls;
};

struct pending_table;

/* http_accept.c */
int		 http_accept_start(struct http_server *srv, char *err,
		    size_t errlen);
void		 http_accept_handover(struct http_server *srv, size_t i, int fd,
		    const struct sockaddr *sa, socklen_t salen);
void		 http_accept_quiesce(struct http_server *srv, size_t i);
void		 http_accept_stop(struct http_server *srv);

/* http_pending.c: called from the acceptor thread only. */
#define PENDING_TAG	0x80000000u	/* epoll tag bit of a pending socket */
int		 http_pending_new(struct http_server *srv);
void		 http_pending_free(struct http_server *srv);
void		 http_pending_accepted(struct http_server *srv, size_t i, int fd,
		    const struct sockaddr *sa, socklen_t salen);
void		 http_pending_readable(struct http_server *srv, uint32_t k,
		    uint32_t events);
int		 http_pending_wait_ms(struct http_server *srv);
void		 http_pending_expire(struct http_server *srv);

/* http_conn.c */
void		 http_conn_release(void *cn);
unsigned	 http_conn_evict(struct http_server *srv, unsigned want,
		    unsigned mine);
double		 http_conn_pressure(const struct http_server *srv);
void		 http_conn_notify(void *cls, struct MHD_Connection *c,
		    void **sctx, enum MHD_ConnectionNotificationCode code);
struct conn	*http_conn_of(struct MHD_Connection *c);
/* 1: the socket will linger; 0: the linger refused it; -1: neither. */
int		 http_conn_keep_for_linger(struct conn *cn);

/* http_log.c: one request's access log line. */
struct logreq {
	const char	*method;
	const char	*target;	/* raw, as sent; NULL: none */
	size_t		 targetlen;
	const char	*proto;		/* "HTTP/1.1" */
	const char	*user_agent;
	const char	*referer;
	struct netaddr	 peer;
	int		 has_peer;
	int		 chunked;
	unsigned long long length;	/* declared Content-Length, or 0 */
	int		 expect;	/* Expect: 100-continue */
	int		 linger_refused;
	double		 duration;	/* seconds to the answer */
};
struct answer;
struct config;
void		 http_log(const struct config *cfg, struct conn *cn,
		    const struct logreq *lr, const struct answer *a);
void		 http_log_linger_done(struct conn *cn, int outcome,
		    uint64_t bytes);

/* http_request.c */
void		*http_request_uri_logged(void *cls, const char *uri,
		    struct MHD_Connection *c);
void		 http_request_completed(void *cls, struct MHD_Connection *c,
		    void **req_cls, enum MHD_RequestTerminationCode toe);
enum MHD_Result	 http_request_handle(void *cls, struct MHD_Connection *c, const char *url,
		    const char *method, const char *version,
		    const char *upload_data, size_t *upload_data_size,
		    void **req_cls);

#endif
