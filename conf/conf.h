/*
 * conf.h - cutoverd configuration: the values, and the one table of options.
 *
 * Every option lives in one table (conf/options.c): name, section, type,
 * default, whether a reload can change it, and help text.  The sample ini
 * (conf/cutoverd.ini) and doc/configuration.md are checked against that
 * table by a test, so the three never drift apart.
 *
 * Return convention (the same across the code base): functions that can
 * fail return bool, true on success, and are marked WARN_UNUSED.
 */
#ifndef CUTOVER_CONF_H
#define CUTOVER_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WARN_UNUSED __attribute__((warn_unused_result))

/* Default of [proxy] admin_socket; cutoverctl uses it too. */
#define CONF_DEFAULT_ADMIN_SOCKET "/run/cutoverd/admin.sock"

enum tls_client_mode {     /* [proxy] client_tls */
	TLS_CLIENT_DISABLED,
	TLS_CLIENT_OPTIONAL,   /* offered; clients choose */
	TLS_CLIENT_REQUIRED,   /* clients that do not start TLS are refused */
};

enum tls_backend_mode {    /* [backend] tls */
	TLS_BACKEND_DISABLED,
	TLS_BACKEND_PREFERRED, /* TLS when the server offers it */
	TLS_BACKEND_REQUIRED,  /* TLS or refuse, no certificate check */
	TLS_BACKEND_VERIFY_CA, /* TLS, certificate signed by tls_ca */
	TLS_BACKEND_VERIFY_IDENTITY, /* as verify-ca, and host name matches */
};

enum log_level { LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

struct conf {
	/* [proxy] */
	char *listen;              /* "host:port" */
	char *admin_socket;        /* path of the admin Unix socket */
	char *metrics_listen;      /* "host:port" or "" (off) */
	int max_clients;           /* 0 = no limit */
	int handshake_timeout_ms;  /* drop clients that do not authenticate */
	int client_idle_timeout_s; /* 0 = never; idle outside a transaction */
	int client_idle_in_trans_timeout_s; /* 0 = never; idle inside one */
	int shutdown_timeout_ms;   /* SIGTERM: wait this long for transactions */
	int max_packet_size;       /* largest client command buffered */
	enum tls_client_mode client_tls;
	char *client_tls_cert;
	char *client_tls_key;
	/* [backend] */
	char *backend_host;
	int backend_port;
	int backend_connect_timeout_ms;
	enum tls_backend_mode backend_tls;
	char *backend_tls_ca;
	/* [cutover] */
	char *cutover_user;        /* control connections (DDL, backfill) */
	char *cutover_password;
	char *cutover_schema;      /* catalog of deploy requests */
	int cutover_chunk_time_ms; /* backfill chunk target */
	int cutover_max_threads_running; /* backfill load threshold, 0 = none */
	char *cutover_replicas;    /* "host:port,..." watched for lag, "" none */
	int cutover_max_replica_lag_ms;
	int cutover_quiet_wait_ms;    /* cut-over: longest wait for a moment with
					 no transaction open on the table */
	int cutover_drain_timeout_ms; /* cut-over: longest wait for transactions
					 on the table to end */
	int cutover_rename_wait_ms;   /* cut-over: longest lock wait of the RENAME */
	int cutover_index_lock_wait_ms; /* deferred index build: longest metadata lock wait */
	int cutover_mirror_max_rows; /* most rows one mirrored statement may change */
	int cutover_max_attempts;
	int cutover_retry_ms;       /* first backoff between attempts */
	int cutover_revert_window_s;
	bool cutover_keep_old_table;
	/* [log] */
	enum log_level log_level;
	char *log_file;            /* "" or "stderr" = standard error */
	/* [debug]  test hooks, off by default */
	char *debug_inject_before; /* SQL run before each client command */
	char *debug_inject_after;  /* SQL run after each client command */
	char *debug_swap_stall_at; /* "gated" / "renamed": stall the swap there */
	int debug_swap_stall_ms;
	int debug_copy_stall_ms;   /* stall the backfill after it reads the key range */
	bool debug_swap_as_mysql;  /* swap as on MySQL: lock_wait_timeout, no NOWAIT */
};

/*
 * One option of the table.  `offset` is the offsetof() of the field in
 * struct conf; `type` says how to parse it.
 */
enum conf_type { CONF_STRING, CONF_INT, CONF_BOOL, CONF_ENUM };

struct conf_option {
	const char *section;
	const char *name;
	enum conf_type type;
	size_t offset;
	const char *def;           /* default, as written in the ini */
	const char *const *enum_names; /* CONF_ENUM: NULL-terminated names */
	int min, max;              /* CONF_INT bounds */
	bool reloadable;           /* false: a change needs a restart */
	const char *help;
};

extern const struct conf_option conf_options[];
extern const size_t conf_options_count;

/*
 * Fill `c` with the defaults, then read `path` over them.  On failure
 * writes "FILE:LINE: key: reason" into err and returns false; `c` then
 * holds whatever was read and must still be freed with conf_free().
 */
bool conf_load(struct conf *c, const char *path, char *err, size_t errlen) WARN_UNUSED;

/*
 * Set every option to its default.  `c` must hold no strings yet (fresh,
 * or emptied by conf_free()); its strings are then heap copies.
 */
void conf_defaults(struct conf *c);

/* Free the strings of `c` (not `c` itself) and set them to NULL. */
void conf_free(struct conf *c);

/*
 * Compare `old` and `new` after a reload.  For every option that differs
 * and cannot change at run time, append its "section.name" to `out`
 * (comma-separated).  Returns the number of such options.
 * `out` is overwritten from its start and always terminated (truncated if
 * short); it may be NULL when `outlen` is 0.
 */
int conf_diff_restart_only(const struct conf *old, const struct conf *new_, char *out, size_t outlen);

/*
 * Name of `value` of the CONF_ENUM option `section`.`name` ("verify-ca"),
 * or "?" when there is no such option or value.
 */
const char *conf_enum_name(const char *section, const char *name, int value);

/* The option `section`.`name` of the table, or NULL. */
const struct conf_option *conf_option_find(const char *section, const char *name);

#endif
