/*
 * dml.h - the clause structure of one INSERT / REPLACE / UPDATE / DELETE
 * (or LOAD DATA) statement, for the mirror planner (cutover/mirror.c).
 *
 * lexer.h says what a statement is and which tables it names; this says
 * where its clauses are, so that the proxy can build statements of its own
 * from the client's text: "SELECT pk FROM <table refs> WHERE <where>
 * ORDER BY <order> LIMIT <limit> FOR UPDATE", the client's UPDATE with
 * "AND pk IN (...)" added to its WHERE, the key values of the rows an
 * INSERT ... VALUES writes.  It never rewrites SQL itself: it returns byte
 * offsets into the caller's text.
 *
 * Input is untrusted (any bytes, not NUL-terminated).  A statement it does
 * not understand completely gets ok = false and a reason; the caller then
 * refuses to mirror it rather than guess.  Offsets always lie inside the
 * statement, and a span never begins or ends inside an executable comment
 * (such a statement gets ok = false), so each span is valid text on its
 * own.  dml_parse() allocates (rows and values of an INSERT, columns,
 * assignments, placeholders); dml_free() releases.  The work is linear in
 * the statement's length, and so is the memory: at most about 50 bytes per
 * byte of text (a VALUES list of one-character placeholders, "?,", with
 * the arrays grown by doubling).
 *
 * The statement's boundaries are taken from struct sql_stmt as they are.
 * When the lexer was unsure of the dialect (st->tables_known is false) the
 * split itself may differ from the server's: the caller refuses such a
 * statement before looking at its clauses.
 */
#ifndef CUTOVER_DML_H
#define CUTOVER_DML_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"   /* WARN_UNUSED */
#include "protocol/lexer.h"

/* A byte range sql[start, end) of the statement; present = false: absent. */
struct dml_span {
	bool present;
	size_t start, end;
};

enum dml_value_kind {
	DV_NUMBER,       /* a numeric literal, optionally signed: 12, -3, 1.5e3, 0x1f */
	DV_STRING,       /* a string literal (also _charset'..', X'..', N'..'),
			    adjacent literals concatenated: one value */
	DV_NULL,         /* NULL */
	DV_DEFAULT,      /* DEFAULT */
	DV_PLACEHOLDER,  /* ? : `param` is its index among the statement's '?' */
	DV_EXPR,         /* anything else (a function call, arithmetic, a column,
			    TRUE, a "..." while the dialect does not say whether
			    it is a string or an identifier) */
};

/* One value of a VALUES row or of INSERT ... SET col = value. */
struct dml_value {
	enum dml_value_kind kind;
	struct dml_span span;      /* the value's text (for DV_STRING: all the
				      concatenated pieces) */
	unsigned param;            /* DV_PLACEHOLDER: 0-based index of the '?' */
};

/* A table reference of UPDATE / DELETE: the table and the name it goes by. */
struct dml_tableref {
	struct sql_table table;    /* db "" when unqualified; name "" for a
				      derived table ((SELECT ...) AS alias) */
	char alias[SQL_NAME_SIZE]; /* the alias, or "" when none */
};

#define DML_MAX_TABLEREFS 16

/* More columns, values per row or assignments than this: ok = false. */
#define DML_MAX_COLUMNS 4096

/* An assignment of UPDATE ... SET or INSERT ... SET / ON DUPLICATE KEY UPDATE. */
struct dml_assign {
	char qualifier[SQL_NAME_SIZE]; /* "t" of t.col (or alias), "" when none;
					  db.t.col gives the table part only */
	char column[SQL_NAME_SIZE];
	struct dml_span value;
};

struct dml {
	bool ok;                   /* false: not understood; see `why` */
	const char *why;           /* static text, when !ok (NULL when ok) */
	enum sql_kind kind;        /* SQL_INSERT, SQL_REPLACE, SQL_UPDATE, SQL_DELETE */
	struct dml_span stmt;      /* the statement from its first token to the
				      end of its last: leading and trailing
				      whitespace and comments and the ';'
				      excluded */
	bool ignore;               /* IGNORE modifier */
	bool returning;            /* MariaDB RETURNING clause */
	bool with_cte;             /* starts with WITH (then ok = false for now) */
	bool partition;            /* a PARTITION (...) clause names partitions
				      (INSERT after the table; UPDATE/DELETE
				      inside table_refs) */

