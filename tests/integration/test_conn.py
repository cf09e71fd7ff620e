#!/usr/bin/env python3
"""Connection behaviour the README promises: HTTP/1.0 keep-alive (kept
when the client asks with Connection: keep-alive, closed otherwise), and
the start-up line naming every listen address."""

import os
import sys

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}


def setup():
    if "port" in S:
        return S["port"]
    S["tmp"] = g.mkdtemp(T)
    port, aport, port2 = g.free_port(), g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "address", "127.0.0.1:%d, 127.0.0.1:%d" % (port, port2))
    S["d"] = g.Daemon(T, S["tmp"], c, "conn").start()
    S["port"], S["port2"] = port, port2
    return port


def http10(t):
    port = setup()
    c = g.Conn(port)
    try:
        c.send(g.req("GET", "/a", version="HTTP/1.0"))
        r = c.read_response()
        el = c.wait_closed(3 * g.SLACK)
        t.ok(r.status == 307 and r.has_token("Connection", "close") and
             el is not None, "HTTP/1.0 without keep-alive: 307, Connection: "
             "close, closed", repr(r))
    finally:
        c.close()
    c = g.Conn(port)
    try:
        ka = [("Connection", "keep-alive")]
        c.send(g.req("GET", "/a", ka, version="HTTP/1.0"))
        r1 = c.read_response()
        c.send(g.req("GET", "/b", ka, version="HTTP/1.0"))
        r2 = c.read_response()
        t.ok(r1.status == 307 and r1.has_token("Connection", "keep-alive")
             and r1.header("Content-Length") is not None and
             r2.status == 307 and r2.header("Location", "").endswith("/b"),
             "HTTP/1.0 with Connection: keep-alive: Connection: Keep-Alive, "
             "a Content-Length, a second request answered on the same "
             "connection", repr(r1) + "\n" + repr(r2))
        c.send(g.req("GET", "/c", version="HTTP/1.0"))
        r3 = c.read_response()
        el = c.wait_closed(3 * g.SLACK)
        t.ok(r3.status == 307 and r3.has_token("Connection", "close") and
             el is not None, "HTTP/1.0: a request without keep-alive on that "
             "connection closes it", repr(r3))
    finally:
        c.close()
    c = g.Conn(port)
    try:
        c.send(g.req("POST", "/u", [("Connection", "keep-alive"),
                                    ("Content-Length", "5")],
                     version="HTTP/1.0", body=b"hello"))
        r = c.read_response()
        t.ok(r.status == 307 and r.has_token("Connection", "close"),
             "HTTP/1.0 keep-alive with a body: 307, Connection: close",
             repr(r))
    finally:
        c.close()


def startup_line(t):
    setup()
    r = g.raw_request(S["port2"], g.req("GET", "/second"))
    t.eq(r.status, 307, "the second listen address answers")
    lines = [ln for ln in S["d"].stderr().splitlines() if "serving on" in ln]
    want = ["127.0.0.1:%d" % S["port"], "127.0.0.1:%d" % S["port2"]]
    t.ok(len(lines) == 1 and all(w in lines[0] for w in want),
         "the start-up line names every listen address", repr(lines))


def main():
    T.run([
        (4, http10),
        (2, startup_line),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
