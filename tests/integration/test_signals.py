#!/usr/bin/env python3
"""Programs and signals: --version, --check naming file:line, SIGHUP
reloads (good, bad config, corrupt GeoIP DB), SIGTERM with work in
flight, shutdown_delay draining, SIGUSR1 and the access log (SPEC 5, 6)."""

import json
import os
import re
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
GB, US = "81.2.69.142", "216.160.83.56"


F = g.Fixture(T)
tmp = F.tmp


def route(port, ip):
    r = g.raw_request(port, g.req("GET", "/r?x=1", [("X-Forwarded-For", ip)]))
    return r.status, r.header("X-Upload-Server"), r.header("Location")


def reloads(aport, what, result):
    return g.scrape(aport).get("geo307_reload_total", what=what, result=result)


def reload_errors(aport):
    return g.scrape(aport).get("geo307_reload_total", result="error")


def wait_reload(d, counter, before, timeout=5):
    """SIGHUP, then wait until counter() > before; returns the new value."""
    d.sighup()
    return g.wait_until(lambda: counter() > before and counter(), timeout) \
        or counter()


# ------------------------------------------------------------- --check

def line_of(text, needle):
    for i, ln in enumerate(text.splitlines(), 1):
        if needle in ln:
            return i
    raise ValueError(needle)


def check_cases():
    """(description, config text, lines that may be named or None)."""
    def base():
        return g.base_config(18307, 19307)

    out = []

    def case(what, cfg, needle=None, extra_lines=()):
        text = cfg.text() if isinstance(cfg, g.Config) else cfg
        lines = None
        if needle:
            lines = {line_of(text, needle)} | set(extra_lines)
        out.append((what, text, lines))

    c = base()
    c.set("listen", "bogus_key", "1")
    case("an unknown key", c, "bogus_key")
    c = base()
    c.set("bogus", "x", "1")
    t = c.text()
    case("an unknown section", c, "x = 1", [line_of(t, "[bogus]")])
    c = base()
    c.set("server eu-1", "weight", "abc")
    case("weight = abc", c, "weight = abc")
    c = base()
    c.set("server eu-1", "weight", "1000001")
    case("weight over 1000000", c, "weight = 1000001")
    c = base()
    c.set("listen", "header_timeout", "soon")
    case("header_timeout = soon", c, "header_timeout = soon")
    c = base()
    c.set("listen", "max_header_bytes", "12Q")
    case("max_header_bytes = 12Q", c, "max_header_bytes = 12Q")
    c = base()
    c.set("redirect", "status", "302")
    case("[redirect] status = 302", c, "status = 302")
    c = base()
    c.set("server eu-1", "region", "nowhere")
    case("a server in an unknown region", c, "region = nowhere")
    c = base()
    c.set("server eu-1", "url", "http://eu-1.up.example.net")
    case("an http:// url without allow_http", c, "url = http://")
    c = base()
    c.set("server eu-1", "url", "https://u:p@eu-1.up.example.net")
    case("a url with userinfo", c, "url = https://u:p@")
    c = base()
    c.set("server eu-1", "url", "https://eu-1.up.example.net/?a=1")
    case("a url with a query", c, "url = https://eu-1.up.example.net/?a=1")
    c = base()
    c.set("listen", "public_names", "eu-1.up.example.net")
    case("a server url on one of our public_names", c)
    c = base()
    c.set("region ap", "countries", "GB")
    case("a country in two regions", c)
    c = base()
    c.set("region eu", "default", "yes")
    case("two default regions", c)
    c = base()
    c.remove("region us", "default")
    case("no default region", c)
    c = base()
    c.set("region eu", "fallback", "mars")
    case("a fallback to an unknown region", c, "fallback = mars")
    c = base()
    c.set("region eu", "location", "91, 0")
    case("latitude 91", c, "location = 91, 0")
    c = base()
    c.set("trust", "proxies", "127.0.0.1/33")
    case("a bad CIDR", c, "proxies = 127.0.0.1/33")
    c = base()
    c.set("server eu-1", "url", "https://eu-1.up.example.net")
    c.set("redis", "url", "redis://127.0.0.1:6379/0")
    c.set("redirect", "allowed_hosts", "*.up.example.net")
    case("[server] sections together with a Redis url", c)
    return out


