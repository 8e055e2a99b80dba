/*
 * routine.c - what stored programs may do to a set of tables (routine.h).
 *
 * Each body is read once, as words (scan_body()): which targets it
 * names, whether it holds a keyword that writes, whether it runs dynamic
 * SQL, and which other programs it names.  Then what a
 * program calls is folded in until nothing changes (a use only ever
 * grows, so this ends after at most n rounds).
 */
#include "config.h"
#include "protocol/routine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *routine_kind_name(char kind)
{
	return kind == 'P' ? "procedure" : kind == 'F' ? "function" : kind == 'T' ? "trigger" : "program";
}

const char *routine_use_name(enum routine_use u)
{
	switch (u) {
	case RU_NONE:
		return "none";
	case RU_READS:
		return "reads";
	case RU_WRITES:
		return "writes";
	case RU_UNKNOWN:
		return "unknown";
	}
	return "?";
}

/* What one pass over a body found. */
struct scan {
	int target;             /* the first target named, or -1 */
	bool writes;            /* a keyword that changes data or schema */
	bool dynamic;           /* PREPARE or EXECUTE */
	size_t *callees;        /* indexes into r[] */
	size_t ncallees, cap;
};

/* Index of callable programs, sorted by (db, name) without case. */
struct callables {
	const struct routine *r;
	const struct routine **idx;
	size_t n;
};

static int cmp_callable(const void *a, const void *b)
{
	const struct routine *x = *(const struct routine *const *)a, *y = *(const struct routine *const *)b;
	int c = strcasecmp(x->db, y->db);

	return c != 0 ? c : strcasecmp(x->name, y->name);
}

static bool add_callee(struct scan *sc, size_t k)
{
	for (size_t i = 0; i < sc->ncallees; i++)
		if (sc->callees[i] == k)
			return true;
	if (sc->ncallees == sc->cap) {
		size_t cap = sc->cap ? 2 * sc->cap : 8;
		size_t *p = realloc(sc->callees, cap * sizeof(*p));

		if (p == NULL)
			return false;
		sc->callees = p;
		sc->cap = cap;
	}
	sc->callees[sc->ncallees++] = k;
	return true;
}

/*
 * Every callable program named (db, name) (they are adjacent in c->idx)
 * that the place of the name can call: a procedure after CALL, a function
 * before '('.
 */
static bool find_callees(const struct callables *c, const char *db, const char *name, size_t self,
			 bool after_call, bool before_paren, struct scan *sc)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct routine *m = c->idx[mid];
		int cmp = strcasecmp(m->db, db);

		if (cmp == 0)
			cmp = strcasecmp(m->name, name);
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->n; lo++) {
		const struct routine *m = c->idx[lo];

		if (strcasecmp(m->db, db) != 0 || strcasecmp(m->name, name) != 0)
			break;
		if (m->kind == 'P' ? !after_call : !before_paren)
			continue;
		if ((size_t)(m - c->r) != self && !add_callee(sc, (size_t)(m - c->r)))
			return false;
	}
	return true;
}

/* A byte of a word: what an unquoted identifier or keyword is made of. */
static bool word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '$' || c >= 0x80;
}

static bool all_word(const char *s)
{
	for (; *s != '\0'; s++)
		if (!word_byte((unsigned char)*s))
			return false;
	return true;
}

/* Does s[0, len) hold needle, without regard to ASCII case? */
static bool contains(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n > 0 && i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return true;
	return false;
}

static bool word_is(const char *b, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(b, kw, n) == 0;
}

static bool write_keyword(const char *b, size_t n)
{
	static const char *const kw[] = { "INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD", "TRUNCATE",
					  "ALTER", "DROP", "RENAME", "CREATE" };

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (word_is(b, n, kw[i]))
			return true;
	return false;
}

/* A blank or an identifier quote: what may stand between a name and its
   qualifier, CALL or '(' (comments too: skip_back, skip_forward). */
static bool gap_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '`' || c == '"';
}

/* Where the line comment ("-- ", "#") on the line of s[i - 1] starts, or
   i when none.  Strings are not told apart: a '#' in a string moves the
   reading back further than needed, which can only find more calls. */
