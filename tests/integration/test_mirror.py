"""
test_mirror.py - writes through the proxy to a table under deploy (issue 3):
mirrored into the shadow inside the writer's transaction, or refused with a
clear error; what the client sees does not change.

Each case runs the same statement on two tables with the same rows: `t`,
through the proxy while a deploy request is active on it, and its twin
`u`, straight on MariaDB.  The client must see the same answer from both
(affected rows, insert id, warnings, errors), both must end with the same
rows, and the shadow of `t` must equal `t` through the column mapping.
"""

import contextlib
import os
import time

import pymysql
import pytest

from conftest import SANITIZED
from test_deploy import Sleeper, assert_same, execute, fill, rows, wait_state  # noqa: F401

COLS = ["id", "name", "amount", "created", "flag"]

SHAPES = {
    "insert_autoinc": ["INSERT INTO {t} (name, amount, created, flag) VALUES ('new', 1.50, '2025-01-01', 1)"],
    "insert_multi": ["INSERT INTO {t} (name, amount, created, flag) VALUES ('a', 1, '2025-01-01', 0), "
                     "('b', NULL, '2025-01-02', NULL), ('c', 3, '2025-01-03', 1)"],
    "insert_explicit": ["INSERT INTO {t} (id, name, amount, created, flag) VALUES (100001, 'x', 2, '2025-02-01', 1), "
                        "(100002, 'y', 3, '2025-02-02', 0)"],
    "insert_no_columns": ["INSERT INTO {t} VALUES (100003, 'z', 4, '2025-02-03', 1)"],
    "insert_set": ["INSERT INTO {t} SET name = 'set', created = '2025-03-01'"],
    "insert_null_key": ["INSERT INTO {t} (id, name, created) VALUES (NULL, 'nullkey', '2025-03-02')"],
    "insert_select": ["INSERT INTO {t} (name, amount, created, flag) SELECT name, amount, created, flag FROM {t} "
                      "WHERE id < 4 ORDER BY id"],
    "insert_select_none": ["INSERT INTO {t} (name, created) SELECT name, created FROM {t} WHERE id < 0"],
    "insert_select_keys": ["INSERT INTO {t} (id, name, amount, created, flag) SELECT id + 200000, "
                           "CONCAT(name, ', copy'), amount, created, flag FROM {t} WHERE id BETWEEN 3 AND 6 "
                           "ORDER BY id DESC LIMIT 3"],
    "insert_select_other_table": ["INSERT INTO {t} (id, name, created) SELECT DISTINCT j.id + 300000 AS k, "
                                  "CONCAT('j', j.a), '2025-01-01' FROM j WHERE j.id <= 5"],
    "update_key": ["UPDATE {t} SET name = CONCAT(name, '!') WHERE id = 5"],
    "update_range": ["UPDATE {t} SET amount = amount + 1 WHERE id BETWEEN 10 AND 50"],
    "update_order_limit": ["UPDATE {t} SET flag = 1 - flag ORDER BY created DESC, id LIMIT 7"],
    "update_none": ["UPDATE {t} SET name = 'nobody' WHERE id < 0"],
    "update_alias": ["UPDATE {t} AS x SET x.name = 'alias' WHERE x.id IN (20, 21)"],
    "update_warning": ["UPDATE {t} SET flag = 300 WHERE id = 22"],
    "delete_key": ["DELETE FROM {t} WHERE id = 7"],
    "update_key_change": ["UPDATE {t} SET name = 'moved', id = id + 500000 WHERE id BETWEEN 40 AND 42"],
    "update_key_change_by_key": ["UPDATE {t} SET id = 600001 WHERE id = 43"],
    "update_key_shift": ["UPDATE {t} SET id = id + 1 WHERE id BETWEEN 290 AND 300 ORDER BY id DESC"],
    "delete_order_limit": ["DELETE FROM {t} WHERE id > 100 ORDER BY id LIMIT 5"],
    "mixed": ["INSERT INTO {t} (name, created) VALUES ('m1', '2025-04-01')",
              "UPDATE {t} SET amount = 9 WHERE name = 'm1'",
              "DELETE FROM {t} WHERE id = 30"],
    "insert_ignore_keys": ["INSERT IGNORE INTO {t} (id, name, created) VALUES (1, 'ign', '2025-01-01'), "
                           "(100010, 'ign2', '2025-01-01')"],
    "odku_keys": ["INSERT INTO {t} (id, name, created) VALUES (2, 'odku', '2025-01-01'), (100011, 'new', '2025-01-01') "
                  "ON DUPLICATE KEY UPDATE name = CONCAT(name, '+'), amount = 7"],
    "replace_keys": ["REPLACE INTO {t} (id, name, created) VALUES (3, 'rep', '2025-01-01'), (100012, 'rep2', '2025-01-02')"],
    "update_join": ["UPDATE {t} JOIN j ON {t}.id = j.id SET {t}.name = 'joined', j.b = j.b + 1 WHERE j.a = 1"],
    "delete_join": ["DELETE x FROM {t} AS x JOIN j USING (id) WHERE j.a = 2 AND x.id < 60"],
    "update_self_join": ["UPDATE {t} AS a JOIN {t} AS b ON a.id = b.id + 100 SET a.name = CONCAT(b.name, '>'), "
                         "a.amount = b.amount WHERE b.id BETWEEN 1 AND 5"],
    "delete_self_join": ["DELETE a FROM {t} AS a JOIN {t} AS b ON a.flag = b.flag AND a.id = b.id + 1 "
                         "WHERE b.id BETWEEN 60 AND 75"],
    "delete_join_other_self": ["DELETE j FROM j JOIN {t} AS a ON j.id = a.id JOIN {t} AS b ON b.id = a.id + 1 "
                               "WHERE j.id = 0"],
    "delete_join_other": ["DELETE j FROM j JOIN {t} USING (id) WHERE j.id = 0"],
    "dup_key_error": ["INSERT INTO {t} (id, name, created) VALUES (1, 'dup', '2025-01-01')"],
    "insert_select_star": ["INSERT INTO {t} (id, name, amount, created, flag) SELECT * FROM (SELECT id + 400000 AS id, "
                           "name, amount, created, flag FROM {t} WHERE id < 4) AS x"],
    "replace_select_star": ["REPLACE INTO {t} (name, id, created) SELECT x.* FROM (SELECT CONCAT('s', j.a) AS n, "
                            "j.id * 2, '2025-07-07' FROM j WHERE j.id BETWEEN 2 AND 4) AS x"],
    "insert_ignore_select": ["INSERT IGNORE INTO {t} (id, name, created, flag) SELECT id + 298, CONCAT(name, '?'), "
                             "created, flag FROM {t} WHERE id BETWEEN 1 AND 3"],
    "odku_select": ["INSERT INTO {t} (id, name, amount, created) SELECT j.id * 150, 'odku sel', j.a, '2025-06-01' "
                    "FROM j WHERE j.id BETWEEN 1 AND 3 ON DUPLICATE KEY UPDATE amount = amount + 100, "
                    "name = VALUES(name)"],
    "replace_select": ["REPLACE INTO {t} (id, name, created) SELECT id + 5, CONCAT('r', name), created "
                       "FROM {t} WHERE id IN (4, 6, 500)"],
}

# MariaDB's RETURNING: the statement answers with its rows, not an OK
# packet.  Run in fewer combinations than SHAPES (test_mirror_returning*):
# the mirroring is that of the same statements without RETURNING.
RETURNING_SHAPES = {
    "insert_returning": ["INSERT INTO {t} (name, amount, created, flag) VALUES ('r1', 1, '2025-05-01', 0), "
                         "('r2', NULL, '2025-05-02', 1), ('r3', 3, '2025-05-03', NULL) RETURNING id, name"],
    "insert_explicit_returning": ["INSERT INTO {t} (id, name, created) VALUES (100021, 'e1', '2025-05-04'), "
                                  "(100022, 'e2', '2025-05-05') RETURNING *"],
    "insert_ignore_returning": ["INSERT IGNORE INTO {t} (id, name, created) VALUES (1, 'i1', '2025-05-06'), "
                                "(100023, 'i2', '2025-05-07') RETURNING id, name"],
    "replace_returning": ["REPLACE INTO {t} (id, name, created) VALUES (8, 'rp', '2025-05-08'), "
                          "(100024, 'rp2', '2025-05-09') RETURNING id, name, created"],
    "delete_key_returning": ["DELETE FROM {t} WHERE id = 9 RETURNING id, name, amount"],
    "delete_range_returning": ["DELETE FROM {t} WHERE id BETWEEN 80 AND 85 RETURNING id"],
    "delete_order_limit_returning": ["DELETE FROM {t} WHERE id > 200 ORDER BY id DESC LIMIT 3 RETURNING id, flag"],
    "delete_none_returning": ["DELETE FROM {t} WHERE id < 0 RETURNING id"],
    "returning_then_update": ["INSERT INTO {t} (name, created) VALUES ('rt', '2025-05-10') RETURNING id",
                              "UPDATE {t} SET amount = 11 WHERE name = 'rt'",
                              "DELETE FROM {t} WHERE id = 11 RETURNING name"],
}

MODES = ["autocommit", "commit", "rollback", "savepoint"]


