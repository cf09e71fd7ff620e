/*
 * token: the signed redirect token.  A router holding sign keys appends
 * g307=<exp>.<kid>.<mac> to a redirect's Location, where mac is the
 * base64url (no padding) HMAC-SHA256, under the key kid names, of
 *
 *	<server id> "\n" <exp> "\n" <method> "\n" <raw target>
 *
 * and the raw target is the request-target exactly as the client sent
 * it, before the token was added.  An upload server that holds the same
 * keys can then check that the client came through the router, to this
 * server, for this method and target, before exp (Unix seconds).
 *
 * Keys: "kid:base64, kid:base64, ..." (commas and/or blanks); the first
 * signs, all verify, so a new key can be rolled out to the upload
 * servers before the router signs with it.
 */
#ifndef GEO307_TOKEN_H
#define GEO307_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_PARAM		"g307="
#define TOKEN_KEY_MIN		32	/* bytes: HMAC-SHA256's own output size */
#define TOKEN_KEY_MAX		256
#define TOKEN_KID_MAX		32	/* [A-Za-z0-9_-]{1,32} */
#define TOKEN_MAC_LEN		43	/* base64url of 32 bytes, no padding */
/* "&g307=" + 20 digits + "." + kid + "." + mac + NUL */
#define TOKEN_SUFFIX_MAX	(6 + 20 + 1 + TOKEN_KID_MAX + 1 + TOKEN_MAC_LEN + 1)

struct token_key {
	char		kid[TOKEN_KID_MAX + 1];
	uint8_t		key[TOKEN_KEY_MAX];
	size_t		len;
};

struct token_keys {
	struct token_key	*v;
	size_t			 n;	/* v[0] signs */
};

enum token_result {
	TOKEN_OK,
	TOKEN_MISSING,		/* no g307 parameter at the end of the query */
	TOKEN_MALFORMED,
	TOKEN_UNKNOWN_KID,
	TOKEN_BAD_MAC,
	TOKEN_EXPIRED,
};

/* Parse a key list.  0, or -1 with a message in err (never a key). */
int	token_keys_parse(const char *spec, struct token_keys *out, char *err,
	    size_t errlen);
void	token_keys_free(struct token_keys *k);

/*
 * What to append to the Location: "?g307=..." when target has no query,
 * "&g307=..." when it has one.  out holds TOKEN_SUFFIX_MAX bytes.
 * 0, or -1 (no key, bad arguments, HMAC failure).
 */
int	token_sign(const struct token_keys *k, const char *server,
	    int64_t exp, const char *method, const char *target, char *out,
	    size_t outlen);

/*
 * Check the token in a received target (the g307 parameter last in its
 * query).  base (may be NULL or "") is the upload server's base path,
 * which the router put before the raw target; it is removed first.
 */
enum token_result token_verify(const struct token_keys *k,
	    const char *server, const char *method, const char *target,
	    const char *base, int64_t now);
const char *token_result_name(enum token_result r);

#endif
