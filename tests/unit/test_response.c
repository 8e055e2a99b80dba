/*
 * test_response.c - unit test of the response state machine
 * (protocol/response.c).
 *
 * Feeds whole responses packet by packet, as the session does: the first
 * RESP_HEAD_MAX bytes of each logical packet (in a heap buffer of exactly
 * that size, so AddressSanitizer sees any overread) and its total length.
 * Each case lists the event expected after every packet -- M (MORE),
 * E (END), I (INFILE), B (BAD) -- and then checks what the parser recorded.
 *
 * Responses marked "recorded" were captured from MariaDB 10.11.19 talking
 * to libmariadb 3.3.20 (MariaDB extended capabilities masked, as the proxy
 * masks them; no DEPRECATE_EOF, which libmariadb does not request).  The
 * DEPRECATE_EOF variants are built from the protocol documentation.
 *
 * Plain C, no framework: "ok N - ..." / "not ok N - ..." per check, "1..N"
 * at the end, exit status 1 if any check failed.
 */
#include "config.h"
#include "protocol/mysql.h"
#include "protocol/packet.h"
#include "protocol/response.h"
#include "tests/unit/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char ev_char(enum resp_ev ev)
{
	switch (ev) {
	case RESP_EV_MORE: return 'M';
	case RESP_EV_END: return 'E';
	case RESP_EV_INFILE: return 'I';
	case RESP_EV_BAD: return 'B';
	}
	return '?';
}

/*
 * Feed one packet of `total` bytes whose first bytes are given in hex; when
 * the hex is shorter than the head, the rest of the head is filled with
 * 'a'.  total == 0 means the packet is exactly the hex.
 */
static char feed(struct resp_parser *rp, const char *hex, size_t total)
{
	size_t n, hl;
	uint8_t *p = unhex(hex, &n), *head;
	enum resp_ev ev;

	if (total == 0)
		total = n;
	hl = total < RESP_HEAD_MAX ? total : RESP_HEAD_MAX;
	head = malloc(hl ? hl : 1);
	if (head == NULL)
		exit(2);
	memset(head, 'a', hl);
	memcpy(head, p, n < hl ? n : hl);
	ev = resp_feed(rp, head, hl, total);
	free(head);
	free(p);
	return ev_char(ev);
}

static uint32_t ext_caps;   /* MariaDB extended caps the cases run with */

/* Feed the packets of a NULL-terminated list; compare the events with `want`. */
static bool run_list(struct resp_parser *rp, enum resp_kind kind, uint32_t caps, const char *want,
		     const char *const *pkts)
{
	size_t i;

	if (ext_caps != 0)
		resp_init_ext(rp, kind, caps, ext_caps);
	else
		resp_init(rp, kind, caps);
	for (i = 0; pkts[i] != NULL; i++) {
		char got = feed(rp, pkts[i], 0);

		if (want[i] != got) {
			diag("packet %zu [%.24s...]: event %c, want %c", i, pkts[i], got,
			     want[i] != '\0' ? want[i] : '-');
			return false;
		}
	}
	if (want[i] != '\0') {
		diag("%zu packets fed, want %zu", i, strlen(want));
		return false;
	}
	return true;
}

