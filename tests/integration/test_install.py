#!/usr/bin/env python3
"""make install like a Debian daemon: the files a DESTDIR install holds
(prefix and sysconfdir respected), each man page rendered by man
--warnings without a warning, geo307.conf(5) holding every key of the
table, the systemd unit clean under systemd-analyze verify, the sample
config passing --check once its database exists."""

import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
PREFIX, SYSCONF = "/opt/g307", "/etc/g307test"

WANT = [
    PREFIX + "/sbin/geo307",
    PREFIX + "/bin/geo307ctl",
    PREFIX + "/bin/geo307-sink",
    PREFIX + "/bin/geo307-load",
    PREFIX + "/share/man/man1/geo307-sink.1",
    PREFIX + "/share/man/man1/geo307-load.1",
    PREFIX + "/share/man/man8/geo307.8",
    PREFIX + "/share/man/man8/geo307ctl.8",
    PREFIX + "/share/man/man5/geo307.conf.5",
    PREFIX + "/share/geo307/build-geoip.pl",
    PREFIX + "/share/geo307/countries.tsv",
    PREFIX + "/share/geo307/demo.conf",
    PREFIX + "/share/doc/geo307/examples/geo307.conf",
    PREFIX + "/share/bash-completion/completions/geo307ctl",
    PREFIX + "/lib/systemd/system/geo307.service",
    SYSCONF + "/geo307/geo307.conf",
    SYSCONF + "/logrotate.d/geo307",
]


def builddir():
    return os.path.dirname(os.path.abspath(g.BIN))


def install(t):
    dest = g.mkdtemp(T, "geo307-install-")
    S["dest"] = dest
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(k, None)
    # prefix and sysconfdir given at install time: both must be obeyed
    p = subprocess.run(["make", "-C", builddir(), "install",
                        "DESTDIR=" + dest, "prefix=" + PREFIX,
                        "sysconfdir=" + SYSCONF],
                       capture_output=True, text=True, env=env,
                       timeout=300 * g.SLACK)
    files = sorted("/" + os.path.relpath(os.path.join(d, f), dest)
                   for d, _, fs in os.walk(dest) for f in fs)
    S["files"] = files
    T.diag("installed:\n  " + "\n  ".join(files))
    t.ok(p.returncode == 0, "make install DESTDIR=... prefix=%s "
         "sysconfdir=%s" % (PREFIX, SYSCONF), p.stdout[-1500:] +
         p.stderr[-1500:])
    t.ok(files == sorted(WANT), "the installed files, exactly",
         "missing %r\nextra %r" % (sorted(set(WANT) - set(files)),
                                   sorted(set(files) - set(WANT))))
    st = os.stat(dest + PREFIX + "/sbin/geo307")
    t.ok(st.st_mode & 0o111 and
         os.access(dest + PREFIX + "/share/geo307/build-geoip.pl", os.X_OK),
         "geo307 and the GeoIP builder are executable")
    unit = open(dest + PREFIX + "/lib/systemd/system/geo307.service").read()
    t.ok(("ExecStart=%s/sbin/geo307 -c %s/geo307/geo307.conf"
          % (PREFIX, SYSCONF)) in unit and "@" not in unit.replace(
              "$MAINPID", ""),
         "the unit names the installed binary and config", unit[:600])
    # a second install keeps an operator's edited config
    conf = dest + SYSCONF + "/geo307/geo307.conf"
    with open(conf, "a") as f:
        f.write("; edited\n")
    subprocess.run(["make", "-C", builddir(), "install", "DESTDIR=" + dest,
                    "prefix=" + PREFIX, "sysconfdir=" + SYSCONF],
                   capture_output=True, env=env, timeout=300 * g.SLACK)
    t.ok(open(conf).read().endswith("; edited\n"),
         "a second make install keeps the operator's geo307.conf")


