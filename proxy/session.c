/*
 * session.c - one client session and its backend connection: the
 * handshake relay, the command/response state machine, and plans.
 *
 * A plan is the list of steps one client command expands to: usually just
 * the client's own command, relayed; around it the proxy may run statements
 * of its own in the same backend session (inside the client's transaction),
 * whose responses the client never sees (SINK_DROP), and it may hold the
 * client's response (SINK_HOLD) until later steps have run.  All steps'
 * packets are sent at once; their responses are read in order, one parser
 * each.  A command is never reordered; only whole commands are held or
 * injected around, except that a multi-statement COM_QUERY that writes a
 * table under deploy may run one statement at a time, each its own plan
 * (session_split_start), the client seeing one answer.
 *
 * Reading responses: the parser sees the first RESP_HEAD_MAX bytes and the
 * length of each logical packet; the bytes themselves are moved between
 * evbuffers (no copy), a frame of up to 64 KiB once it is whole, a larger
 * one as it arrives, so a large row streams through.
 *
 * Writing: everything for the client goes to s->cout, for the server to
 * s->sout, in order.  session_flush() hands them on at the end of each read
 * callback (or from a deferred event): on a plain socket with nothing
 * queued it writes straight to the socket, and only what the kernel does
 * not take goes to the bufferevent.  A bufferevent alone would wait one
 * loop turn and register/unregister EPOLLOUT for every packet.
 */
#include "config.h"
#include "proxy/proxy.h"
#include "proxy/session-internal.h"
#include "proxy/writes.h"
#include "proxy/log.h"
#include "protocol/mysql.h"
#include "protocol/packet.h"
#include "protocol/auth.h"
#include "protocol/resultset.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#define CLIENT_OUT_HIGH (1024 * 1024)   /* stop reading the server above */
#define CLIENT_OUT_LOW  (256 * 1024)    /* resume below */
#define CLOSE_FLUSH_TIMEOUT_S 5         /* give up flushing a closing client */
#define CLOSE_FLUSH_POLL_MS 10          /* how often a closing session looks */
#define BEV_MAX_SINGLE_IO (128 * 1024)  /* bytes per read/write syscall, at most */
#define RAW_READ_SIZE (64 * 1024)       /* bytes asked per read on plain links */
#define WHOLE_FRAME_MAX (64 * 1024)     /* response frames parsed only once all here */
#define BATCH_MAX (16 * 1024)           /* whole packets read up to this are parsed in place */
#define SEND_GATHER_MAX (16 * 1024)     /* staged bytes gathered for one send(), at most */

static void on_client_read(struct bufferevent *bev, void *arg);
static void on_client_write(struct bufferevent *bev, void *arg);
static void on_client_event(struct bufferevent *bev, short what, void *arg);
static void on_server_read(struct bufferevent *bev, void *arg);
static void on_server_event(struct bufferevent *bev, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void client_process(struct session *s);
static void server_process(struct session *s);
static void forget_password(struct session *s);
static void want_flush(struct session *s);
static void session_flush(struct session *s);
static void flush_all(struct session *s);
static void on_flush(evutil_socket_t fd, short what, void *arg);
static void start_raw_reads(struct session *s);
static void server_read_enable(struct session *s, bool on);
static size_t client_unsent(const struct session *s);

static const char *const state_names[] = {
	[SS_CONNECTING] = "connecting",
	[SS_GREETING] = "greeting",
	[SS_CLIENT_HELLO] = "client_hello",
	[SS_CLIENT_TLS] = "client_tls",
	[SS_BACKEND_TLS] = "backend_tls",
	[SS_AUTH] = "auth",
	[SS_IDLE] = "idle",
	[SS_HELD] = "held",
	[SS_COMMAND] = "command",
	[SS_INFILE] = "local_infile",
	[SS_CHANGE_USER] = "change_user",
	[SS_CLOSING] = "closing",
};

const char *session_state_name(enum session_state st)
{
	if ((unsigned)st >= sizeof(state_names) / sizeof(state_names[0]) || state_names[st] == NULL)
		return "unknown";
	return state_names[st];
}

static void timer_arm_ms(struct session *s, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms > 0)
		evtimer_add(s->timer, &tv);
	else
		evtimer_del(s->timer);
}

/* The idle timeout that applies now, in ms; 0 = none. */
static int idle_timeout_ms(const struct session *s)
{
	const struct conf *c = &s->proxy->conf;
	int secs = s->in_trans ? c->client_idle_in_trans_timeout_s : c->client_idle_timeout_s;

	return secs * 1000;
}

/* The only writer of s->state. */
static void change_state(struct session *s, enum session_state st)
{
	enum session_state old = s->state;

	switch (st) {
	case SS_CONNECTING:
	case SS_GREETING:
	case SS_CLIENT_HELLO:
	case SS_CLIENT_TLS:
	case SS_BACKEND_TLS:
	case SS_AUTH:
	case SS_HELD:
	case SS_INFILE:
	case SS_CHANGE_USER:
		break;
	case SS_IDLE:
		if (old != SS_IDLE) {
			int ms = idle_timeout_ms(s);

			if (ms > 0 || evtimer_pending(s->timer, NULL))
				timer_arm_ms(s, ms);
		}
		break;
	case SS_COMMAND:
		if (old == SS_IDLE && evtimer_pending(s->timer, NULL))
			evtimer_del(s->timer);
		break;
	case SS_CLOSING:
		clock_gettime(CLOCK_MONOTONIC, &s->cmd_start);   /* flush deadline base */
		timer_arm_ms(s, CLOSE_FLUSH_POLL_MS);
		break;
	default:
		log_error("S%llu: change to unknown state %d", (unsigned long long)s->id, (int)st);
		abort();
	}
	if (old == SS_HELD && st != SS_HELD)
		TAILQ_REMOVE(&s->proxy->held, s, held_link);
	s->state = st;
}

static void set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- creation and teardown ---------------------------------------------- */

void session_accept(struct proxy *p, evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
	struct session *s;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return;
	}
	s->id = ++p->next_session_id;
	s->proxy = p;
	s->client_fd = fd;
	s->client_fd_owned = true;
	s->server_fd = -1;
	s->set_option = -1;
	s->state = SS_CONNECTING;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	(void)salen;
	snprintf(s->peer, sizeof(s->peer), "%s:%d", host, port);
	TAILQ_INSERT_TAIL(&p->sessions, s, link);
	p->nsessions++;
	p->stats.connections_total++;

	s->cmd = evbuffer_new();
	s->hold = evbuffer_new();
	s->capture = evbuffer_new();
	s->cout = evbuffer_new();
	s->sout = evbuffer_new();
	s->flush_ev = event_new(p->base, -1, 0, on_flush, s);
	s->pending = evbuffer_new();
	s->timer = evtimer_new(p->base, on_timer, s);
	/* from here the bufferevent owns the socket: libevent closes it when
	 * the last reference goes, after its own (possibly deferred) clean-up */
	s->client = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->client != NULL)
		s->client_fd_owned = false;
	if (s->cmd == NULL || s->hold == NULL || s->capture == NULL || s->pending == NULL ||
	    s->cout == NULL || s->sout == NULL || s->flush_ev == NULL || s->timer == NULL ||
	    s->client == NULL) {
		log_error("S%llu: out of memory", (unsigned long long)s->id);
		session_free(s);
		return;
	}
	set_nodelay(fd);
	bufferevent_setcb(s->client, on_client_read, on_client_write, on_client_event, s);
	bufferevent_setwatermark(s->client, EV_WRITE, CLIENT_OUT_LOW, 0);
	bufferevent_enable(s->client, EV_READ | EV_WRITE);
	slog_debug(s, "accepted from %s", s->peer);

	if (p->shutting_down) {
		session_fail(s, ER_SERVER_SHUTDOWN, "08S01", "cutoverd is shutting down");
		return;
	}
	if (p->conf.max_clients > 0 && p->nsessions > (unsigned)p->conf.max_clients) {
		p->stats.connections_refused++;
		session_fail(s, ER_CON_COUNT_ERROR, "08004",
			     "Too many connections (cutoverd max_clients = %d)", p->conf.max_clients);
		return;
	}

	s->server = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->server == NULL) {
		session_fail(s, ER_PROXY_BACKEND, "HY000", "cutoverd: out of memory");
		return;
	}
	bufferevent_setcb(s->server, on_server_read, NULL, on_server_event, s);
	if (bufferevent_socket_connect(s->server, (struct sockaddr *)&p->backend_addr,
				       (int)p->backend_addrlen) != 0) {
		session_fail(s, ER_PROXY_BACKEND, "HY000",
			     "cutoverd: cannot connect to the backend %s:%d: %s",
			     p->conf.backend_host, p->conf.backend_port, strerror(errno));
		return;
	}
	s->server_fd = bufferevent_getfd(s->server);
	set_nodelay(s->server_fd);
	/* large result sets: fewer, bigger reads and writes than the 16 KiB default */
	bufferevent_set_max_single_read(s->server, BEV_MAX_SINGLE_IO);
	bufferevent_set_max_single_write(s->client, BEV_MAX_SINGLE_IO);
	bufferevent_enable(s->server, EV_READ | EV_WRITE);
	timer_arm_ms(s, p->conf.backend_connect_timeout_ms);
}

/*
 * A multi-statement COM_QUERY run one statement at a time
 * (session_split_start): the statements, the next to run, and how the
 * server's sequence numbers map to the client's.
 */
struct split {
	char **sql;                   /* each statement's text */
	size_t *len;
	unsigned n, next;
	uint8_t shift;                /* added to the sequence numbers of the
					 current statement's answer */
	uint8_t last_seq;             /* of the last packet the client got */
	bool failed;                  /* the client got an error: stop */
};

static void split_free(struct session *s)
{
	struct split *sp = s->split;

	if (sp == NULL)
		return;
	for (unsigned i = 0; i < sp->n; i++)
		free(sp->sql[i]);
	free(sp->sql);
	free(sp->len);
	free(sp);
	s->split = NULL;
}

void session_split_error(struct session *s)
{
	if (s->split != NULL)
		s->split->failed = true;
}

static void free_steps(struct session *s)
{
	int i;

	for (i = 0; i < s->nsteps; i++) {
		if (s->steps[i].pkt != NULL)
			evbuffer_free(s->steps[i].pkt);
		s->steps[i].pkt = NULL;
	}
	s->nsteps = 0;
	s->cur = 0;
	s->diag_planned = false;
	s->client_answered = false;
	s->client_keeps_diag = false;
}

