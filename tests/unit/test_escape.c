/* Unit tests for escape: HTML and JSON escaping, truncation, return value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "escape.h"

#define S(lit)	lit, sizeof(lit) - 1

static void
test_html_all_five_specials(void **state)
{
	char	buf[128];
	size_t	n;

	(void)state;
	n = escape_html(buf, sizeof(buf), S("a&b<c>d\"e'f"));
	assert_string_equal(buf, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	assert_int_equal(n, strlen(buf));
}

static void
test_html_plain_text_and_location_bytes_unchanged(void **state)
{
	char	buf[128];

	(void)state;
	assert_int_equal(escape_html(buf, sizeof(buf),
	    S("https://h/a//b/../c?q=%2F+x")), 27);
	assert_string_equal(buf, "https://h/a//b/../c?q=%2F+x");
	/* Not an HTML special: bytes >= 0x80 pass through as they are. */
	assert_int_equal(escape_html(buf, sizeof(buf), S("\xc3\xa9")), 2);
	assert_string_equal(buf, "\xc3\xa9");
}

static void
test_html_query_ampersand_in_href(void **state)
{
	char	buf[128];

	(void)state;
	escape_html(buf, sizeof(buf), S("/upload?x=1&y=<2>"));
	assert_string_equal(buf, "/upload?x=1&amp;y=&lt;2&gt;");
}

static void
test_html_uses_srclen_not_nul(void **state)
{
	char	buf[32];

	(void)state;
	/* srclen stops early: the '&' after it is not read. */
	assert_int_equal(escape_html(buf, sizeof(buf), "ab&", 2), 2);
	assert_string_equal(buf, "ab");
}

static void
test_html_truncation_reports_full_length(void **state)
{
	char	buf[8];
	size_t	n;

	(void)state;
	memset(buf, 'X', sizeof(buf));
	n = escape_html(buf, sizeof(buf), S("abcdefghijkl"));
	assert_int_equal(n, 12);
	assert_true(n >= sizeof(buf));
	assert_string_equal(buf, "abcdefg");
}

static void
test_html_truncation_never_splits_an_entity(void **state)
{
	char	buf[8];
	size_t	n;

	(void)state;
	/* "ab" + "&amp;" = 7 fits in 8; "abc" + "&amp;" = 8 does not. */
	n = escape_html(buf, sizeof(buf), S("ab&"));
	assert_int_equal(n, 7);
	assert_string_equal(buf, "ab&amp;");
	n = escape_html(buf, sizeof(buf), S("abc&d"));
	assert_int_equal(n, 9);
	assert_string_equal(buf, "abc");
}

static void
test_html_zero_size_and_size_one(void **state)
{
	char	buf[4] = "ZZZ";

	(void)state;
	assert_int_equal(escape_html(buf, 0, S("<>")), 8);
	assert_string_equal(buf, "ZZZ");		/* untouched */
	assert_int_equal(escape_html(NULL, 0, S("<>")), 8);
	assert_int_equal(escape_html(buf, 1, S("<>")), 8);
	assert_string_equal(buf, "");
	assert_int_equal(escape_html(buf, sizeof(buf), NULL, 0), 0);
	assert_string_equal(buf, "");
}

static void
test_json_quote_and_backslash(void **state)
{
	char	buf[64];
	size_t	n;

	(void)state;
	n = escape_json(buf, sizeof(buf), S("say \"hi\" \\o/"));
	assert_string_equal(buf, "say \\\"hi\\\" \\\\o/");
	assert_int_equal(n, strlen(buf));
}

static void
test_json_control_bytes(void **state)
{
	char	buf[128];

	(void)state;
	escape_json(buf, sizeof(buf), S("\b\f\n\r\t"));
	assert_string_equal(buf, "\\b\\f\\n\\r\\t");
	escape_json(buf, sizeof(buf), S("a\x01" "b\x1f" "c\x7f"));
	assert_string_equal(buf, "a\\u0001b\\u001fc\\u007f");
	/* An embedded NUL inside srclen is escaped, not a terminator. */
	assert_int_equal(escape_json(buf, sizeof(buf), "x\0y", 3), 8);
	assert_string_equal(buf, "x\\u0000y");
}

static void
test_json_high_bytes_as_u00xx(void **state)
{
	char	buf[128];
	size_t	i, n;

	(void)state;
	n = escape_json(buf, sizeof(buf), S("\xc3\xa9\x80\xff"));
	assert_string_equal(buf, "\\u00c3\\u00a9\\u0080\\u00ff");
	assert_int_equal(n, 24);
	/* Output is pure ASCII whatever the input. */
	for (i = 0; i < n; i++)
		assert_true((unsigned char)buf[i] < 0x80);
}

