/*
 * config_keys: the one table of every key (section, name, type, field,
 * bounds, default, choices, help line, reload rule), and step 2 of
 * reading a config (see config.c): each section of the raw file through
 * the table, then every key a section did not set through its default,
 * by the same driver.  The drivers are in config_value.c; --check, the
 * reload comparison (config.c) and config_print_keys() read the same
 * table.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"

/*
 * One entry a key: K() names the section, the key, its type and its
 * field (plain sections: of struct config; [region NAME]: of struct
 * region_conf; [server NAME]: of struct server_conf); the rest are
 * designated initializers.  A list is T_LIST of an item kind (L()).  A
 * key without .def must be given (K_REQUIRED) or has none (location,
 * countries ...).  The reload rule is live unless it says otherwise.
 */
#define F(t, m)		.off = offsetof(t, m), .size = sizeof(((t *)0)->m)
#define SPAN(t, a, b)	.off = offsetof(t, a), .size = offsetof(t, b) + \
			    sizeof(((t *)0)->b) - offsetof(t, a)
#define K(s, n, t, m)	.sec = s, .name = n, .type = t, F(struct config, m)
#define L(s, n, i, m)	K(s, n, T_LIST, m), .item = i
#define RGN		struct region_conf
#define SRV		struct server_conf
#define RESTART		.reload = R_RESTART
#define DAY		86400.0
#define LIST(...)	(const char *const []){ __VA_ARGS__, NULL }

