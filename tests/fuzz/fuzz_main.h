/*
 * fuzz_main.h - the standalone driver shared by the codec fuzz targets
 * (fuzz_response.c, fuzz_handshake.c): main() for builds without
 * libFuzzer, so that `make check` runs each target under ASan/UBSan.
 *
 * With file arguments it runs the target on each file (to reproduce a
 * crash).  Without, it runs the built-in seeds, then a fixed-seed random
 * mutation loop bounded in time and iterations: FUZZ_ENV "SECONDS"
 * (default 1.5), FUZZ_ENV "ITERATIONS" (default 1000000) and FUZZ_ENV
 * "SEED" override the bounds.  On an abort, a crash or a sanitizer report
 * the input is printed in hex and saved as FUZZ_NAME ".crash" in the
 * current folder.
 *
 * Not for a -DCUTOVER_LIBFUZZER build (libFuzzer has its own main).  A
 * target uses it like this, after its LLVMFuzzerTestOneInput():
 *
 *   #ifndef CUTOVER_LIBFUZZER
 *   #define FUZZ_NAME "fuzz_response"     (program and crash file name)
 *   #define FUZZ_ENV "FUZZ_RESPONSE_"     (prefix of the variables)
 *   #include "tests/fuzz/fuzz_main.h"
 *   ... its seeds, then the two functions declared below ...
 *   #endif
 *
 * fuzz_hexval() is there for the targets' seed encoders.
 */
#ifndef CUTOVER_TESTS_FUZZ_FUZZ_MAIN_H
#define CUTOVER_TESTS_FUZZ_FUZZ_MAIN_H

#ifdef CUTOVER_LIBFUZZER
#error "fuzz_main.h is the standalone driver; libFuzzer brings its own main()"
#endif
#if !defined(FUZZ_NAME) || !defined(FUZZ_ENV)
#error "define FUZZ_NAME and FUZZ_ENV before including fuzz_main.h"
#endif

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_DEATH_CALLBACK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_DEATH_CALLBACK 1
#endif
#endif
#ifdef FUZZ_DEATH_CALLBACK
#include <sanitizer/common_interface_defs.h>
#endif

/* ---- what the target defines ------------------------------------------- */

/* The number of built-in seeds. */
static size_t fuzz_seed_count(void);

/* Seed i (< fuzz_seed_count()) in the target's input format, malloc'd;
 * *len is set to its size.  The driver frees it. */
static uint8_t *fuzz_seed(size_t i, size_t *len);

/* ---- standalone driver ------------------------------------------------- */

#define FUZZ_MAX_INPUT 4096

static const uint8_t *fuzz_cur;    /* the input being run, for the death callback */
static size_t fuzz_cur_len;
static uint64_t fuzz_rng;

/* The value of one hex digit, -1 for any other character. */
static int fuzz_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* On a sanitizer report: print the input and save it for a rerun. */
static void fuzz_dump(void)
{
	FILE *f;
	size_t i;

	fprintf(stderr, "# %s: crashing input (%zu bytes):", FUZZ_NAME, fuzz_cur_len);
	for (i = 0; i < fuzz_cur_len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n# ", fuzz_cur[i]);
	fputc('\n', stderr);
	f = fopen(FUZZ_NAME ".crash", "wb");
	if (f != NULL) {
		if (fwrite(fuzz_cur, 1, fuzz_cur_len, f) == fuzz_cur_len)
			fprintf(stderr, "# saved as %s.crash: rerun with ./%s %s.crash\n",
				FUZZ_NAME, FUZZ_NAME, FUZZ_NAME);
		fclose(f);
	}
}

/* An invariant failed (abort) or the process crashed: say on what input. */
static void fuzz_on_signal(int sig)
{
	fuzz_dump();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fuzz_run(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);    /* exactly sized: ASan sees overreads */

	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, data, len);
	fuzz_cur = copy;
	fuzz_cur_len = len;
	(void)LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

static uint64_t fuzz_rand(void)   /* xorshift64* */
{
	fuzz_rng ^= fuzz_rng >> 12;
	fuzz_rng ^= fuzz_rng << 25;
	fuzz_rng ^= fuzz_rng >> 27;
	return fuzz_rng * 0x2545f4914f6cdd1dull;
}

static size_t fuzz_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(fuzz_rand() % n);
}