	/* UPDATE and DELETE */
	bool multi_table;          /* more than one table reference, a JOIN, or
				      DELETE t1 FROM ... / DELETE FROM t1 USING ... */
	struct dml_span table_refs; /* UPDATE: between the modifiers and SET;
				       DELETE single-table: the table after FROM
				       (with alias, partitions, index hints);
				       DELETE multi-table: the table references
				       after FROM (DELETE t FROM refs) or after
				       USING (DELETE FROM t USING refs).  Valid
				       text after SELECT ... FROM */
	unsigned ntablerefs;
	struct dml_tableref tablerefs[DML_MAX_TABLEREFS]; /* every table named in
				       table_refs, and every derived table, in
				       order (subqueries in ON conditions
				       excluded) */
	unsigned ntargets;         /* DELETE: tables deleted from (names as
				      written: table or alias; the single-table
				      form: the table's name); UPDATE: 0 */
	char targets[DML_MAX_TABLEREFS][SQL_NAME_SIZE];
	char target_dbs[DML_MAX_TABLEREFS][SQL_NAME_SIZE]; /* DELETE: the db of
				      a target written db.t, else "" */
	struct dml_span where;     /* the condition after WHERE (keyword excluded) */
	struct dml_span order_by;  /* after ORDER BY (keywords excluded) */
	struct dml_span limit;     /* after LIMIT (keyword excluded): "10",
				      "1, 2", "? OFFSET ?" as written */
	size_t tail;               /* offset where a "WHERE ..." would be inserted
				      when `where` is absent: just before ORDER BY,
				      LIMIT, RETURNING or the statement's end
				      (stmt.end); set whether or not `where` is
				      present.  INSERT/REPLACE: stmt.end */

	/* UPDATE SET, INSERT ... SET, and ON DUPLICATE KEY UPDATE */
	unsigned nassign;
	struct dml_assign *assign;  /* UPDATE SET or INSERT ... SET list */
	struct dml_span odku;       /* after ON DUPLICATE KEY UPDATE */

	/* INSERT and REPLACE */
	struct sql_table into;      /* the target table */
	unsigned ncolumns;          /* explicit column list; 0 when none (then rows
				       hold every column in table order).  INSERT
				       ... SET: the assigned columns, in order */
	char (*columns)[SQL_NAME_SIZE]; /* the column part of each name (t.a: a) */
	enum { DML_SRC_NONE, DML_SRC_VALUES, DML_SRC_SET, DML_SRC_SELECT } source;
	unsigned nrows;             /* VALUES: rows; SET: 1 */
	unsigned nvalues;           /* values per row (all rows have the same count,
				       else ok = false; 0 for VALUES (): every
				       column takes its default); SET: nassign */
	struct dml_value *values;   /* nrows * nvalues, row-major */
	struct dml_span select;     /* DML_SRC_SELECT: the SELECT (or TABLE t,
				       WITH ... SELECT, (SELECT ...) ...) */
	struct dml_span row_alias;  /* MySQL 8 VALUES/SET ... AS new [(a, b)]: the
				       alias and its column list, AS excluded */
	struct dml_span returning_list; /* after RETURNING (keyword excluded) */

	/* LOAD DATA (`into`, `ignore`, `partition` as for INSERT; the SET
	   clause in `assign`) */
	bool load_local;            /* LOCAL: the client sends the file */
	bool load_replace;          /* REPLACE */
	bool load_columns;          /* a column list: `columns` holds its
				       columns, its user variables left out */

	/* every '?' of the statement, in order: offset of the byte */
	unsigned nparams;
	size_t *params;
};

/*
 * Parse the statement sql[st->start, st->end) that sql_parse_dialect()
 * found in `sql` (same dialect `d`, may be NULL) and classified as
 * SQL_INSERT, SQL_REPLACE, SQL_UPDATE or SQL_DELETE.  Fills *out (which the
 * caller frees with dml_free() whatever the result; *out is overwritten,
 * not freed, so free it before parsing into it again).  Returns out->ok;
 * false also for any other kind, and when memory runs out.
 * Offsets in *out are offsets into `sql`.
 *
 * RETURNING is a clause in MariaDB and an ordinary name in MySQL: with
 * d->flavor unknown, a statement with RETURNING at its top level is not
 * understood.
 */
bool dml_parse(const char *sql, const struct sql_stmt *st, const struct sql_dialect *d,
	       struct dml *out) WARN_UNUSED;
void dml_free(struct dml *m);

#endif