static void
test_json_printable_ascii_unchanged(void **state)
{
	char	in[0x7f - 0x20], out[256];
	size_t	i, j, n;

	(void)state;
	for (i = 0, j = 0; i < sizeof(in); i++) {
		if (0x20 + i == '"' || 0x20 + i == '\\')
			continue;
		in[j++] = (char)(0x20 + i);
	}
	n = escape_json(out, sizeof(out), in, j);
	assert_int_equal(n, j);
	assert_memory_equal(out, in, j);
	/* '/', '<' and '\'' need no escape in JSON. */
	escape_json(out, sizeof(out), S("</a>'"));
	assert_string_equal(out, "</a>'");
}

static void
test_json_truncation(void **state)
{
	char	buf[8];
	size_t	n;

	(void)state;
	memset(buf, 'X', sizeof(buf));
	n = escape_json(buf, sizeof(buf), S("abcdefghij"));
	assert_int_equal(n, 10);
	assert_string_equal(buf, "abcdefg");
	/* "a" + "\u0001" = 7 fits; "ab" + "\u0001" = 8 does not. */
	n = escape_json(buf, sizeof(buf), S("a\x01"));
	assert_int_equal(n, 7);
	assert_string_equal(buf, "a\\u0001");
	n = escape_json(buf, sizeof(buf), S("ab\x01z"));
	assert_int_equal(n, 9);
	assert_string_equal(buf, "ab");
	assert_int_equal(escape_json(NULL, 0, S("\"")), 2);
	assert_int_equal(escape_json(buf, 1, S("q")), 1);
	assert_string_equal(buf, "");
}

static void
test_log_escape(void **state)
{
	char	buf[64];
	size_t	n;

	(void)state;
	/* As Apache's ap_escape_logitem: quote, backslash, \xHH. */
	n = escape_log(buf, sizeof(buf), S("GET\",\"x\\y"));
	assert_string_equal(buf, "GET\\\",\\\"x\\\\y");
	assert_int_equal(n, strlen(buf));
	escape_log(buf, sizeof(buf), "a\nb\x1b[31m\x7f\xff\0z", 12);
	assert_string_equal(buf, "a\\x0ab\\x1b[31m\\x7f\\xff\\x00z");
	/* Truncation stops before a piece: never half an \xHH. */
	n = escape_log(buf, 6, S("ab\x01" "cd"));
	assert_string_equal(buf, "ab");
	assert_int_equal(n, 8);
}

static void
test_log_cut(void **state)
{
	char	buf[4 * 4 + 4], small[8];

	(void)state;
	assert_string_equal(escape_log_cut(buf, sizeof(buf), "ab", 4), "ab");
	assert_string_equal(escape_log_cut(buf, sizeof(buf), "abcd", 4),
	    "abcd");
	assert_string_equal(escape_log_cut(buf, sizeof(buf), "abcde", 4),
	    "abcd...");
	assert_string_equal(escape_log_cut(buf, sizeof(buf), NULL, 4), "");
	/* Every byte escaped to four still fits, with the cut marker. */
	assert_string_equal(escape_log_cut(buf, sizeof(buf),
	    "\x01\x02\x03\x04\x05", 4), "\\x01\\x02\\x03\\x04...");
	assert_string_equal(escape_log_cut(buf, sizeof(buf), "\"\\", 4),
	    "\\\"\\\\");
	/* A buffer too small for the whole is cut, and terminated. */
	assert_string_equal(escape_log_cut(small, sizeof(small), "abcdefgh",
	    80), "abcd...");
	assert_string_equal(escape_log_cut(small, sizeof(small), "abcd", 80),
	    "abcd");
	assert_string_equal(escape_log_cut(small, 3, "abc", 80), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_all_five_specials),
		cmocka_unit_test(test_html_plain_text_and_location_bytes_unchanged),
		cmocka_unit_test(test_html_query_ampersand_in_href),
		cmocka_unit_test(test_html_uses_srclen_not_nul),
		cmocka_unit_test(test_html_truncation_reports_full_length),
		cmocka_unit_test(test_html_truncation_never_splits_an_entity),
		cmocka_unit_test(test_html_zero_size_and_size_one),
		cmocka_unit_test(test_json_quote_and_backslash),
		cmocka_unit_test(test_json_control_bytes),
		cmocka_unit_test(test_json_high_bytes_as_u00xx),
		cmocka_unit_test(test_json_printable_ascii_unchanged),
		cmocka_unit_test(test_json_truncation),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
