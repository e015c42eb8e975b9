#!/usr/bin/env python3
"""A small token server for distribution 2.8's `auth: token` mode (the Docker registry bearer
flow), python3 stdlib plus the `openssl` CLI for signing.

  token_issuer.py --port P --tls-cert C --tls-key K --sign-key SK --sign-cert SC \
      --issuer ISS --service SVC --user U --password PW [--header x5c|kid|both] \
      [--anonymous-actions pull] [--expires 300] [--log FILE] [--port-file F]

GET /token?service=SVC&scope=repository:NAME:pull,push[&scope=...]  with HTTP Basic auth
  -> 200 {"token": JWT, "access_token": JWT, "expires_in": N, "issued_at": RFC3339}
POST /token (OAuth2 form, grant_type=password, username, password, service, scope): same reply.
GET /healthz -> 200.
Wrong user/password -> 401 (with a Basic challenge). No credentials -> 401, unless
--anonymous-actions grants anonymous callers those actions (e.g. "pull").
service missing or different from --service -> 400.

The JWT is signed with SK (ES256 for an EC P-256 key, RS256 for RSA). Its header carries
`alg`, `typ` and, per --header: `x5c` = [base64 DER of SC] (distribution verifies it against
rootcertbundle), `kid` = the libtrust key ID of SK's public key (base32 of the first 240 bits of
SHA-256 over the DER SubjectPublicKeyInfo, in 12 colon-separated groups of 4; distribution looks
it up among the keys of the rootcertbundle certificates), or both (then distribution uses x5c).
Claims: iss, sub, aud (= service), exp, nbf, iat, jti, access [{type, name, actions}].
Every request is logged as one JSON line to --log (method, path, query, user, status, granted).
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import signal
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

KNOWN_ACTIONS = {"pull", "push", "delete", "*"}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_len(buf, i):
    n = buf[i]
    i += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[i:i + k], "big")
        i += k
    return n, i


def ecdsa_der_to_raw(der, size=32):
    """DER SEQUENCE{INTEGER r, INTEGER s} -> r||s, each left-padded to size bytes (JWS ES256)."""
    if der[0] != 0x30:
        raise ValueError("not a DER sequence")
    _, i = der_len(der, 1)
    out = b""
    for _ in range(2):
        if der[i] != 0x02:
            raise ValueError("not a DER integer")
        n, i = der_len(der, i + 1)
        v = der[i:i + n].lstrip(b"\x00")
        i += n
        out += v.rjust(size, b"\x00")
    return out


def libtrust_key_id(spki_der):
    s = base64.b32encode(hashlib.sha256(spki_der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


class Issuer:
    def __init__(self, a):
        self.a = a
        self.sign_key = a.sign_key
        spki = openssl("pkey", "-in", a.sign_key, "-pubout", "-outform", "DER")
        text = openssl("pkey", "-in", a.sign_key, "-noout", "-text_pub").decode()
        self.alg = "ES256" if ("ASN1 OID: prime256v1" in text or "NIST CURVE: P-256" in text) else "RS256"
        self.kid = libtrust_key_id(spki)
        cert_der = openssl("x509", "-in", a.sign_cert, "-outform", "DER")
        self.x5c = [base64.b64encode(cert_der).decode()]
        self.lock = threading.Lock()

    def header(self):
        h = {"typ": "JWT", "alg": self.alg}
        if self.a.header in ("kid", "both"):
            h["kid"] = self.kid
        if self.a.header in ("x5c", "both"):
            h["x5c"] = self.x5c
        return h

    def sign(self, claims):
        signing_input = (b64url(json.dumps(self.header(), separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = openssl("dgst", "-sha256", "-sign", self.sign_key, data=signing_input.encode())
        if self.alg == "ES256":
            sig = ecdsa_der_to_raw(sig)
        return signing_input + "." + b64url(sig)

    def token(self, subject, access):
        now = int(time.time())
        claims = {
            "iss": self.a.issuer,
            "sub": subject,
            "aud": self.a.service,
            "exp": now + self.a.expires,
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return self.sign(claims)


def parse_scope(scope):
    """'repository:name/x:pull,push' -> (type, name, [actions]); the name may hold colons."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    return parts[0], ":".join(parts[1:-1]), [x for x in parts[-1].split(",") if x]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ferry-test-token-issuer/1"

    def setup(self):
        ctx = self.server.tls
        if ctx is not None:  # handshake in the handler thread: a stalled client blocks no one
            self.request.settimeout(30)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *args):  # quiet stderr; requests go to --log
        pass

    def record(self, status, user, granted, query):
        if not self.server.args.log:
            return
        line = json.dumps({"time": time.time(), "method": self.command, "path": self.path.split("?")[0],
                           "query": query, "user": user, "status": status, "granted": granted})
        with self.server.issuer.lock, open(self.server.args.log, "a") as f:
            f.write(line + "\n")

    def reply(self, status, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def basic_user(self):
        """(user, ok): user None when no Authorization header."""
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, False
        try:
            user, _, pw = base64.b64decode(h[6:].strip()).decode().partition(":")
        except Exception:
            return "?", False
        a = self.server.args
        return user, (user == a.user and pw == a.password)

    def issue(self, query, user, authed):
        a = self.server.args
        service = query.get("service", [None])[0]
        if service != a.service:
            self.record(400, user, None, query)
            return self.reply(400, {"errors": [{"code": "invalid_request",
                                                "message": f"unknown service {service!r}"}]})
        if user is not None and not authed:
            self.record(401, user, None, query)
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                              {"WWW-Authenticate": 'Basic realm="ferry-test-token"'})
        if user is None and not a.anonymous_actions:
            self.record(401, None, None, query)
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                              {"WWW-Authenticate": 'Basic realm="ferry-test-token"'})
        allowed = KNOWN_ACTIONS if authed else set(a.anonymous_actions.split(","))
        access = []
        for scope in " ".join(query.get("scope", [])).split():
            p = parse_scope(scope)
            if p is None:
                continue
            typ, name, actions = p
            if typ.startswith("registry") and not authed:
                actions = []
            access.append({"type": typ, "name": name, "actions": [x for x in actions if x in allowed]})
        tok = self.server.issuer.token(user if authed else "", access)
        self.record(200, user if authed else None, access, query)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.reply(200, {"token": tok, "access_token": tok, "expires_in": a.expires, "issued_at": now})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/healthz":
            return self.reply(200, {"ok": True})
        if url.path != "/token":
            self.record(404, None, None, query)
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        user, authed = self.basic_user()
        return self.issue(query, user, authed)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if url.path != "/token":
            self.record(404, None, None, form)
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        grant = form.get("grant_type", [""])[0]
        if grant != "password":
            self.record(400, None, None, form)
            return self.reply(400, {"error": "unsupported_grant_type"})
        a = self.server.args
        user = form.get("username", [""])[0]
        authed = user == a.user and form.get("password", [""])[0] == a.password
        form.pop("password", None)
        return self.issue(form, user, authed)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--sign-key", required=True)
    p.add_argument("--sign-cert", required=True)
    p.add_argument("--issuer", default="ferry-test-issuer")
    p.add_argument("--service", default="ferry-test-registry")
    p.add_argument("--user", default="ferry")
    p.add_argument("--password", default="ferry-secret")
    p.add_argument("--header", choices=["x5c", "kid", "both"], default="x5c")
    p.add_argument("--anonymous-actions", default="")
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--log")
    a = p.parse_args()
    srv = Server((a.listen, a.port), Handler)
    srv.args = a
    srv.issuer = Issuer(a)
    srv.tls = None
    if a.tls_cert:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(a.tls_cert, a.tls_key)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.server_address[1]}\n")
        os.replace(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
