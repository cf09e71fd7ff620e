/*
 * config_internal: private to the config module.  Only src/config.c,
 * src/config_read.c, src/config_value.c and src/config_keys.c include
 * it; everything else uses config.h.
 *
 * What the four files share: the raw file that step 1 (config_read.c)
 * builds and steps 2 and 3 read, the loader's state (struct ld), the key
 * specifications of step 2, the ASCII helpers, and the functions one
 * file lends the others.  Those functions keep their short names: they
 * are global only so that the files of this module can reach each other.
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

#define QUOTE_MAX		96	/* value bytes quoted in a message */

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
};

/* ---- small helpers: ASCII only, the locale must not change a config */

static inline int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

static inline void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (is_upper((unsigned char)*s))
			*s = *s - 'A' + 'a';
}

static inline void
str_upper(char *s)
{
	for (; *s != '\0'; s++)
		if (is_lower((unsigned char)*s))
			*s = *s - 'a' + 'A';
}

/* Printable ASCII without blanks: what a token or a path may hold. */
static inline int
is_visible_str(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static inline int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* An HTTP token (RFC 9110 5.6.2): header names and methods. */
static inline int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_alnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

static inline void *
grow1(void *v, size_t n, size_t size)
{
	if (n >= SIZE_MAX / size - 1)
		return NULL;
	return realloc(v, (n + 1) * size);
}

/* ---- step 2: keys and their types */

struct keyspec;
typedef int (*setter)(struct ld *, void *, const struct keyspec *,
    const struct rawkey *);

struct keyspec {
	const char	*name;
	setter		 set;
	size_t		 off;		/* of the field in the section's struct */
	double		 min, max;	/* numbers: the range */
	const char	*def;		/* NULL: no default */
	int		 flags;
};

#define K_LIST		0x01	/* may continue on indented lines */
#define K_REQUIRED	0x02	/* no default: the key must be there */
#define K_NONEMPTY	0x04	/* an empty value is an error */
#define K_NONNULL	0x08	/* strings: empty is "", not NULL */
#define K_POSITIVE	0x10	/* durations: > min, not >= min */

#define FIELD(base, ks, type)	((type *)(void *)((char *)(base) + (ks)->off))

/* config_read.c: messages, step 1, and the raw model */
const char	*quote(char *buf, size_t sz, const char *s);
int		 fail(struct ld *ld, int line, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
int		 oom(struct ld *ld);
int		 bad(struct ld *ld, const struct rawkey *k, int line,
		    const char *what, const char *val, const char *hint);
int		 empty(struct ld *ld, const struct rawkey *k, const char *hint);
char		*xstrdup(struct ld *ld, const char *s);
int		 lex_file(struct ld *ld);
void		 raw_free(struct ld *ld);
const struct rawsec *sec_at(const struct ld *ld, int line);
const struct rawsec *sec_kind(const struct ld *ld, const char *kind);
int		 key_line(const struct rawsec *rs, const char *name);
int		 item_line(const struct rawsec *rs, const char *name,
		    size_t idx);

/* config_value.c: value parsers and the setters of shared value types */
int		 parse_decimal(const char *s, int sign_ok, double *out);
const char	*scalar(struct ld *ld, const struct rawkey *k);
int		 get_items(struct ld *ld, const struct rawkey *k,
		    struct strlist *out, int **lines);
char		*join(struct ld *ld, const struct strlist *l, const char *sep);
int		 get_header(struct ld *ld, const struct keyspec *ks,
		    const struct rawkey *k, char **out);
int		 set_uint(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_u32(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_int(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_duration(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_size64(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_sizet(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_bool(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_path(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_word(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_cidrs(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_urlpath(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_fraction(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_header(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_tokens(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_origins(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_token_list(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_countries(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_continents(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_name(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);
int		 set_url(struct ld *ld, void *base,
		    const struct keyspec *ks, const struct rawkey *k);

/* config_keys.c: step 2, every section of the file through its keys */
int		 load_all(struct ld *ld);

/* config.c: paths relative to the config file's directory */
char		*abs_path(struct ld *ld, const char *p);

#endif
