#!/usr/bin/env python3
"""Redirects: methods, headers, byte-exact Location, geo routing, trusted
proxies, weighted shares, lookup JSON, CORS, synthetic traffic, keep-alive
(SPEC sections 1 and 2)."""

import json
import math
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}          # shared state: daemons and ports

GB, US, JP, AU = "81.2.69.142", "216.160.83.56", "2001:218::1", "1.2.3.4"


F = g.Fixture(T)
tmp = F.tmp


def setup():
    port, aport = g.free_port(), g.free_port()
    S["v6"] = g.have_ipv6_loopback()
    port6 = g.free_port(socket.AF_INET6) if S["v6"] else None
    c = g.base_config(port, aport, port6=port6)
    c.set("lookup", "prefix", "/.geo307/lookup")
    d = g.Daemon(T, tmp(), c, "main").start()
    S["main"], S["port"], S["aport"], S["port6"] = d, port, aport, port6


def main_port():
    if "main" not in S:
        setup()
    return S["port"]


def check_redirect(r, server, reason, target, status=307, head=False):
    """Every header a redirect must carry; returns a list of problems."""
    bad = []
    loc = g.BASE.get(server, "") + target
    if r.status != status:
        bad.append("status %d, want %d" % (r.status, status))
    if r.header("Location") != loc:
        bad.append("Location %r, want %r" % (r.header("Location"), loc))
    if r.header("X-Upload-Server") != server:
        bad.append("X-Upload-Server %r, want %r"
                   % (r.header("X-Upload-Server"), server))
    if r.header("X-Redirect-Reason") != reason:
        bad.append("X-Redirect-Reason %r, want %r"
                   % (r.header("X-Redirect-Reason"), reason))
    if not r.header("X-Request-Id"):
        bad.append("no X-Request-Id")
    if (r.header("Cache-Control") or "").lower() != "no-store":
        bad.append("Cache-Control %r" % r.header("Cache-Control"))
    if not head:
        ct = (r.header("Content-Type") or "").replace(" ", "").lower()
        if ct != "text/html;charset=utf-8":
            bad.append("Content-Type %r" % r.header("Content-Type"))
        p = g.check_html_body(r.body, loc)
        if p:
            bad.append(p)
    return bad


def methods(t):
    port = main_port()
    for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        target = "/upload?x=1"
        hdrs = [("X-Forwarded-For", GB)]
        body = b""
        if m == "POST":
            body = b"a=1&b=2"
            hdrs += [("Content-Type", "application/x-www-form-urlencoded"),
                     ("Content-Length", str(len(body)))]
        elif m == "PUT":
            hdrs += [("Content-Length", "0")]
        if m == "OPTIONS":      # no CORS configured: a plain redirect
            hdrs += [("Origin", "https://app.example.com"),
                     ("Access-Control-Request-Method", "PUT")]
        r = g.raw_request(port, g.req(m, target, hdrs, body=body))
        bad = check_redirect(r, "eu-1", "geo", target)
        if m == "POST" and not r.has_token("Connection", "close"):
            bad.append("a request with a body: no Connection: close")
        if m == "OPTIONS" and r.header("Access-Control-Allow-Origin"):
            bad.append("CORS header without [cors]")
        t.ok(not bad, "%s %s -> 307 to eu-1 with every header" % (m, target),
             "\n".join(bad + [repr(r)]))
    c = g.Conn(port)
    try:
        c.send(g.req("HEAD", "/upload?x=1", [("X-Forwarded-For", GB)]))
        r = c.read_response(head=True)
        bad = check_redirect(r, "eu-1", "geo", "/upload?x=1", head=True)
        st = c.peer_state(0.3)
        if st == "data":
            bad.append("HEAD response followed by bytes %r" % c.buf[:100])
        t.ok(not bad, "HEAD -> 307 with the headers and no body",
             "\n".join(bad))
    finally:
        c.close()


TRICKY = [
    "/upload?x=1",
    "/a//b/../c?q=%2F+x&y=%zz",
    "/~user/!$&'()*+,;=:@",
    "/%00%0d%0a/..%2f?a=<b>&c=\"d\"",
]