const struct key config_keys[] = {
	{ .sec = "listen", .name = "address", .type = T_LIST, .item = I_LISTEN,
	    SPAN(struct config, listen.addrs, listen.naddrs),
	    .def = "0.0.0.0:8307", RESTART,
	    .help = "public listener(s), IP:port" },
	{ L("listen", "public_names", I_HOSTNAME, listen.public_names),
	    .flags = K_LOWER, .def = "", RESTART,
	    .help = "our own names: never a redirect target" },
	{ K("listen", "threads", T_UINT, listen.threads), .max = 1024,
	    .def = "0", RESTART, .help = "0 = one per core" },
	{ K("listen", "max_connections", T_UINT, listen.max_connections),
	    .min = 1, .max = 1000000, .def = "10000", RESTART,
	    .help = "total, all threads" },
	{ K("listen", "per_ip_connections", T_UINT,
	    listen.per_ip_connections), .max = 1000000, .def = "256", RESTART,
	    .help = "per /32 or /64, lingering included; 0 = off" },
	{ K("listen", "header_timeout", T_DURATION, listen.header_timeout),
	    .max = 3600, .def = "10", .flags = K_POSITIVE, RESTART,
	    .help = "the whole header must arrive within this" },
	{ K("listen", "keepalive_timeout", T_DURATION,
	    listen.keepalive_timeout), .max = DAY, .def = "75",
	    .flags = K_POSITIVE, RESTART,
	    .help = "idle keep-alive (longer than a fronting LB's)" },
	{ K("listen", "max_header_bytes", T_SIZE, listen.max_header_bytes),
	    .min = 1024, .max = 1048576, .def = "16K", RESTART,
	    .help = "request line and header fields; sizes the connection's "
	    "memory pool at start" },
	{ K("listen", "health_path", T_URLPATH, listen.health_path),
	    .def = "", RESTART,
	    .help = "e.g. /healthz on the public port; empty = off" },
	{ K("listen", "shutdown_delay", T_DURATION, listen.shutdown_delay),
	    .max = 3600, .def = "0", RESTART,
	    .help = "after SIGTERM, answer health checks 503 this long" },
	{ K("listen", "shutdown_grace", T_DURATION, listen.shutdown_grace),
	    .max = 3600, .def = "10", RESTART,
	    .help = "then finish what is in flight within this" },
	{ K("listen", "tls_cert", T_PATH, listen.tls_cert), .def = "",
	    .reload = R_SET_LIVE, .help = "PEM path; with tls_key = HTTPS" },
	{ K("listen", "tls_key", T_PATH, listen.tls_key), .def = "",
	    .reload = R_SET_LIVE, .help = "PEM path of the private key" },
	{ K("listen", "proxy_protocol", T_BOOL, listen.proxy_protocol),
	    .def = "no", RESTART, .help = "yes: peers in [trust] proxies "
	    "send a PROXY v1/v2 header first" },

	{ K("service", "pid_file", T_PATH, service.pid_file), .def = "",
	    RESTART, .help = "e.g. /run/geo307/geo307.pid, locked while "
	    "running; empty = none" },

	{ K("linger", "max_bytes", T_SIZE, linger.max_bytes),
	    .max = 1099511627776.0, .def = "256M",
	    .help = "the largest browser upload that can be redirected" },
	{ K("linger", "idle", T_DURATION, linger.idle), .max = 3600,
	    .def = "10", .flags = K_POSITIVE,
	    .help = "no byte for this long: close" },
	{ K("linger", "max_time", T_DURATION, linger.max_time), .max = DAY,
	    .def = "300", .flags = K_POSITIVE,
	    .help = "a lingering connection lasts at most this" },
	{ K("linger", "max_connections", T_UINT, linger.max_connections),
	    .max = 1000000, .def = "10000",
	    .help = "lingering connections at most" },
	{ K("linger", "per_ip", T_UINT, linger.per_ip), .max = 1000000,
	    .def = "16", .help = "lingering connections per client address" },

	{ .sec = "admin", .name = "address", .type = T_ADMIN,
	    SPAN(struct config, admin.enabled, admin.addr),
	    .def = "127.0.0.1:9307", RESTART,
	    .help = "admin listener; empty = none" },
	{ L("admin", "allow", I_CIDR, admin.allow),
	    .def = "127.0.0.1/32, ::1/128", RESTART,
	    .help = "CIDRs that may use the admin pages" },

	{ K("geoip", "database", T_PATH, geoip.database),
	    .def = "/var/lib/GeoIP/GeoLite2-City.mmdb", .flags = K_NONEMPTY,
	    .help = "MMDB file (GeoLite2, GeoIP2, DB-IP)" },

	{ K("redis", "url", T_REDIS_URL, redis.url), .def = "", RESTART,
	    .help = "redis://host:port/db or unix:/path; empty = no Redis" },
	{ L("redis", "sentinels", I_SENTINEL, redis.sentinels), .def = "",
	    RESTART, .help = "host:port list; with master" },
	{ K("redis", "master", T_WORD, redis.master), .max = 128, .def = "",
	    RESTART, .help = "the Sentinel master's name" },
	{ K("redis", "prefix", T_WORD, redis.prefix), .max = 64,
	    .def = "geo307:", .flags = K_NONNULL, RESTART,
	    .help = "of every key geo307 reads" },
	{ K("redis", "refresh", T_DURATION, redis.refresh), .max = 3600,
	    .def = "1", .flags = K_POSITIVE, RESTART,
	    .help = "poll the version this often" },
	{ K("redis", "full_resync", T_DURATION, redis.full_resync), .max = DAY,
	    .def = "10", .flags = K_POSITIVE, RESTART,
	    .help = "read the whole fleet this often" },
	{ K("redis", "stale_after", T_DURATION, redis.stale_after), .max = DAY,
	    .def = "15", .flags = K_POSITIVE,
	    .help = "load reports older than this are stale" },
	{ K("redis", "cache_file", T_PATH, redis.cache_file),
	    .def = "/var/lib/geo307/fleet.cache", RESTART,
	    .help = "the last fleet, for a start without Redis; empty = none" },
	{ K("redis", "cache_max_age", T_DURATION, redis.cache_max_age),
	    .max = 365 * DAY, .def = "86400", RESTART,
	    .help = "an older cache file is not used" },

	{ K("redirect", "status", T_CHOICE, redirect.status), .def = "307",
	    .choices = LIST("307", "308"), .values = (const int []){ 307, 308 },
	    .help = "307 or 308" },
	{ K("redirect", "retry_after", T_DURATION, redirect.retry_after),
	    .max = DAY, .def = "30", .help = "on 503, jittered" },
	{ L("redirect", "allowed_hosts", I_HOSTPAT, redirect.allowed_hosts),
	    .def = "", .help = "names, *.suffix or CIDRs servers may have" },
	{ K("redirect", "allow_http", T_BOOL, redirect.allow_http),
	    .def = "no", .help = "allow http:// server URLs" },
	{ K("redirect", "sign_keys", T_SIGNKEYS, redirect.sign_keys),
	    .def = "", .help = "kid:base64 list (keys of 32 bytes or more); "
	    "the first signs, all verify; empty = no token" },
	{ K("redirect", "sign_ttl", T_DURATION, redirect.sign_ttl), .max = DAY,
	    .def = "300", .flags = K_POSITIVE,
	    .help = "how long a redirect token is valid" },

	{ K("selection", "spill_below", T_FRACTION, selection.spill_below),
	    .def = "0.10",
	    .help = "spill to the next region below this spare capacity" },
	{ K("selection", "slow_start", T_DURATION, selection.slow_start),
	    .max = DAY, .def = "0",
	    .help = "a new server's weight ramps up over this" },
	{ .sec = "selection", .name = "seed", .type = T_SEED,
	    SPAN(struct config, selection.has_seed, selection.seed), .def = "",
	    .help = "tests only" },

	{ L("trust", "proxies", I_CIDR, trust.proxies), .def = "",
	    .help = "peers whose client header is believed" },
	{ K("trust", "header", T_HEADER, trust.header),
	    .def = "x-forwarded-for", .flags = K_NONEMPTY,
	    .help = "x-forwarded-for, forwarded, or a one-address header" },

	{ L("synthetic", "tokens", I_SECRET, synthetic.tokens), .def = "",
	    .help = "empty = overrides disabled" },

	{ K("lookup", "prefix", T_URLPATH, lookup.prefix), .def = "",
	    .help = "e.g. /.geo307/lookup; empty = off" },

	{ L("cors", "allow_origins", I_ORIGIN, cors.allow_origins),
	    .flags = K_LOWER, .def = "",
	    .help = "* or origins; empty = CORS off" },
	{ L("cors", "allow_methods", I_TOKEN, cors.allow_methods),
	    .def = "GET, HEAD, POST, PUT, PATCH, DELETE",
	    .help = "Access-Control-Allow-Methods" },
	{ L("cors", "allow_headers", I_TOKEN, cors.allow_headers),
	    .def = "Content-Type, Upload-Id, Upload-Length, Upload-Offset, "
	    "Upload-Metadata, Tus-Resumable",
	    .help = "Access-Control-Allow-Headers" },
	{ K("cors", "max_age", T_UINT, cors.max_age), .max = DAY, .def = "600",
	    .help = "Access-Control-Max-Age" },

	{ K("affinity", "header", T_HEADER, affinity.header), .def = "",
	    .help = "e.g. Upload-Id; empty = off" },
	{ K("affinity", "mode", T_CHOICE, affinity.mode), .def = "hash",
	    .choices = LIST("hash", "embedded"),
	    .help = "hash the header, or a server id in it" },
	{ K("affinity", "path_segment", T_UINT, affinity.path_segment),
	    .max = 64, .def = "0",
	    .help = "take the id from this path segment; 0 = off" },

	{ K("log", "access", T_ACCESS, log.access), .def = "stdout",
	    .flags = K_NONEMPTY, RESTART, .help = "stdout, a path, or off" },
	{ K("log", "format", T_CHOICE, log.format_json), .def = "json",
	    .choices = LIST("json", "combined"),
	    .values = (const int []){ 1, 0 }, .help = "json or combined" },
	{ K("log", "log_query", T_BOOL, log.log_query), .def = "no",
	    .help = "queries often hold tokens" },
	{ K("log", "log_health", T_BOOL, log.log_health), .def = "no",
	    .help = "health_path requests in the access log" },

	{ K("metrics", "per_server", T_BOOL, metrics.per_server), .def = "yes",
	    .help = "the server label on geo307_redirects_total" },

	{ .sec = "region", .name = "location", .type = T_LOCATION,
	    SPAN(RGN, has_location, lon), .help = "latitude, longitude" },
	{ .sec = "region", .name = "countries", .type = T_LIST,
	    .item = I_COUNTRY, F(RGN, countries), .flags = K_UPPER | K_UNIQUE,
	    .help = "ISO 3166 alpha-2 codes" },
	{ .sec = "region", .name = "continents", .type = T_LIST,
	    .item = I_CONTINENT, F(RGN, continents),
	    .flags = K_UPPER | K_UNIQUE, .help = "AF AN AS EU NA OC SA" },
	{ .sec = "region", .name = "fallback", .type = T_LIST,
	    .item = I_REGION, F(RGN, fallback), .flags = K_UNIQUE,
	    .help = "ordered list" },
	{ .sec = "region", .name = "default", .type = T_BOOL,
	    F(RGN, is_default), .def = "no",
	    .help = "exactly one region says yes" },

	{ .sec = "server", .name = "url", .type = T_URL, F(SRV, url),
	    .flags = K_REQUIRED | K_NONEMPTY,
	    .help = "static fleet, only without Redis" },
	{ .sec = "server", .name = "region", .type = T_NAME, F(SRV, region),
	    .flags = K_REQUIRED, .help = "the region it serves" },
	{ .sec = "server", .name = "weight", .type = T_UINT, F(SRV, weight),
	    .max = 1000000, .def = "100", .help = "relative share" },
	{ .sec = "server", .name = "families", .type = T_CHOICE,
	    F(SRV, families), .def = "4 6", .choices = LIST("4", "6", "4 6"),
	    .help = "address families it takes: 4, 6 or 4 6" },
};

