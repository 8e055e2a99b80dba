/*
 * diag.h - the client's diagnostics area, saved by the proxy.
 *
 * A statement the proxy runs after a client's statement (in the same
 * backend session) resets the server's list of warnings and errors.  So
 * when the client's statement left warnings or an error and the plan runs
 * more statements after it, the plan first captures SHOW WARNINGS; until
 * the client's next statement, the proxy answers the diagnostics reads it
 * recognises (SHOW WARNINGS / ERRORS [LIMIT], SHOW COUNT(*) WARNINGS /
 * ERRORS, a SELECT of @@warning_count / @@error_count items, with aliases)
 * from that copy, exactly
 * as the server would have.  Other reads (GET DIAGNOSTICS, ROW_COUNT())
 * see the server's state: documented in the README.
 */
#ifndef CUTOVER_DIAG_H
#define CUTOVER_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "protocol/packet.h"

struct diag_entry {
	char level[8];
	char code[8];              /* as the server sent it, text */
	char *msg;
	size_t msg_len;
};

struct diag {
	bool valid;                /* answers diagnostics reads */
	unsigned n;
	struct diag_entry *e;
	uint8_t *coldef[3];        /* SHOW WARNINGS column definitions, raw */
	size_t coldef_len[3];
};

void diag_clear(struct diag *d);

/*
 * Take the next logical packet (a packet of 16 MiB and more is joined from
 * its frames) out of a captured response `b`: its payload, malloc'ed, in
 * *len; NULL when `b` holds no whole packet (or memory runs out).  Also
 * read by proxy/writes.c.
 */
uint8_t *diag_next_packet(struct evbuffer *b, size_t *len);

/* Load a captured SHOW WARNINGS response (framed packets, consumed). */
bool diag_load(struct diag *d, struct evbuffer *captured, uint32_t caps) WARN_UNUSED;

/*
 * If the query text is a diagnostics read the copy can answer, append the
 * framed answer to `out` (sequence ids from `seq`) and return true.
 */
bool diag_answer(const struct diag *d, const uint8_t *sql, size_t len, uint32_t caps,
		 uint32_t ext_caps, uint16_t status, uint8_t seq, struct pkt_writer *out);

/* True when the statement reads the previous statement's diagnostics
 * (so nothing may run between the two). */
bool diag_is_read(const uint8_t *sql, size_t len);

#endif
