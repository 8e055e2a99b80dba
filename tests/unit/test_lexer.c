/*
 * test_lexer.c - unit test of the SQL lexer and classifier (protocol/lexer.c,
 * protocol/classify.c).
 *
 * A table of statements with the kind, tables (written | read), table
 * certainty, flags and placeholder count each must give; then statement
 * splitting, every comment form, executable comments, strings in both
 * backslash modes, compound statements, the server dialects (versioned
 * comments, ANSI_QUOTES), limits (too many tables, long names, deep
 * nesting), every prefix of every statement of the tables in every
 * dialect, and random bytes.  Inputs are copied into malloc'd buffers of exactly their
 * length, so an ASan build catches any read past the end.
 *
 * Plain C, no framework: prints "ok N - ..." or "not ok N - ..." per check
 * and exits 1 if any check failed.
 */
#include "protocol/lexer.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sql for a one-line message: control bytes as \xNN, at most 160 bytes. */
static const char *show(const char *sql, size_t len)
{
	static char buf[160 * 4 + 4];
	size_t o = 0;

	for (size_t i = 0; i < len && i < 160; i++) {
		unsigned char c = (unsigned char)sql[i];
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	strcpy(buf + o, len > 160 ? "..." : "");
	return buf;
}

/*
 * A malloc'd copy of exactly n bytes (one byte when n is 0, unlike
 * dup_exact() of check.h: the lexer may be handed an empty statement).
 */
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

/*
 * Structural invariants every result must keep, whatever the input:
 * offsets inside the input and in order, counts in range, names
 * terminated.  Returns false (and says why) when one is broken.
 */
static bool invariants(const struct sql_stmt *st, size_t n, size_t len)
{
	size_t prev_end = 0;

	for (size_t i = 0; i < n; i++) {
		const struct sql_stmt *s = &st[i];
		if (s->start > s->end || s->end > len || s->start < prev_end) {
			diag("stmt %zu: bad offsets %zu..%zu (len %zu)", i, s->start, s->end, len);
			return false;
		}
		prev_end = s->end;
		if ((unsigned)s->kind > SQL_OTHER || strcmp(sql_kind_name(s->kind), "?") == 0) {
			diag("stmt %zu: bad kind %d", i, (int)s->kind);
			return false;
		}
		if (s->ntables > SQL_MAX_TABLES || s->nwrite > s->ntables) {
			diag("stmt %zu: ntables %u nwrite %u", i, s->ntables, s->nwrite);
			return false;
		}
		for (unsigned t = 0; t < s->ntables; t++) {
			if (!memchr(s->tables[t].db, '\0', SQL_NAME_SIZE) ||
			    !memchr(s->tables[t].name, '\0', SQL_NAME_SIZE) || s->tables[t].name[0] == '\0') {
				diag("stmt %zu: table %u not a terminated name", i, t);
				return false;
			}
		}
		if (s->has_placeholders != (s->nplaceholders > 0)) {
			diag("stmt %zu: has_placeholders disagrees", i);
			return false;
		}
		if (s->kind == SQL_UNKNOWN && s->tables_known) {
			diag("stmt %zu: UNKNOWN with tables_known", i);
			return false;
		}
	}
	return true;
}

#define MAXSTMT 64
static struct sql_stmt out[MAXSTMT];

/* Parse sql from an exact-size buffer; returns the statement count. */
static size_t parse_d(const char *sql, size_t len, const struct sql_dialect *d)
{
	char *b = dup_text(sql, len);
	size_t n = sql_parse_dialect(b, len, out, MAXSTMT, d);

	if (!invariants(out, n < MAXSTMT ? n : MAXSTMT, len))
		check(false, "invariants after parsing \"%s\"", show(sql, len));
	free(b);
	return n;
}

static size_t parse(const char *sql, size_t len, bool nbe)
{
	struct sql_dialect d = { .no_backslash_escapes = nbe };

	return parse_d(sql, len, &d);
}

static size_t parse_str(const char *sql)
{
	return parse(sql, strlen(sql), false);
}

/* Dialects the table-free tests and the prefix/random runs use. */
static const struct sql_dialect d_unknown;
static const struct sql_dialect d_mysql57 = { .double_quotes = SQL_QUOTES_STRING,
	.flavor = SQL_FLAVOR_MYSQL, .version = 50744 };
static const struct sql_dialect d_mysql80 = { .double_quotes = SQL_QUOTES_STRING,
	.flavor = SQL_FLAVOR_MYSQL, .version = 80036 };
static const struct sql_dialect d_maria = { .double_quotes = SQL_QUOTES_STRING,
	.flavor = SQL_FLAVOR_MARIADB, .version = 101106 };
static const struct sql_dialect d_ansi = { .double_quotes = SQL_QUOTES_IDENT,
	.flavor = SQL_FLAVOR_MARIADB, .version = 101106 };
static const struct sql_dialect d_nbe = { .no_backslash_escapes = true,
	.double_quotes = SQL_QUOTES_STRING, .flavor = SQL_FLAVOR_MARIADB };
static const struct sql_dialect *const dialects[] = {
	&d_unknown, &d_mysql57, &d_mysql80, &d_maria, &d_ansi, &d_nbe,
};

/* "w1 w2 | r1 r2" (db.name when qualified); "" when there are none. */
static void format_tables(const struct sql_stmt *st, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	if (st->ntables == 0)
		return;
	for (unsigned i = 0; i <= st->ntables; i++) {
		const char *sep = i == 0 ? "" : " ";
		if (i == st->nwrite) {
			off += (size_t)snprintf(buf + off, size - off, "%s|", sep);
			sep = " ";
			if (i == st->ntables)
				break;
		} else if (i == st->ntables) {
			break;
		}
		if (off >= size)
			break;
		off += (size_t)snprintf(buf + off, size - off, "%s%s%s%s", sep, st->tables[i].db,
					st->tables[i].db[0] ? "." : "", st->tables[i].name);
		if (off >= size)
			break;
	}
}

enum { F_DIAG = 1, F_FORUPD = 2, F_SHARE = 4, F_CTE = 8 };

struct tcase {
	const char *sql;
	enum sql_kind kind;
	const char *tables;     /* as format_tables() writes them */
	int known;              /* tables_known */
	unsigned flags;
	unsigned nph;           /* placeholders */
};

#define K(x) SQL_##x

static const struct tcase cases[] = {
	/* SELECT and table references */
	{ "SELECT 1", K(SELECT), "", 1, 0, 0 },
	{ "select * from t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT a FROM db.t WHERE b = ?", K(SELECT), "| db.t", 1, 0, 1 },
	{ "SELECT * FROM `my db`.`my``tbl`", K(SELECT), "| my db.my`tbl", 1, 0, 0 },
	{ "SELECT * FROM `db` . `t`", K(SELECT), "| db.t", 1, 0, 0 },
	{ "SELECT * FROM t$1, _x, t2_3", K(SELECT), "| t$1 _x t2_3", 1, 0, 0 },
	{ "SELECT * FROM 1abc", K(SELECT), "| 1abc", 1, 0, 0 },
	{ "SELECT * FROM t\xc3\xa9l\xc3\xa9", K(SELECT), "| t\xc3\xa9l\xc3\xa9", 1, 0, 0 },
	{ "SELECT * FROM t AS x JOIN u y ON x.a = y.a", K(SELECT), "| t u", 1, 0, 0 },
	{ "SELECT * FROM t x, u AS y WHERE x.a = y.a", K(SELECT), "| t u", 1, 0, 0 },
	{ "SELECT * FROM a LEFT JOIN b USING (id) RIGHT OUTER JOIN c ON c.x = b.x", K(SELECT),
	  "| a b c", 1, 0, 0 },
	{ "SELECT * FROM a NATURAL JOIN b CROSS JOIN c STRAIGHT_JOIN d INNER JOIN e ON 1", K(SELECT),
	  "| a b c d e", 1, 0, 0 },
	{ "SELECT * FROM a JOIN b ON a.x = b.x, c", K(SELECT), "| a b c", 1, 0, 0 },
	{ "SELECT * FROM (a, b) JOIN (c JOIN d ON 1) ON 1", K(SELECT), "| a b c d", 1, 0, 0 },
	{ "SELECT * FROM (SELECT * FROM t) AS d JOIN u ON d.a = u.a", K(SELECT), "| t u", 1, 0, 0 },
	{ "SELECT * FROM (SELECT * FROM t) d (x, y)", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE EXISTS (SELECT 1 FROM v))",
	  K(SELECT), "| t u v", 1, 0, 0 },
	{ "SELECT (SELECT MAX(a) FROM s) FROM t", K(SELECT), "| s t", 1, 0, 0 },
	{ "SELECT * FROM information_schema.tables", K(SELECT), "| information_schema.tables",
	  1, 0, 0 },
	{ "SELECT NOW(), COUNT(*) FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT 1 FROM DUAL", K(SELECT), "", 1, 0, 0 },
	{ "SELECT EXTRACT(YEAR FROM d), TRIM(LEADING 'x' FROM s), SUBSTRING(s FROM 2 FOR 3) FROM t",
	  K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t USE INDEX (i1) FORCE INDEX FOR JOIN (i2) IGNORE KEY (i3) JOIN u ON 1",
	  K(SELECT), "| t u", 1, 0, 0 },
	{ "SELECT * FROM t PARTITION (p0, p1) AS x", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t WHERE a = ? AND b IN (?, ?)", K(SELECT), "| t", 1, 0, 3 },
	{ "SELECT '?', `?`, \"?\" /* ? */ -- ?\n FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t FOR UPDATE", K(SELECT), "| t", 1, F_FORUPD, 0 },
	{ "SELECT * FROM t WHERE a = 1 FOR UPDATE NOWAIT", K(SELECT), "| t", 1, F_FORUPD, 0 },
	{ "SELECT * FROM t LOCK IN SHARE MODE", K(SELECT), "| t", 1, F_SHARE, 0 },
	{ "SELECT * FROM t FOR SHARE SKIP LOCKED", K(SELECT), "| t", 1, F_SHARE, 0 },
	{ "SELECT * FROM t FOR UPDATE OF t", K(SELECT), "| t", 1, F_FORUPD, 0 },
	{ "(SELECT a FROM t) UNION (SELECT b FROM u) ORDER BY 1", K(SELECT), "| t u", 1, 0, 0 },
	{ "((SELECT 1))", K(SELECT), "", 1, 0, 0 },
	{ "SELECT a FROM t UNION ALL SELECT b FROM u", K(SELECT), "| t u", 1, 0, 0 },
	{ "SELECT a INTO @x FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT @from, @`select` FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT t.* FROM t GROUP BY a WITH ROLLUP", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.a = t.a) AS l", K(SELECT), "| t u",
	  1, 0, 0 },
	{ "SELECT * FROM JSON_TABLE('[]', '$[*]' COLUMNS (a INT PATH '$')) AS j", K(SELECT), "",
	  1, 0, 0 },
	{ "SELECT * FROM t WHERE LEFT(a, 2) = 'x'", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM a JOIN b ON LEFT(a.x, 1) = b.y JOIN c ON RIGHT(c.z, 1) = b.y", K(SELECT),
	  "| a b c", 1, 0, 0 },
	{ "SELECT * FROM t WHERE a = 1 WINDOW w AS (ORDER BY b)", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM .t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM db.select", K(SELECT), "| db.select", 1, 0, 0 },
	{ "SELECT * FROM \"t\"", K(SELECT), "", 0, 0, 0 },
	{ "TABLE t", K(SELECT), "| t", 1, 0, 0 },
	{ "VALUES ROW(1, 2)", K(SELECT), "", 1, 0, 0 },
	{ "SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2020-01-01' WHERE a = 1", K(SELECT),
	  "| t", 0, 0, 0 },

	/* diagnostics */
	{ "SHOW WARNINGS", K(SHOW_WARNINGS), "", 1, F_DIAG, 0 },
	{ "show warnings limit 10", K(SHOW_WARNINGS), "", 1, F_DIAG, 0 },
	{ "SHOW ERRORS", K(SHOW_ERRORS), "", 1, F_DIAG, 0 },
	{ "SHOW COUNT(*) WARNINGS", K(SHOW_COUNT_WARNINGS), "", 1, F_DIAG, 0 },
	{ "SHOW COUNT ( * ) ERRORS", K(SHOW_COUNT_ERRORS), "", 1, F_DIAG, 0 },
	{ "GET DIAGNOSTICS @n = NUMBER", K(GET_DIAGNOSTICS), "", 1, F_DIAG, 0 },
	{ "GET CURRENT DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT", K(GET_DIAGNOSTICS), "", 1,
	  F_DIAG, 0 },
	{ "SELECT @@warning_count", K(SELECT), "", 1, F_DIAG, 0 },
	{ "SELECT @@session.error_count", K(SELECT), "", 1, F_DIAG, 0 },
	{ "SELECT @@SESSION.WARNING_COUNT, @@local.error_count", K(SELECT), "", 1, F_DIAG, 0 },
	{ "SELECT @@`warning_count`", K(SELECT), "", 1, F_DIAG, 0 },
	{ "SELECT @@global.max_connections, @@max_error_count", K(SELECT), "", 1, 0, 0 },
	{ "SELECT ROW_COUNT()", K(SELECT), "", 1, F_DIAG, 0 },
	{ "SELECT found_rows ( )", K(SELECT), "", 1, F_DIAG, 0 },
	{ "SELECT row_count FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT db.row_count() FROM t", K(SELECT), "| t", 0, 0, 0 },
	{ "INSERT INTO t VALUES (`db`.`f`(1))", K(INSERT), "t |", 0, 0, 0 },
	{ "SELECT t.a, db.t.b FROM db.t", K(SELECT), "| db.t", 1, 0, 0 },
	{ "SELECT '@@warning_count', 'ROW_COUNT()'", K(SELECT), "", 1, 0, 0 },
	{ "SET @n = @@warning_count", K(SET), "", 1, F_DIAG, 0 },
	{ "SHOW STATUS LIKE 'x'", K(SHOW), "", 1, 0, 0 },
	{ "SHOW COLUMNS FROM t FROM db", K(SHOW), "| db.t", 1, 0, 0 },
	{ "SHOW FULL COLUMNS IN db.t", K(SHOW), "| db.t", 1, 0, 0 },
	{ "SHOW INDEX FROM t", K(SHOW), "| t", 1, 0, 0 },
	{ "SHOW CREATE TABLE t", K(SHOW), "| t", 1, 0, 0 },
	{ "SHOW TABLES", K(SHOW), "", 1, 0, 0 },

	/* INSERT / REPLACE */
	{ "INSERT INTO t VALUES (1, 2)", K(INSERT), "t |", 1, 0, 0 },
	{ "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", K(INSERT), "t |", 1, 0, 4 },
	{ "insert ignore into db.t set a = 1", K(INSERT), "db.t |", 1, 0, 0 },
	{ "INSERT LOW_PRIORITY t VALUE (1)", K(INSERT), "t |", 1, 0, 0 },
	{ "INSERT INTO t SELECT * FROM s WHERE a > 1", K(INSERT), "t | s", 1, 0, 0 },
	{ "INSERT INTO t (SELECT * FROM s)", K(INSERT), "t | s", 1, 0, 0 },
	{ "INSERT INTO t SELECT * FROM a JOIN b ON a.x = b.x ON DUPLICATE KEY UPDATE c = 1, d = 2",
	  K(INSERT), "t | a b", 1, 0, 0 },
	{ "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a), b = b + 1", K(INSERT),
	  "t |", 1, 0, 0 },
	{ "INSERT INTO t VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a", K(INSERT), "t |",
	  1, 0, 0 },
	{ "INSERT INTO t VALUES (1) RETURNING id", K(INSERT), "t |", 1, 0, 0 },
	{ "INSERT INTO t SELECT * FROM t", K(INSERT), "t |", 1, 0, 0 },
	{ "INSERT INTO t PARTITION (p1) (a) VALUES ((SELECT MAX(a) FROM s) + 1)", K(INSERT),
	  "t | s", 1, 0, 0 },
	{ "INSERT INTO t WITH c AS (SELECT * FROM s) SELECT * FROM c", K(INSERT), "t | s", 1, 0,
	  0 },
	{ "INSERT INTO t TABLE s", K(INSERT), "t | s", 1, 0, 0 },
	{ "REPLACE INTO t VALUES (1)", K(REPLACE), "t |", 1, 0, 0 },
	{ "REPLACE t SELECT * FROM s", K(REPLACE), "t | s", 1, 0, 0 },

	/* UPDATE */
	{ "UPDATE t SET a = 1 WHERE id = ?", K(UPDATE), "t |", 1, 0, 1 },
	{ "UPDATE LOW_PRIORITY IGNORE db.t AS x SET x.a = 1 ORDER BY id LIMIT 10", K(UPDATE),
	  "db.t |", 1, 0, 0 },
	{ "UPDATE t SET a = (SELECT MAX(b) FROM s) WHERE id IN (SELECT id FROM u)", K(UPDATE),
	  "t | s u", 1, 0, 0 },
	{ "UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b", K(UPDATE), "t1 | t2", 1, 0, 0 },
	{ "UPDATE t1 x JOIN t2 y ON x.id = y.id SET y.a = x.b, y.c = 1", K(UPDATE), "t2 | t1",
	  1, 0, 0 },
	{ "UPDATE t1, t2 SET t1.a = t2.b, t2.c = 1", K(UPDATE), "t1 t2 |", 1, 0, 0 },
	{ "UPDATE t1, t2 SET a = b", K(UPDATE), "t1 t2 |", 1, 0, 0 },
	{ "UPDATE db.t1, t2 SET db.t1.a = 1", K(UPDATE), "db.t1 | t2", 1, 0, 0 },
	{ "UPDATE t SET a = CASE WHEN b THEN 1 ELSE 2 END, c = IF(d, 1, 2)", K(UPDATE), "t |",
	  1, 0, 0 },
	{ "WITH c AS (SELECT id FROM s) UPDATE t JOIN c ON t.id = c.id SET t.a = 1", K(UPDATE),
	  "t | s", 1, F_CTE, 0 },
	{ "UPDATE t1 JOIN (SELECT id FROM s) d ON t1.id = d.id SET t1.a = 1", K(UPDATE), "t1 | s",
	  1, 0, 0 },
	{ "UPDATE t", K(UPDATE), "t |", 0, 0, 0 },

	/* DELETE */
	{ "DELETE FROM t WHERE id = ?", K(DELETE), "t |", 1, 0, 1 },
	{ "DELETE LOW_PRIORITY QUICK IGNORE FROM db.t WHERE a IN (SELECT a FROM s)", K(DELETE),
	  "db.t | s", 1, 0, 0 },
	{ "DELETE FROM t AS x WHERE x.a = 1 ORDER BY id LIMIT 1", K(DELETE), "t |", 1, 0, 0 },
	{ "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.a = 1", K(DELETE), "t1 | t2", 1, 0,
	  0 },
	{ "DELETE x FROM t1 AS x JOIN t2 AS y ON x.id = y.id", K(DELETE), "t1 | t2", 1, 0, 0 },
	{ "DELETE t1, t2 FROM t1 INNER JOIN t2 INNER JOIN t3 WHERE t1.id = t2.id", K(DELETE),
	  "t1 t2 | t3", 1, 0, 0 },
	{ "DELETE t1.*, t2.* FROM t1, t2, t3 WHERE 1", K(DELETE), "t1 t2 | t3", 1, 0, 0 },
	{ "DELETE FROM t1 USING t1, t2 WHERE t1.id = t2.id", K(DELETE), "t1 | t2", 1, 0, 0 },
	{ "DELETE FROM t1, t2 USING t1 JOIN t2 JOIN t3 WHERE 1", K(DELETE), "t1 t2 | t3", 1, 0,
	  0 },
	{ "DELETE FROM db.t1.* USING db.t1 JOIN t2 ON 1", K(DELETE), "db.t1 | t2", 1, 0, 0 },
	{ "DELETE nope FROM t1", K(DELETE), "| t1", 0, 0, 0 },
	{ "DELETE FROM t RETURNING id", K(DELETE), "t |", 1, 0, 0 },
	{ "WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) "
	  "DELETE FROM t WHERE id IN (SELECT n FROM c)", K(DELETE), "t |", 1, F_CTE, 0 },

	/* WITH */
	{ "WITH c AS (SELECT * FROM t) SELECT * FROM c JOIN u ON 1", K(SELECT), "| t u", 1, F_CTE,
	  0 },
	{ "WITH a AS (SELECT 1), b (x) AS (SELECT * FROM a JOIN s) SELECT * FROM b", K(SELECT),
	  "| s", 1, F_CTE, 0 },
	{ "WITH t AS (SELECT * FROM t) SELECT * FROM t", K(SELECT), "| t", 1, F_CTE, 0 },
	{ "SELECT * FROM (WITH c AS (SELECT * FROM t) SELECT * FROM c) d", K(SELECT), "| t", 1, 0,
	  0 },

	/* LOAD DATA */
	{ "LOAD DATA INFILE '/tmp/x' INTO TABLE t", K(LOAD_DATA), "t |", 1, 0, 0 },
	{ "LOAD DATA LOCAL INFILE 'x;y' REPLACE INTO TABLE db.t FIELDS TERMINATED BY ',' (a, @b) "
	  "SET c = @b", K(LOAD_DATA), "db.t |", 1, 0, 0 },
	{ "load data low_priority local infile 'f' ignore into table t ignore 1 lines", K(LOAD_DATA),
	  "t |", 1, 0, 0 },
	{ "LOAD XML LOCAL INFILE 'f' INTO TABLE t ROWS IDENTIFIED BY '<row>'", K(LOAD_DATA), "t |",
	  1, 0, 0 },
	{ "LOAD INDEX INTO CACHE t", K(OTHER), "", 1, 0, 0 },

	/* transactions */
	{ "BEGIN", K(BEGIN), "", 1, 0, 0 },
	{ "begin work", K(BEGIN), "", 1, 0, 0 },
	{ "START TRANSACTION", K(BEGIN), "", 1, 0, 0 },
	{ "START TRANSACTION READ ONLY", K(BEGIN), "", 1, 0, 0 },
	{ "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE", K(BEGIN), "", 1, 0, 0 },
	{ "COMMIT", K(COMMIT), "", 1, 0, 0 },
	{ "COMMIT WORK AND NO CHAIN NO RELEASE", K(COMMIT), "", 1, 0, 0 },
	{ "ROLLBACK", K(ROLLBACK), "", 1, 0, 0 },
	{ "ROLLBACK WORK AND CHAIN", K(ROLLBACK), "", 1, 0, 0 },
	{ "ROLLBACK TO SAVEPOINT s1", K(ROLLBACK_TO_SAVEPOINT), "", 1, 0, 0 },
	{ "ROLLBACK WORK TO s1", K(ROLLBACK_TO_SAVEPOINT), "", 1, 0, 0 },
	{ "SAVEPOINT s1", K(SAVEPOINT), "", 1, 0, 0 },
	{ "RELEASE SAVEPOINT s1", K(RELEASE_SAVEPOINT), "", 1, 0, 0 },
	{ "XA START 'x'", K(XA), "", 1, 0, 0 },
	{ "XA COMMIT 'x' ONE PHASE", K(XA), "", 1, 0, 0 },
	{ "BEGIN NOT ATOMIC SELECT 1; END", K(OTHER), "", 0, 0, 0 },

	/* SET */
	{ "SET autocommit = 0", K(SET), "", 1, 0, 0 },
	{ "SET NAMES utf8mb4", K(SET), "", 1, 0, 0 },
	{ "SET @x = (SELECT MAX(a) FROM t)", K(SET), "| t", 1, 0, 0 },
	{ "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", K(SET_TRANSACTION), "", 1, 0, 0 },
	{ "SET SESSION TRANSACTION READ ONLY", K(SET_TRANSACTION), "", 1, 0, 0 },
	{ "SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE", K(SET_TRANSACTION), "", 1, 0, 0 },
	{ "SET SESSION sql_mode = ''", K(SET), "", 1, 0, 0 },
	{ "SET @@session.transaction_isolation = 'READ-COMMITTED'", K(SET), "", 1, 0, 0 },
	{ "SET STATEMENT max_statement_time = 60 FOR UPDATE t SET a = 1", K(UPDATE), "t |", 1, 0,
	  0 },
	{ "USE db", K(USE), "", 1, 0, 0 },

	/* DDL */
	{ "CREATE TABLE t (a INT PRIMARY KEY)", K(CREATE), "t |", 1, 0, 0 },
	{ "CREATE TABLE IF NOT EXISTS db.t LIKE db.s", K(CREATE), "db.t | db.s", 1, 0, 0 },
	{ "CREATE TABLE t (LIKE s)", K(CREATE), "t | s", 1, 0, 0 },
	{ "CREATE TABLE t AS SELECT * FROM s", K(CREATE), "t | s", 1, 0, 0 },
	{ "CREATE TEMPORARY TABLE t (a INT) IGNORE SELECT a FROM s", K(CREATE), "t | s", 1, 0, 0 },
	{ "CREATE OR REPLACE TABLE t (a INT, FOREIGN KEY (a) REFERENCES p (id))", K(CREATE), "t | p",
	  1, 0, 0 },
	{ "CREATE TABLE t (a INT, CHECK (a LIKE b))", K(CREATE), "t |", 1, 0, 0 },
	{ "CREATE TABLE m (a INT) ENGINE=MERGE UNION=(t1, t2)", K(CREATE), "m |", 0, 0, 0 },
	{ "CREATE UNIQUE INDEX i ON t (a)", K(CREATE), "t |", 1, 0, 0 },
	{ "CREATE OR REPLACE ALGORITHM=MERGE DEFINER='root'@'%' SQL SECURITY INVOKER VIEW v AS "
	  "SELECT * FROM t", K(CREATE), "v | t", 1, 0, 0 },
	{ "CREATE DATABASE d", K(CREATE), "", 1, 0, 0 },
	{ "CREATE USER 'u'@'h' IDENTIFIED BY 'p'", K(CREATE), "", 1, 0, 0 },
	{ "CREATE SEQUENCE s", K(CREATE), "s |", 1, 0, 0 },
	{ "CREATE PROCEDURE p() SELECT * FROM t", K(CREATE), "", 0, 0, 0 },
	{ "CREATE DEFINER=`root`@`localhost` TRIGGER trg BEFORE INSERT ON t FOR EACH ROW "
	  "SET NEW.a = 1", K(CREATE), "t |", 0, 0, 0 },
	{ "ALTER TABLE t ADD COLUMN b INT", K(ALTER), "t |", 1, 0, 0 },
	{ "ALTER ONLINE IGNORE TABLE db.t ADD INDEX (a), ALGORITHM=INPLACE", K(ALTER), "db.t |", 1,
	  0, 0 },
	{ "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES p (id)", K(ALTER), "t | p", 1, 0, 0 },
	{ "ALTER TABLE t RENAME TO u", K(ALTER), "t u |", 1, 0, 0 },
	{ "ALTER TABLE t RENAME COLUMN a TO b", K(ALTER), "t |", 1, 0, 0 },
	{ "ALTER TABLE t EXCHANGE PARTITION p WITH TABLE u", K(ALTER), "t u |", 1, 0, 0 },
	{ "ALTER TABLE t CONVERT PARTITION p TO TABLE db.u", K(ALTER), "t db.u |", 1, 0, 0 },
	{ "ALTER TABLE t RENAME u", K(ALTER), "t u |", 1, 0, 0 },
	{ "ALTER VIEW v AS SELECT * FROM t", K(ALTER), "v | t", 1, 0, 0 },
	{ "ALTER DATABASE d CHARACTER SET utf8mb4", K(ALTER), "", 1, 0, 0 },
	{ "ALTER EVENT e DO UPDATE t SET a = 1", K(ALTER), "", 0, 0, 0 },
	{ "DROP TABLE t", K(DROP), "t |", 1, 0, 0 },
	{ "DROP TEMPORARY TABLE IF EXISTS a, db.b", K(DROP), "a db.b |", 1, 0, 0 },
	{ "DROP VIEW IF EXISTS v", K(DROP), "v |", 1, 0, 0 },
	{ "DROP INDEX i ON t", K(DROP), "t |", 1, 0, 0 },
	{ "DROP DATABASE d", K(DROP), "", 0, 0, 0 },
	{ "DROP TRIGGER trg", K(DROP), "", 0, 0, 0 },
	{ "DROP PROCEDURE IF EXISTS p", K(DROP), "", 1, 0, 0 },
	{ "DROP PREPARE s", K(DEALLOCATE), "", 1, 0, 0 },
	{ "RENAME TABLE a TO b, c TO d", K(RENAME), "a b c d |", 1, 0, 0 },
	{ "RENAME TABLE t NOWAIT TO t_old, t_new TO t", K(RENAME), "t t_old t_new |", 1, 0, 0 },
	{ "RENAME USER a TO b", K(RENAME), "", 1, 0, 0 },
	{ "TRUNCATE t", K(TRUNCATE), "t |", 1, 0, 0 },
	{ "TRUNCATE TABLE db.t", K(TRUNCATE), "db.t |", 1, 0, 0 },

	/* locks */
	{ "LOCK TABLES a READ, b WRITE", K(LOCK_TABLES), "b | a", 1, 0, 0 },
	{ "LOCK TABLE a AS x READ LOCAL, db.b y LOW_PRIORITY WRITE", K(LOCK_TABLES), "db.b | a", 1,
	  0, 0 },
	{ "UNLOCK TABLES", K(UNLOCK_TABLES), "", 1, 0, 0 },
	{ "FLUSH TABLES t1, t2 WITH READ LOCK", K(FLUSH), "| t1 t2", 1, 0, 0 },
	{ "FLUSH TABLES WITH READ LOCK", K(FLUSH), "", 0, 0, 0 },
	{ "FLUSH PRIVILEGES", K(FLUSH), "", 1, 0, 0 },

	/* prepared statements, procedures, misc */
	{ "PREPARE s FROM 'SELECT * FROM t WHERE a = ?'", K(PREPARE), "", 1, 0, 0 },
	{ "EXECUTE s USING @a", K(EXECUTE), "", 0, 0, 0 },
	{ "EXECUTE IMMEDIATE 'DELETE FROM t'", K(EXECUTE), "", 0, 0, 0 },
	{ "DEALLOCATE PREPARE s", K(DEALLOCATE), "", 1, 0, 0 },
	{ "CALL p()", K(CALL), "", 0, 0, 0 },
	{ "CALL db.p(?, @x)", K(CALL), "", 0, 0, 1 },
	{ "DO (SELECT COUNT(*) FROM t)", K(DO), "| t", 1, 0, 0 },
	{ "DO SLEEP(1)", K(DO), "", 1, 0, 0 },
	{ "HANDLER t OPEN", K(HANDLER), "| t", 1, 0, 0 },
	{ "HANDLER h READ FIRST", K(HANDLER), "", 0, 0, 0 },
	{ "KILL QUERY 42", K(KILL), "", 1, 0, 0 },
	{ "EXPLAIN SELECT * FROM t", K(OTHER), "| t", 1, 0, 0 },
	{ "EXPLAIN FORMAT=JSON UPDATE t SET a = 1", K(OTHER), "| t", 1, 0, 0 },
	{ "ANALYZE UPDATE t SET a = 1", K(OTHER), "t |", 1, 0, 0 },
	{ "EXPLAIN ANALYZE DELETE FROM t", K(OTHER), "t |", 1, 0, 0 },
	{ "DESCRIBE t", K(OTHER), "| t", 1, 0, 0 },
	{ "ANALYZE TABLE t1, t2", K(OTHER), "| t1 t2", 1, 0, 0 },
	{ "OPTIMIZE NO_WRITE_TO_BINLOG TABLE t", K(OTHER), "t |", 1, 0, 0 },
	{ "CHECK TABLE t", K(OTHER), "| t", 1, 0, 0 },
	{ "GRANT SELECT ON db.* TO 'u'@'%'", K(OTHER), "", 1, 0, 0 },
	{ "BINLOG 'abc'", K(OTHER), "", 0, 0, 0 },
	{ "DELIMITER //", K(UNKNOWN), "", 0, 0, 0 },
	{ "FROBNICATE t", K(UNKNOWN), "", 0, 0, 0 },
	{ "IF 1 THEN SELECT 1; END IF", K(OTHER), "", 0, 0, 0 },
	{ "lbl: LOOP LEAVE lbl; END LOOP", K(OTHER), "", 0, 0, 0 },
	{ "'str'", K(UNKNOWN), "", 0, 0, 0 },
	{ "", K(EMPTY), "", 1, 0, 0 },
	{ "  /* only a comment */ ", K(EMPTY), "", 1, 0, 0 },

	/* comments and executable comments */
	{ "/* c */ SELECT /* FROM x */ 1 FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "-- comment\nSELECT * FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "#comment\nSELECT * FROM t # FROM x", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT 1--1 FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t --\tFROM x", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t --", K(SELECT), "| t", 1, 0, 0 },
	{ "/*! SELECT * FROM t */", K(SELECT), "| t", 1, 0, 0 },
	{ "/*!40101 SET NAMES utf8 */", K(SET), "", 1, 0, 0 },
	{ "SELECT /*!50100 SQL_NO_CACHE */ * FROM /*!t*/", K(SELECT), "| t", 1, 0, 0 },
	/* (the table runs with nothing known of the server: "/ *M!" may be a
	   comment, "..." with a backslash an identifier; see test_dialects) */
	{ "/*M! INSERT INTO t VALUES (1) */", K(INSERT), "t |", 0, 0, 0 },
	{ "/*M!100100 DELETE FROM t */", K(DELETE), "t |", 0, 0, 0 },
	{ "SELECT * FROM t /*!50100 FOR UPDATE */", K(SELECT), "| t", 1, F_FORUPD, 0 },
	{ "/*!50100 SELECT /* inner */ * FROM t */", K(SELECT), "| t", 1, 0, 0 },
	{ "/*+ MAX_EXECUTION_TIME(1) */ SELECT * FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT /*+ BKA(t) */ * FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM t /* unterminated", K(SELECT), "| t", 0, 0, 0 },
	{ "SELECT * FROM t WHERE a = 'unterminated", K(SELECT), "| t", 0, 0, 0 },

	/* strings and numbers */
	{ "SELECT 'a\\'b', \"c\\\"d\", 'e''f', \"g\"\"h\" FROM t", K(SELECT), "| t", 0, 0, 0 },
	{ "SELECT 'a\\'b', 'e''f', \"g\"\"h\" FROM t", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT 1.5e+10, .5, 0x1F, 0b101, X'41', N'x', _utf8mb4'y' FROM t", K(SELECT), "| t", 1,
	  0, 0 },
	{ "SELECT * FROM `t``x`", K(SELECT), "| t`x", 1, 0, 0 },
	{ "SELECT .5, t.5x FROM t WHERE a = .5e3", K(SELECT), "| t", 1, 0, 0 },
	{ "SELECT * FROM db.1e5", K(SELECT), "| db.1e5", 1, 0, 0 },
	{ "SELECT * FROM ``", K(SELECT), "", 0, 0, 0 },
	{ "SELECT * FROM `unterminated", K(SELECT), "", 0, 0, 0 },
};

static void test_cases(void)
{
	char got[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		size_t n = parse_str(c->sql);
		const struct sql_stmt *st = &out[0];
		unsigned flags;
		bool ok;

		format_tables(st, got, sizeof(got));
		flags = (st->reads_diagnostics ? F_DIAG : 0) | (st->for_update ? F_FORUPD : 0) |
			(st->lock_in_share_mode ? F_SHARE : 0) | (st->with_cte ? F_CTE : 0);
		ok = n == 1 && st->kind == c->kind && strcmp(got, c->tables) == 0 &&
		     st->tables_known == (c->known != 0) && flags == c->flags &&
		     st->nplaceholders == c->nph && st->start == 0 && st->end == strlen(c->sql);
		check(ok, "%s: %s", sql_kind_name(c->kind), show(c->sql, strlen(c->sql)));
		if (!ok)
			diag("got n=%zu kind=%s tables=\"%s\" known=%d flags=%u nph=%u end=%zu", n,
			     sql_kind_name(st->kind), got, st->tables_known, flags, st->nplaceholders,
			     st->end);
	}
}

/* Split sql and compare the kinds (and the text of each statement). */
static void expect_split(const char *sql, bool nbe, size_t want, const enum sql_kind *kinds,
			 const char *const *texts)
{
	size_t n = parse(sql, strlen(sql), nbe);
	bool ok = n == want;

	for (size_t i = 0; ok && i < n; i++) {
		if (out[i].kind != kinds[i])
			ok = false;
		if (texts && (strlen(texts[i]) != out[i].end - out[i].start ||
			      memcmp(sql + out[i].start, texts[i], out[i].end - out[i].start) != 0))
			ok = false;
	}
	check(ok, "split%s: %s", nbe ? " (no backslash escapes)" : "", show(sql, strlen(sql)));
	if (!ok)
		for (size_t i = 0; i < n && i < MAXSTMT; i++)
			diag("  [%zu] %s \"%s\"", i, sql_kind_name(out[i].kind),
			     show(sql + out[i].start, out[i].end - out[i].start));
}

#define SPLIT(sql, nbe, ...) do { \
	static const enum sql_kind k_[] = { __VA_ARGS__ }; \
	expect_split((sql), (nbe), sizeof(k_) / sizeof(k_[0]), k_, NULL); \
} while (0)

