/*
 * config_value: one driver per value type of the key table
 * (config_keys.c): numbers of any width, sizes, durations, booleans and
 * choices, strings of each kind, and lists,
 * where one loop reads the items of every list key and the item's kind
 * says how each is checked and the key's store how they are kept.  Also
 * comparing, copying and freeing a field by its store, for reloads and
 * config_free().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "countries.h"
#include "netaddr.h"
#include "redis_conn.h"
#include "strlist.h"
#include "token.h"
#include "url.h"

/* How a field is kept, by its type: what comparing, copying, freeing is. */
enum kstore { S_MEM, S_STR, S_LIST, S_CIDRS, S_HOSTS };

static enum kstore
store_of(const struct key *k)
{
	static const enum kstore lists[] = { [I_CIDR] = S_CIDRS,
	    [I_HOSTPAT] = S_HOSTS, [I_TOKEN] = S_STR };

	switch (k->type) {
	case T_LIST:
		if (k->item == I_LISTEN)
			return S_MEM;	/* a fixed array and its count */
		return k->item < sizeof(lists) / sizeof(lists[0]) &&
		    lists[k->item] != S_MEM ? lists[k->item] : S_LIST;
	case T_UINT: case T_SIZE: case T_DURATION: case T_FRACTION:
	case T_BOOL: case T_NAME: case T_ADMIN: case T_LOCATION: case T_SEED:
		return S_MEM;
	case T_CHOICE:
		return k->values != NULL ? S_MEM : S_STR;
	default:
		return S_STR;
	}
}

/* ---- the drivers */

static const char *
scalar(struct ld *ld, const struct rawkey *rk)
{
	if (rk->nsegs > 1) {
		config_fail(ld, rk->segs[1].line, "%s %s: only lists may continue on "
		    "an indented line", ld->label, rk->name);
		return NULL;
	}
	return rk->segs[0].text;
}

static int
empty(struct ld *ld, const struct rawkey *rk, const char *hint)
{
	return config_fail(ld, rk->segs[0].line, "%s %s: must not be empty (%s)",
	    ld->label, rk->name, hint);
}

/* hint, and "did you mean" the one candidate close to s, if any. */
static const char *
hint_near(char *buf, size_t sz, const char *hint, const char *s,
    const char *const *v, size_t n)
{
	const char	*c = parse_closest(s, v, n, sizeof(*v));

	if (c == NULL)
		return hint;
	snprintf(buf, sizeof(buf[0]) * sz, "%s; did you mean \"%s\"?", hint, c);
	return buf;
}

static void
store_uint(void *f, size_t size, uint64_t v)
{
	uint32_t	v32 = (uint32_t)v;

	if (size == sizeof(uint64_t))
		memcpy(f, &v, sizeof(v));
	else
		memcpy(f, &v32, sizeof(v32));
}

static int
set_number(struct ld *ld, const struct key *k, void *f, const char *s,
    const struct rawkey *rk)
{
	unsigned long long	u = 0;
	uint64_t		z = 0;
	double			d = 0;
	char			hint[128];
	int			ok;

	switch (k->type) {
	case T_UINT:
		ok = parse_uint(s, (unsigned long long)k->max, &u) == 0 &&
		    u >= k->min;
		snprintf(hint, sizeof(hint), "%.0f..%.0f", k->min, k->max);
		if (ok)
			store_uint(f, k->size, u);
		return ok ? 0 : config_bad(ld, rk, rk->segs[0].line, "bad integer", s,
		    hint);
	case T_SIZE:
		ok = parse_size(s, &z) == 0 && z >= k->min && z <= k->max;
		snprintf(hint, sizeof(hint), "bytes with an optional K, M or "
		    "G; %.0f..%.0f", k->min, k->max);
		if (ok)
			store_uint(f, k->size, z);
		return ok ? 0 : config_bad(ld, rk, rk->segs[0].line, "bad size", s,
		    hint);
	case T_FRACTION:
		if (parse_decimal(s, 0, &d) == -1 || d >= 1)
			return config_bad(ld, rk, rk->segs[0].line, "bad fraction", s,
			    "at least 0 and less than 1, like 0.10");
		break;
	default:
		if (parse_duration(s, &d) == -1 || d < k->min || d > k->max ||
		    ((k->flags & K_POSITIVE) && d <= k->min)) {
			snprintf(hint, sizeof(hint), "seconds, like 10 or 0.5; "
			    "%s %g, at most %g", (k->flags & K_POSITIVE) ?
			    "more than" : "at least", k->min, k->max);
			return config_bad(ld, rk, rk->segs[0].line, "bad duration", s,
			    hint);
		}
	}
	memcpy(f, &d, sizeof(d));
	return 0;
}

