/*
 * url: upload-server URLs (SPEC section 3) and the Location we build from
 * them.  The request-target is pasted byte for byte after the server's
 * base: no decoding, no re-encoding, no "//" collapsing.
 */
#ifndef GEO307_URL_H
#define GEO307_URL_H

#include <stddef.h>

#include "config.h"

#define TARGET_MAX	4096		/* longer request-target: 414 */
#define LOCATION_MAX	8192		/* longer Location: 414 */

/*
 * A validated server URL: scheme://host[:port][/base], no userinfo, query
 * or fragment, host lower-cased, base without trailing '/'.
 */
struct server_url {
	char	*base;		/* "https://host:port/base" ready to prepend */
	size_t	 baselen;
	char	*host;		/* lower-case; IPv6 without brackets */
	int	 https;
	int	 port;		/* 0 = default */
};

/* What a server URL must satisfy, taken from the config. */
struct url_policy {
	const struct host_patterns	*allowed_hosts;	/* NULL = any host */
	const struct strlist		*public_names;	/* never a target */
	int				 allow_http;
};

/*
 * Validate s against the policy.  0 on success; otherwise -1 with a short
 * reason in *why ("scheme", "host", "userinfo", "query", "fragment",
 * "port", "not_allowed", "loop", "syntax").
 */
int	url_server_parse(const char *s, const struct url_policy *pol,
	    struct server_url *out, const char **why);
void	url_server_free(struct server_url *u);

/* Does host (lower-case, no brackets) match the patterns? */
int	url_host_patterns_match(const struct host_patterns *p, const char *host);
/* Parse an allowed_hosts list ("a.example", "*.example.com", "10.0.0.0/8"). */
int	url_host_patterns_parse(const char *s, struct host_patterns *out);
void	url_host_patterns_free(struct host_patterns *p);
int	url_host_patterns_valid(const char *s);	/* parses: 1 */

/*
 * The request-target rule of SPEC section 1: first byte '/', every other
 * byte 0x21-0x7E and not '#'.  Returns 200 when acceptable, 414 when
 * longer than TARGET_MAX, 400 otherwise.  target may be NULL (400).
 */
int	url_target_check(const char *target, size_t len);

/*
 * base + target into buf (NUL-terminated).  Returns the length, or -1 if
 * the result would exceed LOCATION_MAX bytes (the caller answers 414).
 */
int	url_location_build(char *buf, size_t bufsz, const char *base,
	    size_t baselen, const char *target, size_t targetlen);

/* host[:port]: a DNS name or an IP address, as in a server URL. */
int	url_host_valid(const char *s);
/* "*" or http(s)://host[:port], nothing after: a CORS origin. */
int	url_origin_valid(const char *s);
/* url_server_parse's reason ("scheme", "loop", ...) in an operator's words. */
const char *url_why_text(const char *why);

#endif