void session_free(struct session *s)
{
	struct proxy *p = s->proxy;

	slog_debug(s, "closed");
	if (s->state == SS_HELD)
		TAILQ_REMOVE(&p->held, s, held_link);
	TAILQ_REMOVE(&p->sessions, s, link);
	p->nsessions--;
	free_steps(s);
	split_free(s);
	/* our own read events first: their sockets close with the bufferevents */
	if (s->client_rev != NULL)
		event_free(s->client_rev);
	if (s->server_rev != NULL)
		event_free(s->server_rev);
	if (s->client != NULL)
		bufferevent_free(s->client);
	if (s->server != NULL)
		bufferevent_free(s->server);
	if (s->client_fd_owned && s->client_fd >= 0)
		close(s->client_fd);       /* never got a bufferevent */
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->cmd != NULL)
		evbuffer_free(s->cmd);
	if (s->hold != NULL)
		evbuffer_free(s->hold);
	if (s->capture != NULL)
		evbuffer_free(s->capture);
	if (s->flush_ev != NULL)
		event_free(s->flush_ev);
	if (s->cout != NULL)
		evbuffer_free(s->cout);
	if (s->sout != NULL)
		evbuffer_free(s->sout);
	diag_clear(&s->diag);
	if (s->pending != NULL)
		evbuffer_free(s->pending);
	forget_password(s);
	free(s->change_user);
	writes_free(s);
	free(s);
	proxy_session_state_changed(p, NULL);
}

/* Drop the backend connection now (the server rolls back what is open). */
static void close_server(struct session *s)
{
	if (s->server_rev != NULL) {
		event_free(s->server_rev);
		s->server_rev = NULL;
	}
	if (s->server != NULL) {
		bufferevent_free(s->server);   /* closes the socket */
		s->server = NULL;
	}
	s->server_fd = -1;
}

/*
 * The client said COM_QUIT: say it to the server too, before the link
 * closes, so that the server ends the session as a clean quit (a link that
 * just closes counts in its Aborted_clients and its error log, as a client
 * that vanished).  Best effort: the session is idle, nothing else is
 * queued for the server, and 5 bytes fit in any socket buffer.
 */
static void quit_server(struct session *s)
{
	static const uint8_t quit[5] = { 1, 0, 0, 0, COM_QUIT };

	if (s->server == NULL || evbuffer_get_length(s->sout) > 0 ||
	    evbuffer_get_length(bufferevent_get_output(s->server)) > 0)
		return;
	if (s->server_ssl != NULL) {
		/* the TLS filter encrypts as the bytes are added; what it hands
		   the plain bufferevent under it goes out now, before the close */
		struct bufferevent *under = bufferevent_get_underlying(s->server);

		if (under != NULL && bufferevent_write(s->server, quit, sizeof(quit)) == 0) {
			/* a socket bufferevent keeps the start of its output
			   frozen for its own writes: thaw it for this one */
			struct evbuffer *out = bufferevent_get_output(under);

			evbuffer_unfreeze(out, 1);
			(void)evbuffer_write(out, bufferevent_getfd(under));
			evbuffer_freeze(out, 1);
		}
	} else if (s->server_fd >= 0) {
		(void)send(s->server_fd, quit, sizeof(quit), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

/*
 * Close the client once what is queued for it has been written.  Never
 * frees the session synchronously (callers up the stack may still use it):
 * the write callback or the timer does.
 */
static void close_after_flush(struct session *s)
{
	close_server(s);
	change_state(s, SS_CLOSING);
	s->close_after_flush = true;
	if (client_unsent(s) == 0)
		event_active(s->timer, EV_TIMEOUT, 0);
	else
		want_flush(s);
}

/* The sequence id a reply from the proxy must carry now. */
static uint8_t reply_seq(const struct session *s)
{
	switch (s->state) {
	case SS_CONNECTING:
	case SS_GREETING:
		return 0;       /* in place of the greeting */
	case SS_IDLE:
	case SS_HELD:
	case SS_COMMAND:
		return (uint8_t)(s->cmd_seq + 1);
	default:
		return (uint8_t)(s->cmd_seq + 1);   /* after the client's last packet */
	}
}

static void send_err(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
		     const char *msg)
{
	struct pkt_writer pl, fr;

	pkt_writer_init(&pl);
	pkt_writer_init(&fr);
	pkt_build_err(&pl, code, sqlstate, msg);
	pkt_frame(&fr, pl.buf, pl.len, &seq);
	if (!fr.err && s->client != NULL) {
		evbuffer_add(s->cout, fr.buf, fr.len);
		want_flush(s);
	}
	pkt_writer_free(&pl);
	pkt_writer_free(&fr);
	s->proxy->stats.proxy_errors++;
}

void session_fail(struct session *s, uint16_t code, const char *sqlstate, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	slog_info(s, "closing: %s", msg);
	send_err(s, reply_seq(s), code, sqlstate, msg);
	close_after_flush(s);
}

/* Answer the current command with an ERR and go on with the session. */
static void command_error(struct session *s, uint16_t code, const char *sqlstate, const char *msg)
{
	slog_info(s, "refused command 0x%02x: %s", s->cmd_byte, msg);
	session_split_error(s);
	send_err(s, (uint8_t)(s->cmd_seq + 1), code, sqlstate, msg);
}

uint64_t session_cmd_age_ms(const struct session *s)
{
	struct timespec now;

	if (s->state != SS_COMMAND && s->state != SS_HELD && s->state != SS_INFILE &&
	    s->state != SS_CLOSING)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - s->cmd_start.tv_sec) * 1000 +
			  (now.tv_nsec - s->cmd_start.tv_nsec) / 1000000);
}

/* ---- frame helpers -------------------------------------------------------- */

/*
 * If a whole logical packet (all its frames) is in `in`, return true with
 * its wire size (headers included) in *wire and payload size in *payload.
 * *too_big is set when the payload already exceeds `max`.
 */
static bool whole_packet(struct evbuffer *in, size_t max, size_t *wire, size_t *payload,
			 bool *too_big)
{
	size_t avail = evbuffer_get_length(in);
	size_t pos = 0, total = 0;
	struct evbuffer_ptr ptr;
	uint8_t h[4];

	*too_big = false;
	for (;;) {
		uint32_t flen;

		if (avail - pos < 4)
			return false;
		if (evbuffer_ptr_set(in, &ptr, pos, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(in, &ptr, h, 4) != 4)
			return false;
		flen = pkt_hdr_len(h);
		total += flen;
		if (total > max) {
			*too_big = true;
			return false;
		}
		if (avail - pos - 4 < flen)
			return false;
		pos += 4 + flen;
		if (flen < PKT_MAX_PAYLOAD)
			break;
	}
	*wire = pos;
	*payload = total;
	return true;
}

/* Largest packet of the connection phase (the server caps attributes at
 * 64 KiB too); anything larger is not a MySQL client. */
#define HANDSHAKE_MAX_PACKET (128 * 1024)

/*
 * Take one small packet (handshake phase: a single frame) out of `in` into
 * a malloc'd payload buffer.  Returns 1 on success, 0 when incomplete,
 * -1 on a packet that is too large for this phase.
 */
static int take_small_packet(struct evbuffer *in, uint8_t **payload, size_t *len, uint8_t *seq)
{
	uint8_t h[4];
	uint32_t flen;

	if (evbuffer_copyout(in, h, 4) != 4)
		return 0;
	flen = pkt_hdr_len(h);
	if (flen > HANDSHAKE_MAX_PACKET)
		return -1;
	if (evbuffer_get_length(in) < 4 + (size_t)flen)
		return 0;
	*payload = malloc(flen ? flen : 1);
	if (*payload == NULL)
		return -1;
	evbuffer_drain(in, 4);
	evbuffer_remove(in, *payload, flen);
	*len = flen;
	*seq = h[3];
	return 1;
}

/* Queue one frame (len < 16 MiB) for the client (s->cout) or the server (s->sout). */
static void write_frame(struct session *s, struct evbuffer *out, const uint8_t *payload, size_t len,
			uint8_t seq)
{
	uint8_t h[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), seq };

	evbuffer_add(out, h, 4);
	if (len > 0)
		evbuffer_add(out, payload, len);
	want_flush(s);
}

/* ---- TLS ------------------------------------------------------------------- */

/* Put a TLS filter over a plain bufferevent; the filter owns it afterwards. */
static struct bufferevent *tls_over(struct session *s, struct bufferevent *plain, SSL *ssl,
				    enum bufferevent_ssl_state st)
{
	struct bufferevent *b;

	b = bufferevent_openssl_filter_new(s->proxy->base, plain, ssl, st,
					   BEV_OPT_CLOSE_ON_FREE);
	if (b == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
	return b;
}

/* Why a TLS handshake failed: the certificate check, the library's
 * error queue, or the bufferevent's saved error, in that order. */
static void tls_error_string(SSL *ssl, struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (e == 0 && bev != NULL)
		e = bufferevent_get_openssl_error(bev);
	if (v != X509_V_OK)
		snprintf(buf, len, "certificate verification failed: %s", X509_verify_cert_error_string(v));
	else if (e != 0)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "connection closed during the TLS handshake");
	ERR_clear_error();
}

/* ---- handshake -------------------------------------------------------------- */

static void handle_greeting(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->server);
	struct proxy *p = s->proxy;
	uint8_t *pl = NULL;
	size_t len = 0;
	uint8_t seq = 0;
	int r = take_small_packet(in, &pl, &len, &seq);

	if (r == 0)
		return;
	if (r < 0 || len == 0) {
		free(pl);
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "cutoverd: malformed greeting from the backend");
		return;
	}
	if (pl[0] == PKT_ERR) {
		/* e.g. Too many connections, host blocked: relay as is */
		slog_info(s, "backend refused the connection");
		write_frame(s, s->cout, pl, len, seq);
		free(pl);
		p->stats.connections_refused++;
		close_after_flush(s);
		return;
	}
	if (!hs_parse_greeting(pl, len, &s->greeting)) {
		free(pl);
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01",
			     "cutoverd: the backend sent a greeting this proxy does not understand");
		return;
	}
	if (!(s->greeting.caps & CAP_PROTOCOL_41)) {
		free(pl);
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01",
			     "cutoverd: the backend does not speak protocol 4.1");
		return;
	}
	s->backend_conn_id = s->greeting.connection_id;
	snprintf(s->auth_plugin, sizeof(s->auth_plugin), "%s", s->greeting.auth_plugin);
	memcpy(s->scramble, s->greeting.scramble, s->greeting.scramble_len);
	s->scramble_len = s->greeting.scramble_len;
	s->status = s->greeting.status;
	s->client_caps = s->greeting.caps & CAP_RELAYED;
	if (p->client_tls_ctx != NULL)
		s->client_caps |= CAP_SSL;
	s->client_ext_caps = s->greeting.has_mariadb_ext ? s->greeting.mariadb_ext_caps & MDB_EXT_RELAYED : 0;
	hs_patch_greeting_caps(pl, &s->greeting, s->client_caps, s->client_ext_caps);
	write_frame(s, s->cout, pl, len, seq);
	free(pl);
	change_state(s, SS_CLIENT_HELLO);
	timer_arm_ms(s, p->conf.handshake_timeout_ms);
	client_process(s);
}