static void test_split(void)
{
	static const char *const two[] = { "SELECT 1", " SELECT 2" };
	static const enum sql_kind sel2[] = { SQL_SELECT, SQL_SELECT };
	static const char *const three[] = { "SELECT ';'", " /* ; */ SELECT `;` ", "\n-- ;\nDO 1" };
	static const enum sql_kind k3[] = { SQL_SELECT, SQL_SELECT, SQL_DO };

	expect_split("SELECT 1; SELECT 2;", false, 2, sel2, two);
	expect_split("SELECT 1; SELECT 2", false, 2, sel2, two);
	expect_split("SELECT ';'; /* ; */ SELECT `;` ;\n-- ;\nDO 1", false, 3, k3, three);
	SPLIT("SELECT 1;   \n\t", false, SQL_SELECT);
	SPLIT("SELECT 1; -- trailing comment", false, SQL_SELECT, SQL_EMPTY);
	SPLIT("SELECT 1;;SELECT 2", false, SQL_SELECT, SQL_EMPTY, SQL_SELECT);
	SPLIT(";", false, SQL_EMPTY);
	SPLIT("   ", false, SQL_EMPTY);
	SPLIT("# a ; b\nSELECT 1; SELECT \"a;b\"", false, SQL_SELECT, SQL_SELECT);
	SPLIT("BEGIN; UPDATE t SET a = 1; COMMIT", false, SQL_BEGIN, SQL_UPDATE, SQL_COMMIT);
	SPLIT("SET autocommit=0; INSERT INTO t VALUES (1); SHOW WARNINGS", false,
	      SQL_SET, SQL_INSERT, SQL_SHOW_WARNINGS);
	/* backslash escapes: the quote after \ is escaped, or not */
	SPLIT("SELECT 'a\\'; SELECT 1; '", false, SQL_SELECT);
	SPLIT("SELECT 'a\\'; SELECT 1; '", true, SQL_SELECT, SQL_SELECT, SQL_UNKNOWN);
	SPLIT("SELECT \"a\\\"; SELECT 1; \"", false, SQL_SELECT);
	SPLIT("SELECT \"a\\\"; SELECT 1; \"", true, SQL_SELECT, SQL_SELECT, SQL_UNKNOWN);
	SPLIT("SELECT 'it''s;'; SELECT 2", true, SQL_SELECT, SQL_SELECT);
	SPLIT("SELECT `a\\`; SELECT 2", false, SQL_SELECT, SQL_SELECT);
	/* executable comments are code: their ';' split */
	SPLIT("/*!40101 SET a=1 */; /*!40101 SET b=2 */;", false, SQL_SET, SQL_SET);
	SPLIT("/*! SELECT 1; SELECT 2 */", false, SQL_SELECT, SQL_SELECT);
	SPLIT("/* SELECT 1; SELECT 2 */ SELECT 3", false, SQL_SELECT);
	/* version numbers are not compared (the server version is not known
	   here): the content is code; the next statement starts outside the
	   comment, so its "* /" is stray, as the server would see it */
	SPLIT("/*!99999 SELECT 1; */ SELECT 2", false, SQL_SELECT, SQL_UNKNOWN);
	SPLIT("/*!40101 SET a=1; SET b=2 */", false, SQL_SET, SQL_SET);
	/* stored programs and compound statements keep their ';' */
	SPLIT("CREATE PROCEDURE p() BEGIN SELECT 1; UPDATE t SET a = 1; END; SELECT 2", false,
	      SQL_CREATE, SQL_SELECT);
	SPLIT("CREATE PROCEDURE p() SELECT 1; SELECT 2", false, SQL_CREATE, SQL_SELECT);
	SPLIT("CREATE DEFINER=CURRENT_USER() PROCEDURE p(IN a INT) BEGIN "
	      "DECLARE done INT DEFAULT 0; "
	      "DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END; "
	      "SET @x = IF(a > 0, 1, 2); "
	      "IF EXISTS (SELECT 1 FROM t WHERE IF(a, 1, 0)) THEN SELECT 1; ELSEIF a THEN DO 1; "
	      "ELSE SELECT CASE WHEN a THEN 1 ELSE 2 END; END IF; "
	      "IF (a) THEN SET a = 1; END IF; "
	      "IF NOT done THEN SET a = 2; END IF; "
	      "CASE a WHEN 1 THEN SELECT 1; ELSE BEGIN END; END CASE; "
	      "lbl: LOOP LEAVE lbl; END LOOP lbl; "
	      "WHILE a > 0 DO SET a = a - 1; END WHILE; "
	      "REPEAT SET @s = REPEAT('x', 2); UNTIL 1 END REPEAT; "
	      "DROP TABLE IF EXISTS tmp; "
	      "END; SELECT 2", false, SQL_CREATE, SQL_SELECT);
	SPLIT("CREATE TRIGGER trg AFTER UPDATE ON t FOR EACH ROW BEGIN "
	      "IF NEW.a <> OLD.a THEN INSERT INTO log VALUES (NEW.a); END IF; END; "
	      "UPDATE t SET a = 2", false, SQL_CREATE, SQL_UPDATE);
	SPLIT("CREATE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN RETURN 1; END; SELECT f()", false,
	      SQL_CREATE, SQL_SELECT);
	SPLIT("CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN DELETE FROM t; END; SELECT 1", false,
	      SQL_CREATE, SQL_SELECT);
	SPLIT("CREATE PROCEDURE IF NOT EXISTS p() BEGIN SELECT 1; END; SELECT 2", false,
	      SQL_CREATE, SQL_SELECT);
	SPLIT("BEGIN NOT ATOMIC DECLARE x INT; SELECT 1; END; SELECT 2", false,
	      SQL_OTHER, SQL_SELECT);
	SPLIT("IF @a THEN SELECT 1; ELSE SELECT 2; END IF; SELECT 3", false, SQL_OTHER, SQL_SELECT);
	SPLIT("FOR i IN 1..3 DO SELECT i; END FOR; SELECT 4", false, SQL_OTHER, SQL_SELECT);
	SPLIT("BEGIN; SELECT 1; END", false, SQL_BEGIN, SQL_SELECT, SQL_UNKNOWN);
	SPLIT("SELECT CASE WHEN 1 THEN 2 END; SELECT 3", false, SQL_SELECT, SQL_SELECT);
	/* an unclosed body keeps the rest together rather than splitting it */
	SPLIT("CREATE PROCEDURE p() BEGIN SELECT 1; UPDATE t SET a = 1", false, SQL_CREATE);
}

