"""
test_mtr.py - MariaDB's own regression tests (mariadb-test-run, suite
`main`) run through the proxy.

The tests listed in mtr_selection.txt run with mariadb-test-run in --extern
mode (against an already running server, over TCP as root without a
password): once straight against a MariaDB server, then through a cutoverd
in front of that same server.  Every test that passes directly must pass
through the proxy too; a failure prints a table (test, direct result, proxy
result), mtr's report of each test that broke (its diff or mysqltest's
error), and the proxy's log without its DEBUG lines.

test_mtr_selection[text] runs every listed test as mysqltest does by
default (COM_QUERY); test_mtr_selection[ps] runs those marked `ps` with
--ps-protocol (COM_STMT_PREPARE/EXECUTE/FETCH, binary result sets).

The server is a private mariadbd of this module (not the session's
`mariadb`): the .result files were recorded against mtr's own server
(latin1, MyISAM, GMT-3, small buffers, binary log, the `mtr` schema with its
check and suppression procedures, the test time zones, root@localhost for
a client on 127.0.0.1), and mtr's tests change global state that the other
integration tests should not see.  See MtrServer.

mtr does not restart an --extern server, so a failed test would leave its
tables behind and fail the tests after it: each run stops at the first
failure, the server is reset (MtrServer.reset()) and mtr goes on with the
tests not run yet.  Through the proxy a test may take 6 times as long as it
took directly, at least a minute (a proxy bug often shows as a hang).

Part of `make check`, so of tests/run in both builds: 1 to 2 minutes per
build on 2 cores (70 s normal, 80 s ASan/UBSan in one tests/run: mtr and
the server dominate).  Proxy bugs it found have faster regression tests of
their own (test_response.c, test_c_clients.py, test_proxy_basic.py).

Environment:
    CUTOVER_MTR_SKIP  1: skip these tests (they run by default).
    CUTOVER_MTR     path of mariadb-test-run.pl (default: the usual
                    Debian/RPM locations).  Missing: the tests are skipped,
                    or fail when CI=true.  Debian: apt-get install mariadb-test.
    CUTOVER_MTR_TIMEOUT  seconds one test_mtr_selection may take (default
                    900; it re-arms conftest's CUTOVER_TEST_TIMEOUT alarm).
    CUTOVER_MTR_PS  which tests test_mtr_selection[ps] runs with
                    --ps-protocol: `flagged` (default: those marked `ps`),
                    `all`, or `0` (none: skipped).
"""

import os
import re
import shutil
import signal
import subprocess
import time

import pymysql
import pytest

from conftest import INSTALL_DB, MARIADBD, _die_with_parent, extend_test_timeout, free_port, tail

# Runs by default; CUTOVER_MTR_SKIP=1 leaves it out (a quicker `make check`).
pytestmark = pytest.mark.skipif(os.environ.get("CUTOVER_MTR_SKIP") == "1",
                                reason="MariaDB's test suite through the proxy: CUTOVER_MTR_SKIP=1")

HERE = os.path.dirname(os.path.abspath(__file__))
SELECTION_FILE = os.path.join(HERE, "mtr_selection.txt")

MTR_CANDIDATES = (
    "/usr/share/mysql/mysql-test/mariadb-test-run.pl",      # Debian, Ubuntu
    "/usr/share/mariadb-test/mariadb-test-run.pl",          # Fedora, RHEL
    "/usr/share/mysql-test/mariadb-test-run.pl",            # openSUSE
    "/usr/mysql-test/mariadb-test-run.pl",                  # tarballs
)

MTR_TIMEOUT = int(os.environ.get("CUTOVER_MTR_TIMEOUT", "900"))


class MtrTimeout(TimeoutError):
    def __init__(self, *args):
        super().__init__(*(args or ("test_mtr_selection exceeded %d s (CUTOVER_MTR_TIMEOUT)" % MTR_TIMEOUT,)))
MTR_TIMEZONE = "GMT-3"          # mtr's default --timezone
PROXY_SLOWDOWN_ALLOWED = 6      # a test may take 6 times as long through the proxy (min. 1 minute)
SERVER_START_TIMEOUT = 60
# extensions of the files of a table (MyISAM, Aria, InnoDB, CSV, ARCHIVE,
# partitions, triggers): reset() leaves those alone
TABLE_FILES = {".frm", ".myd", ".myi", ".mad", ".mai", ".ibd", ".isl", ".csv", ".csm", ".arz",
               ".par", ".trg", ".trn", ".opt"}


