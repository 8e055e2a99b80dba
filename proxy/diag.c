/*
 * diag.c - saved diagnostics and the answers built from them (diag.h).
 */
#include "config.h"
#include "proxy/diag.h"
#include "protocol/resultset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIAG_MAX_ITEMS 8       /* select items answered from the copy */
#define DIAG_NAME_SIZE 256     /* a column name as written */

void diag_clear(struct diag *d)
{
	unsigned i;

	for (i = 0; i < d->n; i++)
		free(d->e[i].msg);
	free(d->e);
	for (i = 0; i < 3; i++)
		free(d->coldef[i]);
	memset(d, 0, sizeof(*d));
}

uint8_t *diag_next_packet(struct evbuffer *b, size_t *len)
{
	struct pkt_writer w;
	uint8_t h[4];

	pkt_writer_init(&w);
	for (;;) {
		uint32_t flen;
		uint8_t *tmp;

		if (evbuffer_copyout(b, h, 4) != 4)
			goto fail;
		flen = pkt_hdr_len(h);
		if (evbuffer_get_length(b) < 4 + (size_t)flen)
			goto fail;
		evbuffer_drain(b, 4);
		tmp = malloc(flen ? flen : 1);
		if (tmp == NULL)
			goto fail;
		evbuffer_remove(b, tmp, flen);
		pkt_put_bytes(&w, tmp, flen);
		free(tmp);
		if (flen < PKT_MAX_PAYLOAD)
			break;
	}
	if (w.err)
		goto fail;
	if (w.buf == NULL)
		w.buf = malloc(1);
	*len = w.len;
	return w.buf;
fail:
	pkt_writer_free(&w);
	return NULL;
}

bool diag_load(struct diag *d, struct evbuffer *cap, uint32_t caps)
{
	uint8_t *p;
	size_t len;
	unsigned i;
	bool ok = false;

	diag_clear(d);
	p = diag_next_packet(cap, &len);
	/* three columns (and, with the metadata cache, "definitions follow") */
	if (p == NULL || p[0] != 3 || !(len == 1 || (len == 2 && p[1] == 1)))
		goto out;
	free(p);
	for (i = 0; i < 3; i++) {
		d->coldef[i] = diag_next_packet(cap, &d->coldef_len[i]);
		if (d->coldef[i] == NULL)
			goto out_nop;
	}
	if (!(caps & CAP_DEPRECATE_EOF)) {
		p = diag_next_packet(cap, &len);
		if (p == NULL || !pkt_is_eof(p[0], len, 0))
			goto out;
		free(p);
	}
	for (;;) {
		struct rs_value v[3];
		struct diag_entry *ne, *e;

		p = diag_next_packet(cap, &len);
		if (p == NULL || len == 0)
			goto out;
		if (pkt_is_eof(p[0], len, caps)) {
			ok = true;
			goto out;
		}
		if (p[0] == PKT_ERR || !rs_parse_text_row(p, len, 3, v) || v[0].p == NULL ||
		    v[1].p == NULL || v[2].p == NULL)
			goto out;
		ne = realloc(d->e, (d->n + 1) * sizeof(*d->e));
		if (ne == NULL)
			goto out;
		d->e = ne;
		e = &d->e[d->n];
		memset(e, 0, sizeof(*e));
		snprintf(e->level, sizeof(e->level), "%.*s", (int)v[0].len, (const char *)v[0].p);
		snprintf(e->code, sizeof(e->code), "%.*s", (int)v[1].len, (const char *)v[1].p);
		e->msg = malloc(v[2].len + 1);
		if (e->msg == NULL)
			goto out;
		memcpy(e->msg, v[2].p, v[2].len);
		e->msg[v[2].len] = '\0';
		e->msg_len = v[2].len;
		d->n++;
		free(p);
	}
out:
	free(p);
out_nop:
	evbuffer_drain(cap, evbuffer_get_length(cap));
	if (!ok)
		diag_clear(d);
	d->valid = ok;
	return ok;
}

