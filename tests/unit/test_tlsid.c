/*
 * tlsid: loading a certificate chain and key, each way it can be wrong,
 * and the reference count that lets a connection outlive its runtime.
 * The certificates are made here with GnuTLS, so no fixture is stored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tlsid.h"

static char	tmpdir[] = "/tmp/g307-tlsid-XXXXXX";
static time_t	expiry;

struct made {
	gnutls_x509_privkey_t	key;
	gnutls_x509_crt_t	crt;
};

static void
make(struct made *m, const char *cn, const struct made *issuer, int ca)
{
	static unsigned char	serial = 1;

	assert_int_equal(gnutls_x509_privkey_init(&m->key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(m->key,
	    GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
	    0), 0);
	assert_int_equal(gnutls_x509_crt_init(&m->crt), 0);
	assert_int_equal(gnutls_x509_crt_set_version(m->crt, 3), 0);
	assert_int_equal(gnutls_x509_crt_set_serial(m->crt, &serial, 1), 0);
	serial++;
	assert_int_equal(gnutls_x509_crt_set_dn_by_oid(m->crt,
	    GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)), 0);
	assert_int_equal(gnutls_x509_crt_set_activation_time(m->crt,
	    time(NULL) - 60), 0);
	assert_int_equal(gnutls_x509_crt_set_expiration_time(m->crt,
	    expiry), 0);
	assert_int_equal(gnutls_x509_crt_set_key(m->crt, m->key), 0);
	assert_int_equal(gnutls_x509_crt_set_basic_constraints(m->crt, ca,
	    -1), 0);
	if (issuer == NULL)
		issuer = m;
	assert_int_equal(gnutls_x509_crt_sign2(m->crt, issuer->crt,
	    issuer->key, GNUTLS_DIG_SHA256, 0), 0);
}

static void
unmake(struct made *m)
{
	gnutls_x509_crt_deinit(m->crt);
	gnutls_x509_privkey_deinit(m->key);
}

/* Write PEM of certificates (in order, NULL-terminated) or a key. */
static const char *
write_pem(const char *name, const struct made *key, ...)
{
	static char	 path[4][256];
	static int	 slot;
	char		*p = path[slot++ % 4];
	gnutls_datum_t	 d;
	FILE		*f;
	va_list		 ap;
	const struct made *m;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(p, "w"));
	if (key != NULL) {
		assert_int_equal(gnutls_x509_privkey_export2_pkcs8(key->key,
		    GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d), 0);
		fwrite(d.data, 1, d.size, f);
		gnutls_free(d.data);
	}
	va_start(ap, key);
	while ((m = va_arg(ap, const struct made *)) != NULL) {
		assert_int_equal(gnutls_x509_crt_export2(m->crt,
		    GNUTLS_X509_FMT_PEM, &d), 0);
		fwrite(d.data, 1, d.size, f);
		gnutls_free(d.data);
	}
	va_end(ap);
	fclose(f);
	return p;
}

static void
write_text(const char *name, const char *text)
{
	char	 p[256];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
expect_error(const char *cert, const char *key, const char *want)
{
	struct tls_identity	*id;
	char			 err[512] = "";

	id = tlsid_load(cert, key, err, sizeof(err));
	if (id != NULL) {
		tlsid_unref(id);
		fail_msg("loaded %s + %s, want an error with \"%s\"", cert,
		    key, want);
	}
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
test_good_pair(void **state)
{
	struct made		 a;
	struct tls_identity	*id;
	gnutls_pcert_st		*pc;
	gnutls_privkey_t	 k;
	unsigned int		 n;
	char			 err[512];
	const char		*cert, *key;

	(void)state;
	make(&a, "leaf-a.example", NULL, 0);
	cert = write_pem("a.crt", NULL, &a, NULL);
	key = write_pem("a.key", &a, NULL);
	id = tlsid_load(cert, key, err, sizeof(err));
	if (id == NULL)
		fail_msg("%s", err);
	assert_string_equal(tlsid_subject(id), "CN=leaf-a.example");
	assert_int_equal(tlsid_expires(id), expiry);
	tlsid_get(id, &pc, &n, &k);
	assert_int_equal(n, 1);
	assert_non_null(k);
	/* A connection's reference keeps it alive past its runtime's. */
	assert_ptr_equal(tlsid_ref(id), id);
	tlsid_unref(id);
	tlsid_get(id, &pc, &n, &k);
	assert_int_equal(n, 1);
	tlsid_unref(id);
	tlsid_unref(NULL);
	assert_null(tlsid_ref(NULL));
	unmake(&a);
}

static void
test_chain(void **state)
{
	struct made		 ca, leaf;
	struct tls_identity	*id;
	gnutls_pcert_st		*pc;
	gnutls_privkey_t	 k;
	unsigned int		 n;
	char			 err[512];
	const char		*cert, *key;

	(void)state;
	make(&ca, "test CA", NULL, 1);
	make(&leaf, "leaf.example", &ca, 0);
	cert = write_pem("chain.crt", NULL, &leaf, &ca, NULL);
	key = write_pem("leaf.key", &leaf, NULL);
	if ((id = tlsid_load(cert, key, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	tlsid_get(id, &pc, &n, &k);
	assert_int_equal(n, 2);
	assert_string_equal(tlsid_subject(id), "CN=leaf.example");
	tlsid_unref(id);
	/* The issuer first: refused, not served to confuse clients. */
	cert = write_pem("rev.crt", NULL, &ca, &leaf, NULL);
	expect_error(cert, key, "leaf first");
	/* The CA's key with the chain whose leaf is not the CA. */
	cert = write_pem("chain2.crt", NULL, &leaf, &ca, NULL);
	key = write_pem("ca.key", &ca, NULL);
	expect_error(cert, key, "does not belong to the certificate");
	unmake(&leaf);
	unmake(&ca);
}

static void
test_bad_files(void **state)
{
	struct made	 a, b;
	const char	*cert, *key;
	char		 missing[300];

	(void)state;
	make(&a, "a", NULL, 0);
	make(&b, "b", NULL, 0);
	cert = write_pem("a2.crt", NULL, &a, NULL);
	key = write_pem("b2.key", &b, NULL);
	expect_error(cert, key, "does not belong to the certificate");
	snprintf(missing, sizeof(missing), "%s/missing.pem", tmpdir);
	expect_error(missing, key, "missing.pem: cannot read");
	expect_error(cert, missing, "missing.pem: cannot read");
	write_text("junk.crt", "not a certificate\n");
	expect_error(strcat(strcpy(missing, tmpdir), "/junk.crt"), key,
	    "not a PEM certificate chain");
	write_text("empty.crt", "");
	expect_error(strcat(strcpy(missing, tmpdir), "/empty.crt"), key,
	    "not a PEM certificate chain");
	/* Both halves swapped: a key where the certificate goes. */
	expect_error(key, cert, "not a PEM certificate chain");
	write_text("junk.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n");
	expect_error(cert, strcat(strcpy(missing, tmpdir), "/junk.key"),
	    "not an unencrypted PEM private key");
	unmake(&a);
	unmake(&b);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	expiry = time(NULL) + 86400 * 3;
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_pair),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
