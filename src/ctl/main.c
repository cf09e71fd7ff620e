/*
 * geo307ctl: options, the config, the Redis connection and the command
 * table.  Commands check their arguments before they connect, so bad
 * input is exit 2 whether or not Redis is up.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "parse.h"

#define DEFAULT_PREFIX	"geo307:"

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
	const char	*args;
} commands[] = {
	{ "list",		cmd_list,	 "[--json]" },
	{ "show",		cmd_show,	 "ID [--json]" },
	{ "add",		cmd_add,	 "ID URL REGION [WEIGHT] [--replace]" },
	{ "weight",		cmd_weight,	 "ID N" },
	{ "drain",		cmd_state,	 "ID" },
	{ "undrain",		cmd_state,	 "ID" },
	{ "down",		cmd_state,	 "ID" },
	{ "state",		cmd_state,	 "ID up|drain|down" },
	{ "remove",		cmd_remove,	 "ID" },
	{ "drain-region",	cmd_region,	 "REGION" },
	{ "undrain-region",	cmd_region,	 "REGION" },
	{ "maintenance",	cmd_maintenance, "on SECONDS | off" },
	{ "report",		cmd_report,	 "ID LOAD [--ttl SECONDS]" },
	{ "explain",		cmd_explain,	 "IP [--key K] [--family 4|6] [--json]" },
	{ "verify",		cmd_verify,	 "METHOD URL SERVER-ID [--base PATH]" },
};

int
ctl_err(int code, const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fputs("geo307ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void
ctl_note_needs_config(struct ctl *c)
{
	if (c->cfg != NULL || c->noted)
		return;
	c->noted = 1;
	fprintf(stderr, "geo307ctl: note: without -c CONFIG only the grammar "
	    "of values is checked; region and allowed_hosts checks need -c\n");
}

int
ctl_key(const struct ctl *c, char *buf, size_t len, const char *suffix,
    const char *id)
{
	return fleet_rec_key(buf, len, c->prefix, suffix, id);
}

/* "did you mean" the one command close to name, as the config does. */
static int
unknown_command(const char *name)
{
	const char	*near = parse_closest(name, &commands[0].name,
	    sizeof(commands) / sizeof(commands[0]), sizeof(commands[0]));

	if (near != NULL)
		return ctl_err(CTL_USAGE, "unknown command \"%s\" (did you "
		    "mean \"%s\"? see geo307ctl --help)", name, near);
	return ctl_err(CTL_USAGE, "unknown command \"%s\" (see geo307ctl "
	    "--help)", name);
}

int
ctl_usage_of(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return ctl_err(CTL_USAGE, "usage: geo307ctl %s %s (see "
			    "geo307ctl --help)", name, commands[i].args);
	return ctl_err(CTL_USAGE, "unknown command \"%s\"", name);
}

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: geo307ctl [-c CONFIG] [--redis URL] [--prefix P] "
	    "COMMAND [ARGS]\n       geo307ctl --help | --version\n"
	    "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].args);
	fprintf(f, "Without -c and --redis: $%s, else %s; prefix %s.\n"
	    "Exit status: 0 done (also when nothing needed changing), 1 "
	    "refused (bad input,\nno such server or region), 2 usage, 3 "
	    "Redis unreachable or failing.\n", CTL_URL_ENV, CTL_DEFAULT_URL,
	    DEFAULT_PREFIX);
}

/*
 * Remove a "--name" flag from argv (anywhere after the command); 1 if it
 * was there.  "--" ends the options: what follows is positional.
 */
int
ctl_flag(int *argc, char **argv, const char *name)
{
	int	i, found = 0;

	for (i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], name) == 0) {
			found = 1;
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(*argc - i) * sizeof(*argv));
			(*argc)--;
			i--;
		}
	return found;
}

/*
 * Remove "--name VALUE" or "--name=VALUE"; *value is NULL when absent.
 * -1 when the value is missing.
 */
int
ctl_option(int *argc, char **argv, const char *name, const char **value)
{
	size_t	len = strlen(name);
	int	i, take;

	*value = NULL;
	for (i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], name) == 0) {
			if (i + 1 >= *argc)
				return -1;
			*value = argv[i + 1];
			take = 2;
		} else if (strncmp(argv[i], name, len) == 0 &&
		    argv[i][len] == '=') {
			*value = argv[i] + len + 1;
			take = 1;
		} else
			continue;
		memmove(&argv[i], &argv[i + take],
		    (size_t)(*argc - i - take + 1) * sizeof(*argv));
		*argc -= take;
		i--;
	}
	return 0;
}

