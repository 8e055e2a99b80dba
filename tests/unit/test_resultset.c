/*
 * test_resultset.c - unit test of the result-set builder and the text row
 * parser (protocol/resultset.c), and of the saved diagnostics that use
 * them (proxy/diag.c).
 *
 * Result sets built with rs_* in both EOF modes are split back into frames
 * and fed to resp_feed (RESP_KIND_QUERY): each must be a valid response
 * ending with the status it was built with, and its rows must read back
 * with rs_parse_text_row.  Then a SHOW WARNINGS response (built with rs_*,
 * and one recorded from MariaDB 10.11) is loaded with diag_load, and
 * diag_answer must answer the diagnostics reads exactly as the server
 * would have -- and nothing else.
 *
 * Plain C, no framework: "ok N - ..." / "not ok N - ..." per check, "1..N"
 * at the end, exit status 1 if any check failed.
 */
#include "config.h"
#include "protocol/mysql.h"
#include "protocol/packet.h"
#include "protocol/response.h"
#include "protocol/resultset.h"
#include "proxy/diag.h"
#include "tests/unit/check.h"

#include <event2/buffer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading a framed response back ------------------------------------ */

/*
 * What a framed response turned out to be when fed to resp_feed: the event
 * after each logical packet, the column names, the rows as text
 * ("v1|v2|NULL" joined by ";"), and the parser's final state.
 */
struct decoded {
	char events[64];
	char names[256];
	char rows[1024];
	unsigned ncols;
	bool seq_ok;               /* sequence ids consecutive from seq0 */
	bool rows_ok;              /* every row parsed with rs_parse_text_row */
	size_t max_row;            /* longest row payload */
	struct resp_parser rp;
};

static void append(char *dst, size_t len, const char *sep, const char *s, size_t n)
{
	size_t used = strlen(dst);

	snprintf(dst + used, len - used, "%s%.*s", used > 0 ? sep : "", (int)n, s);
}

/* The name of a column definition payload (its fifth lenenc string). */
static void coldef_name(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	struct pkt_reader r;
	const uint8_t *s = NULL;
	size_t n = 0;
	int i;

	pkt_reader_init(&r, p, len);
	for (i = 0; i < 5; i++)
		s = pkt_get_lenenc_str(&r, &n, NULL);
	snprintf(out, outlen, "%.*s", r.err ? 1 : (int)n, r.err ? "?" : (const char *)s);
}

/* MariaDB extended caps of the client the answers are for (decode() and
   build_show_warnings() too): 0 or MDB_CACHE_METADATA */
static uint32_t ext_mode;