def version_check(t):
    rc, out, err = g.run_geo307(["--version"])
    t.ok(rc == 0 and re.fullmatch(r"geo307 \S+\n?", out),
         "--version prints 'geo307 <version>' and exits 0",
         "rc=%r out=%r err=%r" % (rc, out, err))
    good = g.write_config(tmp(), g.base_config(18307, 19307).text(), "good.conf")
    rc, out, err = g.run_geo307(["--check", "-c", good])
    t.ok(rc == 0, "--check on a good config exits 0", "rc=%r\n%s%s"
         % (rc, out, err))
    for i, (what, text, lines) in enumerate(check_cases()):
        path = g.write_config(tmp(), text, "bad%02d.conf" % i)
        rc, out, err = g.run_geo307(["--check", "-c", path])
        named = [int(x) for x in re.findall(re.escape(path) + r":(\d+):", err)]
        ok = rc is not None and rc > 0 and path in err
        if lines is not None:
            ok = ok and any(n in lines for n in named)
        t.ok(ok, "--check: %s -> exit %r, %s" %
             (what, rc, "names %s:%s" % (os.path.basename(path),
                                         sorted(lines)) if lines else
              "names the file"), "stderr: %r" % err[-600:])
    c = g.base_config(18307, 19307, db=os.path.join(tmp(), "missing.mmdb"))
    path = g.write_config(tmp(), c.text(), "nodb.conf")
    rc, out, err = g.run_geo307(["--check", "-c", path])
    t.ok(rc is not None and rc > 0 and "missing.mmdb" in err,
         "--check with a missing GeoIP file: non-zero, names the file",
         "rc=%r err=%r" % (rc, err))
    # the daemon itself refuses a bad config the same way
    text = check_cases()[0][1]
    path = g.write_config(tmp(), text, "bad-start.conf")
    rc, out, err = g.run_geo307(["-c", path], timeout=10)
    t.ok(rc is not None and rc > 0 and re.search(re.escape(path) + r":\d+:",
                                                  err),
         "geo307 -c with a bad config exits non-zero naming file:line",
         "rc=%r err=%r" % (rc, err))


N_CHECK = 2 + len(check_cases()) + 2


# ------------------------------------------------------------- SIGHUP

