"""sysbench through the proxy: server-side prepared statements from several
concurrent sessions (oltp_read_write and oltp_point_select): the run
completes, the proxy raises no error of its own, and the tables are whole."""

import re
import shutil
import subprocess

import pytest

SYSBENCH = shutil.which("sysbench", path="/usr/bin:/bin") or "/usr/bin/sysbench"


def sysbench(port, db, *args, timeout=120):
    argv = [SYSBENCH, *args, "--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-port=%d" % port,
            "--mysql-user=app", "--mysql-password=apppass", "--mysql-db=%s" % db, "--tables=2",
            "--table-size=2000"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def figure(out, name):
    m = re.search(r"^\s*%s:\s+(\d+)" % re.escape(name), out, re.M)
    assert m, "no '%s' in sysbench output:\n%s" % (name, out)
    return int(m.group(1))


@pytest.mark.parametrize("workload", ["oltp_read_write", "oltp_point_select"])
def test_sysbench_through_proxy(proxy, mariadb, unique_name, workload):
    if not shutil.which(SYSBENCH):
        pytest.fail("sysbench is not installed (tests/run installs it)")
    db = unique_name("sb")
    with mariadb.root_connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE %s" % db)
    r = sysbench(proxy.port, db, workload, "prepare")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sysbench(proxy.port, db, workload, "--threads=4", "--time=4", "--db-ps-mode=auto", "run")
    assert r.returncode == 0, r.stdout + r.stderr + proxy.diagnostics()
    # "ignored errors" are deadlocks between sysbench's own sessions on these
    # small tables (the server's doing, as directly); anything else fails the
    # run.  The proxy must not have raised a single error of its own.
    assert figure(r.stdout, "reconnects") == 0, r.stdout
    assert figure(r.stdout, "transactions") > 50, r.stdout
    stats = proxy.admin("stats")
    assert stats["commands"].get("stmt_execute", 0) > 500, stats
    assert stats["proxy_errors"] == 0, stats
    # the tables are whole: sysbench's invariants (ids unique, k indexed)
    with mariadb.connect(database=db) as conn, conn.cursor() as cur:
        for t in ("sbtest1", "sbtest2"):
            cur.execute("CHECK TABLE %s" % t)
            assert cur.fetchall()[-1][-1] == "OK"
            cur.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM %s" % t)
            total, distinct = cur.fetchone()
            assert total == distinct and total > 0
    r = sysbench(proxy.port, db, workload, "cleanup")
    assert r.returncode == 0, r.stdout + r.stderr
