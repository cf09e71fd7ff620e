/*
 * geo307-sink: flags, start-up checks, signals.  Usage errors exit 2
 * with one line; a listener or a Redis that cannot be had exits 1.
 */
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "netaddr.h"
#include "log.h"
#include "parse.h"
#include "sink.h"

#define SINK_EXIT_USAGE	2
#define SINK_EXIT_FAIL	1

static const char usage_text[] =
"usage: geo307-sink --listen ADDR --id ID [--redis URL [--prefix P]]\n"
"                   [--capacity N] [--report-every S] [--sign-keys KEYS]\n"
"                   [--base PATH] [--threads N]\n"
"  --listen ADDR       host:port or [v6]:port to serve on\n"
"  --id ID             the server id (as in the fleet): answers name it\n"
"  --redis URL         report load (in flight / capacity) into this Redis\n"
"  --prefix P          key prefix in Redis (default geo307:)\n"
"  --capacity N        uploads at once that make load 1 (default 100)\n"
"  --report-every S    seconds between reports; the TTL is 3 S (default 5)\n"
"  --sign-keys KEYS    kid:base64,...: answer 403 unless the g307 token\n"
"                      the router signed is valid for this server\n"
"  --base PATH         the base path of this server's url in the fleet\n"
"  --threads N         libmicrohttpd threads (default 2)\n"
"GET /.sink/stats answers the counts; SIGUSR1 makes the probe fail (and\n"
"the report go stale) until the next SIGUSR1.\n";

/* One line on stderr naming the program, then exit: a bad flag. */
#define die_usage(...)	log_usage("geo307-sink", SINK_EXIT_USAGE, __VA_ARGS__)

static unsigned long
number(const char *flag, const char *s, unsigned long lo, unsigned long hi)
{
	unsigned long long	v;

	if (parse_uint(s, hi, &v) == -1 || v < lo)
		die_usage("bad %s value", flag);
	return (unsigned long)v;
}

static int
id_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))))
			return 0;
	return i > 0 && i <= 63;
}

static void
parse_flags(struct sink *s, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "id", required_argument, NULL, 'i' },
		{ "redis", required_argument, NULL, 'r' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "capacity", required_argument, NULL, 'n' },
		{ "report-every", required_argument, NULL, 'e' },
		{ "sign-keys", required_argument, NULL, 'k' },
		{ "base", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char	 err[256];
	int	 c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': s->listen = optarg; break;
		case 'i': s->id = optarg; break;
		case 'r': s->redis_url = optarg; break;
		case 'p': s->prefix = optarg; break;
		case 'b': s->base = optarg; break;
		case 'n': s->capacity = number("--capacity", optarg, 1,
		    1000000); break;
		case 't': s->threads = number("--threads", optarg, 1, 64);
			break;
		case 'e':
			if (parse_duration(optarg, &s->report_every) == -1 ||
			    !(s->report_every >= 0.1 &&
			    s->report_every <= 3600))
				die_usage("bad --report-every %s (0.1 to 3600 "
				    "seconds)", optarg);
			break;
		case 'k':
			if (token_keys_parse(optarg, &s->keys, err,
			    sizeof(err)) == -1)
				die_usage("--sign-keys: %s", err);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			die_usage("unknown or incomplete flag %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument %s", argv[optind]);
	if (s->listen == NULL || s->id == NULL)
		die_usage("%s", "--listen and --id are required");
	if (!id_ok(s->id))
		die_usage("bad --id %s", s->id);
	if (netaddr_parse_hostport(s->listen, &s->addr, &s->addrlen) == -1)
		die_usage("bad --listen %s (want host:port or [v6]:port)",
		    s->listen);
	if (s->redis_url == NULL && strcmp(s->prefix, "geo307:") != 0)
		die_usage("%s", "--prefix needs --redis");
}

/* Signals in one thread (sigwait); the others inherit the mask. */
static void
wait_signals(struct sink *s, const sigset_t *set)
{
	int	sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			atomic_store(&s->unhealthy, !atomic_load(&s->unhealthy));
			sink_log("probe %s", atomic_load(&s->unhealthy) ?
			    "set to fail (SIGUSR1)" : "healthy again (SIGUSR1)");
			continue;
		}
		return;
	}
}

int
main(int argc, char *argv[])
{
	static struct sink	s;
	sigset_t		set;
	char			err[600];

	s.prefix = "geo307:";
	s.capacity = 100;
	s.report_every = 5;
	s.threads = 2;
	pthread_mutex_init(&s.lock, NULL);
	parse_flags(&s, argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (s.redis_url != NULL && sink_report_check(&s, err,
	    sizeof(err)) == -1) {
		sink_log("%s", err);
		return SINK_EXIT_FAIL;
	}
	if (sink_serve_start(&s, err, sizeof(err)) == -1 ||
	    (s.redis_url != NULL && sink_report_start(&s, err,
	    sizeof(err)) == -1)) {
		sink_log("%s", err);
		return SINK_EXIT_FAIL;
	}
	sink_log("%s listening on %s, capacity %u%s%s", s.id, s.listen,
	    s.capacity, s.redis_url != NULL ? ", reporting load" : "",
	    s.keys.n > 0 ? ", checking tokens" : "");
	wait_signals(&s, &set);
	sink_report_stop();
	sink_serve_stop(&s);
	token_keys_free(&s.keys);
	sink_log("%s stopped", s.id);
	return 0;
}
