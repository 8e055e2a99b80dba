/*
 * params_roundtrip.c - protocol/params.c against a real server: the
 * literal params_decode() writes for a COM_STMT_EXECUTE parameter must be
 * the value the server holds for that parameter.
 *
 *   params_roundtrip HOST PORT USER PASSWORD DB [MODE]
 *   params_roundtrip --decode NPARAMS HEX [nbe]
 *
 * MODE is the session the literals are read in:
 *   default     utf8mb4 (the harness's server default), backslash escapes
 *   nbe         sql_mode NO_BACKSLASH_ESCAPES
 *   gbk         character set gbk, whose second bytes include '\'
 *   empty_null  sql_mode EMPTY_STRING_IS_NULL
 *
 * For each value of a list covering every type libmariadb (Connector/C)
 * can bind, the program binds it with mysql_stmt_bind_param() and runs
 * "SELECT ?" through a relay of its own (a thread between libmariadb and
 * the server), so it has the COM_STMT_EXECUTE payload libmariadb really
 * sent.  It checks that its own encoder (encode_execute, written from the
 * protocol documentation and libmariadb's behaviour) produces the same
 * bytes, decodes the payload with params_decode() into a literal L, runs
 * the execute again without types (new_params_bound_flag 0) and decodes
 * that one with the types of the first, then runs
 *   SELECT CONCAT_WS(',', ? <=> L, HEX(?) <=> HEX(L), CHARSET(?) <=> ...)
 * with the value bound to every '?' and requires every comparison to be 1
 * (for dates and times: the value cast to its type, and, when L is a
 * typed literal, ? + 0 <=> L + 0, the value in arithmetic with its
 * fraction digits; for hex literals of text: only <=> and HEX, a hex literal being
 * binary).  The payload of that statement, k parameters of one value, must
 * decode to L k times.  Values params_decode() refuses must be refused.
 * A last statement binds many values at once, NULLs and a long-data
 * parameter among them.
 *
 * --decode prints the literals of one payload (hex), one line each:
 * "lit HEX-OF-LITERAL", "long", or "refused REASON"; test_params.py uses it
 * for the types libmariadb cannot bind, which it sends itself.
 *
 * Output is TAP ("ok N - ..." / "not ok N - ..."); exit 0 when all passed,
 * 1 when one failed, 2 on bad usage or when the set-up failed.
 */
#include "config.h"
#include "protocol/params.h"

#include <arpa/inet.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mysql.h>

#define MAX_CHECK_PARAMS 8

/* ---- TAP ------------------------------------------------------------------ */

static int ntests, nfailed;

static void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	ntests++;
	if (!ok)
		nfailed++;
	printf("%s %d - ", ok ? "ok" : "not ok", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(2);
}

/* s with bytes outside printable ASCII as \xNN, into buf. */
static const char *shown(const char *s, char *buf, size_t cap)
{
	size_t k = 0;

	for (; *s != '\0' && k + 8 < cap; s++) {
		uint8_t c = (uint8_t)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[k++] = (char)c;
		else
			k += (size_t)snprintf(buf + k, 5, "\\x%02x", c);
	}
	if (*s != '\0')
		k += (size_t)snprintf(buf + k, 4, "...");
	buf[k] = '\0';
	return buf;
}

/* ---- growable bytes --------------------------------------------------------- */

struct bytes {
	uint8_t *p;
	size_t n, cap;
};

static void b_put(struct bytes *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 256;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			die("out of memory");
	}
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void b_u8(struct bytes *b, uint8_t v)
{
	b_put(b, &v, 1);
}

static void b_le(struct bytes *b, uint64_t v, unsigned n)
{
	while (n-- > 0) {
		b_u8(b, (uint8_t)v);
		v >>= 8;
	}
}

/* ---- the relay: libmariadb <-> relay <-> server, client bytes captured ------ */

static struct {
	int lfd;
	int port;
	const char *host, *server_port;
	pthread_t thread;
	pthread_mutex_t mu;
	struct bytes cap;          /* everything the client sent */
	size_t parsed;             /* offset of the next unparsed frame */
} relay;

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static int connect_server(void)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(relay.host, relay.server_port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void *relay_main(void *arg)
{
	int cfd = accept(relay.lfd, NULL, NULL), sfd;
	struct pollfd pf[2];
	static uint8_t buf[1 << 16];

	(void)arg;
	if (cfd < 0)
		return NULL;
	sfd = connect_server();
	if (sfd < 0) {
		close(cfd);
		return NULL;
	}
	pf[0].fd = cfd;
	pf[0].events = POLLIN;
	pf[1].fd = sfd;
	pf[1].events = POLLIN;
	for (;;) {
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(cfd, buf, sizeof(buf));
			if (n <= 0)
				break;
			pthread_mutex_lock(&relay.mu);
			b_put(&relay.cap, buf, (size_t)n);
			pthread_mutex_unlock(&relay.mu);
			if (!write_all(sfd, buf, (size_t)n))
				break;
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(sfd, buf, sizeof(buf));
			if (n <= 0 || !write_all(cfd, buf, (size_t)n))
				break;
		}
	}
	close(cfd);
	close(sfd);
	return NULL;
}

