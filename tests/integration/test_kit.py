#!/usr/bin/env python3
"""The synthetic-load kit: geo307-sink and geo307-load.

geo307-load's clock (a fixed 5 ms server: p50 within 1 ms of 5 ms; a
server that stalls once for 1 s: p99.9 >= 500 ms; the rate achieved
within 1 %), shares against geo307 with a Redis fleet of known weights
(within 5 sigma of the prediction, which equals /route), --follow with
1 MiB and 64 MiB bodies (sha256 checked, with and without Expect), an
upload server answering 500 or resetting (counted as status / reset);
geo307-sink: a streamed 1 GiB (256 MiB under sanitizers) at flat RSS,
load reports under concurrent uploads that go stale when its probe
fails, stats counts, the g307 token; bad flags (exit 2, one line), an
unreachable target and a refusing Redis (exit 1); --via synthetic;
./setup demo shortened.
"""

import base64
import hashlib
import hmac
import json
import math
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
BUILD = os.path.dirname(g.BIN)
SINK = os.path.join(BUILD, "geo307-sink")
LOAD = os.path.join(BUILD, "geo307-load")
SAN = g.SLACK > 1
KEY = base64.b64encode(bytes(range(32))).decode()


F = g.Fixture(T, tmp_prefix="geo307-kit-")
tmp = F.tmp


