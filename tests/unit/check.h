/*
 * check.h - the helpers the C unit tests in tests/unit/ share.
 *
 * Header only: static (inline) functions and two counters, so each test
 * program that includes it gets its own copy and needs no extra object to
 * link.  The test includes it as "tests/unit/check.h" (the build puts the
 * top of the source tree on the include path).
 *
 *   check(ok, fmt, ...)   one check: prints "ok N - msg" or "not ok N - msg"
 *   diag(fmt, ...)        a "# msg" comment line
 *   check_done()          prints "1..N" (and "# F of N checks failed" when
 *                         some did); returns the exit status for main():
 *                         1 if any check failed, else 0
 *   dup_exact(p, n)       heap copy of exactly n bytes (ASan sees overreads)
 *   unhex(s, &n)          hex string (white space ignored) to an exactly
 *                         sized heap buffer
 *
 * test_count and test_failed may be read by the test (for example to turn
 * a loop of silent checks into one reported check).
 */
#ifndef CUTOVER_TESTS_UNIT_CHECK_H
#define CUTOVER_TESTS_UNIT_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_count;
static int test_failed;

static inline void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	test_count++;
	if (!ok)
		test_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The plan line and the summary; the result is main()'s exit status. */
static inline int check_done(void)
{
	printf("1..%d\n", test_count);
	if (test_failed > 0)
		printf("# %d of %d checks failed\n", test_failed, test_count);
	return test_failed > 0 ? 1 : 0;
}

/* A heap copy of exactly n bytes (ASan catches any overread). */
static inline uint8_t *dup_exact(const void *p, size_t n)
{
	uint8_t *d = malloc(n);

	if (d == NULL && n > 0) {
		perror("malloc");
		exit(2);
	}
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

/* Decode hex (white space ignored) into an exactly-sized heap buffer. */
static inline uint8_t *unhex(const char *s, size_t *n)
{
	uint8_t *tmp = malloc(strlen(s) / 2 + 1), *out;
	size_t len = 0;
	int hi = -1;

	if (tmp == NULL)
		exit(2);
	for (; *s != '\0'; s++) {
		int v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			tmp[len++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	out = dup_exact(tmp, len);
	free(tmp);
	*n = len;
	return out;
}

#endif /* CUTOVER_TESTS_UNIT_CHECK_H */
