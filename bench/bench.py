#!/usr/bin/python3
"""
bench.py - the body of bench/run: start a private MariaDB, haproxy and
cutoverd in front of it, run sysbench against the three, measure the memory
of idle sessions, print and write the figures.

Run it through bench/run, which installs what is missing, builds cutoverd,
raises the descriptor limit and cleans up after it.  Standard library only,
for Debian's /usr/bin/python3.

Settings come from the environment (bench/run lists them).  Every process
started here is listed in $BENCH_WORKDIR/pids (process id and start time,
so that a recycled id is never mistaken for ours) while it runs, so that
bench/run can stop what a hard kill of this script left behind; each also
gets SIGTERM from the kernel when this script dies (PR_SET_PDEATHSIG).
"""

import ctypes
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import time

# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------


def env_int(name, default, lo=1):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        sys.exit("bench: %s=%r is not an integer" % (name, raw))
    if v < lo:
        sys.exit("bench: %s=%d is below %d" % (name, v, lo))
    return v


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("BENCH_WORKDIR") or sys.exit("bench: run me through bench/run")
CUTOVERD = os.environ["CUTOVERD"]
OUT = os.environ["BENCH_OUT"]
TIME = env_int("BENCH_TIME", 20)
ROUNDS = env_int("BENCH_ROUNDS", 3)
THREADS = env_int("BENCH_THREADS", 8)
TABLES = env_int("BENCH_TABLES", 4)
TABLE_SIZE = env_int("BENCH_TABLE_SIZE", 100000)
IDLE_CONNS = env_int("BENCH_IDLE_CONNS", 1000)
PROFILE_TIME = env_int("BENCH_PROFILE_TIME", 8)
PERF = os.environ.get("BENCH_PERF", "auto")
WARMUP = 3                      # seconds of sysbench per target before the rounds

WORKLOADS = ("oltp_point_select", "oltp_read_write")
WORKLOAD_SHORT = {"oltp_point_select": "ps", "oltp_read_write": "rw"}
TARGETS = ("direct", "haproxy", "cutoverd")

# What the MariaDB server runs with.  Tuned for speed, not durability: the
# benchmark measures the relay, not the disk.
MARIADB_OPTS = [
    "--innodb-buffer-pool-size=512M",
    "--innodb-log-file-size=256M",
    "--innodb-flush-log-at-trx-commit=2",
    "--skip-log-bin",
    "--max-connections=2000",
    "--max-prepared-stmt-count=100000",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
]

SB_USER, SB_PASSWORD, SB_DB = "sbtest", "sbpass", "sbtest"

MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/bin") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db", path="/usr/bin:/usr/sbin") or "/usr/bin/mariadb-install-db"
MARIADB_CLI = shutil.which("mariadb", path="/usr/bin:/bin") or "/usr/bin/mariadb"
HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin") or "/usr/sbin/haproxy"
SYSBENCH = shutil.which("sysbench", path="/usr/bin:/usr/local/bin") or "/usr/bin/sysbench"
PERF_BIN = shutil.which("perf", path="/usr/bin:/usr/sbin")

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

def _die_with_parent():
    """preexec_fn: SIGTERM to the child when this script dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)          # PR_SET_PDEATHSIG
    except Exception:
        pass


PIDS_FILE = os.path.join(WORK, "pids")
_recorded = {}          # pid -> start time, of the processes now running


def _start_time(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()[19]     # field 22, starttime


def _write_pids():
    tmp = PIDS_FILE + ".tmp"
    with open(tmp, "w") as f:
        for pid, start in _recorded.items():
            f.write("%d %s\n" % (pid, start))
    os.replace(tmp, PIDS_FILE)


def record_pid(pid):
    try:
        _recorded[pid] = _start_time(pid)
    except OSError:
        return          # already gone
    _write_pids()


def forget_pid(pid):
    if _recorded.pop(pid, None) is not None:
        _write_pids()


class Procs:
    """The long-running processes of the run, stopped in reverse order."""

    def __init__(self):
        self.procs = []         # (name, Popen)

    def start(self, name, argv, logfile, cwd=None):
        out = open(logfile, "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 cwd=cwd or WORK, preexec_fn=_die_with_parent)
        finally:
            out.close()
        record_pid(p.pid)
        self.procs.append((name, p))
        return p

    def stop(self, p, timeout=30):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        forget_pid(p.pid)
        self.procs = [(n, q) for (n, q) in self.procs if q is not p]

    def stop_all(self):
        for _, p in reversed(list(self.procs)):
            self.stop(p)


PROCS = Procs()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, name, logfile, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise BenchError("%s exited with %s during start-up:\n%s" % (name, proc.returncode, tail(logfile)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError("%s does not listen on %d after %d s:\n%s" % (name, port, timeout, tail(logfile)))
        time.sleep(0.05)


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(%s: %s)" % (path, e.strerror)
    return "\n".join(text[-lines:])


def run(argv, logfile, timeout=600):
    with open(logfile, "ab") as out:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if r.returncode != 0:
        raise BenchError("%s failed (exit %d):\n%s" % (" ".join(argv[:3]), r.returncode, tail(logfile)))


def proc_status(pid, field):
    """A field of /proc/PID/status in KiB (VmRSS, RssAnon, ...)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise BenchError("no %s in /proc/%d/status" % (field, pid))


