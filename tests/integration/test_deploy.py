"""
test_deploy.py - deploy requests (issue 3): `deploy create` and its checks,
the shadow table, the backfill, the verifier, `deploy cancel`, `deploy set`,
and a restart (kill -9) in the middle of a backfill.

Every test gets its own database and its own catalog schema ([cutover]
schema), so tests do not see each other's deploys.  Comparisons read the
original and the shadow straight from MariaDB, through the column mapping.
"""

import json
import re
import subprocess
import threading
import time
import urllib.request

import pymysql
import pytest

from conftest import CUTOVERCTL, free_port
from cutover_load import Writers


def wait_state(proxy, did, states, timeout=60):
    """Poll `deploy show` until the state is one of `states`; return the reply."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = proxy.admin("deploy show %d" % did)
        assert last["ok"], last
        if last["state"] in states:
            return last
        time.sleep(0.05)
    pytest.fail("deploy %d not in %s within %d s: %s\n%s" % (did, states, timeout, last,
                                                            proxy.diagnostics()), pytrace=False)


def rows(mariadb, sql):
    conn = mariadb.root_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def execute(mariadb, *sqls):
    conn = mariadb.root_connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            for sql in sqls:
                cur.execute(sql)
    finally:
        conn.close()


def table_exists(mariadb, db, table):
    return rows(mariadb, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' "
                         "AND TABLE_NAME = '%s'" % (db, table))[0][0] == 1


def assert_same(mariadb, db, table, shadow, cols, key="id", where="1"):
    """The shadow holds exactly the original's rows in the mapped columns."""
    collist = ", ".join("`%s`" % c for c in cols)
    a = rows(mariadb, "SELECT %s FROM `%s`.`%s` WHERE %s ORDER BY %s" % (collist, db, table, where, key))
    b = rows(mariadb, "SELECT %s FROM `%s`.`%s` WHERE %s ORDER BY %s" % (collist, db, shadow, where, key))
    assert len(a) == len(b), "original has %d rows, shadow %d" % (len(a), len(b))
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    assert not diff, "%d rows differ, first: %s" % (len(diff), diff[:3])


@pytest.fixture
def db(mariadb, unique_name):
    name = unique_name("dep")
    execute(mariadb, "CREATE DATABASE `%s`" % name)
    yield name
    execute(mariadb, "DROP DATABASE IF EXISTS `%s`" % name)


@pytest.fixture
def dproxy(make_proxy, unique_name, mariadb):
    """A proxy with a catalog schema of its own."""
    schema = unique_name("_cutover")
    p = make_proxy(cutover_schema=schema)
    p.schema = schema
    yield p
    p.stop()
    execute(mariadb, "DROP DATABASE IF EXISTS `%s`" % schema)


def fill(mariadb, db, table, n, ddl=None):
    execute(mariadb, ddl or (
        "CREATE TABLE `%s`.`%s` (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "name VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NULL, created DATETIME(6) NOT NULL, "
        "flag TINYINT NULL) ENGINE=InnoDB" % (db, table)))
    step = 5000
    for start in range(0, n, step):
        values = ", ".join("('n%d', %s, '2024-01-02 03:04:05.%06d', %s)"
                           % (i, "NULL" if i % 7 == 0 else "%d.%02d" % (i, i % 100), i % 1000000,
                              "NULL" if i % 5 == 0 else str(i % 2))
                           for i in range(start, min(n, start + step)))
        execute(mariadb, "INSERT INTO `%s`.`%s` (name, amount, created, flag) VALUES %s" % (db, table, values))


def tables(mariadb, db):
    """The names of db's tables, in order."""
    return [r[0] for r in rows(mariadb, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' "
                                        "ORDER BY 1" % db)]


def create(proxy, line):
    r = proxy.admin("deploy create " + line, timeout=60)
    return r


def create_ready(proxy, line, timeout=60):
    """deploy create `line`, then wait for it to be ready; deploy show's reply."""
    r = create(proxy, line)
    assert r["ok"], r
    s = wait_state(proxy, r["id"], ("ready", "failed"), timeout=timeout)
    assert s["state"] == "ready", s
    return s


# -- the happy path ------------------------------------------------------------------


def test_deploy_copies_verifies_and_is_ready(dproxy, mariadb, db):
    fill(mariadb, db, "orders", 12000)
    r = create(dproxy, "%s.orders ADD COLUMN note VARCHAR(255) NULL, ADD INDEX idx_created (created)" % db)
    assert r["ok"], r
    assert r["state"] == "copying" and r["table"] == "%s.orders" % db
    assert r["shadow_table"] == "_orders_shadow"
    did = r["id"]
    s = wait_state(dproxy, did, ("ready", "failed"))
    assert s["state"] == "ready", s
    assert s["rows_copied"] == 12000
    assert s["verify_chunks"] >= 1 and s["verify_mismatches"] == 0
    assert s["alter"].startswith("ADD COLUMN note")
    assert_same(mariadb, db, "orders", "_orders_shadow", ["id", "name", "amount", "created", "flag"])
    cols = [c[0] for c in rows(mariadb, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                                        "TABLE_SCHEMA = '%s' AND TABLE_NAME = '_orders_shadow' "
                                        "ORDER BY ORDINAL_POSITION" % db)]
    assert cols == ["id", "name", "amount", "created", "flag", "note"]
    # list and the catalog agree
    lst = dproxy.admin("deploy list")
    assert [d["id"] for d in lst["deploys"]] == [did]
    cat = rows(mariadb, "SELECT state, rows_copied FROM `%s`.deploys WHERE id = %d" % (dproxy.schema, did))
    assert cat == (("ready", 12000),)
    # cutoverctl prints it
    out = dproxy.ctl("deploy", "show", did)
    assert out.returncode == 0 and "ready" in out.stdout, out


def test_deploy_empty_table_and_renamed_column(dproxy, mariadb, db):
    execute(mariadb, "CREATE TABLE `%s`.e (id BIGINT PRIMARY KEY, a INT) ENGINE=InnoDB" % db)
    r = create(dproxy, "%s.e ADD COLUMN b INT" % db)
    assert r["ok"], r
    assert wait_state(dproxy, r["id"], ("ready", "failed"))["state"] == "ready"
    # a renamed column keeps its values
    execute(mariadb, "CREATE TABLE `%s`.r (id INT PRIMARY KEY, old_name VARCHAR(10)) ENGINE=InnoDB" % db,
            "INSERT INTO `%s`.r VALUES (1, 'a'), (2, NULL), (3, 'c')" % db)
    r = create(dproxy, "%s.r CHANGE COLUMN old_name new_name VARCHAR(20)" % db)
    assert r["ok"], r
    assert wait_state(dproxy, r["id"], ("ready", "failed"))["state"] == "ready"
    assert rows(mariadb, "SELECT id, new_name FROM `%s`._r_shadow ORDER BY id" % db) == \
        ((1, "a"), (2, None), (3, "c"))


