/*
 * keys.c - key values in and out of SQL (see keys.h).
 */
#include "config.h"
#include "cutover/keys.h"
#include "cutover/ctl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *col_name(const struct deploy_col *c, bool shadow_names)
{
	return shadow_names ? c->shadow : c->orig;
}

static void put_col(FILE *f, const char *qualifier, const char *name)
{
	if (qualifier != NULL) {
		ctl_put_ident(f, qualifier);
		fputc('.', f);
	}
	ctl_put_ident(f, name);
}

void keys_put_select(FILE *f, const struct key_cols *d, const char *qualifier, bool shadow_names)
{
	for (unsigned i = 0; i < d->npk; i++) {
		const struct deploy_col *c = &d->cols[d->pk[i]];

		if (i > 0)
			fputs(", ", f);
		if (c->kind == KEY_STRING || c->kind == KEY_BINARY) {
			fputs("HEX(", f);
			put_col(f, qualifier, col_name(c, shadow_names));
			fputc(')', f);
		} else {
			put_col(f, qualifier, col_name(c, shadow_names));
		}
	}
}

void keys_put_columns(FILE *f, const struct key_cols *d, const char *qualifier, bool shadow_names)
{
	for (unsigned i = 0; i < d->npk; i++) {
		if (i > 0)
			fputs(", ", f);
		put_col(f, qualifier, col_name(&d->cols[d->pk[i]], shadow_names));
	}
}

static bool is_hex(const char *v, size_t n)
{
	if (n % 2 != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strchr("0123456789abcdefABCDEF", v[i]) == NULL || v[i] == '\0')
			return false;
	return true;
}

static bool is_number(const char *v, size_t n)
{
	size_t i = 0;
	bool digits = false, dot = false;

	if (n > 0 && (v[0] == '-' || v[0] == '+'))
		i++;
	for (; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			digits = true;
		else if (v[i] == '.' && !dot)
			dot = true;
		else
			return false;
	}
	return digits;
}

bool keys_put_literal(FILE *f, const struct deploy_col *c, const char *v, size_t n)
{
	switch (c->kind) {
	case KEY_NUMERIC:
		if (!is_number(v, n))
			return false;
		fwrite(v, 1, n, f);
		return true;
	case KEY_STRING:
		if (!is_hex(v, n))
			return false;
		/* An empty string: X'' is valid. */
		fprintf(f, "_%s X'%.*s' COLLATE %s", c->charset, (int)n, v, c->collation);
		return true;
	case KEY_BINARY:
		if (!is_hex(v, n))
			return false;
		fprintf(f, "X'%.*s'", (int)n, v);
		return true;
	case KEY_TEXT:
		ctl_put_string(f, v, n);
		return true;
	}
	return false;
}

/* ---- literals the server stores as written ---------------------------------- */

struct lit {
	enum { LIT_NUMBER, LIT_STRING, LIT_HEX, LIT_DATE, LIT_TIMESTAMP, LIT_TIME } kind;
	const char *p;            /* the number, the string's content, the hex
				     digits, a typed literal's text */
	size_t n;
	bool escapes;             /* a backslash or a doubled quote in the string */
};

static bool lit_parse(const char *s, size_t n, struct lit *l)
{
	size_t i = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i < n && s[i] == '_') {               /* _charset introducer */
		while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
			i++;
		while (i < n && isspace((unsigned char)s[i]))
			i++;
	} else if (i + 1 < n && (s[i] == 'N' || s[i] == 'n') && s[i + 1] == '\'') {
		i++;
	}
	if (i + 1 < n && (s[i] == 'X' || s[i] == 'x') && s[i + 1] == '\'') {
		if (n - i < 3 || s[n - 1] != '\'')
			return false;
		l->kind = LIT_HEX;
		l->p = s + i + 2;
		l->n = n - i - 3;
		return is_hex(l->p, l->n);
	}
	if (i + 1 < n && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		l->kind = LIT_HEX;
		l->p = s + i + 2;
		l->n = n - i - 2;
		return l->n > 0 && is_hex(l->p, l->n);
	}
	/* DATE'..', TIMESTAMP'..', TIME'..' as params.c writes them */
	static const struct { const char *word; int kind; } typed[] = {
		{ "DATE'", LIT_DATE }, { "TIMESTAMP'", LIT_TIMESTAMP }, { "TIME'", LIT_TIME },
	};
	for (size_t k = 0; k < sizeof(typed) / sizeof(typed[0]); k++) {
		size_t w = strlen(typed[k].word);

		if (n - i > w && strncasecmp(s + i, typed[k].word, w) == 0) {
			if (s[n - 1] != '\'')
				return false;
			l->kind = typed[k].kind;
			l->p = s + i + w;
			l->n = n - i - w - 1;
			return memchr(l->p, '\'', l->n) == NULL && memchr(l->p, '\\', l->n) == NULL;
		}
	}
	if (i < n && (s[i] == '\'' || s[i] == '"')) {
		if (n - i < 2 || s[n - 1] != s[i])
			return false;
		l->kind = LIT_STRING;
		l->p = s + i + 1;
		l->n = n - i - 2;
		l->escapes = memchr(l->p, '\\', l->n) != NULL || memchr(l->p, s[i], l->n) != NULL;
		return true;
	}
	l->kind = LIT_NUMBER;
	l->p = s + i;
	l->n = n - i;
	return l->n > 0;
}

