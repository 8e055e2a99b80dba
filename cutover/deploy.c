/*
 * deploy.c - the deploy registry, the state machine, the catalog, the
 * worker threads and the `deploy` admin commands (see deploy.h).
 *
 * A worker thread per deploy request runs it from creation to `ready`:
 * checks, shadow, arming the mirror, backfill, verification.  Threads are
 * detached; ds->nthreads counts them so that deploys_free() can wait.
 */
#include "config.h"
#include "cutover/deploy.h"
#include "cutover/deploy-internal.h"
#include "cutover/inspect.h"
#include "cutover/keys.h"
#include "cutover/mirror.h"
#include "proxy/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CHUNK_ROWS_START 1000

struct deploys_reply {
	STAILQ_ENTRY(deploys_reply) link;
	uint64_t serial;
	json_t *reply;
};

static const char *const state_names[] = {
	[DS_QUEUED] = "queued",
	[DS_COPYING] = "copying",
	[DS_VERIFYING] = "verifying",
	[DS_READY] = "ready",
	[DS_CUTTING_OVER] = "cutting_over",
	[DS_COMPLETE] = "complete",
	[DS_REVERTING] = "reverting",
	[DS_REVERTED] = "reverted",
	[DS_CANCELLED] = "cancelled",
	[DS_FAILED] = "failed",
};

const char *deploy_state_name(enum deploy_state st)
{
	if ((unsigned)st < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[st];
	abort();
}

bool deploy_state_parse(const char *name, enum deploy_state *st)
{
	for (unsigned i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(name, state_names[i]) == 0) {
			*st = (enum deploy_state)i;
			return true;
		}
	return false;
}

bool deploy_state_mirrors(enum deploy_state st)
{
	switch (st) {
	case DS_QUEUED:
	case DS_COPYING:
	case DS_VERIFYING:
	case DS_READY:
	case DS_CUTTING_OVER:
	case DS_COMPLETE:
	case DS_REVERTING:
	case DS_REVERTED:
		return true;
	case DS_CANCELLED:
	case DS_FAILED:
		return false;
	}
	abort();
}

static bool state_final(enum deploy_state st)
{
	return !deploy_state_mirrors(st);
}

/* Before any cut-over: cancel and failure end it. */
static bool state_before_swap(enum deploy_state st)
{
	return st == DS_QUEUED || st == DS_COPYING || st == DS_VERIFYING || st == DS_READY;
}

/* The deploy still owns its table (mirrors into the other one). */
static bool deploy_live(const struct deploy *d)
{
	if (!deploy_state_mirrors(d->state) || d->mirror_broken)
		return false;
	if (d->state == DS_COMPLETE || d->state == DS_REVERTED)
		return d->window_open;
	return true;
}

/*
 * The one writer of d->state (under ds->mu).  Transitions: forward along
 * queued -> copying -> verifying -> ready, the swaps of deploy.h's picture,
 * and from any state before a cut-over to cancelled or failed.  Anything
 * else is a bug.
 */
void deploy_set_state(struct deploy *d, enum deploy_state to)
{
	enum deploy_state from = d->state;
	bool ok;

	switch (to) {
	case DS_COPYING:
		ok = from == DS_QUEUED;
		break;
	case DS_VERIFYING:
		ok = from == DS_COPYING;
		break;
	case DS_READY:
		ok = from == DS_VERIFYING || from == DS_CUTTING_OVER;
		break;
	case DS_CUTTING_OVER:
		ok = from == DS_READY || from == DS_REVERTED;
		break;
	case DS_COMPLETE:
		ok = from == DS_CUTTING_OVER || from == DS_REVERTING;
		break;
	case DS_REVERTING:
		ok = from == DS_COMPLETE;
		break;
	case DS_REVERTED:
		ok = from == DS_REVERTING || from == DS_CUTTING_OVER;
		break;
	case DS_CANCELLED:
	case DS_FAILED:
		ok = state_before_swap(from) || from == DS_CUTTING_OVER;
		break;
	case DS_QUEUED:
	default:
		ok = false;
	}
	if (!ok) {
		log_error("deploy %llu: bad state change %s -> %s", (unsigned long long)d->id,
			  deploy_state_name(from), deploy_state_name(to));
		abort();
	}
	d->state = to;
	if (to == DS_COPYING)
		d->copy_started = time(NULL);
	if (to == DS_READY)
		d->ready_at = time(NULL);
	if (state_final(to))
		d->finished = time(NULL);
	d->ds->version++;
	log_info("deploy %llu %s.%s: %s -> %s", (unsigned long long)d->id, d->db, d->table,
		 deploy_state_name(from), deploy_state_name(to));
}

/* --- registry -------------------------------------------------------------- */

static void deploy_free(struct deploy *d)
{
	free(d->alter);
	free(d->deferred);
	free(d->cols);
	free(d->pk);
	free(d->copied_upto);
	free(d->frontier);
	json_decref(d->history);
	routines_unref(d->routines);
	free(d);
}

static struct deploy *deploy_alloc(struct deploys *ds)
{
	struct deploy *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->ds = ds;
	d->chunk_rows = CHUNK_ROWS_START;
	d->target_chunk_ms = ds->default_chunk_ms;
	d->max_threads_running = ds->default_max_threads_running;
	d->created = time(NULL);
	return d;
}

void deploys_notify(struct deploys *ds)
{
	event_active(ds->notify, EV_READ, 0);
}

void deploys_post_reply(struct deploys *ds, uint64_t serial, json_t *r)
{
	struct deploys_reply *x;

	if (serial == 0 || r == NULL) {
		json_decref(r);
		return;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		json_decref(r);
		return;
	}
	x->serial = serial;
	x->reply = r;
	pthread_mutex_lock(&ds->mu);
	STAILQ_INSERT_TAIL(&ds->replies, x, link);
	pthread_mutex_unlock(&ds->mu);
	deploys_notify(ds);
}

static json_t *error_reply(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct deploys *ds = arg;
	struct deploys_reply *x;

	(void)fd;
	(void)what;
	ds->changed(ds->cb_arg);
	for (;;) {
		pthread_mutex_lock(&ds->mu);
		x = STAILQ_FIRST(&ds->replies);
		if (x != NULL)
			STAILQ_REMOVE_HEAD(&ds->replies, link);
		pthread_mutex_unlock(&ds->mu);
		if (x == NULL)
			break;
		ds->reply(ds->cb_arg, x->serial, x->reply);
		free(x);
	}
}

static void on_window_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	swap_check_windows(arg);
}

/* [cutover] replicas: "host:port, host:port" into ds->replicas. */
static bool parse_replicas(struct deploys *ds, const char *list)
{
	char *copy = strdup(list != NULL ? list : ""), *tok, *save = NULL;

	if (copy == NULL)
		return false;
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		char *colon = strrchr(tok, ':'), *end;
		long port;
		struct ctl_params *n;

		errno = 0;
		port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
		if (colon == NULL || colon == tok || errno != 0 || *end != '\0' || port < 1 || port > 65535) {
			log_error("[cutover] replicas: '%s' is not host:port", tok);
			free(copy);
			return false;
		}
		n = realloc(ds->replicas, (ds->nreplicas + 1) * sizeof(*n));
		if (n == NULL) {
			free(copy);
			return false;
		}
		ds->replicas = n;
		n[ds->nreplicas] = ds->ctl;    /* same account and TLS */
		n[ds->nreplicas].host = strndup(tok, (size_t)(colon - tok));
		n[ds->nreplicas].port = (int)port;
		n[ds->nreplicas].user = strdup(ds->ctl.user);
		n[ds->nreplicas].password = strdup(ds->ctl.password);
		n[ds->nreplicas].tls_ca = strdup(ds->ctl.tls_ca);
		ds->nreplicas++;
	}
	free(copy);
	return true;
}

struct deploys *deploys_new(struct event_base *base, const struct conf *conf,
			    deploys_changed_fn changed, deploys_reply_fn reply, void *cb_arg)
{
	struct deploys *ds = calloc(1, sizeof(*ds));

	if (ds == NULL)
		return NULL;
	pthread_mutex_init(&ds->mu, NULL);
	pthread_cond_init(&ds->cv, NULL);
	TAILQ_INIT(&ds->list);
	STAILQ_INIT(&ds->replies);
	if (!ctl_params_from_conf(&ds->ctl, conf)) {
		free(ds);
		return NULL;
	}
	snprintf(ds->schema, sizeof(ds->schema), "%s", conf->cutover_schema);
	ds->max_replica_lag_ms = conf->cutover_max_replica_lag_ms;
	if (!parse_replicas(ds, conf->cutover_replicas)) {
		ctl_params_free(&ds->ctl);
		free(ds);
		return NULL;
	}
	ds->default_chunk_ms = conf->cutover_chunk_time_ms;
	ds->default_max_threads_running = conf->cutover_max_threads_running;
	ds->quiet_wait_ms = conf->cutover_quiet_wait_ms;
	ds->drain_timeout_ms = conf->cutover_drain_timeout_ms;
	ds->rename_wait_ms = conf->cutover_rename_wait_ms;
	ds->index_lock_wait_ms = conf->cutover_index_lock_wait_ms;
	ds->max_attempts = conf->cutover_max_attempts;
	ds->retry_ms = conf->cutover_retry_ms;
	ds->revert_window_s = conf->cutover_revert_window_s;
	ds->keep_old_table = conf->cutover_keep_old_table;
	snprintf(ds->stall_at, sizeof(ds->stall_at), "%s",
		 conf->debug_swap_stall_at != NULL ? conf->debug_swap_stall_at : "");
	ds->stall_ms = conf->debug_swap_stall_ms;
	ds->copy_stall_ms = conf->debug_copy_stall_ms;
	ds->as_mysql = conf->debug_swap_as_mysql;
	pthread_mutex_init(&ds->swap_mu, NULL);
	ds->base = base;
	ds->notify = event_new(base, -1, 0, on_notify, ds);
	ds->window_timer = event_new(base, -1, EV_PERSIST, on_window_timer, ds);
	ds->changed = changed;
	ds->reply = reply;
	ds->cb_arg = cb_arg;
	if (ds->notify == NULL || ds->window_timer == NULL) {
		if (ds->notify != NULL)
			event_free(ds->notify);
		if (ds->window_timer != NULL)
			event_free(ds->window_timer);
		ctl_params_free(&ds->ctl);
		free(ds);
		return NULL;
	}
	{
		struct timeval one = { 1, 0 };

		evtimer_add(ds->window_timer, &one);
	}
	return ds;
}

void deploys_free(struct deploys *ds)
{
	struct deploy *d;
	struct deploys_reply *x;

	if (ds == NULL)
		return;
	pthread_mutex_lock(&ds->mu);
	ds->stopping = true;
	pthread_cond_broadcast(&ds->cv);
	while (ds->nthreads > 0)
		pthread_cond_wait(&ds->cv, &ds->mu);
	pthread_mutex_unlock(&ds->mu);
	ctl_thread_end();   /* deploys_load() ran on this thread */
	while ((d = TAILQ_FIRST(&ds->list)) != NULL) {
		TAILQ_REMOVE(&ds->list, d, link);
		deploy_free(d);
	}
	while ((x = STAILQ_FIRST(&ds->replies)) != NULL) {
		STAILQ_REMOVE_HEAD(&ds->replies, link);
		json_decref(x->reply);
		free(x);
	}
	event_free(ds->notify);
	event_free(ds->window_timer);
	json_decref(ds->drain_blockers);
	pthread_mutex_destroy(&ds->swap_mu);
	for (unsigned i = 0; i < ds->nreplicas; i++)
		ctl_params_free(&ds->replicas[i]);
	free(ds->replicas);
	ctl_params_free(&ds->ctl);
	pthread_cond_destroy(&ds->cv);
	pthread_mutex_destroy(&ds->mu);
	free(ds);
}

