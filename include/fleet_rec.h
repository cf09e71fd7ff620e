/*
 * fleet_rec: the Redis schema of SPEC section 3 and the validation of its
 * records, shared by the daemon's Redis source and geo307ctl so that both
 * accept exactly the same values.
 */
#ifndef GEO307_FLEET_REC_H
#define GEO307_FLEET_REC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fleet.h"
#include "url.h"

/* Key names under the prefix P. */
#define KEY_SERVERS	"servers"	/* SET of ids */
#define KEY_SERVER	"server:"	/* HASH per id */
#define KEY_LOAD	"load:"		/* STRING with TTL per id */
#define KEY_REGIONS	"regions"	/* HASH region -> up|drain */
#define KEY_MAINT	"maintenance"	/* STRING: Retry-After seconds */
#define KEY_VERSION	"version"	/* STRING counter */
#define KEY_CHANGED	"changed"	/* pub/sub channel */
#define KEY_CHANGES	"changes"	/* STREAM: the change feed */
/* The feed is trimmed to about this many entries (XADD MAXLEN ~). */
#define FEED_MAXLEN	100000

enum reject_reason {
	REJECT_ID,		/* bad server id */
	REJECT_URL,		/* bad or foreign url */
	REJECT_REGION,		/* unknown or bad region */
	REJECT_WEIGHT,
	REJECT_STATE,
	REJECT_LOAD,
	REJECT_MISSING,		/* a required field is absent */
	REJECT_FIELD,		/* an unknown field in the hash */
	REJECT__COUNT
};

/* A validated server hash. */
struct server_record {
	char			 id[NAME_MAX_LEN + 1];
	struct server_url	 url;		/* owned */
	char			 region[NAME_MAX_LEN + 1];
	uint32_t		 weight;
	enum server_state	 state;
	unsigned		 families;	/* FLEET_FAMILY_* bits */
};

/* Rejection details: which field, which value (pointers into the input). */
struct reject {
	enum reject_reason	 reason;
	const char		*field;
	const char		*value;
	const char		*why;		/* a bad url: url_server_parse's */
};

const char *fleet_rec_reject_reason_name(enum reject_reason r);

/* Value grammars.  0 = valid. */
int	fleet_rec_weight(const char *s, uint32_t *out);	/* 0..1000000 */
int	fleet_rec_state(const char *s, enum server_state *out);
/* ^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$ */
int	fleet_rec_load(const char *s, double *out);
/* "up" or "drain" */
int	fleet_rec_region_state(const char *s, int *drained);
/* "4", "6" or "4 6" into FLEET_FAMILY_* bits. */
int	fleet_rec_families(const char *s, unsigned *out);
/* "4", "6" or "4 6" for FLEET_FAMILY_* bits. */
const char *fleet_rec_families_name(unsigned families);
/* Maintenance value: whole seconds 1..86400. */
int	fleet_rec_maintenance(const char *s, double *out);
/* P version: INCR's counter, digits only, 0..INT64_MAX. */
int	fleet_rec_version(const char *s, uint64_t *out);
const char *fleet_rec_state_name(enum server_state s);

/*
 * Validate one server hash given as n field/value pairs.  cfg supplies
 * the regions and the url policy ([redirect] allowed_hosts, allow_http,
 * [listen] public_names).  0 with *out filled (free with
 * fleet_rec_record_free), or -1 with *rej saying why.
 */
int	fleet_rec_server(const struct config *cfg, const char *id,
	    const char *const *fields, const char *const *values, size_t n,
	    struct server_record *out, struct reject *rej);
void	fleet_rec_record_free(struct server_record *r);

/*
 * A [server] section as the fields of a server hash, so that it goes
 * through fleet_rec_server like a Redis record (one validator).  wbuf
 * holds the weight's text.  Returns the number of pairs (at most 4).
 */
size_t	fleet_rec_conf_fields(const struct server_conf *sc,
	    const char *fields[4], const char *values[4], char wbuf[16]);

/* The url policy the config implies (for url_server_parse). */
void	fleet_rec_url_policy(const struct config *cfg, struct url_policy *pol);

/* "P" + suffix [+ id] into buf; -1 if it does not fit. */
int	fleet_rec_key(char *buf, size_t len, const char *prefix,
	    const char *suffix, const char *id);

#endif
