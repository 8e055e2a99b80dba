"""caching_sha2_password (MySQL 8) through the proxy, against a fake MySQL 8
server (tests/integration/fake_mysql8.py): MariaDB cannot produce these
exchanges.  Every combination of TLS on the client link and on the backend
link, fast and full authentication, and wrong passwords."""

import pymysql
import pytest

from fake_mysql8 import FakeMySQL8


@pytest.fixture
def fake(request, mariadb):
    servers = []

    def make(**kw):
        srv = FakeMySQL8(**kw)
        servers.append(srv)
        return srv
    yield make
    for srv in servers:
        srv.close()
        assert srv.errors == [], srv.errors


def connect(p, password="sha2pass", tls_ca=None):
    kw = {}
    if tls_ca:
        kw["ssl"] = {"ca": tls_ca}
    return pymysql.connect(host=p.host, port=p.port, user="sha2user", password=password,
                           connect_timeout=10, **kw)


def auth_path(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT auth_path")
        return cur.fetchone()[0]


def tls_proxy(make_proxy, mariadb, fake_port, backend_tls):
    opts = dict(backend_port=fake_port, proxy_client_tls="optional",
                proxy_client_tls_cert=mariadb.cert, proxy_client_tls_key=mariadb.key)
    if backend_tls:
        opts["backend_tls"] = "required"
    return make_proxy(**opts)


@pytest.mark.parametrize("client_tls", [False, True], ids=["client-plain", "client-tls"])
@pytest.mark.parametrize("backend_tls", [False, True], ids=["backend-plain", "backend-tls"])
@pytest.mark.parametrize("mode", ["fast", "full"])
def test_login(make_proxy, mariadb, fake, mode, client_tls, backend_tls):
    srv = fake(mode=mode, cert=mariadb.cert if backend_tls else None,
               key=mariadb.key if backend_tls else None)
    p = tls_proxy(make_proxy, mariadb, srv.port, backend_tls)
    conn = connect(p, tls_ca=mariadb.ca if client_tls else None)
    path = auth_path(conn)
    if mode == "fast":
        assert path == "fast"
    elif client_tls and backend_tls:
        assert path == "full-tls"          # the client's cleartext, over TLS end to end
    else:
        # a plain client encrypts with the server's key itself; a TLS client
        # sends cleartext to the proxy, which encrypts it for a plain backend
        assert path == "full-rsa"
    conn.ping()
    conn.close()


@pytest.mark.parametrize("client_tls", [False, True], ids=["client-plain", "client-tls"])
def test_wrong_password_full_auth(make_proxy, mariadb, fake, client_tls):
    srv = fake(mode="full")
    p = tls_proxy(make_proxy, mariadb, srv.port, False)
    with pytest.raises(pymysql.MySQLError) as e:
        connect(p, password="wrong", tls_ca=mariadb.ca if client_tls else None)
    assert e.value.args[0] == 1045, e.value.args
    assert srv.paths == []
    assert p.admin("stats")["auth_failures"] == 1


def test_wrong_password_fast(make_proxy, mariadb, fake):
    srv = fake(mode="fast")
    p = make_proxy(backend_port=srv.port)
    with pytest.raises(pymysql.MySQLError) as e:
        connect(p, password="wrong")
    assert e.value.args[0] == 1045


def test_many_logins_mixed(make_proxy, mariadb, fake):
    """The proxy's RSA step keeps no state across sessions."""
    srv = fake(mode="full")
    p = tls_proxy(make_proxy, mariadb, srv.port, False)
    for i in range(10):
        conn = connect(p, tls_ca=mariadb.ca if i % 2 else None)
        assert auth_path(conn) == "full-rsa"
        conn.close()
    assert len(srv.paths) == 10
