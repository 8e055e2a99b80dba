/*
 * packet.h - MySQL packet codec: a bounds-checked reader and a growable
 * writer for packet payloads, and the generic OK / ERR / EOF packets.
 *
 * Nothing here touches sockets.  The reader never trusts a length field:
 * every read past the end sets `err` and returns zero/empty, so a parser
 * checks `r.err` once at the end instead of after every field.
 */
#ifndef CUTOVER_PACKET_H
#define CUTOVER_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"   /* WARN_UNUSED */
#include "protocol/mysql.h"

struct pkt_reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool err;          /* sticky: set by any read past the end */
};

static inline void pkt_reader_init(struct pkt_reader *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->err = false;
}

static inline size_t pkt_remaining(const struct pkt_reader *r)
{
	return r->err ? 0 : r->len - r->pos;
}

uint8_t pkt_get_u8(struct pkt_reader *r);
uint16_t pkt_get_u16(struct pkt_reader *r);
uint32_t pkt_get_u24(struct pkt_reader *r);
uint32_t pkt_get_u32(struct pkt_reader *r);
uint64_t pkt_get_u64(struct pkt_reader *r);
/* Length-encoded integer.  *is_null (may be NULL) is set for 0xfb. */
uint64_t pkt_get_lenenc(struct pkt_reader *r, bool *is_null);
/* Returns a pointer into the packet (not NUL-terminated) or NULL. */
const uint8_t *pkt_get_bytes(struct pkt_reader *r, size_t n);
/* Length-encoded string: pointer into the packet, *n its length. */
const uint8_t *pkt_get_lenenc_str(struct pkt_reader *r, size_t *n, bool *is_null);
/* NUL-terminated string: pointer into the packet, *n its length
 * without the NUL; an unterminated string is an error. */
const char *pkt_get_nul_str(struct pkt_reader *r, size_t *n);
void pkt_skip(struct pkt_reader *r, size_t n);

/* Growable byte buffer for building payloads or whole packets. */
struct pkt_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool err;          /* sticky: allocation failed */
};

void pkt_writer_init(struct pkt_writer *w);
void pkt_writer_free(struct pkt_writer *w);
void pkt_put_u8(struct pkt_writer *w, uint8_t v);
void pkt_put_u16(struct pkt_writer *w, uint16_t v);
void pkt_put_u24(struct pkt_writer *w, uint32_t v);
void pkt_put_u32(struct pkt_writer *w, uint32_t v);
void pkt_put_u64(struct pkt_writer *w, uint64_t v);
void pkt_put_lenenc(struct pkt_writer *w, uint64_t v);
void pkt_put_bytes(struct pkt_writer *w, const void *p, size_t n);
void pkt_put_lenenc_str(struct pkt_writer *w, const void *p, size_t n);
void pkt_put_nul_str(struct pkt_writer *w, const char *s);

/*
 * Frame a payload as one or more packets into `out` (appending), starting
 * at sequence id *seq; *seq is advanced past the last frame.  Payloads of
 * 0xffffff bytes and more are split, with an empty trailing frame when the
 * length is an exact multiple, as the protocol requires.
 */
void pkt_frame(struct pkt_writer *out, const uint8_t *payload, size_t len, uint8_t *seq);

/* Header helpers on a 4-byte frame header. */
static inline uint32_t pkt_hdr_len(const uint8_t *h)
{
	return (uint32_t)h[0] | ((uint32_t)h[1] << 8) | ((uint32_t)h[2] << 16);
}
static inline uint8_t pkt_hdr_seq(const uint8_t *h) { return h[3]; }

/* OK packet (0x00, or 0xfe when it ends a result set with DEPRECATE_EOF). */
struct pkt_ok {
	uint64_t affected_rows;
	uint64_t last_insert_id;
	uint16_t status;
	uint16_t warnings;
	size_t status_offset;      /* offset of the status flags in the payload */
	const uint8_t *info;       /* points into the payload */
	size_t info_len;
};

/* Parse an OK packet payload; `caps` are the agreed capabilities. */
bool pkt_parse_ok(const uint8_t *p, size_t len, uint32_t caps, struct pkt_ok *ok) WARN_UNUSED;

/* Build an OK payload (header 0x00) with an optional info string. */
void pkt_build_ok(struct pkt_writer *w, uint32_t caps, uint64_t affected, uint64_t insert_id,
		  uint16_t status, uint16_t warnings, const char *info);

struct pkt_err {
	uint16_t code;
	char sqlstate[6];          /* NUL-terminated; "HY000" when absent */
	const uint8_t *msg;        /* points into the payload */
	size_t msg_len;
};

bool pkt_parse_err(const uint8_t *p, size_t len, uint32_t caps, struct pkt_err *e) WARN_UNUSED;

/* Build an ERR payload: 0xff, code, '#', SQLSTATE, message. */
void pkt_build_err(struct pkt_writer *w, uint16_t code, const char *sqlstate, const char *msg);

/* EOF packet: 0xfe, warnings, status (payload shorter than 9 bytes). */
struct pkt_eof {
	uint16_t warnings;
	uint16_t status;
	size_t status_offset;
};

bool pkt_parse_eof(const uint8_t *p, size_t len, struct pkt_eof *e) WARN_UNUSED;

/* True when a packet with this first byte and length is an EOF packet or
 * (with DEPRECATE_EOF) the OK that replaces it, rather than a row. */
static inline bool pkt_is_eof(uint8_t first, size_t len, uint32_t caps)
{
	if (first != PKT_EOF)
		return false;
	if (caps & CAP_DEPRECATE_EOF)
		return len < PKT_MAX_PAYLOAD;
	return len < 9;
}

#endif