/*
 * Normalise a statement for matching: lower case, runs of white space to
 * one space, no space next to '(' ')' ',', no trailing ';' or space.
 * Returns false when it does not fit in `out` (so is not a simple read).
 */
static bool normalise(const uint8_t *sql, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0;
	bool space = false;

	while (len > 0 && (isspace(sql[len - 1]) || sql[len - 1] == ';'))
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = sql[i];

		if (isspace(c)) {
			space = n > 0;
			continue;
		}
		if (c == '(' || c == ')' || c == ',' || c == '*')
			space = false;
		else if (space && n > 0 && (out[n - 1] == '(' || out[n - 1] == ',' || out[n - 1] == '*'))
			space = false;
		if (space) {
			if (n + 1 >= outlen)
				return false;
			out[n++] = ' ';
			space = false;
		}
		if (n + 1 >= outlen)
			return false;
		out[n++] = (char)tolower(c);
	}
	out[n] = '\0';
	return true;
}

/* Parse "" | " limit N" | " limit O,N" | " limit N offset O". */
static bool parse_limit(const char *s, unsigned long *off, unsigned long *cnt)
{
	char *end;
	unsigned long a, b;

	*off = 0;
	*cnt = (unsigned long)-1;
	if (*s == '\0')
		return true;
	if (strncmp(s, " limit ", 7) != 0)
		return false;
	s += 7;
	if (!isdigit((unsigned char)*s))
		return false;
	a = strtoul(s, &end, 10);
	if (*end == '\0') {
		*cnt = a;
		return true;
	}
	if (*end == ',') {
		if (!isdigit((unsigned char)end[1]))
			return false;
		b = strtoul(end + 1, &end, 10);
		if (*end != '\0')
			return false;
		*off = a;
		*cnt = b;
		return true;
	}
	if (strncmp(end, " offset ", 8) == 0 && isdigit((unsigned char)end[8])) {
		b = strtoul(end + 8, &end, 10);
		if (*end != '\0')
			return false;
		*off = b;
		*cnt = a;
		return true;
	}
	return false;
}

static void answer_counts(const char *const *names, const unsigned long *v, unsigned n, uint32_t caps,
			  uint32_t ext_caps, uint16_t status, uint8_t seq, struct pkt_writer *out)
{
	struct rs_builder b;
	char num[DIAG_MAX_ITEMS][24];
	const char *vals[DIAG_MAX_ITEMS];
	size_t lens[DIAG_MAX_ITEMS];

	rs_begin_ext(&b, caps, ext_caps, seq, n);
	for (unsigned i = 0; i < n; i++) {
		struct rs_column c = { names[i], MYSQL_TYPE_LONGLONG, 21, COLFLAG_UNSIGNED | COLFLAG_BINARY,
				       CHARSET_BINARY, 0 };

		rs_column(&b, &c);
		lens[i] = (size_t)snprintf(num[i], sizeof(num[i]), "%lu", v[i]);
		vals[i] = num[i];
	}
	rs_columns_done(&b, status);
	rs_row(&b, vals, lens, n);
	rs_end(&b, 0, status);
	pkt_put_bytes(out, b.out.buf, b.out.len);
	rs_free(&b);
}

static void answer_count(const char *name, unsigned long v, uint32_t caps, uint32_t ext_caps,
			 uint16_t status, uint8_t seq, struct pkt_writer *out)
{
	answer_counts(&name, &v, 1, caps, ext_caps, status, seq, out);
}

static bool is_word_char(uint8_t c)
{
	return isalnum(c) || c == '_' || c == '$';
}

/* Does sql[*i, len) start with keyword `kw` (any case) followed by a
 * character that is not part of a word?  Moves *i past it. */
static bool keyword(const uint8_t *sql, size_t len, size_t *i, const char *kw)
{
	size_t k = strlen(kw);

	if (len - *i < k || strncasecmp((const char *)sql + *i, kw, k) != 0 ||
	    (*i + k < len && is_word_char(sql[*i + k])))
		return false;
	*i += k;
	return true;
}