/* As run_list, packets as arguments (NULL-terminated). */
static bool run(struct resp_parser *rp, enum resp_kind kind, uint32_t caps, const char *want, ...)
{
	const char *pkts[64];
	size_t n = 0;
	va_list ap;

	va_start(ap, want);
	while (n < 63 && (pkts[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	pkts[n] = NULL;
	return run_list(rp, kind, caps, want, pkts);
}

/* Capabilities of a session without and with DEPRECATE_EOF. */
#define CAPS (CAP_LONG_PASSWORD | CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION | \
	      CAP_MULTI_STATEMENTS | CAP_MULTI_RESULTS | CAP_PS_MULTI_RESULTS | CAP_LOCAL_FILES | \
	      CAP_PLUGIN_AUTH | CAP_SESSION_TRACK)
#define CAPS_DEP (CAPS | CAP_DEPRECATE_EOF)

/* Packets used in many cases. */
#define COLDEF_A  "03646566047465737401740174016101610c3f000b000000030000000000"   /* test.t.a */
#define COLDEF_B  "03646566047465737401740174016201620c2d0050000000fd0000000000"   /* test.t.b */
#define COLDEF_P  "03646566000000013f000c3f0000000000068000000000"                 /* a '?' */
#define EOF_2     "fe 00 00 02 00"
#define OK_2      "00 00 00 02 00 00 00"
#define OKFE_2    "fe 00 00 02 00 00 00"        /* DEPRECATE_EOF terminator */
#define ERR_1054  "ff1e04233432533232556e6b6e6f776e20636f6c756d6e20276e6f73756368636f6c2720696e202753454c45435427"
#define ERR_1146  "ff 7a 04 23 34 32 53 30 32 54 61 62 6c 65"

/* ---- COM_QUERY --------------------------------------------------------- */

static const char *const rec_cast_warnings[] = {   /* SELECT CAST('x' AS SIGNED), 1/0 */
	"02",
	"03646566000000134341535428277827204153205349474e454429000c3f0002000000038100000000",
	"0364656600000003312f30000c3f0007000000f68000040000",
	"fe00000200",
	"0130fb",
	"fe02000200",
	NULL,
};

static const char *const rec_multi[] = {           /* SELECT a, b FROM t; SELECT 1; DO 1 */
	"02", COLDEF_A, COLDEF_B, "fe00002a00",
	"01310178", "0132fb", "013300", "0137017a",
	"fe00002a00",
	"01", "036465660000000131000c3f0001000000038100000000", "fe00000a00",
	"0131",
	"fe00000a00",
	"00000002000000",
	NULL,
};

static const char *const rec_show_warnings[] = {
	"03",
	"03646566000000054c6576656c000c2d001c000000fd0100270000",
	"0364656600000004436f6465000c3f000400000003a100000000",
	"03646566000000074d657373616765000c2d0000080000fd0100270000",
	"fe00000200",
	"075761726e696e670431323932265472756e636174656420696e636f727265637420494e54454745522076616c75653a20277827",
	"075761726e696e6704313336350d4469766973696f6e2062792030",
	"fe00000200",
	NULL,
};

static void test_query(void)
{
	struct resp_parser rp;
	bool ok;

	ok = run(&rp, RESP_KIND_QUERY, CAPS, "E", "00 03 07 02 00 01 00", NULL);
	check(ok && rp.last == RP_OK && rp.affected_rows == 3 && rp.last_insert_id == 7 &&
	      rp.status == 2 && rp.warnings == 1 && rp.have_status && rp.last_status_off == 3 &&
	      !rp.is_err && rp.result_sets == 0 && rp.state == RS_DONE,
	      "QUERY: OK records affected rows, insert id, status, warnings, status offset");
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "E", "00 fc 2c 01 fd 00 00 01 03 00 00 00", NULL);
	check(ok && rp.affected_rows == 300 && rp.last_insert_id == 65536 && rp.status == 3 &&
	      rp.last_status_off == 8, "QUERY: OK with 3- and 4-byte counters, status offset after them");
	resp_init(&rp, RESP_KIND_QUERY, CAPS);
	check(feed(&rp, "00 01 00 02 00 00 00 2f 52 65 63 6f 72 64 73", 54) == 'E' &&
	      rp.affected_rows == 1, "QUERY: OK whose info string lies beyond the head");

	ok = run(&rp, RESP_KIND_QUERY, CAPS, "E", ERR_1054, NULL);
	check(ok && rp.last == RP_ERR && rp.is_err && rp.err_code == 1054 && rp.last_status_off == 0 &&
	      rp.state == RS_DONE, "QUERY: ERR (recorded) records the error code");

	ok = run_list(&rp, RESP_KIND_QUERY, CAPS, "MMMMME", rec_cast_warnings);
	check(ok && rp.last == RP_EOF && rp.status == 2 && rp.warnings == 2 && rp.rows == 1 &&
	      rp.result_sets == 1 && rp.last_status_off == 3 && rp.have_status && !rp.is_err,
	      "QUERY: text result set with EOFs (recorded), 2 warnings in the final EOF");
	ok = run_list(&rp, RESP_KIND_QUERY, CAPS, "MMMMMMME", rec_show_warnings);
	check(ok && rp.rows == 2 && rp.result_sets == 1, "QUERY: SHOW WARNINGS response (recorded)");

	ok = run_list(&rp, RESP_KIND_QUERY, CAPS, "MMMMMMMMMMMMMME", rec_multi);
	check(ok && rp.result_sets == 2 && rp.rows == 5 && rp.status == 2 && rp.last == RP_OK,
	      "QUERY: two result sets and an OK, MORE_RESULTS in between (recorded)");

	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MMMMMMMMMME",
		 "01", COLDEF_A, "fe 00 00 0a 00", "01 31", "fe 00 00 0a 00",
		 "00 00 00 0a 00 00 00",
		 "01", COLDEF_B, "fe 00 00 02 00", "01 32", "fe 01 00 02 00", NULL);
	check(ok && rp.result_sets == 2 && rp.rows == 2 && rp.status == 2 && rp.warnings == 1,
	      "QUERY: result set, OK with MORE_RESULTS, result set");
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MMMMME",
		 "01", COLDEF_A, "fe 00 00 0a 00", "01 31", "fe 00 00 0a 00", ERR_1054, NULL);
	check(ok && rp.is_err && rp.err_code == 1054 && rp.result_sets == 1,
	      "QUERY: result set with MORE_RESULTS, then ERR for the next statement");

	ok = run(&rp, RESP_KIND_QUERY, CAPS, "IE",
		 "fb2f746d702f6361702f696e66696c652e747874",
		 "000100020000002f5265636f7264733a2031202044656c657465643a20302020536b69707065643a20"
		 "3020205761726e696e67733a2030", NULL);
	check(ok && rp.last == RP_OK && rp.affected_rows == 1 && rp.status == 2,
	      "QUERY: LOCAL INFILE request, then OK (recorded)");
	resp_init(&rp, RESP_KIND_QUERY, CAPS);
	check(feed(&rp, "fb 2f 78", 0) == 'I' && rp.last == RP_INFILE && rp.last_status_off == 0,
	      "QUERY: LOCAL INFILE request is reported as such");
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "IE", "fb 2f 78", ERR_1146, NULL);
	check(ok && rp.is_err && rp.err_code == 1146, "QUERY: LOCAL INFILE, then ERR");
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MIE", "00 00 00 0a 00 00 00", "fb 2f 78", OK_2, NULL);
	check(ok && rp.status == 2, "QUERY: OK with MORE_RESULTS, LOCAL INFILE, OK");

	/* SELECT 1,1,...,1 with 5000 columns: MariaDB 10.11 sends all of them */
	resp_init(&rp, RESP_KIND_QUERY, CAPS);
	{
		int i;

		ok = feed(&rp, "fc 88 13", 0) == 'M';
		for (i = 0; ok && i < 5000; i++)
			ok = feed(&rp, "036465660000000131000c3f0001000000038100000000", 0) == 'M';
		ok = ok && feed(&rp, EOF_2, 0) == 'M' && feed(&rp, "01 31 01 31", 10000) == 'M' &&
		     feed(&rp, EOF_2, 0) == 'E';
	}
	check(ok && rp.rows == 1 && rp.result_sets == 1,
	      "QUERY: result set of 5000 columns (shape recorded from MariaDB 10.11)");

	/* DEPRECATE_EOF */
	ok = run(&rp, RESP_KIND_QUERY, CAPS_DEP, "MMMMME",
		 "02", COLDEF_A, COLDEF_B, "01 31 01 78", "01 32 fb", "fe 00 00 22 00 02 00", NULL);
	check(ok && rp.last == RP_EOF && rp.status == 0x22 && rp.warnings == 2 && rp.rows == 2 &&
	      rp.last_status_off == 3 && rp.have_status,
	      "QUERY DEPRECATE_EOF: no EOF after columns, OK with 0xfe header ends the rows");
	ok = run(&rp, RESP_KIND_QUERY, CAPS_DEP, "MME", "01", COLDEF_A, OKFE_2, NULL);
	check(ok && rp.rows == 0, "QUERY DEPRECATE_EOF: empty result set");
	ok = run(&rp, RESP_KIND_QUERY, CAPS_DEP, "MMMMMMME",
		 "01", COLDEF_A, "01 31", "fe 00 00 0a 00 00 00",
		 "01", COLDEF_B, "01 32", OKFE_2, NULL);
	check(ok && rp.result_sets == 2 && rp.rows == 2,
	      "QUERY DEPRECATE_EOF: two result sets chained by MORE_RESULTS");
	ok = run(&rp, RESP_KIND_QUERY, CAPS_DEP, "ME", "00 00 00 0a 00 00 00", OK_2, NULL);
	check(ok, "QUERY DEPRECATE_EOF: two OKs (multi-statement without result sets)");

	/* rows whose first byte is 0xfe */
	resp_init(&rp, RESP_KIND_QUERY, CAPS);
	ok = feed(&rp, "01", 0) == 'M' && feed(&rp, COLDEF_A, 0) == 'M' && feed(&rp, EOF_2, 0) == 'M';
	check(ok && feed(&rp, "fe 00 00 00 01 00 00 00 00", 16777225) == 'M' && rp.last == RP_ROW &&
	      rp.rows == 1, "QUERY: 0xfe row of 16 MiB (8-byte length) is a row, not EOF");
	check(feed(&rp, "fe 01 00 00 00 00 00 00 00", 9) == 'M' && rp.rows == 2,
	      "QUERY: 0xfe packet of exactly 9 bytes is a row");
	check(feed(&rp, "fe 00 00 22 00", 0) == 'E' && rp.status == 0x22,
	      "QUERY: then a 5-byte EOF ends it");
	resp_init(&rp, RESP_KIND_QUERY, CAPS_DEP);
	ok = feed(&rp, "01", 0) == 'M' && feed(&rp, COLDEF_A, 0) == 'M';
	check(ok && feed(&rp, "fe 00 00 00 01 00 00 00 00", 0xffffff) == 'M' && rp.last == RP_ROW,
	      "QUERY DEPRECATE_EOF: 0xfe packet of 0xffffff bytes is a row");
	check(feed(&rp, "fe 09 00 00 01 00 00 00 00", 0x1000011) == 'M' && rp.rows == 2,
	      "QUERY DEPRECATE_EOF: 0xfe logical packet longer than 0xffffff is a row");
	check(feed(&rp, "fe 00 00 02 00 00 00", 0) == 'E' && rp.rows == 2,
	      "QUERY DEPRECATE_EOF: then the 0xfe OK ends it");

	/* a long row: only the head is seen */
	resp_init(&rp, RESP_KIND_QUERY, CAPS);
	ok = feed(&rp, "01", 0) == 'M' &&
	     feed(&rp, "0364656600000010524550454154282761272c2033303029000c2d00b0040000fd0000270000", 0) == 'M' &&
	     feed(&rp, "fe00000200", 0) == 'M' && feed(&rp, "fc2c01", 303) == 'M' &&
	     feed(&rp, "fe00000200", 0) == 'E';
	check(ok && rp.rows == 1, "QUERY: SELECT REPEAT('a', 300) (recorded), row of 303 bytes");

	/* ERR instead of a row or a column */
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MMMMME", "01", COLDEF_A, EOF_2, "01 31", "01 32", ERR_1054, NULL);
	check(ok && rp.is_err && rp.err_code == 1054 && rp.rows == 2 && rp.last == RP_ERR,
	      "QUERY: ERR in the middle of the rows ends the response");
	ok = run(&rp, RESP_KIND_QUERY, CAPS_DEP, "MMME", "01", COLDEF_A, "01 31", ERR_1054, NULL);
	check(ok && rp.is_err && rp.rows == 1, "QUERY DEPRECATE_EOF: ERR in the middle of the rows");
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MME", "02", COLDEF_A, ERR_1054, NULL);
	check(ok && rp.is_err, "QUERY: ERR instead of a column definition");
}

