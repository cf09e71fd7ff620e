#!/usr/bin/env python3
"""`make dist` only packs files: it never runs the benchmark (which
starts servers for a minute) nor anything else that starts a server.
Checked with `make -n dist` in the build tree, which prints every
command make would run."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()


def dist(t):
    build = os.path.dirname(g.BIN)
    p = subprocess.run(["make", "-n", "-C", build, "dist"],
                       capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    # the bench and soak recipes are the only ones that set GEO307_BIN
    bad = [line for line in out.splitlines() if "GEO307_BIN=" in line]
    t.ok(p.returncode == 0 and "tardir=" in out and not bad,
         "make -n dist packs files and runs no benchmark or server",
         "rc %d, runs %r\n%s" % (p.returncode, bad, out[-2000:]))


def main():
    T.run([(1, dist)], need_fixture=False)


if __name__ == "__main__":
    main()