/* "KIND known[ tables]; ..." for the n statements in out[]. */
static void describe(size_t n, char *buf, size_t size)
{
	char tables[1024];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && i < MAXSTMT && off < size; i++) {
		format_tables(&out[i], tables, sizeof(tables));
		off += (size_t)snprintf(buf + off, size - off, "%s%s %d%s%s", i ? "; " : "",
					sql_kind_name(out[i].kind), out[i].tables_known,
					tables[0] ? " " : "", tables);
	}
}

struct dcase {
	const char *sql;
	const struct sql_dialect *d;
	const char *want;       /* as describe() writes it */
};

static const struct dcase dcases[] = {
	/* executable comments: run, skipped, or not known */
	{ "/*!50100 DELETE FROM t */", &d_unknown, "DELETE 1 t |" },
	{ "/*!50100 DELETE FROM t */", &d_mysql57, "DELETE 1 t |" },
	{ "/*!50100 DELETE FROM t */", &d_maria, "DELETE 1 t |" },
	{ "/*!80000 DELETE FROM t */", &d_unknown, "DELETE 0 t |" },
	{ "/*!80000 DELETE FROM t */", &d_mysql80, "DELETE 1 t |" },
	{ "/*!80000 DELETE FROM t */", &d_mysql57, "EMPTY 1" },
	{ "/*!80000 DELETE FROM t */", &d_maria, "EMPTY 1" },
	{ "/*!50700 DELETE FROM t */", &d_maria, "EMPTY 1" },
	{ "/*!50699 DELETE FROM t */", &d_maria, "DELETE 1 t |" },
	{ "/*!100100 DELETE FROM t */", &d_maria, "DELETE 1 t |" },
	{ "/*!100100 DELETE FROM t */", &d_mysql80, "UNKNOWN 0" },
	{ "/*!100100 DELETE FROM t */", &d_unknown, "DELETE 0 t |" },
	{ "/*!101107 DELETE FROM t */", &d_maria, "EMPTY 1" },
	{ "/*M! DELETE FROM t */", &d_maria, "DELETE 1 t |" },
	{ "/*M! DELETE FROM t */", &d_mysql80, "EMPTY 1" },
	{ "/*M!100100 DELETE FROM t */", &d_maria, "DELETE 1 t |" },
	{ "/*M!999999 DELETE FROM t */ SELECT 1", &d_maria, "SELECT 1" },
	{ "/*M!999999 DELETE FROM t */ SELECT 1", &d_unknown, "DELETE 0 t |" },
	{ "SELECT 1 /*!99999 FROM t */", &d_mysql80, "SELECT 1" },
	{ "SELECT * FROM t /*!80000 FOR UPDATE */", &d_mysql80, "SELECT 1 | t" },
	/* a skipped comment's body is raw bytes: quotes do not hide its end */
	{ "/*!99999 SELECT 1 FROM t WHERE 'x' = ' */ UPDATE u SET a = 1; -- '", &d_maria,
	  "UPDATE 1 u |; EMPTY 1" },
	{ "/*!99999 SELECT 1 FROM t WHERE 'x' = ' */ UPDATE u SET a = 1; -- '", &d_unknown,
	  "SELECT 0 | t" },
	{ "/*!99999 /* a /* b */ c */ DELETE FROM t", &d_mysql80, "DELETE 1 t |" },
	{ "/*!99999 ; */ SELECT 1; SELECT 2", &d_mysql80, "SELECT 1; SELECT 1" },
	{ "SELECT 1; SELECT 2 /*!99999 FROM t */", &d_unknown, "SELECT 1; SELECT 0 | t" },
	/* double quotes: strings, or identifiers under ANSI_QUOTES */
	{ "SELECT \"a\\\"; UPDATE t SET x = 1; -- \"", &d_ansi, "SELECT 1; UPDATE 1 t |; EMPTY 1" },
	{ "SELECT \"a\\\"; UPDATE t SET x = 1; -- \"", &d_maria, "SELECT 1" },
	{ "SELECT \"a\\\"; UPDATE t SET x = 1; -- \"", &d_unknown, "SELECT 0" },
	{ "SELECT \"a\\\"; UPDATE t SET x = 1; -- \"", &d_nbe, "SELECT 1; UPDATE 1 t |; EMPTY 1" },
	{ "SELECT \"abc\" FROM t", &d_unknown, "SELECT 1 | t" },
	{ "SELECT * FROM \"db\".\"t\"\"x\" JOIN u \"a\" ON 1", &d_ansi, "SELECT 1 | db.t\"x u" },
	{ "SELECT * FROM \"t\"", &d_maria, "SELECT 0" },
	{ "SELECT @\"a\\\"\" FROM t", &d_unknown, "SELECT 0 | t" },
	{ "SELECT 'a\\'; DELETE FROM t; '", &d_nbe, "SELECT 1; DELETE 1 t |; UNKNOWN 0" },
};

