/*
 * countries: look-ups in the table that data/countries-to-c.awk compiles
 * from data/countries.tsv.  The table is sorted by code and small (a few
 * hundred rows), so a binary search over const data needs no index, no
 * initialisation and therefore no locking: any thread may call these at
 * any time, including before main() has set anything up.
 */
#include <stddef.h>
#include <string.h>

#include "countries.h"

/* Defined in the generated countries_table.c. */
extern const struct country_info countries_table[];
extern const unsigned countries_table_len;

/* Not isupper(): the locale must not change what a country code is. */
static int
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/*
 * Only code[0] and code[1] are read, and code[1] only when code[0] is a
 * letter, so a 1-byte "" is safe and "GBR" finds GB: callers pass slices
 * of larger buffers as well as C strings.
 */
const struct country_info *
countries_find(const char *code)
{
	unsigned	lo, hi, mid;
	int		cmp;

	if (code == NULL || !is_upper(code[0]) || !is_upper(code[1]))
		return NULL;
	lo = 0;
	hi = countries_table_len;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = memcmp(code, countries_table[mid].code, 2);
		if (cmp == 0)
			return &countries_table[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * A NUL-terminated continent code as MaxMind writes them.  Unlike
 * countries_find() this wants the whole string: it validates what came out
 * of a database or a config file, where "EUR" or "eu" is an error, not
 * a prefix match.
 */
int
countries_continent_is_valid(const char *code)
{
	static const char	continents[][3] = {
		"AF", "AN", "AS", "EU", "NA", "OC", "SA"
	};
	size_t			i;

	if (code == NULL || !is_upper(code[0]) || !is_upper(code[1]) ||
	    code[2] != '\0')
		return 0;
	for (i = 0; i < sizeof(continents) / sizeof(continents[0]); i++)
		if (code[0] == continents[i][0] && code[1] == continents[i][1])
			return 1;
	return 0;
}
