/*
 * params.c - the parameters of a COM_STMT_EXECUTE as SQL literals.
 *
 * params_decode() walks the payload with a bounds-checked pkt_reader and
 * turns each parameter into the literal params.h lists for its type.  What
 * a literal must equal is what the server holds for the parameter, which
 * is not always what the client meant: MariaDB (sql_prepare.cc) widens a
 * FLOAT to a double, reads DECIMAL text with its exponent, clamps TIME to
 * 838 hours, zeroes a date/time whose fields are out of range, holds blob
 * types as binary strings and every other unlisted type as a string in the
 * client's character set -- except that it reads INT24, YEAR and BIT
 * parameters as NULL (libmariadb sends INT24 and YEAR as 4 and 2 binary
 * bytes, the server reads a length-encoded string), holds GEOMETRY as a
 * geometry value and refuses JSON.  Whatever we cannot reproduce exactly
 * is refused, never guessed; tests/integration/test_params.py checks these
 * server behaviours, so a server that changes them fails a test.
 *
 * Literals are built in exactly-sized heap buffers: the formatters write
 * into small stack buffers, params_quote() counts before it writes.
 */
#include "config.h"
#include "protocol/params.h"
#include "protocol/mysql.h"
#include "protocol/packet.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- quoting ------------------------------------------------------------- */

static const char hexdigits[] = "0123456789ABCDEF";

/*
 * Write s[0, n) quoted after `prefix` into out (when not NULL); return the
 * length written (or that would be written), without the NUL.
 */
static size_t quote_into(char *out, const char *prefix, const uint8_t *s, size_t n, bool nbe)
{
	size_t len = 0, i;
	bool high = false;     /* the last byte written inside quotes is >= 0x80 */

#define EMIT(c) do { if (out != NULL) out[len] = (char)(c); len++; } while (0)
	for (i = 0; prefix[i] != '\0'; i++)
		EMIT(prefix[i]);
	EMIT('\'');
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];
		bool esc = !nbe && (c == '\\' || c == '\0');

		if (esc && high) {
			/* close this literal and open an adjacent one: the
			 * backslash must not follow a byte >= 0x80 (params.h) */
			EMIT('\'');
			EMIT(' ');
			EMIT('\'');
		}
		if (c == '\'') {
			EMIT('\'');
			EMIT('\'');
		} else if (esc) {
			EMIT('\\');
			EMIT(c == '\0' ? '0' : '\\');
		} else {
			EMIT(c);
		}
		high = c >= 0x80;
	}
	EMIT('\'');
#undef EMIT
	return len;
}

/* prefix X'hex', malloc'ed; NULL when memory runs out. */
static char *hex_literal(const char *prefix, const uint8_t *s, size_t n)
{
	size_t plen = strlen(prefix), i, k;
	char *out;

	if (n > (SIZE_MAX - plen - 4) / 2)
		return NULL;
	out = malloc(plen + 2 * n + 4);
	if (out == NULL)
		return NULL;
	memcpy(out, prefix, plen);
	k = plen;
	out[k++] = 'X';
	out[k++] = '\'';
	for (i = 0; i < n; i++) {
		out[k++] = hexdigits[s[i] >> 4];
		out[k++] = hexdigits[s[i] & 0x0f];
	}
	out[k++] = '\'';
	out[k] = '\0';
	return out;
}

/* s quoted after prefix ("" or "_binary"); hex when quoting cannot carry it. */
static char *quote_prefixed(const char *prefix, const uint8_t *s, size_t n, bool nbe)
{
	size_t len;
	char *out;

	if (nbe && n > 0 && memchr(s, '\0', n) != NULL) {
		/*
		 * Hex, because there is no other way: without backslash escapes a
		 * NUL can only be written raw, and a C string cannot hold it.
		 * X'..' is a binary string (params.h says what that changes).
		 */
		return hex_literal(prefix[0] != '\0' ? "_binary " : "", s, n);
	}
	if (n > (SIZE_MAX - 16) / 3)        /* at most 3 bytes out per byte in */
		return NULL;
	len = quote_into(NULL, prefix, s, n, nbe);
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	quote_into(out, prefix, s, n, nbe);
	out[len] = '\0';
	return out;
}

