"""
test_multi_statement.py - multi-statement COM_QUERY packets while a deploy
runs: one that writes a table under deploy runs one statement at a time
("split mode", session_split_start), and the client must not tell.

Each test shows a difference between what a client sees through the proxy
and what MariaDB answers to the same packet straight (on the twin table u),
or a mirror that does not keep the shadow in step.  Each test's docstring
says what a correct proxy does.  pymysql checks packet sequence numbers;
raw_answer() reads a whole multi-result answer packet by packet, keeping
every packet's sequence number and status flags.
"""

import time

import pymysql
import pytest

from test_deploy import execute, rows
from test_mirror import COLS, deployed_pair, env, settle  # noqa: F401
from test_cutover import Bg, session_of, HELD_STATES, clients  # noqa: F401

MULTI = pymysql.constants.CLIENT.MULTI_STATEMENTS
DEPRECATE_EOF = 1 << 24
MORE = 0x0008


def _lenenc(p, i):
    c = p[i]
    if c < 0xfb:
        return c, i + 1
    if c == 0xfc:
        return int.from_bytes(p[i + 1:i + 3], "little"), i + 3
    if c == 0xfd:
        return int.from_bytes(p[i + 1:i + 4], "little"), i + 4
    return int.from_bytes(p[i + 1:i + 9], "little"), i + 9


def _read(conn):
    """One logical packet: (list of frame sequence numbers, payload)."""
    seqs, data = [], b""
    while True:
        h = conn._read_bytes(4)
        n = int.from_bytes(h[:3], "little")
        seqs.append(h[3])
        data += conn._read_bytes(n)
        if n < 0xffffff:
            return seqs, data


def _ok_status(p):
    _, i = _lenenc(p, 1)
    _, i = _lenenc(p, i)
    return int.from_bytes(p[i:i + 2], "little")


def raw_answer(conn, sql, deprecate_eof=False):
    """Send a COM_QUERY; return every packet of the answer as
    (frame seqs, kind, status or None)."""
    conn._execute_command(pymysql.constants.COMMAND.COM_QUERY, sql)
    out = []
    while True:
        seqs, p = _read(conn)
        if p[0] == 0x00:
            st = _ok_status(p)
            out.append((seqs, "ok", st))
            if not st & MORE:
                return out
            continue
        if p[0] == 0xff:
            out.append((seqs, "err", int.from_bytes(p[1:3], "little")))
            return out
        ncols, _ = _lenenc(p, 0)
        out.append((seqs, "cols", ncols))
        for _ in range(ncols):
            seqs, p = _read(conn)
            out.append((seqs, "def", None))
        if not deprecate_eof:
            seqs, p = _read(conn)
            assert p[0] == 0xfe
            out.append((seqs, "eof", int.from_bytes(p[3:5], "little")))
        nrows = 0
        while True:
            seqs, p = _read(conn)
            if p[0] == 0xfe and len(p) < 0xffffff and (len(p) < 9 or deprecate_eof):
                st = _ok_status(p) if deprecate_eof else int.from_bytes(p[3:5], "little")
                out.append((seqs, "rows", nrows))
                out.append((seqs, "end", st))
                break
            if p[0] == 0xff:
                out.append((seqs, "err", int.from_bytes(p[1:3], "little")))
                return out
            nrows += 1
        if not st & MORE:
            return out



def drain(cur):
    """Every result of the packet just executed (rows, or the row count),
    then ("error", code) if one of them failed."""
    out = []
    try:
        while True:
            out.append(cur.fetchall() if cur.description else cur.rowcount)
            if not cur.nextset():
                break
    except pymysql.MySQLError as e:
        out.append(("error", e.args[0]))
    return out


def packet_both(env, mariadb, t, u, packet, flags=MULTI, db="mir", before=()):
    """What pymysql sees of packet through the proxy (on t) and straight (on u)."""
    seen = []
    for c, tb in ((env.connect(database=db, client_flag=flags), t),
                  (mariadb.connect(database=db, client_flag=flags), u)):
        try:
            with c.cursor() as cur:
                for sql in before:
                    cur.execute(sql)
                try:
                    cur.execute(packet.format(t=tb))
                except pymysql.MySQLError as e:
                    seen.append([("error", e.args[0])])
                    continue
                seen.append(drain(cur))
        finally:
            c.close()
    return seen


