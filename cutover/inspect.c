/*
 * inspect.c - checks of `deploy create` and the shadow table (inspect.h).
 *
 * The checks ask information_schema, never parse SHOW CREATE TABLE.  The
 * ALTER clause is checked by a small tokenizer of its own: it only needs
 * words outside strings, identifiers and comments, and refuses anything it
 * is not sure about (executable comments, a ';').
 */
#include "config.h"
#include "cutover/inspect.h"
#include "cutover/keys.h"
#include "proxy/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- the target -------------------------------------------------------- */

/* One name part at *p: `quoted` or a bare word; advances *p. */
static bool name_part(const char **p, char *out)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '`') {
		s++;
		for (;;) {
			if (*s == '\0')
				return false;
			if (*s == '`') {
				if (s[1] != '`')
					break;
				s++;
			}
			if (n + 1 >= DEPLOY_NAME_SIZE)
				return false;
			out[n++] = *s++;
		}
		s++;
	} else {
		while (*s != '\0' && *s != '.' && !isspace((unsigned char)*s)) {
			if (!isalnum((unsigned char)*s) && *s != '_' && *s != '$' &&
			    (unsigned char)*s < 0x80)
				return false;
			if (n + 1 >= DEPLOY_NAME_SIZE)
				return false;
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	*p = s;
	return n > 0 && n <= 64;
}

bool inspect_parse_target(const char *arg, char *db, char *table, char *err, size_t errlen)
{
	const char *p = arg;

	if (!name_part(&p, db) || *p != '.') {
		snprintf(err, errlen, "'%.100s' is not <db>.<table>", arg);
		return false;
	}
	p++;
	if (!name_part(&p, table) || *p != '\0') {
		snprintf(err, errlen, "'%.100s' is not <db>.<table>", arg);
		return false;
	}
	return true;
}

/* --- the ALTER clause ---------------------------------------------------- */

struct word {
	char text[DEPLOY_NAME_SIZE];  /* bare words upper-cased; quoted as is */
	bool quoted;                  /* `identifier` */
	bool punct;                   /* one byte of punctuation in text */
	int depth;                    /* parenthesis depth */
};

/* Tokenize: words, `identifiers`, punctuation; skip strings and comments. */
static bool tokenize(const char *s, struct word **out, unsigned *nout, char *err, size_t errlen)
{
	struct word *w = NULL;
	unsigned n = 0, cap = 0;
	int depth = 0;

	while (*s != '\0') {
		struct word cur;
		size_t k = 0;

		memset(&cur, 0, sizeof(cur));
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (s[0] == '/' && s[1] == '*') {
			if (s[2] == '!' || (s[2] == 'M' && s[3] == '!')) {
				snprintf(err, errlen, "executable comments are not allowed in the ALTER clause");
				goto fail;
			}
			s = strstr(s + 2, "*/");
			if (s == NULL) {
				snprintf(err, errlen, "unterminated comment in the ALTER clause");
				goto fail;
			}
			s += 2;
			continue;
		}
		if (*s == '#' || (s[0] == '-' && s[1] == '-' && (s[2] == '\0' || isspace((unsigned char)s[2])))) {
			snprintf(err, errlen, "line comments are not allowed in the ALTER clause");
			goto fail;
		}
		if (*s == '\'' || *s == '"') {
			char q = *s++;

			for (;;) {
				if (*s == '\0') {
					snprintf(err, errlen, "unterminated string in the ALTER clause");
					goto fail;
				}
				if (*s == '\\' && s[1] != '\0') {
					s += 2;
					continue;
				}
				if (*s == q) {
					if (s[1] == q) {
						s += 2;
						continue;
					}
					break;
				}
				s++;
			}
			s++;
			strcpy(cur.text, "'");
			cur.punct = true;
		} else if (*s == '`') {
			s++;
			for (;;) {
				if (*s == '\0') {
					snprintf(err, errlen, "unterminated identifier in the ALTER clause");
					goto fail;
				}
				if (*s == '`') {
					if (s[1] != '`')
						break;
					s++;
				}
				if (k + 1 < sizeof(cur.text))
					cur.text[k++] = *s;
				s++;
			}
			s++;
			cur.quoted = true;
		} else if (isalnum((unsigned char)*s) || *s == '_' || *s == '$' || (unsigned char)*s >= 0x80) {
			while (isalnum((unsigned char)*s) || *s == '_' || *s == '$' || (unsigned char)*s >= 0x80) {
				if (k + 1 < sizeof(cur.text))
					cur.text[k++] = (char)toupper((unsigned char)*s);
				s++;
			}
		} else {
			if (*s == ';') {
				snprintf(err, errlen, "the ALTER clause must be one statement (found ';')");
				goto fail;
			}
			if (*s == '(')
				depth++;
			cur.text[0] = *s;
			cur.punct = true;
			cur.depth = depth;
			if (*s == ')')
				depth--;
			s++;
		}
		if (!cur.punct || cur.text[0] == '\'')
			cur.depth = depth;
		if (n == cap) {
			struct word *nw;

			cap = cap ? cap * 2 : 64;
			nw = realloc(w, cap * sizeof(*w));
			if (nw == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			w = nw;
		}
		w[n++] = cur;
	}
	if (depth != 0) {
		snprintf(err, errlen, "unbalanced parentheses in the ALTER clause");
		goto fail;
	}
	*out = w;
	*nout = n;
	return true;
fail:
	free(w);
	return false;
}

static bool is_kw(const struct word *w, const char *kw)
{
	return !w->quoted && !w->punct && strcmp(w->text, kw) == 0;
}

/* The original spelling of a column name word (bare words were upper-cased). */
static void word_name(const char *clause, const struct word *w, char *out)
{
	(void)clause;
	snprintf(out, DEPLOY_NAME_SIZE, "%s", w->text);
}

bool inspect_check_alter(const char *clause, struct inspect_renames *r, char *err, size_t errlen)
{
	struct word *w = NULL;
	unsigned n = 0, i;
	bool ok = false;

	memset(r, 0, sizeof(*r));
	if (!tokenize(clause, &w, &n, err, errlen))
		return false;
	if (n == 0) {
		snprintf(err, errlen, "the ALTER clause is empty");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct word *x = &w[i];

		if (x->depth != 0 || x->quoted || x->punct)
			continue;
		if (is_kw(x, "RENAME")) {
			if (i + 1 < n && (is_kw(&w[i + 1], "COLUMN"))) {
				if (i + 4 < n && is_kw(&w[i + 3], "TO") && r->n < INSPECT_MAX_RENAMES) {
					word_name(clause, &w[i + 2], r->from[r->n]);
					word_name(clause, &w[i + 4], r->to[r->n]);
					r->n++;
				} else {
					snprintf(err, errlen, "cannot read RENAME COLUMN in the ALTER clause");
					goto out;
				}
				continue;
			}
			if (i + 1 < n && (is_kw(&w[i + 1], "INDEX") || is_kw(&w[i + 1], "KEY")))
				continue;
			snprintf(err, errlen, "the ALTER clause may not rename the table");
			goto out;
		}
		if (is_kw(x, "CHANGE")) {
			unsigned j = i + 1;

			if (j < n && is_kw(&w[j], "COLUMN"))
				j++;
			if (j < n && is_kw(&w[j], "IF"))
				j += 2;  /* IF EXISTS */
			if (j + 1 >= n || w[j].punct || w[j + 1].punct) {
				snprintf(err, errlen, "cannot read CHANGE COLUMN in the ALTER clause");
				goto out;
			}
			if (r->n < INSPECT_MAX_RENAMES) {
				word_name(clause, &w[j], r->from[r->n]);
				word_name(clause, &w[j + 1], r->to[r->n]);
				if (strcasecmp(r->from[r->n], r->to[r->n]) != 0)
					r->n++;
			}
			continue;
		}
		if (is_kw(x, "ENGINE")) {
			unsigned j = i + 1;

			if (j < n && w[j].punct && w[j].text[0] == '=')
				j++;
			if (j >= n || w[j].punct || strcasecmp(w[j].text, "INNODB") != 0) {
				snprintf(err, errlen, "the ALTER clause may only keep ENGINE=InnoDB (mirrored writes need transactions)");
				goto out;
			}
			continue;
		}
		if (is_kw(x, "REFERENCES") || is_kw(x, "FOREIGN")) {
			snprintf(err, errlen, "foreign keys are not supported by deploy requests");
			goto out;
		}
		if (is_kw(x, "DISCARD") || is_kw(x, "IMPORT") || is_kw(x, "EXCHANGE") ||
		    is_kw(x, "TABLESPACE") || is_kw(x, "TRUNCATE")) {
			snprintf(err, errlen, "the ALTER clause may not use %s", x->text);
			goto out;
		}
		if (i + 1 < n && is_kw(&w[i + 1], "PARTITION") && (is_kw(x, "DROP") || is_kw(x, "CONVERT"))) {
			/* DROP PARTITION deletes rows, CONVERT PARTITION moves them
			   to a table of their own: a deploy request copies every
			   row into the new table */
			snprintf(err, errlen, "the ALTER clause may not use %s PARTITION (it removes the partition's "
				 "rows from the table, and a deploy request copies every row: run it as a plain "
				 "ALTER TABLE)", x->text);
			goto out;
		}
		if (is_kw(x, "CONVERT") && i + 1 < n && is_kw(&w[i + 1], "TABLE")) {
			snprintf(err, errlen, "the ALTER clause may not use CONVERT TABLE ... TO PARTITION (it takes "
				 "in another table)");
			goto out;
		}
		if (is_kw(x, "UPDATE") && i > 0 && is_kw(&w[i - 1], "ON"))
			continue;       /* a column's ON UPDATE CURRENT_TIMESTAMP */
		if (is_kw(x, "SELECT") || is_kw(x, "INSERT") || is_kw(x, "UPDATE") ||
		    is_kw(x, "DELETE") || is_kw(x, "CREATE") ||
		    (is_kw(x, "DROP") && i + 1 < n &&
		     (is_kw(&w[i + 1], "TABLE") || is_kw(&w[i + 1], "DATABASE")))) {
			snprintf(err, errlen, "the ALTER clause must be one ALTER TABLE specification list ('%s' found)",
				 x->text);
			goto out;
		}
	}
	ok = true;
out:
	free(w);
	return ok;
}

/* --- the table ------------------------------------------------------------- */

/* A name InnoDB's dictionary spells as it is: MariaDB encodes every other
   character of a database or table name ("@0024" for '$'). */
static bool plain_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/*
 * *n = how many foreign keys of other tables point at db.table.
 *
 * information_schema.KEY_COLUMN_USAGE can answer, but the server can only
 * narrow its scan by the referencing table, so asking by the referenced one
 * opens every table of the server: 0.3 s with 3,000 tables, seconds with
 * tens of thousands.  InnoDB's own dictionary (INNODB_SYS_FOREIGN, MariaDB;
 * it needs the PROCESS privilege) answers at once; when it cannot be read
 * (MySQL names it otherwise, or the privilege is missing) or the names
 * would be encoded in it, the full scan answers.
 */
static bool referenced_by_fk(struct ctl *c, const char *db, const char *table, uint64_t *n)
{
	if (plain_name(db) && plain_name(table)) {
		char ref[2 * DEPLOY_NAME_SIZE + 2];

		snprintf(ref, sizeof(ref), "%s/%s", db, table);
		if (ctl_u64(c, n, NULL, "SELECT COUNT(*) FROM information_schema.INNODB_SYS_FOREIGN "
			    "WHERE REF_NAME = %Q", ref))
			return true;
	}
	return ctl_u64(c, n, NULL, "SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE WHERE "
		       "REFERENCED_TABLE_SCHEMA = %Q AND REFERENCED_TABLE_NAME = %Q", db, table);
}

bool inspect_table(struct ctl *c, const char *db, const char *table, char *err, size_t errlen)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	uint64_t n;

	if (!ctl_query(c, &res, "SELECT TABLE_TYPE, ENGINE FROM information_schema.TABLES "
			"WHERE TABLE_SCHEMA = %Q AND TABLE_NAME = %Q", db, table)) {
		snprintf(err, errlen, "cannot read information_schema: %s", c->error);
		return false;
	}
	row = mysql_fetch_row(res);
	if (row == NULL) {
		mysql_free_result(res);
		snprintf(err, errlen, "table %s.%s does not exist", db, table);
		return false;
	}
	if (row[0] == NULL || strcmp(row[0], "BASE TABLE") != 0) {
		snprintf(err, errlen, "%s.%s is not a base table (%s)", db, table, row[0] ? row[0] : "?");
		mysql_free_result(res);
		return false;
	}
	if (row[1] == NULL || strcasecmp(row[1], "InnoDB") != 0) {
		snprintf(err, errlen, "table %s.%s uses engine %s; deploy requests need InnoDB (transactions)",
			 db, table, row[1] ? row[1] : "?");
		mysql_free_result(res);
		return false;
	}
	mysql_free_result(res);
	if (!ctl_u64(c, &n, NULL, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE "
		     "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q AND INDEX_NAME = 'PRIMARY'", db, table))
		goto ierr;
	if (n == 0) {
		snprintf(err, errlen, "table %s.%s has no primary key", db, table);
		return false;
	}
	if (!ctl_u64(c, &n, NULL, "SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE WHERE "
		     "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q AND REFERENCED_TABLE_NAME IS NOT NULL", db, table))
		goto ierr;
	if (n == 0 && !referenced_by_fk(c, db, table, &n))
		goto ierr;
	if (n != 0) {
		snprintf(err, errlen, "table %s.%s has foreign keys (in or out); deploy requests do not support them",
			 db, table);
		return false;
	}
	if (!ctl_u64(c, &n, NULL, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE "
		     "EVENT_OBJECT_SCHEMA = %Q AND EVENT_OBJECT_TABLE = %Q", db, table))
		goto ierr;
	if (n != 0) {
		snprintf(err, errlen, "table %s.%s has triggers; deploy requests do not support them", db, table);
		return false;
	}
	return true;
ierr:
	snprintf(err, errlen, "cannot read information_schema: %s", c->error);
	return false;
}

/* --- the shadow and the mapping ------------------------------------------- */

struct colinfo {
	char name[DEPLOY_NAME_SIZE];
	char data_type[65];
	char column_type[256];
	char charset[65];
	char collation[65];
	bool generated;
	bool autoinc;
	unsigned pk_pos;   /* 1-based position in the primary key, 0 = not */
};

static bool read_cols(struct ctl *c, const char *db, const char *table, struct colinfo **out,
		      unsigned *nout)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned n = 0;
	struct colinfo *ci;

	if (!ctl_query(c, &res,
		       "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.CHARACTER_SET_NAME, "
		       "c.COLLATION_NAME, c.EXTRA, COALESCE(s.SEQ_IN_INDEX, 0) "
		       "FROM information_schema.COLUMNS c LEFT JOIN "
		       /* a derived table the server materializes (LIMIT): joined
			  directly, STATISTICS is read for every table there is */
		       "(SELECT COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS "
		       "WHERE TABLE_SCHEMA = %Q AND TABLE_NAME = %Q AND INDEX_NAME = 'PRIMARY' LIMIT 4096) s "
		       "ON s.COLUMN_NAME = c.COLUMN_NAME "
		       "WHERE c.TABLE_SCHEMA = %Q AND c.TABLE_NAME = %Q ORDER BY c.ORDINAL_POSITION",
		       db, table, db, table))
		return false;
	ci = calloc(mysql_num_rows(res) + 1, sizeof(*ci));
	if (ci == NULL) {
		mysql_free_result(res);
		return false;
	}
	while ((row = mysql_fetch_row(res)) != NULL) {
		struct colinfo *x = &ci[n++];

		snprintf(x->name, sizeof(x->name), "%s", row[0] ? row[0] : "");
		snprintf(x->data_type, sizeof(x->data_type), "%s", row[1] ? row[1] : "");
		snprintf(x->column_type, sizeof(x->column_type), "%s", row[2] ? row[2] : "");
		snprintf(x->charset, sizeof(x->charset), "%s", row[3] ? row[3] : "");
		snprintf(x->collation, sizeof(x->collation), "%s", row[4] ? row[4] : "");
		x->generated = row[5] != NULL && (strstr(row[5], "GENERATED") != NULL ||
						  strstr(row[5], "VIRTUAL") != NULL ||
						  strstr(row[5], "PERSISTENT") != NULL ||
						  strstr(row[5], "STORED") != NULL);
		x->autoinc = row[5] != NULL && strstr(row[5], "auto_increment") != NULL;
		x->pk_pos = row[6] ? (unsigned)strtoul(row[6], NULL, 10) : 0;
	}
	mysql_free_result(res);
	*out = ci;
	*nout = n;
	return true;
}