static size_t line_comment_start(const char *s, size_t i)
{
	size_t ls = i;

	while (ls > 0 && s[ls - 1] != '\n')
		ls--;
	for (size_t k = ls; k < i; k++)
		if (s[k] == '#' || (s[k] == '-' && k + 1 < i && s[k + 1] == '-' &&
				    (k + 2 == i || (unsigned char)s[k + 2] <= ' ')))
			return k;
	return i;
}

/* Skip blanks, identifier quotes and comments backwards from s[i - 1];
   the new i. */
static size_t skip_back(const char *s, size_t i)
{
	for (;;) {
		bool newline = false;

		while (i > 0 && gap_byte(s[i - 1])) {
			newline = newline || s[i - 1] == '\n';
			i--;
		}
		if (i >= 4 && s[i - 1] == '/' && s[i - 2] == '*') {
			size_t j = i - 2;

			while (j >= 2 && !(s[j - 2] == '/' && s[j - 1] == '*'))
				j--;
			if (j >= 2) {
				i = j - 2;
				continue;
			}
		}
		if (newline && line_comment_start(s, i) < i) {
			i = line_comment_start(s, i);
			continue;
		}
		return i;
	}
}

/* Skip blanks, identifier quotes and comments forwards from s[i]; the new
   i (len at the end). */
static size_t skip_forward(const char *s, size_t len, size_t i)
{
	while (i < len) {
		if (gap_byte(s[i])) {
			i++;
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			i += 2;
			while (i < len && !(s[i - 1] == '*' && s[i] == '/'))
				i++;
			i++;
		} else if (s[i] == '#' || (s[i] == '-' && i + 2 < len && s[i + 1] == '-' &&
					   (unsigned char)s[i + 2] <= ' ')) {
			while (i < len && s[i] != '\n')
				i++;
		} else {
			break;
		}
	}
	return i < len ? i : len;
}

/*
 * The word before a '.' that ends at s[at - 1] (blanks and quotes
 * between), as [*qs, *qe); false when there is no such qualifier.
 */
static bool qualifier(const char *s, size_t at, size_t *qs, size_t *qe)
{
	size_t i = skip_back(s, at);

	if (i == 0 || s[i - 1] != '.')
		return false;
	i = skip_back(s, i - 1);
	*qe = i;
	while (i > 0 && word_byte((unsigned char)s[i - 1]))
		i--;
	*qs = i;
	return *qs < *qe;
}

static bool names(const char *b, size_t n, const char *db, const char *want_db, const char *want_name)
{
	return strlen(want_name) == n && strncasecmp(b, want_name, n) == 0 && strcasecmp(db, want_db) == 0;
}

/*
 * Read r[self]'s body as words; false when out of memory.  Words are runs
 * of identifier bytes: quotes, strings and comments are not told apart,
 * so a name in a string or a comment counts too (information_schema shows
 * a routine's body with its string escapes already undone: the text does
 * not lex as SQL any more, but its words are all there).
 */
static bool scan_body(const struct routine *r, size_t self, const struct callables *c,
		      const struct sql_table *targets, size_t nt, struct scan *sc)
{
	const struct routine *me = &r[self];
	const char *s = me->body;
	size_t len = me->body_len, i = 0;
	char db[SQL_NAME_SIZE], word[SQL_NAME_SIZE];

	memset(sc, 0, sizeof(*sc));
	sc->target = -1;
	/* a name that is not all word bytes (`my-table`): found anywhere */
	for (size_t k = 0; k < nt && sc->target < 0; k++)
		if (!all_word(targets[k].name) && contains(s, len, targets[k].name))
			sc->target = (int)k;
	while (i < len) {
		size_t start, qs, qe;
		bool qualified, column = false;

		if (!word_byte((unsigned char)s[i])) {
			i++;
			continue;
		}
		start = i;
		while (i < len && word_byte((unsigned char)s[i]))
			i++;
		if (write_keyword(s + start, i - start))
			sc->writes = true;
		/* dynamic SQL: not allowed in functions and triggers */
		if (me->kind == 'P' && (word_is(s + start, i - start, "PREPARE") ||
					word_is(s + start, i - start, "EXECUTE")))
			sc->dynamic = true;
		if (i - start >= SQL_NAME_SIZE)
			continue;
		/* unqualified names resolve in the program's own database;
		   db.table.column: the column is no table */
		qualified = qualifier(s, start, &qs, &qe);
		if (qualified) {
			size_t q2s, q2e;

			column = qualifier(s, qs, &q2s, &q2e);
			if (qe - qs >= SQL_NAME_SIZE)
				continue;
			memcpy(db, s + qs, qe - qs);
			db[qe - qs] = '\0';
		} else {
			memcpy(db, me->db, sizeof(db));
		}
		if (column)
			continue;
		for (size_t k = 0; k < nt && sc->target < 0; k++)
			if (names(s + start, i - start, db, targets[k].db, targets[k].name))
				sc->target = (int)k;
		memcpy(word, s + start, i - start);
		word[i - start] = '\0';
		{
			size_t b = skip_back(s, qualified ? qs : start), ws = b, a = skip_forward(s, len, i);

			while (ws > 0 && word_byte((unsigned char)s[ws - 1]))
				ws--;
			if (!find_callees(c, db, word, self, word_is(s + ws, b - ws, "CALL"), a < len && s[a] == '(',
					  sc))
				return false;
		}
	}
	return true;
}

