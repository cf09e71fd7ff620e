/*
 * config_read: the grammar of the file, and the lexer that is its only
 * implementation.  It turns the file into its raw model (sections, keys,
 * value lines, each with its line number) for config_keys.c to
 * interpret.  Also the "file:line" messages every step reports through,
 * look-ups in the raw model for messages found later, and the "did you
 * mean" distance.
 *
 * The grammar, line by line (a line ends at LF; blank = SP HT VT FF CR):
 *
 *	file		= [UTF-8 BOM] *line		; at most 1 MiB, no NUL
 *	line		= *blank [comment | section | key | more] *blank
 *	comment		= (";" | "#") *byte
 *	section		= "[" *blank kind [1*blank name] *blank "]"
 *			  *blank [comment]
 *	key		= keyname *blank ("=" | ":") value
 *	value		= *byte, up to an inline comment: a ";" that follows
 *			  a blank; blanks around it trimmed
 *	more		= 1*blank value			; a continuation line
 *
 * A continuation line is an indented line directly below a key line or
 * another continuation line (comment lines between are skipped, a blank
 * line ends the value); it adds the items on it to that key's value.
 * Only lists may continue (config_value.c says so at the line).  An
 * indented line that reads "name = ..." (letters, digits, '_', then a
 * blank or '=') starts a key of its own, so indenting every key under
 * its section header is fine.  There is no quoting and no escaping: a
 * value is its bytes as written.  Lines have no length limit: a 4 KB
 * server URL is a fine line.
 *
 * Why our own: the grammar used to be split between libinih and a
 * reader that re-implemented inih's rules for long lines, because
 * Debian builds inih with 200-byte lines and without line numbers.  The
 * rules above are inih's (';' and '#' comments, inline ';' after a
 * blank, '=' or ':', the BOM), so files that inih read read the same.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"
#include "escape.h"
#include "strlist.h"

#define CONFIG_MAX_BYTES	(1024 * 1024)	/* a config, not a data file */

/* ---- errors: the first one wins */

/*
 * A value as it goes into a message, escaped as a log field is (the
 * message may end up in a terminal or a log), long values cut.
 */
const char *
config_quote(char *buf, size_t sz, const char *s)
{
	return escape_log_cut(buf, sz, s, QUOTE_MAX);
}

int __attribute__((format(printf, 3, 4)))
config_fail(struct ld *ld, int line, const char *fmt, ...)
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

int
config_oom(struct ld *ld)
{
	return config_fail(ld, 0, "out of memory");
}

/* "[listen] max_header_bytes: bad size "16Q" (hint)" */
int
config_bad(struct ld *ld, const struct rawkey *k, int line, const char *what,
    const char *val, const char *hint)
{
	char	q[QBUF];

	return config_fail(ld, line, "%s %s: %s \"%s\"%s%s%s", ld->label, k->name,
	    what, config_quote(q, sizeof(q), val), hint != NULL ? " (" : "",
	    hint != NULL ? hint : "", hint != NULL ? ")" : "");
}

char *
config_xstrdup(struct ld *ld, const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		config_oom(ld);
	return p;
}

/* ---- the lexer */

/* The first '=' or ':' (with sep), or an inline comment's ';', or e. */
static const char *
scan(const char *s, const char *e, int sep)
{
	int	was_blank = 0;

	for (; s < e; s++) {
		if ((sep && (*s == '=' || *s == ':')) || (was_blank && *s == ';'))
			break;
		was_blank = is_blank((unsigned char)*s);
	}
	return s;
}

static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_blank((unsigned char)**s))
		(*s)++;
	while (*e > *s && is_blank((unsigned char)(*e)[-1]))
		(*e)--;
}

static int
add_seg(struct ld *ld, struct rawkey *k, const char *s, const char *e,
    int line)
{
	struct seg	*v;
	char		*text;

	e = scan(s, e, 0);
	trim(&s, &e);
	if ((text = strndup(s, e - s)) == NULL)
		return config_oom(ld);
	if ((v = grow1(k->segs, k->nsegs, sizeof(*v))) == NULL) {
		free(text);
		return config_oom(ld);
	}
	k->segs = v;
	k->segs[k->nsegs].text = text;
	k->segs[k->nsegs++].line = line;
	return 0;
}

/* An indented "name =" starts a key; list items never look like that. */
static int
looks_like_key(const char *s, const char *e)
{
	const char	*n = s;

	while (s < e && (is_alnum((unsigned char)*s) || *s == '_'))
		s++;
	if (s == n || s == e || (*s != '=' && !is_blank((unsigned char)*s)))
		return 0;
	while (s < e && is_blank((unsigned char)*s))
		s++;
	return s < e && *s == '=';
}

/* "[kind]" or "[kind name]"; s points at '[' and e at the line's end. */
static int
lex_section(struct ld *ld, const char *s, const char *e, int line)
{
	struct rawsec	*rs;
	const char	*close, *after, *k, *ke, *n, *ne;
	char		 q[QBUF], *text;

	close = memchr(s, ']', e - s);
	after = close != NULL ? close + 1 : e;
	while (after < e && is_blank((unsigned char)*after))
		after++;
	for (k = s + 1; close != NULL && k < close &&
	    is_blank((unsigned char)*k); k++)
		;
	if (close == NULL || (after < e && *after != ';' && *after != '#') ||
	    k == close) {
		if ((text = strndup(s, e - s)) == NULL)
			return config_oom(ld);
		config_fail(ld, line, "bad section header \"%s\" (expected "
		    "[section] or [section name])", config_quote(q, sizeof(q), text));
		free(text);
		return -1;
	}
	for (ke = k; ke < close && !is_blank((unsigned char)*ke); ke++)
		;
	n = ke;
	ne = close;
	trim(&n, &ne);
	if ((rs = grow1(ld->secs, ld->nsecs, sizeof(*rs))) == NULL)
		return config_oom(ld);
	ld->secs = rs;
	rs = &ld->secs[ld->nsecs++];
	memset(rs, 0, sizeof(*rs));
	rs->line = line;
	if ((rs->kind = strndup(k, ke - k)) == NULL ||
	    (n < ne && (rs->name = strndup(n, ne - n)) == NULL))
		return config_oom(ld);
	return 0;
}