/* Apply 1..6 random edits to buf (len bytes, room for FUZZ_MAX_INPUT). */
static size_t fuzz_mutate(uint8_t *buf, size_t len, const uint8_t *other, size_t olen)
{
	static const uint8_t bytes[] = {
		0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x11, 0x40, 0x7f, 0x80,
		0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
	};
	static const uint32_t u24s[] = {
		0, 1, 2, 5, 7, 8, 9, 12, 31, 32, 33, 250, 251, 0xffff, 0x10000, 0xfffffe, 0xffffff,
	};
	unsigned edits = 1 + (unsigned)fuzz_below(6);

	while (edits-- > 0) {
		size_t at = fuzz_below(len), n;

		switch (fuzz_below(9)) {
		case 0:
			if (len > 0)
				buf[at] ^= (uint8_t)(1u << fuzz_below(8));
			break;
		case 1:
			if (len > 0)
				buf[at] = (uint8_t)fuzz_rand();
			break;
		case 2:
			if (len > 0)
				buf[at] = bytes[fuzz_below(sizeof(bytes))];
			break;
		case 3:
			if (len < FUZZ_MAX_INPUT) {
				at = fuzz_below(len + 1);
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (uint8_t)fuzz_rand();
				len++;
			}
			break;
		case 4:
			if (len > 0) {
				n = 1 + fuzz_below(len - at < 16 ? len - at : 16);
				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
			}
			break;
		case 5:
			if (len > 0) {
				size_t to = fuzz_below(len + 1);

				n = 1 + fuzz_below(len - at < 32 ? len - at : 32);
				if (len + n <= FUZZ_MAX_INPUT) {
					uint8_t tmp[32];

					memcpy(tmp, buf + at, n);
					memmove(buf + to + n, buf + to, len - to);
					memcpy(buf + to, tmp, n);
					len += n;
				}
			}
			break;
		case 6:
			len = fuzz_below(len + 1);
			break;
		case 7:
			if (len >= 3) {
				uint32_t v = u24s[fuzz_below(sizeof(u24s) / sizeof(u24s[0]))];

				at = fuzz_below(len - 2);
				buf[at] = (uint8_t)v;
				buf[at + 1] = (uint8_t)(v >> 8);
				buf[at + 2] = (uint8_t)(v >> 16);
			}
			break;
		case 8:         /* splice: our prefix, the other's suffix */
			if (olen > 0) {
				size_t from = fuzz_below(olen);

				at = fuzz_below(len + 1);
				n = olen - from;
				if (at + n > FUZZ_MAX_INPUT)
					n = FUZZ_MAX_INPUT - at;
				memcpy(buf + at, other + from, n);
				len = at + n;
			}
			break;
		}
	}
	return len;
}

static double fuzz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rerun saved inputs, one file per argument. */
static int fuzz_files(int argc, char **argv)
{
	int i, failed = 0;

	for (i = 1; i < argc; i++) {
		static uint8_t buf[1 << 20];
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (f == NULL) {
			printf("not ok %d - %s: cannot open\n", i, argv[i]);
			failed++;
			continue;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		fuzz_run(buf, n);
		printf("ok %d - %s: %zu bytes, no crash\n", i, argv[i], n);
	}
	printf("1..%d\n", argc - 1);
	return failed > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const size_t nseeds = fuzz_seed_count();
	const char *env;
	double seconds = 1.5, start;
	unsigned long iterations = 1000000, done = 0;
	uint8_t **enc;
	size_t *enclen;
	uint8_t *buf;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGABRT, fuzz_on_signal);
	signal(SIGSEGV, fuzz_on_signal);
	/* replaying files: nothing to allocate, and the death callback (which
	   saves the current generated input) has nothing to save */
	if (argc > 1)
		return fuzz_files(argc, argv);
#ifdef FUZZ_DEATH_CALLBACK
	__sanitizer_set_death_callback(fuzz_dump);
#endif
	buf = malloc(FUZZ_MAX_INPUT);
	enc = malloc(nseeds * sizeof(*enc));
	enclen = malloc(nseeds * sizeof(*enclen));
	if (buf == NULL || enc == NULL || enclen == NULL)
		abort();
	if ((env = getenv(FUZZ_ENV "SECONDS")) != NULL)
		seconds = atof(env);
	if ((env = getenv(FUZZ_ENV "ITERATIONS")) != NULL)
		iterations = strtoul(env, NULL, 10);
	fuzz_rng = 0x9e3779b97f4a7c15ull;
	if ((env = getenv(FUZZ_ENV "SEED")) != NULL && strtoull(env, NULL, 0) != 0)
		fuzz_rng = strtoull(env, NULL, 0);
	printf("# %s: seed 0x%llx, up to %lu inputs or %.1f s\n", FUZZ_NAME,
	       (unsigned long long)fuzz_rng, iterations, seconds);

	for (i = 0; i < nseeds; i++) {
		enc[i] = fuzz_seed(i, &enclen[i]);
		if (enclen[i] > FUZZ_MAX_INPUT)
			enclen[i] = FUZZ_MAX_INPUT;
		fuzz_run(enc[i], enclen[i]);
	}
	start = fuzz_now();
	while (done < iterations) {
		size_t s = fuzz_below(nseeds), o = fuzz_below(nseeds), len;

		memcpy(buf, enc[s], enclen[s]);
		len = fuzz_mutate(buf, enclen[s], enc[o], enclen[o]);
		fuzz_run(buf, len);
		done++;
		if ((done & 255) == 0 && fuzz_now() - start > seconds)
			break;
	}
	printf("ok 1 - %s: %zu seeds and %lu mutated inputs in %.2f s, no crash\n", FUZZ_NAME, nseeds,
	       done, fuzz_now() - start);
	printf("1..1\n");
	for (i = 0; i < nseeds; i++)
		free(enc[i]);
	free(enc);
	free(enclen);
	free(buf);
	return 0;
}

#endif /* CUTOVER_TESTS_FUZZ_FUZZ_MAIN_H */