def find_mtr():
    env = os.environ.get("CUTOVER_MTR")
    if env:
        return env if os.path.isfile(env) else None
    for path in MTR_CANDIDATES:
        if os.path.isfile(path):
            return path
    return None


def read_selection(path=SELECTION_FILE):
    """[(test name without `main.`, set of flags)] in file order."""
    tests = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            flags = set(words[1:])
            unknown = flags - {"ps"}
            if unknown:
                raise ValueError("%s:%d: unknown flag(s) %s" % (path, n, " ".join(sorted(unknown))))
            tests.append((words[0], flags))
    return tests


def sql_to_bootstrap(text):
    """Statements of an mtr .sql file that uses mysqltest's `delimiter X;`
    syntax (include/mtr_warnings.sql, include/mtr_check.sql), as a list of
    strings to execute one by one.  Same rules as mtr's sql_to_bootstrap."""
    stmts = []
    cur = []
    delim = ";"
    for line in text.splitlines():
        m = re.match(r"delimiter (.*)", line)
        if m:
            new = m.group(1)
            if new.endswith(delim):
                new = new[: -len(delim)]
            delim = new
            continue
        if re.match(r"\s*--", line):
            continue
        if line.rstrip().endswith(delim):
            cur.append(line.rstrip()[: -len(delim)])
            stmt = "\n".join(cur).strip()
            if stmt:
                stmts.append(stmt)
            cur = []
            continue
        cur.append(line)
    return stmts


