/*
 * conntrack: counts per key, removal at zero, the running total, growth
 * to 100k keys and back, and a randomised comparison with a plain array
 * (which is what exercises backward-shift deletion inside probe runs).
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "conntrack.h"

static void
test_counts(void **state)
{
	struct conntrack	*ct;

	(void)state;
	assert_non_null(ct = conntrack_new());
	assert_int_equal(conntrack_count(ct, 1), 0);
	assert_int_equal(conntrack_total(ct), 0);
	assert_int_equal(conntrack_acquire(ct, 1), 1);
	assert_int_equal(conntrack_acquire(ct, 1), 2);
	assert_int_equal(conntrack_acquire(ct, 2), 1);
	/* Key 0 and the all-ones key are ordinary keys. */
	assert_int_equal(conntrack_acquire(ct, 0), 1);
	assert_int_equal(conntrack_acquire(ct, UINT64_MAX), 1);
	assert_int_equal(conntrack_count(ct, 1), 2);
	assert_int_equal(conntrack_count(ct, 2), 1);
	assert_int_equal(conntrack_count(ct, 0), 1);
	assert_int_equal(conntrack_count(ct, UINT64_MAX), 1);
	assert_int_equal(conntrack_total(ct), 5);
	conntrack_release(ct, 1);
	assert_int_equal(conntrack_count(ct, 1), 1);
	assert_int_equal(conntrack_total(ct), 4);
	conntrack_free(ct);
	conntrack_free(NULL);
}

static void
test_release_to_zero(void **state)
{
	struct conntrack	*ct;

	(void)state;
	assert_non_null(ct = conntrack_new());
	conntrack_acquire(ct, 7);
	conntrack_acquire(ct, 7);
	conntrack_acquire(ct, 8);
	conntrack_release(ct, 7);
	conntrack_release(ct, 7);
	assert_int_equal(conntrack_count(ct, 7), 0);
	assert_int_equal(conntrack_total(ct), 1);
	/* A release too many, or of an unknown key, changes nothing. */
	conntrack_release(ct, 7);
	conntrack_release(ct, 12345);
	assert_int_equal(conntrack_total(ct), 1);
	assert_int_equal(conntrack_count(ct, 8), 1);
	/* The key starts again from scratch. */
	assert_int_equal(conntrack_acquire(ct, 7), 1);
	conntrack_release(ct, 7);
	conntrack_release(ct, 8);
	assert_int_equal(conntrack_total(ct), 0);
	conntrack_free(ct);
}

/* Keys shaped like real ones: consecutive /32s and /64 prefixes. */
static uint64_t
key_of(unsigned i)
{
	return i % 2 ? 0x0a000000u + i : (0x20010db8ULL << 32) + ((uint64_t)i
	    << 16);
}

static void
test_many_keys(void **state)
{
	struct conntrack	*ct;
	const unsigned		 n = 100000;
	unsigned		 i;

	(void)state;
	assert_non_null(ct = conntrack_new());
	for (i = 0; i < n; i++)
		assert_int_equal(conntrack_acquire(ct, key_of(i)), 1);
	for (i = 0; i < n; i += 3)
		assert_int_equal(conntrack_acquire(ct, key_of(i)), 2);
	assert_int_equal(conntrack_total(ct), n + (n + 2) / 3);
	/* Drop every key once: the singles vanish, the doubles stay. */
	for (i = 0; i < n; i++)
		conntrack_release(ct, key_of(i));
	assert_int_equal(conntrack_total(ct), (n + 2) / 3);
	for (i = 0; i < n; i++)
		assert_int_equal(conntrack_count(ct, key_of(i)),
		    i % 3 == 0 ? 1 : 0);
	for (i = 0; i < n; i += 3)
		conntrack_release(ct, key_of(i));
	assert_int_equal(conntrack_total(ct), 0);
	/* Shrunk back and still usable. */
	assert_int_equal(conntrack_acquire(ct, 42), 1);
	assert_int_equal(conntrack_count(ct, 42), 1);
	conntrack_free(ct);
}

/* xorshift64: repeatable without touching the global rand() state. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_random_vs_array(void **state)
{
	struct conntrack	*ct;
	unsigned		 ref[700], total = 0, k, i, round;
	uint64_t		 s = 88172645463325252ULL;

	(void)state;
	assert_non_null(ct = conntrack_new());
	for (round = 0; round < 4; round++) {
		for (k = 0; k < 700; k++)
			ref[k] = 0;
		for (i = 0; i < 200000; i++) {
			/* A small key space keeps probe runs long and busy. */
			k = (unsigned)(next(&s) % (round % 2 ? 700 : 90));
			if (next(&s) % 2 && ref[k] > 0) {
				conntrack_release(ct, k * 0x100000000ULL);
				ref[k]--;
				total--;
			} else {
				assert_int_equal(conntrack_acquire(ct,
				    k * 0x100000000ULL), ++ref[k]);
				total++;
			}
			if (i % 997 == 0)
				assert_int_equal(conntrack_total(ct), total);
		}
		for (k = 0; k < 700; k++)
			assert_int_equal(conntrack_count(ct,
			    k * 0x100000000ULL), ref[k]);
		/* Empty it between rounds: exercises grow then shrink. */
		for (k = 0; k < 700; k++)
			while (ref[k] > 0) {
				conntrack_release(ct, k * 0x100000000ULL);
				ref[k]--;
				total--;
			}
		assert_int_equal(conntrack_total(ct), 0);
	}
	conntrack_free(ct);
}

static void *
hammer(void *arg)
{
	struct conntrack	*ct = arg;
	unsigned		 i;

	for (i = 0; i < 20000; i++) {
		conntrack_acquire(ct, i % 300);
		conntrack_acquire(ct, 1000 + i % 7);
		conntrack_release(ct, i % 300);
		conntrack_release(ct, 1000 + i % 7);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct conntrack	*ct;
	pthread_t		 t[4];
	int			 i;

	(void)state;
	assert_non_null(ct = conntrack_new());
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, ct), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(conntrack_total(ct), 0);
	assert_int_equal(conntrack_count(ct, 1003), 0);
	conntrack_free(ct);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_release_to_zero),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_random_vs_array),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
