/*
 * fuzz_handshake.c - fuzz target for the connection-phase and generic
 * packet parsers: hs_parse_greeting, hs_parse_response,
 * hs_parse_change_user, pkt_parse_ok / err / eof and rs_parse_text_row.
 *
 * The input is one packet payload; every parser runs on it (the caps-
 * dependent ones with several capability sets), from a buffer of exactly
 * the input's size so that AddressSanitizer reports any read past the end.
 * Invariants checked (abort on violation): returned strings are
 * NUL-terminated inside their arrays, pointers into the packet stay inside
 * it, patch offsets lie inside the packet, and a greeting or client
 * response patched to the relayed capabilities parses again to the same
 * fields with the new flags (the proxy relies on that).
 *
 * Built with -DCUTOVER_LIBFUZZER and -fsanitize=fuzzer this is a libFuzzer
 * target.  Otherwise main() below runs it: with file arguments, on each
 * file (to reproduce a crash); without, over built-in seeds (recorded
 * MariaDB 10.11 / MySQL 8.0 packets among them) and a fixed-seed random
 * mutation loop bounded in time and iterations, so that `make check` runs
 * it under ASan/UBSan.  FUZZ_HANDSHAKE_SECONDS (default 1.5),
 * FUZZ_HANDSHAKE_ITERATIONS (default 1000000) and FUZZ_HANDSHAKE_SEED
 * override the bounds.
 */
#include "config.h"
#include "protocol/handshake.h"
#include "protocol/mysql.h"
#include "protocol/packet.h"
#include "protocol/resultset.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* True when s is NUL-terminated within its n bytes. */
static bool terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

/* True when [q, q + n) lies inside [p, p + size). */
static bool inside(const uint8_t *q, size_t n, const uint8_t *p, size_t size)
{
	return q >= p && q <= p + size && n <= (size_t)(p + size - q);
}

static void fuzz_greeting(const uint8_t *p, size_t size)
{
	struct hs_greeting g, g2;
	uint32_t masked;
	uint8_t *q;

	if (!hs_parse_greeting(p, size, &g))
		return;
	FUZZ_CHECK(terminated(g.server_version, sizeof(g.server_version)));
	FUZZ_CHECK(terminated(g.auth_plugin, sizeof(g.auth_plugin)));
	FUZZ_CHECK(g.scramble_len >= 8 && g.scramble_len <= sizeof(g.scramble));
	FUZZ_CHECK(g.caps_lo_offset + 2 <= size);
	FUZZ_CHECK(g.caps_hi_offset == 0 || g.caps_hi_offset + 2 <= size);
	FUZZ_CHECK(g.ext_caps_offset == 0 || g.ext_caps_offset + 4 <= size);
	FUZZ_CHECK(g.has_mariadb_ext == (g.ext_caps_offset != 0));

	/* patched to what the proxy relays, it must parse the same way */
	masked = g.caps & CAP_RELAYED;
	q = malloc(size);
	FUZZ_CHECK(q != NULL);
	memcpy(q, p, size);
	hs_patch_greeting_caps(q, &g, masked);
	FUZZ_CHECK(hs_parse_greeting(q, size, &g2));
	FUZZ_CHECK(g2.caps == (g.caps_hi_offset != 0 ? masked : (masked & 0xffff)));
	FUZZ_CHECK(g2.mariadb_ext_caps == 0 && g2.has_mariadb_ext == g.has_mariadb_ext);
	FUZZ_CHECK(strcmp(g2.server_version, g.server_version) == 0);
	FUZZ_CHECK(strcmp(g2.auth_plugin, g.auth_plugin) == 0);
	FUZZ_CHECK(g2.scramble_len == g.scramble_len &&
		   memcmp(g2.scramble, g.scramble, g.scramble_len) == 0);
	free(q);
}

