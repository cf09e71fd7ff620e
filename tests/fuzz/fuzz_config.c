/* config_load on an arbitrary file. */
#include "fuzz_common.h"
#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	char		 err[1024];

	cfg = config_load(fuzz_file(data, size), err, sizeof(err));
	config_free(cfg);
	return 0;
}
