/*
 * copy.c - the backfill and the verifier of a deploy request, on its
 * worker thread and its own control connection.
 *
 * Backfill: one short transaction per chunk, in primary-key order:
 *   find the chunk's last key (LIMIT 1 OFFSET n-1, no lock; for a key of
 *   one integer column, by value instead: see struct span), then
 *   INSERT INTO shadow (...) SELECT ... FROM t WHERE key in (last, upper]
 *     LOCK IN SHARE MODE NOWAIT ON DUPLICATE KEY UPDATE <own-row guard>
 *   (a key a mirrored write reached first keeps the mirror's image, which is
 *   the newest; a row the new schema's unique keys refuse fails the deploy,
 *   naming it), and the progress in the catalog, all in one commit.  Each
 *   row of t is locked before the shadow row of its key, as mirrored
 *   writers lock; a lock held by a client fails the INSERT at once (NOWAIT:
 *   the statement is rolled back), and the chunk is tried again smaller.
 *   The chunk size follows the target chunk time; load (Threads_running)
 *   pauses the copy.
 *
 * Verifier: per chunk, under a START TRANSACTION WITH CONSISTENT SNAPSHOT of
 * its own, a count and an order-independent checksum (BIT_XOR of a 64-bit
 * hash of each row, see checksum()) of the mapped columns of t and of the
 * shadow.  Columns whose type the ALTER changed are compared by NULL-ness
 * only (their values differ in form by design).  A chunk that differs is
 * re-copied under locks and checked again in a new snapshot.  It runs on a
 * thread and control connection of its own while the backfill runs, behind
 * the last committed chunk (the frontier): mirroring is transactional, so
 * every snapshot shows t and the shadow equal up to there.  The copy keeps
 * one core busy in the server, the verifier the other; `ready` follows the
 * copy's end closely.  Its progress is not saved: after a restart it
 * starts again from the table's start.
 */
#include "config.h"
#include "cutover/deploy-internal.h"
#include "cutover/keys.h"
#include "proxy/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* The key columns of deploy d, for keys.c. */
#define KC(d) ((struct key_cols){ (d)->cols, (d)->pk, (d)->npk })

#define CHUNK_MIN 10
#define CHUNK_MAX 1000000   /* the time target, not this cap, should set the size */

/* A key as literals: npk malloc'ed strings. */
struct key {
	unsigned n;
	char **lit;
};

static void key_free(struct key *k)
{
	for (unsigned i = 0; i < k->n; i++)
		free(k->lit[i]);
	free(k->lit);
	k->lit = NULL;
	k->n = 0;
}

static bool key_from_row(const struct deploy *d, MYSQL_ROW row, unsigned long *lens, struct key *k)
{
	k->n = 0;
	k->lit = calloc(d->npk, sizeof(char *));
	if (k->lit == NULL)
		return false;
	for (unsigned i = 0; i < d->npk; i++) {
		char *buf = NULL;
		size_t blen = 0;
		FILE *f = open_memstream(&buf, &blen);
		bool ok;

		if (f == NULL)
			goto fail;
		ok = row[i] != NULL && keys_put_literal(f, &d->cols[d->pk[i]], row[i], lens[i]);
		if (fclose(f) != 0 || !ok) {
			free(buf);
			goto fail;
		}
		k->lit[k->n++] = buf;
	}
	return true;
fail:
	key_free(k);
	return false;
}

static bool key_from_json(const struct deploy *d, const char *text, struct key *k)
{
	json_t *a = json_loads(text, 0, NULL);
	bool ok = false;

	k->n = 0;
	k->lit = NULL;
	if (a == NULL || !json_is_array(a) || json_array_size(a) != d->npk)
		goto out;
	k->lit = calloc(d->npk, sizeof(char *));
	if (k->lit == NULL)
		goto out;
	for (unsigned i = 0; i < d->npk; i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (s == NULL || (k->lit[i] = strdup(s)) == NULL)
			goto out;
		k->n++;
	}
	ok = true;
out:
	if (!ok)
		key_free(k);
	json_decref(a);
	return ok;
}