static void fuzz_client_response(const uint8_t *p, size_t size)
{
	struct hs_response hr, hr2;
	uint32_t caps;
	uint8_t *q;

	if (!hs_parse_response(p, size, &hr))
		return;
	FUZZ_CHECK(size >= 32);
	FUZZ_CHECK(!hr.ssl_request || size == 32);
	FUZZ_CHECK(terminated(hr.user, sizeof(hr.user)) && terminated(hr.db, sizeof(hr.db)) &&
		   terminated(hr.auth_plugin, sizeof(hr.auth_plugin)));

	caps = (hr.caps & CAP_RELAYED) | (hr.caps & CAP_SSL);
	q = malloc(size);
	FUZZ_CHECK(q != NULL);
	memcpy(q, p, size);
	hs_patch_response_caps(q, size, caps);
	FUZZ_CHECK(hs_parse_response(q, size, &hr2));
	FUZZ_CHECK(hr2.caps == caps && hr2.mariadb_ext_caps == 0 && hr2.ssl_request == hr.ssl_request);
	FUZZ_CHECK(strcmp(hr2.user, hr.user) == 0 && strcmp(hr2.db, hr.db) == 0 &&
		   strcmp(hr2.auth_plugin, hr.auth_plugin) == 0);
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t cap_sets[] = {
		0,
		CAP_TRANSACTIONS,
		CAP_PROTOCOL_41,
		CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION | CAP_PLUGIN_AUTH,
		CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION | CAP_PLUGIN_AUTH |
			CAP_SESSION_TRACK | CAP_CONNECT_ATTRS | CAP_DEPRECATE_EOF,
		0xffffffffu,
	};
	uint8_t *p = malloc(size ? size : 1);    /* exactly sized */
	size_t i;

	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);

	fuzz_greeting(p, size);
	fuzz_client_response(p, size);

	for (i = 0; i < sizeof(cap_sets) / sizeof(cap_sets[0]); i++) {
		struct hs_change_user cu;
		struct pkt_ok ok;
		struct pkt_err e;

		if (hs_parse_change_user(p, size, cap_sets[i], &cu))
			FUZZ_CHECK(terminated(cu.user, sizeof(cu.user)) && terminated(cu.db, sizeof(cu.db)) &&
				   terminated(cu.auth_plugin, sizeof(cu.auth_plugin)));
		if (pkt_parse_ok(p, size, cap_sets[i], &ok)) {
			FUZZ_CHECK(ok.info == NULL ? ok.info_len == 0 : inside(ok.info, ok.info_len, p, size));
			FUZZ_CHECK(ok.status_offset == 0 || ok.status_offset + 2 <= size);
		}
		if (pkt_parse_err(p, size, cap_sets[i], &e)) {
			FUZZ_CHECK(size >= 3 && e.code == (uint16_t)(p[1] | (p[2] << 8)));
			FUZZ_CHECK(e.sqlstate[5] == '\0' && inside(e.msg, e.msg_len, p, size));
		}
	}
	{
		struct pkt_eof eof;

		if (pkt_parse_eof(p, size, &eof))
			FUZZ_CHECK(size >= 1 && size < 9 && (eof.status_offset == 0 || eof.status_offset + 2 <= size));
	}
	{
		static const unsigned ncols[] = { 0, 1, 2, 3, 7, 16 };
		struct rs_value v[16];
		size_t k;

		for (i = 0; i < sizeof(ncols) / sizeof(ncols[0]); i++) {
			if (!rs_parse_text_row(p, size, ncols[i], v))
				continue;
			for (k = 0; k < ncols[i]; k++)
				FUZZ_CHECK(v[k].p == NULL ? v[k].len == 0 : inside(v[k].p, v[k].len, p, size));
		}
	}
	free(p);
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

/* ---- seeds: one payload each, in hex ------------------------------------ */

struct seed {
	const char *hex;
};

