#!/usr/bin/python3
"""
copy.py - the body of bench/copy: how fast a deploy request of cutoverd
reaches `ready` on a sysbench table, next to pt-online-schema-change doing
the same ALTER on the same table of the same server (issue 3).

Run it through bench/copy, which installs what is missing, builds cutoverd
and cleans up after it.  Standard library only; the server, the process
bookkeeping and sysbench's command line come from bench.py.

Each round runs both sides, the order alternating from one round to the
next; before each copy the server is brought to rest (dirty pages flushed),
so that one side's writes are not flushed on the other side's time.

Before round 1 the server copies the table once by itself (untimed
warm-up): the first copy after the prepare was slower than the others.

  cutoverd: `deploy create sbtest.sbtest1 <ALTER>` on the admin socket, then
            `deploy show` every POLL seconds until the state is `ready`;
            the time is from sending the create to seeing `ready`, and the
            moment `verifying` is first seen splits it into copy and verify
            (the verification runs behind the copy, on a second connection:
            `verifying` is only what is left of it after the copy and the
            index build; the moment rows_copied reaches the table's rows is
            kept as backfill_s).
            Then `deploy cancel` drops the shadow table.
  pt-osc:   pt-online-schema-change --execute --no-swap-tables
            --no-drop-new-table: new table, ALTER, triggers, the chunked
            copy, triggers dropped, the original left alone; the time is the
            process's run time, and the lines it prints (time-stamped as they
            arrive) split out the copy.  Then we drop its new table.

With BENCH_COPY_SLOWLOG=1 the sessions of the account both sides use
(cutover) get long_query_time=0, so the server's slow log has every
statement they ran with its duration; the report adds them up by kind.
Logging every statement slows both copies, cutoverd's more (two
connections at work): it is off by default, so that the timings are those
of the tools alone.
"""

import os
import sys

# This file is named like the standard library's `copy` module: look for
# modules in its folder last, so that an `import copy` anywhere gets the
# standard one, and `import bench` still finds bench.py.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here] + [_here]

import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import bench as B  # noqa: E402
from bench import BenchError, log

# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------

ROWS = B.env_int("BENCH_COPY_ROWS", 1000000, lo=1000)
ROUNDS = B.env_int("BENCH_COPY_ROUNDS", 3)
LOAD = os.environ.get("BENCH_COPY_LOAD", "0") == "1"
LOAD_THREADS = B.env_int("BENCH_COPY_LOAD_THREADS", 2)
LOAD_RATE = B.env_int("BENCH_COPY_LOAD_RATE", 50, lo=0)
SLOWLOG = os.environ.get("BENCH_COPY_SLOWLOG", "0") != "0"
TIMEOUT = B.env_int("BENCH_COPY_TIMEOUT", 1800, lo=10)
OUT = os.environ["BENCH_COPY_OUT"]

DB, TABLE = B.SB_DB, "sbtest1"
ALTER = "ADD COLUMN note VARCHAR(32) NULL"
CATALOG = "_cutover"
CTL_USER, CTL_PASSWORD = "cutover", "cutoverpass"     # bench.MariaDB creates it: ALL PRIVILEGES
POLL = 0.02                     # seconds between two `deploy show`
SIDES = ("cutoverd", "pt-osc")

PT_OSC = shutil.which("pt-online-schema-change", path="/usr/bin:/usr/local/bin") or "/usr/bin/pt-online-schema-change"
# Everything else at pt-osc's defaults (chunk-size 1000 to start, chunk-time
# 0.5 s, max-load Threads_running=25, critical-load Threads_running=50):
# the same start and target chunk time as cutoverd's defaults.
PT_OSC_OPTS = ["--no-version-check", "--execute", "--no-swap-tables", "--no-drop-new-table"]

# bench.py's server options, with room for the table and one copy of it in
# the buffer pool (a million sysbench rows take about 240 MB, plus the
# secondary index) and a redo log that does not force checkpoints mid-copy.
SERVER_OPTS = [o for o in B.MARIADB_OPTS
               if not o.startswith(("--innodb-buffer-pool-size=", "--innodb-log-file-size="))]
SERVER_OPTS[:0] = ["--innodb-buffer-pool-size=2G", "--innodb-log-file-size=1G"]
B.MARIADB_OPTS = SERVER_OPTS    # what bench.MariaDB starts with

SETTLE_TIMEOUT = 180            # seconds to wait for the dirty pages to be flushed
SETTLE_DIRTY = 500              # "at rest": fewer dirty pages than this


def mono():
    return time.monotonic()


# --------------------------------------------------------------------------
# Server helpers
# --------------------------------------------------------------------------

def status_var(db, name):
    out = db.sql("SHOW GLOBAL STATUS LIKE '%s'" % name).split()
    return int(out[1]) if len(out) >= 2 else 0


LOCK_VARS = ("Innodb_deadlocks", "Innodb_row_lock_waits", "Innodb_row_lock_time")


def lock_status(db):
    """InnoDB's counters of deadlocks, row lock waits and their time (ms)."""
    out = db.sql("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" % ", ".join("'%s'" % v for v in LOCK_VARS))
    vals = dict(line.split("\t") for line in out.split("\n") if "\t" in line)
    return {k: int(vals.get(k, 0)) for k in LOCK_VARS}