/* The type's name ("int"), its first two numbers ("(10,2)") and unsigned. */
static void type_parse(const char *type, char *name, size_t namelen, long *a, long *b, bool *uns)
{
	size_t k = 0;
	const char *p = type;

	while (*p != '\0' && *p != '(' && *p != ' ' && k + 1 < namelen)
		name[k++] = (char)tolower((unsigned char)*p++);
	name[k] = '\0';
	*a = *b = -1;
	if (*p == '(') {
		*a = strtol(p + 1, (char **)&p, 10);
		if (*p == ',')
			*b = strtol(p + 1, (char **)&p, 10);
	}
	*uns = strstr(type, "unsigned") != NULL;
}

/* "[+-]digits[.digits]": the integer and fraction digits, leading and
   trailing zeros left out; false for anything else. */
static bool decimal_digits(const char *v, size_t n, bool *neg, size_t *ints, size_t *fracs, bool *zero)
{
	size_t i = 0, a, e, d;

	*neg = n > 0 && v[0] == '-';
	if (n > 0 && (v[0] == '-' || v[0] == '+'))
		i++;
	a = i;
	while (i < n && v[i] >= '0' && v[i] <= '9')
		i++;
	e = i;
	d = e;
	if (i < n && v[i] == '.') {
		i++;
		d = i;
		while (i < n && v[i] >= '0' && v[i] <= '9')
			i++;
	}
	if (i != n || (e == a && i == d))
		return false;
	while (a < e && v[a] == '0')
		a++;
	*ints = e - a;
	while (i > d && v[i - 1] == '0')
		i--;
	*fracs = i - d;
	*zero = *ints == 0 && *fracs == 0;
	return true;
}

/* The integer type called `name`, or NULL. */
static const struct int_type {
	const char *name;
	unsigned long long smax, umax;
} *int_type(const char *name)
{
	static const struct int_type types[] = {
		{ "tinyint", 127ULL, 255ULL },
		{ "smallint", 32767ULL, 65535ULL },
		{ "mediumint", 8388607ULL, 16777215ULL },
		{ "int", 2147483647ULL, 4294967295ULL },
		{ "bigint", 9223372036854775807ULL, 18446744073709551615ULL },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name, types[i].name) == 0)
			return &types[i];
	return NULL;
}

/* v[0, n) is an integer written plainly ("-12", "007") in the range of it. */
static bool integer_fits(const char *v, size_t n, const struct int_type *it, bool uns)
{
	bool neg, zero;
	size_t ints, fracs;
	unsigned long long mag = 0;

	if (!decimal_digits(v, n, &neg, &ints, &fracs, &zero) || fracs > 0 || memchr(v, '.', n) != NULL ||
	    ints > 20)
		return false;
	if (zero)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v[i] >= '0' && v[i] <= '9') {
			if (mag > (18446744073709551615ULL - (unsigned)(v[i] - '0')) / 10)
				return false;
			mag = mag * 10 + (unsigned)(v[i] - '0');
		}
	return uns ? !neg && mag <= it->umax : mag <= it->smax + (neg ? 1 : 0);
}