static int
lex_key(struct ld *ld, const char *s, const char *e, int line, int indented)
{
	struct rawsec	*rs;
	struct rawkey	*k;
	const char	*sep = scan(s, e, 1), *ne = sep;
	char		 n[QBUF], q[QBUF];

	if (sep == e || *sep == ';')
		return config_fail(ld, line, indented ? "syntax error: an indented "
		    "line continues a list only directly below it (a blank "
		    "line ends a value); expected \"key = value\"" :
		    "syntax error: expected \"key = value\", \"[section]\" or "
		    "a comment");
	trim(&s, &ne);
	if (ld->nsecs == 0) {
		snprintf(n, sizeof(n), "%.*s", (int)(ne - s), s);
		return config_fail(ld, line, "key \"%s\" before any [section]",
		    config_quote(q, sizeof(q), n));
	}
	rs = &ld->secs[ld->nsecs - 1];
	if ((k = grow1(rs->keys, rs->nkeys, sizeof(*k))) == NULL)
		return config_oom(ld);
	rs->keys = k;
	k = &rs->keys[rs->nkeys++];
	memset(k, 0, sizeof(*k));
	if ((k->name = strndup(s, ne - s)) == NULL)
		return config_oom(ld);
	return add_seg(ld, k, sep + 1, e, line);
}

static int
lex_lines(struct ld *ld, const char *p, const char *end)
{
	const char	*s, *e;
	struct rawsec	*rs;
	int		 line = 0, indented, more = 0;

	for (; p < end && !ld->failed; p = e < end ? e + 1 : e) {
		if ((e = memchr(p, '\n', end - p)) == NULL)
			e = end;
		s = p;
		line++;
		indented = s < e && is_blank((unsigned char)*s);
		trim(&s, &e);
		if (s == e) {
			more = 0;
			continue;
		}
		if (*s == ';' || *s == '#')
			continue;
		if (indented && more && !looks_like_key(s, e)) {
			rs = &ld->secs[ld->nsecs - 1];
			add_seg(ld, &rs->keys[rs->nkeys - 1], s, e, line);
			continue;
		}
		if (*s == '[') {
			more = 0;
			lex_section(ld, s, e, line);
			continue;
		}
		more = lex_key(ld, s, e, line, indented) == 0;
	}
	return ld->failed ? -1 : 0;
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
		return config_fail(ld, 0, "%s", strerror(errno));
	if (fstat(fd, &st) == -1) {
		config_fail(ld, 0, "%s", strerror(errno));
		goto out;
	}
	/* Pipes are fine ("--check -c <(...)"); the read below is bounded. */
	if (S_ISDIR(st.st_mode)) {
		config_fail(ld, 0, "%s", strerror(EISDIR));
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > CONFIG_MAX_BYTES) {
		config_fail(ld, 0, "too large (more than %d bytes)", CONFIG_MAX_BYTES);
		goto out;
	}
	/* One byte more than allowed, to notice a file that grew. */
	if ((buf = malloc(CONFIG_MAX_BYTES + 2)) == NULL) {
		config_oom(ld);
		goto out;
	}
	while (len <= CONFIG_MAX_BYTES &&
	    (n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			config_fail(ld, 0, "%s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_BYTES) {
		config_fail(ld, 0, "too large (more than %d bytes)", CONFIG_MAX_BYTES);
		goto out;
	}
	buf[len] = '\0';
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		for (line = 1; nul > buf; nul--)
			line += nul[-1] == '\n';
		config_fail(ld, line, "NUL byte: not a text file");
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

/*
 * The text is kept in the config (cfg->text): the GeoIP file's mtime
 * check builds a runtime from the same text again, so that an edit of
 * the file that nobody signalled is not applied with the new database.
 */
int
config_lex_file(struct ld *ld)
{
	char	*buf, *keep;
	size_t	 len, skip = 0;
	int	 rc;

	if (ld->text != NULL) {
		if ((buf = malloc(ld->textlen + 1)) == NULL)
			return config_oom(ld);
		memcpy(buf, ld->text, ld->textlen);
		buf[ld->textlen] = '\0';
		len = ld->textlen;
	} else if (read_file(ld, &buf, &len) == -1)
		return -1;
	if ((keep = realloc(buf, len + 1)) != NULL)
		buf = keep;
	ld->cfg->text = buf;
	ld->cfg->textlen = len;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		skip = 3;
	rc = lex_lines(ld, buf + skip, buf + len);
	return rc;
}

void
config_raw_free(struct ld *ld)
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

const struct rawsec *
config_sec_at(const struct ld *ld, int line)
{
	size_t	i;

	for (i = 0; i < ld->nsecs; i++)
		if (ld->secs[i].line == line)
			return &ld->secs[i];
	return NULL;
}

const struct rawsec *
config_sec_kind(const struct ld *ld, const char *kind)
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
int
config_key_line(const struct rawsec *rs, const char *name)
{
	const struct rawkey	*k;

	if ((k = sec_key(rs, name)) != NULL)
		return k->segs[0].line;
	return rs != NULL ? rs->line : 0;
}

/* The line holding the idx-th item of a list value. */
int
config_item_line(const struct rawsec *rs, const char *name, size_t idx)
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