def global_var(db, name):
    out = db.sql("SELECT @@GLOBAL.%s" % name).strip()
    return out


def other_tables(db):
    """Tables of the sysbench schema other than the one under test."""
    out = db.sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' "
                 "AND TABLE_NAME <> '%s'" % (DB, TABLE))
    return [t for t in out.split("\n") if t]


def triggers(db):
    out = db.sql("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = '%s' "
                 "AND EVENT_OBJECT_TABLE = '%s'" % (DB, TABLE))
    return [t for t in out.split("\n") if t]


def has_column(db, table, column):
    out = db.sql("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' "
                 "AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'" % (DB, table, column))
    return out.strip() == "1"


def count_rows(db, table):
    return int(db.sql("SELECT COUNT(*) FROM `%s`.`%s`" % (DB, table)).strip())


def settle(db):
    """Flush the dirty pages the previous copy left, so that the next copy
    does not pay for them; returns the seconds it took."""
    t0 = mono()
    old = global_var(db, "innodb_max_dirty_pages_pct")
    old_cap, old_max = global_var(db, "innodb_io_capacity"), global_var(db, "innodb_io_capacity_max")
    db.sql("SET GLOBAL innodb_max_dirty_pages_pct = 0")
    # at the default innodb_io_capacity (200 pages a second) the flush of a
    # copy's pages took 100 s and more: faster while settling only
    db.sql("SET GLOBAL innodb_io_capacity_max = 40000")
    db.sql("SET GLOBAL innodb_io_capacity = 20000")
    try:
        while status_var(db, "Innodb_buffer_pool_pages_dirty") > SETTLE_DIRTY:
            if mono() - t0 > SETTLE_TIMEOUT:
                log("note: dirty pages still above %d after %d s; going on" % (SETTLE_DIRTY, SETTLE_TIMEOUT))
                break
            time.sleep(0.5)
    finally:
        db.sql("SET GLOBAL innodb_io_capacity = %s" % old_cap)
        db.sql("SET GLOBAL innodb_io_capacity_max = %s" % old_max)
        db.sql("SET GLOBAL innodb_max_dirty_pages_pct = %s" % old)
    return mono() - t0


# --------------------------------------------------------------------------
# Where the copiers' time went: the slow log with long_query_time=0
# --------------------------------------------------------------------------

class SlowLog:
    """Sessions that connect while long_query_time is 0 log every statement;
    the sessions of the load (connected before) and ours (root) do not, or
    are filtered out by user."""

    def __init__(self, db):
        self.db = db
        self.path = os.path.join(db.dir, "slow.log")
        self.pos = 0
        self.stmts = None       # since the last begin(), once end() read them

    def enable(self):
        self.db.sql("SET GLOBAL slow_query_log_file = '%s', log_slow_admin_statements = ON, "
                    "long_query_time = 10, slow_query_log = ON" % self.path)

    def begin(self):
        """From now on new sessions log every statement."""
        self.pos = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        self.stmts = None
        self.db.sql("SET GLOBAL long_query_time = 0")

    def end(self):
        """Back to normal for new sessions; the statements of the copier
        logged since begin() (read once: later calls return the same)."""
        if self.stmts is None:
            self.db.sql("SET GLOBAL long_query_time = 10")
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.pos)
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                text = ""
            self.stmts = parse_slow(text, CTL_USER)
        return self.stmts


def parse_slow(text, user):
    """The statements of `user` in a piece of MariaDB's slow log:
    (seconds, rows_examined, rows_affected, sql)."""
    out = []
    cur = None
    for line in text.splitlines():
        if line.startswith("# User@Host:"):
            if cur is not None:
                out.append(cur)
            who = line.split()[2].split("[")[0] if len(line.split()) > 2 else ""
            cur = {"user": who, "sql": []}
        elif cur is None:
            continue
        elif line.startswith("# Time:"):
            continue
        elif line.startswith("# "):
            for k, v in re.findall(r"(\w+): +(\S+)", line):
                cur[k] = v
        elif line.startswith("SET timestamp=") or line.startswith("use "):
            continue
        else:
            cur["sql"].append(line)
    if cur is not None:
        out.append(cur)
    stmts = []
    for e in out:
        if e["user"] != user or "Query_time" not in e:
            continue
        stmts.append((float(e["Query_time"]), int(e.get("Rows_examined", 0)), int(e.get("Rows_affected", 0)),
                      " ".join(e["sql"]).strip()))
    return stmts


