"""
test_sql_prepare.py - SQL-level prepared statements (PREPARE / EXECUTE /
DEALLOCATE in the text protocol) while a deploy request runs.

cutoverd cannot see the text behind `EXECUTE name`, except when it saw the
`PREPARE name FROM 'text'` itself while deploys ran.  Then EXECUTE is
checked as that text would be: it passes when it reads the table or
touches other tables, and when it writes the table it is mirrored like the
text itself, its parameters being the values of its USING list (user
variables, numbers, strings, NULL), which cutoverd reads with a SELECT of
its own first.  A USING list with an expression is refused, with the
reason.  An EXECUTE of a name whose text it did not see (prepared before
the deploy started, FROM @variable, deallocated) is refused as before, and
says how to get past it.
"""

import pymysql
import pytest

from test_deploy import (assert_same, create_ready, db, dproxy, execute, fill, rows)  # noqa: F401 (fixtures)

COLS = ["id", "name", "amount", "created", "flag"]


def ready_deploy(proxy, mariadb, db):
    fill(mariadb, db, "orders", 200)
    execute(mariadb, "CREATE TABLE `%s`.log (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB" % db)
    return create_ready(proxy, "%s.orders ADD COLUMN note VARCHAR(20) NULL" % db)["id"]


def run(cur, sql):
    """Run sql; ("ok", rows) or ("error", code, message)."""
    try:
        cur.execute(sql)
        return ("ok", cur.fetchall())
    except pymysql.MySQLError as e:
        return ("error", e.args[0], e.args[1])


def test_execute_of_statements_prepared_during_the_deploy(dproxy, mariadb, db):
    did = ready_deploy(dproxy, mariadb, db)
    c = dproxy.connect(database=db)
    with c.cursor() as cur:
        cur.execute("SET @id = 7, @v = 41")
        # reads the table: passes, rows as the server gives them
        cur.execute("PREPARE rd FROM 'SELECT name FROM orders WHERE id = ?'")
        assert run(cur, "EXECUTE rd USING @id") == ("ok", (("n6",),))
        # touches only another table: passes, and writes it
        cur.execute("PREPARE other FROM 'INSERT INTO log (v) VALUES (?)'")
        assert run(cur, "EXECUTE other USING @v")[0] == "ok"
        assert rows(mariadb, "SELECT v FROM `%s`.log" % db) == ((41,),)
        # escapes in the literal are the server's: the text is read right
        cur.execute(r"PREPARE esc FROM 'SELECT CONCAT(name, \'\\\'\', ''x'') FROM orders WHERE id = ?'")
        assert run(cur, "EXECUTE esc USING @id") == ("ok", (("n6'x",),))
        # writes the table: mirrored (test_execute_using_is_mirrored)
        cur.execute("PREPARE wr FROM 'UPDATE orders SET name = ''changed'' WHERE id = ?'")
        assert run(cur, "EXECUTE wr USING @id") == ("ok", ())
        assert rows(mariadb, "SELECT name FROM `%s`.orders WHERE id = 7" % db) == (("changed",),)
        # ... unless a value is an expression: refused, with the reason
        r = run(cur, "EXECUTE wr USING @id + 1")
        assert r[0] == "error" and r[1] == 1105, r
        assert "deploy request %d is changing %s.orders" % (did, db) in r[2], r
        assert "set a variable to an expression first" in r[2], r
        assert rows(mariadb, "SELECT name FROM `%s`.orders WHERE id = 8" % db) == (("n7",),)
        # a name prepared again is checked by its new text, either way
        cur.execute("PREPARE rd FROM 'DELETE FROM orders WHERE id = ?'")
        assert run(cur, "EXECUTE rd USING @id")[0] == "ok"
        assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.orders WHERE id = 7" % db) == ((0,),)
        cur.execute("PREPARE wr FROM 'SELECT COUNT(*) FROM orders'")
        assert run(cur, "EXECUTE wr") == ("ok", ((199,),))
        # names ignore case, as the server's do
        assert run(cur, "EXECUTE WR") == ("ok", ((199,),))
        # deallocated: the proxy no longer knows the text, the server no
        # longer has it; either way an error
        cur.execute("DEALLOCATE PREPARE wr")
        assert run(cur, "EXECUTE wr")[0] == "error"
    c.close()
    s = dproxy.admin("deploy show %d" % did)
    assert s["state"] == "ready" and s["refused"] == 2 and s["mirrored"] >= 2, s
    assert_same(mariadb, db, "orders", "_orders_shadow", COLS)


