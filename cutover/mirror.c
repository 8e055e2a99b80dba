/*
 * mirror.c - the mirror set and the mirror planner (see mirror.h): which
 * client statements touch a table under deploy, which of them can be
 * mirrored, and the SQL that does it.  Runs on the event-loop thread:
 * nothing here blocks or talks to a server; it only builds text.
 *
 * Mirrored: INSERT / REPLACE (VALUES, SET, SELECT; IGNORE, ON DUPLICATE
 * KEY UPDATE), single- and multi-table UPDATE and DELETE, text or
 * prepared, by the keys they touch (doc/deploy-requests.md has the
 * shapes and the exceptions).  Refused with a reason naming the deploy:
 * writes that cannot be mirrored safely, DDL and LOCK TABLES naming the
 * table, writes to the shadow table or through a view, a CALL of a
 * procedure that may write the table (plan_call(), cutover/routines.h),
 * and statements whose tables cannot be known (SQL-level EXECUTE, stored
 * program bodies, unparseable) while any deploy runs.
 */
#include "config.h"
#include "cutover/mirror.h"
#include "cutover/ctl.h"
#include "cutover/keys.h"
#include "protocol/dml.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Why a key value is refused that the column would store converted. */
#define CONVERTED_KEY "a key value the column would store converted (rounded, cut, clamped or padded: " \
	"99.6 in an INT is 100) would be copied by a key no row has; write the value the key stores"

#define TKC(t) ((struct key_cols){ (t)->cols, (t)->pk, (t)->npk })

/* --- the set ------------------------------------------------------------------ */

struct mirror_set *mirror_set_ref(struct mirror_set *m)
{
	if (m != NULL)
		m->refs++;
	return m;
}

void mirror_set_unref(struct mirror_set *m)
{
	if (m == NULL || --m->refs > 0)
		return;
	for (unsigned i = 0; i < m->n; i++) {
		free(m->tables[i].cols);
		free(m->tables[i].pk);
		free(m->tables[i].views);
		routines_unref(m->tables[i].routines);
	}
	free(m->tables);
	free(m);
}

/* The table of m whose db and name (or, with shadow, shadow name) are these. */
static const struct mirror_table *find(const struct mirror_set *m, const char *db, const char *table,
				       bool shadow)
{
	if (m == NULL)
		return NULL;
	for (unsigned i = 0; i < m->n; i++) {
		const struct mirror_table *t = &m->tables[i];

		if (strcasecmp(t->db, db) == 0 && strcasecmp(shadow ? t->shadow : t->table, table) == 0)
			return t;
	}
	return NULL;
}

const struct mirror_table *mirror_set_find(const struct mirror_set *m, const char *db,
					   const char *table)
{
	return find(m, db, table, false);
}

const struct mirror_table *mirror_set_find_shadow(const struct mirror_set *m, const char *db,
						  const char *table)
{
	return find(m, db, table, true);
}

/* --- text building -------------------------------------------------------------- */

/* sql[from, to) with each '?' of the statement (m->params) replaced by its literal. */
static bool put_text(FILE *f, const char *sql, size_t from, size_t to, const struct dml *m,
		     const struct params_literals *params)
{
	size_t at = from;

	for (unsigned i = 0; i < m->nparams; i++) {
		size_t q = m->params[i];

		if (q < from || q >= to)
			continue;
		if (params == NULL || i >= params->n || params->lit[i] == NULL)
			return false;
		fwrite(sql + at, 1, q - at, f);
		fputs(params->lit[i], f);
		at = q + 1;
	}
	fwrite(sql + at, 1, to - at, f);
	return true;
}

/* sql[from, to) names an index hint (USE / FORCE / IGNORE INDEX|KEY). */
static bool has_index_hint(const char *sql, size_t from, size_t to)
{
	for (size_t i = from; i + 3 <= to; i++) {
		bool start = i == from || !(isalnum((unsigned char)sql[i - 1]) || sql[i - 1] == '_' ||
					    sql[i - 1] == '`');

		if (start && ((i + 5 <= to && strncasecmp(sql + i, "INDEX", 5) == 0 &&
			       (i + 5 == to || !isalnum((unsigned char)sql[i + 5]))) ||
			      (strncasecmp(sql + i, "KEY", 3) == 0 &&
			       (i + 3 == to || !isalnum((unsigned char)sql[i + 3])))))
			return true;
	}
	return false;
}

/*
 * The offset of the keyword FROM in sql[from, to) (the text of a single-
 * table DELETE before its table: DELETE, its modifiers, FROM), or 0 when
 * it is not found exactly once as a word outside comments.
 */
static size_t find_from(const char *sql, size_t from, size_t to)
{
	size_t at = 0;
	unsigned n = 0;

	for (size_t i = from; i + 4 <= to; i++) {
		if (sql[i] == '/' || sql[i] == '#' || sql[i] == '-' || sql[i] == '`' || sql[i] == '\'' ||
		    sql[i] == '"')
			return 0;   /* comments or quotes here: keep the statement as it is */
		if (strncasecmp(sql + i, "FROM", 4) == 0 && (i == from || isspace((unsigned char)sql[i - 1])) &&
		    (i + 4 == to || isspace((unsigned char)sql[i + 4]))) {
			at = i;
			n++;
		}
	}
	return n == 1 ? at : 0;
}

/* An identifier in backquotes. */
static void put_ident(FILE *f, const char *name)
{
	fputc('`', f);
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '`')
			fputc('`', f);
		fputc(*p, f);
	}
	fputc('`', f);
}

/* Close a memstream; its text, or NULL (freed) when it failed or !ok.
 * (The buffer pointer is only valid after fclose: pass its address.) */
static char *close_stream(FILE *f, char **buf, bool ok)
{
	if (fclose(f) != 0 || !ok) {
		free(*buf);
		*buf = NULL;
		return NULL;
	}
	return *buf;
}

char *mirror_key_tuple(const struct mirror_table *t, char *const *vals, const unsigned long *lens)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool ok = true;

	if (f == NULL)
		return NULL;
	fputc('(', f);
	for (unsigned i = 0; i < t->npk && ok; i++) {
		if (i > 0)
			fputs(", ", f);
		ok = vals[i] != NULL && keys_put_literal(f, &t->cols[t->pk[i]], vals[i], lens[i]);
	}
	fputc(')', f);
	return close_stream(f, &buf, ok);
}

char *mirror_key_generated(const struct mirror_table *t, unsigned long long id)
{
	char *s = NULL;

	(void)t;
	if (asprintf(&s, "(%llu)", id) < 0)
		return NULL;
	return s;
}

/* `qualifier`.`name`, or `name` when qualifier is NULL. */
static void put_col(FILE *f, const char *qualifier, const char *name)
{
	if (qualifier != NULL) {
		ctl_put_ident(f, qualifier);
		fputc('.', f);
	}
	ctl_put_ident(f, name);
}

static void put_key_in(FILE *f, const struct mirror_table *t, const char *qualifier, bool shadow,
		       char *const *keys, unsigned n)
{
	if (n == 0) {
		fputs("FALSE", f);
		return;
	}
	fputc('(', f);
	for (unsigned i = 0; i < t->npk; i++) {
		const struct deploy_col *c = &t->cols[t->pk[i]];

		if (i > 0)
			fputs(", ", f);
		put_col(f, qualifier, shadow ? c->shadow : c->orig);
	}
	fputs(") IN (", f);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", f);
		fputs(keys[i], f);
	}
	fputc(')', f);
}

char *mirror_key_condition(const struct mirror_table *t, const char *qualifier, bool or_null, char *const *keys,
			   unsigned n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (or_null)
		fputc('(', f);
	put_key_in(f, t, qualifier, false, keys, n);
	if (or_null) {
		/* a primary-key column is NULL only where the join has no row */
		fputs(" OR ", f);
		put_col(f, qualifier, t->cols[t->pk[0]].orig);
		fputs(" IS NULL)", f);
	}
	return close_stream(f, &buf, true);
}

char *mirror_key_none(const struct mirror_table *t, const char *qualifier)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fputs("NOT (", f);
	put_col(f, qualifier, t->cols[t->pk[0]].orig);
	fputs(" <=> ", f);
	put_col(f, qualifier, t->cols[t->pk[0]].orig);
	fputc(')', f);
	return close_stream(f, &buf, true);
}

static void put_table(FILE *f, const struct mirror_table *t, bool shadow)
{
	ctl_put_ident(f, t->db);
	fputc('.', f);
	ctl_put_ident(f, shadow ? t->shadow : t->table);
}

