/*
 * fuzz_params.c - fuzz target of the COM_STMT_EXECUTE parameter decoder
 * (protocol/params.c).
 *
 * Input format:
 *   byte 0      the statement's parameter count (modulo 33)
 *   byte 1      mode: 0x01 NO_BACKSLASH_ESCAPES, 0x02 a long-data mask
 *               follows, 0x04 several executes (below), 0x08 also quote
 *               each payload with params_quote()
 *   [mask]      with 0x02: (count + 7) / 8 bytes, bit i = parameter i
 *               was sent as long data
 *   payloads    without 0x04: the rest is one COM_STMT_EXECUTE payload;
 *               with 0x04: payloads of one statement in turn, each a
 *               2-byte little-endian length and its bytes (the types of
 *               one execute serve the next, as for a real statement)
 * Each payload is decoded from a heap copy of exactly its size, so
 * AddressSanitizer reports any read past it; LeakSanitizer reports what
 * a failure path forgot.  Invariants (abort on violation): a success has
 * one entry per parameter, long data exactly where the mask says, and
 * every literal well formed -- NULL, a number, or a quoted / hex string
 * that reads back (as a server lexer would, in a single-byte and in a
 * gbk-like character set) to the same bytes both ways; a failure has a
 * reason and an empty result; the stored types are absent or of the
 * statement's count.  params_quote() output must read back to its input.
 *
 * As a libFuzzer target (clang only, from the top of a configured tree):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DCUTOVER_LIBFUZZER -I. \
 *       tests/fuzz/fuzz_params.c protocol/params.c protocol/packet.c -o fuzz_params_lf
 *   ./fuzz_params_lf -max_len=2000 /tmp/params-corpus tests/fuzz/corpus/params
 *
 * Without -DCUTOVER_LIBFUZZER, main() of fuzz_main.h runs it (see there):
 * the built-in seeds below and the files of the seed corpus
 * (FUZZ_CORPUS_DIR, tests/fuzz/corpus/params), then fixed-seed mutations
 * bounded by FUZZ_PARAMS_SECONDS (default 1.5) and FUZZ_PARAMS_ITERATIONS;
 * FUZZ_PARAMS_SEED changes the seed.
 */
#include "config.h"
#include "protocol/mysql.h"
#include "protocol/params.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PARAMS 33

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_params: invariant broken: %s\n", what);
	abort();
}

/*
 * Read a string literal back as a server lexer would: adjacent '...'
 * pieces, '' for a quote, backslash escapes unless nbe; or X'hex'.  With
 * mb, a byte 0x81-0xfe and a second byte 0x40-0x7e / 0x80-0xfe are one
 * character (gbk).  Returns the bytes read (malloc'ed, *n), NULL when the
 * literal is malformed.
 */