def affected(cur, sql):
    """Run sql: ("ok", affected rows, last insert id) or ("error", code)."""
    try:
        n = cur.execute(sql)
        cur.fetchall()
        return ("ok", n, cur.lastrowid)
    except pymysql.MySQLError as e:
        return ("error", e.args[0])


# (statement prepared, USING list, variables set first): run through the
# proxy on orders under deploy and directly on a twin table; the client
# sees the same, and the shadow ends equal to orders
USING_CASES = [
    ("UPDATE orders SET name = ? WHERE id = ?", "@s, @i", "SET @s = 'x\\y''z', @i = 3"),
    ("UPDATE orders SET amount = ?, flag = ? WHERE id = ?", "@d, @n, @i", "SET @d = 12.50, @n = NULL, @i = 4"),
    ("UPDATE orders SET amount = ? WHERE id = ?", "@f, 5", "SET @f = 0.1e0 + 0.2e0"),
    ("UPDATE orders SET flag = ? WHERE id BETWEEN ? AND ?", "-1, @lo, @hi", "SET @lo = 10, @hi = 14"),
    ("UPDATE orders SET name = CONCAT(name, ?) WHERE id IN (?, ?) ORDER BY id LIMIT 1", "'+', 20, @i",
     "SET @i = 21"),
    ("DELETE FROM orders WHERE id = ?", "@i", "SET @i = 30"),
    ("DELETE FROM orders WHERE id > ? ORDER BY id LIMIT 2", "@i", "SET @i = 190"),
    ("INSERT INTO orders (id, name, amount, created, flag) VALUES (?, ?, ?, ?, ?)",
     "@k, @s, @d, @t, NULL", "SET @k = 500, @s = _latin1 X'E9', @d = 1.5, @t = '2024-05-06 07:08:09'"),
    ("INSERT INTO orders (name, created) VALUES (?, ?), (?, ?)", "@a, @t, 'b', @t",
     "SET @a = 'auto', @t = '2024-01-01'"),
    ("INSERT INTO orders (id, name, created) VALUES (?, ?, NOW()) ON DUPLICATE KEY UPDATE name = ?",
     "@i, 'new', 'dup'", "SET @i = 40"),
    ("REPLACE INTO orders (id, name, created) VALUES (?, ?, '2020-01-01')", "@i, @b", "SET @i = 41, @b = _binary 'bin'"),
    ("UPDATE orders SET name = 'no params' WHERE id = 42", "", ""),
]


