"""
test_c_clients.py - the proxy with clients that PyMySQL cannot stand in for.

1. MariaDB Connector/C: tests/integration/ctest_clients.c, built by
   `make check` (tests/integration/ctest.am), runs one named test per call:
   server-side prepared statements of every type, long data, cursors and
   COM_STMT_FETCH, statement reset/close, a prepared LOAD DATA LOCAL
   INFILE, COM_CHANGE_USER (ed25519 too), COM_RESET_CONNECTION,
   COM_SET_OPTION, COM_FIELD_LIST, COM_STATISTICS, KILL and
   COM_PROCESS_KILL, COM_PING, COM_INIT_DB, COM_PROCESS_INFO, COM_DEBUG,
   COM_REFRESH, stored procedures with several result sets and
   OUT parameters, text and binary (also sent while the procedure has a
   cursor of its own open), MariaDB's extended metadata (JSON, INET6, UUID),
   MariaDB's metadata cache (executes answered without column definitions).
   Each test runs against the server directly and through the proxy, and
   both runs must pass: a test that passes directly and fails through the
   proxy has found a proxy bug.

2. A bare protocol client (below) for CLIENT_DEPRECATE_EOF.  Connector/C
   3.3 never negotiates it (and refuses the flag), PyMySQL does not either,
   so without this nothing here would exercise the framing that most other
   connectors (MySQL Connector/J, mysql2, Go's driver, ...) use.  PyMySQL
   does the handshake; the commands and their responses are written and
   read packet by packet, checked for framing, and compared byte for byte
   between the server and the proxy, with and without DEPRECATE_EOF; also
   what no library here sends: pipelined commands, PREPARE + EXECUTE of
   statement id 0xffffffff in one write, COM_STMT_FETCH of a closed id.
"""

import os
import re
import struct
import subprocess

import pymysql
import pytest
from pymysql.constants import CLIENT

from conftest import BUILDDIR, _require_binary

CTEST = os.path.join(BUILDDIR, "tests", "integration", "ctest_clients")

# The tests in ctest_clients.c, in its order (test_ctest_list checks it).
C_TESTS = [
    "stmt_types",
    "stmt_long_data",
    "stmt_cursor",
    "stmt_reset",
    "stmt_close_reuse",
    "stmt_reprepare",
    "stmt_metadata_cache",
    "stmt_exec_error",
    "stmt_execute_direct",
    "stmt_load_local",
    "change_user",
    "change_user_fail",
    "reset_connection",
    "set_server_option",
    "list_fields",
    "stat",
    "kill_query",
    "kill_connection",
    "ping",
    "select_db",
    "sp_text",
    "sp_prepared",
    "sp_cursor_prepared",
    "deprecate_eof",
    "ext_metadata",
    "misc_commands",
]

# Proxy bugs not fixed yet: {(test, endpoint kind): reason}.  Such a test
# is marked xfail(strict=True) for that endpoint only, so it turns into a
# failure the moment the bug is fixed: then delete the entry.
KNOWN_PROXY_BUGS = {}


def run_ctest(target, name, timeout=240):
    _require_binary(CTEST)
    argv = [CTEST, target.host, str(target.port), "app", "apppass", "test", name]
    return subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, CTEST_ED_USER="app_ed", CTEST_ED_PASSWORD="edpass"))


def test_ctest_list():
    """The Python list runs every test the program has."""
    _require_binary(CTEST)
    r = subprocess.run([CTEST, "--list"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == C_TESTS


@pytest.mark.parametrize("name", C_TESTS)
def test_connector_c(endpoint, name, request):
    bug = KNOWN_PROXY_BUGS.get((name, endpoint.kind))
    if bug:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason="proxy bug: " + bug))
    r = run_ctest(endpoint, name)
    out = r.stdout.decode("utf-8", "replace")
    lines = out.splitlines()
    report = "ctest_clients %s via %s: exit %d\n%s%s" % (
        name, endpoint.kind, r.returncode, out, r.stderr.decode("utf-8", "replace"))
    if endpoint.kind == "proxy":
        report += "\n" + endpoint.diagnostics()
    assert not [ln for ln in lines if ln.startswith("not ok")], report
    assert [ln for ln in lines if ln.startswith("ok ")] == ["ok 1 - " + name], report
    assert r.returncode == 0, report
    if endpoint.kind == "proxy":
        assert endpoint.proc.poll() is None, "cutoverd died\n" + endpoint.diagnostics()


