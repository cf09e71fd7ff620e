/*
 * admin: the operator's listener (SPEC section 4): /healthz, /metrics,
 * /route and /fleet, reachable only from [admin] allow.
 */
#ifndef GEO307_ADMIN_H
#define GEO307_ADMIN_H

#include <stddef.h>

#include "config.h"

struct admin;

/* NULL with a message on failure; NULL and no message when disabled. */
struct admin	*admin_start(const struct config *cfg, char *err,
		    size_t errlen);
void		 admin_set_draining(struct admin *ad);
void		 admin_stop(struct admin *ad);
/* Hand-over: new admin connections to this process. */
int		 admin_steer_here(struct admin *ad);

#endif
