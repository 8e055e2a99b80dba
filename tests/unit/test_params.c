/*
 * test_params.c - unit test of the COM_STMT_EXECUTE parameter decoder
 * (protocol/params.c): payloads built byte by byte for every parameter
 * type, NULL bitmaps, executes that reuse the types of an earlier one,
 * long data, refusals, a truncation at every byte of every payload (each
 * must fail cleanly, with the output emptied), and params_quote() in both
 * backslash modes, checked by reading its output back the way a server
 * does in a single-byte and in a gbk-like double-byte character set.
 *
 * Payloads are heap copies of exactly their size (check.h dup_exact), so
 * AddressSanitizer sees any read past them; the sanitizer build's leak
 * check covers the failure paths.
 */
#include "config.h"
#include "protocol/mysql.h"
#include "protocol/params.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- payload builder -------------------------------------------------------- */

struct buf {
	uint8_t *b;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->b = realloc(b->b, b->cap);
		if (b->b == NULL)
			exit(2);
	}
	if (n > 0)
		memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_le(struct buf *b, uint64_t v, unsigned bytes)
{
	while (bytes-- > 0) {
		put_u8(b, (uint8_t)v);
		v >>= 8;
	}
}

static void put_hex(struct buf *b, const char *hex)
{
	size_t n;
	uint8_t *p = unhex(hex, &n);

	put(b, p, n);
	free(p);
}

/* A length-encoded string, with the shortest prefix. */
static void put_str(struct buf *b, const void *s, size_t n)
{
	if (n < 251) {
		put_u8(b, (uint8_t)n);
	} else if (n < 0x10000) {
		put_u8(b, 0xfc);
		put_le(b, n, 2);
	} else if (n < 0x1000000) {
		put_u8(b, 0xfd);
		put_le(b, n, 3);
	} else {
		put_u8(b, 0xfe);
		put_le(b, n, 8);
	}
	put(b, s, n);
}

/* command byte, statement id, flags, iteration count */
static void put_header(struct buf *b)
{
	put_u8(b, COM_STMT_EXECUTE);
	put_le(b, 7, 4);
	put_u8(b, 0);
	put_le(b, 1, 4);
}

/* ---- helpers ---------------------------------------------------------------- */

/* s with bytes outside printable ASCII as \xNN, for the TAP lines (two
 * rotating static buffers: two calls per message at most). */
static const char *shown(const char *s)
{
	static char bufs[2][512];
	static int which;
	char *b = bufs[which ^= 1];
	size_t k = 0;

	if (s == NULL)
		return "(null)";
	for (; *s != '\0' && k + 8 < sizeof(bufs[0]); s++) {
		uint8_t c = (uint8_t)*s;

		if (c >= 0x20 && c < 0x7f)
			b[k++] = (char)c;
		else
			k += (size_t)snprintf(b + k, 5, "\\x%02x", c);
	}
	if (*s != '\0')
		k += (size_t)snprintf(b + k, 4, "...");
	b[k] = '\0';
	return b;
}

static bool literals_empty(const struct params_literals *out)
{
	return out->n == 0 && out->lit == NULL && out->long_data == NULL;
}

/* Decode a heap copy of exactly len bytes. */
static bool decode(const uint8_t *p, size_t len, unsigned nparams, struct params_types *types,
		   const bool *mask, bool nbe, struct params_literals *out, const char **why)
{
	uint8_t *copy = dup_exact(p, len);
	bool ok = params_decode(copy, len, nparams, types, mask, nbe, out, why);

	free(copy);
	return ok;
}

static struct params_types copy_types(const struct params_types *t)
{
	struct params_types c = { 0, NULL };

	if (t->types != NULL) {
		c.n = t->n;
		c.types = dup_exact(t->types, (size_t)t->n * 2);
	}
	return c;
}

/*
 * Every proper prefix of the payload must fail, with out emptied and a
 * reason.  `bound` (may be empty) is the types state before the execute;
 * each attempt starts from a copy of it.
 */
static void check_truncations(const char *name, const uint8_t *p, size_t len, unsigned nparams,
			      const struct params_types *bound, const bool *mask, bool nbe)
{
	size_t cut, bad = 0;

	for (cut = 0; cut < len; cut++) {
		struct params_types t = copy_types(bound);
		struct params_literals out;
		const char *why = NULL;

		if (decode(p, cut, nparams, &t, mask, nbe, &out, &why) || !literals_empty(&out) ||
		    why == NULL) {
			if (bad++ == 0)
				diag("%s: prefix of %zu bytes: %s", name, cut, why ? why : "accepted");
			params_literals_free(&out);
		}
		params_types_free(&t);
	}
	check(bad == 0, "%s: all %zu truncations fail cleanly", name, len);
}

/* ---- one parameter of each type ----------------------------------------------- */

struct one {
	const char *name;
	uint8_t type, flags;
	const char *value;     /* hex of the value bytes (after types) */
	bool nbe;
	const char *want;      /* the literal; NULL: refused */
};

#define U PARAMS_FLAG_UNSIGNED