def location_exact(t):
    port = main_port()
    for target in TRICKY:
        r = g.raw_request(port, g.req("GET", target, [("X-Forwarded-For", GB)]))
        want = ("Location: " + g.BASE["eu-1"] + target).encode()
        lines = r.raw_head.split(b"\r\n")
        bad = check_redirect(r, "eu-1", "geo", target)
        if want not in lines:
            bad.append("no byte-exact line %r in\n%r" % (want, r.raw_head))
        t.ok(not bad, "Location byte-exact for %s" % target, "\n".join(bad))
    target = "/" + ("abc/%20+" * 600)[:4095]
    assert len(target) == 4096
    r = g.raw_request(port, g.req("GET", target, [("X-Forwarded-For", GB)]))
    bad = check_redirect(r, "eu-1", "geo", target)
    t.ok(not bad, "a 4096-byte target -> 307, Location byte-exact",
         "\n".join(x[:300] for x in bad))
    # base path with port and trailing '/': JP -> ap-1
    r = g.raw_request(port, g.req("GET", "/up/load?x=1",
                                  [("X-Forwarded-For", JP)]))
    bad = check_redirect(r, "ap-1", "geo", "/up/load?x=1")
    t.ok(not bad, "server base https://host:8443/u/ -> Location "
         "https://host:8443/u/up/load?x=1", "\n".join(bad))