bool keys_literal_stored_as_written(const struct deploy_col *c, const char *lit, size_t n)
{
	char name[32];
	long a, b;
	bool uns, neg, zero;
	size_t ints, fracs;
	struct lit l;
	const struct int_type *it;

	if (c->type[0] == '\0')
		return true;
	type_parse(c->type, name, sizeof(name), &a, &b, &uns);
	memset(&l, 0, sizeof(l));
	if (!lit_parse(lit, n, &l))
		return false;
	if (l.kind == LIT_DATE || l.kind == LIT_TIMESTAMP || l.kind == LIT_TIME) {
		/* a typed literal into a column of its own kind (a DATE into a
		   DATETIME is midnight); into any other, converted */
		bool date_col = strcmp(name, "date") == 0;
		bool dt_col = strcmp(name, "datetime") == 0 || strcmp(name, "timestamp") == 0;

		if (l.kind == LIT_TIME ? strcmp(name, "time") != 0 :
		    l.kind == LIT_DATE ? !date_col && !dt_col :
		    !dt_col && !(date_col && l.n > 10 && strspn(l.p + 10, " 0:.") == l.n - 10))
			return false;
	}
	if ((it = int_type(name)) != NULL) {
		/* 5 or '5'; not 5.5, ' 5', X'05'; a DOUBLE parameter's
		   4.2e+01 when it is a whole number in range */
		char num[64], whole[32];
		double v;

		if (l.kind == LIT_NUMBER && l.n < sizeof(num) && memchr(l.p, 'e', l.n) != NULL) {
			memcpy(num, l.p, l.n);
			num[l.n] = '\0';
			v = strtod(num, NULL);
			if (!(v > -9007199254740992.0 && v < 9007199254740992.0) || v != (double)(long long)v)
				return false;
			snprintf(whole, sizeof(whole), "%lld", (long long)v);
			return integer_fits(whole, strlen(whole), it, uns);
		}
		return l.kind != LIT_HEX && !l.escapes && integer_fits(l.p, l.n, it, uns);
	}
	if (strcmp(name, "decimal") == 0) {
		if (l.kind == LIT_HEX || l.escapes || !decimal_digits(l.p, l.n, &neg, &ints, &fracs, &zero))
			return false;
		if (a < 0)
			a = 10;
		if (b < 0)
			b = 0;
		return (long)fracs <= b && (long)ints <= a - b && !(uns && neg && !zero);
	}
	if (strcmp(name, "char") == 0 || strcmp(name, "varchar") == 0) {
		/* the bytes as written bound the characters from above (an
		   escape is two bytes for one character) */
		size_t bytes = l.kind == LIT_HEX ? l.n / 2 : l.n;

		if (a < 0 || (long)bytes > a)
			return false;
		if (l.kind == LIT_NUMBER && !integer_fits(l.p, l.n, int_type("bigint"), false))
			return false;       /* 5.0 or 1e3 would be stored as another text */
		/* a CHAR drops trailing spaces: under a NO PAD collation they
		   would no longer compare equal */
		if (strcmp(name, "char") == 0 && strstr(c->collation, "nopad") != NULL && l.kind == LIT_STRING &&
		    l.n > 0 && l.p[l.n - 1] == ' ')
			return false;
		return true;
	}
	if (strcmp(name, "binary") == 0 || strcmp(name, "varbinary") == 0) {
		/* a BINARY(n) is padded with zero bytes to n */
		size_t bytes = l.n / 2;

		if (l.kind == LIT_STRING && !l.escapes)
			bytes = l.n;
		else if (l.kind != LIT_HEX)
			return false;
		return a >= 0 && (strcmp(name, "binary") == 0 ? (long)bytes == a : (long)bytes <= a);
	}
	if (strcmp(name, "datetime") == 0 || strcmp(name, "timestamp") == 0 || strcmp(name, "time") == 0) {
		/* more fraction digits than the column keeps are rounded
		   (trailing zeros are no digits) */
		const char *dot = memchr(l.p, '.', l.n);
		size_t k = 0;

		if (l.kind == LIT_HEX || l.escapes)
			return false;
		if (dot != NULL)
			for (size_t j = 1; dot + j < l.p + l.n && dot[j] >= '0' && dot[j] <= '9'; j++)
				if (dot[j] != '0')
					k = j;
		return (long)k <= (a < 0 ? 0 : a);
	}
	return true;
}

