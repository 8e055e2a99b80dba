"""
test_cutover.py - cut-over, revert and finalize of deploy requests (issue 4).

    deploy cutover <id> [<id> ...]   ready (or reverted) -> complete, one RENAME
    deploy revert <id>               complete (revertible) -> reverted
    deploy finalize <id>             ends the revert window (drops the table
                                     that is not live, unless keep_old_table)
    deploy create --auto-cutover ... cuts over by itself once ready

Each test has its own database and its own catalog schema.  Writes go
through the proxy (PyMySQL); the tables are read straight from MariaDB and
compared through the columns they have in common (the ALTERs here add
columns or widen one).  Client workloads are in cutover_load.py; they must
see zero errors.  Timing is never pass/fail: where a test checks that a
statement is held, it checks that it has not completed (and that the proxy
lists its session as held) while the transaction that holds the drain is
still open; where it checks that a statement is not held, it waits for it
with a generous bound while that transaction is still open (a held
statement would wait for the drain timeout, set to 30 s there).
"""

import re
import signal
import socket
import threading
import time

import pymysql
import pytest

from conftest import TEST_TIMEOUT, free_port
from cutover_load import Bank, Writers
from test_deploy import execute, fill, rows, scrape, table_exists, tables

ALTER = "ADD COLUMN note VARCHAR(40) NULL, ADD INDEX idx_flag (flag)"
HELD_STATES = ("held",)           # the `clients` state of a session held at the gate
BODY_LIMIT = 120                  # seconds, one test body (conftest's alarm, re-armed lower)
LONG_DRAIN = 30000                # ms: tests where a statement must NOT be held use this


# -- helpers ---------------------------------------------------------------------------


def limit(seconds=BODY_LIMIT):
    """Bound this test body below conftest's CUTOVER_TEST_TIMEOUT (its
    SIGALRM handler raises; its hook cancels the alarm at the end)."""
    signal.alarm(min(seconds, TEST_TIMEOUT))


def cutover_ini(**keys):
    return "[cutover]\n" + "".join("%s = %s\n" % kv for kv in keys.items())


def admin(p, line, timeout=90):
    """One admin command; retries while the socket is not there yet (just
    after a restart)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return p.admin(line, timeout=timeout)
        except (ConnectionRefusedError, FileNotFoundError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def show(p, did):
    s = admin(p, "deploy show %d" % did)
    assert s["ok"], s
    return s


def wait_state(p, did, states, timeout=60):
    deadline = time.monotonic() + timeout
    s = None
    while time.monotonic() < deadline:
        s = show(p, did)
        if s["state"] in states:
            return s
        time.sleep(0.05)
    pytest.fail("deploy %d not in %s within %d s: %s\n%s" % (did, states, timeout, s, p.diagnostics()),
                pytrace=False)


def make_ready(p, db, table, alter=ALTER, options=""):
    r = admin(p, "deploy create %s%s.%s %s" % (options, db, table, alter))
    assert r["ok"], r
    s = wait_state(p, r["id"], ("ready", "failed", "complete"))
    assert s["state"] == "ready", s
    return r["id"]


def check_swap(r, state, ids=None):
    """The reply of a successful deploy cutover / revert."""
    assert r.get("ok") is True and r.get("state") == state, r
    if ids is not None:
        assert sorted(r["ids"]) == sorted(ids), r
    assert isinstance(r["pause_ms"], (int, float)) and r["pause_ms"] >= 0, r
    assert isinstance(r["attempts"], int) and r["attempts"] >= 1, r
    return r


def swap(p, line, state, ids=None):
    """Run deploy cutover/revert `line`; it must succeed (the failure
    message has the last attempts of each deploy)."""
    r = admin(p, line)
    if r.get("ok") is not True:
        hist = {}
        for did in (int(x) for x in line.split()[2:]):
            hist[did] = show(p, did).get("history", [])[-3:]
        pytest.fail("%s failed: %s\nlast attempts: %s" % (line, r, hist), pytrace=False)
    return check_swap(r, state, ids)


def bare(name):
    """A table name as deploy show gives it, without a `db.` prefix."""
    assert name, "no table name: %r" % (name,)
    return name.rsplit(".", 1)[-1].strip("`")


def columns(mariadb, db, table):
    return [r[0] for r in rows(mariadb, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' "
                                        "AND TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION" % (db, table))]


def show_create(mariadb, db, table):
    return rows(mariadb, "SHOW CREATE TABLE `%s`.`%s`" % (db, table))[0][1]


def assert_new_schema(mariadb, db, table, new=True, col="note"):
    """SHOW CREATE TABLE of `table` is the schema after the ALTER (new) or
    before it."""
    ddl = show_create(mariadb, db, table)
    assert ("`%s`" % col in ddl) == new, "%s.%s should have the %s schema:\n%s" % (
        db, table, "new" if new else "old", ddl)


def compare_common(mariadb, db, a, b, key="id"):
    """`a` and `b` hold the same rows in their common columns; returns the
    row count."""
    assert table_exists(mariadb, db, a), "%s.%s missing; tables: %s" % (db, a, tables(mariadb, db))
    assert table_exists(mariadb, db, b), "%s.%s missing; tables: %s" % (db, b, tables(mariadb, db))
    cb = set(columns(mariadb, db, b))
    common = [c for c in columns(mariadb, db, a) if c in cb]
    collist = ", ".join("`%s`" % c for c in common)
    ra = rows(mariadb, "SELECT %s FROM `%s`.`%s` ORDER BY %s" % (collist, db, a, key))
    rb = rows(mariadb, "SELECT %s FROM `%s`.`%s` ORDER BY %s" % (collist, db, b, key))
    if ra != rb:
        ka, kb = {r[0]: r for r in ra}, {r[0]: r for r in rb}
        only_a = sorted(set(ka) - set(kb))
        only_b = sorted(set(kb) - set(ka))
        diff = [(ka[k], kb[k]) for k in sorted(set(ka) & set(kb)) if ka[k] != kb[k]]
        pytest.fail("%s.%s (%d rows) and %s.%s (%d rows) differ in %s: only in %s: %s; only in %s: %s; "
                    "%d rows differ, first: %s" % (db, a, len(ra), db, b, len(rb), common, a, only_a[:10], b,
                                                   only_b[:10], len(diff), diff[:3]), pytrace=False)
    return len(ra)


def standby(s):
    """The table that is not live: the original after a cut-over, the
    new-schema table before one and after a revert."""
    return bare(s["old_table"] if s["state"] == "complete" else s["shadow_table"])


def q(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.rowcount


def q1(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()


class Bg:
    """fn(*args) in a thread; .result or .error once done."""

    def __init__(self, fn, *args):
        self.result = None
        self.error = None
        self.t = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self.t.start()

    def _run(self, fn, args):
        try:
            self.result = fn(*args)
        except BaseException as e:
            self.error = e

    def done(self):
        return not self.t.is_alive()

    def wait(self, timeout, what):
        self.t.join(timeout)
        assert not self.t.is_alive(), "%s: not finished after %d s" % (what, timeout)
        return self

    def ok(self, timeout, what):
        self.wait(timeout, what)
        assert self.error is None, "%s: %r" % (what, self.error)
        return self.result


def clients(p):
    r = admin(p, "clients")
    assert r["ok"], r
    return r["clients"]


def session_of(p, backend_id):
    for c in clients(p):
        if c["backend_id"] == backend_id:
            return c
    return None


def wait_held(p, backend_id, timeout=15):
    """Until the proxy lists the session (by the connection id its client
    sees) as held."""
    deadline = time.monotonic() + timeout
    while True:
        c = session_of(p, backend_id)
        if c is not None and c["state"] in HELD_STATES:
            return c
        if time.monotonic() > deadline:
            pytest.fail("session with connection id %d not held within %d s; clients: %s"
                        % (backend_id, timeout, clients(p)), pytrace=False)
        time.sleep(0.02)


def wait_gate(p, state="closed", timeout=15):
    """Until `status` shows the cut-over gate in `state` (open; waiting for
    a moment with no transaction on the table; closed)."""
    deadline = time.monotonic() + timeout
    while True:
        st = admin(p, "status")
        if st.get("cutover_gate") == state:
            return st
        if time.monotonic() > deadline:
            pytest.fail("cut-over gate not %s within %d s: %s" % (state, timeout, st), pytrace=False)
        time.sleep(0.01)


def first_held(p, db, sqls, timeout=15):
    """Once the gate is closed, send sqls one at a time, each from a new
    session through the proxy, until one is held at the gate (the first
    should be; any that runs must succeed).  Returns (connection, Bg of the
    held statement, its index)."""
    wait_gate(p, "closed", timeout)
    for i, sql in enumerate(sqls):
        c = p.connect(database=db)
        cid = c.thread_id()
        bg = Bg(q, c, sql)
        deadline = time.monotonic() + timeout
        while not bg.done():
            st = session_of(p, cid)
            if st is not None and st["state"] in HELD_STATES:
                return c, bg, i
            if time.monotonic() > deadline:
                pytest.fail("%r neither held nor done within %d s; clients: %s" % (sql, timeout, clients(p)),
                            pytrace=False)
            time.sleep(0.01)
        assert bg.error is None, (sql, bg.error)
    pytest.fail("none of %d statements on the table was held: %s" % (len(sqls), sqls), pytrace=False)


def wait_swapping(p, did, bg, state="cutting_over", timeout=20):
    """Until the deploy is in `state` (the admin command runs in bg)."""
    deadline = time.monotonic() + timeout
    while True:
        s = show(p, did)
        if s["state"] == state:
            return s
        if bg.done():
            pytest.fail("the command ended before deploy %d was seen in %s: %r / %r; show: %s"
                        % (did, state, bg.result, bg.error, s), pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail("deploy %d not %s within %d s: %s" % (did, state, timeout, s), pytrace=False)
        time.sleep(0.01)


def history_ok(s):
    return [h["action"] for h in s.get("history", []) if h.get("outcome") == "ok"]


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture
def db(mariadb, unique_name):
    name = unique_name("cut")
    execute(mariadb, "CREATE DATABASE `%s`" % name)
    yield name
    mariadb.close_connections()
    conn = mariadb.root_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 20")
            cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
    finally:
        conn.close()


@pytest.fixture
def cproxy(db, make_proxy, unique_name, mariadb):
    """cproxy(ini_extra='', **opts) -> a proxy with a catalog schema of its
    own (p.schema).  Stopped (which ends its sessions and their locks)
    before the test's database is dropped."""
    made = []

    def make(ini_extra="", **opts):
        schema = unique_name("_cutover")
        p = make_proxy(ini_extra, cutover_schema=schema, **opts)
        p.schema = schema
        made.append(p)
        return p

    yield make
    for p in made:
        # close the client sockets without COM_QUIT: a failed test may leave
        # one held or inside a transaction, which would delay the shutdown
        # (shutdown() first: a thread blocked reading the socket would keep
        # it open through close())
        for c in p._conns:
            try:
                if c._sock is not None:
                    c._sock.shutdown(socket.SHUT_RDWR)
                c._force_close()
            except Exception:
                pass
        p.close_connections()
        p.stop()
    for p in made:
        execute(mariadb, "DROP DATABASE IF EXISTS `%s`" % p.schema)


