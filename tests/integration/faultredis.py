"""A fault-injecting Redis for the tests: a proxy in front of a real
redis-server that forwards every command and its reply, except the one it
is armed to break, whose reply it replaces with a fault.

    p = FaultRedis(tap, upstream_port, sentinel_master=None)
    p.arm("error", lambda cmd, batch: cmd[0] == "SMEMBERS")
    p.wait_hit(3)       # the client sent that command; the fault went out

Each armed rule fires once (count=1) and disarms itself, so the client's
next attempt gets real answers again.  cmd is the command as a list of
str (its name upper-cased), batch the names of every command that arrived
in the same read (a pipelined batch: it tells the poll's GET P version,
sent with its MGET, from the full read's, sent alone).  Pub/sub messages
pushed after SUBSCRIBE are matched as ["MESSAGE", channel, payload].

With sentinel_master=(host, port) the proxy answers SENTINEL
get-master-addr-by-name itself, as a sentinel would, naming that address.

Faults: error (-ERR), wrongtype (an integer for an array, an array for
anything else), half (the first half of the real reply, then silence),
stall (nothing, until the client gives up), drop (the connection closed),
garbage (bytes that are not RESP), bigarray (*2147483647, then silence),
bigbulk ($2147483648 then data, up to BIGBULK_BYTES or until the client
closes), hugebulk ($2147483648, then silence).
"""

import select
import socket
import threading
import time

FAULTS = ("error", "wrongtype", "half", "stall", "drop", "garbage",
          "bigarray", "bigbulk")
BIGBULK_BYTES = 40 << 20     # past the routers' 32 MiB bound
HOLD_MAX = 30.0


def _line_end(buf, i):
    j = buf.find(b"\r\n", i)
    return j


def reply_end(buf, i=0):
    """End offset of the RESP value starting at buf[i], or None."""
    j = _line_end(buf, i)
    if j < 0:
        return None
    t = buf[i:i + 1]
    if t in (b"+", b"-", b":"):
        return j + 2
    n = int(buf[i + 1:j])
    if t == b"$":
        if n < 0:
            return j + 2
        end = j + 2 + n + 2
        return end if len(buf) >= end else None
    if t == b"*":
        k = j + 2
        for _ in range(max(n, 0)):
            k = reply_end(buf, k)
            if k is None:
                return None
        return k
    raise ValueError("not RESP: %r" % buf[i:i + 40])


def parse_command(buf, i=0):
    """(args as list of bytes, end offset) of the command at buf[i]."""
    end = reply_end(buf, i)
    if end is None:
        return None, None
    args = []
    j = _line_end(buf, i)
    n = int(buf[i + 1:j])
    k = j + 2
    for _ in range(n):
        e = _line_end(buf, k)
        ln = int(buf[k + 1:e])
        args.append(buf[e + 2:e + 2 + ln])
        k = e + 2 + ln + 2
    return args, end


def _s(b):
    return b.decode("utf-8", "replace")


