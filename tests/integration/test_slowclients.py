#!/usr/bin/env python3
"""Slow and idle clients cannot take the listener (SPEC 1 limits): while
one address, then ten, open slowloris connections (a header byte every
3 s) at 25 a second each and hold 300 idle keep-alive connections, a
normal client on another address keeps at least 99 % of its answers with
p99 under 100 ms.  The limits do it: per_ip_connections refused at accept
with a 503, idle keep-alive connections and slow headers evicted when the
table is nearly full, the header deadline shrinking under pressure.

Bounded: two phases of PHASE_S seconds on loopback addresses only."""

import multiprocessing
import os
import selectors
import socket
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
PHASE_S = 8.0
SLOW_RATE = 25          # new slowloris connections per second per address
IDLE_HELD = 300         # idle keep-alive connections, all addresses
GOOD_EVERY = 0.04       # the normal client: one request per 40 ms


F = g.Fixture(T)
tmp = F.tmp


class Attack:
    """Slowloris and idle keep-alive connections from addrs, until stop.
    Runs in a process of its own (Attack.spawn), so that the normal
    client's latency is never the attacker's time holding the GIL."""

    def __init__(self, port, addrs, stop):
        self.port, self.addrs = port, addrs
        self.sel = selectors.DefaultSelector()
        self.slow, self.idle = {}, {}
        self.stop = stop
        self.opened = self.refused = self.errors = 0
        self.max_slow = 0

    @staticmethod
    def main(port, addrs, stop, out):
        a = Attack(port, addrs, stop)
        a.run()
        out.send((a.opened, a.max_slow))

    @staticmethod
    def spawn(port, addrs):
        stop = multiprocessing.Event()
        rx, tx = multiprocessing.Pipe(False)
        p = multiprocessing.Process(target=Attack.main,
                                    args=(port, addrs, stop, tx),
                                    daemon=True)
        p.start()
        return p, stop, rx

    def _open(self, src, first):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((src, 0))
            s.connect_ex(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.errors += 1
            return None
        self.opened += 1
        self.sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE,
                          first)
        return s

    def _drop(self, s):
        self.slow.pop(s, None)
        self.idle.pop(s, None)
        try:
            self.sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()

    def _event(self, key, mask):
        s = key.fileobj
        if mask & selectors.EVENT_WRITE and key.data is not None:
            try:
                s.send(key.data)
            except OSError:
                self._drop(s)
                return
            self.sel.modify(s, selectors.EVENT_READ, None)
            return
        if mask & selectors.EVENT_READ:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if not d:
                self._drop(s)
            elif s in self.slow:
                if b" 503 " in d[:16]:
                    self.refused += 1
                self._drop(s)

    def run(self):
        t0 = time.monotonic()
        next_slow, next_idle, next_trickle = t0, t0, t0 + 3
        k = 0
        while not self.stop.is_set():
            now = time.monotonic()
            while next_slow <= now:
                for a in self.addrs:
                    s = self._open(a, b"GET /slow HTTP/1.1\r\nX-A: ")
                    if s is not None:
                        self.slow[s] = now
                next_slow += 1.0 / SLOW_RATE
            while len(self.idle) < IDLE_HELD and next_idle <= now:
                a = self.addrs[k % len(self.addrs)]
                k += 1
                s = self._open(a, b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
                if s is not None:
                    self.idle[s] = now
                next_idle += 1.0 / 200
            if next_idle <= now:
                next_idle = now
            if now >= next_trickle:
                for s in list(self.slow):
                    try:
                        s.send(b"a")
                    except OSError:
                        self._drop(s)
                next_trickle = now + 3
            self.max_slow = max(self.max_slow, len(self.slow))
            for key, mask in self.sel.select(0.005):
                self._event(key, mask)
        for s in list(self.slow) + list(self.idle):
            self._drop(s)


def good_request(port):
    """Seconds for one new-connection GET answered 307, or None."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return None
    try:
        s.settimeout(2)
        s.sendall(b"GET /good HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            if not d:
                return None
            buf += d
        return time.monotonic() - t0 if buf.startswith(b"HTTP/1.1 307") \
            else None
    except OSError:
        return None
    finally:
        s.close()


def phase(t, port, aport, addrs, label):
    m0 = g.scrape(aport)
    proc, stop, rx = Attack.spawn(port, addrs)
    time.sleep(1.5)            # let the attack fill what it can
    lat, fails = [], 0
    end = time.monotonic() + PHASE_S
    while time.monotonic() < end:
        el = good_request(port)
        if el is None:
            fails += 1
        else:
            lat.append(el)
        time.sleep(GOOD_EVERY)
    m1 = g.scrape(aport)
    stop.set()
    opened, max_slow = rx.recv() if rx.poll(15) else (0, 0)
    proc.join(10)
    n = len(lat) + fails
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None
    ok = len(lat) / n if n else 0
    pressure = sum(m1.get(name) - m0.get(name) for name in (
        "geo307_connections_refused_total",
        "geo307_connections_evicted_total"))
    t.ok(n > 50 and ok >= 0.99 and p99 is not None and p99 < 0.1,
         "%s: a normal client got %d of %d answers (%.1f %%), p99 %s ms, "
         "while the attack opened %d connections (%d slow at most at once)"
         % (label, len(lat), n, 100 * ok,
            "%.1f" % (p99 * 1000) if p99 is not None else "-",
            opened, max_slow))
    t.ok(pressure > 0, "%s: the attack did reach the limits: %d connections "
         "refused at accept or evicted" % (label, pressure))
    return m1


def attack(t):
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport)
    c.set("listen", "max_connections", 200)
    c.set("listen", "per_ip_connections", 40)
    c.set("listen", "header_timeout", 10)
    c.set("listen", "keepalive_timeout", 75)
    c.set("listen", "threads", 2)
    g.Daemon(T, tmp(), c, "slow").start()
    phase(t, port, aport, ["127.0.0.2"], "1 address")
    time.sleep(1)
    m = phase(t, port, aport, ["127.0.0.%d" % i for i in range(2, 12)],
              "10 addresses")
    t.ok(m.get("geo307_connections_refused_total", reason="per_ip") > 0 and
         m.get("geo307_connections_evicted_total") > 0,
         "per-IP refusals at accept (%d) and evictions (%d idle, %d slow "
         "header) both happened" % (
             m.get("geo307_connections_refused_total", reason="per_ip"),
             m.get("geo307_connections_evicted_total", kind="idle"),
             m.get("geo307_connections_evicted_total", kind="slow_header")))


def main():
    T.run([
        (5, attack),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
