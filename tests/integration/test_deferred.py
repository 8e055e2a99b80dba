"""
test_deferred.py - edge cases of the re-copies deferred to COMMIT (proxy/writes.c,
"re-copies deferred to COMMIT"): inside a client's transaction, UPDATE /
DELETE by key and INSERT naming its keys run as they are, and their rows
are copied into the shadow just before the transaction ends.  Every way a
transaction can end must either apply them first or really roll them back.
"""

import time

import pymysql
import pytest

from test_deploy import assert_same, rows
from test_mirror import COLS, deployed_pair, env, run_script  # noqa: F401


def shadow_agrees(env, mariadb, t, did):
    """The deploy is still ready and the shadow equals t (a deploy the
    proxy fails is failed a moment later, by the control thread)."""
    time.sleep(0.5)
    s = env.admin("deploy show %d" % did)
    assert s["state"] == "ready", s
    assert_same(mariadb, "mir", t, "_%s_shadow" % t, COLS)


# -- guards: what works and must keep working --------------------------------------------

def twin(env, mariadb, script):
    """Run script on t (proxy, under deploy) and on its twin u (direct); the
    client sees the same, t equals u, the shadow equals t."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    pc = env.connect(database="mir")
    try:
        via_proxy = run_script(pc, [x.format(t=t) for x in script])
    finally:
        pc.close()
    dc = mariadb.connect(database="mir")
    try:
        direct = run_script(dc, [x.format(t=u) for x in script])
    finally:
        dc.close()
    assert via_proxy == direct
    assert rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), t)) == \
        rows(mariadb, "SELECT %s FROM mir.%s ORDER BY id" % (", ".join(COLS), u))
    shadow_agrees(env, mariadb, t, did)
    env.admin("deploy cancel %d" % did, timeout=30)
    return via_proxy


NOTHING_TO_COPY = {
    # every deferred key was created and deleted by the transaction: the
    # flush before the next command has no statement to run, and the
    # command runs at once (plan_finish re-runs it from inside plan_start)
    "then_begin": ["BEGIN", "INSERT INTO {t} (id, name, created) VALUES (100301, 'x', '2025-06-01')",
                   "DELETE FROM {t} WHERE id = 100301", "BEGIN",
                   "UPDATE {t} SET name = 'second' WHERE id = 4", "COMMIT"],
    "then_ddl": ["BEGIN", "INSERT INTO {t} (id, name, created) VALUES (100302, 'x', '2025-06-01')",
                 "DELETE FROM {t} WHERE id = 100302", "CREATE TEMPORARY TABLE tmp_{t} (a INT)",
                 "DROP TEMPORARY TABLE tmp_{t}", "COMMIT"],
    "then_commit": ["BEGIN", "INSERT INTO {t} (id, name, created) VALUES (100303, 'x', '2025-06-01')",
                    "DELETE FROM {t} WHERE id = 100303", "COMMIT"],
    # the command after the flush is answered by the proxy itself (refused)
    "then_refused": ["BEGIN", "INSERT INTO {t} (id, name, created) VALUES (100304, 'x', '2025-06-01')",
                     "DELETE FROM {t} WHERE id = 100304", "UPDATE {t} SET name = 'k' WHERE id = 5",
                     "LOCK TABLES {t} WRITE", "SELECT name FROM {t} WHERE id = 5", "COMMIT"],
}


@pytest.mark.parametrize("script", sorted(NOTHING_TO_COPY))
def test_deferred_flush_with_nothing_to_copy(env, mariadb, script):
    if script == "then_refused":
        # refused through the proxy only: compare the rows, not the answers
        t, u, did = deployed_pair(env, mariadb, n=50)
        pc = env.connect(database="mir")
        try:
            seen = run_script(pc, [x.format(t=t) for x in NOTHING_TO_COPY[script]])
        finally:
            pc.close()
        assert seen[4] == ("error", 1105), seen
        assert seen[5][3] == (("k",),), seen
        assert rows(mariadb, "SELECT name FROM mir.%s WHERE id = 5" % t) == (("k",),)
        shadow_agrees(env, mariadb, t, did)
        env.admin("deploy cancel %d" % did, timeout=30)
        return
    twin(env, mariadb, NOTHING_TO_COPY[script])


def through_proxy(env, steps, **kw):
    """Run steps (SQL, or a function of the connection) in one session
    through the proxy; return @@in_transaction at the end."""
    pc = env.connect(database="mir", **kw)
    try:
        with pc.cursor() as cur:
            for step in steps:
                if callable(step):
                    step(pc)
                    continue
                cur.execute(step)
                while cur.nextset():
                    pass
            cur.execute("SELECT @@in_transaction")
            return cur.fetchone()[0]
    finally:
        pc.close()


def test_deferred_two_deploys_in_one_transaction(env, mariadb):
    """Keys of two deploys in one transaction: the first deploy's are
    applied when the second's first write comes, the second's at COMMIT."""
    t1, u1, d1 = deployed_pair(env, mariadb, n=50)
    t2, u2, d2 = deployed_pair(env, mariadb, n=50)
    assert through_proxy(env, ["BEGIN", "UPDATE %s SET name = 'one' WHERE id = 1" % t1,
                               "DELETE FROM %s WHERE id = 2" % t1,
                               "UPDATE %s SET name = 'two' WHERE id = 1" % t2,
                               "INSERT INTO %s (id, name, created) VALUES (100401, 'two', '2025-06-01')" % t2,
                               "UPDATE %s SET name = 'one again' WHERE id = 3" % t1, "COMMIT"]) == 0
    for t, did in ((t1, d1), (t2, d2)):
        shadow_agrees(env, mariadb, t, did)
        env.admin("deploy cancel %d" % did, timeout=30)


def test_deferred_rollback_to_savepoint_spellings(env, mariadb):
    """ROLLBACK WORK TO SAVEPOINT, ROLLBACK TO (no SAVEPOINT word), lower
    case with a comment: a rolled back write stays out of the shadow, an
    earlier one stays in."""
    twin(env, mariadb, ["BEGIN", "UPDATE {t} SET name = 'kept' WHERE id = 1", "SAVEPOINT a",
                        "DELETE FROM {t} WHERE id = 2", "ROLLBACK WORK TO SAVEPOINT a",
                        "INSERT INTO {t} (id, name, created) VALUES (100501, 'y', '2025-06-01')",
                        "SAVEPOINT b", "UPDATE {t} SET name = 'undone' WHERE id = 3",
                        "DELETE FROM {t} WHERE id = 100501", "ROLLBACK TO b",
                        "SAVEPOINT c", "DELETE FROM {t} WHERE id = 4", "rollback  /* c */ work to c",
                        "COMMIT"])


def test_deferred_multi_statement_commit(env, mariadb):
    """A COMMIT inside a multi-statement packet (no write of t in it)."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    assert through_proxy(env, ["BEGIN", "UPDATE %s SET name = 'multi' WHERE id = 7" % t,
                               "SELECT 1; COMMIT; SELECT 2"],
                         client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS) == 0
    shadow_agrees(env, mariadb, t, did)
    env.admin("deploy cancel %d" % did, timeout=30)


def reset_connection(pc):
    pc._execute_command(0x1f, b"")          # COM_RESET_CONNECTION
    pc._read_ok_packet()
    pc.select_db("mir")


def test_deferred_reset_connection_rolls_back(env, mariadb):
    """COM_RESET_CONNECTION rolls the transaction back: its keys are
    dropped, and the session's next transaction is mirrored as usual."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    assert through_proxy(env, ["BEGIN", "UPDATE %s SET name = 'reset' WHERE id = 8" % t, reset_connection,
                               "BEGIN", "UPDATE %s SET name = 'after' WHERE id = 10" % t, "COMMIT"]) == 0
    assert rows(mariadb, "SELECT name FROM mir.%s WHERE id IN (8, 10) ORDER BY id" % t) == (("n7",), ("after",))
    shadow_agrees(env, mariadb, t, did)
    env.admin("deploy cancel %d" % did, timeout=30)