# --------------------------------------------------------------------------
# A bare protocol client, for CLIENT_DEPRECATE_EOF
# --------------------------------------------------------------------------

COM_INIT_DB, COM_QUERY, COM_FIELD_LIST = 0x02, 0x03, 0x04
COM_STATISTICS, COM_PROCESS_INFO, COM_DEBUG, COM_PING = 0x09, 0x0A, 0x0D, 0x0E
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA = 0x16, 0x17, 0x18
COM_STMT_CLOSE, COM_STMT_RESET, COM_SET_OPTION, COM_STMT_FETCH = 0x19, 0x1A, 0x1B, 0x1C
COM_RESET_CONNECTION = 0x1F

MORE_RESULTS = 0x0008
CURSOR_EXISTS = 0x0040
CURSOR_TYPE_READ_ONLY = 0x01     # COM_STMT_EXECUTE flags
LAST_ROW_SENT = 0x0080
PS_OUT_PARAMS = 0x1000

T_LONG, T_VAR_STRING = 0x03, 0xFD
MAX_FRAME = 0xFFFFFF
MiB = 1024 * 1024


def lenenc(buf, pos):
    """(value, next position) of a length-encoded integer."""
    b = buf[pos]
    if b < 0xFB:
        return b, pos + 1
    if b == 0xFC:
        return struct.unpack_from("<H", buf, pos + 1)[0], pos + 3
    if b == 0xFD:
        return int.from_bytes(buf[pos + 1:pos + 4], "little"), pos + 4
    if b == 0xFE:
        return struct.unpack_from("<Q", buf, pos + 1)[0], pos + 9
    raise AssertionError("bad length-encoded integer 0x%02x at %d in %r" % (b, pos, buf[:40]))


