/*
 * main_check: geo307 --check.  Loads the config and the database as a
 * start would, then looks at what a start would hit beyond them: files
 * it writes, addresses someone else holds, the Redis records.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "main_internal.h"
#include "redis_source.h"
#include "runtime.h"
#include "service.h"
#include "tlsid.h"

/* Say which certificate serves, and shout when it has expired. */
void
main_log_tls(const struct tls_identity *id)
{
	time_t		exp = tlsid_expires(id);
	struct tm	tm;
	char		when[32] = "unknown";

	if (exp != (time_t)-1 && gmtime_r(&exp, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (exp != (time_t)-1 && exp < time(NULL))
		log_warn("TLS certificate %s EXPIRED at %s",
		    tlsid_subject(id), when);
	else
		log_info("TLS certificate %s, valid until %s",
		    tlsid_subject(id), when);
}

/* --check: can a file this process will write be written? */
static void
check_writable(const char *what, const char *path, int *bad)
{
	char	*dir, *slash;

	if (path == NULL || strcmp(path, "stdout") == 0)
		return;
	if (access(path, F_OK) == 0) {
		if (access(path, W_OK) != 0) {
			printf("error: %s %s: not writable: %s\n", what, path,
			    strerror(errno));
			*bad = 1;
		}
		return;
	}
	if ((dir = strdup(path)) == NULL)
		return;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK | X_OK) != 0) {
		printf("error: %s %s: directory %s: %s\n", what, path, dir,
		    strerror(errno));
		*bad = 1;
	}
	free(dir);
}

/*
 * What start would hit beyond the config and the database: files it
 * writes, and addresses someone else holds (only a warning: the holder
 * may be the instance a --replace takes over, or gone by then).
 */
static int
check_service(const struct config *cfg, int replace)
{
	char	err[256];
	size_t	i;
	int	bad = 0;

	check_writable("[log] access", cfg->log.access, &bad);
	check_writable("[redis] cache_file", cfg->redis.url != NULL ?
	    cfg->redis.cache_file : NULL, &bad);
	check_writable("[service] pid_file", cfg->service.pid_file, &bad);
	if (replace)
		return bad;
	for (i = 0; i < cfg->listen.naddrs; i++)
		if (service_addr_free((struct sockaddr *)
		    &cfg->listen.addrs[i].sa, cfg->listen.addrs[i].salen,
		    cfg->listen.addrs[i].text, err, sizeof(err)) != 0)
			printf("warning: %s (a start would refuse; "
			    "--replace hands over)\n", err);
	if (cfg->admin.enabled && service_addr_free((struct sockaddr *)
	    &cfg->admin.addr.sa, cfg->admin.addr.salen, cfg->admin.addr.text,
	    err, sizeof(err)) != 0)
		printf("warning: %s (a start would refuse; --replace hands "
		    "over)\n", err);
	return bad;
}

int
main_check(const char *path, int replace)
{
	struct runtime	*rt;
	const char	*what;
	char		 err[1024];
	int		 rc = 0;

	if ((rt = runtime_load(path, err, sizeof(err), &what)) == NULL) {
		log_err("%s", err);
		return 1;
	}
	printf("%s: ok: %zu regions, %zu static servers; GeoIP %s (%s, "
	    "built %llu)\n", path, rt->cfg->nregions, rt->cfg->nservers,
	    geo_path(rt->geo), geo_type(rt->geo),
	    (unsigned long long)geo_build_epoch(rt->geo));
	if (rt->tls != NULL)
		main_log_tls(rt->tls);
	if (check_service(rt->cfg, replace) != 0)
		rc = -1;
	if (rt->cfg->redis.url != NULL) {
		/* Records the config would reject are logged on stderr. */
		if (redis_source_check(rt, err, sizeof(err)) < 0)
			rc = -1;
		printf("%s\n", err);
	}
	runtime_free(rt);
	return rc < 0 ? 1 : 0;
}
