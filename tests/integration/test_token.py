#!/usr/bin/env python3
"""Signed redirect tokens (README: "The signed redirect token"): the
daemon appends g307=<exp>.<kid>.<mac> to every Location; the README's
Python verifier (run from the README itself), `geo307ctl verify` and
geo307-sink accept a fresh token for the right server, method and target
and refuse each single change; key rotation; a target with a query and
one without; the lookup; keys under 32 bytes refused at start; keys never
shown by /route, --check or the logs."""

import base64
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
BUILD = os.path.dirname(g.BIN)
CTL = os.path.join(BUILD, "geo307ctl")
SINK = os.path.join(BUILD, "geo307-sink")
K1 = bytes(range(1, 33))
K2 = bytes(range(100, 140))
B1 = base64.b64encode(K1).decode()
B2 = base64.b64encode(K2).decode()
GB = "81.2.69.142"


F = g.Fixture(T)
tmp = F.tmp


def readme_verifier():
    """The g307_ok function exactly as the README prints it."""
    text = open(os.path.join(g.SRCDIR, "README.md")).read()
    m = re.search(r"In Python:\n\n```python\n(.*?)```", text, re.S)
    ns = {}
    exec(m.group(1), ns)
    return ns["g307_ok"]


def daemon(name, keys, ttl=60, extra=None):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("redirect", "sign_keys", keys)
    c.set("redirect", "sign_ttl", ttl)
    c.set("lookup", "prefix", "/.geo307/lookup")
    for (sec, key), v in (extra or {}).items():
        c.set(sec, key, v)
    d = g.Daemon(T, tmp(), c, name).start()
    return d, port, aport


def location(port, method="POST", target="/upload?x=1"):
    st, h, _ = g.http_request(port, method, target, g.xff(GB))
    return st, g.hget(h, "Location"), g.hget(h, "X-Upload-Server")


