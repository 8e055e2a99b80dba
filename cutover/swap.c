/*
 * swap.c - cut-over, revert and finalize of deploy requests.
 *
 * A swap (a cut-over or a revert, of one deploy or of several together)
 * runs on a thread of its own, or on the deploy's worker for
 * --auto-cutover; one swap at a time (ds->swap_mu):
 *
 *  1. save the state (cutting_over / reverting) and the name the original
 *     will have, so that a restart can tell what happened;
 *  2. close the gate: publish a mirror set whose tables carry a new gate
 *     epoch.  The proxy first waits, up to [cutover] cutover_quiet_wait_ms
 *     and holding nothing, for a moment when no open transaction has
 *     touched them, and closes the gate then: nothing to drain.  Closed,
 *     it holds each statement that touches them from a session whose
 *     transaction has not touched them yet, lets the others go on, and
 *     reports once no open transaction has touched them, or that [cutover]
 *     cutover_drain_timeout_ms passed first (and who was in the way).  The
 *     pause is counted from the moment it closed;
 *  3. RENAME TABLE t WAIT n TO old, shadow TO t (a revert: t TO shadow,
 *     old TO t), every table of the swap in one statement.  It may wait
 *     for its locks (the server's statistics and purge threads take them
 *     for an instant, all the time, under writes) up to [cutover]
 *     cutover_rename_wait_ms; a watchdog then kills it and the attempt
 *     ends instead of stalling;
 *  4. flip the state and the mirror's direction and open the gate, in one
 *     published set: the held statements run, in arrival order;
 *  5. save the state.
 * An attempt that fails at 2 or 3 opens the gate with nothing changed; the
 * next one follows after a backoff ([cutover] cutover_retry_ms, doubling),
 * up to [cutover] cutover_max_attempts.
 *
 * After a cut-over the original is kept in sync (the reverse mirror) while
 * the revert window is open; after a revert, the new table is.  The
 * window's end (revert_window_s, or deploy finalize) stops that mirror and
 * drops the table that is not live, unless [cutover] keep_old_table.
 */
#include "config.h"
#include "cutover/deploy.h"
#include "cutover/deploy-internal.h"
#include "cutover/inspect.h"
#include "proxy/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SWAP_MAX_DEPLOYS 16
#define SWAP_HISTORY_MAX 20
#define SWAP_RETRY_MAX_MS 5000

enum swap_action { SWAP_CUTOVER, SWAP_REVERT };

struct swap_req {
	struct deploys *ds;
	uint64_t serial;                 /* admin connection owed the reply; 0 none */
	enum swap_action action;
	unsigned n;
	struct deploy *d[SWAP_MAX_DEPLOYS];
	enum deploy_state from[SWAP_MAX_DEPLOYS]; /* to go back to on failure */
	bool released;                   /* the deploys are no longer busy */
};

static const char *action_name(enum swap_action a)
{
	return a == SWAP_CUTOVER ? "cutover" : "revert";
}


static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void iso_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		buf[0] = '\0';
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double round2(double v)
{
	return (double)((long)(v * 100)) / 100.0;
}

/*
 * Append an attempt to d->history (under ds->mu).  quiet_ms: how long the
 * gate waited for a moment with no transaction on the table before it
 * closed (nothing held meanwhile); drain_ms / rename_ms: how long the
 * closed gate waited for open transactions and the RENAME took (< 0: not
 * reached).  blockers is not consumed.
 */
static void history_add(struct deploy *d, enum swap_action a, unsigned attempt, double pause_ms, double quiet_ms,
			double drain_ms, double rename_ms, const char *outcome, json_t *blockers)
{
	char at[32];
	json_t *e;

	iso_now(at, sizeof(at));
	if (d->history == NULL)
		d->history = json_array();
	e = json_pack("{s:s, s:s, s:i, s:f, s:s}", "at", at, "action", action_name(a), "attempt", (int)attempt,
		      "pause_ms", round2(pause_ms), "outcome", outcome);
	if (e != NULL && quiet_ms >= 0)
		json_object_set_new(e, "quiet_wait_ms", json_real(round2(quiet_ms)));
	if (e != NULL && drain_ms >= 0)
		json_object_set_new(e, "drain_ms", json_real(round2(drain_ms)));
	if (e != NULL && rename_ms >= 0)
		json_object_set_new(e, "rename_ms", json_real(round2(rename_ms)));
	if (e != NULL && blockers != NULL)
		json_object_set(e, "blockers", blockers);
	if (d->history != NULL && e != NULL) {
		json_array_append_new(d->history, e);
		while (json_array_size(d->history) > SWAP_HISTORY_MAX)
			json_array_remove(d->history, 0);
	} else {
		json_decref(e);
	}
}

static bool table_exists(struct ctl *c, const char *db, const char *table, bool *exists)
{
	uint64_t n = 0;

	if (!ctl_u64(c, &n, NULL, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
		     "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q", db, table))
		return false;
	*exists = n > 0;
	return true;
}

/* Sleep the [debug] swap_stall_ms at step `at` when asked to (tests). */
static void stall(struct deploys *ds, const char *at)
{
	if (ds->stall_ms > 0 && strcmp(ds->stall_at, at) == 0) {
		log_warning("swap: [debug] swap_stall_at = %s: stalling %d ms", at, ds->stall_ms);
		sleep_ms(ds->stall_ms);
	}
}

/*
 * Close the gate for the deploys of r and wait for the proxy's drain
 * report.  Returns true when drained; false with *blockers (the sessions in
 * the way, maybe NULL) when the drain timed out or the daemon stops.
 * *closed_ms: when the proxy closed the gate (it may first wait for a
 * quiet moment, [cutover] cutover_quiet_wait_ms); 0 when it did not say.
 */
