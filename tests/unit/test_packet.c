/*
 * test_packet.c - unit test of the packet codec (protocol/packet.c).
 *
 * The reader at every bound (exact length, one byte short), length-encoded
 * integers of every width, the writer at the lenenc boundaries, framing of
 * payloads around 0xffffff bytes, and OK / ERR / EOF packets built, parsed
 * and truncated.  Inputs live in heap buffers of exactly their length so
 * that AddressSanitizer reports any read past the end.
 *
 * Plain C, no framework: prints "ok N - ..." or "not ok N - ..." per check,
 * "1..N" at the end, and exits 1 if any check failed.
 */
#include "config.h"
#include "protocol/packet.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reader ------------------------------------------------------------ */

/* Read one fixed-width integer from exactly `width` bytes and from one byte
 * fewer; returns true when both behave. */
static bool fixed_width(size_t width, uint64_t want)
{
	static const uint8_t src[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88 };
	struct pkt_reader r;
	uint8_t *p = dup_exact(src, width), *q = dup_exact(src, width - 1);
	uint64_t v = 0, v2 = 1;
	bool ok;

	pkt_reader_init(&r, p, width);
	switch (width) {
	case 1: v = pkt_get_u8(&r); break;
	case 2: v = pkt_get_u16(&r); break;
	case 3: v = pkt_get_u24(&r); break;
	case 4: v = pkt_get_u32(&r); break;
	case 8: v = pkt_get_u64(&r); break;
	}
	ok = v == want && !r.err && r.pos == width && pkt_remaining(&r) == 0;
	pkt_reader_init(&r, q, width - 1);
	switch (width) {
	case 1: v2 = pkt_get_u8(&r); break;
	case 2: v2 = pkt_get_u16(&r); break;
	case 3: v2 = pkt_get_u24(&r); break;
	case 4: v2 = pkt_get_u32(&r); break;
	case 8: v2 = pkt_get_u64(&r); break;
	}
	ok = ok && v2 == 0 && r.err && pkt_remaining(&r) == 0;
	free(p);
	free(q);
	return ok;
}

static void test_reader_fixed(void)
{
	struct pkt_reader r;
	uint8_t *p;

	check(fixed_width(1, 0x01), "u8: exact bound reads, one short sets err and returns 0");
	check(fixed_width(2, 0x0201), "u16: exact bound reads little-endian, one short fails");
	check(fixed_width(3, 0x030201), "u24: exact bound reads little-endian, one short fails");
	check(fixed_width(4, 0x04030201), "u32: exact bound reads little-endian, one short fails");
	check(fixed_width(8, 0x8807060504030201ull), "u64: exact bound reads little-endian, one short fails");

	p = dup_exact("\x01\x02\x03", 3);
	pkt_reader_init(&r, p, 3);
	(void)pkt_get_u16(&r);
	(void)pkt_get_u16(&r);          /* one past: err */
	check(r.err && pkt_get_u8(&r) == 0 && r.pos == 2 && pkt_remaining(&r) == 0,
	      "err is sticky: a byte that remains is not read after a failed read");
	free(p);

	pkt_reader_init(&r, NULL, 0);
	check(pkt_get_u8(&r) == 0 && r.err, "empty reader: u8 fails");

	p = dup_exact("abcdef", 6);
	pkt_reader_init(&r, p, 6);
	{
		const uint8_t *b = pkt_get_bytes(&r, 6);

		check(b == p && r.pos == 6 && !r.err, "get_bytes: exactly the remaining bytes");
	}
	pkt_reader_init(&r, p, 6);
	check(pkt_get_bytes(&r, 7) == NULL && r.err && r.pos == 0, "get_bytes: one past the end fails");
	pkt_reader_init(&r, p, 6);
	check(pkt_get_bytes(&r, 0) != NULL && !r.err, "get_bytes: zero bytes is fine");
	pkt_reader_init(&r, p, 6);
	pkt_skip(&r, 6);
	check(!r.err && r.pos == 6, "skip: exactly the remaining bytes");
	pkt_reader_init(&r, p, 6);
	pkt_skip(&r, 7);
	check(r.err && r.pos == 0, "skip: one past the end fails without moving");
	pkt_reader_init(&r, p, 6);
	pkt_skip(&r, (size_t)-1);
	check(r.err, "skip: SIZE_MAX does not wrap around");
	free(p);
}