/* Booleans and choices; a number is never "meant" to be another. */
static int
set_choice(struct ld *ld, const struct key *k, void *f, const char *s,
    const struct rawkey *rk)
{
	static const char *const bools[] = { "yes", "no", "true", "false",
	    "on", "off", "1", "0" };
	char		 all[128], buf[192], what[40];
	const char	*hint;
	size_t		 i, o = 0;
	int		 v;

	if (k->type == T_BOOL) {
		if (parse_bool(s, &v) == 0) {
			memcpy(f, &v, sizeof(v));
			return 0;
		}
		hint = hint_near(buf, sizeof(buf), "yes, no, true, false, on, "
		    "off, 1 or 0", s, bools, 6);
		return config_bad(ld, rk, rk->segs[0].line, "bad boolean", s, hint);
	}
	for (i = 0; k->choices[i] != NULL; i++) {
		if (strcmp(s, k->choices[i]) == 0) {
			if (k->values != NULL)
				memcpy(f, &k->values[i], sizeof(int));
			else if ((*(char **)f = config_xstrdup(ld, s)) == NULL)
				return -1;
			return 0;
		}
		if (o < sizeof(all))
			o += snprintf(all + o, sizeof(all) - o, "%s%s", i == 0 ?
			    "" : k->choices[i + 1] == NULL ? " or " : ", ",
			    k->choices[i]);
	}
	hint = is_digit((unsigned char)k->choices[0][0]) ? all :
	    hint_near(buf, sizeof(buf), all, s, k->choices, i);
	snprintf(what, sizeof(what), "bad %s", k->name);
	return config_bad(ld, rk, rk->segs[0].line, what, s, hint);
}

/* ---- strings: a check per kind; NULL is fine, else the hint */

/* A check that is one condition on s (and k's bounds). */
#define STRING_CHECK(name, bad, hint)					\
static const char *							\
name(const struct key *k, const char *s, char *buf, size_t sz)		\
{									\
	(void)k, (void)buf, (void)sz;					\
	return (bad) ? (hint) : NULL;					\
}

STRING_CHECK(path_ok, has_control(s), "control characters")

static const char *
access_ok(const struct key *k, const char *s, char *buf, size_t sz)
{
	/* "stderr" would quietly become a file of that name. */
	if (strcmp(s, "stderr") == 0 || strcmp(s, "-") == 0)
		return "stdout, off or a path";
	return path_ok(k, s, buf, sz);
}

STRING_CHECK(word_ok, !is_visible_str(s) || strlen(s) > (size_t)k->max,
    "printable, no blanks, not too long")
STRING_CHECK(urlpath_ok, s[0] != '/' || s[strlen(s) - 1] == '/' ||
    !is_visible_str(s) || strpbrk(s, "?#") != NULL || strlen(s) > 256,
    "empty, or starting with '/' and not ending with '/'; no '?' or '#'")
STRING_CHECK(header_ok, !is_token_str(s) || strlen(s) > 128,
    "an HTTP token like x-forwarded-for")
STRING_CHECK(name_ok, !parse_is_name(s),
    "letters, digits, '.', '_', '-'; at most 63")

/* The router's own parser says what is wrong (redis_target.c). */
static const char *
redis_url_ok(const struct key *k, const char *s, char *buf, size_t sz)
{
	struct redis_target	t;

	(void)k;
	if (redis_target_parse(s, NULL, NULL, 1, &t, buf, sz) == 0) {
		redis_target_free(&t);
		return NULL;
	}
	return strncmp(buf, "redis url: ", 11) == 0 ? buf + 11 : buf;
}

