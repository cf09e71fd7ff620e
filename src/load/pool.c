/*
 * Client addresses.  --mix GB=0.5,US=0.3 needs real addresses of those
 * countries as the router's own GeoIP database sees them: libmaxminddb
 * has no iterator, so the search tree is walked with MMDB_read_node,
 * every data record's country read (cached per record: a country
 * database has one record per country), and the networks of the wanted
 * countries kept.  IPv4 lives under ::/96 in an IPv6 tree and is aliased
 * elsewhere (::ffff:0:0/96, 2002::/16): the walk visits that subtree once,
 * as IPv4.  The pool then holds --addresses random hosts per country,
 * from IPv4 networks when the country has any.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "config.h"
#include "countries.h"
#include "parse.h"
#include "load.h"
#include "rng.h"

#define CACHE_SLOTS	8192

struct net {
	int		family;
	uint8_t		addr[16];
	int		prefix;
};

struct nets {
	struct net	*v;
	size_t		 n, cap;
};

struct walk {
	MMDB_s			*db;
	struct load_pool	*p;
	struct nets		*v4, *v6;	/* per wanted country */
	uint32_t		 skip;		/* the IPv4 subtree, in v6 walks */
	struct { uint32_t off; int idx; } cache[CACHE_SLOTS];
};

static int
nets_push(struct nets *l, int family, const uint8_t *addr, int prefix)
{
	struct net	*v;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].family = family;
	memcpy(l->v[l->n].addr, addr, family == 4 ? 4 : 16);
	l->v[l->n++].prefix = prefix;
	return 0;
}

/* The wanted country index of a data record, or -1. */
static int
record_country(struct walk *w, MMDB_entry_s *e)
{
	unsigned		 slot = (unsigned)(e->offset % CACHE_SLOTS);
	MMDB_entry_data_s	 d;
	size_t			 i;
	int			 idx = -1;

	if (w->cache[slot].off == e->offset + 1)
		return w->cache[slot].idx;
	if (MMDB_get_value(e, &d, "country", "iso_code", NULL) ==
	    MMDB_SUCCESS && d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
	    d.data_size == 2)
		for (i = 0; i < w->p->nc; i++)
			if (memcmp(w->p->c[i].cc, d.utf8_string, 2) == 0)
				idx = (int)i;
	w->cache[slot].off = e->offset + 1;
	w->cache[slot].idx = idx;
	return idx;
}

static void
walk(struct walk *w, uint32_t node, int depth, uint8_t *addr, int family)
{
	MMDB_search_node_s	 n;
	int			 bit, idx, base = family == 4 ? 96 : 0;

	if (depth >= 128 || MMDB_read_node(w->db, node, &n) != MMDB_SUCCESS)
		return;
	for (bit = 0; bit < 2; bit++) {
		uint8_t		 type = bit ? n.right_record_type :
				    n.left_record_type;
		uint64_t	 rec = bit ? n.right_record : n.left_record;
		MMDB_entry_s	*e = bit ? &n.right_record_entry :
				    &n.left_record_entry;

		if (bit)
			addr[depth / 8] |= (uint8_t)(0x80 >> (depth % 8));
		if (type == MMDB_RECORD_TYPE_SEARCH_NODE &&
		    !(family == 6 && rec == w->skip))
			walk(w, (uint32_t)rec, depth + 1, addr, family);
		else if (type == MMDB_RECORD_TYPE_DATA &&
		    (idx = record_country(w, e)) >= 0)
			nets_push(family == 4 ? &w->v4[idx] : &w->v6[idx],
			    family, family == 4 ? addr + 12 : addr,
			    depth + 1 - base);
		if (bit)
			addr[depth / 8] &= (uint8_t)~(0x80 >> (depth % 8));
	}
}

