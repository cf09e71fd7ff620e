/*
 * From raw records to a fleet.  Every record is validated with the same
 * functions geo307ctl uses (fleet_rec); a bad one is skipped, logged and
 * counted once per (id, field, value), and the rest of the fleet serves.
 * The cache file holds the raw records as JSON, so a restart with Redis
 * down validates them against the config of the day, like Redis data.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "escape.h"
#include "fleet_rec.h"
#include "log.h"
#include "metrics.h"
#include "fleet_raw.h"

#define SEEN_SLOTS	(1 << 16)	/* bad records remembered */
#define SINCE_SLOTS	(1 << 15)	/* servers tracked for slow start */

struct since {
	uint64_t	hash;		/* of the id; 0 = empty */
	double		since;		/* routable since; 0 = long ago */
	int		routable;
	unsigned	gen;		/* the last build that had it */
};

struct fleet_memory {
	uint64_t	seen[SEEN_SLOTS];	/* hashes of logged rejects */
	size_t		nseen;
	struct since	since[SINCE_SLOTS];
	size_t		nsince;			/* slots in use */
	unsigned	gen;			/* builds so far */
};

static uint64_t
hash3(const char *a, const char *b, const char *c)
{
	const char	*parts[3] = { a, b, c };
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i;
	const char	*p;

	for (i = 0; i < 3; i++) {
		for (p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;	/* separator */
	}
	return h ? h : 1;
}

struct fleet_memory *
fleet_raw_memory_new(void)
{
	return calloc(1, sizeof(struct fleet_memory));
}

void
fleet_raw_memory_free(struct fleet_memory *m)
{
	free(m);
}

/* First time this (id, field, value) is rejected?  Remember it. */
static int
first_reject(struct fleet_memory *m, uint64_t h)
{
	size_t	i;

	for (i = h & (SEEN_SLOTS - 1); m->seen[i] != 0;
	    i = (i + 1) & (SEEN_SLOTS - 1))
		if (m->seen[i] == h)
			return 0;
	/* A full table forgets nothing but stops remembering: log less. */
	if (m->nseen >= SEEN_SLOTS / 2)
		return 0;
	m->seen[i] = h;
	m->nseen++;
	return 1;
}

/*
 * Text from Redis or the cache file, fit for one log line: at most max
 * bytes of it, escaped as a log field is (escape_log), "..." when cut.
 * buf holds max * 4 + 4 bytes.
 */
static const char *
loggable(char *buf, size_t max, const char *s)
{
	return escape_log_cut(buf, max * 4 + 4, s, max);
}

#define LOG_ID_MAX	80
#define LOG_VALUE_MAX	80

static void
reject(struct fleet_memory *m, const char *id, enum reject_reason r,
    const char *field, const char *value)
{
	char	qid[LOG_ID_MAX * 4 + 4], qfield[LOG_ID_MAX * 4 + 4];
	char	qvalue[LOG_VALUE_MAX * 4 + 4];

	if (!first_reject(m, hash3(id, field, value)))
		return;
	metrics_rejected(fleet_rec_reject_reason_name(r));
	/*
	 * Ids, field names and values come from Redis (or the cache file),
	 * unvalidated when rejected: bound and escape them all, so that a
	 * newline in one cannot forge log lines.
	 */
	log_warn("fleet: skipping %s %s: %s \"%s\" (%s)",
	    r == REJECT_LOAD ? "load report of" : "server",
	    loggable(qid, LOG_ID_MAX, id),
	    field ? loggable(qfield, LOG_ID_MAX, field) : "-",
	    loggable(qvalue, LOG_VALUE_MAX, value), fleet_rec_reject_reason_name(r));
}

/*
 * Slow start: when did this server last become routable?  0 for
 * everything in the first fleet (servers that were there at start).  A
 * server that is not routable now keeps the start of its last routable
 * period: fail-open (every report stale) still ramps on that clock.
 */
static double
routable_since(struct fleet_memory *m, const char *id, int routable,
    double now)
{
	uint64_t	 h = hash3(id, NULL, NULL);
	struct since	*s;
	size_t		 i;

	for (i = h & (SINCE_SLOTS - 1); m->since[i].hash != 0 &&
	    m->since[i].hash != h; i = (i + 1) & (SINCE_SLOTS - 1))
		;
	s = &m->since[i];
	if (s->hash == 0) {
		/*
		 * Keep one slot empty so that every probe ends.  Past that
		 * a server is not tracked and gets its weight at once, as
		 * without slow start: degraded, never stuck.
		 */
		if (m->nsince >= SINCE_SLOTS - 1)
			return 0;
		m->nsince++;
		s->hash = h;
		s->since = m->gen == 0 ? 0 : now;
	} else if (s->gen + 1 < m->gen)
		/*
		 * Back after builds without it (removed from P servers, or
		 * its record rejected meanwhile): a new server again.
		 */
		s->since = now;
	else if (routable && !s->routable)
		s->since = now;
	s->routable = routable;
	s->gen = m->gen;
	return s->since;
}

/*
 * Forget servers that were not in the last build once the table is
 * three quarters full, so that ids coming and going over months (servers
 * replaced under new names) never fill it.  A server forgotten and seen
 * again is a new server: it ramps, which is what its absence meant.
 */
static void
since_compact(struct fleet_memory *m)
{
	struct since	*keep;
	size_t		 i, j, n = 0;

	if (m->nsince < SINCE_SLOTS / 4 * 3 || m->gen == 0)
		return;
	if ((keep = calloc(m->nsince, sizeof(*keep))) == NULL)
		return;		/* try again at the next build */
	for (i = 0; i < SINCE_SLOTS; i++)
		if (m->since[i].hash != 0 && m->since[i].gen + 1 == m->gen)
			keep[n++] = m->since[i];
	memset(m->since, 0, sizeof(m->since));
	for (j = 0; j < n; j++) {
		for (i = keep[j].hash & (SINCE_SLOTS - 1);
		    m->since[i].hash != 0; i = (i + 1) & (SINCE_SLOTS - 1))
			;
		m->since[i] = keep[j];
	}
	m->nsince = n;
	free(keep);
}

void
fleet_raw_server_clear(struct raw_server *rs)
{
	size_t	j;

	for (j = 0; j < rs->n; j++) {
		free(rs->fields[j]);
		free(rs->values[j]);
	}
	free(rs->fields);
	free(rs->values);
	free(rs->load);
	rs->fields = rs->values = NULL;
	rs->load = NULL;
	rs->n = 0;
}

void
fleet_raw_tail_clear(struct raw_fleet *raw)
{
	size_t	i;

	for (i = 0; i < raw->nregions; i++) {
		free(raw->rnames[i]);
		free(raw->rstates[i]);
	}
	free(raw->rnames);
	free(raw->rstates);
	free(raw->maintenance);
	raw->rnames = raw->rstates = NULL;
	raw->maintenance = NULL;
	raw->nregions = 0;
}

void
fleet_raw_free(struct raw_fleet *raw)
{
	size_t	i;

	if (raw == NULL)
		return;
	for (i = 0; i < raw->nservers; i++) {
		fleet_raw_server_clear(&raw->servers[i]);
		free(raw->servers[i].id);
	}
	free(raw->servers);
	fleet_raw_tail_clear(raw);
	free(raw);
}

static int
fill_server(const struct raw_server *rs, const struct runtime *rt,
    struct fleet_memory *m, double now, struct fleet_server *out)
{
	struct server_record	rec;
	struct reject		rej;
	int			region;

	if (fleet_rec_server(rt->cfg, rs->id, (const char *const *)rs->fields,
	    (const char *const *)rs->values, rs->n, &rec, &rej) != 0) {
		reject(m, rs->id, rej.reason, rej.field, rej.value);
		return -1;
	}
	region = config_region_index(rt->cfg, rec.region);
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", rec.id);
	if (region < 0 || (out->base = strdup(rec.url.base)) == NULL) {
		fleet_rec_record_free(&rec);
		return -1;
	}
	out->baselen = rec.url.baselen;
	out->region = (uint32_t)region;
	out->weight = rec.weight;
	out->state = rec.state;
	out->families = rec.families;
	fleet_rec_record_free(&rec);
	if (rs->load != NULL) {
		/* A bad report is no report: the server counts as stale. */
		if (fleet_rec_load(rs->load, &out->load) == 0)
			out->has_report = 1;
		else
			reject(m, rs->id, REJECT_LOAD, "load", rs->load);
	}
	(void)now;
	return 0;
}

struct fleet *
fleet_raw_build(const struct raw_fleet *raw, const struct runtime *rt,
    struct fleet_memory *m)
{
	struct fleet_server	*servers;
	struct fleet		*f;
	double			 now = clock_mono(), retry;
	char			 qvalue[LOG_VALUE_MAX * 4 + 4];
	size_t			 i, n = 0;
	int			 r, drained;

	if ((servers = calloc(raw->nservers + 1, sizeof(*servers))) == NULL)
		return NULL;
	for (i = 0; i < raw->nservers; i++)
		if (fill_server(&raw->servers[i], rt, m, now, &servers[n]) == 0)
			n++;
	if ((f = fleet_build(servers, n, rt->rm)) == NULL)
		return NULL;
	f->source = raw->source;
	f->version = raw->version;
	f->taken_wall = raw->taken_wall;
	f->taken_mono = raw->taken_mono;
	f->fresh_until = raw->taken_mono + rt->cfg->redis.stale_after;
	for (i = 0; i < raw->nregions; i++) {
		r = config_region_index(rt->cfg, raw->rnames[i]);
		if (r < 0 || fleet_rec_region_state(raw->rstates[i],
		    &drained) != 0) {
			reject(m, raw->rnames[i], REJECT_REGION, "regions",
			    raw->rstates[i]);
			continue;
		}
		f->regions[r].drained = drained;
	}
	if (raw->maintenance != NULL) {
		/*
		 * Present means maintenance (SPEC 3), whatever the value; a
		 * bad value only loses the Retry-After it meant to set.
		 */
		f->maintenance = 1;
		f->maintenance_retry = 0;
		if (fleet_rec_maintenance(raw->maintenance, &retry) == 0)
			f->maintenance_retry = retry;
		else if (first_reject(m, hash3("maintenance", NULL,
		    raw->maintenance)))
			log_warn("fleet: maintenance value \"%s\" is not "
			    "1..86400 seconds: in maintenance, Retry-After "
			    "from [redirect] retry_after", loggable(qvalue,
			    LOG_VALUE_MAX, raw->maintenance));
	}
	/*
	 * Routable (SPEC 2.3): up, weight > 0, region not drained, and a
	 * fresh report, which here means a valid report in the records as
	 * Redis last gave them, not the snapshot's age: we only build after
	 * Redis answered (or on a reload), and a snapshot that aged through
	 * a Redis outage is this router being blind, not the servers
	 * leaving.  So an outage resets no ramp: when Redis answers again,
	 * a server whose load key is still there keeps its clock, and one
	 * whose key expired meanwhile ramps once it reports again.  A cache
	 * file's reports are from when it was written and say nothing
	 * about now: while routing from a cache, a report counts as there.
	 */
	since_compact(m);
	for (i = 0; i < f->nservers; i++) {
		struct fleet_server *s = &f->servers[i];

		s->routable_since = routable_since(m, s->id,
		    s->state == SERVER_UP && s->weight > 0 &&
		    !f->regions[s->region].drained &&
		    (s->has_report || raw->source == FLEET_CACHE), now);
	}
	m->gen++;
	return f;
}

/* --- the cache file ------------------------------------------------ */

/*
 * The cache file's JSON, written directly: building jansson objects for
 * 10,000 servers and dumping them took 22 ms, on the refresh thread,
 * after every change.  The text is what json_dumps(JSON_COMPACT) wrote,
 * and strings that are not UTF-8 are left out as jansson left them out
 * (a server whose id is not, a field whose name or value is not, a
 * load); a maintenance value that is not makes the file unwritable, as
 * it did (the fleet_raw_save message says so).  The file is read back
 * with jansson (fleet_raw_load).
 */
struct jbuf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
jput(struct jbuf *b, const char *s, size_t n)
{
	size_t	 cap;
	char	*p;

	if (b->oom)
		return;
	if (b->len + n + 2 > b->cap) {
		for (cap = b->cap ? b->cap : 65536; cap < b->len + n + 2;)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF. */
static int
utf8_valid(const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned		 c, n, i;

	for (; *s != '\0'; s += n) {
		if (*s < 0x80) {
			n = 1;
			continue;
		}
		n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc2 ? 2 : 0;
		if (n == 0 || *s > 0xf4)
			return 0;
		c = *s & (0x7f >> n);
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i] & 0x3f);
		}
		if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
		    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return 0;
	}
	return 1;
}

