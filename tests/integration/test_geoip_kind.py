#!/usr/bin/env python3
"""A GeoIP database must carry country data (issue 6, defect 5).  A valid
MMDB of another kind (an ASN database) used to pass --check, start, SIGHUP
and the mtime reload, and then sent every client to the default region.
Here: it is refused at --check and at start (exit 1, the file named), and
on SIGHUP and on the mtime check (an error logged and counted in
geo307_reload_total{what="geoip",result="error"}, the old database keeps
routing, and the mtime check does not retry the same file every interval).
Truncated and random files are refused the same way, never a crash; the
databases that do carry countries still load."""

import os
import random
import shutil
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
MM = g.maxmind_dir()
GB = "81.2.69.142"
OWN_DB = os.path.join(os.path.abspath(g.SRCDIR), "data", "geoip-country.mmdb")
CHECK_EVERY = 0.3                  # GEO307_GEOIP_CHECK_INTERVAL in tests


F = g.Fixture(T)
tmp = F.tmp


def route(port, ip):
    r = g.raw_request(port, g.req("GET", "/r?x=1", [("X-Forwarded-For", ip)]))
    return r.status, r.header("X-Upload-Server"), r.header("X-Redirect-Reason")


def geo_errors(aport):
    return g.scrape(aport).get("geo307_reload_total", what="geoip",
                               result="error")


def geo_ok(aport):
    return g.scrape(aport).get("geo307_reload_total", what="geoip",
                               result="ok")


def no_country_dbs():
    dbs = [("the ASN-shaped fixture", g.FIXTURE_ASN)]
    p = os.path.join(MM, "GeoLite2-ASN-Test.mmdb") if MM else None
    dbs.append(("MaxMind's GeoLite2-ASN-Test", p))
    return dbs


