/*
 * handshake.h - the connection phase: the server's greeting (HandshakeV10),
 * the client's SSLRequest / HandshakeResponse41, and COM_CHANGE_USER.
 *
 * The proxy relays authentication end to end; it only needs to read the
 * capability flags (to mask what it does not implement), the user, the
 * schema and the plugin names, and to patch the flags in place.
 */
#ifndef CUTOVER_HANDSHAKE_H
#define CUTOVER_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct hs_greeting {
	uint8_t protocol_version;
	char server_version[64];
	uint32_t connection_id;
	uint32_t caps;              /* lower and upper 16 bits */
	uint8_t charset;
	uint16_t status;
	uint32_t mariadb_ext_caps;  /* only when CLIENT_MYSQL is clear */
	bool has_mariadb_ext;
	uint8_t scramble[20];       /* the 20-byte challenge, both parts */
	size_t scramble_len;
	char auth_plugin[64];
	size_t caps_lo_offset;      /* offsets into the payload for patching */
	size_t caps_hi_offset;      /* 0 when absent */
	size_t ext_caps_offset;     /* 0 when absent */
};

/* Parse a greeting payload.  An ERR packet (0xff) is not a greeting. */
bool hs_parse_greeting(const uint8_t *p, size_t len, struct hs_greeting *g) WARN_UNUSED;

/* Rewrite the greeting's capability flags in place (payload), and its
 * MariaDB extended ones when it has them. */
void hs_patch_greeting_caps(uint8_t *p, const struct hs_greeting *g, uint32_t caps, uint32_t ext_caps);

struct hs_response {
	uint32_t caps;
	uint32_t max_packet;
	uint8_t charset;
	uint32_t mariadb_ext_caps;
	bool ssl_request;           /* the 32-byte SSLRequest, nothing more */
	char user[256];
	char db[256];
	char auth_plugin[64];
};

/* Parse an SSLRequest or a HandshakeResponse41 payload. */
bool hs_parse_response(const uint8_t *p, size_t len, struct hs_response *r) WARN_UNUSED;

/* Rewrite capability flags (offset 0) and the MariaDB extension flags
 * (offset 28) of a client response payload of at least 32 bytes. */
void hs_patch_response_caps(uint8_t *p, size_t len, uint32_t caps, uint32_t ext_caps);

/* Build the 32-byte SSLRequest payload the proxy sends to a TLS backend. */
void hs_build_ssl_request(uint8_t out[32], uint32_t caps, uint32_t ext_caps, uint32_t max_packet,
			  uint8_t charset);

struct hs_change_user {
	char user[256];
	char db[256];
	char auth_plugin[64];
};

/* Parse a COM_CHANGE_USER payload (first byte 0x11) with the session's caps. */
bool hs_parse_change_user(const uint8_t *p, size_t len, uint32_t caps, struct hs_change_user *cu) WARN_UNUSED;

#endif
