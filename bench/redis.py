#!/usr/bin/env python3
"""geo307 Redis benchmark: prints numbers, never passes or fails.

  1. change-to-serve delay: an operator change (HSET + INCR version +
     PUBLISH changed, in MULTI/EXEC) until a request is answered by the
     new snapshot; median/p90/max over BENCH_REDIS_CHANGES changes, with a
     small fleet and with BENCH_REDIS_SERVERS servers;
  2. a refresh with BENCH_REDIS_SERVERS servers: what the reads cost a
     client (MGET of every load key; SMEMBERS + pipelined HGETALL of every
     hash, from Python: a lower bound for the daemon's I/O), and the CPU
     the daemon spends per second at refresh = 1 (full_resync 10, and
     full_resync 1 = a full read and rebuild every second);
  3. what one router costs Redis at refresh = 1: commands/s (INFO
     commandstats), Redis CPU and bytes sent per second, over
     BENCH_REDIS_WINDOW seconds;
  4. (only when asked for) BENCH_REDIS_ROUTERS routers on one
     redis-server against one router alone, in the same run: whether
     Redis's cost per router stays what part 3 measures for one.

Loopback only; every daemon and redis-server it starts is stopped at the
end.  Environment: GEO307_BIN, GEO307_FIXTURES (as in "make check"),
BENCH_REDIS_CHANGES (50), BENCH_REDIS_SERVERS (10000),
BENCH_REDIS_WINDOW (10), BENCH_REDIS_PARTS ("123": which parts to run;
"4" adds part 4), BENCH_REDIS_ROUTERS (8, for part 4),
BENCH_REDIS_FEED (1: changes write the change feed, as geo307ctl does;
0: they do not, so every change is a full re-read).
"""

import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests",
                                "integration"))
import g307test as g  # noqa: E402

CHANGES = int(os.environ.get("BENCH_REDIS_CHANGES") or 50)
NSERVERS = int(os.environ.get("BENCH_REDIS_SERVERS") or 10000)
WINDOW = float(os.environ.get("BENCH_REDIS_WINDOW") or 10)
PARTS = os.environ.get("BENCH_REDIS_PARTS") or "123"
ROUTERS = int(os.environ.get("BENCH_REDIS_ROUTERS") or 8)
# Operator changes write the change feed as geo307ctl does (1), or not
# (0: every change is a full re-read, the behaviour without a feed).
FEED = (os.environ.get("BENCH_REDIS_FEED") or "1") == "1"
GB = "81.2.69.142"
HZ = os.sysconf("SC_CLK_TCK")
REGIONS = ("eu", "us", "ap")


class Quiet(g.TAP):
    """The harness's cleanup list, without TAP output."""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        p = f.read().rsplit(")", 1)[1].split()
    return (int(p[11]) + int(p[12])) / HZ


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def ms(x):
    return "%.2f" % (x * 1000)


def info(r, section):
    out = {}
    for line in r.cmd("INFO", section).splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def commandstats(r):
    """{command: calls}."""
    out = {}
    for k, v in info(r, "commandstats").items():
        if k.startswith("cmdstat_"):
            kv = dict(x.split("=", 1) for x in v.split(","))
            out[k[8:]] = int(kv["calls"])
    return out


def populate(r, prefix, n):
    """n servers s00000.. across the regions, each with a load report, in
    one operator change (the hashes) plus pipelined load reports."""
    ids = ["s%05d" % i for i in range(n)]
    cmds = [["DEL", prefix + "servers"]]
    for i, sid in enumerate(ids):
        cmds.append(["HSET", prefix + "server:" + sid, "url",
                     "https://%s.up.example.net" % sid, "region",
                     REGIONS[i % len(REGIONS)], "weight", "100"])
    for i in range(0, n, 1000):
        cmds.append(["SADD", prefix + "servers"] + ids[i:i + 1000])
    v = g.redis_op(r, prefix, cmds)
    for i in range(0, n, 2000):
        g.redis_report(r, prefix, {sid: "0.%d" % (j % 9 + 1)
                                   for j, sid in enumerate(ids[i:i + 2000])})
    return ids, v


