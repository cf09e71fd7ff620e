#!/usr/bin/env python3
"""geo307 soak: prints numbers, never passes or fails.

A few million requests against one router on a private redis-server
while the fleet churns, with the router's RSS and open descriptors
sampled every second:

  - load: wrk keep-alive (-t1 -c32) plus wrk with "Connection: close"
    (-t1 -c4), both rotating X-Forwarded-For over addresses of three
    regions (the loopback peer is a trusted proxy);
  - churn: a weight change every 100 ms (an operator change with the
    version bump and the publish), a server added and another removed
    every second, load reports with a 2 s TTL for half of the servers
    (the other half's expire and come back);
  - output: one line per second (RSS KiB, descriptors, requests so far),
    then start / end / max of each, the requests and the non-307 answers.

Loopback only, bounded by SOAK_SECONDS (default 60); everything it starts
is stopped at the end.  Environment: GEO307_BIN, GEO307_FIXTURES (as in
"make check"), SOAK_SECONDS, SOAK_SERVERS (servers at start, default 300).

    GEO307_BIN=build/geo307 GEO307_FIXTURES=build/tests/fixtures \\
        python3 bench/soak.py
"""

import os
import random
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests",
                                "integration"))
import g307test as g  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS") or 60)
NSERVERS = int(os.environ.get("SOAK_SERVERS") or 300)
REGIONS = ("eu", "us", "ap")
LUA = """
local ips = {"81.2.69.142", "216.160.83.56", "175.16.199.1",
             "2.125.160.216", "89.160.20.112", "2001:480::1"}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, {["X-Forwarded-For"] = ips[i %% #ips + 1]%s})
end
"""


class Quiet(g.TAP):
    """The harness's cleanup list, without TAP output."""


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def server_fields(i, sid):
    return {"url": "https://%s.up.example.net" % sid,
            "region": REGIONS[i % len(REGIONS)], "weight": 100}


def churn(rs, prefix, ids, stop, counts):
    r = rs.conn()
    rnd = random.Random(7)
    nxt = len(ids)
    last_second = 0
    while not stop.is_set():
        sid = rnd.choice(ids)
        g.redis_op(r, prefix, [["HSET", prefix + "server:" + sid, "weight",
                                str(rnd.randint(1, 500))]])
        counts["changes"] += 1
        now = time.monotonic()
        if now - last_second >= 1:
            last_second = now
            new = "s%05d" % nxt
            nxt += 1
            gone = ids.pop(rnd.randrange(len(ids)))
            cmds = g.redis_server_cmds(prefix, new, server_fields(nxt, new))
            cmds += [["SADD", prefix + "servers", new],
                     ["SREM", prefix + "servers", gone],
                     ["DEL", prefix + "server:" + gone]]
            g.redis_op(r, prefix, cmds)
            ids.append(new)
            counts["added"] += 1
            counts["removed"] += 1
            g.redis_report(r, prefix, {s: "0.%d" % rnd.randint(1, 8)
                                       for s in ids[::2]}, ex=2)
        time.sleep(0.1)


def wrk(port, seconds, lua, extra=()):
    return subprocess.Popen(
        ["wrk", "-t1", "-d%ds" % seconds, "-s", lua] + list(extra) +
        ["http://127.0.0.1:%d/upload?x=1" % port],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_counts(out):
    reqs = non = 0
    for line in out.splitlines():
        p = line.split()
        if "requests in" in line:
            reqs = int(p[0])
        elif line.strip().startswith("Non-2xx or 3xx"):
            non = int(p[-1])
    return reqs, non


def main():
    T = Quiet()
    tmp = g.mkdtemp(T, "geo307-soak-")
    rs = g.RedisServer(T, tmp).start()
    r = rs.conn()
    prefix = "soak:"
    ids = ["s%05d" % i for i in range(NSERVERS)]
    g.redis_write_fleet(r, prefix, {sid: server_fields(i, sid)
                                    for i, sid in enumerate(ids)})
    g.redis_report(r, prefix, {sid: "0.2" for sid in ids}, ex=2)
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp, prefix=prefix,
                       refresh=0.2, full_resync=2)
    c.set("log", "access", "off")
    c.set("listen", "per_ip_connections", 0)
    d = g.Daemon(T, tmp, c, "soak").start(timeout=30)
    pid = d.proc.pid
    lua_ka = os.path.join(tmp, "ka.lua")
    lua_close = os.path.join(tmp, "close.lua")
    with open(lua_ka, "w") as f:
        f.write(LUA % "")
    with open(lua_close, "w") as f:
        f.write(LUA % ', ["Connection"] = "close"')
    stop = threading.Event()
    counts = {"changes": 0, "added": 0, "removed": 0}
    th = threading.Thread(target=churn, args=(rs, prefix, ids, stop, counts),
                          daemon=True)
    th.start()
    w1 = wrk(port, SECONDS, lua_ka, ["-c32"])
    w2 = wrk(port, SECONDS, lua_close, ["-c4"])
    samples = []
    t0 = time.monotonic()
    print("geo307 soak: %d s, %d servers, pid %d" % (SECONDS, NSERVERS, pid))
    print("%6s %10s %6s" % ("s", "RSS KiB", "fds"))
    while w1.poll() is None or w2.poll() is None:
        s = (time.monotonic() - t0, rss_kib(pid), nfds(pid))
        samples.append(s)
        print("%6.0f %10d %6d" % s, flush=True)
        time.sleep(1)
    stop.set()
    th.join(5)
    k1, n1 = wrk_counts(w1.stdout.read())
    k2, n2 = wrk_counts(w2.stdout.read())
    time.sleep(1)
    end = (time.monotonic() - t0, rss_kib(pid), nfds(pid))
    samples.append(end)
    first = samples[min(5, len(samples) - 1)]   # after warm-up
    print()
    print("requests: %d keep-alive + %d new-connection, non-307: %d"
          % (k1, k2, n1 + n2))
    print("churn: %d operator changes, %d servers added, %d removed"
          % (counts["changes"], counts["added"], counts["removed"]))
    print("RSS KiB: at 5 s %d, end %d, max %d" % (
        first[1], end[1], max(s[1] for s in samples)))
    print("descriptors: at 5 s %d, end %d, max %d" % (
        first[2], end[2], max(s[2] for s in samples)))
    T.cleanup()


if __name__ == "__main__":
    main()
