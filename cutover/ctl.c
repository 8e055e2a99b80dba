/*
 * ctl.c - control connections (see ctl.h): connect, run, format.
 */
#include "config.h"
#include "cutover/ctl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

bool ctl_params_from_conf(struct ctl_params *p, const struct conf *c)
{
	memset(p, 0, sizeof(*p));
	p->host = dup_or_empty(c->backend_host);
	p->port = c->backend_port;
	p->user = dup_or_empty(c->cutover_user);
	p->password = dup_or_empty(c->cutover_password);
	p->connect_timeout_ms = c->backend_connect_timeout_ms;
	p->tls = c->backend_tls;
	p->tls_ca = dup_or_empty(c->backend_tls_ca);
	if (p->host == NULL || p->user == NULL || p->password == NULL || p->tls_ca == NULL) {
		ctl_params_free(p);
		return false;
	}
	return true;
}

void ctl_params_free(struct ctl_params *p)
{
	free(p->host);
	free(p->user);
	free(p->password);
	free(p->tls_ca);
	memset(p, 0, sizeof(*p));
}

static void set_error(struct ctl *c)
{
	c->err = mysql_errno(c->my);
	snprintf(c->error, sizeof(c->error), "%s", mysql_error(c->my));
}

void ctl_thread_end(void)
{
	mysql_thread_end();
	OPENSSL_thread_stop();
}

bool ctl_connect(struct ctl *c, const struct ctl_params *p)
{
	unsigned int timeout = (unsigned)(p->connect_timeout_ms + 999) / 1000;
	unsigned int rw_timeout = 0;
	my_bool on = 1, off = 0;

	memset(c, 0, sizeof(*c));
	c->my = mysql_init(NULL);
	if (c->my == NULL) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		return false;
	}
	if (timeout == 0)
		timeout = 1;
	mysql_options(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	(void)rw_timeout;
	mysql_options(c->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(c->my, MYSQL_OPT_LOCAL_INFILE, &off);
	switch (p->tls) {
	case TLS_BACKEND_DISABLED:
		break;
	case TLS_BACKEND_PREFERRED:
		mysql_ssl_set(c->my, NULL, NULL, NULL, NULL, NULL);
		break;
	case TLS_BACKEND_REQUIRED:
		mysql_options(c->my, MYSQL_OPT_SSL_ENFORCE, &on);
		mysql_options(c->my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off);
		break;
	case TLS_BACKEND_VERIFY_CA:
	case TLS_BACKEND_VERIFY_IDENTITY:
		mysql_options(c->my, MYSQL_OPT_SSL_ENFORCE, &on);
		if (p->tls_ca[0] != '\0')
			mysql_options(c->my, MYSQL_OPT_SSL_CA, p->tls_ca);
		mysql_options(c->my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
		break;
	}
	if (mysql_real_connect(c->my, p->host, p->user, p->password, NULL, (unsigned)p->port, NULL,
			       CLIENT_FOUND_ROWS) == NULL) {
		set_error(c);
		mysql_close(c->my);
		c->my = NULL;
		return false;
	}
	c->mariadb = strstr(mysql_get_server_info(c->my), "MariaDB") != NULL;
	if (!ctl_exec(c, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', "
			 "time_zone = '+00:00', autocommit = 1")) {
		mysql_close(c->my);
		c->my = NULL;
		return false;
	}
	return true;
}

void ctl_close(struct ctl *c)
{
	if (c->my != NULL)
		mysql_close(c->my);
	c->my = NULL;
}

void ctl_put_ident(FILE *f, const char *name)
{
	fputc('`', f);
	for (; *name != '\0'; name++) {
		if (*name == '`')
			fputc('`', f);
		fputc(*name, f);
	}
	fputc('`', f);
}

void ctl_put_string(FILE *f, const char *s, size_t n)
{
	fputc('\'', f);
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\'':
			fputs("''", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\0':
			fputs("\\0", f);
			break;
		default:
			fputc(s[i], f);
		}
	}
	fputc('\'', f);
}

char *ctl_vfmt(const char *fmt, va_list ap)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	bool bad = false;
	const char *p;

	if (f == NULL)
		return NULL;
	for (p = fmt; *p != '\0' && !bad; p++) {
		if (*p != '%') {
			fputc(*p, f);
			continue;
		}
		p++;
		if (*p == 's') {
			fputs(va_arg(ap, const char *), f);
		} else if (*p == 'd') {
			fprintf(f, "%d", va_arg(ap, int));
		} else if (*p == 'u') {
			fprintf(f, "%u", va_arg(ap, unsigned));
		} else if (strncmp(p, "lld", 3) == 0) {
			fprintf(f, "%lld", va_arg(ap, long long));
			p += 2;
		} else if (strncmp(p, "llu", 3) == 0) {
			fprintf(f, "%llu", va_arg(ap, unsigned long long));
			p += 2;
		} else if (*p == 'I') {
			ctl_put_ident(f, va_arg(ap, const char *));
		} else if (*p == 'Q') {
			const char *s = va_arg(ap, const char *);

			ctl_put_string(f, s, strlen(s));
		} else if (*p == '%') {
			fputc('%', f);
		} else {
			bad = true;
		}
	}
	if (fclose(f) != 0 || bad) {
		free(out);
		return NULL;
	}
	return out;
}

