/*
 * lexer.h - SQL lexer and statement classifier (MySQL / MariaDB dialect).
 *
 * The proxy uses it to learn what a client statement is: its kind, the
 * tables it reads and writes, whether it reads the previous statement's
 * diagnostics, its '?' placeholders and locking clauses.  It never rewrites
 * SQL.  It is a classifier, not a parser: it knows the statement shapes the
 * proxy acts on and says so (tables_known = false) when it is not sure it
 * found everything.  A caller that must be safe treats an unknown table
 * list as "may touch any table".  Even a known list holds only the tables
 * the statement names: views, triggers, foreign-key cascades and stored
 * functions called without a database prefix reach tables it cannot see.
 *
 * Input is untrusted: any bytes, any length, no NUL terminator needed.
 * Nothing is allocated and nothing is read outside sql[0, len).  The work
 * is linear in len (a few bounded look-aheads), recursion is bounded.
 *
 * Lexing follows the server's rules (comment markers are written with a
 * space here, "/ *", to keep this comment a comment):
 *  - comments: `-- ` (dash dash then a space, a control character or the
 *    end), `#` to end of line, `/ * ... * /` (not nested);
 *  - executable comments `/ *! ... * /`, `/ *!50100 ... * /`, `/ *M! ... * /`,
 *    `/ *M!100100 ... * /`: code (lexed as if the markers were not there)
 *    when the server runs them, skipped like a comment when it does not
 *    (see struct sql_dialect).  As in the server, each statement of a
 *    multi-statement starts outside any executable comment;
 *  - '...' strings with doubled quotes and, unless NO_BACKSLASH_ESCAPES,
 *    backslash escapes; "..." the same, or an identifier under the
 *    ANSI_QUOTES sql_mode; `...` identifiers with doubled backticks;
 *  - DELIMITER is a client-side command and gets no special treatment.
 *
 * Not handled: character sets in which a multi-byte character can hold the
 * byte 0x5c (gbk, big5, sjis, cp932, gb18030): the server does not take
 * that byte for a backslash, this lexer does.  A session in one of those
 * character sets must treat every statement as unknown.  Nor is the
 * MariaDB sql_mode=ORACLE syntax.
 */
#ifndef CUTOVER_LEXER_H
#define CUTOVER_LEXER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"   /* WARN_UNUSED */

enum sql_kind {
	SQL_EMPTY,             /* nothing but whitespace and comments */
	SQL_UNKNOWN,           /* not recognised; tables_known is false */
	SQL_SELECT,            /* also (SELECT ...), TABLE t, VALUES ROW(...) */
	SQL_INSERT,
	SQL_REPLACE,
	SQL_UPDATE,
	SQL_DELETE,
	SQL_LOAD_DATA,         /* LOAD DATA and LOAD XML */
	SQL_CALL,
	SQL_BEGIN,             /* BEGIN [WORK], START TRANSACTION ... */
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_SAVEPOINT,
	SQL_ROLLBACK_TO_SAVEPOINT,
	SQL_RELEASE_SAVEPOINT,
	SQL_SET,
	SQL_SET_TRANSACTION,   /* SET [GLOBAL|SESSION|LOCAL] TRANSACTION ... */
	SQL_USE,
	SQL_SHOW_WARNINGS,
	SQL_SHOW_ERRORS,
	SQL_SHOW_COUNT_WARNINGS,
	SQL_SHOW_COUNT_ERRORS,
	SQL_GET_DIAGNOSTICS,
	SQL_SHOW,              /* any other SHOW */
	SQL_CREATE,
	SQL_ALTER,
	SQL_DROP,              /* DROP PREPARE is SQL_DEALLOCATE */
	SQL_RENAME,
	SQL_TRUNCATE,
	SQL_LOCK_TABLES,
	SQL_UNLOCK_TABLES,
	SQL_PREPARE,
	SQL_EXECUTE,           /* also MariaDB EXECUTE IMMEDIATE */
	SQL_DEALLOCATE,
	SQL_DO,
	SQL_HANDLER,
	SQL_XA,
	SQL_FLUSH,
	SQL_KILL,
	SQL_OTHER,             /* recognised, none of the above (GRANT, EXPLAIN,
				  OPTIMIZE TABLE, compound statements, ...) */
};

