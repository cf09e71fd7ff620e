/*
 * The signed redirect token: a known answer computed with Python's hmac
 * (pins the signed string's format), round trips, every single change
 * rejected, rotation, targets with a query, short keys refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "token.h"

#define K1	"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2	"k2:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="
#define EXP	2000000000LL
#define NOW	1900000000LL

static struct token_keys
keys(const char *spec)
{
	struct token_keys	k;
	char			err[256];

	assert_int_equal(token_keys_parse(spec, &k, err, sizeof(err)), 0);
	return k;
}

/* target + the suffix token_sign gives, into buf. */
static void
signed_target(const struct token_keys *k, const char *server,
    const char *method, const char *target, int64_t exp, char *buf,
    size_t len)
{
	char	suffix[TOKEN_SUFFIX_MAX];

	assert_int_equal(token_sign(k, server, exp, method, target, suffix,
	    sizeof(suffix)), 0);
	snprintf(buf, len, "%s%s", target, suffix);
}

static void
test_known_answer(void **state)
{
	struct token_keys	k = keys(K1);
	char			suffix[TOKEN_SUFFIX_MAX];

	(void)state;
	assert_int_equal(token_sign(&k, "eu-1", EXP, "POST", "/upload?x=1",
	    suffix, sizeof(suffix)), 0);
	assert_string_equal(suffix, "&g307=2000000000.k1."
	    "fUwHlLfylnTOsUnbyuhe0vuVYn9YPmv4Sk7u_lrrdPs");
	token_keys_free(&k);
}

static void
test_round_trip(void **state)
{
	struct token_keys	k = keys(K1);
	char			t[512];

	(void)state;
	signed_target(&k, "eu-1", "POST", "/upload", EXP, t, sizeof(t));
	assert_true(strncmp(t, "/upload?g307=", 13) == 0);
	assert_int_equal(token_verify(&k, "eu-1", "POST", t, NULL, NOW),
	    TOKEN_OK);
	/* Behind a base path: the router put /u before the raw target. */
	snprintf(t, sizeof(t), "/u");
	signed_target(&k, "eu-1", "PUT", "/a%2Fb?x=1&y", EXP, t + 2,
	    sizeof(t) - 2);
	assert_int_equal(token_verify(&k, "eu-1", "PUT", t, "/u/", NOW),
	    TOKEN_OK);
	token_keys_free(&k);
}