static void test_dialects(void)
{
	char got[2048];
	struct sql_dialect d;

	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		size_t n = parse_d(c->sql, strlen(c->sql), c->d);
		describe(n, got, sizeof(got));
		size_t k = 0;
		while (k + 1 < sizeof(dialects) / sizeof(dialects[0]) && dialects[k] != c->d)
			k++;
		check(strcmp(got, c->want) == 0, "dialect %zu: %s", k, show(c->sql, strlen(c->sql)));
		if (strcmp(got, c->want) != 0)
			diag("got \"%s\", want \"%s\"", got, c->want);
	}

	check(sql_dialect_set_server(&d, "8.0.36-log", 10) && d.flavor == SQL_FLAVOR_MYSQL &&
	      d.version == 80036, "server version 8.0.36-log");
	check(sql_dialect_set_server(&d, "5.7.44", 6) && d.flavor == SQL_FLAVOR_MYSQL &&
	      d.version == 50744, "server version 5.7.44");
	check(sql_dialect_set_server(&d, "5.5.5-10.11.6-MariaDB-0+deb12u1", 31) &&
	      d.flavor == SQL_FLAVOR_MARIADB && d.version == 101106, "server version 5.5.5-10.11.6-MariaDB");
	check(sql_dialect_set_server(&d, "11.4.2-MariaDB", 14) && d.flavor == SQL_FLAVOR_MARIADB &&
	      d.version == 110402, "server version 11.4.2-MariaDB");
	check(!sql_dialect_set_server(&d, "8.0", 3) && d.flavor == SQL_FLAVOR_UNKNOWN && d.version == 0,
	      "server version 8.0: unknown");
	check(!sql_dialect_set_server(&d, "x8.0.1", 6) && !sql_dialect_set_server(&d, "", 0) &&
	      !sql_dialect_set_server(&d, "8.0.1234", 8) && !sql_dialect_set_server(&d, "8.100.1", 7),
	      "bad server versions");
	{
		char *v = dup_text("8.0.36", 5);       /* no NUL, cut short */
		check(!sql_dialect_set_server(&d, v, 5) || d.version == 80003,
		      "server version read within its length");
		free(v);
	}
}

