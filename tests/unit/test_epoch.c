/*
 * Epoch reclamation under contention: readers check that an object they
 * loaded is still alive while a writer keeps replacing and freeing it.
 * A freed object is poisoned before free(), so a premature free shows as
 * a wrong magic (and as use-after-free under ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "epoch.h"

#define LIVE	0x1157ab1eu
#define DEAD	0xdeadbeefu

struct obj {
	_Atomic unsigned	magic;
	unsigned		payload[16];
};

static _Atomic(struct obj *)	cur;
static atomic_int		stop;
static atomic_long		bad, reads;

static struct obj *
obj_new(void)
{
	struct obj	*o = calloc(1, sizeof(*o));

	atomic_store(&o->magic, LIVE);
	return o;
}

static void *
reader(void *arg)
{
	struct obj	*o;
	unsigned	 i;

	(void)arg;
	while (!atomic_load(&stop)) {
		epoch_enter();
		o = atomic_load(&cur);
		for (i = 0; i < 16; i++)
			if (atomic_load(&o->magic) != LIVE)
				atomic_fetch_add(&bad, 1);
		epoch_exit();
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

static void
test_readers_never_see_freed(void **state)
{
	pthread_t	 t[3];
	struct obj	*old;
	int		 i;

	(void)state;
	atomic_store(&cur, obj_new());
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	/* Swap until both sides did real work, whatever the scheduler does. */
	while (atomic_load(&reads) == 0)
		sched_yield();
	for (i = 0; i < 3000 || atomic_load(&reads) < 3000; i++) {
		old = atomic_exchange(&cur, obj_new());
		epoch_wait();
		atomic_store(&old->magic, DEAD);
		free(old);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	free(atomic_load(&cur));
	assert_int_equal(atomic_load(&bad), 0);
	assert_true(atomic_load(&reads) > 0);
}

static atomic_int	in_section, left_section;

static void *
slow_reader(void *arg)
{
	struct timespec	ts = { 0, 200 * 1000 * 1000 };

	(void)arg;
	epoch_enter();
	atomic_store(&in_section, 1);
	nanosleep(&ts, NULL);
	atomic_store(&left_section, 1);
	epoch_exit();
	return NULL;
}

/* epoch_wait must not return while a reader that entered before it is
 * still inside. */
static void
test_wait_blocks_for_reader(void **state)
{
	pthread_t	t;

	(void)state;
	pthread_create(&t, NULL, slow_reader, NULL);
	while (!atomic_load(&in_section))
		;
	epoch_wait();
	assert_int_equal(atomic_load(&left_section), 1);
	pthread_join(t, NULL);
}

/* Nested sections are one section; a quiescent thread blocks nobody. */
static void
test_nesting_and_quiescence(void **state)
{
	struct timespec	a, b;

	(void)state;
	epoch_enter();
	epoch_enter();
	epoch_exit();
	epoch_exit();
	clock_gettime(CLOCK_MONOTONIC, &a);
	epoch_wait();		/* spins if the slot stayed marked */
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers_never_see_freed),
		cmocka_unit_test(test_wait_blocks_for_reader),
		cmocka_unit_test(test_nesting_and_quiescence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
