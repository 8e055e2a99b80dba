/*
 * deploy.h - deploy requests: the registry the daemon keeps, the state
 * machine of each request, and what the proxy is handed.
 *
 *   admin socket --(deploy create/show/...)--> deploys (registry, mutex)
 *        ^                                        |  one worker thread per
 *        | replies (event_active)                 v  active deploy: shadow,
 *   event loop <--- mirror set (immutable) --- worker (ctl connections):
 *   sessions: refuse / mirror writes to           copy -> verify -> ready
 *   tables under deploy                           catalog in the backend
 *
 * States (one enum, one writer: set_state() in deploy.c):
 *
 *   queued --> copying --> verifying --> ready <----------+
 *      \          \            \        |   ^             |
 *       +----------+------------+------|---|--> cancelled | failed
 *                                      v   |  (attempt failed)
 *                                   cutting_over <------ reverted
 *                                      |                   ^
 *                                      v                   |
 *                                   complete <--------> reverting
 *
 * From `ready` on, the swap (cutover/swap.c) moves a deploy: the RENAME
 * puts the shadow live (complete), the original is kept in sync in reverse
 * while the revert window is open, a revert swaps back (reverted, the
 * shadow kept in sync again), and the window's end (or deploy finalize)
 * stops the mirroring and drops the table that is not live.
 *
 * Ownership and threads.  The registry (struct deploys) and every struct
 * deploy in it are shared between the event-loop thread and the workers;
 * fields marked [mu] are read and written under deploys->mu only.  The
 * event loop never blocks on a worker: workers post (deploys->notify, an
 * event on the loop) and the loop answers by publishing a new mirror set
 * (proxy side) and, once every command planned with the previous set has
 * ended, by deploys_synced().
 *
 * The catalog (the `_cutover` schema by default, [cutover] schema) holds one
 * row per deploy request; it is the authority after a restart.  Progress of
 * the backfill is saved in the same transaction as each chunk, so a crash
 * loses nothing and repeats nothing.
 */
#ifndef CUTOVER_DEPLOY_H
#define CUTOVER_DEPLOY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf/conf.h"

#define DEPLOY_NAME_SIZE 193     /* 64 characters of utf8mb3 + NUL */
#define DEPLOY_MAX_COLS 1024     /* MySQL's limit is 4096; InnoDB's 1017 */

enum deploy_state {
	DS_QUEUED,       /* accepted; shadow being built, mirror being armed */
	DS_COPYING,      /* backfill running */
	DS_VERIFYING,    /* checksums of the original against the shadow */
	DS_READY,        /* shadow verified and kept in sync: can cut over */
	DS_CUTTING_OVER, /* a cut-over is being attempted (gate, drain, RENAME) */
	DS_COMPLETE,     /* the shadow is live under the table's name; the
			    original is kept in sync while the window is open */
	DS_REVERTING,    /* a revert is being attempted */
	DS_REVERTED,     /* the original is live again; the new table is kept
			    in sync while the window is open (cut over again) */
	DS_CANCELLED,    /* stopped by `deploy cancel`; shadow dropped */
	DS_FAILED,       /* stopped by an error (`error` says which) */
};

const char *deploy_state_name(enum deploy_state st);
bool deploy_state_parse(const char *name, enum deploy_state *st) WARN_UNUSED;
/* True for the states in which writes to the table may be mirrored
 * (complete and reverted: while the revert window is open). */
bool deploy_state_mirrors(enum deploy_state st);

/* How a key column's values are read back and written as literals. */
enum key_kind {
	KEY_NUMERIC,     /* integers, decimals: selected as is, written bare */
	KEY_STRING,      /* character strings: selected as HEX(col), written
			    _charset X'..' COLLATE collation (same order as
			    the index) */
	KEY_BINARY,      /* binary strings: HEX(col), written X'..' */
	KEY_TEXT,        /* dates and times, UUID, INET6, INET4: selected as
			    text, written quoted */
};

