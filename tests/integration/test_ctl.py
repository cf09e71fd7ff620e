#!/usr/bin/env python3
"""geo307ctl against a real redis-server (SPEC 3 and 5): every command, the
atomic write (version + 1 and a PUBLISH of the new version per change,
never for load reports), validation with the daemon's code (exit 2), Redis
down or failing (exit 3), --prefix isolation, and explain with the GeoIP
fixture.

Needs redis-server (skipped without it)."""

import json
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {"stderr": []}
CTL = os.environ.get("GEO307CTL_BIN") or \
    os.path.join(os.path.dirname(g.BIN), "geo307ctl")
P = "ctl:"                  # the prefix the config names
GB = "81.2.69.142"          # GB, EU: region eu
US = "216.160.83.56"        # US, NA: region us


F = g.Fixture(T, redis_name="ctl-redis")
tmp = F.tmp


def redis():
    """The script's redis-server and a Resp client on it (F), and the
    config naming them."""
    if "conf" not in S:
        rs, _ = F.redis(), F.resp()
        c = g.redis_config(g.free_port(), g.free_port(), rs.port,
                           tmp(), prefix=P)
        S["conf"] = g.write_config(tmp(), c.text(), "ctl.conf")
        S["url"] = "redis://127.0.0.1:%d/0" % rs.port
    return F.resp()


class Res:
    def __init__(self, rc, out, err, dt):
        self.rc, self.out, self.err, self.dt = rc, out, err, dt

    def __repr__(self):
        return "rc %r (%.2fs)\nstdout: %r\nstderr: %r" % (
            self.rc, self.dt, self.out[-1500:], self.err[-1500:])


def ctl(*args, conf=True, prefix=None, url=None, timeout=15, env=None):
    """Run geo307ctl: with -c the config, or with --redis/--prefix (or,
    with env, --redis only if url is given)."""
    redis()
    argv = [CTL]
    if conf:
        argv += ["-c", S["conf"]]
    if url is not None or (not conf and env is None):
        argv += ["--redis", url or S["url"]]
    if prefix is not None:
        argv += ["--prefix", prefix]
    argv += [str(a) for a in args]
    t0 = time.monotonic()
    e = dict(os.environ)
    e.pop("GEO307_REDIS_URL", None)
    e.update(env or {})
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout * g.SLACK,
                       env=e)
    res = Res(p.returncode, p.stdout.decode("utf-8", "replace"),
              p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)
    S["stderr"].append(res.err)
    return res


def version(prefix=P):
    return int(redis().cmd("GET", prefix + "version") or 0)


def hgetall(sid, prefix=P):
    v = redis().cmd("HGETALL", prefix + "server:" + sid) or []
    return dict(zip(v[0::2], v[1::2]))


class Sub:
    """SUBSCRIBE P changed on its own connection."""

    def __init__(self, prefix=P):
        self.r = F.redis().conn()
        self.r.cmd("SUBSCRIBE", prefix + "changed")

    def next(self, timeout=2.0):
        """The next message's data, or None within timeout."""
        self.r.settimeout(timeout * g.SLACK)
        try:
            m = self.r.read()
        except (socket.timeout, BlockingIOError):
            return None
        return m[2] if isinstance(m, list) and m[0] == "message" else m

    def drain(self):
        """Forget what earlier commands published."""
        while self.next(0.02) is not None:
            pass

    def close(self):
        self.r.close()


def sub(prefix=P):
    key = "sub:" + prefix
    if key not in S:
        redis()
        S[key] = Sub(prefix)
        T.at_exit(S[key].close)
    return S[key]


def write_ok(t, desc, args, check=lambda: True, prefix=P, **kw):
    """A write: exit 0, version + 1, exactly one PUBLISH of the new
    version, '(version N)' on stdout, and check() holds afterwards."""
    s = sub(prefix)
    s.drain()
    v0 = version(prefix)
    res = ctl(*args, **kw)
    msg = s.next(2)
    extra = s.next(0.05)
    v1 = version(prefix)
    ok = check()
    return t.ok(res.rc == 0 and v1 == v0 + 1 and msg == str(v1) and
                extra is None and ok and ("(version %d)" % v1) in res.out,
                desc, "%r\nversion %d -> %d, published %r then %r, check %r"
                % (res, v0, v1, msg, extra, ok))