/* ---- COM_STMT_PREPARE -------------------------------------------------- */

static void test_prepare(void)
{
	struct resp_parser rp;
	bool ok;

	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "MME", "000600000000000100000000", COLDEF_P, EOF_2, NULL);
	check(ok && rp.stmt_id == 6 && rp.num_params == 1 && rp.num_columns == 0 && !rp.is_err &&
	      rp.state == RS_DONE, "PREPARE 'DO ?' (recorded): parameters only");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS_DEP, "ME", "000600000000000100000000", COLDEF_P, NULL);
	check(ok && rp.num_params == 1, "PREPARE DEPRECATE_EOF: parameters only");

	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "MME", "000700000001000000000000", COLDEF_A, EOF_2, NULL);
	check(ok && rp.stmt_id == 7 && rp.num_params == 0 && rp.num_columns == 1,
	      "PREPARE 'SELECT a FROM t' (recorded): columns only");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS_DEP, "ME", "000700000001000000000000", COLDEF_A, NULL);
	check(ok && rp.num_columns == 1, "PREPARE DEPRECATE_EOF: columns only");

	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "MMMME",
		 "000800000001000100000000", COLDEF_P, EOF_2, COLDEF_A, EOF_2, NULL);
	check(ok && rp.stmt_id == 8 && rp.num_params == 1 && rp.num_columns == 1 && rp.last == RP_EOF,
	      "PREPARE 'SELECT a FROM t WHERE a > ?' (recorded): parameters and columns");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS_DEP, "MME",
		 "000800000001000100000000", COLDEF_P, COLDEF_A, NULL);
	check(ok && rp.last == RP_COLDEF, "PREPARE DEPRECATE_EOF: parameters and columns");

	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "MMMMMMME",
		 "00 0b 00 00 00 03 00 02 00 00 00 00", COLDEF_P, COLDEF_P, EOF_2,
		 COLDEF_A, COLDEF_B, COLDEF_A, EOF_2, NULL);
	check(ok && rp.num_params == 2 && rp.num_columns == 3, "PREPARE: 2 parameters, 3 columns");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS_DEP, "MMMMME",
		 "00 0b 00 00 00 03 00 02 00 00 00 00", COLDEF_P, COLDEF_P,
		 COLDEF_A, COLDEF_B, COLDEF_A, NULL);
	check(ok, "PREPARE DEPRECATE_EOF: 2 parameters, 3 columns");

	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "E", "000900000000000000000000", NULL);
	check(ok && rp.stmt_id == 9 && rp.num_params == 0 && rp.num_columns == 0 &&
	      rp.last == RP_PREPARE_OK, "PREPARE 'DO 1' (recorded): neither");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS_DEP, "E", "000900000000000000000000", NULL);
	check(ok, "PREPARE DEPRECATE_EOF: neither");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "E", "00 0c 00 00 00 00 00 00 00 00 03 00", NULL);
	check(ok && rp.warnings == 3, "PREPARE: warnings of the PREPARE_OK are recorded");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "E", "00 0d 00 00 00 00 00 00 00", NULL);
	check(ok && rp.stmt_id == 13, "PREPARE: PREPARE_OK without filler and warnings (9 bytes)");

	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "E", ERR_1146, NULL);
	check(ok && rp.is_err && rp.err_code == 1146, "PREPARE: ERR");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "ME", "000800000001000100000000", ERR_1146, NULL);
	check(ok && rp.is_err, "PREPARE: ERR instead of a parameter definition ends the response");

	check(run(&rp, RESP_KIND_PREPARE, CAPS, "B", "fb 2f 78", NULL),
	      "PREPARE: LOCAL INFILE is a protocol violation");
	check(run(&rp, RESP_KIND_PREPARE, CAPS, "B", "01", NULL),
	      "PREPARE: a column count is a protocol violation");
	check(run(&rp, RESP_KIND_PREPARE, CAPS, "B", "00 0d 00 00 00 00 00 00", NULL),
	      "PREPARE: PREPARE_OK of 8 bytes is rejected");
	check(run(&rp, RESP_KIND_PREPARE, CAPS, "MMB", "000800000001000100000000", COLDEF_P, COLDEF_A, NULL),
	      "PREPARE: a column definition where the EOF after the parameters is due");
	check(run(&rp, RESP_KIND_PREPARE, CAPS, "MMB", "000700000001000000000000", COLDEF_A,
		  "fe 00 00 02 00 00 00 00 00", NULL),
	      "PREPARE: a 9-byte 0xfe packet is not the EOF after the columns");
}

