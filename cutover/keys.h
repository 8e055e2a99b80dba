/*
 * keys.h - primary-key values as the backfill, the verifier and the mirror
 * carry them: selected in a form that survives the connection's character
 * set, written back as literals that compare in the index's own order.
 * See enum key_kind in deploy.h.  Also the two pieces of SQL the backfill
 * and the mirror share to copy rows of the original into the shadow.
 */
#ifndef CUTOVER_KEYS_H
#define CUTOVER_KEYS_H

#include <stdbool.h>
#include <stdio.h>

#include "cutover/deploy.h"

/* The key columns of a table: cols[pk[0]], ..., cols[pk[npk - 1]]. */
struct key_cols {
	const struct deploy_col *cols;
	const unsigned *pk;
	unsigned npk;
};

/* "`a`, HEX(`b`)": the key columns to select (qualifier may be NULL). */
void keys_put_select(FILE *f, const struct key_cols *d, const char *qualifier, bool shadow_names);

/* "`a`, `b`": the key columns, for ORDER BY (qualifier may be NULL). */
void keys_put_columns(FILE *f, const struct key_cols *d, const char *qualifier, bool shadow_names);

/*
 * The literal for value v[0, n) of key column c, as keys_put_select()
 * selected it.  Returns false when the value is not what that column's kind
 * selects (not a number, odd hex): the caller must not use it.
 */
bool keys_put_literal(FILE *f, const struct deploy_col *c, const char *v, size_t n) WARN_UNUSED;

/*
 * Is the literal lit[0, n) of a value an INSERT writes into column c (a
 * number; a quoted string, with an introducer or N; X'..' or 0x..; or a
 * bound parameter's literal) stored exactly as written, so that
 * "c IN (lit)" finds the row afterwards?  False when the server would
 * convert it on the way in (99.6 in an INT is 100; 3000000000 is clamped in
 * a non-strict sql_mode; 'abcdefgh' is cut in a VARCHAR(5); 'ab' is padded
 * in a BINARY(4); a fraction is rounded in a DATETIME) or when it cannot
 * tell.  True when c's type is unknown ("") or one it does not model
 * (a unique key's ENUM, say).
 */
bool keys_literal_stored_as_written(const struct deploy_col *c, const char *lit, size_t n);

/*
 * Is `collation_id` (a result column definition's) a collation of
 * character set `charset` (a column's, as information_schema names it)?
 * False for binary (63) and ids the client library does not know.
 */
bool keys_charset_is(unsigned collation_id, const char *charset);

/*
 * Does copying the columns cols[0, n) into the shadow depend on the
 * session's time zone?  True when a column is a TIMESTAMP on one side and
 * not on the other (the value is converted through the time zone), or when
 * a column's types are not known (an older catalog).  A TIMESTAMP copied
 * into a TIMESTAMP keeps its instant whatever the time zone.
 */
bool keys_copy_needs_time_zone(const struct deploy_col *cols, unsigned n);

/* c is a column of an integer type (TINYINT ... BIGINT; *uns: UNSIGNED)
   whose keys are carried as numbers. */
bool keys_is_integer(const struct deploy_col *c, bool *uns);

/* Is a COLUMN_TYPE ("timestamp(6)") a TIMESTAMP? */
bool keys_type_is_timestamp(const char *type);

/*
 * The condition "key > lits" (after = false: "key <= lits") over d's key
 * columns, where lits[i] is the literal of the i-th key column: for two
 * columns "(`a` > 1 OR (`a` = 1 AND `b` > 2))".
 */
void keys_put_compare(FILE *f, const struct key_cols *d, bool shadow_names, bool after,
		      char *const *lits);

/*
 * "INSERT INTO `db`.`shadow` (shadow names, ...) SELECT original names, ...
 * FROM `db`.`table`": the mapped columns cols[0, ncols) of the original,
 * copied into the shadow (the caller adds the WHERE and what follows).
 */
void keys_put_copy(FILE *f, const char *db, const char *table, const char *shadow,
		   const struct deploy_col *cols, unsigned ncols);

/*
 * "`k0` = IF(`shadow`.`k0` <=> VALUES(`k0`) AND ..., `shadow`.`k0`,
 * (SELECT NULL UNION ALL SELECT NULL))": the first ON DUPLICATE KEY UPDATE
 * assignment of a copy into the shadow.  When the duplicate is the key's
 * own row it changes nothing; when a unique key of the new schema made
 * another row the duplicate, updating that row would be silent corruption,
 * so the subquery fails the statement instead (error 1242, whatever the
 * sql_mode).  Key columns are qualified by the shadow's name: the SELECT's
 * table has columns of the same names.  respell: the key's own row takes
 * VALUES(`k0`) instead (the mirror: t's spelling of a key its collation
 * finds equal, 'XY' for 'xy'); the backfill keeps the shadow's (a mirrored
 * image is newer than the copy's).
 */
void keys_put_own_row_guard(FILE *f, const struct key_cols *k, const char *shadow, bool respell);

#endif
