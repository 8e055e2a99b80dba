/*
 * conf.c - reading cutoverd.ini over the defaults, and comparing two
 * configurations on reload.  The options themselves live in options.c;
 * nothing here knows a particular option except the consistency checks at
 * the end of a load (conf_check_consistency).
 *
 * inih does the parsing, fed by our own line reader.  The reader
 *   - counts lines, so every error can name its line;
 *   - strips leading white space, so an indented "key = value" is a key and
 *     never inih's continuation of the previous value (multi-line values
 *     are not supported);
 *   - refuses a line longer than inih's line buffer, which inih would
 *     otherwise cut and parse as two lines.
 * Parsing stops at the first error we find; only the first error is
 * reported.
 */
#include "conf/conf.h"

#include <ini.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Enum fields are read and written through int *. */
_Static_assert(sizeof(enum tls_client_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tls_backend_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");

/* State of one conf_load(). */
struct conf_loader {
	struct conf *c;
	const char *path;
	FILE *fp;
	char *line;          /* getline() buffer */
	size_t line_cap;
	int lineno;          /* line last handed to inih */
	int section_lineno;  /* line of the last "[section]" header */
	int *set_on;         /* per option: line that set it, 0 = not set */
	int error_lineno;    /* line at which we recorded an error, 0 = none */
	char *err;
	size_t errlen;
};

static void *conf_field(struct conf *c, const struct conf_option *o)
{
	return (char *)c + o->offset;
}

static const void *conf_field_const(const struct conf *c, const struct conf_option *o)
{
	return (const char *)c + o->offset;
}

/* strdup() that does not fail: out of memory while configuring is fatal. */
static char *conf_strdup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL) {
		fputs("cutover: out of memory\n", stderr);
		abort();
	}
	return copy;
}

const struct conf_option *conf_option_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < conf_options_count; i++) {
		if (strcmp(conf_options[i].section, section) == 0 &&
		    strcmp(conf_options[i].name, name) == 0)
			return &conf_options[i];
	}
	return NULL;
}

static bool conf_section_exists(const char *section)
{
	size_t i;

	for (i = 0; i < conf_options_count; i++) {
		if (strcmp(conf_options[i].section, section) == 0)
			return true;
	}
	return false;
}

/* Parse a decimal int within [o->min, o->max]; "reason" says why not. */
static bool conf_parse_int(const struct conf_option *o, const char *value, int *out,
			   char *reason, size_t reasonlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (end == value || *end != '\0' || isspace((unsigned char)value[0])) {
		snprintf(reason, reasonlen, "'%s' is not an integer", value);
		return false;
	}
	if (errno == ERANGE || v < o->min || v > o->max) {
		snprintf(reason, reasonlen, "'%s' is out of range %d..%d",
			 value, o->min, o->max);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool conf_parse_bool(const char *value, bool *out, char *reason, size_t reasonlen)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	int i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	snprintf(reason, reasonlen,
		 "'%s' is not a boolean (true, false, yes, no, on, off, 1, 0)", value);
	return false;
}

static bool conf_parse_enum(const struct conf_option *o, const char *value, int *out,
			    char *reason, size_t reasonlen)
{
	size_t used;
	int i;

	for (i = 0; o->enum_names[i] != NULL; i++) {
		if (strcasecmp(value, o->enum_names[i]) == 0) {
			*out = i;
			return true;
		}
	}
	used = (size_t)snprintf(reason, reasonlen, "'%s' is not one of", value);
	for (i = 0; o->enum_names[i] != NULL && used < reasonlen; i++)
		used += (size_t)snprintf(reason + used, reasonlen - used, "%s %s",
					 i == 0 ? "" : ",", o->enum_names[i]);
	return false;
}

/*
 * Set option `o` of `c` from its ini text.  On failure the field is left
 * as it was and `reason` says why ("'x' is not an integer").
 */
static bool conf_set(struct conf *c, const struct conf_option *o, const char *value,
		     char *reason, size_t reasonlen)
{
	void *field = conf_field(c, o);

	switch (o->type) {
	case CONF_STRING: {
		char **s = field;

		free(*s);
		*s = conf_strdup(value);
		return true;
	}
	case CONF_INT:
		return conf_parse_int(o, value, field, reason, reasonlen);
	case CONF_BOOL:
		return conf_parse_bool(value, field, reason, reasonlen);
	case CONF_ENUM:
		return conf_parse_enum(o, value, field, reason, reasonlen);
	}
	abort(); /* unknown type: a bug in the table */
}

void conf_defaults(struct conf *c)
{
	char reason[256];
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < conf_options_count; i++) {
		const struct conf_option *o = &conf_options[i];

		if (!conf_set(c, o, o->def, reason, sizeof(reason))) {
			fprintf(stderr, "cutover: bad default of [%s] %s: %s\n",
				o->section, o->name, reason);
			abort();
		}
	}
}

void conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < conf_options_count; i++) {
		if (conf_options[i].type == CONF_STRING) {
			char **s = conf_field(c, &conf_options[i]);

			free(*s);
			*s = NULL;
		}
	}
}

/* Record the first error: "PATH:LINE: message". */
static void conf_loader_error(struct conf_loader *l, int lineno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conf_loader_error(struct conf_loader *l, int lineno, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->error_lineno != 0)
		return;
	l->error_lineno = l->lineno;
	n = snprintf(l->err, l->errlen, "%s:%d: ", l->path, lineno);
	if (n < 0 || (size_t)n >= l->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Edit distance of two short names, for "did you mean"; large if too long. */
static size_t conf_name_distance(const char *a, const char *b)
{
	size_t prev[64], cur[64];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] +
				(tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? sub : del;
			if (ins < cur[j])
				cur[j] = ins;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* The option of `section` whose name is closest to `name`, if close. */
static const struct conf_option *conf_suggest(const char *section, const char *name)
{
	const struct conf_option *best = NULL;
	size_t best_distance = 3; /* suggest only within 2 edits */
	size_t i;

	for (i = 0; i < conf_options_count; i++) {
		size_t d;

		if (strcmp(conf_options[i].section, section) != 0)
			continue;
		d = conf_name_distance(name, conf_options[i].name);
		if (d < best_distance) {
			best_distance = d;
			best = &conf_options[i];
		}
	}
	return best;
}

/* inih reader (fgets contract): the next line, or NULL at the end. */
static char *conf_loader_read(char *buf, int size, void *user)
{
	struct conf_loader *l = user;
	ssize_t n;
	size_t len;
	char *start;

	if (l->error_lineno != 0)
		return NULL; /* stop at our first error */
	n = getline(&l->line, &l->line_cap, l->fp);
	if (n == -1)
		return NULL;
	l->lineno++;
	len = (size_t)n;
	while (len > 0 && (l->line[len - 1] == '\n' || l->line[len - 1] == '\r'))
		l->line[--len] = '\0';
	start = l->line + strspn(l->line, " \t");
	len -= (size_t)(start - l->line);
	if (start[0] == '[')
		l->section_lineno = l->lineno;
	if (size < 1 || len >= (size_t)size) {
		conf_loader_error(l, l->lineno, "line is longer than %d characters",
				  size - 1);
		start = "";
		len = 0;
	}
	memcpy(buf, start, len + 1);
	return buf;
}

/* inih handler: one "key = value" of `section`.  Returns 1 = ok, 0 = error. */
static int conf_loader_handle(void *user, const char *section, const char *name,
			      const char *value)
{
	struct conf_loader *l = user;
	const struct conf_option *o;
	char reason[256];
	size_t idx;

	o = conf_option_find(section, name);
	if (o == NULL) {
		const struct conf_option *near;

		if (section[0] == '\0') {
			conf_loader_error(l, l->lineno, "option '%s' is outside any [section]",
					  name);
		} else if (!conf_section_exists(section)) {
			conf_loader_error(l, l->section_lineno, "unknown section [%s]", section);
		} else if ((near = conf_suggest(section, name)) != NULL) {
			conf_loader_error(l, l->lineno, "unknown option [%s] %s (did you mean %s?)",
					  section, name, near->name);
		} else {
			conf_loader_error(l, l->lineno, "unknown option [%s] %s", section, name);
		}
		return 0;
	}
	idx = (size_t)(o - conf_options);
	if (l->set_on[idx] != 0) {
		conf_loader_error(l, l->lineno, "[%s] %s: set again (first set on line %d)",
				  section, name, l->set_on[idx]);
		return 0;
	}
	l->set_on[idx] = l->lineno;
	if (!conf_set(l->c, o, value, reason, sizeof(reason))) {
		conf_loader_error(l, l->lineno, "[%s] %s: %s", section, name, reason);
		return 0;
	}
	return 1;
}

/*
 * Checks that involve more than one option, after the whole file is read.
 * The error names the line of the option that asks for the others.
 */
static bool conf_check_consistency(struct conf_loader *l)
{
	const struct conf *c = l->c;
	const struct conf_option *o;

	if (c->client_tls != TLS_CLIENT_DISABLED &&
	    (c->client_tls_cert[0] == '\0' || c->client_tls_key[0] == '\0')) {
		o = conf_option_find("proxy", "client_tls");
		conf_loader_error(l, l->set_on[o - conf_options],
				  "[proxy] client_tls: '%s' needs client_tls_cert and client_tls_key",
				  o->enum_names[c->client_tls]);
		return false;
	}
	if ((c->backend_tls == TLS_BACKEND_VERIFY_CA ||
	     c->backend_tls == TLS_BACKEND_VERIFY_IDENTITY) &&
	    c->backend_tls_ca[0] == '\0') {
		o = conf_option_find("backend", "tls");
		conf_loader_error(l, l->set_on[o - conf_options],
				  "[backend] tls: '%s' needs tls_ca", o->enum_names[c->backend_tls]);
		return false;
	}
	return true;
}

bool conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct conf_loader l = {
		.c = c, .path = path, .err = err, .errlen = errlen,
	};
	bool ok = false;
	int rc;

	conf_defaults(c);
	if (errlen > 0)
		err[0] = '\0';
	l.fp = fopen(path, "r");
	if (l.fp == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	l.set_on = calloc(conf_options_count, sizeof(l.set_on[0]));
	if (l.set_on == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	rc = ini_parse_stream(conf_loader_read, &l, conf_loader_handle, &l);
	if (ferror(l.fp)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* inih reports its own syntax errors by line; ours come with a message. */
	if (rc > 0 && (l.error_lineno == 0 || rc < l.error_lineno)) {
		snprintf(err, errlen, "%s:%d: syntax error: expected '[section]', "
			 "'key = value' or a comment", path, rc);
		goto out;
	}
	if (l.error_lineno != 0)
		goto out;
	ok = conf_check_consistency(&l);
out:
	free(l.set_on);
	free(l.line);
	fclose(l.fp);
	return ok;
}

/* Do `a` and `b` hold the same value of option `o`? */
static bool conf_same(const struct conf *a, const struct conf *b, const struct conf_option *o)
{
	const void *fa = conf_field_const(a, o), *fb = conf_field_const(b, o);

	switch (o->type) {
	case CONF_STRING: {
		const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;

		return strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "") == 0;
	}
	case CONF_INT:
	case CONF_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case CONF_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	}
	abort(); /* unknown type: a bug in the table */
}

int conf_diff_restart_only(const struct conf *old, const struct conf *new_, char *out, size_t outlen)
{
	size_t used = 0, i;
	int count = 0;

	if (outlen > 0)
		out[0] = '\0';
	for (i = 0; i < conf_options_count; i++) {
		const struct conf_option *o = &conf_options[i];

		if (o->reloadable || conf_same(old, new_, o))
			continue;
		if (used < outlen) {
			int n = snprintf(out + used, outlen - used, "%s%s.%s",
					 count > 0 ? ", " : "", o->section, o->name);

			used += n > 0 ? (size_t)n : 0;
		}
		count++;
	}
	return count;
}

const char *conf_enum_name(const char *section, const char *name, int value)
{
	const struct conf_option *o = conf_option_find(section, name);
	int i;

	if (o == NULL || o->type != CONF_ENUM || value < 0)
		return "?";
	for (i = 0; o->enum_names[i] != NULL; i++) {
		if (i == value)
			return o->enum_names[i];
	}
	return "?";
}
