/*
 * geo: lookups in the project's fixture database and, when the folder is
 * there, MaxMind's own test databases (read in place, never copied).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geo.h"

static char	path[1024];

static const char *
fixture(void)
{
	const char	*d = getenv("GEO307_FIXTURES");

	snprintf(path, sizeof(path), "%s/test-city.mmdb", d ? d :
	    "tests/fixtures");
	return path;
}

static const char *
fixture_named(const char *name)
{
	static char	 p[1024];
	const char	*d = getenv("GEO307_FIXTURES");

	snprintf(p, sizeof(p), "%s/%s", d ? d : "tests/fixtures", name);
	return p;
}

static const char *
maxmind_dir(void)
{
	static char	 dir[1024];
	const char	*e = getenv("GEO307_MAXMIND");
	const char	*src = getenv("GEO307_SRCDIR");
	struct stat	 st;

	if (e != NULL)
		snprintf(dir, sizeof(dir), "%s", e);
	else
		snprintf(dir, sizeof(dir), "%s/../shared/testdata/maxmind",
		    src ? src : ".");
	return stat(dir, &st) == 0 ? dir : NULL;
}

static void
look(const struct geodb *db, const char *ip, struct geo_result *g)
{
	struct netaddr	a;

	assert_int_equal(netaddr_parse(ip, &a), 0);
	geo_lookup(db, &a, g);
}

static void
test_fixture_answers(void **state)
{
	struct geodb		*db;
	struct geo_result	 g;
	char			 err[512];

	(void)state;
	db = geo_open(fixture(), err, sizeof(err));
	if (db == NULL)
		fail_msg("%s", err);
	look(db, "81.2.69.142", &g);
	assert_true(g.found);
	assert_string_equal(g.country, "GB");
	assert_string_equal(g.continent, "EU");
	assert_true(g.location_from_db);
	assert_float_equal(g.lat, 51.5142, 0.001);

	look(db, "1.2.3.4", &g);		/* country only: centroid */
	assert_string_equal(g.country, "AU");
	assert_true(g.has_location);
	assert_false(g.location_from_db);
	assert_true(g.lat < -10 && g.lon > 110);

	look(db, "5.6.7.8", &g);		/* continent only */
	assert_string_equal(g.country, "");
	assert_string_equal(g.continent, "EU");
	assert_false(g.has_location);

	look(db, "2001:218::1", &g);
	assert_string_equal(g.country, "JP");

	look(db, "::ffff:216.160.83.56", &g);	/* v4-mapped */
	assert_string_equal(g.country, "US");

	look(db, "127.0.0.1", &g);
	assert_false(g.found);
	assert_string_equal(g.country, "");
	assert_true(geo_build_epoch(db) > 1500000000ULL);
	geo_close(db);
}

static void
test_missing_and_corrupt(void **state)
{
	char	 err[512], bad[] = "/tmp/g307-geo-XXXXXX";
	char	 buf[4096];
	FILE	*in, *out;
	size_t	 n, total = 0;
	int	 fd;

	(void)state;
	assert_null(geo_open("/nonexistent/x.mmdb", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.mmdb"));

	/* A copy with its first 4 KiB (the search tree) scribbled over. */
	fd = mkstemp(bad);
	assert_true(fd >= 0);
	in = fopen(fixture(), "rb");
	out = fdopen(fd, "wb");
	assert_non_null(in);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (total == 0)
			memset(buf, 0xff, n);
		fwrite(buf, 1, n, out);
		total += n;
	}
	fclose(in);
	fclose(out);
	assert_null(geo_open(bad, err, sizeof(err)));
	assert_non_null(strstr(err, bad));

	/* Garbage, not an MMDB at all. */
	out = fopen(bad, "wb");
	fputs("this is not a database\n", out);
	fclose(out);
	assert_null(geo_open(bad, err, sizeof(err)));
	assert_non_null(strstr(err, "not a valid MaxMind DB"));
	unlink(bad);
}

static void
test_maxmind_city_and_country(void **state)
{
	const char		*dir = maxmind_dir();
	const char		*files[] = { "GeoIP2-City-Test.mmdb",
				    "GeoIP2-Country-Test.mmdb" };
	struct geodb		*db;
	struct geo_result	 g;
	char			 p[1200], err[512];
	size_t			 i;

	(void)state;
	if (dir == NULL)
		skip();
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		if ((db = geo_open(p, err, sizeof(err))) == NULL)
			fail_msg("%s", err);
		look(db, "81.2.69.142", &g);
		assert_string_equal(g.country, "GB");
		look(db, "89.160.20.112", &g);
		assert_string_equal(g.country, "SE");
		assert_string_equal(g.continent, "EU");
		look(db, "216.160.83.56", &g);
		assert_string_equal(g.country, "US");
		assert_string_equal(g.continent, "NA");
		look(db, "2001:218::", &g);
		assert_string_equal(g.country, "JP");
		look(db, "175.16.199.0", &g);
		assert_string_equal(g.continent, "AS");
		look(db, "8.8.8.8", &g);
		assert_false(g.found);
		assert_false(g.has_location);
		geo_close(db);
	}
}