char *params_quote(const char *s, size_t n, bool no_backslash_escapes)
{
	return quote_prefixed("", (const uint8_t *)s, n, no_backslash_escapes);
}

/* ---- numbers -------------------------------------------------------------- */

/*
 * The shortest %.*e text of d that reads back as d: always with an
 * exponent, so that the server reads a DOUBLE (without one, 0.5 would be
 * a DECIMAL literal and compare as a decimal).  False for NaN, infinities
 * and text that is not plain C-locale digits.
 */
static bool format_double(double d, char *buf, size_t cap)
{
	int prec;
	size_t i;

	if (!isfinite(d))
		return false;
	for (prec = 0; prec <= 16; prec++) {
		int n = snprintf(buf, cap, "%.*e", prec, d);

		if (n < 0 || (size_t)n >= cap)
			return false;
		if (strtod(buf, NULL) == d)
			break;
	}
	if (prec > 16)
		return false;          /* %.16e always round-trips; not reached */
	for (i = 0; buf[i] != '\0'; i++) {
		char c = buf[i];

		if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '+' || c == '-'))
			return false;  /* a locale with another decimal point */
	}
	return true;
}

#define DECIMAL_MAX_DIGITS 65      /* MariaDB and MySQL: DECIMAL(65) */
#define DECIMAL_MAX_TEXT   256     /* longer text is not a DECIMAL we accept */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * DECIMAL text as sent -> DECIMAL literal (see params.h).  The server
 * (str2my_decimal) keeps the scale of the text without an exponent ("1.50"
 * stays 1.50) and, with a non-zero exponent, shifts the point and drops
 * trailing fraction zeros ("1.50e1" is 15, "12.300e-2" 0.123).
 */
