/*
 * admin.c - the admin socket.  Commands:
 *
 *   help                   the list below
 *   status                 version, uptime, sessions, paused
 *   clients                one row per session
 *   stats                  counters and latency percentiles
 *   pause [timeout_ms]     hold new transactions; answers once no session
 *                          is inside a transaction; resumes by itself at
 *                          the timeout (default 60000)
 *   resume                 release everything held
 *   reload                 re-read the ini file (as SIGHUP)
 *   deploy create <db>.<table> <ALTER clause>
 *   deploy list [--all | --last N] | show <id> | cancel <id> | set <id> key=value ...
 *   deploy cutover <id> ... | revert <id> | finalize <id>
 *                          deploy requests (cutover/deploy.c answers)
 *
 * Every reply is one line of JSON built with jansson.  A bad line gets
 * {"ok":false,...} and the connection stays usable.
 */
#include "config.h"
#include "proxy/admin.h"
#include "proxy/proxy.h"
#include "proxy/log.h"
#include "cutover/deploy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#define ADMIN_MAX_LINE 65536
#define PAUSE_DEFAULT_MS 60000

struct admin_conn {
	struct admin *admin;
	struct bufferevent *bev;
	TAILQ_ENTRY(admin_conn) link;
	bool waiting_pause;       /* a `pause` reply is owed */
	uint64_t serial;          /* names the connection to deploy workers */
	bool waiting_deploy;      /* a `deploy` reply is owed (no other line
				     is read until it is sent) */
	bool discarding;          /* skipping the rest of a too-long line */
	struct timespec pause_start;
};

