#!/usr/bin/python3
"""
cutover.py - the body of bench/cutover: what clients feel when a table is
switched under them (issue 4), for cutoverd's deploy cutover / revert and
for pt-online-schema-change's table swap, on the same table under the same
workload.

Run it through bench/cutover, which installs what is missing, builds
cutoverd and cleans up after it.  The server, the process bookkeeping and
sysbench's command line come from bench.py; the probe client uses PyMySQL.

  1. cutoverd: sysbench oltp_read_write (BENCH_THREADS threads) and the
     probe run through cutoverd; `deploy create sbtest.sbtest1 ADD COLUMN
     note VARCHAR(64) NULL`, wait for `ready`, then BENCH_SWITCHES times
     `deploy cutover`, BENCH_TIME s, `deploy revert`, BENCH_TIME s; then
     `deploy finalize` (drops the table that is no longer live), still
     under load.  pause_ms and attempts come from the replies and from
     `deploy show`'s history.
  2. pt-osc: the same load and probe through the same cutoverd (no deploy
     of ours); BENCH_PTOSC_RUNS runs of pt-online-schema-change --execute
     against the backend directly, each ending in its RENAME TABLE swap
     (and the drop of the old table); the ALTER alternates between ADD
     COLUMN note and DROP COLUMN note.  The switch starts when its
     "Swapping tables..." line arrives (pt-osc flushes every line; each is
     time-stamped as it arrives); its pause is the RENAME's Query_time in
     the server's slow log (the RENAME of cutoverd's control connection is
     read from there too).

The probe (`cutover.py --probe`, a process of its own): PyMySQL through
cutoverd, back to back, BEGIN; UPDATE sbtest1 SET k = k + 1 WHERE id = ?;
SELECT c FROM sbtest1 WHERE id = ?; COMMIT, on a random id; each with its
start (CLOCK_MONOTONIC, the clock of this script too), its latency and its
outcome (ok, or the error code and message).  sysbench runs with
--report-interval=1 --percentile=100 --mysql-ignore-errors=all: every
second its slowest transaction, its errors and reconnects; each report line
is time-stamped as it arrives, and covers the second before.  What the
errors were comes from the server's SQL error log (the sql_errlog plugin;
sysbench, the probe and pt-osc use accounts of their own) and from the
commands cutoverd's log says it refused.
"""

import os
import sys

# A sibling of this file is named like the standard library's `copy`
# module: look for modules in this folder last, so that `import copy` (done
# by PyMySQL, among others) gets the standard one.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here] + [_here]

SB_USER, SB_PASSWORD, SB_DB = "sbtest", "sbpass", "sbtest"     # bench.py's
PROBE_USER, PROBE_PASSWORD = "probe", "probepass"               # its own account: its errors apart
TABLE = "sbtest1"


# --------------------------------------------------------------------------
# The probe client (its own process: `cutover.py --probe PORT ROWS OUT`)
# --------------------------------------------------------------------------

