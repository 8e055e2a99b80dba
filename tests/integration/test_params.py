"""
test_params.py - protocol/params.c (the parameters of a COM_STMT_EXECUTE
as SQL literals) against the real server: a literal the mirror planner
writes must be the value the server holds for the parameter.

1. tests/integration/params_roundtrip.c, built by `make check`
   (tests/integration/params.am): binds values of every type libmariadb can
   bind, captures the COM_STMT_EXECUTE libmariadb sends, checks it against
   its own encoder, decodes it with params_decode(), and compares the
   parameter with the literal on the server (`? <=> L`, HEX, CHARSET,
   COERCIBILITY, COLLATION, CAST ... AS CHAR; dates and times cast to
   their type).  Run in four sessions: default (utf8mb4), NO_BACKSLASH_ESCAPES,
   gbk (whose second bytes include the backslash), EMPTY_STRING_IS_NULL.

2. The types libmariadb refuses to bind (VARCHAR, ENUM, SET, BIT, GEOMETRY,
   JSON, INT24, NEWDATE): sent here as raw COM_STMT_EXECUTE packets after a
   PyMySQL login, decoded by `params_roundtrip --decode`.  VARCHAR, ENUM
   and SET must compare equal to their literals; for the types params.c
   refuses, the test checks both the refusal and the server behaviour that
   is its reason, so that a server that changes it shows up here.
"""

import os
import struct
import subprocess

import pymysql
import pytest

from conftest import BUILDDIR, _require_binary

ROUNDTRIP = os.path.join(BUILDDIR, "tests", "integration", "params_roundtrip")

COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE = 0x16, 0x17, 0x19


