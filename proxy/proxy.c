/*
 * proxy.c - process-wide pieces: the backend address, TLS contexts, the
 * gate (pause/resume), and reloading the configuration.
 */
#include "config.h"
#include "proxy/proxy.h"
#include "cutover/deploy.h"
#include "proxy/admin.h"
#include "proxy/log.h"
#include "proxy/stats.h"
#include "proxy/writes.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

bool proxy_resolve_backend(struct proxy *p, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char port[16];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", p->conf.backend_port);
	rc = getaddrinfo(p->conf.backend_host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "[backend] host '%s': %s", p->conf.backend_host, gai_strerror(rc));
		return false;
	}
	memcpy(&p->backend_addr, res->ai_addr, res->ai_addrlen);
	p->backend_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static void ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	char e[256];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	ERR_clear_error();
	snprintf(err, errlen, "%s '%s': %s", what, path, e);
}

bool proxy_setup_tls(struct proxy *p, char *err, size_t errlen)
{
	const struct conf *c = &p->conf;
	SSL_CTX *ctx;

	if (c->client_tls != TLS_CLIENT_DISABLED) {
		if (c->client_tls_cert[0] == '\0' || c->client_tls_key[0] == '\0') {
			snprintf(err, errlen, "[proxy] client_tls = %s needs client_tls_cert and client_tls_key",
				 conf_enum_name("proxy", "client_tls", (int)c->client_tls));
			return false;
		}
		ctx = SSL_CTX_new(TLS_server_method());
		if (ctx == NULL) {
			snprintf(err, errlen, "cannot create a TLS context");
			return false;
		}
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		if (SSL_CTX_use_certificate_chain_file(ctx, c->client_tls_cert) != 1) {
			ssl_err(err, errlen, "[proxy] client_tls_cert", c->client_tls_cert);
			SSL_CTX_free(ctx);
			return false;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, c->client_tls_key, SSL_FILETYPE_PEM) != 1) {
			ssl_err(err, errlen, "[proxy] client_tls_key", c->client_tls_key);
			SSL_CTX_free(ctx);
			return false;
		}
		p->client_tls_ctx = ctx;
	}
	if (c->backend_tls != TLS_BACKEND_DISABLED) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (ctx == NULL) {
			snprintf(err, errlen, "cannot create a TLS context");
			return false;
		}
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		if (c->backend_tls >= TLS_BACKEND_VERIFY_CA) {
			if (c->backend_tls_ca[0] == '\0') {
				snprintf(err, errlen, "[backend] tls = %s needs tls_ca",
					 conf_enum_name("backend", "tls", (int)c->backend_tls));
				SSL_CTX_free(ctx);
				return false;
			}
			if (SSL_CTX_load_verify_locations(ctx, c->backend_tls_ca, NULL) != 1) {
				ssl_err(err, errlen, "[backend] tls_ca", c->backend_tls_ca);
				SSL_CTX_free(ctx);
				return false;
			}
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		} else {
			SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		}
		p->backend_tls_ctx = ctx;
	}
	return true;
}

/* ---- the gate ---------------------------------------------------------------- */

bool proxy_gate_closed(struct proxy *p, struct session *s)
{
	(void)s;
	return p->paused;
}

unsigned proxy_sessions_in_trans(struct proxy *p)
{
	struct session *s;
	unsigned n = 0;

	TAILQ_FOREACH(s, &p->sessions, link)
		if (s->in_trans && s->state != SS_CLOSING)
			n++;
	return n;
}

static void on_pause_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;

	(void)fd;
	(void)what;
	log_warning("pause timed out: resuming by itself");
	proxy_resume(p);
}

void proxy_pause(struct proxy *p, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	if (p->pause_timer == NULL)
		p->pause_timer = evtimer_new(p->base, on_pause_timeout, p);
	p->paused = true;
	evtimer_add(p->pause_timer, &tv);
	log_info("paused: holding new transactions for up to %d ms", timeout_ms);
}

