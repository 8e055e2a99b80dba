/*
 * writes.c - mirroring and refusing writes to tables under deploy, in the
 * client's own session (see writes.h and cutover/mirror.h).
 *
 * UPDATE / DELETE (plan MP_LOCKED_KEYS), autocommit statement (a DELETE
 * first upserts its keys into the shadow, see cutover/mirror.h):
 *
 *   BEGIN                                   drop
 *   SELECT <keys> ... FOR UPDATE            capture -> the key set K
 *   <client's statement> AND key IN (K)     hold    (the client's answer)
 *   SHOW WARNINGS                           capture (if it had warnings)
 *   DELETE FROM shadow WHERE key IN (K)     drop
 *   INSERT INTO shadow SELECT .. FROM t ..  drop
 *   COMMIT                                  capture
 *
 * then the held answer goes to the client, its IN_TRANS bit cleared as
 * autocommit would have left it.  Inside the client's own transaction there
 * is no BEGIN / COMMIT: the mirror commits or rolls back with it.  INSERT
 * (MP_INSERT) runs the client's statement unchanged and re-copies the keys
 * it names, or the auto-increment range its OK packet reports.
 *
 * UPDATE by key (`WHERE key = value`) and INSERT whose keys are all in
 * the statement need no answer before their re-copy: it is sent right
 * behind the client's statement (with SHOW WARNINGS between, to keep the
 * client's warnings), one round trip in all.
 *
 * Inside a transaction of the client's, those statements and DELETE by key
 * (once the shadow holds every key) need nothing before COMMIT: the client's
 * statement runs as it is, and the keys it changed (its OK says whether it
 * changed any) are kept.  Before the COMMIT, in the same flight, one DELETE
 * of the keys the transaction deleted and one upsert of those it wrote copy
 * their rows as the transaction leaves them; the COMMIT's answer is held
 * until they are in.  Any other command that may end the transaction (DDL,
 * BEGIN, SET autocommit, LOCK TABLES, CALL, ...) or a mirrored statement
 * that cannot wait gets them applied first, then runs; ROLLBACK drops them.
 * The client's rows are locked until COMMIT, so nothing can write those
 * keys of either table in between.  A sysbench transaction of 4 writes
 * costs 1 statement of ours instead of 7.
 *
 * A multi-statement packet that writes a table under deploy and cannot be
 * deferred whole runs one statement at a time (multi_command(),
 * session_split_start()), each planned as above.
 *
 * What the client sees is its statement's own answer.  A mirror statement
 * that fails fails the deploy, not the client (deploys_fail()); only when
 * the server rolled the transaction back (deadlock) or the COMMIT failed
 * does the client get that error instead of its OK: then nothing was
 * applied, which is what an error means.
 */
#include "config.h"
#include "proxy/writes.h"
#include "proxy/session-internal.h"
#include "proxy/log.h"
#include "cutover/keys.h"
#include "cutover/mirror.h"
#include "cutover/routines.h"
#include "protocol/lexer.h"
#include "protocol/mysql.h"
#include "protocol/packet.h"
#include "protocol/params.h"
#include "protocol/resultset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WRITES_MAX_STMTS 64           /* statements of one COM_QUERY checked */
#define WRITES_MAX_KEY_BYTES (3 * 1024 * 1024) /* text of one statement's key list */
#define WRITES_RECOPY_CHUNK 10000     /* keys per re-copy statement of a long list ... */
#define WRITES_RECOPY_STMTS 4         /* ... in at most this many statements */
#define WRITES_MAX_GENERATED 200000   /* keys listed one by one for one bulk insert */
#define WRITES_MAX_TEXT (16 * 1024 * 1024 - 2)
#define ER_TABLE_DEF_CHANGED 1412
#define ER_GET_ERRNO 1030             /* "Got error 159 from storage engine" */
#define HA_ERR_TABLE_DEF_CHANGED 159  /* MariaDB sends the handler code itself */

/*
 * A prepared statement: the tables it names (for the cut-over gate) and,
 * when it may write, its text (to mirror its executes).
 */
struct wstmt {
	uint32_t id;
	bool may_write;
	bool tables_known;        /* false: it may touch any table */
	unsigned ntables;
	char *tables;             /* ntables pairs "db\0table\0", db resolved
				     at prepare time */
	char *sql;                /* may_write only */
	size_t len;
	enum sql_kind kind;       /* SQL_UNKNOWN unless one statement */
	bool nbe;                 /* the lexing the server read it with: */
	enum sql_quotes dq;       /* NO_BACKSLASH_ESCAPES, ANSI_QUOTES */
	unsigned nparams;
	struct params_types types;
	bool *long_data;          /* nparams flags: COM_STMT_SEND_LONG_DATA seen */
	struct wstmt *next;
};

/* A key a statement of the open transaction wrote, its re-copy deferred. */
struct pend_key {
	char *key;                /* tuple literal, as the plan wrote it */
	bool del;                 /* the last statement deleted it */
	bool fresh;               /* a plain INSERT of this transaction created
				     it: the shadow has never had it */
};

#define PEND_MAX 1000            /* deferred keys of one transaction, at most */

/*
 * An SQL-level prepared statement (PREPARE name FROM 'text') the session
 * made while deploys ran without a break: EXECUTE name is checked as its
 * text would be.  Kept only while some deploy runs: a PREPARE sent while
 * none did was not looked at, so at the first command with none running
 * the list is emptied, and EXECUTE of a name not in it is refused.  (A
 * stored procedure could PREPARE too, but one that does is refused while
 * a deploy runs, see mirror.c plan_call.)
 */
struct sqlprep {
	char name[SQL_NAME_SIZE];
	char db[256];             /* the session's database when prepared (s->db) */
	char *text;               /* the statement, its literal's escapes undone */
	size_t len;
	bool nbe;                 /* the lexing it was read with (the server */
	enum sql_quotes dq;       /* parsed it then): NO_BACKSLASH_ESCAPES, ANSI_QUOTES */
	struct sqlprep *next;
};

struct writes {
	struct wstmt *stmts;
	struct wstmt *preparing;  /* COM_STMT_PREPARE in flight (no id yet) */
	struct sqlprep *sqlpreps;
	struct sqlprep *sqlprep_sent; /* PREPARE in flight: kept if it succeeds */

	/* the mirror plan in flight */
	bool active;
	struct mirror_set *set;   /* reference: plan.t points into it */
	struct mirror_plan plan;
	uint64_t deploy_id;
	bool began;               /* we wrapped an autocommit statement */
	char **keys;              /* the keys to re-copy */
	unsigned nkeys;
	unsigned long long inc;   /* @@auto_increment_increment */
	bool failed;              /* the deploy was failed already */
	unsigned multi_writes;    /* statements of a multi-statement packet deferred */
	unsigned long long inserted; /* MP_UNIQUE, bulk: the statement's affected rows */
	const char *keys_why;     /* why read_keys() could not read them, or NULL */
	unsigned listed;          /* MP_UNIQUE: keys listed before it */
	unsigned aborted;         /* the error with which the server rolled the
				     transaction back, or 0 */
	bool savepoint;           /* the plan began with SAVEPOINT cutover_mirror
				     (a transaction older than the shadow) */
	bool undone;              /* ... and rolled back to it: the shadow was
				     out of the transaction's reach */

	/* re-copies the open transaction deferred to its COMMIT (see the
	   head of this file): one deploy at a time */
	uint64_t pend_id;
	struct pend_key *pend;
	unsigned npend, pend_cap;
	bool pend_unsure;         /* a ROLLBACK TO SAVEPOINT came since: a key
				     may be in t or not, whatever its last
				     statement did */

	/* EXECUTE name USING @v, ...: the values, read by a SELECT of the
	   proxy's before the command runs again (plan_execute); kept until
	   that command ends */
	struct params_literals exec_lits;
	char *exec_cmd;           /* the command they are for */
	size_t exec_cmd_len;
	unsigned exec_n;          /* values asked for */
	uint64_t exec_deploy;     /* the deploy that needs them */
};

/* [cutover] mirror_max_rows: rows one mirrored statement may change */
static unsigned max_keys(const struct session *s)
{
	int v = s->proxy->conf.cutover_mirror_max_rows;

	return v > 0 ? (unsigned)v : 1;
}

static struct writes *get(struct session *s)
{
	if (s->writes == NULL)
		s->writes = calloc(1, sizeof(*s->writes));
	return s->writes;
}

/* --- SQL-level prepared statements ---------------------------------------- */

/* A text read with (nbe, dq) reads the same under the session's dialect d. */
static bool same_lexing(bool nbe, enum sql_quotes dq, const struct sql_dialect *d)
{
	return nbe == d->no_backslash_escapes && dq == d->double_quotes;
}

#define EXEC_MAX_VALUES SQL_MAX_USING  /* EXECUTE ... USING values cutoverd reads */

static void exec_values_clear(struct writes *w)
{
	params_literals_free(&w->exec_lits);
	free(w->exec_cmd);
	w->exec_cmd = NULL;
	w->exec_cmd_len = 0;
}

static void sqlprep_free(struct sqlprep *x)
{
	if (x != NULL)
		free(x->text);
	free(x);
}

/* The link that points at the PREPARE named `name` (names ignore case),
   or at the list's end. */
static struct sqlprep **sqlprep_link(struct writes *w, const char *name)
{
	struct sqlprep **pp = &w->sqlpreps;