const size_t	config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);

/* ---- step 2: loading the sections through the table */

/* The keys of section kind: [*first, *end) of config_keys. */
static int
sec_keys(const char *kind, size_t *first, size_t *end)
{
	size_t	i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].sec, kind) == 0)
			break;
	*first = i;
	while (i < config_nkeys && strcmp(config_keys[i].sec, kind) == 0)
		i++;
	*end = i;
	return *first < *end ? 0 : -1;
}

static int
named(const char *kind)
{
	return strcmp(kind, "region") == 0 || strcmp(kind, "server") == 0;
}

static void
set_label(struct ld *ld, const char *kind, const char *name)
{
	char	q[QBUF];

	if (name != NULL)
		snprintf(ld->label, sizeof(ld->label), "[%s %s]", kind,
		    config_quote(q, sizeof(q), name));
	else
		snprintf(ld->label, sizeof(ld->label), "[%s]", kind);
}

static int
unknown_key(struct ld *ld, size_t first, size_t end, const struct rawkey *rk)
{
	const char	*near;
	char		 q[QBUF];

	near = parse_closest(rk->name, &config_keys[first].name, end - first,
	    sizeof(config_keys[0]));
	return config_fail(ld, rk->segs[0].line, "%s unknown key \"%s\"%s%s%s",
	    ld->label, config_quote(q, sizeof(q), rk->name), near != NULL ?
	    " (did you mean \"" : "", near != NULL ? near : "",
	    near != NULL ? "\"?)" : "");
}