static void relay_start(const char *host, const char *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	relay.host = host;
	relay.server_port = port;
	pthread_mutex_init(&relay.mu, NULL);
	relay.lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (relay.lfd < 0 || bind(relay.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(relay.lfd, 1) != 0 || getsockname(relay.lfd, (struct sockaddr *)&a, &alen) != 0)
		die("relay socket: %s", strerror(errno));
	relay.port = ntohs(a.sin_port);
	if (pthread_create(&relay.thread, NULL, relay_main, NULL) != 0)
		die("relay thread");
}

/*
 * The payload of the last COM_STMT_EXECUTE the client sent since the last
 * call (a copy, *len), or NULL.  The response has been read when this is
 * called, so the request went through the relay.
 */
static uint8_t *last_execute(size_t *len)
{
	uint8_t *found = NULL;

	*len = 0;
	pthread_mutex_lock(&relay.mu);
	while (relay.cap.n - relay.parsed >= 4) {
		const uint8_t *h = relay.cap.p + relay.parsed;
		size_t n = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);

		if (n == 0xffffff)
			die("a frame of 16 MiB: not in these tests");
		if (relay.cap.n - relay.parsed - 4 < n)
			break;
		if (h[3] == 0 && n > 0 && h[4] == 0x17) {
			free(found);
			found = malloc(n);
			if (found == NULL)
				die("out of memory");
			memcpy(found, h + 4, n);
			*len = n;
		}
		relay.parsed += 4 + n;
	}
	pthread_mutex_unlock(&relay.mu);
	return found;
}

/* ---- our encoder: COM_STMT_EXECUTE as libmariadb builds it ------------------- */

/*
 * The types and value encodings of the protocol documentation ("Binary
 * Protocol Value", "COM_STMT_EXECUTE"), with libmariadb's choices: the
 * shortest date/time length that holds the value, the unsigned flag as
 * 0x8000 of the 2-byte type, NULL bit for is_null / MYSQL_TYPE_NULL / no
 * buffer, nothing for a long-data parameter.  Statement id 0: the caller
 * compares from byte 5 on.
 */
static void encode_value(struct bytes *b, const MYSQL_BIND *p)
{
	switch (p->buffer_type) {
	case MYSQL_TYPE_TINY:
		b_u8(b, *(const uint8_t *)p->buffer);
		break;
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_YEAR:
		b_le(b, *(const uint16_t *)p->buffer, 2);
		break;
	case MYSQL_TYPE_LONG:
		b_le(b, *(const uint32_t *)p->buffer, 4);
		break;
	case MYSQL_TYPE_LONGLONG:
		b_le(b, *(const uint64_t *)p->buffer, 8);
		break;
	case MYSQL_TYPE_FLOAT: {
		uint32_t v;

		memcpy(&v, p->buffer, 4);
		b_le(b, v, 4);
		break;
	}
	case MYSQL_TYPE_DOUBLE: {
		uint64_t v;

		memcpy(&v, p->buffer, 8);
		b_le(b, v, 8);
		break;
	}
	case MYSQL_TYPE_TIME: {
		const MYSQL_TIME *t = p->buffer;
		uint8_t len = t->second_part ? 12 : (t->day || t->hour || t->minute || t->second) ? 8 : 0;

		b_u8(b, len);
		if (len >= 8) {
			b_u8(b, t->neg ? 1 : 0);
			b_le(b, t->day, 4);
			b_u8(b, (uint8_t)t->hour);
			b_u8(b, (uint8_t)t->minute);
			b_u8(b, (uint8_t)t->second);
		}
		if (len == 12)
			b_le(b, t->second_part, 4);
		break;
	}
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP: {
		const MYSQL_TIME *t = p->buffer;
		uint8_t len = t->second_part ? 11 : (t->hour || t->minute || t->second) ? 7 :
			      (t->year || t->month || t->day) ? 4 : 0;

		b_u8(b, len);
		if (len >= 4) {
			b_le(b, t->year, 2);
			b_u8(b, (uint8_t)t->month);
			b_u8(b, (uint8_t)t->day);
		}
		if (len >= 7) {
			b_u8(b, (uint8_t)t->hour);
			b_u8(b, (uint8_t)t->minute);
			b_u8(b, (uint8_t)t->second);
		}
		if (len == 11)
			b_le(b, t->second_part, 4);
		break;
	}
	default: {        /* strings, blobs, decimals: length-encoded bytes */
		size_t n = *p->length;

		if (n < 251) {
			b_u8(b, (uint8_t)n);
		} else if (n < 0x10000) {
			b_u8(b, 0xfc);
			b_le(b, n, 2);
		} else if (n < 0x1000000) {
			b_u8(b, 0xfd);
			b_le(b, n, 3);
		} else {
			b_u8(b, 0xfe);
			b_le(b, n, 8);
		}
		b_put(b, p->buffer, n);
		break;
	}
	}
}

static bool bind_is_null(const MYSQL_BIND *p)
{
	return (p->is_null != NULL && *p->is_null) || p->buffer_type == MYSQL_TYPE_NULL || p->buffer == NULL;
}

static void encode_execute(struct bytes *b, const MYSQL_BIND *binds, unsigned n, bool send_types,
			   const bool *long_data)
{
	size_t bitmap;
	unsigned i;

	b->n = 0;
	b_u8(b, 0x17);
	b_le(b, 0, 4);
	b_u8(b, 0);
	b_le(b, 1, 4);
	if (n == 0)
		return;
	bitmap = b->n;
	for (i = 0; i < (n + 7) / 8; i++)
		b_u8(b, 0);
	b_u8(b, send_types ? 1 : 0);
	if (send_types)
		for (i = 0; i < n; i++) {
			b_u8(b, (uint8_t)binds[i].buffer_type);
			b_u8(b, binds[i].is_unsigned ? 0x80 : 0);
		}
	for (i = 0; i < n; i++) {
		/* libmariadb sets the NULL bit of a long-data parameter too when
		 * its bind says NULL; it sends no value for it either way */
		if (bind_is_null(&binds[i]))
			b->p[bitmap + i / 8] |= (uint8_t)(1u << (i % 8));
		else if (long_data == NULL || !long_data[i])
			encode_value(b, &binds[i]);
	}
}

/* ---- the values --------------------------------------------------------------- */

static bool nbe, empty_null;   /* the session's NO_BACKSLASH_ESCAPES, EMPTY_STRING_IS_NULL */

enum kind { K_NUM, K_TEXT, K_BIN, K_DATE, K_DATETIME, K_TIME, K_NULL };

