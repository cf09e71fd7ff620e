/*
 * admin internals: the streamed /fleet answer (admin_fleet.c).
 */
#ifndef GEO307_ADMIN_INTERNAL_H
#define GEO307_ADMIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fleet.h"

struct fleet_stream;

/*
 * A copy of what /fleet prints about f, taken inside the caller's epoch
 * so that the answer can be written long after (a slow client must not
 * hold an epoch: that would stall every reload).  NULL when out of memory.
 */
struct fleet_stream	*admin_fleet_stream_new(const struct fleet *f, double now);
/* libmicrohttpd's content reader: the JSON text, a piece at a time. */
ssize_t			 admin_fleet_stream_read(void *cls, uint64_t pos,
			    char *buf, size_t max);
void			 admin_fleet_stream_free(void *cls);
/* fn(arg) runs when the stream is freed (the admin's count of them). */
void			 admin_fleet_stream_on_free(struct fleet_stream *fs,
			    void (*fn)(void *), void *arg);
/* Bytes the copy holds, for tests and for the cap on concurrent ones. */
size_t			 admin_fleet_stream_size(const struct fleet_stream *fs);

#endif