	while (*pp != NULL && strcasecmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void sqlprep_forget(struct writes *w, const char *name)
{
	struct sqlprep **pp = sqlprep_link(w, name);
	struct sqlprep *x = *pp;

	if (x != NULL) {
		*pp = x->next;
		sqlprep_free(x);
	}
}

static void sqlprep_clear(struct writes *w)
{
	struct sqlprep *x;

	while ((x = w->sqlpreps) != NULL) {
		w->sqlpreps = x->next;
		sqlprep_free(x);
	}
	sqlprep_free(w->sqlprep_sent);
	w->sqlprep_sent = NULL;
}

/*
 * The one statement of the text that PREPARE gave the name of EXECUTE st,
 * parsed into inner[0]; NULL when cutoverd has not seen that text in the
 * session's current database and sql_mode lexing, or it is not exactly one
 * statement.  (A SET of the session's settings or a CALL, which could
 * change how the server read the text, forgets every text: note_sqlpreps.)
 */
static const struct sqlprep *sqlprep_stmt(const struct session *s, const struct sql_stmt *st,
					  const struct sql_dialect *d, struct sql_stmt inner[2])
{
	const struct sqlprep *x;
	size_t n;

	if (s->writes == NULL || st->routine.name[0] == '\0')
		return NULL;
	x = *sqlprep_link(s->writes, st->routine.name);
	if (x == NULL || strcmp(x->db, s->db) != 0 || !same_lexing(x->nbe, x->dq, d))
		return NULL;
	n = sql_parse_dialect(x->text, x->len, inner, 2, d);
	if (n == 2 && inner[1].kind == SQL_EMPTY)
		n = 1;
	return n == 1 ? x : NULL;
}

static void free_keys(struct writes *w)
{
	for (unsigned i = 0; i < w->nkeys; i++)
		free(w->keys[i]);
	free(w->keys);
	w->keys = NULL;
	w->nkeys = 0;
}

static void pend_clear(struct writes *w)
{
	for (unsigned i = 0; i < w->npend; i++)
		free(w->pend[i].key);
	w->npend = 0;
	w->pend_id = 0;
	w->pend_unsure = false;
}

/* The next character of a key tuple literal that is not blank outside quotes. */
static const char *key_next(const char *p, char *quote)
{
	while (*quote == 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (*p == '\0')
		return p;
	if (*quote == 0 && (*p == '\'' || *p == '"')) {
		*quote = *p;
	} else if (*quote != 0 && *p == '\\' && p[1] != '\0') {
		return p;                 /* an escape: both characters compare */
	} else if (*quote != 0 && *p == *quote) {
		*quote = 0;               /* closes ('' reopens at once) */
	}
	return p;
}

/*
 * The same key tuple, written with other blanks between values ("( 5)" from
 * a WHERE, "(5)" from an INSERT): blanks outside quotes do not count.
 */
static bool same_key(const char *a, const char *b)
{
	char qa = 0, qb = 0;

	for (;;) {
		a = key_next(a, &qa);
		b = key_next(b, &qb);
		if (*a != *b)
			return false;
		if (*a == '\0')
			return true;
		if (qa != 0 && *a == '\\' && a[1] != '\0') {
			if (a[1] != b[1])
				return false;
			a++;
			b++;
		}
		a++;
		b++;
	}
}

/*
 * A deferred statement of deploy `id` changed these keys (kind: SQL_INSERT
 * with upsert or not, SQL_UPDATE, SQL_DELETE).  False when out of memory.
 */
static bool pend_add(struct writes *w, uint64_t id, enum sql_kind kind, bool upsert, char *const *keys,
		     unsigned n)
{
	bool some_deleted = false;

	if (w->npend + n > w->pend_cap) {
		unsigned cap = w->npend + n < 16 ? 16 : (w->npend + n) * 2;
		struct pend_key *np = realloc(w->pend, cap * sizeof(*np));

		if (np == NULL)
			return false;
		w->pend = np;
		w->pend_cap = cap;
	}
	w->pend_id = id;
	for (unsigned j = 0; j < w->npend; j++)
		some_deleted = some_deleted || (w->pend[j].del && !w->pend[j].fresh);
	for (unsigned i = 0; i < n; i++) {
		struct pend_key *k = NULL;

		for (unsigned j = 0; j < w->npend && k == NULL; j++)
			if (same_key(w->pend[j].key, keys[i]))
				k = &w->pend[j];
		if (k == NULL) {
			k = &w->pend[w->npend];
			k->key = strdup(keys[i]);
			if (k->key == NULL)
				return false;
			w->npend++;
			/* new to both tables, unless it is a key deleted
			   before under another spelling ('5' and 5) */
			k->fresh = kind == SQL_INSERT && !upsert && !some_deleted;
		}
		k->del = kind == SQL_DELETE;
	}
	return true;
}

void writes_plan_end(struct session *s)
{
	struct writes *w = s->writes;

	if (w == NULL || !w->active)
		return;
	mirror_plan_free(&w->plan);
	free_keys(w);
	mirror_set_unref(w->set);
	w->set = NULL;
	w->active = false;
	w->began = false;
	w->failed = false;
	w->aborted = 0;
	w->savepoint = false;
	w->undone = false;
}

static void wstmt_free(struct wstmt *x)
{
	if (x == NULL)
		return;
	free(x->tables);
	free(x->sql);
	params_types_free(&x->types);
	free(x->long_data);
	free(x);
}

void writes_forget_all(struct session *s)
{
	struct writes *w = s->writes;
	struct wstmt *x;

	if (w == NULL)
		return;
	pend_clear(w);            /* the server rolled the transaction back */
	sqlprep_clear(w);
	while ((x = w->stmts) != NULL) {
		w->stmts = x->next;
		wstmt_free(x);
	}
}

void writes_free(struct session *s)
{
	struct writes *w = s->writes;

	if (w == NULL)
		return;
	writes_plan_end(s);
	writes_forget_all(s);
	free(w->pend);
	wstmt_free(w->preparing);
	exec_values_clear(w);
	free(w);
	s->writes = NULL;
}

/* --- reading the command -------------------------------------------------------- */

/* The payload of s->cmd after the command byte, copied; NULL if too long. */
static char *cmd_payload(struct session *s, size_t *len)
{
	size_t n = evbuffer_get_length(s->cmd);
	struct evbuffer_ptr ptr;
	char *q;

	if (n < 5 || n - 5 > WRITES_MAX_TEXT)
		return NULL;
	q = malloc(n - 5 + 1);
	if (q == NULL)
		return NULL;
	evbuffer_ptr_set(s->cmd, &ptr, 5, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(s->cmd, &ptr, q, n - 5);
	q[n - 5] = '\0';
	*len = n - 5;
	return q;
}

static void session_dialect(const struct session *s, struct sql_dialect *d)
{
	memset(d, 0, sizeof(*d));
	d->no_backslash_escapes = (s->status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0;
	if (!sql_dialect_set_server(d, s->greeting.server_version, strlen(s->greeting.server_version)))
		d->version = 0;
}

static struct wstmt *find_stmt(struct writes *w, uint32_t id)
{
	for (struct wstmt *x = w->stmts; x != NULL; x = x->next)
		if (x->id == id)
			return x;
	return NULL;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* --- prepared statements -------------------------------------------------------- */

/* Statements that touch no table and end nothing the gate cares about. */
static bool touches_nothing(enum sql_kind k)
{
	switch (k) {
	case SQL_EMPTY:
	case SQL_BEGIN:
	case SQL_COMMIT:
	case SQL_ROLLBACK:
	case SQL_SAVEPOINT:
	case SQL_ROLLBACK_TO_SAVEPOINT:
	case SQL_RELEASE_SAVEPOINT:
	case SQL_SET_TRANSACTION:
	case SQL_USE:
	case SQL_SHOW_WARNINGS:
	case SQL_SHOW_ERRORS:
	case SQL_SHOW_COUNT_WARNINGS:
	case SQL_SHOW_COUNT_ERRORS:
	case SQL_GET_DIAGNOSTICS:
		return true;
	default:
		return false;
	}
}

void writes_prepare(struct session *s)
{
	struct writes *w = get(s);
	struct sql_stmt st[2];
	struct sql_dialect d;
	struct wstmt *x;
	size_t len, n, used = 0;
	char *q;

	if (w == NULL)
		return;
	wstmt_free(w->preparing);
	w->preparing = NULL;
	q = cmd_payload(s, &len);
	x = calloc(1, sizeof(*x));
	if (q == NULL || x == NULL) {
		free(q);
		free(x);
		return;
	}
	session_dialect(s, &d);
	n = sql_parse_dialect(q, len, st, 2, &d);
	x->tables_known = n == 1 && (st[0].tables_known || touches_nothing(st[0].kind));
	if (x->tables_known && st[0].ntables > 0) {
		size_t need = 0;

		for (unsigned i = 0; i < st[0].ntables; i++)
			need += strlen(st[0].tables[i].db[0] ? st[0].tables[i].db : s->db) + 1 +
				strlen(st[0].tables[i].name) + 1;
		x->tables = malloc(need);
		if (x->tables == NULL) {
			x->tables_known = false;
		} else {
			for (unsigned i = 0; i < st[0].ntables; i++) {
				const char *db = st[0].tables[i].db[0] ? st[0].tables[i].db : s->db;

				memcpy(x->tables + used, db, strlen(db) + 1);
				used += strlen(db) + 1;
				memcpy(x->tables + used, st[0].tables[i].name, strlen(st[0].tables[i].name) + 1);
				used += strlen(st[0].tables[i].name) + 1;
			}
			x->ntables = st[0].ntables;
		}
	}
	x->may_write = n == 1 && mirror_may_write(&st[0]);
	x->kind = n == 1 ? st[0].kind : SQL_UNKNOWN;
	x->nbe = d.no_backslash_escapes;
	x->dq = d.double_quotes;
	if (x->may_write) {
		x->sql = q;
		x->len = len;
	} else {
		free(q);
	}
	w->preparing = x;
}

void writes_prepare_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;
	struct wstmt *x;

	(void)st;
	if (w == NULL || w->preparing == NULL)
		return;
	x = w->preparing;
	w->preparing = NULL;
	if (rp->is_err) {
		wstmt_free(x);
		return;
	}
	x->id = rp->stmt_id;
	x->nparams = rp->num_params;
	x->long_data = calloc(x->nparams + 1, sizeof(bool));
	if (x->long_data == NULL) {
		wstmt_free(x);
		return;
	}
	x->next = w->stmts;
	w->stmts = x;
}

void writes_stmt_command(struct session *s)
{
	struct writes *w = s->writes;
	uint8_t h[4 + 1 + 4 + 2];
	size_t n;
	struct wstmt *x, **pp;

	if (w == NULL || w->stmts == NULL)
		return;
	n = evbuffer_copyout(s->cmd, h, sizeof(h));
	if (n < 9)
		return;
	x = find_stmt(w, le32(h + 5));
	if (x == NULL)
		return;
	switch (h[4]) {
	case COM_STMT_SEND_LONG_DATA:
		if (n >= 11) {
			unsigned param = (unsigned)h[9] | (unsigned)h[10] << 8;

			if (param < x->nparams)
				x->long_data[param] = true;
		}
		break;
	case COM_STMT_RESET:
		memset(x->long_data, 0, x->nparams * sizeof(bool));
		break;
	case COM_STMT_CLOSE:
		for (pp = &w->stmts; *pp != NULL; pp = &(*pp)->next)
			if (*pp == x) {
				*pp = x->next;
				wstmt_free(x);
				break;
			}
		break;
	default:
		break;
	}
}

/* Keep the types an execute binds (new_params_bound_flag), for later ones. */
static void note_types(struct wstmt *x, const uint8_t *pl, size_t len)
{
	size_t off = 1 + 4 + 1 + 4 + (x->nparams + 7) / 8;

	if (x->nparams == 0 || len < off + 1 || pl[off] != 1 || len < off + 1 + 2 * (size_t)x->nparams)
		return;
	if (x->types.types == NULL || x->types.n != x->nparams) {
		free(x->types.types);
		x->types.types = malloc(2 * (size_t)x->nparams);
		x->types.n = x->types.types != NULL ? x->nparams : 0;
		if (x->types.types == NULL)
			return;
	}
	memcpy(x->types.types, pl + off + 1, 2 * (size_t)x->nparams);
}

/* note_types() on the execute in s->cmd, copying only the part it reads. */
static void note_types_cmd(struct session *s, struct wstmt *x)
{
	size_t need = 1 + 4 + 1 + 4 + (x->nparams + 7) / 8 + 1 + 2 * (size_t)x->nparams;
	uint8_t small[512], *buf = need <= sizeof(small) ? small : malloc(need);
	struct evbuffer_ptr ptr;
	ev_ssize_t got;

	if (buf == NULL || x->nparams == 0)
		goto out;
	evbuffer_ptr_set(s->cmd, &ptr, 4, EVBUFFER_PTR_SET);
	got = evbuffer_copyout_from(s->cmd, &ptr, buf, need);
	if (got > 0)
		note_types(x, buf, (size_t)got);
out:
	if (buf != small)
		free(buf);
}

/* --- answers -------------------------------------------------------------------------- */

/* Replace what is held for the client with one ERR packet. */
static void hold_err(struct session *s, uint16_t code, const char *sqlstate, const char *msg)
{
	struct pkt_writer pl, fr;
	uint8_t seq = (uint8_t)(s->cmd_seq + 1);

	session_split_error(s);
	evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
	pkt_writer_init(&pl);
	pkt_writer_init(&fr);
	pkt_build_err(&pl, code, sqlstate, msg);
	pkt_frame(&fr, pl.buf, pl.len, &seq);
	if (!fr.err)
		evbuffer_add(s->hold, fr.buf, fr.len);
	pkt_writer_free(&pl);
	pkt_writer_free(&fr);
}

/* Replace what is held with the ERR packet captured from one of our steps. */
static void hold_captured_err(struct session *s)
{
	size_t n = evbuffer_get_length(s->capture);
	uint8_t *p;

	if (n < 5 || n > 65536 || (p = malloc(n)) == NULL) {
		evbuffer_drain(s->capture, n);
		hold_err(s, ER_PROXY_BACKEND, "HY000", "cutoverd: the statement failed");
		return;
	}
	evbuffer_remove(s->capture, p, n);
	session_split_error(s);
	evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
	p[3] = (uint8_t)(s->cmd_seq + 1);
	evbuffer_add(s->hold, p, n);
	free(p);
}

static void fail_deploy(struct session *s, const char *fmt, unsigned code)
{
	struct writes *w = s->writes;
	char why[256];

	if (w->failed)
		return;
	w->failed = true;
	snprintf(why, sizeof(why), fmt, code);
	slog_warning(s, "deploy %llu: %s", (unsigned long long)w->deploy_id, why);
	deploys_fail(s->proxy->deploys, w->deploy_id, why);
}

/* The type and character set of a column definition packet. */
static bool coldef_type(const uint8_t *p, size_t len, bool ext_meta, uint8_t *type, uint16_t *charset)
{
	struct pkt_reader r;
	size_t n;

	pkt_reader_init(&r, p, len);
	for (int k = 0; k < 6; k++)     /* catalog, schema, table, org_table, name, org_name */
		(void)pkt_get_lenenc_str(&r, &n, NULL);
	if (ext_meta)
		(void)pkt_get_lenenc_str(&r, &n, NULL);   /* MariaDB's extended metadata */
	if (pkt_get_lenenc(&r, NULL) != 0x0c)
		return false;
	*charset = pkt_get_u16(&r);
	(void)pkt_get_u32(&r);          /* column length */
	*type = pkt_get_u8(&r);
	return !r.err;
}

static bool type_is_integer(uint8_t t)
{
	return t == 1 || t == 2 || t == 3 || t == 8 || t == 9;   /* TINY SHORT LONG LONGLONG INT24 */
}

static bool type_is_string(uint8_t t)
{
	return t == 15 || t == 253 || t == 254 || (t >= 249 && t <= 252);   /* VARCHAR, strings, blobs */
}

/* A key value read back (an integer, or the hex of a string) is
   what column c stores (keys_literal_stored_as_written). */
static bool value_fits(const struct deploy_col *c, const char *v, size_t n)
{
	char lit[2 * 256 + 4];

	if (c->kind != KEY_BINARY && c->kind != KEY_STRING)
		return keys_literal_stored_as_written(c, v, n);
	if (n + 4 > sizeof(lit))
		return false;
	snprintf(lit, sizeof(lit), "X'%.*s'", (int)n, v);
	return keys_literal_stored_as_written(c, lit, n + 3);
}

/*
 * The head of a captured text result: its column count (*ncols, fewer than
 * 251), each column's type and character set, and the EOF after them when
 * the session has no CLIENT_DEPRECATE_EOF.  False when it is not that.
 */
static bool captured_columns(struct session *s, unsigned *ncols, uint8_t types[251], uint16_t charsets[251])
{
	bool ext = (s->ext_caps & MDB_EXTENDED_METADATA) != 0;
	uint8_t *p;
	size_t len;
	bool ok;

	p = diag_next_packet(s->capture, &len);
	ok = p != NULL && len >= 1 && p[0] < 251;
	*ncols = ok ? p[0] : 0;
	for (unsigned i = 0; ok && i < *ncols; i++) {
		free(p);
		p = diag_next_packet(s->capture, &len);
		ok = p != NULL && coldef_type(p, len, ext, &types[i], &charsets[i]);
	}
	if (ok && !(s->caps & CAP_DEPRECATE_EOF)) {
		free(p);
		p = diag_next_packet(s->capture, &len);
		ok = p != NULL && pkt_is_eof(p[0], len, 0);
	}
	free(p);
	return ok;
}

/*
 * The key tuples of a captured text result (lock_sql, or the shadow's keys)
 * appended to *keys / *nkeys.  Returns false when it cannot be read (or
 * holds too many rows: *too_many).
 */
static bool read_keys(struct session *s, const struct mirror_table *t, char ***keys, unsigned *nkeys,
		      unsigned cap, bool *too_many)
{
	const int *pos = s->writes->plan.key_pos;   /* a SELECT's rows: the keys' places */
	bool twice = s->writes->plan.changes_key;   /* each row: its key, its new key */
	unsigned ncols = twice ? 2 * t->npk : t->npk, got;
	uint8_t *p = NULL, types[251];
	uint16_t charsets[251];
	size_t len;
	unsigned i;
	bool ok = false;
	size_t bytes = 0;

	*too_many = false;
	for (i = 0; i < *nkeys; i++)
		bytes += strlen((*keys)[i]) + 2;
	s->writes->keys_why = NULL;
	if (!captured_columns(s, &got, types, charsets))
		goto out;
	if (pos != NULL) {
		ncols = got;
		for (i = 0; i < t->npk; i++)
			if (pos[i] < 0 || (unsigned)pos[i] >= ncols)
				goto out;
	} else if (got != ncols || t->npk > 16) {
		goto out;
	}
	/* values the proxy did not read from the key columns themselves (a
	   SELECT's items, an UPDATE's new keys) must be of the key's type:
	   integers for numeric keys, binary strings for binary ones, strings
	   in the key's character set for string ones (a SELECT's only); each
	   is checked below to be stored as it is (value_fits()) */
	for (i = 0; (pos != NULL || twice) && i < t->npk; i++) {
		unsigned at = pos != NULL ? (unsigned)pos[i] : t->npk + i;
		enum key_kind kind = t->cols[t->pk[i]].kind;

		if ((kind == KEY_NUMERIC && !type_is_integer(types[at])) ||
		    (kind == KEY_BINARY && (!type_is_string(types[at]) || charsets[at] != 63)) ||
		    (kind == KEY_STRING && (pos == NULL || !type_is_string(types[at]) ||
					    !keys_charset_is(charsets[at], t->cols[t->pk[i]].charset))) ||
		    kind == KEY_TEXT) {
			s->writes->keys_why = "a key value that is not of the key column's type (an integer for a "
					      "numeric key, a binary string for a binary one, a string in the key's "
					      "character set for a string one) would be converted as it is stored";
			goto out;
		}
	}
	for (;;) {
		struct rs_value v[251];
		char *vals[16];
		unsigned long lens[16];
		char **nk;

		free(p);
		p = diag_next_packet(s->capture, &len);
		if (p == NULL || len == 0 || p[0] == PKT_ERR)
			goto out;
		if (pkt_is_eof(p[0], len, s->caps)) {
			ok = true;
			goto out;
		}
		if (t->npk > 16 || !rs_parse_text_row(p, len, ncols, v))
			goto out;
		if (s->writes->plan.multi_rows) {
			/* a row of an outer join with no row of t: its key
			   columns, NOT NULL in t, are all NULL */
			for (i = 0; i < t->npk && v[i].p == NULL; i++)
				;
			if (i == t->npk)
				continue;
		}
		for (unsigned half = 0; half < (twice ? 2u : 1u); half++) {
			char hex[4][2 * 256 + 1];

			if (*nkeys >= cap) {
				*too_many = true;
				goto out;
			}
			for (i = 0; i < t->npk; i++) {
				const struct deploy_col *c = &t->cols[t->pk[i]];
				const struct rs_value *x = &v[pos != NULL ? (unsigned)pos[i] : half * t->npk + i];

				vals[i] = x->p == NULL ? NULL : (char *)x->p;
				lens[i] = (unsigned long)x->len;
				if (pos != NULL && c->autoinc &&
				    (vals[i] == NULL || (lens[i] == 1 && vals[i][0] == '0'))) {
					s->writes->keys_why = "the SELECT gives NULL or 0 for the AUTO_INCREMENT key: "
							      "the server would generate the keys";
					goto out;
				}
				if (pos != NULL && (c->kind == KEY_BINARY || c->kind == KEY_STRING) && vals[i] != NULL) {
					/* raw bytes (a string's in the key's character
					   set, checked above), as keys_put_literal() reads
					   HEX(col); up to 4 such key columns */
					if (lens[i] > 256 || i >= 4)
						goto out;
					for (unsigned long b = 0; b < lens[i]; b++)
						snprintf(hex[i] + 2 * b, 3, "%02X", (unsigned char)vals[i][b]);
					vals[i] = hex[i];
					lens[i] *= 2;
				}
				if ((pos != NULL || half == 1) && vals[i] != NULL && !value_fits(c, vals[i], lens[i])) {
					s->writes->keys_why = "a key value the column would store converted (out of an "
							      "integer key's range, longer than a string key, not a BINARY "
							      "key's length) would be copied by a key no row has";
					goto out;
				}
			}
			nk = realloc(*keys, (*nkeys + 1) * sizeof(char *));
			if (nk == NULL)
				goto out;
			*keys = nk;
			nk[*nkeys] = mirror_key_tuple(t, vals, lens);
			if (nk[*nkeys] == NULL)
				goto out;
			bytes += strlen(nk[(*nkeys)++]) + 2;
			if (bytes > WRITES_MAX_KEY_BYTES) {
				s->writes->keys_why = "the keys of the rows the statement changes are longer than "
						      "3 MiB of text; split it";
				goto out;
			}
		}
	}
out:
	free(p);
	evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
	return ok;
}

/* --- the steps --------------------------------------------------------------------- */

static void rollback_if_began(struct session *s)
{
	if (s->writes->began &&
	    !session_plan_add(s, session_query_packet("ROLLBACK"), RESP_KIND_QUERY, SINK_DROP, false, NULL))
		slog_warning(s, "cannot add ROLLBACK to the plan");
}

/* COMMIT of a wrapped statement answered. */
static void commit_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	if (rp->is_err) {
		/* nothing was committed: the client must not see its OK */
		hold_captured_err(s);
		fail_deploy(s, "COMMIT of a mirrored statement failed (error %u)", rp->err_code);
		return;
	}
	evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
}

/* The client's answer: the error that rolled its transaction back. */
static void hold_abort(struct session *s)
{
	if (s->writes->aborted == ER_LOCK_WAIT_TIMEOUT)
		hold_err(s, ER_LOCK_WAIT_TIMEOUT, "HY000", "Lock wait timeout exceeded; try restarting transaction");
	else
		hold_err(s, ER_LOCK_DEADLOCK, "40001", "Deadlock found when trying to get lock; try restarting transaction");
}

/* A re-copy statement answered. */
static void recopy_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	if (!rp->is_err)
		return;
	if (session_err_rolls_back(s, rp)) {
		/* the server rolled the whole transaction back */
		s->writes->aborted = rp->err_code;
		hold_abort(s);
		return;
	}
	if (s->writes->aborted || s->writes->undone)
		return;
	if (s->writes->savepoint && (rp->err_code == ER_TABLE_DEF_CHANGED || rp->err_code == ER_GET_ERRNO ||
				    rp->err_code == HA_ERR_TABLE_DEF_CHANGED)) {
		/* the transaction began before the shadow existed and InnoDB
		   keeps it out: undo the client's statement (not the deploy),
		   and answer what the server answers when a table changes
		   under a transaction */
		struct writes *w = s->writes;
		char msg[600];

		w->undone = true;
		snprintf(msg, sizeof(msg), "cutoverd: deploy request %llu on %s.%s started after this transaction "
			 "began, and the transaction cannot reach its shadow table: the statement was undone; "
			 "retry the transaction", (unsigned long long)w->deploy_id, w->plan.t->db, w->plan.t->table);
		if (!session_plan_add(s, session_query_packet("ROLLBACK TO SAVEPOINT cutover_mirror"), RESP_KIND_QUERY,
				      SINK_DROP, false, NULL)) {
			fail_deploy(s, "cannot undo a statement the shadow table was out of reach of (%u)", 0);
			return;
		}
		hold_err(s, ER_TABLE_DEF_CHANGED, "HY000", msg);
		deploys_count(s->proxy->deploys, w->deploy_id, true);
		s->proxy->stats.refused_writes++;
		return;
	}
	fail_deploy(s, "a mirrored write could not be applied to the shadow table (error %u)", rp->err_code);
}

/*
 * The table mirrored into holds every key of the live table (the backfill
 * is over, or the two were swapped): a key a DELETE finds in the live
 * table is in it too, so deleting it there takes a record lock only, and
 * the upsert that otherwise puts the keys there first is not needed.
 * (Writes that bypass the proxy can break this; they break the deploy
 * anyway.)
 */
static bool mirror_target_complete(const struct mirror_table *t)
{
	switch (t->state) {
	case DS_READY:
	case DS_CUTTING_OVER:
	case DS_COMPLETE:
	case DS_REVERTING:
	case DS_REVERTED:
		return true;
	default:
		return false;
	}
}

static void add_step(struct session *s, char *sql, enum step_sink sink, step_done_fn done)
{
	if (sql == NULL || !session_plan_add(s, session_query_packet(sql), RESP_KIND_QUERY, sink, false, done))
		fail_deploy(s, "cannot build a mirror statement (%u)", 0);
	else
		s->proxy->stats.injected_statements++;
	free(sql);
}

/* The client's own command, sent now (it waited for a step before it). */
static void add_client_now(struct session *s, step_done_fn done)
{
	struct evbuffer *pkt = evbuffer_new();

	if (pkt == NULL || evbuffer_add_buffer(pkt, s->cmd) != 0 ||
	    !session_plan_add(s, pkt, resp_kind_for_command(s->cmd_byte), SINK_HOLD, true, done)) {
		hold_err(s, ER_PROXY_BACKEND, "HY000", "cutoverd: out of memory mirroring the statement");
		rollback_if_began(s);
	}
}

static void add_commit(struct session *s)
{
	if (s->writes->began)
		add_step(s, strdup("COMMIT"), SINK_CAPTURE, commit_done);
}

/* The numbers of a captured one-row text result of n (<= 4) columns (0 if none). */
static void captured_u64s(struct session *s, unsigned n, unsigned long long *v)
{
	uint8_t *p;
	size_t len;

	for (unsigned i = 0; i < n; i++)
		v[i] = 0;
	/* count, n column definitions, [EOF], row */
	for (unsigned i = 0; i < 1 + n + !(s->caps & CAP_DEPRECATE_EOF); i++)
		free(diag_next_packet(s->capture, &len));
	p = diag_next_packet(s->capture, &len);
	if (p != NULL) {
		struct rs_value vals[4];

		if (n <= 4 && rs_parse_text_row(p, len, n, vals))
			for (unsigned i = 0; i < n; i++)
				if (vals[i].p != NULL && vals[i].len < 20) {
					char buf[24];

					memcpy(buf, vals[i].p, vals[i].len);
					buf[vals[i].len] = '\0';
					v[i] = strtoull(buf, NULL, 10);
				}
		free(p);
	}
	evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
}

/*
 * Where the last frame of b starts (its header), or -1 when b is not whole
 * frames: 0 for an OK packet; the EOF (or OK) that ends a RETURNING's rows.
 */
static ev_ssize_t last_frame(struct evbuffer *b)
{
	size_t len = evbuffer_get_length(b), off = 0;
	ev_ssize_t last = -1;

	while (off + 4 <= len) {
		struct evbuffer_ptr ptr;
		uint8_t h[4];

		if (evbuffer_ptr_set(b, &ptr, off, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(b, &ptr, h, 4) != 4)
			return -1;
		last = (ev_ssize_t)off;
		off += 4 + ((size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16);
	}
	return off == len ? last : -1;
}

/*
 * The client's statement succeeded (its answer held): count it as
 * mirrored, and if we wrapped it, clear IN_TRANS in the answer's last
 * packet (its OK, or the EOF after a RETURNING's rows), as autocommit
 * would have ended the transaction.
 */
static void held_ok_mirrored(struct session *s, const struct resp_parser *rp)
{
	struct writes *w = s->writes;
	ev_ssize_t last = w->began && rp->last_status_off > 0 ? last_frame(s->hold) : -1;

	if (last >= 0 && evbuffer_get_length(s->hold) >= (size_t)last + 4 + rp->last_status_off + 2) {
		size_t off = (size_t)last + 4 + rp->last_status_off;
		unsigned char *pos = evbuffer_pullup(s->hold, (ev_ssize_t)(off + 2));

		if (pos != NULL)
			pos[off] = (uint8_t)(pos[off] & ~SERVER_STATUS_IN_TRANS);
	}
	deploys_count(s->proxy->deploys, w->deploy_id, false);
}

/*
 * Of w->keys, the keys the rows had before the statement (after: false)
 * or have after it (true): all of them, or for an UPDATE that changes keys
 * every other one (read_keys() lists each row's key, then its new key).
 * *n; a new array of borrowed pointers, or NULL.
 */
static char **keys_of_rows(const struct writes *w, bool after, unsigned *n)
{
	char **k = malloc((w->nkeys + 1) * sizeof(*k));

	*n = 0;
	for (unsigned i = w->plan.changes_key && after ? 1 : 0; k != NULL && i < w->nkeys;
	     i += w->plan.changes_key ? 2 : 1)
		k[(*n)++] = w->keys[i];
	return k;
}

/*
 * Rows the client's statement changed: its OK packet's affected rows, or
 * for a RETURNING (a result set) the rows it returned.
 */
static uint64_t changed_rows(const struct writes *w, const struct resp_parser *rp)
{
	return w->plan.returning ? rp->rows : rp->affected_rows;
}

static void add_recopy_keys(struct session *s, uint64_t changed);

/* After the client's statement succeeded: re-copy the keys, commit. */
static void add_recopy(struct session *s, const struct resp_parser *rp)
{
	session_save_diagnostics(s, rp);
	held_ok_mirrored(s, rp);
	add_recopy_keys(s, changed_rows(s->writes, rp));
}

/* The re-copy itself; changed: the rows the client's statement changed. */
static void add_recopy_keys(struct session *s, uint64_t changed)
{
	struct writes *w = s->writes;
	const struct mirror_table *t = w->plan.t;

	if (w->nkeys == 0) {
		add_commit(s);
		return;
	}
	switch (w->plan.kind) {
	case SQL_INSERT:
	{
		/* new keys, or (IGNORE, ODKU, REPLACE) keys that may exist;
		   the generated keys of an INSERT ... SELECT can be many:
		   WRITES_RECOPY_CHUNK to a statement, more when that would
		   take more than WRITES_RECOPY_STMTS statements (the plan's
		   steps are few) */
		unsigned chunk = (w->nkeys + WRITES_RECOPY_STMTS - 1) / WRITES_RECOPY_STMTS;

		if (chunk < WRITES_RECOPY_CHUNK)
			chunk = WRITES_RECOPY_CHUNK;
		for (unsigned at = 0; at < w->nkeys && !w->failed; at += chunk)
			add_step(s, mirror_recopy_insert(t, w->keys + at, w->nkeys - at < chunk ? w->nkeys - at : chunk,
							 w->plan.upsert, false),
				 SINK_DROP, recopy_done);
		break;
	}
	case SQL_UPDATE:
		if (w->plan.changes_key) {
			/* the rows left their keys for new ones: delete every
			   old key from the shadow (it has them all, see
			   lock_done(): record locks only, and no old image is left
			   to hold a unique value a moved row takes), then copy the
			   rows from t by their new keys (every row has one; its
			   old key, gone from t, would lock a gap there) */
			unsigned nold, nnew;
			char **old = keys_of_rows(w, false, &nold), **new = keys_of_rows(w, true, &nnew);

			if (old == NULL || new == NULL) {
				free(old);
				free(new);
				fail_deploy(s, "out of memory mirroring an UPDATE that changes keys (%u)", 0);
				break;
			}
			add_step(s, mirror_recopy_delete(t, old, nold), SINK_DROP, recopy_done);
			add_step(s, mirror_recopy_insert(t, new, nnew, true, false), SINK_DROP, recopy_done);
			free(old);
			free(new);
			break;
		}
		add_step(s, mirror_recopy_insert(t, w->keys, w->nkeys, true, false), SINK_DROP, recopy_done);
		break;
	default:
		/* the keys were upserted before the DELETE, or the shadow has
		   every key (mirror_target_complete): they are all in the
		   shadow, so this takes record locks only.  A DELETE that
		   removed nothing (by key: no such row) has nothing to mirror,
		   and the shadow may lack the key */
		if (changed > 0)
			add_step(s, mirror_recopy_delete(t, w->keys, w->nkeys), SINK_DROP, recopy_done);
		break;
	}
	add_commit(s);
}

/*
 * The client's statement answered, its re-copy (and COMMIT) already sent
 * behind it.  Failed: the re-copy syncs the key all the same (harmless),
 * a deadlock rolled everything back (the re-copy's outcome is moot).
 */
static void piped_stmt_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	(void)st;
	if (rp->is_err) {
		if (session_err_rolls_back(s, rp))
			w->aborted = rp->err_code;
		return;
	}
	held_ok_mirrored(s, rp);
}

/* The client's UPDATE / DELETE, restricted to the locked keys, answered. */
static void locked_stmt_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	if (rp->is_err) {
		rollback_if_began(s);
		return;
	}
	add_recopy(s, rp);
}

static void add_restricted_stmt(struct session *s);

/*
 * A DELETE's keys were put in the shadow (a step of their own, before the
 * client's statement): only now is the DELETE sent, so that a deadlock
 * there, which rolls the transaction back, never lets the DELETE run on
 * its own afterwards (autocommit) while the client hears "deadlock".
 */
static void pre_upsert_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	recopy_done(s, st, rp);
	if (w->aborted) {
		rollback_if_began(s);
		return;
	}
	if (w->undone)
		return;     /* the client's statement is not run */
	if (w->plan.by_key) {
		add_client_now(s, locked_stmt_done);
		return;
	}
	add_restricted_stmt(s);
}

/* --- upserts on a table with other unique keys (MP_UNIQUE) ------------------------------ */

/* The rows it touched, listed again after it: copy the union both ways, commit. */
static void uq_post_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;
	bool too_many;

	if (rp->is_err) {
		recopy_done(s, st, rp);   /* a deadlock, or the deploy fails */
		if (!w->aborted)
			add_commit(s);
		return;
	}
	/* the keys listed before it may all be listed again */
	if (!read_keys(s, w->plan.t, &w->keys, &w->nkeys, w->listed + max_keys(s), &too_many)) {
		fail_deploy(s, "cannot read the keys an upsert touched (%u)", w->nkeys);
		add_commit(s);
		return;
	}
	if (w->plan.relist_check && w->nkeys - w->listed < w->inserted)
		/* rows its SELECT read that are gone (READ COMMITTED) */
		fail_deploy(s, "an INSERT ... SELECT inserted rows its SELECT no longer finds (%u found)",
			    w->nkeys - w->listed);
	if (w->nkeys > 0) {
		add_step(s, mirror_sync_delete(w->plan.t, w->keys, w->nkeys), SINK_DROP, recopy_done);
		add_step(s, mirror_recopy_insert(w->plan.t, w->keys, w->nkeys, true, false), SINK_DROP, recopy_done);
	}
	add_commit(s);
}

/* The client's statement answered: list the rows again. */
static void uq_stmt_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	(void)st;
	if (rp->is_err) {
		rollback_if_began(s);
		return;
	}
	session_save_diagnostics(s, rp);
	held_ok_mirrored(s, rp);
	w->inserted = rp->affected_rows;
	w->listed = w->nkeys;
	add_step(s, strdup(w->plan.lock_sql), SINK_CAPTURE, uq_post_done);
}