def test_statement_refused_when_released_from_the_gate_leaves_split_state(env, mariadb):
    """Bug: session_release() runs a held statement of a split packet with
    execute_command(); when it is answered at once (refused), the session
    goes back to idle but s->split is never freed (only split_next() and
    session_split_start() free it).  The next command's answer is then
    renumbered by split_patch() (seq 1 + the packet's last seq): pymysql
    sees "Packet sequence number wrong" and drops the connection.

    Here: "USE mir" switches the database inside the packet, so TRUNCATE t
    is refused on its own when it runs (multi_command() judged it against
    the packet's starting database); an admin pause holds it between
    statements.  A correct proxy ends the packet with the refusal and
    answers the next command normally."""
    t, u, did = deployed_pair(env, mariadb)
    pc = env.connect(database="test", client_flag=MULTI)
    cid = pc.thread_id()
    packet = ("USE mir; UPDATE mir.{t} SET amount = amount + 1 WHERE id BETWEEN 10 AND 20; SELECT SLEEP(1); "
              "TRUNCATE {t}").format(t=t)

    def run():
        with pc.cursor() as cur:
            cur.execute(packet)
            return drain(cur)

    bg = Bg(run)
    time.sleep(0.3)                 # inside SELECT SLEEP(1)
    try:
        r = env.admin("pause 20000")
        assert r["ok"], r
        deadline = time.monotonic() + 10
        while (session_of(env, cid) or {}).get("state") not in HELD_STATES:
            assert time.monotonic() < deadline and not bg.done(), (bg.result, bg.error, clients(env))
            time.sleep(0.01)
    finally:
        env.admin("resume")
    res = bg.ok(10, "the packet")
    assert res[:3] == [0, 10, ((0,),)] and res[3][0] == "error", res
    with pc.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall() == ((1,),)
    env.admin("deploy cancel %d" % did, timeout=30)


@pytest.mark.parametrize("second", ["SELECT COUNT(*) FROM j", "UPDATE j SET b = b + 1 WHERE id = 1"])
def test_show_warnings_after_split_packet(env, mariadb, second):
    """Bug: a mirrored statement with warnings saves them (save_diagnostics
    -> s->diag) so that SHOW WARNINGS can be answered from the copy; only
    dispatch_command()'s answer_from_diag() forgets the copy when another
    command comes.  split_next() runs the next statement straight through
    execute_command(), so the copy outlives it: after the packet, SHOW
    WARNINGS and @@warning_count answer with the first statement's warnings.
    The server (and a correct proxy) answers with the last statement's
    (none here: it reads a table)."""
    t, u, did = deployed_pair(env, mariadb)
    seen = []
    for c, tb in ((env.connect(database="mir", client_flag=MULTI), t),
                  (mariadb.connect(database="mir", client_flag=MULTI), u)):
        with c.cursor() as cur:
            cur.execute("SET SESSION sql_mode = ''")
            cur.execute("UPDATE %s SET flag = 300 WHERE id BETWEEN 22 AND 23; %s" % (tb, second))
            r = drain(cur)
            cur.execute("SHOW WARNINGS")
            w = cur.fetchall()
            cur.execute("SELECT @@warning_count")
            seen.append((r, w, cur.fetchall()))
        c.close()
    assert seen[0] == seen[1]
    assert seen[1][1] == () and seen[1][2] == ((0,),)
    env.admin("deploy cancel %d" % did, timeout=30)


