/*
 * Epoch-based reclamation, the smallest version that is correct.
 *
 * Each reader thread owns one slot holding the global epoch it entered
 * with (0 = not reading).  A writer publishes a new object with an atomic
 * exchange, bumps the global epoch to E and waits until no slot holds an
 * epoch below E: a reader that could still see the old pointer entered
 * before the exchange, so its slot holds an older epoch.  All accesses are
 * sequentially consistent, which is what makes that argument hold.
 *
 * Slots are claimed once per thread (a CAS on a fixed array) and given
 * back when the thread exits, so the request path only ever does two
 * atomic stores and a load.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "epoch.h"

#define EPOCH_SLOTS	1024

struct epoch_slot {
	_Atomic uint64_t	epoch;		/* 0 = quiescent */
	atomic_int		used;
	char			pad[64 - sizeof(uint64_t) - sizeof(int)];
};

static struct epoch_slot	slots[EPOCH_SLOTS];
static _Atomic uint64_t		global_epoch = 1;
static pthread_key_t		slot_key;
static pthread_once_t		slot_once = PTHREAD_ONCE_INIT;
static _Thread_local struct epoch_slot *my_slot;
static _Thread_local unsigned	my_depth;

static void
slot_release(void *p)
{
	struct epoch_slot *s = p;

	atomic_store(&s->epoch, 0);
	atomic_store(&s->used, 0);
}

static void
slot_key_init(void)
{
	if (pthread_key_create(&slot_key, slot_release) != 0)
		abort();
}

static struct epoch_slot *
slot_claim(void)
{
	int	 expected;
	size_t	 i;

	pthread_once(&slot_once, slot_key_init);
	for (i = 0; i < EPOCH_SLOTS; i++) {
		expected = 0;
		if (atomic_compare_exchange_strong(&slots[i].used, &expected,
		    1)) {
			pthread_setspecific(slot_key, &slots[i]);
			return &slots[i];
		}
	}
	/* More than EPOCH_SLOTS live threads is a configuration error. */
	fprintf(stderr, "geo307: epoch: more than %d reader threads\n",
	    EPOCH_SLOTS);
	abort();
}

void
epoch_enter(void)
{
	if (my_depth++ > 0)
		return;
	if (my_slot == NULL)
		my_slot = slot_claim();
	atomic_store(&my_slot->epoch, atomic_load(&global_epoch));
}

void
epoch_exit(void)
{
	if (--my_depth > 0)
		return;
	atomic_store(&my_slot->epoch, 0);
}

void
epoch_wait(void)
{
	struct timespec	 ts = { 0, 100000 };	/* 100 us */
	uint64_t	 e, v;
	size_t		 i;

	e = atomic_fetch_add(&global_epoch, 1) + 1;
	for (i = 0; i < EPOCH_SLOTS; i++) {
		if (!atomic_load(&slots[i].used))
			continue;
		while ((v = atomic_load(&slots[i].epoch)) != 0 && v < e)
			nanosleep(&ts, NULL);
	}
}
