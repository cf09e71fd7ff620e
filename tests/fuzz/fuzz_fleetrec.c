/*
 * fleetrec_server and the value grammars.  Input: first line the server
 * id, then "field=value" lines (a line without '=' is a field with a
 * NULL value).
 */
#include "fuzz_common.h"
#include "fuzz_runtime.h"
#include "fleetrec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runtime	*rt;
	struct server_record	 rec;
	struct reject		 rej;
	const char		*fields[16], *values[16];
	char			*s, *p, *nl, *eq, key[256];
	size_t			 n = 0, i;
	uint32_t		 w;
	enum server_state	 st;
	double			 d;
	int			 dr;

	if (rt == NULL)
		rt = fuzz_runtime("x-forwarded-for");
	s = fuzz_str(data, size);
	if ((nl = strchr(s, '\n')) != NULL)
		*nl++ = '\0';
	for (p = nl; p != NULL && *p != '\0' && n < 16; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		fields[n] = p;
		values[n] = NULL;
		if ((eq = strchr(p, '=')) != NULL) {
			*eq = '\0';
			values[n] = eq + 1;
			(void)fleetrec_weight(values[n], &w);
			(void)fleetrec_state(values[n], &st);
			(void)fleetrec_load(values[n], &d);
			(void)fleetrec_region_state(values[n], &dr);
			(void)fleetrec_maintenance(values[n], &d);
		}
		n++;
	}
	if (fleetrec_server(rt->cfg, s, fields, values, n, &rec, &rej) == 0)
		server_record_free(&rec);
	else
		(void)reject_reason_name(rej.reason);
	for (i = 0; i < 4; i++)
		(void)fleetrec_key(key, sizeof(key) / (i + 1), s, KEY_SERVER,
		    n ? fields[0] : NULL);
	free(s);
	return 0;
}
