/*
 * packet.c - bounds-checked payload reader/writer and OK/ERR/EOF packets.
 */
#include "config.h"
#include "protocol/packet.h"

#include <stdlib.h>
#include <string.h>

/* ---- reader ------------------------------------------------------------ */

static bool need(struct pkt_reader *r, size_t n)
{
	if (r->err || r->len - r->pos < n) {
		r->err = true;
		return false;
	}
	return true;
}

uint8_t pkt_get_u8(struct pkt_reader *r)
{
	if (!need(r, 1))
		return 0;
	return r->p[r->pos++];
}

uint16_t pkt_get_u16(struct pkt_reader *r)
{
	uint16_t v;

	if (!need(r, 2))
		return 0;
	v = (uint16_t)(r->p[r->pos] | (r->p[r->pos + 1] << 8));
	r->pos += 2;
	return v;
}

uint32_t pkt_get_u24(struct pkt_reader *r)
{
	uint32_t v;

	if (!need(r, 3))
		return 0;
	v = pkt_hdr_len(r->p + r->pos);
	r->pos += 3;
	return v;
}

uint32_t pkt_get_u32(struct pkt_reader *r)
{
	uint32_t v;

	if (!need(r, 4))
		return 0;
	v = (uint32_t)r->p[r->pos] | ((uint32_t)r->p[r->pos + 1] << 8) |
	    ((uint32_t)r->p[r->pos + 2] << 16) | ((uint32_t)r->p[r->pos + 3] << 24);
	r->pos += 4;
	return v;
}

uint64_t pkt_get_u64(struct pkt_reader *r)
{
	uint64_t lo, hi;

	if (!need(r, 8))
		return 0;
	lo = pkt_get_u32(r);
	hi = pkt_get_u32(r);
	return lo | (hi << 32);
}

uint64_t pkt_get_lenenc(struct pkt_reader *r, bool *is_null)
{
	uint8_t b = pkt_get_u8(r);

	if (is_null != NULL)
		*is_null = false;
	if (b < 0xfb)
		return b;
	switch (b) {
	case 0xfb:
		if (is_null != NULL)
			*is_null = true;
		return 0;
	case 0xfc:
		return pkt_get_u16(r);
	case 0xfd:
		return pkt_get_u24(r);
	case 0xfe:
		return pkt_get_u64(r);
	default:                /* 0xff is not a valid length */
		r->err = true;
		return 0;
	}
}