struct lenenc_case {
	const char *hex;
	uint64_t value;
	bool is_null;
	bool err;
	size_t pos;
};

static void test_reader_lenenc(void)
{
	static const struct lenenc_case cases[] = {
		{ "00", 0, false, false, 1 },
		{ "fa", 250, false, false, 1 },
		{ "fb", 0, true, false, 1 },
		{ "fc fb 00", 251, false, false, 3 },
		{ "fc ff ff", 65535, false, false, 3 },
		{ "fd 00 00 01", 65536, false, false, 4 },
		{ "fd ff ff ff", 16777215, false, false, 4 },
		{ "fe 00 00 00 01 00 00 00 00", 16777216, false, false, 9 },
		{ "fe ff ff ff ff ff ff ff ff", UINT64_MAX, false, false, 9 },
		{ "ff", 0, false, true, 1 },
		{ "ff 00 00 00 00 00 00 00 00", 0, false, true, 1 },
		{ "", 0, false, true, 0 },
		{ "fc", 0, false, true, 1 },
		{ "fc ff", 0, false, true, 1 },
		{ "fd ff ff", 0, false, true, 1 },
		{ "fe ff ff ff ff ff ff ff", 0, false, true, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lenenc_case *c = &cases[i];
		struct pkt_reader r;
		size_t n;
		uint8_t *p = unhex(c->hex, &n);
		bool is_null = !c->is_null;     /* must be overwritten */
		uint64_t v;

		pkt_reader_init(&r, p, n);
		v = pkt_get_lenenc(&r, &is_null);
		check(v == c->value && r.err == c->err && (c->err || is_null == c->is_null) &&
		      (c->err || r.pos == c->pos),
		      "lenenc [%s]: %s", c->hex,
		      c->err ? "rejected" : c->is_null ? "NULL" : "value and width");
		if (!c->err) {
			pkt_reader_init(&r, p, n);
			(void)pkt_get_lenenc(&r, NULL);
			check(!r.err && r.pos == c->pos, "lenenc [%s]: is_null may be NULL", c->hex);
		}
		free(p);
	}
}

static void test_reader_strings(void)
{
	struct pkt_reader r;
	const uint8_t *s;
	const char *z;
	size_t n, len;
	bool is_null;
	uint8_t *p;

	p = unhex("03 61 62 63", &len);
	pkt_reader_init(&r, p, len);
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s == p + 1 && n == 3 && !is_null && !r.err && r.pos == 4,
	      "lenenc string: exactly fills the packet");
	free(p);

	p = unhex("04 61 62 63", &len);
	pkt_reader_init(&r, p, len);
	n = 99;
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s == NULL && n == 0 && r.err, "lenenc string: claims one byte more than remains");
	free(p);

	p = unhex("fe ff ff ff ff ff ff ff ff 61", &len);
	pkt_reader_init(&r, p, len);
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s == NULL && n == 0 && r.err, "lenenc string: a 2^64-1 length is rejected, no wrap");
	free(p);

	p = unhex("fe 00 00 00 00 01 00 00 00 61", &len);
	pkt_reader_init(&r, p, len);
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s == NULL && n == 0 && r.err, "lenenc string: a 2^32 length is rejected");
	free(p);

	p = unhex("fb 01 61", &len);
	pkt_reader_init(&r, p, len);
	n = 99;
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s == NULL && n == 0 && is_null && !r.err && r.pos == 1,
	      "lenenc string: 0xfb is SQL NULL and the next value follows");
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s == p + 2 && n == 1 && !is_null && !r.err, "lenenc string: after NULL, next value read");
	free(p);

	p = unhex("00", &len);
	pkt_reader_init(&r, p, len);
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s != NULL && n == 0 && !is_null && !r.err, "lenenc string: empty string is not NULL");
	free(p);

	p = unhex("ff 61", &len);
	pkt_reader_init(&r, p, len);
	s = pkt_get_lenenc_str(&r, &n, &is_null);
	check(s == NULL && r.err, "lenenc string: 0xff length rejected");
	free(p);

	p = unhex("61 62 00 63", &len);
	pkt_reader_init(&r, p, len);
	z = pkt_get_nul_str(&r, &n);
	check(z == (const char *)p && n == 2 && r.pos == 3 && !r.err, "nul string: read up to the NUL");
	z = pkt_get_nul_str(&r, &n);
	check(z == NULL && n == 0 && r.err, "nul string: without a NUL before the end is an error");
	free(p);

	p = unhex("00", &len);
	pkt_reader_init(&r, p, len);
	z = pkt_get_nul_str(&r, &n);
	check(z != NULL && n == 0 && r.pos == 1 && !r.err, "nul string: empty");
	z = pkt_get_nul_str(&r, &n);
	check(z == NULL && r.err, "nul string: at the very end is an error");
	free(p);

	p = unhex("61 62 63", &len);
	pkt_reader_init(&r, p, len);
	z = pkt_get_nul_str(&r, &n);
	check(z == NULL && r.err && pkt_remaining(&r) == 0, "nul string: packet ends without NUL");
	free(p);
}