static void decode(const uint8_t *buf, size_t len, uint32_t caps, uint8_t seq0, struct decoded *d)
{
	struct pkt_writer pl;
	size_t pos = 0, npkt = 0;
	uint8_t seq = seq0;
	unsigned cols_seen = 0;

	memset(d, 0, sizeof(*d));
	d->seq_ok = true;
	d->rows_ok = true;
	resp_init_ext(&d->rp, RESP_KIND_QUERY, caps, ext_mode);
	pkt_writer_init(&pl);
	while (pos < len) {
		uint32_t flen;
		size_t hl;
		uint8_t *head;
		enum resp_ev ev;

		/* join frames into one logical packet */
		pl.len = 0;
		for (;;) {
			if (len - pos < 4 || len - pos - 4 < pkt_hdr_len(buf + pos)) {
				d->seq_ok = false;
				goto out;
			}
			flen = pkt_hdr_len(buf + pos);
			if (pkt_hdr_seq(buf + pos) != seq++)
				d->seq_ok = false;
			pkt_put_bytes(&pl, buf + pos + 4, flen);
			pos += 4 + flen;
			if (flen < PKT_MAX_PAYLOAD)
				break;
		}
		hl = pl.len < RESP_HEAD_MAX ? pl.len : RESP_HEAD_MAX;
		head = dup_exact(pl.buf, hl);
		ev = resp_feed(&d->rp, head, hl, pl.len);
		free(head);
		if (npkt < sizeof(d->events) - 1)
			d->events[npkt++] = ev == RESP_EV_MORE ? 'M' : ev == RESP_EV_END ? 'E' :
					    ev == RESP_EV_INFILE ? 'I' : 'B';
		if (d->rp.last == RP_COLCOUNT) {
			d->ncols = (unsigned)d->rp.left;
			cols_seen = 0;
		} else if (d->rp.last == RP_COLDEF && cols_seen < d->ncols) {
			char name[128];

			coldef_name(pl.buf, pl.len, name, sizeof(name));
			append(d->names, sizeof(d->names), ",", name, strlen(name));
			cols_seen++;
		} else if (d->rp.last == RP_ROW) {
			struct rs_value v[8];
			uint8_t *row = dup_exact(pl.buf, pl.len);
			unsigned i;
			char text[512] = "";

			if (pl.len > d->max_row)
				d->max_row = pl.len;
			if (d->ncols > 8 || !rs_parse_text_row(row, pl.len, d->ncols, v)) {
				d->rows_ok = false;
			} else {
				for (i = 0; i < d->ncols; i++) {
					if (v[i].p == NULL)
						append(text, sizeof(text), "|", "NULL", 4);
					else if (v[i].len > 100)
						append(text, sizeof(text), "|", "<long>", 6);
					else
						append(text, sizeof(text), "|", (const char *)v[i].p,
						       v[i].len);
				}
				append(d->rows, sizeof(d->rows), ";", text, strlen(text));
			}
			free(row);
		}
		if (ev == RESP_EV_BAD)
			break;
	}
out:
	pkt_writer_free(&pl);
}

/* ---- the builder -------------------------------------------------------- */

static const struct rs_column col_id = { "id", MYSQL_TYPE_LONGLONG, 20, COLFLAG_NOT_NULL | COLFLAG_UNSIGNED,
					 CHARSET_BINARY, 0 };
static const struct rs_column col_name = { "name", MYSQL_TYPE_VAR_STRING, 255, 0, CHARSET_UTF8MB3, 0 };
static const struct rs_column col_note = { "note", MYSQL_TYPE_VAR_STRING, 65535, 0, CHARSET_UTF8MB3, 0 };

static void build_people(struct rs_builder *b, uint32_t caps, uint8_t seq, uint16_t warnings,
			 uint16_t status)
{
	static char long_note[300];
	const char *r1[3] = { "1", "alice", NULL };
	const char *r2[3] = { "2", "", "x" };
	const char *r3[3] = { "3", "carol", long_note };
	size_t l1[3] = { 1, 5, 0 }, l2[3] = { 1, 0, 1 }, l3[3] = { 1, 5, sizeof(long_note) };

	memset(long_note, 'n', sizeof(long_note));
	rs_begin(b, caps, seq, 3);
	rs_column(b, &col_id);
	rs_column(b, &col_name);
	rs_column(b, &col_note);
	rs_columns_done(b, status & (uint16_t)~SERVER_MORE_RESULTS_EXISTS);
	rs_row(b, r1, l1, 3);
	rs_row(b, r2, l2, 3);
	rs_row(b, r3, l3, 3);
	rs_end(b, warnings, status);
}

