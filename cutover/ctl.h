/*
 * ctl.h - control connections: blocking libmysqlclient (MariaDB Connector/C)
 * sessions of the `[cutover] user`, for DDL, the backfill, verification and
 * the deploy catalog.  Only worker threads (and start-up, before the event
 * loop runs) use them: every call here may block.
 *
 * Every session is set up the same way: strict sql_mode (a copy never
 * truncates silently), time_zone '+00:00' (TIMESTAMP values copy without a
 * daylight-saving fold), utf8mb4, autocommit on.
 *
 * Statements are built with ctl_fmt(): printf plus two conversions of our
 * own, applied before printf sees the format:
 *   %I  an identifier (const char *), quoted with backticks;
 *   %Q  a string (const char *), quoted and escaped as a literal.
 */
#ifndef CUTOVER_CTL_H
#define CUTOVER_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <mysql.h>

#include "conf/conf.h"

/* Where control connections go; copied from the configuration. */
struct ctl_params {
	char *host;
	int port;
	char *user;
	char *password;
	int connect_timeout_ms;
	enum tls_backend_mode tls;
	char *tls_ca;
};

bool ctl_params_from_conf(struct ctl_params *p, const struct conf *c) WARN_UNUSED;
void ctl_params_free(struct ctl_params *p);

struct ctl {
	MYSQL *my;
	bool mariadb;              /* the server is MariaDB (else MySQL) */
	unsigned err;              /* server error code of the last failure, or 0 */
	char error[512];           /* its message */
};

/*
 * A worker thread that used control connections calls this before it ends:
 * the client library and OpenSSL keep state per thread.
 */
void ctl_thread_end(void);

/* Connect and set the session up.  On failure c->error says why. */
bool ctl_connect(struct ctl *c, const struct ctl_params *p) WARN_UNUSED;
void ctl_close(struct ctl *c);

/*
 * Run one statement (ctl_fmt format) and discard any result.  On failure
 * c->err / c->error hold the server's error (or the client library's).
 */
bool ctl_exec(struct ctl *c, const char *fmt, ...) WARN_UNUSED;

/*
 * Run one statement and return its whole result in *res (the caller frees
 * it with mysql_free_result).  A statement without a result set fails.
 */
bool ctl_query(struct ctl *c, MYSQL_RES **res, const char *fmt, ...) WARN_UNUSED;

/*
 * Run a query whose first row's first column is an unsigned integer.
 * No row, or NULL: *v = 0 and *found = false (found may be NULL).
 */
bool ctl_u64(struct ctl *c, uint64_t *v, bool *found, const char *fmt, ...) WARN_UNUSED;

/*
 * The statement text.  The format knows only these conversions: %s (a
 * string, copied as is), %d, %u, %lld, %llu, %I (identifier), %Q (string
 * literal), %%.  Returns a malloc'ed string, or NULL when memory runs out
 * or the format holds anything else (a bug).
 */
char *ctl_fmt(const char *fmt, ...);
char *ctl_vfmt(const char *fmt, va_list ap);

/* Append an identifier quoted with backticks / a string literal to a stream. */
void ctl_put_ident(FILE *f, const char *name);
void ctl_put_string(FILE *f, const char *s, size_t n);

#endif
