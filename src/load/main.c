/*
 * geo307-load: flags, the run and its exit status: 0 when the run
 * completed (errors are reported, not fatal), 1 when it could not run
 * (target unreachable, admin not answering, database unreadable), 2 for
 * a usage error, with one line on stderr.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "load.h"
#include "log.h"
#include "parse.h"

static const char usage_text[] =
"usage: geo307-load --url URL --rate R --duration S [--connections N]\n"
"         [--mix CC=share,... (--geoip FILE | -c geo307.conf) | --ips FILE]\n"
"         [--via xff|synthetic [--token T]] [--method M] [--body SIZE]\n"
"         [--follow] [--expect] [--admin URL] [--json FILE]\n"
"         [--timeout S] [--addresses N] [--seed N] [--quiet]\n"
"  --url URL          geo307's public listener (http://host:port/path?q)\n"
"  --rate R           requests started per second, on a fixed schedule\n"
"  --duration S       seconds of schedule (R x S requests)\n"
"  --connections N    keep-alive connections (default 32)\n"
"  --mix CC=share,..  client countries; addresses drawn from the GeoIP\n"
"                     database (--geoip FILE, or -c a geo307 config)\n"
"  --ips FILE         client addresses, one a line\n"
"  --via xff          send the address as X-Forwarded-For (default)\n"
"  --via synthetic    as X-Synthetic-Client-IP with X-Synthetic-Token T\n"
"  --method M         request method (default POST)\n"
"  --body SIZE        upload size, bytes with K/M/G (default 1M)\n"
"  --follow           upload SIZE bytes to each Location, check the 201\n"
"  --expect           Expect: 100-continue (the redirect request then\n"
"                     declares SIZE; without it, it has no body)\n"
"  --admin URL        geo307's admin listener: predicted shares (/route)\n"
"  --json FILE        the report as JSON too\n"
"  --timeout S        per request (default 10)\n"
"  --addresses N      addresses per country in the pool (default 32)\n"
"  --seed N           repeatable address choice\n"
"  --quiet            no progress line (default when stderr is no tty)\n";

/* One line on stderr naming the program, then exit: a bad flag. */
#define die_usage(...)	log_usage("geo307-load", LOAD_EXIT_USAGE, __VA_ARGS__)

static double
real(const char *flag, const char *s, double lo, double hi)
{
	double	v;

	if (parse_decimal(s, 0, &v) == -1 || !(v >= lo && v <= hi))
		die_usage("bad %s %s (%.15g to %.15g)", flag, s, lo, hi);
	return v;
}

static unsigned long long
whole(const char *flag, const char *s, unsigned long long lo,
    unsigned long long hi)
{
	unsigned long long	v;

	if (parse_uint(s, hi, &v) == -1 || v < lo)
		die_usage("bad %s %s (%llu to %llu)", flag, s, lo, hi);
	return v;
}

static uint64_t
size_arg(const char *s)
{
	uint64_t	v;

	if (parse_size(s, &v) == -1 || v > (UINT64_C(1) << 40))
		die_usage("bad --body %s (bytes, with K, M or G; at most 1024G)",
		    s);
	return v;
}

static void
check_flags(struct load_opts *o, int have_body)
{
	if (o->url == NULL || o->rate == 0 || o->duration == 0)
		die_usage("--url, --rate and --duration are required");
	if (o->mix != NULL && o->ips_file != NULL)
		die_usage("--mix and --ips exclude each other");
	if (o->synthetic && o->token == NULL)
		die_usage("--via synthetic needs --token");
	if (!o->synthetic && o->token != NULL)
		die_usage("--token goes with --via synthetic");
	if ((o->geoip != NULL || o->config != NULL) && o->mix == NULL)
		die_usage("--geoip and -c are for --mix");
	if (have_body && o->body == 0 && o->follow)
		die_usage("--follow needs a --body of at least 1 byte");
	if (o->admin != NULL && strncmp(o->admin, "http://", 7) != 0)
		die_usage("--admin must start with http://");
}

