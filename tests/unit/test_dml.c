/*
 * test_dml.c - unit test of the DML clause parser (protocol/dml.c).
 *
 * Each case is a statement, a dialect and the one line render() writes for
 * what dml_parse() found: every span appears as the text it covers
 * ("where=[b > 5]"), so a wrong offset shows as wrong text.  A case whose
 * expected line starts with "!" must be refused with a reason that holds
 * the rest of the line.  Then: multi-statement input (each statement
 * parsed by its own sql_stmt), placeholder offsets, the statement span,
 * executable comments, a 100,000-row INSERT against the clock, every
 * prefix of every case in every dialect, and random bytes and token soup.
 * Every result, also of a refused statement, must keep the structural
 * invariants (spans inside the statement and in order, placeholders
 * pointing at '?', counts in range).  Inputs are copied into malloc'd
 * buffers of exactly their length, so an ASan build catches any read past
 * the end.
 */
#include "protocol/dml.h"
#include "protocol/lexer.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- helpers ------------------------------------------------------------------ */

/* A malloc'd copy of exactly n bytes (one byte when n is 0). */
static char *dup_text(const char *s, size_t n)
{
	char *b = malloc(n ? n : 1);

	if (b == NULL) {
		perror("malloc");
		exit(2);
	}
	if (n)
		memcpy(b, s, n);
	return b;
}

/* sql for a one-line message: control bytes as \xNN, at most 200 bytes. */
static const char *show(const char *sql, size_t len)
{
	static char buf[200 * 4 + 4];
	size_t o = 0;

	for (size_t i = 0; i < len && i < 200; i++) {
		unsigned char c = (unsigned char)sql[i];
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	strcpy(buf + o, len > 200 ? "..." : "");
	return buf;
}

/* Does the span cover exactly the text `want` (NULL: is it absent)? */
static bool span_is(const char *sql, struct dml_span sp, const char *want)
{
	if (want == NULL)
		return !sp.present;
	return sp.present && sp.end - sp.start == strlen(want) &&
	       memcmp(sql + sp.start, want, sp.end - sp.start) == 0;
}

struct buf {
	char s[4096];
	size_t n;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->n >= sizeof(b->s) - 1)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += (size_t)r < sizeof(b->s) - b->n ? (size_t)r : sizeof(b->s) - 1 - b->n;
}

/* " key=[text]" for a present span. */
static void put_span(struct buf *b, const char *key, const char *sql, struct dml_span sp)
{
	if (sp.present)
		put(b, " %s=[%.*s]", key, (int)(sp.end - sp.start), sql + sp.start);
}

static void put_value(struct buf *b, const char *sql, const struct dml_value *v)
{
	static const char kinds[] = { [DV_NUMBER] = 'N', [DV_STRING] = 'S', [DV_NULL] = 'Z',
				      [DV_DEFAULT] = 'D', [DV_PLACEHOLDER] = 'P', [DV_EXPR] = 'E' };

	if (v->kind == DV_PLACEHOLDER)
		put(b, "P%u:", v->param);
	else
		put(b, "%c:", (unsigned)v->kind < sizeof(kinds) ? kinds[v->kind] : '?');
	put(b, "%.*s", (int)(v->span.end - v->span.start), sql + v->span.start);
}

/* The result as one line. */
static const char *render(const char *sql, const struct dml *m)
{
	static struct buf b;

	b.n = 0;
	b.s[0] = '\0';
	if (!m->ok) {
		put(&b, "! %s", m->why ? m->why : "(no reason)");
		return b.s;
	}
	put(&b, "%s", sql_kind_name(m->kind));
	if (m->ignore)
		put(&b, " ignore");
	if (m->returning)
		put(&b, " returning");
	if (m->multi_table)
		put(&b, " multi");
	if (m->partition)
		put(&b, " partition");
	if (m->kind == SQL_INSERT || m->kind == SQL_REPLACE) {
		put(&b, " into=%s%s%s", m->into.db, m->into.db[0] ? "." : "", m->into.name);
		if (m->ncolumns > 0 && m->source != DML_SRC_SET) {
			put(&b, " cols=");
			for (unsigned i = 0; i < m->ncolumns; i++)
				put(&b, "%s%s", i ? "," : "", m->columns[i]);
		}
		if (m->source == DML_SRC_VALUES) {
			put(&b, " values=");
			for (unsigned r = 0; r < m->nrows; r++) {
				put(&b, "(");
				for (unsigned i = 0; i < m->nvalues; i++) {
					put(&b, "%s", i ? " " : "");
					put_value(&b, sql, &m->values[(size_t)r * m->nvalues + i]);
				}
				put(&b, ")");
			}
		} else if (m->source == DML_SRC_SET) {
			put(&b, " set=[");
			for (unsigned i = 0; i < m->nassign; i++) {
				put(&b, "%s%s%s%s=", i ? "; " : "", m->assign[i].qualifier,
				    m->assign[i].qualifier[0] ? "." : "", m->assign[i].column);
				put_value(&b, sql, &m->values[i]);
			}
			put(&b, "]");
		}
		put_span(&b, "select", sql, m->select);
		put_span(&b, "alias", sql, m->row_alias);
		put_span(&b, "odku", sql, m->odku);
		put_span(&b, "ret", sql, m->returning_list);
	} else if (m->kind == SQL_LOAD_DATA) {
		if (m->load_local)
			put(&b, " local");
		if (m->load_replace)
			put(&b, " replace");
		put(&b, " into=%s%s%s", m->into.db, m->into.db[0] ? "." : "", m->into.name);
		if (m->load_columns) {
			put(&b, " cols=(");
			for (unsigned i = 0; i < m->ncolumns; i++)
				put(&b, "%s%s", i ? "," : "", m->columns[i]);
			put(&b, ")");
		}
		if (m->nassign > 0) {
			put(&b, " set=[");
			for (unsigned i = 0; i < m->nassign; i++) {
				const struct dml_assign *a = &m->assign[i];
				put(&b, "%s%s=%.*s", i ? "; " : "", a->column, (int)(a->value.end - a->value.start),
				    sql + a->value.start);
			}
			put(&b, "]");
		}
	} else {
		put_span(&b, "refs", sql, m->table_refs);
		put(&b, " t=[");
		for (unsigned i = 0; i < m->ntablerefs; i++) {
			const struct dml_tableref *r = &m->tablerefs[i];
			put(&b, "%s%s%s%s%s%s", i ? ", " : "", r->table.db, r->table.db[0] ? "." : "",
			    r->table.name[0] ? r->table.name : "()", r->alias[0] ? " " : "", r->alias);
		}
		put(&b, "]");
		if (m->kind == SQL_DELETE) {
			put(&b, " del=");
			for (unsigned i = 0; i < m->ntargets; i++)
				put(&b, "%s%s%s%s", i ? "," : "", m->target_dbs[i],
				    m->target_dbs[i][0] ? "." : "", m->targets[i]);
		}
		if (m->nassign > 0) {
			put(&b, " set=[");
			for (unsigned i = 0; i < m->nassign; i++) {
				const struct dml_assign *a = &m->assign[i];
				put(&b, "%s%s%s%s=%.*s", i ? "; " : "", a->qualifier, a->qualifier[0] ? "." : "",
				    a->column, (int)(a->value.end - a->value.start), sql + a->value.start);
			}
			put(&b, "]");
		}
		put_span(&b, "where", sql, m->where);
		put_span(&b, "order", sql, m->order_by);
		put_span(&b, "limit", sql, m->limit);
		put_span(&b, "ret", sql, m->returning_list);
		if (m->tail == m->stmt.end) {
			put(&b, " tail=$");
		} else {
			size_t e = m->tail;
			while (e < m->stmt.end && sql[e] != ' ' && e - m->tail < 12)
				e++;
			put(&b, " tail=@%.*s", (int)(e - m->tail), sql + m->tail);
		}
	}
	if (m->nparams > 0)
		put(&b, " ?=%u", m->nparams);
	return b.s;
}

/*
 * Structural invariants every result must keep, whatever the input.
 * Returns false (and says why) when one is broken.
 */
static bool span_ok(const struct sql_stmt *st, const struct dml *m, struct dml_span sp,
		    const char *what)
{
	if (!sp.present)
		return true;
	if (sp.start > sp.end || sp.start < st->start || sp.end > st->end) {
		diag("%s: span %zu..%zu outside the statement %zu..%zu", what, sp.start, sp.end,
		     st->start, st->end);
		return false;
	}
	if (m->ok && (sp.start >= sp.end || sp.start < m->stmt.start || sp.end > m->stmt.end)) {
		diag("%s: span %zu..%zu empty or outside stmt %zu..%zu", what, sp.start, sp.end,
		     m->stmt.start, m->stmt.end);
		return false;
	}
	return true;
}

