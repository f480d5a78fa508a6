/* hatun — endpoint identities: a private key, a self-signed certificate and
 * the fingerprint by which the other side pins it.
 *
 * The fingerprint is "sha256:" + 64 lowercase hex digits of SHA-256 over the
 * certificate's SubjectPublicKeyInfo (DER), the same value as certtool's
 * "Public Key ID" sha256 and HPKP's pin-sha256.  Pinning the key rather than
 * the certificate lets an operator re-issue a certificate (new validity,
 * new name) without touching every peer's configuration.
 */
#ifndef HATUN_QUIC_IDENTITY_H
#define HATUN_QUIC_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HT_FP_LEN 32                 /* SHA-256 */
#define HT_FP_STRLEN (7 + 2 * HT_FP_LEN) /* "sha256:" + hex, without NUL */

/* File names inside the directory given to ht_identity_generate(). */
#define HT_IDENTITY_KEY_FILE "hatun.key"
#define HT_IDENTITY_CERT_FILE "hatun.crt"

/* Generate an ECDSA P-256 key and a self-signed certificate into DIR (which
 * must exist).  Refuses to overwrite existing files unless force.  The key
 * file is created with mode 0600.  On success writes the fingerprint string
 * to fp and returns 0; on failure returns -1 and a one-line reason in err. */
int ht_identity_generate(const char *dir, bool force, char fp[HT_FP_STRLEN + 1],
			 char *err, size_t errlen);

/* Fingerprint of the certificate in a PEM (or DER) file.  0 or -1 + err. */
int ht_identity_cert_fingerprint(const char *path, char fp[HT_FP_STRLEN + 1],
				 char *err, size_t errlen);

/* Parse "sha256:<64 hex>" (hex in either case) into 32 bytes.  Returns 0, or
 * -1 if the string is not exactly that form. */
int ht_fingerprint_parse(const char *s, uint8_t out[HT_FP_LEN]);

/* Format 32 bytes as "sha256:<64 lowercase hex>". */
void ht_fingerprint_format(const uint8_t fp[HT_FP_LEN], char out[HT_FP_STRLEN + 1]);

#endif
