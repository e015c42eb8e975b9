#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a real registry (python3 stdlib only).

  fault_proxy.py --upstream http://127.0.0.1:PORT --rules FILE [--port 0] [--port-file F]
                 [--log FILE]

Every request (GET, HEAD) goes to the upstream unchanged unless a rule matches its path. FILE is
read again for each request, so a test rewrites it between cases. One rule a line, the first
that matches wins, `#` starts a comment:

  REGEX ACTION [ARG]      REGEX is searched in the request path (e.g. /blobs/sha256:ab12)

  pass             forward unchanged (to exempt a path from a later rule)
  status CODE      answer CODE with a registry-style JSON error body, no upstream call
  corrupt          the upstream body with one byte flipped in the middle (same length)
  truncate         headers with the upstream Content-Length, half the body, then close
  stall            headers with the upstream Content-Length, ARG bytes of the body (default 0),
                   then nothing until the client gives up (the connection is held open)
  hang             read the request, never answer (no status line, no headers)
  body FILE        the content of FILE as the body (Content-Length and Docker-Content-Digest
                   made to match it); the upstream status and Content-Type are kept

Each request is logged to --log as one line: METHOD PATH ACTION STATUS.
"""
import argparse
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socketserver
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "content-length"}


def load_rules(path):
    rules = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return rules
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise ValueError(f"bad rule {line!r}: want REGEX ACTION [ARG]")
        rules.append((re.compile(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""))
    return rules


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ferry-fault-proxy"

    def log_message(self, fmt, *args):
        pass

    def record(self, action, status):
        with self.server.log_lock:
            with open(self.server.log_path, "a") as f:
                f.write(f"{self.command} {self.path} {action} {status}\n")

    def rule(self):
        path = urllib.parse.urlsplit(self.path).path
        for regex, action, arg in load_rules(self.server.rules_path):
            if regex.search(path):
                return action, arg
        return "pass", ""

    def upstream(self):
        u = self.server.upstream
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = u.netloc
        conn.request(self.command, self.path, headers=headers)
        return conn, conn.getresponse()

    def send_head(self, status, headers, length):
        self.send_response(status)
        for k, v in headers:
            if k.lower() in HOP_BY_HOP:
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()

    def hold(self):
        """Keeps the connection open, silent, until the client closes it or the proxy stops."""
        self.connection.settimeout(1)
        while not self.server.stopping.is_set():
            try:
                if not self.connection.recv(1):
                    break
            except TimeoutError:
                continue
            except OSError:
                break

    def handle_one(self):
        self.close_connection = True
        action, arg = self.rule()
        if action == "status":
            code = int(arg)
            body = json.dumps({"errors": [{"code": "FAULT", "message": f"injected {code}"}]})
            body = body.encode()
            self.send_head(code, [("Content-Type", "application/json")], len(body))
            if self.command != "HEAD":
                self.wfile.write(body)
            self.record(action, code)
            return
        if action == "hang":
            self.record(action, 0)
            self.hold()
            return
        conn, resp = self.upstream()
        try:
            headers = resp.getheaders()
            length = int(resp.getheader("Content-Length", "0") or 0)
            if self.command == "HEAD" or action == "pass" or not (200 <= resp.status < 300):
                self.send_head(resp.status, headers, length)
                while self.command != "HEAD":
                    chunk = resp.read(1 << 16)
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                self.record("pass", resp.status)
                return
            body = resp.read()
        finally:
            conn.close()
        if action == "corrupt":
            b = bytearray(body)
            if b:
                b[len(b) // 2] ^= 0xFF
            self.send_head(resp.status, headers, len(b))
            self.wfile.write(bytes(b))
        elif action == "truncate":
            self.send_head(resp.status, headers, len(body))
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        elif action == "stall":
            n = int(arg or 0)
            self.send_head(resp.status, headers, len(body))
            self.wfile.write(body[:n])
            self.wfile.flush()
            self.record(action, resp.status)
            self.hold()
            return
        elif action == "body":
            with open(arg, "rb") as f:
                new = f.read()
            headers = [(k, v) for k, v in headers if k.lower() != "docker-content-digest"]
            headers.append(("Docker-Content-Digest", "sha256:" + hashlib.sha256(new).hexdigest()))
            self.send_head(resp.status, headers, len(new))
            self.wfile.write(new)
        else:
            raise ValueError(f"unknown action {action!r}")
        self.record(action, resp.status)

    def do_GET(self):
        try:
            self.handle_one()
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--log", default="/dev/null")
    a = p.parse_args()
    srv = Server(("127.0.0.1", a.port), Proxy)
    srv.upstream = urllib.parse.urlsplit(a.upstream)
    srv.rules_path = a.rules
    srv.log_path = a.log
    srv.log_lock = threading.Lock()
    srv.stopping = threading.Event()

    def stop(*_):
        srv.stopping.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{srv.server_address[1]}\n")
        os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever(poll_interval=0.2)
    time.sleep(0.1)
    sys.exit(0)


if __name__ == "__main__":
    main()
