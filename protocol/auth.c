/*
 * auth.c - RSA encryption of a password for caching_sha2_password.
 */
#include "config.h"
#include "protocol/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

bool auth_sha2_encrypt(const uint8_t *pem, size_t pemlen, const uint8_t *pw, size_t pwlen,
		       const uint8_t *scramble, size_t scramble_len, uint8_t **out, size_t *outlen,
		       char *err, size_t errlen)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *x = NULL, *enc = NULL;
	size_t enclen = 0, i;
	bool ok = false;

	*out = NULL;
	*outlen = 0;
	if (scramble_len == 0 || pemlen > 16384 || pwlen > 1024) {
		snprintf(err, errlen, "bad input to the RSA exchange");
		return false;
	}
	bio = BIO_new_mem_buf(pem, (int)pemlen);
	if (bio == NULL || (key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "the backend sent no usable RSA public key");
		goto out;
	}
	x = malloc(pwlen ? pwlen : 1);
	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < pwlen; i++)
		x[i] = pw[i] ^ scramble[i % scramble_len];
	ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_encrypt(ctx, NULL, &enclen, x, pwlen) <= 0) {
		snprintf(err, errlen, "RSA encryption failed (password too long for the key?)");
		goto out;
	}
	enc = malloc(enclen);
	if (enc == NULL || EVP_PKEY_encrypt(ctx, enc, &enclen, x, pwlen) <= 0) {
		snprintf(err, errlen, "RSA encryption failed");
		free(enc);
		enc = NULL;
		goto out;
	}
	*out = enc;
	*outlen = enclen;
	ok = true;
out:
	if (x != NULL) {
		memset(x, 0, pwlen);
		free(x);
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}
