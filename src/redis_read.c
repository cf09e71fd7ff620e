/*
 * redis_read: reading the fleet's keys from Redis into a raw_fleet, for
 * the refresh thread and --check (redis_source.c).  read_full reads
 * everything in one pipelined round trip; read_loads is the cheap poll
 * of the version and the loads; warn_raw says what is wrong with the
 * keys around the records.  No threads here: read_loads takes the
 * source's lock only to copy the server ids and to put the loads into
 * the records in place.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "fleet_rec.h"
#include "log.h"
#include "fleet_raw.h"
#include "redis_source_internal.h"

static int
reply_ok(redisReply *r, int type)
{
	return r != NULL && r->type == type;
}

/*
 * Is r an answer the command can give (1), a key of the wrong type (0:
 * an operator's mistake, one bad record or key, and the rest of the fleet
 * reads on), or neither (-1: an error such as LOADING or NOPERM, or a
 * server that answers what the command cannot; the read fails and the
 * last snapshot stays)?
 */
int
redis_answer_kind(const redisReply *r, int type, int nil_ok)
{
	if (r->type == type || (nil_ok && r->type == REDIS_REPLY_NIL))
		return 1;
	if (r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, "WRONGTYPE", 9) == 0)
		return 0;
	return -1;
}

/* GET P version: nil is version 0. */
int
redis_parse_version(redisReply *r, uint64_t *v)
{
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_NIL) {
		*v = 0;
		return 0;
	}
	if (r->type != REDIS_REPLY_STRING)
		return -1;
	return fleet_rec_version(r->str, v);
}

/*
 * One MGET of the load keys of ids[0..n); the values into loads[] (NULL
 * for a missing key).  The command is appended, not sent.
 */
static int
append_mget(redisContext *c, struct redis_source *src, char **ids, size_t n)
{
	const char	**argv;
	char		**keys;
	size_t		 i;
	int		 rc = -1;

	argv = calloc(n + 1, sizeof(*argv));
	keys = calloc(n + 1, sizeof(*keys));
	if (argv == NULL || keys == NULL)
		goto out;
	argv[0] = "MGET";
	for (i = 0; i < n; i++)
		if ((argv[i + 1] = keys[i] = redis_key(src, KEY_LOAD, ids[i])) ==
		    NULL)
			goto out;
	rc = redisAppendCommandArgv(c, (int)n + 1, argv, NULL) == REDIS_OK ?
	    0 : -1;
out:
	for (i = 0; keys != NULL && i < n; i++)
		free(keys[i]);
	free(keys);
	free(argv);
	return rc;
}

static int
take_loads(redisReply *r, struct raw_fleet *raw)
{
	size_t	i;

	if (!reply_ok(r, REDIS_REPLY_ARRAY) || r->elements != raw->nservers)
		return -1;
	for (i = 0; i < raw->nservers; i++) {
		free(raw->servers[i].load);
		raw->servers[i].load = NULL;
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    (raw->servers[i].load = strdup(r->element[i]->str)) ==
		    NULL)
			return -1;
	}
	return 0;
}

int
redis_take_hash(redisReply *r, char ***fields, char ***values, size_t *n)
{
	size_t	i, m;

	if (!reply_ok(r, REDIS_REPLY_ARRAY) || r->elements % 2 != 0)
		return -1;
	m = r->elements / 2;
	*fields = calloc(m + 1, sizeof(char *));
	*values = calloc(m + 1, sizeof(char *));
	if (*fields == NULL || *values == NULL)
		return -1;
	for (i = 0; i < m; i++) {
		if (r->element[2 * i]->type != REDIS_REPLY_STRING ||
		    r->element[2 * i + 1]->type != REDIS_REPLY_STRING)
			return -1;
		(*fields)[i] = strdup(r->element[2 * i]->str);
		(*values)[i] = strdup(r->element[2 * i + 1]->str);
		*n = i + 1;
		if ((*fields)[i] == NULL || (*values)[i] == NULL)
			return -1;
	}
	return 0;
}

int
redis_get_reply(redisContext *c, redisReply **r)
{
	void	*p = NULL;

	if (redis_conn_get_reply(c, &p) != REDIS_OK) {
		*r = NULL;
		return -1;
	}
	*r = p;
	return 0;
}

/* A server key that is not a hash: a record with one impossible field. */
static int
wrong_type(struct raw_server *rs, redisReply *r)
{
	rs->fields = calloc(2, sizeof(char *));
	rs->values = calloc(2, sizeof(char *));
	if (rs->fields == NULL || rs->values == NULL)
		return -1;
	rs->fields[0] = strdup("(type)");
	rs->values[0] = strdup(r->type == REDIS_REPLY_ERROR && r->str ?
	    r->str : "not a hash");
	rs->n = 1;
	return rs->fields[0] && rs->values[0] ? 0 : -1;
}

/* Why a read failed, from the context or the reply in hand. */
static void
read_error(redisContext *c, redisReply *r, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", c->err ? c->errstr :
	    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str :
	    "unexpected reply");
}

