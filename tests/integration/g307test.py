"""Shared harness for geo307's integration tests (Python 3 standard library only).

Every test_*.py script prints TAP and exits 1 when a point failed.  The
pieces here:

  TAP        plan / ok / skip / diag / bail; run(sections) computes the plan
             from (count, function) pairs and turns an exception inside a
             section into failing points, so the plan always adds up.
  Fixture    a script's own temp dir and redis-server, made on first use.
  Config     an INI file built from sections (SPEC section 6 names).
  Daemon     one geo307 process: start, wait ready, signals, stop, stderr.
  Conn       a raw socket with a response parser (for byte-exact targets).
  Sink       a local upload server that records what reached it.
  scrape()   /metrics parsed into {(name, frozenset(labels)): value}.
  Redis      RedisServer (a throw-away redis-server or sentinel), Resp (a
             RESP2 client), Monitor, redis_op() (an operator change with
             the version bump and PUBLISH), redis_write_fleet(),
             redis_report(), redis_config(), fleet_json()/wait_fleet().
"""

import errno
import fcntl
import hashlib
import html
import http.client
import http.server
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("GEO307_BIN", "/work/main/build/geo307")
SRCDIR = os.environ.get("GEO307_SRCDIR",
                        os.path.dirname(os.path.dirname(HERE)))
FIXTURES = os.environ.get("GEO307_FIXTURES", "/work/main/build/tests/fixtures")
FIXTURE_DB = os.path.join(FIXTURES, "test-city.mmdb")
# A valid MMDB without country data (ASN-shaped): geo307 must refuse it.
FIXTURE_ASN = os.path.join(FIXTURES, "test-asn.mmdb")



def _sanitized(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return b"__asan_init" in data or b"__ubsan_handle" in data or \
            b"__tsan_init" in data
    except OSError:
        return False


# VALGRIND=1: every Daemon runs under valgrind (memcheck: errors, leaks,
# descriptors left open); check_daemons() turns its report into a failure.
VALGRIND = os.environ.get("VALGRIND", "") not in ("", "0")
VALGRIND_ERROR_EXIT = 97
VALGRIND_SUPP = os.path.join(SRCDIR, "tests", "valgrind.supp")

# A factor for time bounds: sanitizer builds are 2-3x slower, valgrind
# 10-50x.
SLACK = float(os.environ.get("GEO307_TEST_SLACK") or
              (10 if VALGRIND else 2 if _sanitized(BIN) else 1))


def valgrind_argv(log_path):
    """The command prefix that runs geo307 under valgrind."""
    argv = ["valgrind", "--tool=memcheck",
            "--error-exitcode=%d" % VALGRIND_ERROR_EXIT,
            "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--track-fds=yes", "--child-silent-after-fork=yes",
            "--log-file=" + log_path]
    if os.path.isfile(VALGRIND_SUPP):
        argv.append("--suppressions=" + VALGRIND_SUPP)
    return argv


def valgrind_problems(log_path):
    """What valgrind's log reports: errors, leaks, and descriptors still
    open at exit that geo307 did not inherit (0-2 and the harness's)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    bad = []
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    if m and int(m.group(1)) > 0:
        bad.append("ERROR SUMMARY: %s errors" % m.group(1))
    for kind in ("definitely", "indirectly"):
        m = re.search(kind + r" lost: ([\d,]+) bytes", text)
        if m and m.group(1) != "0":
            bad.append("%s lost: %s bytes" % (kind, m.group(1)))
    # --track-fds lists each descriptor open at exit but 0-2 ("Open file
    # descriptor N: ...", "Open AF_INET socket N: ..."), followed by the
    # stack that opened it, or "<inherited from parent>" (the harness's).
    lines = [re.sub(r"^==\d+==\s?", "", ln) for ln in text.splitlines()]
    for i, ln in enumerate(lines):
        if re.match(r"Open .*\b\d+:", ln):
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if nxt != "<inherited from parent>":
                bad.append("descriptor left open: %s (%s)" % (ln, nxt))
    if bad:
        bad.append("valgrind log: " + log_path + "\n" + text[-4000:])
    return bad

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "WARNING: ThreadSanitizer",
                   "ERROR: ThreadSanitizer")


def maxmind_dir():
    """MaxMind's official test DBs, or None."""
    cands = []
    if os.environ.get("GEO307_MAXMIND"):
        cands.append(os.environ["GEO307_MAXMIND"])
    cands.append(os.path.join(SRCDIR, "..", "shared", "testdata", "maxmind"))
    cands.append("/work/shared/testdata/maxmind")
    for c in cands:
        if os.path.isfile(os.path.join(c, "GeoIP2-City-Test.mmdb")):
            return os.path.abspath(c)
    return None


# --------------------------------------------------------------------- TAP

class Skip(Exception):
    """Raised inside a section: its remaining points are skipped."""


class TAP:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.planned = None
        self._cleanups = []

    def plan(self, n):
        self.planned = n
        print("1..%d" % n, flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line, flush=True)

    def ok(self, cond, desc, diag=None, todo=None):
        """todo: a known deviation; a failure is then not counted (TAP
        TODO, automake's XFAIL), and a pass shows as XPASS."""
        self.n += 1
        desc = desc.replace("#", "\\#")
        print("%s %d - %s%s" % ("ok" if cond else "not ok", self.n, desc,
                                " # TODO " + todo if todo else ""),
              flush=True)
        if not cond:
            if not todo:
                self.failed += 1
            if diag is not None:
                self.diag(diag)
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "want %r\ngot  %r" % (want, got))

    def skip(self, desc, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc.replace("#", "\\#"),
                                        reason), flush=True)

    def at_exit(self, fn):
        self._cleanups.append(fn)

    def cleanup(self):
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # cleanup must go on
                self.diag("cleanup: %r" % (e,))

    def bail(self, msg):
        print("Bail out! " + msg, flush=True)
        self.cleanup()
        sys.exit(1)

    def run(self, sections, need_binary=True, need_fixture=True):
        """sections: list of (points, function(tap)).  Runs them all."""
        if need_binary and not os.access(BIN, os.X_OK):
            self.bail("geo307 binary not found at %s (GEO307_BIN)" % BIN)
        if need_fixture and not os.path.isfile(FIXTURE_DB):
            self.bail("GeoIP fixture not found at %s (GEO307_FIXTURES)"
                      % FIXTURE_DB)
        self.plan(sum(n for n, _ in sections))
        old = {s: signal.getsignal(s) for s in (signal.SIGTERM,)}
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
        try:
            for n, fn in sections:
                start = self.n
                try:
                    fn(self)
                except Skip as e:
                    while self.n - start < n:
                        self.skip(fn.__name__, str(e))
                except Exception:
                    tb = traceback.format_exc()
                    first = True
                    while self.n - start < n:
                        self.ok(False, "%s: not completed (exception)"
                                % fn.__name__, tb if first else None)
                        first = False
                    if first:       # all points were out already
                        self.failed += 1
                        self.diag("exception after the last point of %s:\n%s"
                                  % (fn.__name__, tb))
                if self.n - start != n:
                    self.failed += 1
                    self.diag("section %s emitted %d points, planned %d"
                              % (fn.__name__, self.n - start, n))
                    # keep the plan honest
                    while self.n - start < n:
                        self.ok(False, "%s: missing point" % fn.__name__)
        finally:
            self.cleanup()
            for s, h in old.items():
                signal.signal(s, h)
        sys.exit(1 if self.failed or self.n != self.planned else 0)


