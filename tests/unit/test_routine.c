/*
 * test_routine.c - unit test of the stored-program analysis
 * (protocol/routine.c): which programs may read or write the tables of a
 * deploy, by their bodies, how names resolve (qualified, unqualified in the
 * program's own database, quoted, spaced, a column of db.table, names
 * that are not all identifier bytes), what a call
 * passes on (through chains and cycles), dynamic SQL, unreadable bodies,
 * and random bytes as bodies.  Bodies are copied into buffers of exactly
 * their length (ASan catches a read past the end).
 */
#include "protocol/routine.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sql_table targets[] = {
	{ "shop", "orders" },
	{ "shop", "_orders_new" },
	{ "shop", "orders_v" },
};
#define NT (sizeof(targets) / sizeof(targets[0]))

struct prog {
	const char *db, *name;
	char kind;
	const char *body;       /* NULL: unreadable */
	enum routine_use want;
	const char *why;        /* a part of the reason, or NULL */
};

static void run_for(const char *title, const struct prog *p, size_t n, const struct sql_table *tg, size_t nt)
{
	struct routine *r = calloc(n, sizeof(*r));
	char **copies = calloc(n, sizeof(*copies));

	for (size_t i = 0; i < n; i++) {
		snprintf(r[i].db, sizeof(r[i].db), "%s", p[i].db);
		snprintf(r[i].name, sizeof(r[i].name), "%s", p[i].name);
		r[i].kind = p[i].kind;
		if (p[i].body != NULL) {
			copies[i] = (char *)dup_exact(p[i].body, strlen(p[i].body));
			r[i].body = copies[i];
			r[i].body_len = strlen(p[i].body);
		}
		r[i].use = RU_NONE;
	}
	check(routines_classify(r, n, tg, nt), "%s: classified", title);
	for (size_t i = 0; i < n; i++) {
		check(r[i].use == p[i].want, "%s: %s %s.%s is %s (got %s: %s)", title, routine_kind_name(p[i].kind),
		      p[i].db, p[i].name, routine_use_name(p[i].want), routine_use_name(r[i].use), r[i].why);
		if (p[i].why != NULL)
			check(strstr(r[i].why, p[i].why) != NULL, "%s: %s's reason \"%s\" says \"%s\"", title,
			      p[i].name, r[i].why, p[i].why);
		if (r[i].use != RU_NONE)
			check(r[i].why[0] != '\0', "%s: %s has a reason", title, p[i].name);
		free(copies[i]);
	}
	free(copies);
	free(r);
}

static void run(const char *title, const struct prog *p, size_t n)
{
	run_for(title, p, n, targets, NT);
}

