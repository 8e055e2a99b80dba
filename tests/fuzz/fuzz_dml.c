/*
 * fuzz_dml.c - fuzz target of the DML clause parser (protocol/dml.c).
 *
 * LLVMFuzzerTestOneInput() splits the input with sql_parse_dialect() in
 * four dialects (nothing known; MySQL 8.0; MariaDB with ANSI_QUOTES;
 * MariaDB with NO_BACKSLASH_ESCAPES), from a heap copy of exactly its size
 * (so ASan sees any over-read), runs dml_parse() on every statement the
 * lexer calls INSERT, REPLACE, UPDATE or DELETE (and on the others, which
 * must be refused), and checks the invariants of each result: every span
 * inside the statement and the clauses in order, each span valid text on
 * its own, placeholders in range and pointing at a '?', counts within
 * their limits, names terminated, and a second parse giving the same
 * spans.  A broken invariant aborts.
 *
 * As a libFuzzer target (clang only):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DCUTOVER_LIBFUZZER -I. \
 *       tests/fuzz/fuzz_dml.c protocol/dml.c protocol/lexer.c protocol/classify.c \
 *       -o fuzz_dml_lf
 *   ./fuzz_dml_lf -max_total_time=300 /tmp/dml-corpus tests/fuzz/corpus/dml
 *
 * Without -DCUTOVER_LIBFUZZER, main() comes from tests/fuzz/fuzz_main.h:
 * the seeds are the files of the seed corpus (FUZZ_CORPUS_DIR,
 * tests/fuzz/corpus/dml), then a fixed-seed mutation loop bounded by
 * FUZZ_DML_SECONDS (default 1.5) and FUZZ_DML_ITERATIONS; FUZZ_DML_SEED
 * picks another seed.  With file arguments it runs each file once.
 */
#include "protocol/dml.h"
#include "protocol/lexer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_STMT 8

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_dml: invariant broken: %s (%s)\n", what, why ? why : "ok");
	abort();
}

static void check_span(const struct sql_stmt *st, const struct dml *m, struct dml_span sp,
		       const char *what)
{
	if (!sp.present)
		return;
	if (sp.start > sp.end || sp.start < st->start || sp.end > st->end)
		fail(what, m->why);
	if (m->ok && (sp.start == sp.end || sp.start < m->stmt.start || sp.end > m->stmt.end))
		fail(what, m->why);
}

/*
 * A span is valid text on its own: lexed alone with "\n?" after it, it is
 * one statement with its own placeholders and that one more (a span that
 * cut a string, a quoted name or a comment open would swallow the '?').
 */
static void check_alone(const char *sql, const struct dml *m, struct dml_span sp,
			const struct sql_dialect *d)
{
	struct sql_stmt st[2];
	size_t n = sp.end - sp.start;
	unsigned inside = 0;
	char *b;

	if (!sp.present)
		return;
	for (unsigned i = 0; i < m->nparams; i++)
		inside += m->params[i] >= sp.start && m->params[i] < sp.end;
	b = malloc(n + 2);
	if (b == NULL)
		abort();
	memcpy(b, sql + sp.start, n);
	memcpy(b + n, "\n?", 2);
	if (sql_parse_dialect(b, n + 2, st, 2, d) != 1 || st[0].nplaceholders != inside + 1)
		fail("a span is not valid text alone", NULL);
	free(b);
}

static void check_name(const char *name, bool nonempty)
{
	if (memchr(name, '\0', SQL_NAME_SIZE) == NULL || (nonempty && name[0] == '\0'))
		fail("name", NULL);
}