def probe_main(port, rows, out_path):
    import random
    import signal
    import time
    import pymysql

    def on_term(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    rnd = random.Random(4)
    conn = None
    lost = (2006, 2013, 2014, 2055)
    with open(out_path, "w", buffering=1 << 16) as f:
        while True:
            i = rnd.randint(1, rows)
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = pymysql.connect(host="127.0.0.1", port=port, user=PROBE_USER, password=PROBE_PASSWORD,
                                           database=SB_DB, autocommit=True, connect_timeout=10,
                                           read_timeout=60, write_timeout=60)
                with conn.cursor() as c:
                    c.execute("BEGIN")
                    c.execute("UPDATE %s SET k = k + 1 WHERE id = %d" % (TABLE, i))
                    c.execute("SELECT c FROM %s WHERE id = %d" % (TABLE, i))
                    c.fetchall()
                    c.execute("COMMIT")
                status = "ok"
            except pymysql.err.MySQLError as e:
                code = e.args[0] if e.args and isinstance(e.args[0], int) else 0
                msg = str(e.args[1]) if len(e.args) > 1 else str(e)
                status = "E%d %s" % (code, " ".join(msg.split())[:300])
                if conn is not None and (code in lost or code == 0 or isinstance(e, pymysql.err.InterfaceError)):
                    try:
                        conn.close()
                    except Exception:
                        pass
                    conn = None
                elif conn is not None:
                    try:
                        conn.rollback()
                    except pymysql.err.MySQLError:
                        try:
                            conn.close()
                        except Exception:
                            pass
                        conn = None
            t1 = time.monotonic()
            f.write("%.6f %.3f %s\n" % (t0, (t1 - t0) * 1000.0, status))


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--probe":
    try:
        probe_main(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    except SystemExit:
        pass
    sys.exit(0)


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------

import calendar  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import bench as B  # noqa: E402
from bench import BenchError, log  # noqa: E402

ROWS = B.env_int("BENCH_TABLE_SIZE", 100000, lo=1000)
THREADS = B.env_int("BENCH_THREADS", 8)
TABLES = B.env_int("BENCH_TABLES", 1)      # sysbench's tables; the deploy and pt-osc change sbtest1
GAP = B.env_int("BENCH_TIME", 4, lo=2)
SWITCHES = B.env_int("BENCH_SWITCHES", 5)
PTOSC_RUNS = B.env_int("BENCH_PTOSC_RUNS", 5, lo=0)
OUT = os.environ["BENCH_OUT"]
JSON_OUT = os.path.splitext(OUT)[0] + ".json"

DB = SB_DB
ALTER_ADD = "ADD COLUMN note VARCHAR(64) NULL"
ALTER_DROP = "DROP COLUMN note"
WINDOW = 1.0                    # seconds either side of a switch for "worst op" and errors
PLOT_W = max(1.5, min(3.0, GAP - 1.0))  # seconds either side of a switch in the plot
READY_TIMEOUT = 600
CREATE_TRIES = 3                # deploy requests that fail before `ready` (a failure) before giving up
SWITCH_TIMEOUT = 180
PTOSC_TIMEOUT = 600
CUT_USER = "cutover"                                  # cutoverd's [cutover] account (bench.py's)
PT_USER, PT_PASSWORD = "ptosc", "ptoscpass"           # pt-osc's own account (ALL PRIVILEGES): its statements apart

PT_OSC = shutil.which("pt-online-schema-change", path="/usr/bin:/usr/local/bin") or "/usr/bin/pt-online-schema-change"
PT_OSC_OPTS = ["--no-version-check", "--execute"]      # everything else at its defaults
GNUPLOT = shutil.which("gnuplot", path="/usr/bin:/usr/local/bin") or "/usr/bin/gnuplot"
PYTHON = "/usr/bin/python3"


def mono():
    return time.monotonic()


class Piped:
    """A process whose output lines are time-stamped as they arrive."""

    def __init__(self, name, argv, logfile):
        self.name = name
        self.lines = []         # (monotonic time, text)
        self.log = open(logfile, "w")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, cwd=B.WORK, preexec_fn=B._die_with_parent)
        self.t0 = mono()
        B.record_pid(self.p.pid)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stdout:
            now = mono()
            text = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append((now, text))
            self.log.write("%10.3f %s\n" % (now - self.t0, text))
            self.log.flush()

    def alive(self):
        return self.p.poll() is None

    def _end(self):
        self.reader.join(10)
        self.p.stdout.close()
        self.log.close()
        B.forget_pid(self.p.pid)

    def wait(self, timeout):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = None
        self._end()
        return rc

    def stop(self):
        """SIGTERM (then SIGKILL); True if it was still running."""
        alive = self.alive()
        if alive:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._end()
        return alive

    def tail(self, n=20):
        return "\n".join(t for _, t in self.lines[-n:])


# --------------------------------------------------------------------------
# Load: sysbench and the probe
# --------------------------------------------------------------------------

SB_LINE = re.compile(r"\[ *(\d+)s \] thds: (\d+) tps: ([\d.]+) qps: ([\d.]+) .*?lat \(ms,100%\): ([\d.]+) "
                     r"err/s: ([\d.]+) reconn/s: ([\d.]+)")


class Load:
    """sysbench oltp_read_write and the probe, both through `port`."""

    def __init__(self, port, tag):
        self.tag = tag
        argv = B.sysbench_argv("oltp_read_write", port, THREADS, 3600, tables=TABLES, table_size=ROWS)
        argv = [a for a in argv if not a.startswith(("--report-interval=", "--percentile="))]
        argv[-1:-1] = ["--report-interval=1", "--percentile=100", "--mysql-ignore-errors=all"]
        self.sb_argv = argv
        self.probe_out = os.path.join(B.WORK, "probe-%s.txt" % tag)
        self.probe_argv = [PYTHON, os.path.abspath(__file__), "--probe", str(port), str(ROWS), self.probe_out]
        self.sb = self.probe = None

    def start(self):
        self.sb = Piped("sysbench", self.sb_argv, os.path.join(B.WORK, "sysbench-%s.log" % self.tag))
        self.probe = B.PROCS.start("probe", self.probe_argv, os.path.join(B.WORK, "probe-%s.log" % self.tag))
        self.check()

    def check(self):
        if not self.sb.alive():
            raise BenchError("sysbench (%s) exited (%s):\n%s" % (self.tag, self.sb.p.returncode, self.sb.tail()))
        if self.probe.poll() is not None:
            raise BenchError("the probe (%s) exited (%s):\n%s" % (self.tag, self.probe.returncode,
                                                                 B.tail(os.path.join(B.WORK, "probe-%s.log" % self.tag))))

    def stop(self):
        """Stop both; (sysbench seconds, probe operations, failures)."""
        failures = []
        if not self.sb.stop():
            failures.append("sysbench (%s) had stopped before the end (exit %s):\n%s" % (
                self.tag, self.sb.p.returncode, self.sb.tail()))
        probe_alive = self.probe.poll() is None
        B.PROCS.stop(self.probe)
        if not probe_alive:
            failures.append("the probe (%s) had stopped before the end (exit %s):\n%s" % (
                self.tag, self.probe.returncode, B.tail(os.path.join(B.WORK, "probe-%s.log" % self.tag))))
        secs = []
        for t, text in self.sb.lines:
            m = SB_LINE.search(text)
            if m:
                secs.append({"t1": t, "t0": t - 1.0, "sec": int(m.group(1)), "tps": float(m.group(3)),
                             "lat_max_ms": float(m.group(5)), "errors": float(m.group(6)),
                             "reconnects": float(m.group(7))})
        ops = []
        with open(self.probe_out) as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 2)
                if len(parts) == 3:
                    ops.append((float(parts[0]), float(parts[1]), parts[2]))
        return secs, ops, failures


STAT_KEYS = ("connections_total", "server_errors", "proxy_errors", "held_commands", "refused_writes")


def proxy_stats(admin):
    r = admin.cmd("stats")
    return {k: r.get(k, 0) for k in STAT_KEYS}


def stats_delta(a, b):
    return {k: b[k] - a[k] for k in STAT_KEYS}


def status_var(db, name):
    out = db.sql("SHOW GLOBAL STATUS LIKE '%s'" % name).split()
    return int(out[1]) if len(out) >= 2 else 0


def has_note(db):
    return db.sql("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' "
                  "AND TABLE_NAME = '%s' AND COLUMN_NAME = 'note'" % (DB, TABLE)).strip() == "1"


def tables(db):
    """The tables of DB other than sysbench's sbtest2.. (BENCH_TABLES > 1)."""
    out = db.sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s'" % DB)
    others = set("sbtest%d" % i for i in range(2, TABLES + 1))
    return sorted(t for t in out.split("\n") if t and t not in others)