# -- 1. the whole life of a deploy, under writers ---------------------------------------


def test_cutover_revert_cutover_finalize_under_writers(cproxy, mariadb, db):
    """create, copy, ready, cut over, revert, cut over again, finalize, with
    three writer threads through the proxy the whole time (zero errors), the
    live table compared with the other one at every step, and values of the
    new column kept across the revert."""
    limit()
    fill(mariadb, db, "t", 3000)
    p = cproxy()
    w = Writers(p, db, "t", nthreads=3, lo=101, hi=3000).start()
    try:
        w.phase = "before the deploy"
        w.run_for(0.3)
        w.phase = "copying"
        r = admin(p, "deploy create %s.t %s" % (db, ALTER))
        assert r["ok"], r
        did = r["id"]
        s = wait_state(p, did, ("ready", "failed"))
        assert s["state"] == "ready", s
        shadow = bare(s["shadow_table"])
        w.phase = "ready"
        w.run_for(0.5)
        w.pause()
        assert_new_schema(mariadb, db, "t", False)
        assert_new_schema(mariadb, db, shadow, True)
        compare_common(mariadb, db, "t", shadow)
        w.resume()
        w.run_for(0.5)

        # cut-over, writers running
        w.phase = "cutover 1"
        c = swap(p, "deploy cutover %d" % did, "complete", [did])
        s = show(p, did)
        assert s["state"] == "complete" and s["revertible"] is True, s
        assert s["window_ends_at"], s
        assert s["attempts"] >= 1 and abs(s["pause_ms"] - c["pause_ms"]) < 1, (s, c)
        old = bare(s["old_table"])
        assert old != "t"
        w.phase = "complete 1"
        w.run_for(0.5)
        w.pause()
        assert_new_schema(mariadb, db, "t", True)
        assert_new_schema(mariadb, db, old, False)
        compare_common(mariadb, db, "t", old)
        pc = p.connect(database=db)
        assert q(pc, "UPDATE t SET note = CONCAT('kept ', id) WHERE id <= 20") == 20
        q(pc, "INSERT INTO t (name, created, note) VALUES ('after cutover', NOW(6), 'new row')")
        marker = pc.insert_id()
        compare_common(mariadb, db, "t", old)
        assert rows(mariadb, "SELECT name FROM `%s`.`%s` WHERE id = %d" % (db, old, marker)) == (("after cutover",),)
        w.resume()
        w.run_for(0.5)

        # revert, writers running: the original is back with every row
        w.phase = "revert"
        swap(p, "deploy revert %d" % did, "reverted")
        s = show(p, did)
        assert s["state"] == "reverted", s
        new = standby(s)
        w.phase = "reverted"
        w.run_for(0.5)
        w.pause()
        assert_new_schema(mariadb, db, "t", False)
        assert_new_schema(mariadb, db, new, True)
        compare_common(mariadb, db, "t", new)
        assert rows(mariadb, "SELECT name FROM `%s`.t WHERE id = %d" % (db, marker)) == (("after cutover",),)
        # the new-schema table is the one of the cut-over, kept in sync: its
        # own column still has what was written there
        assert rows(mariadb, "SELECT id, note FROM `%s`.`%s` WHERE id <= 20 ORDER BY id" % (db, new)) == \
            tuple((i, "kept %d" % i) for i in range(1, 21))
        assert q(pc, "UPDATE t SET name = 'after revert' WHERE id = 1") == 1
        q(pc, "INSERT INTO t (name, created) VALUES ('after revert', NOW(6))")
        marker2 = pc.insert_id()
        compare_common(mariadb, db, "t", new)
        w.resume()
        w.run_for(0.5)

        # cut over again
        w.phase = "cutover 2"
        swap(p, "deploy cutover %d" % did, "complete", [did])
        s = show(p, did)
        assert s["state"] == "complete" and s["revertible"] is True, s
        old2 = bare(s["old_table"])
        w.phase = "complete 2"
        w.run_for(0.5)
        w.pause()
        assert_new_schema(mariadb, db, "t", True)
        assert_new_schema(mariadb, db, old2, False)
        compare_common(mariadb, db, "t", old2)
        assert rows(mariadb, "SELECT id, name, note FROM `%s`.t WHERE id IN (1, 2, %d, %d) ORDER BY id"
                    % (db, marker, marker2)) == \
            ((1, "after revert", "kept 1"), (2, "n1", "kept 2"), (marker, "after cutover", "new row"),
             (marker2, "after revert", None))
        w.resume()
        w.run_for(0.3)

        # finalize: the original is dropped, no revert any more
        w.phase = "finalize"
        f = admin(p, "deploy finalize %d" % did)
        assert f["ok"] and f["id"] == did and f["state"] == "complete", f
        assert f["dropped"] is not None and bare(f["dropped"]) == old2, f
        assert not table_exists(mariadb, db, old2), tables(mariadb, db)
        s = show(p, did)
        assert s["state"] == "complete" and s["revertible"] is False, s
        r = admin(p, "deploy revert %d" % did)
        assert not r["ok"] and r["error"], r
        w.phase = "finalized"
        w.run_for(0.3)
    finally:
        w.stop()
    assert not w.errors, w.errors[:10]
    assert w.ops > 50, w.ops
    assert history_ok(s) == ["cutover", "revert", "cutover"], s["history"]
    for h in s["history"]:
        assert h["at"] and isinstance(h["pause_ms"], (int, float)), h
    assert_new_schema(mariadb, db, "t", True)
    assert "idx_flag" in show_create(mariadb, db, "t")
    out = p.ctl("deploy", "show", did)
    assert out.returncode == 0 and "complete" in out.stdout, out
    print("writer statements: %d; pauses (ms): %s" % (w.ops, [h["pause_ms"] for h in s["history"]]))