def request_ids(t):
    port = main_port()
    ids = set()
    for _ in range(5):
        r = g.raw_request(port, g.req("GET", "/x"))
        ids.add(r.header("X-Request-Id"))
    t.ok(len(ids) == 5 and None not in ids and
         all(re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", i) for i in ids),
         "generated X-Request-Ids are sane and distinct", repr(ids))
    r = g.raw_request(port, g.req("GET", "/x", [("X-Request-Id", "abc-1.2:Z_9")]))
    t.eq(r.header("X-Request-Id"), "abc-1.2:Z_9",
         "X-Request-Id from a trusted proxy is kept")
    bad_ids = ["has space", "x" * 129, "semi;colon", ""]
    got = []
    for b in bad_ids:
        r = g.raw_request(port, g.req("GET", "/x", [("X-Request-Id", b)]))
        got.append(r.header("X-Request-Id"))
    t.ok(all(x and x not in bad_ids and
             re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", x) for x in got),
         "insane X-Request-Id from a trusted proxy is replaced",
         repr(list(zip(bad_ids, got))))
    r = g.raw_request(port, g.req("GET", "/x", [
        ("Host", "evil.example"), ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Proto", "http"), ("X-Forwarded-Port", "1"),
        ("Forwarded", "host=evil.example;proto=http"),
        ("X-Original-URL", "/evil"), ("X-Rewrite-URL", "/evil")]))
    t.eq(r.header("Location"), g.BASE["us-1"] + "/x",
         "Host and X-Forwarded-* never reach Location")


def status_308(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("redirect", "status", 308)
    g.Daemon(T, tmp(), c, "s308").start()
    r = g.raw_request(port, g.req("PUT", "/f?a=b", [("X-Forwarded-For", US),
                                                     ("Content-Length", "0")]))
    bad = check_redirect(r, "us-1", "geo", "/f?a=b", status=308)
    t.ok(not bad, "[redirect] status = 308 -> 308 with no-store and Location",
         "\n".join(bad))


GEO_CASES = [
    # (xff or None, server, reason, what)
    (GB, "eu-1", "geo", "GB 81.2.69.142 (countries) -> eu"),
    (US, "us-1", "geo", "US 216.160.83.56 (continent NA) -> us"),
    (JP, "ap-1", "geo", "JP 2001:218::1 (IPv6, continent AS) -> ap"),
    (AU, "ap-1", "geo", "AU 1.2.3.4 (no location, continent OC) -> ap"),
    ("5.6.7.8", "eu-1", "geo", "5.6.7.8 (continent EU only) -> eu"),
    ("89.160.20.112", "eu-1", "geo",
     "SE (in no region's countries, continent EU) -> eu"),
    ("11.22.33.44", "us-1", "geo", "BR (continent SA) -> us"),
    ("41.1.2.3", "eu-1", "geo", "ZA (continent AF, no location) -> eu"),
    ("175.16.199.1", "ap-1", "geo", "CN -> ap"),
    ("100.100.100.100", "ap-1", "geo", "NZ -> ap"),
    ("2a02:ff0::1", "eu-1", "geo", "DE 2a02:ff0::1 -> eu"),
    ("::ffff:81.2.69.142", "eu-1", "geo",
     "IPv4-mapped ::ffff:81.2.69.142 is the IPv4 address (GB) -> eu"),
    (None, "us-1", "default", "127.0.0.1 (not in the DB) -> default region"),
    ("10.1.2.3", "us-1", "default", "XFF 10.1.2.3 (not in the DB) -> default"),
]


def geo_routing(t):
    port = main_port()
    cl = g.Client(port)
    try:
        for ip, server, reason, what in GEO_CASES:
            h = g.xff(ip) if ip else {}
            st, hd, body = cl.request("GET", "/upload?x=1", h)
            got = (st, g.hget(hd, "X-Upload-Server"),
                   g.hget(hd, "X-Redirect-Reason"))
            t.eq(got, (307, server, reason), what)
    finally:
        cl.close()


def region_rules(t):
    """Two regions list EU: nearest wins; no location: first in file."""
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, regions=False, servers=False)
    regs = [("eun", "59.33, 18.06", "GB", "EU", False),
            ("eu", "53.35, -6.26", "", "EU", False),
            ("us", "38.9, -77.0", "", "NA", True),
            ("ap", "1.35, 103.8", "", "AS", False)]
    for name, loc, countries, conts, dflt in regs:
        c.set("region " + name, "location", loc)
        if countries:
            c.set("region " + name, "countries", countries)
        c.set("region " + name, "continents", conts)
        if dflt:
            c.set("region " + name, "default", "yes")
        c.set("server %s-1" % name, "url", "https://%s-1.up.example.net" % name)
        c.set("server %s-1" % name, "region", name)
    g.Daemon(T, tmp(), c, "rules").start()
    cases = [
        ("89.160.20.112", "eun-1", "SE: two regions list EU, nearest (Stockholm)"),
        ("2a02:ff0::1", "eu-1", "DE: two regions list EU, nearest (Dublin)"),
        ("5.6.7.8", "eun-1", "continent EU, no location: first region in file"),
        (GB, "eun-1", "GB: the countries rule beats a nearer region"),
        (AU, "ap-1", "AU: OC in no region, no location: nearest to the "
         "country centroid"),
        ("100.100.100.100", "ap-1", "NZ: OC in no region: nearest region"),
    ]
    cl = g.Client(port)
    try:
        for ip, server, what in cases:
            st, hd, _ = cl.request("GET", "/u", g.xff(ip))
            t.eq((st, g.hget(hd, "X-Upload-Server")), (307, server), what)
    finally:
        cl.close()


def xff_walk(t):
    port = main_port()

    def via(lines, what, server, reason="geo"):
        hdrs = [("X-Forwarded-For", ln) for ln in lines]
        r = g.raw_request(port, g.req("GET", "/w", hdrs))
        t.eq((r.status, r.header("X-Upload-Server"),
              r.header("X-Redirect-Reason")), (307, server, reason), what)

    via(["1.2.3.4:5678, 81.2.69.142"], "XFF '1.2.3.4:5678, 81.2.69.142': "
        "rightmost untrusted (GB)", "eu-1")
    via(["216.160.83.56:5678, 127.0.0.1"], "XFF 'US:5678, 127.0.0.1': "
        "trusted skipped, port accepted (US)", "us-1")
    via([US, GB], "two XFF lines (US) (GB): joined, rightmost (GB)", "eu-1")
    via([GB, "127.0.0.1"], "two XFF lines (GB) (127.0.0.1): joined, walk "
        "skips the trusted one (GB)", "eu-1")
    via(["[2001:218::1]:443"], "XFF '[2001:218::1]:443' -> JP", "ap-1")
    via(["216.160.83.56, gar;bage"], "an unparsable rightmost entry ends "
        "the walk: the peer stands (default)", "us-1", "default")

    # 81.2.69.0/24 trusted too
    p2, a2 = g.free_port(), g.free_port()
    c = g.base_config(p2, a2, trust="127.0.0.1/32, 81.2.69.0/24")
    g.Daemon(T, tmp(), c, "trust2").start()
    port = p2
    via([GB], "every XFF entry trusted: the leftmost (GB) is the client",
        "eu-1")
    via(["216.160.83.56, garbage, 81.2.69.142"], "'US, garbage, GB(trusted)':"
        " the walk stops at garbage, the last accepted (GB) stands", "eu-1")

    # nothing trusted but a documentation net: XFF ignored
    p3, a3 = g.free_port(), g.free_port()
    c = g.base_config(p3, a3, trust="192.0.2.0/24")
    g.Daemon(T, tmp(), c, "untrusted").start()
    port = p3
    via([GB], "untrusted peer: XFF ignored (default)", "us-1", "default")
    r = g.raw_request(p3, g.req("GET", "/x", [("X-Request-Id", "keepme-1")]))
    t.ok(r.header("X-Request-Id") not in (None, "keepme-1"),
         "untrusted peer: X-Request-Id not kept", repr(r.headers))

    # [trust] header = forwarded
    p4, a4 = g.free_port(), g.free_port()
    c = g.base_config(p4, a4)
    c.set("trust", "header", "forwarded")
    g.Daemon(T, tmp(), c, "fwd").start()
    r = g.raw_request(p4, g.req("GET", "/x", [
        ("Forwarded", "for=216.160.83.56;proto=https")]))
    t.eq(r.header("X-Upload-Server"), "us-1",
         "header = forwarded: 'for=216.160.83.56;proto=https' -> us")
    r = g.raw_request(p4, g.req("GET", "/x", [
        ("Forwarded", 'for="[2001:218::1]:80", for=127.0.0.1'),
        ("X-Forwarded-For", GB)]))
    t.eq(r.header("X-Upload-Server"), "ap-1",
         "header = forwarded: 'for=\"[2001:218::1]:80\", for=127.0.0.1' -> ap,"
         " X-Forwarded-For ignored")


def ipv6_listener(t):
    main_port()
    if not S["v6"]:
        raise g.Skip("no ::1 on this host")
    r = g.raw_request(S["port6"], g.req("GET", "/v6?x=1"), host="::1")
    bad = check_redirect(r, "us-1", "default", "/v6?x=1")
    t.ok(not bad, "[::1] listener: 307, ::1 not in the DB -> default",
         "\n".join(bad))
    r = g.raw_request(S["port6"], g.req("GET", "/v6", [("X-Forwarded-For", GB)]),
                      host="::1")
    t.eq((r.status, r.header("X-Upload-Server")), (307, "us-1"),
         "::1 is not in [trust] proxies: its XFF is ignored")


def shares(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("server eu-1", "weight", 100)
    c.set("server eu-2", "url", "https://eu-2.up.example.net")
    c.set("server eu-2", "region", "eu")
    c.set("server eu-2", "weight", 300)
    c.set("server eu-3", "url", "https://eu-3.up.example.net")
    c.set("server eu-3", "region", "eu")
    c.set("server eu-3", "weight", 0)
    g.Daemon(T, tmp(), c, "shares").start()
    n = 2000
    counts = {}
    cl = g.Client(port)
    try:
        for _ in range(n):
            st, hd, _ = cl.request("GET", "/s", g.xff(GB))
            k = g.hget(hd, "X-Upload-Server") if st == 307 else "status%d" % st
            counts[k] = counts.get(k, 0) + 1
    finally:
        cl.close()
    p = 0.75
    sigma = math.sqrt(n * p * (1 - p))
    k2 = counts.get("eu-2", 0)
    t.ok(abs(k2 - n * p) <= 5 * sigma and
         counts.get("eu-1", 0) + k2 == n,
         "weights 100/300 over %d requests: eu-2 share %.3f within 5 sigma "
         "of 0.75" % (n, k2 / n), repr(counts))
    t.ok(counts.get("eu-3", 0) == 0, "weight 0: never chosen", repr(counts))


def seeded(t):
    """[selection] seed: two processes, one thread each, same choices."""
    seqs = []
    for i in range(2):
        port, aport = g.free_port(), g.free_port()
        c = g.base_config(port, aport)
        c.set("listen", "threads", 1)
        c.set("server eu-2", "url", "https://eu-2.up.example.net")
        c.set("server eu-2", "region", "eu")
        d = g.Daemon(T, tmp(), c, "seed%d" % i).start()
        cl = g.Client(port)
        try:
            seqs.append("".join(
                g.hget(cl.request("GET", "/s", g.xff(GB))[1],
                       "X-Upload-Server", "?")[-1] for _ in range(200)))
        finally:
            cl.close()
        d.stop()
    t.ok(seqs[0] == seqs[1] and "1" in seqs[0] and "2" in seqs[0],
         "[selection] seed = 42, threads = 1: two runs choose the same "
         "200 servers", "\n".join(seqs))


def lookup(t):
    port = main_port()
    pre = "/.geo307/lookup"
    r = g.raw_request(port, g.req("GET", pre + "/upload?x=1",
                                  [("X-Forwarded-For", GB)]))
    ok = (r.status == 200 and
          (r.header("Content-Type") or "").startswith("application/json") and
          (r.header("Cache-Control") or "").lower() == "no-store")
    t.ok(ok, "GET lookup -> 200 application/json, no-store", repr(r))
    try:
        j = json.loads(r.body)
    except ValueError:
        j = {}
    want = {"location": g.BASE["eu-1"] + "/upload?x=1", "server": "eu-1",
            "reason": "geo", "region": "eu"}
    got = {k: j.get(k) for k in want}
    t.ok(got == want and isinstance(j.get("request_id"), str) and
         j.get("request_id") and
         j.get("request_id") == r.header("X-Request-Id", j.get("request_id")),
         "lookup JSON: location from /upload?x=1, server, reason, region, "
         "request_id", "got %r" % (j,))
    tgt = "/a//b/../c?q=%2F+x&y=%zz"
    r = g.raw_request(port, g.req("GET", pre + tgt, [("X-Forwarded-For", JP)]))
    try:
        j = json.loads(r.body)
    except ValueError:
        j = {}
    t.eq((r.status, j.get("location"), j.get("server")),
         (200, g.BASE["ap-1"] + tgt, "ap-1"),
         "lookup of a tricky target: location byte-exact (JP -> ap)")
    r = g.raw_request(port, g.req("HEAD", pre + "/x"), head=True)
    t.ok(r.status == 200 and not r.header("Location"),
         "HEAD lookup -> 200, no Location", repr(r))
    bad = []
    for tg in (pre + "/a#b", pre + "/a\x7fb", pre + "/a\tb"):
        r = g.raw_request(port, g.req("GET", tg))
        if r.status != 400 or (r.header("Cache-Control") or "") != "no-store":
            bad.append("%r -> %r" % (tg, r))
    t.ok(not bad, "bad target under the lookup prefix -> 400 no-store",
         "\n".join(bad))


def cors_synthetic(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "health_path", "/healthz")
    c.set("cors", "allow_origins", "https://app.example.com")
    c.set("synthetic", "tokens", "sekrit, other-token")
    g.Daemon(T, tmp(), c, "cors").start()
    app = "https://app.example.com"
    pre = [("Origin", app), ("Access-Control-Request-Method", "PUT"),
           ("Access-Control-Request-Headers", "content-type")]
    r = g.raw_request(port, g.req("OPTIONS", "/upload?x=1", pre))
    ok = (r.status == 204 and r.header("Access-Control-Allow-Origin") == app and
          r.has_token("Access-Control-Allow-Methods", "PUT") and
          r.has_token("Access-Control-Allow-Methods", "POST") and
          r.has_token("Access-Control-Allow-Headers", "content-type") and
          r.header("Access-Control-Max-Age") == "600" and
          r.has_token("Vary", "Origin") and not r.header("Location"))
    t.ok(ok, "preflight from an allowed origin -> 204 with Access-Control-* "
         "and Vary: Origin, no Location", repr(r))
    r = g.raw_request(port, g.req("OPTIONS", "/upload", [
        ("Origin", "https://evil.example"),
        ("Access-Control-Request-Method", "PUT")]))
    t.ok(r.status == 204 and not any(k.lower().startswith("access-control-")
                                     for k, _ in r.headers)
         and not r.header("Location"),
         "preflight from another origin -> 204 without Access-Control-*",
         repr(r))
    r = g.raw_request(port, g.req("POST", "/upload?x=1", [
        ("Origin", app), ("X-Forwarded-For", GB), ("Content-Length", "0")]))
    ok = (r.status == 307 and r.header("Access-Control-Allow-Origin") == app and
          all(r.has_token("Access-Control-Expose-Headers", h)
              for h in ("X-Upload-Server", "X-Redirect-Reason",
                        "X-Request-Id")) and r.has_token("Vary", "Origin"))
    t.ok(ok, "307 to an allowed origin carries Allow-Origin, Expose-Headers, "
         "Vary", repr(r))
    r = g.raw_request(port, g.req("OPTIONS", "/upload", [("Origin", app)]))
    t.ok(r.status == 307 and r.header("Access-Control-Allow-Origin") == app,
         "OPTIONS with Origin but no Access-Control-Request-Method is not a "
         "preflight: 307 with Allow-Origin", repr(r))
    r = g.raw_request(port, g.req("GET", "/upload", [
        ("Origin", "https://evil.example")]))
    t.ok(r.status == 307 and not r.header("Access-Control-Allow-Origin"),
         "307 to another origin: no Allow-Origin", repr(r))

    # synthetic
    m0 = g.scrape(aport)
    r = g.raw_request(port, g.req("GET", "/syn", [
        ("X-Synthetic-Token", "sekrit"), ("X-Synthetic-Region", "ap")]))
    bad = check_redirect(r, "ap-1", "synthetic", "/syn")
    t.ok(not bad, "valid token + X-Synthetic-Region: ap -> ap-1, reason "
         "synthetic", "\n".join(bad))
    r = g.raw_request(port, g.req("GET", "/syn", [
        ("X-Synthetic-Token", "other-token"),
        ("X-Synthetic-Client-IP", GB)]))
    t.eq((r.status, r.header("X-Upload-Server")), (307, "eu-1"),
         "second token + X-Synthetic-Client-IP: GB -> eu-1")
    r = g.raw_request(port, g.req("GET", "/syn", [
        ("X-Synthetic-Token", "sekri"), ("X-Synthetic-Region", "ap"),
        ("X-Synthetic-Client-IP", GB)]))
    t.eq((r.status, r.header("X-Upload-Server"),
          r.header("X-Redirect-Reason")), (307, "us-1", "default"),
         "wrong token: override headers ignored")
    r = g.raw_request(port, g.req("GET", "/syn", [
        ("X-Synthetic-Region", "ap"), ("X-Synthetic-Client-IP", GB)]))
    t.eq((r.status, r.header("X-Upload-Server")), (307, "us-1"),
         "no token: override headers ignored")
    m1 = g.scrape(aport)
    d = (m1.get("geo307_synthetic_requests_total") -
         m0.get("geo307_synthetic_requests_total"))
    t.eq(d, 2.0, "geo307_synthetic_requests_total counts the 2 valid ones")

    st, hd, body = g.http_get(port, "/healthz")
    t.ok(st == 200 and not g.hget(hd, "Location"),
         "health_path /healthz on the public port -> 200, not a redirect",
         "%r %r %r" % (st, hd, body))


def keepalive(t):
    port = main_port()
    c = g.Conn(port)
    try:
        c.send(g.req("GET", "/k1", [("X-Forwarded-For", GB)]))
        r1 = c.read_response()
        c.send(g.req("GET", "/k2", [("X-Forwarded-For", US)]))
        r2 = c.read_response()
        t.ok(r1.status == 307 and r2.status == 307 and
             not r1.has_token("Connection", "close") and
             r1.header("Location") == g.BASE["eu-1"] + "/k1" and
             r2.header("Location") == g.BASE["us-1"] + "/k2",
             "two bodiless requests on one connection: both answered",
             "%r\n%r" % (r1, r2))
    finally:
        c.close()
    c = g.Conn(port)
    try:
        c.send(g.req("GET", "/p1") + g.req("HEAD", "/p2") + g.req("GET", "/p3"))
        rs = [c.read_response(), c.read_response(head=True), c.read_response()]
        t.ok([r.status for r in rs] == [307] * 3 and
             [r.header("Location") for r in rs] ==
             [g.BASE["us-1"] + p for p in ("/p1", "/p2", "/p3")],
             "three pipelined requests (GET, HEAD, GET): all answered in order",
             repr(rs))
    finally:
        c.close()
    c = g.Conn(port)
    try:
        c.send(b"GET /old?x=1 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        closed = c.wait_closed(3)
        t.ok(r.status == 307 and r.header("Location") ==
             g.BASE["us-1"] + "/old?x=1" and closed is not None,
             "HTTP/1.0 request -> 307, then the connection is closed",
             "%r closed=%r" % (r, closed))
    finally:
        c.close()


def main():
    T.run([
        (7, methods),
        (len(TRICKY) + 2, location_exact),
        (4, request_ids),
        (1, status_308),
        (len(GEO_CASES), geo_routing),
        (6, region_rules),
        (12, xff_walk),
        (2, ipv6_listener),
        (2, shares),
        (1, seeded),
        (5, lookup),
        (11, cors_synthetic),
        (3, keepalive),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