def bad(t, desc, args, want_rc=2, pattern=None, **kw):
    """Refused: the exit code, a 'geo307ctl: ' message, no version bump
    and nothing published."""
    s = sub(kw.get("prefix") or P)
    s.drain()
    v0 = version()
    res = ctl(*args, **kw)
    msg = s.next(0.05)
    v1 = version()
    line = res.err.strip().splitlines()[-1] if res.err.strip() else ""
    return t.ok(res.rc == want_rc and line.startswith("geo307ctl: ") and
                (pattern is None or re.search(pattern, res.err)) and
                v1 == v0 and msg is None and res.out == "", desc,
                "%r\nversion %d -> %d, published %r" % (res, v0, v1, msg))


# ------------------------------------------------------------ add/list/show

def add_list_show(t):
    redis()
    v0 = version()
    write_ok(t, "add eu-1 URL eu: exit 0, version + 1, published, "
             "confirmation", ["add", "eu-1", "https://eu-1.up.example.net",
                              "eu"])
    h = hgetall("eu-1")
    t.eq((h, redis().cmd("SISMEMBER", P + "servers", "eu-1")),
         ({"url": "https://eu-1.up.example.net", "region": "eu",
           "weight": "100", "state": "up"}, 1),
         "add: the hash holds url, region, weight 100, state up; the id is "
         "in P servers")
    write_ok(t, "add us-1 URL us 50", ["add", "us-1",
                                        "https://us-1.up.example.net/in/",
                                        "us", "50"],
             lambda: hgetall("us-1").get("weight") == "50")
    t.eq(version(), v0 + 2, "two adds: the version moved by exactly 2")

    res = ctl("list")
    rows = {ln.split()[0]: ln.split() for ln in res.out.splitlines()[1:]
            if ln and not ln.startswith("(")}
    t.ok(res.rc == 0 and res.out.startswith("ID") and
         rows.get("eu-1", [])[:5] == ["eu-1", "eu", "up", "100", "-"] and
         rows.get("us-1", [])[:5] == ["us-1", "us", "up", "50", "-"] and
         rows["eu-1"][5] == "https://eu-1.up.example.net",
         "list: a table of id, region, state, weight, load ('-': no "
         "report), url", repr(res))

    res = ctl("list", "--json")
    try:
        j = {o["id"]: o for o in json.loads(res.out)}
    except (ValueError, KeyError, TypeError):
        j = {}
    e = j.get("eu-1", {})
    t.ok(res.rc == 0 and set(j) == {"eu-1", "us-1"} and
         e.get("region") == "eu" and e.get("state") == "up" and
         e.get("weight") == 100 and e.get("load") is None and
         e.get("url") == "https://eu-1.up.example.net" and
         j["us-1"].get("weight") == 50 and e.get("valid") is True,
         "list --json: an array of objects", repr(res))

    res = ctl("show", "us-1")
    kv = dict(re.split(r"\s+", ln, 1) for ln in res.out.splitlines()
              if " " in ln)
    t.ok(res.rc == 0 and kv.get("id") == "us-1" and
         kv.get("url") == "https://us-1.up.example.net/in/" and
         kv.get("region") == "us" and kv.get("weight") == "50" and
         kv.get("state") == "up" and kv.get("load", "").startswith("-"),
         "show ID: every field and the load", repr(res))
    res = ctl("show", "us-1", "--json")
    try:
        j = json.loads(res.out)
    except ValueError:
        j = {}
    t.ok(res.rc == 0 and j.get("fields") == {
        "url": "https://us-1.up.example.net/in/", "region": "us",
        "weight": "50", "state": "up"} and j.get("listed") is True and
        j.get("load") is None and j.get("ttl") is None,
        "show ID --json: the raw fields, listed, no load", repr(res))
    bad(t, "show of a missing server: exit 1, no such server",
        ["show", "nope-1"], 1, "no such server")

    # Replace: fields of the older record do not survive.
    redis().cmd("HSET", P + "server:us-1", "families", "4")
    res0 = ctl("add", "us-1", "https://us-1.up.example.net", "us",
               "--replace")
    t.ok(res0.rc == 0 and "replaced" in res0.out and
         hgetall("us-1") == {"url": "https://us-1.up.example.net",
                             "region": "us", "weight": "100",
                             "state": "up"},
         "add --replace over an existing server replaces the whole hash",
         repr(res0))


# ------------------------------------------------------------------ writes

