"""
test_perl_clients.py - the proxy with Perl's DBD::MariaDB as the client.

tests/integration/dbd_clients.pl (TAP) covers server-side prepare with
typed placeholders, multi-statement batches, LOAD DATA LOCAL, last_insert_id,
error codes and SQLSTATEs, a 20 MiB value each way through both protocols,
and AutoCommit/rollback.  It runs against the server directly and through
the proxy, in plain text and over TLS (with the proxy's client_tls optional
or required, and TLS to the backend off or verified); every run must print
no "not ok" and exit 0.
"""

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "dbd_clients.pl")
PERL = shutil.which("perl") or "/usr/bin/perl"


def _have_dbd_mariadb():
    try:
        r = subprocess.run([PERL, "-MDBD::MariaDB", "-MTest::More", "-e", "1"], capture_output=True, timeout=30)
    except OSError:
        return False
    return r.returncode == 0


pytestmark = pytest.mark.skipif(not _have_dbd_mariadb(),
                                reason="perl with DBD::MariaDB (libdbd-mariadb-perl) is not installed")


def run_dbd(target, tmp_path, ssl_ca=None, diagnostics=""):
    argv = [PERL, SCRIPT, target.host, str(target.port), "app", "apppass", "test", "--tmpdir", str(tmp_path)]
    if ssl_ca:
        argv += ["--ssl-ca", ssl_ca]
    r = subprocess.run(argv, capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    lines = out.splitlines()
    report = "%s\nexit %d\n--- stdout ---\n%s\n--- stderr ---\n%s\n%s" % (
        " ".join(argv), r.returncode, out, err, diagnostics() if callable(diagnostics) else diagnostics)
    failed = [ln for ln in lines if ln.startswith("not ok")]
    assert not failed, report
    plan = [ln for ln in lines if ln.startswith("1..")]
    assert len(plan) == 1 and int(plan[0][3:]) > 0, report
    assert len([ln for ln in lines if ln.startswith("ok ")]) == int(plan[0][3:]), report
    assert r.returncode == 0, report
    return lines


def test_dbd_mariadb(endpoint, tmp_path):
    diagnostics = endpoint.diagnostics if endpoint.kind == "proxy" else ""
    run_dbd(endpoint, tmp_path, diagnostics=diagnostics)


def test_dbd_mariadb_tls_direct(mariadb, tmp_path):
    lines = run_dbd(mariadb, tmp_path, ssl_ca=mariadb.ca)
    assert any("the connection is encrypted" in ln for ln in lines)


@pytest.mark.parametrize("client_tls,backend_tls", [
    ("optional", "disabled"),
    ("required", "verify-identity"),
])
def test_dbd_mariadb_tls_proxy(make_proxy, mariadb, tmp_path, client_tls, backend_tls):
    """Everything over TLS to the proxy: its certificate is the server's
    (CN localhost, IP SAN 127.0.0.1, signed by mariadb.ca), so the client
    verifies the name too."""
    p = make_proxy(proxy_client_tls=client_tls, proxy_client_tls_cert=mariadb.cert,
                   proxy_client_tls_key=mariadb.key, backend_tls=backend_tls,
                   backend_tls_ca=mariadb.ca if backend_tls != "disabled" else None)
    lines = run_dbd(p, tmp_path, ssl_ca=mariadb.ca, diagnostics=p.diagnostics)
    assert any("the connection is encrypted" in ln for ln in lines)