static void
test_maxmind_broken(void **state)
{
	const char	*dir = maxmind_dir();
	const char	*files[] = { "GeoIP2-City-Test-Broken-Double-Format.mmdb",
			    "GeoIP2-City-Test-Invalid-Node-Count.mmdb" };
	char		 p[1200], err[512];
	size_t		 i;

	(void)state;
	if (dir == NULL)
		skip();
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		err[0] = '\0';
		assert_null(geo_open(p, err, sizeof(err)));
		assert_non_null(strstr(err, files[i]));
	}
}

/* Write the first n bytes of src to dst, with [from, to) randomised. */
static void
copy_mangled(const char *src, const char *dst, size_t n, size_t from,
    size_t to)
{
	FILE		*in, *out;
	size_t		 i;
	int		 c;
	unsigned	 seed = 307;

	in = fopen(src, "rb");
	out = fopen(dst, "wb");
	assert_non_null(in);
	assert_non_null(out);
	for (i = 0; i < n && (c = getc(in)) != EOF; i++) {
		if (i >= from && i < to)
			c = rand_r(&seed) & 0xff;
		putc(c, out);
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * Issue 6, defect 5: a valid MMDB without country data (an ASN database)
 * was accepted and then sent every client to the default region.
 */
static void
test_no_country_refused(void **state)
{
	const char	*dir = maxmind_dir();
	char		 p[1200], err[512];

	(void)state;
	snprintf(p, sizeof(p), "%s", fixture_named("test-asn.mmdb"));
	err[0] = '\0';
	assert_null(geo_open(p, err, sizeof(err)));
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "no country data"));
	assert_non_null(strstr(err, "GeoLite2-ASN"));
	if (dir == NULL)
		return;
	snprintf(p, sizeof(p), "%s/GeoLite2-ASN-Test.mmdb", dir);
	err[0] = '\0';
	assert_null(geo_open(p, err, sizeof(err)));
	assert_non_null(strstr(err, "GeoLite2-ASN-Test.mmdb"));
	assert_non_null(strstr(err, "no country data"));
}

/* What carries country data must still load: City, Country, ours. */
static void
test_country_dbs_accepted(void **state)
{
	const char	*dir = maxmind_dir();
	const char	*src = getenv("GEO307_SRCDIR");
	const char	*files[] = { "GeoIP2-City-Test.mmdb",
			    "GeoIP2-Country-Test.mmdb", "GeoLite2-City-Test.mmdb",
			    "GeoLite2-Country-Test.mmdb" };
	struct geodb	*db;
	struct stat	 st;
	char		 p[1200], err[512];
	size_t		 i;

	(void)state;
	/* The project's own country-only database, when it was built. */
	snprintf(p, sizeof(p), "%s/data/geoip-country.mmdb", src ? src : ".");
	if (stat(p, &st) == 0) {
		if ((db = geo_open(p, err, sizeof(err))) == NULL)
			fail_msg("%s", err);
		geo_close(db);
	}
	for (i = 0; dir != NULL && i < sizeof(files) / sizeof(files[0]);
	    i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		if ((db = geo_open(p, err, sizeof(err))) == NULL)
			fail_msg("%s", err);
		geo_close(db);
	}
}

/* Truncated copies and random bytes: refused with the file named. */
static void
test_truncated_and_random(void **state)
{
	char		 bad[] = "/tmp/g307-geo-XXXXXX", err[512];
	struct stat	 st;
	size_t		 len, cuts[6], i;
	int		 fd;

	(void)state;
	assert_int_equal(stat(fixture(), &st), 0);
	len = (size_t)st.st_size;
	cuts[0] = 0;
	cuts[1] = 16;
	cuts[2] = len / 4;
	cuts[3] = len / 2;
	cuts[4] = len - 200;
	cuts[5] = len - 1;
	fd = mkstemp(bad);
	assert_true(fd >= 0);
	close(fd);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		copy_mangled(fixture(), bad, cuts[i], 0, 0);
		err[0] = '\0';
		if (geo_open(bad, err, sizeof(err)) != NULL)
			fail_msg("truncated to %zu of %zu bytes: accepted",
			    cuts[i], len);
		assert_non_null(strstr(err, bad));
	}
	/* All random. */
	copy_mangled(fixture(), bad, len, 0, len);
	assert_null(geo_open(bad, err, sizeof(err)));
	assert_non_null(strstr(err, bad));
	/* Tree and data random, metadata intact: MMDB_open succeeds. */
	copy_mangled(fixture(), bad, len, 0, len / 2);
	assert_null(geo_open(bad, err, sizeof(err)));
	assert_non_null(strstr(err, "corrupt MaxMind DB"));
	unlink(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_answers),
		cmocka_unit_test(test_missing_and_corrupt),
		cmocka_unit_test(test_maxmind_city_and_country),
		cmocka_unit_test(test_maxmind_broken),
		cmocka_unit_test(test_no_country_refused),
		cmocka_unit_test(test_country_dbs_accepted),
		cmocka_unit_test(test_truncated_and_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