/* ---- COM_STMT_EXECUTE / COM_STMT_FETCH ---------------------------------- */

static void test_execute(void)
{
	struct resp_parser rp;
	bool ok;

	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "E", "00000002000000", NULL);
	check(ok && rp.last == RP_OK && !rp.cursor, "EXECUTE 'DO ?' (recorded): OK");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "E", ERR_1146, NULL);
	check(ok && rp.is_err, "EXECUTE: ERR");

	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "MMMMMMME", "01", COLDEF_A, "fe00002200",
		 "000001000000", "000002000000", "000003000000", "000007000000", "fe00002200", NULL);
	check(ok && rp.rows == 4 && !rp.cursor && rp.status == 0x22,
	      "EXECUTE 'SELECT a FROM t' (recorded): binary result set");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS_DEP, "MMMME", "01", COLDEF_A, "000001000000",
		 "000002000000", "fe 00 00 22 00 00 00", NULL);
	check(ok && rp.rows == 2 && !rp.cursor, "EXECUTE DEPRECATE_EOF: binary result set");

	ok = run(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS, "MMME", "02", COLDEF_A, COLDEF_B, "fe00006200", NULL);
	check(ok && rp.cursor && rp.status == 0x62 && rp.rows == 0 && rp.last == RP_EOF &&
	      rp.state == RS_DONE, "EXECUTE with a read-only cursor (recorded): EOF with CURSOR_EXISTS ends it");
	ok = run(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS_DEP, "MMME", "02", COLDEF_A, COLDEF_B,
		 "fe 00 00 42 00 00 00", NULL);
	check(ok && rp.cursor && rp.status == 0x42,
	      "EXECUTE DEPRECATE_EOF with a cursor: OK with CURSOR_EXISTS after the columns ends it");
	ok = run(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS, "MMMMME", "01", COLDEF_A, "fe00002200", "000001000000",
		 "000002000000", "fe00002200", NULL);
	check(ok && !rp.cursor && rp.rows == 2,
	      "EXECUTE asking for a cursor, none opened (no CURSOR_EXISTS): the rows follow");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "MMMME", "01", COLDEF_A, "fe 00 00 62 00", "000001000000",
		 "fe 00 00 22 00", NULL);
	check(ok && !rp.cursor && rp.rows == 1,
	      "EXECUTE without a cursor: CURSOR_EXISTS after the columns does not end it");
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MMMME", "01", COLDEF_A, "fe 00 00 42 00", "01 31", EOF_2, NULL);
	check(ok && !rp.cursor && rp.rows == 1, "QUERY: CURSOR_EXISTS in a text result set means nothing");

	/*
	 * CALL of a procedure that has a cursor of its own open while it sends
	 * a result set: CURSOR_EXISTS with MORE_RESULTS in every EOF, and the
	 * rows follow -- with and without a cursor asked for (the server opens
	 * none for a CALL; both recorded, same bytes).
	 */
	{
		static const char *const rec_call_cursor[] = {   /* FETCH c INTO x; SELECT x AS res */
			"01", "036465660000000372657301780c3f000b000000030000000000", "fe00006a00",
			"000001000000", "fe00006a00",
			"00000022000000",
			NULL,
		};
		static const char *const rec_call_for[] = {      /* FOR r IN (SELECT ...) DO SELECT r.a */
			"01", "0364656600000007696e6e65725f6101610c3f000b000000030000000000", "fe00006a00",
			"000001000000", "fe00006a00",
			"01", "0364656600000007696e6e65725f6101610c3f000b000000030000000000", "fe00006a00",
			"000002000000", "fe00006a00",
			"00000022000000",
			NULL,
		};

		ok = run_list(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS, "MMMMME", rec_call_cursor);
		check(ok && !rp.cursor && rp.rows == 1 && rp.result_sets == 1 && rp.last == RP_OK &&
		      rp.status == 0x22, "EXECUTE 'CALL' asking for a cursor, the procedure has one open "
		      "(recorded): CURSOR_EXISTS with MORE_RESULTS is no cursor");
		ok = run_list(&rp, RESP_KIND_EXECUTE, CAPS, "MMMMME", rec_call_cursor);
		check(ok && !rp.cursor && rp.rows == 1,
		      "EXECUTE 'CALL', no cursor asked for, the procedure has one open (recorded)");
		ok = run_list(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS, "MMMMMMMMMME", rec_call_for);
		check(ok && !rp.cursor && rp.rows == 2 && rp.result_sets == 2,
		      "EXECUTE 'CALL' of a FOR loop over a cursor (recorded): two result sets");
	}
	ok = run(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS_DEP, "MMMMMME", "01", COLDEF_A, "fe 00 00 6a 00 00 00",
		 "01", COLDEF_B, "fe 00 00 6a 00 00 00", "00 00 00 22 00 00 00", NULL);
	check(ok && !rp.cursor && rp.result_sets == 2 && rp.rows == 0,
	      "EXECUTE 'CALL' DEPRECATE_EOF: empty result sets with CURSOR_EXISTS and MORE_RESULTS");

	/* a prepared LOAD DATA LOCAL INFILE asks for the file as a query does */
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "IE", "fb2f746d702f782e747874",
		 "000200020000002f5265636f7264733a2032202044656c657465643a20302020536b69707065643a2030"
		 "20205761726e696e67733a2030", NULL);
	check(ok && rp.last == RP_OK && rp.affected_rows == 2 && rp.status == 2 && !rp.cursor,
	      "EXECUTE 'LOAD DATA LOCAL INFILE' (recorded): LOCAL INFILE request, then OK");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "IE", "fb 2f 78", ERR_1146, NULL);
	check(ok && rp.is_err && rp.err_code == 1146, "EXECUTE: LOCAL INFILE, then ERR");
	check(run(&rp, RESP_KIND_EXECUTE, CAPS, "MMB", "01", COLDEF_A, "fb 2f 78", NULL),
	      "EXECUTE: LOCAL INFILE where the EOF after the columns is due is a protocol violation");

	ok = run(&rp, RESP_KIND_FETCH, CAPS, "MME", "0000010000000178", "000802000000", "fe00004200", NULL);
	check(ok && rp.rows == 2 && rp.status == 0x42 && (rp.status & SERVER_STATUS_CURSOR_EXISTS) &&
	      !rp.cursor, "FETCH (recorded): two rows, EOF with CURSOR_EXISTS");
	ok = run(&rp, RESP_KIND_FETCH, CAPS, "MME", "00000300000000", "000007000000017a", "fe00004200", NULL);
	check(ok && rp.rows == 2, "FETCH (recorded): the next two rows");
	ok = run(&rp, RESP_KIND_FETCH, CAPS, "E", "fe00008200", NULL);
	check(ok && rp.rows == 0 && (rp.status & SERVER_STATUS_LAST_ROW_SENT),
	      "FETCH (recorded): no rows left, LAST_ROW_SENT");
	ok = run(&rp, RESP_KIND_FETCH, CAPS_DEP, "MME", "0000010000000178", "000802000000",
		 "fe 00 00 42 00 00 00", NULL);
	check(ok && rp.rows == 2 && rp.status == 0x42, "FETCH DEPRECATE_EOF: rows, OK with 0xfe header");
	ok = run(&rp, RESP_KIND_FETCH, CAPS, "E", "ff 13 02 23 48 59 30 30 30 55 6e 6b", NULL);
	check(ok && rp.is_err && rp.err_code == 531, "FETCH: ERR (unknown statement)");
	ok = run(&rp, RESP_KIND_FETCH, CAPS, "ME", "0000010000000178", ERR_1054, NULL);
	check(ok && rp.is_err && rp.rows == 1, "FETCH: ERR after a row");
}

