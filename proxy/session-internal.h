/*
 * session-internal.h - what proxy/session.c (the session engine) shares with
 * proxy/writes.c (mirroring of writes to tables under deploy), which builds
 * plans of its own.  See the "plans" section of session.c.
 */
#ifndef CUTOVER_SESSION_INTERNAL_H
#define CUTOVER_SESSION_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "proxy/proxy.h"
#include "protocol/lexer.h"

/* A COM_QUERY packet (seq 0) for a statement of the proxy's; NULL if too long. */
struct evbuffer *session_query_packet(const char *sql);

/*
 * Append a step to the plan.  A step with a packet is sent at once when the
 * plan runs already (from a done() callback), else with the others at
 * plan start.  A client step (is_client) with pkt NULL sends the client's
 * command (s->cmd); with a packet, that packet replaces it.  Takes `pkt`
 * even on failure.
 */
bool session_plan_add(struct session *s, struct evbuffer *pkt, enum resp_kind kind,
		      enum step_sink sink, bool is_client, step_done_fn done) WARN_UNUSED;

/* Send the plan's steps and start reading responses. */
void session_plan_start(struct session *s);

/*
 * The plan (the proxy's statements only) runs before the client's command:
 * when it ends with nothing held for the client, the command in s->cmd
 * runs as if it had just arrived (planned again); when an error is held
 * (a step's done() put it there), the client gets it instead.
 */
void session_plan_rerun(struct session *s);

/*
 * The error ended the whole transaction: InnoDB rolled it back (a deadlock;
 * a lock wait timeout under innodb_rollback_on_timeout).
 */
bool session_err_rolls_back(const struct session *s, const struct resp_parser *rp);

/* Answer the current command with an ERR (s->cmd must be consumed first). */
void session_command_error(struct session *s, uint16_t code, const char *sqlstate, const char *msg);

/* Statements run after the client's: save its warnings for SHOW WARNINGS. */
void session_save_diagnostics(struct session *s, const struct resp_parser *rp);
/* The same, planned before the client's statement has answered: always
 * asks (SHOW WARNINGS right after it). */
bool session_plan_save_diagnostics(struct session *s) WARN_UNUSED;

/*
 * Run the multi-statement COM_QUERY in s->cmd one statement at a time, each
 * planned as if it had come alone: sql[st[i].start, st[i].end) for each of
 * the n statements (a trailing empty one is left out).  The client sees one
 * answer: the results in order, each but the last flagged
 * SERVER_MORE_RESULTS_EXISTS, the sequence numbers running on, and the
 * first error ends it as the server would end the packet.  Consumes
 * s->cmd.  False (nothing done) when out of memory.
 */
bool session_split_start(struct session *s, const char *sql, size_t len, const struct sql_stmt *st,
			 size_t n) WARN_UNUSED;

/* The client's answer to the current statement became an error (held ERR):
   a split packet stops after it. */
void session_split_error(struct session *s);

#endif