/* secret: the value is never quoted back (a url may hold a password). */
static const struct {
	const char	*(*ok)(const struct key *, const char *, char *, size_t);
	const char	*what, *empty;
	int		 secret;
} strings[] = {
	[T_PATH] = { path_ok, "bad path", "a file name" },
	[T_ACCESS] = { access_ok, "bad value", "stdout, off or a path" },
	[T_WORD] = { word_ok, "bad value" },
	[T_URLPATH] = { urlpath_ok, "bad path" },
	[T_HEADER] = { header_ok, "bad header name", "a header name" },
	[T_NAME] = { name_ok, "bad region name" },
	[T_REDIS_URL] = { redis_url_ok, "bad url", NULL, 1 },
	[T_URL] = { NULL, NULL, "an https:// URL" },	/* fleet_rec checks */
	[T_SIGNKEYS] = { NULL },
};

/* Never echo the value: it is the keys. */
static int
set_signkeys(struct ld *ld, char **out, const char *s, const struct rawkey *rk)
{
	struct token_keys	tk;
	char			msg[256];

	if (token_keys_parse(s, &tk, msg, sizeof(msg)) != 0)
		return config_fail(ld, rk->segs[0].line, "%s %s: %s", ld->label,
		    rk->name, msg);
	token_keys_free(&tk);
	return (*out = config_xstrdup(ld, s)) != NULL ? 0 : -1;
}

static int
set_string(struct ld *ld, const struct key *k, void *f, const char *s,
    const struct rawkey *rk)
{
	char		**out = f;
	const char	 *hint;
	char		  buf[256];

	if (s[0] == '\0' && (k->flags & K_NONEMPTY))
		return empty(ld, rk, strings[k->type].empty != NULL ?
		    strings[k->type].empty : "a value");
	if ((s[0] == '\0' && !(k->flags & K_NONNULL)) ||
	    (k->type == T_ACCESS && strcmp(s, "off") == 0))
		return 0;
	if (k->type == T_SIGNKEYS)
		return set_signkeys(ld, out, s, rk);
	if (strings[k->type].ok != NULL &&
	    (hint = strings[k->type].ok(k, s, buf, sizeof(buf))) != NULL)
		return strings[k->type].secret ? config_fail(ld,
		    rk->segs[0].line, "%s %s: %s (%s)", ld->label, rk->name,
		    strings[k->type].what, hint) : config_bad(ld, rk,
		    rk->segs[0].line, strings[k->type].what, s, hint);
	if (k->type == T_NAME) {
		memcpy(f, s, strlen(s) + 1);
		return 0;
	}
	if (k->type == T_PATH || (k->type == T_ACCESS &&
	    strcmp(s, "stdout") != 0))
		return (*out = config_abs_path(ld, s)) != NULL ? 0 : -1;
	if ((*out = config_xstrdup(ld, s)) == NULL)
		return -1;
	if (k->type == T_HEADER)
		str_lower(*out);
	return 0;
}

static int
set_hostport(struct ld *ld, const struct rawkey *rk, int line,
    const char *s, struct listen_addr *out)
{
	if (netaddr_parse_hostport(s, &out->sa, &out->salen) == -1)
		return config_bad(ld, rk, line, "bad address", s,
		    "IP:port, [IPv6]:port or *:port; no host names");
	if (strlen(s) >= sizeof(out->text))
		return config_bad(ld, rk, line, "bad address", s, "too long");
	memcpy(out->text, s, strlen(s) + 1);
	return 0;
}

/* Values of their own: [admin] address, location, seed. */
static int
set_special(struct ld *ld, const struct key *k, void *base, const char *s,
    const struct rawkey *rk)
{
	struct config		*cfg = base;
	struct region_conf	*r = base;
	struct strlist		 l;
	unsigned long long	 u;
	int			 ok;

	if (k->type == T_ADMIN) {
		if ((cfg->admin.enabled = s[0] != '\0') == 0)
			return 0;
		return set_hostport(ld, rk, rk->segs[0].line, s,
		    &cfg->admin.addr);
	}
	if (k->type == T_SEED) {
		if (s[0] == '\0')
			return 0;
		if (parse_uint(s, UINT64_MAX, &u) == -1)
			return config_bad(ld, rk, rk->segs[0].line, "bad seed", s,
			    "an integer 0..18446744073709551615, or empty");
		cfg->selection.has_seed = 1;
		cfg->selection.seed = (uint64_t)u;
		return 0;
	}
	if (strlist_split(s, &l) == -1)
		return config_oom(ld);
	ok = l.n == 2 && parse_decimal(l.v[0], 1, &r->lat) == 0 &&
	    parse_decimal(l.v[1], 1, &r->lon) == 0 && r->lat >= -90 &&
	    r->lat <= 90 && r->lon >= -180 && r->lon <= 180;
	strlist_free(&l);
	if (!ok)
		return config_bad(ld, rk, rk->segs[0].line, "bad location", s,
		    "latitude, longitude in degrees: -90..90, -180..180");
	r->has_location = 1;
	return 0;
}

