"""A minimal MySQL 8 server, only for the caching_sha2_password paths that
no MariaDB server can produce.  It speaks just enough: the greeting, the
handshake response (with TLS after an SSLRequest), caching_sha2_password
fast and full authentication (cleartext over TLS, or RSA with the public
key it hands out on request), then COM_QUERY (SET: OK; any other query: one
row telling which authentication path was taken), COM_PING and COM_QUIT.

The framing of what it sends follows the MySQL 8.0 protocol as recorded
from real servers (greeting capability flags, auth-more-data packets).
"""

import hashlib
import os
import socket
import ssl
import struct
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CAP_LONG_PASSWORD = 1
CAP_FOUND_ROWS = 2
CAP_LONG_FLAG = 4
CAP_CONNECT_WITH_DB = 8
CAP_PROTOCOL_41 = 1 << 9
CAP_SSL = 1 << 11
CAP_TRANSACTIONS = 1 << 13
CAP_SECURE_CONNECTION = 1 << 15
CAP_MULTI_STATEMENTS = 1 << 16
CAP_MULTI_RESULTS = 1 << 17
CAP_PLUGIN_AUTH = 1 << 19
CAP_CONNECT_ATTRS = 1 << 20
CAP_PLUGIN_AUTH_LENENC = 1 << 21
CAP_DEPRECATE_EOF = 1 << 24

SERVER_CAPS = (CAP_LONG_PASSWORD | CAP_FOUND_ROWS | CAP_LONG_FLAG | CAP_CONNECT_WITH_DB |
               CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION | CAP_MULTI_STATEMENTS |
               CAP_MULTI_RESULTS | CAP_PLUGIN_AUTH | CAP_CONNECT_ATTRS | CAP_PLUGIN_AUTH_LENENC |
               CAP_DEPRECATE_EOF)
STATUS_AUTOCOMMIT = 2


def sha2_scramble(password, nonce):
    """What a client sends for the fast path."""
    p1 = hashlib.sha256(password).digest()
    p2 = hashlib.sha256(hashlib.sha256(p1).digest() + nonce).digest()
    return bytes(a ^ b for a, b in zip(p1, p2))


def lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lenenc_str(b):
    return lenenc(len(b)) + b


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.seq = 0

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("client closed")
            buf += chunk
        return buf

    def read(self):
        hdr = self.recv_exact(4)
        n = hdr[0] | hdr[1] << 8 | hdr[2] << 16
        self.seq = (hdr[3] + 1) & 0xFF
        return self.recv_exact(n)

    def send(self, payload):
        self.sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) & 0xFF

    def ok(self, status=STATUS_AUTOCOMMIT, header=b"\x00"):
        self.send(header + b"\x00\x00" + struct.pack("<HH", status, 0))

    def err(self, code, state, msg):
        self.send(b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + msg.encode())