/* The rows it may touch were put in the shadow first: run it. */
static void uq_preup_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	recopy_done(s, st, rp);
	if (w->aborted || w->undone) {
		rollback_if_began(s);
		return;
	}
	add_client_now(s, uq_stmt_done);
}

/* The rows the upsert may touch are locked and listed.  While the copy runs
   they are put in the shadow first (see lock_done), so that deleting one
   later takes a record lock only; then the upsert runs. */
static bool read_locked_keys(struct session *s, const struct resp_parser *rp);

static void uq_lock_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	(void)st;
	if (!read_locked_keys(s, rp))
		return;
	if (w->nkeys > 0 && !mirror_target_complete(w->plan.t)) {
		add_step(s, mirror_recopy_insert(w->plan.t, w->keys, w->nkeys, true, false), SINK_DROP, uq_preup_done);
		return;
	}
	add_client_now(s, uq_stmt_done);
}

/*
 * The locking read of a plan answered: its keys into w->keys.  False when
 * the client was answered instead (the read failed as the statement would
 * have, or too many keys).
 */
static bool read_locked_keys(struct session *s, const struct resp_parser *rp)
{
	struct writes *w = s->writes;
	bool too_many;

	if (rp->is_err) {
		/* the client's statement would have failed the same way */
		hold_captured_err(s);
		rollback_if_began(s);
		return false;
	}
	if (!read_keys(s, w->plan.t, &w->keys, &w->nkeys,
		       w->plan.changes_key ? 2 * max_keys(s) : max_keys(s), &too_many)) {
		char msg[700];

		if (w->keys_why != NULL)
			snprintf(msg, sizeof(msg), "cutoverd: deploy request %llu is changing %s.%s: %s",
				 (unsigned long long)w->deploy_id, w->plan.t->db, w->plan.t->table, w->keys_why);
		else if (too_many)
			snprintf(msg, sizeof(msg), "cutoverd: deploy request %llu is changing %s.%s: a statement that "
				 "changes more than %u rows cannot be mirrored ([cutover] mirror_max_rows); split it",
				 (unsigned long long)w->deploy_id, w->plan.t->db, w->plan.t->table, max_keys(s));
		else
			snprintf(msg, sizeof(msg), "cutoverd: deploy request %llu: cannot read the keys to mirror",
				 (unsigned long long)w->deploy_id);
		hold_err(s, ER_PROXY_BACKEND, "HY000", msg);
		deploys_count(s->proxy->deploys, w->deploy_id, true);
		rollback_if_began(s);
		return false;
	}
	return true;
}