# (label, test on the upper-cased statement), first match wins
STMT_KINDS = [
    ("copy: INSERT ... SELECT (a chunk)", lambda s: s.startswith("INSERT") and " SELECT " in s),
    ("verify: checksum of a chunk", lambda s: "BIT_XOR(" in s),
    ("chunk end: SELECT key ... LIMIT", lambda s: s.startswith("SELECT") and
        ("LIMIT 1 OFFSET" in s or "NEXT CHUNK BOUNDARY" in s)),
    ("key range: SELECT MIN(key), MAX(key)", lambda s: s.startswith("SELECT MIN(")),
    # the backfill's lock pass (gone since the INSERT locks with NOWAIT itself); the verifier's repairs
    ("lock chunk: SELECT COUNT(*) ... LOCK IN SHARE MODE", lambda s: s.startswith("SELECT COUNT(*)") and
        "LOCK IN SHARE MODE" in s),
    ("EXPLAIN (plan check)", lambda s: s.startswith("EXPLAIN")),
    ("progress: UPDATE catalog", lambda s: s.startswith("UPDATE") and ".DEPLOYS " in s),
    ("load check: Threads_running", lambda s: s.startswith(("SELECT", "SHOW")) and "'THREADS_RUNNING'" in s),
    ("SHOW WARNINGS", lambda s: s.startswith("SHOW WARNINGS")),
    ("BEGIN / COMMIT / ROLLBACK", lambda s: s.startswith(("START TRANSACTION", "COMMIT", "ROLLBACK", "BEGIN"))),
    ("triggers: CREATE / DROP TRIGGER", lambda s: s.startswith(("CREATE TRIGGER", "DROP TRIGGER"))),
    ("new table: CREATE / ALTER TABLE", lambda s: s.startswith(("CREATE TABLE", "ALTER TABLE"))),
    ("ANALYZE TABLE", lambda s: s.startswith("ANALYZE")),
]


def stmt_kind(sql):
    s = " ".join(sql.upper().split())
    for label, test in STMT_KINDS:
        if test(s):
            return label
    return "other (SHOW, SET, catalog, ...)"


def breakdown(stmts):
    """Statements added up by kind: {label: {n, seconds, rows_examined, rows_affected}}, and the
    copy chunks (rows, seconds) of the INSERT ... SELECTs."""
    kinds = {}
    chunks = []
    for secs, examined, affected, sql in stmts:
        k = stmt_kind(sql)
        e = kinds.setdefault(k, {"n": 0, "seconds": 0.0, "rows_examined": 0, "rows_affected": 0})
        e["n"] += 1
        e["seconds"] += secs
        e["rows_examined"] += examined
        e["rows_affected"] += affected
        if k.startswith("copy:"):
            chunks.append((affected, secs))
    return kinds, chunks


# --------------------------------------------------------------------------
# The light load (BENCH_COPY_LOAD=1)
# --------------------------------------------------------------------------

LOAD_LINE = re.compile(r"\[ *(\d+)s \] thds: \d+ tps: ([\d.]+) qps: ([\d.]+) .*?lat \(ms,95%\): ([\d.]+) "
                       r"err/s: ([\d.]+) reconn/s: ([\d.]+)")


LOAD_LEAD = 3                   # seconds of load before the copy starts


