/*
 * test_conf.c - unit test of the configuration module (conf/).
 *
 * Checks the option table against the spec and against the sample ini and
 * doc/configuration.md (help text, defaults, bounds, reloadability), then
 * loads good and malformed ini files and checks the exact error messages,
 * then the reload diff.  Plain C, no framework: prints "ok N - ..." or
 * "not ok N - ..." per check and exits 1 if any check failed.  Temporary
 * files live in a mkdtemp() directory that is removed at the end.
 *
 * TEST_SAMPLE_INI and TEST_CONF_DOC are the paths of conf/cutoverd.ini and
 * doc/configuration.md, passed by the build.
 */
#include "conf/conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TEST_SAMPLE_INI
#error "TEST_SAMPLE_INI must name conf/cutoverd.ini"
#endif
#ifndef TEST_CONF_DOC
#error "TEST_CONF_DOC must name doc/configuration.md"
#endif

static int test_count;
static int test_failed;
static char test_dir[] = "/tmp/test_conf.XXXXXX";
static char test_ini[sizeof(test_dir) + 16];

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
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

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void write_ini(const char *text)
{
	FILE *fp = fopen(test_ini, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		perror(test_ini);
		exit(2);
	}
}

/* The value of option `o` in `c`, written as in the ini. */
static const char *value_text(const struct conf *c, const struct conf_option *o,
			      char *buf, size_t len)
{
	const char *field = (const char *)c + o->offset;
	int v;

	switch (o->type) {
	case CONF_STRING:
		return *(char *const *)field;
	case CONF_INT:
		snprintf(buf, len, "%d", *(const int *)field);
		return buf;
	case CONF_BOOL:
		return *(const bool *)field ? "true" : "false";
	case CONF_ENUM:
		v = *(const int *)field;
		return conf_enum_name(o->section, o->name, v);
	}
	return "?";
}

