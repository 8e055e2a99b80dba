/*
 * resultset.c - result sets built by the proxy; text rows read by it.
 */
#include "config.h"
#include "protocol/resultset.h"

#include <string.h>

static void emit(struct rs_builder *b)
{
	pkt_frame(&b->out, b->pl.buf, b->pl.len, &b->seq);
	b->pl.len = 0;
}

void rs_begin(struct rs_builder *b, uint32_t caps, uint8_t seq, unsigned ncols)
{
	rs_begin_ext(b, caps, 0, seq, ncols);
}

void rs_begin_ext(struct rs_builder *b, uint32_t caps, uint32_t ext_caps, uint8_t seq, unsigned ncols)
{
	pkt_writer_init(&b->out);
	pkt_writer_init(&b->pl);
	b->caps = caps;
	b->ext_caps = ext_caps;
	b->seq = seq;
	pkt_put_lenenc(&b->pl, ncols);
	if (ext_caps & MDB_CACHE_METADATA)
		pkt_put_u8(&b->pl, 1);   /* the definitions follow */
	emit(b);
}

void rs_column(struct rs_builder *b, const struct rs_column *c)
{
	pkt_put_lenenc_str(&b->pl, "def", 3);
	pkt_put_lenenc_str(&b->pl, "", 0);            /* schema */
	pkt_put_lenenc_str(&b->pl, "", 0);            /* table */
	pkt_put_lenenc_str(&b->pl, "", 0);            /* org_table */
	pkt_put_lenenc_str(&b->pl, c->name, strlen(c->name));
	pkt_put_lenenc_str(&b->pl, "", 0);            /* org_name */
	if (b->ext_caps & MDB_EXTENDED_METADATA)
		pkt_put_lenenc_str(&b->pl, "", 0);    /* no extended type info */
	pkt_put_lenenc(&b->pl, 0x0c);
	pkt_put_u16(&b->pl, c->charset);
	pkt_put_u32(&b->pl, c->length);
	pkt_put_u8(&b->pl, c->type);
	pkt_put_u16(&b->pl, c->flags);
	pkt_put_u8(&b->pl, c->decimals);
	pkt_put_u16(&b->pl, 0);
	emit(b);
}

void rs_column_raw(struct rs_builder *b, const uint8_t *payload, size_t len)
{
	pkt_put_bytes(&b->pl, payload, len);
	emit(b);
}

static void put_eof(struct rs_builder *b, uint16_t warnings, uint16_t status)
{
	pkt_put_u8(&b->pl, PKT_EOF);
	pkt_put_u16(&b->pl, warnings);
	pkt_put_u16(&b->pl, status);
	emit(b);
}

void rs_columns_done(struct rs_builder *b, uint16_t status)
{
	if (!(b->caps & CAP_DEPRECATE_EOF))
		put_eof(b, 0, status);
}

void rs_row(struct rs_builder *b, const char *const *vals, const size_t *lens, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (vals[i] == NULL)
			pkt_put_u8(&b->pl, 0xfb);
		else
			pkt_put_lenenc_str(&b->pl, vals[i], lens[i]);
	}
	emit(b);
}

void rs_end(struct rs_builder *b, uint16_t warnings, uint16_t status)
{
	if (b->caps & CAP_DEPRECATE_EOF) {
		/* an OK packet with the EOF header */
		pkt_put_u8(&b->pl, PKT_EOF);
		pkt_put_lenenc(&b->pl, 0);
		pkt_put_lenenc(&b->pl, 0);
		pkt_put_u16(&b->pl, status);
		pkt_put_u16(&b->pl, warnings);
		emit(b);
	} else {
		put_eof(b, warnings, status);
	}
}

void rs_free(struct rs_builder *b)
{
	pkt_writer_free(&b->out);
	pkt_writer_free(&b->pl);
}

bool rs_parse_text_row(const uint8_t *p, size_t len, unsigned ncols, struct rs_value *vals)
{
	struct pkt_reader r;
	unsigned i;

	pkt_reader_init(&r, p, len);
	for (i = 0; i < ncols; i++) {
		bool is_null = false;

		vals[i].p = pkt_get_lenenc_str(&r, &vals[i].len, &is_null);
		if (r.err)
			return false;
		if (is_null)
			vals[i].p = NULL;
		else if (vals[i].p == NULL)
			vals[i].p = p + r.pos;   /* empty string, not NULL */
	}
	return pkt_remaining(&r) == 0;
}
