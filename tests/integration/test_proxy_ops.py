"""Operating the proxy: pause/resume, limits and timeouts, malformed input,
reload, graceful shutdown, metrics."""

import json
import os
import signal
import socket
import struct
import threading
import time
import urllib.request

import pymysql
import pytest

from conftest import free_port


def q(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def in_thread(fn):
    """Run fn in a thread; returns (thread, box) where box gets 'result'/'error' and 'at'."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except Exception as e:   # noqa: BLE001 - reported by the test
            box["error"] = e
        box["at"] = time.monotonic()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def read_packet(sock):
    hdr = b""
    while len(hdr) < 4:
        chunk = sock.recv(4 - len(hdr))
        if not chunk:
            return None, None
        hdr += chunk
    n = hdr[0] | hdr[1] << 8 | hdr[2] << 16
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            break
        body += chunk
    return hdr[3], body


def raw_connect(p):
    s = socket.create_connection((p.host, p.port), timeout=10)
    seq, greeting = read_packet(s)
    assert seq == 0 and greeting[0] == 10, greeting
    return s


# --------------------------------------------------------------------------
# pause / resume
# --------------------------------------------------------------------------

def test_pause_holds_new_transactions_and_lets_open_ones_finish(proxy):
    busy = proxy.connect()
    q(busy, "BEGIN")
    q(busy, "SELECT 1")
    other = proxy.connect()

    a = proxy.admin_connect(timeout=20)
    a.send_raw(b"pause 20000\n")
    time.sleep(0.3)
    # the open transaction keeps going while pause waits for it
    assert q(busy, "SELECT 2") == ((2,),)
    # a new transaction is held
    t, box = in_thread(lambda: q(other, "SELECT 3"))
    time.sleep(0.5)
    assert "result" not in box and "error" not in box, box
    status = proxy.admin("status")
    assert status["paused"] is True and status["held"] == 1, status
    clients = proxy.admin("clients")["clients"]
    assert any(c["state"] == "held" for c in clients), clients
    # the transaction ends: pause answers (drained)
    q(busy, "COMMIT")
    reply = a.read_reply()
    assert reply["ok"] is True and reply["paused"] is True, reply
    assert "result" not in box
    released_at = time.monotonic()
    assert proxy.admin("resume") == {"ok": True, "released": 1}
    t.join(10)
    assert box.get("result") == ((3,),), box
    assert box["at"] >= released_at
    a.close()
    assert proxy.admin("stats")["held_commands"] == 1


def test_pause_resumes_by_itself_at_the_timeout(proxy):
    conn = proxy.connect()
    reply = proxy.admin("pause 300")
    assert reply["ok"] is True, reply
    start = time.monotonic()
    assert q(conn, "SELECT 1") == ((1,),)     # held, then released at the timeout
    waited = time.monotonic() - start
    assert 0.1 < waited < 5, waited
    assert proxy.admin("status")["paused"] is False


def test_pause_timeout_before_drain_is_an_error(proxy):
    busy = proxy.connect()
    q(busy, "BEGIN")
    q(busy, "SELECT 1")
    reply = proxy.admin("pause 300")
    assert reply["ok"] is False and "still open" in reply["error"], reply
    assert proxy.admin("status")["paused"] is False
    q(busy, "ROLLBACK")


@pytest.mark.parametrize("line,words", [
    ("pause abc", "timeout_ms"), ("pause 0", "timeout_ms"), ("pause 1 2", "usage"),
    ("resume", "not paused"),
])
def test_pause_bad_arguments(proxy, line, words):
    reply = proxy.admin(line)
    assert reply["ok"] is False and words in reply["error"], reply
    assert proxy.admin("status")["paused"] is False


def test_held_client_that_disconnects_is_cleaned_up(proxy):
    conn = proxy.connect()
    assert proxy.admin("pause 10000")["ok"] is True
    s = raw_connect(proxy)
    s.close()            # never authenticated: not held, just gone
    t, box = in_thread(lambda: q(conn, "SELECT 1"))
    time.sleep(0.3)
    assert proxy.admin("status")["held"] == 1
    conn._sock.shutdown(socket.SHUT_RDWR)   # the held client goes away
    time.sleep(0.3)
    assert proxy.admin("status")["held"] == 0
    assert proxy.admin("resume")["ok"] is True


# --------------------------------------------------------------------------
# limits and timeouts
# --------------------------------------------------------------------------

def test_max_clients_gives_error_1040(make_proxy):
    p = make_proxy(proxy_max_clients=2)
    a, b = p.connect(), p.connect()
    with pytest.raises(pymysql.MySQLError) as e:
        p.connect()
    assert e.value.args[0] == 1040 and "max_clients" in e.value.args[1]
    a.close()
    time.sleep(0.2)
    c = p.connect()
    assert q(c, "SELECT 1") == ((1,),)
    assert q(b, "SELECT 1") == ((1,),)


def test_handshake_timeout_drops_silent_clients(make_proxy):
    p = make_proxy(proxy_handshake_timeout_ms=300)
    s = raw_connect(p)
    start = time.monotonic()
    seq, body = read_packet(s)     # an ERR packet, then the close
    assert body is not None and body[0] == 0xFF, body
    code = struct.unpack("<H", body[1:3])[0]
    assert code == 1043, code
    assert time.monotonic() - start < 5
    assert read_packet(s) == (None, None)


def test_idle_timeout(make_proxy):
    p = make_proxy(proxy_client_idle_timeout=1)
    conn = p.connect()
    assert q(conn, "SELECT 1") == ((1,),)
    time.sleep(2.0)
    with pytest.raises(pymysql.MySQLError):
        q(conn, "SELECT 1")
    assert p.admin("status")["sessions"] == 0


def test_idle_in_transaction_timeout_rolls_back(make_proxy, mariadb, unique_name):
    t = unique_name()
    q(mariadb.connect(), "CREATE TABLE %s (id INT PRIMARY KEY) ENGINE=InnoDB" % t)
    p = make_proxy(proxy_client_idle_in_transaction_timeout=1)
    conn = p.connect()
    q(conn, "BEGIN")
    q(conn, "INSERT INTO %s VALUES (1)" % t)
    time.sleep(2.0)
    with pytest.raises(pymysql.MySQLError):
        q(conn, "COMMIT")
    time.sleep(0.2)
    assert q(mariadb.connect(), "SELECT COUNT(*) FROM %s" % t) == ((0,),)
    # outside a transaction the session is not timed out
    conn2 = p.connect()
    time.sleep(1.5)
    assert q(conn2, "SELECT 1") == ((1,),)


def test_max_packet_size(make_proxy):
    p = make_proxy(proxy_max_packet_size=100000)
    conn = p.connect()
    assert len(q(conn, "SELECT REPEAT('a', 50000)")[0][0]) == 50000
    with pytest.raises(pymysql.MySQLError) as e:
        q(conn, "SELECT '%s'" % ("b" * 200000))
    assert e.value.args[0] in (1153, 2013), e.value.args


# --------------------------------------------------------------------------
# malformed input
# --------------------------------------------------------------------------

def test_garbage_handshake_gets_an_error_packet(proxy):
    s = raw_connect(proxy)
    s.sendall(b"\x05\x00\x00\x01hello")
    seq, body = read_packet(s)
    assert body is not None and body[0] == 0xFF, body
    assert struct.unpack("<H", body[1:3])[0] == 1043
    assert read_packet(s) == (None, None)
    # the proxy is fine
    assert q(proxy.connect(), "SELECT 1") == ((1,),)


def test_http_request_to_the_mysql_port(proxy):
    s = socket.create_connection((proxy.host, proxy.port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    # a greeting, then an error, then the close; never a hang
    assert data[4] == 10
    assert b"\xff" in data[4 + (data[0] | data[1] << 8):]
    assert q(proxy.connect(), "SELECT 1") == ((1,),)


def test_empty_command_packet(proxy):
    conn = proxy.connect()
    conn._sock.sendall(b"\x00\x00\x00\x00")
    seq, body = read_packet(conn._sock)
    assert body[0] == 0xFF and struct.unpack("<H", body[1:3])[0] == 1835
    assert proxy.admin("stats")["proxy_errors"] >= 1


def test_unsupported_command_is_refused_and_session_goes_on(proxy):
    conn = proxy.connect()
    conn._sock.sendall(b"\x01\x00\x00\x00\x12")   # COM_BINLOG_DUMP
    seq, body = read_packet(conn._sock)
    assert seq == 1 and body[0] == 0xFF, body
    assert b"not supported" in body
    assert q(conn, "SELECT 7") == ((7,),)


def test_admin_garbage_does_not_break_the_socket(proxy):
    with proxy.admin_connect() as a:
        a.send_raw(b"\x00\x01\x02\n")
        assert a.read_reply()["ok"] is False
        a.send_raw(b"x" * 70000 + b"\n")
        assert a.read_reply()["ok"] is False
        assert a.cmd("status")["ok"] is True
    assert oct(os.stat(proxy.admin_socket).st_mode & 0o777) == "0o600"


# --------------------------------------------------------------------------
# reload and shutdown
# --------------------------------------------------------------------------

def test_reload_applies_reloadable_and_reports_restart_only(proxy):
    conn = proxy.connect()
    proxy.rewrite_ini(proxy_max_clients=1, proxy_listen="127.0.0.1:%d" % free_port())
    reply = proxy.admin("reload")
    assert reply["ok"] is True, reply
    assert "listen" in reply["message"] and "restart" in reply["message"], reply
    with pytest.raises(pymysql.MySQLError) as e:     # max_clients = 1 now
        proxy.connect()
    assert e.value.args[0] == 1040
    assert q(conn, "SELECT 1") == ((1,),)


def test_reload_with_a_broken_file_keeps_the_running_config(proxy):
    with open(proxy.ini_path, "a") as f:
        f.write("\n[proxy]\nno_such_option = 1\n")
    reply = proxy.admin("reload")
    assert reply["ok"] is False and "no_such_option" in reply["error"], reply
    assert q(proxy.connect(), "SELECT 1") == ((1,),)


def test_sighup_reloads(proxy):
    proxy.rewrite_ini(proxy_max_clients=1)
    proxy.reload()
    time.sleep(0.5)
    conn = proxy.connect()
    with pytest.raises(pymysql.MySQLError) as e:
        proxy.connect()
    assert e.value.args[0] == 1040
    conn.close()


def test_sigterm_waits_for_open_transactions(make_proxy, mariadb, unique_name):
    t = unique_name()
    q(mariadb.connect(), "CREATE TABLE %s (id INT PRIMARY KEY) ENGINE=InnoDB" % t)
    p = make_proxy(proxy_shutdown_timeout_ms=10000)
    idle = p.connect()
    busy = p.connect()
    q(busy, "BEGIN")
    q(busy, "INSERT INTO %s VALUES (1)" % t)
    p.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert p.proc.poll() is None, "exited with a transaction open"
    with pytest.raises(pymysql.MySQLError):
        q(idle, "SELECT 1")               # idle sessions are closed
    with pytest.raises(OSError):
        socket.create_connection((p.host, p.port), timeout=2).recv(1) or (_ for _ in ()).throw(OSError())
    q(busy, "INSERT INTO %s VALUES (2)" % t)   # the transaction goes on
    q(busy, "COMMIT")
    p.proc.wait(10)
    assert p.proc.returncode == 0
    assert q(mariadb.connect(), "SELECT COUNT(*) FROM %s" % t) == ((2,),)


def test_sigterm_gives_up_after_the_shutdown_timeout(make_proxy):
    p = make_proxy(proxy_shutdown_timeout_ms=500)
    busy = p.connect()
    q(busy, "BEGIN")
    q(busy, "SELECT 1")
    start = time.monotonic()
    p.proc.send_signal(signal.SIGTERM)
    p.proc.wait(10)
    assert time.monotonic() - start < 5
    assert p.proc.returncode == 0


# --------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------

def test_prometheus_metrics(make_proxy):
    port = free_port()
    p = make_proxy(proxy_metrics_listen="127.0.0.1:%d" % port)
    conn = p.connect()
    q(conn, "SELECT 1")
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    assert "cutover_sessions 1" in body
    assert 'cutover_commands_total{command="query"}' in body
    assert "cutover_command_duration_seconds_count" in body
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % port, timeout=10)
    assert e.value.code == 404


# --------------------------------------------------------------------------
# `clients` follows the session's schema
# --------------------------------------------------------------------------

def test_clients_db_follows_use_and_init_db(proxy, mariadb):
    with mariadb.root_connect() as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS `we``ird`")
    conn = proxy.connect()
    cid = conn.thread_id()

    def db():
        rows = [c for c in proxy.admin("clients")["clients"] if c["backend_id"] == cid]
        assert len(rows) == 1, rows
        return rows[0]["db"]

    assert db() == "test"
    q(conn, "USE mysql")
    assert db() == "mysql"
    q(conn, "  use `we``ird` ;")
    assert db() == "we`ird"
    conn.select_db("test")              # COM_INIT_DB
    assert db() == "test"
    with pytest.raises(pymysql.MySQLError):
        q(conn, "USE no_such_db_here")
    assert db() == "test"               # a failed USE changes nothing
    with pytest.raises(pymysql.MySQLError):
        conn.select_db("no_such_db_here")
    assert db() == "test"