static char *key_to_json(const struct key *k)
{
	json_t *a = json_array();
	char *s;

	if (a == NULL)
		return NULL;
	for (unsigned i = 0; i < k->n; i++)
		json_array_append_new(a, json_string(k->lit[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* `db`.`table` or `db`.`shadow` */
static void put_table(FILE *f, const struct deploy *d, bool shadow)
{
	ctl_put_ident(f, d->db);
	fputc('.', f);
	ctl_put_ident(f, shadow ? d->shadow : d->table);
}

/* " WHERE key > lo AND key <= hi" (either may be empty: n == 0). */
static void put_range(FILE *f, const struct deploy *d, bool shadow_names, const struct key *lo,
		      const struct key *hi)
{
	if (lo->n == 0 && hi->n == 0)
		return;
	fputs(" WHERE ", f);
	if (lo->n > 0)
		keys_put_compare(f, &KC(d), shadow_names, true, lo->lit);
	if (lo->n > 0 && hi->n > 0)
		fputs(" AND ", f);
	if (hi->n > 0)
		keys_put_compare(f, &KC(d), shadow_names, false, hi->lit);
}

/* Run the statement in a memstream buffer. */
static bool stream_end(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		*buf = NULL;
		return false;
	}
	return true;
}

/*
 * The key after which the chunk of n rows starting after lo ends: *hi
 * (hi->n = 0: fewer rows than that before bound, or before the table's end
 * when bound->n = 0).  locking: a locking read, which reads the newest rows
 * (not the transaction's snapshot) and never waits when the transaction
 * has locked the rows already.
 */
static bool find_upper(struct deploy *d, struct ctl *c, const struct key *lo, const struct key *bound,
		       unsigned rows, struct key *hi, bool locking)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool ok;

	hi->n = 0;
	hi->lit = NULL;
	if (f == NULL)
		return false;
	fputs("SELECT ", f);
	keys_put_select(f, &KC(d), NULL, false);
	fputs(" FROM ", f);
	put_table(f, d, false);
	fputs(" FORCE INDEX (PRIMARY)", f);
	put_range(f, d, false, lo, bound);
	fputs(" ORDER BY ", f);
	keys_put_columns(f, &KC(d), NULL, false);
	fprintf(f, " LIMIT 1 OFFSET %u", rows - 1);
	if (locking)
		fputs(" LOCK IN SHARE MODE", f);
	if (!stream_end(f, &sql))
		return false;
	ok = ctl_query(c, &res, "%s", sql);
	free(sql);
	if (!ok)
		return false;
	row = mysql_fetch_row(res);
	if (row != NULL)
		ok = key_from_row(d, row, mysql_fetch_lengths(res), hi);
	mysql_free_result(res);
	if (!ok)
		snprintf(c->error, sizeof(c->error), "cannot read a primary-key value");
	return ok;
}

/*
 * INSERT INTO shadow (...) SELECT ... FROM t <range>.  COPY_KEEP and
 * COPY_KEEP_CHECKED keep a row the shadow has under the same key (a
 * mirrored write reached it first); COPY_KEEP_CHECKED fails with error 1242
 * when the duplicate is another row, found through a unique key of the new
 * schema (COPY_KEEP would skip our row silently).
 */
enum copy_mode { COPY_PLAIN, COPY_KEEP, COPY_KEEP_CHECKED };
#define ER_SUBQUERY_NO_1_ROW 1242

/*
 * The shared lock clause of a locking read of t.  With nowait the statement
 * fails at once (lock_busy()) instead of waiting for a row a client holds:
 * the backfill then never waits while holding locks, so it is never part
 * of a deadlock with a client's transaction (InnoDB would pick the client,
 * whose transaction is the lighter one).  MariaDB's NOWAIT is the whole
 * statement's lock wait timeout (row, table and metadata locks: the
 * shadow's AUTO-INC lock too); MySQL's covers the rows of the locking read.
 */
static void put_share_lock(FILE *f, const struct ctl *c, bool nowait)
{
	if (!nowait)
		fputs(" LOCK IN SHARE MODE", f);
	else
		fputs(c->mariadb ? " LOCK IN SHARE MODE NOWAIT" : " FOR SHARE NOWAIT", f);
}

static char *copy_sql(struct deploy *d, const struct ctl *c, const struct key *lo, const struct key *hi,
		      enum copy_mode mode, bool nowait, unsigned limit)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);

	if (f == NULL)
		return NULL;
	keys_put_copy(f, d->db, d->table, d->shadow, d->cols, d->ncols);
	fputs(" FORCE INDEX (PRIMARY)", f);
	put_range(f, d, false, lo, hi);
	fputs(" ORDER BY ", f);
	keys_put_columns(f, &KC(d), NULL, false);
	if (limit > 0)
		fprintf(f, " LIMIT %u", limit);
	put_share_lock(f, c, nowait);
	if (mode == COPY_KEEP_CHECKED) {
		fputs(" ON DUPLICATE KEY UPDATE ", f);
		keys_put_own_row_guard(f, &KC(d), d->shadow, false);
	} else if (mode == COPY_KEEP) {
		const char *k = d->cols[d->pk[0]].shadow;

		fputs(" ON DUPLICATE KEY UPDATE ", f);
		ctl_put_ident(f, k);
		fputs(" = ", f);
		ctl_put_ident(f, d->shadow);
		fputc('.', f);
		ctl_put_ident(f, k);
	}
	if (!stream_end(f, &sql))
		return NULL;
	return sql;
}

/*
 * Lock the rows of t in (lo, hi] (shared, next-key) and count them, before
 * a statement that writes the shadow's rows of the range (repair(),
 * unique_conflict()); nowait as for put_share_lock().
 */
static bool count_range(struct deploy *d, struct ctl *c, const struct key *lo, const struct key *hi,
			uint64_t *n, bool nowait)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	bool ok;

	if (f == NULL)
		return false;
	fputs("SELECT COUNT(*) FROM ", f);
	put_table(f, d, false);
	fputs(" FORCE INDEX (PRIMARY)", f);
	put_range(f, d, false, lo, hi);
	put_share_lock(f, c, nowait);
	if (!stream_end(f, &sql))
		return false;
	ok = ctl_u64(c, n, NULL, "%s", sql);
	free(sql);
	return ok;
}

/* A key of t in the range that the shadow lacks, for the error message. */
static void missing_key(struct deploy *d, struct ctl *c, const struct key *lo, const struct key *hi,
			char *out, size_t outlen)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	MYSQL_RES *res;
	MYSQL_ROW row;

	snprintf(out, outlen, "?");
	if (f == NULL)
		return;
	fputs("SELECT ", f);
	for (unsigned i = 0; i < d->npk; i++)
		fprintf(f, "%s CAST(t.", i ? ", " : ""), ctl_put_ident(f, d->cols[d->pk[i]].orig),
			fputs(" AS CHAR)", f);
	fputs(" FROM ", f);
	put_table(f, d, false);
	fputs(" AS t", f);
	put_range(f, d, false, lo, hi);
	fputs(lo->n || hi->n ? " AND" : " WHERE", f);
	fputs(" NOT EXISTS (SELECT 1 FROM ", f);
	put_table(f, d, true);
	fputs(" AS s WHERE ", f);
	for (unsigned i = 0; i < d->npk; i++) {
		if (i > 0)
			fputs(" AND ", f);
		fputs("s.", f);
		ctl_put_ident(f, d->cols[d->pk[i]].shadow);
		fputs(" = t.", f);
		ctl_put_ident(f, d->cols[d->pk[i]].orig);
	}
	fputs(") LIMIT 1", f);
	if (!stream_end(f, &sql))
		return;
	if (ctl_query(c, &res, "%s", sql)) {
		row = mysql_fetch_row(res);
		if (row != NULL) {
			size_t used = 0;

			out[0] = '\0';
			for (unsigned i = 0; i < d->npk && used < outlen; i++)
				used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? "," : "",
							 row[i] ? row[i] : "NULL");
		}
		mysql_free_result(res);
	}
	free(sql);
}