/* Walk the tree: IPv4 (under ::/96 in an IPv6 database), then IPv6. */
static void
walk_db(struct walk *w)
{
	MMDB_search_node_s	n;
	uint8_t			addr[16] = { 0 };
	uint32_t		node = 0;
	int			i;

	w->skip = UINT32_MAX;
	if (w->db->metadata.ip_version == 4) {
		walk(w, 0, 96, addr, 4);
		return;
	}
	for (i = 0; i < 96; i++) {
		if (MMDB_read_node(w->db, node, &n) != MMDB_SUCCESS ||
		    n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE)
			break;
		node = (uint32_t)n.left_record;
	}
	if (i == 96) {
		w->skip = node;
		walk(w, node, 96, addr, 4);
	}
	walk(w, 0, 0, addr, 6);
}

/* A random host in network nt, as text into ip. */
static void
random_host(struct rng *r, const struct net *nt, struct load_ip *ip)
{
	int	bits = nt->family == 4 ? 32 : 128, i;
	uint8_t	*a = ip->a.addr;

	memset(&ip->a, 0, sizeof(ip->a));
	ip->a.family = nt->family == 4 ? AF_INET : AF_INET6;
	memcpy(a, nt->addr, bits / 8);
	for (i = nt->prefix; i < bits; i++)
		if (rng_next(r) & 1)
			a[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		else
			a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	netaddr_str(&ip->a, ip->text, sizeof(ip->text));
}

/* "GB=0.5,US=0.3,JP=0.2" into p->c (shares normalised). */
static int
parse_mix(const char *mix, struct load_pool *p, char *err, size_t errlen)
{
	char	*copy = strdup(mix), *item, *save = NULL, *eq;
	double	 sum = 0, w;
	size_t	 i;

	if (copy == NULL || (p->c = calloc(strlen(mix) / 2 + 1,
	    sizeof(*p->c))) == NULL)
		goto nomem;
	for (item = strtok_r(copy, ", ", &save); item != NULL;
	    item = strtok_r(NULL, ", ", &save)) {
		if ((eq = strchr(item, '=')) == NULL || eq - item != 2 ||
		    countries_find(item) == NULL) {
			snprintf(err, errlen, "--mix: bad item %s (want CC=share, "
			    "CC an ISO 3166 country code)", item);
			goto fail;
		}
		if (parse_decimal(eq + 1, 0, &w) == -1 || !(w > 0 && w < 1e9)) {
			snprintf(err, errlen, "--mix: bad share in %s", item);
			goto fail;
		}
		for (i = 0; i < p->nc; i++)
			if (memcmp(p->c[i].cc, item, 2) == 0) {
				snprintf(err, errlen, "--mix: %.2s twice", item);
				goto fail;
			}
		memcpy(p->c[p->nc].cc, item, 2);
		p->c[p->nc++].share = w;
		sum += w;
	}
	if (p->nc == 0) {
		snprintf(err, errlen, "--mix: empty");
		goto fail;
	}
	for (i = 0, w = 0; i < p->nc; i++) {
		p->c[i].share /= sum;
		p->c[i].cum = (w += p->c[i].share);
	}
	free(copy);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	free(copy);
	return -1;
}

/* The database: --geoip, or [geoip] database of the config -c names. */
static char *
db_path(const struct load_opts *o, char *err, size_t errlen)
{
	struct config	*cfg;
	char		*path;

	if (o->geoip != NULL)
		return strdup(o->geoip);
	if (o->config == NULL) {
		snprintf(err, errlen, "--mix needs the GeoIP database: "
		    "--geoip FILE or -c geo307.conf");
		return NULL;
	}
	if ((cfg = config_load(o->config, err, errlen)) == NULL)
		return NULL;
	path = cfg->geoip.database != NULL ? strdup(cfg->geoip.database) :
	    NULL;
	config_free(cfg);
	return path;
}

static int
pool_fill(struct load_pool *p, struct walk *w, unsigned per, uint64_t seed,
    char *err, size_t errlen)
{
	struct rng	r;
	struct nets	*l;
	size_t		i, k;

	rng_seed(&r, seed);
	if ((p->v = calloc(p->nc * per, sizeof(*p->v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < p->nc; i++) {
		l = w->v4[i].n > 0 ? &w->v4[i] : &w->v6[i];
		if (l->n == 0) {
			snprintf(err, errlen, "--mix: the GeoIP database has no "
			    "network for %s", p->c[i].cc);
			return -1;
		}
		p->c[i].first = p->n;
		p->c[i].n = per;
		for (k = 0; k < per; k++) {
			random_host(&r, &l->v[rng_next(&r) % l->n],
			    &p->v[p->n]);
			memcpy(p->v[p->n++].country, p->c[i].cc, 3);
		}
	}
	return 0;
}

static int
pool_from_mix(const struct load_opts *o, uint64_t seed, struct load_pool *p,
    char *err, size_t errlen)
{
	MMDB_s		 db;
	struct walk	*w = NULL;
	char		*path;
	size_t		 i;
	int		 rc = -1, mrc;

	if (parse_mix(o->mix, p, err, errlen) == -1)
		return -2;
	if ((path = db_path(o, err, errlen)) == NULL)
		return o->geoip == NULL && o->config == NULL ? -2 : -1;
	if ((mrc = MMDB_open(path, MMDB_MODE_MMAP, &db)) != MMDB_SUCCESS) {
		snprintf(err, errlen, "GeoIP database %s: %s", path,
		    mrc == MMDB_IO_ERROR ? strerror(errno) : MMDB_strerror(mrc));
		free(path);
		return -1;
	}
	free(path);
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->v4 = calloc(p->nc, sizeof(*w->v4))) == NULL ||
	    (w->v6 = calloc(p->nc, sizeof(*w->v6))) == NULL)
		snprintf(err, errlen, "out of memory");
	else {
		w->db = &db;
		w->p = p;
		walk_db(w);
		rc = pool_fill(p, w, o->per_country, seed, err, errlen);
	}
	for (i = 0; w != NULL && i < p->nc; i++) {
		free(w->v4 != NULL ? w->v4[i].v : NULL);
		free(w->v6 != NULL ? w->v6[i].v : NULL);
	}
	if (w != NULL) {
		free(w->v4);
		free(w->v6);
	}
	free(w);
	MMDB_close(&db);
	return rc;
}

static int
pool_from_file(const char *path, struct load_pool *p, char *err,
    size_t errlen)
{
	FILE	*f = fopen(path, "r");
	char	 line[256];
	size_t	 cap = 0, lineno = 0, len;
	void	*v;

	if (f == NULL) {
		snprintf(err, errlen, "--ips %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strcspn(line, "#\r\n");
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		line[len] = '\0';
		if (len == 0)
			continue;
		if (p->n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((v = realloc(p->v, cap * sizeof(*p->v))) == NULL)
				break;
			p->v = v;
		}
		memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
		if (netaddr_parse(line, &p->v[p->n].a) == -1) {
			snprintf(err, errlen, "--ips %s:%zu: not an IP address",
			    path, lineno);
			fclose(f);
			return -1;
		}
		netaddr_str(&p->v[p->n].a, p->v[p->n].text,
		    sizeof(p->v[p->n].text));
		p->n++;
	}
	fclose(f);
	if (p->n == 0) {
		snprintf(err, errlen, "--ips %s: no address", path);
		return -1;
	}
	return 0;
}

int
load_pool_build(const struct load_opts *o, uint64_t seed,
    struct load_pool *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (o->mix != NULL)
		return pool_from_mix(o, seed, p, err, errlen);
	if (o->ips_file != NULL)
		return pool_from_file(o->ips_file, p, err, errlen);
	return 0;
}

size_t
load_pool_pick(const struct load_pool *p, double u1, double u2)
{
	size_t	i;

	if (p->n == 0)
		return SIZE_MAX;
	if (p->nc == 0)
		return (size_t)(u1 * (double)p->n) % p->n;
	for (i = 0; i + 1 < p->nc && u1 >= p->c[i].cum; i++)
		;
	return p->c[i].first + (size_t)(u2 * (double)p->c[i].n) % p->c[i].n;
}

void
load_pool_free(struct load_pool *p)
{
	free(p->v);
	free(p->c);
	memset(p, 0, sizeof(*p));
}
