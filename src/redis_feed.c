/*
 * redis_feed: the change feed (P changes, a STREAM).  Every operator
 * change made by geo307ctl adds, in the MULTI that bumps P version, an
 * entry `version <v> ids <id,id,...>`.  A router that applied version v
 * (and knows the entry id of v) and sees version V > v reads the entries
 * after that id; when they are exactly v+1, v+2, ... up to at least V,
 * it re-reads only the servers they name (plus P regions and P
 * maintenance) and patches its records in place.  Anything else — no
 * entry id known, a gap (a change made without XADD, such as a plain
 * redis-cli edit), a trimmed or deleted feed, too many entries or ids —
 * answers "not covered" and the caller re-reads everything, as before.
 *
 * The cost of a change then no longer grows with the fleet in Redis's
 * replies: one XRANGE and three commands per named server.  (Building
 * the new snapshot still validates every record.)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "fleet_rec.h"
#include "log.h"
#include "redis_source_internal.h"

#define FEED_BATCH	256	/* entries read at once; more: full read */
#define FEED_IDS_MAX	1024	/* servers re-read at once; more: full */

struct feed_change {
	char		 last_id[sizeof(((struct raw_fleet *)0)->feed_id)];
	uint64_t	 last_version;
	char		*ids[FEED_IDS_MAX];
	size_t		 nids;
};

static void
change_free(struct feed_change *fc)
{
	size_t	i;

	for (i = 0; i < fc->nids; i++)
		free(fc->ids[i]);
	fc->nids = 0;
}

/* The value of field name in an entry's [f, v, f, v, ...]; NULL if none. */
static const redisReply *
entry_field(const redisReply *kv, const char *name)
{
	size_t	i;

	if (kv == NULL || kv->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < kv->elements; i += 2)
		if (kv->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(kv->element[i]->str, name) == 0 &&
		    kv->element[i + 1]->type == REDIS_REPLY_STRING)
			return kv->element[i + 1];
	return NULL;
}

/* An entry [id, [fields]]: its stream id and version; -1 if malformed. */
static int
entry_parse(const redisReply *e, const char **id, uint64_t *version,
    const redisReply **ids)
{
	const redisReply	*v;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[0]->len >= sizeof(((struct raw_fleet *)0)->feed_id) ||
	    (v = entry_field(e->element[1], "version")) == NULL ||
	    redis_parse_version((redisReply *)v, version) != 0)
		return -1;
	*id = e->element[0]->str;
	*ids = entry_field(e->element[1], "ids");
	return 0;
}

/*
 * After a full read: the entry id of raw's version, so the next change
 * can be caught up from the feed.  No feed, or its last entry is not
 * this version (a change landed between the reads, or one was made
 * without the feed): "" and the next change is a full read.  -1 only
 * when the connection failed.
 */
