#!/usr/bin/env python3
"""The PROXY protocol ([listen] proxy_protocol = yes).

With a real balancer: Debian's haproxy on loopback (mode tcp, send-proxy
and send-proxy-v2) in front of geo307, no X-Forwarded-For anywhere;
clients bind 127.0.0.2-4 and ::1 as their source, and each one's own
address must pick its region, be the access log's client, and be what
per_ip_connections counts.

Raw sockets against geo307: v1 TCP4/TCP6/UNKNOWN, v2 PROXY/LOCAL, TLVs,
a header split over several writes, one that never completes (closed at
header_timeout while other clients are served), a bad signature, plain
HTTP where a header is due, a v1 line over 107 bytes, a peer that leaves
mid-header, a peer outside [trust] proxies (served as plain HTTP, where
the PROXY line is a bad request), the trust walk starting from the PROXY
source, and TLS after the header.  geo307_proxy_protocol_total counts
each outcome."""

import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402
from test_tls import make_cert, read_response  # noqa: E402

T = g.TAP()
S = {}
V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"
HEADER_TIMEOUT = 1.5


def v2(cmd, fam, body):
    return V2SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) \
        + body


def v2_tcp4(src, dst="10.0.0.1", sport=40000, dport=443, tlvs=b""):
    return v2(1, 0x11, socket.inet_aton(src) + socket.inet_aton(dst) +
              struct.pack("!HH", sport, dport) + tlvs)


def v2_tcp6(src, dst="::1", sport=40000, dport=443):
    return v2(1, 0x21, socket.inet_pton(socket.AF_INET6, src) +
              socket.inet_pton(socket.AF_INET6, dst) +
              struct.pack("!HH", sport, dport))


def connect_from(port, src, dst=None):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5 * g.SLACK)
    s.bind((src, 0))
    s.connect((dst or ("::1" if fam == socket.AF_INET6 else "127.0.0.1"),
               port))
    c = g.Conn.__new__(g.Conn)
    c.sock, c.buf, c.eof = s, b"", False
    return c


def ask(port, data, src="127.0.0.1", target="/up?x=1"):
    """data (a header, or b""), then a GET; the Response."""
    c = connect_from(port, src)
    try:
        c.send(data + g.req("GET", target))
        return c.read_response()
    finally:
        c.close()


def who(r):
    return (r.status, r.header("X-Upload-Server"),
            r.header("X-Redirect-Reason"))


def counts(aport):
    m = g.scrape(aport)
    return {k: m.get("geo307_proxy_protocol_total", result=k)
            for k in ("ok", "local", "malformed", "timeout", "untrusted")}


def delta(before, after):
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def settled(aport, before, want, keys=None):
    """The counters' delta once it equals want (the accept thread counts
    a socket when it gives up on it, which under a sanitizer can come a
    little after the client saw the close), or the last one after a few
    seconds.  keys: compare only these results."""
    def now():
        d = delta(before, counts(aport))
        return {k: v for k, v in d.items() if keys is None or k in keys}
    d = g.wait_until(lambda: now() == want and now(), 3) or now()
    return d


def closed_silently(c, timeout):
    """(closed within timeout, every byte received before the close)."""
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = c.peer_state(0.05)
        if st == "data":
            data, c.buf = data + c.buf, b""
        elif st in ("eof", "reset"):
            return True, data
    return False, data


def log_lines(path, n):
    def enough():
        try:
            with open(path) as f:
                lines = [json.loads(x) for x in f if x.strip()]
        except (OSError, ValueError):
            return None
        return lines if len(lines) >= n else None
    return g.wait_until(enough, 3 * g.SLACK) or []


def daemon(name, per_ip=256, tls=None, trust="127.0.0.1/32, 10.0.0.0/8"):
    d = S.setdefault("tmp", g.mkdtemp(T))
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, trust=trust)
    c.set("listen", "proxy_protocol", "yes")
    c.set("listen", "per_ip_connections", per_ip)
    c.set("listen", "header_timeout", HEADER_TIMEOUT)
    log = os.path.join(d, name + "-access.log")
    c.set("log", "access", log)
    if tls:
        c.set("listen", "tls_cert", tls[0])
        c.set("listen", "tls_key", tls[1])
    dm = g.Daemon(T, d, c, name)
    # The harness's readiness probe connects from 127.0.0.1 (trusted)
    # and sends nothing: that is a missing header, counted malformed.
    dm.start()
    return dm, port, aport, log


# ------------------------------------------------------------- haproxy