/*
 * The proxy's statements run in the client's session, under its settings.
 * A copy into the shadow must not depend on them: it runs under the
 * backfill's sql_mode (cutover/ctl.c: strict, so a value the new column
 * would cut fails the deploy instead of being cut; zero dates and a key 0
 * stored as they are, whatever the client's mode) with no sql_select_limit
 * (it would cut the copy's SELECT), no max_join_size (SQL_BIG_SELECTS) and
 * no sql_safe_updates (either would refuse a statement of ours that the
 * client's own statement does not need); and when it converts a TIMESTAMP
 * to or from another type, under the backfill's time zone, so that the
 * value is converted as the backfill converts it.  Otherwise the time zone
 * stays the client's: the keys a copy names (literals of the client's
 * statement, values read back by a listing) are read in it, and a
 * TIMESTAMP key in another time zone is another instant.  inspect_map()
 * refuses a deploy that would need both (a TIMESTAMP in the primary key
 * and a TIMESTAMP converted).  A listing of the rows a statement touches
 * keeps the client's sql_mode and time zone (its WHERE must read as the
 * client's statement reads) but not its sql_select_limit or max_join_size
 * (sql_safe_updates does not bear on a SELECT).  A client's single-table
 * DELETE, which plan_locked() writes in the multi-table form, drops
 * max_join_size too (the optimizer checks it for that form only).  MySQL
 * has no SET STATEMENT: there they run as they are.
 */
#define PIN_COPY_MODE "SET STATEMENT sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', "
#define PIN_COPY_TZ "time_zone = '+00:00', "
#define PIN_COPY_SAFE "sql_safe_updates = 0, "
/* MariaDB turns an IN list of 1,000 values or more into a subquery, and may
   then read the whole table to join it (a locking read: every row locked) */
#define PIN_IN_LIST "in_predicate_conversion_threshold = 0"
#define NO_JOIN_LIMIT "max_join_size = 18446744073709551615"
#define PIN_LIMIT "sql_select_limit = 18446744073709551615, " NO_JOIN_LIMIT " FOR "

enum pin { PIN_COPY, PIN_LIST };

static void put_pin(FILE *f, const struct mirror_table *t, enum pin pin)
{
	if (!t->pin)
		return;
	if (pin == PIN_COPY) {
		fputs(PIN_COPY_MODE, f);
		fputs(PIN_COPY_SAFE, f);
		if (t->pin_tz)
			fputs(PIN_COPY_TZ, f);
	} else {
		fputs("SET STATEMENT ", f);
	}
	if (t->pin_in)
		fputs(PIN_IN_LIST ", ", f);
	fputs(PIN_LIMIT, f);
}

void mirror_put_listing_pin(FILE *f, const struct mirror_table *t)
{
	put_pin(f, t, PIN_LIST);
}

/*
 * The SET STATEMENT of a client's statement restricted to its keys: the
 * IN-list setting where the server has it (t->pin_in), then `more` (NULL:
 * nothing more); nothing at all when there is neither.
 */
static void put_restricted_pin(FILE *f, const struct mirror_table *t, const char *more)
{
	if (!t->pin_in && more == NULL)
		return;
	fputs("SET STATEMENT ", f);
	if (t->pin_in)
		fputs(more != NULL ? PIN_IN_LIST ", " : PIN_IN_LIST, f);
	if (more != NULL)
		fputs(more, f);
	fputs(" FOR ", f);
}

/* DELETE FROM shadow WHERE key IN (keys) [AND t has not the key]. */
static char *delete_sql(const struct mirror_table *t, char *const *keys, unsigned n, bool unless_in_t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	put_pin(f, t, PIN_COPY);
	fputs(unless_in_t ? "DELETE s FROM " : "DELETE FROM ", f);
	put_table(f, t, true);
	fputs(unless_in_t ? " AS s WHERE " : " WHERE ", f);
	put_key_in(f, t, unless_in_t ? "s" : NULL, true, keys, n);
	if (unless_in_t) {
		fputs(" AND NOT EXISTS (SELECT 1 FROM ", f);
		put_table(f, t, false);
		fputs(" AS o WHERE ", f);
		for (unsigned i = 0; i < t->npk; i++) {
			const struct deploy_col *c = &t->cols[t->pk[i]];

			if (i > 0)
				fputs(" AND ", f);
			fputs("o.", f);
			ctl_put_ident(f, c->orig);
			fputs(" = s.", f);
			ctl_put_ident(f, c->shadow);
		}
		fputc(')', f);
	}
	return close_stream(f, &buf, true);
}

char *mirror_recopy_delete(const struct mirror_table *t, char *const *keys, unsigned n)
{
	return delete_sql(t, keys, n, false);
}

char *mirror_sync_delete(const struct mirror_table *t, char *const *keys, unsigned n)
{
	return delete_sql(t, keys, n, true);
}

/*
 * A stream that holds "INSERT INTO <shadow> (...) SELECT ... FROM t FORCE
 * INDEX (PRIMARY) WHERE ": its rows are read by key (a locking read, in
 * REPEATABLE READ: a full scan, which the optimizer may prefer for a list
 * of keys that covers much of the table, would lock every row of it).
 */
static FILE *recopy_head(const struct mirror_table *t, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (f == NULL)
		return NULL;
	put_pin(f, t, PIN_COPY);
	keys_put_copy(f, t->db, t->table, t->shadow, t->cols, t->ncols);
	fputs(" FORCE INDEX (PRIMARY) WHERE ", f);
	return f;
}

char *mirror_recopy_range(const struct mirror_table *t, unsigned long long lo, unsigned long long hi)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = recopy_head(t, &buf, &len);

	if (f == NULL)
		return NULL;
	ctl_put_ident(f, t->cols[t->pk[0]].orig);
	fprintf(f, " BETWEEN %llu AND %llu", lo, hi);
	return close_stream(f, &buf, t->npk == 1 && lo <= hi);
}

char *mirror_recopy_insert(const struct mirror_table *t, char *const *keys, unsigned n, bool upsert,
			   bool for_update)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = recopy_head(t, &buf, &len);

	if (f == NULL)
		return NULL;
	put_key_in(f, t, NULL, false, keys, n);
	if (for_update)
		fputs(" FOR UPDATE", f);
	if (upsert) {
		bool first = true;

		fputs(" ON DUPLICATE KEY UPDATE ", f);
		if (t->target_unique) {
			/* the duplicate may be another row, through another
			   unique key: fail (1242) rather than change it.  The
			   same key (under its collation) takes t's spelling */
			keys_put_own_row_guard(f, &TKC(t), t->shadow, true);
			first = false;
		}
		for (unsigned i = 0; i < t->ncols; i++) {
			/* a key column is set too when it is a string (its
			   collation may find 'xy' where t now has 'XY'), unless
			   the guard above sets it */
			bool spelled = t->cols[i].pk && t->cols[i].kind == KEY_STRING &&
				       !(t->target_unique && i == t->pk[0]);

			if (t->cols[i].pk && !spelled && !(first && i + 1 == t->ncols))
				continue;     /* (a table of key columns only: k = VALUES(k)) */
			if (!first)
				fputs(", ", f);
			first = false;
			ctl_put_ident(f, t->cols[i].shadow);
			fputs(" = VALUES(", f);
			ctl_put_ident(f, t->cols[i].shadow);
			fputc(')', f);
		}
	}
	return close_stream(f, &buf, true);
}

void mirror_plan_free(struct mirror_plan *p)
{
	free(p->lock_sql);
	free(p->stmt_head);
	free(p->stmt_tail);
	free(p->stmt);
	free(p->qualifier);
	free(p->key_pos);
	for (unsigned i = 0; i < p->nkeys; i++)
		free(p->keys[i]);
	free(p->keys);
	memset(p, 0, sizeof(*p));
}

/* --- the planner ------------------------------------------------------------------ */

