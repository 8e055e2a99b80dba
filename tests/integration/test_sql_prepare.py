"""
test_sql_prepare.py - SQL-level prepared statements (PREPARE / EXECUTE /
DEALLOCATE in the text protocol) while a deploy request runs.

cutoverd cannot see the text behind `EXECUTE name`, except when it saw the
`PREPARE name FROM 'text'` itself while deploys ran.  Then EXECUTE is
checked as that text would be: it passes when it reads the table or
touches other tables, and is refused, with the reason, when it would write
the table (such writes are not mirrored).  An EXECUTE of a name whose text
it did not see (prepared before the deploy started, FROM @variable,
deallocated) is refused as before, and says how to get past it.
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
        # writes the table: refused with the reason, nothing written
        cur.execute("PREPARE wr FROM 'UPDATE orders SET name = ''changed'' WHERE id = ?'")
        r = run(cur, "EXECUTE wr USING @id")
        assert r[0] == "error" and r[1] == 1105, r
        assert "deploy request %d is changing %s.orders" % (did, db) in r[2], r
        assert "prepared with PREPARE that writes it" in r[2], r
        assert rows(mariadb, "SELECT name FROM `%s`.orders WHERE id = 7" % db) == (("n6",),)
        # a name prepared again is checked by its new text, either way
        cur.execute("PREPARE rd FROM 'DELETE FROM orders WHERE id = ?'")
        assert run(cur, "EXECUTE rd USING @id")[0] == "error"
        cur.execute("PREPARE wr FROM 'SELECT COUNT(*) FROM orders'")
        assert run(cur, "EXECUTE wr") == ("ok", ((200,),))
        # names ignore case, as the server's do
        assert run(cur, "EXECUTE WR") == ("ok", ((200,),))
        # deallocated: the proxy no longer knows the text, the server no
        # longer has it; either way an error
        cur.execute("DEALLOCATE PREPARE wr")
        assert run(cur, "EXECUTE wr")[0] == "error"
    c.close()
    s = dproxy.admin("deploy show %d" % did)
    assert s["state"] == "ready" and s["refused"] >= 2, s
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
