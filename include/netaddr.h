/*
 * netaddr: IP addresses and CIDR blocks, parsed and matched without
 * touching the resolver.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * is always stored as the IPv4 address it carries, so that trust lists,
 * per-IP limits and GeoIP lookups see one address, not two spellings.
 */
#ifndef GEO307_NETADDR_H
#define GEO307_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netaddr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* network order; IPv4 uses addr[0..3] */
};

struct cidr {
	struct netaddr	net;
	int		prefix;		/* 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr	*v;
	size_t		 n;
};

/* "1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4" (-> IPv4). 0 on success. */
int	netaddr_parse(const char *s, struct netaddr *out);
/* Same, from a buffer of len bytes that need not be NUL-terminated. */
int	netaddr_parse_n(const char *s, size_t len, struct netaddr *out);
/* From a socket address; v4-mapped IPv6 becomes IPv4.  0 on success. */
int	netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out);
/* To a sockaddr_in/sockaddr_in6 (port 0) for libraries that want one. */
socklen_t netaddr_to_sockaddr(const struct netaddr *a,
	    struct sockaddr_storage *out);
/* Canonical text (inet_ntop); buf must hold INET6_ADDRSTRLEN bytes. */
const char *netaddr_str(const struct netaddr *a, char *buf, size_t len);
int	netaddr_equal(const struct netaddr *a, const struct netaddr *b);

/* "10.0.0.0/8", "::1/128"; a bare address means /32 or /128. */
int	netaddr_cidr_parse(const char *s, struct cidr *out);
int	netaddr_cidr_contains(const struct cidr *c, const struct netaddr *a);
int	netaddr_cidr_list_contains(const struct cidr_list *l, const struct netaddr *a);
/* The same blocks in the same order (1), for "needs restart" checks. */
int	netaddr_cidr_list_equal(const struct cidr_list *a, const struct cidr_list *b);
/*
 * Added for config.c and url.c, which both fill cidr_lists: append one
 * block (0 on success), and parse a config list ("a/8, b/16 c") into out
 * (overwritten; empty on failure).  netaddr_cidr_list_parse returns 0, or -1 and
 * sets *bad (if non-NULL) to the index of the first bad item (SIZE_MAX
 * when out of memory).
 */
int	netaddr_cidr_list_push(struct cidr_list *l, const struct cidr *c);
int	netaddr_cidr_list_parse(const char *s, struct cidr_list *out, size_t *bad);
void	netaddr_cidr_list_free(struct cidr_list *l);

/*
 * The key that per-IP limits count under: the /32 of an IPv4 address or
 * the /64 of an IPv6 one (a single host usually owns a whole /64).
 */
uint64_t netaddr_limit_key(const struct netaddr *a);

/* "host:port", "[v6]:port", "*:port"; fills a sockaddr for bind(). */
int	netaddr_parse_hostport(const char *s, struct sockaddr_storage *out,
	    socklen_t *outlen);

/* a and b (IP:port) would take the same connections; a wildcard does. */
int	netaddr_overlap(const struct sockaddr_storage *a,
	    const struct sockaddr_storage *b);

#endif
