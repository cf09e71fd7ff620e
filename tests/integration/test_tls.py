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


def make_cert(d, cn="localhost", name=""):
    if shutil.which("openssl") is None:
        raise g.Skip("openssl not installed")
    cert = os.path.join(d, name + "cert.pem")
    key = os.path.join(d, name + "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + cn], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def tls_connect(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def der_of(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def served_cert(port):
    """The DER certificate a new TLS connection is handed."""
    s = tls_connect(port)
    try:
        return s.getpeercert(binary_form=True)
    finally:
        s.close()


def read_response(s):
    """One whole response (head and Content-Length body) from s."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


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


def reload_cert(t):
    """SIGHUP replaces the certificate for new handshakes; connections
    made before keep working; a bad pair keeps the old one (SPEC 5)."""
    d = g.mkdtemp(T)
    cert, key = make_cert(d, "a.test")
    cert_b, key_b = make_cert(d, "b.test", "b-")
    cert_c, key_c = make_cert(d, "c.test", "c-")
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "tls_cert", cert)
    c.set("listen", "tls_key", key)
    dmn = g.Daemon(T, d, c, "tlsreload")
    dmn.start()

    def reloads(result):
        return g.scrape(aport).get("geo307_reload_total", what="tls",
                                   result=result)

    def install(src_cert, src_key):
        for src, dst in ((src_cert, cert), (src_key, key)):
            with open(src, "rb") as f:
                g.write_file_atomic(dst, f.read())

    def sighup_until(result):
        before = reloads(result)
        dmn.sighup()
        return g.wait_until(lambda: reloads(result) > before, 5)

    a_der = der_of(cert)
    t.ok(served_cert(port) == a_der, "TLS: the configured certificate "
         "(a.test) is served")
    keep = tls_connect(port)
    keep.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
    first = read_response(keep)
    install(cert_b, key_b)
    ok = sighup_until("ok")
    t.ok(ok and served_cert(port) == der_of(cert_b),
         "SIGHUP with a new certificate: new connections get b.test",
         "reload seen: %r" % ok)
    keep.sendall(b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
    second = read_response(keep)
    t.ok(first.startswith(b"HTTP/1.1 307 ") and
         second.startswith(b"HTTP/1.1 307 ") and
         keep.getpeercert(binary_form=True) == a_der,
         "a keep-alive connection made before the reload still works, "
         "still on a.test", repr((first[:40], second[:40])))
    keep.close()
    # c.test's certificate with b.test's key: refused, b.test stays.
    install(cert_c, key_b)
    ok = sighup_until("error")
    t.ok(ok and served_cert(port) == der_of(cert_b) and
         "does not belong to the certificate" in dmn.stderr(),
         "SIGHUP with a key that is not the certificate's: "
         "reload_total{tls,error} +1, logged, b.test still served",
         dmn.stderr()[-400:])
    install(cert_c, key_c)
    ok = sighup_until("ok")
    head = tls_request(port, b"GET /upload?x=1 HTTP/1.1\r\nHost: a\r\n"
                       b"X-Forwarded-For: 81.2.69.142\r\n\r\n")
    t.ok(ok and served_cert(port) == der_of(cert_c) and
         head.startswith(b"HTTP/1.1 307 ") and "CN=c.test" in dmn.stderr(),
         "the fixed pair: c.test served and logged, requests still 307",
         repr(head[:60]))


def check_tls(t):
    """--check loads and checks the pair as a start or SIGHUP would."""
    d = g.mkdtemp(T)
    cert, key = make_cert(d, "check.test")
    _, key_b = make_cert(d, "other.test", "o-")
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "tls_cert", cert)
    c.set("listen", "tls_key", key)
    path = g.write_config(d, c.text(), "check.conf")
    rc, out, err = g.run_geo307(["--check", "-c", path], timeout=10)
    t.ok(rc == 0 and "CN=check.test" in err and "valid until" in err,
         "--check with a good pair: exit 0, the subject and expiry said",
         "rc %r stdout %r stderr %r" % (rc, out[-200:], err[-300:]))
    c.set("listen", "tls_key", key_b)
    path = g.write_config(d, c.text(), "check-bad.conf")
    rc, out, err = g.run_geo307(["--check", "-c", path], timeout=10)
    t.ok(rc == 1 and "does not belong to the certificate" in err,
         "--check with another certificate's key: exit 1, said why",
         "rc %r stderr %r" % (rc, err[-300:]))


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
        (5, reload_cert),
        (2, check_tls),
        (1, bad_key),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