/*
 * Identifiers are at most 64 characters, stored in utf8mb3: 192 bytes.
 * A longer name (or one holding a NUL byte) is not reported; the
 * statement's tables_known is then false.
 */
#define SQL_NAME_SIZE 193

/*
 * A table as the statement names it: unquoted (quotes removed, doubled
 * quotes undone), case as written.  db is "" when the name is not
 * qualified (the session's current database).  Comparing names the way the
 * server does (lower_case_table_names) is the caller's business.
 */
struct sql_table {
	char db[SQL_NAME_SIZE];
	char name[SQL_NAME_SIZE];
};

#define SQL_MAX_TABLES 16
#define SQL_MAX_USING 64   /* EXECUTE ... USING values read (more: nusing -1) */

struct sql_stmt {
	enum sql_kind kind;
	size_t start, end;          /* sql[start, end) is the statement: start is
				       just after the previous ';' (0 for the first),
				       end is its ';' (excluded) or len */
	bool tables_known;          /* false when tables[] may be incomplete (too many,
				       unparseable, CALL, EXECUTE, db.func(),
				       stored program bodies, unknown statements,
				       an unsure dialect, ...) */
	unsigned ntables;
	struct sql_table tables[SQL_MAX_TABLES]; /* read or written; each once */
	unsigned nwrite;            /* tables[0, nwrite) are written: targets of
				       INSERT/REPLACE/UPDATE/DELETE/LOAD DATA, DDL
				       targets (CREATE/ALTER/DROP/RENAME/TRUNCATE,
				       OPTIMIZE/REPAIR), tables LOCKed for WRITE */
	bool reads_diagnostics;     /* SHOW WARNINGS/ERRORS, SHOW COUNT(*) ...,
				       GET DIAGNOSTICS, @@warning_count,
				       @@error_count (also @@session. / @@local.),
				       ROW_COUNT(), FOUND_ROWS() */
	bool has_placeholders;      /* '?' outside strings and comments */
	unsigned nplaceholders;
	bool for_update;            /* FOR UPDATE, anywhere in the statement */
	bool lock_in_share_mode;    /* LOCK IN SHARE MODE or FOR SHARE */
	bool with_cte;              /* starts with WITH ...; kind is that of the
				       main statement */
	bool defines_view;          /* CREATE / ALTER VIEW: tables[nwrite..] are
				       the tables its definition reads */
	struct sql_table routine;   /* SQL_CALL: the procedure; SQL_PREPARE,
				       SQL_EXECUTE, SQL_DEALLOCATE: the prepared
				       statement's name (db ""); name "" when it
				       could not be read (EXECUTE IMMEDIATE) */
	bool sets_session;          /* SQL_SET: assigns a setting that changes how
				       the server reads statements (sql_mode,
				       NAMES, CHARACTER SET, character_set_client,
				       _connection, collation_connection) */
	int nusing;                 /* SQL_EXECUTE name: how many values follow
				       USING (0: no USING), each a user variable,
				       a number (with a '-' before it or not), a
				       string literal or NULL, with only white
				       space around the commas; -1 when one is
				       anything else (an expression, a comment),
				       there are more than SQL_MAX_USING, or
				       the statement does not end after them */
	size_t using_pos, using_len; /* sql[using_pos, using_pos + using_len):
				       those values, USING itself excluded */
	struct {
		unsigned off, len;      /* value i: sql[using_pos + off, + len) */
	} using_val[SQL_MAX_USING];
	size_t text_pos, text_len;  /* SQL_PREPARE ... FROM 'text': the string
				       literal, quotes included (sql_string_value
				       reads it); text_len 0 when the text is not
				       one plain literal (FROM @var, 'a' 'b',
				       _utf8mb4'x') */
};

