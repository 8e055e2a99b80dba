/*
 * params.h - the parameters of a COM_STMT_EXECUTE as SQL literals.
 *
 * The mirror planner (cutover/mirror.c) builds text statements of its own
 * from a client's prepared statement: the WHERE of an UPDATE, the key values
 * of an INSERT.  Where the client's text has a '?', the proxy writes the
 * value the client bound, as a literal that the server reads back as the
 * same value: integers in decimal, floats and doubles with enough digits to
 * round-trip, strings quoted and escaped for the session's
 * NO_BACKSLASH_ESCAPES mode (or as X'..' hex when they hold bytes that
 * cannot be quoted safely), dates and times as typed literals,
 * NULL as NULL.
 *
 * Parameter types come with an execute that sets new_params_bound_flag and
 * stay valid for later executes of the same statement that do not, so the
 * caller keeps them per statement (struct params_types).
 *
 * Input is untrusted: lengths are checked, nothing is read outside the
 * payload.
 *
 * The literals, by parameter type (what the server holds for a parameter
 * is MariaDB's sql_prepare.cc; tests/integration/test_params.py checks each
 * form against a server with `? <=> literal` and the value's text, charset
 * and coercibility):
 *
 *   NULL bit set (any type)     NULL
 *   TINY SHORT LONG LONGLONG    -5, 255, 18446744073709551615 (0x80 flag:
 *                               unsigned).  A negative number starts with
 *                               '-': put a space before it, never "a -?".
 *   FLOAT DOUBLE                a DOUBLE literal with an exponent, the
 *                               shortest that reads back as the same double:
 *                               1e-01, -2.5e+00.  The server holds a FLOAT
 *                               parameter as the double it widens to, so a
 *                               FLOAT is written with the digits of that
 *                               double (0.1f is 1.0000000149011612e-01; the
 *                               float's own 9 digits would compare unequal).
 *                               NaN and infinities: refused.
 *   DECIMAL NEWDECIMAL          the digits sent, as a DECIMAL literal: sign,
 *                               digits, one dot; an exponent is applied to
 *                               the digits (1.5e3 is 1500, as the server
 *                               reads it: a literal 1.5e3 would be a DOUBLE).
 *                               Anything that is not such a number, or more
 *                               than 65 digits: refused (the server reads
 *                               "12abc" as 0 with a warning; a string '12abc'
 *                               would be 12).
 *   VARCHAR VAR_STRING STRING   '...' (params_quote); read in the connection
 *   ENUM SET                    character set as the parameter is.  Only
 *                               where quoting cannot carry the bytes (NUL
 *                               with NO_BACKSLASH_ESCAPES: a C string cannot
 *                               hold it raw) X'..' hex, which is a binary
 *                               string: CHARSET(), COLLATION() and a
 *                               comparison that does not take a column's
 *                               collation differ from the parameter's, and
 *                               its bytes are not converted when the client
 *                               and connection character sets differ.
 *   TINY_BLOB MEDIUM_BLOB       _binary'...' (the server holds a blob
 *   LONG_BLOB BLOB              parameter as a binary string); _binary X'..'
 *                               where quoting cannot carry the bytes.
 *   Under sql_mode EMPTY_STRING_IS_NULL an empty string or blob parameter
 *   is NULL, and so are '' and _binary''.
 *   DATE                        DATE'2024-01-02' (time bytes ignored, as
 *                               the server does)
 *   DATETIME TIMESTAMP          TIMESTAMP'2024-01-02 03:04:05', with a
 *                               fraction six digits: '...05.500000' (the
 *                               server holds six when there is one)
 *   TIME                        TIME'-27:04:05.500000': days folded into
 *                               hours; more than 838 hours is 838:59:59
 *                               (with the fraction), as the server clamps it
 *   Typed literals, so that they compare and compute as the temporal value
 *   the parameter is.  A date with a zero month or day (and length 0, the
 *   zero date) is a quoted string, '0000-00-00' or '2024-00-31 10:00:00':
 *   the server refuses such a typed literal under NO_ZERO_DATE /
 *   NO_ZERO_IN_DATE.  It converts where it meets a temporal column, but
 *   compares with a character column as a string and is a number in
 *   arithmetic, where the parameter is a date.
 *
 * Refused, with a reason (the planner refuses the statement), because no
 * literal is the value the server holds:
 *   INT24, YEAR   MariaDB reads them as a length-encoded string, and the
 *                 binary number a client sends becomes NULL
 *   BIT           MariaDB holds NULL
 *   GEOMETRY      MariaDB holds a geometry value (string literals are not
 *                 accepted where it is)
 *   JSON          MariaDB refuses the execute; what MySQL holds is not
 *                 checked here
 *   NEWDATE, the internal TIMESTAMP2/DATETIME2/TIME2, unknown types, the
 *   NULL type without its NULL bit, the bulk parameter indicator flag;
 *   FLOAT/DOUBLE NaN and infinities; DECIMAL text that is not a number or
 *   has more than 65 digits; date/time fields out of range (the server
 *   turns them into a zero value with a warning) and days past the end of
 *   their month (the parameter keeps 2024-02-31, the server reads no date
 *   in '2024-02-31'); TIME beyond what 32-bit hour arithmetic holds;
 *   lengths the protocol does not define, truncation, and bytes after the
 *   last parameter.
 * tests/integration/test_params.py checks these server behaviours.
 */
