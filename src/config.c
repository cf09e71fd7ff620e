/*
 * config: the INI file of SPEC section 6, read strictly.
 *
 * Reading happens in three steps, so that the order of sections and keys
 * never matters and every message can name a line:
 *
 *  1. Lexing, in config_read.c: libinih, through a reader of our own,
 *     turns the file into sections, keys and value lines, each with its
 *     line number.
 *
 *  2. Interpretation, section by section in file order, each key through
 *     the parser of its type; keys that are absent get their default by
 *     going through the same parser.  The key tables are in config_keys.c,
 *     the parsers of the value types in config_value.c.
 *
 *  3. Cross-checks that need the whole file: regions, defaults,
 *     fallbacks, servers against [redirect] and [listen], Redis.  They
 *     are here, with config_load(), which runs the three steps.
 *
 * Relative paths ([geoip] database, [redis] cache_file, [listen] tls_cert
 * and tls_key, [log] access) are relative to the directory of the config
 * file as it was named (symbolic links are not followed), never to the
 * working directory, and are stored absolute: a reload must not depend on
 * where the process happens to be.
 *
 * Messages: "file:line: [section] key: what is wrong "value" (hint)",
 * or "file: what is wrong" for the file as a whole.  Only the first error
 * is reported.
 *
 * config_internal.h holds what the files of the module share.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"
#include "netaddr.h"
#include "strlist.h"
#include "url.h"

int
config_region_index(const struct config *cfg, const char *name)
{
	size_t	i;

	if (cfg == NULL || name == NULL)
		return -1;
	for (i = 0; i < cfg->nregions; i++)
		if (strcmp(cfg->regions[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- paths: relative to the directory of the config file */

/* The config file's directory, absolute: made once, when first needed. */
static int
make_dir(struct ld *ld)
{
	const char	*slash;
	char		*cwd, *dir;
	size_t		 dlen;

	slash = strrchr(ld->path, '/');
	if (slash == ld->path)
		return (ld->dir = xstrdup(ld, "/")) != NULL ? 0 : -1;
	dlen = slash != NULL ? (size_t)(slash - ld->path) : 0;
	if (dlen > 0 && ld->path[0] == '/') {
		if ((ld->dir = strndup(ld->path, dlen)) == NULL)
			return oom(ld);
		return 0;
	}
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return fail(ld, 0, "cannot resolve relative paths: getcwd: %s",
		    strerror(errno));
	if (dlen == 0 || (dlen == 1 && ld->path[0] == '.'))
		dir = strdup(cwd);
	else if (asprintf(&dir, "%s%s%.*s", cwd, strcmp(cwd, "/") == 0 ?
	    "" : "/", (int)dlen, ld->path) == -1)
		dir = NULL;
	free(cwd);
	if (dir == NULL)
		return oom(ld);
	ld->dir = dir;
	return 0;
}

char *
abs_path(struct ld *ld, const char *p)
{
	char	*out;

	if (p[0] == '/')
		return xstrdup(ld, p);
	if (ld->dir == NULL && make_dir(ld) == -1)
		return NULL;
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (asprintf(&out, "%s%s%s", ld->dir,
	    strcmp(ld->dir, "/") == 0 ? "" : "/", p) == -1) {
		oom(ld);
		return NULL;
	}
	return out;
}

/* ---- step 3: what needs the whole file */

static int
check_defaults(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*a, *b;
	size_t			 i, n = 0, first = 0;

	if (cfg->nregions == 0)
		return fail(ld, 0, "no [region] sections: at least one is "
		    "needed");
	for (i = 0; i < cfg->nregions; i++) {
		if (!cfg->regions[i].is_default)
			continue;
		if (n++ == 0) {
			first = i;
			continue;
		}
		a = sec_at(ld, cfg->regions[first].line);
		b = sec_at(ld, cfg->regions[i].line);
		return fail(ld, key_line(b, "default"), "[region %s] default: "
		    "a second default region; [region %s] says so at line %d "
		    "(exactly one may)", cfg->regions[i].name,
		    cfg->regions[first].name, key_line(a, "default"));
	}
	if (n == 0)
		return fail(ld, 0, "no region has \"default = yes\" (exactly "
		    "one must: it serves clients whose location is unknown)");
	cfg->default_region = first;
	return 0;
}

