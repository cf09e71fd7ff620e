/* histo: see histo.h.  Index arithmetic first, then the queries. */
#include <string.h>

#include "histo.h"

#define SUB	(1u << HISTO_SUB_BITS)
#define HALF	(SUB >> 1)

unsigned
histo_index(uint64_t v)
{
	unsigned	msb, shift;

	if (v >= (1ULL << HISTO_MAX_BITS))
		v = (1ULL << HISTO_MAX_BITS) - 1;
	if (v < SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - (HISTO_SUB_BITS - 1);	/* >= 1 */
	return SUB + (shift - 1) * HALF + (unsigned)((v >> shift) - HALF);
}

uint64_t
histo_lowest(unsigned idx)
{
	unsigned	shift;

	if (idx < SUB)
		return idx;
	shift = (idx - SUB) / HALF + 1;
	return ((uint64_t)HALF + (idx - SUB) % HALF) << shift;
}

uint64_t
histo_highest(unsigned idx)
{
	if (idx + 1 >= HISTO_BUCKETS)
		return (1ULL << HISTO_MAX_BITS) - 1;
	return histo_lowest(idx + 1) - 1;
}

void
histo_init(struct histo *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void
histo_record(struct histo *h, uint64_t v)
{
	h->b[histo_index(v)]++;
	h->count++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void
histo_merge(struct histo *into, const struct histo *from)
{
	unsigned	i;

	for (i = 0; i < HISTO_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

/*
 * The bucket holding the ceil(q * count)-th smallest value, read back as
 * its midpoint (half the bucket width of error at most), clamped to the
 * exact min and max so that p100 is the max and p0 the min.
 */
uint64_t
histo_quantile(const struct histo *h, double q)
{
	uint64_t	rank, seen = 0, lo, hi, v;
	unsigned	i;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HISTO_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			break;
	}
	lo = histo_lowest(i);
	hi = histo_highest(i);
	v = lo + (hi - lo) / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}