static void test_names(void)
{
	static const struct prog p[] = {
		{ "shop", "none", 'P', "BEGIN SELECT * FROM customers; INSERT INTO log VALUES (1); END", RU_NONE, NULL },
		{ "shop", "reads", 'P', "BEGIN SELECT COUNT(*) FROM orders WHERE id > 5; END", RU_READS,
		  "names shop.orders" },
		{ "shop", "writes", 'P', "BEGIN UPDATE orders SET qty = qty + 1 WHERE id = p; END", RU_WRITES,
		  "and writes" },
		{ "shop", "qualified", 'P', "BEGIN DELETE FROM shop.orders WHERE id = 1; END", RU_WRITES, NULL },
		{ "shop", "quoted", 'P', "BEGIN DELETE FROM `shop`.`ORDERS` WHERE id = 1; END", RU_WRITES, NULL },
		{ "other", "elsewhere", 'P', "BEGIN DELETE FROM orders WHERE id = 1; END", RU_NONE, NULL },
		{ "other", "reaches", 'P', "BEGIN INSERT INTO t SELECT * FROM shop.orders; END", RU_WRITES, NULL },
		{ "shop", "other_db", 'P', "BEGIN DELETE FROM archive.orders WHERE id = 1; END", RU_NONE, NULL },
		{ "shop", "column", 'P', "BEGIN SELECT x.y.orders FROM x.y; END", RU_NONE, NULL },
		{ "shop", "in_string", 'P', "BEGIN INSERT INTO log VALUES ('orders'); END", RU_WRITES, NULL },
		{ "shop", "in_comment", 'P', "BEGIN /* orders */ SELECT 1; END", RU_READS, NULL },
		{ "shop", "word_part", 'P', "BEGIN INSERT INTO orders_log SELECT * FROM xorders; END", RU_NONE,
		  NULL },
		{ "shop", "spaced", 'P', "BEGIN DELETE FROM shop . `orders` WHERE 1; END", RU_WRITES, NULL },
		{ "shop", "spaced_other", 'P', "BEGIN DELETE FROM arch . `orders` WHERE 1; END", RU_NONE, NULL },
		{ "shop", "escapes_undone", 'P', "BEGIN SELECT 'it's'; UPDATE orders SET a = 'x'; END", RU_WRITES,
		  NULL },
		{ "shop", "shadow", 'P', "BEGIN INSERT INTO _orders_new VALUES (1); END", RU_WRITES,
		  "shop._orders_new" },
		{ "shop", "view", 'P', "BEGIN SELECT * FROM orders_v; END", RU_READS, "shop.orders_v" },
		{ "shop", "for_update", 'P', "BEGIN SELECT * FROM orders FOR UPDATE; END", RU_WRITES, NULL },
		{ "shop", "dynamic", 'P', "BEGIN PREPARE s FROM @q; EXECUTE s; END", RU_UNKNOWN, "dynamic SQL" },
		{ "shop", "immediate", 'P', "BEGIN EXECUTE IMMEDIATE 'DELETE FROM t'; END", RU_UNKNOWN, NULL },
		{ "shop", "hidden", 'P', NULL, RU_UNKNOWN, "cannot be read" },
		{ "shop", "unterminated", 'P', "BEGIN SELECT 'abc", RU_NONE, NULL },
		{ "shop", "func_execute", 'F', "RETURN 1 /* no EXECUTE in a function */", RU_NONE, NULL },
		{ "shop", "func", 'F', "RETURN (SELECT MAX(id) FROM orders)", RU_READS, NULL },
		{ "shop", "trg", 'T', "INSERT INTO orders (id) VALUES (NEW.id)", RU_WRITES, NULL },
		{ "shop", "trg_new", 'T', "SET NEW.orders = 1", RU_NONE, NULL },
	};

	run("names", p, sizeof(p) / sizeof(p[0]));
}

static void test_calls(void)
{
	static const struct prog p[] = {
		{ "shop", "a", 'P', "BEGIN CALL b(); END", RU_WRITES, "procedure shop.b" },
		{ "shop", "b", 'P', "BEGIN CALL c(1); END", RU_WRITES, NULL },
		{ "shop", "c", 'P', "BEGIN DELETE FROM orders; END", RU_WRITES, NULL },
		{ "shop", "reader", 'P', "BEGIN SELECT f(1); END", RU_READS, "function shop.f, which reads it" },
		{ "shop", "reader_writes", 'P', "BEGIN INSERT INTO log VALUES (f(1)); END", RU_WRITES, "and it writes" },
		{ "shop", "f", 'F', "RETURN (SELECT COUNT(*) FROM orders)", RU_READS, NULL },
		{ "other", "remote", 'P', "BEGIN CALL shop.c(); END", RU_WRITES, NULL },
		{ "other", "not_remote", 'P', "BEGIN CALL c(); END", RU_NONE, NULL },
		{ "other", "c", 'P', "BEGIN SELECT 1; END", RU_NONE, NULL },
		{ "shop", "cyc1", 'P', "BEGIN CALL cyc2(); END", RU_NONE, NULL },
		{ "shop", "cyc2", 'P', "BEGIN CALL cyc1(); CALL cyc2(); END", RU_NONE, NULL },
		{ "shop", "cyc3", 'P', "BEGIN CALL cyc4(); END", RU_UNKNOWN, "cannot be analysed" },
		{ "shop", "cyc4", 'P', "BEGIN CALL cyc3(); CALL dyn(); END", RU_UNKNOWN, NULL },
		{ "shop", "dyn", 'P', "BEGIN EXECUTE s; END", RU_UNKNOWN, NULL },
		{ "shop", "trg", 'T', "CALL c()", RU_WRITES, NULL },
		{ "shop", "calls_trigger_name", 'P', "BEGIN SELECT trg; END", RU_NONE, NULL },
		{ "shop", "mentions", 'P', "BEGIN SELECT c, f FROM x; SELECT f.c FROM f; END", RU_NONE, NULL },
		{ "shop", "spaced_call", 'P', "BEGIN CALL\n `shop` . `c` ; END", RU_WRITES, NULL },
		{ "shop", "spaced_func", 'P', "BEGIN SELECT f (1); END", RU_READS, NULL },
		/* comments between CALL, the qualifier, the name and '(' */
		{ "shop", "cm_block", 'P', "BEGIN CALL /* go */ c(); END", RU_WRITES, NULL },
		{ "shop", "cm_blocks", 'P', "BEGIN CALL/**/`shop`/* x */./*y*/c; END", RU_WRITES, NULL },
		{ "shop", "cm_dash", 'P', "BEGIN CALL -- the writer\n  c(); END", RU_WRITES, NULL },
		{ "shop", "cm_hash", 'P', "BEGIN CALL # the writer\r\n shop # db\n . c(); END", RU_WRITES, NULL },
		{ "shop", "cm_dash_end", 'P', "BEGIN CALL --\nc(); END", RU_WRITES, NULL },
		{ "shop", "cm_func", 'P', "BEGIN SELECT f /* x */ (1); END", RU_READS, NULL },
		{ "shop", "cm_func_line", 'P', "BEGIN SELECT f -- x\n (1); END", RU_READS, NULL },
		/* not a comment: a minus sign; and a comment's word is no call */
		{ "shop", "cm_minus", 'P', "BEGIN SELECT 1--1\n, c FROM x; END", RU_NONE, NULL },
		{ "shop", "cm_inside", 'P', "BEGIN CALL /* c */ other.c(); END", RU_NONE, NULL },
	};

	run("calls", p, sizeof(p) / sizeof(p[0]));
}