static bool close_gate(struct swap_req *r, json_t **blockers, double *closed_ms)
{
	struct deploys *ds = r->ds;
	uint64_t epoch;
	struct timespec until;
	bool drained = false;

	*blockers = NULL;
	*closed_ms = 0;
	pthread_mutex_lock(&ds->mu);
	epoch = ++ds->gate_epoch_next;
	for (unsigned i = 0; i < r->n; i++)
		r->d[i]->gate_epoch = epoch;
	ds->version++;
	pthread_mutex_unlock(&ds->mu);
	deploys_notify(ds);
	/* the proxy reports at the drain timeout; this is only a backstop */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (ds->quiet_wait_ms + ds->drain_timeout_ms) / 1000 + 10;
	pthread_mutex_lock(&ds->mu);
	while (ds->drained_epoch < epoch && !ds->stopping) {
		if (pthread_cond_timedwait(&ds->cv, &ds->mu, &until) == ETIMEDOUT)
			break;
	}
	if (ds->drained_epoch == epoch) {
		*closed_ms = ds->drain_closed_ms;
		drained = ds->drain_blockers == NULL;
		*blockers = ds->drain_blockers;
		ds->drain_blockers = NULL;
	}
	pthread_mutex_unlock(&ds->mu);
	return drained;
}

/* Open the gate again, nothing changed; waits until it is published. */
static void open_gate(struct swap_req *r)
{
	pthread_mutex_lock(&r->ds->mu);
	for (unsigned i = 0; i < r->n; i++)
		r->d[i]->gate_epoch = 0;
	r->ds->version++;
	pthread_mutex_unlock(&r->ds->mu);
	(void)deploys_wait_published(r->ds);
}

/*
 * The RENAME's watchdog: if it runs longer than its budget (waiting for a
 * lock), a second connection kills the query, so the gate never stays
 * closed much past the budget.  Started right before the RENAME and joined
 * right after it, before the connection runs anything else.  The second
 * connection (killer) is made before the gate closes; NULL or closed: the
 * watchdog connects when it fires.
 */
struct watchdog {
	struct stmt_watch base;         /* first */
	uint64_t conn_id;
	int ms;
	const struct ctl_params *params;
	struct ctl *killer;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	bool fire;

	pthread_mutex_lock(&w->base.mu);
	fire = !stmt_watch_wait(&w->base, w->ms);
	w->base.fired = fire;
	pthread_mutex_unlock(&w->base.mu);
	if (fire) {
		struct ctl k;

		log_warning("swap: the RENAME has waited %d ms (cutover_rename_wait_ms): killing it", w->ms);
		/* the connection made beforehand, else (or if the server has
		   closed it meanwhile) a new one */
		if (w->killer == NULL || w->killer->my == NULL ||
		    !ctl_exec(w->killer, "KILL QUERY %llu", (unsigned long long)w->conn_id)) {
			if (!ctl_connect(&k, w->params)) {
				log_warning("swap: cannot connect to kill the RENAME: %s", k.error);
			} else {
				if (!ctl_exec(&k, "KILL QUERY %llu", (unsigned long long)w->conn_id))
					log_warning("swap: cannot kill the RENAME: %s", k.error);
				ctl_close(&k);
			}
		}
	}
	ctl_thread_end();
	return NULL;
}

static bool watchdog_start(struct watchdog *w, uint64_t conn_id, struct ctl *killer, const struct ctl_params *params,
			   int ms)
{
	memset(w, 0, sizeof(*w));
	w->conn_id = conn_id;
	w->ms = ms;
	w->params = params;
	w->killer = killer;
	return stmt_watch_start(&w->base, watchdog_main, w);
}

/* The control connection is gone: the client library's "server has gone
   away", "lost connection" (twice), and MariaDB's "connection was killed" */
#define LINK_LOST(code) ((code) == 2006 || (code) == 2013 || (code) == 2055 || (code) == 1927)

/* MySQL: the RENAME's lock wait is the session's lock_wait_timeout,
   cutover_rename_wait_ms rounded up to seconds (see rename_sql) */
static bool set_lock_wait(struct ctl *c, const struct deploys *ds)
{
	return ctl_exec(c, "SET SESSION lock_wait_timeout = %d", (ds->rename_wait_ms + 999) / 1000);
}

/*
 * The RENAME of every table of r, in one statement.  MariaDB: WAIT n (whole
 * seconds, at least the watchdog's budget) on the first table sets the
 * statement's lock wait; MySQL has no such clause, the session's
 * lock_wait_timeout does it (set_lock_wait).
 */
static char *rename_sql(struct swap_req *r, bool mariadb)
{
	char *sql = strdup("RENAME TABLE "), *part, *n;
	char wait[32];

	snprintf(wait, sizeof(wait), " WAIT %d", (r->ds->rename_wait_ms + 999) / 1000);

	for (unsigned i = 0; sql != NULL && i < r->n; i++) {
		struct deploy *d = r->d[i];
		const char *away = r->action == SWAP_CUTOVER ? d->old_table : d->shadow;
		const char *in = r->action == SWAP_CUTOVER ? d->shadow : d->old_table;

		part = ctl_fmt("%s%I.%I%s TO %I.%I, %I.%I TO %I.%I", i > 0 ? ", " : "", d->db, d->table,
			       i == 0 && mariadb ? wait : "", d->db, away, d->db, in, d->db, d->table);
		if (part == NULL) {
			free(sql);
			return NULL;
		}
		n = malloc(strlen(sql) + strlen(part) + 1);
		if (n != NULL) {
			strcpy(n, sql);
			strcat(n, part);
		}
		free(sql);
		free(part);
		sql = n;
	}
	return sql;
}

/*
 * After a RENAME whose outcome is unknown (the link broke): did it happen?
 * The tables say: the live table's partner has left its name.
 */