static uint8_t *read_back(const char *lit, bool nbe, bool mb, size_t *n)
{
	const uint8_t *p = (const uint8_t *)lit;
	uint8_t *out = malloc(strlen(lit) + 1);

	*n = 0;
	if (out == NULL)
		abort();
	if (p[0] == 'X') {
		if (p[1] != '\'')
			goto bad;
		for (p += 2; *p != '\''; p += 2) {
			int hi, lo;

			if (*p == '\0' || p[1] == '\0')
				goto bad;
			hi = (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10 : (*p >= '0' && *p <= '9') ? *p - '0' : -1;
			lo = (p[1] >= 'A' && p[1] <= 'F') ? p[1] - 'A' + 10 :
			     (p[1] >= '0' && p[1] <= '9') ? p[1] - '0' : -1;
			if (hi < 0 || lo < 0)
				goto bad;
			out[(*n)++] = (uint8_t)(hi << 4 | lo);
		}
		if (p[1] != '\0')
			goto bad;
		return out;
	}
	for (;;) {
		if (*p != '\'')
			goto bad;
		p++;
		for (;;) {
			if (*p == '\0')
				goto bad;
			if (mb && *p >= 0x81 && *p <= 0xfe &&
			    ((p[1] >= 0x40 && p[1] <= 0x7e) || (p[1] >= 0x80 && p[1] <= 0xfe))) {
				out[(*n)++] = p[0];
				out[(*n)++] = p[1];
				p += 2;
			} else if (*p == '\'' && p[1] == '\'') {
				out[(*n)++] = '\'';
				p += 2;
			} else if (*p == '\'') {
				p++;
				break;
			} else if (*p == '\\' && !nbe) {
				if (p[1] == '0')
					out[(*n)++] = 0;
				else if (p[1] == '\\')
					out[(*n)++] = '\\';
				else
					goto bad;
				p += 2;
			} else {
				out[(*n)++] = *p++;
			}
		}
		if (*p == '\0')
			return out;
		if (*p != ' ')
			goto bad;
		p++;
	}
bad:
	free(out);
	return NULL;
}

/* A quoted or hex literal must read back the same in both kinds of
 * character set; returns false when it is malformed. */
static bool string_ok(const char *lit, bool nbe)
{
	size_t n1, n2;
	uint8_t *a = read_back(lit, nbe, false, &n1), *b = read_back(lit, nbe, true, &n2);
	bool ok = a != NULL && b != NULL && n1 == n2 && memcmp(a, b, n1) == 0;

	free(a);
	free(b);
	return ok;
}

static bool all_of(const char *s, const char *set)
{
	return *s != '\0' && strspn(s, set) == strlen(s);
}

static void check_literal(const char *lit, bool nbe)
{
	if (strcmp(lit, "NULL") == 0)
		return;
	if (lit[0] == '\'' || lit[0] == 'X') {
		if (!string_ok(lit, nbe))
			broken("string literal does not read back");
		return;
	}
	if (strncmp(lit, "_binary ", 8) == 0) {
		if (lit[8] != 'X' || !string_ok(lit + 8, nbe))
			broken("_binary hex literal malformed");
		return;
	}
	if (strncmp(lit, "_binary'", 8) == 0) {
		if (!string_ok(lit + 7, nbe))
			broken("_binary literal does not read back");
		return;
	}
	/* typed temporal literals: digits and separators only, quoted */
	for (size_t k = 0; k < 3; k++) {
		static const char *const words[3] = { "DATE'", "TIMESTAMP'", "TIME'" };
		size_t w = strlen(words[k]), n = strlen(lit);
		char body[64];

		if (strncmp(lit, words[k], w) != 0)
			continue;
		if (n < w + 2 || n - w - 1 >= sizeof(body) || lit[n - 1] != '\'')
			broken("typed literal malformed");
		memcpy(body, lit + w, n - w - 1);
		body[n - w - 1] = '\0';
		if (!all_of(body, k == 2 ? "0123456789:.-" : "0123456789:.- ") || body[0] == '.')
			broken("typed literal with other characters");
		return;
	}
	if (!all_of(lit, "0123456789.-+e"))
		broken("number literal with other characters");
	if (lit[0] == '.' || lit[0] == 'e' || lit[0] == '+')
		broken("number literal starts badly");
}

static void run_one(const uint8_t *pl, size_t len, unsigned nparams, struct params_types *types,
		    const bool *mask, bool nbe, bool quote)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct params_literals out;
	const char *why = NULL;
	unsigned i;

	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, pl, len);
	if (params_decode(copy, len, nparams, types, mask, nbe, &out, &why)) {
		if (out.n != nparams || (nparams > 0 && (out.lit == NULL || out.long_data == NULL)))
			broken("success with the wrong count");
		for (i = 0; i < out.n; i++) {
			bool ld = mask != NULL && mask[i];

			if (out.long_data[i] != ld)
				broken("long data flag differs from the mask");
			if ((out.lit[i] == NULL) != ld)
				broken("literal present for long data, or missing");
			if (out.lit[i] != NULL)
				check_literal(out.lit[i], nbe);
		}
		params_literals_free(&out);
	} else {
		if (why == NULL || why[0] == '\0')
			broken("failure without a reason");
		if (out.n != 0 || out.lit != NULL || out.long_data != NULL)
			broken("failure with a result");
	}
	if (types->types == NULL ? types->n != 0 : types->n != nparams)
		broken("stored types of another count");
	if (quote) {
		char *q = params_quote((const char *)copy, len, nbe);
		size_t n1, n2;
		uint8_t *a, *b;

		if (q == NULL)
			abort();
		a = read_back(q, nbe, false, &n1);
		b = read_back(q, nbe, true, &n2);
		if (a == NULL || b == NULL || n1 != len || n2 != len ||
		    (len > 0 && (memcmp(a, copy, len) != 0 || memcmp(b, copy, len) != 0)))
			broken("params_quote output does not read back to its input");
		free(a);
		free(b);
		free(q);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct params_types types = { 0, NULL };
	bool mask[FUZZ_MAX_PARAMS], nbe, quote, have_mask;
	unsigned nparams, i;
	uint8_t mode;
	size_t pos = 2;

	if (size < 2)
		return 0;
	nparams = data[0] % FUZZ_MAX_PARAMS;
	mode = data[1];
	nbe = mode & 0x01;
	have_mask = mode & 0x02;
	quote = mode & 0x08;
	if (have_mask) {
		size_t mb = (nparams + 7) / 8;

		if (size - pos < mb)
			return 0;
		for (i = 0; i < nparams; i++)
			mask[i] = data[pos + i / 8] & (1u << (i % 8));
		pos += mb;
	}
	if (!(mode & 0x04)) {
		run_one(data + pos, size - pos, nparams, &types, have_mask ? mask : NULL, nbe, quote);
	} else {
		while (size - pos >= 2) {
			size_t len = (size_t)data[pos] | ((size_t)data[pos + 1] << 8);

			pos += 2;
			if (len > size - pos)
				len = size - pos;
			run_one(data + pos, len, nparams, &types, have_mask ? mask : NULL, nbe, quote);
			pos += len;
		}
	}
	params_types_free(&types);
	return 0;
}

