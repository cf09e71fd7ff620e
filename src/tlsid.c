/*
 * TLS identity: a certificate chain and its key, checked once at load and
 * then shared, read-only, by every handshake that picked it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tlsid.h"

#define CHAIN_MAX	16		/* certificates in one chain */

struct tls_identity {
	atomic_uint		 refs;
	gnutls_pcert_st		 pcert[CHAIN_MAX];
	unsigned int		 npcert;
	gnutls_privkey_t	 key;
	char			*subject;
	time_t			 expires;
};

static void
identity_free(struct tls_identity *id)
{
	unsigned int	i;

	for (i = 0; i < id->npcert; i++)
		gnutls_pcert_deinit(&id->pcert[i]);
	if (id->key != NULL)
		gnutls_privkey_deinit(id->key);
	gnutls_free(id->subject);
	free(id);
}

/* Does the key belong to the leaf certificate?  Compare public keys. */
static int
key_matches(gnutls_pcert_st *leaf, gnutls_privkey_t key)
{
	gnutls_pubkey_t	pub;
	gnutls_datum_t	a = { NULL, 0 }, b = { NULL, 0 };
	int		same = 0;

	if (gnutls_pubkey_init(&pub) < 0)
		return 0;
	if (gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) >= 0 &&
	    gnutls_pubkey_export2(leaf->pubkey, GNUTLS_X509_FMT_DER, &b) >= 0)
		same = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(pub);
	return same;
}

static void
describe(struct tls_identity *id)
{
	gnutls_x509_crt_t	crt;
	gnutls_datum_t		dn = { NULL, 0 };

	id->expires = (time_t)-1;
	if (gnutls_pcert_export_x509(&id->pcert[0], &crt) < 0)
		return;
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0)
		id->subject = (char *)dn.data;	/* NUL-terminated */
	id->expires = gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
}

struct tls_identity *
tlsid_load(const char *cert_path, const char *key_path, char *err,
    size_t errlen)
{
	struct tls_identity	*id;
	gnutls_datum_t		 cert = { NULL, 0 }, key = { NULL, 0 };
	int			 rc;

	if ((id = calloc(1, sizeof(*id))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&id->refs, 1);
	if ((rc = gnutls_load_file(cert_path, &cert)) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", cert_path,
		    gnutls_strerror(rc));
		goto fail;
	}
	if ((rc = gnutls_load_file(key_path, &key)) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", key_path,
		    gnutls_strerror(rc));
		goto fail;
	}
	/*
	 * The chain must be in order, leaf first: a client given a shuffled
	 * chain may fail to build a path, and that should show here rather
	 * than in the handshakes of some clients only.
	 */
	id->npcert = CHAIN_MAX;
	if ((rc = gnutls_pcert_list_import_x509_raw(id->pcert, &id->npcert,
	    &cert, GNUTLS_X509_FMT_PEM,
	    GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED)) < 0 || id->npcert == 0) {
		id->npcert = 0;
		snprintf(err, errlen, "%s: not a PEM certificate chain "
		    "(leaf first, at most %d): %s", cert_path, CHAIN_MAX,
		    rc < 0 ? gnutls_strerror(rc) : "no certificate");
		goto fail;
	}
	if (gnutls_privkey_init(&id->key) < 0 ||
	    (rc = gnutls_privkey_import_x509_raw(id->key, &key,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		snprintf(err, errlen, "%s: not an unencrypted PEM private "
		    "key: %s", key_path, gnutls_strerror(rc));
		goto fail;
	}
	if (!key_matches(&id->pcert[0], id->key)) {
		snprintf(err, errlen, "%s: the key does not belong to the "
		    "certificate in %s", key_path, cert_path);
		goto fail;
	}
	describe(id);
	gnutls_free(cert.data);
	gnutls_free(key.data);
	return id;
fail:
	gnutls_free(cert.data);
	gnutls_free(key.data);
	identity_free(id);
	return NULL;
}

struct tls_identity *
tlsid_ref(struct tls_identity *id)
{
	if (id != NULL)
		atomic_fetch_add_explicit(&id->refs, 1, memory_order_relaxed);
	return id;
}

void
tlsid_unref(struct tls_identity *id)
{
	if (id != NULL &&
	    atomic_fetch_sub_explicit(&id->refs, 1, memory_order_acq_rel) == 1)
		identity_free(id);
}

void
tlsid_get(const struct tls_identity *id, gnutls_pcert_st **pcert,
    unsigned int *npcert, gnutls_privkey_t *key)
{
	*pcert = (gnutls_pcert_st *)id->pcert;
	*npcert = id->npcert;
	*key = id->key;
}

const char *
tlsid_subject(const struct tls_identity *id)
{
	return id->subject != NULL ? id->subject : "(no subject)";
}

time_t
tlsid_expires(const struct tls_identity *id)
{
	return id->expires;
}