/* "s", escaped as jansson escapes: \" \\ \b \f \n \r \t, else \u00XX. */
static void
jput_str(struct jbuf *b, const char *s)
{
	const char	*run = s;
	char		 u[8];

	jput(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
			continue;
		jput(b, run, (size_t)(s - run));
		run = s + 1;
		switch (*s) {
		case '"': jput(b, "\\\"", 2); break;
		case '\\': jput(b, "\\\\", 2); break;
		case '\b': jput(b, "\\b", 2); break;
		case '\f': jput(b, "\\f", 2); break;
		case '\n': jput(b, "\\n", 2); break;
		case '\r': jput(b, "\\r", 2); break;
		case '\t': jput(b, "\\t", 2); break;
		default:
			snprintf(u, sizeof(u), "\\u%04X", (unsigned char)*s);
			jput(b, u, 6);
		}
	}
	jput(b, run, (size_t)(s - run));
	jput(b, "\"", 1);
}

/* "name":"value" after a comma unless first; skipped unless both UTF-8. */
static void
jmember(struct jbuf *b, int *first, const char *name, const char *value)
{
	if (!utf8_valid(name) || !utf8_valid(value))
		return;
	if (!*first)
		jput(b, ",", 1);
	*first = 0;
	jput_str(b, name);
	jput(b, ":", 1);
	jput_str(b, value);
}