static enum mirror_verdict refuse(const struct mirror_table *t, uint64_t *id, char *why, size_t whylen,
				  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum mirror_verdict refuse(const struct mirror_table *t, uint64_t *id, char *why, size_t whylen,
				  const char *fmt, ...)
{
	va_list ap;
	char reason[700];

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	*id = t->deploy_id;
	snprintf(why, whylen, "deploy request %llu is changing %s.%s: %s",
		 (unsigned long long)t->deploy_id, t->db, t->table, reason);
	return MIRROR_REFUSE;
}

static const char *db_of(const struct sql_table *t, const char *db)
{
	return t->db[0] != '\0' ? t->db : db;
}

/* --- WHERE key = value ---------------------------------------------------------- */

/* A small scanner of a WHERE span: identifiers, =, AND, literals, '?'. */
struct wtok {
	enum { WT_END, WT_IDENT, WT_EQ, WT_AND, WT_DOT, WT_VALUE, WT_OTHER } type;
	size_t start, end;        /* WT_IDENT: the name without backticks */
};

static void wnext(const char *sql, size_t *pos, size_t end, struct wtok *t)
{
	size_t p = *pos;

	while (p < end && (sql[p] == ' ' || sql[p] == '\t' || sql[p] == '\n' || sql[p] == '\r'))
		p++;
	t->start = p;
	if (p >= end) {
		t->type = WT_END;
	} else if (sql[p] == '=') {
		t->type = WT_EQ;
		p++;
	} else if (sql[p] == '.') {
		t->type = WT_DOT;
		p++;
	} else if (sql[p] == '?') {
		t->type = WT_VALUE;
		p++;
	} else if (sql[p] == '`') {
		t->type = WT_IDENT;
		t->start = ++p;
		while (p < end && sql[p] != '`')
			p++;
		if (p >= end) {
			t->type = WT_OTHER;
		} else {
			t->end = p++;
			*pos = p;
			return;
		}
	} else if (sql[p] == '\'') {
		/* a plain string: no backslash, no doubled quote (else: other) */
		p++;
		while (p < end && sql[p] != '\'' && sql[p] != '\\')
			p++;
		if (p >= end || sql[p] != '\'' || (p + 1 < end && sql[p + 1] == '\'')) {
			t->type = WT_OTHER;
			p = end;
		} else {
			t->type = WT_VALUE;
			p++;
		}
	} else if ((sql[p] >= '0' && sql[p] <= '9') ||
		   (sql[p] == '-' && p + 1 < end && sql[p + 1] >= '0' && sql[p + 1] <= '9')) {
		p++;
		while (p < end && ((sql[p] >= '0' && sql[p] <= '9') || sql[p] == '.'))
			p++;
		t->type = WT_VALUE;
		if (p < end && (isalpha((unsigned char)sql[p]) || sql[p] == '_'))
			t->type = WT_OTHER;   /* 1e5, 0x1f, 12abc: not this scanner's */
	} else if (isalpha((unsigned char)sql[p]) || sql[p] == '_') {
		while (p < end && (isalnum((unsigned char)sql[p]) || sql[p] == '_' || sql[p] == '$'))
			p++;
		t->type = p - t->start == 3 && strncasecmp(sql + t->start, "AND", 3) == 0 ? WT_AND : WT_IDENT;
	} else {
		t->type = WT_OTHER;
		p = end;
	}
	t->end = p;
	*pos = p;
}

/*
 * The key tuple when the statement's WHERE is exactly "k1 = v1 [AND k2 =
 * v2 ...]" over the key columns (each once, optionally qualified by
 * `name`), values being numbers, plain strings or parameters; else NULL.
 * Such a statement can touch that one row only: no lock step is needed to
 * know its key.
 */
static char *where_is_key(const struct mirror_table *t, const char *sql, const struct dml *m,
			  const struct params_literals *params, const char *name)
{
	char *vals[64] = { NULL };
	size_t pos, end;
	struct wtok a, b, c;
	unsigned found = 0;
	char *buf = NULL, *out = NULL;
	size_t len = 0;
	FILE *f;

	if (!m->where.present || m->order_by.present || m->limit.present || t->npk > 64)
		return NULL;
	pos = m->where.start;
	end = m->where.end;
	for (;;) {
		unsigned k;
		char *v;

		wnext(sql, &pos, end, &a);
		if (a.type != WT_IDENT)
			goto out;
		wnext(sql, &pos, end, &b);
		if (b.type == WT_DOT) {
			/* qualifier: must be the table's name or alias */
			if (a.end - a.start != strlen(name) || strncasecmp(sql + a.start, name, a.end - a.start) != 0)
				goto out;
			wnext(sql, &pos, end, &a);
			if (a.type != WT_IDENT)
				goto out;
			wnext(sql, &pos, end, &b);
		}
		if (b.type != WT_EQ)
			goto out;
		wnext(sql, &pos, end, &c);
		if (c.type != WT_VALUE)
			goto out;
		for (k = 0; k < t->npk; k++) {
			const char *col = t->cols[t->pk[k]].orig;

			if (strlen(col) == a.end - a.start && strncasecmp(col, sql + a.start, a.end - a.start) == 0)
				break;
		}
		if (k == t->npk || vals[k] != NULL)
			goto out;
		if (sql[c.start] == '?') {
			unsigned i;

			for (i = 0; i < m->nparams && m->params[i] != c.start; i++)
				;
			if (params == NULL || i >= m->nparams || i >= params->n || params->lit[i] == NULL)
				goto out;
			v = strdup(params->lit[i]);
		} else {
			v = strndup(sql + c.start, c.end - c.start);
		}
		if (v == NULL)
			goto out;
		vals[k] = v;
		found++;
		wnext(sql, &pos, end, &a);
		if (a.type == WT_END)
			break;
		if (a.type != WT_AND)
			goto out;
	}
	if (found != t->npk)
		goto out;
	f = open_memstream(&buf, &len);
	if (f == NULL)
		goto out;
	fputc('(', f);
	for (unsigned k = 0; k < t->npk; k++) {
		if (k > 0)
			fputs(", ", f);
		/* a space keeps "-1" from joining what comes before */
		fputc(' ', f);
		fputs(vals[k], f);
	}
	fputc(')', f);
	out = close_stream(f, &buf, true);
out:
	for (unsigned k = 0; k < t->npk && k < 64; k++)
		free(vals[k]);
	return out;
}

static bool is_word_char(char c);

/* The SET assignment of key column k of an UPDATE (its index), -1 none, -2 several. */
static int key_expr_at(const struct mirror_table *t, const struct dml *m, unsigned k)
{
	int found = -1;

	for (unsigned i = 0; i < m->nassign; i++)
		if (strcasecmp(m->assign[i].column, t->cols[t->pk[k]].orig) == 0) {
			if (found >= 0)
				return -2;   /* twice */
			found = (int)i;
		}
	return found;
}

/* Is sql[s0, s1) the name of a column of t (its original name)? */
static bool names_column(const struct mirror_table *t, const char *sql, size_t s0, size_t s1)
{
	for (unsigned c = 0; c < t->ncols; c++)
		if (strlen(t->cols[c].orig) == s1 - s0 && strncasecmp(t->cols[c].orig, sql + s0, s1 - s0) == 0)
			return true;
	return false;
}

/*
 * Is the value of SET assignment i integer arithmetic the proxy can
 * evaluate on the row before the UPDATE and get the key the row will
 * have: integer numbers, parameters, columns of t that no assignment
 * before it sets (assignments run left to right), + - * and spaces, all
 * key columns numeric?  Anything else (a string, a function, DEFAULT,
 * NEXT VALUE FOR, a comment, a division) may convert, round or differ
 * the second time: the statement is refused instead.  A parameter's
 * literal must be an integer too (put_text() writes it; checked there by
 * the type of the listed value, see writes.c read_keys()).
 */
static bool key_expr_plain(const struct mirror_table *t, const char *sql, const struct dml *m, unsigned i)
{
	size_t p = m->assign[i].value.start, end = m->assign[i].value.end;
	bool operand = false;

	for (unsigned k = 0; k < t->npk; k++)
		if (t->cols[t->pk[k]].kind != KEY_NUMERIC)
			return false;
	while (p < end) {
		char c = sql[p];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			p++;
		} else if (c >= '0' && c <= '9') {
			while (p < end && sql[p] >= '0' && sql[p] <= '9')
				p++;
			if (p < end && (is_word_char(sql[p]) || sql[p] == '.'))
				return false;     /* 1e5, 0x1f, 1.5 */
			operand = true;
		} else if (c == '?') {
			p++;
			operand = true;
		} else if (c == '+' || c == '-' || c == '*') {
			if (p + 1 < end && sql[p + 1] == sql[p] && c == '-')
				return false;     /* -- comment */
			p++;
		} else if (c == '`' || is_word_char(c)) {
			size_t s0 = c == '`' ? p + 1 : p, s1;

			if (c == '`') {
				for (p++; p < end && sql[p] != '`'; p++)
					;
				if (p >= end)
					return false;
				s1 = p++;
			} else {
				while (p < end && is_word_char(sql[p]))
					p++;
				s1 = p;
			}
			if (!names_column(t, sql, s0, s1))
				return false;     /* a function, keyword or another table's column */
			for (unsigned k = 0; k < i; k++)
				if (strlen(m->assign[k].column) == s1 - s0 &&
				    strncasecmp(m->assign[k].column, sql + s0, s1 - s0) == 0)
					return false;
			operand = true;
		} else {
			return false;
		}
	}
	return operand;
}