static void test_builder(uint32_t caps, const char *mode)
{
	struct rs_builder b;
	struct decoded d;
	const char *want_events = (caps & CAP_DEPRECATE_EOF) ? "MMMMMMME" : "MMMMMMMME";

	build_people(&b, caps, 1, 1, 0x0022);
	decode(b.out.buf, b.out.len, caps, 1, &d);
	check(!b.out.err && d.seq_ok && strcmp(d.events, want_events) == 0,
	      "%s: built result set is a valid QUERY response (%s)", mode, d.events);
	check(d.rp.status == 0x0022 && d.rp.warnings == 1 && d.rp.rows == 3 && d.rp.result_sets == 1 &&
	      !d.rp.is_err && d.rp.state == RS_DONE, "%s: it ends with the given status and warnings", mode);
	check(strcmp(d.names, "id,name,note") == 0, "%s: column names read back (%s)", mode, d.names);
	check(d.rows_ok && strcmp(d.rows, "1|alice|NULL;2||x;3|carol|<long>") == 0 && d.max_row == 311,
	      "%s: rows read back with NULL, empty string and a 300-byte value (%s)", mode, d.rows);
	check(b.out.buf[4] == 3 && b.out.buf[3] == 1, "%s: column count packet first, seq 1", mode);
	rs_free(&b);

	build_people(&b, caps, 1, 0, SERVER_MORE_RESULTS_EXISTS | SERVER_STATUS_AUTOCOMMIT);
	decode(b.out.buf, b.out.len, caps, 1, &d);
	check(d.seq_ok && d.events[strlen(d.events) - 1] == 'M' && d.rp.state == RS_FIRST &&
	      d.rp.status == (SERVER_MORE_RESULTS_EXISTS | SERVER_STATUS_AUTOCOMMIT),
	      "%s: ending with MORE_RESULTS leaves the response open", mode);
	rs_free(&b);

	/* a 0-row result set */
	rs_begin(&b, caps, 5, 1);
	rs_column(&b, &col_id);
	rs_columns_done(&b, 2);
	rs_end(&b, 0, 2);
	decode(b.out.buf, b.out.len, caps, 5, &d);
	check(d.seq_ok && strcmp(d.events, (caps & CAP_DEPRECATE_EOF) ? "MME" : "MMME") == 0 &&
	      d.rp.rows == 0 && d.rp.status == 2, "%s: empty result set (%s)", mode, d.events);
	rs_free(&b);

	/* sequence ids wrap */
	rs_begin(&b, caps, 254, 1);
	rs_column(&b, &col_id);
	rs_columns_done(&b, 2);
	rs_end(&b, 0, 2);
	decode(b.out.buf, b.out.len, caps, 254, &d);
	check(d.seq_ok && d.rp.state == RS_DONE, "%s: sequence ids wrap from 255 to 0", mode);
	rs_free(&b);
}

/* One row of 2^24 bytes: framed in two, first byte 0xfe, still a row. */
static void test_huge_row(uint32_t caps, const char *mode)
{
	const size_t big = (size_t)1 << 24;
	char *val = malloc(big);
	const char *vals[1];
	size_t lens[1] = { big };
	struct rs_builder b;
	struct decoded d;

	if (val == NULL)
		exit(2);
	memset(val, 'z', big);
	vals[0] = val;
	rs_begin(&b, caps, 1, 1);
	rs_column(&b, &col_note);
	rs_columns_done(&b, 2);
	rs_row(&b, vals, lens, 1);
	rs_end(&b, 0, 2);
	decode(b.out.buf, b.out.len, caps, 1, &d);
	check(!b.out.err && d.seq_ok && d.rp.rows == 1 && d.rp.state == RS_DONE && d.rows_ok &&
	      d.max_row == big + 9 && strcmp(d.rows, "<long>") == 0,
	      "%s: a row of 16 MiB (0xfe first byte, two frames) is a row (%s)", mode, d.events);
	rs_free(&b);
	free(val);
}

