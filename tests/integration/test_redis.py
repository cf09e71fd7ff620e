#!/usr/bin/env python3
"""The fleet from Redis (SPEC 2, 3, 4): routing from the records, how fast
operator changes and redis-cli edits take effect, drain/down/weight 0,
region drain, maintenance, load reports (shares, load 1, expiry, fail-open),
spill, bad records (skipped, counted, logged once), /fleet and /metrics.

Needs redis-server (skipped without it).  Every statistical check uses a
tolerance of 4.5 binomial standard deviations."""

import collections
import json
import math
import os
import re
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
GB = "81.2.69.142"          # eu (country GB)
US = "216.160.83.56"        # us (country US)
CN = "175.16.199.1"         # ap (continent AS)
Z = 4.5


F = g.Fixture(T)
tmp = F.tmp
# One redis-server for the whole script; every daemon its own prefix.
redis = F.redis
resp = F.resp


def url(sid):
    return "https://%s.up.example.net" % sid


def srv(sid, region, weight=None, state=None, **extra):
    f = {"url": url(sid), "region": region}
    if weight is not None:
        f["weight"] = weight
    if state is not None:
        f["state"] = state
    f.update(extra)
    return f


def within(k, n, p, z=Z):
    return abs(k - n * p) <= z * math.sqrt(n * p * (1 - p)) + 1


def start(name, prefix, servers, loads, regions=None, **redis_kv):
    """Write the fleet and loads under prefix, start a daemon on it, wait
    until /fleet shows that version from Redis."""
    rs, r = redis(), resp()
    g.redis_report(r, prefix, loads)
    v = g.redis_write_fleet(r, prefix, servers, regions=regions)
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), prefix=prefix,
                       **redis_kv)
    d = g.Daemon(T, tmp(), c, name).start()
    j, dt = g.wait_fleet(aport, lambda j: j.get("source") == "redis" and
                         j.get("version") == v, timeout=5)
    if dt is None:
        raise RuntimeError("%s: /fleet never showed source redis version "
                           "%d: %r\n%s" % (name, v, j, d.stderr()[-2000:]))
    return {"d": d, "port": port, "aport": aport, "prefix": prefix, "v": v}


def route(port, ip, n, target="/upload?x=1"):
    """n requests from ip: Counter of (status, server, reason), and a list
    of problems (Location not base + target, missing headers)."""
    cnt = collections.Counter()
    bad = []
    cl = g.Client(port)
    try:
        for _ in range(n):
            st, hd, _ = cl.request("GET", target, g.xff(ip))
            sid = g.hget(hd, "X-Upload-Server")
            reason = g.hget(hd, "X-Redirect-Reason")
            cnt[(st, sid, reason)] += 1
            if st == 307:
                loc = g.hget(hd, "Location") or ""
                want = S.get("bases", {}).get(sid, url(sid or "?")) + target
                if loc != want:
                    bad.append("Location %r, want %r" % (loc, want))
    finally:
        cl.close()
    return cnt, bad


def servers_of(cnt):
    c = collections.Counter()
    for (st, sid, _), k in cnt.items():
        c[sid] += k
    return c


def only(cnt, status, sids, reason):
    """Every answer has this status, a server in sids and this reason."""
    return all(st == status and sid in sids and rs == reason
               for (st, sid, rs) in cnt)


def wait_loads(aport, want, timeout=5):
    """Until /fleet reports these loads ({id: load or None})."""
    def ok(j):
        for sid, load in want.items():
            s = g.fleet_server(j, sid)
            if s is None:
                return False
            if load is None:
                if s.get("fresh") is not False:
                    return False
            elif s.get("load") is None or \
                    abs(s["load"] - load) > 1e-9 or not s.get("fresh"):
                return False
        return True
    j, dt = g.wait_fleet(aport, ok, timeout)
    if dt is None:
        raise RuntimeError("loads %r never showed in /fleet: %r" % (want, j))
    return j


def metric_delta(m0, m1, name, **lb):
    return m1.get(name, **lb) - m0.get(name, **lb)


# ------------------------------------------------------------------ config

def check_config(t):
    rs, r = redis(), resp()
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), prefix="chk:")
    path = g.write_config(tmp(), c.text(), "chk-ok.conf")
    rc, out, err = g.run_geo307(["--check", "-c", path])
    t.ok(rc == 0, "--check: a [redis] url, allowed_hosts and no [server] "
         "section is a valid config", "rc %r\n%s%s" % (rc, out, err))
    c2 = c.copy()
    for sid, (u, region, w) in g.SERVERS.items():
        c2.set("server " + sid, "url", u)
        c2.set("server " + sid, "region", region)
    path = g.write_config(tmp(), c2.text(), "chk-server.conf")
    rc, out, err = g.run_geo307(["--check", "-c", path])
    t.ok(rc != 0 and re.search(r"chk-server\.conf:\d+", err + out),
         "--check: [server] sections with a [redis] url -> error naming "
         "file:line", "rc %r\n%s%s" % (rc, out, err))
    c3 = c.copy().remove("redirect", "allowed_hosts")
    path = g.write_config(tmp(), c3.text(), "chk-hosts.conf")
    rc, out, err = g.run_geo307(["--check", "-c", path])
    t.ok(rc != 0 and "allowed_hosts" in err + out,
         "--check: a [redis] url without [redirect] allowed_hosts -> error",
         "rc %r\n%s%s" % (rc, out, err))


# ----------------------------------------------------- daemon A: a general one

