/*
 * proxyproto: the PROXY protocol header (HAProxy's specification,
 * versions 1 and 2) that an L4 balancer sends before a connection's own
 * bytes.  A pure parser: it reads a buffer and never a socket, so that
 * the acceptor can peek at the bytes that have arrived, ask whether they
 * hold a whole header, and then consume exactly that many (never a byte
 * of the HTTP or TLS that follows).
 */
#ifndef GEO307_PROXYPROTO_H
#define GEO307_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXYPROTO_V1_MAX	107	/* a v1 line, CRLF included */
#define PROXYPROTO_V2_FIXED	16	/* signature, command, family, length */
#define PROXYPROTO_MAX		(PROXYPROTO_V2_FIXED + 65535)

enum proxyproto_status {
	PROXYPROTO_BAD = -1,	/* not a PROXY header: drop the connection */
	PROXYPROTO_MORE = 0,	/* a valid beginning: wait for more bytes */
	PROXYPROTO_DONE = 1	/* a whole header of pp->len bytes */
};

struct proxyproto {
	int			 version;	/* 1 or 2 */
	/*
	 * No client address to use: a v2 LOCAL (a balancer's own health
	 * check), a v1 UNKNOWN, or a v2 PROXY of a family or transport
	 * other than TCP over IPv4/IPv6.  The real peer stands.
	 */
	int			 local;
	int			 v2_local;	/* the v2 LOCAL command itself */
	struct sockaddr_storage	 src;		/* when !local; port included */
	socklen_t		 srclen;
	size_t			 len;		/* DONE: bytes of the header */
	size_t			 want;		/* MORE: bytes worth waiting for */
};

/*
 * Look at the n bytes a connection has sent so far.  DONE fills pp and
 * pp->len; MORE sets pp->want (at least n + 1; the whole header's length
 * once a v2 fixed part is in, else the v1 maximum); BAD as soon as the
 * bytes can no longer begin a valid header.
 */
enum proxyproto_status proxyproto_parse(const uint8_t *buf, size_t n,
	    struct proxyproto *pp);

#endif