/* The name a table reference goes by in the statement: its alias, else its table's name. */
static const char *ref_name(const struct dml_tableref *r)
{
	return r->alias[0] != '\0' ? r->alias : r->table.name;
}

/*
 * A multi-table UPDATE / DELETE that names t more than once: the one
 * reference to t it writes through (its index in tablerefs); -2 when it
 * writes through none (t is only read); -1 when through several, or when
 * that is not certain (an unqualified SET column, a reference without an
 * alias).
 */
static int self_join_target(const struct mirror_table *t, const struct dml *m, const char *db)
{
	int found = -1;

	if (!m->multi_table)
		return -1;
	for (unsigned i = 0; i < m->ntablerefs; i++) {
		const struct dml_tableref *r = &m->tablerefs[i];
		bool written = false;

		if (r->table.name[0] == '\0' || strcasecmp(r->table.name, t->table) != 0 ||
		    strcasecmp(db_of(&r->table, db), t->db) != 0)
			continue;
		if (r->alias[0] == '\0')
			return -1;        /* two references, one without an alias: let the server say */
		if (m->kind == SQL_DELETE) {
			for (unsigned k = 0; k < m->ntargets; k++)
				written = written || strcasecmp(m->targets[k], ref_name(r)) == 0;
		} else {
			for (unsigned k = 0; k < m->nassign; k++) {
				if (m->assign[k].qualifier[0] == '\0')
					return -1;
				written = written || strcasecmp(m->assign[k].qualifier, ref_name(r)) == 0;
			}
		}
		if (written) {
			if (found >= 0)
				return -1;
			found = (int)i;
		}
	}
	return found >= 0 ? found : -2;
}

/*
 * UPDATE / DELETE: lock the keys, restrict, re-copy.  In a multi-table
 * statement the table is found among the table references and named by
 * its alias (or name) in the key condition.
 */
static enum mirror_verdict plan_locked(const struct mirror_table *t, const char *sql, const struct dml *m,
				       const char *db, const struct params_literals *params,
				       struct mirror_plan *out, uint64_t *id, char *why, size_t whylen)
{
	const char *alias = NULL, *name = NULL;
	int ref = -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	bool ok;

	for (unsigned i = 0; i < m->ntablerefs; i++) {
		const struct dml_tableref *r = &m->tablerefs[i];

		if (r->table.name[0] == '\0' || strcasecmp(r->table.name, t->table) != 0 ||
		    strcasecmp(db_of(&r->table, db), t->db) != 0)
			continue;
		if (ref >= 0) {
			/* a self-join: mirrored when exactly one of the
			   references is written (the others only read) */
			ref = self_join_target(t, m, db);
			if (ref == -2)
				return MIRROR_PASS;   /* the table is only read */
			if (ref < 0)
				return refuse(t, id, why, whylen, "a statement that names the table twice is mirrored "
					      "when it writes through one of the names only (a multi-table DELETE that "
					      "lists one, an UPDATE whose SET qualifies every column with one)");
			break;
		}
		ref = (int)i;
	}
	if (ref < 0)
		return refuse(t, id, why, whylen, "cannot find the table among the statement's table references");
	alias = m->tablerefs[ref].alias[0] != '\0' ? m->tablerefs[ref].alias : NULL;
	name = alias != NULL ? alias : m->tablerefs[ref].table.name;
	if (m->multi_table) {
		for (unsigned i = 0; i < m->ntablerefs; i++)
			if ((int)i != ref && (strcasecmp(m->tablerefs[i].alias, name) == 0 ||
					      (m->tablerefs[i].alias[0] == '\0' &&
					       strcasecmp(m->tablerefs[i].table.name, name) == 0)))
				return refuse(t, id, why, whylen, "two table references are named %s", name);
		if (m->kind == SQL_DELETE) {
			bool target = false;

			for (unsigned i = 0; i < m->ntargets; i++)
				if (strcasecmp(m->targets[i], name) == 0)
					target = true;
			if (!target)
				return MIRROR_PASS;   /* the table is only read */
		}
		alias = name;  /* qualify the keys: other tables may have the same columns */
	}
	if (m->kind == SQL_UPDATE) {
		for (unsigned i = 0; i < m->nassign; i++) {
			const struct dml_assign *a = &m->assign[i];

			if (a->qualifier[0] != '\0' && strcasecmp(a->qualifier, name) != 0)
				continue;   /* another table's column */
			for (unsigned k = 0; k < t->npk; k++) {
				if (strcasecmp(a->column, t->cols[t->pk[k]].orig) != 0)
					continue;
				if (m->multi_table)
					return refuse(t, id, why, whylen, "a multi-table UPDATE that sets primary-key "
						      "column %s cannot be mirrored", a->column);
				if (m->ignore)
					return refuse(t, id, why, whylen, "an UPDATE IGNORE that sets primary-key "
						      "column %s is not mirrored (a value out of range would be "
						      "clamped as it is stored)", a->column);
				if (key_expr_at(t, m, k) != (int)i || !key_expr_plain(t, sql, m, i))
					return refuse(t, id, why, whylen, "an UPDATE that sets primary-key column %s "
						      "is mirrored when it sets it once, to integer arithmetic (+ - *) "
						      "of numbers, parameters and columns it has not set before it",
						      a->column);
				out->changes_key = true;
			}
		}
	}
	out->how = MP_LOCKED_KEYS;
	out->kind = m->kind;
	out->multi_rows = m->multi_table;
	out->t = t;
	*id = t->deploy_id;
	if (!m->multi_table && !out->changes_key) {
		/* WHERE key = value: the statement can touch that row only and
		   runs as it is; the locking read and the restricted statement
		   below are not needed (the common case: build nothing more) */
		char *key = where_is_key(t, sql, m, params, name);

		if (key != NULL) {
			out->keys = calloc(1, sizeof(char *));
			if (out->keys == NULL) {
				free(key);
				goto oom;
			}
			out->keys[0] = key;
			out->nkeys = 1;
			out->by_key = true;
			return MIRROR_PLAN;
		}
	}
	/* SELECT <keys> FROM <refs> WHERE ... ORDER BY ... LIMIT ... FOR UPDATE */
	f = open_memstream(&buf, &len);
	if (f == NULL)
		goto oom;
	put_pin(f, t, PIN_LIST);
	fputs(m->multi_table ? "SELECT DISTINCT " : "SELECT ", f);
	keys_put_select(f, &TKC(t), alias, false);
	ok = true;
	for (unsigned k = 0; out->changes_key && k < t->npk && ok; k++) {
		/* the key the row will have: its SET expression, evaluated on
		   the row as it is (it reads no column set before it) */
		int a = key_expr_at(t, m, k);

		fputs(", ", f);
		if (a < 0)
			put_ident(f, t->cols[t->pk[k]].orig);
		else
			ok = put_text(f, sql, m->assign[a].value.start, m->assign[a].value.end, m, params);
	}
	fputs(" FROM ", f);
	ok = ok && put_text(f, sql, m->table_refs.start, m->table_refs.end, m, params);
	if (m->where.present) {
		fputs(" WHERE ", f);
		ok = ok && put_text(f, sql, m->where.start, m->where.end, m, params);
	}
	if (m->order_by.present) {
		fputs(" ORDER BY ", f);
		ok = ok && put_text(f, sql, m->order_by.start, m->order_by.end, m, params);
	}
	if (m->limit.present) {
		fputs(" LIMIT ", f);
		ok = ok && put_text(f, sql, m->limit.start, m->limit.end, m, params);
	}
	fputs(" FOR UPDATE", f);
	out->lock_sql = close_stream(f, &buf, ok);
	if (out->lock_sql == NULL)
		goto bad_params;
	/*
	 * The statement, restricted: head <condition> tail.  A single-table
	 * one reads the table by its primary key (FORCE INDEX): its keys are
	 * locked already, and a plan that scans other rows (after stale
	 * statistics, say) would lock them after its own keys, against the
	 * order the other writers take them in: a deadlock a client sending
	 * the statement directly would not meet.  A single-table DELETE takes
	 * no index hint, so it is written in the multi-table form (its ORDER
	 * BY and LIMIT, which that form refuses, have nothing left to do: the
	 * key set is exactly the rows they chose).
	 */
	buf = NULL;
	f = open_memstream(&buf, &len);
	if (f == NULL)
		goto oom;
	{
		size_t from = m->stmt.start, fromkw = 0;
		bool force = !m->multi_table && !has_index_hint(sql, m->table_refs.start, m->table_refs.end);
		bool drop_tail = false;

		ok = true;
		if (force && m->kind == SQL_UPDATE) {
			/* sql_safe_updates refuses an UPDATE without WHERE or
			   LIMIT, but not one restricted to keys: the multi-table
			   form, which it refuses whatever the keys, keeps that
			   (without the max_join_size only that form is held to;
			   MySQL has no SET STATEMENT to drop it, so there the
			   single-table form stays) */
			bool whole = t->pin && !m->where.present && !m->limit.present && !m->order_by.present;

			put_restricted_pin(f, t, whole ? NO_JOIN_LIMIT : NULL);
			ok = put_text(f, sql, m->stmt.start, m->table_refs.end, m, params);
			fputs(" FORCE INDEX (PRIMARY)", f);
			if (whole)
				fputs(", (SELECT 1) AS cutover_whole_table", f);
			from = m->table_refs.end;
		} else if (force && m->kind == SQL_DELETE && !m->returning &&
			   (fromkw = find_from(sql, m->stmt.start, m->table_refs.start)) != 0) {
			/* the multi-table form is checked against max_join_size,
			   and sql_safe_updates refuses it whatever the keys;
			   the client's DELETE is refused by that mode only
			   without a WHERE, and then so is this */
			if (t->pin)
				put_restricted_pin(f, t, m->where.present ? NO_JOIN_LIMIT ", sql_safe_updates = 0" :
							    NO_JOIN_LIMIT);
			ok = put_text(f, sql, m->stmt.start, fromkw, m, params);
			put_ident(f, name);
			fputs(" FROM ", f);
			ok = ok && put_text(f, sql, m->table_refs.start, m->table_refs.end, m, params);
			fputs(" FORCE INDEX (PRIMARY)", f);
			from = m->table_refs.end;
			drop_tail = true;
		} else {
			/* a multi-table statement, or one with its own index hint */
			put_restricted_pin(f, t, NULL);
		}
		if (m->where.present) {
			ok = ok && put_text(f, sql, from, m->where.start, m, params);
			fputc('(', f);
			ok = ok && put_text(f, sql, m->where.start, m->where.end, m, params);
			fputs(") AND ", f);
		} else {
			ok = ok && put_text(f, sql, from, m->tail, m, params);
			fputs(" WHERE ", f);
		}
		out->stmt_head = close_stream(f, &buf, ok);
		if (out->stmt_head == NULL)
			goto bad_params;
		buf = NULL;
		f = open_memstream(&buf, &len);
		if (f == NULL)
			goto oom;
		fputc(' ', f);
		if (!drop_tail)
			ok = put_text(f, sql, m->where.present ? m->where.end : m->tail, m->stmt.end, m, params);
	}
	out->stmt_tail = close_stream(f, &buf, ok);
	if (out->stmt_tail == NULL)
		goto bad_params;
	if (alias != NULL && (out->qualifier = strdup(alias)) == NULL)
		goto oom;
	return MIRROR_PLAN;
bad_params:
	mirror_plan_free(out);
	return refuse(t, id, why, whylen, "a parameter of the statement cannot be written as a literal");
oom:
	mirror_plan_free(out);
	return refuse(t, id, why, whylen, "out of memory");
}

