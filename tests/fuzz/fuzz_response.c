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
 * target.  Otherwise main() of fuzz_main.h runs it: with file arguments, on each
 * file (to reproduce a crash); without, over built-in seeds and a
 * fixed-seed random mutation loop bounded in time and iterations, so that
 * `make check` runs it under ASan/UBSan.  FUZZ_RESPONSE_SECONDS (default
 * 1.5), FUZZ_RESPONSE_ITERATIONS (default 1000000) and FUZZ_RESPONSE_SEED
 * override the bounds.
 */
#include "config.h"
#include "protocol/mysql.h"
#include "protocol/response.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KINDS 9       /* enum resp_kind has 9 values */

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

#define FUZZ_NAME "fuzz_response"
#define FUZZ_ENV "FUZZ_RESPONSE_"      /* prefix of the environment variables */
#include "tests/fuzz/fuzz_main.h"

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
			int v = fuzz_hexval(*h);

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

static size_t fuzz_seed_count(void)
{
	return sizeof(seeds) / sizeof(seeds[0]);
}

static uint8_t *fuzz_seed(size_t i, size_t *len)
{
	return encode_seed(&seeds[i], len);
}

#endif /* !CUTOVER_LIBFUZZER */
