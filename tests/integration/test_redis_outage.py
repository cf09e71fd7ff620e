#!/usr/bin/env python3
"""Redis going away (SPEC 3): a steady stream of requests while Redis is
stopped (SIGSTOP), killed (SIGKILL) and restarted; every answer stays a
correct 307 and fast, geo307_redis_up follows.  The cache file: mode 0600,
a restart with Redis down routes from it, it is validated like Redis data,
and a cache older than cache_max_age or corrupt is refused (503 with a
reason).  A snapshot kept past stale_after goes stale and routing fails
open by weight.

Needs redis-server (skipped without it)."""

import collections
import json
import math
import os
import stat
import sys
import threading
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
GB = "81.2.69.142"          # eu
US = "216.160.83.56"        # us
P = "o:"
RATE = 20                   # requests per second in the stream
MAX_LATENCY = 1.0


F = g.Fixture(T)
tmp = F.tmp
redis = F.redis


def url(sid):
    return "https://%s.up.example.net" % sid


def srv(sid, region, weight=100, state=None):
    f = {"url": url(sid), "region": region, "weight": weight}
    if state:
        f["state"] = state
    return f


def within(k, n, p, z=4.5):
    return abs(k - n * p) <= z * math.sqrt(n * p * (1 - p)) + 1


def metric(aport, name, **lb):
    try:
        return g.scrape(aport, timeout=2).get(name, **lb)
    except Exception:
        return None


def wait_metric(aport, name, value, timeout):
    """Seconds until the metric equals value, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout * g.SLACK:
        if metric(aport, name) == value:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


class Stream(threading.Thread):
    """RATE requests a second, alternating GB and US, each on a new
    connection; records (time, ip, status, server, reason, latency, err)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.out = []
        self.stopping = False

    def run(self):
        i = 0
        t_next = time.monotonic()
        while not self.stopping:
            ip = GB if i % 2 == 0 else US
            t0 = time.monotonic()
            try:
                st, hd, _ = g.http_get(self.port, "/s%d?x=1" % i, g.xff(ip),
                                       timeout=5)
                rec = (t0, ip, st, g.hget(hd, "X-Upload-Server"),
                       g.hget(hd, "X-Redirect-Reason"),
                       g.hget(hd, "Location"), time.monotonic() - t0, None)
            except Exception as e:
                rec = (t0, ip, None, None, None, None,
                       time.monotonic() - t0, repr(e))
            self.out.append(rec + ("/s%d?x=1" % i,))
            i += 1
            t_next += 1.0 / RATE
            time.sleep(max(0, t_next - time.monotonic()))

    def stop(self):
        self.stopping = True
        self.join(10)


def wrong(rec):
    """'' when the answer is a correct 307 for that client."""
    t0, ip, st, sid, reason, loc, lat, err, target = rec
    if err:
        return err
    if st != 307:
        return "status %r" % st
    if ip == GB and not (sid or "").startswith("eu-"):
        return "GB answered by %r" % sid
    if ip == US and sid != "us-1":
        return "US answered by %r" % sid
    if reason != "geo":
        return "reason %r" % reason
    if loc != url(sid) + target:
        return "Location %r" % loc
    return ""


def config(port, aport, rport, **kv):
    c = g.redis_config(port, aport, rport, tmp(), prefix=P, **kv)
    c.set("redis", "cache_file", os.path.join(tmp(), "fleet.cache"))
    return c


FLEET = {"eu-1": srv("eu-1", "eu"), "eu-2": srv("eu-2", "eu"),
         "us-1": srv("us-1", "us"), "ap-1": srv("ap-1", "ap")}