/*
 * A span is valid text on its own: lexed alone with "\n?" after it, it is
 * one statement with its own placeholders and that one more.  A span that
 * cut a string, a quoted name or a comment open would swallow the '?'.
 */
static bool span_alone(const char *sql, const struct dml *m, struct dml_span sp,
		       const struct sql_dialect *d)
{
	struct sql_stmt st[2];
	size_t n = sp.end - sp.start, count;
	unsigned inside = 0;
	char *b;

	if (!sp.present)
		return true;
	for (unsigned i = 0; i < m->nparams; i++)
		inside += m->params[i] >= sp.start && m->params[i] < sp.end;
	b = malloc(n + 2);
	if (b == NULL)
		exit(2);
	memcpy(b, sql + sp.start, n);
	memcpy(b + n, "\n?", 2);
	count = sql_parse_dialect(b, n + 2, st, 2, d);
	free(b);
	if (count != 1 || st[0].nplaceholders != inside + 1) {
		diag("span %zu..%zu is not valid text alone: %zu statements, %u placeholders (%u)",
		     sp.start, sp.end, count, count ? st[0].nplaceholders : 0, inside);
		return false;
	}
	return true;
}

static bool terminated(const char *name)
{
	return memchr(name, '\0', SQL_NAME_SIZE) != NULL;
}

static bool invariants(const char *sql, const struct sql_stmt *st, const struct dml *m,
		       const struct sql_dialect *d)
{
	const struct dml_span spans[] = { m->stmt, m->table_refs, m->where, m->order_by, m->limit,
					  m->odku, m->select, m->row_alias, m->returning_list };
	static const char *const names[] = { "stmt", "table_refs", "where", "order_by", "limit",
					     "odku", "select", "row_alias", "returning_list" };
	size_t nv = (size_t)m->nrows * m->nvalues;

	if (m->ok != (m->why == NULL)) {
		diag("ok %d with why %s", m->ok, m->why ? m->why : "NULL");
		return false;
	}
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
		if (!span_ok(st, m, spans[i], names[i]))
			return false;
	if (m->ntablerefs > DML_MAX_TABLEREFS || m->ntargets > DML_MAX_TABLEREFS ||
	    m->ncolumns > DML_MAX_COLUMNS || m->nassign > DML_MAX_COLUMNS ||
	    m->nvalues > DML_MAX_COLUMNS) {
		diag("counts out of range");
		return false;
	}
	for (unsigned i = 0; i < m->ntablerefs; i++)
		if (!terminated(m->tablerefs[i].table.db) || !terminated(m->tablerefs[i].table.name) ||
		    !terminated(m->tablerefs[i].alias))
			return false;
	for (unsigned i = 0; i < m->ntargets; i++)
		if (!terminated(m->targets[i]) || !terminated(m->target_dbs[i]) || !m->targets[i][0])
			return false;
	for (unsigned i = 0; i < m->ncolumns; i++)
		if (!terminated(m->columns[i]) || !m->columns[i][0])
			return false;
	for (unsigned i = 0; i < m->nparams; i++) {
		if (m->params[i] < st->start || m->params[i] >= st->end || sql[m->params[i]] != '?' ||
		    (i > 0 && m->params[i] <= m->params[i - 1])) {
			diag("placeholder %u at %zu", i, m->params[i]);
			return false;
		}
	}
	for (unsigned i = 0; i < m->nassign; i++) {
		if (!terminated(m->assign[i].qualifier) || !terminated(m->assign[i].column) ||
		    !span_ok(st, m, m->assign[i].value, "assign"))
			return false;
		if (m->ok && (!m->assign[i].value.present ||
			      (i > 0 && m->assign[i].value.start < m->assign[i - 1].value.end)))
			return false;
	}
	if (!m->ok)
		return true;
	/* what only a success promises */
	if (!m->stmt.present || m->tail < m->stmt.start || m->tail > m->stmt.end)
		return false;
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
		if (!span_alone(sql, m, spans[i], d))
			return false;
	for (unsigned i = 0; i < m->nassign; i++)
		if (!span_alone(sql, m, m->assign[i].value, d))
			return false;
	for (size_t i = 0; i < nv; i++)
		if (!span_alone(sql, m, m->values[i].span, d))
			return false;
	for (size_t i = 0; i < nv; i++) {
		const struct dml_value *v = &m->values[i];
		if (!span_ok(st, m, v->span, "value") || !v->span.present ||
		    (i > 0 && v->span.start < m->values[i - 1].span.end)) {
			diag("value %zu", i);
			return false;
		}
		if (v->kind == DV_PLACEHOLDER &&
		    (v->param >= m->nparams || m->params[v->param] != v->span.start)) {
			diag("value %zu: placeholder %u", i, v->param);
			return false;
		}
	}
	if (m->nparams != st->nplaceholders) {
		diag("%u placeholders, the lexer counted %u", m->nparams, st->nplaceholders);
		return false;
	}
	switch (m->kind) {
	case SQL_INSERT:
	case SQL_REPLACE:
		if (m->source == DML_SRC_NONE || m->table_refs.present || m->where.present ||
		    m->tail != m->stmt.end || m->into.name[0] == '\0')
			return false;
		if (m->source == DML_SRC_VALUES && m->nrows == 0)
			return false;
		if (m->source == DML_SRC_SET &&
		    (m->nrows != 1 || m->nvalues != m->nassign || m->ncolumns != m->nassign))
			return false;
		if (m->source == DML_SRC_SELECT && (!m->select.present || nv != 0))
			return false;
		if (m->odku.present && m->returning_list.present &&
		    m->odku.end > m->returning_list.start)
			return false;
		break;
	case SQL_UPDATE:
	case SQL_DELETE:
		if (!m->table_refs.present || m->ntablerefs == 0 || m->source != DML_SRC_NONE)
			return false;
		if (m->kind == SQL_UPDATE && (m->nassign == 0 || m->ntargets != 0))
			return false;
		if (m->kind == SQL_DELETE && (m->ntargets == 0 || m->nassign != 0))
			return false;
		if (m->where.present && (m->where.start < m->table_refs.end || m->where.end > m->tail))
			return false;
		if (m->order_by.present && m->order_by.start <= m->tail)
			return false;
		if (m->limit.present && (m->limit.start <= m->tail ||
					 (m->order_by.present && m->limit.start < m->order_by.end)))
			return false;
		if (m->returning_list.present && m->returning_list.start <= m->tail)
			return false;
		if (m->multi_table != (m->ntablerefs > 1) && m->kind == SQL_UPDATE)
			return false;
		break;
	case SQL_LOAD_DATA:
		if (m->into.name[0] == '\0' || m->source != DML_SRC_NONE || m->table_refs.present ||
		    m->where.present || m->tail != m->stmt.end || (!m->load_columns && m->ncolumns > 0) ||
		    (m->load_replace && m->ignore))
			return false;
		break;
	default:
		return false;
	}
	return true;
}

/* --- dialects ------------------------------------------------------------------ */

static const struct sql_dialect d_unknown;
static const struct sql_dialect d_mysql = { .double_quotes = SQL_QUOTES_STRING,
	.flavor = SQL_FLAVOR_MYSQL, .version = 80036 };
static const struct sql_dialect d_maria = { .double_quotes = SQL_QUOTES_STRING,
	.flavor = SQL_FLAVOR_MARIADB, .version = 101106 };
static const struct sql_dialect d_ansi = { .double_quotes = SQL_QUOTES_IDENT,
	.flavor = SQL_FLAVOR_MARIADB, .version = 110402 };
static const struct sql_dialect d_nbe = { .no_backslash_escapes = true,
	.double_quotes = SQL_QUOTES_STRING, .flavor = SQL_FLAVOR_MARIADB, .version = 101106 };
static const struct sql_dialect *const dialects[] = {
	&d_unknown, &d_mysql, &d_maria, &d_ansi, &d_nbe,
};

#define MAXSTMT 16

/*
 * Split sql[0, len) (from an exact-size copy) in dialect d and parse
 * statement `which` with dml_parse(); check the invariants of every DML
 * statement of the input.  Returns render() of statement `which` (or
 * "no statement N").
 */