A_SERVERS = {
    "eu-1": srv("eu-1", "eu", 100),
    "eu-2": srv("eu-2", "eu", 300),
    "us-1": srv("us-1", "us", 100),
    # no weight field: the default 100; a port and a base path
    "ap-1": {"url": "https://ap-1.up.example.net:8443/u/", "region": "ap"},
}
A_LOADS = {"eu-1": 0, "eu-2": 0, "us-1": 0, "ap-1": 0}


def daemon_a():
    if "A" not in S:
        S["bases"] = {sid: url(sid) for sid in A_SERVERS}
        S["bases"]["ap-1"] = "https://ap-1.up.example.net:8443/u"
        S["A"] = start("redis-a", "a:", A_SERVERS, A_LOADS,
                       refresh=0.5, full_resync=10, stale_after=15)
    return S["A"]


def a_reset(**over):
    """Back to A_SERVERS (with overrides), no regions, no maintenance,
    loads 0; returns the new version once /fleet shows it."""
    a = daemon_a()
    r = resp()
    servers = {k: dict(v) for k, v in A_SERVERS.items()}
    for sid, fields in over.items():
        if fields is None:
            servers.pop(sid, None)
        else:
            servers[sid] = fields
    loads = {sid: 0 for sid in servers}
    g.redis_report(r, "a:", loads)
    v = g.redis_write_fleet(r, "a:", servers)
    j, dt = g.wait_fleet(a["aport"], lambda j: j.get("version") == v, 3)
    if dt is None:
        raise RuntimeError("version %d never showed: %r" % (v, j))
    wait_loads(a["aport"], loads)
    return v


def basic(t):
    a = daemon_a()
    j = g.fleet_json(a["aport"])
    got = {}
    for s in (j or {}).get("servers", []):
        got[s.get("id")] = (s.get("url"), s.get("region"), s.get("weight"),
                            s.get("state"), s.get("load"), s.get("fresh"))
    want = {
        "eu-1": (url("eu-1"), "eu", 100, "up", 0, True),
        "eu-2": (url("eu-2"), "eu", 300, "up", 0, True),
        "us-1": (url("us-1"), "us", 100, "up", 0, True),
        "ap-1": ("https://ap-1.up.example.net:8443/u", "ap", 100, "up", 0,
                 True),
    }
    t.ok(j and j.get("source") == "redis" and j.get("version") == a["v"] and
         got == want and isinstance(j.get("age"), (int, float)),
         "/fleet: source redis, the version written, each server's url, "
         "region, weight (default 100), state, load and freshness",
         "want %r\ngot  %r" % (want, j))
    n = 400
    cnt, bad = route(a["port"], GB, n)
    k = servers_of(cnt)["eu-1"]
    t.ok(only(cnt, 307, ("eu-1", "eu-2"), "geo") and not bad and
         within(k, n, 0.25),
         "GB -> eu-1/eu-2 by their Redis weights 100:300 (eu-1 %d of %d, "
         "expected %d), reason geo, Location on the server" % (k, n, n / 4),
         "%r\n%s" % (cnt, "\n".join(bad[:5])))
    cu, bu = route(a["port"], US, 20)
    cc, bc = route(a["port"], CN, 20, "/u/p?q=1")
    t.ok(only(cu, 307, ("us-1",), "geo") and only(cc, 307, ("ap-1",), "geo")
         and not bu + bc,
         "US -> us-1, CN -> ap-1 (Location https://ap-1.up.example.net:"
         "8443/u/u/p?q=1)", "%r %r\n%s" % (cu, cc, "\n".join(bu + bc)))
    m = g.scrape(a["aport"])
    vals = {k: m.get(k) for k in ("geo307_redis_up", "geo307_fleet_version",
                                  "geo307_fleet_servers",
                                  "geo307_fleet_age_seconds")}
    t.ok(vals["geo307_redis_up"] == 1 and
         vals["geo307_fleet_version"] == a["v"] and
         vals["geo307_fleet_servers"] == 4 and
         0 <= vals["geo307_fleet_age_seconds"] <= 0.5 + 1.5 * g.SLACK,
         "/metrics: geo307_redis_up 1, geo307_fleet_version = the version, "
         "geo307_fleet_servers 4, geo307_fleet_age_seconds <= refresh + "
         "slack", repr(vals))
    st, _, body = g.http_get(a["aport"], "/healthz")
    t.ok(st == 200, "/healthz 200 with a fleet from Redis",
         "%r %r" % (st, body))


def states(t):
    a = daemon_a()
    r = resp()
    a_reset(**{"eu-1": srv("eu-1", "eu", 100, "drain"),
               "eu-2": srv("eu-2", "eu", 100, "up"),
               "eu-3": srv("eu-3", "eu", 100, "down"),
               "eu-4": srv("eu-4", "eu", 0, "up")})
    S["bases"].update({sid: url(sid) for sid in ("eu-3", "eu-4")})
    cnt, bad = route(a["port"], GB, 300)
    t.ok(only(cnt, 307, ("eu-2",), "geo") and not bad,
         "eu-1 drain, eu-3 down, eu-4 weight 0: 300 GB requests all go to "
         "eu-2", "%r %s" % (cnt, bad[:3]))
    j = g.fleet_json(a["aport"])
    st = {s["id"]: (s.get("state"), s.get("weight"))
          for s in (j or {}).get("servers", [])}
    t.ok(st.get("eu-1") == ("drain", 100) and st.get("eu-3") ==
         ("down", 100) and st.get("eu-4") == ("up", 0),
         "/fleet reports state drain, down and weight 0", repr(st))
    v = g.redis_op(r, "a:", [["HSET", "a:server:eu-2", "state", "down"]])
    g.wait_fleet(a["aport"], lambda j: j.get("version") == v, 3)
    cnt, bad = route(a["port"], GB, 50)
    t.ok(only(cnt, 307, ("us-1",), "fallback") and not bad,
         "no candidate left in eu: GB -> us-1 (eu's fallback), reason "
         "fallback", repr(cnt))