static char *decimal_literal(const uint8_t *s, size_t n, const char **why)
{
	const uint8_t *d1, *d2 = NULL;
	size_t n1 = 0, n2 = 0, i = 0, k, intlen, fraclen, lead;
	bool neg = false, zero = true;
	long exp = 0;
	char digits[2 * DECIMAL_MAX_TEXT + 8];      /* the digits, shifted */
	char *out;
	long point, total;

	if (n > DECIMAL_MAX_TEXT) {
		*why = "DECIMAL parameter text too long";
		return NULL;
	}
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	d1 = s + i;
	while (i < n && is_digit(s[i])) {
		i++;
		n1++;
	}
	if (i < n && s[i] == '.') {
		i++;
		d2 = s + i;
		while (i < n && is_digit(s[i])) {
			i++;
			n2++;
		}
	}
	if (n1 + n2 == 0) {
		*why = "DECIMAL parameter that is not a number";
		return NULL;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false;
		size_t ndig = 0;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		while (i < n && is_digit(s[i])) {
			if (exp < 100000)
				exp = exp * 10 + (s[i] - '0');
			i++;
			ndig++;
		}
		if (ndig == 0) {
			*why = "DECIMAL parameter that is not a number";
			return NULL;
		}
		if (eneg)
			exp = -exp;
	}
	if (i != n) {
		*why = "DECIMAL parameter that is not a number";
		return NULL;
	}
	for (k = 0; k < n1; k++)
		zero = zero && d1[k] == '0';
	for (k = 0; k < n2; k++)
		zero = zero && d2[k] == '0';

	if (exp == 0) {
		/* as sent, without leading integer zeros */
		lead = 0;
		while (lead + 1 < n1 && d1[lead] == '0')
			lead++;
		intlen = n1 - lead;
		if (intlen == 0) {
			digits[0] = '0';
			intlen = 1;
		} else {
			memcpy(digits, d1 + lead, intlen);
		}
		fraclen = n2;
		if (fraclen > 0)
			memcpy(digits + intlen, d2, fraclen);
	} else {
		/* the point moves by exp over the digits d1 d2 */
		if (exp > DECIMAL_MAX_TEXT || exp < -DECIMAL_MAX_TEXT) {
			if (!zero) {
				*why = "DECIMAL parameter with more than 65 digits";
				return NULL;
			}
			exp = 1;             /* zero: any shift is zero */
		}
		total = (long)(n1 + n2);
		point = (long)n1 + exp;      /* digits before the point */
		k = 0;
		if (point <= 0) {
			digits[k++] = '0';
			intlen = 1;
			for (long z = 0; z < -point; z++)
				digits[k++] = '0';
			for (long j = 0; j < total; j++)
				digits[k++] = (char)(j < (long)n1 ? d1[j] : d2[j - (long)n1]);
			fraclen = k - 1;
		} else {
			for (long j = 0; j < point || j < total; j++) {
				digits[k++] = j >= total ? '0' : (char)(j < (long)n1 ? d1[j] : d2[j - (long)n1]);
			}
			intlen = (size_t)point;
			fraclen = k - intlen;
		}
		while (fraclen > 0 && digits[intlen + fraclen - 1] == '0')
			fraclen--;
		lead = 0;
		while (lead + 1 < intlen && digits[lead] == '0')
			lead++;
		memmove(digits, digits + lead, intlen - lead + fraclen);
		intlen -= lead;
	}
	if ((intlen == 1 && digits[0] == '0' ? 0 : intlen) + fraclen > DECIMAL_MAX_DIGITS) {
		*why = "DECIMAL parameter with more than 65 digits";
		return NULL;
	}
	out = malloc(intlen + fraclen + 3);
	if (out == NULL) {
		*why = "out of memory";
		return NULL;
	}
	k = 0;
	if (neg && !zero)
		out[k++] = '-';
	memcpy(out + k, digits, intlen);
	k += intlen;
	if (fraclen > 0) {
		out[k++] = '.';
		memcpy(out + k, digits + intlen, fraclen);
		k += fraclen;
	}
	out[k] = '\0';
	return out;
}

/*
 * The length prefix of a value.  The server (get_param_length) reads 0xfb
 * and 0xff as if they were 0xfe: no client sends them; refused.
 */
static bool get_length(struct pkt_reader *r, uint64_t *len, const char **why)
{
	bool is_null = false;

	*len = 0;
	if (pkt_remaining(r) > 0 && (r->p[r->pos] == 0xfb || r->p[r->pos] == 0xff)) {
		*why = "parameter with an invalid length prefix";
		return false;
	}
	*len = pkt_get_lenenc(r, &is_null);
	if (r->err || is_null) {
		*why = "truncated parameter value";
		return false;
	}
	return true;
}

/* A length-encoded string value: a pointer into the payload. */
static const uint8_t *get_string(struct pkt_reader *r, size_t *n, const char **why)
{
	uint64_t len;
	const uint8_t *p;

	*n = 0;
	if (!get_length(r, &len, why))
		return NULL;
	if (len > pkt_remaining(r)) {
		*why = "truncated string parameter";
		return NULL;
	}
	p = pkt_get_bytes(r, (size_t)len);
	if (p == NULL || r->err) {
		*why = "truncated string parameter";
		return NULL;
	}
	*n = (size_t)len;
	return p;
}

/* ---- dates and times ------------------------------------------------------ */

/* ".ffffff", or "" for 0: the server holds a temporal parameter with six
 * fraction digits when it has a fraction, none when not (Item_param's
 * decimals), and a typed literal has as many as it is written with. */
static void format_fraction(char *buf, size_t cap, uint32_t micro)
{
	buf[0] = '\0';
	if (micro != 0)
		snprintf(buf, cap, ".%06" PRIu32, micro);
}

/* Days in a month of the proleptic Gregorian calendar; year 0 is not a
 * leap year for the server (calc_days_in_year). */
