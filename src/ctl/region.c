/*
 * Fleet-wide switches: drain-region and undrain-region (P regions) and
 * maintenance on/off (P maintenance), written like every operator change.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct sw {
	char		 key[CTL_KEY_MAX];
	const char	*name;		/* region, or NULL */
	const char	*value;		/* NULL: DEL */
};

static int
queue_switch(struct ctl *c, void *arg)
{
	struct sw	*s = arg;

	if (s->name != NULL)
		return ctl_queue(c, "HSET %s %s %s", s->key, s->name, s->value);
	if (s->value != NULL)
		return ctl_queue(c, "SET %s %s", s->key, s->value);
	return ctl_queue(c, "DEL %s", s->key);
}

/* Inside the WATCH: is the switch already where it is to go? */
static int
check_switch(struct ctl *c, void *arg)
{
	struct sw	*s = arg;
	redisReply	*r;
	int		 same, a, b;

	if (s->name != NULL)
		r = ctl_command(c, "HGET %s %s", s->key, s->name);
	else
		r = ctl_command(c, "GET %s", s->key);
	if (r == NULL)
		return CTL_REDIS;
	if (s->name != NULL)	/* a region missing from P regions is up */
		same = fleet_rec_region_state(r->type == REDIS_REPLY_STRING ?
		    r->str : "up", &a) == 0 &&
		    fleet_rec_region_state(s->value, &b) == 0 && a == b;
	else if (s->value == NULL)
		same = r->type == REDIS_REPLY_NIL;
	else
		same = r->type == REDIS_REPLY_STRING &&
		    strcmp(r->str, s->value) == 0;
	freeReplyObject(r);
	return same ? CTL_NOOP : CTL_OK;
}

static int
write_switch(struct ctl *c, struct sw *s, uint64_t *version)
{
	struct ctl_change	ch;
	int			rc;

	if ((rc = ctl_connect(c)) != CTL_OK)
		return rc;
	memset(&ch, 0, sizeof(ch));
	ch.check = check_switch;
	snprintf(ch.watch[ch.nwatch++], sizeof(ch.watch[0]), "%s", s->key);
	ch.queue = queue_switch;
	ch.arg = s;
	return ctl_write(c, &ch, version);
}

int
cmd_region(struct ctl *c, int argc, char **argv)
{
	struct sw	s;
	uint64_t	version;
	int		rc, drained;

	ctl_dashdash(&argc, argv);
	if (argc != 2)
		return ctl_usage_of(argv[0]);
	if ((rc = ctl_check_region(c, argv[1])) != CTL_OK)
		return rc;
	memset(&s, 0, sizeof(s));
	s.name = argv[1];
	s.value = strcmp(argv[0], "drain-region") == 0 ? "drain" : "up";
	if (fleet_rec_region_state(s.value, &drained) != 0)
		return ctl_err(CTL_FAIL, "internal: region state %s", s.value);
	if (ctl_key(c, s.key, sizeof(s.key), KEY_REGIONS, NULL) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if ((rc = write_switch(c, &s, &version)) == CTL_NOOP) {
		printf("region %s is already %s: nothing changed (version %"
		    PRIu64 ")\n", argv[1], s.value, version);
		return CTL_OK;
	}
	if (rc != CTL_OK)
		return rc;
	printf("region %s: %s (version %" PRIu64 ")\n", argv[1],
	    drained ? "drain: new uploads go down its fallback list" : "up",
	    version);
	return CTL_OK;
}

int
cmd_maintenance(struct ctl *c, int argc, char **argv)
{
	struct sw	s;
	uint64_t	version;
	double		secs;
	char		*p;
	int		rc;

	ctl_dashdash(&argc, argv);
	memset(&s, 0, sizeof(s));
	if (argc == 3 && strcmp(argv[1], "on") == 0) {
		if (fleet_rec_maintenance(argv[2], &secs) != 0) {
			p = ctl_printable(argv[2]);
			rc = ctl_err(CTL_FAIL, "bad maintenance Retry-After "
			    "\"%s\" (whole seconds, 1..86400)", p ? p : "");
			free(p);
			return rc;
		}
		s.value = argv[2];
	} else if (!(argc == 2 && strcmp(argv[1], "off") == 0))
		return ctl_usage_of(argv[0]);
	if (ctl_key(c, s.key, sizeof(s.key), KEY_MAINT, NULL) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if ((rc = write_switch(c, &s, &version)) == CTL_NOOP) {
		printf("maintenance is already %s: nothing changed (version %"
		    PRIu64 ")\n", s.value != NULL ? "on with that Retry-After" :
		    "off", version);
		return CTL_OK;
	}
	if (rc != CTL_OK)
		return rc;
	if (s.value != NULL)
		printf("maintenance on: every request gets 503, Retry-After %s "
		    "(version %" PRIu64 ")\n", s.value, version);
	else
		printf("maintenance off (version %" PRIu64 ")\n", version);
	return CTL_OK;
}
