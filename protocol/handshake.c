/*
 * handshake.c - parse and patch the connection-phase packets.
 */
#include "config.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"

#include <string.h>

/* Copy a counted string into a fixed buffer, truncating, NUL-terminated. */
static void copy_str(char *dst, size_t dstlen, const void *src, size_t n)
{
	if (src == NULL)
		n = 0;
	if (n >= dstlen)
		n = dstlen - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

bool hs_parse_greeting(const uint8_t *p, size_t len, struct hs_greeting *g)
{
	struct pkt_reader r;
	const char *s;
	const uint8_t *b;
	size_t n;
	uint8_t auth_len = 0;

	memset(g, 0, sizeof(*g));
	pkt_reader_init(&r, p, len);
	g->protocol_version = pkt_get_u8(&r);
	if (r.err || g->protocol_version != 10)
		return false;
	s = pkt_get_nul_str(&r, &n);
	copy_str(g->server_version, sizeof(g->server_version), s, n);
	g->connection_id = pkt_get_u32(&r);
	b = pkt_get_bytes(&r, 8);
	if (b != NULL)
		memcpy(g->scramble, b, 8);
	g->scramble_len = 8;
	pkt_skip(&r, 1);
	g->caps_lo_offset = r.pos;
	g->caps = pkt_get_u16(&r);
	if (r.err)
		return false;
	if (pkt_remaining(&r) == 0)
		return true;
	g->charset = pkt_get_u8(&r);
	g->status = pkt_get_u16(&r);
	g->caps_hi_offset = r.pos;
	g->caps |= (uint32_t)pkt_get_u16(&r) << 16;
	auth_len = pkt_get_u8(&r);
	pkt_skip(&r, 6);
	if (!(g->caps & CAP_LONG_PASSWORD)) {     /* MariaDB: CLIENT_MYSQL clear */
		g->ext_caps_offset = r.pos;
		g->mariadb_ext_caps = pkt_get_u32(&r);
		g->has_mariadb_ext = true;
	} else {
		pkt_skip(&r, 4);
	}
	if (r.err)
		return false;
	if (g->caps & CAP_SECURE_CONNECTION) {
		size_t part2 = auth_len > 8 ? (size_t)auth_len - 8 : 13;

		if (part2 < 13)
			part2 = 13;
		b = pkt_get_bytes(&r, part2);
		if (b == NULL)
			return false;
		/* part 2 is NUL-terminated: 12 bytes of challenge + NUL */
		n = part2 - 1;
		if (n > sizeof(g->scramble) - 8)
			n = sizeof(g->scramble) - 8;
		memcpy(g->scramble + 8, b, n);
		g->scramble_len = 8 + n;
	}
	if (g->caps & CAP_PLUGIN_AUTH) {
		/* some servers omit the NUL at the very end */
		n = pkt_remaining(&r);
		b = pkt_get_bytes(&r, n);
		if (b != NULL) {
			const uint8_t *nul = memchr(b, '\0', n);

			copy_str(g->auth_plugin, sizeof(g->auth_plugin), b,
				 nul != NULL ? (size_t)(nul - b) : n);
		}
	}
	return !r.err;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void hs_patch_greeting_caps(uint8_t *p, const struct hs_greeting *g, uint32_t caps, uint32_t ext_caps)
{
	p[g->caps_lo_offset] = (uint8_t)caps;
	p[g->caps_lo_offset + 1] = (uint8_t)(caps >> 8);
	if (g->caps_hi_offset != 0) {
		p[g->caps_hi_offset] = (uint8_t)(caps >> 16);
		p[g->caps_hi_offset + 1] = (uint8_t)(caps >> 24);
	}
	if (g->ext_caps_offset != 0)
		put_u32(p + g->ext_caps_offset, ext_caps);
}

bool hs_parse_response(const uint8_t *p, size_t len, struct hs_response *hr)
{
	struct pkt_reader r;
	const char *s;
	const uint8_t *b;
	size_t n;

	memset(hr, 0, sizeof(*hr));
	pkt_reader_init(&r, p, len);
	hr->caps = pkt_get_u32(&r);
	if (r.err || !(hr->caps & CAP_PROTOCOL_41))
		return false;   /* the pre-4.1 protocol is not supported */
	hr->max_packet = pkt_get_u32(&r);
	hr->charset = pkt_get_u8(&r);
	pkt_skip(&r, 19);
	hr->mariadb_ext_caps = pkt_get_u32(&r);
	if (r.err)
		return false;
	if (pkt_remaining(&r) == 0) {
		hr->ssl_request = (hr->caps & CAP_SSL) != 0;
		return hr->ssl_request;
	}
	s = pkt_get_nul_str(&r, &n);
	copy_str(hr->user, sizeof(hr->user), s, n);
	if (hr->caps & CAP_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
		(void)pkt_get_lenenc_str(&r, &n, NULL);
	} else if (hr->caps & CAP_SECURE_CONNECTION) {
		n = pkt_get_u8(&r);
		pkt_skip(&r, n);
	} else {
		(void)pkt_get_nul_str(&r, &n);
	}
	if (r.err)
		return false;
	if ((hr->caps & CAP_CONNECT_WITH_DB) && pkt_remaining(&r) > 0) {
		s = pkt_get_nul_str(&r, &n);
		copy_str(hr->db, sizeof(hr->db), s, n);
	}
	if ((hr->caps & CAP_PLUGIN_AUTH) && pkt_remaining(&r) > 0) {
		s = pkt_get_nul_str(&r, &n);
		copy_str(hr->auth_plugin, sizeof(hr->auth_plugin), s, n);
	}
	if ((hr->caps & CAP_CONNECT_ATTRS) && pkt_remaining(&r) > 0) {
		b = pkt_get_lenenc_str(&r, &n, NULL);
		(void)b;
	}
	return !r.err;
}

void hs_patch_response_caps(uint8_t *p, size_t len, uint32_t caps, uint32_t ext_caps)
{
	if (len < 32)
		return;
	put_u32(p, caps);
	put_u32(p + 28, ext_caps);
}

void hs_build_ssl_request(uint8_t out[32], uint32_t caps, uint32_t ext_caps, uint32_t max_packet,
			  uint8_t charset)
{
	memset(out, 0, 32);
	put_u32(out, caps | CAP_SSL);
	put_u32(out + 4, max_packet);
	out[8] = charset;
	put_u32(out + 28, ext_caps);
}

bool hs_parse_change_user(const uint8_t *p, size_t len, uint32_t caps, struct hs_change_user *cu)
{
	struct pkt_reader r;
	const char *s;
	size_t n;

	memset(cu, 0, sizeof(*cu));
	pkt_reader_init(&r, p, len);
	if (pkt_get_u8(&r) != 0x11)
		return false;
	s = pkt_get_nul_str(&r, &n);
	copy_str(cu->user, sizeof(cu->user), s, n);
	if (caps & CAP_SECURE_CONNECTION) {
		n = pkt_get_u8(&r);
		pkt_skip(&r, n);
	} else {
		(void)pkt_get_nul_str(&r, &n);
	}
	s = pkt_get_nul_str(&r, &n);
	copy_str(cu->db, sizeof(cu->db), s, n);
	if (r.err)
		return false;
	if (pkt_remaining(&r) >= 2)
		pkt_skip(&r, 2);        /* character set */
	if ((caps & CAP_PLUGIN_AUTH) && pkt_remaining(&r) > 0) {
		s = pkt_get_nul_str(&r, &n);
		copy_str(cu->auth_plugin, sizeof(cu->auth_plugin), s, n);
	}
	return !r.err;
}
