/*
 * rng: xoshiro256** per thread.  Seeded from getrandom(), or from the
 * configured seed (tests) mixed with a per-thread counter.
 */
#ifndef GEO307_RNG_H
#define GEO307_RNG_H

#include <stdint.h>

struct rng {
	uint64_t	s[4];
};

void		rng_seed(struct rng *r, uint64_t seed);
int		rng_seed_random(struct rng *r);	/* getrandom(); 0 = ok */
uint64_t	rng_next(struct rng *r);
double		rng_double(struct rng *r);	/* uniform in [0, 1) */

#endif
