/*
 * Reading the fleet's records as the daemon does: the SET of ids, each
 * server hash, each load key with its TTL (pipelined), P regions, P
 * maintenance and P version.  Each record is then judged by the daemon's
 * validation, so list, show and explain can say what the routers would
 * skip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static char *
reply_dup(const redisReply *r, int *bad_bytes)
{
	char	*s;

	if (memchr(r->str, '\0', r->len) != NULL)
		*bad_bytes = 1;
	if ((s = malloc(r->len + 1)) == NULL)
		return NULL;
	memcpy(s, r->str, r->len);
	s[r->len] = '\0';
	return s;
}

/* Read one pipelined reply; CTL_REDIS when the connection broke. */
static int
next_reply(struct ctl *c, const char *what, redisReply **out)
{
	void	*r = NULL;

	*out = NULL;
	if (redis_conn_get_reply(c->rc, &r) != REDIS_OK || r == NULL)
		return ctl_reply_error(c, NULL, what);
	*out = r;
	return CTL_OK;
}

/*
 * A reply the command can give: one of the types in the mask (bits
 * 1 << REDIS_REPLY_x), or WRONGTYPE when wrongtype_ok (a key of the
 * wrong type is a bad record, which list and show report).  Anything
 * else is Redis failing: exit 3.
 */
static int
expect(struct ctl *c, const redisReply *r, unsigned mask, int wrongtype_ok,
    const char *what)
{
	if (mask & (1u << r->type))
		return CTL_OK;
	if (r->type == REDIS_REPLY_ERROR) {
		if (wrongtype_ok && r->str != NULL &&
		    strncmp(r->str, "WRONGTYPE", 9) == 0)
			return CTL_OK;
		return ctl_reply_error(c, (redisReply *)r, what);
	}
	return ctl_err(CTL_REDIS, "redis: %s: unexpected reply", what);
}

#define T_STR	((1u << REDIS_REPLY_STRING) | (1u << REDIS_REPLY_NIL))
#define T_ARR	(1u << REDIS_REPLY_ARRAY)
#define T_INT	(1u << REDIS_REPLY_INTEGER)

static int
oom(void)
{
	return ctl_err(CTL_FAIL, "out of memory");
}

