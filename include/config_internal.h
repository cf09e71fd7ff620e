/*
 * config_internal: private to the config module (src/config*.c).
 *
 * What the files share: the raw file that the lexer (config_read.c)
 * builds, the loader's state (struct ld), the key table's entry (struct
 * key, the table itself is in config_keys.c), and the functions one file
 * lends the others.  Those keep short names: they are global only so
 * that the files of this module can reach each other.
 */
#ifndef GEO307_CONFIG_INTERNAL_H
#define GEO307_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "config.h"
#include "strlist.h"

#define QUOTE_MAX	96	/* value bytes quoted in a message */
#define QBUF		(QUOTE_MAX * 4 + 8)

/* ---- the raw file: sections, keys and value lines, with line numbers */

struct seg {
	char	*text;
	int	 line;
};

struct rawkey {
	char		*name;
	struct seg	*segs;		/* [0]: the key line; then continuations */
	size_t		 nsegs;
};

struct rawsec {
	char		*kind;		/* "listen", "region", ... */
	char		*name;		/* "eu-west" in [region eu-west], or NULL */
	int		 line;
	struct rawkey	*keys;
	size_t		 nkeys;
};

struct ld {
	const char	*path;
	char		*err;
	size_t		 errlen;
	int		 failed;
	char		*dir;		/* absolute directory of path, on demand */
	struct config	*cfg;
	char		 label[NAME_MAX_LEN + 16];	/* "[region eu-west]" */
	struct rawsec	*secs;
	size_t		 nsecs;
	const char	*text;		/* lex this instead of reading path */
	size_t		 textlen;
};

/* ---- the key table */

enum ktype {
	T_UINT, T_SIZE, T_DURATION, T_FRACTION, T_BOOL, T_CHOICE, T_PATH,
	T_WORD, T_URLPATH, T_HEADER, T_URL, T_NAME, T_REDIS_URL, T_ACCESS,
	T_ADMIN, T_LOCATION, T_SEED, T_LIST, T_SIGNKEYS
};

/* List items: what each one must be. */
enum kitem {
	I_NONE, I_CIDR, I_SECRET, I_ORIGIN, I_TOKEN, I_COUNTRY, I_CONTINENT,
	I_HOSTNAME, I_SENTINEL, I_REGION, I_LISTEN, I_HOSTPAT
};

enum reload {
	R_LIVE,		/* a SIGHUP applies it */
	R_RESTART,	/* read at start: a reload keeps the running value */
	R_SET_LIVE	/* live while set; setting or clearing it: restart */
};

struct key {
	const char		*sec;	/* "listen"; "region" for [region NAME] */
	const char		*name;
	enum ktype		 type;
	enum kitem		 item;
	size_t			 off, size;	/* the field; size: a number's */
	double			 min, max;
	const char		*def;		/* NULL: none */
	const char *const	*choices;	/* NULL-terminated */
	const int		*values;	/* of choices; NULL: char * */
	const char		*help;
	enum reload		 reload;
	int			 flags;
};

#define K_REQUIRED	0x01	/* no default: the key must be there */
#define K_NONEMPTY	0x02	/* an empty value is an error */
#define K_NONNULL	0x04	/* strings: empty is "", not NULL */
#define K_POSITIVE	0x08	/* durations: > min, not >= min */
#define K_UNIQUE	0x10	/* lists: an item listed twice is an error */
#define K_UPPER		0x20	/* lists: items upper-cased */
#define K_LOWER		0x40	/* lists: items lower-cased */

extern const struct key	config_keys[];
extern const size_t	config_nkeys;

#define FIELD(base, k)	((void *)((char *)(base) + (k)->off))

static inline void *
grow1(void *v, size_t n, size_t size)
{
	if (n >= SIZE_MAX / size - 1)
		return NULL;
	return realloc(v, (n + 1) * size);
}

/* config_read.c: messages, the lexer, and the raw model */
const char	*config_quote(char *buf, size_t sz, const char *s);
int		 config_fail(struct ld *ld, int line, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
int		 config_oom(struct ld *ld);
int		 config_bad(struct ld *ld, const struct rawkey *k, int line,
		    const char *what, const char *val, const char *hint);
char		*config_xstrdup(struct ld *ld, const char *s);
int		 config_lex_file(struct ld *ld);
void		 config_raw_free(struct ld *ld);
const struct rawsec *config_sec_at(const struct ld *ld, int line);
const struct rawsec *config_sec_kind(const struct ld *ld, const char *kind);
int		 config_key_line(const struct rawsec *rs, const char *name);
int		 config_item_line(const struct rawsec *rs, const char *name,
		    size_t idx);

/* config_value.c: one driver per type; fields by their store */
int		 config_value_set(struct ld *ld, const struct key *k, void *base,
		    const struct rawkey *rk);
int		 config_value_equal(const struct key *k, const void *a,
		    const void *b);
int		 config_value_copy(const struct key *k, void *dst, const void *src);
void		 config_value_free(const struct key *k, void *base);

/* config_keys.c: every section of the file through the table */
int		 config_load_all(struct ld *ld);

/* config.c: paths relative to the config file's directory */
char		*config_abs_path(struct ld *ld, const char *p);

#endif