class FakeMySQL8:
    """Serves connections in a thread.  mode: 'fast' (the password is in
    the server's cache) or 'full' (it is not: full authentication)."""

    def __init__(self, password="sha2pass", user="sha2user", mode="full", cert=None, key=None):
        self.password = password.encode()
        self.user = user.encode()
        self.mode = mode
        self.tls = None
        if cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(cert, key)
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.paths = []          # authentication path of each login, in order
        self.errors = []         # unexpected protocol errors (a test checks it is empty)
        self._stop = False
        self._next_id = 100
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self._stop = True
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self.listener.close()

    def _serve(self):
        while not self._stop:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            if self._stop:
                s.close()
                return
            threading.Thread(target=self._session, args=(s,), daemon=True).start()

    def _session(self, s):
        s.settimeout(20)
        c = Conn(s)
        try:
            self._handle(c)
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        except Exception as e:   # noqa: BLE001 - reported through self.errors
            self.errors.append(repr(e))
        finally:
            try:
                c.sock.close()
            except OSError:
                pass

    def _greeting(self, c, nonce):
        caps = SERVER_CAPS | (CAP_SSL if self.tls else 0)
        self._next_id += 1
        g = (b"\x0a" + b"8.0.36-fake\x00" + struct.pack("<I", self._next_id) + nonce[:8] + b"\x00" +
             struct.pack("<H", caps & 0xFFFF) + b"\xff" + struct.pack("<H", STATUS_AUTOCOMMIT) +
             struct.pack("<H", caps >> 16) + bytes([21]) + b"\x00" * 10 + nonce[8:] + b"\x00" +
             b"caching_sha2_password\x00")
        c.send(g)

    def _handle(self, c):
        nonce = bytes((b % 94) + 33 for b in os.urandom(20))     # printable, no NUL
        self._greeting(c, nonce)
        resp = c.read()
        caps = struct.unpack("<I", resp[:4])[0]
        secure = False
        if len(resp) == 32 and caps & CAP_SSL:
            if not self.tls:
                self.errors.append("SSLRequest without TLS offered")
                return
            c.sock = self.tls.wrap_socket(c.sock, server_side=True)
            secure = True
            resp = c.read()
            caps = struct.unpack("<I", resp[:4])[0]
        pos = 32
        end = resp.index(b"\x00", pos)
        user = resp[pos:end]
        pos = end + 1
        if caps & CAP_PLUGIN_AUTH_LENENC:
            n = resp[pos]
            pos += 1
        else:
            n = resp[pos]
            pos += 1
        auth = resp[pos:pos + n]
        if user != self.user:
            c.err(1045, "28000", "Access denied for user '%s'@'localhost'" % user.decode())
            return
        if self.mode == "fast" and auth == sha2_scramble(self.password, nonce):
            c.send(b"\x01\x03")
            c.ok()
            self.paths.append("fast")
        else:
            if self.mode == "fast":
                c.err(1045, "28000", "Access denied for user '%s'@'localhost' (using password: YES)" % user.decode())
                return
            c.send(b"\x01\x04")
            pkt = c.read()
            if pkt == b"\x02":
                c.send(b"\x01" + self.pem)
                enc = c.read()
                try:
                    plain = self.rsa.decrypt(enc, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()),
                                                               algorithm=hashes.SHA1(), label=None))
                except ValueError:
                    c.err(1045, "28000", "Access denied (RSA decryption failed)")
                    return
                password = bytes(b ^ nonce[i % len(nonce)] for i, b in enumerate(plain))
                path = "full-rsa"
            elif secure:
                password = pkt
                path = "full-tls"
            else:
                c.err(1045, "28000", "Authentication requires secure connection.")
                return
            if password.rstrip(b"\x00") != self.password:
                c.err(1045, "28000", "Access denied for user '%s'@'localhost' (using password: YES)" % user.decode())
                return
            c.ok()
            self.paths.append(path)
        self._commands(c, caps)

    def _commands(self, c, caps):
        while True:
            c.seq = 0
            try:
                pkt = c.read()
            except ConnectionError:
                return
            cmd = pkt[0]
            if cmd == 0x01:
                return
            if cmd == 0x0e:
                c.ok()
            elif cmd == 0x03 and pkt[1:].strip().upper().startswith(b"SET"):
                c.ok()
            elif cmd == 0x03:
                path = (self.paths[-1] if self.paths else "?").encode()
                c.send(b"\x01")
                c.send(lenenc_str(b"def") + lenenc_str(b"") * 3 + lenenc_str(b"auth_path") +
                       lenenc_str(b"") + b"\x0c" + struct.pack("<HIBHB", 255, 64, 253, 0, 0) + b"\x00\x00")
                if not caps & CAP_DEPRECATE_EOF:
                    c.send(b"\xfe\x00\x00" + struct.pack("<H", STATUS_AUTOCOMMIT))
                c.send(lenenc_str(path))
                if caps & CAP_DEPRECATE_EOF:
                    c.ok(header=b"\xfe")
                else:
                    c.send(b"\xfe\x00\x00" + struct.pack("<H", STATUS_AUTOCOMMIT))
            else:
                c.err(1047, "08S01", "Unknown command")
