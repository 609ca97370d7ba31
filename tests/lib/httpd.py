#!/usr/bin/env python3
"""httpd.py: the fixture HTTP server of feedd's tests (standard library only).

It listens on 127.0.0.1 only, prints "PORT <n>" as its first line on stdout
once it accepts connections, and serves until it is killed (or, with
--parent-pid, until that process is gone, so that a test killed without
running its traps leaves no server behind).  One request is one line on
stderr, ending in " t=" and the Unix time it was answered.

  /feeds/NAME              the file NAME under --root, with a strong ETag (a
                           hash of the bytes sent) and Last-Modified (its
                           mtime), 304 for a matching If-None-Match or, when
                           there is none, If-Modified-Since; gzip when the
                           client accepts it.  application/rss+xml, or
                           application/atom+xml for .atom, text/html for
                           .html; "; charset=X" when NAME.charset holds X
                           (sent verbatim, quotes and all)
  /redirect/CODE/N?to=P    N redirects with status CODE, then to P (a path or
                           a whole URL; default /feeds/rss20-namespaces.xml)
  /redirect-loop           a 302 to itself
  /status/CODE             that status with a short body (none for 204 and
                           304, nor ETag or Last-Modified); ?retry_after=V
                           adds "Retry-After: V" (seconds or an HTTP-date)
  /429?retry_after=S       the same for 429
  /hang                    reads the request and never answers, until the
                           client hangs up
  /drip?bytes=N            N bytes, one per second (logs "drip sent PATH t="
                           when the last is written)
  /big?mb=N                N MiB of valid-looking RSS; endless when N is 0
  /truncated               announces more bytes than it sends, then closes
  /gzip-bomb?mb=N          a small gzip body that inflates to N MiB, sent
                           whatever the client accepts
  /reset                   part of a body, then a TCP reset
  /bot-challenge           200 with a small "checking your browser" page
  /count                   how many requests each path got, as JSON

Responses are HTTP/1.1 with keep-alive, so clients may reuse connections.
"""

import argparse
import email.utils
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_TARGET = "/feeds/rss20-namespaces.xml"

RSS_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
            b"<title>Big</title><link>http://127.0.0.1/</link>\n")
RSS_ITEM = (b"<item><title>An item of a very large feed</title>"
            b"<link>http://127.0.0.1/news/1/item</link>"
            b"<description>" + b"Lorem ipsum dolor sit amet. " * 30 + b"</description></item>\n")
RSS_TAIL = b"</channel></rss>\n"

MIB = 1 << 20


def gzip_bytes(data):
  # mtime 0: the same bytes always give the same body, hence the same ETag.
  co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
  return co.compress(data) + co.flush()


_bombs = {}
_bombs_lock = threading.Lock()


def gzip_bomb(mb):
  with _bombs_lock:
    if mb not in _bombs:
      co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
      chunk = b" " * MIB
      parts = [co.compress(RSS_HEAD)]
      parts += [co.compress(chunk) for _ in range(mb)]
      parts.append(co.flush())
      _bombs[mb] = b"".join(parts)
    return _bombs[mb]


