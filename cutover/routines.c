/*
 * routines.c - the stored programs of the server, read and classified for
 * a deploy request (routines.h).  Runs on worker threads.
 */
#include "config.h"
#include "cutover/routines.h"
#include "cutover/ctl.h"
#include "cutover/deploy-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct routine_set *routines_ref(struct routine_set *s)
{
	if (s != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void routines_unref(struct routine_set *s)
{
	if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->procs[i].why);
	free(s->procs);
	free(s);
}

static int cmp_names(const char *db1, const char *n1, const char *db2, const char *n2)
{
	int c = strcasecmp(db1, db2);

	return c != 0 ? c : strcasecmp(n1, n2);
}

static int cmp_verdict(const void *a, const void *b)
{
	const struct routine_verdict *x = a, *y = b;

	return cmp_names(x->db, x->name, y->db, y->name);
}

const struct routine_verdict *routines_find(const struct routine_set *s, const char *db, const char *name)
{
	struct routine_verdict key;

	if (s == NULL || s->n == 0)
		return NULL;
	snprintf(key.db, sizeof(key.db), "%s", db);
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, s->procs, s->n, sizeof(*s->procs), cmp_verdict);
}

static void add_target(struct sql_table *t, size_t *n, const char *db, const char *name)
{
	if (name[0] == '\0')
		return;
	snprintf(t[*n].db, sizeof(t[*n].db), "%s", db);
	snprintf(t[*n].name, sizeof(t[*n].name), "%s", name);
	(*n)++;
}

/* One row of ROUTINES or TRIGGERS into r (body points into the row). */
static void fill(struct routine *r, char kind, const char *db, const char *name, const char *body,
		 unsigned long body_len, const char *on)
{
	snprintf(r->db, sizeof(r->db), "%s", db ? db : "");
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	snprintf(r->on, sizeof(r->on), "%s", on ? on : "");
	r->kind = kind;
	r->body = body;
	r->body_len = body ? body_len : 0;
}

bool routines_read(struct ctl *c, const struct deploy *d, struct routine_set **out, char *err, size_t errlen)
{
	struct sql_table targets[3 + DEPLOY_MAX_VIEWS];
	MYSQL_RES *pr = NULL, *tr = NULL;
	MYSQL_ROW row;
	struct routine *r = NULL;
	struct routine_set *s = NULL;
	size_t nt = 0, n = 0, np = 0;
	bool ok = false;

	*out = NULL;
	err[0] = '\0';
	add_target(targets, &nt, d->db, d->table);
	add_target(targets, &nt, d->db, d->shadow);
	add_target(targets, &nt, d->db, d->old_table);
	for (unsigned i = 0; i < d->nviews; i++)
		add_target(targets, &nt, d->views[i].db, d->views[i].name);

	if (!ctl_query(c, &pr, "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION "
		       "FROM information_schema.ROUTINES WHERE ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION')") ||
	    !ctl_query(c, &tr, "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, ACTION_STATEMENT, EVENT_OBJECT_TABLE "
		       "FROM information_schema.TRIGGERS")) {
		snprintf(err, errlen, "cannot read the stored programs (information_schema.ROUTINES, TRIGGERS): %s",
			 c->error);
		goto out;
	}
	r = calloc(mysql_num_rows(pr) + mysql_num_rows(tr) + 1, sizeof(*r));
	s = calloc(1, sizeof(*s));
	if (s != NULL)
		s->refs = 1;
	if (r == NULL || s == NULL)
		goto oom;
	while ((row = mysql_fetch_row(pr)) != NULL) {
		unsigned long *len = mysql_fetch_lengths(pr);
		char kind = row[2] != NULL && strcmp(row[2], "FUNCTION") == 0 ? 'F' : 'P';

		fill(&r[n++], kind, row[0], row[1], row[3], len[3], NULL);
		np += kind == 'P';
	}
	while ((row = mysql_fetch_row(tr)) != NULL) {
		unsigned long *len = mysql_fetch_lengths(tr);

		fill(&r[n++], 'T', row[0], row[1], row[2], len[2], row[3]);
	}
	if (!routines_classify(r, n, targets, nt))
		goto oom;
	/* what stops the deploy: a function, or a trigger on another table,
	   that may change the table */
	for (size_t i = 0; i < n && err[0] == '\0'; i++) {
		const struct routine *x = &r[i];

		if (x->use < RU_WRITES || x->kind == 'P')
			continue;
		if (x->kind == 'T' && strcasecmp(x->db, d->db) == 0 && strcasecmp(x->on, d->table) == 0)
			continue;       /* the table's own: inspect_table() refuses those */
		if (x->kind == 'F')
			snprintf(err, errlen, "stored function %s.%s may change %s.%s (%s); writes made inside "
				 "stored functions are not mirrored", x->db, x->name, d->db, d->table, x->why);
		else
			snprintf(err, errlen, "trigger %s.%s on %s.%s may change %s.%s (%s); writes made by "
				 "triggers are not mirrored", x->db, x->name, x->db, x->on, d->db, d->table, x->why);
	}
	s->procs = calloc(np + 1, sizeof(*s->procs));
	if (s->procs == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct routine_verdict *v;

		if (r[i].kind != 'P')
			continue;
		v = &s->procs[s->n++];
		memcpy(v->db, r[i].db, sizeof(v->db));
		memcpy(v->name, r[i].name, sizeof(v->name));
		v->use = r[i].use;
		if (v->use >= RU_WRITES && (v->why = strdup(r[i].why)) == NULL)
			goto oom;
	}
	qsort(s->procs, s->n, sizeof(*s->procs), cmp_verdict);
	*out = s;
	s = NULL;
	ok = true;
	goto out;
oom:
	snprintf(err, errlen, "out of memory reading the stored programs");
out:
	routines_unref(s);
	free(r);
	if (pr != NULL)
		mysql_free_result(pr);
	if (tr != NULL)
		mysql_free_result(tr);
	return ok;
}
