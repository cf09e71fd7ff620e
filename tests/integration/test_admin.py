#!/usr/bin/env python3
"""The admin listener: /healthz, /metrics (names, types, counters that
move by exactly what was done), /route and /fleet when present, [admin]
allow, and the 503 path when nothing is routable (SPEC 1, 4, 6)."""

import http.client
import json
import os
import sys

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
GB = "81.2.69.142"

METRICS = [
    ("geo307_requests_total", "counter"),
    ("geo307_redirects_total", "counter"),
    ("geo307_linger_total", "counter"),
    ("geo307_linger_connections", "gauge"),
    ("geo307_discarded_body_bytes_total", "counter"),
    ("geo307_client_ip_total", "counter"),
    ("geo307_reload_total", "counter"),
    ("geo307_request_duration_seconds", "histogram"),
    ("geo307_geoip_build_epoch_seconds", "gauge"),
    ("geo307_fleet_servers", "gauge"),
    ("geo307_synthetic_requests_total", "counter"),
    ("geo307_failopen_total", "counter"),
    ("geo307_spill_total", "counter"),
    ("geo307_fleet_age_seconds", "gauge"),
    ("geo307_fleet_version", "gauge"),
    ("geo307_fleet_rejected_records_total", "counter"),
    ("geo307_redis_up", "gauge"),
]


F = g.Fixture(T)
tmp = F.tmp


def main_daemon():
    if "port" not in S:
        port, aport = g.free_port(), g.free_port()
        g.Daemon(T, tmp(), g.base_config(port, aport), "admin").start()
        S["port"], S["aport"] = port, aport
    return S["port"], S["aport"]


def healthz(t):
    _, aport = main_daemon()
    st, hd, body = g.http_get(aport, "/healthz")
    t.ok(st == 200 and body.strip() == b"ok", "/healthz -> 200 ok",
         "%r %r" % (st, body))


def names(t):
    _, aport = main_daemon()
    m = g.scrape(aport)
    for name, typ in METRICS:
        sample = m.has(name) or m.has(name + "_count")
        # Families that may have no sample yet on a fresh static-fleet
        # daemon: labelled ones with nothing counted, and redis_up
        # (no Redis configured).
        labelled = name in ("geo307_requests_total", "geo307_spill_total",
                            "geo307_redirects_total", "geo307_redis_up",
                            "geo307_fleet_rejected_records_total")
        t.ok(name in m.help and m.types.get(name) == typ and
             (sample or labelled),
             "/metrics: %s with HELP and TYPE %s" % (name, typ),
             "help %r type %r sample %r" % (name in m.help,
                                            m.types.get(name), sample))
    bad = []
    for ln in m.text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        fam = ln.split("{")[0].split()[0]
        base = fam
        for suf in ("_bucket", "_sum", "_count"):
            if fam.endswith(suf) and fam[:-len(suf)] in m.types:
                base = fam[:-len(suf)]
        if base not in m.types:
            bad.append("no TYPE for %r" % ln)
    nsamples = sum(1 for ln in m.text.splitlines()
                   if ln and not ln.startswith("#"))
    if nsamples != len(m.samples):
        bad.append("%d sample lines, %d parsed (duplicates or junk)"
                   % (nsamples, len(m.samples)))
    t.ok(not bad, "every sample line parses and belongs to a TYPEd family",
         "\n".join(bad[:20]))
    t.eq(m.get("geo307_fleet_servers"), 3.0, "geo307_fleet_servers = 3")
    try:
        want = g.mmdb_metadata(g.FIXTURE_DB)["build_epoch"]
    except Exception as e:
        want = "unreadable: %r" % e
    t.eq(m.get("geo307_geoip_build_epoch_seconds"), want if isinstance(
        want, str) else float(want),
        "geo307_geoip_build_epoch_seconds = the fixture's build_epoch")


def counters(t):
    port, aport = main_daemon()
    m0 = g.scrape(aport)
    cl = g.Client(port)
    try:
        for i in range(7):
            st, _, _ = cl.request("GET", "/c%d" % i, g.xff(GB))
        cl.request("GET", "/default")
        cl.request("GET", "/bad-xff", g.xff("not-an-ip"))
    finally:
        cl.close()
    m1 = g.scrape(aport)

    def d(name, **lb):
        return m1.get(name, **lb) - m0.get(name, **lb)

    t.eq(d("geo307_requests_total", status="307", reason="geo", region="eu"),
         7.0, "requests_total{status=307,reason=geo,region=eu} +7 after 7 GB "
         "requests")
    t.eq(d("geo307_redirects_total", server="eu-1"), 7.0,
         "redirects_total{server=eu-1} +7")
    t.eq(d("geo307_client_ip_total", source="header"), 7.0,
         "client_ip_total{source=header} +7")
    cnt = d("geo307_request_duration_seconds_count")
    buckets = sorted(((float(dict(ls)["le"]), v) for (n, ls), v in
                      m1.samples.items()
                      if n == "geo307_request_duration_seconds_bucket"),
                     key=lambda x: x[0])
    mono = all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    inf = buckets[-1] if buckets else (None, None)
    t.ok(cnt == 9 and mono and inf[0] == float("inf") and
         inf[1] == m1.get("geo307_request_duration_seconds_count") and
         m1.get("geo307_request_duration_seconds_sum") > 0,
         "request_duration_seconds: count +9, cumulative buckets, +Inf = "
         "count", "count delta %r, buckets %r" % (cnt, buckets))
    t.ok(d("geo307_requests_total", status="307", reason="default",
           region="us") == 2.0 and d("geo307_client_ip_total",
                                     source="peer") >= 1,
         "a request from 127.0.0.1 (not in the DB) and one with a bad XFF: "
         "requests_total{307,default,us} +2, client_ip{peer} grows",
         "default +%r peer +%r" % (
             d("geo307_requests_total", status="307", reason="default",
               region="us"), d("geo307_client_ip_total", source="peer")))
    t.eq(d("geo307_client_ip_total", source="malformed"), 1.0,
         "client_ip_total{source=malformed} +1 for X-Forwarded-For: not-an-ip")


