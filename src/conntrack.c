/*
 * conntrack: a count of open connections per client key.
 *
 * An open-addressing hash table with linear probing.  Entries whose count
 * drops to zero are removed with backward-shift deletion (Knuth's
 * Algorithm R) rather than tombstones, so a long-running process that
 * sees millions of distinct clients never accumulates dead slots and
 * never needs a cleaning rehash.  The table grows at 70% load and shrinks
 * when it falls under 1/8 after a burst, so memory follows the number of
 * clients connected now, not the most ever seen.
 *
 * One mutex guards everything: conntrack is touched when a connection
 * opens or closes, never per request.
 *
 * Keys are client addresses (a /32 or a /64), which a client can choose
 * within its own allocation; the hash is seeded per table from getrandom()
 * so that nobody can precompute a set of keys that all land in one probe
 * run and turn every lookup into a linear scan under the lock.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "conntrack.h"

#define CT_MINCAP	64		/* a power of two */

struct ct_slot {
	uint64_t	key;
	unsigned	count;		/* 0 = empty slot */
};

struct conntrack {
	pthread_mutex_t	 lock;
	struct ct_slot	*slots;
	size_t		 mask;		/* capacity - 1 */
	size_t		 used;		/* slots with count > 0 */
	unsigned	 total;		/* sum of all counts */
	uint64_t	 seed;
};

static uint64_t
ct_hash(const struct conntrack *ct, uint64_t key)
{
	uint64_t x = key ^ ct->seed;

	/* splitmix64's finaliser: every key bit reaches the low bits. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t
ct_find(const struct conntrack *ct, uint64_t key)
{
	size_t	i;

	/* There is always an empty slot (load <= 70%, or cap - 1 on ENOMEM). */
	for (i = ct_hash(ct, key) & ct->mask; ct->slots[i].count != 0;
	    i = (i + 1) & ct->mask)
		if (ct->slots[i].key == key)
			return i;
	return i;
}

/* Move every entry into a table of newcap slots; -1 if out of memory. */
static int
ct_resize(struct conntrack *ct, size_t newcap)
{
	struct ct_slot	*old = ct->slots, *s;
	size_t		 oldcap = ct->mask + 1, i, j;

	if ((s = calloc(newcap, sizeof(*s))) == NULL)
		return -1;
	ct->slots = s;
	ct->mask = newcap - 1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].count == 0)
			continue;
		j = ct_find(ct, old[i].key);
		s[j] = old[i];
	}
	free(old);
	return 0;
}

struct conntrack *
conntrack_new(void)
{
	struct conntrack	*ct;
	struct timespec		 ts;

	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return NULL;
	if ((ct->slots = calloc(CT_MINCAP, sizeof(*ct->slots))) == NULL) {
		free(ct);
		return NULL;
	}
	ct->mask = CT_MINCAP - 1;
	if (getrandom(&ct->seed, sizeof(ct->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(ct->seed)) {
		/* Early boot: no entropy yet.  Worse, but still varies. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ct->seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)ct;
	}
	if (pthread_mutex_init(&ct->lock, NULL) != 0) {
		free(ct->slots);
		free(ct);
		return NULL;
	}
	return ct;
}

void
conntrack_free(struct conntrack *ct)
{
	if (ct == NULL)
		return;
	pthread_mutex_destroy(&ct->lock);
	free(ct->slots);
	free(ct);
}

unsigned
conntrack_acquire(struct conntrack *ct, uint64_t key)
{
	size_t		 i, cap;
	unsigned	 n;

	pthread_mutex_lock(&ct->lock);
	if (ct->total == UINT_MAX) {
		/* Cannot happen with real fds; never wrap to "empty". */
		pthread_mutex_unlock(&ct->lock);
		return UINT_MAX;
	}
	i = ct_find(ct, key);
	if (ct->slots[i].count == 0) {
		cap = ct->mask + 1;
		if ((ct->used + 1) * 10 > cap * 7) {
			/*
			 * If growing fails we go on filling this table; only
			 * the very last free slot is refused, because
			 * ct_find needs one empty slot to stop at.
			 */
			if (ct_resize(ct, cap * 2) == 0)
				i = ct_find(ct, key);
			else if (ct->used + 2 > cap) {
				pthread_mutex_unlock(&ct->lock);
				return UINT_MAX;
			}
		}
		ct->slots[i].key = key;
		ct->used++;
	}
	n = ++ct->slots[i].count;
	ct->total++;
	pthread_mutex_unlock(&ct->lock);
	return n;
}

void
conntrack_release(struct conntrack *ct, uint64_t key)
{
	size_t	i, j, k, cap;

	pthread_mutex_lock(&ct->lock);
	i = ct_find(ct, key);
	/* Releasing what was never acquired is a caller bug: ignore it. */
	if (ct->slots[i].count == 0) {
		pthread_mutex_unlock(&ct->lock);
		return;
	}
	ct->total--;
	if (--ct->slots[i].count > 0) {
		pthread_mutex_unlock(&ct->lock);
		return;
	}
	ct->used--;
	/*
	 * Backward-shift deletion: pull later entries of the probe run into
	 * the hole unless their home slot lies cyclically in (i, j], where
	 * moving them would put them before their home and make them
	 * unreachable.
	 */
	j = i;
	for (;;) {
		j = (j + 1) & ct->mask;
		if (ct->slots[j].count == 0)
			break;
		k = ct_hash(ct, ct->slots[j].key) & ct->mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		ct->slots[i] = ct->slots[j];
		i = j;
	}
	ct->slots[i].count = 0;
	cap = ct->mask + 1;
	if (cap > CT_MINCAP && ct->used * 8 < cap)
		(void)ct_resize(ct, cap / 2);	/* failure: keep the big one */
	pthread_mutex_unlock(&ct->lock);
}

unsigned
conntrack_count(struct conntrack *ct, uint64_t key)
{
	unsigned	n;

	pthread_mutex_lock(&ct->lock);
	n = ct->slots[ct_find(ct, key)].count;
	pthread_mutex_unlock(&ct->lock);
	return n;
}

unsigned
conntrack_total(struct conntrack *ct)
{
	unsigned	n;

	pthread_mutex_lock(&ct->lock);
	n = ct->total;
	pthread_mutex_unlock(&ct->lock);
	return n;
}