/* ---- FIELD_LIST, SIMPLE, STRING, NONE ----------------------------------- */

static void test_other_kinds(void)
{
	struct resp_parser rp;
	bool ok;

	ok = run(&rp, RESP_KIND_FIELD_LIST, CAPS, "MME", COLDEF_A "fb", COLDEF_B "fb", EOF_2, NULL);
	check(ok && rp.last == RP_EOF && rp.status == 2 && rp.state == RS_DONE,
	      "FIELD_LIST (recorded): definitions, EOF");
	ok = run(&rp, RESP_KIND_FIELD_LIST, CAPS_DEP, "MME", COLDEF_A "fb", COLDEF_B "fb", OKFE_2, NULL);
	check(ok && rp.status == 2, "FIELD_LIST DEPRECATE_EOF: definitions, OK with 0xfe header");
	ok = run(&rp, RESP_KIND_FIELD_LIST, CAPS, "E", EOF_2, NULL);
	check(ok, "FIELD_LIST: no columns, just EOF");
	ok = run(&rp, RESP_KIND_FIELD_LIST, CAPS, "E", ERR_1146, NULL);
	check(ok && rp.is_err && rp.err_code == 1146, "FIELD_LIST: ERR");

	ok = run(&rp, RESP_KIND_SIMPLE, CAPS, "E", "00000002000000", NULL);
	check(ok && rp.last == RP_OK && rp.status == 2, "SIMPLE: OK (COM_PING, recorded)");
	ok = run(&rp, RESP_KIND_SIMPLE, CAPS, "E", ERR_1146, NULL);
	check(ok && rp.is_err, "SIMPLE: ERR");
	ok = run(&rp, RESP_KIND_SIMPLE, CAPS, "E", "fe00000200", NULL);
	check(ok && rp.last == RP_EOF && rp.status == 2 && rp.have_status && rp.last_status_off == 3,
	      "SIMPLE: EOF (COM_SET_OPTION, recorded)");
	check(run(&rp, RESP_KIND_SIMPLE, CAPS, "B", "05 00", NULL), "SIMPLE: first byte 0x05 is rejected");
	check(run(&rp, RESP_KIND_SIMPLE, CAPS, "B", "00 00 00 02", NULL),
	      "SIMPLE: OK without warnings is rejected");
	check(run(&rp, RESP_KIND_SIMPLE, CAPS, "B", "fe 00 00 02 00 00 00 00 00", NULL),
	      "SIMPLE: 0xfe packet of 9 bytes is rejected");

	resp_init(&rp, RESP_KIND_STRING, CAPS);
	check(feed(&rp, "557074696d653a2033392020546872656164733a20312020517565737469", 113) == 'E' &&
	      rp.last == RP_OTHER && !rp.is_err, "STRING: COM_STATISTICS text (recorded)");
	ok = run(&rp, RESP_KIND_STRING, CAPS, "E", ERR_1146, NULL);
	check(ok && rp.is_err, "STRING: ERR");
	resp_init(&rp, RESP_KIND_STRING, CAPS);
	check(resp_feed(&rp, (const uint8_t *)"", 0, 0) == RESP_EV_END, "STRING: empty packet");

	check(run(&rp, RESP_KIND_NONE, CAPS, "B", OK_2, NULL), "NONE: any packet is a protocol violation");
}