struct tcase {
	char name[160];
	enum kind kind;
	MYSQL_BIND bind;
	union {
		int8_t i8;
		int16_t i16;
		int32_t i32;
		int64_t i64;
		float f;
		double d;
		MYSQL_TIME t;
	} v;
	char *str;               /* strings: malloc'ed bytes */
	unsigned long len;
	my_bool null;
	bool refused;            /* params_decode must refuse it */
	const char *want;        /* the literal, when the list says it (else NULL) */
};

#define MAX_CASES 160
static struct tcase cases[MAX_CASES];
static size_t ncases;

static struct tcase *add(enum kind kind, enum enum_field_types type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct tcase *add(enum kind kind, enum enum_field_types type, const char *fmt, ...)
{
	struct tcase *c;
	va_list ap;

	if (ncases == MAX_CASES)
		die("too many cases");
	c = &cases[ncases++];
	memset(c, 0, sizeof(*c));
	va_start(ap, fmt);
	vsnprintf(c->name, sizeof(c->name), fmt, ap);
	va_end(ap);
	c->kind = kind;
	c->bind.buffer_type = type;
	c->bind.buffer = &c->v;
	c->bind.is_null = &c->null;
	return c;
}

static struct tcase *add_int(enum enum_field_types type, bool is_unsigned, int64_t v, const char *want)
{
	struct tcase *c = add(K_NUM, type, "type %d%s %" PRId64, (int)type, is_unsigned ? " unsigned" : "", v);

	c->bind.is_unsigned = is_unsigned;
	c->want = want;
	switch (type) {
	case MYSQL_TYPE_TINY:
		c->v.i8 = (int8_t)v;
		break;
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_YEAR:
		c->v.i16 = (int16_t)v;
		break;
	case MYSQL_TYPE_LONG:
		c->v.i32 = (int32_t)v;
		break;
	default:
		c->v.i64 = v;
		break;
	}
	return c;
}

static void add_float(float f, const char *want)
{
	struct tcase *c = add(K_NUM, MYSQL_TYPE_FLOAT, "float %.9g", (double)f);

	c->v.f = f;
	c->want = want;
}

static void add_double(double d, const char *want)
{
	struct tcase *c = add(K_NUM, MYSQL_TYPE_DOUBLE, "double %.17g", d);

	c->v.d = d;
	c->want = want;
}

static struct tcase *add_bytes(enum kind kind, enum enum_field_types type, const char *s, size_t n,
			       const char *want)
{
	char shownbuf[64 * 4 + 1];
	struct tcase *c;
	char *copy = malloc(n + 1);
	size_t i, k = 0;

	if (copy == NULL)
		die("out of memory");
	memcpy(copy, s, n);
	copy[n] = '\0';
	for (i = 0; i < n && i < 24; i++) {        /* the bytes, NUL included */
		uint8_t ch = (uint8_t)s[i];

		if (ch >= 0x20 && ch < 0x7f)
			shownbuf[k++] = (char)ch;
		else
			k += (size_t)snprintf(shownbuf + k, 5, "\\x%02x", ch);
	}
	shownbuf[k] = '\0';
	c = add(kind, type, "type %d \"%s%s\" (%zu bytes)", (int)type, shownbuf, n > 24 ? "..." : "", n);
	c->str = copy;
	c->len = (unsigned long)n;
	c->bind.buffer = copy;
	c->bind.buffer_length = (unsigned long)n;
	c->bind.length = &c->len;
	c->want = want;
	return c;
}

static struct tcase *add_str(enum enum_field_types type, const char *s, const char *want)
{
	return add_bytes(type == MYSQL_TYPE_NEWDECIMAL || type == MYSQL_TYPE_DECIMAL ? K_NUM :
		  (type >= MYSQL_TYPE_TINY_BLOB && type <= MYSQL_TYPE_BLOB) ? K_BIN : K_TEXT,
		  type, s, strlen(s), want);
}

static struct tcase *add_time(enum enum_field_types type, bool neg, unsigned year, unsigned month, unsigned day,
		     unsigned hour, unsigned minute, unsigned second, unsigned long micro, const char *want)
{
	enum kind kind = type == MYSQL_TYPE_DATE ? K_DATE : type == MYSQL_TYPE_TIME ? K_TIME : K_DATETIME;
	struct tcase *c = add(kind, type, "type %d %s%04u-%02u-%02u %02u:%02u:%02u.%06lu", (int)type,
			      neg ? "-" : "", year, month, day, hour, minute, second, micro);

	c->v.t.neg = neg;
	c->v.t.year = year;
	c->v.t.month = month;
	c->v.t.day = day;
	c->v.t.hour = hour;
	c->v.t.minute = minute;
	c->v.t.second = second;
	c->v.t.second_part = micro;
	c->v.t.time_type = type == MYSQL_TYPE_DATE ? MYSQL_TIMESTAMP_DATE :
			   type == MYSQL_TYPE_TIME ? MYSQL_TIMESTAMP_TIME : MYSQL_TIMESTAMP_DATETIME;
	c->want = want;
	return c;
}

static void add_null(enum enum_field_types type)
{
	struct tcase *c = add(K_NULL, type, "NULL as type %d", (int)type);

	if (type == MYSQL_TYPE_NULL)
		c->bind.buffer = NULL;
	else
		c->null = 1;
	c->want = "NULL";
}

static void cases_common(void)
{
	static char big1[301], big2[70001];
	size_t i;

	add_int(MYSQL_TYPE_TINY, false, -128, "-128");
	add_int(MYSQL_TYPE_TINY, false, 127, "127");
	add_int(MYSQL_TYPE_TINY, false, 0, "0");
	add_int(MYSQL_TYPE_TINY, true, -1, "255");
	add_int(MYSQL_TYPE_SHORT, false, -32768, "-32768");
	add_int(MYSQL_TYPE_SHORT, false, 32767, "32767");
	add_int(MYSQL_TYPE_SHORT, true, -1, "65535");
	add_int(MYSQL_TYPE_LONG, false, INT32_MIN, "-2147483648");
	add_int(MYSQL_TYPE_LONG, false, INT32_MAX, "2147483647");
	add_int(MYSQL_TYPE_LONG, true, -1, "4294967295");
	add_int(MYSQL_TYPE_LONGLONG, false, INT64_MIN, "-9223372036854775808");
	add_int(MYSQL_TYPE_LONGLONG, false, INT64_MAX, "9223372036854775807");
	add_int(MYSQL_TYPE_LONGLONG, false, -1, "-1");
	add_int(MYSQL_TYPE_LONGLONG, true, -1, "18446744073709551615");
	add_int(MYSQL_TYPE_LONGLONG, true, 42, "42");
	add_int(MYSQL_TYPE_YEAR, false, 2024, NULL)->refused = true;

	add_float(0.1f, "1.0000000149011612e-01");
	add_float(-2.5f, "-2.5e+00");
	add_float(FLT_MAX, NULL);
	add_float(1e-45f, NULL);
	add_float(FLT_MIN, NULL);
	add_float(0.0f, "0e+00");
	add_float(-0.0f, NULL);
	add_float(3.14159f, NULL);
	add_float(16777217.0f, NULL);
	add_float(1e30f, NULL);
	add_double(0.1, "1e-01");
	add_double(1.0 / 3, NULL);
	add_double(1e308, NULL);
	add_double(5e-324, "5e-324");
	add_double(DBL_MAX, NULL);
	add_double(DBL_MIN, NULL);
	add_double(-0.0, NULL);
	add_double(123456789012345678.0, NULL);
	add_double(2.5, NULL);
	add_double(-1e-300, NULL);
	add_double(9007199254740993.0, NULL);

	add_str(MYSQL_TYPE_NEWDECIMAL, "1.50", "1.50");
	add_str(MYSQL_TYPE_NEWDECIMAL, "-007.50", "-7.50");
	add_str(MYSQL_TYPE_NEWDECIMAL, ".5", "0.5");
	add_str(MYSQL_TYPE_NEWDECIMAL, "5.", "5");
	add_str(MYSQL_TYPE_NEWDECIMAL, "+5", "5");
	add_str(MYSQL_TYPE_NEWDECIMAL, "-0.00", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "1.50e1", "15");
	add_str(MYSQL_TYPE_NEWDECIMAL, "1.50e0", "1.50");
	add_str(MYSQL_TYPE_NEWDECIMAL, "12.300e-2", "0.123");
	add_str(MYSQL_TYPE_NEWDECIMAL, "1.5E+3", "1500");
	add_str(MYSQL_TYPE_NEWDECIMAL, "15e-3", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "100e-2", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "1.0e-1", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "0e-3", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "0.0e5", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "1.0100e2", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "-1.2345678901234567890123e5", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "12345678901234567890123456789012345678901234567890123456789012345",
		NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "0.00000000000000000000000000000000000000001", NULL);
	add_str(MYSQL_TYPE_NEWDECIMAL, "1e40", NULL);
	add_str(MYSQL_TYPE_DECIMAL, "3.25", "3.25");
	add_str(MYSQL_TYPE_NEWDECIMAL, "12abc", NULL)->refused = true;
	add_str(MYSQL_TYPE_NEWDECIMAL, " 12", NULL)->refused = true;

	add_str(MYSQL_TYPE_VAR_STRING, "abc", "'abc'");
	add_str(MYSQL_TYPE_VAR_STRING, "", "''");
	add_str(MYSQL_TYPE_STRING, "it's", NULL);
	add_str(MYSQL_TYPE_STRING, "a\\b", NULL);
	add_str(MYSQL_TYPE_STRING, "\\'", NULL);
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "a\0b", 3, NULL);
	add_str(MYSQL_TYPE_VAR_STRING, "%_\"\n\r\x1a\t", NULL);
	add_str(MYSQL_TYPE_VAR_STRING, "  padded  ", NULL);
	add_str(MYSQL_TYPE_VAR_STRING, "ABC", NULL);
	for (i = 0; i < sizeof(big1) - 1; i++)
		big1[i] = (char)('a' + i % 26);
	for (i = 0; i < sizeof(big2) - 1; i++)
		big2[i] = i % 100 == 0 ? '\'' : i % 77 == 0 ? '\\' : (char)('A' + i % 26);
	add_bytes(K_TEXT, MYSQL_TYPE_STRING, big1, sizeof(big1) - 1, NULL);
	add_bytes(K_TEXT, MYSQL_TYPE_STRING, big2, sizeof(big2) - 1, NULL);

	add_str(MYSQL_TYPE_BLOB, "Ab", "_binary'Ab'");
	add_bytes(K_BIN, MYSQL_TYPE_BLOB, "", 0, "_binary''");
	add_bytes(K_BIN, MYSQL_TYPE_TINY_BLOB, "\0\xff'\\", 4, NULL);
	add_bytes(K_BIN, MYSQL_TYPE_MEDIUM_BLOB, "\xbf\\", 2, NULL);
	add_bytes(K_BIN, MYSQL_TYPE_LONG_BLOB, "12", 2, NULL);
	add_bytes(K_BIN, MYSQL_TYPE_BLOB, big2, 3000, NULL);

	add_time(MYSQL_TYPE_DATE, false, 2024, 1, 2, 0, 0, 0, 0, "DATE'2024-01-02'");
	add_time(MYSQL_TYPE_DATE, false, 0, 0, 0, 0, 0, 0, 0, "'0000-00-00'");
	add_time(MYSQL_TYPE_DATE, false, 2024, 2, 31, 0, 0, 0, 0, NULL)->refused = true;
	add_time(MYSQL_TYPE_DATE, false, 2024, 2, 29, 0, 0, 0, 0, "DATE'2024-02-29'");
	add_time(MYSQL_TYPE_DATETIME, false, 2023, 2, 29, 1, 0, 0, 0, NULL)->refused = true;
	add_time(MYSQL_TYPE_DATE, false, 2024, 0, 31, 0, 0, 0, 0, NULL);
	add_time(MYSQL_TYPE_DATE, false, 9999, 12, 31, 0, 0, 0, 0, NULL);
	add_time(MYSQL_TYPE_DATE, false, 2024, 1, 2, 3, 4, 5, 7, "DATE'2024-01-02'");
	add_time(MYSQL_TYPE_DATE, false, 2024, 0, 0, 0, 0, 0, 0, NULL);
	add_time(MYSQL_TYPE_DATETIME, false, 2024, 1, 2, 3, 4, 5, 0, "TIMESTAMP'2024-01-02 03:04:05'");
	add_time(MYSQL_TYPE_DATETIME, false, 2024, 1, 2, 3, 4, 5, 6, "TIMESTAMP'2024-01-02 03:04:05.000006'");
	add_time(MYSQL_TYPE_DATETIME, false, 2024, 1, 2, 3, 4, 5, 500000, "TIMESTAMP'2024-01-02 03:04:05.500000'");
	add_time(MYSQL_TYPE_DATETIME, false, 2024, 1, 2, 0, 0, 0, 0, "TIMESTAMP'2024-01-02 00:00:00'");
	add_time(MYSQL_TYPE_DATETIME, false, 0, 0, 0, 0, 0, 0, 0, "'0000-00-00 00:00:00'");
	add_time(MYSQL_TYPE_DATETIME, false, 1000, 1, 1, 23, 59, 59, 999999, NULL);
	add_time(MYSQL_TYPE_TIMESTAMP, false, 1970, 12, 31, 23, 59, 59, 0, NULL);
	add_time(MYSQL_TYPE_TIMESTAMP, false, 2038, 1, 19, 3, 14, 7, 123456, NULL);
	add_time(MYSQL_TYPE_TIME, true, 0, 0, 1, 3, 4, 5, 500000, "TIME'-27:04:05.500000'");
	add_time(MYSQL_TYPE_TIME, false, 0, 0, 0, 0, 0, 0, 0, "TIME'00:00:00'");
	add_time(MYSQL_TYPE_TIME, true, 0, 0, 0, 0, 0, 0, 0, "TIME'00:00:00'");
	add_time(MYSQL_TYPE_TIME, false, 0, 0, 34, 22, 59, 59, 0, "TIME'838:59:59'");
	add_time(MYSQL_TYPE_TIME, false, 0, 0, 35, 0, 0, 0, 0, "TIME'838:59:59'");
	add_time(MYSQL_TYPE_TIME, true, 0, 0, 40, 1, 2, 3, 250000, "TIME'-838:59:59.250000'");
	add_time(MYSQL_TYPE_TIME, false, 0, 0, 0, 200, 0, 0, 0, "TIME'200:00:00'");
	add_time(MYSQL_TYPE_TIME, false, 0, 0, 0, 0, 0, 0, 1, "TIME'00:00:00.000001'");
	add_time(MYSQL_TYPE_TIME, true, 0, 0, 0, 12, 30, 0, 0, "TIME'-12:30:00'");
	add_time(MYSQL_TYPE_TIME, true, 0, 0, 0, 0, 0, 0, 500000, "TIME'-00:00:00.500000'");

	add_null(MYSQL_TYPE_NULL);
	add_null(MYSQL_TYPE_LONG);
	add_null(MYSQL_TYPE_VAR_STRING);
	add_null(MYSQL_TYPE_DATETIME);
	add_null(MYSQL_TYPE_BLOB);
}