static const struct one ones[] = {
	{ "tiny 127", PARAMS_T_TINY, 0, "7f", false, "127" },
	{ "tiny -128", PARAMS_T_TINY, 0, "80", false, "-128" },
	{ "tiny -1", PARAMS_T_TINY, 0, "ff", false, "-1" },
	{ "tiny unsigned 255", PARAMS_T_TINY, U, "ff", false, "255" },
	{ "tiny 0", PARAMS_T_TINY, 0, "00", false, "0" },
	{ "short 32767", PARAMS_T_SHORT, 0, "ff7f", false, "32767" },
	{ "short -32768", PARAMS_T_SHORT, 0, "0080", false, "-32768" },
	{ "short unsigned 65535", PARAMS_T_SHORT, U, "ffff", false, "65535" },
	{ "long max", PARAMS_T_LONG, 0, "ffffff7f", false, "2147483647" },
	{ "long min", PARAMS_T_LONG, 0, "00000080", false, "-2147483648" },
	{ "long unsigned max", PARAMS_T_LONG, U, "ffffffff", false, "4294967295" },
	{ "longlong 42", PARAMS_T_LONGLONG, 0, "2a00000000000000", false, "42" },
	{ "longlong max", PARAMS_T_LONGLONG, 0, "ffffffffffffff7f", false, "9223372036854775807" },
	{ "longlong min", PARAMS_T_LONGLONG, 0, "0000000000000080", false, "-9223372036854775808" },
	{ "longlong unsigned max", PARAMS_T_LONGLONG, U, "ffffffffffffffff", false,
	  "18446744073709551615" },
	{ "longlong -1", PARAMS_T_LONGLONG, 0, "ffffffffffffffff", false, "-1" },
	{ "int24 refused", PARAMS_T_INT24, 0, "05000000", false, NULL },
	{ "year refused", PARAMS_T_YEAR, 0, "e807", false, NULL },
	{ "year unsigned refused", PARAMS_T_YEAR, U, "e807", false, NULL },

	{ "float 0.1 (as the server's double)", PARAMS_T_FLOAT, 0, "cdcccc3d", false,
	  "1.0000000149011612e-01" },
	{ "float 1", PARAMS_T_FLOAT, 0, "0000803f", false, "1e+00" },
	{ "float -2.5", PARAMS_T_FLOAT, 0, "000020c0", false, "-2.5e+00" },
	{ "float max", PARAMS_T_FLOAT, 0, "ffff7f7f", false, "3.4028234663852886e+38" },
	{ "float 0", PARAMS_T_FLOAT, 0, "00000000", false, "0e+00" },
	{ "float -0", PARAMS_T_FLOAT, 0, "00000080", false, "-0e+00" },
	{ "float denormal", PARAMS_T_FLOAT, 0, "01000000", false, "1.401298464324817e-45" },
	{ "float NaN refused", PARAMS_T_FLOAT, 0, "0000c07f", false, NULL },
	{ "float inf refused", PARAMS_T_FLOAT, 0, "0000807f", false, NULL },
	{ "float -inf refused", PARAMS_T_FLOAT, 0, "000080ff", false, NULL },
	{ "double 0.1", PARAMS_T_DOUBLE, 0, "9a9999999999b93f", false, "1e-01" },
	{ "double 1/3", PARAMS_T_DOUBLE, 0, "555555555555d53f", false, "3.333333333333333e-01" },
	{ "double 1e308", PARAMS_T_DOUBLE, 0, "a0c8eb85f3cce17f", false, "1e+308" },
	{ "double 5e-324", PARAMS_T_DOUBLE, 0, "0100000000000000", false, "5e-324" },
	{ "double max", PARAMS_T_DOUBLE, 0, "ffffffffffffef7f", false, "1.7976931348623157e+308" },
	{ "double -0", PARAMS_T_DOUBLE, 0, "0000000000000080", false, "-0e+00" },
	{ "double 2.5 (unsigned flag ignored)", PARAMS_T_DOUBLE, U, "0000000000000440", false,
	  "2.5e+00" },
	{ "double 1.2345678901234568e17", PARAMS_T_DOUBLE, 0, "350f63bab4697b43", false,
	  "1.2345678901234568e+17" },
	{ "double NaN refused", PARAMS_T_DOUBLE, 0, "000000000000f87f", false, NULL },
	{ "double inf refused", PARAMS_T_DOUBLE, 0, "000000000000f07f", false, NULL },

	/* DECIMAL: length-encoded text; "@" + text is written by the test as a string */
	{ "decimal 1.50", PARAMS_T_NEWDECIMAL, 0, "@1.50", false, "1.50" },
	{ "decimal -007.50", PARAMS_T_NEWDECIMAL, 0, "@-007.50", false, "-7.50" },
	{ "decimal .5", PARAMS_T_NEWDECIMAL, 0, "@.5", false, "0.5" },
	{ "decimal 5.", PARAMS_T_NEWDECIMAL, 0, "@5.", false, "5" },
	{ "decimal +5", PARAMS_T_NEWDECIMAL, 0, "@+5", false, "5" },
	{ "decimal 000", PARAMS_T_NEWDECIMAL, 0, "@000", false, "0" },
	{ "decimal -0.00", PARAMS_T_NEWDECIMAL, 0, "@-0.00", false, "0.00" },
	{ "decimal 1.50e1", PARAMS_T_NEWDECIMAL, 0, "@1.50e1", false, "15" },
	{ "decimal 1.55e1", PARAMS_T_NEWDECIMAL, 0, "@1.55e1", false, "15.5" },
	{ "decimal 1.50e0 keeps the scale", PARAMS_T_NEWDECIMAL, 0, "@1.50e0", false, "1.50" },
	{ "decimal 12.300e-2", PARAMS_T_NEWDECIMAL, 0, "@12.300e-2", false, "0.123" },
	{ "decimal 1.5E+3", PARAMS_T_NEWDECIMAL, 0, "@1.5E+3", false, "1500" },
	{ "decimal 15e-3", PARAMS_T_NEWDECIMAL, 0, "@15e-3", false, "0.015" },
	{ "decimal -15e-3", PARAMS_T_NEWDECIMAL, 0, "@-15e-3", false, "-0.015" },
	{ "decimal 100e-2", PARAMS_T_NEWDECIMAL, 0, "@100e-2", false, "1" },
	{ "decimal 0e-3", PARAMS_T_NEWDECIMAL, 0, "@0e-3", false, "0" },
	{ "decimal 0.0e5", PARAMS_T_NEWDECIMAL, 0, "@0.0e5", false, "0" },
	{ "decimal 0e999999", PARAMS_T_NEWDECIMAL, 0, "@0e999999", false, "0" },
	{ "decimal 1.2345678901234567890123e5", PARAMS_T_NEWDECIMAL, 0,
	  "@1.2345678901234567890123e5", false, "123456.78901234567890123" },
	{ "decimal (old type) 3.25", PARAMS_T_DECIMAL, 0, "@3.25", false, "3.25" },
	{ "decimal 65 digits", PARAMS_T_NEWDECIMAL, 0,
	  "@12345678901234567890123456789012345678901234567890123456789012345", false,
	  "12345678901234567890123456789012345678901234567890123456789012345" },
	{ "decimal 66 digits refused", PARAMS_T_NEWDECIMAL, 0,
	  "@123456789012345678901234567890123456789012345678901234567890123456", false, NULL },
	{ "decimal 1e-80 refused", PARAMS_T_NEWDECIMAL, 0, "@1e-80", false, NULL },
	{ "decimal 1e300 refused", PARAMS_T_NEWDECIMAL, 0, "@1e300", false, NULL },
	{ "decimal 12abc refused", PARAMS_T_NEWDECIMAL, 0, "@12abc", false, NULL },
	{ "decimal ' 12' refused", PARAMS_T_NEWDECIMAL, 0, "@ 12", false, NULL },
	{ "decimal empty refused", PARAMS_T_NEWDECIMAL, 0, "@", false, NULL },
	{ "decimal . refused", PARAMS_T_NEWDECIMAL, 0, "@.", false, NULL },
	{ "decimal - refused", PARAMS_T_NEWDECIMAL, 0, "@-", false, NULL },
	{ "decimal 1e refused", PARAMS_T_NEWDECIMAL, 0, "@1e", false, NULL },
	{ "decimal e5 refused", PARAMS_T_NEWDECIMAL, 0, "@e5", false, NULL },
	{ "decimal 1.2.3 refused", PARAMS_T_NEWDECIMAL, 0, "@1.2.3", false, NULL },
	{ "decimal 1,5 refused", PARAMS_T_NEWDECIMAL, 0, "@1,5", false, NULL },

	/* strings ("@text" as above; hex for bytes that are not printable) */
	{ "var_string abc", PARAMS_T_VAR_STRING, 0, "@abc", false, "'abc'" },
	{ "var_string empty", PARAMS_T_VAR_STRING, 0, "00", false, "''" },
	{ "string it's", PARAMS_T_STRING, 0, "@it's", false, "'it''s'" },
	{ "varchar a\\b", PARAMS_T_VARCHAR, 0, "@a\\b", false, "'a\\\\b'" },
	{ "varchar a\\b no_backslash_escapes", PARAMS_T_VARCHAR, 0, "@a\\b", true, "'a\\b'" },
	{ "var_string NUL", PARAMS_T_VAR_STRING, 0, "03 61 00 62", false, "'a\\0b'" },
	{ "var_string NUL no_backslash_escapes: hex", PARAMS_T_VAR_STRING, 0, "03 61 00 62", true,
	  "X'610062'" },
	{ "var_string 0xbf backslash: adjacent literal", PARAMS_T_VAR_STRING, 0, "02 bf 5c", false,
	  "'\xbf' '\\\\'" },
	{ "var_string 0xbf backslash no_backslash_escapes", PARAMS_T_VAR_STRING, 0, "02 bf 5c", true,
	  "'\xbf\\'" },
	{ "var_string 0xbf NUL", PARAMS_T_VAR_STRING, 0, "02 bf 00", false, "'\xbf' '\\0'" },
	{ "var_string 0xbf quote", PARAMS_T_VAR_STRING, 0, "02 bf 27", false, "'\xbf'''" },
	{ "var_string utf8 and newline", PARAMS_T_VAR_STRING, 0, "04 c3 a9 0a 22", false,
	  "'\xc3\xa9\n\"'" },
	{ "enum", PARAMS_T_ENUM, 0, "@red", false, "'red'" },
	{ "set", PARAMS_T_SET, 0, "@a,b", false, "'a,b'" },
	{ "json refused", PARAMS_T_JSON, 0, "@{\"k\": [1]}", false, NULL },
	{ "bit refused", PARAMS_T_BIT, 0, "01 05", false, NULL },
	{ "geometry refused", PARAMS_T_GEOMETRY, 0, "02 00 01", false, NULL },
	{ "varchar NUL", PARAMS_T_VARCHAR, 0, "02 00 01", false, "'\\0\x01'" },
	{ "string with unsigned flag", PARAMS_T_STRING, U, "@x", false, "'x'" },
	{ "string 0xfe length prefix", PARAMS_T_VAR_STRING, 0, "fe 02 00 00 00 00 00 00 00 6f 6b", false,
	  "'ok'" },
	{ "string 0xfc length prefix", PARAMS_T_VAR_STRING, 0, "fc 02 00 6f 6b", false, "'ok'" },
	{ "string 0xfb length prefix refused", PARAMS_T_VAR_STRING, 0, "fb", false, NULL },
	{ "string 0xff length prefix refused", PARAMS_T_VAR_STRING, 0, "ff 01 00", false, NULL },
	{ "blob Ab", PARAMS_T_BLOB, 0, "@Ab", false, "_binary'Ab'" },
	{ "tiny_blob quote", PARAMS_T_TINY_BLOB, 0, "@'", false, "_binary''''" },
	{ "medium_blob NUL", PARAMS_T_MEDIUM_BLOB, 0, "01 00", false, "_binary'\\0'" },
	{ "long_blob NUL no_backslash_escapes", PARAMS_T_LONG_BLOB, 0, "02 00 ff", true,
	  "_binary X'00FF'" },
	{ "blob 0xbf backslash", PARAMS_T_BLOB, 0, "02 bf 5c", false, "_binary'\xbf' '\\\\'" },
	{ "blob empty", PARAMS_T_BLOB, 0, "00", false, "_binary''" },
	{ "blob empty no_backslash_escapes", PARAMS_T_BLOB, 0, "00", true, "_binary''" },

	/* dates: length, year (2), month, day, hour, minute, second, microseconds (4) */
	{ "date zero length", PARAMS_T_DATE, 0, "00", false, "'0000-00-00'" },
	{ "date 4", PARAMS_T_DATE, 0, "04 e807 01 02", false, "DATE'2024-01-02'" },
	{ "date 7 (time ignored)", PARAMS_T_DATE, 0, "07 e807 01 02 03 04 05", false, "DATE'2024-01-02'" },
	{ "date 11 (time ignored)", PARAMS_T_DATE, 0, "0b e807 01 02 63 63 63 ffffffff", false,
	  "DATE'2024-01-02'" },
	{ "date feb 31 refused", PARAMS_T_DATE, 0, "04 e807 02 1f", false, NULL },
	{ "date feb 29 of a leap year", PARAMS_T_DATE, 0, "04 e807 02 1d", false, "DATE'2024-02-29'" },
	{ "date feb 29 of 2100 refused", PARAMS_T_DATE, 0, "04 3408 02 1d", false, NULL },
	{ "date feb 29 of 2000", PARAMS_T_DATE, 0, "04 d007 02 1d", false, "DATE'2000-02-29'" },
	{ "date feb 29 of year 0 refused", PARAMS_T_DATE, 0, "04 0000 02 1d", false, NULL },
	{ "date apr 31 refused", PARAMS_T_DATE, 0, "04 e807 04 1f", false, NULL },
	{ "date with month and day 0", PARAMS_T_DATE, 0, "04 e807 00 00", false, "'2024-00-00'" },
	{ "date with day 31 and month 0", PARAMS_T_DATE, 0, "04 e807 00 1f", false, "'2024-00-31'" },
	{ "datetime feb 30 refused", PARAMS_T_DATETIME, 0, "07 e807 02 1e 01 02 03", false, NULL },
	{ "date 0000-00-00 sent with 4", PARAMS_T_DATE, 0, "04 0000 00 00", false, "'0000-00-00'" },
	{ "date 9999-12-31", PARAMS_T_DATE, 0, "04 0f27 0c 1f", false, "DATE'9999-12-31'" },
	{ "date year 10000 refused", PARAMS_T_DATE, 0, "04 1027 01 01", false, NULL },
	{ "date month 13 refused", PARAMS_T_DATE, 0, "04 e807 0d 01", false, NULL },
	{ "date day 32 refused", PARAMS_T_DATE, 0, "04 e807 01 20", false, NULL },
	{ "date length 5 refused", PARAMS_T_DATE, 0, "05 e807 01 02 00", false, NULL },
	{ "date length 0xfb refused", PARAMS_T_DATE, 0, "fb", false, NULL },
	{ "datetime zero", PARAMS_T_DATETIME, 0, "00", false, "'0000-00-00 00:00:00'" },
	{ "datetime 4", PARAMS_T_DATETIME, 0, "04 e807 01 02", false, "TIMESTAMP'2024-01-02 00:00:00'" },
	{ "datetime 7", PARAMS_T_DATETIME, 0, "07 e807 01 02 03 04 05", false,
	  "TIMESTAMP'2024-01-02 03:04:05'" },
	{ "datetime 11", PARAMS_T_DATETIME, 0, "0b e807 01 02 03 04 05 06000000", false,
	  "TIMESTAMP'2024-01-02 03:04:05.000006'" },
	{ "datetime .5", PARAMS_T_DATETIME, 0, "0b e807 01 02 03 04 05 20a10700", false,
	  "TIMESTAMP'2024-01-02 03:04:05.500000'" },
	{ "datetime .123456", PARAMS_T_DATETIME, 0, "0b e807 01 02 17 3b 3b 40e20100", false,
	  "TIMESTAMP'2024-01-02 23:59:59.123456'" },
	{ "datetime 11 with 0 microseconds", PARAMS_T_DATETIME, 0, "0b e807 01 02 03 04 05 00000000",
	  false, "TIMESTAMP'2024-01-02 03:04:05'" },
	{ "datetime hour 24 refused", PARAMS_T_DATETIME, 0, "07 e807 01 02 18 00 00", false, NULL },
	{ "datetime minute 60 refused", PARAMS_T_DATETIME, 0, "07 e807 01 02 00 3c 00", false, NULL },
	{ "datetime second 60 refused", PARAMS_T_DATETIME, 0, "07 e807 01 02 00 00 3c", false, NULL },
	{ "datetime 1000000 us refused", PARAMS_T_DATETIME, 0, "0b e807 01 02 03 04 05 40420f00", false,
	  NULL },
	{ "datetime length 8 refused", PARAMS_T_DATETIME, 0, "08 e807 01 02 03 04 05 06", false, NULL },
	{ "timestamp 7", PARAMS_T_TIMESTAMP, 0, "07 b207 0c 1f 17 3b 3b", false,
	  "TIMESTAMP'1970-12-31 23:59:59'" },
	{ "timestamp zero", PARAMS_T_TIMESTAMP, 0, "00", false, "'0000-00-00 00:00:00'" },

	/* times: length, negative, days (4), hour, minute, second, microseconds (4) */
	{ "time zero length", PARAMS_T_TIME, 0, "00", false, "TIME'00:00:00'" },
	{ "time 8", PARAMS_T_TIME, 0, "08 00 00000000 03 04 05", false, "TIME'03:04:05'" },
	{ "time -27:04:05", PARAMS_T_TIME, 0, "08 01 01000000 03 04 05", false, "TIME'-27:04:05'" },
	{ "time -27:04:05.5", PARAMS_T_TIME, 0, "0c 01 01000000 03 04 05 20a10700", false,
	  "TIME'-27:04:05.500000'" },
	{ "time .000001", PARAMS_T_TIME, 0, "0c 00 00000000 00 00 00 01000000", false,
	  "TIME'00:00:00.000001'" },
	{ "time negative zero", PARAMS_T_TIME, 0, "08 01 00000000 00 00 00", false, "TIME'00:00:00'" },
	{ "time -0.5 s", PARAMS_T_TIME, 0, "0c 01 00000000 00 00 00 20a10700", false, "TIME'-00:00:00.500000'" },
	{ "time negative flag 2", PARAMS_T_TIME, 0, "08 02 00000000 00 00 01", false, "TIME'-00:00:01'" },
	{ "time hour byte 255", PARAMS_T_TIME, 0, "08 00 00000000 ff 00 00", false, "TIME'255:00:00'" },
	{ "time 838:00:00", PARAMS_T_TIME, 0, "08 00 22000000 16 00 00", false, "TIME'838:00:00'" },
	{ "time 840h clamped", PARAMS_T_TIME, 0, "08 00 23000000 00 00 00", false, "TIME'838:59:59'" },
	{ "time -840h clamped, fraction kept", PARAMS_T_TIME, 0, "0c 01 23000000 00 01 02 90d00300",
	  false, "TIME'-838:59:59.250000'" },
	{ "time days 0xffffffff refused", PARAMS_T_TIME, 0, "08 00 ffffffff 00 00 00", false, NULL },
	{ "time days 178956970 (no wrap) clamped", PARAMS_T_TIME, 0, "08 00 aaaaaa0a 00 00 00", false,
	  "TIME'838:59:59'" },
	{ "time minute 60 refused", PARAMS_T_TIME, 0, "08 00 00000000 00 3c 00", false, NULL },
	{ "time 1000000 us refused", PARAMS_T_TIME, 0, "0c 00 00000000 00 00 00 40420f00", false, NULL },
	{ "time length 9 refused", PARAMS_T_TIME, 0, "09 00 00000000 00 00 00 00", false, NULL },
	{ "time length 4 refused", PARAMS_T_TIME, 0, "04 00 00000000", false, NULL },

	/* types that are refused */
	{ "NULL type without its bit refused", PARAMS_T_NULL, 0, "", false, NULL },
	{ "newdate refused", PARAMS_T_NEWDATE, 0, "04 e807 01 02", false, NULL },
	{ "type 0x11 refused", 0x11, 0, "00", false, NULL },
	{ "type 0x13 refused", 0x13, 0, "00", false, NULL },
	{ "type 0x20 refused", 0x20, 0, "00", false, NULL },
	{ "type 0xf4 refused", 0xf4, 0, "00", false, NULL },
	{ "indicator flag refused", PARAMS_T_LONG, PARAMS_FLAG_INDICATOR, "00 01000000", false, NULL },
	{ "indicator flag refused (string)", PARAMS_T_VAR_STRING, PARAMS_FLAG_INDICATOR | U, "00 01 61",
	  false, NULL },
};