static void check_result(const char *sql, const struct sql_stmt *st, const struct dml *m,
			 const struct sql_dialect *d)
{
	size_t nv = (size_t)m->nrows * m->nvalues;

	if (m->ok != (m->why == NULL))
		fail("ok and why", m->why);
	check_span(st, m, m->stmt, "stmt");
	check_span(st, m, m->table_refs, "table_refs");
	check_span(st, m, m->where, "where");
	check_span(st, m, m->order_by, "order_by");
	check_span(st, m, m->limit, "limit");
	check_span(st, m, m->odku, "odku");
	check_span(st, m, m->select, "select");
	check_span(st, m, m->row_alias, "row_alias");
	check_span(st, m, m->returning_list, "returning_list");
	if (m->ntablerefs > DML_MAX_TABLEREFS || m->ntargets > DML_MAX_TABLEREFS ||
	    m->ncolumns > DML_MAX_COLUMNS || m->nassign > DML_MAX_COLUMNS || m->nvalues > DML_MAX_COLUMNS)
		fail("counts", m->why);
	for (unsigned i = 0; i < m->ntablerefs; i++) {
		check_name(m->tablerefs[i].table.db, false);
		check_name(m->tablerefs[i].table.name, false);
		check_name(m->tablerefs[i].alias, false);
	}
	for (unsigned i = 0; i < m->ntargets; i++) {
		check_name(m->targets[i], true);
		check_name(m->target_dbs[i], false);
	}
	for (unsigned i = 0; i < m->ncolumns; i++)
		check_name(m->columns[i], true);
	for (unsigned i = 0; i < m->nassign; i++) {
		check_name(m->assign[i].qualifier, false);
		check_name(m->assign[i].column, true);
		check_span(st, m, m->assign[i].value, "assign");
	}
	for (unsigned i = 0; i < m->nparams; i++)
		if (m->params[i] < st->start || m->params[i] >= st->end || sql[m->params[i]] != '?' ||
		    (i > 0 && m->params[i] <= m->params[i - 1]))
			fail("placeholder offsets", m->why);
	if (!m->ok)
		return;
	if (!m->stmt.present || m->tail < m->stmt.start || m->tail > m->stmt.end)
		fail("stmt / tail", NULL);
	if (m->nparams != st->nplaceholders)
		fail("placeholder count differs from the lexer's", NULL);
	check_alone(sql, m, m->table_refs, d);
	check_alone(sql, m, m->where, d);
	check_alone(sql, m, m->order_by, d);
	check_alone(sql, m, m->limit, d);
	check_alone(sql, m, m->odku, d);
	check_alone(sql, m, m->select, d);
	check_alone(sql, m, m->row_alias, d);
	check_alone(sql, m, m->returning_list, d);
	for (unsigned i = 0; i < m->nassign; i++)
		check_alone(sql, m, m->assign[i].value, d);
	for (size_t i = 0; i < nv; i++)
		check_alone(sql, m, m->values[i].span, d);
	for (size_t i = 0; i < nv; i++) {
		const struct dml_value *v = &m->values[i];
		check_span(st, m, v->span, "value");
		if (!v->span.present || (i > 0 && v->span.start < m->values[i - 1].span.end))
			fail("value order", NULL);
		if ((unsigned)v->kind > DV_EXPR)
			fail("value kind", NULL);
		if (v->kind == DV_PLACEHOLDER &&
		    (v->param >= m->nparams || m->params[v->param] != v->span.start))
			fail("value placeholder", NULL);
	}
	if (m->kind == SQL_UPDATE || m->kind == SQL_DELETE) {
		if (!m->table_refs.present || m->ntablerefs == 0)
			fail("table refs", NULL);
		if (m->where.present && (m->where.start < m->table_refs.end || m->where.end > m->tail))
			fail("where before tail", NULL);
		if ((m->order_by.present && m->order_by.start <= m->tail) ||
		    (m->limit.present && m->limit.start <= m->tail) ||
		    (m->order_by.present && m->limit.present && m->limit.start < m->order_by.end) ||
		    (m->returning_list.present && m->returning_list.start <= m->tail))
			fail("clause order", NULL);
	} else if (m->kind == SQL_INSERT || m->kind == SQL_REPLACE) {
		if (m->source == DML_SRC_NONE || m->into.name[0] == '\0' || m->tail != m->stmt.end)
			fail("insert", NULL);
		if (m->source == DML_SRC_SET && (m->nrows != 1 || m->nvalues != m->nassign))
			fail("insert set", NULL);
	} else if (m->kind == SQL_LOAD_DATA) {
		if (m->source != DML_SRC_NONE || m->into.name[0] == '\0' || m->tail != m->stmt.end ||
		    m->table_refs.present || (!m->load_columns && m->ncolumns > 0) || (m->load_replace && m->ignore))
			fail("load data", NULL);
	} else {
		fail("kind", NULL);
	}
}

/* Two parses of the same statement agree (no state leaks between calls). */
static void check_same(const struct dml *a, const struct dml *b)
{
	size_t nv = (size_t)a->nrows * a->nvalues;

	if (a->ok != b->ok || a->why != b->why || a->nparams != b->nparams ||
	    a->nrows != b->nrows || a->nvalues != b->nvalues || a->nassign != b->nassign ||
	    a->ntablerefs != b->ntablerefs || a->tail != b->tail ||
	    memcmp(&a->where, &b->where, sizeof(a->where)) != 0 ||
	    memcmp(&a->stmt, &b->stmt, sizeof(a->stmt)) != 0)
		fail("two parses differ", a->why);
	if (!a->ok)
		return;
	for (size_t i = 0; i < nv; i++)
		if (a->values[i].kind != b->values[i].kind ||
		    a->values[i].span.start != b->values[i].span.start ||
		    a->values[i].span.end != b->values[i].span.end)
			fail("two parses differ in values", NULL);
}

