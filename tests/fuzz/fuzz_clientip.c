/*
 * clientip_resolve (all three header kinds) and the netaddr parsers:
 * netaddr_parse(_n), netaddr_cidr_parse, netaddr_cidr_list_parse, netaddr_parse_hostport.
 * First byte: selector; the rest: the text.
 */
#include <arpa/inet.h>
#include "fuzz_common.h"
#include "clientip.h"
#include "netaddr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum trust_header_kind kinds[] = { TRUST_XFF,
	    TRUST_FORWARDED, TRUST_SINGLE };
	struct netaddr		 peer, out;
	struct cidr		 c, proxy[2];
	struct cidr_list	 l = { 0 }, proxies = { proxy, 2 };
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			*s, buf[INET6_ADDRSTRLEN];
	size_t			 bad;

	if (size < 1)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0: case 1: case 2:
		netaddr_parse("127.0.0.1", &peer);
		netaddr_cidr_parse("127.0.0.0/8", &proxy[0]);
		netaddr_cidr_parse("10.0.0.0/8", &proxy[1]);
		(void)clientip_resolve(&peer, s, kinds[data[0] % 3],
		    (data[0] & 8) ? &l : &proxies, &out);
		netaddr_str(&out, buf, sizeof(buf));
		break;
	case 3:
		if (netaddr_parse_n((const char *)data + 1, size - 1,
		    &out) == 0)
			netaddr_str(&out, buf, sizeof(buf));
		if (netaddr_parse(s, &out) == 0)
			(void)netaddr_limit_key(&out);
		break;
	case 4:
		if (netaddr_cidr_parse(s, &c) == 0) {
			netaddr_parse("10.1.2.3", &out);
			(void)netaddr_cidr_contains(&c, &out);
		}
		if (netaddr_cidr_list_parse(s, &l, &bad) == 0) {
			(void)netaddr_cidr_list_equal(&l, &l);
			netaddr_cidr_list_free(&l);
		}
		break;
	case 5:
		(void)netaddr_parse_hostport(s, &ss, &sl);
		break;
	}
	free(s);
	return 0;
}
