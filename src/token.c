/*
 * token: sign and verify the g307 redirect token (see token.h).  The
 * HMAC is GnuTLS's (gnutls_hmac_fast); base64 decoding of the keys too.
 * Only the base64url encoder is ours: GnuTLS exports none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "strlist.h"
#include "token.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* No padding; out holds 4 * ceil(n / 3) + 1 bytes. */
static void
b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t		i;
	uint32_t	v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = b64url[v >> 18 & 63];
		*out++ = b64url[v >> 12 & 63];
		*out++ = b64url[v >> 6 & 63];
		*out++ = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*out++ = b64url[v >> 18 & 63];
		*out++ = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = b64url[v >> 18 & 63];
		*out++ = b64url[v >> 12 & 63];
		*out++ = b64url[v >> 6 & 63];
	}
	*out = '\0';
}

static int
kid_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > TOKEN_KID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* One "kid:base64" item into *k.  0, or -1 with a message. */
static int
key_parse(const char *item, struct token_key *k, char *err, size_t errlen)
{
	const char	*colon = strchr(item, ':');
	gnutls_datum_t	 in, out = { NULL, 0 };
	size_t		 klen;

	if (colon == NULL || !kid_ok(item, (size_t)(colon - item))) {
		snprintf(err, errlen, "sign key: want kid:base64 with a kid "
		    "of [A-Za-z0-9_-]{1,%d}", TOKEN_KID_MAX);
		return -1;
	}
	klen = (size_t)(colon - item);
	memcpy(k->kid, item, klen);
	k->kid[klen] = '\0';
	in.data = (unsigned char *)(uintptr_t)(colon + 1);
	in.size = (unsigned)strlen(colon + 1);
	if (in.size == 0 || gnutls_base64_decode2(&in, &out) < 0) {
		snprintf(err, errlen, "sign key %s: bad base64", k->kid);
		return -1;
	}
	if (out.size < TOKEN_KEY_MIN || out.size > TOKEN_KEY_MAX) {
		snprintf(err, errlen, "sign key %s: %u bytes, want %d to %d",
		    k->kid, out.size, TOKEN_KEY_MIN, TOKEN_KEY_MAX);
		gnutls_memset(out.data, 0, out.size);
		gnutls_free(out.data);
		return -1;
	}
	memcpy(k->key, out.data, out.size);
	k->len = out.size;
	gnutls_memset(out.data, 0, out.size);
	gnutls_free(out.data);
	return 0;
}

