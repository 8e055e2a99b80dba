/*
 * cutoverctl.c - the admin client of cutoverd.
 *
 * Sends one command line to cutoverd's admin Unix socket and prints the one
 * line of JSON that comes back ({"ok":true,...} or {"ok":false,"error":...}).
 * With --json the line is printed as it came; otherwise readably:
 *   - scalar members as "key: value" lines,
 *   - nested objects flattened as "section.key: value" lines,
 *   - arrays as aligned tables: one row per element, one column per key
 *     (in the key order of the first element, then keys that only later
 *     elements have, in order of appearance); nested values in a cell are
 *     compact JSON; columns that hold only numbers are right-aligned.
 * Control characters in strings are shown escaped (\n, \t, \u001b), so a
 * reply can never break the layout or drive the terminal.
 *
 * With --wait-for STATES the command is sent again every --interval until
 * the reply's "state" is one of STATES (a progress line on standard error
 * each time the reply says something new), then the last reply is printed.
 *
 * Exit status: 0 success, 1 cutoverd refused the command (or, waiting, none
 * of the states waited for can come any more), 2 anything else (usage, no
 * connection, a reply that is not a JSON object with "ok"), 3 the wait
 * timed out.
 */
#include "config.h"
#include "conf/conf.h"

#include <jansson.h>

#include <errno.h>
#include <getopt.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REFUSED = 1,  /* {"ok":false}: the daemon said no */
	CTL_EXIT_TROUBLE = 2,  /* usage, connection, malformed reply */
	CTL_EXIT_TIMEOUT = 3,  /* --wait-for: --timeout passed first */
};

#define CTL_MAX_REPLY (64u * 1024 * 1024) /* refuse replies larger than this */
#define CTL_JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

static void ctl_out_of_memory(void) __attribute__((noreturn));

static void ctl_out_of_memory(void)
{
	fputs("cutoverctl: out of memory\n", stderr);
	exit(CTL_EXIT_TROUBLE);
}

/* calloc() that does not fail: cutoverctl gives up when memory runs out. */
static void *ctl_calloc(size_t n, size_t size)
{
	void *p = calloc(n > 0 ? n : 1, size);

	if (p == NULL)
		ctl_out_of_memory();
	return p;
}

static void ctl_usage(FILE *fp)
{
	fprintf(fp,
		"Usage: cutoverctl [-s SOCKET] [--json] COMMAND [ARGS...]\n"
		"       cutoverctl [-s SOCKET] [--json] --wait-for STATES [--interval MS]\n"
		"                  [--timeout S] deploy show ID\n"
		"       cutoverctl --help | --version\n"
		"\n"
		"Send COMMAND to cutoverd over its admin socket and print the reply.\n"
		"Options come before COMMAND; the words after it are sent as they are.\n"
		"'cutoverctl help' lists the commands cutoverd knows.\n"
		"\n"
		"  -s, --socket=PATH  admin socket (default: $CUTOVER_ADMIN_SOCKET,\n"
		"                     else %s)\n"
		"  -j, --json         print the reply as the raw JSON line\n"
		"  -w, --wait-for=STATES\n"
		"                     send COMMAND again until the reply's state is one\n"
		"                     of STATES (comma-separated), showing progress on\n"
		"                     standard error (COMMAND: deploy show ID)\n"
		"  -i, --interval=MS  time between two tries while waiting (default 1000)\n"
		"  -t, --timeout=S    give up waiting after S seconds (default: never)\n"
		"  -h, --help         show this help and exit\n"
		"  -V, --version      show the version and exit\n"
		"\n"
		"Exit status: 0 success; 1 cutoverd refused the command, or none of the\n"
		"states waited for can come any more; 2 usage error, no connection, or\n"
		"a malformed reply; 3 the wait timed out.\n",
		CONF_DEFAULT_ADMIN_SOCKET);
}

