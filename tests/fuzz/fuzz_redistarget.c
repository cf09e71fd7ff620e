/* redis_target_parse: "url\nmaster\nsentinel1\nsentinel2...". */
#include "fuzz_common.h"
#include "redis_conn.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redis_target	 t;
	struct strlist		 sent = { 0 };
	char			*s, *master = NULL, *p, *nl, err[256];

	s = fuzz_str(data, size);
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl++ = '\0';
		master = nl;
		if ((nl = strchr(nl, '\n')) != NULL) {
			*nl++ = '\0';
			for (p = strtok(nl, "\n"); p; p = strtok(NULL, "\n"))
				strlist_push(&sent, p);
		}
	}
	memset(&t, 0, sizeof(t));
	if (redis_target_parse(s, &sent, master, 1.0, &t, err,
	    sizeof(err)) == 0)
		redis_target_free(&t);
	strlist_free(&sent);
	free(s);
	return 0;
}