static void
parse_flags(struct load_opts *o, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "url", 1, NULL, 'u' }, { "rate", 1, NULL, 'r' },
		{ "duration", 1, NULL, 'd' }, { "connections", 1, NULL, 'n' },
		{ "mix", 1, NULL, 'm' }, { "ips", 1, NULL, 'i' },
		{ "geoip", 1, NULL, 'g' }, { "config", 1, NULL, 'c' },
		{ "via", 1, NULL, 'v' }, { "token", 1, NULL, 't' },
		{ "method", 1, NULL, 'M' }, { "body", 1, NULL, 'b' },
		{ "follow", 0, NULL, 'f' }, { "expect", 0, NULL, 'e' },
		{ "admin", 1, NULL, 'a' }, { "json", 1, NULL, 'j' },
		{ "timeout", 1, NULL, 'T' }, { "addresses", 1, NULL, 'A' },
		{ "seed", 1, NULL, 's' }, { "quiet", 0, NULL, 'q' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int	c, have_body = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 'r': o->rate = real("--rate", optarg, 0.01, 1e7); break;
		case 'd': o->duration = real("--duration", optarg, 0.01,
		    86400); break;
		case 'n': o->connections = (unsigned)whole("--connections",
		    optarg, 1, 100000); break;
		case 'm': o->mix = optarg; break;
		case 'i': o->ips_file = optarg; break;
		case 'g': o->geoip = optarg; break;
		case 'c': o->config = optarg; break;
		case 'v':
			if (strcmp(optarg, "xff") != 0 &&
			    strcmp(optarg, "synthetic") != 0)
				die_usage("bad --via %s (xff or synthetic)",
				    optarg);
			o->synthetic = strcmp(optarg, "synthetic") == 0;
			break;
		case 't': o->token = optarg; break;
		case 'M':
			if (strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
			    strlen(optarg) || *optarg == '\0' ||
			    strlen(optarg) > 20)
				die_usage("bad --method %s", optarg);
			o->method = optarg;
			break;
		case 'b': o->body = size_arg(optarg); have_body = 1; break;
		case 'f': o->follow = 1; break;
		case 'e': o->expect = 1; break;
		case 'a': o->admin = optarg; break;
		case 'j': o->json = optarg; break;
		case 'T': o->timeout = real("--timeout", optarg, 0.01, 3600);
			break;
		case 'A': o->per_country = (unsigned)whole("--addresses",
		    optarg, 1, 100000); break;
		case 's': o->seed = whole("--seed", optarg, 1, UINT64_MAX);
			break;
		case 'q': o->quiet = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default:
			die_usage("unknown or incomplete flag %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument %s", argv[optind]);
	check_flags(o, have_body);
}

/* Room for every connection of both phases. */
static void
raise_nofile(unsigned need)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
fail(const char *msg)
{
	load_log("%s", msg);
	return LOAD_EXIT_FAIL;
}

/* After the run: uploads finished, the prediction, the report. */
static int
report(const struct load_opts *o, struct load_pool *p,
    struct load_stats *st)
{
	char	err[1024];
	int	exitcode = 0;

	load_follow_finish(load_now_ns() + (uint64_t)(o->timeout * 1e9));
	if (o->admin != NULL && load_predict(o, p, st, err,
	    sizeof(err)) == -1) {
		load_log("no prediction: %s", err);
		exitcode = LOAD_EXIT_FAIL;
	}
	load_report_text(o, st);
	if (o->json != NULL && load_report_json(o, st, o->json, err,
	    sizeof(err)) == -1)
		exitcode = fail(err);
	return exitcode;
}

int
main(int argc, char *argv[])
{
	static struct load_opts		o;
	static struct load_stats	st;
	struct load_target		t;
	struct load_pool		p;
	char				err[1024];
	int				rc, exitcode = 0;

	o.connections = 32;
	o.method = "POST";
	o.body = 1 << 20;
	o.timeout = 10;
	o.per_country = 32;
	parse_flags(&o, argc, argv);
	if (!isatty(2))
		o.quiet = 1;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(2 * o.connections + 64);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	histo_init(&st.redirect.lat);
	histo_init(&st.upload.lat);
	if (load_target_parse(o.url, &t, err, sizeof(err)) == -1) {
		free(t.target);
		die_usage("%s", err);
	}
	if ((rc = load_pool_build(&o, o.seed ? o.seed : 307, &p, err,
	    sizeof(err))) != 0) {
		load_pool_free(&p);
		free(t.target);
		if (rc == -2)
			die_usage("%s", err);
		return fail(err);
	}
	if (load_target_probe(&t, err, sizeof(err)) == -1 ||
	    (o.admin != NULL && load_admin_check(o.admin, err,
	    sizeof(err)) == -1) ||
	    (o.follow && load_follow_start(&o, &st, err, sizeof(err)) == -1))
		exitcode = fail(err);
	else if (load_run(&o, &t, &p, &st) == -1)
		exitcode = fail("cannot set up the client (out of memory?)");
	else
		exitcode = report(&o, &p, &st);
	load_pool_free(&p);
	free(t.target);
	curl_global_cleanup();
	return exitcode;
}
