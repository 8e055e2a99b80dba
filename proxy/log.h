/*
 * log.h - leveled logging.  The macros do not evaluate their arguments when
 * the level is below the configured one.  slog_*() prefix the line with the
 * session id so every line about a session can be grepped: "S12 ...".
 */
#ifndef CUTOVER_LOG_H
#define CUTOVER_LOG_H

#include "conf/conf.h"

extern enum log_level log_current_level;

void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Open (or reopen, on SIGHUP) the log destination; "" or "stderr" = stderr. */
bool log_open(const char *path) WARN_UNUSED;

#define log_at(lvl, ...) do { \
	if ((lvl) <= log_current_level) log_write((lvl), __VA_ARGS__); \
} while (0)

#define log_error(...)   log_at(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_at(LOG_WARNING, __VA_ARGS__)
#define log_info(...)    log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_at(LOG_DEBUG, __VA_ARGS__)

/* s is a struct session *; the format must be a string literal. */
#define slog_at(lvl, s, fmt, ...) do { \
	if ((lvl) <= log_current_level) \
		log_write((lvl), "S%llu " fmt, (unsigned long long)(s)->id, ##__VA_ARGS__); \
} while (0)

#define slog_error(s, ...)   slog_at(LOG_ERROR, s, __VA_ARGS__)
#define slog_warning(s, ...) slog_at(LOG_WARNING, s, __VA_ARGS__)
#define slog_info(s, ...)    slog_at(LOG_INFO, s, __VA_ARGS__)
#define slog_debug(s, ...)   slog_at(LOG_DEBUG, s, __VA_ARGS__)

#endif
