/*
 * routines.h - the stored programs of the server, as a deploy request sees
 * them: which procedures a client may CALL while the deploy runs, and which
 * functions or triggers stop it from starting.
 *
 * A write a stored program makes runs inside the server, where the proxy
 * cannot see it to mirror it.  So when a deploy is created (and when
 * cutoverd loads it again after a restart) the control connection reads
 * information_schema.ROUTINES and TRIGGERS and protocol/routine.c
 * classifies every body against the deploy's tables (the table, its
 * shadow, its views, and after a cut-over the original's new name):
 *
 *  - a function or a trigger on another table that may write one of them
 *    (or cannot be analysed) refuses `deploy create`: statements that call
 *    it, or write the trigger's table, would change the table unmirrored;
 *  - a procedure that names none of them, or only reads them, may be
 *    CALLed through the proxy; any other CALL (it may write, runs dynamic
 *    SQL, cannot be read, or the procedure did not exist when the list was
 *    read) is refused with the reason.
 *
 * Stored programs changed through the proxy while a deploy runs are
 * refused already (their bodies are statements whose tables cannot be
 * known); a program created or replaced outside the proxy is not seen
 * (as with writes made outside the proxy), except that a CALL of a
 * procedure not in the list is refused.
 *
 * The set is immutable once built and shared between a deploy and the
 * mirror sets built from it; its reference count is atomic.
 */
#ifndef CUTOVER_ROUTINES_H
#define CUTOVER_ROUTINES_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/routine.h"

struct ctl;
struct deploy;

struct routine_verdict {
	char db[SQL_NAME_SIZE];
	char name[SQL_NAME_SIZE];
	enum routine_use use;
	char *why;                /* RU_WRITES and up: the reason; else NULL */
};

struct routine_set {
	unsigned refs;            /* atomic */
	size_t n;
	struct routine_verdict *procs;  /* the procedures, sorted by (db, name)
					   without case */
};

/*
 * Read the stored programs and classify them for deploy d (its db, table,
 * shadow, views and old_table).  On success *out is a new set (one
 * reference), and err is empty, or says which function or trigger makes
 * the deploy unsafe (the caller refuses it).  Returns false, with err,
 * when the catalog cannot be read.
 */
bool routines_read(struct ctl *c, const struct deploy *d, struct routine_set **out, char *err,
		   size_t errlen);

struct routine_set *routines_ref(struct routine_set *s);
void routines_unref(struct routine_set *s);

/*
 * The procedure `db`.`name` of s, or NULL when it was not there when s was
 * read.  Names compare without regard to ASCII case.
 */
const struct routine_verdict *routines_find(const struct routine_set *s, const char *db, const char *name);

#endif