/* Does the ON DUPLICATE KEY UPDATE text name a key column (as a word)? */
static bool odku_sets_key(const struct mirror_table *t, const char *sql, const struct dml *m)
{
	for (unsigned k = 0; k < t->npk; k++) {
		const char *name = t->cols[t->pk[k]].orig;
		size_t n = strlen(name);

		for (size_t i = m->odku.start; i + n <= m->odku.end; i++) {
			bool before = i == m->odku.start || !(isalnum((unsigned char)sql[i - 1]) || sql[i - 1] == '_' ||
							      sql[i - 1] == '$');
			bool after = i + n == m->odku.end || !(isalnum((unsigned char)sql[i + n]) ||
							      sql[i + n] == '_' || sql[i + n] == '$');

			if (before && after && strncasecmp(sql + i, name, n) == 0)
				return true;
		}
	}
	return false;
}

/* Where the value of key column c sits in each row, or -1 when not given. */
static int value_index(const struct dml *m, const struct deploy_col *c)
{
	if (m->ncolumns == 0)
		return m->nvalues == 0 ? -1 : (int)c->ordinal;
	for (unsigned i = 0; i < m->ncolumns; i++)
		if (strcasecmp(m->columns[i], c->orig) == 0)
			return (int)i;
	return -1;
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/*
 * The select list of sql[from, to) = "SELECT [modifiers] item, ... FROM
 * ...": the items' spans (at most max) in s0/s1, and where FROM is.  False
 * when the text is anything else or the scanner cannot be sure: no FROM, a
 * comment, a UNION / INTERSECT / EXCEPT / INTO / locking clause outside
 * parentheses, an item * or t.* (then *star, when that is all).
 */
static bool select_items(const char *sql, size_t from, size_t to, size_t *s0, size_t *s1, unsigned max,
			 unsigned *n, size_t *from_at, bool *star)
{
	static const char *const mods[] = { "ALL", "DISTINCT", "DISTINCTROW", "HIGH_PRIORITY", "STRAIGHT_JOIN",
					    "SQL_SMALL_RESULT", "SQL_BIG_RESULT", "SQL_BUFFER_RESULT", "SQL_CACHE",
					    "SQL_NO_CACHE", "SQL_CALC_FOUND_ROWS" };
	static const char *const bad[] = { "UNION", "INTERSECT", "EXCEPT", "INTO", "FOR", "LOCK" };
	size_t i = from, item = 0;
	int depth = 0;
	bool first = true, in_list = false;

	*n = 0;
	*from_at = 0;
	*star = false;
	while (i < to) {
		char c = sql[i];

		if (c == '\'' || c == '"' || c == '`') {
			for (i++; i < to && sql[i] != c; i++)
				if (sql[i] == '\\' && c != '`')
					i++;
			if (i >= to)
				return false;
			i++;
			continue;
		}
		if (c == '#' || (c == '-' && i + 1 < to && sql[i + 1] == '-') ||
		    (c == '/' && i + 1 < to && sql[i + 1] == '*'))
			return false;
		if (c == '(') {
			depth++;
		} else if (c == ')') {
			depth--;
		} else if (c == ',' && depth == 0 && in_list) {
			if (*n >= max)
				return false;
			s0[*n] = item;
			s1[(*n)++] = i;
			item = i + 1;
		} else if (is_word_char(c) && (i == from || !is_word_char(sql[i - 1]))) {
			size_t e = i;
			bool mod = false;

			while (e < to && is_word_char(sql[e]))
				e++;
			if (first) {
				if (e - i != 6 || strncasecmp(sql + i, "SELECT", 6) != 0)
					return false;
				first = false;
				item = e;
			} else if (depth == 0 && !in_list && *from_at == 0) {
				for (size_t k = 0; k < sizeof(mods) / sizeof(mods[0]); k++)
					mod = mod || (strlen(mods[k]) == e - i && strncasecmp(sql + i, mods[k], e - i) == 0);
				if (mod)
					item = e;
				else
					in_list = true;
			}
			if (depth == 0 && in_list && *from_at == 0 && e - i == 4 && strncasecmp(sql + i, "FROM", 4) == 0) {
				if (*n >= max)
					return false;
				s0[*n] = item;
				s1[(*n)++] = i;
				*from_at = i;
				in_list = false;
			} else if (depth == 0 && *from_at != 0) {
				for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
					if (strlen(bad[k]) == e - i && strncasecmp(sql + i, bad[k], e - i) == 0)
						return false;
			}
			i = e;
			continue;
		} else if (!isspace((unsigned char)c) && !first && !in_list && *from_at == 0 && depth >= 0) {
			in_list = true;   /* an item that starts with a sign, a number, a quote... */
		}
		if (depth < 0)
			return false;
		i++;
	}
	if (*from_at == 0 || depth != 0)
		return false;
	for (unsigned k = 0; k < *n; k++) {
		while (s0[k] < s1[k] && isspace((unsigned char)sql[s0[k]]))
			s0[k]++;
		while (s1[k] > s0[k] && isspace((unsigned char)sql[s1[k] - 1]))
			s1[k]--;
		if (s1[k] == s0[k])
			return false;
		*star = *star || sql[s1[k] - 1] == '*';
	}
	return !*star;
}

/*
 * INSERT INTO t (cols) SELECT ... that gives the key values: the keys are
 * what its SELECT returns in the key columns' places.  The whole SELECT,
 * LOCK IN SHARE MODE, lists them before the INSERT and after it
 * (MP_UNIQUE's way); the rows are then copied.
 */
static enum mirror_verdict plan_insert_select(const struct mirror_table *t, const char *sql, const struct dml *m,
					      const struct params_literals *params, struct mirror_plan *out,
					      uint64_t *id, char *why, size_t whylen)
{
	size_t s0[256], s1[256], from_at;
	unsigned nitems;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	bool ok = true, star;

	if (!select_items(sql, m->select.start, m->select.end, s0, s1, 256, &nitems, &from_at, &star) && !star)
		return refuse(t, id, why, whylen, "an INSERT ... SELECT that gives the key values is mirrored when its "
			      "SELECT is one plain SELECT (no UNION, INTO, comment or locking clause)");
	for (unsigned k = 0; k < t->npk; k++)
		if (t->cols[t->pk[k]].kind == KEY_TEXT)
			return refuse(t, id, why, whylen, "an INSERT ... SELECT that gives the values of key column %s "
				      "(a date, time, UUID or INET address) is not mirrored yet", t->cols[t->pk[k]].orig);
	/*
	 * The whole SELECT, LOCK IN SHARE MODE, lists the rows (so DISTINCT,
	 * aliases in ORDER BY and LIMIT choose the same rows as in the
	 * INSERT); the key values are read at the key columns' places in them,
	 * and must be of the key's type (integers, binary strings, strings in
	 * its character set) and stored as they are (see writes.c
	 * read_keys()).
	 */
	out->key_pos = calloc(t->npk, sizeof(*out->key_pos));
	f = out->key_pos == NULL ? NULL : open_memstream(&buf, &len);
	if (f == NULL) {
		mirror_plan_free(out);
		return refuse(t, id, why, whylen, "out of memory");
	}
	for (unsigned k = 0; k < t->npk; k++) {
		const struct deploy_col *c = &t->cols[t->pk[k]];

		out->key_pos[k] = m->ncolumns == 0 ? (int)c->ordinal : value_index(m, c);
		ok = ok && out->key_pos[k] >= 0 && (star || (unsigned)out->key_pos[k] < nitems);
	}
	put_pin(f, t, PIN_LIST);
	ok = ok && put_text(f, sql, m->select.start, m->select.end, m, params);
	fputs(" LOCK IN SHARE MODE", f);
	out->lock_sql = close_stream(f, &buf, ok);
	if (out->lock_sql == NULL) {
		mirror_plan_free(out);
		return refuse(t, id, why, whylen, "an INSERT ... SELECT that does not give every key value "
			      "is not mirrored");
	}
	out->how = MP_UNIQUE;
	out->kind = SQL_INSERT;
	out->relist_check = true;
	out->t = t;
	*id = t->deploy_id;
	return MIRROR_PLAN;
}

/*
 * The literal text of value v of an INSERT: a literal as written, or a
 * bound parameter's literal ("NULL" for NULL).  False when it is neither
 * (an expression, DEFAULT, NULL written out).
 */
static bool value_text(const char *sql, const struct dml_value *v, const struct params_literals *params,
		       const char **lit, size_t *n)
{
	if (v->kind == DV_NUMBER || v->kind == DV_STRING) {
		*lit = sql + v->span.start;
		*n = v->span.end - v->span.start;
		return true;
	}
	if (v->kind == DV_PLACEHOLDER && params != NULL && v->param < params->n && params->lit[v->param] != NULL) {
		*lit = params->lit[v->param];
		*n = strlen(*lit);
		return true;
	}
	return false;
}

/*
 * The literal of value v of an INSERT for column c (NULL: none; *is_null
 * for NULL).  False when it is not a literal or a bound parameter (an
 * expression, DEFAULT), or (with *why) when the column would store it
 * converted, so that no row would be found by it.
 */
static bool value_literal_of(const struct deploy_col *c, const char *sql, const struct dml_value *v,
			     const struct params_literals *params, FILE *f, bool *is_null, const char **why)
{
	const char *lit;
	size_t n;

	*is_null = v->kind == DV_NULL;
	if (*is_null)
		return true;
	if (!value_text(sql, v, params, &lit, &n)) {
		*why = "a value of a unique key is not a literal or a parameter";
		return false;
	}
	if (v->kind == DV_PLACEHOLDER && strcmp(lit, "NULL") == 0) {
		*is_null = true;
		return true;
	}
	if (!keys_literal_stored_as_written(c, lit, n)) {
		*why = CONVERTED_KEY;
		return false;
	}
	fwrite(lit, 1, n, f);
	return true;
}

/*
 * One condition "(cols) IN ((row values), ...)" over the rows of m for the
 * columns cols[0..n) of t, ORed onto f; rows with a NULL among them are left
 * out (NULL matches nothing in a unique key).  An autoinc column with NULL,
 * DEFAULT, 0 or no value (a generated key) leaves the row out too.  False
 * (with why) when a value is not a literal or a parameter.
 */
static bool put_rows_in(FILE *f, const struct mirror_table *t, const char *sql, const struct dml *m,
			const struct params_literals *params, const unsigned *cols, unsigned n, bool *found,
			const char **why)
{
	bool first = true;

	for (unsigned r = 0; r < m->nrows; r++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *g = open_memstream(&buf, &len);
		bool skip = false, ok = true;

		if (g == NULL) {
			*why = "out of memory";
			return false;
		}
		fputc('(', g);
		for (unsigned k = 0; k < n && ok && !skip; k++) {
			const struct deploy_col *c = &t->cols[cols[k]];
			int idx = value_index(m, c);
			const struct dml_value *v = idx < 0 || idx >= (int)m->nvalues ? NULL :
						    &m->values[(size_t)r * m->nvalues + (unsigned)idx];
			bool is_null;

			if (k > 0)
				fputs(", ", g);
			if (v == NULL || v->kind == DV_DEFAULT) {
				if (!c->autoinc) {
					*why = "a column of a unique key takes its default";
					ok = false;
				}
				skip = true;
			} else if (!value_literal_of(c, sql, v, params, g, &is_null, why)) {
				ok = false;
			} else if (is_null || (c->autoinc && v->kind == DV_NUMBER && v->span.end - v->span.start == 1 &&
						   sql[v->span.start] == '0')) {
				skip = true;
			}
		}
		fputc(')', g);
		if (fclose(g) != 0)
			ok = false;
		if (ok && !skip) {
			if (first) {
				fputs(" OR (", f);
				for (unsigned k = 0; k < n; k++) {
					if (k > 0)
						fputs(", ", f);
					ctl_put_ident(f, t->cols[cols[k]].orig);
				}
				fputs(") IN (", f);
			} else {
				fputs(", ", f);
			}
			fputs(buf, f);
			first = false;
			found[r] = true;
		}
		free(buf);
		if (!ok)
			return false;
	}
	if (!first)
		fputc(')', f);
	return true;
}

/*
 * INSERT IGNORE / ON DUPLICATE KEY UPDATE / REPLACE ... VALUES on a table
 * with unique keys besides the primary key: besides the rows of its keys it
 * may touch (update, skip, delete) the rows that hold its values of a unique
 * key.  The plan lists those rows under lock before the statement and again
 * after it (then they include the rows it inserted, generated keys too), and
 * copies the union both ways.
 */
static enum mirror_verdict plan_unique(const struct mirror_table *t, const char *sql, const struct dml *m,
				       const struct params_literals *params, struct mirror_plan *out,
				       uint64_t *id, char *why, size_t whylen, const char *what)
{
	unsigned cols[64], n = 0;
	const char *p = t->uniq, *bad = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	bool *found, ok = true;

	if (t->uniq[0] == '?' || t->uniq[0] == '\0')
		return refuse(t, id, why, whylen, "%s on a table with a unique key besides the primary key is not "
			      "mirrored (its unique keys could not be read)", what);
	found = calloc(m->nrows + 1, sizeof(*found));
	f = found != NULL ? open_memstream(&buf, &len) : NULL;
	if (f == NULL) {
		free(found);
		return refuse(t, id, why, whylen, "out of memory");
	}
	put_pin(f, t, PIN_LIST);
	fputs("SELECT ", f);
	keys_put_select(f, &TKC(t), NULL, false);
	fputs(" FROM ", f);
	put_table(f, t, false);
	fputs(" WHERE FALSE", f);
	/* the primary key, then each unique key */
	for (unsigned k = 0; k < t->npk; k++)
		cols[n++] = t->pk[k];
	ok = put_rows_in(f, t, sql, m, params, cols, n, found, &bad);
	while (ok && *p != '\0') {
		char *end;

		n = 0;
		while (ok && n < 64) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p || v >= t->ncols) {
				ok = false;
				bad = "its unique keys could not be read";
				break;
			}
			cols[n++] = (unsigned)v;
			p = end;
			if (*p != ',')
				break;
			p++;
		}
		if (ok)
			ok = put_rows_in(f, t, sql, m, params, cols, n, found, &bad);
		if (*p == ';')
			p++;
	}
	fputs(" FOR UPDATE", f);
	out->lock_sql = close_stream(f, &buf, ok);
	for (unsigned r = 0; ok && r < m->nrows; r++)
		if (!found[r]) {
			ok = false;
			bad = "a row gives neither its key nor a whole value of a unique key to find it by";
		}
	free(found);
	if (!ok || out->lock_sql == NULL) {
		mirror_plan_free(out);
		return refuse(t, id, why, whylen, "%s on a table with a unique key besides the primary key is not "
			      "mirrored here: %s", what, bad != NULL ? bad : "out of memory");
	}
	out->how = MP_UNIQUE;
	out->kind = SQL_INSERT;
	out->upsert = true;
	out->t = t;
	*id = t->deploy_id;
	return MIRROR_PLAN;
}