bool deploy_stopping(struct deploy *d)
{
	bool stop;

	pthread_mutex_lock(&d->ds->mu);
	stop = d->cancel || d->ds->stopping;
	pthread_mutex_unlock(&d->ds->mu);
	return stop;
}

double deploy_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void deploy_deadline(struct timespec *until, int ms)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

bool stmt_watch_start(struct stmt_watch *w, void *(*fn)(void *), void *arg)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->done = false;
	w->fired = false;
	if (pthread_create(&w->thread, NULL, fn, arg) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return false;
	}
	return true;
}

bool stmt_watch_stop(struct stmt_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return w->fired;
}

bool stmt_watch_wait(struct stmt_watch *w, int ms)
{
	struct timespec until;

	deploy_deadline(&until, ms);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
			break;
	return w->done;
}

void deploy_sleep(struct deploy *d, int ms)
{
	struct timespec until;

	deploy_deadline(&until, ms);
	/* one wait: any broadcast (cancel, stop, deploy set) ends it early;
	   callers re-check what they wait for */
	pthread_mutex_lock(&d->ds->mu);
	if (!d->cancel && !d->ds->stopping)
		(void)pthread_cond_timedwait(&d->ds->cv, &d->ds->mu, &until);
	pthread_mutex_unlock(&d->ds->mu);
}

/*
 * After a change of what the proxy must mirror (ds->version bumped): wake
 * the loop and wait until it has published a set at least that new and
 * every command planned with an older set has ended.  False when the daemon
 * stops first.
 */
static bool wait_reached(struct deploys *ds, const uint64_t *reached)
{
	uint64_t v;
	bool ok;

	pthread_mutex_lock(&ds->mu);
	v = ds->version;
	pthread_mutex_unlock(&ds->mu);
	deploys_notify(ds);
	pthread_mutex_lock(&ds->mu);
	while (*reached < v && !ds->stopping)
		pthread_cond_wait(&ds->cv, &ds->mu);
	ok = *reached >= v;
	pthread_mutex_unlock(&ds->mu);
	return ok;
}

bool deploys_wait_synced(struct deploys *ds)
{
	return wait_reached(ds, &ds->synced_version);
}

bool deploys_wait_published(struct deploys *ds)
{
	return wait_reached(ds, &ds->published_version);
}

void deploys_synced(struct deploys *ds, uint64_t version)
{
	pthread_mutex_lock(&ds->mu);
	if (version > ds->synced_version)
		ds->synced_version = version;
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
}

void deploys_drained(struct deploys *ds, uint64_t gate_epoch, json_t *blockers, double closed_ms)
{
	pthread_mutex_lock(&ds->mu);
	if (gate_epoch > ds->drained_epoch) {
		ds->drained_epoch = gate_epoch;
		ds->drain_closed_ms = closed_ms;
		json_decref(ds->drain_blockers);
		ds->drain_blockers = blockers;
		blockers = NULL;
	}
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
	json_decref(blockers);
}

void deploys_published(struct deploys *ds, uint64_t version)
{
	pthread_mutex_lock(&ds->mu);
	if (version > ds->published_version) {
		ds->published_version = version;
		pthread_cond_broadcast(&ds->cv);
	}
	pthread_mutex_unlock(&ds->mu);
}

struct deploy *deploys_find(struct deploys *ds, uint64_t id)
{
	struct deploy *d;

	TAILQ_FOREACH(d, &ds->list, link)
		if (d->id == id)
			return d;
	return NULL;
}

void deploys_count(struct deploys *ds, uint64_t id, bool refused)
{
	struct deploy *d;

	pthread_mutex_lock(&ds->mu);
	d = deploys_find(ds, id);
	if (d != NULL && refused)
		d->refused++;
	else if (d != NULL)
		d->mirrored++;
	pthread_mutex_unlock(&ds->mu);
}

/* --- the mirror set ---------------------------------------------------------- */

struct mirror_set *deploys_mirror_set(struct deploys *ds, uint64_t *version)
{
	struct mirror_set *m = calloc(1, sizeof(*m));
	struct deploy *d;
	unsigned n = 0;

	if (m == NULL)
		return NULL;
	m->refs = 1;
	pthread_mutex_lock(&ds->mu);
	*version = m->version = ds->version;
	TAILQ_FOREACH(d, &ds->list, link)
		if (d->shadow_built && deploy_live(d))
			n++;
	m->quiet_wait_ms = ds->quiet_wait_ms;
	m->drain_timeout_ms = ds->drain_timeout_ms;
	m->tables = calloc(n + 1, sizeof(*m->tables));
	if (m->tables == NULL)
		goto oom;
	TAILQ_FOREACH(d, &ds->list, link) {
		struct mirror_table *t;

		if (!d->shadow_built || !deploy_live(d))
			continue;
		t = &m->tables[m->n++];
		t->deploy_id = d->id;
		t->pin = ds->mariadb;
		t->pin_tz = keys_copy_needs_time_zone(d->cols, d->ncols);
		t->pin_in = ds->in_pred;
		if (d->nviews > 0) {
			t->views = calloc(d->nviews, sizeof(*t->views));
			if (t->views == NULL)
				goto oom;
			memcpy(t->views, d->views, d->nviews * sizeof(*t->views));
			t->nviews = d->nviews;
		}
		t->routines = routines_ref(d->routines);
		t->state = d->state;
		t->reverse = d->swapped;
		t->gate_epoch = d->gate_epoch;
		t->ddl_gen = d->ddl_gen;
		if (d->gate_epoch != 0) {
			m->ngated++;
			if (d->gate_epoch > m->gate_epoch)
				m->gate_epoch = d->gate_epoch;
		}
		memcpy(t->db, d->db, sizeof(t->db));
		memcpy(t->table, d->table, sizeof(t->table));
		memcpy(t->shadow, d->swapped ? d->old_table : d->shadow, sizeof(t->shadow));
		t->cols = calloc(d->ncols + 1, sizeof(*t->cols));
		t->pk = calloc(d->npk + 1, sizeof(*t->pk));
		if (t->cols == NULL || t->pk == NULL)
			goto oom;
		memcpy(t->cols, d->cols, d->ncols * sizeof(*t->cols));
		memcpy(t->pk, d->pk, d->npk * sizeof(*t->pk));
		t->orig_unique = d->orig_unique;
		t->target_unique = d->swapped ? d->orig_unique : !d->reverse_known || d->shadow_unique;
		/* the live table's unique keys: the original's; after a swap
		   the new table's */
		snprintf(t->uniq, sizeof(t->uniq), "%s",
			 !d->swapped ? d->uniq : d->reverse_known ? d->shadow_uniq : "?");
		if (d->swapped) {
			/* the new table is live: mirror it back into the original */
			for (unsigned i = 0; i < d->ncols; i++) {
				struct deploy_col *c = &t->cols[i];

				memcpy(c->orig, d->cols[i].shadow, sizeof(c->orig));
				memcpy(c->shadow, d->cols[i].orig, sizeof(c->shadow));
				c->ordinal = d->cols[i].shadow_ordinal;
				c->autoinc = d->cols[i].shadow_autoinc;
				c->shadow_ordinal = d->cols[i].ordinal;
				c->shadow_autoinc = d->cols[i].autoinc;
				memcpy(c->type, d->cols[i].shadow_type, sizeof(c->type));
				memcpy(c->shadow_type, d->cols[i].type, sizeof(c->shadow_type));
			}
			t->orig_unique = d->shadow_unique;
		}
		t->ncols = d->ncols;
		t->npk = d->npk;
	}
	pthread_mutex_unlock(&ds->mu);
	return m;
oom:
	pthread_mutex_unlock(&ds->mu);
	mirror_set_unref(m);
	return NULL;
}

/* --- catalog ----------------------------------------------------------------- */