@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
def test_execute_using_is_mirrored(dproxy, mariadb, db, mode):
    did = ready_deploy(dproxy, mariadb, db)
    execute(mariadb, "CREATE TABLE `%s`.twin LIKE `%s`.orders" % (db, db))
    execute(mariadb, "INSERT INTO `%s`.twin SELECT * FROM `%s`.orders" % (db, db))
    before = dproxy.admin("deploy show %d" % did)
    c = dproxy.connect(database=db)
    d = pymysql.connect(host=mariadb.host, port=mariadb.port, user="root", database=db, autocommit=True)
    seen = {}
    for conn, table in ((c, "orders"), (d, "twin")):
        with conn.cursor() as cur:
            out = []
            for k, (text, using, setup) in enumerate(USING_CASES):
                if setup:
                    cur.execute(setup)
                if mode != "autocommit":
                    cur.execute("BEGIN")
                cur.execute("PREPARE s%d FROM '%s'" % (k, text.replace("orders", table).replace("'", "''")))
                out.append(affected(cur, "EXECUTE s%d%s" % (k, " USING " + using if using else "")))
                if mode != "autocommit":
                    cur.execute(mode.upper())
            seen[table] = out
    c.close()
    d.close()
    assert seen["orders"] == seen["twin"]
    assert all(r[0] == "ok" for r in seen["orders"]), seen["orders"]
    assert_same(mariadb, db, "orders", "twin", COLS)
    assert_same(mariadb, db, "orders", "_orders_shadow", COLS)
    after = dproxy.admin("deploy show %d" % did)
    assert after["state"] == "ready" and after["refused"] == before["refused"], after
    assert after["mirrored"] >= before["mirrored"] + len(USING_CASES), (before, after)


def test_execute_using_values_that_cannot_be_read_exactly(dproxy, mariadb, db):
    """A string value read back in another character set than the
    connection's is refused; numbers still go through; a wrong number of
    values is the server's error."""
    did = ready_deploy(dproxy, mariadb, db)
    c = dproxy.connect(database=db)
    with c.cursor() as cur:
        cur.execute("SET @s = 'renamed', @i = 9")
        cur.execute("SET character_set_results = NULL")
        cur.execute("PREPARE u FROM 'UPDATE orders SET name = ? WHERE id = ?'")
        r = run(cur, "EXECUTE u USING @s, @i")
        assert r[0] == "error" and r[1] == 1105 and "character sets differ" in r[2], r
        assert "deploy request %d" % did in r[2], r
        assert run(cur, "EXECUTE u USING 7, @i") == ("ok", ())
        cur.execute("SET NAMES utf8mb4")
        # SET NAMES forgot the text: PREPARE it again
        r = run(cur, "EXECUTE u USING @s, @i")
        assert r[0] == "error" and r[1] == 1105 and "has not seen" in r[2], r
        cur.execute("PREPARE u FROM 'UPDATE orders SET name = ? WHERE id = ?'")
        assert run(cur, "EXECUTE u USING @s, @i") == ("ok", ())
        r = run(cur, "EXECUTE u USING @s")
        assert r[0] == "error" and r[1] == 1105 and "1 values for a statement with 2 parameters" in r[2], r
        r = run(cur, "EXECUTE u")
        assert r[0] == "error" and r[1] == 1105 and "0 values" in r[2], r
        # a string that keeps another collation than the connection's
        # (as SELECT ... INTO @s gives): a literal would compare otherwise
        cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_bin")
        cur.execute("SET @cs = 'N1'")
        cur.execute("SET NAMES utf8mb4")
        cur.execute("PREPARE c FROM 'UPDATE orders SET name = ''coll'' WHERE id > ? AND ? = name'")
        r = run(cur, "EXECUTE c USING 0, @cs")
        assert r[0] == "error" and r[1] == 1105 and "collation" in r[2], r
        assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.orders WHERE name = 'coll'" % db) == ((0,),)
        # values among comments are not read (the list is copied as text)
        cur.execute("PREPARE u FROM 'UPDATE orders SET name = ? WHERE id = ?'")
        r = run(cur, "EXECUTE u USING @s /*! , @i */")
        assert r[0] == "error" and r[1] == 1105 and "no comment among them" in r[2], r
        # the session's sql_select_limit does not hide the values
        cur.execute("SET sql_select_limit = 0, @s = 'limited'")
        cur.execute("PREPARE u FROM 'UPDATE orders SET name = ? WHERE id = ?'")
        assert run(cur, "EXECUTE u USING @s, @i") == ("ok", ())
        cur.execute("SET sql_select_limit = DEFAULT")
    c.close()
    assert rows(mariadb, "SELECT name FROM `%s`.orders WHERE id = 9" % db) == (("limited",),)
    s = dproxy.admin("deploy show %d" % did)
    assert s["refused"] == 6, s
    assert_same(mariadb, db, "orders", "_orders_shadow", COLS)


