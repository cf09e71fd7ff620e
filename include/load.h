/*
 * geo307-load: an open-loop load generator for geo307.  Requests start
 * on a fixed schedule (request k at t0 + k / rate) whatever the answers
 * do, and every latency is measured from the scheduled start, so a
 * stalled server shows up in the percentiles instead of slowing the
 * generator down (no coordinated omission).
 *
 *   main.c     flags, the run, exit codes
 *   pool.c     client addresses: --mix (networks per country found by
 *              walking the GeoIP database's search tree) or --ips FILE
 *   client.c   the redirect phase: one thread, epoll, raw HTTP/1.1 on
 *              keep-alive connections (the cheapest client we can write)
 *   follow.c   --follow: each 307 followed with a real body (libcurl
 *              multi in its own thread), the sink's 201 checked
 *   predict.c  what the router predicts: admin /route per address used
 *   report.c   the tables, percentiles and --json
 */
#ifndef GEO307_LOAD_H
#define GEO307_LOAD_H

#include <stdint.h>
#include <sys/socket.h>

#include "histo.h"
#include "netaddr.h"

#define LOAD_EXIT_FAIL		1
#define LOAD_EXIT_USAGE		2
#define LOAD_SERVERS_MAX	1024
#define LOAD_STATUS_MAX		600

struct load_opts {
	const char	*url;
	double		 rate, duration, timeout;
	unsigned	 connections;
	const char	*mix, *ips_file, *geoip, *config;
	int		 synthetic;	/* --via synthetic */
	const char	*token;
	const char	*method;
	uint64_t	 body;
	int		 follow, expect, quiet;
	const char	*admin, *json;
	unsigned	 per_country;	/* addresses per country in the pool */
	uint64_t	 seed;		/* 0 = random */
};

struct load_target {
	char			 host[256];
	char			 hostport[300];	/* for Host: */
	int			 port;
	char			*target;	/* path and query */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
};

struct load_ip {
	struct netaddr	a;
	char		text[48];
	char		country[3];
	uint64_t	sent, routed;	/* requests; of them answered 307/308 */
};

struct load_country {
	char	cc[3];
	double	share, cum;	/* normalised */
	size_t	first, n;	/* its addresses in the pool */
};

struct load_pool {
	struct load_ip		*v;
	size_t			 n;
	struct load_country	*c;
	size_t			 nc;	/* 0: --ips, uniform over v */
};

enum load_err {
	ERR_CONNECT, ERR_RESET, ERR_TIMEOUT, ERR_STATUS, ERR_BODY, ERR_OTHER,
	ERR__COUNT
};

struct load_server {
	char		id[64];
	char		region[64];	/* from /route; "" = unknown */
	uint64_t	count;
	double		predicted;	/* share, -1 = unknown */
};

struct load_phase {
	uint64_t	requests, answered;
	uint64_t	status[LOAD_STATUS_MAX];
	uint64_t	err[ERR__COUNT];
	struct histo	lat;		/* ns */
};

struct load_stats {
	uint64_t		asked;		/* rate x duration */
	uint64_t		issued;
	double			send_seconds;	/* first to last start */
	double			elapsed;
	struct load_phase	redirect, upload;
	struct load_server	servers[LOAD_SERVERS_MAX];
	size_t			nservers;
	int			predicted;	/* /route was asked */
	char			upload_sha256[65];
};

/* pool.c: 0, -1 with a message in err, -2 for a usage error. */
int	load_pool_build(const struct load_opts *o, uint64_t seed,
	    struct load_pool *p, char *err, size_t errlen);
/* An address index for the next request; SIZE_MAX when there is none. */
size_t	load_pool_pick(const struct load_pool *p, double u1, double u2);
void	load_pool_free(struct load_pool *p);

/* client.c */
int	load_target_parse(const char *url, struct load_target *t, char *err,
	    size_t errlen);
int	load_target_probe(const struct load_target *t, char *err,
	    size_t errlen);
int	load_run(const struct load_opts *o, const struct load_target *t,
	    struct load_pool *p, struct load_stats *st);
struct load_server *load_server_find(struct load_stats *st, const char *id,
	    size_t len);

/* follow.c: a thread with libcurl multi that uploads to Locations. */
int	load_follow_start(const struct load_opts *o, struct load_stats *st,
	    char *err, size_t errlen);
void	load_follow_push(const char *location, const char *server);
/* No more pushes; wait for what runs, at most until deadline (mono ns). */
void	load_follow_finish(uint64_t deadline_ns);
uint64_t load_follow_active(void);

/* predict.c: /route probabilities into st->servers[].predicted. */
int	load_admin_check(const char *admin, char *err, size_t errlen);
int	load_predict(const struct load_opts *o, const struct load_pool *p,
	    struct load_stats *st, char *err, size_t errlen);

/* report.c */
void	load_report_text(const struct load_opts *o, struct load_stats *st);
int	load_report_json(const struct load_opts *o, struct load_stats *st,
	    const char *path, char *err, size_t errlen);
const char *load_err_name(enum load_err e);

uint64_t load_now_ns(void);	/* CLOCK_MONOTONIC */
void	load_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