static void test_column_raw(void)
{
	/* recorded column definition of test.t.a from MariaDB 10.11 */
	static const char coldef_hex[] = "03646566047465737401740174016101610c3f000b000000030000000000";
	struct rs_builder b;
	size_t n;
	uint8_t *p = unhex(coldef_hex, &n);

	rs_begin(&b, CAP_PROTOCOL_41, 1, 1);
	rs_column_raw(&b, p, n);
	check(b.out.len == 5 + 4 + n && pkt_hdr_len(b.out.buf + 5) == n && b.out.buf[8] == 2 &&
	      memcmp(b.out.buf + 9, p, n) == 0, "rs_column_raw frames the definition unchanged");
	rs_free(&b);
	free(p);

	rs_begin(&b, CAP_PROTOCOL_41, 1, 1);
	rs_column(&b, &col_id);
	{
		const uint8_t *c = b.out.buf + 9;
		size_t clen = pkt_hdr_len(b.out.buf + 5);

		/* def, '', '', '', "id", '', 0x0c, charset, length, type, flags, decimals, 00 00 */
		check(clen == 4 + 1 + 1 + 1 + 3 + 1 + 1 + 12 && c[0] == 3 && memcmp(c + 1, "def", 3) == 0 &&
		      c[7] == 2 && memcmp(c + 8, "id", 2) == 0 && c[11] == 0x0c && c[12] == CHARSET_BINARY &&
		      c[14] == 20 && c[18] == MYSQL_TYPE_LONGLONG &&
		      c[19] == (COLFLAG_NOT_NULL | COLFLAG_UNSIGNED),
		      "rs_column writes a ColumnDefinition41");
	}
	rs_free(&b);
}

static bool row_exact(const char *hex, unsigned ncols, struct rs_value *v)
{
	size_t n;
	uint8_t *p = unhex(hex, &n);
	bool ret = rs_parse_text_row(p, n, ncols, v);

	free(p);
	return ret;
}

static void test_parse_row(void)
{
	struct rs_value v[4];
	size_t n, k;
	uint8_t *p;
	bool ok = true;

	p = unhex("fb 00 03 61 62 63", &n);
	check(rs_parse_text_row(p, n, 3, v) && v[0].p == NULL && v[1].p != NULL && v[1].len == 0 &&
	      v[2].p == p + 3 && v[2].len == 3, "text row: NULL, empty string, 'abc'");
	for (k = 0; k < n; k++) {
		uint8_t *q = dup_exact(p, k);

		if (rs_parse_text_row(q, k, 3, v)) {
			diag("row cut at %zu of %zu accepted", k, n);
			ok = false;
		}
		free(q);
	}
	check(ok, "text row: every truncation is rejected");
	free(p);

	check(row_exact("fb fb", 2, v) && v[0].p == NULL && v[1].p == NULL, "text row: all NULL");
	check(row_exact("00", 1, v) && v[0].p != NULL && v[0].len == 0, "text row: one empty string");
	check(row_exact("", 0, v), "text row: no columns, empty payload");
	check(!row_exact("01 61", 0, v), "text row: no columns but bytes left is rejected");
	check(!row_exact("03 61 62", 1, v), "text row: value claims more than remains");
	check(!row_exact("01 61 01 62", 1, v), "text row: bytes after the last column are rejected");
	check(!row_exact("01 61", 2, v), "text row: fewer values than columns is rejected");
	check(!row_exact("ff 61", 1, v), "text row: 0xff length is rejected");
	check(!row_exact("fc 2c", 1, v), "text row: truncated 2-byte length is rejected");
	check(!row_exact("fe ff ff ff ff ff ff ff ff 61", 1, v), "text row: 2^64-1 length is rejected");
}

/* ---- diagnostics -------------------------------------------------------- */

static const char *const warn_rows[3][3] = {
	{ "Warning", "1292", "Truncated incorrect INTEGER value: 'x'" },
	{ "Warning", "1365", "Division by 0" },
	{ "Error", "1146", "Table 'test.nosuch' doesn't exist" },
};

#define ROW1 "Warning|1292|Truncated incorrect INTEGER value: 'x'"
#define ROW2 "Warning|1365|Division by 0"
#define ROW3 "Error|1146|Table 'test.nosuch' doesn't exist"

