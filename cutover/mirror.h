/*
 * mirror.h - what the proxy knows of the tables under deploy: an immutable
 * snapshot that cutover/deploy.c builds and the event loop publishes.  A
 * session plans each command with the set that is current when the command
 * starts, and keeps a reference until it ends, so a set is never freed
 * under a running plan.  Reference counts are touched on the loop thread
 * only.
 */
#ifndef CUTOVER_MIRROR_H
#define CUTOVER_MIRROR_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "cutover/deploy.h"
#include "cutover/routines.h"
#include "protocol/lexer.h"
#include "protocol/params.h"

struct mirror_table {
	uint64_t deploy_id;
	enum deploy_state state;
	char db[DEPLOY_NAME_SIZE];
	char table[DEPLOY_NAME_SIZE];
	char shadow[DEPLOY_NAME_SIZE];
	unsigned ncols;
	struct deploy_col *cols;     /* owned */
	unsigned npk;
	unsigned *pk;                /* owned */
	struct deploy_view *views;   /* views of the table (writes
					    through them are refused) */
	unsigned nviews;
	struct routine_set *routines; /* reference: the procedures that may
					 be CALLed (NULL: none) */
	bool orig_unique;            /* the original has a unique key besides
					the primary key */
	char uniq[256];              /* the live table's unique keys besides the
					primary key, as indexes into cols ("1,2;5";
					"?": not known) */
	bool target_unique;          /* the table mirrored into has one (or it is
					not known yet): its upserts guard
					against a duplicate that is another row */
	bool pin;                    /* MariaDB: the proxy's statements pin the
				    session settings they depend on (SET
				    STATEMENT ... FOR): see mirror.c */
	bool pin_tz;                 /* and the time zone too: a copy converts a
				    TIMESTAMP (keys_copy_needs_time_zone()) */
	bool pin_in;                 /* and in_predicate_conversion_threshold
				    (MariaDB 10.3.18 / 10.4.8 and later):
				    a long key list stays a list of keys */
	bool reverse;                /* after a cut-over: `table` is the new
					schema, `shadow` the original kept
					for revert, cols mapped back */
	uint64_t gate_epoch;         /* non-zero: the cut-over gate is closed
					for this table (hold statements that
					touch it, report the drain) */
	unsigned ddl_gen;            /* changes with every DDL on the tables:
					transactions open before it may be
					refused by the table mirrored into */
};

struct mirror_set {
	unsigned refs;
	uint64_t version;
	unsigned n;
	struct mirror_table *tables;
	unsigned ngated;             /* tables with gate_epoch != 0 */
	uint64_t gate_epoch;         /* the newest of them */
	int quiet_wait_ms;           /* close the gate at a quiet moment, this
					long at most after it was asked */
	int drain_timeout_ms;        /* report a drain that takes longer */
};

struct mirror_set *mirror_set_ref(struct mirror_set *m);
void mirror_set_unref(struct mirror_set *m);

/*
 * The table `db`.`table` if it is under deploy.  Names compare without
 * regard to ASCII case (right for lower_case_table_names 1 and 2; with 0 it
 * may take a table for one under deploy that only differs in case, which
 * errs on the safe side: such a write is refused or mirrored for nothing).
 */
const struct mirror_table *mirror_set_find(const struct mirror_set *m, const char *db,
					   const char *table);
/* The deploy whose shadow table is `db`.`table`, or NULL. */
const struct mirror_table *mirror_set_find_shadow(const struct mirror_set *m, const char *db,
						  const char *table);

/* --- the planner (cutover/mirror.c): what to run for one client statement --- */

enum mirror_verdict {
	MIRROR_PASS,     /* touches no table under deploy: relay as is */
	MIRROR_REFUSE,   /* touches one and cannot be mirrored: refuse it */
	MIRROR_PLAN,     /* mirror it as the plan says */
};