class MtrServer:
    """A private mariadbd set up like mtr's own: system tables, the test
    time zones, the `test` and `mtr` schemas, root without password on
    localhost, 127.0.0.1 and ::1, and the [mysqld] defaults of
    include/default_mysqld.cnf that matter for results."""

    INNODB = ["--innodb-log-file-size=10M", "--innodb-buffer-pool-size=32M"]

    def __init__(self, tmpdir, mtr_dir):
        self.tmpdir = str(tmpdir)
        self.mtr_dir = mtr_dir
        self.host = "127.0.0.1"
        self.port = free_port()
        # mtr's layout: tests name files relative to the server's datadir
        # as ../../std_data/x or ../../tmp/x, meaning $MYSQLTEST_VARDIR/...;
        # so the datadir is <vardir>/mysqld.1/data and mtr runs with
        # --vardir=<vardir> (see prepare_vardir()).
        self.vardir = os.path.join(self.tmpdir, "var")
        self.datadir = os.path.join(self.vardir, "mysqld.1", "data")
        self.socket = os.path.join(self.tmpdir, "mysqld.sock")
        self.pid_file = os.path.join(self.tmpdir, "mariadbd.pid")
        # where mtr's own server logs: tests search it (search_pattern_in_file)
        self.log_path = os.path.join(self.vardir, "log", "mysqld.1.err")
        self.server_tmp = os.path.join(self.vardir, "mysqld.1", "tmp")
        self.proc = None

    def _run(self, argv, log):
        with open(log, "ab") as out:
            r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               timeout=180)
        if r.returncode != 0:
            raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(argv), r.returncode, tail(log)))

    def start(self):
        os.makedirs(self.server_tmp, exist_ok=True)
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self._run([INSTALL_DB, "--no-defaults", "--user=root", "--datadir=" + self.datadir,
                   "--auth-root-authentication-method=normal", *self.INNODB],
                  os.path.join(self.tmpdir, "install-db.log"))
        self.launch()
        conn = self.root_connect()
        try:
            self._bootstrap(conn)
            self.baseline = self._snapshot(conn)
        finally:
            conn.close()

    def launch(self):
        """Start mariadbd on the installed datadir; wait until it answers."""
        argv = [
            MARIADBD, "--no-defaults", "--user=root",
            "--datadir=" + self.datadir,
            "--socket=" + self.socket,
            "--port=%d" % self.port,
            "--bind-address=127.0.0.1",
            "--pid-file=" + self.pid_file,
            "--log-error=" + self.log_path,
            "--tmpdir=" + self.server_tmp,
            # no --skip-name-resolve: a TCP client from 127.0.0.1 must be
            # root@localhost, as the .result files show it (USER(), DEFINER)
            # include/default_mysqld.cnf
            "--disable-getopt-prefix-matching",
            "--plugin-maturity=unknown",
            "--open-files-limit=1024",
            "--local-infile",
            "--character-set-server=latin1",
            "--connect-timeout=60",
            "--log-bin-trust-function-creators=1",
            "--key-buffer-size=1M",
            "--sort-buffer-size=256K",
            "--max-heap-table-size=1M",
            "--loose-aria-pagecache-buffer-size=8M",
            "--binlog-direct-non-transactional-updates",
            "--default-storage-engine=myisam",
            "--use-stat-tables=preferably",
            "--histogram-type=json_hb",
            "--max-connections=200",
            # main.multi_statement and main.union count Slow_queries (their
            # -master.opt, which --extern mode does not apply)
            "--slow-query-log",
            "--slow-query-log-file=slow.log",
            "--log-queries-not-using-indexes",
            "--log-bin=mysqld-bin",     # for the tests that need have_log_bin (commit_1innodb, ...)
            "--server-id=1",
            *self.INNODB,
        ]
        env = dict(os.environ, TZ=MTR_TIMEZONE, LC_ALL="C", LC_CTYPE="C")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited with %s during start-up:\n%s"
                                   % (self.proc.returncode, tail(self.log_path)))
            try:
                self.root_connect().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("mariadbd did not accept connections within %d s:\n%s"
                                       % (SERVER_START_TIMEOUT, tail(self.log_path)))
                time.sleep(0.05)

    def _bootstrap(self, conn):
        """What mtr's bootstrap adds to mysql_install_db's: test time zones,
        no anonymous users, `test` in latin1, the `mtr` schema."""
        stmts = ["DELETE FROM mysql.global_priv WHERE User = ''", "FLUSH PRIVILEGES"]
        # next to mysql_system_tables.sql: /usr/share/mysql on Debian
        tz = os.path.join(os.path.dirname(os.path.abspath(self.mtr_dir)), "mysql_test_data_timezone.sql")
        if os.path.isfile(tz):
            stmts.append("USE mysql")
            with open(tz) as f:
                stmts += sql_to_bootstrap(f.read())
        stmts += [
            "DROP DATABASE IF EXISTS test",
            "CREATE DATABASE test CHARACTER SET latin1 COLLATE latin1_swedish_ci",
            "ALTER TABLE mysql.gtid_slave_pos ENGINE=Aria transactional=0",
            "CREATE DATABASE mtr CHARSET=latin1",
            "USE mtr",
        ]
        for name in ("mtr_warnings.sql", "mtr_check.sql"):
            with open(os.path.join(self.mtr_dir, "include", name)) as f:
                stmts += sql_to_bootstrap(f.read())
        with conn.cursor() as cur:
            for sql in stmts:
                cur.execute(sql)
                while cur.nextset():
                    pass

    @staticmethod
    def _snapshot(conn):
        with conn.cursor() as cur:
            cur.execute("SELECT VARIABLE_NAME, GLOBAL_VALUE FROM information_schema.SYSTEM_VARIABLES"
                        " WHERE READ_ONLY = 'NO'")
            variables = dict(cur.fetchall())
            cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            schemas = {r[0] for r in cur.fetchall()}
            cur.execute("SELECT User, Host FROM mysql.global_priv")
            users = set(cur.fetchall())
        return {"variables": variables, "schemas": schemas, "users": users}

    def reset(self):
        """Undo what a failed test left behind (mtr does not restart an
        --extern server): extra schemas and users, everything in `test`,
        changed global variables.  Returns what was done, for the log."""
        done = []
        if self.proc is None or self.proc.poll() is not None:
            done.append("mariadbd had exited (%s): started again"
                        % (self.proc.returncode if self.proc else "never started"))
            self.launch()
        conn = self.root_connect()
        try:
            now = self._snapshot(conn)
            with conn.cursor() as cur:
                def run(sql, args=None):
                    try:
                        cur.execute(sql, args)
                        done.append(sql if args is None else "%s %r" % (sql, args))
                    except pymysql.MySQLError as e:
                        done.append("%s: %s" % (sql, e))
                run("SET SESSION sql_mode = ''")
                for schema in sorted(now["schemas"] - self.baseline["schemas"]):
                    run("DROP DATABASE IF EXISTS `%s`" % schema.replace("`", "``"))
                for user, host in sorted(now["users"] - self.baseline["users"]):
                    run("DROP USER IF EXISTS %s@%s", (user, host))
                cur.execute("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES"
                            " WHERE TABLE_SCHEMA = 'test'")
                for name, kind in cur.fetchall():
                    what = "VIEW" if kind == "VIEW" else "SEQUENCE" if kind == "SEQUENCE" else "TABLE"
                    run("DROP %s IF EXISTS test.`%s`" % (what, name.replace("`", "``")))
                cur.execute("SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES"
                            " WHERE ROUTINE_SCHEMA = 'test'")
                for name, kind in cur.fetchall():
                    run("DROP %s IF EXISTS test.`%s`" % (kind, name.replace("`", "``")))
                cur.execute("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'test'")
                for (name,) in cur.fetchall():
                    run("DROP EVENT IF EXISTS test.`%s`" % name.replace("`", "``"))
                # files a test wrote with SELECT ... INTO OUTFILE 'name'
                # (relative: into the datadir of `test`) and did not remove;
                # not the files of a table that would not drop
                test_dir = os.path.join(self.datadir, "test")
                for name in sorted(os.listdir(test_dir)):
                    if name != "db.opt" and os.path.splitext(name)[1].lower() not in TABLE_FILES:
                        path = os.path.join(test_dir, name)
                        try:
                            if os.path.isdir(path):
                                shutil.rmtree(path)
                            else:
                                os.unlink(path)
                            done.append("removed %s" % path)
                        except OSError as e:
                            done.append("cannot remove %s: %s" % (path, e))
                for name, value in sorted(self.baseline["variables"].items()):
                    if now["variables"].get(name) == value:
                        continue
                    if value is None:
                        run("SET GLOBAL %s = NULL" % name)
                    elif re.fullmatch(r"-?\d+(\.\d+)?", value):
                        run("SET GLOBAL %s = %s" % (name, value))
                    else:
                        run("SET GLOBAL %s = %%s" % name, (value,))
                run("FLUSH PRIVILEGES")
        finally:
            conn.close()
        return done

    def prepare_vardir(self):
        """Make self.vardir ready for one mtr run: mtr does not set up an
        existing vardir in --extern mode, so do what its setup_vardir()
        would, with empty log/ and tmp/ (a worker copies std_data/)."""
        def remove(path):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.unlink(path)

        # what tests left in $MYSQLTEST_VARDIR (tmp/, files they copied);
        # std_data/ stays (mtr refreshes it), mysqld.1/ is the server's
        for name in os.listdir(self.vardir):
            if name not in ("mysqld.1", "log", "std_data"):
                remove(os.path.join(self.vardir, name))
        logdir = os.path.join(self.vardir, "log")
        for name in os.listdir(logdir):
            if os.path.join(logdir, name) != self.log_path:     # the server's, open
                remove(os.path.join(logdir, name))
        for sub in ("tmp", "run"):
            os.makedirs(os.path.join(self.vardir, sub))
        return self.vardir

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def root_connect(self, **kw):
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("autocommit", True)
        return pymysql.connect(unix_socket=self.socket, user="root", password="", **kw)