/* The keys are locked: run the client's statement restricted to them. */
static void lock_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	(void)st;
	if (!read_locked_keys(s, rp))
		return;
	if ((w->plan.kind == SQL_DELETE || w->plan.changes_key) && w->nkeys > 0 &&
	    !mirror_target_complete(w->plan.t)) {
		/* Put every key the rows have in the shadow first (they are all
		   in t, locked): deleting keys the shadow lacks (a DELETE, the
		   old keys of an UPDATE that changes them) would take gap locks
		   there, on which concurrent mirrored inserts deadlock.  The
		   statement follows from pre_upsert_done(). */
		unsigned nold;
		char **old = keys_of_rows(w, false, &nold);

		if (old == NULL) {
			hold_err(s, ER_PROXY_BACKEND, "HY000", "cutoverd: out of memory mirroring the statement");
			rollback_if_began(s);
			return;
		}
		add_step(s, mirror_recopy_insert(w->plan.t, old, nold, true, false), SINK_DROP, pre_upsert_done);
		free(old);
		return;
	}
	add_restricted_stmt(s);
}

/* The client's UPDATE / DELETE restricted to the keys its rows have (w->keys). */
static void add_restricted_stmt(struct session *s)
{
	struct writes *w = s->writes;
	char *cond = NULL, *sql = NULL, **old;
	unsigned nold;

	/* the rows' own keys only: a row that has a new key now is not one of them */
	old = keys_of_rows(w, false, &nold);
	if (old != NULL && nold == 0 && w->plan.returning)
		cond = mirror_key_none(w->plan.t, w->plan.qualifier);
	else if (old != NULL)
		cond = mirror_key_condition(w->plan.t, w->plan.qualifier, w->plan.multi_rows, old, nold);
	free(old);
	if (cond != NULL && asprintf(&sql, "%s%s%s", w->plan.stmt_head, cond, w->plan.stmt_tail) < 0)
		sql = NULL;
	free(cond);
	if (sql == NULL || !session_plan_add(s, session_query_packet(sql), RESP_KIND_QUERY, SINK_HOLD, true,
					     locked_stmt_done)) {
		hold_err(s, ER_PROXY_BACKEND, "HY000", "cutoverd: out of memory mirroring the statement");
		rollback_if_began(s);
	}
	free(sql);
}

/* @@auto_increment_increment arrived. */
static void inc_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	if (rp->is_err) {
		evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
		s->writes->inc = 0;
		return;
	}
	captured_u64s(s, 1, &s->writes->inc);
}

static void insert_done(struct session *s, struct step *st, const struct resp_parser *rp);

/*
 * INSERT ... SELECT: @@auto_increment_increment and the lock mode arrived;
 * the client's statement runs only if its generated keys will be
 * consecutive (the bulk insert holds the table's AUTO-INC lock).
 */
static void bulk_inc_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;
	unsigned long long v[2];

	(void)st;
	if (rp->is_err) {
		hold_captured_err(s);
		rollback_if_began(s);
		return;
	}
	captured_u64s(s, 2, v);
	w->inc = v[0];
	if (w->inc == 0 || v[1] == 2) {
		char msg[800];

		snprintf(msg, sizeof(msg), "cutoverd: deploy request %llu is changing %s.%s: %s "
			 "cannot be mirrored while innodb_autoinc_lock_mode = 2 (its keys are not consecutive)",
			 (unsigned long long)w->deploy_id, w->plan.t->db, w->plan.t->table,
			 w->plan.load ? "LOAD DATA" : "an INSERT ... SELECT");
		hold_err(s, ER_PROXY_BACKEND, "HY000", msg);
		deploys_count(s->proxy->deploys, w->deploy_id, true);
		rollback_if_began(s);
		return;
	}
	add_client_now(s, insert_done);
}