static void test_counts(void)
{
	struct sql_stmt small[2];
	const char *sql = "SELECT 1; SELECT 2; SELECT 3; SELECT 4";
	size_t n;

	memset(small, 0x5a, sizeof(small));
	n = sql_parse(sql, strlen(sql), small, 1);
	check(n == 4 && small[0].kind == SQL_SELECT && small[0].end == 8, "count exceeds max");
	check(((unsigned char *)&small[1])[0] == 0x5a &&
	      ((unsigned char *)&small[1])[sizeof(small[1]) - 1] == 0x5a,
	      "out[max] untouched");
	check(sql_parse(sql, strlen(sql), NULL, 0) == 4, "count with out NULL, max 0");
	check(sql_parse(NULL, 0, NULL, 0) == 1, "NULL input is one empty statement");
	n = sql_parse(sql + 10, 9, small, 2);
	check(n == 1 && small[0].start == 0 && small[0].end == 8, "offsets relative to the input");
}

static void test_kind_names(void)
{
	bool ok = true;

	for (int k = SQL_EMPTY; k <= SQL_OTHER; k++) {
		if (strcmp(sql_kind_name((enum sql_kind)k), "?") == 0)
			ok = false;
		for (int j = SQL_EMPTY; j < k; j++)
			if (strcmp(sql_kind_name((enum sql_kind)k), sql_kind_name((enum sql_kind)j)) == 0)
				ok = false;
	}
	check(ok, "every kind has its own name");
	check(strcmp(sql_kind_name((enum sql_kind)1000), "?") == 0, "out-of-range kind is \"?\"");
	check(strcmp(sql_kind_name(SQL_ROLLBACK_TO_SAVEPOINT), "ROLLBACK_TO_SAVEPOINT") == 0,
	      "kind name spelling");
}