/* A SHOW WARNINGS response as the server sends it (3 columns). */
static void build_show_warnings(struct rs_builder *b, uint32_t caps, unsigned nrows)
{
	static const struct rs_column level = { "Level", MYSQL_TYPE_VAR_STRING, 28, COLFLAG_NOT_NULL,
						CHARSET_UTF8MB3, 0x27 };
	static const struct rs_column code = { "Code", MYSQL_TYPE_LONG, 4, COLFLAG_NOT_NULL | COLFLAG_UNSIGNED,
					       CHARSET_BINARY, 0 };
	static const struct rs_column message = { "Message", MYSQL_TYPE_VAR_STRING, 2048, COLFLAG_NOT_NULL,
						  CHARSET_UTF8MB3, 0x27 };
	unsigned i;

	rs_begin_ext(b, caps, ext_mode, 1, 3);
	rs_column(b, &level);
	rs_column(b, &code);
	rs_column(b, &message);
	rs_columns_done(b, 2);
	for (i = 0; i < nrows; i++) {
		size_t lens[3] = { strlen(warn_rows[i][0]), strlen(warn_rows[i][1]), strlen(warn_rows[i][2]) };

		rs_row(b, warn_rows[i], lens, 3);
	}
	rs_end(b, 0, 2);
}

static bool load(struct diag *d, const uint8_t *p, size_t len, uint32_t caps, bool *drained)
{
	struct evbuffer *eb = evbuffer_new();
	bool ret;

	if (eb == NULL || evbuffer_add(eb, p, len) != 0)
		exit(2);
	ret = diag_load(d, eb, caps);
	*drained = evbuffer_get_length(eb) == 0;
	evbuffer_free(eb);
	return ret;
}

struct answer_case {
	const char *sql;
	const char *names;         /* NULL: no answer expected */
	const char *rows;
};

static const struct answer_case answers[] = {
	{ "SHOW WARNINGS", "Level,Code,Message", ROW1 ";" ROW2 ";" ROW3 },
	{ "show warnings limit 1", "Level,Code,Message", ROW1 },
	{ "SHOW WARNINGS LIMIT 1,1", "Level,Code,Message", ROW2 },
	{ "show warnings limit 1 offset 1", "Level,Code,Message", ROW2 },
	{ "SHOW WARNINGS LIMIT 0", "Level,Code,Message", "" },
	{ "show warnings limit 5, 10", "Level,Code,Message", "" },
	{ "  show\twarnings ;", "Level,Code,Message", ROW1 ";" ROW2 ";" ROW3 },
	{ "SHOW ERRORS", "Level,Code,Message", ROW3 },
	{ "show errors limit 1 offset 1", "Level,Code,Message", "" },
	{ "SHOW COUNT(*) WARNINGS", "@@session.warning_count", "3" },
	{ "show count( * ) errors", "@@session.error_count", "1" },
	{ "select @@warning_count", "@@warning_count", "3" },
	{ "SELECT @@session.error_count", "@@session.error_count", "1" },
	{ "SELECT @@WARNING_COUNT;", "@@WARNING_COUNT", "3" },
	{ "  SELECT @@warning_count", "@@warning_count", "3" },
	{ "SHOW WARNINGSX", NULL, NULL },
	{ "SELECT @@warning_countx", NULL, NULL },
	{ "SHOW WARNINGS LIMIT x", NULL, NULL },
	{ "SHOW WARNINGS LIMIT 1,", NULL, NULL },
	{ "show warnings limit 1 offset", NULL, NULL },
	{ "SHOW WARNINGS; SELECT 1", NULL, NULL },
	{ "SELECT @@version", NULL, NULL },
	{ "SELECT 1", NULL, NULL },
	{ "", NULL, NULL },
};

