#!/usr/bin/env python3
"""Redis failing in every way, on every command the routers and geo307ctl
send (faultredis.py, a proxy in front of a real redis-server): an error
reply, a wrong type, half a reply then silence, a stall, a dropped
connection, garbage, *2147483647 and $2147483648.  For each command and
each fault: the router issued the command and got the fault, still
answers with real 307s to the right server while and after it happens,
and a change made once the fault is gone reaches serving; geo307ctl exits
3 with one clear line.  The routers run with small refresh and
full_resync; the groups of cases run side by side (most of the time is
spent waiting out the 1 s command timeout), so the script takes ~30 s.
The last point: every router exited 0, no sanitizer report."""

import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402
from faultredis import FAULTS, FaultRedis  # noqa: E402

T = g.TAP()
S = {}
GB = "81.2.69.142"          # eu (country GB)
CTL = os.environ.get("GEO307CTL_BIN") or \
    os.path.join(os.path.dirname(g.BIN), "geo307ctl")


def url(sid):
    return "https://%s.up.example.net" % sid


FLEET = {"eu-1": {"url": url("eu-1"), "region": "eu"},
         "us-1": {"url": url("us-1"), "region": "us", "weight": 100},
         "ap-1": {"url": url("ap-1"), "region": "ap"}}


# The real redis-server behind every proxy, in the script's temp dir.
F = g.Fixture(T, redis_name="faults-redis")
tmp = F.tmp
real = F.redis


def key(p, name):
    return lambda cmd, batch: len(cmd) > 1 and cmd[1] == p + name


# The commands of each path, told apart by their keys and by the batch
# they came in (the poll pipelines GET P version with its MGET; the full
# read sends GET P version alone, its MGET after the HGETALLs).
def poll_get(p):
    return lambda c, b: c[:2] == ["GET", p + "version"] and "MGET" in b


def poll_mget(p):
    return lambda c, b: c[0] == "MGET" and "GET" in b and "HGETALL" not in b


def full_get(p):
    return lambda c, b: c[:2] == ["GET", p + "version"] and b == ["GET"]


def full_mget(p):
    return lambda c, b: c[0] == "MGET" and "HGETALL" in b


def named(name):
    return lambda c, b: c[0] == name


PATHS = {
    "poll": [("poll GET version", poll_get), ("poll MGET", poll_mget)],
    "full1": [("full GET version", full_get),
              ("SMEMBERS servers", lambda p: key(p, "servers")),
              ("HGETALL server:ap-1", lambda p: key(p, "server:ap-1"))],
    "full2": [("HGETALL regions", lambda p: key(p, "regions")),
              ("GET maintenance", lambda p: key(p, "maintenance")),
              ("full MGET", full_mget)],
    "sub": [("SUBSCRIBE", lambda p: named("SUBSCRIBE")),
            ("pub/sub message", lambda p: named("MESSAGE"))],
    "sentinel": [("ROLE", lambda p: named("ROLE")),
                 ("SENTINEL get-master-addr-by-name",
                  lambda p: named("SENTINEL"))],
}
OPTS = {"poll": dict(refresh=0.1, full_resync=600),
        "full1": dict(refresh=0.1, full_resync=0.2),
        "full2": dict(refresh=0.1, full_resync=0.2),
        "sub": dict(refresh=0.1, full_resync=600),
        "sentinel": dict(refresh=0.1, full_resync=0.2)}


def router(group):
    rs = real()
    p = group + ":"
    r = rs.conn()
    v = g.redis_write_fleet(r, p, FLEET)
    r.close()
    proxy = FaultRedis(T, rs.port, g.free_port())
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, proxy.port, tmp(), prefix=p,
                       **OPTS[group])
    if group == "sentinel":
        proxy.sentinel_master = ("127.0.0.1", proxy.port)
        c.set("redis", "sentinels", "127.0.0.1:%d" % proxy.port)
        c.set("redis", "master", "m")
    d = g.Daemon(T, tmp(), c, "router-" + group).start()
    _, dt = g.wait_fleet(aport, lambda j: j.get("version") == v, 10)
    if dt is None:
        raise RuntimeError("%s never served version %d:\n%s"
                           % (group, v, d.stderr()[-2000:]))
    return {"p": p, "proxy": proxy, "d": d, "port": port, "aport": aport}


def serves_eu(rt):
    """A GB request now: a 307 to eu-1 at once (never waits on Redis)."""
    t0 = time.monotonic()
    try:
        st, hd, _ = g.http_request(rt["port"], "GET", "/u?x=1",
                                   g.xff(GB), timeout=2)
    except OSError as e:
        return False, "request failed: %r" % (e,)
    dt = time.monotonic() - t0
    loc = g.hget(hd, "Location")
    # 1 s: far below any Redis timeout, above a busy 2-core machine's jitter
    ok = st == 307 and loc == url("eu-1") + "/u?x=1" and dt < 1.0 * g.SLACK
    return ok, "status %r Location %r in %.3fs" % (st, loc, dt)


