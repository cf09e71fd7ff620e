/*
 * respond: what geo307 answers to one request (SPEC section 1), decided
 * without libmicrohttpd: the HTTP layer hands in a view of the request and
 * sends back the answer built here.  No I/O and no locks; the caller holds
 * an epoch around the call so the runtime stays alive.
 */
#ifndef GEO307_RESPOND_H
#define GEO307_RESPOND_H

#include <stddef.h>

#include "clientip.h"
#include "netaddr.h"
#include "rng.h"
#include "runtime.h"
#include "select.h"
#include "url.h"

#define ANSWER_MAX_HEADERS	16
#define REQUEST_ID_LEN		32
/*
 * Field lines are bounded too: at most respond_header_lines_max() of
 * them, max_header_bytes / HEADER_LINE_BYTES but never fewer than
 * HEADER_LINES_MIN (64 at the default 16K; Apache allows 100).
 * libmicrohttpd keeps a 64-byte record per line in the connection's
 * pool, and the pool is sized for this many (http.c); sizing it for a
 * line per 32 bytes would take it over 32 KiB, where libmicrohttpd
 * mmap()s it per connection: 4x the CPU of a new connection (measured).
 */
#define HEADER_LINE_BYTES	256
#define HEADER_LINES_MIN	64

extern const char	respond_header_overflow[];

struct request_view {
	const char	*method;
	const char	*target;	/* raw request-target, NULL if none */
	size_t		 targetlen;
	struct netaddr	 peer;
	/*
	 * Every line of header name (case-insensitive) joined with ", " in
	 * arrival order into buf; NULL when absent; respond_header_overflow when
	 * buf is too small (it reads as one unparsable entry, ",", so a
	 * caller that does not retry with a larger buf stays safe).  *count
	 * (when not NULL) gets the number of lines.
	 */
	const char	*(*header)(void *ctx, const char *name, char *buf,
			    size_t bufsz, int *count);
	void		*ctx;
	size_t		 header_bytes;	/* request line + fields + CRLF */
	size_t		 header_lines;	/* field lines */
	int		 has_body;
	int		 over_limit;	/* per-IP connection limit exceeded */
	int		 draining;	/* SIGTERM received: health says so */
	double		 now;		/* monotonic */
};

struct answer_header {
	const char	*name;
	const char	*value;
};

struct answer {
	int			 status;
	int			 close;		/* send Connection: close */
	struct answer_header	 headers[ANSWER_MAX_HEADERS];
	size_t			 nheaders;
	const char		*content_type;
	char			*body;		/* malloc'd; respond_answer_free */
	size_t			 bodylen;

	/* What happened, for metrics and the access log. */
	enum reason		 reason;
	int			 region_label;	/* -1: none */
	const char		*region;	/* its name, or NULL */
	int			 server_label;	/* -1: no redirect */
	const char		*server_id;
	enum clientip_source	 cip;
	int			 synthetic;
	int			 failopen;
	int			 spill_from, spill_to;	/* labels, -1 = none */
	int			 health;	/* the health_path answered */
	char			 country[3];	/* ISO alpha-2 or "" */
	char			 client[48];

	/* Storage the headers point into. */
	char			 location[LOCATION_MAX + 1];
	char			 request_id[REQUEST_ID_LEN + 1];
	char			 retry_after[24];
	char			 max_age[24];
	char			 origin[512];	/* as cors_origin reads it */
};

/*
 * Decide the answer to rv.  early_status, when non-zero, is an error the
 * HTTP layer already found (400 for a bad Content-Length, 417, 431).
 */
void	respond(const struct runtime *rt, const struct request_view *rv,
	    int early_status, struct rng *rng, struct answer *ans);
void	respond_answer_free(struct answer *ans);
size_t	respond_header_lines_max(size_t max_header_bytes);

/* Constant-time comparison of a presented token against the configured. */
int	respond_token_matches(const struct strlist *tokens, const char *presented);

#endif
