/*
 * fleet_rec_server and the value grammars.  Input: first line the server
 * id, then "field=value" lines (a line without '=' is a field with a
 * NULL value); see fake_record_check() in tests/fake_input.h.
 */
#include "fuzz_common.h"
#include "fuzz_runtime.h"
#include "../fake_input.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runtime	*rt;
	char			*s, key[256];
	size_t			 i;

	if (rt == NULL)
		rt = fuzz_runtime("x-forwarded-for");
	s = fuzz_str(data, size);
	(void)fake_record_check(rt->cfg, s);
	/* s is now the id alone: keys of every size, truncation included. */
	for (i = 0; i < 4; i++)
		(void)fleet_rec_key(key, sizeof(key) / (i + 1), s, KEY_SERVER,
		    "url");
	free(s);
	return 0;
}
