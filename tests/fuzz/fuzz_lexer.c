/*
 * fuzz_lexer.c - fuzz target of the SQL lexer/classifier (protocol/lexer.c,
 * protocol/classify.c).
 *
 * LLVMFuzzerTestOneInput() parses the input in four dialects (nothing
 * known; MySQL 8.0; MariaDB with ANSI_QUOTES; MariaDB with
 * NO_BACKSLASH_ESCAPES) from a heap copy of exactly its size (so ASan sees
 * any over-read), checks the structural invariants of the result, and
 * checks that counting alone (max 0) and a second parse agree with the
 * first.  A broken invariant aborts.
 *
 * As a libFuzzer target (clang only):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DCUTOVER_LIBFUZZER \
 *       -I. tests/fuzz/fuzz_lexer.c protocol/lexer.c protocol/classify.c -o fuzz_lexer_lf
 *   mkdir -p /tmp/lexer-corpus
 *   ./fuzz_lexer_lf -max_total_time=300 /tmp/lexer-corpus tests/fuzz/corpus/lexer
 *
 * (libFuzzer writes new inputs into the first directory; keep the seed
 * corpus in the tree small.)  Without -DCUTOVER_LIBFUZZER this file has its
 * own main(), which `make check` runs:
 *
 *   fuzz_lexer [-n ITERATIONS] [-s SEED] [-t SECONDS] [FILE|DIR ...]
 *
 * It replays every file given (default: the seed corpus, FUZZ_CORPUS_DIR),
 * then mutates them from a fixed seed until ITERATIONS mutations (default
 * 50000) or SECONDS (default 3) have passed, whichever comes first.  The
 * environment variables FUZZ_LEXER_ITERATIONS, FUZZ_LEXER_SEED and
 * FUZZ_LEXER_SECONDS set the defaults; FUZZ_LEXER_SAVE=PATH writes each
 * input to PATH before it is parsed, to keep the one that crashed.
 */
#include "protocol/lexer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_STMT 8

static void fail(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_lexer: invariant broken: %s (statement %zu)\n", what, i);
	abort();
}

static void check_result(const struct sql_stmt *st, size_t n, size_t len)
{
	size_t prev_end = 0;

	if (n == 0)
		fail("no statement", 0);
	for (size_t i = 0; i < n && i < FUZZ_MAX_STMT; i++) {
		const struct sql_stmt *s = &st[i];
		if (s->start > s->end || s->end > len || s->start < prev_end)
			fail("offsets", i);
		prev_end = s->end;
		if ((unsigned)s->kind > SQL_OTHER)
			fail("kind", i);
		if (s->ntables > SQL_MAX_TABLES || s->nwrite > s->ntables)
			fail("table counts", i);
		for (unsigned t = 0; t < s->ntables; t++)
			if (!memchr(s->tables[t].db, '\0', SQL_NAME_SIZE) ||
			    !memchr(s->tables[t].name, '\0', SQL_NAME_SIZE) || s->tables[t].name[0] == '\0')
				fail("table name", i);
		if (s->has_placeholders != (s->nplaceholders > 0))
			fail("has_placeholders", i);
		if (s->kind == SQL_UNKNOWN && s->tables_known)
			fail("unknown kind with known tables", i);
		if (s->text_len > 0 && (s->kind != SQL_PREPARE || s->text_pos < s->start ||
					s->text_pos + s->text_len > s->end))
			fail("PREPARE text", i);
	}
}

/* The value of each PREPARE's literal: within bounds, and no longer than
   the literal without its quotes. */
static void check_texts(const uint8_t *data, const struct sql_stmt *st, size_t n, bool nbe)
{
	for (size_t i = 0; i < n && i < FUZZ_MAX_STMT; i++) {
		size_t vlen = 0;
		char *v;

		if (st[i].text_len == 0)
			continue;
		v = sql_string_value((const char *)data, st[i].text_pos, st[i].text_len, nbe, &vlen);
		if (v == NULL || vlen > st[i].text_len - 2 || v[vlen] != '\0')
			fail("PREPARE text value", i);
		free(v);
	}
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
	static struct sql_stmt a[FUZZ_MAX_STMT], b[FUZZ_MAX_STMT];
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	if (size)
		memcpy(copy, data, size);
	for (size_t d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++) {
		size_t n = sql_parse_dialect(copy, size, a, FUZZ_MAX_STMT, &dialects[d]);
		size_t m = sql_parse_dialect(copy, size, b, FUZZ_MAX_STMT, &dialects[d]);
		size_t filled = n < FUZZ_MAX_STMT ? n : FUZZ_MAX_STMT;

		check_result(a, n, size);
		check_texts((const uint8_t *)copy, a, n, dialects[d].no_backslash_escapes);
		if (m != n || memcmp(a, b, filled * sizeof(a[0])) != 0)
			fail("two parses differ", 0);
		if (sql_parse_dialect(copy, size, NULL, 0, &dialects[d]) != n)
			fail("count differs", 0);
	}
	free(copy);
	return 0;
}