/* Forward the client's handshake response (in s->pending) to the backend. */
static void send_client_response(struct session *s)
{
	uint8_t h[4];
	size_t len = evbuffer_get_length(s->pending);

	h[0] = (uint8_t)len;
	h[1] = (uint8_t)(len >> 8);
	h[2] = (uint8_t)(len >> 16);
	h[3] = s->server_ssl != NULL ? 2 : 1;
	evbuffer_add(s->sout, h, 4);
	evbuffer_add_buffer(s->sout, s->pending);
	want_flush(s);
	change_state(s, SS_AUTH);
}

static void start_backend_tls(struct session *s, const struct hs_response *hr)
{
	struct proxy *p = s->proxy;
	uint8_t req[32];
	SSL *ssl;
	struct bufferevent *b;

	hs_build_ssl_request(req, s->caps, s->ext_caps, hr->max_packet, hr->charset);
	write_frame(s, s->sout, req, sizeof(req), 1);
	ssl = SSL_new(p->backend_tls_ctx);
	if (ssl == NULL) {
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "cutoverd: cannot create a TLS session");
		return;
	}
	if (p->conf.backend_tls == TLS_BACKEND_VERIFY_IDENTITY)
		SSL_set1_host(ssl, p->conf.backend_host);
	flush_all(s);   /* the SSLRequest goes out in clear, before the filter */
	b = tls_over(s, s->server, ssl, BUFFEREVENT_SSL_CONNECTING);
	if (b == NULL) {
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "cutoverd: cannot start TLS to the backend");
		return;
	}
	s->server = b;
	s->server_ssl = ssl;
	bufferevent_setcb(b, on_server_read, NULL, on_server_event, s);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	change_state(s, SS_BACKEND_TLS);
}

static void start_client_tls(struct session *s)
{
	SSL *ssl = SSL_new(s->proxy->client_tls_ctx);
	struct bufferevent *b;

	if (ssl == NULL) {
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "cutoverd: cannot create a TLS session");
		return;
	}
	b = tls_over(s, s->client, ssl, BUFFEREVENT_SSL_ACCEPTING);
	if (b == NULL) {
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "cutoverd: cannot start TLS");
		return;
	}
	s->client = b;
	s->client_ssl = ssl;
	bufferevent_setcb(b, on_client_read, on_client_write, on_client_event, s);
	bufferevent_setwatermark(b, EV_WRITE, CLIENT_OUT_LOW, 0);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	change_state(s, SS_CLIENT_TLS);
}

static void handle_client_hello(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	struct proxy *p = s->proxy;
	struct hs_response hr;
	uint8_t *pl = NULL;
	size_t len = 0;
	uint8_t seq = 0;
	bool backend_tls;
	int r = take_small_packet(in, &pl, &len, &seq);

	if (r == 0)
		return;
	s->cmd_seq = seq;
	if (r < 0 || !hs_parse_response(pl, len, &hr)) {
		free(pl);
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
		return;
	}
	if (hr.ssl_request) {
		free(pl);
		if (p->client_tls_ctx == NULL) {
			session_fail(s, ER_HANDSHAKE_ERROR, "08S01",
				     "cutoverd: TLS was requested but is not enabled (client_tls = disabled)");
			return;
		}
		start_client_tls(s);
		return;
	}
	if (s->client_ssl == NULL && p->conf.client_tls == TLS_CLIENT_REQUIRED) {
		free(pl);
		session_fail(s, ER_SECURE_TRANSPORT_REQUIRED, "HY000",
			     "Connections using insecure transport are prohibited (cutoverd client_tls = required)");
		return;
	}
	snprintf(s->user, sizeof(s->user), "%s", hr.user);
	snprintf(s->db, sizeof(s->db), "%s", hr.db);
	if (hr.auth_plugin[0] != '\0')
		snprintf(s->auth_plugin, sizeof(s->auth_plugin), "%s", hr.auth_plugin);
	s->caps = hr.caps & (s->client_caps & ~CAP_SSL);
	/* the extended caps count only where CLIENT_MYSQL is clear on both sides */
	s->ext_caps = (hr.caps & CAP_LONG_PASSWORD) ? 0 : hr.mariadb_ext_caps & s->client_ext_caps;
	s->multi_statements = (s->caps & CAP_MULTI_STATEMENTS) != 0;

	backend_tls = p->backend_tls_ctx != NULL &&
		      (p->conf.backend_tls != TLS_BACKEND_PREFERRED || (s->greeting.caps & CAP_SSL));
	if (p->backend_tls_ctx != NULL && !(s->greeting.caps & CAP_SSL) &&
	    p->conf.backend_tls != TLS_BACKEND_PREFERRED) {
		free(pl);
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01",
			     "cutoverd: backend tls = %s but the backend does not offer TLS",
			     conf_enum_name("backend", "tls", (int)p->conf.backend_tls));
		return;
	}
	/* sequence ids: client response is 1 (plain) or 2 (after SSLRequest) */
	s->seq_delta = (backend_tls ? 2 : 1) - (s->client_ssl != NULL ? 2 : 1);
	hs_patch_response_caps(pl, len, s->caps | (backend_tls ? CAP_SSL : 0), s->ext_caps);
	evbuffer_add(s->pending, pl, len);
	free(pl);
	if (backend_tls)
		start_backend_tls(s, &hr);
	else
		send_client_response(s);
}

static void forget_password(struct session *s)
{
	if (s->sha2_password != NULL) {
		memset(s->sha2_password, 0, s->sha2_password_len);
		free(s->sha2_password);
	}
	s->sha2_password = NULL;
	s->sha2_password_len = 0;
	s->sha2 = SHA2_IDLE;
}

/* An auth switch request (0xfe, plugin, data): note the plugin and scramble. */
static void note_auth_switch(struct session *s, const uint8_t *pl, size_t len)
{
	const uint8_t *nul = len > 1 ? memchr(pl + 1, '\0', len - 1) : NULL;
	size_t n;

	if (nul == NULL)
		return;
	n = (size_t)(nul - (pl + 1));
	snprintf(s->auth_plugin, sizeof(s->auth_plugin), "%.*s", (int)n, (const char *)pl + 1);
	n = len - (size_t)(nul + 1 - pl);
	if (n > 0 && pl[len - 1] == '\0')
		n--;        /* the scramble is NUL-terminated */
	if (n > sizeof(s->scramble))
		n = sizeof(s->scramble);
	memcpy(s->scramble, nul + 1, n);
	s->scramble_len = n;
}

/*
 * The server sent its RSA public key: encrypt the client's password with
 * it and send that in the client's place.  The server answered at `seq`.
 */
static void sha2_send_encrypted(struct session *s, const uint8_t *pl, size_t len, uint8_t seq)
{
	uint8_t *enc = NULL;
	size_t enclen = 0;
	char err[256];

	if (len < 2 || pl[0] != PKT_AUTH_MORE ||
	    !auth_sha2_encrypt(pl + 1, len - 1, s->sha2_password, s->sha2_password_len, s->scramble,
			       s->scramble_len, &enc, &enclen, err, sizeof(err))) {
		if (len >= 1 && pl[0] == PKT_ERR) {
			/* the server refused: relay its error */
			write_frame(s, s->cout, pl, len, (uint8_t)(seq - s->seq_delta));
			forget_password(s);
			close_after_flush(s);
			return;
		}
		forget_password(s);
		session_fail(s, ER_ACCESS_DENIED_ERROR, "28000",
			     "cutoverd: caching_sha2_password full authentication failed: %s",
			     len >= 2 && pl[0] == PKT_AUTH_MORE ? err : "unexpected reply to the public key request");
		return;
	}
	write_frame(s, s->sout, enc, enclen, (uint8_t)(seq + 1));
	free(enc);
	forget_password(s);
	/* two packets on the backend link the client never saw */
	s->seq_delta += 2;
}

static void auth_server_packet(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->server);
	uint8_t *pl = NULL;
	size_t len = 0;
	uint8_t seq = 0, first;
	int r = take_small_packet(in, &pl, &len, &seq);

	if (r == 0)
		return;
	if (r < 0 || len == 0) {
		free(pl);
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "cutoverd: malformed packet from the backend");
		return;
	}
	first = pl[0];
	if (s->sha2 == SHA2_WANT_KEY) {
		sha2_send_encrypted(s, pl, len, seq);
		free(pl);
		return;
	}
	if (first == PKT_EOF)
		note_auth_switch(s, pl, len);
	if (first == PKT_AUTH_MORE && len == 2 && pl[1] == SHA2_PERFORM_FULL_AUTH &&
	    strcmp(s->auth_plugin, AUTH_CACHING_SHA2) == 0 && s->client_ssl != NULL &&
	    s->server_ssl == NULL)
		s->sha2 = SHA2_WANT_CLEARTEXT;
	write_frame(s, s->cout, pl, len, (uint8_t)(seq - s->seq_delta));
	if (first == PKT_OK) {
		struct pkt_ok ok;
		bool change_user = s->state == SS_CHANGE_USER;

		if (pkt_parse_ok(pl, len, s->caps, &ok)) {
			s->status = ok.status;
			s->in_trans = (ok.status & SERVER_STATUS_IN_TRANS) != 0;
		}
		free(pl);
		forget_password(s);
		s->seq_delta = 0;
		if (!change_user) {
			slog_info(s, "authenticated user '%s' from %s%s", s->user, s->peer,
				  s->client_ssl ? " (TLS)" : "");
			evtimer_del(s->timer);
			start_raw_reads(s);
		} else if (s->change_user != NULL) {
			snprintf(s->user, sizeof(s->user), "%s", s->change_user->user);
			snprintf(s->db, sizeof(s->db), "%s", s->change_user->db);
			diag_clear(&s->diag);
			writes_forget_all(s);   /* the server closed the statements */
		}
		free(s->change_user);
		s->change_user = NULL;
		evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
		change_state(s, SS_IDLE);
		client_process(s);
		return;
	}
	free(pl);
	if (first == PKT_ERR) {
		forget_password(s);
		s->proxy->stats.auth_failures++;
		if (s->state == SS_AUTH) {
			slog_info(s, "login of '%s' refused by the backend", s->user);
			close_after_flush(s);
			return;
		}
		/* a refused CHANGE_USER: the session goes on as the previous user */
		slog_info(s, "change_user to '%s' refused by the backend",
			  s->change_user != NULL ? s->change_user->user : "?");
		free(s->change_user);
		s->change_user = NULL;
		s->seq_delta = 0;
		change_state(s, SS_IDLE);
		client_process(s);
	}
}

