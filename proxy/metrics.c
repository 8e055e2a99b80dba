/*
 * metrics.c - GET /metrics in the Prometheus text format.
 */
#include "config.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

struct metrics {
	struct evhttp *http;
};

static void counter(struct evbuffer *b, const char *name, const char *help, uint64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
			    (unsigned long long)v);
}

static void gauge(struct evbuffer *b, const char *name, const char *help, uint64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
			    (unsigned long long)v);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct proxy *p = arg;
	const struct stats *st = &p->stats;
	struct evbuffer *b = evbuffer_new();
	uint64_t cum = 0;
	unsigned i;

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	gauge(b, "cutover_up", "1 while cutoverd runs", 1);
	gauge(b, "cutover_uptime_seconds", "seconds since start", (uint64_t)(time(NULL) - p->started));
	gauge(b, "cutover_sessions", "client sessions now", p->nsessions);
	gauge(b, "cutover_sessions_in_transaction", "sessions inside a transaction",
	      proxy_sessions_in_trans(p));
	gauge(b, "cutover_paused", "1 while the proxy is paused", p->paused);
	counter(b, "cutover_connections_total", "client connections accepted", st->connections_total);
	counter(b, "cutover_connections_refused_total", "connections refused", st->connections_refused);
	counter(b, "cutover_auth_failures_total", "logins refused by the backend", st->auth_failures);
	counter(b, "cutover_client_bytes_received_total", "bytes from clients", st->bytes_from_clients);
	counter(b, "cutover_client_bytes_sent_total", "bytes to clients", st->bytes_to_clients);
	counter(b, "cutover_server_errors_total", "error replies from the backend", st->server_errors);
	counter(b, "cutover_proxy_errors_total", "error replies from the proxy", st->proxy_errors);
	counter(b, "cutover_injected_statements_total", "statements the proxy ran in sessions",
		st->injected_statements);
	counter(b, "cutover_held_commands_total", "commands held at the gate", st->held_commands);
	evbuffer_add_printf(b, "# HELP cutover_commands_total client commands by type\n"
			       "# TYPE cutover_commands_total counter\n");
	for (i = 0; i <= STATS_COMMANDS; i++)
		if (st->commands[i] > 0)
			evbuffer_add_printf(b, "cutover_commands_total{command=\"%s\"} %llu\n",
					    stats_command_name(i), (unsigned long long)st->commands[i]);
	evbuffer_add_printf(b, "# HELP cutover_command_duration_seconds client command latency\n"
			       "# TYPE cutover_command_duration_seconds histogram\n");
	for (i = 0; i < STATS_LAT_BUCKETS; i++) {
		cum += st->lat[i];
		evbuffer_add_printf(b, "cutover_command_duration_seconds_bucket{le=\"%.6f\"} %llu\n",
				    (double)(1ull << i) / 1e6, (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "cutover_command_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
			       "cutover_command_duration_seconds_count %llu\n",
			    (unsigned long long)st->lat_count, (unsigned long long)st->lat_count);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
}

bool metrics_start(struct proxy *p, char *err, size_t errlen)
{
	const char *spec = p->conf.metrics_listen;
	const char *colon;
	char host[256];
	struct metrics *m;
	long port;

	if (spec == NULL || spec[0] == '\0')
		return true;
	colon = strrchr(spec, ':');
	port = colon != NULL ? strtol(colon + 1, NULL, 10) : 0;
	if (colon == NULL || colon == spec || port <= 0 || port > 65535) {
		snprintf(err, errlen, "[proxy] metrics_listen: '%s' is not host:port", spec);
		return false;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->http = evhttp_new(p->base)) == NULL) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(m->http, "/metrics", on_metrics, p);
	evhttp_set_gencb(m->http, on_other, p);
	if (evhttp_bind_socket(m->http, host, (uint16_t)port) != 0) {
		snprintf(err, errlen, "[proxy] metrics_listen: cannot listen on %s", spec);
		evhttp_free(m->http);
		free(m);
		return false;
	}
	p->metrics = m;
	return true;
}

void metrics_stop(struct proxy *p)
{
	if (p->metrics == NULL)
		return;
	evhttp_free(p->metrics->http);
	free(p->metrics);
	p->metrics = NULL;
}