def change(rt, n, publish=True, bump=True):
    """us-1's weight := n; True once /fleet serves it."""
    r = real().conn()
    try:
        g.redis_op(r, rt["p"], [["HSET", rt["p"] + "server:us-1",
                                 "weight", str(n)]],
                   publish=publish, bump=bump)
    finally:
        r.close()
    _, dt = g.wait_fleet(rt["aport"], lambda j: (g.fleet_server(
        j, "us-1") or {}).get("weight") == n, timeout=6)
    return dt


def trigger(group, rt, n):
    """Make the router send the armed command soon."""
    if group == "sentinel" and rt["case"][0].startswith("SENTINEL"):
        # Sentinels are asked only when the url's server fails ROLE.
        # Twice: the refresh thread's recheck, then its reconnect.
        rt["proxy"].arm("error", named("ROLE"), count=2)
    if group == "sub":
        if rt["case"][0] == "SUBSCRIBE":
            rt["proxy"].close_pubsub()
        else:
            # Until one arrives: the subscriber may be between connections.
            r = real().conn()
            for _ in range(40):
                r.cmd("PUBLISH", rt["p"] + "changed", "x")
                if rt["proxy"].wait_hit(0.1):
                    break
            r.close()


def run_group(group, out):
    rt = router(group)
    n = 1000
    for label, mk in PATHS[group]:
        for fault in FAULTS:
            n += 1
            rt["case"] = (label, fault)
            rt["proxy"].arm(fault, mk(rt["p"]))
            trigger(group, rt, n)
            hit = rt["proxy"].wait_hit(4 * g.SLACK)
            ok1, why1 = serves_eu(rt)
            if not hit:
                rt["proxy"].disarm()
            dt = change(rt, n)
            ok2, why2 = serves_eu(rt)
            out.append((hit and ok1 and ok2 and dt is not None and
                        rt["d"].alive(),
                        "%s: %s -> router serves eu-1 during and after it, "
                        "a change after it serves" % (label, fault),
                        "hit %r; during: %s; after: %s; change took %r; "
                        "alive %r\n%s" % (hit, why1, why2, dt,
                                          rt["d"].alive(),
                                          rt["d"].stderr()[-1500:])))
    err = rt["d"].stderr()
    big = err.count("reply too large")
    out.append((big >= len(PATHS[group]) or group == "sub",
                "%s: the oversized replies were refused (logged 'reply too "
                "large')" % group, err[-1500:]))
    S.setdefault("routers", []).append(rt)


# ---------------------------------------------------------------- geo307ctl

CTL_CASES = [
    ("list", "SMEMBERS", lambda p: key(p, "servers")),
    ("list", "GET version", lambda p: lambda c, b: c[:2] == [
        "GET", p + "version"]),
    ("list", "HGETALL server", lambda p: key(p, "server:eu-1")),
    ("list", "GET load", lambda p: key(p, "load:eu-1")),
    ("list", "PTTL load", lambda p: named("PTTL")),
    ("weight", "PING", lambda p: named("PING")),
    ("weight", "WATCH", lambda p: named("WATCH")),
    ("weight", "GET version", lambda p: lambda c, b: c[:2] == [
        "GET", p + "version"]),
    ("weight", "EXISTS", lambda p: named("EXISTS")),
    ("weight", "MULTI", lambda p: named("MULTI")),
    ("weight", "HSET (queued)", lambda p: named("HSET")),
    ("weight", "INCR (queued)", lambda p: named("INCR")),
    ("weight", "PUBLISH (queued)", lambda p: named("PUBLISH")),
    ("weight", "EXEC", lambda p: named("EXEC")),
]


def ctl_run(proxy, p, args):
    t0 = time.monotonic()
    pr = subprocess.run([CTL, "--redis", "redis://127.0.0.1:%d/0"
                         % proxy.port, "--prefix", p] + args,
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=30 * g.SLACK)
    return (pr.returncode, pr.stderr.decode("utf-8", "replace"),
            time.monotonic() - t0)


def ctl_share(i, cases, out):
    rs = real()
    p = "ctl%d:" % i
    r = rs.conn()
    g.redis_write_fleet(r, p, FLEET)
    proxy = FaultRedis(T, rs.port, g.free_port())
    for k, (cmd, label, mk, fault) in cases:
        w = str(500 + k)
        args = ["list"] if cmd == "list" else ["weight", "eu-1", w]
        v0 = r.cmd("GET", p + "version")
        proxy.arm(fault, mk(p))
        rc, err, dt = ctl_run(proxy, p, args)
        hit = not proxy.armed()
        proxy.disarm()
        lines = [x for x in err.splitlines()
                 if not x.startswith("geo307ctl: note:")]
        kept = True
        if cmd == "weight" and label != "EXEC":
            kept = (r.cmd("HGET", p + "server:eu-1", "weight") != w and
                    r.cmd("GET", p + "version") == v0)
        out[k] = (hit and rc == 3 and len(lines) == 1 and
                  lines[0].startswith("geo307ctl: ") and
                  dt < 2 * 2.0 * g.SLACK + 1 and kept,
                  "geo307ctl %s, %s: %s -> exit 3, one line, no change "
                  "made" % (cmd, label, fault),
                  "hit %r rc %r in %.2fs, change not made %r, stderr %r"
                  % (hit, rc, dt, kept, err))
    rc, err, _ = ctl_run(proxy, p, ["weight", "eu-1", "77"])
    out[-1 - i] = (rc == 0 and r.cmd("HGET", p + "server:eu-1",
                                     "weight") == "77",
                   "geo307ctl through proxy %d: a write after the faults "
                   "succeeds" % i, "rc %r %r" % (rc, err))
    r.close()