static const struct seed seeds[] = {
	/* MariaDB 10.11.19 greeting (recorded) */
	{ "0a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100040000002d4246774535767300fe"
	  "f72d0200ff81150000000000001d0000005e5e3f5d39442a43514d6f66006d7973716c5f6e61746976655f7061737377"
	  "6f726400" },
	/* MySQL 8.0.32 greeting (recorded) */
	{ "0a382e302e333200080000001c4619465976404b00ffffff0200ffdf1500000000000000000000"
	  "3f71347153455e5d227a323d0063616368696e675f736861325f70617373776f726400" },
	/* libmariadb 3.3.20 HandshakeResponse41 with schema and attributes (recorded) */
	{ "8ca2bf00000010002d000000000000000000000000000000000000001d00000061707000144be8582b0ea347030a526d"
	  "7da1a3a2504790927374657374006d7973716c5f6e61746976655f70617373776f7264006b035f6f73054c696e75780c"
	  "5f636c69656e745f6e616d650a6c69626d617269616462045f70696404343839310f5f636c69656e745f76657273696f"
	  "6e06332e332e3230095f706c6174666f726d067838365f36340c5f7365727665725f686f7374093132372e302e302e31" },
	/* PyMySQL 1.0.2 HandshakeResponse41 (recorded) */
	{ "0da23a00ffffff002d000000000000000000000000000000000000000000000061707000144a5c4cdbe1278a5c58baed"
	  "1d32fb6d6003d0edfe74657374006d7973716c5f6e61746976655f70617373776f726400350c5f636c69656e745f6e61"
	  "6d650770796d7973716c045f70696404353435390f5f636c69656e745f76657273696f6e05312e302e32" },
	/* MySQL 8.0.32 client response, 1-byte auth length (recorded) */
	{ "08aa0a00ffffff00e00000000000000000000000000000000000000000000000"
	  "726f6f740020382494b77530094f7aa0351eeea13eb2e5fe457f1bb4d9407254d3a993daeb55"
	  "746573740063616368696e675f736861325f70617373776f726400" },
	/* SSLRequest (recorded) */
	{ "08aa0a00ffffff00e00000000000000000000000000000000000000000000000" },
	/* COM_CHANGE_USER of libmariadb (recorded) */
	{ "1161707000144be8582b0ea347030a526d7da1a3a2504790927374657374002d006d7973716c5f6e61746976655f7061"
	  "7373776f7264006b035f6f73054c696e75780c5f636c69656e745f6e616d650a6c69626d617269616462045f70696404"
	  "343839310f5f636c69656e745f76657273696f6e06332e332e3230095f706c6174666f726d067838365f36340c5f7365"
	  "727665725f686f7374093132372e302e302e31" },
	/* OK packets: after auth with session state, after LOAD DATA, counters */
	{ "00000002400000000701050474657374" },
	{ "000100020000002f5265636f7264733a2031202044656c657465643a20302020536b69707065643a20" },
	{ "00fc2c01fd000001030000000000" },
	{ "fe00000200000000" },
	/* ERR packets */
	{ "ff1e04233432533232556e6b6e6f776e20636f6c756d6e20276e6f73756368636f6c2720696e202753454c45435427" },
	{ "ff1004546f6f206d616e7920636f6e6e656374696f6e73" },
	/* EOF */
	{ "fe02000200" },
	/* text rows */
	{ "fb000361626301310178" },
	{ "fc2c0161616161616161616161" },
	{ "075761726e696e6704313336350d4469766973696f6e2062792030" },
};

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

static uint8_t *encode_seed(const struct seed *s, size_t *len)
{
	size_t n = strlen(s->hex) / 2 + 1, i;
	uint8_t *buf = malloc(n);
	int hi = -1;

	if (buf == NULL)
		abort();
	*len = 0;
	for (i = 0; s->hex[i] != '\0'; i++) {
		int v = hexval(s->hex[i]);

		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			buf[(*len)++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return buf;
}

#define FUZZ_NAME "fuzz_handshake"
#define FUZZ_ENV "FUZZ_HANDSHAKE_"     /* prefix of the environment variables */

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
