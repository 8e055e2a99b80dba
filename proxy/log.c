/*
 * log.c - the log destination and line format: ISO time, level, message.
 */
#include "config.h"
#include "proxy/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

enum log_level log_current_level = LOG_INFO;
static FILE *log_fp;

static const char *const level_names[] = { "ERROR", "WARNING", "INFO", "DEBUG" };

bool log_open(const char *path)
{
	FILE *fp;

	if (path == NULL || path[0] == '\0' || strcmp(path, "stderr") == 0) {
		if (log_fp != NULL && log_fp != stderr)
			fclose(log_fp);
		log_fp = stderr;
		return true;
	}
	fp = fopen(path, "a");
	if (fp == NULL)
		return false;
	setvbuf(fp, NULL, _IOLBF, 0);
	if (log_fp != NULL && log_fp != stderr)
		fclose(log_fp);
	log_fp = fp;
	return true;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];
	va_list ap;
	FILE *fp = log_fp != NULL ? log_fp : stderr;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(fp);
	fprintf(fp, "%s.%03dZ %s ", ts, (int)(tv.tv_usec / 1000), level_names[level]);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	funlockfile(fp);
}
