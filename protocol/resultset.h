/*
 * resultset.h - build text-protocol result sets the proxy answers itself,
 * and read text rows of result sets it captured from the server.
 */
#ifndef CUTOVER_RESULTSET_H
#define CUTOVER_RESULTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/packet.h"

#define MYSQL_TYPE_LONG       3
#define MYSQL_TYPE_LONGLONG   8
#define MYSQL_TYPE_VAR_STRING 253
#define COLFLAG_NOT_NULL      0x0001
#define COLFLAG_UNSIGNED      0x0020
#define COLFLAG_BINARY        0x0080
#define CHARSET_BINARY        63
#define CHARSET_UTF8MB3       33

struct rs_column {
	const char *name;
	uint8_t type;
	uint32_t length;
	uint16_t flags;
	uint16_t charset;
	uint8_t decimals;
};

/* Builds framed packets into `out`, sequence ids from `seq`. */
struct rs_builder {
	struct pkt_writer out;
	struct pkt_writer pl;      /* scratch payload */
	uint32_t caps;
	uint32_t ext_caps;         /* MariaDB extended ones (MDB_*) */
	uint8_t seq;
};

void rs_begin(struct rs_builder *b, uint32_t caps, uint8_t seq, unsigned ncols);
/* As rs_begin(), to a client that agreed MariaDB extended capabilities:
 * with MDB_CACHE_METADATA, the column count says the definitions follow;
 * with MDB_EXTENDED_METADATA, rs_column() adds an empty type-info string. */
void rs_begin_ext(struct rs_builder *b, uint32_t caps, uint32_t ext_caps, uint8_t seq, unsigned ncols);
void rs_column(struct rs_builder *b, const struct rs_column *c);
/* A column definition payload as the server sent it. */
void rs_column_raw(struct rs_builder *b, const uint8_t *payload, size_t len);
void rs_columns_done(struct rs_builder *b, uint16_t status);
/* One row: vals[i] NULL means SQL NULL. */
void rs_row(struct rs_builder *b, const char *const *vals, const size_t *lens, unsigned n);
void rs_end(struct rs_builder *b, uint16_t warnings, uint16_t status);
void rs_free(struct rs_builder *b);

/* One value of a text row: ptr into the packet, or NULL for SQL NULL. */
struct rs_value {
	const uint8_t *p;
	size_t len;
};

/* Split a text-protocol row payload into `ncols` values. */
bool rs_parse_text_row(const uint8_t *p, size_t len, unsigned ncols, struct rs_value *vals) WARN_UNUSED;

#endif
