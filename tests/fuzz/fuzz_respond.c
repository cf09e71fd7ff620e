/*
 * respond() with a fake request view.  Input: byte 0 selects the trust
 * header kind and peer, then "METHOD\nTARGET\nName: value\n..." lines.
 */
#include "fuzz_common.h"
#include "fuzz_runtime.h"
#include "../fake_input.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runtime	*rts[3];
	static const char	*hdrs[3] = { "x-forwarded-for", "forwarded",
				    "x-real-ip" };
	static const char	*peers[4] = { "127.0.0.1", "10.1.1.1",
				    "192.0.2.1", "2001:db8::5" };
	struct fake_req		 fr;
	struct request_view	 rv;
	struct answer		 a;
	struct rng		 rng;
	char			*s;
	int			 k;

	if (rts[0] == NULL)
		for (k = 0; k < 3; k++)
			rts[k] = fuzz_runtime(hdrs[k]);
	if (size < 1)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	memset(&rv, 0, sizeof(rv));
	fake_request_parse(s, &rv, &fr);
	netaddr_parse(peers[(data[0] >> 2) & 3], &rv.peer);
	rv.header_bytes = size;
	rv.has_body = data[0] & 16;
	rv.draining = data[0] & 32;
	rv.over_limit = (data[0] & 0xc0) == 0xc0;
	rv.now = 1000;
	rng_seed(&rng, 7);
	respond(rts[data[0] % 3], &rv, (data[0] & 0xc0) == 0x40 ? 400 : 0,
	    &rng, &a);
	respond_answer_free(&a);
	free(s);
	return 0;
}
