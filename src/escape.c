/*
 * escape: HTML, JSON and Apache log escaping.  Output is written in whole pieces: when
 * an escape sequence does not fit, writing stops before it, so a truncated
 * result never ends in half an entity ("&am") or half a "\u00".
 */
#include <string.h>

#include "escape.h"

struct out {
	char	*dst;
	size_t	 dstsz;
	size_t	 len;		/* bytes written, no NUL */
	size_t	 need;		/* bytes the full result needs, no NUL */
	int	 full;		/* a piece did not fit: write nothing more */
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (!o->full && o->len + n < o->dstsz) {
		memcpy(o->dst + o->len, s, n);
		o->len += n;
	} else
		o->full = 1;
	o->need += n;
}

static size_t
finish(struct out *o)
{
	if (o->dstsz > 0)
		o->dst[o->len] = '\0';
	return o->need;
}

size_t
escape_html(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	struct out	 o = { dst, dst != NULL ? dstsz : 0, 0, 0, 0 };
	const char	*rep;
	size_t		 i;

	for (i = 0; i < srclen; i++) {
		switch (src[i]) {
		case '&':	rep = "&amp;";	break;
		case '<':	rep = "&lt;";	break;
		case '>':	rep = "&gt;";	break;
		case '"':	rep = "&quot;";	break;
		case '\'':	rep = "&#39;";	break;
		default:	rep = NULL;	break;
		}
		if (rep != NULL)
			put(&o, rep, strlen(rep));
		else
			put(&o, src + i, 1);
	}
	return finish(&o);
}

size_t
escape_json(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	static const char	 hex[] = "0123456789abcdef";
	struct out		 o = { dst, dst != NULL ? dstsz : 0, 0, 0, 0 };
	unsigned char		 c;
	char			 u[6];
	size_t			 i;

	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		switch (c) {
		case '"':	put(&o, "\\\"", 2);	break;
		case '\\':	put(&o, "\\\\", 2);	break;
		case '\b':	put(&o, "\\b", 2);	break;
		case '\f':	put(&o, "\\f", 2);	break;
		case '\n':	put(&o, "\\n", 2);	break;
		case '\r':	put(&o, "\\r", 2);	break;
		case '\t':	put(&o, "\\t", 2);	break;
		default:
			/* Raw bytes >= 0x80 may not be UTF-8: keep output valid. */
			if (c < 0x20 || c >= 0x7f) {
				memcpy(u, "\\u00", 4);
				u[4] = hex[c >> 4];
				u[5] = hex[c & 0xf];
				put(&o, u, 6);
			} else
				put(&o, (const char *)&c, 1);
			break;
		}
	}
	return finish(&o);
}

size_t
escape_log(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	static const char	 hex[] = "0123456789abcdef";
	struct out		 o = { dst, dst != NULL ? dstsz : 0, 0, 0, 0 };
	unsigned char		 c;
	char			 x[4];
	size_t			 i;

	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		if (c == '"' || c == '\\') {
			x[0] = '\\';
			x[1] = (char)c;
			put(&o, x, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			x[0] = '\\';
			x[1] = 'x';
			x[2] = hex[c >> 4];
			x[3] = hex[c & 0xf];
			put(&o, x, 4);
		} else
			put(&o, (const char *)&c, 1);
	}
	return finish(&o);
}

const char *
escape_log_cut(char *buf, size_t sz, const char *s, size_t max)
{
	size_t	len = s != NULL ? strlen(s) : 0;

	if (sz < 4) {
		if (sz > 0)
			buf[0] = '\0';
		return buf;
	}
	/* Room for "..." kept: the escaped text fits in sz - 3. */
	if (escape_log(buf, sz - 3, s != NULL ? s : "", len > max ? max :
	    len) >= sz - 3 || len > max)
		strcat(buf, "...");
	return buf;
}