def run_roundtrip(args, timeout=240):
    _require_binary(ROUNDTRIP)
    return subprocess.run([ROUNDTRIP] + [str(a) for a in args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("mode", ["default", "nbe", "gbk", "empty_null"])
def test_roundtrip(mariadb, mode):
    r = run_roundtrip([mariadb.host, mariadb.port, "app", "apppass", "test", mode])
    out = r.stdout.decode("utf-8", "replace")
    report = "params_roundtrip %s: exit %d\n%s%s" % (mode, r.returncode, out, r.stderr.decode("utf-8", "replace"))
    lines = out.splitlines()
    assert not [ln for ln in lines if ln.startswith("not ok") or ln.startswith("Bail out")], report
    oks = [ln for ln in lines if ln.startswith("ok ")]
    assert len(oks) >= 100, report
    assert ("1..%d" % len(oks)) in lines, report
    assert r.returncode == 0, report
    # what the list must have covered: refusals, NULLs, the many-parameter run
    assert any("refused: INT24 or YEAR" in ln for ln in oks), report
    assert any("parameters at once" in ln for ln in oks), report
    if mode == "nbe":
        assert any("X'610062'" in ln for ln in oks), report
    if mode == "gbk":
        assert any("\\xbf' '" in ln for ln in oks), report


# --------------------------------------------------------------------------
# Raw executes, for the types libmariadb does not bind
# --------------------------------------------------------------------------

def decode(nparams, payload, nbe=False):
    """params_decode() of one payload: a list of literals (bytes), or the
    reason it was refused (str)."""
    args = ["--decode", nparams, payload.hex()] + (["nbe"] if nbe else [])
    r = run_roundtrip(args, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    if out.startswith("refused "):
        return out[len("refused "):].strip()
    lits = []
    for line in out.splitlines():
        tag, _, value = line.partition(" ")
        assert tag == "lit", out
        lits.append(bytes.fromhex(value))
    return lits


def lenenc_str(b):
    assert len(b) < 251
    return bytes([len(b)]) + b


class RawSession:
    """PyMySQL logs in; then prepared statements go packet by packet."""

    def __init__(self, mariadb):
        self.conn = mariadb.connect(read_timeout=60)
        self.seq = 0

    def close(self):
        self.conn.close()

    def send(self, payload):
        assert len(payload) < 0xFFFFFF
        self.conn._write_bytes(len(payload).to_bytes(3, "little") + b"\x00" + payload)
        self.seq = 1

    def packet(self):
        hdr = self.conn._read_bytes(4)
        assert hdr[3] == self.seq, "sequence id %d, want %d" % (hdr[3], self.seq)
        self.seq = (self.seq + 1) % 256
        return self.conn._read_bytes(int.from_bytes(hdr[:3], "little"))

    def prepare(self, sql):
        self.send(bytes([COM_STMT_PREPARE]) + sql)
        p = self.packet()
        assert p[:1] == b"\x00", "prepare failed: %r" % p
        sid, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        for n in (nparams, ncols):
            for _ in range(n):
                self.packet()
            if n:
                assert self.packet()[:1] == b"\xfe"
        return sid, nparams

    def execute(self, sid, nparams, types, values, nulls=0):
        """(error message or None, first column of each row as bytes or None)."""
        p = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", sid, 0, 1)
        if nparams:
            p += nulls.to_bytes((nparams + 7) // 8, "little") + b"\x01"
            p += b"".join(struct.pack("<BB", t, f) for t, f in types) + values
        self.send(p)
        first = self.packet()
        if first[:1] == b"\xff":
            return first[9:].decode("utf-8", "replace"), None
        if first[:1] == b"\x00":
            return None, []
        ncols = first[0]
        for _ in range(ncols):
            self.packet()
        assert self.packet()[:1] == b"\xfe"
        rows = []
        while True:
            r = self.packet()
            if r[:1] == b"\xfe" and len(r) < 9:
                return None, rows
            bitmap = r[1:1 + (ncols + 9) // 8]
            if bitmap[0] & 0x04:           # column 0 is NULL (the first two bits are reserved)
                rows.append(None)
                continue
            pos = 1 + len(bitmap)
            n = r[pos]
            assert n < 251, r
            rows.append(r[pos + 1:pos + 1 + n])

    def close_stmt(self, sid):
        self.send(bytes([COM_STMT_CLOSE]) + struct.pack("<I", sid))


def header(nparams, types, values, nulls=0):
    """A COM_STMT_EXECUTE payload for params_decode (statement id 1)."""
    p = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", 1, 0, 1)
    p += nulls.to_bytes((nparams + 7) // 8, "little") + b"\x01"
    return p + b"".join(struct.pack("<BB", t, f) for t, f in types) + values


CHECKS = [b"? <=> %s", b"HEX(?) <=> HEX(%s)", b"CHARSET(?) <=> CHARSET(%s)",
          b"COERCIBILITY(?) <=> COERCIBILITY(%s)", b"COLLATION(?) <=> COLLATION(%s)",
          b"CAST(? AS CHAR) <=> CAST(%s AS CHAR)"]

T_VARCHAR, T_ENUM, T_SET = 0x0F, 0xF7, 0xF8


@pytest.mark.parametrize("nbe", [False, True], ids=["backslash", "nbe"])
@pytest.mark.parametrize("type_code,value", [
    (T_VARCHAR, b"abc"), (T_VARCHAR, b"it's \\ \x00"), (T_VARCHAR, b""),
    (T_ENUM, b"red"), (T_SET, b"a,b"), (T_SET, b"\xc3\xa9\\"),
], ids=["varchar", "varchar-escapes", "varchar-empty", "enum", "set", "set-utf8-backslash"])
def test_raw_text_types(mariadb, type_code, value, nbe):
    lits = decode(1, header(1, [(type_code, 0)], lenenc_str(value)), nbe)
    assert isinstance(lits, list) and len(lits) == 1, lits
    lit = lits[0]
    s = RawSession(mariadb)
    try:
        if nbe:
            with s.conn.cursor() as cur:
                cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
        checks = CHECKS[:2] if lit.startswith(b"X'") else CHECKS
        sql = b"SELECT CONCAT_WS(','," + b",".join(c % lit for c in checks) + b")"
        sid, n = s.prepare(sql)
        assert n == len(checks)
        err, rows = s.execute(sid, n, [(type_code, 0)] * n, lenenc_str(value) * n)
        assert err is None, err
        assert rows == [b",".join([b"1"] * n)], (lit, rows)
        s.close_stmt(sid)
    finally:
        s.close()


def test_raw_refused_types(mariadb):
    """Each type params.c refuses, and the server behaviour that is the reason."""
    s = RawSession(mariadb)
    try:
        def one(sql, type_code, value):
            sid, n = s.prepare(sql)
            err, rows = s.execute(sid, n, [(type_code, 0)] * n, value * n)
            s.close_stmt(sid)
            return err, rows

        # BIT: the server holds NULL, whatever was sent
        lits = decode(1, header(1, [(0x10, 0)], lenenc_str(b"\x05")))
        assert lits.startswith("BIT parameter"), lits
        assert one(b"SELECT CONCAT(? IS NULL)", 0x10, lenenc_str(b"\x05")) == (None, [b"1"])

        # INT24 and YEAR as libmariadb sends them (4 and 2 binary bytes): NULL
        for type_code, value in ((0x09, struct.pack("<i", 5)), (0x0D, struct.pack("<h", 2024))):
            lits = decode(1, header(1, [(type_code, 0)], value))
            assert lits.startswith("INT24 or YEAR"), lits
            assert one(b"SELECT CONCAT(? IS NULL)", type_code, value) == (None, [b"1"]), type_code

        # GEOMETRY: a geometry value, not a string (CAST AS CHAR is refused)
        wkb = bytes.fromhex("00000000010100000000000000000000F03F0000000000000040")
        lits = decode(1, header(1, [(0xFF, 0)], lenenc_str(wkb)))
        assert lits.startswith("GEOMETRY parameter"), lits
        err, _ = one(b"SELECT CAST(? AS CHAR)", 0xFF, lenenc_str(wkb))
        assert err is not None and "geometry" in err, err

        # JSON (MySQL's type 245): MariaDB refuses the execute
        lits = decode(1, header(1, [(0xF5, 0)], lenenc_str(b"{}")))
        assert lits.startswith("JSON parameter"), lits
        err, _ = one(b"SELECT ?", 0xF5, lenenc_str(b"{}"))
        assert err is not None and "mysqld_stmt_execute" in err, err

        # NEWDATE: not a client type; refused (the server reads a string as a date)
        lits = decode(1, header(1, [(0x0E, 0)], lenenc_str(b"2024-01-02")))
        assert isinstance(lits, str), lits

        # the NULL type without its NULL bit: the server refuses the execute
        lits = decode(1, header(1, [(0x06, 0)], b""))
        assert lits.startswith("parameter of type NULL"), lits
        err, _ = one(b"SELECT ?", 0x06, lenenc_str(b"abc"))
        assert err is not None, err

        # a day past the end of its month: the parameter keeps it, a literal is no date
        sid, n = s.prepare(b"SELECT CONCAT_WS(',', CAST(? AS DATE) IS NULL, CAST('2024-02-31' AS DATE) IS NULL)")
        err, rows = s.execute(sid, n, [(0x0A, 0)], b"\x04" + struct.pack("<HBB", 2024, 2, 31))
        assert (err, rows) == (None, [b"0,1"]), (err, rows)
        lits = decode(1, header(1, [(0x0A, 0)], b"\x04" + struct.pack("<HBB", 2024, 2, 31)))
        assert lits.startswith("date parameter past the end"), lits
    finally:
        s.close()


def test_decode_usage():
    """--decode on a payload of several parameters, one of them NULL."""
    p = header(3, [(0x03, 0x80), (0xFD, 0), (0x05, 0)], struct.pack("<I", 4294967295) + struct.pack("<d", 0.5),
               nulls=0b010)
    assert decode(3, p) == [b"4294967295", b"NULL", b"5e-01"]
    assert isinstance(decode(3, p[:-1]), str)
