/*
 * settings.h - the backend's settings that the proxy's sessions need to
 * know, read on a control connection.  Blocking: call it before the event
 * loop runs, or from a worker thread.
 */
#ifndef CUTOVER_SETTINGS_H
#define CUTOVER_SETTINGS_H

struct conf;

/*
 * innodb_rollback_on_timeout: 1 when a lock wait timeout (error 1205)
 * rolls back the whole transaction, 0 when only the statement; -1 when the
 * backend cannot be asked (logged).
 */
int settings_rollback_on_timeout(const struct conf *conf);

#endif
