/*
 * response.h - a resumable parser of command responses.
 *
 * The session feeds it one logical packet at a time: only the first bytes
 * (RESP_HEAD_MAX of them, fewer if the packet is shorter) and the packet's
 * total length, so a 16 MiB row is never copied to be classified.  The
 * parser says whether the response continues, has ended, or needs the
 * client to send a LOCAL INFILE stream first, and records the status flags,
 * errors and counters the session tracks.
 */
#ifndef CUTOVER_RESPONSE_H
#define CUTOVER_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_HEAD_MAX 32

enum resp_kind {
	RESP_KIND_NONE,        /* no reply: STMT_CLOSE, STMT_SEND_LONG_DATA, QUIT */
	RESP_KIND_QUERY,       /* OK | ERR | LOCAL INFILE | text result sets */
	RESP_KIND_EXECUTE,     /* COM_STMT_EXECUTE without a cursor: OK | ERR |
				  LOCAL INFILE | binary result sets */
	RESP_KIND_PREPARE,     /* PREPARE_OK + parameter and column defs | ERR */
	RESP_KIND_FETCH,       /* rows + EOF | ERR */
	RESP_KIND_FIELD_LIST,  /* column defs + EOF | ERR */
	RESP_KIND_SIMPLE,      /* exactly one OK | ERR | EOF packet */
	RESP_KIND_STRING,      /* exactly one packet of text (COM_STATISTICS) */
	RESP_KIND_EXECUTE_CURSOR, /* COM_STMT_EXECUTE that asked for a cursor:
				  as EXECUTE, or column definitions and an
				  EOF/OK with CURSOR_EXISTS (rows by FETCH) */
};

enum resp_state {
	RS_FIRST,              /* first packet of a (next) result */
	RS_COLS,               /* column definitions of a result set */
	RS_COLS_EOF,           /* the EOF after them (no DEPRECATE_EOF) */
	RS_ROWS,               /* rows, until EOF/OK or ERR */
	RS_PARAMS,             /* PREPARE: parameter definitions */
	RS_PARAMS_EOF,
	RS_PCOLS,              /* PREPARE: column definitions */
	RS_PCOLS_EOF,
	RS_FIELDS,             /* FIELD_LIST: definitions until EOF */
	RS_DONE,
};

enum resp_ev {
	RESP_EV_MORE,          /* consumed; more packets belong to this response */
	RESP_EV_END,           /* this packet ends the response */
	RESP_EV_INFILE,        /* LOCAL INFILE request: the client streams data,
				  then the server goes on (same parser) */
	RESP_EV_BAD,           /* not a valid response: protocol violation */
};

/* What the last packet was, for a session that holds or rewrites it. */
enum resp_pkt {
	RP_OK, RP_ERR, RP_EOF, RP_INFILE, RP_COLCOUNT, RP_COLDEF, RP_ROW,
	RP_PREPARE_OK, RP_OTHER,
};

struct resp_parser {
	enum resp_kind kind;
	uint32_t caps;             /* agreed capabilities (DEPRECATE_EOF...) */
	uint32_t ext_caps;         /* agreed MariaDB extended ones (MDB_*) */
	enum resp_state state;
	uint64_t left;             /* definitions left in this section */
	uint16_t pcols;            /* PREPARE: column count */
	/* what the response carried (valid once END) */
	enum resp_pkt last;        /* kind of the last packet fed */
	size_t last_status_off;    /* offset of status flags in it, 0 = none */
	bool have_status;
	uint16_t status;           /* status flags of the last OK/EOF */
	uint16_t warnings;
	uint64_t affected_rows;    /* of the last OK */
	uint64_t last_insert_id;
	bool is_err;               /* the response ended with ERR */
	uint16_t err_code;
	bool cursor;               /* EXECUTE_CURSOR opened a cursor */
	uint32_t stmt_id;          /* PREPARE: the id the server assigned */
	uint16_t num_params;       /* PREPARE */
	uint16_t num_columns;      /* PREPARE */
	unsigned result_sets;      /* result sets seen */
	uint64_t rows;             /* rows seen */
};

void resp_init(struct resp_parser *rp, enum resp_kind kind, uint32_t caps);
/* As resp_init(), on a link that agreed MariaDB extended capabilities. */
void resp_init_ext(struct resp_parser *rp, enum resp_kind kind, uint32_t caps, uint32_t ext_caps);

/*
 * Feed one logical packet: `head` holds its first min(total, RESP_HEAD_MAX)
 * bytes, `total` its full payload length.  After END the parser must be
 * re-initialised before the next response.
 */
enum resp_ev resp_feed(struct resp_parser *rp, const uint8_t *head, size_t headlen, size_t total);

/*
 * The response kind for a command byte.  COM_STMT_EXECUTE gives
 * RESP_KIND_EXECUTE_CURSOR: without the command's flags a cursor may open,
 * and only that kind ends the response after a cursor's column
 * definitions.  resp_kind_for_packet() tells the two apart.
 */
enum resp_kind resp_kind_for_command(uint8_t cmd);

/*
 * The response kind for a command packet: `p` holds the first `len` bytes
 * of its payload (the command byte first).  As resp_kind_for_command(),
 * but a COM_STMT_EXECUTE whose flags (payload offset 5) do not ask for a
 * cursor (CURSOR_TYPE_READ_ONLY) is RESP_KIND_EXECUTE.
 */
enum resp_kind resp_kind_for_packet(const uint8_t *p, size_t len);

#endif
