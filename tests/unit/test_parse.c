/*
 * The grammar of values shared by the config, Redis records, geo307ctl
 * and the kit's flags, and the "did you mean" distance.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "parse.h"

static void
test_parse_helpers(void **state)
{
	unsigned long long	u;
	uint64_t		sz;
	double			d;
	int			b;

	(void)state;
	assert_int_equal(parse_duration("0.1", &d), 0);
	assert_true(d == 0.1);
	assert_int_equal(parse_duration("1.25", &d), 0);
	assert_true(d == 1.25);
	assert_int_equal(parse_duration("007", &d), 0);
	assert_true(d == 7);
	assert_int_equal(parse_duration("-1", &d), -1);
	assert_int_equal(parse_duration("1.2.3", &d), -1);
	assert_int_equal(parse_duration("1234567890123456", &d), -1);

	assert_int_equal(parse_size("0", &sz), 0);
	assert_true(sz == 0);
	assert_int_equal(parse_size("16K", &sz), 0);
	assert_true(sz == 16384);
	assert_int_equal(parse_size("3m", &sz), 0);
	assert_true(sz == 3 * 1048576);
	assert_int_equal(parse_size("2G", &sz), 0);
	assert_true(sz == UINT64_C(2) << 30);
	assert_int_equal(parse_size("17179869184G", &sz), -1);
	assert_int_equal(parse_size("18446744073709551615", &sz), 0);
	assert_true(sz == UINT64_MAX);
	assert_int_equal(parse_size("18446744073709551616", &sz), -1);
	assert_int_equal(parse_size("1T", &sz), -1);

	assert_int_equal(parse_uint("65535", 65535, &u), 0);
	assert_true(u == 65535);
	assert_int_equal(parse_uint("65536", 65535, &u), -1);
	assert_int_equal(parse_uint("+1", 10, &u), -1);
	assert_int_equal(parse_uint(" 1", 10, &u), -1);
	assert_int_equal(parse_uint("", 10, &u), -1);

	assert_int_equal(parse_bool("On", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(parse_bool("FALSE", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(parse_bool("0", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(parse_bool("y", &b), -1);
	assert_int_equal(parse_bool("", &b), -1);
}

static void
test_name_is_valid(void **state)
{
	char	name[80];

	(void)state;
	assert_true(parse_is_name("eu-west.1_a"));
	assert_true(parse_is_name("0"));
	assert_false(parse_is_name(""));
	assert_false(parse_is_name("-eu"));
	assert_false(parse_is_name(".eu"));
	assert_false(parse_is_name("eu west"));
	assert_false(parse_is_name("eu/west"));
	assert_false(parse_is_name("\xc3\xa9u"));
	memset(name, 'x', 63);
	name[63] = '\0';
	assert_true(parse_is_name(name));
	name[63] = 'x';
	name[64] = '\0';
	assert_false(parse_is_name(name));
}

static void
test_decimal(void **state)
{
	double	d;

	(void)state;
	assert_int_equal(parse_decimal("-33.5", 1, &d), 0);
	assert_true(d == -33.5);
	assert_int_equal(parse_decimal("+0.25", 1, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(parse_decimal("-1", 0, &d), -1);
	assert_int_equal(parse_decimal("1.", 1, &d), -1);
	assert_int_equal(parse_decimal(".5", 1, &d), -1);
	assert_int_equal(parse_decimal("1e3", 1, &d), -1);
	assert_int_equal(parse_decimal("inf", 1, &d), -1);
	assert_int_equal(parse_decimal("0x10", 1, &d), -1);
	assert_int_equal(parse_decimal(" 1", 1, &d), -1);
	/* 15 significant digits, leading zeros free, and exactly rounded. */
	assert_int_equal(parse_decimal("000000000000000000001", 0, &d), 0);
	assert_true(d == 1);
	assert_int_equal(parse_decimal("0.123456789012345", 0, &d), 0);
	assert_true(d == 0.123456789012345);
	d = 7;
	assert_int_equal(parse_decimal("1.2x", 1, &d), -1);
	assert_true(d == 7);
}

static void
test_closest(void **state)
{
	static const char *const keys[] = { "address", "threads",
	    "max_connections", "per_ip_connections", "tls_cert", "tls_key" };
	const size_t	n = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	assert_string_equal(parse_closest("adress", keys, n, sizeof(*keys)),
	    "address");
	assert_string_equal(parse_closest("theards", keys, n, sizeof(*keys)),
	    "threads");
	/* Short words take one edit, longer ones two. */
	assert_string_equal(parse_closest("max_conections", keys, n,
	    sizeof(*keys)), "max_connections");
	assert_null(parse_closest("tls", keys, n, sizeof(*keys)));
	/* A tie is no hint: tls_cery is one from tls_cert, two from tls_key. */
	assert_string_equal(parse_closest("tls_cery", keys, n, sizeof(*keys)),
	    "tls_cert");
	assert_null(parse_closest("tls_ke", (const char *const []){ "tls_key",
	    "tls_kex" }, 2, sizeof(char *)));
	/* An exact match is not a typo. */
	assert_null(parse_closest("threads", keys, n, sizeof(*keys)));
	assert_null(parse_closest("zzzzzzz", keys, n, sizeof(*keys)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_helpers),
		cmocka_unit_test(test_name_is_valid),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_closest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