static void auth_client_packet(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	uint8_t *pl = NULL;
	size_t len = 0;
	uint8_t seq = 0;
	int r = take_small_packet(in, &pl, &len, &seq);

	if (r == 0)
		return;
	s->cmd_seq = seq;
	if (r < 0) {
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
		return;
	}
	if (s->sha2 == SHA2_WANT_CLEARTEXT) {
		/* keep the password; ask the server for its key instead */
		uint8_t req = SHA2_REQUEST_PUBLIC_KEY;

		s->sha2_password = pl;
		s->sha2_password_len = len;
		s->sha2 = SHA2_WANT_KEY;
		write_frame(s, s->sout, &req, 1, (uint8_t)(seq + s->seq_delta));
		return;
	}
	write_frame(s, s->sout, pl, len, (uint8_t)(seq + s->seq_delta));
	free(pl);
}

/* ---- plans ------------------------------------------------------------------ */

/* A COM_QUERY packet for a statement of the proxy's own; NULL if too long. */
static struct evbuffer *query_packet(const char *sql)
{
	size_t n = strlen(sql);
	struct evbuffer *b;
	uint8_t h[5];

	if (n + 1 >= PKT_MAX_PAYLOAD)
		return NULL;
	b = evbuffer_new();
	if (b == NULL)
		return NULL;
	h[0] = (uint8_t)(n + 1);
	h[1] = (uint8_t)((n + 1) >> 8);
	h[2] = (uint8_t)((n + 1) >> 16);
	h[3] = 0;
	h[4] = COM_QUERY;
	evbuffer_add(b, h, 5);
	evbuffer_add(b, sql, n);
	return b;
}

/*
 * Append a step.  Before plan_start() it is sent with the others; while
 * the plan runs (from a done() callback) it is sent at once, behind what
 * is in flight.  Takes ownership of `pkt` even on failure.
 */
static bool plan_add(struct session *s, struct evbuffer *pkt, enum resp_kind kind,
		     enum step_sink sink, bool is_client, step_done_fn done)
{
	struct step *st;

	if (s->nsteps >= PLAN_MAX_STEPS || (!is_client && pkt == NULL)) {
		if (pkt != NULL)
			evbuffer_free(pkt);
		return false;
	}
	st = &s->steps[s->nsteps++];
	st->pkt = pkt;
	st->kind = kind;
	st->sink = sink;
	st->is_client = is_client;
	st->done = done;
	if (s->state == SS_COMMAND && pkt != NULL) {
		evbuffer_add_buffer(s->sout, pkt);
		want_flush(s);
	}
	return true;
}

static void injected_done(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	s->proxy->stats.injected_statements++;
	if (rp->is_err)
		slog_warning(s, "injected statement failed with error %u", rp->err_code);
}

/* The captured SHOW WARNINGS of the client's statement arrived. */
static void diag_captured(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	if (rp->is_err || !diag_load(&s->diag, s->capture, s->caps)) {
		evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
		slog_warning(s, "could not save the client's warnings");
	}
}

/*
 * Statements will run after the client's statement: save its warnings
 * and errors first, so that SHOW WARNINGS still answers as if they had
 * not run (see diag.h).
 */
static bool plan_save_diagnostics(struct session *s, const char *show)
{
	diag_clear(&s->diag);
	s->diag_planned = plan_add(s, query_packet(show), RESP_KIND_QUERY, SINK_CAPTURE, false, diag_captured);
	return s->diag_planned;
}

static void save_diagnostics(struct session *s, const struct resp_parser *rp)
{
	diag_clear(&s->diag);
	if (rp->warnings > 0 || rp->is_err)
		(void)plan_save_diagnostics(s, "SHOW WARNINGS");
}

/*
 * One of the proxy's statements after the client's left warnings or an
 * error in the server's list, where the client's statement left none (its
 * list was not saved): SHOW WARNINGS would show ours.  Save an empty copy
 * (SHOW WARNINGS LIMIT 0: the column definitions, no rows), which answers
 * the client's reads as the server would have.
 */
static void save_empty_diagnostics(struct session *s)
{
	(void)plan_save_diagnostics(s, "SHOW WARNINGS LIMIT 0");
}

/* [debug] inject_after: runs once the client's response is in (held). */
static void debug_after_client(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	save_diagnostics(s, rp);
	if (!plan_add(s, query_packet(s->proxy->conf.debug_inject_after), RESP_KIND_QUERY, SINK_DROP,
		      false, injected_done))
		slog_warning(s, "cannot inject the debug statement");
}

static void plan_next_step(struct session *s)
{
	while (s->cur < s->nsteps && s->steps[s->cur].kind == RESP_KIND_NONE)
		s->cur++;
	if (s->cur < s->nsteps)
		resp_init_ext(&s->rp, s->steps[s->cur].kind, s->caps, s->ext_caps);
}

static void plan_finish(struct session *s);

/* Send every step of the plan (pipelined) and start reading responses. */
static void plan_start(struct session *s)
{
	int i;

	s->plan_version = s->proxy->mirror_version;
	for (i = 0; i < s->nsteps; i++) {
		if (s->steps[i].is_client && s->steps[i].pkt == NULL)
			evbuffer_add_buffer(s->sout, s->cmd);
		else
			evbuffer_add_buffer(s->sout, s->steps[i].pkt);
	}
	want_flush(s);
	s->cur = 0;
	s->in_continuation = false;
	s->fwd_left = 0;
	plan_next_step(s);
	if (s->cur >= s->nsteps) {
		plan_finish(s);
		return;
	}
	change_state(s, SS_COMMAND);
}

static void flush_hold(struct session *s)
{
	size_t n = evbuffer_get_length(s->hold);

	if (n > 0) {
		s->proxy->stats.bytes_to_clients += n;
		evbuffer_add_buffer(s->cout, s->hold);
		want_flush(s);
	}
}

static void execute_command(struct session *s);
static bool gate_holds(struct session *s);
static void note_command(struct session *s, size_t payload_len);
static bool parse_use(const char *text, char *db, size_t dblen);

/* The command in s->cmd waits at the gate (gate_holds() said so). */
static void hold_at_gate(struct session *s)
{
	clock_gettime(CLOCK_MONOTONIC, &s->cmd_start);
	s->proxy->stats.held_commands++;
	TAILQ_INSERT_TAIL(&s->proxy->held, s, held_link);
	change_state(s, SS_HELD);
	slog_debug(s, "command held at the gate");
}

/* After a command: outside a transaction, it touched nothing (a drain no longer waits). */
static void forget_touched_if_ended(struct session *s)
{
	if (!s->in_trans) {
		s->ntouched = 0;
		s->touched_any = false;
		s->trans_predates_deploy = false;
	}
}

/* Put the next statement of the split packet in s->cmd as a COM_QUERY. */
static bool split_load(struct session *s)
{
	struct split *sp = s->split;
	size_t len = sp->len[sp->next];
	uint8_t h[5];

	evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
	h[0] = (uint8_t)((len + 1) & 0xff);
	h[1] = (uint8_t)(((len + 1) >> 8) & 0xff);
	h[2] = (uint8_t)(((len + 1) >> 16) & 0xff);
	h[3] = 0;
	h[4] = COM_QUERY;
	if (len + 1 >= PKT_MAX_PAYLOAD || evbuffer_add(s->cmd, h, 5) != 0 ||
	    evbuffer_add(s->cmd, sp->sql[sp->next], len) != 0)
		return false;
	sp->next++;
	s->cmd_byte = COM_QUERY;
	s->cmd_seq = sp->last_seq;     /* the proxy's own answers follow on */
	sp->shift = sp->last_seq;      /* the server numbers from 1 again */
	note_command(s, len + 1);
	s->next_db_set = len < sizeof(s->cmd_text) && parse_use(s->cmd_text, s->next_db, sizeof(s->next_db));
	return true;
}

/*
 * The statement of a split packet ended (plan_finish): run the next, as if
 * it had just arrived (the gate may hold it).  False when the packet is
 * over (the last statement ran, or the client got an error).
 */
static bool split_next(struct session *s)
{
	struct split *sp = s->split;

	if (sp->failed || sp->next >= sp->n) {
		split_free(s);
		return false;
	}
	free_steps(s);
	writes_command_end(s);
	writes_plan_end(s);
	diag_clear(&s->diag);
	forget_touched_if_ended(s);
	if (!split_load(s)) {
		split_free(s);
		evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
		command_error(s, ER_UNKNOWN_ERROR, "HY000",
			      "cutoverd: out of memory running a multi-statement packet");
		return false;
	}
	change_state(s, SS_IDLE);
	proxy_session_state_changed(s->proxy, s);
	if (gate_holds(s)) {
		hold_at_gate(s);
		return true;
	}
	execute_command(s);
	if (s->state != SS_IDLE)
		return true;
	split_free(s);                 /* answered at once: an error */
	return false;
}

bool session_split_start(struct session *s, const char *sql, size_t len, const struct sql_stmt *st, size_t n)
{
	struct split *sp;

	while (n > 1 && st[n - 1].kind == SQL_EMPTY) {
		size_t a = st[n - 1].start, b = st[n - 1].end < len ? st[n - 1].end : len, k;

		for (k = a; k < b && strchr(" \t\r\n\f\v", sql[k]) != NULL; k++)
			;
		if (k < b)
			break;      /* a comment: the server answers it */
		n--;
	}
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return false;
	sp->sql = calloc(n, sizeof(*sp->sql));
	sp->len = calloc(n, sizeof(*sp->len));
	s->split = sp;
	if (sp->sql == NULL || sp->len == NULL) {
		split_free(s);
		return false;
	}
	sp->n = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		size_t a = st[i].start < len ? st[i].start : len, b = st[i].end < len ? st[i].end : len;

		sp->len[i] = b > a ? b - a : 0;
		sp->sql[i] = malloc(sp->len[i] + 1);
		if (sp->sql[i] == NULL) {
			split_free(s);
			return false;
		}
		memcpy(sp->sql[i], sql + a, sp->len[i]);
		sp->sql[i][sp->len[i]] = '\0';
	}
	sp->last_seq = s->cmd_seq;
	if (!split_load(s)) {
		split_free(s);
		return false;
	}
	execute_command(s);
	if (s->state == SS_IDLE)
		split_free(s);         /* answered at once: an error */
	return true;
}

