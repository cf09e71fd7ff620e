#!/usr/bin/env python3
"""Redis Sentinel (SPEC 3, HA).

Reads prefer the url's server: a master M, its replica R, one sentinel,
and `url` = R.  geo307 polls R (MONITOR on R and M says so) and holds its
SUBSCRIBE there (PUBLISH on M reaches R's subscribers); geo307ctl with
the same config writes to M and the routing follows.  R stopped: reads
fall back to M, redirects go on; R back: reads return to R.  A replica
whose master link is down is never read from (M is), and with every
sentinel dead a live url server still serves reads (the audit's bug).

Failover: geo307 with `sentinels` and `master` routes from the master;
the master is killed, the sentinel promotes the replica, and an operator
change written to the new master is picked up, while every request in
between is still answered with a correct 307.

Needs redis-server, and redis-sentinel or `redis-server --sentinel`
(skipped without them).  About 15-25 s."""

import os
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
GB = "81.2.69.142"
P = "s:"
NAME = "m"
CTL = os.environ.get("GEO307CTL_BIN") or \
    os.path.join(os.path.dirname(g.BIN), "geo307ctl")
# A replica syncs at once instead of waiting 5 s for more replicas.
FAST_SYNC = ["--repl-diskless-sync-delay", "0"]


def url(sid):
    return "https://%s.up.example.net" % sid


def srv(sid, region, state=None):
    f = {"url": url(sid), "region": region}
    if state:
        f["state"] = state
    return f


def replica_synced(rep):
    try:
        info = rep.cli("INFO", "replication")
    except Exception:
        return False
    return "master_link_status:up" in info


def need_sentinel():
    if not g.have_redis():
        raise g.Skip("redis-server not installed")
    if not shutil.which("redis-sentinel") and not g.REDIS_SERVER:
        raise g.Skip("neither redis-sentinel nor redis-server --sentinel")


def start_sentinel(tmp, name, master_port):
    """One sentinel, quorum 1, short timeouts, watching master_port."""
    sen = g.RedisServer(T, tmp, name, sentinel=True)
    try:
        sen.start(args=[
            "sentinel resolve-hostnames no",
            "sentinel monitor %s 127.0.0.1 %d 1" % (NAME, master_port),
            "sentinel down-after-milliseconds %s 1000" % NAME,
            "sentinel failover-timeout %s 3000" % NAME,
            "sentinel parallel-syncs %s 1" % NAME])
    except RuntimeError as e:
        raise g.Skip("no sentinel could be started: %s" % str(e)[:200])
    return sen


def start_pair(tmp, prefix):
    """A master and its replica, synced."""
    master = g.RedisServer(T, tmp, prefix + "master").start(args=FAST_SYNC)
    replica = g.RedisServer(T, tmp, prefix + "replica").start(
        args=["--replicaof", "127.0.0.1", str(master.port)])
    if not g.wait_until(lambda: replica_synced(replica), 10):
        raise RuntimeError("the replica never synced:\n%s"
                           % replica.log()[-2000:])
    return master, replica


def sentinel_cmd(sen, *args):
    """One command to the sentinel; None when it cannot answer."""
    try:
        r = sen.conn(timeout=2)
        try:
            return r.cmd(*args)
        finally:
            r.close()
    except (OSError, g.RespError):
        return None


def sentinel_master(sen):
    """(host, port) the sentinel names for NAME, or None."""
    v = sentinel_cmd(sen, "SENTINEL", "get-master-addr-by-name", NAME)
    if isinstance(v, list) and len(v) == 2:
        return v[0], int(v[1])
    return None


def sentinel_knows_replica(sen, port):
    for rep in sentinel_cmd(sen, "SENTINEL", "replicas", NAME) or []:
        kv = dict(zip(rep[0::2], rep[1::2]))
        if kv.get("port") == str(port) and \
                "s_down" not in kv.get("flags", "") and \
                kv.get("master-link-status") == "ok":
            return True
    return False


# ------------------------------------------------- reads from the url server

