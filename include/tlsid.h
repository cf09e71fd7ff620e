/*
 * tlsid: the public listener's TLS identity (certificate chain and private
 * key), loaded from PEM files into the form GnuTLS hands to a handshake.
 *
 * libmicrohttpd reads MHD_OPTION_HTTPS_MEM_CERT once, at start.  geo307
 * instead gives it a certificate callback that picks the identity of the
 * runtime in use, so SIGHUP can replace the certificate like any other
 * part of the runtime.  A handshake keeps using the identity it was given
 * after the callback returns, and a connection may outlive the runtime it
 * started under: identities are reference-counted, and each connection
 * holds one reference until it closes.
 */
#ifndef GEO307_TLSID_H
#define GEO307_TLSID_H

#include <stddef.h>
#include <time.h>

#include <gnutls/abstract.h>

struct tls_identity;

/*
 * Read and check a certificate chain and its key: both parse, the key
 * belongs to the first certificate.  NULL with "path: what is wrong".
 */
struct tls_identity	*tlsid_load(const char *cert_path,
			    const char *key_path, char *err, size_t errlen);
struct tls_identity	*tlsid_ref(struct tls_identity *id);
void			 tlsid_unref(struct tls_identity *id);

/* What a gnutls_certificate_retrieve_function2 returns. */
void	 tlsid_get(const struct tls_identity *id,
	    gnutls_pcert_st **pcert, unsigned int *npcert,
	    gnutls_privkey_t *key);
/* The first certificate's subject DN and expiry, for logs. */
const char	*tlsid_subject(const struct tls_identity *id);
time_t		 tlsid_expires(const struct tls_identity *id);

#endif