static bool catalog_ensure(struct ctl *c, const char *schema)
{
	return ctl_exec(c, "CREATE DATABASE IF NOT EXISTS %I", schema) &&
	       ctl_exec(c, "CREATE TABLE IF NOT EXISTS %I.deploys ("
			"id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
			"db VARCHAR(64) NOT NULL, tbl VARCHAR(64) NOT NULL, "
			"alter_clause MEDIUMTEXT NOT NULL, shadow VARCHAR(64) NOT NULL DEFAULT '', "
			"state VARCHAR(16) NOT NULL, mapping MEDIUMTEXT NULL, copied_upto MEDIUMTEXT NULL, "
			"rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0, "
			"rows_total BIGINT UNSIGNED NOT NULL DEFAULT 0, "
			"chunk_rows INT UNSIGNED NOT NULL DEFAULT 0, "
			"target_chunk_ms INT NOT NULL DEFAULT 0, max_threads_running INT NOT NULL DEFAULT 0, "
			"mirrored BIGINT UNSIGNED NOT NULL DEFAULT 0, refused BIGINT UNSIGNED NOT NULL DEFAULT 0, "
			"verify_chunks BIGINT UNSIGNED NOT NULL DEFAULT 0, "
			"verify_mismatches BIGINT UNSIGNED NOT NULL DEFAULT 0, "
			"error TEXT NULL, created BIGINT NOT NULL DEFAULT 0, copy_started BIGINT NOT NULL DEFAULT 0, "
			"ready_at BIGINT NOT NULL DEFAULT 0, finished BIGINT NOT NULL DEFAULT 0"
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4", schema);
}

static const char *str_or_empty(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static char *mapping_json(const struct deploy *d)
{
	json_t *cols = json_array(), *pk = json_array(), *m;
	char *s;

	for (unsigned i = 0; i < d->ncols; i++) {
		const struct deploy_col *c = &d->cols[i];

		json_array_append_new(cols, json_pack("{s:s, s:s, s:b, s:i, s:s, s:s, s:b, s:b, s:i, s:i, s:b, s:s, s:s}",
						      "orig", c->orig, "shadow", c->shadow, "pk", c->pk,
						      "kind", (int)c->kind, "charset", c->charset,
						      "collation", c->collation, "same_type", c->same_type,
						      "autoinc", c->autoinc, "ordinal", (int)c->ordinal,
						      "shadow_ordinal", (int)c->shadow_ordinal,
						      "shadow_autoinc", c->shadow_autoinc, "type", c->type,
						      "shadow_type", c->shadow_type));
	}
	for (unsigned i = 0; i < d->npk; i++)
		json_array_append_new(pk, json_integer(d->pk[i]));
	m = json_pack("{s:o, s:o, s:b, s:s?, s:b}", "cols", cols, "pk", pk, "orig_unique", d->orig_unique,
		      "deferred_indexes", d->deferred, "paused", d->paused);
	if (m != NULL) {
		/* the swap's state (swap.c) */
		json_object_set_new(m, "orig_uniq", json_string(d->uniq));
		json_object_set_new(m, "shadow_uniq", json_string(d->shadow_uniq));
		json_object_set_new(m, "shadow_unique", json_boolean(d->shadow_unique));
		json_object_set_new(m, "reverse_known", json_boolean(d->reverse_known));
		json_object_set_new(m, "swapped", json_boolean(d->swapped));
		json_object_set_new(m, "old_table", json_string(d->old_table));
		json_object_set_new(m, "window_open", json_boolean(d->window_open));
		json_object_set_new(m, "window_end", json_integer((json_int_t)d->window_end));
		json_object_set_new(m, "window_note", json_string(d->window_note));
		json_object_set_new(m, "auto_cutover", json_boolean(d->auto_cutover));
		json_object_set_new(m, "pause_ms", json_real(d->pause_ms));
		json_object_set_new(m, "pause_total_ms", json_real(d->pause_total_ms));
		json_object_set_new(m, "attempts", json_integer(d->attempts));
		if (d->history != NULL)
			json_object_set(m, "history", d->history);
	}
	s = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	return s;
}

static bool mapping_parse(struct deploy *d, const char *text)
{
	json_t *m = json_loads(text, 0, NULL), *cols, *pk, *x;
	size_t i;
	bool ok = false;

	if (m == NULL)
		return false;
	cols = json_object_get(m, "cols");
	d->paused = json_is_true(json_object_get(m, "paused"));
	if (json_string_value(json_object_get(m, "deferred_indexes")) != NULL)
		d->deferred = strdup(json_string_value(json_object_get(m, "deferred_indexes")));
	/* absent in catalogs written before it existed: assume the worst */
	d->orig_unique = json_object_get(m, "orig_unique") == NULL || json_is_true(json_object_get(m, "orig_unique"));
	/* absent in catalogs written before it existed: not known */
	snprintf(d->uniq, sizeof(d->uniq), "%s", json_string_value(json_object_get(m, "orig_uniq")) != NULL ?
		 json_string_value(json_object_get(m, "orig_uniq")) : "?");
	d->shadow_unique = json_is_true(json_object_get(m, "shadow_unique"));
	snprintf(d->shadow_uniq, sizeof(d->shadow_uniq), "%s",
		 json_string_value(json_object_get(m, "shadow_uniq")) != NULL ?
		 json_string_value(json_object_get(m, "shadow_uniq")) : "?");
	d->reverse_known = json_is_true(json_object_get(m, "reverse_known"));
	d->swapped = json_is_true(json_object_get(m, "swapped"));
	if (json_string_value(json_object_get(m, "old_table")) != NULL)
		snprintf(d->old_table, sizeof(d->old_table), "%s", json_string_value(json_object_get(m, "old_table")));
	d->window_open = json_is_true(json_object_get(m, "window_open"));
	d->window_end = (time_t)json_integer_value(json_object_get(m, "window_end"));
	if (json_string_value(json_object_get(m, "window_note")) != NULL)
		snprintf(d->window_note, sizeof(d->window_note), "%s", json_string_value(json_object_get(m, "window_note")));
	d->auto_cutover = json_is_true(json_object_get(m, "auto_cutover"));
	d->pause_ms = json_number_value(json_object_get(m, "pause_ms"));
	d->pause_total_ms = json_number_value(json_object_get(m, "pause_total_ms"));
	d->attempts = (unsigned)json_integer_value(json_object_get(m, "attempts"));
	if (json_is_array(json_object_get(m, "history"))) {
		json_decref(d->history);
		d->history = json_incref(json_object_get(m, "history"));
	}
	pk = json_object_get(m, "pk");
	if (!json_is_array(cols) || !json_is_array(pk) || json_array_size(pk) == 0 ||
	    json_array_size(cols) > DEPLOY_MAX_COLS * 4)
		goto out;
	d->cols = calloc(json_array_size(cols) + 1, sizeof(*d->cols));
	d->pk = calloc(json_array_size(pk) + 1, sizeof(*d->pk));
	if (d->cols == NULL || d->pk == NULL)
		goto out;
	json_array_foreach(cols, i, x) {
		struct deploy_col *c = &d->cols[d->ncols];
		const char *o = json_string_value(json_object_get(x, "orig"));
		const char *s = json_string_value(json_object_get(x, "shadow"));
		const char *cs = json_string_value(json_object_get(x, "charset"));
		const char *co = json_string_value(json_object_get(x, "collation"));

		if (o == NULL || s == NULL || cs == NULL || co == NULL)
			goto out;
		snprintf(c->orig, sizeof(c->orig), "%s", o);
		snprintf(c->shadow, sizeof(c->shadow), "%s", s);
		snprintf(c->charset, sizeof(c->charset), "%s", cs);
		snprintf(c->collation, sizeof(c->collation), "%s", co);
		c->pk = json_is_true(json_object_get(x, "pk"));
		c->kind = (enum key_kind)json_integer_value(json_object_get(x, "kind"));
		if (c->kind > KEY_TEXT)
			goto out;
		c->same_type = json_is_true(json_object_get(x, "same_type"));
		c->autoinc = json_is_true(json_object_get(x, "autoinc"));
		c->ordinal = (unsigned)json_integer_value(json_object_get(x, "ordinal"));
		c->shadow_ordinal = (unsigned)json_integer_value(json_object_get(x, "shadow_ordinal"));
		c->shadow_autoinc = json_is_true(json_object_get(x, "shadow_autoinc"));
		/* absent in catalogs written before them: "" (unknown) */
		snprintf(c->type, sizeof(c->type), "%s", str_or_empty(json_object_get(x, "type")));
		snprintf(c->shadow_type, sizeof(c->shadow_type), "%s", str_or_empty(json_object_get(x, "shadow_type")));
		d->ncols++;
	}
	json_array_foreach(pk, i, x) {
		json_int_t v = json_integer_value(x);

		if (v < 0 || (size_t)v >= d->ncols)
			goto out;
		d->pk[d->npk++] = (unsigned)v;
	}
	ok = true;
out:
	json_decref(m);
	return ok;
}

bool catalog_save(struct ctl *c, struct deploy *d)
{
	struct deploys *ds = d->ds;
	char *sql, *up, *map;
	bool ok;

	pthread_mutex_lock(&ds->mu);
	map = mapping_json(d);
	up = d->copied_upto != NULL ? ctl_fmt("%Q", d->copied_upto) : strdup("NULL");
	sql = up == NULL ? NULL : ctl_fmt("UPDATE %I.deploys SET shadow = %Q, state = %Q, mapping = %Q, copied_upto = %s, "
		      "rows_copied = %llu, rows_total = %llu, chunk_rows = %u, target_chunk_ms = %d, "
		      "max_threads_running = %d, mirrored = %llu, refused = %llu, verify_chunks = %llu, "
		      "verify_mismatches = %llu, error = %Q, copy_started = %lld, ready_at = %lld, "
		      "finished = %lld WHERE id = %llu",
		      ds->schema, d->shadow, deploy_state_name(d->state), map ? map : "",
		      up,
		      (unsigned long long)d->rows_copied, (unsigned long long)d->rows_total, d->chunk_rows,
		      d->target_chunk_ms, d->max_threads_running, (unsigned long long)d->mirrored,
		      (unsigned long long)d->refused, (unsigned long long)d->verify_chunks,
		      (unsigned long long)d->verify_mismatches, d->error, (long long)d->copy_started,
		      (long long)d->ready_at, (long long)d->finished, (unsigned long long)d->id);
	pthread_mutex_unlock(&ds->mu);
	free(map);
	free(up);
	ok = sql != NULL && ctl_exec(c, "%s", sql);
	free(sql);
	return ok;
}

static bool catalog_insert(struct ctl *c, struct deploy *d)
{
	if (!ctl_exec(c, "INSERT INTO %I.deploys (db, tbl, alter_clause, state, chunk_rows, "
		      "target_chunk_ms, max_threads_running, created) VALUES (%Q, %Q, %Q, 'queued', %u, %d, %d, %lld)",
		      d->ds->schema, d->db, d->table, d->alter, d->chunk_rows, d->target_chunk_ms,
		      d->max_threads_running, (long long)d->created))
		return false;
	d->id = mysql_insert_id(c->my);
	return true;
}

static uint64_t col_u64(const char *s)
{
	return s != NULL ? strtoull(s, NULL, 10) : 0;
}

/* --- workers ----------------------------------------------------------------- */

void deploys_thread_exit(struct deploys *ds, struct deploy *d)
{
	ctl_thread_end();
	pthread_mutex_lock(&ds->mu);
	if (d != NULL)
		d->worker_running = false;
	ds->nthreads--;
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
}

bool deploy_connect_retry(struct deploy *d, struct ctl *c)
{
	for (;;) {
		bool stop;

		if (ctl_connect(c, &d->ds->ctl))
			return true;
		pthread_mutex_lock(&d->ds->mu);
		d->throttled = true;
		snprintf(d->throttle_reason, sizeof(d->throttle_reason), "control connection: %.100s", c->error);
		pthread_mutex_unlock(&d->ds->mu);
		deploy_sleep(d, 1000);
		/* only the daemon's end gives up: a cancelled or failed deploy
		   still needs a connection to drop its shadow and answer */
		pthread_mutex_lock(&d->ds->mu);
		stop = d->ds->stopping;
		pthread_mutex_unlock(&d->ds->mu);
		if (stop)
			return false;
	}
}

/*
 * End d in state `to` (cancelled or failed): stop mirroring (and wait until
 * no command planned with the old set runs), drop the shadow, save.
 */
void deploy_finish(struct deploy *d, struct ctl *c, enum deploy_state to, const char *why)
{
	struct deploys *ds = d->ds;
	uint64_t serial;

	pthread_mutex_lock(&ds->mu);
	deploy_set_state(d, to);
	if (why != NULL)
		snprintf(d->error, sizeof(d->error), "%s", why);
	serial = d->cancel_serial;
	d->cancel_serial = 0;
	pthread_mutex_unlock(&ds->mu);
	if (to == DS_FAILED)
		log_error("deploy %llu %s.%s failed: %s", (unsigned long long)d->id, d->db, d->table,
			  why ? why : "?");
	if (!deploys_wait_synced(ds))
		return;  /* shutting down: the catalog still has the old state */
	if (d->shadow[0] != '\0' && !ctl_exec(c, "DROP TABLE IF EXISTS %I.%I", d->db, d->shadow))
		log_warning("deploy %llu: cannot drop the shadow table %s.%s: %s", (unsigned long long)d->id,
			    d->db, d->shadow, c->error);
	if (!catalog_save(c, d))
		log_warning("deploy %llu: cannot save the state: %s", (unsigned long long)d->id, c->error);
	if (serial != 0)
		deploys_post_reply(ds, serial, json_pack("{s:b, s:I, s:s}", "ok", 1, "id", (json_int_t)d->id,
						  "state", deploy_state_name(to)));
}

/*
 * The index build's lock watch.  The deferred ALTER takes the shadow's
 * metadata lock exclusively for a moment as it starts and as it ends, and
 * while it waits for it (behind a transaction that has written the shadow,
 * through the mirror, or a session outside the proxy using the shadow)
 * every mirrored write to the table waits behind it.  So a thread with a
 * connection of its own looks at the ALTER's connection in the process
 * list and kills the statement (the build is tried again later) once it
 * has been seen waiting for a metadata lock:
 *  - as it starts, for index_lock_wait_ms: nothing is built yet;
 *  - as it ends, for a tenth of the time the build has run, at least
 *    index_lock_wait_ms and at most the session's lock_wait_timeout: a
 *    kill then throws the build away, so the longer the build, the longer
 *    writers may be kept waiting rather than lose it.
 * It looks every LOCK_WATCH_POLL_MS until the ALTER is past its first
 * lock, then every LOCK_WATCH_SLOW_MS (a struct stmt_watch, as the
 * RENAME's watchdog in swap.c).  Without its connection (or if it loses
 * it) the session's lock_wait_timeout is the bound.
 */
#define LOCK_WATCH_POLL_MS 5
#define LOCK_WATCH_SLOW_MS 20
#define INDEX_RETRY_MS 250
#define INDEX_RETRY_MAX_MS 5000

struct lock_watch {
	struct stmt_watch base;         /* first: fired, under base.mu */
	bool built;                     /* [base.mu] it was killed as it ended */
	unsigned long long conn_id;
	int budget_ms;                  /* index_lock_wait_ms */
	int max_ms;                     /* the session's lock_wait_timeout */
	uint64_t deploy_id;
	const struct ctl_params *params;
};

/* What connection id is doing: 1 waiting for a metadata lock, 0 something
   else, -1 unknown (the query failed). */
static int waits_for_mdl(struct ctl *k, unsigned long long id)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int waiting = 0;

	if (!ctl_query(k, &res, "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %llu", id))
		return -1;
	row = mysql_fetch_row(res);
	if (row != NULL && row[0] != NULL)
		waiting = strcmp(row[0], "Waiting for table metadata lock") == 0;
	mysql_free_result(res);
	return waiting;
}

static void *lock_watch_main(void *arg)
{
	struct lock_watch *w = arg;
	struct ctl k;
	bool up = ctl_connect(&k, w->params);
	bool past = false;              /* seen at work: past its first lock */
	double since = -1.0, started = deploy_now_ms(), working = 0.0;

	if (!up)
		log_warning("deploy %llu: no connection to watch the index build's lock wait: %s",
			    (unsigned long long)w->deploy_id, k.error);
	pthread_mutex_lock(&w->base.mu);
	while (!w->base.done && up) {
		int waiting;
		double now, limit;

		pthread_mutex_unlock(&w->base.mu);
		waiting = waits_for_mdl(&k, w->conn_id);
		now = deploy_now_ms();
		if (waiting < 0) {
			log_warning("deploy %llu: cannot watch the index build's lock wait any more: %s",
				    (unsigned long long)w->deploy_id, k.error);
			pthread_mutex_lock(&w->base.mu);
			break;
		}
		if (!waiting) {
			if (!past) {
				past = now - started >= LOCK_WATCH_POLL_MS;   /* not merely starting */
				working = now;
			}
			since = -1.0;
		} else if (since < 0) {
			since = now;
		}
		limit = w->budget_ms;
		if (past && (now - working) / 10.0 > limit)
			limit = (now - working) / 10.0;
		if (limit > w->max_ms)
			limit = w->max_ms;
		if (since >= 0 && now - since >= limit) {
			pthread_mutex_lock(&w->base.mu);
			if (!w->base.done) {
				log_info("deploy %llu: the index build has waited %.0f ms for a metadata lock %s: "
					 "stopping it, to try again later", (unsigned long long)w->deploy_id, now - since,
					 past ? "as it ends" : "(index_lock_wait_ms)");
				if (ctl_exec(&k, "KILL QUERY %llu", w->conn_id)) {
					w->base.fired = true;
					w->built = past;
				} else {
					log_warning("deploy %llu: cannot stop the index build: %s",
						    (unsigned long long)w->deploy_id, k.error);
				}
			}
			break;
		}
		pthread_mutex_lock(&w->base.mu);
		(void)stmt_watch_wait(&w->base, past ? LOCK_WATCH_SLOW_MS : LOCK_WATCH_POLL_MS);
	}
	pthread_mutex_unlock(&w->base.mu);
	if (up)
		ctl_close(&k);
	ctl_thread_end();
	return NULL;
}

static bool lock_watch_start(struct lock_watch *w, struct deploy *d, unsigned long long conn_id, int max_ms)
{
	memset(w, 0, sizeof(*w));
	w->conn_id = conn_id;
	w->budget_ms = d->ds->index_lock_wait_ms;
	w->max_ms = max_ms;
	w->deploy_id = d->id;
	w->params = &d->ds->ctl;
	return stmt_watch_start(&w->base, lock_watch_main, w);
}

/* Stop the watch; true when it killed the ALTER (*built: as it ended). */
static bool lock_watch_stop(struct lock_watch *w, bool *built)
{
	bool fired = stmt_watch_stop(&w->base);

	*built = w->built;
	return fired;
}

/* build_deferred()'s work: the ALTER of `add`, retried while the lock watch stops it. */
static enum copy_result build_indexes(struct deploy *d, struct ctl *c, const char *add, char *err, size_t errlen)
{
	unsigned tries = 0, lost = 0;
	int backoff = INDEX_RETRY_MS;
	/* the server's bound, above the watch's: 2 s, or more for a longer
	   index_lock_wait_ms */
	int wait_s = d->ds->index_lock_wait_ms / 1000 + 2;
	uint64_t conn_id = 0;

	/* CONNECTION_ID(), not mysql_thread_id(): the latter is 32 bits */
	if (!ctl_exec(c, "SET SESSION lock_wait_timeout = %d", wait_s) ||
	    !ctl_u64(c, &conn_id, NULL, "SELECT CONNECTION_ID()")) {
		snprintf(err, errlen, "cannot prepare the index build's connection: %s", c->error);
		return COPY_FAILED;
	}
	for (;;) {
		struct lock_watch w;
		bool watched = lock_watch_start(&w, d, conn_id, wait_s * 1000);
		bool built = ctl_exec(c, "ALTER TABLE %I.%I %s, ALGORITHM=INPLACE, LOCK=NONE", d->db, d->shadow, add);
		bool at_end = false;
		bool killed = watched && lock_watch_stop(&w, &at_end);

		if (built || c->err == 1061 /* ER_DUP_KEYNAME: built before a restart */)
			break;
		if (c->err != 1205 /* lock wait timeout */ && !(killed && c->err == 1317 /* interrupted */)) {
			snprintf(err, errlen, "building the shadow's secondary indexes: %s", c->error);
			return COPY_FAILED;
		}
		if (at_end)
			lost++;
		pthread_mutex_lock(&d->ds->mu);
		d->throttled = true;
		snprintf(d->throttle_reason, sizeof(d->throttle_reason),
			 "building the shadow's indexes: an open transaction holds the shadow's metadata lock "
			 "(%u tries, %u builds lost)", ++tries, lost);
		pthread_mutex_unlock(&d->ds->mu);
		deploy_sleep(d, backoff);
		backoff = backoff * 2 > INDEX_RETRY_MAX_MS ? INDEX_RETRY_MAX_MS : backoff * 2;
		if (deploy_stopping(d)) {
			return COPY_STOPPED;
		}
	}
	log_info("deploy %llu: the shadow's secondary indexes are built", (unsigned long long)d->id);
	pthread_mutex_lock(&d->ds->mu);
	free(d->deferred);
	d->deferred = NULL;
	d->ddl_gen++;           /* transactions older than this ALTER cannot use the shadow */
	d->ds->version++;
	d->throttled = false;
	d->throttle_reason[0] = '\0';
	pthread_mutex_unlock(&d->ds->mu);
	if (!ctl_exec(c, "SET SESSION lock_wait_timeout = DEFAULT"))
		log_warning("deploy %llu: cannot reset lock_wait_timeout: %s", (unsigned long long)d->id, c->error);
	return COPY_DONE;
}

/*
 * After the copy: build the shadow's secondary indexes that were left out
 * of it (inspect_defer_indexes), online, while mirrored writes go on.  The
 * ALTER waits for its metadata lock no longer than the lock watch above
 * allows (new writes would queue behind it), then lets go and tries again,
 * 250 ms later, then twice as long each time up to 5 s.  An index that
 * exists already (built before a restart) counts as built.  deploy show's
 * `step` says "building indexes" meanwhile.
 */
static enum copy_result build_deferred(struct deploy *d, struct ctl *c, char *err, size_t errlen)
{
	char *add;
	enum copy_result r;

	pthread_mutex_lock(&d->ds->mu);
	add = d->deferred != NULL ? strdup(d->deferred) : NULL;
	pthread_mutex_unlock(&d->ds->mu);
	if (add == NULL)
		return COPY_DONE;
	log_info("deploy %llu: backfill done, building the shadow's secondary indexes", (unsigned long long)d->id);
	pthread_mutex_lock(&d->ds->mu);
	d->indexing = true;
	pthread_mutex_unlock(&d->ds->mu);
	r = build_indexes(d, c, add, err, errlen);
	pthread_mutex_lock(&d->ds->mu);
	d->indexing = false;
	pthread_mutex_unlock(&d->ds->mu);
	free(add);
	return r;
}


/*
 * A deploy stopped on request ends cancelled (deploy cancel), or failed
 * when the proxy asked (deploys_fail(): fail_reason, set before the stop).
 */
static void finish_stopped(struct deploy *d, struct ctl *c)
{
	bool fail;

	pthread_mutex_lock(&d->ds->mu);
	fail = d->fail_pending;
	pthread_mutex_unlock(&d->ds->mu);
	deploy_finish(d, c, fail ? DS_FAILED : DS_CANCELLED, fail ? d->fail_reason : NULL);
}

/* The thread that ends a deploy whose worker had already stopped (ready). */
static void *stop_main(void *arg)
{
	struct deploy *d = arg;
	struct ctl c;

	if (deploy_connect_retry(d, &c)) {
		finish_stopped(d, &c);
		ctl_close(&c);
	}
	deploys_thread_exit(d->ds, d);
	return NULL;
}

/*
 * Copy, verify: from d's current state to ready (or an end).  The
 * verification starts with the copy, on a thread of its own behind it
 * (verify_start); `verifying` is what is left of it once the copy and the
 * deferred index build are done.
 */
static void run_deploy(struct deploy *d, struct ctl *c)
{
	char err[1024];

	for (;;) {
		enum deploy_state st;
		enum copy_result r;

		pthread_mutex_lock(&d->ds->mu);
		st = d->state;
		pthread_mutex_unlock(&d->ds->mu);
		err[0] = '\0';
		if (st == DS_COPYING) {
			bool known;

			pthread_mutex_lock(&d->ds->mu);
			known = d->reverse_known;
			pthread_mutex_unlock(&d->ds->mu);
			if (!known) {
				/* the mirror's upserts need no guard against
				   another row's unique key when the shadow has none */
				if (swap_learn_reverse(d, c, err, sizeof(err)))
					deploys_notify(d->ds);
				else
					log_info("deploy %llu: cannot inspect the shadow yet: %s",
						 (unsigned long long)d->id, err);
				err[0] = '\0';
			}
			verify_start(d);
			r = copy_run(d, c, err, sizeof(err));
		} else if (st == DS_VERIFYING) {
			r = verify_run(d, c, err, sizeof(err));
		} else {
			bool aut;

			pthread_mutex_lock(&d->ds->mu);
			aut = st == DS_READY && d->auto_cutover && !d->cancel;
			pthread_mutex_unlock(&d->ds->mu);
			if (aut)
				swap_auto_cutover(d, c);
			return;
		}
		if (r == COPY_STOPPED) {
			bool cancel;

			verify_stop(d);
			pthread_mutex_lock(&d->ds->mu);
			cancel = d->cancel;
			pthread_mutex_unlock(&d->ds->mu);
			if (cancel)
				finish_stopped(d, c);
			return;
		}
		if (r == COPY_DONE && st == DS_COPYING)
			r = build_deferred(d, c, err, sizeof(err));
		if (r == COPY_STOPPED)
			continue;   /* handled at the top of the next turn */
		if (r == COPY_FAILED) {
			verify_stop(d);
			deploy_finish(d, c, DS_FAILED, err);
			return;
		}
		pthread_mutex_lock(&d->ds->mu);
		deploy_set_state(d, st == DS_COPYING ? DS_VERIFYING : DS_READY);
		pthread_mutex_unlock(&d->ds->mu);
		if (!catalog_save(c, d))
			log_warning("deploy %llu: cannot save the state: %s", (unsigned long long)d->id, c->error);
		deploys_notify(d->ds);
	}
}

static void *worker_main(void *arg)
{
	struct deploy *d = arg;
	struct ctl c;

	if (deploy_connect_retry(d, &c)) {
		pthread_mutex_lock(&d->ds->mu);
		d->throttled = false;
		d->throttle_reason[0] = '\0';
		pthread_mutex_unlock(&d->ds->mu);
		run_deploy(d, &c);
		ctl_close(&c);
	}
	verify_stop(d);
	deploys_thread_exit(d->ds, d);
	return NULL;
}

bool deploys_spawn(struct deploys *ds, void *(*fn)(void *), void *arg, pthread_t *tid)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&ds->mu);
	ds->nthreads++;
	pthread_mutex_unlock(&ds->mu);
	rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		deploys_thread_exit(ds, NULL);
		return false;
	}
	if (tid != NULL)
		*tid = t;
	return true;
}

