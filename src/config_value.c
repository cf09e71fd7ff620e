/*
 * config_value: the value parsers of config.h, and the setters of the
 * value types that keys share (numbers, durations, sizes, booleans,
 * paths, words, lists of addresses, names, origins, countries...).
 * They are step 2 of reading a config (see config.c) for one value; the
 * key tables that use them, and the setters of keys with rules of their
 * own, are in config_keys.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "netaddr.h"
#include "strlist.h"
#include "url.h"

#define DECIMAL_DIGITS		15	/* exact in a double */

/* ---- value parsers (config.h): shared with geo307ctl and Redis */

/*
 * [+-]digits[.digits], computed without strtod: strtod follows the
 * locale's decimal point and accepts inf, nan, hex and exponents.  At
 * most 15 significant digits, so the mantissa is exact and one division
 * by an exact power of ten gives the correctly rounded double.
 */
int
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

/* ---- step 2: the setters of the shared value types */

/* The one value of a scalar key. */
const char *
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
int
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
char *
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

int
set_uint(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	unsigned long long	v;

	if (get_uint(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, unsigned) = (unsigned)v;
	return 0;
}

int
set_u32(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	unsigned long long	v;

	if (get_uint(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, uint32_t) = (uint32_t)v;
	return 0;
}

int
set_int(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	unsigned long long	v;

	if (get_uint(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, int) = (int)v;
	return 0;
}

int
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

int
set_size64(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	uint64_t	v;

	if (get_size(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, uint64_t) = v;
	return 0;
}

int
set_sizet(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	uint64_t	v;

	if (get_size(ld, ks, k, &v) == -1)
		return -1;
	*FIELD(base, ks, size_t) = (size_t)v;
	return 0;
}

int
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

/* A path: empty means NULL (unless required), relative means ours. */
int
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
int
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

int
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

/* health_path and [lookup] prefix: "/x" or "/x/y", never "/" or "/x/". */
int
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

int
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

/* A header name, lower-cased; optional unless K_REQUIRED. */
int
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

int
set_header(struct ld *ld, void *base, const struct keyspec *ks,
    const struct rawkey *k)
{
	return get_header(ld, ks, k, FIELD(base, ks, char *));
}

/* Tokens travel in a header: printable ASCII, no blanks. */
int
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

int
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
int
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

int
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

int
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

/* [server] region: a name; whether it exists is checked at the end. */
int
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

int
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
