/*
 * metrics.c - GET /metrics in the Prometheus text format.
 */
#include "config.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"
#include "cutover/deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

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

/* A label value: backslash, double quote and line feed escaped. */
static void put_label(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

/* The labels id and table of a deploy request's sample, up to the value. */
static void put_deploy_labels(struct evbuffer *b, const char *name, const json_t *o)
{
	evbuffer_add_printf(b, "%s{id=\"%lld\",table=\"", name, (long long)json_integer_value(json_object_get(o, "id")));
	put_label(b, json_string_value(json_object_get(o, "table")));
	evbuffer_add(b, "\"", 1);
}

/* A gauge, one sample per deploy, of a member of its `deploy show` (absent: none). */
struct deploy_metric {
	const char *name, *help, *key;
	double scale;             /* the member's unit to the metric's */
};

static const struct deploy_metric deploy_metrics[] = {
	{ "cutover_deploy_rows_copied", "rows the backfill copied", "rows_copied", 1 },
	{ "cutover_deploy_table_rows", "rows of the table (the server's estimate while copying)",
	  "rows_total", 1 },
	{ "cutover_deploy_progress_ratio", "share of the copy done (1 once it is over)", "progress_pct",
	  0.01 },
	{ "cutover_deploy_copy_rows_per_second", "rows copied per second (recent chunks)", "copy_rate", 1 },
	{ "cutover_deploy_eta_seconds", "seconds the copy still needs at its rate (while copying)",
	  "eta_s", 1 },
	{ "cutover_deploy_chunk_rows", "rows per chunk the backfill uses now", "chunk_rows", 1 },
	{ "cutover_deploy_rows_verified", "rows the verification compared", "rows_verified", 1 },
	{ "cutover_deploy_verify_mismatches", "chunks the verification found different and copied again",
	  "verify_mismatches", 1 },
	{ "cutover_deploy_mirrored_statements", "client statements mirrored into the other table",
	  "mirrored", 1 },
	{ "cutover_deploy_refused_statements", "client statements refused because of the deploy",
	  "refused", 1 },
	{ "cutover_deploy_lock_retries", "backfill chunks retried because a client held a row",
	  "lock_retries", 1 },
	{ "cutover_deploy_cutover_attempts", "attempts of the last cut-over or revert", "attempts", 1 },
	{ "cutover_deploy_pause_seconds", "traffic to the table held by the last cut-over or revert",
	  "pause_ms", 0.001 },
	{ "cutover_deploy_pause_all_attempts_seconds",
	  "traffic to the table held by all attempts of the last cut-over or revert", "pause_total_ms", 0.001 },
};

/*
 * A deploy request that has ended: cancelled, failed, or cut over (or
 * reverted) with its revert window closed.  Its series go, so that their
 * number does not grow with every deploy ever made; cutover_deploys still
 * counts it.
 */
static bool deploy_ended(const json_t *o)
{
	const char *st = json_string_value(json_object_get(o, "state"));

	if (st == NULL)
		return true;
	if (strcmp(st, "cancelled") == 0 || strcmp(st, "failed") == 0)
		return true;
	return (strcmp(st, "complete") == 0 || strcmp(st, "reverted") == 0) &&
	       !json_is_true(json_object_get(o, "window_open"));
}

/*
 * The deploy requests: how many are in each state, and per deploy that has
 * not ended (labels id, table; the info line also state) the figures of
 * `deploy show`.
 * Values that `deploy show` keeps across a restart (rows, pauses) start
 * again from the catalog; the statement counts start from 0 with each
 * cutoverd, hence gauges, not counters.
 */
static void deploy_section(struct evbuffer *b, struct deploys *ds)
{
	json_t *a = ds != NULL ? deploys_snapshot(ds) : json_array();
	unsigned counts[DS_FAILED + 1];
	size_t i;
	json_t *o;

	if (a == NULL)
		return;
	memset(counts, 0, sizeof(counts));
	json_array_foreach(a, i, o) {
		enum deploy_state st;

		if (deploy_state_parse(json_string_value(json_object_get(o, "state")), &st))
			counts[st]++;
	}
	evbuffer_add_printf(b, "# HELP cutover_deploys deploy requests by state\n# TYPE cutover_deploys gauge\n");
	for (unsigned st = DS_QUEUED; st <= DS_FAILED; st++)
		evbuffer_add_printf(b, "cutover_deploys{state=\"%s\"} %u\n", deploy_state_name(st), counts[st]);
	for (i = json_array_size(a); i-- > 0;)
		if (deploy_ended(json_array_get(a, i)))
			json_array_remove(a, i);
	if (json_array_size(a) == 0) {
		json_decref(a);
		return;
	}
	evbuffer_add_printf(b, "# HELP cutover_deploy_info one per deploy request, with its state\n"
			       "# TYPE cutover_deploy_info gauge\n");
	json_array_foreach(a, i, o) {
		put_deploy_labels(b, "cutover_deploy_info", o);
		evbuffer_add_printf(b, ",state=\"%s\",revertible=\"%s\"} 1\n",
				    json_string_value(json_object_get(o, "state")),
				    json_is_true(json_object_get(o, "revertible")) ? "true" : "false");
	}
	for (unsigned m = 0; m < sizeof(deploy_metrics) / sizeof(deploy_metrics[0]); m++) {
		const struct deploy_metric *dm = &deploy_metrics[m];

		evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", dm->name, dm->help, dm->name);
		json_array_foreach(a, i, o) {
			const json_t *v = json_object_get(o, dm->key);

			if (!json_is_number(v))
				continue;
			put_deploy_labels(b, dm->name, o);
			evbuffer_add_printf(b, "} %.15g\n", json_number_value(v) * dm->scale);
		}
	}
	json_decref(a);
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
	gauge(b, "cutover_gate_waiting", "1 while a cut-over waits for a moment with no transaction on its table",
	      strcmp(proxy_cutover_gate(p), "waiting") == 0);
	gauge(b, "cutover_gate_closed", "1 while a cut-over's gate holds the statements on its table",
	      strcmp(proxy_cutover_gate(p), "closed") == 0);
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
	counter(b, "cutover_refused_writes_total", "statements refused because of a deploy request",
		st->refused_writes);
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
			       "cutover_command_duration_seconds_sum %.6f\n"
			       "cutover_command_duration_seconds_count %llu\n",
			    (unsigned long long)st->lat_count, (double)st->lat_sum_us / 1e6,
			    (unsigned long long)st->lat_count);
	deploy_section(b, p->deploys);
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