static bool start_worker(struct deploy *d)
{
	pthread_mutex_lock(&d->ds->mu);
	d->worker_running = true;
	pthread_mutex_unlock(&d->ds->mu);
	if (!deploys_spawn(d->ds, worker_main, d, &d->worker)) {
		pthread_mutex_lock(&d->ds->mu);
		d->worker_running = false;
		pthread_mutex_unlock(&d->ds->mu);
		return false;
	}
	return true;
}

/* --- load ---------------------------------------------------------------------- */

/* MariaDB has in_predicate_conversion_threshold from 10.3.18 and 10.4.8 on. */
static bool in_predicate_setting(unsigned long v)
{
	return (v >= 100318 && v < 100400) || v >= 100408;
}

bool deploys_load(struct deploys *ds, char *err, size_t errlen)
{
	struct ctl c;
	MYSQL_RES *res;
	MYSQL_ROW row;
	uint64_t exists;
	struct deploy_list fresh;
	struct deploy *d;

	TAILQ_INIT(&fresh);
	if (ds->ctl.user[0] == '\0') {
		pthread_mutex_lock(&ds->mu);
		ds->loaded = true;
		pthread_mutex_unlock(&ds->mu);
		return true;
	}
	if (!ctl_connect(&c, &ds->ctl)) {
		snprintf(err, errlen, "control connection ([cutover] user %s): %s", ds->ctl.user, c.error);
		return false;
	}
	pthread_mutex_lock(&ds->mu);
	ds->mariadb = c.mariadb;
	ds->in_pred = c.mariadb && in_predicate_setting(mysql_get_server_version(c.my));
	pthread_mutex_unlock(&ds->mu);
	if (!ctl_u64(&c, &exists, NULL, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
		     "TABLE_SCHEMA = %Q AND TABLE_NAME = 'deploys'", ds->schema))
		goto sqlerr;
	if (exists == 0)
		goto done;
	if (!ctl_query(&c, &res, "SELECT id, db, tbl, alter_clause, shadow, state, mapping, copied_upto, "
		       "rows_copied, rows_total, chunk_rows, target_chunk_ms, max_threads_running, mirrored, "
		       "refused, verify_chunks, verify_mismatches, error, created, copy_started, ready_at, "
		       "finished FROM %I.deploys ORDER BY id", ds->schema))
		goto sqlerr;
	while ((row = mysql_fetch_row(res)) != NULL) {
		d = deploy_alloc(ds);
		if (d == NULL)
			break;
		d->id = col_u64(row[0]);
		snprintf(d->db, sizeof(d->db), "%s", row[1] ? row[1] : "");
		snprintf(d->table, sizeof(d->table), "%s", row[2] ? row[2] : "");
		d->alter = strdup(row[3] ? row[3] : "");
		snprintf(d->shadow, sizeof(d->shadow), "%s", row[4] ? row[4] : "");
		if (row[5] == NULL || !deploy_state_parse(row[5], &d->state))
			d->state = DS_FAILED;
		if (row[6] != NULL && row[6][0] != '\0' && !mapping_parse(d, row[6]) && deploy_state_mirrors(d->state)) {
			log_error("deploy %llu: unreadable column mapping in the catalog; marking it failed",
				  (unsigned long long)d->id);
			d->state = DS_FAILED;
		}
		d->copied_upto = row[7] != NULL ? strdup(row[7]) : NULL;
		d->rows_copied = col_u64(row[8]);
		d->rows_total = col_u64(row[9]);
		d->chunk_rows = (unsigned)col_u64(row[10]);
		if (d->chunk_rows == 0)
			d->chunk_rows = CHUNK_ROWS_START;
		d->target_chunk_ms = (int)col_u64(row[11]);
		d->max_threads_running = (int)col_u64(row[12]);
		d->mirrored = col_u64(row[13]);
		d->refused = col_u64(row[14]);
		d->verify_chunks = col_u64(row[15]);
		d->verify_mismatches = col_u64(row[16]);
		snprintf(d->error, sizeof(d->error), "%s", row[17] ? row[17] : "");
		d->created = (time_t)col_u64(row[18]);
		d->copy_started = (time_t)col_u64(row[19]);
		d->ready_at = (time_t)col_u64(row[20]);
		d->finished = (time_t)col_u64(row[21]);
		d->shadow_built = d->state != DS_QUEUED && deploy_state_mirrors(d->state);
		TAILQ_INSERT_TAIL(&fresh, d, link);
	}
	mysql_free_result(res);
	/* A deploy interrupted while its shadow was built: undo, mark failed. */
	TAILQ_FOREACH(d, &fresh, link) {
		if (d->state != DS_QUEUED)
			continue;
		deploy_set_state(d, DS_FAILED);  /* not shared yet: no lock needed */
		snprintf(d->error, sizeof(d->error), "cutoverd stopped while the deploy was being created; create it again");
		if (d->shadow[0] != '\0' && !ctl_exec(&c, "DROP TABLE IF EXISTS %I.%I", d->db, d->shadow))
			log_warning("deploy %llu: cannot drop %s.%s: %s", (unsigned long long)d->id, d->db,
				    d->shadow, c.error);
		if (!catalog_save(&c, d))
			log_warning("deploy %llu: cannot save: %s", (unsigned long long)d->id, c.error);
	}
	/* The views of each table under deploy (writes through them are
	   refused): read again, they may have changed while cutoverd was down. */
	TAILQ_FOREACH(d, &fresh, link)
		if (deploy_state_mirrors(d->state) && !inspect_views(&c, d->db, d->table, d->views, &d->nviews))
			goto sqlerr;
	/* The stored procedures that may be CALLed: read again too.  A
	   function or trigger that may now change the table cannot stop a
	   deploy that runs: it is logged. */
	TAILQ_FOREACH(d, &fresh, link) {
		char why[1024];

		if (!deploy_state_mirrors(d->state))
			continue;
		if (!routines_read(&c, d, &d->routines, why, sizeof(why)))
			log_warning("deploy %llu: %s; every CALL is refused while it runs", (unsigned long long)d->id,
				    why);
		else if (why[0] != '\0')
			log_warning("deploy %llu: %s", (unsigned long long)d->id, why);
	}
	/* A swap interrupted: the tables say whether its RENAME happened. */
	TAILQ_FOREACH(d, &fresh, link)
		if (d->state == DS_CUTTING_OVER || d->state == DS_REVERTING)
			swap_recover(d, &c);
done:
	ctl_close(&c);
	pthread_mutex_lock(&ds->mu);
	while ((d = TAILQ_FIRST(&fresh)) != NULL) {
		TAILQ_REMOVE(&fresh, d, link);
		TAILQ_INSERT_TAIL(&ds->list, d, link);
	}
	ds->loaded = true;
	ds->version++;
	pthread_mutex_unlock(&ds->mu);
	TAILQ_FOREACH(d, &ds->list, link) {
		if (d->state == DS_COPYING || d->state == DS_VERIFYING ||
		    (d->state == DS_READY && d->auto_cutover)) {
			log_info("deploy %llu %s.%s: resuming (%s, %llu rows copied)", (unsigned long long)d->id,
				 d->db, d->table, deploy_state_name(d->state), (unsigned long long)d->rows_copied);
			if (!start_worker(d))
				log_error("deploy %llu: cannot start its worker thread", (unsigned long long)d->id);
		}
	}
	return true;
sqlerr:
	snprintf(err, errlen, "reading the deploy catalog: %s", c.error);
	ctl_close(&c);
	return false;
}

