"""
cutover_load.py - client workloads through the proxy for test_cutover.py.

Writers: random single-table writes (INSERT / UPDATE / DELETE, autocommit
and short explicit transactions) to one table, from several threads.

Bank: the no-lost-writes workload of issue 4 on two tables: transfers
between accounts in transactions (each also writes a ledger row), autocommit
increments of counters, inserts and deletes; every acknowledged operation
is recorded so that the tables can be checked against it.

Both can be paused (every thread parks between two operations, outside any
transaction) so that a test compares tables that are not moving, and
resumed.  Every client error is recorded: the tests require none.

The statements keep clear of deadlocks that would happen without the proxy
too (locks are taken in ascending key order, updates and deletes stay below
the highest key, inserts take new AUTO_INCREMENT keys at the end), so any
error is the proxy's.
"""

import random
import threading
import time

import pymysql


class _Pauser:
    """Park worker threads between operations on request."""

    def __init__(self):
        self.cv = threading.Condition()
        self.paused = False
        self.stopping = False
        self.parked = 0

    def checkpoint(self):
        with self.cv:
            if not self.paused or self.stopping:
                return
            self.parked += 1
            self.cv.notify_all()
            while self.paused and not self.stopping:
                self.cv.wait(0.1)
            self.parked -= 1

    def pause(self, threads, timeout):
        deadline = time.monotonic() + timeout
        with self.cv:
            self.paused = True
            while self.parked < sum(1 for t in threads if t.is_alive()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("workload threads did not park within %d s (%d of %d parked): "
                                         "a client statement is stuck"
                                         % (timeout, self.parked, sum(1 for t in threads if t.is_alive())))
                self.cv.wait(min(left, 0.1))

    def resume(self):
        with self.cv:
            self.paused = False
            self.cv.notify_all()

    def stop(self):
        with self.cv:
            self.stopping = True
            self.paused = False
            self.cv.notify_all()


class _Workload:
    """Threads, pause/resume/stop, error recording."""

    def __init__(self, proxy, db):
        self.proxy = proxy
        self.db = db
        self.stop_event = threading.Event()
        self.pauser = _Pauser()
        self.threads = []
        self.errors = []          # (thread name, code, message, statement)
        self.ops = 0              # acknowledged statements
        self.lock = threading.Lock()
        self.phase = ""           # set by the test: recorded with each error
        self.t0 = time.monotonic()

    def _connect(self):
        return self.proxy.connect(database=self.db, read_timeout=120, write_timeout=120)

    def _error(self, name, e, sql, started=None):
        code = e.args[0] if e.args else None
        msg = str(e.args[1]) if len(e.args) > 1 else str(e)
        at = "phase %r, %.2f s" % (self.phase, time.monotonic() - self.t0)
        if started is not None:
            at = "sent in phase %r at %.2f s, failed in %s" % (started[0], started[1], at)
        with self.lock:
            self.errors.append((name, code, msg[:200], sql[:200], at))

    def _spawn(self, name, fn, *args):
        t = threading.Thread(target=self._guard, args=(name, fn) + args, name=name, daemon=True)
        self.threads.append(t)

    def _guard(self, name, fn, *args):
        try:
            fn(name, *args)
        except Exception as e:   # a bug in the workload itself: report it as an error
            with self.lock:
                self.errors.append((name, "exception", repr(e)[:200], ""))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def run_for(self, seconds):
        """Let the workload run (it runs in its threads; this only waits)."""
        time.sleep(seconds)

    def pause(self, timeout=30):
        self.pauser.pause(self.threads, timeout)

    def resume(self):
        self.pauser.resume()

    def stop(self, timeout=60):
        self.stop_event.set()
        self.pauser.stop()
        deadline = time.monotonic() + timeout
        stuck = []
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
            if t.is_alive():
                stuck.append(t.name)
        if stuck:
            with self.lock:
                self.errors.append(("stop", "stuck", "threads still running %d s after stop: %s"
                                    % (timeout, ", ".join(stuck)), ""))

    def _loop(self, name, body):
        """Call body(conn, cur, n) until stopped (pausing when asked,
        reconnecting a lost connection); body returning False ends it."""
        conn = self._connect()
        cur = conn.cursor()
        n = 0
        while not self.stop_event.is_set():
            self.pauser.checkpoint()
            if self.stop_event.is_set():
                break
            if not conn.open:
                try:
                    conn = self._connect()
                    cur = conn.cursor()
                except pymysql.MySQLError as e:
                    self._error(name, e, "connect")
                    time.sleep(0.1)
                    continue
            n += 1
            if body(conn, cur, n) is False:
                break
        try:
            conn.close()
        except Exception:
            pass

    def _execute(self, name, conn, cur, sql, in_txn):
        """Run one statement; on error record it, roll back, return None."""
        started = (self.phase, time.monotonic() - self.t0)
        try:
            n = cur.execute(sql)
        except pymysql.MySQLError as e:
            self._error(name, e, sql, started)
            if in_txn:
                try:
                    cur.execute("ROLLBACK")
                except pymysql.MySQLError:
                    pass
            if not conn.open:
                time.sleep(0.05)
            return None
        return n


class Writers(_Workload):
    """`nthreads` threads of random writes to db.table (the columns of
    test_deploy.fill(): id AUTO_INCREMENT, name, amount, created, flag).
    Updates and deletes pick keys in [lo, hi]; rows below lo are never
    touched, so a test can keep values of its own there."""

    def __init__(self, proxy, db, table, nthreads=3, lo=101, hi=3000, seed=1):
        super().__init__(proxy, db)
        self.table = table
        self.lo, self.hi = lo, hi
        for n in range(nthreads):
            self._spawn("writer%d" % n, self._run, seed * 100 + n)

    def _run(self, name, seed):
        rnd = random.Random(seed)
        t = self.table

        def body(conn, cur, n):
            r = rnd.random()
            i = rnd.randint(self.lo, self.hi)
            if r < 0.2:
                sqls = ["INSERT INTO %s (name, amount, created, flag) VALUES ('%s', %d.25, NOW(6), %d)"
                        % (t, name, i, i % 2)]
            elif r < 0.5:
                sqls = ["UPDATE %s SET name = '%s %d', amount = amount + 1 WHERE id = %d" % (t, name, i, i)]
            elif r < 0.6:
                j = min(i, self.hi - 6)
                sqls = ["UPDATE %s SET flag = NOT flag WHERE id BETWEEN %d AND %d" % (t, j, j + 5)]
            elif r < 0.7:
                sqls = ["DELETE FROM %s WHERE id = %d" % (t, i)]
            else:
                keys = sorted(rnd.sample(range(self.lo, self.hi + 1), rnd.randint(2, 3)))
                sqls = ["BEGIN"]
                sqls += ["UPDATE %s SET name = '%s txn', amount = COALESCE(amount, 0) + 2 WHERE id = %d"
                         % (t, name, k) for k in keys]
                if rnd.random() < 0.3:
                    sqls.append("INSERT INTO %s (name, created) VALUES ('%s txn', NOW(6))" % (t, name))
                sqls.append("COMMIT" if rnd.random() < 0.8 else "ROLLBACK")
            in_txn = sqls[0] == "BEGIN"
            for sql in sqls:
                if self._execute(name, conn, cur, sql, in_txn) is None:
                    break
                with self.lock:
                    self.ops += 1

        self._loop(name, body)


class Bank(_Workload):
    """Tables db.acct (id, balance INT, hits) and db.ledger (id
    AUTO_INCREMENT, tid, seq, kind, a, b, amt).

    - transfer threads: BEGIN; UPDATE acct (lower id); UPDATE acct (higher
      id); INSERT INTO ledger ('xfer'); COMMIT (one in ten: ROLLBACK);
    - counter threads: autocommit UPDATE acct SET hits = hits + 1;
    - an insert thread: autocommit INSERT INTO ledger ('ins', tid, seq);
    - a delete thread: autocommit DELETE FROM ledger WHERE id = k, k among
      the `npre` rows filled at the start ('pre').
    """

    START_BALANCE = 1000

    def __init__(self, proxy, db, naccounts=40, npre=8000, transfers=3, counters=2, seed=7):
        super().__init__(proxy, db)
        self.naccounts = naccounts
        self.npre = npre
        self.delta = {i: 0 for i in range(1, naccounts + 1)}   # acknowledged balance changes
        self.hits = {i: 0 for i in range(1, naccounts + 1)}    # acknowledged increments
        self.xfers = {}          # tid -> set of seq of acknowledged transfers
        self.rolled_back = {}    # tid -> set of seq of transfers rolled back
        self.inserted = set()    # (tid, seq) acknowledged inserts
        self.deleted = set()     # ids acknowledged deleted (1 row affected)
        self.seed = seed
        tid = 1
        for _ in range(transfers):
            self._spawn("transfer%d" % tid, self._transfer, tid)
            tid += 1
        for _ in range(counters):
            self._spawn("counter%d" % tid, self._counter, tid)
            tid += 1
        self._spawn("insert%d" % tid, self._insert, tid)
        tid += 1
        self._spawn("delete%d" % tid, self._delete, tid)

    def setup(self, execute):
        """Create and fill the tables (execute: test_deploy.execute bound to
        the server)."""
        db = self.db
        execute("CREATE TABLE `%s`.acct (id INT PRIMARY KEY, balance INT NOT NULL, "
                "hits BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB" % db,
                "INSERT INTO `%s`.acct (id, balance) SELECT seq, %d FROM `%s`.seq_1_to_%d"
                % (db, self.START_BALANCE, db, self.naccounts),
                "CREATE TABLE `%s`.ledger (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, tid INT NOT NULL, "
                "seq INT NOT NULL, kind VARCHAR(8) NOT NULL, a INT NULL, b INT NULL, amt INT NULL) ENGINE=InnoDB" % db,
                "INSERT INTO `%s`.ledger (id, tid, seq, kind) SELECT seq, 0, seq, 'pre' FROM `%s`.seq_1_to_%d"
                % (db, db, self.npre))

    def _transfer(self, name, tid):
        rnd = random.Random(self.seed * 1000 + tid)
        self.xfers[tid] = set()
        self.rolled_back[tid] = set()

        def body(conn, cur, seq):
            a, b = sorted(rnd.sample(range(1, self.naccounts + 1), 2))
            amt = rnd.randint(1, 50)
            if rnd.random() < 0.5:
                amt = -amt            # from b to a instead of from a to b
            rollback = rnd.random() < 0.1
            sqls = ["BEGIN",
                    "UPDATE acct SET balance = balance - %d WHERE id = %d" % (amt, a),
                    "UPDATE acct SET balance = balance + %d WHERE id = %d" % (amt, b),
                    "INSERT INTO ledger (tid, seq, kind, a, b, amt) VALUES (%d, %d, 'xfer', %d, %d, %d)"
                    % (tid, seq, a, b, amt),
                    "ROLLBACK" if rollback else "COMMIT"]
            for sql in sqls:
                if self._execute(name, conn, cur, sql, True) is None:
                    return
            with self.lock:
                self.ops += 1
                if rollback:
                    self.rolled_back[tid].add(seq)
                else:
                    self.xfers[tid].add(seq)
                    self.delta[a] -= amt
                    self.delta[b] += amt

        self._loop(name, body)

    def _counter(self, name, tid):
        rnd = random.Random(self.seed * 1000 + tid)

        def body(conn, cur, seq):
            k = rnd.randint(1, self.naccounts)
            sql = "UPDATE acct SET hits = hits + 1 WHERE id = %d" % k
            n = self._execute(name, conn, cur, sql, False)
            if n is None:
                return
            with self.lock:
                self.ops += 1
                if n == 1:
                    self.hits[k] += 1
                else:
                    self.errors.append((name, "rowcount", "affected %r rows, expected 1" % n, sql))

        self._loop(name, body)

    def _insert(self, name, tid):
        def body(conn, cur, seq):
            sql = "INSERT INTO ledger (tid, seq, kind) VALUES (%d, %d, 'ins')" % (tid, seq)
            if self._execute(name, conn, cur, sql, False) is None:
                return
            with self.lock:
                self.ops += 1
                self.inserted.add((tid, seq))

        self._loop(name, body)

    def _delete(self, name, tid):
        order = list(range(1, self.npre + 1))
        random.Random(self.seed * 1000 + tid).shuffle(order)

        def body(conn, cur, seq):
            if seq > len(order):
                time.sleep(0.01)
                return
            k = order[seq - 1]
            sql = "DELETE FROM ledger WHERE id = %d" % k
            n = self._execute(name, conn, cur, sql, False)
            if n is None:
                return
            with self.lock:
                self.ops += 1
                if n == 1:
                    self.deleted.add(k)
                else:
                    self.errors.append((name, "rowcount", "affected %r rows, expected 1" % n, sql))
            time.sleep(0.003)     # the pre rows last through the whole test

        self._loop(name, body)

    # -- checks -----------------------------------------------------------------

    def check(self, rows, acct="acct", ledger="ledger"):
        """Compare the tables `acct` and `ledger` of db (read with rows(sql),
        straight from the server, workload paused or stopped) with what
        was acknowledged.  Returns a list of problems (empty: all well)."""
        db = self.db
        problems = []
        with self.lock:
            delta = dict(self.delta)
            hits = dict(self.hits)
            xfers = {k: set(v) for k, v in self.xfers.items()}
            rolled = {k: set(v) for k, v in self.rolled_back.items()}
            inserted = set(self.inserted)
            deleted = set(self.deleted)
        got = {r[0]: (r[1], r[2]) for r in rows("SELECT id, balance, hits FROM `%s`.`%s`" % (db, acct))}
        if sorted(got) != list(range(1, self.naccounts + 1)):
            problems.append("%s: accounts %s, expected 1..%d" % (acct, sorted(got), self.naccounts))
        total = sum(v[0] for v in got.values())
        if total != self.START_BALANCE * self.naccounts:
            problems.append("%s: balance total %d, expected %d" % (acct, total, self.START_BALANCE * self.naccounts))
        bad = [(i, got[i][0], self.START_BALANCE + delta[i]) for i in sorted(got)
               if i in delta and got[i][0] != self.START_BALANCE + delta[i]]
        if bad:
            problems.append("%s: %d balances differ from the acknowledged transfers (id, got, expected): %s"
                            % (acct, len(bad), bad[:5]))
        bad = [(i, got[i][1], hits[i]) for i in sorted(got) if i in hits and got[i][1] != hits[i]]
        if bad:
            problems.append("%s: %d counters differ from the acknowledged increments (id, got, expected): %s"
                            % (acct, len(bad), bad[:5]))
        led = rows("SELECT id, tid, seq, kind FROM `%s`.`%s`" % (db, ledger))
        dup = {}
        for _, tid, seq, kind in led:
            if kind != "pre":
                dup[(tid, seq, kind)] = dup.get((tid, seq, kind), 0) + 1
        twice = [k for k, n in dup.items() if n > 1]
        if twice:
            problems.append("%s: %d rows exist more than once, e.g. %s" % (ledger, len(twice), twice[:5]))
        for tid, seqs in xfers.items():
            have = {seq for (t, seq, kind) in dup if t == tid and kind == "xfer"}
            if have != seqs:
                problems.append("%s: transfers of thread %d: %d missing (e.g. %s), %d not acknowledged (e.g. %s)"
                                % (ledger, tid, len(seqs - have), sorted(seqs - have)[:5],
                                   len(have - seqs), sorted(have - seqs)[:5]))
            if have & rolled.get(tid, set()):
                problems.append("%s: rolled-back transfers of thread %d are there: %s"
                                % (ledger, tid, sorted(have & rolled[tid])[:5]))
        have = {(t, seq) for (t, seq, kind) in dup if kind == "ins"}
        if have != inserted:
            problems.append("%s: inserts: %d acknowledged missing (e.g. %s), %d present not acknowledged (e.g. %s)"
                            % (ledger, len(inserted - have), sorted(inserted - have)[:5],
                               len(have - inserted), sorted(have - inserted)[:5]))
        pre = {r[0] for r in led if r[3] == "pre"}
        back = pre & deleted
        if back:
            problems.append("%s: %d acknowledged deletes are back, e.g. ids %s" % (ledger, len(back), sorted(back)[:5]))
        lost = set(range(1, self.npre + 1)) - deleted - pre
        if lost:
            problems.append("%s: %d rows nobody deleted are gone, e.g. ids %s" % (ledger, len(lost), sorted(lost)[:5]))
        return problems

    def summary(self):
        with self.lock:
            return ("%d operations: %d transfers, %d rolled back, %d increments, %d inserts, %d deletes"
                    % (self.ops, sum(len(v) for v in self.xfers.values()),
                       sum(len(v) for v in self.rolled_back.values()), sum(self.hits.values()),
                       len(self.inserted), len(self.deleted)))