static uint32_t days_in_month(uint32_t year, uint32_t month)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = year % 4 == 0 && (year % 100 != 0 || (year % 400 == 0 && year != 0));

	return month == 2 && leap ? 29 : days[month - 1];
}

/*
 * DATE / DATETIME / TIMESTAMP value (after its length byte).  The server
 * zeroes a value with a field out of range (check_datetime_range), with a
 * warning: refused; so is a day past the end of its month, which the server
 * keeps but reads differently in a literal.  A DATE ignores the time
 * bytes, as the server does.
 */
static char *datetime_literal(struct pkt_reader *r, uint8_t type, const char **why)
{
	uint64_t len;
	uint32_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micro = 0;
	bool zero_part;
	char buf[64], frac[16];

	if (!get_length(r, &len, why))
		return NULL;
	if (len != 0 && len != 4 && len != 7 && len != 11) {
		*why = "date parameter with a length other than 0, 4, 7 or 11";
		return NULL;
	}
	if (len >= 4) {
		year = pkt_get_u16(r);
		month = pkt_get_u8(r);
		day = pkt_get_u8(r);
	}
	if (len >= 7) {
		hour = pkt_get_u8(r);
		minute = pkt_get_u8(r);
		second = pkt_get_u8(r);
	}
	if (len >= 11)
		micro = pkt_get_u32(r);
	if (r->err) {
		*why = "truncated date parameter";
		return NULL;
	}
	if (year > 9999 || month > 12 || day > 31) {
		*why = "date parameter out of range";
		return NULL;
	}
	if (month >= 1 && day > days_in_month(year, month)) {
		/* the server keeps 2024-02-31 in the parameter; '2024-02-31' is
		 * not a date to it (CAST gives NULL): no literal is the value */
		*why = "date parameter past the end of its month";
		return NULL;
	}
	/* a typed literal is the temporal value the parameter is (a quoted
	   string would compare with a string column as a string, and be a
	   number in arithmetic); a zero month or day is refused in one under
	   NO_ZERO_IN_DATE / NO_ZERO_DATE, a quoted string is not */
	zero_part = month == 0 || day == 0;
	if (type == PARAMS_T_DATE) {
		snprintf(buf, sizeof(buf), "%s'%04" PRIu32 "-%02" PRIu32 "-%02" PRIu32 "'", zero_part ? "" : "DATE",
			 year, month, day);
	} else {
		if (hour > 23 || minute > 59 || second > 59 || micro > 999999) {
			*why = "datetime parameter out of range";
			return NULL;
		}
		format_fraction(frac, sizeof(frac), micro);
		snprintf(buf, sizeof(buf),
			 "%s'%04" PRIu32 "-%02" PRIu32 "-%02" PRIu32 " %02" PRIu32 ":%02" PRIu32 ":%02" PRIu32 "%s'",
			 zero_part ? "" : "TIMESTAMP", year, month, day, hour, minute, second, frac);
	}
	return strdup(buf);
}

/*
 * TIME value: sign, days, hours, minutes, seconds, microseconds.  Days are
 * folded into hours; over 838 hours the server clamps to 838:59:59 and
 * keeps the fraction.  The server adds days * 24 in 32 bits: a sum that
 * would wrap is refused.
 */
static char *time_literal(struct pkt_reader *r, const char **why)
{
	uint64_t len, hours = 0;
	uint32_t days = 0, minute = 0, second = 0, micro = 0;
	bool neg = false;
	char buf[64], frac[16];

	if (!get_length(r, &len, why))
		return NULL;
	if (len != 0 && len != 8 && len != 12) {
		*why = "time parameter with a length other than 0, 8 or 12";
		return NULL;
	}
	if (len >= 8) {
		neg = pkt_get_u8(r) != 0;
		days = pkt_get_u32(r);
		hours = pkt_get_u8(r);
		minute = pkt_get_u8(r);
		second = pkt_get_u8(r);
	}
	if (len >= 12)
		micro = pkt_get_u32(r);
	if (r->err) {
		*why = "truncated time parameter";
		return NULL;
	}
	if (minute > 59 || second > 59 || micro > 999999) {
		*why = "time parameter out of range";
		return NULL;
	}
	hours += (uint64_t)days * 24;
	if (hours > UINT32_MAX) {
		*why = "time parameter out of range";
		return NULL;
	}
	if (hours > 838) {
		hours = 838;
		minute = 59;
		second = 59;
	}
	if (hours == 0 && minute == 0 && second == 0 && micro == 0)
		neg = false;           /* the server reads -00:00:00 as 00:00:00 */
	format_fraction(frac, sizeof(frac), micro);
	snprintf(buf, sizeof(buf), "TIME'%s%02" PRIu64 ":%02" PRIu32 ":%02" PRIu32 "%s'", neg ? "-" : "",
		 hours, minute, second, frac);
	return strdup(buf);
}