def cpu_seconds(pid):
    """User plus system CPU time of a process (all its threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK     # utime, stime


def busy_seconds():
    """CPU time the whole machine spent busy in processes (user, nice,
    system, steal) and in interrupts (irq, softirq), all cores, seconds."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[7]) / CLK_TCK, (v[5] + v[6]) / CLK_TCK


def version_of(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except Exception:
        return "?"


# --------------------------------------------------------------------------
# The three targets
# --------------------------------------------------------------------------

class MariaDB:
    def __init__(self):
        self.dir = os.path.join(WORK, "mariadb")
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.log = os.path.join(self.dir, "mariadbd.err")
        self.port = free_port()
        self.proc = None

    def start(self):
        os.makedirs(self.dir)
        run([INSTALL_DB, "--no-defaults", "--user=root", "--datadir=" + self.datadir,
             "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
             "--innodb-log-file-size=256M"],
            os.path.join(self.dir, "install-db.log"), timeout=300)
        argv = [MARIADBD, "--no-defaults", "--user=root", "--datadir=" + self.datadir,
                "--socket=" + self.socket, "--port=%d" % self.port, "--bind-address=127.0.0.1",
                "--pid-file=" + os.path.join(self.dir, "mariadbd.pid"), "--log-error=" + self.log,
                *MARIADB_OPTS]
        self.proc = PROCS.start("mariadbd", argv, os.path.join(self.dir, "mariadbd.out"))
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise BenchError("mariadbd exited with %s:\n%s" % (self.proc.returncode, tail(self.log)))
            r = subprocess.run([MARIADB_CLI, "--no-defaults", "-S", self.socket, "-uroot", "-e", "SELECT 1"],
                               capture_output=True, timeout=30)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise BenchError("mariadbd not ready in 120 s:\n%s" % tail(self.log))
            time.sleep(0.2)
        self.sql("DELETE FROM mysql.global_priv WHERE User = '';"
                 "FLUSH PRIVILEGES;"
                 "CREATE DATABASE %s;"
                 "CREATE USER '%s'@'%%' IDENTIFIED VIA mysql_native_password USING PASSWORD('%s');"
                 "GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%';"
                 "CREATE USER 'cutover'@'%%' IDENTIFIED VIA mysql_native_password USING PASSWORD('cutoverpass');"
                 "GRANT ALL PRIVILEGES ON *.* TO 'cutover'@'%%' WITH GRANT OPTION;"
                 % (SB_DB, SB_USER, SB_PASSWORD, SB_USER))

    def sql(self, text):
        r = subprocess.run([MARIADB_CLI, "--no-defaults", "-S", self.socket, "-uroot", "-N", "-B", "-e", text],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError("SQL failed: %s\n%s" % (text, r.stderr))
        return r.stdout


class HAProxy:
    def __init__(self, backend_port, name="haproxy"):
        self.dir = os.path.join(WORK, name)
        self.port = free_port()
        self.backend_port = backend_port
        self.log = os.path.join(self.dir, "haproxy.out")
        self.proc = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("global\n"
                    "    nbthread 1\n"
                    "    maxconn 4000\n"
                    "defaults\n"
                    "    mode tcp\n"
                    "    timeout connect 5s\n"
                    "    timeout client 1h\n"
                    "    timeout server 1h\n"
                    "listen mysql\n"
                    "    bind 127.0.0.1:%d\n"
                    "    maxconn 4000\n"
                    "    server db 127.0.0.1:%d\n" % (self.port, self.backend_port))
        self.proc = PROCS.start("haproxy", [HAPROXY, "-db", "-f", cfg], self.log)
        wait_port(self.port, self.proc, "haproxy", self.log)


class Admin:
    """One admin-socket connection: one JSON line in, one out."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.rfile = self.sock.makefile("rb")

    def cmd(self, line, timeout=30):
        self.sock.settimeout(timeout)
        self.sock.sendall(line.encode() + b"\n")
        try:
            reply = self.rfile.readline()
        except socket.timeout:
            raise BenchError("admin socket: no reply to %r in %d s" % (line, timeout))
        if not reply:
            raise BenchError("admin socket closed after %r" % line)
        return json.loads(reply)

    def close(self):
        self.rfile.close()
        self.sock.close()


class Cutoverd:
    def __init__(self, backend_port, name="cutoverd", tls=None, cutover=(), log_level="warning"):
        self.dir = os.path.join(WORK, name)
        self.port = free_port()
        self.backend_port = backend_port
        self.tls = tls              # (cert, key) or None
        self.cutover = cutover      # more "key = value" lines for [cutover]
        self.log_level = log_level
        self.log = os.path.join(self.dir, "cutoverd.log")
        self.admin_socket = os.path.join(self.dir, "admin.sock")
        self.proc = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        ini = os.path.join(self.dir, "cutoverd.ini")
        with open(ini, "w") as f:
            f.write("[proxy]\n"
                    "listen = 127.0.0.1:%d\n"
                    "admin_socket = %s\n" % (self.port, self.admin_socket))
            if self.tls:
                f.write("client_tls = optional\n"
                        "client_tls_cert = %s\n"
                        "client_tls_key = %s\n" % self.tls)
            f.write("[backend]\n"
                    "host = 127.0.0.1\n"
                    "port = %d\n"
                    "[cutover]\n"
                    "user = cutover\n"
                    "password = cutoverpass\n" % self.backend_port)
            for line in self.cutover:
                f.write(line + "\n")
            f.write("[log]\n"
                    "level = %s\n"
                    "file = %s\n" % (self.log_level, self.log))
        self.proc = PROCS.start("cutoverd", [CUTOVERD, "-c", ini], os.path.join(self.dir, "cutoverd.stderr"))
        wait_port(self.port, self.proc, "cutoverd", os.path.join(self.dir, "cutoverd.stderr"), timeout=15)


# --------------------------------------------------------------------------
# sysbench
# --------------------------------------------------------------------------

def sysbench_argv(workload, port, threads, seconds, command="run", tables=None, table_size=None):
    return [SYSBENCH, workload, "--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-port=%d" % port,
            "--mysql-user=" + SB_USER, "--mysql-password=" + SB_PASSWORD, "--mysql-db=" + SB_DB,
            "--tables=%d" % (TABLES if tables is None else tables),
            "--table-size=%d" % (TABLE_SIZE if table_size is None else table_size), "--threads=%d" % threads,
            "--time=%d" % seconds, "--report-interval=0", "--percentile=95", command]


SB_PATTERNS = {
    "transactions": r"transactions:\s+(\d+)\s+\(([\d.]+) per sec",
    "queries": r"queries:\s+(\d+)\s+\(([\d.]+) per sec",
    "errors": r"ignored errors:\s+(\d+)",
    "reconnects": r"reconnects:\s+(\d+)",
    "p95": r"95th percentile:\s+([\d.]+)",
    "avg": r"avg:\s+([\d.]+)",
}


def parse_sysbench(text):
    out = {}
    for key, pat in SB_PATTERNS.items():
        m = re.search(pat, text)
        if not m:
            raise BenchError("sysbench output has no %s:\n%s" % (key, text[-2000:]))
        if key in ("transactions", "queries"):
            out[key] = int(m.group(1))
            out[key[0] + "ps"] = float(m.group(2))     # tps, qps
        elif key in ("errors", "reconnects"):
            out[key] = int(m.group(1))
        else:
            out[key + "_ms"] = float(m.group(1))
    return out


def sysbench_run(workload, port, seconds, tag, watch=()):
    """One sysbench run; returns its figures plus the CPU seconds that each
    process in `watch` (name, pid) used meanwhile, per second of run."""
    logfile = os.path.join(WORK, "sysbench", "%s.log" % tag)
    before = {name: cpu_seconds(pid) for name, pid in watch}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = busy_seconds()
    t0 = time.monotonic()
    r = subprocess.run(sysbench_argv(workload, port, THREADS, seconds), capture_output=True, text=True,
                       timeout=seconds + 120)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1 = busy_seconds()
    busy, irq = busy1[0] - busy0[0], busy1[1] - busy0[1]
    with open(logfile, "w") as f:
        f.write(r.stdout + r.stderr)
    if r.returncode != 0:
        raise BenchError("sysbench %s (%s) failed with exit %d:\n%s" % (workload, tag, r.returncode,
                                                                        (r.stdout + r.stderr)[-2000:]))
    res = parse_sysbench(r.stdout)
    res["cpu_sysbench"] = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / wall
    ours = res["cpu_sysbench"]
    for name, pid in watch:
        used = cpu_seconds(pid) - before[name]
        res["cpu_" + name] = used / wall                       # cores busy
        res["cpu_us_per_query_" + name] = used * 1e6 / max(res["queries"], 1)
        ours += res["cpu_" + name]
    # Interrupt work (loopback TCP runs much of its receive path in
    # softirq), and whatever else kept the machine busy meanwhile: other
    # processes, a noise indicator.
    res["cpu_irq"] = irq / wall
    res["cpu_other"] = max(0.0, busy / wall - ours)
    return res


# --------------------------------------------------------------------------
# A MySQL client that logs in and then does nothing (memory figure)
# --------------------------------------------------------------------------

CLIENT_LONG_PASSWORD = 0x1
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PLUGIN_AUTH = 0x80000


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise BenchError("connection closed during login")
        buf += chunk
    return buf


def _read_packet(sock):
    h = _recv_exact(sock, 4)
    n = h[0] | h[1] << 8 | h[2] << 16
    return h[3], _recv_exact(sock, n)


def _write_packet(sock, seq, payload):
    sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload)


def _native_scramble(password, salt):
    if not password:
        return b""
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(salt + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


def mysql_login(port, user, password, db, tls_ctx=None):
    """Open a session on 127.0.0.1:port, log in with mysql_native_password
    (over TLS when tls_ctx is given), send one COM_PING, and return the
    socket, left idle."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        seq, p = _read_packet(sock)
        if p[0] == 0xFF:
            raise BenchError("server refused: %r" % p[3:])
        i = p.index(b"\0", 1) + 1                  # after server version
        salt = p[i + 4:i + 12]
        i += 13
        caps = struct.unpack_from("<H", p, i)[0]
        i += 2 + 1 + 2                             # charset, status
        caps |= struct.unpack_from("<H", p, i)[0] << 16
        i += 2
        salt_len = p[i]
        i += 1 + 10
        n2 = max(13, salt_len - 8)
        salt += p[i:i + n2].rstrip(b"\0")
        want = (CLIENT_LONG_PASSWORD | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
                | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH)
        if tls_ctx is not None:
            if not caps & CLIENT_SSL:
                raise BenchError("server on %d does not offer TLS" % port)
            want |= CLIENT_SSL
        flags = want & caps | CLIENT_PROTOCOL_41
        head = struct.pack("<IIB23x", flags, 1 << 24, 45)   # utf8mb4_general_ci
        seq += 1
        if tls_ctx is not None:
            _write_packet(sock, seq, head)
            seq += 1
            sock = tls_ctx.wrap_socket(sock, server_hostname=None)
        auth = _native_scramble(password, salt[:20])
        body = (head + user.encode() + b"\0" + bytes([len(auth)]) + auth + db.encode() + b"\0"
                + b"mysql_native_password\0")
        _write_packet(sock, seq, body)
        while True:
            seq, p = _read_packet(sock)
            if p[0] == 0x00:
                break
            if p[0] == 0xFF:
                raise BenchError("login refused: %s" % p[9:].decode("utf-8", "replace"))
            if p[0] == 0xFE:                                   # auth switch
                j = p.index(b"\0", 1)
                plugin = p[1:j].decode()
                if plugin != "mysql_native_password":
                    raise BenchError("auth switch to %s not supported here" % plugin)
                _write_packet(sock, seq + 1, _native_scramble(password, p[j + 1:j + 21]))
                continue
            raise BenchError("unexpected login reply 0x%02x" % p[0])
        _write_packet(sock, 0, b"\x0e")                          # COM_PING
        _, p = _read_packet(sock)
        if p[0] != 0x00:
            raise BenchError("COM_PING failed")
        return sock
    except BaseException:
        sock.close()
        raise


def idle_memory(pid, port, tls_ctx, n):
    """RSS of `pid` before and after `n` idle sessions on `port`."""
    warm = mysql_login(port, SB_USER, SB_PASSWORD, SB_DB, tls_ctx)
    warm.close()
    time.sleep(0.5)
    before = proc_status(pid, "VmRSS")
    socks = []
    t0 = time.monotonic()
    try:
        for _ in range(n):
            socks.append(mysql_login(port, SB_USER, SB_PASSWORD, SB_DB, tls_ctx))
        elapsed = time.monotonic() - t0
        time.sleep(1.0)
        after = proc_status(pid, "VmRSS")
    finally:
        for s in socks:
            s.close()
    time.sleep(1.0)
    closed = proc_status(pid, "VmRSS")
    return {"sessions": n, "rss_before_kib": before, "rss_after_kib": after, "rss_closed_kib": closed,
            "kib_per_session": (after - before) / n, "connect_seconds": elapsed}


def make_cert(d):
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"], os.path.join(d, "openssl.log"), timeout=60)
    return cert, key


# --------------------------------------------------------------------------
# perf
# --------------------------------------------------------------------------

PERF_EVENTS = ["task-clock", "context-switches", "raw_syscalls:sys_enter", "syscalls:sys_enter_read",
               "syscalls:sys_enter_write", "syscalls:sys_enter_readv", "syscalls:sys_enter_writev",
               "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_sendto", "syscalls:sys_enter_epoll_wait",
               "syscalls:sys_enter_epoll_ctl", "syscalls:sys_enter_ioctl"]


def perf_usable():
    if PERF == "0" or not PERF_BIN:
        if PERF == "1":
            raise BenchError("BENCH_PERF=1 but perf is not installed (apt-get install linux-perf)")
        return False
    r = subprocess.run([PERF_BIN, "stat", "-e", "task-clock", "--", "true"], capture_output=True, timeout=30)
    if r.returncode != 0:
        if PERF == "1":
            raise BenchError("perf does not work here:\n" + r.stderr.decode("utf-8", "replace"))
        return False
    return True


def profile(name, pid, port, workload):
    """During one `workload` run against `port`: perf stat (syscalls,
    context switches) of process `pid` for PROFILE_TIME s, then perf record
    for as long.  `name` names the output files."""
    d = os.path.join(WORK, "perf")
    os.makedirs(d, exist_ok=True)
    seconds = 2 * PROFILE_TIME + 4
    sb = subprocess.Popen(sysbench_argv(workload, port, THREADS, seconds),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          preexec_fn=_die_with_parent)
    record_pid(sb.pid)
    try:
        time.sleep(1.5)
        stat_file = os.path.join(d, name + ".stat")
        r = subprocess.run([PERF_BIN, "stat", "-x,", "-o", stat_file, "-p", str(pid),
                            "-e", ",".join(PERF_EVENTS), "--", "sleep", str(PROFILE_TIME)],
                           capture_output=True, text=True, timeout=PROFILE_TIME + 60)
        if r.returncode != 0:
            # tracepoints may be unavailable; keep going with the basics
            subprocess.run([PERF_BIN, "stat", "-x,", "-o", stat_file, "-p", str(pid),
                            "-e", "task-clock,context-switches", "--", "sleep", str(PROFILE_TIME)],
                           capture_output=True, text=True, timeout=PROFILE_TIME + 60)
        data = os.path.join(d, name + ".data")
        subprocess.run([PERF_BIN, "record", "-F", "1999", "-o", data, "-p", str(pid), "--", "sleep",
                        str(PROFILE_TIME)], capture_output=True, timeout=PROFILE_TIME + 60)
        out, _ = sb.communicate(timeout=seconds + 120)
    finally:
        if sb.poll() is None:
            sb.kill()
            sb.wait()
        forget_pid(sb.pid)
    sbres = parse_sysbench(out)
    counters = {}
    try:
        with open(stat_file) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) < 3 or line.startswith("#"):
                    continue
                try:
                    counters[parts[2]] = float(parts[0])
                except ValueError:
                    pass
    except OSError:
        pass
    queries = sbres["qps"] * PROFILE_TIME
    per_query = {}
    for ev, v in counters.items():
        key = ev.replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "syscalls (all)")
        if ev == "task-clock":
            per_query["cpu us"] = v * 1000 / queries          # task-clock is in ms
        else:
            per_query[key] = v / queries
    rep = subprocess.run([PERF_BIN, "report", "-i", data, "--stdio", "--no-children", "--percent-limit", "0.05",
                          "--sort", "dso,symbol"], capture_output=True, text=True, timeout=300)
    top = []
    for line in rep.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*?)[\s-]*$", line)
        if m:
            top.append({"percent": float(m.group(1)), "dso": m.group(2), "symbol": m.group(4),
                        "kernel": m.group(3) == "k"})
    repdso = subprocess.run([PERF_BIN, "report", "-i", data, "--stdio", "--no-children", "--sort", "dso"],
                            capture_output=True, text=True, timeout=300)
    dsos = []
    for line in repdso.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s*$", line)
        if m:
            dsos.append({"percent": float(m.group(1)), "dso": m.group(2)})
    return {"qps": sbres["qps"], "p95_ms": sbres["p95_ms"], "per_query": per_query, "top": top[:20],
            "top_user": [e for e in top if not e["kernel"]][:15], "dso": dsos[:10]}


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def med(rows, key):
    return statistics.median(r[key] for r in rows)