def optional(t):
    _, aport = main_daemon()
    st, hd, body = g.http_get(aport, "/route?ip=" + GB)
    if st == 404:
        t.skip("/route", "not implemented yet (404)")
    else:
        try:
            j = json.loads(body)
        except ValueError:
            j = {}
        cands = j.get("candidates") or []
        ok = (st == 200 and j.get("ip") == GB and j.get("country") == "GB" and
              j.get("continent") == "EU" and j.get("region") == "eu" and
              abs((j.get("latitude") or 0) - 51.5142) < 0.01 and
              isinstance(j.get("rule"), str) and j.get("reason") == "geo" and
              [c.get("id") for c in cands] == ["eu-1"] and
              abs(cands[0].get("probability", 0) - 1) < 1e-9 and
              (j.get("server") or {}).get("id") == "eu-1")
        t.ok(ok, "/route?ip=81.2.69.142 explains GB -> eu -> eu-1",
             "%r %r" % (st, body[:800]))
    st, hd, body = g.http_get(aport, "/fleet")
    if st == 404:
        t.skip("/fleet", "not implemented yet (404)")
    else:
        try:
            j = json.loads(body)
        except ValueError:
            j = {}
        ids = sorted(s.get("id") for s in j.get("servers", []))
        t.ok(st == 200 and j.get("source") == "config" and
             ids == ["ap-1", "eu-1", "us-1"] and "version" in j,
             "/fleet: source config, the 3 servers", "%r %r"
             % (st, body[:800]))
    st, _, _ = g.http_get(aport, "/route?ip=banana")
    if st == 404:
        t.skip("/route bad ip", "not implemented yet (404)")
    else:
        t.eq(st, 400, "/route?ip=banana -> 400")


def per_server(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("metrics", "per_server", "no")
    g.Daemon(T, tmp(), c, "perserver").start()
    for _ in range(3):
        g.http_get(port, "/x", g.xff(GB))
    m = g.scrape(aport)
    rs = [(dict(ls), v) for (n, ls), v in m.samples.items()
          if n == "geo307_redirects_total"]
    t.ok(len(rs) == 1 and "server" not in rs[0][0] and rs[0][1] == 3,
         "[metrics] per_server = no: geo307_redirects_total without the "
         "server label, = 3", repr(rs))


def allow(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("admin", "allow", "10.0.0.0/8")
    d = g.Daemon(T, tmp(), c, "allow").start(admin_ready=False)
    g.wait_until(lambda: g.port_open(aport), 5)
    try:
        st, _, body = g.http_get(aport, "/metrics", timeout=3)
        got = "%d %r" % (st, body[:100])
    except (OSError, http.client.HTTPException) as e:
        st, got = None, "refused: %r" % (e,)
    t.ok(st != 200 and d.alive(), "[admin] allow = 10.0.0.0/8 refuses "
         "127.0.0.1 (%s)" % got.split(":")[0], got)


def unroutable(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    for sid in g.SERVERS:
        c.set("server " + sid, "weight", 0)
    c.set("redirect", "retry_after", 10)
    g.Daemon(T, tmp(), c, "none").start()
    st, _, body = g.http_get(aport, "/healthz")
    t.ok(st == 200 and body.strip() == b"nothing routable",
         "/healthz -> 200 \"nothing routable\" when every weight is 0 (a "
         "fleet-wide state, not a fault of this instance)",
         "%r %r" % (st, body))
    ras, bad = [], []
    cl = g.Client(port)
    try:
        for i in range(30):
            st, hd, _ = cl.request("GET", "/u%d" % i, g.xff(GB))
            try:
                ras.append(int(g.hget(hd, "Retry-After")))
            except (TypeError, ValueError):
                bad.append("Retry-After %r" % g.hget(hd, "Retry-After"))
            if st != 503 or g.hget(hd, "Cache-Control") != "no-store" or \
                    not g.hget(hd, "X-Request-Id") or g.hget(hd, "Location"):
                bad.append("%d %r" % (st, hd))
    finally:
        cl.close()
    t.ok(not bad and ras and all(5 <= x <= 15 for x in ras),
         "nothing routable: 503, no-store, X-Request-Id, Retry-After in "
         "[5, 15] for retry_after = 10", "\n".join(bad[:5] + [repr(ras)]))
    t.ok(len(set(ras)) >= 3, "Retry-After is jittered (%d distinct values "
         "in 30)" % len(set(ras)), repr(ras))
    c = g.Conn(port)
    try:
        c.send(g.req("POST", "/upload", [("Content-Length", str(1 << 20))]))
        r = c.read_response(timeout=3)
        t.ok(r.status == 503 and r.has_token("Connection", "close") and
             r.header("Retry-After"),
             "nothing routable, a request with a body: early 503 with "
             "Retry-After and Connection: close", repr(r))
    finally:
        c.close()


def main():
    T.run([
        (1, healthz),
        (len(METRICS) + 3, names),
        (6, counters),
        (3, optional),
        (1, per_server),
        (1, allow),
        (4, unroutable),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
