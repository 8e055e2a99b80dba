/*
 * response.c - the command response state machine (see response.h).
 */
#include "config.h"
#include "protocol/response.h"
#include "protocol/mysql.h"
#include "protocol/packet.h"

#include <string.h>

void resp_init(struct resp_parser *rp, enum resp_kind kind, uint32_t caps)
{
	resp_init_ext(rp, kind, caps, 0);
}

void resp_init_ext(struct resp_parser *rp, enum resp_kind kind, uint32_t caps, uint32_t ext_caps)
{
	memset(rp, 0, sizeof(*rp));
	rp->kind = kind;
	rp->caps = caps;
	rp->ext_caps = ext_caps;
	switch (kind) {
	case RESP_KIND_FETCH:
		rp->state = RS_ROWS;
		break;
	case RESP_KIND_FIELD_LIST:
		rp->state = RS_FIELDS;
		break;
	default:
		rp->state = RS_FIRST;
		break;
	}
}

enum resp_kind resp_kind_for_command(uint8_t cmd)
{
	switch (cmd) {
	case COM_QUERY:
	case COM_PROCESS_INFO:   /* a text result set, like SHOW PROCESSLIST */
		return RESP_KIND_QUERY;
	case COM_STMT_EXECUTE:
		return RESP_KIND_EXECUTE_CURSOR;   /* flags unknown: see response.h */
	case COM_STMT_PREPARE:
		return RESP_KIND_PREPARE;
	case COM_STMT_FETCH:
		return RESP_KIND_FETCH;
	case COM_FIELD_LIST:
		return RESP_KIND_FIELD_LIST;
	case COM_STATISTICS:
		return RESP_KIND_STRING;
	case COM_STMT_CLOSE:
	case COM_STMT_SEND_LONG_DATA:
	case COM_QUIT:
		return RESP_KIND_NONE;
	default:
		return RESP_KIND_SIMPLE;
	}
}

/* COM_STMT_EXECUTE: payload offset of the flags (after command, stmt_id) */
#define EXECUTE_FLAGS_OFFSET 5

enum resp_kind resp_kind_for_packet(const uint8_t *p, size_t len)
{
	if (len == 0)
		return RESP_KIND_SIMPLE;   /* no command byte: as an unknown command */
	if (p[0] == COM_STMT_EXECUTE && len > EXECUTE_FLAGS_OFFSET &&
	    !(p[EXECUTE_FLAGS_OFFSET] & CURSOR_TYPE_READ_ONLY))
		return RESP_KIND_EXECUTE;
	return resp_kind_for_command(p[0]);
}

/*
 * Note: of the MariaDB extended capabilities this parser knows only the
 * metadata cache (MDB_CACHE_METADATA: a byte after the column count says
 * whether the definitions follow); the proxy masks the others.  With them
 * the server would send progress reports (ERR 0xffff in the middle of a
 * command), which this parser rejects as BAD.  Extended metadata alone
 * would do no harm here: it is a string inside each column definition,
 * and definitions are counted, never read (test_response.c checks it).
 */

/*
 * OK-packet head: header, affected rows, insert id, status, warnings.
 * The info string may lie beyond `head`; it is not needed here.
 */
static bool parse_ok_head(struct resp_parser *rp, const uint8_t *p, size_t len)
{
	struct pkt_reader r;

	pkt_reader_init(&r, p, len);
	pkt_skip(&r, 1);
	rp->affected_rows = pkt_get_lenenc(&r, NULL);
	rp->last_insert_id = pkt_get_lenenc(&r, NULL);
	rp->last_status_off = r.pos;
	rp->status = pkt_get_u16(&r);
	rp->warnings = pkt_get_u16(&r);
	if (r.err)
		return false;
	rp->have_status = true;
	rp->last = p[0] == PKT_OK ? RP_OK : RP_EOF;
	return true;
}

/* A classic EOF packet (0xfe, warnings, status), whatever the caps say. */
static bool parse_classic_eof(struct resp_parser *rp, const uint8_t *p, size_t len, size_t total)
{
	struct pkt_eof e;

	if (len != total || !pkt_parse_eof(p, len, &e))
		return false;
	rp->last = RP_EOF;
	rp->last_status_off = e.status_offset;
	rp->status = e.status;
	rp->warnings = e.warnings;
	rp->have_status = len >= 5;
	return true;
}

/* The end of a result set: EOF, or the OK that replaces it (DEPRECATE_EOF). */
static bool parse_eof(struct resp_parser *rp, const uint8_t *p, size_t len, size_t total)
{
	if (rp->caps & CAP_DEPRECATE_EOF)
		return parse_ok_head(rp, p, len);
	return parse_classic_eof(rp, p, len, total);
}