static bool uses_no_table(struct session *s);

static void plan_finish(struct session *s)
{
	if (s->rerun_cmd) {
		s->rerun_cmd = false;
		if (evbuffer_get_length(s->hold) == 0 && evbuffer_get_length(s->cmd) > 0) {
			/* the proxy's statements went through: now the command
			   (which keeps a copy of the client's warnings they
			   saved only if it reads no table) */
			free_steps(s);
			writes_plan_end(s);
			s->diag_keep = s->diag.valid && uses_no_table(s);
			s->state = SS_IDLE;   /* the command is still in flight */
			execute_command(s);
			if (s->state != SS_IDLE)
				return;       /* its plan runs */
			/* it was answered at once: end it as any command */
		}
	}
	flush_hold(s);
	if (s->split != NULL && split_next(s))
		return;
	/* a plan that ended before the client's own step ran (a mirror
	   statement deadlocked first) leaves it here: it is over */
	evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
	free_steps(s);
	writes_command_end(s);
	writes_plan_end(s);
	s->cmd_text[0] = '\0';
	forget_touched_if_ended(s);
	change_state(s, SS_IDLE);
	proxy_session_state_changed(s->proxy, s);
	if (s->state == SS_IDLE && s->proxy->shutting_down && !s->in_trans) {
		close_after_flush(s);
		return;
	}
	client_process(s);
}

static void step_end(struct session *s)
{
	struct step *st = &s->steps[s->cur];

	if (s->rp.have_status) {
		s->status = s->rp.status;
		s->in_trans = (s->status & SERVER_STATUS_IN_TRANS) != 0;
	}
	if (session_err_rolls_back(s, &s->rp)) {
		/* an ERR carries no status flags to say so */
		s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
		s->in_trans = false;
	}
	if (st->is_client && s->next_db_set && !s->rp.is_err)
		memcpy(s->db, s->next_db, sizeof(s->db));
	if (st->is_client && s->cmd_byte == COM_SET_OPTION && s->set_option >= 0 && !s->rp.is_err)
		s->multi_statements = s->set_option == 0;   /* MYSQL_OPTION_MULTI_STATEMENTS_ON */
	if (st->is_client && s->rp.is_err)
		session_split_error(s);
	if (st->is_client && s->cmd_byte == COM_RESET_CONNECTION && !s->rp.is_err) {
		/* MariaDB's OK still carries IN_TRANS, but the reset rolled back */
		s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
		s->in_trans = false;
		diag_clear(&s->diag);
		writes_forget_all(s);
	}
	if (st->is_client) {
		struct timespec now;
		uint64_t us;

		clock_gettime(CLOCK_MONOTONIC, &now);
		us = (uint64_t)((now.tv_sec - s->cmd_start.tv_sec) * 1000000 +
				(now.tv_nsec - s->cmd_start.tv_nsec) / 1000);
		stats_latency(&s->proxy->stats, us);
		if (s->rp.is_err)
			s->proxy->stats.server_errors++;
	}
	if (st->is_client && s->diag.valid && !s->diag_planned) {
		/* a copy saved before this statement outlives it only where
		   the server's list would: it read no table (diag_keep, set
		   on its way in) and added nothing */
		if (!s->diag_keep || s->rp.is_err || s->rp.warnings > 0)
			diag_clear(&s->diag);
	}
	if (st->is_client) {
		s->diag_keep = false;
		s->client_answered = true;
		if (s->rp.is_err || s->rp.warnings > 0)
			s->maybe_warnings = true;
	}
	if (st->done != NULL)
		st->done(s, st, &s->rp);
	if (!st->is_client && (s->client_answered || s->client_keeps_diag) && !s->diag_planned &&
	    (s->rp.is_err || s->rp.warnings > 0))
		save_empty_diagnostics(s);
	s->cur++;
	plan_next_step(s);
	if (s->cur >= s->nsteps)
		plan_finish(s);
}

/* What proxy/writes.c builds its plans with (session-internal.h). */
struct evbuffer *session_query_packet(const char *sql)
{
	return query_packet(sql);
}

bool session_plan_add(struct session *s, struct evbuffer *pkt, enum resp_kind kind,
		      enum step_sink sink, bool is_client, step_done_fn done)
{
	return plan_add(s, pkt, kind, sink, is_client, done);
}

void session_plan_start(struct session *s)
{
	plan_start(s);
}

bool session_err_rolls_back(const struct session *s, const struct resp_parser *rp)
{
	return rp->is_err && (rp->err_code == ER_LOCK_DEADLOCK ||
			      (rp->err_code == ER_LOCK_WAIT_TIMEOUT && s->proxy->rollback_on_timeout == 1));
}

void session_plan_rerun(struct session *s)
{
	s->rerun_cmd = true;
}

void session_command_error(struct session *s, uint16_t code, const char *sqlstate, const char *msg)
{
	command_error(s, code, sqlstate, msg);
}

void session_save_diagnostics(struct session *s, const struct resp_parser *rp)
{
	save_diagnostics(s, rp);
}

bool session_plan_save_diagnostics(struct session *s)
{
	return plan_save_diagnostics(s, "SHOW WARNINGS");
}

/* ---- command dispatch -------------------------------------------------------- */

static bool command_unsupported(uint8_t cmd)
{
	switch (cmd) {
	case COM_BINLOG_DUMP:
	case COM_BINLOG_DUMP_GTID:
	case COM_TABLE_DUMP:
	case COM_CONNECT_OUT:
	case COM_REGISTER_SLAVE:
	case COM_DAEMON:
	case COM_STMT_BULK_EXECUTE:
		return true;
	default:
		return false;
	}
}