/*
 * How a write is mirrored, in the writer's transaction:
 *
 *  MP_LOCKED_KEYS (UPDATE, DELETE):
 *      lock_sql                        the keys the statement will touch,
 *                                      locked (SELECT ... FOR UPDATE)
 *      stmt_head <key condition> stmt_tail
 *                                      the client's statement restricted to
 *                                      those keys (run instead of it)
 *      re-copy of those keys
 *  MP_INSERT (INSERT ... VALUES / SET):
 *      the client's statement as is (stmt: its text with the parameters
 *      written in, for a prepared one; NULL = the client's command)
 *      re-copy of keys[] and of the `ngenerated` auto-increment keys from
 *      the OK packet's insert id (step: autoinc_step, asked first)
 */
struct mirror_plan {
	const struct mirror_table *t;
	enum { MP_LOCKED_KEYS, MP_INSERT, MP_UNIQUE } how; /* MP_UNIQUE: an upsert
				    on a table with other unique keys: lock_sql
				    lists the rows it may touch, run before and
				    after it */
	enum sql_kind kind;      /* SQL_INSERT, SQL_UPDATE or SQL_DELETE */
	char *lock_sql;
	char *stmt_head;
	char *stmt_tail;
	char *qualifier;         /* MP_LOCKED_KEYS: the table's alias for the key
				    condition, or NULL */
	char *stmt;
	unsigned nkeys;
	char **keys;             /* key tuples as literals: "(1)", "(2, 'a')" */
	unsigned ngenerated;
	bool upsert;             /* MP_INSERT: the keys may exist already (IGNORE,
				    ON DUPLICATE KEY UPDATE, REPLACE) */
	bool returning;          /* RETURNING (MariaDB INSERT / REPLACE / DELETE):
				    the statement answers with a result set, whose
				    rows (not an OK packet's affected rows) say what
				    it changed; no insert id comes with it */
	bool by_key;             /* MP_LOCKED_KEYS: its WHERE is "key = value"
				    (keys[0] holds the key): the statement
				    runs as it is, no lock step is needed (a
				    DELETE's upsert locks the row: FOR UPDATE) */
	bool relist_check;       /* MP_UNIQUE for INSERT ... SELECT: the rows
				    listed after it must be at least as many as
				    it inserted */
	bool multi_rows;         /* MP_LOCKED_KEYS, multi-table: rows of the
				    join that have no row of the table (an
				    outer join, the table on its nullable
				    side) list NULL keys, skipped, and the
				    restricted statement keeps them (they
				    write the other tables only) */
	bool changes_key;        /* MP_LOCKED_KEYS UPDATE that sets key
				    columns: each row of lock_sql gives the
				    row's key, then its key after the UPDATE */
	int *key_pos;            /* MP_UNIQUE from a SELECT * (lock_sql is the
				    whole SELECT): where the t->npk key
				    values are in its rows; NULL: its rows are
				    the keys */
	bool bulk;               /* MP_INSERT: INSERT ... SELECT whose keys are
				    all generated: as many as the affected
				    rows, consecutive under
				    innodb_autoinc_lock_mode 0 or 1 */
	bool load;               /* with bulk: a LOAD DATA, whose OK packet
				    has no insert id (LAST_INSERT_ID() has) */
};

/*
 * Decide about statement st of sql (as sql_parse_dialect() split it, with
 * dialect d), run in database `db` ("" when none).  params: the literals of
 * a COM_STMT_EXECUTE, NULL for text.  On MIRROR_REFUSE, *deploy_id and why
 * say which deploy and why; on MIRROR_PLAN, *out (free it with
 * mirror_plan_free) and *deploy_id.
 */
enum mirror_verdict mirror_plan_stmt(const struct mirror_set *m, const char *sql,
				     const struct sql_stmt *st, const struct sql_dialect *d,
				     const char *db, const struct params_literals *params,
				     struct mirror_plan *out, uint64_t *deploy_id, char *why,
				     size_t whylen);
void mirror_plan_free(struct mirror_plan *p);

