/*
 * deploy-internal.h - the registry and the deploy objects (see deploy.h for
 * the picture and the locking rule), and what deploy.c shares with copy.c
 * (the backfill and the verifier), which run on a deploy's worker thread.
 */
#ifndef CUTOVER_DEPLOY_INTERNAL_H
#define CUTOVER_DEPLOY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <pthread.h>
#include <sys/queue.h>
#include <time.h>

#include "cutover/ctl.h"
#include "cutover/deploy.h"
#include "cutover/routines.h"

struct deploys;

enum copy_result {
	COPY_DONE,
	COPY_STOPPED,    /* deploy_stopping() */
	COPY_FAILED,     /* err says why */
};

struct deploy {
	uint64_t id;
	struct deploys *ds;
	TAILQ_ENTRY(deploy) link;
	/* immutable once created (until freed) */
	char db[DEPLOY_NAME_SIZE];
	char table[DEPLOY_NAME_SIZE];
	char shadow[DEPLOY_NAME_SIZE];
	char *alter;             /* the ALTER clause as given */
	char *deferred;          /* [mu] "ADD INDEX ..." of the shadow's plain
				    secondary indexes, dropped for the copy and
				    built after it; NULL when none (left) */
	bool indexing;           /* [mu] build_deferred() is at work */
	unsigned ncols;
	struct deploy_col *cols; /* mapped columns, in the original's order */
	unsigned npk;
	unsigned *pk;            /* indexes into cols, in primary-key order */
	struct deploy_view views[DEPLOY_MAX_VIEWS]; /* views of the table,
				    read at create and at load: writes
				    through them are refused */
	unsigned nviews;
	struct routine_set *routines; /* [mu] the stored procedures a client may
				    CALL (routines.h), read at create and at
				    load; NULL: not read (every CALL refused) */
	bool orig_unique;        /* the original has another unique key */
	char uniq[256];          /* its unique keys besides the primary key, as
				    indexes into cols: "1,2;5"; "?" when one
				    cannot be used (a column not mapped, a
				    prefix) or they are not known */
	char shadow_uniq[256];   /* [mu] the same of the shadow (known once
				    reverse_known) */
	bool shadow_unique;      /* [mu] the shadow has another unique key
				    (known once reverse_known) */
	bool reverse_known;      /* [mu] cols[].shadow_ordinal/_autoinc and
				    shadow_unique are filled (swap.c) */

	/* [mu] everything below */
	enum deploy_state state;
	char error[512];         /* failed: why */
	char *copied_upto;       /* JSON array of the last copied key's literals,
				    NULL before the first chunk */
	uint64_t rows_copied;
	uint64_t rows_total;     /* estimate */
	double copy_rate;        /* rows per second, recent */
	unsigned chunk_rows;     /* chunk size in use */
	int target_chunk_ms;
	int max_threads_running;
	bool paused;             /* the operator holds the copy (deploy set paused=1) */
	bool throttled;
	char throttle_reason[128];
	uint64_t mirrored;       /* client statements mirrored */
	uint64_t refused;        /* client statements refused */
	uint64_t lock_retries;   /* backfill chunks retried: a client held a row */
	uint64_t verify_chunks;
	uint64_t verify_mismatches;  /* chunks that differed (then repaired) */
	uint64_t rows_verified;  /* rows of the original compared by the
				    verification pass under way (not saved: a
				    restart verifies from the start again) */
	/* verification behind the copy (copy.c): a second thread with its own
	   control connection compares every range the backfill has committed */
	char *frontier;          /* JSON key: every chunk up to it is committed
				    (NULL: none yet) */
	bool frontier_end;       /* ... and so is the rest of the table */
	bool verifier_running;   /* the thread runs; the worker joins it */
	bool verifier_stop;      /* the worker asks it to end */
	unsigned verify_rows;    /* its chunk size */
	enum copy_result verify_rc;  /* its outcome, once it ended */
	char verify_err[512];
	pthread_t verifier;
	time_t created, copy_started, ready_at, finished;
	bool shadow_built;       /* shadow exists with its final schema: the
				    proxy mirrors from now on (until a final
				    state) */
	bool cancel;             /* `deploy cancel` (or a failure seen by the
				    proxy) asked the worker to stop */
	bool fail_pending;       /* ... and to end in `failed`: fail_reason */
	char fail_reason[512];
	uint64_t cancel_serial;  /* admin connection owed the cancel reply; 0 none */
	bool worker_running;
	pthread_t worker;