/* Warnings of the last statement that are not notes: false with the first. */
static bool no_warnings(struct ctl *c, char *err, size_t errlen)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool ok = true;

	if (mysql_warning_count(c->my) == 0)
		return true;
	if (!ctl_query(c, &res, "SHOW WARNINGS"))
		return true;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] != NULL && strcmp(row[0], "Note") != 0) {
			snprintf(err, errlen, "the copy gave a warning: %s %s: %s", row[0],
				 row[1] ? row[1] : "", row[2] ? row[2] : "");
			ok = false;
			break;
		}
	}
	mysql_free_result(res);
	return ok;
}

/*
 * Why the replicas ask the copy to wait, in `why` (false: they do not).
 * reps holds one control connection per replica, opened on demand.
 */
static bool replica_lag(struct deploy *d, struct ctl *reps, char *why, size_t whylen)
{
	struct deploys *ds = d->ds;

	for (unsigned i = 0; i < ds->nreplicas; i++) {
		const struct ctl_params *rp = &ds->replicas[i];
		struct ctl *r = &reps[i];
		MYSQL_RES *res;
		MYSQL_ROW row;
		MYSQL_FIELD *fields;
		unsigned nf, col = (unsigned)-1;
		long long lag = -1;
		bool any = false, null_lag = false;

		if (r->my == NULL && !ctl_connect(r, rp)) {
			snprintf(why, whylen, "replica %s:%d cannot be reached: %.80s", rp->host, rp->port, r->error);
			return true;
		}
		if (!ctl_query(r, &res, r->mariadb ? "SHOW ALL SLAVES STATUS" : "SHOW REPLICA STATUS")) {
			snprintf(why, whylen, "replica %s:%d: %.80s", rp->host, rp->port, r->error);
			ctl_close(r);
			return true;
		}
		nf = mysql_num_fields(res);
		fields = mysql_fetch_fields(res);
		for (unsigned k = 0; k < nf; k++)
			if (strcmp(fields[k].name, "Seconds_Behind_Master") == 0 ||
			    strcmp(fields[k].name, "Seconds_Behind_Source") == 0)
				col = k;
		while ((row = mysql_fetch_row(res)) != NULL && col < nf) {
			any = true;
			if (row[col] == NULL)
				null_lag = true;
			else if (strtoll(row[col], NULL, 10) > lag)
				lag = strtoll(row[col], NULL, 10);
		}
		mysql_free_result(res);
		if (!any || null_lag) {
			snprintf(why, whylen, "replica %s:%d is not replicating", rp->host, rp->port);
			return true;
		}
		if (lag * 1000 > ds->max_replica_lag_ms) {
			snprintf(why, whylen, "replica %s:%d lags %lld s > max_replica_lag_ms %d", rp->host, rp->port,
				 lag, ds->max_replica_lag_ms);
			return true;
		}
	}
	return false;
}

/* Wait while the server is busier than the threshold; false when stopping. */
static bool throttle(struct deploy *d, struct ctl *c, struct ctl *reps)
{
	for (;;) {
		uint64_t running = 0;
		int max;
		bool paused;
		char why[sizeof(d->throttle_reason)];

		pthread_mutex_lock(&d->ds->mu);
		max = d->max_threads_running;
		paused = d->paused;
		if (paused) {
			d->throttled = true;
			snprintf(d->throttle_reason, sizeof(d->throttle_reason),
				 "paused by the operator (deploy set %llu paused=0 resumes)", (unsigned long long)d->id);
		}
		pthread_mutex_unlock(&d->ds->mu);
		if (paused) {
			deploy_sleep(d, 1000);
			if (deploy_stopping(d))
				return false;
			continue;
		}
		if (max > 0 && ctl_u64(c, &running, NULL, "SELECT VARIABLE_VALUE FROM "
				       "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_RUNNING'") &&
		    running > (uint64_t)max) {
			pthread_mutex_lock(&d->ds->mu);
			d->throttled = true;
			snprintf(d->throttle_reason, sizeof(d->throttle_reason),
				 "Threads_running %llu > max_threads_running %d", (unsigned long long)running, max);
			pthread_mutex_unlock(&d->ds->mu);
			deploy_sleep(d, 250);
			if (deploy_stopping(d))
				return false;
			continue;
		}
		if (replica_lag(d, reps, why, sizeof(why))) {
			pthread_mutex_lock(&d->ds->mu);
			d->throttled = true;
			snprintf(d->throttle_reason, sizeof(d->throttle_reason), "%s", why);
			pthread_mutex_unlock(&d->ds->mu);
			deploy_sleep(d, 250);
			if (deploy_stopping(d))
				return false;
			continue;
		}
		pthread_mutex_lock(&d->ds->mu);
		d->throttled = false;
		d->throttle_reason[0] = '\0';
		pthread_mutex_unlock(&d->ds->mu);
		return !deploy_stopping(d);
	}
}

static void rollback(struct ctl *c)
{
	if (!ctl_exec(c, "ROLLBACK"))
		log_warning("deploy: ROLLBACK failed: %s", c->error);
}

/*
 * The chunk (lo, hi] holds a row that a unique key of the new schema
 * refuses: find which (copy it again without the check, in a transaction
 * rolled back, and look for the key the shadow lacks) for the message.
 */