def run(conn, sqls, mode):
    """Run sqls in a mode; return what the client saw of each."""
    seen = []
    with conn.cursor() as cur:
        if mode != "autocommit":
            cur.execute("BEGIN")
        if mode == "savepoint":
            cur.execute("SAVEPOINT s1")
        for sql in sqls:
            try:
                n = cur.execute(sql)
                seen.append(("ok", n, cur.lastrowid, conn.warning_count if hasattr(conn, "warning_count") else None,
                             cur.fetchall() if cur.description else None))
                cur.execute("SHOW WARNINGS")
                seen.append(("warnings", cur.fetchall()))
            except pymysql.MySQLError as e:
                seen.append(("error", e.args[0]))
        if mode == "commit":
            cur.execute("COMMIT")
        elif mode == "rollback":
            cur.execute("ROLLBACK")
        elif mode == "savepoint":
            cur.execute("ROLLBACK TO SAVEPOINT s1")
            cur.execute("UPDATE %s SET name = 'after savepoint' WHERE id = 3" % sqls[0].split()[1]
                        if sqls[0].startswith("UPDATE") else "DO 1")
            cur.execute("COMMIT")
        cur.execute("SELECT @@in_transaction, LAST_INSERT_ID()")
        seen.append(("state", cur.fetchall()))
    return seen


@pytest.fixture(scope="module")
def env(mariadb, tmp_path_factory):
    """One proxy and one deploy for the module; tests use fresh tables."""
    from conftest import ProxyFactory
    factory = ProxyFactory(mariadb, tmp_path_factory)
    schema = "_cutover_mirror"
    proxy = factory(cutover_schema=schema)
    execute(mariadb, "CREATE DATABASE IF NOT EXISTS mir",
            "CREATE TABLE mir.j (id INT PRIMARY KEY, a INT, b INT NOT NULL DEFAULT 0) ENGINE=InnoDB",
            "INSERT INTO mir.j (id, a) SELECT seq, seq % 3 FROM mir.seq_1_to_100")
    yield proxy
    factory.teardown()
    execute(mariadb, "DROP DATABASE IF EXISTS mir", "DROP DATABASE IF EXISTS `%s`" % schema)


_counter = [0]


@pytest.fixture(autouse=True)
def drop_pairs(mariadb):
    """Drop the tables a test made with deployed_pair(): a schema that grows
    by two tables a case makes every later deploy create slower (the server
    reads information_schema across all of them)."""
    first = _counter[0] + 1
    yield
    names = ["mir.`%s%d`" % (p, k) for k in range(first, _counter[0] + 1) for p in ("t", "u")]
    names += ["mir.`_t%d_%s`" % (k, s) for k in range(first, _counter[0] + 1) for s in ("shadow", "old")]
    if names:
        execute(mariadb, "DROP TABLE IF EXISTS " + ", ".join(names))


def go(env, did):
    """Let deploy `did` (created --paused) copy and verify; wait for ready."""
    r = env.admin("deploy set %d paused=0" % did)
    assert r["ok"], r
    s = wait_state(env, did, ("ready", "failed"))
    assert s["state"] == "ready", s
    return s


def create(env, line):
    r = env.admin("deploy create --paused " + line, timeout=60)
    assert r["ok"], r
    return r["id"]


def deployed_pair(env, mariadb, n=300, hold_copy=False, cut_over=False, unique=False, index=False,
                  alter="ADD COLUMN note VARCHAR(20) NULL, ADD INDEX (created)"):
    """Tables mir.t<k> (under deploy) and mir.u<k> (its twin).  The deploy
    is ready, or with hold_copy still copying (held before its first row:
    go() lets it run), or with cut_over complete (the new schema live under
    t, the original mirrored in reverse as _t<k>_old; u gets the new schema
    too).  unique: both have a unique key uq_name (name) besides the
    primary key."""
    _counter[0] += 1
    t, u = "t%d" % _counter[0], "u%d" % _counter[0]
    fill(mariadb, "mir", t, n)
    if unique:
        execute(mariadb, "ALTER TABLE mir.%s ADD UNIQUE KEY uq_name (name)" % t)
    if index:
        execute(mariadb, "ALTER TABLE mir.%s ADD INDEX by_created (created)" % t)
    execute(mariadb, "CREATE TABLE mir.%s LIKE mir.%s" % (u, t), "INSERT INTO mir.%s SELECT * FROM mir.%s" % (u, t),
            "ALTER TABLE mir.%s AUTO_INCREMENT = %d" % (u, n + 1))
    did = create(env, "mir.%s %s" % (t, alter))
    if hold_copy:
        s = env.admin("deploy show %d" % did)
        assert s["state"] == "copying" and s["rows_copied"] == 0, s
    else:
        go(env, did)
    if cut_over:
        r = env.admin("deploy cutover %d" % did, timeout=60)
        assert r["ok"] and r["state"] == "complete", r
        execute(mariadb, "ALTER TABLE mir.%s %s" % (u, alter))
    return t, u, did


def other_table(t, phase):
    """The table mirrored into: the shadow, or after the cut-over the original."""
    return "_%s_old" % t if phase == "complete" else "_%s_shadow" % t


def settle(env, mariadb, t, u, did, phase):
    """t (through the proxy) and its twin u (direct) hold the same rows;
    with the copy done, the shadow (after the cut-over: the original) holds
    them too; then the deploy ends (end_deploy)."""
    a = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t))
    b = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), u))
    assert a == b
    if phase == "copying":
        s = go(env, did)
        assert s["verify_mismatches"] == 0, s
    assert_same(mariadb, "mir", t, other_table(t, phase), COLS)
    return end_deploy(env, did, phase)


def ready_agrees_cancel(env, mariadb, t, did, mirrored=None):
    """The deploy of t is still ready, its shadow equals t; cancel it."""
    assert_same(mariadb, "mir", t, "_%s_shadow" % t, COLS)
    s = env.admin("deploy show %d" % did)
    assert s["state"] == "ready", s
    if mirrored is not None:
        assert s["mirrored"] == mirrored, s
    env.admin("deploy cancel %d" % did, timeout=30)


def end_deploy(env, did, phase):
    s = env.admin("deploy show %d" % did)
    assert s["state"] == ("complete" if phase == "complete" else "ready") and s["refused"] == 0, s
    if phase == "complete":
        assert s["revertible"], s
        r = env.admin("deploy finalize %d" % did, timeout=30)
    else:
        r = env.admin("deploy cancel %d" % did, timeout=30)
    assert r["ok"], r
    return s


# Both isolation levels in the normal build; in the sanitizer build (the
# same code paths, under ASan/UBSan) one, which keeps CI's time in bounds.
ISOLATIONS = ["REPEATABLE READ",
              pytest.param("READ COMMITTED", marks=pytest.mark.skipif(
                  SANITIZED, reason="sanitizer build: READ COMMITTED runs in the normal build"))]


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_mirror_matrix(env, mariadb, shape, mode, isolation, phase):
    """phase copying: the statements run before the backfill reached the
    rows; the copy then runs and verifies, and must find nothing to repair.
    phase complete: after the cut-over, into the original (reverse)."""
    matrix_case(env, mariadb, SHAPES[shape], mode, isolation, phase)


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
def test_mirror_insert_select_many_generated_keys(env, mariadb, mode, phase):
    """An INSERT ... SELECT of more rows than a key list holds (10,000),
    its AUTO_INCREMENT keys generated: mirrored as one range of keys, the
    deploy goes on (it failed before: "an INSERT ... SELECT of more than
    10000 rows cannot be mirrored")."""
    matrix_case(env, mariadb, ["INSERT INTO {t} (name, amount, created, flag) SELECT CONCAT('bulk', seq), "
                               "seq % 100, '2025-01-01', seq % 2 FROM seq_1_to_12345",
                               "SELECT COUNT(*), MIN(id), MAX(id) FROM {t} WHERE name LIKE 'bulk%'"],
                mode, "REPEATABLE READ", phase)


@pytest.mark.parametrize("phase", ["copying", "complete"])
@pytest.mark.parametrize("mode", ["autocommit", "commit"])
def test_mirror_generated_keys_with_increment(env, mariadb, mode, phase):
    """auto_increment_increment 3 (as on a 3-node Galera cluster): the
    generated keys are 3 apart, listed one by one (INSERT ... SELECT and
    INSERT ... VALUES), and copied 10,000 at a time."""
    matrix_case(env, mariadb, ["SET SESSION auto_increment_increment = 3",
                               "INSERT INTO {t} (name, amount, created, flag) SELECT CONCAT('inc', seq), seq, "
                               "'2025-01-01', 1 FROM seq_1_to_50",
                               "INSERT INTO {t} (name, created) VALUES ('i1', '2025-01-02'), ('i2', '2025-01-03')",
                               # more keys than one re-copy statement takes (10,000)
                               "INSERT INTO {t} (name, created) SELECT CONCAT('many', seq), '2025-01-04' "
                               "FROM seq_1_to_10500",
                               "SELECT COUNT(*), MIN(id), MAX(id) FROM {t} WHERE name LIKE 'i%' OR name LIKE 'many%'"],
                mode, "REPEATABLE READ", phase)


@contextlib.contextmanager
def mirror_max_rows(env, n):
    """[cutover] mirror_max_rows = n (reloaded) for the block, then 10000."""
    env.rewrite_ini(cutover_mirror_max_rows=n)
    assert env.admin("reload")["ok"]
    try:
        yield
    finally:
        env.rewrite_ini(cutover_mirror_max_rows=10000)
        assert env.admin("reload")["ok"]


def test_mirror_max_rows(env, mariadb):
    """[cutover] mirror_max_rows (reloaded): a statement that would change
    more rows is refused and changes nothing; one within it is mirrored."""
    t, u, did = deployed_pair(env, mariadb)
    with mirror_max_rows(env, 5):
        conn = env.connect(database="mir")
        with conn.cursor() as cur:
            for sql in ("UPDATE {t} SET name = CONCAT(name, '+') WHERE id BETWEEN 1 AND 6",
                        "DELETE FROM {t} WHERE id BETWEEN 10 AND 16"):
                with pytest.raises(pymysql.MySQLError) as e:
                    cur.execute(sql.format(t=t))
                assert e.value.args[0] == 1105, e.value.args
                assert "more than 5 rows" in e.value.args[1] and "mirror_max_rows" in e.value.args[1], e.value.args
            assert rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t)) == \
                rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), u))
            for sql in ("UPDATE {t} SET name = CONCAT(name, '+') WHERE id BETWEEN 1 AND 5",
                        "DELETE FROM {t} WHERE id BETWEEN 10 AND 14"):
                assert cur.execute(sql.format(t=t)) == 5
                execute(mariadb, sql.format(t="mir." + u))
        conn.close()
    s = env.admin("deploy show %d" % did)
    assert s["refused"] == 2 and s["state"] == "ready", s
    assert rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t)) == \
        rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), u))
    ready_agrees_cancel(env, mariadb, t, did)