#ifndef CUTOVER_PARAMS_H
#define CUTOVER_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"   /* WARN_UNUSED */

/* Parameter type codes (the first byte of a parameter's two type bytes). */
enum params_type {
	PARAMS_T_DECIMAL     = 0x00,
	PARAMS_T_TINY        = 0x01,
	PARAMS_T_SHORT       = 0x02,
	PARAMS_T_LONG        = 0x03,
	PARAMS_T_FLOAT       = 0x04,
	PARAMS_T_DOUBLE      = 0x05,
	PARAMS_T_NULL        = 0x06,
	PARAMS_T_TIMESTAMP   = 0x07,
	PARAMS_T_LONGLONG    = 0x08,
	PARAMS_T_INT24       = 0x09,
	PARAMS_T_DATE        = 0x0a,
	PARAMS_T_TIME        = 0x0b,
	PARAMS_T_DATETIME    = 0x0c,
	PARAMS_T_YEAR        = 0x0d,
	PARAMS_T_NEWDATE     = 0x0e,
	PARAMS_T_VARCHAR     = 0x0f,
	PARAMS_T_BIT         = 0x10,
	PARAMS_T_JSON        = 0xf5,
	PARAMS_T_NEWDECIMAL  = 0xf6,
	PARAMS_T_ENUM        = 0xf7,
	PARAMS_T_SET         = 0xf8,
	PARAMS_T_TINY_BLOB   = 0xf9,
	PARAMS_T_MEDIUM_BLOB = 0xfa,
	PARAMS_T_LONG_BLOB   = 0xfb,
	PARAMS_T_BLOB        = 0xfc,
	PARAMS_T_VAR_STRING  = 0xfd,
	PARAMS_T_STRING      = 0xfe,
	PARAMS_T_GEOMETRY    = 0xff,
};

/* The second type byte. */
#define PARAMS_FLAG_UNSIGNED  0x80
#define PARAMS_FLAG_INDICATOR 0x40   /* MariaDB bulk execute: refused */

/* The most parameters a statement can have (COM_STMT_PREPARE_OK has 2 bytes). */
#define PARAMS_MAX 65535u

/* The types bound to a statement's parameters: 2 bytes each, as sent. */
struct params_types {
	unsigned n;
	uint8_t *types;      /* n * 2 bytes (type, flags with 0x80 = unsigned); NULL until bound */
};