/* Connect to the Unix socket `path`.  Returns the fd, or -1 with errno set. */
static int ctl_connect(const char *path)
{
	struct sockaddr_un addr;
	int fd, saved;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static bool ctl_send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Read one line from `fd` into a new NUL-terminated string (*out, without
 * the newline; the caller frees it).  A last line without a newline counts.
 * Returns false with *why set to a static description on failure.
 */
static bool ctl_read_line(int fd, char **out, const char **why)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;

	*why = NULL;
	if (buf == NULL) {
		*why = "out of memory";
		return false;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			char *bigger;

			if (cap >= CTL_MAX_REPLY) {
				*why = "reply is too large";
				break;
			}
			bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				*why = "out of memory";
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*why = strerror(errno);
			break;
		}
		if (n == 0) {
			if (len == 0)
				*why = "the connection closed without a reply";
			break;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			len = (size_t)(nl - buf);
			break;
		}
	}
	if (*why != NULL) {
		free(buf);
		return false;
	}
	buf[len] = '\0';
	*out = buf;
	return true;
}

/* Append `s` to the string being built in *buf (size *cap, used *len). */
static void ctl_grow_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;
		char *bigger = realloc(*buf, want);

		if (bigger == NULL)
			ctl_out_of_memory();
		*buf = bigger;
		*cap = want;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* A copy of `s` with control characters escaped.  The caller frees it. */
static char *ctl_escape(const char *s)
{
	size_t len = 0, cap = strlen(s) + 1;
	char *buf = ctl_calloc(cap, 1);

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];

		if (ch == '\n')
			ctl_grow_append(&buf, &len, &cap, "\\n", 2);
		else if (ch == '\t')
			ctl_grow_append(&buf, &len, &cap, "\\t", 2);
		else if (ch == '\r')
			ctl_grow_append(&buf, &len, &cap, "\\r", 2);
		else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			ctl_grow_append(&buf, &len, &cap, esc, strlen(esc));
		} else {
			ctl_grow_append(&buf, &len, &cap, s, 1);
		}
	}
	return buf;
}

/*
 * `v` as people read it: strings without quotes, everything else as compact
 * JSON.  Returns a new string the caller frees.
 */
static char *ctl_text(const json_t *v)
{
	char *dump, *text;

	if (json_is_string(v))
		return ctl_escape(json_string_value(v));
	dump = json_dumps(v, CTL_JSON_FLAGS);
	if (dump == NULL)
		ctl_out_of_memory();
	text = ctl_escape(dump);
	free(dump);
	return text;
}

/* Columns a terminal gives `s`: one per UTF-8 character. */
static size_t ctl_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return w;
}

/*
 * Print one table row: cells[c] padded to widths[c], two spaces between
 * columns, no trailing white space.  A NULL cell is empty.
 */
static void ctl_print_row(const char *const *cells, const size_t *widths,
			  const bool *right, size_t ncols)
{
	size_t len = 0, cap = 256, c;
	char *line = ctl_calloc(cap, 1);

	for (c = 0; c < ncols; c++) {
		const char *cell = cells[c] != NULL ? cells[c] : "";
		size_t pad = widths[c] - ctl_width(cell), i;

		if (c > 0)
			ctl_grow_append(&line, &len, &cap, "  ", 2);
		for (i = 0; right[c] && i < pad; i++)
			ctl_grow_append(&line, &len, &cap, " ", 1);
		ctl_grow_append(&line, &len, &cap, cell, strlen(cell));
		for (i = 0; !right[c] && i < pad; i++)
			ctl_grow_append(&line, &len, &cap, " ", 1);
	}
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	puts(line);
	free(line);
}

/* A table being built: cells[row * ncols + col]. */
struct ctl_table {
	const char **cols;   /* column names (borrowed from the JSON) */
	char **headers;      /* cols, escaped for printing */
	size_t ncols;
	size_t nrows;
	char **cells;        /* NULL = the element had no such key */
	size_t *widths;      /* per column, in terminal columns */
	bool *numeric;       /* per column: only numbers, so right-aligned */
};