class Handler(BaseHTTPRequestHandler):
  protocol_version = "HTTP/1.1"
  server_version = "feedd-fixture/1"

  def log_message(self, fmt, *args):
    sys.stderr.write("httpd: %s %s t=%.3f\n" % (self.address_string(), fmt % args, time.time()))

  # ---- helpers

  def reply(self, code, body=b"", ctype="text/plain; charset=utf-8", headers=()):
    self.send_response(code)
    self.send_header("Content-Type", ctype)
    self.send_header("Content-Length", str(len(body)))
    for name, value in headers:
      self.send_header(name, value)
    self.end_headers()
    self.wfile.write(body)

  def accepts_gzip(self):
    for item in self.headers.get("Accept-Encoding", "").split(","):
      token, _, params = item.strip().partition(";")
      if token.strip().lower() in ("gzip", "x-gzip"):
        return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False

  def write_quietly(self, data):
    """Writes data; False when the client has gone."""
    try:
      self.wfile.write(data)
      return True
    except (BrokenPipeError, ConnectionResetError):
      self.close_connection = True
      return False

  # ---- routing

  def do_GET(self):
    url = urllib.parse.urlsplit(self.path)
    q = dict(urllib.parse.parse_qsl(url.query))
    path = url.path
    if path != "/count":
      self.server.count(path)
    parts = path.strip("/").split("/")
    try:
      if parts[0] == "feeds" and len(parts) == 2:
        return self.serve_file(urllib.parse.unquote(parts[1]))
      if parts[0] == "redirect" and len(parts) == 3:
        return self.redirect(int(parts[1]), int(parts[2]), q.get("to", DEFAULT_TARGET))
      if path == "/redirect-loop":
        return self.reply(302, b"loop\n", headers=[("Location", "/redirect-loop")])
      if parts[0] == "status" and len(parts) == 2:
        return self.status(int(parts[1]), q)
      if path == "/429":
        return self.status(429, q)
      if path == "/hang":
        return self.hang()
      if path == "/drip":
        return self.drip(int(q.get("bytes", "10")))
      if path == "/big":
        return self.big(int(q.get("mb", "1")))
      if path == "/truncated":
        return self.truncated()
      if path == "/gzip-bomb":
        return self.bomb(int(q.get("mb", "64")))
      if path == "/reset":
        return self.reset()
      if path == "/odd-validators":
        # A feed whose ETag carries obs-text bytes and whose Last-Modified
        # is not UTF-8: nothing PostgreSQL can store as text.
        return self.reply(200, b'<?xml version="1.0"?><rss version="2.0"><channel><title>O</title>'
                          b"<item><title>Odd</title><link>http://127.0.0.1/odd/1</link></item>"
                          b"</channel></rss>\n", "application/rss+xml",
                          headers=[("ETag", '"\xff\xfe-odd"'), ("Last-Modified", "Mon, \xe9 Jan")])
      if path == "/bot-challenge":
        return self.reply(200, b"<html><head><title>Just a moment...</title></head>"
                          b"<body>Checking your browser before accessing the site.</body></html>\n",
                          "text/html; charset=utf-8")
      if path == "/count":
        return self.reply(200, json.dumps(self.server.counts()).encode(), "application/json")
    except ValueError:
      return self.reply(400, b"bad request\n")
    return self.reply(404, b"not found\n")

  # ---- the routes

  def serve_file(self, name):
    root = self.server.root
    if not root or "/" in name or name.startswith(".") or name.endswith(".charset"):
      return self.reply(404, b"not found\n")
    path = os.path.join(root, name)
    try:
      with open(path, "rb") as f:
        data = f.read()
      mtime = int(os.stat(path).st_mtime)
    except OSError:
      return self.reply(404, b"not found\n")
    ctype = ("application/atom+xml" if name.endswith(".atom") else
             "text/html" if name.endswith(".html") else "application/rss+xml")
    try:
      with open(path + ".charset", encoding="utf-8") as f:
        ctype += "; charset=" + f.read().strip()
    except OSError:
      pass
    digest = hashlib.sha256(data).hexdigest()[:24]
    # A strong ETag names the bytes sent, so the gzip body has its own.
    tags = {'"%s"' % digest, '"%s-gzip"' % digest}
    gz = self.accepts_gzip()
    body = gzip_bytes(data) if gz else data
    etag = '"%s-gzip"' % digest if gz else '"%s"' % digest
    headers = [("ETag", etag), ("Last-Modified", email.utils.formatdate(mtime, usegmt=True)),
               ("Vary", "Accept-Encoding")]

    inm = self.headers.get("If-None-Match")
    ims = self.headers.get("If-Modified-Since")
    fresh = False
    if inm is not None:
      fresh = any(t.strip() == "*" or t.strip().removeprefix("W/") in tags
                  for t in inm.split(","))
    elif ims is not None:
      try:
        fresh = mtime <= email.utils.parsedate_to_datetime(ims).timestamp()
      except (TypeError, ValueError):
        fresh = False
    if fresh:
      self.send_response(304)
      for hname, value in headers:
        self.send_header(hname, value)
      self.end_headers()
      return
    if gz:
      headers.append(("Content-Encoding", "gzip"))
    self.reply(200, body, ctype, headers)

  def redirect(self, code, n, to):
    if n > 1:
      location = "/redirect/%d/%d?%s" % (code, n - 1, urllib.parse.urlencode({"to": to}))
    else:
      location = to
    self.reply(code, b"moved\n", headers=[("Location", location)])

  def status(self, code, q):
    headers = []
    if "retry_after" in q:
      headers.append(("Retry-After", q["retry_after"]))
    if code in (204, 304):  # no body, by definition
      self.send_response(code)
      for name, value in headers:
        self.send_header(name, value)
      self.end_headers()
      return
    self.reply(code, b"%d\n" % code, headers=headers)

  def hang(self):
    # The request is read; wait for the client to hang up.
    self.close_connection = True
    try:
      while self.rfile.read(1):
        pass
    except (ConnectionResetError, OSError):
      pass

  def drip(self, n):
    self.send_response(200)
    self.send_header("Content-Type", "application/rss+xml")
    self.send_header("Content-Length", str(n))
    self.end_headers()
    for i in range(n):
      if i:
        time.sleep(1)
      if not self.write_quietly(b" "):
        return
    # The client has it all (and the connection is free for its next
    # request): when a test's transfer ended.
    sys.stderr.write("httpd: drip sent %s t=%.3f\n" % (self.path, time.time()))

  def big(self, mb):
    self.send_response(200)
    self.send_header("Content-Type", "application/rss+xml")
    if mb > 0:
      count = -(-(mb * MIB - len(RSS_HEAD) - len(RSS_TAIL)) // len(RSS_ITEM))
      self.send_header("Content-Length",
                       str(len(RSS_HEAD) + count * len(RSS_ITEM) + len(RSS_TAIL)))
    else:
      count = None  # endless, so delimited by closing the connection
      self.send_header("Connection", "close")
      self.close_connection = True
    self.end_headers()
    if not self.write_quietly(RSS_HEAD):
      return
    block = RSS_ITEM * 64
    sent = 0
    while count is None or sent < count:
      k = 64 if count is None else min(64, count - sent)
      if not self.write_quietly(block if k == 64 else RSS_ITEM * k):
        return
      sent += k
    self.write_quietly(RSS_TAIL)

  def truncated(self):
    body = RSS_HEAD + RSS_ITEM
    self.send_response(200)
    self.send_header("Content-Type", "application/rss+xml")
    self.send_header("Content-Length", str(len(body) + 10000))
    self.send_header("Connection", "close")
    self.end_headers()
    self.write_quietly(body)
    self.close_connection = True

  def bomb(self, mb):
    body = gzip_bomb(mb)
    self.reply(200, body, "application/rss+xml", [("Content-Encoding", "gzip")])

  def reset(self):
    body = RSS_HEAD + RSS_ITEM * 4
    self.send_response(200)
    self.send_header("Content-Type", "application/rss+xml")
    self.send_header("Content-Length", str(len(body) * 100))
    self.end_headers()
    self.write_quietly(body)
    time.sleep(0.1)  # let the client read the part before the reset
    # Linger 0 makes close() send RST instead of FIN; rfile holds a
    # reference to the socket that would delay the close, so it goes first.
    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    self.rfile.close()
    self.connection.close()
    self.close_connection = True


class Server(ThreadingHTTPServer):
  daemon_threads = True
  request_queue_size = 128

  def __init__(self, addr, root):
    super().__init__(addr, Handler)
    self.root = root
    self._counts = {}
    self._lock = threading.Lock()

  def count(self, path):
    with self._lock:
      self._counts[path] = self._counts.get(path, 0) + 1

  def counts(self):
    with self._lock:
      return dict(self._counts)

  def handle_error(self, request, client_address):
    # A client that hung up is routine here (hang, drip, big, reset).
    if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, OSError)):
      super().handle_error(request, client_address)


def watch_parent(pid):
  while True:
    try:
      os.kill(pid, 0)
    except ProcessLookupError:
      os._exit(0)
    except PermissionError:
      pass
    time.sleep(1)


def main():
  ap = argparse.ArgumentParser(description="feedd's fixture HTTP server (127.0.0.1 only)")
  ap.add_argument("--port", type=int, default=0)
  ap.add_argument("--root", help="directory served at /feeds/")
  ap.add_argument("--parent-pid", type=int, help="exit when this process is gone")
  args = ap.parse_args()
  server = Server(("127.0.0.1", args.port), args.root)
  if args.parent_pid:
    threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
  print("PORT %d" % server.server_address[1], flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass


if __name__ == "__main__":
  main()
