"""
test_replica_lag.py - the backfill waits for the replicas it is told to
watch ([cutover] replicas): a replica that does not replicate, lags more
than max_replica_lag_ms, or cannot be reached pauses the copy, with the
reason in `deploy show`.

A private primary (binary log on) and a replica of it, started here.
"""

import time

import pytest

from conftest import MariaDB, ProxyFactory, free_port
from test_deploy import execute, fill, wait_state


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    primary = MariaDB(tmp_path_factory.mktemp("primary"),
                      ["--server-id=1", "--log-bin=primary-bin", "--binlog-format=ROW"])
    replica = MariaDB(tmp_path_factory.mktemp("replica"), ["--server-id=2", "--read-only=0"])
    try:
        primary.start()
        replica.start()
        execute(primary, "RESET MASTER")   # the accounts start() made stay out of the stream
        execute(replica, "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='cutover', "
                         "MASTER_PASSWORD='cutoverpass', MASTER_USE_GTID=slave_pos" % primary.port,
                "START SLAVE")
        yield primary, replica
    finally:
        replica.close_connections()
        primary.close_connections()
        replica.stop()
        primary.stop()


@pytest.fixture
def make_proxy_for(tmp_path_factory):
    """make_proxy_for(server, **opts): a cutoverd in front of `server`."""
    factories = []

    def make(server, **opts):
        f = ProxyFactory(server, tmp_path_factory)
        factories.append(f)
        return f(**opts)
    yield make
    for f in factories:
        f.teardown()


def replica_status(replica):
    conn = replica.root_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS")
            cols = [c[0] for c in cur.description]
            return dict(zip(cols, cur.fetchone()))
    finally:
        conn.close()


def test_copy_waits_for_the_replica(pair, make_proxy_for):
    primary, replica = pair
    deadline = time.monotonic() + 30
    while replica_status(replica)["Slave_SQL_Running"] != "Yes":
        assert time.monotonic() < deadline, replica_status(replica)
        time.sleep(0.1)
    execute(primary, "CREATE DATABASE lagdb")
    fill(primary, "lagdb", "t", 2000)
    proxy = make_proxy_for(primary, cutover_replicas="127.0.0.1:%d, 127.0.0.1:%d" % (replica.port, replica.port),
                           cutover_max_replica_lag_ms="2000")
    # the replica stops applying: the copy must wait, saying why
    execute(replica, "STOP SLAVE SQL_THREAD")
    r = proxy.admin("deploy create lagdb.t ADD COLUMN x INT", timeout=60)
    assert r["ok"], r
    deadline = time.monotonic() + 20
    while True:
        s = proxy.admin("deploy show %d" % r["id"])
        if s["throttled"] and "replica" in s["throttle_reason"]:
            break
        assert time.monotonic() < deadline, s
        time.sleep(0.05)
    assert "is not replicating" in s["throttle_reason"], s
    assert s["rows_copied"] == 0 and s["state"] == "copying", s
    # it replicates again: the copy goes on to ready
    execute(replica, "START SLAVE SQL_THREAD")
    s = wait_state(proxy, r["id"], ("ready", "failed"))
    assert s["state"] == "ready" and s["rows_copied"] == 2000, s


def test_unreachable_replica_pauses_the_copy(pair, make_proxy_for):
    primary, replica = pair
    execute(primary, "CREATE DATABASE IF NOT EXISTS lagdb2")
    fill(primary, "lagdb2", "t", 100)
    dead = free_port()
    proxy = make_proxy_for(primary, cutover_replicas="127.0.0.1:%d" % dead)
    r = proxy.admin("deploy create lagdb2.t ADD COLUMN x INT", timeout=60)
    assert r["ok"], r
    deadline = time.monotonic() + 20
    while True:
        s = proxy.admin("deploy show %d" % r["id"])
        if s["throttled"] and "cannot be reached" in s["throttle_reason"]:
            break
        assert time.monotonic() < deadline, s
        time.sleep(0.05)
    assert s["rows_copied"] == 0, s
    c = proxy.admin("deploy cancel %d" % r["id"], timeout=30)
    assert c["ok"] and c["state"] == "cancelled", c


def test_bad_replicas_setting_is_an_error(make_proxy):
    import subprocess
    from conftest import CUTOVERD
    p = make_proxy(start=False, cutover_replicas="nohostport")
    r = subprocess.run([CUTOVERD, "-c", p.ini_path], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "is not host:port" in r.stdout + r.stderr + p.read_log()
