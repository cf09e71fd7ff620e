/* url_target_check, url_location_build, url_server_parse, host_patterns_*. */
#include "fuzz_common.h"
#include "url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url_policy	 pol = { 0 };
	struct host_patterns	 hp;
	struct server_url	 u;
	struct strlist		 pub = { 0 };
	const char		*why;
	static char		 loc[LOCATION_MAX + 1];
	char			*s, *nl;
	int			 rc;

	if (size < 1)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		rc = url_target_check((const char *)data + 1, size - 1);
		if (rc == 200)
			(void)url_location_build(loc, sizeof(loc),
			    "https://a.example/b", 19, (const char *)data + 1,
			    size - 1);
		break;
	case 1:
		/* url [\n allowed_hosts] */
		pol.allow_http = data[0] & 4;
		memset(&hp, 0, sizeof(hp));
		if ((nl = strchr(s, '\n')) != NULL) {
			*nl++ = '\0';
			if (url_host_patterns_parse(nl, &hp) == 0)
				pol.allowed_hosts = &hp;
		}
		strlist_push(&pub, "redirect.example");
		pol.public_names = &pub;
		if (url_server_parse(s, &pol, &u, &why) == 0) {
			(void)url_location_build(loc, sizeof(loc), u.base,
			    u.baselen, "/x", 2);
			url_server_free(&u);
		}
		url_host_patterns_free(&hp);
		strlist_free(&pub);
		break;
	case 2:
		/* patterns \n host */
		memset(&hp, 0, sizeof(hp));
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = '\0';
		if (url_host_patterns_parse(s, &hp) == 0) {
			(void)url_host_patterns_match(&hp, nl ? nl : "a.example");
			url_host_patterns_free(&hp);
		}
		break;
	}
	free(s);
	return 0;
}
