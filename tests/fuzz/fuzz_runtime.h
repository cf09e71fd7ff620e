/* A runtime for the harnesses that need a config (fleet_rec, fleet_raw, respond). */
#ifndef FUZZ_RUNTIME_H
#define FUZZ_RUNTIME_H
#include "runtime.h"

static struct runtime *
fuzz_runtime(const char *trust_header)
{
	const char	*d = getenv("GEO307_FIXTURES");
	char		 path[128], err[1024];
	const char	*what;
	struct runtime	*rt;
	FILE		*f;

	snprintf(path, sizeof(path), "/tmp/g307-fuzz-rt-%d.conf", (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fprintf(f, "[geoip]\ndatabase = %s/test-city.mmdb\n"
	    "[trust]\nproxies = 127.0.0.1/32 10.0.0.0/8\nheader = %s\n"
	    "[redirect]\nretry_after = 30\n"
	    "allowed_hosts = *.up.example.net 192.0.2.0/24 2001:db8::/32\n"
	    "[lookup]\nprefix = /.geo307/lookup\n"
	    "[cors]\nallow_origins = https://app.example.com\nmax_age = 77\n"
	    "[listen]\nhealth_path = /healthz\n"
	    "[synthetic]\ntokens = s3cret other\n"
	    "[region eu]\nlocation = 53.35, -6.26\ncountries = GB IE\n"
	    "continents = EU AF\nfallback = us\n"
	    "[region us]\nlocation = 38.9, -77.0\ncontinents = NA SA\n"
	    "default = yes\n"
	    "[region ap]\nlocation = 1.35, 103.8\ncontinents = AS OC\n"
	    "[server eu-1]\nurl = https://eu-1.up.example.net/u\nregion = eu\n"
	    "[server us-1]\nurl = https://us-1.up.example.net\nregion = us\n"
	    "[server ap-1]\nurl = https://ap-1.up.example.net\nregion = ap\n",
	    d ? d : "build-san/tests/fixtures", trust_header);
	fclose(f);
	if ((rt = runtime_load(path, err, sizeof(err), &what)) == NULL) {
		fprintf(stderr, "fuzz_runtime: %s (set GEO307_FIXTURES)\n",
		    err);
		abort();
	}
	unlink(path);
	return rt;
}
#endif
