/*
 * geo307ctl: the operator's and agent's tool on the Redis fleet (SPEC
 * sections 3 and 5).  Private to the tool: every value is validated with
 * the daemon's own code (fleet_rec, config, url), never with a copy.
 *
 * Exit codes: 0 done (a change that changes nothing included: it says
 * so), 1 refused (bad input, no such server or region), 2 usage (the
 * command line's form: unknown command or option, wrong arguments), 3
 * Redis unreachable, an error reply or a reply of the wrong shape.
 * Functions that fail print "geo307ctl: ..." on stderr themselves and
 * return the exit code to use.
 */
#ifndef GEO307_CTL_H
#define GEO307_CTL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "fleet_rec.h"
#include "redis_conn.h"

#define CTL_OK		0
#define CTL_FAIL	1	/* refused: bad input, no such server */
#define CTL_USAGE	2	/* the command line's form */
#define CTL_NOOP	100	/* a check's "nothing to change" (never an
				   exit status: ctl_write's caller says so
				   and exits 0) */
#define CTL_REDIS	3	/* Redis unreachable, failing or answering
				   what it cannot (SPEC 5) */

#define CTL_TIMEOUT	2.0	/* connect and command timeout, seconds */
#define CTL_RETRIES	8	/* EXECs aborted by a concurrent change */
#define CTL_RETRY_BASE	0.02	/* s; the pause before retry n is random
				   in [0, 2^n * base): at most ~5 s in all */
#define CTL_PREFIX_MAX	64	/* as [redis] prefix */
#define CTL_KEY_MAX	(CTL_PREFIX_MAX + 16 + NAME_MAX_LEN + 1)
#define CTL_DEFAULT_URL	"redis://127.0.0.1:6379/0"
#define CTL_URL_ENV	"GEO307_REDIS_URL"	/* the url without argv */
#define CTL_DEFAULT_TTL	15.0	/* [redis] stale_after's default */

struct ctl {
	const char	*cfgpath;	/* -c, or NULL */
	struct config	*cfg;		/* loaded from cfgpath, or NULL */
	const char	*redis_url;	/* --redis, or NULL */
	const char	*prefix;	/* --prefix, [redis] prefix or default */
	double		 stale_after;	/* report's default ttl */
	redisContext	*rc;		/* NULL until ctl_connect() */
	int		 noted;		/* the "needs -c" note is out */
	size_t		 queued;	/* commands inside MULTI so far */
};

/* One server as read from Redis, before and after validation. */
struct ctl_record {
	char		*id;
	int		 id_ok;		/* parse_is_name(id) */
	int		 in_set;	/* a member of P servers */
	size_t		 n;		/* hash fields */
	char		**fields;
	char		**values;
	int		 bad_bytes;	/* a field or value holds a NUL */
	char		*load;		/* P load:<id>, or NULL */
	long long	 ttl_ms;	/* its PTTL: -2 none, -1 no expiry */
	int		 valid;		/* the daemon would accept it */
	struct server_record rec;	/* when valid */
	int		 load_nul;	/* the load value holds a NUL */
	int		 load_ok;	/* load != NULL and well-formed */
	double		 loadv;		/* when load_ok */
	char		 why[160];	/* when not valid */
};

struct ctl_records {
	struct ctl_record *v;
	size_t		 n;
	int		 maintenance;	/* P maintenance exists */
	char		*maintenance_value;
	uint64_t	 version;
	char		**rnames;	/* P regions: fields */
	char		**rstates;	/* and values */
	size_t		 nregions;
};

/* main.c */
int	ctl_err(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	ctl_note_needs_config(struct ctl *c);
int	ctl_usage_of(const char *command);
int	ctl_flag(int *argc, char **argv, const char *name);
int	ctl_option(int *argc, char **argv, const char *name,
	    const char **value);
void	ctl_dashdash(int *argc, char **argv);
int	ctl_connect(struct ctl *c);
int	ctl_key(const struct ctl *c, char *buf, size_t len,
	    const char *suffix, const char *id);

/* call.c: one command; NULL after printing the error (exit 1). */
redisReply *ctl_command(struct ctl *c, const char *fmt, ...);
redisReply *ctl_vcommand(struct ctl *c, const char *fmt, va_list ap);
int	ctl_reply_error(struct ctl *c, redisReply *r, const char *what);
char	*ctl_printable(const char *s);	/* escaped copy for output */

/* check.c: the daemon's validation, or its grammar part without -c. */
int	ctl_check_id(const char *id);
int	ctl_check_region(struct ctl *c, const char *region);
int	ctl_server_check(struct ctl *c, const char *id,
	    const char *const *fields, const char *const *values, size_t n,
	    struct server_record *out, struct reject *rej);
void	ctl_reject_text(struct ctl *c, const struct reject *rej, char *buf,
	    size_t len);

/* fetch.c: reading records. */
int	ctl_fetch_all(struct ctl *c, struct ctl_records *out);
/* 0, CTL_FAIL on Redis errors; *found = 0 when neither hash nor member. */
int	ctl_fetch_one(struct ctl *c, const char *id, struct ctl_record *out,
	    int *found);
const char *ctl_field(const struct ctl_record *r, const char *name);
/* What an operator should know about it ("" if nothing). */
void	ctl_record_note(const struct ctl_record *r, char *buf, size_t len);
void	ctl_record_free(struct ctl_record *r);
void	ctl_records_free(struct ctl_records *rs);

/* write.c: an operator change, atomic with the version bump (SPEC 3). */
struct ctl_change {
	char		 watch[3][CTL_KEY_MAX];	/* keys to WATCH besides */
	size_t		 nwatch;		/* P version */
	/*
	 * After WATCH: 0 to go on, CTL_NOOP when the change would change
	 * nothing (no bump, no publish; *version is the current one), or
	 * an exit code (message printed).
	 */
	int		(*check)(struct ctl *, void *);
	/* Inside MULTI: queue the change with ctl_queue(); 0 or -1. */
	int		(*queue)(struct ctl *, void *);
	void		*arg;
	const char	*ids;		/* servers it touches, for the feed */
};
int	ctl_write(struct ctl *c, const struct ctl_change *ch,
	    uint64_t *version);
int	ctl_queue(struct ctl *c, const char *fmt, ...);
int	ctl_exists(struct ctl *c, const char *suffix, const char *id,
	    int *exists);

/* The commands: argv[0] is the command name. */
int	cmd_list(struct ctl *, int, char **);
int	cmd_show(struct ctl *, int, char **);
int	cmd_add(struct ctl *, int, char **);
int	cmd_weight(struct ctl *, int, char **);
int	cmd_state(struct ctl *, int, char **);	/* drain undrain down state */
int	cmd_remove(struct ctl *, int, char **);
int	cmd_region(struct ctl *, int, char **);	/* drain-/undrain-region */
int	cmd_maintenance(struct ctl *, int, char **);
int	cmd_report(struct ctl *, int, char **);
int	cmd_explain(struct ctl *, int, char **);
int	cmd_verify(struct ctl *, int, char **);

#endif