char *ctl_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = ctl_vfmt(fmt, ap);
	va_end(ap);
	return s;
}

/* Send sql; on failure fill c->err/error. */
static bool run(struct ctl *c, const char *sql)
{
	if (sql == NULL) {
		c->err = 0;
		snprintf(c->error, sizeof(c->error), "out of memory building a statement");
		return false;
	}
	if (mysql_real_query(c->my, sql, strlen(sql)) != 0) {
		set_error(c);
		return false;
	}
	c->err = 0;
	c->error[0] = '\0';
	return true;
}

bool ctl_exec(struct ctl *c, const char *fmt, ...)
{
	va_list ap;
	char *sql;
	bool ok;
	MYSQL_RES *res;

	va_start(ap, fmt);
	sql = ctl_vfmt(fmt, ap);
	va_end(ap);
	ok = run(c, sql);
	free(sql);
	if (!ok)
		return false;
	res = mysql_store_result(c->my);
	if (res != NULL)
		mysql_free_result(res);
	else if (mysql_field_count(c->my) != 0) {
		set_error(c);
		return false;
	}
	return true;
}

static bool vquery(struct ctl *c, MYSQL_RES **res, const char *fmt, va_list ap)
{
	char *sql = ctl_vfmt(fmt, ap);
	bool ok = run(c, sql);

	free(sql);
	*res = NULL;
	if (!ok)
		return false;
	*res = mysql_store_result(c->my);
	if (*res == NULL) {
		if (mysql_field_count(c->my) != 0)
			set_error(c);
		else
			snprintf(c->error, sizeof(c->error), "statement returned no result set");
		return false;
	}
	return true;
}

bool ctl_query(struct ctl *c, MYSQL_RES **res, const char *fmt, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	ok = vquery(c, res, fmt, ap);
	va_end(ap);
	return ok;
}

bool ctl_u64(struct ctl *c, uint64_t *v, bool *found, const char *fmt, ...)
{
	va_list ap;
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool ok;

	*v = 0;
	if (found != NULL)
		*found = false;
	va_start(ap, fmt);
	ok = vquery(c, &res, fmt, ap);
	va_end(ap);
	if (!ok)
		return false;
	row = mysql_fetch_row(res);
	if (row != NULL && row[0] != NULL) {
		*v = strtoull(row[0], NULL, 10);
		if (found != NULL)
			*found = true;
	}
	mysql_free_result(res);
	return true;
}