static const char *renamed(const struct inspect_renames *r, const char *name)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcasecmp(r->from[i], name) == 0)
			return r->to[i];
	return name;
}

static bool key_kind_of(const struct colinfo *x, enum key_kind *k)
{
	static const char *const numeric[] = {
		"tinyint", "smallint", "mediumint", "int", "bigint", "decimal", NULL
	};
	/* dates and times; MariaDB's UUID, INET6 and INET4: read as text and
	   written as a quoted string, which the column converts back (any
	   spelling of a value finds it: '0A..' and '0a..', '::1' and '0::1') */
	static const char *const text[] = {
		"date", "datetime", "timestamp", "time", "year", "uuid", "inet6", "inet4", NULL
	};

	for (unsigned i = 0; numeric[i] != NULL; i++)
		if (strcasecmp(x->data_type, numeric[i]) == 0) {
			*k = KEY_NUMERIC;
			return true;
		}
	for (unsigned i = 0; text[i] != NULL; i++)
		if (strcasecmp(x->data_type, text[i]) == 0) {
			*k = KEY_TEXT;
			return true;
		}
	if (strcasecmp(x->data_type, "char") == 0 || strcasecmp(x->data_type, "varchar") == 0) {
		*k = x->charset[0] != '\0' ? KEY_STRING : KEY_BINARY;
		return true;
	}
	if (strcasecmp(x->data_type, "binary") == 0 || strcasecmp(x->data_type, "varbinary") == 0) {
		*k = KEY_BINARY;
		return true;
	}
	return false;
}