/*
 * Step 1 of a full read: GET P version, then SMEMBERS P servers into
 * raw's ids.  A version that is not a number is an operator's mistake,
 * not an outage: read on (full_resync still catches changes).
 */
static int
read_head(redisContext *c, struct redis_source *src, struct raw_fleet *raw,
    char *err, size_t errlen)
{
	redisReply	*r;
	char		*k;
	size_t		 i;

	k = redis_key(src, KEY_VERSION, NULL);
	r = redis_conn_command(c, "GET %s", k);
	free(k);
	if (r == NULL || redis_answer_kind(r, REDIS_REPLY_STRING, 1) == -1)
		goto fail;
	raw->has_version = r->type != REDIS_REPLY_NIL;
	if (redis_parse_version(r, &raw->version) != 0) {
		raw->bad_version = 1;
		raw->version = 0;
	}
	freeReplyObject(r);
	k = redis_key(src, KEY_SERVERS, NULL);
	r = redis_conn_command(c, "SMEMBERS %s", k);
	free(k);
	if (!reply_ok(r, REDIS_REPLY_ARRAY) || (raw->servers =
	    calloc(r->elements + 1, sizeof(*raw->servers))) == NULL)
		goto fail;
	for (i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    (raw->servers[i].id = strdup(r->element[i]->str)) == NULL)
			goto fail;
		raw->nservers = i + 1;
	}
	freeReplyObject(r);
	return 0;
fail:
	read_error(c, r, err, errlen);
	freeReplyObject(r);
	return -1;
}

/*
 * Step 2: one HGETALL per server of raw, P regions, P maintenance and one
 * MGET of the loads, appended: one round trip for all of it.
 */