# ------------------------------------------------------------- temp, ports

def mkdtemp(tap, name="geo307-test-"):
    d = tempfile.mkdtemp(prefix=name)
    tap.at_exit(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


# A port is free when bind() says so, but it is only handed out to the
# daemon later: between the two, the kernel may give it to anyone else's
# bind(0).  Two kinds of collision were possible: in one process (two
# back-to-back bind(0) calls may return the same port once the first
# socket is closed; a listener and an admin port that collided made
# geo307 refuse its config in CI), and between test programs running in
# parallel (make -j2 check).  So each port handed out is remembered here,
# and claimed for other test processes with a lock on a file named after
# it, held until this process exits (the kernel drops it even on a crash).
_ports_given = set()
_port_locks = []
_PORT_DIR = os.path.join(tempfile.gettempdir(), "geo307-test-ports")


def _claim_port(port):
    try:
        os.makedirs(_PORT_DIR, exist_ok=True)
        fd = os.open(os.path.join(_PORT_DIR, str(port)),
                     os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:
        return True         # no shared directory: the in-process set only
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False    # another test process holds it
        return True
    _port_locks.append(fd)
    return True


_port_lock = threading.Lock()
_port_rng = random.Random(os.getpid() * 1000003 + time.time_ns())


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port(family=socket.AF_INET):
    """A port nobody listens on, claimed against the other test programs,
    and outside the kernel's ephemeral range: the load tests open
    thousands of client connections, whose ephemeral local ports would
    otherwise collide with a port handed out here before it is bound."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    lo, hi = _ephemeral_range()
    pool = [p for p in range(10000, 65536) if not lo <= p <= hi]
    with _port_lock:        # tests hand out ports from several threads
        for _ in range(2000):
            port = _port_rng.choice(pool) if pool else 0
            if port in _ports_given:
                continue
            s = socket.socket(family, socket.SOCK_STREAM)
            try:
                s.bind((host, port))
                port = s.getsockname()[1]
            except OSError:
                continue
            finally:
                s.close()
            if port not in _ports_given and _claim_port(port):
                _ports_given.add(port)
                return port
    raise RuntimeError("no free loopback port left")


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
            return True
        finally:
            s.close()
    except OSError:
        return False


def write_config(directory, text, name="geo307.conf"):
    path = os.path.join(directory, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def write_file_atomic(path, data):
    """Never overwrite a file the daemon may have mapped: rename over it."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ------------------------------------------------------------------ config

class Config:
    """Ordered INI sections; values are strings (or numbers)."""

    def __init__(self):
        self.sections = []          # [(name, {key: value})]

    def section(self, name):
        for n, kv in self.sections:
            if n == name:
                return kv
        kv = {}
        self.sections.append((name, kv))
        return kv

    def set(self, section, key, value):
        self.section(section)[key] = str(value)
        return self

    def remove(self, section, key=None):
        if key is None:
            self.sections = [(n, kv) for n, kv in self.sections
                             if n != section]
        else:
            self.section(section).pop(key, None)
        return self

    def copy(self):
        c = Config()
        c.sections = [(n, dict(kv)) for n, kv in self.sections]
        return c

    def text(self):
        out = []
        for n, kv in self.sections:
            out.append("[%s]" % n)
            for k, v in kv.items():
                out.append("%s = %s" % (k, v))
            out.append("")
        return "\n".join(out)


FLEET = {
    # region: (location, countries, continents, fallback, default)
    "eu": ("53.35, -6.26", "GB IE", "EU AF", "us", False),
    "us": ("38.9, -77.0", "", "NA SA", "", True),
    "ap": ("1.35, 103.8", "", "AS OC", "", False),
}
SERVERS = {
    "eu-1": ("https://eu-1.up.example.net", "eu", 100),
    "us-1": ("https://us-1.up.example.net", "us", 100),
    "ap-1": ("https://ap-1.up.example.net:8443/u/", "ap", 100),
}
# What a redirect's Location starts with, per server (base path without
# its trailing slash).
BASE = {
    "eu-1": "https://eu-1.up.example.net",
    "us-1": "https://us-1.up.example.net",
    "ap-1": "https://ap-1.up.example.net:8443/u",
}


def base_config(port, aport, db=None, regions=True, servers=True,
                trust="127.0.0.1/32", port6=None):
    """The standard test config: three regions, one server each."""
    c = Config()
    addr = "127.0.0.1:%d" % port
    if port6:
        addr += ", [::1]:%d" % port6
    c.set("listen", "address", addr)
    c.set("admin", "address", "127.0.0.1:%d" % aport)
    c.set("geoip", "database", db or FIXTURE_DB)
    if trust is not None:
        c.set("trust", "proxies", trust)
    c.set("selection", "seed", 42)
    c.set("log", "access", "off")
    # geo307 raises RLIMIT_NOFILE to max_connections + linger
    # max_connections + 64 or refuses to start: stay under a low hard limit
    # (containers often cap it below the defaults' 20064, even for root).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 20064:
        n = max(64, (hard - 64) // 2 - 16)
        c.set("listen", "max_connections", n)
        c.set("linger", "max_connections", n)
    if regions:
        for name, (loc, countries, continents, fb, dflt) in FLEET.items():
            s = "region %s" % name
            c.set(s, "location", loc)
            if countries:
                c.set(s, "countries", countries)
            if continents:
                c.set(s, "continents", continents)
            if fb:
                c.set(s, "fallback", fb)
            if dflt:
                c.set(s, "default", "yes")
    if servers:
        for sid, (url, region, weight) in SERVERS.items():
            s = "server %s" % sid
            c.set(s, "url", url)
            c.set(s, "region", region)
            c.set(s, "weight", weight)
    return c


# ------------------------------------------------------------------ daemon

class Daemon:
    all = []

    def __init__(self, tap, tmpdir, config, name="geo307"):
        self.tap = tap
        self.dir = tmpdir
        self.name = name
        self.config = config
        self.proc = None
        self.rc = None
        self.expect_failure = False
        self.env = {}           # extra environment for the process
        self.args = []          # extra arguments (e.g. --replace)
        self.port = None
        self.aport = None
        self.conf_path = os.path.join(tmpdir, name + ".conf")
        self.err_path = os.path.join(tmpdir, name + ".stderr")
        self.vg_path = os.path.join(tmpdir, name + ".valgrind")
        self.out_path = os.path.join(tmpdir, name + ".stdout")
        Daemon.all.append(self)
        tap.at_exit(self.kill)

    def write(self, config=None):
        if config is not None:
            self.config = config
        text = self.config.text() if isinstance(self.config, Config) \
            else self.config
        write_config(self.dir, text, self.name + ".conf")
        m = re.search(r"^\s*address\s*=\s*127\.0\.0\.1:(\d+)", text, re.M)
        self.port = int(m.group(1)) if m else None
        # [admin] address: the one after the [admin] header
        m = re.search(r"^\[admin\][^\[]*?^\s*address\s*=\s*127\.0\.0\.1:(\d+)",
                      text, re.M | re.S)
        self.aport = int(m.group(1)) if m else None
        return self.conf_path

    def start(self, wait=True, admin_ready=True, timeout=10):
        self.write()
        self.err = open(self.err_path, "ab")
        self.out = open(self.out_path, "ab")
        env = dict(os.environ, **self.env) if self.env else None
        argv = [BIN, "-c", self.conf_path] + list(self.args)
        if VALGRIND:
            argv = valgrind_argv(self.vg_path) + argv
        self.proc = subprocess.Popen(argv,
                                     stdin=subprocess.DEVNULL, env=env,
                                     stdout=self.out, stderr=self.err,
                                     cwd=self.dir)
        self.started = time.monotonic()
        if wait:
            self.wait_ready(admin_ready, timeout * SLACK)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, admin_ready=True, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("geo307 exited with %s during start:\n%s"
                                   % (self.proc.returncode, self.stderr()))
            if port_open(self.port) and (not admin_ready or
                                         self.aport is None or
                                         admin_answers(self.aport)):
                return
            time.sleep(0.05)
        raise RuntimeError("geo307 not ready after %.0fs:\n%s"
                           % (timeout, self.stderr()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def sighup(self):
        self.signal(signal.SIGHUP)

    def wait(self, timeout):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.rc

    def stop(self, timeout=15):
        """SIGTERM, wait; returns the exit status (None if it hung)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait(timeout * SLACK) is None:
                self.proc.kill()
                self.proc.wait()
                self.rc = None
                self.hung = True
                return None
        self.rc = self.proc.returncode
        return self.rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in ("err", "out"):
            if hasattr(self, f):
                getattr(self, f).close()

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def sanitizer_report(self):
        text = self.stderr()
        for m in SANITIZER_MARKS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 200):i + 3000]
        return None


def check_daemons(tap):
    """The last point of every script: each daemon stopped cleanly."""
    bad = []
    for d in Daemon.all:
        if d.proc is None:
            continue
        if d.proc.poll() is None:
            rc = d.stop()
        else:
            rc = d.proc.returncode
        if not d.expect_failure and rc != 0:
            bad.append("%s: exit status %r (stderr tail):\n%s"
                       % (d.name, rc, d.stderr()[-2000:]))
        rep = d.sanitizer_report()
        if rep:
            bad.append("%s: sanitizer report:\n%s" % (d.name, rep))
        if VALGRIND and not d.expect_failure:
            vg = valgrind_problems(d.vg_path)
            if vg is None:
                bad.append("%s: no valgrind log" % d.name)
            elif vg:
                bad.append("%s: valgrind: %s" % (d.name, "\n".join(vg)))
    tap.ok(not bad, "every geo307 started here exited 0 on SIGTERM, "
           "no sanitizer report" + (", valgrind clean (no error, leak or "
                                    "fd left open)" if VALGRIND else ""),
           "\n".join(bad))


def run_geo307(args, timeout=30):
    """Run geo307 with arguments (e.g. --check); returns (rc, out, err)."""
    p = subprocess.run([BIN] + args, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout * SLACK)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# --------------------------------------------------------------- raw HTTP

def port_open(port, host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def admin_answers(aport):
    try:
        st, _, _ = http_request(aport, "GET", "/healthz", timeout=1)
        return st in (200, 503)
    except (OSError, http.client.HTTPException):
        return False


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers      # [(name, value)], as sent
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_token(self, name, token):
        """Header is a comma list containing token (case-insensitive)."""
        toks = []
        for v in self.header_all(name):
            toks += [t.strip().lower() for t in v.split(",")]
        return token.lower() in toks

    def __repr__(self):
        return "<%d %s %r body=%r>" % (self.status, self.reason,
                                       self.headers, self.body[:200])


class Closed(Exception):
    pass


class Conn:
    """A raw client socket that can read HTTP/1.x responses."""

    def __init__(self, port, host="127.0.0.1", timeout=5):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("read timed out")
        self.sock.settimeout(left)
        d = self.sock.recv(65536)
        if not d:
            self.eof = True
            raise Closed("connection closed by peer")
        self.buf += d

    def read_response(self, head=False, timeout=5):
        deadline = time.monotonic() + timeout * SLACK
        while b"\r\n\r\n" not in self.buf:
            try:
                self._fill(deadline)
            except Closed:
                if self.buf:
                    raise Closed("closed inside a response head: %r"
                                 % self.buf[:300])
                raise
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.split(b"\r\n")
        m = re.match(rb"(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise ValueError("bad status line %r" % lines[0])
        version, status, reason = (m.group(1).decode(), int(m.group(2)),
                                   m.group(3).decode("latin-1"))
        headers = []
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            headers.append((k.decode("latin-1"),
                            v.strip().decode("latin-1")))
        r = Response(version, status, reason, headers, b"", raw)
        if head or 100 <= status < 200 or status in (204, 304):
            return r
        te = (r.header("Transfer-Encoding") or "").lower()
        cl = r.header("Content-Length")
        if "chunked" in te:
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill(deadline)
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill(deadline)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
            r.body = body
        elif cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                self._fill(deadline)
            r.body, self.buf = self.buf[:n], self.buf[n:]
        else:
            try:
                while True:
                    self._fill(deadline)
            except Closed:
                pass
            r.body, self.buf = self.buf, b""
        return r

    def peer_state(self, timeout=1.0):
        """'eof', 'reset', 'data' or 'open' (nothing within timeout)."""
        if self.eof:
            return "eof"
        if self.buf:
            return "data"
        try:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return "open"
            d = self.sock.recv(65536)
        except ConnectionResetError:
            return "reset"
        except OSError:
            return "reset"
        if not d:
            self.eof = True
            return "eof"
        self.buf += d
        return "data"

    def wait_closed(self, timeout):
        """Seconds until the peer closed (EOF or reset), or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            st = self.peer_state(0.05)
            if st in ("eof", "reset"):
                return time.monotonic() - t0
            if st == "data":
                self.buf = b""      # ignore stray bytes
        return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_request(port, data, read_timeout=5, head=False, host="127.0.0.1"):
    """Send bytes on a new connection, return the first Response."""
    c = Conn(port, host)
    try:
        c.send(data)
        return c.read_response(head=head, timeout=read_timeout)
    finally:
        c.close()


def req(method, target, headers=(), version="HTTP/1.1", body=b""):
    """Build request bytes; target may be bytes (sent as is)."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    out = method.encode() + b" " + target + b" " + version.encode() + b"\r\n"
    names = [h[0].lower() for h in headers]
    if "host" not in names:
        out += b"Host: geo307.test\r\n"
    for k, v in headers:
        if isinstance(v, str):
            v = v.encode("latin-1")
        out += k.encode() + b": " + v + b"\r\n"
    return out + b"\r\n" + body


def http_request(port, method, path, headers=None, body=None, timeout=5,
                 host="127.0.0.1"):
    """One request over http.client: (status, [(name, value)], body)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout * SLACK)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def http_get(port, path, headers=None, timeout=5):
    return http_request(port, "GET", path, headers, timeout=timeout)


def hget(headers, name, default=None):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return default


class Client:
    """A keep-alive http.client connection for many requests."""

    def __init__(self, port, host="127.0.0.1", timeout=5):
        self.c = http.client.HTTPConnection(host, port, timeout=timeout * SLACK)

    def request(self, method, path, headers=None, body=None):
        try:
            self.c.request(method, path, body=body, headers=headers or {})
            r = self.c.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError,
                ConnectionResetError):
            self.c.close()      # the server closed an idle connection
            self.c.request(method, path, body=body, headers=headers or {})
            r = self.c.getresponse()
        b = r.read()
        if r.will_close:
            self.c.close()
        return r.status, r.getheaders(), b

    def close(self):
        self.c.close()


def check_html_body(body, location):
    """The redirect page links to the HTML-escaped Location: '' if fine."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    m = re.search(r"""<a\s[^>]*href\s*=\s*(["'])(.*?)\1""", text,
                  re.S | re.I)
    if not m:
        return "no <a href> in body %r" % text[:300]
    quote, val = m.group(1), m.group(2)
    if "<" in val or ">" in val or quote in val:
        return "href not escaped: %r" % val
    if re.search(r"&(?!(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);)", val):
        return "raw & in href: %r" % val
    if html.unescape(val) != location:
        return "href %r unescapes to %r, Location is %r" % (
            val[:200], html.unescape(val)[:200], location[:200])
    return ""


# ------------------------------------------------------------------ metrics

class Metrics:
    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.help = set()
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# HELP "):
                self.help.add(line.split()[2])
            elif line.startswith("# TYPE "):
                p = line.split()
                self.types[p[2]] = p[3] if len(p) > 3 else ""
            elif line and not line.startswith("#"):
                m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)",
                             line)
                if not m:
                    continue
                labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                                         m.group(3) or ""))
                self.samples[(m.group(1), frozenset(labels.items()))] = \
                    float(m.group(4))

    def get(self, name, **labels):
        """Sum of the samples of name whose labels include these."""
        want = set((k, str(v)) for k, v in labels.items())
        return sum(v for (n, ls), v in self.samples.items()
                   if n == name and want <= ls)

    def has(self, name):
        return any(n == name for n, _ in self.samples)