/* ---- MariaDB extended metadata ------------------------------------------ */

/*
 * With MARIADB_CLIENT_EXTENDED_METADATA a column definition carries one
 * more string, the data type and format names (after org_name).  The
 * parser counts definitions and never reads them: the same responses parse
 * the same way.  Recorded (SELECT a, j, ip FROM t: INT, JSON, INET6).
 */
#define XCOL_A  "03646566047465737402746a02746a01610161000c3f000b000000030000000000"
#define XCOL_J  "03646566047465737402746a02746a016a016a0601046a736f6e0c2100fffffffffc9000000000"
#define XCOL_IP "03646566047465737402746a02746a026970026970070005696e6574360c210075000000fea000000000"

static void test_extended_metadata(void)
{
	struct resp_parser rp;
	bool ok;

	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MMMMMME", "03", XCOL_A, XCOL_J, XCOL_IP, "fe00002200",
		 "0131035b315d033a3a31", "fe00002200", NULL);
	check(ok && rp.rows == 1 && rp.result_sets == 1 && rp.status == 0x22,
	      "QUERY with extended metadata (recorded): JSON and INET6 column definitions");
	ok = run(&rp, RESP_KIND_PREPARE, CAPS, "MMMMMME", "000f22000003000100000000",
		 "03646566000000013f00000c3f0000000000068000000000", "fe00000200", XCOL_A, XCOL_J, XCOL_IP,
		 "fe00000200", NULL);
	check(ok && rp.num_params == 1 && rp.num_columns == 3,
	      "PREPARE with extended metadata (recorded): parameter and column definitions");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "MMMMMME", "03", XCOL_A, XCOL_J, XCOL_IP, "fe00002200",
		 "000001000000035b315d033a3a31", "fe00002200", NULL);
	check(ok && rp.rows == 1 && !rp.cursor, "EXECUTE with extended metadata (recorded): binary result set");
	ok = run(&rp, RESP_KIND_FIELD_LIST, CAPS, "MMME", XCOL_A "fb", XCOL_J "fb", XCOL_IP "fb", "fe00000200",
		 NULL);
	check(ok && rp.state == RS_DONE, "FIELD_LIST with extended metadata (recorded)");
	ok = run(&rp, RESP_KIND_QUERY, CAPS_DEP, "MMMMME", "03", XCOL_A, XCOL_J, XCOL_IP,
		 "000001000000035b315d033a3a31", "fe 00 00 22 00 00 00", NULL);
	check(ok && rp.rows == 1, "QUERY DEPRECATE_EOF with extended metadata");
}

