"""
test_harness.py - checks of the test harness itself, against the private
server directly (no cutoverd needed): the server is up with the settings
the other tests rely on, the users can log in, TLS works, and make_proxy
writes the ini it promises.
"""

import os
import ssl
import subprocess

import pymysql
import pytest

from conftest import MARIADB_CLI, parse_ini


def cli(mariadb, *args, user="app", password="apppass", port=None, extra=()):
    """Run the mariadb command-line client against 127.0.0.1:port."""
    argv = [MARIADB_CLI, "--no-defaults", "-h127.0.0.1", "-P%d" % (port or mariadb.port),
            "-u" + user, "-p" + password, "--batch", "--skip-column-names", *extra, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_server_is_up(mariadb):
    conn = mariadb.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), DATABASE(), CURRENT_USER()")
        version, db, user = cur.fetchone()
        assert "MariaDB" in version
        assert db == "test"
        assert user == "app@%"
        cur.execute("SELECT @@max_allowed_packet, @@local_infile, @@have_ssl, @@port, @@bind_address")
        assert cur.fetchone() == (64 * 1024 * 1024, 1, "YES", mariadb.port, "127.0.0.1")
    assert os.path.exists(mariadb.socket)
    assert os.path.isdir(mariadb.datadir)


def test_root_over_unix_socket(mariadb):
    conn = mariadb.root_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == ("root@localhost",)
        cur.execute("SELECT COUNT(*) FROM mysql.global_priv WHERE User = ''")
        assert cur.fetchone() == (0,), "anonymous users would shadow app@%"
    conn.close()


@pytest.mark.parametrize("user,password,plugin", [
    ("app", "apppass", "mysql_native_password"),
    ("cutover", "cutoverpass", "mysql_native_password"),
    ("app_ed", "edpass", "ed25519"),
])
def test_users(mariadb, user, password, plugin):
    conn = mariadb.root_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT JSON_VALUE(Priv, '$.plugin') FROM mysql.global_priv "
                    "WHERE User = %s AND Host = '%%'", (user,))
        assert cur.fetchone() == (plugin,)
        cur.execute("SHOW GRANTS FOR %s@'%%'", (user,))
        grants = " ".join(r[0] for r in cur.fetchall())
        assert "GRANT ALL PRIVILEGES ON *.* TO" in grants
    conn.close()
    r = cli(mariadb, "-e", "SELECT CURRENT_USER()", user=user, password=password)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == user + "@%"


def test_native_users_with_pymysql(mariadb):
    for user, password in (("app", "apppass"), ("cutover", "cutoverpass")):
        conn = mariadb.connect(user=user, password=password)
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)


def test_ed25519_with_mariadb_cli(mariadb):
    r = cli(mariadb, "-e", "select 1", user="app_ed", password="edpass")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
    r = cli(mariadb, "-e", "select 1", user="app_ed", password="wrong")
    assert r.returncode != 0
    assert "1045" in r.stderr


def test_wrong_password(mariadb):
    with pytest.raises(pymysql.err.OperationalError) as e:
        mariadb.connect(password="nope")
    assert e.value.args[0] == 1045
    assert "Access denied for user 'app'@'127.0.0.1'" in e.value.args[1]


def test_tls_pymysql(mariadb):
    conn = mariadb.connect(ssl={"ca": mariadb.ca})   # verifies the chain and 127.0.0.1
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        name, version = cur.fetchone()
        assert version.startswith("TLS"), version


def test_tls_wrong_ca_refused(mariadb):
    with pytest.raises(pymysql.err.OperationalError) as e:
        mariadb.connect(ssl={"ca": mariadb.wrong_ca})
    assert isinstance(getattr(e.value, "original_exception", None), ssl.SSLError)


def test_tls_mariadb_cli_verify_and_client_cert(mariadb):
    r = cli(mariadb, "-e", "SHOW SESSION STATUS LIKE 'Ssl_version'",
            extra=("--ssl-ca=" + mariadb.ca, "--ssl-verify-server-cert",
                   "--ssl-cert=" + mariadb.client_cert, "--ssl-key=" + mariadb.client_key))
    assert r.returncode == 0, r.stderr
    assert "TLS" in r.stdout


def test_tls_files_with_openssl(mariadb):
    for cert in (mariadb.cert, mariadb.client_cert):
        r = subprocess.run(["openssl", "verify", "-CAfile", mariadb.ca, cert], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run(["openssl", "verify", "-CAfile", mariadb.wrong_ca, cert], capture_output=True, text=True)
        assert r.returncode != 0
    for path in (mariadb.key, mariadb.client_key, mariadb.ca_key):
        assert os.path.getsize(path) > 0


def test_direct_connections_closed_after_each_test(mariadb):
    conn = mariadb.connect()
    assert conn in mariadb._conns


def test_make_proxy_ini(make_proxy, mariadb):
    text = make_proxy.render(
        "[log]\nlevel = info\n[debug]\ninject_before = INSERT INTO test.x VALUES (1)\n",
        backend_port=1, debug_inject_after="DO 1", cutover_password=None)
    conf = parse_ini(text)
    assert conf["proxy"]["listen"].startswith("127.0.0.1:")
    assert conf["proxy"]["admin_socket"].endswith("/admin.sock")
    assert conf["backend"] == {"host": "127.0.0.1", "port": "1"}
    assert conf["cutover"] == {"user": "cutover"}
    assert conf["log"]["level"] == "info"
    assert conf["log"]["file"].endswith("/cutoverd.log")
    assert conf["debug"] == {"inject_before": "INSERT INTO test.x VALUES (1)", "inject_after": "DO 1"}
    default = parse_ini(make_proxy.render())
    assert default["backend"] == {"host": "127.0.0.1", "port": str(mariadb.port)}
    assert default["cutover"] == {"user": "cutover", "password": "cutoverpass"}
    assert default["log"]["level"] == "debug"
    with pytest.raises(ValueError):
        make_proxy.render("key = value outside a section\n")
    with pytest.raises(TypeError):
        make_proxy.render(nosection=1)