/* Collapse runs of white space to one space and trim, in place. */
static char *squeeze(char *s)
{
	char *r = s, *w = s;

	while (*r != '\0') {
		if (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r') {
			while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
				r++;
			if (w != s && *r != '\0')
				*w++ = ' ';
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return s;
}

static void append(char *dst, size_t len, const char *text)
{
	size_t used = strlen(dst);

	snprintf(dst + used, len - used, "%s%s", used > 0 ? " " : "", text);
}

static bool all_defaults(const struct conf *c, const char *what)
{
	char buf[32];
	size_t i;
	bool ok = true;

	for (i = 0; i < conf_options_count; i++) {
		const struct conf_option *o = &conf_options[i];
		const char *v = value_text(c, o, buf, sizeof(buf));

		if (v == NULL || strcmp(v, o->def) != 0) {
			diag("%s: [%s] %s is '%s', default '%s'", what, o->section,
			     o->name, v != NULL ? v : "(null)", o->def);
			ok = false;
		}
	}
	return ok;
}

static void test_table(void)
{
	unsigned char covered[sizeof(struct conf)] = { 0 };
	size_t i, j, run = 0;
	bool unique = true, sane = true, overlap = false, gap = false;

	for (i = 0; i < conf_options_count; i++) {
		const struct conf_option *o = &conf_options[i];
		size_t size = o->type == CONF_STRING ? sizeof(char *) :
			      o->type == CONF_BOOL ? sizeof(bool) : sizeof(int);

		for (j = i + 1; j < conf_options_count; j++) {
			if (strcmp(o->section, conf_options[j].section) == 0 &&
			    strcmp(o->name, conf_options[j].name) == 0) {
				diag("[%s] %s is in the table twice", o->section, o->name);
				unique = false;
			}
		}
		if (o->help == NULL || o->help[0] == '\0' || o->def == NULL ||
		    (o->type == CONF_INT && o->min > o->max) ||
		    (o->type == CONF_ENUM && (o->enum_names == NULL || o->enum_names[0] == NULL))) {
			diag("[%s] %s: help, default, bounds or names missing", o->section, o->name);
			sane = false;
		}
		for (j = o->offset; j < o->offset + size && j < sizeof(covered); j++) {
			if (covered[j])
				overlap = true;
			covered[j] = 1;
		}
	}
	/* A gap as wide as a pointer is a field without an option. */
	for (i = 0; i <= sizeof(covered); i++) {
		if (i < sizeof(covered) && !covered[i]) {
			run++;
			continue;
		}
		if (run >= sizeof(void *)) {
			diag("bytes %zu..%zu of struct conf have no option", i - run, i - 1);
			gap = true;
		}
		run = 0;
	}
	check(unique, "table: each [section] key appears once");
	check(sane, "table: every option has help, a default, bounds or names");
	check(!overlap, "table: no two options share a field");
	check(!gap, "table: every field of struct conf has an option");
	check(conf_option_find("proxy", "listen") != NULL &&
	      conf_option_find("proxy", "nosuch") == NULL &&
	      conf_option_find("backend", "listen") == NULL,
	      "conf_option_find looks up by section and key");
}

static void test_defaults(void)
{
	struct conf c;

	conf_defaults(&c);
	check(all_defaults(&c, "conf_defaults"), "defaults: every field equals the table's default");
	check(strcmp(c.listen, "127.0.0.1:6033") == 0 &&
	      strcmp(c.admin_socket, "/run/cutoverd/admin.sock") == 0 &&
	      strcmp(c.admin_socket, CONF_DEFAULT_ADMIN_SOCKET) == 0 &&
	      c.metrics_listen[0] == '\0' && c.max_clients == 10000 &&
	      c.handshake_timeout_ms == 10000 && c.client_idle_timeout_s == 0 &&
	      c.client_idle_in_trans_timeout_s == 0 && c.shutdown_timeout_ms == 30000 &&
	      c.max_packet_size == 1073741824 && c.client_tls == TLS_CLIENT_DISABLED &&
	      c.client_tls_cert[0] == '\0' && c.client_tls_key[0] == '\0',
	      "defaults: [proxy] as specified");
	check(strcmp(c.backend_host, "127.0.0.1") == 0 && c.backend_port == 3306 &&
	      c.backend_connect_timeout_ms == 5000 && c.backend_tls == TLS_BACKEND_DISABLED &&
	      c.backend_tls_ca[0] == '\0',
	      "defaults: [backend] as specified");
	check(strcmp(c.cutover_user, "cutover") == 0 && c.cutover_password[0] == '\0' &&
	      c.log_level == LOG_INFO && c.log_file[0] == '\0' &&
	      c.debug_inject_before[0] == '\0' && c.debug_inject_after[0] == '\0',
	      "defaults: [cutover], [log], [debug] as specified");
	conf_free(&c);
	check(c.listen == NULL && c.debug_inject_after == NULL, "conf_free clears the pointers");
	conf_free(&c); /* twice is harmless */
}

static void test_enum_names(void)
{
	static const struct {
		const char *section, *name;
		int value;
		const char *text;
	} cases[] = {
		{ "proxy", "client_tls", TLS_CLIENT_DISABLED, "disabled" },
		{ "proxy", "client_tls", TLS_CLIENT_OPTIONAL, "optional" },
		{ "proxy", "client_tls", TLS_CLIENT_REQUIRED, "required" },
		{ "backend", "tls", TLS_BACKEND_DISABLED, "disabled" },
		{ "backend", "tls", TLS_BACKEND_PREFERRED, "preferred" },
		{ "backend", "tls", TLS_BACKEND_REQUIRED, "required" },
		{ "backend", "tls", TLS_BACKEND_VERIFY_CA, "verify-ca" },
		{ "backend", "tls", TLS_BACKEND_VERIFY_IDENTITY, "verify-identity" },
		{ "log", "level", LOG_ERROR, "error" },
		{ "log", "level", LOG_WARNING, "warning" },
		{ "log", "level", LOG_INFO, "info" },
		{ "log", "level", LOG_DEBUG, "debug" },
		{ "log", "level", 4, "?" },
		{ "log", "level", -1, "?" },
		{ "proxy", "listen", 0, "?" },
		{ "nosuch", "level", 0, "?" },
	};
	size_t i;
	bool ok = true;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = conf_enum_name(cases[i].section, cases[i].name, cases[i].value);

		if (strcmp(got, cases[i].text) != 0) {
			diag("[%s] %s value %d: '%s', want '%s'", cases[i].section,
			     cases[i].name, cases[i].value, got, cases[i].text);
			ok = false;
		}
	}
	check(ok, "conf_enum_name: names follow the order of the C enums");
}

static const char *expected_ini_comment(const struct conf_option *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", o->help, o->reloadable ? "" : " Changing it needs a restart.");
	return squeeze(buf);
}

static void test_sample_ini(void)
{
	struct conf c;
	char err[512], section[64] = "", comment[2048] = "", want[2048];
	int seen[64] = { 0 };
	char *line = NULL;
	size_t cap = 0, i;
	bool known = true, comments = true, values = true, once = true;
	FILE *fp;

	check(conf_options_count <= sizeof(seen) / sizeof(seen[0]), "test can track every option");
	check(conf_load(&c, TEST_SAMPLE_INI, err, sizeof(err)), "sample ini loads (%s)",
	      err[0] != '\0' ? err : "no error");
	check(all_defaults(&c, "sample ini"), "sample ini yields the defaults");
	conf_free(&c);

	fp = fopen(TEST_SAMPLE_INI, "r");
	check(fp != NULL, "sample ini opens");
	if (fp == NULL)
		return;
	while (getline(&line, &cap, fp) != -1) {
		char *s = squeeze(line), *eq;
		const struct conf_option *o;

		if (s[0] == '\0') {
			comment[0] = '\0';
		} else if (s[0] == ';' || s[0] == '#') {
			append(comment, sizeof(comment), s + 1);
		} else if (s[0] == '[') {
			snprintf(section, sizeof(section), "%.*s", (int)strcspn(s + 1, "]"), s + 1);
			comment[0] = '\0';
		} else if ((eq = strchr(s, '=')) != NULL) {
			char *key = s, *value = eq + 1;

			*eq = '\0';
			squeeze(key);
			squeeze(value);
			o = conf_option_find(section, key);
			if (o == NULL) {
				diag("sample ini: [%s] %s is not in the table", section, key);
				known = false;
				comment[0] = '\0';
				continue;
			}
			if (++seen[o - conf_options] > 1)
				once = false;
			if (strcmp(squeeze(comment), expected_ini_comment(o, want, sizeof(want))) != 0) {
				diag("sample ini: [%s] %s: comment is '%s'", section, key, comment);
				diag("                   the table says '%s'", want);
				comments = false;
			}
			if (strcmp(value, o->def) != 0) {
				diag("sample ini: [%s] %s = '%s', default '%s'", section, key, value, o->def);
				values = false;
			}
			comment[0] = '\0';
		}
	}
	free(line);
	fclose(fp);
	for (i = 0; i < conf_options_count; i++) {
		if (seen[i] == 0 && i < sizeof(seen) / sizeof(seen[0])) {
			diag("sample ini: [%s] %s is missing", conf_options[i].section,
			     conf_options[i].name);
			once = false;
		}
	}
	check(once, "sample ini: every option of the table appears once");
	check(known, "sample ini: no key outside the table");
	check(comments, "sample ini: the comment above each key is the table's help");
	check(values, "sample ini: each key is set to the table's default");
}

/* One "### `name`" block of doc/configuration.md. */
struct doc_entry {
	const struct conf_option *o;
	char type[256], def[256], reload[32], help[2048];
	bool para_done;
};

static void expected_doc_type(const struct conf_option *o, char *buf, size_t len)
{
	size_t used;
	int i;

	switch (o->type) {
	case CONF_STRING:
		snprintf(buf, len, "string");
		return;
	case CONF_INT:
		snprintf(buf, len, "integer, %d..%d", o->min, o->max);
		return;
	case CONF_BOOL:
		snprintf(buf, len, "boolean");
		return;
	case CONF_ENUM:
		used = (size_t)snprintf(buf, len, "one of");
		for (i = 0; o->enum_names[i] != NULL && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s `%s`",
						 i > 0 ? "," : "", o->enum_names[i]);
		return;
	}
}

static bool doc_entry_check(const struct doc_entry *e)
{
	const struct conf_option *o = e->o;
	char type[256], def[256], help[2048];
	bool ok = true;

	expected_doc_type(o, type, sizeof(type));
	if (o->def[0] == '\0')
		snprintf(def, sizeof(def), "empty");
	else
		snprintf(def, sizeof(def), "`%s`", o->def);
	snprintf(help, sizeof(help), "%s", o->help);
	squeeze(help);
	if (strcmp(e->type, type) != 0) {
		diag("doc: [%s] %s: Type '%s', the table says '%s'", o->section, o->name, e->type, type);
		ok = false;
	}
	if (strcmp(e->def, def) != 0) {
		diag("doc: [%s] %s: Default '%s', the table says '%s'", o->section, o->name, e->def, def);
		ok = false;
	}
	if (strcmp(e->reload, o->reloadable ? "yes" : "no") != 0) {
		diag("doc: [%s] %s: Reloadable '%s', the table says '%s'", o->section, o->name,
		     e->reload, o->reloadable ? "yes" : "no");
		ok = false;
	}
	if (strcmp(e->help, help) != 0) {
		diag("doc: [%s] %s: text '%s'", o->section, o->name, e->help);
		diag("      the table says '%s'", help);
		ok = false;
	}
	return ok;
}

static void test_doc(void)
{
	struct doc_entry e = { 0 };
	char section[64] = "";
	int seen[64] = { 0 };
	char *line = NULL;
	size_t cap = 0, i;
	bool known = true, agree = true, once = true;
	FILE *fp = fopen(TEST_CONF_DOC, "r");

	check(fp != NULL, "doc/configuration.md opens");
	if (fp == NULL)
		return;
	for (;;) {
		bool eof = getline(&line, &cap, fp) == -1;
		char *s = eof ? NULL : squeeze(line);

		if (eof || strncmp(s, "##", 2) == 0) {
			if (e.o != NULL && !doc_entry_check(&e))
				agree = false;
			memset(&e, 0, sizeof(e));
		}
		if (eof)
			break;
		if (strncmp(s, "## ", 3) == 0) {
			if (sscanf(s, "## [%63[^]]]", section) != 1)
				section[0] = '\0';
		} else if (strncmp(s, "### ", 4) == 0) {
			char name[64];

			if (sscanf(s, "### `%63[^`]`", name) != 1 || section[0] == '\0')
				continue;
			e.o = conf_option_find(section, name);
			if (e.o == NULL) {
				diag("doc: [%s] %s is not in the table", section, name);
				known = false;
			} else if (++seen[e.o - conf_options] > 1) {
				once = false;
			}
		} else if (e.o == NULL) {
			continue;
		} else if (strncmp(s, "- Type: ", 8) == 0) {
			snprintf(e.type, sizeof(e.type), "%s", s + 8);
		} else if (strncmp(s, "- Default: ", 11) == 0) {
			snprintf(e.def, sizeof(e.def), "%s", s + 11);
		} else if (strncmp(s, "- Reloadable: ", 14) == 0) {
			snprintf(e.reload, sizeof(e.reload), "%s", s + 14);
		} else if (s[0] == '\0') {
			if (e.help[0] != '\0')
				e.para_done = true;
		} else if (!e.para_done) {
			append(e.help, sizeof(e.help), s);
		}
	}
	free(line);
	fclose(fp);
	for (i = 0; i < conf_options_count && i < sizeof(seen) / sizeof(seen[0]); i++) {
		if (seen[i] == 0) {
			diag("doc: [%s] %s is missing", conf_options[i].section, conf_options[i].name);
			once = false;
		}
	}
	check(once, "doc: every option of the table is documented once");
	check(known, "doc: documents no option outside the table");
	check(agree, "doc: type, default, reloadable and help agree with the table");
}

static void test_good_file(void)
{
	struct conf c;
	char err[512];
	bool ok;

	write_ini("# a comment\n"
		  "; another\n"
		  "\n"
		  "[proxy]\n"
		  "  listen = 0.0.0.0:3307\n"
		  "max_clients = 5 ; inline comment\n"
		  "\tclient_tls = Optional\n"
		  "client_tls_cert = /etc/c.pem\r\n"
		  "client_tls_key=/etc/k.pem\n"
		  "max_packet_size = 1024\n"
		  "[backend]\n"
		  "tls = verify-identity\n"
		  "tls_ca = /etc/ca.pem\n"
		  "port = 65535\n"
		  "[cutover]\n"
		  "password = s3cr=t\n"
		  "[log]\n"
		  "level = debug\n"
		  "[debug]\n"
		  "inject_before = SELECT 1\n"
		  "inject_after = \n");
	ok = conf_load(&c, test_ini, err, sizeof(err));
	check(ok, "a good file loads (%s)", ok ? "no error" : err);
	check(strcmp(c.listen, "0.0.0.0:3307") == 0, "an indented key is a key, not a continuation");
	check(c.max_clients == 5, "an inline ' ;' comment is stripped");
	check(c.client_tls == TLS_CLIENT_OPTIONAL, "enum names match without regard to case");
	check(strcmp(c.client_tls_cert, "/etc/c.pem") == 0, "CRLF line ends are stripped");
	check(strcmp(c.client_tls_key, "/etc/k.pem") == 0, "no spaces around '=' is fine");
	check(c.max_packet_size == 1024 && c.backend_port == 65535, "bounds are inclusive");
	check(c.backend_tls == TLS_BACKEND_VERIFY_IDENTITY && strcmp(c.backend_tls_ca, "/etc/ca.pem") == 0,
	      "[backend] tls and tls_ca are read");
	check(strcmp(c.cutover_password, "s3cr=t") == 0, "a value may contain '='");
	check(c.log_level == LOG_DEBUG, "[log] level is read");
	check(strcmp(c.debug_inject_before, "SELECT 1") == 0 && c.debug_inject_after[0] == '\0',
	      "[debug] hooks are read; an empty value is empty");
	check(strcmp(c.backend_host, "127.0.0.1") == 0 && c.shutdown_timeout_ms == 30000,
	      "options not in the file keep their defaults");
	conf_free(&c);
}

/* Load `text`; expect failure with exactly "<file>:<tail>". */
static void expect_error(const char *desc, const char *text, const char *tail)
{
	struct conf c;
	char err[512], want[512];
	bool ok;

	write_ini(text);
	snprintf(want, sizeof(want), "%s:%s", test_ini, tail);
	ok = conf_load(&c, test_ini, err, sizeof(err));
	check(!ok && strcmp(err, want) == 0, "error: %s", desc);
	if (ok || strcmp(err, want) != 0) {
		diag("got  '%s'", ok ? "(loaded)" : err);
		diag("want '%s'", want);
	}
	conf_free(&c);
}

static void test_errors(void)
{
	struct conf c;
	char err[512], want[512], longline[400], tiny[8];

	expect_error("unknown key, with a suggestion",
		     "[proxy]\nlisen = 127.0.0.1:1\n",
		     "2: unknown option [proxy] lisen (did you mean listen?)");
	expect_error("unknown key",
		     "[proxy]\nlisten = x\nfrobnicate = 1\n",
		     "3: unknown option [proxy] frobnicate");
	expect_error("unknown section, at its header",
		     "[proxy]\nlisten = x\n[nosuch]\n\nkey = 1\n",
		     "3: unknown section [nosuch]");
	expect_error("key before any section",
		     "listen = x\n",
		     "1: option 'listen' is outside any [section]");
	expect_error("not an integer",
		     "[proxy]\nmax_clients = lots\n",
		     "2: [proxy] max_clients: 'lots' is not an integer");
	expect_error("trailing garbage after an integer",
		     "[proxy]\nmax_clients = 10k\n",
		     "2: [proxy] max_clients: '10k' is not an integer");
	expect_error("empty integer",
		     "[backend]\nport =\n",
		     "2: [backend] port: '' is not an integer");
	expect_error("out of range",
		     "; line 1\n;\n;\n;\n;\n[backend]\nport = 99999\n",
		     "7: [backend] port: '99999' is out of range 1..65535");
	expect_error("below the minimum",
		     "[proxy]\nmax_packet_size = 100\n",
		     "2: [proxy] max_packet_size: '100' is out of range 1024..1073741824");
	expect_error("negative",
		     "[proxy]\nmax_clients = -1\n",
		     "2: [proxy] max_clients: '-1' is out of range 0..1000000");
	expect_error("beyond long",
		     "[proxy]\nmax_clients = 99999999999999999999999\n",
		     "2: [proxy] max_clients: '99999999999999999999999' is out of range 0..1000000");
	expect_error("bad enum lists the names",
		     "[backend]\ntls = maybe\n",
		     "2: [backend] tls: 'maybe' is not one of disabled, preferred, required, "
		     "verify-ca, verify-identity");
	expect_error("line without '='",
		     "[proxy]\nlisten = x\njunk\n",
		     "3: syntax error: expected '[section]', 'key = value' or a comment");
	expect_error("section header without ']'",
		     "[proxy\nlisten = x\n",
		     "1: syntax error: expected '[section]', 'key = value' or a comment");
	expect_error("the first error wins",
		     "[proxy]\njunk\nlisen = 1\n",
		     "2: syntax error: expected '[section]', 'key = value' or a comment");
	expect_error("a key set twice",
		     "[proxy]\nlisten = a\nlisten = b\n",
		     "3: [proxy] listen: set again (first set on line 2)");
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "[log]\nfile = ", 13);
	strcpy(longline + 300, "\n");
	expect_error("a line too long for inih is refused, not cut",
		     longline, "2: line is longer than 199 characters");
	expect_error("client_tls without certificate",
		     "[proxy]\nclient_tls = required\nclient_tls_cert = /c.pem\n",
		     "2: [proxy] client_tls: 'required' needs client_tls_cert and client_tls_key");
	expect_error("verify-ca without tls_ca",
		     "[backend]\ntls = verify-ca\n",
		     "2: [backend] tls: 'verify-ca' needs tls_ca");

	snprintf(want, sizeof(want), "%s/nosuch.ini: cannot open: %s", test_dir, strerror(ENOENT));
	snprintf(test_ini + strlen(test_dir), sizeof(test_ini) - strlen(test_dir), "/nosuch.ini");
	check(!conf_load(&c, test_ini, err, sizeof(err)) && strcmp(err, want) == 0,
	      "error: a missing file says so (%s)", err);
	conf_free(&c);
	snprintf(test_ini + strlen(test_dir), sizeof(test_ini) - strlen(test_dir), "/test.ini");

	write_ini("[proxy]\nlisten = x\nbad\n");
	check(!conf_load(&c, test_ini, tiny, sizeof(tiny)) && strlen(tiny) == sizeof(tiny) - 1,
	      "error: a short buffer gets a cut, terminated message");
	conf_free(&c);
}