/*
 * The w->plan.ngenerated keys an INSERT generated from `first` on, as
 * w->keys.  count_ok: the statement said it changed that many rows (n).
 * False, with the deploy failed, when they cannot be told.
 */
static bool generated_keys(struct session *s, unsigned long long first, bool count_ok, unsigned n)
{
	struct writes *w = s->writes;
	char **nk;

	if (w->inc == 0 || first == 0 || !count_ok) {
		fail_deploy(s, "cannot tell the keys an INSERT generated (affected rows %u)", n);
		return false;
	}
	nk = calloc(w->plan.ngenerated, sizeof(char *));
	if (nk == NULL) {
		fail_deploy(s, "out of memory (%u)", 0);
		return false;
	}
	free_keys(w);
	w->keys = nk;
	for (unsigned i = 0; i < w->plan.ngenerated; i++) {
		w->keys[i] = mirror_key_generated(w->plan.t, first + (unsigned long long)i * w->inc);
		if (w->keys[i] == NULL)
			break;
		w->nkeys++;
	}
	return true;
}

static void returning_id_done(struct session *s, struct step *st, const struct resp_parser *rp);

/*
 * The w->inserted keys an INSERT ... SELECT or LOAD DATA generated from
 * `first` on (bulk_inc_done() saw the lock mode: consecutive), re-copied,
 * then the COMMIT: with auto_increment_increment 1 one range, however many
 * rows; with another increment a list, 10,000 keys to a statement.
 */
static void bulk_recopy(struct session *s, unsigned long long first)
{
	struct writes *w = s->writes;
	unsigned long long n = w->inserted;

	if (w->inc == 1 && first != 0 && first + (n - 1) >= first) {
		/* the range, then its last key alone (see mirror_recopy_range()) */
		char *last = mirror_key_generated(w->plan.t, first + (n - 1));

		if (n >= 2)
			add_step(s, mirror_recopy_range(w->plan.t, first, first + (n - 2)), SINK_DROP, recopy_done);
		add_step(s, last != NULL ? mirror_recopy_insert(w->plan.t, &last, 1, false, false) : NULL, SINK_DROP,
			 recopy_done);
		free(last);
		add_commit(s);
		return;
	}
	if (n > WRITES_MAX_GENERATED) {
		fail_deploy(s, "an INSERT ... SELECT or LOAD DATA of more than %u rows cannot be mirrored under "
			    "an auto_increment_increment other than 1", WRITES_MAX_GENERATED);
		add_commit(s);
		return;
	}
	w->plan.ngenerated = (unsigned)n;
	(void)generated_keys(s, first, true, (unsigned)n);
	add_recopy_keys(s, n);
}

/* The value of a captured SELECT LAST_INSERT_ID(); 0 if it failed. */
static unsigned long long captured_insert_id(struct session *s, const struct resp_parser *rp)
{
	unsigned long long first = 0;

	if (rp->is_err)
		evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
	else
		captured_u64s(s, 1, &first);
	return first;
}

/* LAST_INSERT_ID() after a LOAD DATA arrived: its first key. */
static void load_id_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	bulk_recopy(s, captured_insert_id(s, rp));
}

/* The client's INSERT answered: its keys, then the re-copy. */
static void insert_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	(void)st;
	if (rp->is_err) {
		rollback_if_began(s);
		return;
	}
	w->keys = w->plan.keys;
	w->nkeys = w->plan.nkeys;
	w->plan.keys = NULL;
	w->plan.nkeys = 0;
	if (w->plan.bulk) {
		/* (RETURNING is refused with a bulk insert: mirror.c) */
		if (rp->affected_rows == 0) {
			add_recopy(s, rp);     /* nothing inserted */
			return;
		}
		session_save_diagnostics(s, rp);
		held_ok_mirrored(s, rp);
		w->inserted = rp->affected_rows;
		if (w->plan.load)
			/* LOAD DATA's OK packet has no insert id */
			add_step(s, strdup("SELECT LAST_INSERT_ID()"), SINK_CAPTURE, load_id_done);
		else
			bulk_recopy(s, rp->last_insert_id);
		return;
	}
	if (w->plan.ngenerated > 0 && w->plan.returning) {
		/* no OK packet: the first key from LAST_INSERT_ID(), the
		   number of them from the rows returned */
		session_save_diagnostics(s, rp);
		held_ok_mirrored(s, rp);
		if (rp->rows != w->plan.ngenerated) {
			fail_deploy(s, "cannot tell the keys an INSERT ... RETURNING generated (rows %u)",
				    (unsigned)rp->rows);
			add_recopy_keys(s, rp->rows);
			return;
		}
		add_step(s, strdup("SELECT LAST_INSERT_ID()"), SINK_CAPTURE, returning_id_done);
		return;
	}
	if (w->plan.ngenerated > 0)
		(void)generated_keys(s, rp->last_insert_id, rp->affected_rows == w->plan.ngenerated,
				     (unsigned)rp->affected_rows);
	add_recopy(s, rp);
}

/* LAST_INSERT_ID() of an INSERT ... RETURNING arrived: its keys, the re-copy. */
static void returning_id_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;
	unsigned long long first = captured_insert_id(s, rp);

	(void)st;
	(void)generated_keys(s, first, !rp->is_err, w->plan.ngenerated);
	add_recopy_keys(s, w->plan.ngenerated);
}

/* --- the cut-over gate -------------------------------------------------------------- */

struct touches {
	uint64_t ids[SESSION_MAX_TOUCHED];
	unsigned n;
	bool any;                 /* may touch any table */
	bool ends;                /* one COMMIT or ROLLBACK, nothing else */
};

static void touch_add(struct touches *t, const struct mirror_table *mt)
{
	if (mt == NULL)
		return;
	for (unsigned i = 0; i < t->n; i++)
		if (t->ids[i] == mt->deploy_id)
			return;
	if (t->n == SESSION_MAX_TOUCHED)
		t->any = true;
	else
		t->ids[t->n++] = mt->deploy_id;
}

static void touch_table(struct touches *t, const struct mirror_set *m, const char *db, const char *name)
{
	touch_add(t, mirror_set_find(m, db, name));
	touch_add(t, mirror_set_find_shadow(m, db, name));
}

/* EXECUTE name of a text cutoverd saw (see struct sqlprep): touch the
   tables of that text; false when they are not known. */
static bool touch_prepared(struct session *s, const struct mirror_set *m, const struct sql_stmt *st,
			   const struct sql_dialect *d, struct touches *t)
{
	struct sql_stmt inner[2];

	if (sqlprep_stmt(s, st, d, inner) == NULL ||
	    (!inner[0].tables_known && !touches_nothing(inner[0].kind)))
		return false;
	for (unsigned k = 0; k < inner[0].ntables; k++)
		touch_table(t, m, inner[0].tables[k].db[0] ? inner[0].tables[k].db : s->db, inner[0].tables[k].name);
	return true;
}

/* CALL of a procedure every deploy read: it touches the deploys whose
   tables its body (or what it calls) names; false when that is not known
   (the CALL is refused then, or unknown).  A trigger that a procedure's
   write fires and that reads the table is not counted, as a function a
   SELECT calls is not. */
static bool touch_call(struct session *s, const struct mirror_set *m, const struct sql_stmt *st,
		       struct touches *t)
{
	const char *pdb = st->routine.db[0] != '\0' ? st->routine.db : s->db;

	if (st->routine.name[0] == '\0' || pdb[0] == '\0')
		return false;
	for (unsigned i = 0; i < m->n; i++) {
		const struct routine_verdict *v = m->tables[i].routines != NULL ?
			routines_find(m->tables[i].routines, pdb, st->routine.name) : NULL;

		if (v == NULL || v->use == RU_UNKNOWN)
			return false;
		if (v->use != RU_NONE)
			touch_add(t, &m->tables[i]);
	}
	return true;
}

/* The deploys whose tables (live or other) the command in s->cmd names. */
static void command_touches(struct session *s, const struct mirror_set *m, struct touches *t)
{
	memset(t, 0, sizeof(*t));
	if (s->cmd_byte == COM_STMT_EXECUTE) {
		uint8_t head[4 + 1 + 4];
		struct wstmt *x = NULL;
		const char *q;

		if (evbuffer_copyout(s->cmd, head, sizeof(head)) == (ev_ssize_t)sizeof(head) && s->writes != NULL)
			x = find_stmt(s->writes, le32(head + 5));
		if (x != NULL && x->kind == SQL_CALL && x->sql != NULL) {
			struct sql_stmt st[2];
			struct sql_dialect d;

			session_dialect(s, &d);
			if (sql_parse_dialect(x->sql, x->len, st, 2, &d) >= 1 && st[0].kind == SQL_CALL &&
			    touch_call(s, m, &st[0], t))
				return;
		}
		if (x == NULL || !x->tables_known) {
			t->any = true;
			return;
		}
		q = x->tables;
		for (unsigned i = 0; i < x->ntables; i++) {
			const char *name = q + strlen(q) + 1;

			touch_table(t, m, q, name);
			q = name + strlen(name) + 1;
		}
		return;
	}
	if (s->cmd_byte == COM_QUERY) {
		struct sql_stmt st[WRITES_MAX_STMTS];
		struct sql_dialect d;
		size_t len, n;
		char *text = cmd_payload(s, &len);

		if (text == NULL) {
			t->any = true;
			return;
		}
		session_dialect(s, &d);
		n = sql_parse_dialect(text, len, st, WRITES_MAX_STMTS, &d);
		if (n > WRITES_MAX_STMTS)
			t->any = true;
		t->ends = n == 1 && (st[0].kind == SQL_COMMIT || st[0].kind == SQL_ROLLBACK);
		for (size_t i = 0; i < n && i < WRITES_MAX_STMTS && !t->any; i++) {
			if (touches_nothing(st[i].kind))
				continue;
			if (st[i].kind == SQL_EXECUTE && touch_prepared(s, m, &st[i], &d, t))
				continue;
			if (st[i].kind == SQL_CALL && touch_call(s, m, &st[i], t))
				continue;
			if (!st[i].tables_known) {
				t->any = true;
				break;
			}
			for (unsigned k = 0; k < st[i].ntables; k++)
				touch_table(t, m, st[i].tables[k].db[0] ? st[i].tables[k].db : s->db,
					    st[i].tables[k].name);
		}
		free(text);
	}
}

bool writes_session_touched(const struct session *s, uint64_t deploy_id)
{
	if (s->touched_any)
		return true;
	for (unsigned i = 0; i < s->ntouched; i++)
		if (s->touched[i] == deploy_id)
			return true;
	return false;
}

bool writes_gate(struct session *s)
{
	const struct mirror_set *m = s->proxy->mirrors;
	struct touches t;

	s->cmd_ends_trans = false;
	if (m == NULL || m->n == 0 || (s->cmd_byte != COM_QUERY && s->cmd_byte != COM_STMT_EXECUTE))
		return false;
	if (!s->in_trans) {
		s->ntouched = 0;          /* a new transaction (or statement) */
		s->touched_any = false;
	}
	command_touches(s, m, &t);
	s->cmd_ends_trans = t.ends;
	if (t.n == 0 && !t.any)
		return false;
	if (m->ngated > 0) {
		bool named = false, draining = false;

		/* a transaction the drain waits for (it touched a gated table)
		   goes on, whatever gated table it touches next: holding it
		   would only make the drain wait for itself */
		for (unsigned i = 0; i < m->n; i++) {
			const struct mirror_table *mt = &m->tables[i];

			if (mt->gate_epoch == 0 || mt->gate_epoch == s->proxy->gate_waiting)
				continue;   /* open, or waiting for a quiet moment */
			draining = draining || writes_session_touched(s, mt->deploy_id);
			named = named || t.any;
			for (unsigned k = 0; k < t.n && !named; k++)
				named = t.ids[k] == mt->deploy_id;
		}
		if (named && !draining)
			return true;      /* hold it until the gate opens */
	}
	if (s->ntouched == 0 && !s->touched_any)
		clock_gettime(CLOCK_MONOTONIC, &s->touched_since);
	if (t.any)
		s->touched_any = true;
	for (unsigned k = 0; k < t.n; k++) {
		if (writes_session_touched(s, t.ids[k]))
			continue;
		if (s->ntouched == SESSION_MAX_TOUCHED)
			s->touched_any = true;
		else
			s->touched[s->ntouched++] = t.ids[k];
	}
	return false;
}

/* --- the decision ------------------------------------------------------------------ */

/* A write refused: counted (deploy show, stats); msg is the client's error. */
static void count_refusal(struct session *s, uint64_t deploy_id, const char *why, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "cutoverd: %s", why);
	if (deploy_id != 0)
		deploys_count(s->proxy->deploys, deploy_id, true);
	s->proxy->stats.refused_writes++;
}

static void refuse(struct session *s, uint64_t deploy_id, const char *why)
{
	char msg[1100];

	count_refusal(s, deploy_id, why, msg, sizeof(msg));
	evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
	session_command_error(s, ER_PROXY_BACKEND, "HY000", msg);
}