class FaultRedis:
    def __init__(self, tap, upstream_port, port, sentinel_master=None):
        self.up = upstream_port
        self.sentinel_master = sentinel_master
        self.lock = threading.Lock()
        self.rules = []
        self.hit = threading.Event()
        self.hits = []
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(64)
        self.port = port
        self.stopping = False
        self.conns = []
        self.pubsub = set()
        threading.Thread(target=self._accept, daemon=True).start()
        tap.at_exit(self.close)

    # --- arming ------------------------------------------------------

    def arm(self, fault, pred, count=1):
        assert fault in FAULTS, fault
        with self.lock:
            self.rules.append([fault, pred, count])
            self.hit.clear()

    def disarm(self):
        with self.lock:
            self.rules = []

    def armed(self):
        with self.lock:
            return bool(self.rules)

    def wait_hit(self, timeout):
        return self.hit.wait(timeout)

    def _take(self, cmd, batch):
        with self.lock:
            for r in self.rules:
                try:
                    m = r[1](cmd, batch)
                except (IndexError, ValueError):
                    m = False
                if m:
                    r[2] -= 1
                    if r[2] <= 0:
                        self.rules.remove(r)
                    self.hits.append((r[0], cmd))
                    if not self.rules:
                        self.hit.set()
                    return r[0]
        return None

    # --- plumbing ----------------------------------------------------

    def close(self):
        self.stopping = True
        try:
            self.ls.close()
        except OSError:
            pass
        for s in list(self.conns):
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        self.conns.append(c)
        try:
            u = socket.create_connection(("127.0.0.1", self.up), 5)
        except OSError:
            c.close()
            return
        self.conns.append(u)
        try:
            self._loop(c, u)
        except (OSError, ValueError):
            pass
        finally:
            for s in (c, u):
                try:
                    s.close()
                except OSError:
                    pass
                if s in self.conns:
                    self.conns.remove(s)

    @staticmethod
    def _read_reply(u, ubuf):
        while True:
            end = reply_end(ubuf[0]) if ubuf[0] else None
            if end is not None:
                r, ubuf[0] = ubuf[0][:end], ubuf[0][end:]
                return r
            d = u.recv(1 << 16)
            if not d:
                raise OSError("upstream closed")
            ubuf[0] += d

    def _loop(self, c, u):
        buf = b""
        ubuf = [b""]
        while not self.stopping:
            d = c.recv(1 << 16)
            if not d:
                return
            buf += d
            cmds = []
            while buf:
                args, end = parse_command(buf)
                if args is None:
                    break
                cmds.append((args, buf[:end]))
                buf = buf[end:]
            batch = [_s(a[0]).upper() for a, _ in cmds]
            for args, raw in cmds:
                cmd = [_s(a) for a in args]
                cmd[0] = cmd[0].upper()
                if cmd[0] == "SENTINEL" and self.sentinel_master:
                    h, p = self.sentinel_master
                    real = b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                        len(h), h.encode(), len(str(p)), str(p).encode())
                else:
                    u.sendall(raw)
                    real = self._read_reply(u, ubuf)
                fault = self._take(cmd, batch)
                if fault is not None:
                    self._inject(c, fault, real)
                    return
                c.sendall(real)
                if cmd[0] == "SUBSCRIBE":
                    self._pubsub(c, u, ubuf)
                    return

    def close_pubsub(self):
        """Cut every subscribed client off: they subscribe again."""
        for c in list(self.pubsub):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _pubsub(self, c, u, ubuf):
        """Forward pushed messages; the client sends nothing more."""
        self.pubsub.add(c)
        try:
            self._pump(c, u, ubuf)
        finally:
            self.pubsub.discard(c)

    def _pump(self, c, u, ubuf):
        while not self.stopping:
            if not ubuf[0]:
                rd, _, _ = select.select([c, u], [], [], 0.5)
                if c in rd and not c.recv(1 << 16):
                    return
                if u not in rd:
                    continue
            m = self._read_reply(u, ubuf)
            parts = []
            try:
                args, _ = parse_command(m)
                parts = [_s(a) for a in args]
            except (ValueError, TypeError):
                pass
            cmd = ["MESSAGE"] + parts[1:] if parts and \
                parts[0] == "message" else ["PUSH"] + parts
            fault = self._take(cmd, [cmd[0]])
            if fault is not None:
                self._inject(c, fault, m)
                return
            c.sendall(m)

    def _hold(self, c):
        """Silence until the client closes (its timeout), or HOLD_MAX."""
        deadline = time.monotonic() + HOLD_MAX
        c.settimeout(0.2)
        while not self.stopping and time.monotonic() < deadline:
            try:
                if not c.recv(1 << 16):
                    return
            except socket.timeout:
                continue

    def _inject(self, c, fault, real):
        if fault == "error":
            c.sendall(b"-ERR injected fault\r\n")
        elif fault == "wrongtype":
            c.sendall(b":1\r\n" if real[:1] == b"*" else b"*1\r\n:1\r\n")
        elif fault == "half":
            c.sendall(real[:max(1, len(real) // 2)])
            self._hold(c)
            return
        elif fault == "stall":
            self._hold(c)
            return
        elif fault == "drop":
            return
        elif fault == "garbage":
            c.sendall(b"\x00\xffnot RESP at all\x01\r\n")
        elif fault == "bigarray":
            c.sendall(b"*2147483647\r\n")
            self._hold(c)
            return
        elif fault == "bigbulk":
            c.sendall(b"$2147483648\r\n")
            chunk = b"x" * (1 << 20)
            c.settimeout(5)
            try:
                for _ in range(BIGBULK_BYTES // len(chunk)):
                    c.sendall(chunk)
            except OSError:
                return          # the client gave up: what we want
            self._hold(c)
            return
        # error, wrongtype, garbage: the client decides; hold so that a
        # client that reads on sees silence, not a close.
        self._hold(c)
