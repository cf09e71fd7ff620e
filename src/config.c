/*
 * config: the INI file of SPEC section 6, read strictly, in three steps,
 * so that the order of sections and keys never matters and every
 * message can name a line:
 *
 *  1. Lexing (config_read.c, the grammar is written at its top): the
 *     file becomes sections, keys and value lines with line numbers.
 *  2. Interpretation (config_keys.c): each section through the key
 *     table, each value through the driver of its type (config_value.c);
 *     absent keys get their default through the same driver.
 *  3. Cross-checks that need the whole file, here: regions, defaults,
 *     fallbacks, servers against [redirect] and [listen], Redis.
 *
 * A reload (config_load_over) runs step 3 on what will really run: the
 * keys that need a restart keep the running config's value.
 *
 * Relative paths are relative to the directory of the config file as it
 * was named (symbolic links are not followed), never to the working
 * directory, and are stored absolute: a reload must not depend on where
 * the process happens to be.
 *
 * Messages: "file:line: [section] key: what is wrong "value" (hint)",
 * or "file: what is wrong" for the file as a whole.  Only the first
 * error is reported.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fleet_rec.h"
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
		return (ld->dir = config_xstrdup(ld, "/")) != NULL ? 0 : -1;
	dlen = slash != NULL ? (size_t)(slash - ld->path) : 0;
	if (dlen > 0 && ld->path[0] == '/') {
		if ((ld->dir = strndup(ld->path, dlen)) == NULL)
			return config_oom(ld);
		return 0;
	}
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return config_fail(ld, 0, "cannot resolve relative paths: getcwd: %s",
		    strerror(errno));
	if (dlen == 0 || (dlen == 1 && ld->path[0] == '.'))
		dir = strdup(cwd);
	else if (asprintf(&dir, "%s%s%.*s", cwd, strcmp(cwd, "/") == 0 ?
	    "" : "/", (int)dlen, ld->path) == -1)
		dir = NULL;
	free(cwd);
	if (dir == NULL)
		return config_oom(ld);
	ld->dir = dir;
	return 0;
}

char *
config_abs_path(struct ld *ld, const char *p)
{
	char	*out;

	if (p[0] == '/')
		return config_xstrdup(ld, p);
	if (ld->dir == NULL && make_dir(ld) == -1)
		return NULL;
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (asprintf(&out, "%s%s%s", ld->dir,
	    strcmp(ld->dir, "/") == 0 ? "" : "/", p) == -1) {
		config_oom(ld);
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
		return config_fail(ld, 0, "no [region] sections: at least one is "
		    "needed");
	for (i = 0; i < cfg->nregions; i++) {
		if (!cfg->regions[i].is_default)
			continue;
		if (n++ == 0) {
			first = i;
			continue;
		}
		a = config_sec_at(ld, cfg->regions[first].line);
		b = config_sec_at(ld, cfg->regions[i].line);
		return config_fail(ld, config_key_line(b, "default"), "[region %s] default: "
		    "a second default region; [region %s] says so at line %d "
		    "(exactly one may)", cfg->regions[i].name,
		    cfg->regions[first].name, config_key_line(a, "default"));
	}
	if (n == 0)
		return config_fail(ld, 0, "no region has \"default = yes\" (exactly "
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
						return config_fail(ld, config_item_line(
						    config_sec_at(ld, r->line),
						    "countries", i),
						    "[region %s] countries: "
						    "\"%s\" is also in [region "
						    "%s] at line %d", r->name,
						    r->countries.v[i], o->name,
						    config_item_line(config_sec_at(ld,
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
	int			 line;

	for (ri = 0; ri < cfg->nregions; ri++) {
		r = &cfg->regions[ri];
		for (i = 0; i < r->fallback.n; i++) {
			line = config_item_line(config_sec_at(ld, r->line),
			    "fallback", i);
			if (strcmp(r->fallback.v[i], r->name) == 0)
				return config_fail(ld, line, "[region %s] "
				    "fallback: a region cannot fall back to "
				    "itself \"%s\"", r->name, r->name);
			if (config_region_index(cfg, r->fallback.v[i]) < 0)
				return config_fail(ld, line, "[region %s] "
				    "fallback: unknown region \"%s\"", r->name,
				    r->fallback.v[i]);
		}
	}
	return 0;
}

/*
 * Each [server] through fleet_rec_server, the validator of every server
 * record (Redis ones too), with the error at the key's line.
 */
