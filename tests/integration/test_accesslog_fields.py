#!/usr/bin/env python3
"""Access log fields, parsed field by field in both formats: json (time,
request_id, client, peer, method, target with the query as ?-, proto,
status, reason, region, country, server, body, expect, linger,
linger_bytes, duration_us, user_agent) and combined (Apache's combined
then request id, server, reason, region); log_query; health probes only
with log_health; a stalled writer drops lines (counted) and never blocks
requests."""

import json
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
GB = "81.2.69.142"
FIELDS = ["time", "request_id", "client", "peer", "method", "target",
          "proto", "status", "reason", "region", "country", "server",
          "body", "expect", "linger", "linger_bytes", "duration_us",
          "user_agent"]
Q = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(r'^(\S+) (\S+) (\S+) \[([^\]]+)\] ' + Q +
                      r' (\d{3}) (\d+|-) ' + Q + ' ' + Q +
                      ' ' + Q + ' ' + Q + ' ' + Q + ' ' + Q + '$')


F = g.Fixture(T)
tmp = F.tmp


def daemon(name, fmt="json", **log):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    path = os.path.join(tmp(), name + ".log")
    c.set("log", "access", log.pop("access", path))
    c.set("log", "format", fmt)
    c.set("listen", "health_path", "/hz")
    for k, v in log.items():
        c.set("log", k, v)
    d = g.Daemon(T, tmp(), c, name).start()
    return d, port, aport, path


def lines(path, n, timeout=5):
    def read():
        try:
            with open(path, "rb") as f:
                ls = f.read().decode().splitlines()
        except OSError:
            return None
        return ls if len(ls) >= n else None
    return g.wait_until(read, timeout) or read() or []


def get(port, target, headers=()):
    return g.raw_request(port, g.req("GET", target, [("X-Forwarded-For", GB),
                                                     ("User-Agent", "t/1")] +
                                     list(headers)))


