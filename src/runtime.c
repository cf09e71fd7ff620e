/*
 * The published runtime.  Readers load one pointer inside an epoch; the
 * single writer (the main thread, on start and on reload) exchanges it,
 * waits for the readers that might hold the old one, and frees it.  That
 * is also what makes closing the old GeoIP mapping safe.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "epoch.h"
#include "fleet_log.h"
#include "metrics.h"
#include "runtime.h"

static _Atomic(struct runtime *) current;

static int
geo_mtime(const char *path, struct timespec *ts)
{
	struct stat	st;

	if (stat(path, &st) != 0)
		return -1;
	*ts = st.st_mtim;
	return 0;
}

struct runtime *
runtime_load(const char *path, char *err, size_t errlen, const char **what)
{
	return runtime_load_over(path, NULL, err, errlen, what);
}

/*
 * Everything but the config, which rt has.  tls: the identity to share
 * (the GeoIP check), or NULL to load the configured files.
 */
static struct runtime *
build(struct runtime *rt, struct tls_identity *tls, char *err,
    size_t errlen, const char **what)
{
	struct fleet	*f;
	size_t		 i;

	*what = "geoip";
	(void)geo_mtime(rt->cfg->geoip.database, &rt->geo_mtime);
	if ((rt->geo = geo_open(rt->cfg->geoip.database, err, errlen)) ==
	    NULL)
		goto fail;
	*what = "config";
	if ((rt->rm = region_map_build(rt->cfg, err, errlen)) == NULL)
		goto fail;
	if (rt->cfg->redis.url == NULL) {
		if ((f = fleet_from_config(rt->cfg, rt->rm, err, errlen)) ==
		    NULL)
			goto fail;
		for (i = 0; i < f->nservers; i++)
			f->servers[i].label =
			    metrics_server_label(f->servers[i].id);
		atomic_store(&rt->fleet, f);
	}
	if ((rt->region_labels = calloc(rt->rm->n, sizeof(int))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < rt->rm->n; i++)
		rt->region_labels[i] =
		    metrics_region_label(rt->rm->regions[i].name);
	*what = "tls";
	if (tls != NULL)
		rt->tls = tlsid_ref(tls);
	else if (rt->cfg->listen.tls_cert != NULL &&
	    (rt->tls = tlsid_load(rt->cfg->listen.tls_cert,
	    rt->cfg->listen.tls_key, err, errlen)) == NULL)
		goto fail;
	*what = "config";
	/* Checked when the config was read: this cannot fail but for memory. */
	if (rt->cfg->redirect.sign_keys != NULL &&
	    token_keys_parse(rt->cfg->redirect.sign_keys, &rt->sign, err,
	    errlen) != 0)
		goto fail;
	rt->sel.spill_below = rt->cfg->selection.spill_below;
	rt->sel.slow_start = rt->cfg->selection.slow_start;
	return rt;
fail:
	runtime_free(rt);
	return NULL;
}

struct runtime *
runtime_load_over(const char *path, const struct config *old, char *err,
    size_t errlen, const char **what)
{
	struct runtime	*rt;

	*what = "config";
	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rt->cfg = config_load_over(path, old, err, errlen)) == NULL) {
		runtime_free(rt);
		return NULL;
	}
	return build(rt, NULL, err, errlen, what);
}

struct runtime *
runtime_load_geoip(const struct runtime *old, char *err, size_t errlen,
    const char **what)
{
	struct runtime	*rt;

	*what = "config";
	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rt->cfg = config_load_text(old->cfg->path, old->cfg->text,
	    old->cfg->textlen, old->cfg, err, errlen)) == NULL) {
		runtime_free(rt);
		return NULL;
	}
	return build(rt, old->tls, err, errlen, what);
}

void
runtime_free(struct runtime *rt)
{
	if (rt == NULL)
		return;
	fleet_free(atomic_load(&rt->fleet));
	region_map_free(rt->rm);
	geo_close(rt->geo);
	config_free(rt->cfg);
	free(rt->region_labels);
	tlsid_unref(rt->tls);
	token_keys_free(&rt->sign);
	free(rt);
}

const struct fleet *
runtime_fleet(const struct runtime *rt)
{
	return atomic_load(&((struct runtime *)rt)->fleet);
}

struct fleet *
runtime_swap_fleet(struct runtime *rt, struct fleet *f)
{
	struct fleet	*old = atomic_exchange(&rt->fleet, f);

	/* The caller made f and frees it only after a later swap. */
	fleet_log_note(f);
	return old;
}

const struct runtime *
runtime_current(void)
{
	return atomic_load(&current);
}

void
runtime_publish(struct runtime *rt)
{
	struct runtime	*old;

	old = atomic_exchange(&current, rt);
	if (rt != NULL) {
		/* Its fleet may be swapped (and freed) by the Redis thread. */
		epoch_enter();
		fleet_log_note(runtime_fleet(rt));
		epoch_exit();
	}
	epoch_wait();
	runtime_free(old);
}

void
runtime_carry_slow_start(struct runtime *rt, const struct runtime *old)
{
	struct fleet	*f = atomic_load(&rt->fleet);

	if (f == NULL || f->source != FLEET_CONFIG || old == NULL)
		return;
	/*
	 * Nobody reads rt yet, so its fleet may still be written.  old's
	 * fleet is read inside an epoch: were it a Redis one, the Redis
	 * thread could swap it out and free it meanwhile.
	 */
	epoch_enter();
	fleet_carry_routable(f, runtime_fleet(old), clock_mono());
	epoch_exit();
}

int
runtime_geoip_changed(const struct runtime *rt, struct timespec *now)
{
	memset(now, 0, sizeof(*now));
	if (geo_mtime(rt->cfg->geoip.database, now) != 0)
		return 0;
	return now->tv_sec != rt->geo_mtime.tv_sec ||
	    now->tv_nsec != rt->geo_mtime.tv_nsec;
}