class Raw:
    """One session: PyMySQL logs in with the given capability flags, then
    commands and responses go packet by packet.  Every response is read
    with the framing the capabilities call for, and returned as a list of
    (tag, payload) for comparison; a framing error fails the test."""

    def __init__(self, target, deprecate_eof):
        self.deprecate_eof = deprecate_eof
        flags = CLIENT.MULTI_STATEMENTS | CLIENT.MULTI_RESULTS | CLIENT.PS_MULTI_RESULTS
        if deprecate_eof:
            flags |= CLIENT.DEPRECATE_EOF
        self.conn = target.connect(client_flag=flags, max_allowed_packet=64 * MiB, read_timeout=60)
        self.seq = 0

    def close(self):
        self.conn.close()

    # -- frames --------------------------------------------------------------

    def send(self, payload):
        """One command: the payload, split into frames as it must be."""
        self.seq = 0
        data = b""
        while True:
            chunk, payload = payload[:MAX_FRAME], payload[MAX_FRAME:]
            data += len(chunk).to_bytes(3, "little") + bytes([self.seq]) + chunk
            self.seq = (self.seq + 1) % 256
            if len(chunk) < MAX_FRAME:
                break
        self.conn._write_bytes(data)

    def packet(self):
        """One logical packet (frames joined), its sequence ids checked."""
        buf = b""
        while True:
            hdr = self.conn._read_bytes(4)
            n = int.from_bytes(hdr[:3], "little")
            assert hdr[3] == self.seq, "sequence id %d, want %d (after %r)" % (hdr[3], self.seq, buf[:40])
            self.seq = (self.seq + 1) % 256
            buf += self.conn._read_bytes(n)
            if n < MAX_FRAME:
                return buf

    def pipeline(self, payloads, readers):
        """Several commands in one write (as pipelining connectors send
        them), then their responses in order: readers[i]() reads the i-th.
        One transcript, the responses marked off."""
        data = b""
        for payload in payloads:
            assert len(payload) < MAX_FRAME
            data += frame(payload, 0)
        self.conn._write_bytes(data)
        out = []
        for n, read in enumerate(readers):
            self.seq = 1
            out.append(("response %d" % n, b""))
            out.extend(read())
        return out

    def nothing_pending(self):
        """PING, to prove that no stray packet is waiting."""
        self.send(bytes([COM_PING]))
        p = self.packet()
        assert p[:1] == b"\x00", "a stray packet instead of PING's OK: %r" % p[:60]

    # -- responses -----------------------------------------------------------

    def status_of(self, p):
        """Status flags of an OK, an EOF, or (DEPRECATE_EOF) an OK with 0xFE."""
        if p[0] == 0xFE and not self.deprecate_eof:
            assert len(p) == 5, "EOF packet of %d bytes: %r" % (len(p), p)
            return struct.unpack_from("<H", p, 3)[0]
        _, pos = lenenc(p, 1)
        _, pos = lenenc(p, pos)
        return struct.unpack_from("<H", p, pos)[0]

    def defs(self, n, out, tag):
        for _ in range(n):
            p = self.packet()
            assert p[:4] == b"\x03def", "%s definition expected, got %r" % (tag, p[:40])
            out.append((tag, p))

    def eof_after_defs(self, out):
        """The EOF that ends definitions, when DEPRECATE_EOF is off; its status."""
        if self.deprecate_eof:
            return None
        p = self.packet()
        assert p[:1] == b"\xfe" and len(p) == 5, "EOF after definitions expected, got %r" % p[:40]
        out.append(("eof", p))
        return self.status_of(p)

    def rows(self, out, binary):
        """Rows up to and including the terminator (or ERR); its status."""
        while True:
            p = self.packet()
            if p[:1] == b"\xff":
                out.append(("err", p))
                return None
            if p[:1] == b"\xfe" and len(p) < MAX_FRAME and (self.deprecate_eof or len(p) == 5):
                out.append(("end", p))
                return self.status_of(p)
            if binary:
                assert p[:1] == b"\x00", "binary row expected, got %r" % p[:40]
            out.append(("row", p))

    def results(self, binary=False, cursor=False):
        """The response to COM_QUERY or COM_STMT_EXECUTE: OK, ERR or result
        sets, as long as MORE_RESULTS says more follow; with `cursor` (an
        EXECUTE that asked for one), or a cursor's column definitions."""
        out = []
        while True:
            p = self.packet()
            if p[:1] == b"\xff":
                out.append(("err", p))
                return out
            if p[:1] == b"\x00":
                out.append(("ok", p))
                if self.status_of(p) & MORE_RESULTS:
                    continue
                return out
            assert p[:1] != b"\xfb", "LOCAL INFILE request: not in these tests"
            n, end = lenenc(p, 0)
            assert end == len(p) and n > 0, "column count expected, got %r" % p[:40]
            out.append(("columns", p))
            self.defs(n, out, "coldef")
            status = self.eof_after_defs(out)
            if cursor and status is not None and status & CURSOR_EXISTS and not status & MORE_RESULTS:
                return out                   # rows come by COM_STMT_FETCH
            status = self.rows(out, binary)
            if status is None or not status & MORE_RESULTS:
                return out

    def prepare(self, sql):
        """COM_STMT_PREPARE: (statement id or None, transcript)."""
        self.send(bytes([COM_STMT_PREPARE]) + sql.encode())
        out = []
        p = self.packet()
        if p[:1] == b"\xff":
            return None, [("err", p)]
        assert p[:1] == b"\x00" and len(p) >= 12, "PREPARE_OK expected, got %r" % p[:40]
        sid, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        out.append(("prepare_ok", p[:1] + b"<id>" + p[5:]))
        if nparams:
            self.defs(nparams, out, "paramdef")
            self.eof_after_defs(out)
        if ncols:
            self.defs(ncols, out, "coldef")
            self.eof_after_defs(out)
        return sid, out

    def execute(self, sid, params=(), flags=0):
        """COM_STMT_EXECUTE; params are (type, value): bytes, None for
        NULL, or True for a parameter whose long data was sent before."""
        self.send(execute_payload(sid, params, flags))
        return self.results(binary=True, cursor=bool(flags & CURSOR_TYPE_READ_ONLY))

    def fetch(self, sid, n):
        self.send(bytes([COM_STMT_FETCH]) + struct.pack("<II", sid, n))
        out = []
        status = self.rows(out, binary=True)
        return status, out

    def query(self, sql):
        self.send(bytes([COM_QUERY]) + (sql.encode() if isinstance(sql, str) else sql))
        return self.results()

    def simple(self, payload):
        """A command answered by exactly one packet."""
        self.send(payload)
        p = self.packet()
        return [("one", p)]