/* Strings that matter in a gbk session: 0xbf 0x5c is one character. */
static void cases_gbk(void)
{
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "\xbf\\", 2, "'\xbf' '\\\\'");
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "\xbf\\'", 3, NULL);
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "\xbf\\\\", 3, NULL);
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "\x81\\\\'x", 5, NULL);
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "\xd6\xd0\xce\xc4", 4, NULL);
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "a\xbf\\\xbf\\b", 6, NULL);
	add_bytes(K_BIN, MYSQL_TYPE_BLOB, "\xbf\\\0", 3, NULL);
}

/* Strings that matter in utf8mb4: a backslash after a multi-byte character. */
static void cases_utf8(void)
{
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "\xc3\xa9\\", 3, nbe ? "'\xc3\xa9\\'" : "'\xc3\xa9' '\\\\'");
	add_bytes(K_TEXT, MYSQL_TYPE_VAR_STRING, "\xe2\x82\xac'\\\xf0\x9f\x98\x80", 9, NULL);
}

/* ---- running one case ------------------------------------------------------------ */

static MYSQL *conn;

static MYSQL_STMT *prepare(const char *sql, size_t len)
{
	MYSQL_STMT *st = mysql_stmt_init(conn);

	if (st == NULL)
		die("mysql_stmt_init: %s", mysql_error(conn));
	if (mysql_stmt_prepare(st, sql, (unsigned long)len) != 0) {
		printf("# prepare failed: %s\n", mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	return st;
}

/* Execute; the one column of the first row into out, or (out NULL) the
 * rows read and dropped. */
static bool execute(MYSQL_STMT *st, char *out, size_t cap)
{
	MYSQL_BIND r;
	unsigned long len = 0;
	my_bool is_null = 0;
	bool ok = true;

	if (mysql_stmt_execute(st) != 0) {
		printf("# execute failed: %s\n", mysql_stmt_error(st));
		return false;
	}
	if (mysql_stmt_field_count(st) == 0)
		return true;
	if (out == NULL) {             /* the rows are read and dropped */
		ok = mysql_stmt_store_result(st) == 0;
		if (!ok)
			printf("# result: %s\n", mysql_stmt_error(st));
		mysql_stmt_free_result(st);
		return ok;
	}
	memset(&r, 0, sizeof(r));
	r.buffer_type = MYSQL_TYPE_STRING;
	r.buffer = out;
	r.buffer_length = (unsigned long)cap - 1;
	r.length = &len;
	r.is_null = &is_null;
	if (mysql_stmt_bind_result(st, &r) != 0 || mysql_stmt_store_result(st) != 0) {
		printf("# result: %s\n", mysql_stmt_error(st));
		return false;
	}
	switch (mysql_stmt_fetch(st)) {
	case 0:
	case MYSQL_DATA_TRUNCATED:
		break;
	default:
		printf("# fetch: %s\n", mysql_stmt_error(st));
		ok = false;
	}
	if (ok)
		out[is_null ? 0 : len < cap ? len : cap - 1] = '\0';
	mysql_stmt_free_result(st);
	return ok;
}

/* The captured payload must equal our encoding (but for the statement id). */
static bool same_as_ours(const uint8_t *pl, size_t len, const MYSQL_BIND *binds, unsigned n,
			 bool send_types, const bool *long_data)
{
	struct bytes ours = { NULL, 0, 0 };
	bool same;

	encode_execute(&ours, binds, n, send_types, long_data);
	same = ours.n == len && len >= 5 && pl[0] == ours.p[0] && memcmp(pl + 5, ours.p + 5, len - 5) == 0;
	if (!same)
		printf("# our encoding (%zu bytes) differs from libmariadb's (%zu bytes)\n", ours.n, len);
	free(ours.p);
	return same;
}

/* Decode a payload; the literals (malloc'ed strings) or NULL with *why. */
static bool decode(const uint8_t *pl, size_t len, unsigned n, struct params_types *types,
		   const bool *long_data, struct params_literals *out, const char **why)
{
	return params_decode(pl, len, n, types, long_data, nbe, out, why);
}

/* The check statement of a case for literal L; *nq is the number of '?'. */
static char *check_sql(const struct tcase *c, const char *lit, unsigned *nq, bool *hex_text)
{
	static const char *const generic[] = {
		"? <=> %s", "HEX(?) <=> HEX(%s)", "CHARSET(?) <=> CHARSET(%s)",
		"COERCIBILITY(?) <=> COERCIBILITY(%s)", "COLLATION(?) <=> COLLATION(%s)",
		"CAST(? AS CHAR) <=> CAST(%s AS CHAR)",
	};
	static const char *const hexonly[] = { "? <=> %s", "HEX(?) <=> HEX(%s)" };
	const char *temporal[4];
	const char *const *parts;
	size_t nparts, i, cap, len = 0;
	char *sql;

	*hex_text = c->kind == K_TEXT && lit[0] == 'X';
	if (empty_null && (c->kind == K_TEXT || c->kind == K_BIN) && c->len == 0) {
		/* NULL in this session, both: no character set to compare */
		parts = hexonly;
		nparts = 2;
		goto build;
	}
	switch (c->kind) {
	case K_DATE:
		temporal[0] = "? <=> %s";
		temporal[1] = "CAST(? AS DATE) <=> CAST(%s AS DATE)";
		temporal[2] = "HEX(CAST(? AS DATE)) <=> HEX(CAST(%s AS DATE))";
		parts = temporal;
		nparts = 3;
		break;
	case K_DATETIME:
		temporal[0] = "? <=> %s";
		temporal[1] = "CAST(? AS DATETIME(6)) <=> CAST(%s AS DATETIME(6))";
		temporal[2] = "HEX(CAST(? AS DATETIME(6))) <=> HEX(CAST(%s AS DATETIME(6)))";
		parts = temporal;
		nparts = 3;
		break;
	case K_TIME:
		temporal[0] = "? <=> %s";
		temporal[1] = "CAST(? AS TIME(6)) <=> CAST(%s AS TIME(6))";
		temporal[2] = "HEX(CAST(? AS TIME(6))) <=> HEX(CAST(%s AS TIME(6)))";
		parts = temporal;
		nparts = 3;
		break;
	default:
		parts = *hex_text ? hexonly : generic;
		nparts = *hex_text ? 2 : sizeof(generic) / sizeof(generic[0]);
		break;
	}
	if ((c->kind == K_DATE || c->kind == K_DATETIME || c->kind == K_TIME) && lit[0] != '\'' &&
	    !(c->kind == K_TIME && c->v.t.neg && c->v.t.second_part == 0)) {
		/* a typed literal: the same number in arithmetic, with as
		   many fraction digits (a quoted zero date is not).  MariaDB
		   10.11 gives a negative TIME parameter without a fraction a
		   positive number in arithmetic (-12:30:00 + 0 is 123000,
		   while it compares equal to TIME'-12:30:00'): its own
		   inconsistency, which no literal reproduces */
		temporal[3] = "CONCAT(? + 0) <=> CONCAT(%s + 0)";
		nparts = 4;
	}
build:
	cap = 64 + nparts * (2 * strlen(lit) + 64);
	sql = malloc(cap);
	if (sql == NULL)
		die("out of memory");
	len += (size_t)snprintf(sql + len, cap - len, "SELECT CONCAT_WS(','");
	for (i = 0; i < nparts; i++) {
		/* each part names the literal twice at most; written by hand to keep
		 * bytes (NUL-free, but any others) as they are */
		const char *p = parts[i];

		sql[len++] = ',';
		sql[len++] = ' ';
		for (; *p != '\0'; p++) {
			if (p[0] == '%' && p[1] == 's') {
				memcpy(sql + len, lit, strlen(lit));
				len += strlen(lit);
				p++;
			} else {
				sql[len++] = *p;
			}
		}
	}
	len += (size_t)snprintf(sql + len, cap - len, ")");
	*nq = (unsigned)nparts;
	return sql;
}

static void run_case(struct tcase *c)
{
	struct params_types types = { 0, NULL }, types2 = { 0, NULL };
	struct params_literals out = { 0, NULL, NULL }, out2 = { 0, NULL, NULL };
	MYSQL_BIND binds[MAX_CHECK_PARAMS];
	MYSQL_STMT *st = NULL, *chk = NULL;
	const char *why = NULL;
	char got[256], sb[160], *sql = NULL, *lit = NULL;
	uint8_t *pl = NULL;
	size_t len, sqllen;
	unsigned nq = 0, i;
	bool hex_text, ok = false;

	st = prepare("SELECT ?", 8);
	if (st == NULL || mysql_stmt_bind_param(st, &c->bind) != 0) {
		result(false, "%s: bind: %s", c->name, st ? mysql_stmt_error(st) : "no statement");
		goto done;
	}
	free(last_execute(&len));      /* skip what came before */
	if (!execute(st, NULL, 0)) {
		result(false, "%s: SELECT ? failed", c->name);
		goto done;
	}
	pl = last_execute(&len);
	if (pl == NULL || !same_as_ours(pl, len, &c->bind, 1, true, NULL)) {
		result(false, "%s: payload not captured, or not as we encode it", c->name);
		goto done;
	}
	if (!decode(pl, len, 1, &types, NULL, &out, &why)) {
		result(c->refused, "%s: refused: %s", c->name, why);
		goto done;
	}
	if (c->refused) {
		result(false, "%s: accepted as %s, should be refused", c->name,
		       shown(out.lit[0], sb, sizeof(sb)));
		goto done;
	}
	lit = out.lit[0];
	if (c->want != NULL && strcmp(lit, c->want) != 0) {
		char wb[160];

		result(false, "%s: literal %s, want %s", c->name, shown(lit, sb, sizeof(sb)),
		       shown(c->want, wb, sizeof(wb)));
		goto done;
	}

	/* again, without types: decoded with the types of the first execute */
	free(pl);
	if (!execute(st, NULL, 0) || (pl = last_execute(&len)) == NULL ||
	    !same_as_ours(pl, len, &c->bind, 1, false, NULL)) {
		result(false, "%s: second execute failed or not as we encode it", c->name);
		goto done;
	}
	if (!decode(pl, len, 1, &types, NULL, &out2, &why) || strcmp(out2.lit[0], lit) != 0) {
		result(false, "%s: second execute decodes to %s", c->name, why ? why : out2.lit[0]);
		goto done;
	}
	params_literals_free(&out2);

	/* the literal against the parameter */
	sql = check_sql(c, lit, &nq, &hex_text);
	sqllen = strlen(sql);
	chk = prepare(sql, sqllen);
	if (chk == NULL) {
		result(false, "%s: check statement for %s does not prepare", c->name, shown(lit, sb, sizeof(sb)));
		goto done;
	}
	for (i = 0; i < nq; i++)
		binds[i] = c->bind;
	free(pl);
	pl = NULL;
	if (mysql_stmt_bind_param(chk, binds) != 0 || !execute(chk, got, sizeof(got))) {
		result(false, "%s: check statement failed: %s", c->name, mysql_stmt_error(chk));
		goto done;
	}
	pl = last_execute(&len);
	if (pl == NULL || !same_as_ours(pl, len, binds, nq, true, NULL) ||
	    !decode(pl, len, nq, &types2, NULL, &out2, &why)) {
		result(false, "%s: check payload: %s", c->name, why ? why : "not as we encode it");
		goto done;
	}
	for (i = 0; i < nq; i++)
		if (strcmp(out2.lit[i], lit) != 0) {
			result(false, "%s: parameter %u of %u decodes differently", c->name, i, nq);
			goto done;
		}
	ok = strspn(got, "1,") == strlen(got) && strlen(got) == 2 * nq - 1;
	result(ok, "%s: %s%s%s%s", c->name, shown(lit, sb, sizeof(sb)), ok ? "" : " compares ", ok ? "" : got,
	       hex_text ? " (hex, a binary string: charset and collation differ)" : "");
done:
	free(pl);
	free(sql);
	params_literals_free(&out);
	params_literals_free(&out2);
	params_types_free(&types);
	params_types_free(&types2);
	if (chk != NULL)
		mysql_stmt_close(chk);
	if (st != NULL)
		mysql_stmt_close(st);
}

/*
 * Every accepted value at once (the first 60), in one statement, with a
 * long-data parameter in the middle: the literals must be those of the
 * single runs.
 */
static void run_many(char **single, bool *have)
{
	MYSQL_BIND binds[64];
	bool long_data[64];
	const struct tcase *which[64];
	struct params_types types = { 0, NULL };
	struct params_literals out = { 0, NULL, NULL };
	const char *why = NULL;
	char sql[64 * 3 + 16];
	unsigned n = 0, i, ld = 0, bad = 0;
	size_t k, sl;
	MYSQL_STMT *st;
	uint8_t *pl;
	size_t len;
	static char ldbuf[4] = "ld";

	for (k = 0; k < ncases && n < 60; k++)
		if (have[k] && cases[k].len < 1000) {
			which[n] = &cases[k];
			binds[n] = cases[k].bind;
			long_data[n++] = false;
			if (n == 20) {            /* the long-data parameter */
				ld = n;
				memset(&binds[n], 0, sizeof(binds[n]));
				binds[n].buffer_type = MYSQL_TYPE_BLOB;
				binds[n].buffer = ldbuf;
				which[n] = NULL;
				long_data[n++] = true;
			}
		}
	sl = (size_t)snprintf(sql, sizeof(sql), "SELECT ?");
	for (i = 1; i < n; i++)
		sl += (size_t)snprintf(sql + sl, sizeof(sql) - sl, ",?");
	st = prepare(sql, sl);
	if (st == NULL || mysql_stmt_bind_param(st, binds) != 0 ||
	    mysql_stmt_send_long_data(st, ld, "long ", 5) != 0 ||
	    mysql_stmt_send_long_data(st, ld, "data", 4) != 0) {
		result(false, "%u parameters at once: set-up failed", n);
		if (st != NULL)
			mysql_stmt_close(st);
		return;
	}
	free(last_execute(&len));
	if (!execute(st, NULL, 0) || (pl = last_execute(&len)) == NULL) {
		result(false, "%u parameters at once: execute failed", n);
		mysql_stmt_close(st);
		return;
	}
	if (!same_as_ours(pl, len, binds, n, true, long_data))
		bad++;
	if (!decode(pl, len, n, &types, long_data, &out, &why)) {
		result(false, "%u parameters at once: %s", n, why);
	} else {
		for (i = 0; i < n; i++) {
			if (which[i] == NULL) {
				if (!out.long_data[i] || out.lit[i] != NULL)
					bad++;
				continue;
			}
			if (out.lit[i] == NULL || strcmp(out.lit[i], single[which[i] - cases]) != 0) {
				printf("# parameter %u (%s) decodes differently at once\n", i, which[i]->name);
				bad++;
			}
		}
		result(bad == 0, "%u parameters at once (NULLs, long data at %u): the literals of the single runs",
		       n, ld);
	}
	free(pl);
	params_literals_free(&out);
	params_types_free(&types);
	mysql_stmt_close(st);
}

/* ---- --decode ------------------------------------------------------------------- */

static int decode_main(int argc, char **argv)
{
	struct params_types types = { 0, NULL };
	struct params_literals out;
	const char *why = NULL, *h;
	uint8_t *pl = malloc(strlen(argv[3]) / 2 + 1);
	size_t len = 0;
	unsigned i, n = (unsigned)strtoul(argv[2], NULL, 10);

	if (pl == NULL)
		return 2;
	for (h = argv[3]; h[0] != '\0' && h[1] != '\0'; h += 2) {
		unsigned v;

		if (sscanf(h, "%2x", &v) != 1)
			return 2;
		pl[len++] = (uint8_t)v;
	}
	nbe = argc > 4 && strcmp(argv[4], "nbe") == 0;
	if (!params_decode(pl, len, n, &types, NULL, nbe, &out, &why)) {
		printf("refused %s\n", why);
	} else {
		for (i = 0; i < out.n; i++) {
			const char *s = out.lit[i];

			if (s == NULL) {
				printf("long\n");
				continue;
			}
			printf("lit ");
			for (; *s != '\0'; s++)
				printf("%02x", (uint8_t)*s);
			printf("\n");
		}
		params_literals_free(&out);
	}
	params_types_free(&types);
	free(pl);
	return 0;
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *mode;
	char **single;
	bool *have;
	size_t k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && strcmp(argv[1], "--decode") == 0)
		return decode_main(argc, argv);
	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: %s HOST PORT USER PASSWORD DB [default|nbe|gbk|empty_null]\n"
			"       %s --decode NPARAMS HEX [nbe]\n", argv[0], argv[0]);
		return 2;
	}
	mode = argc == 7 ? argv[6] : "default";
	if (strcmp(mode, "default") != 0 && strcmp(mode, "nbe") != 0 && strcmp(mode, "gbk") != 0 &&
	    strcmp(mode, "empty_null") != 0) {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	nbe = strcmp(mode, "nbe") == 0;
	empty_null = strcmp(mode, "empty_null") == 0;

	relay_start(argv[1], argv[2]);
	conn = mysql_init(NULL);
	if (conn == NULL)
		die("mysql_init");
	if (strcmp(mode, "gbk") == 0)
		mysql_options(conn, MYSQL_SET_CHARSET_NAME, "gbk");
	else
		mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(conn, "127.0.0.1", argv[3], argv[4], argv[5], (unsigned)relay.port, NULL, 0) ==
	    NULL)
		die("connect through the relay: %s", mysql_error(conn));
	if (mysql_get_ssl_cipher(conn) != NULL)
		die("the connection uses TLS: the relay cannot read the payloads");
	if (nbe && mysql_query(conn, "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')") != 0)
		die("sql_mode: %s", mysql_error(conn));
	if (empty_null &&
	    mysql_query(conn, "SET SESSION sql_mode = CONCAT(@@sql_mode, ',EMPTY_STRING_IS_NULL')") != 0)
		die("sql_mode: %s", mysql_error(conn));
	printf("# mode %s, server %s, client %s\n", mode, mysql_get_server_info(conn), mysql_get_client_info());

	cases_common();
	if (strcmp(mode, "gbk") == 0)
		cases_gbk();
	else
		cases_utf8();
	single = calloc(ncases, sizeof(*single));
	have = calloc(ncases, sizeof(*have));
	if (single == NULL || have == NULL)
		die("out of memory");
	for (k = 0; k < ncases; k++) {
		struct params_types t = { 0, NULL };
		struct params_literals out;
		const char *why;
		struct bytes b = { NULL, 0, 0 };

		run_case(&cases[k]);
		/* the single literal again, from our encoding, for run_many */
		encode_execute(&b, &cases[k].bind, 1, true, NULL);
		if (!cases[k].refused && params_decode(b.p, b.n, 1, &t, NULL, nbe, &out, &why)) {
			single[k] = strdup(out.lit[0]);
			have[k] = single[k] != NULL;
			params_literals_free(&out);
		}
		params_types_free(&t);
		free(b.p);
	}
	run_many(single, have);

	mysql_close(conn);
	pthread_join(relay.thread, NULL);
	close(relay.lfd);
	for (k = 0; k < ncases; k++) {
		free(single[k]);
		free(cases[k].str);
	}
	free(single);
	free(have);
	free(relay.cap.p);
	printf("1..%d\n", ntests);
	if (nfailed > 0)
		printf("# %d of %d failed\n", nfailed, ntests);
	return nfailed > 0 ? 1 : 0;
}