/* Remember what the session runs, for `clients`. */
static void note_command(struct session *s, size_t payload_len)
{
	uint8_t buf[5 + sizeof(s->cmd_text)];
	size_t n, i;

	s->cmd_text[0] = '\0';
	if (s->cmd_byte != COM_QUERY && s->cmd_byte != COM_STMT_PREPARE)
		return;
	n = evbuffer_copyout(s->cmd, buf, sizeof(buf) - 1);
	if (n <= 5)
		return;
	n -= 5;
	if (n > payload_len - 1)
		n = payload_len - 1;
	if (n > sizeof(s->cmd_text) - 1)
		n = sizeof(s->cmd_text) - 1;
	for (i = 0; i < n; i++) {
		uint8_t c = buf[5 + i];

		s->cmd_text[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	s->cmd_text[n] = '\0';
}

/*
 * `USE db` / USE `d``b`; (the whole statement, as note_command() keeps it):
 * the schema name into out.  Returns false for anything else.
 */
static bool parse_use(const char *q, char *out, size_t outlen)
{
	size_t n = 0;

	while (*q == ' ')
		q++;
	if (strncasecmp(q, "use", 3) != 0 || (q[3] != ' ' && q[3] != '`'))
		return false;
	q += 3;
	while (*q == ' ')
		q++;
	if (*q == '`') {
		for (q++; *q != '\0'; q++) {
			if (*q == '`' && q[1] != '`')
				break;
			if (*q == '`')
				q++;
			if (n + 1 >= outlen)
				return false;
			out[n++] = *q;
		}
		if (*q != '`')
			return false;
		q++;
	} else {
		while (*q != '\0' && *q != ' ' && *q != ';') {
			if (n + 1 >= outlen)
				return false;
			out[n++] = *q++;
		}
	}
	while (*q == ' ' || *q == ';')
		q++;
	out[n] = '\0';
	return n > 0 && *q == '\0';
}

/* The COM_QUERY text in s->cmd, copied into a malloc'd buffer. */
static uint8_t *query_text(struct session *s, size_t *len)
{
	size_t n = evbuffer_get_length(s->cmd);
	uint8_t *q;
	struct evbuffer_ptr ptr;

	if (n < 5 || n - 5 > 65536)
		return NULL;   /* long statements are not diagnostics reads */
	q = malloc(n - 5 + 1);
	if (q == NULL)
		return NULL;
	evbuffer_ptr_set(s->cmd, &ptr, 5, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(s->cmd, &ptr, q, n - 5);
	*len = n - 5;
	return q;
}

/*
 * A multi-statement COM_QUERY with a USE in it (a lone USE is followed by
 * parse_use()): the session's database is then asked after it.  Only
 * packets with a ';' are lexed.
 */
static bool query_has_use(struct session *s)
{
	struct evbuffer_ptr at;
	struct sql_stmt st[16];
	size_t len, n;
	uint8_t *q;
	bool use = false;

	if (s->cmd_byte != COM_QUERY || !s->multi_statements || s->next_db_set)
		return false;
	evbuffer_ptr_set(s->cmd, &at, 5, EVBUFFER_PTR_SET);
	if (evbuffer_search(s->cmd, ";", 1, &at).pos < 0)
		return false;
	q = query_text(s, &len);
	if (q == NULL)
		return false;          /* over 64 KiB: not followed */
	n = sql_parse_ex((const char *)q, len, st, sizeof(st) / sizeof(st[0]),
			 (s->status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0);
	for (size_t i = 0; i < n && i < sizeof(st) / sizeof(st[0]); i++)
		use = use || st[i].kind == SQL_USE;
	free(q);
	return use || n > sizeof(st) / sizeof(st[0]);
}

/* SELECT DATABASE() answered: the session's database now. */
static void db_captured(struct session *s, struct step *st, const struct resp_parser *rp)
{
	uint8_t *p = NULL;
	size_t len;
	struct rs_value v[1];
	bool ok = false;

	(void)st;
	if (rp->is_err)
		goto out;
	for (int i = 0; i < ((s->caps & CAP_DEPRECATE_EOF) ? 2 : 3); i++) {
		free(p);
		p = diag_next_packet(s->capture, &len);   /* count, definition, EOF */
		if (p == NULL)
			goto out;
	}
	free(p);
	p = diag_next_packet(s->capture, &len);
	if (p != NULL && len > 0 && p[0] != PKT_ERR && rs_parse_text_row(p, len, 1, v)) {
		size_t n = v[0].p == NULL ? 0 : v[0].len < sizeof(s->db) - 1 ? v[0].len : sizeof(s->db) - 1;

		if (n > 0)
			memcpy(s->db, v[0].p, n);
		s->db[n] = '\0';
		ok = true;
	}
out:
	free(p);
	evbuffer_drain(s->capture, evbuffer_get_length(s->capture));
	if (!ok)
		slog_warning(s, "could not read the database after a USE in a multi-statement packet");
}

/* The client's packet had a USE among its statements: ask the database after it. */
static void client_then_db(struct session *s, struct step *st, const struct resp_parser *rp)
{
	(void)st;
	save_diagnostics(s, rp);
	if (!plan_add(s, query_packet("SELECT DATABASE()"), RESP_KIND_QUERY, SINK_CAPTURE, false, db_captured))
		slog_warning(s, "cannot ask the database after a USE in a multi-statement packet");
}

static bool query_reads_diagnostics(struct session *s)
{
	size_t len;
	uint8_t *q = query_text(s, &len);
	bool r = q != NULL && diag_is_read(q, len);

	free(q);
	return r;
}

/*
 * Is the command one statement that reads no table: SELECT without FROM a
 * table, SET?  The server keeps its list of warnings over such a
 * statement (it resets it for statements that use tables), and so the copy
 * stays good when it adds none.
 */
static bool uses_no_table(struct session *s)
{
	struct sql_stmt st[2];
	size_t len, n;
	uint8_t *q;

	if (s->cmd_byte != COM_QUERY || (q = query_text(s, &len)) == NULL)
		return false;
	n = sql_parse_ex((const char *)q, len, st, 2, (s->status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0);
	free(q);
	return n == 1 && (st[0].kind == SQL_SELECT || st[0].kind == SQL_SET) && st[0].tables_known &&
	       st[0].ntables == 0;
}

/*
 * The client reads diagnostics the proxy saved: answer from the copy.
 * Returns true when answered.  Any other command forgets the copy (the
 * server would have reset its diagnostics for it too), but for a statement
 * that reads no table and answers without warnings or an error.
 */
static bool answer_from_diag(struct session *s)
{
	struct pkt_writer out;
	uint8_t *q;
	size_t len;
	bool done = false;

	if (!s->diag.valid)
		return false;
	if (s->cmd_byte == COM_PING || s->cmd_byte == COM_STATISTICS) {
		s->diag_keep = true;             /* they leave the list alone */
		return false;
	}
	if (s->cmd_byte == COM_QUERY && (q = query_text(s, &len)) != NULL) {
		pkt_writer_init(&out);
		done = diag_answer(&s->diag, q, len, s->caps, s->ext_caps, s->status, (uint8_t)(s->cmd_seq + 1), &out) &&
		       !out.err;
		if (done) {
			s->proxy->stats.diagnostics_answered++;
			s->proxy->stats.bytes_to_clients += out.len;
			evbuffer_add(s->cout, out.buf, out.len);
			want_flush(s);
			evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
		}
		pkt_writer_free(&out);
		free(q);
	}
	if (!done) {
		if (uses_no_table(s))
			s->diag_keep = true;     /* until its answer says */
		else
			diag_clear(&s->diag);
	}
	return done;
}

static void execute_command_now(struct session *s);

/* Run the command in s->cmd (the gate is open). */
static void execute_command(struct session *s)
{
	execute_command_now(s);
	/* a COMMIT or ROLLBACK under way: a cut-over's gate that waits for a
	   quiet moment may close now (sessions are freed later, from the loop) */
	if (s->cmd_ends_trans && s->state == SS_COMMAND)
		proxy_session_state_changed(s->proxy, s);
}

static void execute_command_now(struct session *s)
{
	struct proxy *p = s->proxy;
	uint8_t head[4 + 6];        /* header, command byte, statement id, flags */
	ev_ssize_t got = evbuffer_copyout(s->cmd, head, sizeof(head));
	enum resp_kind kind = resp_kind_for_packet(head + 4, got > 4 ? (size_t)got - 4 : 0);
	bool inject;

	clock_gettime(CLOCK_MONOTONIC, &s->cmd_start);
	if (s->cmd_byte == COM_QUIT) {
		slog_debug(s, "client quit");
		quit_server(s);
		close_after_flush(s);
		return;
	}
	if (command_unsupported(s->cmd_byte)) {
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "cutoverd: command 0x%02x (%s) is not supported through the proxy",
			 s->cmd_byte, stats_command_name(s->cmd_byte));
		evbuffer_drain(s->cmd, evbuffer_get_length(s->cmd));
		command_error(s, ER_UNKNOWN_COM_ERROR, "08S01", msg);
		return;
	}
	if (s->cmd_byte == COM_CHANGE_USER) {
		uint8_t buf[1024];
		size_t n = evbuffer_copyout(s->cmd, buf, sizeof(buf));
		struct hs_change_user cu;

		if (n > 4 && hs_parse_change_user(buf + 4, n - 4, s->caps, &cu)) {
			/* applied when the server says OK; a refusal keeps the old login */
			free(s->change_user);
			s->change_user = malloc(sizeof(*s->change_user));
			if (s->change_user != NULL)
				*s->change_user = cu;
			if (cu.auth_plugin[0] != '\0')
				snprintf(s->auth_plugin, sizeof(s->auth_plugin), "%s", cu.auth_plugin);
		}
		s->seq_delta = 0;   /* the command's own sequence, on both links */
		evbuffer_add_buffer(s->sout, s->cmd);
		want_flush(s);
		change_state(s, SS_CHANGE_USER);
		return;
	}
	if (s->cmd_byte == COM_STMT_SEND_LONG_DATA || s->cmd_byte == COM_STMT_CLOSE ||
	    s->cmd_byte == COM_STMT_RESET)
		writes_stmt_command(s);
	if (s->cmd_byte != COM_QUERY && s->cmd_byte != COM_STMT_EXECUTE && writes_other_command(s))
		return;
	if (kind == RESP_KIND_NONE) {
		evbuffer_add_buffer(s->sout, s->cmd);
		want_flush(s);
		return;
	}
	/* writes to tables under deploy: mirrored or refused */
	if ((s->cmd_byte == COM_QUERY || s->cmd_byte == COM_STMT_EXECUTE) && writes_command(s))
		return;
	if (s->cmd_byte == COM_STMT_PREPARE) {
		writes_prepare(s);
		(void)plan_add(s, NULL, kind, SINK_CLIENT, true, writes_prepare_done);
		plan_start(s);
		return;
	}
	inject = (p->conf.debug_inject_before[0] != '\0' || p->conf.debug_inject_after[0] != '\0') &&
		 (s->cmd_byte == COM_STMT_EXECUTE ||
		  (s->cmd_byte == COM_QUERY && !query_reads_diagnostics(s)));
	if (inject && p->conf.debug_inject_before[0] != '\0')
		if (!plan_add(s, query_packet(p->conf.debug_inject_before), RESP_KIND_QUERY,
			      SINK_DROP, false, injected_done))
			slog_warning(s, "cannot inject the debug statement");
	if (inject && p->conf.debug_inject_after[0] != '\0')
		(void)plan_add(s, NULL, kind, SINK_HOLD, true, debug_after_client);
	else
		(void)plan_add(s, NULL, kind, SINK_CLIENT, true, query_has_use(s) ? client_then_db : NULL);
	plan_start(s);
}

/*
 * The gates: the pause (admin pause: new transactions wait) and the
 * cut-over gate of the tables under deploy (writes_gate()).  True when the
 * command in s->cmd must wait.
 */
static bool gate_holds(struct session *s)
{
	struct proxy *p = s->proxy;

	if (s->cmd_byte == COM_QUIT || s->cmd_byte == COM_PING || s->cmd_byte == COM_STMT_CLOSE)
		return false;
	if (!s->in_trans && proxy_gate_closed(p, s))
		return true;
	return writes_gate(s);
}

/*
 * A whole command is in s->cmd: count it, and run it or hold it at the gate.
 */
static void dispatch_command(struct session *s, size_t payload_len)
{
	struct proxy *p = s->proxy;
	uint8_t h[5];

	evbuffer_copyout(s->cmd, h, 5);
	s->cmd_seq = h[3];
	s->cmd_byte = h[4];
	stats_command(&p->stats, s->cmd_byte);
	note_command(s, payload_len);
	s->next_db_set = false;
	s->set_option = -1;
	if (s->cmd_byte == COM_SET_OPTION && payload_len >= 3) {
		uint8_t o[7];

		if (evbuffer_copyout(s->cmd, o, 7) == 7)
			s->set_option = o[5] | (o[6] << 8);
	}
	if (s->cmd_byte == COM_INIT_DB && payload_len > 1) {
		size_t n = payload_len - 1 < sizeof(s->next_db) - 1 ? payload_len - 1 : sizeof(s->next_db) - 1;
		struct evbuffer_ptr ptr;

		evbuffer_ptr_set(s->cmd, &ptr, 5, EVBUFFER_PTR_SET);
		evbuffer_copyout_from(s->cmd, &ptr, s->next_db, n);
		s->next_db[n] = '\0';
		s->next_db_set = true;
	} else if (s->cmd_byte == COM_QUERY && payload_len - 1 < sizeof(s->cmd_text)) {
		s->next_db_set = parse_use(s->cmd_text, s->next_db, sizeof(s->next_db));
	}
	if (answer_from_diag(s))
		return;
	if (p->shutting_down && !s->in_trans && s->cmd_byte != COM_QUIT) {
		session_fail(s, ER_SERVER_SHUTDOWN, "08S01", "cutoverd is shutting down");
		return;
	}
	if (gate_holds(s)) {
		hold_at_gate(s);
		return;
	}
	execute_command(s);
}

bool session_release(struct session *s)
{
	struct timespec held_since;

	if (s->state != SS_HELD)
		return true;
	held_since = s->cmd_start;
	if (gate_holds(s))
		return false;
	change_state(s, SS_IDLE);
	execute_command(s);
	if (s->state == SS_COMMAND || s->state == SS_INFILE)
		s->cmd_start = held_since;   /* the client's latency counts the wait */
	if (s->state == SS_IDLE) {
		split_free(s);
		client_process(s);
	}
	return true;
}

void session_close_if_idle(struct session *s)
{
	/* a split packet held between two statements is not idle: the client
	   has part of its answer */
	if ((s->state == SS_IDLE || s->state == SS_HELD || s->state == SS_CLIENT_HELLO) && !s->in_trans &&
	    s->split == NULL)
		close_after_flush(s);
}

/* ---- client side ------------------------------------------------------------ */

/* Forward LOCAL INFILE data frames until the empty frame that ends them. */
static void infile_data(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);

	for (;;) {
		uint8_t h[4];
		uint32_t flen;

		if (evbuffer_copyout(in, h, 4) != 4)
			return;
		flen = pkt_hdr_len(h);
		if (evbuffer_get_length(in) < 4 + (size_t)flen)
			return;
		s->proxy->stats.bytes_from_clients += 4 + flen;
		evbuffer_remove_buffer(in, s->sout, 4 + flen);
		want_flush(s);
		if (flen == 0) {
			if (s->infile_held)
				s->steps[s->cur].sink = SINK_HOLD;
			s->infile_held = false;
			change_state(s, SS_COMMAND);
			server_process(s);   /* the server may have answered already */
			return;
		}
	}
}

static void client_process(struct session *s)
{
	for (;;) {
		struct evbuffer *in;
		size_t before;
		size_t wire, payload;
		bool too_big;

		if (s->client == NULL)
			return;
		in = bufferevent_get_input(s->client);
		before = evbuffer_get_length(in);
		if (before == 0)
			return;
		switch (s->state) {
		case SS_CLIENT_HELLO:
			handle_client_hello(s);
			break;
		case SS_AUTH:
		case SS_CHANGE_USER:
			auth_client_packet(s);
			break;
		case SS_INFILE:
			infile_data(s);
			break;
		case SS_IDLE:
			if (!whole_packet(in, (size_t)s->proxy->conf.max_packet_size, &wire, &payload,
					  &too_big)) {
				if (too_big) {
					s->cmd_seq = 0;
					session_fail(s, ER_NET_PACKET_TOO_LARGE, "08S01",
						     "Got a packet bigger than 'max_packet_size' (cutoverd: %d bytes)",
						     s->proxy->conf.max_packet_size);
				}
				return;
			}
			if (payload == 0) {
				s->cmd_seq = 0;
				session_fail(s, ER_MALFORMED_PACKET, "08S01",
					     "Malformed communication packet (empty command)");
				return;
			}
			s->proxy->stats.bytes_from_clients += wire;
			evbuffer_remove_buffer(in, s->cmd, wire);
			dispatch_command(s, payload);
			if (s->state != SS_IDLE)
				return;   /* plan_finish() calls back in here */
			continue;         /* answered at once or no reply: next command */
		case SS_CLOSING:
			evbuffer_drain(in, before);
			return;
		default:
			return;   /* command in flight, held, TLS or connecting: later */
		}
		/* a handler may have freed the session: only loop on progress
		 * in states that keep it */
		if (s->state == SS_CLOSING || s->client == NULL)
			return;
		if (evbuffer_get_length(bufferevent_get_input(s->client)) == before)
			return;
	}
}

/*
 * Own reads on a plain socket, into the bufferevent's input buffer (so
 * nothing changes for the code that parses it).  Returns false at EOF or
 * on an error (the caller ends the session).
 */
static bool raw_read(evutil_socket_t fd, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	ssize_t n;
	bool ok;

	/* a bufferevent keeps the end of its input frozen outside its own reads */
	evbuffer_unfreeze(in, 0);
	/* one extent, read with a plain recv(): no iovec for the kernel to import */
	if (evbuffer_reserve_space(in, RAW_READ_SIZE, &v, 1) != 1) {
		evbuffer_freeze(in, 0);
		return false;
	}
	n = recv(fd, v.iov_base, v.iov_len, 0);
	if (n <= 0) {
		ok = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
		evbuffer_commit_space(in, &v, 0);
	} else {
		v.iov_len = (size_t)n;
		ok = evbuffer_commit_space(in, &v, 1) == 0;
	}
	evbuffer_freeze(in, 0);
	return ok;
}

static void on_client_raw_read(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)what;
	if (!raw_read(fd, bufferevent_get_input(s->client))) {
		on_client_event(s->client, BEV_EVENT_EOF | BEV_EVENT_READING, s);
		return;
	}
	on_client_read(s->client, s);
}

static void on_server_raw_read(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)what;
	if (!raw_read(fd, bufferevent_get_input(s->server))) {
		on_server_event(s->server, BEV_EVENT_EOF | BEV_EVENT_READING, s);
		return;
	}
	on_server_read(s->server, s);
}

/* After login, plain links read through our own events (see raw_read). */
static void start_raw_reads(struct session *s)
{
	struct event_base *base = s->proxy->base;

	if (s->client_ssl == NULL && s->client_rev == NULL && s->client != NULL) {
		s->client_rev = event_new(base, s->client_fd, EV_READ | EV_PERSIST, on_client_raw_read, s);
		if (s->client_rev != NULL) {
			bufferevent_disable(s->client, EV_READ);
			event_add(s->client_rev, NULL);
		}
	}
	if (s->server_ssl == NULL && s->server_rev == NULL && s->server != NULL) {
		s->server_rev = event_new(base, s->server_fd, EV_READ | EV_PERSIST, on_server_raw_read, s);
		if (s->server_rev != NULL) {
			bufferevent_disable(s->server, EV_READ);
			if (!s->server_read_blocked)
				event_add(s->server_rev, NULL);
		}
	}
}

/* Backpressure: stop or resume reading the server. */
static void server_read_enable(struct session *s, bool on)
{
	if (s->server_rev != NULL) {
		if (on)
			event_add(s->server_rev, NULL);
		else
			event_del(s->server_rev);
	} else if (s->server != NULL) {
		if (on)
			bufferevent_enable(s->server, EV_READ);
		else
			bufferevent_disable(s->server, EV_READ);
	}
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	s->io_depth++;
	client_process(s);
	s->io_depth--;
	session_flush(s);
}

/* Bytes queued for the client and not yet on the wire (a TLS filter
 * passes them on to the bufferevent under it). */
static size_t client_unsent(const struct session *s)
{
	struct bufferevent *under;
	size_t n;

	if (s->client == NULL)
		return 0;
	n = evbuffer_get_length(s->cout) + evbuffer_get_length(bufferevent_get_output(s->client));
	under = bufferevent_get_underlying(s->client);
	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

static void on_client_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->close_after_flush) {
		if (client_unsent(s) == 0)
			session_free(s);
		return;
	}
	if (s->server_read_blocked && s->server != NULL) {
		s->server_read_blocked = false;
		server_read_enable(s, true);
		s->io_depth++;
		server_process(s);
		s->io_depth--;
		session_flush(s);
	}
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* TLS handshake with the client done */
		if (s->state == SS_CLIENT_TLS) {
			change_state(s, SS_CLIENT_HELLO);
			client_process(s);
		}
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (s->state == SS_CLIENT_TLS) {
			char e[256];

			tls_error_string(s->client_ssl, s->client, e, sizeof(e));
			slog_info(s, "TLS handshake with %s failed: %s", s->peer, e);
			s->proxy->stats.connections_refused++;
		} else {
			slog_debug(s, "client went away in state %s", session_state_name(s->state));
		}
		session_free(s);
	}
}