/* ---- one parameter -------------------------------------------------------- */

static bool is_blob(uint8_t type)
{
	return type == PARAMS_T_TINY_BLOB || type == PARAMS_T_MEDIUM_BLOB ||
	       type == PARAMS_T_LONG_BLOB || type == PARAMS_T_BLOB;
}

static bool is_text(uint8_t type)
{
	switch (type) {
	case PARAMS_T_VARCHAR:
	case PARAMS_T_VAR_STRING:
	case PARAMS_T_STRING:
	case PARAMS_T_ENUM:
	case PARAMS_T_SET:
		return true;
	default:
		return false;
	}
}

/* The value of one non-NULL parameter of type `type` as a literal. */
static char *value_literal(struct pkt_reader *r, uint8_t type, bool is_unsigned, bool nbe,
			   const char **why)
{
	char buf[64];
	const uint8_t *s;
	size_t n;
	char *lit;

	switch (type) {
	case PARAMS_T_TINY: {
		uint8_t v = pkt_get_u8(r);

		if (is_unsigned)
			snprintf(buf, sizeof(buf), "%" PRIu8, v);
		else
			snprintf(buf, sizeof(buf), "%" PRId8, (int8_t)v);
		break;
	}
	case PARAMS_T_SHORT: {
		uint16_t v = pkt_get_u16(r);

		if (is_unsigned)
			snprintf(buf, sizeof(buf), "%" PRIu16, v);
		else
			snprintf(buf, sizeof(buf), "%" PRId16, (int16_t)v);
		break;
	}
	case PARAMS_T_LONG: {
		uint32_t v = pkt_get_u32(r);

		if (is_unsigned)
			snprintf(buf, sizeof(buf), "%" PRIu32, v);
		else
			snprintf(buf, sizeof(buf), "%" PRId32, (int32_t)v);
		break;
	}
	case PARAMS_T_LONGLONG: {
		uint64_t v = pkt_get_u64(r);

		if (is_unsigned)
			snprintf(buf, sizeof(buf), "%" PRIu64, v);
		else
			snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)v);
		break;
	}
	case PARAMS_T_FLOAT: {
		uint32_t bits = pkt_get_u32(r);
		float f;

		memcpy(&f, &bits, sizeof(f));
		if (!r->err && !format_double((double)f, buf, sizeof(buf))) {
			*why = "FLOAT parameter that is NaN or infinite";
			return NULL;
		}
		break;
	}
	case PARAMS_T_DOUBLE: {
		uint64_t bits = pkt_get_u64(r);
		double d;

		memcpy(&d, &bits, sizeof(d));
		if (!r->err && !format_double(d, buf, sizeof(buf))) {
			*why = "DOUBLE parameter that is NaN or infinite";
			return NULL;
		}
		break;
	}
	case PARAMS_T_DECIMAL:
	case PARAMS_T_NEWDECIMAL:
		s = get_string(r, &n, why);
		if (s == NULL)
			return NULL;
		return decimal_literal(s, n, why);
	case PARAMS_T_DATE:
	case PARAMS_T_DATETIME:
	case PARAMS_T_TIMESTAMP:
		return datetime_literal(r, type, why);
	case PARAMS_T_TIME:
		return time_literal(r, why);
	case PARAMS_T_INT24:
	case PARAMS_T_YEAR:
		*why = "INT24 or YEAR parameter (MariaDB reads a length-encoded string: the number sent becomes NULL)";
		return NULL;
	case PARAMS_T_BIT:
		*why = "BIT parameter (MariaDB reads it as NULL)";
		return NULL;
	case PARAMS_T_GEOMETRY:
		*why = "GEOMETRY parameter (the server holds a geometry value, which no literal is)";
		return NULL;
	case PARAMS_T_JSON:
		*why = "JSON parameter (MariaDB refuses the execute; MySQL's reading is not checked)";
		return NULL;
	case PARAMS_T_NULL:
		*why = "parameter of type NULL without its NULL bit";
		return NULL;
	default:
		if (!is_text(type) && !is_blob(type)) {
			*why = "parameter of a type clients do not send";
			return NULL;
		}
		s = get_string(r, &n, why);
		if (s == NULL)
			return NULL;
		lit = quote_prefixed(is_blob(type) ? "_binary" : "", s, n, nbe);
		if (lit == NULL)
			*why = "out of memory";
		return lit;
	}
	if (r->err) {
		*why = "truncated numeric parameter";
		return NULL;
	}
	lit = strdup(buf);
	if (lit == NULL)
		*why = "out of memory";
	return lit;
}