static void test_diag_answers(uint32_t caps, const char *mode)
{
	struct rs_builder b;
	struct diag d;
	bool drained, ret;
	size_t i;

	memset(&d, 0, sizeof(d));
	build_show_warnings(&b, caps, 3);
	ret = load(&d, b.out.buf, b.out.len, caps, &drained);
	check(ret && d.valid && d.n == 3 && drained && strcmp(d.e[0].level, "Warning") == 0 &&
	      strcmp(d.e[0].code, "1292") == 0 && strcmp(d.e[2].level, "Error") == 0 &&
	      d.e[2].msg_len == strlen(warn_rows[2][2]) && strcmp(d.e[2].msg, warn_rows[2][2]) == 0,
	      "%s: diag_load of a built SHOW WARNINGS response, buffer drained", mode);
	rs_free(&b);

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		const struct answer_case *a = &answers[i];
		struct pkt_writer out;
		struct decoded dec;

		pkt_writer_init(&out);
		ret = diag_answer(&d, (const uint8_t *)a->sql, strlen(a->sql), caps, ext_mode,
				  SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS, 1, &out);
		if (a->names == NULL) {
			check(!ret && out.len == 0, "%s: \"%s\" is not answered", mode, a->sql);
		} else {
			decode(out.buf, out.len, caps, 1, &dec);
			check(ret && dec.seq_ok && dec.rp.state == RS_DONE && dec.events[0] == 'M' &&
			      dec.rp.status == SERVER_STATUS_AUTOCOMMIT && dec.rows_ok &&
			      strcmp(dec.names, a->names) == 0 && strcmp(dec.rows, a->rows) == 0,
			      "%s: \"%s\" answered: %s [%s]", mode, a->sql, dec.names, dec.rows);
		}
		pkt_writer_free(&out);
	}

	diag_clear(&d);
	{
		struct pkt_writer out;

		pkt_writer_init(&out);
		check(!diag_answer(&d, (const uint8_t *)"SHOW WARNINGS", 13, caps, ext_mode, 2, 1, &out) && out.len == 0,
		      "%s: after diag_clear nothing is answered", mode);
		pkt_writer_free(&out);
	}
}