/* ---- server side ------------------------------------------------------------ */

static void route(struct session *s, struct evbuffer *in, size_t n)
{
	switch (s->steps[s->cur].sink) {
	case SINK_CLIENT:
		s->proxy->stats.bytes_to_clients += n;
		evbuffer_remove_buffer(in, s->cout, n);
		break;
	case SINK_HOLD:
		evbuffer_remove_buffer(in, s->hold, n);
		break;
	case SINK_DROP:
		evbuffer_drain(in, n);
		break;
	case SINK_CAPTURE:
		evbuffer_remove_buffer(in, s->capture, n);
		break;
	}
}

/* The server asked for a LOCAL INFILE. */
static void start_infile(struct session *s, uint8_t seq)
{
	struct step *st = &s->steps[s->cur];

	if (st->sink == SINK_DROP) {
		/* the proxy's own statement: send no file */
		write_frame(s, s->sout, NULL, 0, (uint8_t)(seq + 1));
		return;
	}
	flush_hold(s);
	/* the client must see the request; a plan that holds the answer
	   (a mirrored LOAD DATA) holds its OK again after the file */
	s->infile_held = st->sink == SINK_HOLD;
	st->sink = SINK_CLIENT;
	change_state(s, SS_INFILE);
	client_process(s);
}

/*
 * A frame of the client's answer to one statement of a split packet, at
 * the head of `in`: renumber it after what the client got before, and flag
 * the answer's last packet SERVER_MORE_RESULTS_EXISTS when another
 * statement follows (an error ends the packet: none does).
 */
static void split_patch(struct session *s, struct evbuffer *in, enum resp_ev ev, uint32_t flen)
{
	struct split *sp = s->split;
	size_t off = s->rp.last_status_off;
	bool more = (ev == RESP_EV_END || (ev == RESP_EV_MORE && s->rp.last == RP_EOF && s->rp.state == RS_ROWS)) &&
		    !s->rp.is_err && off > 0 && off + 2 <= flen && sp->next < sp->n;
	unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)(more ? 4 + off + 2 : 4));

	if (p == NULL)
		return;
	p[3] = (uint8_t)(p[3] + sp->shift);
	sp->last_seq = p[3];
	if (more)
		p[4 + off] = (uint8_t)(p[4 + off] | SERVER_MORE_RESULTS_EXISTS);
}

/* A packet the parser refused (first: its first byte): say so, close. */
static bool response_bad(struct session *s, uint8_t first, uint32_t flen)
{
	slog_error(s, "protocol error: unexpected packet (0x%02x, %u bytes) in the response to command 0x%02x",
		   first, flen, s->cmd_byte);
	close_after_flush(s);
	return false;
}

/* The packet that ends the step (seq: its sequence id) is routed: a LOCAL
   INFILE request goes on with the client's file, anything else ends it. */
static bool response_ended(struct session *s, enum resp_ev ev, uint8_t seq)
{
	if (ev == RESP_EV_INFILE)
		start_infile(s, seq);
	else
		step_end(s);
	return s->state == SS_COMMAND;
}

/*
 * Read response packets of the plan's current step.  Returns false when
 * it must stop (wait for data, backpressure, or the session is gone).
 */
