/* countries: the compiled table and its look-ups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "countries.h"

extern const struct country_info countries_table[];
extern const unsigned countries_table_len;

static void
test_known_continents(void **state)
{
	static const struct {
		const char	*code, *continent;
	} known[] = {
		{ "GB", "EU" }, { "US", "NA" }, { "BR", "SA" }, { "JP", "AS" },
		{ "AU", "OC" }, { "ZA", "AF" }, { "AQ", "AN" }, { "DE", "EU" },
		{ "RU", "EU" }, { "TR", "AS" }, { "EG", "AF" }, { "MX", "NA" },
		{ "NZ", "OC" }, { "XK", "EU" }, { "EU", "EU" }, { "AP", "AS" },
	};
	const struct country_info	*ci;
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		ci = countries_find(known[i].code);
		assert_non_null(ci);
		assert_string_equal(ci->code, known[i].code);
		assert_string_equal(ci->continent, known[i].continent);
	}
}

/* Not precise, but a typo (a swapped sign, lat for lon) would show. */
static void
test_centroids(void **state)
{
	const struct country_info	*ci;

	(void)state;
	ci = countries_find("FR");
	assert_non_null(ci);
	assert_true(ci->lat > 40 && ci->lat < 52);
	assert_true(ci->lon > -5 && ci->lon < 9);
	ci = countries_find("US");
	assert_non_null(ci);
	assert_true(ci->lat > 25 && ci->lat < 50);
	assert_true(ci->lon > -125 && ci->lon < -67);
	ci = countries_find("AU");
	assert_non_null(ci);
	assert_true(ci->lat > -40 && ci->lat < -10);
	assert_true(ci->lon > 113 && ci->lon < 154);
	ci = countries_find("BR");
	assert_non_null(ci);
	assert_true(ci->lat < 0 && ci->lon < -35);
	ci = countries_find("JP");
	assert_non_null(ci);
	assert_true(ci->lat > 30 && ci->lat < 46 && ci->lon > 128);
}

static void
test_unknown(void **state)
{
	(void)state;
	assert_null(countries_find("QQ"));
	assert_null(countries_find("ZZ"));
	assert_null(countries_find("AA"));
	/* Translated or skipped by data/build-geoip.pl, never in the table. */
	assert_null(countries_find("UK"));
	assert_null(countries_find("UN"));
	assert_null(countries_find("A1"));
	assert_null(countries_find("??"));
	assert_null(countries_find(NULL));
}

static void
test_bad_input(void **state)
{
	char	*one;

	(void)state;
	assert_null(countries_find("gb"));
	assert_null(countries_find("Gb"));
	assert_null(countries_find("gB"));
	assert_null(countries_find("G"));
	assert_null(countries_find(""));
	assert_null(countries_find(" GB"));
	/*
	 * Exactly one byte on the heap: ASan reports it if countries_find()
	 * reads past the NUL.
	 */
	one = malloc(1);
	assert_non_null(one);
	one[0] = '\0';
	assert_null(countries_find(one));
	one[0] = 'G';
	free(one);
}

/* Two bytes, no NUL: how geo.c and the config parser may hand it over. */
static void
test_not_terminated(void **state)
{
	const struct country_info	*ci;
	char				*two;

	(void)state;
	two = malloc(2);
	assert_non_null(two);
	memcpy(two, "SE", 2);
	ci = countries_find(two);
	assert_non_null(ci);
	assert_string_equal(ci->code, "SE");
	free(two);
	ci = countries_find("GBR");
	assert_non_null(ci);
	assert_string_equal(ci->code, "GB");
}

static void
test_table_sorted_unique(void **state)
{
	unsigned	i;

	(void)state;
	/* Every ISO 3166-1 alpha-2 code (249) at least. */
	assert_true(countries_table_len >= 249);
	for (i = 1; i < countries_table_len; i++)
		assert_true(strcmp(countries_table[i - 1].code,
		    countries_table[i].code) < 0);
}

static void
test_table_rows(void **state)
{
	const struct country_info	*ci;
	unsigned			 i;

	(void)state;
	for (i = 0; i < countries_table_len; i++) {
		ci = &countries_table[i];
		assert_int_equal(strlen(ci->code), 2);
		assert_true(ci->code[0] >= 'A' && ci->code[0] <= 'Z');
		assert_true(ci->code[1] >= 'A' && ci->code[1] <= 'Z');
		assert_true(countries_continent_is_valid(ci->continent));
		assert_true(ci->lat >= -90 && ci->lat <= 90);
		assert_true(ci->lon >= -180 && ci->lon <= 180);
		/* The search finds every row, at its own address. */
		assert_ptr_equal(countries_find(ci->code), ci);
	}
}

static void
test_continent_is_valid(void **state)
{
	static const char	*good[] = {
		"AF", "AN", "AS", "EU", "NA", "OC", "SA"
	};
	static const char	*bad[] = {
		"", "E", "eu", "Eu", "EUR", "XX", "AM", "OA", "EU ", " EU"
	};
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(countries_continent_is_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(countries_continent_is_valid(bad[i]));
	assert_false(countries_continent_is_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_continents),
		cmocka_unit_test(test_centroids),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_not_terminated),
		cmocka_unit_test(test_table_sorted_unique),
		cmocka_unit_test(test_table_rows),
		cmocka_unit_test(test_continent_is_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
