/*
 * proxy.h - core types of the daemon: the process-wide `struct proxy` and
 * the per-client `struct session`.
 *
 *   client --TCP/TLS--> [client bev] session [server bev] --TCP/TLS--> backend
 *
 * One session per client connection, one backend connection per session
 * (1:1, no multiplexing), so everything the server keeps per session
 * (transactions, variables, temporary tables, prepared statements) behaves
 * exactly as without the proxy.  All of it runs on the single event-loop
 * thread; nothing here blocks.
 */
#ifndef CUTOVER_PROXY_H
#define CUTOVER_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "conf/conf.h"
#include "protocol/handshake.h"
#include "protocol/response.h"
#include "proxy/stats.h"
#include "proxy/diag.h"
#include "cutover/mirror.h"

/*
 * Session states.  change_state() is the only writer of session->state;
 * an unknown state is a bug.
 */
enum session_state {
	SS_CONNECTING,    /* connecting to the backend */
	SS_GREETING,      /* waiting for the server's greeting */
	SS_CLIENT_HELLO,  /* greeting sent; waiting for SSLRequest / response */
	SS_CLIENT_TLS,    /* TLS handshake with the client in progress */
	SS_BACKEND_TLS,   /* TLS handshake with the backend in progress */
	SS_AUTH,          /* relaying the authentication exchange */
	SS_IDLE,          /* waiting for the client's next command */
	SS_HELD,          /* a command is waiting for the gate (pause) */
	SS_COMMAND,       /* running a plan: reading responses */
	SS_INFILE,        /* client streams LOCAL INFILE data to the server */
	SS_CHANGE_USER,   /* COM_CHANGE_USER: relaying a new auth exchange */
	SS_CLOSING,       /* flushing the last bytes to the client, then free */
};

const char *session_state_name(enum session_state st);

/* Where the packets of a step's response go. */
enum step_sink {
	SINK_CLIENT,      /* relayed to the client as they arrive */
	SINK_HOLD,        /* kept in session->hold, released by the plan */
	SINK_DROP,        /* read and discarded (the proxy's own statements) */
	SINK_CAPTURE,     /* kept whole in session->capture for the step's done() */
};

struct session;
struct step;

/* Called when a step's response has ended; `rp` describes it. */
typedef void (*step_done_fn)(struct session *s, struct step *st, const struct resp_parser *rp);

/*
 * One command sent to the backend as part of a plan: the client's own
 * command, or a statement of the proxy's.  Steps run in order; their
 * packets are sent together (pipelined) and their responses read in order.
 */
struct step {
	struct evbuffer *pkt;      /* framed packet(s) to send; NULL = client's */
	enum resp_kind kind;       /* how to parse the response */
	enum step_sink sink;
	bool is_client;            /* the client's command (counted, timed) */
	step_done_fn done;         /* may be NULL */
};

#define PLAN_MAX_STEPS 12

#define SESSION_MAX_TOUCHED 8

struct session {
	uint64_t id;               /* proxy-wide, for logs and `clients` */
	enum session_state state;
	struct proxy *proxy;
	TAILQ_ENTRY(session) link; /* proxy->sessions */
	TAILQ_ENTRY(session) held_link; /* proxy->held, while SS_HELD */

	struct bufferevent *client;   /* the application's connection */
	struct bufferevent *server;   /* our backend connection */
	struct evbuffer *cout;        /* to the client, not yet handed to `client` */
	struct evbuffer *sout;        /* to the server, not yet handed to `server` */
	struct event *flush_ev;       /* deferred session_flush() */
	struct event *client_rev;     /* plain links after login: our own reads */
	struct event *server_rev;     /*   (no FIONREAD per read, as bufferevents do) */
	bool flush_scheduled;
	int io_depth;                 /* inside a read/write callback: it flushes */
	evutil_socket_t client_fd;    /* closed on free unless a TLS bev owns it */
	evutil_socket_t server_fd;
	bool client_fd_owned;
	bool server_fd_owned;
	SSL *client_ssl;              /* non-NULL when the client link is TLS */
	SSL *server_ssl;
	char peer[64];                /* "ip:port" of the client */