def region_drain(t):
    a = daemon_a()
    r = resp()
    a_reset()
    v = g.redis_op(r, "a:", [["HSET", "a:regions", "eu", "drain"]])
    j, dt = g.wait_fleet(a["aport"], lambda j: j.get("version") == v, 3)
    cnt, bad = route(a["port"], GB, 100)
    cu, _ = route(a["port"], US, 10)
    t.ok(only(cnt, 307, ("us-1",), "fallback") and not bad and
         only(cu, 307, ("us-1",), "geo"),
         "P regions eu = drain: GB -> us-1 with reason fallback; US "
         "unchanged (geo)", "%r %r" % (cnt, cu))
    v = g.redis_op(r, "a:", [["HSET", "a:regions", "eu", "up"]])
    j, dt = g.wait_fleet(a["aport"], lambda j: j.get("version") == v, 3)
    cnt, bad = route(a["port"], GB, 50)
    t.ok(only(cnt, 307, ("eu-1", "eu-2"), "geo"),
         "P regions eu = up again: GB back to eu (geo)", repr(cnt))


def maintenance(t):
    a = daemon_a()
    r = resp()
    a_reset()
    v = g.redis_op(r, "a:", [["SET", "a:maintenance", "10"]])
    g.wait_fleet(a["aport"], lambda j: j.get("version") == v, 3)
    ras, bad = [], []
    cl = g.Client(a["port"])
    try:
        for i in range(40):
            ip = (GB, US, CN, "127.0.0.1")[i % 4]
            st, hd, _ = cl.request("POST" if i % 5 == 0 else "GET",
                                   "/m%d" % i, g.xff(ip))
            ra = g.hget(hd, "Retry-After")
            try:
                ras.append(int(ra))
            except (TypeError, ValueError):
                bad.append("Retry-After %r" % ra)
            if st != 503 or g.hget(hd, "Location") or \
                    g.hget(hd, "Cache-Control") != "no-store":
                bad.append("%d %r" % (st, hd))
    finally:
        cl.close()
    t.ok(not bad and ras and all(x == 10 for x in ras),
         "P maintenance = 10: every request 503, no Location, Retry-After "
         "exactly 10 (the operator's value)",
         "\n".join(bad[:5]) + "\n%r" % ras)
    v = g.redis_op(r, "a:", [["DEL", "a:maintenance"]])
    g.wait_fleet(a["aport"], lambda j: j.get("version") == v, 3)
    cnt, _ = route(a["port"], GB, 20)
    t.ok(only(cnt, 307, ("eu-1", "eu-2"), "geo"),
         "P maintenance deleted: 307 again", repr(cnt))


def loads(t):
    a = daemon_a()
    r = resp()
    a_reset(**{"eu-2": srv("eu-2", "eu", 100)})
    g.redis_report(r, "a:", {"eu-1": "0", "eu-2": "0.5"})
    wait_loads(a["aport"], {"eu-1": 0, "eu-2": 0.5})
    n = 600
    cnt, bad = route(a["port"], GB, n)
    k = servers_of(cnt)["eu-1"]
    t.ok(only(cnt, 307, ("eu-1", "eu-2"), "geo") and within(k, n, 2 / 3),
         "weights 100/100, loads 0 and 0.5: shares 2:1 (eu-1 %d of %d, "
         "expected %d)" % (k, n, n * 2 / 3), repr(cnt))
    g.redis_report(r, "a:", {"eu-1": "0.3", "eu-2": "1.000"})
    wait_loads(a["aport"], {"eu-1": 0.3, "eu-2": 1})
    cnt, bad = route(a["port"], GB, 300)
    t.ok(only(cnt, 307, ("eu-1",), "geo"),
         "eu-2 at load 1, eu-1 at 0.3: eu-2 gets nothing (300 requests)",
         repr(cnt))
    g.redis_report(r, "a:", {"eu-1": "0.999999", "eu-2": "1"})
    wait_loads(a["aport"], {"eu-1": 0.999999, "eu-2": 1})
    cnt, bad = route(a["port"], GB, 100)
    t.ok(all(st == 307 for (st, _, _) in cnt),
         "eu at load 1 and 0.999999: still 307 (load never causes a 503)",
         repr(cnt))


def spill(t):
    a = daemon_a()
    r = resp()
    a_reset(**{"eu-2": srv("eu-2", "eu", 100)})
    for load, frac in (("0.96", 0.6), ("0.92", 0.2)):
        g.redis_report(r, "a:", {"eu-1": load, "eu-2": load})
        wait_loads(a["aport"], {"eu-1": float(load), "eu-2": float(load)})
        m0 = g.scrape(a["aport"])
        n = 600
        cnt, bad = route(a["port"], GB, n)
        m1 = g.scrape(a["aport"])
        fb = sum(k for (st, sid, rs), k in cnt.items()
                 if st == 307 and sid == "us-1" and rs == "fallback")
        home = sum(k for (st, sid, rs), k in cnt.items()
                   if st == 307 and sid in ("eu-1", "eu-2") and rs == "geo")
        sp = metric_delta(m0, m1, "geo307_spill_total", **{"from": "eu",
                                                          "to": "us"})
        t.ok(fb + home == n and within(fb, n, frac) and not bad,
             "eu headroom %.2f < spill_below 0.10: %d of %d GB requests "
             "spill to us-1 with reason fallback (expected %.0f%%), the rest "
             "stay home (geo)" % (1 - float(load), fb, n, frac * 100),
             repr(cnt))
        t.eq(sp, float(fb), "geo307_spill_total{from=eu,to=us} grows by "
             "the number spilled (headroom %.2f)" % (1 - float(load)))