/* ---- writer ------------------------------------------------------------ */

static bool writes(void (*put)(struct pkt_writer *, uint64_t), uint64_t v, const char *hex)
{
	struct pkt_writer w;
	size_t n;
	uint8_t *want = unhex(hex, &n);
	bool ok;

	pkt_writer_init(&w);
	put(&w, v);
	ok = !w.err && w.len == n && memcmp(w.buf, want, n) == 0;
	if (!ok)
		diag("wrote %zu bytes, want [%s]", w.len, hex);
	pkt_writer_free(&w);
	free(want);
	return ok;
}

static void put_lenenc(struct pkt_writer *w, uint64_t v) { pkt_put_lenenc(w, v); }
static void put_u16(struct pkt_writer *w, uint64_t v) { pkt_put_u16(w, (uint16_t)v); }
static void put_u24(struct pkt_writer *w, uint64_t v) { pkt_put_u24(w, (uint32_t)v); }
static void put_u32(struct pkt_writer *w, uint64_t v) { pkt_put_u32(w, (uint32_t)v); }
static void put_u64(struct pkt_writer *w, uint64_t v) { pkt_put_u64(w, v); }

static void test_writer(void)
{
	static const uint64_t bounds[] = {
		0, 1, 250, 251, 252, 65535, 65536, 16777215, 16777216, 0xffffffffull,
		0x100000000ull, UINT64_MAX,
	};
	struct pkt_writer w;
	struct pkt_reader r;
	size_t i;
	bool ok;

	check(writes(put_lenenc, 250, "fa"), "lenenc 250: one byte");
	check(writes(put_lenenc, 251, "fc fb 00"), "lenenc 251: 0xfc + 2 bytes");
	check(writes(put_lenenc, 65535, "fc ff ff"), "lenenc 65535: 0xfc + 2 bytes");
	check(writes(put_lenenc, 65536, "fd 00 00 01"), "lenenc 65536: 0xfd + 3 bytes");
	check(writes(put_lenenc, 16777215, "fd ff ff ff"), "lenenc 16777215: 0xfd + 3 bytes");
	check(writes(put_lenenc, 16777216, "fe 00 00 00 01 00 00 00 00"), "lenenc 16777216: 0xfe + 8 bytes");
	check(writes(put_u16, 0x1234, "34 12") && writes(put_u24, 0x123456, "56 34 12") &&
	      writes(put_u32, 0x12345678, "78 56 34 12") &&
	      writes(put_u64, 0x0102030405060708ull, "08 07 06 05 04 03 02 01"),
	      "fixed-width integers are little-endian");

	ok = true;
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		uint8_t *p;
		bool is_null;

		pkt_writer_init(&w);
		pkt_put_lenenc(&w, bounds[i]);
		p = dup_exact(w.buf, w.len);
		pkt_reader_init(&r, p, w.len);
		if (pkt_get_lenenc(&r, &is_null) != bounds[i] || is_null || r.err ||
		    pkt_remaining(&r) != 0) {
			diag("lenenc round trip of %llu failed", (unsigned long long)bounds[i]);
			ok = false;
		}
		free(p);
		pkt_writer_free(&w);
	}
	check(ok, "lenenc: every boundary value reads back as written, with nothing left");

	pkt_writer_init(&w);
	pkt_put_lenenc_str(&w, "abc", 3);
	pkt_put_lenenc_str(&w, "", 0);
	pkt_put_nul_str(&w, "xy");
	pkt_put_nul_str(&w, "");
	check(!w.err && w.len == 9 && memcmp(w.buf, "\x03" "abc" "\x00" "xy\0" "\0", 9) == 0,
	      "lenenc and nul strings, empty ones included");
	pkt_writer_free(&w);

	pkt_writer_init(&w);
	pkt_put_bytes(&w, "x", 0);
	check(!w.err && w.len == 0, "put_bytes of nothing writes nothing");
	for (i = 0; i < 100000; i++)
		pkt_put_u8(&w, (uint8_t)(i * 7));
	ok = !w.err && w.len == 100000 && w.cap >= w.len;
	for (i = 0; ok && i < 100000; i++)
		ok = w.buf[i] == (uint8_t)(i * 7);
	check(ok, "writer grows past its first allocation and keeps the bytes");
	pkt_writer_free(&w);
	check(w.buf == NULL && w.len == 0 && w.cap == 0, "writer_free leaves an empty writer");

	{
		uint8_t big[300];

		memset(big, 'q', sizeof(big));
		pkt_writer_init(&w);
		pkt_put_lenenc_str(&w, big, sizeof(big));
		check(w.len == 303 && w.buf[0] == 0xfc && w.buf[1] == 0x2c && w.buf[2] == 0x01 &&
		      w.buf[3] == 'q' && w.buf[302] == 'q', "lenenc string of 300 bytes: 0xfc prefix");
		pkt_writer_free(&w);
	}
}