static void skip_space(const uint8_t *sql, size_t len, size_t *i)
{
	while (*i < len && isspace(sql[*i]))
		(*i)++;
}

/*
 * An alias at sql[*i]: `quoted` (`` for `), 'string' or "string" without
 * escapes or doubled quotes, or a bare word that is not a keyword that could
 * follow a select item.  Its text into name.  False when it is none of
 * these (the statement goes to the server).
 */
static bool alias(const uint8_t *sql, size_t len, size_t *i, char *name, size_t cap)
{
	static const char *const follow[] = {
		"from", "where", "limit", "into", "union", "for", "lock", "order", "group", "having",
		"procedure", "window", "intersect", "except", "as", "returning", "offset", "fetch",
	};
	size_t n = 0;

	if (*i >= len)
		return false;
	if (sql[*i] == '`' || sql[*i] == '\'' || sql[*i] == '"') {
		uint8_t q = sql[(*i)++];

		for (;;) {
			if (*i >= len)
				return false;
			if (sql[*i] == q) {
				if (q == '`' && *i + 1 < len && sql[*i + 1] == '`') {
					*i += 1;        /* `` is one ` */
				} else {
					(*i)++;
					break;
				}
			} else if (sql[*i] == '\\' && q != '`') {
				return false;
			}
			if (n + 1 >= cap)
				return false;
			name[n++] = (char)sql[(*i)++];
		}
		name[n] = '\0';
		return n > 0;
	}
	if (!is_word_char(sql[*i]))
		return false;
	for (size_t k = 0; k < sizeof(follow) / sizeof(follow[0]); k++) {
		size_t j = *i;

		if (keyword(sql, len, &j, follow[k]))
			return false;
	}
	while (*i < len && is_word_char(sql[*i])) {
		if (n + 1 >= cap)
			return false;
		name[n++] = (char)sql[(*i)++];
	}
	name[n] = '\0';
	return true;
}

/*
 * SELECT item [, item ...] where each item is @@[session.|local.]
 * warning_count or error_count with an optional [AS] alias, and nothing
 * after but white space and ';'.  The columns are named as the server
 * names them: the alias, or the item as written.  False when the statement
 * is anything else.
 */
static bool parse_count_select(const uint8_t *sql, size_t len, char names[][DIAG_NAME_SIZE], bool *is_warning,
			       unsigned *n)
{
	size_t i = 0;

	*n = 0;
	skip_space(sql, len, &i);
	if (!keyword(sql, len, &i, "select"))
		return false;
	for (;;) {
		size_t start, k;
		char var[64];

		skip_space(sql, len, &i);
		if (*n == DIAG_MAX_ITEMS || len - i < 2 || sql[i] != '@' || sql[i + 1] != '@')
			return false;
		start = i;
		i += 2;
		while (i < len && (is_word_char(sql[i]) || sql[i] == '.'))
			i++;
		if (i - start >= DIAG_NAME_SIZE || i - start - 2 >= sizeof(var))
			return false;
		for (k = 0; k < i - start - 2; k++)
			var[k] = (char)tolower(sql[start + 2 + k]);
		var[k] = '\0';
		memcpy(names[*n], sql + start, i - start);
		names[*n][i - start] = '\0';
		{
			const char *v = var;

			if (strncmp(v, "session.", 8) == 0)
				v += 8;
			else if (strncmp(v, "local.", 6) == 0)
				v += 6;
			if (strcmp(v, "warning_count") == 0)
				is_warning[*n] = true;
			else if (strcmp(v, "error_count") == 0)
				is_warning[*n] = false;
			else
				return false;
		}
		skip_space(sql, len, &i);
		if (keyword(sql, len, &i, "as")) {
			skip_space(sql, len, &i);
			if (!alias(sql, len, &i, names[*n], DIAG_NAME_SIZE))
				return false;
		} else if (i < len && sql[i] != ',' && sql[i] != ';') {
			if (!alias(sql, len, &i, names[*n], DIAG_NAME_SIZE))
				return false;
		}
		(*n)++;
		skip_space(sql, len, &i);
		if (i < len && sql[i] == ',') {
			i++;
			continue;
		}
		while (i < len && (isspace(sql[i]) || sql[i] == ';'))
			i++;
		return i == len;
	}
}

