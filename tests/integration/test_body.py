#!/usr/bin/env python3
"""Request bodies: curl uploads reach the upload server through the 307,
Expect: 100-continue gets no 100, early answers, the lingering close and
its bounds (SPEC section 1, LIBRARY-NOTES)."""

import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
MB = 1 << 20


def setup():
    if "port" in S:
        return S["port"]
    S["tmp"] = g.mkdtemp(T)
    sink = g.Sink()
    T.at_exit(sink.close)
    S["sink"] = sink
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, regions=False, servers=False)
    c.set("redirect", "allow_http", "yes")
    c.set("region all", "location", "50.0, 8.0")
    c.set("region all", "default", "yes")
    c.set("server sink", "url", sink.base)
    c.set("server sink", "region", "all")
    g.Daemon(T, S["tmp"], c, "body").start()
    S["port"], S["aport"] = port, aport
    S["file"], S["sha"] = g.make_file(S["tmp"], "upload.bin", 20 * MB)
    return port


def m(name, **labels):
    return g.scrape(S["aport"]).get(name, **labels)


def quiet_linger(aport, timeout=5):
    """Wait until nothing lingers (earlier connections are done)."""
    g.wait_metric(aport, lambda x: x.get("geo307_linger_connections") == 0,
                  timeout)


def curl(args, timeout=60):
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",
                        "%{http_code} %{num_redirects} %{size_upload}"] + args,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout * g.SLACK)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check_upload(t, before, method, what, curl_res):
    rc, out, err = curl_res
    ups = S["sink"].uploads()[before:]
    got = [(u["method"], u["path"], u["query"], u["length"], u["sha256"])
           for u in ups]
    want = [(method, "/base/upload", "x=1", 20 * MB, S["sha"])]
    t.ok(rc == 0 and out.split()[:2] == ["201", "1"] and got == want,
         what, "curl rc=%d out=%r err=%r\nsink got %r\nwant %r"
         % (rc, out, err, got, want))


def curl_uploads(t):
    port = setup()
    url = "http://127.0.0.1:%d/upload?x=1" % port
    quiet_linger(S["aport"])
    d0 = m("geo307_discarded_body_bytes_total")
    n = len(S["sink"].uploads())
    res = curl(["-L", "--post301", "-X", "POST", "--data-binary",
                "@" + S["file"], url])
    check_upload(t, n, "POST", "curl POST 20 MB (Expect) -L: the upload "
                 "server got the body intact, POST, path and query", res)
    quiet_linger(S["aport"])
    d = m("geo307_discarded_body_bytes_total") - d0
    t.ok(d <= 65536, "curl with Expect: geo307 discarded %d body bytes "
         "(<= 64 KiB)" % d, "curl: %r" % (res,))
    n = len(S["sink"].uploads())
    res = curl(["-L", "-T", S["file"], url])
    check_upload(t, n, "PUT", "curl -T 20 MB -L: the upload server got the "
                 "body intact, PUT", res)
    quiet_linger(S["aport"])
    n = len(S["sink"].uploads())
    l0 = m("geo307_linger_total")
    res = curl(["-L", "-H", "Expect:", "--data-binary", "@" + S["file"], url])
    check_upload(t, n, "POST", "curl POST 20 MB without Expect -L (body sent "
                 "twice): still delivered intact", res)
    quiet_linger(S["aport"])
    d = m("geo307_linger_total") - l0
    t.ok(d == 1, "the connection geo307 answered early went through the "
         "linger: linger_total (all outcomes) +%d" % d,
         g.scrape(S["aport"]).text if d != 1 else None)


