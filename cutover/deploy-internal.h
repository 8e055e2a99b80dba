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

#include "cutover/ctl.h"
#include "cutover/deploy.h"

struct deploys;

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
	unsigned ncols;
	struct deploy_col *cols; /* mapped columns, in the original's order */
	unsigned npk;
	unsigned *pk;            /* indexes into cols, in primary-key order */
	bool orig_unique;        /* the original has another unique key */

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
};


/* True when the worker must stop (cancel, shutdown). */
bool deploy_stopping(struct deploy *d);

/* Sleep up to ms, waking early when the worker must stop or settings change. */
void deploy_sleep(struct deploy *d, int ms);

/* UPDATE the catalog row from d (taken under d->ds->mu). */
bool catalog_save(struct ctl *c, struct deploy *d) WARN_UNUSED;

enum copy_result {
	COPY_DONE,
	COPY_STOPPED,    /* deploy_stopping() */
	COPY_FAILED,     /* err says why */
};

/* The backfill, from d->copied_upto to the end of the table. */
enum copy_result copy_run(struct deploy *d, struct ctl *c, char *err, size_t errlen);

/* Chunked checksums under one snapshot; mismatching chunks re-copied. */
enum copy_result verify_run(struct deploy *d, struct ctl *c, char *err, size_t errlen);

#endif
