/*
 * geo307-sink: a stand-in regional upload server for synthetic load.
 * src/sink/main.c parses the flags and runs it, src/sink/serve.c answers
 * HTTP (libmicrohttpd, the body hashed as it streams, never kept),
 * src/sink/report.c probes the listener and reports load into Redis as
 * an upload server's agent does.
 */
#ifndef GEO307_SINK_H
#define GEO307_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "token.h"

#define SINK_METHODS_MAX	32
#define SINK_STATS_PATH		"/.sink/stats"
#define SINK_PROBE_PATH		"/.sink/probe"

struct sink_method {
	char		name[32];
	uint64_t	requests, bytes;
};

struct sink {
	/* flags */
	const char		*listen;
	const char		*id;
	const char		*redis_url;
	const char		*prefix;
	const char		*base;		/* base path, for tokens */
	unsigned		 capacity;
	double			 report_every;
	struct token_keys	 keys;		/* n = 0: no check */
	unsigned		 threads;
	/* state */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct MHD_Daemon	*mhd;
	atomic_uint		 in_flight;	/* uploads being received */
	atomic_int		 unhealthy;	/* SIGUSR1: probe answers 503 */
	atomic_ulong		 rejected;	/* 403: bad token */
	atomic_ulong		 reports;	/* load reports written */
	pthread_mutex_t		 lock;		/* methods */
	struct sink_method	 methods[SINK_METHODS_MAX];
	unsigned		 nmethods;
};

/* serve.c: start and stop libmicrohttpd.  0, or -1 with a message. */
int	sink_serve_start(struct sink *s, char *err, size_t errlen);
void	sink_serve_stop(struct sink *s);
/* The current load, in_flight / capacity capped at 1, in [0, 1]. */
double	sink_load(struct sink *s);

/*
 * report.c: the agent.  sink_report_check() connects to Redis once at
 * start (a Redis that refuses is an error then); sink_report_start()
 * runs the probe-then-report thread until sink_report_stop().
 */
int	sink_report_check(struct sink *s, char *err, size_t errlen);
int	sink_report_start(struct sink *s, char *err, size_t errlen);
void	sink_report_stop(void);
/* load as the Redis schema wants it: "0.25", "1", "0". */
void	sink_load_format(double load, char *buf, size_t len);

void	sink_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
