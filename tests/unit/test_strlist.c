/* Unit tests for strlist: the config list syntax and the list helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "strlist.h"

static void
test_split_commas_spaces_and_empties(void **state)
{
	struct strlist	l;

	(void)state;
	assert_int_equal(strlist_split("a, b c,,d", &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0], "a");
	assert_string_equal(l.v[1], "b");
	assert_string_equal(l.v[2], "c");
	assert_string_equal(l.v[3], "d");
	assert_null(l.v[4]);
	strlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

static void
test_split_tabs_and_leading_trailing_separators(void **state)
{
	struct strlist	l;

	(void)state;
	assert_int_equal(strlist_split(" ,\tGB\t IE ,, ", &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "GB");
	assert_string_equal(l.v[1], "IE");
	strlist_free(&l);
}

static void
test_split_empty_and_separator_only(void **state)
{
	struct strlist	l;

	(void)state;
	l.n = 99;
	assert_int_equal(strlist_split("", &l), 0);
	assert_int_equal(l.n, 0);
	strlist_free(&l);
	assert_int_equal(strlist_split(" , ,\t,", &l), 0);
	assert_int_equal(l.n, 0);
	strlist_free(&l);
	assert_int_equal(strlist_split(NULL, &l), 0);
	assert_int_equal(l.n, 0);
	strlist_free(&l);
}

static void
test_split_single_item_keeps_inner_bytes(void **state)
{
	struct strlist	l;

	(void)state;
	assert_int_equal(strlist_split("[::]:8307", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "[::]:8307");
	strlist_free(&l);
}

static void
test_push_copies_and_grows(void **state)
{
	struct strlist	 l = { NULL, 0 };
	char		 buf[16];
	int		 i;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "item%d", i);
		assert_int_equal(strlist_push(&l, buf), 0);
	}
	/* The list owns copies, not the caller's buffer. */
	strcpy(buf, "changed");
	assert_int_equal(l.n, 100);
	assert_string_equal(l.v[0], "item0");
	assert_string_equal(l.v[99], "item99");
	assert_null(l.v[100]);
	assert_int_equal(strlist_push(&l, NULL), -1);
	assert_int_equal(l.n, 100);
	strlist_free(&l);
}

static void
test_contains_exact_and_ci(void **state)
{
	struct strlist	l;

	(void)state;
	assert_int_equal(strlist_split("Upload.Example.com, other", &l), 0);
	assert_true(strlist_contains(&l, "other"));
	assert_false(strlist_contains(&l, "upload.example.com"));
	assert_true(strlist_contains(&l, "Upload.Example.com"));
	assert_true(strlist_contains_ci(&l, "upload.example.COM"));
	assert_false(strlist_contains_ci(&l, "upload.example"));
	assert_false(strlist_contains(&l, "othe"));
	assert_false(strlist_contains(&l, NULL));
	assert_false(strlist_contains(NULL, "other"));
	strlist_free(&l);
	assert_false(strlist_contains(&l, "other"));
}

static void
test_equal(void **state)
{
	struct strlist	a, b;

	(void)state;
	assert_int_equal(strlist_split("s1:26379, s2:26379", &a), 0);
	assert_int_equal(strlist_split("s1:26379 s2:26379", &b), 0);
	assert_true(strlist_equal(&a, &b));
	strlist_free(&b);
	assert_int_equal(strlist_split("s2:26379, s1:26379", &b), 0);
	assert_false(strlist_equal(&a, &b));
	strlist_free(&b);
	assert_int_equal(strlist_split("s1:26379", &b), 0);
	assert_false(strlist_equal(&a, &b));
	strlist_free(&b);
	assert_int_equal(strlist_split("", &b), 0);
	assert_false(strlist_equal(&a, &b));
	strlist_free(&a);
	assert_true(strlist_equal(&a, &b));
	strlist_free(&b);
}

static void
test_free_is_idempotent(void **state)
{
	struct strlist	l = { NULL, 0 };

	(void)state;
	strlist_free(&l);
	strlist_free(NULL);
	assert_int_equal(strlist_push(&l, "x"), 0);
	strlist_free(&l);
	strlist_free(&l);
	assert_null(l.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_commas_spaces_and_empties),
		cmocka_unit_test(test_split_tabs_and_leading_trailing_separators),
		cmocka_unit_test(test_split_empty_and_separator_only),
		cmocka_unit_test(test_split_single_item_keeps_inner_bytes),
		cmocka_unit_test(test_push_copies_and_grows),
		cmocka_unit_test(test_contains_exact_and_ci),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_free_is_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