NPAR = 6


def matrix(t):
    real()
    results = {}
    threads = []
    for group in PATHS:
        results[group] = []
        threads.append(threading.Thread(target=_guard, args=(
            run_group, (group, results[group]), results[group])))
    cases = [(cmd, label, mk, f) for cmd, label, mk in CTL_CASES
             for f in FAULTS]
    ctl_out = {}
    for i in range(NPAR):
        share = [(k, c) for k, c in enumerate(cases) if k % NPAR == i]
        threads.append(threading.Thread(target=_guard, args=(
            ctl_share, (i, share, ctl_out), None)))
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(240 * g.SLACK)
    t.diag("matrix ran in %.1fs" % (time.monotonic() - t0))
    for group in PATHS:
        want = len(PATHS[group]) * len(FAULTS) + 1
        got = results[group]
        for ok, desc, diag in got[:want]:
            t.ok(ok, desc, diag)
        for _ in range(want - len(got)):
            t.ok(False, "%s: case not completed" % group,
                 "\n".join(S.get("errors", [])))
    for k in range(len(cases)):
        ok, desc, diag = ctl_out.get(k, (False, "ctl case %d not completed"
                                         % k, "\n".join(S.get("errors",
                                                              []))))
        t.ok(ok, desc, diag)
    for i in range(NPAR):
        ok, desc, diag = ctl_out.get(-1 - i, (False, "ctl proxy %d not "
                                              "completed" % i, ""))
        t.ok(ok, desc, diag)


# ---------------------------------------------------------------- flood

FLOOD_N = 2000          # servers: each full read is FLOOD_N + 1 HGETALLs
FLOOD_MSGS = 300
FLOOD_REFRESH = 0.5


def hgetall_calls(r):
    info = r.cmd("INFO", "commandstats")
    for line in info.splitlines():
        if line.startswith("cmdstat_hgetall:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def flood(t):
    """A PUBLISH flood: hundreds of change messages in a second cost a
    handful of full reads, not one each."""
    rs = real()
    r = rs.conn()
    p = "flood:"
    fleet = {"s%d" % i: {"url": url("s%d" % i), "region": "eu"}
             for i in range(FLOOD_N)}
    v = g.redis_write_fleet(r, p, fleet)
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), prefix=p,
                       refresh=FLOOD_REFRESH, full_resync=600)
    d = g.Daemon(T, tmp(), c, "router-flood").start()
    g.wait_fleet(aport, lambda j: j.get("version") == v, 10)
    time.sleep(FLOOD_REFRESH * 2)
    h0 = hgetall_calls(r)
    t0 = time.monotonic()
    for i in range(FLOOD_MSGS):
        r.cmd("PUBLISH", p + "changed", str(v))
        time.sleep(max(0, t0 + (i + 1) / FLOOD_MSGS - time.monotonic()))
    dur = time.monotonic() - t0
    time.sleep(FLOOD_REFRESH * 2)     # the read still due, then quiet
    dur += FLOOD_REFRESH * 2
    reads = (hgetall_calls(r) - h0) / (FLOOD_N + 1)
    most = dur / FLOOD_REFRESH + 5 + 2    # per refresh, the burst, slack
    m = g.scrape(aport)
    co = m.get("geo307_redis_changes_coalesced_total") or 0
    t.diag("flood: %d messages in %.2fs, %.1f full reads (at most %.0f), "
           "%d coalesced" % (FLOOD_MSGS, dur, reads, most, co))
    t.ok(1 <= reads <= most, "%d PUBLISH in 1 s against %d servers at "
         "refresh %gs: %.1f full reads, at most %.0f" % (
             FLOOD_MSGS, FLOOD_N, FLOOD_REFRESH, reads, most))
    t.ok(co >= FLOOD_MSGS - most, "geo307_redis_changes_coalesced_total "
         "counts the messages read together (%d)" % co)
    r.close()
    d.stop()


def _guard(fn, args, out):
    import traceback
    try:
        fn(*args)
    except Exception:
        S.setdefault("errors", []).append(traceback.format_exc())


def points():
    n = sum(len(v) * len(FAULTS) + 1 for v in PATHS.values())
    return n + len(CTL_CASES) * len(FAULTS) + NPAR


def main():
    if not g.have_redis():
        T.plan(1)
        T.skip("redis faults", "redis-server not installed")
        sys.exit(0)
    T.run([(points(), matrix), (2, flood), (1, g.check_daemons)])


if __name__ == "__main__":
    main()