struct admin {
	struct proxy *proxy;
	uint64_t next_serial;
	struct evconnlistener *listener;
	TAILQ_HEAD(, admin_conn) conns;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void conn_free(struct admin_conn *c)
{
	struct proxy *p = c->admin->proxy;

	if (p->pause_waiter == c)
		p->pause_waiter = NULL;
	TAILQ_REMOVE(&c->admin->conns, c, link);
	bufferevent_free(c->bev);
	free(c);
}

/* Send `reply` (consumed) as one line. */
static void reply(struct admin_conn *c, json_t *r)
{
	char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(r);
	if (s == NULL) {
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";

		bufferevent_write(c->bev, oom, sizeof(oom) - 1);
		return;
	}
	bufferevent_write(c->bev, s, strlen(s));
	bufferevent_write(c->bev, "\n", 1);
	free(s);
}

static void reply_error(struct admin_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_error(struct admin_conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply(c, json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

static json_t *ok_obj(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static uint64_t ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000);
}

static void cmd_help(struct admin_conn *c, char **argv, int argc)
{
	json_t *r = ok_obj();

	(void)argv;
	(void)argc;
	json_object_set_new(r, "commands", json_pack("[s,s,s,s,s,s,s,s,s,s,s,s]",
		"help: this list",
		"status: version, uptime, sessions, paused",
		"clients: one row per client session",
		"stats: counters and command latency percentiles",
		"pause [timeout_ms]: hold new transactions, answer once open ones have ended, resume by itself at the timeout (default 60000)",
		"resume: release held sessions",
		"reload: re-read the configuration file",
		"deploy create [--paused] [--auto-cutover] [--dry-run] <db>.<table> <ALTER clause>: start a deploy request (shadow table, mirroring, backfill, verification); --paused holds the copy until deploy set <id> paused=0; --auto-cutover cuts over once ready; --dry-run runs the checks, builds the shadow, shows the column mapping and drops it",
		"deploy list [--all | --last N]: the deploy requests that have not ended and the 20 (N) that ended last, or every one; not_shown counts the older ones left out",
		"deploy show <id>: state, progress, throttling, mirroring and verification counts",
		"deploy cancel <id>: stop a deploy request and drop its shadow table",
		"deploy set <id> chunk_time_ms=N max_threads_running=N paused=0|1: change the copy pace, hold or release the copy",
		"deploy cutover <id> [<id> ...]: swap the shadow in (several: in one RENAME), holding only the table's traffic; answers pause_ms and attempts",
		"deploy revert <id>: within the revert window, swap the original back with every write made since",
		"deploy finalize <id>: end the revert window now: stop mirroring back, drop the table that is not live"));
	reply(c, r);
}

static unsigned count_held(struct proxy *p)
{
	struct session *s;
	unsigned n = 0;

	TAILQ_FOREACH(s, &p->held, held_link)
		n++;
	return n;
}

static void cmd_status(struct admin_conn *c, char **argv, int argc)
{
	struct proxy *p = c->admin->proxy;
	json_t *r = ok_obj();

	(void)argv;
	(void)argc;
	json_object_set_new(r, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(r, "uptime", json_integer((json_int_t)(time(NULL) - p->started)));
	json_object_set_new(r, "sessions", json_integer(p->nsessions));
	json_object_set_new(r, "in_transaction", json_integer(proxy_sessions_in_trans(p)));
	json_object_set_new(r, "paused", json_boolean(p->paused));
	json_object_set_new(r, "held", json_integer(count_held(p)));
	/* a cut-over's gate: waiting for a quiet moment (nothing held yet) or closed */
	json_object_set_new(r, "cutover_gate", json_string(proxy_cutover_gate(p)));
	json_object_set_new(r, "listen", json_string(p->conf.listen));
	json_object_set_new(r, "backend", json_sprintf("%s:%d", p->conf.backend_host, p->conf.backend_port));
	json_object_set_new(r, "shutting_down", json_boolean(p->shutting_down));
	reply(c, r);
}

static void cmd_clients(struct admin_conn *c, char **argv, int argc)
{
	struct proxy *p = c->admin->proxy;
	json_t *r = ok_obj(), *arr = json_array();
	struct session *s;

	(void)argv;
	(void)argc;
	TAILQ_FOREACH(s, &p->sessions, link) {
		bool busy = s->state == SS_COMMAND || s->state == SS_HELD || s->state == SS_INFILE;

		json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:I}",
			"id", (json_int_t)s->id,
			"backend_id", (json_int_t)s->backend_conn_id,
			"user", s->user,
			"db", s->db,
			"address", s->peer,
			"state", session_state_name(s->state),
			"in_transaction", s->in_trans,
			"tls", s->client_ssl != NULL,
			"command", busy ? stats_command_name(s->cmd_byte) : "",
			"query", busy ? s->cmd_text : "",
			"age_ms", (json_int_t)session_cmd_age_ms(s)));
	}
	json_object_set_new(r, "clients", arr);
	reply(c, r);
}

static void cmd_stats(struct admin_conn *c, char **argv, int argc)
{
	struct proxy *p = c->admin->proxy;
	const struct stats *st = &p->stats;
	json_t *r = ok_obj(), *cmds = json_object();
	unsigned i;

	(void)argv;
	(void)argc;
	json_object_set_new(r, "connections_total", json_integer((json_int_t)st->connections_total));
	json_object_set_new(r, "connections_current", json_integer(p->nsessions));
	json_object_set_new(r, "connections_refused", json_integer((json_int_t)st->connections_refused));
	json_object_set_new(r, "auth_failures", json_integer((json_int_t)st->auth_failures));
	json_object_set_new(r, "bytes_from_clients", json_integer((json_int_t)st->bytes_from_clients));
	json_object_set_new(r, "bytes_to_clients", json_integer((json_int_t)st->bytes_to_clients));
	json_object_set_new(r, "server_errors", json_integer((json_int_t)st->server_errors));
	json_object_set_new(r, "proxy_errors", json_integer((json_int_t)st->proxy_errors));
	json_object_set_new(r, "injected_statements", json_integer((json_int_t)st->injected_statements));
	json_object_set_new(r, "held_commands", json_integer((json_int_t)st->held_commands));
	json_object_set_new(r, "diagnostics_answered", json_integer((json_int_t)st->diagnostics_answered));
	json_object_set_new(r, "refused_writes", json_integer((json_int_t)st->refused_writes));
	for (i = 0; i <= STATS_COMMANDS; i++)
		if (st->commands[i] > 0)
			json_object_set_new(cmds, stats_command_name(i), json_integer((json_int_t)st->commands[i]));
	json_object_set_new(r, "commands", cmds);
	json_object_set_new(r, "latency_us", json_pack("{s:I,s:I,s:I,s:I,s:I}",
		"count", (json_int_t)st->lat_count,
		"p50", (json_int_t)stats_percentile(st, 50),
		"p95", (json_int_t)stats_percentile(st, 95),
		"p99", (json_int_t)stats_percentile(st, 99),
		"max", (json_int_t)stats_percentile(st, 100)));
	reply(c, r);
}

static void cmd_pause(struct admin_conn *c, char **argv, int argc)
{
	struct proxy *p = c->admin->proxy;
	long ms = PAUSE_DEFAULT_MS;

	if (argc > 2) {
		reply_error(c, "usage: pause [timeout_ms]");
		return;
	}
	if (argc == 2) {
		char *end;

		errno = 0;
		ms = strtol(argv[1], &end, 10);
		if (errno != 0 || *end != '\0' || ms < 1 || ms > 3600000) {
			reply_error(c, "pause: timeout_ms must be a number from 1 to 3600000, not '%s'", argv[1]);
			return;
		}
	}
	if (p->paused) {
		reply_error(c, "already paused");
		return;
	}
	if (p->pause_waiter != NULL) {
		reply_error(c, "another pause is in progress");
		return;
	}
	p->pause_waiter = c;
	c->waiting_pause = true;
	clock_gettime(CLOCK_MONOTONIC, &c->pause_start);
	proxy_pause(p, (int)ms);
	admin_pause_progress(p);
}

void admin_pause_progress(struct proxy *p)
{
	struct admin_conn *c = p->pause_waiter;
	json_t *r;

	if (c == NULL || !c->waiting_pause || proxy_sessions_in_trans(p) > 0)
		return;
	c->waiting_pause = false;
	p->pause_waiter = NULL;
	r = ok_obj();
	json_object_set_new(r, "paused", json_true());
	json_object_set_new(r, "drain_ms", json_integer((json_int_t)ms_since(&c->pause_start)));
	reply(c, r);
}

void admin_pause_ended(struct proxy *p)
{
	struct admin_conn *c = p->pause_waiter;

	if (c == NULL || !c->waiting_pause)
		return;
	c->waiting_pause = false;
	p->pause_waiter = NULL;
	reply_error(c, "pause ended before open transactions finished (%u still open)",
		    proxy_sessions_in_trans(p));
}

static void cmd_resume(struct admin_conn *c, char **argv, int argc)
{
	struct proxy *p = c->admin->proxy;
	json_t *r;
	unsigned held = count_held(p);

	(void)argv;
	(void)argc;
	if (!p->paused) {
		reply_error(c, "not paused");
		return;
	}
	proxy_resume(p);
	r = ok_obj();
	json_object_set_new(r, "released", json_integer(held));
	reply(c, r);
}

static void cmd_reload(struct admin_conn *c, char **argv, int argc)
{
	char msg[1024];
	json_t *r;

	(void)argv;
	(void)argc;
	if (!proxy_reload(c->admin->proxy, msg, sizeof(msg))) {
		reply_error(c, "%s", msg);
		return;
	}
	r = ok_obj();
	json_object_set_new(r, "message", json_string(msg));
	reply(c, r);
}

static const struct {
	const char *name;
	void (*fn)(struct admin_conn *c, char **argv, int argc);
} commands[] = {
	{ "help", cmd_help },
	{ "status", cmd_status },
	{ "clients", cmd_clients },
	{ "stats", cmd_stats },
	{ "pause", cmd_pause },
	{ "resume", cmd_resume },
	{ "reload", cmd_reload },
};

#define ADMIN_MAX_ARGS 64

static void on_conn_read(struct bufferevent *bev, void *arg);

/*
 * deploy ...: handed whole to cutover/ (the ALTER clause keeps its spaces).
 * The reply may come later, from a worker thread through the loop:
 * admin_deploy_reply().  Until then the connection reads no other line, so
 * replies stay in order.
 */
static void cmd_deploy(struct admin_conn *c, const char *args)
{
	struct proxy *p = c->admin->proxy;

	c->waiting_deploy = true;
	deploys_admin(p->deploys, c->serial, args);
}

void admin_deploy_reply(struct proxy *p, uint64_t serial, json_t *r)
{
	struct admin_conn *c;

	if (p->admin == NULL) {
		json_decref(r);
		return;
	}
	TAILQ_FOREACH(c, &p->admin->conns, link)
		if (c->serial == serial)
			break;
	if (c == NULL) {
		json_decref(r);  /* the connection went away */
		return;
	}
	reply(c, r);
	if (c->waiting_deploy) {
		c->waiting_deploy = false;
		/* lines that arrived meanwhile */
		on_conn_read(c->bev, c);
	}
}

static void run_line(struct admin_conn *c, char *line)
{
	char *argv[ADMIN_MAX_ARGS];
	int argc = 0;
	char *tok, *save = NULL;
	size_t i;

	for (i = 0; line[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch < 0x20 && ch != '\t') {
			reply_error(c, "invalid control character in command");
			return;
		}
	}
	if (strncmp(line, "deploy", 6) == 0 && (line[6] == ' ' || line[6] == '\t' || line[6] == '\0')) {
		cmd_deploy(c, line + 6);
		return;
	}
	for (tok = strtok_r(line, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		if (argc == ADMIN_MAX_ARGS) {
			reply_error(c, "too many arguments");
			return;
		}
		argv[argc++] = tok;
	}
	if (argc == 0) {
		reply_error(c, "empty command; try 'help'");
		return;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			commands[i].fn(c, argv, argc);
			return;
		}
	}
	reply_error(c, "unknown command '%.64s'; try 'help'", argv[0]);
}

static void on_conn_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	for (;;) {
		if (c->discarding) {
			struct evbuffer_ptr eol = evbuffer_search(in, "\n", 1, NULL);

			if (eol.pos < 0) {
				evbuffer_drain(in, evbuffer_get_length(in));
				return;
			}
			evbuffer_drain(in, (size_t)eol.pos + 1);
			c->discarding = false;
		}
		if (c->waiting_pause || c->waiting_deploy)
			return;
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > ADMIN_MAX_LINE) {
				reply_error(c, "line too long (at most %d bytes)", ADMIN_MAX_LINE);
				c->discarding = true;
				continue;
			}
			return;
		}
		if (n > ADMIN_MAX_LINE)
			reply_error(c, "line too long (at most %d bytes)", ADMIN_MAX_LINE);
		else if (memchr(line, '\0', n) != NULL)
			reply_error(c, "invalid NUL byte in command");
		else
			run_line(c, line);
		free(line);
	}
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct admin *a = arg;
	struct admin_conn *c = calloc(1, sizeof(*c));

	(void)l;
	(void)sa;
	(void)salen;
	if (c == NULL) {
		close(fd);
		return;
	}
	c->admin = a;
	c->serial = ++a->next_serial;
	c->bev = bufferevent_socket_new(a->proxy->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&a->conns, c, link);
	bufferevent_setcb(c->bev, on_conn_read, NULL, on_conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

bool admin_start(struct proxy *p, char *err, size_t errlen)
{
	struct admin *a;
	struct sockaddr_un sun;
	const char *path = p->conf.admin_socket;
	mode_t old_mask;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "[proxy] admin_socket: path too long: %s", path);
		return false;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	a->proxy = p;
	TAILQ_INIT(&a->conns);
	snprintf(a->path, sizeof(a->path), "%s", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	(void)unlink(path);
	old_mask = umask(077);   /* owner-only from the moment it exists */
	a->listener = evconnlistener_new_bind(p->base, on_accept, a,
					      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					      (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (a->listener == NULL) {
		snprintf(err, errlen, "[proxy] admin_socket: cannot listen on %s: %s", path, strerror(errno));
		free(a);
		return false;
	}
	if (chmod(path, 0600) != 0) {
		snprintf(err, errlen, "[proxy] admin_socket: chmod %s: %s", path, strerror(errno));
		evconnlistener_free(a->listener);
		free(a);
		return false;
	}
	p->admin = a;
	return true;
}

void admin_stop(struct proxy *p)
{
	struct admin *a = p->admin;
	struct admin_conn *c;

	if (a == NULL)
		return;
	while ((c = TAILQ_FIRST(&a->conns)) != NULL)
		conn_free(c);
	evconnlistener_free(a->listener);
	(void)unlink(a->path);
	free(a);
	p->admin = NULL;
}