class Load:
    def __init__(self, port, tag):
        self.log = os.path.join(B.WORK, "sysbench", "load-%s.log" % tag)
        argv = B.sysbench_argv("oltp_read_write", port, LOAD_THREADS, TIMEOUT + 600, tables=1, table_size=ROWS)
        argv = [a for a in argv if not a.startswith("--report-interval=")]
        argv[-1:-1] = ["--report-interval=1"] + (["--rate=%d" % LOAD_RATE] if LOAD_RATE > 0 else [])
        self.argv = argv
        self.proc = None

    def start(self):
        self.proc = B.PROCS.start("sysbench load", self.argv, self.log)
        time.sleep(LOAD_LEAD)       # connected and running before the copy starts
        if self.proc.poll() is not None:
            raise BenchError("the sysbench load exited at once (%s):\n%s" % (self.proc.returncode, B.tail(self.log)))

    def stop(self):
        """Stop it; its figures while it ran, or an "error" entry."""
        alive = self.proc.poll() is None
        B.PROCS.stop(self.proc)
        with open(self.log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        rows = [m.groups() for m in LOAD_LINE.finditer(text)]
        if len(rows) > LOAD_LEAD:
            rows = rows[LOAD_LEAD:]     # the seconds before the copy started
        res = {"seconds": len(rows)}
        if rows:
            res["tps"] = statistics.mean(float(r[1]) for r in rows)
            res["qps"] = statistics.mean(float(r[2]) for r in rows)
            res["p95_ms_median"] = statistics.median(float(r[3]) for r in rows)
            res["p95_ms_max"] = max(float(r[3]) for r in rows)
            res["errors"] = sum(float(r[4]) for r in rows)
            res["reconnects"] = sum(float(r[5]) for r in rows)
        if not alive:
            res["error"] = "the load stopped before the copy ended:\n" + "\n".join(text.splitlines()[-15:])
        return res


def run_cutoverd(db, cut, timed_end, rows):
    res = {"side": "cutoverd"}
    admin = B.Admin(cut.admin_socket)
    try:
        t0 = mono()
        r = admin.cmd("deploy create %s.%s %s" % (DB, TABLE, ALTER), timeout=300)
        t_reply = mono()
        if not r.get("ok"):
            raise BenchError("deploy create refused: %s" % r.get("error"))
        did = r["id"]
        t_verify = t_ready = t_backfilled = None
        samples = []
        last_sample = -1.0
        chunk_seen = []
        while True:
            s = admin.cmd("deploy show %d" % did)
            now = mono()
            if not s.get("ok"):
                raise BenchError("deploy show %d: %s" % (did, s.get("error")))
            st = s["state"]
            if st == "copying":
                chunk_seen.append(s.get("chunk_rows", 0))
                if t_backfilled is None and s.get("rows_copied", 0) >= rows:
                    t_backfilled = now
            if st in ("verifying", "ready") and t_verify is None:
                t_verify = now
            if st == "ready":
                t_ready = now
                timed_end()
                final = s
                break
            if st in ("failed", "cancelled"):
                raise BenchError("deploy %d ended %s: %s" % (did, st, s.get("error", "")))
            if now - last_sample >= 1.0:
                last_sample = now
                samples.append({"t": round(now - t0, 2), "state": st, "rows_copied": s.get("rows_copied"),
                                "chunk_rows": s.get("chunk_rows"), "copy_rate": s.get("copy_rate"),
                                "throttled": s.get("throttled"), "throttle_reason": s.get("throttle_reason"),
                                "lock_retries": s.get("lock_retries"), "verify_chunks": s.get("verify_chunks"),
                                "rows_verified": s.get("rows_verified")})
            if now - t0 > TIMEOUT:
                admin.cmd("deploy cancel %d" % did, timeout=300)
                raise BenchError("deploy %d not ready after %d s (%s, %s rows copied)" % (
                    did, TIMEOUT, st, s.get("rows_copied")))
            time.sleep(POLL)
        res.update({
            "seconds": t_ready - t0, "setup_s": t_reply - t0, "copy_s": t_verify - t_reply,
            "verify_s": t_ready - t_verify, "id": did,
            "backfill_s": (t_backfilled or t_verify) - t_reply, "rows": final["rows_copied"],
            "rows_total_estimate": final.get("rows_total"), "chunk_rows_final": final.get("chunk_rows"),
            "chunk_rows_seen": sorted(set(chunk_seen)), "lock_retries": final.get("lock_retries"),
            "verify_chunks": final.get("verify_chunks"), "verify_mismatches": final.get("verify_mismatches"),
            "mirrored": final.get("mirrored"), "refused": final.get("refused"),
            "target_chunk_ms": final.get("target_chunk_ms"),
            "max_threads_running": final.get("max_threads_running"),
            "copy_started": final.get("copy_started"), "ready_at": final.get("ready_at"),
            "shadow_table": final.get("shadow_table"), "samples": samples})
        # what the shadow holds, outside the timed part
        shadow = final.get("shadow_table")
        res["new_table_rows"] = count_rows(db, shadow)
        res["new_table_has_column"] = has_column(db, shadow, "note")
        t1 = mono()
        r = admin.cmd("deploy cancel %d" % did, timeout=600)
        res["cancel_s"] = mono() - t1
        if not r.get("ok") or r.get("state") != "cancelled":
            raise BenchError("deploy cancel %d: %s" % (did, r))
    finally:
        admin.close()
    left = other_tables(db)
    if left:
        raise BenchError("after deploy cancel, tables left in %s: %s" % (DB, ", ".join(left)))
    return res


# --------------------------------------------------------------------------
# pt-online-schema-change
# --------------------------------------------------------------------------

PT_MARKS = {"Creating new table": "t_new_table", "Creating triggers": "t_triggers",
            "Copying approximately": "t_copy", "Copied rows OK": "t_copied", "Dropping triggers": "t_drop_triggers"}


def pt_osc_argv(port):
    dsn = "h=127.0.0.1,P=%d,u=%s,p=%s,D=%s,t=%s" % (port, CTL_USER, CTL_PASSWORD, DB, TABLE)
    return [PT_OSC, "--alter", ALTER] + PT_OSC_OPTS + [dsn]


def run_pt_osc(db, timed_end, tag):
    res = {"side": "pt-osc"}
    logfile = os.path.join(B.WORK, "pt-osc-%s.log" % tag)
    marks = {}
    lines = []
    t0 = mono()
    p = subprocess.Popen(pt_osc_argv(db.port), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=B.WORK, preexec_fn=B._die_with_parent)
    B.record_pid(p.pid)
    timer = threading.Timer(TIMEOUT, p.kill)
    timer.start()
    try:
        for raw in p.stdout:
            now = mono()
            text = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append("%8.3f %s" % (now - t0, text))
            for mark, key in PT_MARKS.items():
                if mark in text and key not in marks:
                    marks[key] = now
        _, wstatus, ru = os.wait4(p.pid, 0)     # its own CPU time, exactly
        t_end = mono()
        timed_end()
        p.returncode = os.waitstatus_to_exitcode(wstatus)
    finally:
        timer.cancel()
        if p.returncode is None:
            p.kill()
            p.wait()
        p.stdout.close()
        B.forget_pid(p.pid)
    with open(logfile, "w") as f:
        f.write("\n".join(lines) + "\n")
    if p.returncode != 0:
        raise BenchError("pt-online-schema-change exited with %d%s:\n%s" % (
            p.returncode, " (killed after %d s)" % TIMEOUT if t_end - t0 >= TIMEOUT else "",
            "\n".join(lines[-25:])))
    if "t_copy" not in marks or "t_copied" not in marks:
        raise BenchError("pt-online-schema-change did not report a copy:\n" + "\n".join(lines[-25:]))
    res.update({"seconds": t_end - t0, "setup_s": marks["t_copy"] - t0,
                "copy_s": marks["t_copied"] - marks["t_copy"], "after_copy_s": t_end - marks["t_copied"],
                "tool_cpu_s": ru.ru_utime + ru.ru_stime,
                "triggers_s": marks.get("t_copy", t0) - marks.get("t_triggers", t0),
                "output": lines})
    # what it left: its new table (we drop it), no triggers
    left_trg = triggers(db)
    if left_trg:
        for t in left_trg:
            db.sql("DROP TRIGGER `%s`.`%s`" % (DB, t))
        raise BenchError("pt-osc left triggers on %s: %s" % (TABLE, ", ".join(left_trg)))
    new = other_tables(db)
    if len(new) != 1:
        raise BenchError("expected pt-osc's new table in %s, found: %s" % (DB, new or "none"))
    res["new_table"] = new[0]
    res["new_table_rows"] = count_rows(db, new[0])
    res["new_table_has_column"] = has_column(db, new[0], "note")
    db.sql("DROP TABLE `%s`.`%s`" % (DB, new[0]))
    return res


# --------------------------------------------------------------------------
# One measured copy
# --------------------------------------------------------------------------

class Meter:
    """CPU of mariadbd and cutoverd, and of the whole machine, from start()
    to the first stop()."""

    def __init__(self, pids):
        self.pids = pids
        self.t0 = self.t1 = None

    def start(self):
        self.cpu0 = {k: B.cpu_seconds(p) for k, p in self.pids.items()}
        self.busy0 = B.busy_seconds()[0]
        self.t0 = mono()

    def stop(self):
        if self.t1 is None:
            self.cpu1 = {k: B.cpu_seconds(p) for k, p in self.pids.items()}
            self.busy1 = B.busy_seconds()[0]
            self.t1 = mono()

    def cores(self):
        wall = self.t1 - self.t0
        c = {k: (self.cpu1[k] - self.cpu0[k]) / wall for k in self.pids}
        c["busy"] = (self.busy1 - self.busy0) / wall
        return c


def measure(side, db, cut, slow, rnd, rows):
    tag = "%s-%d" % (side, rnd)
    settle_s = settle(db)
    load = None
    if LOAD:
        load = Load(cut.port if side == "cutoverd" else db.port, tag)
        load.start()
    pids = {"mariadbd": db.proc.pid}
    if side == "cutoverd":
        pids["tool"] = cut.proc.pid
    meter = Meter(pids)

    def timed_end():
        meter.stop()
        if slow is not None:
            slow.end()

    locks0 = lock_status(db)
    if slow is not None:
        slow.begin()
    meter.start()
    try:
        if side == "cutoverd":
            res = run_cutoverd(db, cut, timed_end, rows)
        else:
            res = run_pt_osc(db, timed_end, tag)
    finally:
        timed_end()
        if load is not None:
            load_res = load.stop()
    locks1 = lock_status(db)
    res["locks"] = {k: locks1[k] - locks0[k] for k in LOCK_VARS}
    res["round"] = rnd
    res["settle_s"] = settle_s
    res["rows_per_s"] = rows / res["seconds"]
    cores = meter.cores()
    if side == "pt-osc":
        cores["tool"] = res.pop("tool_cpu_s") / (meter.t1 - meter.t0)
    cores["other"] = max(0.0, cores.pop("busy") - cores["mariadbd"] - cores["tool"])
    res["cores"] = cores
    if load is not None:
        res["load"] = load_res
    if slow is not None:
        stmts = slow.end()
        res["statements"], chunks = breakdown(stmts)
        res["statements_seconds"] = sum(x[0] for x in stmts)
        if chunks:
            res["copy_chunks"] = {"n": len(chunks), "rows_median": statistics.median(c[0] for c in chunks),
                                  "rows_max": max(c[0] for c in chunks),
                                  "seconds_median": statistics.median(c[1] for c in chunks),
                                  "seconds_max": max(c[1] for c in chunks),
                                  "first_rows": [c[0] for c in chunks[:12]]}
    return res


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def summarize(runs, rows):
    s = {}
    for side in SIDES:
        rs = [r for r in runs if r["side"] == side]
        if not rs:
            continue
        s[side] = {"runs": len(rs), "seconds": statistics.median(r["seconds"] for r in rs),
                   "rows_per_s": statistics.median(rows / r["seconds"] for r in rs),
                   "copy_s": statistics.median(r["copy_s"] for r in rs),
                   "copy_rows_per_s": statistics.median(rows / r["copy_s"] for r in rs),
                   "setup_s": statistics.median(r["setup_s"] for r in rs)}
        if side == "cutoverd":
            s[side]["verify_s"] = statistics.median(r["verify_s"] for r in rs)
            s[side]["backfill_s"] = statistics.median(r["backfill_s"] for r in rs)
    if "cutoverd" in s and "pt-osc" in s:
        c, p = s["cutoverd"], s["pt-osc"]
        s["ratio_rows_per_s"] = c["rows_per_s"] / p["rows_per_s"]
        s["ratio_copy_phase"] = c["copy_rows_per_s"] / p["copy_rows_per_s"]
        s["ratio_cutoverd_copy_vs_pt_osc_total"] = (rows / c["copy_s"]) / p["rows_per_s"]
    return s


def fmt_rate(x):
    return "{:,.0f}".format(x).replace(",", " ")


def render(meta, runs, summary, rows, failures):
    L = []
    L.append("cutover copy-speed benchmark (issue 3), %s" % meta["date"])
    L.append("machine: %s, %d cores (%s), %s, kernel %s; load average at start %s" % (
        meta["host"], meta["cores"], meta["cpu"], meta["memory"], meta["kernel"], meta["loadavg_at_start"]))
    if meta.get("note"):
        L.append("note: %s" % meta["note"])
    L.append("cutoverd: %s (%s)" % (meta["cutoverd"], meta["cutoverd_rev"]))
    L.append("%s; %s; %s" % (meta["mariadb"], meta["pt_osc"], meta["sysbench"]))
    L.append("server options: %s" % " ".join(SERVER_OPTS))
    L.append("table: %s.%s, sysbench oltp_read_write --tables=1 --table-size=%d (%d rows; id INT primary key, "
             "k INT with an index, c CHAR(120), pad CHAR(60))" % (DB, TABLE, ROWS, rows))
    L.append("ALTER: %s; %d rounds, sides alternating in order; dirty pages flushed before each copy; one" % (
        ALTER, ROUNDS))
    L.append("untimed warm-up copy by the server alone (INSERT ... SELECT into a scratch table) before round 1")
    L.append("slow log: %s" % ("every statement of both copiers logged (BENCH_COPY_SLOWLOG=1): it slows both "
                               "copies, cutoverd's more" if SLOWLOG else "off (BENCH_COPY_SLOWLOG=0)"))
    L.append("")
    L.append("what each side did:")
    L.append("  cutoverd: deploy create over the admin socket: CREATE TABLE shadow LIKE t, the ALTER on the")
    L.append("    shadow, then the backfill (per chunk, one transaction: the chunk's end (from git ad888c1, for")
    L.append("    this integer key, by value: no query; before, SELECT key LIMIT 1 OFFSET n), INSERT")
    L.append("    INTO shadow SELECT ... LOCK IN SHARE MODE NOWAIT ON DUPLICATE KEY UPDATE (earlier builds: a")
    L.append("    SELECT COUNT(*) ... LOCK IN SHARE MODE NOWAIT pass before it), catalog UPDATE, COMMIT;")
    L.append("    chunk size adapted to chunk_time_ms), the")
    L.append("    shadow's secondary index built after it; the verification (count and checksum of each chunk of")
    L.append("    t and of the shadow, a snapshot per chunk) runs behind the copy on a second connection.")
    L.append("    Timed from sending `deploy create` to `deploy show` saying ready (polled every %.2f s); then" % POLL)
    L.append("    `deploy cancel` dropped the shadow (not timed). No triggers.")
    L.append("  pt-osc: %s" % " ".join(["pt-online-schema-change", "--alter", "'%s'" % ALTER] + PT_OSC_OPTS +
                                       ["h=127.0.0.1,P=...,u=%s,p=...,D=%s,t=%s" % (CTL_USER, DB, TABLE)]))
    L.append("    its defaults otherwise: --chunk-size 1000 (start) --chunk-time 0.5 --max-load")
    L.append("    Threads_running=25 --critical-load Threads_running=50. New table, ALTER, 3 triggers, the")
    L.append("    chunked copy (INSERT LOW_PRIORITY IGNORE ... SELECT ... LOCK IN SHARE MODE, autocommit),")
    L.append("    triggers dropped, original table untouched. Timed from start to exit; then we dropped its")
    L.append("    new table (not timed). No verification.")
    L.append("  both as the same account (ALL PRIVILEGES) over TCP to 127.0.0.1; both copies hold every row")
    L.append("  with the new column (checked after each run, outside the timing).")
    if LOAD:
        L.append("  load during every copy: sysbench oltp_read_write on %s, %d threads, --rate=%d, through "
                 "cutoverd" % (TABLE, LOAD_THREADS, LOAD_RATE))
        L.append("    for cutoverd's copies (its writes mirrored into the shadow), direct for pt-osc's (its "
                 "triggers copy them)")
    else:
        L.append("  no other load on the table during the copies")
    L.append("")
    hdr = "%-9s %5s %9s %12s %8s %8s %8s %12s %7s %7s %7s" % (
        "side", "round", "total s", "rows/s", "setup s", "copy s", "verify s", "copy rows/s", "server", "tool",
        "other")
    L.append(hdr)
    L.append("%-9s %5s %9s %12s %8s %8s %8s %12s %7s %7s %7s" % ("", "", "", "(to ready)", "", "", "", "", "cores",
                                                                  "cores", "cores"))
    L.append("-" * len(hdr))
    for r in runs:
        L.append("%-9s %5d %9.2f %12s %8.2f %8.2f %8s %12s %7.2f %7.2f %7.2f" % (
            r["side"], r["round"], r["seconds"], fmt_rate(rows / r["seconds"]), r["setup_s"], r["copy_s"],
            "%.2f" % r["verify_s"] if "verify_s" in r else "-", fmt_rate(rows / r["copy_s"]),
            r["cores"]["mariadbd"], r["cores"]["tool"], r["cores"]["other"]))
    L.append("  total: cutoverd to `ready` (copy and verification); pt-osc start to exit. setup: cutoverd until the")
    L.append("  create reply (shadow built, mirroring armed), pt-osc until 'Copying approximately' (connect, checks,")
    L.append("  new table, triggers). copy: cutoverd until `verifying` is seen (backfill, then index build; the")
    L.append("  verification overlaps both), pt-osc until 'Copied rows OK'. verify: what is left of cutoverd's")
    L.append("  verification after that.")
    L.append("  cores: CPU of mariadbd / of the tool (cutoverd, or pt-osc's perl) per second of the copy; other:")
    L.append("  the rest of the machine's busy time (other people's processes: noise)")
    L.append("")
    L.append("medians over rounds:")
    for side in SIDES:
        s = summary.get(side)
        if not s:
            L.append("  %-9s (no result)" % side)
            continue
        extra = ", of which copy %.2f s (backfill %.2f s, then the index build) and verify %.2f s" % (
            s["copy_s"], s["backfill_s"], s["verify_s"]) if side == "cutoverd" \
            else ", of which copy %.2f s" % s["copy_s"]
        L.append("  %-9s %10s rows/s  (%.2f s%s; copy alone %s rows/s)" % (
            side, fmt_rate(s["rows_per_s"]), s["seconds"], extra, fmt_rate(s["copy_rows_per_s"])))
    if "ratio_rows_per_s" in summary:
        L.append("")
        L.append("ratio cutoverd/pt-osc, rows/s to the end (cutoverd: ready): %.2f   (issue 3 target: >= 1.5)"
                 % summary["ratio_rows_per_s"])
        L.append("  copy phases alone (cutoverd backfill vs pt-osc's copy):      %.2f" % summary["ratio_copy_phase"])
        L.append("  cutoverd backfill alone vs the whole pt-osc run:              %.2f"
                 % summary["ratio_cutoverd_copy_vs_pt_osc_total"])
    chunk_lines = []
    for r in runs:
        if r["side"] == "cutoverd":
            chunk_lines.append("  cutoverd round %d: chunk_rows seen while copying %s, final %s; target_chunk_ms %s, "
                               "max_threads_running %s, lock_retries %s, verify chunks %s (mismatches %s)" % (
                                   r["round"], summarize_list(r["chunk_rows_seen"]), r["chunk_rows_final"],
                                   r["target_chunk_ms"], r["max_threads_running"], r["lock_retries"],
                                   r["verify_chunks"], r["verify_mismatches"]))
        if "copy_chunks" in r:
            c = r["copy_chunks"]
            chunk_lines.append("  %-8s round %d: %d copy chunks, rows median %d max %d, INSERT ... SELECT median "
                               "%.3f s max %.3f s; first chunks %s" % (
                                   r["side"], r["round"], c["n"], c["rows_median"], c["rows_max"],
                                   c["seconds_median"], c["seconds_max"], c["first_rows"]))
    if chunk_lines:
        L.append("")
        L.append("chunks:")
        L.extend(chunk_lines)
    if any("statements" in r for r in runs):
        L.append("")
        L.append("where the time went: the copier's statements from the slow log (long_query_time=0 for its "
                 "sessions),")
        L.append("added up over all rounds of each side; 'outside statements' is the rest of the wall time (round")
        L.append("trips, the tool's own work, cutoverd's polling delay, pauses); cutoverd's copy and verification")
        L.append("run at the same time on two connections, so its statements can add up to more than the wall time")
        for side in SIDES:
            rs = [r for r in runs if r["side"] == side and "statements" in r]
            if not rs:
                continue
            wall = sum(r["seconds"] for r in rs)
            agg = {}
            for r in rs:
                for k, e in r["statements"].items():
                    a = agg.setdefault(k, {"n": 0, "seconds": 0.0, "rows_examined": 0, "rows_affected": 0})
                    for f in a:
                        a[f] += e[f]
            L.append("  %s (%d runs, %.2f s):" % (side, len(rs), wall))
            L.append("    %-52s %7s %9s %6s %13s %13s" % ("statement", "count", "seconds", "share", "rows examined",
                                                          "rows affected"))
            inside = 0.0
            for k, a in sorted(agg.items(), key=lambda kv: -kv[1]["seconds"]):
                inside += a["seconds"]
                L.append("    %-52s %7d %9.2f %5.1f%% %13d %13d" % (k[:52], a["n"], a["seconds"],
                                                                     100 * a["seconds"] / wall, a["rows_examined"],
                                                                     a["rows_affected"]))
            L.append("    %-52s %7s %9.2f %5.1f%%" % ("outside statements", "", wall - inside,
                                                     100 * (wall - inside) / wall))
    if LOAD:
        L.append("")
        L.append("load during the copies (sysbench oltp_read_write, its per-second reports during the copy")
        L.append("averaged; under --rate a transaction's latency includes its wait for a slot; errors: those")
        L.append("sysbench ignores and retries by default, deadlocks and lock wait timeouts):")
        for r in runs:
            ld = r.get("load", {})
            if "tps" in ld:
                L.append("  %-8s round %d: tps %.1f, p95 median %.2f ms, max %.2f ms, errors %d, reconnects %d over "
                         "%d s%s" % (r["side"], r["round"], ld["tps"], ld["p95_ms_median"], ld["p95_ms_max"],
                                     ld["errors"], ld["reconnects"], ld["seconds"],
                                     "; cutoverd mirrored %s statements, refused %s" % (r["mirrored"], r["refused"])
                                     if r["side"] == "cutoverd" else ""))
                lk = r["locks"]
                L.append("    InnoDB meanwhile (all sessions): %d row lock waits, %.2f s waited in all, %d deadlocks"
                         % (lk["Innodb_row_lock_waits"], lk["Innodb_row_lock_time"] / 1000.0,
                            lk["Innodb_deadlocks"]))
            else:
                L.append("  %-8s round %d: no figures" % (r["side"], r["round"]))
    if failures:
        L.append("")
        L.append("FAILURES:")
        for f in failures:
            L.append("  " + f.replace("\n", "\n    "))
    return "\n".join(L) + "\n"


def summarize_list(xs):
    if not xs:
        return "-"
    if len(xs) <= 8:
        return ",".join(str(x) for x in xs)
    return "%s..%s (%d sizes)" % (xs[0], xs[-1], len(xs))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    os.makedirs(os.path.join(B.WORK, "sysbench"), exist_ok=True)
    started = mono()
    if not os.path.exists(PT_OSC):
        raise BenchError("%s not found (Debian: apt-get install percona-toolkit)" % PT_OSC)
    meta = B.meta_info()
    meta.pop("haproxy", None)
    meta["pt_osc"] = B.version_of([PT_OSC, "--version"])
    failures = []

    db = B.MariaDB()
    log("starting mariadbd on 127.0.0.1:%d (%s)" % (db.port, " ".join(SERVER_OPTS)))
    db.start()
    log("sysbench prepare: 1 table x %d rows" % ROWS)
    t = mono()
    B.run(B.sysbench_argv("oltp_read_write", db.port, 1, 0, "prepare", tables=1, table_size=ROWS),
          os.path.join(B.WORK, "sysbench", "prepare.log"), timeout=3600)
    db.sql("ANALYZE TABLE %s.%s" % (DB, TABLE))
    # One untimed copy by the server alone (neither tool): the first copy
    # after the prepare ran slower than the later ones, whichever tool made
    # it (in round 1, always cutoverd's).
    t = mono()
    db.sql("CREATE TABLE %s._warmup LIKE %s.%s; INSERT INTO %s._warmup SELECT * FROM %s.%s; DROP TABLE %s._warmup"
           % (DB, DB, TABLE, DB, DB, TABLE, DB))
    log("warm-up copy (server alone, not timed): %.1f s" % (mono() - t))
    rows = int(db.sql("SELECT COUNT(*), SUM(LENGTH(pad)) FROM %s.%s FORCE INDEX (PRIMARY)" % (DB, TABLE)).split()[0])
    log("prepared in %.0f s: %d rows" % (mono() - t, rows))

    cut = B.Cutoverd(db.port, "cutoverd", cutover=("schema = %s" % CATALOG,), log_level="info")
    cut.start()
    log("cutoverd on %d, admin socket %s" % (cut.port, cut.admin_socket))
    slow = None
    if SLOWLOG:
        slow = SlowLog(db)
        slow.enable()

    runs = []
    for rnd in range(1, ROUNDS + 1):
        order = SIDES if rnd % 2 == 1 else tuple(reversed(SIDES))
        for side in order:
            log("round %d: %s copying %d rows%s" % (rnd, side, rows, " under load" if LOAD else ""))
            try:
                res = measure(side, db, cut, slow, rnd, rows)
            except (BenchError, subprocess.TimeoutExpired, OSError) as e:
                failures.append("%s round %d: %s" % (side, rnd, e))
                log("FAILED %s round %d: %s" % (side, rnd, str(e).splitlines()[0]))
                if cut.proc.poll() is not None:
                    raise BenchError("cutoverd died (exit %s):\n%s" % (cut.proc.returncode, B.tail(cut.log)))
                # leave the table as it was for the next run
                for trg in triggers(db):
                    db.sql("DROP TRIGGER `%s`.`%s`" % (DB, trg))
                for tbl in other_tables(db):
                    if tbl.startswith("_%s" % TABLE):
                        db.sql("DROP TABLE `%s`.`%s`" % (DB, tbl))
                continue
            if res.get("new_table_rows") != rows or not res.get("new_table_has_column"):
                if not LOAD or not res.get("new_table_has_column"):
                    failures.append("%s round %d: the new table has %s rows (the table %d), column note: %s" % (
                        side, rnd, res.get("new_table_rows"), rows, res.get("new_table_has_column")))
            if "load" in res and "error" in res["load"]:
                failures.append("%s round %d: %s" % (side, rnd, res["load"]["error"]))
            runs.append(res)
            log("  %-8s %.2f s, %s rows/s (copy %.2f s%s)" % (
                side, res["seconds"], fmt_rate(rows / res["seconds"]), res["copy_s"],
                ", verify %.2f s" % res["verify_s"] if "verify_s" in res else ""))

    summary = summarize(runs, rows)
    text = render(meta, runs, summary, rows, failures)
    text += "\n(total run time %.0f s)\n" % (mono() - started)
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    with open(OUT, "w") as f:
        f.write(text)
    jpath = os.path.splitext(OUT)[0] + ".json"
    with open(jpath, "w") as f:
        json.dump({"meta": meta, "settings": {"rows": ROWS, "rows_counted": rows, "rounds": ROUNDS,
                                              "alter": ALTER, "load": LOAD, "load_threads": LOAD_THREADS,
                                              "load_rate": LOAD_RATE, "slowlog": SLOWLOG, "poll_s": POLL,
                                              "server_opts": SERVER_OPTS, "pt_osc_opts": PT_OSC_OPTS},
                   "runs": runs, "summary": summary, "failures": failures}, f, indent=2)
    log("written %s and %s" % (OUT, jpath))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(B.run_main(main))