/* ---- lists: one loop, the item's kind checks, the store keeps */

/* Codes people write that ISO 3166 reserves for another. */
static const char *const country_alias[][2] = {
	{ "UK", "GB" }, { "EL", "GR" }, { "SU", "RU" }
};

/* List items: a check per kind, 0 or -1; *hint may replace the kind's. */
#define ITEM_CHECK(name, good)						\
static int								\
name(const char *s, const char **hint, char *buf, size_t sz)		\
{									\
	(void)hint, (void)buf, (void)sz;				\
	return (good) ? 0 : -1;						\
}

ITEM_CHECK(cidr_ok, netaddr_cidr_parse(s, &(struct cidr){ 0 }) == 0)
ITEM_CHECK(origin_ok, url_origin_valid(s))
ITEM_CHECK(token_ok, is_token_str(s))
ITEM_CHECK(continent_ok, countries_continent_is_valid(s))
ITEM_CHECK(hostname_ok, url_host_valid(s))
ITEM_CHECK(region_ok, parse_is_name(s))
ITEM_CHECK(hostpat_ok, url_host_patterns_valid(s))
ITEM_CHECK(sentinel_ok, redis_target_sentinel_valid(s))	/* as the router */

static int
country_ok(const char *s, const char **hint, char *buf, size_t sz)
{
	size_t	i;

	if (strlen(s) != 2 || !is_upper((unsigned char)s[0]) ||
	    !is_upper((unsigned char)s[1]))
		return -1;
	if (countries_find(s) != NULL)
		return 0;
	*hint = "not an ISO 3166 code";
	for (i = 0; i < sizeof(country_alias) / sizeof(country_alias[0]); i++)
		if (strcmp(s, country_alias[i][0]) == 0) {
			snprintf(buf, sz, "not an ISO 3166 code; did "
			    "you mean \"%s\"?", country_alias[i][1]);
			*hint = buf;
		}
	return -1;
}

static const struct {
	int		(*ok)(const char *, const char **, char *, size_t);
	const char	*what, *hint, *twice;
} items[] = {
	[I_CIDR] = { cidr_ok, "bad address or CIDR",
	    "like 10.0.0.0/8 or ::1/128" },
	[I_ORIGIN] = { origin_ok, "bad origin",
	    "* or https://host[:port], no path" },
	[I_TOKEN] = { token_ok, "bad name", "an HTTP token" },
	[I_COUNTRY] = { country_ok, "bad country", "ISO 3166 alpha-2, like GB",
	    "country listed twice" },
	[I_CONTINENT] = { continent_ok, "bad continent",
	    "AF AN AS EU NA OC SA", "continent listed twice" },
	[I_HOSTNAME] = { hostname_ok, "bad host name",
	    "a DNS name or IP address, optionally with :port" },
	[I_SENTINEL] = { sentinel_ok, "bad address", "host:port" },
	[I_REGION] = { region_ok, "bad region name", NULL,
	    "region listed twice" },
	[I_LISTEN] = { NULL, "bad address", NULL, "address listed twice" },
	[I_HOSTPAT] = { hostpat_ok, "bad host pattern",
	    "a name, *.suffix or a CIDR" },
	[I_SECRET] = { NULL },
};

/*
 * The items of a list key, over all its lines, and the line of each.
 * On failure both are left empty.
 */