def test_mirror_key_list_bytes(env, mariadb):
    """Whatever mirror_max_rows says, a statement whose keys take more than
    3 MiB of text is refused (cutoverd's own statements would outgrow the
    server's max_allowed_packet): 7,000 keys of 250 characters."""
    execute(mariadb, "DROP TABLE IF EXISTS mir.longkeys",
            "CREATE TABLE mir.longkeys (k VARCHAR(250) NOT NULL PRIMARY KEY, n INT NOT NULL) "
            "ENGINE=InnoDB DEFAULT CHARSET=latin1",
            "INSERT INTO mir.longkeys SELECT CONCAT(REPEAT('k', 240), LPAD(seq, 10, '0')), seq "
            "FROM mir.seq_1_to_7000")
    did = create(env, "mir.longkeys ADD COLUMN note VARCHAR(20) NULL")
    go(env, did)
    with mirror_max_rows(env, 30000):
        conn = env.connect(database="mir")
        with conn.cursor() as cur:
            with pytest.raises(pymysql.MySQLError) as e:
                cur.execute("UPDATE longkeys SET n = n + 1")
            assert e.value.args[0] == 1105 and "3 MiB" in e.value.args[1], e.value.args
            assert cur.execute("UPDATE longkeys SET n = n + 1 WHERE n <= 3000") == 3000
        conn.close()
    assert rows(mariadb, "SELECT SUM(n) FROM mir.longkeys") == ((7000 * 7001 // 2 + 3000,),)
    assert_same(mariadb, "mir", "longkeys", "_longkeys_shadow", ["k", "n"], key="k")
    s = env.admin("deploy show %d" % did)
    assert s["refused"] == 1 and s["state"] == "ready", s
    env.admin("deploy cancel %d" % did, timeout=30)
    execute(mariadb, "DROP TABLE mir.longkeys")


def load_file(tmp_path, n=3000):
    """A file for LOAD DATA ... FIELDS TERMINATED BY ',' (name, amount,
    created, flag): n rows, some NULLs (\\N)."""
    path = tmp_path / "load.csv"
    with open(path, "w") as f:
        for i in range(n):
            f.write("load%d,%s,2025-05-0%d,%s\n" % (i, "\\N" if i % 11 == 0 else "%d.25" % (i % 100), 1 + i % 9,
                                                  "\\N" if i % 13 == 0 else i % 2))
    os.chmod(tmp_path, 0o755)
    os.chmod(path, 0o644)
    return str(path)


LOADS = {
    "local": ["LOAD DATA LOCAL INFILE '{path}' INTO TABLE {t} FIELDS TERMINATED BY ',' (name, amount, created, flag)"],
    "server_set": ["LOAD DATA INFILE '{path}' IGNORE INTO TABLE {t} CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
                   "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES (name, @a, created, @f) "
                   "SET amount = @a * 2, flag = 1 - @f"],
    "twice": ["LOAD DATA LOCAL INFILE '{path}' INTO TABLE {t} FIELDS TERMINATED BY ',' (name, amount, created, flag)",
              "UPDATE {t} SET name = CONCAT(name, '!') WHERE id BETWEEN 299 AND 302",
              "LOAD DATA LOCAL INFILE '{path}' REPLACE INTO TABLE {t} FIELDS TERMINATED BY ',' "
              "(name, amount, created, flag)"],
}


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback", "savepoint"])
@pytest.mark.parametrize("shape", sorted(LOADS))
def test_mirror_load_data(env, mariadb, tmp_path, shape, mode, phase):
    """LOAD DATA [LOCAL] into a table whose AUTO_INCREMENT key the file does
    not give: its keys are generated, consecutive, and mirrored as one
    range (the first from LAST_INSERT_ID(): its OK packet has none).  The
    client sees what it sees without the proxy: the OK packet's counts and
    info, the warnings, LAST_INSERT_ID()."""
    path = load_file(tmp_path)
    sqls = [q.replace("{path}", path) for q in LOADS[shape]]
    sqls.append("SELECT COUNT(*), MIN(id), MAX(id), SUM(amount), SUM(flag) FROM {t} WHERE name LIKE 'load%'")
    via_proxy, s = matrix_case(env, mariadb, sqls, mode, "REPEATABLE READ", phase, local_infile=True)
    assert via_proxy[0][0] == "ok" and via_proxy[0][1] in (2999, 3000), via_proxy[0]
    assert s["mirrored"] >= 1, s


def test_mirror_load_data_refused_with_other_unique_keys(env, mariadb, tmp_path):
    """LOCAL (or IGNORE, REPLACE) skips a row that repeats a unique key:
    that would leave a gap among the generated keys, so on a table with a
    unique key besides the primary key it is refused; a plain server-side
    LOAD DATA (a repeat fails it whole) is mirrored."""
    path = load_file(tmp_path, n=200)
    t, u, did = deployed_pair(env, mariadb, unique=True)
    pc = env.connect(database="mir", local_infile=True)
    with pc.cursor() as cur:
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s FIELDS TERMINATED BY ',' "
                        "(name, amount, created, flag)" % (path, t))
        assert e.value.args[0] == 1105 and "LOAD DATA LOCAL on a table with a unique key" in e.value.args[1], \
            e.value.args
        assert cur.execute("LOAD DATA INFILE '%s' INTO TABLE %s FIELDS TERMINATED BY ',' "
                           "(name, amount, created, flag)" % (path, t)) == 200
    pc.close()
    s = env.admin("deploy show %d" % did)
    assert s["refused"] == 1 and s["state"] == "ready", s
    ready_agrees_cancel(env, mariadb, t, did)


@pytest.mark.parametrize("shape", ["update", "insert_select", "update_by_index", "delete_by_index"])
def test_mirror_many_keys_lock_only_their_rows(env, mariadb, shape):
    """A statement that changes most of a table (3,000 of 3,600 rows):
    cutoverd's copy of those rows into the shadow reads them by key, so it
    locks them and no other row of the table, whatever the optimizer thinks
    of a long IN list (MariaDB turns one of 1,000 values or more into a
    subquery, and may then scan the whole table, locking every row).
    Another session writes a row outside the set and inserts a row
    meanwhile, without waiting (through the proxy too: mirrored).
    update_by_index, delete_by_index: 1,200 rows of 12,000 found through a
    secondary index; the statement restricted to their keys reads the
    table by its primary key, and must not read the whole of it."""
    by_index = shape.endswith("_by_index")
    t, u, did = deployed_pair(env, mariadb, n=12000 if by_index else 3600, index=by_index)
    pc = env.connect(database="mir")
    other = env.connect(database="mir")
    try:
        with pc.cursor() as cur, other.cursor() as oc:
            oc.execute("SET SESSION innodb_lock_wait_timeout = 2")
            cur.execute("BEGIN")
            if shape == "update":
                assert cur.execute("UPDATE %s SET name = CONCAT(name, '*') WHERE id <= 3000" % t) == 3000
            elif by_index:
                # the rows filled with i = 0 .. 1199 (ids 1 to 1200)
                where = "created <= '2024-01-02 03:04:05.001199'"
                sql = ("UPDATE %s SET name = CONCAT(name, '*') WHERE " if shape == "update_by_index" else
                       "DELETE FROM %s WHERE ") % t + where
                assert cur.execute(sql) == 1200
            else:
                assert cur.execute("INSERT INTO %s (name, amount, created, flag) SELECT CONCAT('m', seq), seq, "
                                   "'2025-01-01', 1 FROM seq_1_to_3000" % t) == 3000
            oc.execute("UPDATE %s SET name = 'other' WHERE id = 3500" % t)
            oc.execute("INSERT INTO %s (id, name, created) VALUES (5000000, 'other', '2025-01-01')" % t)
            cur.execute("COMMIT")
    finally:
        pc.close()       # an open transaction would hold the tables the teardown drops
        other.close()
    s = env.admin("deploy show %d" % did)
    assert s["state"] == "ready", s
    ready_agrees_cancel(env, mariadb, t, did)


RETURNING_CASES = [("autocommit", "REPEATABLE READ", "copying"), ("autocommit", "READ COMMITTED", "complete"),
                   ("commit", "REPEATABLE READ", "ready"), ("commit", "READ COMMITTED", "copying"),
                   ("rollback", "REPEATABLE READ", "complete"), ("savepoint", "REPEATABLE READ", "copying")]


@pytest.mark.parametrize("case", RETURNING_CASES, ids=["-".join(c) for c in RETURNING_CASES])
@pytest.mark.parametrize("shape", sorted(RETURNING_SHAPES))
def test_mirror_returning(env, mariadb, shape, case):
    """RETURNING: the client gets the rows (compared with the twin's)."""
    matrix_case(env, mariadb, RETURNING_SHAPES[shape], *case)


def matrix_case(env, mariadb, sqls, mode, isolation, phase, **connect):
    """Run sqls through the proxy on t and directly on its twin u; both must
    see the same.  connect: more options of both connections.  Returns what
    the client saw, and the deploy as settle() left it."""
    t, u, did = deployed_pair(env, mariadb, hold_copy=phase == "copying", cut_over=phase == "complete")
    pc = env.connect(database="mir", **connect)
    dc = mariadb.connect(database="mir", **connect)
    for c in (pc, dc):
        with c.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL " + isolation)
    try:
        via_proxy = run(pc, [s.format(t=t) for s in sqls], mode)
    finally:
        pc.close()   # 700 cases: do not wait for the garbage collector
    direct = run(dc, [s.format(t=u) for s in sqls], mode)
    assert via_proxy == direct
    return via_proxy, settle(env, mariadb, t, u, did, phase)


def run_packet(conn, packet, mode):
    """Send one multi-statement packet in a mode; return what the client
    saw of each of its results (and of SHOW WARNINGS after it)."""
    seen = []
    with conn.cursor() as cur:
        if mode != "autocommit":
            cur.execute("BEGIN")
        try:
            cur.execute(packet)
            while True:
                seen.append(("result", cur.rowcount, cur.lastrowid, cur.fetchall() if cur.description else None))
                if not cur.nextset():
                    break
        except pymysql.MySQLError as e:
            seen.append(("error", e.args[0]))
        seen.append(("in_transaction", conn.get_autocommit(), bool(conn.server_status & 1)))
        cur.execute("SHOW WARNINGS")
        seen.append(("warnings", cur.fetchall()))
        if mode == "commit":
            cur.execute("COMMIT")
        elif mode == "rollback":
            cur.execute("ROLLBACK")
        cur.execute("SELECT @@in_transaction, LAST_INSERT_ID()")
        seen.append(("state", cur.fetchall()))
    return seen


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_mirror_matrix_multi_statement(env, mariadb, shape, mode, phase):
    """Every shape inside a multi-statement packet (a SELECT first, the
    shape's statements after it): the proxy runs such a packet one
    statement at a time, each mirrored as if it came alone, and the client
    must see what the server answers to the whole packet on the twin: the
    same results in order, the same error where it stops, the same
    warnings and transaction state after it."""
    multi_case(env, mariadb, SHAPES[shape], mode, phase)


@pytest.mark.parametrize("case", [("autocommit", "ready"), ("commit", "copying")], ids=["autocommit", "commit"])
@pytest.mark.parametrize("shape", sorted(RETURNING_SHAPES))
def test_mirror_returning_multi_statement(env, mariadb, shape, case):
    multi_case(env, mariadb, RETURNING_SHAPES[shape], *case)


def multi_case(env, mariadb, sqls, mode, phase):
    t, u, did = deployed_pair(env, mariadb, hold_copy=phase == "copying", cut_over=phase == "complete")
    multi = pymysql.constants.CLIENT.MULTI_STATEMENTS
    packet = "SELECT COUNT(*), MAX(id) FROM {t}; " + "; ".join(sqls)
    pc = env.connect(database="mir", client_flag=multi)
    try:
        via_proxy = run_packet(pc, packet.format(t=t), mode)
    finally:
        pc.close()
    dc = mariadb.connect(database="mir", client_flag=multi)
    direct = run_packet(dc, packet.format(t=u), mode)
    assert via_proxy == direct
    settle(env, mariadb, t, u, did, phase)


@pytest.mark.parametrize("mode", ["autocommit", "commit"])
def test_mirror_multi_statement_stops_at_error(env, mariadb, mode):
    """A statement that fails in the middle of a split packet ends it, as
    the server ends a packet: the statements before it took effect (in
    autocommit: committed), the ones after it never ran; the session goes
    on, with the right sequence numbers."""
    t, u, did = deployed_pair(env, mariadb)
    multi = pymysql.constants.CLIENT.MULTI_STATEMENTS
    packet = ("UPDATE {t} SET amount = amount + 1 WHERE id BETWEEN 10 AND 20; "
              "SELECT name FROM {t} WHERE id = 12; "
              "INSERT INTO {t} (id, name, created) VALUES (1, 'dup', '2025-01-01'); "
              "DELETE FROM {t} WHERE id BETWEEN 30 AND 40")
    pc = env.connect(database="mir", client_flag=multi)
    dc = mariadb.connect(database="mir", client_flag=multi)
    try:
        via_proxy = run_packet(pc, packet.format(t=t), mode)
        direct = run_packet(dc, packet.format(t=u), mode)
        assert via_proxy == direct
        assert ("error", 1062) in via_proxy, via_proxy
        # the next packets of the session are fine
        for c, tb in ((pc, t), (dc, u)):
            with c.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM %s WHERE id BETWEEN 30 AND 40; SELECT 1" % tb)
                assert cur.fetchall() == ((11,),)
                assert cur.nextset() and cur.fetchall() == ((1,),)
    finally:
        pc.close()
    settle(env, mariadb, t, u, did, "ready")


def test_mirror_multi_statement_transaction_inside(env, mariadb):
    """A packet that opens and commits its own transaction around writes
    that are not by key: each statement runs in turn, the writes are
    mirrored inside that transaction."""
    t, u, did = deployed_pair(env, mariadb)
    multi = pymysql.constants.CLIENT.MULTI_STATEMENTS
    packet = ("BEGIN; UPDATE {t} SET name = CONCAT(name, '#') WHERE id < 20; "
              "DELETE FROM {t} WHERE id BETWEEN 25 AND 28; "
              "INSERT INTO {t} (name, created) VALUES ('tx', '2025-05-05'); COMMIT; SELECT @@in_transaction")
    pc = env.connect(database="mir", client_flag=multi)
    try:
        via_proxy = run_packet(pc, packet.format(t=t), "autocommit")
    finally:
        pc.close()
    dc = mariadb.connect(database="mir", client_flag=multi)
    direct = run_packet(dc, packet.format(t=u), "autocommit")
    assert via_proxy == direct
    s = settle(env, mariadb, t, u, did, "ready")
    assert s["mirrored"] >= 3, s


@pytest.mark.parametrize("case", ["multi_off", "set_option_off", "warnings"])
def test_mirror_multi_statement_refused(env, mariadb, case):
    """A packet that writes the table and cannot run one statement at a
    time is refused whole, nothing runs: multi-statements off (the server
    would refuse it too; pymysql turns them off with COM_SET_OPTION), or a
    statement that reads the one before it's warnings."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    multi = pymysql.constants.CLIENT.MULTI_STATEMENTS
    before = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t))
    packet = "UPDATE {t} SET name = 'r' WHERE id BETWEEN 1 AND 3; UPDATE {t} SET name = 'k' WHERE id = 4"
    if case == "warnings":
        packet = "UPDATE {t} SET flag = 300 WHERE id BETWEEN 1 AND 3; SHOW WARNINGS"
    pc = env.connect(database="mir", client_flag=0 if case == "multi_off" else multi)
    try:
        if case == "set_option_off":
            # COM_SET_OPTION MYSQL_OPTION_MULTI_STATEMENTS_OFF; answered by an EOF
            pc._execute_command(0x1b, b"\x01\x00")
            pkt = pc._read_packet()
            assert pkt.is_eof_packet() or pkt.is_ok_packet()
        with pc.cursor() as cur:
            with pytest.raises(pymysql.MySQLError) as e:
                cur.execute(packet.format(t=t))
            if case == "warnings":
                assert e.value.args[0] == 1105 and "reads the warnings" in e.value.args[1], e.value.args
            else:
                assert e.value.args[0] == 1105 and "multi-statement packets are off" in e.value.args[1], \
                    e.value.args
            cur.execute("SELECT COUNT(*) FROM %s" % t)
            assert cur.fetchone()[0] == 50
    finally:
        pc.close()
    assert rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t)) == before
    ready_agrees_cancel(env, mariadb, t, did)


def test_mirror_while_copy_is_held(env, mariadb):
    """Writes before the backfill reached the rows: the backfill keeps the
    mirrored images; the verifier finds no difference."""
    t, u, did = deployed_pair(env, mariadb, n=3000, hold_copy=True)
    pc = env.connect(database="mir")
    with pc.cursor() as cur:
        for i in range(1, 200, 3):
            cur.execute("UPDATE %s SET name = 'early %d' WHERE id = %d" % (t, i, i))
        cur.execute("DELETE FROM %s WHERE id BETWEEN 500 AND 520" % t)
        cur.execute("INSERT INTO %s (name, created) VALUES ('early insert', '2025-01-01')" % t)
    s = go(env, did)
    assert s["verify_mismatches"] == 0, s
    assert s["mirrored"] >= 60, s
    assert_same(mariadb, "mir", t, "_%s_shadow" % t, COLS)
    env.admin("deploy cancel %d" % did, timeout=30)


REFUSED = [
    "INSERT IGNORE INTO {t} (name, created) VALUES ('r', '2025-01-01')",
    "INSERT INTO {t} (id, name, created) VALUES (1, 'r', '2025-01-01') ON DUPLICATE KEY UPDATE id = id + 1000",
    "INSERT INTO {t} (id, name, created) SELECT id, name, created FROM {t} WHERE id < 3 "
    "ON DUPLICATE KEY UPDATE id = id + 1000",
    "REPLACE INTO {t} (name, created) SELECT name, created FROM {t} WHERE id < 3",
    "INSERT INTO {t} SELECT /* c */ id + 1000000, name, amount, created, flag FROM {t} WHERE id < 3",
    "INSERT INTO {t} (id, name, created) SELECT id + 1000000, name, created FROM {t} WHERE id < 3 "
    "UNION SELECT 7000000, 'u', '2025-01-01'",
    "UPDATE {t} AS a JOIN {t} AS b ON a.id = b.id + 1 SET a.name = 'self', b.flag = 1 WHERE b.id = 1",
    "UPDATE {t} SET amount = 5, id = amount + 1000000 WHERE id = 1",
    "UPDATE {t} SET id = FLOOR(RAND() * 1000000) + 2000000 WHERE id = 1",
    "UPDATE {t} JOIN j ON {t}.id = j.id SET {t}.id = {t}.id + 1000000 WHERE j.id = 1",
    "ALTER TABLE {t} ADD COLUMN z INT",
    "TRUNCATE TABLE {t}",
    "DROP TABLE {t}",
    "RENAME TABLE {t} TO {t}_x",
    "LOCK TABLES {t} WRITE",
    "INSERT INTO _{t}_shadow (id, name, created) VALUES (999999, 's', '2025-01-01')",
    "CALL no_such_proc()",
    "LOAD DATA INFILE '/nonexistent' INTO TABLE {t}",
    "LOAD DATA LOCAL INFILE '/nonexistent' INTO TABLE {t} (id, name, created)",
    "LOAD DATA INFILE '/nonexistent' INTO TABLE {t} (name, @c) SET created = @c, id = 5",
    "LOAD XML INFILE '/nonexistent' INTO TABLE {t}",
    "UPDATE {t} SET name = 'a' WHERE id = 1; UPDATE {t} SET amount = 5, id = amount + 1000000 WHERE id = 2",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_mirror_refusals(env, mariadb, sql):
    t, u, did = deployed_pair(env, mariadb, n=50)
    before = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t))
    pc = env.connect(database="mir", client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    with pc.cursor() as cur:
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute(sql.format(t=t, u=u))
        assert e.value.args[0] == 1105, e.value.args
        if sql.startswith("CALL"):
            # not a procedure the deploy knows: refused, naming one deploy
            assert "cutoverd: deploy request" in e.value.args[1] and \
                "no_such_proc was not there" in e.value.args[1], e.value.args
        else:
            assert "cutoverd: deploy request %d is changing mir.%s" % (did, t) in e.value.args[1], e.value.args
        # the session goes on
        cur.execute("SELECT COUNT(*) FROM %s" % t)
        assert cur.fetchone()[0] == 50
    assert rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t)) == before
    s = env.admin("deploy show %d" % did)
    assert s["refused"] == 1 or (sql.startswith("CALL") and s["refused"] == 0), s
    assert s["state"] == "ready", s
    env.admin("deploy cancel %d" % did, timeout=30)


def test_mirror_other_tables_flow(env, mariadb):
    """Reads of the table and writes to other tables are not affected."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    pc = env.connect(database="mir")
    with pc.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM %s" % t)
        assert cur.fetchone()[0] == 50
        cur.execute("UPDATE %s SET name = 'free' WHERE id = 1" % u)
        cur.execute("INSERT INTO %s (name, created) SELECT name, created FROM %s WHERE id < 5" % (u, t))
        assert cur.rowcount == 4
        cur.execute("CREATE TEMPORARY TABLE tmp (a INT)")
        cur.execute("INSERT INTO tmp VALUES (1)")
    s = env.admin("deploy show %d" % did)
    assert s["refused"] == 0 and s["mirrored"] == 0, s
    env.admin("deploy cancel %d" % did, timeout=30)


def deadlock(env, t, keys=(1, 2), cross="UPDATE {t} SET name = 'cross' WHERE id = {key}"):
    """Two sessions through the proxy, each in a transaction that updated
    one key, then the other's (`cross`): one gets 1213 (its transaction
    rolled back).  Returns (victim, survivor) connections."""
    import threading
    a = env.connect(database="mir")
    b = env.connect(database="mir")
    results = {}
    for c, key in ((a, keys[0]), (b, keys[1])):
        with c.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE %s SET name = 'lock' WHERE id = %d" % (t, key))

    def other(name, c, key):
        try:
            with c.cursor() as cur:
                cur.execute(cross.format(t=t, key=key))
            results[name] = "ok"
        except pymysql.MySQLError as e:
            results[name] = e.args[0]

    th = threading.Thread(target=other, args=("a", a, keys[1]))
    th.start()
    time.sleep(0.3)                   # a waits for b's row
    other("b", b, keys[0])            # b closes the cycle
    th.join(30)
    assert sorted(str(x) for x in results.values()) == ["1213", "ok"], results
    return (a, b) if results["a"] == 1213 else (b, a)


def test_mirror_deadlock_then_next_command(env, mariadb):
    """Two transactions delete each other's locked row: InnoDB picks a
    victim, possibly at a mirror statement run before the client's DELETE.
    The victim gets the deadlock error, and its next command runs as
    itself (the DELETE it never sent must not linger in the session)."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    victim, survivor = deadlock(env, t, cross="DELETE FROM {t} WHERE id = {key}")
    try:
        for name, c in (("victim", victim), ("survivor", survivor)):
            with c.cursor() as cur:
                cur.execute("SELECT 42, @@in_transaction")
                assert cur.fetchone()[0] == 42, name
                cur.execute("COMMIT")
    finally:
        victim.close()
        survivor.close()
    ready_agrees_cancel(env, mariadb, t, did)


def test_mirror_transaction_older_than_the_deploy(env, mariadb):
    """A transaction whose snapshot is older than the deploy's shadow (and
    its indexes, built after the copy) cannot write into it (InnoDB: table
    definition changed, error 1412 or 159).  Its write to the table is
    undone and answered with 1412 (retry the transaction); the deploy goes
    on, and the retried transaction is mirrored.  A transaction open as
    long but without a snapshot (it only wrote) is mirrored as usual."""
    _counter[0] += 1
    t = "k%d" % _counter[0]
    execute(mariadb, "CREATE TABLE mir.%s (id INT PRIMARY KEY, k INT, KEY k_1 (k)) ENGINE=InnoDB" % t,
            "INSERT INTO mir.%s SELECT seq, seq FROM mir.seq_1_to_1000" % t)
    old = env.connect(database="mir")        # snapshot before the shadow
    writer = env.connect(database="mir")     # open, no snapshot
    try:
        with old.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT COUNT(*) FROM j")
        with writer.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE j SET b = b + 1 WHERE id = 1")
        did = create(env, "mir.%s ADD COLUMN note VARCHAR(20) NULL" % t)
        go(env, did)
        with writer.cursor() as cur:
            assert cur.execute("UPDATE %s SET k = -4 WHERE id = 4" % t) == 1
            cur.execute("COMMIT")
        with old.cursor() as cur:
            try:
                cur.execute("UPDATE %s SET k = -3 WHERE id = 3" % t)
                refused = False
            except pymysql.MySQLError as e:
                refused = True
                assert e.args[0] == 1412, e.args
                assert "deploy request %d" % did in e.args[1] and "retry" in e.args[1]
            if refused:
                cur.execute("SELECT k FROM %s WHERE id = 3 FOR UPDATE" % t)
                assert cur.fetchone()[0] == 3             # undone
                cur.execute("SELECT @@in_transaction")
                assert cur.fetchone()[0] == 1             # the transaction goes on
                cur.execute("ROLLBACK")
                cur.execute("BEGIN")
                assert cur.execute("UPDATE %s SET k = -3 WHERE id = 3" % t) == 1
            cur.execute("COMMIT")
    finally:
        old.close()
        writer.close()
    assert rows(mariadb, "SELECT k FROM mir.%s WHERE id IN (3, 4) ORDER BY id" % t) == ((-3,), (-4,))
    assert_same(mariadb, "mir", t, "_%s_shadow" % t, ["id", "k"])
    s = env.admin("deploy show %d" % did)
    assert s["state"] == "ready" and s["refused"] == (1 if refused else 0) and s["mirrored"] >= 2, s
    env.admin("deploy cancel %d" % did, timeout=30)
    if not refused:
        # seen once in a full CI run (not reproduced alone): InnoDB let
        # the old snapshot write the shadow; the write was mirrored (checked
        # above), but the 1412 path was not exercised
        pytest.skip("InnoDB did not refuse the old snapshot this time; its write was mirrored")


def test_mirror_stops_when_the_deploy_ends(env, mariadb):
    t, u, did = deployed_pair(env, mariadb, n=50)
    c = env.admin("deploy cancel %d" % did, timeout=30)
    assert c["state"] == "cancelled"
    pc = env.connect(database="mir")
    with pc.cursor() as cur:
        cur.execute("REPLACE INTO %s (id, name, created) VALUES (1, 'free again', '2025-01-01')" % t)
        cur.execute("ALTER TABLE %s ADD COLUMN z INT" % t)


# -- re-copies deferred to COMMIT --------------------------------------------------------
#
# Inside a transaction, an UPDATE / DELETE by key and an INSERT naming its
# keys run as they are; their rows are copied into the shadow just before
# the COMMIT, or before any statement that may end the transaction.  These
# scripts end transactions every way there is and mix the deferred shapes
# with the others.

DEFERRED = {
    "key_moved_after_deferred_writes": ["BEGIN", "UPDATE {t} SET name = 'before move' WHERE id = 50",
                                        "INSERT INTO {t} (id, name, created) VALUES (100120, 'n', '2025-06-01')",
                                        "UPDATE {t} SET id = 700050 WHERE id = 50",
                                        "UPDATE {t} SET name = 'after move' WHERE id = 700050", "COMMIT"],
    "delete_then_insert_same_key": ["BEGIN", "DELETE FROM {t} WHERE id = 7",
                                    "INSERT INTO {t} (id, name, created) VALUES (7, 'again', '2025-06-01')",
                                    "COMMIT"],
    "insert_then_delete": ["BEGIN", "INSERT INTO {t} (id, name, created) VALUES (100101, 'brief', '2025-06-01')",
                           "DELETE FROM {t} WHERE id = 100101", "COMMIT"],
    "key_written_two_ways": ["BEGIN", "INSERT INTO {t} (id, name, created) VALUES (100104, 'w', '2025-06-01')",
                             "UPDATE {t} SET name = 'w2' WHERE id = '100104'",
                             "DELETE FROM {t} WHERE id = ' 100104'", "COMMIT"],
    "delete_undone_by_savepoint": ["BEGIN", "SAVEPOINT a", "DELETE FROM {t} WHERE id = 8",
                                   "ROLLBACK TO SAVEPOINT a", "COMMIT"],
    "insert_kept_by_savepoint": ["BEGIN", "INSERT INTO {t} (id, name, created) VALUES (100102, 'kept', '2025-06-01')",
                                 "SAVEPOINT a", "DELETE FROM {t} WHERE id = 100102",
                                 "UPDATE {t} SET name = 'x' WHERE id = 9", "ROLLBACK TO SAVEPOINT a", "COMMIT"],
    "rollback": ["BEGIN", "UPDATE {t} SET name = 'no' WHERE id = 10", "DELETE FROM {t} WHERE id = 11",
                 "INSERT INTO {t} (id, name, created) VALUES (100105, 'no', '2025-06-01')", "ROLLBACK"],
    "ddl_commits": ["BEGIN", "UPDATE {t} SET name = 'ddl' WHERE id = 12",
                    "CREATE TABLE tmp_{t} (a INT)", "DROP TABLE tmp_{t}"],
    "failing_ddl_commits": ["BEGIN", "UPDATE {t} SET name = 'ddl err' WHERE id = 13",
                            "CREATE TABLE j (a INT)", "ROLLBACK"],
    "set_autocommit_commits": ["SET autocommit = 0", "UPDATE {t} SET name = 'ac' WHERE id = 14",
                               "SET autocommit = 1"],
    "begin_commits": ["BEGIN", "UPDATE {t} SET name = 'b1' WHERE id = 15", "BEGIN",
                      "UPDATE {t} SET name = 'b2' WHERE id = 16", "COMMIT"],
    "lock_tables_commits": ["BEGIN", "UPDATE {t} SET name = 'lt' WHERE id = 17", "LOCK TABLES j READ",
                            "UNLOCK TABLES"],
    "autocommit_off": ["SET autocommit = 0", "UPDATE {t} SET name = 'off' WHERE id = 18",
                       "INSERT INTO {t} (id, name, created) VALUES (100103, 'off', '2025-06-01')", "COMMIT",
                       "DELETE FROM {t} WHERE id = 19", "ROLLBACK", "UPDATE {t} SET name = 'off2' WHERE id = 20",
                       "SET autocommit = 1"],
    "commit_and_chain": ["BEGIN", "UPDATE {t} SET name = 'c1' WHERE id = 21", "COMMIT AND CHAIN",
                         "UPDATE {t} SET name = 'c2' WHERE id = 22", "COMMIT"],
    "with_other_shapes": ["BEGIN", "UPDATE {t} SET name = 'k' WHERE id = 23",
                          "UPDATE {t} SET amount = 5 WHERE id BETWEEN 23 AND 26",
                          "DELETE FROM {t} WHERE id = 24",
                          "INSERT INTO {t} (name, created) VALUES ('auto', '2025-06-01')",
                          "INSERT INTO {t} (id, name, created) VALUES (24, 'back', '2025-06-01')",
                          "DELETE FROM {t} WHERE id > 27 AND id < 30", "COMMIT"],
    "reads_between": ["BEGIN", "UPDATE {t} SET name = 'r' WHERE id = 31", "SELECT COUNT(*) FROM {t}",
                      "SHOW WARNINGS", "DO 1", "SELECT name FROM {t} WHERE id = 31 FOR UPDATE", "COMMIT"],
    "xa": ["XA START 'x{t}'", "UPDATE {t} SET name = 'xa' WHERE id = 32", "XA END 'x{t}'",
           "XA PREPARE 'x{t}'", "XA COMMIT 'x{t}'"],
    # several statements in one COM_QUERY, inside a transaction
    "multi_statement": ["BEGIN", "UPDATE {t} SET name = 'm1' WHERE id = 33; SELECT name FROM {t} WHERE id = 33; "
                        "DELETE FROM {t} WHERE id = 34; "
                        "INSERT INTO {t} (id, name, created) VALUES (34, 'm2', '2025-06-01'), "
                        "(100106, 'm3', '2025-06-01')", "COMMIT"],
    "multi_statement_stops_at_error": ["BEGIN", "UPDATE {t} SET name = 'e1' WHERE id = 35; "
                                       "INSERT INTO {t} (id, name, created) VALUES (36, 'dup', '2025-06-01'); "
                                       "DELETE FROM {t} WHERE id = 37", "COMMIT"],
    "multi_statement_savepoint": ["BEGIN", "SAVEPOINT a; DELETE FROM {t} WHERE id = 38; "
                                  "UPDATE {t} SET name = 's' WHERE id = 39; ROLLBACK TO SAVEPOINT a; "
                                  "UPDATE {t} SET name = 's2' WHERE id = 40", "COMMIT"],
    "multi_statement_rollback": ["SET autocommit = 0", "UPDATE {t} SET name = 'r1' WHERE id = 41; "
                                 "DELETE FROM {t} WHERE id = 42", "ROLLBACK", "SET autocommit = 1"],
}


def run_script(conn, sqls):
    """Each item is one COM_QUERY (several statements in one: every result
    is read).  Returns what the client saw."""
    seen = []
    with conn.cursor() as cur:
        for sql in sqls:
            try:
                n = cur.execute(sql)
                seen.append(("ok", n, cur.lastrowid, cur.fetchall() if cur.description else None))
                while cur.nextset():
                    seen.append(("more", cur.rowcount, cur.fetchall() if cur.description else None))
            except pymysql.MySQLError as e:
                seen.append(("error", e.args[0]))
        cur.execute("SELECT @@in_transaction")
        seen.append(("state", cur.fetchall()))
    return seen


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("script", sorted(DEFERRED))
def test_mirror_deferred(env, mariadb, script, phase):
    if phase == "copying" and script.startswith("multi"):
        pytest.skip("while copying, a DELETE is not deferred: in a multi-statement packet it is refused "
                    "(test_deferred_multi_statement_refused_in_transaction)")
    t, u, did = deployed_pair(env, mariadb, hold_copy=phase == "copying", cut_over=phase == "complete")
    multi = pymysql.constants.CLIENT.MULTI_STATEMENTS
    pc = env.connect(database="mir", client_flag=multi)
    try:
        via_proxy = run_script(pc, [x.format(t=t) for x in DEFERRED[script]])
    finally:
        pc.close()
    dc = mariadb.connect(database="mir", client_flag=multi)
    try:
        direct = run_script(dc, [x.format(t=u) for x in DEFERRED[script]])
    finally:
        dc.close()
    assert via_proxy == direct
    settle(env, mariadb, t, u, did, phase)


def test_mirror_deferred_seen_by_others_at_commit(env, mariadb):
    """The deferred rows are in the shadow when the COMMIT is answered, and
    not before any implicit commit: another session sees the two tables
    agree right after each way the transaction ends."""
    t, u, did = deployed_pair(env, mariadb, n=100)
    pc = env.connect(database="mir")
    try:
        with pc.cursor() as cur:
            for i, end in enumerate(["COMMIT", "CREATE TABLE tmp_%s (a INT)" % t, "SET autocommit = 1", "BEGIN",
                                     "LOCK TABLES j READ"]):
                cur.execute("SET autocommit = 0" if end.startswith("SET") else "BEGIN")
                cur.execute("UPDATE %s SET name = 'seen %d' WHERE id = %d" % (t, i, 40 + i))
                cur.execute("DELETE FROM %s WHERE id = %d" % (t, 60 + i))
                cur.execute("INSERT INTO %s (id, name, created) VALUES (%d, 'new', '2025-06-01')" % (t, 100200 + i))
                cur.execute(end)
                assert_same(mariadb, "mir", t, "_%s_shadow" % t, COLS)
                assert rows(mariadb, "SELECT name FROM mir._%s_shadow WHERE id = %d" % (t, 40 + i)) == \
                    (("seen %d" % i,),), end
                if end.startswith("LOCK"):
                    cur.execute("UNLOCK TABLES")
            cur.execute("COMMIT")
            cur.execute("DROP TABLE tmp_%s" % t)
    finally:
        pc.close()
    ready_agrees_cancel(env, mariadb, t, did, mirrored=15)


def test_mirror_deferred_deadlock_at_commit(env, mariadb):
    """The re-copies before a COMMIT can meet a deadlock (here with a
    session outside the proxy that locked the shadow's row and then wants
    the client's row).  If InnoDB picks the client, its COMMIT answers the
    deadlock error, nothing of the transaction is applied, and the session
    goes on."""
    import threading
    t, u, did = deployed_pair(env, mariadb, n=100)
    pc = env.connect(database="mir")
    other = mariadb.connect(database="mir")
    result = {}
    try:
        with other.cursor() as cur:
            # the heavier transaction (InnoDB rolls back the lighter one)
            cur.execute("BEGIN")
            cur.execute("UPDATE j SET b = b + 1")
            cur.execute("SELECT name FROM _%s_shadow WHERE id = 50 FOR UPDATE" % t)
        with pc.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE %s SET name = 'victim' WHERE id = 50" % t)

        def commit():
            try:
                with pc.cursor() as cur:
                    cur.execute("COMMIT")
                result["commit"] = "ok"
            except pymysql.MySQLError as e:
                result["commit"] = e.args[0]

        th = threading.Thread(target=commit)
        th.start()
        time.sleep(0.5)                  # the re-copy waits for the shadow's row
        with other.cursor() as cur:
            cur.execute("UPDATE %s SET name = 'other' WHERE id = 50" % t)   # closes the cycle
        th.join(30)
        assert result.get("commit") == 1213, result
        with other.cursor() as cur:
            cur.execute("ROLLBACK")
        with pc.cursor() as cur:
            cur.execute("SELECT name, @@in_transaction FROM %s WHERE id = 50" % t)
            assert cur.fetchone() == ("n49", 0)
    finally:
        pc.close()
        other.close()
    ready_agrees_cancel(env, mariadb, t, did)


def test_mirror_deferred_prepared(env, mariadb):
    """sysbench's shape: BEGIN and COMMIT prepared too (COM_STMT_EXECUTE)."""
    t, u, did = deployed_pair(env, mariadb, n=100)

    def steps(table):
        return [{"sql": "BEGIN", "params": []},
                {"sql": "UPDATE %s SET amount = amount + ? WHERE id = ?" % table, "params": [1, 5]},
                {"sql": "UPDATE %s SET name = ? WHERE id = ?" % table, "params": ["p", 6]},
                {"sql": "DELETE FROM %s WHERE id = ?" % table, "params": [7]},
                {"sql": "INSERT INTO %s (id, name, created) VALUES (?, ?, ?)" % table,
                 "params": [7, "re", "2025-06-02"]},
                {"sql": "COMMIT", "params": []},
                {"sql": "BEGIN", "params": []},
                {"sql": "DELETE FROM %s WHERE id = ?" % table, "params": [8]},
                {"sql": "ROLLBACK", "params": []},
                {"sql": "BEGIN", "params": []},
                {"sql": "DELETE FROM %s WHERE id = ?" % table, "params": [9]},
                {"sql": "CREATE TABLE tmp_%s (a INT)" % table, "params": []},
                {"sql": "DROP TABLE tmp_%s" % table, "params": []}]

    via_proxy = run_dbd(env, steps(t))
    direct = run_dbd(mariadb, steps(u))
    assert via_proxy == direct
    assert all("error" not in x for x in via_proxy), via_proxy
    a = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t))
    b = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), u))
    assert a == b
    ready_agrees_cancel(env, mariadb, t, did, mirrored=6)