def expect_raw(t):
    port = setup()
    quiet_linger(S["aport"])
    d0 = m("geo307_discarded_body_bytes_total")
    c = g.Conn(port)
    try:
        c.send(g.req("POST", "/upload?x=1", [
            ("Content-Length", str(10 * MB)), ("Expect", "100-continue"),
            ("Content-Type", "application/octet-stream")]))
        r = c.read_response(timeout=5)
        t.ok(r.status == 307 and b"100 Continue" not in r.raw_head and
             r.has_token("Connection", "close") and
             r.header("Location") == S["sink"].base + "/upload?x=1",
             "Expect: 100-continue, 10 MB: 307 first, no 100 Continue, "
             "Connection: close", repr(r))
    finally:
        c.close()
    quiet_linger(S["aport"])
    d = m("geo307_discarded_body_bytes_total") - d0
    t.ok(d <= 1024, "no body byte sent: discarded_body_bytes grew by %d" % d)

    # RFC 9110 lets a client send the body without waiting: no reset then
    c = g.Conn(port)
    try:
        body = g.pattern_bytes(256 * 1024)
        c.send(g.req("POST", "/upload", [
            ("Content-Length", str(len(body))),
            ("Expect", "100-continue")], body=body))
        try:
            r = c.read_response(timeout=5)
            st = r.status
        except (ConnectionResetError, g.Closed) as e:
            st = repr(e)
        t.eq(st, 307, "Expect + 256 KiB body sent at once: the 307 arrives "
             "(no reset)")
    finally:
        c.close()


def read_all(c, timeout=3):
    """Every byte the server sends until it closes: (bytes, how)."""
    data, c.buf = c.buf, b""
    end = time.monotonic() + timeout * g.SLACK
    while time.monotonic() < end:
        st = c.peer_state(0.1)
        data += c.buf
        c.buf = b""
        if st in ("eof", "reset"):
            return data, st
    return data, "open"


def expect_bodiless(t):
    """Expect: 100-continue on a request without a body, then one more
    byte or a pipelined request: no 100 Continue, the request's own 307,
    then a clean close (the README says so)."""
    port = setup()
    cases = [
        ("GET /a + Expect, then one more byte",
         g.req("GET", "/a", [("Expect", "100-continue")]) + b"X", "/a"),
        ("POST Content-Length: 0 + Expect, then a pipelined GET /b",
         g.req("POST", "/p", [("Expect", "100-continue"),
                              ("Content-Length", "0")]) +
         g.req("GET", "/b"), "/p"),
    ]
    for what, data, tgt in cases:
        m0 = m("geo307_requests_total", status="307")
        c = g.Conn(port)
        try:
            c.send(data)
            raw, how = read_all(c)
        finally:
            c.close()
        bad = []
        if b"100 Continue" in raw:
            bad.append("a 100 Continue was sent")
        heads = raw.count(b"HTTP/1.1 ")
        first = raw.split(b"\r\n", 1)[0]
        if not first.startswith(b"HTTP/1.1 307"):
            bad.append("first answer %r, want 307" % first)
        loc = S["sink"].base + tgt
        if ("Location: %s\r\n" % loc).encode() not in raw:
            bad.append("no Location %s" % loc)
        if b"internal error" in raw.lower():
            bad.append("an internal error answer")
        if heads == 1:
            if b"Connection: close" not in raw or how != "eof":
                bad.append("one answer but no Connection: close and a "
                           "clean close (%s)" % how)
        elif heads == 2 and tgt == "/p":
            if b"Location: " + (S["sink"].base + "/b").encode() not in raw:
                bad.append("the pipelined request's answer is not its own")
        else:
            bad.append("%d answers" % heads)
        d = m("geo307_requests_total", status="307") - m0
        if d != heads:
            bad.append("geo307_requests_total{status=307} grew by %d for %d "
                       "answers" % (d, heads))
        t.ok(not bad, what + ": no 100 Continue, its 307, then a clean "
             "close", "\n".join(bad + [repr(raw[:600])]))


