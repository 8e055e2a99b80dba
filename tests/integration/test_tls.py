"""
test_tls.py - TLS on both links of the proxy.

    client --[proxy] client_tls--> cutoverd --[backend] tls--> MariaDB

Client side ([proxy] client_tls): disabled, optional (each client chooses),
required (a plain client gets an error packet, 3159).  Backend side
([backend] tls): disabled, preferred, required, verify-ca, verify-identity.
The two are independent: a client on TLS may have a plain backend session
(then the server's Ssl_cipher is empty) and the other way round; the
handshake relay must keep the sequence ids right in every combination,
with an auth switch (ed25519) too.

Clients: PyMySQL (its socket shows whether TLS is really in use), the
mariadb command-line client (Connector/C; `status` prints the cipher), and
raw sockets for what no client library sends.  The proxy's certificate in
these tests is the server's own (CN localhost, SAN IP:127.0.0.1 and
DNS:localhost, signed by mariadb.ca), so clients can verify it by name.
"""

import hashlib
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import pymysql
import pytest
from pymysql.constants import CLIENT

from conftest import MARIADB_CLI, free_port

MiB = 1024 * 1024
ER_SECURE_TRANSPORT_REQUIRED = 3159     # MySQL's number; MariaDB has none of its own

# Proxy bugs not fixed yet get @bug(REASON): xfail(strict=True), so they
# fail the moment the bug is fixed; then remove the mark.  (None open.)


def bug(reason, strict=True):
    return pytest.mark.xfail(strict=strict, reason="proxy bug: " + reason)


