/*
 * config: the INI file of SPEC section 6, read strictly.
 *
 * Reading happens in three steps, so that the order of sections and keys
 * never matters and every message can name a line:
 *
 *  1. Lexing.  libinih parses the "key = value" lines, but through
 *     ini_parse_stream() with our own reader (lex_read), for three
 *     reasons.  Debian builds inih without INI_HANDLER_LINENO, so the
 *     handler learns no line numbers; a reader that hands out one line at
 *     a time knows which line the handler is looking at.  inih silently
 *     truncates section names to 49 bytes, and "[server ID]" can be 70,
 *     so the reader parses section headers itself.  And inih's line
 *     buffer is 200 bytes: it would split a longer line in two.  For a
 *     line that does not fit, the reader takes the value itself, by
 *     inih's rules (from the first '=' or ':', an inline comment cut,
 *     blanks trimmed), and hands inih the line without it; the handler
 *     then gets the real value.  A 4 KB server URL is a fine line.
 *
 *     Continuation lines: an indented line directly below a key line, or
 *     below another continuation line, continues that key's value, as in
 *     inih's own multi-line mode (comment lines in between are skipped, a
 *     blank line ends the value).  Only lists may continue (a long list
 *     reads better that way; under any other value an indented line is
 *     more likely a mistake, and is reported).  An indented line that reads
 *     "name = ..." (a name, a blank, '=') starts a key of its own, so
 *     indenting every key under its section header is fine.  The reader
 *     hands inih every line without its indentation, so inih's own
 *     multi-line mode never triggers.
 *
 *     Comments: lines whose first non-blank byte is ';' or '#', and
 *     inline from a ';' that follows a blank (inih's rules).
 *
 *  2. Interpretation, section by section in file order, each key through
 *     the parser of its type; keys that are absent get their default by
 *     going through the same parser.
 *
 *  3. Cross-checks that need the whole file: regions, defaults,
 *     fallbacks, servers against [redirect] and [listen], Redis.
 *
 * Relative paths ([geoip] database, [redis] cache_file, [listen] tls_cert
 * and tls_key, [log] access) are relative to the directory of the config
 * file as it was named (symbolic links are not followed), never to the
 * working directory, and are stored absolute: a reload must not depend on
 * where the process happens to be.
 *
 * Messages: "file:line: [section] key: what is wrong "value" (hint)",
 * or "file: what is wrong" for the file as a whole.  Only the first error
 * is reported.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "netaddr.h"
#include "strlist.h"
#include "url.h"

#define CONFIG_MAX_BYTES	(1024 * 1024)	/* a config, not a data file */
#define LISTEN_MAX		8	/* http.c serves at most this many */
#define DECIMAL_DIGITS		15	/* exact in a double */
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

struct lexer {
	struct ld	*ld;
	const char	*p, *end;
	int		 line;		/* of the line read last */
	int		 pending;	/* handed to inih, no handler call yet */
	int		 pending_indented;
	int		 can_continue;	/* last line was a key or continuation */
	char		*long_value;	/* the value of a line too long for inih */
};

/* ---- small helpers: ASCII only, the locale must not change a config */

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_alnum(int c)
{
	return is_digit(c) || is_upper(c) || is_lower(c);
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

static void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (is_upper((unsigned char)*s))
			*s = *s - 'A' + 'a';
}

static void
str_upper(char *s)
{
	for (; *s != '\0'; s++)
		if (is_lower((unsigned char)*s))
			*s = *s - 'a' + 'A';
}