def scrape(aport, timeout=5):
    st, _, body = http_get(aport, "/metrics", timeout=timeout)
    if st != 200:
        raise RuntimeError("/metrics answered %d" % st)
    return Metrics(body.decode("utf-8", "replace"))


def wait_metric(aport, pred, timeout=3):
    """Scrape until pred(metrics) is true; returns the last Metrics."""
    deadline = time.monotonic() + timeout * SLACK
    while True:
        m = scrape(aport)
        if pred(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


# --------------------------------------------------------------------- sink

class Sink:
    """An upload server: records every request; answers 201."""

    def __init__(self, keep_body=False, pages=None):
        self.requests = []
        self.lock = threading.Lock()
        sink = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _body(self):
                h = hashlib.sha256()
                n = 0
                keep = [] if keep_body else None
                te = (self.headers.get("Transfer-Encoding") or "").lower()
                if "chunked" in te:
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            break
                        d = self.rfile.read(size)
                        self.rfile.read(2)
                        h.update(d)
                        n += len(d)
                        if keep is not None:
                            keep.append(d)
                else:
                    left = int(self.headers.get("Content-Length") or 0)
                    while left > 0:
                        d = self.rfile.read(min(left, 1 << 20))
                        if not d:
                            break
                        h.update(d)
                        n += len(d)
                        left -= len(d)
                        if keep is not None:
                            keep.append(d)
                return h.hexdigest(), n, (b"".join(keep) if keep is not None
                                          else None)

            def _any(self):
                path, _, query = self.path.partition("?")
                if self.command == "GET" and pages and path in pages:
                    data = pages[path].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                sha, n, body = self._body()
                rec = {"method": self.command, "path": path, "query": query,
                       "target": self.path, "headers": dict(self.headers),
                       "sha256": sha, "length": n, "body": body,
                       "time": time.monotonic()}
                with sink.lock:
                    sink.requests.append(rec)
                out = ("<!doctype html><title>stored</title>"
                       "<p id=result>stored %s %d %s</p>\n"
                       % (self.command, n, sha)).encode()
                self.send_response(201)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any
            do_HEAD = do_OPTIONS = _any

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = S(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    @property
    def base(self):
        return "http://127.0.0.1:%d/base" % self.port

    def uploads(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------ misc helpers

def pattern_bytes(n, seed=0):
    """Deterministic bytes; the browser test builds the same in JS."""
    block = bytes(((i * 31 + seed) ^ (i >> 8)) & 0xFF for i in range(65536))
    reps, rest = divmod(n, len(block))
    return block * reps + block[:rest]


def make_file(directory, name, n, seed=0):
    path = os.path.join(directory, name)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = n
        chunk = pattern_bytes(1 << 20, seed)
        while left > 0:
            d = chunk[:min(left, len(chunk))]
            f.write(d)
            h.update(d)
            left -= len(d)
    return path, h.hexdigest()


def xff(ip):
    return {"X-Forwarded-For": ip}


def mmdb_metadata(path):
    """The metadata map of an MMDB file (the part geo307 reports)."""
    with open(path, "rb") as f:
        data = f.read()
    i = data.rfind(b"\xab\xcd\xefMaxMind.com")
    if i < 0:
        raise ValueError("no MMDB metadata marker")
    buf = data[i + 14:]

    def dec(p):
        ctrl = buf[p]
        p += 1
        t = ctrl >> 5
        if t == 0:
            t = buf[p] + 7
            p += 1
        size = ctrl & 0x1F
        if t == 1:          # pointer, relative to the metadata start
            ss, vvv = (ctrl >> 3) & 3, ctrl & 7
            b = buf[p:p + ss + 1]
            n = int.from_bytes(b, "big")
            target = ((vvv << (8 * (ss + 1))) | n if ss < 3 else n) + \
                (0, 2048, 526336, 0)[ss]
            return dec(target)[0], p + ss + 1
        if size >= 29:
            extra = size - 28
            n = int.from_bytes(buf[p:p + extra], "big")
            p += extra
            size = {1: 29, 2: 285, 3: 65821}[extra] + n
        if t == 2:
            return buf[p:p + size].decode(), p + size
        if t == 7:
            out = {}
            for _ in range(size):
                k, p = dec(p)
                v, p = dec(p)
                out[k] = v
            return out, p
        if t == 11:
            out = []
            for _ in range(size):
                v, p = dec(p)
                out.append(v)
            return out, p
        if t in (5, 6, 9, 10):
            return int.from_bytes(buf[p:p + size], "big"), p + size
        if t == 3:
            return struct.unpack(">d", buf[p:p + 8])[0], p + 8
        if t == 4:
            return buf[p:p + size], p + size
        if t == 14:
            return bool(size), p
        raise ValueError("metadata type %d" % t)

    return dec(0)[0]


def wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout * SLACK
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


# ------------------------------------------------------------------- redis
#
# RedisServer runs a throw-away redis-server (or a sentinel) on loopback;
# Resp is a minimal RESP2 client (commands, pipelines, MONITOR/SUBSCRIBE
# streams); redis_op() writes an operator change the way SPEC section 3
# says (WATCH P version, MULTI, ..., INCR P version, PUBLISH P changed
# <version>, EXEC); redis_config() is base_config() with the fleet in
# Redis instead of [server] sections.

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def have_redis():
    return REDIS_SERVER is not None


class RespError(Exception):
    pass


class Resp:
    """A RESP2 client on one socket.  Bulk strings come back as str
    (UTF-8, surrogateescape), errors from cmd() raise RespError, errors
    inside pipeline() are returned as RespError objects."""

    mine = set()        # local ports of our own connections (MONITOR filter)

    def __init__(self, port, host="127.0.0.1", timeout=5):
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]
        Resp.mine.add(self.port)
        self.buf = b""

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode("utf-8", "surrogateescape")
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, *cmds):
        self.sock.sendall(b"".join(self.encode(c) for c in cmds))

    def _fill(self):
        d = self.sock.recv(1 << 20)
        if not d:
            raise ConnectionError("redis closed the connection")
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("utf-8", "surrogateescape")
        if t == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            d, self.buf = self.buf[:n], self.buf[n + 2:]
            return d.decode("utf-8", "surrogateescape")
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise ValueError("bad RESP line %r" % line[:100])

    def cmd(self, *args):
        self.send(args)
        r = self.read()
        if isinstance(r, RespError):
            raise r
        return r

    def pipeline(self, cmds):
        """Send every command in one write, read every reply."""
        cmds = list(cmds)
        if not cmds:
            return []
        self.send(*cmds)
        return [self.read() for _ in cmds]

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        Resp.mine.discard(self.port)
        try:
            self.sock.close()
        except OSError:
            pass


class Monitor:
    """MONITOR on its own connection, in a thread: self.lines is a list of
    (time, client "ip:port", [args]) for commands of other clients."""

    LINE = re.compile(r'^(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$')

    def __init__(self, port):
        self.r = Resp(port)
        self.r.cmd("MONITOR")
        self.r.settimeout(0.2)
        self.lines = []
        self.lock = threading.Lock()
        self.stopping = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    @staticmethod
    def _args(s):
        out = []
        for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', s):
            out.append(re.sub(r'\\(x[0-9a-f]{2}|.)',
                              lambda x: chr(int(x.group(1)[1:], 16))
                              if x.group(1).startswith("x") and
                              len(x.group(1)) == 3 else x.group(1),
                              m.group(1)))
        return out

    def _run(self):
        while not self.stopping:
            try:
                r = self.r.read()
            except (socket.timeout, BlockingIOError):
                continue
            except (OSError, ValueError):
                return
            if not isinstance(r, str):
                continue
            m = self.LINE.match(r)
            if not m:
                continue
            client = m.group(2)
            try:
                cport = int(client.rsplit(":", 1)[1])
            except (IndexError, ValueError):
                cport = None
            if cport in Resp.mine:
                continue
            with self.lock:
                self.lines.append((float(m.group(1)), client,
                                   self._args(m.group(3))))

    def take(self):
        with self.lock:
            out, self.lines = self.lines, []
        return out

    def stop(self):
        self.stopping = True
        self.t.join(2)
        self.r.close()


class RedisServer:
    """A throw-away redis-server on 127.0.0.1 (no persistence unless asked).

    start(port=None, args=()) runs it in the foreground and waits for PING;
    stop() is SIGTERM, kill() SIGKILL, pause()/resume() SIGSTOP/SIGCONT;
    cli(*args) runs redis-cli and returns its stdout (stripped); conn()
    gives a Resp client.  sentinel=True runs a sentinel (redis-sentinel, or
    redis-server --sentinel) on a config file written into the temp dir.
    """

    def __init__(self, tap, tmpdir, name="redis", sentinel=False):
        if not have_redis():
            raise Skip("redis-server not installed")
        self.tap = tap
        self.dir = tmpdir
        self.name = name
        self.sentinel = sentinel
        self.proc = None
        self.port = None
        self.log_path = os.path.join(tmpdir, name + ".log")
        self.rdb = name + ".rdb"
        tap.at_exit(self.kill)

    def argv(self, port, args):
        if self.sentinel:
            conf = os.path.join(self.dir, self.name + ".conf")
            lines = ["port %d" % port, "bind 127.0.0.1", "daemonize no",
                     "dir %s" % self.dir, "logfile %s" % self.log_path]
            lines += list(args)
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            s = shutil.which("redis-sentinel")
            return [s, conf] if s else [REDIS_SERVER, conf, "--sentinel"]
        return [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--dbfilename", self.rdb, "--daemonize", "no",
                "--logfile", self.log_path] + [str(a) for a in args]

    def start(self, port=None, args=(), wait=True, timeout=10):
        self.port = port or self.port or free_port()
        self.proc = subprocess.Popen(self.argv(self.port, args),
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     cwd=self.dir)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (
                    self.name, self.proc.returncode, self.log()[-2000:]))
            try:
                r = Resp(self.port, timeout=1)
                try:
                    if r.cmd("PING") == "PONG":
                        return
                finally:
                    r.close()
            except (OSError, RespError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("%s not ready after %ss: %r\n%s" % (
            self.name, timeout, last, self.log()[-2000:]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def pause(self):
        self._signal(signal.SIGSTOP)

    def resume(self):
        self._signal(signal.SIGCONT)

    def stop(self, timeout=10):
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def conn(self, timeout=5):
        return Resp(self.port, timeout=timeout)

    def cli(self, *args, timeout=10):
        """redis-cli against this server (Resp when redis-cli is absent)."""
        if REDIS_CLI:
            p = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p",
                                str(self.port)] + [str(a) for a in args],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
            return p.stdout.decode("utf-8", "replace").strip()
        r = self.conn()
        try:
            v = r.cmd(*args)
        except RespError as e:
            return "(error) %s" % e
        finally:
            r.close()
        if isinstance(v, list):
            return "\n".join("" if x is None else str(x) for x in v)
        return "" if v is None else str(v)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Fixture:
    """What one test script shares between its sections, each made on
    first use and removed at exit by the script's TAP:

    tmp()    a temp dir (mkdtemp(tap, tmp_prefix));
    redis()  one RedisServer named redis_name in tmp(), started (Skip when
             redis-server is not installed);
    resp()   one Resp client on redis().

    A script makes one (F = g.Fixture(T)) and calls these instead of
    keeping its own copies in its state dict."""

    def __init__(self, tap, tmp_prefix="geo307-test-", redis_name="redis"):
        self.tap = tap
        self.tmp_prefix = tmp_prefix
        self.redis_name = redis_name
        self._tmp = None
        self._redis = None
        self._resp = None

    def tmp(self):
        if self._tmp is None:
            self._tmp = mkdtemp(self.tap, self.tmp_prefix)
        return self._tmp

    def redis(self):
        if self._redis is None:
            if not have_redis():
                raise Skip("redis-server not installed")
            self._redis = RedisServer(self.tap, self.tmp(),
                                      self.redis_name).start()
        return self._redis

    def resp(self):
        if self._resp is None:
            self._resp = self.redis().conn()
        return self._resp


def redis_op(r, prefix, cmds, publish=True, bump=True, tries=20, ids=None):
    """An operator change: WATCH P version; MULTI; cmds; INCR P version;
    [XADD P changes ... version <v> ids <ids> when ids is given, as
    geo307ctl does]; PUBLISH P changed <new version>; EXEC.  Returns the
    new version (the old one when bump is false).  r: a Resp client."""
    vkey = prefix + "version"
    for _ in range(tries):
        r.cmd("WATCH", vkey)
        v = int(r.cmd("GET", vkey) or 0)
        new = v + 1 if bump else v
        tail = []
        if bump:
            tail.append(["INCR", vkey])
        if bump and ids is not None:
            tail.append(["XADD", prefix + "changes", "MAXLEN", "~", "100000",
                         "*", "version", str(new), "ids", ",".join(ids)])
        if publish:
            tail.append(["PUBLISH", prefix + "changed", str(new)])
        replies = r.pipeline([["MULTI"]] + [list(c) for c in cmds] + tail +
                             [["EXEC"]])
        for x in replies[:-1]:
            if isinstance(x, RespError):
                raise x
        res = replies[-1]
        if isinstance(res, RespError):
            raise res
        if res is None:             # WATCH fired: someone else wrote
            continue
        for x in res:
            if isinstance(x, RespError):
                raise x
        return new
    raise RuntimeError("redis_op: version kept changing")


def redis_server_cmds(prefix, sid, fields):
    """HSET P server:<id> with fields ({name: value}, None = left out)."""
    args = ["HSET", prefix + "server:" + sid]
    for k, v in fields.items():
        if v is not None:
            args += [k, str(v)]
    return [["DEL", prefix + "server:" + sid]] + \
        ([args] if len(args) > 2 else [])


def redis_write_fleet(r, prefix, servers, regions=None, maintenance=None,
                      publish=True, bump=True):
    """Replace the whole fleet in one operator change.  servers: {id:
    {field: value}}; regions: {name: "up"|"drain"} (None: no P regions);
    maintenance: seconds or None (key deleted).  Returns the new version."""
    old = r.cmd("SMEMBERS", prefix + "servers") or []
    cmds = [["DEL", prefix + "server:" + sid] for sid in old]
    cmds.append(["DEL", prefix + "servers"])
    for sid, fields in servers.items():
        cmds += redis_server_cmds(prefix, sid, fields)
    if servers:
        cmds.append(["SADD", prefix + "servers"] + list(servers))
    cmds.append(["DEL", prefix + "regions"])
    if regions:
        a = ["HSET", prefix + "regions"]
        for k, v in regions.items():
            a += [k, v]
        cmds.append(a)
    if maintenance is None:
        cmds.append(["DEL", prefix + "maintenance"])
    else:
        cmds.append(["SET", prefix + "maintenance", str(maintenance)])
    return redis_op(r, prefix, cmds, publish=publish, bump=bump)


def redis_report(r, prefix, loads, ex=600, px=None):
    """Agents' load reports: {id: load} with SET P load:<id> v EX ex (or PX
    px); a load of None deletes the key.  Pipelined; never publishes."""
    cmds = []
    for sid, load in loads.items():
        key = prefix + "load:" + sid
        if load is None:
            cmds.append(["DEL", key])
        elif px is not None:
            cmds.append(["SET", key, str(load), "PX", str(px)])
        elif ex is not None:
            cmds.append(["SET", key, str(load), "EX", str(ex)])
        else:
            cmds.append(["SET", key, str(load)])
    for x in r.pipeline(cmds):
        if isinstance(x, RespError):
            raise x


def redis_fleet_of(servers=None):
    """SERVERS (or {id: (url, region, weight)}) as Redis hash fields."""
    return {sid: {"url": url, "region": region, "weight": weight}
            for sid, (url, region, weight) in (servers or SERVERS).items()}


def redis_config(port, aport, rport, tmpdir, prefix=None, db=None,
                 allowed="*.up.example.net", **redis):
    """base_config() with [redis] instead of [server] sections; the cache
    file goes into tmpdir (never the system default)."""
    c = base_config(port, aport, db=db, servers=False)
    c.set("redis", "url", "redis://127.0.0.1:%d/0" % rport)
    if prefix is not None:
        c.set("redis", "prefix", prefix)
    c.set("redis", "cache_file", os.path.join(
        tmpdir, "fleet-%d.cache" % port))
    for k, v in redis.items():
        c.set("redis", k, v)
    c.set("redirect", "allowed_hosts", allowed)
    return c


def fleet_json(aport, timeout=5):
    """/fleet parsed, or None (not 200 or not JSON)."""
    import json
    try:
        st, _, body = http_get(aport, "/fleet", timeout=timeout)
    except (OSError, http.client.HTTPException):
        return None
    if st != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def wait_fleet(aport, pred, timeout=5, interval=0.02):
    """Poll /fleet until pred(json) holds; returns (json, seconds) or
    (last json, None)."""
    t0 = time.monotonic()
    deadline = t0 + timeout * SLACK
    j = None
    while True:
        j = fleet_json(aport)
        if j is not None and pred(j):
            return j, time.monotonic() - t0
        if time.monotonic() > deadline:
            return j, None
        time.sleep(interval)


def fleet_server(j, sid):
    for s in (j or {}).get("servers", []):
        if s.get("id") == sid:
            return s
    return None
