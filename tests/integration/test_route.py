#!/usr/bin/env python3
"""One routing decision (README: "How a server is chosen", /route): the
redirect, /route and `geo307ctl explain --json` agree, on a real
redis-server fleet, for the three cases that once disagreed (a drained
region, a spilling region, a missing load report); numbers at 6
significant digits; affinity by header, by path segment and embedded
ids, with a body or without; address families for IPv4, IPv6 and
v4-mapped clients.  Statistical checks use 5 binomial sd."""

import json
import math
import os
import re
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
GB = "81.2.69.142"          # GB: region eu
DE6 = "2a02:ff0::1"         # DE, EU, IPv6: region eu
Z = 5


F = g.Fixture(T)
tmp = F.tmp
redis = F.redis
resp = F.resp


def url(sid):
    return "https://%s.up.example.net" % sid


FLEET = {
    "eu-1": {"url": url("eu-1"), "region": "eu", "weight": 100},
    "eu-2": {"url": url("eu-2"), "region": "eu", "weight": 300},
    "us-1": {"url": url("us-1"), "region": "us", "weight": 100},
    "us-2": {"url": url("us-2"), "region": "us", "weight": 100},
    "ap-1": {"url": url("ap-1"), "region": "ap", "weight": 100},
}


def daemon(prefix, name, sections=None):
    rs, r = redis(), resp()
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), prefix=prefix,
                       refresh=0.2, full_resync=1)
    for (sec, key), v in (sections or {}).items():
        c.set(sec, key, v)
    d = g.Daemon(T, tmp(), c, name).start()
    S.setdefault("confs", {})[prefix] = d.conf_path
    return port, aport


def write(prefix, fleet, regions=None, loads=None):
    r = resp()
    v = g.redis_write_fleet(r, prefix, fleet, regions=regions)
    g.redis_report(r, prefix, loads if loads is not None else
                   {sid: 0 for sid in fleet})
    return v


def route(aport, ip, key=None, family=None):
    q = "/route?ip=" + ip
    if key is not None:
        q += "&key=" + key
    if family is not None:
        q += "&family=%d" % family
    st, _, body = g.http_get(aport, q)
    return st, body.decode(), json.loads(body) if st == 200 else None


def explain(prefix, ip, *extra):
    rs = redis()
    p = subprocess.run([CTL, "-c", S["confs"][prefix], "--redis",
                        "redis://127.0.0.1:%d/0" % rs.port, "explain", ip,
                        "--json"] + list(extra), capture_output=True,
                       text=True, timeout=30)
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        return p.returncode, {"stdout": p.stdout, "stderr": p.stderr}


def wait_version(aport, v):
    j, dt = g.wait_fleet(aport, lambda j: j.get("version") == v, 10)
    return dt is not None


def same_decision(a, b):
    """/route and explain agree but for the draw.  Candidates are listed
    in the order of the fleet's records, which is Redis's set order as
    each reader saw it: compared by id."""
    a, b = dict(a), dict(b)
    for x in (a, b):
        x.pop("server", None)
        if (x.get("spill") or {}).get("to"):
            # which of the two regions serves is part of the draw
            x.pop("region", None)
            x.pop("reason", None)
        x["candidates"] = sorted(x.get("candidates", []),
                                 key=lambda c: c["id"])
    return a == b


def draws(port, ip, n, headers=None):
    cl = g.Client(port)
    out = {}
    try:
        for _ in range(n):
            st, h, _ = cl.request("GET", "/upload?x=1",
                                  dict({"X-Forwarded-For": ip},
                                       **(headers or {})))
            key = (st, g.hget(h, "X-Upload-Server"),
                   g.hget(h, "X-Redirect-Reason"))
            out[key] = out.get(key, 0) + 1
    finally:
        cl.close()
    return out


def within(k, n, p):
    return abs(k - n * p) <= Z * math.sqrt(n * p * (1 - p)) + 1e-9