/* The value bytes of a case: "@text" is a length-encoded string of text. */
static void put_value(struct buf *b, const char *value)
{
	if (value[0] == '@')
		put_str(b, value + 1, strlen(value + 1));
	else
		put_hex(b, value);
}

static void test_one(const struct one *c)
{
	struct buf b = { NULL, 0, 0 };
	struct params_types t = { 0, NULL };
	struct params_literals out;
	const char *why = NULL;
	bool ok;

	put_header(&b);
	put_u8(&b, 0x00);              /* NULL bitmap */
	put_u8(&b, 1);                 /* new_params_bound_flag */
	put_u8(&b, c->type);
	put_u8(&b, c->flags);
	put_value(&b, c->value);
	ok = decode(b.b, b.n, 1, &t, NULL, c->nbe, &out, &why);
	if (c->want != NULL) {
		check(ok && out.n == 1 && out.lit[0] != NULL && !out.long_data[0] &&
		      strcmp(out.lit[0], c->want) == 0,
		      "%s: %s (want %s)", c->name, shown(ok ? out.lit[0] : why), shown(c->want));
	} else {
		check(!ok && literals_empty(&out) && why != NULL, "%s: refused: %s", c->name,
		      shown(ok ? out.lit[0] : why));
	}
	/* the types were read in full: stored even when the value is refused */
	check(t.n == 1 && t.types != NULL && t.types[0] == c->type && t.types[1] == c->flags,
	      "%s: types stored", c->name);
	if (ok)
		params_literals_free(&out);
	params_types_free(&t);
	check_truncations(c->name, b.b, b.n, 1, &t, NULL, c->nbe);
	free(b.b);
}