static bool renamed_check(struct swap_req *r, struct ctl *c, bool *renamed)
{
	struct deploy *d = r->d[0];
	const char *gone = r->action == SWAP_CUTOVER ? d->shadow : d->old_table;
	bool exists;

	if (!ctl_connect(c, &r->ds->ctl))
		return false;
	if (!table_exists(c, d->db, gone, &exists)) {
		ctl_close(c);
		return false;
	}
	*renamed = !exists;
	return true;
}

bool swap_learn_reverse(struct deploy *d, struct ctl *c, char *err, size_t errlen)
{
	unsigned *ords = calloc(d->ncols + 1, sizeof(*ords));
	bool *ai = calloc(d->ncols + 1, sizeof(*ai)), uq = false;
	char uniq[256] = "?";

	if (ords == NULL || ai == NULL || !inspect_reverse(c, d, ords, ai, &uq, err, errlen) ||
	    (uq && !inspect_uniques(c, d, true, uniq, sizeof(uniq)))) {
		if (ords != NULL && ai != NULL && uq)
			snprintf(err, errlen, "cannot read the shadow's unique keys: %s", c->error);
		if (ords == NULL || ai == NULL)
			snprintf(err, errlen, "out of memory");
		free(ords);
		free(ai);
		return false;
	}
	pthread_mutex_lock(&d->ds->mu);
	for (unsigned k = 0; k < d->ncols; k++) {
		d->cols[k].shadow_ordinal = ords[k];
		d->cols[k].shadow_autoinc = ai[k];
	}
	d->shadow_unique = uq;
	snprintf(d->shadow_uniq, sizeof(d->shadow_uniq), "%s", uq ? uniq : "");
	d->reverse_known = true;
	pthread_mutex_unlock(&d->ds->mu);
	free(ords);
	free(ai);
	return true;
}

/* Before the first attempt: names, the reverse mapping, sanity of the tables. */
static bool prepare(struct swap_req *r, struct ctl *c, char *err, size_t errlen)
{
	for (unsigned i = 0; i < r->n; i++) {
		struct deploy *d = r->d[i];
		bool exists, known;
		char name[DEPLOY_NAME_SIZE];

		pthread_mutex_lock(&r->ds->mu);
		known = d->reverse_known;
		snprintf(name, sizeof(name), "%s", d->old_table);
		pthread_mutex_unlock(&r->ds->mu);
		if (r->action == SWAP_CUTOVER && !known && !swap_learn_reverse(d, c, err, errlen))
			return false;
		if (r->action == SWAP_CUTOVER && name[0] == '\0') {
			/* the original's name while the new table is live */
			if (strlen(d->table) + 5 <= 64)
				snprintf(name, sizeof(name), "_%s_old", d->table);
			else
				snprintf(name, sizeof(name), "_cutover_%llu_old", (unsigned long long)d->id);
			if (!table_exists(c, d->db, name, &exists))
				goto sqlerr;
			if (exists)
				snprintf(name, sizeof(name), "_cutover_%llu_old", (unsigned long long)d->id);
			pthread_mutex_lock(&r->ds->mu);
			snprintf(d->old_table, sizeof(d->old_table), "%s", name);
			pthread_mutex_unlock(&r->ds->mu);
		}
		/* the table that comes in must exist, the name going away must be free */
		if (!table_exists(c, d->db, r->action == SWAP_CUTOVER ? d->shadow : d->old_table, &exists))
			goto sqlerr;
		if (!exists) {
			snprintf(err, errlen, "deploy %llu: table %s.%s is missing (dropped outside cutoverd?)",
				 (unsigned long long)d->id, d->db,
				 r->action == SWAP_CUTOVER ? d->shadow : d->old_table);
			return false;
		}
		if (!table_exists(c, d->db, r->action == SWAP_CUTOVER ? d->old_table : d->shadow, &exists))
			goto sqlerr;
		if (exists) {
			snprintf(err, errlen, "deploy %llu: table %s.%s exists already; the swap needs that name",
				 (unsigned long long)d->id, d->db,
				 r->action == SWAP_CUTOVER ? d->old_table : d->shadow);
			return false;
		}
		/* Fresh index statistics for the table coming in, before the gate
		 * closes: the shadow's may still be those of an empty table (the
		 * server recomputes them in the background, later), and a client
		 * statement planned with them right after the swap may scan the
		 * whole table, locking every row it passes. */
		if (!ctl_exec(c, "ANALYZE TABLE %I.%I", d->db, r->action == SWAP_CUTOVER ? d->shadow : d->old_table))
			log_warning("deploy %llu: ANALYZE TABLE %s.%s failed: %s", (unsigned long long)d->id, d->db,
				    r->action == SWAP_CUTOVER ? d->shadow : d->old_table, c->error);
	}
	return true;
sqlerr:
	snprintf(err, errlen, "reading information_schema: %s", c->error);
	return false;
}

static bool save_all(struct swap_req *r, struct ctl *c)
{
	bool ok = true;

	for (unsigned i = 0; i < r->n; i++)
		if (!catalog_save(c, r->d[i])) {
			log_warning("deploy %llu: cannot save the state: %s", (unsigned long long)r->d[i]->id,
				    c->error);
			ok = false;
		}
	return ok;
}

/* A deploy whose mirror broke during the swap (under ds->mu). */
static bool any_mirror_broken(struct swap_req *r, char *err, size_t errlen)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->d[i]->mirror_broken) {
			snprintf(err, errlen, "deploy %llu: a write could not be mirrored: %s",
				 (unsigned long long)r->d[i]->id, r->d[i]->mirror_broken_why);
			return true;
		}
	return false;
}

/*
 * Run the swap r describes (the deploys are marked busy).  Returns true
 * when it happened; false with err (the deploys are back in their state).
 * *pause_ms, *attempts: of the last attempt / how many.
 */
