#!/usr/bin/env python3
"""HTTPS on the public listener ([listen] tls_cert/tls_key): the same
307 over TLS, an early answer to a body over TLS, and a clear refusal to
start with an unreadable key (SPEC 5, 6)."""

import os
import shutil
import socket
import ssl
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}


def make_cert(d):
    if shutil.which("openssl") is None:
        raise g.Skip("openssl not installed")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def tls_request(port, data):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf
    finally:
        s.close()


def https(t):
    d = g.mkdtemp(T)
    cert, key = make_cert(d)
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "tls_cert", cert)
    c.set("listen", "tls_key", key)
    g.Daemon(T, d, c, "tls").start()
    head = tls_request(port, b"GET /upload?x=1 HTTP/1.1\r\nHost: a\r\n"
                       b"X-Forwarded-For: 81.2.69.142\r\n\r\n")
    t.ok(head.startswith(b"HTTP/1.1 307 ") and
         b"\r\nLocation: https://eu-1.up.example.net/upload?x=1\r\n" in head,
         "HTTPS: 307 with the byte-exact Location", repr(head[:300]))
    head = tls_request(port, b"POST /u HTTP/1.1\r\nHost: a\r\n"
                       b"Content-Length: 10000000\r\n"
                       b"Expect: 100-continue\r\n\r\n")
    t.ok(head.startswith(b"HTTP/1.1 307 ") and b"100 Continue" not in head
         and b"Connection: close" in head,
         "HTTPS: a body with Expect gets the early 307, no 100 Continue",
         repr(head[:300]))
    # Plain HTTP on the TLS port is not answered with a redirect.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        try:
            got = s.recv(4096)
        except OSError:
            got = b""
    finally:
        s.close()
    t.ok(b"307" not in got, "plain HTTP on the TLS port gets no 307",
         repr(got[:100]))


def bad_key(t):
    d = g.mkdtemp(T)
    cert, key = make_cert(d)
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "tls_cert", cert)
    c.set("listen", "tls_key", os.path.join(d, "missing-key.pem"))
    path = g.write_config(d, c.text(), "badkey.conf")
    rc, _, err = g.run_geo307(["-c", path], timeout=10)
    t.ok(rc == 1 and "missing-key.pem" in err,
         "a missing TLS key: exit 1 naming the file",
         "rc %r stderr %r" % (rc, err[-300:]))


def main():
    T.run([
        (3, https),
        (1, bad_key),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
