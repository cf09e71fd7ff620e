/*
 * Changes to one server: add, weight, state (drain, undrain, down) and
 * remove.  Values are checked first, with the daemon's functions, then
 * written through ctl_write(): atomic with the version bump and publish.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct srv {
	const char	*id;
	char		 hkey[CTL_KEY_MAX];	/* P server:<id> */
	char		 skey[CTL_KEY_MAX];	/* P servers */
	char		 lkey[CTL_KEY_MAX];	/* P load:<id> */
	const char	*field;			/* for one HSET */
	const char	*value;
	const char	*url, *region, *weight;	/* for add */
	int		 existed;
	int		 replace;		/* add --replace */
};

/*
 * The field's value now, as the daemon reads it (a missing state is
 * up, a missing weight 100): 1 when it already is s->value.
 */
static int
field_is(struct ctl *c, struct srv *s, int *same)
{
	enum server_state	 a, b;
	uint32_t		 wa, wb;
	redisReply		*r;
	const char		*now;

	*same = 0;
	if ((r = ctl_command(c, "HGET %s %s", s->hkey, s->field)) == NULL)
		return CTL_REDIS;
	now = r->type == REDIS_REPLY_STRING ? r->str : NULL;
	if (strcmp(s->field, "state") == 0)
		*same = fleet_rec_state(now != NULL ? now : "up", &a) == 0 &&
		    fleet_rec_state(s->value, &b) == 0 && a == b;
	else if (strcmp(s->field, "weight") == 0)
		*same = fleet_rec_weight(now != NULL ? now : "100", &wa) == 0 &&
		    fleet_rec_weight(s->value, &wb) == 0 && wa == wb;
	freeReplyObject(r);
	return CTL_OK;
}