bool routines_classify(struct routine *r, size_t n, const struct sql_table *targets, size_t nt)
{
	struct scan *sc = calloc(n + 1, sizeof(*sc));
	struct callables c = { r, calloc(n + 1, sizeof(*c.idx)), 0 };
	bool ok = sc != NULL && c.idx != NULL;
	bool changed;

	for (size_t i = 0; ok && i < n; i++)
		if (r[i].kind == 'P' || r[i].kind == 'F')
			c.idx[c.n++] = &r[i];
	if (ok)
		qsort(c.idx, c.n, sizeof(*c.idx), cmp_callable);
	for (size_t i = 0; i < n; i++) {
		struct routine *x = &r[i];
		x->use = RU_UNKNOWN;
		x->why[0] = '\0';
		if (!ok)
			continue;
		if (x->body == NULL) {
			snprintf(x->why, sizeof(x->why), "its definition cannot be read (the cutover user needs "
				 "SELECT on mysql.proc, or to be its definer)");
			continue;
		}
		if (!scan_body(r, i, &c, targets, nt, &sc[i])) {
			ok = false;
			continue;
		}
		if (sc[i].dynamic) {
			snprintf(x->why, sizeof(x->why), "it runs dynamic SQL (PREPARE/EXECUTE)");
		} else if (sc[i].target >= 0) {
			const struct sql_table *tg = &targets[sc[i].target];

			x->use = sc[i].writes ? RU_WRITES : RU_READS;
			snprintf(x->why, sizeof(x->why), "it names %s.%s%s", tg->db, tg->name,
				 sc[i].writes ? " and writes" : "");
		} else {
			x->use = RU_NONE;
		}
	}
	/* fold in what each program calls */
	do {
		changed = false;
		for (size_t i = 0; ok && i < n; i++) {
			struct routine *x = &r[i];

			for (size_t k = 0; k < sc[i].ncallees && x->use < RU_UNKNOWN; k++) {
				const struct routine *y = &r[sc[i].callees[k]];
				enum routine_use u = y->use;

				if (u == RU_NONE)
					continue;
				if (u == RU_READS && sc[i].writes)
					u = RU_WRITES;
				if (u <= x->use)
					continue;
				x->use = u;
				snprintf(x->why, sizeof(x->why), "it calls %s %s.%s, which %s%s", routine_kind_name(y->kind),
					 y->db, y->name,
					 y->use == RU_READS ? "reads it" : y->use == RU_WRITES ? "may write it"
											       : "cannot be analysed",
					 u > y->use ? ", and it writes" : "");
				changed = true;
			}
		}
	} while (changed);
	for (size_t i = 0; i < n; i++)
		free(sc[i].callees);
	free(sc);
	free(c.idx);
	if (!ok)
		for (size_t i = 0; i < n; i++) {
			r[i].use = RU_UNKNOWN;
			snprintf(r[i].why, sizeof(r[i].why), "out of memory");
		}
	return ok;
}
