/*
 * histo: a log-linear latency histogram in HdrHistogram's design.  Values
 * (nanoseconds, or any unsigned unit) below 2^HISTO_SUB_BITS get a bucket
 * each; above, every power of two is split into 2^(HISTO_SUB_BITS-1)
 * equal buckets, so a value read back is within 2^-HISTO_SUB_BITS
 * (0.4 %) of the one recorded, whatever its magnitude, in fixed memory.
 * Not thread-safe: one per thread, merged at the end.
 */
#ifndef GEO307_HISTO_H
#define GEO307_HISTO_H

#include <stdint.h>

#define HISTO_SUB_BITS	8
#define HISTO_MAX_BITS	44		/* 2^44 ns: about 4.9 hours */
#define HISTO_BUCKETS	((1 << HISTO_SUB_BITS) + \
	(HISTO_MAX_BITS - HISTO_SUB_BITS) * (1 << (HISTO_SUB_BITS - 1)))

struct histo {
	uint64_t	count;
	uint64_t	min, max;	/* exact */
	uint64_t	b[HISTO_BUCKETS];
};

void		histo_init(struct histo *h);
void		histo_record(struct histo *h, uint64_t v);	/* clamped */
void		histo_merge(struct histo *into, const struct histo *from);
/* The value at quantile q in [0, 1] (q = 1 is the exact max); 0 if empty. */
uint64_t	histo_quantile(const struct histo *h, double q);
/* Bucket arithmetic, exposed for the unit tests. */
unsigned	histo_index(uint64_t v);
uint64_t	histo_lowest(unsigned idx);	/* smallest value in bucket */
uint64_t	histo_highest(unsigned idx);	/* largest value in bucket */

#endif