def scalar(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def session_cipher(conn):
    """The cipher of the server's session, as the server sees it ('' = plain)."""
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return cur.fetchone()[1]


def tls_proxy(make_proxy, mariadb, client_tls="optional", backend_tls="disabled", **opts):
    """A proxy with the given TLS settings; the server's certificate and
    key towards clients, the server's CA for verifying the backend."""
    if client_tls != "disabled":
        opts.setdefault("proxy_client_tls_cert", mariadb.cert)
        opts.setdefault("proxy_client_tls_key", mariadb.key)
    if backend_tls in ("verify-ca", "verify-identity"):
        opts.setdefault("backend_tls_ca", mariadb.ca)
    return make_proxy(proxy_client_tls=client_tls, backend_tls=backend_tls, **opts)


def tls_connect(target, mariadb, **kw):
    """PyMySQL over TLS, verifying the certificate and the host name."""
    conn = target.connect(ssl={"ca": mariadb.ca, "check_hostname": True}, **kw)
    assert isinstance(conn._sock, ssl.SSLSocket), "PyMySQL did not start TLS"
    return conn


def cli(port, *args, user="app", password="apppass", ca=None, database="test"):
    """The mariadb client: over TLS verifying the server's certificate when
    `ca` is given, else with TLS off (--skip-ssl)."""
    tls = ["--ssl", "--ssl-ca=" + ca, "--ssl-verify-server-cert"] if ca else ["--skip-ssl"]
    argv = [MARIADB_CLI, "--no-defaults", "-h127.0.0.1", "-P%d" % port, "-u" + user, "-p" + password,
            "--batch", "--connect-timeout=10", *tls, database, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def cli_cipher(r):
    """The 'SSL:' line of the client's `status` output."""
    for line in r.stdout.splitlines():
        if line.startswith("SSL:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no SSL: line in\n" + r.stdout + r.stderr)


def assert_error_packet(excinfo):
    """A MySQL error from an ERR packet: not PyMySQL's own codes for a
    dropped connection, and no socket exception behind it."""
    errno, message = excinfo.value.args[0], excinfo.value.args[1]
    assert errno not in (0, 2006, 2013), excinfo.value.args
    assert not hasattr(excinfo.value, "original_exception"), excinfo.value.args
    return errno, message


def admin_tls_flags(proxy, want):
    """The sessions' "tls" flags in the admin `clients` reply, sorted, once
    they equal `want` (sessions whose clients just left may take a moment
    to go away)."""
    deadline = time.monotonic() + 5
    while True:
        reply = proxy.admin("clients")
        assert reply.get("ok") is True, reply
        got = sorted(bool(c.get("tls")) for c in reply["clients"])
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Client side
# --------------------------------------------------------------------------

def test_client_tls_optional(make_proxy, mariadb):
    p = tls_proxy(make_proxy, mariadb, client_tls="optional")
    plain = p.connect()
    assert not isinstance(plain._sock, ssl.SSLSocket)
    assert plain.server_capabilities & CLIENT.SSL, "client_tls = optional, but CLIENT_SSL is not offered"
    tls = tls_connect(p, mariadb)
    assert tls._sock.version() in ("TLSv1.2", "TLSv1.3"), tls._sock.version()
    assert dict(x[0] for x in tls._sock.getpeercert()["subject"])["commonName"] == "localhost"
    for conn in (plain, tls):
        assert scalar(conn, "SELECT CURRENT_USER()") == "app@%"
        # the backend link is plain whatever the client did
        assert session_cipher(conn) == ""
    assert admin_tls_flags(p, [False, True]) == [False, True]
    # the C connector, verifying the certificate, and without TLS
    r = cli(p.port, "-e", "status", ca=mariadb.ca)
    assert r.returncode == 0, r.stderr
    assert cli_cipher(r).startswith("Cipher in use is"), r.stdout
    r = cli(p.port, "-e", "status")
    assert r.returncode == 0, r.stderr
    assert cli_cipher(r) == "Not in use", r.stdout
    # a client certificate is not asked for, and does no harm
    r = cli(p.port, "--ssl-cert=" + mariadb.client_cert, "--ssl-key=" + mariadb.client_key, "-e",
            "SELECT 'with client cert'", ca=mariadb.ca)
    assert (r.returncode, r.stdout) == (0, "with client cert\nwith client cert\n"), r.stderr
    # a client that trusts another CA refuses the proxy's certificate
    r = cli(p.port, "-e", "SELECT 1", ca=mariadb.wrong_ca)
    assert r.returncode != 0 and "certificate" in r.stderr.lower(), r.stderr
    assert scalar(p.connect(), "SELECT 'still serving'") == "still serving"


def test_client_tls_required_refuses_plain(make_proxy, mariadb):
    p = tls_proxy(make_proxy, mariadb, client_tls="required")
    with pytest.raises(pymysql.err.OperationalError) as e:
        p.connect()
    errno, message = assert_error_packet(e)
    assert errno == ER_SECURE_TRANSPORT_REQUIRED, e.value.args
    assert "insecure transport" in message.lower() or "tls" in message.lower(), message
    r = cli(p.port, "-e", "SELECT 1")
    assert r.returncode != 0
    assert "ERROR %d" % ER_SECURE_TRANSPORT_REQUIRED in r.stderr, r.stderr
    # TLS clients are served, by both client libraries
    tls = tls_connect(p, mariadb)
    assert scalar(tls, "SELECT 'tls ok'") == "tls ok"
    r = cli(p.port, "-e", "SELECT CURRENT_USER()", ca=mariadb.ca, user="app_ed", password="edpass")
    assert (r.returncode, r.stdout) == (0, "CURRENT_USER()\napp_ed@%\n"), r.stderr
    assert admin_tls_flags(p, [True]) == [True]


def test_client_tls_disabled_and_a_client_that_demands_it(proxy, mariadb):
    """The proxy offers no TLS: a client that insists on it must fail
    clearly, not carry on in plain text unnoticed."""
    plain = proxy.connect()
    assert not plain.server_capabilities & CLIENT.SSL, "client_tls = disabled, but CLIENT_SSL is offered"
    # Connector/C with a CA to verify against refuses to go on without TLS
    r = cli(proxy.port, "-e", "SELECT 1", ca=mariadb.ca)
    assert r.returncode != 0, r.stdout
    assert "ssl" in r.stderr.lower() or "tls" in r.stderr.lower(), r.stderr
    # ... while directly the same command gets TLS
    r = cli(mariadb.port, "-e", "status", ca=mariadb.ca)
    assert r.returncode == 0 and cli_cipher(r).startswith("Cipher in use is"), r.stdout + r.stderr
    # A client that sends an SSLRequest although CLIENT_SSL was not offered
    # gets an error packet that says why.
    with socket.create_connection((proxy.host, proxy.port), timeout=10) as s:
        greeting = read_packet(s)
        assert greeting[1][0] == 10, greeting
        caps = CLIENT.SSL | CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.LONG_PASSWORD
        s.sendall(frame(struct.pack("<IIB23x", caps, 16 * MiB, 45), 1))
        seq, payload = read_packet(s)
        assert payload[:1] == b"\xff", "not an ERR packet: %r" % payload
        code = struct.unpack_from("<H", payload, 1)[0]
        message = payload[9:].decode() if payload[3:4] == b"#" else payload[3:].decode()
        assert code and "tls" in message.lower(), (code, message)
    # PyMySQL, asked for TLS, does not insist (it goes on in plain text when
    # CLIENT_SSL is not offered): that is the client's choice, noted here.
    lax = proxy.connect(ssl={"ca": mariadb.ca})
    assert not isinstance(lax._sock, ssl.SSLSocket)
    assert scalar(proxy.connect(), "SELECT 'still serving'") == "still serving"


def frame(payload, seq):
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def read_packet(s):
    def exactly(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed after %r" % buf)
            buf += chunk
        return buf
    hdr = exactly(4)
    return hdr[3], exactly(int.from_bytes(hdr[:3], "little"))


# --------------------------------------------------------------------------
# Backend side
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["preferred", "required", "verify-ca", "verify-identity"])
def test_backend_tls(make_proxy, mariadb, mode):
    p = tls_proxy(make_proxy, mariadb, client_tls="disabled", backend_tls=mode)
    conn = p.connect()
    cipher = session_cipher(conn)
    assert cipher, "backend tls = %s, but the server's session is not encrypted" % mode
    assert not isinstance(conn._sock, ssl.SSLSocket)
    assert scalar(conn, "SELECT CURRENT_USER()") == "app@%"
    r = cli(p.port, "-e", "SHOW SESSION STATUS LIKE 'Ssl_version'", user="app_ed", password="edpass")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[1].startswith("Ssl_version\tTLSv1."), r.stdout
    with pytest.raises(pymysql.err.OperationalError) as e:
        p.connect(password="wrong")
    assert e.value.args[0] == 1045, e.value.args


@pytest.mark.parametrize("mode", ["verify-ca", "verify-identity"])
def test_backend_tls_wrong_ca(make_proxy, mariadb, mode):
    p = tls_proxy(make_proxy, mariadb, client_tls="optional", backend_tls=mode, backend_tls_ca=mariadb.wrong_ca)
    for connect in (p.connect, lambda: tls_connect(p, mariadb)):
        with pytest.raises(pymysql.err.OperationalError) as e:
            connect()
        errno, message = assert_error_packet(e)
        assert "tls" in message.lower(), message
    r = cli(p.port, "-e", "SELECT 1")
    assert r.returncode != 0 and "ERROR " in r.stderr and "tls" in r.stderr.lower(), r.stderr
    assert p.proc.poll() is None, "cutoverd died"


def test_server_certificate_names_127_0_0_1(mariadb):
    """What verify-identity against 127.0.0.1 relies on."""
    r = subprocess.run(["openssl", "x509", "-in", mariadb.cert, "-noout", "-ext", "subjectAltName"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "IP Address:127.0.0.1" in r.stdout, r.stdout


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_backend_verify_identity_names(make_proxy, mariadb, host):
    p = tls_proxy(make_proxy, mariadb, client_tls="disabled", backend_tls="verify-identity", backend_host=host)
    assert session_cipher(p.connect())


def test_backend_verify_identity_mismatch(make_proxy, mariadb):
    """127.1 is 127.0.0.1 to the resolver, but a name the certificate does
    not carry: verify-ca accepts it, verify-identity must not."""
    try:
        socket.getaddrinfo("127.1", mariadb.port, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror:
        pytest.skip("the resolver does not take 127.1")
    ok = tls_proxy(make_proxy, mariadb, client_tls="disabled", backend_tls="verify-ca", backend_host="127.1")
    assert session_cipher(ok.connect())
    p = tls_proxy(make_proxy, mariadb, client_tls="disabled", backend_tls="verify-identity", backend_host="127.1")
    with pytest.raises(pymysql.err.OperationalError) as e:
        p.connect()
    errno, message = assert_error_packet(e)
    assert "tls" in message.lower(), message


@pytest.mark.parametrize("case", ["wrong CA", "wrong name"])
def test_backend_tls_error_names_the_cause(make_proxy, mariadb, case):
    """The error says why TLS to the backend failed (OpenSSL's "certificate
    verify failed" and its reason), so that an operator looks at the CA or
    the host name, not at the network."""
    if case == "wrong CA":
        p = tls_proxy(make_proxy, mariadb, client_tls="disabled", backend_tls="verify-ca",
                      backend_tls_ca=mariadb.wrong_ca)
    else:
        p = tls_proxy(make_proxy, mariadb, client_tls="disabled", backend_tls="verify-identity",
                      backend_host="127.1")
    with pytest.raises(pymysql.err.OperationalError) as e:
        p.connect()
    errno, message = assert_error_packet(e)
    assert "certificate" in message.lower(), message
    assert "certificate" in p.read_log().lower(), p.diagnostics()


@pytest.mark.parametrize("client_tls", ["disabled", "optional"])
@pytest.mark.parametrize("client_wants_tls", [False, True], ids=["skip-ssl", "ssl"])
def test_backend_down_error_reaches_the_client(make_proxy, mariadb, client_tls, client_wants_tls):
    """With the backend unreachable the proxy answers the new client with
    an error packet instead of a greeting; the client must be able to show
    its message, with TLS asked for or not.  Connector/C 3.3 takes an error
    packet at that point whose number is one of its own connection errors
    (2002-2006, 2013: tried with a fake server; 1040, 1105, 2000 pass) for
    "2027 Received malformed packet", and the reason is lost."""
    p = tls_proxy(make_proxy, mariadb, client_tls=client_tls, backend_port=free_port(),
                  backend_connect_timeout_ms=2000)
    tls = ["--ssl"] if client_wants_tls else ["--skip-ssl"]
    argv = [MARIADB_CLI, "--no-defaults", "-h127.0.0.1", "-P%d" % p.port, "-uapp", "-papppass", "--batch",
            "--connect-timeout=10", *tls, "test", "-e", "SELECT 1"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "cannot connect to the backend" in r.stderr, r.stderr


# --------------------------------------------------------------------------
# Both sides, every combination, both auth plugins
# --------------------------------------------------------------------------

@pytest.mark.parametrize("user,password", [("app", "apppass"), ("app_ed", "edpass")])
@pytest.mark.parametrize("backend_tls", ["disabled", "verify-identity"])
@pytest.mark.parametrize("client_side", ["plain", "tls"])
def test_tls_combinations(make_proxy, mariadb, client_side, backend_tls, user, password):
    """Sequence ids shift when only one link has the SSLRequest; ed25519
    adds an auth switch on top."""
    p = tls_proxy(make_proxy, mariadb, client_tls="optional", backend_tls=backend_tls)
    ca = mariadb.ca if client_side == "tls" else None
    sql = ("status; SELECT CURRENT_USER(), DATABASE(); SHOW SESSION STATUS LIKE 'Ssl_cipher'; "
           "SELECT seq, REPEAT('x', seq) FROM seq_1_to_300")
    r = cli(p.port, "-e", sql, user=user, password=password, ca=ca)
    assert r.returncode == 0, r.stderr + "\n" + p.diagnostics()
    if client_side == "tls":
        assert cli_cipher(r).startswith("Cipher in use is"), r.stdout
    else:
        assert cli_cipher(r) == "Not in use", r.stdout
    out = r.stdout.split("\n")
    assert "%s@%%\ttest" % user in out, r.stdout
    cipher_line = [ln for ln in out if ln.startswith("Ssl_cipher")]
    assert len(cipher_line) == 1, r.stdout
    assert (cipher_line[0] != "Ssl_cipher\t") == (backend_tls != "disabled"), cipher_line
    want = cli(mariadb.port, "-e", "SELECT seq, REPEAT('x', seq) FROM seq_1_to_300", user=user, password=password)
    assert r.stdout.endswith(want.stdout)
    bad = cli(p.port, "-e", "SELECT 1", user=user, password="wrong", ca=ca)
    assert bad.returncode != 0 and "ERROR 1045" in bad.stderr, bad.stderr
    if user == "app":
        conn = tls_connect(p, mariadb) if client_side == "tls" else p.connect()
        assert bool(session_cipher(conn)) == (backend_tls != "disabled")
    assert p.proc.poll() is None


def test_big_values_over_tls_both_sides(make_proxy, mariadb, unique_name):
    """10 MiB each way and 100,000 streamed rows, TLS on both links: many
    TLS records per packet, and back-pressure through two TLS layers."""
    p = tls_proxy(make_proxy, mariadb, client_tls="required", backend_tls="verify-identity")
    t = unique_name("tlsbig")
    with mariadb.connect().cursor() as cur:
        cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB" % t)
    conn = tls_connect(p, mariadb, max_allowed_packet=64 * MiB)
    assert session_cipher(conn)
    blob = os.urandom(10 * MiB)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO " + t + " VALUES (1, %s)", (blob,))
        cur.execute("SELECT b, SHA2(b, 256) FROM %s WHERE id = 1" % t)
        got, sha = cur.fetchone()
    assert sha == hashlib.sha256(blob).hexdigest()
    assert got == blob
    assert len(scalar(conn, "SELECT REPEAT('y', 10 * 1024 * 1024)")) == 10 * MiB
    sql = "SELECT seq, CONCAT('row-', seq), REPEAT('z', seq % 200) FROM seq_1_to_100000"
    with mariadb.connect().cursor() as cur:
        cur.execute(sql)
        want = cur.fetchall()
    streamed = tls_connect(p, mariadb, cursorclass=pymysql.cursors.SSCursor)
    with streamed.cursor() as cur:
        cur.execute(sql)
        assert tuple(cur.fetchall_unbuffered()) == want
    assert scalar(streamed, "SELECT 'after'") == "after"
    r = cli(p.port, "-e", "SELECT LENGTH(b), SHA2(b, 256) FROM %s" % t, ca=mariadb.ca)
    assert r.stdout == "LENGTH(b)\tSHA2(b, 256)\n%d\t%s\n" % (len(blob), hashlib.sha256(blob).hexdigest()), r.stderr


@pytest.mark.parametrize("client_tls,backend_tls", [
    ("required", "verify-identity"),
    ("optional", "required"),
    ("required", "disabled"),
])
def test_many_short_tls_sessions(make_proxy, mariadb, client_tls, backend_tls):
    """Sessions that open and close in quick succession, several at once:
    file descriptors are reused at once, so a socket closed while its
    (TLS) bufferevent still has events registered hits the next session.
    Every session must get through, and libevent must have nothing to
    complain about."""
    p = tls_proxy(make_proxy, mariadb, client_tls=client_tls, backend_tls=backend_tls)
    errors = []

    def worker(n):
        for k in range(n):
            try:
                conn = (tls_connect(p, mariadb, read_timeout=10) if client_tls == "required" or k % 2
                        else p.connect(read_timeout=10))
                assert scalar(conn, "SELECT %d" % k) == k
                if k % 3 == 0:
                    conn.close()              # COM_QUIT
                else:
                    conn._sock.close()        # no COM_QUIT: the client just goes
                    conn._sock = None
            except Exception as e:            # noqa: BLE001 - collected and reported
                errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(60,)) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, "%d of 240 sessions failed: %s\n%s" % (len(errors), errors[:3], p.diagnostics())
    log = p.read_log()
    assert "[warn]" not in log and "[err]" not in log, p.diagnostics()
    assert scalar(p.connect() if client_tls != "required" else tls_connect(p, mariadb), "SELECT 'after'") == "after"


@pytest.mark.parametrize("client_tls", ["optional", "required"])
def test_stmt_close_then_quit_with_backend_tls(make_proxy, mariadb, client_tls):
    """A client that ends its session with COM_STMT_CLOSE and COM_QUIT in
    one write (DBD::MariaDB's disconnect does) while the backend link is
    TLS.  The proxy must close the backend socket only after libevent is
    done with it: a socket closed early leaves events registered for its
    number, which the next session's socket then gets ("Epoll MOD on fd N
    failed: Bad file descriptor"), and that session hangs in its handshake
    or in the connect to the backend."""
    p = tls_proxy(make_proxy, mariadb, client_tls=client_tls, backend_tls="verify-identity")
    failures = []
    for k in range(30):
        conn = tls_connect(p, mariadb) if client_tls == "required" or k % 2 else p.connect()
        conn._execute_command(0x16, b"SELECT 1")                 # COM_STMT_PREPARE
        sid = struct.unpack_from("<I", conn._read_packet()._data, 1)[0]
        conn._read_packet()                                      # the column definition
        conn._read_packet()                                      # EOF
        close = bytes([0x19]) + struct.pack("<I", sid)           # COM_STMT_CLOSE, no reply
        conn._sock.sendall(frame(close, 0) + frame(b"\x01", 0))  # and COM_QUIT, in one write
        conn._sock.close()
        conn._sock = None
        try:                   # at once, the next session, as a client's reconnect would
            nxt = tls_connect(p, mariadb, connect_timeout=5, read_timeout=5) if client_tls == "required" \
                else p.connect(connect_timeout=5, read_timeout=5)
            assert scalar(nxt, "SELECT %d" % k) == k
            nxt.close()
        except Exception as e:            # noqa: BLE001 - collected and reported
            failures.append("session after %d: %r" % (k, e))
    log = p.read_log()
    assert not failures, "%d of 30 sessions failed: %s\n%s" % (len(failures), failures[:3], p.diagnostics())
    assert "[warn]" not in log, p.diagnostics()


# --------------------------------------------------------------------------
# Refusing to start
# --------------------------------------------------------------------------

def _garbage(tmp_path):
    path = tmp_path / "garbage.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    return str(path)


def _unreadable(tmp_path, mariadb):
    """A key file that cannot be read: mode 000 (a directory for root,
    who reads mode-000 files)."""
    path = tmp_path / "unreadable-key.pem"
    if os.geteuid() == 0:
        path.mkdir()
    else:
        with open(mariadb.key, "rb") as f:
            path.write_bytes(f.read())
        os.chmod(path, 0)
    return str(path)


BAD_START = {
    "required without cert and key": (dict(proxy_client_tls="required"), "client_tls_cert"),
    "optional without key": (dict(proxy_client_tls="optional", proxy_client_tls_cert="{cert}"), "client_tls_key"),
    "missing key file": (dict(proxy_client_tls="required", proxy_client_tls_cert="{cert}",
                              proxy_client_tls_key="{tmp}/no-such-key.pem"), "no-such-key.pem"),
    "garbage key file": (dict(proxy_client_tls="required", proxy_client_tls_cert="{cert}",
                              proxy_client_tls_key="{garbage}"), "client_tls_key"),
    "unreadable key file": (dict(proxy_client_tls="required", proxy_client_tls_cert="{cert}",
                                 proxy_client_tls_key="{unreadable}"), "client_tls_key"),
    "key of another certificate": (dict(proxy_client_tls="required", proxy_client_tls_cert="{cert}",
                                        proxy_client_tls_key="{client_key}"), "client_tls_key"),
    "missing cert file": (dict(proxy_client_tls="optional", proxy_client_tls_cert="{tmp}/no-such-cert.pem",
                               proxy_client_tls_key="{key}"), "no-such-cert.pem"),
    "verify-ca without tls_ca": (dict(backend_tls="verify-ca"), "tls_ca"),
    "verify-identity with a missing tls_ca": (dict(backend_tls="verify-identity",
                                                   backend_tls_ca="{tmp}/no-such-ca.pem"), "no-such-ca.pem"),
}


@pytest.mark.parametrize("case", sorted(BAD_START))
def test_refuses_to_start(make_proxy, mariadb, tmp_path, case):
    opts, needle = BAD_START[case]
    values = {"cert": mariadb.cert, "key": mariadb.key, "client_key": mariadb.client_key, "tmp": str(tmp_path)}
    if "{garbage}" in str(opts):
        values["garbage"] = _garbage(tmp_path)
    if "{unreadable}" in str(opts):
        values["unreadable"] = _unreadable(tmp_path, mariadb)
    opts = {k: v.format(**values) for k, v in opts.items()}
    p = make_proxy(start=False, **opts)
    p.start(wait=False)
    try:
        rc = p.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("cutoverd started with %s\n%s" % (case, p.diagnostics()))
    p.start_failed = True            # expected: no clean-exit check at teardown
    with open(p.stderr_path, encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    assert rc != 0, stderr
    assert needle in stderr, "stderr does not name %r:\n%s" % (needle, stderr)
    assert "cutoverd" in stderr and len(stderr.strip().splitlines()) <= 5, stderr


def aborted_clients(mariadb):
    root = mariadb.root_connect()
    try:
        with root.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Aborted_clients'")
            return int(cur.fetchone()[1])
    finally:
        root.close()


def test_client_quit_is_a_clean_quit_for_the_server(make_proxy, mariadb):
    """A client that says COM_QUIT through the proxy quits cleanly on the
    server too: the proxy passes the COM_QUIT on before it closes the
    backend link.  Over a TLS backend link, a link closed without it counts
    in the server's Aborted_clients (a plain link's close shows only in the
    server's error logs, as error 1158)."""
    p = tls_proxy(make_proxy, mariadb, client_tls="disabled", backend_tls="required")
    assert scalar(p.connect(), "SELECT 1") == 1   # the proxy's own start-up is over
    time.sleep(0.3)
    before = aborted_clients(mariadb)
    for _ in range(5):
        c = p.connect()
        assert scalar(c, "SELECT 1") == 1
        c.close()                       # COM_QUIT
    time.sleep(0.5)
    assert aborted_clients(mariadb) == before