static void test_odd_names(void)
{
	static const struct sql_table odd[] = { { "shop", "my-table" }, { "shop", "t\xc3\xa4" } };
	static const struct prog p[] = {
		{ "shop", "hyphen", 'P', "BEGIN DELETE FROM `MY-TABLE`; END", RU_WRITES, "shop.my-table" },
		{ "shop", "utf8", 'P', "BEGIN SELECT 1 FROM `t\xc3\xa4`; END", RU_READS, NULL },
		{ "shop", "utf8_longer", 'P', "BEGIN SELECT 1 FROM other.t\xc3\xa4x; END", RU_NONE, NULL },
	};

	run_for("odd names", p, sizeof(p) / sizeof(p[0]), odd, sizeof(odd) / sizeof(odd[0]));
}

static void test_random(void)
{
	static const char *const words[] = { "orders", "shop", ".", "`orders`", "CALL", "p", "(", ")", ";",
					     "INSERT", "'", "\"", "`", "/*", "*/", "--", "\n", "PREPARE",
					     "BEGIN", "END", "@x", "?", "\\", "NEW", " " };
	unsigned seed = 12345;
	size_t bad = 0;

	for (int round = 0; round < 2000; round++) {
		struct routine r[3];
		char buf[3][256];

		memset(r, 0, sizeof(r));
		for (int k = 0; k < 3; k++) {
			size_t len = 0;
			int nw = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 30;

			for (int w = 0; w < nw; w++) {
				const char *x = words[((seed = seed * 1103515245u + 12345u) >> 16) %
						      (sizeof(words) / sizeof(words[0]))];

				if (len + strlen(x) + 1 >= sizeof(buf[k]))
					break;
				memcpy(buf[k] + len, x, strlen(x));
				len += strlen(x);
				buf[k][len++] = ' ';
			}
			strcpy(r[k].db, k == 2 ? "other" : "shop");
			snprintf(r[k].name, sizeof(r[k].name), "%c", "pqr"[k]);
			r[k].kind = k == 1 ? 'F' : 'P';
			r[k].body = (const char *)dup_exact(buf[k], len);
			r[k].body_len = len;
		}
		if (!routines_classify(r, 3, targets, NT))
			bad++;
		for (int k = 0; k < 3; k++) {
			if (r[k].use > RU_UNKNOWN || (r[k].use != RU_NONE && r[k].why[0] == '\0'))
				bad++;
			free((char *)r[k].body);
		}
	}
	check(bad == 0, "2000 rounds of random bodies: every use in range, with a reason (%zu bad)", bad);
	check(routines_classify(NULL, 0, targets, NT), "no programs at all");
}

int main(void)
{
	test_names();
	test_calls();
	test_odd_names();
	test_random();
	return check_done();
}