static void
jservers(struct jbuf *b, const struct raw_fleet *raw)
{
	const struct raw_server	*rs;
	size_t			 i, j;
	int			 first = 1, ffirst;

	jput(b, "\"servers\":{", 11);
	for (i = 0; i < raw->nservers; i++) {
		if (!utf8_valid((rs = &raw->servers[i])->id))
			continue;
		if (!first)
			jput(b, ",", 1);
		first = 0;
		jput_str(b, rs->id);
		jput(b, ":{", 2);
		for (j = 0, ffirst = 1; j < rs->n; j++)
			jmember(b, &ffirst, rs->fields[j], rs->values[j]);
		jput(b, "}", 1);
	}
	jput(b, "},\"loads\":{", 11);
	for (i = 0, first = 1; i < raw->nservers; i++)
		if (raw->servers[i].load != NULL)
			jmember(b, &first, raw->servers[i].id,
			    raw->servers[i].load);
	jput(b, "}", 1);
}

/* The cache file's text: compact JSON and a newline; NULL: no memory. */
char *
fleet_raw_encode(const struct raw_fleet *raw)
{
	struct jbuf	b = { 0 };
	char		head[96];
	size_t		i;
	int		first = 1;

	if (raw->maintenance != NULL && !utf8_valid(raw->maintenance))
		return NULL;
	jput(&b, head, (size_t)snprintf(head, sizeof(head), "{\"format\":1,"
	    "\"version\":%lld,\"taken\":%lld,", (long long)(json_int_t)
	    raw->version, (long long)raw->taken_wall));
	jservers(&b, raw);
	jput(&b, ",\"regions\":{", 12);
	for (i = 0; i < raw->nregions; i++)
		jmember(&b, &first, raw->rnames[i], raw->rstates[i]);
	jput(&b, "},\"maintenance\":", 16);
	if (raw->maintenance != NULL)
		jput_str(&b, raw->maintenance);
	else
		jput(&b, "null", 4);
	jput(&b, "}\n", 2);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0';
	return b.p;
}

