/*
 * fuzz_response.c - fuzz target for the response state machine
 * (protocol/response.c).
 *
 * Input format:
 *   byte 0      response kind (modulo the number of kinds)
 *   byte 1      capability bits: 0x01 DEPRECATE_EOF, 0x02 SESSION_TRACK
 *   then        packets, each a 3-byte little-endian total length followed
 *               by its head: min(total, RESP_HEAD_MAX) bytes.  The rest of
 *               a long packet is not in the input (the parser never sees it).
 * The packets are fed to resp_feed until END or BAD or the input runs out
 * (an INFILE request continues, as the server goes on after the upload).
 * Each head is copied to a buffer of exactly its size, so AddressSanitizer
 * reports any read past it.  Invariants checked (abort on violation): the
 * event is one of the four, END leaves the parser in RS_DONE, MORE and
 * INFILE do not, and the row/result-set counters never exceed the packets
 * fed.
 *
 * Built with -DCUTOVER_LIBFUZZER and -fsanitize=fuzzer this is a libFuzzer
 * target.  Otherwise main() below runs it: with file arguments, on each
 * file (to reproduce a crash); without, over built-in seeds and a
 * fixed-seed random mutation loop bounded in time and iterations, so that
 * `make check` runs it under ASan/UBSan.  FUZZ_RESPONSE_SECONDS (default
 * 1.5), FUZZ_RESPONSE_ITERATIONS (default 1000000) and FUZZ_RESPONSE_SEED
 * override the bounds.
 */
#include "config.h"
#include "protocol/mysql.h"
#include "protocol/response.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KINDS 8       /* enum resp_kind has 8 values */

static const uint32_t fuzz_base_caps = CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION |
	CAP_MULTI_STATEMENTS | CAP_MULTI_RESULTS | CAP_PS_MULTI_RESULTS | CAP_LOCAL_FILES;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_parser rp;
	uint32_t caps;
	size_t pos = 2;
	unsigned long fed = 0;

	if (size < 2)
		return 0;
	caps = fuzz_base_caps | ((data[1] & 0x01) ? CAP_DEPRECATE_EOF : 0) |
	       ((data[1] & 0x02) ? CAP_SESSION_TRACK : 0);
	resp_init(&rp, (enum resp_kind)(data[0] % FUZZ_KINDS), caps);
	while (size - pos >= 3) {
		size_t total = (size_t)data[pos] | ((size_t)data[pos + 1] << 8) | ((size_t)data[pos + 2] << 16);
		size_t hl = total < RESP_HEAD_MAX ? total : RESP_HEAD_MAX;
		uint8_t *head;
		enum resp_ev ev;

		pos += 3;
		if (size - pos < hl)
			break;
		head = malloc(hl ? hl : 1);
		if (head == NULL)
			abort();
		if (hl > 0)
			memcpy(head, data + pos, hl);
		pos += hl;
		ev = resp_feed(&rp, head, hl, total);
		free(head);
		fed++;
		if (rp.rows > fed || rp.result_sets > fed)
			abort();
		switch (ev) {
		case RESP_EV_MORE:
		case RESP_EV_INFILE:
			if (rp.state == RS_DONE)
				abort();
			continue;
		case RESP_EV_END:
			if (rp.state != RS_DONE)
				abort();
			return 0;
		case RESP_EV_BAD:
			return 0;
		}
		abort();            /* not one of the four events */
	}
	return 0;
}

#ifndef CUTOVER_LIBFUZZER

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

/* ---- seeds -------------------------------------------------------------- */

struct seed {
	uint8_t kind;
	uint8_t capbits;
	const char *packets[20];   /* hex; "@N:hex" = a packet of N bytes starting with hex */
};

#define COLDEF_A "03646566047465737401740174016101610c3f000b000000030000000000"
#define COLDEF_B "03646566047465737401740174016201620c2d0050000000fd0000000000"
#define COLDEF_P "03646566000000013f000c3f0000000000068000000000"