/* ---- framing ----------------------------------------------------------- */

/*
 * Check that `out` holds frames carrying `payload` (len bytes) with sequence
 * ids from `seq0`, frames of 0xffffff bytes followed by one more, the last
 * one shorter.  Returns the number of frames, or 0 when malformed.
 */
static size_t check_frames(const struct pkt_writer *out, const uint8_t *payload, size_t len,
			   uint8_t seq0)
{
	size_t pos = 0, done = 0, frames = 0;
	uint8_t seq = seq0;

	for (;;) {
		uint32_t flen;

		if (out->len - pos < 4)
			return 0;
		flen = pkt_hdr_len(out->buf + pos);
		if (pkt_hdr_seq(out->buf + pos) != seq)
			return 0;
		seq++;
		pos += 4;
		if (out->len - pos < flen || len - done < flen ||
		    (flen > 0 && memcmp(out->buf + pos, payload + done, flen) != 0))
			return 0;
		pos += flen;
		done += flen;
		frames++;
		if (flen < PKT_MAX_PAYLOAD)
			break;
	}
	return pos == out->len && done == len ? frames : 0;
}

static void frame_case(size_t len, uint8_t seq0, size_t want_frames, const char *what)
{
	struct pkt_writer out;
	uint8_t *payload = malloc(len ? len : 1);
	uint8_t seq = seq0;
	size_t i, frames;

	if (payload == NULL)
		exit(2);
	for (i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 31 + (i >> 16));
	pkt_writer_init(&out);
	pkt_frame(&out, payload, len, &seq);
	frames = out.err ? 0 : check_frames(&out, payload, len, seq0);
	check(frames == want_frames && seq == (uint8_t)(seq0 + want_frames),
	      "pkt_frame %s: %zu frame(s), seq %u -> %u", what, frames, seq0, seq);
	pkt_writer_free(&out);
	free(payload);
}

