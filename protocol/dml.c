/*
 * dml.c - the clause structure of one INSERT / REPLACE / UPDATE / DELETE
 * (see dml.h), for the mirror planner.
 *
 * dml_parse() walks the tokens of one statement that sql_parse_dialect()
 * found, read with the lexer's own tokenizer (lex_next(), lexer-internal.h),
 * so comments, strings, quoted identifiers, executable comments and the
 * dialect are read exactly as the splitter and the classifier read them.
 * It is a small parser of the statement's top level: the modifiers, the
 * table references, the clauses at parenthesis depth 0, the column list
 * and the values of VALUES rows.  Whatever else sits inside parentheses
 * (subqueries, function arguments) is skipped whole as part of the clause
 * around it.
 *
 * The rules that keep the offsets honest:
 *  - a word is a keyword only where the server reads one: right after a
 *    '.' or right before ".name" it is an identifier whatever it spells
 *    (t.limit, order.id: the server's lexer does the same), and a reserved
 *    word is never taken for an alias or a name;
 *  - RETURNING is a clause in MariaDB and an identifier in MySQL; with the
 *    flavor unknown a RETURNING where a clause could start is refused;
 *  - each span, and the insertion point `tail`, begins and ends outside
 *    executable comments (a span cut inside one is not valid text alone);
 *  - anything the grammar does not lead to here ends the parse with
 *    ok = false and a reason: never a guess.
 *
 * Bounds: one pass over the tokens with a look-ahead of at most three
 * tokens, plus two bounded look-aheads (does a '(' hold a query: 64
 * tokens; the DELETE FROM t1, t2 USING form: the target list, once).
 * Parenthesised joins recurse at most DML_MAX_NEST deep; groups are
 * skipped iteratively.  The arrays grow by doubling.
 *
 * The statement is lexed with the input's length set to its end (the
 * caller does not pass the input's length).  That reads every token as
 * the splitter did except a "--" just before the end, which the splitter
 * read as two '-' when a ';' followed; such a statement is refused.
 */
#include "protocol/dml.h"
#include "protocol/lexer-internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Parenthesised joins nested deeper than this in table references: refused. */
#define DML_MAX_NEST 32

/* --- reserved words -------------------------------------------------------- */

/*
 * Reserved words of MySQL 8 and MariaDB 10.11/11 (the union), sorted for
 * bsearch (C locale): never a table name, a column name or an alias when
 * unquoted.  With the flavor known, the words only the other server
 * reserves (mysql_only, mariadb_only) are names.  RETURNING is reserved in
 * MariaDB only and is checked apart (reserved()).
 */
static const char *const reserved_words[] = {
	"ACCESSIBLE", "ADD", "ALL", "ALTER", "ANALYZE", "AND", "AS", "ASC",
	"ASENSITIVE", "BEFORE", "BETWEEN", "BIGINT", "BINARY", "BLOB", "BOTH", "BY",
	"CALL", "CASCADE", "CASE", "CHANGE", "CHAR", "CHARACTER", "CHECK", "COLLATE",
	"COLUMN", "CONDITION", "CONSTRAINT", "CONTINUE", "CONVERT", "CREATE", "CROSS",
	"CUBE", "CUME_DIST", "CURRENT_DATE", "CURRENT_ROLE", "CURRENT_TIME",
	"CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATABASE", "DATABASES",
	"DAY_HOUR", "DAY_MICROSECOND", "DAY_MINUTE", "DAY_SECOND", "DEC", "DECIMAL",
	"DECLARE", "DEFAULT", "DELAYED", "DELETE", "DELETE_DOMAIN_ID", "DENSE_RANK",
	"DESC", "DESCRIBE", "DETERMINISTIC", "DISTINCT", "DISTINCTROW", "DIV", "DOUBLE",
	"DO_DOMAIN_IDS", "DROP", "DUAL", "EACH", "ELSE", "ELSEIF", "EMPTY", "ENCLOSED",
	"ESCAPED", "EXCEPT", "EXISTS", "EXIT", "EXPLAIN", "FALSE", "FETCH",
	"FIRST_VALUE", "FLOAT", "FLOAT4", "FLOAT8", "FOR", "FORCE", "FOREIGN", "FROM",
	"FULLTEXT", "FUNCTION", "GENERAL", "GENERATED", "GET", "GRANT", "GROUP",
	"GROUPING", "GROUPS", "HAVING", "HIGH_PRIORITY", "HOUR_MICROSECOND",
	"HOUR_MINUTE", "HOUR_SECOND", "IF", "IGNORE", "IGNORE_DOMAIN_IDS",
	"IGNORE_SERVER_IDS", "IN", "INDEX", "INFILE", "INNER", "INOUT", "INSENSITIVE",
	"INSERT", "INT", "INT1", "INT2", "INT3", "INT4", "INT8", "INTEGER", "INTERSECT",
	"INTERVAL", "INTO", "IO_AFTER_GTIDS", "IO_BEFORE_GTIDS", "IS", "ITERATE",
	"JOIN", "JSON_TABLE", "KEY", "KEYS", "KILL", "LAG", "LAST_VALUE", "LATERAL",
	"LEAD", "LEADING", "LEAVE", "LEFT", "LIKE", "LIMIT", "LINEAR", "LINES", "LOAD",
	"LOCALTIME", "LOCALTIMESTAMP", "LOCK", "LONG", "LONGBLOB", "LONGTEXT", "LOOP",
	"LOW_PRIORITY", "MASTER_BIND", "MASTER_HEARTBEAT_PERIOD",
	"MASTER_SSL_VERIFY_SERVER_CERT", "MATCH", "MAXVALUE", "MEDIUMBLOB",
	"MEDIUMINT", "MEDIUMTEXT", "MIDDLEINT", "MINUTE_MICROSECOND", "MINUTE_SECOND",
	"MOD", "MODIFIES", "NATURAL", "NOT", "NO_WRITE_TO_BINLOG", "NTH_VALUE", "NTILE",
	"NULL", "NUMERIC", "OF", "OFFSET", "ON", "OPTIMIZE", "OPTIMIZER_COSTS", "OPTION",
	"OPTIONALLY", "OR", "ORDER", "OUT", "OUTER", "OUTFILE", "OVER",
	"PAGE_CHECKSUM", "PARSE_VCOL_EXPR", "PARTITION", "PERCENT_RANK", "PRECISION",
	"PRIMARY", "PROCEDURE", "PURGE", "RANGE", "RANK", "READ", "READS",
	"READ_WRITE", "REAL", "RECURSIVE", "REFERENCES", "REF_SYSTEM_ID", "REGEXP",
	"RELEASE", "RENAME", "REPEAT", "REPLACE", "REQUIRE", "RESIGNAL", "RESTRICT",
	"RETURN", "REVOKE", "RIGHT", "RLIKE", "ROW", "ROWS", "ROW_NUMBER", "SCHEMA",
	"SCHEMAS", "SECOND_MICROSECOND", "SELECT", "SENSITIVE", "SEPARATOR", "SET",
	"SHOW", "SIGNAL", "SLOW", "SMALLINT", "SPATIAL", "SPECIFIC", "SQL",
	"SQLEXCEPTION", "SQLSTATE", "SQLWARNING", "SQL_BIG_RESULT",
	"SQL_CALC_FOUND_ROWS", "SQL_SMALL_RESULT", "SSL", "STARTING",
	"STATS_AUTO_RECALC", "STATS_PERSISTENT", "STATS_SAMPLE_PAGES", "STORED",
	"STRAIGHT_JOIN", "SYSTEM", "TABLE", "TERMINATED", "THEN", "TINYBLOB", "TINYINT",
	"TINYTEXT", "TO", "TRAILING", "TRIGGER", "TRUE", "UNDO", "UNION", "UNIQUE",
	"UNLOCK", "UNSIGNED", "UPDATE", "USAGE", "USE", "USING", "UTC_DATE", "UTC_TIME",
	"UTC_TIMESTAMP", "VALUES", "VARBINARY", "VARCHAR", "VARCHARACTER", "VARYING",
	"VIRTUAL", "WHEN", "WHERE", "WHILE", "WINDOW", "WITH", "WRITE", "XOR",
	"YEAR_MONTH", "ZEROFILL",
};