# -- 2. no lost writes -------------------------------------------------------------------


def test_no_lost_writes_across_cutover_and_revert(cproxy, mariadb, db):
    """Transfers in transactions (two accounts and a ledger row each),
    autocommit increments, inserts and deletes, through the proxy, across a
    cut-over and a revert of acct alone, then of acct and ledger together
    (one RENAME): every acknowledged write is there exactly once, nothing
    else is, and the balance total is unchanged; zero client errors."""
    limit()
    p = cproxy()
    bank = Bank(p, db)
    bank.setup(lambda *sqls: execute(mariadb, *sqls))
    bank.start()

    def check(where):
        problems = bank.check(lambda sql: rows(mariadb, sql))
        assert not problems, (where, bank.summary(), problems)
        for table, did in (("acct", da), ("ledger", dl)):
            compare_common(mariadb, db, table, standby(show(p, did)))

    try:
        ra = admin(p, "deploy create %s.acct MODIFY balance BIGINT NOT NULL, ADD COLUMN note VARCHAR(20) NULL" % db)
        assert ra["ok"], ra
        rl = admin(p, "deploy create %s.ledger ADD COLUMN extra INT NULL, ADD INDEX idx_tid (tid, seq)" % db)
        assert rl["ok"], rl
        da, dl = ra["id"], rl["id"]
        for d in (da, dl):
            assert wait_state(p, d, ("ready", "failed"))["state"] == "ready"
        bank.run_for(0.5)

        # acct alone
        swap(p, "deploy cutover %d" % da, "complete", [da])
        bank.run_for(1.0)
        bank.pause()
        assert "note" in columns(mariadb, db, "acct") and "extra" not in columns(mariadb, db, "ledger")
        check("acct cut over")
        bank.resume()
        swap(p, "deploy revert %d" % da, "reverted")
        bank.run_for(1.0)
        bank.pause()
        assert "note" not in columns(mariadb, db, "acct")
        check("acct reverted")
        bank.resume()

        # both in one RENAME (transfers write both tables in one transaction)
        swap(p, "deploy cutover %d %d" % (da, dl), "complete", [da, dl])
        bank.run_for(1.0)
        bank.pause()
        assert "note" in columns(mariadb, db, "acct") and "extra" in columns(mariadb, db, "ledger")
        check("both cut over")
        bank.resume()
        bank.run_for(0.5)
        swap(p, "deploy revert %d" % da, "reverted")
        swap(p, "deploy revert %d" % dl, "reverted")
        bank.run_for(1.0)
    finally:
        bank.stop()
    summary = bank.summary()
    assert not bank.errors, (summary, bank.errors[:10])
    check("both reverted, workload stopped")
    assert "note" not in columns(mariadb, db, "acct") and "extra" not in columns(mariadb, db, "ledger")
    assert rows(mariadb, "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND "
                         "TABLE_NAME = 'acct' AND COLUMN_NAME = 'balance'" % db) == (("int",),)
    assert len(bank.inserted) > 20 and len(bank.deleted) > 20 and sum(bank.hits.values()) > 20, summary
    print(summary)


# -- 3. the gate holds the table only --------------------------------------------------------