/* The parameters of one execute, as literals. */
struct params_literals {
	unsigned n;
	char **lit;          /* n NUL-terminated strings, malloc'ed */
	bool *long_data;     /* parameter was sent with COM_STMT_SEND_LONG_DATA:
				lit[i] is NULL (the caller refuses) */
};

/*
 * Decode the COM_STMT_EXECUTE payload `pl` (command byte included) of a
 * statement with `nparams` parameters.  `types` holds the types bound by an
 * earlier execute; it is updated when this execute binds new ones.
 * long_data_mask (may be NULL) has one bool per parameter, true when the
 * client sent COM_STMT_SEND_LONG_DATA for it since the last execute; those
 * parameters are not in the payload.
 * MariaDB extensions: a type byte with the parameter indicator flag
 * (bulk execute, STMT_BULK_FLAG) is refused.
 * On failure returns false with a static reason in *why and out emptied.
 * On success the caller frees out with params_literals_free().
 *
 * `types` must not be NULL; the caller zeroes it before the first execute
 * of a statement and frees it with params_types_free() when the statement
 * is closed.  New types are stored as soon as the execute's type block has
 * been read in full, even when a value after it is then refused: the
 * server has taken them too, and later executes without types use them.
 * When the type block itself is truncated, `types` is emptied, so that
 * later executes without types are refused rather than decoded with types
 * the server no longer holds.  An execute without types (flag 0) is refused
 * when `types` is empty or holds a different number of parameters.
 * A long-data parameter whose NULL bit is also set is long data (the
 * server ignores the bit for it).  nparams above PARAMS_MAX is refused.
 */
bool params_decode(const uint8_t *pl, size_t len, unsigned nparams, struct params_types *types,
		   const bool *long_data_mask, bool no_backslash_escapes,
		   struct params_literals *out, const char **why) WARN_UNUSED;
/* Both free what they hold and zero the struct; safe on a zeroed struct. */
void params_literals_free(struct params_literals *out);
void params_types_free(struct params_types *t);

/*
 * s[0, n) as a SQL string literal, malloc'ed and NUL-terminated: '...' with
 * ' doubled and, unless no_backslash_escapes, \ and NUL escaped; X'..' when
 * quoting cannot be faithful.  NULL when memory runs out.
 *
 * Quoting cannot be faithful only with no_backslash_escapes and a NUL byte
 * (the result is a C string).  In backslash mode an escape that would
 * follow a byte >= 0x80 starts a new adjacent literal instead ('\xbf' '\\'):
 * in big5, cp932, gbk, sjis and gb18030 a backslash after such a byte can be
 * the second byte of a character, and the server concatenates adjacent
 * literals, so every connection character set reads the same bytes.
 * (No such character set has ' or NUL as a second byte.)  The server
 * converts each adjacent piece on its own when character_set_client and
 * character_set_connection differ: with one of those five as the client
 * character set and another connection character set, a character split
 * between two pieces is not converted as one (a session the planner should
 * refuse; SET NAMES always sets both alike).
 */
char *params_quote(const char *s, size_t n, bool no_backslash_escapes);

/*
 * The literal of a value the server wrote in a text result row, for the
 * parameters of an SQL-level EXECUTE ... USING @var (the proxy reads the
 * values with a SELECT of its own).  The server binds such a parameter as
 * the value itself: an integer, a DECIMAL, a DOUBLE, NULL, or a string
 * converted to the connection's character set and collation, coercible
 * like a literal (a binary string stays binary).  type: the column's type;
 * binary: its character set is binary (63); charset_ok: the session's
 * character_set_client, _connection and _results are one, so that the
 * bytes read (in _results) quoted are the parameter's value.  v NULL is
 * SQL NULL.  malloc'ed; NULL with *why when no literal is the value.
 */
char *params_text_literal(uint8_t type, bool binary, bool charset_ok, const char *v, size_t n, bool nbe,
			  const char **why);

#endif