def hup(t):
    port, aport = g.free_port(), g.free_port()
    db = os.path.join(tmp(), "geo.mmdb")
    shutil.copyfile(g.FIXTURE_DB, db)
    c = g.base_config(port, aport, db=db)
    d = g.Daemon(T, tmp(), c, "hup").start()
    first = route(port, GB)

    # a good change: GB moves to ap; us-1 weight 0 and a new us-2
    c2 = c.copy()
    c2.set("region eu", "countries", "IE")
    c2.set("region ap", "countries", "GB")
    c2.set("server us-1", "weight", 0)
    c2.set("server us-2", "url", "https://us-2.up.example.net")
    c2.set("server us-2", "region", "us")
    d.write(c2)
    ok0 = reloads(aport, "config", "ok")
    ok1 = wait_reload(d, lambda: reloads(aport, "config", "ok"), ok0)
    t.ok(first[:2] == (307, "eu-1") and ok1 == ok0 + 1,
         "SIGHUP with a good config: reload_total{config,ok} +1",
         "before %r, ok %r -> %r\n%s" % (first, ok0, ok1, d.stderr()[-800:]))
    t.eq(route(port, GB)[:2], (307, "ap-1"),
         "after SIGHUP the new region mapping routes GB to ap")
    t.eq(route(port, US)[:2], (307, "us-2"),
         "after SIGHUP the new server and weight 0 take effect (US -> us-2)")

    # a broken config: nothing of it applies
    c3 = c2.copy()
    c3.set("server ap-1", "url", "https://ap-9.up.example.net")
    c3.set("listen", "no_such_key", "1")
    d.write(c3)
    e0 = reload_errors(aport)
    e1 = wait_reload(d, lambda: reload_errors(aport), e0)
    r = route(port, GB)
    t.ok(e1 == e0 + 1 and d.alive() and r[:2] == (307, "ap-1") and
         r[2].startswith(g.BASE["ap-1"]),
         "SIGHUP with a broken config: reload error +1, the old config "
         "still serves", "errors %r -> %r, route %r" % (e0, e1, r))
    t.ok(re.search(re.escape(d.conf_path) + r":\d+", d.stderr()),
         "the failed reload is logged with file:line", d.stderr()[-800:])
    d.write(c2)

    # corrupt GeoIP databases: the old one keeps serving
    fixture = open(g.FIXTURE_DB, "rb").read()
    corrupt = [
        ("garbage", os.urandom(len(fixture))),
        ("truncated to half", fixture[:len(fixture) // 2]),
        ("metadata marker only", b"\xab\xcd\xefMaxMind.com"),
        ("empty", b""),
    ]
    if len(fixture) > 20480:
        corrupt.append(("last 20 KB overwritten",
                        fixture[:-20480] + os.urandom(20480)))
    bad = []
    for what, data in corrupt:
        g.write_file_atomic(db, data)
        e0 = reload_errors(aport)
        e1 = wait_reload(d, lambda: reload_errors(aport), e0)
        r = route(port, GB)
        st, _, body = g.http_get(aport, "/healthz")
        if not (e1 == e0 + 1 and d.alive() and r[:2] == (307, "ap-1") and
                st == 200):
            bad.append("%s: errors %r -> %r, route %r, healthz %r %r"
                       % (what, e0, e1, r, st, body))
    t.ok(not bad, "SIGHUP onto a corrupt GeoIP DB (%s): reload error +1, "
         "still routing GB by the old DB, /healthz 200"
         % ", ".join(w for w, _ in corrupt), "\n".join(bad))
    g.write_file_atomic(db, fixture)
    ok0 = reloads(aport, "geoip", "ok")
    ok1 = wait_reload(d, lambda: reloads(aport, "geoip", "ok"), ok0)
    t.ok(ok1 > ok0 and route(port, GB)[:2] == (307, "ap-1"),
         "SIGHUP with the good DB back: reload_total{geoip,ok} grows",
         "%r -> %r" % (ok0, ok1))

    # a listen change cannot be applied: logged, old port still serves
    c4 = c2.copy()
    c4.set("listen", "address", "127.0.0.1:%d" % g.free_port())
    d.write(c4)
    ok0 = reloads(aport, "config", "ok") + reload_errors(aport)
    wait_reload(d, lambda: reloads(aport, "config", "ok") +
                reload_errors(aport), ok0)
    t.ok(route(port, GB)[0] == 307 and
         re.search(r"restart", d.stderr(), re.I),
         "SIGHUP with a new listen address: 'needs restart' logged, the old "
         "port still serves", d.stderr()[-600:])
    d.write(c2)
    # [admin] allow with as many CIDRs as the default (127.0.0.1/32,
    # ::1/128) but another one: still a change
    c6 = c2.copy()
    c6.set("admin", "allow", "127.0.0.1/32, ::2/128")
    d.write(c6)
    before = d.stderr().count("[admin] allow changed: needs restart")
    ok0 = reloads(aport, "config", "ok")
    wait_reload(d, lambda: reloads(aport, "config", "ok"), ok0)
    t.ok(d.stderr().count("[admin] allow changed: needs restart") ==
         before + 1,
         "SIGHUP with [admin] allow changed (same count, other CIDR): "
         "'needs restart' logged", d.stderr()[-400:])
    d.write(c2)

    # [linger] is reloadable: max_bytes = 64K applies to the next upload
    c5 = c2.copy()
    c5.set("linger", "max_bytes", "64K")
    d.write(c5)
    ok0 = reloads(aport, "config", "ok")
    wait_reload(d, lambda: reloads(aport, "config", "ok"), ok0)
    b0 = g.scrape(aport).get("geo307_linger_total", outcome="bytes")
    cn = g.Conn(port, timeout=10)
    try:
        body = b"x" * (1 << 20)
        cn.send(g.req("POST", "/u", [("Content-Length", str(len(body)))]) +
                body)
        cn.read_response(timeout=5)
    except OSError:
        pass
    finally:
        cn.close()
    b1 = g.wait_metric(aport, lambda x: x.get(
        "geo307_linger_total", outcome="bytes") > b0).get(
        "geo307_linger_total", outcome="bytes")
    t.ok(b1 == b0 + 1, "SIGHUP sets [linger] max_bytes = 64K: a 1 MiB body "
         "then ends with outcome bytes", "%r -> %r" % (b0, b1))


def weights(aport, ip):
    """/route?ip=: {server id: effective weight} of the region used."""
    st, _, body = g.http_get(aport, "/route?ip=" + ip)
    if st != 200:
        return {}
    return {c["id"]: c["effective_weight"]
            for c in json.loads(body).get("candidates", [])}


def slow_start_hup(t):
    """SPEC 2.4 slow start with the static fleet: nothing ramps at start;
    a server a SIGHUP adds ramps from the reload, the others keep their
    weight, and a later reload does not restart the ramp."""
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("selection", "slow_start", 6)
    d = g.Daemon(T, tmp(), c, "slowstart").start()
    w0 = weights(aport, US)
    t.ok(w0 == {"us-1": 100.0},
         "slow_start = 6: at start nothing ramps (us-1 at 100)", repr(w0))

    c2 = c.copy()
    c2.set("server us-2", "url", "https://us-2.up.example.net")
    c2.set("server us-2", "region", "us")
    c2.set("server us-2", "weight", 300)
    d.write(c2)
    ok0 = reloads(aport, "config", "ok")
    wait_reload(d, lambda: reloads(aport, "config", "ok"), ok0)
    t0 = time.monotonic()
    w1 = weights(aport, US)
    t.ok(w1.get("us-1") == 100.0 and 0 < w1.get("us-2", -1) < 150,
         "SIGHUP adds us-2 (weight 300): it starts its ramp (%r < 150), "
         "us-1 keeps 100" % w1.get("us-2"), repr(w1))

    # the same config again after 1.5 s: us-2's ramp goes on
    time.sleep(max(0, t0 + 1.5 - time.monotonic()))
    ok0 = reloads(aport, "config", "ok")
    wait_reload(d, lambda: reloads(aport, "config", "ok"), ok0)
    w2 = weights(aport, US)
    t.ok(w2.get("us-1") == 100.0 and w2.get("us-2", -1) >= 60,
         "a second SIGHUP does not restart the ramp (us-2 at %r >= 60 "
         "after 1.5 s of 6)" % w2.get("us-2"), repr(w2))


# ------------------------------------------------------------- SIGTERM

def term_inflight(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "shutdown_grace", 3)
    d = g.Daemon(T, tmp(), c, "term").start()
    lg = g.Conn(port)
    lg.send(g.req("POST", "/upload", [("Content-Length", str(50 << 20))]) +
            b"b" * 65536)
    r0 = lg.read_response(timeout=3)
    ka = g.Conn(port)
    ka.send(g.req("GET", "/ka"))
    r1 = ka.read_response(timeout=3)
    half = g.Conn(port)
    whole = g.req("GET", "/half?x=1", [("X-Forwarded-For", GB)])
    half.send(whole[:25])
    time.sleep(0.2)
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    time.sleep(0.3)
    half.send(whole[25:])
    try:
        r2 = half.read_response(timeout=3)
    except Exception as e:
        r2 = e
    t.ok(isinstance(r2, g.Response) and r2.status == 307 and
         r2.header("X-Upload-Server") == "eu-1",
         "a request half sent at SIGTERM is still answered", repr(r2))
    time.sleep(0.2)
    try:
        x = g.raw_request(port, g.req("GET", "/late"), read_timeout=1)
        late = "a new connection after SIGTERM got %d" % x.status
    except Exception as e:
        late = "no answer (%s)" % type(e).__name__
    rc = None
    while time.monotonic() - t0 < 10 * g.SLACK:
        try:
            lg.sock.send(b"b" * 1024)       # the upload keeps coming
        except OSError:
            pass
        if d.proc.poll() is not None:
            rc = d.proc.returncode
            break
        time.sleep(0.1)
    el = time.monotonic() - t0
    for x in (lg, ka, half):
        x.close()
    t.ok("got 307" not in late, "no redirect on a new connection after "
         "SIGTERM (stops accepting)", late)
    t.ok(r0.status == 307 and r1.status == 307 and rc == 0 and
         el <= 3 + 2 * g.SLACK,
         "SIGTERM with a lingering upload and a keep-alive connection: exit 0 "
         "after %.2f s (shutdown_grace = 3)" % el,
         "rc=%r\n%s" % (rc, d.stderr()[-800:]))


def term_delay(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "shutdown_delay", 1.5)
    c.set("listen", "shutdown_grace", 2)
    c.set("listen", "health_path", "/healthz")
    d = g.Daemon(T, tmp(), c, "delay").start()
    st0 = g.http_get(port, "/healthz")[0]
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    time.sleep(0.3)
    st, _, body = g.http_get(aport, "/healthz")
    t.ok(st0 == 200 and st == 503 and b"draining" in body,
         "shutdown_delay: admin /healthz -> 503 draining",
         "before %r, during %r %r" % (st0, st, body))
    st, hd, body = g.http_get(port, "/healthz")
    t.ok(st == 503 and b"draining" in body and
         g.hget(hd, "Cache-Control") == "no-store",
         "shutdown_delay: public health_path -> 503 draining, no-store",
         "%r %r %r" % (st, hd, body))
    st, hd, _ = g.http_get(port, "/upload?x=1", g.xff(GB))
    t.ok(st == 307 and g.hget(hd, "X-Upload-Server") == "eu-1",
         "shutdown_delay: redirects still answered", "%r %r" % (st, hd))
    rc = d.wait(10 * g.SLACK)
    el = time.monotonic() - t0
    t.ok(rc == 0 and 1.3 <= el <= 1.5 + 2 + 1.5 * g.SLACK,
         "exit 0 after the delay (%.2f s; delay 1.5, grace 2)" % el,
         "rc=%r" % rc)


# ------------------------------------------------------------- logs

def access_log(t):
    port, aport = g.free_port(), g.free_port()
    log = os.path.join(tmp(), "access.log")
    c = g.base_config(port, aport)
    c.set("log", "access", log)
    c.set("synthetic", "tokens", "sekrit-token")
    d = g.Daemon(T, tmp(), c, "alog").start()
    g.raw_request(port, g.req("GET", "/upload?token=SECRET1", [
        ("X-Forwarded-For", GB), ("X-Synthetic-Token", "sekrit-token")]))
    text = g.wait_until(lambda: os.path.exists(log) and
                        open(log).read().strip(), 3) or ""
    recs = []
    for ln in text.splitlines():
        try:
            recs.append(json.loads(ln))
        except ValueError:
            pass
    t.ok(len(recs) == 1 and recs[0].get("status") == 307 and
         "/upload" in json.dumps(recs[0]),
         "access log: one JSON line per request with the status",
         repr(text[:500]))
    t.ok(text and "SECRET1" not in text and "sekrit-token" not in text,
         "access log: no query (log_query = no) and no synthetic token",
         repr(text[:500]))
    os.rename(log, log + ".1")
    d.signal(signal.SIGUSR1)
    time.sleep(0.3)
    g.raw_request(port, g.req("GET", "/after-usr1"))
    text = g.wait_until(lambda: os.path.exists(log) and
                        open(log).read().strip(), 3) or ""
    t.ok("/after-usr1" in text and "/after-usr1" not in open(log + ".1").read(),
         "SIGUSR1 reopens the access log", repr(text[:300]))


def main():
    T.run([
        (N_CHECK, version_check),
        (10, hup),
        (3, slow_start_hup),
        (3, term_inflight),
        (4, term_delay),
        (3, access_log),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