def summarize(results):
    summary = {}
    for wl in WORKLOADS:
        summary[wl] = {}
        for t in TARGETS:
            rows = results[wl][t]
            if not rows:
                continue
            s = {"tps": med(rows, "tps"), "qps": med(rows, "qps"), "p95_ms": med(rows, "p95_ms"),
                 "avg_ms": med(rows, "avg_ms"), "errors": sum(r["errors"] for r in rows),
                 "reconnects": sum(r["reconnects"] for r in rows),
                 "tps_min": min(r["tps"] for r in rows), "tps_max": max(r["tps"] for r in rows),
                 "cpu_server": med(rows, "cpu_mariadbd"), "cpu_client": med(rows, "cpu_sysbench"),
                 "cpu_other": med(rows, "cpu_other"), "cpu_other_max": max(r["cpu_other"] for r in rows)}
            if t != "direct":
                s["cpu_relay"] = med(rows, "cpu_relay")
                s["cpu_us_per_query_relay"] = med(rows, "cpu_us_per_query_relay")
            summary[wl][t] = s
        d, h, c = (summary[wl].get(t) for t in TARGETS)
        if c and d and h:
            summary[wl]["ratios"] = {
                "tps_cutoverd_direct": c["tps"] / d["tps"], "tps_cutoverd_haproxy": c["tps"] / h["tps"],
                "p95_cutoverd_direct": c["p95_ms"] / d["p95_ms"], "p95_cutoverd_haproxy": c["p95_ms"] / h["p95_ms"],
                "tps_haproxy_direct": h["tps"] / d["tps"], "p95_haproxy_direct": h["p95_ms"] / d["p95_ms"],
            }
    return summary