/* ---- several parameters, types reused, long data ------------------------------- */

static bool lits_are(const struct params_literals *out, const char *const *want, unsigned n)
{
	unsigned i;

	if (out->n != n)
		return false;
	for (i = 0; i < n; i++) {
		if (want[i] == NULL) {
			if (out->lit[i] != NULL || !out->long_data[i])
				return false;
		} else if (out->lit[i] == NULL || out->long_data[i] || strcmp(out->lit[i], want[i]) != 0) {
			diag("parameter %u: %s, want %s", i, out->lit[i] ? shown(out->lit[i]) : "(long data)",
			     shown(want[i]));
			return false;
		}
	}
	return true;
}

/* 10 parameters: two bitmap bytes. */
static const uint8_t ten_types[20] = {
	PARAMS_T_LONG, 0, PARAMS_T_VAR_STRING, 0, PARAMS_T_LONGLONG, PARAMS_FLAG_UNSIGNED,
	PARAMS_T_DOUBLE, 0, PARAMS_T_DATETIME, 0, PARAMS_T_BLOB, 0, PARAMS_T_TINY, 0,
	PARAMS_T_NULL, 0, PARAMS_T_NEWDECIMAL, 0, PARAMS_T_TIME, 0,
};

static void test_many(void)
{
	struct buf b = { NULL, 0, 0 }, b2 = { NULL, 0, 0 };
	struct params_types t = { 0, NULL }, before;
	struct params_literals out;
	const char *why = NULL;
	static const char *const want1[10] = {
		"NULL", "'x''y'", "18446744073709551615", "2.5e+00", "TIMESTAMP'2024-01-02 03:04:05'",
		"_binary'\\\\'", "NULL", "NULL", "NULL", "NULL",
	};
	static const char *const want2[10] = {
		"-1", "NULL", "NULL", "NULL", "NULL", "NULL", "-7", "NULL", "-1.5", "TIME'12:00:00'",
	};
	bool ok;

	/* first execute: types bound; NULL at 0, 6 (tiny), 7 (NULL type), 8, 9 */
	put_header(&b);
	put_u8(&b, 0xc1);              /* bits 0, 6, 7 */
	put_u8(&b, 0x03);              /* bits 8, 9 */
	put_u8(&b, 1);
	put(&b, ten_types, sizeof(ten_types));
	put_str(&b, "x'y", 3);
	put_le(&b, UINT64_MAX, 8);
	put_hex(&b, "0000000000000440");
	put_hex(&b, "07 e807 01 02 03 04 05");
	put_str(&b, "\\", 1);
	ok = decode(b.b, b.n, 10, &t, NULL, false, &out, &why);
	check(ok && lits_are(&out, want1, 10), "10 parameters, two bitmap bytes: %s",
	      ok ? "decoded" : why);
	if (ok)
		params_literals_free(&out);
	check(t.n == 10 && t.types != NULL && memcmp(t.types, ten_types, 20) == 0, "10 types stored");
	{
		struct params_types none = { 0, NULL };

		check_truncations("10 parameters", b.b, b.n, 10, &none, NULL, false);
	}

	/* second execute: new_params_bound_flag 0, the types of the first */
	put_header(&b2);
	put_u8(&b2, 0xbe);             /* bits 1-5, 7 */
	put_u8(&b2, 0x00);
	put_u8(&b2, 0);
	put_le(&b2, 0xffffffff, 4);    /* LONG -1 */
	put_u8(&b2, 0xf9);             /* TINY -7 */
	put_str(&b2, "-1.5", 4);
	put_hex(&b2, "08 00 00000000 0c 00 00");
	ok = decode(b2.b, b2.n, 10, &t, NULL, false, &out, &why);
	check(ok && lits_are(&out, want2, 10), "second execute reuses the types: %s",
	      ok ? "decoded" : why);
	if (ok)
		params_literals_free(&out);
	check(t.n == 10 && memcmp(t.types, ten_types, 20) == 0, "types unchanged by an execute without types");
	check_truncations("10 parameters, types reused", b2.b, b2.n, 10, &t, NULL, false);

	/* the same without types bound before: refused */
	before.n = 0;
	before.types = NULL;
	ok = decode(b2.b, b2.n, 10, &before, NULL, false, &out, &why);
	check(!ok && literals_empty(&out) && before.types == NULL,
	      "execute without types, none bound before: refused: %s", why);

	/* types for another parameter count: refused */
	ok = decode(b2.b, b2.n, 9, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out), "types bound for 10, statement of 9: refused: %s", why);

	/* a byte after the last parameter: refused */
	put_u8(&b2, 0);
	ok = decode(b2.b, b2.n, 10, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out), "byte after the last parameter: refused: %s", why);

	params_types_free(&t);
	check(t.n == 0 && t.types == NULL, "params_types_free empties");
	params_types_free(&t);         /* twice: harmless */
	free(b.b);
	free(b2.b);
}

