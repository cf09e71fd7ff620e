/*
 * runtime: everything a request reads that comes from the config file and
 * the GeoIP file, built as one immutable bundle.  SIGHUP builds a new one
 * and swaps it in atomically; the old one is freed after epoch_wait(), so
 * a request always sees one consistent config, database and fleet.
 */
#ifndef GEO307_RUNTIME_H
#define GEO307_RUNTIME_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>

#include "config.h"
#include "fleet.h"
#include "geo.h"
#include "region.h"
#include "select.h"
#include "token.h"
#include "tlsid.h"

struct runtime {
	struct config		*cfg;
	struct geodb		*geo;
	struct regionmap	*rm;
	/*
	 * The fleet in use: the static one, or the Redis source's latest,
	 * which its thread swaps in while the runtime is published.  Read
	 * it once per request with runtime_fleet().
	 */
	_Atomic(struct fleet *)	 fleet;
	int			*region_labels;	/* metrics label per region */
	struct select_params	 sel;
	struct tls_identity	*tls;		/* [listen] tls_cert, or NULL */
	struct token_keys	 sign;		/* [redirect] sign_keys; n 0: off */
	struct timespec		 geo_mtime;	/* for the 60 s mtime check */
};

/*
 * Build a runtime from a config file: parse, open the GeoIP DB, build the
 * region map and the static fleet.  NULL with a message on failure
 * (*what says which part failed: "config", "geoip" or "tls").
 */
struct runtime	*runtime_load(const char *path, char *err, size_t errlen,
		    const char **what);
/* The same for a reload: restart-only keys keep old's values. */
struct runtime	*runtime_load_over(const char *path, const struct config *old,
		    char *err, size_t errlen, const char **what);
/*
 * The GeoIP file changed (the mtime check): old's config again, from the
 * text it was read from, and old's TLS identity, with the new database.
 * An edit of the config file that nobody signalled stays unapplied.
 */
struct runtime	*runtime_load_geoip(const struct runtime *old, char *err,
		    size_t errlen, const char **what);
void		 runtime_free(struct runtime *rt);

/* rt's fleet (NULL: no snapshot yet); inside the same epoch as rt. */
const struct fleet *runtime_fleet(const struct runtime *rt);
/*
 * Swap f into the runtime in use (the Redis thread): returns the fleet it
 * replaced, which the caller frees after epoch_wait().  The caller must
 * not be inside an epoch when it waits.
 */
struct fleet	*runtime_swap_fleet(struct runtime *rt, struct fleet *f);

/* The runtime in use; call between epoch_enter() and epoch_exit(). */
const struct runtime *runtime_current(void);
/* Publish rt; returns after the previous one has been freed. */
void		 runtime_publish(struct runtime *rt);
/*
 * Reload of a static fleet: carry each server's slow start clock over
 * from old's fleet to rt's (fleet_carry_routable()).  Call before rt is
 * published; does nothing when rt's fleet comes from Redis.
 */
void		 runtime_carry_slow_start(struct runtime *rt,
		    const struct runtime *old);
/*
 * Has the GeoIP file changed on disk (its mtime) since rt loaded it?
 * *now gets the file's mtime (zero when it cannot be read: no change).
 */
int		 runtime_geoip_changed(const struct runtime *rt,
		    struct timespec *now);

#endif