def upload(port, body=100000, extra=b"", chunked=False):
    """A POST whose whole body is sent, the answer read, then EOF."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = (b"POST /up?sig=abc HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " +
            GB.encode() + b"\r\n" + extra)
    if chunked:
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        data = b"%x\r\n" % body + b"x" * body + b"\r\n0\r\n\r\n"
    else:
        head += b"Content-Length: %d\r\n\r\n" % body
        data = b"x" * body
    s.sendall(head)
    try:
        s.sendall(data)
    except OSError:
        pass
    resp = b""
    try:
        while b"\r\n\r\n" not in resp:
            b = s.recv(4096)
            if not b:
                break
            resp += b
    except OSError:
        pass
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
    return resp


def json_fields(t):
    d, port, aport, path = daemon("json")
    r = get(port, "/a/b?token=secret&x=1")
    get(port, "/hz")
    upload(port, 100000)
    upload(port, 200000, chunked=True)  # more than libmicrohttpd reads
    upload(port, 2000, extra=b"Expect: 100-continue\r\n")
    lines(path, 4)
    time.sleep(0.3)     # lines come from several rings: let all arrive
    ls = lines(path, 4)
    js = []
    for ln in ls:
        try:
            js.append(json.loads(ln))
        except ValueError:
            js.append({"unparsed": ln})
    T.diag("json lines: %r" % ls[:2])
    t.ok(len(js) == 4 and all(list(j) == FIELDS for j in js),
         "json: 4 lines (the health probe not logged), each with exactly "
         "the fields, in order: %s" % ", ".join(FIELDS), "%r" % ls)
    j = next((x for x in js if x.get("method") == "GET"), {})
    t.ok(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                  j.get("time", "")) and
         j.get("request_id") == r.header("X-Request-Id") and
         j.get("client") == GB and j.get("peer") == "127.0.0.1" and
         j.get("method") == "GET" and j.get("target") == "/a/b?-" and
         j.get("proto") == "HTTP/1.1" and j.get("status") == 307 and
         j.get("reason") == "geo" and j.get("region") == "eu" and
         j.get("country") == "GB" and j.get("server") == "eu-1" and
         j.get("body") == 0 and j.get("expect") is False and
         j.get("linger") is None and j.get("linger_bytes") == 0 and
         isinstance(j.get("duration_us"), int) and
         j.get("user_agent") == "t/1",
         "json GET: time RFC 3339 ms, request_id = X-Request-Id, client "
         "after XFF, peer, target /a/b?- (query redacted), proto, 307 geo "
         "eu GB eu-1, body 0, expect false, linger null", "%r" % j)
    ups = {x.get("body"): x for x in js if x.get("method") == "POST"}
    u = ups.get(100000, {})
    t.ok(u.get("linger") == "eof" and 0 < u.get("linger_bytes", 0) <=
         100000 and u.get("target") == "/up?-" and u.get("expect") is False,
         "json POST of 100000 bytes: body 100000, linger \"eof\", the "
         "bytes it discarded", "%r" % u)
    c = ups.get("chunked", {})
    t.ok(c.get("linger") in ("eof", "reset") and c.get("linger_bytes", 0) > 0,
         "json chunked POST: body \"chunked\", its linger outcome", "%r" % c)
    e = ups.get(2000, {})
    t.ok(e.get("expect") is True and e.get("linger") is not None,
         "json POST with Expect: 100-continue: expect true", "%r" % e)
    d.stop()


def query_and_health(t):
    d, port, aport, path = daemon("q", log_query="yes", log_health="yes")
    get(port, "/a?token=secret")
    g.http_get(port, "/hz")
    # lines from different threads: not necessarily in request order
    ls = {x["status"]: x for x in map(json.loads, lines(path, 2))}
    t.ok(ls.get(307, {}).get("target") == "/a?token=secret",
         "log_query = yes: the query is logged", "%r" % ls)
    t.ok(ls.get(200, {}).get("target") == "/hz",
         "log_health = yes: the health probe is logged", "%r" % ls)
    d.stop()


def combined(t):
    d, port, aport, path = daemon("comb", fmt="combined")
    r = get(port, "/c?token=secret", [("Referer", "http://r.example/")])
    get(port, "/hz")
    ls = lines(path, 1)
    time.sleep(0.3)
    ls = lines(path, 1)
    m = COMBINED.match(ls[0]) if ls else None
    t.ok(len(ls) == 1 and m is not None,
         "combined: one line (no health probe), Apache's combined then "
         "four quoted fields", "%r" % ls)
    if m:
        f = m.groups()
        t.ok(f[0] == GB and f[1] == "-" and f[2] == "-" and
             re.match(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000$", f[3]) and
             f[4] == "GET /c?- HTTP/1.1" and f[5] == "307" and
             f[7] == "http://r.example/" and f[8] == "t/1" and
             f[9] == r.header("X-Request-Id") and f[10] == "eu-1" and
             f[11] == "geo" and f[12] == "eu",
             "combined fields: host, time, request line with ?-, status, "
             "referer, user agent, request id, server, reason, region",
             "%r" % (f,))
    else:
        t.ok(False, "combined fields")
    d.stop()


def drops(t):
    fifo = os.path.join(tmp(), "stalled.fifo")
    os.mkfifo(fifo)
    # a reader that never reads: the writer fills the pipe and blocks
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    d, port, aport, _ = daemon("fifo", access=fifo)
    n, t0, worst = 6000, time.monotonic(), 0.0
    cl = g.Client(port)
    ok = 0
    try:
        for i in range(n):
            s = time.monotonic()
            st, _, _ = cl.request("GET", "/d/%d?x=%s" % (i, "y" * 200),
                                  {"X-Forwarded-For": GB,
                                   "User-Agent": "z" * 300})
            worst = max(worst, time.monotonic() - s)
            ok += st == 307
    finally:
        cl.close()
    took = time.monotonic() - t0
    m = g.wait_metric(aport, lambda x: x.get("geo307_log_dropped_total") > 0)
    dropped = m.get("geo307_log_dropped_total")
    T.diag("stalled access log: %d requests in %.2fs, worst %.1f ms, %d "
           "lines dropped" % (n, took, worst * 1000, dropped))
    t.ok(ok == n and worst < 1.0,
         "a stalled access log (a FIFO nobody reads) never blocks requests: "
         "%d of %d answered, worst %.0f ms" % (ok, n, worst * 1000))
    t.ok(dropped > 0 and m.types.get("geo307_log_dropped_total") ==
         "counter", "... the lines dropped are counted in "
         "geo307_log_dropped_total (%d)" % dropped)
    os.close(rfd)       # the writer's next write fails (EPIPE): unstuck
    t.eq(d.stop(), 0, "... and it still stops cleanly")


def main():
    T.run([(5, json_fields), (2, query_and_health), (2, combined),
           (3, drops)])


if __name__ == "__main__":
    main()
