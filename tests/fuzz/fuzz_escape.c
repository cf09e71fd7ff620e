/* escape_html and escape_json into buffers of every small size. */
#include "fuzz_common.h"
#include "escape.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	 need, got, dsz;
	char	*dst;
	int	 which, nul;

	if (size < 2)
		return 0;
	which = data[0] & 1;
	dsz = data[1];			/* 0..255, often too small */
	data += 2;
	size -= 2;
	/* escape_html passes a NUL through as it is: strlen would stop. */
	nul = !which && memchr(data, 0, size) != NULL;
	dst = malloc(dsz ? dsz : 1);
	need = which ? escape_json(dst, dsz, (const char *)data, size) :
	    escape_html(dst, dsz, (const char *)data, size);
	if (dsz > 0 && !nul && strlen(dst) >= dsz)
		abort();
	free(dst);
	/* The full result must fit in need + 1 and say exactly need. */
	dst = malloc(need + 1);
	got = which ? escape_json(dst, need + 1, (const char *)data, size) :
	    escape_html(dst, need + 1, (const char *)data, size);
	if (got != need || (!nul && strlen(dst) != need))
		abort();
	free(dst);
	return 0;
}