/*
 * The unique keys besides the primary key of the original (shadow: of the
 * shadow), as indexes into d->cols ("1,2;5") in out: the mirror finds the
 * rows an INSERT IGNORE / ON DUPLICATE KEY UPDATE / REPLACE may touch
 * through them.  "?" when one of them cannot serve (a column that is not
 * mapped, a prefix of a column).
 */
/* "%`db`.`name`%" for LIKE: the backquoted reference a view's definition
   holds (MariaDB writes every table reference in full), \ % _ escaped. */
static void like_pattern(char *out, size_t outlen, const char *db, const char *name)
{
	size_t k = 0;
	const char *parts[2] = { db, name };

	out[k++] = '%';
	for (unsigned p = 0; p < 2; p++) {
		if (p > 0 && k + 1 < outlen)
			out[k++] = '.';
		if (k + 1 < outlen)
			out[k++] = '`';
		for (const char *q = parts[p]; *q != '\0' && k + 3 < outlen; q++) {
			if (*q == '\\' || *q == '%' || *q == '_')
				out[k++] = '\\';
			if (*q == '`')
				out[k++] = '`';
			out[k++] = *q;
		}
		if (k + 1 < outlen)
			out[k++] = '`';
	}
	if (k + 1 < outlen)
		out[k++] = '%';
	out[k] = '\0';
}