int
redis_feed_tail(redisContext *c, struct redis_source *src, struct raw_fleet *raw,
    char *err, size_t errlen)
{
	const redisReply	*ids;
	redisReply		*r;
	const char		*id;
	uint64_t		 v;
	char			*k = redis_key(src, KEY_CHANGES, NULL);

	raw->feed_id[0] = '\0';
	r = redis_conn_command(c, "XREVRANGE %s + - COUNT 1", k);
	free(k);
	if (r == NULL) {
		snprintf(err, errlen, "%s", c->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    entry_parse(r->element[0], &id, &v, &ids) == 0 &&
	    v == raw->version && raw->has_version)
		snprintf(raw->feed_id, sizeof(raw->feed_id), "%s", id);
	freeReplyObject(r);
	return 0;
}

/* Add the ids of one entry ("a,b,c"; may be empty) to fc; -1: too many. */
static int
add_ids(struct feed_change *fc, const redisReply *ids)
{
	const char	*p, *q;
	size_t		 i, len;

	if (ids == NULL)
		return -1;	/* an entry that names nothing known: full */
	for (p = ids->str; *p != '\0'; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		if ((len = (size_t)(q - p)) == 0)
			continue;
		for (i = 0; i < fc->nids; i++)
			if (strlen(fc->ids[i]) == len &&
			    memcmp(fc->ids[i], p, len) == 0)
				break;
		if (i < fc->nids)
			continue;
		if (fc->nids == FEED_IDS_MAX ||
		    (fc->ids[fc->nids] = strndup(p, len)) == NULL)
			return -1;
		fc->nids++;
	}
	return 0;
}

/*
 * The entries after `after`: 0 when they are have+1, have+2, ... and
 * reach want; 1 when they do not cover that (full read); -1 I/O.
 */
static int
feed_read(redisContext *c, struct redis_source *src, const char *after,
    uint64_t have, uint64_t want, struct feed_change *fc, char *err,
    size_t errlen)
{
	const redisReply	*ids;
	redisReply		*r;
	const char		*id;
	uint64_t		 v;
	size_t			 i;
	int			 rc = 1;
	char			*k = redis_key(src, KEY_CHANGES, NULL);

	r = redis_conn_command(c, "XRANGE %s (%s + COUNT %d", k, after,
	    FEED_BATCH);
	free(k);
	if (r == NULL) {
		snprintf(err, errlen, "%s", c->errstr);
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY)
		goto out;
	for (i = 0; i < r->elements; i++) {
		if (entry_parse(r->element[i], &id, &v, &ids) != 0 ||
		    v != have + 1 + i || add_ids(fc, ids) != 0)
			goto out;
		snprintf(fc->last_id, sizeof(fc->last_id), "%s", id);
		fc->last_version = v;
	}
	rc = r->elements > 0 && fc->last_version >= want ? 0 : 1;
out:
	freeReplyObject(r);
	return rc;
}

/* One server's three replies: membership, hash, load; into rs. */
static int
take_named(redisContext *c, struct raw_server *rs, int *member)
{
	redisReply	*r = NULL;
	int		 rc = -1;

	if (redis_get_reply(c, &r) != 0 || r->type != REDIS_REPLY_INTEGER)
		goto out;
	*member = r->integer == 1;
	freeReplyObject(r);
	if (redis_get_reply(c, &r) != 0 || redis_take_server(r, rs) != 0)
		goto out;
	freeReplyObject(r);
	if (redis_get_reply(c, &r) != 0 || redis_answer_kind(r, REDIS_REPLY_STRING, 1) < 0)
		goto out;
	if (r->type == REDIS_REPLY_STRING && (rs->load = strdup(r->str)) ==
	    NULL)
		goto out;
	rc = 0;
out:
	freeReplyObject(r);
	return rc;
}

/* Put one re-read server into raw: replace, add, or remove it. */
static int
patch_server(struct raw_fleet *raw, struct raw_server *rs, int member)
{
	struct raw_server	*v;
	size_t			 i;

	for (i = 0; i < raw->nservers; i++)
		if (strcmp(raw->servers[i].id, rs->id) == 0)
			break;
	if (i < raw->nservers) {
		fleet_raw_server_clear(&raw->servers[i]);
		if (member) {
			free(raw->servers[i].id);
			raw->servers[i] = *rs;
			return 0;
		}
		free(raw->servers[i].id);
		raw->servers[i] = raw->servers[--raw->nservers];
		memset(&raw->servers[raw->nservers], 0, sizeof(*rs));
	} else if (member) {
		if ((v = realloc(raw->servers, (raw->nservers + 2) *
		    sizeof(*v))) == NULL)
			return -1;
		raw->servers = v;
		raw->servers[raw->nservers++] = *rs;
		memset(&raw->servers[raw->nservers], 0, sizeof(*rs));
		return 0;
	}
	fleet_raw_server_clear(rs);
	free(rs->id);
	return 0;
}

/* Pipeline: per id SISMEMBER, HGETALL, GET load; regions; maintenance. */
static int
send_named(redisContext *c, struct redis_source *src,
    const struct feed_change *fc)
{
	char	*ks = redis_key(src, KEY_SERVERS, NULL), *k;
	size_t	 i;
	int	 bad = ks == NULL;

	for (i = 0; i < fc->nids && !bad; i++) {
		bad |= redisAppendCommand(c, "SISMEMBER %s %s", ks,
		    fc->ids[i]) != REDIS_OK;
		k = redis_key(src, KEY_SERVER, fc->ids[i]);
		bad |= redisAppendCommand(c, "HGETALL %s", k) != REDIS_OK;
		free(k);
		k = redis_key(src, KEY_LOAD, fc->ids[i]);
		bad |= redisAppendCommand(c, "GET %s", k) != REDIS_OK;
		free(k);
	}
	free(ks);
	bad |= redis_send_tail(c, src) != 0;
	return bad ? -1 : 0;
}

/* Move part's regions and maintenance into raw. */
static void
patch_tail(struct raw_fleet *raw, struct raw_fleet *part)
{
	struct raw_fleet	old = *raw;

	raw->rnames = part->rnames;
	raw->rstates = part->rstates;
	raw->nregions = part->nregions;
	raw->bad_regions = part->bad_regions;
	raw->maintenance = part->maintenance;
	part->rnames = old.rnames;
	part->rstates = old.rstates;
	part->nregions = old.nregions;
	part->maintenance = old.maintenance;
}

/* Read the named servers and patch them into the source's records. */
static int
feed_apply(redisContext *c, struct redis_source *src, struct feed_change *fc,
    char *err, size_t errlen)
{
	struct raw_fleet	 part;
	struct raw_server	*got;
	redisReply		*tail;
	int			*member, rc = -1;
	size_t			 i, n = 0;

	memset(&part, 0, sizeof(part));
	got = calloc(fc->nids + 1, sizeof(*got));
	member = calloc(fc->nids + 1, sizeof(*member));
	if (got == NULL || member == NULL || send_named(c, src, fc) != 0)
		goto out;
	for (n = 0; n < fc->nids; n++) {
		got[n].id = fc->ids[n];
		fc->ids[n] = NULL;
		if (take_named(c, &got[n], &member[n]) != 0) {
			n++;
			goto out;
		}
	}
	if (redis_take_tail(c, &part, &tail) != 0) {
		freeReplyObject(tail);
		goto out;
	}
	pthread_mutex_lock(&src->lock);
	for (i = 0; i < n && src->raw != NULL; i++)
		if (patch_server(src->raw, &got[i], member[i]) == 0)
			got[i].id = NULL;	/* moved or freed */
	if (src->raw != NULL) {
		patch_tail(src->raw, &part);
		src->raw->version = fc->last_version;
		src->raw->has_version = 1;
		snprintf(src->raw->feed_id, sizeof(src->raw->feed_id), "%s",
		    fc->last_id);
		src->raw->taken_wall = time(NULL);
		src->raw->taken_mono = clock_mono();
	}
	pthread_mutex_unlock(&src->lock);
	rc = 0;
out:
	if (rc != 0)
		snprintf(err, errlen, "%s", c->err ? c->errstr :
		    "change feed: unexpected reply");
	for (i = 0; got != NULL && i < n; i++)
		if (got[i].id != NULL) {
			fleet_raw_server_clear(&got[i]);
			free(got[i].id);
		}
	fleet_raw_tail_clear(&part);
	free(got);
	free(member);
	return rc;
}

/*
 * The version moved to want: catch up from the feed.  0 applied; 1 the
 * feed does not cover it (the caller reads everything); -1 I/O.
 */
int
redis_feed_catch_up(redisContext *c, struct redis_source *src, uint64_t want,
    char *err, size_t errlen)
{
	struct feed_change	 fc;
	char			 after[sizeof(fc.last_id)];
	uint64_t		 have;
	int			 rc;

	memset(&fc, 0, sizeof(fc));
	pthread_mutex_lock(&src->lock);
	have = src->raw != NULL ? src->raw->version : 0;
	snprintf(after, sizeof(after), "%s", src->raw != NULL ?
	    src->raw->feed_id : "");
	pthread_mutex_unlock(&src->lock);
	if (after[0] == '\0' || want <= have)
		return 1;
	if ((rc = feed_read(c, src, after, have, want, &fc, err, errlen)) == 0)
		rc = feed_apply(c, src, &fc, err, errlen);
	change_free(&fc);
	return rc;
}
