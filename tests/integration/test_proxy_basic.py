"""
test_proxy_basic.py - the proxy relays a session faithfully.

Each test either runs the same thing through the proxy and directly and
compares what the client sees, or is parametrized over `endpoint`
(direct / proxy) so the expectation is checked against the real server too.
Client: PyMySQL (text protocol, no CLIENT_DEPRECATE_EOF) and, for auth and
framing with the C connector, the mariadb command-line client.
"""

import hashlib
import json
import os
import socket
import subprocess
import threading
import time

import pymysql
import pytest
from pymysql.constants import CLIENT, SERVER_STATUS

from conftest import MARIADB_CLI, free_port

STATUS_BITS = SERVER_STATUS.SERVER_STATUS_IN_TRANS | SERVER_STATUS.SERVER_STATUS_AUTOCOMMIT
MAX_PACKET = 0xFFFFFF
MiB = 1024 * 1024


def fetch(conn, sql, args=None):
    """(column names, rows) of one statement."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        names = [d[0] for d in cur.description] if cur.description else None
        return names, tuple(cur.fetchall())


def scalar(conn, sql, args=None):
    return fetch(conn, sql, args)[1][0][0]


def observe(conn, cur, sql, args=None):
    """Everything a client can see of one statement: rows, column
    metadata, affected rows, insert id, info, warning count, and the
    transaction/autocommit status bits."""
    cur.execute(sql, args)
    return {
        "sql": sql,
        "rows": cur.fetchall(),
        "description": cur.description,
        "rowcount": cur.rowcount,
        "lastrowid": cur.lastrowid,
        "info": conn._result.message,
        "warnings": conn._result.warning_count,
        "status": conn.server_status & STATUS_BITS,
    }


def all_result_sets(cur):
    """Drain a multi-result execute(): [(names, rows, rowcount), ...]."""
    sets = []
    while True:
        names = [d[0] for d in cur.description] if cur.description else None
        sets.append((names, cur.fetchall(), cur.rowcount))
        if not cur.nextset():
            return sets


def cli(port, *args, user="app", password="apppass", db="test"):
    argv = [MARIADB_CLI, "--no-defaults", "-h127.0.0.1", "-P%d" % port, "-u" + user, "-p" + password,
            "--batch", db, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# Plain relaying
# --------------------------------------------------------------------------

def test_select_1(endpoint):
    conn = endpoint.connect()
    assert fetch(conn, "SELECT 1") == (["1"], ((1,),))


def test_many_rows_same_as_direct(proxy, mariadb):
    sql = ("SELECT seq, CONCAT('row-', seq), seq * 1.5, IF(seq % 7 = 0, NULL, REPEAT('x', seq % 300)) "
           "FROM seq_1_to_100000")
    want = fetch(mariadb.connect(), sql)
    assert len(want[1]) == 100000
    assert fetch(proxy.connect(), sql) == want
    # Unbuffered: the client reads while the server still sends.
    conn = proxy.connect(cursorclass=pymysql.cursors.SSCursor)
    with conn.cursor() as cur:
        cur.execute(sql)
        assert tuple(cur.fetchall_unbuffered()) == want[1]
    assert fetch(conn, "SELECT 2") == (["2"], ((2,),))


TYPES_DDL = """CREATE TABLE {t} (
    id INT PRIMARY KEY,
    ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, i INT, bu BIGINT UNSIGNED, bs BIGINT,
    de DECIMAL(65,30), fl FLOAT, db DOUBLE, bt BIT(64),
    d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), y YEAR,
    c CHAR(10), vc VARCHAR(300), bn BINARY(4), vb VARBINARY(20),
    tb TINYBLOB, tx TEXT, mt MEDIUMTEXT, lb LONGBLOB,
    en ENUM('a','b','c'), st SET('x','y','z'), js JSON, g POINT, ip INET6, u UUID
) ENGINE=InnoDB"""

TYPES_ROWS = [
    "(1, -128, 65535, -8388608, -2147483648, 18446744073709551615, -9223372036854775808, "
    " '-12345678901234567890123456789012345.123456789012345678901234567890', 3.5, -1.25e300, b'1010', "
    " '2024-02-29', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.123', '-838:59:59', 2155, "
    " 'abc', 'h\u00e9llo w\u00f6rld \U0001F600', X'00FF0010', X'DEADBEEF00', X'00', 'text\\nwith\\ttabs', "
    " REPEAT('m', 70000), X'000102FF', 'b', 'x,z', '{\"k\": [1, 2, null]}', POINT(1.5, -2), '::1', "
    " '123e4567-e89b-12d3-a456-426614174000')",
    "(2, 127, 0, 8388607, 2147483647, 0, 9223372036854775807, 0, 0, 0, b'0', "
    " '1000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:01', '838:59:59', 1901, "
    " '', '', X'', X'', '', '', '', '', 'a', '', '[]', POINT(0, 0), '2001:db8::ff00:42:8329', "
    " '00000000-0000-0000-0000-000000000000')",
    "(3" + ", NULL" * 29 + ")",
]


def test_many_columns_and_types_same_as_direct(proxy, mariadb, unique_name):
    t = unique_name("types")
    direct = mariadb.connect()
    with direct.cursor() as cur:
        cur.execute(TYPES_DDL.format(t=t))
        cur.execute("INSERT INTO %s VALUES %s" % (t, ", ".join(TYPES_ROWS)))
    wide = "SELECT " + ", ".join("%d AS c%d, 'v%d' AS s%d" % (i, i, i, i) for i in range(300))
    for sql in ("SELECT * FROM %s ORDER BY id" % t,
                "SELECT id, ST_AsText(g), HEX(bt), CAST(js AS CHAR) FROM %s ORDER BY id" % t,
                wide):
        with direct.cursor() as cur:
            cur.execute(sql)
            want = (cur.description, cur.fetchall())
        with proxy.connect().cursor() as cur:
            cur.execute(sql)
            assert (cur.description, cur.fetchall()) == want, sql


def test_error_same_as_direct(proxy, mariadb):
    got = []
    for conn in (mariadb.connect(), proxy.connect()):
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            fetch(conn, "SELECT * FROM no_such_table")
        got.append(e.value.args)
        assert fetch(conn, "SELECT 1") == (["1"], ((1,),)), "the session goes on after an error"
    assert got[0] == (1146, "Table 'test.no_such_table' doesn't exist")
    assert got[1] == got[0]


def test_warnings(endpoint):
    conn = endpoint.connect(sql_mode="ERROR_FOR_DIVISION_BY_ZERO")   # not strict
    with conn.cursor() as cur:
        cur.execute("SELECT 1/0")
        assert cur.fetchall() == ((None,),)
        assert conn._result.warning_count == 1
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == (("Warning", 1365, "Division by 0"),)
        cur.execute("SELECT 1/0, 2/0")
        assert conn._result.warning_count == 2
        cur.execute("SHOW COUNT(*) WARNINGS")
        assert cur.fetchall() == ((2,),)


def test_multi_statements(endpoint, unique_name):
    t = unique_name()
    conn = endpoint.connect(client_flag=CLIENT.MULTI_STATEMENTS)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE %s (a INT); INSERT INTO %s VALUES (1), (2), (3); "
                    "SELECT a FROM %s ORDER BY a; UPDATE %s SET a = a + 10 WHERE a > 1; "
                    "SELECT 'x' AS x, 2 AS y" % (t, t, t, t))
        assert all_result_sets(cur) == [
            (None, (), 0),
            (None, (), 3),
            (["a"], ((1,), (2,), (3,)), 3),
            (None, (), 2),
            (["x", "y"], (("x", 2),), 1),
        ]
        # An error in the middle ends the batch: the statements after it do not run.
        cur.execute("SELECT 1; SELECT * FROM no_such_table; INSERT INTO %s VALUES (99)" % t)
        assert cur.fetchall() == ((1,),)
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.nextset()
        assert e.value.args[0] == 1146
        cur.execute("SELECT COUNT(*) FROM %s WHERE a = 99" % t)
        assert cur.fetchall() == ((0,),)
        cur.execute("SELECT 'after'")
        assert cur.fetchall() == (("after",),)


def test_transactions(endpoint, mariadb, unique_name):
    t = unique_name()
    direct = mariadb.connect()
    fetch(direct, "CREATE TABLE %s (a INT) ENGINE=InnoDB" % t)
    conn = endpoint.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS
        cur.execute("INSERT INTO %s VALUES (1)" % t)
        assert scalar(conn, "SELECT @@in_transaction") == 1
        assert scalar(conn, "SELECT COUNT(*) FROM %s" % t) == 1
        assert scalar(direct, "SELECT COUNT(*) FROM %s" % t) == 0
        cur.execute("ROLLBACK")
        assert not conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS
        assert scalar(conn, "SELECT @@in_transaction") == 0
        assert scalar(direct, "SELECT COUNT(*) FROM %s" % t) == 0

        cur.execute("START TRANSACTION")
        cur.execute("INSERT INTO %s VALUES (2)" % t)
        assert scalar(direct, "SELECT COUNT(*) FROM %s" % t) == 0
        cur.execute("COMMIT")
        assert scalar(conn, "SELECT @@in_transaction") == 0
        assert fetch(direct, "SELECT a FROM %s" % t)[1] == ((2,),)

        # autocommit off: the first statement opens a transaction
        conn.autocommit(False)
        cur.execute("INSERT INTO %s VALUES (3)" % t)
        assert conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS
        assert not conn.server_status & SERVER_STATUS.SERVER_STATUS_AUTOCOMMIT
        assert scalar(direct, "SELECT COUNT(*) FROM %s" % t) == 1
        conn.commit()
        assert scalar(direct, "SELECT COUNT(*) FROM %s" % t) == 2


def test_use_and_select_db(endpoint, mariadb, unique_name):
    db = unique_name("db")
    fetch(mariadb.connect(), "CREATE DATABASE %s" % db)
    fetch(mariadb.connect(), "CREATE TABLE %s.marker (v VARCHAR(10))" % db)
    fetch(mariadb.connect(), "INSERT INTO %s.marker VALUES ('here')" % db)
    conn = endpoint.connect()
    assert scalar(conn, "SELECT DATABASE()") == "test"
    fetch(conn, "USE %s" % db)
    assert scalar(conn, "SELECT DATABASE()") == db
    assert scalar(conn, "SELECT v FROM marker") == "here"
    conn.select_db("test")                                  # COM_INIT_DB
    assert scalar(conn, "SELECT DATABASE()") == "test"
    conn.select_db(db)
    assert scalar(conn, "SELECT v FROM marker") == "here"
    with pytest.raises(pymysql.err.OperationalError) as e:
        conn.select_db("no_such_db")
    assert e.value.args[0] == 1049
    assert scalar(conn, "SELECT DATABASE()") == db
    no_db = endpoint.connect(database=None)
    assert scalar(no_db, "SELECT DATABASE()") is None


def test_user_variables_persist(endpoint):
    conn = endpoint.connect()
    fetch(conn, "SET @x = 42, @s = 'str'")
    for _ in range(3):
        assert fetch(conn, "SELECT @x, @s")[1] == ((42, "str"),)
    assert fetch(endpoint.connect(), "SELECT @x")[1] == ((None,),)


def test_temporary_tables_persist(endpoint, unique_name):
    t = unique_name("tmp")
    conn = endpoint.connect()
    fetch(conn, "CREATE TEMPORARY TABLE %s (a INT)" % t)
    fetch(conn, "INSERT INTO %s VALUES (1), (2)" % t)
    assert scalar(conn, "SELECT COUNT(*) FROM %s" % t) == 2
    assert scalar(conn, "SELECT SUM(a) FROM %s" % t) == 3
    with pytest.raises(pymysql.err.ProgrammingError) as e:
        fetch(endpoint.connect(), "SELECT * FROM %s" % t)
    assert e.value.args[0] == 1146


def test_load_data_local_infile(endpoint, mariadb, unique_name, tmp_path):
    t = unique_name()
    fetch(mariadb.connect(), "CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(100))" % t)
    n = 20000                                 # ~600 kB: many 16 kB chunks
    path = tmp_path / "rows.csv"
    path.write_text("".join("%d,value number %d %s\n" % (i, i, "y" * (i % 50)) for i in range(n)))
    conn = endpoint.connect(local_infile=True)
    with conn.cursor() as cur:
        cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE " + t + " FIELDS TERMINATED BY ','", (str(path),))
        assert cur.rowcount == n
        assert conn._result.message.endswith(b"Records: %d  Deleted: 0  Skipped: 0  Warnings: 0" % n)
    assert fetch(mariadb.connect(), "SELECT COUNT(*), SUM(id), MAX(v) FROM %s" % t)[1] == \
        ((n, n * (n - 1) // 2, "value number 9999 " + "y" * 49),)
    assert scalar(conn, "SELECT 'after'") == "after"


def test_big_blob_roundtrip(endpoint, mariadb, unique_name):
    """20 MB each way: packets of 16 MiB and more come as several frames."""
    t = unique_name()
    fetch(mariadb.connect(), "CREATE TABLE %s (id INT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB" % t)
    blob = os.urandom(20 * MiB)
    conn = endpoint.connect(max_allowed_packet=64 * MiB)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO " + t + " VALUES (1, %s)", (blob,))
        assert cur.rowcount == 1
        cur.execute("SELECT b, LENGTH(b), SHA2(b, 256) FROM %s WHERE id = 1" % t)
        b, length, sha = cur.fetchone()
    assert length == len(blob)
    assert sha == hashlib.sha256(blob).hexdigest()
    assert b == blob
    assert scalar(conn, "SELECT LENGTH(REPEAT('z', 20 * 1024 * 1024))") == 20 * MiB
    assert len(scalar(conn, "SELECT REPEAT('z', 20 * 1024 * 1024)")) == 20 * MiB


@pytest.mark.parametrize("payload", [MAX_PACKET - 1, MAX_PACKET, MAX_PACKET + 1, 2 * MAX_PACKET])
def test_packet_size_boundaries(endpoint, payload):
    """A command and a row whose payloads are exactly around 0xFFFFFF
    bytes: at exactly 0xFFFFFF (and multiples) an empty frame follows."""
    conn = endpoint.connect(max_allowed_packet=64 * MiB)
    # client -> server: COM_QUERY payload = 1 command byte + the SQL text
    head, tail_ = "SELECT '", "' AS v"
    n = payload - 1 - len(head) - len(tail_)
    got = scalar(conn, head + "q" * n + tail_)
    assert len(got) == n and got == "q" * n
    # server -> client: a one-column row = length prefix + value
    prefix = 4 if payload - 4 < 1 << 24 else 9
    n = payload - prefix
    got = scalar(conn, "SELECT REPEAT('r', %d) AS v" % n)
    assert len(got) == n
    assert scalar(conn, "SELECT 'after'") == "after"


def test_ping(endpoint):
    conn = endpoint.connect()
    conn.ping(reconnect=False)
    conn.ping(reconnect=False)
    assert scalar(conn, "SELECT 1") == 1


def test_connection_id_and_kill_query(endpoint, mariadb):
    conn = endpoint.connect()
    cid = conn.thread_id()
    assert scalar(conn, "SELECT CONNECTION_ID()") == cid
    result = {}

    def sleeper():
        try:
            result["rows"] = fetch(conn, "SELECT SLEEP(10)")
        except Exception as e:     # noqa: BLE001 - the point is to look at it
            result["error"] = e

    th = threading.Thread(target=sleeper)
    t0 = time.monotonic()
    th.start()
    root = mariadb.root_connect()
    try:
        deadline = time.monotonic() + 5
        while True:    # the backend session with that id runs the SLEEP
            info = fetch(root, "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = %s", (cid,))[1]
            if info and info[0][0] == "SELECT SLEEP(10)":
                break
            assert time.monotonic() < deadline, "no backend session %d running SLEEP: %r" % (cid, info)
            time.sleep(0.05)
    finally:
        root.close()
    killer = endpoint.connect()
    fetch(killer, "KILL QUERY %d" % cid)
    th.join(15)
    assert not th.is_alive()
    assert time.monotonic() - t0 < 8, "the SLEEP was not interrupted"
    err = result.get("error")
    assert isinstance(err, pymysql.err.OperationalError), result
    assert err.args == (1317, "Query execution was interrupted")
    assert scalar(conn, "SELECT 'still here'") == "still here"


def test_change_user():
    pytest.skip("PyMySQL has no COM_CHANGE_USER; change_user is covered by the C/Perl client tests")


def test_wrong_password_same_as_direct(proxy, mariadb):
    got = []
    for target in (mariadb, proxy):
        with pytest.raises(pymysql.err.OperationalError) as e:
            target.connect(password="wrong")
        got.append(e.value.args)
    assert got[0][0] == 1045
    assert got[1] == got[0]
    assert scalar(proxy.connect(), "SELECT 1") == 1, "the proxy still serves good logins"


def test_backend_down_gives_mysql_error(make_proxy):
    p = make_proxy(backend_port=free_port(), backend_connect_timeout_ms=2000)
    for _ in range(2):
        t0 = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError) as e:
            p.connect()
        errno, message = e.value.args[0], e.value.args[1]
        # PyMySQL's own errors for a bare disconnect are 2013/2006, and a
        # socket error carries original_exception: an ERR packet has neither.
        assert errno not in (0, 2006, 2013), e.value.args
        assert not hasattr(e.value, "original_exception"), e.value.args
        assert message
        assert time.monotonic() - t0 < 8
    assert p.proc.poll() is None, "cutoverd died"


# --------------------------------------------------------------------------
# A backend link that delivers packets in pieces
# --------------------------------------------------------------------------

class TailHoldingRelay:
    """A TCP relay between the proxy and the server that delivers the last
    `hold` bytes of each chunk the server sends `delay` seconds after the
    rest, as a segment of their own.  A response usually leaves the server
    in one write, so the packet that ends it (OK, ERR, EOF, or a LOCAL
    INFILE request) reaches the proxy in two reads.  `splits` counts the
    chunks split so."""

    def __init__(self, host, port, hold=2, delay=0.02):
        self.target = (host, port)
        self.hold, self.delay = hold, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.socks = []
        self.splits = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
                server = socket.create_connection(self.target)
            except OSError:
                return
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src, dst, split):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if split and len(data) > self.hold:
                    dst.sendall(data[:-self.hold])
                    time.sleep(self.delay)
                    data = data[-self.hold:]
                    self.splits += 1
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.listener.close()
        for sock in self.socks:
            sock.close()


def test_terminal_packets_in_two_reads(make_proxy, mariadb, unique_name, tmp_path):
    """The packet that ends a response may reach the proxy in two reads, as
    any other: it goes on to the client whole and the session goes on."""
    t = unique_name()
    path = tmp_path / "rows.txt"
    path.write_text("1\tone\n2\ttwo\n")
    relay = TailHoldingRelay(mariadb.host, mariadb.port)
    try:
        p = make_proxy(backend_host="127.0.0.1", backend_port=relay.port)
        conn = p.connect(local_infile=True, client_flag=CLIENT.MULTI_STATEMENTS)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(10))" % t)       # OK
            cur.execute("INSERT INTO %s VALUES (5, 'five')" % t)
            assert cur.rowcount == 1
            cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE " + t, (str(path),))       # request, OK
            assert cur.rowcount == 2
            assert conn._result.message.endswith(b"Records: 2  Deleted: 0  Skipped: 0  Warnings: 0")
            cur.execute("SELECT id, v FROM %s ORDER BY id" % t)                           # rows, EOF
            assert cur.fetchall() == ((1, "one"), (2, "two"), (5, "five"))
            with pytest.raises(pymysql.err.ProgrammingError) as e:                      # ERR
                cur.execute("SELECT * FROM no_such_table_split")
            assert e.value.args[0] == 1146
            cur.execute("SELECT 1; DO 2; SELECT 3")                                     # MORE_RESULTS
            assert all_result_sets(cur) == [(["1"], ((1,),), 1), (None, (), 0), (["3"], ((3,),), 1)]
            cur.execute("SELECT 1/0")
            assert conn._result.warning_count == 1
            cur.execute("SHOW WARNINGS")
            assert cur.fetchall()[0][1] == 1365
            conn.ping(reconnect=False)
        assert scalar(conn, "SELECT 'after'") == "after"
        conn.close()
        assert relay.splits >= 10, relay.splits
    finally:
        relay.close()
    fetch(mariadb.connect(), "DROP TABLE %s" % t)
    assert "protocol error" not in p.read_log(), p.diagnostics()


# --------------------------------------------------------------------------
# The C connector (libmariadb) and auth plugins
# --------------------------------------------------------------------------

@pytest.mark.parametrize("user,password", [("app", "apppass"), ("app_ed", "edpass")])
def test_mariadb_cli_same_as_direct(proxy, mariadb, user, password):
    """The mariadb client negotiates more than PyMySQL (MariaDB capabilities,
    DEPRECATE_EOF); ed25519 needs an auth switch."""
    sql = ("SELECT 1 AS a, 'two' AS b; SELECT seq FROM seq_1_to_5; "
           "SELECT 1/0; SHOW WARNINGS; SELECT CURRENT_USER(), DATABASE()")
    want = cli(mariadb.port, "-e", sql, user=user, password=password)
    assert want.returncode == 0, want.stderr
    got = cli(proxy.port, "-e", sql, user=user, password=password)
    assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, want.stderr)
    bad = cli(proxy.port, "-e", "SELECT 1", user=user, password="wrong")
    assert bad.returncode != 0 and "1045" in bad.stderr


# --------------------------------------------------------------------------
# [debug] inject_before / inject_after
# --------------------------------------------------------------------------

INJECT_SQL = "INSERT INTO test.inject_log (conn) VALUES (CONNECTION_ID())"


@pytest.fixture
def inject_log(mariadb):
    """test.inject_log, InnoDB, no auto-increment column (an injected
    INSERT must not move LAST_INSERT_ID)."""
    conn = mariadb.connect()
    fetch(conn, "CREATE TABLE IF NOT EXISTS test.inject_log "
                "(conn BIGINT UNSIGNED NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
                "KEY (conn)) ENGINE=InnoDB")
    return lambda cid: scalar(conn, "SELECT COUNT(*) FROM test.inject_log WHERE conn = %s", (cid,))


def test_saved_diagnostics_with_the_c_connector(make_proxy, mariadb):
    """The result sets cutoverd builds from saved diagnostics, read by
    libmariadb (the mariadb client), are the server's: their column
    definitions must follow what the session negotiated (with MariaDB's
    extended metadata, if relayed, each carries one more field)."""
    p = make_proxy(debug_inject_after="DO 1")
    sql = ("SELECT 1/0; SELECT @@warning_count; SELECT @@session.error_count; SHOW COUNT(*) WARNINGS; "
           "SHOW WARNINGS")
    want = cli(mariadb.port, "--column-type-info", "-e", sql)
    assert want.returncode == 0, want.stderr
    got = cli(p.port, "--column-type-info", "-e", sql)
    assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, want.stderr)


@pytest.mark.parametrize("end", ["ROLLBACK", "COMMIT"])
def test_inject_before_is_inside_the_transaction(make_proxy, inject_log, end):
    p = make_proxy(debug_inject_before=INJECT_SQL)
    conn = p.connect()
    cid = conn.thread_id()
    fetch(conn, "BEGIN")
    before = inject_log(cid)      # what was injected outside the transaction
    assert fetch(conn, "SELECT 1") == (["1"], ((1,),))
    # Inside the transaction the client's own session sees the injected rows,
    # another session does not (yet).
    assert scalar(conn, "SELECT COUNT(*) FROM test.inject_log WHERE conn = CONNECTION_ID()") > before
    assert inject_log(cid) == before
    fetch(conn, end)
    if end == "ROLLBACK":
        assert inject_log(cid) == before, "rows injected inside the transaction survived its ROLLBACK"
    else:
        assert inject_log(cid) >= before + 2, "rows injected inside the transaction were not committed"


def client_view(conn, t):
    """A fixed workload; returns what the client saw of each statement."""
    steps = [
        "INSERT INTO {t} (v) VALUES ('a')",
        "SELECT LAST_INSERT_ID()",
        "INSERT INTO {t} (v) VALUES ('b'), ('c'), ('d')",
        "SELECT LAST_INSERT_ID()",
        "BEGIN",
        "UPDATE {t} SET v = CONCAT(v, 'x') WHERE id >= 2",
        "INSERT INTO {t} (id, v) VALUES (100, 'e')",
        "SELECT LAST_INSERT_ID()",
        "INSERT INTO {t} (id, v) VALUES (100, 'f') ON DUPLICATE KEY UPDATE v = 'g'",
        "INSERT INTO {t} (v) VALUES ('h')",
        "DELETE FROM {t} WHERE id = 3",
        "SELECT @@in_transaction",
        "SELECT id, v FROM {t} ORDER BY id",
        "COMMIT",
        "INSERT IGNORE INTO {t} (id, v) VALUES (1, 'dup')",
        "UPDATE {t} SET v = v WHERE id = 1",
        "UPDATE {t} SET v = 'q'",
        "REPLACE INTO {t} (id, v) VALUES (1, 'r')",
        "SELECT LAST_INSERT_ID(), @@in_transaction",
        "BEGIN",
        "INSERT INTO {t} (v) VALUES ('gone')",
        "ROLLBACK",
        "SELECT COUNT(*), MAX(id) FROM {t}",
        "SELECT LAST_INSERT_ID()",
    ]
    with conn.cursor() as cur:
        return [observe(conn, cur, s.format(t=t)) for s in steps]


def _strip_table(view, t):
    for step in view:
        step["sql"] = step["sql"].replace(t, "T")
    return view


@pytest.mark.parametrize("hook", ["inject_before", "inject_after"])
def test_injection_invisible_to_client(make_proxy, mariadb, inject_log, unique_name, hook):
    """Same workload directly and through a proxy that injects a statement
    before (an INSERT) or after (DO 1) every command: the client sees the
    same rows, affected rows, insert ids, info, warnings and status."""
    p = make_proxy(**{"debug_" + hook: INJECT_SQL if hook == "inject_before" else "DO 1"})
    direct, proxied = mariadb.connect(), p.connect()
    views = []
    for conn in (direct, proxied):
        t = unique_name()
        fetch(mariadb.connect(), "CREATE TABLE %s (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)) "
                                 "ENGINE=InnoDB" % t)
        views.append(_strip_table(client_view(conn, t), t))
    for want, got in zip(*views):
        assert got == want
    # ... and the hook did run, once per command (24 of them, 2 rolled back).
    if hook == "inject_before":
        assert inject_log(proxied.thread_id()) >= 20
    else:
        assert int(fetch(proxied, "SHOW SESSION STATUS LIKE 'Com_do'")[1][0][1]) >= 20


# --------------------------------------------------------------------------
# Admin socket
# --------------------------------------------------------------------------

def _client_entries(reply):
    """The list of session objects in a `clients` reply."""
    if isinstance(reply.get("clients"), list):
        return reply["clients"]
    for value in reply.values():
        if isinstance(value, list) and all(isinstance(x, dict) for x in value):
            return value
    raise AssertionError("no list of clients in %r" % reply)


def test_admin_status(proxy):
    conn = proxy.connect()
    reply = proxy.admin("status")
    assert reply.get("ok") is True, reply
    for key in ("version", "uptime", "sessions"):
        assert key in reply, reply
    if isinstance(reply["sessions"], int):
        assert reply["sessions"] >= 1, reply
    assert scalar(conn, "SELECT 1") == 1


def test_admin_clients(proxy):
    conn = proxy.connect()
    reply = proxy.admin("clients")
    assert reply.get("ok") is True, reply
    mine = [c for c in _client_entries(reply) if c.get("user") == "app"]
    assert len(mine) == 1, reply
    assert mine[0].get("db") == "test", reply
    conn.close()
    deadline = time.monotonic() + 5
    while [c for c in _client_entries(proxy.admin("clients")) if c.get("user") == "app"]:
        assert time.monotonic() < deadline, "a closed session is still listed"
        time.sleep(0.05)


def test_admin_garbage_then_more(proxy):
    with proxy.admin_connect() as a:
        for junk in (b"this is not a command", b"\xff\xfe\x00garbage", b"status status status " * 50):
            reply = a.cmd(junk)
            assert reply.get("ok") is False, reply
            assert isinstance(reply.get("error"), str) and reply["error"], reply
        reply = a.cmd("status")
        assert reply.get("ok") is True, reply
        reply = a.cmd("status")
        assert reply.get("ok") is True, reply
    assert proxy.admin("status").get("ok") is True


def test_cutoverctl_status(proxy):
    r = proxy.ctl("status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    r = proxy.ctl("--json", "status")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]).get("ok") is True