static int
get_items(struct ld *ld, const struct rawkey *rk, struct strlist *out,
    int **lines)
{
	struct strlist	 one;
	size_t		 i, j;
	int		*v, ok;

	memset(out, 0, sizeof(*out));
	*lines = NULL;
	for (i = 0; i < rk->nsegs; i++) {
		if (strlist_split(rk->segs[i].text, &one) == -1)
			goto config_fail;
		for (j = 0; j < one.n; j++) {
			if ((v = grow1(*lines, out->n, sizeof(*v))) == NULL)
				break;
			*lines = v;
			(*lines)[out->n] = rk->segs[i].line;
			if (strlist_push(out, one.v[j]) == -1)
				break;
		}
		ok = j == one.n;
		strlist_free(&one);
		if (!ok)
			goto config_fail;
	}
	return 0;
config_fail:
	strlist_free(out);
	free(*lines);
	*lines = NULL;
	return config_oom(ld);
}

/* Items joined with sep: a header value, or a list for another parser. */
static char *
join(struct ld *ld, const struct strlist *l, const char *sep)
{
	size_t	 i, len = 1;
	char	*s;

	for (i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + strlen(sep);
	if ((s = malloc(len)) == NULL) {
		config_oom(ld);
		return NULL;
	}
	s[0] = '\0';
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, l->v[i]);
	}
	return s;
}