def render(meta, summary, memory, perf):
    L = []
    L.append("cutoverd benchmark, %s" % meta["date"])
    L.append("machine: %s, %d cores (%s), %s, kernel %s" % (meta["host"], meta["cores"], meta["cpu"],
                                                            meta["memory"], meta["kernel"]))
    if meta.get("note"):
        L.append("note: %s" % meta["note"])
    L.append("load average at start: %s" % meta["loadavg_at_start"])
    L.append("cutoverd: %s (%s)" % (meta["cutoverd"], meta["cutoverd_rev"]))
    L.append("server: %s; %s; %s" % (meta["mariadb"], meta["haproxy"], meta["sysbench"]))
    L.append("server options: %s" % " ".join(MARIADB_OPTS))
    L.append("  (innodb_flush_log_at_trx_commit=2 and skip-log-bin: not durable, tuned to measure the relay)")
    L.append("haproxy: mode tcp, nbthread 1.  cutoverd: log level warning, client and backend TLS off.")
    L.append("sysbench: %d threads, %d tables x %d rows, %d s per run, %d rounds interleaved "
             "(direct, haproxy, cutoverd, the order turning by one each round), prepared statements (db-ps-mode auto); figures are medians "
             "over rounds" % (THREADS, TABLES, TABLE_SIZE, TIME, ROUNDS))
    L.append("everything on one machine over loopback: sysbench, the relay and mariadbd share the cores")
    L.append("")
    hdr = "%-18s %-9s %10s %10s %8s %8s %7s %7s %7s %7s %9s %6s" % (
        "workload", "target", "tps", "qps", "p95 ms", "avg ms", "relay", "server", "client", "other", "relay",
        "errors")
    sub = "%-18s %-9s %10s %10s %8s %8s %7s %7s %7s %7s %9s %6s" % (
        "", "", "", "", "", "", "cores", "cores", "cores", "cores", "us/query", "")
    L.append(hdr)
    L.append(sub)
    L.append("-" * len(hdr))
    for wl in WORKLOADS:
        for t in TARGETS:
            s = summary[wl].get(t)
            if not s:
                L.append("%-18s %-9s %s" % (wl, t, "(no result)"))
                continue
            L.append("%-18s %-9s %10.1f %10.1f %8.2f %8.2f %7s %7.2f %7.2f %7.2f %9s %6d" % (
                wl, t, s["tps"], s["qps"], s["p95_ms"], s["avg_ms"],
                "%.2f" % s["cpu_relay"] if "cpu_relay" in s else "-", s["cpu_server"], s["cpu_client"],
                s["cpu_other"],
                "%.1f" % s["cpu_us_per_query_relay"] if "cpu_us_per_query_relay" in s else "-",
                s["errors"]))
    L.append("cores: CPU time of the relay (haproxy or cutoverd), mariadbd and sysbench over the run's wall")
    L.append("time, all threads (this machine has %d); other: the rest of the machine's busy time (other" % meta["cores"])
    L.append("processes, unattributed kernel work): high values mean a noisy run; relay us/query: relay CPU")
    L.append("time per query")
    L.append("")
    L.append("ratios (throughput: higher is better, 1.00 = as fast; p95: lower is better, 1.00 = as low)")
    L.append("%-18s %18s %18s %18s %18s %18s" % ("workload", "tps cutover/direct", "tps cutover/hapr.",
                                                "p95 cutover/direct", "p95 cutover/hapr.", "tps hapr./direct"))
    for wl in WORKLOADS:
        r = summary[wl].get("ratios")
        if r:
            L.append("%-18s %18.3f %18.3f %18.3f %18.3f %18.3f" % (
                wl, r["tps_cutoverd_direct"], r["tps_cutoverd_haproxy"], r["p95_cutoverd_direct"],
                r["p95_cutoverd_haproxy"], r["tps_haproxy_direct"]))
    L.append("")
    L.append("per-round tps (spread; a round with much 'other' CPU was disturbed by something else):")
    for wl in WORKLOADS:
        for t in TARGETS:
            s = summary[wl].get(t)
            if s:
                L.append("  %-18s %-9s min %9.1f  max %9.1f  (%+5.1f%% .. %+5.1f%% of median)  other cores "
                         "max %.2f" % (wl, t, s["tps_min"], s["tps_max"], 100 * (s["tps_min"] / s["tps"] - 1),
                                       100 * (s["tps_max"] / s["tps"] - 1), s["cpu_other_max"]))
    L.append("")
    L.append("memory per idle session (%d sessions logged in, one COM_PING each, then idle; VmRSS):"
             % IDLE_CONNS)
    for name, m in memory.items():
        if "error" in m:
            L.append("  %-22s %s" % (name, m["error"]))
            continue
        L.append("  %-22s %7.1f KiB/session   (RSS %d KiB idle -> %d KiB with %d sessions -> %d KiB after "
                 "they closed)" % (name, m["kib_per_session"], m["rss_before_kib"], m["rss_after_kib"],
                                   m["sessions"], m["rss_closed_kib"]))
    if perf:
        L.append("")
        L.append("profile of the relay process during a run of each workload (ps: oltp_point_select, rw:")
        L.append("oltp_read_write), %d threads, perf windows of %d s:" % (THREADS, PROFILE_TIME))
        L.append("  (counts per query are perf stat counts / (sysbench qps x window); samples are cpu-clock:")
        L.append("  without a hardware PMU, time spent with interrupts off lands on the irq-restore symbol)")
        names = list(perf)
        keys = []
        for n in names:
            for k in perf[n]["per_query"]:
                if k not in keys:
                    keys.append(k)
        L.append("  %-18s" % "per query" + "".join("%12s" % n.split()[0] for n in names))
        L.append("  %-18s" % "" + "".join("%12s" % n.split()[1] for n in names))
        L.append("  %-18s" % "qps during profile" + "".join("%12.0f" % perf[n]["qps"] for n in names))
        for k in keys:
            if all(perf[n]["per_query"].get(k, 0) < 0.005 for n in names):
                continue
            L.append("  %-18s" % k + "".join("%12.2f" % perf[n]["per_query"].get(k, float("nan"))
                                             for n in names))
        for n in names:
            if not n.endswith(" ps"):
                continue            # symbols of the rw runs: in the .json
            L.append("")
            L.append("  %s: CPU samples by object" % n.replace(" ps", ", oltp_point_select"))
            for e in perf[n]["dso"]:
                L.append("    %6.2f%%  %s" % (e["percent"], e["dso"]))
            L.append("  top symbols")
            for e in perf[n]["top"]:
                L.append("    %6.2f%%  %-28s %s" % (e["percent"], e["dso"][:28], e["symbol"]))
            L.append("  top user-space symbols (percent of all samples)")
            for e in perf[n]["top_user"]:
                L.append("    %6.2f%%  %-28s %s" % (e["percent"], e["dso"][:28], e["symbol"]))
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def meta_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.0f GiB RAM" % (int(f.readline().split()[1]) / 1048576)
    except OSError:
        pass
    rev = "?"
    try:
        r = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True,
                           text=True, timeout=10)
        if r.returncode == 0:
            rev = r.stdout.strip()
    except Exception:
        pass
    if os.environ.get("BENCH_BUILT") == "1":
        rev = "built by bench/run from the working tree, git %s" % rev
    else:
        rev = "given by CUTOVERD; the working tree is at git %s" % rev
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    return {"note": os.environ.get("BENCH_NOTE", ""), "loadavg_at_start": load, "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "host": platform.node(), "cores": os.cpu_count(), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "cutoverd": CUTOVERD, "cutoverd_rev": rev,
            "mariadb": version_of([MARIADBD, "--version"]), "haproxy": version_of([HAPROXY, "-v"]),
            "sysbench": version_of([SYSBENCH, "--version"])}