/* Add column `key` unless the table has it already. */
static void ctl_table_add_col(struct ctl_table *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		if (strcmp(t->cols[i], key) == 0)
			return;
	}
	t->cols[t->ncols++] = key;
}

/*
 * Print array `arr` (member `name` of the reply) as a table.  Elements that
 * are objects give one column per key; if any element is not an object,
 * the table has one column, titled `name`, holding each element.
 */
static void ctl_print_table(const char *name, const json_t *arr)
{
	struct ctl_table t = { 0 };
	size_t maxcols = 0, i, c;
	bool objects = true;
	const json_t *elem;

	t.nrows = json_array_size(arr);
	if (t.nrows == 0) {
		char *shown = ctl_escape(name);

		printf("%s: (none)\n", shown);
		free(shown);
		return;
	}
	json_array_foreach(arr, i, elem) {
		if (!json_is_object(elem))
			objects = false;
		else
			maxcols += json_object_size(elem);
	}
	t.cols = ctl_calloc(objects ? maxcols : 1, sizeof(*t.cols));
	if (objects) {
		json_array_foreach(arr, i, elem) {
			const char *key;
			const json_t *v;

			json_object_foreach((json_t *)elem, key, v)
				ctl_table_add_col(&t, key);
		}
	} else {
		t.cols[t.ncols++] = name;
	}
	t.headers = ctl_calloc(t.ncols, sizeof(*t.headers));
	t.widths = ctl_calloc(t.ncols, sizeof(*t.widths));
	t.numeric = ctl_calloc(t.ncols, sizeof(*t.numeric));
	t.cells = ctl_calloc(t.nrows * t.ncols, sizeof(*t.cells));
	for (c = 0; c < t.ncols; c++) {
		t.headers[c] = ctl_escape(t.cols[c]);
		t.widths[c] = ctl_width(t.headers[c]);
		t.numeric[c] = true;
	}
	json_array_foreach(arr, i, elem) {
		for (c = 0; c < t.ncols; c++) {
			const json_t *v = objects ? json_object_get(elem, t.cols[c]) : elem;
			char *text;

			if (v == NULL)
				continue;
			if (!json_is_number(v))
				t.numeric[c] = false;
			text = ctl_text(v);
			if (ctl_width(text) > t.widths[c])
				t.widths[c] = ctl_width(text);
			t.cells[i * t.ncols + c] = text;
		}
	}
	ctl_print_row((const char *const *)t.headers, t.widths, t.numeric, t.ncols);
	for (i = 0; i < t.nrows; i++)
		ctl_print_row((const char *const *)&t.cells[i * t.ncols], t.widths,
			      t.numeric, t.ncols);

	for (i = 0; i < t.nrows * t.ncols; i++)
		free(t.cells[i]);
	for (c = 0; c < t.ncols; c++)
		free(t.headers[c]);
	free(t.cells);
	free(t.headers);
	free(t.cols);
	free(t.widths);
	free(t.numeric);
}

/*
 * Print member `key` of an object whose own name is `prefix` ("" at the
 * top): "prefix.key: value", or one such line per member if `v` is a
 * non-empty object.
 */