static void unique_conflict(struct deploy *d, struct ctl *c, const struct key *lo, const struct key *hi,
			    char *err, size_t errlen)
{
	char k[256] = "?";
	uint64_t n;
	char *sql = copy_sql(d, c, lo, hi, COPY_KEEP, false, 0);

	if (sql != NULL && ctl_exec(c, "START TRANSACTION") && count_range(d, c, lo, hi, &n, false) &&
	    ctl_exec(c, "%s", sql))
		missing_key(d, c, lo, hi, k, sizeof(k));
	free(sql);
	rollback(c);
	snprintf(err, errlen, "the new schema refuses the row with key (%s): it conflicts with a unique key "
		 "of the shadow table", k);
}

/*
 * The chunk's copy after lo failed (not for a lock): the error, and when it
 * names the row ("... at row N": the N-th row the copy read, in key
 * order), that row's key, so that the operator can look at it.
 */
static void bad_row(struct deploy *d, struct ctl *c, const struct key *lo, char *err, size_t errlen)
{
	const char *at = strstr(c->error, " at row ");
	struct key none = { 0, NULL }, k = { 0, NULL };
	unsigned long nth = at != NULL ? strtoul(at + 8, NULL, 10) : 0;
	/* (before find_upper() writes c->error) */
	size_t used = (size_t)snprintf(err, errlen, "backfill: %s", c->error);

	if (nth == 0 || nth > UINT_MAX || used >= errlen || !find_upper(d, c, lo, &none, (unsigned)nth, &k, false) ||
	    k.n == 0) {
		key_free(&k);
		return;
	}
	used += (size_t)snprintf(err + used, errlen - used, " (the row with key (");
	for (unsigned i = 0; i < k.n && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s%s", i ? ", " : "", k.lit[i]);
	if (used < errlen)
		snprintf(err + used, errlen - used, "): the new schema cannot hold it)");
	key_free(&k);
}

/*
 * The last statement failed because NOWAIT met a locked row (or, on
 * MariaDB, any lock it would have waited for).  Either error rolls back
 * the statement only (MariaDB: the whole transaction under
 * innodb_rollback_on_timeout); the caller rolls back the transaction.
 */
static bool lock_busy(const struct ctl *c)
{
	return c->err == 1205 /* MariaDB: lock wait timeout */ || c->err == 3572 /* MySQL: ER_LOCK_NOWAIT */;
}

/* After a NOWAIT refusal: halve the chunk, sleep 5 ms doubling up to 500 ms. */
static void busy_backoff(struct deploy *d, unsigned *busy)
{
	int ms = 5 << (*busy < 7 ? *busy : 7);

	if (ms > 500)
		ms = 500;
	(*busy)++;
	pthread_mutex_lock(&d->ds->mu);
	d->lock_retries++;
	if (d->chunk_rows / 2 >= CHUNK_MIN)
		d->chunk_rows /= 2;
	if (*busy >= 3) {
		d->throttled = true;
		snprintf(d->throttle_reason, sizeof(d->throttle_reason),
			 "rows of the chunk are locked by client transactions (%u tries)", *busy);
	}
	pthread_mutex_unlock(&d->ds->mu);
	deploy_sleep(d, ms);
}

/*
 * Under ds->mu: the chunks up to key `upto` (JSON; NULL none), or the whole
 * table (end), are committed: the verifier may compare them.  Only after
 * the COMMIT: a range whose chunk is still open would differ.
 */
static void publish_frontier(struct deploy *d, const char *upto, bool end)
{
	char *dup = upto != NULL ? strdup(upto) : NULL;

	d->frontier_end = end;
	if (upto != NULL && dup == NULL)
		return;         /* out of memory: the old one still holds */
	free(d->frontier);
	d->frontier = dup;
}

/*
 * Chunks by key value.  With a primary key of one integer column, a chunk
 * is bounded by value, (lo, lo + width], instead of by the key n rows on,
 * which the server finds by reading those n rows once more (find_upper(),
 * about 5% of the backfill's time).  The width follows the density of the
 * chunks before, so that a chunk holds about chunk_rows rows; a gap in the
 * keys makes a chunk short and the next one wider.  A chunk also stops at
 * LIMIT SPAN_CAP * chunk_rows rows, so that a dense stretch after a sparse
 * one cannot make it long; a chunk cut there ends at its last row, found as
 * find_upper() finds it.  The table's smallest and largest keys are read
 * at the start and again when a chunk would reach the largest; past it,
 * the last chunk is open-ended (rows appended since, LIMIT too).  Values
 * are kept in offset binary (a signed key with its sign bit flipped), so
 * that their order and arithmetic are those of unsigned numbers.
 */
#define SPAN_CAP 2

struct span {
	bool on;                      /* the key is one integer column */
	bool uns;                     /* UNSIGNED */
	bool have_ends;               /* min and max read */
	bool empty;                   /* the table had no row then */
	unsigned long long min, max;  /* offset binary */
	unsigned long long width;     /* of the next chunk */
};

static bool span_parse(const struct span *sp, const char *lit, unsigned long long *v)
{
	char *end;

	errno = 0;
	if (sp->uns) {
		if (lit[0] == '-')
			return false;
		*v = strtoull(lit, &end, 10);
	} else {
		*v = (unsigned long long)strtoll(lit, &end, 10) ^ (1ULL << 63);
	}
	return errno == 0 && end != lit && *end == '\0';
}

static bool span_key(const struct span *sp, unsigned long long v, struct key *k)
{
	char buf[32];

	if (sp->uns)
		snprintf(buf, sizeof(buf), "%llu", v);
	else
		snprintf(buf, sizeof(buf), "%lld", (long long)(v ^ (1ULL << 63)));
	k->n = 0;
	k->lit = calloc(1, sizeof(char *));
	if (k->lit == NULL || (k->lit[0] = strdup(buf)) == NULL) {
		free(k->lit);
		k->lit = NULL;
		return false;
	}
	k->n = 1;
	return true;
}

static bool span_read_ends(struct deploy *d, struct ctl *c, struct span *sp)
{
	const char *col = d->cols[d->pk[0]].orig;
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool ok = true;

	if (!ctl_query(c, &res, "SELECT MIN(%I), MAX(%I) FROM %I.%I", col, col, d->db, d->table))
		return false;
	row = mysql_fetch_row(res);
	sp->empty = row == NULL || row[0] == NULL || row[1] == NULL;
	if (!sp->empty)
		ok = span_parse(sp, row[0], &sp->min) && span_parse(sp, row[1], &sp->max);
	mysql_free_result(res);
	if (!ok)
		snprintf(c->error, sizeof(c->error), "cannot read the table's smallest and largest keys");
	sp->have_ends = ok;
	if (ok && d->ds->copy_stall_ms > 0) {
		log_warning("deploy %llu: [debug] copy_stall_ms: stalling %d ms after reading the key range",
			    (unsigned long long)d->id, d->ds->copy_stall_ms);
		deploy_sleep(d, d->ds->copy_stall_ms);
	}
	return ok;
}

/*
 * The chunk after lo (lo->n == 0: from the table's start): its bound *hi
 * (the value *upto) and its first value *from; *last when it is
 * open-ended (hi->n == 0).
 */
static bool span_next(struct deploy *d, struct ctl *c, struct span *sp, const struct key *lo, struct key *hi,
		      unsigned long long *from, unsigned long long *upto, bool *last)
{
	unsigned long long at = 0, to = 0;

	hi->n = 0;
	hi->lit = NULL;
	*last = false;
	if (lo->n > 0 && !span_parse(sp, lo->lit[0], &at)) {
		snprintf(c->error, sizeof(c->error), "the copy position is not an integer: %.60s", lo->lit[0]);
		return false;
	}
	for (int pass = 0;; pass++) {
		if (sp->have_ends && !sp->empty) {
			*from = lo->n == 0 ? sp->min : at + 1;
			to = sp->width - 1 > ~0ULL - *from ? ~0ULL : *from + (sp->width - 1);
			if (lo->n > 0 && at >= sp->max)
				to = sp->max;     /* past the end: see below */
			else if (to < sp->max)
				break;
		}
		/* this chunk would reach the largest key: read the ends again */
		if (pass > 0 || !span_read_ends(d, c, sp)) {
			if (pass == 0)
				return false;
			break;
		}
	}
	if (sp->empty || (lo->n > 0 && at >= sp->max)) {
		*last = true;           /* open-ended: after lo, or the whole table */
		*from = lo->n == 0 ? 0 : at + 1;
		return true;
	}
	if (to > sp->max)
		to = sp->max;
	*upto = to;
	if (!span_key(sp, to, hi)) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		return false;
	}
	return true;
}