def daemon(T, tmp, rport, prefix, name, **kv):
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rport, tmp, prefix=prefix, **kv)
    c.set("metrics", "per_server", "no")
    d = g.Daemon(T, tmp, c, name).start(timeout=30)
    return d, port, aport


def wait_version(aport, v, timeout=30):
    j, dt = g.wait_fleet(aport, lambda j: j.get("version") == v, timeout,
                         interval=0.05)
    if dt is None:
        raise RuntimeError("the daemon never showed version %d" % v)


def change_delay(T, tmp, rs, prefix, big):
    """CHANGES operator changes; seconds from EXEC to the first request
    answered by the server the change made the only candidate in eu."""
    r = rs.conn()
    ids = []
    if big:
        ids, v = populate(r, prefix, big)
        # eu's own servers: everything else in eu drained by weight 0
        cmds = [["HSET", prefix + "server:" + sid, "weight", "0"]
                for i, sid in enumerate(ids) if REGIONS[i % 3] == "eu"]
        g.redis_op(r, prefix, cmds)
    for sid in ("eu-a", "eu-b"):
        g.redis_op(r, prefix, [
            ["HSET", prefix + "server:" + sid, "url",
             "https://%s.up.example.net" % sid, "region", "eu", "state",
             "up" if sid == "eu-a" else "down"],
            ["SADD", prefix + "servers", sid]])
    g.redis_report(r, prefix, {"eu-a": 0, "eu-b": 0})
    v = int(r.cmd("GET", prefix + "version"))
    d, port, aport = daemon(T, tmp, rs.port, prefix, "bench-change-%d" % big,
                            refresh=1, full_resync=10)
    wait_version(aport, v)
    cl = g.Client(port)
    delays = []
    cur = "eu-a"
    try:
        for i in range(CHANGES):
            new = "eu-b" if cur == "eu-a" else "eu-a"
            time.sleep(0.05 + (i % 7) * 0.031)   # spread over the poll
            t0 = time.monotonic()
            g.redis_op(r, prefix, [
                ["HSET", prefix + "server:" + new, "state", "up"],
                ["HSET", prefix + "server:" + cur, "state", "down"]],
                ids=[new, cur] if FEED else None)
            while True:
                _, hd, _ = cl.request("GET", "/b", g.xff(GB))
                if g.hget(hd, "X-Upload-Server") == new:
                    delays.append(time.monotonic() - t0)
                    break
                if time.monotonic() - t0 > 10:
                    delays.append(float("inf"))
                    break
            cur = new
    finally:
        cl.close()
        r.close()
        d.stop()
    return delays


def raw_round_trip(r, cmds):
    """Send cmds and a PING in one write; seconds until the last reply
    byte arrived, and the bytes received.  No reply parsing in the timed
    part (Python would dominate): the wire and Redis only."""
    data = b"".join(g.Resp.encode(c) for c in cmds) + g.Resp.encode(["PING"])
    t0 = time.monotonic()
    r.sock.sendall(data)
    buf = bytearray()
    while not buf.endswith(b"+PONG\r\n"):
        d = r.sock.recv(1 << 20)
        if not d:
            raise ConnectionError("redis closed")
        buf += d
    return time.monotonic() - t0, len(buf)


def read_cost(rs, prefix, ids):
    """Client-side cost of the two reads: GET version + MGET of every load
    key; SMEMBERS + pipelined HGETALL of every hash (+ regions and
    maintenance).  Best and median of 5."""
    r = rs.conn(timeout=30)
    keys = [prefix + "load:" + sid for sid in ids]
    poll = [["GET", prefix + "version"], ["MGET"] + keys]
    full = [["GET", prefix + "version"], ["SMEMBERS", prefix + "servers"]] + \
        [["HGETALL", prefix + "server:" + sid] for sid in ids] + \
        [["HGETALL", prefix + "regions"], ["GET", prefix + "maintenance"],
         ["MGET"] + keys]
    tp, tf = [], []
    for _ in range(5):
        dt, nb_poll = raw_round_trip(r, poll)
        tp.append(dt)
        dt, nb_full = raw_round_trip(r, full)
        tf.append(dt)
    r.close()
    return (min(tp), statistics.median(tp), nb_poll,
            min(tf), statistics.median(tf), nb_full)