def writes(t):
    redis()
    ctl("add", "w-1", "https://w-1.up.example.net", "eu")
    write_ok(t, "weight w-1 70", ["weight", "w-1", "70"],
             lambda: hgetall("w-1").get("weight") == "70")
    write_ok(t, "drain w-1: state drain", ["drain", "w-1"],
             lambda: hgetall("w-1").get("state") == "drain")
    write_ok(t, "undrain w-1: state up", ["undrain", "w-1"],
             lambda: hgetall("w-1").get("state") == "up")
    write_ok(t, "down w-1: state down", ["down", "w-1"],
             lambda: hgetall("w-1").get("state") == "down")
    write_ok(t, "weight w-1 0 (no new uploads) is valid",
             ["weight", "w-1", "0"],
             lambda: hgetall("w-1").get("weight") == "0")
    redis().cmd("SET", P + "load:w-1", "0.5", "EX", "60")
    write_ok(t, "remove w-1: the hash, the SET member and the load key go",
             ["remove", "w-1"],
             lambda: hgetall("w-1") == {} and
             redis().cmd("SISMEMBER", P + "servers", "w-1") == 0 and
             redis().cmd("EXISTS", P + "load:w-1") == 0)
    bad(t, "weight of a missing server: exit 1 'no such server', no bump",
        ["weight", "w-1", "5"], 1, "no such server")
    bad(t, "drain of a missing server: exit 1, no bump, no hash created",
        ["drain", "w-1"], 1, "no such server")
    t.eq(redis().cmd("EXISTS", P + "server:w-1"), 0,
         "a refused drain created no hash")
    bad(t, "remove of a missing server: exit 1", ["remove", "w-1"], 1,
        "no such server")


def protocol(t):
    """The commands one write sends, seen by MONITOR."""
    redis()
    ctl("add", "m-1", "https://m-1.up.example.net", "eu")
    mon = g.Monitor(F.redis().port)
    try:
        time.sleep(0.1)
        res = ctl("weight", "m-1", "5")
        time.sleep(0.2)
        lines = [a for _, _, a in mon.take()]
    finally:
        mon.stop()
    names = [a[0].upper() for a in lines if a and
             a[0].upper() not in ("AUTH", "SELECT", "PING", "ROLE",
                                  "CLIENT", "INFO", "COMMAND", "HELLO")]
    want = ["WATCH", "GET", "EXISTS", "HGET", "MULTI", "HSET", "INCR",
            "XADD",
            "PUBLISH", "EXEC"]
    w = [a for a in lines if a and a[0].upper() == "WATCH"]
    x = [a for a in lines if a and a[0].upper() == "XADD"]
    v = int(redis().cmd("GET", P + "version"))
    t.ok(res.rc == 0 and names == want and w and
         P + "version" in w[0] and P + "server:m-1" in w[0] and x and
         x[0][1:] == [P + "changes", "MAXLEN", "~", "100000", "*",
                      "version", str(v), "ids", "m-1"],
         "a write is WATCH P version P server:ID, GET, check (exists, "
         "value now), MULTI, "
         "change, INCR, XADD P changes (version, ids), PUBLISH, EXEC",
         "%r\n%r" % (res, lines))