const uint8_t *pkt_get_bytes(struct pkt_reader *r, size_t n)
{
	const uint8_t *p;

	if (!need(r, n))
		return NULL;
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

const uint8_t *pkt_get_lenenc_str(struct pkt_reader *r, size_t *n, bool *is_null)
{
	uint64_t len = pkt_get_lenenc(r, is_null);

	*n = 0;
	if (r->err || (is_null != NULL && *is_null))
		return NULL;
	if (len > r->len - r->pos) {
		r->err = true;
		return NULL;
	}
	*n = (size_t)len;
	return pkt_get_bytes(r, (size_t)len);
}

const char *pkt_get_nul_str(struct pkt_reader *r, size_t *n)
{
	const uint8_t *start, *nul;

	*n = 0;
	if (r->err)
		return NULL;
	start = r->p + r->pos;
	nul = memchr(start, '\0', r->len - r->pos);
	if (nul == NULL) {
		r->err = true;
		return NULL;
	}
	*n = (size_t)(nul - start);
	r->pos += *n + 1;
	return (const char *)start;
}

void pkt_skip(struct pkt_reader *r, size_t n)
{
	if (need(r, n))
		r->pos += n;
}

/* ---- writer ------------------------------------------------------------ */

void pkt_writer_init(struct pkt_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void pkt_writer_free(struct pkt_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static bool grow(struct pkt_writer *w, size_t n)
{
	size_t cap;
	uint8_t *nb;

	if (w->err)
		return false;
	if (w->cap - w->len >= n)
		return true;
	cap = w->cap ? w->cap : 64;
	while (cap - w->len < n) {
		if (cap > SIZE_MAX / 2) {
			w->err = true;
			return false;
		}
		cap *= 2;
	}
	nb = realloc(w->buf, cap);
	if (nb == NULL) {
		w->err = true;
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

void pkt_put_bytes(struct pkt_writer *w, const void *p, size_t n)
{
	if (n == 0 || !grow(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void pkt_put_u8(struct pkt_writer *w, uint8_t v)
{
	pkt_put_bytes(w, &v, 1);
}

void pkt_put_u16(struct pkt_writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	pkt_put_bytes(w, b, 2);
}

void pkt_put_u24(struct pkt_writer *w, uint32_t v)
{
	uint8_t b[3] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16) };

	pkt_put_bytes(w, b, 3);
}

void pkt_put_u32(struct pkt_writer *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	pkt_put_bytes(w, b, 4);
}

void pkt_put_u64(struct pkt_writer *w, uint64_t v)
{
	pkt_put_u32(w, (uint32_t)v);
	pkt_put_u32(w, (uint32_t)(v >> 32));
}

void pkt_put_lenenc(struct pkt_writer *w, uint64_t v)
{
	if (v < 0xfb) {
		pkt_put_u8(w, (uint8_t)v);
	} else if (v <= 0xffff) {
		pkt_put_u8(w, 0xfc);
		pkt_put_u16(w, (uint16_t)v);
	} else if (v <= 0xffffff) {
		pkt_put_u8(w, 0xfd);
		pkt_put_u24(w, (uint32_t)v);
	} else {
		pkt_put_u8(w, 0xfe);
		pkt_put_u64(w, v);
	}
}

void pkt_put_lenenc_str(struct pkt_writer *w, const void *p, size_t n)
{
	pkt_put_lenenc(w, n);
	pkt_put_bytes(w, p, n);
}

void pkt_put_nul_str(struct pkt_writer *w, const char *s)
{
	pkt_put_bytes(w, s, strlen(s) + 1);
}

void pkt_frame(struct pkt_writer *out, const uint8_t *payload, size_t len, uint8_t *seq)
{
	for (;;) {
		size_t chunk = len < PKT_MAX_PAYLOAD ? len : PKT_MAX_PAYLOAD;

		pkt_put_u24(out, (uint32_t)chunk);
		pkt_put_u8(out, (*seq)++);
		pkt_put_bytes(out, payload, chunk);
		payload += chunk;
		len -= chunk;
		if (chunk < PKT_MAX_PAYLOAD)
			break;          /* a full frame is always followed by another */
	}
}

/* ---- OK / ERR / EOF ---------------------------------------------------- */

bool pkt_parse_ok(const uint8_t *p, size_t len, uint32_t caps, struct pkt_ok *ok)
{
	struct pkt_reader r;
	uint8_t h;

	memset(ok, 0, sizeof(*ok));
	pkt_reader_init(&r, p, len);
	h = pkt_get_u8(&r);
	if (h != PKT_OK && h != PKT_EOF)
		return false;
	ok->affected_rows = pkt_get_lenenc(&r, NULL);
	ok->last_insert_id = pkt_get_lenenc(&r, NULL);
	if (caps & CAP_PROTOCOL_41) {
		ok->status_offset = r.pos;
		ok->status = pkt_get_u16(&r);
		ok->warnings = pkt_get_u16(&r);
	} else if (caps & CAP_TRANSACTIONS) {
		ok->status_offset = r.pos;
		ok->status = pkt_get_u16(&r);
	}
	if (r.err)
		return false;
	if (pkt_remaining(&r) == 0)
		return true;
	if (caps & CAP_SESSION_TRACK) {
		ok->info = pkt_get_lenenc_str(&r, &ok->info_len, NULL);
		/* session state info may follow; not needed by the proxy */
	} else {
		ok->info_len = pkt_remaining(&r);
		ok->info = pkt_get_bytes(&r, ok->info_len);
	}
	return !r.err;
}

void pkt_build_ok(struct pkt_writer *w, uint32_t caps, uint64_t affected, uint64_t insert_id,
		  uint16_t status, uint16_t warnings, const char *info)
{
	pkt_put_u8(w, PKT_OK);
	pkt_put_lenenc(w, affected);
	pkt_put_lenenc(w, insert_id);
	if (caps & CAP_PROTOCOL_41) {
		pkt_put_u16(w, status);
		pkt_put_u16(w, warnings);
	} else if (caps & CAP_TRANSACTIONS) {
		pkt_put_u16(w, status);
	}
	if (info != NULL && info[0] != '\0') {
		if (caps & CAP_SESSION_TRACK)
			pkt_put_lenenc_str(w, info, strlen(info));
		else
			pkt_put_bytes(w, info, strlen(info));
	}
}

bool pkt_parse_err(const uint8_t *p, size_t len, uint32_t caps, struct pkt_err *e)
{
	struct pkt_reader r;

	memset(e, 0, sizeof(*e));
	pkt_reader_init(&r, p, len);
	if (pkt_get_u8(&r) != PKT_ERR)
		return false;
	e->code = pkt_get_u16(&r);
	memcpy(e->sqlstate, "HY000", 6);
	if (r.err)
		return false;
	if (pkt_remaining(&r) >= 6 && r.p[r.pos] == '#') {
		pkt_skip(&r, 1);
		memcpy(e->sqlstate, pkt_get_bytes(&r, 5), 5);
		e->sqlstate[5] = '\0';
	}
	e->msg_len = pkt_remaining(&r);
	e->msg = r.p + r.pos;
	(void)caps;
	return true;
}

void pkt_build_err(struct pkt_writer *w, uint16_t code, const char *sqlstate, const char *msg)
{
	pkt_put_u8(w, PKT_ERR);
	pkt_put_u16(w, code);
	pkt_put_u8(w, '#');
	pkt_put_bytes(w, sqlstate != NULL && strlen(sqlstate) == 5 ? sqlstate : "HY000", 5);
	pkt_put_bytes(w, msg, strlen(msg));
}

bool pkt_parse_eof(const uint8_t *p, size_t len, struct pkt_eof *e)
{
	memset(e, 0, sizeof(*e));
	/* 1 byte (pre-4.1) or 5 (warnings, status); never 2..4, never >= 9 */
	if (len < 1 || p[0] != PKT_EOF || len >= 9 || (len > 1 && len < 5))
		return false;
	if (len >= 5) {
		e->warnings = (uint16_t)(p[1] | (p[2] << 8));
		e->status_offset = 3;
		e->status = (uint16_t)(p[3] | (p[4] << 8));
	}
	return true;
}