static int
check_countries(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	struct region_conf	*r, *o;
	size_t			 i, j, ri, oi;

	for (ri = 0; ri < cfg->nregions; ri++) {
		r = &cfg->regions[ri];
		for (i = 0; i < r->countries.n; i++)
			for (oi = 0; oi < ri; oi++) {
				o = &cfg->regions[oi];
				for (j = 0; j < o->countries.n; j++)
					if (strcmp(o->countries.v[j],
					    r->countries.v[i]) == 0)
						return fail(ld, item_line(
						    sec_at(ld, r->line),
						    "countries", i),
						    "[region %s] countries: "
						    "\"%s\" is also in [region "
						    "%s] at line %d", r->name,
						    r->countries.v[i], o->name,
						    item_line(sec_at(ld,
						    o->line), "countries", j));
			}
	}
	return 0;
}

static int
check_fallbacks(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	struct region_conf	*r;
	size_t			 ri, i;

	for (ri = 0; ri < cfg->nregions; ri++) {
		r = &cfg->regions[ri];
		for (i = 0; i < r->fallback.n; i++)
			if (config_region_index(cfg, r->fallback.v[i]) < 0)
				return fail(ld, item_line(sec_at(ld, r->line),
				    "fallback", i), "[region %s] fallback: "
				    "unknown region \"%s\"", r->name,
				    r->fallback.v[i]);
	}
	return 0;
}

static const char *
url_reason(const char *why)
{
	static const struct {
		const char	*why, *text;
	} reasons[] = {
		{ "scheme", "https:// only (http:// needs [redirect] "
		    "allow_http = yes)" },
		{ "host", "bad host" },
		{ "userinfo", "no user:password@ allowed" },
		{ "query", "no query allowed" },
		{ "fragment", "no fragment allowed" },
		{ "port", "bad port" },
		{ "not_allowed", "host not in [redirect] allowed_hosts" },
		{ "loop", "host is one of [listen] public_names: a redirect "
		    "loop" },
		{ "syntax", "not a URL" },
	};
	size_t	i;

	for (i = 0; why != NULL && i < sizeof(reasons) / sizeof(reasons[0]);
	    i++)
		if (strcmp(reasons[i].why, why) == 0)
			return reasons[i].text;
	return why != NULL ? why : "not a URL";
}

static int
check_servers(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	struct server_conf	*s;
	const struct rawsec	*rs;
	struct url_policy	 pol;
	struct server_url	 u;
	const char		*why;
	char			 q[QUOTE_MAX * 4 + 8];
	size_t			 i;

	pol.allowed_hosts = cfg->redirect.has_allowed_hosts ?
	    &cfg->redirect.allowed_hosts : NULL;
	pol.public_names = &cfg->listen.public_names;
	pol.allow_http = cfg->redirect.allow_http;
	for (i = 0; i < cfg->nservers; i++) {
		s = &cfg->servers[i];
		rs = sec_at(ld, s->line);
		if (config_region_index(cfg, s->region) < 0)
			return fail(ld, key_line(rs, "region"), "[server %s] "
			    "region: unknown region \"%s\"", s->id, s->region);
		if (server_url_parse(s->url, &pol, &u, &why) == -1)
			return fail(ld, key_line(rs, "url"), "[server %s] url: "
			    "bad url \"%s\" (%s)", s->id,
			    quote(q, sizeof(q), s->url), url_reason(why));
		server_url_free(&u);
	}
	return 0;
}

static int
check_redis(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*redis = sec_kind(ld, "redis");

	if (cfg->redis.url != NULL && cfg->nservers > 0)
		return fail(ld, cfg->servers[0].line, "[server %s]: [server] "
		    "sections cannot be used with a [redis] url (line %d): "
		    "the fleet comes from one or the other",
		    cfg->servers[0].id, key_line(redis, "url"));
	if (cfg->redis.url == NULL && cfg->nservers == 0)
		return fail(ld, 0, "nothing to route to: add [server] "
		    "sections or a [redis] url");
	if (cfg->redis.url != NULL && !cfg->redirect.has_allowed_hosts)
		return fail(ld, key_line(redis, "url"), "[redis] url: "
		    "[redirect] allowed_hosts is required with Redis (server "
		    "URLs in Redis must match it)");
	if (cfg->redis.sentinels.n > 0 && cfg->redis.master == NULL)
		return fail(ld, key_line(redis, "sentinels"), "[redis] "
		    "sentinels: needs [redis] master too");
	if (cfg->redis.master != NULL && cfg->redis.sentinels.n == 0)
		return fail(ld, key_line(redis, "master"), "[redis] master: "
		    "needs [redis] sentinels too");
	if (cfg->redis.sentinels.n > 0 && cfg->redis.url == NULL)
		return fail(ld, key_line(redis, "sentinels"), "[redis] "
		    "sentinels: needs [redis] url too (where this router "
		    "reads, e.g. a local replica)");
	if (cfg->redis.full_resync < cfg->redis.refresh)
		return fail(ld, key_line(redis, "full_resync"), "[redis] "
		    "full_resync: shorter than refresh");
	return 0;
}

