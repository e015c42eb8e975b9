#!/usr/bin/env python3
"""A server that stalls: for functional tests of download timeouts.

    stall.py PORT [CERT KEY]

Listens on 127.0.0.1:PORT (TLS with CERT/KEY when given). Each request gets a 200 response
announcing a 1 MiB body, 100 bytes of it, and then nothing: the connection stays open and
silent until the client gives up or 120 s pass. The server exits by itself after 300 s.
Prints "ready" once it listens.
"""
import socket
import ssl
import sys
import threading
import time


def serve(conn):
    try:
        conn.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: 1048576\r\n\r\n" + b"\0" * 100)
        deadline = time.monotonic() + 120
        conn.settimeout(1)
        while time.monotonic() < deadline:
            try:
                if not conn.recv(4096):
                    return  # the client gave up
            except socket.timeout:
                pass
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port = int(sys.argv[1])
    ctx = None
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    srv.settimeout(1)
    print("ready", flush=True)
    end = time.monotonic() + 300
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        if ctx is not None:
            try:
                conn.settimeout(10)
                conn = ctx.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                continue
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