/*
 * The keys of one section instance in file order, then the defaults of
 * the keys it did not set, through the same drivers.  rs may be NULL: a
 * plain section that the file does not have.
 */
static int
load_keys(struct ld *ld, const char *kind, void *base,
    const struct rawsec *rs)
{
	unsigned char	 seen[32] = { 0 };
	struct rawkey	 dk;
	struct seg	 dseg;
	const struct rawkey *rk;
	const struct key *k;
	char		 q[QBUF];
	size_t		 i, j, first, end;

	sec_keys(kind, &first, &end);
	for (i = 0; rs != NULL && i < rs->nkeys; i++) {
		rk = &rs->keys[i];
		for (j = 0; j < i; j++)
			if (strcmp(rs->keys[j].name, rk->name) == 0)
				return config_fail(ld, rk->segs[0].line, "%s duplicate "
				    "key \"%s\" (first at line %d)", ld->label,
				    config_quote(q, sizeof(q), rk->name),
				    rs->keys[j].segs[0].line);
		for (j = first; j < end; j++)
			if (strcmp(config_keys[j].name, rk->name) == 0)
				break;
		if (j == end)
			return unknown_key(ld, first, end, rk);
		if (config_value_set(ld, &config_keys[j], base, rk) == -1)
			return -1;
		seen[j - first] = 1;
	}
	for (j = first; j < end; j++) {
		k = &config_keys[j];
		if (seen[j - first])
			continue;
		if (k->flags & K_REQUIRED)
			return config_fail(ld, rs != NULL ? rs->line : 0, "%s missing "
			    "required key \"%s\"", ld->label, k->name);
		if (k->def == NULL)
			continue;
		dseg.text = (char *)(uintptr_t)k->def;
		dseg.line = rs != NULL ? rs->line : 0;
		dk.name = (char *)(uintptr_t)k->name;
		dk.segs = &dseg;
		dk.nsegs = 1;
		if (config_value_set(ld, k, base, &dk) == -1)
			return -1;
	}
	return 0;
}