/*
 * Words of that list reserved by one server only: a name for the other.
 * (Getting one wrong only accepts a name the server refuses: every keyword
 * that can follow a table reference is reserved in both.)
 */
static const char *const mysql_only[] = {
	"CUBE", "CUME_DIST", "DENSE_RANK", "EMPTY", "FIRST_VALUE", "FUNCTION", "GENERATED",
	"GET", "GROUPING", "GROUPS", "IO_AFTER_GTIDS", "IO_BEFORE_GTIDS", "JSON_TABLE", "LAG",
	"LAST_VALUE", "LATERAL", "LEAD", "MASTER_BIND", "NTH_VALUE", "NTILE", "OF",
	"OPTIMIZER_COSTS", "PERCENT_RANK", "RANK", "ROW_NUMBER", "STORED", "SYSTEM", "VIRTUAL",
	"WINDOW",
};

static const char *const mariadb_only[] = {
	"CURRENT_ROLE", "DELETE_DOMAIN_ID", "DO_DOMAIN_IDS", "GENERAL", "IGNORE_DOMAIN_IDS",
	"IGNORE_SERVER_IDS", "MASTER_HEARTBEAT_PERIOD", "OFFSET", "PAGE_CHECKSUM",
	"PARSE_VCOL_EXPR", "REF_SYSTEM_ID", "SLOW", "STATS_AUTO_RECALC", "STATS_PERSISTENT",
	"STATS_SAMPLE_PAGES",
};

