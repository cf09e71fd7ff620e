/*
 * proxyproto_parse on arbitrary bytes, checking what the acceptor relies
 * on to consume exactly the header and never a byte after it:
 *   DONE: len <= size, the same answer from exactly len bytes, and MORE
 *         from every shorter prefix that is not already BAD;
 *   MORE: want > size and want <= PROXYPROTO_MAX, and MORE again from a
 *         shorter prefix (a beginning never turns BAD by being cut);
 *   BAD:  stays BAD with any bytes appended (a drop is never premature).
 */
#include "fuzz_common.h"
#include "proxyproto.h"

static void
check_done(const uint8_t *data, size_t size, const struct proxyproto *pp)
{
	struct proxyproto	again;

	if (pp->len == 0 || pp->len > size)
		abort();
	if (proxyproto_parse(data, pp->len, &again) != PROXYPROTO_DONE ||
	    again.len != pp->len || again.local != pp->local ||
	    again.srclen != pp->srclen ||
	    memcmp(&again.src, &pp->src, sizeof(again.src)) != 0)
		abort();
	if (proxyproto_parse(data, pp->len - 1, &again) != PROXYPROTO_MORE)
		abort();
	if (!pp->local && pp->src.ss_family != AF_INET &&
	    pp->src.ss_family != AF_INET6)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto	 pp, cut;
	enum proxyproto_status	 r;
	uint8_t			*more;

	r = proxyproto_parse(data, size, &pp);
	if (r == PROXYPROTO_DONE)
		check_done(data, size, &pp);
	else if (r == PROXYPROTO_MORE) {
		if (pp.want <= size || pp.want > PROXYPROTO_MAX)
			abort();
		if (size > 0 && proxyproto_parse(data, size / 2, &cut) !=
		    PROXYPROTO_MORE)
			abort();
	} else if (size > 0) {
		/* The same bytes and a plausible continuation. */
		if ((more = malloc(size + 2)) == NULL)
			return 0;
		memcpy(more, data, size);
		more[size] = '\r';
		more[size + 1] = '\n';
		if (proxyproto_parse(more, size + 2, &cut) != PROXYPROTO_BAD)
			abort();
		free(more);
	}
	return 0;
}