static int
send_records(redisContext *c, struct redis_source *src,
    const struct raw_fleet *raw)
{
	char	**idv, *k;
	size_t	  i, n = raw->nservers;
	int	  rc = 0;

	for (i = 0; i < n; i++) {
		k = redis_key(src, KEY_SERVER, raw->servers[i].id);
		rc |= redisAppendCommand(c, "HGETALL %s", k) != REDIS_OK;
		free(k);
	}
	rc |= redis_send_tail(c, src);
	if (n == 0 || rc != 0)
		return rc ? -1 : 0;
	if ((idv = calloc(n + 1, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		idv[i] = raw->servers[i].id;
	rc = append_mget(c, src, idv, n);
	free(idv);
	return rc;
}

/*
 * One server hash.  A key of the wrong type is one bad record, never a
 * failed read: the rest of the fleet must go on updating.
 */
int
redis_take_server(redisReply *r, struct raw_server *rs)
{
	if (redis_answer_kind(r, REDIS_REPLY_ARRAY, 0) == -1)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY)
		return redis_take_hash(r, &rs->fields, &rs->values, &rs->n);
	return wrong_type(rs, r);
}

/* P maintenance: absent, a string, or present but not a string. */
static int
take_maintenance(redisReply *r, struct raw_fleet *raw)
{
	if (redis_answer_kind(r, REDIS_REPLY_STRING, 1) == -1)
		return -1;
	if (r->type == REDIS_REPLY_NIL)
		return 0;
	raw->maintenance = strdup(r->type == REDIS_REPLY_STRING ? r->str :
	    "(not a string)");
	return raw->maintenance != NULL ? 0 : -1;
}

/* P regions and P maintenance, appended (full reads and the feed). */
int
redis_send_tail(redisContext *c, struct redis_source *src)
{
	char	*k;
	int	 bad;

	k = redis_key(src, KEY_REGIONS, NULL);
	bad = redisAppendCommand(c, "HGETALL %s", k) != REDIS_OK;
	free(k);
	k = redis_key(src, KEY_MAINT, NULL);
	bad |= redisAppendCommand(c, "GET %s", k) != REDIS_OK;
	free(k);
	return bad ? -1 : 0;
}

/* Their replies into raw: regions (a wrong type: none drained) and
 * maintenance.  -1 with *rp the reply at fault (the caller frees it). */
int
redis_take_tail(redisContext *c, struct raw_fleet *raw, redisReply **rp)
{
	redisReply	*r = NULL;

	*rp = NULL;
	if (redis_get_reply(c, &r) != 0 ||
	    redis_answer_kind(r, REDIS_REPLY_ARRAY, 0) == -1)
		goto fail;
	if (r->type != REDIS_REPLY_ARRAY)
		raw->bad_regions = 1;
	else if (redis_take_hash(r, &raw->rnames, &raw->rstates,
	    &raw->nregions))
		goto fail;
	freeReplyObject(r);
	r = NULL;
	if (redis_get_reply(c, &r) != 0 || take_maintenance(r, raw) != 0)
		goto fail;
	freeReplyObject(r);
	return 0;
fail:
	*rp = r;
	return -1;
}

/* Step 3: the replies of step 2, in the same order. */
static int
collect_records(redisContext *c, struct raw_fleet *raw, char *err,
    size_t errlen)
{
	redisReply	*r = NULL;
	size_t		 i, n = raw->nservers;

	for (i = 0; i < n; i++) {
		if (redis_get_reply(c, &r) != 0 ||
		    redis_take_server(r, &raw->servers[i]))
			goto fail;
		freeReplyObject(r);
	}
	r = NULL;
	if (redis_take_tail(c, raw, &r) != 0)
		goto fail;
	r = NULL;
	if (n > 0 && (redis_get_reply(c, &r) != 0 || take_loads(r, raw) != 0))
		goto fail;
	freeReplyObject(r);
	return 0;
fail:
	read_error(c, r, err, errlen);
	freeReplyObject(r);
	return -1;
}

/* Everything: the server set, each hash, regions, maintenance, loads. */
struct raw_fleet *
redis_read_full(redisContext *c, struct redis_source *src, char *err,
    size_t errlen)
{
	struct raw_fleet	*raw;

	if ((raw = calloc(1, sizeof(*raw))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (read_head(c, src, raw, err, errlen) != 0)
		goto fail;
	if (send_records(c, src, raw) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (collect_records(c, raw, err, errlen) != 0)
		goto fail;
	raw->source = FLEET_REDIS;
	return raw;
fail:
	fleet_raw_free(raw);
	return NULL;
}

/* GET P version alone: what a change message asks to look at. */
int
redis_read_version(redisContext *c, struct redis_source *src, uint64_t *version,
    char *err, size_t errlen)
{
	redisReply	*r;
	char		*k = redis_key(src, KEY_VERSION, NULL);

	r = redis_conn_command(c, "GET %s", k);
	free(k);
	if (r == NULL || redis_answer_kind(r, REDIS_REPLY_STRING, 1) != 1) {
		read_error(c, r, err, errlen);
		freeReplyObject(r);
		return -1;
	}
	if (redis_parse_version(r, version) != 0)
		*version = 0;		/* as read_full does: see warn_raw */
	freeReplyObject(r);
	return 0;
}

/*
 * The cheap poll: version and loads in one round trip.  Loads go into
 * raw in place (under the lock); *version gets the current version.
 */
int
redis_read_loads(redisContext *c, struct redis_source *src, uint64_t *version,
    char *err, size_t errlen)
{
	redisReply	*r = NULL;
	char		*k, **ids = NULL;
	size_t		 i, n = 0;
	int		 rc = -1;

	pthread_mutex_lock(&src->lock);
	if (src->raw != NULL && (n = src->raw->nservers) > 0) {
		if ((ids = calloc(n, sizeof(char *))) == NULL) {
			pthread_mutex_unlock(&src->lock);
			return -1;
		}
		for (i = 0; i < n; i++)
			ids[i] = strdup(src->raw->servers[i].id);
	}
	pthread_mutex_unlock(&src->lock);
	k = redis_key(src, KEY_VERSION, NULL);
	redisAppendCommand(c, "GET %s", k);
	free(k);
	if (n > 0 && append_mget(c, src, ids, n) != 0)
		goto out;
	if (redis_get_reply(c, &r) != 0 ||
	    redis_answer_kind(r, REDIS_REPLY_STRING, 1) == -1)
		goto out;
	if (redis_parse_version(r, version) != 0)
		*version = 0;		/* as read_full does: see warn_raw */
	freeReplyObject(r);
	r = NULL;
	if (n > 0) {
		if (redis_get_reply(c, &r) != 0 || !reply_ok(r, REDIS_REPLY_ARRAY) ||
		    r->elements != n)
			goto out;
		pthread_mutex_lock(&src->lock);
		/* Only if the set of servers did not change meanwhile. */
		if (src->raw != NULL && src->raw->nservers == n)
			(void)take_loads(r, src->raw);
		if (src->raw != NULL)
			src->raw->taken_mono = clock_mono();
		pthread_mutex_unlock(&src->lock);
	} else {
		pthread_mutex_lock(&src->lock);
		if (src->raw != NULL)
			src->raw->taken_mono = clock_mono();
		pthread_mutex_unlock(&src->lock);
	}
	rc = 0;
out:
	if (rc != 0)
		snprintf(err, errlen, "%s", c->err ? c->errstr :
		    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
	freeReplyObject(r);
	for (i = 0; ids != NULL && i < n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

/* Say once what is wrong with the keys around the records. */
void
redis_warn_raw(struct redis_source *src, const struct raw_fleet *raw)
{
	if (raw->bad_version && !src->warned_version)
		log_warn("redis: %s%s is not a number: changes are seen at "
		    "full_resync only", src->prefix, KEY_VERSION);
	if (raw->bad_regions && !src->warned_regions)
		log_warn("redis: %s%s is not a hash: no region is drained",
		    src->prefix, KEY_REGIONS);
	if (!raw->has_version && raw->nservers == 0 && !src->warned_empty)
		log_warn("redis: no %s%s and no servers: an empty or flushed "
		    "Redis; keeping the last snapshot if there is one",
		    src->prefix, KEY_VERSION);
	src->warned_version = raw->bad_version;
	src->warned_regions = raw->bad_regions;
	src->warned_empty = !raw->has_version && raw->nservers == 0;
}