def execute_payload(sid, params=(), flags=0):
    """A COM_STMT_EXECUTE payload (see Raw.execute)."""
    p = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", sid, flags, 1)
    if params:
        bitmap = bytearray((len(params) + 7) // 8)
        for i, (_, v) in enumerate(params):
            if v is None:
                bitmap[i // 8] |= 1 << (i % 8)
        p += bytes(bitmap) + b"\x01"
        p += b"".join(struct.pack("<BB", t, 0) for t, _ in params)
        p += b"".join(v for _, v in params if isinstance(v, bytes))
    return p


def frame(payload, seq):
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def drop_raw_tables(mariadb, t):
    with mariadb.connect().cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS %s" % t)
        cur.execute("DROP PROCEDURE IF EXISTS %s_p" % t)
        cur.execute("DROP PROCEDURE IF EXISTS %s_o" % t)
        cur.execute("DROP PROCEDURE IF EXISTS %s_c" % t)


def setup_raw_tables(mariadb, t):
    """(Re)create the table and procedures the scenarios use, so that
    each run starts from the same state."""
    drop_raw_tables(mariadb, t)
    conn = mariadb.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB" % t)
        cur.execute("INSERT INTO %s SELECT seq, CONCAT('value ', seq) FROM seq_1_to_10" % t)
        cur.execute("CREATE PROCEDURE %s_p(IN n INT) BEGIN SELECT id, v FROM %s WHERE id <= n ORDER BY id; "
                    "SELECT COUNT(*) AS c FROM %s; DO 1; END" % (t, t, t))
        cur.execute("CREATE PROCEDURE %s_o(IN a INT, OUT b INT, INOUT c VARCHAR(20)) BEGIN "
                    "SELECT a AS a_in; SET b = a * 10; SET c = CONCAT(c, '!'); END" % t)
        # result sets (the first empty) sent while a cursor of the procedure is
        # open: their EOF/OK packets carry CURSOR_EXISTS and MORE_RESULTS
        cur.execute("CREATE PROCEDURE %s_c(IN n INT) BEGIN FOR r IN (SELECT id FROM %s WHERE id <= n "
                    "ORDER BY id) DO SELECT r.id AS id FROM DUAL WHERE r.id <> 1; END FOR; END" % (t, t))


def i32(v):
    return struct.pack("<i", v)


def scenario_text(raw, t):
    return [
        ("select", raw.query("SELECT 1 AS a, 'x' AS b, NULL AS c")),
        ("rows", raw.query("SELECT id, v FROM %s ORDER BY id" % t)),
        ("empty", raw.query("SELECT * FROM %s WHERE 0" % t)),
        ("do", raw.query("DO 1")),
        ("error", raw.query("SELECT * FROM no_such_table_raw")),
        ("multi", raw.query("SELECT 1; SELECT 2, 3; DO 4; SELECT * FROM %s WHERE 0" % t)),
        ("multi error", raw.query("SELECT 1; SELECT * FROM no_such_table_raw; SELECT 3")),
        ("call", raw.query("CALL %s_p(3)" % t)),
        ("big row", raw.query("SELECT REPEAT('r', %d) AS big" % (17 * MiB))),
        ("pipelined", raw.pipeline([bytes([COM_QUERY]) + b"SELECT 1", bytes([COM_QUERY]) + b"DO 2",
                                    bytes([COM_QUERY]) + b"SELECT * FROM no_such_table_raw",
                                    bytes([COM_QUERY]) + b"SELECT 4"], [raw.results] * 4)),
        ("after", raw.query("SELECT 'after'")),
    ]


def scenario_prepared(raw, t):
    steps = []
    sid, out = raw.prepare("SELECT id, v FROM %s WHERE id > ? ORDER BY id" % t)
    steps.append(("prepare", out))
    steps.append(("execute cursor", raw.execute(sid, [(T_LONG, i32(0))], flags=1)))
    for k in range(10):
        status, out = raw.fetch(sid, 3)
        steps.append(("fetch %d" % k, out))
        if status is None or status & LAST_ROW_SENT:
            break
    assert status is not None and status & LAST_ROW_SENT, steps[-1]
    steps.append(("reset", raw.simple(bytes([COM_STMT_RESET]) + struct.pack("<I", sid))))
    steps.append(("execute", raw.execute(sid, [(T_LONG, i32(5))])))
    steps.append(("execute null", raw.execute(sid, [(T_LONG, None)])))
    steps.append(("cursor abandoned", raw.execute(sid, [(T_LONG, i32(0))], flags=1)))
    status, out = raw.fetch(sid, 2)
    steps.append(("fetch 2", out))
    raw.send(bytes([COM_STMT_CLOSE]) + struct.pack("<I", sid))          # no response
    raw.nothing_pending()
    steps.append(("fetch closed", raw.fetch(sid, 1)[1]))
    steps.append(("execute closed", raw.execute(sid, [(T_LONG, i32(0))])))

    sid, out = raw.prepare("INSERT INTO %s (id, v) VALUES (?, ?)" % t)
    steps.append(("prepare insert", out))
    for chunk in (b"long ", b"data"):
        raw.send(bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", sid, 1) + chunk)   # no response
    steps.append(("insert long data", raw.execute(sid, [(T_LONG, i32(100)), (T_VAR_STRING, True)])))
    steps.append(("insert dup", raw.execute(sid, [(T_LONG, i32(100)), (T_VAR_STRING, b"\x01x")])))
    raw.send(bytes([COM_STMT_CLOSE]) + struct.pack("<I", sid))
    raw.nothing_pending()
    steps.append(("check", raw.query("SELECT v FROM %s WHERE id = 100" % t)))

    sid, out = raw.prepare("CALL %s_p(?)" % t)
    steps.append(("prepare call", out))
    steps.append(("execute call", raw.execute(sid, [(T_LONG, i32(2))])))
    # CURSOR_EXISTS in the EOF packets of a procedure's result sets: the
    # rows follow, with or without a cursor asked for (the server opens
    # none for a CALL).  A query right behind it in the same write: the
    # proxy must not take the rest of the response for the query's (a
    # binary row of one INT, 6 bytes, is no valid OK: it would say so).
    sid, out = raw.prepare("CALL %s_c(?)" % t)
    steps.append(("prepare call cursor inside", out))
    for flags in (0, CURSOR_TYPE_READ_ONLY):
        out = raw.pipeline([execute_payload(sid, [(T_LONG, i32(3))], flags),
                            bytes([COM_QUERY]) + b"SELECT 'next'"],
                           [lambda f=flags: raw.results(binary=True, cursor=bool(f)), raw.results])
        assert [tag for tag, _ in out].count("row") == 3, out
        steps.append(("execute call cursor inside, flags %d, and a query" % flags, out))
    raw.send(bytes([COM_STMT_CLOSE]) + struct.pack("<I", sid))
    raw.nothing_pending()
    sid, out = raw.prepare("CALL %s_o(?, ?, ?)" % t)
    steps.append(("prepare call out", out))
    out = raw.execute(sid, [(T_LONG, i32(7)), (T_LONG, None), (T_VAR_STRING, b"\x02in")])
    assert any(tag in ("end", "eof") and raw.status_of(p) & PS_OUT_PARAMS for tag, p in out), out
    steps.append(("execute call out", out))
    sid, out = raw.prepare("SELECT REPEAT('b', %d) AS big" % (17 * MiB))
    steps.append(("prepare big", out))
    steps.append(("execute big", raw.execute(sid)))
    steps.append(("bad prepare", raw.prepare("SELEC 1")[1]))

    # PREPARE and EXECUTE in one write; id 0xffffffff is MariaDB's "the
    # statement prepared last" (how pipelining connectors execute directly)
    def read_prepare():
        p = raw.packet()
        assert p[:1] == b"\x00", p
        ncols, nparams = struct.unpack_from("<HH", p, 5)
        out = [("prepare_ok", p[:1] + b"<id>" + p[5:])]
        for n, tag in ((nparams, "paramdef"), (ncols, "coldef")):
            if n:
                raw.defs(n, out, tag)
                raw.eof_after_defs(out)
        return out
    execute = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", 0xFFFFFFFF, 0, 1) + b"\x00\x01" + \
        struct.pack("<BB", T_LONG, 0) + i32(21)
    out = raw.pipeline([bytes([COM_STMT_PREPARE]) + b"SELECT ? * 2 AS doubled", execute],
                       [read_prepare, lambda: raw.results(binary=True)])
    assert [tag for tag, _ in out].count("row") == 1, out
    steps.append(("pipelined prepare and execute -1", out))
    steps.append(("after", raw.query("SELECT 'after'")))
    return steps


def scenario_commands(raw, t):
    steps = [("ping", raw.simple(bytes([COM_PING])))]
    raw.send(bytes([COM_FIELD_LIST]) + t.encode() + b"\x00")
    out = []
    raw.rows(out, binary=False)       # column definitions up to the terminator
    assert [tag for tag, p in out] == ["row", "row", "end"] and all(p[:4] == b"\x03def" for _, p in out[:2]), out
    steps.append(("field list", out))
    steps.append(("set option off", raw.simple(bytes([COM_SET_OPTION]) + struct.pack("<H", 1))))
    steps.append(("multi refused", raw.query("SELECT 1; SELECT 2")))
    steps.append(("set option on", raw.simple(bytes([COM_SET_OPTION]) + struct.pack("<H", 0))))
    steps.append(("multi again", raw.query("SELECT 1; SELECT 2")))
    steps.append(("init db", raw.simple(bytes([COM_INIT_DB]) + b"mysql")))
    steps.append(("init db missing", raw.simple(bytes([COM_INIT_DB]) + b"no_such_db_raw")))
    steps.append(("init db back", raw.simple(bytes([COM_INIT_DB]) + b"test")))
    stat = raw.simple(bytes([COM_STATISTICS]))
    assert stat[0][1].startswith(b"Uptime: "), stat
    steps.append(("statistics", [("one", b"Uptime: ...")]))      # the numbers differ
    steps.append(("debug", raw.simple(bytes([COM_DEBUG]))))
    steps.append(("set var", raw.query("SET @v = 1")))
    steps.append(("reset connection", raw.simple(bytes([COM_RESET_CONNECTION]))))
    steps.append(("var gone", raw.query("SELECT @v")))
    raw.send(bytes([COM_PROCESS_INFO]))          # a text result set; its rows differ
    out = raw.results()
    steps.append(("process info", [(tag, p) for tag, p in out if tag in ("columns", "coldef")]))
    steps.append(("after", raw.query("SELECT 'after'")))
    return steps


def normalize(steps):
    """Statement ids are the server's choice (a thread reused from its cache
    keeps counting): hide them where they appear, in PREPARE_OK (done by
    prepare()) and in "Unknown prepared statement handler (N)"."""
    return [(name, [(tag, re.sub(rb"handler \(\d+\)", b"handler (N)", p) if tag == "err" else p)
                    for tag, p in out])
            for name, out in steps]


SCENARIOS = {"text": scenario_text, "prepared": scenario_prepared, "commands": scenario_commands}
SCENARIO_BUGS = {}       # scenario: reason, for proxy bugs not fixed yet (as KNOWN_PROXY_BUGS)


@pytest.mark.parametrize("deprecate_eof", [False, True], ids=["eof", "deprecate_eof"])
@pytest.mark.parametrize("scenario", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="proxy bug: " + SCENARIO_BUGS[name]))
    if name in SCENARIO_BUGS else name
    for name in sorted(SCENARIOS)])