static const struct seed seeds[] = {
	{ RESP_KIND_QUERY, 0, { "00000002000000" } },
	{ RESP_KIND_QUERY, 2, { "00 fc 2c 01 fd 00 00 01 03 00 00 00" } },
	{ RESP_KIND_QUERY, 0, { "ff1e04233432533232556e6b6e6f776e20636f6c756d6e" } },
	{ RESP_KIND_QUERY, 0, { "02", COLDEF_A, COLDEF_B, "fe00002a00", "01310178", "0132fb", "013300",
				"fe00002a00", "01", COLDEF_A, "fe00000a00", "0131", "fe00000a00",
				"00000002000000" } },
	{ RESP_KIND_QUERY, 0, { "fb2f746d702f78", "000100020000002f5265636f726473" } },
	{ RESP_KIND_QUERY, 0, { "01", COLDEF_A, "fe00000200", "@16777225:fe0000000100000000", "fe00000200" } },
	{ RESP_KIND_QUERY, 1, { "02", COLDEF_A, COLDEF_B, "01310178", "@16777215:fe0000000100000000",
				"fe00002200020000" } },
	{ RESP_KIND_QUERY, 1, { "01", COLDEF_A, "0131", "fe00000a000000", "01", COLDEF_B, "ff7a04" } },
	{ RESP_KIND_PREPARE, 0, { "000800000001000100000000", COLDEF_P, "fe00000200", COLDEF_A, "fe00000200" } },
	{ RESP_KIND_PREPARE, 1, { "000800000001000100000000", COLDEF_P, COLDEF_A } },
	{ RESP_KIND_PREPARE, 0, { "000900000000000000000000" } },
	{ RESP_KIND_EXECUTE, 0, { "02", COLDEF_A, COLDEF_B, "fe00006200" } },
	{ RESP_KIND_EXECUTE, 1, { "02", COLDEF_A, COLDEF_B, "fe00004200000000" } },
	{ RESP_KIND_EXECUTE, 0, { "01", COLDEF_A, "fe00002200", "000001000000", "000002000000", "fe00002200" } },
	{ RESP_KIND_FETCH, 0, { "0000010000000178", "000802000000", "fe00004200" } },
	{ RESP_KIND_FETCH, 1, { "0000010000000178", "fe00008200000000" } },
	{ RESP_KIND_FIELD_LIST, 0, { COLDEF_A "fb", COLDEF_B "fb", "fe00000200" } },
	{ RESP_KIND_SIMPLE, 0, { "fe00000200" } },
	{ RESP_KIND_STRING, 0, { "@113:557074696d653a2033392020" } },
	{ RESP_KIND_NONE, 0, { "00000002000000" } },
};

static void put(uint8_t **buf, size_t *len, size_t *cap, uint8_t b)
{
	if (*len == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			abort();
	}
	(*buf)[(*len)++] = b;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Encode a seed in the input format. */
static uint8_t *encode_seed(const struct seed *s, size_t *len)
{
	uint8_t *buf = NULL;
	size_t cap = 0, i;

	*len = 0;
	put(&buf, len, &cap, s->kind);
	put(&buf, len, &cap, s->capbits);
	for (i = 0; i < 20 && s->packets[i] != NULL; i++) {
		const char *h = s->packets[i];
		uint8_t bytes[RESP_HEAD_MAX];
		size_t n = 0, total, hl, k;
		int hi = -1;

		if (h[0] == '@') {
			char *end;

			total = strtoul(h + 1, &end, 10);
			h = end + 1;               /* past ':' */
		} else {
			total = 0;
		}
		for (; *h != '\0'; h++) {
			int v = hexval(*h);

			if (v < 0)
				continue;
			if (hi < 0) {
				hi = v;
			} else {
				if (n < RESP_HEAD_MAX)
					bytes[n] = (uint8_t)(hi << 4 | v);
				n++;
				hi = -1;
			}
		}
		if (total == 0)
			total = n;
		hl = total < RESP_HEAD_MAX ? total : RESP_HEAD_MAX;
		put(&buf, len, &cap, (uint8_t)total);
		put(&buf, len, &cap, (uint8_t)(total >> 8));
		put(&buf, len, &cap, (uint8_t)(total >> 16));
		for (k = 0; k < hl; k++)
			put(&buf, len, &cap, k < n && k < RESP_HEAD_MAX ? bytes[k] : 'a');
	}
	return buf;
}

#define FUZZ_NAME "fuzz_response"
#define FUZZ_ENV "FUZZ_RESPONSE_"      /* prefix of the environment variables */

/* ---- standalone driver (the same in each fuzz target) ------------------ */

#define FUZZ_MAX_INPUT 4096

static const uint8_t *fuzz_cur;    /* the input being run, for the death callback */
static size_t fuzz_cur_len;
static uint64_t fuzz_rng;

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
	const size_t nseeds = sizeof(seeds) / sizeof(seeds[0]);
	const char *env;
	double seconds = 1.5, start;
	unsigned long iterations = 1000000, done = 0;
	uint8_t *enc[sizeof(seeds) / sizeof(seeds[0])];
	size_t enclen[sizeof(seeds) / sizeof(seeds[0])];
	uint8_t *buf = malloc(FUZZ_MAX_INPUT);
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
#ifdef FUZZ_DEATH_CALLBACK
	__sanitizer_set_death_callback(fuzz_dump);
#endif
	signal(SIGABRT, fuzz_on_signal);
	signal(SIGSEGV, fuzz_on_signal);
	if (argc > 1)
		return fuzz_files(argc, argv);
	if (buf == NULL)
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
		enc[i] = encode_seed(&seeds[i], &enclen[i]);
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
	free(buf);
	return 0;
}

#endif /* !CUTOVER_LIBFUZZER */