static void ctl_print_member(const char *prefix, const char *key, const json_t *v)
{
	size_t len = strlen(prefix) + strlen(key) + 2;
	char *name = ctl_calloc(len, 1);

	snprintf(name, len, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
	if (json_is_object(v) && json_object_size(v) > 0) {
		const char *k;
		const json_t *m;

		json_object_foreach((json_t *)v, k, m)
			ctl_print_member(name, k, m);
	} else {
		char *shown = ctl_escape(name), *text = ctl_text(v);

		printf("%s: %s\n", shown, text);
		free(shown);
		free(text);
	}
	free(name);
}

/*
 * Print a successful reply for people.  Members other than "ok" print in
 * their order; an array member is a table, set off by a blank line and,
 * when the reply has other members too, titled "name:".
 */
static void ctl_print_reply(const json_t *reply)
{
	const char *key;
	const json_t *v;
	size_t members = json_object_size(reply) - (json_object_get(reply, "ok") != NULL);
	bool printed = false, after_table = false;

	if (members == 0) {
		puts("ok");
		return;
	}
	json_object_foreach((json_t *)reply, key, v) {
		if (strcmp(key, "ok") == 0)
			continue;
		if (json_is_array(v)) {
			if (printed)
				putchar('\n');
			if (members > 1 && json_array_size(v) > 0) {
				char *shown = ctl_escape(key);

				printf("%s:\n", shown);
				free(shown);
			}
			ctl_print_table(key, v);
			after_table = true;
		} else {
			if (after_table)
				putchar('\n');
			after_table = false;
			ctl_print_member("", key, v);
		}
		printed = true;
	}
}

/* Join `argv` with spaces and a final newline.  Returns a new string. */
static char *ctl_command_line(int argc, char **argv)
{
	size_t len = 1, i;
	char *line, *p;

	for (i = 0; i < (size_t)argc; i++)
		len += strlen(argv[i]) + 1;
	line = ctl_calloc(len, 1);
	p = line;
	for (i = 0; i < (size_t)argc; i++) {
		size_t n = strlen(argv[i]);

		if (i > 0)
			*p++ = ' ';
		memcpy(p, argv[i], n);
		p += n;
	}
	*p++ = '\n';
	*p = '\0';
	return line;
}

enum ctl_ask { CTL_ASK_OK, CTL_ASK_NO_CONNECTION, CTL_ASK_TROUBLE };

/*
 * Send the command line, read the reply: a JSON object with a boolean "ok"
 * (*reply, and its text in *line).  CTL_ASK_NO_CONNECTION when the socket
 * cannot be reached (errno says why); CTL_ASK_TROUBLE after saying why.
 */
static enum ctl_ask ctl_ask(const char *socket_path, const char *command, double timeout_s, char **line,
			    json_t **reply)
{
	const char *why;
	json_error_t jerr;
	int fd = ctl_connect(socket_path);

	*line = NULL;
	*reply = NULL;
	if (fd == -1)
		return CTL_ASK_NO_CONNECTION;
	if (timeout_s > 0) {
		/* bounded reads and writes (--wait-for --timeout) */
		struct timeval tv = { (time_t)timeout_s, (suseconds_t)((timeout_s - (double)(time_t)timeout_s) * 1e6) };

		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1000;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (!ctl_send_all(fd, command, strlen(command))) {
		fprintf(stderr, "cutoverctl: cannot send to %s: %s\n", socket_path, strerror(errno));
		close(fd);
		return CTL_ASK_TROUBLE;
	}
	if (!ctl_read_line(fd, line, &why)) {
		fprintf(stderr, "cutoverctl: no reply from %s: %s\n", socket_path, why);
		close(fd);
		return CTL_ASK_TROUBLE;
	}
	close(fd);
	*reply = json_loads(*line, 0, &jerr);
	if (*reply == NULL || !json_is_object(*reply)) {
		fprintf(stderr, "cutoverctl: malformed reply from %s: %s\n", socket_path,
			*reply == NULL ? jerr.text : "not a JSON object");
	} else if (!json_is_boolean(json_object_get(*reply, "ok"))) {
		fprintf(stderr, "cutoverctl: malformed reply from %s: no \"ok\" member\n", socket_path);
	} else {
		return CTL_ASK_OK;
	}
	json_decref(*reply);
	*reply = NULL;
	free(*line);
	*line = NULL;
	return CTL_ASK_TROUBLE;
}

/* Print a reply (see OUTPUT); its exit status. */
static int ctl_show(const json_t *reply, const char *line, bool raw)
{
	bool ok = json_is_true(json_object_get(reply, "ok"));

	if (raw) {
		puts(line);
	} else if (ok) {
		ctl_print_reply(reply);
	} else {
		const json_t *error = json_object_get(reply, "error");
		char *text = json_is_string(error) ? ctl_escape(json_string_value(error)) :
			     error != NULL ? ctl_text(error) : NULL;

		fprintf(stderr, "error: %s\n", text != NULL ? text : "(no message)");
		free(text);
	}
	return ok ? CTL_EXIT_OK : CTL_EXIT_REFUSED;
}

/*
 * The next name of the comma-separated list at *p: its start (*name) and
 * length (*len); false at the list's end.  *p moves past it.
 */
static bool ctl_next_name(const char **p, const char **name, size_t *len)
{
	const char *end;

	if (*p == NULL)
		return false;
	end = strchr(*p, ',');
	*name = *p;
	*len = end != NULL ? (size_t)(end - *p) : strlen(*p);
	*p = end != NULL ? end + 1 : NULL;
	return true;
}

/* Is `state` one of the comma-separated `states`? */
static bool ctl_state_in(const char *state, const char *states)
{
	const char *name;
	size_t len;

	while (ctl_next_name(&states, &name, &len))
		if (len == strlen(state) && strncmp(name, state, len) == 0)
			return true;
	return false;
}

/* A member of the reply that is a number, or -1. */
static double ctl_num(const json_t *reply, const char *key)
{
	const json_t *v = json_object_get(reply, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/*
 * The progress line of a reply while waiting: the time, the state, and
 * what a deploy request's reply says of its progress, when it says it:
 *   12:00:03  copying (backfill)  45.2%  452000/1000000 rows  120455 rows/s  ETA 5 s
 */
static char *ctl_progress(const json_t *reply)
{
	const char *state = json_string_value(json_object_get(reply, "state"));
	const char *step = json_string_value(json_object_get(reply, "step"));
	const char *thr = json_string_value(json_object_get(reply, "throttle_reason"));
	double pct = ctl_num(reply, "progress_pct"), copied = ctl_num(reply, "rows_copied");
	double total = ctl_num(reply, "rows_total"), rate = ctl_num(reply, "copy_rate");
	double eta = ctl_num(reply, "eta_s");
	char *buf = NULL, *clean;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		ctl_out_of_memory();
	fputs(state != NULL ? state : "?", f);
	if (step != NULL)
		fprintf(f, " (%s)", step);
	if (pct >= 0)
		fprintf(f, "  %.1f%%", pct);
	if (copied >= 0 && total >= 0)
		fprintf(f, "  %.0f/%.0f rows", copied, total);
	if (rate > 0 && state != NULL && strcmp(state, "copying") == 0)
		fprintf(f, "  %.0f rows/s", rate);
	if (eta >= 0)
		fprintf(f, "  ETA %.0f s", eta);
	if (json_is_true(json_object_get(reply, "throttled")) && thr != NULL && thr[0] != '\0')
		fprintf(f, "  throttled: %s", thr);
	if (fclose(f) != 0)
		ctl_out_of_memory();
	clean = ctl_escape(buf);
	free(buf);
	return clean;
}

static double ctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The states of a deploy request; "pre" ones are never seen again once a
   cut-over has started. */
static const char *const ctl_states[] = {
	"queued", "copying", "verifying", "ready",
	"cutting_over", "complete", "reverting", "reverted", "cancelled", "failed", NULL
};
#define CTL_PRE_STATES 4

static int ctl_state_index(const char *state, size_t n)
{
	for (int i = 0; ctl_states[i] != NULL; i++)
		if (strlen(ctl_states[i]) == n && strncmp(ctl_states[i], state, n) == 0)
			return i;
	return -1;
}

/* Every comma-separated name in `states` is a state; false after saying which is not. */
static bool ctl_states_valid(const char *states)
{
	const char *name;
	size_t len;

	while (ctl_next_name(&states, &name, &len))
		if (ctl_state_index(name, len) < 0) {
			fprintf(stderr, "cutoverctl: --wait-for: '%.*s' is not a state (queued, copying, verifying, "
				"ready, cutting_over, complete, reverting, reverted, cancelled, failed)\n", (int)len, name);
			return false;
		}
	return true;
}

/*
 * Can the deploy request, in `state` (its reply: reply), still reach one
 * of `states`?  Not from cancelled or failed, nor from complete or
 * reverted once the revert window is closed; nor a state up to ready from
 * complete, reverting or reverted.
 */
static bool ctl_reachable(const json_t *reply, const char *state, const char *states)
{
	int at = ctl_state_index(state, strlen(state));
	bool window = json_is_true(json_object_get(reply, "window_open"));
	const char *name;
	size_t len;

	if (at < 0)
		return true;              /* a state this cutoverctl does not know */
	if (strcmp(state, "cancelled") == 0 || strcmp(state, "failed") == 0 ||
	    ((strcmp(state, "complete") == 0 || strcmp(state, "reverted") == 0) && !window))
		return false;
	if (at < CTL_PRE_STATES || strcmp(state, "cutting_over") == 0)
		return true;      /* (an attempt that fails goes back to ready) */
	while (ctl_next_name(&states, &name, &len))
		if (ctl_state_index(name, len) >= CTL_PRE_STATES)
			return true;
	return false;
}

/*
 * --wait-for: ask until the reply's state is one of `states`.  Once
 * cutoverd has answered, a failure to reach it or to get a reply, and an
 * answer that its catalog is still loading, are waited out (a restart:
 * deploy requests survive it); before that, they end the wait.  The
 * timeout bounds everything, the tries' reads and writes too.
 */
static int ctl_wait(const char *socket_path, const char *command, bool raw, const char *states,
		    long interval_ms, double timeout_s)
{
	double start = ctl_now();
	char *last = NULL;
	bool answered = false, away = false;
	int status = -1;

	while (status < 0) {
		double left = timeout_s > 0 ? timeout_s - (ctl_now() - start) : 0;
		char *line = NULL;
		json_t *reply = NULL;
		const char *state;
		enum ctl_ask r;

		if (timeout_s > 0 && left <= 0) {
			fprintf(stderr, "cutoverctl: timed out after %g s waiting for %s\n", timeout_s, states);
			status = CTL_EXIT_TIMEOUT;
			break;
		}
		r = ctl_ask(socket_path, command, left, &line, &reply);
		if (r != CTL_ASK_OK && !answered) {
			if (r == CTL_ASK_NO_CONNECTION)
				fprintf(stderr, "cutoverctl: cannot connect to %s: %s (is cutoverd running?)\n",
					socket_path, strerror(errno));
			status = CTL_EXIT_TROUBLE;
			break;
		}
		if (r != CTL_ASK_OK || json_is_true(json_object_get(reply, "loading"))) {
			if (!away)
				fprintf(stderr, "cutoverctl: %s: trying again\n",
					r == CTL_ASK_NO_CONNECTION ? "cutoverd cannot be reached" :
					r == CTL_ASK_TROUBLE ? "no answer" : "its deploy catalog is not loaded yet");
			away = true;
		} else {
			away = false;
			answered = true;
			state = json_string_value(json_object_get(reply, "state"));
			if (!json_is_true(json_object_get(reply, "ok"))) {
				status = ctl_show(reply, line, raw);
			} else if (state == NULL) {
				fprintf(stderr, "cutoverctl: the reply has no \"state\" to wait for\n");
				status = CTL_EXIT_TROUBLE;
			} else if (ctl_state_in(state, states)) {
				status = ctl_show(reply, line, raw);
			} else if (!ctl_reachable(reply, state, states)) {
				(void)ctl_show(reply, line, raw);
				fprintf(stderr, "cutoverctl: the state is %s, from which %s cannot be reached\n", state,
					states);
				status = CTL_EXIT_REFUSED;
			} else {
				char *progress = ctl_progress(reply);

				if (last == NULL || strcmp(progress, last) != 0) {
					time_t now = time(NULL);
					struct tm tm;
					char hms[16];

					localtime_r(&now, &tm);
					strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
					fprintf(stderr, "%s  %s\n", hms, progress);
					free(last);
					last = progress;
				} else {
					free(progress);
				}
			}
		}
		json_decref(reply);
		free(line);
		if (status < 0) {
			/* the next try, or the timeout, whichever comes first */
			double wait_s = (double)interval_ms / 1000.0;
			struct timespec ts;

			if (timeout_s > 0) {
				left = timeout_s - (ctl_now() - start);
				if (left < wait_s)
					wait_s = left > 0 ? left : 0;
			}
			ts.tv_sec = (time_t)wait_s;
			ts.tv_nsec = (long)((wait_s - (double)ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);
		}
	}
	free(last);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "wait-for", required_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = getenv("CUTOVER_ADMIN_SOCKET");
	const char *wait_for = NULL;
	long interval_ms = 1000;
	double timeout_s = 0;
	bool raw = false;
	char *command, *reply_line, *end;
	json_t *reply;
	int opt, i, status;

	if (socket_path == NULL || socket_path[0] == '\0')
		socket_path = CONF_DEFAULT_ADMIN_SOCKET;
	while ((opt = getopt_long(argc, argv, "+s:jw:i:t:hV", long_options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'w':
			if (optarg[0] == '\0' || strpbrk(optarg, " \t\r\n") != NULL) {
				fputs("cutoverctl: --wait-for needs states separated by commas, like ready,complete\n",
				      stderr);
				return CTL_EXIT_TROUBLE;
			}
			if (!ctl_states_valid(optarg))
				return CTL_EXIT_TROUBLE;
			wait_for = optarg;
			break;
		case 'i':
			errno = 0;
			interval_ms = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || interval_ms < 10 || interval_ms > 3600000) {
				fputs("cutoverctl: --interval is milliseconds, 10 to 3600000\n", stderr);
				return CTL_EXIT_TROUBLE;
			}
			break;
		case 't':
			errno = 0;
			timeout_s = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(timeout_s > 0) || timeout_s > 1e9) {
				fputs("cutoverctl: --timeout is seconds, more than 0\n", stderr);
				return CTL_EXIT_TROUBLE;
			}
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("cutoverctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return CTL_EXIT_OK;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_TROUBLE;
		}
	}
	if (optind >= argc) {
		fputs("cutoverctl: no command given\n", stderr);
		ctl_usage(stderr);
		return CTL_EXIT_TROUBLE;
	}
	for (i = optind; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n") != NULL) {
			fputs("cutoverctl: a command cannot contain a line break\n", stderr);
			return CTL_EXIT_TROUBLE;
		}
	}

	if (wait_for == NULL && (interval_ms != 1000 || timeout_s > 0)) {
		fputs("cutoverctl: --interval and --timeout go with --wait-for\n", stderr);
		return CTL_EXIT_TROUBLE;
	}
	/* the command is sent again and again: only a read, never one that
	   changes something (a second deploy create, cutover, ...) */
	if (wait_for != NULL && (argc - optind != 3 || strcmp(argv[optind], "deploy") != 0 ||
				 strcmp(argv[optind + 1], "show") != 0)) {
		fputs("cutoverctl: --wait-for goes with 'deploy show ID' (it is sent again until the state is "
		      "reached)\n", stderr);
		return CTL_EXIT_TROUBLE;
	}
	command = ctl_command_line(argc - optind, argv + optind);
	if (wait_for != NULL) {
		status = ctl_wait(socket_path, command, raw, wait_for, interval_ms, timeout_s);
	} else {
		switch (ctl_ask(socket_path, command, 0, &reply_line, &reply)) {
		case CTL_ASK_OK:
			status = ctl_show(reply, reply_line, raw);
			json_decref(reply);
			free(reply_line);
			break;
		case CTL_ASK_NO_CONNECTION:
			fprintf(stderr, "cutoverctl: cannot connect to %s: %s (is cutoverd running?)\n",
				socket_path, strerror(errno));
			status = CTL_EXIT_TROUBLE;
			break;
		default:
			status = CTL_EXIT_TROUBLE;
			break;
		}
	}
	free(command);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "cutoverctl: cannot write the output: %s\n", strerror(errno));
		return CTL_EXIT_TROUBLE;
	}
	return status;
}