static void test_call_names(void)
{
	static const struct {
		const char *sql, *db, *name;
	} calls[] = {
		{ "CALL p()", "", "p" },
		{ "call Shop.P2(?, @x)", "Shop", "P2" },
		{ "CALL `my db`.`a``b`", "my db", "a`b" },
		{ "CALL /* c */ p", "", "p" },
		{ "CALL", "", "" },
		{ "CALL (1)", "", "" },
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		struct sql_stmt st;

		if (sql_parse(calls[i].sql, strlen(calls[i].sql), &st, 1) != 1) {
			check(false, "%s: one statement", calls[i].sql);
			continue;
		}
		check(st.kind == SQL_CALL && !st.tables_known && strcmp(st.routine.db, calls[i].db) == 0 &&
		      strcmp(st.routine.name, calls[i].name) == 0, "%s: procedure \"%s\".\"%s\" (got \"%s\".\"%s\")",
		      calls[i].sql, calls[i].db, calls[i].name, st.routine.db, st.routine.name);
	}
}

static void test_prepared_names(void)
{
	static const struct {
		const char *sql;
		enum sql_kind kind;
		const char *name, *text;   /* text: the literal's value, NULL: none */
		bool nbe;                  /* NO_BACKSLASH_ESCAPES */
	} c[] = {
		{ "PREPARE s FROM 'SELECT * FROM t WHERE id = ?'", SQL_PREPARE, "s", "SELECT * FROM t WHERE id = ?", false },
		{ "prepare `my s` from \"UPDATE t SET a = 'x'\"", SQL_PREPARE, "my s", "UPDATE t SET a = 'x'", false },
		{ "PREPARE s FROM 'a\\'b''c\\n\\%\\\\'", SQL_PREPARE, "s", "a'b'c\n\\%\\", false },
		{ "PREPARE s FROM 'a\\nb'", SQL_PREPARE, "s", "a\\nb", true },
		{ "PREPARE s FROM 'a''b'", SQL_PREPARE, "s", "a'b", true },
		{ "PREPARE s FROM @q", SQL_PREPARE, "s", NULL, false },
		{ "PREPARE s FROM 'SELECT ' 'x'", SQL_PREPARE, "s", NULL, false },
		{ "PREPARE s FROM _utf8mb4'SELECT 1'", SQL_PREPARE, "s", NULL, false },
		{ "PREPARE s FROM 'SELECT \\'", SQL_PREPARE, "s", NULL, false },   /* unterminated */
		{ "PREPARE db.s FROM 'SELECT 1'", SQL_PREPARE, "", NULL, false },
		{ "PREPARE FROM 'SELECT 1'", SQL_PREPARE, "", NULL, false },
		{ "EXECUTE s USING @a, @b", SQL_EXECUTE, "s", NULL, false },
		{ "EXECUTE `S`", SQL_EXECUTE, "S", NULL, false },
		{ "EXECUTE IMMEDIATE 'DELETE FROM t'", SQL_EXECUTE, "", NULL, false },
		{ "DEALLOCATE PREPARE s", SQL_DEALLOCATE, "s", NULL, false },
		{ "DROP PREPARE /* x */ s", SQL_DEALLOCATE, "s", NULL, false },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sql_dialect d;
		struct sql_stmt st;
		char *v = NULL;
		size_t vlen = 0;
		bool text_ok;

		memset(&d, 0, sizeof(d));
		d.no_backslash_escapes = c[i].nbe;
		if (sql_parse_dialect(c[i].sql, strlen(c[i].sql), &st, 1, &d) != 1) {
			check(false, "%s: one statement", c[i].sql);
			continue;
		}
		if (st.text_len > 0)
			v = sql_string_value(c[i].sql, st.text_pos, st.text_len, c[i].nbe, &vlen);
		text_ok = c[i].text == NULL ? st.text_len == 0
					     : v != NULL && vlen == strlen(c[i].text) && strcmp(v, c[i].text) == 0;
		check(st.kind == c[i].kind && strcmp(st.routine.name, c[i].name) == 0 && st.routine.db[0] == '\0' &&
		      text_ok && (st.kind != SQL_EXECUTE || !st.tables_known),
		      "%s: %s \"%s\", text [%s] (got %s \"%s\", text [%s])", c[i].sql, sql_kind_name(c[i].kind),
		      c[i].name, c[i].text ? c[i].text : "none", sql_kind_name(st.kind), st.routine.name,
		      v ? v : "none");
		free(v);
	}
	check(sql_string_value("'x", 0, 2, false, &(size_t){ 0 }) == NULL, "an unterminated literal has no value");
	check(sql_string_value("x'", 0, 2, false, &(size_t){ 0 }) == NULL, "a word has no value");
}