# -- server-side prepared statements (binary parameters) ---------------------------------

PREPARED = {
    "insert_params": [{"sql": "INSERT INTO {t} (name, amount, created, flag) VALUES (?, ?, ?, ?)",
                       "params": ["p1", "2.25", "2025-05-01 10:00:00", 1]}],
    "insert_key_param": [{"sql": "INSERT INTO {t} (id, name, created) VALUES (?, ?, ?), (?, ?, ?)",
                          "params": [200001, "k1", "2025-05-02", 200002, "k2", "2025-05-03"]}],
    "insert_null_key_param": [{"sql": "INSERT INTO {t} (id, name, created) VALUES (?, ?, ?)",
                               "params": [None, "nk", "2025-05-04"]}],
    "update_params": [{"sql": "UPDATE {t} SET name = ?, amount = amount * ? WHERE id BETWEEN ? AND ?",
                       "params": ["upd 'quoted' \\ back", "1.5", 10, 20]}],
    "update_limit_param": [{"sql": "UPDATE {t} SET flag = ? WHERE id > ? ORDER BY id LIMIT ?",
                            "params": [0, 40, 3]}],
    "delete_params": [{"sql": "DELETE FROM {t} WHERE name = ? OR id = ?", "params": ["n3", 44]}],
    "insert_select_param": [{"sql": "INSERT INTO {t} (name, created) SELECT name, created FROM {t} WHERE id < ?",
                             "params": [5]}],
    "insert_select_keys_param": [{"sql": "INSERT INTO {t} (id, name, created) SELECT id + ?, name, created "
                                         "FROM {t} WHERE id < ?", "params": [400000, 4]}],
    "odku_select_params": [{"sql": "INSERT INTO {t} (id, name, created) SELECT id + ?, name, created FROM {t} "
                                   "WHERE id BETWEEN ? AND ? ON DUPLICATE KEY UPDATE amount = ?",
                            "params": [1, 7, 9, "8.5"]}],
    "insert_select_star_params": [{"sql": "INSERT INTO {t} (id, name, created) SELECT * FROM (SELECT id + ? AS i, "
                                          "name, created FROM {t} WHERE id < ?) AS x", "params": [500000, 3]}],
    "update_key_change_params": [{"sql": "UPDATE {t} SET id = ?, name = ? WHERE id = ?",
                                  "params": [700001, "moved", 44]}],
    "reexecute": [{"sql": "UPDATE {t} SET amount = ? WHERE id = ?", "params": [1, 1]},
                  {"sql": "UPDATE {t} SET amount = ? WHERE id = ?", "params": [2, 2]}],
}