/* --- deploy create --------------------------------------------------------------- */

struct create_req {
	struct deploys *ds;
	uint64_t serial;
	struct deploy *d;        /* registered placeholder (id 0 until inserted) */
	struct inspect_renames renames;
	bool dry_run;            /* --dry-run: build, inspect, drop, tell */
};

/* The names of a table's columns, in order, as a JSON array (NULL: error). */
static json_t *column_names(struct ctl *c, const char *db, const char *table)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	json_t *a;

	if (!ctl_query(c, &res, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %Q "
		       "AND TABLE_NAME = %Q ORDER BY ORDINAL_POSITION", db, table))
		return NULL;
	a = json_array();
	while (a != NULL && (row = mysql_fetch_row(res)) != NULL)
		json_array_append_new(a, json_string(row[0] != NULL ? row[0] : ""));
	mysql_free_result(res);
	return a;
}

/* Is `name` a column of the mapping (of the shadow, or of the original)? */
static bool col_mapped(const struct deploy *d, const char *name, bool shadow)
{
	for (unsigned k = 0; k < d->ncols; k++)
		if (strcmp(shadow ? d->cols[k].shadow : d->cols[k].orig, name) == 0)
			return true;
	return false;
}

/*
 * deploy create --dry-run: the checks passed; build the shadow as a deploy
 * would, read what it would copy, drop it.  The reply, or NULL with err.
 * Nothing else is created: no catalog row, no mirror.
 */