static bool swap_run(struct swap_req *r, char *err, size_t errlen, double *pause_ms, unsigned *attempts)
{
	struct deploys *ds = r->ds;
	struct ctl c, killer;
	bool mariadb, connected = false, done = false, broken = false, lwt_set = false;
	int backoff = ds->retry_ms;
	char last[768] = "";
	double total = 0;
	uint64_t conn_id = 0;

	*pause_ms = 0;
	*attempts = 0;
	memset(&killer, 0, sizeof(killer));
	pthread_mutex_lock(&ds->swap_mu);
	if (!ctl_connect(&c, &ds->ctl)) {
		snprintf(err, errlen, "control connection ([cutover] user %s): %s", ds->ctl.user, c.error);
		pthread_mutex_unlock(&ds->swap_mu);
		return false;
	}
	connected = true;
	mariadb = strstr(mysql_get_server_info(c.my), "MariaDB") != NULL && !ds->as_mysql;
	if (!prepare(r, &c, err, errlen))
		goto out;
	/* the watchdog's connection, made now rather than when it is needed
	   (with the gate closed); without it the watchdog connects itself */
	if (!ctl_connect(&killer, &ds->ctl)) {
		log_warning("deploy %llu: cannot open the RENAME watchdog's connection now: %s",
			    (unsigned long long)r->d[0]->id, killer.error);
		ctl_close(&killer);
		memset(&killer, 0, sizeof(killer));
	}
	/* MySQL: the RENAME's lock wait is the session's (see rename_sql);
	   set again on a connection made after a broken link (lwt_set) */
	if (!mariadb && !(lwt_set = set_lock_wait(&c, ds))) {
		snprintf(err, errlen, "cannot set lock_wait_timeout: %s", c.error);
		goto out;
	}
	/* for the watchdog's KILL QUERY: CONNECTION_ID(), as mysql_thread_id()
	   is 32 bits */
	if (!ctl_u64(&c, &conn_id, NULL, "SELECT CONNECTION_ID()")) {
		snprintf(err, errlen, "cannot read the connection id: %s", c.error);
		goto out;
	}
	pthread_mutex_lock(&ds->mu);
	for (unsigned i = 0; i < r->n; i++) {
		r->from[i] = r->d[i]->state;
		deploy_set_state(r->d[i], r->action == SWAP_CUTOVER ? DS_CUTTING_OVER : DS_REVERTING);
	}
	pthread_mutex_unlock(&ds->mu);
	if (!save_all(r, &c)) {
		/* a restart must be able to tell a RENAME happened: no RENAME
		   without the state saved first */
		snprintf(err, errlen, "cannot save the state in the catalog before the RENAME: %s", c.error);
		pthread_mutex_lock(&ds->mu);
		for (unsigned i = 0; i < r->n; i++)
			deploy_set_state(r->d[i], r->from[i]);
		pthread_mutex_unlock(&ds->mu);
		(void)save_all(r, &c);
		deploys_notify(ds);
		goto out;
	}
	deploys_notify(ds);

	for (unsigned attempt = 1; attempt <= (unsigned)ds->max_attempts && !done; attempt++) {
		json_t *blockers = NULL;
		double t0, t1, pause, quiet, drain, ren, closed;
		bool lwt_failed = false;
		char *sql;
		bool ok, killed;

		*attempts = attempt;
		if (attempt > 1) {
			sleep_ms(backoff);
			backoff = backoff * 2 > SWAP_RETRY_MAX_MS ? SWAP_RETRY_MAX_MS : backoff * 2;
		}
		pthread_mutex_lock(&ds->mu);
		broken = any_mirror_broken(r, last, sizeof(last));
		ok = !ds->stopping;
		pthread_mutex_unlock(&ds->mu);
		if (broken || !ok)
			break;
		t0 = deploy_now_ms();
		ok = close_gate(r, &blockers, &closed);
		/* the pause starts when the gate closed, not when it was asked */
		quiet = closed > t0 ? closed - t0 : 0;
		t0 += quiet;
		if (!ok) {
			open_gate(r);
			pause = deploy_now_ms() - t0;
			total += pause;
			snprintf(last, sizeof(last), "open transactions on the table did not end within "
				 "cutover_drain_timeout_ms (%d ms)", ds->drain_timeout_ms);
			pthread_mutex_lock(&ds->mu);
			for (unsigned i = 0; i < r->n; i++)
				history_add(r->d[i], r->action, attempt, pause, quiet, -1, -1, "drain timeout", blockers);
			pthread_mutex_unlock(&ds->mu);
			log_warning("deploy %llu: %s attempt %u: drain timeout after %.1f ms", (unsigned long long)r->d[0]->id,
				    action_name(r->action), attempt, pause);
			json_decref(blockers);
			continue;
		}
		drain = deploy_now_ms() - t0;
		stall(ds, "gated");
		pthread_mutex_lock(&ds->mu);
		broken = any_mirror_broken(r, last, sizeof(last));
		sql = broken ? NULL : rename_sql(r, mariadb);
		pthread_mutex_unlock(&ds->mu);
		if (broken) {
			open_gate(r);
			break;
		}
		t1 = deploy_now_ms();
		{
			struct watchdog wd;
			bool watched;

			if (conn_id == 0 && !ctl_u64(&c, &conn_id, NULL, "SELECT CONNECTION_ID()"))
				conn_id = 0;    /* the RENAME below fails the same way */
			if (!mariadb && !lwt_set && sql != NULL &&
			    !(lwt_set = set_lock_wait(&c, ds)))
				lwt_failed = true;  /* the attempt fails with the SET's error */
			watched = sql != NULL && !lwt_failed && conn_id != 0 &&
				  watchdog_start(&wd, conn_id, &killer, &ds->ctl, ds->rename_wait_ms);
			ok = sql != NULL && !lwt_failed && ctl_exec(&c, "%s", sql);
			killed = watched && stmt_watch_stop(&wd.base);
			ren = deploy_now_ms() - t1;
			if (!ok)
				snprintf(last, sizeof(last), "RENAME failed: %s%s%s",
					 lwt_failed ? "cannot set lock_wait_timeout: " : "",
					 sql == NULL ? "out of memory" : c.error,
					 killed ? " (killed: it waited for its locks longer than cutover_rename_wait_ms)"
						: "");
		}
		free(sql);
		if (!ok) {
			bool renamed = false;
			unsigned code = mysql_errno(c.my);

			if (killed && !LINK_LOST(code)) {
				/* killed: the tables say whether it had happened */
				const struct deploy *d0 = r->d[0];
				bool exists = true;

				if (!table_exists(&c, d0->db, r->action == SWAP_CUTOVER ? d0->shadow : d0->old_table,
						  &exists))
					code = mysql_errno(c.my) != 0 ? mysql_errno(c.my) : 2013;
				else
					renamed = !exists;
			}
			if (LINK_LOST(code)) {
				/*
				 * The link broke: did the RENAME happen?  Until that
				 * is known the gate stays closed: opening it on a
				 * guess would mirror the wrong way.  A daemon that
				 * stops meanwhile leaves the catalog saying
				 * cutting_over / reverting: the next start settles
				 * it from the tables.
				 */
				ctl_close(&c);
				connected = false;
				conn_id = 0;    /* a new connection: read again */
				lwt_set = false;
				for (unsigned k = 0; !renamed_check(r, &c, &renamed); k++) {
					bool stop;

					pthread_mutex_lock(&ds->mu);
					stop = ds->stopping;
					pthread_mutex_unlock(&ds->mu);
					if (stop) {
						snprintf(err, errlen, "cutoverd stopped before it could tell whether the "
							 "RENAME happened; the next start settles it from the tables");
						goto out;
					}
					if (k % 50 == 0)
						log_warning("deploy %llu: the link broke during the RENAME and cannot tell "
							    "whether it happened (%s); holding the table's traffic until it can",
							    (unsigned long long)r->d[0]->id, c.error);
					sleep_ms(100);
				}
				connected = true;
			}
			if (!renamed) {
				open_gate(r);
				pause = deploy_now_ms() - t0;
				total += pause;
				pthread_mutex_lock(&ds->mu);
				for (unsigned i = 0; i < r->n; i++)
					history_add(r->d[i], r->action, attempt, pause, quiet, drain, ren, last, NULL);
				pthread_mutex_unlock(&ds->mu);
				log_warning("deploy %llu: %s attempt %u: %s", (unsigned long long)r->d[0]->id,
					    action_name(r->action), attempt, last);
				if (!connected && !ctl_connect(&c, &ds->ctl)) {
					snprintf(last, sizeof(last), "control connection lost: %s", c.error);
					break;
				}
				connected = true;
				/* a new connection: MySQL's lock wait now, with the gate
				   open (failing, it is tried again before the RENAME) */
				if (!mariadb && !lwt_set)
					lwt_set = set_lock_wait(&c, ds);
				continue;
			}
		}
		stall(ds, "renamed");
		/* swapped: flip the state and the mirror, open the gate */
		pthread_mutex_lock(&ds->mu);
		for (unsigned i = 0; i < r->n; i++) {
			struct deploy *d = r->d[i];

			d->gate_epoch = 0;
			d->ddl_gen++;
			d->swapped = r->action == SWAP_CUTOVER;
			if (r->action == SWAP_CUTOVER) {
				d->window_open = true;
				d->window_end = time(NULL) + ds->revert_window_s;
				d->window_note[0] = '\0';
			}
			deploy_set_state(d, r->action == SWAP_CUTOVER ? DS_COMPLETE : DS_REVERTED);
			/* done: deploy show says complete and revertible from now
			   on, and a revert may be asked (it waits for swap_mu, so
			   after this swap's last save) */
			d->busy = false;
		}
		r->released = true;
		pthread_mutex_unlock(&ds->mu);
		(void)deploys_wait_published(ds);
		pause = deploy_now_ms() - t0;
		total += pause;
		*pause_ms = pause;
		pthread_mutex_lock(&ds->mu);
		for (unsigned i = 0; i < r->n; i++) {
			r->d[i]->pause_ms = pause;
			r->d[i]->pause_total_ms = total;
			r->d[i]->attempts = attempt;
			history_add(r->d[i], r->action, attempt, pause, quiet, drain, ren, "ok", NULL);
		}
		pthread_mutex_unlock(&ds->mu);
		log_info("deploy %llu: %s done in attempt %u, traffic to the table held %.2f ms "
			 "(drain %.2f ms, RENAME %.2f ms; the gate waited %.2f ms for a quiet moment before)",
			 (unsigned long long)r->d[0]->id, action_name(r->action), attempt, pause, drain, ren, quiet);
		done = true;
	}
	if (!done) {
		/* back where it was, nothing changed */
		pthread_mutex_lock(&ds->mu);
		for (unsigned i = 0; i < r->n; i++) {
			r->d[i]->gate_epoch = 0;
			r->d[i]->attempts = *attempts;
			deploy_set_state(r->d[i], r->from[i]);
		}
		pthread_mutex_unlock(&ds->mu);
		deploys_notify(ds);
		if (broken)
			snprintf(err, errlen, "%s abandoned: %s", action_name(r->action), last);
		else
			snprintf(err, errlen, "%s abandoned after %u attempts, nothing changed; last: %s",
				 action_name(r->action), *attempts, last[0] ? last : "the daemon is stopping");
	}
	if (connected || ctl_connect(&c, &ds->ctl)) {
		connected = true;
		(void)save_all(r, &c);
	}
out:
	if (connected)
		ctl_close(&c);
	if (killer.my != NULL)
		ctl_close(&killer);
	pthread_mutex_unlock(&ds->swap_mu);
	return done;
}