def outage(t):
    rs = redis()
    r = rs.conn()
    g.redis_report(r, P, {sid: 0 for sid in FLEET})
    v = g.redis_write_fleet(r, P, FLEET)
    r.close()
    port, aport = g.free_port(), g.free_port()
    d = g.Daemon(T, tmp(), config(port, aport, rs.port, refresh=0.25,
                                  full_resync=5, stale_after=60),
                 "outage").start()
    S["outage"] = d
    j, dt = g.wait_fleet(aport, lambda j: j.get("source") == "redis" and
                         j.get("version") == v, 5)
    if dt is None:
        raise RuntimeError("no Redis fleet: %r\n%s" % (j, d.stderr()))
    st = Stream(port)
    st.start()
    phases = []
    try:
        time.sleep(1)
        # --- SIGSTOP for 3 s
        phases.append(("SIGSTOP", len(st.out)))
        rs.pause()
        t0 = time.monotonic()
        ups = []
        while time.monotonic() - t0 < 3:
            ups.append(metric(aport, "geo307_redis_up"))
            time.sleep(0.1)
        rs.resume()
        phases.append(("SIGCONT", len(st.out)))
        t.ok(0 in ups, "Redis stopped (SIGSTOP) for 3 s: geo307_redis_up "
             "goes 0 (every command has a 1 s timeout)", repr(ups))
        back = wait_metric(aport, "geo307_redis_up", 1, 8)
        t.ok(back is not None, "SIGCONT: geo307_redis_up back to 1 (after "
             "%s s)" % ("%.1f" % back if back is not None else "never"))
        time.sleep(0.5)
        # --- SIGKILL (after a SAVE, so a restart finds the fleet)
        r = rs.conn()
        r.cmd("SAVE")
        r.close()
        phases.append(("SIGKILL", len(st.out)))
        rs.kill()
        down = wait_metric(aport, "geo307_redis_up", 0, 4)
        t.ok(down is not None, "Redis killed: geo307_redis_up 0 (after %s s)"
             % ("%.1f" % down if down is not None else "never"))
        time.sleep(1)
        # --- a new redis-server on the same port, from the saved RDB
        phases.append(("restart", len(st.out)))
        rs.start(rs.port)
        back = wait_metric(aport, "geo307_redis_up", 1, 10)
        t.ok(back is not None, "a new redis-server on the same port: "
             "geo307_redis_up 1 again (after %s s)"
             % ("%.1f" % back if back is not None else "never"))
        # --- an operator change on the new Redis: eu-3 replaces eu-1/2
        r = rs.conn()
        g.redis_report(r, P, {"eu-3": 0})
        fleet = dict(FLEET)
        fleet["eu-1"] = srv("eu-1", "eu", state="down")
        fleet["eu-2"] = srv("eu-2", "eu", state="down")
        fleet["eu-3"] = srv("eu-3", "eu")
        t0 = time.monotonic()
        S["v"] = v = g.redis_write_fleet(r, P, fleet)
        r.cmd("SAVE")
        r.close()
        phases.append(("change", len(st.out)))
        seen = None
        while time.monotonic() - t0 < 3 * g.SLACK:
            if any(rec[3] == "eu-3" for rec in st.out[-3:]):
                seen = time.monotonic() - t0
                break
            time.sleep(0.02)
        time.sleep(1)
        after = [rec[3] for rec in st.out[phases[-1][1]:]
                 if rec[1] == GB and rec[0] > t0 + (seen or 0) + 0.1]
        t.ok(seen is not None and after and set(after) == {"eu-3"},
             "after the restart, a new fleet written to Redis (eu-3 up, "
             "eu-1/eu-2 down) is picked up (%s s) and then only eu-3 serves "
             "GB" % ("%.2f" % seen if seen is not None else "never"),
             repr(collections.Counter(after)))
    finally:
        st.stop()
    recs = st.out
    bad = [(i, wrong(rec)) for i, rec in enumerate(recs) if wrong(rec)]
    t.ok(len(recs) >= RATE * 5 and not bad,
         "%d requests through SIGSTOP, SIGKILL and a restart of Redis: "
         "every one a correct 307 (GB -> eu-N, US -> us-1, geo)" % len(recs),
         "phases %r\n%s" % (phases, "\n".join("#%d %s" % b
                                              for b in bad[:15])))
    lat = sorted(rec[6] for rec in recs)
    worst = lat[-1] if lat else None
    t.ok(lat and worst < MAX_LATENCY * g.SLACK,
         "... and none took longer than %.0f s (max %.0f ms, median %.1f ms)"
         % (MAX_LATENCY, (worst or 0) * 1000,
            lat[len(lat) // 2] * 1000 if lat else 0),
         repr([(i, "%.3f" % rec[6]) for i, rec in enumerate(recs)
               if rec[6] > 0.2][:20]))
    j = g.fleet_json(aport)
    t.ok(j and j.get("source") == "redis" and j.get("version") == v,
         "/fleet: source redis, version %d" % v, repr(j))


def cache(t):
    rs = redis()
    path = os.path.join(tmp(), "fleet.cache")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        with open(path) as f:
            S["cache_text"] = f.read()
    except OSError as e:
        mode = repr(e)
    t.ok(mode == 0o600 and S.get("cache_text"),
         "cache_file written with mode 0600", "mode %r" % (mode,))
    d = S["outage"]
    d.stop()
    rs.kill()
    # geo307 restarted while Redis is down: routes from the cache
    port, aport = g.free_port(), g.free_port()
    g.Daemon(T, tmp(), config(port, aport, rs.port, refresh=0.25,
                              full_resync=5, stale_after=60),
             "from-cache").start()
    j, dt = g.wait_fleet(aport, lambda j: j.get("source") == "cache", 3)
    st, hd, _ = g.http_get(port, "/c?x=1", g.xff(GB))
    hst, _, hbody = g.http_get(aport, "/healthz")
    t.ok(dt is not None and j.get("version") == S.get("v") and st == 307 and
         g.hget(hd, "X-Upload-Server") == "eu-3" and hst == 200,
         "geo307 started with Redis down: /fleet source cache, version %r, "
         "GB -> eu-3, /healthz 200" % S.get("v"),
         "%r\n%r %r %r" % (j, st, hd, hbody))
    up = metric(aport, "geo307_redis_up")
    t.eq(up, 0.0, "... and geo307_redis_up 0")
    rs.start(rs.port)
    j, dt = g.wait_fleet(aport, lambda j: j.get("source") == "redis", 8)
    t.ok(dt is not None and j.get("version") == S.get("v"),
         "Redis back: /fleet source redis (Redis before the cache)", repr(j))


def cache_refused(t):
    rs = redis()
    path = os.path.join(tmp(), "fleet.cache")
    rs.kill()
    text = S.get("cache_text")
    if not text:
        raise RuntimeError("no cache text from the previous section")
    # validated like Redis data: the same cache, eu hosts no longer allowed
    g.write_file_atomic(path, text.encode())
    os.chmod(path, 0o600)
    port, aport = g.free_port(), g.free_port()
    c = config(port, aport, rs.port, stale_after=60)
    c.set("redirect", "allowed_hosts", "us-1.up.example.net, "
          "ap-1.up.example.net")
    d = g.Daemon(T, tmp(), c, "cache-hosts").start()
    j, dt = g.wait_fleet(aport, lambda j: j.get("source") == "cache", 3)
    st, hd, _ = g.http_get(port, "/c?x=1", g.xff(GB))
    ids = sorted(s.get("id") for s in (j or {}).get("servers", []))
    t.ok(dt is not None and ids == ["ap-1", "us-1"] and st == 307 and
         g.hget(hd, "X-Upload-Server") == "us-1" and
         g.hget(hd, "X-Redirect-Reason") == "fallback",
         "a cache whose eu urls the config no longer allows: those records "
         "are skipped (validated like Redis data), GB -> us-1 fallback",
         "%r\n%r %r" % (j, st, hd))
    d.stop()
    # a corrupt cache
    g.write_file_atomic(path, b'{"format": 1, "version": "x", "servers": [')
    port, aport = g.free_port(), g.free_port()
    d = g.Daemon(T, tmp(), config(port, aport, rs.port),
                 "cache-corrupt").start()
    st, hd, _ = g.http_get(port, "/c?x=1", g.xff(GB))
    hst, _, hbody = g.http_get(aport, "/healthz")
    t.ok(st == 503 and g.hget(hd, "Retry-After") and hst == 503 and
         hbody.strip() and hbody.strip() != b"ok" and d.alive(),
         "a corrupt cache and Redis down: requests 503 with Retry-After, "
         "/healthz 503 %r" % hbody.strip()[:60], "%r %r / %r %r"
         % (st, hd, hst, hbody))
    d.stop()
    # an old cache: cache_max_age = 1, the cache taken over 2 s ago
    g.write_file_atomic(path, text.encode())
    taken = json.loads(text).get("taken", 0) if text.startswith("{") else 0
    time.sleep(max(0, taken + 2.5 - time.time()))
    port, aport = g.free_port(), g.free_port()
    d = g.Daemon(T, tmp(), config(port, aport, rs.port, cache_max_age=1),
                 "cache-old").start()
    time.sleep(0.3)
    st, hd, _ = g.http_get(port, "/c?x=1", g.xff(GB))
    hst, _, hbody = g.http_get(aport, "/healthz")
    j = g.fleet_json(aport)
    t.ok(st == 503 and g.hget(hd, "Retry-After") and
         (j is None or j.get("source") != "cache"),
         "a cache older than cache_max_age = 1 and Redis down: not used, "
         "requests 503 with Retry-After", "%r %r /fleet %r" % (st, hd, j))
    t.ok(hst == 503 and hbody.strip() and hbody.strip() != b"ok",
         "... /healthz 503 with a reason (%r)" % hbody.strip()[:60],
         "%r %r" % (hst, hbody))
    log = d.stderr()
    t.ok("cache" in log and ("old" in log or "max_age" in log),
         "... and the log says why the cache was not used", log[-1500:])
    d.stop()


def stale(t):
    rs = redis()
    if not rs.alive():
        rs.start(rs.port)
    r = rs.conn()
    Q = "q:"
    fleet = {"eu-1": srv("eu-1", "eu", 300), "eu-2": srv("eu-2", "eu", 100),
             "us-1": srv("us-1", "us"), "ap-1": srv("ap-1", "ap")}
    g.redis_report(r, Q, {"eu-1": "0.5", "eu-2": 0, "us-1": 0, "ap-1": 0})
    v = g.redis_write_fleet(r, Q, fleet)
    r.close()
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), prefix=Q, refresh=0.25,
                       stale_after=2)
    c.set("selection", "slow_start", 3)
    g.Daemon(T, tmp(), c, "stale").start()
    j, dt = g.wait_fleet(aport, lambda j: j.get("version") == v and all(
        s.get("fresh") for s in j.get("servers", [])), 5)
    if dt is None:
        raise RuntimeError("no fresh Redis fleet: %r" % (j,))
    r = rs.conn()
    r.cmd("SAVE")                   # the restart below finds the fleet
    r.close()
    rs.kill()
    t0 = time.monotonic()
    j, dt = g.wait_fleet(aport, lambda j: not any(
        s.get("fresh") for s in j.get("servers", [])), 6)
    el = time.monotonic() - t0
    t.ok(dt is not None and el >= 1.0 and j.get("source") == "redis",
         "Redis killed, stale_after = 2: the kept snapshot's reports go "
         "stale after %.1f s (/fleet fresh false for all)" % el, repr(j))
    m0 = g.scrape(aport)
    n = 400
    cnt = collections.Counter()
    cl = g.Client(port)
    try:
        for i in range(n):
            st, hd, _ = cl.request("GET", "/f", g.xff(GB))
            cnt[(st, g.hget(hd, "X-Upload-Server"))] += 1
    finally:
        cl.close()
    m1 = g.scrape(aport)
    k = cnt[(307, "eu-1")]
    fo = m1.get("geo307_failopen_total") - m0.get("geo307_failopen_total")
    t.ok(cnt[(307, "eu-1")] + cnt[(307, "eu-2")] == n and
         within(k, n, 0.75),
         "every report stale: fail-open by weight alone, 300:100 (eu-1 %d "
         "of %d, expected %d; with loads it would be 60%%)" % (k, n, 0.75 * n),
         repr(cnt))
    t.ok(fo > 0, "geo307_failopen_total grows (+%g)" % fo)
    # Redis back with the same load keys: the outage was this router
    # being blind, not the servers leaving, so no server ramps again
    rs.start(rs.port)
    j, dt = g.wait_fleet(aport, lambda j: all(
        s.get("fresh") for s in j.get("servers", [])), 10)
    st, _, body = g.http_get(aport, "/route?ip=" + GB)
    w = {c["id"]: c["effective_weight"]
         for c in json.loads(body).get("candidates", [])} \
        if st == 200 else {}
    t.ok(dt is not None and w == {"eu-1": 150.0, "eu-2": 100.0},
         "slow_start = 3: when Redis is back every report is fresh again "
         "and no server ramps (eu-1 300 x 0.5, eu-2 100)",
         "%r\n%r %r" % (j, st, body))


def main():
    T.run([
        (8, outage),
        (4, cache),
        (5, cache_refused),
        (4, stale),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