# ------------------------------------------------- B: publish is fast

def publish_fast(t):
    rs, r = redis(), resp()
    P = "geo307:"           # the default prefix (not set in the config)
    S.setdefault("bases", {})
    servers = {"eu-0": srv("eu-0", "eu", 100), "us-1": srv("us-1", "us")}
    g.redis_report(r, P, {"eu-0": 0, "us-1": 0})
    v = g.redis_write_fleet(r, P, servers)
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), refresh=5,
                       full_resync=60)
    g.Daemon(T, tmp(), c, "redis-b").start()
    j, dt = g.wait_fleet(aport, lambda j: j.get("source") == "redis" and
                         j.get("version") == v, 6)
    if dt is None:
        raise RuntimeError("no Redis fleet: %r" % (j,))
    delays, wrong = [], []
    cl = g.Client(port)
    try:
        prev = "eu-0"
        for i in range(1, 5):
            time.sleep(0.3 + 0.37 * i)      # land anywhere in the 5 s poll
            new = "eu-%d" % i
            S["bases"][new] = url(new)
            g.redis_report(r, P, {new: 0})
            t0 = time.monotonic()
            v = g.redis_op(r, P, [
                ["HSET", P + "server:" + prev, "state", "down"],
                ["HSET", P + "server:" + new, "url", url(new), "region",
                 "eu"],
                ["SADD", P + "servers", new]])
            while True:
                st, hd, _ = cl.request("GET", "/x", g.xff(GB))
                sid = g.hget(hd, "X-Upload-Server")
                if sid == new:
                    delays.append(time.monotonic() - t0)
                    break
                if time.monotonic() - t0 > 6:
                    delays.append(float("inf"))
                    break
            for _ in range(50):
                st, hd, _ = cl.request("GET", "/x", g.xff(GB))
                sid = g.hget(hd, "X-Upload-Server")
                if st != 307 or sid != new:
                    wrong.append((i, st, sid))
            prev = new
    finally:
        cl.close()
    t.ok(max(delays) < 1.0 * g.SLACK,
         "refresh = 5: an operator change (MULTI, INCR version, PUBLISH "
         "changed, EXEC) serves within 1 s: %s ms" % ", ".join(
             "%.0f" % (d * 1000) for d in delays), repr(delays))
    t.ok(not wrong, "after the switch every GB request goes to the new "
         "server (the old one is down)", repr(wrong[:10]))
    j = g.fleet_json(aport)
    t.ok(j and j.get("version") == v, "/fleet version = %d" % v,
         repr(j and j.get("version")))


# ----------------------------------------- C: redis-cli alone, full_resync

def full_reads(lines, prefix):
    """Commands of the daemon that read the server set (one per full read)."""
    return [ln for ln in lines if len(ln[2]) > 1 and
            ln[2][0].upper() in ("SMEMBERS", "SSCAN", "SORT", "SINTER",
                                 "SUNION") and ln[2][1] == prefix + "servers"]


def no_bump(t):
    rs, r = redis(), resp()
    P = "c:"
    servers = {"eu-1": srv("eu-1", "eu", 100), "eu-2": srv("eu-2", "eu", 100),
               "us-1": srv("us-1", "us")}
    c = start("redis-c", P, servers, {"eu-1": 0, "eu-2": 0, "us-1": 0},
              refresh=1, full_resync=2)
    mon = g.Monitor(rs.port)
    try:
        # the refresh contract, on a quiet fleet
        mon.take()
        t0 = time.monotonic()
        time.sleep(6.2)
        win = time.monotonic() - t0
        lines = [ln for ln in mon.take()
                 if any(P in a for a in ln[2][1:])]
        mgets = [ln for ln in lines if ln[2][0].upper() == "MGET"]
        vers = [ln for ln in lines if ln[2][0].upper() == "GET" and
                ln[2][1:] == [P + "version"]]
        fulls = full_reads(lines, P)
        hashes = [ln for ln in lines if ln[2][0].upper() == "HGETALL"]
        t.ok(5 <= len(mgets) <= 8 and 5 <= len(vers) <= 8 and
             2 <= len(fulls) <= 4 and len(hashes) <= 3 * (len(fulls) + 1),
             "refresh = 1, full_resync = 2, nothing changing, %.1f s: GET "
             "version %d, MGET loads %d, server-set reads %d, HGETALL %d"
             % (win, len(vers), len(mgets), len(fulls), len(hashes)),
             "\n".join("%s %s" % (ln[1], " ".join(ln[2])[:120])
                       for ln in lines[:60]))
        # wait for a full read, then edit right after it
        deadline = time.monotonic() + 5
        seen = False
        while time.monotonic() < deadline and not seen:
            seen = bool(full_reads(mon.take(), P))
            time.sleep(0.01)
        time.sleep(0.2)             # let that full read finish
        t_edit = time.monotonic()
        out = rs.cli("HSET", P + "server:eu-2", "weight", "0")
        time.sleep(0.5)
        j = g.fleet_json(c["aport"])
        s = g.fleet_server(j, "eu-2") or {}
        t.ok(seen and s.get("weight") == 100,
             "redis-cli HSET weight 0 without a version bump, just after a "
             "full read: 0.5 s later /fleet still says weight 100 (not "
             "re-read before full_resync)",
             "full read seen %r, redis-cli %r, eu-2 %r" % (seen, out, s))
        j, dt = g.wait_fleet(c["aport"], lambda j: (g.fleet_server(
            j, "eu-2") or {}).get("weight") == 0, 5)
        dt = time.monotonic() - t_edit if dt is not None else None
        t.ok(dt is not None and dt <= (2 + 1 + 0.5) * g.SLACK,
             "... and within full_resync (2 s) + refresh it is: %s s" %
             ("%.2f" % dt if dt is not None else "never"), repr(j))
        cnt, _ = route(c["port"], GB, 100)
        t.ok(only(cnt, 307, ("eu-1",), "geo"),
             "eu-2 at weight 0 (from redis-cli) gets nothing", repr(cnt))
    finally:
        mon.stop()


