"""
test_routines.py - stored programs while a deploy request runs.

A write a stored procedure, function or trigger makes runs inside the
server, where the proxy cannot mirror it.  cutoverd reads the stored
programs when a deploy is created (and when it loads the deploy again after
a restart) and decides from their bodies:

 - a CALL passes when the procedure names none of the deploy's tables or
   only reads them (also through the procedures and functions it calls);
   it is refused, with the reason, when it may write them, runs dynamic
   SQL, or did not exist when the list was read;
 - a function, or a trigger on another table, that may write the table
   stops `deploy create`, which then changes nothing.
"""

import struct

import pymysql
import pytest

from test_params import RawSession
from test_deploy import (assert_same, create, create_ready, db, dproxy, execute, fill, rows,  # noqa: F401
                         table_exists, wait_state)

COLS = ["id", "name", "amount", "created", "flag"]


def procs(mariadb, db, *bodies):
    execute(mariadb, *[b.format(db=db) for b in bodies])


def call(proxy, db, sql, autocommit=True):
    c = proxy.connect(database=db, autocommit=autocommit)
    try:
        with c.cursor() as cur:
            cur.execute(sql)
            out = [cur.fetchall()]
            while cur.nextset():
                out.append(cur.fetchall())
            return out
    finally:
        c.close()


def refused(proxy, db, sql):
    with pytest.raises(pymysql.MySQLError) as e:
        call(proxy, db, sql)
    assert e.value.args[0] == 1105, e.value.args
    return e.value.args[1]


def test_call_during_a_deploy(dproxy, mariadb, db):
    fill(mariadb, db, "orders", 300)
    procs(mariadb, db,
          "CREATE TABLE `{db}`.log (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB",
          "CREATE PROCEDURE `{db}`.p_other(x INT) BEGIN INSERT INTO log (v) VALUES (x); "
          "SELECT COUNT(*) FROM log; END",
          "CREATE PROCEDURE `{db}`.p_log(x INT) BEGIN INSERT INTO log (v) VALUES (x); END",
          "CREATE PROCEDURE `{db}`.p_read(x INT) BEGIN SELECT name FROM orders WHERE id = x; END",
          "CREATE FUNCTION `{db}`.f_count() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM orders)",
          "CREATE PROCEDURE `{db}`.p_read_f() BEGIN SELECT f_count(); END",
          "CREATE PROCEDURE `{db}`.p_write() BEGIN UPDATE orders SET flag = 1 WHERE id = 1; END",
          "CREATE PROCEDURE `{db}`.p_calls_writer() BEGIN CALL p_write(); END",
          "CREATE PROCEDURE `{db}`.p_dyn() BEGIN PREPARE s FROM 'SELECT 1'; EXECUTE s; END")
    r = create(dproxy, "--paused %s.orders ADD COLUMN note VARCHAR(20) NULL" % db)
    assert r["ok"], r
    did = r["id"]

    # procedures that do not write the table: they run, results and all
    assert call(dproxy, db, "CALL p_other(7)")[0] == ((1,),)
    assert call(dproxy, db, "CALL `%s`.p_other(8)" % db)[0] == ((2,),)
    assert call(dproxy, db, "CALL p_read(3)")[0] == (("n2",),)
    assert call(dproxy, db, "CALL P_READ_F()")[0] == ((300,),)
    assert rows(mariadb, "SELECT v FROM `%s`.log ORDER BY id" % db) == ((7,), (8,))

    # prepared (COM_STMT_PREPARE / EXECUTE, a binary INT parameter)
    raw = RawSession(dproxy)
    try:
        sid, nparams = raw.prepare(("CALL `%s`.p_log(?)" % db).encode())
        assert nparams == 1
        assert raw.execute(sid, 1, [(3, 0)], struct.pack("<i", 42)) == (None, [])
        sid, nparams = raw.prepare(("CALL `%s`.p_write()" % db).encode())
        err, _ = raw.execute(sid, 0, [], b"")
        assert err is not None and "CALL %s.p_write is refused" % db in err, err
    finally:
        raw.close()
    assert rows(mariadb, "SELECT v FROM `%s`.log ORDER BY id" % db) == ((7,), (8,), (42,))
    execute(mariadb, "DELETE FROM `%s`.log WHERE v = 42" % db)

    # and inside a transaction that writes the table through the proxy
    c = dproxy.connect(database=db, autocommit=False)
    with c.cursor() as cur:
        cur.execute("UPDATE orders SET name = 'in trx' WHERE id = 5")
        cur.execute("CALL p_other(9)")
        assert cur.fetchall() == ((3,),)
        while cur.nextset():
            pass
        cur.execute("DELETE FROM orders WHERE id = 6")
    c.commit()
    c.close()

    # procedures that may write it: refused, saying why, nothing changed
    msg = refused(dproxy, db, "CALL p_write()")
    assert "deploy request %d is changing %s.orders" % (did, db) in msg, msg
    assert "CALL %s.p_write" % db in msg and "names %s.orders and writes" % db in msg, msg
    msg = refused(dproxy, db, "CALL p_calls_writer()")
    assert "calls procedure %s.p_write, which may write it" % db in msg, msg
    msg = refused(dproxy, db, "CALL p_dyn()")
    assert "dynamic SQL" in msg, msg
    assert rows(mariadb, "SELECT flag FROM `%s`.orders WHERE id = 1" % db) == ((None,),)

    # a procedure that did not exist when the deploy started
    procs(mariadb, db, "CREATE PROCEDURE `{db}`.p_later() BEGIN SELECT 1; END")
    msg = refused(dproxy, db, "CALL p_later()")
    assert "%s.p_later was not there" % db in msg, msg
    # nor can one be created through the proxy while it runs
    with pytest.raises(pymysql.MySQLError) as e:
        call(dproxy, db, "CREATE PROCEDURE p_new() BEGIN SELECT 1; END")
    assert e.value.args[0] == 1105 and "cannot be known" in e.value.args[1], e.value.args

    s = dproxy.admin("deploy show %d" % did)
    assert s["refused"] >= 4, s
    dproxy.admin("deploy set %d paused=0" % did)
    s = wait_state(dproxy, did, ("ready", "failed"))
    assert s["state"] == "ready" and s["verify_mismatches"] == 0, s
    assert_same(mariadb, db, "orders", "_orders_shadow", COLS)
    assert rows(mariadb, "SELECT name FROM `%s`._orders_shadow WHERE id = 5" % db) == (("in trx",),)

    # once it ends, every CALL passes again
    dproxy.admin("deploy cancel %d" % did, timeout=30)
    wait_state(dproxy, did, ("cancelled",))
    call(dproxy, db, "CALL p_write()")
    assert rows(mariadb, "SELECT flag FROM `%s`.orders WHERE id = 1" % db) == ((1,),)


