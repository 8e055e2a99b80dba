/*
 * routine.h - what stored programs (procedures, functions, triggers) may do
 * to a set of tables, from their bodies as information_schema lists them.
 *
 * A deploy request mirrors the writes it sees; a write a stored program
 * makes happens inside the server, where the proxy cannot see it.  So while
 * a deploy runs, a CALL may pass only when the procedure cannot touch the
 * table, and a function or trigger elsewhere that may write the table
 * stops the deploy from starting.  This file decides that, without a
 * server: cutover/ reads the catalog and calls routines_classify().
 *
 * The analysis reads words, not statements, and errs on the side of
 * "touches".  (information_schema shows a routine's body with its string
 * escapes undone, so it no longer lexes as SQL; its words are all there.)
 *  - a body names a target when one of its words is the target's name,
 *    qualified by the target's database or unqualified in a program of the
 *    target's database (unqualified names in a stored program resolve to
 *    the program's own database); words in strings and comments count;
 *  - a body that names a target and holds any word that changes data or
 *    schema (INSERT, UPDATE, DELETE, REPLACE, LOAD, TRUNCATE, ALTER, DROP,
 *    RENAME, CREATE) may write it, whichever table that word is about;
 *  - a procedure holding PREPARE or EXECUTE (dynamic SQL) may do anything:
 *    unknown, as is a body that cannot be read (functions and triggers
 *    cannot run dynamic SQL);
 *  - a program that calls another program (found by the same name rules:
 *    a procedure's name after CALL, a function's before '(') takes on
 *    what that one does; names compare without regard to ASCII case.
 */
#ifndef CUTOVER_ROUTINE_H
#define CUTOVER_ROUTINE_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/lexer.h"

enum routine_use {
	RU_NONE,      /* names no target, calls nothing that does */
	RU_READS,     /* names one (or calls a program that does), writes nothing */
	RU_WRITES,    /* may write one */
	RU_UNKNOWN,   /* dynamic SQL, or a body that cannot be read */
};

#define ROUTINE_WHY_SIZE 512

struct routine {
	/* in */
	char db[SQL_NAME_SIZE];
	char name[SQL_NAME_SIZE];
	char kind;                  /* 'P' procedure, 'F' function, 'T' trigger */
	char on[SQL_NAME_SIZE];     /* a trigger's table (in db) */
	const char *body;           /* NULL: not readable (no privilege) */
	size_t body_len;
	/* out */
	enum routine_use use;
	char why[ROUTINE_WHY_SIZE]; /* for RU_READS and up: what it names or
				       calls, or why it is unknown */
};

/*
 * Classify r[0, n) against targets[0, nt) (db always set).  Programs name
 * each other by (db, name): procedures and functions, not triggers.
 * Returns false only when out of memory (then every use is RU_UNKNOWN).
 */
bool routines_classify(struct routine *r, size_t n, const struct sql_table *targets, size_t nt);

/* "procedure", "function", "trigger" */
const char *routine_kind_name(char kind);
/* "none", "reads", "writes", "unknown" */
const char *routine_use_name(enum routine_use u);

#endif