/* A [region NAME] or [server NAME]: a new element of its array. */
static int
add_named(struct ld *ld, const struct rawsec *rs, void **base)
{
	struct config	*cfg = ld->cfg;
	int		 srv = strcmp(rs->kind, "server") == 0, line = 0;
	size_t		 i, n = srv ? cfg->nservers : cfg->nregions;
	void		*v;

	for (i = 0; i < n && line == 0; i++)
		if (strcmp(srv ? cfg->servers[i].id : cfg->regions[i].name,
		    rs->name) == 0)
			line = srv ? cfg->servers[i].line : cfg->regions[i].line;
	if (line != 0)
		return config_fail(ld, rs->line, "duplicate %s (first at line %d)",
		    ld->label, line);
	if (!srv && n >= REGIONS_MAX)
		return config_fail(ld, rs->line, "%s: more than %d [region] sections",
		    ld->label, REGIONS_MAX);
	if (srv) {
		if ((v = grow1(cfg->servers, n, sizeof(*cfg->servers))) == NULL)
			return config_oom(ld);
		cfg->servers = v;
		memset(&cfg->servers[n], 0, sizeof(cfg->servers[n]));
		memcpy(cfg->servers[n].id, rs->name, strlen(rs->name) + 1);
		cfg->servers[n].line = rs->line;
		*base = &cfg->servers[cfg->nservers++];
		return 0;
	}
	if ((v = grow1(cfg->regions, n, sizeof(*cfg->regions))) == NULL)
		return config_oom(ld);
	cfg->regions = v;
	memset(&cfg->regions[n], 0, sizeof(cfg->regions[n]));
	memcpy(cfg->regions[n].name, rs->name, strlen(rs->name) + 1);
	cfg->regions[n].line = rs->line;
	*base = &cfg->regions[cfg->nregions++];
	return 0;
}

static int
load_section(struct ld *ld, const struct rawsec *rs, int *plain_line)
{
	char	 q[QBUF];
	void	*base = ld->cfg;
	size_t	 first, end;

	set_label(ld, rs->kind, rs->name);
	if (sec_keys(rs->kind, &first, &end) == -1)
		return config_fail(ld, rs->line, "unknown section %s", ld->label);
	if (!named(rs->kind)) {
		if (rs->name != NULL)
			return config_fail(ld, rs->line, "%s: [%s] takes no name",
			    ld->label, rs->kind);
		if (plain_line[first] != 0)
			return config_fail(ld, rs->line, "duplicate section %s (first "
			    "at line %d)", ld->label, plain_line[first]);
		plain_line[first] = rs->line;
	} else {
		if (rs->name == NULL)
			return config_fail(ld, rs->line, "%s needs a name: [%s NAME]",
			    ld->label, rs->kind);
		if (!parse_is_name(rs->name))
			return config_fail(ld, rs->line, "%s: bad name \"%s\" "
			    "(letters, digits, '.', '_', '-', not first; at "
			    "most 63)", ld->label,
			    config_quote(q, sizeof(q), rs->name));
		if (add_named(ld, rs, &base) == -1)
			return -1;
	}
	return load_keys(ld, rs->kind, base, rs);
}

