#!/usr/bin/env python3
"""Redis Sentinel (SPEC 3, HA): a master, a replica and one sentinel
(quorum 1, short timeouts); geo307 with `sentinels` and `master` routes
from the master; the master is killed, the sentinel promotes the replica,
and an operator change written to the new master is picked up, while
every request in between is still answered with a correct 307.

Needs redis-server, and redis-sentinel or `redis-server --sentinel`
(skipped without them).  About 15-25 s."""

import os
import shutil
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


def sentinel_master(sen):
    """(host, port) the sentinel names for NAME, or None."""
    try:
        r = sen.conn(timeout=2)
        try:
            v = r.cmd("SENTINEL", "get-master-addr-by-name", NAME)
        finally:
            r.close()
    except (OSError, g.RespError):
        return None
    if isinstance(v, list) and len(v) == 2:
        return v[0], int(v[1])
    return None


def sentinel_knows_replica(sen, port):
    try:
        r = sen.conn(timeout=2)
        try:
            v = r.cmd("SENTINEL", "replicas", NAME)
        finally:
            r.close()
    except (OSError, g.RespError):
        return False
    for rep in v or []:
        kv = dict(zip(rep[0::2], rep[1::2]))
        if kv.get("port") == str(port) and \
                "s_down" not in kv.get("flags", "") and \
                kv.get("master-link-status") == "ok":
            return True
    return False


def failover(t):
    if not g.have_redis():
        raise g.Skip("redis-server not installed")
    if not shutil.which("redis-sentinel") and not g.REDIS_SERVER:
        raise g.Skip("neither redis-sentinel nor redis-server --sentinel")
    tmp = g.mkdtemp(T)
    master = g.RedisServer(T, tmp, "master").start()
    replica = g.RedisServer(T, tmp, "replica").start(
        args=["--replicaof", "127.0.0.1", str(master.port)])
    if not g.wait_until(lambda: replica_synced(replica), 10):
        raise RuntimeError("the replica never synced:\n%s"
                           % replica.log()[-2000:])
    sen = g.RedisServer(T, tmp, "sentinel", sentinel=True)
    try:
        sen.start(args=[
            "sentinel resolve-hostnames no",
            "sentinel monitor %s 127.0.0.1 %d 1" % (NAME, master.port),
            "sentinel down-after-milliseconds %s 1000" % NAME,
            "sentinel failover-timeout %s 3000" % NAME,
            "sentinel parallel-syncs %s 1" % NAME])
    except RuntimeError as e:
        raise g.Skip("no sentinel could be started: %s" % str(e)[:200])
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
        (5, failover),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