def cluster():
    """Shared by the read sections: M, R (its replica), a sentinel
    watching M, and STALE, a replica of a closed port (its master link
    never comes up).  The fleet is written to M: GB -> eu-1."""
    if "M" in S:
        return S
    need_sentinel()
    tmp = S["tmp"] = g.mkdtemp(T)
    S["M"], S["R"] = start_pair(tmp, "r-")
    S["STALE"] = g.RedisServer(T, tmp, "r-stale").start(
        args=["--replicaof", "127.0.0.1", str(g.free_port())])
    S["sen"] = start_sentinel(tmp, "r-sentinel", S["M"].port)
    r = S["M"].conn()
    g.redis_report(r, P, {"eu-1": 0, "eu-2": 0, "us-1": 0})
    S["v"] = g.redis_write_fleet(r, P, {
        "eu-1": srv("eu-1", "eu"), "eu-2": srv("eu-2", "eu", "down"),
        "us-1": srv("us-1", "us")})
    r.cmd("WAIT", "1", "2000")          # R has it too
    r.close()
    return S


def read_daemon(name, url_port, sentinel_port):
    """geo307 with url = 127.0.0.1:url_port and one sentinel; started,
    not waited for."""
    c = g.redis_config(g.free_port(), g.free_port(), url_port, S["tmp"],
                       prefix=P, refresh=0.25, full_resync=2,
                       stale_after=60)
    c.set("redis", "sentinels", "127.0.0.1:%d" % sentinel_port)
    c.set("redis", "master", NAME)
    return g.Daemon(T, S["tmp"], c, name).start()


def polls(lines):
    """geo307's polls (GET P version, MGET of the loads) among MONITOR
    lines.  Replicated writes, sentinels and our own clients never send
    these."""
    return [a for _, _, a in lines if len(a) > 1 and
            a[0].upper() in ("GET", "MGET") and a[1].startswith(P)]


def count_polls(mons, secs):
    """How many polls each MONITOR sees in the next secs seconds."""
    for m in mons:
        m.take()
    time.sleep(secs)
    return [len(polls(m.take())) for m in mons]


def wait_polls(to, away, timeout):
    """Until the polls go to MONITOR `to` and no longer to `away` (None:
    not watched); the seconds it took, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout * g.SLACK:
        mons = [to] + ([away] if away else [])
        n = count_polls(mons, 0.6)
        if n[0] > 0 and (away is None or n[1] == 0):
            return time.monotonic() - t0
    return None


def subscribers(srv):
    """geo307's SUBSCRIBE P changed on srv (PUBSUB NUMSUB), or -1."""
    try:
        r = srv.conn(timeout=2)
        try:
            v = r.cmd("PUBSUB", "NUMSUB", P + "changed")
        finally:
            r.close()
    except (OSError, g.RespError):
        return -1
    return int(v[1])