def write_then_read(t):
    port = setup()
    quiet_linger(S["aport"])
    m0 = g.scrape(S["aport"])
    c = g.Conn(port, timeout=10)
    err = None
    try:
        body = g.pattern_bytes(MB)
        try:
            c.send(g.req("POST", "/upload?x=1", [
                ("Content-Length", str(len(body))),
                ("Content-Type", "application/octet-stream")]) + body)
            r = c.read_response(timeout=5)
        except OSError as e:
            err, r = e, None
        t.ok(r is not None and r.status == 307,
             "1 MiB body written before reading (browser style): the 307 "
             "arrives, no reset", "error %r response %r" % (err, r))
        c.sock.shutdown(socket.SHUT_WR)
        c.wait_closed(3)
    finally:
        c.close()
    m1 = g.wait_metric(S["aport"], lambda x:
                       x.get("geo307_linger_total", outcome="eof") >
                       m0.get("geo307_linger_total", outcome="eof"))
    de = (m1.get("geo307_linger_total", outcome="eof") -
          m0.get("geo307_linger_total", outcome="eof"))
    dd = (m1.get("geo307_discarded_body_bytes_total") -
          m0.get("geo307_discarded_body_bytes_total"))
    t.ok(de >= 1 and MB - 65536 <= dd <= MB,
         "linger outcome eof counted (+%d), %d body bytes discarded" % (de, dd))


def early(t):
    port = setup()
    c = g.Conn(port)
    try:
        c.send(g.req("POST", "/upload?x=1", [("Content-Length", str(10 * MB))]))
        t0 = time.monotonic()
        r = c.read_response(timeout=3)
        t.ok(r.status == 307 and r.has_token("Connection", "close"),
             "POST with Content-Length 10 MB, headers only: 307 with "
             "Connection: close before any body byte (%.2f s)"
             % (time.monotonic() - t0), repr(r))
    finally:
        c.close()
    c = g.Conn(port)
    try:
        c.send(g.req("POST", "/upload?x=1", [
            ("Transfer-Encoding", "chunked")], body=b"5\r\nhello\r\n"))
        r = c.read_response(timeout=3)
        t.ok(r.status == 307 and r.has_token("Connection", "close"),
             "chunked body: early 307 with Connection: close", repr(r))
        try:
            c.send(b"0\r\n\r\n")
        except OSError:
            pass
    finally:
        c.close()
    c = g.Conn(port)
    try:
        c.send(g.req("GET", "/get-with-body", [("Content-Length", "4")],
                     body=b"abcd") + g.req("GET", "/next"))
        r = c.read_response(timeout=3)
        nxt = c.peer_state(1)
        t.ok(r.status == 307 and r.has_token("Connection", "close") and
             nxt in ("eof", "reset"),
             "GET with a 4-byte body: 307 + Connection: close, the bytes "
             "after it are not parsed as a request", "%r then %s %r"
             % (r, nxt, c.buf[:200]))
    finally:
        c.close()