/*
 * MariaDB's metadata cache (MDB_CACHE_METADATA agreed): a byte after every
 * column count says whether the column definitions follow.  The EOF after
 * them (without DEPRECATE_EOF) is sent either way.
 */
static void test_metadata_cache(void)
{
	struct resp_parser rp;
	bool ok;

	ext_caps = MDB_CACHE_METADATA;
	/* sysbench's 'SELECT c FROM sbtest1 WHERE id=?' executed again, as
	   MariaDB 10.11.19 answered libmariadb (recorded; the row's 120
	   bytes of text cut to a head) */
	ok = run(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS & ~CAP_LONG_PASSWORD, "MMME", "0100", "fe00000200",
		 "00007739313233383436353633362d", "fe00000200", NULL);
	check(ok && rp.rows == 1 && rp.result_sets == 1 && !rp.cursor && rp.status == 0x02,
	      "metadata cache: EXECUTE answered without definitions (recorded), then the EOF and the rows");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "MMMME", "0101", COLDEF_A, "fe00002200", "000001000000",
		 "fe00002200", NULL);
	check(ok && rp.rows == 1, "metadata cache: EXECUTE whose definitions follow (flag 1)");
	ok = run(&rp, RESP_KIND_QUERY, CAPS, "MMMMME", "0201", COLDEF_A, COLDEF_B, EOF_2, "01310178", EOF_2,
		 NULL);
	check(ok && rp.rows == 1 && rp.result_sets == 1, "metadata cache: a text result set says its definitions follow");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS_DEP, "MMME", "0100", "000001000000", "000002000000",
		 "fe 00 00 22 00 00 00", NULL);
	check(ok && rp.rows == 2 && rp.last == RP_EOF, "metadata cache, DEPRECATE_EOF: the rows right after the count");
	ok = run(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS, "ME", "0200", "fe00006200", NULL);
	check(ok && rp.cursor && rp.state == RS_DONE, "metadata cache: a cursor opened, no definitions, the EOF ends it");
	ok = run(&rp, RESP_KIND_EXECUTE_CURSOR, CAPS_DEP, "ME", "0200", "fe 00 00 42 00 00 00", NULL);
	check(ok && rp.cursor, "metadata cache, DEPRECATE_EOF: a cursor's OK right after the count ends it");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "MMMMMMMME", "0100", "fe00002a00", "000001000000", "fe00002a00",
		 "0101", COLDEF_B, "fe00002a00", "fe00002a00", "00000002000000", NULL);
	check(ok && rp.result_sets == 2 && rp.rows == 1, "metadata cache: a CALL's result sets, with and without definitions");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "MMME", "fc000100", "fe00000200", "0000000000", "fe00000200", NULL);
	check(ok && rp.rows == 1, "metadata cache: 256 columns (a 3-byte count), then the flag 0");
	ok = run(&rp, RESP_KIND_EXECUTE, CAPS, "MMM", "fc000101", COLDEF_A, COLDEF_B, NULL);
	check(ok && rp.state == RS_COLS && rp.left == 254, "metadata cache: 256 columns, then the flag 1: definitions follow");
	check(run(&rp, RESP_KIND_EXECUTE, CAPS, "B", "0102", NULL), "metadata cache: a flag other than 0 or 1 is BAD");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", "01", NULL), "metadata cache: a column count without the flag is BAD");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", "010100", NULL), "metadata cache: a byte after the flag is BAD");
	ext_caps = 0;
	check(run(&rp, RESP_KIND_EXECUTE, CAPS, "B", "0100", NULL),
	      "without the metadata cache, a byte after the column count is BAD");
}

/* ---- protocol violations ----------------------------------------------- */