bool inspect_views(struct ctl *c, const char *db, const char *table, struct deploy_view *out, unsigned *n)
{
	*n = 0;
	/* breadth first: the table, then each view found, as a name to look for */
	for (unsigned next = 0; next <= *n; next++) {
		const char *d = next == 0 ? db : out[next - 1].db;
		const char *t = next == 0 ? table : out[next - 1].name;
		char pat[4 * DEPLOY_NAME_SIZE + 8];
		MYSQL_RES *res;
		MYSQL_ROW row;

		like_pattern(pat, sizeof(pat), d, t);
		if (!ctl_query(c, &res, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.VIEWS "
			       "WHERE VIEW_DEFINITION LIKE %Q", pat))
			return false;
		while ((row = mysql_fetch_row(res)) != NULL) {
			bool seen = row[0] == NULL || row[1] == NULL;

			for (unsigned i = 0; i < *n && !seen; i++)
				seen = strcmp(out[i].db, row[0]) == 0 && strcmp(out[i].name, row[1]) == 0;
			if (seen)
				continue;
			if (*n == DEPLOY_MAX_VIEWS) {
				log_warning("%s.%s: more than %d views read it; writes through view %s.%s are not "
					    "refused", db, table, DEPLOY_MAX_VIEWS, row[0], row[1]);
				continue;
			}
			snprintf(out[*n].db, sizeof(out[*n].db), "%s", row[0]);
			snprintf(out[*n].name, sizeof(out[*n].name), "%s", row[1]);
			(*n)++;
		}
		mysql_free_result(res);
	}
	return true;
}