static void test_diag_load(void)
{
	/* recorded from MariaDB 10.11: SHOW WARNINGS after SELECT CAST('x' AS SIGNED), 1/0 */
	static const char *const rec[] = {
		"03",
		"03646566000000054c6576656c000c2d001c000000fd0100270000",
		"0364656600000004436f6465000c3f000400000003a100000000",
		"03646566000000074d657373616765000c2d0000080000fd0100270000",
		"fe00000200",
		"075761726e696e670431323932265472756e636174656420696e636f727265637420494e5445474552"
		"2076616c75653a20277827",
		"075761726e696e6704313336350d4469766973696f6e2062792030",
		"fe00000200",
		NULL,
	};
	struct pkt_writer w;
	struct rs_builder b;
	struct diag d;
	bool drained, ret;
	uint8_t seq = 1;
	size_t i;

	memset(&d, 0, sizeof(d));
	pkt_writer_init(&w);
	for (i = 0; rec[i] != NULL; i++) {
		size_t n;
		uint8_t *p = unhex(rec[i], &n);

		pkt_frame(&w, p, n, &seq);
		free(p);
	}
	ret = load(&d, w.buf, w.len, CAP_PROTOCOL_41, &drained);
	check(ret && d.n == 2 && strcmp(d.e[0].code, "1292") == 0 && strcmp(d.e[1].code, "1365") == 0 &&
	      strcmp(d.e[1].msg, "Division by 0") == 0 && drained,
	      "diag_load of a recorded MariaDB SHOW WARNINGS response");
	{
		struct pkt_writer out;

		pkt_writer_init(&out);
		ret = diag_answer(&d, (const uint8_t *)"SHOW WARNINGS", 13, CAP_PROTOCOL_41, 0, 2, 1, &out);
		/* the answer carries the server's own column definitions */
		check(ret && out.len == w.len && memcmp(out.buf, w.buf, w.len) == 0,
		      "SHOW WARNINGS answered byte for byte as the server sent it");
		pkt_writer_free(&out);
	}
	/* a truncated copy: not loaded */
	ret = load(&d, w.buf, w.len - 3, CAP_PROTOCOL_41, &drained);
	check(!ret && !d.valid && d.n == 0 && drained, "diag_load of a truncated response fails, drained");
	pkt_writer_free(&w);
	/* the count with the metadata cache's byte: 1 (definitions follow) is
	   loaded, 0 (none follow: not a SHOW WARNINGS answer) is not */
	for (int flag = 0; flag < 2; flag++) {
		seq = 1;
		pkt_writer_init(&w);
		for (i = 0; rec[i] != NULL; i++) {
			size_t n;
			uint8_t *p = unhex(i == 0 ? (flag ? "0301" : "0300") : rec[i], &n);

			pkt_frame(&w, p, n, &seq);
			free(p);
		}
		ret = load(&d, w.buf, w.len, CAP_PROTOCOL_41, &drained);
		check(flag ? ret && d.n == 2 : !ret && !d.valid, "diag_load, column count with the flag %d: %s", flag,
		      flag ? "loaded" : "refused");
		pkt_writer_free(&w);
	}

	build_show_warnings(&b, CAP_PROTOCOL_41, 0);
	ret = load(&d, b.out.buf, b.out.len, CAP_PROTOCOL_41, &drained);
	check(ret && d.valid && d.n == 0, "diag_load of an empty SHOW WARNINGS response");
	rs_free(&b);

	/* wrong shapes */
	rs_begin(&b, CAP_PROTOCOL_41, 1, 2);
	rs_column(&b, &col_id);
	rs_column(&b, &col_name);
	rs_columns_done(&b, 2);
	rs_end(&b, 0, 2);
	ret = load(&d, b.out.buf, b.out.len, CAP_PROTOCOL_41, &drained);
	check(!ret && !d.valid && drained, "diag_load of a 2-column result fails");
	rs_free(&b);

	build_show_warnings(&b, CAP_PROTOCOL_41, 1);
	{
		const char *vals[3] = { "Note", NULL, "x" };
		size_t lens[3] = { 4, 0, 1 };

		b.out.len -= 9;              /* drop the final EOF, add a row with NULL */
		rs_row(&b, vals, lens, 3);
		rs_end(&b, 0, 2);
	}
	ret = load(&d, b.out.buf, b.out.len, CAP_PROTOCOL_41, &drained);
	check(!ret && !d.valid && d.n == 0 && drained, "diag_load rejects a row with a NULL value");
	rs_free(&b);

	build_show_warnings(&b, CAP_PROTOCOL_41, 2);
	{
		struct pkt_writer e;

		b.out.len -= 9;              /* ERR instead of the final EOF */
		pkt_writer_init(&e);
		pkt_build_err(&e, 1317, "70100", "Query execution was interrupted");
		pkt_frame(&b.out, e.buf, e.len, &b.seq);
		pkt_writer_free(&e);
	}
	ret = load(&d, b.out.buf, b.out.len, CAP_PROTOCOL_41, &drained);
	check(!ret && !d.valid && drained, "diag_load of a response ending in ERR fails");
	rs_free(&b);

	ret = load(&d, (const uint8_t *)"\x01\x00\x00\x01\x03", 5, CAP_PROTOCOL_41, &drained);
	check(!ret && !d.valid && drained, "diag_load of only a column count fails");
	ret = load(&d, (const uint8_t *)"\x05\x00\x00", 3, CAP_PROTOCOL_41, &drained);
	check(!ret && drained, "diag_load of a partial header fails");
	diag_clear(&d);
}

