"""
test_mirror_diagnostics.py - the client's own warnings around mirrored
writes (session 7; each case failed when written).

The server keeps one list of warnings per session; a statement that uses a
table resets it, COMMIT and statements without tables do not.  The proxy's
own statements use tables, so they reset the list the client would read:
  - a transaction's deferred re-copies run right before the client's
    COMMIT; directly, SHOW WARNINGS after COMMIT shows the warnings of the
    transaction's last write, through the proxy it showed the re-copies'
    (none);
  - a statement that reads no table (SELECT 1, SET) keeps the list, but
    the proxy forgot its saved copy at any statement;
  - when one of the proxy's statements after the client's failed (the
    deploy fails, the client keeps its OK), SHOW WARNINGS showed that error
    where the client's statement had left none.
Each sequence runs through the proxy on a table under deploy and directly
on its twin; what the client sees must be the same.
"""

import pymysql
import pytest

from test_deploy import wait_state
from test_mirror import env  # noqa: F401
from test_mirror_review6 import pair, UQ, UQ_FILL

WIDE = "UPDATE {t} SET v = 300000000000 WHERE id = 1"     # a warning: out of range, cut

SEQUENCES = {
    "commit": ["BEGIN", WIDE, "COMMIT", "SHOW WARNINGS", "SELECT @@warning_count"],
    "read-then-commit": ["BEGIN", WIDE, "SHOW WARNINGS", "COMMIT", "SHOW WARNINGS", "SHOW COUNT(*) WARNINGS"],
    "delete-then-warning": ["BEGIN", "DELETE FROM {t} WHERE id = 2", WIDE, "COMMIT", "SHOW WARNINGS"],
    "warning-then-clean": ["BEGIN", WIDE, "UPDATE {t} SET v = 3 WHERE id = 2", "COMMIT", "SHOW WARNINGS"],
    "error-then-commit": ["BEGIN", WIDE, "INSERT INTO {t} VALUES (1, 'q', 1)", "COMMIT", "SHOW WARNINGS",
                          "SHOW ERRORS"],
    "autocommit": [WIDE, "SHOW WARNINGS", "SELECT @@warning_count, @@error_count"],
    "no-table-between": [WIDE, "SELECT 1", "SET @a = 2", "SHOW WARNINGS", "SELECT @@warning_count"],
    "table-between": [WIDE, "SELECT 1", "SELECT v FROM {t} WHERE id = 1", "SHOW WARNINGS"],
    "commit-no-table-between": ["BEGIN", WIDE, "COMMIT", "SELECT NOW() > 0", "SHOW WARNINGS"],
    "set-autocommit-ends": ["BEGIN", WIDE, "SET autocommit = 1", "SHOW WARNINGS", "SET autocommit = 1"],
    "ping-between": [WIDE, "PING", "SHOW WARNINGS", "BEGIN", WIDE, "COMMIT", "PING", "SHOW COUNT(*) WARNINGS"],
    "ddl-error-ends": ["BEGIN", WIDE, "CREATE TABLE {t}_x (x INT, x INT)", "SHOW WARNINGS"],
}


def run(conn, sqls, t):
    seen = []
    with conn.cursor() as cur:
        cur.execute("SET sql_mode = ''")
        for sql in sqls:
            if sql == "PING":               # COM_PING: leaves the list alone
                conn.ping(reconnect=False)
                continue
            try:
                cur.execute(sql.format(t=t))
                seen.append((sql, cur.fetchall() if cur.description else cur.rowcount,
                             conn._result.warning_count))
            except pymysql.MySQLError as e:
                seen.append((sql, "error", e.args[0]))
    return seen


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_warnings_survive_the_mirror(env, mariadb, name):
    t, u, did = pair(env, mariadb, [UQ, UQ_FILL], "ADD COLUMN note INT NULL")
    out = []
    for conn, x in ((env.connect(database="mir"), t), (mariadb.connect(database="mir"), u)):
        out.append(run(conn, SEQUENCES[name], x))
        conn.close()
    assert env.admin("deploy show %d" % did)["state"] == "ready"
    env.admin("deploy cancel %d" % did, timeout=30)
    assert out[0] == out[1]
    assert any(x[0] == WIDE and x[2] == 1 for x in out[1])     # the comparison means something


@pytest.mark.parametrize("mode", ["autocommit", "transaction"])
def test_failed_mirror_statement_not_in_the_clients_warnings(env, mariadb, mode):
    """The shadow's column is narrower (TINYINT): the re-copy of a row with
    v = 1000 fails (strict, pinned), which fails the deploy; the client's
    INSERT succeeded and left no warnings, so its SHOW WARNINGS is empty, as
    directly."""
    t, u, did = pair(env, mariadb, [UQ, UQ_FILL], "MODIFY v SMALLINT NOT NULL")
    sqls = ["INSERT INTO {t} VALUES (9, 'z', 100000)", "SHOW WARNINGS", "SELECT @@warning_count",
            "SHOW COUNT(*) ERRORS"]
    if mode == "transaction":
        sqls = ["BEGIN"] + sqls + ["COMMIT", "SHOW WARNINGS"]
    out = []
    for conn, x in ((env.connect(database="mir"), t), (mariadb.connect(database="mir"), u)):
        out.append(run(conn, sqls, x))
        conn.close()
    wait_state(env, did, "failed")      # the deploy fails in the background
    env.admin("deploy cancel %d" % did, timeout=30)
    assert out[0] == out[1]