def three_cases(t):
    prefix = "rt1:"
    v = write(prefix, FLEET)
    port, aport = daemon(prefix, "three")
    wait_version(aport, v)

    # 1. region eu drained: home eu, served by us, only us candidates
    r = resp()
    v = g.redis_op(r, prefix, [["HSET", prefix + "regions", "eu", "drain"]])
    wait_version(aport, v)
    st, raw, j = route(aport, GB)
    rc, e = explain(prefix, GB)
    cands = (j or {}).get("candidates", [])
    ok = (st == 200 and j["home_region"] == "eu" and j["region"] == "us" and
          j["reason"] == "fallback" and cands and
          all(c["region"] == "us" for c in cands) and
          abs(sum(c["probability"] for c in cands) - 1) < 1e-6)
    t.ok(ok, "eu drained: /route says home eu, region us, reason fallback, "
         "us candidates summing to 1", raw)
    t.ok(rc == 0 and same_decision(j, e), "eu drained: geo307ctl explain "
         "--json is the same decision as /route", "%r\n%r" % (j, e))
    got = draws(port, GB, 100)
    t.ok(all(k[2] == "fallback" and k[1].startswith("us-") for k in got),
         "eu drained: 100 requests all go to us with reason fallback",
         repr(got))
    v = g.redis_op(r, prefix, [["HDEL", prefix + "regions", "eu"]])
    wait_version(aport, v)

    # 2. eu spilling: both eu servers at 0.95, H = 0.05, fraction 0.5
    g.redis_report(r, prefix, {"eu-1": "0.95", "eu-2": "0.95"})
    ok = g.wait_until(lambda: route(aport, GB)[2]["spill"] is not None, 5)
    st, raw, j = route(aport, GB)
    rc, e = explain(prefix, GB)
    sp = (j or {}).get("spill") or {}
    p = {c["id"]: c["probability"] for c in (j or {}).get("candidates", [])}
    t.ok(ok and abs(sp.get("headroom", 0) - 0.05) < 1e-6 and
         abs(sp.get("fraction", 0) - 0.5) < 1e-6 and sp.get("to") == "us" and
         abs(p.get("eu-1", 0) - 0.125) < 1e-6 and
         abs(p.get("eu-2", 0) - 0.375) < 1e-6 and
         abs(p.get("us-1", 0) - 0.25) < 1e-6 and
         abs(p.get("us-2", 0) - 0.25) < 1e-6,
         "eu spilling: /route shows headroom 0.05, fraction 0.5 to us, and "
         "candidates of both regions (eu 1/8 3/8, us 1/4 1/4)", raw)
    t.ok(rc == 0 and same_decision(j, e), "eu spilling: explain --json is "
         "the same decision as /route", "%r\n%r" % (j, e))
    n = 800
    got = draws(port, GB, n)
    by = {}
    for (st, sid, why), k in got.items():
        by[sid] = by.get(sid, 0) + k
    bad = [sid for sid in p if not within(by.get(sid, 0), n, p[sid])]
    t.ok(not bad and sum(by.values()) == n, "eu spilling: %d requests land "
         "as /route's probabilities say (5 sd)" % n, repr(by))
    t.ok(all((why == "fallback") == sid.startswith("us-")
             for (st, sid, why) in got), "eu spilling: spilled requests say "
         "fallback, the rest geo", repr(got))

    # 3. eu-2 without a load report: not a candidate; load null everywhere
    g.redis_report(r, prefix, {"eu-1": "0.2", "eu-2": None})
    g.wait_until(lambda: "eu-2" not in [
        c["id"] for c in route(aport, GB)[2]["candidates"]], 5)
    st, raw, j = route(aport, GB)
    rc, e = explain(prefix, GB)
    fj = g.fleet_json(aport)
    f2 = g.fleet_server(fj, "eu-2") or {}
    ids = [c["id"] for c in j["candidates"]]
    t.ok(ids == ["eu-1"] and j["reason"] == "geo" and
         f2.get("load") is None and f2.get("fresh") is False and
         f2.get("why") == "no load report" and f2.get("candidate") is False,
         "no load report for eu-2: /route lists only eu-1; /fleet says load "
         "null, fresh false, why 'no load report'", "%s\n%r" % (raw, f2))
    t.ok(rc == 0 and same_decision(j, e), "no load report: explain --json "
         "is the same decision as /route", "%r\n%r" % (j, e))
    long_num = re.findall(r"-?\d+\.\d{7,}", raw)
    t.ok(j["latitude"] == 51.5142 and j["longitude"] == -0.0931 and
         not long_num, "numbers at 6 significant digits (latitude 51.5142)",
         repr(long_num))


