#!/usr/bin/env python3
"""A real browser upload: headless Chromium submits a multipart form
(1 MiB and 20 MiB files) to geo307, follows the 307 and the upload server
receives the file intact, once.  Browsers send the body without Expect
and read the answer only after the whole body: this works only because
of the lingering close (SPEC 1, LIBRARY-NOTES)."""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402

T = g.TAP()
S = {}
MB = 1 << 20
SIZES = [(1 * MB, 1), (20 * MB, 7)]      # (bytes, pattern seed)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>upload</title></head><body>
<form id="f" method="POST" enctype="multipart/form-data"
      action="%(action)s">
<input type="text" name="note" value="geo307 browser test">
<input type="file" name="file" id="file">
</form>
<script>
const n = %(size)d, seed = %(seed)d;
const block = new Uint8Array(65536);
for (let i = 0; i < 65536; i++) block[i] = ((i * 31 + seed) ^ (i >> 8)) & 255;
const parts = [];
for (let left = n; left > 0; left -= 65536)
  parts.push(left >= 65536 ? block : block.subarray(0, left));
const file = new File(parts, "data.bin", {type: "application/octet-stream"});
const dt = new DataTransfer();
dt.items.add(file);
document.getElementById("file").files = dt.files;
document.getElementById("f").submit();
</script>
</body></html>
"""


def chromium_path():
    for p in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
              shutil.which("chromium"), shutil.which("chromium-browser"),
              shutil.which("google-chrome")):
        if p and os.access(p, os.X_OK):
            return p
    return None


def run_chromium(exe, url, profile, timeout=60):
    """--dump-dom of url after the form navigation; (rc, dom, stderr)."""
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions",
            "--disable-dev-shm-usage", "--no-default-browser-check",
            "--disable-breakpad", "--disable-crash-reporter",
            "--user-data-dir=" + profile, "--virtual-time-budget=30000",
            "--dump-dom", url]
    # Chromium writes into $HOME (dconf, crash reports) and $TMPDIR: keep
    # all of it inside the test's temporary directory.
    home = os.path.join(profile, "home")
    tmpdir = os.path.join(profile, "tmp")
    for d in (home, tmpdir):
        os.makedirs(d, exist_ok=True)
    env = dict(os.environ, HOME=home, TMPDIR=tmpdir,
               XDG_CONFIG_HOME=os.path.join(home, ".config"),
               XDG_CACHE_HOME=os.path.join(home, ".cache"),
               XDG_DATA_HOME=os.path.join(home, ".local", "share"))
    env.pop("XDG_RUNTIME_DIR", None)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out.decode("utf-8", "replace"), \
            err.decode("utf-8", "replace") + "\n(killed after %ds)" % timeout
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)    # helpers left behind
        except OSError:
            pass
    return p.returncode, out.decode("utf-8", "replace"), \
        err.decode("utf-8", "replace")


def multipart_file(rec):
    """The bytes of the part with a filename in a multipart body."""
    ctype = rec["headers"].get("Content-Type", "")
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m or rec["body"] is None:
        return None
    sep = b"--" + m.group(1).encode()
    for part in rec["body"].split(sep):
        head, _, data = part.partition(b"\r\n\r\n")
        if b"filename=" in head:
            return data[:-2] if data.endswith(b"\r\n") else data
    return None


def setup():
    S["tmp"] = g.mkdtemp(T)
    S["pages"] = {}
    sink = g.Sink(keep_body=True, pages=S["pages"])
    T.at_exit(sink.close)
    S["sink"] = sink
    port, aport = g.free_port(), g.free_port()
    c = g.base_config(port, aport, regions=False, servers=False)
    c.set("redirect", "allow_http", "yes")
    c.set("linger", "max_bytes", "64M")
    c.set("region all", "location", "50.0, 8.0")
    c.set("region all", "default", "yes")
    c.set("server sink", "url", sink.base)
    c.set("server sink", "region", "all")
    g.Daemon(T, S["tmp"], c, "browser").start()
    S["port"], S["aport"] = port, aport


def upload(t, exe, size, seed):
    sink = S["sink"]
    path = "/page-%d.html" % size
    S["pages"][path] = PAGE % {
        "action": "http://127.0.0.1:%d/upload?x=1" % S["port"],
        "size": size, "seed": seed}
    want = g.pattern_bytes(size, seed)
    n0 = len(sink.uploads())
    m0 = g.scrape(S["aport"])
    profile = os.path.join(S["tmp"], "profile-%d" % size)
    t0 = time.monotonic()
    rc, dom, err = run_chromium(exe, "http://127.0.0.1:%d%s"
                                % (sink.port, path), profile)
    el = time.monotonic() - t0
    # the upload may still be in the sink's hands for a moment
    g.wait_until(lambda: len(sink.uploads()) > n0, 3)
    ups = sink.uploads()[n0:]
    posts = [u for u in ups if u["method"] == "POST"]
    got = [multipart_file(u) for u in posts]
    m1 = g.scrape(S["aport"])
    redirected = (m1.get("geo307_requests_total", status="307") -
                  m0.get("geo307_requests_total", status="307"))
    ok = (len(posts) == 1 and posts[0]["path"] == "/base/upload" and
          posts[0]["query"] == "x=1" and got[0] is not None and
          len(got[0]) == size and got[0] == want)
    diag = ("chromium rc=%r in %.1f s; geo307 redirects +%d\n"
            "sink got %r\n" % (rc, el, redirected,
                               [(u["method"], u["target"], u["length"])
                                for u in ups]))
    if got and got[0] is not None and got[0] != want:
        diag += "file part: %d bytes, sha256 %s, want %s\n" % (
            len(got[0]), hashlib.sha256(got[0]).hexdigest(),
            hashlib.sha256(want).hexdigest())
    if not ok:
        diag += "dom: %s\nstderr tail: %s" % (dom[-400:], err[-1500:])
    t.ok(ok, "Chromium multipart upload of %d MiB through geo307: the upload "
         "server got the file intact, once" % (size // MB), diag)
    t.ok(redirected >= 1 and "stored POST" in dom,
         "%d MiB: geo307 answered 307 and the browser shows the upload "
         "server's answer" % (size // MB), diag)


def browser(t):
    exe = chromium_path()
    if exe is None:
        raise g.Skip("no chromium on this host")
    setup()
    for size, seed in SIZES:
        upload(t, exe, size, seed)


def main():
    T.run([
        (2 * len(SIZES), browser),
        (1, g.check_daemons),
    ])


if __name__ == "__main__":
    main()
