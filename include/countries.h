/*
 * countries: the table built from data/countries.tsv at compile time:
 * ISO alpha-2 code, continent code and an approximate centroid, used when
 * the GeoIP database knows a country but no location (country DBs).
 */
#ifndef GEO307_COUNTRIES_H
#define GEO307_COUNTRIES_H

struct country_info {
	char	code[3];
	char	continent[3];
	double	lat, lon;
};

/* The generated table (countries_table.c), sorted by code. */
extern const struct country_info countries_table[];
extern const unsigned countries_table_len;

/* NULL when code is unknown.  code need not be NUL-terminated. */
const struct country_info *countries_find(const char *code);
int	countries_continent_is_valid(const char *code);

#endif