/*
 * A mirror that broke during a failed swap: a deploy still before its
 * cut-over fails (its shadow is no longer in sync); one past it closes its
 * window.
 */
static void settle_broken(struct swap_req *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		struct deploy *d = r->d[i];
		bool broken;
		enum deploy_state st;
		char why[512];

		pthread_mutex_lock(&r->ds->mu);
		broken = d->mirror_broken;
		st = d->state;
		snprintf(why, sizeof(why), "%s", d->mirror_broken_why);
		if (broken && st != DS_READY) {
			d->window_open = false;
			snprintf(d->window_note, sizeof(d->window_note), "%.200s", why);
			d->mirror_broken = false;
			r->ds->version++;
		}
		pthread_mutex_unlock(&r->ds->mu);
		if (broken && st == DS_READY) {
			struct ctl c;

			if (ctl_connect(&c, &r->ds->ctl)) {
				deploy_finish(d, &c, DS_FAILED, why);
				ctl_close(&c);
			}
		}
	}
	deploys_notify(r->ds);
}

static void release(struct swap_req *r)
{
	pthread_mutex_lock(&r->ds->mu);
	if (!r->released)
		for (unsigned i = 0; i < r->n; i++)
			r->d[i]->busy = false;
	r->released = true;
	pthread_mutex_unlock(&r->ds->mu);
}