static const char *run(const char *sql, size_t len, const struct sql_dialect *d, size_t which,
		       bool *with_cte)
{
	static char line[4096];
	struct sql_stmt st[MAXSTMT];
	char *b = dup_text(sql, len);
	size_t n = sql_parse_dialect(b, len, st, MAXSTMT, d);

	snprintf(line, sizeof(line), "no statement %zu", which);
	for (size_t i = 0; i < n && i < MAXSTMT; i++) {
		struct dml m;
		bool ok = dml_parse(b, &st[i], d, &m);

		if (ok != m.ok || !invariants(b, &st[i], &m, d))
			check(false, "invariants of statement %zu of \"%s\"", i, show(sql, len));
		if (i == which) {
			snprintf(line, sizeof(line), "%s", render(b, &m));
			if (with_cte)
				*with_cte = m.with_cte;
		}
		dml_free(&m);
	}
	free(b);
	return line;
}

/* --- the cases ------------------------------------------------------------------ */

struct tcase {
	const struct sql_dialect *d;
	const char *sql;
	const char *want;
	size_t len;             /* 0: strlen(sql); else the length (a NUL inside) */
};

#define MY &d_mysql
#define MA &d_maria
#define UN &d_unknown
#define AN &d_ansi
#define NB &d_nbe

