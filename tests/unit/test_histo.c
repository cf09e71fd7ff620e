/*
 * The latency histogram: bucket arithmetic is contiguous and monotonic,
 * every value reads back within the advertised relative error, and
 * quantiles match an exact sort of the same samples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "histo.h"
#include "rng.h"

static void
test_buckets_contiguous(void **state)
{
	unsigned	i;

	(void)state;
	assert_int_equal(histo_lowest(0), 0);
	for (i = 0; i + 1 < HISTO_BUCKETS; i++) {
		assert_true(histo_lowest(i) <= histo_highest(i));
		assert_true(histo_highest(i) + 1 == histo_lowest(i + 1));
		assert_int_equal(histo_index(histo_lowest(i)), i);
		assert_int_equal(histo_index(histo_highest(i)), i);
	}
	assert_int_equal(histo_index(UINT64_MAX), HISTO_BUCKETS - 1);
}

/* Midpoint of any value's bucket within 2^-SUB_BITS of the value. */
static void
test_relative_error(void **state)
{
	struct rng	r;
	uint64_t	v, lo, hi, mid;
	double		err;
	int		i;

	(void)state;
	rng_seed(&r, 7);
	for (i = 0; i < 200000; i++) {
		v = rng_next(&r) >> (20 + rng_next(&r) % 44);
		lo = histo_lowest(histo_index(v));
		hi = histo_highest(histo_index(v));
		mid = lo + (hi - lo) / 2;
		assert_true(v >= lo && v <= hi);
		err = v == 0 ? 0 : (double)(v > mid ? v - mid : mid - v) / v;
		assert_true(err <= 1.0 / (1 << HISTO_SUB_BITS));
	}
}

static int
cmp64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_quantiles(void **state)
{
	static uint64_t	v[100000];
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	struct histo	*h = malloc(sizeof(*h)), *a = malloc(sizeof(*a));
	struct rng	 r;
	uint64_t	 exact, got;
	size_t		 i, n = sizeof(v) / sizeof(v[0]);

	(void)state;
	rng_seed(&r, 11);
	histo_init(h);
	histo_init(a);
	for (i = 0; i < n; i++) {
		/* log-uniform 1 us .. 1 s, like latencies */
		v[i] = 1000 + (rng_next(&r) >> (24 + rng_next(&r) % 30));
		histo_record(i % 2 ? h : a, v[i]);
	}
	histo_merge(h, a);
	qsort(v, n, sizeof(v[0]), cmp64);
	assert_int_equal(h->count, n);
	assert_true(histo_quantile(h, 1) == v[n - 1]);
	assert_true(histo_quantile(h, 0) == v[0]);
	for (i = 0; i < 4; i++) {
		exact = v[(size_t)(qs[i] * n + 0.999999) - 1];
		got = histo_quantile(h, qs[i]);
		assert_true((double)(got > exact ? got - exact : exact - got) <=
		    (double)exact / (1 << HISTO_SUB_BITS) + 1);
	}
	histo_init(a);
	assert_int_equal(histo_quantile(a, 0.5), 0);
	histo_record(a, 5000000);
	assert_int_equal(histo_quantile(a, 0.5), 5000000);
	free(h);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_contiguous),
		cmocka_unit_test(test_relative_error),
		cmocka_unit_test(test_quantiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