# --------------------------------------------------------- D: stale reports

def stale(t):
    r = resp()
    P = "d:"
    servers = {"eu-1": srv("eu-1", "eu", 300), "eu-2": srv("eu-2", "eu", 100),
               "us-1": srv("us-1", "us"), "ap-1": srv("ap-1", "ap")}
    g.redis_report(r, P, {"us-1": 0, "ap-1": 0, "eu-2": 0})
    g.redis_report(r, P, {"eu-1": 0}, px=1500)
    c = start("redis-d", P, servers, {}, refresh=0.25, full_resync=10,
              stale_after=3)
    port, aport = c["port"], c["aport"]
    # eu-1's report (PX 1500) expires
    j, dt = g.wait_fleet(aport, lambda j: (g.fleet_server(j, "eu-1") or {})
                         .get("fresh") is False, 4)
    s = g.fleet_server(j, "eu-1") or {}
    t.ok(dt is not None and g.fleet_server(j, "eu-2").get("fresh") is True,
         "eu-1's load key expired (PX 1500): /fleet says fresh false for "
         "eu-1, true for eu-2", repr(j))
    cnt, _ = route(port, GB, 200)
    t.ok(only(cnt, 307, ("eu-2",), "geo"),
         "the stale eu-1 (weight 300) gets nothing while eu-2 is fresh",
         repr(cnt))
    g.redis_report(r, P, {"eu-2": None})
    wait_loads(aport, {"eu-1": None, "eu-2": None})
    cnt, _ = route(port, GB, 50)
    t.ok(only(cnt, 307, ("us-1",), "fallback"),
         "every eu report stale, us-1 fresh: GB -> us-1 (fallback)",
         repr(cnt))
    m0 = g.scrape(aport)
    g.redis_report(r, P, {"us-1": None, "ap-1": None})
    wait_loads(aport, {sid: None for sid in servers})
    n = 400
    cnt, _ = route(port, GB, n)
    m1 = g.scrape(aport)
    k = servers_of(cnt)["eu-1"]
    fo = metric_delta(m0, m1, "geo307_failopen_total")
    t.ok(all(st == 307 and sid in ("eu-1", "eu-2") for (st, sid, _) in cnt)
         and within(k, n, 0.75),
         "every report stale: fail-open, GB -> eu by weight alone 300:100 "
         "(eu-1 %d of %d, expected %d)" % (k, n, 0.75 * n), repr(cnt))
    t.ok(fo > 0, "geo307_failopen_total grows during fail-open (+%g)" % fo,
         repr(fo))
    said = g.wait_until(lambda: "fail-open: every up server's load report "
                        "is stale" in c["d"].stderr(), 3)
    t.ok(said and c["d"].stderr().count("fail-open: every up") == 1,
         "fail-open is logged once when it starts (SPEC 2.6), not per "
         "request", c["d"].stderr()[-600:])
    st, _, body = g.http_get(aport, "/healthz")
    t.ok(st == 200, "/healthz 200 while failing open (a server is "
         "routable)", "%r %r" % (st, body))
    g.redis_report(r, P, {"eu-1": "0.5", "eu-2": "0", "us-1": "0",
                          "ap-1": "0"})
    wait_loads(aport, {"eu-1": 0.5, "eu-2": 0})
    cnt, _ = route(port, GB, n)
    k = servers_of(cnt)["eu-1"]
    t.ok(only(cnt, 307, ("eu-1", "eu-2"), "geo") and within(k, n, 0.6),
         "reports back: shares by weight x (1 - load) = 150:100 again (eu-1 "
         "%d of %d, expected %d)" % (k, n, 0.6 * n), repr(cnt))
    ended = g.wait_until(lambda: "fail-open ended: " in c["d"].stderr(), 15)
    t.ok(ended, "fail-open's end is logged (10 s without it)",
         c["d"].stderr()[-600:])


# ------------------------------------------------------- E: bad records

BAD = [
    # id, hash fields, reason
    ("bad-scheme", srv("x", "eu") | {"url": "ftp://bs.up.example.net"},
     "url"),
    ("foreign", srv("x", "eu") | {"url": "https://evil.example.com"}, "url"),
    ("userinfo", srv("x", "eu") | {"url": "https://u:p@ui.up.example.net"},
     "url"),
    ("mars", srv("mars", "mars"), "region"),
    ("-bad-id", srv("badid", "eu"), "id"),
    ("w-big", srv("w-big", "eu", "1000001"), "weight"),
    ("w-neg", srv("w-neg", "eu", "-1"), "weight"),
    ("w-abc", srv("w-abc", "eu", "abc"), "weight"),
    ("paused", srv("paused", "eu", state="paused"), "state"),
    ("colour", srv("colour", "eu", colour="blue"), "field"),
    ("nourl", {"region": "eu", "weight": "100"}, "missing"),
]
BAD_LOAD = "badload"
REASONS = ["id", "url", "region", "weight", "state", "load", "missing",
           "field"]


