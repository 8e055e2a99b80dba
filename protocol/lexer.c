/*
 * lexer.c - SQL tokenizer and statement splitter, and the public entry
 * points of lexer.h.  The statement classifier is classify.c; what the two
 * share is in lexer-internal.h.
 *
 * Three layers, each reading only the one below it:
 *
 *   lex_next()     the tokenizer: one token at a time from a small copyable
 *                  state (struct lex), so a look-ahead is a struct copy.
 *   split_next()   finds where a statement ends: the next ';' token, except
 *                  inside a stored program or compound statement, where
 *                  BEGIN/IF/CASE/LOOP/WHILE/REPEAT/FOR ... END nest.
 *   classify()     (classify.c) a small recursive-descent walk over the
 *                  tokens of one statement: its kind from the leading
 *                  words, then the table references in the places the
 *                  grammar puts them (FROM and JOIN lists, DML and DDL
 *                  targets, subqueries).
 *
 * The tokenizer follows struct sql_dialect; where the dialect leaves the
 * meaning of the text open it reads it the common way and sets the sticky
 * `unsure`, which makes this and every later statement unknown.
 *
 * Every loop consumes a token or ends; recursion depth is capped
 * (WALK_MAX_DEPTH, in classify.c) and nesting deeper than that is skipped
 * iteratively with the table list marked unknown.  The one look-ahead that
 * is not bounded by a constant (does this IF open a block?) draws on a
 * per-statement budget.
 */
#include "protocol/lexer.h"
#include "protocol/lexer-internal.h"

#include <stdlib.h>
#include <string.h>

/* --- tokens --------------------------------------------------------------- */

/* Byte classes, one table lookup per byte in the scanning loops. */
enum { C_SPACE = 1, C_DIGIT = 2, C_IDENT = 4 };

static const unsigned char cclass[256] = {
	[' '] = C_SPACE, ['\t'] = C_SPACE, ['\n'] = C_SPACE, ['\r'] = C_SPACE,
	['\f'] = C_SPACE, ['\v'] = C_SPACE,
	['0' ... '9'] = C_DIGIT | C_IDENT,
	['a' ... 'z'] = C_IDENT, ['A' ... 'Z'] = C_IDENT, ['_'] = C_IDENT, ['$'] = C_IDENT,
	[0x80 ... 0xff] = C_IDENT,      /* UTF-8 (or any 8-bit) letters */
};

static bool is_digit(unsigned char c)
{
	return cclass[c] & C_DIGIT;
}

static bool is_space(unsigned char c)
{
	return cclass[c] & C_SPACE;
}

static bool is_ident_byte(unsigned char c)
{
	return cclass[c] & C_IDENT;
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}


static void lex_init(struct lex *lx, const char *s, size_t len, const struct sql_dialect *d)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = s;
	lx->len = len;
	lx->end = len;
	lx->d = d;
	lx->prev = TK_EOF;
}

/*
 * Offset just past the quoted run that opens at `p` with quote `q`; with
 * esc, a backslash escapes the next byte.
 */
