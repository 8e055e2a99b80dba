/*
 * admin.h - the admin Unix socket: one command per line in, one JSON
 * object per line out ({"ok":true,...} or {"ok":false,"error":"..."}).
 */
#ifndef CUTOVER_ADMIN_H
#define CUTOVER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include <jansson.h>

#include "conf/conf.h"

struct proxy;

/* Listen on p->conf.admin_socket (mode 0600); replaces a stale socket file. */
bool admin_start(struct proxy *p, char *err, size_t errlen) WARN_UNUSED;
void admin_stop(struct proxy *p);

/* The pause ended (resume or timeout): answer a waiting `pause`. */
void admin_pause_ended(struct proxy *p);
/* Something changed while paused: answer `pause` once drained. */
void admin_pause_progress(struct proxy *p);
/* The answer (consumed) to the `deploy` command of connection `serial`. */
void admin_deploy_reply(struct proxy *p, uint64_t serial, json_t *reply);

#endif