static const struct tcase cases[] = {
	/* UPDATE */
	{ MY, "UPDATE t SET a = a + 1 WHERE b > 5 ORDER BY id LIMIT 10",
	  "UPDATE refs=[t] t=[t] set=[a=a + 1] where=[b > 5] order=[id] limit=[10] tail=@ORDER" },
	{ UN, "update t set a=1", "UPDATE refs=[t] t=[t] set=[a=1] tail=$" },
	{ MY, "UPDATE LOW_PRIORITY IGNORE db.t AS x SET x.a = 1, b = DEFAULT WHERE x.id = ?",
	  "UPDATE ignore refs=[db.t AS x] t=[db.t x] set=[x.a=1; b=DEFAULT] where=[x.id = ?] tail=$ ?=1" },
	{ MY, "UPDATE `my db`.`t``q` `a b` SET `a b`.`c` = 2",
	  "UPDATE refs=[`my db`.`t``q` `a b`] t=[my db.t`q a b] set=[a b.c=2] tail=$" },
	{ MY, "UPDATE t SET db.t.c = 1", "UPDATE refs=[t] t=[t] set=[t.c=1] tail=$" },
	{ MY, "UPDATE t SET a := 5, b=(SELECT MAX(x) FROM u WHERE u.k = t.k LIMIT 1)",
	  "UPDATE refs=[t] t=[t] set=[a=5; b=(SELECT MAX(x) FROM u WHERE u.k = t.k LIMIT 1)] tail=$" },
	{ MY, "UPDATE t SET a = CASE WHEN b THEN 1 ELSE 2 END, c = IF(d, 1, 2) WHERE e BETWEEN 1 AND 2",
	  "UPDATE refs=[t] t=[t] set=[a=CASE WHEN b THEN 1 ELSE 2 END; c=IF(d, 1, 2)] "
	  "where=[e BETWEEN 1 AND 2] tail=$" },
	{ MY, "UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b, t2.c = 1 WHERE t1.d = ?",
	  "UPDATE multi refs=[t1 JOIN t2 ON t1.id = t2.id] t=[t1, t2] set=[t1.a=t2.b; t2.c=1] "
	  "where=[t1.d = ?] tail=$ ?=1" },
	{ MY, "UPDATE t1 a, t2 AS b SET a.x = b.y WHERE a.id = b.id",
	  "UPDATE multi refs=[t1 a, t2 AS b] t=[t1 a, t2 b] set=[a.x=b.y] where=[a.id = b.id] tail=$" },
	{ MY, "UPDATE a LEFT OUTER JOIN b USING (id) NATURAL JOIN c STRAIGHT_JOIN d CROSS JOIN e "
	      "INNER JOIN f ON f.x = LEFT(e.y, 2) RIGHT JOIN g ON 1 NATURAL LEFT JOIN h SET a.v = 1",
	  "UPDATE multi refs=[a LEFT OUTER JOIN b USING (id) NATURAL JOIN c STRAIGHT_JOIN d CROSS JOIN e "
	  "INNER JOIN f ON f.x = LEFT(e.y, 2) RIGHT JOIN g ON 1 NATURAL LEFT JOIN h] "
	  "t=[a, b, c, d, e, f, g, h] set=[a.v=1] tail=$" },
	{ MY, "UPDATE (t1 JOIN t2 ON t1.a = t2.a) JOIN t3 ON t3.b = t2.b SET t3.c = 0",
	  "UPDATE multi refs=[(t1 JOIN t2 ON t1.a = t2.a) JOIN t3 ON t3.b = t2.b] t=[t1, t2, t3] "
	  "set=[t3.c=0] tail=$" },
	{ MY, "UPDATE t1 JOIN t2 JOIN t3 ON t2.a = t3.a ON t1.a = t2.a SET t1.x = 1",
	  "UPDATE multi refs=[t1 JOIN t2 JOIN t3 ON t2.a = t3.a ON t1.a = t2.a] t=[t1, t2, t3] "
	  "set=[t1.x=1] tail=$" },
	{ MY, "UPDATE t JOIN (SELECT id, MAX(v) m FROM u GROUP BY id) AS d ON d.id = t.id SET t.m = d.m "
	      "WHERE t.k IN (SELECT k FROM w WHERE z ORDER BY k LIMIT 1)",
	  "UPDATE multi refs=[t JOIN (SELECT id, MAX(v) m FROM u GROUP BY id) AS d ON d.id = t.id] "
	  "t=[t, () d] set=[t.m=d.m] where=[t.k IN (SELECT k FROM w WHERE z ORDER BY k LIMIT 1)] tail=$" },
	{ MY, "UPDATE t, LATERAL (SELECT t.a) AS l (x) SET t.b = l.x",
	  "UPDATE multi refs=[t, LATERAL (SELECT t.a) AS l (x)] t=[t, () l] set=[t.b=l.x] tail=$" },
	{ MY, "UPDATE t SET a = 'WHERE x ORDER BY y LIMIT 1', `limit` = 2 /* WHERE */ "
	      "WHERE `order` = \"LIMIT\" -- ORDER BY\n ORDER BY `where` # LIMIT\n LIMIT 5",
	  "UPDATE refs=[t] t=[t] set=[a='WHERE x ORDER BY y LIMIT 1'; limit=2] "
	  "where=[`order` = \"LIMIT\"] order=[`where`] limit=[5] tail=@ORDER" },
	{ MY, "UPDATE t SET t.limit = t.order + 1 WHERE t.where = 1 AND order.x = 2",
	  "UPDATE refs=[t] t=[t] set=[t.limit=t.order + 1] where=[t.where = 1 AND order.x = 2] tail=$" },
	{ MY, "UPDATE order.items SET qty = 0 WHERE order.items.id = 3",
	  "UPDATE refs=[order.items] t=[order.items] set=[qty=0] where=[order.items.id = 3] tail=$" },
	{ MY, "UPDATE t SET a = 1 LIMIT 1, 2", "UPDATE refs=[t] t=[t] set=[a=1] limit=[1, 2] tail=@LIMIT" },
	{ MY, "UPDATE t SET a = ?, b = CONCAT(?, 'x') WHERE c = ? AND d IN (?, ?) ORDER BY FIELD(e, ?) "
	      "LIMIT ?",
	  "UPDATE refs=[t] t=[t] set=[a=?; b=CONCAT(?, 'x')] where=[c = ? AND d IN (?, ?)] "
	  "order=[FIELD(e, ?)] limit=[?] tail=@ORDER ?=7" },
	{ MY, "UPDATE t USE INDEX (i1) FORCE KEY FOR ORDER BY (i2) SET a = 1 ORDER BY b",
	  "UPDATE refs=[t USE INDEX (i1) FORCE KEY FOR ORDER BY (i2)] t=[t] set=[a=1] order=[b] "
	  "tail=@ORDER" },
	{ MY, "UPDATE t PARTITION (p0, p1) AS x SET x.a = 1",
	  "UPDATE partition refs=[t PARTITION (p0, p1) AS x] t=[t x] set=[x.a=1] tail=$" },
	{ MY, "UPDATE t1, t2 SET t1.a = 1 ORDER BY t1.id LIMIT 1",
	  "UPDATE multi refs=[t1, t2] t=[t1, t2] set=[t1.a=1] order=[t1.id] limit=[1] tail=@ORDER" },
	{ MY, "UPDATE t SET a = returning WHERE returning = 1",
	  "UPDATE refs=[t] t=[t] set=[a=returning] where=[returning = 1] tail=$" },
	{ MA, "UPDATE t SET a = 1 WHERE b RETURNING a, b",
	  "UPDATE returning refs=[t] t=[t] set=[a=1] where=[b] ret=[a, b] tail=@RETURNING" },
	{ MA, "UPDATE t SET t.returning = 1", "UPDATE refs=[t] t=[t] set=[t.returning=1] tail=$" },
	{ UN, "UPDATE t SET a = 1 RETURNING a", "! RETURNING while the server flavor" },
	{ MA, "UPDATE t FOR PORTION OF app FROM '2020-01-01' TO '2021-01-01' SET a = 1",
	  "! FOR PORTION OF" },
	{ MA, "UPDATE t FOR SYSTEM_TIME AS OF NOW() SET a = 1", "! FOR SYSTEM_TIME" },
	{ MY, "WITH c AS (SELECT 1 AS id) UPDATE t JOIN c USING (id) SET a = 1", "! WITH clause" },
	{ MA, "SET STATEMENT max_statement_time = 1 FOR UPDATE t SET a = 1", "! SET STATEMENT" },
	{ MY, "UPDATE t SET a = 1 WHERE", "! WHERE without a condition" },
	{ MY, "UPDATE t SET a = 1 WHERE b ORDER id", "! ORDER without BY" },
	{ MY, "UPDATE t SET a = 1 ORDER BY", "! ORDER BY without a column" },
	{ MY, "UPDATE t SET a = 1 LIMIT", "! LIMIT without a count" },
	{ MY, "UPDATE t SET a = 1 LIMIT 1 WHERE b", "! unexpected text where WHERE" },
	{ MY, "UPDATE t SET a = 1 WHERE b = 1 WHERE c = 2", "! unexpected text where WHERE" },
	{ MY, "UPDATE t WHERE a = 1", "! expected SET after the table references" },
	{ MY, "UPDATE t SET", "! expected a column name in SET" },
	{ MY, "UPDATE t SET a", "! expected '=' after a column" },
	{ MY, "UPDATE t SET a =", "! a column in SET without a value" },
	{ MY, "UPDATE t SET a = 1,", "! expected a column name in SET" },
	{ MY, "UPDATE t SET order = 1", "! expected a column name in SET" },
	{ MY, "UPDATE t SET `order` = 1", "UPDATE refs=[t] t=[t] set=[order=1] tail=$" },
	{ MY, "UPDATE t SET (a, b) = (1, 2)", "! expected a column name in SET" },
	{ MY, "UPDATE t SET a = (1 WHERE b = 2", "! unbalanced parentheses" },
	{ MY, "UPDATE t SET a = 1) WHERE b = 2", "! unexpected text where WHERE" },
	{ MY, "UPDATE t AS SET a = 1", "! expected an alias" },
	{ MY, "UPDATE t 'x' SET a = 1", "! expected SET after the table references" },
	{ MY, "UPDATE t a b SET x = 1", "! expected SET after the table references" },
	{ MY, "UPDATE {OJ t1 LEFT OUTER JOIN t2 ON 1} SET a = 1", "! ODBC" },
	{ MY, "UPDATE t JOIN JSON_TABLE('[]', '$[*]' COLUMNS (x INT PATH '$')) AS j ON 1 SET t.a = 1",
	  "! JSON_TABLE" },
	{ MY, "UPDATE t JOIN (SELECT 1 AS id) ON 1 SET a = 1", "! a derived table without an alias" },
	{ MY, "UPDATE t AS a PARTITION (p) SET a.x = 1", "! PARTITION clause after the table alias" },
	{ MY, "UPDATE t JOIN u SET a = 1", "UPDATE multi refs=[t JOIN u] t=[t, u] set=[a=1] tail=$" },
	{ MY, "UPDATE t LEFT u ON 1 SET a = 1", "! expected SET after the table references" },
	{ MY, "UPDATE t JOIN u ON SET a = 1", "! ON without a condition" },
	{ MY, "UPDATE t JOIN u USING id SET a = 1", "! USING without a column list" },
	{ MY, "UPDATE t NATURAL u SET a = 1", "! a join operator without JOIN" },
	{ MY, "UPDATE t USE INDEX i SET a = 1", "! an index hint without its list" },
	{ MY, "UPDATE t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17 "
	      "SET a = 1", "! more table references than DML_MAX_TABLEREFS" },
	{ MY, "UPDATE ((((((((((((((((((((((((((((((((((((((((t))))))))))))))))))))))))))))))))))))))) "
	      "SET a = 1", "! nested too deep" },
	{ MY, "UPDATE ((t)) SET a = 1", "UPDATE refs=[((t))] t=[t] set=[a=1] tail=$" },
	{ MY, "UPDATE t SET a = 1 WHERE b = 2 /*!50000 AND c = 3 */ AND d = 4",
	  "UPDATE refs=[t] t=[t] set=[a=1] where=[b = 2 /*!50000 AND c = 3 */ AND d = 4] tail=$" },
	{ MY, "UPDATE t SET a = 1 WHERE b = 2 /*!99999 AND c = 3 */",
	  "UPDATE refs=[t] t=[t] set=[a=1] where=[b = 2] tail=$" },
	{ MY, "UPDATE t SET a = 1 /*!50000 WHERE b = 2 */", "! executable comment" },
	{ MY, "UPDATE t SET a = 1 WHERE b = 2 /*!50000 ORDER BY c */", "! executable comment" },
	{ MY, "/*!50000 UPDATE t SET a = 1 */", "! executable comment" },
	{ MY, "UPDATE /*!50000 IGNORE */ t SET a = 1",
	  "UPDATE ignore refs=[t] t=[t] set=[a=1] tail=$" },
	{ MY, "UPDATE t SET a = 1 /*M!100000 WHERE b = 2 */",
	  "UPDATE refs=[t] t=[t] set=[a=1] tail=$" },
	{ MY, "UPDATE t SET a = 'unterminated", "! unterminated" },
	{ MY, "UPDATE t SET a = 1 /* unterminated", "! unterminated" },
	{ UN, "UPDATE t SET a = \"x\\\"\" WHERE b = 1", "! dialect" },
	{ MY, "UPDATE t SET a = a--", "! ends with \"--\"" },

	/* DELETE */
	{ MY, "DELETE FROM t WHERE id = 1", "DELETE refs=[t] t=[t] del=t where=[id = 1] tail=$" },
	{ MY, "DELETE FROM t", "DELETE refs=[t] t=[t] del=t tail=$" },
	{ MY, "DELETE LOW_PRIORITY QUICK IGNORE FROM db.t AS x WHERE x.a > 0 ORDER BY x.a DESC LIMIT 10",
	  "DELETE ignore refs=[db.t AS x] t=[db.t x] del=db.t where=[x.a > 0] order=[x.a DESC] "
	  "limit=[10] tail=@ORDER" },
	{ MY, "DELETE FROM t alias WHERE alias.x", "DELETE refs=[t alias] t=[t alias] del=t "
	  "where=[alias.x] tail=$" },
	{ MY, "DELETE FROM t WHERE a = ? LIMIT ? OFFSET ?",
	  "DELETE refs=[t] t=[t] del=t where=[a = ?] limit=[? OFFSET ?] tail=@LIMIT ?=3" },
	{ MY, "DELETE FROM t LIMIT 1", "DELETE refs=[t] t=[t] del=t limit=[1] tail=@LIMIT" },
	{ MY, "DELETE t1, t2.* FROM t1 INNER JOIN t2 ON t1.id = t2.id WHERE t1.x = 1",
	  "DELETE multi refs=[t1 INNER JOIN t2 ON t1.id = t2.id] t=[t1, t2] del=t1,t2 "
	  "where=[t1.x = 1] tail=$" },
	{ MY, "DELETE FROM a1, db.t2.* USING t1 AS a1 JOIN db.t2 ON a1.k = t2.k WHERE a1.z",
	  "DELETE multi refs=[t1 AS a1 JOIN db.t2 ON a1.k = t2.k] t=[t1 a1, db.t2] del=a1,db.t2 "
	  "where=[a1.z] tail=$" },
	{ MY, "DELETE FROM t USING t JOIN u ON t.a = u.a",
	  "DELETE multi refs=[t JOIN u ON t.a = u.a] t=[t, u] del=t tail=$" },
	{ MY, "DELETE t FROM t WHERE a LIMIT 1",
	  "DELETE multi refs=[t] t=[t] del=t where=[a] limit=[1] tail=@LIMIT" },
	{ MY, "DELETE FROM t WHERE id IN (SELECT id FROM (SELECT id FROM t WHERE x ORDER BY y LIMIT 3) "
	      "AS s) ORDER BY id LIMIT 2",
	  "DELETE refs=[t] t=[t] del=t where=[id IN (SELECT id FROM (SELECT id FROM t WHERE x ORDER BY y "
	  "LIMIT 3) AS s)] order=[id] limit=[2] tail=@ORDER" },
	{ MY, "DELETE FROM t PARTITION (p1) WHERE a = 1",
	  "DELETE partition refs=[t PARTITION (p1)] t=[t] del=t where=[a = 1] tail=$" },
	{ MA, "DELETE FROM t PARTITION (p1) AS a WHERE a.x = 1",
	  "DELETE partition refs=[t PARTITION (p1) AS a] t=[t a] del=t where=[a.x = 1] tail=$" },
	{ MY, "DELETE FROM t AS a PARTITION (p1) WHERE a.x = 1", "! PARTITION clause after the table alias" },
	{ MA, "DELETE FROM t USE INDEX (i) WHERE a",
	  "DELETE refs=[t USE INDEX (i)] t=[t] del=t where=[a] tail=$" },
	{ MA, "DELETE FROM t WHERE a = 1 RETURNING id, a AS x",
	  "DELETE returning refs=[t] t=[t] del=t where=[a = 1] ret=[id, a AS x] tail=@RETURNING" },
	{ MA, "DELETE FROM t RETURNING *", "DELETE returning refs=[t] t=[t] del=t ret=[*] tail=@RETURNING" },
	{ MA, "DELETE FROM t RETURNING", "! RETURNING without a list" },
	{ MY, "DELETE FROM t returning WHERE returning.x = 1",
	  "DELETE refs=[t returning] t=[t returning] del=t where=[returning.x = 1] tail=$" },
	{ UN, "DELETE FROM t WHERE a RETURNING a", "! RETURNING while the server flavor" },
	{ MA, "DELETE FROM t WHERE a = 1 /*M!100500 RETURNING a */", "! executable comment" },
	{ MA, "DELETE FROM t FOR PORTION OF p FROM 1 TO 2 WHERE a", "! FOR PORTION OF" },
	{ MA, "DELETE HISTORY FROM t BEFORE SYSTEM_TIME '2020-01-01'", "! DELETE HISTORY" },
	{ MY, "DELETE history FROM history", "DELETE multi refs=[history] t=[history] del=history tail=$" },
	{ MY, "WITH c AS (SELECT 1) DELETE FROM t WHERE a IN (SELECT * FROM c)", "! WITH clause" },
	{ MY, "DELETE FROM (SELECT 1) d", "! expected the table to delete from" },
	{ MY, "DELETE FROM t, u WHERE 1", "! unexpected text where WHERE" },
	{ MY, "DELETE FROM t JOIN u", "! unexpected text where WHERE" },
	{ MY, "DELETE t1 FROM", "! expected a table name in the table references" },
	{ MY, "DELETE t1 USING t1", "! expected FROM after the tables to delete from" },
	{ MY, "DELETE FROM t1.* USING t1", "DELETE multi refs=[t1] t=[t1] del=t1 tail=$" },
	{ MY, "DELETE t1. FROM t1", "! expected .* after a table" },
	{ MY, "DELETE WHERE a = 1", "! expected a table name to delete from" },
	{ MY, "DELETE", "! expected a table name to delete from" },
	{ MY, "DELETE FROM `order` WHERE `order`.`limit` > 3",
	  "DELETE refs=[`order`] t=[order] del=order where=[`order`.`limit` > 3] tail=$" },
	{ MY, "DELETE FROM t WHERE (a) = (1) AND b IN ((SELECT 1), (2))",
	  "DELETE refs=[t] t=[t] del=t where=[(a) = (1) AND b IN ((SELECT 1), (2))] tail=$" },

	/* INSERT and REPLACE */
	{ MY, "INSERT INTO t (a, b) VALUES (1, 'x'), (-2, NULL)",
	  "INSERT into=t cols=a,b values=(N:1 S:'x')(N:-2 Z:NULL)" },
	{ MY, "INSERT t VALUE (DEFAULT, ?, 1.5e3, .5, 0x1f, X'ff', b'01', N'nat', _utf8mb4'u', "
	      "_binary X'00', _latin1 0x41, 'a' 'b' \"c\", NOW(), a + 1, -x, - 5, +7, --5, TRUE, `col`, "
	      "x 'ff', 0x1f 'a', (1), 'a' COLLATE utf8mb4_bin, _utf8mb4 'a' 'b')",
	  "INSERT into=t values=(D:DEFAULT P0:? N:1.5e3 N:.5 N:0x1f S:X'ff' S:b'01' S:N'nat' "
	  "S:_utf8mb4'u' S:_binary X'00' S:_latin1 0x41 S:'a' 'b' \"c\" E:NOW() E:a + 1 E:-x N:- 5 "
	  "N:+7 E:--5 E:TRUE E:`col` E:x 'ff' E:0x1f 'a' E:(1) E:'a' COLLATE utf8mb4_bin "
	  "S:_utf8mb4 'a' 'b') ?=1" },
	{ UN, "INSERT INTO t VALUES ('a' \"b\", \"c\", 'd')",
	  "INSERT into=t values=(E:'a' \"b\" E:\"c\" S:'d')" },
	{ AN, "INSERT INTO \"t\" (\"a\", b) VALUES (\"x\", 'y')",
	  "INSERT into=t cols=a,b values=(E:\"x\" S:'y')" },
	{ MY, "INSERT INTO t VALUES ('a\\'b', 'c\\\\', '''')",
	  "INSERT into=t values=(S:'a\\'b' S:'c\\\\' S:'''')" },
	{ NB, "INSERT INTO t VALUES ('a\\', 'b')", "INSERT into=t values=(S:'a\\' S:'b')" },
	{ NB, "INSERT INTO t VALUES ('a\\'b', 'c')", "! unterminated" },
	{ MY, "INSERT LOW_PRIORITY IGNORE INTO db.t PARTITION (p0) (`select`, `b``q`) VALUES (1,2)",
	  "INSERT ignore partition into=db.t cols=select,b`q values=(N:1 N:2)" },
	{ MY, "INSERT HIGH_PRIORITY t (t.a, db.t.b) VALUES (1, 2)", "INSERT into=t cols=a,b values=(N:1 N:2)" },
	{ MY, "REPLACE DELAYED INTO t VALUES (1), (2), (3)", "REPLACE into=t values=(N:1)(N:2)(N:3)" },
	{ MY, "INSERT INTO t SET a = 1, t.b = 'x', c = DEFAULT, d = ?, e = NOW()",
	  "INSERT into=t set=[a=N:1; t.b=S:'x'; c=D:DEFAULT; d=P0:?; e=E:NOW()] ?=1" },
	{ MY, "INSERT INTO t SET a = 1 AS n ON DUPLICATE KEY UPDATE a = n.a + 1",
	  "INSERT into=t set=[a=N:1] alias=[n] odku=[a = n.a + 1]" },
	{ MY, "INSERT INTO t (a, b) VALUES (1, 2) AS new(x, y) ON DUPLICATE KEY UPDATE b = new.x + y",
	  "INSERT into=t cols=a,b values=(N:1 N:2) alias=[new(x, y)] odku=[b = new.x + y]" },
	{ MY, "INSERT INTO t VALUES (1) AS new", "INSERT into=t values=(N:1) alias=[new]" },
	{ MA, "INSERT INTO t VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a", "! row alias" },
	{ MY, "INSERT INTO t VALUES (1) AS", "! expected a row alias" },
	{ MY, "INSERT INTO t (a) SELECT x FROM u WHERE y > ? ORDER BY z LIMIT 3 "
	      "ON DUPLICATE KEY UPDATE a = VALUES(a) + ?",
	  "INSERT into=t cols=a select=[SELECT x FROM u WHERE y > ? ORDER BY z LIMIT 3] "
	  "odku=[a = VALUES(a) + ?] ?=2" },
	{ MY, "INSERT INTO t SELECT a.x FROM a JOIN b ON a.id = b.id ON DUPLICATE KEY UPDATE x = 1",
	  "INSERT into=t select=[SELECT a.x FROM a JOIN b ON a.id = b.id] odku=[x = 1]" },
	{ MY, "INSERT INTO t SELECT * FROM u FOR UPDATE",
	  "INSERT into=t select=[SELECT * FROM u FOR UPDATE]" },
	{ MY, "INSERT INTO t TABLE u", "INSERT into=t select=[TABLE u]" },
	{ MY, "INSERT INTO t (SELECT 1) UNION (SELECT 2)", "INSERT into=t select=[(SELECT 1) UNION (SELECT 2)]" },
	{ MY, "INSERT INTO t (a) ((SELECT 1))", "INSERT into=t cols=a select=[((SELECT 1))]" },
	{ MY, "INSERT INTO t WITH c AS (SELECT 1) SELECT * FROM c",
	  "INSERT into=t select=[WITH c AS (SELECT 1) SELECT * FROM c]" },
	{ MY, "INSERT INTO t SELECT * FROM u returning", "INSERT into=t select=[SELECT * FROM u returning]" },
	{ MY, "INSERT INTO t VALUES ROW(1, 'a'), ROW(2, 'b')",
	  "INSERT into=t values=(N:1 S:'a')(N:2 S:'b')" },
	{ MY, "INSERT INTO t () VALUES (), ()", "INSERT into=t values=()()" },
	{ MY, "INSERT INTO t VALUES(1)", "INSERT into=t values=(N:1)" },
	{ MY, "INSERT INTO t(a)VALUES(?),(?),(?)", "INSERT into=t cols=a values=(P0:?)(P1:?)(P2:?) ?=3" },
	{ MA, "INSERT INTO t (a) VALUES (1) RETURNING id, a AS x",
	  "INSERT returning into=t cols=a values=(N:1) ret=[id, a AS x]" },
	{ MA, "REPLACE INTO t SET a = 1 RETURNING *", "REPLACE returning into=t set=[a=N:1] ret=[*]" },
	{ MA, "INSERT INTO t SELECT * FROM u RETURNING *",
	  "INSERT returning into=t select=[SELECT * FROM u] ret=[*]" },
	{ MA, "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 2 RETURNING a",
	  "INSERT returning into=t values=(N:1) odku=[a = 2] ret=[a]" },
	{ UN, "INSERT INTO t VALUES (1) RETURNING a", "! RETURNING while the server flavor" },
	{ UN, "INSERT INTO t SELECT * FROM u RETURNING", "! RETURNING while the server flavor" },
	{ MY, "INSERT INTO t VALUES (1) RETURNING a", "! unexpected text after the values" },
	{ MA, "INSERT INTO t (a) VALUES ('ON DUPLICATE KEY UPDATE'), ('x'' VALUES (') "
	      "ON DUPLICATE KEY UPDATE a = 'RETURNING'",
	  "INSERT into=t cols=a values=(S:'ON DUPLICATE KEY UPDATE')(S:'x'' VALUES (') "
	  "odku=[a = 'RETURNING']" },
	{ MY, "INSERT /*!50000 IGNORE */ INTO t VALUES (1)", "INSERT ignore into=t values=(N:1)" },
	{ MY, "INSERT INTO t VALUES (/*!50000 1 */)", "! executable comment" },
	{ MY, "INSERT INTO t VALUES (1 /*!50000 + 1 */)", "! executable comment" },
	{ MY, "INSERT INTO t VALUES (1 /*!99999 + 1 */, /* 2, */ 3 -- 4\n)",
	  "INSERT into=t values=(N:1 N:3)" },
	{ MY, "INSERT INTO t (a, b) VALUES (1)", "! the column list and the rows of VALUES differ" },
	{ MY, "INSERT INTO t VALUES (1), (1, 2)", "! rows of VALUES with different numbers" },
	{ MY, "INSERT INTO t VALUES (1,)", "! an empty value" },
	{ MY, "INSERT INTO t VALUES (,1)", "! an empty value" },
	{ MY, "INSERT INTO t VALUES", "! expected '(' to open a row" },
	{ MY, "INSERT INTO t VALUES (1),", "! expected '(' to open a row" },
	{ MY, "INSERT INTO t VALUES (1", "! expected ')' to close a row" },
	{ MY, "INSERT INTO t VALUES (1) (2)", "! unexpected text after the values" },
	{ MY, "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE", "! ON DUPLICATE KEY UPDATE without" },
	{ MY, "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = (1", "! unbalanced parentheses" },
	{ MY, "REPLACE INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1", "! REPLACE with ON DUPLICATE" },
	{ MY, "INSERT INTO t (a) SET a = 1", "! a column list before INSERT ... SET" },
	{ MY, "INSERT INTO t DEFAULT VALUES", "! expected VALUES, SET or a SELECT" },
	{ MY, "INSERT INTO t", "! expected VALUES, SET or a SELECT" },
	{ MY, "INSERT INTO VALUES (1)", "! expected the table to insert into" },
	{ MY, "INSERT INTO t.* VALUES (1)", "! expected the table to insert into" },
	{ MY, "INSERT INTO t (a, VALUES (1)", "! expected a column name in the column list" },
	{ MY, "INSERT INTO t (a VALUES (1)", "! expected ')' after the column list" },
	{ MY, "INSERT INTO t PARTITION p0 VALUES (1)", "! PARTITION without its list" },
	{ MY, "INSERT INTO t SELECT (1", "! unbalanced parentheses" },
	{ MY, "INSERT INTO t SELECT 1)", "! unexpected text after INSERT ... SELECT" },
	{ MY, "INSERT INTO t VALUES ('abc", "! unterminated" },
	{ MY, "INSERT INTO t VALUES (`abc", "! unterminated" },
	/* ANSI_QUOTES: "..." are names */
	{ AN, "UPDATE \"t\" \"a\" SET \"a\".\"x\" = \"y\" WHERE \"a\".\"k\" = 'z'",
	  "UPDATE refs=[\"t\" \"a\"] t=[t a] set=[a.x=\"y\"] where=[\"a\".\"k\" = 'z'] tail=$" },
	{ MY, "UPDATE \"t\" SET a = 1", "! expected a table name in the table references" },
	{ MA, "DELETE FROM t WHERE a = 1 ORDER BY b LIMIT 2 RETURNING a",
	  "DELETE returning refs=[t] t=[t] del=t where=[a = 1] order=[b] limit=[2] ret=[a] tail=@ORDER" },
	/* run by MariaDB: the WHERE would end inside the comment, without its close */
	{ MA, "UPDATE t SET a = 1 WHERE b /*M!100100 AND c = 2 */ ORDER BY d", "! executable comment" },
	{ MA, "UPDATE t SET a = 1 WHERE /*M!100100 c = 2 AND */ b ORDER BY d", "! executable comment" },
	{ MA, "UPDATE t SET a = 1 WHERE b /*M!100100 AND c = 2 */ AND d ORDER BY d",
	  "UPDATE refs=[t] t=[t] set=[a=1] where=[b /*M!100100 AND c = 2 */ AND d] order=[d] "
	  "tail=@ORDER" },
	{ MY, "UPDATE t SET a = 1 WHERE b /*M!100100 AND c = 2 */ ORDER BY d",
	  "UPDATE refs=[t] t=[t] set=[a=1] where=[b] order=[d] tail=@ORDER" },
	{ MY, "INSERT INTO t VALUES (1) /*!50000 , (2) */", "! executable comment" },
	/* words reserved by one server only */
	{ MA, "INSERT INTO t (rank, system, `groups`) VALUES (1, 2, 3)",
	  "INSERT into=t cols=rank,system,groups values=(N:1 N:2 N:3)" },
	{ MY, "INSERT INTO t (rank) VALUES (1)", "! expected a column name in the column list" },
	{ UN, "INSERT INTO t (rank) VALUES (1)", "! expected a column name in the column list" },
	{ MY, "UPDATE t offset SET offset.a = 1 WHERE offset.b = 2",
	  "UPDATE refs=[t offset] t=[t offset] set=[offset.a=1] where=[offset.b = 2] tail=$" },
	{ MA, "UPDATE t offset SET offset.a = 1", "! expected SET after the table references" },
	{ MA, "DELETE FROM window WHERE window.x = 1",
	  "DELETE refs=[window] t=[window] del=window where=[window.x = 1] tail=$" },
	/* expressions are not validated: the server refuses this one */
	{ MY, "INSERT INTO t SET a = 1 b = 2", "INSERT into=t set=[a=E:1 b = 2]" },
	{ MY, "INSERT INTO t SET a = 1 AS b = 2", "! unexpected text after the values" },
	{ MY, "UPDATE t SET t. where = 1", "! expected a column name in SET" },
	{ MY, "UPDATE t SET t .where = 1, `t`.`order`=2, t.`limit`= 3",
	  "UPDATE refs=[t] t=[t] set=[t.where=1; t.order=2; t.limit=3] tail=$" },
	{ MY, "UPDATE db. t SET a = 1", "UPDATE refs=[db. t] t=[db.t] set=[a=1] tail=$" },
	{ MY, "UPDATE db. order SET a = 1", "! expected SET after the table references" },
	{ MY, "INSERT INTO t SET", "! expected a column name in SET" },
	{ MY, "INSERT INTO `a``b`.`c d` VALUES (0)", "INSERT into=a`b.c d values=(N:0)" },
	{ MY, "INSERT INTO `` VALUES (0)", "! expected the table to insert into" },
#define NUL_NAME "INSERT INTO t (`a\0b`) VALUES (0)"
	{ MY, NUL_NAME, "! expected a column name", sizeof(NUL_NAME) - 1 },
	{ MY, "INSERT INTO t VALUES (1); INSERT INTO u VALUES (2)", "INSERT into=t values=(N:1)" },
	/* LOAD DATA: its target columns (user variables left out) and SET */
	{ MA, "LOAD DATA LOCAL INFILE 'f.csv' INTO TABLE t FIELDS TERMINATED BY ',' (a, @b, `c`) SET d = @b * 2",
	  "LOAD_DATA local into=t cols=(a,c) set=[d=@b * 2]" },
	{ MA, "load data low_priority infile 'x' replace into table db.t character set utf8mb4 columns terminated "
	      "by 0x09 optionally enclosed by '\"' escaped by '\\\\' lines starting by 'x' terminated by '\\r\\n' "
	      "ignore 2 rows", "LOAD_DATA replace into=db.t" },
	{ MA, "LOAD DATA CONCURRENT INFILE 'f' IGNORE INTO TABLE t PARTITION (p0) CHARSET 'latin1' "
	      "FIELDS ENCLOSED BY _latin1'\"' (a)", "LOAD_DATA ignore partition into=t cols=(a)" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t () SET b = 1, t.c = (SELECT 1)",
	  "LOAD_DATA into=t cols=() set=[b=1; c=(SELECT 1)]" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t LINES TERMINATED BY X'0a' (@x) SET a = @x",
	  "LOAD_DATA into=t cols=() set=[a=@x]" },
	{ MA, "LOAD XML INFILE 'f' INTO TABLE t", "! LOAD XML" },
	{ MA, "LOAD DATA INFILE f INTO TABLE t", "! expected INFILE and the file's name" },
	{ MA, "LOAD DATA INFILE 'f' INTO t", "! expected INTO TABLE and the table" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t FIELDS TERMINATED ','", "! expected BY in LOAD DATA's FIELDS or LINES" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t FIELDS TERMINATED BY (1)", "! expected a string after BY in LOAD DATA" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t IGNORE x LINES", "! expected a number after IGNORE in LOAD DATA" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t IGNORE 1", "! expected LINES or ROWS after IGNORE n" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t (a, b", "! expected ')' after LOAD DATA's column list" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t (a, 5)",
	  "! expected a column or a user variable in LOAD DATA's list" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t (a) garbage", "! unexpected text in LOAD DATA" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t PARTITION p0", "! PARTITION without its list of partitions" },
	{ MA, "LOAD DATA INFILE 'f' INTO TABLE t CHARACTER SET (x)", "! expected a character set in LOAD DATA" },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->sql);
		const char *got;
		bool ok;

		got = run(c->sql, len, c->d, 0, NULL);
		if (c->want[0] == '!')
			ok = got[0] == '!' && strstr(got, c->want + 2) != NULL;
		else
			ok = strcmp(got, c->want) == 0;
		check(ok, "%s", show(c->sql, len));
		if (!ok) {
			diag("want: %s", c->want);
			diag("got:  %s", got);
		}
	}
}

