/*
 * xoshiro256** (Blackman and Vigna), one generator per thread.  It is not
 * a cryptographic generator and need not be: it only spreads uploads over
 * servers.  What matters is that it is fast, has no shared state and can
 * be made deterministic for tests.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "rng.h"

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z;

	z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* An all-zero state is the one fixed point of xoshiro: never leave it. */
static void
rng_fix_zero(struct rng *r)
{
	uint64_t	x = 0;

	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) {
		r->s[0] = splitmix64(&x);
		r->s[1] = splitmix64(&x);
		r->s[2] = splitmix64(&x);
		r->s[3] = splitmix64(&x);
	}
}

/*
 * The authors' recommendation: expand a 64-bit seed with splitmix64, so
 * that close seeds (1, 2, 3 ... one per thread) give unrelated streams.
 */
void
rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t	x = seed;

	r->s[0] = splitmix64(&x);
	r->s[1] = splitmix64(&x);
	r->s[2] = splitmix64(&x);
	r->s[3] = splitmix64(&x);
	rng_fix_zero(r);
}

/*
 * Seed from the kernel.  getrandom() on 32 bytes does not block once the
 * pool is initialised and is not cut short by signals for requests of
 * up to 256 bytes, but loop anyway.  On failure the generator is still
 * seeded (from the clocks and the pid, unpredictable enough for load
 * spreading) and -1 tells the caller to log it.
 */
int
rng_seed_random(struct rng *r)
{
	struct timespec	 ts[2];
	unsigned char	*p = (unsigned char *)r->s;
	size_t		 got = 0;
	ssize_t		 n;
	uint64_t	 x;

	while (got < sizeof(r->s)) {
		n = getrandom(p + got, sizeof(r->s) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got == sizeof(r->s)) {
		rng_fix_zero(r);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	clock_gettime(CLOCK_MONOTONIC, &ts[1]);
	x = (uint64_t)ts[0].tv_sec * 1000000007ULL ^ (uint64_t)ts[0].tv_nsec ^
	    (uint64_t)ts[1].tv_nsec << 32 ^ (uint64_t)getpid() << 16 ^
	    (uint64_t)(uintptr_t)r;
	rng_seed(r, x);
	return -1;
}

uint64_t
rng_next(struct rng *r)
{
	uint64_t	result, t;

	result = rotl(r->s[1] * 5, 7) * 9;
	t = r->s[1] << 17;
	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return result;
}

/* The top 53 bits: every double in [0, 1) on a 2^-53 grid, never 1. */
double
rng_double(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}