static json_t *dry_run(struct ctl *c, struct deploy *d, const struct inspect_renames *rn, char *err, size_t errlen)
{
	char table[2 * DEPLOY_NAME_SIZE + 2];
	json_t *r = NULL, *cols = NULL, *orig = NULL, *shadow = NULL, *added = NULL, *dropped = NULL, *v;
	uint64_t rows = 0;
	bool found = false;
	size_t i;

	if (!inspect_build_shadow(c, d, rn, err, errlen))
		return NULL;              /* (it drops the shadow itself) */
	if (!inspect_defer_indexes(c, d, err, errlen))
		goto drop;
	orig = column_names(c, d->db, d->table);
	shadow = column_names(c, d->db, d->shadow);
	if (orig == NULL || shadow == NULL ||
	    !ctl_u64(c, &rows, &found, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %Q "
		     "AND TABLE_NAME = %Q", d->db, d->table)) {
		snprintf(err, errlen, "cannot read information_schema: %s", c->error);
		goto drop;
	}
	cols = json_array();
	added = json_array();
	dropped = json_array();
	for (unsigned k = 0; cols != NULL && k < d->ncols; k++) {
		const struct deploy_col *dc = &d->cols[k];

		json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "column", dc->orig,
						      "becomes", dc->shadow, "type", dc->type, "new_type", dc->shadow_type,
						      "primary_key", dc->pk, "converted", !dc->same_type));
	}
	json_array_foreach(orig, i, v)
		if (!col_mapped(d, json_string_value(v), false) && dropped != NULL)
			json_array_append(dropped, v);
	json_array_foreach(shadow, i, v)
		if (!col_mapped(d, json_string_value(v), true) && added != NULL)
			json_array_append(added, v);
	snprintf(table, sizeof(table), "%s.%s", d->db, d->table);
	r = json_pack("{s:b, s:b, s:s, s:s, s:s, s:I, s:O, s:O, s:O, s:s?, s:s}", "ok", 1, "dry_run", 1,
		      "table", table, "alter", d->alter, "shadow_table", d->shadow, "rows_estimate",
		      (json_int_t)(found ? rows : 0), "columns", cols, "added_columns", added,
		      "dropped_columns", dropped, "deferred_indexes", d->deferred,
		      "note", "nothing was kept: the shadow table was built with the ALTER, read and dropped; "
		      "no deploy request was recorded");
	if (r == NULL)
		snprintf(err, errlen, "out of memory");
drop:
	json_decref(cols);
	json_decref(added);
	json_decref(dropped);
	json_decref(orig);
	json_decref(shadow);
	if (!ctl_exec(c, "DROP TABLE IF EXISTS %I.%I", d->db, d->shadow)) {
		snprintf(err, errlen, "cannot drop the dry run's shadow table %s.%s: %s", d->db, d->shadow, c->error);
		json_decref(r);
		return NULL;
	}
	return r;
}

static void unregister(struct deploys *ds, struct deploy *d)
{
	pthread_mutex_lock(&ds->mu);
	TAILQ_REMOVE(&ds->list, d, link);
	ds->version++;
	pthread_mutex_unlock(&ds->mu);
}

static void *create_main(void *arg)
{
	struct create_req *req = arg;
	struct deploys *ds = req->ds;
	struct deploy *d = req->d;
	struct ctl c;
	char err[1024];
	bool inserted = false;

	if (!ctl_connect(&c, &ds->ctl)) {
		snprintf(err, sizeof(err), "control connection ([cutover] user %s): %s", ds->ctl.user, c.error);
		goto refuse;
	}
	if (!inspect_table(&c, d->db, d->table, err, sizeof(err)))
		goto refuse_close;
	if (!inspect_views(&c, d->db, d->table, d->views, &d->nviews)) {
		snprintf(err, sizeof(err), "cannot read information_schema.VIEWS: %s", c.error);
		goto refuse_close;
	}
	if (!routines_read(&c, d, &d->routines, err, sizeof(err)) || err[0] != '\0')
		goto refuse_close;
	if (req->dry_run) {
		json_t *r = dry_run(&c, d, &req->renames, err, sizeof(err));

		if (r == NULL)
			goto refuse_close;
		ctl_close(&c);
		log_info("deploy create --dry-run %s.%s: %u columns mapped: %s", d->db, d->table, d->ncols, d->alter);
		unregister(ds, d);
		deploys_post_reply(ds, req->serial, r);
		deploys_thread_exit(ds, NULL);
		deploy_free(d);
		free(req);
		return NULL;
	}
	if (!catalog_ensure(&c, ds->schema)) {
		snprintf(err, sizeof(err), "cannot create the deploy catalog %s.deploys: %s", ds->schema, c.error);
		goto refuse_close;
	}
	if (!catalog_insert(&c, d)) {
		snprintf(err, sizeof(err), "cannot record the deploy in %s.deploys: %s", ds->schema, c.error);
		goto refuse_close;
	}
	inserted = true;
	if (!inspect_build_shadow(&c, d, &req->renames, err, sizeof(err)))
		goto refuse_close;
	if (!inspect_defer_indexes(&c, d, err, sizeof(err))) {
		if (!ctl_exec(&c, "DROP TABLE IF EXISTS %I.%I", d->db, d->shadow))
			log_warning("deploy: cannot drop %s.%s: %s", d->db, d->shadow, c.error);
		goto refuse_close;
	}
	if (!catalog_save(&c, d)) {
		snprintf(err, sizeof(err), "cannot record the deploy in %s.deploys: %s", ds->schema, c.error);
		if (!ctl_exec(&c, "DROP TABLE IF EXISTS %I.%I", d->db, d->shadow))
			log_warning("deploy: cannot drop %s.%s: %s", d->db, d->shadow, c.error);
		goto refuse_close;
	}
	/* Arm the mirror, then copy: every write from now on is mirrored (or
	 * refused), and none planned before is still running. */
	pthread_mutex_lock(&ds->mu);
	d->shadow_built = true;
	ds->version++;
	pthread_mutex_unlock(&ds->mu);
	if (!deploys_wait_synced(ds))
		goto stopped;
	pthread_mutex_lock(&ds->mu);
	deploy_set_state(d, DS_COPYING);
	pthread_mutex_unlock(&ds->mu);
	if (!catalog_save(&c, d)) {
		snprintf(err, sizeof(err), "cannot save the deploy state: %s", c.error);
		deploy_finish(d, &c, DS_FAILED, err);
		deploys_post_reply(ds, req->serial, error_reply(err));
		goto out;
	}
	/* The stored programs once more: from now on none can be created or
	   replaced through the proxy (their bodies are refused), so this
	   list misses nothing made through it since the first reading. */
	{
		struct routine_set *rs = NULL;

		if (!routines_read(&c, d, &rs, err, sizeof(err)) || err[0] != '\0') {
			routines_unref(rs);
			deploy_finish(d, &c, DS_FAILED, err);
			deploys_post_reply(ds, req->serial, error_reply(err));
			goto out;
		}
		pthread_mutex_lock(&ds->mu);
		routines_unref(d->routines);
		d->routines = rs;
		ds->version++;
		pthread_mutex_unlock(&ds->mu);
	}
	log_info("deploy %llu %s.%s: created (shadow %s, %u columns mapped): %s", (unsigned long long)d->id,
		 d->db, d->table, d->shadow, d->ncols, d->alter);
	{
		char table[2 * DEPLOY_NAME_SIZE + 2];

		snprintf(table, sizeof(table), "%s.%s", d->db, d->table);
		deploys_post_reply(ds, req->serial, json_pack("{s:b, s:I, s:s, s:s, s:s, s:i}", "ok", 1,
						      "id", (json_int_t)d->id, "state", "copying",
						      "table", table, "shadow_table", d->shadow,
						      "columns_mapped", (int)d->ncols));
	}
	run_deploy(d, &c);
	goto out;
refuse_close:
	if (inserted && !ctl_exec(&c, "DELETE FROM %I.deploys WHERE id = %llu", ds->schema,
				  (unsigned long long)d->id))
		log_warning("deploy: cannot delete catalog row %llu: %s", (unsigned long long)d->id, c.error);
	ctl_close(&c);
refuse:
	unregister(ds, d);
	deploys_post_reply(ds, req->serial, error_reply(err));
	deploys_thread_exit(ds, NULL);
	deploy_free(d);
	free(req);
	return NULL;
stopped:
	/* shutting down while arming: the catalog says queued; the next start
	 * cleans up */
out:
	ctl_close(&c);
	deploys_thread_exit(ds, d);
	free(req);
	return NULL;
}

/* --- admin --------------------------------------------------------------------- */

static void iso_time(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL) {
		buf[0] = '\0';
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The reply object of one deploy (under ds->mu). */
static json_t *deploy_json(const struct deploy *d, bool full)
{
	char table[2 * DEPLOY_NAME_SIZE + 2], created[32], started[32], ready[32], finished[32];
	json_t *o;
	double pct = d->rows_total > 0 ? 100.0 * (double)d->rows_copied / (double)d->rows_total : 0;
	json_int_t eta = -1;

	snprintf(table, sizeof(table), "%s.%s", d->db, d->table);
	if (d->state == DS_COPYING && d->copy_rate > 0 && d->rows_total >= d->rows_copied)
		eta = (json_int_t)((double)(d->rows_total - d->rows_copied) / d->copy_rate);
	if (d->state != DS_QUEUED && d->state != DS_COPYING)
		pct = 100.0;
	o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:f}", "id", (json_int_t)d->id,
		      "state", deploy_state_name(d->state), "table", table, "shadow_table", d->shadow,
		      "rows_copied", (json_int_t)d->rows_copied, "rows_total", (json_int_t)d->rows_total,
		      "progress_pct", (double)((long)(pct * 10)) / 10.0);
	if (o == NULL)
		return NULL;
	if (d->error[0] != '\0')
		json_object_set_new(o, "error", json_string(d->error));
	json_object_set_new(o, "old_table", json_string(d->old_table));
	json_object_set_new(o, "revertible", json_boolean(d->state == DS_COMPLETE && d->window_open && !d->busy));
	json_object_set_new(o, "pause_ms", json_real((double)(long)(d->pause_ms * 100) / 100.0));
	json_object_set_new(o, "pause_total_ms", json_real((double)(long)(d->pause_total_ms * 100) / 100.0));
	json_object_set_new(o, "attempts", json_integer(d->attempts));
	if (!full)
		return o;
	iso_time(created, sizeof(created), d->created);
	iso_time(started, sizeof(started), d->copy_started);
	iso_time(ready, sizeof(ready), d->ready_at);
	iso_time(finished, sizeof(finished), d->finished);
	json_object_set_new(o, "alter", json_string(d->alter ? d->alter : ""));
	json_object_set_new(o, "copy_rate", json_integer((json_int_t)d->copy_rate));
	json_object_set_new(o, "eta_s", eta >= 0 ? json_integer(eta) : json_null());
	json_object_set_new(o, "chunk_rows", json_integer(d->chunk_rows));
	json_object_set_new(o, "target_chunk_ms", json_integer(d->target_chunk_ms));
	json_object_set_new(o, "max_threads_running", json_integer(d->max_threads_running));
	json_object_set_new(o, "paused", json_boolean(d->paused));
	json_object_set_new(o, "throttled", json_boolean(d->throttled));
	json_object_set_new(o, "throttle_reason", json_string(d->throttle_reason));
	json_object_set_new(o, "mirrored", json_integer((json_int_t)d->mirrored));
	json_object_set_new(o, "refused", json_integer((json_int_t)d->refused));
	json_object_set_new(o, "lock_retries", json_integer((json_int_t)d->lock_retries));
	json_object_set_new(o, "verify_chunks", json_integer((json_int_t)d->verify_chunks));
	json_object_set_new(o, "verify_mismatches", json_integer((json_int_t)d->verify_mismatches));
	json_object_set_new(o, "rows_verified", json_integer((json_int_t)d->rows_verified));
	json_object_set_new(o, "columns_mapped", json_integer(d->ncols));
	json_object_set_new(o, "deferred_indexes", d->deferred ? json_string(d->deferred) : json_null());
	json_object_set_new(o, "step", d->state != DS_COPYING ? json_null() :
			    json_string(d->indexing ? "building indexes" : "backfill"));
	json_object_set_new(o, "created", json_string(created));
	json_object_set_new(o, "copy_started", json_string(started));
	json_object_set_new(o, "ready_at", json_string(ready));
	json_object_set_new(o, "finished", json_string(finished));
	{
		char wend[32];

		iso_time(wend, sizeof(wend), d->window_open ? d->window_end : 0);
		json_object_set_new(o, "window_ends_at", json_string(wend));
	}
	json_object_set_new(o, "window_open", json_boolean(d->window_open));
	if (d->window_note[0] != '\0')
		json_object_set_new(o, "window_note", json_string(d->window_note));
	json_object_set_new(o, "auto_cutover", json_boolean(d->auto_cutover));
	json_object_set_new(o, "history", d->history != NULL ? json_deep_copy(d->history) : json_array());
	return o;
}

