/*
 * classify.c - SQL statement classifier (see lexer.h): the kind of one
 * statement and the tables it reads and writes.
 *
 * sql_parse_dialect() (lexer.c) calls classify_stmt() on each statement the
 * splitter found.  classify() is a small recursive-descent walk over the
 * statement's tokens, read with lex_next() (lexer-internal.h): its kind
 * from the leading words, then the table references in the places the
 * grammar puts them (FROM and JOIN lists, DML and DDL targets,
 * subqueries).  Where it is not sure it found every table it says so
 * (tables_known = false).
 *
 * Every loop consumes a token or ends; recursion depth is capped
 * (WALK_MAX_DEPTH for nested groups, CLASSIFY_MAX_DEPTH for statements
 * nested in EXPLAIN and SET STATEMENT) and nesting deeper than that is
 * skipped iteratively with the table list marked unknown.
 */
#include "protocol/lexer-internal.h"

#include <limits.h>
#include <string.h>

/* --- reserved words -------------------------------------------------------- */

/*
 * Reserved words (MySQL 8 and MariaDB): never a table name or an alias when
 * unquoted.  Sorted for bsearch.  Listing a word that is not reserved only
 * makes a statement that uses it as a name "unknown", never wrong.
 */
static const char *const reserved_words[] = {
	"ACCESSIBLE", "ADD", "ALL", "ALTER", "ANALYZE", "AND", "AS", "ASC",
	"ASENSITIVE", "BEFORE", "BETWEEN", "BIGINT", "BINARY", "BLOB", "BOTH", "BY",
	"CALL", "CASCADE", "CASE", "CHANGE", "CHAR", "CHARACTER", "CHECK", "COLLATE",
	"COLUMN", "CONDITION", "CONSTRAINT", "CONTINUE", "CONVERT", "CREATE", "CROSS",
	"CUBE", "CUME_DIST", "CURRENT_DATE", "CURRENT_ROLE", "CURRENT_TIME",
	"CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATABASE", "DATABASES",
	"DAY_HOUR", "DAY_MICROSECOND", "DAY_MINUTE", "DAY_SECOND", "DEC", "DECIMAL",
	"DECLARE", "DEFAULT", "DELAYED", "DELETE", "DENSE_RANK", "DESC", "DESCRIBE",
	"DETERMINISTIC", "DISTINCT", "DISTINCTROW", "DIV", "DOUBLE", "DROP", "DUAL",
	"EACH", "ELSE", "ELSEIF", "EMPTY", "ENCLOSED", "ESCAPED", "EXCEPT", "EXISTS",
	"EXIT", "EXPLAIN", "FALSE", "FETCH", "FIRST_VALUE", "FLOAT", "FLOAT4", "FLOAT8",
	"FOR", "FORCE", "FOREIGN", "FROM", "FULLTEXT", "FUNCTION", "GENERATED", "GET",
	"GRANT", "GROUP", "GROUPING", "GROUPS", "HAVING", "HIGH_PRIORITY",
	"HOUR_MICROSECOND", "HOUR_MINUTE", "HOUR_SECOND", "IF", "IGNORE", "IN", "INDEX",
	"INFILE", "INNER", "INOUT", "INSENSITIVE", "INSERT", "INT", "INT1", "INT2",
	"INT3", "INT4", "INT8", "INTEGER", "INTERSECT", "INTERVAL", "INTO",
	"IO_AFTER_GTIDS", "IO_BEFORE_GTIDS", "IS", "ITERATE", "JOIN", "JSON_TABLE",
	"KEY", "KEYS", "KILL", "LAG", "LAST_VALUE", "LATERAL", "LEAD", "LEADING",
	"LEAVE", "LEFT", "LIKE", "LIMIT", "LINEAR", "LINES", "LOAD", "LOCALTIME",
	"LOCALTIMESTAMP", "LOCK", "LONG", "LONGBLOB", "LONGTEXT", "LOOP",
	"LOW_PRIORITY", "MASTER_BIND", "MASTER_SSL_VERIFY_SERVER_CERT", "MATCH",
	"MAXVALUE", "MEDIUMBLOB", "MEDIUMINT", "MEDIUMTEXT", "MIDDLEINT",
	"MINUTE_MICROSECOND", "MINUTE_SECOND", "MOD", "MODIFIES", "NATURAL", "NOT",
	"NO_WRITE_TO_BINLOG", "NTH_VALUE", "NTILE", "NULL", "NUMERIC", "OF", "OFFSET",
	"ON", "OPTIMIZE", "OPTIMIZER_COSTS", "OPTION", "OPTIONALLY", "OR", "ORDER",
	"OUT", "OUTER", "OUTFILE", "OVER", "PARTITION", "PERCENT_RANK", "PRECISION",
	"PRIMARY", "PROCEDURE", "PURGE", "RANGE", "RANK", "READ", "READS",
	"READ_WRITE", "REAL", "RECURSIVE", "REFERENCES", "REGEXP", "RELEASE", "RENAME",
	"REPEAT", "REPLACE", "REQUIRE", "RESIGNAL", "RESTRICT", "RETURN", "RETURNING",
	"REVOKE", "RIGHT", "RLIKE", "ROW", "ROWS", "ROW_NUMBER", "SCHEMA", "SCHEMAS",
	"SECOND_MICROSECOND", "SELECT", "SENSITIVE", "SEPARATOR", "SET", "SHOW",
	"SIGNAL", "SMALLINT", "SPATIAL", "SPECIFIC", "SQL", "SQLEXCEPTION", "SQLSTATE",
	"SQLWARNING", "SQL_BIG_RESULT", "SQL_CALC_FOUND_ROWS", "SQL_SMALL_RESULT",
	"SSL", "STARTING", "STORED", "STRAIGHT_JOIN", "SYSTEM", "TABLE", "TERMINATED",
	"THEN", "TINYBLOB", "TINYINT", "TINYTEXT", "TO", "TRAILING", "TRIGGER", "TRUE",
	"UNDO", "UNION", "UNIQUE", "UNLOCK", "UNSIGNED", "UPDATE", "USAGE", "USE",
	"USING", "UTC_DATE", "UTC_TIME", "UTC_TIMESTAMP", "VALUES", "VARBINARY",
	"VARCHAR", "VARCHARACTER", "VARYING", "VIRTUAL", "WHEN", "WHERE", "WHILE",
	"WINDOW", "WITH", "WRITE", "XOR", "YEAR_MONTH", "ZEROFILL",
};