static void test_frame(void)
{
	struct pkt_writer out;
	uint8_t seq = 3;

	pkt_writer_init(&out);
	pkt_frame(&out, NULL, 0, &seq);
	check(out.len == 4 && memcmp(out.buf, "\x00\x00\x00\x03", 4) == 0 && seq == 4,
	      "pkt_frame of an empty payload: one empty frame");
	pkt_writer_free(&out);

	frame_case(10, 0, 1, "10 bytes");
	frame_case(0xfffffe, 1, 1, "0xfffffe bytes");
	frame_case(0xffffff, 1, 2, "exactly 0xffffff bytes (empty trailing frame)");
	frame_case(0x1000000, 1, 2, "0xffffff + 1 bytes");
	frame_case(2 * (size_t)0xffffff, 7, 3, "2 * 0xffffff bytes (empty trailing frame)");
	frame_case(0xffffff, 255, 2, "0xffffff bytes from seq 255 (ids wrap to 0)");

	pkt_writer_init(&out);
	seq = 254;
	pkt_frame(&out, (const uint8_t *)"a", 1, &seq);
	pkt_frame(&out, (const uint8_t *)"b", 1, &seq);
	pkt_frame(&out, (const uint8_t *)"c", 1, &seq);
	check(out.len == 15 && out.buf[3] == 254 && out.buf[8] == 255 && out.buf[13] == 0 && seq == 1,
	      "pkt_frame appends and sequence ids wrap at 255");
	pkt_writer_free(&out);
}

/* ---- OK / ERR / EOF ---------------------------------------------------- */

static bool parse_ok_exact(const uint8_t *p, size_t len, uint32_t caps, struct pkt_ok *ok)
{
	uint8_t *q = dup_exact(p, len);
	bool ret = pkt_parse_ok(q, len, caps, ok);

	/* info points into q: compare it before freeing */
	if (ret && ok->info != NULL)
		ok->info = p + (ok->info - q);
	free(q);
	return ret;
}

struct ok_case {
	uint32_t caps;
	uint64_t affected, insert_id;
	uint16_t status, warnings;
	const char *info;
	const char *name;
};