bool inspect_uniques(struct ctl *c, const struct deploy *d, bool shadow, char *out, size_t outlen)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	char prev[DEPLOY_NAME_SIZE] = "";
	size_t used = 0;
	bool usable = true;

	out[0] = '\0';
	if (!ctl_query(c, &res, "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS "
		       "WHERE TABLE_SCHEMA = %Q AND TABLE_NAME = %Q AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY' "
		       "ORDER BY INDEX_NAME, SEQ_IN_INDEX", d->db, shadow ? d->shadow : d->table))
		return false;
	while (usable && (row = mysql_fetch_row(res)) != NULL) {
		unsigned i;
		int n;

		for (i = 0; i < d->ncols && row[1] != NULL; i++)
			if (strcasecmp(shadow ? d->cols[i].shadow : d->cols[i].orig, row[1]) == 0)
				break;
		if (row[0] == NULL || row[1] == NULL || row[2] != NULL || i == d->ncols) {
			usable = false;
			break;
		}
		n = snprintf(out + used, outlen - used, "%s%u",
			     used == 0 ? "" : strcmp(prev, row[0]) == 0 ? "," : ";", i);
		if (n < 0 || (size_t)n >= outlen - used)
			usable = false;
		else
			used += (size_t)n;
		snprintf(prev, sizeof(prev), "%s", row[0]);
	}
	mysql_free_result(res);
	if (!usable)
		snprintf(out, outlen, "?");
	return true;
}