# --------------------------------------------------------------------------
# Running mtr
# --------------------------------------------------------------------------

# "main.ctype_utf8                  [ pass ]   8136" (ms), "[ fail ]", "[ skipped ]  why"
RESULT_RE = re.compile(r"^(?:\[\s*\d+%\]\s+)?(main\.\S+?)(?:\s+'[^']*')?\s+(?:w\d+\s+)?"
                       r"\[ (\w+) \](?:[ \t]+(\d+)\b)?", re.M)


def run_mtr(mtr, tests, port, vardir, log_path, extra=(), testcase_timeout=5, timeout=MTR_TIMEOUT):
    """Run `tests` with mariadb-test-run --extern against 127.0.0.1:port;
    one test may take `testcase_timeout` minutes.  Returns ({test: 'pass' |
    'fail' | 'skipped' | ...}, {test: ms}, output text, exit status)."""
    argv = [
        "perl", mtr,
        "--extern", "host=127.0.0.1",
        "--extern", "port=%d" % port,
        "--extern", "user=root",
        # TCP even for connect(c,localhost,...): there is no socket to the
        # proxy; loose-: tools that have no --protocol read [client] too
        "--extern", "loose-protocol=tcp",
        "--extern", "socket=" + os.path.join(vardir, "no-such.sock"),
        "--vardir=" + vardir,
        "--parallel=1",
        "--force",
        "--max-test-fail=1",
        "--noreorder",
        "--retry=0",
        "--testcase-timeout=%d" % testcase_timeout,
        "--suite-timeout=60",
        "--nowarnings",
        "--tail-lines=40",
        *extra,
        *["main." + t for t in tests],
    ]
    env = dict(os.environ, MTR_PARALLEL="1")
    env.pop("MTR_BUILD_THREAD", None)
    started = time.time() - 1
    with open(log_path, "wb") as out:
        out.write(("+ %s\n" % " ".join(argv)).encode())
        out.flush()
        # its own process group: on a timeout, mtr and its mysqltest go too
        proc = subprocess.Popen(argv, cwd=os.path.dirname(mtr), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    # mysqltest writes <test>.reject next to <test>.result when it can
    # (root can, in /usr/share/...): move the new ones next to the log
    suite_dir = os.path.join(os.path.dirname(os.path.abspath(mtr)), "main")
    for t in tests:
        reject = os.path.join(suite_dir, t + ".reject")
        try:
            if os.stat(reject).st_mtime >= started:
                shutil.move(reject, "%s.%s.reject" % (os.path.splitext(log_path)[0], t))
        except OSError:
            pass
    with open(log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    results, times = {}, {}
    for m in RESULT_RE.finditer(text):
        name = m.group(1)[len("main."):]
        results[name] = m.group(2)
        if m.group(3):
            times[name] = int(m.group(3))
    return results, times, text, rc


def split_output(text):
    """{test: the mtr output from its result line to the next one}."""
    chunks = {}
    matches = list(RESULT_RE.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        chunks[m.group(1)[len("main."):]] = text[m.start():end]
    return chunks


def run_selection(mtr, tests, port, server, logdir, tag, extra=(), testcase_timeout=5):
    """Run `tests` in order against 127.0.0.1:port.  mtr stops at the first
    failure (--max-test-fail=1): the server is then reset (a failed test
    leaves its tables behind and mtr does not restart an --extern server)
    and the tests not run yet are run in a new mtr.  Returns
    ({test: result}, {test: ms}, {test: output}, [mtr log paths])."""
    remaining = list(tests)
    results, times, outputs, logs = {}, {}, {}, []
    while remaining:
        vardir = server.prepare_vardir()
        log = os.path.join(logdir, "mtr-%s-%d.log" % (tag, len(logs) + 1))
        logs.append(log)
        res, ms, text, rc = run_mtr(mtr, remaining, port, vardir, log, extra=extra,
                                    testcase_timeout=testcase_timeout)
        res = {t: r for t, r in res.items() if t in remaining}
        times.update(ms)
        if not res:
            for t in remaining:
                results[t] = "not run"
                outputs[t] = "mtr exited with %d without running it:\n%s" % (rc, text[-3000:])
            break
        results.update(res)
        chunks = split_output(text)
        for t in res:
            outputs[t] = chunks.get(t, "")
        # keep the failing tests' logs
        saved = os.path.join(logdir, "var-%s-%d" % (tag, len(logs)))
        shutil.copytree(os.path.join(vardir, "log"), saved, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("mysqld.1.err"))
        if any(r not in ("pass", "skipped", "disabled") for r in res.values()):
            with open(log, "a") as f:
                f.write("\n--- server reset ---\n%s\n" % "\n".join(server.reset()))
        remaining = [t for t in remaining if t not in res]
    return results, times, outputs, logs


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mtr():
    path = find_mtr()
    if path is None:
        msg = ("mariadb-test-run.pl not found (Debian: apt-get install mariadb-test; "
               "or set CUTOVER_MTR to its path)")
        if os.environ.get("CI") == "true":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="module")
def mtr_server(tmp_path_factory, mtr):
    server = MtrServer(tmp_path_factory.mktemp("mtr-server"), os.path.dirname(mtr))
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


def excerpt(chunk, head=45, tail=20):
    """mtr's report of one test without mtr's closing summary: its first
    lines (the diff, or mysqltest's error) and its last (the statements
    before the failure)."""
    for marker in ("\nToo many tests(", "\n----------------------------------------"
                   "----------------------------------\nThe servers were restarted"):
        cut = chunk.find(marker)
        if cut >= 0:
            chunk = chunk[:cut]
    lines = chunk.rstrip().splitlines()
    if len(lines) > head + tail:
        lines = lines[:head] + ["[... %d lines ...]" % (len(lines) - head - tail)] + lines[-tail:]
    return "\n".join(lines)


def proxy_complaints(proxy, n=40):
    """The proxy's log without its DEBUG lines and routine logins."""
    lines = [line for line in proxy.read_log().splitlines()
             if " DEBUG " not in line and "authenticated user" not in line]
    return "\n".join(["last lines of %s (no DEBUG, no logins):" % proxy.log_path] + lines[-n:])


def outcome_table(tests, direct, proxied):
    width = max(len(t) for t in tests)
    rows = ["%-*s  %-8s  %-8s" % (width, "test", "direct", "proxy")]
    for t in tests:
        d = direct.get(t, "not run")
        p = proxied.get(t, "-")
        mark = "   <-- proxy bug" if d == "pass" and p != "pass" else ""
        rows.append("%-*s  %-8s  %-8s%s" % (width, t, d, p, mark))
    return "\n".join(rows)


PROTOCOLS = {
    "text": (),                          # mysqltest's default: COM_QUERY
    "ps": ("--ps-protocol",),            # every statement it can: COM_STMT_PREPARE/EXECUTE
}


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_mtr_selection(protocol, mtr, mtr_server, make_proxy, tmp_path):
    """Each test of mtr_selection.txt that passes straight against the
    server passes through cutoverd too."""
    selection = read_selection()
    if protocol == "text":
        tests = [name for name, _ in selection]
    else:
        which = os.environ.get("CUTOVER_MTR_PS", "flagged")
        if which == "0":
            pytest.skip("CUTOVER_MTR_PS=0")
        tests = [name for name, flags in selection if which == "all" or protocol in flags]

    # conftest bounds a test body to CUTOVER_TEST_TIMEOUT (300 s by default);
    # this one needs longer (conftest's hook ends the bound with the test)
    extend_test_timeout(MTR_TIMEOUT, MtrTimeout)

    extra = PROTOCOLS[protocol]
    logdir = str(tmp_path)

    # The server is shared with the other protocol's run: undo what that
    # left behind (main.loaddata leaves a file that its next run writes).
    mtr_server.reset()
    t0 = time.monotonic()
    direct, direct_ms, direct_out, direct_logs = run_selection(
        mtr, tests, mtr_server.port, mtr_server, logdir, "direct", extra)
    t_direct = time.monotonic() - t0
    # A proxy bug often shows as a hang; mtr's per-test limit is in whole
    # minutes: 1, or more for a test that took over 10 s directly.
    slowest = max([ms for t, ms in direct_ms.items() if direct.get(t) == "pass"] or [0])
    proxy_timeout = max(1, -(-slowest * PROXY_SLOWDOWN_ALLOWED // 60000))

    # Same server, same state: undo whatever the direct run left behind.
    mtr_server.reset()
    proxy = make_proxy(backend_host=mtr_server.host, backend_port=mtr_server.port,
                       cutover_user="root", cutover_password="")
    t0 = time.monotonic()
    proxied, _, proxied_out, proxied_logs = run_selection(
        mtr, tests, proxy.port, mtr_server, logdir, "proxy", extra, testcase_timeout=proxy_timeout)
    t_proxy = time.monotonic() - t0

    passed_direct = [t for t in tests if direct.get(t) == "pass"]
    broken = [t for t in passed_direct if proxied.get(t) != "pass"]
    summary = ("%s protocol: %d tests, %d pass directly (%.0f s), %d of those fail through the proxy (%.0f s)"
               % (protocol, len(tests), len(passed_direct), t_direct, len(broken), t_proxy))
    print(summary)
    print(outcome_table(tests, direct, proxied))

    if broken:
        parts = [summary, "", outcome_table(tests, direct, proxied), ""]
        for t in broken:
            parts.append("=== %s through the proxy: %s ===" % (t, proxied.get(t, "not run")))
            parts.append(excerpt(proxied_out.get(t, "(no output)")))
            parts.append("")
        parts.append("mtr logs: %s" % " ".join(direct_logs + proxied_logs))
        parts.append(proxy_complaints(proxy))
        pytest.fail("\n".join(parts), pytrace=False)

    # A selection that mostly does not pass directly says the set-up is
    # broken (server options, mtr version), not that the proxy is fine.
    not_passing = [t for t in tests if direct.get(t) != "pass"]
    assert len(not_passing) <= len(tests) // 4, (
        "%d of %d selected tests do not pass directly against the server: the selection or the "
        "server set-up no longer fits this mariadb-test:\n%s\n\n%s"
        % (len(not_passing), len(tests), outcome_table(tests, direct, proxied),
           "\n\n".join("=== %s directly: %s ===\n%s" % (t, direct.get(t, "not run"),
                                                          excerpt(direct_out.get(t, ""), 30, 10))
                       for t in not_passing[:10])))
