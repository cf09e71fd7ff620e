#!/usr/bin/env python3
"""The change feed (README: "The fleet in Redis"): geo307ctl adds an
entry `version <v> ids <id>` to P changes in the MULTI of each change; a
router that knows the entry of the version it applied re-reads only the
servers the newer entries name, and falls back to reading everything
when the feed does not cover the gap (a change made without the feed, a
deleted feed).  HGETALLs are counted on a private redis-server with INFO
commandstats."""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
CTL = os.environ.get("GEO307CTL_BIN") or \
    os.path.join(os.path.dirname(g.BIN), "geo307ctl")
P = "feed:"
N = 300


def hgetalls(r):
    for line in r.cmd("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_hgetall:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def ctl(*args):
    p = subprocess.run([CTL, "-c", S["conf"], "--redis", S["url"]] +
                       [str(a) for a in args], capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def served(aport, pred, timeout=5):
    return g.wait_fleet(aport, pred, timeout)[1] is not None


def weight_of(j, sid):
    return (g.fleet_server(j, sid) or {}).get("weight")


def feed(t):
    if not g.have_redis():
        raise g.Skip("redis-server not installed")
    tmp = g.mkdtemp(T)
    rs = g.RedisServer(T, tmp).start()
    r = rs.conn()
    S["url"] = "redis://127.0.0.1:%d/0" % rs.port
    fleet = {"s%03d" % i: {"url": "https://s%03d.up.example.net" % i,
                           "region": ("eu", "us", "ap")[i % 3],
                           "weight": 100} for i in range(N)}
    g.redis_write_fleet(r, P, fleet)
    g.redis_report(r, P, {sid: "0.1" for sid in fleet})
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp, prefix=P, refresh=0.2,
                       full_resync=600)
    d = g.Daemon(T, tmp, c, "feed").start()
    S["conf"] = d.conf_path
    served(aport, lambda j: len(j.get("servers", [])) == N)

    # the first change made through the feed: the router's version had
    # no entry yet, so it reads everything once (and learns the entry)
    rc, out = ctl("weight", "s001", 7)
    ok = served(aport, lambda j: weight_of(j, "s001") == 7)
    t.ok(rc == 0 and ok, "geo307ctl weight s001 7 is served", out)

    h0 = hgetalls(r)
    rc, out = ctl("weight", "s002", 8)
    ok = served(aport, lambda j: weight_of(j, "s002") == 8)
    time.sleep(0.5)
    dh = hgetalls(r) - h0
    t.ok(rc == 0 and ok and dh <= 3, "the next change is read from the "
         "feed: %d HGETALL for %d servers (a full read is %d)"
         % (dh, N, N + 1), out)

    h0 = hgetalls(r)
    rc1, _ = ctl("add", "new-1", "https://new-1.up.example.net", "eu")
    rc2, _ = ctl("remove", "s003")
    rc3, _ = ctl("drain-region", "ap")
    ok = served(aport, lambda j: g.fleet_server(j, "new-1") is not None and
                g.fleet_server(j, "s003") is None)

    def drained():
        body = g.http_get(aport, "/route?ip=175.16.199.1")[2]
        return body if b'"region":"ap"' not in body else None
    body = g.wait_until(drained, 5) or b""
    time.sleep(0.5)
    dh = hgetalls(r) - h0
    t.ok(rc1 == rc2 == rc3 == 0 and ok and dh <= 9 and
         b'"home_region":"ap"' in body and b'"region":"ap"' not in body,
         "add, remove and drain-region from the feed: served, %d HGETALL"
         % dh, body[:300])

    # a change without the feed (a plain MULTI/INCR/PUBLISH): a gap, so
    # the router reads everything and still sees it
    h0 = hgetalls(r)
    g.redis_op(r, P, [["HSET", P + "server:s004", "weight", "9"]])
    ok = served(aport, lambda j: weight_of(j, "s004") == 9)
    dh = hgetalls(r) - h0
    t.ok(ok and dh >= N, "a change made without the feed is seen by a "
         "full read (%d HGETALL)" % dh)

    # that full read found no entry for its version: the next feed change
    # is a full read too, then the feed again
    ctl("weight", "s005", 11)
    served(aport, lambda j: weight_of(j, "s005") == 11)
    h0 = hgetalls(r)
    rc, out = ctl("weight", "s006", 12)
    ok = served(aport, lambda j: weight_of(j, "s006") == 12)
    time.sleep(0.5)
    dh = hgetalls(r) - h0
    t.ok(rc == 0 and ok and dh <= 3, "after the gap the feed is used "
         "again (%d HGETALL)" % dh, out)

    # a deleted feed: the next entry cannot follow the one applied
    r.cmd("DEL", P + "changes")
    g.redis_op(r, P, [["HSET", P + "server:s007", "weight", "13"]],
               publish=False)
    rc, out = ctl("weight", "s008", 14)
    ok = served(aport, lambda j: weight_of(j, "s007") == 13 and
                weight_of(j, "s008") == 14)
    t.ok(rc == 0 and ok, "a deleted feed and a change without it: both "
         "changes served (full read)", out)

    # a router that was away (stopped) while the feed was trimmed: on
    # its return the entries after its own are gone, so it reads
    # everything and serves every change it missed
    ctl("weight", "s009", 15)
    served(aport, lambda j: weight_of(j, "s009") == 15)
    ctl("weight", "s010", 16)
    served(aport, lambda j: weight_of(j, "s010") == 16)
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        ctl("weight", "s011", 17)
        ctl("weight", "s012", 18)
        r.cmd("XTRIM", P + "changes", "MAXLEN", "1")
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    ok = served(aport, lambda j: weight_of(j, "s011") == 17 and
                weight_of(j, "s012") == 18)
    t.ok(ok, "a router stopped while the feed was trimmed catches up "
         "with every change it missed (full read)")
    m = g.scrape(aport)
    t.ok(m.get("geo307_fleet_rejected_records_total") == 0,
         "no record was rejected on the way")


def main():
    T.run([
        (8, feed),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