void proxy_resume(struct proxy *p)
{

	if (p->pause_timer != NULL)
		evtimer_del(p->pause_timer);
	if (!p->paused)
		return;
	p->paused = false;
	admin_pause_ended(p);
	log_info("resumed");
	proxy_release_held(p);
}

void proxy_release_held(struct proxy *p)
{
	struct session *s, *next;

	/* in arrival order; one a gate still holds keeps its place */
	for (s = TAILQ_FIRST(&p->held); s != NULL; s = next) {
		next = TAILQ_NEXT(s, held_link);
		(void)session_release(s);
	}
}

/* ---- deploy requests: the mirror set ------------------------------------------ */

/*
 * Tell cutover/ that the set of p->sync_pending is in force once no command
 * planned with an older set is still running (SS_COMMAND / SS_INFILE hold
 * the plan; a held command plans when released).
 */
static void check_sync(struct proxy *p)
{
	struct session *s;
	uint64_t v = p->sync_pending;

	if (v == 0)
		return;
	TAILQ_FOREACH(s, &p->sessions, link)
		if ((s->state == SS_COMMAND || s->state == SS_INFILE) && s->plan_version < v)
			return;
	p->sync_pending = 0;
	deploys_synced(p->deploys, v);
}

/*
 * A deploy that appears in the new set, or whose tables changed by DDL
 * (deferred indexes built, a swap), mirrors into a table that transactions
 * open now may not be allowed to use (InnoDB: "Table definition has
 * changed", error 1412, when their snapshot is older): mark them, so that
 * their mirrored writes can be undone and refused with that error rather
 * than fail the deploy (writes.c).
 */
static void mark_old_transactions(struct proxy *p, const struct mirror_set *old,
				  const struct mirror_set *m)
{
	struct session *s;
	bool fresh = false;

	for (unsigned i = 0; i < m->n && !fresh; i++) {
		bool known = false;

		for (unsigned k = 0; old != NULL && k < old->n && !known; k++)
			known = old->tables[k].deploy_id == m->tables[i].deploy_id &&
				old->tables[k].ddl_gen == m->tables[i].ddl_gen;
		fresh = !known;
	}
	if (!fresh)
		return;
	TAILQ_FOREACH(s, &p->sessions, link)
		if (s->in_trans)
			s->trans_predates_deploy = true;
}

/* --- the cut-over gate's drain ----------------------------------------------------- */

/* s is inside a transaction (or a command) that touched a gated table. */
static bool blocks_drain(const struct proxy *p, const struct session *s)
{
	const struct mirror_set *m = p->mirrors;

	if (s->state == SS_CLOSING || (s->ntouched == 0 && !s->touched_any))
		return false;
	if (!s->in_trans && s->state != SS_COMMAND && s->state != SS_INFILE)
		return false;
	for (unsigned i = 0; i < m->n; i++)
		if (m->tables[i].gate_epoch != 0 && writes_session_touched(s, m->tables[i].deploy_id))
			return true;
	return false;
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg);

static void drain_done(struct proxy *p, json_t *blockers)
{
	p->drain_reported = true;
	if (p->drain_timer != NULL)
		evtimer_del(p->drain_timer);
	deploys_drained(p->deploys, p->drain_epoch, blockers, p->gate_closed_ms);
}

/*
 * Close the gate of drain_epoch: from now on writes_gate() holds new
 * statements on its tables, and the drain has drain_timeout_ms.
 */
static void gate_close(struct proxy *p)
{
	int ms = p->mirrors->drain_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	p->gate_waiting = 0;
	if (p->quiet_timer != NULL)
		evtimer_del(p->quiet_timer);
	p->gate_closed_ms = deploy_now_ms();
	if (p->drain_timer == NULL)
		p->drain_timer = evtimer_new(p->base, on_drain_timeout, p);
	if (p->drain_timer != NULL)
		evtimer_add(p->drain_timer, &tv);
	log_debug("cut-over gate %llu closed", (unsigned long long)p->drain_epoch);
}