@pytest.mark.parametrize("tail", ["; /* the end */", "; -- the end\n"])
def test_trailing_comment_statement_is_a_result(env, mariadb, tail):
    """Bug: session_split_start() drops trailing statements of kind
    SQL_EMPTY, but a statement that is only a comment is not empty to the
    server: MariaDB answers it with an OK of its own (the UPDATE's OK then
    carries MORE_RESULTS).  Through the proxy the client gets one result
    instead of two (cur.nextset() is False).  A correct proxy drops only a
    whitespace-only tail, and sends a comment-only statement on (the server
    answers it alone with an OK, as in the packet)."""
    t, u, did = deployed_pair(env, mariadb)
    proxy, direct = packet_both(env, mariadb, t, u,
                                "UPDATE {t} SET amount = amount + 1 WHERE id BETWEEN 10 AND 20" + tail)
    assert direct == [10, 0]
    assert proxy == direct
    settle(env, mariadb, t, u, did, "ready")


def test_empty_statement_in_the_middle(env, mariadb):
    """Bug: an empty statement in the middle of a packet ("a; ; b") is
    sent alone as an empty COM_QUERY, which MariaDB answers with 1065 (Query
    was empty); in a packet the server stops there with 1064 (a syntax
    error near ';').  A correct proxy answers as the server does (or
    refuses such a packet before running any of it: splittable())."""
    t, u, did = deployed_pair(env, mariadb)
    before = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t))
    proxy, direct = packet_both(env, mariadb, t, u,
                                "UPDATE {t} SET amount = amount + 1 WHERE id BETWEEN 10 AND 20; ; SELECT 1")
    assert direct == [10, ("error", 1064)]
    refused_whole = proxy == [("error", 1105)] and \
        rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t)) == before
    assert proxy == direct or refused_whole, proxy
    env.admin("deploy cancel %d" % did, timeout=30)


def test_column_definitions_eof_carries_more_results(env, mariadb):
    """Bug (protocol detail): without CLIENT_DEPRECATE_EOF, MariaDB sets
    SERVER_MORE_RESULTS_EXISTS in every status of a result set that another
    result follows, the EOF after the column definitions included (the flag
    is set when the statement is parsed).  split_patch() flags only the
    packet that ends the statement's answer (RESP_EV_END), so the first EOF
    of a SELECT in the middle of a split packet says no more results.  A
    correct proxy also flags the column definitions' EOF (last_status_off
    of the RS_COLS_EOF packet) when another statement follows."""
    t, u, did = deployed_pair(env, mariadb)
    packet = ("SELECT id FROM {t} WHERE id <= 3 ORDER BY id; UPDATE {t} SET amount = amount + 1 "
              "WHERE id BETWEEN 10 AND 20; SELECT 1")
    pc = env.connect(database="mir", client_flag=MULTI)
    dc = mariadb.connect(database="mir", client_flag=MULTI)
    a = raw_answer(pc, packet.format(t=t))
    b = raw_answer(dc, packet.format(t=u))
    eofs = [x for x in b if x[1] == "eof"]
    assert eofs[0][2] & MORE, b
    assert a == b
    pc.close()
    dc.close()
    settle(env, mariadb, t, u, did, "ready")


def test_use_inside_packet_is_not_mirrored(env, mariadb):
    """Bug (older than e07b09c, in the code it changed): multi_command()
    plans every statement of the packet against s->db, the database at the
    start of the packet, so after "USE mir" in the packet "UPDATE t" is
    taken for test.t, not under deploy: the packet runs as it is and the
    write never reaches the shadow (the shadow differs from t afterwards).
    Split mode already follows USE statement by statement; a correct proxy
    resolves each statement of the packet against the database the USE
    before it selected (or splits every packet holding a USE)."""
    t, u, did = deployed_pair(env, mariadb)
    proxy, direct = packet_both(env, mariadb, t, u,
                                "USE mir; UPDATE {t} SET amount = amount + 1 WHERE id BETWEEN 10 AND 20",
                                db="test")
    assert proxy == direct == [0, 10]
    settle(env, mariadb, t, u, did, "ready")