/* --- focused tests --------------------------------------------------------------- */

/* Parse statement `which` of sql in dialect d into *m (exact-size copy kept in *copy). */
static bool parse_one(const char *sql, const struct sql_dialect *d, size_t which, struct dml *m,
		      char **copy, struct sql_stmt *st)
{
	struct sql_stmt all[MAXSTMT];
	size_t len = strlen(sql), n;
	bool ok;

	*copy = dup_text(sql, len);
	n = sql_parse_dialect(*copy, len, all, MAXSTMT, d);
	if (which >= n || which >= MAXSTMT) {
		memset(m, 0, sizeof(*m));
		return false;
	}
	*st = all[which];
	ok = dml_parse(*copy, st, d, m);
	if (!invariants(*copy, st, m, d))
		check(false, "invariants of \"%s\"", show(sql, len));
	return ok;
}

static void test_multi_statement(void)
{
	const char *sql = "SELECT 1; UPDATE t SET a = ? WHERE b = ? ;\n"
			  "/* c */ INSERT INTO u VALUES (?, 'x;y') -- end\n; DELETE FROM v WHERE w = ?";
	struct sql_stmt st;
	struct dml m;
	char *b;
	bool ok;

	ok = parse_one(sql, &d_mysql, 1, &m, &b, &st);
	check(ok && span_is(b, m.stmt, "UPDATE t SET a = ? WHERE b = ?") &&
	      span_is(b, m.where, "b = ?") && m.nparams == 2 &&
	      m.params[0] == (size_t)(strchr(sql, '?') - sql) &&
	      m.params[1] == (size_t)(strchr(strchr(sql, '?') + 1, '?') - sql) &&
	      m.tail == m.stmt.end && b[m.tail] == ' ',
	      "second statement: spans and placeholders are offsets into the whole input");
	dml_free(&m);
	free(b);

	ok = parse_one(sql, &d_mysql, 2, &m, &b, &st);
	check(ok && span_is(b, m.stmt, "INSERT INTO u VALUES (?, 'x;y')") && m.nparams == 1 &&
	      m.nrows == 1 && m.nvalues == 2 && m.values[0].kind == DV_PLACEHOLDER &&
	      m.values[0].param == 0 && span_is(b, m.values[1].span, "'x;y'"),
	      "third statement: leading comment and trailing comment excluded, placeholders "
	      "numbered from 0 in each statement");
	dml_free(&m);
	free(b);

	ok = parse_one(sql, &d_mysql, 3, &m, &b, &st);
	check(ok && span_is(b, m.stmt, "DELETE FROM v WHERE w = ?") && m.nparams == 1 &&
	      b[m.params[0]] == '?' && m.params[0] == strlen(sql) - 1,
	      "last statement, no ';': placeholder at the very end");
	dml_free(&m);
	free(b);

	ok = parse_one(sql, &d_mysql, 0, &m, &b, &st);
	check(!ok && m.why != NULL && strstr(m.why, "not an INSERT") != NULL,
	      "a SELECT is refused: %s", m.why ? m.why : "(null)");
	dml_free(&m);
	free(b);
}