def main():
    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    os.makedirs(os.path.join(WORK, "sysbench"), exist_ok=True)
    started = time.monotonic()
    meta = meta_info()
    failures = []

    db = MariaDB()
    log("starting mariadbd on 127.0.0.1:%d (%s)" % (db.port, " ".join(MARIADB_OPTS)))
    db.start()
    log("sysbench prepare: %d tables x %d rows" % (TABLES, TABLE_SIZE))
    run(sysbench_argv("oltp_read_write", db.port, min(TABLES, 8), 0, "prepare"),
        os.path.join(WORK, "sysbench", "prepare.log"), timeout=1800)
    db.sql("ANALYZE TABLE " + ",".join("%s.sbtest%d" % (SB_DB, i + 1) for i in range(TABLES)))

    hap = HAProxy(db.port)
    hap.start()
    cut = Cutoverd(db.port)
    cut.start()
    ports = {"direct": db.port, "haproxy": hap.port, "cutoverd": cut.port}
    relay_pid = {"haproxy": hap.proc.pid, "cutoverd": cut.proc.pid}
    log("haproxy on %d, cutoverd on %d" % (hap.port, cut.port))

    for t in TARGETS:
        sysbench_run("oltp_point_select", ports[t], WARMUP, "warmup-" + t)

    results = {wl: {t: [] for t in TARGETS} for wl in WORKLOADS}
    for wl in WORKLOADS:
        for rnd in range(1, ROUNDS + 1):
            # the order turns by one each round, so that no target always
            # runs first or last (a server settling, a noisy neighbour)
            k = (rnd - 1) % len(TARGETS)
            for t in TARGETS[k:] + TARGETS[:k]:
                watch = [("mariadbd", db.proc.pid)]
                if t in relay_pid:
                    watch.append(("relay", relay_pid[t]))
                tag = "%s-%s-%d" % (wl, t, rnd)
                try:
                    res = sysbench_run(wl, ports[t], TIME, tag, watch)
                except (BenchError, subprocess.TimeoutExpired) as e:
                    failures.append("%s: %s" % (tag, e))
                    log("FAILED %s: %s" % (tag, str(e).splitlines()[0]))
                    continue
                results[wl][t].append(res)
                log("%-36s tps %9.1f  qps %10.1f  p95 %7.2f ms%s" % (
                    tag, res["tps"], res["qps"], res["p95_ms"],
                    "  relay %.2f cores" % res["cpu_relay"] if "cpu_relay" in res else ""))
        for t, proc in (("haproxy", hap.proc), ("cutoverd", cut.proc)):
            if proc.poll() is not None:
                raise BenchError("%s died during %s (exit %s)" % (t, wl, proc.returncode))

    perf = {}
    if perf_usable():
        for wl in WORKLOADS:
            for t in ("haproxy", "cutoverd"):
                name = "%s %s" % (t, WORKLOAD_SHORT[wl])
                log("profiling %s during %s (%d s)" % (t, wl, 2 * PROFILE_TIME + 4))
                try:
                    perf[name] = profile(name.replace(" ", "-"), relay_pid[t], ports[t], wl)
                except (BenchError, subprocess.TimeoutExpired) as e:
                    failures.append("profile %s: %s" % (name, e))

    # Memory: fresh processes, so that what the sysbench runs left in their
    # heaps does not blur the figure.
    PROCS.stop(cut.proc)
    PROCS.stop(hap.proc)
    memory = {}
    cert, key = make_cert(os.path.join(WORK, "tls"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for name, make, tls in (("cutoverd plain", lambda: Cutoverd(db.port, "cutoverd-mem"), None),
                            ("cutoverd TLS", lambda: Cutoverd(db.port, "cutoverd-mem-tls", (cert, key)), ctx),
                            ("haproxy plain", lambda: HAProxy(db.port, "haproxy-mem"), None)):
        srv = make()
        srv.start()
        log("memory: %d idle sessions through %s" % (IDLE_CONNS, name))
        try:
            memory[name] = idle_memory(srv.proc.pid, srv.port, tls, IDLE_CONNS)
        except (BenchError, OSError, ssl.SSLError) as e:
            memory[name] = {"error": "failed: %s" % e}
            failures.append("memory %s: %s" % (name, e))
        PROCS.stop(srv.proc)

    summary = summarize(results)
    text = render(meta, summary, memory, perf)
    if failures:
        text += "\nFAILURES:\n" + "\n".join("  " + f.replace("\n", "\n    ") for f in failures) + "\n"
    text += "\n(total run time %.0f s)\n" % (time.monotonic() - started)
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    with open(OUT, "w") as f:
        f.write(text)
    jpath = os.path.splitext(OUT)[0] + ".json"
    with open(jpath, "w") as f:
        json.dump({"meta": meta, "settings": {"time": TIME, "rounds": ROUNDS, "threads": THREADS,
                                              "tables": TABLES, "table_size": TABLE_SIZE,
                                              "idle_conns": IDLE_CONNS, "mariadb_opts": MARIADB_OPTS},
                   "runs": results, "summary": summary, "memory": memory, "profile": perf,
                   "failures": failures}, f, indent=2)
    log("written %s and %s" % (OUT, jpath))
    return 1 if failures else 0


def run_main(main):
    """Run a benchmark's main(): its exit status; 2 when it broke (BenchError,
    said on stderr), 130 when interrupted; every process it started is
    stopped whatever the end."""
    try:
        return main()
    except BenchError as e:
        log("error: %s" % e)
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        PROCS.stop_all()


if __name__ == "__main__":
    sys.exit(run_main(main))