def affinity(t):
    prefix = "rt2:"
    fleet = {("eu-%d" % i): {"url": url("eu-%d" % i), "region": "eu",
                             "weight": 100 * i} for i in range(1, 5)}
    fleet["us-1"] = {"url": url("us-1"), "region": "us", "weight": 100}
    v = write(prefix, fleet)
    port, aport = daemon(prefix, "aff", {("affinity", "header"): "Upload-Id"})
    wait_version(aport, v)
    keys = ["upload-%d" % i for i in range(40)]
    first = {}
    for k in keys:
        got = draws(port, GB, 3, {"Upload-Id": k})
        first[k] = list(got)
    t.ok(all(len(v) == 1 and v[0][0] == 307 and v[0][2] == "affinity"
             for v in first.values()), "a key goes to one server, reason "
         "affinity, every time", repr(first)[:400])
    k0 = keys[0]
    sid = first[k0][0][1]
    st, h, _ = g.http_request(port, "POST", "/upload?x=1",
                              {"X-Forwarded-For": GB, "Upload-Id": k0},
                              body=b"x" * 4096)
    t.ok(st == 307 and g.hget(h, "X-Upload-Server") == sid,
         "the same key with a body goes to the same server (%s)" % sid)
    st, raw, j = route(aport, GB, key=k0)
    t.ok(j["affinity"] == {"key": k0, "mode": "hash", "result": "hit"} and
         j["server"]["id"] == sid and len(j["candidates"]) == 1 and
         j["candidates"][0]["probability"] == 1, "/route?key= shows the hit "
         "and its one candidate", raw)
    # drain it, and swing every load: its keys stay
    r = resp()
    v = g.redis_op(r, prefix, [["HSET", prefix + "server:" + sid, "state",
                                "drain"]])
    g.redis_report(r, prefix, {s: "0.9" for s in fleet})
    wait_version(aport, v)
    moved = [k for k in keys
             if list(draws(port, GB, 1, {"Upload-Id": k}))[0][1] !=
             first[k][0][1]]
    t.ok(not moved, "a drain and a load swing move no key", repr(moved))
    m = g.scrape(aport)
    t.ok(m.get("geo307_affinity_total", result="hit") >= 40 * 3 + 41 and
         m.get("geo307_affinity_total", result="none") == 0,
         "geo307_affinity_total counts hits (%d)" %
         m.get("geo307_affinity_total", result="hit"))
    got = draws(port, GB, 5)
    m2 = g.scrape(aport)
    t.ok(m2.get("geo307_affinity_total", result="none") == 5 and
         all(k[2] == "geo" for k in got), "no key: counted none, normal "
         "selection", repr(got))

    # path segment and embedded ids on daemons of their own
    port2, aport2 = daemon(prefix, "aff-path",
                           {("affinity", "path_segment"): 2})
    a = draws(port2, GB, 1)
    cl = g.Client(port2)
    servers = set()
    for _ in range(5):
        st, h, _ = cl.request("PATCH", "/files/abc123/part?x=1",
                              {"X-Forwarded-For": GB})
        servers.add((st, g.hget(h, "X-Upload-Server"),
                     g.hget(h, "X-Redirect-Reason")))
    cl.close()
    t.ok(len(servers) == 1 and list(servers)[0][2] == "affinity",
         "path_segment = 2: /files/<key>/... keeps its server",
         repr(servers) + repr(a))
    port3, aport3 = daemon(prefix, "aff-emb",
                           {("affinity", "header"): "Upload-Id",
                            ("affinity", "mode"): "embedded"})
    got = draws(port3, GB, 3, {"Upload-Id": "us-1.resume-42"})
    t.ok(list(got) == [(307, "us-1", "affinity")], "embedded: a GB client "
         "with key us-1.* goes to us-1 (another region)", repr(got))
    v = g.redis_op(r, prefix, [["HSET", prefix + "server:us-1", "state",
                                "down"]])
    wait_version(aport3, v)
    got = draws(port3, GB, 3, {"Upload-Id": "us-1.resume-42"})
    m = g.scrape(aport3)
    t.ok(all(k[1].startswith("eu-") and k[2] == "geo" for k in got) and
         m.get("geo307_affinity_total", result="miss") >= 3,
         "embedded: us-1 down: a miss (counted), normal selection",
         repr(got))


def families(t):
    prefix = "rt3:"
    fleet = {
        "eu-4": {"url": url("eu-4"), "region": "eu", "weight": 100,
                 "families": "4"},
        "eu-6": {"url": url("eu-6"), "region": "eu", "weight": 100,
                 "families": "6"},
        "us-46": {"url": url("us-46"), "region": "us", "weight": 100},
    }
    v = write(prefix, fleet)
    port, aport = daemon(prefix, "fam")
    wait_version(aport, v)
    v4 = draws(port, GB, 60)
    mapped = draws(port, "::ffff:" + GB, 30)
    v6 = draws(port, DE6, 60)
    t.ok(set(k[1] for k in v4) == {"eu-4"} and
         set(k[1] for k in mapped) == {"eu-4"} and
         set(k[1] for k in v6) == {"eu-6"},
         "families: IPv4 and ::ffff: clients only get the 4 server, IPv6 "
         "clients only the 6 one", repr((v4, mapped, v6)))
    st, raw, j = route(aport, GB, family=6)
    t.ok(j["family"] == 6 and [c["id"] for c in j["candidates"]] == ["eu-6"],
         "/route&family=6 for an IPv4 address: the 6 server", raw)
    fj = g.fleet_json(aport)
    t.ok((g.fleet_server(fj, "eu-4") or {}).get("families") == "4" and
         (g.fleet_server(fj, "us-46") or {}).get("families") == "4 6",
         "/fleet shows families")
    r = resp()
    v = g.redis_op(r, prefix, [["HSET", prefix + "server:eu-6", "state",
                                "down"]])
    wait_version(aport, v)
    v6 = draws(port, DE6, 20)
    t.ok(set(k[1:] for k in v6) == {("us-46", "fallback")}, "a region the "
         "family filter empties falls back (IPv6 client to us-46)", repr(v6))
    v = g.redis_op(r, prefix, [["HSET", prefix + "server:eu-6", "families",
                                "5"]])
    time.sleep(0.5)
    m = g.scrape(aport)
    t.ok(m.get("geo307_fleet_rejected_records_total") >= 1 and
         g.fleet_server(g.fleet_json(aport), "eu-6") is None,
         "families = 5: the record is rejected and counted")


def main():
    T.run([
        (10, three_cases),
        (9, affinity),
        (5, families),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