/* ---- values read back in a text result ------------------------------------ */

char *params_text_literal(uint8_t type, bool binary, bool charset_ok, const char *v, size_t n, bool nbe,
			  const char **why)
{
	char buf[64], *end, *lit;
	double d;
	size_t i;

	if (v == NULL)
		return strdup("NULL");
	switch (type) {
	case PARAMS_T_TINY:
	case PARAMS_T_SHORT:
	case PARAMS_T_LONG:
	case PARAMS_T_LONGLONG:
	case PARAMS_T_INT24:
		i = n > 0 && v[0] == '-' ? 1 : 0;
		if (n == i || n > 21) {
			*why = "an integer value the server did not write as one";
			return NULL;
		}
		for (; i < n; i++)
			if (!is_digit((uint8_t)v[i])) {
				*why = "an integer value the server did not write as one";
				return NULL;
			}
		lit = strndup(v, n);
		break;
	case PARAMS_T_DECIMAL:
	case PARAMS_T_NEWDECIMAL:
		return decimal_literal((const uint8_t *)v, n, why);
	case PARAMS_T_FLOAT:
	case PARAMS_T_DOUBLE:
		if (n == 0 || n >= sizeof(buf)) {
			*why = "a DOUBLE value the server did not write as one";
			return NULL;
		}
		memcpy(buf, v, n);
		buf[n] = '\0';
		d = strtod(buf, &end);
		if (*end != '\0' || !format_double(d, buf, sizeof(buf))) {
			*why = "a DOUBLE value the server did not write as one";
			return NULL;
		}
		lit = strdup(buf);
		break;
	default:
		if (!is_text(type) && !is_blob(type)) {
			*why = "a value of a type a user variable does not hold";
			return NULL;
		}
		if (!binary && !charset_ok) {
			*why = "a string value while the connection's character sets differ (character_set_client, "
			       "_connection and _results must be one, as SET NAMES makes them)";
			return NULL;
		}
		lit = quote_prefixed(binary ? "_binary" : "", (const uint8_t *)v, n, nbe);
		break;
	}
	if (lit == NULL)
		*why = "out of memory";
	return lit;
}

/* ---- the execute ---------------------------------------------------------- */

void params_literals_free(struct params_literals *out)
{
	unsigned i;

	if (out == NULL)
		return;
	if (out->lit != NULL)
		for (i = 0; i < out->n; i++)
			free(out->lit[i]);
	free(out->lit);
	free(out->long_data);
	out->n = 0;
	out->lit = NULL;
	out->long_data = NULL;
}

void params_types_free(struct params_types *t)
{
	if (t == NULL)
		return;
	free(t->types);
	t->types = NULL;
	t->n = 0;
}