enum copy_result copy_run(struct deploy *d, struct ctl *c, char *err, size_t errlen)
{
	unsigned busy = 0;
	struct ctl *reps = calloc(d->ds->nreplicas + 1, sizeof(*reps));
	struct key lo = { 0, NULL }, hi = { 0, NULL }, none = { 0, NULL };
	enum copy_result rc = COPY_FAILED;
	uint64_t total = 0;
	struct span sp;

	memset(&sp, 0, sizeof(sp));
	sp.on = d->npk == 1 && keys_is_integer(&d->cols[d->pk[0]], &sp.uns);
	if (reps == NULL) {
		snprintf(err, errlen, "out of memory");
		return COPY_FAILED;
	}
	pthread_mutex_lock(&d->ds->mu);
	if (d->copied_upto != NULL && !key_from_json(d, d->copied_upto, &lo)) {
		pthread_mutex_unlock(&d->ds->mu);
		snprintf(err, errlen, "the saved copy position is unreadable: %.100s", d->copied_upto);
		free(reps);
		return COPY_FAILED;
	}
	publish_frontier(d, d->copied_upto, false);
	pthread_mutex_unlock(&d->ds->mu);
	if (ctl_u64(c, &total, NULL, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE "
		    "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q", d->db, d->table)) {
		pthread_mutex_lock(&d->ds->mu);
		d->rows_total = total > d->rows_copied ? total : d->rows_copied;
		pthread_mutex_unlock(&d->ds->mu);
	}
	for (;;) {
		double t0, ms;
		unsigned rows, records = 0, dups = 0, warns = 0;
		unsigned long long from = 0, upto = 0;
		char *sql, *pos;
		const char *info;
		bool last, copied;

		if (!throttle(d, c, reps)) {
			rc = COPY_STOPPED;
			break;
		}
		pthread_mutex_lock(&d->ds->mu);
		rows = d->chunk_rows;
		pthread_mutex_unlock(&d->ds->mu);
		if (sp.on && sp.width == 0)
			sp.width = rows;
		t0 = deploy_now_ms();
		if (!ctl_exec(c, "START TRANSACTION"))
			goto sqlerr;
		if (sp.on) {
			if (!span_next(d, c, &sp, &lo, &hi, &from, &upto, &last))
				goto sqlerr_rb;
		} else {
			if (!find_upper(d, c, &lo, &none, rows, &hi, false))
				goto sqlerr_rb;
			last = hi.n == 0;
		}
		/* NOWAIT: the INSERT never waits for a row of t (nor, on
		   MariaDB, for anything) while it holds the shadow's table-level
		   AUTO-INC lock (INSERT ... SELECT takes it at its first row and
		   keeps it to the statement's end), which mirrored writers need
		   too. */
		sql = copy_sql(d, c, &lo, &hi, COPY_KEEP_CHECKED, true, sp.on ? rows * SPAN_CAP : 0);
		if (sql == NULL) {
			snprintf(c->error, sizeof(c->error), "out of memory");
			goto sqlerr_rb;
		}
		copied = ctl_exec(c, "%s", sql);
		free(sql);
		if (!copied) {
			if (c->err == ER_SUBQUERY_NO_1_ROW) {
				rollback(c);
				unique_conflict(d, c, &lo, &hi, err, errlen);
				goto out;
			}
			if (!lock_busy(c)) {
				bad_row(d, c, &lo, err, errlen);
				rollback(c);
				goto out;
			}
			/* a client holds a row of the chunk: the statement left
			   nothing behind; let go, retry smaller */
			rollback(c);
			key_free(&hi);
			busy_backoff(d, &busy);
			if (sp.width / 2 > 0)
				sp.width /= 2;
			if (deploy_stopping(d)) {
				rc = COPY_STOPPED;
				break;
			}
			continue;
		}
		busy = 0;
		/* Records: the rows of t in the chunk, each read under its
		   lock.  (Until the count pass went, a COUNT(*) of the range
		   under the same locks had to match it: two locking reads of
		   one range in one transaction, so it could only catch an info
		   line we misread; the verifier compares every chunk's count
		   in t and in the shadow.) */
		info = mysql_info(c->my);
		if (info == NULL || sscanf(info, "Records: %u Duplicates: %u Warnings: %u",
					   &records, &dups, &warns) != 3) {
			rollback(c);
			snprintf(err, errlen, "backfill: the server did not say how many rows the copy read (%.60s)",
				 info != NULL ? info : "no info");
			goto out;
		}
		if (!no_warnings(c, err, errlen)) {
			rollback(c);
			goto out;
		}
		if (sp.on && records >= rows * SPAN_CAP) {
			/* cut by the LIMIT: the chunk ends at its last row.  A
			   locking read: the transaction's snapshot (the MIN/MAX
			   read) may predate rows the INSERT copied; the INSERT's
			   locks keep the range as it read it */
			key_free(&hi);
			if (!find_upper(d, c, &lo, &none, records, &hi, true))
				goto sqlerr_rb;
			if (hi.n == 0 || !span_parse(&sp, hi.lit[0], &upto)) {
				snprintf(c->error, sizeof(c->error), "cannot read the last key of a chunk");
				goto sqlerr_rb;
			}
			last = false;
		}
		if (last) {
			/* Everything after lo: the table's end is reached. */
		} else {
			key_free(&lo);
			lo = hi;
			hi.n = 0;
			hi.lit = NULL;
		}
		pos = lo.n > 0 ? key_to_json(&lo) : NULL;
		pthread_mutex_lock(&d->ds->mu);
		if (pos != NULL) {
			free(d->copied_upto);
			d->copied_upto = pos;
		}
		d->rows_copied += records;
		if (d->rows_copied > d->rows_total)
			d->rows_total = d->rows_copied;
		pthread_mutex_unlock(&d->ds->mu);
		if (!catalog_save(c, d))
			goto sqlerr_rb;
		if (!ctl_exec(c, "COMMIT"))
			goto sqlerr;
		ms = deploy_now_ms() - t0;
		pthread_mutex_lock(&d->ds->mu);
		publish_frontier(d, d->copied_upto, last);
		if (ms > 0) {
			double r = records * 1000.0 / ms;

			d->copy_rate = d->copy_rate > 0 ? 0.7 * d->copy_rate + 0.3 * r : r;
			/* (a chunk by value that found few rows, across a gap,
			   says little about the time a full chunk takes) */
			if (records > 0 && !last && (!sp.on || records * 2 >= rows || ms > d->target_chunk_ms)) {
				/* at most halved, at most 8 times bigger: from 1000 rows
				   the target is reached in a few chunks */
				double ideal = records * (double)d->target_chunk_ms / ms;
				double next = ideal < rows / 2.0 ? rows / 2.0 : ideal > rows * 8.0 ? rows * 8.0 : ideal;

				d->chunk_rows = next < CHUNK_MIN ? CHUNK_MIN : next > CHUNK_MAX ? CHUNK_MAX : (unsigned)next;
			}
			if (sp.on && !last) {
				/* the next chunk's width: chunk_rows at this chunk's
				   density (keys from..upto; rows below the MIN read at
				   the start: taken as dense); across a gap, 8 times wider */
				unsigned long long span = upto >= from ? upto - from + 1 : records;
				double w = records > 0 ? (double)span * d->chunk_rows / records : (double)sp.width * 8.0;

				sp.width = w < 1.0 ? 1 : w >= 1.8e19 ? ~0ULL : (unsigned long long)w;
			}
		}
		pthread_mutex_unlock(&d->ds->mu);
		if (last) {
			rc = COPY_DONE;
			break;
		}
	}
	goto out;
sqlerr_rb:
	snprintf(err, errlen, "backfill: %s", c->error);
	rollback(c);
	goto out;
sqlerr:
	snprintf(err, errlen, "backfill: %s", c->error);
out:
	key_free(&lo);
	key_free(&hi);
	for (unsigned i = 0; reps != NULL && i < d->ds->nreplicas; i++)
		ctl_close(&reps[i]);
	free(reps);
	return rc;
}