def routed(d, want, timeout=5):
    """Seconds until GB goes to server want, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout * g.SLACK:
        st, hd, _ = g.http_get(d.port, "/x", g.xff(GB))
        if st == 307 and g.hget(hd, "X-Upload-Server") == want:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def reading_from(d, srv, how):
    """The log line geo307 writes when it starts reading from srv."""
    what = {"url": "the [redis] url's server",
            "master": "the master Sentinel names"}[how]
    return d.stderr().count("redis: reading from 127.0.0.1:%d, %s"
                            % (srv.port, what))


class Stream:
    """Requests for GB every 50 ms in a thread: (status, server, s)."""

    def __init__(self, port):
        self.port = port
        self.answers = []
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stop_ev.is_set():
            t0 = time.monotonic()
            try:
                st, hd, _ = g.http_get(self.port, "/s", g.xff(GB), timeout=5)
                self.answers.append((st, g.hget(hd, "X-Upload-Server"),
                                     time.monotonic() - t0))
            except Exception as e:
                self.answers.append((repr(e), None, time.monotonic() - t0))
            time.sleep(0.05)

    def stop(self):
        self.stop_ev.set()
        self.th.join(10)

    def bad(self, servers):
        return [a for a in self.answers if a[0] != 307 or
                a[1] not in servers or a[2] > 1.0 * g.SLACK]


def publish_reaches_replica(t):
    """Redis itself: PUBLISH on a master reaches a replica's subscribers
    (replicated, also inside MULTI/EXEC), so R can hold the SUBSCRIBE."""
    cl = cluster()
    sub = cl["R"].conn(timeout=3)
    try:
        sub.cmd("SUBSCRIBE", P + "probe")
        r = cl["M"].conn()
        r.pipeline([["MULTI"], ["PUBLISH", P + "probe", "in-exec"],
                    ["EXEC"]])
        r.cmd("PUBLISH", P + "probe", "plain")
        r.close()
        got = [sub.read(), sub.read()]
    finally:
        sub.close()
    t.ok(got == [["message", P + "probe", "in-exec"],
                 ["message", P + "probe", "plain"]],
         "Redis 7: PUBLISH on the master reaches a SUBSCRIBE on its "
         "replica (alone and inside MULTI/EXEC)", repr(got))


def replica_reads(t):
    """url = R: reads and SUBSCRIBE on R; ctl writes to M; R stopped:
    M; R back: R."""
    cl = cluster()
    M, R = cl["M"], cl["R"]
    mon_m, mon_r = g.Monitor(M.port), g.Monitor(R.port)
    T.at_exit(mon_m.stop)
    T.at_exit(mon_r.stop)
    d = read_daemon("replica", R.port, cl["sen"].port)
    j, dt = g.wait_fleet(d.aport, lambda j: j.get("source") == "redis" and
                         j.get("version") == cl["v"], 5)
    on_r, on_m = count_polls([mon_r, mon_m], 1.5)
    t.ok(dt is not None and routed(d, "eu-1", 1) is not None and
         on_r > 0 and on_m == 0 and reading_from(d, R, "url") == 1,
         "url = a replica in sync: geo307 polls it (%d polls on R in 1.5 s, "
         "%d on M) and logs that it reads from it" % (on_r, on_m),
         "%r\n%s" % (j, d.stderr()[-1500:]))
    sub = g.wait_until(lambda: (subscribers(R), subscribers(M)) == (1, 0), 3)
    t.ok(sub, "its SUBSCRIBE is on R as well (PUBSUB NUMSUB: R 1, M 0)",
         "R %d, M %d" % (subscribers(R), subscribers(M)))

    # an operator change with geo307ctl and the router's own config
    mon_m.take()
    p = subprocess.run([CTL, "-c", d.conf_path, "down", "eu-1"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=15 * g.SLACK)
    seen = routed(d, "us-1")
    wrote = [a for _, _, a in mon_m.take()
             if a[:2] == ["INCR", P + "version"]]
    on_r, on_m = count_polls([mon_r, mon_m], 1.0)
    t.ok(p.returncode == 0 and wrote and seen is not None and on_r > 0 and
         on_m == 0,
         "geo307ctl with the router's config writes to M (INCR seen on M); "
         "the router, still polling R, follows: GB -> us-1 (%s s)"
         % ("%.1f" % seen if seen is not None else "never"),
         "rc %r %r\nwrote %r, polls R %d M %d\n%s"
         % (p.returncode, p.stderr[-500:], wrote, on_r, on_m,
            d.stderr()[-1500:]))

    stream = Stream(d.port)
    try:
        R.pause()
        fell = wait_polls(mon_m, None, 8)
        r = M.conn()
        g.redis_op(r, P, g.redis_server_cmds(P, "eu-2", srv("eu-2", "eu")))
        r.close()
        seen = routed(d, "eu-2")
        t.ok(fell is not None and seen is not None and
             reading_from(d, M, "master") == 1,
             "R stopped: geo307 falls back to M (polls on M after %s s), "
             "logs it, and a change written to M is routed (GB -> eu-2)"
             % ("%.1f" % fell if fell is not None else "never"),
             d.stderr()[-2000:])
        sub = g.wait_until(lambda: subscribers(M) == 1, 5)
        t.ok(sub, "its SUBSCRIBE follows to M", d.stderr()[-1500:])
        R.resume()
        back = wait_polls(mon_r, mon_m, 10)
        t.ok(back is not None and reading_from(d, R, "url") == 2,
             "R back: reads return to R within %s s (full_resync 2), none "
             "on M" % ("%.1f" % back if back is not None else "never"),
             d.stderr()[-2000:])
        sub = g.wait_until(lambda: (subscribers(R), subscribers(M)) ==
                           (1, 0), 5)
        t.ok(sub, "and so does its SUBSCRIBE (R 1, M 0)",
             "R %d, M %d" % (subscribers(R), subscribers(M)))
    finally:
        R.resume()
        stream.stop()
    bad = stream.bad(("us-1", "eu-2"))
    t.ok(len(stream.answers) > 20 and not bad,
         "%d requests while R stopped and came back: every one a 307 "
         "within 1 s" % len(stream.answers), repr(bad[:10]))
    d.stop()
    mon_m.stop()
    mon_r.stop()


def stale_replica(t):
    """url = a replica whose master link is down: M is read instead."""
    cl = cluster()
    M, STALE = cl["M"], cl["STALE"]
    mon_m, mon_s = g.Monitor(M.port), g.Monitor(STALE.port)
    T.at_exit(mon_m.stop)
    T.at_exit(mon_s.stop)
    d = read_daemon("stale", STALE.port, cl["sen"].port)
    j, dt = g.wait_fleet(d.aport, lambda j: j.get("source") == "redis" and
                         j.get("version", 0) >= cl["v"], 5)
    on_m, on_s = count_polls([mon_m, mon_s], 1.0)
    err = d.stderr()
    t.ok(dt is not None and on_m > 0 and on_s == 0 and
         reading_from(d, M, "master") == 1 and
         "its master link \"connect" in err and
         g.scrape(d.aport).get("geo307_redis_up") == 1,
         "url = a replica whose master link is down: never read from "
         "(%d polls on it, %d on M), the log says why" % (on_s, on_m),
         "%r\n%s" % (j, err[-1500:]))
    d.stop()
    mon_m.stop()
    mon_s.stop()


def dead_sentinel(t):
    """Every sentinel dead: a live url server still serves reads."""
    cl = cluster()
    M, R, STALE = cl["M"], cl["R"], cl["STALE"]
    dead = g.free_port()
    mon_r = g.Monitor(R.port)
    T.at_exit(mon_r.stop)
    v = int(M.cli("GET", P + "version"))
    ds = [read_daemon("dead-r", R.port, dead),
          read_daemon("dead-m", M.port, dead),
          read_daemon("dead-stale", STALE.port, dead)]
    for d, what in zip(ds[:2], ("a replica in sync", "the master")):
        j, dt = g.wait_fleet(d.aport, lambda j: j.get("source") == "redis"
                             and j.get("version") == v, 5)
        up = g.scrape(d.aport).get("geo307_redis_up")
        t.ok(dt is not None and up == 1,
             "sentinel dead, url = %s: geo307 reads from the url, "
             "geo307_redis_up 1" % what, "%r up %r\n%s"
             % (j, up, d.stderr()[-1500:]))
    t.ok(polls(mon_r.take()), "... R's MONITOR shows the polls")
    d = ds[2]
    logged = g.wait_until(lambda: "its data may be old" in d.stderr() and
                          "no sentinel named a usable master" in
                          d.stderr(), 5)
    up = g.scrape(d.aport).get("geo307_redis_up")
    t.ok(logged and up == 0,
         "sentinel dead, url = a replica whose master link is down: not "
         "read from, geo307_redis_up 0, the log says why",
         "up %r\n%s" % (up, d.stderr()[-1500:]))
    for d in ds:
        d.stop()
    mon_r.stop()


# ---------------------------------------------------------------- failover

def failover(t):
    need_sentinel()
    tmp = g.mkdtemp(T)
    master, replica = start_pair(tmp, "")
    sen = start_sentinel(tmp, "sentinel", master.port)
    if not g.wait_until(lambda: sentinel_knows_replica(sen, replica.port),
                        12):
        raise RuntimeError("the sentinel never saw the replica:\n%s"
                           % sen.log()[-2000:])
    r = master.conn()
    fleet = {"eu-1": srv("eu-1", "eu"), "us-1": srv("us-1", "us")}
    g.redis_report(r, P, {"eu-1": 0, "eu-2": 0, "us-1": 0})
    v = g.redis_write_fleet(r, P, fleet)
    r.cmd("WAIT", "1", "2000")          # the replica has it too
    r.close()
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, master.port, tmp, prefix=P,
                       refresh=0.25, full_resync=5, stale_after=60)
    c.set("redis", "sentinels", "127.0.0.1:%d" % sen.port)
    c.set("redis", "master", NAME)
    d = g.Daemon(T, tmp, c, "sentinel").start()
    j, dt = g.wait_fleet(aport, lambda j: j.get("source") == "redis" and
                         j.get("version") == v, 5)
    st, hd, _ = g.http_get(port, "/x", g.xff(GB))
    t.ok(dt is not None and st == 307 and
         g.hget(hd, "X-Upload-Server") == "eu-1",
         "[redis] sentinels + master: the fleet from the master, GB -> eu-1",
         "%r\n%r %r\n%s" % (j, st, hd, d.stderr()[-1500:]))

    # a request stream through the failover
    answers = []
    stop = threading.Event()

    def stream():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                st, hd, _ = g.http_get(port, "/s", g.xff(GB), timeout=5)
                answers.append((st, g.hget(hd, "X-Upload-Server"),
                                time.monotonic() - t0))
            except Exception as e:
                answers.append((repr(e), None, time.monotonic() - t0))
            time.sleep(0.05)
    th = threading.Thread(target=stream, daemon=True)
    th.start()
    try:
        old = sentinel_master(sen)
        t0 = time.monotonic()
        master.kill()
        new = None
        while time.monotonic() - t0 < 20 * g.SLACK:
            new = sentinel_master(sen)
            if new and new != old:
                break
            time.sleep(0.1)
        tf = time.monotonic() - t0
        t.ok(new and new[1] == replica.port,
             "master killed: the sentinel promotes the replica (%.1f s)" % tf,
             "old %r new %r\n%s" % (old, new, sen.log()[-2000:]))
        if not new or new[1] != replica.port:
            raise g.Skip("no failover")
        # an operator change written to the new master
        r = replica.conn()
        fleet["eu-1"] = srv("eu-1", "eu", state="down")
        fleet["eu-2"] = srv("eu-2", "eu")
        t1 = time.monotonic()
        v = g.redis_write_fleet(r, P, fleet)
        r.close()
        seen = None
        while time.monotonic() - t1 < 15 * g.SLACK:
            st, hd, _ = g.http_get(port, "/x", g.xff(GB))
            if g.hget(hd, "X-Upload-Server") == "eu-2":
                seen = time.monotonic() - t1
                break
            time.sleep(0.05)
        j = g.fleet_json(aport)
        t.ok(seen is not None and j and j.get("version") == v,
             "after the failover, an operator change written to the new "
             "master is picked up (%s s after the write, %.1f s after the "
             "kill)" % ("%.1f" % seen if seen is not None else "never",
                        time.monotonic() - t0),
             "%r\n%s" % (j, d.stderr()[-2000:]))
        up = g.wait_until(lambda: g.scrape(aport).get("geo307_redis_up") ==
                          1, 3)
        t.ok(up, "geo307_redis_up 1 on the new master")
        time.sleep(0.3)
    finally:
        stop.set()
        th.join(10)
    bad = [a for a in answers if a[0] != 307 or a[1] not in ("eu-1", "eu-2")
           or a[2] > 1.0 * g.SLACK]
    t.ok(len(answers) > 20 and not bad,
         "%d requests through the failover: every one a 307 to eu-1/eu-2 "
         "within 1 s" % len(answers), repr(bad[:10]))


def main():
    T.run([
        (1, publish_reaches_replica),
        (8, replica_reads),
        (1, stale_replica),
        (4, dead_sentinel),
        (5, failover),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