bool keys_is_integer(const struct deploy_col *c, bool *uns)
{
	char name[32];
	long a, b;

	if (c->kind != KEY_NUMERIC || c->type[0] == '\0')
		return false;
	type_parse(c->type, name, sizeof(name), &a, &b, uns);
	return int_type(name) != NULL;
}

bool keys_type_is_timestamp(const char *type)
{
	return strncasecmp(type, "timestamp", 9) == 0;
}

bool keys_copy_needs_time_zone(const struct deploy_col *cols, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (cols[i].type[0] == '\0' || cols[i].shadow_type[0] == '\0' ||
		    keys_type_is_timestamp(cols[i].type) != keys_type_is_timestamp(cols[i].shadow_type))
			return true;
	return false;
}

bool keys_charset_is(unsigned collation_id, const char *charset)
{
	const MARIADB_CHARSET_INFO *ci = collation_id == 63 ? NULL : mariadb_get_charset_by_nr(collation_id);
	const char *name;

	if (ci == NULL || ci->csname == NULL)
		return false;
	/* utf8 is utf8mb3 by its newer name */
	name = strcmp(ci->csname, "utf8") == 0 ? "utf8mb3" : ci->csname;
	return strcmp(name, strcmp(charset, "utf8") == 0 ? "utf8mb3" : charset) == 0;
}

void keys_put_compare(FILE *f, const struct key_cols *d, bool shadow_names, bool after,
		      char *const *lits)
{
	const char *op = after ? " > " : " <= ";

	/* (k0 op l0 OR (k0 = l0 AND (k1 op l1 OR (k1 = l1 AND ... kn op ln)))) */
	fputc('(', f);
	for (unsigned i = 0; i < d->npk; i++) {
		const char *name = col_name(&d->cols[d->pk[i]], shadow_names);
		bool last = i + 1 == d->npk;

		ctl_put_ident(f, name);
		if (last) {
			fputs(op, f);
			fputs(lits[i], f);
			break;
		}
		/* strictly after on this column, or equal and decided later */
		fputs(after ? " > " : " < ", f);
		fputs(lits[i], f);
		fputs(" OR (", f);
		ctl_put_ident(f, name);
		fputs(" = ", f);
		fputs(lits[i], f);
		fputs(" AND (", f);
	}
	for (unsigned i = 0; i + 1 < d->npk; i++)
		fputs("))", f);
	fputc(')', f);
}

void keys_put_copy(FILE *f, const char *db, const char *table, const char *shadow,
		   const struct deploy_col *cols, unsigned ncols)
{
	fputs("INSERT INTO ", f);
	ctl_put_ident(f, db);
	fputc('.', f);
	ctl_put_ident(f, shadow);
	fputs(" (", f);
	for (unsigned i = 0; i < ncols; i++) {
		if (i > 0)
			fputs(", ", f);
		ctl_put_ident(f, cols[i].shadow);
	}
	fputs(") SELECT ", f);
	for (unsigned i = 0; i < ncols; i++) {
		if (i > 0)
			fputs(", ", f);
		ctl_put_ident(f, cols[i].orig);
	}
	fputs(" FROM ", f);
	ctl_put_ident(f, db);
	fputc('.', f);
	ctl_put_ident(f, table);
}

void keys_put_own_row_guard(FILE *f, const struct key_cols *k, const char *shadow, bool respell)
{
	const char *k0 = k->cols[k->pk[0]].shadow;

	ctl_put_ident(f, k0);
	fputs(" = IF(", f);
	for (unsigned i = 0; i < k->npk; i++) {
		const char *ki = k->cols[k->pk[i]].shadow;

		if (i > 0)
			fputs(" AND ", f);
		ctl_put_ident(f, shadow);
		fputc('.', f);
		ctl_put_ident(f, ki);
		fputs(" <=> VALUES(", f);
		ctl_put_ident(f, ki);
		fputc(')', f);
	}
	fputs(", ", f);
	if (respell) {
		fputs("VALUES(", f);
		ctl_put_ident(f, k0);
		fputc(')', f);
	} else {
		ctl_put_ident(f, shadow);
		fputc('.', f);
		ctl_put_ident(f, k0);
	}
	/* NULLs: a branch of any type (an INT would not mix with a UUID) */
	fputs(", (SELECT NULL UNION ALL SELECT NULL))", f);
}