/* --- verification ------------------------------------------------------------ */

/* The row as one binary string, for checksum(). */
static void put_row_string(FILE *f, const struct deploy *d, bool shadow)
{
	fputs("CONCAT_WS('|'", f);
	for (unsigned i = 0; i < d->ncols; i++) {
		if (!d->cols[i].same_type)
			continue;
		fputs(", CAST(", f);
		ctl_put_ident(f, shadow ? d->cols[i].shadow : d->cols[i].orig);
		fputs(" AS BINARY)", f);
	}
	fputs(", CONCAT(''", f);
	for (unsigned i = 0; i < d->ncols; i++) {
		fputs(", ISNULL(", f);
		ctl_put_ident(f, shadow ? d->cols[i].shadow : d->cols[i].orig);
		fputc(')', f);
	}
	fputs("))", f);
}

/* SELECT COUNT(*), checksum FROM table <range> */
static bool checksum(struct deploy *d, struct ctl *c, bool shadow, const struct key *lo,
		     const struct key *hi, char *out, size_t outlen)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool ok;

	if (f == NULL)
		return false;
	/*
	 * Each row as one binary string: the values of the columns whose type
	 * did not change (raw bytes: no conversion, no collation), then one
	 * NULL flag per column.  Its hash: the first 64 bits of SHA1, as cheap
	 * here as CRC32 and CRC32C side by side.  Not a CRC: the BIT_XOR over
	 * the rows of a hash that is linear in the row's bits (CRCs are) lets
	 * the same change made to two rows of the same shape cancel out.
	 */
	fputs("SELECT COUNT(*), COALESCE(BIT_XOR(CAST(CONV(LEFT(SHA1(", f);
	put_row_string(f, d, shadow);
	fputs("), 16), 16, 10) AS UNSIGNED)), 0) FROM ", f);
	put_table(f, d, shadow);
	fputs(" FORCE INDEX (PRIMARY)", f);
	put_range(f, d, shadow, lo, hi);
	if (!stream_end(f, &sql))
		return false;
	ok = ctl_query(c, &res, "%s", sql);
	free(sql);
	if (!ok)
		return false;
	row = mysql_fetch_row(res);
	snprintf(out, outlen, "%s/%s", row && row[0] ? row[0] : "?", row && row[1] ? row[1] : "?");
	mysql_free_result(res);
	return true;
}