bool diag_answer(const struct diag *d, const uint8_t *sql, size_t len, uint32_t caps,
		 uint32_t ext_caps, uint16_t status, uint8_t seq, struct pkt_writer *out)
{
	char q[128];
	const char *rest;
	bool errors_only;
	unsigned long off, cnt, i, seen = 0, nerr = 0;
	struct rs_builder b;

	if (!d->valid || len >= sizeof(q) || !normalise(sql, len, q, sizeof(q)))
		return false;
	status &= (uint16_t)~SERVER_MORE_RESULTS_EXISTS;
	for (i = 0; i < d->n; i++)
		if (strcmp(d->e[i].level, "Error") == 0)
			nerr++;
	if (strcmp(q, "show count(*) warnings") == 0) {
		answer_count("@@session.warning_count", d->n, caps, ext_caps, status, seq, out);
		return true;
	}
	if (strcmp(q, "show count(*) errors") == 0) {
		answer_count("@@session.error_count", nerr, caps, ext_caps, status, seq, out);
		return true;
	}
	{
		char names[DIAG_MAX_ITEMS][DIAG_NAME_SIZE];
		const char *np[DIAG_MAX_ITEMS];
		unsigned long v[DIAG_MAX_ITEMS];
		bool warning[DIAG_MAX_ITEMS];
		unsigned n;

		if (parse_count_select(sql, len, names, warning, &n)) {
			for (i = 0; i < n; i++) {
				np[i] = names[i];
				v[i] = warning[i] ? d->n : nerr;
			}
			answer_counts(np, v, n, caps, ext_caps, status, seq, out);
			return true;
		}
	}
	if (strncmp(q, "show warnings", 13) == 0) {
		rest = q + 13;
		errors_only = false;
	} else if (strncmp(q, "show errors", 11) == 0) {
		rest = q + 11;
		errors_only = true;
	} else {
		return false;
	}
	if (!parse_limit(rest, &off, &cnt))
		return false;
	rs_begin_ext(&b, caps, ext_caps, seq, 3);
	for (i = 0; i < 3; i++)
		rs_column_raw(&b, d->coldef[i], d->coldef_len[i]);
	rs_columns_done(&b, status);
	for (i = 0; i < d->n; i++) {
		const struct diag_entry *e = &d->e[i];
		const char *vals[3] = { e->level, e->code, e->msg };
		size_t lens[3] = { strlen(e->level), strlen(e->code), e->msg_len };

		if (errors_only && strcmp(e->level, "Error") != 0)
			continue;
		if (seen++ < off)
			continue;
		if (seen - off > cnt)
			break;
		rs_row(&b, vals, lens, 3);
	}
	rs_end(&b, 0, status);
	pkt_put_bytes(out, b.out.buf, b.out.len);
	rs_free(&b);
	return true;
}

bool diag_is_read(const uint8_t *sql, size_t len)
{
	static const char *const prefixes[] = {
		"show warnings", "show errors", "show count(*)", "get diagnostics",
		"get current diagnostics", "select @@warning_count", "select @@error_count",
		"select @@session.warning_count", "select @@session.error_count",
		"select @@local.warning_count", "select @@local.error_count",
	};
	char q[256];
	size_t i;

	if (!normalise(sql, len < sizeof(q) - 1 ? len : sizeof(q) - 2, q, sizeof(q)))
		return false;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(q, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return strstr(q, "row_count(") != NULL || strstr(q, "found_rows(") != NULL;
}