def test_execute_after_the_sql_mode_changed(dproxy, mariadb, db):
    """The server read the text with the settings of its PREPARE; after a
    SET of sql_mode (or NAMES, or a CALL) cutoverd no longer knows how, and
    refuses the EXECUTE until it is prepared again."""
    did = ready_deploy(dproxy, mariadb, db)
    c = dproxy.connect(database=db)
    with c.cursor() as cur:
        cur.execute(r"UPDATE orders SET name = 'a\\b' WHERE id = 1")         # a\b
        cur.execute(r"UPDATE orders SET name = 'a\\\\b' WHERE id = 2")       # a\\b
        assert rows(mariadb, "SELECT name FROM `%s`.orders WHERE id <= 2 ORDER BY id" % db) == \
            ((r"a\b",), (r"a\\b",))
        # the server reads the inner literal 'a\\b' as a\b: row 1
        cur.execute(r"PREPARE d FROM 'DELETE FROM orders WHERE name = ''a\\\\b'' AND id < ?'")
        cur.execute("SET @@session.sql_mode = CONCAT(@@session.sql_mode, ',NO_BACKSLASH_ESCAPES')")
        # read again under NO_BACKSLASH_ESCAPES it would name row 2: refused
        r = run(cur, "EXECUTE d USING 10")
        assert r[0] == "error" and r[1] == 1105 and "has not seen" in r[2], r
        assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.orders WHERE id <= 2" % db) == ((2,),)
        # prepared again under the new mode, 'a\\b' is a\\b: row 2
        cur.execute(r"PREPARE d FROM 'DELETE FROM orders WHERE name = ''a\\b'' AND id < ?'")
        assert run(cur, "EXECUTE d USING 10") == ("ok", ())
        # a user variable is not a setting: the text stays known
        cur.execute("SET @x = 1")
        cur.execute("PREPARE e FROM 'UPDATE orders SET flag = ? WHERE id = 3'")
        cur.execute("SET @x = 2, @y := 3")
        assert run(cur, "EXECUTE e USING @x") == ("ok", ())
    c.close()
    assert rows(mariadb, "SELECT id FROM `%s`.orders WHERE id <= 2" % db) == ((1,),)
    assert rows(mariadb, "SELECT flag FROM `%s`.orders WHERE id = 3" % db) == ((2,),)
    assert dproxy.admin("deploy show %d" % did)["refused"] == 1
    assert_same(mariadb, db, "orders", "_orders_shadow", COLS)


@pytest.mark.parametrize("how", ["before the deploy", "from a variable", "failed", "other database",
                                 "multi-statement"])