def dbd_steps(table, stmts, mode):
    """dbd_stmts.pl steps: stmts ({"sql", "params"}, {t} for the table)
    prepared and executed, in a transaction ended by mode unless it is
    autocommit."""
    out = [{"do": "BEGIN"}] if mode != "autocommit" else []
    out += [{"sql": st["sql"].format(t=table), "params": st["params"]} for st in stmts]
    if mode != "autocommit":
        out.append({"do": mode.upper()})
    return out


def run_dbd(endpoint, steps):
    import json
    import os
    import subprocess
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dbd_stmts.pl")
    r = subprocess.run(["perl", script, endpoint.host, str(endpoint.port), "app", "apppass", "mir"],
                       input=json.dumps(steps), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
@pytest.mark.parametrize("shape", sorted(PREPARED))
def test_mirror_prepared(env, mariadb, shape, mode, isolation, phase):
    t, u, did = deployed_pair(env, mariadb, hold_copy=phase == "copying", cut_over=phase == "complete")
    iso = [{"do": "SET SESSION TRANSACTION ISOLATION LEVEL " + isolation}]
    via_proxy = run_dbd(env, iso + dbd_steps(t, PREPARED[shape], mode))
    direct = run_dbd(mariadb, iso + dbd_steps(u, PREPARED[shape], mode))
    assert via_proxy == direct
    assert all("error" not in x for x in via_proxy), via_proxy
    s = settle(env, mariadb, t, u, did, phase)
    assert s["mirrored"] >= 1, s


# Prepared, a RETURNING that the proxy would run restricted to the locked
# keys as a text statement of its own (its rows would come back in the text
# protocol): refused (test_mirror_prepared_returning_refused).
PREPARED_RETURNING_REFUSED = ["delete_range_returning", "delete_order_limit_returning", "delete_none_returning"]


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_mirror_matrix_prepared(env, mariadb, shape, mode, phase):
    """Every shape of the text matrix, each statement as a server-side
    prepared statement (DBD::MariaDB: COM_STMT_PREPARE, COM_STMT_EXECUTE,
    binary answers) against the direct twin.  (PREPARED above has the
    shapes with parameters.)"""
    prepared_case(env, mariadb, SHAPES[shape], mode, phase)


@pytest.mark.parametrize("case", [("autocommit", "copying"), ("commit", "complete")], ids=["autocommit", "commit"])
@pytest.mark.parametrize("shape", sorted(set(RETURNING_SHAPES) - set(PREPARED_RETURNING_REFUSED)))
def test_mirror_returning_prepared(env, mariadb, shape, case):
    """RETURNING, prepared: the rows come back in the binary protocol."""
    prepared_case(env, mariadb, RETURNING_SHAPES[shape], *case)


def prepared_case(env, mariadb, sqls, mode, phase):
    t, u, did = deployed_pair(env, mariadb, hold_copy=phase == "copying", cut_over=phase == "complete")
    stmts = [{"sql": sql, "params": []} for sql in sqls]
    via_proxy = run_dbd(env, dbd_steps(t, stmts, mode))
    direct = run_dbd(mariadb, dbd_steps(u, stmts, mode))
    assert via_proxy == direct
    settle(env, mariadb, t, u, did, phase)


@pytest.mark.parametrize("shape", PREPARED_RETURNING_REFUSED)
def test_mirror_prepared_returning_refused(env, mariadb, shape):
    t, u, did = deployed_pair(env, mariadb)
    before = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t))
    out = run_dbd(env, dbd_steps(t, [{"sql": sql, "params": []} for sql in RETURNING_SHAPES[shape]], "autocommit"))
    assert out == [{"error": 1105}], out
    assert rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t)) == before
    s = env.admin("deploy show %d" % did)
    assert s["refused"] == 1, s
    ready_agrees_cancel(env, mariadb, t, did)