static void test_long_data(void)
{
	struct buf b = { NULL, 0, 0 };
	struct params_types t = { 0, NULL };
	struct params_literals out;
	const char *why = NULL;
	static const bool mask[4] = { false, true, false, true };
	static const char *const want[4] = { "1", NULL, "'z'", NULL };
	bool ok;

	/* parameters 1 and 3 sent as long data: not in the payload; the NULL
	 * bit of 3 is set too and ignored, as the server does */
	put_header(&b);
	put_u8(&b, 0x08);
	put_u8(&b, 1);
	put_hex(&b, "0300 fc00 fe00 fb00");
	put_le(&b, 1, 4);
	put_str(&b, "z", 1);
	ok = decode(b.b, b.n, 4, &t, mask, false, &out, &why);
	check(ok && lits_are(&out, want, 4), "long data parameters: %s", ok ? "decoded" : why);
	if (ok)
		params_literals_free(&out);
	check_truncations("long data", b.b, b.n, 4, &t, mask, false);

	/* without the mask the payload is short of two values */
	ok = decode(b.b, b.n, 4, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out), "long data parameters without the mask: refused: %s", why);
	params_types_free(&t);
	free(b.b);
}

static void test_execute_shapes(void)
{
	struct buf b = { NULL, 0, 0 };
	struct params_types t = { 0, NULL };
	struct params_literals out;
	const char *why = NULL;
	bool ok;

	/* no parameters: the header alone */
	put_header(&b);
	ok = decode(b.b, b.n, 0, &t, NULL, false, &out, &why);
	check(ok && out.n == 0 && out.lit == NULL, "no parameters: ok");
	params_literals_free(&out);
	check_truncations("no parameters", b.b, b.n, 0, &t, NULL, false);
	put_u8(&b, 0);
	ok = decode(b.b, b.n, 0, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out), "no parameters, a byte more: refused: %s", why);

	/* not a COM_STMT_EXECUTE */
	b.b[0] = COM_STMT_SEND_LONG_DATA;
	b.n--;
	ok = decode(b.b, b.n, 0, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out), "command byte 0x18: refused: %s", why);

	/* new_params_bound_flag 2 */
	b.n = 0;
	put_header(&b);
	put_u8(&b, 0);
	put_u8(&b, 2);
	put_hex(&b, "0300 01000000");
	ok = decode(b.b, b.n, 1, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out) && t.types == NULL, "new_params_bound_flag 2: refused: %s", why);

	/* too many parameters */
	ok = decode(b.b, b.n, PARAMS_MAX + 1, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out), "more than 65535 parameters: refused: %s", why);

	/* a refused value after a full type block: the types are stored, and
	 * the next execute without types uses them */
	b.n = 0;
	put_header(&b);
	put_u8(&b, 0);
	put_u8(&b, 1);
	put_hex(&b, "0500 000000000000f87f");          /* DOUBLE NaN */
	ok = decode(b.b, b.n, 1, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out) && t.n == 1 && t.types[0] == PARAMS_T_DOUBLE,
	      "NaN refused, its types stored: %s", why);
	b.n = 0;
	put_header(&b);
	put_u8(&b, 0);
	put_u8(&b, 0);
	put_hex(&b, "000000000000f03f");                /* 1.0 */
	ok = decode(b.b, b.n, 1, &t, NULL, false, &out, &why);
	check(ok && out.n == 1 && strcmp(out.lit[0], "1e+00") == 0, "next execute uses them: %s",
	      ok ? out.lit[0] : why);
	params_literals_free(&out);

	/* a truncated type block empties the types */
	b.n = 0;
	put_header(&b);
	put_u8(&b, 0);
	put_u8(&b, 1);
	put_hex(&b, "03");
	ok = decode(b.b, b.n, 1, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out) && t.types == NULL && t.n == 0,
	      "truncated type block: refused, types emptied: %s", why);

	/* a NULL payload */
	ok = params_decode(NULL, 0, 1, &t, NULL, false, &out, &why);
	check(!ok && literals_empty(&out) && why != NULL, "empty payload: refused: %s", why);
	params_types_free(&t);
	free(b.b);
}

