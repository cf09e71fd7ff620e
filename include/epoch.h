/*
 * epoch: lock-free publication of immutable objects (epoch-based
 * reclamation).  A reader brackets its use of published pointers with
 * epoch_enter()/epoch_exit(); a writer swaps a pointer, calls
 * epoch_wait(), and may then free the old object: every reader that
 * could have seen it has left.  Readers never block and never lock.
 */
#ifndef GEO307_EPOCH_H
#define GEO307_EPOCH_H

void	epoch_enter(void);
void	epoch_exit(void);
/* Wait until every reader that entered before this call has exited. */
void	epoch_wait(void);

#endif