/* The reply of a swap that happened (under ds->mu or after the swap). */
static json_t *ok_reply(struct swap_req *r, double pause_ms, unsigned attempts)
{
	json_t *ids = json_array();

	for (unsigned i = 0; i < r->n; i++)
		json_array_append_new(ids, json_integer((json_int_t)r->d[i]->id));
	return json_pack("{s:b, s:s, s:o, s:f, s:f, s:i}", "ok", 1, "state",
			 r->action == SWAP_CUTOVER ? "complete" : "reverted", "ids", ids,
			 "pause_ms", round2(pause_ms), "pause_total_ms", round2(r->d[0]->pause_total_ms),
			 "attempts", (int)attempts);
}

static void *swap_main(void *arg)
{
	struct swap_req *r = arg;
	struct deploys *ds = r->ds;
	char err[1024];
	double pause;
	unsigned attempts;

	if (swap_run(r, err, sizeof(err), &pause, &attempts)) {
		deploys_post_reply(ds, r->serial, ok_reply(r, pause, attempts));
	} else {
		log_warning("deploy %llu: %s", (unsigned long long)r->d[0]->id, err);
		deploys_post_reply(ds, r->serial, json_pack("{s:b, s:s, s:i}", "ok", 0, "error", err,
							    "attempts", (int)attempts));
	}
	settle_broken(r);
	release(r);
	deploys_thread_exit(ds, NULL);
	free(r);
	return NULL;
}

void swap_auto_cutover(struct deploy *d, struct ctl *c)
{
	struct deploys *ds = d->ds;

	(void)c;
	for (;;) {
		struct swap_req r;
		char err[1024];
		double pause;
		unsigned attempts;
		bool go, ok;

		pthread_mutex_lock(&ds->mu);
		go = d->auto_cutover && d->state == DS_READY && !d->busy && !d->cancel && !ds->stopping;
		if (go)
			d->busy = true;
		pthread_mutex_unlock(&ds->mu);
		if (!go)
			return;
		memset(&r, 0, sizeof(r));
		r.ds = ds;
		r.action = SWAP_CUTOVER;
		r.n = 1;
		r.d[0] = d;
		log_info("deploy %llu: ready; cutting over by itself (--auto-cutover)", (unsigned long long)d->id);
		ok = swap_run(&r, err, sizeof(err), &pause, &attempts);
		if (!ok)
			log_warning("deploy %llu: automatic cut-over: %s; trying again in 10 s", (unsigned long long)d->id,
				    err);
		settle_broken(&r);
		release(&r);
		if (ok)
			return;
		deploy_sleep(d, 10000);
	}
}

/* --- admin commands (loop thread) ---------------------------------------------- */

/* Why d cannot be swapped by `a` now, or NULL (under ds->mu). */
static const char *cannot_swap(const struct deploy *d, enum swap_action a, char *buf, size_t len)
{
	if (d->cancel) {
		snprintf(buf, len, "deploy %llu is being cancelled", (unsigned long long)d->id);
		return buf;
	}
	if (d->busy) {
		snprintf(buf, len, "deploy %llu is busy (%s in progress)", (unsigned long long)d->id,
			 d->state == DS_REVERTING ? "a revert" : d->state == DS_CUTTING_OVER ? "a cut-over" :
			 "a cut-over, revert or finalize");
		return buf;
	}
	if (a == SWAP_CUTOVER) {
		if (d->state == DS_READY || (d->state == DS_REVERTED && d->window_open))
			return NULL;
		if (d->state == DS_REVERTED)
			snprintf(buf, len, "deploy %llu is reverted and its window has ended (%s): create a new deploy",
				 (unsigned long long)d->id, d->window_note[0] ? d->window_note : "finalized");
		else if (d->state == DS_COMPLETE)
			snprintf(buf, len, "deploy %llu is already complete", (unsigned long long)d->id);
		else
			snprintf(buf, len, "deploy %llu is %s, not ready: it can be cut over once its state is ready",
				 (unsigned long long)d->id, deploy_state_name(d->state));
		return buf;
	}
	if (d->state == DS_COMPLETE && d->window_open)
		return NULL;
	if (d->state == DS_COMPLETE)
		snprintf(buf, len, "deploy %llu can no longer be reverted: its revert window ended (%s)",
			 (unsigned long long)d->id, d->window_note[0] ? d->window_note : "finalized");
	else if (d->state == DS_REVERTED)
		snprintf(buf, len, "deploy %llu is already reverted", (unsigned long long)d->id);
	else
		snprintf(buf, len, "deploy %llu is %s: only a complete deploy (after deploy cutover) can be reverted",
			 (unsigned long long)d->id, deploy_state_name(d->state));
	return buf;
}

