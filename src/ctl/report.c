/*
 * report ID LOAD [--ttl SECONDS]: the agent's heartbeat,
 * SET P load:<id> <load> EX <ttl>.  No version bump, no publish.  An id
 * that is not in P servers is refused (a typo would otherwise report
 * into a key nobody reads); an agent whose ACL user may only SET its own
 * load key gets NOPERM for that check, and its report goes through.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define TTL_MAX	86400.0		/* as [redis] stale_after */

static int
known_server(struct ctl *c, const char *id)
{
	redisReply	*r;
	char		 skey[CTL_KEY_MAX];
	int		 rc;

	if (ctl_key(c, skey, sizeof(skey), KEY_SERVERS, NULL) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	r = redis_conn_command(c->rc, "SISMEMBER %s %s", skey, id);
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOPERM", 6) == 0) {
		freeReplyObject(r);
		return CTL_OK;
	}
	if ((rc = ctl_reply_error(c, r, "SISMEMBER")) != CTL_OK) {
		if (r != NULL)
			freeReplyObject(r);
		return rc;
	}
	rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? CTL_OK :
	    r->type == REDIS_REPLY_INTEGER ? ctl_err(CTL_FAIL, "no such "
	    "server: %s (not in %s): report refused", id, skey) :
	    ctl_err(CTL_REDIS, "redis: SISMEMBER: unexpected reply");
	freeReplyObject(r);
	return rc;
}

int
cmd_report(struct ctl *c, int argc, char **argv)
{
	redisReply	*r;
	const char	*ttls;
	char		 key[CTL_KEY_MAX], *p;
	double		 load, ttl;
	long long	 ms;
	int		 rc;

	if (ctl_option(&argc, argv, "--ttl", &ttls) == -1)
		return ctl_err(CTL_USAGE, "--ttl needs SECONDS");
	ctl_dashdash(&argc, argv);
	if (argc != 3)
		return ctl_usage_of(argv[0]);
	if ((rc = ctl_check_id(argv[1])) != CTL_OK)
		return rc;
	if (fleet_rec_load(argv[2], &load) != 0) {
		p = ctl_printable(argv[2]);
		rc = ctl_err(CTL_FAIL, "bad load \"%s\" (0 to 1 with at most "
		    "6 decimals: 0, 0.25, 1)", p ? p : "");
		free(p);
		return rc;
	}
	ttl = c->stale_after;
	if (ttls != NULL && (parse_duration(ttls, &ttl) != 0 || ttl <= 0 ||
	    ttl > TTL_MAX || llround(ttl * 1000) < 1)) {
		p = ctl_printable(ttls);
		rc = ctl_err(CTL_FAIL, "bad --ttl \"%s\" (seconds, more than "
		    "0, at most %.0f)", p ? p : "", TTL_MAX);
		free(p);
		return rc;
	}
	if (ctl_key(c, key, sizeof(key), KEY_LOAD, argv[1]) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if ((rc = ctl_connect(c)) != CTL_OK ||
	    (rc = known_server(c, argv[1])) != CTL_OK)
		return rc;
	ms = llround(ttl * 1000);
	if (ms % 1000 == 0)
		r = ctl_command(c, "SET %s %s EX %lld", key, argv[2], ms / 1000);
	else
		r = ctl_command(c, "SET %s %s PX %lld", key, argv[2], ms);
	if (r == NULL)
		return CTL_REDIS;
	freeReplyObject(r);
	printf("%s: load %s for %gs\n", argv[1], argv[2], (double)ms / 1000);
	return CTL_OK;
}
