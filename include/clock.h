/*
 * clock: the monotonic clock (CLOCK_MONOTONIC), in seconds.
 */
#ifndef GEO307_CLOCK_H
#define GEO307_CLOCK_H

double	clock_mono(void);

#endif
