/*
 * config_keys: step 2 of reading a config (see config.c), interpretation.
 * The keys of every section with their types and defaults, the setters
 * of keys with rules of their own, and the loading of each section of
 * the raw file through its keys.  The setters of the value types that
 * keys share are in config_value.c.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "netaddr.h"
#include "strlist.h"
#include "url.h"

#define LISTEN_MAX		8	/* http.c serves at most this many */

/* ---- step 2: the setters of keys with rules of their own */

static int
parse_hostport(struct ld *ld, const struct rawkey *k, int line,
    const char *s, struct listen_addr *out)
{
	if (sockaddr_parse_hostport(s, &out->sa, &out->salen) == -1)
		return bad(ld, k, line, "bad address", s,
		    "IP:port, [IPv6]:port or *:port; no host names");
	if (strlen(s) >= sizeof(out->text))
		return bad(ld, k, line, "bad address", s, "too long");
	memcpy(out->text, s, strlen(s) + 1);
	return 0;
}

static int
same_sockaddr(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

static int
set_listen(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config	*cfg = base;
	struct strlist	 items;
	size_t		 i, j;
	int		*lines, rc = 0;

	(void)ks;
	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	if (items.n == 0)
		rc = empty(ld, k, "at least one IP:port");
	else if (items.n > LISTEN_MAX)
		rc = fail(ld, lines[LISTEN_MAX], "%s %s: more than %d "
		    "addresses", ld->label, k->name, LISTEN_MAX);
	else if ((cfg->listen.addrs = calloc(items.n,
	    sizeof(*cfg->listen.addrs))) == NULL)
		rc = oom(ld);
	for (i = 0; i < items.n && rc == 0; i++) {
		rc = parse_hostport(ld, k, lines[i], items.v[i],
		    &cfg->listen.addrs[i]);
		for (j = 0; j < i && rc == 0; j++)
			if (same_sockaddr(&cfg->listen.addrs[i],
			    &cfg->listen.addrs[j]))
				rc = bad(ld, k, lines[i], "address listed "
				    "twice", items.v[i], NULL);
		cfg->listen.naddrs = i + 1;
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/*
 * Our own names, with an optional port: checked with the server URL
 * parser, so that the loop check compares names the same way.
 */
static int
set_public_names(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist		*field = FIELD(base, ks, struct strlist);
	struct strlist		 items;
	struct server_url	 u;
	const char		*why;
	char			*url;
	size_t			 i;
	int			*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		str_lower(items.v[i]);
		if (asprintf(&url, "https://%s", items.v[i]) == -1) {
			rc = oom(ld);
			break;
		}
		if (strpbrk(items.v[i], "/?#@") != NULL ||
		    server_url_parse(url, NULL, &u, &why) == -1)
			rc = bad(ld, k, lines[i], "bad host name", items.v[i],
			    "a DNS name or IP address, optionally with :port");
		else
			server_url_free(&u);
		free(url);
		if (rc == 0 && strlist_push(field, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/* [admin] address: one address, or empty for no admin listener. */
static int
set_admin(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config	*cfg = base;
	const char	*s;

	(void)ks;
	if ((s = scalar(ld, k)) == NULL)
		return -1;
	cfg->admin.enabled = s[0] != '\0';
	if (!cfg->admin.enabled)
		return 0;
	return parse_hostport(ld, k, k->segs[0].line, s, &cfg->admin.addr);
}

/*
 * Only a light check: a later module connects.  rediss:// is refused
 * because hiredis 0.14 has no TLS, so it would silently mean plain text.
 */
static int
set_redis_url(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	char		**field = FIELD(base, ks, char *);

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return 0;
	if (strncasecmp(s, "rediss://", 9) == 0)
		return bad(ld, k, k->segs[0].line, "bad url", s, "no TLS with "
		    "hiredis 0.14: use a private network or stunnel");
	if (!is_visible_str(s) ||
	    !((strncasecmp(s, "redis://", 8) == 0 && s[8] != '\0' &&
	    s[8] != '/') || (strncasecmp(s, "unix:", 5) == 0 && s[5] == '/')))
		return bad(ld, k, k->segs[0].line, "bad url", s,
		    "redis://host:port/db or unix:/path/to/redis.sock");
	return (*field = xstrdup(ld, s)) != NULL ? 0 : -1;
}

/* host:port items; host names are fine here (Sentinel hands out names). */
static int
set_sentinels(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist		*field = FIELD(base, ks, struct strlist);
	struct strlist		 items;
	unsigned long long	 port;
	const char		*colon;
	size_t			 i;
	int			*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		colon = strrchr(items.v[i], ':');
		if (colon == NULL || colon == items.v[i] ||
		    parse_uint(colon + 1, 65535, &port) == -1 || port == 0 ||
		    !is_visible_str(items.v[i]))
			rc = bad(ld, k, lines[i], "bad address", items.v[i],
			    "host:port");
		else if (strlist_push(field, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

static int
set_status(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strcmp(s, "307") != 0 && strcmp(s, "308") != 0)
		return bad(ld, k, k->segs[0].line, "bad status", s,
		    "307 or 308");
	*FIELD(base, ks, int) = s[2] == '7' ? 307 : 308;
	return 0;
}

/* Each item is checked alone first, so that the message can name it. */
static int
set_allowed_hosts(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config		*cfg = base;
	struct host_patterns	 one;
	struct strlist		 items;
	char			*all = NULL;
	size_t			 i;
	int			*lines, rc = 0;

	(void)ks;
	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		if (host_patterns_parse(items.v[i], &one) == -1)
			rc = bad(ld, k, lines[i], "bad host pattern",
			    items.v[i], "a name, *.suffix or a CIDR");
		else
			host_patterns_free(&one);
	}
	if (rc == 0 && (all = join(ld, &items, " ")) == NULL)
		rc = -1;
	if (rc == 0 && host_patterns_parse(all,
	    &cfg->redirect.allowed_hosts) == -1)
		rc = oom(ld);
	if (rc == 0)
		cfg->redirect.has_allowed_hosts = items.n > 0;
	free(all);
	strlist_free(&items);
	free(lines);
	return rc;
}

static int
set_seed(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config		*cfg = base;
	unsigned long long	 v;
	const char		*s;

	(void)ks;
	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return 0;
	if (parse_uint(s, UINT64_MAX, &v) == -1)
		return bad(ld, k, k->segs[0].line, "bad seed", s,
		    "an integer 0..18446744073709551615, or empty");
	cfg->selection.has_seed = 1;
	cfg->selection.seed = (uint64_t)v;
	return 0;
}

/* The header's name says how to read it. */
static int
set_trust_header(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config	*cfg = base;
	const char	*h, *xff = "forwarded-for";
	size_t		 len;

	if (get_header(ld, ks, k, &cfg->trust.header) == -1)
		return -1;
	h = cfg->trust.header;
	len = strlen(h);
	if (strcmp(h, "forwarded") == 0)
		cfg->trust.kind = TRUST_FORWARDED;
	else if (len >= strlen(xff) && strcmp(h + len - strlen(xff), xff) == 0)
		cfg->trust.kind = TRUST_XFF;
	else
		cfg->trust.kind = TRUST_SINGLE;
	return 0;
}

static int
set_mode(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strcmp(s, "hash") != 0 && strcmp(s, "embedded") != 0)
		return bad(ld, k, k->segs[0].line, "bad mode", s,
		    "hash or embedded");
	return (*FIELD(base, ks, char *) = xstrdup(ld, s)) != NULL ? 0 : -1;
}

static int
set_log_access(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return empty(ld, k, "stdout, off or a path");
	if (strcmp(s, "off") == 0)
		return 0;
	/* "stderr" would quietly become a file of that name: refuse it. */
	if (strcmp(s, "stderr") == 0 || strcmp(s, "-") == 0)
		return bad(ld, k, k->segs[0].line, "bad value", s,
		    "stdout, off or a path");
	if (strcmp(s, "stdout") == 0)
		return (*FIELD(base, ks, char *) = xstrdup(ld, s)) != NULL ?
		    0 : -1;
	return set_path(ld, base, ks, k);
}

static int
set_log_format(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strcmp(s, "json") != 0 && strcmp(s, "combined") != 0)
		return bad(ld, k, k->segs[0].line, "bad format", s,
		    "json or combined");
	*FIELD(base, ks, int) = strcmp(s, "json") == 0;
	return 0;
}

/* [region] location = lat, lon */
static int
set_location(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct region_conf	*rc = base;
	struct strlist		 items;
	const char		*s;
	double			 lat, lon;
	int			 ok;

	(void)ks;
	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strlist_split(s, &items) == -1)
		return oom(ld);
	ok = items.n == 2 && parse_decimal(items.v[0], 1, &lat) == 0 &&
	    parse_decimal(items.v[1], 1, &lon) == 0 &&
	    lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;
	strlist_free(&items);
	if (!ok)
		return bad(ld, k, k->segs[0].line, "bad location", s,
		    "latitude, longitude in degrees: -90..90, -180..180");
	rc->has_location = 1;
	rc->lat = lat;
	rc->lon = lon;
	return 0;
}

/* Names only here: whether they exist is known after the whole file. */
static int
set_fallback(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct region_conf	*r = base;
	struct strlist		 items;
	size_t			 i;
	int			*lines, rc = 0;

	(void)ks;
	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		if (!name_is_valid(items.v[i]))
			rc = bad(ld, k, lines[i], "bad region name",
			    items.v[i], NULL);
		else if (strcmp(items.v[i], r->name) == 0)
			rc = bad(ld, k, lines[i], "a region cannot fall back "
			    "to itself", items.v[i], NULL);
		else if (strlist_contains(&r->fallback, items.v[i]))
			rc = bad(ld, k, lines[i], "region listed twice",
			    items.v[i], NULL);
		else if (strlist_push(&r->fallback, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/* ---- step 2: the keys of each section */

#define CFG(m)	offsetof(struct config, m)
#define RGN(m)	offsetof(struct region_conf, m)
#define SRV(m)	offsetof(struct server_conf, m)
#define DAY	86400.0
#define KEYS(a)	(a), sizeof(a) / sizeof((a)[0])

static const struct keyspec listen_keys[] = {
	{ "address", set_listen, 0, 0, 0, "0.0.0.0:8307", K_LIST },
	{ "public_names", set_public_names, CFG(listen.public_names), 0, 0,
	    "", K_LIST },
	{ "threads", set_uint, CFG(listen.threads), 0, 1024, "0", 0 },
	{ "max_connections", set_uint, CFG(listen.max_connections), 1,
	    1000000, "10000", 0 },
	{ "per_ip_connections", set_uint, CFG(listen.per_ip_connections), 0,
	    1000000, "256", 0 },
	{ "header_timeout", set_duration, CFG(listen.header_timeout), 0, 3600,
	    "10", K_POSITIVE },
	{ "keepalive_timeout", set_duration, CFG(listen.keepalive_timeout),
	    0, DAY, "75", K_POSITIVE },
	{ "max_header_bytes", set_sizet, CFG(listen.max_header_bytes), 1024,
	    1048576, "16K", 0 },
	{ "health_path", set_urlpath, CFG(listen.health_path), 0, 0, "", 0 },
	{ "shutdown_delay", set_duration, CFG(listen.shutdown_delay), 0,
	    3600, "0", 0 },
	{ "shutdown_grace", set_duration, CFG(listen.shutdown_grace), 0,
	    3600, "10", 0 },
	{ "tls_cert", set_path, CFG(listen.tls_cert), 0, 0, "", 0 },
	{ "tls_key", set_path, CFG(listen.tls_key), 0, 0, "", 0 },
};

static const struct keyspec linger_keys[] = {
	{ "max_bytes", set_size64, CFG(linger.max_bytes), 0,
	    1099511627776.0, "256M", 0 },
	{ "idle", set_duration, CFG(linger.idle), 0, 3600, "10", K_POSITIVE },
	{ "max_time", set_duration, CFG(linger.max_time), 0, DAY, "300",
	    K_POSITIVE },
	{ "max_connections", set_uint, CFG(linger.max_connections), 0,
	    1000000, "10000", 0 },
	{ "per_ip", set_uint, CFG(linger.per_ip), 0, 1000000, "16", 0 },
};

static const struct keyspec admin_keys[] = {
	{ "address", set_admin, 0, 0, 0, "127.0.0.1:9307", 0 },
	{ "allow", set_cidrs, CFG(admin.allow), 0, 0, "127.0.0.1/32, ::1/128",
	    K_LIST },
};

static const struct keyspec geoip_keys[] = {
	{ "database", set_path, CFG(geoip.database), 0, 0,
	    "/var/lib/GeoIP/GeoLite2-City.mmdb", K_NONEMPTY },
};

static const struct keyspec redis_keys[] = {
	{ "url", set_redis_url, CFG(redis.url), 0, 0, "", 0 },
	{ "sentinels", set_sentinels, CFG(redis.sentinels), 0, 0, "",
	    K_LIST },
	{ "master", set_word, CFG(redis.master), 0, 128, "", 0 },
	{ "prefix", set_word, CFG(redis.prefix), 0, 64, "geo307:",
	    K_NONNULL },
	{ "refresh", set_duration, CFG(redis.refresh), 0, 3600, "1",
	    K_POSITIVE },
	{ "full_resync", set_duration, CFG(redis.full_resync), 0, DAY, "10",
	    K_POSITIVE },
	{ "stale_after", set_duration, CFG(redis.stale_after), 0, DAY, "15",
	    K_POSITIVE },
	{ "cache_file", set_path, CFG(redis.cache_file), 0, 0,
	    "/var/lib/geo307/fleet.cache", 0 },
	{ "cache_max_age", set_duration, CFG(redis.cache_max_age), 0,
	    365 * DAY, "86400", 0 },
};

static const struct keyspec redirect_keys[] = {
	{ "status", set_status, CFG(redirect.status), 0, 0, "307", 0 },
	{ "retry_after", set_duration, CFG(redirect.retry_after), 0, DAY,
	    "30", 0 },
	{ "allowed_hosts", set_allowed_hosts, 0, 0, 0, "", K_LIST },
	{ "allow_http", set_bool, CFG(redirect.allow_http), 0, 0, "no", 0 },
};

static const struct keyspec selection_keys[] = {
	{ "spill_below", set_fraction, CFG(selection.spill_below), 0, 0,
	    "0.10", 0 },
	{ "slow_start", set_duration, CFG(selection.slow_start), 0, DAY, "0",
	    0 },
	{ "seed", set_seed, 0, 0, 0, "", 0 },
};

static const struct keyspec trust_keys[] = {
	{ "proxies", set_cidrs, CFG(trust.proxies), 0, 0, "", K_LIST },
	{ "header", set_trust_header, CFG(trust.header), 0, 0,
	    "x-forwarded-for", K_NONEMPTY },
};

static const struct keyspec synthetic_keys[] = {
	{ "tokens", set_tokens, CFG(synthetic.tokens), 0, 0, "", K_LIST },
};

static const struct keyspec lookup_keys[] = {
	{ "prefix", set_urlpath, CFG(lookup.prefix), 0, 0, "", 0 },
};

static const struct keyspec cors_keys[] = {
	{ "allow_origins", set_origins, CFG(cors.allow_origins), 0, 0, "",
	    K_LIST },
	{ "allow_methods", set_token_list, CFG(cors.allow_methods), 0, 0,
	    "GET, HEAD, POST, PUT, PATCH, DELETE", K_LIST },
	{ "allow_headers", set_token_list, CFG(cors.allow_headers), 0, 0,
	    "Content-Type, Upload-Id, Upload-Length, Upload-Offset, "
	    "Upload-Metadata, Tus-Resumable", K_LIST },
	{ "max_age", set_uint, CFG(cors.max_age), 0, DAY, "600", 0 },
};

static const struct keyspec affinity_keys[] = {
	{ "header", set_header, CFG(affinity.header), 0, 0, "", 0 },
	{ "mode", set_mode, CFG(affinity.mode), 0, 0, "hash", 0 },
	{ "path_segment", set_int, CFG(affinity.path_segment), 0, 64, "0",
	    0 },
};

static const struct keyspec log_keys[] = {
	{ "access", set_log_access, CFG(log.access), 0, 0, "stdout", 0 },
	{ "format", set_log_format, CFG(log.format_json), 0, 0, "json", 0 },
	{ "log_query", set_bool, CFG(log.log_query), 0, 0, "no", 0 },
};

static const struct keyspec metrics_keys[] = {
	{ "per_server", set_bool, CFG(metrics.per_server), 0, 0, "yes", 0 },
};

static const struct keyspec region_keys[] = {
	{ "location", set_location, 0, 0, 0, NULL, 0 },
	{ "countries", set_countries, RGN(countries), 0, 0, NULL, K_LIST },
	{ "continents", set_continents, RGN(continents), 0, 0, NULL, K_LIST },
	{ "fallback", set_fallback, 0, 0, 0, NULL, K_LIST },
	{ "default", set_bool, RGN(is_default), 0, 0, "no", 0 },
};

static const struct keyspec server_keys[] = {
	{ "url", set_url, SRV(url), 0, 0, NULL, K_REQUIRED },
	{ "region", set_name, SRV(region), 0, 0, NULL, K_REQUIRED },
	{ "weight", set_u32, SRV(weight), 0, 1000000, "100", 0 },
};

enum { SEC_PLAIN, SEC_REGION, SEC_SERVER };

struct sectionspec {
	const char		*kind;
	const struct keyspec	*keys;
	size_t			 nkeys;
	int			 type;
};

static const struct sectionspec sections[] = {
	{ "listen", KEYS(listen_keys), SEC_PLAIN },
	{ "linger", KEYS(linger_keys), SEC_PLAIN },
	{ "admin", KEYS(admin_keys), SEC_PLAIN },
	{ "geoip", KEYS(geoip_keys), SEC_PLAIN },
	{ "redis", KEYS(redis_keys), SEC_PLAIN },
	{ "redirect", KEYS(redirect_keys), SEC_PLAIN },
	{ "selection", KEYS(selection_keys), SEC_PLAIN },
	{ "trust", KEYS(trust_keys), SEC_PLAIN },
	{ "synthetic", KEYS(synthetic_keys), SEC_PLAIN },
	{ "lookup", KEYS(lookup_keys), SEC_PLAIN },
	{ "cors", KEYS(cors_keys), SEC_PLAIN },
	{ "affinity", KEYS(affinity_keys), SEC_PLAIN },
	{ "log", KEYS(log_keys), SEC_PLAIN },
	{ "metrics", KEYS(metrics_keys), SEC_PLAIN },
	{ "region", KEYS(region_keys), SEC_REGION },
	{ "server", KEYS(server_keys), SEC_SERVER },
};

#define NSECTIONS	(sizeof(sections) / sizeof(sections[0]))
#define MAX_KEYS	16	/* of any one section */

/* ---- step 2: loading the sections */

static void
set_label(struct ld *ld, const char *kind, const char *name)
{
	char	q[QUOTE_MAX * 4 + 8];

	if (name != NULL)
		snprintf(ld->label, sizeof(ld->label), "[%s %s]", kind,
		    quote(q, sizeof(q), name));
	else
		snprintf(ld->label, sizeof(ld->label), "[%s]", kind);
}

/*
 * The keys of one section instance in file order, then the defaults of
 * the keys it did not set, through the same parsers.  rs may be NULL: a
 * plain section that the file does not have.
 */
static int
load_keys(struct ld *ld, const struct sectionspec *ss, void *base,
    const struct rawsec *rs)
{
	unsigned char	 seen[MAX_KEYS] = { 0 };
	struct rawkey	 dk;
	struct seg	 dseg;
	const struct rawkey *k;
	char		 q[QUOTE_MAX * 4 + 8];
	size_t		 i, j;

	for (i = 0; rs != NULL && i < rs->nkeys; i++) {
		k = &rs->keys[i];
		for (j = 0; j < i; j++)
			if (strcmp(rs->keys[j].name, k->name) == 0)
				return fail(ld, k->segs[0].line, "%s duplicate "
				    "key \"%s\" (first at line %d)", ld->label,
				    quote(q, sizeof(q), k->name),
				    rs->keys[j].segs[0].line);
		for (j = 0; j < ss->nkeys; j++)
			if (strcmp(ss->keys[j].name, k->name) == 0)
				break;
		if (j == ss->nkeys)
			return fail(ld, k->segs[0].line, "%s unknown key "
			    "\"%s\"", ld->label, quote(q, sizeof(q), k->name));
		if (ss->keys[j].set(ld, base, &ss->keys[j], k) == -1)
			return -1;
		seen[j] = 1;
	}
	for (j = 0; j < ss->nkeys; j++) {
		if (seen[j])
			continue;
		if (ss->keys[j].def == NULL && (ss->keys[j].flags & K_REQUIRED))
			return fail(ld, rs != NULL ? rs->line : 0, "%s missing "
			    "required key \"%s\"", ld->label,
			    ss->keys[j].name);
		if (ss->keys[j].def == NULL)
			continue;
		dseg.text = (char *)(uintptr_t)ss->keys[j].def;
		dseg.line = rs != NULL ? rs->line : 0;
		dk.name = (char *)(uintptr_t)ss->keys[j].name;
		dk.segs = &dseg;
		dk.nsegs = 1;
		if (ss->keys[j].set(ld, base, &ss->keys[j], &dk) == -1)
			return -1;
	}
	return 0;
}

static int
add_region(struct ld *ld, const struct rawsec *rs, void **base)
{
	struct config		*cfg = ld->cfg;
	struct region_conf	*v;
	int			 i;

	if ((i = config_region_index(cfg, rs->name)) >= 0)
		return fail(ld, rs->line, "duplicate %s (first at line %d)",
		    ld->label, cfg->regions[i].line);
	if (cfg->nregions >= REGIONS_MAX)
		return fail(ld, rs->line, "%s: more than %d [region] sections",
		    ld->label, REGIONS_MAX);
	if ((v = grow1(cfg->regions, cfg->nregions, sizeof(*v))) == NULL)
		return oom(ld);
	cfg->regions = v;
	v = &cfg->regions[cfg->nregions++];
	memset(v, 0, sizeof(*v));
	memcpy(v->name, rs->name, strlen(rs->name) + 1);
	v->line = rs->line;
	*base = v;
	return 0;
}

static int
add_server(struct ld *ld, const struct rawsec *rs, void **base)
{
	struct config		*cfg = ld->cfg;
	struct server_conf	*v;
	size_t			 i;

	for (i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].id, rs->name) == 0)
			return fail(ld, rs->line, "duplicate %s (first at "
			    "line %d)", ld->label, cfg->servers[i].line);
	if ((v = grow1(cfg->servers, cfg->nservers, sizeof(*v))) == NULL)
		return oom(ld);
	cfg->servers = v;
	v = &cfg->servers[cfg->nservers++];
	memset(v, 0, sizeof(*v));
	memcpy(v->id, rs->name, strlen(rs->name) + 1);
	v->line = rs->line;
	*base = v;
	return 0;
}

static int
load_section(struct ld *ld, const struct rawsec *rs, int *plain_line)
{
	const struct sectionspec	*ss;
	char				 q[QUOTE_MAX * 4 + 8];
	void				*base = ld->cfg;
	size_t				 i;

	for (i = 0; i < NSECTIONS; i++)
		if (strcmp(sections[i].kind, rs->kind) == 0)
			break;
	set_label(ld, rs->kind, rs->name);
	if (i == NSECTIONS)
		return fail(ld, rs->line, "unknown section %s", ld->label);
	ss = &sections[i];
	if (ss->type == SEC_PLAIN) {
		if (rs->name != NULL)
			return fail(ld, rs->line, "%s: [%s] takes no name",
			    ld->label, rs->kind);
		if (plain_line[i] != 0)
			return fail(ld, rs->line, "duplicate section %s (first "
			    "at line %d)", ld->label, plain_line[i]);
		plain_line[i] = rs->line;
	} else {
		if (rs->name == NULL)
			return fail(ld, rs->line, "%s needs a name: [%s NAME]",
			    ld->label, rs->kind);
		if (!name_is_valid(rs->name))
			return fail(ld, rs->line, "%s: bad name \"%s\" "
			    "(letters, digits, '.', '_', '-', not first; at "
			    "most 63)", ld->label,
			    quote(q, sizeof(q), rs->name));
		if ((ss->type == SEC_REGION ? add_region(ld, rs, &base) :
		    add_server(ld, rs, &base)) == -1)
			return -1;
	}
	return load_keys(ld, ss, base, rs);
}

int
load_all(struct ld *ld)
{
	int	plain_line[NSECTIONS] = { 0 };
	size_t	i;

	for (i = 0; i < ld->nsecs; i++)
		if (load_section(ld, &ld->secs[i], plain_line) == -1)
			return -1;
	for (i = 0; i < NSECTIONS; i++) {
		if (sections[i].type != SEC_PLAIN || plain_line[i] != 0)
			continue;
		set_label(ld, sections[i].kind, NULL);
		if (load_keys(ld, &sections[i], ld->cfg, NULL) == -1)
			return -1;
	}
	return 0;
}