static void test_placeholders(void)
{
	const char *sql = "INSERT INTO t (a, b) SELECT ?, `?` FROM u WHERE c = '?' AND d = ? /* ? */ "
			  "ON DUPLICATE KEY UPDATE b = ? -- ?\n";
	struct sql_stmt st;
	struct dml m;
	char *b;
	bool ok = parse_one(sql, &d_mysql, 0, &m, &b, &st);
	bool at = ok && m.nparams == 3;

	for (unsigned i = 0; at && i < m.nparams; i++)
		at = b[m.params[i]] == '?';
	check(at && m.params[0] == 28 && span_is(b, m.odku, "b = ?") &&
	      span_is(b, m.select, "SELECT ?, `?` FROM u WHERE c = '?' AND d = ?"),
	      "only the '?' outside strings, names and comments are placeholders, in order");
	dml_free(&m);
	free(b);

	sql = "UPDATE t SET a = ? WHERE (b, c) IN ((?, ?), (?, ?)) LIMIT ?";
	ok = parse_one(sql, &d_maria, 0, &m, &b, &st);
	check(ok && m.nparams == 6 && m.params[5] == strlen(sql) - 1 && span_is(b, m.limit, "?"),
	      "placeholders inside nested groups are counted across the statement");
	dml_free(&m);
	free(b);
}