static enum resp_ev parse_err(struct resp_parser *rp, const uint8_t *p, size_t len)
{
	if (len < 3)
		return RESP_EV_BAD;   /* no room for an error code */
	rp->last = RP_ERR;
	rp->last_status_off = 0;
	rp->is_err = true;
	rp->err_code = (uint16_t)(p[1] | (p[2] << 8));
	rp->state = RS_DONE;
	return RESP_EV_END;
}

/*
 * The EOF/OK just parsed (after the column definitions, or ending a result
 * set without rows) says that a cursor opened: no rows follow, the client
 * fetches them.  Only if the command asked for one: a stored procedure's
 * result sets carry CURSOR_EXISTS too while the procedure has a cursor of
 * its own open (MariaDB 10.11), with MORE_RESULTS, as every result set of
 * a CALL has; a cursor is never followed by more results.
 */
static bool opened_cursor(const struct resp_parser *rp)
{
	return rp->kind == RESP_KIND_EXECUTE_CURSOR && (rp->status & SERVER_STATUS_CURSOR_EXISTS) &&
	       !(rp->status & SERVER_MORE_RESULTS_EXISTS);
}

/* A result set ended with this EOF/OK: another one follows or we are done. */
static enum resp_ev end_of_result(struct resp_parser *rp)
{
	if (rp->status & SERVER_MORE_RESULTS_EXISTS) {
		rp->state = RS_FIRST;
		return RESP_EV_MORE;
	}
	rp->state = RS_DONE;
	return RESP_EV_END;
}

/* After a section of definitions: the EOF, or (DEPRECATE_EOF) what follows. */
static enum resp_ev defs_done(struct resp_parser *rp, enum resp_state eof_state,
			      enum resp_state next)
{
	if (!(rp->caps & CAP_DEPRECATE_EOF)) {
		rp->state = eof_state;
		return RESP_EV_MORE;
	}
	if (next == RS_DONE) {
		rp->state = RS_DONE;
		return RESP_EV_END;
	}
	rp->state = next;
	return RESP_EV_MORE;
}

static enum resp_ev feed_first(struct resp_parser *rp, const uint8_t *p, size_t len, size_t total)
{
	struct pkt_reader r;
	uint64_t ncols;
	uint8_t metadata = 1;

	switch (p[0]) {
	case PKT_OK:
		if (!parse_ok_head(rp, p, len))
			return RESP_EV_BAD;
		return end_of_result(rp);
	case PKT_ERR:
		return parse_err(rp, p, len);
	case PKT_INFILE:
		/* LOAD DATA LOCAL INFILE, as a query or a prepared statement */
		if (rp->kind != RESP_KIND_QUERY && rp->kind != RESP_KIND_EXECUTE &&
		    rp->kind != RESP_KIND_EXECUTE_CURSOR)
			return RESP_EV_BAD;
		rp->last = RP_INFILE;
		rp->last_status_off = 0;
		return RESP_EV_INFILE;   /* state stays RS_FIRST: OK/ERR follows */
	default:
		break;
	}
	pkt_reader_init(&r, p, len);
	ncols = pkt_get_lenenc(&r, NULL);
	if (rp->ext_caps & MDB_CACHE_METADATA)
		metadata = pkt_get_u8(&r);
	if (r.err || ncols == 0 || r.pos != total || metadata > 1)
		return RESP_EV_BAD;
	rp->last = RP_COLCOUNT;
	rp->last_status_off = 0;
	rp->result_sets++;
	if (metadata == 0)   /* the client has the definitions already */
		return defs_done(rp, RS_COLS_EOF, RS_ROWS);
	rp->left = ncols;
	rp->state = RS_COLS;
	return RESP_EV_MORE;
}

static enum resp_ev feed_prepare_ok(struct resp_parser *rp, const uint8_t *p, size_t len)
{
	struct pkt_reader r;

	if (p[0] == PKT_ERR)
		return parse_err(rp, p, len);
	if (p[0] != PKT_OK)
		return RESP_EV_BAD;
	pkt_reader_init(&r, p, len);
	pkt_skip(&r, 1);
	rp->stmt_id = pkt_get_u32(&r);
	rp->num_columns = pkt_get_u16(&r);
	rp->num_params = pkt_get_u16(&r);
	if (r.err)
		return RESP_EV_BAD;
	pkt_skip(&r, 1);
	if (pkt_remaining(&r) >= 2)
		rp->warnings = pkt_get_u16(&r);
	rp->last = RP_PREPARE_OK;
	rp->last_status_off = 0;
	rp->pcols = rp->num_columns;
	if (rp->num_params > 0) {
		rp->left = rp->num_params;
		rp->state = RS_PARAMS;
		return RESP_EV_MORE;
	}
	if (rp->num_columns > 0) {
		rp->left = rp->num_columns;
		rp->state = RS_PCOLS;
		return RESP_EV_MORE;
	}
	rp->state = RS_DONE;
	return RESP_EV_END;
}