static void test_ok(void)
{
	static const struct ok_case cases[] = {
		{ CAP_PROTOCOL_41, 0, 0, 0x0002, 0, NULL, "PROTOCOL_41, no info" },
		{ CAP_PROTOCOL_41, 3, 7, 0x0003, 1, "Rows matched: 3  Changed: 3  Warnings: 1",
		  "PROTOCOL_41, info to the end" },
		{ CAP_PROTOCOL_41 | CAP_SESSION_TRACK, 251, 65536, 0x4002, 2, "info",
		  "SESSION_TRACK, lenenc info, 3- and 4-byte counters" },
		{ CAP_PROTOCOL_41 | CAP_SESSION_TRACK, 0x100000000ull, 16777216, 0x0002, 0xffff, NULL,
		  "SESSION_TRACK, no info, 9-byte counters" },
		{ CAP_TRANSACTIONS, 1, 2, 0x0001, 0, "x", "pre-4.1 with TRANSACTIONS: status only" },
		{ 0, 1, 2, 0, 0, "old", "pre-4.1 without TRANSACTIONS: no status" },
	};
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ok_case *c = &cases[i];
		struct pkt_writer w;
		struct pkt_ok ok;
		size_t info_len = c->info != NULL ? strlen(c->info) : 0;
		size_t min_len;
		bool ret, trunc_ok = true;

		pkt_writer_init(&w);
		pkt_build_ok(&w, c->caps, c->affected, c->insert_id, c->status, c->warnings, c->info);
		ret = parse_ok_exact(w.buf, w.len, c->caps, &ok);
		check(ret && w.buf[0] == PKT_OK && ok.affected_rows == c->affected &&
		      ok.last_insert_id == c->insert_id &&
		      ok.status == ((c->caps & (CAP_PROTOCOL_41 | CAP_TRANSACTIONS)) ? c->status : 0) &&
		      ok.warnings == ((c->caps & CAP_PROTOCOL_41) ? c->warnings : 0) &&
		      ok.info_len == info_len &&
		      (info_len == 0 || memcmp(ok.info, c->info, info_len) == 0),
		      "OK round trip: %s", c->name);
		if (c->caps & (CAP_PROTOCOL_41 | CAP_TRANSACTIONS))
			check(ret && w.buf[ok.status_offset] == (uint8_t)c->status &&
			      w.buf[ok.status_offset + 1] == (uint8_t)(c->status >> 8),
			      "OK status_offset points at the status flags: %s", c->name);

		/* The 0xfe header (DEPRECATE_EOF) parses the same way. */
		w.buf[0] = PKT_EOF;
		ret = parse_ok_exact(w.buf, w.len, c->caps, &ok);
		check(ret && ok.affected_rows == c->affected && ok.info_len == info_len,
		      "OK with 0xfe header parses: %s", c->name);
		w.buf[0] = PKT_OK;

		/* Truncations: before the fixed part ends, always rejected; with
		 * SESSION_TRACK, a cut inside the info string is rejected too. */
		min_len = w.len - info_len;
		if (info_len > 0 && (c->caps & CAP_SESSION_TRACK))
			min_len -= (info_len < 251 ? 1 : 3);
		for (k = 0; k < w.len; k++) {
			ret = parse_ok_exact(w.buf, k, c->caps, &ok);
			if (k < min_len && ret) {
				diag("OK truncated to %zu of %zu bytes accepted", k, w.len);
				trunc_ok = false;
			}
			if (k > min_len && (c->caps & CAP_SESSION_TRACK) && ret) {
				diag("OK with info cut at %zu of %zu bytes accepted", k, w.len);
				trunc_ok = false;
			}
			if (k == min_len && !ret) {
				diag("OK without its info (%zu bytes) rejected", k);
				trunc_ok = false;
			}
		}
		check(trunc_ok, "OK truncated at every byte: rejected unless only the info is missing: %s",
		      c->name);
		pkt_writer_free(&w);
	}

	{
		struct pkt_ok ok;
		size_t n;
		uint8_t *p;

		/* recorded from MariaDB 10.11: OK after authentication, with
		 * session state (schema "test") after an empty info string */
		p = unhex("00 00 00 02 40 00 00 00 07 01 05 04 74 65 73 74", &n);
		check(pkt_parse_ok(p, n, CAP_PROTOCOL_41 | CAP_SESSION_TRACK, &ok) &&
		      ok.status == (SERVER_SESSION_STATE_CHANGED | SERVER_STATUS_AUTOCOMMIT) &&
		      ok.info_len == 0 && ok.status_offset == 3,
		      "recorded OK with session state: status 0x4002, empty info");
		free(p);

		/* recorded: OK after LOAD DATA LOCAL INFILE (info with SESSION_TRACK) */
		p = unhex("00 01 00 02 00 00 00 2f 52 65 63 6f 72 64 73 3a 20 31 20 20 44 65 6c 65"
			  "74 65 64 3a 20 30 20 20 53 6b 69 70 70 65 64 3a 20 30 20 20 57 61 72 6e"
			  "69 6e 67 73 3a 20 30", &n);
		check(pkt_parse_ok(p, n, CAP_PROTOCOL_41 | CAP_SESSION_TRACK, &ok) &&
		      ok.affected_rows == 1 && ok.info_len == 47 &&
		      memcmp(ok.info, "Records: 1", 10) == 0,
		      "recorded OK after LOAD DATA: 1 row, info string");
		free(p);

		p = unhex("00 00 00 02 00 00 00 05 61 62", &n);
		check(!pkt_parse_ok(p, n, CAP_PROTOCOL_41 | CAP_SESSION_TRACK, &ok),
		      "OK whose lenenc info claims more than remains is rejected");
		free(p);

		p = unhex("01 00 00 02 00 00 00", &n);
		check(!pkt_parse_ok(p, n, CAP_PROTOCOL_41, &ok), "OK: header 0x01 is not an OK");
		free(p);
		check(!pkt_parse_ok(NULL, 0, CAP_PROTOCOL_41, &ok), "OK: empty payload rejected");
		p = unhex("00 ff 00 02 00 00 00", &n);
		check(!pkt_parse_ok(p, n, CAP_PROTOCOL_41, &ok), "OK: invalid lenenc 0xff rejected");
		free(p);
	}
}