static void test_fields(void)
{
	struct sql_stmt st;
	struct dml m;
	char *b;
	bool ok, cte = false;

	ok = parse_one("  -- lead\n  UPDATE t SET a = 1 ; ", &d_mysql, 0, &m, &b, &st);
	check(ok && span_is(b, m.stmt, "UPDATE t SET a = 1") && m.tail == m.stmt.end,
	      "stmt excludes leading comments, trailing space and ';'; tail at its end");
	dml_free(&m);
	free(b);

	ok = parse_one("UPDATE t SET a = 1 WHERE b = 2 # trailing", &d_mysql, 0, &m, &b, &st);
	check(ok && span_is(b, m.stmt, "UPDATE t SET a = 1 WHERE b = 2") && span_is(b, m.where, "b = 2"),
	      "a trailing comment without a newline is outside stmt and where");
	dml_free(&m);
	free(b);

	(void)run("WITH c AS (SELECT 1) UPDATE t SET a = 1",
		  strlen("WITH c AS (SELECT 1) UPDATE t SET a = 1"), &d_mysql, 0, &cte);
	check(cte, "with_cte is set on a statement that starts with WITH");

	ok = parse_one("UPDATE t SET a = 1 ORDER BY b", &d_mysql, 0, &m, &b, &st);
	check(ok && !m.where.present && m.tail == (size_t)(strstr(b, "ORDER") - b) &&
	      m.order_by.present && !m.limit.present,
	      "tail just before ORDER BY when there is no WHERE");
	dml_free(&m);
	free(b);

	ok = parse_one("INSERT INTO t VALUES (1)", &d_mysql, 0, &m, &b, &st);
	check(ok && m.source == DML_SRC_VALUES && m.ncolumns == 0 && m.nrows == 1 && m.nvalues == 1 &&
	      m.tail == m.stmt.end && m.kind == SQL_INSERT && m.why == NULL,
	      "INSERT without a column list: ncolumns 0, tail at the end");
	dml_free(&m);
	dml_free(&m);
	check(m.values == NULL && m.nrows == 0, "dml_free twice is harmless");
	free(b);

	memset(&st, 0, sizeof(st));
	st.kind = SQL_UPDATE;
	check(!dml_parse(NULL, &st, NULL, &m) && m.why != NULL, "NULL text refused");
	check(!dml_parse("x", NULL, NULL, &m) && m.why != NULL, "NULL statement refused");
	check(!dml_parse("x", &st, NULL, NULL), "NULL out refused");
	st.start = 1;
	st.end = 0;
	check(!dml_parse("x", &st, NULL, &m) && m.why != NULL, "offsets out of order refused");
	st.start = 0;
	st.end = 1;
	st.kind = SQL_INSERT;
	check(!dml_parse("x", &st, NULL, &m) && strstr(m.why, "does not start as its kind") != NULL,
	      "a statement that does not start as its kind says is refused");
	dml_free(&m);

	/* "--" before a ';': two minus signs to the splitter, refused here */
	ok = parse_one("UPDATE t SET a = a--;SELECT 1", &d_mysql, 0, &m, &b, &st);
	check(!ok && strstr(m.why, "--") != NULL, "a statement ending in \"--\" is refused");
	dml_free(&m);
	free(b);
}