def bounds(t):
    setup()
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("linger", "max_bytes", "64K")
    c.set("linger", "idle", "0.5")
    c.set("linger", "max_time", "2")
    g.Daemon(T, S["tmp"], c, "bounds").start()

    # max_bytes
    m0 = g.scrape(aport)
    c = g.Conn(port, timeout=10)
    try:
        body = g.pattern_bytes(MB)
        try:
            c.send(g.req("POST", "/u", [("Content-Length", str(len(body)))]) +
                   body)
            c.read_response(timeout=5)
        except OSError:
            pass            # a reset or EPIPE is the expected price
    finally:
        c.close()
    m1 = g.wait_metric(aport, lambda x:
                       x.get("geo307_linger_total", outcome="bytes") >
                       m0.get("geo307_linger_total", outcome="bytes"))
    db = (m1.get("geo307_linger_total", outcome="bytes") -
          m0.get("geo307_linger_total", outcome="bytes"))
    dd = (m1.get("geo307_discarded_body_bytes_total") -
          m0.get("geo307_discarded_body_bytes_total"))
    t.ok(db == 1 and dd <= 2 * 65536,
         "max_bytes = 64K, 1 MiB body: linger outcome bytes +%d, "
         "%d bytes discarded" % (db, dd))

    # idle
    m0 = m1
    c = g.Conn(port)
    try:
        c.send(g.req("POST", "/u", [("Content-Length", "100000")]) +
               b"x" * 1000)
        sent = time.monotonic()
        r = c.read_response(timeout=3)
        m1 = g.wait_metric(aport, lambda x:
                           x.get("geo307_linger_total", outcome="idle") >
                           m0.get("geo307_linger_total", outcome="idle"),
                           timeout=5)
        el = time.monotonic() - sent
        ok = (m1.get("geo307_linger_total", outcome="idle") >
              m0.get("geo307_linger_total", outcome="idle"))
        t.ok(r.status == 307 and ok and 0.35 <= el <= 0.5 + 1.5 * g.SLACK,
             "linger idle = 0.5: a stalled body is let go after %.2f s, "
             "outcome idle counted" % el, "idle counted: %r, %r" % (ok, r))
        dead = None
        try:
            for _ in range(3):
                c.sock.send(b"y" * 100)
                time.sleep(0.1)
            c.sock.settimeout(1)
            c.sock.recv(100)
            c.sock.send(b"y")
        except OSError as e:
            dead = e
        t.ok(dead is not None, "after the idle close the server socket is "
             "gone (sending gets a reset)", "no error while sending")
    finally:
        c.close()

    # max_time
    m0 = g.scrape(aport)
    c = g.Conn(port)
    try:
        c.send(g.req("POST", "/u", [("Content-Length", str(10 * MB))]))
        start = time.monotonic()
        c.read_response(timeout=3)
        end = None
        while time.monotonic() - start < 6 * g.SLACK:
            try:
                c.sock.send(b"z" * 100)
            except OSError:
                end = time.monotonic() - start
                break
            time.sleep(0.15)
            mm = g.scrape(aport)
            if (mm.get("geo307_linger_total", outcome="time") >
                    m0.get("geo307_linger_total", outcome="time")):
                end = time.monotonic() - start
                break
        m1 = g.wait_metric(aport, lambda x:
                           x.get("geo307_linger_total", outcome="time") >
                           m0.get("geo307_linger_total", outcome="time"))
        dt = (m1.get("geo307_linger_total", outcome="time") -
              m0.get("geo307_linger_total", outcome="time"))
        t.ok(end is not None and 1.7 <= end <= 2 + 1.5 * g.SLACK and dt == 1,
             "linger max_time = 2: a trickling body is let go after %s s, "
             "outcome time counted (+%d)"
             % (None if end is None else "%.2f" % end, dt))
    finally:
        c.close()
    mm = g.wait_metric(aport, lambda x: x.get("geo307_linger_connections") == 0)
    t.eq(mm.get("geo307_linger_connections"), 0.0,
         "geo307_linger_connections back to 0")


def refused(t):
    setup()
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("linger", "per_ip", 1)
    g.Daemon(T, S["tmp"], c, "refused").start()
    m0 = g.scrape(aport)
    a, b = g.Conn(port), g.Conn(port)
    try:
        hdr = g.req("POST", "/upload?x=1", [("Content-Length", str(10 * MB))])
        a.send(hdr)
        ra = a.read_response(timeout=3)
        g.wait_metric(aport, lambda x: x.get("geo307_linger_connections") == 1)
        b.send(hdr)
        rb = b.read_response(timeout=3)
        m1 = g.wait_metric(aport, lambda x:
                           x.get("geo307_linger_total", outcome="refused") >
                           m0.get("geo307_linger_total", outcome="refused"))
        dr = (m1.get("geo307_linger_total", outcome="refused") -
              m0.get("geo307_linger_total", outcome="refused"))
        t.ok(ra.status == 307 and rb.status == 307 and dr == 1 and
             m1.get("geo307_linger_connections") == 1,
             "[linger] per_ip = 1: a second upload from the same address "
             "still gets its 307, its linger is refused and counted",
             "%r\n%r\nrefused +%r, lingering %r" % (
                 ra, rb, dr, m1.get("geo307_linger_connections")))
    finally:
        a.close()
        b.close()


def main():
    T.run([
        (5, curl_uploads),
        (3, expect_raw),
        (2, expect_bodiless),
        (2, write_then_read),
        (3, early),
        (5, bounds),
        (1, refused),
        (1, g.check_daemons),
    ], need_binary=True)


if __name__ == "__main__":
    main()