static void test_diag_is_read(void)
{
	static const char *const reads[] = {
		"SHOW WARNINGS", "show errors limit 5", "SHOW COUNT(*) ERRORS", "show  count( * )  warnings",
		"GET DIAGNOSTICS @n = NUMBER", "get current diagnostics condition 1 @m = MESSAGE_TEXT",
		"select @@warning_count", "SELECT @@SESSION.ERROR_COUNT", "SELECT ROW_COUNT()",
		"select found_rows()", "SELECT row_count ( )", "  show warnings;",
	};
	static const char *const others[] = {
		"SELECT 1", "INSERT INTO t VALUES (1)", "SHOW TABLES", "", "SELECT @@version",
		"show variables like 'warning%'", "DO 1",
	};
	size_t i;

	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		check(diag_is_read((const uint8_t *)reads[i], strlen(reads[i])),
		      "diag_is_read(\"%s\") is true", reads[i]);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		check(!diag_is_read((const uint8_t *)others[i], strlen(others[i])),
		      "diag_is_read(\"%s\") is false", others[i]);
	{
		char longq[600];

		memset(longq, ' ', sizeof(longq));
		memcpy(longq + 500, "SHOW WARNINGS", 13);
		uint8_t *q = dup_exact(longq, sizeof(longq));

		(void)diag_is_read(q, sizeof(longq));   /* ASan: stays inside q and its own buffer */
		check(true, "diag_is_read of a 600-byte statement stays in bounds");
		free(q);
	}
}

/* With MariaDB's extended metadata, a built column definition carries an
   empty type-info string between org_name and the fixed fields. */
static void test_column_ext(void)
{
	static const struct rs_column c = { "n", MYSQL_TYPE_LONGLONG, 21, COLFLAG_UNSIGNED, CHARSET_BINARY, 0 };
	struct rs_builder plain, ext;
	const uint8_t *p, *q;
	size_t lp, lq;

	rs_begin_ext(&plain, CAP_PROTOCOL_41, 0, 1, 1);
	rs_column(&plain, &c);
	rs_begin_ext(&ext, CAP_PROTOCOL_41, MDB_EXTENDED_METADATA | MDB_CACHE_METADATA, 1, 1);
	rs_column(&ext, &c);
	/* count packet: 4 + 1 bytes, and 4 + 2 with the "definitions follow" byte */
	p = plain.out.buf + 5;
	q = ext.out.buf + 6;
	lp = pkt_hdr_len(p);
	lq = pkt_hdr_len(q);
	check(ext.out.len == plain.out.len + 2 && ext.out.buf[4] == 1 && ext.out.buf[5] == 1 &&
	      lq == lp + 1 && memcmp(p + 4, q + 4, 10) == 0 && q[4 + 10] == 0 && q[4 + 11] == 0x0c &&
	      memcmp(p + 4 + 10, q + 4 + 11, lp - 10) == 0,
	      "extended metadata: the column count says definitions follow, each has an empty type string");
	rs_free(&plain);
	rs_free(&ext);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_builder(CAP_PROTOCOL_41 | CAP_TRANSACTIONS, "EOF mode");
	test_builder(CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_DEPRECATE_EOF, "DEPRECATE_EOF mode");
	test_huge_row(CAP_PROTOCOL_41, "EOF mode");
	test_huge_row(CAP_PROTOCOL_41 | CAP_DEPRECATE_EOF, "DEPRECATE_EOF mode");
	test_column_raw();
	test_parse_row();
	test_diag_answers(CAP_PROTOCOL_41 | CAP_TRANSACTIONS, "EOF mode");
	test_diag_answers(CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_DEPRECATE_EOF, "DEPRECATE_EOF mode");
	ext_mode = MDB_CACHE_METADATA;
	test_diag_answers(CAP_PROTOCOL_41 | CAP_TRANSACTIONS, "metadata cache mode");
	test_diag_answers(CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_DEPRECATE_EOF, "metadata cache, DEPRECATE_EOF mode");
	ext_mode = MDB_CACHE_METADATA | MDB_EXTENDED_METADATA;
	test_diag_answers(CAP_PROTOCOL_41 | CAP_TRANSACTIONS, "extended metadata mode");
	ext_mode = 0;
	test_column_ext();
	test_diag_load();
	test_diag_is_read();
	return check_done();
}