/* 100,000 rows parse quickly and completely. */
static void test_large(void)
{
	const unsigned rows = 100000;
	size_t cap = 64 + (size_t)rows * 40, len;
	char *sql = malloc(cap);
	struct sql_stmt st;
	struct dml m;
	clock_t t0;
	double secs;
	bool ok;

	if (sql == NULL)
		exit(2);
	len = (size_t)snprintf(sql, cap, "INSERT INTO t (id, name, v) VALUES ");
	for (unsigned i = 0; i < rows; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s(%u, 'n%u', ?)", i ? "," : "", i, i);
	len += (size_t)snprintf(sql + len, cap - len, " ON DUPLICATE KEY UPDATE v = VALUES(v)");
	if (sql_parse_dialect(sql, len, &st, 1, &d_mysql) != 1)
		check(false, "large INSERT splits into one statement");
	t0 = clock();
	ok = dml_parse(sql, &st, &d_mysql, &m);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	check(ok && m.nrows == rows && m.nvalues == 3 && m.nparams == rows &&
	      m.values[3 * (size_t)(rows - 1) + 2].param == rows - 1 &&
	      span_is(sql, m.values[3 * (size_t)(rows - 1)].span, "99999") &&
	      span_is(sql, m.odku, "v = VALUES(v)"),
	      "an INSERT of %u rows (%zu bytes) parses completely", rows, len);
	check(secs < 2.0, "... in %.3f s", secs);
	dml_free(&m);

	/* a row wider than DML_MAX_COLUMNS is refused, not stored */
	len = (size_t)snprintf(sql, cap, "INSERT INTO t VALUES (0");
	for (unsigned i = 0; i < DML_MAX_COLUMNS; i++)
		len += (size_t)snprintf(sql + len, cap - len, ",%u", i % 10);
	len += (size_t)snprintf(sql + len, cap - len, ")");
	if (sql_parse_dialect(sql, len, &st, 1, &d_mysql) != 1)
		check(false, "wide INSERT splits into one statement");
	ok = dml_parse(sql, &st, &d_mysql, &m);
	check(!ok && strstr(m.why, "DML_MAX_COLUMNS") != NULL, "a row of %u values is refused",
	      DML_MAX_COLUMNS + 1);
	dml_free(&m);

	/* deep nesting inside a value: skipped iteratively */
	len = (size_t)snprintf(sql, cap, "INSERT INTO t VALUES (");
	for (unsigned i = 0; i < 200000; i++)
		sql[len++] = '(';
	sql[len++] = '1';
	for (unsigned i = 0; i < 200000; i++)
		sql[len++] = ')';
	sql[len++] = ')';
	if (sql_parse_dialect(sql, len, &st, 1, &d_mysql) != 1)
		check(false, "deep INSERT splits into one statement");
	ok = dml_parse(sql, &st, &d_mysql, &m);
	check(ok && m.nrows == 1 && m.nvalues == 1 && m.values[0].kind == DV_EXPR,
	      "a value nested 200,000 parentheses deep");
	dml_free(&m);
	free(sql);
}

/* Every prefix of every case, in every dialect: no crash, invariants kept. */
static void test_prefixes(void)
{
	int before = test_failed;
	unsigned long runs = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].sql);

		for (size_t k = 0; k <= len; k++)
			for (size_t d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++, runs++)
				(void)run(cases[i].sql, k, dialects[d], 0, NULL);
	}
	check(test_failed == before, "every prefix of every case in every dialect (%lu runs)", runs);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random bytes, and random soup of the tokens the parser cares about. */
static void test_random(void)
{
	static const char *const frag[] = {
		"INSERT ", "REPLACE ", "UPDATE ", "DELETE ", " INTO ", " t ", " u.v ", " VALUES ",
		" VALUE ", " ROW", " SET ", " SELECT ", " FROM ", " WHERE ", " ORDER BY ", " LIMIT ",
		" RETURNING ", " ON DUPLICATE KEY UPDATE ", " AS ", " JOIN ", " LEFT JOIN ", " ON ",
		" USING ", " PARTITION ", " IGNORE ", " FOR PORTION OF ", "(", ")", ",", ";", ".", "*",
		"?", "=", ":=", "'s'", "\"d\"", "`q`", "X'ff'", "_utf8mb4'x'", "-", "1", "NULL",
		"DEFAULT", "/*!50000 ", "*/", "/*", "-- ", "#", "\n", "\\", "'", "`", "WITH ",
		" LATERAL ", " USE INDEX (i) ", " OFFSET ", " HISTORY ", " QUICK ", " TABLE ",
	};
	char buf[512];
	int before = test_failed;

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0;

		if (iter % 2 == 0) {
			len = (size_t)(rng() % sizeof(buf));
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)rng();
			if (len >= 7 && iter % 4 == 0)
				memcpy(buf, iter % 8 == 0 ? "UPDATE " : "INSERT ", 7);
		} else {
			int n = 1 + (int)(rng() % 24);
			for (int k = 0; k < n; k++) {
				const char *f = frag[rng() % (sizeof(frag) / sizeof(frag[0]))];
				size_t fl = strlen(f);
				if (len + fl > sizeof(buf))
					break;
				memcpy(buf + len, f, fl);
				len += fl;
			}
		}
		(void)run(buf, len, dialects[iter % 5], 0, NULL);
	}
	check(test_failed == before, "random bytes and random token soup keep the invariants");
}

int main(void)
{
	test_cases();
	test_multi_statement();
	test_placeholders();
	test_fields();
	test_large();
	test_prefixes();
	test_random();
	return check_done();
}
