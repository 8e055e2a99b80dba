/*
 * main.c - cutoverd: command line, start-up, signals, shutdown.
 *
 *   cutoverd -c FILE                 run
 *   cutoverd --check-config -c FILE  check the file and exit (0 = valid)
 *   cutoverd --version
 */
#include "config.h"
#include "proxy/proxy.h"
#include "proxy/admin.h"
#include "proxy/metrics.h"
#include "proxy/log.h"
#include "cutover/settings.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>
#include <openssl/ssl.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: cutoverd -c FILE            run the proxy\n"
		"       cutoverd --check-config -c FILE\n"
		"                                   check the configuration and exit\n"
		"       cutoverd --version\n"
		"\n"
		"Options are documented in cutoverd.ini and doc/configuration.md.\n");
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	(void)l;
	session_accept(arg, fd, sa, salen);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	(void)l;
	(void)arg;
	log_error("accept: %s", evutil_socket_error_to_string(err));
}

/* Split "host:port" (or "[v6]:port") and bind a listener. */
static bool listen_on(struct proxy *p, char *err, size_t errlen)
{
	char host[256];
	const char *spec = p->conf.listen, *colon;
	struct addrinfo hints, *res = NULL;
	int rc;

	colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec || colon[1] == '\0') {
		snprintf(err, errlen, "[proxy] listen: '%s' is not host:port", spec);
		return false;
	}
	if (spec[0] == '[' && colon[-1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 2), spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "[proxy] listen: '%s': %s", spec, gai_strerror(rc));
		return false;
	}
	p->listener = evconnlistener_new_bind(p->base, on_accept, p,
					      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
					      1024, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (p->listener == NULL) {
		snprintf(err, errlen, "[proxy] listen: cannot listen on %s: %s", spec, strerror(errno));
		return false;
	}
	evconnlistener_set_error_cb(p->listener, on_accept_error);
	return true;
}

static void finish_shutdown(struct proxy *p)
{
	event_base_loopbreak(p->base);
}

static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;

	(void)fd;
	(void)what;
	log_warning("shutdown timeout: closing %u remaining sessions", p->nsessions);
	finish_shutdown(p);
}

static void on_shutdown_poll(evutil_socket_t fd, short what, void *arg);