def idle_cpu(rs):
    """An idle redis-server's own CPU per second, over 3 s."""
    r = rs.conn()
    i0, t0 = info(r, "cpu"), time.monotonic()
    time.sleep(3)
    i1, t1 = info(r, "cpu"), time.monotonic()
    r.close()
    return sum(float(i1[k]) - float(i0[k])
               for k in ("used_cpu_sys", "used_cpu_user")) / (t1 - t0)


def router_cost(T, tmp, rs, prefix, v, full_resync, n=1):
    """n routers at refresh = 1 for WINDOW s: the daemons' CPU/s, and
    Redis's commands/s, CPU/s and bytes sent/s."""
    ds = []
    try:
        for i in range(n):
            d, port, aport = daemon(T, tmp, rs.port, prefix,
                                    "bench-cost-%g-%d" % (full_resync, i),
                                    refresh=1, full_resync=full_resync)
            ds.append(d)
            wait_version(aport, v)
        time.sleep(1.5)
        r = rs.conn()
        try:
            c0, i0, n0 = commandstats(r), info(r, "cpu"), info(r, "stats")
            p0, t0 = sum(cpu_seconds(d.pid) for d in ds), time.monotonic()
            time.sleep(WINDOW)
            c1, i1, n1 = commandstats(r), info(r, "cpu"), info(r, "stats")
            p1, t1 = sum(cpu_seconds(d.pid) for d in ds), time.monotonic()
        finally:
            r.close()
    finally:
        for d in ds:
            d.stop()
    el = t1 - t0
    # our own INFO calls are not the router's
    calls = {k: (c1.get(k, 0) - c0.get(k, 0)) / el for k in c1}
    calls.pop("info", None)
    rcpu = sum(float(i1[k]) - float(i0[k])
               for k in ("used_cpu_sys", "used_cpu_user")) / el
    out_b = (int(n1["total_net_output_bytes"]) -
             int(n0["total_net_output_bytes"])) / el
    in_b = (int(n1["total_net_input_bytes"]) -
            int(n0["total_net_input_bytes"])) / el
    return (p1 - p0) / el, calls, rcpu, out_b, in_b


def many_routers(T, tmp, rs):
    """Part 4: ROUTERS routers on one redis-server against one router's
    cost, measured in the same run: does Redis's cost add up linearly?"""
    print("\n4. %d routers on one redis-server, %d servers, refresh = 1, "
          "full_resync = 10 (%.0f s window)" % (ROUTERS, NSERVERS, WINDOW))
    r = rs.conn(timeout=30)
    ids, v = populate(r, "m:", NSERVERS)
    r.close()
    idle = idle_cpu(rs)
    one = router_cost(T, tmp, rs, "m:", v, 10)
    many = router_cost(T, tmp, rs, "m:", v, 10, ROUTERS)
    print("%-12s %12s %14s %14s %12s" % ("routers", "commands/s",
                                         "Redis CPU ms/s", "sent KB/s",
                                         "daemons ms/s"))
    for label, (dcpu, calls, rcpu, out_b, _) in (("1", one),
                                                 ("%d" % ROUTERS, many)):
        print("%-12s %12.1f %14s %14.0f %12s" % (
            label, sum(calls.values()), ms(max(0.0, rcpu - idle)),
            out_b / 1024, ms(dcpu)))
    print("   => per router with %d: %.2f x the commands, %.2f x the Redis "
          "CPU, %.2f x the bytes of one router alone" % (
              ROUTERS, sum(many[1].values()) / ROUTERS /
              max(1e-9, sum(one[1].values())),
              max(0.0, many[2] - idle) / ROUTERS /
              max(1e-9, one[2] - idle), many[3] / ROUTERS /
              max(1e-9, one[3])))


