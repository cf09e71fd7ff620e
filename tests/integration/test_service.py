#!/usr/bin/env python3
"""Service behaviour: the pid file and its lock, a second instance
refused (pid file, public and admin address), the --replace hand-over
under a continuous request stream (not one connection refused or reset),
sd_notify on a test NOTIFY_SOCKET, --check catching what start would hit,
/healthz in each state, the fleet change log line."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}


F = g.Fixture(T)
tmp = F.tmp


def conf(port, aport, pid_file=None, extra=None, servers=True):
    c = g.base_config(port, aport, servers=servers)
    if pid_file:
        c.set("service", "pid_file", pid_file)
    for (sec, key), v in (extra or {}).items():
        c.set(sec, key, v)
    return c


def run(conf_text, name, args=(), timeout=15, env=None):
    path = g.write_config(tmp(), conf_text, name + ".conf")
    p = subprocess.run([g.BIN, "-c", path] + list(args), env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout * g.SLACK)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------ pid file

def second_instance(t):
    port, aport = g.free_port(), g.free_port()
    pf = os.path.join(tmp(), "a.pid")
    a = g.Daemon(T, tmp(), conf(port, aport, pf), "a").start()
    t.ok(read_pid(pf) == a.pid, "the pid file holds the running PID",
         "%r vs %r" % (read_pid(pf), a.pid))
    # same pid file, other ports: the lock refuses, naming the PID
    rc, _, err = run(conf(g.free_port(), g.free_port(), pf).text(), "b")
    t.ok(rc == 1 and ("PID %d" % a.pid) in err and " error: " in err,
         "a second start on a locked pid file: exit 1, an error naming "
         "PID %d" % a.pid, "rc %r\n%s" % (rc, err))
    t.ok(read_pid(pf) == a.pid and a.alive(),
         "... the pid file and the running instance are untouched")
    # no pid file, the same public address: the plain bind finds out
    rc, _, err = run(conf(port, g.free_port()).text(), "c")
    t.ok(rc == 1 and ("127.0.0.1:%d" % port) in err and "in use" in err,
         "the public address already bound: exit 1 naming it",
         "rc %r\n%s" % (rc, err))
    rc, _, err = run(conf(g.free_port(), aport).text(), "d")
    t.ok(rc == 1 and ("127.0.0.1:%d" % aport) in err and "in use" in err,
         "the admin address already bound: exit 1 naming it",
         "rc %r\n%s" % (rc, err))
    # a listener that is not geo307 and has no SO_REUSEPORT
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    p2 = g.free_port()
    other.bind(("127.0.0.1", p2))
    other.listen(8)
    rc, _, err = run(conf(p2, g.free_port()).text(), "e")
    other.close()
    t.ok(rc == 1 and ("127.0.0.1:%d" % p2) in err,
         "another program's listener: exit 1 naming the address",
         "rc %r\n%s" % (rc, err))
    t.eq(a.stop(), 0, "the first instance stops with 0")
    t.ok(not os.path.exists(pf), "its pid file is removed at exit")
    # a stale pid file (no lock: a crash) does not block a start
    with open(pf, "w") as f:
        f.write("999999\n")
    b = g.Daemon(T, tmp(), conf(port, aport, pf), "stale").start()
    t.ok(read_pid(pf) == b.pid, "a stale pid file (unlocked) is taken over",
         "%r" % read_pid(pf))
    b.stop()
    rc, _, err = run(conf(port, aport).text(), "f", ["--replace"])
    t.ok(rc == 1 and "pid_file" in err,
         "--replace without [service] pid_file: exit 1, says why", err)


# ------------------------------------------------------------ hand-over

class Stream:
    """Requests on new connections, back to back, from a few threads:
    every refused or reset connection and every bad answer counted."""

    def __init__(self, port, threads=4):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = self.ok = self.refused = self.reset = self.other = 0
        self.pids = set()
        self.errors = []
        self.ts = [threading.Thread(target=self.loop, daemon=True)
                   for _ in range(threads)]

    def one(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            s.sendall(b"GET /h?x=1 HTTP/1.1\r\nHost: x\r\n"
                      b"X-Forwarded-For: 81.2.69.142\r\n"
                      b"Connection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
            return data
        finally:
            s.close()

    def loop(self):
        while not self.stop.is_set():
            kind = None
            try:
                data = self.one()
                kind = "ok" if data.startswith(b"HTTP/1.1 307") else \
                    "other"
            except ConnectionRefusedError as e:
                kind, err = "refused", e
            except (ConnectionResetError, BrokenPipeError) as e:
                kind, err = "reset", e
            except OSError as e:
                kind, err = "other", e
            with self.lock:
                self.sent += 1
                setattr(self, kind, getattr(self, kind) + 1)
                if kind != "ok" and len(self.errors) < 5:
                    self.errors.append(repr(err) if kind != "other"
                                       else repr(data[:80]))

    def start(self):
        for th in self.ts:
            th.start()
        return self

    def finish(self):
        self.stop.set()
        for th in self.ts:
            th.join(10)


def handover(t):
    port, aport = g.free_port(), g.free_port()
    pf = os.path.join(tmp(), "h.pid")
    c = conf(port, aport, pf, {("listen", "shutdown_delay"): 0.5})
    old = g.Daemon(T, tmp(), c, "old").start()
    st = Stream(port).start()
    time.sleep(1.0)
    before = st.sent
    new = g.Daemon(T, tmp(), c, "new")
    new.args = ["--replace"]
    new.start(wait=False)
    old_rc = old.wait(20 * g.SLACK)
    took = g.wait_until(lambda: read_pid(pf) == new.pid, 5)
    time.sleep(1.0)
    st.finish()
    T.diag("hand-over: %d requests (%d before the new process), %d ok, "
           "%d refused, %d reset, %d other %s"
           % (st.sent, before, st.ok, st.refused, st.reset, st.other,
              st.errors))
    S["handover"] = (st.sent, st.refused, st.reset, st.other)
    t.ok(old_rc == 0, "--replace: the old instance got SIGTERM and exited 0",
         "rc %r\n%s" % (old_rc, old.stderr()[-800:]))
    t.ok(took and new.alive(), "... the new one holds the pid file",
         "%r %r\n%s" % (read_pid(pf), new.pid, new.stderr()[-800:]))
    t.ok(st.sent > 200 and st.refused == 0 and st.reset == 0 and
         st.other == 0,
         "... under a continuous stream of %d requests: 0 refused, 0 reset, "
         "every answer a 307" % st.sent,
         "refused %d reset %d other %d %r"
         % (st.refused, st.reset, st.other, st.errors))
    t.ok("hand-over: serving; sent SIGTERM to PID %d" % old.pid
         in new.stderr() and "ours now" in new.stderr(),
         "... the new one logs the SIGTERM and the lock it took",
         new.stderr()[-800:])
    new.stop()


# ------------------------------------------------------------ sd_notify

def notify(t):
    sock_path = os.path.join(tmp(), "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(sock_path)
    ns.settimeout(0.2)
    msgs = []

    def drain(until, timeout=5):
        end = time.monotonic() + timeout * g.SLACK
        while time.monotonic() < end:
            try:
                msgs.append(ns.recv(4096).decode())
            except socket.timeout:
                pass
            if until(msgs):
                return True
        return False

    port, aport = g.free_port(), g.free_port()
    d = g.Daemon(T, tmp(), conf(port, aport), "notify")
    d.env = {"NOTIFY_SOCKET": sock_path}
    d.start(wait=False)
    ready = drain(lambda m: any("READY=1" in x for x in m))
    serving = g.port_open(port)
    first = next((x for x in msgs if "READY=1" in x), "")
    t.ok(ready and serving and "STATUS=fleet from config, version 0, 3 of 3 "
         "servers routable" in first,
         "READY=1 with STATUS= (fleet source and version) once it serves",
         "%r serving %r" % (msgs, serving))
    n = len(msgs)
    d.sighup()
    drain(lambda m: any("READY=1" in x for x in m[n:]))
    after = msgs[n:]
    t.ok(len(after) >= 2 and after[0].startswith("RELOADING=1") and
         "MONOTONIC_USEC=" in after[0] and "READY=1" in after[-1],
         "SIGHUP: RELOADING=1 ... READY=1", "%r" % after)
    n = len(msgs)
    d.signal(signal.SIGTERM)
    drain(lambda m: any("STOPPING=1" in x for x in m[n:]))
    t.ok(any(x.startswith("STOPPING=1") for x in msgs[n:]) and
         d.wait(10) == 0, "SIGTERM: STOPPING=1, exit 0", "%r" % msgs[n:])
    ns.close()


# ------------------------------------------------------------ --check

def check(t):
    port, aport = g.free_port(), g.free_port()
    base = conf(port, aport)
    ro = os.path.join(tmp(), "ro")
    os.makedirs(ro, exist_ok=True)
    cases = [
        ("an access log in a missing directory",
         {("log", "access"): os.path.join(tmp(), "nodir", "access.log")},
         "nodir"),
        ("a missing cache directory",
         {("redis", "url"): "redis://127.0.0.1:1/0",
          ("redirect", "allowed_hosts"): "*.example.com",
          ("redis", "cache_file"): os.path.join(tmp(), "nocache", "f")},
         "nocache"),
        ("an unreadable TLS certificate",
         {("listen", "tls_cert"): os.path.join(tmp(), "none.pem"),
          ("listen", "tls_key"): os.path.join(tmp(), "none.key")},
         "none.pem"),
    ]
    if os.geteuid() != 0:
        os.chmod(ro, 0o500)
        cases.append(("an access log in a read-only directory",
                      {("log", "access"): os.path.join(ro, "a.log")}, "ro"))
    for desc, keys, needle in cases:
        c = conf(port, aport, servers=("redis", "url") not in keys)
        for (sec, key), v in keys.items():
            c.set(sec, key, v)
        rc, out, err = run(c.text(), "check", ["--check"])
        t.ok(rc == 1 and needle in out + err, "--check: %s -> exit 1 naming "
             "it" % desc, "rc %r\n%s%s" % (rc, out, err))
    if os.geteuid() == 0:
        t.ok(True, "--check: read-only directory (skipped as root)")
    # an address in use: a warning, exit 0; with --replace no warning
    hold = socket.socket()
    hold.bind(("127.0.0.1", port))
    hold.listen(1)
    rc, out, err = run(base.text(), "check", ["--check"])
    t.ok(rc == 0 and "warning" in out and "127.0.0.1:%d" % port in out,
         "--check: an address in use -> a warning naming it, exit 0",
         "rc %r\n%s%s" % (rc, out, err))
    rc, out, err = run(base.text(), "check", ["--check", "--replace"])
    t.ok(rc == 0 and "in use" not in out,
         "--check --replace: no warning (the instance to replace holds it)",
         "rc %r\n%s%s" % (rc, out, err))
    hold.close()


# ------------------------------------------------------------ health

def health(t):
    port, aport = g.free_port(), g.free_port()
    c = conf(port, aport, extra={("listen", "health_path"): "/hz",
                                 ("listen", "shutdown_delay"): 3})
    d = g.Daemon(T, tmp(), c, "health").start()

    def both():
        a = g.http_get(aport, "/healthz")
        p = g.http_get(port, "/hz")
        return (a[0], a[2].strip().decode()), (p[0], p[2].strip().decode())

    a, p = both()
    t.ok(a == (200, "ok") and p == a, "ok: /healthz and health_path 200 ok",
         "%r %r" % (a, p))
    for sid in g.SERVERS:
        c.set("server " + sid, "weight", 0)
    d.write(c)
    d.sighup()
    g.wait_until(lambda: both()[0][1] != "ok", 5)
    a, p = both()
    t.ok(a == (200, "nothing routable") and p == a,
         "every weight 0: 200 \"nothing routable\" (a state, not a fault)",
         "%r %r" % (a, p))
    log = d.stderr()
    t.ok("eu-1 weight 100 -> 0" in log and "0 of 3 servers routable" in log,
         "the fleet change is logged once at info with what changed",
         log[-800:])
    t.eq(log.count("eu-1 weight 100 -> 0"), 1, "... once")
    d.signal(signal.SIGTERM)
    g.wait_until(lambda: both()[0][0] == 503, 2)
    a, p = both()
    t.ok(a == (503, "draining") and p == a,
         "SIGTERM with shutdown_delay: 503 draining on both", "%r %r" % (a, p))
    d.wait(10)


# ------------------------------------------------------------ GeoIP check

def geoip_only(t):
    import shutil
    db = os.path.join(tmp(), "geo.mmdb")
    shutil.copy(g.FIXTURE_DB, db)
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, db=db)
    d = g.Daemon(T, tmp(), c, "geoonly")
    d.env = {"GEO307_GEOIP_CHECK_INTERVAL": "0.3"}
    d.start()

    def server():
        r = g.raw_request(port, g.req("GET", "/u?x=1",
                                      [("X-Forwarded-For", "81.2.69.142")]))
        return r.header("X-Upload-Server")

    first = server()
    # an edit nobody signalled: eu-1 weight 0 would move GB elsewhere
    edited = c.copy()
    edited.set("server eu-1", "weight", 0)
    d.write(edited)
    st = os.stat(db)
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    said = g.wait_until(lambda: "reloaded the GeoIP database only" in
                        d.stderr(), 5)
    t.ok(said and first == "eu-1" and server() == "eu-1",
         "the GeoIP mtime check reloads the database only: an unsignalled "
         "config edit (eu-1 weight 0) is not applied", "%r %r\n%s"
         % (first, server(), d.stderr()[-600:]))
    d.sighup()
    g.wait_until(lambda: server() != "eu-1", 5)
    t.ok(server() != "eu-1", "... SIGHUP then applies it", server())
    d.stop()


# ------------------------------------------------------------ Redis states

def redis_states(t):
    rs = g.RedisServer(T, tmp()).start()
    r = rs.conn()
    P = "svc:"
    g.redis_write_fleet(r, P, g.redis_fleet_of())
    g.redis_report(r, P, {sid: "0.1" for sid in g.SERVERS})
    port, aport = g.free_port(), g.free_port()
    c = g.redis_config(port, aport, rs.port, tmp(), prefix=P, refresh=0.2)
    c.set("listen", "health_path", "/hz")
    d = g.Daemon(T, tmp(), c, "rstates").start()

    def state():
        a = g.http_get(aport, "/healthz")
        p = g.http_get(port, "/hz")
        return (a[0], a[2].strip().decode()), (p[0], p[2].strip().decode())

    def wait_state(body):
        return g.wait_until(lambda: state()[0][1] == body, 5)

    wait_state("ok")
    t.ok(state() == ((200, "ok"), (200, "ok")), "Redis fleet, fresh "
         "reports: 200 ok on both", "%r" % (state(),))
    g.redis_op(r, P, [["SET", P + "maintenance", "30"]])
    wait_state("maintenance")
    m = g.scrape(aport)
    t.ok(state() == ((200, "maintenance"), (200, "maintenance")) and
         m.get("geo307_maintenance") == 1,
         "maintenance: 200 \"maintenance\" (the 503s are for clients), "
         "geo307_maintenance 1", "%r %r" % (state(), m.get(
             "geo307_maintenance")))
    g.redis_op(r, P, [["DEL", P + "maintenance"],
                      ["HSET", P + "regions", "eu", "drain", "us", "drain",
                       "ap", "drain"]])
    wait_state("nothing routable")
    m = g.scrape(aport)
    t.ok(state() == ((200, "nothing routable"),) * 2 and
         m.get("geo307_maintenance") == 0 and
         m.get("geo307_server_routable", server="eu-1") == 0 and
         m.has("geo307_server_routable"),
         "every region drained: 200 \"nothing routable\", "
         "geo307_server_routable{eu-1} 0", "%r" % (state(),))
    log = d.stderr()
    t.ok("region eu drained" in log and "maintenance on" in log and
         "maintenance off" in log and "0 of 3 servers routable" in log,
         "fleet changes logged at info: maintenance on/off, regions drained,"
         " servers routable", log[-1200:])
    g.redis_op(r, P, [["DEL", P + "regions"]])
    g.redis_report(r, P, {sid: None for sid in g.SERVERS})
    wait_state("stale")
    m = g.scrape(aport)
    t.ok(state() == ((200, "stale"),) * 2 and
         m.get("geo307_server_routable", server="eu-1") == 1,
         "no fresh load report (fail-open): 200 \"stale\", the servers "
         "still routable", "%r" % (state(),))
    d.stop()


# ------------------------------------------------------------ metrics

def metrics(t):
    port, aport = g.free_port(), g.free_port()
    c = conf(port, aport)
    t0 = time.time()
    d = g.Daemon(T, tmp(), c, "metrics").start()
    m = g.scrape(aport)
    ver = subprocess.run([g.BIN, "--version"], capture_output=True,
                         text=True).stdout.split()[-1]
    t.ok(m.get("geo307_build_info", version=ver) == 1 and
         m.types.get("geo307_build_info") == "gauge",
         "geo307_build_info{version=\"%s\"} 1" % ver)
    fds = len(os.listdir("/proc/%d/fd" % d.pid))
    rss = int(open("/proc/%d/statm" % d.pid).read().split()[1]) * \
        os.sysconf("SC_PAGE_SIZE")
    t.ok(abs(m.get("process_open_fds") - fds) <= 3 and
         0.5 * rss < m.get("process_resident_memory_bytes") < 2 * rss and
         m.types.get("process_cpu_seconds_total") == "counter" and
         m.get("process_cpu_seconds_total") > 0,
         "process_open_fds, process_resident_memory_bytes, "
         "process_cpu_seconds_total match /proc (%d fds, %d bytes)"
         % (fds, rss), m.text[-600:])
    ts = m.get("geo307_last_reload_success_timestamp_seconds")
    t.ok(t0 - 2 <= ts <= time.time() + 1,
         "geo307_last_reload_success_timestamp_seconds = the start", ts)
    t.ok(m.get("geo307_server_routable", server="eu-1") == 1 and
         m.get("geo307_maintenance") == 0 and
         m.get("geo307_log_dropped_total") == 0,
         "geo307_server_routable{eu-1} 1, geo307_maintenance 0, "
         "geo307_log_dropped_total 0")
    time.sleep(1.1)
    c.set("server eu-1", "weight", 0)
    c.set("metrics", "per_server", "no")
    d.write(c)
    d.sighup()
    m2 = g.wait_metric(aport, lambda x: x.get(
        "geo307_last_reload_success_timestamp_seconds") > ts)
    t.ok(m2.get("geo307_last_reload_success_timestamp_seconds") > ts and
         not m2.has("geo307_server_routable") and
         "geo307_server_routable" not in m2.types,
         "after SIGHUP: the timestamp moves; per_server = no drops "
         "geo307_server_routable", m2.text[-400:])
    d.stop()


def main():
    T.run([(10, second_instance), (4, handover), (3, notify), (6, check),
           (5, health), (2, geoip_only), (5, redis_states),
           (5, metrics)])


if __name__ == "__main__":
    main()