static enum resp_state prepare_next(struct resp_parser *rp)
{
	if (rp->state == RS_PARAMS || rp->state == RS_PARAMS_EOF) {
		if (rp->pcols > 0) {
			rp->left = rp->pcols;
			return RS_PCOLS;
		}
	}
	return RS_DONE;
}

enum resp_ev resp_feed(struct resp_parser *rp, const uint8_t *p, size_t len, size_t total)
{
	enum resp_state next;

	if (rp->state == RS_DONE)
		return RESP_EV_BAD;   /* nothing may follow the end */
	if (len == 0 || len > total) {
		if (rp->kind == RESP_KIND_STRING && total == 0) {
			rp->last = RP_OTHER;
			rp->state = RS_DONE;
			return RESP_EV_END;
		}
		return RESP_EV_BAD;
	}
	switch (rp->kind) {
	case RESP_KIND_NONE:
		return RESP_EV_BAD;
	case RESP_KIND_STRING:
		if (p[0] == PKT_ERR)
			return parse_err(rp, p, len);
		rp->last = RP_OTHER;
		rp->last_status_off = 0;
		rp->state = RS_DONE;
		return RESP_EV_END;
	case RESP_KIND_SIMPLE:
		if (p[0] == PKT_ERR)
			return parse_err(rp, p, len);
		if (p[0] == PKT_OK) {
			if (!parse_ok_head(rp, p, len))
				return RESP_EV_BAD;
		} else if (p[0] == PKT_EOF) {
			/* COM_SET_OPTION / COM_DEBUG answer with EOF */
			if (!parse_classic_eof(rp, p, len, total))
				return RESP_EV_BAD;
		} else {
			return RESP_EV_BAD;
		}
		rp->state = RS_DONE;
		return RESP_EV_END;
	default:
		break;
	}

	switch (rp->state) {
	case RS_FIRST:
		if (rp->kind == RESP_KIND_PREPARE)
			return feed_prepare_ok(rp, p, len);
		return feed_first(rp, p, len, total);
	case RS_COLS:
		if (p[0] == PKT_ERR)
			return parse_err(rp, p, len);
		rp->last = RP_COLDEF;
		rp->last_status_off = 0;
		if (--rp->left > 0)
			return RESP_EV_MORE;
		return defs_done(rp, RS_COLS_EOF, RS_ROWS);
	case RS_COLS_EOF:
		if (!pkt_is_eof(p[0], total, 0) || !parse_eof(rp, p, len, total))
			return RESP_EV_BAD;
		if (opened_cursor(rp)) {
			rp->cursor = true;
			rp->state = RS_DONE;
			return RESP_EV_END;
		}
		rp->state = RS_ROWS;
		return RESP_EV_MORE;
	case RS_ROWS:
		if (p[0] == PKT_ERR)
			return parse_err(rp, p, len);
		if (pkt_is_eof(p[0], total, rp->caps)) {
			if (!parse_eof(rp, p, len, total))
				return RESP_EV_BAD;
			/* with DEPRECATE_EOF, a cursor's OK comes right after the columns */
			if (rp->rows == 0 && opened_cursor(rp)) {
				rp->cursor = true;
				rp->state = RS_DONE;
				return RESP_EV_END;
			}
			if (rp->kind == RESP_KIND_FETCH) {
				rp->state = RS_DONE;
				return RESP_EV_END;
			}
			return end_of_result(rp);
		}
		rp->last = RP_ROW;
		rp->last_status_off = 0;
		rp->rows++;
		return RESP_EV_MORE;
	case RS_PARAMS:
	case RS_PCOLS:
		if (p[0] == PKT_ERR)
			return parse_err(rp, p, len);
		rp->last = RP_COLDEF;
		rp->last_status_off = 0;
		if (--rp->left > 0)
			return RESP_EV_MORE;
		next = prepare_next(rp);
		return defs_done(rp, rp->state == RS_PARAMS ? RS_PARAMS_EOF : RS_PCOLS_EOF, next);
	case RS_PARAMS_EOF:
	case RS_PCOLS_EOF:
		if (!pkt_is_eof(p[0], total, 0) || !parse_eof(rp, p, len, total))
			return RESP_EV_BAD;
		next = prepare_next(rp);
		rp->state = next;
		return next == RS_DONE ? RESP_EV_END : RESP_EV_MORE;
	case RS_FIELDS:
		if (p[0] == PKT_ERR)
			return parse_err(rp, p, len);
		if (pkt_is_eof(p[0], total, rp->caps)) {
			if (!parse_eof(rp, p, len, total))
				return RESP_EV_BAD;
			rp->state = RS_DONE;
			return RESP_EV_END;
		}
		rp->last = RP_COLDEF;
		rp->last_status_off = 0;
		return RESP_EV_MORE;
	case RS_DONE:
		return RESP_EV_BAD;
	}
	return RESP_EV_BAD;
}