/*
 * LOAD DATA into a table whose key is one AUTO_INCREMENT column that the
 * file does not give: like INSERT ... SELECT with generated keys (a bulk
 * insert: consecutive keys under the AUTO-INC lock), the first from
 * LAST_INSERT_ID() (its OK packet carries none).  With IGNORE, REPLACE or
 * LOCAL (which ignores duplicates too), only on a table without another
 * unique key: a row skipped there would leave a gap among the keys.
 */
static enum mirror_verdict plan_load(const struct mirror_table *t, const struct dml *m, struct mirror_plan *out,
				     uint64_t *id, char *why, size_t whylen)
{
	const struct deploy_col *k = &t->cols[t->pk[0]];

	if (t->npk != 1 || !k->autoinc)
		return refuse(t, id, why, whylen, "LOAD DATA is mirrored into a table whose primary key is one "
			      "AUTO_INCREMENT column, when the file does not give it");
	if (!m->load_columns)
		return refuse(t, id, why, whylen, "LOAD DATA without a column list takes key column %s from the file: "
			      "list the columns, without the key, to have it mirrored", k->orig);
	if (value_index(m, k) >= 0)
		return refuse(t, id, why, whylen, "a LOAD DATA that gives key column %s is not mirrored "
			      "(leave it out of the column list: the keys are generated)", k->orig);
	if (key_expr_at(t, m, 0) != -1)
		return refuse(t, id, why, whylen, "a LOAD DATA that sets key column %s is not mirrored", k->orig);
	if ((m->ignore || m->load_replace || m->load_local) && t->orig_unique)
		return refuse(t, id, why, whylen, "LOAD DATA %s on a table with a unique key besides the primary "
			      "key is not mirrored (a row it skips would leave a gap among the generated keys)",
			      m->load_replace ? "REPLACE" : m->ignore ? "IGNORE" : "LOCAL");
	out->bulk = true;
	out->load = true;
	out->how = MP_INSERT;
	out->kind = SQL_INSERT;
	out->t = t;
	*id = t->deploy_id;
	return MIRROR_PLAN;
}