static int
check_servers(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	struct server_conf	*s;
	const struct rawsec	*rs;
	struct server_record	 rec;
	struct reject		 rej;
	const char		*fields[4], *values[4];
	char			 q[QUOTE_MAX * 4 + 8], wbuf[16];
	size_t			 i, n;

	for (i = 0; i < cfg->nservers; i++) {
		s = &cfg->servers[i];
		rs = config_sec_at(ld, s->line);
		n = fleet_rec_conf_fields(s, fields, values, wbuf);
		if (fleet_rec_server(cfg, s->id, fields, values, n, &rec,
		    &rej) == 0) {
			fleet_rec_record_free(&rec);
			continue;
		}
		if (rej.reason == REJECT_REGION)
			return config_fail(ld, config_key_line(rs, "region"), "[server %s] "
			    "region: unknown region \"%s\"", s->id, s->region);
		if (rej.reason == REJECT_URL)
			return config_fail(ld, config_key_line(rs, "url"), "[server %s] url: "
			    "bad url \"%s\" (%s)", s->id,
			    config_quote(q, sizeof(q), s->url), url_why_text(rej.why));
		return config_fail(ld, rej.field ? config_key_line(rs, rej.field) : s->line,
		    "[server %s] %s: bad value \"%s\" (%s)", s->id,
		    rej.field ? rej.field : "id",
		    config_quote(q, sizeof(q), rej.value ? rej.value : ""),
		    fleet_rec_reject_reason_name(rej.reason));
	}
	return 0;
}

static int
check_redis(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*redis = config_sec_kind(ld, "redis");

	if (cfg->redis.url != NULL && cfg->nservers > 0)
		return config_fail(ld, cfg->servers[0].line, "[server %s]: [server] "
		    "sections cannot be used with a [redis] url (line %d): "
		    "the fleet comes from one or the other",
		    cfg->servers[0].id, config_key_line(redis, "url"));
	if (cfg->redis.url == NULL && cfg->nservers == 0)
		return config_fail(ld, 0, "nothing to route to: add [server] "
		    "sections or a [redis] url");
	if (cfg->redis.url != NULL && !cfg->redirect.has_allowed_hosts)
		return config_fail(ld, config_key_line(redis, "url"), "[redis] url: "
		    "[redirect] allowed_hosts is required with Redis (server "
		    "URLs in Redis must match it)");
	if (cfg->redis.sentinels.n > 0 && cfg->redis.master == NULL)
		return config_fail(ld, config_key_line(redis, "sentinels"), "[redis] "
		    "sentinels: needs [redis] master too");
	if (cfg->redis.master != NULL && cfg->redis.sentinels.n == 0)
		return config_fail(ld, config_key_line(redis, "master"), "[redis] master: "
		    "needs [redis] sentinels too");
	if (cfg->redis.sentinels.n > 0 && cfg->redis.url == NULL)
		return config_fail(ld, config_key_line(redis, "sentinels"), "[redis] "
		    "sentinels: needs [redis] url too (where this router "
		    "reads, e.g. a local replica)");
	if (cfg->redis.full_resync < cfg->redis.refresh)
		return config_fail(ld, config_key_line(redis, "full_resync"), "[redis] "
		    "full_resync: shorter than refresh");
	return 0;
}