/*
 * The client's statement (pkt, or its own command when NULL) with its
 * re-copy sent right behind it, not after its answer (one round trip): the
 * statement (held), SHOW WARNINGS (to keep its warnings for the client),
 * the upsert of `keys`, and COMMIT when we wrapped it.  Takes pkt.
 */
static bool add_piped(struct session *s, struct evbuffer *pkt, char *const *keys, unsigned nkeys)
{
	struct writes *w = s->writes;
	char *up = mirror_recopy_insert(w->plan.t, keys, nkeys, true, false);
	bool ok;

	if (up == NULL) {
		if (pkt != NULL)
			evbuffer_free(pkt);
		return false;
	}
	ok = session_plan_add(s, pkt, pkt != NULL ? RESP_KIND_QUERY : resp_kind_for_command(s->cmd_byte), SINK_HOLD,
			      true, piped_stmt_done) &&
	     session_plan_save_diagnostics(s) &&
	     session_plan_add(s, session_query_packet(up), RESP_KIND_QUERY, SINK_DROP, false, recopy_done) &&
	     (!w->began ||
	      session_plan_add(s, session_query_packet("COMMIT"), RESP_KIND_QUERY, SINK_CAPTURE, false, commit_done));
	free(up);
	return ok;
}

/* --- re-copies deferred to COMMIT ------------------------------------------------ */

/*
 * Statements that never end the open transaction (no implicit commit, no
 * ROLLBACK): the deferred re-copies can wait behind them.  Anything else
 * (COMMIT, DDL, BEGIN, LOCK TABLES, SET autocommit, CALL, XA END, ...)
 * gets them applied first.
 */
static bool keeps_transaction(enum sql_kind k)
{
	switch (k) {
	case SQL_EMPTY:
	case SQL_SELECT:
	case SQL_INSERT:
	case SQL_REPLACE:
	case SQL_UPDATE:
	case SQL_DELETE:
	case SQL_SAVEPOINT:
	case SQL_ROLLBACK_TO_SAVEPOINT:
	case SQL_RELEASE_SAVEPOINT:
	case SQL_SHOW_WARNINGS:
	case SQL_SHOW_ERRORS:
	case SQL_SHOW_COUNT_WARNINGS:
	case SQL_SHOW_COUNT_ERRORS:
	case SQL_GET_DIAGNOSTICS:
	case SQL_SHOW:
	case SQL_DO:
		return true;
	default:
		return false;
	}
}

/*
 * May this mirrored statement leave its re-copy to the transaction's
 * COMMIT?  Only statements whose key set the plan knows before they run
 * (UPDATE / DELETE by key, INSERT naming every key), inside a transaction
 * of the client's that began after the shadow existed, one deploy at a time.
 */
static bool deferrable(const struct session *s, const struct writes *w, const struct mirror_plan *pl, uint64_t id)
{
	if (!s->in_trans && (s->status & SERVER_STATUS_AUTOCOMMIT))
		return false;             /* autocommit: we wrap it */
	if (s->proxy->rollback_on_timeout < 0)
		return false;             /* which errors end a transaction is not known */
	if (s->trans_predates_deploy || (w->npend > 0 && w->pend_id != id) || w->npend + pl->nkeys > PEND_MAX)
		return false;
	if (pl->how == MP_UNIQUE)
		return false;             /* its keys are known only after it ran */
	if (pl->returning)
		return false;             /* no OK packet says what it changed */
	if (pl->how == MP_LOCKED_KEYS)
		/* a DELETE's key must be in the shadow already (the
		   backfill is over): then deleting it later takes a record
		   lock only */
		return pl->by_key && (pl->kind == SQL_UPDATE ||
				      (pl->kind == SQL_DELETE && mirror_target_complete(pl->t)));
	return !pl->bulk && pl->ngenerated == 0 && pl->nkeys > 0;
}

/* The deploy of the deferred keys fails (outside any plan of its own); they are dropped. */
static void fail_pending(struct session *s, const char *fmt, unsigned n)
{
	struct writes *w = s->writes;

	w->deploy_id = w->pend_id;
	fail_deploy(s, fmt, n);
	w->failed = false;
	pend_clear(w);
}

/* The deferred statement answered: what it changed waits for COMMIT. */
static void deferred_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	(void)st;
	/* a write uses its table: the server's list is now its own */
	s->maybe_warnings = rp->is_err || rp->warnings > 0;
	if (rp->is_err || rp->affected_rows == 0)
		return;                   /* changed nothing */
	if (!pend_add(w, w->deploy_id, w->plan.kind, w->plan.upsert, w->plan.keys, w->plan.nkeys)) {
		fail_deploy(s, "out of memory keeping the keys of a transaction (%u)", 0);
		pend_clear(w);
		return;
	}
	deploys_count(s->proxy->deploys, w->deploy_id, false);
}

static const struct mirror_table *find_deploy(const struct mirror_set *m, uint64_t id)
{
	for (unsigned i = 0; m != NULL && i < m->n; i++)
		if (m->tables[i].deploy_id == id)
			return &m->tables[i];
	return NULL;
}

/* The client's COMMIT behind the re-copies answered. */
static void flushed_commit_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	(void)rp;
	if (s->writes->aborted)   /* a re-copy's error rolled back: nothing was committed */
		hold_abort(s);
}

/*
 * Apply the deferred re-copies: deletes, then upserts (either order gives
 * the same rows: a key the transaction deleted and wrote again is in both).
 * Before the client's COMMIT (commit: sent in the same flight, its answer
 * held), or before any other command, which then runs once they succeeded
 * (session_plan_rerun).  Returns writes_command()'s answer.
 */
static bool flush_plan(struct session *s, bool commit)
{
	struct writes *w = s->writes;
	const struct mirror_table *t = find_deploy(s->proxy->mirrors, w->pend_id);
	char **up = NULL, **del = NULL;
	unsigned nup = 0, ndel = 0;
	bool ok = true;

	if (t == NULL) {
		pend_clear(w);            /* the deploy ended: nothing to keep in sync */
		return false;
	}
	up = malloc(w->npend * sizeof(*up));
	del = malloc(w->npend * sizeof(*del));
	if (up == NULL || del == NULL) {
		free(up);
		free(del);
		fail_pending(s, "out of memory applying the writes of a transaction (%u)", 0);
		return false;
	}
	for (unsigned i = 0; i < w->npend; i++) {
		const struct pend_key *k = &w->pend[i];

		/* deleted: gone from the shadow unless t has it (a key this
		   transaction created and deleted is in neither); written:
		   its row copied; unsure: both, whichever t says */
		if (w->pend_unsure || (k->del && !k->fresh))
			del[ndel++] = k->key;
		if (w->pend_unsure || !k->del)
			up[nup++] = k->key;
	}
	w->active = true;
	w->set = mirror_set_ref(s->proxy->mirrors);
	w->deploy_id = w->pend_id;
	/* the re-copies reset the server's list of warnings, which COMMIT
	   (or a statement without tables) would have left to the client:
	   save it first when it may hold some */
	if (s->maybe_warnings && !session_plan_save_diagnostics(s))
		ok = false;
	s->client_keeps_diag = true;
	if (ndel > 0)
		add_step(s, mirror_sync_delete(t, del, ndel), SINK_DROP, recopy_done);
	if (nup > 0)
		add_step(s, mirror_recopy_insert(t, up, nup, true, false), SINK_DROP, recopy_done);
	free(up);
	free(del);
	pend_clear(w);
	if (commit)
		ok = ok && session_plan_add(s, NULL, resp_kind_for_command(s->cmd_byte), SINK_HOLD, true,
					    flushed_commit_done);
	else
		session_plan_rerun(s);
	if (!ok) {
		writes_plan_end(s);
		return false;
	}
	session_plan_start(s);
	return true;
}

/*
 * The open transaction deferred re-copies, and the command in s->cmd is
 * none of the statements that keep the transaction (kind: its statement's,
 * SQL_UNKNOWN when there are several or it is not known).
 */
static bool pend_before(struct session *s, enum sql_kind kind)
{
	if (kind == SQL_ROLLBACK) {
		pend_clear(s->writes);
		return false;
	}
	if (keeps_transaction(kind))
		return false;
	return flush_plan(s, kind == SQL_COMMIT);
}

bool writes_other_command(struct session *s)
{
	struct writes *w = s->writes;

	if (w == NULL || w->npend == 0)
		return false;
	switch (s->cmd_byte) {
	case COM_PING:
	case COM_STATISTICS:
	case COM_INIT_DB:
	case COM_FIELD_LIST:
	case COM_PROCESS_INFO:
	case COM_DEBUG:
	case COM_SET_OPTION:
	case COM_STMT_PREPARE:
	case COM_STMT_SEND_LONG_DATA:
	case COM_STMT_RESET:
	case COM_STMT_CLOSE:
	case COM_STMT_FETCH:
		return false;             /* none ends a transaction */
	default:
		/* COM_REFRESH commits; anything not known to keep the
		   transaction gets the deferred rows applied first */
		return flush_plan(s, false);
	}
}

void writes_command_end(struct session *s)
{
	struct writes *w = s->writes;

	if (w != NULL)
		exec_values_clear(w);

	if (w != NULL && w->sqlprep_sent != NULL) {
		/* a failed PREPARE leaves no statement of that name */
		if (!s->rp.is_err) {
			w->sqlprep_sent->next = w->sqlpreps;
			w->sqlpreps = w->sqlprep_sent;
		} else {
			sqlprep_free(w->sqlprep_sent);
		}
		w->sqlprep_sent = NULL;
	}
	if (w == NULL || w->npend == 0)
		return;
	if (s->rp.is_err) {
		/* an ERR carries no status: session.c cleared IN_TRANS for
		   the errors that roll the whole transaction back (deadlock,
		   lock wait timeout under innodb_rollback_on_timeout); no
		   other ends it */
		if (!s->in_trans)
			pend_clear(w);
		return;
	}
	if (s->in_trans)
		return;
	/* the transaction ended on a statement that keeps it: a commit we
	   did not foresee left the shadow behind (or an error we did not
	   know rolled it back): stop, loudly */
	fail_pending(s, "a transaction ended before the writes it deferred to its COMMIT were "
		     "mirrored (%u keys)", w->npend);
}

/* The client's statement as it is; its keys go to the deferred set when it answers (done). */
static void start_deferred(struct session *s, struct writes *w, step_done_fn done)
{
	w->active = true;
	w->set = mirror_set_ref(s->proxy->mirrors);
	if (!session_plan_add(s, NULL, resp_kind_for_command(s->cmd_byte), SINK_CLIENT, true, done)) {
		uint64_t id = w->deploy_id;

		writes_plan_end(s);
		refuse(s, id, "out of memory planning the mirror");
		return;
	}
	session_plan_start(s);
}

/*
 * The multi-statement packet answered (its last result in rp): the server
 * may have stopped at any statement, so every key of its writes is copied
 * both ways at COMMIT, as the tables then say (pend_unsure).
 */
static void multi_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;

	(void)st;
	(void)rp;
	if (!pend_add(w, w->deploy_id, SQL_UPDATE, false, w->plan.keys, w->plan.nkeys)) {
		fail_deploy(s, "out of memory keeping the keys of a transaction (%u)", 0);
		pend_clear(w);
		return;
	}
	w->pend_unsure = true;
	for (unsigned i = 0; i < w->multi_writes; i++)
		deploys_count(s->proxy->deploys, w->deploy_id, false);
}

/*
 * May the multi-statement packet run one statement at a time
 * (session_split_start)?  Not when the server would refuse the packet
 * (multi-statements off), when one of its statements reads the diagnostics
 * (the proxy's statements between would change them) or streams a client
 * file; why says so.
 */
static bool splittable(const struct session *s, const char *text, const struct sql_stmt *st, size_t n, char *why,
		       size_t whylen)
{
	if (!s->multi_statements) {
		snprintf(why, whylen, "multi-statement packets are off for this connection "
			 "(CLIENT_MULTI_STATEMENTS, COM_SET_OPTION)");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (st[i].reads_diagnostics) {
			snprintf(why, whylen, "a statement of the packet reads the warnings or the row count "
				 "of the one before it (statement %zu)", i + 1);
			return false;
		}
		if (st[i].kind == SQL_EMPTY && i + 1 < n) {
			size_t k = st[i].start;

			while (k < st[i].end && strchr(" \t\r\n\f\v", text[k]) != NULL)
				k++;
			if (k >= st[i].end) {
				snprintf(why, whylen, "statement %zu is empty (the server stops there with a syntax "
					 "error)", i + 1);
				return false;
			}
		}
		if (st[i].kind == SQL_LOAD_DATA) {
			snprintf(why, whylen, "the packet has a LOAD DATA (statement %zu)", i + 1);
			return false;
		}
	}
	return true;
}

/*
 * A COM_QUERY of several statements (n > 1) while a deploy runs.  None
 * writes a table under deploy: false (it runs as it is).  Inside a
 * transaction, when every statement that writes one is a write by key of
 * one deploy and none may end the transaction: it runs as it is, its keys
 * deferred to COMMIT (one round trip).  Otherwise, unless a statement is
 * one the mirror refuses anyway: it runs one statement at a time, each
 * mirrored as if it had come alone (session_split_start).  True when taken.
 */