def ctl_verify(conf, method, url, sid, *extra):
    p = subprocess.run([CTL, "-c", conf, "verify", method, url, sid] +
                       list(extra), capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout + p.stderr


def target_of(loc):
    u = urllib.parse.urlsplit(loc)
    return u.path + ("?" + u.query if u.query else "")


def tokens(t):
    ok = readme_verifier()
    keys = {"k1": K1, "k2": K2}
    d, port, aport = daemon("sign", "k2:%s, k1:%s" % (B2, B1))
    st, loc, sid = location(port)
    tgt = target_of(loc)
    m = re.search(r"[?&]g307=(\d+)\.(k2)\.([A-Za-z0-9_-]{43})$", loc)
    t.ok(st == 307 and m and loc.startswith(g.BASE[sid] + "/upload?x=1&g307=")
         and abs(int(m.group(1)) - time.time() - 60) < 5,
         "the Location carries &g307=<exp>.k2.<mac>, exp = now + sign_ttl "
         "(signed by the first key)", loc)
    t.ok(ok(keys, sid, "POST", tgt), "the README's Python verifier accepts "
         "it", tgt)
    rc, out = ctl_verify(d.conf_path, "POST", loc, sid)
    t.ok(rc == 0, "geo307ctl verify accepts it", out)

    # each single change, refused by both
    bad = []
    cases = [
        ("another server", sid + "x", "POST", tgt),
        ("another method", sid, "PUT", tgt),
        ("one byte of the target", sid, "POST", tgt.replace("x=1", "x=2")),
        ("a truncated mac", sid, "POST", tgt[:-1]),
        ("an unknown kid", sid, "POST", tgt.replace(".k2.", ".k9.")),
        ("a changed exp", sid, "POST", re.sub(r"g307=(\d+)",
                                              lambda x: "g307=%d" %
                                              (int(x.group(1)) + 1), tgt)),
    ]
    for what, s2, meth, t2 in cases:
        rc, out = ctl_verify(d.conf_path, meth, "https://h" + t2, s2)
        if ok(keys, s2, meth, t2) or rc != 1:
            bad.append("%s: python %r, ctl %d %s" % (what, ok(keys, s2, meth,
                                                              t2), rc, out))
    t.ok(not bad, "each single change is refused by Python and by "
         "geo307ctl (%d cases)" % len(cases), "\n".join(bad))

    # no query: ?g307=; the lookup signs for POST
    st, loc2, sid2 = location(port, "PATCH", "/files/abc")
    t.ok(st == 307 and "/files/abc?g307=" in loc2 and
         ok(keys, sid2, "PATCH", target_of(loc2)),
         "a target without a query gets ?g307=, signed for its method", loc2)
    st, _, body = g.http_get(port, "/.geo307/lookup/upload?y=2",
                             g.xff(GB))
    lj = __import__("json").loads(body)
    t.ok(st == 200 and ok(keys, lj["server"], "POST",
                          target_of(lj["location"])),
         "the lookup's location is signed for POST", body)

    # rotation: a verifier with the old key first still accepts k2's
    conf = os.path.join(tmp(), "verify-rot.conf")
    c = g.base_config(g.free_port(), g.free_port())
    c.set("redirect", "sign_keys", "k1:%s k2:%s" % (B1, B2))
    g.write_config(tmp(), c.text(), "verify-rot.conf")
    rc, out = ctl_verify(conf, "POST", loc, sid)
    c.set("redirect", "sign_keys", "k1:%s" % B1)
    g.write_config(tmp(), c.text(), "verify-old.conf")
    rc2, out2 = ctl_verify(os.path.join(tmp(), "verify-old.conf"), "POST",
                           loc, sid)
    t.ok(rc == 0 and rc2 == 1 and "unknown_kid" in out2,
         "rotation: any listed key verifies; a verifier without k2 says "
         "unknown kid", out + out2)

    # keys never shown
    st, _, rj = g.http_get(aport, "/route?ip=" + GB)
    p = subprocess.run([g.BIN, "-c", d.conf_path, "--check"],
                       capture_output=True, text=True, timeout=30)
    leaked = [w for w, txt in (("/route", rj.decode()),
                               ("--check", p.stdout + p.stderr),
                               ("the log", d.stderr()))
              if B1 in txt or B2 in txt]
    t.ok(not leaked, "the keys never appear in /route, --check or the log",
         repr(leaked))

    # expired: a router with sign_ttl = 1
    d2, port2, _ = daemon("sign-ttl", "k1:%s" % B1, ttl=1)
    st, loc3, sid3 = location(port2)
    time.sleep(2.2)
    rc, out = ctl_verify(d2.conf_path, "POST", loc3, sid3)
    t.ok(not ok(keys, sid3, "POST", target_of(loc3)) and rc == 1 and
         "expired" in out, "a token past its exp is refused (expired)", out)

    # keys under 32 bytes: refused at start, by kid, without the key
    short = base64.b64encode(b"x" * 16).decode()
    c = g.base_config(g.free_port(), g.free_port())
    c.set("redirect", "sign_keys", "weak:%s" % short)
    path = g.write_config(tmp(), c.text(), "short.conf")
    p = subprocess.run([g.BIN, "-c", path, "--check"], capture_output=True,
                       text=True, timeout=30)
    t.ok(p.returncode == 1 and "weak" in p.stderr and short not in p.stderr
         and re.search(r"short\.conf:\d+:", p.stderr),
         "a 16-byte key is refused at file:line, named by its kid, never "
         "shown", p.stderr)


def sink(t):
    if not os.path.exists(SINK):
        raise g.Skip("geo307-sink not built")
    sp = g.free_port()
    err = open(os.path.join(tmp(), "sink.stderr"), "ab")
    proc = subprocess.Popen([SINK, "--listen", "127.0.0.1:%d" % sp, "--id",
                             "eu-s", "--base", "/base", "--sign-keys",
                             "k1:%s" % B1],
                            stdout=subprocess.DEVNULL, stderr=err)
    T.at_exit(lambda: (proc.terminate(), proc.wait()))
    g.wait_until(lambda: g.port_open(sp), 10)
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, servers=False)
    c.set("server eu-s", "url", "http://127.0.0.1:%d/base" % sp)
    c.set("server eu-s", "region", "eu")
    c.set("server us-s", "url", "http://127.0.0.1:%d" % sp)
    c.set("server us-s", "region", "us")
    c.set("redirect", "allow_http", "yes")
    c.set("redirect", "allowed_hosts", "127.0.0.1/32")
    c.set("redirect", "sign_keys", "k1:%s" % B1)
    g.Daemon(T, tmp(), c, "sign-sink").start()
    st, loc, sid = location(port)
    body = b"payload" * 1000
    u = urllib.parse.urlsplit(loc)
    tgt = u.path + "?" + u.query
    st1, _, b1 = g.http_request(sp, "POST", tgt, body=body)
    st2, _, _ = g.http_request(sp, "POST", tgt.replace("x=1", "x=3"),
                               body=body)
    st3, _, _ = g.http_request(sp, "PUT", tgt, body=body)
    t.ok(sid == "eu-s" and st1 == 201 and st2 == 403 and st3 == 403,
         "geo307-sink accepts the router's token (201) and refuses another "
         "target or method (403)", "%s %s %d %d %d %r" % (sid, loc, st1, st2,
                                                          st3, b1[:200]))


def main():
    T.run([
        (10, tokens),
        (1, sink),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