/* A column of the original and its name in the shadow. */
struct deploy_col {
	char orig[DEPLOY_NAME_SIZE];
	char shadow[DEPLOY_NAME_SIZE];
	bool pk;                 /* part of the primary key (same in both) */
	enum key_kind kind;      /* pk columns: how keys are carried */
	char charset[65];        /* KEY_STRING: character set and collation */
	char collation[65];
	bool same_type;          /* same type, charset and collation in both:
				    the verifier compares values, not only NULLs */
	bool autoinc;            /* AUTO_INCREMENT in the original */
	unsigned ordinal;        /* 0-based position in the original (INSERT
				    without a column list) */
	unsigned shadow_ordinal; /* the same in the shadow (reverse mirror) */
	bool shadow_autoinc;     /* AUTO_INCREMENT in the shadow */
	char type[256];          /* COLUMN_TYPE in the original ("int(10)
				    unsigned", "varchar(36)"); "" unknown
				    (a catalog older than it) */
	char shadow_type[256];   /* the same in the shadow */
};

/* A view whose definition reads the table (directly or through another
   view): writes through it would go to the table unseen. */
#define DEPLOY_MAX_VIEWS 16
struct deploy_view {
	char db[DEPLOY_NAME_SIZE];
	char name[DEPLOY_NAME_SIZE];
};

struct deploys;            /* the registry: opaque outside cutover/ */

/* Called on the event loop when deploy states changed (to republish). */
typedef void (*deploys_changed_fn)(void *arg);
/* An admin reply (consumed) for the admin connection with this serial. */
typedef void (*deploys_reply_fn)(void *arg, uint64_t conn_serial, json_t *reply);

/*
 * Create the registry.  Does not touch the backend.  Returns NULL when
 * memory runs out.
 */
struct deploys *deploys_new(struct event_base *base, const struct conf *conf,
			    deploys_changed_fn changed, deploys_reply_fn reply, void *cb_arg);

/*
 * Read the catalog (blocking: call before the event loop accepts clients)
 * and start a worker for every deploy that was running.  When the catalog
 * cannot be read (backend down), returns false with `err`; the caller may
 * call again later (deploys_load_retry() does, from a thread).
 */
bool deploys_load(struct deploys *ds, char *err, size_t errlen) WARN_UNUSED;
void deploys_load_retry(struct deploys *ds);
/* The catalog has been read (on the loop thread, after `changed`). */
bool deploys_loaded(struct deploys *ds);

/* Stop the workers (they stop between chunks) and free everything. */
void deploys_free(struct deploys *ds);

/*
 * Admin commands, on the loop thread.  `line` is the whole command line
 * after "deploy".  A command answers through ds->reply (maybe later, from
 * a worker, via the loop) with the serial it was given.
 */
void deploys_admin(struct deploys *ds, uint64_t conn_serial, const char *args);

/*
 * Every deploy request cutoverd knows, as `deploy show` gives each: a JSON
 * array (the caller frees it), NULL when memory runs out.  Any thread.
 */
json_t *deploys_snapshot(struct deploys *ds);

/*
 * The mirror set for the proxy, built from the registry, and the version it
 * reflects.  On the loop thread.  NULL when memory runs out.
 */
struct mirror_set *deploys_mirror_set(struct deploys *ds, uint64_t *version);

/* The loop published a mirror set built at `version` and every command
 * planned before it has ended: wakes the workers waiting for it. */
void deploys_synced(struct deploys *ds, uint64_t version);

/*
 * The proxy could not mirror a write faithfully (on the loop thread): the
 * deploy fails with `why` (its worker drops the shadow).  Writes go on
 * unmirrored once the new mirror set is published.
 */
void deploys_fail(struct deploys *ds, uint64_t id, const char *why);

/* Counters the proxy keeps per deploy. */
void deploys_count(struct deploys *ds, uint64_t id, bool refused);

/*
 * The cut-over gate (see cutover/swap.c).  A mirror set whose tables carry
 * gate_epoch E asks the proxy to close the gate, at once or at the first
 * moment within quiet_wait_ms when no open transaction has touched them,
 * then to hold the statements that touch them and to report, once, when
 * no open transaction has touched them any more (blockers NULL), or that
 * drain_timeout_ms passed first (blockers: a JSON array of the sessions
 * still in the way; consumed).  closed_ms: when the gate closed, as
 * deploy_now_ms().  On the loop thread.
 */
void deploys_drained(struct deploys *ds, uint64_t gate_epoch, json_t *blockers, double closed_ms);

/* Milliseconds on the monotonic clock (durations; closed_ms above). */
double deploy_now_ms(void);

/* The loop published the mirror set of `version` (on the loop thread). */
void deploys_published(struct deploys *ds, uint64_t version);

#endif
