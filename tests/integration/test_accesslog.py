#!/usr/bin/env python3
"""The access log cannot be forged: every client-supplied field (method,
target, User-Agent, Referer) is escaped in both formats, and a line is
never cut, however long a field is (SPEC section 6, access log)."""

import json
import os
import re
import sys

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}

FORGED = b'GET","status":200,"client":"6.6.6.6'
ESC_METHOD = b"\x1b[31mGET"
LONG_METHOD = b"M" * 3000
UA = b'curl" "evil\x1b[2J\\'

# Apache's combined format, then "request_id" "server" "reason" "region".
Q = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(r'^(\S+) (\S+) (\S+) \[([^\]]+)\] ' + Q +
                      r' (\d{3}) (\d+|-) ' + Q + ' ' + Q +
                      ' ' + Q + ' ' + Q + ' ' + Q + ' ' + Q + '$')


def requests():
    """(what, request bytes, target that marks its line)."""
    return [
        ("a method forging JSON members",
         FORGED + b" /forged HTTP/1.1\r\nHost: x\r\n\r\n", "/forged"),
        ("a method with an ANSI escape sequence",
         ESC_METHOD + b" /esc HTTP/1.1\r\nHost: x\r\n\r\n", "/esc"),
        ("a 3,000-byte method",
         LONG_METHOD + b" /long HTTP/1.1\r\nHost: x\r\n\r\n", "/long"),
        ("a target with a quote",
         b'GET /q"uote HTTP/1.1\r\nHost: x\r\n\r\n', '/q"uote'),
        ("a User-Agent with quotes, ESC and a backslash",
         b"GET /ua HTTP/1.1\r\nHost: x\r\nUser-Agent: " + UA +
         b"\r\nReferer: http://r/\"x\r\n\r\n", "/ua"),
    ]


def run(fmt):
    tmp = S.setdefault("tmp", g.mkdtemp(T))
    port, aport = g.free_port(), g.free_port()
    log = os.path.join(tmp, "access-%s.log" % fmt)
    c = g.base_config(port, aport)
    c.set("log", "access", log)
    c.set("log", "format", fmt)
    g.Daemon(T, tmp, c, "alog-" + fmt).start()
    reqs = requests()
    for _, data, _ in reqs:
        g.raw_request(port, data)
    data = g.wait_until(lambda: os.path.exists(log) and
                        open(log, "rb").read().count(b"\n") >= len(reqs) and
                        open(log, "rb").read(), 3) or b""
    return reqs, data


def raw_problems(data, n):
    bad = []
    if not data.endswith(b"\n"):
        bad.append("the log does not end with a newline")
    if data.count(b"\n") != n:
        bad.append("%d lines for %d requests" % (data.count(b"\n"), n))
    ctl = [b for b in set(data) if (b < 0x20 and b != 0x0a) or b >= 0x7f]
    if ctl:
        bad.append("raw control or high bytes in the log: %r" % sorted(ctl))
    return bad


def json_format(t):
    reqs, data = run("json")
    bad = raw_problems(data, len(reqs))
    t.ok(not bad, "json: one line per request, terminated, no raw control "
         "bytes", "\n".join(bad + [repr(data[:800])]))
    recs, unparsed = [], []
    for ln in data.decode("latin-1").splitlines():
        try:
            recs.append(json.loads(ln))
        except ValueError:
            unparsed.append(ln[:300])
    t.ok(not unparsed, "json: every line parses with json.loads",
         "\n".join(unparsed))
    by = {r.get("target"): r for r in recs}
    r = by.get("/forged", {})
    t.ok(r.get("method") == FORGED.decode() and r.get("client") ==
         "127.0.0.1" and r.get("status") == 307,
         "json: the forged text stays inside method; client and status are "
         "geo307's", repr(r))
    r = by.get("/esc", {})
    t.eq(r.get("method"), ESC_METHOD.decode(), "json: the ESC byte is "
         "escaped and decodes back to the method sent")
    r = by.get("/long", {})
    m = r.get("method") or ""
    t.ok(0 < len(m) < 3000 and set(m) == {"M"} and r.get("status") == 307,
         "json: the 3,000-byte method is cut inside its field, the line "
         "still parses (%d bytes kept)" % len(m), repr(r)[:300])
    r = by.get('/q"uote', {})
    t.eq(r.get("status"), 307, "json: the target with a quote has its own "
         "record")
    r = by.get("/ua", {})
    t.eq(r.get("user_agent"), UA.decode("latin-1"), "json: user_agent is "
         "escaped and decodes back to what was sent")


def combined_format(t):
    reqs, data = run("combined")
    bad = raw_problems(data, len(reqs))
    t.ok(not bad, "combined: one line per request, terminated, no raw "
         "control bytes", "\n".join(bad + [repr(data[:800])]))
    lines = data.decode("latin-1").splitlines()
    ms = [COMBINED.match(ln) for ln in lines]
    t.ok(lines and all(ms), "combined: every line matches the combined "
         "format (+ 4 quoted fields)",
         "\n".join(ln[:300] for ln, m in zip(lines, ms) if not m))
    by = {}
    for m in ms:
        if m:
            by[m.group(5).rsplit(" ", 2)[-2]] = m
    m = by.get("/forged")
    t.ok(m is not None and m.group(1) == "127.0.0.1" and
         m.group(6) == "307" and m.group(5) ==
         'GET\\",\\"status\\":200,\\"client\\":\\"6.6.6.6 /forged HTTP/1.1',
         "combined: the forged method is escaped inside the request field",
         repr(m and m.groups()))
    m = by.get("/esc")
    t.ok(m is not None and m.group(5).startswith("\\x1b[31mGET "),
         "combined: ESC is written \\x1b", repr(m and m.groups()))
    m = by.get("/long")
    t.ok(m is not None and m.group(6) == "307",
         "combined: the 3,000-byte method's line is whole", repr(by.keys()))
    m = by.get('/q\\"uote')
    t.ok(m is not None, "combined: a quote in the target is \\\"",
         repr(list(by.keys())))
    m = by.get("/ua")
    t.ok(m is not None and m.group(9) == 'curl\\" \\"evil\\x1b[2J\\\\' and
         m.group(8) == 'http://r/\\"x',
         "combined: User-Agent and Referer are escaped as Apache does",
         repr(m and m.groups()))


def main():
    T.run([
        (7, json_format),
        (7, combined_format),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