def test_mirror_prepared_before_the_deploy(env, mariadb):
    """A statement prepared (and executed, binding its types) before the
    deploy started is mirrored when executed again during it."""
    import json
    import os
    import subprocess
    import threading
    t, u, did = None, None, None
    # prepared and executed once before, then again after the deploy starts:
    # driven by a small Perl loop that waits for a file to appear
    _counter[0] += 1
    t = "t%d" % _counter[0]
    fill(mariadb, "mir", t, 100)
    flag = os.path.join(env.tmpdir, "go_%s" % t)
    script = r'''
use DBI; my $d = DBI->connect("DBI:MariaDB:database=mir;host=%s;port=%d;mariadb_server_prepare=1", "app", "apppass", {RaiseError=>1, AutoCommit=>1});
my $s = $d->prepare("UPDATE %s SET name = ? WHERE id = ?");
$s->execute("before", 1);
print "prepared\n"; $| = 1;
for (1..600) { last if -e "%s"; select(undef, undef, undef, 0.05); }
$s->execute("during", 2);
print "done\n";
''' % (env.host, env.port, t, flag)
    p = subprocess.Popen(["perl", "-e", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "prepared"
    r = env.admin("deploy create mir.%s ADD COLUMN note INT" % t, timeout=60)
    assert r["ok"], r
    assert wait_state(env, r["id"], ("ready", "failed"))["state"] == "ready"
    open(flag, "w").close()
    assert p.stdout.readline().strip() == "done"
    assert p.wait(30) == 0
    assert rows(mariadb, "SELECT name FROM mir._%s_shadow WHERE id IN (1, 2) ORDER BY id" % t) == (("before",), ("during",))
    assert env.admin("deploy show %d" % r["id"])["mirrored"] == 1
    env.admin("deploy cancel %d" % r["id"], timeout=30)


# -- concurrent writers while the backfill runs ---------------------------------------------

def writer(env, table, seed, stop, stats, load_path, live=None):
    import random
    rnd = random.Random(seed)
    conn = env.connect(database="mir", client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS, local_infile=True)
    key = -1000000 * (seed + 1)      # explicit keys: negative, apart from AUTO_INCREMENT
    done = 0
    with conn.cursor() as cur:
        while not stop.is_set() and done < 3000:
            txn = rnd.random() < 0.3
            try:
                if txn:
                    cur.execute("BEGIN")
                for _ in range(rnd.randint(1, 4) if txn else 1):
                    r = rnd.random()
                    i = rnd.randint(1, 50000)
                    if r < 0.2:
                        cur.execute("INSERT INTO %s (name, amount, created, flag) VALUES ('w%d', %d.5, NOW(6), %d)"
                                    % (table, seed, i, i % 2))
                    elif r < 0.3:
                        key += 2
                        cur.execute("INSERT INTO %s (id, name, created) VALUES (%d, 'k', NOW(6)), (%d, 'k2', NOW(6))"
                                    % (table, key, key + 1))
                    elif r < 0.45 and live is not None and live.is_set():
                        # SQL-level prepared, once the deploy runs (cutoverd
                        # must see the PREPARE): its USING values are read
                        # by cutoverd, then it is mirrored
                        cur.execute("SET @wi = %d, @wn = 'p%d'" % (i, seed))
                        cur.execute("PREPARE pu FROM 'UPDATE %s SET name = ?, amount = amount + 1 "
                                    "WHERE id BETWEEN ? AND ? + 1'" % table)
                        cur.execute("EXECUTE pu USING @wn, @wi, @wi")
                        stats["executes"] = stats.get("executes", 0) + 1
                    elif r < 0.55:
                        cur.execute("UPDATE %s SET name = CONCAT('u', %d), amount = amount + 1 WHERE id = %d"
                                    % (table, seed, i))
                    elif r < 0.7:
                        cur.execute("UPDATE %s SET flag = NOT flag WHERE id BETWEEN %d AND %d"
                                    % (table, i, i + rnd.randint(0, 30)))
                    elif r < 0.8:
                        cur.execute("UPDATE %s SET created = NOW(6) WHERE id > %d ORDER BY id LIMIT %d"
                                    % (table, i, rnd.randint(1, 10)))
                    elif r < 0.85:
                        cur.execute("DELETE FROM %s WHERE id = %d" % (table, i))
                    elif r < 0.9:
                        cur.execute("DELETE FROM %s WHERE id >= %d ORDER BY id LIMIT 2" % (table, i))
                    elif r < 0.95:
                        key += 2     # the row moves to a key of this writer's own
                        cur.execute("UPDATE %s SET id = %d, name = 'moved' WHERE id = %d" % (table, key, i))
                    elif r < 0.975:
                        # a multi-statement packet: run one statement at a time
                        cur.execute("UPDATE %s SET amount = amount + 1 WHERE id = %d; "
                                    "UPDATE %s SET flag = NOT flag WHERE id BETWEEN %d AND %d"
                                    % (table, i, table, i, i + rnd.randint(0, 10)))
                        while cur.nextset():
                            pass
                    elif r < 0.9875:
                        # bulk inserts: generated keys, copied as one range
                        cur.execute("INSERT INTO %s (name, amount, created, flag) SELECT CONCAT('b', %d), seq, "
                                    "NOW(6), seq %% 2 FROM seq_1_to_%d" % (table, seed, rnd.randint(1, 300)))
                    else:
                        cur.execute("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s FIELDS TERMINATED BY ',' "
                                    "(name, amount, created, flag)" % (load_path, table))
                    done += 1
                if txn:
                    cur.execute("COMMIT" if rnd.random() < 0.75 else "ROLLBACK")
            except pymysql.MySQLError as e:
                stats.setdefault(e.args[0], []).append(str(e.args[1])[:120])
                if txn:
                    try:
                        cur.execute("ROLLBACK")
                    except pymysql.MySQLError:
                        pass
    stats["statements"] = stats.get("statements", 0) + done
    conn.close()


def test_mirror_concurrent_writers_during_backfill(env, mariadb, tmp_path):
    import threading
    _counter[0] += 1
    t = "t%d" % _counter[0]
    fill(mariadb, "mir", t, 50000)
    path = load_file(tmp_path, n=100)
    stop = threading.Event()
    stats = [dict() for _ in range(4)]
    live = threading.Event()
    threads = [threading.Thread(target=writer, args=(env, t, n, stop, stats[n], path, live)) for n in range(4)]
    for th in threads:
        th.start()
    try:
        time.sleep(0.3)
        r = env.admin("deploy create mir.%s ADD COLUMN note VARCHAR(20) NULL, ADD INDEX (created)" % t, timeout=60)
        assert r["ok"], r
        live.set()
        # small chunks, so that the copy overlaps the writers
        env.admin("deploy set %d chunk_time_ms=20" % r["id"])
        s = wait_state(env, r["id"], ("ready", "failed"), timeout=120)
        time.sleep(1)
    finally:
        stop.set()
        for th in threads:
            th.join(120)
    assert s["state"] == "ready", s
    total = sum(x.get("statements", 0) for x in stats)
    errors = {}
    for x in stats:
        for code, msgs in x.items():
            if code not in ("statements", "executes"):
                errors.setdefault(code, []).extend(msgs)
    # the same workload straight on MariaDB sees no error: through the
    # proxy with a deploy running, neither may it (no deadlock, no lock
    # wait timeout caused by the mirror or the backfill)
    assert not errors, errors
    assert s["refused"] == 0, s
    assert s["verify_mismatches"] == 0, s
    assert total > 1000, stats
    assert sum(x.get("executes", 0) for x in stats) > 0, stats
    assert_same(mariadb, "mir", t, "_%s_shadow" % t, COLS)
    s = env.admin("deploy show %d" % r["id"])
    print("statements %d, mirrored %d, backfill lock retries %d" % (total, s["mirrored"], s["lock_retries"]))
    env.admin("deploy cancel %d" % r["id"], timeout=30)


UNIQUE_ALTER = "ADD COLUMN note VARCHAR(20) NULL"
UNIQUE_SHAPES = {
    # uq_name is a unique key besides the primary key (id AUTO_INCREMENT)
    "odku_on_unique": ["INSERT INTO {t} (name, created) VALUES ('n3', '2025-01-01') "
                       "ON DUPLICATE KEY UPDATE amount = 42"],
    "odku_new_generated": ["INSERT INTO {t} (name, created) VALUES ('brand new', '2025-01-01'), ('n4', '2025-01-02') "
                           "ON DUPLICATE KEY UPDATE flag = 1 - IFNULL(flag, 0)"],
    "odku_given_key": ["INSERT INTO {t} (id, name, created) VALUES (5, 'n6', '2025-01-01') "
                       "ON DUPLICATE KEY UPDATE name = CONCAT(name, '!')"],
    "ignore_on_unique": ["INSERT IGNORE INTO {t} (name, created) VALUES ('n7', '2025-01-01'), ('ign new', '2025-01-01')"],
    "replace_two_rows": ["REPLACE INTO {t} (id, name, created) VALUES (8, 'n8', '2025-01-01')"],
    "replace_new": ["REPLACE INTO {t} (name, created) VALUES ('rep new', '2025-01-01')"],
    "mixed_in_transaction": ["INSERT INTO {t} (name, created) VALUES ('n9', '2025-01-01') ON DUPLICATE KEY UPDATE amount = 1",
                             "UPDATE {t} SET amount = 2 WHERE id = 10",
                             "REPLACE INTO {t} (id, name, created) VALUES (11, 'n1', '2025-01-01')"],
}


@pytest.mark.parametrize("phase", ["copying", "ready", "complete"])
@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
@pytest.mark.parametrize("shape", sorted(UNIQUE_SHAPES))
def test_mirror_upserts_with_other_unique_keys(env, mariadb, shape, mode, phase):
    """IGNORE / ON DUPLICATE KEY UPDATE / REPLACE can touch other rows
    through a unique key: the rows that hold the statement's keys or unique
    values are locked and listed before it and after it, and copied."""
    t, u, did = deployed_pair(env, mariadb, n=30, hold_copy=phase == "copying", cut_over=phase == "complete",
                              unique=True, alter=UNIQUE_ALTER)
    pc = env.connect(database="mir")
    dc = mariadb.connect(database="mir")
    try:
        via_proxy = run(pc, [x.format(t=t) for x in UNIQUE_SHAPES[shape]], mode)
        direct = run(dc, [x.format(t=u) for x in UNIQUE_SHAPES[shape]], mode)
    finally:
        pc.close()
        dc.close()
    assert via_proxy == direct
    assert not any(x[0] == "error" for x in via_proxy), via_proxy
    s = settle(env, mariadb, t, u, did, phase)
    assert s["mirrored"] >= (0 if mode == "rollback" else 1), s


def test_mirror_upserts_with_other_unique_keys_refused(env, mariadb):
    """What stays refused: a row that cannot be found again (a generated key
    and no whole unique value), a unique value that is an expression."""
    t, u, did = deployed_pair(env, mariadb, n=30, unique=True, alter=UNIQUE_ALTER)
    pc = env.connect(database="mir")
    with pc.cursor() as cur:
        for sql, why in (("INSERT IGNORE INTO %s (name, created) VALUES (NULL, '2025-01-01')", "find it by"),
                         ("INSERT IGNORE INTO %s (id, name, created) SELECT id + 1000, name, created FROM j "
                          "WHERE id < 3", "unique key besides the primary key"),
                         ("INSERT INTO %s (name, created) VALUES (CONCAT('a', 'b'), '2025-01-01') "
                          "ON DUPLICATE KEY UPDATE amount = 1", "not a literal")):
            with pytest.raises(pymysql.MySQLError) as e:
                cur.execute(sql % t)
            assert why in e.value.args[1], e.value.args
        cur.execute("INSERT INTO %s (id, name, created) VALUES (100, 'fine', '2025-01-01')" % t)
    pc.close()
    ready_agrees_cancel(env, mariadb, t, did)
