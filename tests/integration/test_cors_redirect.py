#!/usr/bin/env python3
"""What a browser does around a 307 (README client guide).  A form
upload larger than [linger] max_bytes: Chromium sends it again after the
reset, every attempt cut at max_bytes, and it never reaches the upload
server.  The Origin after a cross-origin 307: a page on one origin POSTs with fetch() (a non-simple header, so
a preflight) to geo307 on another; geo307 answers the preflight and then
307 to an upload server on a third origin.  Headless Chromium sends
`Origin: null` on both the preflight and the request to the upload
server.  Skipped without chromium."""

import http.server
import os
import sys
import threading

sys.dont_write_bytecode = True     # nothing left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g307test as g  # noqa: E402
import test_browser as tb  # noqa: E402

T = g.TAP()

PAGE = """<!doctype html><html><body><p id=r>pending</p><script>
fetch("%s", {method: "POST", headers: {"X-Up": "1"},
             body: new Blob([new Uint8Array(4096)])})
  .then(r => r.text().then(t => { document.getElementById("r").textContent =
        "done " + r.status + " " + r.url; }))
  .catch(e => { document.getElementById("r").textContent = "error " + e; });
</script></body></html>
"""


class Server:
    """A page and a CORS-answering upload server; records each request."""

    def __init__(self, page=None):
        self.seen = []
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def cors(self):
                o = self.headers.get("Origin")
                if o is not None:
                    self.send_header("Access-Control-Allow-Origin", o)
                    self.send_header("Access-Control-Allow-Methods", "POST")
                    self.send_header("Access-Control-Allow-Headers", "x-up")

            def answer(self, status, data=b""):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                srv.seen.append((self.command, self.path,
                                 self.headers.get("Origin")))
                self.send_response(status)
                self.cors()
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.answer(200, (page or "").encode())

            def do_OPTIONS(self):
                self.answer(204)

            def do_POST(self):
                self.answer(201, b"stored")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def origins(t):
    exe = tb.chromium_path()
    if exe is None:
        raise g.Skip("no chromium on this host")
    tmp = g.mkdtemp(T)
    up = Server()
    T.at_exit(up.close)
    port, aport = g.free_port(), g.free_port()
    page = Server(PAGE % ("http://127.0.0.1:%d/up" % port))
    T.at_exit(page.close)
    page_origin = "http://127.0.0.1:%d" % page.port
    c = g.base_config(port, aport, regions=False, servers=False)
    c.set("redirect", "allow_http", "yes")
    c.set("cors", "allow_origins", page_origin)
    c.set("cors", "allow_headers", "X-Up, Content-Type")
    c.set("region all", "location", "50.0, 8.0")
    c.set("region all", "default", "yes")
    # "localhost": another origin than the page's and geo307's
    c.set("server up", "url", "http://localhost:%d" % up.port)
    c.set("server up", "region", "all")
    g.Daemon(T, tmp, c, "cors").start()
    rc, dom, err = tb.run_chromium(exe, page_origin + "/", os.path.join(
        tmp, "profile"))
    T.diag("page: %r; upload server saw %r" % (
        dom[dom.find("<p"):dom.find("</p>")][:200], up.seen))
    pre = [o for m, _, o in up.seen if m == "OPTIONS"]
    post = [o for m, _, o in up.seen if m == "POST"]
    t.ok("done 201" in dom and post == ["null"],
         "Chromium: after the cross-origin 307 the upload reaches the "
         "server with Origin: null", "%r\n%s" % (up.seen, err[-800:]))
    t.ok(pre == ["null"], "Chromium: the preflight to the upload server "
         "sends Origin: null too", "%r" % up.seen)


def too_big(t):
    import json
    import time
    exe = tb.chromium_path()
    if exe is None:
        raise g.Skip("no chromium on this host")
    tmp = g.mkdtemp(T)
    port, aport = g.free_port(), g.free_port()
    size = 8 << 20
    sink = g.Sink(pages={"/p": tb.PAGE % {
        "action": "http://127.0.0.1:%d/up" % port, "size": size, "seed": 3}})
    T.at_exit(sink.close)
    log = os.path.join(tmp, "access.log")
    c = g.base_config(port, aport, regions=False, servers=False)
    c.set("redirect", "allow_http", "yes")
    c.set("linger", "max_bytes", "1M")
    c.set("log", "access", log)
    c.set("region all", "location", "50.0, 8.0")
    c.set("region all", "default", "yes")
    c.set("server sink", "url", sink.base)
    c.set("server sink", "region", "all")
    d = g.Daemon(T, tmp, c, "toobig").start()
    rc, dom, err = tb.run_chromium(exe, "http://127.0.0.1:%d/p" % sink.port,
                                   os.path.join(tmp, "profile"))
    time.sleep(0.5)
    d.stop()
    posts = [(x["linger"], x["linger_bytes"]) for x in
             map(json.loads, open(log)) if x["method"] == "POST"]
    T.diag("8 MiB form, max_bytes 1M: attempts at geo307 %r; at the sink "
           "%r" % (posts, [r["length"] for r in sink.requests
                          if r["method"] == "POST"]))
    # How often Chromium retries after the reset varies (1 to 3 attempts
    # seen); what must hold is that none gets through and each is cut.
    t.ok(len(posts) >= 1 and all(p == ("bytes", 1 << 20) for p in posts) and
         not any(r["method"] == "POST" for r in sink.requests),
         "a form body over max_bytes: each of Chromium's attempts (%d) is "
         "cut at max_bytes, none reaches the server" % len(posts),
         "%r\n%s" % (posts, err[-600:]))


def main():
    T.run([(2, origins), (1, too_big)])


if __name__ == "__main__":
    main()