static int
srv_init(struct ctl *c, struct srv *s, const char *id, struct ctl_change *ch)
{
	memset(s, 0, sizeof(*s));
	memset(ch, 0, sizeof(*ch));
	s->id = id;
	ch->ids = id;
	if (ctl_key(c, s->hkey, sizeof(s->hkey), KEY_SERVER, id) == -1 ||
	    ctl_key(c, s->skey, sizeof(s->skey), KEY_SERVERS, NULL) == -1 ||
	    ctl_key(c, s->lkey, sizeof(s->lkey), KEY_LOAD, id) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	ch->arg = s;
	return CTL_OK;
}

static void
watch_key(struct ctl_change *ch, const char *key)
{
	snprintf(ch->watch[ch->nwatch++], sizeof(ch->watch[0]), "%s", key);
}

/* Inside the WATCH: the hash must be there. */
static int
need_server(struct ctl *c, void *arg)
{
	struct srv	*s = arg;
	int		 rc, exists;

	if ((rc = ctl_exists(c, KEY_SERVER, s->id, &exists)) != CTL_OK)
		return rc;
	if (!exists)
		return ctl_err(CTL_FAIL, "no such server: %s", s->id);
	if (s->field == NULL)
		return CTL_OK;
	if ((rc = field_is(c, s, &exists)) != CTL_OK)
		return rc;
	return exists ? CTL_NOOP : CTL_OK;
}

static int
queue_hset(struct ctl *c, void *arg)
{
	struct srv	*s = arg;

	return ctl_queue(c, "HSET %s %s %s", s->hkey, s->field, s->value);
}

/* weight/drain/undrain/down/state: one field of an existing server. */
static int
set_field(struct ctl *c, const char *id, const char *field,
    const char *value, uint64_t *version)
{
	struct ctl_change	ch;
	struct srv		s;
	int			rc;

	if ((rc = ctl_connect(c)) != CTL_OK ||
	    (rc = srv_init(c, &s, id, &ch)) != CTL_OK)
		return rc;
	s.field = field;
	s.value = value;
	watch_key(&ch, s.hkey);
	ch.check = need_server;
	ch.queue = queue_hset;
	if ((rc = ctl_write(c, &ch, version)) == CTL_NOOP) {
		printf("%s: %s is already %s: nothing changed (version %"
		    PRIu64 ")\n", id, field, value, *version);
		return CTL_NOOP;
	}
	return rc;
}

static int
bad_weight(const char *w)
{
	char	*p = ctl_printable(w);
	int	 rc;

	rc = ctl_err(CTL_FAIL, "bad weight \"%s\" (an integer 0..1000000; "
	    "0 = no new uploads)", p ? p : "");
	free(p);
	return rc;
}

static int
note_existing(struct ctl *c, void *arg)
{
	struct srv	*s = arg;
	int		 rc;

	if ((rc = ctl_exists(c, KEY_SERVER, s->id, &s->existed)) != CTL_OK)
		return rc;
	/* A silent replace would undo a drain or a weight: say so. */
	if (s->existed && !s->replace)
		return ctl_err(CTL_FAIL, "server %s exists: add --replace "
		    "replaces its whole record (state and weight included)",
		    s->id);
	return CTL_OK;
}

static int
queue_add(struct ctl *c, void *arg)
{
	struct srv	*s = arg;

	/* Replace: no field of an older record survives. */
	if (ctl_queue(c, "DEL %s", s->hkey) == -1 ||
	    ctl_queue(c, "HSET %s url %s region %s weight %s state up",
	    s->hkey, s->url, s->region, s->weight) == -1 ||
	    ctl_queue(c, "SADD %s %s", s->skey, s->id) == -1)
		return -1;
	return 0;
}

int
cmd_add(struct ctl *c, int argc, char **argv)
{
	const char		*fields[] = { "url", "region", "weight", "state" };
	const char		*values[4];
	struct server_record	 rec;
	struct reject		 rej;
	struct ctl_change	 ch;
	struct srv		 s;
	uint64_t		 version;
	uint32_t		 w;
	char			 why[256];
	int			 rc, replace;

	replace = ctl_flag(&argc, argv, "--replace");
	ctl_dashdash(&argc, argv);
	if (argc != 4 && argc != 5)
		return ctl_usage_of(argv[0]);
	values[0] = argv[2];
	values[1] = argv[3];
	values[2] = argc == 5 ? argv[4] : "100";
	values[3] = "up";
	if ((rc = ctl_check_id(argv[1])) != CTL_OK)
		return rc;
	if (fleet_rec_weight(values[2], &w) != 0)
		return bad_weight(values[2]);
	if ((rc = ctl_check_region(c, values[1])) != CTL_OK)
		return rc;
	/* The whole record, as the daemon will read it. */
	memset(&rej, 0, sizeof(rej));
	if (ctl_server_check(c, argv[1], fields, values, 4, &rec, &rej) != 0) {
		ctl_reject_text(c, &rej, why, sizeof(why));
		return ctl_err(CTL_FAIL, "%s: %s", argv[1], why);
	}
	fleet_rec_record_free(&rec);

	if ((rc = ctl_connect(c)) != CTL_OK ||
	    (rc = srv_init(c, &s, argv[1], &ch)) != CTL_OK)
		return rc;
	s.url = values[0];
	s.region = values[1];
	s.weight = values[2];
	s.replace = replace;
	ch.check = note_existing;
	ch.queue = queue_add;
	watch_key(&ch, s.hkey);
	if ((rc = ctl_write(c, &ch, &version)) != CTL_OK)
		return rc;
	printf("%s: %s: url %s region %s weight %s state up (version %"
	    PRIu64 ")\n", s.id, s.existed ? "replaced" : "added", s.url,
	    s.region, s.weight, version);
	return CTL_OK;
}

int
cmd_weight(struct ctl *c, int argc, char **argv)
{
	uint64_t	version;
	uint32_t	w;
	int		rc;

	ctl_dashdash(&argc, argv);
	if (argc != 3)
		return ctl_usage_of(argv[0]);
	if ((rc = ctl_check_id(argv[1])) != CTL_OK)
		return rc;
	if (fleet_rec_weight(argv[2], &w) != 0)
		return bad_weight(argv[2]);
	if ((rc = set_field(c, argv[1], "weight", argv[2], &version)) !=
	    CTL_OK)
		return rc == CTL_NOOP ? CTL_OK : rc;
	printf("%s: weight %s (version %" PRIu64 ")\n", argv[1], argv[2],
	    version);
	return CTL_OK;
}

/* drain ID, undrain ID, down ID, and state ID STATE. */
int
cmd_state(struct ctl *c, int argc, char **argv)
{
	enum server_state	 st;
	const char		*value;
	uint64_t		 version;
	char			*p;
	int			 rc;

	ctl_dashdash(&argc, argv);
	if (strcmp(argv[0], "state") == 0) {
		if (argc != 3)
			return ctl_usage_of(argv[0]);
		value = argv[2];
	} else {
		if (argc != 2)
			return ctl_usage_of(argv[0]);
		value = strcmp(argv[0], "undrain") == 0 ? "up" : argv[0];
	}
	if ((rc = ctl_check_id(argv[1])) != CTL_OK)
		return rc;
	if (fleet_rec_state(value, &st) != 0) {
		p = ctl_printable(value);
		rc = ctl_err(CTL_FAIL, "bad state \"%s\" (up, drain or down)",
		    p ? p : "");
		free(p);
		return rc;
	}
	if ((rc = set_field(c, argv[1], "state", value, &version)) != CTL_OK)
		return rc == CTL_NOOP ? CTL_OK : rc;
	printf("%s: state %s (version %" PRIu64 ")\n", argv[1],
	    fleet_rec_state_name(st), version);
	return CTL_OK;
}

/* Inside the WATCH: the hash or the SET member must be there. */
static int
need_any(struct ctl *c, void *arg)
{
	struct srv	*s = arg;
	redisReply	*r;
	int		 rc, exists;

	if ((rc = ctl_exists(c, KEY_SERVER, s->id, &exists)) != CTL_OK)
		return rc;
	if (exists)
		return CTL_OK;
	if ((r = ctl_command(c, "SISMEMBER %s %s", s->skey, s->id)) == NULL)
		return CTL_REDIS;
	if (r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		return ctl_err(CTL_REDIS, "redis: SISMEMBER: unexpected reply");
	}
	exists = r->integer == 1;
	freeReplyObject(r);
	return exists ? CTL_OK : ctl_err(CTL_FAIL, "no such server: %s",
	    s->id);
}

static int
queue_remove(struct ctl *c, void *arg)
{
	struct srv	*s = arg;

	if (ctl_queue(c, "DEL %s", s->hkey) == -1 ||
	    ctl_queue(c, "SREM %s %s", s->skey, s->id) == -1 ||
	    ctl_queue(c, "DEL %s", s->lkey) == -1)
		return -1;
	return 0;
}

int
cmd_remove(struct ctl *c, int argc, char **argv)
{
	struct ctl_change	ch;
	struct srv		s;
	uint64_t		version;
	int			rc;

	ctl_dashdash(&argc, argv);
	if (argc != 2)
		return ctl_usage_of(argv[0]);
	if ((rc = ctl_check_id(argv[1])) != CTL_OK)
		return rc;
	if ((rc = ctl_connect(c)) != CTL_OK ||
	    (rc = srv_init(c, &s, argv[1], &ch)) != CTL_OK)
		return rc;
	watch_key(&ch, s.hkey);
	watch_key(&ch, s.skey);
	ch.check = need_any;
	ch.queue = queue_remove;
	if ((rc = ctl_write(c, &ch, &version)) != CTL_OK)
		return rc;
	printf("%s: removed (version %" PRIu64 ")\n", argv[1], version);
	return CTL_OK;
}