struct range {
	struct key lo, hi;
};

/* Re-copy one range under locks: t rows first, then the shadow's. */
static bool repair(struct deploy *d, struct ctl *c, const struct range *r)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f;
	uint64_t n;

	if (!ctl_exec(c, "START TRANSACTION"))
		return false;
	for (unsigned busy = 0;;) {
		if (count_range(d, c, &r->lo, &r->hi, &n, true))
			break;
		if (!lock_busy(c) || deploy_stopping(d))
			goto fail;
		rollback(c);
		busy_backoff(d, &busy);
		if (!ctl_exec(c, "START TRANSACTION"))
			return false;
	}
	f = open_memstream(&sql, &len);
	if (f == NULL)
		goto fail;
	fputs("DELETE FROM ", f);
	put_table(f, d, true);
	put_range(f, d, true, &r->lo, &r->hi);
	if (!stream_end(f, &sql) || !ctl_exec(c, "%s", sql))
		goto fail;
	free(sql);
	sql = copy_sql(d, c, &r->lo, &r->hi, COPY_PLAIN, false, 0);
	if (sql == NULL || !ctl_exec(c, "%s", sql))
		goto fail;
	free(sql);
	return ctl_exec(c, "COMMIT");
fail:
	free(sql);
	rollback(c);
	return false;
}

/*
 * Compare (lo, hi] of t and of the shadow under a snapshot of their own:
 * *same, and t's row count in *rows.  The shadow is read last, so that the
 * snapshot holds its metadata lock for one statement (the deferred index
 * build waits for it).  Error 1412 (a DDL on the shadow newer than the
 * snapshot) is tried again in a new one.
 */
