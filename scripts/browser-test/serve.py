"""Serves page.html for the browser test, and holds the page's load event until the page says it is done.

Chromium's --dump-dom dumps the DOM when the page has loaded; the page starts loading an image from
/hold first thing, which this server answers only once the page has fetched /release (or after 20 s), so
the dump shows what the page did. Threaded: /hold waits while /release and the page are served."""

import http.server
import sys
import threading
from pathlib import Path

released = threading.Event()
here = Path(__file__).parent


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/hold":
            released.wait(timeout=20)
            self.answer(b"", "image/gif")
        elif path == "/release":
            released.set()
            self.answer(b"released", "text/plain")
        elif path == "/page.html":
            self.answer((here / "page.html").read_bytes(), "text/html; charset=utf-8")
        else:
            self.send_error(404)

    def answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