def test_execute_whose_text_was_not_seen_is_refused(dproxy, mariadb, db, how):
    c = dproxy.connect(database=db, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    with c.cursor() as cur:
        if how == "before the deploy":
            fill(mariadb, db, "orders", 10)
            cur.execute("PREPARE s FROM 'SELECT COUNT(*) FROM orders'")
        did = ready_deploy(dproxy, mariadb, db) if how != "before the deploy" else None
        if did is None:
            execute(mariadb, "CREATE TABLE `%s`.log (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB" % db)
            did = create_ready(dproxy, "%s.orders ADD COLUMN note VARCHAR(20) NULL" % db)["id"]
        if how == "from a variable":
            cur.execute("SET @q = 'SELECT COUNT(*) FROM orders'")
            cur.execute("PREPARE s FROM @q")
        elif how == "failed":
            cur.execute("PREPARE s FROM 'SELECT COUNT(*) FROM orders'")
            with pytest.raises(pymysql.MySQLError):
                cur.execute("PREPARE s FROM 'SELEKT oops'")
        elif how == "other database":
            cur.execute("PREPARE s FROM 'SELECT COUNT(*) FROM orders'")
            cur.execute("USE mysql")
        elif how == "multi-statement":
            cur.execute("PREPARE s FROM 'SELECT COUNT(*) FROM orders'; DO 1")
            while cur.nextset():
                pass
        r = run(cur, "EXECUTE s")
        assert r[0] == "error", r
        if how != "failed":
            # the server still has s: only the proxy says no, and says why
            assert r[1] == 1105 and "has not seen" in r[2] and "PREPARE it again" in r[2], r
        # prepared again from a literal, in the deploy's database: it passes
        cur.execute("USE `%s`" % db)
        cur.execute("PREPARE s FROM 'SELECT COUNT(*) FROM orders'")
        assert run(cur, "EXECUTE s")[0] == "ok"
    c.close()


def test_prepared_statements_after_the_deploy_ends(dproxy, mariadb, db):
    """With no deploy running EXECUTE is the server's business; the list of
    texts is dropped, so a name prepared meanwhile is not judged by an old
    text once another deploy starts."""
    did = ready_deploy(dproxy, mariadb, db)
    c = dproxy.connect(database=db)
    with c.cursor() as cur:
        cur.execute("PREPARE s FROM 'SELECT COUNT(*) FROM orders'")
        assert run(cur, "EXECUTE s")[0] == "ok"
        assert dproxy.admin("deploy cancel %d" % did, timeout=30)["ok"]
        # no deploy: the write passes (nothing to mirror into)
        cur.execute("PREPARE s FROM 'UPDATE orders SET flag = 9 WHERE id = 3'")
        assert run(cur, "EXECUTE s")[0] == "ok"
        create_ready(dproxy, "%s.orders ADD COLUMN note2 VARCHAR(20) NULL" % db)
        # s is the UPDATE now, which the proxy saw while no deploy ran:
        # refused as unseen, not passed as the old SELECT
        res = run(cur, "EXECUTE s")
        assert res[0] == "error" and "has not seen" in res[2], res
    c.close()
    assert_same(mariadb, db, "orders", "_orders_shadow", COLS)


def test_binary_prepared_write_after_the_sql_mode_changed(dproxy, mariadb, db):
    """COM_STMT_PREPARE'd the same way: the server read the text under the
    sql_mode of its prepare; executed under another NO_BACKSLASH_ESCAPES,
    a write to the table is refused rather than read otherwise."""
    import struct
    from test_deferred import prepare

    did = ready_deploy(dproxy, mariadb, db)
    c = dproxy.connect(database=db)

    def execute_int(stmt, v):
        c._execute_command(0x17, struct.pack("<IBI", stmt, 0, 1) + b"\x00" + b"\x01" + b"\x03\x00" +
                           struct.pack("<i", v))
        try:
            return ("ok", c._read_packet().is_ok_packet())
        except pymysql.MySQLError as e:
            return ("error", e.args[0], e.args[1])

    stmt = prepare(c, r"UPDATE orders SET name = 'a\\b' WHERE id = ?")      # a\b
    with c.cursor() as cur:
        cur.execute("SET @@session.sql_mode = CONCAT(@@session.sql_mode, ',NO_BACKSLASH_ESCAPES')")
    r = execute_int(stmt, 4)
    assert r[0] == "error" and r[1] == 1105 and "prepared under another sql_mode" in r[2], r
    with c.cursor() as cur:
        cur.execute("SET @@session.sql_mode = REPLACE(@@session.sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
    assert execute_int(stmt, 4) == ("ok", True)
    c.close()
    assert rows(mariadb, "SELECT name FROM `%s`.orders WHERE id = 4" % db) == ((r"a\b",),)
    s = dproxy.admin("deploy show %d" % did)
    assert s["refused"] == 1 and s["mirrored"] >= 1, s
    assert_same(mariadb, db, "orders", "_orders_shadow", COLS)