def main():
    if not g.have_redis():
        print("redis bench: skipped (redis-server not installed)")
        return 0
    if not os.access(g.BIN, os.X_OK) or not os.path.isfile(g.FIXTURE_DB):
        print("redis bench: skipped (no geo307 binary or GeoIP fixture)")
        return 0
    T = Quiet()
    tmp = g.mkdtemp(T, "geo307-bench-redis-")
    try:
        rs = g.RedisServer(T, tmp).start()
        r = rs.conn()
        print("geo307 Redis bench: %s, redis-server %s, %d CPUs" % (
            g.run_geo307(["--version"])[1].strip() or "geo307",
            info(r, "server").get("redis_version", "?"), os.cpu_count()))
        r.close()

        if "1" in PARTS:
            change_delays(T, tmp, rs)
        if "2" in PARTS or "3" in PARTS:
            refresh_costs(T, tmp, rs)
        if "4" in PARTS:
            many_routers(T, tmp, rs)
    finally:
        T.cleanup()
    return 0


def change_delays(T, tmp, rs):
    print("\n1. operator change -> first request served by it "
          "(refresh = 1, %d changes)" % CHANGES)
    print("%-28s %10s %10s %10s %10s" % ("fleet", "median ms", "p90 ms",
                                        "max ms", "min ms"))
    for label, prefix, big in (("3 servers", "c1:", 0),
                               ("%d servers" % NSERVERS, "c2:",
                                NSERVERS)):
        ds = change_delay(T, tmp, rs, prefix, big)
        print("%-28s %10s %10s %10s %10s" % (
            label, ms(statistics.median(ds)), ms(pct(ds, 0.9)),
            ms(max(ds)), ms(min(ds))))


def refresh_costs(T, tmp, rs):
    print("\n2. a refresh with %d servers" % NSERVERS)
    r = rs.conn(timeout=30)
    ids, v = populate(r, "b:", NSERVERS)
    r.close()
    p_min, p_med, p_bytes, f_min, f_med, f_bytes = read_cost(
        rs, "b:", ids)
    print("   one client on loopback, pipelined, replies not parsed "
          "(the wire and Redis only):")
    print("     poll: GET version + MGET %d load keys:         best %s "
          "ms, median %s ms, %d KB" % (NSERVERS, ms(p_min), ms(p_med),
                                      p_bytes / 1024))
    print("     full: SMEMBERS + %d HGETALL + MGET:           best %s "
          "ms, median %s ms, %d KB" % (NSERVERS, ms(f_min), ms(f_med),
                                      f_bytes / 1024))
    idle = idle_cpu(rs)
    rows = []
    for fr in (10, 1):
        rows.append((fr,) + router_cost(T, tmp, rs, "b:", v, fr))
    for fr, dcpu, calls, rcpu, out_b, in_b in rows:
        print("   geo307 at refresh = 1, full_resync = %-2g: daemon CPU "
              "%s ms per second (%.1f%% of a core)"
              % (fr, ms(dcpu), dcpu * 100))
    fr10, fr1 = rows[0][1], rows[1][1]
    print("   => a full read + rebuild of %d servers costs about %s ms "
          "of daemon CPU (difference of the two, per second)"
          % (NSERVERS, ms(max(0.0, fr1 - fr10) * 10 / 9)))

    print("\n3. what one router costs Redis at refresh = 1, %d servers "
          "(%.0f s window)" % (NSERVERS, WINDOW))
    print("   (an idle redis-server here: %s ms/s of CPU, subtracted "
          "below)" % ms(idle))
    for fr, dcpu, calls, rcpu, out_b, in_b in rows:
        rcpu = max(0.0, rcpu - idle)
        busy = sorted(((k, c) for k, c in calls.items() if c > 0.05),
                      key=lambda x: -x[1])
        total = sum(c for _, c in busy)
        print("   full_resync = %-2g: %.1f commands/s (%s); Redis CPU "
              "%s ms/s; sent %.0f KB/s, received %.1f KB/s"
              % (fr, total, ", ".join("%s %.1f" % kc for kc in busy),
                 ms(rcpu), out_b / 1024, in_b / 1024))
    fr10 = rows[0]
    print("   => 100 routers at full_resync = 10: ~%.0f commands/s, "
          "~%.0f%% of one Redis core, ~%.1f MB/s from Redis"
          % (100 * sum(fr10[2].values()),
             100 * max(0.0, fr10[3] - idle) * 100,
             100 * fr10[4] / 1e6))


if __name__ == "__main__":
    sys.exit(main())
