/*
 * stats.h - process-wide counters and a command latency histogram.
 * Updated on the event-loop thread only; read by the admin socket and
 * the /metrics endpoint on the same thread, so no locking.
 */
#ifndef CUTOVER_STATS_H
#define CUTOVER_STATS_H

#include <stdint.h>

#define STATS_COMMANDS 0x20       /* command bytes 0x00..0x1f, others in [0x1f+1] */
#define STATS_LAT_BUCKETS 40      /* bucket i: latency < 2^i microseconds */

struct stats {
	uint64_t connections_total;     /* accepted client connections */
	uint64_t connections_refused;   /* over max_clients, backend down, TLS */
	uint64_t auth_failures;         /* server answered the login with ERR */
	uint64_t commands[STATS_COMMANDS + 1];
	uint64_t bytes_from_clients;
	uint64_t bytes_to_clients;
	uint64_t server_errors;         /* ERR packets relayed from the backend */
	uint64_t proxy_errors;          /* ERR packets the proxy sent itself */
	uint64_t injected_statements;   /* statements the proxy ran in sessions */
	uint64_t held_commands;         /* commands that waited at the gate */
	uint64_t diagnostics_answered;  /* diagnostics reads answered from the saved copy */
	uint64_t refused_writes;        /* writes refused because of a deploy request */
	uint64_t lat[STATS_LAT_BUCKETS];/* client command latency histogram */
	uint64_t lat_count;
	uint64_t lat_sum_us;            /* the latencies added up */
};

void stats_command(struct stats *st, uint8_t cmd);
void stats_latency(struct stats *st, uint64_t usec);
/* Latency at percentile q (0..100) in microseconds: the bucket's upper bound. */
uint64_t stats_percentile(const struct stats *st, double q);
const char *stats_command_name(unsigned cmd);

#endif