static int
check_listen(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*ls = config_sec_kind(ld, "listen");
	size_t			 i;

	if ((cfg->listen.tls_cert == NULL) != (cfg->listen.tls_key == NULL))
		return config_fail(ld, config_key_line(ls, cfg->listen.tls_cert != NULL ?
		    "tls_cert" : "tls_key"), "[listen] %s: needs %s too "
		    "(both or neither)", cfg->listen.tls_cert != NULL ?
		    "tls_cert" : "tls_key", cfg->listen.tls_cert != NULL ?
		    "tls_key" : "tls_cert");
	if (cfg->listen.max_connections < cfg->listen.naddrs)
		return config_fail(ld, config_key_line(ls, "max_connections"), "[listen] "
		    "max_connections: fewer than the addresses");
	for (i = 0; cfg->admin.enabled && i < cfg->listen.naddrs; i++)
		if (netaddr_overlap(&cfg->admin.addr.sa, &cfg->listen.addrs[i].sa))
			return config_fail(ld, config_key_line(config_sec_kind(ld, "admin"),
			    "address"), "[admin] address: \"%s\" overlaps "
			    "[listen] address \"%s\" (admin pages would be "
			    "public)", cfg->admin.addr.text,
			    cfg->listen.addrs[i].text);
	return 0;
}

/* What follows from other keys. */
static void
derive(struct config *cfg)
{
	const struct host_patterns	*hp = &cfg->redirect.allowed_hosts;
	const char			*h = cfg->trust.header, *xff;
	size_t				 len = strlen(h);

	cfg->redirect.has_allowed_hosts = hp->names.n + hp->suffixes.n +
	    hp->cidrs.n > 0;
	/* The header's name says how to read it. */
	xff = "forwarded-for";
	if (strcmp(h, "forwarded") == 0)
		cfg->trust.kind = TRUST_FORWARDED;
	else if (len >= strlen(xff) && strcmp(h + len - strlen(xff), xff) == 0)
		cfg->trust.kind = TRUST_XFF;
	else
		cfg->trust.kind = TRUST_SINGLE;
}

static int
check_all(struct ld *ld)
{
	derive(ld->cfg);
	if (check_defaults(ld) == -1 || check_countries(ld) == -1 ||
	    check_fallbacks(ld) == -1 || check_redis(ld) == -1 ||
	    check_servers(ld) == -1 || check_listen(ld) == -1)
		return -1;
	return 0;
}

/* ---- reloads: what changed, and what keeps its running value */

static int
note(struct ld *ld, struct strlist *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
note(struct ld *ld, struct strlist *l, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strlist_push(l, buf) == -1 ? config_oom(ld) : 0;
}

/* The keys of one section instance that differ between a and b. */
static int
diff_keys(struct ld *ld, const char *kind, const char *label,
    const void *a, const void *b)
{
	size_t	i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].sec, kind) == 0 &&
		    !config_value_equal(&config_keys[i], a, b) &&
		    note(ld, &ld->cfg->changed, "%s %s changed", label,
		    config_keys[i].name) == -1)
			return -1;
	return 0;
}

static size_t
nnamed(const struct config *c, int srv)
{
	return srv ? c->nservers : c->nregions;
}

static const char *
name_at(const struct config *c, int srv, size_t i)
{
	return srv ? c->servers[i].id : c->regions[i].name;
}

static const void *
named_at(const struct config *c, int srv, size_t i)
{
	return srv ? (const void *)&c->servers[i] : (const void *)&c->regions[i];
}

static size_t
find_named(const struct config *c, int srv, const char *name)
{
	size_t	i;

	for (i = 0; i < nnamed(c, srv); i++)
		if (strcmp(name_at(c, srv, i), name) == 0)
			return i;
	return SIZE_MAX;
}