int
config_load_all(struct ld *ld)
{
	int	*plain_line;
	size_t	 i;
	int	 rc = 0;

	if ((plain_line = calloc(config_nkeys, sizeof(int))) == NULL)
		return config_oom(ld);
	for (i = 0; i < ld->nsecs && rc == 0; i++)
		rc = load_section(ld, &ld->secs[i], plain_line);
	/* The sections the file does not have: all their defaults. */
	for (i = 0; i < config_nkeys && rc == 0; i++) {
		if (named(config_keys[i].sec) || plain_line[i] != 0 ||
		    (i > 0 && strcmp(config_keys[i].sec,
		    config_keys[i - 1].sec) == 0))
			continue;
		set_label(ld, config_keys[i].sec, NULL);
		rc = load_keys(ld, config_keys[i].sec, ld->cfg, NULL);
	}
	free(plain_line);
	return rc;
}

/* ---- the key list, for the man page: one key a line, TAB-separated */

static const char *
type_name(const struct key *k)
{
	static const char *const scalars[] = {
		[T_UINT] = "integer", [T_SIZE] = "size", [T_DURATION] =
		"duration", [T_FRACTION] = "fraction", [T_BOOL] = "boolean",
		[T_CHOICE] = "choice", [T_PATH] = "path", [T_WORD] = "string",
		[T_SIGNKEYS] = "keys",
		[T_URLPATH] = "url-path", [T_HEADER] = "header-name",
		[T_URL] = "url", [T_NAME] = "name", [T_REDIS_URL] = "url",
		[T_ACCESS] = "path", [T_ADMIN] = "address", [T_LOCATION] =
		"location", [T_SEED] = "integer"
	};
	static const char *const lists[] = {
		[I_CIDR] = "cidr-list", [I_SECRET] = "token-list", [I_ORIGIN] =
		"origin-list", [I_TOKEN] = "token-list", [I_COUNTRY] =
		"country-list", [I_CONTINENT] = "continent-list",
		[I_HOSTNAME] = "host-list", [I_SENTINEL] = "address-list",
		[I_REGION] = "name-list", [I_LISTEN] = "address-list",
		[I_HOSTPAT] = "host-pattern-list"
	};

	return k->type == T_LIST ? lists[k->item] : scalars[k->type];
}

/*
 * section, key, type, default ("-": none, "" shown as empty), reload
 * rule, help: stable, so that a man page generator can read it.
 */
void
config_print_keys(FILE *f)
{
	static const char *const rules[] = {
		[R_LIVE] = "live", [R_RESTART] = "restart",
		[R_SET_LIVE] = "live-while-set"
	};
	const struct key	*k;
	char			 type[64];
	size_t			 i, j, o;

	fprintf(f, "# section\tkey\ttype\tdefault\treload\thelp\n");
	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		/* A choice is its choices: "json|combined". */
		snprintf(type, sizeof(type), "%s", type_name(k));
		for (j = o = 0; k->choices != NULL && k->choices[j] != NULL;
		    j++)
			o += snprintf(type + o, sizeof(type) - o, "%s%s",
			    j > 0 ? "|" : "", k->choices[j]);
		fprintf(f, "%s%s\t%s\t%s\t%s\t%s\t%s\n", k->sec,
		    named(k->sec) ? " NAME" : "", k->name, type,
		    k->def != NULL ? k->def : k->flags & K_REQUIRED ?
		    "(required)" : "-", rules[k->reload], k->help);
	}
}