static bool parse_err_exact(const uint8_t *p, size_t len, struct pkt_err *e, char *msg, size_t msglen)
{
	uint8_t *q = dup_exact(p, len);
	bool ret = pkt_parse_err(q, len, CAP_PROTOCOL_41, e);

	msg[0] = '\0';
	if (ret)
		snprintf(msg, msglen, "%.*s", (int)e->msg_len, (const char *)e->msg);
	free(q);
	return ret;
}

static void test_err(void)
{
	struct pkt_writer w;
	struct pkt_err e;
	char msg[128];
	size_t n, k;
	uint8_t *p;
	bool ret, trunc_ok = true;

	pkt_writer_init(&w);
	pkt_build_err(&w, 1064, "42000", "You have an error");
	check(w.len == 9 + 17 && w.buf[0] == 0xff && w.buf[1] == 0x28 && w.buf[2] == 0x04 &&
	      w.buf[3] == '#' && memcmp(w.buf + 4, "42000", 5) == 0,
	      "ERR build: 0xff, code, '#', SQLSTATE, message");
	ret = parse_err_exact(w.buf, w.len, &e, msg, sizeof(msg));
	check(ret && e.code == 1064 && strcmp(e.sqlstate, "42000") == 0 &&
	      strcmp(msg, "You have an error") == 0, "ERR round trip");
	for (k = 0; k < 3; k++)
		if (parse_err_exact(w.buf, k, &e, msg, sizeof(msg))) {
			diag("ERR truncated to %zu bytes accepted", k);
			trunc_ok = false;
		}
	check(trunc_ok, "ERR truncated before the end of the code is rejected");
	ret = parse_err_exact(w.buf, 3, &e, msg, sizeof(msg));
	check(ret && e.code == 1064 && strcmp(e.sqlstate, "HY000") == 0 && e.msg_len == 0,
	      "ERR of code only: SQLSTATE HY000, empty message");
	ret = parse_err_exact(w.buf, 8, &e, msg, sizeof(msg));
	check(ret && strcmp(e.sqlstate, "HY000") == 0 && strcmp(msg, "#4200") == 0,
	      "ERR cut inside the SQLSTATE: no SQLSTATE, the rest is the message");
	ret = parse_err_exact(w.buf, 9, &e, msg, sizeof(msg));
	check(ret && strcmp(e.sqlstate, "42000") == 0 && e.msg_len == 0,
	      "ERR with SQLSTATE and empty message");
	pkt_writer_free(&w);

	pkt_writer_init(&w);
	pkt_build_err(&w, 1045, NULL, "denied");
	ret = parse_err_exact(w.buf, w.len, &e, msg, sizeof(msg));
	check(ret && strcmp(e.sqlstate, "HY000") == 0 && strcmp(msg, "denied") == 0,
	      "ERR build without SQLSTATE uses HY000");
	pkt_writer_free(&w);
	pkt_writer_init(&w);
	pkt_build_err(&w, 1045, "2800", "x");
	check(w.len == 10 && memcmp(w.buf + 4, "HY000", 5) == 0,
	      "ERR build with a 4-character SQLSTATE uses HY000");
	pkt_writer_free(&w);

	/* recorded from MariaDB 10.11: SELECT nosuchcol */
	p = unhex("ff 1e 04 23 34 32 53 32 32 55 6e 6b 6e 6f 77 6e 20 63 6f 6c 75 6d 6e 20 27"
		  "6e 6f 73 75 63 68 63 6f 6c 27 20 69 6e 20 27 53 45 4c 45 43 54 27", &n);
	ret = parse_err_exact(p, n, &e, msg, sizeof(msg));
	check(ret && e.code == 1054 && strcmp(e.sqlstate, "42S22") == 0 &&
	      strcmp(msg, "Unknown column 'nosuchcol' in 'SELECT'") == 0,
	      "recorded ERR 1054 42S22 parses");
	free(p);

	/* an ERR sent before the handshake (no SQLSTATE marker) */
	p = unhex("ff 10 04 54 6f 6f 20 6d 61 6e 79", &n);
	ret = parse_err_exact(p, n, &e, msg, sizeof(msg));
	check(ret && e.code == 1040 && strcmp(e.sqlstate, "HY000") == 0 &&
	      strcmp(msg, "Too many") == 0, "ERR without '#' marker: whole rest is the message");
	free(p);

	p = unhex("00 10 04", &n);
	check(!parse_err_exact(p, n, &e, msg, sizeof(msg)), "ERR: header 0x00 is not an ERR");
	free(p);
}