int
token_keys_parse(const char *spec, struct token_keys *out, char *err,
    size_t errlen)
{
	struct strlist	 l = { NULL, 0 };
	size_t		 i, j;

	memset(out, 0, sizeof(*out));
	if (strlist_split(spec, &l) == -1 || l.n == 0) {
		snprintf(err, errlen, "no sign key");
		strlist_free(&l);
		return -1;
	}
	if ((out->v = calloc(l.n, sizeof(*out->v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		strlist_free(&l);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		if (key_parse(l.v[i], &out->v[i], err, errlen) == -1)
			goto fail;
		for (j = 0; j < i; j++)
			if (strcmp(out->v[j].kid, out->v[i].kid) == 0) {
				snprintf(err, errlen, "sign key %s twice",
				    out->v[i].kid);
				goto fail;
			}
		out->n = i + 1;
	}
	strlist_free(&l);
	return 0;
fail:
	out->n = l.n;		/* wipe every slot, filled or not */
	strlist_free(&l);
	token_keys_free(out);
	return -1;
}

void
token_keys_free(struct token_keys *k)
{
	if (k->v != NULL) {
		gnutls_memset(k->v, 0, k->n * sizeof(*k->v));
		free(k->v);
	}
	k->v = NULL;
	k->n = 0;
}

/* mac of the signed string, base64url, into out[TOKEN_MAC_LEN + 1]. */
static int
mac_of(const struct token_key *k, const char *server, int64_t exp,
    const char *method, const char *target, size_t tlen, char *out)
{
	uint8_t	 digest[32];
	char	 head[512];
	char	*msg;
	int	 n, rc;

	n = snprintf(head, sizeof(head), "%s\n%lld\n%s\n", server,
	    (long long)exp, method);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if ((msg = malloc((size_t)n + tlen)) == NULL)
		return -1;
	memcpy(msg, head, (size_t)n);
	memcpy(msg + n, target, tlen);
	rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, k->key, k->len, msg,
	    (size_t)n + tlen, digest);
	free(msg);
	if (rc < 0)
		return -1;
	b64url_encode(digest, sizeof(digest), out);
	return 0;
}

int
token_sign(const struct token_keys *k, const char *server, int64_t exp,
    const char *method, const char *target, char *out, size_t outlen)
{
	char	mac[TOKEN_MAC_LEN + 2];
	int	n;

	if (k == NULL || k->n == 0 || exp < 0 || outlen < TOKEN_SUFFIX_MAX)
		return -1;
	if (mac_of(&k->v[0], server, exp, method, target, strlen(target),
	    mac) == -1)
		return -1;
	n = snprintf(out, outlen, "%c%s%lld.%s.%s",
	    strchr(target, '?') != NULL ? '&' : '?', TOKEN_PARAM,
	    (long long)exp, k->v[0].kid, mac);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
equal_ct(const char *a, const char *b, size_t n)
{
	unsigned char	d = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

/* "<exp>.<kid>.<mac>": exp and kid out, mac pointer and length. */
static int
split_token(const char *t, int64_t *exp, char *kid, const char **mac)
{
	const char	*dot1, *dot2;
	char		*end;
	long long	 v;

	if (*t < '0' || *t > '9')
		return -1;
	v = strtoll(t, &end, 10);
	if (*end != '.' || v < 0 || end - t > 19)
		return -1;
	dot1 = end;
	if ((dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    !kid_ok(dot1 + 1, (size_t)(dot2 - dot1 - 1)))
		return -1;
	memcpy(kid, dot1 + 1, (size_t)(dot2 - dot1 - 1));
	kid[dot2 - dot1 - 1] = '\0';
	*exp = v;
	*mac = dot2 + 1;
	return 0;
}

/* Where the "?g307=" or "&g307=" that ends the target starts, or NULL. */
static const char *
find_param(const char *target)
{
	const char	*q = strchr(target, '?'), *p, *last = NULL;

	if (q == NULL)
		return NULL;
	for (p = q; p != NULL; p = strchr(p + 1, '&'))
		last = p;
	if (strncmp(last + 1, TOKEN_PARAM, strlen(TOKEN_PARAM)) != 0)
		return NULL;
	return last;
}

enum token_result
token_verify(const struct token_keys *k, const char *server,
    const char *method, const char *target, const char *base, int64_t now)
{
	const char	*param, *mac;
	const struct token_key *key = NULL;
	char		 kid[TOKEN_KID_MAX + 1], want[TOKEN_MAC_LEN + 2];
	int64_t		 exp;
	size_t		 i, blen = base != NULL ? strlen(base) : 0;

	if (blen > 0 && base[blen - 1] == '/')
		blen--;			/* the router drops it too */
	if ((param = find_param(target)) == NULL)
		return TOKEN_MISSING;
	if (blen > 0 && strncmp(target, base, blen) != 0)
		return TOKEN_BAD_MAC;
	if (split_token(param + 1 + strlen(TOKEN_PARAM), &exp, kid,
	    &mac) == -1)
		return TOKEN_MALFORMED;
	for (i = 0; i < k->n && key == NULL; i++)
		if (strcmp(k->v[i].kid, kid) == 0)
			key = &k->v[i];
	if (key == NULL)
		return TOKEN_UNKNOWN_KID;
	if (strlen(mac) != TOKEN_MAC_LEN)
		return TOKEN_BAD_MAC;
	if (mac_of(key, server, exp, method, target + blen,
	    (size_t)(param - target) - blen, want) == -1)
		return TOKEN_BAD_MAC;
	if (!equal_ct(mac, want, TOKEN_MAC_LEN))
		return TOKEN_BAD_MAC;
	return exp < now ? TOKEN_EXPIRED : TOKEN_OK;
}

const char *
token_result_name(enum token_result r)
{
	static const char *const names[] = { "ok", "missing", "malformed",
	    "unknown_kid", "bad_mac", "expired" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ?
	    names[r] : "?";
}