static void test_bad(void)
{
	static const enum resp_kind kinds[] = {
		RESP_KIND_QUERY, RESP_KIND_EXECUTE, RESP_KIND_PREPARE, RESP_KIND_FETCH,
		RESP_KIND_FIELD_LIST, RESP_KIND_SIMPLE, RESP_KIND_STRING, RESP_KIND_EXECUTE_CURSOR,
	};
	static const char *const kind_names[] = {
		"QUERY", "EXECUTE", "PREPARE", "FETCH", "FIELD_LIST", "SIMPLE", "STRING", "EXECUTE_CURSOR",
	};
	static const char *const first[] = {
		OK_2, OK_2, "000900000000000000000000", EOF_2, EOF_2, OK_2, "55 70", OK_2,
	};
	struct resp_parser rp;
	size_t i;

	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", "fc 00 00", NULL), "QUERY: column count 0 is rejected");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", "00", NULL),
	      "QUERY: a lone 0x00 (OK too short) is rejected");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "M", "fc 00 10", NULL), "QUERY: 4096 columns are accepted");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "M", "fd 70 11 01", NULL),
	      "QUERY: 70000 columns are accepted (MariaDB 10.11 returns them for a wide SELECT)");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", "01 00", NULL),
	      "QUERY: column count with a trailing byte is rejected");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", "fd 01 00", NULL),
	      "QUERY: truncated column count is rejected");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", EOF_2, NULL),
	      "QUERY: EOF as the first packet is rejected");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "MMB", "01", COLDEF_A, "01 31", NULL),
	      "QUERY: a row where the EOF after the columns is due");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "MMB", "01", COLDEF_A, "fe 00 00 02 00 00 00 00 00", NULL),
	      "QUERY: 9-byte 0xfe packet where the EOF after the columns is due");
	check(run(&rp, RESP_KIND_QUERY, CAPS_DEP, "MMB", "01", COLDEF_A, "fe 00 00 02 00", NULL),
	      "QUERY DEPRECATE_EOF: 0xfe OK without warnings is rejected");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "MMMB", "01", COLDEF_A, EOF_2, "fe 00 00", NULL),
	      "QUERY: 3-byte EOF after the rows is rejected");
	check(run(&rp, RESP_KIND_QUERY, CAPS, "B", "ff", NULL) &&
	      run(&rp, RESP_KIND_QUERY, CAPS, "B", "ff 7a", NULL) &&
	      run(&rp, RESP_KIND_QUERY, CAPS, "MMMB", "01", COLDEF_A, EOF_2, "ff 7a", NULL),
	      "QUERY: ERR shorter than 3 bytes (no error code) is rejected");

	resp_init(&rp, RESP_KIND_QUERY, CAPS);
	check(resp_feed(&rp, (const uint8_t *)"", 0, 0) == RESP_EV_BAD, "QUERY: empty packet is rejected");
	resp_init(&rp, RESP_KIND_QUERY, CAPS);
	check(resp_feed(&rp, (const uint8_t *)"\x00\x00\x00\x02\x00\x00\x00", 7, 6) == RESP_EV_BAD,
	      "a head longer than the packet is rejected");

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char got;

		resp_init(&rp, kinds[i], CAPS);
		got = feed(&rp, first[i], 0);
		check(got == 'E' && feed(&rp, OK_2, 0) == 'B' && feed(&rp, ERR_1146, 0) == 'B',
		      "%s: any packet after END is rejected", kind_names[i]);
	}
}

static void test_kind_for_command(void)
{
	check(resp_kind_for_command(COM_QUERY) == RESP_KIND_QUERY &&
	      resp_kind_for_command(COM_STMT_EXECUTE) == RESP_KIND_EXECUTE_CURSOR &&
	      resp_kind_for_command(COM_STMT_PREPARE) == RESP_KIND_PREPARE &&
	      resp_kind_for_command(COM_STMT_FETCH) == RESP_KIND_FETCH &&
	      resp_kind_for_command(COM_FIELD_LIST) == RESP_KIND_FIELD_LIST &&
	      resp_kind_for_command(COM_STATISTICS) == RESP_KIND_STRING,
	      "kind_for_command: commands with their own response shapes");
	check(resp_kind_for_command(COM_STMT_CLOSE) == RESP_KIND_NONE &&
	      resp_kind_for_command(COM_STMT_SEND_LONG_DATA) == RESP_KIND_NONE &&
	      resp_kind_for_command(COM_QUIT) == RESP_KIND_NONE,
	      "kind_for_command: commands without a response");
	check(resp_kind_for_command(COM_PING) == RESP_KIND_SIMPLE &&
	      resp_kind_for_command(COM_INIT_DB) == RESP_KIND_SIMPLE &&
	      resp_kind_for_command(COM_SET_OPTION) == RESP_KIND_SIMPLE &&
	      resp_kind_for_command(COM_STMT_RESET) == RESP_KIND_SIMPLE &&
	      resp_kind_for_command(COM_RESET_CONNECTION) == RESP_KIND_SIMPLE,
	      "kind_for_command: commands answered by one OK/ERR/EOF");

	/* COM_STMT_EXECUTE: command, statement id, flags, iteration count */
	check(resp_kind_for_packet((const uint8_t *)"\x17\x01\x00\x00\x00\x00\x01\x00\x00\x00", 10) ==
	      RESP_KIND_EXECUTE, "kind_for_packet: EXECUTE without a cursor (flags 0)");
	check(resp_kind_for_packet((const uint8_t *)"\x17\x01\x00\x00\x00\x01\x01\x00\x00\x00", 10) ==
	      RESP_KIND_EXECUTE_CURSOR, "kind_for_packet: EXECUTE asking for a read-only cursor (flags 1)");
	check(resp_kind_for_packet((const uint8_t *)"\x17\x01\x00\x00\x00\x09", 6) == RESP_KIND_EXECUTE_CURSOR &&
	      resp_kind_for_packet((const uint8_t *)"\x17\x01\x00\x00\x00\x08", 6) == RESP_KIND_EXECUTE,
	      "kind_for_packet: only the CURSOR_TYPE_READ_ONLY bit asks for a cursor");
	check(resp_kind_for_packet((const uint8_t *)"\x17\x01\x00\x00\x00", 5) == RESP_KIND_EXECUTE_CURSOR,
	      "kind_for_packet: EXECUTE too short to have flags: a cursor may follow");
	check(resp_kind_for_packet((const uint8_t *)"\x03SELECT 1", 9) == RESP_KIND_QUERY &&
	      resp_kind_for_packet((const uint8_t *)"\x1c\x01\x00\x00\x00\x01\x00\x00\x00", 9) ==
	      RESP_KIND_FETCH && resp_kind_for_packet((const uint8_t *)"\x0e", 1) == RESP_KIND_SIMPLE &&
	      resp_kind_for_packet((const uint8_t *)"", 0) == RESP_KIND_SIMPLE,
	      "kind_for_packet: other commands as kind_for_command");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_query();
	test_prepare();
	test_execute();
	test_other_kinds();
	test_extended_metadata();
	test_metadata_cache();
	test_bad();
	test_kind_for_command();
	return check_done();
}