static void start_swap(struct deploys *ds, uint64_t serial, const char *rest, enum swap_action a)
{
	struct swap_req *r = calloc(1, sizeof(*r));
	char w[64], why[512];
	const char *p = rest;
	unsigned already = 0;

	if (r == NULL) {
		deploys_reply_err(ds, serial, "out of memory");
		return;
	}
	r->ds = ds;
	r->serial = serial;
	r->action = a;
	pthread_mutex_lock(&ds->mu);
	for (;;) {
		struct deploy *d;

		p = deploys_next_word(p, w, sizeof(w));
		if (w[0] == '\0')
			break;
		if ((d = deploys_find_arg(ds, w)) == NULL) {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, "no deploy request with id '%.32s'", w);
			free(r);
			return;
		}
		for (unsigned i = 0; i < r->n; i++)
			if (r->d[i] == d) {
				pthread_mutex_unlock(&ds->mu);
				deploys_reply_err(ds, serial, "deploy %llu is named twice", (unsigned long long)d->id);
				free(r);
				return;
			}
		if (!d->busy && d->state == (a == SWAP_CUTOVER ? DS_COMPLETE : DS_REVERTED)) {
			/* asked again (a lost reply?): the outcome, as deploy show has it */
			already++;
		} else if (cannot_swap(d, a, why, sizeof(why)) != NULL) {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, "%s", why);
			free(r);
			return;
		}
		if (r->n == SWAP_MAX_DEPLOYS || (a == SWAP_REVERT && r->n == 1)) {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, a == SWAP_REVERT ? "usage: deploy revert <id>" :
				  "at most %d deploys cut over together", SWAP_MAX_DEPLOYS);
			free(r);
			return;
		}
		r->d[r->n++] = d;
	}
	if (r->n == 0) {
		pthread_mutex_unlock(&ds->mu);
		deploys_reply_err(ds, serial, a == SWAP_CUTOVER ? "usage: deploy cutover <id> [<id> ...]" :
			  "usage: deploy revert <id>");
		free(r);
		return;
	}
	if (already > 0) {
		json_t *ok;

		if (already < r->n) {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, "some of these deploys are %s already, some not: name only the others",
				  a == SWAP_CUTOVER ? "complete" : "reverted");
			free(r);
			return;
		}
		ok = ok_reply(r, r->d[0]->pause_ms, r->d[0]->attempts);
		json_object_set_new(ok, "already", json_true());
		pthread_mutex_unlock(&ds->mu);
		ds->reply(ds->cb_arg, serial, ok);
		free(r);
		return;
	}
	for (unsigned i = 0; i < r->n; i++)
		r->d[i]->busy = true;
	pthread_mutex_unlock(&ds->mu);
	if (!deploys_spawn(ds, swap_main, r, NULL)) {
		release(r);
		deploys_reply_err(ds, serial, "cannot start a thread");
		free(r);
	}
}

void swap_cmd_cutover(struct deploys *ds, uint64_t serial, const char *rest)
{
	start_swap(ds, serial, rest, SWAP_CUTOVER);
}

void swap_cmd_revert(struct deploys *ds, uint64_t serial, const char *rest)
{
	start_swap(ds, serial, rest, SWAP_REVERT);
}

/* --- finalize --------------------------------------------------------------------- */

struct finalize_req {
	struct deploy *d;
	uint64_t serial;
};

/*
 * End d's window: stop the mirror into the table that is not live, wait
 * until no command planned with it runs, drop that table (unless
 * keep_old_table), save.
 */
static void *finalize_main(void *arg)
{
	struct finalize_req *f = arg;
	struct deploy *d = f->d;
	struct deploys *ds = d->ds;
	struct ctl c;
	char other[DEPLOY_NAME_SIZE];
	enum deploy_state st;
	bool dropped = false;

	pthread_mutex_lock(&ds->swap_mu);   /* after a swap's last save */
	pthread_mutex_lock(&ds->mu);
	d->window_open = false;
	if (d->window_note[0] == '\0')
		snprintf(d->window_note, sizeof(d->window_note), "%s",
			 f->serial != 0 ? "finalized by deploy finalize" : "revert window ended");
	st = d->state;
	snprintf(other, sizeof(other), "%s", st == DS_COMPLETE ? d->old_table : d->shadow);
	if (d->finished == 0)
		d->finished = time(NULL);
	ds->version++;
	pthread_mutex_unlock(&ds->mu);
	if (!deploys_wait_synced(ds))
		goto out;
	if (!deploy_connect_retry(d, &c))
		goto out;
	if (!ds->keep_old_table) {
		if (ctl_exec(&c, "DROP TABLE IF EXISTS %I.%I", d->db, other))
			dropped = true;
		else
			log_warning("deploy %llu: cannot drop %s.%s: %s", (unsigned long long)d->id, d->db, other,
				    c.error);
	}
	if (!catalog_save(&c, d))
		log_warning("deploy %llu: cannot save the state: %s", (unsigned long long)d->id, c.error);
	ctl_close(&c);
	log_info("deploy %llu %s.%s: finalized (%s); %s.%s %s", (unsigned long long)d->id, d->db, d->table,
		 deploy_state_name(st), d->db, other, dropped ? "dropped" : "kept");
	deploys_post_reply(ds, f->serial, json_pack("{s:b, s:I, s:s, s:b, s:s?, s:s?}", "ok", 1, "id",
						    (json_int_t)d->id, "state", deploy_state_name(st),
						    "revertible", 0, "dropped", dropped ? other : NULL,
						    "kept", dropped ? NULL : other));
out:
	pthread_mutex_unlock(&ds->swap_mu);
	pthread_mutex_lock(&ds->mu);
	d->busy = false;
	pthread_mutex_unlock(&ds->mu);
	deploys_thread_exit(ds, NULL);
	free(f);
	return NULL;
}

