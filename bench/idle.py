#!/usr/bin/env python3
"""geo307 bench: the CPU an idle daemon spends per second, with few and
with many idle keep-alive connections (each has had one request, so the
header sweep watches it for the next one).  Prints numbers only.

usage: idle.py PID PORT [N]   (N keep-alive connections, default 4000)
"""
import os
import resource
import socket
import sys
import time


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid, seconds=5.0):
    c0, t0 = cpu(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu(pid) - c0) / (time.monotonic() - t0) * 1000


def main():
    pid, port = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = min(n, hard - 100)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
    print("%-34s %10.1f ms/s" % ("idle, no connections", idle_cpu(pid)))
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            socks.append(s)
        for s in socks:
            d = b""
            while b"</html>" not in d:
                chunk = s.recv(65536)
                if not chunk:
                    break
                d += chunk
        time.sleep(0.5)
        print("%-34s %10.1f ms/s" % ("idle, %d keep-alive connections" % n,
                                     idle_cpu(pid)))
    finally:
        for s in socks:
            s.close()


if __name__ == "__main__":
    main()