static bool multi_command(struct session *s, struct writes *w, const char *text, size_t len,
			  const struct sql_stmt *st, size_t n, const struct sql_dialect *d)
{
	struct proxy *p = s->proxy;
	char **keys = NULL, why[1000], where[520] = "";
	unsigned nkeys = 0, writes = 0;
	uint64_t deploy = 0, id = 0, first = 0;
	bool keeps = true, split = false, has_use = false;

	for (size_t i = 0; i < n; i++)
		keeps = keeps && keeps_transaction(st[i].kind);
	/* a USE: the statements after it are checked against its database
	   only when they run one at a time (and the session learns it) */
	for (size_t i = 0; i < n; i++) {
		split = split || (has_use && mirror_may_write(&st[i]));
		has_use = has_use || st[i].kind == SQL_USE;
	}
	if (split)
		snprintf(where, sizeof(where), "a table (after USE)");
	for (size_t i = 0; i < n; i++) {
		struct mirror_plan plan;
		enum mirror_verdict v = mirror_plan_stmt(p->mirrors, text, &st[i], d, s->db, NULL, &plan, &id, why,
							 sizeof(why));
		char **nk;

		if (v == MIRROR_PASS)
			continue;
		if (v == MIRROR_REFUSE)
			goto refused;
		if (!keeps || (deploy != 0 && id != deploy) || !deferrable(s, w, &plan, id) ||
		    nkeys + plan.nkeys > PEND_MAX) {
			split = true;
			first = first != 0 ? first : id;
			snprintf(where, sizeof(where), "%s.%s", plan.t->db, plan.t->table);
			mirror_plan_free(&plan);
			continue;
		}
		nk = realloc(keys, (nkeys + plan.nkeys + 1) * sizeof(*keys));
		if (nk == NULL) {
			mirror_plan_free(&plan);
			snprintf(why, sizeof(why), "out of memory planning the mirror");
			goto refused;
		}
		keys = nk;
		for (unsigned k = 0; k < plan.nkeys; k++)
			keys[nkeys++] = plan.keys[k];
		plan.nkeys = 0;           /* the keys are ours now */
		mirror_plan_free(&plan);
		deploy = id;
		writes++;
	}
	if (has_use && deploy != 0 && !split) {
		split = true;             /* taken as it is, it would leave the session's database behind */
		first = deploy;
		snprintf(where, sizeof(where), "a table (with a USE)");
	}
	if (split) {
		char reason[400];

		for (unsigned k = 0; k < nkeys; k++)
			free(keys[k]);
		free(keys);
		keys = NULL;
		nkeys = 0;
		id = first;
		if (!splittable(s, text, st, n, reason, sizeof(reason))) {
			snprintf(why, sizeof(why), "deploy request %llu is changing %s: a multi-statement packet that "
				 "writes it runs one statement at a time, and this one cannot: %s",
				 (unsigned long long)id, where, reason);
			goto refused;
		}
		if (!session_split_start(s, text, len, st, n)) {
			snprintf(why, sizeof(why), "out of memory planning the mirror");
			goto refused;
		}
		return true;
	}
	if (deploy == 0)
		return false;
	memset(&w->plan, 0, sizeof(w->plan));
	w->plan.keys = keys;
	w->plan.nkeys = nkeys;
	w->plan.kind = SQL_UPDATE;
	w->deploy_id = deploy;
	w->multi_writes = writes;
	start_deferred(s, w, multi_done);
	return true;
refused:
	for (unsigned k = 0; k < nkeys; k++)
		free(keys[k]);
	free(keys);
	refuse(s, id, why);
	return true;
}

/* Build and start the plan for one mirrored statement. */
static bool start_plan(struct session *s, struct writes *w, bool replace_cmd)
{
	struct proxy *p = s->proxy;
	bool ok = true;

	w->active = true;
	w->set = mirror_set_ref(p->mirrors);
	w->began = !s->in_trans && (s->status & SERVER_STATUS_AUTOCOMMIT);
	if (w->began)
		ok = session_plan_add(s, session_query_packet("BEGIN"), RESP_KIND_QUERY, SINK_DROP, false, NULL);
	/* a transaction open since before the shadow existed may be kept out
	   of it by InnoDB (its read view is older): be able to undo */
	w->savepoint = s->in_trans && s->trans_predates_deploy;
	if (w->savepoint)
		ok = ok && session_plan_add(s, session_query_packet("SAVEPOINT cutover_mirror"), RESP_KIND_QUERY,
					    SINK_DROP, false, NULL);
	if (w->plan.how == MP_UNIQUE) {
		ok = ok && session_plan_add(s, session_query_packet(w->plan.lock_sql), RESP_KIND_QUERY, SINK_CAPTURE,
					    false, uq_lock_done);
	} else if (w->plan.how == MP_LOCKED_KEYS && w->plan.by_key) {
		/* UPDATE ... WHERE key = value: the statement as it is (the
		   client's own command), then the key's row re-copied */
		w->keys = w->plan.keys;
		w->nkeys = w->plan.nkeys;
		w->plan.keys = NULL;
		w->plan.nkeys = 0;
		if (w->plan.kind == SQL_DELETE && !mirror_target_complete(w->plan.t)) {
			/* lock the row and put it in the shadow first (see
			   lock_done); the DELETE follows from pre_upsert_done() */
			char *up = mirror_recopy_insert(w->plan.t, w->keys, w->nkeys, true, true);

			ok = ok && up != NULL &&
			     session_plan_add(s, session_query_packet(up), RESP_KIND_QUERY, SINK_DROP, false,
					      pre_upsert_done);
			free(up);
		} else if (w->plan.kind == SQL_UPDATE && !w->savepoint) {
			/* the key is known */
			ok = ok && add_piped(s, NULL, w->keys, w->nkeys);
		} else {
			ok = ok && session_plan_add(s, NULL, resp_kind_for_command(s->cmd_byte), SINK_HOLD, true,
						    locked_stmt_done);
		}
	} else if (w->plan.how == MP_LOCKED_KEYS) {
		/* the client's statement is replaced by its restricted form */
		evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
		ok = ok && session_plan_add(s, session_query_packet(w->plan.lock_sql), RESP_KIND_QUERY,
					    SINK_CAPTURE, false, lock_done);
	} else {
		struct evbuffer *pkt = NULL;

		if (w->plan.bulk) {
			/* the client's statement follows from bulk_inc_done() */
			ok = ok && session_plan_add(s, session_query_packet("SELECT @@session.auto_increment_increment, "
									     "@@global.innodb_autoinc_lock_mode"),
						    RESP_KIND_QUERY, SINK_CAPTURE, false, bulk_inc_done);
			goto start;
		}
		if (w->plan.ngenerated > 0)
			ok = ok && session_plan_add(s, session_query_packet("SELECT @@session.auto_increment_increment"),
						    RESP_KIND_QUERY, SINK_CAPTURE, false, inc_done);
		if (replace_cmd && w->plan.stmt != NULL) {
			pkt = session_query_packet(w->plan.stmt);
			evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
			ok = ok && pkt != NULL;
		}
		if (w->plan.ngenerated == 0 && w->plan.nkeys > 0 && !w->savepoint) {
			/* every key is in the statement (the upsert: the INSERT
			   may fail on a key that exists) */
			ok = ok && add_piped(s, pkt, w->plan.keys, w->plan.nkeys);
			goto start;
		}
		ok = ok && session_plan_add(s, pkt, pkt != NULL ? RESP_KIND_QUERY : resp_kind_for_command(s->cmd_byte),
					    SINK_HOLD, true, insert_done);
	}
start:
	if (!ok) {
		writes_plan_end(s);
		return false;
	}
	session_plan_start(s);
	return true;
}

/* An error for the client from a step's done(): the write is refused. */
static void hold_refusal(struct session *s, uint64_t deploy_id, const char *why)
{
	char msg[1100];

	count_refusal(s, deploy_id, why, msg, sizeof(msg));
	hold_err(s, ER_PROXY_BACKEND, "HY000", msg);
}

/*
 * The SELECT of an EXECUTE's USING values answered: each value as a
 * literal in w->exec_lits, and the command runs again (plan_execute), or
 * the client gets why it cannot.
 */
static void exec_values_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	struct writes *w = s->writes;
	const struct mirror_table *t = find_deploy(s->proxy->mirrors, w->exec_deploy);
	unsigned n = w->exec_n, ncols = 2 * n + 1, got, i;
	uint8_t *p = NULL, types[251];
	uint16_t charsets[251];
	struct rs_value v[2 * EXEC_MAX_VALUES + 1];
	bool nbe = (s->status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0, cs_ok;
	const char *pwhy = "the values could not be read";
	char why[1000];
	size_t len;

	(void)st;
	if (rp->is_err) {
		hold_captured_err(s);
		return;
	}
	w->exec_lits.lit = calloc(n, sizeof(char *));
	w->exec_lits.long_data = calloc(n, sizeof(bool));
	if (w->exec_lits.lit == NULL || w->exec_lits.long_data == NULL)
		goto fail;
	w->exec_lits.n = n;
	if (evbuffer_get_length(s->capture) > WRITES_MAX_TEXT / 2) {
		pwhy = "the values are longer than 8 MiB";
		goto fail;
	}
	if (!captured_columns(s, &got, types, charsets) || got != ncols)
		goto fail;
	p = diag_next_packet(s->capture, &len);
	if (p == NULL || len == 0 || p[0] == PKT_ERR || pkt_is_eof(p[0], len, s->caps) ||
	    !rs_parse_text_row(p, len, ncols, v))
		goto fail;
	cs_ok = v[2 * n].p != NULL && v[2 * n].len == 1 && v[2 * n].p[0] == '1';
	for (i = 0; i < n; i++) {
		/* a string keeps its variable's collation when that has the
		   connection's character set: a literal would not */
		if (v[i].p != NULL && charsets[i] != 63 && (types[i] == 15 || types[i] >= 249) &&
		    (v[n + i].p == NULL || v[n + i].len != 1 || v[n + i].p[0] != '1')) {
			pwhy = "a string value's collation is not the connection's (collation_connection): "
			       "a literal would compare by another";
			goto fail;
		}
		w->exec_lits.lit[i] = params_text_literal(types[i], charsets[i] == 63, cs_ok, (const char *)v[i].p,
							  v[i].len, nbe, &pwhy);
		if (w->exec_lits.lit[i] == NULL)
			goto fail;
	}
	free(p);
	evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
	return;                   /* the command runs again (session_plan_rerun) */
fail:
	free(p);
	evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
	exec_values_clear(w);
	snprintf(why, sizeof(why), "deploy request %llu is changing %s.%s: EXECUTE ... USING of a statement "
		 "prepared with PREPARE that writes it: cutoverd reads the values to mirror it, and %s",
		 (unsigned long long)w->exec_deploy, t != NULL ? t->db : "?", t != NULL ? t->table : "?", pwhy);
	hold_refusal(s, w->exec_deploy, why);
}

/* Read the values of EXECUTE st's USING list (a SELECT of the proxy's),
   then run the command again.  False when out of memory. */
static bool start_exec_values(struct session *s, struct writes *w, const char *cmd, size_t cmdlen,
			      const struct sql_stmt *st, uint64_t id)
{
	const struct mirror_table *t = find_deploy(s->proxy->mirrors, id);
	char *sql = NULL;
	size_t blen = 0;
	FILE *f;
	bool ok;

	exec_values_clear(w);
	w->exec_cmd = malloc(cmdlen + 1);
	f = open_memstream(&sql, &blen);
	if (w->exec_cmd == NULL || f == NULL) {
		if (f != NULL)
			fclose(f);
		free(sql);
		exec_values_clear(w);
		return false;
	}
	/* the values; for each, whether a string of it would be bound with
	   the connection's collation (one in another character set is
	   converted to the connection's, one in that character set keeps its
	   own collation); whether strings come back in the connection's
	   character set.  Pinned against the session's sql_select_limit. */
	if (t != NULL)
		mirror_put_listing_pin(f, t);
	fputs("SELECT ", f);
	for (int i = 0; i < st->nusing; i++)
		fprintf(f, "%.*s, ", (int)st->using_val[i].len, cmd + st->using_pos + st->using_val[i].off);
	for (int i = 0; i < st->nusing; i++)
		fprintf(f, "COLLATION(%.*s) = @@collation_connection OR CHARSET(%.*s) <> @@character_set_connection, ",
			(int)st->using_val[i].len, cmd + st->using_pos + st->using_val[i].off,
			(int)st->using_val[i].len, cmd + st->using_pos + st->using_val[i].off);
	fputs("@@character_set_client = @@character_set_connection AND "
	      "@@character_set_results = @@character_set_connection", f);
	ok = !ferror(f);
	if (fclose(f) != 0 || !ok) {
		free(sql);
		exec_values_clear(w);
		return false;
	}
	memcpy(w->exec_cmd, cmd, cmdlen);
	w->exec_cmd[cmdlen] = '\0';
	w->exec_cmd_len = cmdlen;
	w->exec_n = (unsigned)st->nusing;
	w->exec_deploy = id;
	ok = session_plan_add(s, session_query_packet(sql), RESP_KIND_QUERY, SINK_CAPTURE, false, exec_values_done);
	free(sql);
	if (!ok) {
		exec_values_clear(w);
		return false;
	}
	session_plan_rerun(s);
	session_plan_start(s);
	return true;
}