static int
store_listen(struct ld *ld, struct config *cfg, const struct strlist *l,
    const int *lines, const struct rawkey *rk)
{
	struct listen_addr	*a;
	size_t			 i, j;

	if (l->n == 0)
		return empty(ld, rk, "at least one IP:port");
	if (l->n > LISTEN_MAX)
		return config_fail(ld, lines[LISTEN_MAX], "%s %s: more than %d "
		    "addresses", ld->label, rk->name, LISTEN_MAX);
	a = cfg->listen.addrs;
	for (i = 0; i < l->n; i++) {
		cfg->listen.naddrs = i + 1;
		if (set_hostport(ld, rk, lines[i], l->v[i], &a[i]) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (a[i].salen == a[j].salen &&
			    memcmp(&a[i].sa, &a[j].sa, a[i].salen) == 0)
				return config_bad(ld, rk, lines[i],
				    items[I_LISTEN].twice, l->v[i], NULL);
	}
	return 0;
}

static int
store_list(struct ld *ld, const struct key *k, void *base,
    struct strlist *l, const int *lines, const struct rawkey *rk)
{
	void		*f = FIELD(base, k);
	struct cidr	 c;
	char		*all;
	size_t		 i;
	int		 rc = 0;

	switch (store_of(k)) {
	case S_LIST:
		*(struct strlist *)f = *l;
		memset(l, 0, sizeof(*l));
		return 0;
	case S_STR:
		return (*(char **)f = join(ld, l, ", ")) != NULL ? 0 : -1;
	case S_CIDRS:
		for (i = 0; i < l->n && rc == 0; i++)
			if (netaddr_cidr_parse(l->v[i], &c) == -1 ||
			    netaddr_cidr_list_push(f, &c) == -1)
				rc = config_oom(ld);
		return rc;
	case S_HOSTS:
		if ((all = join(ld, l, " ")) == NULL)
			return -1;
		rc = url_host_patterns_parse(all, f) == -1 ? config_oom(ld) : 0;
		free(all);
		return rc;
	default:
		return store_listen(ld, base, l, lines, rk);
	}
}

static int
set_list(struct ld *ld, const struct key *k, void *base,
    const struct rawkey *rk)
{
	struct strlist	 l;
	const char	*hint;
	char		 buf[96];
	size_t		 i, j;
	int		*lines, rc = 0;

	if (get_items(ld, rk, &l, &lines) == -1)
		return -1;
	for (i = 0; i < l.n && rc == 0; i++) {
		hint = NULL;
		if (k->flags & (K_UPPER | K_LOWER))
			(k->flags & K_UPPER ? str_upper : str_lower)(l.v[i]);
		/* Never echo a secret: the message names the line only. */
		if (k->item == I_SECRET && (!is_visible_str(l.v[i]) ||
		    strlen(l.v[i]) > 256))
			rc = config_fail(ld, lines[i], "%s %s: bad token (printable "
			    "ASCII, at most 256 bytes)", ld->label, rk->name);
		else if (items[k->item].ok != NULL &&
		    items[k->item].ok(l.v[i], &hint, buf, sizeof(buf)) == -1)
			rc = config_bad(ld, rk, lines[i], items[k->item].what,
			    l.v[i], hint != NULL ? hint : items[k->item].hint);
		for (j = 0; rc == 0 && (k->flags & K_UNIQUE) && j < i; j++)
			if (strcmp(l.v[i], l.v[j]) == 0)
				rc = config_bad(ld, rk, lines[i], items[k->item].twice,
				    l.v[i], NULL);
	}
	if (rc == 0)
		rc = store_list(ld, k, base, &l, lines, rk);
	strlist_free(&l);
	free(lines);
	return rc;
}

int
config_value_set(struct ld *ld, const struct key *k, void *base,
    const struct rawkey *rk)
{
	const char	*s;

	if (k->type == T_LIST)
		return set_list(ld, k, base, rk);
	if ((s = scalar(ld, rk)) == NULL)
		return -1;
	switch (k->type) {
	case T_UINT: case T_SIZE: case T_DURATION: case T_FRACTION:
		return set_number(ld, k, FIELD(base, k), s, rk);
	case T_BOOL: case T_CHOICE:
		return set_choice(ld, k, FIELD(base, k), s, rk);
	case T_ADMIN: case T_LOCATION: case T_SEED:
		return set_special(ld, k, base, s, rk);
	default:
		return set_string(ld, k, FIELD(base, k), s, rk);
	}
}

/* ---- fields by their store: for reloads and config_free() */

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
config_value_equal(const struct key *k, const void *a, const void *b)
{
	const struct host_patterns	*ha, *hb;
	const void			*fa = FIELD(a, k), *fb = FIELD(b, k);

	switch (store_of(k)) {
	case S_MEM:
		return memcmp(fa, fb, k->size) == 0;
	case S_STR:
		return same_str(*(char *const *)fa, *(char *const *)fb);
	case S_LIST:
		return strlist_equal(fa, fb);
	case S_CIDRS:
		return netaddr_cidr_list_equal(fa, fb);
	default:
		ha = fa;
		hb = fb;
		return strlist_equal(&ha->names, &hb->names) &&
		    strlist_equal(&ha->suffixes, &hb->suffixes) &&
		    netaddr_cidr_list_equal(&ha->cidrs, &hb->cidrs);
	}
}

static int
copy_strlist(struct strlist *d, const struct strlist *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (strlist_push(d, s->v[i]) == -1)
			return -1;
	return 0;
}

static int
copy_cidrs(struct cidr_list *d, const struct cidr_list *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (netaddr_cidr_list_push(d, &s->v[i]) == -1)
			return -1;
	return 0;
}

/* dst's field becomes a copy of src's.  -1: out of memory. */
int
config_value_copy(const struct key *k, void *dst, const void *src)
{
	const struct host_patterns	*hs;
	struct host_patterns		*hd;
	void				*fd = FIELD(dst, k);
	const void			*fs = FIELD(src, k);
	const char			*s;

	config_value_free(k, dst);
	switch (store_of(k)) {
	case S_MEM:
		memcpy(fd, fs, k->size);
		return 0;
	case S_STR:
		s = *(char *const *)fs;
		return s != NULL && (*(char **)fd = strdup(s)) == NULL ? -1 : 0;
	case S_LIST:
		return copy_strlist(fd, fs);
	case S_CIDRS:
		return copy_cidrs(fd, fs);
	default:
		hs = fs;
		hd = fd;
		return copy_strlist(&hd->names, &hs->names) == -1 ||
		    copy_strlist(&hd->suffixes, &hs->suffixes) == -1 ||
		    copy_cidrs(&hd->cidrs, &hs->cidrs) == -1 ? -1 : 0;
	}
}

void
config_value_free(const struct key *k, void *base)
{
	void	*f = FIELD(base, k);

	switch (store_of(k)) {
	case S_MEM:
		break;
	case S_STR:
		free(*(char **)f);
		*(char **)f = NULL;
		break;
	case S_LIST:
		strlist_free(f);
		break;
	case S_CIDRS:
		netaddr_cidr_list_free(f);
		break;
	default:
		url_host_patterns_free(f);
		break;
	}
}