@pytest.mark.parametrize("tail", ["; /* the end */", ";;"])
def test_single_statement_with_trailing_semicolons_multi_off(env, mariadb, tail):
    """Bug (low): with multi-statements off, MariaDB runs one statement
    followed by ";;" or "; /* comment */" as one statement; the proxy
    parses two, calls the packet a multi-statement one and refuses it
    (splittable(): "multi-statement packets are off").  A correct proxy
    counts only the statements the server would run (drops the empty /
    comment-only tail before deciding) and mirrors the UPDATE."""
    t, u, did = deployed_pair(env, mariadb)
    proxy, direct = packet_both(env, mariadb, t, u,
                                "UPDATE {t} SET amount = amount + 1 WHERE id BETWEEN 10 AND 20" + tail, flags=0)
    assert direct == [10]
    assert proxy == direct
    settle(env, mariadb, t, u, did, "ready")


def session_db(env, conn):
    """The database cutoverd believes the session of conn is in (`clients`)."""
    r = env.admin("clients")
    assert r["ok"], r
    mine = [c for c in r["clients"] if c.get("backend_id") == conn.thread_id()]
    assert len(mine) == 1, r
    return mine[0]["db"]


@pytest.mark.parametrize("packet", ["USE mir; SELECT 1", "SELECT 1; USE mir", "USE test; USE mir; DO 1"])
def test_use_in_a_packet_that_runs_as_it_is(env, mariadb, packet):
    """A packet that writes nothing under deploy runs as it is; a USE in it
    still changes the database the later statements of the session are
    checked against (cutoverd asks the server after the packet): the
    single UPDATE that follows is mirrored, and SHOW WARNINGS still
    answers for the packet."""
    t, u, did = deployed_pair(env, mariadb)
    pc = env.connect(database="test", client_flag=MULTI)
    try:
        with pc.cursor() as cur:
            cur.execute(packet)
            drain(cur)
            cur.execute("DO 1")   # answered once cutoverd has asked the database
            assert session_db(env, pc) == "mir"
            cur.execute("UPDATE %s SET amount = amount + 1 WHERE id BETWEEN 10 AND 20" % t)
            assert cur.rowcount == 10   # id 14's amount is NULL
    finally:
        pc.close()
    execute(mariadb, "UPDATE mir.%s SET amount = amount + 1 WHERE id BETWEEN 10 AND 20" % u)
    s = settle(env, mariadb, t, u, did, "ready")
    assert s["mirrored"] >= 1, s


def test_use_after_writes_in_a_transaction(env, mariadb):
    """Inside a transaction, a packet of writes by key (deferred whole, one
    round trip, when it has no USE) that ends with a USE runs one statement
    at a time, so that the session follows the USE; the writes are
    mirrored at COMMIT."""
    t, u, did = deployed_pair(env, mariadb)
    pc = env.connect(database="mir", client_flag=MULTI)
    try:
        with pc.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE %s SET name = 'a' WHERE id = 5; USE test" % t)
            drain(cur)
            cur.execute("DO 1")
            assert session_db(env, pc) == "test"
            cur.execute("UPDATE mir.%s SET name = 'b' WHERE id = 6" % t)
            cur.execute("COMMIT")
    finally:
        pc.close()
    execute(mariadb, "UPDATE mir.%s SET name = 'a' WHERE id = 5" % u, "UPDATE mir.%s SET name = 'b' WHERE id = 6" % u)
    settle(env, mariadb, t, u, did, "ready")


def test_use_in_a_packet_keeps_its_warnings(env, mariadb):
    """The SELECT DATABASE() that cutoverd runs after a packet with a USE
    does not take the packet's warnings away from SHOW WARNINGS."""
    seen = []
    for c in (env.connect(database="test", client_flag=MULTI), mariadb.connect(database="test", client_flag=MULTI)):
        try:
            with c.cursor() as cur:
                cur.execute("USE mir; SELECT 1 + 'a'")
                res = drain(cur)
                cur.execute("SHOW WARNINGS")
                seen.append((res, cur.fetchall()))
        finally:
            c.close()
    assert seen[0] == seen[1]
    assert seen[0][1] and seen[0][1][0][1] == 1292, seen