def bad_ids():
    return [b[0] for b in BAD] + [BAD_LOAD]


def rejected(t):
    r = resp()
    P = "e:"
    good = {"eu-1": srv("eu-1", "eu", 100), "us-1": srv("us-1", "us"),
            "ap-1": srv("ap-1", "ap", 1000000),
            BAD_LOAD: srv(BAD_LOAD, "eu", 100)}
    servers = dict(good)
    for sid, fields, _ in BAD:
        servers[sid] = fields
    loads = {sid: 0 for sid in servers}
    loads[BAD_LOAD] = "1.5"
    c = start("redis-e", P, servers, loads, refresh=0.25, full_resync=60)
    port, aport = c["port"], c["aport"]
    time.sleep(0.6)                 # a few refreshes (MGET) more
    m = g.scrape(aport)
    want = collections.Counter(reason for _, _, reason in BAD)
    want["load"] += 1
    for reason in REASONS:
        got = m.get("geo307_fleet_rejected_records_total", reason=reason)
        t.eq(got, float(want[reason]),
             "geo307_fleet_rejected_records_total{reason=%s} = %d"
             % (reason, want[reason]))
    cnt, bad = route(port, GB, 100)
    cu, _ = route(port, US, 10)
    cc, _ = route(port, CN, 10)
    t.ok(only(cnt, 307, ("eu-1",), "geo") and only(cu, 307, ("us-1",), "geo")
         and only(cc, 307, ("ap-1",), "geo") and not bad,
         "the good records in the same fleet still route (eu-1, us-1, ap-1 "
         "at weight 1000000); no bad one is ever chosen",
         "%r %r %r %s" % (cnt, cu, cc, bad[:3]))
    j = g.fleet_json(aport)
    ids = sorted(s.get("id") for s in (j or {}).get("servers", []))
    t.ok(j and j.get("source") == "redis" and j.get("version") == c["v"] and
         set(ids) - {BAD_LOAD} == {"eu-1", "us-1", "ap-1"} and
         (BAD_LOAD not in ids or
          g.fleet_server(j, BAD_LOAD).get("fresh") is False),
         "/fleet: source redis, version %d, only the good records (the one "
         "with a bad load, if listed, is not fresh)" % c["v"], repr(j))

    def bad_lines():
        err = c["d"].stderr().splitlines()
        return [ln for ln in err if any(
            re.search(r"(?<![A-Za-z0-9._-])%s(?![A-Za-z0-9._-])"
                      % re.escape(i), ln) for i in bad_ids())]
    first = bad_lines()
    missing = [i for i in bad_ids() if not any(
        re.search(r"(?<![A-Za-z0-9._-])%s(?![A-Za-z0-9._-])" % re.escape(i),
                  ln) for ln in first)]
    t.ok(not missing, "each bad record is logged, naming its id",
         "not in stderr: %r\n%s" % (missing, c["d"].stderr()[-3000:]))
    # two more full reads (operator changes that touch nothing bad) and a
    # dozen load reads: the same bad records are not logged again
    m0 = g.scrape(aport)
    for w in (200, 100):
        v = g.redis_op(r, P, [["HSET", P + "server:eu-1", "weight", str(w)]])
        g.wait_fleet(aport, lambda j: j.get("version") == v, 3)
    time.sleep(1.0)
    again = bad_lines()
    m1 = g.scrape(aport)
    t.ok(len(again) == len(first),
         "the same bad records across 2 full reads and ~4 load reads: no "
         "new log line (%d then %d)" % (len(first), len(again)),
         "\n".join(again[len(first):][:20]))
    grew = {reason: metric_delta(m0, m1, "geo307_fleet_rejected_records_total",
                                 reason=reason) for reason in REASONS}
    t.ok(not any(grew.values()),
         "... and geo307_fleet_rejected_records_total does not grow for "
         "records already counted", repr(grew))
    # geo307 --check with Redis reachable lists the live records it rejects
    rc, out, err = g.run_geo307(["--check", "-c", c["d"].conf_path])
    text = out + err
    missing = [i for i in bad_ids() if i not in text]
    t.ok(not missing, "geo307 --check with Redis reachable lists every "
         "rejected live record", "rc %r, missing %r\n%s" % (rc, missing,
                                                           text[-3000:]))


def wrong_type(t):
    """A key of the wrong type is one bad record, not a dead Redis."""
    a = daemon_a()
    r = resp()
    a_reset()
    ups = []
    v = g.redis_op(r, "a:", [["SET", "a:server:junk", "not a hash"],
                             ["SADD", "a:servers", "junk"],
                             ["HSET", "a:server:eu-1", "weight", "50"]])
    t0 = time.monotonic()
    j = None
    while time.monotonic() - t0 < 1.5 * g.SLACK:
        ups.append(g.scrape(a["aport"]).get("geo307_redis_up"))
        j = g.fleet_json(a["aport"])
        if j and j.get("version") == v:
            break
        time.sleep(0.05)
    s = g.fleet_server(j, "eu-1") or {}
    t.ok(j and j.get("version") == v and s.get("weight") == 50 and
         not g.fleet_server(j, "junk"),
         "an operator change that also adds a server key of the wrong type "
         "(SET a:server:junk, SADD a:servers junk): the rest of it applies "
         "within 1 s (eu-1 weight 50), junk is skipped",
         "version %r (want %d), eu-1 %r" % (j and j.get("version"), v, s))
    ups.append(g.scrape(a["aport"]).get("geo307_redis_up"))
    t.ok(all(u == 1 for u in ups),
         "... and geo307_redis_up stays 1 (Redis answered fine)", repr(ups))
    r.cmd("DEL", "a:server:junk")
    r.cmd("SREM", "a:servers", "junk")