static bool parse_eof_exact(const char *hex, struct pkt_eof *e)
{
	size_t n;
	uint8_t *p = unhex(hex, &n);
	bool ret = pkt_parse_eof(p, n, e);

	free(p);
	return ret;
}

static void test_eof(void)
{
	struct pkt_eof e;

	check(parse_eof_exact("fe 00 00 02 00", &e) && e.warnings == 0 && e.status == 2 &&
	      e.status_offset == 3, "EOF: warnings, status and status offset");
	check(parse_eof_exact("fe 02 00 22 00", &e) && e.warnings == 2 && e.status == 0x22,
	      "recorded EOF with 2 warnings, status 0x22");
	check(parse_eof_exact("fe 00 00 02 00 00 00 00", &e), "EOF: 8 bytes is still an EOF");
	check(!parse_eof_exact("fe 00 00 02 00 00 00 00 00", &e), "EOF: 9 bytes is not an EOF");
	check(!parse_eof_exact("ff 00 00 02 00", &e), "EOF: header 0xff is not an EOF");
	check(!parse_eof_exact("", &e), "EOF: empty payload rejected");
	check(!parse_eof_exact("fe 00", &e) && !parse_eof_exact("fe 00 00", &e) &&
	      !parse_eof_exact("fe 00 00 02", &e),
	      "EOF truncated inside warnings/status (2..4 bytes) is rejected");
}

static void test_is_eof(void)
{
	check(pkt_is_eof(0xfe, 1, 0) && pkt_is_eof(0xfe, 5, 0) && pkt_is_eof(0xfe, 8, 0),
	      "is_eof without DEPRECATE_EOF: 0xfe and shorter than 9 bytes");
	check(!pkt_is_eof(0xfe, 9, 0) && !pkt_is_eof(0xfe, 0xffffff, 0),
	      "is_eof without DEPRECATE_EOF: 9 bytes and more is a row");
	check(pkt_is_eof(0xfe, 7, CAP_DEPRECATE_EOF) && pkt_is_eof(0xfe, 9, CAP_DEPRECATE_EOF) &&
	      pkt_is_eof(0xfe, 0xfffffe, CAP_DEPRECATE_EOF),
	      "is_eof with DEPRECATE_EOF: 0xfe and shorter than 0xffffff bytes");
	check(!pkt_is_eof(0xfe, 0xffffff, CAP_DEPRECATE_EOF) &&
	      !pkt_is_eof(0xfe, 0x1000008, CAP_DEPRECATE_EOF),
	      "is_eof with DEPRECATE_EOF: 0xffffff bytes and more is a row");
	check(!pkt_is_eof(0x00, 7, CAP_DEPRECATE_EOF) && !pkt_is_eof(0xff, 5, 0) &&
	      !pkt_is_eof(0xfb, 1, 0), "is_eof: other first bytes never are");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_reader_fixed();
	test_reader_lenenc();
	test_reader_strings();
	test_writer();
	test_frame();
	test_ok();
	test_err();
	test_eof();
	test_is_eof();
	return check_done();
}
