/*
 * metrics.h - Prometheus text exposition on [proxy] metrics_listen,
 * served by libevent's HTTP server at /metrics.
 */
#ifndef CUTOVER_METRICS_H
#define CUTOVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

struct proxy;

/* Start the HTTP listener if metrics_listen is set; true when off. */
bool metrics_start(struct proxy *p, char *err, size_t errlen) WARN_UNUSED;
void metrics_stop(struct proxy *p);

#endif