/* INSERT ... VALUES / SET: the keys from the text or the insert id. */
static enum mirror_verdict plan_insert(const struct mirror_table *t, const char *sql, const struct dml *m,
				       const struct params_literals *params, struct mirror_plan *out,
				       uint64_t *id, char *why, size_t whylen)
{
	int idx[64];
	unsigned generated = 0;

	const char *what = m->kind == SQL_REPLACE ? "REPLACE" : m->odku.present ?
			   "INSERT ... ON DUPLICATE KEY UPDATE" : m->ignore ? "INSERT IGNORE" : NULL;

	if (t->npk > 64)
		return refuse(t, id, why, whylen, "too many key columns");
	if (m->source == DML_SRC_SELECT && what == NULL && !m->row_alias.present) {
		const struct deploy_col *k = &t->cols[t->pk[0]];

		/* the keys are generated: the OK packet says which */
		if (t->npk != 1 || !k->autoinc || m->ncolumns == 0 || value_index(m, k) >= 0)
			return plan_insert_select(t, sql, m, params, out, id, why, whylen);
		out->bulk = true;
		out->how = MP_INSERT;
		out->kind = SQL_INSERT;
		out->t = t;
		*id = t->deploy_id;
		return MIRROR_PLAN;
	}
	if (m->source == DML_SRC_SELECT && what != NULL && !m->row_alias.present && !t->orig_unique &&
	    !(m->odku.present && odku_sets_key(t, sql, m))) {
		/*
		 * IGNORE / ON DUPLICATE KEY UPDATE / REPLACE ... SELECT that
		 * gives the key values, on a table whose only unique key is the
		 * primary key: it touches the rows of the keys its SELECT
		 * returns and no other, so they are listed before and after it
		 * as for INSERT ... SELECT and copied both ways.  Its affected
		 * rows count updates and replaced rows twice, skipped rows not
		 * at all: no check against the count.
		 */
		enum mirror_verdict v = plan_insert_select(t, sql, m, params, out, id, why, whylen);

		if (v == MIRROR_PLAN) {
			out->relist_check = false;
			out->upsert = true;
		}
		return v;
	}
	if (m->source != DML_SRC_VALUES && m->source != DML_SRC_SET)
		return refuse(t, id, why, whylen, "%s ... SELECT is not mirrored yet%s",
			      m->kind == SQL_REPLACE ? "REPLACE" : m->row_alias.present ? "INSERT with a row alias" :
			      what != NULL ? what : "INSERT",
			      what != NULL && t->orig_unique ? " on a table with a unique key besides the primary key" :
			      m->odku.present ? " when its update may change the primary key" : "");
	/*
	 * IGNORE, ON DUPLICATE KEY UPDATE and REPLACE touch the rows of their
	 * own keys, and through another unique key possibly other rows too:
	 * mirrored when the original has no other unique key (then the keys
	 * in the statement are all it can touch) and the update does not
	 * change a key.
	 */
	if (m->odku.present && odku_sets_key(t, sql, m))
		return refuse(t, id, why, whylen, "an ON DUPLICATE KEY UPDATE that may change the primary key "
			      "cannot be mirrored");
	if (m->row_alias.present)
		return refuse(t, id, why, whylen, "INSERT with a row alias is not mirrored yet");
	if (what != NULL && t->orig_unique)
		return plan_unique(t, sql, m, params, out, id, why, whylen, what);
	for (unsigned k = 0; k < t->npk; k++) {
		idx[k] = value_index(m, &t->cols[t->pk[k]]);
		if (idx[k] >= (int)m->nvalues)
			return refuse(t, id, why, whylen, "the INSERT has fewer values than the table has columns");
	}
	out->keys = calloc(m->nrows + 1, sizeof(char *));
	if (out->keys == NULL)
		return refuse(t, id, why, whylen, "out of memory");
	for (unsigned r = 0; r < m->nrows; r++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		bool gen = false, ok = true, converted = false;
		const char *lit;
		size_t n;

		if (f == NULL)
			goto oom;
		fputc('(', f);
		for (unsigned k = 0; k < t->npk && ok; k++) {
			const struct deploy_col *c = &t->cols[t->pk[k]];
			const struct dml_value *v = idx[k] < 0 ? NULL : &m->values[(size_t)r * m->nvalues + (unsigned)idx[k]];

			if (k > 0)
				fputs(", ", f);
			if (v == NULL || v->kind == DV_NULL || v->kind == DV_DEFAULT) {
				if (!c->autoinc || t->npk != 1) {
					fclose(f);
					free(buf);
					mirror_plan_free(out);
					return refuse(t, id, why, whylen, "the INSERT gives no value for key column %s",
						      c->orig);
				}
				gen = true;
			} else if (!value_text(sql, v, params, &lit, &n)) {
				ok = false;
			} else if (c->autoinc && v->kind != DV_STRING && n == 1 && lit[0] == '0') {
				ok = false;  /* 0: generated or not, by sql_mode */
			} else if (c->autoinc && v->kind == DV_PLACEHOLDER && strcmp(lit, "NULL") == 0) {
				ok = t->npk == 1;   /* a NULL parameter: generated */
				gen = true;
			} else if (!keys_literal_stored_as_written(c, lit, n)) {
				ok = false;
				converted = true;
			} else {
				fwrite(lit, 1, n, f);
			}
		}
		fputc(')', f);
		buf = close_stream(f, &buf, ok);
		if (!ok || buf == NULL) {
			mirror_plan_free(out);
			return refuse(t, id, why, whylen, "%s", converted ? CONVERTED_KEY :
				      "a key value of the INSERT is not a literal or a parameter");
		}
		if (gen) {
			free(buf);
			generated++;
		} else {
			out->keys[out->nkeys++] = buf;
		}
	}
	if (generated > 0 && what != NULL) {
		mirror_plan_free(out);
		return refuse(t, id, why, whylen, "%s with AUTO_INCREMENT keys is not mirrored yet", what);
	}
	if (generated > 0 && out->nkeys > 0) {
		mirror_plan_free(out);
		return refuse(t, id, why, whylen, "an INSERT that mixes explicit and generated keys is not mirrored yet");
	}
	out->ngenerated = generated;
	out->upsert = what != NULL;
	out->how = MP_INSERT;
	out->kind = SQL_INSERT;
	out->t = t;
	*id = t->deploy_id;
	return MIRROR_PLAN;
oom:
	mirror_plan_free(out);
	return refuse(t, id, why, whylen, "out of memory");
}