/* Drop a leading "--" that separated options from positionals. */
void
ctl_dashdash(int *argc, char **argv)
{
	int	i;

	for (i = 1; i < *argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(*argc - i) * sizeof(*argv));
			(*argc)--;
			return;
		}
}

int
ctl_connect(struct ctl *c)
{
	struct redis_target	 t;
	const struct strlist	*sentinels = NULL;
	const char		*url, *master = NULL, *from = "url";
	char			 err[512];

	if (c->rc != NULL)
		return CTL_OK;
	/*
	 * --redis, then the config's [redis], then $GEO307_REDIS_URL (which
	 * keeps a password out of argv, where ps shows it to everyone).
	 */
	if (c->redis_url != NULL)
		url = c->redis_url;
	else if (c->cfg != NULL) {
		if ((url = c->cfg->redis.url) == NULL)
			return ctl_err(CTL_FAIL, "%s has no [redis] url: use "
			    "--redis URL", c->cfgpath);
		sentinels = &c->cfg->redis.sentinels;
		master = c->cfg->redis.master;
	} else if ((url = getenv(CTL_URL_ENV)) != NULL && *url != '\0')
		from = CTL_URL_ENV;
	else
		url = CTL_DEFAULT_URL;
	memset(&t, 0, sizeof(t));
	if (redis_target_parse(url, sentinels, master, CTL_TIMEOUT, &t, err,
	    sizeof(err)) == -1)
		return ctl_err(CTL_FAIL, "bad redis %s: %s", from, err);
	/* Writes, and the reads they are WATCHed with, go to the master. */
	c->rc = redis_connect(&t, REDIS_MASTER, NULL, err, sizeof(err));
	redis_target_free(&t);
	if (c->rc == NULL)
		return ctl_err(CTL_REDIS, "cannot reach Redis: %s", err);
	return CTL_OK;
}

/* [redis] prefix's grammar: printable, no blanks, at most 64 bytes. */
static int
prefix_ok(const char *p)
{
	size_t	i;

	for (i = 0; p[i] != '\0'; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return 0;
	return i <= CTL_PREFIX_MAX;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "redis",	required_argument,	NULL, 'r' },
		{ "prefix",	required_argument,	NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	struct ctl	 c;
	const char	*prefix = NULL;
	char		 err[1024];
	size_t		 i;
	int		 ch, rc;

	memset(&c, 0, sizeof(c));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.cfgpath = optarg;
			break;
		case 'r':
			c.redis_url = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("geo307ctl %s\n", PACKAGE_VERSION);
			return CTL_OK;
		/* One line, not the whole page: it points at --help. */
		case ':':
			return ctl_err(CTL_USAGE, "option %s needs an argument "
			    "(see geo307ctl --help)", argv[optind - 1]);
		default:
			return ctl_err(CTL_USAGE, "unknown option %s (see "
			    "geo307ctl --help)", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return ctl_err(CTL_USAGE, "no command (see geo307ctl --help)");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return unknown_command(argv[0]);
	if (prefix != NULL && !prefix_ok(prefix))
		return ctl_err(CTL_FAIL, "bad --prefix \"%s\" (printable, no "
		    "blanks, at most %d bytes)", prefix, CTL_PREFIX_MAX);
	if (c.cfgpath != NULL &&
	    (c.cfg = config_load(c.cfgpath, err, sizeof(err))) == NULL)
		return ctl_err(CTL_FAIL, "%s", err);
	c.prefix = prefix != NULL ? prefix : c.cfg != NULL &&
	    c.cfg->redis.prefix != NULL ? c.cfg->redis.prefix : DEFAULT_PREFIX;
	c.stale_after = c.cfg != NULL ? c.cfg->redis.stale_after :
	    CTL_DEFAULT_TTL;

	rc = commands[i].fn(&c, argc, argv);

	if (fflush(stdout) == EOF && rc == CTL_OK)
		rc = ctl_err(CTL_FAIL, "stdout: write error");
	if (c.rc != NULL)
		redisFree(c.rc);
	config_free(c.cfg);
	return rc;
}