UNSAFE = [
    ("function",
     "CREATE FUNCTION `{db}`.f_bad(x INT) RETURNS INT MODIFIES SQL DATA "
     "BEGIN UPDATE orders SET flag = 0 WHERE id = x; RETURN 1; END",
     "stored function {db}.f_bad may change {db}.orders (it names {db}.orders and writes)"),
    ("function through a procedure",
     "CREATE PROCEDURE `{db}`.p_w() BEGIN DELETE FROM `{db}`.orders WHERE id = 1; END; "
     "CREATE FUNCTION `{db}`.f_via() RETURNS INT MODIFIES SQL DATA BEGIN CALL p_w(); RETURN 1; END",
     "stored function {db}.f_via may change {db}.orders (it calls procedure {db}.p_w, which may write it)"),
    ("trigger on another table",
     "CREATE TABLE `{db}`.items (id INT PRIMARY KEY) ENGINE=InnoDB; "
     "CREATE TRIGGER `{db}`.trg AFTER INSERT ON `{db}`.items FOR EACH ROW "
     "INSERT INTO orders (name, created) VALUES ('from trigger', NOW())",
     "trigger {db}.trg on {db}.items may change {db}.orders"),
]


@pytest.mark.parametrize("case", UNSAFE, ids=[u[0] for u in UNSAFE])
def test_deploy_refused_for_programs_that_write_the_table(dproxy, mariadb, db, case):
    _, ddl, want = case
    fill(mariadb, db, "orders", 50)
    conn = mariadb.root_connect(autocommit=True, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    with conn.cursor() as cur:
        cur.execute(ddl.format(db=db))
        while cur.nextset():
            pass
    conn.close()
    r = create(dproxy, "%s.orders ADD COLUMN note INT" % db)
    assert not r["ok"], r
    assert want.format(db=db) in r["error"] and "not mirrored" in r["error"], r
    assert not table_exists(mariadb, db, "_orders_shadow")
    assert dproxy.admin("deploy list")["deploys"] == []
    # a function that only reads the table does not stop it
    execute(mariadb, "DROP FUNCTION IF EXISTS `%s`.f_bad" % db, "DROP FUNCTION IF EXISTS `%s`.f_via" % db,
            "DROP TRIGGER IF EXISTS `%s`.trg" % db,
            "CREATE FUNCTION `%s`.f_ok() RETURNS INT READS SQL DATA RETURN (SELECT MAX(id) FROM orders)" % db)
    s = create_ready(dproxy, "%s.orders ADD COLUMN note INT" % db)
    dproxy.admin("deploy cancel %d" % s["id"], timeout=30)


def test_procedures_read_again_after_a_restart(dproxy, mariadb, db):
    """kill -9, a procedure created while cutoverd was down: the list is
    read again when the deploy is loaded, so it may be CALLed, and a
    writer is still refused."""
    fill(mariadb, db, "orders", 100)
    procs(mariadb, db,
          "CREATE PROCEDURE `{db}`.p_w() BEGIN UPDATE orders SET flag = 1; END")
    r = create(dproxy, "--paused %s.orders ADD COLUMN note INT" % db)
    assert r["ok"], r
    did = r["id"]
    dproxy.proc.kill()
    dproxy.proc.wait()
    procs(mariadb, db, "CREATE PROCEDURE `{db}`.p_new() BEGIN SELECT COUNT(*) FROM orders; END")
    dproxy.start()
    assert call(dproxy, db, "CALL p_new()")[0] == ((100,),)
    msg = refused(dproxy, db, "CALL p_w()")
    assert "CALL %s.p_w is refused" % db in msg, msg
    dproxy.admin("deploy cancel %d" % did, timeout=30)