static bool is_reserved(const char *s, const struct tok *t)
{
	char w[40];
	size_t lo = 0, hi = sizeof(reserved_words) / sizeof(reserved_words[0]);

	if (t->type != TK_WORD || t->len >= sizeof(w))
		return false;
	for (size_t i = 0; i < t->len; i++)
		w[i] = (char)up((unsigned char)s[t->pos + i]);
	w[t->len] = '\0';
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(w, reserved_words[mid]);
		if (r == 0)
			return true;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/* --- classification: parser state ------------------------------------------ */

#define WALK_MAX_DEPTH 48
#define CLASSIFY_MAX_DEPTH 4
#define MAX_CTES 16

struct parser {
	const char *s;
	struct lex lx;           /* the lexer, just past cur */
	struct tok cur;          /* current token, not consumed yet */
	struct tok last;         /* the token consumed last */
	bool have_next;          /* next and next_lx hold the token after cur */
	struct tok next;
	struct lex next_lx;      /* the lexer just past next */
	struct sql_stmt *st;
	bool written[SQL_MAX_TABLES];
	unsigned nctes;
	char ctes[MAX_CTES][SQL_NAME_SIZE]; /* WITH names: not tables */
};

/*
 * Names of the table references of one UPDATE or DELETE table list, to
 * resolve "alias.col = ..." and "DELETE alias FROM ...".  `ref` indexes
 * st->tables, or is -1 for derived tables, CTEs and overflow.
 */
struct alias_map {
	unsigned n;
	struct {
		char db[SQL_NAME_SIZE];    /* "" for an alias */
		char name[SQL_NAME_SIZE];  /* the alias, or the table name */
		int ref;
	} e[SQL_MAX_TABLES];
};

static void unknown(struct parser *p)
{
	p->st->tables_known = false;
}

#define is(p, kw) tok_is((p)->s, &(p)->cur, kw)

static bool is_punct(const struct parser *p, char ch)
{
	return tok_punct(&p->cur, p->s, ch);
}

static bool at_end(const struct parser *p)
{
	return p->cur.type == TK_EOF;
}

/*
 * The token after the current one (n = 1, kept until the next advance) or
 * the one after that (n = 2).
 */
static struct tok peek(struct parser *p, int n)
{
	struct tok t;
	struct lex la;

	if (!p->have_next) {
		p->next_lx = p->lx;
		lex_next(&p->next_lx, &p->next);
		p->have_next = true;
	}
	if (n == 1)
		return p->next;
	la = p->next_lx;
	lex_next(&la, &t);
	return t;
}

static bool peek_is_n(struct parser *p, int n, const char *kw, size_t kwlen)
{
	struct tok t = peek(p, n);
	return tok_is_n(p->s, &t, kw, kwlen);
}

#define peek_is(p, n, kw) peek_is_n((p), (n), (kw), KWLEN(kw))

static bool peek_punct(struct parser *p, int n, char ch)
{
	struct tok t = peek(p, n);
	return tok_punct(&t, p->s, ch);
}

/*
 * What a token tells about diagnostics and placeholders, looked at once,
 * when it becomes the current token.
 */
static void note(struct parser *p)
{
	const struct tok *t = &p->cur;
	const char *s = p->s;

	if (t->type == TK_PARAM) {
		p->st->nplaceholders++;
	} else if (t->type == TK_SYSVAR) {
		bool scope_ok = t->slen == 0 || bytes_is(s + t->spos, t->slen, "SESSION") ||
				bytes_is(s + t->spos, t->slen, "LOCAL");
		if (scope_ok && (bytes_is(s + t->npos, t->nlen, "WARNING_COUNT") ||
				 bytes_is(s + t->npos, t->nlen, "ERROR_COUNT")))
			p->st->reads_diagnostics = true;
	} else if ((tok_is(s, t, "ROW_COUNT") || tok_is(s, t, "FOUND_ROWS")) &&
		   !tok_punct(&p->last, s, '.')) {
		struct tok n = peek(p, 1);
		if (tok_punct(&n, s, '('))
			p->st->reads_diagnostics = true;
	}
}

static void advance(struct parser *p)
{
	if (at_end(p))
		return;
	p->last = p->cur;
	if (p->have_next) {
		p->cur = p->next;
		p->lx = p->next_lx;
		p->have_next = false;
	} else {
		lex_next(&p->lx, &p->cur);
	}
	note(p);
}

static bool accept_n(struct parser *p, const char *kw, size_t kwlen)
{
	if (!tok_is_n(p->s, &p->cur, kw, kwlen))
		return false;
	advance(p);
	return true;
}

#define accept(p, kw) accept_n((p), (kw), KWLEN(kw))

static bool accept_punct(struct parser *p, char ch)
{
	if (!is_punct(p, ch))
		return false;
	advance(p);
	return true;
}

/* Skip a balanced group: the current '(' (or '{') up to its match, iteratively. */
static void skip_group(struct parser *p)
{
	char open = is_punct(p, '{') ? '{' : '(', close = open == '{' ? '}' : ')';
	size_t depth = 0;

	if (!is_punct(p, open))
		return;
	do {
		if (is_punct(p, open))
			depth++;
		else if (is_punct(p, close))
			depth--;
		advance(p);
	} while (depth > 0 && !at_end(p));
}

/*
 * Copy the identifier token *t, unquoted, into out[SQL_NAME_SIZE].  With
 * any_word, a reserved word is accepted too (the part after a '.').
 * False when *t is not an identifier, or is too long, or holds a NUL.
 */
static bool ident_copy(const struct parser *p, const struct tok *t, bool any_word, char *out)
{
	const char *s = p->s + t->pos;
	size_t n = 0;

	if (t->type == TK_WORD) {
		if (!any_word && is_reserved(p->s, t))
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
	return n > 0;                   /* `` is not a name */
}

/* An alias that is a string ('x' or "x"): copy its bytes, quotes dropped. */
static bool string_copy(const struct parser *p, const struct tok *t, char *out)
{
	if (t->type != TK_STRING || t->len < 2 || t->len - 2 >= SQL_NAME_SIZE)
		return false;
	memcpy(out, p->s + t->pos + 1, t->len - 2);
	out[t->len - 2] = '\0';
	return true;
}

/* Copy a name (shorter than SQL_NAME_SIZE by construction) with its NUL. */
static void name_copy(char *dst, const char *src)
{
	size_t n = strnlen(src, SQL_NAME_SIZE - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (up((unsigned char)*a) != up((unsigned char)*b))
			return false;
	return *a == *b;
}

/*
 * Parse a table name at the current token: name, db.name or .name.
 * Consumes it and returns true.  Returns false when there is no name
 * (nothing consumed) or its second part is too long (the first part
 * consumed); the caller then marks the table list unknown.
 */
static bool parse_table_name(struct parser *p, char *db, char *name)
{
	struct tok t = peek(p, 1);

	db[0] = '\0';
	if (is_punct(p, '.')) {                 /* .name */
		if (!ident_copy(p, &t, true, name))
			return false;
		advance(p);
		advance(p);
		return true;
	}
	if (!ident_copy(p, &p->cur, false, name))
		return false;
	advance(p);
	t = peek(p, 1);
	if (is_punct(p, '.') && (t.type == TK_WORD || t.type == TK_QIDENT)) {
		name_copy(db, name);
		if (!ident_copy(p, &t, true, name))
			return false;
		advance(p);
		advance(p);
	}
	return true;
}

static bool is_cte(const struct parser *p, const char *db, const char *name)
{
	if (db[0] != '\0')
		return false;
	for (unsigned i = 0; i < p->nctes; i++)
		if (name_eq(p->ctes[i], name))
			return true;
	return false;
}

static void add_cte(struct parser *p, const char *name)
{
	if (p->nctes == MAX_CTES) {
		unknown(p);
		return;
	}
	name_copy(p->ctes[p->nctes++], name);
}

/*
 * Record a table the statement reads (or writes).  Returns its index in
 * st->tables, or -1 when it is a CTE name or there is no room (then the
 * table list is unknown).
 */
static int add_table(struct parser *p, const char *db, const char *name, bool write)
{
	struct sql_stmt *st = p->st;

	if (is_cte(p, db, name))
		return -1;
	for (unsigned i = 0; i < st->ntables; i++) {
		if (strcmp(st->tables[i].db, db) == 0 && strcmp(st->tables[i].name, name) == 0) {
			p->written[i] |= write;
			return (int)i;
		}
	}
	if (st->ntables == SQL_MAX_TABLES) {
		unknown(p);
		return -1;
	}
	name_copy(st->tables[st->ntables].db, db);
	name_copy(st->tables[st->ntables].name, name);
	p->written[st->ntables] = write;
	return (int)st->ntables++;
}

/* Parse one table name and record it; unknown when there is none. */
static int table_name(struct parser *p, bool write)
{
	char db[SQL_NAME_SIZE], name[SQL_NAME_SIZE];

	if (!parse_table_name(p, db, name)) {
		unknown(p);
		return -1;
	}
	return add_table(p, db, name, write);
}

/* name [, name ...]: DROP TABLE, TRUNCATE, OPTIMIZE TABLE, ... */
static void table_name_list(struct parser *p, bool write)
{
	do
		table_name(p, write);
	while (accept_punct(p, ','));
}

static void am_add(struct parser *p, struct alias_map *am, const char *db, const char *name, int ref)
{
	if (am == NULL)
		return;
	if (am->n == SQL_MAX_TABLES) {
		unknown(p);
		return;
	}
	name_copy(am->e[am->n].db, db);
	name_copy(am->e[am->n].name, name);
	am->e[am->n].ref = ref;
	am->n++;
}

/*
 * The entry that `db`.`name` (db may be "") names in the table list: an
 * alias, or the name of a table without one.  Returns the entry or -1.
 */
static int am_find(const struct alias_map *am, const char *db, const char *name)
{
	for (unsigned i = 0; i < am->n; i++) {
		if (!name_eq(am->e[i].name, name))
			continue;
		if (db[0] == '\0' || name_eq(am->e[i].db, db))
			return (int)i;
	}
	return -1;
}

/* --- classification: query walking ------------------------------------------- */

enum { W_QUERY = 1, W_DDL = 2 };            /* walk modes */
enum { S_COMMA = 1, S_CLAUSE = 2 };         /* walk stops */

static void walk(struct parser *p, unsigned depth, unsigned mode, unsigned stop);
static void parse_table_list(struct parser *p, unsigned depth, struct alias_map *am);

/* Does a '(' group hold a query?  Looks past nested '(' (a bounded peek). */
static bool group_is_query(const struct parser *p)
{
	struct lex la = p->lx;
	struct tok t;

	for (int i = 0; i < 64; i++) {
		lex_next(&la, &t);
		if (!tok_punct(&t, p->s, '('))
			return tok_is(p->s, &t, "SELECT") || tok_is(p->s, &t, "WITH") ||
			       tok_is(p->s, &t, "VALUES") || tok_is(p->s, &t, "TABLE");
	}
	return false;
}

/* The current '(' group: a subquery or an expression, walked to its ')'. */
static void walk_paren(struct parser *p, unsigned depth)
{
	unsigned mode, nctes = p->nctes;

	if (depth >= WALK_MAX_DEPTH) {
		unknown(p);
		skip_group(p);
		return;
	}
	mode = group_is_query(p) ? W_QUERY : 0;
	advance(p);
	walk(p, depth + 1, mode, 0);
	if (!accept_punct(p, ')'))
		unknown(p);
	p->nctes = nctes;               /* a WITH inside is out of scope now */
}

/* Keywords that end an ON condition or a SET assignment. */
static bool at_clause(struct parser *p)
{
	static const struct kw words[] = {
		KW("WHERE"), KW("GROUP"), KW("HAVING"), KW("ORDER"), KW("LIMIT"), KW("UNION"),
		KW("EXCEPT"), KW("INTERSECT"), KW("SET"), KW("FOR"), KW("LOCK"), KW("INTO"),
		KW("WINDOW"), KW("RETURNING"), KW("ON"), KW("USING"), KW("JOIN"), KW("INNER"),
		KW("CROSS"), KW("NATURAL"), KW("STRAIGHT_JOIN"), KW("OUTER"), KW("SELECT"),
		KW("PROCEDURE"),
	};

	if (p->cur.type != TK_WORD)
		return false;
	if (is(p, "LEFT") || is(p, "RIGHT")) {
		struct tok n = peek(p, 1);
		return !tok_punct(&n, p->s, '(');     /* LEFT(s, 3) is a function */
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (tok_is_n(p->s, &p->cur, words[i].s, words[i].n))
			return true;
	return false;
}

/*
 * WITH [RECURSIVE] name [(cols)] AS (query) [, ...] at the current WITH.
 * Returns false, consuming nothing, when this WITH is something else
 * (WITH ROLLUP, WITH CHECK OPTION, ...).  The names are recorded so that
 * references to them are not taken for tables; a non-recursive CTE's name
 * is in scope only after its body, as in the server.
 */
static bool parse_with(struct parser *p, unsigned depth)
{
	char name[SQL_NAME_SIZE];
	struct tok t1 = peek(p, 1), t2 = peek(p, 2);
	bool recursive;

	if (!tok_is(p->s, &t1, "RECURSIVE") &&
	    !(ident_copy(p, &t1, false, name) && (tok_is(p->s, &t2, "AS") || tok_punct(&t2, p->s, '('))))
		return false;
	advance(p);
	recursive = accept(p, "RECURSIVE");
	do {
		if (!ident_copy(p, &p->cur, false, name)) {
			unknown(p);
			return true;
		}
		advance(p);
		if (recursive)
			add_cte(p, name);
		if (is_punct(p, '('))
			skip_group(p);
		if (!accept(p, "AS") || !is_punct(p, '(')) {
			unknown(p);
			return true;
		}
		walk_paren(p, depth);
		if (!recursive)
			add_cte(p, name);
	} while (accept_punct(p, ','));
	return true;
}

/* MariaDB FOR SYSTEM_TIME ... / FOR PORTION OF p FROM a TO b after a table. */
static void skip_period_clause(struct parser *p, unsigned depth)
{
	unknown(p);     /* where the clause ends, and its alias, are guesses */
	advance(p);
	advance(p);
	while (!at_end(p) && !is_punct(p, ')') && !is_punct(p, ',') && !at_clause(p)) {
		if (is_punct(p, '('))
			walk_paren(p, depth);
		else
			advance(p);
	}
}

/* [AS] alias: copies it into alias (or "") and consumes it. */
static void parse_alias(struct parser *p, char *alias)
{
	bool as = accept(p, "AS");

	alias[0] = '\0';
	if (ident_copy(p, &p->cur, false, alias) || string_copy(p, &p->cur, alias))
		advance(p);
	else if (as)
		unknown(p);
}

/* A derived table at the current '(' or LATERAL: (query) [AS] alias [(cols)]. */
static void parse_derived(struct parser *p, unsigned depth, struct alias_map *am)
{
	char alias[SQL_NAME_SIZE];

	walk_paren(p, depth);
	parse_alias(p, alias);
	if (is_punct(p, '('))
		skip_group(p);
	am_add(p, am, "", alias, -1);
}

/*
 * One table factor: a table (with partition, alias and index hints), a
 * derived table, a parenthesised join, JSON_TABLE(...) or DUAL.  The names
 * it introduces go into am when that is not NULL.
 */
static void parse_table_factor(struct parser *p, unsigned depth, struct alias_map *am)
{
	char db[SQL_NAME_SIZE], name[SQL_NAME_SIZE], alias[SQL_NAME_SIZE];
	int ref;

	if (is_punct(p, '(')) {
		if (depth >= WALK_MAX_DEPTH) {
			unknown(p);
			skip_group(p);
		} else if (group_is_query(p)) {
			parse_derived(p, depth, am);
		} else {
			advance(p);
			parse_table_list(p, depth + 1, am);
			if (!accept_punct(p, ')'))
				unknown(p);
		}
		return;
	}
	if (is(p, "LATERAL") || is(p, "JSON_TABLE")) {
		advance(p);
		if (is_punct(p, '('))
			parse_derived(p, depth, am);
		else
			unknown(p);
		return;
	}
	if (is_punct(p, '{')) {      /* ODBC { OJ ... } */
		unknown(p);
		skip_group(p);
		return;
	}
	if (accept(p, "DUAL"))
		return;
	if (!parse_table_name(p, db, name)) {
		unknown(p);
		return;
	}
	ref = add_table(p, db, name, false);
	if (is(p, "PARTITION") && peek_punct(p, 1, '(')) {
		advance(p);
		skip_group(p);
	}
	if (is(p, "FOR") && (peek_is(p, 1, "SYSTEM_TIME") || peek_is(p, 1, "PORTION")))
		skip_period_clause(p, depth);
	parse_alias(p, alias);
	while ((is(p, "USE") || is(p, "IGNORE") || is(p, "FORCE")) &&
	       (peek_is(p, 1, "INDEX") || peek_is(p, 1, "KEY"))) {
		advance(p);
		advance(p);
		if (accept(p, "FOR")) {
			advance(p);             /* JOIN, ORDER, GROUP */
			accept(p, "BY");
		}
		if (is_punct(p, '('))
			skip_group(p);
	}
	if (alias[0] != '\0')
		am_add(p, am, "", alias, ref);
	else
		am_add(p, am, db, name, ref);
}

/* [INNER|CROSS|NATURAL|LEFT|RIGHT|OUTER ...] JOIN | STRAIGHT_JOIN: consumed. */
static bool accept_join(struct parser *p)
{
	bool any = false;

	if (accept(p, "JOIN") || accept(p, "STRAIGHT_JOIN"))
		return true;
	while ((is(p, "INNER") || is(p, "CROSS") || is(p, "NATURAL") || is(p, "OUTER") ||
		is(p, "LEFT") || is(p, "RIGHT")) && at_clause(p)) {
		advance(p);
		any = true;
	}
	if (!any)
		return false;
	if (accept(p, "JOIN") || accept(p, "STRAIGHT_JOIN"))
		return true;
	unknown(p);
	return false;
}

/*
 * A table list: factors separated by ',' and joins, with ON conditions
 * and USING (cols).  Stops at the first token that continues none of them.
 */
static void parse_table_list(struct parser *p, unsigned depth, struct alias_map *am)
{
	for (;;) {
		size_t before = p->cur.pos;

		parse_table_factor(p, depth, am);
		for (;;) {
			if (accept_join(p)) {
				parse_table_factor(p, depth, am);
			} else if (is(p, "ON") && !peek_is(p, 1, "DUPLICATE")) {
				advance(p);
				walk(p, depth, 0, S_COMMA | S_CLAUSE);
			} else if (is(p, "USING") && peek_punct(p, 1, '(')) {
				advance(p);
				skip_group(p);
			} else {
				break;
			}
		}
		if (!is_punct(p, ',') || p->cur.pos == before)
			return;
		advance(p);
	}
}

/*
 * Walk tokens up to the ')' that closes this level (not consumed), the end
 * of the statement, or a stop (S_COMMA: a ',' here; S_CLAUSE: at_clause()).
 * In W_QUERY mode FROM opens a table list and TABLE t reads t; in W_DDL
 * mode (ALTER TABLE) RENAME [TO] t and TABLE t (partition exchange and
 * conversion) write t.
 * REFERENCES t (foreign keys) reads t in every mode.
 */
static void walk(struct parser *p, unsigned depth, unsigned mode, unsigned stop)
{
	while (!at_end(p) && !is_punct(p, ')')) {
		if ((stop & S_COMMA) && is_punct(p, ','))
			return;
		if ((stop & S_CLAUSE) && at_clause(p))
			return;
		if (is_punct(p, '(')) {
			walk_paren(p, depth);
			continue;
		}
		if (p->cur.type != TK_WORD) {
			/* db.f(...): a stored function, whose tables are not known */
			if (is_punct(p, '.') && (peek(p, 1).type == TK_WORD || peek(p, 1).type == TK_QIDENT) &&
			    peek_punct(p, 2, '('))
				unknown(p);
			advance(p);
			continue;
		}
		if ((mode & W_QUERY) && accept(p, "FROM")) {
			parse_table_list(p, depth, NULL);
		} else if ((mode & W_QUERY) && is(p, "TABLE")) {
			advance(p);
			table_name(p, false);
		} else if (is(p, "WITH")) {
			if (!parse_with(p, depth))
				advance(p);
		} else if (accept(p, "FOR")) {
			if (is(p, "UPDATE"))
				p->st->for_update = true;
			else if (is(p, "SHARE"))
				p->st->lock_in_share_mode = true;
		} else if (is(p, "LOCK") && peek_is(p, 1, "IN") && peek_is(p, 2, "SHARE")) {
			p->st->lock_in_share_mode = true;
			advance(p);
		} else if (accept(p, "REFERENCES")) {
			table_name(p, false);
		} else if (is(p, "UNION") && peek_punct(p, 1, '=')) {
			unknown(p);             /* MERGE tables: UNION=(t1,t2) */
			advance(p);
		} else if ((mode & W_DDL) && accept(p, "RENAME")) {
			if (is(p, "COLUMN") || is(p, "INDEX") || is(p, "KEY") || is(p, "CONSTRAINT"))
				continue;
			if (!accept(p, "TO"))
				accept(p, "AS");
			table_name(p, true);
		} else if ((mode & W_DDL) && accept(p, "TABLE")) {
			/* EXCHANGE PARTITION p WITH TABLE t, CONVERT PARTITION p
			   TO TABLE t, CONVERT TABLE t TO PARTITION p */
			table_name(p, true);
		} else {
			advance(p);
		}
	}
}

/* Walk to the end of the statement; a stray ')' does not stop it. */
static void walk_rest(struct parser *p, unsigned mode)
{
	for (;;) {
		walk(p, 0, mode, 0);
		if (at_end(p))
			return;
		unknown(p);             /* unbalanced ')' */
		advance(p);
	}
}

/* --- classification: statements ---------------------------------------------- */

static void classify(struct parser *p, unsigned depth);

/* INSERT / REPLACE [modifiers] [INTO] t ... */
static void parse_insert(struct parser *p)
{
	advance(p);
	while (accept(p, "LOW_PRIORITY") || accept(p, "DELAYED") || accept(p, "HIGH_PRIORITY") ||
	       accept(p, "IGNORE"))
		;
	accept(p, "INTO");
	table_name(p, true);
	walk_rest(p, W_QUERY);
}

/* Mark written every table of a multi-table UPDATE/DELETE list. */
static void am_write_all(struct parser *p, const struct alias_map *am)
{
	for (unsigned i = 0; i < am->n; i++)
		if (am->e[i].ref >= 0)
			p->written[am->e[i].ref] = true;
}

/*
 * UPDATE [LOW_PRIORITY] [IGNORE] tables SET a = x, t.b = y ...: with one
 * table that table is written; with several, the ones the SET targets
 * name, or all of them when a target is unqualified.
 */
static void parse_update(struct parser *p)
{
	struct alias_map am;
	bool single, all = false;

	am.n = 0;
	advance(p);
	while (accept(p, "LOW_PRIORITY") || accept(p, "IGNORE"))
		;
	parse_table_list(p, 0, &am);
	single = am.n == 1;
	if (single && am.e[0].ref >= 0)
		p->written[am.e[0].ref] = true;
	else if (single)
		unknown(p);     /* a CTE or derived table: the base tables are not known */
	if (!accept(p, "SET")) {
		unknown(p);
		am_write_all(p, &am);
		walk_rest(p, W_QUERY);
		return;
	}
	do {
		char part[3][SQL_NAME_SIZE];
		int n = 0, e;

		while (n < 3 && ident_copy(p, &p->cur, true, part[n])) {
			n++;
			advance(p);
			if (!is_punct(p, '.'))
				break;
			advance(p);
		}
		if (!single) {
			if (n == 2)
				e = am_find(&am, "", part[0]);
			else if (n == 3)
				e = am_find(&am, part[0], part[1]);
			else
				e = -1;
			if (e < 0)
				all = true;
			else if (am.e[e].ref >= 0)
				p->written[am.e[e].ref] = true;
			else
				unknown(p);
		}
		walk(p, 0, 0, S_COMMA | S_CLAUSE);
	} while (accept_punct(p, ','));
	if (all)
		am_write_all(p, &am);
	walk_rest(p, W_QUERY);
}

/* Does "FROM t1[.*], t2[.*] USING" follow (the current token is after FROM)? */
static bool delete_using_form(const struct parser *p)
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
		if (tok_is(p->s, &t, "USING"))
			return true;
		if (!tok_punct(&t, p->s, ','))
			return false;
		lex_next(&la, &t);
	}
}

/*
 * DELETE [LOW_PRIORITY] [QUICK] [IGNORE] then one of
 *   FROM t [AS a] ...                       t written
 *   FROM t1[.*], t2[.*] USING tables ...    targets resolved in tables
 *   t1[.*], t2[.*] FROM tables ...          likewise
 */
static void parse_delete(struct parser *p)
{
	struct alias_map am;
	struct {
		char db[SQL_NAME_SIZE], name[SQL_NAME_SIZE];
	} tgt[SQL_MAX_TABLES];
	unsigned ntgt = 0;
	bool using_form = false;

	am.n = 0;
	advance(p);
	while (accept(p, "LOW_PRIORITY") || accept(p, "QUICK") || accept(p, "IGNORE"))
		;
	if (accept(p, "FROM")) {
		using_form = delete_using_form(p);
		if (!using_form) {              /* single table */
			parse_table_factor(p, 0, &am);
			if (am.n == 1 && am.e[0].ref >= 0)
				p->written[am.e[0].ref] = true;
			else
				unknown(p);
			walk_rest(p, W_QUERY);
			return;
		}
	}
	do {
		char db[SQL_NAME_SIZE], name[SQL_NAME_SIZE];

		if (!parse_table_name(p, db, name)) {
			unknown(p);
			break;
		}
		if (is_punct(p, '.') && peek_punct(p, 1, '*')) {
			advance(p);     /* .* */
			advance(p);
		}
		if (ntgt == SQL_MAX_TABLES) {
			unknown(p);
			continue;
		}
		name_copy(tgt[ntgt].db, db);
		name_copy(tgt[ntgt].name, name);
		ntgt++;
	} while (accept_punct(p, ','));
	if (using_form ? !accept(p, "USING") : !accept(p, "FROM")) {
		unknown(p);
		walk_rest(p, W_QUERY);
		return;
	}
	parse_table_list(p, 0, &am);
	for (unsigned i = 0; i < ntgt; i++) {
		int e = am_find(&am, tgt[i].db, tgt[i].name);
		if (e < 0 || am.e[e].ref < 0)
			unknown(p);     /* not in the list, or a derived table / CTE */
		else
			p->written[am.e[e].ref] = true;
	}
	walk_rest(p, W_QUERY);
}

/* LOAD DATA|XML ... INTO TABLE t ... */
static void parse_load(struct parser *p)
{
	advance(p);
	if (!accept(p, "DATA") && !accept(p, "XML")) {
		p->st->kind = SQL_OTHER;  /* LOAD INDEX INTO CACHE */
		walk_rest(p, 0);
		return;
	}
	p->st->kind = SQL_LOAD_DATA;
	while (!at_end(p) && !(is(p, "INTO") && peek_is(p, 1, "TABLE")))
		advance(p);
	if (at_end(p)) {
		unknown(p);
		return;
	}
	advance(p);
	advance(p);
	table_name(p, true);
	walk_rest(p, 0);
}

/*
 * The target of the SET assignment at p->cur is a setting that changes how
 * the server reads statements: sql_mode, NAMES, CHARACTER SET / CHARSET,
 * character_set_client, character_set_connection, collation_connection
 * (with or without @@, a scope, SESSION, LOCAL, GLOBAL).  Looks, does not
 * consume.
 */
static bool set_target_lexes(struct parser *p)
{
	static const struct kw names[] = {
		KW("SQL_MODE"), KW("NAMES"), KW("CHARACTER"), KW("CHARSET"), KW("CHARACTER_SET_CLIENT"),
		KW("CHARACTER_SET_CONNECTION"), KW("COLLATION_CONNECTION"),
	};
	struct tok t = p->cur;
	const char *name;
	size_t len;

	if (t.type == TK_WORD && (tok_is(p->s, &t, "SESSION") || tok_is(p->s, &t, "LOCAL") ||
				  tok_is(p->s, &t, "GLOBAL")))
		t = peek(p, 1);
	if (t.type == TK_SYSVAR) {
		name = p->s + t.npos;
		len = t.nlen;
	} else if (t.type == TK_WORD) {
		name = p->s + t.pos;
		len = t.len;
	} else {
		return t.type != TK_VAR;    /* a quoted name: not known */
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bytes_is_n(name, len, names[i].s, names[i].n))
			return true;
	return false;
}

/* SET ...: SET [scope] TRANSACTION, SET STATEMENT ... FOR stmt, or SET. */
static void parse_set(struct parser *p, unsigned depth)
{
	advance(p);
	if (accept(p, "STATEMENT")) {
		/* MariaDB: the statement after FOR is what runs */
		while (!at_end(p) && !is(p, "FOR")) {
			if (is_punct(p, '('))
				walk_paren(p, depth);
			else
				advance(p);
		}
		if (!accept(p, "FOR")) {
			p->st->kind = SQL_UNKNOWN;
			unknown(p);
			return;
		}
		classify(p, depth + 1);
		return;
	}
	if ((is(p, "GLOBAL") || is(p, "SESSION") || is(p, "LOCAL")) && peek_is(p, 1, "TRANSACTION"))
		advance(p);
	p->st->kind = is(p, "TRANSACTION") ? SQL_SET_TRANSACTION : SQL_SET;
	if (p->st->kind == SQL_SET) {
		/* each assignment up to a ',' at this level */
		for (;;) {
			if (set_target_lexes(p))
				p->st->sets_session = true;
			walk(p, 0, 0, S_COMMA);
			if (!accept_punct(p, ','))
				break;
		}
	}
	walk_rest(p, 0);
}

/* SHOW ...: the diagnostics forms, and the table of SHOW COLUMNS/INDEX/CREATE TABLE. */
static void parse_show(struct parser *p)
{
	struct sql_stmt *st = p->st;
	char db[SQL_NAME_SIZE], name[SQL_NAME_SIZE];
	bool from = false;

	advance(p);
	st->kind = SQL_SHOW;
	if (accept(p, "WARNINGS")) {
		st->kind = SQL_SHOW_WARNINGS;
	} else if (accept(p, "ERRORS")) {
		st->kind = SQL_SHOW_ERRORS;
	} else if (is(p, "COUNT") && peek_punct(p, 1, '(')) {
		advance(p);
		advance(p);
		if (accept_punct(p, '*') && accept_punct(p, ')')) {
			if (accept(p, "WARNINGS"))
				st->kind = SQL_SHOW_COUNT_WARNINGS;
			else if (accept(p, "ERRORS"))
				st->kind = SQL_SHOW_COUNT_ERRORS;
		}
	} else if (is(p, "CREATE") && peek_is(p, 1, "TABLE")) {
		advance(p);
		advance(p);
		table_name(p, false);
	} else {
		while (accept(p, "EXTENDED") || accept(p, "FULL"))
			;
		if (accept(p, "COLUMNS") || accept(p, "FIELDS") || accept(p, "INDEX") ||
		    accept(p, "INDEXES") || accept(p, "KEYS"))
			from = accept(p, "FROM") || accept(p, "IN");
	}
	if (st->kind != SQL_SHOW)
		st->reads_diagnostics = true;
	if (from && parse_table_name(p, db, name)) {
		if (accept(p, "FROM") || accept(p, "IN")) {     /* ... FROM t FROM db */
			if (ident_copy(p, &p->cur, true, db))
				advance(p);
			else
				unknown(p);
		}
		add_table(p, db, name, false);
	}
	walk_rest(p, 0);
}

/*
 * DEFINER = user, ALGORITHM = x, SQL SECURITY x, OR REPLACE, TEMPORARY and
 * the other words between CREATE/ALTER/DROP and the object type.
 */
static void skip_ddl_modifiers(struct parser *p)
{
	for (;;) {
		if (is(p, "OR") && peek_is(p, 1, "REPLACE")) {
			advance(p);
			advance(p);
		} else if (accept(p, "TEMPORARY") || accept(p, "ONLINE") || accept(p, "OFFLINE") ||
			   accept(p, "IGNORE") || accept(p, "UNIQUE") || accept(p, "FULLTEXT") ||
			   accept(p, "AGGREGATE")) {
		} else if (is(p, "SPATIAL") && peek_is(p, 1, "INDEX")) {
			advance(p);
		} else if (accept(p, "DEFINER")) {
			accept_punct(p, '=');
			advance(p);                     /* user, CURRENT_USER */
			if (is_punct(p, '(') && peek_punct(p, 1, ')')) {
				advance(p);
				advance(p);
			}
			if (p->cur.type == TK_VAR)      /* @host */
				advance(p);
		} else if (accept(p, "ALGORITHM")) {
			accept_punct(p, '=');
			advance(p);
		} else if (is(p, "SQL") && peek_is(p, 1, "SECURITY")) {
			advance(p);
			advance(p);
			advance(p);
		} else {
			return;
		}
	}
}

static void skip_if_exists(struct parser *p)
{
	if (is(p, "IF") && (peek_is(p, 1, "EXISTS") || (peek_is(p, 1, "NOT") && peek_is(p, 2, "EXISTS")))) {
		advance(p);
		accept(p, "NOT");
		advance(p);
	}
}

/* Object types that hold no table data and carry no body. */
static bool is_tableless_object(struct parser *p)
{
	return is(p, "DATABASE") || is(p, "SCHEMA") || is(p, "USER") || is(p, "ROLE") ||
	       is(p, "SERVER") || is(p, "TABLESPACE") || is(p, "LOGFILE") || is(p, "RESOURCE") ||
	       is(p, "SPATIAL") || is(p, "INSTANCE") || is(p, "UNDO");
}

/* Stored programs: their bodies run later, their tables are not known here. */
static bool is_program_object(struct parser *p)
{
	return is(p, "PROCEDURE") || is(p, "FUNCTION") || is(p, "EVENT") || is(p, "PACKAGE");
}

static void parse_create(struct parser *p)
{
	advance(p);
	skip_ddl_modifiers(p);
	if (accept(p, "TABLE")) {
		skip_if_exists(p);
		table_name(p, true);
		if (accept(p, "LIKE")) {
			table_name(p, false);
		} else if (is_punct(p, '(') && peek_is(p, 1, "LIKE")) {
			advance(p);
			advance(p);
			table_name(p, false);
			if (!accept_punct(p, ')'))
				unknown(p);
		}
		walk_rest(p, W_QUERY);
	} else if (accept(p, "VIEW")) {
		p->st->defines_view = true;
		skip_if_exists(p);
		table_name(p, true);
		walk_rest(p, W_QUERY);
	} else if (accept(p, "INDEX")) {
		while (!at_end(p) && !is(p, "ON"))
			advance(p);
		if (!accept(p, "ON"))
			unknown(p);
		else
			table_name(p, true);
		walk_rest(p, 0);
	} else if (accept(p, "SEQUENCE")) {
		skip_if_exists(p);
		table_name(p, true);
		walk_rest(p, 0);
	} else if (accept(p, "TRIGGER")) {
		unknown(p);
		while (!at_end(p) && !is(p, "ON"))
			advance(p);
		if (accept(p, "ON"))
			table_name(p, true);
		walk_rest(p, 0);
	} else {
		if (!is_tableless_object(p))
			unknown(p);
		walk_rest(p, 0);
	}
}

static void parse_alter(struct parser *p)
{
	advance(p);
	skip_ddl_modifiers(p);
	if (accept(p, "TABLE")) {
		skip_if_exists(p);
		table_name(p, true);
		walk_rest(p, W_DDL);
	} else if (accept(p, "VIEW")) {
		p->st->defines_view = true;
		table_name(p, true);
		walk_rest(p, W_QUERY);
	} else if (accept(p, "SEQUENCE")) {
		skip_if_exists(p);
		table_name(p, true);
		walk_rest(p, 0);
	} else {
		if (!is_tableless_object(p) && !is(p, "PROCEDURE") && !is(p, "FUNCTION"))
			unknown(p);     /* ALTER EVENT can carry a body */
		walk_rest(p, 0);
	}
}

/* The name of a prepared statement (PREPARE / EXECUTE / DEALLOCATE), in
   st->routine.name ("" when it is not a plain name). */
static void prepared_name(struct parser *p)
{
	struct sql_table *r = &p->st->routine;

	if (!parse_table_name(p, r->db, r->name) || r->db[0] != '\0')
		r->db[0] = r->name[0] = '\0';
}

/* PREPARE name FROM 'text': the name, and the literal when the text is
   one plain string literal and the statement ends there. */
static void parse_prepare(struct parser *p)
{
	struct tok t;

	prepared_name(p);
	if (p->st->routine.name[0] == '\0' || !accept(p, "FROM") || p->cur.type != TK_STRING)
		return;
	t = peek(p, 1);
	if ((t.type != TK_EOF && t.type != TK_SEMI) || p->lx.unterminated)
		return;
	p->st->text_pos = p->cur.pos;
	p->st->text_len = p->cur.len;
}

/* EXECUTE name [USING v, ...]: the values when each is a user variable, a
   number, a string literal or NULL (st->nusing, st->using_pos/len). */
static void parse_execute_using(struct parser *p)
{
	struct sql_stmt *st = p->st;
	size_t end = 0;
	int n = 0;

	if (at_end(p) || p->cur.type == TK_SEMI)
		return;
	st->nusing = -1;
	if (!accept(p, "USING"))
		return;
	st->using_pos = p->cur.pos;
	for (;;) {
		size_t start = p->cur.pos;

		if (n >= SQL_MAX_USING || p->cur.pos - st->using_pos > UINT_MAX / 2)
			return;
		if (is_punct(p, '-') && peek(p, 1).type == TK_NUMBER) {
			advance(p);
			if (!lex_only_space(p->s, p->last.pos + p->last.len, p->cur.pos))
				return;
		}
		if (p->cur.type != TK_VAR && p->cur.type != TK_NUMBER && p->cur.type != TK_STRING && !is(p, "NULL"))
			return;
		end = p->cur.pos + p->cur.len;
		if (end - st->using_pos > UINT_MAX / 2)
			return;
		st->using_val[n].off = (unsigned)(start - st->using_pos);
		st->using_val[n].len = (unsigned)(end - start);
		advance(p);
		n++;
		if (at_end(p) || p->cur.type == TK_SEMI)
			break;
		/* the list is copied as text: nothing but spaces between its
		   tokens (an executable comment could hold a ',') */
		if (!lex_only_space(p->s, end, p->cur.pos) || !accept_punct(p, ',') ||
		    !lex_only_space(p->s, p->last.pos + p->last.len, p->cur.pos))
			return;
	}
	if (p->lx.unterminated)
		return;
	st->nusing = n;
	st->using_len = end - st->using_pos;
}

static void parse_drop(struct parser *p)
{
	advance(p);
	if (accept(p, "PREPARE")) {
		p->st->kind = SQL_DEALLOCATE;
		prepared_name(p);
		walk_rest(p, 0);
		return;
	}
	skip_ddl_modifiers(p);
	if (accept(p, "TABLE") || accept(p, "TABLES") || accept(p, "VIEW") || accept(p, "SEQUENCE")) {
		skip_if_exists(p);
		table_name_list(p, true);
	} else if (accept(p, "INDEX")) {
		while (!at_end(p) && !is(p, "ON"))
			advance(p);
		if (!accept(p, "ON"))
			unknown(p);
		else
			table_name(p, true);
	} else if (!is_program_object(p) && !is(p, "USER") && !is(p, "ROLE") && !is(p, "SERVER") &&
		   !is(p, "TABLESPACE") && !is(p, "LOGFILE") && !is(p, "RESOURCE") &&
		   !is(p, "SPATIAL") && !is(p, "UNDO")) {
		unknown(p);     /* DATABASE drops its tables, TRIGGER's table unknown */
	}
	walk_rest(p, 0);
}

/* RENAME TABLE[S] [IF EXISTS] a [WAIT n | NOWAIT] TO b [, c TO d ...] */
static void parse_rename(struct parser *p)
{
	advance(p);
	if (!accept(p, "TABLE") && !accept(p, "TABLES")) {
		if (!is(p, "USER"))
			unknown(p);
		walk_rest(p, 0);
		return;
	}
	skip_if_exists(p);
	do {
		table_name(p, true);
		if (accept(p, "WAIT"))
			advance(p);
		accept(p, "NOWAIT");
		if (!accept(p, "TO")) {
			unknown(p);
			break;
		}
		table_name(p, true);
	} while (accept_punct(p, ','));
	walk_rest(p, 0);
}

/* LOCK TABLE[S] t [[AS] a] READ [LOCAL] | [LOW_PRIORITY] WRITE [CONCURRENT], ... */
static void parse_lock(struct parser *p)
{
	advance(p);
	if (!accept(p, "TABLES") && !accept(p, "TABLE")) {
		p->st->kind = SQL_OTHER;        /* LOCK INSTANCE FOR BACKUP */
		walk_rest(p, 0);
		return;
	}
	do {
		char db[SQL_NAME_SIZE], name[SQL_NAME_SIZE], alias[SQL_NAME_SIZE];
		bool write;

		if (!parse_table_name(p, db, name)) {
			unknown(p);
			break;
		}
		parse_alias(p, alias);
		accept(p, "LOW_PRIORITY");
		write = is(p, "WRITE");
		if (!write && !is(p, "READ"))
			unknown(p);
		add_table(p, db, name, write);
		advance(p);
		accept(p, "LOCAL");
		accept(p, "CONCURRENT");
	} while (accept_punct(p, ','));
	walk_rest(p, 0);
}

/* FLUSH [LOCAL] TABLES t1, t2 [WITH READ LOCK | FOR EXPORT]; FLUSH TABLES alone is all. */
static void parse_flush(struct parser *p)
{
	advance(p);
	if (!accept(p, "NO_WRITE_TO_BINLOG"))
		accept(p, "LOCAL");
	if (accept(p, "TABLES") || accept(p, "TABLE")) {
		if (at_end(p) || is(p, "WITH") || is(p, "FOR") || is_punct(p, ','))
			unknown(p);
		else
			table_name_list(p, false);
	}
	walk_rest(p, 0);
}

/* EXPLAIN / DESCRIBE / DESC / MariaDB ANALYZE of a statement, or DESCRIBE t. */
static void parse_explain(struct parser *p, unsigned depth, bool analyze)
{
	advance(p);
	for (;;) {
		if (accept(p, "EXTENDED") || accept(p, "PARTITIONS")) {
		} else if (accept(p, "ANALYZE")) {
			analyze = true;
		} else if (accept(p, "FORMAT")) {
			accept_punct(p, '=');
			advance(p);
		} else {
			break;
		}
	}
	if (is(p, "SELECT") || is(p, "WITH") || is_punct(p, '(') || is(p, "INSERT") ||
	    is(p, "REPLACE") || is(p, "UPDATE") || is(p, "DELETE") || is(p, "TABLE") ||
	    is(p, "VALUES")) {
		classify(p, depth + 1);
		/* ANALYZE runs the statement; EXPLAIN only reads metadata */
		if (!analyze)
			memset(p->written, 0, sizeof(p->written));
	} else if (!is(p, "FOR")) {
		table_name(p, false);
	}
	p->st->kind = SQL_OTHER;
	p->st->with_cte = false;
	walk_rest(p, 0);
}

/* OPTIMIZE / REPAIR / ANALYZE / CHECK / CHECKSUM [NO_WRITE_TO_BINLOG|LOCAL] TABLE list */
static void parse_table_maintenance(struct parser *p, bool write)
{
	advance(p);
	if (!accept(p, "NO_WRITE_TO_BINLOG"))
		accept(p, "LOCAL");
	if (accept(p, "TABLE") || accept(p, "TABLES"))
		table_name_list(p, write);
	else
		unknown(p);
	walk_rest(p, 0);
}

/* HANDLER t OPEN [AS a] reads t; READ and CLOSE name a handler (maybe an alias). */
static void parse_handler(struct parser *p)
{
	char db[SQL_NAME_SIZE], name[SQL_NAME_SIZE];

	advance(p);
	if (parse_table_name(p, db, name) && is(p, "OPEN"))
		add_table(p, db, name, false);
	else
		unknown(p);
}

/* Statements with no tables that need no further look. */
static const struct kw tableless_words[] = {
	KW("GRANT"), KW("REVOKE"), KW("HELP"), KW("SHUTDOWN"), KW("RESTART"), KW("PURGE"),
	KW("RESET"), KW("INSTALL"), KW("UNINSTALL"), KW("SIGNAL"), KW("RESIGNAL"),
	KW("CHANGE"), KW("STOP"), KW("CACHE"), KW("CLONE"), KW("BACKUP"),
};

/*
 * Classify the statement at the current token.  depth counts statements
 * nested in EXPLAIN and SET STATEMENT ... FOR.
 */
static void classify(struct parser *p, unsigned depth)
{
	struct sql_stmt *st = p->st;

	st->kind = SQL_OTHER;
	if (depth > CLASSIFY_MAX_DEPTH) {
		st->kind = SQL_UNKNOWN;
		unknown(p);
		return;
	}
	if (at_end(p)) {
		st->kind = depth == 0 ? SQL_EMPTY : SQL_UNKNOWN;
		if (depth > 0)
			unknown(p);
		return;
	}
	if (is_punct(p, '(')) {
		st->kind = group_is_query(p) ? SQL_SELECT : SQL_UNKNOWN;
		if (st->kind == SQL_UNKNOWN)
			unknown(p);
		walk_rest(p, W_QUERY);
		return;
	}
	if (starts_compound(&p->lx, &p->cur)) {
		if (is(p, "CREATE")) {
			st->kind = SQL_CREATE;
			parse_create(p);
		} else if (is(p, "ALTER")) {
			st->kind = SQL_ALTER;
			parse_alter(p);
		}
		unknown(p);
		return;
	}
	if (is(p, "SELECT") || is(p, "TABLE") || is(p, "VALUES")) {
		st->kind = SQL_SELECT;
		walk_rest(p, W_QUERY);
	} else if (is(p, "WITH")) {
		if (!parse_with(p, 0)) {
			st->kind = SQL_UNKNOWN;
			unknown(p);
			return;
		}
		classify(p, depth + 1);
		st->with_cte = true;
	} else if (is(p, "INSERT") || is(p, "REPLACE")) {
		st->kind = is(p, "INSERT") ? SQL_INSERT : SQL_REPLACE;
		parse_insert(p);
	} else if (is(p, "UPDATE")) {
		st->kind = SQL_UPDATE;
		parse_update(p);
	} else if (is(p, "DELETE")) {
		st->kind = SQL_DELETE;
		parse_delete(p);
	} else if (is(p, "LOAD")) {
		parse_load(p);
	} else if (is(p, "CALL")) {
		st->kind = SQL_CALL;
		unknown(p);
		advance(p);
		if (!parse_table_name(p, st->routine.db, st->routine.name))
			st->routine.name[0] = '\0';
	} else if (is(p, "BEGIN")) {
		st->kind = SQL_BEGIN;
	} else if (is(p, "START")) {
		st->kind = peek_is(p, 1, "TRANSACTION") ? SQL_BEGIN : SQL_OTHER;
	} else if (is(p, "COMMIT")) {
		st->kind = SQL_COMMIT;
	} else if (is(p, "ROLLBACK")) {
		advance(p);
		accept(p, "WORK");
		st->kind = is(p, "TO") ? SQL_ROLLBACK_TO_SAVEPOINT : SQL_ROLLBACK;
	} else if (is(p, "SAVEPOINT")) {
		st->kind = SQL_SAVEPOINT;
	} else if (is(p, "RELEASE")) {
		st->kind = peek_is(p, 1, "SAVEPOINT") ? SQL_RELEASE_SAVEPOINT : SQL_UNKNOWN;
	} else if (is(p, "SET")) {
		parse_set(p, depth);
	} else if (is(p, "USE")) {
		st->kind = SQL_USE;
	} else if (is(p, "SHOW")) {
		parse_show(p);
	} else if (is(p, "GET")) {
		advance(p);
		if (!accept(p, "CURRENT"))
			accept(p, "STACKED");
		st->kind = is(p, "DIAGNOSTICS") ? SQL_GET_DIAGNOSTICS : SQL_UNKNOWN;
		st->reads_diagnostics = st->kind == SQL_GET_DIAGNOSTICS;
	} else if (is(p, "CREATE")) {
		st->kind = SQL_CREATE;
		parse_create(p);
	} else if (is(p, "ALTER")) {
		st->kind = SQL_ALTER;
		parse_alter(p);
	} else if (is(p, "DROP")) {
		st->kind = SQL_DROP;
		parse_drop(p);
	} else if (is(p, "RENAME")) {
		st->kind = SQL_RENAME;
		parse_rename(p);
	} else if (is(p, "TRUNCATE")) {
		st->kind = SQL_TRUNCATE;
		advance(p);
		accept(p, "TABLE");
		table_name(p, true);
	} else if (is(p, "LOCK")) {
		st->kind = SQL_LOCK_TABLES;
		parse_lock(p);
	} else if (is(p, "UNLOCK")) {
		st->kind = peek_is(p, 1, "TABLES") || peek_is(p, 1, "TABLE") ? SQL_UNLOCK_TABLES : SQL_OTHER;
	} else if (is(p, "PREPARE")) {
		st->kind = SQL_PREPARE;
		advance(p);
		parse_prepare(p);
	} else if (is(p, "EXECUTE")) {
		st->kind = SQL_EXECUTE;
		unknown(p);
		advance(p);
		if (!is(p, "IMMEDIATE")) {
			prepared_name(p);
			if (st->routine.name[0] != '\0')
				parse_execute_using(p);
		}
	} else if (is(p, "DEALLOCATE")) {
		st->kind = SQL_DEALLOCATE;
		advance(p);
		if (accept(p, "PREPARE"))
			prepared_name(p);
	} else if (is(p, "DO")) {
		st->kind = SQL_DO;
		advance(p);
		walk_rest(p, 0);
	} else if (is(p, "HANDLER")) {
		st->kind = SQL_HANDLER;
		parse_handler(p);
	} else if (is(p, "XA")) {
		st->kind = SQL_XA;
	} else if (is(p, "FLUSH")) {
		st->kind = SQL_FLUSH;
		parse_flush(p);
	} else if (is(p, "KILL")) {
		st->kind = SQL_KILL;
	} else if (is(p, "EXPLAIN") || is(p, "DESCRIBE") || is(p, "DESC")) {
		parse_explain(p, depth, false);
	} else if (is(p, "ANALYZE")) {
		struct tok n = peek(p, 1);
		if (tok_is(p->s, &n, "TABLE") || tok_is(p->s, &n, "NO_WRITE_TO_BINLOG") ||
		    tok_is(p->s, &n, "LOCAL"))
			parse_table_maintenance(p, false);
		else
			parse_explain(p, depth, true);
	} else if (is(p, "OPTIMIZE") || is(p, "REPAIR")) {
		parse_table_maintenance(p, true);
	} else if (is(p, "CHECK") || is(p, "CHECKSUM")) {
		parse_table_maintenance(p, false);
	} else if (is(p, "BINLOG") || is(p, "IMPORT")) {
		unknown(p);             /* replays row events / imports tables */
	} else {
		st->kind = SQL_UNKNOWN;
		for (size_t i = 0; i < sizeof(tableless_words) / sizeof(tableless_words[0]); i++)
			if (tok_is_n(p->s, &p->cur, tableless_words[i].s, tableless_words[i].n))
				st->kind = SQL_OTHER;
		if (st->kind == SQL_UNKNOWN)
			unknown(p);
	}
}

/* Classify the statement sql[start->pos, end) into *st. */
void classify_stmt(struct sql_stmt *st, const struct lex *start, size_t end)
{
	struct parser p;
	struct sql_table tmp[SQL_MAX_TABLES];
	unsigned w = 0;

	memset(st, 0, sizeof(*st));
	st->start = start->pos;
	st->end = end;
	st->tables_known = true;

	/* field by field: the CTE name buffers need no clearing */
	p.s = start->s;
	p.st = st;
	p.lx = *start;
	p.lx.end = end;
	p.lx.unterminated = false;
	memset(&p.last, 0, sizeof(p.last));
	p.have_next = false;
	memset(p.written, 0, sizeof(p.written));
	p.nctes = 0;
	lex_next(&p.lx, &p.cur);
	note(&p);

	classify(&p, 0);
	while (!at_end(&p))
		advance(&p);
	if (p.lx.unterminated || st->kind == SQL_UNKNOWN)
		unknown(&p);

	/* written tables first, each group in order of appearance */
	for (unsigned i = 0; i < st->ntables; i++)
		w += p.written[i];
	st->nwrite = w;
	for (unsigned i = 0; i < w; i++) {
		if (!p.written[i]) {            /* out of order: rebuild */
			w = 0;
			for (unsigned k = 0; k < st->ntables; k++)
				if (p.written[k])
					tmp[w++] = st->tables[k];
			for (unsigned k = 0; k < st->ntables; k++)
				if (!p.written[k])
					tmp[w++] = st->tables[k];
			memcpy(st->tables, tmp, sizeof(tmp[0]) * st->ntables);
			break;
		}
	}
	st->has_placeholders = st->nplaceholders > 0;
}