/*
 * With SO_REUSEPORT, an admin socket on a public address would not fail
 * to bind: the kernel would share the public connections with it.
 */
static int
addr_overlap(const struct listen_addr *a, const struct listen_addr *b)
{
	static const uint8_t		 any6[16];
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)(const void *)&a->sa;
		b4 = (const struct sockaddr_in *)(const void *)&b->sa;
		return a4->sin_port == b4->sin_port &&
		    (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == 0 || b4->sin_addr.s_addr == 0);
	}
	a6 = (const struct sockaddr_in6 *)(const void *)&a->sa;
	b6 = (const struct sockaddr_in6 *)(const void *)&b->sa;
	return a6->sin6_port == b6->sin6_port &&
	    (memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0 ||
	    memcmp(&a6->sin6_addr, any6, 16) == 0 ||
	    memcmp(&b6->sin6_addr, any6, 16) == 0);
}

static int
check_listen(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*ls = sec_kind(ld, "listen");
	size_t			 i;

	if ((cfg->listen.tls_cert == NULL) != (cfg->listen.tls_key == NULL))
		return fail(ld, key_line(ls, cfg->listen.tls_cert != NULL ?
		    "tls_cert" : "tls_key"), "[listen] %s: needs %s too "
		    "(both or neither)", cfg->listen.tls_cert != NULL ?
		    "tls_cert" : "tls_key", cfg->listen.tls_cert != NULL ?
		    "tls_key" : "tls_cert");
	if (cfg->listen.max_connections < cfg->listen.naddrs)
		return fail(ld, key_line(ls, "max_connections"), "[listen] "
		    "max_connections: fewer than the addresses");
	for (i = 0; cfg->admin.enabled && i < cfg->listen.naddrs; i++)
		if (addr_overlap(&cfg->admin.addr, &cfg->listen.addrs[i]))
			return fail(ld, key_line(sec_kind(ld, "admin"),
			    "address"), "[admin] address: \"%s\" overlaps "
			    "[listen] address \"%s\" (admin pages would be "
			    "public)", cfg->admin.addr.text,
			    cfg->listen.addrs[i].text);
	return 0;
}

static int
check_all(struct ld *ld)
{
	if (check_defaults(ld) == -1 || check_countries(ld) == -1 ||
	    check_fallbacks(ld) == -1 || check_redis(ld) == -1 ||
	    check_servers(ld) == -1 || check_listen(ld) == -1)
		return -1;
	return 0;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct ld	 ld;
	struct config	*cfg;

	memset(&ld, 0, sizeof(ld));
	ld.path = path != NULL ? path : "(null)";
	ld.err = err;
	ld.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || path[0] == '\0') {
		fail(&ld, 0, "no config file named");
		return NULL;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL) {
		free(cfg);
		oom(&ld);
		return NULL;
	}
	ld.cfg = cfg;
	if (lex_file(&ld) == -1 || load_all(&ld) == -1 || check_all(&ld) == -1) {
		config_free(cfg);
		cfg = NULL;
	}
	raw_free(&ld);
	free(ld.dir);
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->listen.addrs);
	strlist_free(&cfg->listen.public_names);
	free(cfg->listen.health_path);
	free(cfg->listen.tls_cert);
	free(cfg->listen.tls_key);
	cidr_list_free(&cfg->admin.allow);
	free(cfg->geoip.database);
	free(cfg->redis.url);
	strlist_free(&cfg->redis.sentinels);
	free(cfg->redis.master);
	free(cfg->redis.prefix);
	free(cfg->redis.cache_file);
	host_patterns_free(&cfg->redirect.allowed_hosts);
	cidr_list_free(&cfg->trust.proxies);
	free(cfg->trust.header);
	strlist_free(&cfg->synthetic.tokens);
	free(cfg->lookup.prefix);
	strlist_free(&cfg->cors.allow_origins);
	free(cfg->cors.allow_methods);
	free(cfg->cors.allow_headers);
	free(cfg->affinity.header);
	free(cfg->affinity.mode);
	free(cfg->log.access);
	for (i = 0; i < cfg->nregions; i++) {
		strlist_free(&cfg->regions[i].countries);
		strlist_free(&cfg->regions[i].continents);
		strlist_free(&cfg->regions[i].fallback);
	}
	free(cfg->regions);
	for (i = 0; i < cfg->nservers; i++)
		free(cfg->servers[i].url);
	free(cfg->servers);
	free(cfg);
}
