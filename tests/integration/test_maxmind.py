#!/usr/bin/env python3
"""Compatibility with MaxMind's own test databases (read in place from
../shared/testdata/maxmind/, never copied): known answers route right,
corrupt files are refused with a clear message and never crash, and a
SIGHUP onto one keeps the old database serving.  Skipped when the folder
is missing."""

import glob
import os
import signal
import sys

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
MM = g.maxmind_dir()

GOOD = ["GeoIP2-City-Test.mmdb", "GeoIP2-Country-Test.mmdb",
        "GeoLite2-City-Test.mmdb", "GeoLite2-Country-Test.mmdb"]
# (ip, server, reason, what).  81.2.69.142 is registered in US and
# 216.160.83.56 in GB: routing on registered_country would be wrong.
CASES = [
    ("81.2.69.142", "eu-1", "geo", "GB (registered US) -> eu"),
    ("216.160.83.56", "us-1", "geo", "US (registered GB) -> us, reason geo"),
    ("2001:218::1", "ap-1", "geo", "JP 2001:218:: -> ap"),
    ("89.160.20.112", "eu-1", "geo", "SE -> eu"),
    ("8.8.8.8", "us-1", "default", "8.8.8.8 (not in the DB) -> default"),
]
NAMED_BAD = ["GeoIP2-City-Test-Broken-Double-Format.mmdb",
             "GeoIP2-City-Test-Invalid-Node-Count.mmdb"]


def bad_files():
    if MM is None:
        return [os.path.join("bad-data", "x%d" % i) for i in range(4)] + \
            NAMED_BAD
    return sorted(os.path.join(MM, n) for n in NAMED_BAD
                  if os.path.exists(os.path.join(MM, n))) + \
        sorted(glob.glob(os.path.join(MM, "bad-data", "*.mmdb")))


BAD = bad_files()


F = g.Fixture(T)
tmp = F.tmp


def need_mm():
    if MM is None:
        raise g.Skip("MaxMind test data not found (set GEO307_MAXMIND)")


def good_dbs(t):
    need_mm()
    for name in GOOD:
        path = os.path.join(MM, name)
        if not os.path.exists(path):
            for _ in range(len(CASES) + 2):
                t.skip(name, "not in %s" % MM)
            continue
        port, aport = g.free_port(), g.free_port()
        c = g.base_config(port, aport, db=path)
        conf = g.write_config(tmp(), c.text(), "check-%s.conf" % name)
        rc, out, err = g.run_geo307(["--check", "-c", conf])
        t.ok(rc == 0, "--check with %s exits 0" % name,
             "rc=%r\n%s%s" % (rc, out, err))
        d = g.Daemon(T, tmp(), c, "mm-" + name.split(".")[0]).start()
        cl = g.Client(port)
        try:
            for ip, server, reason, what in CASES:
                st, hd, _ = cl.request("GET", "/upload?x=1", g.xff(ip))
                t.eq((st, g.hget(hd, "X-Upload-Server"),
                      g.hget(hd, "X-Redirect-Reason")), (307, server, reason),
                     "%s: %s" % (name, what))
        finally:
            cl.close()
        m = g.scrape(aport)
        want = float(g.mmdb_metadata(path)["build_epoch"])
        t.eq(m.get("geo307_geoip_build_epoch_seconds"), want,
             "%s: geo307_geoip_build_epoch_seconds = its build_epoch" % name)
        d.stop()


def check_bad(t):
    need_mm()
    for path in BAD:
        name = os.path.relpath(path, MM)
        c = g.base_config(18307, 19307, db=path)
        conf = g.write_config(tmp(), c.text(), "bad.conf")
        rc, out, err = g.run_geo307(["--check", "-c", conf])
        bad = []
        if rc is None or rc <= 0:
            bad.append("exit status %r (negative: killed by a signal)" % rc)
        if os.path.basename(path) not in err:
            bad.append("stderr does not name the file")
        if any(x in err for x in g.SANITIZER_MARKS):
            bad.append("sanitizer report")
        t.ok(not bad, "--check with %s -> non-zero exit, names the file, "
             "no crash" % name, "\n".join(bad + ["stderr: " + err[-800:]]))


def hup_bad(t):
    need_mm()
    port, aport = g.free_port(), g.free_port()
    good = os.path.join(MM, "GeoIP2-City-Test.mmdb")
    c = g.base_config(port, aport, db=good)
    d = g.Daemon(T, tmp(), c, "mm-hup").start()
    for path in BAD:
        name = os.path.relpath(path, MM)
        e0 = g.scrape(aport).get("geo307_reload_total", result="error")
        d.write(g.base_config(port, aport, db=path))
        d.signal(signal.SIGHUP)
        e1 = g.wait_until(lambda: d.alive() and g.scrape(aport).get(
            "geo307_reload_total", result="error") > e0, 5)
        res = []
        if d.alive():
            cl = g.Client(port)
            try:
                for ip, server, reason, _ in CASES:
                    st, hd, _ = cl.request("GET", "/x", g.xff(ip))
                    res.append((ip, st, g.hget(hd, "X-Upload-Server")))
            finally:
                cl.close()
        want = [(ip, 307, server) for ip, server, _, _ in CASES]
        t.ok(d.alive() and e1 and res == want,
             "SIGHUP onto %s: reload error counted, the old DB keeps serving"
             % name, "alive %r, error counted %r\ngot  %r\nwant %r\n%s"
             % (d.alive(), bool(e1), res, want, d.stderr()[-600:]))
        d.write(c)
        if not d.alive():
            d.expect_failure = True
            S["n"] = S.get("n", 0) + 1
            d = g.Daemon(T, tmp(), c, "mm-hup-%d" % S["n"]).start()


def main():
    T.run([
        (len(GOOD) * (len(CASES) + 2), good_dbs),
        (len(BAD), check_bad),
        (len(BAD), hup_bad),
        (1, g.check_daemons),
    ], need_fixture=False)


if __name__ == "__main__":
    main()
