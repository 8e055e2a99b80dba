"""Statements the proxy runs inside a client's session must not change what
the client reads of its own diagnostics: SHOW WARNINGS / ERRORS (with LIMIT),
SHOW COUNT(*) WARNINGS / ERRORS and @@warning_count / @@error_count answer
exactly as they do directly, whatever the proxy ran before or after."""

import pymysql
import pytest

from test_proxy_basic import INJECT_SQL, observe, inject_log  # noqa: F401  (fixture)

# statement that leaves diagnostics, then the reads to compare
WORKLOAD = [
    ("SELECT 1/0, CAST('x' AS SIGNED)", [
        "SHOW WARNINGS", "SHOW WARNINGS", "SHOW WARNINGS LIMIT 1", "SHOW WARNINGS LIMIT 1,1",
        "show   warnings  limit 1 offset 1;", "SHOW COUNT(*) WARNINGS", "SELECT @@warning_count",
        "SELECT @@session.warning_count", "SHOW ERRORS", "SHOW COUNT(*) ERRORS", "SELECT @@error_count",
        "SELECT @@warning_count, @@error_count", "SELECT @@Warning_Count AS w",
        "select @@SESSION.warning_count w ,@@local.Error_Count AS `e``e`;", "SELECT @@error_count AS 'x y'",
        'SELECT @@warning_count "q", @@warning_count',
    ]),
    ("SELECT 1 FROM {t} LIMIT 1", ["SHOW WARNINGS", "SELECT @@warning_count"]),
    ("SELECT * FROM no_such_table_here", [
        "SHOW WARNINGS", "SHOW ERRORS", "SHOW COUNT(*) ERRORS", "SELECT @@error_count",
        "SELECT @@warning_count", "SELECT @@error_count, @@warning_count AS w",
    ]),
    ("INSERT INTO {t} (v) VALUES (1000), ('12abc')", ["SHOW WARNINGS", "SHOW COUNT(*) WARNINGS"]),
    ("UPDATE {t} SET v = v + 1", ["SHOW WARNINGS"]),
    ("SELECT v / 0 FROM {t}", ["SHOW WARNINGS", "SHOW WARNINGS LIMIT 0"]),
]


def run_workload(conn, t):
    seen = []
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        for stmt, reads in WORKLOAD:
            sql = stmt.format(t=t)
            try:
                seen.append(observe(conn, cur, sql))
            except pymysql.MySQLError as e:
                seen.append(("error", e.args[0]))
            for r in reads:
                seen.append(observe(conn, cur, r))
    return seen


@pytest.mark.parametrize("hooks", [
    {"debug_inject_before": INJECT_SQL},
    {"debug_inject_after": "DO 1"},
    {"debug_inject_after": INJECT_SQL},
    {"debug_inject_before": INJECT_SQL, "debug_inject_after": "DO 1"},
], ids=["before", "after-do", "after-insert", "both"])
def test_diagnostics_survive_injection(make_proxy, mariadb, unique_name, inject_log, hooks):  # noqa: F811
    p = make_proxy(**hooks)
    views = []
    for conn in (mariadb.connect(), p.connect()):
        t = unique_name()
        with mariadb.connect().cursor() as cur:
            cur.execute("CREATE TABLE %s (id INT AUTO_INCREMENT PRIMARY KEY, v TINYINT) ENGINE=InnoDB" % t)
        views.append([{k: v for k, v in x.items() if k != "sql"} if isinstance(x, dict) else x
                      for x in run_workload(conn, t)])
    direct, proxied = views
    assert len(direct) == len(proxied)
    for i, (want, got) in enumerate(zip(direct, proxied)):
        assert got == want, "step %d differs" % i
    # the workload does produce diagnostics, so the comparison means something
    assert any(isinstance(x, dict) and x["rows"] and x["rows"][0][0] == "Warning" for x in direct)
    assert any(isinstance(x, dict) and x["rows"] and x["rows"][0][0] == "Error" for x in direct)
    stats = p.admin("stats")
    assert stats["injected_statements"] > 0, stats


def test_proxy_answers_from_saved_copy(make_proxy, mariadb):
    """With an injected statement after every command, the server's own list
    is gone: the right answer can only come from the proxy's copy."""
    p = make_proxy(debug_inject_after="DO 1")
    conn = p.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT 1/0")
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == (("Warning", 1365, "Division by 0"),)
    assert int(p.admin("stats")["diagnostics_answered"]) == 1
