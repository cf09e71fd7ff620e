/*
 * clientip: which address a request comes from.  The TCP peer, unless the
 * peer is a trusted proxy; then the one configured header is walked right
 * to left (SPEC section 1).
 */
#ifndef GEO307_CLIENTIP_H
#define GEO307_CLIENTIP_H

#include "config.h"
#include "netaddr.h"

enum clientip_source {
	CLIENTIP_PEER,		/* TCP peer used */
	CLIENTIP_HEADER,	/* taken from the trusted header */
	CLIENTIP_MALFORMED	/* header present but a bad entry ended the walk */
};

/*
 * peer: the TCP peer.  header: all lines of the configured header joined
 * with ", " in arrival order, or NULL when absent.  kind: how to read it.
 * proxies: the trusted set.  Writes the client address to *out.
 */
enum clientip_source clientip_resolve(const struct netaddr *peer,
	    const char *header, enum trust_header_kind kind,
	    const struct cidr_list *proxies, struct netaddr *out);

#endif