class SinkProc:
    """One geo307-sink process on a free port."""

    def __init__(self, sid, *args):
        self.id = sid
        self.port = g.free_port()
        self.err = open(os.path.join(tmp(), "sink-%s.stderr" % sid), "ab")
        self.proc = subprocess.Popen(
            [SINK, "--listen", "127.0.0.1:%d" % self.port, "--id", sid] +
            [str(a) for a in args], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.err)
        T.at_exit(self.stop)
        if not g.wait_until(lambda: g.port_open(self.port) or
                            self.proc.poll() is not None, 10 * g.SLACK) or \
                self.proc.poll() is not None:
            raise RuntimeError("sink %s did not start" % sid)

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stats(self):
        st, _, body = g.http_get(self.port, "/.sink/stats")
        return json.loads(body) if st == 200 else None

    def rss(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def run_load(*args, timeout=120):
    """geo307-load with --json; (exit status, report dict, stdout, stderr)."""
    path = os.path.join(tmp(), "load-%d.json" % time.monotonic_ns())
    p = subprocess.run([LOAD] + [str(a) for a in args] + ["--json", path],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    rep = None
    if os.path.exists(path):
        with open(path) as f:
            rep = json.load(f)
    return p.returncode, rep, p.stdout.decode(), p.stderr.decode()


# ------------------------------------------------------ python test servers

class Fake(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A keep-alive HTTP/1.1 server: mode "redirect" (307 to location,
    after delay seconds; stall_at: the request of that number holds every
    answer for stall seconds), "500" (reads the body, answers 500),
    "reset" (reads the head, closes with RST)."""
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256    # not 5: a burst of connects

    def __init__(self, mode, delay=0.0, location="http://127.0.0.1:9/x",
                 stall_at=None, stall=0.0):
        self.mode, self.delay, self.location = mode, delay, location
        self.stall_at, self.stall = stall_at, stall
        self.n = 0
        self.lock = threading.Lock()
        self.gate = threading.Lock()
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()
        T.at_exit(self.shutdown)


class FakeHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock, srv, buf = self.request, self.server, b""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            while b"\r\n\r\n" not in buf:
                d = sock.recv(65536)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            clen = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    clen = int(v)
            if srv.mode == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.close()
                return
            if b"100-continue" in head.lower():
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            while len(buf) < clen:
                d = sock.recv(1 << 20)
                if not d:
                    return
                buf += d
            buf = buf[clen:]
            self.answer(sock, srv)

    def answer(self, sock, srv):
        with srv.lock:
            srv.n += 1
            n = srv.n
        if srv.mode == "500":
            sock.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno")
            return
        if srv.stall_at is not None and n == srv.stall_at:
            with srv.gate:
                time.sleep(srv.stall)
        with srv.gate:
            pass
        if srv.delay:
            time.sleep(srv.delay)
        sock.sendall(("HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\n"
                      "X-Upload-Server: fake\r\nContent-Length: 0\r\n\r\n"
                      % srv.location).encode())


# ------------------------------------------------------------------ flags

def t_flags(tap):
    cases = [
        (SINK, []), (SINK, ["--listen", "127.0.0.1:1"]),
        (SINK, ["--listen", "nope", "--id", "a"]),
        (SINK, ["--listen", "127.0.0.1:1", "--id", "a", "--bogus"]),
        (SINK, ["--listen", "127.0.0.1:1", "--id", "a", "--sign-keys",
                "k:" + base64.b64encode(b"x" * 31).decode()]),
        (LOAD, []), (LOAD, ["--url", "http://127.0.0.1:1/", "--rate", "x",
                            "--duration", "1"]),
        (LOAD, ["--url", "http://127.0.0.1:1/", "--rate", "1",
                "--duration", "1", "--mix", "UK=1", "--geoip",
                g.FIXTURE_DB]),
        (LOAD, ["--url", "http://127.0.0.1:1/", "--rate", "1",
                "--duration", "1", "--via", "synthetic"]),
        (LOAD, ["--url", "http://127.0.0.1:1/", "--rate", "1",
                "--duration", "1", "--body", "12Q"]),
        # the number grammar the config has: no exponent, sign or hex,
        # no fraction for a count; a port is digits
        (LOAD, ["--url", "http://127.0.0.1:1/", "--rate", "1e3",
                "--duration", "1"]),
        (LOAD, ["--url", "http://127.0.0.1:1/", "--rate", "1",
                "--duration", "1", "--connections", "16.0"]),
        (LOAD, ["--url", "http://127.0.0.1:80abc/", "--rate", "1",
                "--duration", "1"]),
        (SINK, ["--listen", "127.0.0.1:1", "--id", "a", "--threads", "+2"]),
        (SINK, ["--listen", "127.0.0.1:1", "--id", "a", "--report-every",
                "0x10"]),
    ]
    bad = []
    for prog, args in cases:
        p = subprocess.run([prog] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=10)
        lines = p.stderr.decode().strip().splitlines()
        if p.returncode != 2 or len(lines) != 1:
            bad.append((os.path.basename(prog), args, p.returncode, lines))
    tap.ok(not bad, "bad flags: exit 2 with one line", bad)
    for prog in (SINK, LOAD):
        p = subprocess.run([prog, "--help"], capture_output=True, timeout=10)
        tap.ok(p.returncode == 0 and b"usage:" in p.stdout,
               "%s --help" % os.path.basename(prog))
    port = g.free_port()
    rc, _, _, err = run_load("--url", "http://127.0.0.1:%d/" % port,
                             "--rate", 10, "--duration", 1)
    tap.ok(rc == 1 and "cannot connect" in err,
           "unreachable target: exit 1, said so", (rc, err))
    p = subprocess.run([SINK, "--listen", "127.0.0.1:%d" % g.free_port(),
                        "--id", "a", "--redis",
                        "redis://127.0.0.1:%d/0" % g.free_port()],
                       capture_output=True, timeout=20)
    tap.ok(p.returncode == 1 and b"cannot reach Redis" in p.stderr,
           "sink: a Redis that refuses: exit 1, said so",
           (p.returncode, p.stderr))


# ------------------------------------------------------------------ clock

def t_clock(tap):
    """The server's own delay only adds (a busy machine slows the Python
    server, never speeds it up): the best of up to three runs counts."""
    srv = Fake("redirect", delay=0.005)
    best = None
    for _ in range(3):
        rc, rep, out, err = run_load(
            "--url", "http://127.0.0.1:%d/u" % srv.port, "--rate", 200,
            "--duration", 2, "--connections", 64, "--method", "GET")
        p50 = rep["redirect"]["latency_ms"]["p50"]
        if best is None or abs(p50 - 5) < abs(best[1]["redirect"]
                                              ["latency_ms"]["p50"] - 5):
            best = (rc, rep, out + err)
        if abs(p50 - 5.0) <= 1.0:
            break
    rc, rep, out = best
    p50 = rep["redirect"]["latency_ms"]["p50"]
    tap.ok(rc == 0 and abs(p50 - 5.0) <= 1.0,
           "5 ms server: p50 %.3f ms within 1 ms of 5 ms" % p50, out)
    rate = rep["achieved_rate"]
    tap.ok(abs(rate - 200) <= 2 and rep["started"] == 400,
           "rate achieved %.2f/s within 1 %% of 200/s" % rate, rep)
    tap.eq(rep["redirect"]["status"], {"307": 400}, "every answer counted")


def t_stall(tap):
    srv = Fake("redirect", stall_at=150, stall=1.0)
    t0 = time.monotonic()
    rc, rep, out, err = run_load("--url", "http://127.0.0.1:%d/u" % srv.port,
                                 "--rate", 200, "--duration", 3,
                                 "--connections", 8, "--method", "GET")
    took = time.monotonic() - t0
    lat = rep["redirect"]["latency_ms"]
    tap.ok(lat["p99.9"] >= 500 and lat["max"] >= 900,
           "a 1 s stall: p99.9 %.1f ms >= 500 ms (max %.1f)"
           % (lat["p99.9"], lat["max"]), out)
    tap.ok(abs(rep["achieved_rate"] - 200) <= 2 and rep["started"] == 600
           and took < 8, "open loop: still %.2f/s started, all 600"
           % rep["achieved_rate"], rep)


# ----------------------------------------------------------------- shares

WEIGHTS = {"eu-1": ("eu", 100), "eu-2": ("eu", 300), "us-1": ("us", 100),
           "us-2": ("us", 100), "ap-1": ("ap", 100)}
PROBE_IP = {"eu": "81.2.69.1", "us": "216.160.83.1", "ap": "2001:218::1"}


def t_shares(tap):
    if not g.have_redis():
        raise g.Skip("no redis-server")
    d = tmp()
    r = g.RedisServer(T, d, "kit-redis").start()
    c = r.conn()
    fleet = {sid: {"url": "https://%s.up.example.net" % sid, "region": reg,
                   "weight": w} for sid, (reg, w) in WEIGHTS.items()}
    g.redis_write_fleet(c, "kit:", fleet)
    g.redis_report(c, "kit:", {sid: 0 for sid in WEIGHTS})
    port, aport = g.free_port(), g.free_port()
    dm = g.Daemon(T, d, g.redis_config(port, aport, r.port, d,
                                       prefix="kit:"), name="kit-geo307")
    dm.start()
    g.wait_fleet(aport, lambda j: sum(1 for s in j.get("servers", [])
                                      if s.get("fresh")) == 5)
    rc, rep, out, err = run_load(
        "--url", "http://127.0.0.1:%d/upload?x=1" % port, "--rate", 1000,
        "--duration", 3, "--method", "GET", "--mix",
        "GB=0.5,US=0.3,JP=0.2", "--geoip", g.FIXTURE_DB, "--admin",
        "http://127.0.0.1:%d" % aport, "--seed", 5)
    tap.ok(rc == 0 and rep["redirect"]["status"].get("307") == 3000,
           "3000 redirects", out + err)
    n = 3000
    far = []
    for sid, s in rep["servers"].items():
        p = s["predicted"]
        sd = math.sqrt(n * p * (1 - p)) or 1
        if abs(s["requests"] - n * p) > 5 * sd:
            far.append((sid, s))
    tap.ok(not far and len(rep["servers"]) == 5,
           "every server's share within 5 sd of the prediction", rep)
    # The prediction is /route's: per region, the region's share of the
    # requests times the probability /route gives for that region.
    probs = {}
    for reg, ip in PROBE_IP.items():
        _, _, body = g.http_get(aport, "/route?ip=" + ip)
        for cand in json.loads(body)["candidates"]:
            probs[cand["id"]] = cand["probability"]
    bad = []
    for sid, s in rep["servers"].items():
        reg = s["region"]
        want = rep["regions"][reg]["requests"] / n * probs[sid]
        if abs(want - s["predicted"]) > 1e-6:
            bad.append((sid, want, s["predicted"]))
    tap.ok(not bad and abs(probs["eu-2"] - 0.75) < 1e-6,
           "prediction = /route probabilities (eu-2: 3/4 of eu)",
           (bad, probs))
    tap.ok(abs(rep["regions"]["eu"]["observed"] - 0.5) < 0.05 and
           abs(rep["regions"]["ap"]["observed"] - 0.2) < 0.05,
           "the mix reached its regions", rep["regions"])
    dm.stop()
    r.stop()


def t_synthetic(tap):
    d = tmp()
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, trust=None)
    c.set("synthetic", "tokens", "s3cret")
    dm = g.Daemon(T, d, c, name="kit-synth")
    dm.start()
    ips = os.path.join(d, "ips.txt")
    with open(ips, "w") as f:
        f.write("# GB\n81.2.69.1\n81.2.69.200\n")
    url = "http://127.0.0.1:%d/u" % port
    _, rep, out, err = run_load("--url", url, "--rate", 100, "--duration",
                                0.5, "--ips", ips, "--via", "synthetic",
                                "--token", "s3cret", "--method", "GET")
    tap.ok(rep and list(rep["servers"]) == ["eu-1"] and
           rep["servers"]["eu-1"]["requests"] == 50,
           "--via synthetic: routed as the GB addresses", out + err)
    _, rep, out, err = run_load("--url", url, "--rate", 100, "--duration",
                                0.5, "--ips", ips, "--method", "GET")
    tap.ok(rep and list(rep["servers"]) == ["us-1"],
           "X-Forwarded-For from an untrusted peer: ignored (default "
           "region)", out + err)
    dm.stop()


# ----------------------------------------------------------------- follow

def follow_daemon(sinks):
    d = tmp()
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, servers=False)
    for s in sinks:
        c.set("server " + s.id, "url", s.url())
        c.set("server " + s.id, "region", "us")
    c.set("redirect", "allowed_hosts", "127.0.0.1/32")
    c.set("redirect", "allow_http", "yes")
    dm = g.Daemon(T, d, c, name="kit-follow")
    dm.start()
    return dm, port


def t_follow(tap):
    sinks = [SinkProc("s1"), SinkProc("s2")]
    dm, port = follow_daemon(sinks)
    total = 0
    for size, rate, n in (("1M", 20, 20), ("64M", 2, 2)):
        for expect in ([], ["--expect"]):
            rc, rep, out, err = run_load(
                "--url", "http://127.0.0.1:%d/up?x=1" % port, "--rate", rate,
                "--duration", 1, "--follow", "--body", size,
                "--timeout", 60, *expect)
            up = rep["upload"] if rep else {}
            tap.ok(rc == 0 and up.get("status") == {"201": n} and
                   not any(up["errors"].values()) and
                   up["latency_ms"]["count"] == n,
                   "%s bodies %s Expect reach the sinks intact (sha256)"
                   % (size, "with" if expect else "without"), out + err)
            total += n * (64 << 20 if size == "64M" else 1 << 20)
    got = sum(s.stats()["total_bytes"] for s in sinks)
    tap.eq(got, total, "the sinks received every byte")
    dm.stop()


def t_faults(tap):
    for mode, kind in (("500", "status"), ("reset", "reset")):
        bad = Fake(mode)
        front = Fake("redirect", location="http://127.0.0.1:%d/x" % bad.port)
        rc, rep, out, err = run_load(
            "--url", "http://127.0.0.1:%d/u" % front.port, "--rate", 20,
            "--duration", 0.5, "--follow", "--body", "64K")
        errs = rep["upload"]["errors"]
        tap.ok(rc == 0 and errs[kind] == 10 and
               sum(errs.values()) == 10,
               "an upload server answering %s: counted as %s" % (mode, kind),
               errs)


# ------------------------------------------------------------------- sink

def t_sink_stream(tap):
    s = SinkProc("big")
    size = (256 if SAN else 1024) << 20
    chunk = os.urandom(1 << 20)
    h = hashlib.sha256()
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.sendall(b"PUT /big?x=1 HTTP/1.1\r\nHost: s\r\nContent-Length: %d"
                 b"\r\n\r\n" % size)
    base = s.rss()
    peak = base
    for i in range(size >> 20):
        sock.sendall(chunk)
        h.update(chunk)
        if i % 32 == 0:
            peak = max(peak, s.rss())
    sock.settimeout(60)
    resp = b""
    while b"}" not in resp:
        d = sock.recv(65536)
        if not d:
            break
        resp += d
    sock.close()
    body = json.loads(resp.split(b"\r\n\r\n", 1)[1])
    tap.ok(resp.startswith(b"HTTP/1.1 201") and
           body["sha256"] == h.hexdigest() and body["bytes"] == size and
           body["target"] == "/big?x=1" and body["method"] == "PUT",
           "%d MiB streamed: 201, sha256 and bytes match" % (size >> 20),
           resp[:400])
    tap.ok(peak - base < (32 << 20), "flat RSS: %.1f MiB growth"
           % ((peak - base) / 1048576.0))
    s.stop()


def hold_upload(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /slow HTTP/1.1\r\nHost: s\r\nContent-Length: "
                 b"1000000\r\n\r\n" + b"x" * 1000)
    return sock


def t_sink_report(tap):
    if not g.have_redis():
        raise g.Skip("no redis-server")
    r = g.RedisServer(T, tmp(), "kit-redis2").start()
    c = r.conn()
    s = SinkProc("r1", "--redis", "redis://127.0.0.1:%d/0" % r.port,
                 "--prefix", "kit:", "--capacity", 4, "--report-every", 0.3)
    key = "kit:load:r1"
    ok = g.wait_until(lambda: c.cmd("GET", key) == "0", 5 * g.SLACK)
    tap.ok(ok and 0 < int(c.cmd("TTL", key)) <= 1,
           "idle: load 0 reported with a TTL of 3 x 0.3 s")
    held = [hold_upload(s.port), hold_upload(s.port)]
    ok = g.wait_until(lambda: c.cmd("GET", key) == "0.5", 5 * g.SLACK)
    tap.ok(ok, "2 uploads in flight of capacity 4: load 0.5",
           c.cmd("GET", key))
    for x in held:
        x.close()
    g.wait_until(lambda: c.cmd("GET", key) == "0", 5 * g.SLACK)
    s.proc.send_signal(signal.SIGUSR1)      # the probe fails from now on
    gone = g.wait_until(lambda: c.cmd("GET", key) is None, 5 * g.SLACK)
    time.sleep(0.7)
    tap.ok(gone and c.cmd("GET", key) is None,
           "probe failing: no report, the key expired (stale)")
    s.proc.send_signal(signal.SIGUSR1)
    tap.ok(g.wait_until(lambda: c.cmd("GET", key) == "0", 5 * g.SLACK),
           "probe ok again: reporting again")
    for method, n in (("POST", 100), ("POST", 200), ("PUT", 5)):
        g.http_request(s.port, method, "/c", body=b"y" * n)
    st = s.stats()
    tap.ok(st["requests"].get("POST") == 2 and
           st["requests"].get("PUT") == 1 and
           st["bytes"] == {"POST": 300, "PUT": 5} and
           st["server"] == "r1", "stats: requests and bytes per method", st)
    s.stop()
    r.stop()


def token(sid, method, target, exp, key=bytes(range(32)), kid="k1"):
    m = hmac.new(key, ("%s\n%d\n%s\n%s" % (sid, exp, method, target))
                 .encode(), hashlib.sha256).digest()
    mac = base64.urlsafe_b64encode(m).rstrip(b"=").decode()
    return "%s%sg307=%d.%s.%s" % (target, "&" if "?" in target else "?",
                                 exp, kid, mac)


def t_sink_token(tap):
    s = SinkProc("t1", "--sign-keys", "k0:%s,k1:%s" % (
        base64.b64encode(b"z" * 40).decode(), KEY))
    exp = int(time.time()) + 300
    cases = [(token("t1", "POST", "/u?a=1", exp), 201),
             (token("t2", "POST", "/u?a=1", exp), 403),
             (token("t1", "PUT", "/u?a=1", exp), 403),
             (token("t1", "POST", "/u?a=1", int(time.time()) - 5), 403),
             ("/u?a=1", 403)]
    got = [g.http_request(s.port, "POST", t, body=b"abc")[0]
           for t, _ in cases]
    tap.eq(got, [w for _, w in cases],
           "token: valid 201; other server, method, expired, none: 403")
    # With Expect, a bad token is refused before any body byte is sent.
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.settimeout(5 * g.SLACK)
    sock.sendall(b"POST /u?g307=1.k1.x HTTP/1.1\r\nHost: s\r\n"
                 b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
    head = sock.recv(4096)
    sock.close()
    ok = head.startswith(b"HTTP/1.1 403")
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.settimeout(5 * g.SLACK)
    t = token("t1", "POST", "/e", exp).encode()
    sock.sendall(b"POST " + t + b" HTTP/1.1\r\nHost: s\r\nContent-Length:"
                 b" 3\r\nExpect: 100-continue\r\n\r\n")
    cont = sock.recv(4096)
    sock.sendall(b"abc")
    resp = sock.recv(4096)
    sock.close()
    tap.ok(ok and cont.startswith(b"HTTP/1.1 100") and
           resp.startswith(b"HTTP/1.1 201"),
           "Expect: a bad token gets 403 before the body, a good one 100 "
           "Continue then 201", (head, cont, resp))
    s.stop()


def t_demo(tap):
    db = os.path.join(g.SRCDIR, "data", "geoip-country.mmdb")
    if not os.path.exists(db) or not g.have_redis():
        raise g.Skip("no data/geoip-country.mmdb or redis-server")
    env = dict(os.environ, GEO307_DEMO_SECONDS="4", GEO307_DEMO_RATE="20")
    p = subprocess.run(["bash", os.path.join(g.SRCDIR, "scripts", "demo.sh"),
                        BUILD], env=env, capture_output=True, timeout=120)
    out = p.stdout.decode()
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split()}
    regions = all(r in rows and len(rows[r]) == 4
                  for r in ("eu-west", "us-east", "ap-southeast"))
    servers = all(s in rows for s in ("euw-1", "euw-2", "use-1", "use-2",
                                      "apse-1", "apse-2"))
    tap.ok(p.returncode == 0 and regions and servers and
           "upload answers: 201:80" in out,
           "demo: shares table for 3 regions and 6 sinks, 80 uploads",
           out + p.stderr.decode()[-2000:])
    lines = [x.split() for x in out.splitlines()]
    lat = [x for x in lines if x[:1] == ["latency"]]
    errs = [x for x in lines if x[:1] == ["errors"]]
    up = lines[lines.index(errs[0]) + 2] if errs else []
    tap.ok(lat and lat[0][2:] == ["count", "p50", "p90", "p99", "p99.9",
                                  "max"] and
           up[:1] == ["upload"] and up[1:] == ["0"] * 6,
           "demo: percentiles printed, no upload error", out)


T.run([(5, t_flags), (3, t_clock), (2, t_stall), (4, t_shares), (2, t_synthetic),
       (5, t_follow), (2, t_faults), (2, t_sink_stream), (5, t_sink_report),
       (2, t_sink_token), (2, t_demo)])