/*
 * True for statements that may change data or schema somewhere (writes,
 * DDL, LOAD DATA, LOCK TABLES, and those whose tables cannot be known:
 * CALL, EXECUTE, unknown).  The proxy refuses them while it cannot tell
 * which tables are under deploy, and remembers prepared ones.
 */
bool mirror_may_write(const struct sql_stmt *st);

/*
 * The key tuple "(lit, lit)" of one text row of lock_sql's result (vals,
 * lens: npk columns).  NULL when a value is not what the key's kind selects.
 */
char *mirror_key_tuple(const struct mirror_table *t, char *const *vals, const unsigned long *lens);
/* The tuple of generated auto-increment key `id`. */
char *mirror_key_generated(const struct mirror_table *t, unsigned long long id);

/*
 * "(`a`, `b`) IN ((1, 'x'), ...)", or "FALSE" when n == 0; qualifier may be
 * NULL.  or_null (plan.multi_rows): "(... OR `a` IS NULL)", which keeps the
 * rows of a join that have no row of the table.
 */
char *mirror_key_condition(const struct mirror_table *t, const char *qualifier, bool or_null, char *const *keys,
			   unsigned n);
/*
 * "NOT (`a` <=> `a`)": true of no row, like the "FALSE" of an empty key
 * list, but not a constant: the server answers a DELETE ... RETURNING
 * whose WHERE it finds impossible before it runs with an OK packet
 * instead of the empty result set the client's own statement gets.
 */
char *mirror_key_none(const struct mirror_table *t, const char *qualifier);
/*
 * The re-copy of keys, chosen so that the shadow never takes a gap lock
 * (two writers holding gap locks on the same gap and inserting into it
 * deadlock each other):
 *  - keys an INSERT created: INSERT INTO shadow SELECT ... FROM t (new
 *    keys: the shadow cannot hold them);
 *  - keys an UPDATE changed: the same with ON DUPLICATE KEY UPDATE of every
 *    mapped column (a primary-key duplicate takes a record lock only); a
 *    duplicate that is another row (through a unique key of the new
 *    schema) makes the statement fail with error 1242 instead of updating
 *    that row;
 *  - keys a DELETE removes: upserted as for UPDATE before the client's
 *    DELETE runs (they are all in t then), then deleted: every one is in
 *    the shadow by then, so the DELETE takes record locks only.
 */
char *mirror_recopy_insert(const struct mirror_table *t, char *const *keys, unsigned n, bool upsert,
			   bool for_update);
/*
 * "SET STATEMENT ... FOR " (nothing on MySQL): the pin of the proxy's
 * listings (mirror.c, put_pin), for a SELECT of the proxy's own in the
 * client's session: the session's sql_select_limit cannot cut it.
 */
void mirror_put_listing_pin(FILE *f, const struct mirror_table *t);
char *mirror_recopy_delete(const struct mirror_table *t, char *const *keys, unsigned n);
/*
 * The copy of the new rows whose one-column key is lo to hi: keys an
 * INSERT ... SELECT or LOAD DATA generated, consecutive
 * (auto_increment_increment 1, the bulk insert holding the table's
 * AUTO-INC lock), so that no other row can be among them; however many
 * there are, one statement of a fixed size.  Its range scan locks the
 * record after hi too (a next-key lock, REPEATABLE READ): the caller ends
 * the range one key before the last it generated, which it copies by
 * itself (mirror_recopy_insert()), so that the lock falls on a row of its
 * own and not on the gap where other sessions insert their new rows.
 */
char *mirror_recopy_range(const struct mirror_table *t, unsigned long long lo, unsigned long long hi);
/*
 * DELETE of the keys from the shadow where t no longer has them (for
 * re-copies deferred to COMMIT, proxy/writes.c: a key the transaction
 * deleted may be back after a ROLLBACK TO SAVEPOINT or a later INSERT).
 */
char *mirror_sync_delete(const struct mirror_table *t, char *const *keys, unsigned n);

#endif