class ErrLog:
    """Every error the server returned to the load, with the statement, from MariaDB's SQL error log
    plugin (sql_errlog; its times are to the second), and the client commands cutoverd refused
    (its log, to the millisecond).  sysbench itself only counts its errors."""

    LINE = re.compile(r"^(\d{4}-\d\d-\d\d) +(\d{1,2}:\d\d:\d\d) (\S+)\[[^\]]*\] @ \S* \[([^\]]*)\] "
                      r"ERROR (\d+): (.*)$")
    CUT = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)Z \w+ (S\d+) (.*)$")

    def __init__(self, db, cut_log):
        db.sql("INSTALL SONAME 'sql_errlog'")
        self.path = os.path.join(db.datadir, "sql_errors.log")
        self.cut_log = cut_log
        self.off = time.time() - mono()     # wall clock minus monotonic

    def read(self):
        """[{t0, t1, user, code, msg, query}] in monotonic time."""
        out = []
        try:
            with open(self.path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            m = self.LINE.match(line)
            if not m:
                continue
            epoch = time.mktime(time.strptime(m.group(1) + " " + m.group(2), "%Y-%m-%d %H:%M:%S"))
            msg, _, query = m.group(6).partition(" : ")
            code = int(m.group(5))
            if code in (1158, 1159, 1160, 1161) and query == "(null)":
                continue    # a client that went away (the load stopped): nothing a client saw
            user = m.group(3)
            if user == PT_USER and m.group(4) == "%":
                user = "trigger"    # a client's statement, inside pt-osc's trigger (its definer)
            out.append({"t0": epoch - self.off, "t1": epoch + 1.0 - self.off, "user": user,
                        "code": code, "msg": msg, "query": query})
        users = {}
        try:
            with open(self.cut_log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            m = self.CUT.match(line)
            if not m:
                continue
            rest = m.group(4)
            a = re.match(r"authenticated user '([^']*)'", rest)
            if a:
                users[m.group(3)] = a.group(1)
                continue
            r = re.match(r"refused command 0x[0-9a-f]+: (.*)$", rest)
            if r:
                epoch = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float(m.group(2))
                out.append({"t0": epoch - self.off, "t1": epoch - self.off, "user": users.get(m.group(3), "?"),
                            "code": 0, "msg": r.group(1), "query": "(refused by cutoverd: the client's command)"})
        return out


CLIENT_USERS = {"sbtest": "sysbench", "probe": "probe", "trigger": "sysbench or probe, in pt-osc's trigger"}


def error_kind(e):
    q = re.sub(r"\d+", "N", " ".join(e["query"].split()))
    who = CLIENT_USERS.get(e["user"], e["user"])
    if e["code"] == 0:
        return "%s: cutoverd refused the command: %s" % (who, e["msg"][:160])
    what = ("cutoverd's mirror statement" if "_shadow" in q else
            "pt-osc's trigger statement" if e["user"] == "trigger" else "statement")
    return "%s: E%d %s | %s: %s" % (who, e["code"], e["msg"][:70], what, q[:90])


def sleep_checked(load, seconds):
    end = mono() + seconds
    while True:
        load.check()
        left = end - mono()
        if left <= 0:
            return
        time.sleep(min(0.25, left))


class SlowLog:
    """The statements of one account with their durations: sessions that connect while
    long_query_time is 0 log every statement; the load's sessions (connected before) do not.
    cutoverd opens a control connection for each cut-over or revert, pt-osc one per run."""

    def __init__(self, db, user):
        self.db = db
        self.user = user
        self.path = os.path.join(db.dir, "slow.log")
        self.pos = 0
        db.sql("SET GLOBAL slow_query_log_file = '%s', long_query_time = 10, slow_query_log = ON" % self.path)

    def begin(self):
        self.pos = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        self.db.sql("SET GLOBAL long_query_time = 0")

    def end(self):
        """[(seconds, statement)] of the account since begin()."""
        self.db.sql("SET GLOBAL long_query_time = 10")
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        out = []
        for block in re.split(r"^# User@Host: ", text, flags=re.M)[1:]:
            if not block.startswith(self.user + "["):
                continue
            m = re.search(r"# Query_time: ([\d.]+)", block)
            body = [ln for ln in block.splitlines()[1:] if ln and not ln.startswith("#")
                    and not ln.startswith(("SET timestamp=", "use "))]
            if m and body:
                out.append((float(m.group(1)), " ".join(body)))
        return out


def renames(stmts):
    return [x for x in stmts if x[1].upper().startswith("RENAME TABLE")]


# --------------------------------------------------------------------------
# Phase 1: cutoverd
# --------------------------------------------------------------------------

def phase_cutoverd(db, cut):
    res = {"tool": "cutoverd", "switches": [], "failures": []}
    slow = SlowLog(db, CUT_USER)
    admin = B.Admin(cut.admin_socket)
    load = Load(cut.port, "cutoverd")
    dl0 = status_var(db, "Innodb_deadlocks")
    st0 = proxy_stats(admin)
    t_lead = mono()
    load.start()
    try:
        sleep_checked(load, GAP)
        res["steady"] = (t_lead + 1.5, mono())
        for attempt in range(1, CREATE_TRIES + 1):
            t0 = mono()
            r = admin.cmd("deploy create %s.%s %s" % (DB, TABLE, ALTER_ADD), timeout=300)
            if not r.get("ok"):
                raise BenchError("deploy create refused: %s" % r.get("error"))
            did = r["id"]
            res["deploy_id"] = did
            log("cutoverd: deploy %d created, copying %d rows under load" % (did, ROWS))
            while True:
                s = admin.cmd("deploy show %d" % did)
                if not s.get("ok"):
                    raise BenchError("deploy show %d: %s" % (did, s.get("error")))
                if s["state"] in ("ready", "failed", "cancelled"):
                    break
                if mono() - t0 > READY_TIMEOUT:
                    raise BenchError("deploy %d not ready after %d s (%s)" % (did, READY_TIMEOUT, s["state"]))
                load.check()
                time.sleep(0.1)
            if s["state"] == "ready":
                break
            # something broke; note it, and try again with a new deploy request
            res["failures"].append("deploy %d (on the way to ready, under load) ended %s: %s" % (
                did, s["state"], s.get("error", "")))
            log("FAILED deploy %d: %s: %s" % (did, s["state"], s.get("error", "")))
            for _ in range(50):                 # it drops its shadow table
                left = [t for t in tables(db) if t != TABLE]
                if not left:
                    break
                time.sleep(0.1)
            else:
                raise BenchError("deploy %d %s and left %s" % (did, s["state"], ", ".join(left)))
            if attempt == CREATE_TRIES:
                raise BenchError("%d deploy requests failed on the way to ready" % CREATE_TRIES)
            sleep_checked(load, 1)
        res["copy"] = (t0, mono())
        res["ready_s"] = mono() - t0
        res["mirrored"] = s.get("mirrored")
        log("cutoverd: ready after %.1f s; %d cut-overs and reverts, %d s apart" % (res["ready_s"], SWITCHES, GAP))
        sleep_checked(load, GAP)
        for n in range(1, SWITCHES + 1):
            for kind, verb, want in (("cut-over", "cutover", "complete"), ("revert", "revert", "reverted")):
                sa = proxy_stats(admin)
                slow.begin()
                t0 = mono()
                r = admin.cmd("deploy %s %d" % (verb, did), timeout=SWITCH_TIMEOUT)
                t1 = mono()
                ren = renames(slow.end())
                sb = proxy_stats(admin)
                sw = {"kind": kind, "n": n, "t0": t0, "t1": t1, "reply": r, "proxy": stats_delta(sa, sb),
                      "pause_ms": r.get("pause_ms"), "attempts": r.get("attempts"),
                      "rename_ms": [x[0] * 1000.0 for x in ren]}
                if not r.get("ok") or r.get("state") != want:
                    res["failures"].append("deploy %s %d (%s %d): %s" % (verb, did, kind, n, r))
                    log("FAILED deploy %s %d: %s" % (verb, did, r))
                    sw["failed"] = True
                else:
                    note = has_note(db)
                    if note != (kind == "cut-over"):
                        res["failures"].append("after %s %d sbtest1 %s column note" % (
                            kind, n, "has the" if note else "lacks the"))
                    # newer builds record the drain and the RENAME of each attempt
                    hist = admin.cmd("deploy show %d" % did).get("history") or []
                    if hist and hist[-1].get("outcome") == "ok":
                        sw["drain_ms"] = hist[-1].get("drain_ms")
                        sw["quiet_ms"] = hist[-1].get("quiet_wait_ms")
                        sw["rename_ms_own"] = hist[-1].get("rename_ms")
                    log("cutoverd: %-8s %d: pause %.2f ms, %d attempt(s), command %.1f ms" % (
                        kind, n, r["pause_ms"], r["attempts"], (t1 - t0) * 1000))
                res["switches"].append(sw)
                sleep_checked(load, GAP)
                if sw.get("failed"):
                    break
            if res["switches"] and res["switches"][-1].get("failed"):
                break
        s = admin.cmd("deploy show %d" % did)
        res["history"] = s.get("history", [])
        res["show"] = {k: v for k, v in s.items() if k != "history"}
        # the end of the revert window, under load: drops the table that is not live
        t0 = mono()
        r = admin.cmd("deploy finalize %d" % did, timeout=SWITCH_TIMEOUT)
        t1 = mono()
        res["finalize"] = {"t0": t0, "t1": t1, "reply": r}
        if not r.get("ok"):
            res["failures"].append("deploy finalize %d: %s" % (did, r))
        log("cutoverd: finalize %.1f ms: %s" % ((t1 - t0) * 1000, json.dumps(r)))
        sleep_checked(load, min(GAP, 2))
    finally:
        secs, ops, fails = load.stop()
        res["failures"] += fails
        res["span"] = (t_lead, mono())
    res["proxy"] = stats_delta(st0, proxy_stats(admin))
    admin.close()
    res["deadlocks"] = status_var(db, "Innodb_deadlocks") - dl0
    res["secs"], res["ops"] = secs, ops
    left = tables(db)
    if left != [TABLE]:
        res["failures"].append("after deploy finalize, tables in %s: %s" % (DB, ", ".join(left)))
    return res


# --------------------------------------------------------------------------
# Phase 2: pt-online-schema-change, the application still through cutoverd
# --------------------------------------------------------------------------

PT_MARKS = {"Copying approximately": "copy", "Swapping tables...": "swap0",
            "Swapped original and new tables OK": "swap1", "Dropping old table": "drop0",
            "Dropped old table": "drop1"}


def cleanup_pt_osc(db):
    for trg in db.sql("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = '%s'"
                      % DB).split():
        db.sql("DROP TRIGGER `%s`.`%s`" % (DB, trg))
    for t in tables(db):
        if t != TABLE:
            db.sql("DROP TABLE `%s`.`%s`" % (DB, t))


def phase_pt_osc(db, cut):
    res = {"tool": "pt-osc", "switches": [], "failures": [], "runs": []}
    slow = SlowLog(db, PT_USER)
    admin = B.Admin(cut.admin_socket)
    load = Load(cut.port, "pt-osc")
    dl0 = status_var(db, "Innodb_deadlocks")
    st0 = proxy_stats(admin)
    t_lead = mono()
    load.start()
    try:
        sleep_checked(load, GAP)
        res["steady"] = (t_lead + 1.5, mono())
        for n in range(1, PTOSC_RUNS + 1):
            alter = ALTER_DROP if has_note(db) else ALTER_ADD
            dsn = "h=127.0.0.1,P=%d,u=%s,p=%s,D=%s,t=%s" % (db.port, PT_USER, PT_PASSWORD, DB, TABLE)
            argv = [PT_OSC, "--alter", alter] + PT_OSC_OPTS + [dsn]
            sa = proxy_stats(admin)
            slow.begin()
            p = Piped("pt-osc", argv, os.path.join(B.WORK, "pt-osc-%d.log" % n))
            rc = p.wait(PTOSC_TIMEOUT)
            t_end = mono()
            stmts = slow.end()
            sb = proxy_stats(admin)
            marks = {}
            for t, text in p.lines:
                for mark, key in PT_MARKS.items():
                    if mark in text and key not in marks:
                        marks[key] = t
            ren = renames(stmts)
            drops = [x for x in stmts if x[1].upper().startswith("DROP TABLE") and "_old" in x[1]]
            run = {"n": n, "alter": alter, "t0": p.t0, "t_end": t_end, "rc": rc, "marks": marks,
                   "rename_s": [x[0] for x in ren], "drop_s": [x[0] for x in drops],
                   "output": [("%.3f" % (t - p.t0), x) for t, x in p.lines], "proxy": stats_delta(sa, sb)}
            res["runs"].append(run)
            if rc != 0 or "swap0" not in marks or "swap1" not in marks:
                res["failures"].append("pt-online-schema-change run %d (%s) %s:\n%s" % (
                    n, alter, "exited with %s" % rc if rc != 0 else "reported no swap", p.tail(25)))
                log("FAILED pt-osc run %d: exit %s" % (n, rc))
                cleanup_pt_osc(db)
            else:
                # The RENAME's own duration from the server's slow log (pt-osc's lines can
                # reach us together when this machine is busy); its start from pt-osc's line.
                lines_ms = (marks["swap1"] - marks["swap0"]) * 1000.0
                pause = ren[-1][0] * 1000.0 if ren else lines_ms
                sw = {"kind": "pt-osc swap", "n": n, "t0": marks["swap0"],
                      "t1": max(marks["swap1"], marks["swap0"] + pause / 1000.0),
                      "pause_ms": pause, "pause_from": "slow log" if ren else "output lines",
                      "lines_ms": lines_ms, "rename_ms": [x[0] * 1000.0 for x in ren], "attempts": len(ren) or None,
                      "alter": alter, "proxy": run["proxy"]}
                if drops:
                    sw["drop_ms"] = drops[-1][0] * 1000.0
                elif "drop0" in marks and "drop1" in marks:
                    sw["drop_ms"] = (marks["drop1"] - marks["drop0"]) * 1000.0
                res["switches"].append(sw)
                log("pt-osc: run %d (%s): %.1f s, RENAME %.1f ms (%s), drop of the old table %s" % (
                    n, alter, t_end - p.t0, sw["pause_ms"], sw["pause_from"],
                    "%.1f ms" % sw["drop_ms"] if "drop_ms" in sw else "?"))
                left = tables(db)
                if left != [TABLE]:
                    res["failures"].append("after pt-osc run %d, tables in %s: %s" % (n, DB, ", ".join(left)))
                    cleanup_pt_osc(db)
            sleep_checked(load, GAP)
    finally:
        secs, ops, fails = load.stop()
        res["failures"] += fails
        res["span"] = (t_lead, mono())
    res["proxy"] = stats_delta(st0, proxy_stats(admin))
    admin.close()
    res["deadlocks"] = status_var(db, "Innodb_deadlocks") - dl0
    res["secs"], res["ops"] = secs, ops
    return res


# --------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------

def ops_between(ops, lo, hi):
    """Probe operations that overlap [lo, hi] (start, latency ms, status)."""
    return [o for o in ops if o[0] <= hi and o[0] + o[1] / 1000.0 >= lo]


def secs_between(secs, lo, hi):
    return [s for s in secs if s["t0"] < hi and s["t1"] > lo]


def window(sw, ops, secs, errs_sb, w=WINDOW):
    lo, hi = sw["t0"] - w, sw["t1"] + w
    o = ops_between(ops, lo, hi)
    s = secs_between(secs, lo, hi)
    worst = max(o, key=lambda x: x[1]) if o else None
    errs = [x for x in o if x[2] != "ok"]
    during = ops_between(ops, sw["t0"], sw["t1"])
    sbe = [error_kind(e) for e in errs_sb if e["t0"] <= hi and e["t1"] >= lo]
    return {"probe_ops": len(o), "probe_worst_ms": worst[1] if worst else None,
            "probe_during_ms": max((x[1] for x in during), default=None), "probe_during_ops": len(during),
            "error_kinds": count_kinds([(0, 0, k) for k in sbe]),   # to the second
            "probe_worst_at": worst[0] - sw["t0"] if worst else None,
            "probe_errors": len(errs), "probe_error_samples": sorted(set(x[2] for x in errs))[:5],
            "sb_worst_ms": max((x["lat_max_ms"] for x in s), default=None),
            "sb_errors": int(round(sum(x["errors"] for x in s))),
            "sb_reconnects": int(round(sum(x["reconnects"] for x in s)))}


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def span_stats(ops, secs, spans):
    spans = [(lo, hi) for lo, hi in spans if hi > lo]
    o = [x for x in ops if any(lo <= x[0] <= hi for lo, hi in spans)]
    lat = [x[1] for x in o]
    s = [x for x in secs if any(x["t0"] < hi and x["t1"] > lo for lo, hi in spans)]   # seconds it overlaps
    return {"seconds": sum(hi - lo for lo, hi in spans), "probe_ops": len(o), "probe_p50_ms": pct(lat, 50), "probe_p99_ms": pct(lat, 99),
            "probe_max_ms": max(lat, default=None), "probe_errors": sum(1 for x in o if x[2] != "ok"),
            "sb_tps": statistics.mean(x["tps"] for x in s) if s else None,
            "sb_worst_ms": max((x["lat_max_ms"] for x in s), default=None),
            "sb_errors": int(round(sum(x["errors"] for x in s)))}


def analyze(ph, errlog):
    ops, secs = ph["ops"], ph["secs"]
    lo, hi = ph.get("span", (0, 0))
    # errors to the second: a second belongs to the phase that holds its middle
    ph["errors_clients"] = [e for e in errlog if e["user"] in CLIENT_USERS
                            and lo <= (e["t0"] + e["t1"]) / 2 <= hi]
    sb_errs = ph["errors_clients"]
    for sw in ph["switches"]:
        sw["window"] = window(sw, ops, secs, sb_errs)
    if "finalize" in ph:
        ph["finalize"]["window"] = window(ph["finalize"], ops, secs, sb_errs)
    ph["steady_stats"] = span_stats(ops, secs, [ph["steady"]])
    if "copy" in ph:
        ph["copy_stats"] = span_stats(ops, secs, [ph["copy"]])
    if ph.get("runs"):
        ph["copy_stats"] = span_stats(ops, secs, [(r["t0"], r["t_end"]) for r in ph["runs"]])
    errs = [x for x in ops if x[2] != "ok"]
    ph["totals"] = {"probe_ops": len(ops), "probe_errors": len(errs),
                    "probe_error_kinds": count_kinds(errs),
                    "sb_seconds": len(secs), "sb_errors": int(round(sum(x["errors"] for x in secs))),
                    "error_kinds": count_kinds([(0, 0, error_kind(e)) for e in sb_errs]),
                    "sb_reconnects": int(round(sum(x["reconnects"] for x in secs))),
                    "sb_tps": statistics.mean(x["tps"] for x in secs) if secs else None}


def count_kinds(errs):
    kinds = {}
    for x in errs:
        kinds[x[2]] = kinds.get(x[2], 0) + 1
    return kinds


def row_stats(sws):
    ok = [s for s in sws if not s.get("failed")]
    pauses = [s["pause_ms"] for s in ok if s.get("pause_ms") is not None]
    rens = [s["rename_ms"][-1] for s in ok if s.get("rename_ms")]
    drains = [s["drain_ms"] for s in ok if s.get("drain_ms") is not None]
    quiets = [s["quiet_ms"] for s in ok if s.get("quiet_ms") is not None]
    pw = [s["window"]["probe_worst_ms"] for s in ok if s["window"]["probe_worst_ms"] is not None]
    pd = [s["window"]["probe_during_ms"] for s in ok if s["window"]["probe_during_ms"] is not None]
    sw = [s["window"]["sb_worst_ms"] for s in ok if s["window"]["sb_worst_ms"] is not None]
    return {"switches": len(ok), "failed": len(sws) - len(ok),
            "pause_median": statistics.median(pauses) if pauses else None, "pause_max": max(pauses, default=None),
            "rename_median": statistics.median(rens) if rens else None, "rename_max": max(rens, default=None),
            "drain_median": statistics.median(drains) if drains else None, "drain_max": max(drains, default=None),
            "quiet_median": statistics.median(quiets) if quiets else None, "quiet_max": max(quiets, default=None),
            "probe_worst_max": max(pw, default=None), "probe_worst_median": statistics.median(pw) if pw else None,
            "probe_during_max": max(pd, default=None),
            "probe_during_median": statistics.median(pd) if pd else None,
            "sb_worst_max": max(sw, default=None), "sb_worst_median": statistics.median(sw) if sw else None,
            "probe_errors": sum(s["window"]["probe_errors"] for s in ok),
            "sb_errors": sum(s["window"]["sb_errors"] for s in ok),
            "sb_reconnects": sum(s["window"]["sb_reconnects"] for s in ok),
            "attempts_max": max((s["attempts"] or 1 for s in ok), default=None)}


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def f1(x, unit=""):
    return "-" if x is None else ("%.1f%s" % (x, unit))


def render(meta, cu, pt, rows):
    out = []
    w = out.append
    w("bench/cutover - clients during a table switch: cutoverd's cut-over and revert against")
    w("pt-online-schema-change's swap, sysbench oltp_read_write + a probe client, through cutoverd")
    w("")
    w("date %s, host %s, %s cores (%s), %s" % (meta["date"], meta["host"], meta["cores"], meta["cpu"], meta["memory"]))
    w("load average at start: %s" % meta["loadavg_at_start"])
    w("cutoverd %s (%s)" % (meta["cutoverd"], meta["cutoverd_rev"]))
    w("%s; %s; %s" % (meta["mariadb"], meta["sysbench"], meta["pt_osc"]))
    if meta.get("note"):
        w("note: %s" % meta["note"])
    w("sysbench oltp_read_write, %d threads, %d table%s x %d rows (the deploy and pt-osc on sbtest1), through "
      "cutoverd; probe: 1 PyMySQL client, BEGIN/UPDATE/SELECT/COMMIT back to back" % (
          THREADS, TABLES, "" if TABLES == 1 else "s", ROWS))
    w("%d s between switches; 'around' = from %.0f s before a switch starts to %.0f s after it ends" % (
        GAP, WINDOW, WINDOW))
    w("")
    fmt = "%-20s %9s %8s %8s %10s %10s %11s %12s %6s"
    w(fmt % ("", "switches", "pause ms", "pause ms", "worst op", "worst op", "worst txn", "errors", "recon-"))
    w(fmt % ("tool", "", "median", "max", "during ms", "around ms", "around ms", "around", "nects"))
    w(fmt % ("", "", "", "", "(probe)", "(probe)", "(sysbench)", "probe/sysb.", ""))
    for label, r in rows:
        w(fmt % (label, "%d%s" % (r["switches"], "+%d failed" % r["failed"] if r["failed"] else ""),
                 f1(r["pause_median"]), f1(r["pause_max"]), f1(r["probe_during_max"]), f1(r["probe_worst_max"]),
                 f1(r["sb_worst_max"]), "%d/%d" % (r["probe_errors"], r["sb_errors"]), "%d" % r["sb_reconnects"]))
    w("  pause: cutoverd's pause_ms (gate closed to released, in the attempt that swapped); pt-osc: its")
    w("  RENAME TABLE's Query_time in the server's slow log (waiting for its lock included)")
    for label, r in rows:
        if label.startswith("cutoverd, all") and r["rename_median"] is not None:
            w("  of cutoverd's pause, its RENAME TABLE (slow log): median %s ms, max %s ms" % (
                f1(r["rename_median"]), f1(r["rename_max"])))
            if r["drain_median"] is not None:
                w("  and the drain (deploy show's history): median %s ms, max %s ms" % (
                    f1(r["drain_median"]), f1(r["drain_max"])))
            if r["quiet_median"] is not None:
                w("  before the pause, the wait for a moment with no transaction on the table (nothing held):")
                w("  median %s ms, max %s ms" % (f1(r["quiet_median"]), f1(r["quiet_max"])))
    w("  worst op during: the slowest probe transaction that overlapped the switch (the deploy command")
    w("  from sent to answered; pt-osc's RENAME); around: within %.0f s of it, either side (the probe's" % WINDOW)
    w("  slowest transaction, and sysbench's per-second maximum); errors and reconnects: around the")
    w("  switches, all summed (sysbench counts what --mysql-ignore-errors=all let it go on after)")
    rc, rp = dict(rows).get("cutoverd, all"), dict(rows).get("pt-osc swap")
    if rc and rp:
        def ratio(a, b):
            return "-" if a is None or b is None or b <= 0 else "%.1f" % (a / b)
        w("")
        w("ratios pt-osc / cutoverd (max over switches; median over switches in brackets):")
        w("  worst probe op during the switch %s (%s), around it %s (%s); worst sysbench txn around it %s (%s)" % (
            ratio(rp["probe_during_max"], rc["probe_during_max"]),
            ratio(rp["probe_during_median"], rc["probe_during_median"]),
            ratio(rp["probe_worst_max"], rc["probe_worst_max"]),
            ratio(rp["probe_worst_median"], rc["probe_worst_median"]),
            ratio(rp["sb_worst_max"], rc["sb_worst_max"]), ratio(rp["sb_worst_median"], rc["sb_worst_median"])))
    w("")
    w("per switch: pause ms (its drain ms when cutoverd records it, its RENAME ms), attempts, command ms |")
    w("worst probe op during it | around it: worst probe op ms (its start, s from the switch's), worst")
    w("sysbench ms, errors probe/sysbench, reconnects | cutoverd's counters during the command: commands")
    w("held, server errors + its own errors, new connections; below a line, the errors clients got around")
    w("it: the server's SQL error log (sql_errlog; to the second, and an error of a prepared statement may")
    w("be there twice) and the commands cutoverd refused (its log)")
    for ph in (cu, pt):
        for s in ph["switches"]:
            wd = s["window"]
            extra = ""
            if s["kind"] == "pt-osc swap":
                extra = "  (%s; old table dropped in %s ms)" % (s["alter"].split(" VARCHAR")[0], f1(s.get("drop_ms")))
            pr = s.get("proxy", {})
            ren = s.get("rename_ms") or []
            w("  %-11s %d: %6s (%5s %5s) %2s %6.1f | %6s | %6s (%+.2f) %6s %2d/%-3d %d | held %d, errors %d+%d, "
              "conns %d%s%s" % (
                  s["kind"], s["n"], f1(s.get("pause_ms")), f1(s.get("drain_ms")), f1(ren[-1]) if ren else "-",
                  s.get("attempts") or "-",
                  (s["t1"] - s["t0"]) * 1000, f1(wd["probe_during_ms"]), f1(wd["probe_worst_ms"]),
                  wd["probe_worst_at"] or 0.0, f1(wd["sb_worst_ms"]), wd["probe_errors"], wd["sb_errors"],
                  wd["sb_reconnects"], pr.get("held_commands", 0), pr.get("server_errors", 0),
                  pr.get("proxy_errors", 0), pr.get("connections_total", 0), extra,
                  "  FAILED" if s.get("failed") else ""))
            for e, c in sorted(wd["error_kinds"].items()):
                w("      %3d x %s" % (c, e))
    fin = cu.get("finalize")
    if fin:
        wd = fin["window"]
        w("  finalize       %8.1f ms | worst probe op %s ms, worst sysbench %s ms, errors %d/%d (drops the "
          "table that is not live)" % ((fin["t1"] - fin["t0"]) * 1000, f1(wd["probe_worst_ms"]),
                                       f1(wd["sb_worst_ms"]), wd["probe_errors"], wd["sb_errors"]))
    retried = [h for h in cu.get("history", []) if h.get("outcome") != "ok"]
    if retried:
        w("  cutoverd attempts that did not swap (deploy show's history):")
        for h in retried:
            w("      %s" % json.dumps(h))
    w("")
    w("whole phases: probe ops, probe errors, sysbench tps, sysbench errors, reconnects, InnoDB deadlocks,")
    w("cutoverd's counters; the errors clients got, from the two logs as above")
    for ph in (cu, pt):
        t = ph["totals"]
        pr = ph["proxy"]
        w("  %-9s %7d ops %4d errors | %7.1f tps %5d errors %4d reconnects | %d deadlocks | proxy: "
          "server errors %d, proxy errors %d, held %d, refused writes %d" % (
              ph["tool"], t["probe_ops"], t["probe_errors"], t["sb_tps"] or 0, t["sb_errors"],
              t["sb_reconnects"], ph["deadlocks"], pr["server_errors"], pr["proxy_errors"],
              pr["held_commands"], pr["refused_writes"]))
        for k, v in sorted(t["probe_error_kinds"].items(), key=lambda kv: -kv[1])[:6]:
            w("      probe saw %d x %s" % (v, k))
        for k, v in sorted(t["error_kinds"].items(), key=lambda kv: -kv[1])[:8]:
            w("      %4d x %s" % (v, k))
    w("")
    w("context: probe p50 / p99 / max ms, sysbench worst ms (per-second maximum), errors probe/sysbench")
    spans = [("cutoverd, %.0f s before the deploy" % cu["steady_stats"]["seconds"], cu["steady_stats"])]
    if "copy_stats" in cu:
        spans.append(("cutoverd, copy to ready (%.1f s)" % cu["ready_s"], cu["copy_stats"]))
    if "steady_stats" in pt:
        spans.append(("pt-osc, %.0f s before its first run" % pt["steady_stats"]["seconds"], pt["steady_stats"]))
    if "copy_stats" in pt:
        spans.append(("pt-osc runs, start to exit (%.1f s in all)" % pt["copy_stats"]["seconds"],
                      pt["copy_stats"]))
    for label, s in spans:
        w("  %-46s %6s / %6s / %7s  %7s  %d/%d" % (label, f1(s["probe_p50_ms"]), f1(s["probe_p99_ms"]),
                                                 f1(s["probe_max_ms"]), f1(s["sb_worst_ms"]),
                                                 s["probe_errors"], s["sb_errors"]))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------

def plot(cu, pt, path):
    d = os.path.join(B.WORK, "plot")
    os.makedirs(d, exist_ok=True)
    series = {"cut": [], "rev": [], "pt": [], "cut_err": [], "rev_err": [], "pt_err": []}
    for ph in (cu, pt):
        for s in ph["switches"]:
            if s.get("failed"):
                continue
            key = {"cut-over": "cut", "revert": "rev", "pt-osc swap": "pt"}[s["kind"]]
            for o in ph["ops"]:
                x = o[0] - s["t0"]
                if -PLOT_W <= x <= PLOT_W:
                    series[key + ("_err" if o[2] != "ok" else "")].append((x, o[1]))
    top = max([y for v in series.values() for _, y in v] + [10.0])
    for k, v in series.items():
        with open(os.path.join(d, k + ".dat"), "w") as f:
            for x, y in v or [(float("nan"), float("nan"))]:
                f.write("%.4f %.3f\n" % (x, max(y, 0.01)))
    rc = row_stats(cu["switches"])
    rp = row_stats(pt["switches"])
    title = ("probe client through cutoverd (BEGIN; UPDATE; SELECT; COMMIT on sbtest1), sysbench oltp_read_write "
             "%d threads alongside, %d table(s) x %d rows" % (THREADS, TABLES, ROWS))
    gp = os.path.join(d, "plot.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1500,650 font ",10" noenhanced
set output "%(out)s"
set multiplot layout 1,2 title "%(title)s"
set logscale y
set yrange [0.1:%(ymax)g]
set xrange [%(lo)g:%(hi)g]
set grid
set xlabel "seconds from the start of the switch"
set ylabel "latency of each probe transaction (ms), plotted at its start"
set key top left
set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lc rgb "black"
set title "cutoverd cutover/revert (%(nc)d+%(nr)d): pause median %(pm)s ms; +-1 s: worst op %(cw)s ms, %(ce)d errors"
plot "%(d)s/cut.dat" using 1:2 with points pt 7 ps 0.35 lc rgb "#1f77b4" title "around a cut-over", \\
     "%(d)s/rev.dat" using 1:2 with points pt 7 ps 0.35 lc rgb "#2ca02c" title "around a revert", \\
     "%(d)s/cut_err.dat" using 1:2 with points pt 2 ps 1.5 lc rgb "red" title "error", \\
     "%(d)s/rev_err.dat" using 1:2 with points pt 2 ps 1.5 lc rgb "red" notitle
set title "pt-osc swap (%(np)d): RENAME median %(ppm)s ms; +-1 s: worst op %(pw)s ms, %(pe)d errors"
plot "%(d)s/pt.dat" using 1:2 with points pt 7 ps 0.35 lc rgb "#d62728" title "around a pt-osc swap", \\
     "%(d)s/pt_err.dat" using 1:2 with points pt 2 ps 1.5 lc rgb "black" title "error"
unset multiplot
""" % {"out": path, "title": title, "ymax": top * 2.0, "lo": -PLOT_W, "hi": PLOT_W, "d": d,
            "nc": sum(1 for s in cu["switches"] if s["kind"] == "cut-over" and not s.get("failed")),
            "nr": sum(1 for s in cu["switches"] if s["kind"] == "revert" and not s.get("failed")),
            "np": rp["switches"], "pm": f1(rc["pause_median"]), "cw": f1(rc["probe_worst_max"]),
            "pw": f1(rp["probe_worst_max"]), "ce": rc["probe_errors"], "pe": rp["probe_errors"],
            "ppm": f1(rp["pause_median"])})
    B.run([GNUPLOT, gp], os.path.join(d, "gnuplot.log"), timeout=120)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        raise BenchError("gnuplot wrote no %s:\n%s" % (path, B.tail(os.path.join(d, "gnuplot.log"))))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def strip(ph):
    """What goes into the JSON twin: everything but the raw series; the
    probe's operations around each switch only."""
    keep = {k: v for k, v in ph.items() if k not in ("ops", "secs")}
    keep["sysbench_seconds"] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()}
                                for s in ph["secs"]]
    near = []
    for s in ph["switches"]:
        near.append({"kind": s["kind"], "n": s["n"],
                     "ops": [(round(o[0] - s["t0"], 4), o[1], o[2]) for o in ph["ops"]
                             if -PLOT_W <= o[0] - s["t0"] <= PLOT_W]})
    keep["probe_near_switches"] = near
    return keep


def main():
    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    started = mono()
    for path, pkg in ((PT_OSC, "percona-toolkit"), (GNUPLOT, "gnuplot-nox")):
        if not os.path.exists(path):
            raise BenchError("%s not found (Debian: apt-get install %s)" % (path, pkg))
    meta = B.meta_info()
    meta.pop("haproxy", None)
    meta["pt_osc"] = B.version_of([PT_OSC, "--version"])

    db = B.MariaDB()
    log("starting mariadbd on 127.0.0.1:%d" % db.port)
    db.start()
    log("sysbench prepare: %d table(s) x %d rows" % (TABLES, ROWS))
    B.run(B.sysbench_argv("oltp_read_write", db.port, min(TABLES, 4), 0, "prepare", tables=TABLES, table_size=ROWS),
          os.path.join(B.WORK, "prepare.log"), timeout=1800)
    db.sql("ANALYZE TABLE %s.%s" % (DB, TABLE))
    db.sql("CREATE USER '%s'@'%%' IDENTIFIED VIA mysql_native_password USING PASSWORD('%s'); "
           "GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%'; "
           "CREATE USER '%s'@'%%' IDENTIFIED VIA mysql_native_password USING PASSWORD('%s'); "
           "GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%'" % (PROBE_USER, PROBE_PASSWORD, DB, PROBE_USER,
                                                         PT_USER, PT_PASSWORD, PT_USER))
    cut = B.Cutoverd(db.port, "cutoverd", cutover=("schema = _cutover",), log_level="info")
    cut.start()
    log("cutoverd on 127.0.0.1:%d" % cut.port)
    elog = ErrLog(db, cut.log)

    cu = phase_cutoverd(db, cut)
    if cut.proc.poll() is not None:
        raise BenchError("cutoverd died (exit %s):\n%s" % (cut.proc.returncode, B.tail(cut.log)))
    pt = {"tool": "pt-osc", "switches": [], "failures": [], "runs": [], "ops": [], "secs": [],
          "steady": (0, 0), "proxy": {k: 0 for k in STAT_KEYS}, "deadlocks": 0}
    if PTOSC_RUNS > 0:
        log("pt-osc: %d runs on %s.%s, the application through cutoverd" % (PTOSC_RUNS, DB, TABLE))
        pt = phase_pt_osc(db, cut)
    if cut.proc.poll() is not None:
        raise BenchError("cutoverd died (exit %s):\n%s" % (cut.proc.returncode, B.tail(cut.log)))
    errlog = elog.read()
    analyze(cu, errlog)
    analyze(pt, errlog)
    rows = [("cutoverd, cut-overs", row_stats([s for s in cu["switches"] if s["kind"] == "cut-over"])),
            ("cutoverd, reverts", row_stats([s for s in cu["switches"] if s["kind"] == "revert"])),
            ("cutoverd, all", row_stats(cu["switches"])),
            ("pt-osc swap", row_stats(pt["switches"]))]
    warnings = []
    try:
        with open(cut.log, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                if " WARNING " in line or " ERROR " in line or " refused " in line:
                    warnings.append(line)
    except OSError:
        pass
    text = render(meta, cu, pt, rows)
    if warnings:
        text += "\ncutoverd's log: %d warning, error or refusal lines, the first ones:\n" % len(warnings)
        text += "".join("  %s\n" % x for x in warnings[:10])
    plot(cu, pt, OUT)
    failures = cu["failures"] + pt["failures"]
    if failures:
        text += "\nFAILURES (something broke):\n" + "".join("  - %s\n" % x for x in failures)
    text += "\nplot: %s\ndata: %s\n(total run time %.0f s)\n" % (OUT, JSON_OUT, mono() - started)
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    with open(JSON_OUT, "w") as f:
        json.dump({"meta": meta, "settings": {"rows": ROWS, "threads": THREADS, "tables": TABLES, "gap_s": GAP,
                                              "switches": SWITCHES, "ptosc_runs": PTOSC_RUNS,
                                              "window_s": WINDOW, "alter": ALTER_ADD,
                                              "server_opts": B.MARIADB_OPTS, "pt_osc_opts": PT_OSC_OPTS},
                   "summary": dict(rows), "cutoverd": strip(cu), "pt_osc": strip(pt),
                   "cutoverd_log_warnings": warnings[:200], "failures": failures}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(B.run_main(main))
