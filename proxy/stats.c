/*
 * stats.c - counters and the log2 latency histogram.
 */
#include "config.h"
#include "proxy/stats.h"
#include "protocol/mysql.h"

void stats_command(struct stats *st, uint8_t cmd)
{
	st->commands[cmd < STATS_COMMANDS ? cmd : STATS_COMMANDS]++;
}

void stats_latency(struct stats *st, uint64_t usec)
{
	unsigned b = 0;

	while (b < STATS_LAT_BUCKETS - 1 && usec >= (1ull << b))
		b++;
	st->lat[b]++;
	st->lat_count++;
	st->lat_sum_us += usec;
}

uint64_t stats_percentile(const struct stats *st, double q)
{
	uint64_t want, seen = 0;
	unsigned b;

	if (st->lat_count == 0)
		return 0;
	want = (uint64_t)((double)st->lat_count * q / 100.0);
	if (want == 0)
		want = 1;
	for (b = 0; b < STATS_LAT_BUCKETS; b++) {
		seen += st->lat[b];
		if (seen >= want)
			return 1ull << b;
	}
	return 1ull << (STATS_LAT_BUCKETS - 1);
}

const char *stats_command_name(unsigned cmd)
{
	static const char *const names[STATS_COMMANDS] = {
		"sleep", "quit", "init_db", "query", "field_list", "create_db",
		"drop_db", "refresh", "shutdown", "statistics", "process_info",
		"connect", "process_kill", "debug", "ping", "time",
		"delayed_insert", "change_user", "binlog_dump", "table_dump",
		"connect_out", "register_slave", "stmt_prepare", "stmt_execute",
		"stmt_send_long_data", "stmt_close", "stmt_reset", "set_option",
		"stmt_fetch", "daemon", "binlog_dump_gtid", "reset_connection",
	};

	return cmd < STATS_COMMANDS ? names[cmd] : "other";
}