def odd_keys(t):
    """Keys around the records that hold nonsense, and an emptied Redis."""
    a = daemon_a()
    r = resp()
    a_reset()
    # P maintenance present with a bad value: still maintenance (SPEC 3:
    # present = 503), Retry-After from [redirect] retry_after (30).
    g.redis_op(r, "a:", [["SET", "a:maintenance", "soon"]])
    time.sleep(0.3 * g.SLACK)
    st, hd, _ = g.Client(a["port"]).request("GET", "/u", g.xff(GB))
    ra = int(g.hget(hd, "Retry-After") or -1)
    t.ok(st == 503 and 15 <= ra <= 45,
         "P maintenance = 'soon' (not seconds): still 503, Retry-After from "
         "[redirect] retry_after", "status %r Retry-After %r" % (st, ra))
    g.redis_op(r, "a:", [["DEL", "a:maintenance"]])
    # P version not a number: the fleet still updates (at full_resync).
    r.cmd("SET", "a:version", "abc")
    r.cmd("HSET", "a:server:eu-1", "weight", "77")
    j, dt = g.wait_fleet(a["aport"], lambda j: (g.fleet_server(j, "eu-1") or
                         {}).get("weight") == 77, timeout=6)
    t.ok(dt is not None and g.scrape(a["aport"]).get("geo307_redis_up") == 1,
         "P version = 'abc': changes still arrive (full_resync), Redis "
         "counted up", "took %r" % dt)
    r.cmd("SET", "a:version", "1000")
    # FLUSHALL (a Redis restarted without persistence): keep the snapshot.
    before = g.fleet_json(a["aport"]) or {}
    r.cmd("FLUSHALL")
    time.sleep(2.5 * g.SLACK)
    after = g.fleet_json(a["aport"]) or {}
    cnt, _ = route(a["port"], GB, 10)
    t.ok(len(after.get("servers", [])) == len(before.get("servers", [])) > 0
         and all(st == 307 for (st, _, _) in cnt),
         "after FLUSHALL (no version, no servers) the last snapshot keeps "
         "serving", "before %d servers, after %d; %r" % (
             len(before.get("servers", [])), len(after.get("servers", [])),
             dict(cnt)))
    a_reset()


# ------------------------------- G: unix socket, db, AUTH, an ACL user

def connect_forms(t):
    if not g.have_redis():
        raise g.Skip("redis-server not installed")
    d = g.mkdtemp(T, "geo307-redis-auth-")
    sock = os.path.join(d, "redis.sock")
    rs = g.RedisServer(T, d, "redis-auth").start(
        args=["--unixsocket", sock, "--unixsocketperm", "700"])
    r = rs.conn()
    r.cmd("ACL", "SETUSER", "router", "on", ">rpass", "~*", "&*",
          "+@all")
    r.cmd("CONFIG", "SET", "requirepass", "s3cret")
    r.cmd("AUTH", "s3cret")
    r.cmd("SELECT", "3")
    P = "g:"
    g.redis_report(r, P, {"eu-1": 0, "us-1": 0})
    v = g.redis_write_fleet(r, P, {"eu-1": srv("eu-1", "eu"),
                                   "us-1": srv("us-1", "us")})
    r.close()
    for u, desc in (("unix:%s?db=3&password=s3cret" % sock,
                     "unix:/path?db=3&password=..."),
                    ("redis://router:rpass@127.0.0.1:%d/3" % rs.port,
                     "redis://user:password@host:port/3 (an ACL user)")):
        port, aport = g.free_port(), g.free_port()
        c = g.redis_config(port, aport, rs.port, tmp(), prefix=P,
                           refresh=0.25)
        c.set("redis", "url", u)
        dm = g.Daemon(T, tmp(), c, "redis-g%d" % port).start()
        j, dt = g.wait_fleet(aport, lambda j: j.get("version") == v, 3)
        st, hd, _ = g.http_get(port, "/x", g.xff(GB))
        t.ok(dt is not None and st == 307 and
             g.hget(hd, "X-Upload-Server") == "eu-1",
             "url %s: the fleet in db 3 is read" % desc,
             "%r\n%s" % (j, dm.stderr()[-1000:]))
        dm.stop()
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), prefix=P, refresh=0.25)
    c.set("redis", "url", "redis://:wrong@127.0.0.1:%d/3" % rs.port)
    dm = g.Daemon(T, tmp(), c, "redis-gbad").start()
    time.sleep(0.5)
    st, hd, _ = g.http_get(port, "/x", g.xff(GB))
    hst, _, hbody = g.http_get(aport, "/healthz")
    up = g.scrape(aport).get("geo307_redis_up")
    err = dm.stderr()
    t.ok(st == 503 and hst == 503 and hbody.strip() and up == 0 and
         dm.alive() and "wrong" not in err,
         "a wrong password, no cache: 503, /healthz 503 %r, "
         "geo307_redis_up 0, the password not logged" % hbody.strip()[:40],
         "%r %r %r up %r\n%s" % (st, hst, hbody, up, err[-1000:]))


# ------------------------------------- F: slow start, SIGHUP with Redis