static const struct sql_dialect dialects[] = {
	{ 0 },
	{ .double_quotes = SQL_QUOTES_STRING, .flavor = SQL_FLAVOR_MYSQL, .version = 80036 },
	{ .double_quotes = SQL_QUOTES_IDENT, .flavor = SQL_FLAVOR_MARIADB, .version = 101106 },
	{ .no_backslash_escapes = true, .double_quotes = SQL_QUOTES_STRING,
	  .flavor = SQL_FLAVOR_MARIADB },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sql_stmt st[FUZZ_MAX_STMT];
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	if (size)
		memcpy(copy, data, size);
	for (size_t d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++) {
		size_t n = sql_parse_dialect(copy, size, st, FUZZ_MAX_STMT, &dialects[d]);

		for (size_t i = 0; i < n && i < FUZZ_MAX_STMT; i++) {
			struct dml a, b;
			bool dml_kind = st[i].kind == SQL_INSERT || st[i].kind == SQL_REPLACE ||
					st[i].kind == SQL_UPDATE || st[i].kind == SQL_DELETE ||
					st[i].kind == SQL_LOAD_DATA;
			bool ok = dml_parse(copy, &st[i], &dialects[d], &a);

			if (ok != a.ok || (ok && !dml_kind))
				fail("result", a.why);
			check_result(copy, &st[i], &a, &dialects[d]);
			if (dml_kind) {
				if (dml_parse(copy, &st[i], &dialects[d], &b) != ok)
					fail("two parses differ", a.why);
				check_same(&a, &b);
				dml_free(&b);
			}
			dml_free(&a);
		}
	}
	free(copy);
	return 0;
}

#ifndef CUTOVER_LIBFUZZER

#define FUZZ_NAME "fuzz_dml"
#define FUZZ_ENV "FUZZ_DML_"            /* prefix of the environment variables */
#include "tests/fuzz/fuzz_main.h"

#include <dirent.h>
#include <sys/stat.h>

#ifndef FUZZ_CORPUS_DIR
#define FUZZ_CORPUS_DIR "tests/fuzz/corpus/dml"
#endif

/* Used when the corpus folder cannot be read. */
static const char *const builtin_seeds[] = {
	"UPDATE t SET a = a + 1 WHERE b > 5 ORDER BY id LIMIT 10",
	"INSERT INTO t (a, b) VALUES (1, 'x'), (?, NULL) ON DUPLICATE KEY UPDATE b = VALUES(b)",
	"DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.x = ?",
};

struct seed {
	uint8_t *p;
	size_t len;
};

static struct seed *seeds;
static size_t nseeds;

static void add_seed(const void *p, size_t len)
{
	struct seed *s = realloc(seeds, (nseeds + 1) * sizeof(*seeds));

	if (s == NULL)
		abort();
	seeds = s;
	seeds[nseeds].p = malloc(len ? len : 1);
	if (seeds[nseeds].p == NULL)
		abort();
	if (len)
		memcpy(seeds[nseeds].p, p, len);
	seeds[nseeds].len = len;
	nseeds++;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load the regular files of the corpus folder, in name order, once. */
static void load_seeds(void)
{
	DIR *dir = opendir(FUZZ_CORPUS_DIR);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (dir != NULL) {
		while ((de = readdir(dir)) != NULL) {
			char **nn;

			if (de->d_name[0] == '.')
				continue;
			nn = realloc(names, (n + 1) * sizeof(*names));
			if (nn == NULL)
				abort();
			names = nn;
			names[n] = malloc(strlen(FUZZ_CORPUS_DIR) + strlen(de->d_name) + 2);
			if (names[n] == NULL)
				abort();
			sprintf(names[n], "%s/%s", FUZZ_CORPUS_DIR, de->d_name);
			n++;
		}
		closedir(dir);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		struct stat sb;
		FILE *f;

		if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode) && (f = fopen(names[i], "rb")) != NULL) {
			static uint8_t buf[FUZZ_MAX_INPUT];
			size_t len = fread(buf, 1, sizeof(buf), f);

			fclose(f);
			add_seed(buf, len);
		}
		free(names[i]);
	}
	free(names);
	if (nseeds == 0) {
		fprintf(stderr, "# fuzz_dml: no seeds in %s, using the built-in ones\n", FUZZ_CORPUS_DIR);
		for (size_t i = 0; i < sizeof(builtin_seeds) / sizeof(builtin_seeds[0]); i++)
			add_seed(builtin_seeds[i], strlen(builtin_seeds[i]));
	}
}

static size_t fuzz_seed_count(void)
{
	(void)fuzz_hexval;      /* the driver's helper for binary seeds: these are text */
	if (seeds == NULL)
		load_seeds();
	return nseeds;
}

static uint8_t *fuzz_seed(size_t i, size_t *len)
{
	uint8_t *p = malloc(seeds[i].len ? seeds[i].len : 1);

	if (p == NULL)
		abort();
	memcpy(p, seeds[i].p, seeds[i].len);
	*len = seeds[i].len;
	return p;
}

#endif /* !CUTOVER_LIBFUZZER */
