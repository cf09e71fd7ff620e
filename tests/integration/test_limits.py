#!/usr/bin/env python3
"""Connection limits and timeouts: per_ip_connections (lingering
included, a 503 never a silent close), header_timeout against a
slowloris trickle, keepalive_timeout, max_connections (SPEC 1, 6)."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()


F = g.Fixture(T)
tmp = F.tmp


def get_on(c, target="/x"):
    c.send(g.req("GET", target))
    return c.read_response(timeout=3)


def try_get(port, target="/x", timeout=3):
    """A new connection, one GET: the Response, or a string saying why not."""
    try:
        c = g.Conn(port, timeout=timeout)
    except OSError as e:
        return "connect: %r" % (e,)
    try:
        c.send(g.req("GET", target))
        return c.read_response(timeout=timeout)
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)
    finally:
        c.close()


def over_limit_problems(r):
    if isinstance(r, str):
        return ["no HTTP answer: " + r]
    bad = []
    if r.status != 503:
        bad.append("status %d" % r.status)
    try:
        ra = int(r.header("Retry-After"))
        if not 5 <= ra <= 15:
            bad.append("Retry-After %d outside [5, 15]" % ra)
    except (TypeError, ValueError):
        bad.append("Retry-After %r" % r.header("Retry-After"))
    if not r.has_token("Connection", "close"):
        bad.append("no Connection: close")
    if (r.header("Cache-Control") or "") != "no-store":
        bad.append("Cache-Control %r" % r.header("Cache-Control"))
    return bad


def per_ip(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "per_ip_connections", 3)
    c.set("redirect", "retry_after", 10)
    g.Daemon(T, tmp(), c, "perip").start()
    held = []
    try:
        for _ in range(3):
            held.append(g.Conn(port))
        time.sleep(0.3)
        r = try_get(port)
        bad = over_limit_problems(r)
        t.ok(not bad, "per_ip_connections = 3: the 4th connection gets 503, "
             "Retry-After, Connection: close", "\n".join(bad + [repr(r)]))
        held.pop().close()
        time.sleep(0.3)
        r = try_get(port)
        t.ok(not isinstance(r, str) and r.status == 307,
             "after one of the 3 closed, a new connection gets 307", repr(r))
    finally:
        for h in held:
            h.close()
    held = []
    time.sleep(0.3)
    try:
        lg = g.Conn(port)
        held.append(lg)
        lg.send(g.req("POST", "/upload", [("Content-Length", str(10 << 20))]))
        r0 = lg.read_response(timeout=3)
        held.append(g.Conn(port))
        held.append(g.Conn(port))
        time.sleep(0.3)
        r = try_get(port)
        bad = over_limit_problems(r)
        t.ok(r0.status == 307 and not bad, "a lingering upload counts: "
             "1 lingering + 2 idle, the next gets 503",
             "\n".join(bad + [repr(r0), repr(r)]))
        lg.close()
        held.remove(lg)
        time.sleep(0.5)
        r = try_get(port)
        t.ok(not isinstance(r, str) and r.status == 307,
             "the lingering upload gone: a new connection gets 307", repr(r))
    finally:
        for h in held:
            h.close()


def timeouts(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "header_timeout", 1)
    c.set("listen", "keepalive_timeout", 1)
    g.Daemon(T, tmp(), c, "timeouts").start()
    hi = 1 + 1.5 * g.SLACK

    # slowloris: one byte every 0.3 s, forever
    data = g.req("GET", "/slow", [("X-Pad", "p" * 100)])
    c = g.Conn(port)
    try:
        t0 = time.monotonic()
        closed = None
        i = 0
        while time.monotonic() - t0 < 5 * g.SLACK:
            try:
                c.sock.send(data[i:i + 1])
            except OSError:
                closed = time.monotonic() - t0
                break
            i += 1
            st = c.peer_state(0.3)
            if st in ("eof", "reset", "data"):
                closed = time.monotonic() - t0
                break
        t.ok(closed is not None and 0.7 <= closed <= hi,
             "header_timeout = 1: a client trickling a byte every 0.3 s is "
             "closed after %s s" % (None if closed is None else
                                    "%.2f" % closed),
             "buffer: %r" % c.buf[:200])
    finally:
        c.close()

    c = g.Conn(port)
    try:
        el = c.wait_closed(5 * g.SLACK)
        t.ok(el is not None and 0.7 <= el <= hi,
             "header_timeout = 1: a silent connection is closed after %s s"
             % (None if el is None else "%.2f" % el))
    finally:
        c.close()

    c = g.Conn(port)
    try:
        data = g.req("GET", "/in-time")
        for part in (data[:5], data[5:20], data[20:]):
            c.send(part)
            time.sleep(0.25)
        r = c.read_response(timeout=3)
        t.eq(r.status, 307, "a header completed in 0.75 s (under 1 s) is "
             "answered")
        el = c.wait_closed(5 * g.SLACK)
        t.ok(el is not None and 0.6 <= el <= hi,
             "keepalive_timeout = 1: the idle keep-alive connection is closed "
             "%s s after the answer" % (None if el is None else "%.2f" % el))
    finally:
        c.close()

    # the second request on a keep-alive connection has a deadline too
    c = g.Conn(port)
    try:
        r = get_on(c, "/first")
        data = g.req("GET", "/second", [("X-Pad", "p" * 100)])
        t0 = time.monotonic()
        closed = None
        i = 0
        while time.monotonic() - t0 < 5 * g.SLACK:
            try:
                c.sock.send(data[i:i + 1])
            except OSError:
                closed = time.monotonic() - t0
                break
            i += 1
            st = c.peer_state(0.3)
            if st in ("eof", "reset", "data"):
                closed = time.monotonic() - t0
                break
        t.ok(r.status == 307 and closed is not None and closed <= hi,
             "a trickled second request on a keep-alive connection is closed "
             "after %s s" % (None if closed is None else "%.2f" % closed),
             "buffer %r" % c.buf[:200])
    finally:
        c.close()


def half_closed(t):
    """A client that half-closes (FIN) before its header is complete is
    closed at once, not left to the header deadline; so is an idle
    keep-alive client that half-closes."""
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "header_timeout", 10)
    g.Daemon(T, tmp(), c, "halfclose").start()
    h = g.Conn(port)
    try:
        h.send(b"GET /half HTTP/1.1\r\nX-A: b")
        time.sleep(0.1)
        h.sock.shutdown(socket.SHUT_WR)
        el = h.wait_closed(3)
        t.ok(el is not None and el < 0.5, "FIN inside a header: closed after "
             "%s s (header_timeout = 10)" % (None if el is None else
                                             "%.2f" % el))
    finally:
        h.close()
    h = g.Conn(port)
    try:
        r = get_on(h)
        h.sock.shutdown(socket.SHUT_WR)
        el = h.wait_closed(3)
        t.ok(r.status == 307 and el is not None and el < 0.5,
             "FIN on an idle keep-alive connection: closed after %s s"
             % (None if el is None else "%.2f" % el))
    finally:
        h.close()


def max_conn(t):
    """max_connections = 5: a full table evicts an idle keep-alive
    connection for a newcomer, never a connection with a request in
    progress; with nothing to evict the newcomer gets a 503 at once."""
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "max_connections", 5)
    c.set("listen", "threads", 1)
    c.set("redirect", "retry_after", 10)
    g.Daemon(T, tmp(), c, "maxconn").start()
    held = []
    try:
        rs = []
        for _ in range(5):
            h = g.Conn(port)
            held.append(h)
            rs.append(get_on(h).status)
        t.eq(rs, [307] * 5, "max_connections = 5: five keep-alive "
             "connections are served")
        r = try_get(port, timeout=2)
        time.sleep(0.3)
        closed = [h for h in held if h.peer_state(0.05) in ("eof", "reset")]
        m = g.scrape(aport)
        t.ok(not isinstance(r, str) and r.status == 307 and len(closed) >= 1
             and m.get("geo307_connections_evicted_total", kind="idle") >= 1,
             "the 6th connection is served: an idle keep-alive one of the 5 "
             "is evicted for it (%d closed)" % len(closed), repr(r))
        for h in held:
            h.close()
        held = []
        time.sleep(0.5)
        # five connections whose headers are still coming (under 1 s old):
        # nothing to evict, the newcomer gets a 503, not a silent close
        for _ in range(5):
            h = g.Conn(port)
            h.send(b"GET /slow HTTP/1.1\r\nX-A: ")
            held.append(h)
        time.sleep(0.2)
        r = try_get(port, timeout=2)
        bad = over_limit_problems(r)
        m = g.scrape(aport)
        t.ok(not bad and m.get("geo307_connections_refused_total",
                               reason="full") >= 1,
             "5 headers in progress: the 6th connection gets 503 + "
             "Retry-After + close at once, counted as reason=full",
             "\n".join(bad + [repr(r)]))
        for h in held:
            h.close()
        held = []
        time.sleep(0.5)
        r = try_get(port)
        t.ok(not isinstance(r, str) and r.status == 307,
             "after they closed, a new connection gets 307", repr(r))
    finally:
        for h in held:
            h.close()


def main():
    T.run([
        (4, per_ip),
        (5, timeouts),
        (2, half_closed),
        (4, max_conn),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
