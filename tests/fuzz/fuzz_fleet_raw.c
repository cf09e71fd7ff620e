/* fleet_raw_load on an arbitrary cache file, then build and save it. */
#include "fuzz_common.h"
#include "fuzz_runtime.h"
#include "fleet.h"
#include "fleet_raw.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runtime		*rt;
	static struct fleet_memory	*mem;
	struct raw_fleet		*raw;
	struct fleet			*f;
	char				 err[1024], out[80];

	if (rt == NULL) {
		rt = fuzz_runtime("x-forwarded-for");
		mem = fleet_raw_memory_new();
	}
	raw = fleet_raw_load(fuzz_file(data, size), 1e12, err, sizeof(err));
	if (raw == NULL)
		return 0;
	if ((f = fleet_raw_build(raw, rt, mem)) != NULL)
		fleet_free(f);
	snprintf(out, sizeof(out), "/tmp/g307-fuzz-save-%d", (int)getpid());
	if (fleet_raw_save(raw, out, err, sizeof(err)) == 0)
		unlink(out);
	fleet_raw_free(raw);
	return 0;
}