	struct event *timer;          /* connect / handshake / idle timeout */

	/* handshake */
	struct hs_greeting greeting;
	uint32_t client_caps;         /* advertised to the client */
	uint32_t caps;                /* agreed: client's & advertised */
	uint32_t client_ext_caps;     /* MariaDB extended ones advertised */
	uint32_t ext_caps;            /* and agreed (MDB_EXT_RELAYED's) */
	int seq_delta;                /* backend seq - client seq during auth */
	struct evbuffer *pending;     /* client response waiting for backend TLS */
	char user[256];
	char db[256];
	char next_db[256];            /* COM_INIT_DB / USE in flight: db if it succeeds */
	bool next_db_set;
	struct hs_change_user *change_user; /* COM_CHANGE_USER in flight: the new login */
	uint32_t backend_conn_id;     /* CONNECTION_ID() of the backend session */
	char auth_plugin[64];         /* plugin of the exchange in progress */
	uint8_t scramble[20];         /* its challenge */
	size_t scramble_len;
	enum {
		SHA2_IDLE,            /* nothing to do */
		SHA2_WANT_CLEARTEXT,  /* client (TLS) sends its password in clear */
		SHA2_WANT_KEY,        /* we asked the server for its RSA key */
	} sha2;                       /* caching_sha2 full auth, TLS client, plain backend */
	uint8_t *sha2_password;       /* the client's cleartext password, while asking */
	size_t sha2_password_len;

	/* transaction state, from the server's own status flags */
	uint16_t status;
	bool in_trans;
	bool multi_statements;        /* the server takes multi-statement packets
					 (CLIENT_MULTI_STATEMENTS, COM_SET_OPTION) */
	int set_option;               /* COM_SET_OPTION in flight: its option; -1 */
	struct split *split;          /* a multi-statement COM_QUERY run one
					 statement at a time (session_split_start) */

	/* the command in flight */
	struct evbuffer *cmd;         /* the client's whole command packet(s) */
	uint8_t cmd_byte;
	uint8_t cmd_seq;              /* seq of the client's command (0) */
	struct timespec cmd_start;
	char cmd_text[64];            /* for `clients`: start of the query */

	/* the plan: steps of the current command */
	struct step steps[PLAN_MAX_STEPS];
	int nsteps;
	int cur;                      /* step whose response is being read */
	bool rerun_cmd;               /* at the plan's end, run s->cmd (session_plan_rerun) */
	struct resp_parser rp;        /* parser of steps[cur]'s response */
	bool in_continuation;         /* inside a >=16 MiB logical packet */
	uint32_t fwd_left;            /* bytes of the current frame to route */
	struct evbuffer *hold;        /* held response (SINK_HOLD) */
	struct evbuffer *capture;     /* captured response (SINK_CAPTURE) */
	struct diag diag;             /* the client's diagnostics, when saved */
	bool diag_planned;            /* this plan saves them (SHOW WARNINGS) */
	bool diag_keep;               /* a statement that reads no table runs:
					 the copy stays if it leaves nothing */
	bool client_answered;         /* this plan's client step has answered */
	bool client_keeps_diag;       /* and it does not reset the server's list
					 (a COMMIT behind deferred re-copies) */
	bool maybe_warnings;          /* the server's list may hold warnings or
					 an error of the client's (its last
					 statement that reset it left some) */

	/* deploy requests */
	uint64_t plan_version;        /* mirror set version the command in
					 flight was planned with */
	struct writes *writes;        /* proxy/writes.c: prepared write
					 statements, the mirror plan in flight */
	uint64_t touched[SESSION_MAX_TOUCHED]; /* deploys whose tables the open
					 transaction (or the command in
					 flight) touched: a cut-over's drain
					 waits for it */
	unsigned ntouched;
	bool touched_any;             /* ... or any table (unknown statements) */
	bool cmd_ends_trans;          /* the command is one COMMIT or ROLLBACK
					 (a cut-over's gate may close while it
					 runs: it ends soon) */
	bool trans_predates_deploy;   /* the open transaction began before a
					 deploy's shadow existed (or changed
					 by DDL): InnoDB may keep it out of
					 the shadow (error 1412), so its
					 mirrored writes run under a savepoint
					 and are undone if it does */
	struct timespec touched_since;