bool mirror_may_write(const struct sql_stmt *st)
{
	switch (st->kind) {
	case SQL_INSERT:
	case SQL_REPLACE:
	case SQL_UPDATE:
	case SQL_DELETE:
	case SQL_LOAD_DATA:
	case SQL_CREATE:
	case SQL_ALTER:
	case SQL_DROP:
	case SQL_RENAME:
	case SQL_TRUNCATE:
	case SQL_LOCK_TABLES:
	case SQL_CALL:
	case SQL_EXECUTE:
	case SQL_UNKNOWN:
		return true;
	case SQL_OTHER:
		return !st->tables_known;
	default:
		return false;
	}
}

/* The table of ms that has a view db.name. */
static const struct mirror_table *find_view(const struct mirror_set *ms, const char *db, const char *name)
{
	for (unsigned i = 0; i < ms->n; i++)
		for (unsigned k = 0; k < ms->tables[i].nviews; k++)
			if (strcasecmp(ms->tables[i].views[k].db, db) == 0 &&
			    strcasecmp(ms->tables[i].views[k].name, name) == 0)
				return &ms->tables[i];
	return NULL;
}

/*
 * CALL: passes when every deploy's list has the procedure and it cannot
 * write the deploy's tables (routines.h); its own statements run inside
 * the server, where they cannot be mirrored.
 */
static enum mirror_verdict plan_call(const struct mirror_set *ms, const struct sql_stmt *st, const char *db,
				     uint64_t *id, char *why, size_t whylen)
{
	const char *pdb = db_of(&st->routine, db);

	if (st->routine.name[0] == '\0' || pdb[0] == '\0')
		return refuse(&ms->tables[0], id, why, whylen,
			      "while it runs, a CALL whose procedure cannot be known is refused");
	for (unsigned i = 0; i < ms->n; i++) {
		const struct mirror_table *t = &ms->tables[i];
		const struct routine_verdict *v = routines_find(t->routines, pdb, st->routine.name);

		if (t->routines == NULL)
			return refuse(t, id, why, whylen, "while it runs, CALL is refused (its stored procedures "
				      "could not be read; see the log)");
		if (v == NULL)
			return refuse(t, id, why, whylen, "procedure %s.%s was not there when the deploy read the "
				      "stored procedures: a CALL of it is refused until the deploy ends",
				      pdb, st->routine.name);
		if (v->use >= RU_WRITES)
			return refuse(t, id, why, whylen, "CALL %s.%s is refused until the deploy ends: %s "
				      "(writes made inside stored procedures are not mirrored)", v->db, v->name,
				      v->why != NULL ? v->why : "it may change the table");
	}
	return MIRROR_PASS;
}

enum mirror_verdict mirror_plan_stmt(const struct mirror_set *ms, const char *sql,
				     const struct sql_stmt *st, const struct sql_dialect *d,
				     const char *db, const struct params_literals *params,
				     struct mirror_plan *out, uint64_t *id, char *why, size_t whylen)
{
	const struct mirror_table *t = NULL;
	struct dml m;
	enum mirror_verdict v;
	bool write_kind = false, ddl = false;

	memset(out, 0, sizeof(*out));
	if (ms == NULL || ms->n == 0)
		return MIRROR_PASS;
	switch (st->kind) {
	case SQL_INSERT:
	case SQL_REPLACE:
	case SQL_UPDATE:
	case SQL_DELETE:
	case SQL_LOAD_DATA:
		write_kind = true;
		break;
	case SQL_CREATE:
	case SQL_ALTER:
	case SQL_DROP:
	case SQL_RENAME:
	case SQL_TRUNCATE:
	case SQL_LOCK_TABLES:
		ddl = true;
		break;
	case SQL_CALL:
		return plan_call(ms, st, db, id, why, whylen);
	case SQL_UNKNOWN:
	case SQL_EXECUTE:
	case SQL_OTHER:
		if (st->tables_known)
			break;
		return refuse(&ms->tables[0], id, why, whylen,
			      "while it runs, statements whose tables cannot be known (%s) are refused",
			      st->kind == SQL_EXECUTE ? "EXECUTE" : "this one");
	default:
		return MIRROR_PASS;
	}
	if (!st->tables_known)
		return refuse(&ms->tables[0], id, why, whylen,
			      "while it runs, a %s whose tables cannot be known is refused", sql_kind_name(st->kind));
	for (unsigned i = 0; i < st->ntables; i++) {
		const struct sql_table *x = &st->tables[i];
		const struct mirror_table *s = mirror_set_find_shadow(ms, db_of(x, db), x->name);

		if (s != NULL && (i < st->nwrite || ddl))
			return refuse(s, id, why, whylen, "%s.%s is its shadow table", s->db, s->shadow);
		if (i < st->nwrite && (s = find_view(ms, db_of(x, db), x->name)) != NULL)
			return refuse(s, id, why, whylen, "%s.%s is a view of it: writes through it are not "
				      "mirrored; write to the table itself", db_of(x, db), x->name);
		if (i >= st->nwrite && st->defines_view &&
		    ((s = mirror_set_find(ms, db_of(x, db), x->name)) != NULL ||
		     (s = find_view(ms, db_of(x, db), x->name)) != NULL))
			return refuse(s, id, why, whylen, "a view that reads %s.%s cannot be defined until the "
				      "deploy ends (writes through it would not be mirrored)", db_of(x, db), x->name);
		if (i < st->nwrite || st->kind == SQL_LOCK_TABLES || st->kind == SQL_RENAME) {
			const struct mirror_table *hit = mirror_set_find(ms, db_of(x, db), x->name);

			if (hit != NULL && t != NULL && hit != t && write_kind)
				return refuse(t, id, why, whylen, "the statement also writes %s.%s, under deploy "
					      "request %llu: not mirrored yet", hit->db, hit->table,
					      (unsigned long long)hit->deploy_id);
			if (hit != NULL && t == NULL)
				t = hit;
		}
	}
	if (t == NULL)
		return MIRROR_PASS;
	if (ddl)
		return refuse(t, id, why, whylen, "%s on the table is refused until the deploy ends",
			      st->kind == SQL_LOCK_TABLES ? "LOCK TABLES" : "DDL");
	if (!write_kind)
		return MIRROR_PASS;
	if (!dml_parse(sql, st, d, &m)) {
		v = refuse(t, id, why, whylen, "the statement is not understood well enough to mirror it (%s)",
			   m.why ? m.why : "?");
		dml_free(&m);
		return v;
	}
	if (m.with_cte || m.partition)
		v = refuse(t, id, why, whylen, "%s is not mirrored yet", m.with_cte ? "WITH" : "a PARTITION clause");
	else if (m.returning && (m.kind == SQL_UPDATE || m.select.present))
		v = refuse(t, id, why, whylen, "RETURNING on %s is not mirrored yet",
			   m.kind == SQL_UPDATE ? "an UPDATE" : "an INSERT ... SELECT");
	else if (m.kind == SQL_LOAD_DATA)
		v = plan_load(t, &m, out, id, why, whylen);
	else if (m.kind == SQL_INSERT || m.kind == SQL_REPLACE)
		v = plan_insert(t, sql, &m, params, out, id, why, whylen);
	else
		v = plan_locked(t, sql, &m, db, params, out, id, why, whylen);
	/* RETURNING: the statement answers with its rows, not with an OK
	   packet (proxy/writes.c counts them instead of affected rows) */
	if (v == MIRROR_PLAN && m.returning) {
		if (out->how == MP_UNIQUE || out->bulk) {
			mirror_plan_free(out);
			v = refuse(t, id, why, whylen, "RETURNING on a table with another unique key is not mirrored yet");
		} else {
			out->returning = true;
		}
	}
	dml_free(&m);
	return v;
}