#ifndef CUTOVER_LIBFUZZER

#define FUZZ_NAME "fuzz_params"
#define FUZZ_ENV "FUZZ_PARAMS_"
#include "tests/fuzz/fuzz_main.h"

#include <dirent.h>

#ifndef FUZZ_CORPUS_DIR
#define FUZZ_CORPUS_DIR "tests/fuzz/corpus/params"
#endif

/* ---- seeds -------------------------------------------------------------- */

/* Built-in seeds in the input format, hex.  "17 07000000 00 01000000" is
 * the execute header (statement 7, no cursor, one iteration). */
static const char *const builtin[] = {
	/* one LONG, types bound */
	"01 00  17 07000000 00 01000000  00 01 0300 2a000000",
	/* three parameters, one NULL, string with quote and backslash */
	"03 08  17 07000000 00 01000000  04 01 fd00 0800 fc00  03 27 5c 00  ffffffffffffffff",
	/* no_backslash_escapes, blob with NUL, double, decimal */
	"03 09  17 07000000 00 01000000  00 01 fc00 0500 f600  02 00 bf  9a9999999999b93f  05 2d 31 2e 35 30",
	/* dates and times */
	"04 00  17 07000000 00 01000000  00 01 0a00 0c00 0700 0b00  04 e8 07 01 02"
	"  0b e8 07 01 02 03 04 05 06 00 00 00  00  0c 01 01 00 00 00 03 04 05 20 a1 07 00",
	/* long data mask: parameter 1 */
	"02 02 02  17 07000000 00 01000000  00 01 0300 fc00  01000000",
	/* two executes: types, then none */
	"02 04  1700 17 07000000 00 01000000 00 01 0300 fd00 05000000 02 6f 6b"
	"  1000 17 07000000 00 01000000 02 00 06000000",
	/* no parameters */
	"00 00  17 07000000 00 01000000",
};

#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))
#define MAX_FILES 64

static char *files[MAX_FILES];
static size_t nfiles;
static bool listed;

/* The seed corpus files, sorted by name (the order is part of the run). */
static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_corpus(void)
{
	DIR *d;
	struct dirent *e;

	if (listed)
		return;
	listed = true;
	d = opendir(FUZZ_CORPUS_DIR);
	if (d == NULL) {
		printf("# %s: no seed corpus at %s\n", FUZZ_NAME, FUZZ_CORPUS_DIR);
		return;
	}
	while ((e = readdir(d)) != NULL && nfiles < MAX_FILES) {
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		n = strlen(FUZZ_CORPUS_DIR) + strlen(e->d_name) + 2;
		files[nfiles] = malloc(n);
		if (files[nfiles] == NULL)
			abort();
		snprintf(files[nfiles], n, "%s/%s", FUZZ_CORPUS_DIR, e->d_name);
		nfiles++;
	}
	closedir(d);
	qsort(files, nfiles, sizeof(files[0]), by_name);
}

static size_t fuzz_seed_count(void)
{
	list_corpus();
	return NBUILTIN + nfiles;
}

static uint8_t *fuzz_seed(size_t i, size_t *len)
{
	uint8_t *buf = malloc(FUZZ_MAX_INPUT);

	if (buf == NULL)
		abort();
	*len = 0;
	if (i < NBUILTIN) {
		const char *h = builtin[i];
		int hi = -1;

		for (; *h != '\0' && *len < FUZZ_MAX_INPUT; h++) {
			int v = fuzz_hexval(*h);

			if (v < 0)
				continue;
			if (hi < 0) {
				hi = v;
			} else {
				buf[(*len)++] = (uint8_t)(hi << 4 | v);
				hi = -1;
			}
		}
	} else {
		FILE *f = fopen(files[i - NBUILTIN], "rb");

		if (f != NULL) {
			*len = fread(buf, 1, FUZZ_MAX_INPUT, f);
			fclose(f);
		}
		free(files[i - NBUILTIN]);       /* each seed is asked for once */
		files[i - NBUILTIN] = NULL;
	}
	return buf;
}

#endif /* !CUTOVER_LIBFUZZER */