static bool compare_range(struct deploy *d, struct ctl *c, const struct range *r, bool *same,
			  uint64_t *rows)
{
	char a[128], b[128];

	for (unsigned tries = 0;; tries++) {
		char msg[sizeof(c->error)];
		unsigned e;

		if (!ctl_exec(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"))
			return false;
		if (checksum(d, c, false, &r->lo, &r->hi, a, sizeof(a)) &&
		    checksum(d, c, true, &r->lo, &r->hi, b, sizeof(b))) {
			rollback(c);
			break;
		}
		e = c->err;
		memcpy(msg, c->error, sizeof(msg));
		rollback(c);
		c->err = e;
		memcpy(c->error, msg, sizeof(msg));
		if (e != 1412 /* ER_TABLE_DEF_CHANGED */ || tries >= 10 || deploy_stopping(d))
			return false;
	}
	*same = strcmp(a, b) == 0;
	*rows = strtoull(a, NULL, 10);
	if (!*same)
		log_info("deploy %llu: a chunk differs (count/checksum %s vs %s)", (unsigned long long)d->id, a, b);
	return true;
}

/* Under ds->mu: the verifier must end (the worker asks, cancel, shutdown). */
static bool verifier_stopping(const struct deploy *d)
{
	return d->verifier_stop || d->cancel || d->ds->stopping;
}

/*
 * One verification pass from the table's start, chunk by chunk, never past
 * the frontier the copy published: every range it compares has been
 * backfilled and committed, so any snapshot shows it equal in t and the
 * shadow (mirroring is transactional) unless something bypassed the proxy.
 * Caught up with the copy, it waits for the next chunk.
 */
static enum copy_result verify_loop(struct deploy *d, struct ctl *c, char *err, size_t errlen)
{
	struct range r = { { 0, NULL }, { 0, NULL } };
	struct key bound = { 0, NULL };
	enum copy_result rc = COPY_FAILED;

	pthread_mutex_lock(&d->ds->mu);
	d->rows_verified = 0;
	if (d->verify_rows == 0)
		d->verify_rows = 10000;
	pthread_mutex_unlock(&d->ds->mu);
	for (;;) {
		char *fr, *at;
		bool end, wait, stop, last, full, same;
		unsigned rows;
		uint64_t n = 0, n2;
		double t0, ms;

		pthread_mutex_lock(&d->ds->mu);
		end = d->frontier_end;
		fr = d->frontier != NULL ? strdup(d->frontier) : NULL;
		wait = d->paused;
		stop = verifier_stopping(d);
		rows = d->verify_rows;
		pthread_mutex_unlock(&d->ds->mu);
		if (stop) {
			free(fr);
			rc = COPY_STOPPED;
			break;
		}
		at = r.lo.n > 0 ? key_to_json(&r.lo) : NULL;
		if (!end && (fr == NULL || (at != NULL && strcmp(at, fr) == 0)))
			wait = true;    /* caught up with the copy */
		free(at);
		if (wait) {
			free(fr);
			deploy_sleep(d, 20);
			continue;
		}
		if (!end && !key_from_json(d, fr, &bound)) {
			snprintf(err, errlen, "verify: the copy position is unreadable: %.100s", fr);
			free(fr);
			break;
		}
		free(fr);
		t0 = deploy_now_ms();
		/* the chunk's end, read without locks; the range is compared in a
		   snapshot of its own below */
		if (!find_upper(d, c, &r.lo, &bound, rows, &r.hi, false))
			goto sqlerr;
		full = r.hi.n > 0;
		if (!full && bound.n > 0) {
			r.hi = bound;   /* fewer rows than that up to the frontier */
			bound.n = 0;
			bound.lit = NULL;
		}
		key_free(&bound);
		last = r.hi.n == 0;
		if (!compare_range(d, c, &r, &same, &n))
			goto sqlerr;
		if (!same) {
			pthread_mutex_lock(&d->ds->mu);
			d->verify_mismatches++;
			pthread_mutex_unlock(&d->ds->mu);
			if (!repair(d, c, &r)) {
				snprintf(err, errlen, "verify: re-copying a chunk that differed failed: %s", c->error);
				break;
			}
			if (!compare_range(d, c, &r, &same, &n2))
				goto sqlerr;
			if (!same) {
				snprintf(err, errlen, "verify: a chunk still differs after it was re-copied");
				break;
			}
			n = n2;
		}
		ms = deploy_now_ms() - t0;
		pthread_mutex_lock(&d->ds->mu);
		d->verify_chunks++;
		d->rows_verified += n;
		if (full && ms > 0) {
			/* half the copy's chunk time: the snapshot is short */
			double ideal = rows * (d->target_chunk_ms / 2.0) / ms;
			double next = ideal < rows / 2.0 ? rows / 2.0 : ideal > rows * 2.0 ? rows * 2.0 : ideal;

			d->verify_rows = next < 1000 ? 1000 : next > CHUNK_MAX ? CHUNK_MAX : (unsigned)next;
		}
		pthread_mutex_unlock(&d->ds->mu);
		if (last) {
			rc = COPY_DONE;
			break;
		}
		key_free(&r.lo);
		r.lo = r.hi;
		r.hi.n = 0;
		r.hi.lit = NULL;
	}
	goto out;
sqlerr:
	snprintf(err, errlen, "verify: %s", c->error);
out:
	key_free(&bound);
	key_free(&r.lo);
	key_free(&r.hi);
	return rc;
}

/* The verifier thread: its own control connection, one pass, the outcome in d. */
static void *verifier_main(void *arg)
{
	struct deploy *d = arg;
	struct ctl c;
	char err[sizeof(d->verify_err)] = "";
	enum copy_result rc = COPY_STOPPED;

	for (;;) {
		bool stop;

		if (ctl_connect(&c, &d->ds->ctl)) {
			rc = verify_loop(d, &c, err, sizeof(err));
			ctl_close(&c);
			break;
		}
		log_warning("deploy %llu: the verifier cannot connect: %s", (unsigned long long)d->id, c.error);
		deploy_sleep(d, 1000);
		pthread_mutex_lock(&d->ds->mu);
		stop = verifier_stopping(d);
		pthread_mutex_unlock(&d->ds->mu);
		if (stop)
			break;
	}
	pthread_mutex_lock(&d->ds->mu);
	d->verify_rc = rc;
	snprintf(d->verify_err, sizeof(d->verify_err), "%s", err);
	pthread_mutex_unlock(&d->ds->mu);
	ctl_thread_end();
	return NULL;
}

void verify_start(struct deploy *d)
{
	pthread_mutex_lock(&d->ds->mu);
	if (d->verifier_running) {
		pthread_mutex_unlock(&d->ds->mu);
		return;
	}
	d->verifier_stop = false;
	d->verify_rc = COPY_STOPPED;
	d->verify_err[0] = '\0';
	d->verifier_running = pthread_create(&d->verifier, NULL, verifier_main, d) == 0;
	if (!d->verifier_running)
		log_warning("deploy %llu: cannot start the verifier thread: verifying after the copy",
			    (unsigned long long)d->id);
	pthread_mutex_unlock(&d->ds->mu);
}

/* Join the verifier thread (running): its outcome, and why in err (NULL: not wanted). */
static enum copy_result verify_join(struct deploy *d, char *err, size_t errlen)
{
	enum copy_result rc;

	(void)pthread_join(d->verifier, NULL);
	pthread_mutex_lock(&d->ds->mu);
	d->verifier_running = false;
	rc = d->verify_rc;
	if (err != NULL)
		snprintf(err, errlen, "%s", d->verify_err);
	pthread_mutex_unlock(&d->ds->mu);
	return rc;
}

void verify_stop(struct deploy *d)
{
	pthread_mutex_lock(&d->ds->mu);
	if (!d->verifier_running) {
		pthread_mutex_unlock(&d->ds->mu);
		return;
	}
	d->verifier_stop = true;
	pthread_cond_broadcast(&d->ds->cv);
	pthread_mutex_unlock(&d->ds->mu);
	(void)verify_join(d, NULL, 0);
}

enum copy_result verify_run(struct deploy *d, struct ctl *c, char *err, size_t errlen)
{
	bool running;

	pthread_mutex_lock(&d->ds->mu);
	running = d->verifier_running;
	d->frontier_end = true;         /* the copy is done (state verifying) */
	pthread_mutex_unlock(&d->ds->mu);
	if (running)
		return verify_join(d, err, errlen);
	return verify_loop(d, c, err, errlen);
}