def man_pages(t):
    if "dest" not in S:
        raise g.Skip("no install")
    if not shutil.which("man"):
        raise g.Skip("man not installed")
    for page in ("man8/geo307.8", "man8/geo307ctl.8", "man5/geo307.conf.5",
                 "man1/geo307-sink.1", "man1/geo307-load.1"):
        path = S["dest"] + PREFIX + "/share/man/" + page
        p = subprocess.run(["man", "--warnings", "-l", path],
                           capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="80",
                                    MAN_KEEP_FORMATTING="0"),
                           timeout=60)
        t.ok(p.returncode == 0 and p.stderr == "" and len(p.stdout) > 500,
             "MANWIDTH=80 man --warnings -l %s: no warning" % page,
             p.stderr[-1500:])
        if page.endswith(".5"):
            S["conf5"] = p.stdout
    keys = subprocess.run([g.BIN, "--print-keys"], capture_output=True,
                          text=True).stdout.splitlines()
    rows = [ln.split("\t") for ln in keys if ln and not ln.startswith("#")]
    text = re.sub(r".\x08", "", S.get("conf5", ""))
    # a short tag shares its line with the text: "idle    duration; ..."
    missing = [r[0] + " " + r[1] for r in rows
               if not re.search(r"^\s+%s(\s|$)" % re.escape(r[1]), text,
                                re.M)]
    t.ok(len(rows) > 60 and not missing and "[service]" in text and
         "pid_file" in text and "log_health" in text,
         "geo307.conf(5) lists every key of --print-keys (%d)" % len(rows),
         "missing %r" % missing)


def unit_verify(t):
    if "dest" not in S:
        raise g.Skip("no install")
    if not shutil.which("systemd-analyze"):
        raise g.Skip("systemd-analyze not installed")
    dest = S["dest"]
    # verified where it lies, with ExecStart= pointing into the DESTDIR
    # (the command must exist); the unit itself is otherwise unchanged
    text = open(dest + PREFIX + "/lib/systemd/system/geo307.service").read()
    vdir = g.mkdtemp(T)
    root_unit = os.path.join(vdir, "geo307.service")
    with open(root_unit, "w") as f:
        f.write(text.replace("=" + PREFIX + "/sbin/", "=" + dest + PREFIX +
                             "/sbin/"))
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", root_unit],
                       capture_output=True, text=True, timeout=60)
    out = (p.stdout + p.stderr).strip()
    t.ok(p.returncode == 0 and out == "",
         "systemd-analyze verify: clean", out[-1500:])
    unit = open(root_unit).read()
    want = ["Type=notify", "DynamicUser=yes", "StateDirectory=geo307",
            "RuntimeDirectory=geo307", "NoNewPrivileges=yes",
            "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
            "ExecReload=/bin/kill -HUP $MAINPID"]
    lim = re.search(r"^LimitNOFILE=(\d+)$", unit, re.M)
    t.ok(all(w in unit.splitlines() for w in want) and lim and
         int(lim.group(1)) >= 10000 + 10000 + 64,
         "the unit: Type=notify, DynamicUser, hardening, "
         "CAP_NET_BIND_SERVICE only, LimitNOFILE >= 20064, ExecReload",
         unit)


def sample_check(t):
    if "dest" not in S:
        raise g.Skip("no install")
    sample = open(S["dest"] + SYSCONF + "/geo307/geo307.conf").read()
    # once its database exists: point it at the fixture
    text = re.sub(r"^database = .*$", "database = " + g.FIXTURE_DB, sample,
                  flags=re.M)
    path = g.write_config(g.mkdtemp(T), text, "sample.conf")
    p = subprocess.run([g.BIN, "-c", path, "--check"], capture_output=True,
                       text=True, timeout=30)
    t.ok(p.returncode == 0 and "ok:" in p.stdout and "error" not in
         p.stdout + p.stderr,
         "the installed sample passes --check once its database exists",
         p.stdout + p.stderr)
    lr = open(S["dest"] + SYSCONF + "/logrotate.d/geo307").read()
    t.ok("USR1" in lr and "/var/log/geo307/" in lr,
         "the logrotate snippet rotates /var/log/geo307 and sends SIGUSR1")


def main():
    T.run([(5, install), (6, man_pages), (2, unit_verify),
           (2, sample_check)])


if __name__ == "__main__":
    main()