/*
 * Tell cutover/ once no open transaction touches a gated table.  While the
 * gate still waits for a quiet moment, this is one when every such
 * transaction is already ending (its COMMIT or ROLLBACK running): the gate
 * closes (the loop admits no statement in between), with at most those to
 * drain.
 */
static void check_drain(struct proxy *p)
{
	struct session *s;
	bool drained = true;

	if (p->drain_epoch == 0 || p->drain_reported || p->mirrors == NULL || p->mirrors->ngated == 0)
		return;
	TAILQ_FOREACH(s, &p->sessions, link) {
		if (!blocks_drain(p, s))
			continue;
		if (p->gate_waiting == 0 || !(s->state == SS_COMMAND && s->cmd_ends_trans))
			return;
		drained = false;       /* ending: the gate may close, the drain waits */
	}
	if (p->gate_waiting != 0)
		gate_close(p);
	if (!drained)
		return;
	log_debug("cut-over gate %llu: drained", (unsigned long long)p->drain_epoch);
	drain_done(p, NULL);
}

const char *proxy_cutover_gate(const struct proxy *p)
{
	return p->drain_epoch == 0 ? "open" : p->gate_waiting != 0 ? "waiting" : "closed";
}

/* No quiet moment came within quiet_wait_ms: close and drain. */
static void on_quiet_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;

	(void)fd;
	(void)what;
	if (p->gate_waiting == 0 || p->gate_waiting != p->drain_epoch || p->mirrors == NULL)
		return;
	log_debug("cut-over gate %llu: no quiet moment in %d ms, draining", (unsigned long long)p->drain_epoch,
		  p->mirrors->quiet_wait_ms);
	gate_close(p);
	check_drain(p);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;
	struct session *s;
	struct timespec now;
	json_t *a;

	(void)fd;
	(void)what;
	if (p->drain_epoch == 0 || p->drain_reported || p->mirrors == NULL)
		return;
	a = json_array();
	clock_gettime(CLOCK_MONOTONIC, &now);
	TAILQ_FOREACH(s, &p->sessions, link) {
		bool busy = s->state == SS_COMMAND || s->state == SS_INFILE;
		long long ms;

		if (!blocks_drain(p, s))
			continue;
		ms = (long long)(now.tv_sec - s->touched_since.tv_sec) * 1000 +
		     (now.tv_nsec - s->touched_since.tv_nsec) / 1000000;
		json_array_append_new(a, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:I}",
						   "session", (json_int_t)s->id,
						   "backend_id", (json_int_t)s->backend_conn_id,
						   "user", s->user, "address", s->peer,
						   "state", session_state_name(s->state),
						   "command", busy ? stats_command_name(s->cmd_byte) : "",
						   "query", busy ? s->cmd_text : "",
						   "in_transaction_ms", (json_int_t)ms));
	}
	log_warning("cut-over gate %llu: %zu session(s) still in transactions on the table after %d ms",
		    (unsigned long long)p->drain_epoch, json_array_size(a), p->mirrors->drain_timeout_ms);
	drain_done(p, a);
}

/* A new mirror set was published: start, or stop, draining its gate. */
static void gate_changed(struct proxy *p)
{
	const struct mirror_set *m = p->mirrors;

	if (m->ngated > 0 && m->gate_epoch != p->drain_epoch) {
		p->drain_epoch = m->gate_epoch;
		p->drain_reported = false;
		if (m->quiet_wait_ms > 0) {
			struct timeval tv = { m->quiet_wait_ms / 1000, (m->quiet_wait_ms % 1000) * 1000 };

			p->gate_waiting = p->drain_epoch;
			if (p->quiet_timer == NULL)
				p->quiet_timer = evtimer_new(p->base, on_quiet_timeout, p);
			if (p->quiet_timer != NULL)
				evtimer_add(p->quiet_timer, &tv);
			else
				gate_close(p);
		} else {
			gate_close(p);
		}
	}
	if (m->ngated == 0 && p->drain_epoch != 0) {
		if (p->drain_timer != NULL)
			evtimer_del(p->drain_timer);
		if (p->quiet_timer != NULL)
			evtimer_del(p->quiet_timer);
		if (!p->drain_reported)
			deploys_drained(p->deploys, p->drain_epoch, json_array(), deploy_now_ms());
		p->drain_epoch = 0;
		p->gate_waiting = 0;
		p->drain_reported = false;
	}
	if (!TAILQ_EMPTY(&p->held))
		proxy_release_held(p);
	check_drain(p);
}