/*
 * EXECUTE name (text protocol, one statement) while deploys run: planned
 * as the text PREPARE gave the name would be, its parameters (USING @v,
 * ...) as the values they hold, which the proxy reads first: then
 * *started, and the command runs again, when they are in w->exec_lits.
 * MIRROR_PASS, MIRROR_PLAN with *plan, or MIRROR_REFUSE with *id and why.
 */
static enum mirror_verdict plan_execute(struct session *s, struct writes *w, const char *cmd, size_t cmdlen,
					const struct sql_stmt *st, const struct sql_dialect *d,
					struct mirror_plan *plan, uint64_t *id, char *why, size_t whylen,
					bool *started)
{
	const struct mirror_table *t0 = &s->proxy->mirrors->tables[0];
	struct sql_stmt inner[2];
	const struct sqlprep *x = sqlprep_stmt(s, st, d, inner);
	struct params_literals lits;
	enum mirror_verdict v;

	*started = false;
	memset(&lits, 0, sizeof(lits));
	if (w->exec_cmd != NULL && w->exec_cmd_len == cmdlen && memcmp(w->exec_cmd, cmd, cmdlen) == 0 &&
	    w->exec_lits.n > 0) {
		lits = w->exec_lits;     /* this command's values, read just now */
		memset(&w->exec_lits, 0, sizeof(w->exec_lits));
	}
	exec_values_clear(w);
	if (x == NULL) {
		params_literals_free(&lits);
		*id = t0->deploy_id;
		snprintf(why, whylen, "deploy request %llu is changing %s.%s: while it runs, EXECUTE is refused "
			 "for a statement whose text cutoverd has not seen: prepared before the deploy started, "
			 "with PREPARE ... FROM @variable, in a multi-statement packet, in another default "
			 "database, or before a SET of the session's settings (sql_mode, NAMES, ...) or a CALL "
			 "(PREPARE it again, FROM a string literal)",
			 (unsigned long long)t0->deploy_id, t0->db, t0->table);
		return MIRROR_REFUSE;
	}
	if (lits.n > 0) {
		/* the second time: with the values */
		v = mirror_plan_stmt(s->proxy->mirrors, x->text, &inner[0], d, s->db, &lits, plan, id, why, whylen);
		params_literals_free(&lits);
		return v;
	}
	v = mirror_plan_stmt(s->proxy->mirrors, x->text, &inner[0], d, s->db, NULL, plan, id, why, whylen);
	if (v != MIRROR_REFUSE || inner[0].nplaceholders == 0 || !mirror_may_write(&inner[0]))
		return v;
	/* a write to a table under deploy, refused because the values of
	   its parameters are not in the text: read them */
	t0 = find_deploy(s->proxy->mirrors, *id);
	if (st->nusing >= 0 && (unsigned)st->nusing != inner[0].nplaceholders) {
		snprintf(why, whylen, "deploy request %llu is changing %s.%s: EXECUTE ... USING with %d values "
			 "for a statement with %u parameters", (unsigned long long)*id, t0 != NULL ? t0->db : "?",
			 t0 != NULL ? t0->table : "?", st->nusing, inner[0].nplaceholders);
		return MIRROR_REFUSE;
	}
	if (st->nusing > 0 && st->nusing <= EXEC_MAX_VALUES) {
		if (start_exec_values(s, w, cmd, cmdlen, st, *id)) {
			*started = true;
			return MIRROR_PASS;
		}
		snprintf(why, whylen, "out of memory reading the values of an EXECUTE");
		return MIRROR_REFUSE;
	}
	snprintf(why, whylen, "deploy request %llu is changing %s.%s: EXECUTE of a statement prepared with "
		 "PREPARE that writes it is mirrored when each value after USING is a user variable, a "
		 "number, a string literal or NULL, with no comment among them, and at most %u of them; "
		 "set a variable to an expression first",
		 (unsigned long long)*id, t0 != NULL ? t0->db : "?", t0 != NULL ? t0->table : "?",
		 EXEC_MAX_VALUES);
	return MIRROR_REFUSE;
}

/* Note the statements of a command that is about to run, while deploys
   run: PREPARE and DEALLOCATE forget the name (a PREPARE of one literal
   is kept once it succeeds: writes_command_end). */
static void note_sqlpreps(struct session *s, struct writes *w, const char *text, const struct sql_stmt *st,
			  size_t n, const struct sql_dialect *d)
{
	for (size_t i = 0; i < n; i++) {
		if ((st[i].kind == SQL_SET && st[i].sets_session) || st[i].kind == SQL_CALL) {
			/* sql_mode, the character sets...: the server read the
			   texts with the settings of their PREPARE */
			sqlprep_clear(w);
			continue;
		}
		if (st[i].kind != SQL_PREPARE && st[i].kind != SQL_DEALLOCATE)
			continue;
		if (st[i].routine.name[0] == '\0') {
			sqlprep_clear(w);       /* which one is not known */
			continue;
		}
		sqlprep_forget(w, st[i].routine.name);
	}
	if (n == 1 && st[0].kind == SQL_PREPARE && st[0].routine.name[0] != '\0' && st[0].text_len > 0) {
		struct sqlprep *x = calloc(1, sizeof(*x));

		if (x == NULL || (x->text = sql_string_value(text, st[0].text_pos, st[0].text_len,
							     d->no_backslash_escapes, &x->len)) == NULL) {
			free(x);
			return;
		}
		snprintf(x->name, sizeof(x->name), "%s", st[0].routine.name);
		snprintf(x->db, sizeof(x->db), "%s", s->db);
		x->nbe = d->no_backslash_escapes;
		x->dq = d->double_quotes;
		sqlprep_free(w->sqlprep_sent);
		w->sqlprep_sent = x;
	}
}

bool writes_command(struct session *s)
{
	struct proxy *p = s->proxy;
	struct writes *w;
	struct sql_stmt st[WRITES_MAX_STMTS];
	struct sql_dialect d;
	struct wstmt *x = NULL;
	struct params_literals lits;
	const struct params_literals *params = NULL;
	char *text = NULL, why[1000];
	size_t len = 0, n, i;
	uint64_t id = 0;
	enum mirror_verdict v = MIRROR_PASS;
	bool live = p->mirrors != NULL && p->mirrors->n > 0;
	bool taken = true;

	memset(&lits, 0, sizeof(lits));
	if (s->writes != NULL && s->writes->npend > 0 && !live)
		pend_clear(s->writes);  /* the deploy ended */
	if (s->writes != NULL && !live)
		sqlprep_clear(s->writes);  /* this command is not looked at */
	if (s->cmd_byte == COM_STMT_EXECUTE) {
		uint8_t head[4 + 1 + 4], *full;
		size_t total = evbuffer_get_length(s->cmd);

		w = s->writes;
		if (w == NULL || w->stmts == NULL)
			return false;           /* no write statement prepared */
		if (evbuffer_copyout(s->cmd, head, sizeof(head)) != (ev_ssize_t)sizeof(head))
			return false;
		x = find_stmt(w, le32(head + 5));
		if (x == NULL || !x->may_write) { /* not one of them */
			if (w->npend == 0 || !live)
				return false;
			w->pend_unsure = w->pend_unsure || (x != NULL && x->kind == SQL_ROLLBACK_TO_SAVEPOINT);
			return pend_before(s, x != NULL ? x->kind : SQL_UNKNOWN);
		}
		if (!live && p->catalog_loaded) {
			/* the common case: only keep the types it binds */
			note_types_cmd(s, x);
			memset(x->long_data, 0, x->nparams * sizeof(bool));
			return false;
		}
		if (total - 4 > WRITES_MAX_TEXT || (full = malloc(total - 4)) == NULL) {
			refuse(s, 0, "a COM_STMT_EXECUTE this large cannot be checked against running deploys");
			return true;
		}
		{
			struct evbuffer_ptr ptr;

			evbuffer_ptr_set(s->cmd, &ptr, 4, EVBUFFER_PTR_SET);
			evbuffer_copyout_from(s->cmd, &ptr, full, total - 4);
		}
		if (x->nparams > 0) {
			const char *pwhy = NULL;

			if (params_decode(full, total - 4, x->nparams, &x->types, x->long_data,
					  (s->status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0, &lits, &pwhy))
				params = &lits;
		}
		free(full);
		text = strdup(x->sql);
		len = x->len;
		if (text == NULL) {
			params_literals_free(&lits);
			return false;
		}
	} else {
		if (!live && p->catalog_loaded)
			return false;
		text = cmd_payload(s, &len);
		if (text == NULL) {
			refuse(s, 0, "a statement this large cannot be checked against running deploys");
			return true;
		}
	}
	session_dialect(s, &d);
	n = sql_parse_dialect(text, len, st, WRITES_MAX_STMTS, &d);
	if (!p->catalog_loaded) {
		for (i = 0; i < n && i < WRITES_MAX_STMTS; i++)
			if (mirror_may_write(&st[i])) {
				refuse(s, 0, "the state of deploy requests is not loaded yet (the control connection "
				       "to the backend fails; see the log): writes are refused until it is");
				goto out;
			}
		if (n <= WRITES_MAX_STMTS) {
			taken = false;
			goto out;
		}
	}
	if (!live) {
		taken = false;
		goto out;
	}
	if (n > WRITES_MAX_STMTS) {
		refuse(s, p->mirrors->tables[0].deploy_id, "a deploy request is running: a packet of more than 64 statements cannot be checked");
		goto out;
	}
	w = get(s);
	if (w == NULL) {
		refuse(s, 0, "out of memory");
		goto out;
	}
	note_sqlpreps(s, w, text, st, n, &d);
	if (w->npend > 0) {
		bool keeps = true;

		for (i = 0; i < n; i++) {
			keeps = keeps && keeps_transaction(st[i].kind);
			w->pend_unsure = w->pend_unsure || st[i].kind == SQL_ROLLBACK_TO_SAVEPOINT;
		}
		if (!keeps && pend_before(s, n == 1 ? st[0].kind : SQL_UNKNOWN))
			goto out;         /* it runs once they are applied */
	}
	while (!s->multi_statements && n > 1 && n <= WRITES_MAX_STMTS && st[n - 1].kind == SQL_EMPTY)
		n--;
	if (n > 1) {
		taken = multi_command(s, w, text, len, st, n, &d);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct mirror_plan plan;

		if (st[i].kind == SQL_EXECUTE && s->cmd_byte == COM_QUERY) {
			bool started;

			v = plan_execute(s, w, text, len, &st[i], &d, &plan, &id, why, sizeof(why), &started);
			if (started)
				goto out;         /* it runs again with the values */
		} else {
			v = mirror_plan_stmt(p->mirrors, text, &st[i], &d, s->db, params, &plan, &id, why,
					     sizeof(why));
			if (v != MIRROR_PASS && x != NULL && !same_lexing(x->nbe, x->dq, &d)) {
				/* the server read the text otherwise */
				if (v == MIRROR_PLAN)
					mirror_plan_free(&plan);
				snprintf(why, sizeof(why), "deploy request %llu is changing a table it writes: the "
					 "statement was prepared under another sql_mode (NO_BACKSLASH_ESCAPES or "
					 "ANSI_QUOTES) than the session's now, so cutoverd would not read its text "
					 "as the server did; prepare it again", (unsigned long long)id);
				v = MIRROR_REFUSE;
			}
		}
		if (v == MIRROR_PASS)
			continue;
		if (v == MIRROR_REFUSE) {
			refuse(s, id, why);
			goto out;
		}
		if (plan.returning && s->cmd_byte == COM_STMT_EXECUTE &&
		    ((plan.how == MP_LOCKED_KEYS && !plan.by_key) || plan.stmt != NULL)) {
			/* it would run as a text statement of the proxy's: its
			   rows would come back in the text protocol */
			snprintf(why, sizeof(why), "deploy request %llu is changing %s.%s: a prepared "
				 "statement with RETURNING is mirrored only when it %s; run it as a text statement",
				 (unsigned long long)id, plan.t->db, plan.t->table,
				 plan.kind == SQL_DELETE ? "deletes by key (WHERE key = value)" : "has no parameters");
			mirror_plan_free(&plan);
			refuse(s, id, why);
			goto out;
		}
		if (w->npend > 0 && !deferrable(s, w, &plan, id) && flush_plan(s, false)) {
			mirror_plan_free(&plan);  /* planned again once they are applied */
			goto out;
		}
		w->plan = plan;
		w->deploy_id = id;
		if (deferrable(s, w, &w->plan, id)) {
			start_deferred(s, w, deferred_done);
			goto out;
		}
		if (!start_plan(s, w, s->cmd_byte == COM_STMT_EXECUTE)) {
			refuse(s, id, "out of memory planning the mirror");
			goto out;
		}
		goto out;
	}
	taken = false;
out:
	/* the parameters sent with COM_STMT_SEND_LONG_DATA are used up, unless
	   the command runs again (session_plan_rerun) */
	if (x != NULL && !s->rerun_cmd)
		memset(x->long_data, 0, x->nparams * sizeof(bool));
	params_literals_free(&lits);
	free(text);
	return taken;
}
