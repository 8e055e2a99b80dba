/*
 * keys.c - key values in and out of SQL (see keys.h).
 */
#include "config.h"
#include "cutover/keys.h"
#include "cutover/ctl.h"

#include <string.h>

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
	fputs(", (SELECT 1 UNION ALL SELECT 2))", f);
}
