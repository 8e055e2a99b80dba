/*
 * writes.h - the session's side of deploy requests: each client statement
 * that writes a table under deploy is mirrored into the shadow table inside
 * the client's transaction, or refused with a clear error naming the deploy
 * (cutover/mirror.c decides and writes the SQL; this file runs it as a plan
 * of steps, see proxy/session.c).  Write statements prepared with
 * COM_STMT_PREPARE are remembered per session, with the parameter types
 * their executes bind, so that a deploy that starts later still knows them.
 */
#ifndef CUTOVER_WRITES_H
#define CUTOVER_WRITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct step;
struct resp_parser;

/*
 * The command in s->cmd is a COM_QUERY or COM_STMT_EXECUTE about to run.
 * Returns true when it took the command: refused (an ERR was sent) or
 * mirrored (a plan was built and started).  false: run it as usual.
 */
bool writes_command(struct session *s);

/*
 * The cut-over gate, for a COM_QUERY / COM_STMT_EXECUTE that passed the
 * pause gate and is about to run.  Returns true when it must be held: it
 * touches a table whose gate is closed, and the session's transaction has
 * touched none of those tables yet (one that has is what the drain waits
 * for: it goes on).  Otherwise notes in the session which tables
 * under deploy its transaction touches (the drain waits for those) and
 * returns false.  Cheap when no deploy is running.
 */
bool writes_gate(struct session *s);
/* The session's open transaction (or command in flight) touched the deploy's tables. */
bool writes_session_touched(const struct session *s, uint64_t deploy_id);

/*
 * A command other than COM_QUERY / COM_STMT_EXECUTE about to run (the
 * gate passed): true when the re-copies the open transaction deferred must
 * be applied first (a plan was started; the command runs after it).
 */
bool writes_other_command(struct session *s);

/* COM_STMT_PREPARE about to run: remember the tables it names, and its text if it may write. */
void writes_prepare(struct session *s);
/* Its response arrived (a step done() callback). */
void writes_prepare_done(struct session *s, struct step *st, const struct resp_parser *rp);

/* COM_STMT_SEND_LONG_DATA / COM_STMT_RESET / COM_STMT_CLOSE in s->cmd. */
void writes_stmt_command(struct session *s);

/* COM_RESET_CONNECTION or COM_CHANGE_USER succeeded: statements are gone. */
void writes_forget_all(struct session *s);

/* The plan ended (plan_finish): drop what the mirror plan kept. */
void writes_plan_end(struct session *s);

/*
 * A command ended (plan_finish, before writes_plan_end): if the
 * transaction is over with re-copies still deferred, an error rolled it
 * back (they are dropped) or it committed without them (the deploy fails).
 */
void writes_command_end(struct session *s);

void writes_free(struct session *s);

#endif