/* Printable ASCII without blanks: what a token or a path may hold. */
static int
is_visible_str(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* An HTTP token (RFC 9110 5.6.2): header names and methods. */
static int
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

static void *
grow1(void *v, size_t n, size_t size)
{
	if (n >= SIZE_MAX / size - 1)
		return NULL;
	return realloc(v, (n + 1) * size);
}

/*
 * A value as it goes into a message: quotes, backslashes and control
 * bytes escaped (the message may end up in a terminal or a log), long
 * values cut.
 */
static const char *
quote(char *buf, size_t sz, const char *s)
{
	size_t	o = 0, i;
	unsigned char c;

	for (i = 0; s[i] != '\0' && o + 5 < sz; i++) {
		c = (unsigned char)s[i];
		if (i >= QUOTE_MAX) {
			snprintf(buf + o, sz - o, "...");
			return buf;
		}
		if (c == '"' || c == '\\')
			o += snprintf(buf + o, sz - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, sz - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* ---- errors: the first one wins */

static int __attribute__((format(printf, 3, 4)))
fail(struct ld *ld, int line, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (ld->failed)
		return -1;
	ld->failed = 1;
	if (ld->err == NULL || ld->errlen == 0)
		return -1;
	if (line > 0)
		n = snprintf(ld->err, ld->errlen, "%s:%d: ", ld->path, line);
	else
		n = snprintf(ld->err, ld->errlen, "%s: ", ld->path);
	if (n < 0 || (size_t)n >= ld->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ld->err + n, ld->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
oom(struct ld *ld)
{
	return fail(ld, 0, "out of memory");
}

/* "[listen] max_header_bytes: bad size "16Q" (hint)" */
static int
bad(struct ld *ld, const struct rawkey *k, int line, const char *what,
    const char *val, const char *hint)
{
	char	q[QUOTE_MAX * 4 + 8];

	return fail(ld, line, "%s %s: %s \"%s\"%s%s%s", ld->label, k->name,
	    what, quote(q, sizeof(q), val), hint != NULL ? " (" : "",
	    hint != NULL ? hint : "", hint != NULL ? ")" : "");
}

static int
empty(struct ld *ld, const struct rawkey *k, const char *hint)
{
	return fail(ld, k->segs[0].line, "%s %s: must not be empty (%s)",
	    ld->label, k->name, hint);
}

static char *
xstrdup(struct ld *ld, const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		oom(ld);
	return p;
}

/* ---- value parsers (config.h): shared with geo307ctl and Redis */

/*
 * [+-]digits[.digits], computed without strtod: strtod follows the
 * locale's decimal point and accepts inf, nan, hex and exponents.  At
 * most 15 significant digits, so the mantissa is exact and one division
 * by an exact power of ten gives the correctly rounded double.
 */
static int
parse_decimal(const char *s, int sign_ok, double *out)
{
	static const double	pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
		1e22
	};
	uint64_t	mant = 0;
	int		neg = 0, ndig = 0, nfrac = 0, frac = 0;

	if (s == NULL || out == NULL)
		return -1;
	if (sign_ok && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (!is_digit((unsigned char)*s))
		return -1;
	for (;; s++) {
		if (*s == '.' && !frac) {
			frac = 1;
			if (!is_digit((unsigned char)s[1]))
				return -1;
			continue;
		}
		if (!is_digit((unsigned char)*s))
			break;
		if (mant != 0 || *s != '0')
			ndig++;
		if (ndig > DECIMAL_DIGITS)
			return -1;
		mant = mant * 10 + (uint64_t)(*s - '0');
		if (frac && ++nfrac >= (int)(sizeof(pow10) / sizeof(pow10[0])))
			return -1;
	}
	if (*s != '\0')
		return -1;
	*out = (double)mant / pow10[nfrac];
	if (neg)
		*out = -*out;
	return 0;
}

int
parse_duration(const char *s, double *out)
{
	return parse_decimal(s, 0, out);
}

int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long	v = 0;
	unsigned		d;

	if (s == NULL || out == NULL || !is_digit((unsigned char)*s))
		return -1;
	for (; *s != '\0'; s++) {
		if (!is_digit((unsigned char)*s))
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
	unsigned long long	v;
	uint64_t		mult = 1;
	char			buf[32];
	size_t			len;

	if (s == NULL || out == NULL || (len = strlen(s)) == 0 ||
	    len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len + 1);
	switch (buf[len - 1]) {
	case 'K': case 'k':
		mult = UINT64_C(1) << 10;
		break;
	case 'M': case 'm':
		mult = UINT64_C(1) << 20;
		break;
	case 'G': case 'g':
		mult = UINT64_C(1) << 30;
		break;
	}
	if (mult != 1)
		buf[len - 1] = '\0';
	if (parse_uint(buf, UINT64_MAX / mult, &v) == -1)
		return -1;
	*out = (uint64_t)v * mult;
	return 0;
}

int
parse_bool(const char *s, int *out)
{
	static const char	*yes[] = { "yes", "true", "on", "1" };
	static const char	*no[] = { "no", "false", "off", "0" };
	size_t			 i;

	if (s == NULL || out == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
name_is_valid(const char *s)
{
	size_t	i;

	if (s == NULL || !is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (i >= NAME_MAX_LEN || (!is_alnum((unsigned char)s[i]) &&
		    s[i] != '.' && s[i] != '_' && s[i] != '-'))
			return 0;
	return 1;
}

int
config_region_index(const struct config *cfg, const char *name)
{
	size_t	i;

	if (cfg == NULL || name == NULL)
		return -1;
	for (i = 0; i < cfg->nregions; i++)
		if (strcmp(cfg->regions[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- step 1: lexing */

static struct rawkey *
last_key(struct ld *ld)
{
	struct rawsec	*rs;

	if (ld->nsecs == 0 || (rs = &ld->secs[ld->nsecs - 1])->nkeys == 0)
		return NULL;
	return &rs->keys[rs->nkeys - 1];
}

static int
add_seg(struct ld *ld, struct rawkey *k, const char *s, size_t len, int line)
{
	struct seg	*v;
	char		*text;

	if ((text = strndup(s, len)) == NULL)
		return oom(ld);
	if ((v = grow1(k->segs, k->nsegs, sizeof(*v))) == NULL) {
		free(text);
		return oom(ld);
	}
	k->segs = v;
	k->segs[k->nsegs].text = text;
	k->segs[k->nsegs++].line = line;
	return 0;
}

/*
 * inih's find_chars_or_comment(): the first byte of s..e in chars, or
 * the start of an inline comment (a ';' after a blank), or e.
 */
static const char *
find_chars_or_comment(const char *s, const char *e, const char *chars)
{
	int	was_blank = 0;

	for (; s < e; s++) {
		if ((chars != NULL && strchr(chars, *s) != NULL) ||
		    (was_blank && *s == ';'))
			break;
		was_blank = is_blank((unsigned char)*s);
	}
	return s;
}

/* A value as inih makes it: inline comment cut, blanks trimmed. */
static void
trim_value(const char **s, const char **e)
{
	*e = find_chars_or_comment(*s, *e, NULL);
	while (*s < *e && is_blank((unsigned char)**s))
		(*s)++;
	while (*e > *s && is_blank((unsigned char)(*e)[-1]))
		(*e)--;
}

/*
 * Does an indented line start a key ("name = ...") rather than continue
 * a list?  List items never hold a blank followed by '=', and a name
 * never holds anything but letters, digits and '_'.
 */
static int
looks_like_key(const char *s, const char *e)
{
	if (s == e || !(is_alnum((unsigned char)*s) || *s == '_'))
		return 0;
	while (s < e && (is_alnum((unsigned char)*s) || *s == '_'))
		s++;
	if (s == e || !is_blank((unsigned char)*s))
		return 0;
	while (s < e && is_blank((unsigned char)*s))
		s++;
	return s < e && *s == '=';
}

/* "[kind]" or "[kind name]"; s points at '[' and e at the line's end. */
static int
lex_section(struct lexer *lx, const char *s, const char *e)
{
	struct ld	*ld = lx->ld;
	struct rawsec	*v, *rs;
	const char	*close, *after, *k, *ke, *n, *ne;
	char		 q[QUOTE_MAX * 4 + 8], *line;

	close = memchr(s, ']', e - s);
	after = close != NULL ? close + 1 : e;
	while (after < e && is_blank((unsigned char)*after))
		after++;
	k = s + 1;
	while (close != NULL && k < close && is_blank((unsigned char)*k))
		k++;
	if (close == NULL || (after < e && *after != ';' && *after != '#') ||
	    k == close) {
		if ((line = strndup(s, e - s)) == NULL)
			return oom(ld);
		fail(ld, lx->line, "bad section header \"%s\" (expected "
		    "[section] or [section name])", quote(q, sizeof(q), line));
		free(line);
		return -1;
	}
	for (ke = k; ke < close && !is_blank((unsigned char)*ke); ke++)
		;
	for (n = ke; n < close && is_blank((unsigned char)*n); n++)
		;
	for (ne = close; ne > n && is_blank((unsigned char)ne[-1]); ne--)
		;
	if ((v = grow1(ld->secs, ld->nsecs, sizeof(*v))) == NULL)
		return oom(ld);
	ld->secs = v;
	rs = &ld->secs[ld->nsecs++];
	memset(rs, 0, sizeof(*rs));
	rs->line = lx->line;
	if ((rs->kind = strndup(k, ke - k)) == NULL ||
	    (n < ne && (rs->name = strndup(n, ne - n)) == NULL))
		return oom(ld);
	return 0;
}

static int
lex_continuation(struct lexer *lx, const char *s, const char *e)
{
	struct rawkey	*k;

	if ((k = last_key(lx->ld)) == NULL)
		return fail(lx->ld, lx->line, "continuation line without a key");
	trim_value(&s, &e);
	return add_seg(lx->ld, k, s, e - s, lx->line);
}

static void
lex_syntax_error(struct lexer *lx)
{
	if (lx->pending_indented)
		fail(lx->ld, lx->line, "syntax error: an indented line "
		    "continues a list only directly below it (a blank line "
		    "ends a value); expected \"key = value\"");
	else
		fail(lx->ld, lx->line, "syntax error: expected \"key = value\", "
		    "\"[section]\" or a comment");
}

/*
 * A key line longer than inih's buffer: keep its value aside and give
 * inih "name =" alone.  Returns the length of what goes to inih, or -1.
 */
static int
lex_long_line(struct lexer *lx, const char *s, const char *e, char *str,
    int num)
{
	const char	*sep, *v, *ve;

	sep = find_chars_or_comment(s, e, "=:");
	if (sep == e || *sep == ';') {
		lex_syntax_error(lx);
		return -1;
	}
	if ((size_t)(sep - s) + 3 > (size_t)num)
		return fail(lx->ld, lx->line, "line too long: a key name of "
		    "%zu bytes", (size_t)(sep - s));
	v = sep + 1;
	ve = e;
	trim_value(&v, &ve);
	if ((lx->long_value = strndup(v, ve - v)) == NULL)
		return oom(lx->ld);
	memcpy(str, s, sep - s + 1);
	return (int)(sep - s + 1);
}

/* The ini_reader: one line per call, see the comment at the top. */
static char *
lex_read(char *str, int num, void *stream)
{
	struct lexer	*lx = stream;
	const char	*s, *e, *eol;
	size_t		 len;
	int		 indented, n;

	for (;;) {
		if (lx->pending) {
			lx->pending = 0;
			lex_syntax_error(lx);
		}
		if (lx->ld->failed || lx->p >= lx->end)
			return NULL;
		if ((eol = memchr(lx->p, '\n', lx->end - lx->p)) == NULL)
			eol = lx->end;
		s = lx->p;
		e = eol;
		lx->p = eol < lx->end ? eol + 1 : eol;
		lx->line++;
		indented = s < e && is_blank((unsigned char)*s);
		while (s < e && is_blank((unsigned char)*s))
			s++;
		while (e > s && is_blank((unsigned char)e[-1]))
			e--;
		if (s == e) {
			lx->can_continue = 0;
			continue;
		}
		if (*s == ';' || *s == '#')
			continue;
		if (indented && lx->can_continue && !looks_like_key(s, e)) {
			if (lex_continuation(lx, s, e) == -1)
				return NULL;
			continue;
		}
		lx->can_continue = 0;
		if (*s == '[') {
			if (lex_section(lx, s, e) == -1)
				return NULL;
			continue;
		}
		len = e - s;
		lx->pending_indented = indented;
		if (num < 3) {
			fail(lx->ld, lx->line, "inih's line buffer is too small");
			return NULL;
		}
		/* The line, '\n' and NUL must fit, or inih splits it. */
		if (len > (size_t)num - 2) {
			if ((n = lex_long_line(lx, s, e, str, num)) == -1)
				return NULL;
			len = (size_t)n;
		} else
			memcpy(str, s, len);
		str[len] = '\n';
		str[len + 1] = '\0';
		lx->pending = 1;
		return str;
	}
}

/* The ini_handler.  inih's section argument is ignored (truncated). */
static int
lex_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct lexer	*lx = user;
	struct ld	*ld = lx->ld;
	struct rawsec	*rs;
	struct rawkey	*v, *k;
	char		 q[QUOTE_MAX * 4 + 8];

	(void)section;
	lx->pending = 0;
	if (lx->long_value != NULL)
		value = lx->long_value;
	if (ld->failed)
		return 0;
	if (ld->nsecs == 0) {
		fail(ld, lx->line, "key \"%s\" before any [section]",
		    quote(q, sizeof(q), name));
		return 0;
	}
	rs = &ld->secs[ld->nsecs - 1];
	if ((v = grow1(rs->keys, rs->nkeys, sizeof(*v))) == NULL) {
		oom(ld);
		return 0;
	}
	rs->keys = v;
	k = &rs->keys[rs->nkeys++];
	memset(k, 0, sizeof(*k));
	if ((k->name = strdup(name)) == NULL) {
		oom(ld);
		return 0;
	}
	if (add_seg(ld, k, value, strlen(value), lx->line) == -1)
		return 0;
	lx->can_continue = 1;
	return 1;
}

/* Whatever happened to the line, its long value is done with. */
static int
lex_handler_once(void *user, const char *section, const char *name,
    const char *value)
{
	struct lexer	*lx = user;
	int		 rc;

	rc = lex_handler(user, section, name, value);
	free(lx->long_value);
	lx->long_value = NULL;
	return rc;
}

static int
read_file(struct ld *ld, char **out, size_t *outlen)
{
	struct stat	 st;
	char		*buf = NULL, *nul;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, line;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(ld->path, O_RDONLY | O_CLOEXEC)) == -1)
		return fail(ld, 0, "%s", strerror(errno));
	if (fstat(fd, &st) == -1) {
		fail(ld, 0, "%s", strerror(errno));
		goto out;
	}
	/* Pipes are fine ("--check -c <(...)"); the read below is bounded. */
	if (S_ISDIR(st.st_mode)) {
		fail(ld, 0, "%s", strerror(EISDIR));
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > CONFIG_MAX_BYTES) {
		fail(ld, 0, "too large (more than %d bytes)", CONFIG_MAX_BYTES);
		goto out;
	}
	/* One byte more than allowed, to notice a file that grew. */
	if ((buf = malloc(CONFIG_MAX_BYTES + 2)) == NULL) {
		oom(ld);
		goto out;
	}
	while (len <= CONFIG_MAX_BYTES &&
	    (n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fail(ld, 0, "%s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_BYTES) {
		fail(ld, 0, "too large (more than %d bytes)", CONFIG_MAX_BYTES);
		goto out;
	}
	buf[len] = '\0';
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		for (line = 1; nul > buf; nul--)
			line += nul[-1] == '\n';
		fail(ld, line, "NUL byte: not a text file");
		goto out;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
out:
	free(buf);
	close(fd);
	return -1;
}

static int
lex_file(struct ld *ld)
{
	struct lexer	 lx;
	char		*buf;
	size_t		 len, skip = 0;
	int		 rc;

	if (read_file(ld, &buf, &len) == -1)
		return -1;
	/* A UTF-8 byte order mark (inih's rule; it never sees line one). */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		skip = 3;
	memset(&lx, 0, sizeof(lx));
	lx.ld = ld;
	lx.p = buf + skip;
	lx.end = buf + len;
	rc = ini_parse_stream(lex_read, &lx, lex_handler_once, &lx);
	free(lx.long_value);	/* inih never called back for it */
	free(buf);
	if (ld->failed)
		return -1;
	if (rc < 0)
		return oom(ld);
	if (rc > 0)	/* not expected: every inih error is caught above */
		return fail(ld, 0, "syntax error");
	return 0;
}

static void
raw_free(struct ld *ld)
{
	struct rawsec	*rs;
	size_t		 i, j, s;

	for (i = 0; i < ld->nsecs; i++) {
		rs = &ld->secs[i];
		for (j = 0; j < rs->nkeys; j++) {
			for (s = 0; s < rs->keys[j].nsegs; s++)
				free(rs->keys[j].segs[s].text);
			free(rs->keys[j].segs);
			free(rs->keys[j].name);
		}
		free(rs->keys);
		free(rs->kind);
		free(rs->name);
	}
	free(ld->secs);
	ld->secs = NULL;
	ld->nsecs = 0;
}

/* ---- raw model look-ups, for messages found after reading */

static const struct rawsec *
sec_at(const struct ld *ld, int line)
{
	size_t	i;

	for (i = 0; i < ld->nsecs; i++)
		if (ld->secs[i].line == line)
			return &ld->secs[i];
	return NULL;
}

static const struct rawsec *
sec_kind(const struct ld *ld, const char *kind)
{
	size_t	i;

	for (i = 0; i < ld->nsecs; i++)
		if (strcmp(ld->secs[i].kind, kind) == 0)
			return &ld->secs[i];
	return NULL;
}

static const struct rawkey *
sec_key(const struct rawsec *rs, const char *name)
{
	size_t	i;

	for (i = 0; rs != NULL && i < rs->nkeys; i++)
		if (strcmp(rs->keys[i].name, name) == 0)
			return &rs->keys[i];
	return NULL;
}

/* Line of a key, else of its section, else 0 (the file as a whole). */
static int
key_line(const struct rawsec *rs, const char *name)
{
	const struct rawkey	*k;

	if ((k = sec_key(rs, name)) != NULL)
		return k->segs[0].line;
	return rs != NULL ? rs->line : 0;
}

/* The line holding the idx-th item of a list value. */
static int
item_line(const struct rawsec *rs, const char *name, size_t idx)
{
	const struct rawkey	*k;
	struct strlist		 items;
	size_t			 i;
	int			 line;

	if ((k = sec_key(rs, name)) == NULL)
		return rs != NULL ? rs->line : 0;
	for (i = 0; i < k->nsegs; i++) {
		if (strlist_split(k->segs[i].text, &items) == -1)
			break;
		line = k->segs[i].line;
		if (idx < items.n) {
			strlist_free(&items);
			return line;
		}
		idx -= items.n;
		strlist_free(&items);
	}
	return k->segs[0].line;
}

static void
set_label(struct ld *ld, const char *kind, const char *name)
{
	char	q[QUOTE_MAX * 4 + 8];

	if (name != NULL)
		snprintf(ld->label, sizeof(ld->label), "[%s %s]", kind,
		    quote(q, sizeof(q), name));
	else
		snprintf(ld->label, sizeof(ld->label), "[%s]", kind);
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

/* The one value of a scalar key. */
static const char *
scalar(struct ld *ld, const struct rawkey *k)
{
	if (k->nsegs > 1) {
		fail(ld, k->segs[1].line, "%s %s: only lists may continue on "
		    "an indented line", ld->label, k->name);
		return NULL;
	}
	return k->segs[0].text;
}

/*
 * The items of a list key, over all its lines, and the line of each.
 * On failure both are left empty.
 */
static int
get_items(struct ld *ld, const struct rawkey *k, struct strlist *out,
    int **lines)
{
	struct strlist	 one;
	size_t		 i, j;
	int		*v, ok;

	memset(out, 0, sizeof(*out));
	*lines = NULL;
	for (i = 0; i < k->nsegs; i++) {
		if (strlist_split(k->segs[i].text, &one) == -1)
			goto fail;
		for (j = 0; j < one.n; j++) {
			if ((v = grow1(*lines, out->n, sizeof(*v))) == NULL)
				break;
			*lines = v;
			(*lines)[out->n] = k->segs[i].line;
			if (strlist_push(out, one.v[j]) == -1)
				break;
		}
		ok = j == one.n;
		strlist_free(&one);
		if (!ok)
			goto fail;
	}
	return 0;
fail:
	strlist_free(out);
	free(*lines);
	*lines = NULL;
	return oom(ld);
}

/* Items joined with sep: a header value, or a list for another parser. */
static char *
join(struct ld *ld, const struct strlist *l, const char *sep)
{
	size_t	 i, len = 1;
	char	*s;

	for (i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + strlen(sep);
	if ((s = malloc(len)) == NULL) {
		oom(ld);
		return NULL;
	}
	s[0] = '\0';
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, l->v[i]);
	}
	return s;
}

static int
get_uint(struct ld *ld, const struct keyspec *ks, const struct rawkey *k,
    unsigned long long *v)
{
	const char	*s;
	char		 hint[64];

	*v = 0;
	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (parse_uint(s, (unsigned long long)ks->max, v) == -1 ||
	    *v < (unsigned long long)ks->min) {
		snprintf(hint, sizeof(hint), "%.0f..%.0f", ks->min, ks->max);
		return bad(ld, k, k->segs[0].line, "bad integer", s, hint);
	}
	return 0;
}

static int
set_uint(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	unsigned long long	v;

	if (get_uint(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, unsigned) = (unsigned)v;
	return 0;
}

static int
set_u32(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	unsigned long long	v;

	if (get_uint(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, uint32_t) = (uint32_t)v;
	return 0;
}

static int
set_int(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	unsigned long long	v;

	if (get_uint(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, int) = (int)v;
	return 0;
}

static int
set_duration(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	char		 hint[96];
	double		 v;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (parse_duration(s, &v) == -1 || v < ks->min || v > ks->max ||
	    ((ks->flags & K_POSITIVE) && v <= ks->min)) {
		snprintf(hint, sizeof(hint), "seconds, like 10 or 0.5; %s %g, "
		    "at most %g", (ks->flags & K_POSITIVE) ? "more than" :
		    "at least", ks->min, ks->max);
		return bad(ld, k, k->segs[0].line, "bad duration", s, hint);
	}
	*FIELD(base, ks, double) = v;
	return 0;
}

static int
get_size(struct ld *ld, const struct keyspec *ks, const struct rawkey *k,
    uint64_t *v)
{
	const char	*s;
	char		 hint[96];

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (parse_size(s, v) == -1 || (double)*v < ks->min ||
	    (double)*v > ks->max) {
		snprintf(hint, sizeof(hint), "bytes with an optional K, M or "
		    "G; %.0f..%.0f", ks->min, ks->max);
		return bad(ld, k, k->segs[0].line, "bad size", s, hint);
	}
	return 0;
}

static int
set_size64(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	uint64_t	v;

	if (get_size(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, uint64_t) = v;
	return 0;
}

static int
set_sizet(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	uint64_t	v;

	if (get_size(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, size_t) = (size_t)v;
	return 0;
}

static int
set_bool(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (parse_bool(s, FIELD(base, ks, int)) == -1)
		return bad(ld, k, k->segs[0].line, "bad boolean", s,
		    "yes, no, true, false, on, off, 1 or 0");
	return 0;
}

/* The config file's directory, absolute: made once, when first needed. */
static int
make_dir(struct ld *ld)
{
	const char	*slash;
	char		*cwd, *dir;
	size_t		 dlen;

	slash = strrchr(ld->path, '/');
	if (slash == ld->path)
		return (ld->dir = xstrdup(ld, "/")) != NULL ? 0 : -1;
	dlen = slash != NULL ? (size_t)(slash - ld->path) : 0;
	if (dlen > 0 && ld->path[0] == '/') {
		if ((ld->dir = strndup(ld->path, dlen)) == NULL)
			return oom(ld);
		return 0;
	}
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return fail(ld, 0, "cannot resolve relative paths: getcwd: %s",
		    strerror(errno));
	if (dlen == 0 || (dlen == 1 && ld->path[0] == '.'))
		dir = strdup(cwd);
	else if (asprintf(&dir, "%s%s%.*s", cwd, strcmp(cwd, "/") == 0 ?
	    "" : "/", (int)dlen, ld->path) == -1)
		dir = NULL;
	free(cwd);
	if (dir == NULL)
		return oom(ld);
	ld->dir = dir;
	return 0;
}

static char *
abs_path(struct ld *ld, const char *p)
{
	char	*out;

	if (p[0] == '/')
		return xstrdup(ld, p);
	if (ld->dir == NULL && make_dir(ld) == -1)
		return NULL;
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (asprintf(&out, "%s%s%s", ld->dir,
	    strcmp(ld->dir, "/") == 0 ? "" : "/", p) == -1) {
		oom(ld);
		return NULL;
	}
	return out;
}

/* A path: empty means NULL (unless required), relative means ours. */
static int
set_path(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	char		**field = FIELD(base, ks, char *);

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0') {
		if (ks->flags & K_NONEMPTY)
			return empty(ld, k, "a file name");
		return 0;
	}
	if (has_control(s))
		return bad(ld, k, k->segs[0].line, "bad path", s,
		    "control characters");
	if ((*field = abs_path(ld, s)) == NULL)
		return -1;
	return 0;
}

/* An optional plain string; empty means NULL.  No blanks inside. */
static int
set_word(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	char		**field = FIELD(base, ks, char *);

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (!is_visible_str(s) || strlen(s) > (size_t)ks->max)
		return bad(ld, k, k->segs[0].line, "bad value", s,
		    "printable, no blanks, not too long");
	if (s[0] == '\0' && !(ks->flags & K_NONNULL))
		return 0;
	return (*field = xstrdup(ld, s)) != NULL ? 0 : -1;
}

static int
set_cidrs(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct cidr_list	*field = FIELD(base, ks, struct cidr_list);
	struct strlist		 items;
	struct cidr		 c;
	size_t			 i;
	int			*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		if (cidr_parse(items.v[i], &c) == -1)
			rc = bad(ld, k, lines[i], "bad address or CIDR",
			    items.v[i], "like 10.0.0.0/8 or ::1/128");
		else if (cidr_list_push(field, &c) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

static int
parse_hostport(struct ld *ld, const struct rawkey *k, int line,
    const char *s, struct listen_addr *out)
{
	if (sockaddr_parse_hostport(s, &out->sa, &out->salen) == -1)
		return bad(ld, k, line, "bad address", s,
		    "IP:port, [IPv6]:port or *:port; no host names");
	if (strlen(s) >= sizeof(out->text))
		return bad(ld, k, line, "bad address", s, "too long");
	memcpy(out->text, s, strlen(s) + 1);
	return 0;
}

static int
same_sockaddr(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

static int
set_listen(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config	*cfg = base;
	struct strlist	 items;
	size_t		 i, j;
	int		*lines, rc = 0;

	(void)ks;
	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	if (items.n == 0)
		rc = empty(ld, k, "at least one IP:port");
	else if (items.n > LISTEN_MAX)
		rc = fail(ld, lines[LISTEN_MAX], "%s %s: more than %d "
		    "addresses", ld->label, k->name, LISTEN_MAX);
	else if ((cfg->listen.addrs = calloc(items.n,
	    sizeof(*cfg->listen.addrs))) == NULL)
		rc = oom(ld);
	for (i = 0; i < items.n && rc == 0; i++) {
		rc = parse_hostport(ld, k, lines[i], items.v[i],
		    &cfg->listen.addrs[i]);
		for (j = 0; j < i && rc == 0; j++)
			if (same_sockaddr(&cfg->listen.addrs[i],
			    &cfg->listen.addrs[j]))
				rc = bad(ld, k, lines[i], "address listed "
				    "twice", items.v[i], NULL);
		cfg->listen.naddrs = i + 1;
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/*
 * Our own names, with an optional port: checked with the server URL
 * parser, so that the loop check compares names the same way.
 */
static int
set_public_names(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist		*field = FIELD(base, ks, struct strlist);
	struct strlist		 items;
	struct server_url	 u;
	const char		*why;
	char			*url;
	size_t			 i;
	int			*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		str_lower(items.v[i]);
		if (asprintf(&url, "https://%s", items.v[i]) == -1) {
			rc = oom(ld);
			break;
		}
		if (strpbrk(items.v[i], "/?#@") != NULL ||
		    server_url_parse(url, NULL, &u, &why) == -1)
			rc = bad(ld, k, lines[i], "bad host name", items.v[i],
			    "a DNS name or IP address, optionally with :port");
		else
			server_url_free(&u);
		free(url);
		if (rc == 0 && strlist_push(field, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/* [admin] address: one address, or empty for no admin listener. */
static int
set_admin(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config	*cfg = base;
	const char	*s;

	(void)ks;
	if ((s = scalar(ld, k)) == NULL)
		return -1;
	cfg->admin.enabled = s[0] != '\0';
	if (!cfg->admin.enabled)
		return 0;
	return parse_hostport(ld, k, k->segs[0].line, s, &cfg->admin.addr);
}

/* health_path and [lookup] prefix: "/x" or "/x/y", never "/" or "/x/". */
static int
set_urlpath(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	char		**field = FIELD(base, ks, char *);

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return 0;
	if (s[0] != '/' || s[strlen(s) - 1] == '/' || !is_visible_str(s) ||
	    strpbrk(s, "?#") != NULL || strlen(s) > 256)
		return bad(ld, k, k->segs[0].line, "bad path", s, "empty, or "
		    "starting with '/' and not ending with '/'; no '?' or '#'");
	return (*field = xstrdup(ld, s)) != NULL ? 0 : -1;
}

/*
 * Only a light check: a later module connects.  rediss:// is refused
 * because hiredis 0.14 has no TLS, so it would silently mean plain text.
 */
static int
set_redis_url(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	char		**field = FIELD(base, ks, char *);

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return 0;
	if (strncasecmp(s, "rediss://", 9) == 0)
		return bad(ld, k, k->segs[0].line, "bad url", s, "no TLS with "
		    "hiredis 0.14: use a private network or stunnel");
	if (!is_visible_str(s) ||
	    !((strncasecmp(s, "redis://", 8) == 0 && s[8] != '\0' &&
	    s[8] != '/') || (strncasecmp(s, "unix:", 5) == 0 && s[5] == '/')))
		return bad(ld, k, k->segs[0].line, "bad url", s,
		    "redis://host:port/db or unix:/path/to/redis.sock");
	return (*field = xstrdup(ld, s)) != NULL ? 0 : -1;
}

/* host:port items; host names are fine here (Sentinel hands out names). */
static int
set_sentinels(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist		*field = FIELD(base, ks, struct strlist);
	struct strlist		 items;
	unsigned long long	 port;
	const char		*colon;
	size_t			 i;
	int			*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		colon = strrchr(items.v[i], ':');
		if (colon == NULL || colon == items.v[i] ||
		    parse_uint(colon + 1, 65535, &port) == -1 || port == 0 ||
		    !is_visible_str(items.v[i]))
			rc = bad(ld, k, lines[i], "bad address", items.v[i],
			    "host:port");
		else if (strlist_push(field, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

static int
set_status(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strcmp(s, "307") != 0 && strcmp(s, "308") != 0)
		return bad(ld, k, k->segs[0].line, "bad status", s,
		    "307 or 308");
	*FIELD(base, ks, int) = s[2] == '7' ? 307 : 308;
	return 0;
}

/* Each item is checked alone first, so that the message can name it. */
static int
set_allowed_hosts(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config		*cfg = base;
	struct host_patterns	 one;
	struct strlist		 items;
	char			*all = NULL;
	size_t			 i;
	int			*lines, rc = 0;

	(void)ks;
	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		if (host_patterns_parse(items.v[i], &one) == -1)
			rc = bad(ld, k, lines[i], "bad host pattern",
			    items.v[i], "a name, *.suffix or a CIDR");
		else
			host_patterns_free(&one);
	}
	if (rc == 0 && (all = join(ld, &items, " ")) == NULL)
		rc = -1;
	if (rc == 0 && host_patterns_parse(all,
	    &cfg->redirect.allowed_hosts) == -1)
		rc = oom(ld);
	if (rc == 0)
		cfg->redirect.has_allowed_hosts = items.n > 0;
	free(all);
	strlist_free(&items);
	free(lines);
	return rc;
}

static int
set_fraction(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	double		 v;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (parse_decimal(s, 0, &v) == -1 || v >= 1)
		return bad(ld, k, k->segs[0].line, "bad fraction", s,
		    "at least 0 and less than 1, like 0.10");
	*FIELD(base, ks, double) = v;
	return 0;
}

static int
set_seed(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config		*cfg = base;
	unsigned long long	 v;
	const char		*s;

	(void)ks;
	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return 0;
	if (parse_uint(s, UINT64_MAX, &v) == -1)
		return bad(ld, k, k->segs[0].line, "bad seed", s,
		    "an integer 0..18446744073709551615, or empty");
	cfg->selection.has_seed = 1;
	cfg->selection.seed = (uint64_t)v;
	return 0;
}

/* A header name, lower-cased; optional unless K_REQUIRED. */
static int
get_header(struct ld *ld, const struct keyspec *ks, const struct rawkey *k,
    char **out)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0') {
		if (ks->flags & K_NONEMPTY)
			return empty(ld, k, "a header name");
		return 0;
	}
	if (!is_token(s) || strlen(s) > 128)
		return bad(ld, k, k->segs[0].line, "bad header name", s,
		    "an HTTP token like x-forwarded-for");
	if ((*out = xstrdup(ld, s)) == NULL)
		return -1;
	str_lower(*out);
	return 0;
}

static int
set_header(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	return get_header(ld, ks, k, FIELD(base, ks, char *));
}

/* The header's name says how to read it. */
static int
set_trust_header(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct config	*cfg = base;
	const char	*h, *xff = "forwarded-for";
	size_t		 len;

	if (get_header(ld, ks, k, &cfg->trust.header) == -1)
		return -1;
	h = cfg->trust.header;
	len = strlen(h);
	if (strcmp(h, "forwarded") == 0)
		cfg->trust.kind = TRUST_FORWARDED;
	else if (len >= strlen(xff) && strcmp(h + len - strlen(xff), xff) == 0)
		cfg->trust.kind = TRUST_XFF;
	else
		cfg->trust.kind = TRUST_SINGLE;
	return 0;
}

/* Tokens travel in a header: printable ASCII, no blanks. */
static int
set_tokens(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist	*field = FIELD(base, ks, struct strlist);
	struct strlist	 items;
	size_t		 i;
	int		*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		/* Never echo a secret: the message names the line only. */
		if (!is_visible_str(items.v[i]) || strlen(items.v[i]) > 256)
			rc = fail(ld, lines[i], "%s %s: bad token (printable "
			    "ASCII, at most 256 bytes)", ld->label, k->name);
		else if (strlist_push(field, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/*
 * "*" or scheme://host[:port], lower-cased: browsers send Origin in
 * lower case and respond.c compares bytes.
 */
static int
origin_valid(const char *s)
{
	struct server_url	 u;
	const char		*rest, *why;
	char			*url;
	int			 ok;

	if (strcmp(s, "*") == 0)
		return 1;
	if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else
		return 0;
	if (rest[0] == '\0' || strpbrk(rest, "/?#@") != NULL ||
	    asprintf(&url, "https://%s", rest) == -1)
		return 0;
	ok = server_url_parse(url, NULL, &u, &why) == 0;
	server_url_free(&u);
	free(url);
	return ok;
}

static int
set_origins(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist	*field = FIELD(base, ks, struct strlist);
	struct strlist	 items;
	size_t		 i;
	int		*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		str_lower(items.v[i]);
		if (!origin_valid(items.v[i]))
			rc = bad(ld, k, lines[i], "bad origin", items.v[i],
			    "* or https://host[:port], no path");
		else if (strlist_push(field, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/* A list of HTTP tokens, joined ", " as a response header wants it. */
static int
set_token_list(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist	 items;
	size_t		 i;
	int		*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++)
		if (!is_token(items.v[i]))
			rc = bad(ld, k, lines[i], "bad name", items.v[i],
			    "an HTTP token");
	if (rc == 0 && (*FIELD(base, ks, char *) = join(ld, &items, ", ")) ==
	    NULL)
		rc = -1;
	strlist_free(&items);
	free(lines);
	return rc;
}

static int
set_mode(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strcmp(s, "hash") != 0 && strcmp(s, "embedded") != 0)
		return bad(ld, k, k->segs[0].line, "bad mode", s,
		    "hash or embedded");
	return (*FIELD(base, ks, char *) = xstrdup(ld, s)) != NULL ? 0 : -1;
}

static int
set_log_access(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return empty(ld, k, "stdout, off or a path");
	if (strcmp(s, "off") == 0)
		return 0;
	/* "stderr" would quietly become a file of that name: refuse it. */
	if (strcmp(s, "stderr") == 0 || strcmp(s, "-") == 0)
		return bad(ld, k, k->segs[0].line, "bad value", s,
		    "stdout, off or a path");
	if (strcmp(s, "stdout") == 0)
		return (*FIELD(base, ks, char *) = xstrdup(ld, s)) != NULL ?
		    0 : -1;
	return set_path(ld, base, ks, k);
}

static int
set_log_format(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strcmp(s, "json") != 0 && strcmp(s, "combined") != 0)
		return bad(ld, k, k->segs[0].line, "bad format", s,
		    "json or combined");
	*FIELD(base, ks, int) = strcmp(s, "json") == 0;
	return 0;
}

/* [region] location = lat, lon */
static int
set_location(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct region_conf	*rc = base;
	struct strlist		 items;
	const char		*s;
	double			 lat, lon;
	int			 ok;

	(void)ks;
	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (strlist_split(s, &items) == -1)
		return oom(ld);
	ok = items.n == 2 && parse_decimal(items.v[0], 1, &lat) == 0 &&
	    parse_decimal(items.v[1], 1, &lon) == 0 &&
	    lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;
	strlist_free(&items);
	if (!ok)
		return bad(ld, k, k->segs[0].line, "bad location", s,
		    "latitude, longitude in degrees: -90..90, -180..180");
	rc->has_location = 1;
	rc->lat = lat;
	rc->lon = lon;
	return 0;
}

static int
set_countries(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct strlist	*field = FIELD(base, ks, struct strlist);
	struct strlist	 items;
	const char	*c;
	size_t		 i;
	int		*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		str_upper(items.v[i]);
		c = items.v[i];
		if (strlen(c) != 2 || !is_upper((unsigned char)c[0]) ||
		    !is_upper((unsigned char)c[1]))
			rc = bad(ld, k, lines[i], "bad country", c,
			    "ISO 3166 alpha-2, like GB");
		else if (strlist_contains(field, c))
			rc = bad(ld, k, lines[i], "country listed twice", c,
			    NULL);
		else if (strlist_push(field, c) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

static int
set_continents(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	static const char	*all[] = { "AF", "AN", "AS", "EU", "NA", "OC",
				    "SA" };
	struct strlist		*field = FIELD(base, ks, struct strlist);
	struct strlist		 items;
	size_t			 i, j;
	int			*lines, rc = 0;

	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		str_upper(items.v[i]);
		for (j = 0; j < sizeof(all) / sizeof(all[0]); j++)
			if (strcmp(items.v[i], all[j]) == 0)
				break;
		if (j == sizeof(all) / sizeof(all[0]))
			rc = bad(ld, k, lines[i], "bad continent", items.v[i],
			    "AF AN AS EU NA OC SA");
		else if (strlist_contains(field, items.v[i]))
			rc = bad(ld, k, lines[i], "continent listed twice",
			    items.v[i], NULL);
		else if (strlist_push(field, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/* Names only here: whether they exist is known after the whole file. */
static int
set_fallback(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	struct region_conf	*r = base;
	struct strlist		 items;
	size_t			 i;
	int			*lines, rc = 0;

	(void)ks;
	if (get_items(ld, k, &items, &lines) == -1)
		return -1;
	for (i = 0; i < items.n && rc == 0; i++) {
		if (!name_is_valid(items.v[i]))
			rc = bad(ld, k, lines[i], "bad region name",
			    items.v[i], NULL);
		else if (strcmp(items.v[i], r->name) == 0)
			rc = bad(ld, k, lines[i], "a region cannot fall back "
			    "to itself", items.v[i], NULL);
		else if (strlist_contains(&r->fallback, items.v[i]))
			rc = bad(ld, k, lines[i], "region listed twice",
			    items.v[i], NULL);
		else if (strlist_push(&r->fallback, items.v[i]) == -1)
			rc = oom(ld);
	}
	strlist_free(&items);
	free(lines);
	return rc;
}

/* [server] region: a name; whether it exists is checked at the end. */
static int
set_name(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;
	char		*field = FIELD(base, ks, char);

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (!name_is_valid(s))
		return bad(ld, k, k->segs[0].line, "bad region name", s,
		    "letters, digits, '.', '_', '-'; at most 63");
	memcpy(field, s, strlen(s) + 1);
	return 0;
}

static int
set_url(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	const char	*s;

	if ((s = scalar(ld, k)) == NULL)
		return -1;
	if (s[0] == '\0')
		return empty(ld, k, "an https:// URL");
	return (*FIELD(base, ks, char *) = xstrdup(ld, s)) != NULL ? 0 : -1;
}

#define CFG(m)	offsetof(struct config, m)
#define RGN(m)	offsetof(struct region_conf, m)
#define SRV(m)	offsetof(struct server_conf, m)
#define DAY	86400.0
#define KEYS(a)	(a), sizeof(a) / sizeof((a)[0])

static const struct keyspec listen_keys[] = {
	{ "address", set_listen, 0, 0, 0, "0.0.0.0:8307", K_LIST },
	{ "public_names", set_public_names, CFG(listen.public_names), 0, 0,
	    "", K_LIST },
	{ "threads", set_uint, CFG(listen.threads), 0, 1024, "0", 0 },
	{ "max_connections", set_uint, CFG(listen.max_connections), 1,
	    1000000, "10000", 0 },
	{ "per_ip_connections", set_uint, CFG(listen.per_ip_connections), 0,
	    1000000, "256", 0 },
	{ "header_timeout", set_duration, CFG(listen.header_timeout), 0, 3600,
	    "10", K_POSITIVE },
	{ "keepalive_timeout", set_duration, CFG(listen.keepalive_timeout),
	    0, DAY, "75", K_POSITIVE },
	{ "max_header_bytes", set_sizet, CFG(listen.max_header_bytes), 1024,
	    1048576, "16K", 0 },
	{ "health_path", set_urlpath, CFG(listen.health_path), 0, 0, "", 0 },
	{ "shutdown_delay", set_duration, CFG(listen.shutdown_delay), 0,
	    3600, "0", 0 },
	{ "shutdown_grace", set_duration, CFG(listen.shutdown_grace), 0,
	    3600, "10", 0 },
	{ "tls_cert", set_path, CFG(listen.tls_cert), 0, 0, "", 0 },
	{ "tls_key", set_path, CFG(listen.tls_key), 0, 0, "", 0 },
};

static const struct keyspec linger_keys[] = {
	{ "max_bytes", set_size64, CFG(linger.max_bytes), 0,
	    1099511627776.0, "256M", 0 },
	{ "idle", set_duration, CFG(linger.idle), 0, 3600, "10", K_POSITIVE },
	{ "max_time", set_duration, CFG(linger.max_time), 0, DAY, "300",
	    K_POSITIVE },
	{ "max_connections", set_uint, CFG(linger.max_connections), 0,
	    1000000, "10000", 0 },
	{ "per_ip", set_uint, CFG(linger.per_ip), 0, 1000000, "16", 0 },
};

static const struct keyspec admin_keys[] = {
	{ "address", set_admin, 0, 0, 0, "127.0.0.1:9307", 0 },
	{ "allow", set_cidrs, CFG(admin.allow), 0, 0, "127.0.0.1/32, ::1/128",
	    K_LIST },
};

static const struct keyspec geoip_keys[] = {
	{ "database", set_path, CFG(geoip.database), 0, 0,
	    "/var/lib/GeoIP/GeoLite2-City.mmdb", K_NONEMPTY },
};

static const struct keyspec redis_keys[] = {
	{ "url", set_redis_url, CFG(redis.url), 0, 0, "", 0 },
	{ "sentinels", set_sentinels, CFG(redis.sentinels), 0, 0, "",
	    K_LIST },
	{ "master", set_word, CFG(redis.master), 0, 128, "", 0 },
	{ "prefix", set_word, CFG(redis.prefix), 0, 64, "geo307:",
	    K_NONNULL },
	{ "refresh", set_duration, CFG(redis.refresh), 0, 3600, "1",
	    K_POSITIVE },
	{ "full_resync", set_duration, CFG(redis.full_resync), 0, DAY, "10",
	    K_POSITIVE },
	{ "stale_after", set_duration, CFG(redis.stale_after), 0, DAY, "15",
	    K_POSITIVE },
	{ "cache_file", set_path, CFG(redis.cache_file), 0, 0,
	    "/var/lib/geo307/fleet.cache", 0 },
	{ "cache_max_age", set_duration, CFG(redis.cache_max_age), 0,
	    365 * DAY, "86400", 0 },
};

static const struct keyspec redirect_keys[] = {
	{ "status", set_status, CFG(redirect.status), 0, 0, "307", 0 },
	{ "retry_after", set_duration, CFG(redirect.retry_after), 0, DAY,
	    "30", 0 },
	{ "allowed_hosts", set_allowed_hosts, 0, 0, 0, "", K_LIST },
	{ "allow_http", set_bool, CFG(redirect.allow_http), 0, 0, "no", 0 },
};

static const struct keyspec selection_keys[] = {
	{ "spill_below", set_fraction, CFG(selection.spill_below), 0, 0,
	    "0.10", 0 },
	{ "slow_start", set_duration, CFG(selection.slow_start), 0, DAY, "0",
	    0 },
	{ "seed", set_seed, 0, 0, 0, "", 0 },
};

static const struct keyspec trust_keys[] = {
	{ "proxies", set_cidrs, CFG(trust.proxies), 0, 0, "", K_LIST },
	{ "header", set_trust_header, CFG(trust.header), 0, 0,
	    "x-forwarded-for", K_NONEMPTY },
};

static const struct keyspec synthetic_keys[] = {
	{ "tokens", set_tokens, CFG(synthetic.tokens), 0, 0, "", K_LIST },
};

static const struct keyspec lookup_keys[] = {
	{ "prefix", set_urlpath, CFG(lookup.prefix), 0, 0, "", 0 },
};

static const struct keyspec cors_keys[] = {
	{ "allow_origins", set_origins, CFG(cors.allow_origins), 0, 0, "",
	    K_LIST },
	{ "allow_methods", set_token_list, CFG(cors.allow_methods), 0, 0,
	    "GET, HEAD, POST, PUT, PATCH, DELETE", K_LIST },
	{ "allow_headers", set_token_list, CFG(cors.allow_headers), 0, 0,
	    "Content-Type, Upload-Id, Upload-Length, Upload-Offset, "
	    "Upload-Metadata, Tus-Resumable", K_LIST },
	{ "max_age", set_uint, CFG(cors.max_age), 0, DAY, "600", 0 },
};

static const struct keyspec affinity_keys[] = {
	{ "header", set_header, CFG(affinity.header), 0, 0, "", 0 },
	{ "mode", set_mode, CFG(affinity.mode), 0, 0, "hash", 0 },
	{ "path_segment", set_int, CFG(affinity.path_segment), 0, 64, "0",
	    0 },
};

static const struct keyspec log_keys[] = {
	{ "access", set_log_access, CFG(log.access), 0, 0, "stdout", 0 },
	{ "format", set_log_format, CFG(log.format_json), 0, 0, "json", 0 },
	{ "log_query", set_bool, CFG(log.log_query), 0, 0, "no", 0 },
};

static const struct keyspec metrics_keys[] = {
	{ "per_server", set_bool, CFG(metrics.per_server), 0, 0, "yes", 0 },
};

static const struct keyspec region_keys[] = {
	{ "location", set_location, 0, 0, 0, NULL, 0 },
	{ "countries", set_countries, RGN(countries), 0, 0, NULL, K_LIST },
	{ "continents", set_continents, RGN(continents), 0, 0, NULL, K_LIST },
	{ "fallback", set_fallback, 0, 0, 0, NULL, K_LIST },
	{ "default", set_bool, RGN(is_default), 0, 0, "no", 0 },
};

static const struct keyspec server_keys[] = {
	{ "url", set_url, SRV(url), 0, 0, NULL, K_REQUIRED },
	{ "region", set_name, SRV(region), 0, 0, NULL, K_REQUIRED },
	{ "weight", set_u32, SRV(weight), 0, 1000000, "100", 0 },
};

enum { SEC_PLAIN, SEC_REGION, SEC_SERVER };

struct sectionspec {
	const char		*kind;
	const struct keyspec	*keys;
	size_t			 nkeys;
	int			 type;
};

static const struct sectionspec sections[] = {
	{ "listen", KEYS(listen_keys), SEC_PLAIN },
	{ "linger", KEYS(linger_keys), SEC_PLAIN },
	{ "admin", KEYS(admin_keys), SEC_PLAIN },
	{ "geoip", KEYS(geoip_keys), SEC_PLAIN },
	{ "redis", KEYS(redis_keys), SEC_PLAIN },
	{ "redirect", KEYS(redirect_keys), SEC_PLAIN },
	{ "selection", KEYS(selection_keys), SEC_PLAIN },
	{ "trust", KEYS(trust_keys), SEC_PLAIN },
	{ "synthetic", KEYS(synthetic_keys), SEC_PLAIN },
	{ "lookup", KEYS(lookup_keys), SEC_PLAIN },
	{ "cors", KEYS(cors_keys), SEC_PLAIN },
	{ "affinity", KEYS(affinity_keys), SEC_PLAIN },
	{ "log", KEYS(log_keys), SEC_PLAIN },
	{ "metrics", KEYS(metrics_keys), SEC_PLAIN },
	{ "region", KEYS(region_keys), SEC_REGION },
	{ "server", KEYS(server_keys), SEC_SERVER },
};

#define NSECTIONS	(sizeof(sections) / sizeof(sections[0]))
#define MAX_KEYS	16	/* of any one section */

/*
 * The keys of one section instance in file order, then the defaults of
 * the keys it did not set, through the same parsers.  rs may be NULL: a
 * plain section that the file does not have.
 */
static int
load_keys(struct ld *ld, const struct sectionspec *ss, void *base,
    const struct rawsec *rs)
{
	unsigned char	 seen[MAX_KEYS] = { 0 };
	struct rawkey	 dk;
	struct seg	 dseg;
	const struct rawkey *k;
	char		 q[QUOTE_MAX * 4 + 8];
	size_t		 i, j;

	for (i = 0; rs != NULL && i < rs->nkeys; i++) {
		k = &rs->keys[i];
		for (j = 0; j < i; j++)
			if (strcmp(rs->keys[j].name, k->name) == 0)
				return fail(ld, k->segs[0].line, "%s duplicate "
				    "key \"%s\" (first at line %d)", ld->label,
				    quote(q, sizeof(q), k->name),
				    rs->keys[j].segs[0].line);
		for (j = 0; j < ss->nkeys; j++)
			if (strcmp(ss->keys[j].name, k->name) == 0)
				break;
		if (j == ss->nkeys)
			return fail(ld, k->segs[0].line, "%s unknown key "
			    "\"%s\"", ld->label, quote(q, sizeof(q), k->name));
		if (ss->keys[j].set(ld, base, &ss->keys[j], k) == -1)
			return -1;
		seen[j] = 1;
	}
	for (j = 0; j < ss->nkeys; j++) {
		if (seen[j])
			continue;
		if (ss->keys[j].def == NULL && (ss->keys[j].flags & K_REQUIRED))
			return fail(ld, rs != NULL ? rs->line : 0, "%s missing "
			    "required key \"%s\"", ld->label,
			    ss->keys[j].name);
		if (ss->keys[j].def == NULL)
			continue;
		dseg.text = (char *)(uintptr_t)ss->keys[j].def;
		dseg.line = rs != NULL ? rs->line : 0;
		dk.name = (char *)(uintptr_t)ss->keys[j].name;
		dk.segs = &dseg;
		dk.nsegs = 1;
		if (ss->keys[j].set(ld, base, &ss->keys[j], &dk) == -1)
			return -1;
	}
	return 0;
}

static int
add_region(struct ld *ld, const struct rawsec *rs, void **base)
{
	struct config		*cfg = ld->cfg;
	struct region_conf	*v;
	int			 i;

	if ((i = config_region_index(cfg, rs->name)) >= 0)
		return fail(ld, rs->line, "duplicate %s (first at line %d)",
		    ld->label, cfg->regions[i].line);
	if ((v = grow1(cfg->regions, cfg->nregions, sizeof(*v))) == NULL)
		return oom(ld);
	cfg->regions = v;
	v = &cfg->regions[cfg->nregions++];
	memset(v, 0, sizeof(*v));
	memcpy(v->name, rs->name, strlen(rs->name) + 1);
	v->line = rs->line;
	*base = v;
	return 0;
}

static int
add_server(struct ld *ld, const struct rawsec *rs, void **base)
{
	struct config		*cfg = ld->cfg;
	struct server_conf	*v;
	size_t			 i;

	for (i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].id, rs->name) == 0)
			return fail(ld, rs->line, "duplicate %s (first at "
			    "line %d)", ld->label, cfg->servers[i].line);
	if ((v = grow1(cfg->servers, cfg->nservers, sizeof(*v))) == NULL)
		return oom(ld);
	cfg->servers = v;
	v = &cfg->servers[cfg->nservers++];
	memset(v, 0, sizeof(*v));
	memcpy(v->id, rs->name, strlen(rs->name) + 1);
	v->line = rs->line;
	*base = v;
	return 0;
}

static int
load_section(struct ld *ld, const struct rawsec *rs, int *plain_line)
{
	const struct sectionspec	*ss;
	char				 q[QUOTE_MAX * 4 + 8];
	void				*base = ld->cfg;
	size_t				 i;

	for (i = 0; i < NSECTIONS; i++)
		if (strcmp(sections[i].kind, rs->kind) == 0)
			break;
	set_label(ld, rs->kind, rs->name);
	if (i == NSECTIONS)
		return fail(ld, rs->line, "unknown section %s", ld->label);
	ss = &sections[i];
	if (ss->type == SEC_PLAIN) {
		if (rs->name != NULL)
			return fail(ld, rs->line, "%s: [%s] takes no name",
			    ld->label, rs->kind);
		if (plain_line[i] != 0)
			return fail(ld, rs->line, "duplicate section %s (first "
			    "at line %d)", ld->label, plain_line[i]);
		plain_line[i] = rs->line;
	} else {
		if (rs->name == NULL)
			return fail(ld, rs->line, "%s needs a name: [%s NAME]",
			    ld->label, rs->kind);
		if (!name_is_valid(rs->name))
			return fail(ld, rs->line, "%s: bad name \"%s\" "
			    "(letters, digits, '.', '_', '-', not first; at "
			    "most 63)", ld->label,
			    quote(q, sizeof(q), rs->name));
		if ((ss->type == SEC_REGION ? add_region(ld, rs, &base) :
		    add_server(ld, rs, &base)) == -1)
			return -1;
	}
	return load_keys(ld, ss, base, rs);
}

static int
load_all(struct ld *ld)
{
	int	plain_line[NSECTIONS] = { 0 };
	size_t	i;

	for (i = 0; i < ld->nsecs; i++)
		if (load_section(ld, &ld->secs[i], plain_line) == -1)
			return -1;
	for (i = 0; i < NSECTIONS; i++) {
		if (sections[i].type != SEC_PLAIN || plain_line[i] != 0)
			continue;
		set_label(ld, sections[i].kind, NULL);
		if (load_keys(ld, &sections[i], ld->cfg, NULL) == -1)
			return -1;
	}
	return 0;
}

/* ---- step 3: what needs the whole file */

static int
check_defaults(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*a, *b;
	size_t			 i, n = 0, first = 0;

	if (cfg->nregions == 0)
		return fail(ld, 0, "no [region] sections: at least one is "
		    "needed");
	for (i = 0; i < cfg->nregions; i++) {
		if (!cfg->regions[i].is_default)
			continue;
		if (n++ == 0) {
			first = i;
			continue;
		}
		a = sec_at(ld, cfg->regions[first].line);
		b = sec_at(ld, cfg->regions[i].line);
		return fail(ld, key_line(b, "default"), "[region %s] default: "
		    "a second default region; [region %s] says so at line %d "
		    "(exactly one may)", cfg->regions[i].name,
		    cfg->regions[first].name, key_line(a, "default"));
	}
	if (n == 0)
		return fail(ld, 0, "no region has \"default = yes\" (exactly "
		    "one must: it serves clients whose location is unknown)");
	cfg->default_region = first;
	return 0;
}

static int
check_countries(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	struct region_conf	*r, *o;
	size_t			 i, j, ri, oi;

	for (ri = 0; ri < cfg->nregions; ri++) {
		r = &cfg->regions[ri];
		for (i = 0; i < r->countries.n; i++)
			for (oi = 0; oi < ri; oi++) {
				o = &cfg->regions[oi];
				for (j = 0; j < o->countries.n; j++)
					if (strcmp(o->countries.v[j],
					    r->countries.v[i]) == 0)
						return fail(ld, item_line(
						    sec_at(ld, r->line),
						    "countries", i),
						    "[region %s] countries: "
						    "\"%s\" is also in [region "
						    "%s] at line %d", r->name,
						    r->countries.v[i], o->name,
						    item_line(sec_at(ld,
						    o->line), "countries", j));
			}
	}
	return 0;
}

static int
check_fallbacks(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	struct region_conf	*r;
	size_t			 ri, i;

	for (ri = 0; ri < cfg->nregions; ri++) {
		r = &cfg->regions[ri];
		for (i = 0; i < r->fallback.n; i++)
			if (config_region_index(cfg, r->fallback.v[i]) < 0)
				return fail(ld, item_line(sec_at(ld, r->line),
				    "fallback", i), "[region %s] fallback: "
				    "unknown region \"%s\"", r->name,
				    r->fallback.v[i]);
	}
	return 0;
}

static const char *
url_reason(const char *why)
{
	static const struct {
		const char	*why, *text;
	} reasons[] = {
		{ "scheme", "https:// only (http:// needs [redirect] "
		    "allow_http = yes)" },
		{ "host", "bad host" },
		{ "userinfo", "no user:password@ allowed" },
		{ "query", "no query allowed" },
		{ "fragment", "no fragment allowed" },
		{ "port", "bad port" },
		{ "not_allowed", "host not in [redirect] allowed_hosts" },
		{ "loop", "host is one of [listen] public_names: a redirect "
		    "loop" },
		{ "syntax", "not a URL" },
	};
	size_t	i;

	for (i = 0; why != NULL && i < sizeof(reasons) / sizeof(reasons[0]);
	    i++)
		if (strcmp(reasons[i].why, why) == 0)
			return reasons[i].text;
	return why != NULL ? why : "not a URL";
}

static int
check_servers(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	struct server_conf	*s;
	const struct rawsec	*rs;
	struct url_policy	 pol;
	struct server_url	 u;
	const char		*why;
	char			 q[QUOTE_MAX * 4 + 8];
	size_t			 i;

	pol.allowed_hosts = cfg->redirect.has_allowed_hosts ?
	    &cfg->redirect.allowed_hosts : NULL;
	pol.public_names = &cfg->listen.public_names;
	pol.allow_http = cfg->redirect.allow_http;
	for (i = 0; i < cfg->nservers; i++) {
		s = &cfg->servers[i];
		rs = sec_at(ld, s->line);
		if (config_region_index(cfg, s->region) < 0)
			return fail(ld, key_line(rs, "region"), "[server %s] "
			    "region: unknown region \"%s\"", s->id, s->region);
		if (server_url_parse(s->url, &pol, &u, &why) == -1)
			return fail(ld, key_line(rs, "url"), "[server %s] url: "
			    "bad url \"%s\" (%s)", s->id,
			    quote(q, sizeof(q), s->url), url_reason(why));
		server_url_free(&u);
	}
	return 0;
}

static int
check_redis(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*redis = sec_kind(ld, "redis");

	if (cfg->redis.url != NULL && cfg->nservers > 0)
		return fail(ld, cfg->servers[0].line, "[server %s]: [server] "
		    "sections cannot be used with a [redis] url (line %d): "
		    "the fleet comes from one or the other",
		    cfg->servers[0].id, key_line(redis, "url"));
	if (cfg->redis.url == NULL && cfg->nservers == 0)
		return fail(ld, 0, "nothing to route to: add [server] "
		    "sections or a [redis] url");
	if (cfg->redis.url != NULL && !cfg->redirect.has_allowed_hosts)
		return fail(ld, key_line(redis, "url"), "[redis] url: "
		    "[redirect] allowed_hosts is required with Redis (server "
		    "URLs in Redis must match it)");
	if (cfg->redis.sentinels.n > 0 && cfg->redis.master == NULL)
		return fail(ld, key_line(redis, "sentinels"), "[redis] "
		    "sentinels: needs [redis] master too");
	if (cfg->redis.master != NULL && cfg->redis.sentinels.n == 0)
		return fail(ld, key_line(redis, "master"), "[redis] master: "
		    "needs [redis] sentinels too");
	if (cfg->redis.sentinels.n > 0 && cfg->redis.url == NULL)
		return fail(ld, key_line(redis, "sentinels"), "[redis] "
		    "sentinels: needs [redis] url too (where this router "
		    "reads, e.g. a local replica)");
	if (cfg->redis.full_resync < cfg->redis.refresh)
		return fail(ld, key_line(redis, "full_resync"), "[redis] "
		    "full_resync: shorter than refresh");
	return 0;
}

/*
 * With SO_REUSEPORT, an admin socket on a public address would not fail
 * to bind: the kernel would share the public connections with it.
 */
static int
addr_overlap(const struct listen_addr *a, const struct listen_addr *b)
{
	static const uint8_t		 any6[16];
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)(const void *)&a->sa;
		b4 = (const struct sockaddr_in *)(const void *)&b->sa;
		return a4->sin_port == b4->sin_port &&
		    (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == 0 || b4->sin_addr.s_addr == 0);
	}
	a6 = (const struct sockaddr_in6 *)(const void *)&a->sa;
	b6 = (const struct sockaddr_in6 *)(const void *)&b->sa;
	return a6->sin6_port == b6->sin6_port &&
	    (memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0 ||
	    memcmp(&a6->sin6_addr, any6, 16) == 0 ||
	    memcmp(&b6->sin6_addr, any6, 16) == 0);
}

static int
check_listen(struct ld *ld)
{
	struct config		*cfg = ld->cfg;
	const struct rawsec	*ls = sec_kind(ld, "listen");
	size_t			 i;

	if ((cfg->listen.tls_cert == NULL) != (cfg->listen.tls_key == NULL))
		return fail(ld, key_line(ls, cfg->listen.tls_cert != NULL ?
		    "tls_cert" : "tls_key"), "[listen] %s: needs %s too "
		    "(both or neither)", cfg->listen.tls_cert != NULL ?
		    "tls_cert" : "tls_key", cfg->listen.tls_cert != NULL ?
		    "tls_key" : "tls_cert");
	if (cfg->listen.max_connections < cfg->listen.naddrs)
		return fail(ld, key_line(ls, "max_connections"), "[listen] "
		    "max_connections: fewer than the addresses");
	for (i = 0; cfg->admin.enabled && i < cfg->listen.naddrs; i++)
		if (addr_overlap(&cfg->admin.addr, &cfg->listen.addrs[i]))
			return fail(ld, key_line(sec_kind(ld, "admin"),
			    "address"), "[admin] address: \"%s\" overlaps "
			    "[listen] address \"%s\" (admin pages would be "
			    "public)", cfg->admin.addr.text,
			    cfg->listen.addrs[i].text);
	return 0;
}

static int
check_all(struct ld *ld)
{
	if (check_defaults(ld) == -1 || check_countries(ld) == -1 ||
	    check_fallbacks(ld) == -1 || check_redis(ld) == -1 ||
	    check_servers(ld) == -1 || check_listen(ld) == -1)
		return -1;
	return 0;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct ld	 ld;
	struct config	*cfg;

	memset(&ld, 0, sizeof(ld));
	ld.path = path != NULL ? path : "(null)";
	ld.err = err;
	ld.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || path[0] == '\0') {
		fail(&ld, 0, "no config file named");
		return NULL;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL) {
		free(cfg);
		oom(&ld);
		return NULL;
	}
	ld.cfg = cfg;
	if (lex_file(&ld) == -1 || load_all(&ld) == -1 || check_all(&ld) == -1) {
		config_free(cfg);
		cfg = NULL;
	}
	raw_free(&ld);
	free(ld.dir);
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->listen.addrs);
	strlist_free(&cfg->listen.public_names);
	free(cfg->listen.health_path);
	free(cfg->listen.tls_cert);
	free(cfg->listen.tls_key);
	cidr_list_free(&cfg->admin.allow);
	free(cfg->geoip.database);
	free(cfg->redis.url);
	strlist_free(&cfg->redis.sentinels);
	free(cfg->redis.master);
	free(cfg->redis.prefix);
	free(cfg->redis.cache_file);
	host_patterns_free(&cfg->redirect.allowed_hosts);
	cidr_list_free(&cfg->trust.proxies);
	free(cfg->trust.header);
	strlist_free(&cfg->synthetic.tokens);
	free(cfg->lookup.prefix);
	strlist_free(&cfg->cors.allow_origins);
	free(cfg->cors.allow_methods);
	free(cfg->cors.allow_headers);
	free(cfg->affinity.header);
	free(cfg->affinity.mode);
	free(cfg->log.access);
	for (i = 0; i < cfg->nregions; i++) {
		strlist_free(&cfg->regions[i].countries);
		strlist_free(&cfg->regions[i].continents);
		strlist_free(&cfg->regions[i].fallback);
	}
	free(cfg->regions);
	for (i = 0; i < cfg->nservers; i++)
		free(cfg->servers[i].url);
	free(cfg->servers);
	free(cfg);
}