static void
wrong(struct ctl_record *rec, const redisReply *r, const char *what)
{
	if (rec->why[0] == '\0')
		snprintf(rec->why, sizeof(rec->why), "%s: %.80s", what,
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

/* HGETALL reply into fields/values. */
static int
take_hash(struct ctl_record *rec, const redisReply *r)
{
	size_t	i;

	if (r->type != REDIS_REPLY_ARRAY) {
		wrong(rec, r, "server hash");
		return CTL_OK;
	}
	if (r->elements / 2 == 0)
		return CTL_OK;
	rec->fields = calloc(r->elements / 2, sizeof(*rec->fields));
	rec->values = calloc(r->elements / 2, sizeof(*rec->values));
	if (rec->fields == NULL || rec->values == NULL)
		return oom();
	rec->n = r->elements / 2;
	for (i = 0; i < rec->n; i++) {
		if (r->element[2 * i]->type != REDIS_REPLY_STRING ||
		    r->element[2 * i + 1]->type != REDIS_REPLY_STRING) {
			wrong(rec, r->element[2 * i], "server hash");
			rec->n = i;
			return CTL_OK;
		}
		rec->fields[i] = reply_dup(r->element[2 * i], &rec->bad_bytes);
		rec->values[i] = reply_dup(r->element[2 * i + 1],
		    &rec->bad_bytes);
		if (rec->fields[i] == NULL || rec->values[i] == NULL) {
			rec->n = i + 1;
			return oom();
		}
	}
	return CTL_OK;
}

static int
take_load(struct ctl_record *rec, const redisReply *get,
    const redisReply *pttl)
{
	if (get->type == REDIS_REPLY_STRING) {
		if ((rec->load = reply_dup(get, &rec->load_nul)) == NULL)
			return oom();
	} else if (get->type != REDIS_REPLY_NIL)
		wrong(rec, get, "load key");
	rec->ttl_ms = pttl->type == REDIS_REPLY_INTEGER ? pttl->integer : -2;
	return CTL_OK;
}

/* Judge a record the way the daemon would. */
static void
validate(struct ctl *c, struct ctl_record *rec)
{
	struct reject	rej;

	/* A bad report is no report: the server counts as stale. */
	rec->load_ok = rec->load != NULL && !rec->load_nul &&
	    fleet_rec_load(rec->load, &rec->loadv) == 0;
	if (!rec->id_ok) {
		snprintf(rec->why, sizeof(rec->why), "bad id");
		return;
	}
	if (rec->why[0] != '\0')
		return;
	if (rec->bad_bytes) {
		snprintf(rec->why, sizeof(rec->why), "a field or value holds "
		    "a NUL byte");
		return;
	}
	memset(&rej, 0, sizeof(rej));
	if (ctl_server_check(c, rec->id, (const char *const *)rec->fields,
	    (const char *const *)rec->values, rec->n, &rec->rec, &rej) != 0) {
		ctl_reject_text(c, &rej, rec->why, sizeof(rec->why));
		return;
	}
	rec->valid = 1;
}

/* Queue HGETALL P server:<id>, GET P load:<id>, PTTL P load:<id>. */
static int
append_record(struct ctl *c, const char *id)
{
	char	hk[CTL_KEY_MAX], lk[CTL_KEY_MAX];

	if (ctl_key(c, hk, sizeof(hk), KEY_SERVER, id) == -1 ||
	    ctl_key(c, lk, sizeof(lk), KEY_LOAD, id) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if (redisAppendCommand(c->rc, "HGETALL %s", hk) != REDIS_OK ||
	    redisAppendCommand(c->rc, "GET %s", lk) != REDIS_OK ||
	    redisAppendCommand(c->rc, "PTTL %s", lk) != REDIS_OK)
		return oom();
	return CTL_OK;
}

static int
read_record(struct ctl *c, struct ctl_record *rec)
{
	redisReply	*h = NULL, *g = NULL, *t = NULL;
	int		 rc;

	if ((rc = next_reply(c, "HGETALL", &h)) == CTL_OK &&
	    (rc = next_reply(c, "GET", &g)) == CTL_OK &&
	    (rc = next_reply(c, "PTTL", &t)) == CTL_OK &&
	    (rc = expect(c, h, T_ARR, 1, "HGETALL")) == CTL_OK &&
	    (rc = expect(c, g, T_STR, 1, "GET")) == CTL_OK &&
	    (rc = expect(c, t, T_INT, 0, "PTTL")) == CTL_OK &&
	    (rc = take_hash(rec, h)) == CTL_OK)
		rc = take_load(rec, g, t);
	if (h != NULL)
		freeReplyObject(h);
	if (g != NULL)
		freeReplyObject(g);
	if (t != NULL)
		freeReplyObject(t);
	return rc;
}

static int
cmp_record(const void *a, const void *b)
{
	return strcmp(((const struct ctl_record *)a)->id,
	    ((const struct ctl_record *)b)->id);
}

static int
take_globals(struct ctl_records *out, redisReply *ver, redisReply *maint,
    redisReply *regions)
{
	size_t	i;
	int	bad = 0;

	/* A version that is not a counter shows as 0. */
	if (ver->type == REDIS_REPLY_STRING &&
	    fleet_rec_version(ver->str, &out->version) == -1)
		out->version = 0;
	if (maint->type == REDIS_REPLY_STRING) {
		out->maintenance = 1;
		if ((out->maintenance_value = reply_dup(maint, &bad)) == NULL)
			return oom();
	}
	if (regions->type != REDIS_REPLY_ARRAY || regions->elements < 2)
		return CTL_OK;
	out->rnames = calloc(regions->elements / 2, sizeof(*out->rnames));
	out->rstates = calloc(regions->elements / 2, sizeof(*out->rstates));
	if (out->rnames == NULL || out->rstates == NULL)
		return oom();
	for (i = 0; i + 1 < regions->elements; i += 2) {
		if (regions->element[i]->type != REDIS_REPLY_STRING ||
		    regions->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		out->rnames[out->nregions] = reply_dup(regions->element[i],
		    &bad);
		out->rstates[out->nregions] = reply_dup(regions->element[i + 1],
		    &bad);
		out->nregions++;
		if (out->rnames[out->nregions - 1] == NULL ||
		    out->rstates[out->nregions - 1] == NULL)
			return oom();
	}
	return CTL_OK;
}

int
ctl_fetch_all(struct ctl *c, struct ctl_records *out)
{
	redisReply	*ids = NULL, *ver = NULL, *maint = NULL, *reg = NULL;
	char		 ks[CTL_KEY_MAX], kv[CTL_KEY_MAX], km[CTL_KEY_MAX];
	char		 kr[CTL_KEY_MAX];
	size_t		 i;
	int		 bad = 0, rc;

	memset(out, 0, sizeof(*out));
	if (ctl_key(c, ks, sizeof(ks), KEY_SERVERS, NULL) == -1 ||
	    ctl_key(c, kv, sizeof(kv), KEY_VERSION, NULL) == -1 ||
	    ctl_key(c, km, sizeof(km), KEY_MAINT, NULL) == -1 ||
	    ctl_key(c, kr, sizeof(kr), KEY_REGIONS, NULL) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if (redisAppendCommand(c->rc, "SMEMBERS %s", ks) != REDIS_OK ||
	    redisAppendCommand(c->rc, "GET %s", kv) != REDIS_OK ||
	    redisAppendCommand(c->rc, "GET %s", km) != REDIS_OK ||
	    redisAppendCommand(c->rc, "HGETALL %s", kr) != REDIS_OK)
		return oom();
	if ((rc = next_reply(c, "SMEMBERS", &ids)) != CTL_OK ||
	    (rc = next_reply(c, "GET", &ver)) != CTL_OK ||
	    (rc = next_reply(c, "GET", &maint)) != CTL_OK ||
	    (rc = next_reply(c, "HGETALL", &reg)) != CTL_OK)
		goto done;
	if ((rc = expect(c, ids, T_ARR, 0, "SMEMBERS")) != CTL_OK ||
	    (rc = expect(c, ver, T_STR, 0, "GET")) != CTL_OK ||
	    (rc = expect(c, maint, T_STR, 0, "GET")) != CTL_OK ||
	    (rc = expect(c, reg, T_ARR, 1, "HGETALL")) != CTL_OK ||
	    (rc = take_globals(out, ver, maint, reg)) != CTL_OK)
		goto done;
	if (ids->elements > 0 &&
	    (out->v = calloc(ids->elements, sizeof(*out->v))) == NULL) {
		rc = oom();
		goto done;
	}
	for (i = 0; i < ids->elements; i++) {
		if (ids->element[i]->type != REDIS_REPLY_STRING)
			continue;
		if ((out->v[out->n].id = reply_dup(ids->element[i], &bad)) ==
		    NULL) {
			rc = oom();
			goto done;
		}
		out->v[out->n].in_set = 1;
		out->v[out->n].ttl_ms = -2;
		out->v[out->n].id_ok = parse_is_name(out->v[out->n].id);
		out->n++;
	}
	if (out->n > 0)
		qsort(out->v, out->n, sizeof(*out->v), cmp_record);
	/* Pipelined: every record's three commands, then the replies. */
	for (i = 0; i < out->n; i++)
		if (out->v[i].id_ok &&
		    (rc = append_record(c, out->v[i].id)) != CTL_OK)
			goto done;
	for (i = 0; i < out->n; i++)
		if (out->v[i].id_ok &&
		    (rc = read_record(c, &out->v[i])) != CTL_OK)
			goto done;
	for (i = 0; i < out->n; i++)
		validate(c, &out->v[i]);
	rc = CTL_OK;
done:
	if (ids != NULL)
		freeReplyObject(ids);
	if (ver != NULL)
		freeReplyObject(ver);
	if (maint != NULL)
		freeReplyObject(maint);
	if (reg != NULL)
		freeReplyObject(reg);
	if (rc != CTL_OK)
		ctl_records_free(out);
	return rc;
}

int
ctl_fetch_one(struct ctl *c, const char *id, struct ctl_record *out,
    int *found)
{
	redisReply	*m = NULL;
	char		 ks[CTL_KEY_MAX];
	int		 rc;

	memset(out, 0, sizeof(*out));
	*found = 0;
	out->ttl_ms = -2;
	out->id_ok = parse_is_name(id);
	if ((out->id = strdup(id)) == NULL)
		return oom();
	if (ctl_key(c, ks, sizeof(ks), KEY_SERVERS, NULL) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if ((rc = append_record(c, id)) != CTL_OK)
		return rc;
	if (redisAppendCommand(c->rc, "SISMEMBER %s %s", ks, id) != REDIS_OK)
		return oom();
	if ((rc = read_record(c, out)) != CTL_OK ||
	    (rc = next_reply(c, "SISMEMBER", &m)) != CTL_OK)
		goto done;
	if ((rc = expect(c, m, T_INT, 0, "SISMEMBER")) != CTL_OK)
		goto done;
	out->in_set = m->type == REDIS_REPLY_INTEGER && m->integer == 1;
	*found = out->in_set || out->n > 0;
	validate(c, out);
done:
	if (m != NULL)
		freeReplyObject(m);
	return rc;
}

void
ctl_record_note(const struct ctl_record *r, char *buf, size_t len)
{
	if (!r->valid)
		snprintf(buf, len, "skipped by the routers: %s", r->why);
	else if (r->load != NULL && !r->load_ok)
		snprintf(buf, len, "bad load report: counts as stale");
	else if (!r->in_set)
		snprintf(buf, len, "not in the servers set: routers do not "
		    "see it");
	else
		buf[0] = '\0';
}

const char *
ctl_field(const struct ctl_record *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->fields[i], name) == 0)
			return r->values[i];
	return NULL;
}

void
ctl_record_free(struct ctl_record *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++) {
		free(r->fields[i]);
		free(r->values[i]);
	}
	free(r->fields);
	free(r->values);
	free(r->id);
	free(r->load);
	if (r->valid)
		fleet_rec_record_free(&r->rec);
	memset(r, 0, sizeof(*r));
}

void
ctl_records_free(struct ctl_records *rs)
{
	size_t	i;

	for (i = 0; i < rs->n; i++)
		ctl_record_free(&rs->v[i]);
	free(rs->v);
	for (i = 0; i < rs->nregions; i++) {
		free(rs->rnames[i]);
		free(rs->rstates[i]);
	}
	free(rs->rnames);
	free(rs->rstates);
	free(rs->maintenance_value);
	memset(rs, 0, sizeof(*rs));
}