	bool server_read_blocked;     /* backpressure: client output is full */
	bool close_after_flush;       /* SS_CLOSING: free once output drained */
	bool infile_held;             /* SS_INFILE: the step's answer was held
					 before the file; held again after it */
};

TAILQ_HEAD(session_list, session);

struct proxy {
	struct event_base *base;
	struct conf conf;
	char *conf_path;
	struct evconnlistener *listener;
	struct sockaddr_storage backend_addr;
	socklen_t backend_addrlen;
	SSL_CTX *client_tls_ctx;      /* NULL when client TLS is disabled */
	SSL_CTX *backend_tls_ctx;     /* NULL when backend TLS is disabled */

	struct session_list sessions;
	struct session_list held;     /* sessions in SS_HELD, arrival order */
	unsigned nsessions;
	uint64_t next_session_id;
	time_t started;
	struct stats stats;

	/* pause / resume (admin) */
	bool paused;
	struct event *pause_timer;
	struct admin_conn *pause_waiter;  /* answered when drained */

	bool shutting_down;
	struct event *shutdown_timer;
	struct event *shutdown_poll;
	struct admin *admin;
	struct metrics *metrics;

	/* deploy requests (cutover/): the tables whose writes are mirrored */
	struct deploys *deploys;
	struct mirror_set *mirrors;   /* current set; sessions take a reference */
	uint64_t mirror_version;      /* version of `mirrors` */
	uint64_t sync_pending;        /* tell deploys_synced() once no command
					 planned before this version runs */
	bool catalog_loaded;          /* deploy state read: writes may flow */
	int rollback_on_timeout;      /* the backend's innodb_rollback_on_timeout
					 (a lock wait timeout rolls back the whole
					 transaction), read at start; -1: unknown */
	uint64_t drain_epoch;         /* cut-over gate being drained (0: none) */
	uint64_t gate_waiting;        /* drain_epoch while its gate still lets
					 everything through, waiting for a
					 moment with no transaction on the
					 table (quiet_wait_ms) */
	double gate_closed_ms;        /* when drain_epoch's gate closed */
	bool drain_reported;          /* deploys_drained() was told */
	struct event *drain_timer;    /* drain_timeout_ms of the mirror set */
	struct event *quiet_timer;    /* quiet_wait_ms of the mirror set */
};

/* session.c */
void session_accept(struct proxy *p, evutil_socket_t fd, const struct sockaddr *sa, int salen);
void session_free(struct session *s);
/* Refuse or drop: send an ERR packet to the client, then close. */
void session_fail(struct session *s, uint16_t code, const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Release a held session if no gate holds it any more; true when released. */
bool session_release(struct session *s);
/* Close sessions that are idle outside a transaction (shutdown). */
void session_close_if_idle(struct session *s);
uint64_t session_cmd_age_ms(const struct session *s);

/* proxy.c */
/* cutover/ callbacks: publish a new mirror set; deliver an admin reply. */
void proxy_deploys_changed(void *arg);
void proxy_deploys_reply(void *arg, uint64_t serial, json_t *reply);
bool proxy_resolve_backend(struct proxy *p, char *err, size_t errlen) WARN_UNUSED;
bool proxy_setup_tls(struct proxy *p, char *err, size_t errlen) WARN_UNUSED;
bool proxy_gate_closed(struct proxy *p, struct session *s);
void proxy_pause(struct proxy *p, int timeout_ms);
void proxy_resume(struct proxy *p);
/* Release the held sessions no gate holds any more, in arrival order. */
void proxy_release_held(struct proxy *p);
unsigned proxy_sessions_in_trans(struct proxy *p);
void proxy_session_state_changed(struct proxy *p, struct session *s);
/* A cut-over's gate: "open", "waiting" (for a quiet moment; nothing held) or "closed". */
const char *proxy_cutover_gate(const struct proxy *p);
bool proxy_reload(struct proxy *p, char *msg, size_t msglen);

#endif
