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
 * target.  Otherwise main() of fuzz_main.h runs it: with file arguments, on each
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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	hs_patch_greeting_caps(q, &g, masked, g.mariadb_ext_caps & MDB_EXT_RELAYED);
	FUZZ_CHECK(hs_parse_greeting(q, size, &g2));
	FUZZ_CHECK(g2.caps == (g.caps_hi_offset != 0 ? masked : (masked & 0xffff)));
	FUZZ_CHECK(g2.mariadb_ext_caps == (g.mariadb_ext_caps & MDB_EXT_RELAYED) &&
		   g2.has_mariadb_ext == g.has_mariadb_ext);
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
	hs_patch_response_caps(q, size, caps, MDB_EXT_RELAYED);
	FUZZ_CHECK(hs_parse_response(q, size, &hr2));
	FUZZ_CHECK(hr2.caps == caps && hr2.mariadb_ext_caps == MDB_EXT_RELAYED && hr2.ssl_request == hr.ssl_request);
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

#define FUZZ_NAME "fuzz_handshake"
#define FUZZ_ENV "FUZZ_HANDSHAKE_"     /* prefix of the environment variables */
#include "tests/fuzz/fuzz_main.h"

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

static uint8_t *encode_seed(const struct seed *s, size_t *len)
{
	size_t n = strlen(s->hex) / 2 + 1, i;
	uint8_t *buf = malloc(n);
	int hi = -1;

	if (buf == NULL)
		abort();
	*len = 0;
	for (i = 0; s->hex[i] != '\0'; i++) {
		int v = fuzz_hexval(s->hex[i]);

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

static size_t fuzz_seed_count(void)
{
	return sizeof(seeds) / sizeof(seeds[0]);
}

static uint8_t *fuzz_seed(size_t i, size_t *len)
{
	return encode_seed(&seeds[i], len);
}

#endif /* !CUTOVER_LIBFUZZER */
