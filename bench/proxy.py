#!/usr/bin/env python3
"""geo307 bench: what [listen] proxy_protocol costs on the accept path.
Prints numbers only, never passes or fails.

wrk -t2 -c64 with "Connection: close" (one connection per request), each
row against a fresh geo307; new connections per second and geo307's own
CPU per connection (utime+stime from /proc/PID/stat over the run):

  direct, option off            wrk -> geo307
  direct, on, peer untrusted    wrk -> geo307 (127.0.0.1 not in proxies)
  haproxy, option off           wrk -> haproxy (mode tcp) -> geo307
  haproxy send-proxy, on        ... v1 header on every connection
  haproxy send-proxy-v2, on     ... v2 header on every connection

haproxy shares the machine, so its rows have a lower rate than direct
ones; compare CPU per connection within the same topology.

usage: bench/proxy.py   (GEO307_BIN, GEO307_FIXTURES, BENCH_DURATION=5s)
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("GEO307_BIN", "/work/main/build/geo307")
FIX = os.environ.get("GEO307_FIXTURES", "/work/main/build/tests/fixtures")
DURATION = os.environ.get("BENCH_DURATION", "5s")

CONF = """[listen]
address = 127.0.0.1:{port}
max_connections = 2000
per_ip_connections = 0
proxy_protocol = {pp}
[linger]
max_connections = 2000
[admin]
address = 127.0.0.1:{aport}
[geoip]
database = {fix}/test-city.mmdb
[trust]
proxies = {trust}
[selection]
seed = 42
[log]
access = off
[region eu]
location = 53.35, -6.26
countries = GB IE
default = yes
[server eu-1]
url = https://eu-1.up.example.net
region = eu
"""

HAPROXY = """global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:{hport}
    default_backend b
backend b
    server g 127.0.0.1:{port} {send}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d not open" % port)


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def row(tmp, label, pp, trust, send=None):
    port, aport = free_port(), free_port()
    conf = os.path.join(tmp, "g.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(port=port, aport=aport, pp=pp, trust=trust,
                            fix=FIX))
    g = subprocess.Popen([BIN, "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    h = None
    try:
        wait_port(port)
        target = port
        if send is not None:
            target = free_port()
            hc = os.path.join(tmp, "h.cfg")
            with open(hc, "w") as f:
                f.write(HAPROXY.format(hport=target, port=port, send=send))
            h = subprocess.Popen(["haproxy", "-f", hc, "-db"],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            wait_port(target)
        time.sleep(0.3)
        c0 = cpu(g.pid)
        out = subprocess.run(["wrk", "-t2", "-c64", "-d", DURATION,
                              "-H", "Connection: close",
                              "http://127.0.0.1:%d/up?x=1" % target],
                             capture_output=True, text=True).stdout
        used = cpu(g.pid) - c0
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        n = re.search(r"(\d+) requests in", out)
        rate = float(m.group(1)) if m else 0
        reqs = int(n.group(1)) if n else 0
        us = used / reqs * 1e6 if reqs else 0
        print("%-32s %9.0f conn/s %8.1f us CPU/conn" % (label, rate, us),
              flush=True)
    finally:
        if h is not None:
            stop(h)
        stop(g)


def main():
    for tool in ("wrk", "haproxy"):
        if shutil.which(tool) is None:
            sys.exit("bench: %s is needed" % tool)
    if not os.access(BIN, os.X_OK):
        sys.exit("bench: geo307 not found at %s (GEO307_BIN)" % BIN)
    tmp = tempfile.mkdtemp(prefix="geo307-bench-pp.")
    try:
        row(tmp, "direct, option off", "no", "127.0.0.1/32")
        row(tmp, "direct, on, peer untrusted", "yes", "10.0.0.0/8")
        row(tmp, "haproxy, option off", "no", "127.0.0.1/32", "")
        row(tmp, "haproxy send-proxy, on", "yes", "127.0.0.1/32",
            "send-proxy")
        row(tmp, "haproxy send-proxy-v2, on", "yes", "127.0.0.1/32",
            "send-proxy-v2")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