static bool listed(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

/* --- parser state ---------------------------------------------------------- */

struct dp {
	const char *s;
	size_t start, end;           /* the statement: s[start, end) */
	const struct sql_dialect *d;
	struct dml *m;
	struct lex lx;               /* the lexer, just past cur */
	struct tok cur;              /* the current token, not consumed yet */
	bool cur_exec;               /* cur lies inside an executable comment */
	bool have_next;              /* next / next_lx hold the token after cur */
	struct tok next;
	bool next_exec;
	struct lex next_lx;
	size_t last_end;             /* end of the token consumed last */
	bool last_exec;              /* that token lies inside an executable comment */
	unsigned long ntok;          /* tokens consumed */
	bool tail_set;
	size_t cap_params, cap_values, cap_columns, cap_assign;
	bool failed;
};

static const char why_exec[] =
	"a clause begins or ends inside an executable comment (/*! ... */)";
static const char why_oom[] = "out of memory";

/* Record the first reason the statement is not understood; returns false. */
static bool fail(struct dp *p, const char *why)
{
	if (!p->failed) {
		p->failed = true;
		p->m->why = why;
	}
	return false;
}

/* Letters, digits, '_', '$' and bytes >= 0x80, as in an unquoted name. */
static bool ident_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/*
 * Is the word *t a name whatever it spells?  The server's lexer reads a
 * word right after '.' ("t.limit"), or right before '.' and a name byte
 * ("order.id"), as an identifier without looking it up as a keyword.
 */
static bool qualified_word(const struct dp *p, const struct tok *t)
{
	size_t e = t->pos + t->len;

	if (t->pos > p->start && p->s[t->pos - 1] == '.')
		return true;
	return e + 1 < p->end && p->s[e] == '.' && ident_byte((unsigned char)p->s[e + 1]);
}

/* The token is the keyword kw (upper case, kwlen bytes) where a keyword can be. */
static bool word_is_n(const struct dp *p, const struct tok *t, const char *kw, size_t kwlen)
{
	return tok_is_n(p->s, t, kw, kwlen) && !qualified_word(p, t);
}

#define word_is(p, t, w) word_is_n((p), (t), (w), KWLEN(w))
#define kw(p, w) word_is_n((p), &(p)->cur, (w), KWLEN(w))

static bool reserved(const struct dp *p, const struct tok *t)
{
	char w[40];
	size_t lo = 0, hi = sizeof(reserved_words) / sizeof(reserved_words[0]);

	if (t->type != TK_WORD || t->len >= sizeof(w))
		return false;
	if (tok_is(p->s, t, "RETURNING"))
		return p->d->flavor != SQL_FLAVOR_MYSQL;
	for (size_t i = 0; i < t->len; i++)
		w[i] = (char)up((unsigned char)p->s[t->pos + i]);
	w[t->len] = '\0';
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(w, reserved_words[mid]);

		if (r == 0) {
			if (p->d->flavor == SQL_FLAVOR_MARIADB &&
			    listed(w, mysql_only, sizeof(mysql_only) / sizeof(mysql_only[0])))
				return false;
			if (p->d->flavor == SQL_FLAVOR_MYSQL &&
			    listed(w, mariadb_only, sizeof(mariadb_only) / sizeof(mariadb_only[0])))
				return false;
			return true;
		}
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/* --- arrays ----------------------------------------------------------------- */

/*
 * Make room for element n of an array of `size`-byte elements with *cap
 * allocated; returns the (maybe moved) array, or NULL (array unchanged,
 * the parse failed) when memory runs out.
 */
static void *grow(struct dp *p, void *arr, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *q;

	if (n < *cap)
		return arr;
	nc = *cap ? *cap * 2 : 16;
	if (nc > SIZE_MAX / 2 / size) {
		fail(p, why_oom);
		return NULL;
	}
	q = realloc(arr, nc * size);
	if (q == NULL) {
		fail(p, why_oom);
		return NULL;
	}
	*cap = nc;
	return q;
}

static void note_param(struct dp *p)
{
	struct dml *m = p->m;
	size_t *a;

	if (m->nparams == UINT32_MAX) {
		fail(p, "too many placeholders");
		return;
	}
	a = grow(p, m->params, &p->cap_params, m->nparams, sizeof(*a));
	if (a == NULL)
		return;
	m->params = a;
	a[m->nparams++] = p->cur.pos;
}

/* --- tokens ----------------------------------------------------------------- */

static void next_token(struct lex *lx, struct tok *t, bool *exec)
{
	lex_next(lx, t);
	*exec = lx->in_exec;
}

static bool at_end(const struct dp *p)
{
	return p->cur.type == TK_EOF;
}

/* Consume the current token; a '?' is recorded when it becomes current. */
static void advance(struct dp *p)
{
	if (at_end(p))
		return;
	p->last_end = p->cur.pos + p->cur.len;
	p->last_exec = p->cur_exec;
	p->ntok++;
	if (p->have_next) {
		p->cur = p->next;
		p->cur_exec = p->next_exec;
		p->lx = p->next_lx;
		p->have_next = false;
	} else {
		next_token(&p->lx, &p->cur, &p->cur_exec);
	}
	if (p->cur.type == TK_PARAM)
		note_param(p);
}

/* The token n (1..3) places after the current one. */
static struct tok peek(struct dp *p, int n)
{
	struct tok t;
	struct lex la;
	bool exec;

	if (!p->have_next) {
		p->next_lx = p->lx;
		next_token(&p->next_lx, &p->next, &p->next_exec);
		p->have_next = true;
	}
	if (n <= 1)
		return p->next;
	la = p->next_lx;
	for (int i = 1; i < n; i++)
		next_token(&la, &t, &exec);
	return t;
}

static bool is_punct(const struct dp *p, char ch)
{
	return tok_punct(&p->cur, p->s, ch);
}

static bool accept_punct(struct dp *p, char ch)
{
	if (!is_punct(p, ch))
		return false;
	advance(p);
	return true;
}

static bool accept_kw_n(struct dp *p, const char *w, size_t n)
{
	if (!word_is_n(p, &p->cur, w, n))
		return false;
	advance(p);
	return true;
}

#define accept_kw(p, w) accept_kw_n((p), (w), KWLEN(w))

/* Skip the balanced group that opens at the current '(' (iteratively). */
static bool skip_group(struct dp *p)
{
	size_t depth = 0;

	do {
		if (at_end(p))
			return fail(p, "unbalanced parentheses");
		if (is_punct(p, '('))
			depth++;
		else if (is_punct(p, ')'))
			depth--;
		advance(p);
	} while (depth > 0);
	return true;
}

/* Does the '(' group at the current token hold a query?  A bounded look. */
static bool group_is_query(const struct dp *p)
{
	struct lex la = p->lx;
	struct tok t;

	for (int i = 0; i < 64; i++) {
		lex_next(&la, &t);
		if (!tok_punct(&t, p->s, '('))
			return word_is(p, &t, "SELECT") || word_is(p, &t, "WITH") ||
			       word_is(p, &t, "VALUES") || word_is(p, &t, "TABLE");
	}
	return false;
}

/* --- spans ------------------------------------------------------------------ */

struct mark {
	size_t pos;
	bool exec;
	unsigned long ntok;
};

/* Where a span starts: at the current token. */
static struct mark mark_here(const struct dp *p)
{
	struct mark mk = { p->cur.pos, p->cur_exec, p->ntok };

	return mk;
}

/*
 * The span from the mark to the end of the last consumed token; absent
 * when nothing was consumed since.  Refused when an end lies inside an
 * executable comment.
 */
static bool span_from(struct dp *p, const struct mark *mk, struct dml_span *sp)
{
	sp->present = false;
	sp->start = sp->end = 0;
	if (p->ntok == mk->ntok)
		return true;
	if (mk->exec || p->last_exec)
		return fail(p, why_exec);
	sp->present = true;
	sp->start = mk->pos;
	sp->end = p->last_end;
	return true;
}

/* --- names ------------------------------------------------------------------ */

/*
 * Copy the identifier *t, unquoted, into out[SQL_NAME_SIZE].  A reserved
 * word is a name only where the server reads it as one (qualified_word():
 * t.order, order.t).  False when *t is no name, too long, or holds a NUL.
 */
static bool ident_copy(const struct dp *p, const struct tok *t, char *out)
{
	const char *s = p->s + t->pos;
	size_t n = 0;

	if (t->type == TK_WORD) {
		if (!qualified_word(p, t) && reserved(p, t))
			return false;
		if (t->len >= SQL_NAME_SIZE)
			return false;
		memcpy(out, s, t->len);
		out[t->len] = '\0';
		return true;
	}
	/* `name`, or "name" under ANSI_QUOTES */
	if (t->type != TK_QIDENT || t->len < 2 || s[t->len - 1] != s[0])
		return false;
	for (size_t i = 1; i + 1 < t->len; i++) {
		if (s[i] == s[0])
			i++;                 /* doubled: keep one */
		if (s[i] == '\0' || n + 1 >= SQL_NAME_SIZE)
			return false;
		out[n++] = s[i];
	}
	out[n] = '\0';
	return n > 0;
}

/* Copy a name (shorter than SQL_NAME_SIZE by construction) with its NUL. */
static void name_copy(char *dst, const char *src)
{
	size_t n = strnlen(src, SQL_NAME_SIZE - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * name or db.name at the current token, consumed; false (nothing consumed)
 * when there is no name.  A '.' not followed by a name is left for the
 * caller (t.* of a DELETE target; anywhere else the caller refuses it).
 */
static bool parse_table_name(struct dp *p, struct sql_table *t)
{
	char second[SQL_NAME_SIZE];
	struct tok n;

	t->db[0] = '\0';
	if (!ident_copy(p, &p->cur, t->name))
		return false;
	advance(p);
	if (!is_punct(p, '.'))
		return true;
	n = peek(p, 1);
	if (!ident_copy(p, &n, second))
		return true;
	name_copy(t->db, t->name);
	name_copy(t->name, second);
	advance(p);
	advance(p);
	return true;
}

/* col, t.col or db.t.col, consumed: qualifier t (or ""), column col. */
static bool parse_column_ref(struct dp *p, char *qualifier, char *column)
{
	char part[3][SQL_NAME_SIZE];
	int n = 0;

	for (;;) {
		if (!ident_copy(p, &p->cur, part[n]))
			return false;
		advance(p);
		n++;
		if (n == 3 || !is_punct(p, '.'))
			break;
		advance(p);
	}
	name_copy(column, part[n - 1]);
	if (n >= 2)
		name_copy(qualifier, part[n - 2]);
	else
		qualifier[0] = '\0';
	return true;
}

/* --- clause boundaries ----------------------------------------------------- */

enum {
	STOP_COMMA = 1,          /* ',' */
	STOP_CLAUSE = 2,         /* WHERE, ORDER, LIMIT */
	STOP_SET = 4,            /* SET */
	STOP_JOIN = 8,           /* a join operator */
	STOP_ODKU = 16,          /* ON DUPLICATE KEY UPDATE */
	STOP_AS = 32,            /* AS */
	STOP_RETURNING = 64,     /* RETURNING (MariaDB) */
};

/* Does a join operator start at the current token? */
static bool at_join(struct dp *p)
{
	struct tok n;

	if (kw(p, "JOIN") || kw(p, "STRAIGHT_JOIN") || kw(p, "INNER") || kw(p, "CROSS") ||
	    kw(p, "NATURAL"))
		return true;
	if (!kw(p, "LEFT") && !kw(p, "RIGHT"))
		return false;
	n = peek(p, 1);                 /* LEFT(s, 2) is a function */
	return word_is(p, &n, "JOIN") || word_is(p, &n, "OUTER");
}

/* [NATURAL] [INNER | CROSS | LEFT [OUTER] | RIGHT [OUTER]] JOIN | STRAIGHT_JOIN */
static bool accept_join(struct dp *p)
{
	if (accept_kw(p, "JOIN") || accept_kw(p, "STRAIGHT_JOIN"))
		return true;
	accept_kw(p, "NATURAL");
	if (!accept_kw(p, "INNER") && !accept_kw(p, "CROSS") &&
	    (accept_kw(p, "LEFT") || accept_kw(p, "RIGHT")))
		accept_kw(p, "OUTER");
	if (accept_kw(p, "JOIN"))
		return true;
	return fail(p, "a join operator without JOIN");
}

static bool at_odku(struct dp *p)
{
	struct tok a, b, c;

	if (!kw(p, "ON"))
		return false;
	a = peek(p, 1);
	if (!word_is(p, &a, "DUPLICATE"))
		return false;
	b = peek(p, 2);
	c = peek(p, 3);
	return word_is(p, &b, "KEY") && word_is(p, &c, "UPDATE");
}

/*
 * Does a RETURNING clause start here?  Only in MariaDB: in MySQL the word
 * is a name.  With the flavor unknown the parse fails (and false).
 */
static bool at_returning(struct dp *p)
{
	if (!kw(p, "RETURNING"))
		return false;
	switch (p->d->flavor) {
	case SQL_FLAVOR_MARIADB:
		return true;
	case SQL_FLAVOR_MYSQL:
		return false;
	default:
		fail(p, "RETURNING while the server flavor (MariaDB clause, MySQL name) is unknown");
		return false;
	}
}

/*
 * Does the expression at this level end at the current token?  It always
 * does at the end of the statement and at a ')' (that closes an enclosing
 * group, or is unbalanced: the caller tells); `stops` adds the rest.
 */
static bool is_stop(struct dp *p, unsigned stops)
{
	const struct tok *t = &p->cur;

	switch (t->type) {
	case TK_EOF:
	case TK_SEMI:
		return true;
	case TK_PUNCT:
		return is_punct(p, ')') || ((stops & STOP_COMMA) && is_punct(p, ','));
	case TK_WORD:
		break;
	default:
		return false;
	}
	if (qualified_word(p, t))
		return false;
	if ((stops & STOP_CLAUSE) && (kw(p, "WHERE") || kw(p, "ORDER") || kw(p, "LIMIT")))
		return true;
	if ((stops & STOP_SET) && kw(p, "SET"))
		return true;
	if ((stops & STOP_AS) && kw(p, "AS"))
		return true;
	if ((stops & STOP_JOIN) && at_join(p))
		return true;
	if ((stops & STOP_ODKU) && at_odku(p))
		return true;
	return (stops & STOP_RETURNING) && at_returning(p);
}

/* --- values ----------------------------------------------------------------- */

/* States of the value classifier, fed one token at a time. */
enum vstate {
	V_START,
	V_SIGN,          /* - or + */
	V_NUM,           /* [sign] number */
	V_STR,           /* [introducer | N] string, more strings may follow */
	V_PFX_N,         /* N: a string must touch it */
	V_PFX_XB,        /* X or B: a string must touch it */
	V_INTRO,         /* _charset */
	V_INTRO_XB,      /* _charset X or B */
	V_HEXBIN,        /* X'..', B'..', _charset 0x.. : complete */
	V_NULL,
	V_DEFAULT,
	V_PARAM,
	V_EXPR,          /* anything else */
};

/* A '...' string token that starts right at `at` (X'ff': no space allowed). */
static bool quote_string_at(const struct dp *p, const struct tok *t, size_t at)
{
	return t->type == TK_STRING && t->pos == at && p->s[t->pos] == '\'';
}

/*
 * A string literal for sure: '...', or "..." when the dialect says double
 * quotes are strings (under ANSI_QUOTES they quote names).
 */
static bool sure_string(const struct dp *p, const struct tok *t)
{
	return t->type == TK_STRING &&
	       (p->s[t->pos] == '\'' || p->d->double_quotes == SQL_QUOTES_STRING);
}

/* Feed the current token (not consumed yet) to the classifier. */
static enum vstate value_step(const struct dp *p, enum vstate v)
{
	const struct tok *t = &p->cur;
	const char *w = p->s + t->pos;
	bool xb = t->type == TK_WORD && t->len == 1 && (up((unsigned char)*w) == 'X' ||
							up((unsigned char)*w) == 'B');

	switch (v) {
	case V_START:
		if (t->type == TK_NUMBER)
			return V_NUM;
		if (t->type == TK_STRING)
			return sure_string(p, t) ? V_STR : V_EXPR;
		if (t->type == TK_PARAM)
			return V_PARAM;
		if (tok_punct(t, p->s, '-') || tok_punct(t, p->s, '+'))
			return V_SIGN;
		if (t->type != TK_WORD)
			return V_EXPR;
		if (tok_is(p->s, t, "NULL"))
			return V_NULL;
		if (tok_is(p->s, t, "DEFAULT"))
			return V_DEFAULT;
		if (t->len == 1 && up((unsigned char)*w) == 'N')
			return V_PFX_N;
		if (xb)
			return V_PFX_XB;
		if (t->len > 1 && *w == '_')
			return V_INTRO;
		return V_EXPR;
	case V_SIGN:
		return t->type == TK_NUMBER ? V_NUM : V_EXPR;
	case V_STR:
		return sure_string(p, t) ? V_STR : V_EXPR;
	case V_PFX_N:
		return quote_string_at(p, t, p->last_end) ? V_STR : V_EXPR;
	case V_PFX_XB:
	case V_INTRO_XB:
		return quote_string_at(p, t, p->last_end) ? V_HEXBIN : V_EXPR;
	case V_INTRO:
		if (sure_string(p, t))
			return V_STR;
		if (t->type == TK_NUMBER && t->len > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'b'))
			return V_HEXBIN;
		return xb ? V_INTRO_XB : V_EXPR;
	default:
		return V_EXPR;
	}
}

static enum dml_value_kind value_kind(enum vstate v)
{
	switch (v) {
	case V_NUM:
		return DV_NUMBER;
	case V_STR:
	case V_HEXBIN:
		return DV_STRING;
	case V_NULL:
		return DV_NULL;
	case V_DEFAULT:
		return DV_DEFAULT;
	case V_PARAM:
		return DV_PLACEHOLDER;
	default:
		return DV_EXPR;
	}
}

/*
 * Consume one expression: the tokens up to a stop at this level (not
 * consumed, see is_stop()), groups in parentheses skipped whole.  *sp gets
 * its span (absent when empty); with v, it is also classified as a value.
 */
static bool scan_expr(struct dp *p, unsigned stops, struct dml_span *sp, struct dml_value *v)
{
	struct mark mk = mark_here(p);
	enum vstate vs = V_START;
	unsigned param = 0;

	while (!p->failed && !is_stop(p, stops)) {
		if (v != NULL) {
			vs = value_step(p, vs);
			if (vs == V_PARAM)
				param = p->m->nparams - 1;
		}
		if (is_punct(p, '(')) {
			if (!skip_group(p))
				return false;
		} else {
			advance(p);
		}
	}
	if (p->failed || !span_from(p, &mk, sp))
		return false;
	if (v != NULL) {
		v->kind = value_kind(vs);
		v->span = *sp;
		v->param = v->kind == DV_PLACEHOLDER ? param : 0;
	}
	return true;
}

/* --- result arrays ----------------------------------------------------------- */

static bool add_value(struct dp *p, const struct dml_value *v, size_t n)
{
	struct dml_value *a = grow(p, p->m->values, &p->cap_values, n, sizeof(*a));

	if (a == NULL)
		return false;
	p->m->values = a;
	a[n] = *v;
	return true;
}

static bool add_column(struct dp *p, const char *name)
{
	struct dml *m = p->m;
	char (*a)[SQL_NAME_SIZE];

	if (m->ncolumns == DML_MAX_COLUMNS)
		return fail(p, "more columns than DML_MAX_COLUMNS");
	a = grow(p, m->columns, &p->cap_columns, m->ncolumns, sizeof(*a));
	if (a == NULL)
		return false;
	m->columns = a;
	name_copy(a[m->ncolumns++], name);
	return true;
}

static bool add_assign(struct dp *p, const struct dml_assign *as)
{
	struct dml *m = p->m;
	struct dml_assign *a;

	if (m->nassign == DML_MAX_COLUMNS)
		return fail(p, "more assignments than DML_MAX_COLUMNS");
	a = grow(p, m->assign, &p->cap_assign, m->nassign, sizeof(*a));
	if (a == NULL)
		return false;
	m->assign = a;
	a[m->nassign++] = *as;
	return true;
}

static bool add_tableref(struct dp *p, const struct dml_tableref *r)
{
	struct dml *m = p->m;

	if (m->ntablerefs == DML_MAX_TABLEREFS)
		return fail(p, "more table references than DML_MAX_TABLEREFS");
	m->tablerefs[m->ntablerefs++] = *r;
	return true;
}

/* --- table references -------------------------------------------------------- */

static bool parse_table_refs(struct dp *p, unsigned depth);

/* Can an alias start at the current token?  AS, a quoted name, an unreserved word. */
static bool alias_here(const struct dp *p)
{
	if (kw(p, "AS") || p->cur.type == TK_QIDENT)
		return true;
	return p->cur.type == TK_WORD && !reserved(p, &p->cur);
}

/* [AS] alias into out. */
static bool parse_alias(struct dp *p, char *out)
{
	accept_kw(p, "AS");
	if (!ident_copy(p, &p->cur, out))
		return fail(p, "expected an alias (a name) after AS");
	advance(p);
	return true;
}

/* A derived table at the current '(' group: (query) [AS] alias [(columns)]. */
static bool parse_derived(struct dp *p)
{
	struct dml_tableref r;

	memset(&r, 0, sizeof(r));
	if (!skip_group(p))
		return false;
	if (!alias_here(p))
		return fail(p, "a derived table without an alias");
	if (!parse_alias(p, r.alias))
		return false;
	if (is_punct(p, '(') && !skip_group(p))
		return false;
	return add_tableref(p, &r);
}

/* {USE | IGNORE | FORCE} {INDEX | KEY} [FOR {JOIN | ORDER BY | GROUP BY}] (list) */
static bool at_index_hint(struct dp *p)
{
	struct tok n;

	if (!kw(p, "USE") && !kw(p, "IGNORE") && !kw(p, "FORCE"))
		return false;
	n = peek(p, 1);
	return word_is(p, &n, "INDEX") || word_is(p, &n, "KEY");
}

static bool parse_index_hint(struct dp *p)
{
	advance(p);
	advance(p);
	if (accept_kw(p, "FOR")) {
		if (accept_kw(p, "ORDER") || accept_kw(p, "GROUP")) {
			if (!accept_kw(p, "BY"))
				return fail(p, "an index hint FOR ORDER/GROUP without BY");
		} else if (!accept_kw(p, "JOIN")) {
			return fail(p, "an index hint FOR what is not JOIN, ORDER BY or GROUP BY");
		}
	}
	if (!is_punct(p, '('))
		return fail(p, "an index hint without its list of indexes");
	return skip_group(p);
}

/*
 * One table factor: a table (with partitions, alias, index hints), a
 * derived table, or a parenthesised join.
 */
static bool parse_table_factor(struct dp *p, unsigned depth)
{
	struct dml_tableref r;
	bool alias = false, part = false, hints = false;

	if (is_punct(p, '(')) {
		if (group_is_query(p))
			return parse_derived(p);
		if (depth >= DML_MAX_NEST)
			return fail(p, "table references nested too deep in parentheses");
		advance(p);
		if (!parse_table_refs(p, depth + 1))
			return false;
		if (!accept_punct(p, ')'))
			return fail(p, "unbalanced parentheses in the table references");
		return true;
	}
	if (kw(p, "LATERAL")) {
		advance(p);
		if (!is_punct(p, '(') || !group_is_query(p))
			return fail(p, "LATERAL without a subquery");
		return parse_derived(p);
	}
	if (kw(p, "JSON_TABLE"))
		return fail(p, "JSON_TABLE in the table references");
	if (is_punct(p, '{'))
		return fail(p, "ODBC { OJ ... } join syntax");
	memset(&r, 0, sizeof(r));
	if (!parse_table_name(p, &r.table))
		return fail(p, "expected a table name in the table references");
	for (;;) {
		if (kw(p, "PARTITION")) {
			if (alias)
				return fail(p, "PARTITION clause after the table alias (not valid in a SELECT)");
			if (part || hints)
				return fail(p, "PARTITION clause out of place");
			advance(p);
			if (!is_punct(p, '('))
				return fail(p, "PARTITION without its list of partitions");
			if (!skip_group(p))
				return false;
			part = true;
			p->m->partition = true;
		} else if (kw(p, "FOR")) {
			return fail(p, "FOR SYSTEM_TIME / FOR PORTION OF after a table (MariaDB periods)");
		} else if (at_index_hint(p)) {
			if (!parse_index_hint(p))
				return false;
			hints = true;
		} else if (!alias && !hints && alias_here(p)) {
			if (!parse_alias(p, r.alias))
				return false;
			alias = true;
		} else {
			break;
		}
	}
	return add_tableref(p, &r);
}

/*
 * Table references: factors separated by ',' and join operators, with ON
 * conditions and USING (columns).  Stops at the first token that continues
 * none of them.
 */
static bool parse_table_refs(struct dp *p, unsigned depth)
{
	for (;;) {
		if (!parse_table_factor(p, depth))
			return false;
		while (at_join(p)) {
			if (!accept_join(p) || !parse_table_factor(p, depth))
				return false;
			if (accept_kw(p, "ON")) {
				struct dml_span cond;

				if (!scan_expr(p, STOP_COMMA | STOP_JOIN | STOP_SET | STOP_CLAUSE |
						  STOP_RETURNING, &cond, NULL))
					return false;
				if (!cond.present)
					return fail(p, "ON without a condition");
			} else if (accept_kw(p, "USING")) {
				if (!is_punct(p, '('))
					return fail(p, "USING without a column list");
				if (!skip_group(p))
					return false;
			}
		}
		if (p->failed)
			return false;
		if (!accept_punct(p, ','))
			return true;
	}
}

/* --- UPDATE and DELETE --------------------------------------------------------- */

static bool expect_end(struct dp *p, const char *why)
{
	if (p->failed)
		return false;
	if (!at_end(p))
		return fail(p, why);
	return true;
}

/* [WHERE c] [ORDER BY o] [LIMIT l] [RETURNING r], to the end of the statement. */
static bool parse_clauses(struct dp *p)
{
	struct dml *m = p->m;
	const unsigned stops = STOP_CLAUSE | STOP_RETURNING;

	if (accept_kw(p, "WHERE")) {
		if (!scan_expr(p, stops, &m->where, NULL))
			return false;
		if (!m->where.present)
			return fail(p, "WHERE without a condition");
	}
	if (p->failed)
		return false;
	if (!at_end(p)) {
		if (p->cur_exec)
			return fail(p, why_exec);
		m->tail = p->cur.pos;
		p->tail_set = true;
	}
	if (accept_kw(p, "ORDER")) {
		if (!accept_kw(p, "BY"))
			return fail(p, "ORDER without BY");
		if (!scan_expr(p, stops, &m->order_by, NULL))
			return false;
		if (!m->order_by.present)
			return fail(p, "ORDER BY without a column");
	}
	if (accept_kw(p, "LIMIT")) {
		if (!scan_expr(p, stops, &m->limit, NULL))
			return false;
		if (!m->limit.present)
			return fail(p, "LIMIT without a count");
	}
	if (at_returning(p)) {
		advance(p);
		m->returning = true;
		if (!scan_expr(p, 0, &m->returning_list, NULL))
			return false;
		if (!m->returning_list.present)
			return fail(p, "RETURNING without a list");
	}
	return expect_end(p, "unexpected text where WHERE, ORDER BY, LIMIT or the end should be");
}

/*
 * col = value [, ...] of UPDATE ... SET and INSERT ... SET (insert: the
 * values are classified and the columns listed too).
 */
static bool parse_assignments(struct dp *p, unsigned stops, bool insert)
{
	struct dml *m = p->m;

	do {
		struct dml_assign a;
		struct dml_value v;

		if (!parse_column_ref(p, a.qualifier, a.column))
			return fail(p, "expected a column name in SET");
		if (!is_punct(p, '=') &&
		    !(p->cur.type == TK_PUNCT && p->cur.len == 2 && p->s[p->cur.pos] == ':'))
			return fail(p, "expected '=' after a column in SET");
		advance(p);
		if (!scan_expr(p, stops | STOP_COMMA, &a.value, insert ? &v : NULL))
			return false;
		if (!a.value.present)
			return fail(p, "a column in SET without a value");
		if (!add_assign(p, &a))
			return false;
		if (insert && (!add_value(p, &v, m->nassign - 1) || !add_column(p, a.column)))
			return false;
	} while (accept_punct(p, ','));
	return !p->failed;
}

/* UPDATE [LOW_PRIORITY] [IGNORE] refs SET assignments [WHERE] [ORDER BY] [LIMIT] */
static bool parse_update(struct dp *p)
{
	struct dml *m = p->m;
	struct mark mk;

	advance(p);
	for (;;) {
		if (kw(p, "IGNORE"))
			m->ignore = true;
		else if (!kw(p, "LOW_PRIORITY"))
			break;
		advance(p);
	}
	mk = mark_here(p);
	if (!parse_table_refs(p, 0) || !span_from(p, &mk, &m->table_refs))
		return false;
	m->multi_table = m->ntablerefs > 1;
	if (!accept_kw(p, "SET"))
		return fail(p, "expected SET after the table references of UPDATE");
	if (!parse_assignments(p, STOP_CLAUSE | STOP_RETURNING, false))
		return false;
	return parse_clauses(p);
}

/* Does "t1[.*], db.t2[.*] USING" follow (DELETE FROM ... USING form)?  A linear look. */
static bool delete_using_form(const struct dp *p)
{
	struct lex la = p->lx;
	struct tok t = p->cur;

	for (;;) {
		if (t.type != TK_WORD && t.type != TK_QIDENT)
			return false;
		lex_next(&la, &t);
		while (tok_punct(&t, p->s, '.')) {
			lex_next(&la, &t);
			if (t.type != TK_WORD && t.type != TK_QIDENT && !tok_punct(&t, p->s, '*'))
				return false;
			lex_next(&la, &t);
		}
		if (word_is(p, &t, "USING"))
			return true;
		if (!tok_punct(&t, p->s, ','))
			return false;
		lex_next(&la, &t);
	}
}

/* t1[.*], db.t2[.*]: the tables a multi-table DELETE deletes from. */
static bool parse_delete_targets(struct dp *p)
{
	struct dml *m = p->m;

	do {
		struct sql_table t;

		if (!parse_table_name(p, &t))
			return fail(p, "expected a table name to delete from");
		if (is_punct(p, '.')) {
			struct tok n = peek(p, 1);

			if (!tok_punct(&n, p->s, '*'))
				return fail(p, "expected .* after a table to delete from");
			advance(p);
			advance(p);
		}
		if (m->ntargets == DML_MAX_TABLEREFS)
			return fail(p, "more tables to delete from than DML_MAX_TABLEREFS");
		name_copy(m->targets[m->ntargets], t.name);
		name_copy(m->target_dbs[m->ntargets], t.db);
		m->ntargets++;
	} while (accept_punct(p, ','));
	return !p->failed;
}

/*
 * DELETE [LOW_PRIORITY] [QUICK] [IGNORE] then
 *   FROM t [[AS] a] [PARTITION (p)] [WHERE] [ORDER BY] [LIMIT] [RETURNING]
 *   t1[.*], ... FROM refs [WHERE] ...
 *   FROM t1[.*], ... USING refs [WHERE] ...
 */
static bool parse_delete(struct dp *p)
{
	struct dml *m = p->m;
	struct mark mk;
	bool using_form = false;

	advance(p);
	for (;;) {
		if (kw(p, "IGNORE"))
			m->ignore = true;
		else if (!kw(p, "LOW_PRIORITY") && !kw(p, "QUICK"))
			break;
		advance(p);
	}
	if (kw(p, "HISTORY") && p->d->flavor != SQL_FLAVOR_MYSQL)
		return fail(p, "DELETE HISTORY (MariaDB system versioning)");
	if (accept_kw(p, "FROM")) {
		using_form = delete_using_form(p);
		if (!using_form) {
			if (p->cur.type != TK_WORD && p->cur.type != TK_QIDENT)
				return fail(p, "expected the table to delete from after DELETE FROM");
			mk = mark_here(p);
			if (!parse_table_factor(p, 0) || !span_from(p, &mk, &m->table_refs))
				return false;
			if (m->ntablerefs != 1 || m->tablerefs[0].table.name[0] == '\0')
				return fail(p, "DELETE FROM what is not a table");
			m->ntargets = 1;
			name_copy(m->targets[0], m->tablerefs[0].table.name);
			name_copy(m->target_dbs[0], m->tablerefs[0].table.db);
			return parse_clauses(p);
		}
	}
	if (!parse_delete_targets(p))
		return false;
	if (using_form ? !accept_kw(p, "USING") : !accept_kw(p, "FROM"))
		return fail(p, using_form ? "expected USING after the tables to delete from" :
				  "expected FROM after the tables to delete from");
	m->multi_table = true;
	mk = mark_here(p);
	if (!parse_table_refs(p, 0) || !span_from(p, &mk, &m->table_refs))
		return false;
	return parse_clauses(p);
}

/* --- INSERT and REPLACE ---------------------------------------------------------- */

/* (a, t.b, `c`): the column list at the current '('. */
static bool parse_column_list(struct dp *p, bool load)
{
	advance(p);
	if (accept_punct(p, ')'))
		return true;
	do {
		char qualifier[SQL_NAME_SIZE], column[SQL_NAME_SIZE];

		if (load && p->cur.type == TK_VAR) {
			advance(p);      /* LOAD DATA: a user variable, for SET */
			continue;
		}
		if (!parse_column_ref(p, qualifier, column))
			return fail(p, load ? "expected a column or a user variable in LOAD DATA's list" :
				    "expected a column name in the column list");
		if (!add_column(p, column))
			return false;
	} while (accept_punct(p, ','));
	if (!accept_punct(p, ')'))
		return fail(p, load ? "expected ')' after LOAD DATA's column list" : "expected ')' after the column list");
	return !p->failed;
}

/* VALUES | VALUE (v, ...) [, (v, ...)] ..., or MySQL's ROW(v, ...), ... */
static bool parse_rows(struct dp *p)
{
	struct dml *m = p->m;
	size_t nv = 0;

	advance(p);
	do {
		unsigned n = 0;

		if (kw(p, "ROW")) {
			struct tok paren = peek(p, 1);

			if (tok_punct(&paren, p->s, '('))
				advance(p);
		}
		if (!accept_punct(p, '('))
			return fail(p, "expected '(' to open a row of VALUES");
		if (!is_punct(p, ')')) {
			do {
				struct dml_value v;

				if (!scan_expr(p, STOP_COMMA, &v.span, &v))
					return false;
				if (!v.span.present)
					return fail(p, "an empty value in a row of VALUES");
				if (n == DML_MAX_COLUMNS)
					return fail(p, "more values in a row than DML_MAX_COLUMNS");
				if (!add_value(p, &v, nv))
					return false;
				nv++;
				n++;
			} while (accept_punct(p, ','));
		}
		if (!accept_punct(p, ')'))
			return fail(p, "expected ')' to close a row of VALUES");
		if (m->nrows == 0)
			m->nvalues = n;
		else if (n != m->nvalues)
			return fail(p, "rows of VALUES with different numbers of values");
		if (m->nrows == UINT32_MAX)
			return fail(p, "too many rows");
		m->nrows++;
	} while (accept_punct(p, ','));
	return !p->failed;
}

/* MySQL 8: VALUES ... AS alias [(col, ...)] (at the current AS). */
static bool parse_row_alias(struct dp *p)
{
	struct mark mk;
	char name[SQL_NAME_SIZE];

	if (p->d->flavor == SQL_FLAVOR_MARIADB)
		return fail(p, "INSERT ... AS row alias (MySQL syntax, which MariaDB rejects)");
	advance(p);
	mk = mark_here(p);
	if (!ident_copy(p, &p->cur, name))
		return fail(p, "expected a row alias after AS");
	advance(p);
	if (is_punct(p, '(') && !skip_group(p))
		return false;
	return span_from(p, &mk, &p->m->row_alias);
}

/*
 * INSERT | REPLACE [LOW_PRIORITY | DELAYED | HIGH_PRIORITY] [IGNORE] [INTO] t
 * [PARTITION (p)] [(cols)] {VALUES rows | SET assignments | query}
 * [AS alias [(cols)]] [ON DUPLICATE KEY UPDATE ...] [RETURNING ...]
 */
static bool parse_insert(struct dp *p)
{
	struct dml *m = p->m;
	bool column_list = false;

	advance(p);
	for (;;) {
		if (kw(p, "IGNORE"))
			m->ignore = true;
		else if (!kw(p, "LOW_PRIORITY") && !kw(p, "DELAYED") && !kw(p, "HIGH_PRIORITY"))
			break;
		advance(p);
	}
	accept_kw(p, "INTO");
	if (!parse_table_name(p, &m->into) || is_punct(p, '.'))
		return fail(p, "expected the table to insert into");
	if (accept_kw(p, "PARTITION")) {
		if (!is_punct(p, '('))
			return fail(p, "PARTITION without its list of partitions");
		if (!skip_group(p))
			return false;
		m->partition = true;
	}
	if (is_punct(p, '(') && !group_is_query(p)) {
		if (!parse_column_list(p, false))
			return false;
		column_list = true;
	}
	if (kw(p, "VALUES") || kw(p, "VALUE")) {
		m->source = DML_SRC_VALUES;
		if (!parse_rows(p))
			return false;
		if (column_list && m->nvalues != m->ncolumns)
			return fail(p, "the column list and the rows of VALUES differ in length");
	} else if (kw(p, "SET")) {
		if (column_list)
			return fail(p, "a column list before INSERT ... SET");
		m->source = DML_SRC_SET;
		advance(p);
		if (!parse_assignments(p, STOP_ODKU | STOP_AS | STOP_RETURNING, true))
			return false;
		m->nrows = 1;
		m->nvalues = m->nassign;
	} else if (kw(p, "SELECT") || kw(p, "TABLE") || kw(p, "WITH") ||
		   (is_punct(p, '(') && group_is_query(p))) {
		m->source = DML_SRC_SELECT;
		if (!scan_expr(p, STOP_ODKU | STOP_RETURNING, &m->select, NULL))
			return false;
	} else {
		return fail(p, "expected VALUES, SET or a SELECT after the table to insert into");
	}
	if (m->source != DML_SRC_SELECT && kw(p, "AS") && !parse_row_alias(p))
		return false;
	if (at_odku(p)) {
		if (m->kind == SQL_REPLACE)
			return fail(p, "REPLACE with ON DUPLICATE KEY UPDATE");
		for (int i = 0; i < 4; i++)
			advance(p);
		if (!scan_expr(p, STOP_RETURNING, &m->odku, NULL))
			return false;
		if (!m->odku.present)
			return fail(p, "ON DUPLICATE KEY UPDATE without assignments");
	}
	if (at_returning(p)) {
		advance(p);
		m->returning = true;
		if (!scan_expr(p, 0, &m->returning_list, NULL))
			return false;
		if (!m->returning_list.present)
			return fail(p, "RETURNING without a list");
	}
	return expect_end(p, m->source == DML_SRC_SELECT ?
			  "unexpected text after INSERT ... SELECT (an unbalanced ')'?)" :
			  "unexpected text after the values of INSERT");
}

/* BY 'x' of FIELDS / LINES: a string, a number (0x09), X'09', _cs'x' */
static bool parse_by_text(struct dp *p)
{
	if (!accept_kw(p, "BY"))
		return fail(p, "expected BY in LOAD DATA's FIELDS or LINES");
	if (p->cur.type == TK_WORD && peek(p, 1).type == TK_STRING)
		advance(p);
	if (p->cur.type != TK_STRING && p->cur.type != TK_NUMBER)
		return fail(p, "expected a string after BY in LOAD DATA");
	advance(p);
	return true;
}

/*
 * LOAD DATA [LOW_PRIORITY | CONCURRENT] [LOCAL] INFILE 'file'
 *   [REPLACE | IGNORE] INTO TABLE t [PARTITION (p, ...)]
 *   [CHARACTER SET cs] [{FIELDS | COLUMNS} [TERMINATED BY 's']
 *   [[OPTIONALLY] ENCLOSED BY 'c'] [ESCAPED BY 'c']]
 *   [LINES [STARTING BY 's'] [TERMINATED BY 's']] [IGNORE n {LINES | ROWS}]
 *   [(col_or_@var, ...)] [SET col = expr, ...]
 */
static bool parse_load(struct dp *p)
{
	struct dml *m = p->m;

	advance(p);
	if (!accept_kw(p, "DATA"))
		return fail(p, "LOAD XML");
	while (kw(p, "LOW_PRIORITY") || kw(p, "CONCURRENT") || kw(p, "LOCAL")) {
		if (kw(p, "LOCAL"))
			m->load_local = true;
		advance(p);
	}
	if (!accept_kw(p, "INFILE") || p->cur.type != TK_STRING)
		return fail(p, "expected INFILE and the file's name");
	advance(p);
	if (kw(p, "REPLACE"))
		m->load_replace = true;
	else if (kw(p, "IGNORE"))
		m->ignore = true;
	if (m->load_replace || m->ignore)
		advance(p);
	if (!accept_kw(p, "INTO") || !accept_kw(p, "TABLE") || !parse_table_name(p, &m->into) || is_punct(p, '.'))
		return fail(p, "expected INTO TABLE and the table");
	if (accept_kw(p, "PARTITION")) {
		if (!is_punct(p, '(') || !skip_group(p))
			return fail(p, "PARTITION without its list of partitions");
		m->partition = true;
	}
	if (accept_kw(p, "CHARACTER") ? accept_kw(p, "SET") : accept_kw(p, "CHARSET")) {
		if (p->cur.type != TK_WORD && p->cur.type != TK_STRING && p->cur.type != TK_QIDENT)
			return fail(p, "expected a character set in LOAD DATA");
		advance(p);
	}
	if (accept_kw(p, "FIELDS") || accept_kw(p, "COLUMNS")) {
		for (;;) {
			if (accept_kw(p, "TERMINATED") || accept_kw(p, "ESCAPED")) {
				if (!parse_by_text(p))
					return false;
			} else if (accept_kw(p, "OPTIONALLY") || kw(p, "ENCLOSED")) {
				if (!accept_kw(p, "ENCLOSED") || !parse_by_text(p))
					return fail(p, "expected ENCLOSED BY in LOAD DATA");
			} else {
				break;
			}
		}
	}
	if (accept_kw(p, "LINES")) {
		while (accept_kw(p, "STARTING") || accept_kw(p, "TERMINATED"))
			if (!parse_by_text(p))
				return false;
	}
	if (accept_kw(p, "IGNORE")) {
		if (p->cur.type != TK_NUMBER)
			return fail(p, "expected a number after IGNORE in LOAD DATA");
		advance(p);
		if (!accept_kw(p, "LINES") && !accept_kw(p, "ROWS"))
			return fail(p, "expected LINES or ROWS after IGNORE n");
	}
	if (is_punct(p, '(')) {
		m->load_columns = true;
		if (!parse_column_list(p, true))
			return false;
	}
	if (accept_kw(p, "SET") && !parse_assignments(p, 0, false))
		return false;
	return expect_end(p, "unexpected text in LOAD DATA");
}

/* --- entry points ------------------------------------------------------------------ */

static void parse_stmt(struct dp *p)
{
	struct dml *m = p->m;
	bool ok;

	if (at_end(p)) {
		fail(p, "an empty statement");
		return;
	}
	if (p->cur_exec) {
		fail(p, why_exec);
		return;
	}
	m->stmt.start = p->cur.pos;
	if (kw(p, "WITH")) {
		m->with_cte = true;
		fail(p, "WITH clause (common table expressions) before the statement");
		return;
	}
	if (kw(p, "SET")) {
		fail(p, "SET STATEMENT ... FOR (MariaDB): the settings would not apply to the "
			"proxy's own statements");
		return;
	}
	switch (m->kind) {
	case SQL_INSERT:
	case SQL_REPLACE:
		if (!(m->kind == SQL_INSERT ? kw(p, "INSERT") : kw(p, "REPLACE")))
			goto mismatch;
		ok = parse_insert(p);
		break;
	case SQL_UPDATE:
		if (!kw(p, "UPDATE"))
			goto mismatch;
		ok = parse_update(p);
		break;
	case SQL_DELETE:
		if (!kw(p, "DELETE"))
			goto mismatch;
		ok = parse_delete(p);
		break;
	case SQL_LOAD_DATA:
		if (!kw(p, "LOAD"))
			goto mismatch;
		ok = parse_load(p);
		break;
	default:
		goto mismatch;
	}
	if (!ok)
		return;
	if (p->last_exec) {
		fail(p, why_exec);
		return;
	}
	m->stmt.present = true;
	m->stmt.end = p->last_end;
	if (!p->tail_set)
		m->tail = m->stmt.end;
	return;
mismatch:
	fail(p, "the statement does not start as its kind says (INSERT, REPLACE, UPDATE, DELETE)");
}

bool dml_parse(const char *sql, const struct sql_stmt *st, const struct sql_dialect *d,
	       struct dml *out)
{
	static const struct sql_dialect unknown_dialect;
	struct dp p;
	struct lex la;
	struct tok t;

	if (out == NULL)
		return false;
	memset(out, 0, sizeof(*out));
	if (sql == NULL || st == NULL) {
		out->why = "no statement";
		return false;
	}
	out->kind = st->kind;
	if (st->kind != SQL_INSERT && st->kind != SQL_REPLACE && st->kind != SQL_UPDATE &&
	    st->kind != SQL_DELETE && st->kind != SQL_LOAD_DATA) {
		out->why = "not an INSERT, REPLACE, UPDATE, DELETE or LOAD DATA";
		return false;
	}
	if (st->start > st->end) {
		out->why = "the statement's offsets are out of order";
		return false;
	}
	if (st->end - st->start >= 2 && sql[st->end - 2] == '-' && sql[st->end - 1] == '-') {
		out->why = "the statement ends with \"--\" (a comment or two minus signs)";
		return false;
	}

	/* the lexer's state as lex_init() (static in lexer.c) sets it, over the
	   statement alone */
	memset(&p, 0, sizeof(p));
	p.s = sql;
	p.start = st->start;
	p.end = st->end;
	p.d = d != NULL ? d : &unknown_dialect;
	p.m = out;
	p.lx.s = sql;
	p.lx.len = st->end;
	p.lx.end = st->end;
	p.lx.pos = st->start;
	p.lx.d = p.d;
	p.lx.prev = TK_EOF;
	next_token(&p.lx, &p.cur, &p.cur_exec);
	if (p.cur.type == TK_PARAM)
		note_param(&p);

	parse_stmt(&p);

	/* the rest of the text, lexed to the end, may still be unreadable */
	la = p.lx;
	t = p.cur;
	while (t.type != TK_EOF)
		lex_next(&la, &t);
	if (la.unterminated) {
		p.failed = true;
		out->why = "an unterminated string, quoted identifier or comment";
	} else if (la.unsure) {
		p.failed = true;
		out->why = "the server's dialect (sql_mode, version) decides how this text reads";
	}
	out->ok = !p.failed;
	if (out->ok)
		out->why = NULL;
	return out->ok;
}

void dml_free(struct dml *m)
{
	if (m == NULL)
		return;
	free(m->assign);
	free(m->columns);
	free(m->values);
	free(m->params);
	m->assign = NULL;
	m->columns = NULL;
	m->values = NULL;
	m->params = NULL;
	m->nassign = m->ncolumns = m->nrows = m->nvalues = m->nparams = 0;
}