/* EXECUTE name USING ...: the values cutoverd may read (nusing, span). */
static void test_execute_using(void)
{
	static const struct {
		const char *sql;
		int nusing;
		const char *span;          /* the values' text when nusing > 0 */
	} c[] = {
		{ "EXECUTE s", 0, NULL },
		{ "EXECUTE s ;", 0, NULL },
		{ "EXECUTE s USING @a", 1, "@a" },
		{ "execute s using @a,@`b` , 'x''y', -5, 1.5e3, NULL /* c */", 6, "@a,@`b` , 'x''y', -5, 1.5e3, NULL" },
		{ "EXECUTE s USING @'q'", 1, "@'q'" },
		{ "EXECUTE s USING @a + 1", -1, NULL },
		{ "EXECUTE s USING @a := 1", -1, NULL },
		{ "EXECUTE s USING NOW()", -1, NULL },
		{ "EXECUTE s USING 'a' 'b'", -1, NULL },
		{ "EXECUTE s USING _latin1'a'", -1, NULL },
		{ "EXECUTE s USING @@sql_mode", -1, NULL },
		{ "EXECUTE s USING", -1, NULL },
		{ "EXECUTE s USING @a,", -1, NULL },
		{ "EXECUTE s USING - @a", -1, NULL },
		{ "EXECUTE s USING 'unterminated", -1, NULL },
		{ "EXECUTE s junk", -1, NULL },
		{ "EXECUTE IMMEDIATE 'DELETE FROM t WHERE id = ?' USING @a", 0, NULL },
		{ "EXECUTE s USING @a /*! , @b */", -1, NULL },
		{ "EXECUTE s USING @a /* x */, @b", -1, NULL },
		{ "EXECUTE s USING @a, -- x\n @b", -1, NULL },
		{ "EXECUTE s USING - /**/ 5", -1, NULL },
		{ "EXECUTE s USING @a ,\n\t- 5", 2, "@a ,\n\t- 5" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sql_stmt st;
		bool span_ok;

		if (sql_parse(c[i].sql, strlen(c[i].sql), &st, 1) != 1) {
			check(false, "%s: one statement", c[i].sql);
			continue;
		}
		span_ok = c[i].span == NULL || (st.using_len == strlen(c[i].span) &&
						 memcmp(c[i].sql + st.using_pos, c[i].span, st.using_len) == 0);
		check(st.kind == SQL_EXECUTE && st.nusing == c[i].nusing && span_ok,
		      "%s: %d values [%s] (got %d, [%.*s])", c[i].sql, c[i].nusing, c[i].span ? c[i].span : "",
		      st.nusing, (int)st.using_len, c[i].sql + st.using_pos);
	}
	/* each value's own text */
	{
		const char *sql = "EXECUTE s USING @a, 'x,''y', -7 ,NULL,@`q`";
		const char *want[] = { "@a", "'x,''y'", "-7", "NULL", "@`q`" };
		struct sql_stmt st;
		bool ok = sql_parse(sql, strlen(sql), &st, 1) == 1 && st.nusing == 5;

		for (int k = 0; ok && k < 5; k++)
			ok = st.using_val[k].len == strlen(want[k]) &&
			     memcmp(sql + st.using_pos + st.using_val[k].off, want[k], st.using_val[k].len) == 0;
		check(ok, "EXECUTE ... USING: each value's text");
	}
	/* more values than cutoverd reads */
	{
		char sql[1024] = "EXECUTE s USING 1";
		struct sql_stmt st;

		for (int k = 1; k <= SQL_MAX_USING; k++)
			strcat(sql, ", 1");
		check(sql_parse(sql, strlen(sql), &st, 1) == 1 && st.nusing == -1, "EXECUTE with %d values",
		      SQL_MAX_USING + 1);
	}
	/* SET: user variables only, or the session's settings */
	{
		static const struct {
			const char *sql;
			bool sets;
		} c2[] = {
			{ "SET @a = 1", false },
			{ "SET @a := (SELECT COUNT(*) FROM t), @b = CONCAT('x', ','), @`c` = 2", false },
			{ "SET @a = 1, sql_mode = ''", true },
			{ "SET @@session.sql_mode = 'ANSI_QUOTES'", true },
			{ "SET NAMES latin1", true },
			{ "SET CHARACTER SET utf8mb4", true },
			{ "SET autocommit = 0", false },
			{ "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", false },
			{ "SET @@session.time_zone = '+00:00', @x = 1", false },
			{ "SET GLOBAL sql_mode = ''", true },
			{ "SET LOCAL collation_connection = utf8mb4_bin", true },
			{ "SET @@local.character_set_connection = latin1", true },
			{ "SET CHARSET latin1", true },
			{ "SET @a = 1, @@character_set_client = latin1", true },
		};

		for (size_t k = 0; k < sizeof(c2) / sizeof(c2[0]); k++) {
			struct sql_stmt st;

			check(sql_parse(c2[k].sql, strlen(c2[k].sql), &st, 1) == 1 &&
			      (st.kind == SQL_SET || st.kind == SQL_SET_TRANSACTION) && st.sets_session == c2[k].sets, "%s: sets the session's settings: %d", c2[k].sql,
			      c2[k].sets);
		}
	}
}

/* Append to a growable buffer (test helper; aborts on allocation failure). */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void test_limits(void)
{
	struct buf b = { 0 };
	char name[300];
	size_t n;

	/* 16 tables fit, the 17th makes the list unknown */
	buf_str(&b, "SELECT * FROM t0");
	for (int i = 1; i < 16; i++) {
		snprintf(name, sizeof(name), ", t%d", i);
		buf_str(&b, name);
	}
	n = parse(b.p, b.len, false);
	check(n == 1 && out[0].ntables == 16 && out[0].tables_known, "16 tables are known");
	buf_str(&b, ", t16");
	n = parse(b.p, b.len, false);
	check(n == 1 && out[0].ntables == 16 && !out[0].tables_known, "17 tables: unknown");
	b.len = 0;

	/* the same table twice is reported once, written if written anywhere */
	n = parse_str("INSERT INTO t SELECT * FROM t JOIN t AS x JOIN u");
	check(n == 1 && out[0].ntables == 2 && out[0].nwrite == 1, "duplicates reported once");

	/* names: 192 bytes fit, 193 do not */
	memset(name, 'n', 192);
	name[192] = '\0';
	buf_str(&b, "SELECT * FROM ");
	buf_str(&b, name);
	n = parse(b.p, b.len, false);
	check(n == 1 && out[0].ntables == 1 && strlen(out[0].tables[0].name) == 192 &&
	      out[0].tables_known, "192-byte name");
	buf_str(&b, "n");
	n = parse(b.p, b.len, false);
	check(n == 1 && out[0].ntables == 0 && !out[0].tables_known, "193-byte name: unknown");
	b.len = 0;

	/* a NUL byte: not a name byte, not the end of input */
	{
		static const char sql[] = "SELECT * FROM `a\0b`; SELECT * FROM t\0 JOIN u";
		n = parse(sql, sizeof(sql) - 1, false);
		check(n == 2 && !out[0].tables_known && out[0].ntables == 0 && out[1].ntables >= 1 &&
		      strcmp(out[1].tables[0].name, "t") == 0, "NUL bytes in the input");
	}

	/* deep nesting: no stack overflow, depth beyond the cap is unknown */
	buf_str(&b, "SELECT * FROM t WHERE a IN ");
	for (int i = 0; i < 100000; i++)
		buf_str(&b, "(");
	buf_str(&b, "SELECT x FROM u");
	for (int i = 0; i < 100000; i++)
		buf_str(&b, ")");
	n = parse(b.p, b.len, false);
	check(n == 1 && out[0].kind == SQL_SELECT && !out[0].tables_known, "100000 nested parentheses");
	b.len = 0;
	buf_str(&b, "SELECT * FROM ");
	for (int i = 0; i < 100000; i++)
		buf_str(&b, "(");
	n = parse(b.p, b.len, false);
	check(n == 1 && !out[0].tables_known, "100000 unclosed parentheses in FROM");
	b.len = 0;

	/* IF IF IF ... in a body: bounded work, kept as one statement */
	buf_str(&b, "CREATE PROCEDURE p() BEGIN ");
	for (int i = 0; i < 200000; i++)
		buf_str(&b, "IF ");
	buf_str(&b, "; END; SELECT 1");
	n = parse(b.p, b.len, false);
	check(n >= 1 && out[0].kind == SQL_CREATE, "200000 IFs in a body");
	b.len = 0;

	/* many statements */
	for (int i = 0; i < 10000; i++)
		buf_str(&b, "SELECT 1;");
	check(sql_parse(b.p, b.len, NULL, 0) == 10000, "10000 statements counted");
	free(b.p);
}

/* Every prefix of every case, from an exact-size buffer, in both modes. */
static void test_prefixes(void)
{
	size_t runs = 0;
	int before = test_failed;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].sql);
		for (size_t k = 0; k <= len; k++) {
			for (size_t d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++)
				parse_d(cases[i].sql, k, dialects[d]);
			runs += sizeof(dialects) / sizeof(dialects[0]);
		}
	}
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		size_t len = strlen(dcases[i].sql);
		for (size_t k = 0; k <= len; k++) {
			for (size_t d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++)
				parse_d(dcases[i].sql, k, dialects[d]);
			runs += sizeof(dialects) / sizeof(dialects[0]);
		}
	}
	check(test_failed == before, "every prefix of every case parses in every dialect (%zu runs)",
	      runs);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void test_random(void)
{
	static const char *const frags[] = {
		"SELECT", "FROM", "t", "`q`", "'s'", "\"d\"", "(", ")", ",", ";", ".", "?", "JOIN",
		"ON", "USING", "WHERE", "UPDATE", "SET", "DELETE", "INSERT", "INTO", "VALUES", "WITH",
		"AS", "BEGIN", "END", "IF", "THEN", "CASE", "CREATE", "PROCEDURE", "/*", "*/", "/*!",
		"/*M!100100", "--", "-- ", "#", "\n", "\\", "'", "\"", "`", "@", "@@", "FOR", "LOCK",
		"TABLE", "LEFT", "REPEAT", "LOOP", "WHILE", "DO", "x:", "=", "*", "0x", "1e", ".5",
		"REFERENCES", "RENAME", "TO", "DROP", "ALTER", "EXPLAIN", "ANALYZE", "SHOW", "\0",
	};
	struct buf b = { 0 };
	int before = test_failed;

	for (int i = 0; i < 3000; i++) {
		size_t len = (size_t)(rng() % 200);
		char *p = malloc(len ? len : 1);
		if (p == NULL)
			exit(2);
		for (size_t k = 0; k < len; k++)
			p[k] = (char)rng();
		parse_d(p, len, dialects[(size_t)i % (sizeof(dialects) / sizeof(dialects[0]))]);
		free(p);
	}
	for (int i = 0; i < 3000; i++) {
		size_t nfrag = (size_t)(rng() % 40);
		b.len = 0;
		for (size_t k = 0; k < nfrag; k++) {
			const char *f = frags[rng() % (sizeof(frags) / sizeof(frags[0]))];
			buf_add(&b, f, f[0] ? strlen(f) : 1);
			if (rng() % 2)
				buf_add(&b, " ", 1);
		}
		parse_d(b.p ? b.p : "", b.len,
			dialects[(size_t)i % (sizeof(dialects) / sizeof(dialects[0]))]);
	}
	free(b.p);
	check(test_failed == before, "random bytes and random token soup");
}

int main(void)
{
	test_cases();
	test_split();
	test_dialects();
	test_counts();
	test_kind_names();
	test_call_names();
	test_prepared_names();
	test_execute_using();
	test_limits();
	test_prefixes();
	test_random();
	return check_done();
}