#ifndef CUTOVER_LIBFUZZER

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#ifndef FUZZ_CORPUS_DIR
#define FUZZ_CORPUS_DIR "tests/fuzz/corpus/lexer"
#endif

#define FUZZ_MAX_INPUT 65536

struct input {
	uint8_t *p;
	size_t len;
};

static struct input *corpus;
static size_t ncorpus, capcorpus;

static void corpus_add(const uint8_t *p, size_t len)
{
	if (ncorpus == capcorpus) {
		capcorpus = capcorpus ? capcorpus * 2 : 64;
		corpus = realloc(corpus, capcorpus * sizeof(*corpus));
		if (corpus == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	corpus[ncorpus].p = malloc(len ? len : 1);
	if (corpus[ncorpus].p == NULL) {
		perror("malloc");
		exit(2);
	}
	if (len)
		memcpy(corpus[ncorpus].p, p, len);
	corpus[ncorpus].len = len;
	ncorpus++;
}

static const char *save_path;

static void run_one(const uint8_t *p, size_t len)
{
	if (save_path) {
		FILE *f = fopen(save_path, "wb");
		if (f) {
			if (len && fwrite(p, 1, len, f) != len)
				perror(save_path);
			fclose(f);
		}
	}
	LLVMFuzzerTestOneInput(p, len);
}

/* Read one file into the corpus and run it.  Returns false on I/O errors. */
static bool load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "fuzz_lexer: %s: %s\n", path, strerror(errno));
		return false;
	}
	buf = malloc(FUZZ_MAX_INPUT);
	if (buf == NULL) {
		fclose(f);
		return false;
	}
	n = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	run_one(buf, n);
	corpus_add(buf, n);
	free(buf);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every regular file of a directory (sorted, not recursive). */
