/*
 * parse: the grammar of values, one implementation for the config file,
 * Redis records, geo307ctl and the kit's flags.  No strtod or strtoul:
 * those follow the locale and accept blanks, signs, hex, inf and nan.
 * Every parser takes the whole string and returns 0, or -1 with *out
 * untouched.
 */
#ifndef GEO307_PARSE_H
#define GEO307_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PARSE_NAME_MAX	63	/* server ids and region names */

/* [+-]digits[.digits] (a sign only with sign_ok); 15 significant digits. */
int	parse_decimal(const char *s, int sign_ok, double *out);
/* Seconds, decimals allowed: parse_decimal without a sign. */
int	parse_duration(const char *s, double *out);
/* Decimal digits only, at most max. */
int	parse_uint(const char *s, unsigned long long max,
	    unsigned long long *out);
/* Bytes with an optional K, M or G (powers of 1024). */
int	parse_size(const char *s, uint64_t *out);
/* yes/no, true/false, on/off, 1/0, any case. */
int	parse_bool(const char *s, int *out);
/* Server ids and region names: [A-Za-z0-9][A-Za-z0-9._-]{0,62}. */
int	parse_is_name(const char *s);

/*
 * "Did you mean": the one of n candidates within a small edit distance
 * of s (a swap of two neighbours counts once), or NULL when none is
 * close or two are equally close.  v holds n strings stride bytes apart
 * (an array of structs or of pointers).
 */
const char *parse_closest(const char *s, const char *const *v, size_t n,
	    size_t stride);

#endif