	/* cut-over and revert (swap.c), [mu] */
	char old_table[DEPLOY_NAME_SIZE]; /* the original's name while the new
				    schema is live (chosen at the first
				    cut-over, saved before its RENAME) */
	bool swapped;            /* the new schema is live under `table`
				    (complete, reverting) */
	bool window_open;        /* complete / reverted: the table that is not
				    live is kept in sync (revert or cut over
				    again possible) */
	time_t window_end;
	char window_note[256];   /* why the window closed early, if it did */
	bool auto_cutover;       /* cut over by itself once ready */
	bool busy;               /* a swap or finalize thread owns the deploy */
	uint64_t gate_epoch;     /* non-zero while the gate is closed for it */
	unsigned ddl_gen;        /* bumped by every DDL on the tables mirrored
				    into (deferred indexes built, each swap):
				    InnoDB keeps transactions older than it
				    out of the table (error 1412) */
	bool mirror_broken;      /* the proxy could not mirror a write during a
				    swap: the swap gives up */
	char mirror_broken_why[512];
	double pause_ms;         /* last cut-over or revert: its last attempt */
	double pause_total_ms;   /*   every attempt's pause added up */
	unsigned attempts;       /*   and its attempts */
	json_t *history;         /* array of attempts, newest last (bounded) */
};

TAILQ_HEAD(deploy_list, deploy);

struct deploys_reply;

struct deploys {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct deploy_list list;        /* [mu] every deploy the catalog holds
					   that is not cancelled or failed, and
					   those that ended while we ran */
	uint64_t version;               /* [mu] bumped on every change the proxy
					   must see (mirror set) */
	uint64_t synced_version;        /* [mu] the proxy mirrors by a set at
					   least this new, and every command
					   planned with an older one has ended */
	bool loaded;                    /* [mu] catalog read (at start) */
	char load_error[1024];           /* [mu] why not, when not */
	struct ctl_params ctl;          /* control connections */
	unsigned nreplicas;             /* [cutover] replicas, watched for lag */
	struct ctl_params *replicas;
	int max_replica_lag_ms;
	char schema[DEPLOY_NAME_SIZE];  /* catalog schema */
	int default_chunk_ms;
	int default_max_threads_running;
	unsigned mirror_max_rows;

	struct event_base *base;
	struct event *notify;           /* workers -> loop */
	STAILQ_HEAD(, deploys_reply) replies; /* [mu] admin replies owed */
	deploys_changed_fn changed;
	deploys_reply_fn reply;
	void *cb_arg;
	bool stopping;                  /* [mu] daemon shutting down */
	unsigned nthreads;              /* [mu] worker threads running */

	/* cut-over (swap.c) */
	pthread_mutex_t swap_mu;        /* one swap at a time */
	uint64_t gate_epoch_next;       /* [mu] */
	uint64_t drained_epoch;         /* [mu] the proxy reported this epoch */
	json_t *drain_blockers;         /* [mu] its report: NULL = drained */
	double drain_closed_ms;         /* [mu] its report: when the gate closed
					   (as deploy_now_ms()) */
	uint64_t published_version;     /* [mu] the loop published this set */
	int quiet_wait_ms;              /* wait for no open transaction, then close */
	int drain_timeout_ms;
	int rename_wait_ms;          /* the RENAME's lock wait, then killed */
	int index_lock_wait_ms;         /* the deferred index build's lock wait, then killed */
	int max_attempts;
	int retry_ms;
	int revert_window_s;
	bool keep_old_table;
	char stall_at[16];              /* [debug] swap_stall_at */
	int stall_ms;
	int copy_stall_ms;              /* [debug] copy_stall_ms */
	bool as_mysql;                  /* [debug] swap_as_mysql */
	bool mariadb;                   /* [mu] the backend is MariaDB (read at load) */
	bool in_pred;                   /* [mu] ... with in_predicate_conversion_threshold */
	struct event *window_timer;     /* loop: ends revert windows */
};


/* True when the worker must stop (cancel, shutdown). */
bool deploy_stopping(struct deploy *d);

/* Sleep up to ms, waking early when the worker must stop or settings change. */
void deploy_sleep(struct deploy *d, int ms);

/* The CLOCK_REALTIME instant ms from now, for pthread_cond_timedwait(). */
void deploy_deadline(struct timespec *until, int ms);

/*
 * A thread that watches a statement on a worker's connection and may kill
 * it (swap.c's RENAME watchdog, deploy.c's index-build lock watch).  Embed
 * it first in the watcher's own struct, start it right before the
 * statement and stop it right after it returns, before the connection runs
 * anything else: a KILL QUERY sent as the statement ends then finds the
 * connection idle and does nothing.
 */
struct stmt_watch {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;                      /* [mu] the statement returned */
	bool fired;                     /* [mu] the watch killed it */
};

/* Run fn(arg) on a thread of its own; false (nothing started) if it cannot. */
bool stmt_watch_start(struct stmt_watch *w, void *(*fn)(void *), void *arg);