static void
test_each_change_rejected(void **state)
{
	struct token_keys	k = keys(K1);
	char			t[512], u[512];
	size_t			i, n;

	(void)state;
	signed_target(&k, "eu-1", "POST", "/upload?x=1", EXP, t, sizeof(t));
	assert_int_equal(token_verify(&k, "eu-2", "POST", t, NULL, NOW),
	    TOKEN_BAD_MAC);
	assert_int_equal(token_verify(&k, "eu-1", "PUT", t, NULL, NOW),
	    TOKEN_BAD_MAC);
	assert_int_equal(token_verify(&k, "eu-1", "POST", t, NULL, EXP + 1),
	    TOKEN_EXPIRED);
	assert_int_equal(token_verify(&k, "eu-1", "POST", t, NULL, EXP),
	    TOKEN_OK);
	/* One byte of the target (before the token), each in turn. */
	n = strlen("/upload?x=1");
	for (i = 0; i < n; i++) {
		memcpy(u, t, sizeof(u));
		u[i] = u[i] == 'z' ? 'y' : 'z';
		assert_int_not_equal(token_verify(&k, "eu-1", "POST", u, NULL,
		    NOW), TOKEN_OK);
	}
	/* The exp (signed), the kid, the mac truncated or changed. */
	memcpy(u, t, sizeof(u));
	u[n + 6] = '1';			/* 2000000000 -> 1000000000 */
	assert_int_equal(token_verify(&k, "eu-1", "POST", u, NULL, 0),
	    TOKEN_BAD_MAC);
	memcpy(u, t, sizeof(u));
	u[strlen(u) - 1] = '\0';
	assert_int_equal(token_verify(&k, "eu-1", "POST", u, NULL, NOW),
	    TOKEN_BAD_MAC);
	memcpy(u, t, sizeof(u));
	u[strlen(u) - 1] = u[strlen(u) - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(token_verify(&k, "eu-1", "POST", u, NULL, NOW),
	    TOKEN_BAD_MAC);
	memcpy(u, t, sizeof(u));
	u[n + 18] = '9';		/* k1 -> k9 */
	assert_int_equal(token_verify(&k, "eu-1", "POST", u, NULL, NOW),
	    TOKEN_UNKNOWN_KID);
	assert_int_equal(token_verify(&k, "eu-1", "POST", "/upload?x=1",
	    NULL, NOW), TOKEN_MISSING);
	assert_int_equal(token_verify(&k, "eu-1", "POST", "/u?g307=x.k1.y",
	    NULL, NOW), TOKEN_MALFORMED);
	token_keys_free(&k);
}

/* k2 signs, k1 and k2 verify; a server with only k1 refuses k2. */
static void
test_rotation(void **state)
{
	struct token_keys	both = keys(K2 ", " K1), old = keys(K1);
	struct token_keys	next = keys(K1 " " K2);
	char			t[512];

	(void)state;
	signed_target(&both, "us-1", "POST", "/x", EXP, t, sizeof(t));
	assert_non_null(strstr(t, ".k2."));
	assert_int_equal(token_verify(&both, "us-1", "POST", t, NULL, NOW),
	    TOKEN_OK);
	assert_int_equal(token_verify(&next, "us-1", "POST", t, NULL, NOW),
	    TOKEN_OK);
	assert_int_equal(token_verify(&old, "us-1", "POST", t, NULL, NOW),
	    TOKEN_UNKNOWN_KID);
	signed_target(&old, "us-1", "POST", "/x", EXP, t, sizeof(t));
	assert_int_equal(token_verify(&both, "us-1", "POST", t, NULL, NOW),
	    TOKEN_OK);
	token_keys_free(&both);
	token_keys_free(&old);
	token_keys_free(&next);
}

/* "?" then "&"; an empty query and a client's own g307 stay signed. */
static void
test_query(void **state)
{
	struct token_keys	k = keys(K1);
	char			t[512];

	(void)state;
	signed_target(&k, "a", "GET", "/p?", EXP, t, sizeof(t));
	assert_true(strncmp(t, "/p?&g307=", 9) == 0);
	assert_int_equal(token_verify(&k, "a", "GET", t, NULL, NOW), TOKEN_OK);
	signed_target(&k, "a", "GET", "/p?g307=mine&b=2", EXP, t, sizeof(t));
	assert_int_equal(token_verify(&k, "a", "GET", t, NULL, NOW), TOKEN_OK);
	token_keys_free(&k);
}

static void
test_bad_keys(void **state)
{
	struct token_keys	k;
	char			err[256];

	(void)state;
	/* 30 bytes: refused, and the message names the kid, not the key. */
	assert_int_equal(token_keys_parse("short:c2hvcnRzaG9ydHNob3J0c2hvcnRz"
	    "aG9ydHNob3J0", &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "short"));
	assert_null(strstr(err, "c2hv"));
	assert_int_equal(token_keys_parse("", &k, err, sizeof(err)), -1);
	assert_int_equal(token_keys_parse("nokey", &k, err, sizeof(err)), -1);
	assert_int_equal(token_keys_parse("a.b:AAECAwQFBgcICQoLDA0ODxAREhMU"
	    "FRYXGBkaGxwdHh8=", &k, err, sizeof(err)), -1);
	assert_int_equal(token_keys_parse("k1:!!!!", &k, err, sizeof(err)), -1);
	assert_int_equal(token_keys_parse(K1 "," K1, &k, err, sizeof(err)), -1);
	assert_int_equal(token_sign(NULL, "a", EXP, "GET", "/", err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_each_change_rejected),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_bad_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
