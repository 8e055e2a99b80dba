"""
conftest.py - fixtures for the integration tests (PgBouncer style).

One private MariaDB server per test session (`mariadb`), started from an
empty data directory in a temporary folder, on a free loopback port, with
TLS material of its own.  One cutoverd per test (`proxy`, `make_proxy`),
with its ini written inline by the test.

    def test_select(proxy, mariadb):
        conn = proxy.connect()                  # PyMySQL, through the proxy
        ...
        direct = mariadb.connect()              # PyMySQL, straight to the server

    def test_inject(make_proxy):
        p = make_proxy(debug_inject_after="DO 1")       # [debug] inject_after
        q = make_proxy("[log]\\nlevel = info\\n")        # ini text merged in

Environment:
    CUTOVER_BUILDDIR   folder holding the built cutoverd and cutoverctl
                       (default: the repository root, for in-tree builds).
    CI=true            a missing cutoverd fails the tests that need it
                       instead of skipping them (so does an explicitly set
                       CUTOVER_BUILDDIR: whoever set it says a build is there).
    CUTOVER_TEST_TIMEOUT  seconds one test body may run (default 300).

Everything here needs only Debian's python3-pytest and python3-pymysql:
run it with /usr/bin/python3.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import uuid

import pymysql
import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.path.abspath(os.environ.get("CUTOVER_BUILDDIR") or REPO_ROOT)
CUTOVERD = os.path.join(BUILDDIR, "cutoverd")
CUTOVERCTL = os.path.join(BUILDDIR, "cutoverctl")


def _sanitized_build():
    """configure's SAN_CFLAGS, as the build's Makefile has it."""
    try:
        with open(os.path.join(BUILDDIR, "Makefile")) as f:
            return any(line.startswith("SAN_CFLAGS =") and "-fsanitize=" in line for line in f)
    except OSError:
        return False


# The build under test has AddressSanitizer / UBSan (tests/run's second
# build): the largest matrices run one isolation level there, both in the
# normal build (test_mirror.py, ISOLATIONS).
SANITIZED = _sanitized_build()

MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db", path="/usr/bin:/usr/sbin:/bin:/sbin") or "/usr/bin/mariadb-install-db"
MARIADB_CLI = shutil.which("mariadb", path="/usr/bin:/bin") or "/usr/bin/mariadb"

SERVER_START_TIMEOUT = 60      # seconds, the private mariadbd
PROXY_START_TIMEOUT = 10       # seconds, cutoverd: listening + admin socket
PROXY_STOP_TIMEOUT = 10        # seconds between SIGTERM and SIGKILL
TEST_TIMEOUT = int(os.environ.get("CUTOVER_TEST_TIMEOUT", "300"))

# What a sanitizer prints when it finds something (log file or stderr).
SANITIZER_PATTERNS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

DEFAULT_USER = "app"
DEFAULT_PASSWORD = "apppass"
DEFAULT_DATABASE = "test"


def _missing_binary_is_fatal():
    return os.environ.get("CI") == "true" or bool(os.environ.get("CUTOVER_BUILDDIR"))


def _require_binary(path):
    """Skip (developer machine) or fail (CI) when a built binary is absent."""
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return
    msg = "%s not built: %s does not exist (set CUTOVER_BUILDDIR)" % (os.path.basename(path), path)
    if _missing_binary_is_fatal():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=60):
    """The last `lines` lines of a text file, or a note that it is missing."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(%s: %s)" % (path, e.strerror)
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies, so a
    killed pytest never leaves a mariadbd or cutoverd behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except Exception:
        pass


def _is_listening(port):
    """True when some socket listens on TCP `port` (any address, v4 or v6)."""
    want = ":%04X" % port
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except OSError:
            continue
    return False


def _close_quietly(conn):
    try:
        if conn.open:
            conn.close()
    except Exception:
        pass


# --------------------------------------------------------------------------
# The private MariaDB server
# --------------------------------------------------------------------------