/* Say the statement returned, join the thread; true when the watch fired. */
bool stmt_watch_stop(struct stmt_watch *w);

/* On the watch's thread, w->mu held: wait until stopped or ms have passed;
   true when stopped. */
bool stmt_watch_wait(struct stmt_watch *w, int ms);

/* UPDATE the catalog row from d (taken under d->ds->mu). */
bool catalog_save(struct ctl *c, struct deploy *d) WARN_UNUSED;

/* The backfill, from d->copied_upto to the end of the table. */
enum copy_result copy_run(struct deploy *d, struct ctl *c, char *err, size_t errlen);

/*
 * Verification: per chunk, under a snapshot of its own, a count and a
 * checksum of t and of the shadow; a chunk that differs is re-copied under
 * locks and checked again.  verify_start() starts it behind the copy, on a
 * thread of its own (before copy_run()); verify_run() waits for that thread
 * to reach the table's end, or (none running: after a restart in
 * `verifying`) verifies the whole table on c.  verify_stop() ends and joins
 * the thread (idempotent); the worker calls it before it ends the deploy
 * or itself.
 */
void verify_start(struct deploy *d);
enum copy_result verify_run(struct deploy *d, struct ctl *c, char *err, size_t errlen);
void verify_stop(struct deploy *d);

/* --- deploy.c, shared with swap.c --- */

/* The one writer of d->state (under ds->mu); a bad transition aborts. */
void deploy_set_state(struct deploy *d, enum deploy_state to);
/* Wake the loop (replies to deliver, a mirror set to publish). */
void deploys_notify(struct deploys *ds);
/* Queue an admin reply (consumed) for the loop to deliver; serial 0 drops it. */
void deploys_post_reply(struct deploys *ds, uint64_t serial, json_t *r);
/* Wait until the loop published ds->version and every command planned
 * with an older set has ended; false when the daemon stops first. */
bool deploys_wait_synced(struct deploys *ds);
/* Wait until the loop published a set at least as new as ds->version (no
 * waiting for running commands); false when the daemon stops first. */
bool deploys_wait_published(struct deploys *ds);
/* Connect, retrying every second while the backend is away; false when the
 * daemon stops. */
bool deploy_connect_retry(struct deploy *d, struct ctl *c);
/* Thread bookkeeping: spawn a detached, counted thread; end it. */
bool deploys_spawn(struct deploys *ds, void *(*fn)(void *), void *arg, pthread_t *tid);
void deploys_thread_exit(struct deploys *ds, struct deploy *d);
/* End d in state `to` (cancelled or failed): stop mirroring, drop the
 * shadow, save, answer a pending cancel. */
void deploy_finish(struct deploy *d, struct ctl *c, enum deploy_state to, const char *why);
/* Admin command parsing and errors (loop thread), shared with swap.c: the
 * next blank-separated word of p (the rest returned, blanks skipped); the
 * deploy a decimal id names (under ds->mu), or NULL; an {"ok":false} reply. */
const char *deploys_next_word(const char *p, char *word, size_t len);
struct deploy *deploys_find_arg(struct deploys *ds, const char *arg);
void deploys_reply_err(struct deploys *ds, uint64_t serial, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The deploy with this id (under ds->mu), or NULL. */
struct deploy *deploys_find(struct deploys *ds, uint64_t id);

/* --- swap.c: cut-over, revert, finalize --- */

/*
 * Admin commands (loop thread): `deploy cutover <id> ...`, `deploy revert
 * <id>`, `deploy finalize <id>`.  Each answers through ds->reply.
 */
void swap_cmd_cutover(struct deploys *ds, uint64_t serial, const char *rest);
void swap_cmd_revert(struct deploys *ds, uint64_t serial, const char *rest);
void swap_cmd_finalize(struct deploys *ds, uint64_t serial, const char *rest);
/* A deploy with auto_cutover reached ready (on its worker thread, which
 * runs the cut-over). */
void swap_auto_cutover(struct deploy *d, struct ctl *c);
/*
 * Read the shadow's column order, AUTO_INCREMENT and unique keys (for the
 * reverse mirror, and so that the mirror knows whether the shadow has a
 * unique key besides the primary key): d->reverse_known on success.
 */
bool swap_learn_reverse(struct deploy *d, struct ctl *c, char *err, size_t errlen);
/* After the catalog was read: settle deploys a crash left mid-swap, from
 * what the tables show (blocking, before clients are accepted). */
void swap_recover(struct deploy *d, struct ctl *c);
/* Loop timer: finalize deploys whose window ended. */
void swap_check_windows(struct deploys *ds);
/* The proxy could not mirror a write into the table that is not live
 * (complete / reverted): close the window (under ds->mu). */
void swap_mirror_failed(struct deploy *d, const char *why);

#endif