def slow_start_reload(t):
    r = resp()
    P = "f:"
    servers = {"eu-1": srv("eu-1", "eu"), "us-1": srv("us-1", "us"),
               "ap-1": srv("ap-1", "ap")}
    loads = {"eu-1": 0, "eu-2": 0, "us-1": 0, "ap-1": 0}
    port, aport = g.free_port(), g.free_port()
    f = start("redis-f", P, servers, loads, refresh=0.25, full_resync=10)
    d = f["d"]
    c = d.config.copy()
    c.set("selection", "slow_start", 3)
    d.config = c
    d.write()
    d.sighup()
    g.wait_metric(f["aport"], lambda m: m.get(
        "geo307_reload_total", what="config", result="ok") >= 1, 3)
    # a new server joins: it ramps from 0 over slow_start = 3 s
    g.redis_op(r, P, [["HSET", P + "server:eu-2", "url", url("eu-2"),
                       "region", "eu"], ["SADD", P + "servers", "eu-2"]])
    t0 = time.monotonic()
    early = collections.Counter()
    cl = g.Client(f["port"])
    try:
        while time.monotonic() - t0 < 0.3:
            _, hd, _ = cl.request("GET", "/x", g.xff(GB))
            early[g.hget(hd, "X-Upload-Server")] += 1
    finally:
        cl.close()
    n_early = sum(early.values())
    t.ok(n_early >= 20 and early["eu-2"] <= 0.15 * n_early and
         early["eu-1"] > 0,
         "slow_start = 3: a server added through Redis gets %d of the %d "
         "requests in its first 0.3 s (ramp <= 10%% of its weight)"
         % (early["eu-2"], n_early), repr(early))
    time.sleep(max(0, t0 + 3.3 - time.monotonic()))
    n = 400
    cnt, _ = route(f["port"], GB, n)
    k = servers_of(cnt)["eu-2"]
    t.ok(only(cnt, 307, ("eu-1", "eu-2"), "geo") and within(k, n, 0.5),
         "... and after 3 s its full share (eu-2 %d of %d, expected %d)"
         % (k, n, n / 2), repr(cnt))
    # eu-2's report goes stale (its load key expired) and comes back:
    # being fresh is part of being routable (SPEC 2.3), so it ramps again
    g.redis_report(r, P, {"eu-2": None})
    wait_loads(f["aport"], {"eu-2": None})
    g.redis_report(r, P, {"eu-2": 0})
    wait_loads(f["aport"], {"eu-2": 0})
    st, _, body = g.http_get(f["aport"], "/route?ip=" + GB)
    w = {c["id"]: c["effective_weight"]
         for c in json.loads(body).get("candidates", [])} \
        if st == 200 else {}
    t.ok(0 < w.get("eu-2", -1) < 50 and w.get("eu-1") == 100.0,
         "slow_start = 3: eu-2's load key deleted, then reported again: "
         "it ramps again (/route effective_weight %r < 50), eu-1 keeps 100"
         % w.get("eu-2"), "%r %r" % (st, body))
    # SIGHUP: the same Redis records validated against the new config
    m0 = g.scrape(f["aport"])
    c = d.config.copy()
    c.set("redirect", "allowed_hosts", "us-1.up.example.net, "
          "ap-1.up.example.net")
    d.config = c
    d.write()
    d.sighup()
    j, dt = g.wait_fleet(f["aport"], lambda j: g.fleet_server(j, "eu-1")
                         is None, 3)
    cnt, _ = route(f["port"], GB, 20)
    m1 = g.scrape(f["aport"])
    rej = metric_delta(m0, m1, "geo307_fleet_rejected_records_total",
                       reason="url")
    t.ok(dt is not None and only(cnt, 307, ("us-1",), "fallback") and
         rej == 2,
         "SIGHUP with allowed_hosts no longer matching eu: eu-1 and eu-2 "
         "are rejected (url +%g), GB -> us-1 fallback" % rej,
         "%r %r" % (j, cnt))
    v = g.redis_op(r, P, [["HSET", P + "server:us-1", "weight", "7"]])
    j, dt = g.wait_fleet(f["aport"], lambda j: j.get("version") == v and
                         (g.fleet_server(j, "us-1") or {}).get("weight")
                         == 7, 2)
    t.ok(dt is not None, "after the reload, Redis changes still apply "
         "(us-1 weight 7, version %d)" % v, repr(j))
    # [redis] refresh is read at start: a change is said to need a restart
    # (the allowed_hosts reload above said nothing of [redis])
    said = "[redis] refresh changed: needs restart"
    before = d.stderr().count(said)
    c = d.config.copy()
    c.set("redis", "refresh", "2")
    d.config = c
    d.write()
    ok0 = g.scrape(f["aport"]).get("geo307_reload_total", what="config",
                                   result="ok")
    d.sighup()
    g.wait_until(lambda: g.scrape(f["aport"]).get(
        "geo307_reload_total", what="config", result="ok") > ok0, 3)
    t.ok(before == 0 and d.stderr().count(said) == 1,
         "SIGHUP with [redis] refresh changed: 'needs restart' logged once "
         "(and not for the allowed_hosts reload before)",
         d.stderr()[-500:])


def main():
    T.run([
        (3, check_config),
        (5, basic),
        (3, publish_fast),
        (4, no_bump),
        (3, states),
        (2, region_drain),
        (2, maintenance),
        (3, loads),
        (4, spill),
        (2, wrong_type),
        (3, odd_keys),
        (6, slow_start_reload),
        (3, connect_forms),
        (9, stale),
        (len(REASONS) + 6, rejected),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