@pytest.mark.parametrize("pk", ["composite", "string", "latin1", "binary", "datetime"])
def test_deploy_key_types(dproxy, mariadb, db, pk):
    """Chunk boundaries on keys that are not one integer compare in the
    index's own order (case-insensitive collations, latin1, binary)."""
    ddl = {
        "composite": "CREATE TABLE `%s`.k (a INT, b VARCHAR(20), v INT, PRIMARY KEY (a, b)) ENGINE=InnoDB",
        "string": "CREATE TABLE `%s`.k (a VARCHAR(30) COLLATE utf8mb4_unicode_ci PRIMARY KEY, v INT) ENGINE=InnoDB",
        "latin1": "CREATE TABLE `%s`.k (a VARCHAR(30) CHARACTER SET latin1 PRIMARY KEY, v INT) ENGINE=InnoDB",
        "binary": "CREATE TABLE `%s`.k (a VARBINARY(30) PRIMARY KEY, v INT) ENGINE=InnoDB",
        "datetime": "CREATE TABLE `%s`.k (a DATETIME(3) PRIMARY KEY, v INT) ENGINE=InnoDB",
    }[pk] % db
    execute(mariadb, ddl)
    n = 3500
    if pk == "composite":
        vals = ", ".join("(%d, 'k%d', %d)" % (i // 10, i, i) for i in range(n))
        execute(mariadb, "INSERT INTO `%s`.k VALUES %s" % (db, vals))
        cols, key = ["a", "b", "v"], "a, b"
    elif pk == "datetime":
        vals = ", ".join("(TIMESTAMP'2024-01-01 00:00:00' + INTERVAL %d SECOND + INTERVAL %d MICROSECOND, %d)"
                         % (i, (i % 1000) * 1000, i) for i in range(n))
        execute(mariadb, "INSERT INTO `%s`.k VALUES %s" % (db, vals))
        cols, key = ["a", "v"], "a"
    else:
        # mixed case, accents, quotes and backslashes: the order is the collation's
        words = ["Ab%d" % i if i % 3 == 0 else "ab%d'x" % i if i % 3 == 1 else "\u00e9\\%d" % i for i in range(n)]
        if pk == "latin1":
            words = [w.replace("\u00e9", "e\u00e8") for w in words]
        conn = mariadb.root_connect(autocommit=True)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO `%s`.k VALUES (%%s, %%s)" % db,
                            [(w.encode() if pk == "binary" else w, i) for i, w in enumerate(words)])
        conn.close()
        cols, key = ["a", "v"], "a"
    s = create_ready(dproxy, "%s.k ADD COLUMN extra INT NOT NULL DEFAULT 7" % db)
    assert s["rows_copied"] == n
    assert_same(mariadb, db, "k", "_k_shadow", cols, key)


# -- refusals: a clear error, nothing created ----------------------------------------


REFUSALS = [
    ("missing", "CREATE TABLE `{db}`.other (id INT PRIMARY KEY)", "{db}.nope ADD COLUMN x INT", "does not exist"),
    ("no pk", "CREATE TABLE `{db}`.t (a INT) ENGINE=InnoDB", "{db}.t ADD COLUMN x INT", "no primary key"),
    ("myisam", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=MyISAM", "{db}.t ADD COLUMN x INT", "InnoDB"),
    ("view", "CREATE VIEW `{db}`.t AS SELECT 1 AS id", "{db}.t ADD COLUMN x INT", "not a base table"),
    ("fk out", "CREATE TABLE `{db}`.p (id INT PRIMARY KEY) ENGINE=InnoDB;"
               "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES `{db}`.p (id)) ENGINE=InnoDB",
     "{db}.t ADD COLUMN x INT", "foreign keys"),
    ("fk in", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB;"
              "CREATE TABLE `{db}`.c (id INT PRIMARY KEY, t INT, FOREIGN KEY (t) REFERENCES `{db}`.t (id)) ENGINE=InnoDB",
     "{db}.t ADD COLUMN x INT", "foreign keys"),
    # '$' is spelled @0024 in InnoDB's dictionary: the other way of finding them
    ("fk in, odd name", "CREATE TABLE `{db}`.t$1 (id INT PRIMARY KEY) ENGINE=InnoDB;"
                        "CREATE TABLE `{db}`.c (id INT PRIMARY KEY, t INT, FOREIGN KEY (t) REFERENCES `{db}`.t$1 (id)) "
                        "ENGINE=InnoDB",
     "{db}.t$1 ADD COLUMN x INT", "foreign keys"),
    ("trigger", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, a INT) ENGINE=InnoDB;"
                "CREATE TRIGGER `{db}`.tr BEFORE INSERT ON `{db}`.t FOR EACH ROW SET NEW.a = 1",
     "{db}.t ADD COLUMN x INT", "triggers"),
    ("syntax", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", "{db}.t ADD COLUMN x INTEGR",
     "the ALTER failed on the shadow table"),
    ("rename table", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", "{db}.t RENAME TO t2",
     "may not rename the table"),
    ("rename as", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", "{db}.t ADD x INT, RENAME AS t2",
     "may not rename the table"),
    ("engine", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", "{db}.t ENGINE=MyISAM",
     "ENGINE=InnoDB"),
    ("two statements", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB",
     "{db}.t ADD x INT; DROP TABLE `{db}`.t", "one statement"),
    ("exec comment", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", "{db}.t ADD x INT /*!50000 , DROP id */",
     "executable comments"),
    ("add fk", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, p INT) ENGINE=InnoDB",
     "{db}.t ADD FOREIGN KEY (p) REFERENCES `{db}`.t (id)", "foreign keys"),
    ("pk change", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, a INT NOT NULL) ENGINE=InnoDB",
     "{db}.t DROP PRIMARY KEY, ADD PRIMARY KEY (a)", "primary key"),
    ("timestamp key and conversion", "CREATE TABLE `{db}`.t (ts TIMESTAMP NOT NULL PRIMARY KEY, d DATETIME NULL) "
     "ENGINE=InnoDB", "{db}.t MODIFY d TIMESTAMP NULL", "TIMESTAMP"),
    ("drop partition", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB PARTITION BY RANGE (id) "
     "(PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)", "{db}.t DROP PARTITION p0",
     "DROP PARTITION"),
    ("convert partition", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB PARTITION BY RANGE (id) "
     "(PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)",
     "{db}.t CONVERT PARTITION p0 TO TABLE t_p0", "CONVERT PARTITION"),
    ("system versioned", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB WITH SYSTEM VERSIONING",
     "{db}.t ADD COLUMN x INT", "SYSTEM VERSIONED"),
    ("bad target", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", "t ADD x INT", "is not <db>.<table>"),
    ("no clause", "CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", "{db}.t", "usage"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_deploy_refusals(dproxy, mariadb, db, case):
    _, setup, line, expect = case
    for sql in setup.format(db=db).split(";"):
        execute(mariadb, sql)
    before = rows(mariadb, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' "
                           "ORDER BY 1" % db)
    r = create(dproxy, line.format(db=db))
    assert not r["ok"], r
    assert expect in r["error"], r
    after = rows(mariadb, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' "
                          "ORDER BY 1" % db)
    assert before == after, "tables changed: %s -> %s" % (before, after)
    assert dproxy.admin("deploy list")["deploys"] == []
    if table_exists(mariadb, dproxy.schema, "deploys"):
        assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.deploys" % dproxy.schema) == ((0,),)


def scrape(port):
    """GET /metrics: {(name, frozenset of (label, value)): value}."""
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    out = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        assert m, "not a sample line: %r" % line
        labels = re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")
        labels = frozenset((k, re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n" else x.group(1), v))
                           for k, v in labels)
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def test_deploy_metrics(make_proxy, unique_name, mariadb, db):
    """/metrics has the deploy requests: a count per state, and per deploy
    its state and the figures of deploy show, labelled by id and table
    (label values escaped: a table name with a double quote and a
    backslash)."""
    port = free_port()
    schema = unique_name("_cutover")
    p = make_proxy(cutover_schema=schema, proxy_metrics_listen="127.0.0.1:%d" % port)
    try:
        before = scrape(port)
        assert before[("cutover_deploys", frozenset({("state", "copying")}))] == 0
        assert not [k for k in before if k[0].startswith("cutover_deploy_")], before
        name = 'o"r\\d'
        fill(mariadb, db, name, 300,
             ddl="CREATE TABLE `%s`.`%s` (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, "
                 "amount DECIMAL(12,2) NULL, created DATETIME(6) NOT NULL, flag TINYINT NULL) ENGINE=InnoDB"
                 % (db, name))
        s = create_ready(p, "%s.`%s` ADD COLUMN note VARCHAR(20) NULL" % (db, name))
        did = s["id"]
        lab = frozenset({("id", str(did)), ("table", "%s.%s" % (db, name))})
        c = p.connect(database=db)
        with c.cursor() as cur:
            cur.execute("UPDATE `%s` SET flag = 7 WHERE id = 5" % name)
        c.commit()
        m = scrape(port)
        assert m[("cutover_deploys", frozenset({("state", "ready")}))] == 1
        assert m[("cutover_deploy_info", lab | {("state", "ready"), ("revertible", "false")})] == 1
        assert m[("cutover_deploy_rows_copied", lab)] == 300
        assert m[("cutover_deploy_table_rows", lab)] >= 300     # the server's estimate, or the rows copied
        assert m[("cutover_deploy_progress_ratio", lab)] == 1
        assert m[("cutover_deploy_rows_verified", lab)] == 300
        assert m[("cutover_deploy_verify_mismatches", lab)] == 0
        assert m[("cutover_deploy_mirrored_statements", lab)] >= 1
        assert ("cutover_deploy_eta_seconds", lab) not in m        # only while copying
        assert m[("cutover_command_duration_seconds_sum", frozenset())] > 0
        r = p.admin("deploy cutover %d" % did, timeout=60)
        assert r["ok"], r
        m = scrape(port)
        assert m[("cutover_deploys", frozenset({("state", "complete")}))] == 1
        assert m[("cutover_deploys", frozenset({("state", "ready")}))] == 0
        assert m[("cutover_deploy_info", lab | {("state", "complete"), ("revertible", "true")})] == 1
        assert m[("cutover_deploy_pause_seconds", lab)] == pytest.approx(r["pause_ms"] / 1000.0, abs=1e-5)
        assert m[("cutover_deploy_cutover_attempts", lab)] == r["attempts"]
        # ended (the revert window closed): counted, no series of its own
        assert p.admin("deploy finalize %d" % did, timeout=60)["ok"]
        m = scrape(port)
        assert m[("cutover_deploys", frozenset({("state", "complete")}))] == 1
        assert not [k for k in m if k[0].startswith("cutover_deploy_")], [k for k in m if "deploy_" in k[0]]
    finally:
        p.stop()
        execute(mariadb, "DROP DATABASE IF EXISTS `%s`" % schema)


def test_deploy_second_on_same_table_refused(dproxy, mariadb, db):
    fill(mariadb, db, "t", 100)
    r = create(dproxy, "%s.t ADD COLUMN x INT" % db)
    assert r["ok"], r
    r2 = create(dproxy, "%s.t ADD COLUMN y INT" % db)
    assert not r2["ok"] and "already has an active deploy request (id %d" % r["id"] in r2["error"], r2
    r3 = create(dproxy, "%s._t_shadow ADD COLUMN y INT" % db)
    assert not r3["ok"] and "shadow table of deploy" in r3["error"], r3


def test_deploy_unique_violation_fails_the_deploy(dproxy, mariadb, db):
    fill(mariadb, db, "t", 3000)
    execute(mariadb, "UPDATE `%s`.t SET name = 'dup' WHERE id IN (1500, 2500)" % db)
    r = create(dproxy, "%s.t ADD UNIQUE INDEX uq_name (name)" % db)
    assert r["ok"], r
    s = wait_state(dproxy, r["id"], ("ready", "failed"))
    assert s["state"] == "failed", s
    assert "conflicts with a unique key" in s["error"] and "2500" in s["error"], s
    assert not table_exists(mariadb, db, "_t_shadow")


@pytest.mark.parametrize("alter, message", [
    ("MODIFY amount DECIMAL(4,2) NULL", "Out of range value for column 'amount' at row"),
    ("MODIFY name VARCHAR(3) NOT NULL", "Data too long for column 'name' at row"),
])
def test_deploy_fails_naming_the_row_the_new_schema_cannot_hold(dproxy, mariadb, db, alter, message):
    """A narrowing ALTER that some row does not fit: the backfill fails the
    deploy (strict mode: nothing truncated), with the server's error and the
    key of the row it names; the shadow is dropped, the table untouched."""
    fill(mariadb, db, "t", 3000)
    execute(mariadb, "UPDATE `%s`.t SET amount = 99.99, name = 'ab' WHERE id <> 2345" % db)
    before = rows(mariadb, "CHECKSUM TABLE `%s`.t" % db)
    r = create(dproxy, "%s.t %s" % (db, alter))
    assert r["ok"], r
    s = wait_state(dproxy, r["id"], ("ready", "failed"))
    assert s["state"] == "failed", s
    assert message in s["error"] and "the row with key (2345)" in s["error"], s["error"]
    assert not table_exists(mariadb, db, "_t_shadow")
    assert rows(mariadb, "CHECKSUM TABLE `%s`.t" % db) == before


def test_deploy_bad_admin_input(dproxy):
    for line, expect in [("deploy", "usage"), ("deploy show", "no deploy request"),
                         ("deploy show 99", "no deploy request"), ("deploy show x", "no deploy request"),
                         ("deploy cancel 7", "no deploy request"), ("deploy frob", "usage"),
                         ("deploy set 1 chunk_time_ms=5", "no deploy request")]:
        r = dproxy.admin(line)
        assert not r["ok"] and expect in r["error"], (line, r)


# -- throttle, set, cancel, verification repair, restart -----------------------------------


class Sleeper:
    """A direct session running SELECT SLEEP(n): Threads_running + 1."""

    def __init__(self, mariadb, seconds=60):
        self.conn = mariadb.root_connect()
        self.id = self.conn.thread_id()
        self.t = threading.Thread(target=self._run, args=(seconds,), daemon=True)
        self.t.start()
        time.sleep(0.2)

    def _run(self, seconds):
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT SLEEP(%d)" % seconds)
        except pymysql.MySQLError:
            pass

    def stop(self, mariadb):
        execute(mariadb, "KILL QUERY %d" % self.id)
        self.t.join(10)
        self.conn.close()


def test_deploy_throttle_set_and_cancel(make_proxy, mariadb, db, unique_name):
    schema = unique_name("_cutover")
    p = make_proxy(cutover_schema=schema, cutover_max_threads_running="1")
    fill(mariadb, db, "t", 2000)
    sleeper = Sleeper(mariadb)
    try:
        r = create(p, "%s.t ADD COLUMN x INT" % db)
        assert r["ok"], r
        deadline = time.monotonic() + 20
        while True:
            s = p.admin("deploy show %d" % r["id"])
            if s["throttled"]:
                break
            assert time.monotonic() < deadline, s
            time.sleep(0.05)
        assert s["state"] == "copying" and "Threads_running" in s["throttle_reason"], s
        assert s["rows_copied"] == 0
        bad = p.admin("deploy set %d chunk_time_ms=abc" % r["id"])
        assert not bad["ok"] and "not a number" in bad["error"]
        bad = p.admin("deploy set %d color=blue" % r["id"])
        assert not bad["ok"] and "unknown setting" in bad["error"]
        bad = p.admin("deploy set %d paused=2" % r["id"])
        assert not bad["ok"] and "out of range" in bad["error"]
        ok = p.admin("deploy set %d paused=1" % r["id"])
        assert ok["ok"] and ok["paused"] is True, ok
        ok = p.admin("deploy set %d paused=0" % r["id"])
        assert ok["ok"] and ok["paused"] is False, ok
        ok = p.admin("deploy set %d chunk_time_ms=100" % r["id"])
        assert ok["ok"] and ok["target_chunk_ms"] == 100, ok
        c = p.admin("deploy cancel %d" % r["id"], timeout=30)
        assert c["ok"] and c["state"] == "cancelled", c
        assert not table_exists(mariadb, db, "_t_shadow")
        s = p.admin("deploy show %d" % r["id"])
        assert s["state"] == "cancelled"
        again = p.admin("deploy cancel %d" % r["id"])
        assert again["ok"] and again["state"] == "cancelled"
        # the table is untouched; a new deploy on it is accepted
        assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.t" % db) == ((2000,),)
        r2 = create(p, "%s.t ADD COLUMN y INT" % db)
        assert r2["ok"], r2
        ok = p.admin("deploy set %d max_threads_running=0" % r2["id"])
        assert ok["ok"], ok
        assert wait_state(p, r2["id"], ("ready", "failed"))["state"] == "ready"
    finally:
        sleeper.stop(mariadb)
        p.stop()
        execute(mariadb, "DROP DATABASE IF EXISTS `%s`" % schema)


class RowLock:
    """A direct transaction holding a row of `db`.t FOR UPDATE: the backfill
    stops at the chunk that holds it until commit()."""

    def __init__(self, mariadb, db, row_id):
        self.conn = mariadb.root_connect()
        with self.conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT id FROM `%s`.t WHERE id = %d FOR UPDATE" % (db, row_id))

    def execute(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def commit(self):
        if self.conn is not None:
            self.conn.commit()
            self.conn.close()
            self.conn = None


def wait_show(proxy, did, done, timeout=30):
    """Poll `deploy show` until done(reply); return the reply."""
    deadline = time.monotonic() + timeout
    while True:
        s = proxy.admin("deploy show %d" % did)
        if done(s):
            return s
        assert time.monotonic() < deadline, s
        time.sleep(0.01)


def wait_copied(proxy, did, n, timeout=30):
    return wait_show(proxy, did, lambda s: s["rows_copied"] >= n, timeout)


def held_deploy(proxy, mariadb, db, n, *lock_ids):
    """`db`.t with n rows, a direct transaction holding each row of lock_ids,
    and a deploy on t whose copy has begun (and stops before the first of
    them): (deploy id, the RowLocks)."""
    fill(mariadb, db, "t", n)
    locks = [RowLock(mariadb, db, i) for i in lock_ids]
    try:
        r = create(proxy, "%s.t ADD COLUMN x INT" % db)
        assert r["ok"], r
        wait_copied(proxy, r["id"], 1000)
    except BaseException:
        for lock in locks:
            lock.commit()
        raise
    return r["id"], locks


def through_proxy(proxy, db, sql):
    c = proxy.connect(database=db)
    with c.cursor() as cur:
        cur.execute(sql)
    c.close()


def assert_ready_and_same(proxy, mariadb, db, did):
    s = wait_state(proxy, did, ("ready", "failed"), timeout=120)
    assert s["state"] == "ready", s
    assert_same(mariadb, db, "t", "_t_shadow", ["id", "name", "amount", "created", "flag"])
    return s


def test_deploy_copy_backs_off_from_a_row_locked_mid_chunk(dproxy, mariadb, db):
    """A direct transaction holds a row in the middle of what would be the
    next chunk while writers go through the proxy ahead of it: the
    INSERT ... SELECT meets the lock (NOWAIT), fails at once, and its
    statement leaves nothing behind (the shadow holds exactly the rows the
    committed chunks copied, read in one snapshot with the catalog); the
    copy retries smaller until the lock goes, then completes, with no
    client error and a clean verification."""
    fill(mariadb, db, "t", 60000)
    lock = RowLock(mariadb, db, 30000)
    w = Writers(dproxy, db, "t", nthreads=2, lo=31000, hi=59000).start()
    try:
        r = create(dproxy, "%s.t ADD COLUMN x INT" % db)
        assert r["ok"], r
        did = r["id"]
        s = wait_show(dproxy, did, lambda s: s["lock_retries"] >= 3)
        assert s["state"] == "copying" and s["rows_copied"] < 30000, s
        conn = mariadb.root_connect()
        try:
            with conn.cursor() as cur:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                cur.execute("SELECT copied_upto FROM `%s`.deploys WHERE id = %d" % (dproxy.schema, did))
                upto = cur.fetchone()[0]
                # ids 1..60000 without gaps below the writers' range
                upto = int(upto.strip('[]"')) if upto else 0
                cur.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM `%s`._t_shadow WHERE id < 31000" % db)
                n, top = cur.fetchone()
                cur.execute("ROLLBACK")
        finally:
            conn.close()
        assert 0 < upto < 30000 and n == upto and top == upto, (upto, n, top)
        lock.commit()
        w.phase = "after the lock"
        wait_copied(dproxy, did, 45000, timeout=60)     # into the writers' range
    finally:
        lock.commit()
        w.stop()
    assert w.errors == [], w.errors[:5]
    s = assert_ready_and_same(dproxy, mariadb, db, did)
    assert s["verify_mismatches"] == 0 and s["lock_retries"] >= 3, s


def test_deploy_verify_repairs_writes_that_bypassed_the_proxy(dproxy, mariadb, db):
    """Rows a mirrored write put in the shadow ahead of the copy, then
    changed or deleted directly on the server: the backfill keeps the
    shadow's rows (a mirrored write is newer), the verification finds the
    difference and copies the range again."""
    did, (lock,) = held_deploy(dproxy, mariadb, db, 30000, 25000)
    try:
        s = dproxy.admin("deploy show %d" % did)
        assert s["state"] == "copying" and s["rows_copied"] < 25000, s
        through_proxy(dproxy, db, "UPDATE t SET name = 'via the proxy' WHERE id IN (26001, 26002, 26003, 26004)")
        # then behind the proxy's back
        execute(mariadb, "UPDATE `%s`.t SET name = 'changed directly' WHERE id IN (26001, 26002, 26003)" % db,
                "DELETE FROM `%s`.t WHERE id = 26004" % db)
    finally:
        lock.commit()
    s = assert_ready_and_same(dproxy, mariadb, db, did)
    assert s["verify_mismatches"] >= 1, s


def test_deploy_verify_finds_the_same_change_in_two_rows(dproxy, mariadb, db):
    """Two rows of one chunk, of the same shape, changed the same way behind
    the proxy: a checksum that is linear in the row's bits (CRC32, CRC32C
    and BIT_XOR over the rows) would see the two changes cancel out."""
    did, (lock,) = held_deploy(dproxy, mariadb, db, 40000, 25000)
    try:
        # ids 30011 and 30013: names, amounts and dates of the same lengths
        through_proxy(dproxy, db, "UPDATE t SET name = 'via the proxy', flag = 0 WHERE id IN (30011, 30013)")
        execute(mariadb, "UPDATE `%s`.t SET flag = 1 WHERE id IN (30011, 30013)" % db)
    finally:
        lock.commit()
    s = assert_ready_and_same(dproxy, mariadb, db, did)
    assert s["verify_mismatches"] == 1, s


def test_deploy_verifies_behind_the_copy(dproxy, mariadb, db):
    """The verification runs while the copy does, behind it: a difference
    in a range the copy has passed is found and repaired while the copy is
    still held further on (state copying), and `ready` verifies every row."""
    did, (first, second) = held_deploy(dproxy, mariadb, db, 60000, 25000, 50000)
    try:
        # ahead of the copy: mirrored into the shadow, then changed directly
        through_proxy(dproxy, db, "UPDATE t SET name = 'via the proxy' WHERE id IN (30001, 30002)")
        execute(mariadb, "UPDATE `%s`.t SET name = 'changed directly' WHERE id IN (30001, 30002)" % db)
        # the copy stops below 25000; the verifier follows it there
        s = wait_show(dproxy, did, lambda s: s["rows_verified"] >= 20000)
        assert s["state"] == "copying" and s["rows_copied"] < 25000 and s["verify_mismatches"] == 0, s
        first.commit()
        # the copy passes 30001 and stops below 50000: the verifier finds the rows
        s = wait_show(dproxy, did, lambda s: s["verify_mismatches"] >= 1)
        assert s["state"] == "copying" and s["rows_copied"] < 50000, s
        # the copy has passed 30002 (the verifier compared it), maybe not much more
        assert_same(mariadb, db, "t", "_t_shadow", ["id", "name", "amount", "created", "flag"], where="id <= 30002")
    finally:
        first.commit()
        second.commit()
    s = assert_ready_and_same(dproxy, mariadb, db, did)
    assert s["verify_mismatches"] == 1 and s["rows_verified"] == 60000, s


def test_deploy_restart_verifies_from_the_start(dproxy, mariadb, db):
    """kill -9 while the copy runs and the verifier follows it: its progress
    is not saved, so after the restart it verifies from the table's start
    again, and finds a difference made directly in a range it had passed."""
    did, (lock,) = held_deploy(dproxy, mariadb, db, 60000, 50000)
    try:
        s = wait_show(dproxy, did, lambda s: s["rows_verified"] >= 1000)
        assert s["state"] == "copying", s
        # behind the verifier: this pass does not come back to it
        execute(mariadb, "UPDATE `%s`.t SET name = 'changed directly' WHERE id = 10" % db)
        dproxy.proc.kill()
        dproxy.proc.wait()
    finally:
        lock.commit()
    dproxy.start()
    s = assert_ready_and_same(dproxy, mariadb, db, did)
    assert s["verify_mismatches"] >= 1 and s["rows_verified"] == 60000, s


def test_deploy_resumes_after_kill_9(dproxy, mariadb, db):
    """kill -9 in the middle of the backfill, with writes mirrored before
    it and a transaction open through the proxy at that moment: after a
    restart the copy goes on from its saved position and verifies clean."""
    fill(mariadb, db, "t", 60000)
    lock = RowLock(mariadb, db, 50000)
    try:
        r = create(dproxy, "%s.t ADD COLUMN x INT" % db)
        assert r["ok"], r
        did = r["id"]
        wait_copied(dproxy, did, 1000)
        c = dproxy.connect(database=db)
        with c.cursor() as cur:
            # rows already copied, and rows the copy has not reached
            cur.execute("UPDATE t SET name = 'before kill' WHERE id IN (5, 55000)")
            cur.execute("DELETE FROM t WHERE id IN (6, 55001)")
            cur.execute("INSERT INTO t (name, created) VALUES ('new before kill', NOW())")
            # left open: the server rolls it back when the proxy dies
            cur.execute("BEGIN")
            cur.execute("UPDATE t SET name = 'never committed' WHERE id IN (7, 55002)")
        dproxy.proc.kill()
        dproxy.proc.wait()
    finally:
        lock.commit()
    state, copied = rows(mariadb, "SELECT state, rows_copied FROM `%s`.deploys WHERE id = %d"
                         % (dproxy.schema, did))[0]
    assert state == "copying" and 0 < copied < 50000, (state, copied)
    dproxy.start()
    s = wait_state(dproxy, did, ("ready", "failed"), timeout=120)
    assert s["state"] == "ready", s
    assert s["rows_copied"] >= 59999, s
    assert s["verify_mismatches"] == 0, s
    assert_same(mariadb, db, "t", "_t_shadow", ["id", "name", "amount", "created", "flag"])
    assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.t WHERE name = 'never committed'" % db) == ((0,),)
    assert "resuming (copying, %d rows copied)" % copied in dproxy.read_log()


def test_writes_refused_until_the_catalog_is_read(make_proxy, mariadb, db):
    """Without the deploy state (here: a wrong [cutover] password) the proxy
    cannot know which tables are under deploy: reads flow, writes get an
    error that says why, and the log explains."""
    execute(mariadb, "CREATE TABLE `%s`.t (id INT PRIMARY KEY) ENGINE=InnoDB" % db,
            "INSERT INTO `%s`.t VALUES (1)" % db)
    p = make_proxy(cutover_password="wrong")
    c = p.connect(database=db)
    with c.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM t")
        assert cur.fetchone()[0] == 1
        for sql in ("INSERT INTO t VALUES (2)", "UPDATE t SET id = 3", "CREATE TABLE u (a INT)", "CALL p()"):
            with pytest.raises(pymysql.MySQLError) as e:
                cur.execute(sql)
            assert e.value.args[0] == 1105 and "not loaded" in e.value.args[1], e.value.args
        cur.execute("SET @a = 1")
        cur.execute("BEGIN")
        cur.execute("SELECT * FROM t FOR UPDATE")
        cur.execute("COMMIT")
    assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.t" % db) == ((1,),)
    assert "cannot read the deploy catalog" in p.read_log()
    r = p.admin("deploy create %s.t ADD COLUMN x INT" % db)
    assert not r["ok"] and "control connection" in r["error"], r
    # the other deploy commands say the catalog is not loaded (not "no
    # deploy request"), and that asking again may answer
    for line in ("deploy list", "deploy show 1", "deploy cancel 1", "deploy cutover 1"):
        r = p.admin(line)
        assert not r["ok"] and r.get("loading") is True and "not loaded yet" in r["error"] and \
            "Access denied" in r["error"], (line, r)
    # cutoverctl --wait-for waits that out, here until its timeout
    out = p.ctl("-w", "ready", "-i", 100, "-t", 1, "deploy", "show", 1)
    assert out.returncode == 3 and "its deploy catalog is not loaded yet: trying again" in out.stderr, out


def test_cutoverctl_wait_for(dproxy, mariadb, db):
    """cutoverctl --wait-for STATES deploy show ID: asks again until the
    state is one of STATES (exit 0, the last reply on stdout, progress on
    stderr); exit 3 at --timeout, 1 when the deploy fails or does not exist;
    usage errors (exit 2) for a command other than deploy show, a bad
    interval, --timeout without --wait-for."""
    fill(mariadb, db, "t", 500)
    r = create(dproxy, "--paused %s.t ADD COLUMN x INT" % db)
    assert r["ok"], r
    did = r["id"]
    wait_show(dproxy, did, lambda s: s["throttled"], timeout=20)
    out = dproxy.ctl("--wait-for", "ready", "--interval", 100, "--timeout", 1, "deploy", "show", did)
    assert out.returncode == 3, out
    assert "timed out after 1 s waiting for ready" in out.stderr, out
    assert re.search(r"copying \(backfill\)  0\.0%  0/\d+ rows", out.stderr) and "throttled: paused by the operator" in out.stderr, out
    assert out.stderr.count("copying") == 1, out      # a line only when something changed
    assert out.stdout == "", out
    # the timeout bounds the sleep between tries too (an hour here)
    t0 = time.monotonic()
    out = dproxy.ctl("-w", "ready", "-i", 3600000, "-t", 0.5, "deploy", "show", did)
    assert out.returncode == 3 and time.monotonic() - t0 < 20, out
    # cutoverd goes away while it waits (kill -9, restart): it asks again
    waiter = subprocess.Popen([CUTOVERCTL, "-s", dproxy.admin_socket, "-w", "verifying,ready", "-i", "50",
                               "-t", "60", "--json", "deploy", "show", str(did)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "copying" in waiter.stderr.readline()      # it has had its first answer
    dproxy.proc.kill()
    dproxy.proc.wait()
    time.sleep(0.3)
    dproxy.start()
    assert dproxy.admin("deploy set %d paused=0" % did)["ok"]
    stdout, stderr = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, (stdout, stderr)
    assert "trying again" in stderr, stderr
    reply = json.loads(stdout)
    assert reply["ok"] and reply["state"] in ("verifying", "ready") and reply["id"] == did, reply
    out = dproxy.ctl("-w", "ready", "-t", 60, "deploy", "show", did)
    assert out.returncode == 0 and "state: ready" in out.stdout, out
    # a deploy that fails: exit 1, its reply and why
    execute(mariadb, "CREATE TABLE `%s`.n (id INT PRIMARY KEY, v INT) ENGINE=InnoDB" % db,
            "INSERT INTO `%s`.n VALUES (1, 1), (2, 1000)" % db)
    r = create(dproxy, "%s.n MODIFY v TINYINT" % db)
    assert r["ok"], r
    out = dproxy.ctl("-w", "ready", "-i", 50, "-t", 60, "deploy", "show", r["id"])
    assert out.returncode == 1, out
    assert "state: failed" in out.stdout and "the state is failed, from which ready cannot be reached" in \
        out.stderr, out
    out = dproxy.ctl("-w", "ready", "deploy", "show", 999)
    assert out.returncode == 1 and "no deploy request" in out.stderr, out
    for args, msg in [(("-w", "ready", "status"), "goes with 'deploy show ID'"),
                      (("-w", "ready", "deploy", "cutover", did), "goes with 'deploy show ID'"),
                      (("-w", "ready", "-i", 5, "deploy", "show", did), "--interval is milliseconds"),
                      (("-w", "ready", "-t", "x", "deploy", "show", did), "--timeout is seconds"),
                      (("-w", "", "deploy", "show", did), "--wait-for needs states"),
                      (("-w", "ready,done", "deploy", "show", did), "'done' is not a state"),
                      (("-t", 5, "deploy", "show", did), "go with --wait-for")]:
        out = dproxy.ctl(*args)
        assert out.returncode == 2 and msg in out.stderr, (args, out)
    # past ready: waiting for it ends at once (exit 1); for complete, 0
    assert dproxy.admin("deploy cutover %d" % did, timeout=60)["ok"]
    out = dproxy.ctl("-w", "ready,verifying", "deploy", "show", did)
    assert out.returncode == 1 and "the state is complete, from which ready,verifying cannot be reached" in \
        out.stderr, out
    out = dproxy.ctl("-w", "reverted,complete", "deploy", "show", did)
    assert out.returncode == 0 and "state: complete" in out.stdout, out
    # no cutoverd there: exit 2 at once, not a wait
    out = subprocess.run([CUTOVERCTL, "-s", dproxy.admin_socket + ".none", "-w", "ready", "deploy", "show", str(did)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "cannot connect" in out.stderr, out


def test_deploy_create_dry_run(dproxy, mariadb, db):
    """--dry-run: the checks, the shadow built with the ALTER and read (the
    column mapping, added and dropped columns, deferred indexes), then
    dropped; no catalog row, no deploy, nothing mirrored.  A refused ALTER
    gets the error a real create would."""
    fill(mariadb, db, "t", 300)
    before = tables(mariadb, db)
    r = create(dproxy, "--dry-run %s.t ADD COLUMN note VARCHAR(20) NULL, DROP COLUMN flag, "
                       "CHANGE name title VARCHAR(60) NOT NULL, MODIFY amount DECIMAL(14,2) NULL, "
                       "ADD INDEX k_note (note)" % db)
    assert r["ok"] and r["dry_run"] is True, r
    assert r["table"] == "%s.t" % db and r["shadow_table"] == "_t_shadow" and r["rows_estimate"] > 0, r
    cols = {c["column"]: c for c in r["columns"]}
    assert sorted(cols) == ["amount", "created", "id", "name"], r["columns"]
    assert cols["id"]["primary_key"] and not cols["id"]["converted"], cols
    assert cols["name"]["becomes"] == "title" and cols["name"]["new_type"] == "varchar(60)", cols
    assert cols["amount"]["converted"] and cols["amount"]["new_type"] == "decimal(14,2)", cols
    assert not cols["created"]["converted"], cols
    assert r["added_columns"] == ["note"] and r["dropped_columns"] == ["flag"], r
    assert r["deferred_indexes"] == "ADD INDEX `k_note` (`note`)", r
    assert tables(mariadb, db) == before
    assert dproxy.admin("deploy list")["deploys"] == []
    # a column renamed away and a new one under its old name: added
    r = create(dproxy, "--dry-run %s.t CHANGE name title VARCHAR(60) NOT NULL, ADD COLUMN name INT NULL" % db)
    assert r["ok"], r
    assert {c["column"]: c["becomes"] for c in r["columns"]}["name"] == "title", r["columns"]
    assert r["added_columns"] == ["name"] and r["dropped_columns"] == [], r
    if table_exists(mariadb, dproxy.schema, "deploys"):
        assert rows(mariadb, "SELECT COUNT(*) FROM `%s`.deploys" % dproxy.schema) == ((0,),)
    # refused as a real create would be, nothing left
    r = create(dproxy, "--dry-run %s.t ADD COLUMN x INTEGR" % db)
    assert not r["ok"] and "the ALTER failed on the shadow table" in r["error"], r
    r = create(dproxy, "--dry-run %s.t DROP PARTITION p0" % db)
    assert not r["ok"] and "DROP PARTITION" in r["error"], r
    assert tables(mariadb, db) == before
    # a write through the proxy is not mirrored nor refused: no deploy
    c = dproxy.connect(database=db)
    with c.cursor() as cur:
        assert cur.execute("UPDATE t SET flag = 1 WHERE id = 3") in (0, 1)
    c.commit()
    c.close()
    # and the real thing after it
    s = create_ready(dproxy, "%s.t ADD COLUMN note VARCHAR(20) NULL" % db)
    assert s["rows_copied"] == 300


def test_deploy_create_paused(dproxy, mariadb, db):
    fill(mariadb, db, "t", 500)
    r = create(dproxy, "--frobnicate %s.t ADD COLUMN x INT" % db)
    assert not r["ok"] and "unknown option" in r["error"], r
    r = create(dproxy, "--paused %s.t ADD COLUMN x INT" % db)
    assert r["ok"], r
    time.sleep(0.3)
    s = dproxy.admin("deploy show %d" % r["id"])
    assert s["state"] == "copying" and s["rows_copied"] == 0 and s["paused"] and s["throttled"], s
    assert s["step"] == "backfill", s
    assert "paused by the operator" in s["throttle_reason"], s
    dproxy.admin("deploy set %d paused=0" % r["id"])
    s = wait_state(dproxy, r["id"], ("ready", "failed"))
    assert s["state"] == "ready" and s["rows_copied"] == 500 and s["step"] is None, s


def index_list(mariadb, db, table):
    return rows(mariadb, "SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART FROM "
                         "information_schema.STATISTICS WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' "
                         "ORDER BY INDEX_NAME, SEQ_IN_INDEX" % (db, table))


def test_deploy_builds_plain_indexes_after_the_copy(dproxy, mariadb, db):
    """The shadow's non-unique indexes are left out of the copy and built
    after it; unique ones stay throughout; the result has exactly the
    indexes the ALTER asks for."""
    fill(mariadb, db, "t", 3000, ddl="CREATE TABLE `%s`.t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                                     "name VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NULL, created DATETIME(6) NOT NULL, "
                                     "flag TINYINT NULL, KEY k_name (name(10), flag)) ENGINE=InnoDB" % db)
    alter = "ADD INDEX idx_created (created), ADD UNIQUE KEY uq_id_name (id, name)"
    execute(mariadb, "CREATE TABLE `%s`.ref LIKE `%s`.t" % (db, db), "ALTER TABLE `%s`.ref %s" % (db, alter))
    r = create(dproxy, "--paused %s.t %s" % (db, alter))
    assert r["ok"], r
    s = dproxy.admin("deploy show %d" % r["id"])
    assert "idx_created" in s["deferred_indexes"] and "k_name" in s["deferred_indexes"], s
    names = {x[0] for x in index_list(mariadb, db, "_t_shadow")}
    assert names == {"PRIMARY", "uq_id_name"}, names
    # writes while the indexes are missing are mirrored as always
    c = dproxy.connect(database=db)
    with c.cursor() as cur:
        cur.execute("UPDATE t SET name = 'during' WHERE id = 10")
        cur.execute("INSERT INTO t (name, created) VALUES ('new', NOW())")
    dproxy.admin("deploy set %d paused=0" % r["id"])
    s = wait_state(dproxy, r["id"], ("ready", "failed"))
    assert s["state"] == "ready" and s["deferred_indexes"] is None, s
    assert index_list(mariadb, db, "_t_shadow") == index_list(mariadb, db, "ref")
    assert_same(mariadb, db, "t", "_t_shadow", ["id", "name", "amount", "created", "flag"])


SPAN_KEYS = {
    # dense runs, gaps of every size, the type's ends
    "BIGINT": ([-9223372036854775808, -9223372036854775807] + list(range(-2500, 2500)) +
               [10 ** 6, 10 ** 9] + list(range(10 ** 12, 10 ** 12 + 6000)) +
               [2 ** 62, 9223372036854775806, 9223372036854775807]),
    "BIGINT UNSIGNED": ([0, 1] + list(range(1000, 4000)) + [2 ** 40] + list(range(2 ** 63 - 3000, 2 ** 63 + 3000)) +
                        [18446744073709551614, 18446744073709551615]),
    "TINYINT": list(range(-128, 128)),
    "INT": list(range(1, 20000, 3)) + list(range(1000000, 1004000)) + [2147483647],
}


@pytest.mark.parametrize("ktype", sorted(SPAN_KEYS))
def test_deploy_copies_integer_keys_by_value(dproxy, mariadb, db, ktype):
    """A primary key of one integer column is copied in chunks bounded by
    value: every row arrives across gaps, signs, dense runs after sparse
    stretches (where a chunk is cut by its row limit) and the type's ends."""
    keys = SPAN_KEYS[ktype]
    execute(mariadb, "CREATE TABLE `%s`.t (id %s NOT NULL PRIMARY KEY, v VARCHAR(30) NOT NULL)" % (db, ktype))
    for i in range(0, len(keys), 5000):
        execute(mariadb, "INSERT INTO `%s`.t VALUES %s"
                % (db, ", ".join("(%d, 'v%d')" % (k, k) for k in keys[i:i + 5000])))
    s = create_ready(dproxy, "%s.t ADD COLUMN note VARCHAR(10) NULL" % db)
    assert s["rows_copied"] == len(keys) and s["verify_mismatches"] == 0, s
    got = [x[0] for x in rows(mariadb, "SELECT id FROM `%s`._t_shadow ORDER BY id" % db)]
    assert got == sorted(keys)
    assert_same(mariadb, db, "t", "_t_shadow", ["id", "v"])


def test_deploy_chunk_cut_by_its_limit_ends_at_its_last_row(make_proxy, unique_name, mariadb, db):
    """A chunk by value re-reads the key range inside its transaction, which
    fixes the transaction's snapshot; rows committed after that, and copied
    by the INSERT's locking read, must count when the chunk is cut by its
    LIMIT and its end is looked up.  ([debug] copy_stall_ms holds the chunk
    there while rows arrive directly on the server.)  Read in the old
    snapshot, the end was not found and the deploy failed ("cannot read the
    last key of a chunk"); with fewer rows missing, rows were skipped."""
    schema = unique_name("_cutover")
    p = make_proxy("[debug]\ncopy_stall_ms = 1000\n", cutover_schema=schema)
    try:
        execute(mariadb, "CREATE TABLE `%s`.t (id INT NOT NULL PRIMARY KEY, v VARCHAR(20) NOT NULL)" % db,
                "INSERT INTO `%s`.t VALUES (1, 'first'), (500000, 'last')" % db)
        r = create(p, "%s.t ADD COLUMN note INT NULL" % db)
        assert r["ok"], r
        # chunk 1 is [1, 1000] (it reads the range: stall 1); chunk 2, wide
        # after finding one row, reaches the largest key and reads it again
        deadline = time.monotonic() + 30
        while p.read_log().count("copy_stall_ms: stalling") < 2:
            assert time.monotonic() < deadline, p.read_log()[-2000:]
            time.sleep(0.02)
        execute(mariadb, "INSERT INTO `%s`.t VALUES %s"
                % (db, ", ".join("(%d, 'x%d')" % (i, i) for i in range(1001, 3501))))
        s = wait_state(p, r["id"], ("ready", "failed"), timeout=120)
        assert s["state"] == "ready", s
        assert s["rows_copied"] == 2502 and s["verify_mismatches"] == 0, s
        assert_same(mariadb, db, "t", "_t_shadow", ["id", "v"])
    finally:
        p.stop()
        execute(mariadb, "DROP DATABASE IF EXISTS `%s`" % schema)


def test_deploy_index_build_does_not_stall_writers(dproxy, mariadb, db):
    """While the deferred index build waits for the shadow's metadata lock
    (here: a session outside the proxy reads the shadow in an open
    transaction), mirrored writes queue behind that lock request.  They wait
    at most about index_lock_wait_ms (100 ms): the build is stopped and
    retried, not left waiting for its lock_wait_timeout (2 s) as it used
    to be.  Once the session ends, the build is done and the deploy ready."""
    fill(mariadb, db, "t", 2000)
    r = create(dproxy, "--paused %s.t ADD INDEX idx_flag (flag)" % db)
    assert r["ok"], r
    did = r["id"]
    assert "idx_flag" in dproxy.admin("deploy show %d" % did)["deferred_indexes"]
    holder = mariadb.root_connect()
    try:
        with holder.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT COUNT(*) FROM `%s`.`_t_shadow`" % db)
        dproxy.admin("deploy set %d paused=0" % did)
        deadline = time.monotonic() + 30
        while True:
            s = dproxy.admin("deploy show %d" % did)
            if "metadata lock" in (s["throttle_reason"] or ""):
                break
            assert s["state"] == "copying" and time.monotonic() < deadline, s
            time.sleep(0.02)
        c = dproxy.connect(database=db, autocommit=True)
        worst, n = 0.0, 0
        with c.cursor() as cur:
            end = time.monotonic() + 3
            while time.monotonic() < end:
                t0 = time.monotonic()
                cur.execute("UPDATE t SET flag = %d WHERE id = %d" % (n % 3, 1 + n % 2000))
                worst = max(worst, time.monotonic() - t0)
                n += 1
        c.close()
        s = dproxy.admin("deploy show %d" % did)
        assert s["state"] == "copying" and s["deferred_indexes"] is not None, s
        assert s["step"] == "building indexes", s
        tries = int(s["throttle_reason"].rsplit("(", 1)[1].split()[0])
        assert tries >= 2, s
        assert worst < 1.0, "a write waited %.3f s behind the index build (%d writes)" % (worst, n)
    finally:
        holder.rollback()
        holder.close()
    s = wait_state(dproxy, did, ("ready", "failed"))
    assert s["state"] == "ready" and s["deferred_indexes"] is None, s
    assert "idx_flag" in {x[0] for x in index_list(mariadb, db, "_t_shadow")}
    assert_same(mariadb, db, "t", "_t_shadow", ["id", "name", "amount", "created", "flag"])


def test_deploy_pause_survives_a_restart(dproxy, mariadb, db):
    fill(mariadb, db, "t", 300)
    r = create(dproxy, "%s.t ADD COLUMN x INT" % db)
    assert r["ok"], r
    wait_state(dproxy, r["id"], ("ready", "copying", "verifying"))
    fill(mariadb, db, "u", 300)
    r = create(dproxy, "--paused %s.u ADD COLUMN x INT" % db)
    assert r["ok"], r
    ok = dproxy.admin("deploy set %d paused=1 chunk_time_ms=123" % r["id"])
    assert ok["ok"], ok
    # the settings are saved by a thread of their own: wait for the catalog
    deadline = time.monotonic() + 20
    while '"paused":true' not in rows(mariadb, "SELECT mapping FROM `%s`.deploys WHERE id = %d"
                                      % (dproxy.schema, r["id"]))[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    dproxy.stop()
    dproxy.start()
    s = dproxy.admin("deploy show %d" % r["id"])
    assert s["state"] == "copying" and s["paused"] and s["rows_copied"] == 0, s
    assert s["target_chunk_ms"] == 123, s
    dproxy.admin("deploy set %d paused=0" % r["id"])
    assert wait_state(dproxy, r["id"], ("ready", "failed"))["state"] == "ready"


def test_deploy_cancel_waits_for_the_control_connection(dproxy, mariadb, db):
    """A cancel while the [cutover] account cannot log in retries until it
    can, then drops the shadow and answers (it used to give up silently)."""
    fill(mariadb, db, "t", 100)
    r = create(dproxy, "%s.t ADD COLUMN x INT" % db)
    assert r["ok"], r
    assert wait_state(dproxy, r["id"], ("ready", "failed"))["state"] == "ready"
    execute(mariadb, "ALTER USER 'cutover'@'%' ACCOUNT LOCK")
    try:
        with dproxy.admin_connect(timeout=30) as a:
            a.send_raw(b"deploy cancel %d\n" % r["id"])
            time.sleep(1.5)    # at least one refused login and a retry
            assert table_exists(mariadb, db, "_t_shadow")
            execute(mariadb, "ALTER USER 'cutover'@'%' ACCOUNT UNLOCK")
            reply = a.read_reply()
    finally:
        execute(mariadb, "ALTER USER 'cutover'@'%' ACCOUNT UNLOCK")
    assert reply["ok"] and reply["state"] == "cancelled", reply
    assert not table_exists(mariadb, db, "_t_shadow")


def test_deploy_list_history(dproxy, mariadb, db):
    """deploy list: every deploy request that has not ended, and the 20
    (--last N) that ended last; --all: every one; not_shown counts the
    rest.  Bad arguments: an error, nothing listed."""
    ids = []
    for k in range(4):
        execute(mariadb, "CREATE TABLE `%s`.h%d (id INT PRIMARY KEY, v INT) ENGINE=InnoDB" % (db, k),
                "INSERT INTO `%s`.h%d VALUES (1, 1), (2, 2)" % (db, k))
        r = create(dproxy, "%s.h%d ADD COLUMN w INT" % (db, k))
        assert r["ok"], r
        ids.append(r["id"])
    for did in ids:
        wait_state(dproxy, did, ("ready",))
    # three end, not in the order they were made (a second apart: the end
    # time is in seconds); the last one runs on
    for k, did in enumerate((ids[2], ids[0], ids[1])):
        if k:
            time.sleep(1.1)
        assert dproxy.admin("deploy cancel %d" % did, timeout=30)["ok"]

    def listed(line):
        r = dproxy.admin(line)
        assert r["ok"], r
        return [d["id"] for d in r["deploys"]], r["not_shown"]

    assert listed("deploy list") == (ids, 0)
    assert listed("deploy list --all") == (ids, 0)
    assert listed("deploy list --last 1") == ([ids[1], ids[3]], 2)       # the one that ended last
    assert listed("deploy list --last 2") == ([ids[0], ids[1], ids[3]], 1)
    assert listed("deploy list --last 0") == ([ids[3]], 3)
    for bad in ("deploy list --last", "deploy list --last x", "deploy list --last -1", "deploy list all",
                "deploy list --all 3", "deploy list --last 2 3"):
        r = dproxy.admin(bad)
        assert not r["ok"] and "deploy list" in r["error"] and "deploys" not in r, (bad, r)
    out = dproxy.ctl("deploy", "list", "--last", "1")
    assert out.returncode == 0 and "not_shown" in out.stdout, out