static bool response_frame(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->server);
	uint8_t tmp[4 + RESP_HEAD_MAX];
	size_t avail = evbuffer_get_length(in), n, headlen;
	uint32_t flen;
	bool cont;
	enum resp_ev ev = RESP_EV_MORE;

	if (s->fwd_left > 0) {
		n = avail < s->fwd_left ? avail : s->fwd_left;
		if (n == 0)
			return false;
		route(s, in, n);
		s->fwd_left -= (uint32_t)n;
		return s->fwd_left == 0;
	}
	if (avail < 4)
		return false;
	if (s->split == NULL && !s->in_continuation && avail <= BATCH_MAX) {
		/*
		 * Whole small packets already read (a short answer is often
		 * all of them): fed to the parser in place and moved to the
		 * step's sink at once, not one copy-out and one move each.
		 */
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)avail);
		size_t off = 0;
		uint8_t seq, first;

		while (p != NULL && avail - off >= 4) {
			flen = pkt_hdr_len(p + off);
			if (flen > WHOLE_FRAME_MAX || avail - off - 4 < flen)
				break;    /* a large or partial one: below */
			seq = p[off + 3];
			first = flen > 0 ? p[off + 4] : 0;
			ev = resp_feed(&s->rp, p + off + 4, flen < RESP_HEAD_MAX ? flen : RESP_HEAD_MAX, flen);
			if (ev == RESP_EV_BAD) {
				route(s, in, off);
				return response_bad(s, first, flen);
			}
			off += 4 + flen;
			if (ev == RESP_EV_MORE)
				continue;
			route(s, in, off);   /* p is not ours any more */
			return response_ended(s, ev, seq);
		}
		if (off > 0) {
			route(s, in, off);
			return true;
		}
	}
	n = evbuffer_copyout(in, tmp, avail < sizeof(tmp) ? avail : sizeof(tmp));
	flen = pkt_hdr_len(tmp);
	headlen = flen < RESP_HEAD_MAX ? flen : RESP_HEAD_MAX;
	if (n < 4 + headlen)
		return false;
	/*
	 * A packet that ends the step (OK, ERR, EOF, LOCAL INFILE request) is
	 * acted on once all of it is routed, but it may come in two reads like
	 * any other: wait for small frames to be whole.  Only rows and column
	 * definitions are larger, and those stream.
	 */
	if (flen <= WHOLE_FRAME_MAX && avail < 4 + (size_t)flen)
		return false;
	cont = s->in_continuation;
	s->in_continuation = flen == PKT_MAX_PAYLOAD;
	if (!cont)
		ev = resp_feed(&s->rp, tmp + 4, headlen, flen);
	if (ev == RESP_EV_BAD)
		return response_bad(s, headlen ? tmp[4] : 0, flen);
	if (s->split != NULL && s->steps[s->cur].is_client)
		split_patch(s, in, ev, flen);
	s->fwd_left = 4 + flen;
	n = avail < s->fwd_left ? avail : s->fwd_left;
	route(s, in, n);
	s->fwd_left -= (uint32_t)n;
	if (ev == RESP_EV_MORE)
		return true;
	if (s->fwd_left > 0) {
		/* only a frame over WHOLE_FRAME_MAX gets here: no real OK, ERR,
		 * EOF or LOCAL INFILE request is that long */
		slog_error(s, "protocol error: a %u-byte packet ends the response to command 0x%02x",
			   flen, s->cmd_byte);
		close_after_flush(s);
		return false;
	}
	return response_ended(s, ev, tmp[3]);
}

static void server_process(struct session *s)
{
	for (;;) {
		if (s->server == NULL || s->server_read_blocked)
			return;
		switch (s->state) {
		case SS_GREETING:
			handle_greeting(s);
			return;
		case SS_AUTH:
		case SS_CHANGE_USER:
			if (evbuffer_get_length(bufferevent_get_input(s->server)) < 4)
				return;
			{
				size_t before = evbuffer_get_length(bufferevent_get_input(s->server));

				auth_server_packet(s);
				if (s->state != SS_AUTH && s->state != SS_CHANGE_USER)
					return;
				if (evbuffer_get_length(bufferevent_get_input(s->server)) == before)
					return;
			}
			break;
		case SS_COMMAND:
			if (!response_frame(s))
				return;
			if (s->client != NULL && client_unsent(s) > CLIENT_OUT_HIGH) {
				s->server_read_blocked = true;
				server_read_enable(s, false);
				return;
			}
			break;
		case SS_IDLE:
		case SS_HELD: {
			/* unsolicited (e.g. the server's "connection killed" error):
			 * pass it on; the server closes the link next */
			struct evbuffer *in = bufferevent_get_input(s->server);

			s->proxy->stats.bytes_to_clients += evbuffer_get_length(in);
			evbuffer_add_buffer(s->cout, in);
			want_flush(s);
			return;
		}
		default:
			return;   /* INFILE, TLS, CLOSING: the server waits or is ignored */
		}
	}
}

static void on_server_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	s->io_depth++;
	server_process(s);
	s->io_depth--;
	session_flush(s);
}

/*
 * Write what is staged to a plain socket, as much as it takes.  A small
 * response is staged in a few chains (each packet routed on its own):
 * gathered into one, it goes out with a plain send(), cheaper in the
 * kernel than writev() (no iovec to import).  Errors: the bytes stay
 * staged, and the bufferevent they go to next sees the error.
 */
static void write_staged(struct evbuffer *staged, evutil_socket_t fd)
{
	size_t len = evbuffer_get_length(staged);
	unsigned char *p;
	ssize_t n;

	if (len > SEND_GATHER_MAX || (p = evbuffer_pullup(staged, -1)) == NULL) {
		(void)evbuffer_write(staged, fd);
		return;
	}
	n = send(fd, p, len, MSG_NOSIGNAL);
	if (n > 0)
		evbuffer_drain(staged, (size_t)n);
}

/*
 * Hand staged bytes to one link: straight to a plain socket when nothing
 * is queued on it (no EPOLLOUT round trip), the rest to the bufferevent.
 */
static void flush_link(struct bufferevent *bev, struct evbuffer *staged, bool plain)
{
	if (bev == NULL || evbuffer_get_length(staged) == 0)
		return;
	if (plain && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		evutil_socket_t fd = bufferevent_getfd(bev);

		if (fd >= 0)
			write_staged(staged, fd);
		if (evbuffer_get_length(staged) == 0)
			return;
	}
	bufferevent_write_buffer(bev, staged);
}

/* Hand everything staged to the links now. */
static void flush_all(struct session *s)
{
	if (s->client != NULL)
		flush_link(s->client, s->cout, s->client_ssl == NULL);
	else
		evbuffer_drain(s->cout, evbuffer_get_length(s->cout));
	if (s->server != NULL)
		flush_link(s->server, s->sout, s->server_ssl == NULL);
	else
		evbuffer_drain(s->sout, evbuffer_get_length(s->sout));
}

/* Flush, unless a read callback up the stack will do it when it returns. */
static void session_flush(struct session *s)
{
	if (s->io_depth > 0)
		return;
	flush_all(s);
	if (s->close_after_flush && client_unsent(s) == 0)
		event_active(s->timer, EV_TIMEOUT, 0);
}

/* Something was staged outside a read callback: flush from the loop. */
static void want_flush(struct session *s)
{
	if (s->io_depth > 0 || s->flush_scheduled)
		return;
	s->flush_scheduled = true;
	event_active(s->flush_ev, EV_WRITE, 0);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	s->flush_scheduled = false;
	session_flush(s);
}

static void on_server_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	struct proxy *p = s->proxy;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == SS_CONNECTING) {
			evtimer_del(s->timer);
			change_state(s, SS_GREETING);
			server_process(s);
		} else if (s->state == SS_BACKEND_TLS) {
			send_client_response(s);
		}
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	switch (s->state) {
	case SS_CONNECTING:
		p->stats.connections_refused++;
		session_fail(s, ER_PROXY_BACKEND, "HY000",
			     "cutoverd: cannot connect to the backend %s:%d: %s",
			     p->conf.backend_host, p->conf.backend_port,
			     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return;
	case SS_GREETING:
		session_fail(s, ER_PROXY_BACKEND, "HY000",
			     "cutoverd: the backend closed the connection before its greeting");
		return;
	case SS_BACKEND_TLS: {
		char e[256];

		tls_error_string(s->server_ssl, s->server, e, sizeof(e));
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "cutoverd: TLS to the backend failed: %s", e);
		return;
	}
	case SS_CLIENT_HELLO:
	case SS_CLIENT_TLS:
	case SS_AUTH:
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01",
			     "cutoverd: lost the backend connection during authentication");
		return;
	default:
		/*
		 * Idle: the server ended the session (KILL, wait_timeout); what it
		 * said has been relayed.  Mid-command: the outcome is unknown, so
		 * the client must see a lost connection, not an error it would
		 * take as "not applied".
		 */
		slog_info(s, "backend connection closed in state %s", session_state_name(s->state));
		close_after_flush(s);
		return;
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SS_CONNECTING:
		s->proxy->stats.connections_refused++;
		session_fail(s, ER_PROXY_BACKEND, "HY000",
			     "cutoverd: cannot connect to the backend %s:%d: timed out after %d ms",
			     s->proxy->conf.backend_host, s->proxy->conf.backend_port,
			     s->proxy->conf.backend_connect_timeout_ms);
		return;
	case SS_GREETING:
	case SS_CLIENT_HELLO:
	case SS_CLIENT_TLS:
	case SS_BACKEND_TLS:
	case SS_AUTH:
		slog_info(s, "handshake timeout (%d ms) from %s", s->proxy->conf.handshake_timeout_ms,
			  s->peer);
		if (s->state == SS_CLIENT_TLS || s->state == SS_BACKEND_TLS) {
			close_after_flush(s);
			return;
		}
		session_fail(s, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake: timed out (cutoverd handshake_timeout_ms)");
		return;
	case SS_IDLE:
		slog_info(s, "idle timeout%s", s->in_trans ? " in a transaction" : "");
		s->cmd_seq = 0xff;   /* unsolicited error: sequence 0 */
		session_fail(s, 4031, "HY000",
			     "The client was disconnected by the server because of inactivity (cutoverd idle timeout)");
		return;
	case SS_CLOSING:
		if (client_unsent(s) > 0 && session_cmd_age_ms(s) < CLOSE_FLUSH_TIMEOUT_S * 1000) {
			timer_arm_ms(s, CLOSE_FLUSH_POLL_MS);
			return;
		}
		session_free(s);
		return;
	default:
		return;
	}
}