/* Temp file, fsync, rename: a reader sees the old file or the new. */
int
fleet_raw_write(const char *text, const char *path, char *err, size_t errlen)
{
	char	tmp[4096];
	size_t	len = strlen(text);
	int	fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	else if (rename(tmp, path) != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	if (rc != 0)
		unlink(tmp);
	close(fd);
	return rc;
}

int
fleet_raw_save(const struct raw_fleet *raw, const char *path, char *err,
    size_t errlen)
{
	char	*text;
	int	 rc;

	if ((text = fleet_raw_encode(raw)) == NULL) {
		snprintf(err, errlen, "%s: cannot encode", path);
		return -1;
	}
	rc = fleet_raw_write(text, path, err, errlen);
	free(text);
	return rc;
}

static char *
jstr(json_t *v)
{
	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static int
from_json(json_t *j, struct raw_fleet *raw)
{
	json_t		*servers, *loads, *regions, *h, *v;
	const char	*id, *k;
	size_t		 i, n;

	servers = json_object_get(j, "servers");
	loads = json_object_get(j, "loads");
	regions = json_object_get(j, "regions");
	if (json_integer_value(json_object_get(j, "format")) != 1 ||
	    !json_is_object(servers) || !json_is_object(loads) ||
	    !json_is_object(regions) ||
	    !json_is_integer(json_object_get(j, "version")) ||
	    !json_is_integer(json_object_get(j, "taken")))
		return -1;
	raw->version = json_integer_value(json_object_get(j, "version"));
	raw->taken_wall = json_integer_value(json_object_get(j, "taken"));
	raw->maintenance = jstr(json_object_get(j, "maintenance"));
	n = json_object_size(servers);
	if ((raw->servers = calloc(n + 1, sizeof(*raw->servers))) == NULL)
		return -1;
	json_object_foreach(servers, id, h) {
		struct raw_server *rs = &raw->servers[raw->nservers++];

		if (!json_is_object(h) || (rs->id = strdup(id)) == NULL)
			return -1;
		n = json_object_size(h);
		rs->fields = calloc(n + 1, sizeof(char *));
		rs->values = calloc(n + 1, sizeof(char *));
		if (rs->fields == NULL || rs->values == NULL)
			return -1;
		json_object_foreach(h, k, v) {
			if ((rs->fields[rs->n] = strdup(k)) == NULL ||
			    (rs->values[rs->n] = jstr(v)) == NULL) {
				free(rs->fields[rs->n]);
				return -1;
			}
			rs->n++;
		}
		rs->load = jstr(json_object_get(loads, id));
	}
	n = json_object_size(regions);
	raw->rnames = calloc(n + 1, sizeof(char *));
	raw->rstates = calloc(n + 1, sizeof(char *));
	if (raw->rnames == NULL || raw->rstates == NULL)
		return -1;
	i = 0;
	json_object_foreach(regions, k, v) {
		if ((raw->rnames[i] = strdup(k)) == NULL ||
		    (raw->rstates[i] = jstr(v)) == NULL) {
			free(raw->rnames[i]);
			return -1;
		}
		raw->nregions = ++i;
	}
	return 0;
}

struct raw_fleet *
fleet_raw_load(const char *path, double max_age, char *err, size_t errlen)
{
	struct raw_fleet	*raw;
	json_error_t		 je;
	json_t			*j;
	double			 age;

	if ((j = json_load_file(path, 0, &je)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, je.text);
		return NULL;
	}
	if ((raw = calloc(1, sizeof(*raw))) == NULL || from_json(j, raw) != 0) {
		snprintf(err, errlen, "%s: not a geo307 fleet cache", path);
		json_decref(j);
		fleet_raw_free(raw);
		return NULL;
	}
	json_decref(j);
	age = difftime(time(NULL), raw->taken_wall);
	if (age > max_age || age < -60) {
		snprintf(err, errlen, "%s: %.0f s old, older than "
		    "cache_max_age (%.0f s)", path, age, max_age);
		fleet_raw_free(raw);
		return NULL;
	}
	if (age < 0)
		age = 0;
	raw->source = FLEET_CACHE;
	/* Reports in it count as fresh for stale_after after it was taken. */
	raw->taken_mono = clock_mono() - age;
	return raw;
}