static bool load_path(const char *path)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	bool ok = true;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "fuzz_lexer: %s: %s\n", path, strerror(errno));
		return false;
	}
	if (!S_ISDIR(sb.st_mode))
		return load_file(path);
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "fuzz_lexer: %s: %s\n", path, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL) {
				perror("realloc");
				exit(2);
			}
		}
		names[n] = malloc(strlen(path) + strlen(de->d_name) + 2);
		if (names[n] == NULL) {
			perror("malloc");
			exit(2);
		}
		sprintf(names[n], "%s/%s", path, de->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode))
			ok = load_file(names[i]) && ok;
		free(names[i]);
	}
	free(names);
	return ok;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic for a given seed */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static size_t rnd(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

/* Fragments that steer mutations towards the lexer's corners. */
static const char *const dict[] = {
	"SELECT ", " FROM ", " t ", "`b``q`", "'s\\'q'", "\"d\"\"q\"", "(", ")", ",", ";", ".",
	"?", " JOIN ", " ON ", " USING ", " WHERE ", "UPDATE ", " SET ", "DELETE ", "INSERT ",
	" INTO ", " VALUES ", "WITH ", " AS ", "BEGIN ", " END ", " IF ", " THEN ", " CASE ",
	"CREATE PROCEDURE p() ", "/*", "*/", "/*!", "/*!50100 ", "/*M!100100 ", "--", "-- ",
	"#", "\n", "\\", "'", "\"", "`", "@", "@@session.warning_count", " FOR UPDATE",
	" LOCK IN SHARE MODE", "LOCK TABLES ", " READ", " WRITE", " LEFT ", " REPEAT ",
	" LOOP ", " WHILE ", " DO ", "lbl: ", "0x1f", "1e+5", ".5", " REFERENCES ",
	" RENAME TO ", "DROP TABLE ", "ALTER TABLE ", "EXPLAIN ", "ANALYZE ", "SHOW ",
	"ROW_COUNT()", " DUAL", "/*!80000 ", "/*!99999 '", "\"a\\\"", "/*M!999999 ", " LATERAL ", "JSON_TABLE(", " PARTITION (p)", " USE INDEX (i)",
	" FOR SYSTEM_TIME ALL", "SET STATEMENT x=1 FOR ", " UNION ", "TABLE ", " ON DUPLICATE KEY UPDATE ",
};

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	int rounds = 1 + (int)rnd(8);

	for (int r = 0; r < rounds; r++) {
		size_t pos = rnd(len + 1), n;
		switch (rnd(8)) {
		case 0:         /* flip a bit */
			if (len)
				buf[rnd(len)] ^= (uint8_t)(1u << rnd(8));
			break;
		case 1:         /* set a byte */
			if (len)
				buf[rnd(len)] = (uint8_t)rng();
			break;
		case 2:         /* insert a byte */
			if (len < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (uint8_t)rng();
				len++;
			}
			break;
		case 3:         /* delete a range */
			if (len) {
				pos = rnd(len);
				n = 1 + rnd(len - pos < 16 ? len - pos : 16);
				memmove(buf + pos, buf + pos + n, len - pos - n);
				len -= n;
			}
			break;
		case 4:         /* insert a dictionary fragment */
		case 5: {
			const char *d = dict[rnd(sizeof(dict) / sizeof(dict[0]))];
			n = strlen(d);
			if (len + n <= cap) {
				memmove(buf + pos + n, buf + pos, len - pos);
				memcpy(buf + pos, d, n);
				len += n;
			}
			break;
		}
		case 6:         /* duplicate a range */
			if (len) {
				size_t from = rnd(len);
				n = 1 + rnd(len - from < 64 ? len - from : 64);
				if (len + n <= cap) {
					memmove(buf + pos + n, buf + pos, len - pos);
					memmove(buf + pos, buf + (from < pos ? from : from + n), n);
					len += n;
				}
			}
			break;
		default: {      /* splice in part of another input */
			const struct input *o = &corpus[rnd(ncorpus)];
			size_t from = rnd(o->len);
			n = o->len ? rnd(o->len - from + 1) : 0;
			if (n && len + n <= cap) {
				memmove(buf + pos + n, buf + pos, len - pos);
				memcpy(buf + pos, o->p + from, n);
				len += n;
			}
			break;
		}
		}
		if (rnd(16) == 0)
			len = rnd(len + 1);     /* truncate */
	}
	return len;
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long x;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	x = strtoul(v, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "fuzz_lexer: bad %s=%s\n", name, v);
		exit(2);
	}
	return x;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long iterations = env_ulong("FUZZ_LEXER_ITERATIONS", 50000);
	unsigned long seed = env_ulong("FUZZ_LEXER_SEED", 0x5eed);
	unsigned long seconds = env_ulong("FUZZ_LEXER_SECONDS", 3);
	unsigned long done = 0;
	uint8_t *buf;
	bool ok = true, any_path = false;
	double t0 = now();

	save_path = getenv("FUZZ_LEXER_SAVE");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			iterations = strtoul(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			seed = strtoul(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			seconds = strtoul(argv[++i], NULL, 0);
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [-n ITERATIONS] [-s SEED] [-t SECONDS] [FILE|DIR ...]\n",
				argv[0]);
			return 2;
		} else {
			ok = load_path(argv[i]) && ok;
			any_path = true;
		}
	}
	if (!any_path)
		ok = load_path(FUZZ_CORPUS_DIR) && ok;
	if (!ok)
		return 1;
	for (size_t i = 0; i < sizeof(dict) / sizeof(dict[0]); i++)
		corpus_add((const uint8_t *)dict[i], strlen(dict[i]));

	buf = malloc(FUZZ_MAX_INPUT);
	if (buf == NULL)
		return 2;
	rng_state = seed ? seed : 1;
	for (; done < iterations; done++) {
		const struct input *in = &corpus[rnd(ncorpus)];
		size_t len = in->len < FUZZ_MAX_INPUT ? in->len : FUZZ_MAX_INPUT;

		if ((done & 255) == 0 && now() - t0 > (double)seconds)
			break;
		memcpy(buf, in->p, len);
		len = mutate(buf, len, FUZZ_MAX_INPUT);
		run_one(buf, len);
	}
	printf("fuzz_lexer: %zu inputs replayed, %lu mutations (seed %#lx) in %.1f s\n",
	       ncorpus, done, seed, now() - t0);
	free(buf);
	for (size_t i = 0; i < ncorpus; i++)
		free(corpus[i].p);
	free(corpus);
	return 0;
}

#endif /* CUTOVER_LIBFUZZER */