enum sql_flavor { SQL_FLAVOR_UNKNOWN, SQL_FLAVOR_MYSQL, SQL_FLAVOR_MARIADB };
enum sql_quotes { SQL_QUOTES_UNKNOWN, SQL_QUOTES_STRING, SQL_QUOTES_IDENT };

/*
 * What the session knows about how its server lexes SQL.  The zero value
 * means "nothing known".  Where the answer depends on what is not known,
 * the lexer reads the text the common way and sets tables_known = false
 * on that statement and every later one of the input (their boundaries
 * may differ from the server's too).  That happens for:
 *  - a "..." holding a backslash while double_quotes is unknown (under
 *    ANSI_QUOTES it is an identifier, in which \ escapes nothing);
 *  - an executable comment that some supported server (MySQL 5.7+,
 *    MariaDB 10+) skips: "/ *!NNNNN" from 50700 up (MariaDB skips
 *    50700..99999 as MySQL-only, MySQL skips versions above its own) and
 *    any "/ *M!" (MySQL never runs them) while flavor/version are unknown.
 */
struct sql_dialect {
	bool no_backslash_escapes;       /* SERVER_STATUS_NO_BACKSLASH_ESCAPES */
	enum sql_quotes double_quotes;   /* SQL_QUOTES_IDENT under ANSI_QUOTES */
	enum sql_flavor flavor;
	unsigned long version;           /* as executable comments write it:
					    80036 for 8.0.36, 101106 for
					    10.11.6; 0 = unknown */
};

/*
 * Set d->flavor and d->version from the server version string of the
 * initial handshake ("8.0.36-log", "5.5.5-10.11.6-MariaDB-0+deb12u1",
 * "11.4.2-MariaDB").  Returns false, with both unknown, when the string
 * does not start with a version.
 */
bool sql_dialect_set_server(struct sql_dialect *d, const char *version, size_t len) WARN_UNUSED;

/*
 * Split sql[0, len) (not NUL-terminated, may hold NUL bytes) into
 * statements at each ';' outside strings, quoted identifiers and comments
 * (inside a stored program body or compound statement, BEGIN ... END and
 * friends are tracked, so the ';' of the body do not split), and classify
 * each.  The text after the last ';' is a statement only when it holds
 * more than whitespace; an input of nothing but whitespace is one
 * SQL_EMPTY statement.  (This is the lexer's view: the server may answer
 * an empty statement with no result, so the session counts results from
 * the server's packets, not from this count.)
 *
 * Fills out[0, min(result, max)) and returns the number of statements,
 * which may exceed max (then only the first max are filled; out may be
 * NULL when max is 0, to count).  Never fails.
 *
 * sql_parse_dialect() lexes for the dialect d (NULL: nothing known); a
 * session passes what it knows.  sql_parse_ex() knows only the session's
 * NO_BACKSLASH_ESCAPES mode (server status flag
 * SERVER_STATUS_NO_BACKSLASH_ESCAPES), sql_parse() nothing (it assumes
 * backslash escapes).
 */
size_t sql_parse_dialect(const char *sql, size_t len, struct sql_stmt *out, size_t max,
			 const struct sql_dialect *d) WARN_UNUSED;
size_t sql_parse_ex(const char *sql, size_t len, struct sql_stmt *out, size_t max,
		    bool no_backslash_escapes) WARN_UNUSED;
size_t sql_parse(const char *sql, size_t len, struct sql_stmt *out, size_t max) WARN_UNUSED;

/* "SELECT", "ROLLBACK_TO_SAVEPOINT", ...; "?" for a value out of range. */
const char *sql_kind_name(enum sql_kind k);

/*
 * The value of the string literal sql[pos, pos + len) (its quotes
 * included, as sql_stmt.text_pos/text_len give it): quotes doubled inside
 * and, unless no_backslash_escapes, backslash escapes undone as the server
 * undoes them.  A NUL-terminated malloc'd copy, its length in *outlen;
 * NULL when out of memory or not a quoted literal.
 */
char *sql_string_value(const char *sql, size_t pos, size_t len, bool no_backslash_escapes, size_t *outlen);

#endif