/* [region NAME] and [server NAME] are live: added, removed, changed. */
static int
diff_named(struct ld *ld, const struct config *old, int srv)
{
	const struct config	*cfg = ld->cfg;
	const char		*kind = srv ? "server" : "region", *name;
	char			 label[NAME_MAX_LEN + 16];
	size_t			 i, j;
	int			 rc = 0;

	for (i = 0; i < nnamed(cfg, srv) && rc == 0; i++) {
		name = name_at(cfg, srv, i);
		snprintf(label, sizeof(label), "[%s %s]", kind, name);
		if ((j = find_named(old, srv, name)) == SIZE_MAX)
			rc = note(ld, &ld->cfg->changed, "%s added", label);
		else
			rc = diff_keys(ld, kind, label, named_at(cfg, srv, i),
			    named_at(old, srv, j));
	}
	for (j = 0; j < nnamed(old, srv) && rc == 0; j++)
		if (find_named(cfg, srv, name_at(old, srv, j)) == SIZE_MAX)
			rc = note(ld, &ld->cfg->changed, "[%s %s] removed",
			    kind, name_at(old, srv, j));
	return rc;
}

/*
 * Each key of the plain sections that changed is noted; one that is read
 * only at start takes the running value back, so that nothing is half
 * applied (step 3 then checks what will really run).
 */
static int
carry(struct ld *ld, const struct config *old)
{
	const struct key	*k;
	struct config		*cfg = ld->cfg;
	char			 label[64];
	size_t			 i;
	int			 restart;

	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (strcmp(k->sec, "region") == 0 ||
		    strcmp(k->sec, "server") == 0 || config_value_equal(k, old, cfg))
			continue;
		snprintf(label, sizeof(label), "[%s] %s", k->sec, k->name);
		restart = k->reload == R_RESTART || (k->reload == R_SET_LIVE &&
		    (*(char **)FIELD(old, k) == NULL) !=
		    (*(char **)FIELD(cfg, k) == NULL));
		if (note(ld, restart ? &cfg->restart : &cfg->changed,
		    restart ? "%s" : "%s changed", label) == -1)
			return -1;
		if (restart && config_value_copy(k, cfg, old) == -1)
			return config_oom(ld);
	}
	if (diff_named(ld, old, 0) == -1 || diff_named(ld, old, 1) == -1)
		return -1;
	return 0;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	return config_load_over(path, NULL, err, errlen);
}

struct config *
config_load_over(const char *path, const struct config *old, char *err,
    size_t errlen)
{
	return config_load_text(path, NULL, 0, old, err, errlen);
}

struct config *
config_load_text(const char *path, const char *text, size_t len,
    const struct config *old, char *err, size_t errlen)
{
	struct ld	 ld;
	struct config	*cfg;

	memset(&ld, 0, sizeof(ld));
	ld.text = text;
	ld.textlen = len;
	ld.path = path != NULL ? path : "(null)";
	ld.err = err;
	ld.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || path[0] == '\0') {
		config_fail(&ld, 0, "no config file named");
		return NULL;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL) {
		free(cfg);
		config_oom(&ld);
		return NULL;
	}
	ld.cfg = cfg;
	if (config_lex_file(&ld) == -1 || config_load_all(&ld) == -1 ||
	    (old != NULL && carry(&ld, old) == -1) || check_all(&ld) == -1) {
		config_free(cfg);
		cfg = NULL;
	}
	config_raw_free(&ld);
	free(ld.dir);
	return cfg;
}

/* Every field through its key's store, then the arrays themselves. */
void
config_free(struct config *cfg)
{
	const struct key	*k;
	size_t			 i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (strcmp(k->sec, "region") == 0)
			for (j = 0; j < cfg->nregions; j++)
				config_value_free(k, &cfg->regions[j]);
		else if (strcmp(k->sec, "server") == 0)
			for (j = 0; j < cfg->nservers; j++)
				config_value_free(k, &cfg->servers[j]);
		else
			config_value_free(k, cfg);
	}
	strlist_free(&cfg->changed);
	strlist_free(&cfg->restart);
	free(cfg->regions);
	free(cfg->servers);
	free(cfg->path);
	free(cfg->text);
	free(cfg);
}