HAPROXY_CFG = """global
    maxconn 512
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend v1
    bind 127.0.0.1:{p1}
{b1}    default_backend g1
frontend v2
    bind 127.0.0.1:{p2}
{b2}    default_backend g2
backend g1
    server geo 127.0.0.1:{port} send-proxy
backend g2
    server geo 127.0.0.1:{port} send-proxy-v2
"""


def start_haproxy(port):
    if shutil.which("haproxy") is None:
        raise g.Skip("haproxy not installed")
    d = S.setdefault("tmp", g.mkdtemp(T))
    p1, p2 = g.free_port(), g.free_port()
    b1 = b2 = ""
    if g.have_ipv6_loopback():
        b1 = "    bind [::1]:%d\n" % p1
        b2 = "    bind [::1]:%d\n" % p2
    cfg = os.path.join(d, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(HAPROXY_CFG.format(p1=p1, p2=p2, port=port, b1=b1, b2=b2))
    err = open(os.path.join(d, "haproxy.stderr"), "wb")
    p = subprocess.Popen(["haproxy", "-f", cfg, "-db"],
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)

    def stop():
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
        err.close()
    T.at_exit(stop)
    if not g.wait_until(lambda: g.port_open(p1) and g.port_open(p2), 5):
        raise RuntimeError("haproxy did not start")
    return p1, p2, bool(b1)


CLIENTS = [
    # source, server, reason
    ("127.0.0.2", "eu-1", "geo"),
    ("127.0.0.3", "us-1", "geo"),
    ("127.0.0.4", "ap-1", "geo"),
    ("::1", "us-1", "default"),      # ::1 is not in the fixture
]


def balancer(t):
    dm, port, aport, log = daemon("hap", per_ip=4)
    p1, p2, v6 = start_haproxy(port)
    # The readiness probes may or may not have reached geo307 through
    # haproxy: a request through each frontend first, then count.
    for hp in (p1, p2):
        ask(hp, b"", "127.0.0.1", "/warm")
    time.sleep(0.2)
    before = counts(aport)
    n = 0
    for label, hp in (("send-proxy", p1), ("send-proxy-v2", p2)):
        got, want = [], []
        for src, sid, reason in CLIENTS:
            if src == "::1" and not v6:
                continue
            r = ask(hp, b"", src, "/up/%s" % src)
            got.append((src,) + who(r))
            want.append((src, 307, sid, reason))
            n += 1
        t.eq(got, want, "haproxy %s: each client's own address picks its "
             "region (no X-Forwarded-For)" % label)
    after = counts(aport)
    t.eq(delta(before, after), {"ok": n},
         "every haproxy connection counted ok")
    lines = [x for x in log_lines(log, n) if x["target"].startswith("/up/")]
    # "peer" joins the log in a later version: checked when present.
    t.eq(sorted((x["target"].split("/")[2], x["client"],
                 x.get("peer", x["client"])) for x in lines),
         sorted([(s, s, s) for s, _, _ in CLIENTS if s != "::1" or v6] * 2),
         "access log: client and peer are the clients' own addresses")
    # per_ip_connections = 4 through the balancer: four kept-alive
    # connections from 127.0.0.2, the fifth refused, others served.
    # The connections above must have been closed and uncounted first.
    time.sleep(0.5 * g.SLACK)
    held = []
    for k in range(4):
        c = connect_from(p2, "127.0.0.2")
        c.send(g.req("GET", "/hold%d" % k))
        held.append((c, c.read_response().status))
    t.eq([s for _, s in held], [307] * 4,
         "four connections from 127.0.0.2 through haproxy served")
    fifth = connect_from(p1, "127.0.0.2")
    fifth.send(g.req("GET", "/fifth"))
    r5 = fifth.read_response()
    other = ask(p2, b"", "127.0.0.3", "/other")
    t.ok(r5.status == 503 and r5.header("Retry-After") is not None and
         who(other) == (307, "us-1", "geo"),
         "the fifth from 127.0.0.2 gets 503 + Retry-After, 127.0.0.3 is "
         "served meanwhile", "%r / %r" % (r5, other))
    m = g.scrape(aport)
    t.eq(m.get("geo307_connections_refused_total", reason="per_ip"), 1,
         "counted under the client's address, not haproxy's")
    for c, _ in held:
        c.close()
    fifth.close()


# ---------------------------------------------------------- raw sockets

def raw_cases():
    """(description, header bytes, (status, server, reason), counted)"""
    tlvs = b"\x04\x00\x00" + b"\x02\x00\x04host" + b"\xea\x00\x05\x01vpce"
    return [
        ("v1 TCP4", b"PROXY TCP4 81.2.69.160 10.0.0.1 56324 443\r\n",
         (307, "eu-1", "geo"), "ok"),
        ("v1 TCP6", b"PROXY TCP6 2001:218::1 ::1 56324 443\r\n",
         (307, "ap-1", "geo"), "ok"),
        ("v1 UNKNOWN keeps the real peer (not in the database)",
         b"PROXY UNKNOWN\r\n", (307, "us-1", "default"), "local"),
        ("v2 PROXY TCP4", v2_tcp4("216.160.83.1"),
         (307, "us-1", "geo"), "ok"),
        ("v2 PROXY TCP4 with TLVs", v2_tcp4("81.2.69.1", tlvs=tlvs),
         (307, "eu-1", "geo"), "ok"),
        ("v2 PROXY TCP6", v2_tcp6("2a02:ff0::7"), (307, "eu-1", "geo"),
         "ok"),
        ("v2 LOCAL keeps the real peer",
         v2(0, 0x11, b"\x51\x02\x45\x01" * 2 + b"\0" * 4),
         (307, "us-1", "default"), "local"),
    ]


def raw(t):
    dm, port, aport, log = daemon("raw")
    S["raw"] = (dm, port, aport, log)
    before = counts(aport)
    got, want = [], []
    for k, (desc, hdr, expect, _) in enumerate(raw_cases()):
        got.append((desc,) + who(ask(port, hdr, target="/r/%d" % k)))
        want.append((desc,) + expect)
    t.eq(got, want, "v1/v2 headers: the source address picks the region")
    wanted = {}
    for _, _, _, k in raw_cases():
        wanted[k] = wanted.get(k, 0) + 1
    # only these: a connect that gives up under a slow (sanitized) build
    # may add a "malformed", which has its own test below
    t.eq(settled(aport, before, wanted, ("ok", "local")), wanted,
         "counted ok / local")
    lines = log_lines(log, len(raw_cases()))
    first = sorted((x["target"], x["client"], x.get("peer", x["client"]))
                   for x in lines if x["target"] in ("/r/0", "/r/1"))
    t.eq(first, [("/r/0", "81.2.69.160", "81.2.69.160"),
                 ("/r/1", "2001:218::1", "2001:218::1")],
         "access log: client and peer are the PROXY source")


def split(t):
    _, port, aport, _ = S["raw"]
    before = counts(aport)
    hdr = b"PROXY TCP4 81.2.69.160 10.0.0.1 1 2\r\n"
    c = g.Conn(port)
    for part in (hdr[:3], hdr[3:20], hdr[20:-1], hdr[-1:] +
                 g.req("GET", "/split")):
        c.send(part)
        time.sleep(0.15)
    r1 = c.read_response()
    c.close()
    hdr = v2_tcp4("216.160.83.9")
    c = g.Conn(port)
    for k in range(len(hdr)):
        c.send(hdr[k:k + 1])
        time.sleep(0.01)
    c.send(g.req("GET", "/split2"))
    r2 = c.read_response()
    c.close()
    t.eq((who(r1), r1.header("Location", "").endswith("/split"),
          who(r2)),
         ((307, "eu-1", "geo"), True, (307, "us-1", "geo")),
         "a header split over several writes (v1 in four, v2 byte by byte)")
    t.eq(delta(before, counts(aport)), {"ok": 2}, "both counted ok")


def never_completes(t):
    _, port, aport, _ = S["raw"]
    before = counts(aport)
    stuck = []
    for k in range(20):
        c = g.Conn(port)
        c.send(b"PROXY TCP4 81.2.69" if k % 2 else V2SIG[:7])
        stuck.append(c)
    t0 = time.monotonic()
    # Served while twenty headers hang: no thread waits on them.
    served = []
    for k in range(5):
        r = ask(port, v2_tcp4("81.2.69.%d" % (k + 1)))
        served.append((who(r), time.monotonic() - t0))
    t.ok(all(w == (307, "eu-1", "geo") for w, _ in served) and
         served[-1][1] < HEADER_TIMEOUT,
         "other clients served at once meanwhile", served)
    res = [closed_silently(c, HEADER_TIMEOUT + 2 * g.SLACK) for c in stuck]
    elapsed = time.monotonic() - t0
    t.ok(all(ok and data == b"" for ok, data in res) and
         elapsed >= HEADER_TIMEOUT - 0.1,
         "incomplete headers closed without an answer at header_timeout",
         "%r after %.2fs" % (res[:3], elapsed))
    for c in stuck:
        c.close()
    t.eq(settled(aport, before, {"timeout": 20, "ok": 5}),
         {"timeout": 20, "ok": 5}, "counted timeout")


def malformed(t):
    _, port, aport, _ = S["raw"]
    before = counts(aport)
    bad = [
        ("a bad v2 signature", V2SIG[:6] + b"X" + V2SIG[7:] +
         b"\x21\x11\x00\x0c" + b"\0" * 12),
        ("a bad v2 command", V2SIG + b"\x23\x11\x00\x0c" + b"\0" * 12),
        ("plain HTTP where a header is due", b""),
        ("a v1 line over 107 bytes",
         b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n"),
        ("a v1 line with a lone LF",
         b"PROXY TCP4 81.2.69.160 10.0.0.1 1 2\n"),
    ]
    res = []
    for desc, hdr in bad:
        c = g.Conn(port)
        try:
            c.send(hdr + g.req("GET", "/bad"))
        except OSError:
            pass
        res.append((desc,) + closed_silently(c, 2 * g.SLACK))
        c.close()
    t.eq(res, [(d, True, b"") for d, _ in bad],
         "malformed or missing headers: closed without an answer")
    # The peer leaves half-way: its FIN ends the wait at once.
    c = g.Conn(port)
    c.send(b"PROXY TCP4 81.2")
    c.sock.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    ok, data = closed_silently(c, 2 * g.SLACK)
    c.close()
    t.ok(ok and data == b"" and time.monotonic() - t0 < HEADER_TIMEOUT,
         "a peer that stops mid-header is closed at once, not at the "
         "deadline")
    t.eq(delta(before, counts(aport)), {"malformed": len(bad) + 1},
         "counted malformed")


def trust_walk(t):
    _, port, aport, _ = S["raw"]
    xff = [("X-Forwarded-For", "216.160.83.1")]

    def q(hdr, src="127.0.0.1"):
        c = connect_from(port, src)
        try:
            c.send(hdr + g.req("GET", "/tw", xff))
            return who(c.read_response())
        finally:
            c.close()
    t.eq([q(b"PROXY TCP4 81.2.69.160 10.0.0.1 1 2\r\n"),
          q(b"PROXY TCP4 10.1.2.3 10.0.0.1 1 2\r\n"),
          q(v2(0, 0, b""))],
         [(307, "eu-1", "geo"), (307, "us-1", "geo"),
          (307, "us-1", "geo")],
         "the trust walk starts at the PROXY source: untrusted source, "
         "X-Forwarded-For ignored; trusted (10/8) or LOCAL, believed")


def untrusted(t):
    _, port, aport, log = S["raw"]
    before = counts(aport)
    plain = ask(port, b"", "127.0.0.2", "/plain")
    line = ask(port, b"PROXY TCP4 81.2.69.160 10.0.0.1 1 2\r\n",
               "127.0.0.2", "/line")
    t.eq((who(plain), line.status), ((307, "eu-1", "geo"), 400),
         "a peer outside [trust] proxies is served as plain HTTP (its "
         "PROXY line is a bad request)")
    t.eq(delta(before, counts(aport)), {"untrusted": 2}, "counted untrusted")


def tls_after(t):
    d = S.setdefault("tmp", g.mkdtemp(T))
    cert = make_cert(d, name="pp-")
    dm, port, aport, log = daemon("tls", tls=cert)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    res = []
    for hdr in (b"PROXY TCP4 81.2.69.160 10.0.0.1 1 443\r\n",
                v2_tcp4("216.160.83.1", dport=443)):
        raw_s = socket.create_connection(("127.0.0.1", port),
                                         timeout=5 * g.SLACK)
        raw_s.sendall(hdr)
        s = ctx.wrap_socket(raw_s, server_hostname="localhost")
        try:
            s.sendall(g.req("GET", "/tls"))
            head = read_response(s).split(b"\r\n\r\n")[0].decode()
        finally:
            s.close()
        res.append((head.split(" ")[1],
                    [x.split(": ")[1] for x in head.split("\r\n")
                     if x.lower().startswith("x-upload-server:")]))
    t.eq(res, [("307", ["eu-1"]), ("307", ["us-1"])],
         "TLS after a v1 and a v2 header: the source picks the region")


def main():
    T.run([
        (7, balancer),
        (3, raw),
        (2, split),
        (3, never_completes),
        (3, malformed),
        (1, trust_walk),
        (2, untrusted),
        (1, tls_after),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