/* Start finalizing d (busy set by the caller, under no lock). */
static void start_finalize(struct deploy *d, uint64_t serial)
{
	struct finalize_req *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->d = d;
		f->serial = serial;
	}
	if (f == NULL || !deploys_spawn(d->ds, finalize_main, f, NULL)) {
		free(f);
		pthread_mutex_lock(&d->ds->mu);
		d->busy = false;
		pthread_mutex_unlock(&d->ds->mu);
		if (serial != 0)
			deploys_reply_err(d->ds, serial, "cannot start a thread");
	}
}

void swap_cmd_finalize(struct deploys *ds, uint64_t serial, const char *rest)
{
	char w[64];
	struct deploy *d;

	(void)deploys_next_word(rest, w, sizeof(w));
	pthread_mutex_lock(&ds->mu);
	if ((d = deploys_find_arg(ds, w)) == NULL) {
		pthread_mutex_unlock(&ds->mu);
		deploys_reply_err(ds, serial, "no deploy request with id '%.32s'", w);
		return;
	}
	if (d->busy || (d->state != DS_COMPLETE && d->state != DS_REVERTED) || !d->window_open) {
		char msg[512];

		if (d->busy)
			snprintf(msg, sizeof(msg), "deploy %llu is busy (a cut-over, revert or finalize in progress)",
				 (unsigned long long)d->id);
		else if (d->state == DS_COMPLETE || d->state == DS_REVERTED)
			snprintf(msg, sizeof(msg), "deploy %llu is already finalized (%s)", (unsigned long long)d->id,
				 d->window_note[0] ? d->window_note : "window closed");
		else
			snprintf(msg, sizeof(msg), "deploy %llu is %s: only a complete or reverted deploy has a "
				 "revert window to end", (unsigned long long)d->id, deploy_state_name(d->state));
		pthread_mutex_unlock(&ds->mu);
		deploys_reply_err(ds, serial, "%s", msg);
		return;
	}
	d->busy = true;
	pthread_mutex_unlock(&ds->mu);
	start_finalize(d, serial);
}

void swap_check_windows(struct deploys *ds)
{
	struct deploy *d, *due[SWAP_MAX_DEPLOYS];
	unsigned n = 0;
	time_t now = time(NULL);

	pthread_mutex_lock(&ds->mu);
	TAILQ_FOREACH(d, &ds->list, link) {
		if (d->busy || (d->state != DS_COMPLETE && d->state != DS_REVERTED) || n == SWAP_MAX_DEPLOYS)
			continue;
		/* the window ended, or a broken mirror closed it: drop the other table */
		if ((d->window_open && now >= d->window_end) ||
		    (!d->window_open && d->window_note[0] != '\0' && d->finished == 0)) {
			d->busy = true;
			due[n++] = d;
		}
	}
	pthread_mutex_unlock(&ds->mu);
	for (unsigned i = 0; i < n; i++)
		start_finalize(due[i], 0);
}

void swap_mirror_failed(struct deploy *d, const char *why)
{
	log_error("deploy %llu %s.%s: %s", (unsigned long long)d->id, d->db, d->table, why);
	if (d->busy || d->state == DS_CUTTING_OVER || d->state == DS_REVERTING) {
		d->mirror_broken = true;
		snprintf(d->mirror_broken_why, sizeof(d->mirror_broken_why), "%s", why);
	} else {
		/* complete / reverted: the other table is out of sync for good */
		d->window_open = false;
		snprintf(d->window_note, sizeof(d->window_note), "mirror failed: %.200s", why);
	}
	d->ds->version++;
}

/* --- recovery at start ------------------------------------------------------------ */

void swap_recover(struct deploy *d, struct ctl *c)
{
	bool shadow_there, old_there;
	enum deploy_state to;

	if (!table_exists(c, d->db, d->shadow, &shadow_there) ||
	    !table_exists(c, d->db, d->old_table[0] ? d->old_table : d->shadow, &old_there)) {
		log_error("deploy %llu: cannot tell whether its interrupted %s renamed the tables: %s",
			  (unsigned long long)d->id, deploy_state_name(d->state), c->error);
		return;
	}
	if (d->old_table[0] == '\0')
		old_there = false;
	if (d->state == DS_CUTTING_OVER) {
		if (!shadow_there && old_there) {
			to = DS_COMPLETE;
			d->swapped = true;
			d->window_open = true;
			d->window_end = time(NULL) + d->ds->revert_window_s;
		} else {
			to = d->window_open ? DS_REVERTED : DS_READY;
		}
	} else {
		if (shadow_there && !old_there) {
			to = DS_REVERTED;
			d->swapped = false;
		} else {
			to = DS_COMPLETE;
		}
	}
	log_warning("deploy %llu %s.%s: cutoverd stopped during a %s; the tables show it %s: %s",
		    (unsigned long long)d->id, d->db, d->table,
		    d->state == DS_CUTTING_OVER ? "cut-over" : "revert",
		    (to == DS_COMPLETE) == (d->state == DS_CUTTING_OVER) ? "happened" : "did not happen",
		    deploy_state_name(to));
	d->gate_epoch = 0;
	history_add(d, d->state == DS_CUTTING_OVER ? SWAP_CUTOVER : SWAP_REVERT, 0, 0, -1, -1, -1,
		    to == DS_COMPLETE || to == DS_REVERTED ?
		    "interrupted by a restart after its RENAME; settled from the tables" :
		    "interrupted by a restart before its RENAME; nothing changed", NULL);
	deploy_set_state(d, to);
	if (!catalog_save(c, d))
		log_warning("deploy %llu: cannot save: %s", (unsigned long long)d->id, c->error);
}