json_t *deploys_snapshot(struct deploys *ds)
{
	json_t *a = json_array();
	struct deploy *d;
	bool ok = a != NULL;

	pthread_mutex_lock(&ds->mu);
	TAILQ_FOREACH(d, &ds->list, link)
		if (ok && d->id != 0)
			ok = json_array_append_new(a, deploy_json(d, true)) == 0;
	pthread_mutex_unlock(&ds->mu);
	if (!ok) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* {"ok":true} followed by the members of o (consumed). */
static json_t *ok_with(json_t *o)
{
	json_t *r;

	if (o == NULL)
		return NULL;
	r = json_pack("{s:b}", "ok", 1);
	if (r != NULL)
		json_object_update(r, o);
	json_decref(o);
	return r;
}

struct deploy *deploys_find_arg(struct deploys *ds, const char *arg)
{
	char *end;
	unsigned long long id;

	if (arg == NULL)
		return NULL;
	errno = 0;
	id = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || id == 0)
		return NULL;
	return deploys_find(ds, id);
}

static void reply_now(struct deploys *ds, uint64_t serial, json_t *r)
{
	ds->reply(ds->cb_arg, serial, r);
}

void deploys_reply_err(struct deploys *ds, uint64_t serial, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_now(ds, serial, error_reply(msg));
}

/* Skip spaces; return the next word in word (NUL-terminated copy) and advance. */
const char *deploys_next_word(const char *p, char *word, size_t len)
{
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p != '\0' && *p != ' ' && *p != '\t') {
		if (n + 1 < len)
			word[n++] = *p;
		p++;
	}
	word[n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static void cmd_create(struct deploys *ds, uint64_t serial, const char *rest)
{
	char target[512], err[1024];
	struct create_req *req;
	struct deploy *d, *x;
	const char *clause;
	bool paused = false, aut = false, dry = false;

	clause = deploys_next_word(rest, target, sizeof(target));
	while (strncmp(target, "--", 2) == 0) {
		if (strcmp(target, "--paused") == 0) {
			paused = true;
		} else if (strcmp(target, "--auto-cutover") == 0) {
			aut = true;
		} else if (strcmp(target, "--dry-run") == 0) {
			dry = true;
		} else {
			deploys_reply_err(ds, serial, "deploy create: unknown option '%.64s' (--paused, --auto-cutover, "
					  "--dry-run)", target);
			return;
		}
		clause = deploys_next_word(clause, target, sizeof(target));
	}
	if (target[0] == '\0' || *clause == '\0') {
		deploys_reply_err(ds, serial, "usage: deploy create [--paused] [--auto-cutover] [--dry-run] <db>.<table> "
				  "<ALTER clause>");
		return;
	}
	if (ds->ctl.user[0] == '\0') {
		deploys_reply_err(ds, serial, "deploy requests need [cutover] user and password in the configuration");
		return;
	}
	req = calloc(1, sizeof(*req));
	d = deploy_alloc(ds);
	if (req == NULL || d == NULL || (d->alter = strdup(clause)) == NULL) {
		free(req);
		if (d != NULL)
			deploy_free(d);
		deploys_reply_err(ds, serial, "out of memory");
		return;
	}
	d->paused = paused;
	d->auto_cutover = aut;
	/* trailing blanks are not part of the clause */
	for (size_t n = strlen(d->alter); n > 0 && (d->alter[n - 1] == ' ' || d->alter[n - 1] == '\t'); n--)
		d->alter[n - 1] = '\0';
	if (!inspect_parse_target(target, d->db, d->table, err, sizeof(err)) ||
	    !inspect_check_alter(d->alter, &req->renames, err, sizeof(err))) {
		deploys_reply_err(ds, serial, "%s", err);
		goto fail;
	}
	if (strcmp(d->db, ds->schema) == 0) {
		deploys_reply_err(ds, serial, "%s is cutoverd's own catalog schema", ds->schema);
		goto fail;
	}
	pthread_mutex_lock(&ds->mu);
	TAILQ_FOREACH(x, &ds->list, link) {
		if (!deploy_live(x) && !x->busy)
			continue;
		if (strcmp(x->db, d->db) == 0 &&
		    (strcmp(x->table, d->table) == 0 || strcmp(x->shadow, d->table) == 0 ||
		     strcmp(x->old_table, d->table) == 0)) {
			pthread_mutex_unlock(&ds->mu);
			if (strcmp(x->table, d->table) == 0)
				deploys_reply_err(ds, serial, "table %s.%s already has an active deploy request (id %llu, %s%s)",
					  d->db, d->table, (unsigned long long)x->id, deploy_state_name(x->state),
					  x->state == DS_COMPLETE || x->state == DS_REVERTED ?
					  ", revert window open: deploy finalize ends it" : "");
			else
				deploys_reply_err(ds, serial, "%s.%s is the %s table of deploy %llu", d->db, d->table,
					  strcmp(x->shadow, d->table) == 0 ? "shadow" : "old",
					  (unsigned long long)x->id);
			goto fail;
		}
	}
	TAILQ_INSERT_TAIL(&ds->list, d, link);
	pthread_mutex_unlock(&ds->mu);
	req->ds = ds;
	req->serial = serial;
	req->d = d;
	req->dry_run = dry;
	pthread_mutex_lock(&ds->mu);
	d->worker_running = true;
	pthread_mutex_unlock(&ds->mu);
	if (!deploys_spawn(ds, create_main, req, &d->worker)) {
		unregister(ds, d);
		deploys_reply_err(ds, serial, "cannot start a worker thread");
		goto fail;
	}
	return;
fail:
	deploy_free(d);
	free(req);
}

void deploys_fail(struct deploys *ds, uint64_t id, const char *why)
{
	struct deploy *d;
	bool running;

	pthread_mutex_lock(&ds->mu);
	d = deploys_find(ds, id);
	if (d == NULL || !deploy_live(d) || d->fail_pending || d->cancel) {
		pthread_mutex_unlock(&ds->mu);
		return;
	}
	if (d->busy || !state_before_swap(d->state)) {
		/* a swap owns it, or the window is open: swap.c decides */
		swap_mirror_failed(d, why);
		pthread_mutex_unlock(&ds->mu);
		deploys_notify(ds);
		return;
	}
	log_error("deploy %llu %s.%s: %s", (unsigned long long)id, d->db, d->table, why);
	d->fail_pending = true;
	d->cancel = true;
	snprintf(d->fail_reason, sizeof(d->fail_reason), "%s", why);
	running = d->worker_running;
	if (!running)
		d->worker_running = true;
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
	if (!running && !deploys_spawn(ds, stop_main, d, &d->worker)) {
		pthread_mutex_lock(&ds->mu);
		d->worker_running = false;
		pthread_mutex_unlock(&ds->mu);
		log_error("deploy %llu: cannot start a worker thread to end it", (unsigned long long)id);
	}
}

static void cmd_cancel(struct deploys *ds, uint64_t serial, const char *rest)
{
	char idw[64];
	struct deploy *d;
	bool running;

	(void)deploys_next_word(rest, idw, sizeof(idw));
	pthread_mutex_lock(&ds->mu);
	d = deploys_find_arg(ds, idw);
	if (d == NULL) {
		pthread_mutex_unlock(&ds->mu);
		deploys_reply_err(ds, serial, "no deploy request with id '%.32s'", idw);
		return;
	}
	if (!deploy_state_mirrors(d->state)) {
		json_t *r = json_pack("{s:b, s:I, s:s}", "ok", 1, "id", (json_int_t)d->id, "state",
				      deploy_state_name(d->state));

		pthread_mutex_unlock(&ds->mu);
		if (d->state == DS_CANCELLED)
			reply_now(ds, serial, r);
		else {
			json_decref(r);
			deploys_reply_err(ds, serial, "deploy %llu has already ended (%s)", (unsigned long long)d->id,
				  deploy_state_name(d->state));
		}
		return;
	}
	if (d->cancel) {
		pthread_mutex_unlock(&ds->mu);
		deploys_reply_err(ds, serial, "deploy %llu is already being cancelled", (unsigned long long)d->id);
		return;
	}
	if (d->busy || !state_before_swap(d->state)) {
		enum deploy_state st = d->state;
		bool busy = d->busy;

		pthread_mutex_unlock(&ds->mu);
		if (busy)
			deploys_reply_err(ds, serial, "deploy %llu is %s; cancel it once that ended", (unsigned long long)d->id,
				  st == DS_READY ? "being cut over" : deploy_state_name(st));
		else
			deploys_reply_err(ds, serial, "deploy %llu is %s: the table has been swapped; deploy revert swaps "
				  "back, deploy finalize ends the revert window", (unsigned long long)d->id,
				  deploy_state_name(st));
		return;
	}
	if (d->id == 0 || d->state == DS_QUEUED) {
		pthread_mutex_unlock(&ds->mu);
		deploys_reply_err(ds, serial, "deploy is still being created; cancel it once it is copying");
		return;
	}
	d->cancel = true;
	d->cancel_serial = serial;
	running = d->worker_running;
	if (!running)
		d->worker_running = true;
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
	if (!running && !deploys_spawn(ds, stop_main, d, &d->worker)) {
		pthread_mutex_lock(&ds->mu);
		d->cancel = false;
		d->cancel_serial = 0;
		d->worker_running = false;
		pthread_mutex_unlock(&ds->mu);
		deploys_reply_err(ds, serial, "cannot start a worker thread");
	}
	/* the worker answers once the shadow is dropped */
}

static void *save_main(void *arg)
{
	struct deploy *d = arg;
	struct ctl c;

	if (ctl_connect(&c, &d->ds->ctl)) {
		char *map, *sql;

		/* the settings only: the copy position is the worker's, saved in
		   the same transaction as its chunk */
		pthread_mutex_lock(&d->ds->mu);
		map = mapping_json(d);
		sql = ctl_fmt("UPDATE %I.deploys SET mapping = %Q, target_chunk_ms = %d, max_threads_running = %d "
			      "WHERE id = %llu", d->ds->schema, map ? map : "", d->target_chunk_ms,
			      d->max_threads_running, (unsigned long long)d->id);
		pthread_mutex_unlock(&d->ds->mu);
		if (sql == NULL || !ctl_exec(&c, "%s", sql))
			log_warning("deploy %llu: cannot save its settings: %s", (unsigned long long)d->id, c.error);
		free(map);
		free(sql);
		ctl_close(&c);
	} else {
		log_warning("deploy %llu: cannot save its settings: %s", (unsigned long long)d->id, c.error);
	}
	deploys_thread_exit(d->ds, NULL);
	return NULL;
}

/* Save d's settings from a thread of its own (deploy set, on the loop). */
static void save_settings_async(struct deploys *ds, struct deploy *d)
{
	if (!deploys_spawn(ds, save_main, d, NULL))
		log_warning("deploy %llu: cannot start a thread to save its settings", (unsigned long long)d->id);
}

static void cmd_set(struct deploys *ds, uint64_t serial, const char *rest)
{
	char idw[64], kv[128];
	struct deploy *d;
	const char *p = deploys_next_word(rest, idw, sizeof(idw));
	json_t *r;

	pthread_mutex_lock(&ds->mu);
	d = deploys_find_arg(ds, idw);
	if (d == NULL || *p == '\0') {
		pthread_mutex_unlock(&ds->mu);
		if (d == NULL)
			deploys_reply_err(ds, serial, "no deploy request with id '%.32s'", idw);
		else
			deploys_reply_err(ds, serial, "usage: deploy set <id> chunk_time_ms=N | max_threads_running=N | paused=0|1");
		return;
	}
	while (*p != '\0') {
		char *eq, *end;
		long v;

		p = deploys_next_word(p, kv, sizeof(kv));
		eq = strchr(kv, '=');
		if (eq == NULL) {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, "'%.64s' is not key=value", kv);
			return;
		}
		*eq = '\0';
		if (strcmp(kv, "chunk_time_ms") != 0 && strcmp(kv, "max_threads_running") != 0 &&
		    strcmp(kv, "paused") != 0) {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, "unknown setting '%.64s' (chunk_time_ms, max_threads_running, paused)", kv);
			return;
		}
		errno = 0;
		v = strtol(eq + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == eq + 1) {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, "%s: '%.32s' is not a number", kv, eq + 1);
			return;
		}
		if (strcmp(kv, "paused") == 0 && (v == 0 || v == 1)) {
			d->paused = v == 1;
		} else if (strcmp(kv, "chunk_time_ms") == 0 && v >= 10 && v <= 60000) {
			d->target_chunk_ms = (int)v;
		} else if (strcmp(kv, "max_threads_running") == 0 && v >= 0 && v <= 100000) {
			d->max_threads_running = (int)v;
		} else {
			pthread_mutex_unlock(&ds->mu);
			deploys_reply_err(ds, serial, "%s: %ld is out of range (chunk_time_ms 10-60000, "
				  "max_threads_running 0-100000 with 0 = no limit, paused 0 or 1)", kv, v);
			return;
		}
	}
	r = ok_with(deploy_json(d, true));
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
	/* the worker saves the settings with its next chunk; a paused copy
	   saves nothing, so save now (a pause must survive a restart) */
	save_settings_async(ds, d);
	reply_now(ds, serial, r ? r : error_reply("out of memory"));
}