class MariaDB:
    """A private mariadbd.  Attributes: host, port, socket, datadir, tmpdir,
    ca, cert, key (server), ca_key, client_cert, client_key, wrong_ca (a CA
    that signed nothing here), log_path, pid_file, proc."""

    def __init__(self, tmpdir, extra_args=()):
        self.tmpdir = str(tmpdir)
        self.extra_args = list(extra_args)   # more mariadbd options (replication tests)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.datadir = os.path.join(self.tmpdir, "data")
        self.socket = os.path.join(self.tmpdir, "mysqld.sock")
        self.pid_file = os.path.join(self.tmpdir, "mariadbd.pid")
        self.log_path = os.path.join(self.tmpdir, "mariadbd.err")
        self.proc = None
        self._conns = []
        tls = os.path.join(self.tmpdir, "tls")
        self.ca = os.path.join(tls, "ca.pem")
        self.ca_key = os.path.join(tls, "ca-key.pem")
        self.cert = os.path.join(tls, "server-cert.pem")
        self.key = os.path.join(tls, "server-key.pem")
        self.client_cert = os.path.join(tls, "client-cert.pem")
        self.client_key = os.path.join(tls, "client-key.pem")
        self.wrong_ca = os.path.join(tls, "wrong-ca.pem")

    # -- set-up ------------------------------------------------------------

    def _run(self, argv, log):
        with open(log, "ab") as out:
            r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(argv), r.returncode, tail(log)))

    def make_tls(self):
        """A CA, a server certificate for 127.0.0.1/localhost, a client
        certificate, and a second CA that signed none of them.  EC keys:
        fast to make."""
        tls = os.path.dirname(self.ca)
        os.makedirs(tls, exist_ok=True)
        log = os.path.join(tls, "openssl.log")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

        def ca(cert, key, cn):
            self._run(["openssl", "req", "-x509", *ec, "-keyout", key, "-out", cert, "-days", "3650",
                       "-subj", "/CN=" + cn,
                       "-addext", "basicConstraints=critical,CA:TRUE",
                       "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                       "-addext", "subjectKeyIdentifier=hash"], log)

        def leaf(cert, key, cn, ext):
            csr = cert + ".csr"
            extfile = cert + ".ext"
            with open(extfile, "w") as f:
                f.write("basicConstraints=critical,CA:FALSE\n"
                        "keyUsage=critical,digitalSignature,keyEncipherment\n"
                        "subjectKeyIdentifier=hash\n"
                        "authorityKeyIdentifier=keyid\n" + ext)
            self._run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=" + cn], log)
            self._run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                       "-CAcreateserial", "-out", cert, "-days", "3650", "-extfile", extfile], log)

        ca(self.ca, self.ca_key, "cutover test CA")
        leaf(self.cert, self.key, "localhost",
             "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
        leaf(self.client_cert, self.client_key, "cutover test client", "extendedKeyUsage=clientAuth\n")
        ca(self.wrong_ca, os.path.join(tls, "wrong-ca-key.pem"), "cutover wrong CA")

    def start(self):
        self.make_tls()
        innodb = ["--innodb-log-file-size=64M", "--innodb-buffer-pool-size=128M"]
        self._run([INSTALL_DB, "--no-defaults", "--user=root", "--datadir=" + self.datadir,
                   "--auth-root-authentication-method=normal", "--skip-test-db",
                   "--skip-name-resolve", "--tmpdir=" + self.tmpdir, *innodb],
                  os.path.join(self.tmpdir, "install-db.log"))
        argv = [
            MARIADBD, "--no-defaults", "--user=root",
            "--datadir=" + self.datadir,
            "--socket=" + self.socket,
            "--port=%d" % self.port,
            "--bind-address=127.0.0.1",
            "--pid-file=" + self.pid_file,
            "--log-error=" + self.log_path,
            "--general-log-file=" + os.path.join(self.tmpdir, "general.log"),
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",          # as Debian's my.cnf has it
            "--collation-server=utf8mb4_general_ci",
            "--max-allowed-packet=64M",
            "--local-infile=1",
            "--max-connections=500",
            "--ssl-ca=" + self.ca,
            "--ssl-cert=" + self.cert,
            "--ssl-key=" + self.key,
            "--innodb-flush-log-at-trx-commit=2",
            # a temporary-file folder of its own: information_schema and
            # big sorts write there, and other servers' clean-ups (mtr
            # runs) must not delete them under it
            "--tmpdir=" + self.tmpdir,
            *innodb,
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited with %s during start-up:\n%s"
                                   % (self.proc.returncode, tail(self.log_path)))
            try:
                conn = self.root_connect()
                break
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("mariadbd did not accept connections within %d s:\n%s"
                                       % (SERVER_START_TIMEOUT, tail(self.log_path)))
                time.sleep(0.05)
        try:
            with conn.cursor() as cur:
                for sql in (
                    "DELETE FROM mysql.global_priv WHERE User = ''",  # anonymous users
                    "FLUSH PRIVILEGES",
                    "CREATE DATABASE IF NOT EXISTS test",
                    "CREATE USER 'app'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('apppass')",
                    "GRANT ALL PRIVILEGES ON *.* TO 'app'@'%'",
                    "INSTALL SONAME 'auth_ed25519'",
                    "CREATE USER 'app_ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('edpass')",
                    "GRANT ALL PRIVILEGES ON *.* TO 'app_ed'@'%'",
                    "CREATE USER 'cutover'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('cutoverpass')",
                    "GRANT ALL PRIVILEGES ON *.* TO 'cutover'@'%' WITH GRANT OPTION",
                ):
                    cur.execute(sql)
        finally:
            conn.close()

    def stop(self):
        """SIGTERM, wait; SIGKILL if it does not go within 60 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # -- use ---------------------------------------------------------------

    def root_connect(self, **kw):
        """PyMySQL as root over the Unix socket (root has no password)."""
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("autocommit", True)
        return pymysql.connect(unix_socket=self.socket, user="root", password="", **kw)

    def connect(self, user=DEFAULT_USER, password=DEFAULT_PASSWORD, database=DEFAULT_DATABASE, **kw):
        """PyMySQL straight to the server over TCP.  autocommit defaults to
        True (the server's own default; PyMySQL's would send SET
        AUTOCOMMIT=0).  Connections still open at the end of the test that
        made them are closed then."""
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("autocommit", True)
        conn = pymysql.connect(host=self.host, port=self.port, user=user, password=password,
                               database=database, **kw)
        self._conns.append(conn)
        return conn

    def close_connections(self):
        while self._conns:
            _close_quietly(self._conns.pop())


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.close_connections()
    server.stop()


@pytest.fixture(autouse=True)
def _close_direct_connections(request):
    """Close the direct connections a test opened, when it ends."""
    yield
    if "mariadb" in request.fixturenames:
        request.getfixturevalue("mariadb").close_connections()


# --------------------------------------------------------------------------
# cutoverd
# --------------------------------------------------------------------------

def parse_ini(text):
    """Parse ini text into {section: {key: value}} keeping order.  Lines
    are `[section]`, `key = value`, blank, or comments (# or ;)."""
    out = {}
    section = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
        if m:
            section = out.setdefault(m.group(1), {})
            continue
        if "=" not in line or section is None:
            raise ValueError("ini_extra line %d: expected [section] or key = value: %r" % (n, raw))
        key, value = line.split("=", 1)
        section[key.strip()] = value.strip()
    return out


def render_ini(sections):
    parts = []
    for name, keys in sections.items():
        parts.append("[%s]" % name)
        parts.extend("%s = %s" % (k, v) for k, v in keys.items())
        parts.append("")
    return "\n".join(parts)


class AdminConn:
    """One connection to the admin socket: cmd(line) -> dict, for tests that
    need several commands on the same connection."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_reply(self):
        """Read one line and parse it as one JSON object."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("admin socket closed; partial reply: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        reply = json.loads(line.decode("utf-8"))
        assert isinstance(reply, dict), "admin reply is not a JSON object: %r" % line
        return reply

    def cmd(self, line):
        data = line if isinstance(line, bytes) else line.encode("utf-8")
        self.send_raw(data + b"\n")
        return self.read_reply()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Proxy:
    """A running cutoverd.  Attributes: host, port, admin_socket, ini_path,
    log_path (its [log] file), stderr_path, tmpdir, proc, conf (the ini as
    {section: {key: value}})."""

    def __init__(self, tmpdir, conf, mariadb):
        self.tmpdir = str(tmpdir)
        self.conf = conf
        self.mariadb = mariadb
        host, _, port = conf["proxy"]["listen"].rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.admin_socket = conf["proxy"].get("admin_socket")
        self.log_path = conf.get("log", {}).get("file") or os.path.join(self.tmpdir, "cutoverd.stderr")
        self.stderr_path = os.path.join(self.tmpdir, "cutoverd.stderr")
        self.ini_path = os.path.join(self.tmpdir, "cutoverd.ini")
        self.pid_file = os.path.join(self.tmpdir, "cutoverd.pid")
        self.proc = None
        self.killed = False        # stop() had to SIGKILL it
        self.start_failed = False  # wait_ready() failed: already reported
        self._conns = []
        with open(self.ini_path, "w") as f:
            f.write(render_ini(conf))

    def start(self, wait=True):
        _require_binary(CUTOVERD)
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen([CUTOVERD, "-c", self.ini_path], stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=subprocess.STDOUT, cwd=self.tmpdir,
                                         preexec_fn=_die_with_parent)
        with open(self.pid_file, "w") as f:
            f.write("%d\n" % self.proc.pid)
        if wait:
            try:
                self.wait_ready()
            except BaseException:
                self.start_failed = True
                self.stop()
                raise
        return self

    def diagnostics(self):
        """Log and stderr tails, for assertion messages."""
        out = "--- %s ---\n%s" % (self.log_path, tail(self.log_path))
        if self.stderr_path != self.log_path:
            out += "\n--- %s ---\n%s" % (self.stderr_path, tail(self.stderr_path))
        return out

    def wait_ready(self, timeout=PROXY_START_TIMEOUT):
        """Until the TCP port listens and the admin socket accepts."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail("cutoverd exited with %s during start-up\n%s"
                            % (self.proc.returncode, self.diagnostics()), pytrace=False)
            if _is_listening(self.port) and self._admin_socket_exists():
                return
            if time.monotonic() > deadline:
                pytest.fail("cutoverd not ready within %d s (port %d listening: %s, admin socket %s: %s)\n%s"
                            % (timeout, self.port, _is_listening(self.port), self.admin_socket,
                               self._admin_socket_exists(), self.diagnostics()), pytrace=False)
            time.sleep(0.02)

    def _admin_socket_exists(self):
        """The admin socket accepts a connection (a file alone may be the
        one a killed cutoverd left, not yet replaced by the new one)."""
        if not self.admin_socket:
            return True
        try:
            if not stat.S_ISSOCK(os.stat(self.admin_socket).st_mode):
                return False
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1)
                probe.connect(self.admin_socket)
            return True
        except OSError:
            return False

    def read_log(self):
        """The whole [log] file (and stderr, if different) as text."""
        text = ""
        for path in dict.fromkeys((self.log_path, self.stderr_path)):
            try:
                with open(path, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        return text

    # -- clients -----------------------------------------------------------

    def connect(self, user=DEFAULT_USER, password=DEFAULT_PASSWORD, database=DEFAULT_DATABASE, **kw):
        """PyMySQL through the proxy; same defaults as mariadb.connect()."""
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("autocommit", True)
        conn = pymysql.connect(host=self.host, port=self.port, user=user, password=password,
                               database=database, **kw)
        self._conns.append(conn)
        return conn

    def admin_connect(self, timeout=10):
        """An AdminConn on the admin socket (caller closes it)."""
        return AdminConn(self.admin_socket, timeout)

    def admin(self, cmd, timeout=10):
        """Send one command line, return its one-line JSON reply as a dict."""
        with self.admin_connect(timeout) as a:
            return a.cmd(cmd)

    def ctl(self, *args, timeout=30, input=None):
        """Run cutoverctl -s <admin socket> ARGS; a CompletedProcess with
        text stdout/stderr (not checked)."""
        _require_binary(CUTOVERCTL)
        return subprocess.run([CUTOVERCTL, "-s", self.admin_socket, *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def reload(self):
        """SIGHUP: re-read the ini (rewrite self.ini_path first)."""
        self.proc.send_signal(signal.SIGHUP)

    def rewrite_ini(self, ini_extra="", **opts):
        """Merge more settings into the ini file (then call reload())."""
        _merge(self.conf, ini_extra, opts)
        with open(self.ini_path, "w") as f:
            f.write(render_ini(self.conf))

    def close_connections(self):
        while self._conns:
            _close_quietly(self._conns.pop())

    def stop(self, timeout=PROXY_STOP_TIMEOUT):
        """SIGTERM and wait; SIGKILL after `timeout` s (then self.killed).
        Returns the exit status (negative: killed by that signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def check_clean_exit(self):
        """The checks at teardown: stopped by SIGTERM in time, exit status 0,
        nothing from a sanitizer in its output."""
        problems = []
        if self.killed:
            problems.append("cutoverd did not exit within %d s of SIGTERM and was killed" % PROXY_STOP_TIMEOUT)
        elif self.proc.returncode != 0:
            problems.append("cutoverd exited with status %s" % self.proc.returncode)
        log = self.read_log()
        found = [p for p in SANITIZER_PATTERNS if p in log]
        if found:
            problems.append("cutoverd output contains %s" % ", ".join(found))
        if problems:
            pytest.fail("; ".join(problems) + "\n" + self.diagnostics(), pytrace=False)


def _merge(conf, ini_extra, opts):
    """Merge ini text and section_key=value options into conf.  A key given
    again replaces the earlier value; None as a value removes the key."""
    for section, keys in parse_ini(ini_extra or "").items():
        conf.setdefault(section, {}).update(keys)
    for name, value in opts.items():
        section, sep, key = name.partition("_")
        if not sep or not key:
            raise TypeError("make_proxy option %r: expected SECTION_KEY=value, e.g. backend_port=3306" % name)
        if value is None:
            conf.get(section, {}).pop(key, None)
        else:
            conf.setdefault(section, {})[key] = str(value)


class ProxyFactory:
    """make_proxy(ini_extra='', *, start=True, **opts) -> Proxy.

    The ini starts from the defaults below; `ini_extra` (ini text) is merged
    over it, then `opts`, each named SECTION_KEY (backend_port=1234 sets
    [backend] port = 1234; debug_inject_before="..." sets [debug]
    inject_before; a value None removes the key).  Values are written
    unquoted (inih keeps everything after '=').  With start=False the Proxy
    is only written, for tests that start it themselves (proxy.start()).
    All proxies are stopped and checked at the end of the test."""

    def __init__(self, mariadb, tmp_path_factory):
        self.mariadb = mariadb
        self.tmp_path_factory = tmp_path_factory
        self.proxies = []

    def config(self, tmpdir, ini_extra="", **opts):
        """The merged configuration, as {section: {key: value}}."""
        tmpdir = str(tmpdir)
        conf = {
            "proxy": {
                "listen": "127.0.0.1:%d" % free_port(),
                "admin_socket": os.path.join(tmpdir, "admin.sock"),
            },
            "backend": {
                "host": self.mariadb.host,
                "port": str(self.mariadb.port),
            },
            "cutover": {
                "user": "cutover",
                "password": "cutoverpass",
            },
            "log": {
                "level": "debug",
                "file": os.path.join(tmpdir, "cutoverd.log"),
            },
        }
        _merge(conf, ini_extra, opts)
        return conf

    def render(self, ini_extra="", **opts):
        """The ini text make_proxy() would write (in a throw-away folder)."""
        return render_ini(self.config(self.tmp_path_factory.mktemp("proxy"), ini_extra, **opts))

    def __call__(self, ini_extra="", *, start=True, **opts):
        tmpdir = self.tmp_path_factory.mktemp("proxy")
        p = Proxy(tmpdir, self.config(tmpdir, ini_extra, **opts), self.mariadb)
        self.proxies.append(p)
        if start:
            p.start()
        return p

    def teardown(self):
        failures = []
        for p in self.proxies:
            p.close_connections()
            p.stop()
        for p in self.proxies:
            if p.proc is None or p.start_failed:
                continue
            try:
                p.check_clean_exit()
            except pytest.fail.Exception as e:
                failures.append(str(e))
        if failures:
            pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
def make_proxy(mariadb, tmp_path_factory):
    factory = ProxyFactory(mariadb, tmp_path_factory)
    yield factory
    factory.teardown()


@pytest.fixture
def proxy(make_proxy):
    return make_proxy()


# --------------------------------------------------------------------------
# Small helpers for tests
# --------------------------------------------------------------------------

@pytest.fixture(params=["direct", "proxy"])
def endpoint(request, mariadb):
    """Parametrizes a test over the server itself and the proxy in front of
    it: both have connect(), host and port.  endpoint.kind says which."""
    target = mariadb if request.param == "direct" else request.getfixturevalue("proxy")
    target.kind = request.param
    return target


@pytest.fixture
def unique_name():
    """unique_name('t') -> 't_1a2b3c4d': a fresh table or database name."""
    return lambda prefix="t": "%s_%s" % (prefix, uuid.uuid4().hex[:8])


class TestTimeout(Exception):
    def __init__(self, *args):
        super().__init__(*(args or ("test body exceeded %d s (CUTOVER_TEST_TIMEOUT)" % TEST_TIMEOUT,)))


_thread_timer = [None]   # the running test's timer, outside the main thread


def _arm_thread_timer(seconds, exc):
    """Raise exc (a class) in the calling thread after `seconds`; replaces
    the timer armed before.  For tests that a pytest-xdist worker runs
    outside the main thread (execnet does that), where signals cannot be
    handled: the exception comes at the thread's next Python instruction (a
    blocking call returns first: the clients here have timeouts)."""
    tid = threading.get_ident()

    def fire():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(exc))

    if _thread_timer[0] is not None:
        _thread_timer[0].cancel()
    _thread_timer[0] = threading.Timer(seconds, fire)
    _thread_timer[0].daemon = True
    _thread_timer[0].start()


def extend_test_timeout(seconds, exc):
    """Give the running test body `seconds` from now instead of
    CUTOVER_TEST_TIMEOUT; exc (an exception class) is raised when they are
    over.  Ends with the test, like the default bound."""
    if threading.current_thread() is not threading.main_thread():
        _arm_thread_timer(seconds, exc)
        return

    def on_alarm(signum, frame):
        raise exc()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Bound one test body to CUTOVER_TEST_TIMEOUT seconds, so that a hang
    (a proxy that never answers) fails that test instead of the whole run."""
    def on_alarm(signum, frame):
        raise TestTimeout()

    if threading.current_thread() is not threading.main_thread():
        _arm_thread_timer(TEST_TIMEOUT, TestTimeout)
        try:
            yield
        finally:
            _thread_timer[0].cancel()
            _thread_timer[0] = None
        return
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
