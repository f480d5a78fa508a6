#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "core/log.h"

#define CERT_VALIDITY_DAYS (3650)

void ht_fingerprint_format(const uint8_t fp[HT_FP_LEN], char out[HT_FP_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < HT_FP_LEN; i++) {
		out[7 + 2 * i] = hex[fp[i] >> 4];
		out[8 + 2 * i] = hex[fp[i] & 0xf];
	}
	out[HT_FP_STRLEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ht_fingerprint_parse(const char *s, uint8_t out[HT_FP_LEN])
{
	if (s == NULL || strlen(s) != HT_FP_STRLEN || strncmp(s, "sha256:", 7) != 0)
		return -1;
	for (size_t i = 0; i < HT_FP_LEN; i++) {
		int hi = hexval(s[7 + 2 * i]), lo = hexval(s[8 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int crt_fingerprint(gnutls_x509_crt_t crt, char fp[HT_FP_STRLEN + 1])
{
	uint8_t id[HT_FP_LEN];
	size_t idlen = sizeof(id);

	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &idlen) < 0 ||
	    idlen != HT_FP_LEN)
		return -1;
	ht_fingerprint_format(id, fp);
	return 0;
}

/* Write a PEM blob to DIR/NAME; O_EXCL unless force, so an existing key is
 * never clobbered by accident. */
static int write_file(const char *dir, const char *name, const gnutls_datum_t *d, mode_t mode,
		      bool force, char *err, size_t errlen)
{
	char path[4096];
	int fd, rc = -1;
	size_t off = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		ht_errbuf(err, errlen, "path too long: %s/%s", dir, name);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), mode);
	if (fd < 0) {
		ht_errbuf(err, errlen, "%s: %s%s", path, strerror(errno),
		       errno == EEXIST ? " (use --force to overwrite)" : "");
		return -1;
	}
	if (force && fchmod(fd, mode) != 0) {
		ht_errbuf(err, errlen, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}
	while (off < d->size) {
		ssize_t n = write(fd, d->data + off, d->size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ht_errbuf(err, errlen, "%s: write: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	rc = 0;
out:
	if (close(fd) != 0 && rc == 0) {
		ht_errbuf(err, errlen, "%s: close: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

int ht_identity_generate(const char *dir, bool force, char fp[HT_FP_STRLEN + 1],
			 char *err, size_t errlen)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = {NULL, 0}, crt_pem = {NULL, 0};
	uint8_t serial[16];
	char cn[64];
	time_t now = time(NULL);
	int rc = -1, ret;

	if ((ret = gnutls_x509_privkey_init(&key)) < 0 ||
	    (ret = gnutls_x509_privkey_generate2(
		     key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
		     NULL, 0)) < 0) {
		ht_errbuf(err, errlen, "key generation: %s", gnutls_strerror(ret));
		goto out;
	}
	/* RFC 5280: serial numbers are positive and at most 20 octets. */
	if ((ret = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0) {
		ht_errbuf(err, errlen, "random: %s", gnutls_strerror(ret));
		goto out;
	}
	serial[0] &= 0x7f;
	if ((ret = gnutls_x509_crt_init(&crt)) < 0 ||
	    (ret = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (ret = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (ret = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (ret = gnutls_x509_crt_set_expiration_time(
		     crt, now + (time_t)CERT_VALIDITY_DAYS * 86400)) < 0 ||
	    (ret = gnutls_x509_crt_set_key(crt, key)) < 0) {
		ht_errbuf(err, errlen, "certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if (crt_fingerprint(crt, fp) != 0) {
		ht_errbuf(err, errlen, "certificate: cannot compute key id");
		goto out;
	}
	/* The name carries no authority (peers pin the key); it only helps an
	 * operator tell certificates apart. */
	snprintf(cn, sizeof(cn), "hatun %.16s", fp + 7);
	if ((ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						 (unsigned)strlen(cn))) < 0 ||
	    (ret = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0 ||
	    (ret = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) {
		ht_errbuf(err, errlen, "certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem)) < 0 ||
	    (ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem)) < 0) {
		ht_errbuf(err, errlen, "export: %s", gnutls_strerror(ret));
		goto out;
	}
	if (write_file(dir, HT_IDENTITY_KEY_FILE, &key_pem, 0600, force, err, errlen) != 0 ||
	    write_file(dir, HT_IDENTITY_CERT_FILE, &crt_pem, 0644, force, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (key_pem.data != NULL) {
		gnutls_memset(key_pem.data, 0, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(crt_pem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

int ht_identity_cert_fingerprint(const char *path, char fp[HT_FP_STRLEN + 1], char *err,
				 size_t errlen)
{
	gnutls_datum_t data = {NULL, 0};
	gnutls_x509_crt_t crt = NULL;
	int rc = -1, ret;

	if ((ret = gnutls_load_file(path, &data)) < 0) {
		ht_errbuf(err, errlen, "%s: cannot read: %s", path, gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_init(&crt)) < 0) {
		ht_errbuf(err, errlen, "%s: %s", path, gnutls_strerror(ret));
		goto out;
	}
	if (gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_PEM) < 0 &&
	    (ret = gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_DER)) < 0) {
		ht_errbuf(err, errlen, "%s: not a certificate: %s", path, gnutls_strerror(ret));
		goto out;
	}
	if (crt_fingerprint(crt, fp) != 0) {
		ht_errbuf(err, errlen, "%s: cannot compute key id", path);
		goto out;
	}
	rc = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(data.data);
	return rc;
}