def mangled_dbs():
    """(what, path): truncated and random copies of the fixture."""
    if "mangled" in S:
        return S["mangled"]
    with open(g.FIXTURE_DB, "rb") as f:
        data = f.read()
    rnd = random.Random(307)
    out = []
    for what, blob in [
            ("truncated to half", data[:len(data) // 2]),
            ("truncated by 100 bytes", data[:-100]),
            ("random bytes", bytes(rnd.randrange(256)
                                   for _ in range(len(data)))),
            ("random tree and data, metadata kept",
             bytes(rnd.randrange(256) for _ in range(len(data) // 2)) +
             data[len(data) // 2:])]:
        p = os.path.join(tmp(), "mangled-%d.mmdb" % len(out))
        with open(p, "wb") as f:
            f.write(blob)
        out.append((what, p))
    S["mangled"] = out
    return out


def check_one(t, what, db, want_ok):
    if db is None or not os.path.exists(db):
        t.skip("--check with %s" % what, "not available")
        return
    conf = g.write_config(tmp(), g.base_config(18307, 19307, db=db).text(),
                          "check.conf")
    rc, out, err = g.run_geo307(["--check", "-c", conf])
    if want_ok:
        t.ok(rc == 0 and ": ok:" in out, "--check with %s: exit 0, ok" % what,
             "rc=%r\n%s%s" % (rc, out, err))
        return
    bad = []
    if rc != 1:
        bad.append("exit status %r, want 1" % rc)
    if db not in err:
        bad.append("stderr does not name %s" % db)
    if ": ok:" in out:
        bad.append("stdout says ok")
    if any(m in err for m in g.SANITIZER_MARKS):
        bad.append("sanitizer report")
    t.ok(not bad, "--check with %s: exit 1, the file named, no ok" % what,
         "\n".join(bad + ["stdout: " + out, "stderr: " + err[-800:]]))


def check(t):
    for what, db in no_country_dbs():
        check_one(t, what, db, False)
    conf = g.write_config(tmp(), g.base_config(
        18307, 19307, db=g.FIXTURE_ASN).text(), "asn.conf")
    _, _, err = g.run_geo307(["--check", "-c", conf])
    t.ok("no country data" in err and "GeoLite2-ASN" in err,
         "--check says why: no country data, and the database_type",
         "stderr: %r" % err)
    for what, db in mangled_dbs():
        check_one(t, what, db, False)
    check_one(t, "the project's own country database", OWN_DB, True)
    check_one(t, "the City-shaped fixture", g.FIXTURE_DB, True)
    for name in ("GeoIP2-Country-Test.mmdb", "GeoLite2-City-Test.mmdb"):
        check_one(t, "MaxMind's " + name,
                  os.path.join(MM, name) if MM else None, True)


N_CHECK = 2 + 1 + 4 + 2 + 2


def start(t):
    for what, db in no_country_dbs() + mangled_dbs()[:1]:
        if db is None or not os.path.exists(db):
            t.skip("start with %s" % what, "not available")
            continue
        conf = g.write_config(tmp(), g.base_config(
            g.free_port(), g.free_port(), db=db).text(), "start.conf")
        try:
            rc, out, err = g.run_geo307(["-c", conf], timeout=10)
        except Exception as e:       # it served instead of refusing
            rc, err = None, repr(e)
        t.ok(rc == 1 and db in err and
             not any(m in err for m in g.SANITIZER_MARKS),
             "start with %s: exit 1, the file named" % what,
             "rc=%r stderr: %r" % (rc, err[-800:]))


N_START = 3


def serving(tap, name, db, env=None):
    port, aport = g.free_port(), g.free_port()
    d = g.Daemon(T, tmp(), g.base_config(port, aport, db=db), name)
    d.env = env or {}
    d.start()
    return d, port, aport


def hup(t):
    live = os.path.join(tmp(), "hup-live.mmdb")
    shutil.copyfile(g.FIXTURE_DB, live)
    d, port, aport = serving(t, "hup", live)
    first = route(port, GB)
    for what, db in no_country_dbs() + mangled_dbs():
        if db is None or not os.path.exists(db):
            t.skip("SIGHUP onto %s" % what, "not available")
            continue
        e0 = geo_errors(aport)
        d.write(g.base_config(port, aport, db=db))
        d.sighup()
        e1 = g.wait_until(lambda: d.alive() and geo_errors(aport) > e0 and
                          geo_errors(aport), 5)
        after = route(port, GB) if d.alive() else None
        t.ok(e1 == e0 + 1 and after == first == (307, "eu-1", "geo"),
             "SIGHUP onto %s: reload_total{geoip,error} +1, GB still geo "
             "-> eu-1" % what, "errors %r -> %r, route %r then %r\n%s"
             % (e0, e1, first, after, d.stderr()[-800:]))
    log = d.stderr()
    t.ok("reload (SIGHUP) failed" in log and "no country data" in log and
         g.FIXTURE_ASN in log, "the log line names the file and says why",
         log[-1500:])
    d.write(g.base_config(port, aport, db=live))


N_HUP = 2 + 4 + 1


def mtime(t):
    """The mtime check (GEO307_GEOIP_CHECK_INTERVAL shortens it)."""
    live = os.path.join(tmp(), "mtime-live.mmdb")
    shutil.copyfile(g.FIXTURE_DB, live)
    d, port, aport = serving(t, "mtime", live,
                             {"GEO307_GEOIP_CHECK_INTERVAL": str(CHECK_EVERY)})
    first = route(port, GB)
    e0, ok0 = geo_errors(aport), geo_ok(aport)
    with open(g.FIXTURE_ASN, "rb") as f:
        g.write_file_atomic(live, f.read())
    e1 = g.wait_until(lambda: geo_errors(aport) > e0 and geo_errors(aport),
                      5)
    after = route(port, GB)
    t.ok(e1 == e0 + 1 and after == first == (307, "eu-1", "geo"),
         "an ASN database renamed over the file: the mtime check refuses "
         "it (+1 error), GB still geo -> eu-1",
         "errors %r -> %r, route %r then %r\n%s"
         % (e0, e1, first, after, d.stderr()[-800:]))
    log = d.stderr()
    t.ok("reload (GeoIP file changed) failed" in log and
         "no country data" in log and live in log,
         "the mtime check's log line names the file and says why",
         log[-1500:])
    time.sleep(CHECK_EVERY * 8 * g.SLACK)
    e2 = geo_errors(aport)
    t.ok(e2 == e1, "the same refused file is not retried every interval",
         "errors %r -> %r over %d intervals" % (e1, e2, 8))
    # a good file again: the next change is tried and serves
    with open(g.FIXTURE_DB, "rb") as f:
        g.write_file_atomic(live, f.read())
    ok1 = g.wait_until(lambda: geo_ok(aport) > ok0 and geo_ok(aport), 5)
    t.ok(ok1 == ok0 + 1 and route(port, GB) == (307, "eu-1", "geo"),
         "a good file renamed over it: reloaded by the mtime check",
         "ok %r -> %r\n%s" % (ok0, ok1, d.stderr()[-800:]))


N_MTIME = 4


def main():
    T.run([
        (N_CHECK, check),
        (N_START, start),
        (N_HUP, hup),
        (N_MTIME, mtime),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
