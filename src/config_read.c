/*
 * config_read: step 1 of reading a config (the three steps are described
 * in config.c), which turns the file into its raw model: sections, keys
 * and value lines, each with its line number.  Also the "file:line"
 * messages that all three steps report through, and look-ups in the raw
 * model for messages found after reading.
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

#include <ini.h>

#include "config.h"
#include "config_internal.h"
#include "strlist.h"

#define CONFIG_MAX_BYTES	(1024 * 1024)	/* a config, not a data file */

struct lexer {
	struct ld	*ld;
	const char	*p, *end;
	int		 line;		/* of the line read last */
	int		 pending;	/* handed to inih, no handler call yet */
	int		 pending_indented;
	int		 can_continue;	/* last line was a key or continuation */
	char		*long_value;	/* the value of a line too long for inih */
};

/* ---- errors: the first one wins */

/*
 * A value as it goes into a message: quotes, backslashes and control
 * bytes escaped (the message may end up in a terminal or a log), long
 * values cut.
 */
const char *
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

int __attribute__((format(printf, 3, 4)))
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

int
oom(struct ld *ld)
{
	return fail(ld, 0, "out of memory");
}

/* "[listen] max_header_bytes: bad size "16Q" (hint)" */
int
bad(struct ld *ld, const struct rawkey *k, int line, const char *what,
    const char *val, const char *hint)
{
	char	q[QUOTE_MAX * 4 + 8];

	return fail(ld, line, "%s %s: %s \"%s\"%s%s%s", ld->label, k->name,
	    what, quote(q, sizeof(q), val), hint != NULL ? " (" : "",
	    hint != NULL ? hint : "", hint != NULL ? ")" : "");
}

int
empty(struct ld *ld, const struct rawkey *k, const char *hint)
{
	return fail(ld, k->segs[0].line, "%s %s: must not be empty (%s)",
	    ld->label, k->name, hint);
}

char *
xstrdup(struct ld *ld, const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		oom(ld);
	return p;
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

int
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

void
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

const struct rawsec *
sec_at(const struct ld *ld, int line)
{
	size_t	i;

	for (i = 0; i < ld->nsecs; i++)
		if (ld->secs[i].line == line)
			return &ld->secs[i];
	return NULL;
}

const struct rawsec *
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
int
key_line(const struct rawsec *rs, const char *name)
{
	const struct rawkey	*k;

	if ((k = sec_key(rs, name)) != NULL)
		return k->segs[0].line;
	return rs != NULL ? rs->line : 0;
}

/* The line holding the idx-th item of a list value. */
int
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