def concurrent(t):
    """Forty writers at once, on distinct servers: WATCH/EXEC retries with
    a jittered backoff make every one land, each with its own version,
    each published once (without the backoff, 15 of 40 gave up)."""
    n = 40
    rs = redis()
    ids = ["c-%d" % i for i in range(n)]
    cmds = []
    for sid in ids:
        cmds += g.redis_server_cmds(P, sid, {
            "url": "https://%s.up.example.net" % sid, "region": "eu"})
    cmds.append(["SADD", P + "servers"] + ids)
    g.redis_op(rs, P, cmds)
    s = sub()
    s.drain()
    v0 = version()
    procs = [subprocess.Popen([CTL, "-c", S["conf"], "weight", sid, "7"],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for sid in ids]
    outs = [p.communicate(timeout=30 * g.SLACK) for p in procs]
    S["stderr"].extend(e.decode("utf-8", "replace") for _, e in outs)
    msgs = []
    while True:
        m = s.next(0.3)
        if m is None:
            break
        msgs.append(m)
    failed = [(sid, p.returncode, e) for sid, p, (_, e) in
              zip(ids, procs, outs) if p.returncode != 0]
    t.ok(not failed and version() == v0 + n and
         sorted(msgs, key=int) == [str(v0 + i) for i in range(1, n + 1)] and
         all(hgetall(sid).get("weight") == "7" for sid in ids),
         "%d concurrent writes on distinct servers: all succeed, version "
         "+ %d exactly, versions v+1..v+%d each published once" % (n, n, n),
         "failed %r msgs %r v0 %d v %d" % (failed[:5], msgs, v0, version()))
    g.redis_op(rs, P, [["DEL", P + "server:" + sid] for sid in ids] +
               [["SREM", P + "servers"] + ids])


# ------------------------------------------------------------------ report

def report(t):
    r = redis()
    ctl("add", "r-1", "https://r-1.up.example.net", "eu")
    s = sub()
    s.drain()
    v0 = version()
    res = ctl("report", "r-1", "0.25")
    ttl = r.cmd("TTL", P + "load:r-1")
    t.ok(res.rc == 0 and r.cmd("GET", P + "load:r-1") == "0.25" and
         13 <= ttl <= 15, "report ID LOAD: SET P load:ID LOAD EX "
         "stale_after (15)", "%r ttl %r" % (res, ttl))
    t.ok(version() == v0 and s.next(0.2) is None,
         "report: no version bump, nothing published")
    res = ctl("report", "r-1", "1", "--ttl", "5")
    ttl = r.cmd("TTL", P + "load:r-1")
    t.ok(res.rc == 0 and r.cmd("GET", P + "load:r-1") == "1" and
         3 <= ttl <= 5, "report --ttl 5", "%r ttl %r" % (res, ttl))
    res = ctl("report", "r-1", "0.5", "--ttl=2.5")
    pttl = r.cmd("PTTL", P + "load:r-1")
    t.ok(res.rc == 0 and 1500 < pttl <= 2500,
         "report --ttl=2.5: a fractional ttl (PX)", "%r pttl %r" % (res, pttl))
    redis().cmd("SADD", P + "servers", "r-2")
    res = ctl("report", "r-2", "0.000001", conf=False, prefix=P)
    ttl = r.cmd("TTL", P + "load:r-2")
    t.ok(res.rc == 0 and r.cmd("GET", P + "load:r-2") == "0.000001" and
         13 <= ttl <= 15, "report without a config: ttl 15 by default",
         "%r ttl %r" % (res, ttl))
    ctl("report", "r-1", "0.75")
    res = ctl("list")
    row = [ln for ln in res.out.splitlines() if ln.startswith("r-1 ")]
    res2 = ctl("show", "r-1", "--json")
    try:
        j = json.loads(res2.out)
    except ValueError:
        j = {}
    t.ok(row and re.search(r"\s0\.75 \(1[345]s\)\s", row[0]) and
         j.get("load") == 0.75 and 13 <= (j.get("ttl") or 0) <= 15,
         "list and show: the load with the TTL left",
         "%r\n%r" % (res, res2))
    r.cmd("DEL", P + "load:r-2")


# --------------------------------------------------------- regions, maint

def regions(t):
    r = redis()
    write_ok(t, "drain-region eu: P regions eu = drain",
             ["drain-region", "eu"],
             lambda: r.cmd("HGET", P + "regions", "eu") == "drain")
    res = ctl("list")
    t.ok(res.rc == 0 and "drained: eu" in res.out,
         "list says which regions are drained", repr(res))
    write_ok(t, "undrain-region eu: P regions eu = up",
             ["undrain-region", "eu"],
             lambda: r.cmd("HGET", P + "regions", "eu") == "up")
    bad(t, "drain-region of a region not in the config: exit 1",
        ["drain-region", "mars"], 1, "mars")
    write_ok(t, "maintenance on 30: P maintenance = 30",
             ["maintenance", "on", "30"],
             lambda: r.cmd("GET", P + "maintenance") == "30")
    write_ok(t, "maintenance off: P maintenance gone",
             ["maintenance", "off"],
             lambda: r.cmd("EXISTS", P + "maintenance") == 0)
    for args in (["on", "0"], ["on", "abc"], ["on", "86401"], ["on", "1.5"]):
        bad(t, "maintenance %s: exit 1" % " ".join(args),
            ["maintenance"] + args, 1, "maintenance")
    bad(t, "maintenance with no argument: usage, exit 2", ["maintenance"], 2,
        "usage")


# --------------------------------------------------------------- bad input

def bad_input(t):
    redis()
    ctl("add", "b-1", "https://b-1.up.example.net", "eu")
    for w in ("-1", "1000001", "abc", "", "1e3", " 5"):
        bad(t, "weight %r: exit 1" % w, ["weight", "b-1", w], 1,
            "bad weight")
    bad(t, "state bogus: exit 1", ["state", "b-1", "bogus"], 1, "bad state")
    for load in ("1.5", "0.1234567", "-0", "2", ".5", "1.01", "abc"):
        bad(t, "report load %r: exit 1" % load, ["report", "b-1", load], 1,
            "bad load")
    t.eq(redis().cmd("EXISTS", P + "load:b-1"), 0,
         "refused reports wrote nothing")
    for ttl in ("0", "-1", "abc", "86401"):
        bad(t, "report --ttl %r: exit 1" % ttl,
            ["report", "b-1", "0.5", "--ttl", ttl], 1, "ttl")
    for sid in ("bad id", "-x", "a" * 64, "x/y", "é"):
        bad(t, "id %r: exit 1" % sid,
            ["add", sid, "https://x.up.example.net", "eu"], 1,
            "bad server id")
    bad(t, "weight for a bad id: exit 1", ["weight", "a:b", "5"], 1,
        "bad server id")
    res = ctl("add", "b-2", "https://user:hunter2@b-2.up.example.net", "eu")
    t.ok(res.rc == 1 and "user:password" in res.err and
         "hunter2" not in res.err + res.out,
         "a url with userinfo: exit 1, the password not echoed", repr(res))
    bad(t, "a url with a query: exit 1",
        ["add", "b-2", "https://b-2.up.example.net/?x=1", "eu"], 1, "query")
    bad(t, "a url with a fragment: exit 1",
        ["add", "b-2", "https://b-2.up.example.net/#x", "eu"], 1, "fragment")
    bad(t, "an http:// url without allow_http: exit 1",
        ["add", "b-2", "http://b-2.up.example.net", "eu"], 1, "https")
    bad(t, "a host outside allowed_hosts: exit 1",
        ["add", "b-2", "https://b-2.elsewhere.example", "eu"], 1,
        "allowed_hosts")
    bad(t, "not a url: exit 1", ["add", "b-2", "b-2.up.example.net", "eu"],
        1, "url")
    bad(t, "a region not in the config: exit 1",
        ["add", "b-2", "https://b-2.up.example.net", "mars"], 1,
        "unknown region")
    bad(t, "add with a bad weight: exit 1",
        ["add", "b-2", "https://b-2.up.example.net", "eu", "-5"], 1,
        "bad weight")
    bad(t, "add with a bad region name: exit 1",
        ["add", "b-2", "https://b-2.up.example.net", "e u"], 1, "region")
    t.eq(redis().cmd("EXISTS", P + "server:b-2"), 0,
         "refused adds wrote nothing")

    # Without -c: grammar only; an http url and any region name pass.
    s = sub()
    s.drain()
    v0 = version()
    res = ctl("add", "b-3", "http://b-3.example.org:8080/up", "mars",
              conf=False, prefix=P)
    t.ok(res.rc == 0 and version() == v0 + 1 and s.next(2) == str(v0 + 1)
         and res.err.count("need -c") == 1 and
         hgetall("b-3").get("region") == "mars",
         "without -c: grammar only (http, any region name), one note "
         "on stderr that region and allowed_hosts checks need -c",
         repr(res))
    bad(t, "without -c: a url with userinfo still fails",
        ["add", "b-4", "https://u:p@b-4.example.org", "mars"], 1,
        "user:password", conf=False, prefix=P)
    bad(t, "without -c: ftp:// fails",
        ["add", "b-4", "ftp://b-4.example.org", "mars"], 1, "url",
        conf=False, prefix=P)

    # A record edited with redis-cli that the routers would skip.
    redis().cmd("HSET", P + "server:b-1", "state", "bogus")
    res = ctl("list")
    row = [ln for ln in res.out.splitlines() if ln.startswith("b-1 ")]
    res2 = ctl("show", "b-1", "--json")
    try:
        j = json.loads(res2.out)
    except ValueError:
        j = {}
    t.ok(res.rc == 0 and row and "skipped" in row[0] and "state" in row[0]
         and j.get("valid") is False and "state" in (j.get("problem") or ""),
         "list and show mark a record with a bad state as skipped",
         "%r\n%r" % (res, res2))
    # A terminal escape in a record is shown escaped, as in the log.
    redis().cmd("HSET", P + "server:b-1", "state", "\x1b[2J\\\"")
    res = ctl("list")
    row = [ln for ln in res.out.splitlines() if ln.startswith("b-1 ")]
    t.ok(res.rc == 0 and row and "\x1b" not in res.out and
         '\\x1b[2J\\\\\\"' in row[0],
         "a control byte in a record is printed as \\xHH, \\ and \" "
         "backslashed", repr(res))
    res = ctl("show", "b-1", "--json")
    try:
        j = json.loads(res.out)
    except ValueError:
        j = {}
    t.ok(res.rc == 0 and "\x1b" not in res.out and
         (j.get("fields") or {}).get("state") == "\x1b[2J\\\"",
         "show --json: the same value exactly, escaped by JSON itself",
         repr(res))
    ctl("remove", "b-1")
    ctl("remove", "b-3", conf=False, prefix=P)

    bad(t, "weight with no value: usage, exit 2", ["weight", "b-1"], 2,
        "usage")
    bad(t, "an unknown command: exit 2", ["frobnicate"], 2, "unknown")
    bad(t, "a misspelt command gets a did-you-mean hint", ["wieght", "b-1",
        "5"], 2, r'unknown command "wieght" \(did you mean "weight"\?')
    bad(t, "an unknown option: exit 2", ["--bogus", "list"], 2, "option")
    bad(t, "a bad --prefix: exit 1", ["list"], 1, "prefix",
        prefix="has space")


def bad_config(t):
    redis()
    path = g.write_config(tmp(), "[redis]\nurl = redis://x\n[bogus]\n",
                          "broken.conf")
    p = subprocess.run([CTL, "-c", path, "list"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=10 * g.SLACK)
    err = p.stderr.decode("utf-8", "replace")
    S["stderr"].append(err)
    t.ok(p.returncode == 1 and "broken.conf" in err,
         "a config that does not load: exit 1 naming the file", repr(err))


# -------------------------------------------------------------- redis down

def redis_down(t):
    redis()
    port = g.free_port()
    res = ctl("list", conf=False, url="redis://127.0.0.1:%d/0" % port)
    t.ok(res.rc == 3 and "geo307ctl: " in res.err and
         re.search(r"(?i)redis", res.err) and res.dt < 3,
         "Redis down (closed port): exit 3 with a clear message in < 3 s",
         repr(res))
    res = ctl("weight", "x-1", "5", conf=False,
              url="redis://:sekrit-pw@127.0.0.1:%d/0" % port)
    t.ok(res.rc == 3 and "sekrit-pw" not in res.err + res.out and
         res.dt < 3, "a write with Redis down: exit 3, the password never "
         "printed", repr(res))
    # A listener that never answers: the 2 s timeout bounds the wait.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    try:
        res = ctl("list", conf=False,
                  url="redis://127.0.0.1:%d/0" % ls.getsockname()[1])
    finally:
        ls.close()
    t.ok(res.rc == 3 and res.dt < 3 * g.SLACK + 1,
         "Redis that accepts but never answers: exit 3 after the timeout",
         repr(res))
    # An error reply: P servers is not a SET.
    redis().cmd("SET", "wrong:servers", "x")
    res = ctl("list", conf=False, prefix="wrong:")
    t.ok(res.rc == 3 and "WRONGTYPE" in res.err,
         "an error reply: exit 3 with Redis's message", repr(res))
    redis().cmd("DEL", "wrong:servers")


def url_from_env(t):
    """$GEO307_REDIS_URL: the url without a password in argv."""
    redis()
    dead = "redis://:envsecret@127.0.0.1:%d/0" % g.free_port()
    res = ctl("list", conf=False, prefix=P, env={"GEO307_REDIS_URL":
                                                 S["url"]})
    t.ok(res.rc == 0 and "ID" in res.out.upper(),
         "GEO307_REDIS_URL alone: geo307ctl reaches that Redis", repr(res))
    res = ctl("list", conf=False, prefix=P, env={"GEO307_REDIS_URL": dead})
    t.ok(res.rc == 3 and "envsecret" not in res.err + res.out,
         "GEO307_REDIS_URL naming a closed port: exit 3, the password "
         "not printed", repr(res))
    res = ctl("list", env={"GEO307_REDIS_URL": dead})
    t.ok(res.rc == 0, "-c wins over GEO307_REDIS_URL", repr(res))
    res = ctl("list", conf=False, prefix=P, url=S["url"],
              env={"GEO307_REDIS_URL": dead})
    t.ok(res.rc == 0, "--redis wins over GEO307_REDIS_URL", repr(res))
    res = ctl("list", conf=False, prefix=P,
              env={"GEO307_REDIS_URL": "http://x"})
    t.ok(res.rc == 1 and "GEO307_REDIS_URL" in res.err,
         "a bad GEO307_REDIS_URL: exit 1 naming the variable", repr(res))


# ------------------------------------------------------------------ prefix

def prefixes(t):
    redis()
    a = ctl("add", "pa-1", "https://pa-1.example.org", "eu", conf=False,
            prefix="pa:")
    b = ctl("add", "pb-1", "https://pb-1.example.org", "us", conf=False,
            prefix="pb:")
    la = ctl("list", "--json", conf=False, prefix="pa:")
    lb = ctl("list", "--json", conf=False, prefix="pb:")
    try:
        ia = [o["id"] for o in json.loads(la.out)]
        ib = [o["id"] for o in json.loads(lb.out)]
    except (ValueError, KeyError, TypeError):
        ia = ib = None
    t.ok(a.rc == 0 and b.rc == 0 and ia == ["pa-1"] and ib == ["pb-1"],
         "--prefix: two prefixes do not see each other's servers",
         "%r\n%r\n%r\n%r" % (a, b, la, lb))
    t.ok(version("pa:") == 1 and version("pb:") == 1 and
         redis().cmd("EXISTS", "pa:server:pa-1") == 1 and
         redis().cmd("EXISTS", "pb:server:pb-1") == 1,
         "--prefix: keys and versions live under their own prefix")
    res = ctl("show", "pa-1", conf=True, prefix="pb:")
    t.ok(res.rc == 1 and "no such server" in res.err,
         "--prefix overrides the config's prefix", repr(res))


# ----------------------------------------------------------------- explain

def explain(t):
    r = redis()
    if not os.path.isfile(g.FIXTURE_DB):
        raise g.Skip("no GeoIP fixture")
    for sid, region in (("eu-1", "eu"), ("us-1", "us"), ("us-2", "us")):
        ctl("add", sid, "https://%s.up.example.net" % sid, region)
        ctl("report", sid, "0.5")
    ctl("undrain-region", "eu")
    res = ctl("explain", GB)
    kv = {}
    for ln in res.out.splitlines():
        m = re.match(r"^(\w+)\s+(.*)$", ln)
        if m:
            kv.setdefault(m.group(1), m.group(2))
    t.ok(res.rc == 0 and kv.get("country") == "GB" and
         kv.get("region", "").startswith("eu") and
         kv.get("server", "").startswith("eu-1 "),
         "explain %s: GB, region eu, server eu-1" % GB, repr(res))
    res = ctl("explain", US, "--json")
    try:
        j = json.loads(res.out)
    except ValueError:
        j = {}
    cands = j.get("candidates") or []
    t.ok(res.rc == 0 and j.get("country") == "US" and
         j.get("region") == "us" and j.get("reason") == "geo" and
         (j.get("server") or {}).get("id") in ("us-1", "us-2") and
         sorted(c["id"] for c in cands) == ["us-1", "us-2"] and
         abs(sum(c["probability"] for c in cands) - 1) < 1e-9 and
         all(abs(c["effective_weight"] - 50) < 1e-9 for c in cands),
         "explain %s --json: US, region us, candidates with effective "
         "weights and probabilities, a us server" % US, repr(res))
    ctl("drain-region", "eu")
    res = ctl("explain", GB, "--json")
    try:
        j = json.loads(res.out)
    except ValueError:
        j = {}
    t.ok(res.rc == 0 and j.get("home_region") == "eu" and
         j.get("region") == "us" and j.get("reason") == "fallback" and
         (j.get("server") or {}).get("id", "").startswith("us-") and
         all(c["region"] == "us" for c in j.get("candidates", [])),
         "explain with region eu drained: home eu, served by us, reason "
         "fallback, only us candidates",
         repr(res))
    ctl("undrain-region", "eu")
    ctl("maintenance", "on", "60")
    res = ctl("explain", GB, "--json")
    ctl("maintenance", "off")
    try:
        j = json.loads(res.out)
    except ValueError:
        j = {}
    t.ok(res.rc == 0 and j.get("maintenance") is True and
         j.get("server") is None, "explain in maintenance: no server",
         repr(res))
    bad(t, "explain without -c: exit 2", ["explain", GB], 2, "-c",
        conf=False)
    bad(t, "explain of a bad address: exit 1", ["explain", "1.2.3"], 1,
        "address")
    for sid in ("eu-1", "us-1", "us-2"):
        ctl("remove", sid)
    r.cmd("DEL", P + "regions")


def sanitizers(t):
    found = [e for e in S["stderr"] if any(m in e for m in
                                           g.SANITIZER_MARKS)]
    t.ok(not found, "no sanitizer report in any run (%d runs)"
         % len(S["stderr"]), "\n".join(found)[:3000])


# ------------------------------------------------------------------ refusals

def unchanged(t, desc, args, pattern):
    """A change that changes nothing: exit 0, says so, no bump, nothing
    published."""
    s = sub()
    s.drain()
    v0 = version()
    res = ctl(*args)
    return t.ok(res.rc == 0 and re.search(pattern, res.out) and
                "nothing changed" in res.out and version() == v0 and
                s.next(0.05) is None, desc, repr(res))


def refusals(t):
    r = redis()
    ctl("add", "x-1", "https://x-1.up.example.net", "eu")
    ctl("drain", "x-1")
    bad(t, "add of an existing id without --replace: exit 1, names "
        "--replace", ["add", "x-1", "https://x-1.up.example.net", "eu"], 1,
        "--replace")
    t.eq(r.cmd("HGET", P + "server:x-1", "state"), "drain",
         "... the drain it would have undone stays")
    bad(t, "report for an id not in P servers: exit 1",
        ["report", "ghost-1", "0.5"], 1, "no such server")
    t.eq(r.cmd("EXISTS", P + "load:ghost-1"), 0, "... no load key written")
    unchanged(t, "drain of a drained server: nothing changed, no bump",
              ["drain", "x-1"], "state is already drain")
    ctl("weight", "x-1", "50")
    unchanged(t, "weight to the weight it has: nothing changed",
              ["weight", "x-1", "50"], "weight is already 50")
    ctl("add", "x-2", "https://x-2.up.example.net", "eu")
    r.cmd("HDEL", P + "server:x-2", "state")
    unchanged(t, "undrain of a server without a state field (up): nothing "
              "changed", ["undrain", "x-2"], "state is already up")
    ctl("drain-region", "ap")
    unchanged(t, "drain-region of a drained region: nothing changed",
              ["drain-region", "ap"], "already drain")
    ctl("undrain-region", "ap")
    unchanged(t, "undrain-region of a region not drained: nothing changed",
              ["undrain-region", "ap"], "already up")
    ctl("maintenance", "off")
    unchanged(t, "maintenance off when off: nothing changed",
              ["maintenance", "off"], "already off")
    res = ctl("weight", "nope-9", "5")
    t.ok(res.rc == 1 and "no such server" in res.err,
         "weight of a missing server: exit 1", repr(res))
    res = ctl("--version", conf=False)
    t.ok(res.rc == 0 and re.match(r"^geo307ctl \d+\.\d+", res.out),
         "--version", repr(res))
    res = ctl("--help", conf=False)
    t.ok(res.rc == 0 and "drain-region" in res.out and "3 Redis" in res.out,
         "--help: the commands and the exit statuses", repr(res))
    for args, what in (([], "no command"), (["--bogus", "list"],
                                            "an unknown option"),
                       (["weight", "x-1"], "a missing argument"),
                       (["frob"], "an unknown command")):
        res = ctl(*args, conf=False)
        lines = res.err.strip().splitlines()
        t.ok(res.rc == 2 and len(lines) == 1 and "--help" in lines[0] and
             res.out == "", "%s: exit 2, one line pointing at --help" % what,
             repr(res))


def main():
    if not os.access(CTL, os.X_OK):
        T.bail("geo307ctl not found at %s (GEO307CTL_BIN)" % CTL)
    T.run([
        (10, add_list_show),
        (10, writes),
        (1, protocol),
        (1, concurrent),
        (6, report),
        (11, regions),
        (46, bad_input),
        (1, bad_config),
        (4, redis_down),
        (5, url_from_env),
        (3, prefixes),
        (6, explain),
        (17, refusals),
        (1, sanitizers),
    ], need_fixture=False)


if __name__ == "__main__":
    main()