void proxy_deploys_changed(void *arg)
{
	struct proxy *p = arg;
	struct mirror_set *m;
	uint64_t v;

	if (!p->catalog_loaded && deploys_loaded(p->deploys))
		p->catalog_loaded = true;
	m = deploys_mirror_set(p->deploys, &v);
	if (m == NULL) {
		log_error("out of memory building the mirror set");
		return;
	}
	if (p->mirrors != NULL && v == p->mirror_version) {
		mirror_set_unref(m);
	} else {
		mark_old_transactions(p, p->mirrors, m);
		mirror_set_unref(p->mirrors);
		p->mirrors = m;
		p->mirror_version = v;
		log_debug("mirror set %llu: %u tables, %u gated", (unsigned long long)v, m->n, m->ngated);
		gate_changed(p);
	}
	deploys_published(p->deploys, v);
	if (v > p->sync_pending)
		p->sync_pending = v;
	check_sync(p);
}

void proxy_deploys_reply(void *arg, uint64_t serial, json_t *reply)
{
	admin_deploy_reply(arg, serial, reply);
}

void proxy_session_state_changed(struct proxy *p, struct session *s)
{
	(void)s;
	if (p->paused)
		admin_pause_progress(p);
	if (p->sync_pending != 0)
		check_sync(p);
	if (p->drain_epoch != 0 && !p->drain_reported)
		check_drain(p);
}

/* ---- reload ---------------------------------------------------------------- */

bool proxy_reload(struct proxy *p, char *msg, size_t msglen)
{
	struct conf nc;
	char err[512], restart[512];
	struct sockaddr_storage old_addr = p->backend_addr;
	socklen_t old_len = p->backend_addrlen;
	struct conf old;
	int n;

	if (!conf_load(&nc, p->conf_path, err, sizeof(err))) {
		conf_free(&nc);
		snprintf(msg, msglen, "reload failed, configuration unchanged: %s", err);
		log_error("%s", msg);
		return false;
	}
	n = conf_diff_restart_only(&p->conf, &nc, restart, sizeof(restart));
	old = p->conf;
	p->conf = nc;
	if (!proxy_resolve_backend(p, err, sizeof(err))) {
		p->conf = old;
		p->backend_addr = old_addr;
		p->backend_addrlen = old_len;
		conf_free(&nc);
		snprintf(msg, msglen, "reload failed, configuration unchanged: %s", err);
		log_error("%s", msg);
		return false;
	}
	if (!log_open(p->conf.log_file))
		log_error("cannot open log file '%s'", p->conf.log_file);
	log_current_level = p->conf.log_level;
	if (n > 0) {
		/* keep the values that need a restart as they were */
		size_t i;

		for (i = 0; i < conf_options_count; i++) {
			const struct conf_option *o = &conf_options[i];
			char *pn = (char *)&p->conf + o->offset;
			char *po = (char *)&old + o->offset;

			if (o->reloadable)
				continue;
			if (o->type == CONF_STRING) {
				char *tmp = *(char **)pn;

				*(char **)pn = *(char **)po;
				*(char **)po = tmp;
			} else if (o->type == CONF_BOOL) {
				memcpy(pn, po, sizeof(bool));
			} else {
				memcpy(pn, po, sizeof(int));
			}
		}
		snprintf(msg, msglen, "reloaded; these options need a restart and were not changed: %s",
			 restart);
		log_warning("%s", msg);
	} else {
		snprintf(msg, msglen, "reloaded");
		log_info("configuration reloaded from %s", p->conf_path);
	}
	conf_free(&old);
	return true;
}