static bool fail(struct params_literals *out, const char **why, const char *reason)
{
	params_literals_free(out);
	if (why != NULL)
		*why = reason;
	return false;
}

bool params_decode(const uint8_t *pl, size_t len, unsigned nparams, struct params_types *types,
		   const bool *long_data_mask, bool no_backslash_escapes,
		   struct params_literals *out, const char **why)
{
	struct pkt_reader r;
	const uint8_t *bitmap, *tb;
	const char *reason = NULL;
	uint8_t bound;
	unsigned i;

	if (out == NULL)
		return false;
	out->n = 0;
	out->lit = NULL;
	out->long_data = NULL;
	if (why != NULL)
		*why = NULL;
	if (types == NULL)
		return fail(out, why, "no parameter type store");
	if (pl == NULL && len > 0)
		return fail(out, why, "no payload");
	if (nparams > PARAMS_MAX)
		return fail(out, why, "more parameters than a statement can have");
	pkt_reader_init(&r, pl, len);
	if (pkt_get_u8(&r) != COM_STMT_EXECUTE || r.err)
		return fail(out, why, "not a COM_STMT_EXECUTE");
	pkt_skip(&r, 4 + 1 + 4);       /* statement id, flags, iteration count */
	if (r.err)
		return fail(out, why, "truncated COM_STMT_EXECUTE header");
	if (nparams == 0) {
		if (pkt_remaining(&r) != 0)
			return fail(out, why, "bytes after the last parameter");
		return true;
	}

	bitmap = pkt_get_bytes(&r, ((size_t)nparams + 7) / 8);
	bound = pkt_get_u8(&r);
	if (r.err || bitmap == NULL)
		return fail(out, why, "truncated NULL bitmap");
	if (bound > 1)
		return fail(out, why, "new_params_bound_flag neither 0 nor 1");
	if (bound == 1) {
		uint8_t *copy;

		tb = pkt_get_bytes(&r, (size_t)nparams * 2);
		if (tb == NULL || r.err) {
			params_types_free(types);
			return fail(out, why, "truncated parameter types");
		}
		copy = malloc((size_t)nparams * 2);
		if (copy == NULL) {
			params_types_free(types);
			return fail(out, why, "out of memory");
		}
		memcpy(copy, tb, (size_t)nparams * 2);
		free(types->types);
		types->types = copy;
		types->n = nparams;
	} else if (types->types == NULL) {
		return fail(out, why, "execute without parameter types, and none bound before");
	} else if (types->n != nparams) {
		return fail(out, why, "bound parameter types are for another parameter count");
	}
	tb = types->types;
	for (i = 0; i < nparams; i++)
		if (tb[2 * i + 1] & PARAMS_FLAG_INDICATOR)
			return fail(out, why, "bulk-execute parameter indicator (MariaDB STMT_BULK_FLAG)");

	out->lit = calloc(nparams, sizeof(*out->lit));
	out->long_data = calloc(nparams, sizeof(*out->long_data));
	if (out->lit == NULL || out->long_data == NULL)
		return fail(out, why, "out of memory");
	out->n = nparams;
	for (i = 0; i < nparams; i++) {
		uint8_t type = tb[2 * i], flags = tb[2 * i + 1];

		if (long_data_mask != NULL && long_data_mask[i]) {
			out->long_data[i] = true;
			continue;
		}
		if (bitmap[i / 8] & (1u << (i % 8)))
			out->lit[i] = strdup("NULL");
		else
			out->lit[i] = value_literal(&r, type, (flags & PARAMS_FLAG_UNSIGNED) != 0,
						    no_backslash_escapes, &reason);
		if (out->lit[i] == NULL)
			return fail(out, why, reason != NULL ? reason : "out of memory");
	}
	if (r.err)
		return fail(out, why, "truncated parameter value");
	if (pkt_remaining(&r) != 0)
		return fail(out, why, "bytes after the last parameter");
	return true;
}
