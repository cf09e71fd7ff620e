/*
 * strlist: a growable list of owned strings.  v is kept NULL-terminated
 * (v[n] == NULL whenever v != NULL) so callers may hand it to APIs that
 * want an argv-style array.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strlist.h"

/* The config list syntax: commas and/or whitespace separate items. */
static int
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' ||
	    c == '\n' || c == '\f' || c == '\v';
}

static int
push_n(struct strlist *l, const char *s, size_t len)
{
	char	**v, *copy;

	if ((copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, s, len);
	copy[len] = '\0';
	/*
	 * Grow by one each time: lists are short (config values), and this
	 * stays correct for a v that someone else allocated with exactly n
	 * slots.
	 */
	if (l->n > ((size_t)-1) / sizeof(*v) - 2 ||
	    (v = realloc(l->v, (l->n + 2) * sizeof(*v))) == NULL) {
		free(copy);
		return -1;
	}
	v[l->n++] = copy;
	v[l->n] = NULL;
	l->v = v;
	return 0;
}

int
strlist_push(struct strlist *l, const char *s)
{
	if (l == NULL || s == NULL)
		return -1;
	return push_n(l, s, strlen(s));
}

/*
 * out is overwritten, not appended to.  On failure out is left empty,
 * so strlist_free(out) is always safe.
 */
int
strlist_split(const char *s, struct strlist *out)
{
	const char	*p, *start;

	if (out == NULL)
		return -1;
	out->v = NULL;
	out->n = 0;
	if (s == NULL)
		return 0;
	for (p = s; *p != '\0';) {
		while (*p != '\0' && is_sep(*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !is_sep(*p))
			p++;
		if (push_n(out, start, p - start) == -1) {
			strlist_free(out);
			return -1;
		}
	}
	return 0;
}

int
strlist_equal(const struct strlist *a, const struct strlist *b)
{
	size_t	i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

int
strlist_contains(const struct strlist *l, const char *s)
{
	size_t	i;

	if (l == NULL || s == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

int
strlist_contains_ci(const struct strlist *l, const char *s)
{
	size_t	i;

	if (l == NULL || s == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void
strlist_free(struct strlist *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