bool inspect_map(struct ctl *c, struct deploy *d, const struct inspect_renames *r, char *err,
		 size_t errlen)
{
	struct colinfo *oc = NULL, *sc = NULL;
	unsigned on = 0, sn = 0, i, j, npk_orig = 0, npk_shadow = 0;
	bool ok = false;

	if (!read_cols(c, d->db, d->table, &oc, &on) || !read_cols(c, d->db, d->shadow, &sc, &sn)) {
		snprintf(err, errlen, "cannot read the columns: %s", c->error);
		goto out;
	}
	free(d->cols);
	free(d->pk);
	d->cols = calloc(on + 1, sizeof(*d->cols));
	d->pk = calloc(on + 1, sizeof(*d->pk));
	d->ncols = d->npk = 0;
	if (d->cols == NULL || d->pk == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (j = 0; j < sn; j++)
		if (sc[j].pk_pos > 0)
			npk_shadow++;
	for (i = 0; i < on; i++) {
		const char *sname = renamed(r, oc[i].name);
		const struct colinfo *s = NULL;

		if (oc[i].pk_pos > 0)
			npk_orig++;
		for (j = 0; j < sn; j++)
			if (strcasecmp(sc[j].name, sname) == 0) {
				s = &sc[j];
				break;
			}
		if (oc[i].pk_pos > 0 && (s == NULL || s->pk_pos != oc[i].pk_pos)) {
			snprintf(err, errlen, "the ALTER changes the primary key (column %s); deploy requests need the same primary key in both tables",
				 oc[i].name);
			goto out;
		}
		if (s == NULL || s->generated || oc[i].generated)
			continue;
		struct deploy_col *dc = &d->cols[d->ncols];

		snprintf(dc->orig, sizeof(dc->orig), "%s", oc[i].name);
		snprintf(dc->shadow, sizeof(dc->shadow), "%s", s->name);
		dc->autoinc = oc[i].autoinc;
		dc->ordinal = i;
		snprintf(dc->type, sizeof(dc->type), "%s", oc[i].column_type);
		snprintf(dc->shadow_type, sizeof(dc->shadow_type), "%s", s->column_type);
		dc->same_type = strcmp(oc[i].column_type, s->column_type) == 0 &&
				strcmp(oc[i].charset, s->charset) == 0 &&
				strcmp(oc[i].collation, s->collation) == 0;
		if (oc[i].pk_pos > 0) {
			dc->pk = true;
			if (!key_kind_of(&oc[i], &dc->kind)) {
				snprintf(err, errlen, "primary key column %s has type %s, which deploy requests do not support as a key",
					 oc[i].name, oc[i].data_type);
				goto out;
			}
			if (!dc->same_type) {
				snprintf(err, errlen, "the ALTER changes the type of primary key column %s; not supported",
					 oc[i].name);
				goto out;
			}
			snprintf(dc->charset, sizeof(dc->charset), "%s", oc[i].charset);
			snprintf(dc->collation, sizeof(dc->collation), "%s", oc[i].collation);
			d->pk[oc[i].pk_pos - 1] = d->ncols;
			d->npk++;
		}
		d->ncols++;
	}
	{
		uint64_t nu = 1;

		if (!ctl_u64(c, &nu, NULL, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE "
			     "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'",
			     d->db, d->table)) {
			snprintf(err, errlen, "cannot read information_schema: %s", c->error);
			goto out;
		}
		d->orig_unique = nu > 0;
	}
	d->uniq[0] = '\0';
	if (d->orig_unique && !inspect_uniques(c, d, false, d->uniq, sizeof(d->uniq))) {
		snprintf(err, errlen, "cannot read information_schema: %s", c->error);
		goto out;
	}
	if (npk_shadow != npk_orig || d->npk != npk_orig || npk_orig == 0) {
		snprintf(err, errlen, "the ALTER changes the primary key; deploy requests need the same primary key in both tables");
		goto out;
	}
	if (keys_copy_needs_time_zone(d->cols, d->ncols))
		for (i = 0; i < d->npk; i++)
			if (keys_type_is_timestamp(d->cols[d->pk[i]].type)) {
				/* the copy would run in one time zone and read the
				   keys the client wrote in another (mirror.c) */
				snprintf(err, errlen, "the ALTER converts a column to or from TIMESTAMP, and primary key column %s is a TIMESTAMP: deploy requests do not support both",
					 d->cols[d->pk[i]].orig);
				goto out;
			}
	ok = true;
out:
	free(oc);
	free(sc);
	return ok;
}

bool inspect_reverse(struct ctl *c, const struct deploy *d, unsigned *ords, bool *autoinc,
		     bool *unique, char *err, size_t errlen)
{
	struct colinfo *sc = NULL;
	unsigned sn = 0;
	uint64_t nu = 1;

	if (!read_cols(c, d->db, d->shadow, &sc, &sn)) {
		snprintf(err, errlen, "cannot read the columns of %s.%s: %s", d->db, d->shadow, c->error);
		return false;
	}
	for (unsigned i = 0; i < d->ncols; i++) {
		unsigned j;

		for (j = 0; j < sn; j++)
			if (strcasecmp(sc[j].name, d->cols[i].shadow) == 0)
				break;
		if (j == sn) {
			snprintf(err, errlen, "column %s is missing from %s.%s (changed outside cutoverd?)",
				 d->cols[i].shadow, d->db, d->shadow);
			free(sc);
			return false;
		}
		ords[i] = j;
		autoinc[i] = sc[j].autoinc;
	}
	free(sc);
	if (!ctl_u64(c, &nu, NULL, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE "
		     "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'",
		     d->db, d->shadow)) {
		snprintf(err, errlen, "cannot read information_schema: %s", c->error);
		return false;
	}
	*unique = nu > 0;
	return true;
}

bool inspect_build_shadow(struct ctl *c, struct deploy *d, const struct inspect_renames *r,
			  char *err, size_t errlen)
{
	uint64_t n;
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool engine_ok;

	if (strlen(d->table) + 8 <= 64)
		snprintf(d->shadow, sizeof(d->shadow), "_%s_shadow", d->table);
	else
		snprintf(d->shadow, sizeof(d->shadow), "_cutover_%llu_shadow", (unsigned long long)d->id);
	if (!ctl_u64(c, &n, NULL, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
		     "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q", d->db, d->shadow)) {
		snprintf(err, errlen, "cannot read information_schema: %s", c->error);
		return false;
	}
	if (n != 0) {
		snprintf(err, errlen, "table %s.%s already exists (a shadow left behind?); drop it first",
			 d->db, d->shadow);
		return false;
	}
	if (!ctl_exec(c, "CREATE TABLE %I.%I LIKE %I.%I", d->db, d->shadow, d->db, d->table)) {
		snprintf(err, errlen, "cannot create the shadow table: %s", c->error);
		return false;
	}
	if (!ctl_exec(c, "ALTER TABLE %I.%I %s", d->db, d->shadow, d->alter)) {
		snprintf(err, errlen, "the ALTER failed on the shadow table: %s", c->error);
		goto drop;
	}
	if (!ctl_query(c, &res, "SELECT ENGINE FROM information_schema.TABLES WHERE "
		       "TABLE_SCHEMA = %Q AND TABLE_NAME = %Q", d->db, d->shadow)) {
		snprintf(err, errlen, "cannot read information_schema: %s", c->error);
		goto drop;
	}
	row = mysql_fetch_row(res);
	engine_ok = row != NULL && row[0] != NULL && strcasecmp(row[0], "InnoDB") == 0;
	mysql_free_result(res);
	if (!engine_ok) {
		snprintf(err, errlen, "the ALTER leaves the shadow table without InnoDB (renamed, or another engine)");
		goto drop;
	}
	if (!inspect_map(c, d, r, err, errlen))
		goto drop;
	return true;
drop:
	if (!ctl_exec(c, "DROP TABLE IF EXISTS %I.%I", d->db, d->shadow))
		snprintf(err + strlen(err), errlen - strlen(err), " (and dropping the shadow failed: %s)", c->error);
	return false;
}

bool inspect_defer_indexes(struct ctl *c, struct deploy *d, char *err, size_t errlen)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	char *add = NULL, *drop = NULL;
	size_t alen = 0, dlen = 0;
	FILE *fa, *fd;
	char cur[DEPLOY_NAME_SIZE] = "";
	bool bad = false, any = false, ok = false;

	d->deferred = NULL;
	if (!ctl_query(c, &res, "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE, INDEX_COMMENT, "
		       "MAX(NON_UNIQUE) OVER (PARTITION BY INDEX_NAME) FROM information_schema.STATISTICS "
		       "WHERE TABLE_SCHEMA = %Q AND TABLE_NAME = %Q AND INDEX_NAME <> 'PRIMARY' "
		       "ORDER BY INDEX_NAME, SEQ_IN_INDEX", d->db, d->shadow)) {
		snprintf(err, errlen, "cannot read the shadow's indexes: %s", c->error);
		return false;
	}
	fa = open_memstream(&add, &alen);
	fd = open_memstream(&drop, &dlen);
	if (fa == NULL || fd == NULL) {
		if (fa != NULL)
			fclose(fa);
		if (fd != NULL)
			fclose(fd);
		free(add);
		free(drop);
		mysql_free_result(res);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	/* one pass; an index is taken only if all its rows qualify */
	while ((row = mysql_fetch_row(res)) != NULL) {
		bool plain = row[6] != NULL && strcmp(row[6], "1") == 0 && row[4] != NULL &&
			     strcmp(row[4], "BTREE") == 0 && (row[3] == NULL || strcmp(row[3], "A") == 0) &&
			     (row[5] == NULL || row[5][0] == '\0') && row[1] != NULL;

		if (row[0] == NULL)
			continue;
		if (strcmp(cur, row[0]) != 0) {
			if (cur[0] != '\0' && !bad)
				fputc(')', fa);
			snprintf(cur, sizeof(cur), "%s", row[0]);
			bad = !plain;
			if (bad)
				continue;
			fputs(any ? ", ADD INDEX " : "ADD INDEX ", fa);
			ctl_put_ident(fa, row[0]);
			fputs(" (", fa);
			fputs(any ? ", DROP INDEX " : "DROP INDEX ", fd);
			ctl_put_ident(fd, row[0]);
			any = true;
		} else {
			if (bad)
				continue;
			if (!plain) {
				/* cannot happen for one index (the same type and
				   comment on every row); refuse to defer anything */
				bad = true;
				fclose(fa);
				fclose(fd);
				free(add);
				free(drop);
				mysql_free_result(res);
				return true;
			}
			fputs(", ", fa);
		}
		ctl_put_ident(fa, row[1]);
		if (row[2] != NULL)
			fprintf(fa, "(%s)", row[2]);
	}
	if (cur[0] != '\0' && !bad && any)
		fputc(')', fa);
	mysql_free_result(res);
	if (fclose(fa) != 0 || fclose(fd) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!any) {
		ok = true;
		goto out;
	}
	if (!ctl_exec(c, "ALTER TABLE %I.%I %s", d->db, d->shadow, drop)) {
		snprintf(err, errlen, "cannot drop the shadow's secondary indexes for the copy: %s", c->error);
		goto out;
	}
	d->deferred = add;
	add = NULL;
	ok = true;
out:
	free(add);
	free(drop);
	return ok;
}