/* Long strings: 300 bytes (0xfc prefix) and 70000 (0xfd). */
static void test_long_strings(void)
{
	static const size_t sizes[] = { 250, 251, 300, 65535, 65536, 70000 };
	size_t k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k], i;
		char *s = malloc(n), *want = malloc(n + 3);
		struct buf b = { NULL, 0, 0 };
		struct params_types t = { 0, NULL };
		struct params_literals out;
		const char *why = NULL;
		bool ok;

		if (s == NULL || want == NULL)
			exit(2);
		for (i = 0; i < n; i++)
			s[i] = (char)('a' + i % 26);
		want[0] = '\'';
		memcpy(want + 1, s, n);
		want[n + 1] = '\'';
		want[n + 2] = '\0';
		put_header(&b);
		put_u8(&b, 0);
		put_u8(&b, 1);
		put_hex(&b, "fd00");
		put_str(&b, s, n);
		ok = decode(b.b, b.n, 1, &t, NULL, false, &out, &why);
		check(ok && strcmp(out.lit[0], want) == 0, "string of %zu bytes: %s", n, ok ? "ok" : why);
		if (ok)
			params_literals_free(&out);
		/* cut inside the length prefix and inside the data */
		ok = decode(b.b, 14, 1, &t, NULL, false, &out, &why) ||
		     decode(b.b, 16, 1, &t, NULL, false, &out, &why) ||
		     decode(b.b, b.n - 1, 1, &t, NULL, false, &out, &why);
		check(!ok && literals_empty(&out), "string of %zu bytes cut: refused: %s", n, why);
		params_types_free(&t);
		free(b.b);
		free(s);
		free(want);
	}
}