static void test_diff(void)
{
	struct conf a, b;
	char out[256], tiny[10];
	int n;

	conf_defaults(&a);
	conf_defaults(&b);
	n = conf_diff_restart_only(&a, &b, out, sizeof(out));
	check(n == 0 && out[0] == '\0', "diff: equal configurations differ in nothing");

	free(b.listen);
	b.listen = strdup("0.0.0.0:1");
	free(b.cutover_password);
	b.cutover_password = strdup("new");
	b.client_tls = TLS_CLIENT_REQUIRED;
	b.log_level = LOG_DEBUG;
	b.backend_port = 3307;
	b.max_clients = 1;
	free(b.debug_inject_after);
	b.debug_inject_after = strdup("SELECT 2");
	n = conf_diff_restart_only(&a, &b, out, sizeof(out));
	check(n == 3 && strcmp(out, "proxy.listen, proxy.client_tls, cutover.password") == 0,
	      "diff: names the changed options that need a restart (%d: %s)", n, out);
	n = conf_diff_restart_only(&a, &b, tiny, sizeof(tiny));
	check(n == 3 && strcmp(tiny, "proxy.lis") == 0, "diff: a short buffer is cut, the count is whole");
	check(conf_diff_restart_only(&a, &b, NULL, 0) == 3, "diff: counts without a buffer");
	conf_free(&a);
	conf_free(&b);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(test_ini, sizeof(test_ini), "%s/test.ini", test_dir);

	test_table();
	test_defaults();
	test_enum_names();
	test_sample_ini();
	test_doc();
	test_good_file();
	test_errors();
	test_diff();

	unlink(test_ini);
	rmdir(test_dir);
	printf("1..%d\n", test_count);
	if (test_failed > 0)
		printf("# %d of %d checks failed\n", test_failed, test_count);
	return test_failed > 0 ? 1 : 0;
}