/* Ended for good: nothing of it runs or can run again. */
static bool deploy_ended(const struct deploy *d)
{
	return state_final(d->state) ||
	       ((d->state == DS_COMPLETE || d->state == DS_REVERTED) && !d->window_open);
}

#define LIST_LAST_DEFAULT 20

/* Ended deploys, the one that ended last first (then the higher id). */
static int ended_later_first(const void *a, const void *b)
{
	const struct deploy *x = *(const struct deploy *const *)a, *y = *(const struct deploy *const *)b;

	if (x->finished != y->finished)
		return x->finished > y->finished ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id ? 1 : 0;
}

/*
 * deploy list [--all | --last N]: every deploy request that has not ended,
 * and the N (20) most recent that have; --all: every one.  "not_shown"
 * counts the older ended ones left out.
 */
static void cmd_list(struct deploys *ds, uint64_t serial, const char *args)
{
	char w[32], n[32];
	unsigned long last = LIST_LAST_DEFAULT, ended = 0, i;
	const char *rest = deploys_next_word(args, w, sizeof(w));
	struct deploy *d, **old = NULL;
	json_t *r, *a;

	if (strcmp(w, "--all") == 0) {
		last = ULONG_MAX;
	} else if (strcmp(w, "--last") == 0) {
		char *end;

		rest = deploys_next_word(rest, n, sizeof(n));
		errno = 0;
		last = strtoul(n, &end, 10);
		if (n[0] < '0' || n[0] > '9' || *end != '\0' || errno != 0) {
			deploys_reply_err(ds, serial, "deploy list --last: '%.32s' is not a number of deploy requests", n);
			return;
		}
	} else if (w[0] != '\0') {
		deploys_reply_err(ds, serial, "usage: deploy list [--all | --last N] ('%.32s' is neither)", w);
		return;
	}
	(void)deploys_next_word(rest, w, sizeof(w));
	if (w[0] != '\0') {
		deploys_reply_err(ds, serial, "usage: deploy list [--all | --last N] (then nothing: '%.32s')", w);
		return;
	}
	r = json_pack("{s:b}", "ok", 1);
	a = json_array();
	if (r == NULL || a == NULL) {
		json_decref(r);
		json_decref(a);
		deploys_reply_err(ds, serial, "out of memory");
		return;
	}
	pthread_mutex_lock(&ds->mu);
	TAILQ_FOREACH(d, &ds->list, link)
		if (d->id != 0 && deploy_ended(d))
			ended++;
	if (ended > last) {
		/* which ended ones to leave out: all but the `last` that ended last */
		old = calloc(ended, sizeof(*old));
		if (old == NULL) {
			pthread_mutex_unlock(&ds->mu);
			json_decref(r);
			json_decref(a);
			deploys_reply_err(ds, serial, "out of memory");
			return;
		}
		i = 0;
		TAILQ_FOREACH(d, &ds->list, link)
			if (d->id != 0 && deploy_ended(d))
				old[i++] = d;
		qsort(old, ended, sizeof(*old), ended_later_first);
	}
	json_object_set_new(r, "not_shown", json_integer((json_int_t)(ended > last ? ended - last : 0)));
	TAILQ_FOREACH(d, &ds->list, link) {
		/* an ended one is shown when it sorts before the first left out */
		if (d->id != 0 && (old == NULL || !deploy_ended(d) || ended_later_first(&d, &old[last]) < 0))
			json_array_append_new(a, deploy_json(d, false));
	}
	pthread_mutex_unlock(&ds->mu);
	free(old);
	json_object_set_new(r, "deploys", a);
	reply_now(ds, serial, r);
}

void deploys_admin(struct deploys *ds, uint64_t serial, const char *args)
{
	char sub[32], idw[64];
	const char *rest = deploys_next_word(args, sub, sizeof(sub));
	struct deploy *d;
	json_t *r;

	if (strcmp(sub, "create") != 0) {
		char why[sizeof(ds->load_error)];
		bool loaded;

		pthread_mutex_lock(&ds->mu);
		loaded = ds->loaded;
		snprintf(why, sizeof(why), "%s", ds->load_error);
		pthread_mutex_unlock(&ds->mu);
		if (!loaded) {
			/* not "no deploy request": they are in the catalog,
			   which cutoverd cannot read yet ("loading": ask again) */
			char msg[sizeof(why) + 200];

			snprintf(msg, sizeof(msg), "the deploy catalog is not loaded yet (cutoverd retries every second; "
				 "writes to tables are refused until it is): %s", why[0] ? why : "loading");
			r = json_pack("{s:b, s:s, s:b}", "ok", 0, "error", msg, "loading", 1);
			if (r == NULL)
				deploys_reply_err(ds, serial, "out of memory");
			else
				reply_now(ds, serial, r);
			return;
		}
	}
	if (strcmp(sub, "create") == 0) {
		cmd_create(ds, serial, rest);
	} else if (strcmp(sub, "list") == 0) {
		cmd_list(ds, serial, rest);
	} else if (strcmp(sub, "show") == 0) {
		(void)deploys_next_word(rest, idw, sizeof(idw));
		pthread_mutex_lock(&ds->mu);
		d = deploys_find_arg(ds, idw);
		r = d != NULL ? deploy_json(d, true) : NULL;
		pthread_mutex_unlock(&ds->mu);
		if (d == NULL) {
			deploys_reply_err(ds, serial, "no deploy request with id '%.32s'", idw);
			return;
		}
		r = ok_with(r);
		if (r == NULL) {
			deploys_reply_err(ds, serial, "out of memory");
			return;
		}
		reply_now(ds, serial, r);
	} else if (strcmp(sub, "cancel") == 0) {
		cmd_cancel(ds, serial, rest);
	} else if (strcmp(sub, "set") == 0) {
		cmd_set(ds, serial, rest);
	} else if (strcmp(sub, "cutover") == 0) {
		swap_cmd_cutover(ds, serial, rest);
	} else if (strcmp(sub, "revert") == 0) {
		swap_cmd_revert(ds, serial, rest);
	} else if (strcmp(sub, "finalize") == 0) {
		swap_cmd_finalize(ds, serial, rest);
	} else {
		deploys_reply_err(ds, serial, "usage: deploy create|list|show|cancel|set|cutover|revert|finalize ...");
	}
}

static void *load_main(void *arg)
{
	struct deploys *ds = arg;
	char err[1024];
	unsigned tries = 0;

	for (;;) {
		bool stop;

		pthread_mutex_lock(&ds->mu);
		stop = ds->stopping;
		pthread_mutex_unlock(&ds->mu);
		if (stop)
			break;
		if (deploys_load(ds, err, sizeof(err))) {
			log_info("deploy catalog loaded after %u retries", tries);
			deploys_notify(ds);
			break;
		}
		if (tries++ % 30 == 0)
			log_warning("deploy catalog not readable yet (writes are refused until it is): %s", err);
		pthread_mutex_lock(&ds->mu);
		snprintf(ds->load_error, sizeof(ds->load_error), "%s", err);
		if (!ds->stopping) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			(void)pthread_cond_timedwait(&ds->cv, &ds->mu, &until);
		}
		pthread_mutex_unlock(&ds->mu);
	}
	deploys_thread_exit(ds, NULL);
	return NULL;
}

void deploys_load_retry(struct deploys *ds)
{
	if (!deploys_spawn(ds, load_main, ds, NULL))
		log_error("cannot start the thread that loads the deploy catalog");
}

bool deploys_loaded(struct deploys *ds)
{
	bool loaded;

	pthread_mutex_lock(&ds->mu);
	loaded = ds->loaded;
	pthread_mutex_unlock(&ds->mu);
	return loaded;
}