def test_gate_holds_only_statements_on_the_table(cproxy, mariadb, db):
    """While an open transaction through the proxy has touched t (the drain
    waits for it): another session's statements on another table complete;
    that transaction's own statements on t go on; a new statement on t is
    held, then completes on the new table after the swap."""
    limit()
    fill(mariadb, db, "t", 500)
    execute(mariadb, "CREATE TABLE `%s`.u (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB" % db,
            "CREATE PROCEDURE `%s`.p_u(x INT) INSERT INTO u (v) VALUES (x)" % db)
    p = cproxy(cutover_ini(cutover_drain_timeout_ms=LONG_DRAIN))
    did = make_ready(p, db, "t")
    a = p.connect(database=db)
    q(a, "BEGIN")
    q(a, "UPDATE t SET name = 'A1' WHERE id = 1")
    cut = Bg(admin, p, "deploy cutover %d" % did)
    wait_swapping(p, did, cut)
    # a new statement on t is held (this also shows that the gate is closed)
    ids = [2, 4, 5, 6, 7]
    c, held, k = first_held(p, db, ["UPDATE t SET name = 'C' WHERE id = %d" % i for i in ids])
    cid = ids[k]

    def other_table():
        b = p.connect(database=db)
        q(b, "INSERT INTO u (v) VALUES (1)")
        q(b, "BEGIN")
        q(b, "UPDATE u SET v = v + 1")
        q(b, "COMMIT")
        q(b, "SELECT 1")
        # SQL-level prepared, seen by cutoverd: its tables are known
        q(b, "SET @i = 1")
        q(b, "PREPARE e FROM 'UPDATE u SET v = v + 10 WHERE id = ?'")
        q(b, "EXECUTE e USING @i")
        # a procedure whose body names no table under deploy
        q(b, "CALL p_u(100)")
        return q1(b, "SELECT COUNT(*), SUM(v) FROM u")

    b = Bg(other_table)
    assert b.ok(10, "statements on another table while the gate of t is closed") == (2, 112)
    # a multi-statement packet that writes t is held whole; released, it
    # runs one statement at a time (mirrored in reverse by then)
    m = p.connect(database=db, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    mid = m.thread_id()

    def packet():
        with m.cursor() as cur:
            cur.execute("UPDATE t SET name = 'M' WHERE id BETWEEN 8 AND 9; SELECT COUNT(*) FROM u; "
                        "SELECT name FROM t WHERE id = 8")
            out = [cur.rowcount]
            while cur.nextset():
                out.append(cur.fetchall())
            return out

    held_packet = Bg(packet)
    deadline = time.monotonic() + 10
    while (session_of(p, mid) or {}).get("state") not in HELD_STATES:
        assert time.monotonic() < deadline and not held_packet.done(), \
            ("the packet was not held", held_packet.result, held_packet.error, clients(p))
        time.sleep(0.01)
    assert not cut.done(), (cut.result, cut.error)
    assert not held.done(), (held.result, held.error)
    assert rows(mariadb, "SELECT name FROM `%s`.t WHERE id = %d" % (db, cid)) == (("n%d" % (cid - 1),),)
    # the transaction that holds the drain goes on
    assert Bg(q, a, "UPDATE t SET name = 'A2' WHERE id = 3").ok(10, "a statement on t of the open transaction") == 1
    assert not cut.done() and not held.done()
    assert show(p, did)["state"] == "cutting_over"
    q(a, "COMMIT")
    check_swap(cut.ok(60, "deploy cutover"), "complete", [did])
    assert held.ok(15, "the held statement") == 1
    assert held_packet.ok(15, "the held packet") == [2, ((2,),), (("M",),)]
    s = show(p, did)
    # a was open on t all along: the gate waited cutover_quiet_wait_ms (1000
    # by default) for a quiet moment, then closed and drained
    last = s["history"][-1]
    assert last["outcome"] == "ok" and last["quiet_wait_ms"] >= 950 and last["drain_ms"] >= 0, last
    assert_new_schema(mariadb, db, "t", True)
    assert rows(mariadb, "SELECT id, name FROM `%s`.t WHERE id IN (1, 3, 8, 9, %d) ORDER BY id" % (db, cid)) == \
        tuple(sorted([(1, "A1"), (3, "A2"), (8, "M"), (9, "M"), (cid, "C")]))
    compare_common(mariadb, db, "t", standby(s))
    st = admin(p, "status")
    assert st["held"] == 0, st


def cutover_waiting_behind(cproxy, mariadb, db, name):
    """A ready deploy of t (500 rows), a transaction through the proxy open
    on it (row 1 set to name), and deploy cutover running, its gate waiting
    for a quiet moment (cutover_quiet_wait_ms 60 s).  Returns (proxy,
    deploy id, that connection, the Bg of the command, held_commands
    before); p.metrics_port serves /metrics."""
    fill(mariadb, db, "t", 500)
    port = free_port()
    p = cproxy(cutover_ini(cutover_quiet_wait_ms=60000, cutover_drain_timeout_ms=LONG_DRAIN),
               proxy_metrics_listen="127.0.0.1:%d" % port)
    p.metrics_port = port
    did = make_ready(p, db, "t")
    held0 = admin(p, "stats")["held_commands"]
    a = p.connect(database=db)
    q(a, "BEGIN")
    q(a, "UPDATE t SET name = '%s' WHERE id = 1" % name)
    cut = Bg(admin, p, "deploy cutover %d" % did)
    wait_swapping(p, did, cut)
    wait_gate(p, "waiting")
    return p, did, a, cut, held0


def test_gate_waits_for_a_quiet_moment(cproxy, mariadb, db):
    """While a transaction through the proxy is open on t, the gate waits
    (up to cutover_quiet_wait_ms) for a moment with none, holding nothing:
    other sessions' statements and transactions on t run meanwhile.  When
    that transaction commits, the gate closes with nothing to drain and
    the swap happens without holding any statement."""
    limit()
    p, did, a, cut, held0 = cutover_waiting_behind(cproxy, mariadb, db, "A1")
    b = p.connect(database=db)
    assert Bg(q, b, "UPDATE t SET name = 'B' WHERE id = 2").ok(10, "an autocommit write while the gate waits") == 1

    def txn():
        q(b, "BEGIN")
        n = q(b, "UPDATE t SET name = 'B2' WHERE id = 3")
        q(b, "COMMIT")
        return n

    assert Bg(txn).ok(10, "a transaction on t while the gate waits") == 1
    time.sleep(1.0)
    st = admin(p, "status")
    assert st["cutover_gate"] == "waiting" and st["held"] == 0, st
    m = scrape(p.metrics_port)
    assert (m[("cutover_gate_waiting", frozenset())], m[("cutover_gate_closed", frozenset())]) == (1, 0), m
    assert not cut.done(), (cut.result, cut.error)
    assert show(p, did)["state"] == "cutting_over"
    assert_new_schema(mariadb, db, "t", False)
    assert q(a, "UPDATE t SET name = 'A2' WHERE id = 4") == 1
    q(a, "COMMIT")
    check_swap(cut.ok(60, "deploy cutover"), "complete", [did])
    s = show(p, did)
    last = s["history"][-1]
    assert last["outcome"] == "ok" and last["attempt"] == 1, last
    assert last["quiet_wait_ms"] >= 1000, last       # a was open at least that long
    assert admin(p, "stats")["held_commands"] == held0, "a statement was held"
    assert admin(p, "status")["cutover_gate"] == "open"
    m = scrape(p.metrics_port)
    assert (m[("cutover_gate_waiting", frozenset())], m[("cutover_gate_closed", frozenset())]) == (0, 0), m
    assert_new_schema(mariadb, db, "t", True)
    assert rows(mariadb, "SELECT id, name FROM `%s`.t WHERE id <= 4 ORDER BY id" % db) == \
        ((1, "A1"), (2, "B"), (3, "B2"), (4, "A2"))
    compare_common(mariadb, db, "t", standby(s))


def test_gate_closes_while_the_last_transaction_commits(cproxy, mariadb, db):
    """A transaction whose COMMIT is running does not keep the gate waiting
    for a quiet moment: the gate closes while it runs, and the drain waits
    only for that COMMIT.  Its COMMIT is made slow here: its mirrored copy
    waits for a row lock that a session straight on MariaDB holds in the
    shadow (released before the RENAME, which would wait for that
    session's metadata lock)."""
    limit()
    p, did, a, cut, _ = cutover_waiting_behind(cproxy, mariadb, db, "A")
    shadow = bare(show(p, did)["shadow_table"])
    direct = mariadb.connect(database=db)
    try:
        q(direct, "BEGIN")
        q1(direct, "SELECT id FROM `%s` WHERE id = 1 FOR UPDATE" % shadow)
        commit = Bg(q, a, "COMMIT")
        wait_gate(p, "closed")          # while that COMMIT still waits
        m = scrape(p.metrics_port)
        assert (m[("cutover_gate_waiting", frozenset())], m[("cutover_gate_closed", frozenset())]) == (0, 1), m
        time.sleep(0.3)
        assert not commit.done(), (commit.result, commit.error)
        assert not cut.done(), (cut.result, cut.error)
        assert show(p, did)["state"] == "cutting_over"
    finally:
        q(direct, "COMMIT")
        direct.close()
    commit.ok(30, "the COMMIT that the gate closed behind")
    check_swap(cut.ok(60, "deploy cutover"), "complete", [did])
    s = show(p, did)
    last = s["history"][-1]
    assert last["outcome"] == "ok" and last["attempt"] == 1, last
    assert last["quiet_wait_ms"] < 30000 and last["drain_ms"] >= 300, last
    assert_new_schema(mariadb, db, "t", True)
    assert rows(mariadb, "SELECT name FROM `%s`.t WHERE id = 1" % db) == (("A",),)
    compare_common(mariadb, db, "t", standby(s))


def test_two_tables_swap_together(cproxy, mariadb, db):
    """deploy cutover A B: one drain and one RENAME for both tables.  A
    transaction that touched one of them and then writes the other is not
    held (it would wait for its own drain)."""
    limit()
    fill(mariadb, db, "a", 300)
    fill(mariadb, db, "b", 300)
    # the gate closes at once, without waiting for a quiet moment
    p = cproxy(cutover_ini(cutover_drain_timeout_ms=LONG_DRAIN, cutover_quiet_wait_ms=0))
    da = make_ready(p, db, "a")
    dbb = make_ready(p, db, "b")
    s = p.connect(database=db)
    q(s, "BEGIN")
    q(s, "UPDATE a SET name = 'S' WHERE id = 1")
    cut = Bg(admin, p, "deploy cutover %d %d" % (da, dbb))
    wait_swapping(p, da, cut)
    ids = [2, 3, 4, 5, 6]
    probe, held, k = first_held(p, db, ["UPDATE b SET name = 'P' WHERE id = %d" % i for i in ids])
    pid = ids[k]                  # the gate of b is closed
    assert Bg(q, s, "INSERT INTO b (id, name, created) VALUES (100000, 'S', NOW(6))").ok(
        10, "a write to b in a transaction that touched a, both in one cut-over") == 1
    assert not cut.done(), (cut.result, cut.error)
    assert not held.done(), (held.result, held.error)
    q(s, "COMMIT")
    check_swap(cut.ok(60, "deploy cutover of two"), "complete", [da, dbb])
    assert held.ok(10, "the held statement on b") == 1
    sa, sb = show(p, da), show(p, dbb)
    assert sa["history"][-1]["quiet_wait_ms"] < 450, sa["history"][-1]
    assert sa["state"] == sb["state"] == "complete", (sa, sb)
    for table, st in (("a", sa), ("b", sb)):
        assert_new_schema(mariadb, db, table, True)
        compare_common(mariadb, db, table, standby(st))
    assert rows(mariadb, "SELECT id, name FROM `%s`.b WHERE id IN (%d, 100000) ORDER BY id" % (db, pid)) == \
        ((pid, "P"), (100000, "S"))
    # each reverts on its own
    swap(p, "deploy revert %d" % da, "reverted")
    assert_new_schema(mariadb, db, "a", False)
    assert_new_schema(mariadb, db, "b", True)
    assert show(p, dbb)["state"] == "complete"


# -- 4. drain timeout ---------------------------------------------------------------------------


def test_drain_timeout_abandons_and_changes_nothing(cproxy, mariadb, db):
    """A transaction through the proxy that holds t for longer than the
    drain timeout: every attempt is abandoned, the cut-over fails with an
    error, the history names the session, the held statement ran, the table
    is unchanged and still mirrored; once that transaction ends a cut-over
    succeeds."""
    limit()
    fill(mariadb, db, "t", 500)
    p = cproxy(cutover_ini(cutover_drain_timeout_ms=1500, cutover_max_attempts=2, cutover_retry_ms=50))
    did = make_ready(p, db, "t")
    shadow = bare(show(p, did)["shadow_table"])
    a = p.connect(database=db)
    a_backend = a.thread_id()
    q(a, "BEGIN")
    q(a, "UPDATE t SET name = 'A' WHERE id = 1")
    a_session = session_of(p, a_backend)["id"]
    cut = Bg(admin, p, "deploy cutover %d" % did)
    wait_swapping(p, did, cut)
    # statements on t from other sessions: at least one is held (the state
    # shows cutting_over a moment before the gate closes, and the gate is
    # open between attempts: a statement that arrives then just runs)
    others = []
    wait_gate(p, "closed")
    for n in range(3):
        c = p.connect(database=db)
        bg = Bg(q, c, "UPDATE t SET name = 'C' WHERE id = %d" % (n + 2))
        others.append(bg)
        deadline = time.monotonic() + 10
        while not bg.done():
            st = session_of(p, c.thread_id())
            if st is not None and st["state"] in HELD_STATES:
                break
            assert time.monotonic() < deadline, st
            time.sleep(0.01)
        if not bg.done():
            break
    else:
        pytest.fail("none of 3 statements on t was held during the cut-over: %s" % show(p, did), pytrace=False)
    r = cut.ok(60, "deploy cutover")
    assert r["ok"] is False, r
    assert re.search(r"drain|transaction|timeout", r["error"], re.I), r
    for bg in others:
        assert bg.ok(15, "a statement on t during the failed cut-over") == 1
    s = show(p, did)
    assert s["state"] == "ready" and s["attempts"] == 2, s
    tries = s["history"][-2:]
    assert len(tries) == 2, s["history"]
    for h in tries:
        assert h["action"] == "cutover" and h["outcome"] == "drain timeout", h
        blockers = [b for b in h["blockers"] if b["session"] in (a_session, a_backend)]
        assert blockers, (a_session, a_backend, h)
        assert blockers[0]["user"] == "app" and blockers[0]["in_transaction_ms"] >= 0, h
    # nothing changed
    assert_new_schema(mariadb, db, "t", False)
    assert_new_schema(mariadb, db, shadow, True)
    assert not (s.get("old_table") and table_exists(mariadb, db, bare(s["old_table"]))), (s, tables(mariadb, db))
    assert rows(mariadb, "SELECT id, name FROM `%s`.t WHERE id IN (1, 2) ORDER BY id" % db) == \
        ((1, "n0"), (2, "C"))
    assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.t WHERE name = 'C'" % db) == ((len(others),),)
    # the blocking transaction goes on and commits; all of it is mirrored
    assert q(a, "UPDATE t SET name = 'A9' WHERE id = 9") == 1
    q(a, "COMMIT")
    compare_common(mariadb, db, "t", shadow)
    assert rows(mariadb, "SELECT id, name FROM `%s`.`%s` WHERE id IN (1, 2, 9) ORDER BY id" % (db, shadow)) == \
        ((1, "A"), (2, "C"), (9, "A9"))
    swap(p, "deploy cutover %d" % did, "complete", [did])
    assert_new_schema(mariadb, db, "t", True)


# -- 5. the RENAME cannot get its lock ------------------------------------------------------------


def mdl_held_outside(cproxy, mariadb, db, mode, attempts, rename_wait_ms):
    """A ready deploy of t (500 rows) with two writers through the proxy,
    and a session straight on MariaDB holding t's metadata lock (an open
    transaction that read it).  mode as_mysql: the swap as it runs on
    MySQL.  Returns (proxy, deploy id, shadow, writers, that session)."""
    fill(mariadb, db, "t", 500)
    ini = cutover_ini(cutover_max_attempts=attempts, cutover_retry_ms=50, cutover_drain_timeout_ms=300,
                      cutover_rename_wait_ms=rename_wait_ms)
    if mode == "as_mysql":
        ini += "[debug]\nswap_as_mysql = true\n"
    p = cproxy(ini)
    did = make_ready(p, db, "t")
    shadow = bare(show(p, did)["shadow_table"])
    w = Writers(p, db, "t", nthreads=2, lo=101, hi=500).start()
    try:
        direct = mariadb.connect(database=db)
        q(direct, "BEGIN")
        q1(direct, "SELECT * FROM t LIMIT 1")
        w.phase = "ready, MDL held outside"
        w.run_for(0.3)
    except BaseException:
        w.stop()
        raise
    return p, did, shadow, w, direct


@pytest.mark.parametrize("mode", ["wait", "as_mysql"])
def test_rename_lock_failure(cproxy, mariadb, db, mode):
    """A session straight on MariaDB (not through the proxy) holds a
    metadata lock on t: the RENAME waits for it no longer than
    cutover_rename_wait_ms (MariaDB: RENAME TABLE t WAIT 1; as_mysql: the
    way it runs on MySQL, which has no WAIT clause: lock_wait_timeout = 1),
    then the watchdog kills it; the cut-over fails naming that, writers
    through the proxy see no error, nothing changed; after that session
    ends a cut-over succeeds."""
    limit()
    p, did, shadow, w, direct = mdl_held_outside(cproxy, mariadb, db, mode, attempts=2, rename_wait_ms=120)
    try:
        r = admin(p, "deploy cutover %d" % did)
        assert r["ok"] is False and "killed" in r["error"] and "cutover_rename_wait_ms" in r["error"], r
        s = show(p, did)
        assert s["state"] == "ready" and s["attempts"] == 2, s
        for h in s["history"][-2:]:
            assert h["action"] == "cutover" and h["outcome"].lower().startswith("rename failed") and \
                "killed" in h["outcome"], h
            # the RENAME's wait is bounded by its budget (the watchdog), not
            # by lock_wait_timeout (1 s): 120 ms, and the drain before it
            assert 120 <= h["rename_ms"] < 120 + 250 and h["pause_ms"] < 120 + 400, h
        w.pause()
        assert_new_schema(mariadb, db, "t", False)
        assert_new_schema(mariadb, db, shadow, True)
        compare_common(mariadb, db, "t", shadow)
        w.resume()
        q(direct, "COMMIT")
        w.phase = "ready"
        w.run_for(0.3)
        w.phase = "cutover"
        swap(p, "deploy cutover %d" % did, "complete", [did])
        w.phase = "complete"
        w.run_for(0.3)
        w.pause()
        assert_new_schema(mariadb, db, "t", True)
        compare_common(mariadb, db, "t", standby(show(p, did)))
    finally:
        w.stop()
    assert not w.errors, w.errors[:10]


@pytest.mark.parametrize("mode", ["wait", "as_mysql"])
def test_rename_link_broken(cproxy, mariadb, db, mode):
    """The control connection dies while its RENAME waits for a lock (a
    session straight on MariaDB holds t's metadata lock; its connection is
    killed from outside): cutoverd cannot know from the error whether the
    RENAME happened, so it keeps the gate closed, connects again, learns
    from the tables that nothing was renamed, releases the held statements
    and tries again on the new connection, which swaps once the lock is
    gone.  Writers through the proxy see no error.  (as_mysql sets the new
    connection's lock_wait_timeout again; the watchdog bounds the RENAME's
    wait either way, so this test does not tell the two apart.)"""
    limit()
    p, did, shadow, w, direct = mdl_held_outside(cproxy, mariadb, db, mode, attempts=4, rename_wait_ms=5000)
    killer = mariadb.root_connect()
    try:
        bg = Bg(admin, p, "deploy cutover %d" % did)
        deadline = time.monotonic() + 20
        rid = None
        while rid is None:
            r = q1(killer, "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%%' "
                           "AND STATE LIKE '%%metadata lock%%'")
            rid = r[0] if r else None
            assert bg.done() is False, (bg.result, bg.error)
            assert time.monotonic() < deadline, "no RENAME waiting for its lock within 20 s"
            time.sleep(0.01)
        q(killer, "KILL CONNECTION %d" % rid)
        time.sleep(0.3)
        q(direct, "COMMIT")
        r = bg.ok(60, "deploy cutover")
        check_swap(r, "complete", [did])
        assert r["attempts"] >= 2, r
        s = show(p, did)
        failed = [h for h in s["history"] if h["outcome"] != "ok"]
        assert failed and failed[0]["outcome"].startswith("RENAME failed") and \
            ("Lost connection" in failed[0]["outcome"] or "Connection was killed" in failed[0]["outcome"]), \
            s["history"]
        assert history_ok(s) == ["cutover"], s["history"]
        w.phase = "complete"
        w.run_for(0.3)
        w.pause()
        assert_new_schema(mariadb, db, "t", True)
        assert_new_schema(mariadb, db, bare(s["old_table"]), False)
        assert not table_exists(mariadb, db, shadow)
        compare_common(mariadb, db, "t", bare(s["old_table"]))
    finally:
        w.stop()
        killer.close()
    assert not w.errors, w.errors[:10]


# -- 6. held clients that go away --------------------------------------------------------------


def test_held_client_disconnects(cproxy, mariadb, db):
    """Clients that go away while held (closed socket; their own read
    timeout) are cleaned up; the others held with them complete; the
    cut-over succeeds; the proxy keeps serving."""
    limit()
    fill(mariadb, db, "t", 500)
    p = cproxy(cutover_ini(cutover_drain_timeout_ms=LONG_DRAIN))
    did = make_ready(p, db, "t")
    a = p.connect(database=db)
    q(a, "BEGIN")
    q(a, "UPDATE t SET name = 'A' WHERE id = 1")
    cut = Bg(admin, p, "deploy cutover %d" % did)
    wait_swapping(p, did, cut)

    ids = [2, 7, 8, 9, 10]
    c1, h1, k = first_held(p, db, ["UPDATE t SET name = 'C1' WHERE id = %d" % i for i in ids])
    c1_row = ids[k]
    # sends its statement, then closes its socket while held
    c2 = p.connect(database=db)
    c2_id = c2.thread_id()
    c2._execute_command(pymysql.constants.COMMAND.COM_QUERY, "UPDATE t SET name = 'C2' WHERE id = 3")
    wait_held(p, c2_id)
    c2._force_close()
    # cleaned up while the others are still held (not only at the release)
    deadline = time.monotonic() + 10
    while session_of(p, c2_id) is not None:
        assert time.monotonic() < deadline, "the session of a client that closed while held is still there: %s" \
            % session_of(p, c2_id)
        time.sleep(0.05)
    assert not cut.done() and not h1.done()
    # gives up by its own read timeout while held (PyMySQL then closes)
    c3 = p.connect(database=db, read_timeout=1)
    c3_id = c3.thread_id()
    h3 = Bg(q, c3, "UPDATE t SET name = 'C3' WHERE id = 4")
    wait_held(p, c3_id)
    h3.wait(20, "a client with read_timeout=1, held")
    assert isinstance(h3.error, pymysql.err.OperationalError), h3.error
    c4 = p.connect(database=db)
    h4 = Bg(q, c4, "UPDATE t SET name = 'C4' WHERE id = 5")
    wait_held(p, c4.thread_id())
    assert not cut.done() and not h1.done() and not h4.done()
    q(a, "COMMIT")
    check_swap(cut.ok(60, "deploy cutover"), "complete", [did])
    assert h1.ok(15, "held statement 1") == 1
    assert h4.ok(15, "held statement 4") == 1
    # the sessions that went away are gone, nothing stays held
    deadline = time.monotonic() + 15
    while True:
        left = [c for c in clients(p) if c["backend_id"] in (c2_id, c3_id)]
        st = admin(p, "status")
        if not left and st["held"] == 0:
            break
        assert time.monotonic() < deadline, (left, st)
        time.sleep(0.05)
    # the proxy keeps serving, the table is whole and mirrored backwards
    n = p.connect(database=db)
    assert q(n, "UPDATE t SET name = 'after' WHERE id = 6") == 1
    assert q1(n, "SELECT COUNT(*) FROM t")[0] == 500
    assert rows(mariadb, "SELECT id, name FROM `%s`.t WHERE id IN (1, 5, 6, %d) ORDER BY id" % (db, c1_row)) == \
        tuple(sorted([(1, "A"), (5, "C4"), (6, "after"), (c1_row, "C1")]))
    compare_common(mariadb, db, "t", standby(show(p, did)))


# -- 7. kill -9 at the crash points --------------------------------------------------------------

STALL_MS = 60000


@pytest.mark.parametrize("action,at", [("cutover", "gated"), ("cutover", "renamed"),
                                       ("revert", "gated"), ("revert", "renamed")])
def test_kill_9_during_swap(cproxy, mariadb, db, action, at):
    """kill -9 of cutoverd while a cut-over (or revert) stalls after the
    drain (gated) or after the RENAME (renamed), a statement held: after a
    restart the tables are whole, deploy show agrees with them, the held
    statement did not run, the mirror runs the right way, and the next
    cut-over or revert works."""
    limit()
    fill(mariadb, db, "t", 1000)
    stall = {"debug_swap_stall_at": at, "debug_swap_stall_ms": STALL_MS}
    p = cproxy(**(stall if action == "cutover" else {}))
    did = make_ready(p, db, "t")
    if action == "revert":
        swap(p, "deploy cutover %d" % did, "complete", [did])
        p.stop()
        p.rewrite_ini(**stall)
        p.start()
        assert show(p, did)["state"] == "complete"
    before = "complete" if action == "revert" else "ready"
    after = "reverted" if action == "revert" else "complete"
    swapping = "reverting" if action == "revert" else "cutting_over"
    new_before = action == "revert"       # is t the new schema before the swap?
    pc = p.connect(database=db)
    assert q(pc, "UPDATE t SET name = 'acked before' WHERE id = 10") == 1
    q(pc, "INSERT INTO t (name, created) VALUES ('acked before', NOW(6))")
    marker = pc.insert_id()

    ac = p.admin_connect(timeout=STALL_MS / 1000 + 30)
    ac.send_raw(b"deploy %s %d\n" % (action.encode(), did))
    deadline = time.monotonic() + 20
    while show(p, did)["state"] != swapping:
        assert time.monotonic() < deadline, show(p, did)
        time.sleep(0.01)
    late = None
    if at == "gated":
        ids = [11, 13, 14, 15, 16]
        c, held, k = first_held(p, db, ["UPDATE t SET name = 'held' WHERE id = %d" % i for i in ids])
        held_row = ids[k]
        time.sleep(0.3)      # nothing to drain: the swap is in its stall now
        assert_new_schema(mariadb, db, "t", new_before)
    else:
        deadline = time.monotonic() + 20
        while ("note" in columns(mariadb, db, "t")) == new_before:
            assert time.monotonic() < deadline, "no RENAME within 20 s: %s" % show(p, did)
            time.sleep(0.02)
        c = p.connect(database=db)
        held = Bg(q, c, "UPDATE t SET name = 'late' WHERE id = 11")
        time.sleep(0.2)
    s = show(p, did)
    assert s["state"] == swapping, "not stalled at %s: %s" % (at, s)
    p.proc.kill()
    p.proc.wait()
    ac.close()
    held.wait(15, "the held client after kill -9")
    if held.error is None:
        late = held.result       # acknowledged: must be there
    swapped = at == "renamed"
    expect_state = after if swapped else before
    # the tables are whole whatever the proxy says
    live_new = new_before != swapped
    assert_new_schema(mariadb, db, "t", live_new)

    p.rewrite_ini(debug_swap_stall_at=None, debug_swap_stall_ms=None)
    p.start()
    s = show(p, did)
    assert s["state"] == expect_state, (s, tables(mariadb, db))
    other = standby(s)
    assert_new_schema(mariadb, db, other, not live_new)
    compare_common(mariadb, db, "t", other)
    assert rows(mariadb, "SELECT name FROM `%s`.t WHERE id IN (10, %d) ORDER BY id" % (db, marker)) == \
        (("acked before",), ("acked before",))
    if at == "gated":
        # the held statement never ran; those sent before the gate closed did
        got = rows(mariadb, "SELECT id, name FROM `%s`.t WHERE id IN (%s) ORDER BY id"
                   % (db, ", ".join(map(str, ids[:k + 1]))))
        assert got == tuple((i, "held") for i in ids[:k]) + ((held_row, "n%d" % (held_row - 1)),), \
            (held.result, held.error, got)
        assert held.error is not None, held.result
    elif late is not None:
        assert rows(mariadb, "SELECT name FROM `%s`.t WHERE id = 11" % db) == (("late",),), late
    if (s["state"] == "complete"):
        assert s["revertible"] is True, s
    # the mirror runs the right way after the restart
    pc = p.connect(database=db)
    assert q(pc, "UPDATE t SET name = 'after restart' WHERE id = 12") == 1
    q(pc, "INSERT INTO t (name, created) VALUES ('after restart', NOW(6))")
    marker2 = pc.insert_id()
    compare_common(mariadb, db, "t", other)
    # and the next step works
    if s["state"] in ("ready", "reverted"):
        swap(p, "deploy cutover %d" % did, "complete", [did])
        assert_new_schema(mariadb, db, "t", True)
    else:
        swap(p, "deploy revert %d" % did, "reverted")
        assert_new_schema(mariadb, db, "t", False)
    s = show(p, did)
    compare_common(mariadb, db, "t", standby(s))
    assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.t WHERE id IN (10, 12, %d, %d)" % (db, marker, marker2)) == ((4,),)


def test_kill_9_during_reverse_mirroring(cproxy, mariadb, db):
    """kill -9 while complete (the old table mirrored from the new one),
    with a transaction open through the proxy: after a restart the deploy
    is still complete and revertible, the reverse mirror goes on, and a
    revert brings back every acknowledged row."""
    limit()
    fill(mariadb, db, "t", 1000)
    p = cproxy()
    did = make_ready(p, db, "t")
    swap(p, "deploy cutover %d" % did, "complete", [did])
    old = bare(show(p, did)["old_table"])
    pc = p.connect(database=db)
    assert q(pc, "UPDATE t SET name = 'before kill', note = 'x' WHERE id = 20") == 1
    q(pc, "DELETE FROM t WHERE id = 21")
    q(pc, "INSERT INTO t (name, created, note) VALUES ('before kill', NOW(6), 'y')")
    m1 = pc.insert_id()
    q(pc, "BEGIN")
    q(pc, "UPDATE t SET name = 'never committed' WHERE id = 22")
    p.proc.kill()
    p.proc.wait()
    p.start()
    s = show(p, did)
    assert s["state"] == "complete" and s["revertible"] is True, s
    assert bare(s["old_table"]) == old, s
    compare_common(mariadb, db, "t", old)
    pc = p.connect(database=db)
    assert q(pc, "UPDATE t SET name = 'after restart' WHERE id = 23") == 1
    q(pc, "INSERT INTO t (name, created) VALUES ('after restart', NOW(6))")
    m2 = pc.insert_id()
    assert rows(mariadb, "SELECT id, name FROM `%s`.`%s` WHERE id IN (20, 21, 22, 23, %d, %d) ORDER BY id"
                % (db, old, m1, m2)) == \
        ((20, "before kill"), (22, "n21"), (23, "after restart"), (m1, "before kill"), (m2, "after restart"))
    compare_common(mariadb, db, "t", old)
    swap(p, "deploy revert %d" % did, "reverted")
    assert_new_schema(mariadb, db, "t", False)
    assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.t" % db) == ((1001,),)
    compare_common(mariadb, db, "t", standby(show(p, did)))


# -- 8. --auto-cutover -------------------------------------------------------------------------


def test_auto_cutover(cproxy, mariadb, db):
    limit()
    fill(mariadb, db, "t", 2000)
    p = cproxy()
    w = Writers(p, db, "t", nthreads=2, lo=101, hi=2000).start()
    try:
        w.phase = "create, copy, cut-over by itself"
        r = admin(p, "deploy create --auto-cutover %s.t %s" % (db, ALTER))
        assert r["ok"], r
        s = wait_state(p, r["id"], ("complete", "failed", "cancelled"))
        assert s["state"] == "complete" and s["revertible"] is True, s
        assert history_ok(s) == ["cutover"], s
        w.phase = "complete"
        w.run_for(0.3)
        w.pause()
        assert_new_schema(mariadb, db, "t", True)
        compare_common(mariadb, db, "t", standby(s))
        w.resume()
        w.phase = "revert"
        swap(p, "deploy revert %d" % r["id"], "reverted")
        w.phase = "reverted"
        w.run_for(0.3)
    finally:
        w.stop()
    assert not w.errors, w.errors[:10]
    assert_new_schema(mariadb, db, "t", False)
    # a reverted auto deploy is not cut over again by itself
    assert show(p, r["id"])["state"] == "reverted"


# -- 9. refusals ------------------------------------------------------------------------------


def test_refusals(cproxy, mariadb, db):
    limit()
    fill(mariadb, db, "t", 200)
    fill(mariadb, db, "u", 200)
    p = cproxy()
    dt = make_ready(p, db, "t")
    r = admin(p, "deploy create --paused %s.u %s" % (db, ALTER))
    assert r["ok"], r
    du = r["id"]
    before = tables(mariadb, db)
    state_words = r"\b(copying|ready|complete|reverted|paused|state)\b"
    for line, expect in [
        ("deploy cutover %d" % du, state_words),
        ("deploy cutover %d %d" % (dt, du), state_words),
        ("deploy revert %d" % dt, state_words),
        ("deploy finalize %d" % dt, state_words),
        ("deploy revert %d" % du, state_words),
        ("deploy finalize %d" % du, state_words),
        ("deploy cutover 9999", "no deploy request"),
        ("deploy revert 9999", "no deploy request"),
        ("deploy finalize 9999", "no deploy request"),
        ("deploy cutover %d 9999" % dt, "no deploy request"),
        ("deploy cutover", "usage|no deploy request"),
        ("deploy cutover abc", "usage|no deploy request"),
        ("deploy cutover -1", "usage|no deploy request"),
        ("deploy revert", "usage|no deploy request"),
        ("deploy revert x1", "usage|no deploy request"),
        ("deploy finalize", "usage|no deploy request"),
        ("deploy create --auto-cutover", "usage"),
        ("deploy create --auto-cutover --frob %s.u ADD COLUMN y INT" % db, "unknown option"),
    ]:
        r = admin(p, line)
        assert r["ok"] is False and re.search(expect, r.get("error", "")), (line, r)
    # nothing moved
    assert tables(mariadb, db) == before
    assert_new_schema(mariadb, db, "t", False)
    assert_new_schema(mariadb, db, "u", False)
    st, su = show(p, dt), show(p, du)
    assert st["state"] == "ready" and su["state"] == "copying" and su["paused"], (st, su)
    assert history_ok(st) == [] and history_ok(su) == [], (st, su)
    # a cancelled deploy is not cut over
    fill(mariadb, db, "v", 50)
    dv = make_ready(p, db, "v")
    assert admin(p, "deploy cancel %d" % dv)["state"] == "cancelled"
    r = admin(p, "deploy cutover %d" % dv)
    assert r["ok"] is False and re.search(r"cancel", r["error"]), r
    # once both are ready, one command cuts both over
    assert admin(p, "deploy set %d paused=0" % du)["ok"]
    assert wait_state(p, du, ("ready", "failed"))["state"] == "ready"
    swap(p, "deploy cutover %d %d" % (dt, du), "complete", [dt, du])
    assert_new_schema(mariadb, db, "t", True)
    assert_new_schema(mariadb, db, "u", True)
    assert_new_schema(mariadb, db, "v", False)


def test_cutover_and_revert_asked_again(cproxy, mariadb, db):
    """DESIGN: deploy cutover and deploy revert are idempotent (a caller
    that lost the reply asks again and learns the outcome).  Asked again,
    they answer ok with the state and `already`; nothing is swapped a
    second time."""
    limit()
    fill(mariadb, db, "t", 200)
    p = cproxy()
    did = make_ready(p, db, "t")
    swap(p, "deploy cutover %d" % did, "complete", [did])
    old = bare(show(p, did)["old_table"])
    again = admin(p, "deploy cutover %d" % did)
    assert again["ok"] is True and again["state"] == "complete" and again["already"] is True, again
    assert again["ids"] == [did], again
    assert_new_schema(mariadb, db, "t", True)
    assert_new_schema(mariadb, db, old, False)
    assert show(p, did)["state"] == "complete"
    swap(p, "deploy revert %d" % did, "reverted")
    again = admin(p, "deploy revert %d" % did)
    assert again["ok"] is True and again["state"] == "reverted" and again["already"] is True, again
    assert_new_schema(mariadb, db, "t", False)
    s = show(p, did)
    assert s["state"] == "reverted" and history_ok(s) == ["cutover", "revert"], s


def test_finalize_after_revert_drops_the_new_table(cproxy, mariadb, db):
    limit()
    fill(mariadb, db, "t", 200)
    p = cproxy()
    did = make_ready(p, db, "t")
    swap(p, "deploy cutover %d" % did, "complete", [did])
    swap(p, "deploy revert %d" % did, "reverted")
    new = standby(show(p, did))
    f = admin(p, "deploy finalize %d" % did)
    assert f["ok"] and f["state"] == "reverted" and f["dropped"] is not None and bare(f["dropped"]) == new, f
    assert not table_exists(mariadb, db, new), tables(mariadb, db)
    s = show(p, did)
    assert s["state"] == "reverted" and s["revertible"] is False, s
    r = admin(p, "deploy cutover %d" % did)
    assert r["ok"] is False and r["error"], r
    assert_new_schema(mariadb, db, "t", False)
    # the table is free again: statements the mirror would refuse pass
    pc = p.connect(database=db)
    q(pc, "REPLACE INTO t (id, name, created) VALUES (1, 'free', NOW(6))")
    assert tables(mariadb, db) == ["t"]


def test_revert_window_ends_and_keep_old_table(cproxy, mariadb, db):
    """revert_window_s ends the window by itself; keep_old_table = true
    keeps the table that is no longer live (after that and after finalize)."""
    limit()
    fill(mariadb, db, "a", 200)
    fill(mariadb, db, "b", 200)
    p = cproxy(cutover_ini(revert_window_s=3, keep_old_table="true"))
    da = make_ready(p, db, "a")
    dbb = make_ready(p, db, "b")
    swap(p, "deploy cutover %d" % da, "complete", [da])
    sa = show(p, da)
    assert sa["revertible"] is True and sa["window_ends_at"], sa
    old_a = bare(sa["old_table"])
    swap(p, "deploy cutover %d" % dbb, "complete", [dbb])
    old_b = bare(show(p, dbb)["old_table"])
    f = admin(p, "deploy finalize %d" % dbb)
    assert f["ok"] and f["state"] == "complete" and f["dropped"] is None, f
    assert table_exists(mariadb, db, old_b)
    assert show(p, dbb)["revertible"] is False
    r = admin(p, "deploy revert %d" % dbb)
    assert r["ok"] is False and r["error"], r
    # a's window ends by itself
    deadline = time.monotonic() + 30
    while show(p, da)["revertible"]:
        assert time.monotonic() < deadline, show(p, da)
        time.sleep(0.1)
    sa = show(p, da)
    assert sa["state"] == "complete", sa
    assert table_exists(mariadb, db, old_a), tables(mariadb, db)
    r = admin(p, "deploy revert %d" % da)
    assert r["ok"] is False and r["error"], r
    assert_new_schema(mariadb, db, "a", True)
    pc = p.connect(database=db)
    assert q(pc, "UPDATE a SET note = 'free' WHERE id = 1") == 1
