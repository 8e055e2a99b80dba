/*
 * inspect.h - what `deploy create` checks before it changes anything, and
 * the shadow table it then builds.  Every function here runs on a worker
 * thread with a control connection; `err` receives a message for the
 * operator ("table shop.orders has no primary key").
 */
#ifndef CUTOVER_INSPECT_H
#define CUTOVER_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "cutover/ctl.h"
#include "cutover/deploy-internal.h"

#define INSPECT_MAX_RENAMES 64

/* Columns the ALTER renames (CHANGE old new ..., RENAME COLUMN old TO new). */
struct inspect_renames {
	unsigned n;
	char from[INSPECT_MAX_RENAMES][DEPLOY_NAME_SIZE];
	char to[INSPECT_MAX_RENAMES][DEPLOY_NAME_SIZE];
};

/* "db.table" (each part optionally in backticks) into db and table. */
bool inspect_parse_target(const char *arg, char *db, char *table, char *err, size_t errlen) WARN_UNUSED;

/*
 * Check that `clause` is one ALTER TABLE specification list that changes
 * only the table's own definition: no second statement, no RENAME of the
 * table, no engine without transactions, no foreign keys, no partition
 * exchange or tablespace operations, no executable comments.  Fills
 * *renames with the columns it renames.
 */
bool inspect_check_alter(const char *clause, struct inspect_renames *renames, char *err,
			 size_t errlen) WARN_UNUSED;

/* The table exists, is InnoDB, has a primary key, no foreign keys in or
 * out, no triggers. */
bool inspect_table(struct ctl *c, const char *db, const char *table, char *err,
		   size_t errlen) WARN_UNUSED;

/*
 * Build the shadow of d (d->db, d->table, d->alter; d->shadow chosen here):
 * CREATE TABLE ... LIKE, the ALTER, then the column mapping (d->cols,
 * d->pk).  On failure nothing is left behind (the shadow is dropped).
 */
bool inspect_build_shadow(struct ctl *c, struct deploy *d, const struct inspect_renames *r,
			  char *err, size_t errlen) WARN_UNUSED;

/*
 * Drop the shadow's plain secondary indexes (non-unique BTREE, ascending,
 * no comment) for the backfill and keep their definitions in d->deferred:
 * building them once after the copy costs less than keeping them up to
 * date row by row.  Unique indexes stay (they must refuse duplicates as
 * the copy goes).  Nothing to defer: true, d->deferred NULL.
 */
bool inspect_defer_indexes(struct ctl *c, struct deploy *d, char *err, size_t errlen) WARN_UNUSED;

/* The mapping of an existing shadow (at load): as inspect_build_shadow. */
bool inspect_map(struct ctl *c, struct deploy *d, const struct inspect_renames *r, char *err,
		 size_t errlen) WARN_UNUSED;

/*
 * Before a first cut-over: what the reverse mirror needs of the shadow
 * (each mapped column's position and AUTO_INCREMENT in the shadow, whether
 * the shadow has a unique key besides the primary key), filled into
 * ords[ncols], autoinc[ncols], *unique (the caller applies them under the
 * registry's lock).
 */
/*
 * The unique keys besides the primary key of the original (shadow: of the
 * shadow) as indexes into d->cols, "1,2;5" ("" none, "?" one cannot serve:
 * a column not mapped, a prefix).  False when the server cannot be asked.
 */
bool inspect_uniques(struct ctl *c, const struct deploy *d, bool shadow, char *out, size_t outlen);

/*
 * The views whose definition names db.table, and the views of those (at
 * most DEPLOY_MAX_VIEWS; more are left out, with a warning in the log).
 * False when information_schema cannot be read.
 */
bool inspect_views(struct ctl *c, const char *db, const char *table, struct deploy_view *out, unsigned *n);

bool inspect_reverse(struct ctl *c, const struct deploy *d, unsigned *ords, bool *autoinc,
		     bool *unique, char *err, size_t errlen) WARN_UNUSED;

#endif