def test_raw_protocol_same_as_direct(proxy, mariadb, unique_name, scenario, deprecate_eof):
    t = unique_name("raw")
    transcripts = {}
    for kind, target in (("direct", mariadb), ("proxy", proxy)):
        setup_raw_tables(mariadb, t)
        raw = Raw(target, deprecate_eof)
        try:
            transcripts[kind] = SCENARIOS[scenario](raw, t)
            raw.nothing_pending()
        except (AssertionError, pymysql.err.MySQLError) as e:
            extra = "\n" + proxy.diagnostics() if kind == "proxy" else ""
            pytest.fail("%s, %s, %s: %s%s" % (scenario, "DEPRECATE_EOF" if deprecate_eof else "EOF", kind,
                                               e, extra), pytrace=kind == "direct")
        finally:
            raw.close()
    drop_raw_tables(mariadb, t)
    # the flag was negotiated: EOF packets after definitions, or none at all
    eofs = [tag for kind in transcripts for _, out in transcripts[kind] for tag, _ in out if tag == "eof"]
    assert bool(eofs) != deprecate_eof, "DEPRECATE_EOF %s, but %d EOF packets" % (deprecate_eof, len(eofs))
    direct, proxied = normalize(transcripts["direct"]), normalize(transcripts["proxy"])
    assert [name for name, _ in proxied] == [name for name, _ in direct]
    for (name, want), (_, got) in zip(direct, proxied):
        if want != got:
            assert [(tag, p[:200]) for tag, p in got] == [(tag, p[:200]) for tag, p in want], name
            assert got == want, name