static void begin_shutdown(struct proxy *p)
{
	struct session *s, *next;
	struct timeval tv = { p->conf.shutdown_timeout_ms / 1000,
			      (p->conf.shutdown_timeout_ms % 1000) * 1000 };
	struct timeval ptv = { 0, 50000 };

	if (p->shutting_down)
		return;
	p->shutting_down = true;
	log_info("shutting down: no new connections, waiting up to %d ms for %u open transactions",
		 p->conf.shutdown_timeout_ms, proxy_sessions_in_trans(p));
	if (p->listener != NULL) {
		evconnlistener_free(p->listener);
		p->listener = NULL;
	}
	if (p->paused)
		proxy_resume(p);
	for (s = TAILQ_FIRST(&p->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		session_close_if_idle(s);
	}
	p->shutdown_timer = evtimer_new(p->base, on_shutdown_timeout, p);
	evtimer_add(p->shutdown_timer, &tv);
	p->shutdown_poll = event_new(p->base, -1, EV_PERSIST, on_shutdown_poll, p);
	evtimer_add(p->shutdown_poll, &ptv);
}

static void on_shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;

	(void)fd;
	(void)what;
	if (p->nsessions == 0)
		finish_shutdown(p);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct proxy *p = arg;
	char msg[1024];

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: reloading %s", p->conf_path);
		(void)proxy_reload(p, msg, sizeof(msg));
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	begin_shutdown(p);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct proxy *p;
	const char *path = NULL;
	bool check_only = false;
	char err[1024];
	struct event *sigs[4];
	const int signums[4] = { SIGHUP, SIGTERM, SIGINT, SIGQUIT };
	struct session *s;
	int opt, i, rc = 0;

	while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'V':
			printf("cutoverd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return 1;
	TAILQ_INIT(&p->sessions);
	TAILQ_INIT(&p->held);
	p->rollback_on_timeout = -1;
	p->conf_path = strdup(path);
	if (!conf_load(&p->conf, path, err, sizeof(err))) {
		fprintf(stderr, "cutoverd: %s\n", err);
		conf_free(&p->conf);
		free(p->conf_path);
		free(p);
		return 1;
	}
	if (!proxy_resolve_backend(p, err, sizeof(err)) || !proxy_setup_tls(p, err, sizeof(err))) {
		fprintf(stderr, "cutoverd: %s: %s\n", path, err);
		rc = 1;
		goto out_conf;
	}
	if (check_only) {
		printf("cutoverd: %s: configuration is valid\n", path);
		goto out_conf;
	}
	if (!log_open(p->conf.log_file)) {
		fprintf(stderr, "cutoverd: cannot open log file '%s': %s\n", p->conf.log_file, strerror(errno));
		rc = 1;
		goto out_conf;
	}
	log_current_level = p->conf.log_level;
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	p->base = event_base_new();
	if (p->base == NULL) {
		log_error("cannot create the event loop");
		rc = 1;
		goto out_conf;
	}
	p->started = time(NULL);
	/* Deploy state before the first client: mirroring must be in force
	 * before any write is relayed. */
	p->deploys = deploys_new(p->base, &p->conf, proxy_deploys_changed, proxy_deploys_reply, p);
	if (p->deploys == NULL) {
		log_error("cannot set up deploy requests (a bad [cutover] replicas, or out of memory)");
		rc = 1;
		goto out_base;
	}
	if (deploys_load(p->deploys, err, sizeof(err))) {
		p->rollback_on_timeout = settings_rollback_on_timeout(&p->conf);
		proxy_deploys_changed(p);
	} else {
		log_warning("cannot read the deploy catalog yet, retrying in the background "
			    "(writes are refused until then): %s", err);
		deploys_load_retry(p->deploys);
	}
	if (!listen_on(p, err, sizeof(err)) || !admin_start(p, err, sizeof(err)) ||
	    !metrics_start(p, err, sizeof(err))) {
		log_error("%s", err);
		rc = 1;
		goto out_base;
	}
	for (i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(p->base, signums[i], on_signal, p);
		evsignal_add(sigs[i], NULL);
	}
	log_info("cutoverd %s listening on %s, backend %s:%d, admin socket %s", PACKAGE_VERSION,
		 p->conf.listen, p->conf.backend_host, p->conf.backend_port, p->conf.admin_socket);
	event_base_dispatch(p->base);

	log_info("closing %u sessions", p->nsessions);
	while ((s = TAILQ_FIRST(&p->sessions)) != NULL)
		session_free(s);
	for (i = 0; i < 4; i++)
		event_free(sigs[i]);
out_base:
	deploys_free(p->deploys);
	mirror_set_unref(p->mirrors);
	metrics_stop(p);
	admin_stop(p);
	if (p->listener != NULL)
		evconnlistener_free(p->listener);
	if (p->pause_timer != NULL)
		event_free(p->pause_timer);
	if (p->drain_timer != NULL)
		event_free(p->drain_timer);
	if (p->quiet_timer != NULL)
		event_free(p->quiet_timer);
	if (p->shutdown_timer != NULL)
		event_free(p->shutdown_timer);
	if (p->shutdown_poll != NULL)
		event_free(p->shutdown_poll);
	event_base_free(p->base);
	log_info("stopped");
out_conf:
	if (p->client_tls_ctx != NULL)
		SSL_CTX_free(p->client_tls_ctx);
	if (p->backend_tls_ctx != NULL)
		SSL_CTX_free(p->backend_tls_ctx);
	conf_free(&p->conf);
	free(p->conf_path);
	free(p);
	return rc;
}