static size_t scan_quoted(struct lex *lx, size_t p, char q, bool esc)
{
	const char *s = lx->s;
	size_t i = p + 1;

	while (i < lx->len) {
		if (esc && s[i] == '\\') {
			i += 2;
			continue;
		}
		if (s[i] == q) {
			if (i + 1 < lx->len && s[i + 1] == q) {
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	lx->unterminated = true;
	return lx->len;
}

static size_t scan_ident(const struct lex *lx, size_t i)
{
	while (i < lx->len && is_ident_byte((unsigned char)lx->s[i]))
		i++;
	return i;
}

static size_t scan_digits(const struct lex *lx, size_t i)
{
	while (i < lx->len && is_digit((unsigned char)lx->s[i]))
		i++;
	return i;
}

/* [eE][+-]digits at i, if there; returns the offset after it or i. */
static size_t scan_exponent(const struct lex *lx, size_t i)
{
	size_t j = i;

	if (j >= lx->len || up((unsigned char)lx->s[j]) != 'E')
		return i;
	j++;
	if (j < lx->len && (lx->s[j] == '+' || lx->s[j] == '-'))
		j++;
	if (j >= lx->len || !is_digit((unsigned char)lx->s[j]))
		return i;
	return scan_digits(lx, j);
}

/*
 * A run of identifier bytes [p, q) that starts with a digit: is it a
 * number (123, 0x1f, 0b101, 1e5)?  Returns the number's end (it may extend
 * past q for "1.5", "1e+5") or 0 when the run is an identifier ("1abc").
 */
static size_t number_end(const struct lex *lx, size_t p, size_t q)
{
	const char *s = lx->s;
	size_t i = scan_digits(lx, p);

	if (i == q) {
		if (i < lx->len && s[i] == '.') {
			i = scan_digits(lx, i + 1);
			return scan_exponent(lx, i);
		}
		return scan_exponent(lx, i);
	}
	if (q - p > 2 && s[p] == '0' && (s[p + 1] == 'x' || s[p + 1] == 'b')) {
		for (i = p + 2; i < q; i++)
			if (s[p + 1] == 'x' ? !is_hex((unsigned char)s[i]) : (s[i] != '0' && s[i] != '1'))
				return 0;
		return q;
	}
	if (up((unsigned char)s[i]) == 'E') {
		size_t e = scan_exponent(lx, i);
		if (e > i && e >= q)
			return e;
		if (i + 1 == q)   /* "1e" then not a valid exponent */
			return 0;
	}
	return 0;
}

/*
 * A "..." run at p (also the name of @"var"): a string, or with ANSI_QUOTES
 * an identifier, in which a backslash escapes nothing.  When the dialect
 * does not say which and a backslash could end the run in one reading and
 * not in the other, the lexer is unsure from here on.  Returns the end.
 */
static size_t scan_double_quoted(struct lex *lx, size_t p, bool *ident)
{
	bool esc = !lx->d->no_backslash_escapes;
	size_t q;

	*ident = lx->d->double_quotes == SQL_QUOTES_IDENT;
	if (*ident)
		return scan_quoted(lx, p, '"', false);
	q = scan_quoted(lx, p, '"', esc);
	if (esc && lx->d->double_quotes == SQL_QUOTES_UNKNOWN && memchr(lx->s + p, '\\', q - p))
		lx->unsure = true;
	return q;
}

/* Skip a comment body from q to just past its "* /"; nothing is nested. */
static size_t skip_comment(struct lex *lx, size_t q)
{
	for (; q + 1 < lx->len; q++)
		if (lx->s[q] == '*' && lx->s[q + 1] == '/')
			return q + 2;
	lx->unterminated = true;
	return lx->len;
}

/*
 * Skip the body of an executable comment the server does not execute:
 * raw bytes to the first "* /", one nested "/ * ... * /" allowed (the
 * servers' rule: quotes mean nothing in there).
 */
static size_t skip_versioned(struct lex *lx, size_t q)
{
	for (; q + 1 < lx->len; q++) {
		if (lx->s[q] == '/' && lx->s[q + 1] == '*')
			q = skip_comment(lx, q + 2) - 1;
		else if (lx->s[q] == '*' && lx->s[q + 1] == '/')
			return q + 2;
	}
	lx->unterminated = true;
	return lx->len;
}

/* What the server does with an executable comment. */
enum exec_action { EXEC_CODE, EXEC_SKIP, EXEC_UNSURE };

/*
 * Decide for the executable comment whose marker ("/ *!" or, with
 * mariadb_marker, "/ *M!") ends at *q; *q is moved past its version digits.
 * MySQL reads 5 digits and runs the body when they are <= its version;
 * MariaDB reads 5 or 6, skips 50700..99999 (MySQL-only syntax) and
 * otherwise compares with its own; MySQL never runs "/ *M!".  What is not
 * known is decided the way every supported server (MySQL 5.7+, MariaDB
 * 10+) agrees on, or is EXEC_UNSURE.
 */
static enum exec_action exec_comment(struct lex *lx, size_t *q, bool mariadb_marker)
{
	const struct sql_dialect *d = lx->d;
	size_t n = scan_digits(lx, *q) - *q;
	unsigned long v = 0;
	bool six = n >= 6;

	if (mariadb_marker && d->flavor == SQL_FLAVOR_MYSQL)
		return EXEC_SKIP;
	if (n < 5)
		return mariadb_marker && d->flavor == SQL_FLAVOR_UNKNOWN ? EXEC_UNSURE : EXEC_CODE;
	if (d->flavor == SQL_FLAVOR_MYSQL)
		n = 5;
	else
		n = six ? 6 : 5;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(lx->s[*q + i] - '0');
	*q += n;
	switch (d->flavor) {
	case SQL_FLAVOR_MYSQL:
		if (d->version)
			return v <= d->version ? EXEC_CODE : EXEC_SKIP;
		return v < 50700 ? EXEC_CODE : EXEC_UNSURE;
	case SQL_FLAVOR_MARIADB:
		if (!mariadb_marker && v >= 50700 && v < 100000)
			return EXEC_SKIP;
		if (d->version)
			return v <= d->version ? EXEC_CODE : EXEC_SKIP;
		return v < (mariadb_marker ? 100000ul : 50700ul) ? EXEC_CODE : EXEC_UNSURE;
	default:
		return !mariadb_marker && !six && v < 50700 ? EXEC_CODE : EXEC_UNSURE;
	}
}

/*
 * Read the next token into *t.  Whitespace and comments are skipped; the
 * markers of executable comments are skipped and their content lexed.
 * Returns TK_EOF at lx->end.  Never reads at or past lx->len.
 */
void lex_next(struct lex *lx, struct tok *t)
{
	const char *s = lx->s;

	memset(t, 0, sizeof(*t));
	for (;;) {
		size_t p = lx->pos, len = lx->len;
		enum exec_action action;
		unsigned char c;

		if (p >= lx->end) {
			t->type = TK_EOF;
			t->pos = lx->end;
			return;
		}
		c = (unsigned char)s[p];
		if (is_space(c)) {
			lx->pos++;
			continue;
		}
		if (c == '*' && lx->in_exec && p + 1 < len && s[p + 1] == '/') {
			lx->pos += 2;
			lx->in_exec = false;
			continue;
		}
		if (c == '#' || (c == '-' && p + 1 < len && s[p + 1] == '-' &&
				 (p + 2 >= len || (unsigned char)s[p + 2] <= ' ' || s[p + 2] == 0x7f))) {
			const char *nl = memchr(s + p, '\n', len - p);
			lx->pos = nl ? (size_t)(nl - s) + 1 : len;
			continue;
		}
		if (c == '/' && p + 1 < len && s[p + 1] == '*') {
			size_t q = p + 2;
			bool bang = q < len && s[q] == '!';
			bool mbang = !bang && q + 1 < len && s[q] == 'M' && s[q + 1] == '!';

			if (!bang && !mbang) {
				lx->pos = skip_comment(lx, q);
				continue;
			}
			q += bang ? 1 : 2;
			action = exec_comment(lx, &q, mbang);
			if (action == EXEC_SKIP) {
				lx->pos = skip_versioned(lx, q);
			} else {                /* EXEC_UNSURE: lexed as code */
				lx->unsure |= action == EXEC_UNSURE;
				lx->pos = q;
				lx->in_exec = true;
			}
			continue;
		}
		break;
	}

	size_t p = lx->pos;
	unsigned char c = (unsigned char)s[p];
	size_t q = p + 1;

	t->pos = p;
	if (c == '\'') {
		t->type = TK_STRING;
		q = scan_quoted(lx, p, '\'', !lx->d->no_backslash_escapes);
	} else if (c == '"') {
		bool ident;
		q = scan_double_quoted(lx, p, &ident);
		t->type = ident ? TK_QIDENT : TK_STRING;
	} else if (c == '`') {
		t->type = TK_QIDENT;
		q = scan_quoted(lx, p, '`', false);
	} else if (c == '@' && q < lx->len && s[q] == '@') {
		size_t a, b;
		/* @@name, @@scope.name, @@`name` */
		t->type = TK_SYSVAR;
		q++;
		for (int part = 0; part < 2; part++) {
			a = q;
			if (q < lx->len && s[q] == '`') {
				q = scan_quoted(lx, q, '`', false);
				b = q;
				if (b > a + 1) {
					a++;
					if (s[b - 1] == '`')
						b--;
				}
			} else {
				q = scan_ident(lx, q);
				b = q;
			}
			t->spos = t->npos;
			t->slen = t->nlen;
			t->npos = a;
			t->nlen = b - a;
			if (part == 0 && !(q + 1 < lx->len && s[q] == '.' &&
					   (is_ident_byte((unsigned char)s[q + 1]) || s[q + 1] == '`')))
				break;
			if (part == 0)
				q++;
		}
	} else if (c == '@') {
		bool ident;
		t->type = TK_VAR;
		if (q < lx->len && s[q] == '"')
			q = scan_double_quoted(lx, q, &ident);
		else if (q < lx->len && (s[q] == '\'' || s[q] == '`'))
			q = scan_quoted(lx, q, s[q], s[q] == '\'' && !lx->d->no_backslash_escapes);
		else
			while (q < lx->len && (is_ident_byte((unsigned char)s[q]) || s[q] == '.'))
				q++;
	} else if (c == '?') {
		t->type = TK_PARAM;
	} else if (c == ';') {
		t->type = TK_SEMI;
	} else if (is_ident_byte(c)) {
		size_t e;
		q = scan_ident(lx, p);
		t->type = TK_WORD;
		/* after "x." a run is a name even when it starts with a digit */
		if (is_digit(c) && !(lx->prev == TK_PUNCT && lx->prev_ch == '.') &&
		    (e = number_end(lx, p, q)) != 0) {
			t->type = TK_NUMBER;
			q = e;
		}
	} else if (c == '.' && q < lx->len && is_digit((unsigned char)s[q]) &&
		   !((lx->prev == TK_WORD || lx->prev == TK_QIDENT) && lx->prev_end == p)) {
		/* ".5", but "t.5" is a qualified name (the server's rule too) */
		t->type = TK_NUMBER;
		q = scan_exponent(lx, scan_digits(lx, q));
	} else {
		t->type = TK_PUNCT;
		if (c == ':' && q < lx->len && s[q] == '=')
			q++;
	}
	t->len = q - p;
	lx->pos = q;
	lx->prev = t->type;
	lx->prev_ch = (char)c;
	lx->prev_end = q;
}

/* --- splitting ------------------------------------------------------------- */

/*
 * Statements that carry a body of statements separated by ';': stored
 * programs (CREATE/ALTER ... PROCEDURE, FUNCTION, TRIGGER, EVENT, PACKAGE)
 * and MariaDB's compound statements outside them (BEGIN NOT ATOMIC, IF,
 * CASE, LOOP, WHILE, REPEAT, FOR, "label:").  `first` is the statement's
 * first token, `after` the lexer just past it.
 */
bool starts_compound(const struct lex *after, const struct tok *first)
{
	const char *s = after->s;
	struct lex lx = *after;
	struct tok t, t2;

	if (first->type != TK_WORD)
		return false;
	lex_next(&lx, &t);
	if (tok_is(s, first, "BEGIN"))
		return tok_is(s, &t, "NOT");
	if (tok_is(s, first, "IF") || tok_is(s, first, "CASE") || tok_is(s, first, "LOOP") ||
	    tok_is(s, first, "WHILE") || tok_is(s, first, "REPEAT"))
		return true;
	if (tok_is(s, first, "FOR")) {
		lex_next(&lx, &t2);
		return t.type == TK_WORD && tok_is(s, &t2, "IN");
	}
	if (tok_punct(&t, s, ':'))
		return true;
	if (!tok_is(s, first, "CREATE") && !tok_is(s, first, "ALTER"))
		return false;
	for (int i = 0; i < 32 && t.type != TK_EOF && t.type != TK_SEMI; i++, lex_next(&lx, &t)) {
		if (tok_is(s, &t, "PROCEDURE") || tok_is(s, &t, "FUNCTION") ||
		    tok_is(s, &t, "TRIGGER") || tok_is(s, &t, "EVENT") || tok_is(s, &t, "PACKAGE"))
			return true;
		if (tok_is(s, &t, "TABLE") || tok_is(s, &t, "VIEW") || tok_is(s, &t, "INDEX") ||
		    tok_is(s, &t, "DATABASE") || tok_is(s, &t, "SCHEMA") || tok_is(s, &t, "USER") ||
		    tok_is(s, &t, "SEQUENCE") || tok_is(s, &t, "ROLE") || tok_is(s, &t, "SERVER") ||
		    tok_is(s, &t, "TABLESPACE") || tok_is(s, &t, "LOGFILE") ||
		    tok_is(s, &t, "RESOURCE") || tok_is(s, &t, "SPATIAL"))
			return false;
	}
	return false;
}

/*
 * In a body, does the IF just read (the lexer is past it) open an IF
 * statement rather than call IF() or say IF [NOT] EXISTS?  It does when a
 * THEN follows before anything that ends a condition.  On true, *lx is
 * moved past that THEN, so IF() calls inside the condition are not looked
 * at again.  When *budget runs out the answer is true: a statement too
 * long to tell is kept whole rather than split inside a body.
 */
static bool if_opens_block(struct lex *lx, unsigned long *budget)
{
	const char *s = lx->s;
	struct lex la = *lx;
	struct tok t;
	size_t paren = 0, cases = 0;

	for (;;) {
		if (*budget == 0)
			return true;
		(*budget)--;
		lex_next(&la, &t);
		if (t.type == TK_EOF || t.type == TK_SEMI)
			return false;
		if (tok_punct(&t, s, '(')) {
			paren++;
			continue;
		}
		if (tok_punct(&t, s, ')')) {
			if (paren == 0)
				return false;
			paren--;
			continue;
		}
		if (paren > 0)
			continue;
		if (tok_is(s, &t, "CASE")) {
			cases++;
		} else if (tok_is(s, &t, "END")) {
			if (cases == 0)
				return false;
			cases--;
		} else if (cases > 0) {
			continue;
		} else if (tok_is(s, &t, "THEN")) {
			*lx = la;
			return true;
		} else if (tok_punct(&t, s, ',') || tok_is(s, &t, "WHEN") || tok_is(s, &t, "ELSE") ||
			   tok_is(s, &t, "ELSEIF") || tok_is(s, &t, "BEGIN") || tok_is(s, &t, "DO") ||
			   tok_is(s, &t, "LOOP") || tok_is(s, &t, "REPEAT") || tok_is(s, &t, "DECLARE")) {
			return false;
		}
	}
}

/*
 * Read one statement from *lx.  Returns the offset where it ends (its ';'
 * or the end of input) and sets *semi when a ';' ended it; *lx is then
 * past the ';'.
 */
static size_t split_next(struct lex *lx, bool *semi)
{
	const char *s = lx->s;
	struct tok t, n;
	unsigned long budget = 1ul << 20;
	size_t depth = 0;
	bool compound;

	*semi = false;
	lex_next(lx, &t);
	compound = starts_compound(lx, &t);
	for (;; lex_next(lx, &t)) {
		if (t.type == TK_EOF)
			return t.pos;
		if (t.type == TK_SEMI && depth == 0) {
			*semi = true;
			return t.pos;
		}
		if (!compound || t.type != TK_WORD)
			continue;
		if (tok_is(s, &t, "BEGIN") || tok_is(s, &t, "CASE") || tok_is(s, &t, "LOOP") ||
		    tok_is(s, &t, "WHILE")) {
			depth++;
		} else if (tok_is(s, &t, "REPEAT")) {
			struct lex la = *lx;
			lex_next(&la, &n);
			if (!tok_punct(&n, s, '('))
				depth++;
		} else if (tok_is(s, &t, "FOR")) {
			struct lex la = *lx;
			lex_next(&la, &n);
			if (n.type == TK_WORD || n.type == TK_QIDENT) {
				lex_next(&la, &n);
				if (tok_is(s, &n, "IN"))
					depth++;
			}
		} else if (tok_is(s, &t, "IF")) {
			if (if_opens_block(lx, &budget))
				depth++;
		} else if (tok_is(s, &t, "END")) {
			struct lex la = *lx;
			if (depth > 0)
				depth--;
			lex_next(&la, &n);
			if (tok_is(s, &n, "IF") || tok_is(s, &n, "CASE") || tok_is(s, &n, "LOOP") ||
			    tok_is(s, &n, "WHILE") || tok_is(s, &n, "REPEAT") || tok_is(s, &n, "FOR"))
				*lx = la;
		}
	}
}

/* --- public ---------------------------------------------------------------- */

bool lex_only_space(const char *s, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (!is_space((unsigned char)s[i]))
			return false;
	return true;
}

size_t sql_parse_dialect(const char *sql, size_t len, struct sql_stmt *out, size_t max,
			 const struct sql_dialect *dialect)
{
	static const struct sql_dialect unknown_dialect;
	struct lex lx;
	size_t n = 0;

	if (sql == NULL)
		len = 0;
	lex_init(&lx, sql ? sql : "", len, dialect ? dialect : &unknown_dialect);
	for (;;) {
		struct lex start;
		bool semi;
		size_t end;

		/* the server parses each statement with a fresh lexer: an
		   executable comment left open by the previous one is over */
		lx.in_exec = false;
		start = lx;
		end = split_next(&lx, &semi);

		if (!semi && n > 0 && lex_only_space(lx.s, start.pos, len))
			break;
		if (n < max && out != NULL) {
			classify_stmt(&out[n], &start, end);
			/* from the first unsure construct on, the split itself may
			   differ from the server's */
			if (lx.unsure)
				out[n].tables_known = false;
		}
		n++;
		if (!semi)
			break;
	}
	return n;
}

size_t sql_parse_ex(const char *sql, size_t len, struct sql_stmt *out, size_t max,
		    bool no_backslash_escapes)
{
	struct sql_dialect d = { .no_backslash_escapes = no_backslash_escapes };

	return sql_parse_dialect(sql, len, out, max, &d);
}

size_t sql_parse(const char *sql, size_t len, struct sql_stmt *out, size_t max)
{
	return sql_parse_dialect(sql, len, out, max, NULL);
}

bool sql_dialect_set_server(struct sql_dialect *d, const char *version, size_t len)
{
	unsigned long part[3] = { 0, 0, 0 };
	size_t i = 0;
	bool mariadb = false;

	for (size_t k = 0; k + 7 <= len && !mariadb; k++)
		mariadb = memcmp(version + k, "MariaDB", 7) == 0;

	d->flavor = SQL_FLAVOR_UNKNOWN;
	d->version = 0;
	/* MariaDB before 11 announces itself as "5.5.5-10.11.6-MariaDB..." */
	if (mariadb && len > 6 && memcmp(version, "5.5.5-", 6) == 0)
		i = 6;
	for (int k = 0; k < 3; k++) {
		size_t start = i;
		while (i < len && is_digit((unsigned char)version[i]) && i - start < 3)
			part[k] = part[k] * 10 + (unsigned long)(version[i++] - '0');
		if (i == start || (k < 2 && (i >= len || version[i++] != '.')))
			return false;
	}
	if (part[1] > 99 || part[2] > 99)
		return false;
	d->flavor = mariadb ? SQL_FLAVOR_MARIADB : SQL_FLAVOR_MYSQL;
	d->version = part[0] * 10000 + part[1] * 100 + part[2];
	return true;
}

const char *sql_kind_name(enum sql_kind k)
{
	static const char *const names[] = {
		[SQL_EMPTY] = "EMPTY", [SQL_UNKNOWN] = "UNKNOWN", [SQL_SELECT] = "SELECT",
		[SQL_INSERT] = "INSERT", [SQL_REPLACE] = "REPLACE", [SQL_UPDATE] = "UPDATE",
		[SQL_DELETE] = "DELETE", [SQL_LOAD_DATA] = "LOAD_DATA", [SQL_CALL] = "CALL",
		[SQL_BEGIN] = "BEGIN", [SQL_COMMIT] = "COMMIT", [SQL_ROLLBACK] = "ROLLBACK",
		[SQL_SAVEPOINT] = "SAVEPOINT", [SQL_ROLLBACK_TO_SAVEPOINT] = "ROLLBACK_TO_SAVEPOINT",
		[SQL_RELEASE_SAVEPOINT] = "RELEASE_SAVEPOINT", [SQL_SET] = "SET",
		[SQL_SET_TRANSACTION] = "SET_TRANSACTION", [SQL_USE] = "USE",
		[SQL_SHOW_WARNINGS] = "SHOW_WARNINGS", [SQL_SHOW_ERRORS] = "SHOW_ERRORS",
		[SQL_SHOW_COUNT_WARNINGS] = "SHOW_COUNT_WARNINGS",
		[SQL_SHOW_COUNT_ERRORS] = "SHOW_COUNT_ERRORS",
		[SQL_GET_DIAGNOSTICS] = "GET_DIAGNOSTICS", [SQL_SHOW] = "SHOW",
		[SQL_CREATE] = "CREATE", [SQL_ALTER] = "ALTER", [SQL_DROP] = "DROP",
		[SQL_RENAME] = "RENAME", [SQL_TRUNCATE] = "TRUNCATE",
		[SQL_LOCK_TABLES] = "LOCK_TABLES", [SQL_UNLOCK_TABLES] = "UNLOCK_TABLES",
		[SQL_PREPARE] = "PREPARE", [SQL_EXECUTE] = "EXECUTE",
		[SQL_DEALLOCATE] = "DEALLOCATE", [SQL_DO] = "DO", [SQL_HANDLER] = "HANDLER",
		[SQL_XA] = "XA", [SQL_FLUSH] = "FLUSH", [SQL_KILL] = "KILL", [SQL_OTHER] = "OTHER",
	};

	if ((unsigned)k >= sizeof(names) / sizeof(names[0]) || names[k] == NULL)
		return "?";
	return names[k];
}

char *sql_string_value(const char *sql, size_t pos, size_t len, bool no_backslash_escapes, size_t *outlen)
{
	const char *s = sql + pos;
	char q, *out;
	size_t n = 0;

	if (len < 2 || (s[0] != '\'' && s[0] != '"') || s[len - 1] != s[0])
		return NULL;
	q = s[0];
	out = malloc(len - 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 1; i < len - 1; i++) {
		char c = s[i];

		if (c == q && i + 1 < len - 1 && s[i + 1] == q) {
			i++;                    /* '' */
		} else if (c == '\\' && !no_backslash_escapes && i + 1 < len - 1) {
			c = s[++i];
			switch (c) {
			case '0': c = '\0'; break;
			case 'b': c = '\b'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'Z': c = '\032'; break;
			case '%':
			case '_':
				out[n++] = '\\';   /* kept: LIKE's escapes */
				break;
			default:
				break;          /* \\ \' \" and any other: the byte */
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}