/* ---- params_quote, read back ------------------------------------------------------ */

/*
 * Read a literal as the server's lexer does: adjacent '...' pieces
 * concatenated, '' a quote, and (unless nbe) backslash escapes; or X'hex'.
 * mb: bytes 0x81-0xfe followed by 0x40-0x7e or 0x80-0xfe are one character
 * (gbk), so a backslash in second position is data.  Returns the length
 * read into out, or -1 when the literal is malformed.
 */
static long read_back(const char *lit, bool nbe, bool mb, uint8_t *out)
{
	const uint8_t *p = (const uint8_t *)lit;
	long n = 0;

	if (p[0] == 'X') {
		if (p[1] != '\'')
			return -1;
		for (p += 2; *p != '\''; p += 2) {
			int hi = *p >= 'A' ? *p - 'A' + 10 : *p - '0';
			int lo = p[1] >= 'A' ? p[1] - 'A' + 10 : p[1] - '0';

			if (*p == '\0' || p[1] == '\0')
				return -1;
			out[n++] = (uint8_t)(hi << 4 | lo);
		}
		return p[1] == '\0' ? n : -1;
	}
	for (;;) {
		if (*p != '\'')
			return -1;
		p++;
		for (;;) {
			if (*p == '\0')
				return -1;
			if (mb && *p >= 0x81 && *p <= 0xfe &&
			    ((p[1] >= 0x40 && p[1] <= 0x7e) || (p[1] >= 0x80 && p[1] <= 0xfe))) {
				out[n++] = p[0];
				out[n++] = p[1];
				p += 2;
			} else if (*p == '\'' && p[1] == '\'') {
				out[n++] = '\'';
				p += 2;
			} else if (*p == '\'') {
				p++;
				break;
			} else if (*p == '\\' && !nbe) {
				if (p[1] == '0')
					out[n++] = 0;
				else if (p[1] == '\\' || p[1] == '\'')
					out[n++] = p[1];
				else
					return -1;      /* we never write other escapes */
				p += 2;
			} else {
				out[n++] = *p++;
			}
		}
		if (*p == '\0')
			return n;
		if (*p != ' ')
			return -1;
		p++;
	}
}

