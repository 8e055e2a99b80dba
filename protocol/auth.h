/*
 * auth.h - the one piece of authentication the proxy performs itself:
 * caching_sha2_password's full authentication when the client's link is
 * TLS (so the client sends its password in clear, to the proxy) and the
 * backend link is not (so the server wants it RSA-encrypted).
 */
#ifndef CUTOVER_AUTH_H
#define CUTOVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define AUTH_CACHING_SHA2 "caching_sha2_password"
#define SHA2_REQUEST_PUBLIC_KEY 0x02   /* client -> server */
#define SHA2_FAST_AUTH_OK       0x03   /* server: 0x01 0x03 */
#define SHA2_PERFORM_FULL_AUTH  0x04   /* server: 0x01 0x04 */

/*
 * Encrypt `pw` (the password with its trailing NUL, as the client sent it)
 * for the server: XOR with the scramble (repeated), then RSA-OAEP with the
 * PEM public key the server sent.  On success *out is malloc'd (caller
 * frees) and true is returned; on failure err says why.
 */
bool auth_sha2_encrypt(const uint8_t *pem, size_t pemlen, const uint8_t *pw, size_t pwlen,
		       const uint8_t *scramble, size_t scramble_len, uint8_t **out, size_t *outlen,
		       char *err, size_t errlen) WARN_UNUSED;

#endif
