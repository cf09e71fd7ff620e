/*
 * respond() with a fake request view.  Input: byte 0 selects the trust
 * header kind and peer, then "METHOD\nTARGET\nName: value\n..." lines.
 */
#include <strings.h>
#include "fuzz_common.h"
#include "fuzz_runtime.h"
#include "respond.h"

struct fake_req {
	const char	*names[16];
	const char	*values[16];
	int		 n;
};

static const char *
fake_header(void *ctx, const char *name, char *buf, size_t size, int *count)
{
	struct fake_req	*f = ctx;
	size_t		 need = 0, len = 0, l;
	int		 i, c = 0;

	for (i = 0; i < f->n; i++)
		if (strcasecmp(f->names[i], name) == 0)
			need += strlen(f->values[i]) + 2;
	buf[0] = '\0';
	if (need > size)		/* as http_request.c: never truncated */
		return header_overflow;
	for (i = 0; i < f->n; i++) {
		if (strcasecmp(f->names[i], name) != 0)
			continue;
		if (c++ > 0) {
			memcpy(buf + len, ", ", 2);
			len += 2;
		}
		l = strlen(f->values[i]);
		memcpy(buf + len, f->values[i], l);
		len += l;
		buf[len] = '\0';
	}
	if (count)
		*count = c;
	return c ? buf : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runtime	*rts[3];
	static const char	*hdrs[3] = { "x-forwarded-for", "forwarded",
				    "x-real-ip" };
	static const char	*peers[4] = { "127.0.0.1", "10.1.1.1",
				    "192.0.2.1", "2001:db8::5" };
	struct fake_req		 fr = { .n = 0 };
	struct request_view	 rv;
	struct answer		 a;
	struct rng		 rng;
	char			*s, *p, *nl, *colon, *target = NULL;
	int			 k;

	if (rts[0] == NULL)
		for (k = 0; k < 3; k++)
			rts[k] = fuzz_runtime(hdrs[k]);
	if (size < 1)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	memset(&rv, 0, sizeof(rv));
	rv.method = s;
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl++ = '\0';
		target = nl;
		if ((nl = strchr(nl, '\n')) != NULL)
			*nl++ = '\0';
	}
	for (p = nl; p != NULL && *p != '\0' && fr.n < 16; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		if ((colon = strchr(p, ':')) == NULL)
			continue;
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		fr.names[fr.n] = p;
		fr.values[fr.n++] = colon;
	}
	rv.target = target;
	rv.targetlen = target ? strlen(target) : 0;
	netaddr_parse(peers[(data[0] >> 2) & 3], &rv.peer);
	rv.header = fake_header;
	rv.ctx = &fr;
	rv.header_bytes = size;
	rv.has_body = data[0] & 16;
	rv.draining = data[0] & 32;
	rv.over_limit = (data[0] & 0xc0) == 0xc0;
	rv.now = 1000;
	rng_seed(&rng, 7);
	respond(rts[data[0] % 3], &rv, (data[0] & 0xc0) == 0x40 ? 400 : 0,
	    &rng, &a);
	answer_free(&a);
	free(s);
	return 0;
}
