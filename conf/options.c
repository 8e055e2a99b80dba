/*
 * options.c - the one table of cutoverd options.
 *
 * Each entry gives the ini section and key, the type, the field of struct
 * conf it fills, the default as a user would write it, the bounds or the
 * allowed names, whether a reload (SIGHUP) may change it, and the help text.
 * conf/cutoverd.ini and doc/configuration.md repeat the help text and
 * defaults; tests/unit/test_conf.c fails when they drift from this table.
 *
 * The names of an enum option are listed in the order of the C enum, so
 * that the index of a name is its value.
 */
#include "conf/conf.h"

#include <stddef.h>

static const char *const client_tls_names[] = {
	"disabled", "optional", "required", NULL
};

static const char *const backend_tls_names[] = {
	"disabled", "preferred", "required", "verify-ca", "verify-identity", NULL
};

static const char *const log_level_names[] = {
	"error", "warning", "info", "debug", NULL
};

#define MS_1_HOUR 3600000
#define S_1_YEAR 31536000

const struct conf_option conf_options[] = {
	/* [proxy] */
	{
		.section = "proxy", .name = "listen", .type = CONF_STRING,
		.offset = offsetof(struct conf, listen),
		.def = "127.0.0.1:6033", .reloadable = false,
		.help = "Address and port that MySQL clients connect to, as "
			"host:port.",
	},
	{
		.section = "proxy", .name = "admin_socket", .type = CONF_STRING,
		.offset = offsetof(struct conf, admin_socket),
		.def = CONF_DEFAULT_ADMIN_SOCKET, .reloadable = false,
		.help = "Path of the admin Unix socket that cutoverctl talks "
			"to. It is created with owner-only permissions.",
	},
	{
		.section = "proxy", .name = "metrics_listen", .type = CONF_STRING,
		.offset = offsetof(struct conf, metrics_listen),
		.def = "", .reloadable = false,
		.help = "Address and port (host:port) of the HTTP metrics "
			"endpoint; empty turns it off.",
	},
	{
		.section = "proxy", .name = "max_clients", .type = CONF_INT,
		.offset = offsetof(struct conf, max_clients),
		.def = "10000", .min = 0, .max = 1000000, .reloadable = true,
		.help = "Most client connections open at once; a client beyond "
			"it is refused with an error. 0 means no limit.",
	},
	{
		.section = "proxy", .name = "handshake_timeout_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, handshake_timeout_ms),
		.def = "10000", .min = 1, .max = MS_1_HOUR, .reloadable = true,
		.help = "Milliseconds a new client has to finish the handshake "
			"and authentication before it is disconnected.",
	},
	{
		.section = "proxy", .name = "client_idle_timeout", .type = CONF_INT,
		.offset = offsetof(struct conf, client_idle_timeout_s),
		.def = "0", .min = 0, .max = S_1_YEAR, .reloadable = true,
		.help = "Seconds a client may stay idle outside a transaction "
			"before it is disconnected. 0 means never.",
	},
	{
		.section = "proxy", .name = "client_idle_in_transaction_timeout",
		.type = CONF_INT,
		.offset = offsetof(struct conf, client_idle_in_trans_timeout_s),
		.def = "0", .min = 0, .max = S_1_YEAR, .reloadable = true,
		.help = "Seconds a client may stay idle inside an open "
			"transaction before it is disconnected (the server then "
			"rolls the transaction back). 0 means never.",
	},
	{
		.section = "proxy", .name = "shutdown_timeout_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, shutdown_timeout_ms),
		.def = "30000", .min = 0, .max = MS_1_HOUR, .reloadable = true,
		.help = "On SIGTERM, milliseconds to wait for open transactions "
			"to end before the remaining connections are closed.",
	},
	{
		.section = "proxy", .name = "max_packet_size", .type = CONF_INT,
		.offset = offsetof(struct conf, max_packet_size),
		.def = "1073741824", .min = 1024, .max = 1073741824,
		.reloadable = false,
		.help = "Largest client command, in bytes, that the proxy "
			"buffers whole.",
	},
	{
		.section = "proxy", .name = "client_tls", .type = CONF_ENUM,
		.offset = offsetof(struct conf, client_tls),
		.def = "disabled", .enum_names = client_tls_names,
		.reloadable = false,
		.help = "TLS towards clients: disabled; optional (offered, each "
			"client chooses); or required (a client that does not "
			"start TLS is refused).",
	},
	{
		.section = "proxy", .name = "client_tls_cert", .type = CONF_STRING,
		.offset = offsetof(struct conf, client_tls_cert),
		.def = "", .reloadable = false,
		.help = "PEM file with the certificate (chain) shown to clients; "
			"needed unless client_tls is disabled.",
	},
	{
		.section = "proxy", .name = "client_tls_key", .type = CONF_STRING,
		.offset = offsetof(struct conf, client_tls_key),
		.def = "", .reloadable = false,
		.help = "PEM file with the private key of client_tls_cert; "
			"needed unless client_tls is disabled.",
	},

	/* [backend] */
	{
		.section = "backend", .name = "host", .type = CONF_STRING,
		.offset = offsetof(struct conf, backend_host),
		.def = "127.0.0.1", .reloadable = true,
		.help = "Host name or IP address of the MySQL or MariaDB "
			"server.",
	},
	{
		.section = "backend", .name = "port", .type = CONF_INT,
		.offset = offsetof(struct conf, backend_port),
		.def = "3306", .min = 1, .max = 65535, .reloadable = true,
		.help = "TCP port of the server.",
	},
	{
		.section = "backend", .name = "connect_timeout_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, backend_connect_timeout_ms),
		.def = "5000", .min = 1, .max = MS_1_HOUR, .reloadable = true,
		.help = "Milliseconds to wait for a connection to the server.",
	},
	{
		.section = "backend", .name = "tls", .type = CONF_ENUM,
		.offset = offsetof(struct conf, backend_tls),
		.def = "disabled", .enum_names = backend_tls_names,
		.reloadable = true,
		.help = "TLS towards the server: disabled; preferred (when the "
			"server offers it); required (no certificate check); "
			"verify-ca (the certificate is signed by tls_ca); or "
			"verify-identity (as verify-ca, and the certificate "
			"names host).",
	},
	{
		.section = "backend", .name = "tls_ca", .type = CONF_STRING,
		.offset = offsetof(struct conf, backend_tls_ca),
		.def = "", .reloadable = true,
		.help = "PEM file with the CA certificates that sign the "
			"server's certificate; needed for verify-ca and "
			"verify-identity.",
	},

	/* [cutover] */
	{
		.section = "cutover", .name = "user", .type = CONF_STRING,
		.offset = offsetof(struct conf, cutover_user),
		.def = "cutover", .reloadable = false,
		.help = "MySQL account of cutover's own control connections: "
			"shadow tables, backfill, verification, the cut-over "
			"RENAME and the deploy state.",
	},
	{
		.section = "cutover", .name = "password", .type = CONF_STRING,
		.offset = offsetof(struct conf, cutover_password),
		.def = "", .reloadable = false,
		.help = "Password of that account.",
	},
	{
		.section = "cutover", .name = "schema", .type = CONF_STRING,
		.offset = offsetof(struct conf, cutover_schema),
		.def = "_cutover", .reloadable = false,
		.help = "Schema in the backend where cutoverd keeps the state "
			"of deploy requests; created on the first deploy.",
	},
	{
		.section = "cutover", .name = "chunk_time_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_chunk_time_ms),
		.def = "500", .min = 10, .max = 60000, .reloadable = false,
		.help = "Target time of one backfill chunk (one short "
			"transaction); the chunk size follows it. A new deploy "
			"starts with it; deploy set changes a running one.",
	},
	{
		.section = "cutover", .name = "max_threads_running", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_max_threads_running),
		.def = "25", .min = 0, .max = 100000, .reloadable = false,
		.help = "The backfill pauses while the server's "
			"Threads_running is above this; 0 means never. A new "
			"deploy starts with it; deploy set changes a running "
			"one.",
	},
	{
		.section = "cutover", .name = "replicas", .type = CONF_STRING,
		.offset = offsetof(struct conf, cutover_replicas),
		.def = "", .reloadable = false,
		.help = "Replicas of the backend to watch, as host:port "
			"separated by commas; the backfill pauses while one of "
			"them lags more than max_replica_lag_ms, does not "
			"replicate, or cannot be reached. The [cutover] account "
			"needs the REPLICATION CLIENT (or SLAVE MONITOR) privilege "
			"there. Empty: none.",
	},
	{
		.section = "cutover", .name = "max_replica_lag_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_max_replica_lag_ms),
		.def = "1000", .min = 0, .max = 3600000, .reloadable = false,
		.help = "Most replication lag (Seconds_Behind_Master, in "
			"milliseconds) the backfill tolerates on a watched replica.",
	},
	{
		.section = "cutover", .name = "index_lock_wait_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_index_lock_wait_ms),
		.def = "100", .min = 1, .max = 60000, .reloadable = false,
		.help = "After the backfill, the shadow's secondary indexes are "
			"built online; as it starts, the build may wait this long "
			"for its metadata lock (an open transaction that wrote "
			"the table through the proxy, a session outside the proxy "
			"using the shadow), while writes to the table wait behind "
			"it. Then it is stopped and retried later. As it ends, it "
			"may wait a tenth of the time it has been building if "
			"that is longer (2 s at most, more if this is longer), "
			"since stopping it then throws the build away.",
	},
	{
		.section = "cutover", .name = "mirror_max_rows", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_mirror_max_rows),
		.def = "10000", .min = 1, .max = 30000, .reloadable = true,
		.help = "Most rows one client statement may change in a table "
			"under deploy (an UPDATE or DELETE, the rows an upsert "
			"on a table with other unique keys may touch). cutoverd "
			"reads their keys and writes them into statements of "
			"its own, so a statement that would change more is "
			"refused, nothing done, with an error that says to "
			"split it. Raising it costs memory in cutoverd and "
			"longer statements: whatever it says, a statement's "
			"keys are kept under 3 MiB of text, within the server's "
			"max_allowed_packet. It stops at 30000: a longer list "
			"of keys, the server's optimizer gives up reading by "
			"key and reads (and locks) the whole table. An INSERT "
			"... SELECT or LOAD DATA whose keys are generated has "
			"no such limit.",
	},
	{
		.section = "cutover", .name = "cutover_quiet_wait_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_quiet_wait_ms),
		.def = "1000", .min = 0, .max = 60000, .reloadable = false,
		.help = "At a cut-over or revert, wait this long at most for a "
			"moment when no transaction through the proxy is open "
			"on the table, and close the gate then: nothing has to "
			"drain, and statements are held only for the RENAME. "
			"Nothing is held while it waits. If no such moment "
			"comes, the gate closes anyway and the open "
			"transactions drain. 0: close the gate at once.",
	},
	{
		.section = "cutover", .name = "cutover_drain_timeout_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_drain_timeout_ms),
		.def = "500", .min = 1, .max = 60000, .reloadable = false,
		.help = "At a cut-over or revert, statements that touch the "
			"table are held while transactions that already touched "
			"it finish; this long at most. Then the attempt is "
			"abandoned, everything held is released, and it is "
			"retried later.",
	},
	{
		.section = "cutover", .name = "cutover_rename_wait_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_rename_wait_ms),
		.def = "50", .min = 1, .max = 60000, .reloadable = false,
		.help = "Once drained, the RENAME may wait this long for its "
			"locks (a session outside the proxy using the table, "
			"the server's own statistics or purge threads). Then it "
			"is killed, the attempt is abandoned as above and "
			"retried later. Traffic to the table stays held "
			"meanwhile.",
	},
	{
		.section = "cutover", .name = "cutover_max_attempts", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_max_attempts),
		.def = "10", .min = 1, .max = 1000, .reloadable = false,
		.help = "Attempts of one deploy cutover or revert before it "
			"gives up with an error (the tables are then unchanged).",
	},
	{
		.section = "cutover", .name = "cutover_retry_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_retry_ms),
		.def = "200", .min = 0, .max = 60000, .reloadable = false,
		.help = "Wait before the second attempt; it doubles after "
			"each failed attempt, up to 5000 ms.",
	},
	{
		.section = "cutover", .name = "revert_window_s", .type = CONF_INT,
		.offset = offsetof(struct conf, cutover_revert_window_s),
		.def = "1800", .min = 0, .max = S_1_YEAR, .reloadable = false,
		.help = "After a cut-over, the old table is kept in sync with "
			"the new one for this many seconds, so that deploy "
			"revert can swap back with nothing lost; then the deploy "
			"is finalized by itself (deploy finalize ends it "
			"earlier).",
	},
	{
		.section = "cutover", .name = "keep_old_table", .type = CONF_BOOL,
		.offset = offsetof(struct conf, cutover_keep_old_table),
		.def = "false", .reloadable = false,
		.help = "When the revert window ends, keep the table that is "
			"no longer live (the original after a cut-over, the new "
			"one after a revert) instead of dropping it.",
	},

	/* [log] */
	{
		.section = "log", .name = "level", .type = CONF_ENUM,
		.offset = offsetof(struct conf, log_level),
		.def = "info", .enum_names = log_level_names, .reloadable = true,
		.help = "Least severe messages written: error, warning, info "
			"or debug.",
	},
	{
		.section = "log", .name = "file", .type = CONF_STRING,
		.offset = offsetof(struct conf, log_file),
		.def = "", .reloadable = true,
		.help = "File the log is appended to; empty or stderr means "
			"standard error.",
	},

	/* [debug] */
	{
		.section = "debug", .name = "inject_before", .type = CONF_STRING,
		.offset = offsetof(struct conf, debug_inject_before),
		.def = "", .reloadable = true,
		.help = "Test hook: SQL the proxy runs inside each client "
			"session before every client command, its results "
			"hidden from the client. For tests only.",
	},
	{
		.section = "debug", .name = "inject_after", .type = CONF_STRING,
		.offset = offsetof(struct conf, debug_inject_after),
		.def = "", .reloadable = true,
		.help = "Test hook: SQL the proxy runs inside each client "
			"session after every client command, its results "
			"hidden from the client. For tests only.",
	},
	{
		.section = "debug", .name = "swap_stall_at", .type = CONF_STRING,
		.offset = offsetof(struct conf, debug_swap_stall_at),
		.def = "", .reloadable = false,
		.help = "Test hook: the step of a cut-over or revert where the "
			"swap stalls for swap_stall_ms: gated (the table's "
			"traffic is held and drained, before the RENAME) or "
			"renamed (after the RENAME, before the state is saved). "
			"For tests only.",
	},
	{
		.section = "debug", .name = "swap_stall_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, debug_swap_stall_ms),
		.def = "0", .min = 0, .max = 600000, .reloadable = false,
		.help = "Test hook: how long the stall of swap_stall_at lasts. "
			"For tests only.",
	},
	{
		.section = "debug", .name = "copy_stall_ms", .type = CONF_INT,
		.offset = offsetof(struct conf, debug_copy_stall_ms),
		.def = "0", .min = 0, .max = 600000, .reloadable = false,
		.help = "Test hook: the backfill stalls this long, inside the "
			"chunk's transaction, each time it has read the table's "
			"smallest and largest keys (a key of one integer column). "
			"For tests only.",
	},
	{
		.section = "debug", .name = "swap_as_mysql", .type = CONF_BOOL,
		.offset = offsetof(struct conf, debug_swap_as_mysql),
		.def = "false", .reloadable = false,
		.help = "Test hook: the cut-over's RENAME runs as it does on "
			"MySQL, which has no RENAME ... WAIT n: the session's "
			"lock_wait_timeout is set to 1 instead (the watchdog of "
			"cutover_rename_wait_ms is the same). For tests only.",
	},
};

const size_t conf_options_count = sizeof(conf_options) / sizeof(conf_options[0]);