static void test_quote(void)
{
	static const struct {
		const char *s;
		size_t n;
		bool nbe;
		const char *want;
	} cases[] = {
		{ "", 0, false, "''" },
		{ "", 0, true, "''" },
		{ "abc", 3, false, "'abc'" },
		{ "'", 1, false, "''''" },
		{ "'", 1, true, "''''" },
		{ "\\", 1, false, "'\\\\'" },
		{ "\\", 1, true, "'\\'" },
		{ "\\'", 2, false, "'\\\\'''" },
		{ "\\'", 2, true, "'\\'''" },
		{ "a\0b", 3, false, "'a\\0b'" },
		{ "a\0b", 3, true, "X'610062'" },
		{ "\0", 1, true, "X'00'" },
		{ "\xbf\\", 2, false, "'\xbf' '\\\\'" },
		{ "\xbf\\", 2, true, "'\xbf\\'" },
		{ "\xbf\\\\", 3, false, "'\xbf' '\\\\\\\\'" },
		{ "\xbf" "a\\", 3, false, "'\xbf" "a\\\\'" },
		{ "\xbf'", 2, false, "'\xbf'''" },
		{ "\xbf\0", 2, false, "'\xbf' '\\0'" },
		{ "\xc3\xa9\\", 3, false, "'\xc3\xa9' '\\\\'" },
		{ "%_\"\n\r\x1a", 6, false, "'%_\"\n\r\x1a'" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = params_quote(cases[i].s, cases[i].n, cases[i].nbe);

		check(q != NULL && strcmp(q, cases[i].want) == 0, "params_quote case %zu (%s): %s", i,
		      cases[i].nbe ? "no_backslash_escapes" : "backslash escapes", shown(q));
		free(q);
	}
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Random strings over the bytes that matter, read back in both modes and
 * both kinds of character set. */
static void test_quote_random(void)
{
	static const uint8_t alphabet[] = { 'a', '\'', '\\', 0, 0xbf, 0x81, 0xe9, 0x5c, 0x27, ' ', 'X' };
	uint64_t rng = 0x1234567887654321ull;
	unsigned iter, bad = 0;

	for (iter = 0; iter < 20000; iter++) {
		uint8_t s[24], back[64];
		size_t n, i;
		bool nbe = iter & 1;
		char *q;

		n = xorshift(&rng) % 24;
		for (i = 0; i < n; i++)
			s[i] = alphabet[xorshift(&rng) % sizeof(alphabet)];
		q = params_quote((const char *)s, n, nbe);
		if (q == NULL) {
			bad++;
			continue;
		}
		for (int mb = 0; mb < 2; mb++) {
			long got = read_back(q, nbe, mb, back);

			/* hex is read the same in every character set */
			if (got != (long)n || memcmp(back, s, n) != 0) {
				if (bad++ == 0)
					diag("string of %zu bytes, %s, %s: read back %ld bytes from %s", n,
					     nbe ? "nbe" : "backslash", mb ? "gbk" : "single-byte", got, shown(q));
			}
		}
		free(q);
	}
	check(bad == 0, "params_quote: 20000 random strings read back exactly (single-byte and gbk)");
}

/* Values read back in a text row (EXECUTE ... USING @v) as literals. */
static void test_text_literals(void)
{
	static const struct {
		uint8_t type;
		bool binary, cs_ok, nbe;
		const char *v;              /* NULL: SQL NULL */
		const char *lit;            /* NULL: refused */
	} c[] = {
		{ PARAMS_T_LONGLONG, true, true, false, "-42", "-42" },
		{ PARAMS_T_LONGLONG, true, true, false, "18446744073709551615", "18446744073709551615" },
		{ PARAMS_T_LONGLONG, true, true, false, "12a", NULL },
		{ PARAMS_T_LONGLONG, true, true, false, "", NULL },
		{ PARAMS_T_LONGLONG, true, true, false, "-", NULL },
		{ PARAMS_T_NEWDECIMAL, true, true, false, "1.50", "1.50" },
		{ PARAMS_T_NEWDECIMAL, true, true, false, "-0.001", "-0.001" },
		{ PARAMS_T_NEWDECIMAL, true, true, false, "1,5", NULL },
		{ PARAMS_T_DOUBLE, true, true, false, "0.30000000000000004", "3.0000000000000004e-01" },
		{ PARAMS_T_DOUBLE, true, true, false, "1e300", "1e+300" },
		{ PARAMS_T_DOUBLE, true, true, false, "inf", NULL },
		{ PARAMS_T_DOUBLE, true, true, false, "1.5x", NULL },
		{ PARAMS_T_VAR_STRING, false, true, false, "it's", "'it''s'" },
		{ PARAMS_T_VAR_STRING, false, true, false, "a\\b", "'a\\\\b'" },
		{ PARAMS_T_VAR_STRING, false, true, true, "a\\b", "'a\\b'" },
		{ PARAMS_T_VAR_STRING, false, false, false, "x", NULL },
		{ PARAMS_T_VAR_STRING, true, false, false, "x", "_binary'x'" },
		{ PARAMS_T_MEDIUM_BLOB, true, true, false, "", "_binary''" },
		{ PARAMS_T_VAR_STRING, false, true, false, NULL, "NULL" },
		{ PARAMS_T_NULL, true, true, false, NULL, "NULL" },
		{ PARAMS_T_DATETIME, true, true, false, "2024-01-02", NULL },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *why = NULL;
		char *lit = params_text_literal(c[i].type, c[i].binary, c[i].cs_ok, c[i].v,
						c[i].v != NULL ? strlen(c[i].v) : 0, c[i].nbe, &why);

		check(c[i].lit == NULL ? lit == NULL && why != NULL : lit != NULL && strcmp(lit, c[i].lit) == 0,
		      "text literal %zu [%s]: [%s] (got [%s], %s)", i, c[i].v ? c[i].v : "NULL",
		      c[i].lit ? c[i].lit : "refused", lit ? lit : "refused", why ? why : "");
		free(lit);
	}
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(ones) / sizeof(ones[0]); i++)
		test_one(&ones[i]);
	test_many();
	test_long_data();
	test_execute_shapes();
	test_long_strings();
	test_quote();
	test_quote_random();
	test_text_literals();
	params_literals_free(NULL);
	params_types_free(NULL);
	return check_done();
}
