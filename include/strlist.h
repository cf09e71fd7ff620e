/* strlist: a growable list of owned strings, and the config list syntax. */
#ifndef GEO307_STRLIST_H
#define GEO307_STRLIST_H

#include <stddef.h>

struct strlist {
	char	**v;
	size_t	  n;
};

/* Split on commas and/or whitespace, dropping empty items. 0 on success. */
int	strlist_split(const char *s, struct strlist *out);
int	strlist_push(struct strlist *l, const char *s);
int	strlist_contains(const struct strlist *l, const char *s);
/* The same items in the same order (1). */
int	strlist_equal(const struct strlist *a, const struct strlist *b);
/* Case-insensitive variant, for host names and header names. */
int	strlist_contains_ci(const struct strlist *l, const char *s);
void	strlist_free(struct strlist *l);

#endif
